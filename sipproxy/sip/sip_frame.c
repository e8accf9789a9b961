/* sip_frame: pass 1 of sip_msg_parse(), framing and the canonical copy.
 *
 * Theory of operation. Before libosip2 sees anything, sip_frame() walks
 * the raw bytes line by line: leading CRLFs skipped (RFC 3261 §7.5), the
 * start line (a request line whose URI matches the grammar, 416 for
 * another scheme, 505 for another version; or a status line), the header
 * lines (no NUL or other control byte, no bare CR, folded lines joined:
 * §7.3.1), duplicate single-valued headers, Content-Length against the
 * body (§18.3), multipart parts libosip2 would mis-read. It writes a
 * canonical copy (CRLF line ends, no folding, "Name: value", the body cut
 * to Content-Length) so that what was checked is what libosip2 parses. A
 * To/From/Contact/Route value refused by the grammar (sip_grammar.c) is
 * only noted in bad_addr: sip_msg_parse() answers it once it has the whole
 * message to answer from.
 */
#include "sip_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name, *compact, *dup_reason;
	const char *bad_reason[2]; /* name-addr headers: a bad URI, bad otherwise */
} hdr_names[H_NKINDS] = {
	[H_TO] = {"to", "t", "Bad Request (duplicate To)",
		  {"Bad Request (bad URI in To)", "Bad Request (bad To)"}},
	[H_FROM] = {"from", "f", "Bad Request (duplicate From)",
		    {"Bad Request (bad URI in From)", "Bad Request (bad From)"}},
	[H_CALLID] = {"call-id", "i", "Bad Request (duplicate Call-ID)", {NULL, NULL}},
	[H_CSEQ] = {"cseq", NULL, "Bad Request (duplicate CSeq)", {NULL, NULL}},
	[H_MAXFWD] = {"max-forwards", NULL, "Bad Request (duplicate Max-Forwards)", {NULL, NULL}},
	[H_CLEN] = {"content-length", "l", "Bad Request (duplicate Content-Length)", {NULL, NULL}},
	[H_CTYPE] = {"content-type", "c", "Bad Request (duplicate Content-Type)", {NULL, NULL}},
	[H_CONTACT] = {"contact", "m", NULL,
		       {"Bad Request (bad URI in Contact)", "Bad Request (bad Contact)"}},
	[H_ROUTE] = {"route", NULL, NULL,
		     {"Bad Request (bad URI in Route)", "Bad Request (bad Route)"}},
	[H_RR] = {"record-route", NULL, NULL,
		  {"Bad Request (bad URI in Record-Route)", "Bad Request (bad Record-Route)"}},
	[H_VIA] = {"via", "v", NULL, {NULL, NULL}},
};

static enum hdr_kind hdr_kind(const char *name, size_t n)
{
	int k;

	for (k = H_TO; k < H_NKINDS; k++)
		if (sip_span_ieq(name, n, hdr_names[k].name) ||
		    (hdr_names[k].compact && sip_span_ieq(name, n, hdr_names[k].compact)))
			return (enum hdr_kind)k;
	return H_OTHER;
}

static void put(struct sip_canon *c, const char *s, size_t n)
{
	memcpy(c->out + c->len, s, n);
	c->len += n;
}


static int next_line(const struct sip_canon *c, size_t *pos, size_t *eol, const char **why)
{
	size_t i;
	unsigned char ch;

	for (i = *pos; i < c->in_len; i++) {
		ch = (unsigned char)c->in[i];
		if (ch == '\n') {
			*eol = i;
			*pos = i + 1;
			return 0;
		}
		if (ch == '\r') {
			if (i + 1 < c->in_len && c->in[i + 1] == '\n') {
				*eol = i;
				*pos = i + 2;
				return 0;
			}
			*why = i + 1 < c->in_len ? "Bad Request (bare CR)"
						 : "Bad Request (truncated header)";
			return -EBADMSG;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			*why = ch ? "Bad Request (control character)" : "Bad Request (NUL byte)";
			return -EBADMSG;
		}
	}
	*why = "Bad Request (truncated header)";
	return -EBADMSG;
}

/* The version token of a start line: 0 if SIP/2.0, 505 for another
 * SIP/x.y, 400 otherwise. */
static int check_version(const char *v, size_t n)
{
	size_t i = 4;
	bool dot = false;

	if (sip_span_ieq(v, n, "SIP/2.0"))
		return 0;
	if (n < 7 || !sip_span_ieq(v, 4, "SIP/") || !is_digit((unsigned char)v[4]))
		return 400;
	for (; i < n; i++) {
		if (v[i] == '.' && !dot && is_digit((unsigned char)v[i - 1]))
			dot = true;
		else if (!is_digit((unsigned char)v[i]))
			return 400;
	}
	return dot && is_digit((unsigned char)v[n - 1]) ? 505 : 400;
}

static int frame_start_line(struct sip_canon *c, const char *l, size_t n, struct sip_err *err)
{
	const char *sp1, *sp2, *uri, *colon;
	size_t mlen, ulen, i;
	bool headers;
	int v;

	if (n >= 4 && sip_span_ieq(l, 4, "SIP/")) {
		/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2) */
		unsigned long code = 0;
		size_t clen;

		c->response = err->is_response = true;
		if (!(sp1 = memchr(l, ' ', n)) || check_version(l, (size_t)(sp1 - l)) != 0) {
			err->status = 400;
			err->reason = "Bad Request (bad status line)";
			return -EBADMSG;
		}
		for (clen = 0; sp1 + 1 + clen < l + n && sp1[1 + clen] != ' '; clen++)
			;
		if (clen != 3 || !sip_parse_uint(sp1 + 1, 3, 999, &code) || code < 100 || code > 699) {
			err->status = 400;
			err->reason = "Bad Request (status code out of range)";
			return -EBADMSG;
		}
		/* libosip2 takes the next line as reason phrase when the
		 * space after the code is missing: always write one */
		put(c, "SIP/2.0 ", 8);
		put(c, sp1 + 1, 3);
		put(c, " ", 1);
		if (sp1 + 4 < l + n)
			put(c, sp1 + 5, (size_t)(l + n - (sp1 + 5)));
		put(c, "\r\n", 2);
		return 0;
	}

	/* Request-Line = Method SP Request-URI SP SIP-Version (§7.1), single
	 * spaces only (RFC 4475 §3.1.2.9 and §3.1.2.10 may be refused) */
	err->status = 400;
	err->reason = "Bad Request (bad request line)";
	if (!(sp1 = memchr(l, ' ', n)) || sp1 == l)
		return -EBADMSG;
	mlen = (size_t)(sp1 - l);
	for (i = 0; i < mlen; i++)
		if (!is_tchar((unsigned char)l[i]))
			return -EBADMSG;
	uri = sp1 + 1;
	if (!(sp2 = memchr(uri, ' ', (size_t)(l + n - uri))) || sp2 == uri)
		return -EBADMSG;
	ulen = (size_t)(sp2 - uri);
	if (memchr(uri, '\t', ulen) || memchr(sp2 + 1, ' ', (size_t)(l + n - sp2 - 1)))
		return -EBADMSG;
	v = check_version(sp2 + 1, (size_t)(l + n - sp2 - 1));
	if (v == 505) {
		err->status = 505;
		err->reason = "Version Not Supported";
		return -EBADMSG;
	}
	if (v)
		return -EBADMSG;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" (§25.1) */
	err->reason = "Bad Request (bad Request-URI)";
	if (!(colon = memchr(uri, ':', ulen)) || colon == uri || !is_alpha((unsigned char)*uri))
		return -EBADMSG;
	for (i = 1; uri + i < colon; i++)
		if (!is_alpha((unsigned char)uri[i]) && !is_digit((unsigned char)uri[i]) &&
		    !strchr("+-.", uri[i]))
			return -EBADMSG;
	if (!sip_uri_escapes_ok(uri, ulen)) {
		err->reason = "Bad Request (bad escape in URI)";
		return -EBADMSG;
	}
	/* bytes no URI may hold (non-ASCII, '<', '"', '\\', ...): 400 even
	 * for a scheme we do not know */
	if (sip_uri_run(uri, ulen, (size_t)(colon - uri) + 1, ";/?:@&=+$,[]#") != ulen)
		return -EBADMSG;
	/* RFC 3261 §16.3 step 2: a scheme the proxy does not understand */
	if (!sip_span_ieq(uri, (size_t)(colon - uri), "sip") &&
	    !sip_span_ieq(uri, (size_t)(colon - uri), "sips")) {
		err->status = 416;
		err->reason = "Unsupported URI Scheme";
		return -EBADMSG;
	}
	/* the SIP-URI grammar, exactly (see sip_uri_text_ok()) */
	if (!sip_uri_text_ok(uri, ulen, (size_t)(colon - uri) + 1, &headers))
		return -EBADMSG;
	/* RFC 3261 §19.1.1 table 1: no headers in a Request-URI (RFC 4475
	 * §3.1.2.10: 400, rather than forwarding them or dropping them) */
	if (headers) {
		err->reason = "Bad Request (headers in Request-URI)";
		return -EBADMSG;
	}
	put(c, l, (size_t)(sp2 - l));
	put(c, " SIP/2.0\r\n", 10);
	err->status = 0;
	err->reason = NULL;
	return 0;
}

/* Close the header whose value started at val_off in the output. */
static void finish_header(struct sip_canon *c, enum hdr_kind kind, size_t val_off)
{
	while (c->len > val_off && is_wsp((unsigned char)c->out[c->len - 1]))
		c->len--;
	if (kind == H_CLEN) {
		c->clen_off = val_off;
		c->clen_len = c->len - val_off;
	}
	if (kind == H_CTYPE) {
		c->ctype_off = val_off;
		c->ctype_len = c->len - val_off;
	}
	if ((kind == H_TO || kind == H_FROM || kind == H_CONTACT || kind == H_ROUTE ||
	     kind == H_RR) && !c->bad_addr) {
		enum addr_verdict v = sip_addr_value_check(c->out + val_off, c->len - val_off, kind);

		if (v != ADDR_OK)
			c->bad_addr = hdr_names[kind].bad_reason[v == ADDR_BAD_URI ? 0 : 1];
	}
	if (kind == H_VIA && !c->bad_addr && !sip_via_brackets_ok(c->out + val_off, c->len - val_off))
		c->bad_addr = "Bad Request (bad Via)";
	if (c->len == val_off)
		c->len--; /* "Name:" for an empty value (libosip2 sees NULL) */
	put(c, "\r\n", 2);
}

/* Content-Type headers in each part of a multipart body, counted the way
 * libosip2 finds them: parts start at "\n--boundary" (the boundary as its
 * own Content-Type parser reads it), part headers run to the first empty
 * line, and any header name that starts with "content-type" counts. A part
 * with two of them makes libosip2 lose the first (a leak per message), so
 * such a body is refused. 1 if fine, 0 if not, -ENOMEM. */
static int mime_parts_ok(const struct sip_canon *c, size_t hdr_end)
{
	osip_content_type_t *ct = NULL;
	osip_generic_param_t *bp = NULL;
	const char *start = c->out + hdr_end - 1; /* the '\n' before the body */
	const char *end = c->out + c->len, *part, *next, *p;
	char *value, *sep = NULL;
	size_t blen, seplen;
	int ok = 0, count;

	if (!(value = strndup(c->out + c->ctype_off, c->ctype_len)))
		return -ENOMEM;
	if (osip_content_type_init(&ct) != 0) {
		free(value);
		return -ENOMEM;
	}
	if (osip_content_type_parse(ct, value) != 0 ||
	    osip_generic_param_get_byname(&ct->gen_params, "boundary", &bp) != 0 || !bp ||
	    !bp->gvalue || !(blen = strlen(bp->gvalue)))
		goto out; /* no boundary to find the parts with */
	if (blen >= 2 && bp->gvalue[0] == '"' && bp->gvalue[blen - 1] == '"')
		blen -= 2;
	seplen = blen + 3;
	if (!(sep = malloc(seplen))) {
		ok = -ENOMEM;
		goto out;
	}
	memcpy(sep, "\n--", 3);
	memcpy(sep + 3, bp->gvalue + (blen == strlen(bp->gvalue) ? 0 : 1), blen);
	ok = 1;
	for (part = memmem(start, (size_t)(end - start), sep, seplen); part; part = next) {
		part += seplen;
		if (end - part >= 2 && part[0] == '-' && part[1] == '-')
			break; /* the close delimiter; the epilogue is not parsed */
		next = memmem(part, (size_t)(end - part), sep, seplen);
		count = 0;
		for (p = part; p < (next ? next : end); p++) {
			if (*p != '\r' && *p != '\n')
				continue;
			if (p + 1 < end && (p[1] == '\r' || p[1] == '\n') && p[1] != *p &&
			    p + 2 < end && (p[2] == '\r' || p[2] == '\n'))
				break; /* CRLF CRLF: end of the part headers */
			if (p + 1 < end && p[1] == *p)
				break; /* LF LF or CR CR */
			if ((size_t)(end - p - 1) >= 12 && sip_span_ieq(p + 1, 12, "content-type") &&
			    ++count > 1) {
				ok = 0;
				goto out;
			}
		}
	}
out:
	free(sep);
	osip_content_type_free(ct);
	free(value);
	return ok;
}

static int frame_fail(struct sip_err *err, const char *reason)
{
	err->status = 400;
	err->reason = reason;
	return -EBADMSG;
}

/* Pass 1 (see the top of the file). */
int sip_frame(struct sip_canon *c, struct sip_err *err)
{
	size_t pos = 0, start, eol, n, nlen, vn, val_off = 0, body_off, body_len, hdr_end, i;
	enum hdr_kind kind = H_OTHER;
	const char *why = NULL, *l, *colon, *v;
	unsigned long clen;
	bool open = false;
	int k, rc;

	/* RFC 3261 §7.5: CRLFs before the start line are ignored */
	while (pos < c->in_len && (c->in[pos] == '\r' || c->in[pos] == '\n'))
		pos++;
	if (pos == c->in_len)
		return frame_fail(err, "Bad Request (empty message)");
	start = pos;
	if ((rc = next_line(c, &pos, &eol, &why)) < 0)
		return frame_fail(err, why);
	if ((rc = frame_start_line(c, c->in + start, eol - start, err)) < 0)
		return rc;

	for (;;) {
		start = pos;
		if ((rc = next_line(c, &pos, &eol, &why)) < 0)
			return frame_fail(err, why);
		l = c->in + start;
		n = eol - start;
		if (n == 0)
			break; /* the empty line ending the headers */
		if (is_wsp((unsigned char)l[0])) {
			/* RFC 3261 §7.3.1: a folded line continues the value;
			 * the fold counts as one SP */
			if (!open)
				return frame_fail(err, "Bad Request (folded line before any header)");
			while (n && is_wsp((unsigned char)*l)) {
				l++;
				n--;
			}
			if (n && c->len > val_off)
				put(c, " ", 1);
			put(c, l, n);
			continue;
		}
		if (open)
			finish_header(c, kind, val_off);
		/* header = name *WSP ":" SWS value (§7.3.1, HCOLON) */
		if (!(colon = memchr(l, ':', n)))
			return frame_fail(err, "Bad Request (header line without colon)");
		for (nlen = (size_t)(colon - l); nlen && is_wsp((unsigned char)l[nlen - 1]);)
			nlen--;
		if (!nlen)
			return frame_fail(err, "Bad Request (bad header name)");
		for (i = 0; i < nlen; i++)
			if (!is_tchar((unsigned char)l[i]))
				return frame_fail(err, "Bad Request (bad header name)");
		kind = hdr_kind(l, nlen);
		c->count[kind]++;
		put(c, l, nlen);
		put(c, ": ", 2);
		val_off = c->len;
		for (v = colon + 1, vn = (size_t)(l + n - v); vn && is_wsp((unsigned char)*v); v++)
			vn--;
		put(c, v, vn);
		open = true;
	}
	if (open)
		finish_header(c, kind, val_off);
	put(c, "\r\n", 2);
	body_off = pos;

	for (k = H_TO; k < H_NKINDS; k++)
		if (hdr_names[k].dup_reason && c->count[k] > 1)
			return frame_fail(err, hdr_names[k].dup_reason);

	body_len = c->in_len - body_off;
	if (c->count[H_CLEN]) {
		if (!sip_parse_uint(c->out + c->clen_off, c->clen_len, SIP_MSG_MAX_LEN, &clen))
			return frame_fail(err, "Bad Request (bad Content-Length)");
		/* RFC 3261 §18.3: a body shorter than Content-Length is an
		 * error; bytes past it are discarded */
		if (clen > body_len)
			return frame_fail(err, "Bad Request (Content-Length larger than body)");
		body_len = clen;
	}
	/* RFC 3261 §20.15: Content-Type MUST be present if the body is not
	 * empty (libosip2 would drop such a body without a word) */
	if (body_len && !c->count[H_CTYPE])
		return frame_fail(err, "Bad Request (body without Content-Type)");
	hdr_end = c->len;
	put(c, c->in + body_off, body_len);
	if (body_len && c->ctype_len >= 9 && sip_span_ieq(c->out + c->ctype_off, 9, "multipart") &&
	    (rc = mime_parts_ok(c, hdr_end)) <= 0)
		return rc < 0 ? rc : frame_fail(err, "Bad Request (bad multipart body)");
	return 0;
}

