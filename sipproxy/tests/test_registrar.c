/* Unit tests for registrar.c, the registrar and location service.
 *
 * REGISTER requests are written as text and parsed with sip_msg_parse(),
 * the 200/423 responses made with sip_msg_build_response(), as sipproxy
 * does; every 200 is serialised and parsed again, so the Contact headers
 * the registrar writes are held to the same parser as anything on the
 * wire. The clock is an int64_t the tests move by hand.
 *
 * Covered: RFC 3261 §10.3 steps 6-8 (one, several and successive
 * contacts, query, refresh, removal by expires=0 and by "*", the "*"
 * rules, 423 with Min-Expires, the clamp to the maximum, the expires
 * parameter over the header over the default), expiry (lookup, each and
 * registrar_expire() agree), q parsing and ordering with ties, the
 * Call-ID/CSeq rule of step 7, atomicity of refused requests, the limits
 * (403 per AoR, 500 for a full table with a sweep first), restore and
 * each, the §19.1.4 URI match, bad arguments, hostile Contact headers
 * written by hand (huge, empty, strange parameters) and built directly as
 * structures libosip2 would never produce, and a random-mutation run
 * (fixed seed) over Contact and Expires headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../registrar.h"
#include "../sip/sip_msg.h"

#define AOR "alice@example.com"
#define T0 1000000 /* the clock at the start of each test */

static const struct reg_limits default_limits = {
	.min_expires = 60,
	.max_expires = 3600,
	.default_expires = 1800,
	.max_contacts = 8,
	.max_aors = 100,
};

/* ---- helpers ---- */

/* A REGISTER with the given Call-ID and CSeq; extra holds whole header
 * lines, each ended by CRLF. The parse result as sip_msg_parse() gives it
 * (*m may be set on failure too). */
static int parse_reg(const char *call_id, unsigned cseq, const char *extra, osip_message_t **m)
{
	static unsigned branch;
	struct sip_err err;
	size_t cap = strlen(extra) + 1024;
	char *buf = malloc(cap);
	int n, rc;

	assert_non_null(buf);
	n = snprintf(buf, cap,
		     "REGISTER sip:example.com SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK%u\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:alice@example.com>;tag=f1\r\n"
		     "To: <sip:alice@example.com>\r\n"
		     "Call-ID: %s\r\n"
		     "CSeq: %u REGISTER\r\n"
		     "%s"
		     "Content-Length: 0\r\n\r\n",
		     ++branch, call_id, cseq, extra);
	assert_true(n > 0 && (size_t)n < cap);
	rc = sip_msg_parse(buf, (size_t)n, 0, m, &err);
	free(buf);
	return rc;
}

static osip_message_t *make_reg(const char *call_id, unsigned cseq, const char *extra)
{
	osip_message_t *m = NULL;

	if (parse_reg(call_id, cseq, extra, &m) != 0)
		fail_msg("REGISTER with \"%s\" did not parse", extra);
	return m;
}

static struct tp_addr src_addr(uint16_t port)
{
	struct tp_addr a;

	memset(&a, 0, sizeof(a));
	a.peer.sin_family = AF_INET;
	a.peer.sin_addr.s_addr = htonl(0xc000020a); /* 192.0.2.10 */
	a.peer.sin_port = htons(port);
	a.tcp = port % 2 == 1;
	a.conn = port;
	return a;
}

/* Carry out a REGISTER for aor; *resp_out (if not NULL) gets the response,
 * else it is freed. Every 200 is serialised and parsed back. */
static int reg_full(struct registrar *r, const char *aor, const char *call_id, unsigned cseq,
		    const char *extra, int64_t now, const char **reason, osip_message_t **resp_out)
{
	osip_message_t *req = make_reg(call_id, cseq, extra), *resp = NULL;
	struct tp_addr src = src_addr((uint16_t)(5000 + cseq % 1000));
	const char *why = "unset";
	int status;

	assert_int_equal(sip_msg_build_response(req, 200, NULL, "t1", &resp), 0);
	status = registrar_register(r, aor, req, &src, now, resp, &why);
	if (status == 200) {
		struct sip_err err;
		osip_message_t *back = NULL;
		char *bytes = NULL;
		size_t len = 0;

		assert_null(why);
		assert_int_equal(sip_msg_to_bytes(resp, &bytes, &len), 0);
		if (sip_msg_parse(bytes, len, 0, &back, &err) != 0)
			fail_msg("200 does not parse back (%s): %.*s", err.reason, (int)len, bytes);
		assert_int_equal(osip_list_size(&back->contacts), osip_list_size(&resp->contacts));
		osip_message_free(back);
		sip_msg_bytes_free(bytes);
	} else {
		assert_non_null(why);
		assert_true(status == 400 || status == 403 || status == 423 || status == 500);
	}
	if (reason)
		*reason = why;
	if (resp_out)
		*resp_out = resp;
	else
		osip_message_free(resp);
	osip_message_free(req);
	return status;
}

static int reg(struct registrar *r, const char *call_id, unsigned cseq, const char *extra,
	       int64_t now)
{
	return reg_full(r, AOR, call_id, cseq, extra, now, NULL, NULL);
}

static const char *contact_param_value(const osip_contact_t *c, const char *name)
{
	osip_generic_param_t *p;
	int i;

	for (i = 0; i < osip_list_size(&c->gen_params); i++) {
		p = osip_list_get(&c->gen_params, i);
		if (p->gname && !strcasecmp(p->gname, name))
			return p->gvalue ? p->gvalue : "";
	}
	return NULL;
}

/* The i-th Contact of resp: its URI into uri (osip_free'd here), its
 * expires and q parameters (NULL if absent). */
static void resp_contact(const osip_message_t *resp, int i, char *uri, size_t len,
			 const char **expires, const char **q)
{
	osip_contact_t *c = osip_list_get(&resp->contacts, i);
	char *s = NULL;

	assert_non_null(c);
	assert_int_equal(osip_uri_to_str(c->url, &s), 0);
	snprintf(uri, len, "%s", s);
	osip_free(s);
	*expires = contact_param_value(c, "expires");
	*q = contact_param_value(c, "q");
}

static void assert_resp_contact(const osip_message_t *resp, int i, const char *uri,
				const char *expires, const char *q)
{
	char got[REG_URI_MAX + 16];
	const char *e, *qq;

	resp_contact(resp, i, got, sizeof(got), &e, &qq);
	assert_string_equal(got, uri);
	assert_non_null(e);
	assert_string_equal(e, expires);
	if (q) {
		assert_non_null(qq);
		assert_string_equal(qq, q);
	} else {
		assert_null(qq);
	}
}

static unsigned lookup(struct registrar *r, int64_t now, struct reg_contact *out)
{
	return registrar_lookup(r, AOR, now, out, 16);
}

static int setup(void **state)
{
	struct registrar *r = registrar_new(&default_limits);

	assert_non_null(r);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	registrar_free(*state);
	return 0;
}

/* ---- one, several, two requests, query ---- */

static void test_register_one(void **state)
{
	struct registrar *r = *state;
	struct reg_contact c[16];
	struct tp_addr src = src_addr(5001);
	osip_message_t *resp = NULL;
	const char *why;

	assert_int_equal(reg_full(r, AOR, "c1@host", 1, "Contact: <sip:alice@192.168.1.5:5062>\r\n",
				  T0, &why, &resp), 200);
	assert_int_equal(osip_list_size(&resp->contacts), 1);
	assert_resp_contact(resp, 0, "sip:alice@192.168.1.5:5062", "1800", NULL);
	osip_message_free(resp);

	assert_int_equal(lookup(r, T0, c), 1);
	assert_string_equal(c[0].uri, "sip:alice@192.168.1.5:5062");
	assert_int_equal(c[0].expires, T0 + 1800);
	assert_int_equal(c[0].q, 1000);
	assert_string_equal(c[0].call_id, "c1@host");
	assert_int_equal(c[0].cseq, 1);
	assert_memory_equal(&c[0].src, &src, sizeof(src)); /* where it came from */
	assert_int_equal(registrar_count_aors(r), 1);
	assert_int_equal(registrar_count_contacts(r), 1);
	/* other AoRs know nothing; the AoR is compared exactly */
	assert_int_equal(registrar_lookup(r, "bob@example.com", T0, c, 16), 0);
	assert_int_equal(registrar_lookup(r, "Alice@example.com", T0, c, 16), 0);
	/* max limits what is copied */
	assert_int_equal(registrar_lookup(r, AOR, T0, c, 0), 0);
}

static void test_several_in_one_request(void **state)
{
	struct registrar *r = *state;
	struct reg_contact c[16];
	osip_message_t *resp = NULL;

	assert_int_equal(reg_full(r, AOR, "c1", 7,
				  "Contact: <sip:a@10.0.0.1>;q=0.5, <sip:b@10.0.0.2>;expires=120\r\n"
				  "m: \"Desk\" <sips:c@10.0.0.3;transport=tcp>;q=0.7;expires=300\r\n",
				  T0, NULL, &resp), 200);
	assert_int_equal(osip_list_size(&resp->contacts), 3);
	/* best q first */
	assert_resp_contact(resp, 0, "sip:b@10.0.0.2", "120", NULL);
	assert_resp_contact(resp, 1, "sips:c@10.0.0.3;transport=tcp", "300", "0.7");
	assert_resp_contact(resp, 2, "sip:a@10.0.0.1", "1800", "0.5");
	osip_message_free(resp);

	assert_int_equal(lookup(r, T0, c), 3);
	assert_string_equal(c[0].uri, "sip:b@10.0.0.2");
	assert_int_equal(c[0].expires, T0 + 120);
	assert_int_equal(c[1].q, 700);
	assert_int_equal(c[2].q, 500);
	assert_int_equal(registrar_count_contacts(r), 3);
	assert_int_equal(registrar_count_aors(r), 1);
}

static void test_two_requests(void **state)
{
	struct registrar *r = *state;
	struct reg_contact c[16];
	osip_message_t *resp = NULL;

	assert_int_equal(reg(r, "phone1", 1, "Contact: <sip:a@10.0.0.1>\r\n", T0), 200);
	/* another device, its own Call-ID: added, and both are in the 200 */
	assert_int_equal(reg_full(r, AOR, "phone2", 1,
				  "Contact: <sip:a@10.0.0.2>\r\nExpires: 600\r\n", T0 + 10, NULL,
				  &resp), 200);
	assert_int_equal(osip_list_size(&resp->contacts), 2);
	/* same q: the most recent first */
	assert_resp_contact(resp, 0, "sip:a@10.0.0.2", "600", NULL);
	assert_resp_contact(resp, 1, "sip:a@10.0.0.1", "1790", NULL);
	osip_message_free(resp);
	assert_int_equal(lookup(r, T0 + 10, c), 2);
	assert_string_equal(c[0].call_id, "phone2");
	assert_string_equal(c[1].call_id, "phone1");
}

static void test_query(void **state)
{
	struct registrar *r = *state;
	osip_message_t *resp = NULL;

	/* unknown AoR: 200 with no Contact, and no AoR is created */
	assert_int_equal(reg_full(r, AOR, "q1", 1, "", T0, NULL, &resp), 200);
	assert_int_equal(osip_list_size(&resp->contacts), 0);
	osip_message_free(resp);
	assert_int_equal(registrar_count_aors(r), 0);

	assert_int_equal(reg(r, "c1", 1, "Contact: <sip:a@10.0.0.1>;expires=100\r\n", T0), 200);
	assert_int_equal(reg(r, "c2", 1, "Contact: <sip:a@10.0.0.2>;expires=200;q=0.1\r\n", T0), 200);
	/* a query from anyone (its own Call-ID and CSeq): the remaining times */
	assert_int_equal(reg_full(r, AOR, "q1", 2, "Expires: 0\r\n", T0 + 40, NULL, &resp), 200);
	assert_int_equal(osip_list_size(&resp->contacts), 2);
	assert_resp_contact(resp, 0, "sip:a@10.0.0.1", "60", NULL);
	assert_resp_contact(resp, 1, "sip:a@10.0.0.2", "160", "0.1");
	osip_message_free(resp);
	/* a query changes nothing, not even for the same Call-ID */
	assert_int_equal(reg(r, "c1", 1, "", T0 + 41), 200);
	assert_int_equal(registrar_count_contacts(r), 2);
	/* once one has expired it is not listed */
	assert_int_equal(reg_full(r, AOR, "q1", 3, "", T0 + 100, NULL, &resp), 200);
	assert_int_equal(osip_list_size(&resp->contacts), 1);
	assert_resp_contact(resp, 0, "sip:a@10.0.0.2", "100", "0.1");
	osip_message_free(resp);
	/* without a response to fill, the status alone */
	{
		osip_message_t *req = make_reg("q1", 4, "");
		struct tp_addr src = src_addr(5000);
		const char *why = "x";

		assert_int_equal(registrar_register(r, AOR, req, &src, T0, NULL, &why), 200);
		assert_null(why);
		assert_int_equal(registrar_register(r, AOR, req, &src, T0, NULL, NULL), 200);
		osip_message_free(req);
	}
}

/* ---- refresh and removal ---- */

static void test_refresh(void **state)
{
	struct registrar *r = *state;
	struct reg_contact c[16];
	osip_message_t *resp = NULL;

	assert_int_equal(reg(r, "c1", 1, "Contact: <sip:alice@Phone.Example.COM:5070;transport=udp>\r\n", T0), 200);
	/* same URI per §19.1.4: scheme and host case-insensitive, escapes decoded */
	assert_int_equal(reg_full(r, AOR, "c1", 2,
				  "Contact: <SIP:%61lice@phone.example.com:5070;transport=UDP>;expires=900\r\n",
				  T0 + 500, NULL, &resp), 200);
	assert_int_equal(osip_list_size(&resp->contacts), 1);
	osip_message_free(resp);
	assert_int_equal(lookup(r, T0 + 500, c), 1);
	assert_int_equal(c[0].expires, T0 + 500 + 900);
	assert_int_equal(c[0].cseq, 2);
	assert_int_equal(c[0].src.conn, 5002); /* the new source */
	assert_int_equal(registrar_count_contacts(r), 1);

	/* the user part is exact, the port as written, transport counts, other
	 * URI parameters do not */
	assert_int_equal(reg(r, "c1", 3, "Contact: <sip:Alice@phone.example.com:5070;transport=udp>\r\n", T0 + 501), 200);
	assert_int_equal(reg(r, "c1", 4, "Contact: <sip:alice@phone.example.com;transport=udp>\r\n", T0 + 502), 200);
	assert_int_equal(reg(r, "c1", 5, "Contact: <sip:alice@phone.example.com:5070;transport=tcp>\r\n", T0 + 503), 200);
	assert_int_equal(registrar_count_contacts(r), 4);
	assert_int_equal(reg(r, "c1", 6, "Contact: <sip:alice@phone.example.com:5070;transport=udp;ob;foo=bar>\r\n", T0 + 504), 200);
	assert_int_equal(registrar_count_contacts(r), 4);
	assert_int_equal(lookup(r, T0 + 504, c), 4);
	/* the URI kept is the latest spelling */
	assert_string_equal(c[0].uri, "sip:alice@phone.example.com:5070;transport=udp;ob;foo=bar");
	assert_int_equal(c[0].cseq, 6);
}

static void test_remove_by_expires_zero(void **state)
{
	struct registrar *r = *state;
	struct reg_contact c[16];
	osip_message_t *resp = NULL;

	assert_int_equal(reg(r, "c1", 1, "Contact: <sip:a@10.0.0.1>, <sip:a@10.0.0.2>, <sip:a@10.0.0.3>\r\n", T0), 200);
	/* the parameter wins over the header, both ways */
	assert_int_equal(reg_full(r, AOR, "c1", 2,
				  "Contact: <sip:a@10.0.0.1>;expires=0, <sip:a@10.0.0.2>\r\n"
				  "Expires: 300\r\n", T0 + 1, NULL, &resp), 200);
	assert_int_equal(osip_list_size(&resp->contacts), 2);
	assert_resp_contact(resp, 0, "sip:a@10.0.0.2", "300", NULL);
	assert_resp_contact(resp, 1, "sip:a@10.0.0.3", "1799", NULL);
	osip_message_free(resp);
	assert_int_equal(reg(r, "c1", 3, "Contact: <sip:a@10.0.0.2>;expires=600\r\nExpires: 0\r\n", T0 + 2), 200);
	assert_int_equal(lookup(r, T0 + 2, c), 2);
	assert_int_equal(reg(r, "c1", 4, "Contact: <sip:a@10.0.0.3>\r\nExpires: 0\r\n", T0 + 3), 200);
	assert_int_equal(lookup(r, T0 + 3, c), 1);
	assert_string_equal(c[0].uri, "sip:a@10.0.0.2");
	/* removing what is not there is fine */
	assert_int_equal(reg(r, "c1", 5, "Contact: <sip:a@10.0.0.9>;expires=0\r\n", T0 + 4), 200);
	/* the last one goes: the AoR goes */
	assert_int_equal(reg_full(r, AOR, "c1", 6, "Contact: <sip:a@10.0.0.2>;expires=00\r\n",
				  T0 + 5, NULL, &resp), 200);
	assert_int_equal(osip_list_size(&resp->contacts), 0);
	osip_message_free(resp);
	assert_int_equal(registrar_count_aors(r), 0);
	assert_int_equal(registrar_count_contacts(r), 0);
	/* a removal for an unknown AoR creates nothing */
	assert_int_equal(reg(r, "c1", 7, "Contact: <sip:a@10.0.0.2>;expires=0\r\n", T0 + 6), 200);
	assert_int_equal(registrar_count_aors(r), 0);
}

static void test_remove_all_star(void **state)
{
	struct registrar *r = *state;
	struct reg_contact c[16];
	osip_message_t *resp = NULL;

	assert_int_equal(reg(r, "c1", 1, "Contact: <sip:a@10.0.0.1>, <sip:a@10.0.0.2>\r\n", T0), 200);
	assert_int_equal(reg(r, "c2", 1, "Contact: <sip:a@10.0.0.3>\r\n", T0), 200);
	assert_int_equal(reg_full(r, "bob@example.com", "b1", 1, "Contact: <sip:b@10.0.0.4>\r\n",
				  T0, NULL, NULL), 200);
	assert_int_equal(reg_full(r, AOR, "c9", 1, "Contact: *\r\nExpires: 0\r\n", T0 + 1, NULL,
				  &resp), 200);
	assert_int_equal(osip_list_size(&resp->contacts), 0);
	osip_message_free(resp);
	assert_int_equal(lookup(r, T0 + 1, c), 0);
	assert_int_equal(registrar_count_aors(r), 1); /* bob stays */
	assert_int_equal(registrar_count_contacts(r), 1);
	/* "*" on nothing is fine too */
	assert_int_equal(reg(r, "c9", 2, "Contact: *\r\nExpires: 0\r\n", T0 + 2), 200);
}

static void test_star_misuse(void **state)
{
	struct registrar *r = *state;
	static const char *const bad[] = {
		"Contact: *\r\n",                              /* no Expires */
		"Contact: *\r\nExpires: 10\r\n",               /* Expires not 0 */
		"Contact: *, <sip:a@10.0.0.5>\r\nExpires: 0\r\n", /* not alone */
		"Contact: <sip:a@10.0.0.5>, *\r\nExpires: 0\r\n",
		"Contact: <sip:a@10.0.0.5>\r\nContact: *\r\nExpires: 0\r\n",
		"Contact: *\r\nContact: *\r\nExpires: 0\r\n",
	};
	const char *why;
	unsigned i;

	assert_int_equal(reg(r, "c1", 1, "Contact: <sip:a@10.0.0.1>\r\n", T0), 200);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(reg_full(r, AOR, "c2", 10 + i, bad[i], T0, &why, NULL), 400);
		assert_string_equal(why, "Bad Request (bad wildcard Contact)");
	}
	assert_int_equal(registrar_count_contacts(r), 1);

	/* "*;expires=0": sip_msg_parse refuses it but leaves a message to
	 * answer; should it reach the registrar anyway, it is a 400 */
	{
		osip_message_t *m = NULL, *resp = NULL;
		struct tp_addr src = src_addr(5000);

		assert_int_not_equal(parse_reg("c2", 20, "Contact: *;expires=0\r\nExpires: 0\r\n", &m), 0);
		assert_non_null(m);
		assert_int_equal(sip_msg_build_response(m, 200, NULL, "t", &resp), 0);
		assert_int_equal(registrar_register(r, AOR, m, &src, T0, resp, &why), 400);
		assert_int_equal(osip_list_size(&resp->contacts), 0);
		osip_message_free(resp);
		osip_message_free(m);
	}
	assert_int_equal(registrar_count_contacts(r), 1);
}

/* ---- intervals ---- */

static void test_interval_too_brief(void **state)
{
	struct registrar *r = *state;
	osip_message_t *resp = NULL;
	osip_header_t *h = NULL;
	const char *why;
	char *bytes = NULL;
	size_t len;

	assert_int_equal(reg(r, "c1", 1, "Contact: <sip:a@10.0.0.1>\r\n", T0), 200);
	/* one brief contact fails the whole request, nothing applied */
	assert_int_equal(reg_full(r, AOR, "c1", 2,
				  "Contact: <sip:a@10.0.0.1>;expires=0, <sip:a@10.0.0.2>;expires=59\r\n",
				  T0, &why, &resp), 423);
	assert_string_equal(why, "Interval Too Brief");
	assert_true(osip_message_header_get_byname(resp, "min-expires", 0, &h) >= 0);
	assert_string_equal(h->hvalue, "60");
	assert_int_equal(osip_list_size(&resp->contacts), 0);
	/* and it goes out on the wire */
	osip_message_set_status_code(resp, 423);
	assert_int_equal(sip_msg_to_bytes(resp, &bytes, &len), 0);
	assert_non_null(strstr(bytes, "\r\nMin-Expires: 60\r\n"));
	sip_msg_bytes_free(bytes);
	osip_message_free(resp);
	assert_int_equal(registrar_count_contacts(r), 1);

	/* from the Expires header too; 1 is brief, 60 is not, 0 is removal */
	assert_int_equal(reg_full(r, AOR, "c1", 3, "Contact: <sip:a@10.0.0.2>\r\nExpires: 1\r\n",
				  T0, &why, NULL), 423);
	assert_int_equal(reg(r, "c1", 4, "Contact: <sip:a@10.0.0.2>\r\nExpires: 60\r\n", T0), 200);
	/* a 400 problem anywhere wins over 423 */
	assert_int_equal(reg_full(r, AOR, "c1", 5,
				  "Contact: <sip:a@10.0.0.3>;expires=5, <sip:a@10.0.0.4>;q=7\r\n",
				  T0, &why, NULL), 400);
	/* without a response to write into */
	{
		osip_message_t *req = make_reg("c1", 6, "Contact: <sip:a@10.0.0.3>;expires=5\r\n");
		struct tp_addr src = src_addr(5000);

		assert_int_equal(registrar_register(r, AOR, req, &src, T0, NULL, &why), 423);
		osip_message_free(req);
	}
	assert_int_equal(registrar_count_contacts(r), 2);
}

static void test_clamp_to_max(void **state)
{
	struct registrar *r = *state;
	struct reg_contact c[16];
	osip_message_t *resp = NULL;

	assert_int_equal(reg_full(r, AOR, "c1", 1,
				  "Contact: <sip:a@10.0.0.1>;expires=3601, <sip:a@10.0.0.2>\r\n"
				  "Expires: 99999999999999999999999\r\n", T0, NULL, &resp), 200);
	assert_resp_contact(resp, 0, "sip:a@10.0.0.2", "3600", NULL);
	assert_resp_contact(resp, 1, "sip:a@10.0.0.1", "3600", NULL);
	osip_message_free(resp);
	assert_int_equal(lookup(r, T0, c), 2);
	assert_int_equal(c[0].expires, T0 + 3600);
	assert_int_equal(c[1].expires, T0 + 3600);
	/* 2^32-1 exactly, and the clock near its end */
	assert_int_equal(reg(r, "c1", 2, "Contact: <sip:a@10.0.0.3>;expires=4294967295\r\n", T0), 200);
	assert_int_equal(reg(r, "c1", 3, "Contact: <sip:a@10.0.0.3>\r\n", INT64_MAX - 10), 200);
	assert_int_equal(registrar_lookup(r, AOR, INT64_MAX - 10, c, 16), 1);
	assert_int_equal(c[0].expires, INT64_MAX);
}

static void test_expiry_over_time(void **state)
{
	struct registrar *r = *state;
	struct reg_contact c[16];
	unsigned seen;

	assert_int_equal(reg(r, "c1", 1, "Contact: <sip:a@10.0.0.1>;expires=100, <sip:a@10.0.0.2>;expires=200\r\n", T0), 200);
	assert_int_equal(reg_full(r, "bob@example.com", "b1", 1,
				  "Contact: <sip:b@10.0.0.3>;expires=100\r\n", T0, NULL, NULL), 200);
	assert_int_equal(lookup(r, T0 + 99, c), 2);
	/* at the expiry second it is gone, swept or not */
	assert_int_equal(lookup(r, T0 + 100, c), 1);
	assert_string_equal(c[0].uri, "sip:a@10.0.0.2");
	assert_int_equal(registrar_lookup(r, "bob@example.com", T0 + 100, c, 16), 0);
	assert_int_equal(registrar_count_contacts(r), 3); /* not swept yet */
	assert_int_equal(registrar_expire(r, T0 + 99), 0);
	assert_int_equal(registrar_expire(r, T0 + 100), 2);
	assert_int_equal(registrar_count_contacts(r), 1);
	assert_int_equal(registrar_count_aors(r), 1);
	assert_int_equal(registrar_expire(r, T0 + 100), 0);
	assert_int_equal(lookup(r, T0 + 199, c), 1);
	assert_int_equal(lookup(r, T0 + 200, c), 0);
	seen = registrar_expire(r, T0 + 5000);
	assert_int_equal(seen, 1);
	assert_int_equal(registrar_count_aors(r), 0);
	assert_int_equal(registrar_count_contacts(r), 0);
	/* a REGISTER after expiry starts afresh: the old CSeq does not count */
	assert_int_equal(reg(r, "c1", 1, "Contact: <sip:a@10.0.0.1>\r\n", T0 + 6000), 200);
}

/* ---- q ---- */

static void test_q_ordering(void **state)
{
	struct registrar *r = *state;
	struct reg_contact c[16];
	osip_message_t *resp = NULL;

	assert_int_equal(reg(r, "c1", 1, "Contact: <sip:a@10.0.0.1>;q=0.5, <sip:a@10.0.0.2>;q=0\r\n", T0), 200);
	assert_int_equal(reg(r, "c2", 1, "Contact: <sip:a@10.0.0.3>;q=0.123, <sip:a@10.0.0.4>;Q=0.500\r\n", T0 + 1), 200);
	assert_int_equal(reg_full(r, AOR, "c3", 1,
				  "Contact: <sip:a@10.0.0.5>, <sip:a@10.0.0.6>;q=1.000, <sip:a@10.0.0.7>;q=0.25\r\n",
				  T0 + 2, NULL, &resp), 200);
	assert_int_equal(osip_list_size(&resp->contacts), 7);
	/* q 1 first, ties most recent first (later in a request is more recent) */
	assert_resp_contact(resp, 0, "sip:a@10.0.0.6", "1800", NULL);
	assert_resp_contact(resp, 1, "sip:a@10.0.0.5", "1800", NULL);
	assert_resp_contact(resp, 2, "sip:a@10.0.0.4", "1799", "0.5");
	assert_resp_contact(resp, 3, "sip:a@10.0.0.1", "1798", "0.5");
	assert_resp_contact(resp, 4, "sip:a@10.0.0.7", "1800", "0.25");
	assert_resp_contact(resp, 5, "sip:a@10.0.0.3", "1799", "0.123");
	assert_resp_contact(resp, 6, "sip:a@10.0.0.2", "1798", "0");
	osip_message_free(resp);
	assert_int_equal(lookup(r, T0 + 3, c), 7);
	assert_string_equal(c[0].uri, "sip:a@10.0.0.6");
	assert_int_equal(c[5].q, 123);
	assert_int_equal(c[6].q, 0);
	/* a refresh makes it the most recent of its q */
	assert_int_equal(reg(r, "c1", 2, "Contact: <sip:a@10.0.0.1>;q=0.5\r\n", T0 + 4), 200);
	assert_int_equal(lookup(r, T0 + 4, c), 7);
	assert_string_equal(c[2].uri, "sip:a@10.0.0.1");
	assert_string_equal(c[3].uri, "sip:a@10.0.0.4");
	/* and a refresh may change q */
	assert_int_equal(reg(r, "c2", 2, "Contact: <sip:a@10.0.0.3>\r\n", T0 + 5), 200);
	assert_int_equal(lookup(r, T0 + 5, c), 7);
	assert_string_equal(c[0].uri, "sip:a@10.0.0.3");
	assert_int_equal(c[0].q, 1000);
}

static void test_q_parsing(void **state)
{
	struct registrar *r = *state;
	static const struct {
		const char *q;
		unsigned value; /* 9999: refused */
	} cases[] = {
		{"0", 0}, {"1", 1000}, {"0.5", 500}, {"0.123", 123}, {"0.05", 50},
		{"0.001", 1}, {"1.0", 1000}, {"1.000", 1000}, {"0.", 0}, {"1.", 1000},
		{"0.000", 0}, {"0.999", 999},
		{"1.5", 9999}, {"1.001", 9999}, {"0.1234", 9999}, {"2", 9999},
		{"01", 9999}, {".5", 9999}, {"0,5", 9999}, {"abc", 9999}, {"-0", 9999},
		{"+1", 9999}, {"0.5x", 9999}, {"1.0000", 9999}, {"0x1", 9999}, {"10", 9999},
		{"\"0.5\"", 9999}, {"0.5.1", 9999}, {"00.5", 9999},
	};
	char hdr[128];
	struct reg_contact c[16];
	const char *why;
	unsigned i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(hdr, sizeof(hdr), "Contact: <sip:a@10.0.0.1>;q=%s\r\n", cases[i].q);
		if (cases[i].value == 9999) {
			osip_message_t *m = NULL;

			if (parse_reg("c1", 1 + i, hdr, &m) != 0) {
				osip_message_free(m); /* the parser refused it first */
				continue;
			}
			osip_message_free(m);
			assert_int_equal(reg_full(r, AOR, "c1", 1 + i, hdr, T0, &why, NULL), 400);
			assert_string_equal(why, "Bad Request (bad q-value)");
			continue;
		}
		assert_int_equal(reg_full(r, AOR, "c1", 1 + i, hdr, T0, &why, NULL), 200);
		assert_int_equal(lookup(r, T0, c), 1);
		assert_int_equal(c[0].q, cases[i].value);
	}
	/* q without a value, q twice */
	assert_int_equal(reg_full(r, AOR, "c1", 100, "Contact: <sip:a@10.0.0.1>;q\r\n", T0, &why, NULL), 400);
	assert_int_equal(reg_full(r, AOR, "c1", 101, "Contact: <sip:a@10.0.0.1>;q=\r\n", T0, &why, NULL), 400);
	assert_int_equal(reg_full(r, AOR, "c1", 102, "Contact: <sip:a@10.0.0.1>;q=0.5;q=0.5\r\n", T0, &why, NULL), 400);
	/* a q in the URI is not the Contact's q */
	assert_int_equal(reg(r, "c1", 103, "Contact: <sip:a@10.0.0.2;q=0.1>\r\n", T0), 200);
	assert_int_equal(lookup(r, T0, c), 2);
	assert_int_equal(c[0].q, 1000);
}

/* ---- RFC 3261 §10.3 step 7 ---- */

static void test_cseq_order(void **state)
{
	struct registrar *r = *state;
	struct reg_contact c[16];
	const char *why;

	assert_int_equal(reg(r, "c1", 10, "Contact: <sip:a@10.0.0.1>;expires=100\r\n", T0), 200);
	/* same Call-ID, CSeq not higher: refused, binding untouched */
	assert_int_equal(reg_full(r, AOR, "c1", 10, "Contact: <sip:a@10.0.0.1>;expires=900\r\n", T0, &why, NULL), 500);
	assert_string_equal(why, "Server Internal Error (out of order)");
	assert_int_equal(reg_full(r, AOR, "c1", 9, "Contact: <sip:a@10.0.0.1>;expires=0\r\n", T0, &why, NULL), 500);
	assert_int_equal(lookup(r, T0, c), 1);
	assert_int_equal(c[0].expires, T0 + 100);
	/* the refusal is atomic: a new contact in the same request is not added */
	assert_int_equal(reg_full(r, AOR, "c1", 5, "Contact: <sip:a@10.0.0.2>, <sip:a@10.0.0.1>\r\n", T0, &why, NULL), 500);
	assert_int_equal(registrar_count_contacts(r), 1);
	/* "*" is subject to it too */
	assert_int_equal(reg_full(r, AOR, "c1", 10, "Contact: *\r\nExpires: 0\r\n", T0, &why, NULL), 500);
	assert_int_equal(registrar_count_contacts(r), 1);
	/* higher: fine */
	assert_int_equal(reg(r, "c1", 11, "Contact: <sip:a@10.0.0.1>;expires=900\r\n", T0), 200);
	assert_int_equal(lookup(r, T0, c), 1);
	assert_int_equal(c[0].expires, T0 + 900);
	/* another Call-ID replaces the binding whatever its CSeq */
	assert_int_equal(reg(r, "c2", 1, "Contact: <sip:a@10.0.0.1>;expires=300\r\n", T0), 200);
	assert_int_equal(lookup(r, T0, c), 1);
	assert_string_equal(c[0].call_id, "c2");
	assert_int_equal(c[0].cseq, 1);
	/* and now the old Call-ID is just another one */
	assert_int_equal(reg(r, "c1", 2, "Contact: <sip:a@10.0.0.1>\r\n", T0), 200);
	/* one URI twice in one request: processed in order, the last wins */
	assert_int_equal(reg(r, "c1", 3, "Contact: <sip:a@10.0.0.1>;expires=100, <sip:a@10.0.0.1>;expires=200;q=0.3\r\n", T0), 200);
	assert_int_equal(lookup(r, T0, c), 1);
	assert_int_equal(c[0].expires, T0 + 200);
	assert_int_equal(c[0].q, 300);
	assert_int_equal(reg(r, "c1", 4, "Contact: <sip:a@10.0.0.1>;expires=0, <sip:a@10.0.0.1>\r\n", T0), 200);
	assert_int_equal(lookup(r, T0, c), 1);
	assert_int_equal(c[0].cseq, 4);
	/* "*" with a higher CSeq */
	assert_int_equal(reg(r, "c1", 5, "Contact: *\r\nExpires: 0\r\n", T0), 200);
	assert_int_equal(registrar_count_contacts(r), 0);
}

/* ---- limits ---- */

static void test_max_contacts(void **state)
{
	struct reg_limits lim = default_limits;
	struct registrar *r;
	struct reg_contact c[16];
	const char *why;

	(void)state;
	lim.max_contacts = 3;
	r = registrar_new(&lim);
	assert_non_null(r);
	/* four at once: refused, none added */
	assert_int_equal(reg_full(r, AOR, "c1", 1,
				  "Contact: <sip:a@10.0.0.1>, <sip:a@10.0.0.2>, <sip:a@10.0.0.3>, <sip:a@10.0.0.4>\r\n",
				  T0, &why, NULL), 403);
	assert_string_equal(why, "Too many contacts");
	assert_int_equal(registrar_count_aors(r), 0);
	assert_int_equal(reg(r, "c1", 2, "Contact: <sip:a@10.0.0.1>, <sip:a@10.0.0.2>, <sip:a@10.0.0.3>\r\n", T0), 200);
	assert_int_equal(reg_full(r, AOR, "c2", 1, "Contact: <sip:a@10.0.0.4>\r\n", T0, &why, NULL), 403);
	assert_int_equal(lookup(r, T0, c), 3);
	/* a refresh at the limit is fine, so is a swap in one request */
	assert_int_equal(reg(r, "c1", 3, "Contact: <sip:a@10.0.0.3>\r\n", T0), 200);
	assert_int_equal(reg(r, "c1", 4, "Contact: <sip:a@10.0.0.1>;expires=0, <sip:a@10.0.0.4>\r\n", T0), 200);
	assert_int_equal(lookup(r, T0, c), 3);
	/* add then remove in that order overflows first: refused */
	assert_int_equal(reg_full(r, AOR, "c1", 5, "Contact: <sip:a@10.0.0.5>, <sip:a@10.0.0.2>;expires=0\r\n", T0, &why, NULL), 403);
	/* expired contacts do not count */
	assert_int_equal(reg(r, "c1", 6, "Contact: <sip:a@10.0.0.2>;expires=60\r\n", T0), 200);
	assert_int_equal(reg(r, "c3", 1, "Contact: <sip:a@10.0.0.5>\r\n", T0 + 60), 200);
	assert_int_equal(registrar_count_contacts(r), 3);
	assert_int_equal(lookup(r, T0 + 60, c), 3);
	/* restore obeys the limit */
	memset(c, 0, sizeof(c[0]));
	snprintf(c[0].uri, sizeof(c[0].uri), "sip:a@10.0.0.9");
	c[0].expires = T0 + 600;
	assert_int_equal(registrar_restore(r, AOR, &c[0]), -ENOSPC);
	registrar_free(r);
}

static void test_max_aors(void **state)
{
	struct reg_limits lim = default_limits;
	struct registrar *r;
	struct reg_contact c;
	const char *why;

	(void)state;
	lim.max_aors = 2;
	r = registrar_new(&lim);
	assert_non_null(r);
	assert_int_equal(reg_full(r, "a@example.com", "c1", 1, "Contact: <sip:a@10.0.0.1>;expires=100\r\n", T0, NULL, NULL), 200);
	assert_int_equal(reg_full(r, "b@example.com", "c2", 1, "Contact: <sip:b@10.0.0.2>\r\n", T0, NULL, NULL), 200);
	/* full: 500 (the server's limit, not the user's fault) */
	assert_int_equal(reg_full(r, "c@example.com", "c3", 1, "Contact: <sip:c@10.0.0.3>\r\n", T0, &why, NULL), 500);
	assert_string_equal(why, "Server Internal Error (registrar full)");
	assert_int_equal(registrar_count_aors(r), 2);
	/* a query or a removal for an unknown AoR needs no room */
	assert_int_equal(reg_full(r, "c@example.com", "c3", 2, "", T0, NULL, NULL), 200);
	assert_int_equal(reg_full(r, "c@example.com", "c3", 3, "Contact: *\r\nExpires: 0\r\n", T0, NULL, NULL), 200);
	/* existing AoRs still register */
	assert_int_equal(reg_full(r, "b@example.com", "c2", 2, "Contact: <sip:b@10.0.0.4>\r\n", T0, NULL, NULL), 200);
	/* restore too is refused at the limit */
	memset(&c, 0, sizeof(c));
	snprintf(c.uri, sizeof(c.uri), "sip:c@10.0.0.3");
	c.expires = T0 + 100;
	assert_int_equal(registrar_restore(r, "c@example.com", &c), -ENOSPC);
	/* once a's contact has expired (not swept), the room is found */
	assert_int_equal(reg_full(r, "c@example.com", "c3", 4, "Contact: <sip:c@10.0.0.3>\r\n", T0 + 100, NULL, NULL), 200);
	assert_int_equal(registrar_count_aors(r), 2);
	assert_int_equal(registrar_lookup(r, "a@example.com", T0 + 100, &c, 1), 0);
	assert_int_equal(registrar_lookup(r, "c@example.com", T0 + 100, &c, 1), 1);
	registrar_free(r);
}

/* ---- restore and each ---- */

struct seen {
	unsigned n;
	char aor[8][REG_AOR_MAX];
	char uri[8][REG_URI_MAX];
};

static void each_cb(void *arg, const char *aor, const struct reg_contact *c)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	snprintf(s->aor[s->n], sizeof(s->aor[0]), "%s", aor);
	snprintf(s->uri[s->n], sizeof(s->uri[0]), "%s", c->uri);
	s->n++;
}

static bool seen_has(const struct seen *s, const char *aor, const char *uri)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->aor[i], aor) && !strcmp(s->uri[i], uri))
			return true;
	return false;
}

static void test_restore_and_each(void **state)
{
	struct registrar *r = *state;
	struct reg_contact c, out[4];
	struct seen s;
	const char *why;

	memset(&c, 0, sizeof(c));
	snprintf(c.uri, sizeof(c.uri), "sip:a@192.168.1.5:5062;transport=tcp");
	c.src = src_addr(6001);
	c.expires = T0 + 300;
	c.q = 800;
	snprintf(c.call_id, sizeof(c.call_id), "saved@x");
	c.cseq = 42;
	assert_int_equal(registrar_restore(r, AOR, &c), 0);
	snprintf(c.uri, sizeof(c.uri), "sips:a2@192.168.1.6");
	c.expires = T0 + 10;
	c.q = 500;
	assert_int_equal(registrar_restore(r, AOR, &c), 0);
	c.q = 800;
	snprintf(c.uri, sizeof(c.uri), "sip:b@192.168.1.7");
	c.expires = T0 + 600;
	assert_int_equal(registrar_restore(r, "bob@example.com", &c), 0);
	assert_int_equal(registrar_count_aors(r), 2);
	assert_int_equal(registrar_count_contacts(r), 3);

	memset(&s, 0, sizeof(s));
	registrar_each(r, T0, each_cb, &s);
	assert_int_equal(s.n, 3);
	assert_true(seen_has(&s, AOR, "sip:a@192.168.1.5:5062;transport=tcp"));
	assert_true(seen_has(&s, AOR, "sips:a2@192.168.1.6"));
	assert_true(seen_has(&s, "bob@example.com", "sip:b@192.168.1.7"));
	/* each skips the expired */
	memset(&s, 0, sizeof(s));
	registrar_each(r, T0 + 10, each_cb, &s);
	assert_int_equal(s.n, 2);
	assert_false(seen_has(&s, AOR, "sips:a2@192.168.1.6"));
	registrar_each(r, T0, NULL, &s); /* no callback: nothing */

	/* what was restored is what lookup gives */
	assert_int_equal(registrar_lookup(r, AOR, T0, out, 4), 2);
	assert_string_equal(out[0].uri, "sip:a@192.168.1.5:5062;transport=tcp");
	assert_int_equal(out[0].q, 800);
	assert_int_equal(out[0].cseq, 42);
	assert_int_equal(out[0].src.conn, 6001);
	assert_true(out[0].src.tcp);

	/* restoring the same binding again replaces it */
	snprintf(c.uri, sizeof(c.uri), "SIP:a@192.168.1.5:5062;transport=TCP");
	c.expires = T0 + 900;
	assert_int_equal(registrar_restore(r, AOR, &c), 0);
	assert_int_equal(registrar_count_contacts(r), 3);
	assert_int_equal(registrar_lookup(r, AOR, T0, out, 4), 2);
	assert_int_equal(out[0].expires, T0 + 900);

	/* the saved Call-ID/CSeq still guard it */
	assert_int_equal(reg_full(r, AOR, "saved@x", 42, "Contact: <sip:a@192.168.1.5:5062;transport=tcp>\r\n", T0, &why, NULL), 500);
	assert_int_equal(reg(r, "saved@x", 43, "Contact: <sip:a@192.168.1.5:5062;transport=tcp>\r\n", T0), 200);

	/* bad input */
	assert_int_equal(registrar_restore(r, AOR, NULL), -EINVAL);
	assert_int_equal(registrar_restore(NULL, AOR, &c), -EINVAL);
	assert_int_equal(registrar_restore(r, "", &c), -EINVAL);
	assert_int_equal(registrar_restore(r, NULL, &c), -EINVAL);
	snprintf(c.uri, sizeof(c.uri), "tel:+15551234");
	assert_int_equal(registrar_restore(r, AOR, &c), -EINVAL);
	snprintf(c.uri, sizeof(c.uri), "not a uri");
	assert_int_equal(registrar_restore(r, AOR, &c), -EINVAL);
	c.uri[0] = '\0';
	assert_int_equal(registrar_restore(r, AOR, &c), -EINVAL);
	snprintf(c.uri, sizeof(c.uri), "sip:ok@10.0.0.1");
	c.q = 1001;
	assert_int_equal(registrar_restore(r, AOR, &c), -EINVAL);
	c.q = 1000;
	memset(c.uri, 'a', sizeof(c.uri)); /* no NUL */
	assert_int_equal(registrar_restore(r, AOR, &c), -EINVAL);
	snprintf(c.uri, sizeof(c.uri), "sip:ok@10.0.0.1");
	memset(c.call_id, 'x', sizeof(c.call_id));
	assert_int_equal(registrar_restore(r, AOR, &c), -EINVAL);
	{
		char long_aor[REG_AOR_MAX + 1];

		memset(long_aor, 'a', REG_AOR_MAX);
		long_aor[REG_AOR_MAX] = '\0';
		snprintf(c.call_id, sizeof(c.call_id), "x");
		assert_int_equal(registrar_restore(r, long_aor, &c), -EINVAL);
		long_aor[REG_AOR_MAX - 1] = '\0'; /* REG_AOR_MAX - 1 characters: fits */
		assert_int_equal(registrar_restore(r, long_aor, &c), 0);
		assert_int_equal(registrar_lookup(r, long_aor, T0, out, 4), 1);
	}
	assert_int_equal(registrar_count_contacts(r), 4);
}

/* ---- bad requests ---- */

static void test_bad_contacts(void **state)
{
	struct registrar *r = *state;
	static const struct {
		const char *hdr, *reason;
	} cases[] = {
		{"Contact: <tel:+15551234>\r\n", "Bad Request (Contact URI scheme not sip or sips)"},
		{"Contact: <mailto:a@example.com>\r\n", "Bad Request (Contact URI scheme not sip or sips)"},
		{"Contact: <sip:ok@10.0.0.1>, <tel:+1>\r\n", "Bad Request (Contact URI scheme not sip or sips)"},
		{"Contact: <sip:a@10.0.0.1>;expires=abc\r\n", "Bad Request (bad Contact expires)"},
		{"Contact: <sip:a@10.0.0.1>;expires=-1\r\n", "Bad Request (bad Contact expires)"},
		{"Contact: <sip:a@10.0.0.1>;expires\r\n", "Bad Request (bad Contact expires)"},
		{"Contact: <sip:a@10.0.0.1>;expires=\"60\"\r\n", "Bad Request (bad Contact expires)"},
		{"Contact: <sip:a@10.0.0.1>;expires=1.5\r\n", "Bad Request (bad Contact expires)"},
		{"Contact: <sip:a@10.0.0.1>;expires=60;EXPIRES=70\r\n", "Bad Request (bad Contact)"},
		{"Contact: <sip:a@10.0.0.1>\r\nExpires: soon\r\n", "Bad Request (bad Expires)"},
		{"Contact: <sip:a@10.0.0.1>\r\nExpires: -5\r\n", "Bad Request (bad Expires)"},
		{"Contact: <sip:a@10.0.0.1>\r\nExpires: 60\r\nExpires: 60\r\n", "Bad Request (bad Expires)"},
		{"Expires: x\r\n", "Bad Request (bad Expires)"},
	};
	char *big;
	const char *why;
	unsigned i;
	size_t k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		osip_message_t *m = NULL;

		if (parse_reg("c1", 1, cases[i].hdr, &m) != 0) {
			/* the parser refused it first: fine too */
			osip_message_free(m);
			continue;
		}
		osip_message_free(m);
		assert_int_equal(reg_full(r, AOR, "c1", 1 + i, cases[i].hdr, T0, &why, NULL), 400);
		assert_string_equal(why, cases[i].reason);
	}
	assert_int_equal(registrar_count_aors(r), 0);

	/* a URI of REG_URI_MAX characters is refused, one less is taken */
	big = malloc(REG_URI_MAX + 64);
	assert_non_null(big);
	k = (size_t)snprintf(big, REG_URI_MAX + 64, "Contact: <sip:");
	memset(big + k, 'u', REG_URI_MAX - 4 - 11);  /* "sip:" + user + "@10.0.0.1" */
	k += REG_URI_MAX - 4 - 11;
	snprintf(big + k, REG_URI_MAX + 64 - k, "@10.0.0.1>\r\n");
	/* sip: (4) + user (REG_URI_MAX - 15) + @10.0.0.1 (9) = REG_URI_MAX - 2 */
	assert_int_equal(reg(r, "c1", 100, big, T0), 200);
	memmove(big + 14 + 1, big + 14, strlen(big + 14) + 1);
	big[14] = 'u';
	assert_int_equal(reg(r, "c1", 101, big, T0), 200); /* REG_URI_MAX - 1 */
	memmove(big + 14 + 1, big + 14, strlen(big + 14) + 1);
	big[14] = 'u';
	assert_int_equal(reg_full(r, AOR, "c1", 102, big, T0, &why, NULL), 400);
	assert_string_equal(why, "Bad Request (Contact URI too long)");
	free(big);
	assert_int_equal(registrar_count_contacts(r), 2);

	/* a good contact before a bad one is not kept */
	assert_int_equal(reg_full(r, AOR, "c1", 200, "Contact: <sip:z@10.0.0.1>, <sip:a@10.0.0.1>;q=x\r\n", T0, &why, NULL), 400);
	assert_int_equal(registrar_count_contacts(r), 2);

	/* an address-of-record too long or empty */
	{
		char long_aor[REG_AOR_MAX + 8];

		memset(long_aor, 'a', sizeof(long_aor) - 1);
		long_aor[sizeof(long_aor) - 1] = '\0';
		assert_int_equal(reg_full(r, long_aor, "c1", 300, "Contact: <sip:a@10.0.0.1>\r\n", T0, &why, NULL), 400);
		assert_string_equal(why, "Bad Request (bad address-of-record)");
		assert_int_equal(reg_full(r, "", "c1", 301, "Contact: <sip:a@10.0.0.1>\r\n", T0, &why, NULL), 400);
	}
	/* a Call-ID too long to store */
	{
		char cid[REG_CALLID_MAX + 8];

		memset(cid, 'c', sizeof(cid) - 1);
		cid[sizeof(cid) - 1] = '\0';
		assert_int_equal(reg_full(r, AOR, cid, 1, "Contact: <sip:a@10.0.0.1>\r\n", T0, &why, NULL), 400);
		assert_string_equal(why, "Bad Request (bad Call-ID)");
	}
	assert_int_equal(registrar_count_contacts(r), 2);
}

static void test_bad_arguments(void **state)
{
	struct reg_limits lim;
	struct registrar *r = *state;
	osip_message_t *req = make_reg("c1", 1, "Contact: <sip:a@10.0.0.1>\r\n");
	struct tp_addr src = src_addr(5000);
	struct reg_contact c;
	const char *why;

	assert_null(registrar_new(NULL));
	lim = default_limits;
	lim.max_contacts = 0;
	assert_null(registrar_new(&lim));
	lim = default_limits;
	lim.max_aors = 0;
	assert_null(registrar_new(&lim));
	lim = default_limits;
	lim.default_expires = 30; /* below the minimum */
	assert_null(registrar_new(&lim));
	lim = default_limits;
	lim.default_expires = 4000; /* above the maximum */
	assert_null(registrar_new(&lim));
	lim = default_limits;
	lim.min_expires = 4000;
	assert_null(registrar_new(&lim));
	lim = default_limits;
	lim.min_expires = 0; /* no minimum is fine */
	registrar_free(registrar_new(&lim));
	registrar_free(NULL);

	assert_int_equal(registrar_register(NULL, AOR, req, &src, T0, NULL, &why), 500);
	assert_int_equal(registrar_register(r, AOR, NULL, &src, T0, NULL, &why), 500);
	assert_int_equal(registrar_register(r, AOR, req, NULL, T0, NULL, &why), 500);
	assert_int_equal(registrar_register(r, NULL, req, &src, T0, NULL, &why), 400);
	assert_int_equal(registrar_lookup(NULL, AOR, T0, &c, 1), 0);
	assert_int_equal(registrar_lookup(r, NULL, T0, &c, 1), 0);
	assert_int_equal(registrar_lookup(r, AOR, T0, NULL, 1), 0);
	assert_int_equal(registrar_expire(NULL, T0), 0);
	registrar_each(NULL, T0, each_cb, NULL);
	assert_int_equal(registrar_count_aors(NULL), 0);
	assert_int_equal(registrar_count_contacts(NULL), 0);
	osip_message_free(req);
}

/* ---- hostile input ---- */

/* Hand-written Contact headers no sane phone sends: whatever the parser
 * lets through, the registrar answers one of its statuses. */
static void test_hostile_contacts(void **state)
{
	struct registrar *r = *state;
	static const char *const hdrs[] = {
		"Contact: \r\n",
		"Contact: <>\r\n",
		"Contact: <sip:>\r\n",
		"Contact: <sip:@>\r\n",
		"Contact: sip:a@b;;;\r\n",
		"Contact: <sip:a@b>;=;=\r\n",
		"Contact: <sip:a@b>;expires=;q=\r\n",
		"Contact: <sip:a@b>;expires=99999999999999999999999999999999999999\r\n",
		"Contact: <sip:a@b>;q=0.5;;expires=60\r\n",
		"Contact: <sip:a@b>;x=\"a;b=c\";expires=60\r\n",
		"Contact: <sip:a@b?Expires=0>\r\n",
		"Contact: <sip:a@[::1]:5060>;expires=60\r\n",
		"Contact: <sip:a@[::1>;expires=60\r\n",
		"Contact: \"\" <sip:a@b>\r\n",
		"Contact: \"*\" <sip:a@b>\r\n",
		"Contact: * <sip:a@b>\r\n",
		"Contact: ,,,,\r\n",
		"Contact: <sip:a@b>,\r\n",
		"Contact: *,*\r\nExpires: 0\r\n",
		"Contact: <sip:a@b:99999>\r\n",
		"Contact: <sip:a@b:0>\r\n",
		"Contact: <sips:%00@b>\r\n",
		"Contact: <sip:a%@b>\r\n",
		"Contact: <sip:a@b;transport>\r\n",
		"Contact: <sip:a@b;maddr=10.0.0.1;ttl=1;method=INVITE;user=phone>;q=1.\r\n",
		"Contact: <urn:uuid:00000000-0000-1000-8000-000000000000>\r\n",
		"Contact: <sip:a@b>;+sip.instance=\"<urn:uuid:1>\";reg-id=1\r\n",
		"Contact: <sip:a@b>;expires=0060\r\n",
		"Contact: <SIPS:A@B>;EXPIRES=60;Q=0.5\r\n",
	};
	osip_message_t *m, *resp;
	struct tp_addr src = src_addr(5000);
	struct reg_contact c[16];
	const char *why;
	unsigned i, j;
	int status;

	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		m = NULL;
		resp = NULL;
		parse_reg("h1", 1 + i, hdrs[i], &m);
		if (!m)
			continue;
		assert_int_equal(sip_msg_build_response(m, 200, NULL, "t", &resp), 0);
		status = registrar_register(r, AOR, m, &src, T0, resp, &why);
		assert_true(status == 200 || status == 400 || status == 403 || status == 423 ||
			    status == 500);
		if (status == 200) {
			struct sip_err err;
			osip_message_t *back = NULL;
			char *bytes = NULL;
			size_t len = 0;

			assert_int_equal(sip_msg_to_bytes(resp, &bytes, &len), 0);
			if (sip_msg_parse(bytes, len, 0, &back, &err) != 0)
				fail_msg("200 does not parse back (%s): %.*s", err.reason, (int)len, bytes);
			osip_message_free(back);
			sip_msg_bytes_free(bytes);
		}
		assert_true(status == 200 ? why == NULL : why != NULL);
		osip_message_free(resp);
		osip_message_free(m);
	}
	assert_true(lookup(r, T0, c) <= default_limits.max_contacts);

	/* a huge list: 2000 contacts in one request (under 64 KiB), refused
	 * with 403 without harm; all expires=0 is a no-op */
	{
		size_t cap = 64000, k = 0;
		char *buf = malloc(cap);

		assert_non_null(buf);
		k += (size_t)snprintf(buf + k, cap - k, "Contact: ");
		for (j = 0; j < 2000; j++)
			k += (size_t)snprintf(buf + k, cap - k, "%s<sip:%u@h>", j ? "," : "", j);
		k += (size_t)snprintf(buf + k, cap - k, "\r\n");
		assert_true(k < cap);
		assert_int_equal(reg_full(r, AOR, "h2", 1, buf, T0, &why, NULL), 403);
		k = 0;
		k += (size_t)snprintf(buf + k, cap - k, "Contact: ");
		for (j = 0; j < 1500; j++)
			k += (size_t)snprintf(buf + k, cap - k, "%s<sip:%u@h>;expires=0", j ? "," : "", j);
		k += (size_t)snprintf(buf + k, cap - k, "\r\n");
		assert_true(k < cap);
		assert_int_equal(reg(r, "h2", 2, buf, T0), 200);
		free(buf);
	}
}

/* Structures libosip2's parser would never make: the registrar must not
 * trust it did. */
static void test_hostile_structures(void **state)
{
	struct registrar *r = *state;
	struct tp_addr src = src_addr(5000);
	osip_message_t *m;
	osip_contact_t *ct;
	const char *why;

	/* a Contact with neither URI nor display name */
	m = make_reg("s1", 1, "Contact: <sip:a@10.0.0.1>\r\n");
	ct = osip_list_get(&m->contacts, 0);
	osip_uri_free(ct->url);
	ct->url = NULL;
	assert_int_equal(registrar_register(r, AOR, m, &src, T0, NULL, &why), 400);
	/* "*" with a parameter */
	osip_free(ct->displayname);
	ct->displayname = osip_strdup("*");
	osip_generic_param_add(&ct->gen_params, osip_strdup("expires"), osip_strdup("0"));
	osip_message_set_header(m, "Expires", "0");
	assert_int_equal(registrar_register(r, AOR, m, &src, T0, NULL, &why), 400);
	osip_message_free(m);

	/* URI without host, without scheme; a parameter without a name */
	m = make_reg("s1", 2, "Contact: <sip:a@10.0.0.1>\r\n");
	ct = osip_list_get(&m->contacts, 0);
	osip_free(ct->url->host);
	ct->url->host = NULL;
	assert_int_equal(registrar_register(r, AOR, m, &src, T0, NULL, &why), 400);
	ct->url->host = osip_strdup("10.0.0.1");
	osip_free(ct->url->scheme);
	ct->url->scheme = NULL;
	assert_int_equal(registrar_register(r, AOR, m, &src, T0, NULL, &why), 400);
	ct->url->scheme = osip_strdup("sip");
	osip_generic_param_add(&ct->gen_params, NULL, osip_strdup("x"));
	osip_generic_param_add(&ct->gen_params, osip_strdup("q"), NULL);
	assert_int_equal(registrar_register(r, AOR, m, &src, T0, NULL, &why), 400);
	assert_string_equal(why, "Bad Request (bad q-value)");
	osip_message_free(m);

	/* no Call-ID, no CSeq, a CSeq that is not a number */
	m = make_reg("s1", 3, "Contact: <sip:a@10.0.0.1>\r\n");
	osip_call_id_free(m->call_id);
	m->call_id = NULL;
	assert_int_equal(registrar_register(r, AOR, m, &src, T0, NULL, &why), 400);
	assert_string_equal(why, "Bad Request (bad Call-ID)");
	osip_message_free(m);
	m = make_reg("s1", 4, "Contact: <sip:a@10.0.0.1>\r\n");
	osip_free(m->cseq->number);
	m->cseq->number = osip_strdup("4x");
	assert_int_equal(registrar_register(r, AOR, m, &src, T0, NULL, &why), 400);
	osip_free(m->cseq->number);
	m->cseq->number = NULL;
	assert_int_equal(registrar_register(r, AOR, m, &src, T0, NULL, &why), 400);
	osip_cseq_free(m->cseq);
	m->cseq = NULL;
	assert_int_equal(registrar_register(r, AOR, m, &src, T0, NULL, &why), 400);
	assert_string_equal(why, "Bad Request (bad CSeq)");
	osip_message_free(m);
	/* an Expires header without a value */
	m = make_reg("s1", 5, "Contact: <sip:a@10.0.0.1>\r\nExpires: 60\r\n");
	{
		osip_header_t *h = NULL;

		assert_true(osip_message_header_get_byname(m, "expires", 0, &h) >= 0);
		osip_free(h->hvalue);
		h->hvalue = NULL;
	}
	assert_int_equal(registrar_register(r, AOR, m, &src, T0, NULL, &why), 400);
	osip_message_free(m);
	assert_int_equal(registrar_count_aors(r), 0);
}

/* Random edits of Contact and Expires headers (fixed seed): every answer is
 * one of the registrar's statuses, every 200 serialises and parses back,
 * the limits always hold and lookup agrees with each. */
static const char *const pieces[] = {
	"<", ">", "sip:", "sips:", "tel:", "a", "@", "10.0.0.1", "[::1]", ":5060", ":0",
	";", "=", "expires", "q", "0", "1", "0.5", "60", "30", "99999999999", ",", "*",
	"\"", " ", "%", "%41", "?", "&", "transport=tcp", "lr", "maddr=x", "Q", "EXPIRES",
	"1.000", "0.1234", "-1", "x",
};

static unsigned rng_state = 12345u;

static unsigned rnd(unsigned n)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return (rng_state >> 16) % n;
}

static void count_cb(void *arg, const char *aor, const struct reg_contact *c)
{
	(void)aor;
	(void)c;
	(*(unsigned *)arg)++;
}

static void test_mutations(void **state)
{
	struct registrar *r = *state;
	static const char *const aors[] = {"a@x", "b@x", "c@x", "d@x"};
	char hdr[2048], uri[64];
	struct tp_addr src = src_addr(5000);
	struct reg_contact c[16];
	unsigned iter, parts, j, total, each, statuses[6] = {0};
	int64_t now = T0;
	size_t k;

	alarm(120);
	for (iter = 0; iter < 6000; iter++) {
		osip_message_t *m = NULL, *resp = NULL;
		const char *why = "unset", *aor = aors[rnd(4)];
		int status;

		k = 0;
		if (rnd(4)) {
			/* mostly plausible contacts with noise */
			k += (size_t)snprintf(hdr + k, sizeof(hdr) - k, "Contact: ");
			parts = 1 + rnd(4);
			for (j = 0; j < parts; j++) {
				snprintf(uri, sizeof(uri), "sip:u%u@10.0.0.%u", rnd(6), rnd(3));
				k += (size_t)snprintf(hdr + k, sizeof(hdr) - k, "%s<%s>", j ? ", " : "", uri);
				if (rnd(2))
					k += (size_t)snprintf(hdr + k, sizeof(hdr) - k, ";expires=%s",
							      pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))]);
				if (rnd(3) == 0)
					k += (size_t)snprintf(hdr + k, sizeof(hdr) - k, ";q=%s",
							      pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))]);
				while (rnd(4) == 0 && k < sizeof(hdr) - 64)
					k += (size_t)snprintf(hdr + k, sizeof(hdr) - k, "%s",
							      pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))]);
			}
			k += (size_t)snprintf(hdr + k, sizeof(hdr) - k, "\r\n");
		} else if (rnd(2)) {
			/* pure noise */
			k += (size_t)snprintf(hdr + k, sizeof(hdr) - k, "Contact: ");
			parts = rnd(30);
			for (j = 0; j < parts; j++)
				k += (size_t)snprintf(hdr + k, sizeof(hdr) - k, "%s",
						      pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))]);
			k += (size_t)snprintf(hdr + k, sizeof(hdr) - k, "\r\n");
		}
		if (rnd(3) == 0)
			k += (size_t)snprintf(hdr + k, sizeof(hdr) - k, "Expires: %s\r\n",
					      pieces[rnd(sizeof(pieces) / sizeof(pieces[0]))]);
		hdr[k] = '\0';
		parse_reg(rnd(2) ? "m1" : "m2", 1 + rnd(50), hdr, &m);
		if (!m)
			continue;
		assert_int_equal(sip_msg_build_response(m, 200, NULL, "t", &resp), 0);
		status = registrar_register(r, aor, m, &src, now, resp, &why);
		switch (status) {
		case 200: statuses[0]++; break;
		case 400: statuses[1]++; break;
		case 403: statuses[2]++; break;
		case 423: statuses[3]++; break;
		case 500: statuses[4]++; break;
		default: fail_msg("status %d for %s", status, hdr);
		}
		if (status == 200) {
			struct sip_err err;
			osip_message_t *back = NULL;
			char *bytes = NULL;
			size_t len = 0;

			assert_null(why);
			assert_int_equal(sip_msg_to_bytes(resp, &bytes, &len), 0);
			if (sip_msg_parse(bytes, len, 0, &back, &err) != 0)
				fail_msg("200 does not parse back (%s): %.*s", err.reason, (int)len, bytes);
			assert_int_equal(osip_list_size(&back->contacts),
					 (int)registrar_lookup(r, aor, now, c, 16));
			osip_message_free(back);
			sip_msg_bytes_free(bytes);
		} else {
			assert_non_null(why);
		}
		osip_message_free(resp);
		osip_message_free(m);

		total = 0;
		for (j = 0; j < 4; j++) {
			unsigned n = registrar_lookup(r, aors[j], now, c, 16);

			assert_true(n <= default_limits.max_contacts);
			for (k = 1; k < n; k++)
				assert_true(c[k - 1].q >= c[k].q);
			for (k = 0; k < n; k++)
				assert_true(c[k].expires > now && c[k].expires <= now + 3600);
			total += n;
		}
		each = 0;
		registrar_each(r, now, count_cb, &each);
		assert_int_equal(each, total);
		assert_true(registrar_count_contacts(r) >= total);
		assert_true(registrar_count_aors(r) <= 4);
		now += rnd(40);
		if (rnd(50) == 0)
			registrar_expire(r, now);
	}
	alarm(0);
	registrar_expire(r, now + 4000);
	assert_int_equal(registrar_count_aors(r), 0);
	assert_int_equal(registrar_count_contacts(r), 0);
	/* the run must reach each outcome, not only the parser's refusals */
	assert_true(statuses[0] > 100 && statuses[1] > 100 && statuses[3] > 10 && statuses[4] > 10);
	print_message("mutation: 200 %u, 400 %u, 403 %u, 423 %u, 500 %u\n", statuses[0],
		      statuses[1], statuses[2], statuses[3], statuses[4]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_register_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_several_in_one_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_by_expires_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_all_star, setup, teardown),
		cmocka_unit_test_setup_teardown(test_star_misuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interval_too_brief, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clamp_to_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_over_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_q_ordering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_q_parsing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cseq_order, setup, teardown),
		cmocka_unit_test(test_max_contacts),
		cmocka_unit_test(test_max_aors),
		cmocka_unit_test_setup_teardown(test_restore_and_each, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_contacts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_contacts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_structures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
	};

	if (sip_msg_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
