/* Tests of natctl's command line (cli.c) and output (fmt.c): every bind
 * option mapped onto struct nc_bind (checked by encoding, since the
 * encoding is canonical), the other commands, global options, address
 * syntaxes, usage errors with their messages, and the text and JSON
 * printers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "fmt.h"

#define ARGV(...) ((char *const[]){"natctl", __VA_ARGS__, NULL})
#define ARGC(...) ((int)(sizeof((const char *[]){"natctl", __VA_ARGS__}) / sizeof(char *)))
#define PARSE(c, err, ...) cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), c, err, sizeof(err))

static struct cli C;
static char err[256];

static void ip(struct nc_ip *a, const char *s)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1)
		a->af = NC_AF_IP4;
	else {
		assert_int_equal(inet_pton(AF_INET6, s, a->a), 1);
		a->af = NC_AF_IP6;
	}
}

static void match(struct nc_match *m, const char *s, uint8_t plen, uint16_t lo, uint16_t hi)
{
	memset(m, 0, sizeof(*m));
	ip(&m->ip, s);
	m->plen = plen;
	m->port_lo = lo;
	m->port_hi = hi;
}

static void ep(struct nc_ep *e, const char *s, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	ip(&e->ip, s);
	e->port = port;
}

/* Both binds encode to the same bytes. */
static void assert_same_bind(const struct nc_bind *got, const struct nc_bind *want)
{
	static uint8_t a[NC_MSG_MAX], b[NC_MSG_MAX];
	int na = nc_encode(a, sizeof(a), NC_MSG_BIND, 1, got);
	int nb = nc_encode(b, sizeof(b), NC_MSG_BIND, 1, want);

	assert_true(nb > 0);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, (size_t)na);
}

static void test_bind_every_option(void **state)
{
	struct nc_bind w;
	(void)state;

	assert_int_equal(PARSE(&C, err, "bind", "--dir", "term", "--proto", "tcp", "--in-realm",
			       "inside", "--ext-realm=outside", "--endpoint", "10.1.0.10:5060",
			       "--want-range", "198.51.100.10-198.51.100.20", "--want-port", "30000",
			       "--rtp-pair", "--prefer-failure", "--filter", "203.0.113.0/24",
			       "--filter", "192.0.2.7:5000-5010", "--target",
			       "203.0.113.5:4000=10.1.0.11:5062", "--target",
			       "192.0.2.0/25=10.1.0.12:5064", "--drop-default", "--transit", "core-1",
			       "--lifetime", "300", "--label", "call 42 \"x\""),
			 0);
	assert_int_equal(C.cmd, CLI_BIND);
	assert_false(C.json);
	assert_null(C.socket);

	memset(&w, 0, sizeof(w));
	w.spec.dir = NC_DIR_TERM;
	w.spec.proto = NC_PROTO_TCP;
	strcpy(w.spec.in_realm, "inside");
	strcpy(w.spec.ext_realm, "outside");
	ep(&w.spec.ep, "10.1.0.10", 5060);
	w.want = NC_WANT_RANGE;
	ip(&w.want_addr, "198.51.100.10");
	ip(&w.want_hi, "198.51.100.20");
	w.want_port = 30000;
	w.rtp_pair = true;
	w.prefer_failure = true;
	w.spec.nfilters = 2;
	match(&w.spec.filters[0], "203.0.113.0", 24, 0, 65535);
	match(&w.spec.filters[1], "192.0.2.7", 32, 5000, 5010);
	w.spec.ntargets = 2;
	match(&w.spec.targets[0].from, "203.0.113.5", 32, 4000, 4000);
	ep(&w.spec.targets[0].to, "10.1.0.11", 5062);
	match(&w.spec.targets[1].from, "192.0.2.0", 25, 0, 65535);
	ep(&w.spec.targets[1].to, "10.1.0.12", 5064);
	w.spec.drop_default = true;
	strcpy(w.spec.transit, "core-1");
	w.lifetime = 300;
	strcpy(w.spec.label, "call 42 \"x\"");
	assert_same_bind(&C.bind, &w);
}

static void test_bind_defaults_and_wants(void **state)
{
	struct nc_bind w;
	(void)state;

	assert_int_equal(PARSE(&C, err, "bind", "--in-realm", "a", "--ext-realm", "b", "--endpoint",
			       "[2001:db8::10]:4000", "--want-ip", "2001:db8:1::5", "--peer",
			       "[2001:db8:2::/48]:5060"),
			 0);
	memset(&w, 0, sizeof(w));
	w.spec.dir = NC_DIR_BOTH; /* the defaults */
	w.spec.proto = NC_PROTO_UDP;
	strcpy(w.spec.in_realm, "a");
	strcpy(w.spec.ext_realm, "b");
	ep(&w.spec.ep, "2001:db8::10", 4000);
	w.want = NC_WANT_PREFIX;
	ip(&w.want_addr, "2001:db8:1::5");
	w.want_plen = 128;
	w.spec.has_peer = true;
	match(&w.spec.peer, "2001:db8:2::", 48, 5060, 5060);
	assert_same_bind(&C.bind, &w);

	assert_int_equal(PARSE(&C, err, "bind", "--dir", "orig", "--in-realm", "a", "--ext-realm",
			       "b", "--endpoint", "10.0.0.1:1", "--want-prefix", "198.51.100.0/28"),
			 0);
	assert_int_equal(C.bind.want, NC_WANT_PREFIX);
	assert_int_equal(C.bind.want_plen, 28);
	assert_int_equal(C.bind.spec.dir, NC_DIR_ORIG);
}

static void test_other_commands(void **state)
{
	(void)state;

	assert_int_equal(PARSE(&C, err, "refresh", "42", "--lifetime", "60"), 0);
	assert_int_equal(C.cmd, CLI_REFRESH);
	assert_int_equal(C.id, 42);
	assert_int_equal(C.lifetime, 60);
	assert_int_equal(C.epoch, 0);

	assert_int_equal(PARSE(&C, err, "release", "--epoch", "18446744073709551615", "7"), 0);
	assert_int_equal(C.cmd, CLI_RELEASE);
	assert_int_equal(C.id, 7);
	assert_true(C.epoch == UINT64_MAX);

	assert_int_equal(PARSE(&C, err, "list", "--id", "3", "--mine", "--kind", "static", "--json"),
			 0);
	assert_int_equal(C.cmd, CLI_LIST);
	assert_int_equal(C.list.id, 3);
	assert_true(C.list.mine);
	assert_int_equal(C.list.kind, NC_KIND_STATIC);
	assert_true(C.json);

	assert_int_equal(PARSE(&C, err, "list"), 0);
	assert_int_equal(C.list.id, 0);
	assert_int_equal(C.list.kind, 0);
	assert_false(C.list.mine);

	assert_int_equal(PARSE(&C, err, "watch", "--count", "3", "--timeout", "10", "--events",
			       "created,expired"),
			 0);
	assert_int_equal(C.cmd, CLI_WATCH);
	assert_int_equal(C.count, 3);
	assert_int_equal(C.timeout_s, 10);
	assert_int_equal(C.watch.mask, (1u << (NC_EV_CREATED - 1)) | (1u << (NC_EV_EXPIRED - 1)));

	assert_int_equal(PARSE(&C, err, "stats"), 0);
	assert_int_equal(C.cmd, CLI_STATS);
	assert_int_equal(PARSE(&C, err, "caps"), 0);
	assert_int_equal(C.cmd, CLI_CAPS);

	assert_int_equal(PARSE(&C, err, "ha"), 0);
	assert_int_equal(C.cmd, CLI_HA);
	assert_null(C.ha_op);
	assert_int_equal(PARSE(&C, err, "ha", "status"), 0);
	assert_null(C.ha_op);
	assert_int_equal(PARSE(&C, err, "--json", "ha", "promote"), 0);
	assert_string_equal(C.ha_op, "promote");
	assert_true(C.json);
	assert_int_equal(PARSE(&C, err, "ha", "demote"), 0);
	assert_string_equal(C.ha_op, "demote");
}

static void test_global_options(void **state)
{
	(void)state;

	assert_int_equal(PARSE(&C, err, "-s", "/tmp/x.sock", "--json", "stats"), 0);
	assert_string_equal(C.socket, "/tmp/x.sock");
	assert_true(C.json);
	assert_int_equal(PARSE(&C, err, "--socket=/tmp/y.sock", "caps"), 0);
	assert_string_equal(C.socket, "/tmp/y.sock");
	assert_int_equal(PARSE(&C, err, "-s/tmp/z.sock", "caps"), 0);
	assert_string_equal(C.socket, "/tmp/z.sock");

	assert_int_equal(PARSE(&C, err, "-t", "natd.example:7000", "-k", "/etc/k", "stats"), 0);
	assert_true(C.tcp);
	assert_string_equal(C.host, "natd.example");
	assert_int_equal(C.port, 7000);
	assert_string_equal(C.secret_file, "/etc/k");
	assert_int_equal(PARSE(&C, err, "--tcp", "[2001:db8::1]:7000", "--secret-file", "k", "caps"),
			 0);
	assert_string_equal(C.host, "2001:db8::1");

	assert_int_equal(PARSE(&C, err, "--help"), CLI_HELP);
	assert_int_equal(PARSE(&C, err, "-h", "bind"), CLI_HELP);
	assert_int_equal(PARSE(&C, err, "--version"), CLI_VERSION);
	assert_int_equal(PARSE(&C, err, "-V"), CLI_VERSION);
	assert_non_null(strstr(cli_usage(), "Usage: natctl"));
}

struct bad {
	int argc;
	char *const *argv;
	const char *msg; /* a part of the error message */
};

#define BAD(msg, ...) {ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), msg}
#define BIND_OK "bind", "--in-realm", "a", "--ext-realm", "b", "--endpoint", "10.0.0.1:1000"

static void test_usage_errors(void **state)
{
	const struct bad bad[] = {
		BAD("no command", "--json"),
		BAD("unknown command frob", "frob"),
		BAD("unknown option --frob", "--frob", "stats"),
		BAD("-s and -t exclude", "-s", "x", "-t", "h:1", "-k", "k", "stats"),
		BAD("-t needs -k", "-t", "h:1", "stats"),
		BAD("-k goes with -t", "-k", "k", "stats"),
		BAD("-t h: expected", "-t", "h", "-k", "k", "stats"),
		BAD("bad port 0", "-t", "h:0", "-k", "k", "stats"),
		BAD("--socket needs a value", "--socket"),
		BAD("ha: unknown subcommand failover", "ha", "failover"),
		BAD("ha: one of status, promote, demote", "ha", "promote", "demote"),
		BAD("ha: one of status, promote, demote", "ha", "status", "promote"),
		BAD("--json takes no value", "--json=yes", "stats"),
		BAD("bind needs --in-realm", "bind", "--in-realm", "a"),
		BAD("--dir sideways", BIND_OK, "--dir", "sideways"),
		BAD("--proto sctp", BIND_OK, "--proto", "sctp"),
		BAD("natd grants only udp and tcp", BIND_OK, "--proto", "icmp"),
		BAD("--in-realm a b", BIND_OK, "--in-realm", "a b"),
		BAD("--endpoint 10.0.0.1: expected", "bind", "--in-realm", "a", "--ext-realm", "b",
		    "--endpoint", "10.0.0.1"),
		BAD("--endpoint 10.0.0.1:0", "bind", "--in-realm", "a", "--ext-realm", "b",
		    "--endpoint", "10.0.0.1:0"),
		BAD("exclude each other", BIND_OK, "--want-ip", "1.2.3.4", "--want-port", "2",
		    "--want-range", "1.2.3.4-1.2.3.5"),
		BAD("--want-prefix 198.51.100.1/24", BIND_OK, "--want-prefix", "198.51.100.1/24"),
		BAD("--want-range 1.2.3.9-1.2.3.4", BIND_OK, "--want-range", "1.2.3.9-1.2.3.4"),
		BAD("--want-range 1.2.3.4-::1", BIND_OK, "--want-range", "1.2.3.4-::1"),
		BAD("--want-port 70000", BIND_OK, "--want-port", "70000"),
		BAD("even --want-port", BIND_OK, "--want-port", "5001", "--rtp-pair"),
		BAD("--filter 10.0.0.1/33", BIND_OK, "--filter", "10.0.0.1/33"),
		BAD("--filter 10.0.0.0/8:9-8", BIND_OK, "--filter", "10.0.0.0/8:9-8"),
		BAD("--target 1.2.3.4", BIND_OK, "--target", "1.2.3.4"),
		BAD("--drop-default needs a --target", BIND_OK, "--drop-default"),
		BAD("need --dir term or both", BIND_OK, "--dir", "orig", "--filter", "1.2.3.4"),
		BAD("--peer needs --dir orig", BIND_OK, "--dir", "term", "--peer", "1.2.3.4"),
		BAD("--peer given twice", BIND_OK, "--peer", "1.2.3.4", "--peer", "1.2.3.5"),
		BAD("--lifetime 0", BIND_OK, "--lifetime", "0"),
		BAD("--lifetime 604801", BIND_OK, "--lifetime", "604801"),
		BAD("--lifetime 1x", BIND_OK, "--lifetime", "1x"),
		BAD("--label: 1..255", BIND_OK, "--label", ""),
		BAD("--transit a/b", BIND_OK, "--transit", "a/b"),
		BAD("bind: unknown option --mine", BIND_OK, "--mine"),
		BAD("--rtp-pair takes no value", BIND_OK, "--rtp-pair=1"),
		BAD("refresh needs a binding id", "refresh"),
		BAD("bad binding id 0", "release", "0"),
		BAD("unexpected argument 8", "release", "7", "8"),
		BAD("refresh: unknown option --mine", "refresh", "7", "--mine"),
		BAD("release: unknown option --lifetime", "release", "7", "--lifetime", "5"),
		BAD("--kind weird", "list", "--kind", "weird"),
		BAD("unexpected argument x", "stats", "x"),
		BAD("--events: boom", "watch", "--events", "created,boom"),
		BAD("--count 0", "watch", "--count", "0"),
		BAD("--epoch 0", "release", "7", "--epoch", "0"),
		BAD("--epoch 18446744073709551616", "release", "7", "--epoch", "18446744073709551616"),
	};
	unsigned i;
	(void)state;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = cli_parse(bad[i].argc, bad[i].argv, &C, err, sizeof(err));

		if (r != CLI_USAGE || !strstr(err, bad[i].msg))
			fail_msg("case %u: got %d \"%s\", want \"%s\"", i, r, err, bad[i].msg);
	}
	/* At most 16 filters. */
	{
		char *argv[64];
		int n = 0, k;

		argv[n++] = "natctl";
		argv[n++] = "bind";
		argv[n++] = "--in-realm=a";
		argv[n++] = "--ext-realm=b";
		argv[n++] = "--endpoint=10.0.0.1:9";
		for (k = 0; k < 17; k++)
			argv[n++] = "--filter=1.2.3.4";
		argv[n] = NULL;
		assert_int_equal(cli_parse(n, argv, &C, err, sizeof(err)), CLI_USAGE);
		assert_non_null(strstr(err, "at most 16 --filter"));
		assert_int_equal(cli_parse(n - 1, argv, &C, err, sizeof(err)), 0);
		assert_int_equal(C.bind.spec.nfilters, 16);
	}
}

static void test_address_syntax(void **state)
{
	struct nc_match m, w;
	struct nc_ep e;
	struct nc_target t;
	(void)state;

	assert_int_equal(cli_parse_match("10.0.0.0/8", &m), 0);
	match(&w, "10.0.0.0", 8, 0, 65535);
	assert_memory_equal(&m, &w, sizeof(m));
	assert_int_equal(cli_parse_match("10.0.0.1", &m), 0);
	assert_int_equal(m.plen, 32);
	assert_int_equal(cli_parse_match("0.0.0.0/0:5060", &m), 0);
	assert_int_equal(m.port_lo, 5060);
	assert_int_equal(m.port_hi, 5060);
	assert_int_equal(cli_parse_match("2001:db8::/32", &m), 0);
	assert_int_equal(m.ip.af, NC_AF_IP6);
	assert_int_equal(m.plen, 32);
	assert_int_equal(m.port_hi, 65535);
	assert_int_equal(cli_parse_match("[2001:db8::1]:1-2", &m), 0);
	assert_int_equal(m.plen, 128);
	assert_int_equal(m.port_lo, 1);
	assert_int_equal(m.port_hi, 2);
	assert_int_equal(cli_parse_match("[2001:db8::/32]", &m), 0);
	assert_int_equal(cli_parse_match("[2001:db8::/32]x", &m), -1);
	assert_int_equal(cli_parse_match("10.0.0.0/8:", &m), -1);
	assert_int_equal(cli_parse_match("10.0.0.0/:1", &m), -1);
	assert_int_equal(cli_parse_match("10.0.0.256", &m), -1);
	assert_int_equal(cli_parse_match("", &m), -1);

	assert_int_equal(cli_parse_ep("192.0.2.1:65535", &e), 0);
	assert_int_equal(e.port, 65535);
	assert_int_equal(cli_parse_ep("[::1]:1", &e), 0);
	assert_int_equal(e.ip.af, NC_AF_IP6);
	assert_int_equal(cli_parse_ep("::1:1", &e), -1);
	assert_int_equal(cli_parse_ep("[192.0.2.1]:1", &e), -1);
	assert_int_equal(cli_parse_ep("192.0.2.1:65536", &e), -1);
	assert_int_equal(cli_parse_ep("192.0.2.1:+1", &e), -1);

	assert_int_equal(cli_parse_target("[2001:db8::/64]:5000-5001=[2001:db8::9]:7", &t), 0);
	assert_int_equal(t.from.plen, 64);
	assert_int_equal(t.to.port, 7);
	assert_int_equal(cli_parse_target("1.2.3.4=", &t), -1);
}

/* ---- output ---- */

static char *capture(void (*fn)(FILE *f, const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, arg);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void sample_item(struct nc_item *it)
{
	memset(it, 0, sizeof(*it));
	it->id = 42;
	it->kind = NC_KIND_MANAGED;
	it->spec.dir = NC_DIR_BOTH;
	it->spec.proto = NC_PROTO_UDP;
	strcpy(it->spec.in_realm, "inside");
	strcpy(it->spec.ext_realm, "outside");
	ep(&it->spec.ep, "10.1.0.10", 4000);
	ep(&it->alloc, "198.51.100.1", 30000);
	it->lifetime = 55;
	it->spec.nfilters = 1;
	match(&it->spec.filters[0], "203.0.113.0", 24, 0, 65535);
	it->spec.ntargets = 1;
	match(&it->spec.targets[0].from, "2001:db8::", 32, 10, 20);
	ep(&it->spec.targets[0].to, "2001:db8::9", 7);
	strcpy(it->spec.label, "say \"hi\"\\");
	strcpy(it->owner, "uid:0");
	it->has_counters = true;
	it->counters = (struct nc_counters){1, 100, 2, 200};
}

static void item_json(FILE *f, const void *arg)
{
	fmt_item(f, arg, true);
}

static void item_text(FILE *f, const void *arg)
{
	fmt_item(f, arg, false);
}

static void event_json(FILE *f, const void *arg)
{
	fmt_event_line(f, arg, true);
}

static void bind_json(FILE *f, const void *arg)
{
	fmt_bind_r(f, arg, true);
}

static void status_json(FILE *f, const void *arg)
{
	fmt_status(f, arg, true);
}

static void json_ctl(FILE *f, const void *arg)
{
	fmt_json_str(f, arg);
}

static void test_output(void **state)
{
	struct nc_item it;
	struct nc_event ev;
	struct nc_bind_r br;
	struct nc_status st = {.code = NC_ST_EXHAUSTED, .reason = "no port", .epoch = 7};
	char *s;
	(void)state;

	sample_item(&it);
	s = capture(item_json, &it);
	assert_string_equal(
		s, "{\"id\":42,\"kind\":\"managed\",\"proto\":\"udp\",\"dir\":\"both\","
		   "\"in_realm\":\"inside\",\"endpoint\":\"10.1.0.10:4000\",\"ext_realm\":\"outside\","
		   "\"alloc\":\"198.51.100.1:30000\",\"lifetime\":55,\"filters\":[\"203.0.113.0/24\"],"
		   "\"targets\":[{\"match\":\"[2001:db8::/32]:10-20\",\"to\":\"[2001:db8::9]:7\"}],"
		   "\"label\":\"say \\\"hi\\\"\\\\\",\"owner\":\"uid:0\","
		   "\"counters\":{\"pkts_in\":1,\"bytes_in\":100,\"pkts_out\":2,\"bytes_out\":200}}\n");
	free(s);

	s = capture(item_text, &it);
	assert_non_null(strstr(s, "42 "));
	assert_non_null(strstr(s, "10.1.0.10:4000"));
	assert_non_null(strstr(s, "filter:1,target:1"));
	assert_non_null(strstr(s, " 200 "));
	free(s);

	ev.event = NC_EV_EXPIRED;
	ev.item = it;
	s = capture(event_json, &ev);
	assert_true(!strncmp(s, "{\"event\":\"expired\",\"id\":42,", 27));
	free(s);

	memset(&br, 0, sizeof(br));
	br.st.epoch = 18446744073709551615ull;
	br.id = 9;
	ep(&br.alloc, "198.51.100.1", 30000);
	br.lifetime = 60;
	s = capture(bind_json, &br);
	assert_string_equal(s, "{\"status\":\"OK\",\"epoch\":\"18446744073709551615\",\"id\":9,"
			       "\"alloc\":\"198.51.100.1:30000\",\"lifetime\":60}\n");
	free(s);

	s = capture(status_json, &st);
	assert_string_equal(s, "{\"status\":\"EXHAUSTED\",\"reason\":\"no port\",\"epoch\":\"7\"}\n");
	free(s);

	s = capture(json_ctl, "a\tb\x7f\xc3\xa9");
	assert_string_equal(s, "\"a\\u0009b\\u007f\xc3\xa9\"");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_every_option),
		cmocka_unit_test(test_bind_defaults_and_wants),
		cmocka_unit_test(test_other_commands),
		cmocka_unit_test(test_global_options),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_address_syntax),
		cmocka_unit_test(test_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
