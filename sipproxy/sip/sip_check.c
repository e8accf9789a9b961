/* sip_check: passes 3 and 4 of sip_msg_parse(), on the parsed structure.
 *
 * Theory of operation. Pass 3 (sip_check_message()) asks what RFC 3261
 * §8.2.1 and §16.3 step 1 ask of a message a proxy forwards: To, From,
 * Call-ID, CSeq (number < 2^31, method = request method), Max-Forwards
 * 0..255, a Via with a branch, a sip/sips Request-URI; and that each URI,
 * host and parameter is one libosip2 writes back the way it read it.
 * Pass 4 (sip_roundtrip_check()) writes the message out, reads it back and
 * compares field by field, then writes it again and compares the bytes:
 * what would reach the next hop as something else is refused with 400.
 * Every refusal fills a struct sip_err (sip_check_fail()).
 */
#include "sip_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CSEQ_MAX 2147483647u   /* RFC 3261 §8.1.1.5: less than 2**31 */

/* ---- pass 3: mandatory headers ---- */

static bool callid_ok(const osip_call_id_t *id)
{
	const char *parts[2];
	const char *s;
	int i;

	if (!id || !id->number || !*id->number)
		return false;
	parts[0] = id->number;
	parts[1] = id->host;
	for (i = 0; i < 2; i++) {
		if (!parts[i])
			continue;
		if (!*parts[i])
			return false;
		for (s = parts[i]; *s; s++)
			if (!is_wordchar((unsigned char)*s))
				return false;
	}
	return true;
}

static bool cseq_number_ok(const osip_cseq_t *cs)
{
	unsigned long v;

	return cs->number && sip_parse_uint(cs->number, strlen(cs->number), CSEQ_MAX, &v);
}

/* RFC 3261 §25.1 host: a name (with '_', seen in the wild) or an IP
 * literal (libosip2 keeps IPv6 without its brackets). */
static bool host_ok(const char *h)
{
	const char *s;

	if (!h || !*h)
		return false;
	if (strchr(h, ':'))
		return sip_is_ip_literal(h);
	for (s = h; *s; s++)
		if (!is_alpha((unsigned char)*s) && !is_digit((unsigned char)*s) && !strchr("-._", *s))
			return false;
	return true;
}

/* A URI libosip2 will write back as it read it: a well-formed scheme; for
 * sip/sips a host and a valid port; for others no delimiters libosip2
 * would misplace (it takes "Bob:<sip:b@x>" as a URI of scheme "Bob"). */
static bool uri_ok(const osip_uri_t *u)
{
	const char *s;

	if (!u || !u->scheme || !is_alpha((unsigned char)u->scheme[0]))
		return false;
	for (s = u->scheme + 1; *s; s++)
		if (!is_alpha((unsigned char)*s) && !is_digit((unsigned char)*s) && !strchr("+-.", *s))
			return false;
	if (!strcasecmp(u->scheme, "sip") || !strcasecmp(u->scheme, "sips")) {
		uint16_t port;

		return host_ok(u->host) && (!u->port || sip_parse_port(u->port, &port));
	}
	return u->string && *u->string && !strpbrk(u->string, "<>\" \t");
}

/* Header parameters (RFC 3261 §25.1 generic-param): a token name, and a
 * value that is a token, a host (IPv6 included) or a quoted string. */
static bool params_ok(const osip_list_t *list)
{
	osip_generic_param_t *p;
	const char *v;
	size_t n;
	int i, count = osip_list_size(list);

	for (i = 0; i < count; i++) {
		p = osip_list_get(list, i);
		if (!p || !sip_str_is_token(p->gname))
			return false;
		if (!(v = p->gvalue))
			continue;
		n = strlen(v);
		if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
			continue;
		if (!n)
			return false;
		for (; *v; v++)
			if (!is_tchar((unsigned char)*v) && !strchr(":[]", *v))
				return false;
	}
	return true;
}

/* How many parameters of this name (case-insensitive) a list holds: two
 * branches in one Via would make two transactions of it, depending on
 * which one the next hop reads. */
static int param_count(const osip_list_t *list, const char *name)
{
	osip_generic_param_t *p;
	int i, k = 0, count = osip_list_size(list);

	for (i = 0; i < count; i++)
		if ((p = osip_list_get(list, i)) && p->gname && !strcasecmp(p->gname, name))
			k++;
	return k;
}

/* A name-addr header: its URI and its parameters. */
static bool addr_ok(const osip_from_t *h)
{
	return h && uri_ok(h->url) && params_ok(&h->gen_params);
}

/* Every entry of a list of name-addr headers: Contact (star_ok), or Route
 * and Record-Route (sip_only: RFC 3261 §16.6 step 4 puts only SIP and SIPS
 * URIs there, and routing moves them into the Request-URI). */
static bool addr_list_ok(const osip_list_t *list, bool star_ok, bool sip_only)
{
	osip_from_t *h;
	bool sips;
	int i, n = osip_list_size(list);

	for (i = 0; i < n; i++) {
		h = osip_list_get(list, i);
		if (h && !h->url && star_ok && h->displayname && !strcmp(h->displayname, "*"))
			continue; /* Contact: * (RFC 3261 §10.2.2) */
		if (!addr_ok(h) || (sip_only && !sip_uri_is_sip(h->url, &sips)))
			return false;
	}
	return true;
}

/* libosip2 writes single headers without looking at the result: one it
 * cannot write comes out as "Name: " with no line end, gluing on the next
 * header. Each must be writable. */
static bool writable(void *h, int (*to_str)(void *, char **))
{
	char *s = NULL;
	int rc;

	if (!h)
		return true;
	rc = to_str(h, &s);
	osip_free(s);
	return rc == 0;
}

int sip_check_fail(struct sip_err *err, int status, const char *reason)
{
	err->status = status;
	err->reason = reason;
	return -EBADMSG;
}

/* Pass 3 (RFC 3261 §8.2.1, §16.3 step 1). */
int sip_check_message(const osip_message_t *m, struct sip_err *err)
{
	osip_via_t *via;
	osip_header_t *mf;
	uint16_t port;
	int i, n, count;

	n = osip_list_size(&m->vias);
	if (n <= 0)
		return sip_check_fail(err, 400, "Bad Request (missing Via)");
	for (i = 0; i < n; i++) {
		via = osip_list_get(&m->vias, i);
		if (!via || !host_ok(via->host) || !sip_str_is_token(via->protocol) ||
		    !sip_str_is_token(via->version) || (via->port && !sip_parse_port(via->port, &port)) ||
		    !params_ok(&via->via_params) || param_count(&via->via_params, "branch") > 1)
			return sip_check_fail(err, 400, "Bad Request (bad Via)");
	}
	if (!m->from)
		return sip_check_fail(err, 400, "Bad Request (missing From)");
	if (!addr_ok(m->from))
		return sip_check_fail(err, 400, "Bad Request (bad From)");
	if (!m->to)
		return sip_check_fail(err, 400, "Bad Request (missing To)");
	if (!addr_ok(m->to))
		return sip_check_fail(err, 400, "Bad Request (bad To)");
	if (!addr_list_ok(&m->contacts, true, false))
		return sip_check_fail(err, 400, "Bad Request (bad Contact)");
	if (!addr_list_ok(&m->routes, false, true) || !addr_list_ok(&m->record_routes, false, true))
		return sip_check_fail(err, 400, "Bad Request (bad Route)");
	if (!m->call_id)
		return sip_check_fail(err, 400, "Bad Request (missing Call-ID)");
	if (!callid_ok(m->call_id))
		return sip_check_fail(err, 400, "Bad Request (bad Call-ID)");
	if (!m->cseq)
		return sip_check_fail(err, 400, "Bad Request (missing CSeq)");
	if (!cseq_number_ok(m->cseq) || !sip_str_is_token(m->cseq->method))
		return sip_check_fail(err, 400, "Bad Request (bad CSeq)");
	if (!writable(m->from, (int (*)(void *, char **))osip_from_to_str) ||
	    !writable(m->to, (int (*)(void *, char **))osip_to_to_str) ||
	    !writable(m->call_id, (int (*)(void *, char **))osip_call_id_to_str) ||
	    !writable(m->cseq, (int (*)(void *, char **))osip_cseq_to_str))
		return sip_check_fail(err, 400, "Bad Request (malformed header)");
	if (!writable(m->content_type, (int (*)(void *, char **))osip_content_type_to_str) ||
	    (m->content_type && (!sip_str_is_token(m->content_type->type) ||
				 !sip_str_is_token(m->content_type->subtype))))
		return sip_check_fail(err, 400, "Bad Request (bad Content-Type)");
	if (!writable(m->mime_version, (int (*)(void *, char **))osip_content_length_to_str))
		return sip_check_fail(err, 400, "Bad Request (bad MIME-Version)");
	if (MSG_IS_RESPONSE(m))
		return 0; /* status 100..699 was checked on the status line */

	if (!m->req_uri || !m->req_uri->scheme ||
	    (strcasecmp(m->req_uri->scheme, "sip") && strcasecmp(m->req_uri->scheme, "sips")))
		return sip_check_fail(err, 416, "Unsupported URI Scheme");
	if (!uri_ok(m->req_uri))
		return sip_check_fail(err, 400, "Bad Request (bad Request-URI)");
	/* RFC 3261 §8.1.1.5: the CSeq method MUST match the request's */
	if (!m->sip_method || strcmp(m->cseq->method, m->sip_method))
		return sip_check_fail(err, 400, "Bad Request (CSeq method mismatch)");
	/* RFC 3261 §8.1.1.6 / §20.22: Max-Forwards = 1*DIGIT, 0..255 */
	mf = sip_find_header(m, "max-forwards", &count);
	if (count > 1)
		return sip_check_fail(err, 400, "Bad Request (duplicate Max-Forwards)");
	if (mf && sip_max_forwards_value(mf->hvalue) < 0)
		return sip_check_fail(err, 400, "Bad Request (bad Max-Forwards)");
	/* RFC 3261 §8.1.1.7: the top Via carries a branch */
	via = osip_list_get(&m->vias, 0);
	{
		osip_generic_param_t *b = sip_param_get(&via->via_params, "branch");

		if (!b || !b->gvalue || !*b->gvalue)
			return sip_check_fail(err, 400, "Bad Request (Via without branch)");
	}
	return 0;
}

/* ---- pass 4: the round trip ----
 *
 * Whatever the checks above let through, the proxy forwards what
 * libosip2 writes back, and the next hop (another libosip2 among them)
 * reads that. So an accepted message is written out and read back, and
 * must come back the same: the start line, every Via (branch, sent-by),
 * From and To (URI, tag, every parameter), Contact, Route and
 * Record-Route, Call-ID, CSeq and the bodies, compared field by field;
 * and written out again it must give the same bytes. libosip2 5.3 fails
 * this for URIs its own parser refuses once inside <> ("<sip:c>": fewer
 * than six characters) and for cases nobody has listed yet; a message
 * that fails is refused rather than forwarded as something else. */

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool params_same(const osip_list_t *a, const osip_list_t *b)
{
	const osip_generic_param_t *pa, *pb;
	int i, n = osip_list_size(a);

	if (n != osip_list_size(b))
		return false;
	for (i = 0; i < n; i++) {
		pa = osip_list_get(a, i);
		pb = osip_list_get(b, i);
		if (!pa || !pb || !str_same(pa->gname, pb->gname) || !str_same(pa->gvalue, pb->gvalue))
			return false;
	}
	return true;
}

static bool uri_same(const osip_uri_t *a, const osip_uri_t *b)
{
	if (!a || !b)
		return a == b;
	return str_same(a->scheme, b->scheme) && str_same(a->username, b->username) &&
	       str_same(a->password, b->password) && str_same(a->host, b->host) &&
	       str_same(a->port, b->port) && str_same(a->string, b->string) &&
	       params_same(&a->url_params, &b->url_params) &&
	       params_same(&a->url_headers, &b->url_headers);
}

static bool addr_same(const osip_from_t *a, const osip_from_t *b)
{
	if (!a || !b)
		return a == b;
	return str_same(a->displayname, b->displayname) && uri_same(a->url, b->url) &&
	       params_same(&a->gen_params, &b->gen_params);
}

static bool addr_list_same(const osip_list_t *a, const osip_list_t *b)
{
	int i, n = osip_list_size(a);

	if (n != osip_list_size(b))
		return false;
	for (i = 0; i < n; i++)
		if (!addr_same(osip_list_get(a, i), osip_list_get(b, i)))
			return false;
	return true;
}

static bool vias_same(const osip_list_t *a, const osip_list_t *b)
{
	const osip_via_t *va, *vb;
	int i, n = osip_list_size(a);

	if (n != osip_list_size(b))
		return false;
	for (i = 0; i < n; i++) {
		va = osip_list_get(a, i);
		vb = osip_list_get(b, i);
		if (!va || !vb || !str_same(va->version, vb->version) ||
		    !str_same(va->protocol, vb->protocol) || !str_same(va->host, vb->host) ||
		    !str_same(va->port, vb->port) || !str_same(va->comment, vb->comment) ||
		    !params_same(&va->via_params, &vb->via_params))
			return false;
	}
	return true;
}

static bool ctype_same(const osip_content_type_t *a, const osip_content_type_t *b)
{
	if (!a || !b)
		return a == b;
	return str_same(a->type, b->type) && str_same(a->subtype, b->subtype) &&
	       params_same(&a->gen_params, &b->gen_params);
}

static bool bodies_same(const osip_list_t *a, const osip_list_t *b)
{
	const osip_body_t *ba, *bb;
	int i, n = osip_list_size(a);

	if (n != osip_list_size(b))
		return false;
	for (i = 0; i < n; i++) {
		ba = osip_list_get(a, i);
		bb = osip_list_get(b, i);
		if (!ba || !bb || ba->length != bb->length ||
		    (ba->length && (!ba->body || !bb->body ||
				    memcmp(ba->body, bb->body, ba->length))) ||
		    !ctype_same(ba->content_type, bb->content_type))
			return false;
	}
	return true;
}

/* NULL if b (a read back) says what a said, else the reason to refuse. */
static const char *essentials_differ(const osip_message_t *a, const osip_message_t *b)
{
	if (a->status_code != b->status_code || !str_same(a->sip_method, b->sip_method) ||
	    !str_same(a->sip_version, b->sip_version) ||
	    (MSG_IS_RESPONSE(a) && !str_same(a->reason_phrase, b->reason_phrase)))
		return "Bad Request (start line does not survive re-encoding)";
	if (!uri_same(a->req_uri, b->req_uri))
		return "Bad Request (Request-URI does not survive re-encoding)";
	if (!vias_same(&a->vias, &b->vias))
		return "Bad Request (Via does not survive re-encoding)";
	if (!addr_same(a->from, b->from))
		return "Bad Request (From does not survive re-encoding)";
	if (!addr_same(a->to, b->to))
		return "Bad Request (To does not survive re-encoding)";
	if (!a->call_id || !b->call_id || !str_same(a->call_id->number, b->call_id->number) ||
	    !str_same(a->call_id->host, b->call_id->host))
		return "Bad Request (Call-ID does not survive re-encoding)";
	if (!a->cseq || !b->cseq || !str_same(a->cseq->number, b->cseq->number) ||
	    !str_same(a->cseq->method, b->cseq->method))
		return "Bad Request (CSeq does not survive re-encoding)";
	if (!addr_list_same(&a->contacts, &b->contacts))
		return "Bad Request (Contact does not survive re-encoding)";
	if (!addr_list_same(&a->routes, &b->routes) ||
	    !addr_list_same(&a->record_routes, &b->record_routes))
		return "Bad Request (Route does not survive re-encoding)";
	if (!ctype_same(a->content_type, b->content_type) || !bodies_same(&a->bodies, &b->bodies))
		return "Bad Request (body does not survive re-encoding)";
	return NULL;
}

/* Pass 4. 0, -EBADMSG with err set, or -ENOMEM. */
int sip_roundtrip_check(osip_message_t *m, struct sip_err *err)
{
	char *s1 = NULL, *s2 = NULL;
	size_t n1 = 0, n2 = 0;
	osip_message_t *m2 = NULL;
	const char *why = NULL;
	int rc = 0;

	/* as sip_msg_to_bytes() will: from the structure, not the cache */
	osip_message_force_update(m);
	if ((rc = osip_message_to_str(m, &s1, &n1)) != 0) {
		why = "Bad Request (cannot be re-encoded)";
		goto out;
	}
	if ((rc = osip_message_init(&m2)) != 0)
		goto out;
	if ((rc = osip_message_parse(m2, s1, n1)) != 0) {
		why = "Bad Request (does not survive re-encoding)";
		goto out;
	}
	if ((why = essentials_differ(m, m2)))
		goto out;
	osip_message_force_update(m2);
	if ((rc = osip_message_to_str(m2, &s2, &n2)) != 0 || n1 != n2 || memcmp(s1, s2, n1))
		why = "Bad Request (re-encoding is not stable)";
out:
	osip_free(s1);
	osip_free(s2);
	osip_message_free(m2);
	if (rc == OSIP_NOMEM)
		return -ENOMEM;
	return why ? sip_check_fail(err, 400, why) : 0;
}

/* Can a response be built for this request (RFC 3261 §8.2.6.2: it copies
 * Via, From, To, Call-ID and CSeq)? Never for an ACK: it gets no response. */
bool sip_answerable(const osip_message_t *m)
{
	return m && MSG_IS_REQUEST(m) && m->sip_method && strcmp(m->sip_method, "ACK") &&
	       osip_list_size(&m->vias) > 0 && m->from && m->to && m->call_id && m->cseq &&
	       writable(m->from, (int (*)(void *, char **))osip_from_to_str) &&
	       writable(m->to, (int (*)(void *, char **))osip_to_to_str) &&
	       writable(m->call_id, (int (*)(void *, char **))osip_call_id_to_str) &&
	       writable(m->cseq, (int (*)(void *, char **))osip_cseq_to_str);
}
