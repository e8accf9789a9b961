/* Unit tests for sip_msg.c, the libosip2 adapter.
 *
 * Fixtures in tests/sip/ are exact bytes (CRLF line ends, a NUL inside the
 * ISUP part of v-multipart-mixed.sip), written in the spirit of the RFC 4475
 * torture tests: v-*.sip must parse, x-*.sip must be refused with the status
 * listed below. Every fixture is read into a buffer of exactly its size, so
 * the sanitizer build sees any read past the end.
 *
 * Covered: the status and reason of every refusal, which refusals leave a
 * message to answer, round trips (parse, serialise, parse again: same
 * bytes, same meaning), each helper against the RFC text it implements,
 * and a bounded random-mutation run over all fixtures (fixed seed, a few
 * thousand mutants, SIGALRM as the hang guard). Further RFC 4475 classes
 * and the URI grammar and round-trip refusals are inline messages
 * (test_rfc4475_valid, test_rfc4475_refused, test_fuzz_short_host).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "../sip/sip_msg.h"


/* ---- helpers ---- */

static char fixture_dir[512];

/* SIP_FIXTURE_DIR from the build, else tests/sip beside this file. */
static void find_fixture_dir(void)
{
#ifdef SIP_FIXTURE_DIR
	snprintf(fixture_dir, sizeof(fixture_dir), "%s", SIP_FIXTURE_DIR);
#else
	const char *f = __FILE__, *slash = strrchr(f, '/');

	if (slash)
		snprintf(fixture_dir, sizeof(fixture_dir), "%.*s/sip", (int)(slash - f), f);
	else
		snprintf(fixture_dir, sizeof(fixture_dir), "sip");
#endif
}

/* Read tests/sip/<name>.sip into a buffer of exactly its size. */
static char *load(const char *name, size_t *len)
{
	char path[1024];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s.sip", fixture_dir, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open fixture %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static osip_message_t *parse_buf(const char *buf, size_t len)
{
	struct sip_err err;
	osip_message_t *m = NULL;
	int rc = sip_msg_parse(buf, len, 0, &m, &err);

	if (rc != 0)
		fail_msg("parse failed: %d %d %s", rc, err.status, err.reason ? err.reason : "");
	assert_non_null(m);
	return m;
}

static osip_message_t *parse_fixture(const char *name)
{
	size_t len;
	char *buf = load(name, &len);
	osip_message_t *m = parse_buf(buf, len);

	free(buf);
	return m;
}

static osip_message_t *parse_str(const char *s)
{
	size_t len = strlen(s);
	char *buf = malloc(len);
	osip_message_t *m;

	assert_non_null(buf);
	memcpy(buf, s, len);
	m = parse_buf(buf, len);
	free(buf);
	return m;
}

/* Serialise into a NUL-terminated malloc'd copy. */
static char *bytes_of(osip_message_t *m, size_t *len)
{
	char *b = NULL, *copy;
	size_t n = 0;

	assert_int_equal(sip_msg_to_bytes(m, &b, &n), 0);
	assert_non_null(b);
	copy = malloc(n + 1);
	assert_non_null(copy);
	memcpy(copy, b, n);
	copy[n] = '\0';
	sip_msg_bytes_free(b);
	if (len)
		*len = n;
	return copy;
}

static const char *via_param(const osip_message_t *m, int pos, const char *name)
{
	osip_via_t *v = osip_list_get(&m->vias, pos);
	osip_generic_param_t *p = NULL;

	assert_non_null(v);
	osip_via_param_get_byname(v, (char *)name, &p);
	return p ? (p->gvalue ? p->gvalue : "") : NULL;
}

static const char *tag(const osip_from_t *h)
{
	osip_generic_param_t *p = NULL;

	if (!h)
		return NULL;
	osip_from_get_tag((osip_from_t *)h, &p);
	return p ? p->gvalue : NULL;
}

static char *uri_str(const osip_uri_t *u)
{
	char *s = NULL, *copy;

	assert_int_equal(osip_uri_to_str(u, &s), 0);
	copy = strdup(s);
	osip_free(s);
	return copy;
}

static const char *header(const osip_message_t *m, const char *name)
{
	osip_header_t *h = NULL;

	if (osip_message_header_get_byname(m, name, 0, &h) < 0 || !h)
		return NULL;
	return h->hvalue ? h->hvalue : "";
}

/* Body length a serialised message declares, and the one it has. */
static void assert_content_length(const char *b, size_t n)
{
	const char *cl = strcasestr(b, "\r\nContent-Length:");
	const char *end = strstr(b, "\r\n\r\n");

	assert_non_null(cl);
	assert_non_null(end);
	assert_int_equal(strtoul(cl + 17, NULL, 10), n - (size_t)(end + 4 - b));
}

static const char SDP[] = "v=0\r\n"
			  "o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
			  "s=-\r\n"
			  "c=IN IP4 192.0.2.10\r\n"
			  "t=0 0\r\n"
			  "m=audio 49170 RTP/AVP 0 8\r\n"
			  "a=rtpmap:0 PCMU/8000\r\n";

static const char *const valid_fixtures[] = {
	"v-invite-sdp", "v-escaped-uri", "v-whitespace", "v-long-values",
	"v-unknown-headers", "v-unknown-method", "v-multipart-mixed",
	"v-multipart-alternative", "v-compact", "v-response-200", "v-register",
	"v-options-mf0", "v-lf-only", "v-leading-crlf", "v-trailing-octets",
	"v-ipv6", "v-empty-reason", "v-percent-not-escape",
};

static const struct {
	const char *name;
	int status;
	const char *reason; /* a substring of err.reason */
	bool answerable;    /* a message comes back to answer with */
	bool response;
} invalid_fixtures[] = {
	{"x-missing-callid", 400, "missing Call-ID", false, false},
	{"x-missing-cseq", 400, "missing CSeq", false, false},
	{"x-missing-to", 400, "missing To", false, false},
	{"x-missing-from", 400, "missing From", false, false},
	{"x-cseq-mismatch", 400, "CSeq method mismatch", true, false},
	{"x-cseq-huge", 400, "bad CSeq", true, false},
	{"x-cseq-negative", 400, "bad CSeq", true, false},
	{"x-cl-negative", 400, "bad Content-Length", true, false},
	{"x-cl-huge", 400, "bad Content-Length", true, false},
	{"x-cl-larger", 400, "Content-Length larger than body", true, false},
	{"x-cl-not-number", 400, "bad Content-Length", true, false},
	{"x-dup-to", 400, "duplicate To", false, false},
	{"x-dup-cl", 400, "duplicate Content-Length", true, false},
	{"x-dup-callid", 400, "duplicate Call-ID", false, false},
	{"x-maxfwd-abc", 400, "bad Max-Forwards", true, false},
	{"x-maxfwd-256", 400, "bad Max-Forwards", true, false},
	{"x-no-via", 400, "missing Via", false, false},
	{"x-via-no-branch", 400, "Via without branch", true, false},
	{"x-via-bad-port", 400, "bad Via", true, false},
	{"x-callid-space", 400, "bad Call-ID", true, false},
	{"x-tel-uri", 416, "Unsupported URI Scheme", true, false},
	{"x-http-uri", 416, "Unsupported URI Scheme", true, false},
	{"x-version", 505, "Version Not Supported", true, false},
	{"x-ltgt-uri", 400, "bad Request-URI", true, false},
	{"x-spaces-request-line", 400, "bad request line", true, false},
	{"x-escaped-nul", 400, "bad escape in URI", true, false},
	{"x-body-no-ctype", 400, "body without Content-Type", true, false},
	{"x-bad-header-name", 400, "bad header name", true, false},
	{"x-multipart-no-boundary", 400, "bad multipart body", true, false},
	{"x-multipart-dup-ctype", 400, "bad multipart body", true, false},
	{"x-escaped-nul-to", 400, "bad URI", true, false},
	{"x-mismatch-unknown", 400, "CSeq method mismatch", true, false},
	{"x-bigcode", 400, "status code out of range", false, true},
	{"x-trailing-space", 400, "bad request line", true, false},
	{"x-lws-in-uri", 400, "bad request line", true, false},
	{"x-unterminated-quote", 400, "bad To", false, false},
	{"x-space-in-to-uri", 400, "bad URI", true, false},
	{"x-status-99", 400, "status code out of range", false, true},
	{"x-status-700", 400, "status code out of range", false, true},
	{"x-response-no-via", 400, "missing Via", false, true},
	{"x-no-blank-line", 400, "truncated header", true, false},
	{"x-bare-cr", 400, "bare CR", true, false},
};

#define N_VALID (sizeof(valid_fixtures) / sizeof(valid_fixtures[0]))
#define N_INVALID (sizeof(invalid_fixtures) / sizeof(invalid_fixtures[0]))

static int setup(void **state)
{
	(void)state;
	find_fixture_dir();
	return sip_msg_init();
}

/* ---- parsing: valid input ---- */

static void test_valid_fixtures_parse(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N_VALID; i++) {
		osip_message_t *m = parse_fixture(valid_fixtures[i]);

		assert_true(osip_list_size(&m->vias) > 0);
		assert_non_null(m->call_id);
		assert_non_null(m->cseq);
		osip_message_free(m);
	}
}

static void test_invite_sdp(void **state)
{
	osip_message_t *m = parse_fixture("v-invite-sdp");
	const char *sdp;
	size_t len;

	(void)state;
	assert_string_equal(m->sip_method, "INVITE");
	assert_string_equal(m->req_uri->scheme, "sip");
	assert_string_equal(m->req_uri->username, "bob");
	assert_string_equal(m->req_uri->host, "example.net");
	assert_string_equal(tag(m->from), "1928301774");
	assert_null(tag(m->to));
	assert_string_equal(m->cseq->number, "314159");
	assert_int_equal(sip_msg_max_forwards(m), 70);
	assert_string_equal(via_param(m, 0, "branch"), "z9hG4bKa1b2c3");
	assert_string_equal(via_param(m, 0, "rport"), "");
	assert_int_equal(sip_msg_get_sdp_body(m, &sdp, &len), 0);
	assert_int_equal(len, strlen(SDP));
	assert_memory_equal(sdp, SDP, len);
	osip_message_free(m);
}

static void test_whitespace_and_folding(void **state)
{
	osip_message_t *m = parse_fixture("v-whitespace");
	osip_via_t *v;
	const char *sdp;
	size_t len;

	(void)state;
	/* three Vias: one folded over three lines, two in one folded header */
	assert_int_equal(osip_list_size(&m->vias), 3);
	v = osip_list_get(&m->vias, 0);
	assert_string_equal(v->protocol, "UDP");
	assert_string_equal(v->host, "192.0.2.2");
	assert_string_equal(via_param(m, 0, "branch"), "z9hG4bK390skdjuw");
	v = osip_list_get(&m->vias, 1);
	assert_string_equal(v->protocol, "TCP");
	assert_string_equal(v->host, "spindle.example.com");
	assert_string_equal(via_param(m, 1, "branch"), "z9hG4bK9ikj8");
	assert_string_equal(via_param(m, 2, "branch"), "z9hG4bK30239");
	assert_string_equal(tag(m->to), "1918181833n");
	assert_string_equal(tag(m->from), "98asjd8");
	assert_string_equal(m->to->url->username, "vivekg");
	assert_int_equal(sip_msg_max_forwards(m), 68); /* "0068" */
	assert_string_equal(m->cseq->method, "INVITE");
	assert_int_equal(osip_list_size(&m->routes), 1);
	assert_string_equal(header(m, "newfangledheader"),
			    "newfangled value continued newfangled value");
	assert_int_equal(osip_list_size(&m->contacts), 1);
	assert_int_equal(sip_msg_get_sdp_body(m, &sdp, &len), 0);
	assert_memory_equal(sdp, SDP, len);
	osip_message_free(m);
}

static void test_escaped_uri(void **state)
{
	osip_message_t *m = parse_fixture("v-escaped-uri");

	(void)state;
	/* libosip2 unescapes the user part: %3A and %40 are ':' and '@' */
	assert_string_equal(m->req_uri->username, "sips:user@example.com");
	assert_string_equal(m->req_uri->host, "example.net");
	assert_string_equal(m->to->url->username, "alice");
	assert_string_equal(m->from->url->username, "I have spaces");
	assert_string_equal(m->call_id->number, "esc01.239409asdfakjkn23onasd0-3234");
	assert_int_equal(sip_msg_max_forwards(m), 87);
	osip_message_free(m);
}

static void test_percent_not_escape(void **state)
{
	osip_message_t *m = parse_fixture("v-percent-not-escape");
	char *b;

	(void)state;
	/* outside URIs a '%' is just a character: nothing is decoded */
	assert_string_equal(m->sip_method, "SUB%53CRIBE");
	assert_string_equal(m->cseq->method, "SUB%53CRIBE");
	assert_string_equal(m->from->displayname, "\"%Q%41\"");
	assert_string_equal(via_param(m, 0, "branch"), "z9hG4bK77%gq12");
	assert_string_equal(header(m, "x%41-header"), "50% off");
	b = bytes_of(m, NULL);
	assert_true(strncmp(b, "SUB%53CRIBE sip:presence@example.com SIP/2.0\r\n", 46) == 0);
	free(b);
	osip_message_free(m);
}

static void test_long_values(void **state)
{
	osip_message_t *m = parse_fixture("v-long-values");
	const char *h;

	(void)state;
	assert_int_equal(osip_list_size(&m->vias), 30);
	assert_int_equal(strlen(tag(m->from)), 800);
	assert_int_equal(strlen(m->call_id->number), strlen("longreq.") + 900);
	h = header(m, "x-long-header");
	assert_non_null(h);
	assert_int_equal(strlen(h), 4000);
	/* 300 folded lines joined with single spaces */
	h = header(m, "x-long-folded");
	assert_non_null(h);
	assert_true(strncmp(h, "part0 part1 part2 ", 18) == 0);
	assert_non_null(strstr(h, "part298 part299"));
	osip_message_free(m);
}

static void test_unknown_headers_and_method(void **state)
{
	osip_message_t *m = parse_fixture("v-unknown-headers");
	const char *sdp;
	size_t len;

	(void)state;
	assert_string_equal(header(m, "p-odd.name_~!'+%"),
			    "value; with, commas and \"quotes, here\"");
	assert_string_equal(header(m, "x-unicode"), "caf\xc3\xa9 \xe2\x98\x83");
	assert_string_equal(header(m, "unknown-folded"), "first second after a tab");
	assert_non_null(header(m, "x-empty"));
	assert_int_equal(sip_msg_max_forwards(m), -ENOENT);
	osip_message_free(m);

	/* RFC 3261 §16: a proxy forwards methods it does not know */
	m = parse_fixture("v-unknown-method");
	assert_string_equal(m->sip_method, "NEWMETHOD");
	assert_string_equal(m->cseq->method, "NEWMETHOD");
	assert_int_equal(sip_msg_get_sdp_body(m, &sdp, &len), -ENOENT);
	osip_message_free(m);
}

static void test_compact_forms(void **state)
{
	osip_message_t *m = parse_fixture("v-compact");
	const char *sdp;
	size_t len;

	(void)state;
	assert_int_equal(osip_list_size(&m->vias), 2);
	assert_string_equal(m->call_id->number, "compact");
	assert_string_equal(m->call_id->host, "192.0.2.10");
	assert_string_equal(tag(m->from), "cmp");
	assert_string_equal(m->to->url->username, "bob");
	assert_int_equal(osip_list_size(&m->contacts), 1);
	assert_non_null(m->content_type);
	assert_string_equal(m->content_type->subtype, "sdp");
	assert_string_equal(m->content_length->value, "136");
	assert_int_equal(sip_msg_get_sdp_body(m, &sdp, &len), 0);
	assert_int_equal(len, 136);
	assert_string_equal(header(m, "k"), "100rel");
	assert_string_equal(header(m, "s"), "compact forms");
	osip_message_free(m);
}

static void test_multipart_parse(void **state)
{
	static const uint8_t isup[] = {0x01, 0x00, 0x49, 0x00, 0x00, 0x03, 0x02, 0x00, 0x07, 0x04,
				       0x10, 0x00, 0x33, 0x63, 0x21, 0x43, 0x00, 0x00, 0x03};
	osip_message_t *m = parse_fixture("v-multipart-mixed");
	osip_body_t *b;
	const char *sdp;
	size_t len;

	(void)state;
	assert_int_equal(osip_list_size(&m->bodies), 2);
	assert_int_equal(sip_msg_get_sdp_body(m, &sdp, &len), 0);
	assert_int_equal(len, strlen(SDP));
	assert_memory_equal(sdp, SDP, len);
	/* the binary ISUP part, NUL bytes and all */
	b = osip_list_get(&m->bodies, 1);
	assert_int_equal(b->length, sizeof(isup));
	assert_memory_equal(b->body, isup, sizeof(isup));
	assert_string_equal(b->content_type->subtype, "isup");
	osip_message_free(m);

	m = parse_fixture("v-multipart-alternative");
	assert_int_equal(osip_list_size(&m->bodies), 2);
	assert_int_equal(sip_msg_get_sdp_body(m, &sdp, &len), 0);
	assert_memory_equal(sdp, SDP, len);
	osip_message_free(m);
}

static void test_unusual_framing(void **state)
{
	osip_message_t *m;
	const char *sdp;
	size_t len;

	(void)state;
	/* RFC 3261 §7.5: CRLFs before the start line */
	m = parse_fixture("v-leading-crlf");
	assert_string_equal(m->sip_method, "OPTIONS");
	osip_message_free(m);

	/* RFC 3261 §18.3, RFC 4475 §3.1.1.8: octets past Content-Length go */
	m = parse_fixture("v-trailing-octets");
	assert_int_equal(sip_msg_get_sdp_body(m, &sdp, &len), 0);
	assert_int_equal(len, strlen(SDP));
	assert_memory_equal(sdp, SDP, len);
	osip_message_free(m);

	/* LF-only line ends are accepted; the body is kept as it was */
	m = parse_fixture("v-lf-only");
	assert_int_equal(sip_msg_get_sdp_body(m, &sdp, &len), 0);
	assert_int_equal(len, 129);
	assert_true(memchr(sdp, '\r', len) == NULL);
	osip_message_free(m);

	/* RFC 4475 §3.1.1.13: empty reason phrase */
	m = parse_fixture("v-empty-reason");
	assert_int_equal(m->status_code, 100);
	assert_string_equal(m->reason_phrase, "");
	osip_message_free(m);

	m = parse_fixture("v-ipv6");
	assert_string_equal(m->req_uri->host, "2001:db8::10");
	assert_string_equal(((osip_via_t *)osip_list_get(&m->vias, 0))->host, "2001:db8::20");
	osip_message_free(m);

	/* Max-Forwards 0 parses: answering 483 (§16.3 step 3) is the caller's */
	m = parse_fixture("v-options-mf0");
	assert_int_equal(sip_msg_max_forwards(m), 0);
	osip_message_free(m);

	/* a status line without the space before an empty reason */
	m = parse_str("SIP/2.0 180\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		      "To: <sip:b@x>;tag=2\r\nFrom: <sip:a@x>;tag=1\r\nCall-ID: c\r\n"
		      "CSeq: 1 INVITE\r\n\r\n");
	assert_int_equal(m->status_code, 180);
	assert_string_equal(m->reason_phrase, ""); /* not the next line */
	osip_message_free(m);
}

/* ---- parsing: refusals ---- */

static void test_invalid_fixtures(void **state)
{
	size_t i, len;
	unsigned bad = 0;

	(void)state;
	for (i = 0; i < N_INVALID; i++) {
		struct sip_err err;
		osip_message_t *m = (osip_message_t *)1;
		char *buf = load(invalid_fixtures[i].name, &len);
		int rc = sip_msg_parse(buf, len, 0, &m, &err);

		if (rc != -EBADMSG || err.status != invalid_fixtures[i].status ||
		    !err.reason || !strstr(err.reason, invalid_fixtures[i].reason) ||
		    (m != NULL) != invalid_fixtures[i].answerable ||
		    err.is_response != invalid_fixtures[i].response) {
			print_message("%s: rc %d status %d reason \"%s\" msg %p response %d\n",
				      invalid_fixtures[i].name, rc, err.status,
				      err.reason ? err.reason : "(null)", (void *)m, err.is_response);
			bad++;
		}
		if (m) {
			osip_message_t *r = NULL;

			/* an answerable refusal can be answered */
			assert_int_equal(sip_msg_build_response(m, err.status, err.reason, NULL, &r), 0);
			assert_int_equal(r->status_code, err.status);
			osip_message_free(r);
			osip_message_free(m);
		}
		free(buf);
	}
	assert_int_equal(bad, 0);
}

static void test_reason_phrases(void **state)
{
	struct sip_err err;
	osip_message_t *m = NULL;
	size_t len;
	char *buf = load("x-cseq-mismatch", &len);

	(void)state;
	assert_int_equal(sip_msg_parse(buf, len, 0, &m, &err), -EBADMSG);
	assert_string_equal(err.reason, "Bad Request (CSeq method mismatch)");
	osip_message_free(m);
	free(buf);
	buf = load("x-tel-uri", &len);
	assert_int_equal(sip_msg_parse(buf, len, 0, &m, &err), -EBADMSG);
	assert_string_equal(err.reason, "Unsupported URI Scheme");
	/* refused by the framing pass, but still answerable (RFC 3261 §16.3
	 * step 2): the headers a response needs were picked out */
	assert_non_null(m);
	assert_string_equal(m->call_id->number, "a84b4c76e66710");
	osip_message_free(m);
	free(buf);
}

static void expect_refusal(const char *buf, size_t len, size_t max_len, int rc, int status)
{
	struct sip_err err;
	osip_message_t *m = (osip_message_t *)1;
	char *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	if (len)
		memcpy(copy, buf, len);
	assert_int_equal(sip_msg_parse(copy, len, max_len, &m, &err), rc);
	assert_int_equal(err.status, status);
	assert_non_null(err.reason);
	assert_null(m);
	free(copy);
}

static void test_generated_invalid(void **state)
{
	static const char req[] = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
				  "To: <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\nCall-ID: x\r\n"
				  "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	struct sip_err err;
	osip_message_t *m;
	char *big, buf[sizeof(req)];
	uint64_t x = 12345;
	size_t i, len;

	(void)state;
	/* empty, or nothing but CRLFs (a keep-alive is not a message) */
	expect_refusal("", 0, 0, -EBADMSG, 400);
	expect_refusal("\r\n\r\n", 4, 0, -EBADMSG, 400);
	m = (osip_message_t *)1;
	assert_int_equal(sip_msg_parse(NULL, 0, 0, &m, &err), -EBADMSG);
	assert_null(m);

	/* NUL bytes: in the start line, in a header name, in a value */
	memcpy(buf, req, sizeof(req));
	buf[3] = '\0';
	expect_refusal(buf, sizeof(req) - 1, 0, -EBADMSG, 400);
	memcpy(buf, req, sizeof(req));
	buf[27] = '\0';
	expect_refusal(buf, sizeof(req) - 1, 0, -EBADMSG, 400);
	memcpy(buf, req, sizeof(req));
	buf[strstr(req, "Call-ID: x") - req + 9] = '\0';
	expect_refusal(buf, sizeof(req) - 1, 0, -EBADMSG, 400);
	/* other control bytes */
	memcpy(buf, req, sizeof(req));
	buf[strstr(req, "Call-ID: x") - req + 9] = 0x1b;
	expect_refusal(buf, sizeof(req) - 1, 0, -EBADMSG, 400);

	/* binary garbage: 200 random blocks */
	for (i = 0; i < 200; i++) {
		uint8_t g[256];
		size_t k, n = 1 + i % sizeof(g);

		for (k = 0; k < n; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			g[k] = (uint8_t)x;
		}
		g[0] = (uint8_t)(g[0] | 0x80); /* never a CR/LF-only block */
		m = (osip_message_t *)1;
		assert_true(sip_msg_parse((char *)g, n, 0, &m, &err) < 0);
		assert_int_equal(err.status, 400);
		assert_null(m);
	}

	/* 70 KiB: 513 before any parsing, whatever the bytes */
	len = 70 * 1024;
	big = malloc(len);
	assert_non_null(big);
	memset(big, 'a', len);
	memcpy(big, req, sizeof(req) - 1);
	expect_refusal(big, len, 0, -EMSGSIZE, 513);
	/* ... even with a larger max_len: SIP_MSG_MAX_LEN is the ceiling */
	expect_refusal(big, len, 1 << 20, -EMSGSIZE, 513);
	memcpy(big, "SIP/2.0 200 OK\r\n", 16);
	m = (osip_message_t *)1;
	assert_int_equal(sip_msg_parse(big, len, 0, &m, &err), -EMSGSIZE);
	assert_true(err.is_response);
	assert_null(m);
	free(big);
	/* a caller's own limit */
	expect_refusal(req, sizeof(req) - 1, 64, -EMSGSIZE, 513);
	m = NULL;
	assert_int_equal(sip_msg_parse(req, sizeof(req) - 1, sizeof(req) - 1, &m, &err), 0);
	osip_message_free(m);

	/* escaped CR/LF in a URI would be dropped by libosip2 */
	m = (osip_message_t *)1;
	{
		static const char esc[] = "OPTIONS sip:a%0D%0AX@b SIP/2.0\r\n\r\n";

		expect_refusal(esc, sizeof(esc) - 1, 0, -EBADMSG, 400);
	}
	/* a folded line before any header */
	{
		static const char fold[] = "OPTIONS sip:a@b SIP/2.0\r\n x\r\n\r\n";

		expect_refusal(fold, sizeof(fold) - 1, 0, -EBADMSG, 400);
	}
	/* bad versions: SIP/2.1 is 505, garbage is 400 */
	{
		static const char v21[] = "OPTIONS sip:a@b SIP/2.1\r\n\r\n";
		static const char vx[] = "OPTIONS sip:a@b HTTP/1.1\r\n\r\n";

		expect_refusal(v21, sizeof(v21) - 1, 0, -EBADMSG, 505);
		expect_refusal(vx, sizeof(vx) - 1, 0, -EBADMSG, 400);
	}
	/* an ACK is never answered, even when it could be */
	{
		static const char ack[] = "ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
					  "To: <sip:a@b>;tag=9\r\nFrom: <sip:c@d>;tag=1\r\nCall-ID: x\r\n"
					  "CSeq: 1 INVITE\r\n\r\n";

		expect_refusal(ack, sizeof(ack) - 1, 0, -EBADMSG, 400);
	}
}

/* ---- round trips ---- */

static void assert_same_meaning(const osip_message_t *a, const osip_message_t *b)
{
	char *sa, *sb;
	int i, n;

	assert_int_equal(a->status_code, b->status_code);
	if (a->sip_method) {
		assert_string_equal(a->sip_method, b->sip_method);
		sa = uri_str(a->req_uri);
		sb = uri_str(b->req_uri);
		assert_string_equal(sa, sb);
		free(sa);
		free(sb);
	} else {
		assert_string_equal(a->reason_phrase, b->reason_phrase);
	}
	assert_string_equal(a->call_id->number, b->call_id->number);
	assert_string_equal(a->cseq->number, b->cseq->number);
	assert_string_equal(a->cseq->method, b->cseq->method);
	if (tag(a->from))
		assert_string_equal(tag(a->from), tag(b->from));
	if (tag(a->to))
		assert_string_equal(tag(a->to), tag(b->to));
	n = osip_list_size(&a->vias);
	assert_int_equal(n, osip_list_size(&b->vias));
	for (i = 0; i < n; i++) {
		osip_via_t *va = osip_list_get(&a->vias, i), *vb = osip_list_get(&b->vias, i);

		assert_string_equal(va->host, vb->host);
		assert_string_equal(via_param(a, i, "branch") ? via_param(a, i, "branch") : "-",
				    via_param(b, i, "branch") ? via_param(b, i, "branch") : "-");
	}
	assert_int_equal(osip_list_size(&a->routes), osip_list_size(&b->routes));
	assert_int_equal(osip_list_size(&a->record_routes), osip_list_size(&b->record_routes));
	assert_int_equal(osip_list_size(&a->contacts), osip_list_size(&b->contacts));
	assert_int_equal(sip_msg_max_forwards(a), sip_msg_max_forwards(b));
	n = osip_list_size(&a->bodies);
	assert_int_equal(n, osip_list_size(&b->bodies));
	for (i = 0; i < n; i++) {
		osip_body_t *ba = osip_list_get(&a->bodies, i), *bb = osip_list_get(&b->bodies, i);

		assert_int_equal(ba->length, bb->length);
		assert_memory_equal(ba->body, bb->body, ba->length);
	}
}

static void test_round_trips(void **state)
{
	size_t i, n1, n2;

	(void)state;
	for (i = 0; i < N_VALID; i++) {
		osip_message_t *m1 = parse_fixture(valid_fixtures[i]), *m2, *m3;
		char *b1 = bytes_of(m1, &n1), *b2;

		assert_content_length(b1, n1);
		m2 = parse_buf(b1, n1);
		assert_same_meaning(m1, m2);
		b2 = bytes_of(m2, &n2);
		/* a fixed point after one trip */
		if (n1 != n2 || memcmp(b1, b2, n1))
			fail_msg("%s: second trip differs:\n%s\n----\n%s", valid_fixtures[i], b1, b2);
		m3 = parse_buf(b2, n2);
		assert_same_meaning(m1, m3);
		osip_message_free(m1);
		osip_message_free(m2);
		osip_message_free(m3);
		free(b1);
		free(b2);
	}
}

static void test_to_bytes_content_length(void **state)
{
	osip_message_t *m = parse_fixture("v-invite-sdp");
	char *b;
	size_t n;

	(void)state;
	/* a stale Content-Length in the structure is not what goes out */
	osip_free(m->content_length->value);
	m->content_length->value = osip_strdup("9999");
	b = bytes_of(m, &n);
	assert_content_length(b, n);
	assert_string_equal(m->content_length->value, "136");
	free(b);
	osip_message_free(m);
}

/* ---- helpers: Via ---- */

static void test_top_via_fix(void **state)
{
	osip_message_t *m;
	char *b;

	(void)state;
	/* sent-by is the source address, no rport: nothing to add */
	m = parse_str("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n"
		      "To: <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	assert_int_equal(sip_msg_top_via_fix(m, "192.0.2.1", 5060), 0);
	assert_null(via_param(m, 0, "received"));
	assert_null(via_param(m, 0, "rport"));
	/* RFC 3261 §18.2.1: another address: received */
	assert_int_equal(sip_msg_top_via_fix(m, "198.51.100.7", 5060), 0);
	assert_string_equal(via_param(m, 0, "received"), "198.51.100.7");
	b = bytes_of(m, NULL);
	assert_non_null(strstr(b, "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;received=198.51.100.7\r\n"));
	free(b);
	/* a second fix replaces, never duplicates */
	assert_int_equal(sip_msg_top_via_fix(m, "198.51.100.8", 5060), 0);
	assert_string_equal(via_param(m, 0, "received"), "198.51.100.8");
	b = bytes_of(m, NULL);
	assert_null(strstr(b, "198.51.100.7"));
	free(b);
	osip_message_free(m);

	/* a host name always gets received */
	m = parse_str("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1\r\n"
		      "To: <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	assert_int_equal(sip_msg_top_via_fix(m, "192.0.2.1", 5060), 0);
	assert_string_equal(via_param(m, 0, "received"), "192.0.2.1");
	osip_message_free(m);

	/* RFC 3581 §4: empty rport filled, received added even if equal */
	m = parse_str("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK1\r\n"
		      "To: <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	assert_int_equal(sip_msg_top_via_fix(m, "192.0.2.1", 40001), 0);
	assert_string_equal(via_param(m, 0, "rport"), "40001");
	assert_string_equal(via_param(m, 0, "received"), "192.0.2.1");
	b = bytes_of(m, NULL);
	assert_non_null(strstr(b, ";rport=40001;branch=z9hG4bK1;received=192.0.2.1\r\n"));
	free(b);
	osip_message_free(m);

	/* IPv6: the same address written differently needs no received */
	m = parse_fixture("v-ipv6");
	assert_int_equal(sip_msg_top_via_fix(m, "2001:DB8:0:0::20", 5060), 0);
	assert_string_equal(via_param(m, 0, "received"), "2001:DB8:0:0::20"); /* rport */
	osip_message_free(m);
	m = parse_str("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8::20];branch=z9hG4bK1\r\n"
		      "To: <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	assert_int_equal(sip_msg_top_via_fix(m, "[2001:DB8:0:0::20]", 5060), 0);
	assert_null(via_param(m, 0, "received"));
	assert_int_equal(sip_msg_top_via_fix(m, "2001:db8::21", 5060), 0);
	assert_string_equal(via_param(m, 0, "received"), "2001:db8::21");
	/* not an IP literal, port 0, a response: refused */
	assert_int_equal(sip_msg_top_via_fix(m, "host.example.com", 5060), -EINVAL);
	assert_int_equal(sip_msg_top_via_fix(m, "192.0.2.1", 0), -EINVAL);
	osip_message_free(m);
	m = parse_fixture("v-response-200");
	assert_int_equal(sip_msg_top_via_fix(m, "192.0.2.1", 5060), -EINVAL);
	osip_message_free(m);
}

static void test_response_target(void **state)
{
	struct sip_target t;
	osip_message_t *m;

	(void)state;
	/* RFC 3581 §4: received + rport */
	m = parse_fixture("v-response-200");
	assert_int_equal(sip_msg_response_target(m, &t), 0);
	assert_string_equal(t.host, "198.51.100.20");
	assert_int_equal(t.port, 40000);
	assert_string_equal(t.transport, "UDP");
	assert_true(t.numeric);
	assert_false(t.reliable);
	/* after popping our Via, the same answer from position 0 */
	assert_int_equal(sip_msg_pop_via(m), 0);
	assert_int_equal(sip_msg_via_count(m), 1);
	assert_int_equal(sip_msg_via_target(m, 0, false, &t), 0);
	assert_string_equal(t.host, "198.51.100.20");
	assert_int_equal(t.port, 40000);
	/* only one Via left: nothing beyond us */
	assert_int_equal(sip_msg_response_target(m, &t), -ENOENT);
	assert_int_equal(sip_msg_pop_via(m), 0);
	assert_int_equal(sip_msg_via_count(m), 0);
	assert_int_equal(sip_msg_pop_via(m), -ENOENT);
	osip_message_free(m);

#define RESP(via2)                                                                        \
	"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 203.0.113.1;branch=z9hG4bKp\r\nVia: " via2 \
	"\r\nTo: <sip:b@x>;tag=2\r\nFrom: <sip:a@x>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n"
	/* RFC 3261 §18.2.2: received, with the sent-by port */
	m = parse_str(RESP("SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKa;received=198.51.100.20"));
	assert_int_equal(sip_msg_response_target(m, &t), 0);
	assert_string_equal(t.host, "198.51.100.20");
	assert_int_equal(t.port, 5062);
	osip_message_free(m);
	/* received with no sent-by port: 5060 */
	m = parse_str(RESP("SIP/2.0/UDP pc.example.com;branch=z9hG4bKa;received=198.51.100.20"));
	assert_int_equal(sip_msg_response_target(m, &t), 0);
	assert_int_equal(t.port, 5060);
	assert_false(t.explicit_port);
	osip_message_free(m);
	/* nothing added by the proxy: sent-by, a name to resolve */
	m = parse_str(RESP("SIP/2.0/UDP pc.example.com:5070;branch=z9hG4bKa"));
	assert_int_equal(sip_msg_response_target(m, &t), 0);
	assert_string_equal(t.host, "pc.example.com");
	assert_int_equal(t.port, 5070);
	assert_false(t.numeric);
	assert_true(t.explicit_port);
	osip_message_free(m);
	/* maddr is ignored (a reflection from anyone untrusted): received */
	m = parse_str(RESP("SIP/2.0/UDP pc.example.com;branch=z9hG4bKa;maddr=239.1.1.1;received=192.0.2.9"));
	assert_int_equal(sip_msg_response_target(m, &t), 0);
	assert_string_equal(t.host, "192.0.2.9");
	assert_int_equal(sip_msg_via_target(m, 1, false, &t), 0);
	assert_string_equal(t.host, "192.0.2.9");
	/* ... unless the caller trusts the sender: maddr wins over received */
	assert_int_equal(sip_msg_via_target(m, 1, true, &t), 0);
	assert_string_equal(t.host, "239.1.1.1");
	osip_message_free(m);
	/* TLS default port; reliable transports ignore rport */
	m = parse_str(RESP("SIP/2.0/TLS pc.example.com;branch=z9hG4bKa;rport=1234;received=192.0.2.9"));
	assert_int_equal(sip_msg_response_target(m, &t), 0);
	assert_string_equal(t.host, "192.0.2.9");
	assert_int_equal(t.port, 5061);
	assert_true(t.reliable);
	assert_string_equal(t.transport, "TLS");
	osip_message_free(m);
	/* a quoted received (seen in the wild) */
	m = parse_str(RESP("SIP/2.0/UDP pc.example.com;branch=z9hG4bKa;received=\"192.0.2.9\""));
	assert_int_equal(sip_msg_response_target(m, &t), 0);
	assert_string_equal(t.host, "192.0.2.9");
	osip_message_free(m);
	/* IPv6 received */
	m = parse_str(RESP("SIP/2.0/UDP [2001:db8::5]:5064;branch=z9hG4bKa;rport=6000;received=2001:db8::6"));
	assert_int_equal(sip_msg_response_target(m, &t), 0);
	assert_string_equal(t.host, "2001:db8::6");
	assert_int_equal(t.port, 6000);
	assert_true(t.numeric);
	osip_message_free(m);
	/* a bad rport */
	m = parse_str(RESP("SIP/2.0/UDP pc.example.com;branch=z9hG4bKa;rport=99999;received=192.0.2.9"));
	assert_int_equal(sip_msg_response_target(m, &t), -EINVAL);
	osip_message_free(m);
	/* requests have no response target */
	m = parse_fixture("v-invite-sdp");
	assert_int_equal(sip_msg_response_target(m, &t), -EINVAL);
	osip_message_free(m);
#undef RESP
}

static void test_uri_target(void **state)
{
	struct sip_target t;
	osip_message_t *m;

	(void)state;
	m = parse_fixture("v-ipv6");
	assert_int_equal(sip_msg_uri_target(m->req_uri, &t), 0);
	assert_string_equal(t.host, "2001:db8::10");
	assert_int_equal(t.port, 5070);
	assert_string_equal(t.transport, "UDP");
	assert_true(t.numeric);
	osip_message_free(m);
	m = parse_str("OPTIONS sips:bob@example.com;maddr=192.0.2.50 SIP/2.0\r\n"
		      "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@b>\r\n"
		      "From: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	assert_int_equal(sip_msg_uri_target(m->req_uri, &t), 0);
	assert_string_equal(t.host, "192.0.2.50");
	assert_int_equal(t.port, 5061);
	assert_string_equal(t.transport, "TLS");
	assert_true(t.reliable);
	assert_false(t.explicit_port);
	osip_message_free(m);
	m = parse_str("OPTIONS sip:bob@example.com;transport=tcp SIP/2.0\r\n"
		      "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <tel:+1555>\r\n"
		      "From: <sip:c@d>;tag=1\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	assert_int_equal(sip_msg_uri_target(m->req_uri, &t), 0);
	assert_string_equal(t.host, "example.com");
	assert_int_equal(t.port, 5060);
	assert_string_equal(t.transport, "TCP");
	assert_false(t.numeric);
	/* To may be tel: (only the Request-URI is checked); not a target */
	assert_int_equal(sip_msg_uri_target(m->to->url, &t), -EINVAL);
	osip_message_free(m);
}

static void test_add_pop_via(void **state)
{
	osip_message_t *m = parse_fixture("v-invite-sdp");
	const uint8_t ent[8] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03};
	char br[SIP_BRANCH_MAX], key[SIP_LOOP_KEY_LEN + 1], *b, *b1;

	(void)state;
	/* RFC 3261 §8.1.1.7: the magic cookie, then something unique */
	assert_int_equal(sip_msg_make_branch(br, sizeof(br), NULL, ent, sizeof(ent)), 0);
	assert_string_equal(br, "z9hG4bKdeadbeef00010203");
	assert_int_equal(sip_msg_loop_key(m, key, sizeof(key)), 0);
	assert_int_equal(strlen(key), SIP_LOOP_KEY_LEN);
	assert_int_equal(sip_msg_make_branch(br, sizeof(br), key, ent, sizeof(ent)), 0);
	assert_int_equal(strlen(br), 7 + 16 + 1 + 16);
	assert_memory_equal(br + 7, key, 16);
	assert_int_equal(br[23], '.');
	assert_int_equal(sip_msg_make_branch(br, 20, key, ent, sizeof(ent)), -ENOSPC);
	assert_int_equal(sip_msg_make_branch(br, sizeof(br), "xyz", ent, sizeof(ent)), -EINVAL);
	assert_int_equal(sip_msg_make_branch(br, sizeof(br), NULL, ent, 4), -EINVAL);

	assert_int_equal(sip_msg_add_via(m, "udp", "203.0.113.1", 5060, "z9hG4bKours1"), 0);
	assert_int_equal(sip_msg_via_count(m), 2);
	assert_string_equal(via_param(m, 0, "branch"), "z9hG4bKours1");
	b = bytes_of(m, NULL);
	assert_non_null(strstr(b, "\r\nVia: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKours1\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa1b2c3;rport\r\n"));
	free(b);
	/* random branches differ */
	assert_int_equal(sip_msg_add_via(m, "TCP", "[2001:db8::1]", 0, NULL), 0);
	b1 = strdup(via_param(m, 0, "branch"));
	assert_true(strncmp(b1, "z9hG4bK", 7) == 0);
	assert_int_equal(strlen(b1), 7 + 24);
	b = bytes_of(m, NULL);
	assert_non_null(strstr(b, "\r\nVia: SIP/2.0/TCP [2001:db8::1];branch=z9hG4bK"));
	free(b);
	assert_int_equal(sip_msg_pop_via(m), 0);
	assert_int_equal(sip_msg_add_via(m, "TCP", "2001:db8::1", 0, NULL), 0);
	assert_string_not_equal(via_param(m, 0, "branch"), b1);
	free(b1);
	/* refusals: no cookie, bad host, bad transport */
	assert_int_equal(sip_msg_add_via(m, "UDP", "h", 1, "abc"), -EINVAL);
	assert_int_equal(sip_msg_add_via(m, "UDP", "h;x", 1, NULL), -EINVAL);
	assert_int_equal(sip_msg_add_via(m, "U DP", "h", 1, NULL), -EINVAL);
	assert_int_equal(sip_msg_add_via(m, "UDP", "", 1, NULL), -EINVAL);
	assert_int_equal(sip_msg_via_count(m), 3);
	osip_message_free(m);
}

/* ---- helpers: Max-Forwards, Record-Route, Route ---- */

static void test_max_forwards(void **state)
{
	osip_message_t *m = parse_fixture("v-invite-sdp");
	char *b;

	(void)state;
	assert_int_equal(sip_msg_decrement_max_forwards(m), 0);
	assert_int_equal(sip_msg_max_forwards(m), 69);
	b = bytes_of(m, NULL);
	assert_non_null(strcasestr(b, "\r\nMax-Forwards: 69\r\n"));
	free(b);
	osip_message_free(m);

	/* RFC 3261 §16.6 step 3: absent → 70 */
	m = parse_fixture("v-unknown-headers");
	assert_int_equal(sip_msg_max_forwards(m), -ENOENT);
	assert_int_equal(sip_msg_decrement_max_forwards(m), 0);
	assert_int_equal(sip_msg_max_forwards(m), 70);
	b = bytes_of(m, NULL);
	assert_non_null(strcasestr(b, "\r\nMax-Forwards: 70\r\n"));
	free(b);
	osip_message_free(m);

	/* 1 → 0, then 0 cannot be forwarded (483 is the caller's) */
	m = parse_str("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
		      "Max-Forwards: 1\r\nTo: <sip:a@b>\r\nFrom: <sip:c@d>;tag=1\r\n"
		      "Call-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	assert_int_equal(sip_msg_decrement_max_forwards(m), 0);
	assert_int_equal(sip_msg_max_forwards(m), 0);
	assert_int_equal(sip_msg_decrement_max_forwards(m), -ERANGE);
	assert_int_equal(sip_msg_max_forwards(m), 0);
	osip_message_free(m);
	m = parse_fixture("v-response-200");
	assert_int_equal(sip_msg_decrement_max_forwards(m), -EINVAL);
	osip_message_free(m);
}

static void test_record_route(void **state)
{
	osip_message_t *m = parse_fixture("v-invite-sdp");
	osip_record_route_t *rr;
	char *b;

	(void)state;
	assert_int_equal(sip_msg_add_record_route(m, "sip:203.0.113.1:5060"), 0);
	/* RFC 3261 §16.6 step 4: lr, ahead of the existing values */
	assert_int_equal(sip_msg_add_record_route(m, "<sip:10.1.0.1;transport=tcp;lr>"), 0);
	assert_int_equal(osip_list_size(&m->record_routes), 2);
	b = bytes_of(m, NULL);
	assert_non_null(strstr(b, "\r\nRecord-Route: <sip:10.1.0.1;transport=tcp;lr>\r\n"
				  "Record-Route: <sip:203.0.113.1:5060;lr>\r\n"));
	free(b);
	rr = osip_list_get(&m->record_routes, 0);
	assert_string_equal(rr->url->host, "10.1.0.1");
	assert_int_equal(sip_msg_add_record_route(m, "tel:+1555"), -EINVAL);
	assert_int_equal(sip_msg_add_record_route(m, "not a uri"), -EINVAL);
	assert_int_equal(sip_msg_add_record_route(m, "<sip:>"), -EINVAL);
	assert_int_equal(osip_list_size(&m->record_routes), 2);
	osip_message_free(m);
}

/* "Us" is 203.0.113.1 (any port) for the route tests. */
static bool is_us(const osip_uri_t *uri, void *arg)
{
	int *calls = arg;

	(*calls)++;
	return uri->host && !strcmp(uri->host, "203.0.113.1");
}

#define ROUTED(ruri, routes)                                                      \
	"BYE " ruri " SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKbye\r\n" \
	routes "To: <sip:b@x>;tag=2\r\nFrom: <sip:a@x>;tag=1\r\nCall-ID: c\r\n"     \
	       "CSeq: 2 BYE\r\n\r\n"

static void test_route_preprocess(void **state)
{
	const osip_uri_t *hop;
	osip_message_t *m;
	char *s;
	int calls = 0;

	(void)state;
	/* no Route: the Request-URI */
	m = parse_str(ROUTED("sip:bob@10.1.0.10", ""));
	assert_int_equal(sip_msg_route_preprocess(m, is_us, &calls, &hop), 0);
	assert_ptr_equal(hop, m->req_uri);
	osip_message_free(m);

	/* §16.4: the top Route is us: removed, the next one is the hop */
	m = parse_str(ROUTED("sip:bob@10.1.0.10",
			     "Route: <sip:203.0.113.1;lr>, <sip:198.51.100.9;lr>\r\n"));
	assert_int_equal(sip_msg_route_preprocess(m, is_us, &calls, &hop), 0);
	assert_int_equal(osip_list_size(&m->routes), 1);
	assert_string_equal(hop->host, "198.51.100.9");
	s = uri_str(m->req_uri);
	assert_string_equal(s, "sip:bob@10.1.0.10");
	free(s);
	osip_message_free(m);

	/* only our Route: removed, the Request-URI is the hop */
	m = parse_str(ROUTED("sip:bob@10.1.0.10", "Route: <sip:203.0.113.1;lr>\r\n"));
	assert_int_equal(sip_msg_route_preprocess(m, is_us, &calls, &hop), 0);
	assert_int_equal(osip_list_size(&m->routes), 0);
	assert_ptr_equal(hop, m->req_uri);
	osip_message_free(m);

	/* the top Route is someone else: untouched */
	m = parse_str(ROUTED("sip:bob@10.1.0.10", "Route: <sip:198.51.100.9;lr>\r\n"));
	assert_int_equal(sip_msg_route_preprocess(m, is_us, &calls, &hop), 0);
	assert_int_equal(osip_list_size(&m->routes), 1);
	assert_string_equal(hop->host, "198.51.100.9");
	osip_message_free(m);

	/* §16.4, strict router upstream: it put our Record-Route URI in the
	 * Request-URI and the real target as the last Route */
	m = parse_str(ROUTED("sip:203.0.113.1;lr",
			     "Route: <sip:198.51.100.9;lr>\r\nRoute: <sip:bob@10.1.0.10>\r\n"));
	assert_int_equal(sip_msg_route_preprocess(m, is_us, &calls, &hop), 0);
	s = uri_str(m->req_uri);
	assert_string_equal(s, "sip:bob@10.1.0.10");
	free(s);
	assert_int_equal(osip_list_size(&m->routes), 1);
	assert_string_equal(hop->host, "198.51.100.9");
	s = bytes_of(m, NULL);
	assert_true(strncmp(s, "BYE sip:bob@10.1.0.10 SIP/2.0\r\n", 31) == 0);
	assert_null(strstr(s, "Route: <sip:bob@10.1.0.10>"));
	free(s);
	osip_message_free(m);

	/* ours in the Request-URI and no Route: a request for us */
	m = parse_str(ROUTED("sip:203.0.113.1", ""));
	assert_int_equal(sip_msg_route_preprocess(m, is_us, &calls, &hop), 0);
	assert_ptr_equal(hop, m->req_uri);
	osip_message_free(m);
	assert_true(calls > 0);
}

static void test_route_strict_fixup(void **state)
{
	osip_message_t *m;
	osip_route_t *r;
	char *s;

	(void)state;
	/* §16.6 step 6: a strict next hop (no lr) */
	m = parse_str(ROUTED("sip:bob@10.1.0.10",
			     "Route: <sip:198.51.100.9>, <sip:192.0.2.99;lr>\r\n"));
	assert_int_equal(sip_msg_route_strict_fixup(m), 0);
	s = uri_str(m->req_uri);
	assert_string_equal(s, "sip:198.51.100.9");
	free(s);
	assert_int_equal(osip_list_size(&m->routes), 2);
	r = osip_list_get(&m->routes, 0);
	assert_string_equal(r->url->host, "192.0.2.99");
	r = osip_list_get(&m->routes, 1);
	s = uri_str(r->url);
	assert_string_equal(s, "sip:bob@10.1.0.10");
	free(s);
	s = bytes_of(m, NULL);
	assert_true(strncmp(s, "BYE sip:198.51.100.9 SIP/2.0\r\n", 30) == 0);
	free(s);
	osip_message_free(m);
	/* a loose next hop: nothing changes */
	m = parse_str(ROUTED("sip:bob@10.1.0.10", "Route: <sip:198.51.100.9;lr>\r\n"));
	assert_int_equal(sip_msg_route_strict_fixup(m), 0);
	s = uri_str(m->req_uri);
	assert_string_equal(s, "sip:bob@10.1.0.10");
	free(s);
	assert_int_equal(osip_list_size(&m->routes), 1);
	osip_message_free(m);
}

/* ---- helpers: loops ---- */

/* What the next element receives after we forward m: our Via on top. */
static osip_message_t *forward(osip_message_t *m, const char *host, uint16_t port)
{
	char key[SIP_LOOP_KEY_LEN + 1], br[SIP_BRANCH_MAX], *b;
	osip_message_t *out;
	size_t n;

	assert_int_equal(sip_msg_loop_key(m, key, sizeof(key)), 0);
	assert_int_equal(sip_msg_make_branch(br, sizeof(br), key, NULL, 0), 0);
	assert_int_equal(sip_msg_add_via(m, "UDP", host, port, br), 0);
	b = bytes_of(m, &n);
	out = parse_buf(b, n);
	free(b);
	return out;
}

static void test_loop_detection(void **state)
{
	osip_message_t *in, *hop1, *hop2;

	(void)state;
	/* we (203.0.113.1:5060) forward, another proxy forwards it back
	 * unchanged: a loop (§16.3 step 4) */
	in = parse_fixture("v-invite-sdp");
	assert_false(sip_msg_is_looped(in, "203.0.113.1", 5060));
	hop1 = forward(in, "203.0.113.1", 5060);
	assert_true(sip_msg_is_looped(hop1, "203.0.113.1", 5060));
	hop2 = forward(hop1, "198.51.100.2", 5060);
	assert_true(sip_msg_is_looped(hop2, "203.0.113.1", 5060));
	/* not us: another port, another host */
	assert_false(sip_msg_is_looped(hop2, "203.0.113.1", 5070));
	assert_false(sip_msg_is_looped(hop2, "203.0.113.2", 5060));
	osip_message_free(hop2);

	/* a spiral: the Request-URI was retargeted on the way */
	hop2 = forward(hop1, "198.51.100.2", 5060);
	osip_uri_free(hop2->req_uri);
	osip_uri_init(&hop2->req_uri);
	assert_int_equal(osip_uri_parse(hop2->req_uri, "sip:bob@10.1.0.10"), 0);
	assert_false(sip_msg_is_looped(hop2, "203.0.113.1", 5060));
	osip_message_free(hop2);

	/* a new CSeq (a new request) is not a loop either */
	hop2 = forward(hop1, "198.51.100.2", 5060);
	osip_free(hop2->cseq->number);
	hop2->cseq->number = osip_strdup("314160");
	assert_false(sip_msg_is_looped(hop2, "203.0.113.1", 5060));
	osip_message_free(hop2);

	/* a random branch from our address is no evidence */
	osip_message_free(hop1);
	osip_message_free(in);
	in = parse_fixture("v-invite-sdp");
	assert_int_equal(sip_msg_add_via(in, "UDP", "203.0.113.1", 5060, NULL), 0);
	assert_false(sip_msg_is_looped(in, "203.0.113.1", 5060));
	osip_message_free(in);
}

/* ---- helpers: responses ---- */

static void test_build_response(void **state)
{
	osip_message_t *req = parse_fixture("v-response-200"), *r = NULL, *inv;
	char *b;
	size_t n;

	(void)state;
	osip_message_free(req);
	req = parse_fixture("v-invite-sdp");
	assert_int_equal(sip_msg_add_via(req, "UDP", "203.0.113.5", 5060, "z9hG4bKup"), 0);

	/* RFC 3261 §8.2.6: 486 with our tag */
	assert_int_equal(sip_msg_build_response(req, 486, NULL, "t486", &r), 0);
	b = bytes_of(r, &n);
	assert_true(strncmp(b, "SIP/2.0 486 Busy Here\r\n", 23) == 0);
	assert_non_null(strstr(b, "Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKup\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa1b2c3;rport\r\n"));
	assert_non_null(strstr(b, "\r\nTo: Bob <sip:bob@example.net>;tag=t486\r\n"));
	assert_non_null(strstr(b, "\r\nFrom: Alice <sip:alice@example.com>;tag=1928301774\r\n"));
	assert_non_null(strstr(b, "\r\nCall-ID: a84b4c76e66710@192.0.2.10\r\n"));
	assert_non_null(strstr(b, "\r\nCSeq: 314159 INVITE\r\n"));
	assert_non_null(strstr(b, "\r\nContent-Length: 0\r\n\r\n"));
	assert_null(strstr(b, "Contact"));
	assert_null(strstr(b, "Max-Forwards"));
	inv = parse_buf(b, n);
	assert_int_equal(inv->status_code, 486);
	osip_message_free(inv);
	free(b);
	osip_message_free(r);

	/* 100 Trying: no tag, Timestamp copied (§8.2.6.1) */
	assert_int_equal(osip_message_set_header(req, "Timestamp", "54.2"), 0);
	assert_int_equal(sip_msg_build_response(req, 100, NULL, NULL, &r), 0);
	assert_null(tag(r->to));
	assert_string_equal(r->reason_phrase, "Trying");
	b = bytes_of(r, NULL);
	assert_non_null(strcasestr(b, "\r\nTimestamp: 54.2\r\n"));
	free(b);
	osip_message_free(r);

	/* no tag given: a random one; our reason phrase kept */
	assert_int_equal(sip_msg_build_response(req, 400, "Bad Request (CSeq method mismatch)", NULL, &r), 0);
	assert_int_equal(strlen(tag(r->to)), 16);
	assert_string_equal(r->reason_phrase, "Bad Request (CSeq method mismatch)");
	osip_message_free(r);

	/* an existing To tag (in-dialog) stays */
	assert_int_equal(osip_to_set_tag(req->to, osip_strdup("dialog7")), 0);
	assert_int_equal(sip_msg_build_response(req, 481, NULL, "ignored", &r), 0);
	assert_string_equal(tag(r->to), "dialog7");
	assert_int_equal(osip_list_size(&r->to->gen_params), 1);
	osip_message_free(r);

	/* refusals */
	assert_int_equal(sip_msg_build_response(req, 99, NULL, NULL, &r), -EINVAL);
	assert_int_equal(sip_msg_build_response(req, 700, NULL, NULL, &r), -EINVAL);
	assert_int_equal(sip_msg_build_response(req, 400, "bad\r\nX: y", NULL, &r), -EINVAL);
	assert_int_equal(sip_msg_build_response(req, 400, NULL, "bad tag", &r), -EINVAL);
	assert_null(r);
	osip_free(req->sip_method);
	req->sip_method = osip_strdup("ACK"); /* never answered */
	assert_int_equal(sip_msg_build_response(req, 400, NULL, NULL, &r), -EINVAL);
	osip_message_free(req);
	req = parse_fixture("v-response-200");
	assert_int_equal(sip_msg_build_response(req, 400, NULL, NULL, &r), -EINVAL);
	osip_message_free(req);
}

/* ---- helpers: bodies ---- */

static const char NEW_SDP[] = "v=0\r\n"
			      "o=alice 2890844526 2890844527 IN IP4 198.51.100.44\r\n"
			      "s=-\r\n"
			      "c=IN IP4 198.51.100.44\r\n"
			      "t=0 0\r\n"
			      "m=audio 20000 RTP/AVP 0 8\r\n"
			      "a=rtpmap:0 PCMU/8000\r\n"
			      "a=rtpmap:8 PCMA/8000\r\n";

static void test_sdp_replace_plain(void **state)
{
	osip_message_t *m = parse_fixture("v-invite-sdp"), *m2;
	const char *sdp;
	size_t len, n;
	char *b, num[16];

	(void)state;
	assert_int_equal(sip_msg_set_sdp_body(m, NEW_SDP, strlen(NEW_SDP)), 0);
	assert_int_equal(sip_msg_get_sdp_body(m, &sdp, &len), 0);
	assert_memory_equal(sdp, NEW_SDP, len);
	b = bytes_of(m, &n);
	assert_content_length(b, n);
	snprintf(num, sizeof(num), "%zu", strlen(NEW_SDP));
	assert_string_equal(m->content_length->value, num);
	assert_non_null(strstr(b, "\r\nContent-Type: application/sdp\r\n"));
	assert_non_null(strstr(b, "\r\n\r\n" "v=0\r\no=alice 2890844526 2890844527"));
	m2 = parse_buf(b, n);
	assert_int_equal(sip_msg_get_sdp_body(m2, &sdp, &len), 0);
	assert_int_equal(len, strlen(NEW_SDP));
	assert_memory_equal(sdp, NEW_SDP, len);
	osip_message_free(m2);
	free(b);

	/* shorter */
	assert_int_equal(sip_msg_set_sdp_body(m, "v=0\r\n", 5), 0);
	b = bytes_of(m, &n);
	assert_content_length(b, n);
	assert_true(n > 5 && !memcmp(b + n - 9, "\r\n\r\nv=0\r\n", 9));
	free(b);
	assert_int_equal(sip_msg_set_sdp_body(m, "", 0), -EINVAL);
	assert_int_equal(sip_msg_set_sdp_body(m, NEW_SDP, SIP_MSG_MAX_LEN + 1), -EMSGSIZE);
	osip_message_free(m);

	/* no SDP to replace */
	m = parse_fixture("v-register");
	assert_int_equal(sip_msg_get_sdp_body(m, &sdp, &len), -ENOENT);
	assert_int_equal(sip_msg_set_sdp_body(m, NEW_SDP, strlen(NEW_SDP)), -ENOENT);
	osip_message_free(m);
	m = parse_fixture("v-unknown-method"); /* text/plain */
	assert_int_equal(sip_msg_set_sdp_body(m, NEW_SDP, strlen(NEW_SDP)), -ENOENT);
	osip_message_free(m);
}

static void test_sdp_replace_multipart(void **state)
{
	static const uint8_t isup[] = {0x01, 0x00, 0x49, 0x00, 0x00, 0x03, 0x02, 0x00, 0x07, 0x04,
				       0x10, 0x00, 0x33, 0x63, 0x21, 0x43, 0x00, 0x00, 0x03};
	const char *names[] = {"v-multipart-mixed", "v-multipart-alternative"};
	size_t i, len, n, n2;

	(void)state;
	for (i = 0; i < 2; i++) {
		osip_message_t *m = parse_fixture(names[i]), *m2;
		const char *sdp;
		osip_body_t *other;
		char *b, *b2;

		assert_int_equal(sip_msg_set_sdp_body(m, NEW_SDP, strlen(NEW_SDP)), 0);
		b = bytes_of(m, &n);
		assert_content_length(b, n);
		assert_non_null(strstr(b, "multipart/"));
		m2 = parse_buf(b, n);
		assert_int_equal(osip_list_size(&m2->bodies), 2);
		assert_int_equal(sip_msg_get_sdp_body(m2, &sdp, &len), 0);
		assert_int_equal(len, strlen(NEW_SDP));
		assert_memory_equal(sdp, NEW_SDP, len);
		/* the other part is kept byte for byte */
		other = osip_list_get(&m2->bodies, i == 0 ? 1 : 0);
		if (i == 0) {
			assert_int_equal(other->length, sizeof(isup));
			assert_memory_equal(other->body, isup, sizeof(isup));
			assert_non_null(strstr(b, "Content-Disposition: signal;handling=optional\r\n"));
		} else {
			assert_int_equal(other->length, strlen("please use the SDP part"));
			assert_memory_equal(other->body, "please use the SDP part", other->length);
		}
		/* and the result is stable */
		b2 = bytes_of(m2, &n2);
		assert_int_equal(n, n2);
		assert_memory_equal(b, b2, n);
		free(b2);
		osip_message_free(m2);
		free(b);
		osip_message_free(m);
	}
}

/* ---- helpers: keys ---- */

static void test_txn_key(void **state)
{
	osip_message_t *inv = parse_fixture("v-invite-sdp"), *m;
	char k1[512], k2[512];

	(void)state;
	/* RFC 3261 §17.2.3: branch, sent-by, method */
	assert_int_equal(sip_msg_txn_key(inv, false, k1, sizeof(k1)), 0);
	assert_string_equal(k1, "z9hG4bKa1b2c3 192.0.2.10:5060 INVITE");

	/* the ACK of a non-2xx final response: same transaction */
	m = parse_str("ACK sip:bob@example.net SIP/2.0\r\n"
		      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa1b2c3\r\n"
		      "To: <sip:bob@example.net>;tag=x\r\nFrom: <sip:alice@example.com>;tag=1928301774\r\n"
		      "Call-ID: a84b4c76e66710@192.0.2.10\r\nCSeq: 314159 ACK\r\n\r\n");
	assert_int_equal(sip_msg_txn_key(m, false, k2, sizeof(k2)), 0);
	assert_string_equal(k1, k2);
	osip_message_free(m);

	/* CANCEL: its own transaction, or (§9.2) the INVITE it cancels */
	m = parse_str("CANCEL sip:bob@example.net SIP/2.0\r\n"
		      "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKa1b2c3\r\n"
		      "To: <sip:bob@example.net>\r\nFrom: <sip:alice@example.com>;tag=1928301774\r\n"
		      "Call-ID: a84b4c76e66710@192.0.2.10\r\nCSeq: 314159 CANCEL\r\n\r\n");
	assert_int_equal(sip_msg_txn_key(m, false, k2, sizeof(k2)), 0);
	assert_string_equal(k2, "z9hG4bKa1b2c3 192.0.2.10:5060 CANCEL");
	assert_int_equal(sip_msg_txn_key(m, true, k2, sizeof(k2)), 0);
	assert_string_equal(k1, k2);
	osip_message_free(m);

	/* another sent-by (case aside) is another transaction */
	m = parse_str("INVITE sip:bob@example.net SIP/2.0\r\n"
		      "Via: SIP/2.0/UDP PC.Example.COM:5060;branch=z9hG4bKa1b2c3\r\n"
		      "To: <sip:bob@example.net>\r\nFrom: <sip:alice@example.com>;tag=1\r\n"
		      "Call-ID: c\r\nCSeq: 1 INVITE\r\n\r\n");
	assert_int_equal(sip_msg_txn_key(m, false, k2, sizeof(k2)), 0);
	assert_string_equal(k2, "z9hG4bKa1b2c3 pc.example.com:5060 INVITE");
	assert_int_equal(sip_msg_txn_key(m, false, k2, 10), -ENOSPC);
	osip_message_free(m);

	/* RFC 2543 branch: not matched here */
	m = parse_str("INVITE sip:bob@example.net SIP/2.0\r\n"
		      "Via: SIP/2.0/UDP 192.0.2.10;branch=old2543\r\n"
		      "To: <sip:bob@example.net>\r\nFrom: <sip:alice@example.com>;tag=1\r\n"
		      "Call-ID: c\r\nCSeq: 1 INVITE\r\n\r\n");
	assert_int_equal(sip_msg_txn_key(m, false, k2, sizeof(k2)), -ENOTSUP);
	osip_message_free(m);

	/* §17.1.3: a response matches by branch and CSeq method */
	m = parse_fixture("v-response-200");
	assert_int_equal(sip_msg_txn_key(m, false, k2, sizeof(k2)), 0);
	assert_string_equal(k2, "z9hG4bKproxy1 INVITE");
	osip_message_free(m);

	/* IPv6 sent-by */
	m = parse_fixture("v-ipv6");
	assert_int_equal(sip_msg_txn_key(m, false, k2, sizeof(k2)), 0);
	assert_string_equal(k2, "z9hG4bKv6 [2001:db8::20]:5060 INVITE");
	osip_message_free(m);
	osip_message_free(inv);
}

static void test_dialog_id(void **state)
{
	osip_message_t *a, *b;
	char ka[512], kb[512];

	(void)state;
	a = parse_fixture("v-response-200");
	assert_int_equal(sip_msg_dialog_id(a, ka, sizeof(ka)), 0);
	assert_string_equal(ka, "a84b4c76e66710@192.0.2.10;1928301774;a6c85cf");
	/* the callee's BYE has the tags the other way round */
	b = parse_str("BYE sip:alice@192.0.2.10 SIP/2.0\r\nVia: SIP/2.0/UDP 10.1.0.10;branch=z9hG4bKb\r\n"
		      "From: Bob <sip:bob@example.net>;tag=a6c85cf\r\n"
		      "To: Alice <sip:alice@example.com>;tag=1928301774\r\n"
		      "Call-ID: a84b4c76e66710@192.0.2.10\r\nCSeq: 1 BYE\r\n\r\n");
	assert_int_equal(sip_msg_dialog_id(b, kb, sizeof(kb)), 0);
	assert_string_equal(ka, kb);
	assert_int_equal(sip_msg_dialog_id(b, kb, 8), -ENOSPC);
	osip_message_free(b);
	osip_message_free(a);
	/* no To tag yet: no dialog */
	a = parse_fixture("v-invite-sdp");
	assert_int_equal(sip_msg_dialog_id(a, ka, sizeof(ka)), -ENOENT);
	osip_message_free(a);
}

static void test_bad_arguments(void **state)
{
	struct sip_err err;
	osip_message_t *m = NULL;
	struct sip_target t;
	char buf[64];
	size_t n;

	(void)state;
	assert_int_equal(sip_msg_parse("x", 1, 0, NULL, &err), -EINVAL);
	assert_int_equal(sip_msg_parse("x", 1, 0, &m, NULL), -EINVAL);
	assert_int_equal(sip_msg_to_bytes(NULL, NULL, &n), -EINVAL);
	assert_int_equal(sip_msg_max_forwards(NULL), -EINVAL);
	assert_int_equal(sip_msg_decrement_max_forwards(NULL), -EINVAL);
	assert_int_equal(sip_msg_top_via_fix(NULL, "192.0.2.1", 1), -EINVAL);
	assert_int_equal(sip_msg_via_target(NULL, 0, false, &t), -EINVAL);
	assert_int_equal(sip_msg_uri_target(NULL, &t), -EINVAL);
	assert_int_equal(sip_msg_loop_key(NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sip_msg_add_via(NULL, "UDP", "h", 1, NULL), -EINVAL);
	assert_int_equal(sip_msg_pop_via(NULL), -EINVAL);
	assert_int_equal(sip_msg_via_count(NULL), -EINVAL);
	assert_false(sip_msg_is_looped(NULL, "h", 1));
	assert_int_equal(sip_msg_add_record_route(NULL, "sip:h"), -EINVAL);
	assert_int_equal(sip_msg_route_preprocess(NULL, is_us, NULL, NULL), -EINVAL);
	assert_int_equal(sip_msg_route_strict_fixup(NULL), -EINVAL);
	assert_int_equal(sip_msg_build_response(NULL, 200, NULL, NULL, &m), -EINVAL);
	assert_int_equal(sip_msg_get_sdp_body(NULL, NULL, NULL), -EINVAL);
	assert_int_equal(sip_msg_set_sdp_body(NULL, "x", 1), -EINVAL);
	assert_int_equal(sip_msg_txn_key(NULL, false, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sip_msg_dialog_id(NULL, buf, sizeof(buf)), -EINVAL);
}

/* ---- RFC 4475 torture classes, and the URI grammar ----
 *
 * Messages written here in the spirit of RFC 4475 §3.1.1 (valid: must be
 * accepted and forwarded as they came) and §3.1.2/§3.3 (invalid: the
 * exact status and reason), for the classes the fixtures above do not
 * already cover, and the cases of the URI grammar and round-trip checks
 * (a URI libosip2 would not give back as it read it is refused with 400,
 * never forwarded as something else). */

#define T_VIA "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKt1\r\n"
#define T_FROM "<sip:alice@example.net>;tag=f1"
#define T_TO "<sip:bob@example.com>"
#define T_CID "Call-ID: t4475@192.0.2.1\r\n"
/* an OPTIONS with the given request line, To, From and extra headers */
#define T_OPT_RL(rline, to, from, more)                                                  \
	rline "\r\n" T_VIA "Max-Forwards: 70\r\nTo: " to "\r\nFrom: " from "\r\n" T_CID \
	      "CSeq: 1 OPTIONS\r\n" more "Content-Length: 0\r\n\r\n"
#define T_OPT(to, from, more) T_OPT_RL("OPTIONS sip:bob@example.com SIP/2.0", to, from, more)

/* Parse s (exactly its bytes); expect 0, and what goes out to parse back
 * to the same thing (the invariant the SIP fuzzer checks). */
static osip_message_t *parse_valid(const char *s, size_t len)
{
	char *buf = malloc(len), *b;
	osip_message_t *m, *m2;
	size_t n;

	assert_non_null(buf);
	memcpy(buf, s, len);
	m = parse_buf(buf, len);
	free(buf);
	b = bytes_of(m, &n);
	m2 = parse_buf(b, n);
	assert_same_meaning(m, m2);
	{
		char *a = uri_str(m->to->url), *c = uri_str(m2->to->url);

		assert_string_equal(a, c);
		free(a);
		free(c);
		a = uri_str(m->from->url);
		c = uri_str(m2->from->url);
		assert_string_equal(a, c);
		free(a);
		free(c);
	}
	osip_message_free(m2);
	free(b);
	return m;
}

static void test_rfc4475_valid(void **state)
{
	static const char semiuri[] = T_OPT_RL(
		"OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0", T_TO, T_FROM, "");
	static const char novelsc[] = T_OPT("isbn:2983792873", T_FROM, "");
	static const char urn_to[] = T_OPT("<urn:service:sos>;tag=t9", T_FROM, "");
	static const char unreason[] =
		"SIP/2.0 200 = 2**3 * 5**2 \xd0\xbd\xd0\xbe \xd1\x81\xd1\x82\xd0\xbe "
		"\xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd0\xbd\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe \xd0\xb4"
		"\xd0\xb5\xd0\xb2\xd1\x8f\xd1\x82\xd1\x8c\r\n"
		"Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\r\n"
		"Call-ID: unreason.1234ksdfak3j2erwedfsASdf\r\nCSeq: 35 INVITE\r\n"
		"From: sip:user@example.com;tag=11141343\r\nTo: sip:user@example.edu;tag=2229\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char intmeth_body[] =
		"!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$"
		"/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\r\n"
		T_VIA "Max-Forwards: 70\r\nTo: " T_TO "\r\nFrom: " T_FROM "\r\n" T_CID
		"CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\r\n"
		"Content-Type: application/sdp\r\nContent-Length: 136\r\n\r\n"
		"v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=-\r\n"
		"c=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8\r\n"
		"a=rtpmap:0 PCMU/8000\r\n";
	static const char lwsdisp[] = T_OPT(T_TO, "caller<sip:caller@example.com>;tag=323", "");
	static const char transports[] =
		"OPTIONS sip:bob@example.com SIP/2.0\r\n" T_VIA
		"Via: SIP/2.0/SCTP s.example.com;branch=z9hG4bKs\r\n"
		"Via: SIP/2.0/TLS t.example.com:5061;branch=z9hG4bKtl\r\n"
		"Via: SIP/2.0/UNKNOWN u.example.com;branch=z9hG4bKu\r\n"
		"Max-Forwards: 70\r\nTo: " T_TO "\r\nFrom: " T_FROM "\r\n" T_CID
		"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
	/* RFC 4475 §3.1.2.4 says a bad Expires may be taken as the default:
	 * the parser passes it on untouched (the registrar decides) */
	static const char expires[] = T_OPT(T_TO, T_FROM,
		"Expires: 1000000000000000000000000000000000000000000000000000000000000000\r\n"
		"Contact: <sip:alice@192.0.2.1>;expires=280297596632815\r\n");
	static const char dialstring[] =
		T_OPT_RL("OPTIONS sip:*67#123@example.com;user=dialstring SIP/2.0", T_TO, T_FROM, "");
	static const char password_ipv6[] =
		T_OPT("\"Bob\" <sip:bob:secret@[2001:db8::1]:5070;transport=tcp?subject=hi%20there>",
		      T_FROM, "");
	static const char nul_sdp[] =
		"INVITE sip:bob@example.com SIP/2.0\r\n" T_VIA "Max-Forwards: 70\r\nTo: " T_TO
		"\r\nFrom: " T_FROM "\r\n" T_CID "CSeq: 1 INVITE\r\n"
		"Content-Type: application/sdp\r\nContent-Length: 26\r\n\r\n"
		"v=0\r\no=- 1 1 IN IP4 1\0.1\r\n";
	char big[6000];
	osip_message_t *m;
	const char *sdp;
	size_t len;
	char *b;
	int k;

	(void)state;
	/* §3.1.1.9: the user part holds ';' params; no URI parameters */
	m = parse_valid(semiuri, sizeof(semiuri) - 1);
	assert_string_equal(m->req_uri->username, "user;par=u@example.net");
	assert_string_equal(m->req_uri->host, "example.com");
	assert_int_equal(osip_list_size(&m->req_uri->url_params), 0);
	b = bytes_of(m, NULL);
	assert_true(!strncmp(b, "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\r\n", 58));
	free(b);
	osip_message_free(m);

	/* §3.3.3: a scheme nobody knows in To is kept as it is */
	m = parse_valid(novelsc, sizeof(novelsc) - 1);
	assert_string_equal(m->to->url->scheme, "isbn");
	assert_string_equal(m->to->url->string, "2983792873");
	b = bytes_of(m, NULL);
	assert_non_null(strstr(b, "\r\nTo: <isbn:2983792873>\r\n"));
	free(b);
	osip_message_free(m);
	m = parse_valid(urn_to, sizeof(urn_to) - 1);
	assert_string_equal(m->to->url->scheme, "urn");
	assert_string_equal(tag(m->to), "t9");
	osip_message_free(m);

	/* §3.1.1.12: a reason phrase of digits, symbols and UTF-8 */
	m = parse_valid(unreason, sizeof(unreason) - 1);
	assert_int_equal(m->status_code, 200);
	assert_int_equal(strlen(m->reason_phrase), strchr(unreason, '\r') - unreason - 12);
	assert_memory_equal(m->reason_phrase, unreason + 12, strlen(m->reason_phrase));
	osip_message_free(m);

	/* §3.1.1.2: an odd but legal method and Request-URI, with a body */
	m = parse_valid(intmeth_body, sizeof(intmeth_body) - 1);
	assert_string_equal(m->sip_method, "!interesting-Method0123456789_*+`.%indeed'~");
	assert_string_equal(m->req_uri->host, "example.com");
	assert_int_equal(sip_msg_get_sdp_body(m, &sdp, &len), 0);
	assert_int_equal(len, strlen(SDP));
	assert_memory_equal(sdp, SDP, len);
	osip_message_free(m);

	/* §3.1.1.6: no blank between the display name and '<' */
	m = parse_valid(lwsdisp, sizeof(lwsdisp) - 1);
	assert_string_equal(m->from->displayname, "caller");
	assert_string_equal(tag(m->from), "323");
	osip_message_free(m);

	/* §3.1.1.10: transports the proxy does not know are forwarded */
	m = parse_valid(transports, sizeof(transports) - 1);
	assert_int_equal(sip_msg_via_count(m), 4);
	assert_string_equal(((osip_via_t *)osip_list_get(&m->vias, 3))->protocol, "UNKNOWN");
	osip_message_free(m);

	/* huge Expires values: accepted, passed on unchanged */
	m = parse_valid(expires, sizeof(expires) - 1);
	assert_int_equal(strlen(header(m, "expires")), 64);
	b = bytes_of(m, NULL);
	assert_non_null(strstr(b, ";expires=280297596632815\r\n"));
	free(b);
	osip_message_free(m);

	/* '#' in a dial string: taken (RFC 2806); it goes out escaped, the
	 * same URI by RFC 3261 §19.1.4 */
	m = parse_valid(dialstring, sizeof(dialstring) - 1);
	assert_string_equal(m->req_uri->username, "*67#123");
	b = bytes_of(m, NULL);
	assert_true(!strncmp(b, "OPTIONS sip:*67%23123@example.com;user=dialstring SIP/2.0\r\n", 58));
	free(b);
	osip_message_free(m);

	/* every part of a SIP URI at once: password, IPv6, port, param, header */
	m = parse_valid(password_ipv6, sizeof(password_ipv6) - 1);
	assert_string_equal(m->to->url->password, "secret");
	assert_string_equal(m->to->url->host, "2001:db8::1");
	assert_string_equal(m->to->url->port, "5070");
	assert_int_equal(osip_list_size(&m->to->url->url_headers), 1);
	osip_message_free(m);

	/* §3.1.1.7-style long values: a 4000-character user part and display
	 * name, both kept */
	k = snprintf(big, sizeof(big), "OPTIONS sip:");
	memset(big + k, 'u', 4000);
	k += 4000;
	k += snprintf(big + k, sizeof(big) - (size_t)k,
		      "@example.com SIP/2.0\r\n" T_VIA "Max-Forwards: 70\r\nTo: \"%0800d\" " T_TO
		      "\r\nFrom: " T_FROM "\r\n" T_CID "CSeq: 1 OPTIONS\r\n\r\n", 7);
	m = parse_valid(big, (size_t)k);
	assert_int_equal(strlen(m->req_uri->username), 4000);
	assert_int_equal(strlen(m->to->displayname), 802);
	osip_message_free(m);

	/* a NUL byte inside an SDP body is body, not the end of it: the SDP
	 * layer sees all of it (and refuses it: 488) */
	m = parse_valid(nul_sdp, sizeof(nul_sdp) - 1);
	assert_int_equal(sip_msg_get_sdp_body(m, &sdp, &len), 0);
	assert_int_equal(len, 26);
	assert_int_equal(sdp[21], '\0');
	osip_message_free(m);
}

static const struct {
	const char *name, *msg;
	int status;
	const char *reason; /* exact err.reason */
	bool answerable;
} refused[] = {
	/* RFC 4475 §3.1.2 and §3.3 classes the fixtures do not cover */
	{"badinv01: ;;,;,, in Via",
	 "INVITE sip:user@example.com SIP/2.0\r\nTo: sip:j.user@example.com\r\n"
	 "From: sip:caller@example.net;tag=134161461246\r\nMax-Forwards: 7\r\n"
	 "Call-ID: badinv01.0ha0isndaksdjasdf3234nas\r\nCSeq: 8 INVITE\r\n"
	 "Via: SIP/2.0/UDP 192.0.2.15;;,;,,\r\nContent-Length: 0\r\n\r\n",
	 400, "Bad Request (malformed message)", false},
	{"badinv01: ;;;; after a Contact", T_OPT(T_TO, T_FROM, "Contact: \"Joe\" <sip:joe@example.org>;;;;\r\n"),
	 400, "Bad Request (bad Contact)", true},
	{"scalarlg: CSeq 2**65, Max-Forwards 300, Expires 10**100",
	 "REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3\r\n"
	 "To: <sip:user@example.com>\r\nFrom: <sip:user@example.com>;tag=239232jh3\r\n"
	 "CSeq: 36893488147419103232 REGISTER\r\nCall-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\r\n"
	 "Max-Forwards: 300\r\nExpires: 10000000000000000000000000000000000000000\r\n"
	 "Contact: <sip:user@host129.example.com>;expires=280297596632815\r\nContent-Length: 0\r\n\r\n",
	 400, "Bad Request (bad CSeq)", true},
	{"CSeq 2**64 exactly",
	 "OPTIONS sip:bob@example.com SIP/2.0\r\n" T_VIA "To: " T_TO "\r\nFrom: " T_FROM "\r\n" T_CID
	 "CSeq: 18446744073709551616 OPTIONS\r\n\r\n",
	 400, "Bad Request (bad CSeq)", true},
	{"clerr: Content-Length 9999 for 4 bytes",
	 "OPTIONS sip:bob@example.com SIP/2.0\r\n" T_VIA "To: " T_TO "\r\nFrom: " T_FROM "\r\n" T_CID
	 "CSeq: 1 OPTIONS\r\nContent-Type: text/plain\r\nContent-Length: 9999\r\n\r\nabcd",
	 400, "Bad Request (Content-Length larger than body)", true},
	{"scalar02: Content-Length -999",
	 "OPTIONS sip:bob@example.com SIP/2.0\r\n" T_VIA "To: " T_TO "\r\nFrom: " T_FROM "\r\n" T_CID
	 "CSeq: 1 OPTIONS\r\nContent-Type: text/plain\r\nContent-Length: -999\r\n\r\nabcd",
	 400, "Bad Request (bad Content-Length)", true},
	{"Content-Length 2**64",
	 "OPTIONS sip:bob@example.com SIP/2.0\r\n" T_VIA "To: " T_TO "\r\nFrom: " T_FROM "\r\n" T_CID
	 "CSeq: 1 OPTIONS\r\nContent-Length: 18446744073709551616\r\n\r\n",
	 400, "Bad Request (bad Content-Length)", true},
	{"insuf: no Call-ID, From or To",
	 "INVITE sip:user@example.com SIP/2.0\r\nCSeq: 193942 INVITE\r\n"
	 "Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\r\nContent-Length: 0\r\n\r\n",
	 400, "Bad Request (missing From)", false},
	{"multi01: two CSeqs", T_OPT(T_TO, T_FROM, "CSeq: 2 OPTIONS\r\n"),
	 400, "Bad Request (duplicate CSeq)", false},
	{"multi01: two Froms", T_OPT(T_TO, T_FROM, "From: <sip:eve@example.net>;tag=e\r\n"),
	 400, "Bad Request (duplicate From)", false},
	{"two Max-Forwards", T_OPT(T_TO, T_FROM, "Max-Forwards: 69\r\n"),
	 400, "Bad Request (duplicate Max-Forwards)", true},
	{"two Content-Types", T_OPT(T_TO, T_FROM, "Content-Type: text/plain\r\nc: text/html\r\n"),
	 400, "Bad Request (duplicate Content-Type)", true},
	{"quotbal in From", T_OPT(T_TO, "\"Alice <sip:alice@example.net>;tag=f1", ""),
	 400, "Bad Request (bad From)", false},
	{"unterminated quoted tag", T_OPT(T_TO, "<sip:alice@example.net>;tag=\"f1", ""),
	 400, "Bad Request (bad From)", true},
	{"baddn: unquoted comma in a display name",
	 T_OPT(T_TO, "Bell, Alexander <sip:a.g.bell@example.com>;tag=43", ""),
	 400, "Bad Request (bad URI in From)", false},
	{"'>' closing a Request-URI", T_OPT_RL("OPTIONS sip:bob@example.com> SIP/2.0", T_TO, T_FROM, ""),
	 400, "Bad Request (bad Request-URI)", true},
	{"escruri: headers in the Request-URI",
	 T_OPT_RL("OPTIONS sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0", T_TO, T_FROM, ""),
	 400, "Bad Request (headers in Request-URI)", true},
	{"regbadct: an unbracketed Contact with '?'",
	 T_OPT(T_TO, T_FROM, "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\r\n"),
	 400, "Bad Request (bad URI in Contact)", true},
	{"illegal escape %ZZ", T_OPT_RL("OPTIONS sip:user%ZZ@example.com SIP/2.0", T_TO, T_FROM, ""),
	 400, "Bad Request (bad escape in URI)", true},
	{"illegal escape: '%' and one digit at the end",
	 T_OPT_RL("OPTIONS sip:user@example.com;x=%4 SIP/2.0", T_TO, T_FROM, ""),
	 400, "Bad Request (bad escape in URI)", true},
	{"illegal escape in To", T_OPT("<sip:a%G1@example.com>", T_FROM, ""),
	 400, "Bad Request (bad URI in To)", true},
	{"escaped control character in To", T_OPT("<sip:a%01b@example.com>", T_FROM, ""),
	 400, "Bad Request (bad URI in To)", true},
	{"SIP/7.0", T_OPT_RL("OPTIONS sip:bob@example.com SIP/7.0", T_TO, T_FROM, ""),
	 505, "Version Not Supported", true},
	{"SIP/2.0x", T_OPT_RL("OPTIONS sip:bob@example.com SIP/2.0x", T_TO, T_FROM, ""),
	 400, "Bad Request (bad request line)", true},
	{"methods are case-sensitive (CSeq: 1 options)",
	 "OPTIONS sip:bob@example.com SIP/2.0\r\n" T_VIA "To: " T_TO "\r\nFrom: " T_FROM "\r\n" T_CID
	 "CSeq: 1 options\r\n\r\n",
	 400, "Bad Request (CSeq method mismatch)", true},
	{"unkscm: an opaque novel scheme in the Request-URI",
	 T_OPT_RL("OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0", T_TO, T_FROM, ""),
	 416, "Unsupported URI Scheme", true},

	/* the URI grammar: bytes and shapes libosip2 would not give back */
	{"the fuzzer's <sip:c?aro\\x94...> in To",
	 T_OPT("<sip:c?aro\x94\xbf" "example.com>", T_FROM, ""),
	 400, "Bad Request (bad URI in To)", true},
	{"UTF-8 in the Request-URI", T_OPT_RL("OPTIONS sip:caf\xc3\xa9@example.com SIP/2.0", T_TO, T_FROM, ""),
	 400, "Bad Request (bad Request-URI)", true},
	{"non-ASCII in a Request-URI of an unknown scheme",
	 T_OPT_RL("OPTIONS x-foo:caf\xc3\xa9 SIP/2.0", T_TO, T_FROM, ""),
	 400, "Bad Request (bad Request-URI)", true},
	{"a URI header without '=' (dropped by libosip2)", T_OPT("<sip:a@example.com?x>", T_FROM, ""),
	 400, "Bad Request (bad URI in To)", true},
	{"'?' inside a URI parameter value", T_OPT("<sip:a@example.com;p=a?b>", T_FROM, ""),
	 400, "Bad Request (bad URI in To)", true},
	{"an empty URI parameter value", T_OPT("<sip:a@example.com;lr=>", T_FROM, ""),
	 400, "Bad Request (bad URI in To)", true},
	{"an empty URI parameter", T_OPT("<sip:a@example.com;;lr>", T_FROM, ""),
	 400, "Bad Request (bad URI in To)", true},
	{"an empty user part", T_OPT("<sip:@example.com>", T_FROM, ""),
	 400, "Bad Request (bad URI in To)", true},
	{"two '@'", T_OPT("<sip:a@b@example.com>", T_FROM, ""),
	 400, "Bad Request (bad URI in To)", true},
	{"[] around what is not an IPv6 address (the brackets are lost)",
	 T_OPT_RL("OPTIONS sip:[0]:5070;transport=udp SIP/2.0", T_TO, T_FROM, ""),
	 400, "Bad Request (bad Request-URI)", true},
	{"an IPv4 address in []", T_OPT("<sip:a@[192.0.2.1]>", T_FROM, ""),
	 400, "Bad Request (bad URI in To)", true},
	{"a Via sent-by of [192.0.2.1] (would go out as 192.0.2.1)",
	 "OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP [192.0.2.1]:5060;branch=z9hG4bK1\r\n"
	 "To: " T_TO "\r\nFrom: " T_FROM "\r\n" T_CID "CSeq: 1 OPTIONS\r\n\r\n",
	 400, "Bad Request (bad Via)", true},
	{"a port without digits", T_OPT("<sip:a@example.com:>", T_FROM, ""),
	 400, "Bad Request (bad URI in To)", false},
	{"an escaped blank at the end of a URI parameter (trimmed by libosip2)",
	 T_OPT_RL("OPTIONS sip:bob@example.com;lr=x%20 SIP/2.0", T_TO, T_FROM, ""),
	 400, "Bad Request (bad Request-URI)", true},
	{"an escaped blank starting a URI header value", T_OPT("<sip:a@example.com?h=%09v>", T_FROM, ""),
	 400, "Bad Request (bad URI in To)", true},
	{"octets after the '>' of To", T_OPT("<sip:bob@example.com>x", T_FROM, ""),
	 400, "Bad Request (bad To)", true},
	{"two addresses in To", T_OPT("<sip:bob@example.com>, <sip:eve@example.com>", T_FROM, ""),
	 400, "Bad Request (bad To)", true},
	{"two tags in From", T_OPT(T_TO, "<sip:alice@example.net>;tag=1;tag=2", ""),
	 400, "Bad Request (bad From)", true},
	{"two branches in a Via",
	 "OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;BRANCH=z9hG4bK2\r\n"
	 "To: " T_TO "\r\nFrom: " T_FROM "\r\n" T_CID "CSeq: 1 OPTIONS\r\n\r\n",
	 400, "Bad Request (bad Via)", true},
	{"a bad second Contact", T_OPT(T_TO, T_FROM, "Contact: <sip:a@192.0.2.1>, <sip:b@192.0.2.\x80>\r\n"),
	 400, "Bad Request (bad URI in Contact)", true},
	{"a non-ASCII Record-Route",
	 T_OPT(T_TO, T_FROM, "Record-Route: <sip:p1.example.com;lr>, <sip:p\xff.example.com;lr>\r\n"),
	 400, "Bad Request (bad URI in Record-Route)", true},
	{"URI headers in a Route (it may become the Request-URI)",
	 T_OPT(T_TO, T_FROM, "Route: <sip:p1.example.com;lr?x=y>\r\n"),
	 400, "Bad Request (bad URI in Route)", true},
	/* libosip2 5.3 refuses its own "<sip:c>" (fewer than six characters
	 * inside <>): the round-trip check catches what the grammar allows */
	{"To: sip:c (would go out as <sip:c>)", T_OPT("sip:c", T_FROM, ""),
	 400, "Bad Request (does not survive re-encoding)", true},
};

#define N_REFUSED (sizeof(refused) / sizeof(refused[0]))

static void test_rfc4475_refused(void **state)
{
	static const char *const mf_cases[] = {"300000000000000000000", "-1", "+1", "1 2"};
	unsigned bad = 0;
	size_t i;

	(void)state;
	for (i = 0; i < N_REFUSED; i++) {
		struct sip_err err;
		osip_message_t *m = (osip_message_t *)1;
		size_t len = strlen(refused[i].msg);
		char *buf;
		int rc;

		buf = malloc(len);
		assert_non_null(buf);
		memcpy(buf, refused[i].msg, len);
		rc = sip_msg_parse(buf, len, 0, &m, &err);
		if (rc != -EBADMSG || err.status != refused[i].status || !err.reason ||
		    strcmp(err.reason, refused[i].reason) || (m != NULL) != refused[i].answerable) {
			print_message("%s: rc %d status %d reason \"%s\" msg %p\n", refused[i].name, rc,
				      err.status, err.reason ? err.reason : "(null)", (void *)m);
			bad++;
		}
		if (m) {
			osip_message_t *r = NULL;

			assert_int_equal(sip_msg_build_response(m, err.status, err.reason, NULL, &r), 0);
			osip_message_free(r);
			osip_message_free(m);
		}
		free(buf);
	}
	/* Max-Forwards out of range or not a number (RFC 4475 §3.1.2.4) */
	for (i = 0; i < sizeof(mf_cases) / sizeof(mf_cases[0]); i++) {
		char msg[512];
		struct sip_err err;
		osip_message_t *m = NULL;
		int n = snprintf(msg, sizeof(msg),
				 "OPTIONS sip:bob@example.com SIP/2.0\r\n" T_VIA "Max-Forwards: %s\r\n"
				 "To: " T_TO "\r\nFrom: " T_FROM "\r\n" T_CID "CSeq: 1 OPTIONS\r\n\r\n",
				 mf_cases[i]);

		assert_int_equal(sip_msg_parse(msg, (size_t)n, 0, &m, &err), -EBADMSG);
		assert_int_equal(err.status, 400);
		assert_string_equal(err.reason, "Bad Request (bad Max-Forwards)");
		assert_non_null(m);
		osip_message_free(m);
	}
	assert_int_equal(bad, 0);
}

/* The reproducer of the bug the SIP fuzzer found
 * (tests/fuzz/regress/sip-short-host-reparse.bin): accepted, it went out
 * with "To: <sip:c>", which libosip2 then refused. */
static void test_fuzz_short_host(void **state)
{
	static const char msg[] =
		"REGISTER sip:example.com SIP/2.0\r\n"
		"Via: SIP/2.0/TCP 192.0.2.30:5060;branch=z9hG4bKreg1\r\n"
		"Max-Forwards: 70\r\nTo: <sip:c?aro\x94\xbf" "example.com>\r\n"
		"From: <sip:carol@example.com>;tag=r1\r\nCall-ID: reg.1@192.0.2.30\r\n"
		"CSeq: 1 REGISTER\r\nContact: <sip:carol@192.0.2.30:5060>;expires=3600\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sip_err err;
	osip_message_t *m = NULL, *r = NULL;
	char *b;

	(void)state;
	assert_int_equal(sip_msg_parse(msg, sizeof(msg) - 1, 0, &m, &err), -EBADMSG);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.reason, "Bad Request (bad URI in To)");
	/* answered 400, the To as received */
	assert_non_null(m);
	assert_int_equal(sip_msg_build_response(m, err.status, err.reason, NULL, &r), 0);
	b = bytes_of(r, NULL);
	assert_true(!strncmp(b, "SIP/2.0 400 Bad Request (bad URI in To)\r\n", 41));
	free(b);
	osip_message_free(r);
	osip_message_free(m);
}

/* ---- random mutation ---- */

#ifndef MUTANTS_PER_FIXTURE
#define MUTANTS_PER_FIXTURE 120 /* x 51 fixtures: about 6,000 mutants */
#endif

#ifndef MUTATION_SEED
#define MUTATION_SEED 0x2545f4914f6cdd1dull
#endif

static uint64_t rng = MUTATION_SEED;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static size_t below(size_t n)
{
	return n ? rnd() % n : 0;
}

static const char specials[] = "\r\n:;,<>\"@= \t%0\\/[]";

/* Damage p[0..n) into out (room for 2n + 256); returns the new size. */
static size_t mutate(const char *p, size_t n, char *out)
{
	size_t len = n, at, k, span;
	unsigned ops = 1 + (unsigned)below(4);

	memcpy(out, p, n);
	while (ops--) {
		switch (below(10)) {
		case 0: /* flip bits */
			if (len)
				out[below(len)] ^= (char)(1u << below(8));
			break;
		case 1: /* random byte */
			if (len)
				out[below(len)] = (char)rnd();
			break;
		case 2: /* a byte that means something in SIP */
		case 3:
			if (len)
				out[below(len)] = specials[below(sizeof(specials) - 1)];
			break;
		case 4: /* truncate */
			len = below(len + 1);
			break;
		case 5: /* insert a special */
			if (len < 2 * n + 200) {
				at = below(len + 1);
				memmove(out + at + 1, out + at, len - at);
				out[at] = specials[below(sizeof(specials) - 1)];
				len++;
			}
			break;
		case 6: /* delete a span */
			if (len) {
				at = below(len);
				span = 1 + below(len - at < 16 ? len - at : 16);
				if (span <= len - at) {
					memmove(out + at, out + at + span, len - at - span);
					len -= span;
				}
			}
			break;
		case 7: /* duplicate a span (often a whole header line) */
			if (len) {
				char dup[80];

				at = below(len);
				span = 1 + below(len - at < sizeof(dup) ? len - at : sizeof(dup));
				k = below(len + 1);
				if (k <= len && len + span <= 2 * n + 200) {
					memcpy(dup, out + at, span);
					memmove(out + k + span, out + k, len - k);
					memcpy(out + k, dup, span);
					len += span;
				}
			}
			break;
		case 8: /* digits: lengths, ports, CSeq numbers */
			if (len)
				out[below(len)] = (char)('0' + below(10));
			break;
		default: /* extend */
			for (k = 1 + below(8); k-- && len < 2 * n + 200;)
				out[len++] = (char)rnd();
			break;
		}
	}
	return len;
}

static bool is_my(const osip_uri_t *uri, void *arg)
{
	(void)arg;
	return uri && uri->host && !strcmp(uri->host, "example.net");
}

static const char *cur_in; /* the mutant being exercised, for failure reports */
static size_t cur_len;

/* Everything a proxy would do with a message that passed. */
static void exercise(osip_message_t *m)
{
	char *b = NULL, *b2, key[512];
	const char *sdp;
	const osip_uri_t *hop;
	osip_message_t *m2 = NULL, *r = NULL;
	struct sip_target t;
	struct sip_err err;
	size_t n, n2, len;
	int rc;

	sip_msg_txn_key(m, true, key, sizeof(key));
	sip_msg_dialog_id(m, key, sizeof(key));
	sip_msg_via_target(m, 0, false, &t);
	if (sip_msg_get_sdp_body(m, &sdp, &len) == 0)
		assert_int_equal(sip_msg_set_sdp_body(m, NEW_SDP, strlen(NEW_SDP)), 0);
	if (MSG_IS_REQUEST(m)) {
		sip_msg_is_looped(m, "example.net", 5060);
		sip_msg_loop_key(m, key, sizeof(key));
		sip_msg_top_via_fix(m, "198.51.100.1", 5999);
		sip_msg_route_preprocess(m, is_my, NULL, &hop);
		sip_msg_route_strict_fixup(m);
		sip_msg_decrement_max_forwards(m);
		sip_msg_add_record_route(m, "sip:203.0.113.1");
		sip_msg_add_via(m, "UDP", "203.0.113.1", 5060, NULL);
		if (sip_msg_build_response(m, 400, NULL, NULL, &r) == 0)
			osip_message_free(r);
	} else if (sip_msg_via_count(m) > 1) {
		sip_msg_pop_via(m); /* with no Via left it is not forwarded (§16.7) */
	}
	/* what we send must be something we accept, and stable */
	rc = sip_msg_to_bytes(m, &b, &n);
	if (rc == 0) {
		rc = sip_msg_parse(b, n, 0, &m2, &err);
		if (rc != 0) {
			fprintf(stderr, "our own output refused (%d %s):\n%.*s\n---- from:\n%.*s\n",
				err.status, err.reason, (int)n, b, (int)cur_len, cur_in);
			fail();
		}
		b2 = bytes_of(m2, &n2);
		if (n2 != n || memcmp(b, b2, n)) {
			fprintf(stderr, "output not stable:\n%.*s\n---- then:\n%.*s\n---- from:\n%.*s\n",
				(int)n, b, (int)n2, b2, (int)cur_len, cur_in);
			fail();
		}
		free(b2);
		osip_message_free(m2);
		sip_msg_bytes_free(b);
	} else {
		assert_true(rc == -EMSGSIZE || rc == -EINVAL);
	}
}

static void test_mutations(void **state)
{
	size_t i, k, len, n, total = 0, passed = 0;
	char *src, *out, *copy;

	(void)state;
	alarm(300); /* a hang ends the run (SIGALRM kills the process) */
	for (i = 0; i < N_VALID + N_INVALID; i++) {
		src = load(i < N_VALID ? valid_fixtures[i] : invalid_fixtures[i - N_VALID].name, &len);
		out = malloc(2 * len + 256);
		assert_non_null(out);
		for (k = 0; k < MUTANTS_PER_FIXTURE; k++) {
			struct sip_err err;
			osip_message_t *m = NULL;
			int rc;

			n = mutate(src, len, out);
			copy = malloc(n ? n : 1);
			assert_non_null(copy);
			memcpy(copy, out, n);
			rc = sip_msg_parse(copy, n, 0, &m, &err);
			total++;
			if (rc == 0) {
				passed++;
				assert_non_null(m);
				cur_in = copy;
				cur_len = n;
				exercise(m);
			} else {
				assert_true(rc == -EBADMSG || rc == -EMSGSIZE);
				assert_true(err.status == 400 || err.status == 416 ||
					    err.status == 505 || err.status == 513);
				assert_non_null(err.reason);
				if (m) {
					osip_message_t *r = NULL;

					assert_int_equal(sip_msg_build_response(m, err.status, err.reason,
										NULL, &r), 0);
					osip_message_free(r);
				}
			}
			osip_message_free(m);
			free(copy);
		}
		free(out);
		free(src);
	}
	alarm(0);
	/* the run must reach the checks after parsing, not only the framing */
	assert_true(passed > total / 20);
	print_message("mutation: %zu mutants, %zu parsed\n", total, passed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_fixtures_parse),
		cmocka_unit_test(test_invite_sdp),
		cmocka_unit_test(test_whitespace_and_folding),
		cmocka_unit_test(test_escaped_uri),
		cmocka_unit_test(test_percent_not_escape),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_unknown_headers_and_method),
		cmocka_unit_test(test_compact_forms),
		cmocka_unit_test(test_multipart_parse),
		cmocka_unit_test(test_unusual_framing),
		cmocka_unit_test(test_invalid_fixtures),
		cmocka_unit_test(test_reason_phrases),
		cmocka_unit_test(test_generated_invalid),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_to_bytes_content_length),
		cmocka_unit_test(test_top_via_fix),
		cmocka_unit_test(test_response_target),
		cmocka_unit_test(test_uri_target),
		cmocka_unit_test(test_add_pop_via),
		cmocka_unit_test(test_max_forwards),
		cmocka_unit_test(test_record_route),
		cmocka_unit_test(test_route_preprocess),
		cmocka_unit_test(test_route_strict_fixup),
		cmocka_unit_test(test_loop_detection),
		cmocka_unit_test(test_build_response),
		cmocka_unit_test(test_sdp_replace_plain),
		cmocka_unit_test(test_sdp_replace_multipart),
		cmocka_unit_test(test_txn_key),
		cmocka_unit_test(test_dialog_id),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_rfc4475_valid),
		cmocka_unit_test(test_rfc4475_refused),
		cmocka_unit_test(test_fuzz_short_host),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
