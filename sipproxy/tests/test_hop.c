/* test_hop: which transport a hop takes and how the proxy names itself on
 * it (hop.c): sips: and transport=tls give TLS on port 5061 (RFC 5630,
 * RFC 3261 §19.1.1), other transports are refused, names need a route;
 * the listen entry serving each transport; Via tokens in a real message;
 * Record-Route pairs when realms or transports differ (RFC 5658), each
 * side keeping its transport and port; hop_ip4_str() writes what
 * inet_ntop() writes, for every value of each octet. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hop.h"
#include "sip/sip_msg.h"
#include "sp_conf.h"

static struct sp_conf conf;

static const char CONF_TEXT[] =
	"realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; },\n"
	" { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n"
	"listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; transports = [ \"udp\", \"tcp\", \"tls\" ]; },\n"
	" { address = \"203.0.113.1\"; realm = \"outside\"; transports = [ \"udp\", \"tls\" ];\n"
	"   tls_port = 5062; advertise = \"edge.example\"; } );\n"
	"tls = { cert = \"/x.pem\"; key = \"/x.key\"; };\n";

static int setup(void **state)
{
	(void)state;
	if (sip_msg_init() != 0)
		return -1;
	return sp_conf_load_string(CONF_TEXT, "t", &conf, stderr);
}

/* The hop a URI names: hop_of_target(sip_msg_uri_target(uri)). */
static int hop_of(const char *uri, struct tp_addr *d)
{
	struct sip_target t;
	sip_uri_t *u = NULL;
	int rc;

	assert_int_equal(sip_uri_parse(uri, &u), 0);
	rc = sip_msg_uri_target(u, &t);
	sip_uri_free(u);
	if (rc < 0)
		return rc;
	return hop_of_target(&t, d);
}

static void expect(const char *uri, bool tcp, bool tls, unsigned port)
{
	struct tp_addr d;

	if (hop_of(uri, &d) != 0)
		fail_msg("%s: no hop", uri);
	if (d.tcp != tcp || d.tls != tls || ntohs(d.peer.sin_port) != port)
		fail_msg("%s: tcp=%d tls=%d port=%u, wanted %d %d %u", uri, d.tcp, d.tls,
			 ntohs(d.peer.sin_port), tcp, tls, port);
}

static void test_targets(void **state)
{
	struct tp_addr d;

	(void)state;
	expect("sip:10.0.0.1", false, false, 5060);
	expect("sip:bob@10.0.0.1;transport=tcp", true, false, 5060);
	expect("sip:bob@10.0.0.1;transport=TLS", true, true, 5061);
	expect("sip:10.0.0.1:5071;transport=tls", true, true, 5071);
	expect("sips:bob@10.0.0.1", true, true, 5061);
	expect("sips:10.0.0.1:6000", true, true, 6000);
	/* maddr wins over the host, and keeps the transport */
	expect("sips:bob@edge.example;maddr=192.0.2.9", true, true, 5061);
	assert_int_equal(hop_of("sip:10.0.0.1;transport=sctp", &d), -EPROTONOSUPPORT);
	assert_int_equal(hop_of("sip:10.0.0.1;transport=ws", &d), -EPROTONOSUPPORT);
	assert_int_equal(hop_of("sips:bob@edge.example", &d), -EHOSTUNREACH);
	assert_int_equal(hop_of("sip:[2001:db8::1]", &d), -EAFNOSUPPORT);
}

static void test_names_ports_listens(void **state)
{
	struct tp_addr udp = {0}, tcp = {.tcp = true}, tls = {.tcp = true, .tls = true};
	char buf[INET_ADDRSTRLEN];

	(void)state;
	assert_string_equal(hop_via(&udp), "UDP");
	assert_string_equal(hop_via(&tcp), "TCP");
	assert_string_equal(hop_via(&tls), "TLS");
	assert_string_equal(hop_name(&tls), "tls");
	assert_string_equal(hop_param(&udp), "");
	assert_string_equal(hop_param(&tls), ";transport=tls");
	assert_int_equal(hop_port(&conf, 0, &udp), 5060);
	assert_int_equal(hop_port(&conf, 0, &tls), 5061);
	assert_int_equal(hop_port(&conf, 1, &tls), 5062);
	assert_int_equal(hop_listen(&conf, 0, &tls), 0);
	assert_int_equal(hop_listen(&conf, 1, &tls), 1);
	assert_int_equal(hop_listen(&conf, 1, &tcp), -1); /* outside has no TCP */
	assert_int_equal(hop_listen(&conf, 1, &udp), 1);
	assert_true(hop_same(&tcp, &tcp));
	assert_false(hop_same(&tcp, &tls));
	assert_string_equal(hop_host(&conf, 0, buf), "10.1.0.1");
	assert_string_equal(hop_host(&conf, 1, buf), "edge.example");
}

static void rr_is(int in_li, const struct tp_addr *in, int out_li, const struct tp_addr *out,
		  const char *a, const char *b)
{
	char rr[2][HOP_RR_MAX];
	int n = hop_record_route(&conf, in_li, in, out_li, out, rr);

	assert_int_equal(n, b ? 2 : 1);
	assert_string_equal(rr[0], a);
	if (b)
		assert_string_equal(rr[1], b);
}

static void test_record_route(void **state)
{
	struct tp_addr udp = {0}, tcp = {.tcp = true}, tls = {.tcp = true, .tls = true};

	(void)state;
	/* one side, one transport: one entry */
	rr_is(0, &udp, 0, &udp, "<sip:10.1.0.1:5060;lr>", NULL);
	rr_is(0, &tls, 0, &tls, "<sip:10.1.0.1:5061;lr;transport=tls>", NULL);
	/* same address, another transport: two, each with its port */
	rr_is(0, &udp, 0, &tls, "<sip:10.1.0.1:5060;lr>", "<sip:10.1.0.1:5061;lr;transport=tls>");
	rr_is(0, &tls, 0, &tcp, "<sip:10.1.0.1:5061;lr;transport=tls>", "<sip:10.1.0.1:5060;lr;transport=tcp>");
	/* across realms: phones over UDP inside, a TLS transit link outside */
	rr_is(0, &udp, 1, &tls, "<sip:10.1.0.1:5060;lr>", "<sip:edge.example:5062;lr;transport=tls>");
	rr_is(1, &tls, 0, &udp, "<sip:edge.example:5062;lr;transport=tls>", "<sip:10.1.0.1:5060;lr>");
	rr_is(0, &tls, 1, &tls, "<sip:10.1.0.1:5061;lr;transport=tls>",
	      "<sip:edge.example:5062;lr;transport=tls>");
}

/* The Via the proxy adds for a TLS hop, in the bytes it sends. */
static void test_via_in_message(void **state)
{
	static const char inv[] = "INVITE sips:bob@10.1.0.10 SIP/2.0\r\n"
				  "Via: SIP/2.0/TLS 203.0.113.10:40000;branch=z9hG4bKa1\r\n"
				  "Max-Forwards: 70\r\nFrom: <sips:alice@edge.test>;tag=1\r\n"
				  "To: <sips:bob@edge.test>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n"
				  "Content-Length: 0\r\n\r\n";
	struct tp_addr d, tls = {.tcp = true, .tls = true};
	struct sip_err e;
	sip_msg_t *m = NULL;
	char buf[INET_ADDRSTRLEN], rr[2][HOP_RR_MAX], *out = NULL;
	size_t len;
	int li, n;

	(void)state;
	assert_int_equal(sip_msg_parse(inv, sizeof(inv) - 1, 0, &m, &e), 0);
	/* the Request-URI is sips: a TLS hop to 5061, from the inside listen */
	{
		struct sip_target t;

		assert_int_equal(sip_msg_uri_target(sip_msg_req_uri(m), &t), 0);
		assert_int_equal(hop_of_target(&t, &d), 0);
	}
	assert_true(d.tls);
	li = hop_listen(&conf, 0, &d);
	assert_int_equal(li, 0);
	n = hop_record_route(&conf, 1, &tls, li, &d, rr);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++)
		assert_int_equal(sip_msg_add_record_route(m, rr[i]), 0);
	assert_int_equal(sip_msg_add_via(m, hop_via(&d), hop_host(&conf, li, buf), hop_port(&conf, li, &d),
					 "z9hG4bKtest"), 0);
	assert_int_equal(sip_msg_to_bytes(m, &out, &len), 0);
	assert_non_null(strstr(out, "Via: SIP/2.0/TLS 10.1.0.1:5061;branch=z9hG4bKtest\r\n"));
	assert_non_null(strstr(out, "Via: SIP/2.0/TLS 203.0.113.10:40000"));
	assert_non_null(strstr(out, "Record-Route: <sip:10.1.0.1:5061;lr;transport=tls>"));
	assert_non_null(strstr(out, "<sip:edge.example:5062;lr;transport=tls>"));
	sip_msg_bytes_free(out);
	sip_msg_free(m);
}

/* hop_ip4_str() against inet_ntop(): each octet position through 0..255
 * (the others fixed), plus the extremes and a pseudo-random sample. */
static void test_ip4_str(void **state)
{
	char want[INET_ADDRSTRLEN], got[INET_ADDRSTRLEN];
	uint32_t x = 2463534242u;

	(void)state;
	for (unsigned pos = 0; pos < 4; pos++)
		for (unsigned v = 0; v < 256; v++) {
			uint8_t o[4] = {203, 0, 113, 9};
			struct in_addr a;

			o[pos] = (uint8_t)v;
			memcpy(&a.s_addr, o, 4);
			assert_non_null(inet_ntop(AF_INET, &a, want, sizeof(want)));
			memset(got, 'x', sizeof(got));
			assert_ptr_equal(hop_ip4_str(a, got), got);
			assert_string_equal(got, want);
		}
	for (unsigned i = 0; i < 100000; i++) {
		struct in_addr a;

		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		a.s_addr = i == 0 ? 0 : i == 1 ? 0xffffffffu : x;
		assert_non_null(inet_ntop(AF_INET, &a, want, sizeof(want)));
		assert_string_equal(hop_ip4_str(a, got), want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_names_ports_listens),
		cmocka_unit_test(test_record_route),
		cmocka_unit_test(test_via_in_message),
		cmocka_unit_test(test_ip4_str),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
