/* sip_msg: libosip2's message parser behind one door (after siproxd's
 * sip_layer.c).
 *
 * Theory of operation. sip_msg_parse() works in three passes:
 *
 *  1. Framing (sip_frame.c, sip_grammar.c), on the raw bytes and before libosip2 sees anything: the size
 *     limit (513), leading CRLFs skipped (RFC 3261 §7.5), the start line
 *     (method SP Request-URI SP SIP/2.0, or SIP/2.0 SP 3DIGIT SP reason),
 *     the URI scheme (416), the header lines (no NUL or other control
 *     character, no bare CR, folded lines joined: §7.3.1), duplicate
 *     single-valued headers, Content-Length against the body (§18.3).
 *     The pass writes a canonical copy: CRLF line ends, no folding,
 *     "Name: value", the body cut to Content-Length. libosip2 has its own
 *     ideas about LWS, bare CR and LF-only lines, a status line without a
 *     reason phrase (it takes the next line as the reason), NUL bytes (its
 *     parser stops at the first one) and duplicates (it fails without
 *     saying which); on the canonical copy none of them can arise, so
 *     what we checked is what it parses. The same pass refuses what
 *     libosip2 would parse into something else or leak: escapes in URIs
 *     it cannot decode back (see bad_escape() in sip_grammar.c), multipart parts with two
 *     Content-Types (see mime_parts_ok()), and any URI - the
 *     Request-URI, those of To, From, Contact, Route and Record-Route -
 *     that does not match RFC 3261's grammar byte for byte (see
 *     sip_uri_text_ok(), sip_addr_value_check(): libosip2 silently drops what
 *     it cannot place, so "<sip:c?aro\x94...>" came out as "<sip:c>").
 *     A bad To/From/Contact/Route value is answered after pass 2, with
 *     the whole message to answer from.
 *  2. osip_message_parse() on the copy.
 *  3. The checks (sip_check.c) RFC 3261 §8.2.1 and §16.3 ask for on the structure:
 *     To, From, Call-ID, CSeq (number < 2^31, method = request method),
 *     Max-Forwards 0..255, a Via with a branch, a status 100..699; and
 *     that each URI, host and parameter is one libosip2 writes back the
 *     way it read it.
 *  4. The round trip (see sip_roundtrip_check()): the message is written out
 *     and read back as the next hop would, and must say the same thing
 *     (start line, Request-URI, Vias, From, To, Contact, Route,
 *     Record-Route, Call-ID, CSeq, bodies: field by field) and write out
 *     to the same bytes again. What fails is refused with 400 rather than
 *     forwarded as something else. The SIP fuzzer (tests/fuzz/fuzz_sip.c)
 *     holds us to this, against the bytes received too. Skipped for a
 *     message made only of plain forms (sip_plain.c), which cannot fail it.
 *
 * libosip2 caches the text of a parsed message and only rebuilds it when
 * its own setters are used; every edit (sip_via.c, sip_edit.c) touches the
 * structure directly and sip_msg_to_bytes() always forces a rebuild. The
 * rebuild recomputes Content-Length from the bodies, into a five-character
 * field: hence the SIP_MSG_MAX_LEN ceiling on the way in and on the way out.
 *
 * The only global state is libosip2's: its header table (parser_init()) and
 * its trace hook, which sip_msg_init() points at a sink (its default writes
 * to stdout).
 *
 * The adapter is cut into files along these stages: see README.md.
 */
#include "sip_priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- libosip2 set-up ---- */

static void trace_sink(const char *fi, int li, osip_trace_level_t level,
		       const char *chfr, va_list ap)
{
	(void)fi;
	(void)li;
	(void)level;
	(void)chfr;
	(void)ap;
}

void sip_msg_set_trace(osip_trace_func_t *fn)
{
	int l;

	osip_trace_initialize_func(TRACE_LEVEL7, fn ? fn : trace_sink);
	for (l = TRACE_LEVEL0; l < END_TRACE_LEVEL; l++) {
		if (fn)
			osip_trace_enable_level((osip_trace_level_t)l);
		else
			osip_trace_disable_level((osip_trace_level_t)l);
	}
}

int sip_msg_init(void)
{
	sip_msg_set_trace(NULL);
	return parser_init() == 0 ? 0 : -ENOMEM;
}

/* ---- the parse ---- */

/* A request refused by the framing pass (bad Content-Length, bad
 * Request-URI scheme, odd header lines...) still deserves its answer
 * (RFC 3261 §18.3, §16.3 step 2). Pick the five headers a response needs
 * out of the raw header block, where each is one clean line, and parse
 * just those behind a neutral start line. NULL when they are not all there
 * and clean, or the message is an ACK or a response. */
static osip_message_t *salvage(const char *buf, size_t len)
{
	static const char *const want[] = {"via", "v", "from", "f", "to", "t", "call-id", "i",
					   "cseq"};
	osip_message_t *m = NULL;
	char *out, method[32];
	size_t o = 0, i = 0, mlen = 0;

	/* the start line's method, if it is a token */
	while (i < len && mlen < sizeof(method) - 1 && is_alpha((unsigned char)buf[i]))
		method[mlen++] = buf[i++];
	method[mlen] = '\0';
	if (!mlen || i >= len || buf[i] != ' ' || !strcmp(method, "ACK") || !strcmp(method, "SIP"))
		return NULL;
	if (!(out = malloc(2 * len + 64))) /* LF-only lines gain a CR */
		return NULL;
	o = (size_t)snprintf(out, 64, "%s sip:invalid SIP/2.0\r\n", method);
	/* skip the start line, then walk the header lines up to a blank one */
	while (i < len && buf[i] != '\n')
		i++;
	for (i++; i < len;) {
		size_t b = i, e, n;
		bool clean = true;

		while (i < len && buf[i] != '\n')
			i++;
		e = i > b && buf[i - 1] == '\r' ? i - 1 : i;
		i++;
		if (e == b)
			break; /* end of the headers */
		for (size_t k = b; k < e; k++)
			if ((unsigned char)buf[k] < 0x20 || buf[k] == 0x7f)
				clean = false;
		for (n = 0; b + n < e && buf[b + n] != ':' && buf[b + n] != ' ' && buf[b + n] != '\t'; n++)
			;
		for (size_t w = 0; clean && w < sizeof(want) / sizeof(want[0]); w++)
			if (strlen(want[w]) == n && !strncasecmp(buf + b, want[w], n)) {
				memcpy(out + o, buf + b, e - b);
				o += e - b;
				out[o++] = '\r';
				out[o++] = '\n';
				break;
			}
	}
	{
		static const char tail[] = "Content-Length: 0\r\n\r\n";
		memcpy(out + o, tail, sizeof(tail) - 1);
		o += sizeof(tail) - 1;
	}
	if (osip_message_init(&m) == 0 && osip_message_parse(m, out, o) != 0) {
		osip_message_free(m);
		m = NULL;
	}
	free(out);
	if (m && !sip_answerable(m)) {
		osip_message_free(m);
		m = NULL;
	}
	return m;
}

int sip_msg_parse(const char *buf, size_t len, size_t max_len,
		  osip_message_t **out, struct sip_err *err)
{
	struct sip_canon c;
	osip_message_t *m = NULL;
	int rc;

	if (!out || !err)
		return -EINVAL;
	*out = NULL;
	memset(err, 0, sizeof(*err));
	if (!buf && len)
		return sip_check_fail(err, 400, "Bad Request (empty message)");
	if (max_len == 0 || max_len > SIP_MSG_MAX_LEN)
		max_len = SIP_MSG_MAX_LEN;
	/* the size limit comes before any parsing */
	if (len > max_len) {
		err->status = 513;
		err->reason = "Message Too Large";
		err->is_response = len >= 4 && sip_span_ieq(buf, 4, "SIP/");
		return -EMSGSIZE;
	}

	memset(&c, 0, sizeof(c));
	c.in = buf;
	c.in_len = len;
	if (!(c.out = malloc(3 * len + 16))) {
		err->status = 500;
		err->reason = "Server Internal Error";
		return -ENOMEM;
	}
	if ((rc = sip_frame(&c, err)) == -ENOMEM)
		goto nomem;
	if (rc < 0)
		goto done;

	if (osip_message_init(&m) != 0) {
		rc = -ENOMEM;
		goto nomem;
	}
	rc = osip_message_parse(m, c.out, c.len);
	if (rc == OSIP_NOMEM) {
		rc = -ENOMEM;
		goto nomem;
	}
	if (rc != 0) {
		/* what libosip2 half-parsed is not handed out */
		osip_message_free(m);
		m = NULL;
		rc = sip_check_fail(err, 400, c.bad_addr ? c.bad_addr : "Bad Request (malformed message)");
		goto done;
	}
	/* a name-addr header refused by pass 1: refused now that the whole
	 * message is there to answer with (the registrar's test of a bad
	 * Contact, for one, needs it) */
	if (c.bad_addr) {
		rc = sip_check_fail(err, 400, c.bad_addr);
		goto done;
	}
	/* pass 4 only for what is not plain (sip_plain.c): the same guarantee */
	if ((rc = sip_check_message(m, err)) == 0 && !sip_plain(m) &&
	    (rc = sip_roundtrip_check(m, err)) == -ENOMEM)
		goto nomem;
	goto done;

nomem:
	err->status = 500;
	err->reason = "Server Internal Error";
done:
	free(c.out);
	if (rc == 0 || (rc == -EBADMSG && sip_answerable(m))) {
		*out = m;
		return rc;
	}
	osip_message_free(m);
	if (rc == -EBADMSG && !err->is_response)
		*out = salvage(buf, len);
	return rc;
}

/* ---- serialisation ---- */

int sip_msg_to_bytes(osip_message_t *msg, char **buf, size_t *len)
{
	char *s = NULL, *end, num[16];
	size_t n = 0, body;
	int rc;

	if (!msg || !buf || !len)
		return -EINVAL;
	*buf = NULL;
	*len = 0;
	/* the structure may have been edited behind libosip2's cache */
	osip_message_force_update(msg);
	if ((rc = osip_message_to_str(msg, &s, &n)) != 0)
		return sip_osip_rc(rc);
	if (n > SIP_MSG_MAX_LEN || !(end = memmem(s, n, "\r\n\r\n", 4))) {
		osip_free(s);
		return n > SIP_MSG_MAX_LEN ? -EMSGSIZE : -EINVAL;
	}
	/* libosip2 wrote the real Content-Length; keep the structure in step */
	body = n - (size_t)(end + 4 - s);
	snprintf(num, sizeof(num), "%zu", body);
	if (msg->content_length)
		rc = sip_str_replace(&msg->content_length->value, num);
	else if ((rc = osip_content_length_init(&msg->content_length)) == 0)
		rc = (msg->content_length->value = osip_strdup(num)) ? 0 : -ENOMEM;
	else
		rc = -ENOMEM;
	if (rc) {
		osip_free(s);
		return rc;
	}
	/* libosip2 writes into a buffer of SIP_MESSAGE_MAX_LENGTH (8 kB) or
	 * more: give back what the message does not use, since transactions
	 * keep these bytes for 32 s (an in-place split, no copy) */
	if ((end = osip_realloc(s, n + 1)))
		s = end;
	*buf = s;
	*len = n;
	return 0;
}

void sip_msg_bytes_free(char *buf)
{
	osip_free(buf);
}

