/* fuzz_sip: SIP message handling in sipproxy (sip_msg.c over libosip2,
 * registrar.c).
 *
 * Input: one SIP message as received (the seeds are plain .sip files).
 * It goes through sip_msg_parse(); then, as proxy.c would:
 *   a request: sip_msg_top_via_fix(), the transaction key (both CANCEL
 *     modes), the loop key and loop check, Max-Forwards, the dialog id and
 *     Call-ID, sip_msg_route_preprocess() with a fixed is_mine (the proxy
 *     is 192.0.2.1:5060 and "proxy.example.com"), sip_msg_uri_target() of
 *     the next hop, a new branch and Via, Record-Route, the strict-router
 *     fix-up, the SDP body (read, and written back), a response built with
 *     sip_msg_build_response() (the status picked from the input's
 *     length), the REGISTER path (registrar_register() on a fresh
 *     registrar, the AoR made as proxy.c's aor_of() does), and
 *     sip_msg_to_bytes() of the request and the response;
 *   a refused request that came back parsed: the error response, as the
 *     proxy sends it;
 *   a response: the Via targets, popping our Via, its keys, serialising.
 *
 * Beyond the sanitizers it checks two invariants:
 *  - round trip: a message sip_msg_parse() accepts, serialised unedited
 *    with sip_msg_to_bytes(), is accepted again and says the same thing:
 *    the start line, the Request-URI (as libosip2 writes it, and, with
 *    escapes decoded, as it came in on the wire), Call-ID, CSeq, every
 *    Via's sent-by and branch, From and To (URI and tag), the number of
 *    Contact, Route and Record-Route entries, and the bodies. The proxy
 *    must forward what it received, not something else or something
 *    broken;
 *  - what the proxy would send about a message it accepted (the edited
 *    request, the responses it builds to it) parses again with
 *    sip_msg_parse(): a proxy must not emit what it would itself refuse.
 *    (An error response to a refused request echoes the faulty header,
 *    so it is only serialised.)
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "fuzz_common.h"
#include "registrar.h"
#include "sip/sip_msg.h"
#include "transport.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sip_msg_init() != 0) {
		fprintf(stderr, "fuzz_sip: sip_msg_init failed\n");
		exit(1);
	}
	sip_msg_set_trace(NULL);
	return 0;
}

static bool is_mine(const osip_uri_t *u, void *arg)
{
	int port;

	(void)arg;
	if (!u || !u->host)
		return false;
	port = u->port ? atoi(u->port) : 5060;
	return port == 5060 &&
	       (!strcmp(u->host, "192.0.2.1") || !strcasecmp(u->host, "proxy.example.com"));
}

static char *uri_text(const osip_uri_t *u)
{
	char *s = NULL;

	if (!u || osip_uri_to_str(u, &s) != 0)
		return NULL;
	return s;
}

static bool same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static const char *tag_of(const osip_from_t *h)
{
	osip_generic_param_t *p = NULL;

	if (!h || osip_from_get_tag((osip_from_t *)h, &p) != 0 || !p)
		return NULL;
	return p->gvalue ? p->gvalue : "";
}

static const char *branch_of(const osip_via_t *v)
{
	osip_generic_param_t *p = NULL;

	if (!v || osip_via_param_get_byname((osip_via_t *)v, "branch", &p) != 0 || !p)
		return NULL;
	return p->gvalue ? p->gvalue : "";
}

/* %XX decoded (the rest as it is), into a malloc'd string. */
static char *unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	size_t i, o = 0;

	FUZZ_CHECK(out, "out of memory");
	for (i = 0; i < n; i++) {
		unsigned v;

		if (s[i] == '%' && i + 2 < n && sscanf(s + i + 1, "%2x", &v) == 1 &&
		    strchr("0123456789abcdefABCDEF", s[i + 1]) &&
		    strchr("0123456789abcdefABCDEF", s[i + 2])) {
			out[o++] = (char)v;
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* The Request-URI as it came in: the request line's second word. */
static char *wire_request_uri(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *a, *b;

	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	if (!(a = memchr(p, ' ', (size_t)(end - p))))
		return NULL;
	a++;
	if (!(b = memchr(a, ' ', (size_t)(end - a))))
		return NULL;
	return unescape(a, (size_t)(b - a));
}

/* The URI inside <...> of the header name (or its compact form) as it
 * came in, escapes decoded, and its ";tag=" value (NULL if not written
 * that plainly); NULL when the header is not one plain line holding a
 * "<...>", or comes twice. */
static char *wire_addr_uri(const uint8_t *data, size_t size, const char *name, char compact,
			   char **tag)
{
	const char *p = (const char *)data, *end = p + size, *eol, *l, *lt = NULL, *gt, *t;
	char *uri = NULL;
	size_t nlen = strlen(name), n;
	bool inq = false;

	*tag = NULL;
	for (eol = memchr(p, '\n', size); eol; eol = memchr(p, '\n', (size_t)(end - p))) {
		l = p;
		n = (size_t)(eol - l);
		if (n && l[n - 1] == '\r')
			n--;
		p = eol + 1;
		if (!n)
			break; /* end of the headers */
		if (!((n > nlen && !strncasecmp(l, name, nlen) && l[nlen] == ':') ||
		      (n > 1 && (l[0] | 0x20) == compact && l[1] == ':')))
			continue;
		if (uri || (p < end && (*p == ' ' || *p == '\t')))
			goto no; /* twice, or folded */
		for (t = l; t < l + n && !lt; t++) {
			if (*t == '"' && (t == l || t[-1] != '\\'))
				inq = !inq;
			else if (*t == '<' && !inq)
				lt = t;
		}
		if (!lt || !(gt = memchr(lt, '>', (size_t)(l + n - lt))))
			goto no;
		uri = unescape(lt + 1, (size_t)(gt - lt - 1));
		if ((t = memmem(gt, (size_t)(l + n - gt), ";tag=", 5))) {
			const char *v = t + 5, *e = v;

			while (e < l + n && (isalnum((unsigned char)*e) || strchr("-.!%*_+`'~", *e)))
				e++;
			if (e == l + n)
				*tag = strndup(v, (size_t)(e - v));
		}
	}
	return uri;
no:
	free(uri);
	free(*tag);
	*tag = NULL;
	return NULL;
}

#define SHOW(n, b) (int)((n) > 3000 ? 3000 : (n)), (b)

/* To or From as received against the parsed one: the URI (escapes aside)
 * and the tag must be what came in, or the proxy forwards another. */
static void check_wire_addr(const uint8_t *data, size_t size, const osip_from_t *h,
			    const char *name, char compact)
{
	char *tag, *wire = wire_addr_uri(data, size, name, compact, &tag), *u, *dec;

	if (!wire)
		return;
	u = uri_text(h->url);
	FUZZ_CHECK(u, "%s: no URI", name);
	dec = unescape(u, strlen(u));
	FUZZ_CHECK(!strcmp(wire, dec), "round trip: the %s URI received as \"%s\" goes out as \"%s\"",
		   name, wire, u);
	FUZZ_CHECK(!tag || same_str(tag, tag_of(h)),
		   "round trip: the %s tag received as \"%s\" is read as \"%s\"", name, tag,
		   tag_of(h) ? tag_of(h) : "(none)");
	free(dec);
	osip_free(u);
	free(wire);
	free(tag);
}

/* The first invariant (see the top). */
static void check_round_trip(osip_message_t *m, const uint8_t *data, size_t size)
{
	char *b = NULL, *ua, *ub;
	size_t n = 0;
	osip_message_t *again = NULL;
	struct sip_err err;
	int rc, i, nv;

	rc = sip_msg_to_bytes(m, &b, &n);
	if (rc == -EMSGSIZE || rc == -ENOMEM)
		return; /* not sent */
	FUZZ_CHECK(rc == 0, "round trip: an accepted message cannot be serialised (%d)", rc);
	rc = sip_msg_parse(b, n, 0, &again, &err);
	FUZZ_CHECK(rc == 0, "round trip: an accepted message, serialised, is refused (%d %s):\n%.*s",
		   err.status, err.reason ? err.reason : "?", SHOW(n, b));
#define RT_CHECK(cond, what) \
	FUZZ_CHECK(cond, "round trip: %s changes when serialised and parsed again:\n%.*s", what, \
		   SHOW(n, b))
	RT_CHECK(m->status_code == again->status_code && same_str(m->sip_method, again->sip_method),
		 "the start line");
	if (MSG_IS_REQUEST(m)) {
		char *wire;

		ua = uri_text(m->req_uri);
		ub = uri_text(again->req_uri);
		RT_CHECK(ua && ub && !strcmp(ua, ub), "the Request-URI");
		/* and it is the one that came in (escapes aside) */
		if ((wire = wire_request_uri(data, size))) {
			char *dec = unescape(ua, strlen(ua));

			FUZZ_CHECK(!strcmp(wire, dec),
				   "round trip: the Request-URI received as \"%s\" goes out as \"%s\"",
				   wire, ua);
			free(dec);
			free(wire);
		}
		osip_free(ua);
		osip_free(ub);
	}
	RT_CHECK(m->call_id && again->call_id && same_str(m->call_id->number, again->call_id->number) &&
		 same_str(m->call_id->host, again->call_id->host), "Call-ID");
	RT_CHECK(m->cseq && again->cseq && same_str(m->cseq->number, again->cseq->number) &&
		 same_str(m->cseq->method, again->cseq->method), "CSeq");
	nv = osip_list_size(&m->vias);
	RT_CHECK(nv == osip_list_size(&again->vias), "the number of Vias");
	for (i = 0; i < nv; i++) {
		osip_via_t *va = osip_list_get(&m->vias, i), *vb = osip_list_get(&again->vias, i);

		RT_CHECK(same_str(branch_of(va), branch_of(vb)), "a Via branch");
		RT_CHECK(same_str(va->host, vb->host) && same_str(va->port, vb->port) &&
			 same_str(va->protocol, vb->protocol), "a Via sent-by");
	}
	check_wire_addr(data, size, m->from, "from", 'f');
	check_wire_addr(data, size, m->to, "to", 't');
	RT_CHECK(m->from && again->from && same_str(tag_of(m->from), tag_of(again->from)), "the From tag");
	RT_CHECK(m->to && again->to && same_str(tag_of(m->to), tag_of(again->to)), "the To tag");
	ua = uri_text(m->from->url);
	ub = uri_text(again->from->url);
	RT_CHECK(same_str(ua, ub), "the From URI");
	osip_free(ua);
	osip_free(ub);
	ua = uri_text(m->to->url);
	ub = uri_text(again->to->url);
	RT_CHECK(same_str(ua, ub), "the To URI");
	osip_free(ua);
	osip_free(ub);
	RT_CHECK(osip_list_size(&m->contacts) == osip_list_size(&again->contacts) &&
		 osip_list_size(&m->routes) == osip_list_size(&again->routes) &&
		 osip_list_size(&m->record_routes) == osip_list_size(&again->record_routes),
		 "the number of Contact/Route/Record-Route entries");
	nv = osip_list_size(&m->bodies);
	RT_CHECK(nv == osip_list_size(&again->bodies), "the number of bodies");
	for (i = 0; i < nv; i++) {
		osip_body_t *ba = osip_list_get(&m->bodies, i), *bb = osip_list_get(&again->bodies, i);

		RT_CHECK(ba->length == bb->length && (!ba->length || !memcmp(ba->body, bb->body, ba->length)),
			 "a body");
	}
#undef RT_CHECK
	osip_message_free(again);
	sip_msg_bytes_free(b);
}

/* What the proxy would send must parse again. */
static void reparse(osip_message_t *msg, const char *what)
{
	char *b = NULL;
	size_t n = 0;
	osip_message_t *again = NULL;
	struct sip_err err;
	int rc;

	if (sip_msg_to_bytes(msg, &b, &n) != 0)
		return; /* -EMSGSIZE, -ENOMEM: not sent */
	rc = sip_msg_parse(b, n, 0, &again, &err);
	FUZZ_CHECK(rc == 0, "%s: the proxy's own output does not parse (%d %s):\n%.*s", what,
		   err.status, err.reason ? err.reason : "?", (int)(n > 2000 ? 2000 : n), b);
	osip_message_free(again);
	sip_msg_bytes_free(b);
}

/* proxy.c's aor_of() for a proxy with the domain "example.com". */
static int aor_of(const osip_uri_t *u, char *buf, size_t len)
{
	int n;

	if (!u || !u->host || !u->username || !*u->username)
		return -EINVAL;
	n = snprintf(buf, len, "%s@%s", u->username, u->host);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	for (char *s = strchr(buf, '@'); *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	return 0;
}

static void do_register(osip_message_t *req, size_t size)
{
	static const struct reg_limits lim = {.min_expires = 60, .max_expires = 3600,
					      .default_expires = 1800, .max_contacts = 4,
					      .max_aors = 8};
	struct registrar *r;
	struct tp_addr src;
	char aor[REG_AOR_MAX];
	osip_message_t *resp = NULL;
	const char *reason = NULL;
	struct reg_contact ct[4];
	int status;

	if (!req->to || aor_of(req->to->url, aor, sizeof(aor)) < 0)
		return;
	if (sip_msg_build_response(req, 200, NULL, NULL, &resp) < 0)
		return;
	FUZZ_CHECK(r = registrar_new(&lim), "registrar_new");
	memset(&src, 0, sizeof(src));
	src.peer.sin_family = AF_INET;
	src.peer.sin_addr.s_addr = htonl(0xc0000207); /* 192.0.2.7 */
	src.peer.sin_port = htons(5062);
	src.tcp = size & 1;
	status = registrar_register(r, aor, req, &src, 1000000, resp, &reason);
	FUZZ_CHECK(status == 200 || reason, "registrar_register: %d without a reason", status);
	if (status != 200) {
		osip_message_set_status_code(resp, status);
		osip_free(resp->reason_phrase);
		resp->reason_phrase = osip_strdup(reason);
	}
	reparse(resp, "REGISTER response");
	/* the same REGISTER again, later: a refresh, or refused as old */
	osip_message_free(resp);
	resp = NULL;
	if (sip_msg_build_response(req, 200, NULL, NULL, &resp) == 0) {
		(void)registrar_register(r, aor, req, &src, 1000100, resp, &reason);
		osip_message_free(resp);
	}
	(void)registrar_lookup(r, aor, 1000200, ct, 4);
	(void)registrar_expire(r, 1005000);
	registrar_free(r);
}

static void do_request(osip_message_t *req, size_t size)
{
	static const int statuses[] = {100, 180, 200, 302, 404, 486, 500, 603};
	char key[512], loop_key[SIP_LOOP_KEY_LEN + 1], branch[SIP_BRANCH_MAX], buf[SIP_CALLID_MAX];
	static const uint8_t entropy[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	const osip_uri_t *next = NULL;
	struct sip_target t;
	osip_message_t *resp = NULL;
	const char *sdp;
	size_t sdp_len;
	bool loop_ok;

	(void)sip_msg_top_via_fix(req, (size & 2) ? "2001:db8::7" : "192.0.2.7", 5062);
	(void)sip_msg_txn_key(req, false, key, sizeof(key));
	(void)sip_msg_txn_key(req, true, key, sizeof(key));
	(void)sip_msg_dialog_id(req, key, sizeof(key));
	(void)sip_msg_call_id(req, buf, sizeof(buf));
	loop_ok = sip_msg_loop_key(req, loop_key, sizeof(loop_key)) == 0;
	(void)sip_msg_is_looped(req, "192.0.2.1", 5060);
	(void)sip_msg_max_forwards(req);

	/* the response the proxy would answer with */
	if (!MSG_IS_ACK(req) &&
	    sip_msg_build_response(req, statuses[size % 8], NULL, (size & 8) ? "fuzztag" : NULL,
				   &resp) == 0) {
		reparse(resp, "built response");
		osip_message_free(resp);
	}
	if (MSG_IS_REGISTER(req))
		do_register(req, size);

	/* forwarding */
	if (sip_msg_route_preprocess(req, is_mine, NULL, &next) == 0 && next)
		(void)sip_msg_uri_target(next, &t);
	if (req->req_uri)
		(void)sip_msg_uri_target(req->req_uri, &t);
	if (sip_msg_decrement_max_forwards(req) < 0)
		return;
	if (sip_msg_make_branch(branch, sizeof(branch), loop_ok ? loop_key : NULL, entropy,
				sizeof(entropy)) < 0)
		return;
	if (sip_msg_add_via(req, (size & 4) ? "TCP" : "UDP", "192.0.2.1", 5060, branch) < 0)
		return;
	if (MSG_IS_INVITE(req))
		(void)sip_msg_add_record_route(req, "sip:192.0.2.1:5060;lr");
	(void)sip_msg_route_strict_fixup(req);
	if (sip_msg_get_sdp_body(req, &sdp, &sdp_len) == 0 && sdp_len > 0) {
		char *copy = malloc(sdp_len);

		FUZZ_CHECK(copy, "out of memory");
		memcpy(copy, sdp, sdp_len);
		(void)sip_msg_set_sdp_body(req, copy, sdp_len);
		free(copy);
	}
	reparse(req, "forwarded request");
}

static void do_response(osip_message_t *resp)
{
	char key[512], buf[SIP_CALLID_MAX];
	struct sip_target t;
	const char *sdp;
	size_t sdp_len;

	(void)sip_msg_via_target(resp, 0, true, &t);
	(void)sip_msg_response_target(resp, &t);
	(void)sip_msg_txn_key(resp, false, key, sizeof(key));
	(void)sip_msg_dialog_id(resp, key, sizeof(key));
	(void)sip_msg_call_id(resp, buf, sizeof(buf));
	(void)sip_msg_get_sdp_body(resp, &sdp, &sdp_len);
	if (sip_msg_pop_via(resp) == 0 && sip_msg_via_count(resp) > 0)
		reparse(resp, "forwarded response");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	osip_message_t *m = NULL;
	struct sip_err err;
	char *buf;
	int rc;

	fuzz_rand_reset();
	/* an exact-size copy: a read past the datagram is caught */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(&err, 0, sizeof(err));
	rc = sip_msg_parse(buf, size, 0, &m, &err);
	if (rc != 0) {
		FUZZ_CHECK(err.status >= 400 && err.status <= 699 && err.reason,
			   "sip_msg_parse: %d with status %d", rc, err.status);
		if (m) { /* a request the proxy answers with the error */
			osip_message_t *resp = NULL;

			FUZZ_CHECK(MSG_IS_REQUEST(m) && !MSG_IS_ACK(m),
				   "sip_msg_parse kept a message it must not");
			/* it echoes the request's headers, the faulty one too: it
			 * is serialised, but need not parse again */
			if (sip_msg_build_response(m, err.status, err.reason, NULL, &resp) == 0) {
				char *b = NULL;
				size_t n = 0;

				if (sip_msg_to_bytes(resp, &b, &n) == 0)
					sip_msg_bytes_free(b);
				osip_message_free(resp);
			}
		}
	} else {
		check_round_trip(m, data, size);
		if (MSG_IS_REQUEST(m))
			do_request(m, size);
		else
			do_response(m);
	}
	osip_message_free(m);
	free(buf);
	return 0;
}
