/* sip_plain: which messages need no round trip (pass 4 of sip_msg_parse()).
 *
 * Theory of operation. Pass 4 (sip_roundtrip_check()) writes a message
 * out, reads it back and writes it again, and refuses what does not come
 * back the same; it costs about as much as the rest of the parse together
 * (tests/bench/README.md, "SIP path"). Every refusal it has made comes
 * from a URI, a parameter, a display name or a header value that
 * libosip2 writes in another form than it read (a short URI inside <>, an
 * escape, a quote, a blank...). A message whose every part is of a small
 * set of plain forms cannot be written differently: those forms are
 * copied by libosip2's writer character for character and read back by
 * its parser the same way. sip_plain() says whether a message is made
 * only of them; sip_msg_parse() skips the round trip for those and runs
 * it for everything else, so the guarantee (what the next hop reads is
 * what was checked) is the same.
 *
 * Plain means, everywhere: a start line "METHOD sip-uri SIP/2.0" or
 * "SIP/2.0 code reason" with a reason of letters, digits, blanks and
 * ".-_" (not at its ends); URIs sip: or sips: (lower case) with an
 * optional user of letters, digits and ".-_+~", a host that is a dotted
 * IPv4 address or a DNS name (labels of letters, digits and inner '-'),
 * no password, an optional port of 1 to 5 digits without a leading zero,
 * no header part, and at least PLAIN_URI_MIN characters; every parameter
 * (URI, header, Via) a name and optional value of letters, digits and
 * ".-_+~" (no quotes); display names absent, or one quoted string of
 * letters, digits, blanks and ".-_" (not at its ends), or the same
 * without the quotes; Via SIP/2.0 over
 * UDP, TCP or TLS with a plain host and port and no comment; Call-ID and
 * CSeq of those same characters; no header of the kinds libosip2 parses
 * into structures we do not check here (Accept*, Allow, Alert-Info,
 * WWW/Proxy-Authenticate, Authentication-Info, Call-Info,
 * Content-Encoding, Error-Info, MIME-Version); Authorization and
 * Proxy-Authorization only as Digest credentials whose quoted values
 * (username, realm, nonce, uri, response, cnonce, opaque) are of letters,
 * digits and ".-_+~:@;=/", with an algorithm of 3 or more letters, digits
 * and ".-_+~", qop auth or auth-int, nc of 8 lower-case hex digits, and no
 * other field (every authenticated INVITE carries one: with them the
 * round trip ran on one message of each call); other headers a token
 * name and a value of printable
 * ASCII without '"', '<', '>', '\' or ',' that neither starts nor ends
 * with a blank; at most one body, not multipart, with no MIME headers of
 * its own, and a Content-Type of two plain tokens without parameters.
 *
 * tests/test_sip_plain checks the claim: over many generated messages,
 * every one found plain passes the full round trip, and the fixtures the
 * round trip refuses are never plain.
 */
#include "sip_priv.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PLAIN_URI_MIN 8  /* libosip2 misreads "<sip:c>" (under 6): a margin */

static bool plain_char(int c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr(".-_+~", c));
}

/* A non-empty string of letters, digits and ".-_+~". */
static bool plain_word(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!plain_char((unsigned char)*s))
			return false;
	return true;
}

/* Letters, digits, blanks and ".-_", non-empty, no blank at either end
 * and no two blanks in a row. */
static bool plain_phrase(const char *s, size_t n)
{
	if (!s || !n || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == ' ' ? s[i + 1] == ' ' : !(is_alpha(c) || is_digit(c) || strchr(".-_", c)))
			return false;
	}
	return true;
}

static bool plain_ipv4(const char *s)
{
	unsigned parts = 0, digits = 0, v = 0;

	for (;; s++) {
		if (is_digit((unsigned char)*s)) {
			if (digits && !v)
				return false; /* a leading zero */
			v = v * 10 + (unsigned)(*s - '0');
			if (++digits > 3 || v > 255)
				return false;
		} else if (*s == '.' || !*s) {
			if (!digits)
				return false;
			parts++;
			if (!*s)
				return parts == 4;
			digits = v = 0;
		} else {
			return false;
		}
	}
}

/* A dotted IPv4 address or a DNS name of labels [A-Za-z0-9] with inner '-'. */
static bool plain_host(const char *s)
{
	size_t label = 0;

	if (!s || !*s || strlen(s) > 253)
		return false;
	if (plain_ipv4(s))
		return true;
	for (const char *p = s;; p++) {
		if (is_alpha((unsigned char)*p) || is_digit((unsigned char)*p)) {
			label++;
		} else if (*p == '-') {
			if (!label || p[1] == '.' || !p[1])
				return false;
			label++;
		} else if (*p == '.' || !*p) {
			if (!label || label > 63)
				return false;
			if (!*p)
				return true;
			label = 0;
		} else {
			return false;
		}
	}
}

static bool plain_port(const char *s)
{
	unsigned long v = 0;
	size_t n = 0;

	if (!s)
		return true;
	if (!*s || *s == '0')
		return false;
	for (; *s; s++, n++) {
		if (!is_digit((unsigned char)*s) || n >= 5)
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	return v <= 65535;
}

static bool plain_params(const osip_list_t *list)
{
	const osip_generic_param_t *p;
	int i, n = osip_list_size(list);

	for (i = 0; i < n; i++) {
		p = osip_list_get(list, i);
		if (!p || !plain_word(p->gname) || (p->gvalue && !plain_word(p->gvalue)))
			return false;
	}
	return true;
}

static bool plain_uri(const osip_uri_t *u)
{
	size_t len;

	if (!u || !u->scheme || (strcmp(u->scheme, "sip") && strcmp(u->scheme, "sips")) ||
	    u->password || u->string || osip_list_size(&u->url_headers) > 0 ||
	    (u->username && !plain_word(u->username)) || !plain_host(u->host) ||
	    !plain_port(u->port) || !plain_params(&u->url_params))
		return false;
	len = strlen(u->scheme) + 1 + strlen(u->host) + (u->username ? strlen(u->username) + 1 : 0) +
	      (u->port ? strlen(u->port) + 1 : 0);
	return len >= PLAIN_URI_MIN;
}

/* From, To, Contact, Route, Record-Route. */
static bool plain_addr(const osip_from_t *a)
{
	const char *d;
	size_t n;

	if (!a || !plain_uri(a->url) || !plain_params(&a->gen_params))
		return false;
	if (!(d = a->displayname))
		return true;
	n = strlen(d);
	if (d[0] != '"')
		return plain_phrase(d, n);
	return n >= 3 && d[n - 1] == '"' && plain_phrase(d + 1, n - 2);
}

static bool plain_addr_list(const osip_list_t *list)
{
	int i, n = osip_list_size(list);

	for (i = 0; i < n; i++)
		if (!plain_addr(osip_list_get(list, i)))
			return false;
	return true;
}

static bool plain_vias(const osip_list_t *list)
{
	const osip_via_t *v;
	int i, n = osip_list_size(list);

	for (i = 0; i < n; i++) {
		v = osip_list_get(list, i);
		if (!v || !v->version || strcmp(v->version, "2.0") || !v->protocol ||
		    (strcmp(v->protocol, "UDP") && strcmp(v->protocol, "TCP") && strcmp(v->protocol, "TLS")) ||
		    v->comment || !plain_host(v->host) || !plain_port(v->port) ||
		    !plain_params(&v->via_params))
			return false;
	}
	return true;
}

/* A header kept as name and value: the value is written as it is. */
static bool plain_headers(const osip_list_t *list)
{
	const osip_header_t *h;
	int i, n = osip_list_size(list);

	for (i = 0; i < n; i++) {
		const char *v;
		size_t len;

		h = osip_list_get(list, i);
		if (!h || !sip_str_is_token(h->hname) || !(v = h->hvalue) || !(len = strlen(v)) ||
		    v[0] == ' ' || v[len - 1] == ' ')
			return false;
		for (; *v; v++)
			if (*v < 0x20 || *v > 0x7e || strchr("\"<>\\,", *v))
				return false;
	}
	return true;
}

/* A credential's quoted value ("bench", "edge.test", a hex nonce or
 * response, "sip:bob@10.1.0.10:5070"): non-empty between its quotes, of
 * letters, digits and ".-_+~:@;=/" (no blank, quote, backslash or comma). */
static bool plain_quoted(const char *s)
{
	size_t n;

	if (!s || (n = strlen(s)) < 3 || s[0] != '"' || s[n - 1] != '"')
		return false;
	for (size_t i = 1; i < n - 1; i++)
		if (!plain_char((unsigned char)s[i]) && !strchr(":@;=/", s[i]))
			return false;
	return true;
}

/* nc-value: 8LHEX (RFC 3261 §25.1). */
static bool plain_nc(const char *s)
{
	size_t i;

	for (i = 0; i < 8; i++)
		if (hexval((unsigned char)s[i]) < 0 || (s[i] >= 'A' && s[i] <= 'F'))
			return false;
	return !s[i];
}

/* Authorization, Proxy-Authorization: Digest with quoted username, realm,
 * nonce, uri, response, cnonce and opaque, unquoted algorithm, qop and nc
 * (RFC 3261 §25.1 digest-response), and nothing libosip2 keeps elsewhere
 * (NTLM and Kerberos fields, other parameters). */
static bool plain_credentials(const osip_list_t *list)
{
	int i, n = osip_list_size(list);

	for (i = 0; i < n; i++) {
		const osip_authorization_t *a = osip_list_get(list, i);
		const char *quoted[7];

		if (!a || !a->auth_type || strcmp(a->auth_type, "Digest") || a->digest || a->version ||
		    a->targetname || a->gssapi_data || a->crand || a->cnum || a->auth_param)
			return false;
		quoted[0] = a->username, quoted[1] = a->realm, quoted[2] = a->nonce, quoted[3] = a->uri;
		quoted[4] = a->response, quoted[5] = a->cnonce, quoted[6] = a->opaque;
		for (size_t k = 0; k < 7; k++)
			if (quoted[k] && !plain_quoted(quoted[k]))
				return false;
		/* libosip2 drops a short token at the end of the line ("qop=a",
		 * "nc=12"): the forms of RFC 3261 §25.1 only, and an algorithm
		 * of three characters or more */
		if ((a->algorithm && (!plain_word(a->algorithm) || strlen(a->algorithm) < 3)) ||
		    (a->message_qop && strcmp(a->message_qop, "auth") && strcmp(a->message_qop, "auth-int")) ||
		    (a->nonce_count && !plain_nc(a->nonce_count)))
			return false;
	}
	return true;
}

static bool plain_ctype(const osip_content_type_t *ct)
{
	return ct && plain_word(ct->type) && plain_word(ct->subtype) && strcasecmp(ct->type, "multipart") &&
	       osip_list_size(&ct->gen_params) == 0;
}

bool sip_plain(const osip_message_t *m)
{
	const osip_list_t *structured[] = {
		&m->accepts, &m->accept_encodings, &m->accept_languages, &m->alert_infos,
		&m->allows, &m->authentication_infos, &m->call_infos,
		&m->content_encodings, &m->error_infos, &m->proxy_authenticates,
		&m->proxy_authentication_infos, &m->www_authenticates,
	};
	const osip_body_t *b;

	for (size_t i = 0; i < sizeof(structured) / sizeof(structured[0]); i++)
		if (osip_list_size(structured[i]) > 0)
			return false;
	if (!plain_credentials(&m->authorizations) || !plain_credentials(&m->proxy_authorizations))
		return false;
	if (m->mime_version || !m->sip_version || strcmp(m->sip_version, "SIP/2.0"))
		return false;
	if (MSG_IS_REQUEST(m)) {
		if (!plain_word(m->sip_method) || !plain_uri(m->req_uri))
			return false;
	} else if (!m->reason_phrase || !plain_phrase(m->reason_phrase, strlen(m->reason_phrase))) {
		return false;
	}
	if (!plain_vias(&m->vias) || !plain_addr(m->from) || !plain_addr(m->to) ||
	    !plain_addr_list(&m->contacts) || !plain_addr_list(&m->routes) ||
	    !plain_addr_list(&m->record_routes) || !plain_headers(&m->headers))
		return false;
	if (!m->call_id || !plain_word(m->call_id->number) ||
	    (m->call_id->host && !plain_word(m->call_id->host)))
		return false;
	if (!m->cseq || !plain_word(m->cseq->number) || !plain_word(m->cseq->method))
		return false;
	switch (osip_list_size(&m->bodies)) {
	case 0:
		return !m->content_type || plain_ctype(m->content_type);
	case 1:
		b = osip_list_get(&m->bodies, 0);
		return b && !b->content_type && osip_list_size(b->headers) <= 0 &&
		       plain_ctype(m->content_type);
	default:
		return false;
	}
}
