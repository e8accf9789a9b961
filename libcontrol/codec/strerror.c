/* strerror: names and descriptions of codec errors and reply statuses. */
#include <string.h>

#include <libcontrol/msg.h>

static const char *const errs[] = {
	[-NC_E_SHORT - 1001] = "input ends before the message does",
	[-NC_E_MAGIC - 1001] = "not a natedge control message (bad magic)",
	[-NC_E_VERSION - 1001] = "unsupported protocol version",
	[-NC_E_HEADER - 1001] = "non-zero flags or reserved header bytes",
	[-NC_E_LENGTH - 1001] = "message length out of range",
	[-NC_E_TRAILING - 1001] = "trailing bytes after the message",
	[-NC_E_TYPE - 1001] = "unknown message type",
	[-NC_E_REQID - 1001] = "request id 0 not allowed here",
	[-NC_E_TRUNCATED - 1001] = "TLV runs past the end of the message",
	[-NC_E_ORDER - 1001] = "TLVs out of order",
	[-NC_E_DUPLICATE - 1001] = "duplicate TLV",
	[-NC_E_CRITICAL - 1001] = "unknown critical TLV",
	[-NC_E_MISPLACED - 1001] = "TLV not allowed in this message",
	[-NC_E_MISSING - 1001] = "required TLV missing",
	[-NC_E_TOOMANY - 1001] = "too many TLVs of one type",
	[-NC_E_BADLEN - 1001] = "TLV value has the wrong length",
	[-NC_E_OVERSIZE - 1001] = "value longer than its limit",
	[-NC_E_UNTERMINATED - 1001] = "string not NUL-terminated",
	[-NC_E_STRING - 1001] = "empty or invalid string",
	[-NC_E_RANGE - 1001] = "value out of range",
	[-NC_E_INCONSISTENT - 1001] = "inconsistent options",
	[-NC_E_NOSPACE - 1001] = "output buffer too small",
	[-NC_E_INVAL - 1001] = "invalid argument",
	[-NC_E_TLS - 1001] = "TLS handshake failed (does that port speak TLS?)",
	[-NC_E_TLS_VERIFY - 1001] = "natd's certificate did not verify (CA or name)",
	[-NC_E_TLS_REFUSED - 1001] = "natd refused our client certificate",
	[-NC_E_TLS_FILES - 1001] = "TLS certificate, key or CA file unusable (missing, unreadable, "
				   "key not private, or key and certificate do not match)",
};

const char *nc_strerror(int err)
{
	if (err >= 0)
		return "success";
	if (err <= NC_E_SHORT && err >= NC_E_TLS_FILES)
		return errs[-err - 1001];
	if (err > -1000) {
		const char *s = strerrordesc_np(-err);

		if (s)
			return s;
	}
	return "unknown error";
}

static const char *const statuses[] = {
	[NC_ST_OK] = "OK",
	[NC_ST_BAD_REQUEST] = "BAD_REQUEST",
	[NC_ST_UNSUPPORTED] = "UNSUPPORTED",
	[NC_ST_NOT_AUTHORIZED] = "NOT_AUTHORIZED",
	[NC_ST_QUOTA_EXCEEDED] = "QUOTA_EXCEEDED",
	[NC_ST_EXHAUSTED] = "EXHAUSTED",
	[NC_ST_CONFLICT] = "CONFLICT",
	[NC_ST_NOT_FOUND] = "NOT_FOUND",
	[NC_ST_UNKNOWN_REALM] = "UNKNOWN_REALM",
	[NC_ST_STALE_EPOCH] = "STALE_EPOCH",
	[NC_ST_TRY_AGAIN] = "TRY_AGAIN",
	[NC_ST_INTERNAL] = "INTERNAL",
};

_Static_assert(sizeof(statuses) / sizeof(statuses[0]) == NC_ST_MAX + 1, "a status has no name");

const char *nc_status_str(uint16_t status)
{
	return status <= NC_ST_MAX ? statuses[status] : "?";
}

uint16_t nc_err_status(int err)
{
	switch (err) {
	case NC_E_VERSION:
	case NC_E_TYPE:
	case NC_E_CRITICAL:
		return NC_ST_UNSUPPORTED;
	default:
		return NC_ST_BAD_REQUEST;
	}
}
