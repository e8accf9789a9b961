/* Unit tests of sp_conf: loading sipproxy.conf and the look-ups.
 *
 * Most tests load a config from a string named "t" with sp_conf_load_string
 * and check either the struct or the problems printed: load() captures
 * them in errbuf, so a test can ask for an exact "t:LINE: setting: problem"
 * prefix. BASE is the smallest valid config (two realms, two listen
 * entries, on lines 1 and 2); tests append the settings they exercise from
 * line 3 on. The shipped files are found through CONF_DIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <syslog.h>

#include "../sp_conf.h"

#ifndef CONF_DIR
#define CONF_DIR "conf"
#endif

#define REALMS                                                                                     \
	"realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; }, "                      \
	"{ name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n"
#define LISTEN                                                                                     \
	"listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; }, "                              \
	"{ address = \"203.0.113.1\"; realm = \"outside\"; } );\n"
#define BASE REALMS LISTEN
#define NAT_EDGE "nats = ( { name = \"edge\"; socket = \"/run/natd/ctl.sock\"; } );\n"

static char errbuf[32768];
static struct sp_conf conf;

/* Load text as "t" into conf, problems into errbuf. */
static int load(const char *text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	assert_non_null(f);
	rc = sp_conf_load_string(text, "t", &conf, f);
	fclose(f);
	snprintf(errbuf, sizeof(errbuf), "%s", buf ? buf : "");
	free(buf);
	return rc;
}

static void load_ok(const char *text)
{
	int rc = load(text);

	if (rc != 0)
		fprintf(stderr, "unexpected problems:\n%s", errbuf);
	assert_int_equal(rc, 0);
	assert_string_equal(errbuf, "");
}

static bool has(const char *want)
{
	return strstr(errbuf, want) != NULL;
}

/* Loading text fails and one problem starts with (or contains) want. */
static void load_err(const char *text, const char *want)
{
	int rc = load(text);

	if (rc != -1 || !has(want))
		fprintf(stderr, "wanted \"%s\", got (rc %d):\n%s", want, rc, errbuf);
	assert_int_equal(rc, -1);
	assert_true(has(want));
}

static unsigned nlines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* Every default of sp_conf.h. */
static void check_defaults(const struct sp_conf *c)
{
	assert_string_equal(c->user, "sipproxy");
	assert_string_equal(c->pidfile, "/run/sipproxy/sipproxy.pid");
	assert_string_equal(c->status_socket, "");
	assert_int_equal(c->log_level, LOG_INFO);
	assert_false(c->log_syslog);
	assert_int_equal(c->ice, SPC_ICE_STRIP);
	assert_true(c->remote_filter); /* RTP Bleed closed by default */
	assert_int_equal(c->latch, 0);
	assert_int_equal(c->max_bindings_per_user, 64);
	assert_int_equal(c->on_natd_failure, SPC_FAIL_REJECT);
	assert_int_equal(c->binding_lifetime, 120);
	assert_int_equal(c->max_call_duration, 14400);
	assert_int_equal(c->reg_min_expires, 60);
	assert_int_equal(c->reg_max_expires, 3600);
	assert_int_equal(c->reg_default_expires, 3600);
	assert_int_equal(c->reg_max_contacts, 8);
	assert_int_equal(c->reg_max_aors, 10000);
	assert_int_equal(c->max_message, 65535);
	assert_int_equal(c->max_transactions, 200000);
	assert_int_equal(c->max_calls, 10000);
	assert_int_equal(c->t1_ms, 500);
	assert_int_equal(c->t2_ms, 4000);
	assert_int_equal(c->t4_ms, 5000);
	assert_int_equal(c->timer_c, 180);
	assert_int_equal(c->tcp_max_connections, 1024);
	assert_int_equal(c->tcp_max_per_source, 32);
	assert_int_equal(c->tcp_idle_timeout, 600);
	assert_int_equal(c->rate_limit, 0);
}

static void test_defaults(void **state)
{
	(void)state;
	load_ok(BASE);
	check_defaults(&conf);
	assert_int_equal(conf.nrealms, 2);
	assert_int_equal(conf.nlisten, 2);
	assert_int_equal(conf.ndomains, 0);
	assert_int_equal(conf.nnats, 0);
	assert_int_equal(conf.nrules, 0);
	assert_int_equal(conf.nroutes, 0);
	/* listen defaults */
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(conf.listen[i].addr.sin_family, AF_INET);
		assert_int_equal(ntohs(conf.listen[i].addr.sin_port), 5060);
		assert_true(conf.listen[i].udp);
		assert_true(conf.listen[i].tcp);
		assert_string_equal(conf.listen[i].advertise, "");
		assert_int_equal(conf.listen[i].realm, (int)i);
	}
	assert_int_equal(conf.listen[0].addr.sin_addr.s_addr, ip("10.1.0.1"));
	assert_string_equal(conf.realms[0].name, "inside");
	assert_int_equal(conf.realms[0].nprefixes, 1);
	assert_int_equal(ntohl(conf.realms[0].prefixes[0].addr), 0x0a010000);
	assert_int_equal(conf.realms[0].prefixes[0].len, 24);
	assert_int_equal(conf.realms[1].prefixes[0].len, 0);
}

static const char full[] =
	"user = \"sip\";\n"
	"pidfile = \"/run/sp.pid\";\n"
	"status_socket = \"/run/sipproxy/status.sock\";\n"
	"log: { level = \"debug\"; syslog = true; };\n"
	"realms = (\n"
	"  { name = \"inside\";  prefixes = [ \"10.1.0.0/24\", \"10.2.0.0/16\" ]; },\n"
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; },\n"
	"  { name = \"dmz\"; prefixes = [ \"172.16.0.0/12\" ]; }\n"
	");\n"
	"listen = (\n"
	"  { address = \"10.1.0.1\"; port = 5060; realm = \"inside\"; transports = [ \"udp\", \"tcp\" ]; advertise = \"\"; },\n"
	"  { address = \"203.0.113.1\"; realm = \"outside\"; advertise = \"Edge.Test\"; },\n"
	"  { address = \"172.16.0.1\"; port = 5070; realm = \"dmz\"; transports = [ \"tcp\" ]; }\n"
	");\n"
	"domains = [ \"Edge.TEST\", \"other.test\" ];\n"
	"nats = (\n"
	"  { name = \"edge\"; socket = \"/run/natd/ctl.sock\"; timeout_ms = 500; },\n"
	"  { name = \"far\"; host = \"192.0.2.1\"; port = 5999; secret_file = \"/etc/natedge/far.secret\"; client_name = \"sipproxy\"; }\n"
	");\n"
	"media_rules = (\n"
	"  { from = \"inside\"; to = \"outside\"; nat = \"edge\"; natd_in = \"inside\"; natd_ext = \"outside\"; transit = \"\"; },\n"
	"  { from = \"dmz\"; to = \"outside\"; nat = \"far\"; natd_in = \"lan2\"; transit = \"carrier\"; },\n"
	"  { from = \"outside\"; to = \"dmz\"; nat = \"far\"; }\n"
	");\n"
	"routes = (\n"
	"  { domain = \"b.example.net\"; next_hop = \"10.20.0.2:5060\"; transport = \"udp\"; },\n"
	"  { domain = \"*.example.org\"; next_hop = \"10.20.0.2\"; },\n"
	"  { prefix = \"192.0.2.0/24\"; next_hop = \"10.20.0.2\"; transport = \"tcp\"; }\n"
	");\n"
	"media: { ice = \"rewrite\"; remote_filter = true; on_natd_failure = \"pass\"; binding_lifetime = 300; max_call_duration = 7200; };\n"
	"registrar: { min_expires = 30; max_expires = 7200; default_expires = 1800; max_contacts = 4; max_aors = 500; };\n"
	"sip: { max_message = 4096; max_transactions = 100; max_calls = 50; t1_ms = 250; t2_ms = 2000; t4_ms = 2500; timer_c = 200; tcp_max_connections = 64; tcp_max_per_source = 8; tcp_idle_timeout = 60; rate_limit = 20; };\n";

static void test_full(void **state)
{
	(void)state;
	load_ok(full);
	assert_string_equal(conf.user, "sip");
	assert_string_equal(conf.pidfile, "/run/sp.pid");
	assert_string_equal(conf.status_socket, "/run/sipproxy/status.sock");
	assert_int_equal(conf.log_level, LOG_DEBUG);
	assert_true(conf.log_syslog);
	assert_int_equal(conf.nrealms, 3);
	assert_int_equal(conf.realms[0].nprefixes, 2);
	assert_int_equal(ntohl(conf.realms[0].prefixes[1].addr), 0x0a020000);
	assert_int_equal(conf.realms[0].prefixes[1].len, 16);
	assert_string_equal(conf.realms[2].name, "dmz");

	assert_int_equal(conf.nlisten, 3);
	assert_int_equal(conf.listen[1].realm, 1);
	assert_string_equal(conf.listen[1].advertise, "Edge.Test");
	assert_int_equal(conf.listen[2].addr.sin_addr.s_addr, ip("172.16.0.1"));
	assert_int_equal(ntohs(conf.listen[2].addr.sin_port), 5070);
	assert_false(conf.listen[2].udp);
	assert_true(conf.listen[2].tcp);
	assert_int_equal(conf.listen[2].realm, 2);

	assert_int_equal(conf.ndomains, 2);
	assert_string_equal(conf.domains[0], "edge.test");
	assert_string_equal(conf.domains[1], "other.test");

	assert_int_equal(conf.nnats, 2);
	assert_string_equal(conf.nats[0].name, "edge");
	assert_string_equal(conf.nats[0].socket, "/run/natd/ctl.sock");
	assert_string_equal(conf.nats[0].host, "");
	assert_int_equal(conf.nats[0].port, 0);
	assert_string_equal(conf.nats[0].client_name, "sipproxy");
	assert_int_equal(conf.nats[0].timeout_ms, 500);
	assert_string_equal(conf.nats[1].socket, "");
	assert_string_equal(conf.nats[1].host, "192.0.2.1");
	assert_int_equal(conf.nats[1].port, 5999);
	assert_string_equal(conf.nats[1].secret_file, "/etc/natedge/far.secret");

	assert_int_equal(conf.nrules, 3);
	assert_int_equal(conf.rules[0].from, 0);
	assert_int_equal(conf.rules[0].to, 1);
	assert_int_equal(conf.rules[0].nat, 0);
	assert_string_equal(conf.rules[0].natd_in, "inside");
	assert_string_equal(conf.rules[0].natd_ext, "outside");
	assert_string_equal(conf.rules[0].transit, "");
	assert_int_equal(conf.rules[1].from, 2);
	assert_int_equal(conf.rules[1].nat, 1);
	assert_string_equal(conf.rules[1].natd_in, "lan2");
	assert_string_equal(conf.rules[1].natd_ext, "outside");
	assert_string_equal(conf.rules[1].transit, "carrier");
	assert_string_equal(conf.rules[2].natd_in, "outside");
	assert_string_equal(conf.rules[2].natd_ext, "dmz");

	assert_int_equal(conf.nroutes, 3);
	assert_int_equal(conf.routes[0].kind, SPC_ROUTE_DOMAIN);
	assert_string_equal(conf.routes[0].domain, "b.example.net");
	assert_int_equal(conf.routes[0].next_hop.sin_addr.s_addr, ip("10.20.0.2"));
	assert_int_equal(ntohs(conf.routes[0].next_hop.sin_port), 5060);
	assert_false(conf.routes[0].tcp);
	assert_string_equal(conf.routes[1].domain, "*.example.org");
	assert_int_equal(ntohs(conf.routes[1].next_hop.sin_port), 5060);
	assert_int_equal(conf.routes[1].next_hop.sin_family, AF_INET);
	assert_int_equal(conf.routes[2].kind, SPC_ROUTE_PREFIX);
	assert_int_equal(ntohl(conf.routes[2].prefix.addr), 0xc0000200);
	assert_int_equal(conf.routes[2].prefix.len, 24);
	assert_true(conf.routes[2].tcp);

	assert_int_equal(conf.ice, SPC_ICE_REWRITE);
	assert_true(conf.remote_filter);
	assert_int_equal(conf.on_natd_failure, SPC_FAIL_PASS);
	assert_int_equal(conf.binding_lifetime, 300);
	assert_int_equal(conf.max_call_duration, 7200);
	assert_int_equal(conf.reg_min_expires, 30);
	assert_int_equal(conf.reg_max_expires, 7200);
	assert_int_equal(conf.reg_default_expires, 1800);
	assert_int_equal(conf.reg_max_contacts, 4);
	assert_int_equal(conf.reg_max_aors, 500);
	assert_int_equal(conf.max_message, 4096);
	assert_int_equal(conf.max_transactions, 100);
	assert_int_equal(conf.max_calls, 50);
	assert_int_equal(conf.t1_ms, 250);
	assert_int_equal(conf.t2_ms, 2000);
	assert_int_equal(conf.t4_ms, 2500);
	assert_int_equal(conf.timer_c, 200);
	assert_int_equal(conf.tcp_max_connections, 64);
	assert_int_equal(conf.tcp_max_per_source, 8);
	assert_int_equal(conf.tcp_idle_timeout, 60);
	assert_int_equal(conf.rate_limit, 20);
}

/* The reference file loads and every default it states is the real one. */
static void test_reference_conf(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	(void)state;
	assert_non_null(f);
	rc = sp_conf_load(CONF_DIR "/sipproxy.conf", &conf, f);
	fclose(f);
	if (rc)
		fprintf(stderr, "%s", buf);
	assert_int_equal(rc, 0);
	assert_string_equal(buf, "");
	free(buf);
	check_defaults(&conf);
	assert_int_equal(conf.nrealms, 2);
	assert_int_equal(conf.nlisten, 2);
	assert_int_equal(conf.ndomains, 1);
	assert_int_equal(conf.nnats, 1);
	assert_string_equal(conf.nats[0].client_name, "sipproxy");
	assert_int_equal(conf.nats[0].timeout_ms, 500);
	assert_int_equal(conf.nrules, 1);
	assert_non_null(sp_conf_rule(&conf, 0, 1));
	assert_int_equal(conf.nroutes, 0);
}

static void test_minimal_conf(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc;

	(void)state;
	assert_non_null(f);
	rc = sp_conf_load(CONF_DIR "/sipproxy-minimal.conf", &conf, f);
	fclose(f);
	if (rc)
		fprintf(stderr, "%s", buf);
	assert_int_equal(rc, 0);
	free(buf);
	check_defaults(&conf);
	assert_int_equal(conf.nrealms, 2);
	assert_int_equal(conf.nlisten, 2);
	assert_int_equal(conf.nnats, 1);
	assert_int_equal(conf.nrules, 1);
	assert_string_equal(conf.rules[0].natd_in, "inside");
	assert_string_equal(conf.rules[0].natd_ext, "outside");
	assert_true(sp_conf_is_local_domain(&conf, "edge.test"));
	assert_int_equal(sp_conf_realm_of(&conf, ip("10.1.0.7")), 0);
}

static void test_file_errors(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(sp_conf_load("/nonexistent/sipproxy.conf", &conf, f), -1);
	fclose(f);
	assert_non_null(strstr(buf, "/nonexistent/sipproxy.conf:0: (file): cannot read: "));
	free(buf);
}

static void test_syntax_error(void **state)
{
	(void)state;
	load_err(BASE "user = \"x\";\nsip: { t1_ms = ; };\n", "t:4: (syntax): ");
	assert_int_equal(nlines(errbuf), 1);
	load_err(BASE "user = \"a\";\nuser = \"b\";\n", "t:4: (syntax): ");
}

/* errs NULL means stderr; nothing to print for a good config. */
static void test_errs_null(void **state)
{
	(void)state;
	assert_int_equal(sp_conf_load_string(BASE, "t", &conf, NULL), 0);
	assert_int_equal(sp_conf_load_string(BASE, NULL, &conf, NULL), 0);
}

/* *c is fully overwritten: garbage in it does not leak through. */
static void test_overwrites(void **state)
{
	(void)state;
	memset(&conf, 0xa5, sizeof(conf));
	assert_int_equal(sp_conf_load_string(BASE, "t", &conf, NULL), 0);
	check_defaults(&conf);
	assert_int_equal(conf.nnats, 0);
	assert_int_equal(conf.nroutes, 0);
	assert_int_equal(conf.ndomains, 0);
	assert_int_equal(conf.realms[0].name[sizeof(conf.realms[0].name) - 1], 0);
	assert_int_equal(conf.realms[1].nprefixes, 1);
}

static void test_unknown(void **state)
{
	(void)state;
	load_err(BASE "bogus = 1;\n", "t:3: bogus: unknown setting");
	load_err(BASE "sip: {\n  t1_ms = 500;\n  t3_ms = 5;\n};\n", "t:5: sip.t3_ms: unknown setting");
	load_err(BASE "log: { levle = \"info\"; };\n", "t:3: log.levle: unknown setting");
	load_err(BASE "nats = ( { name = \"a\"; socket = \"/s\"; color = \"red\"; } );\n",
		 "t:3: nats[0].color: unknown setting");
	load_err(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; prot = 5060; } );\n",
		 "t:2: listen[0].prot: unknown setting");
	load_err(BASE "media = 5;\n", "t:3: media: must be a group { ... }");
	load_err(BASE "registrar = ( 1 );\n", "t:3: registrar: must be a group { ... }");
	load_err(BASE "routes = { domain = \"a.b\"; };\n", "t:3: routes: must be a list ( ");
	load_err(BASE "nats = ( \"edge\" );\n", "t:3: nats[0]: must be a group { ");
	/* an empty array is an empty list */
	load_ok(BASE "nats = [ ];\nroutes = ( );\nmedia_rules = [];\n");
}

static void test_types(void **state)
{
	(void)state;
	load_err(BASE "sip: { t1_ms = \"500\"; };\n", "t:3: sip.t1_ms: must be an integer");
	load_err(BASE "sip: { t1_ms = 500.0; };\n", "t:3: sip.t1_ms: must be an integer");
	load_err(BASE "user = 5;\n", "t:3: user: must be a string");
	load_err(BASE "log: { syslog = 1; };\n", "t:3: log.syslog: must be true or false");
	load_err(BASE "media: { remote_filter = \"yes\"; };\n",
		 "t:3: media.remote_filter: must be true or false");
	load_err(BASE "domains = \"edge.test\";\n", "t:3: domains: must be an array of strings");
	load_err(BASE "domains = [ 1 ];\n", "t:3: domains[0]: must be a string");
	load_err("realms = ( { name = \"a\"; prefixes = \"10.0.0.0/8\"; } );\n" LISTEN,
		 "t:1: realms[0].prefixes: must be an array of strings");
	load_err(BASE "nats = ( { name = \"a\"; socket = \"/s\"; timeout_ms = true; } );\n",
		 "t:3: nats[0].timeout_ms: must be an integer");
}

struct range {
	const char *group, *key;
	long long min, max;
};

static const struct range ranges[] = {
	{"media", "binding_lifetime", 10, 86400},
	{"media", "max_call_duration", 60, 604800},
	{"registrar", "min_expires", 1, 86400},
	{"registrar", "max_expires", 1, 604800},
	{"registrar", "default_expires", 1, 604800},
	{"registrar", "max_contacts", 1, 64},
	{"registrar", "max_aors", 1, 1000000},
	{"sip", "max_message", 1024, 65535},
	{"sip", "max_transactions", 16, 1000000},
	{"sip", "max_calls", 16, 1000000},
	{"sip", "t1_ms", 50, 10000},
	{"sip", "t2_ms", 100, 60000},
	{"sip", "t4_ms", 100, 60000},
	{"sip", "timer_c", 30, 3600},
	{"sip", "tcp_max_connections", 1, 65536},
	{"sip", "tcp_max_per_source", 0, 65536},
	{"sip", "tcp_idle_timeout", 5, 86400},
	{"sip", "rate_limit", 0, 1000000},
};

/* Each number: one below and one above its range are refused with the
 * range in the message; both ends are accepted (cross checks aside). */
static void test_ranges(void **state)
{
	char text[1024], want[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		const struct range *r = &ranges[i];
		long long bad[2] = {r->min - 1, r->max + 1};

		for (int k = 0; k < 2; k++) {
			snprintf(text, sizeof(text), BASE "%s: {\n %s = %lld; };\n", r->group, r->key, bad[k]);
			snprintf(want, sizeof(want), "t:4: %s.%s: %lld is out of range %lld..%lld\n", r->group,
				 r->key, bad[k], r->min, r->max);
			load_err(text, want);
			assert_int_equal(nlines(errbuf), 1);
		}
		snprintf(text, sizeof(text), BASE "%s: { %s = %lld; };\n", r->group, r->key, r->min);
		load(text);
		assert_false(has("out of range"));
		snprintf(text, sizeof(text), BASE "%s: { %s = %lld; };\n", r->group, r->key, r->max);
		load(text);
		assert_false(has("out of range"));
	}
	load_err(BASE "registrar: { max_aors = -1; };\n", "t:3: registrar.max_aors: -1 is out of range");
	/* and list members */
	load_err(BASE "nats = ( { name = \"a\"; socket = \"/s\"; timeout_ms = 0; } );\n",
		 "t:3: nats[0].timeout_ms: 0 is out of range 1..60000");
	load_err(BASE "nats = ( { name = \"a\"; socket = \"/s\"; timeout_ms = 60001; } );\n",
		 "t:3: nats[0].timeout_ms: 60001 is out of range 1..60000");
	load_err(REALMS "listen = ( { address = \"10.1.0.1\"; port = 0; realm = \"inside\"; } );\n",
		 "t:2: listen[0].port: 0 is out of range 1..65535");
	load_err(REALMS "listen = ( { address = \"10.1.0.1\"; port = 65536; realm = \"inside\"; } );\n",
		 "t:2: listen[0].port: 65536 is out of range 1..65535");
}

/* libconfig 1.5 keeps the low 32 bits of a long literal without an L
 * suffix (10000000000 reads as 1410065408): such values are refused all
 * the same, with the literal as written. */
static void test_wide_ints(void **state)
{
	char path[] = "/tmp/test_sp_conf.XXXXXX";
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int fd;

	(void)state;
	load_err(BASE "sip: { rate_limit = 10000000000; };\n",
		 "t:3: sip.rate_limit: 10000000000 is out of range 0..1000000\n");
	/* 4294968320 is 2^32 + 1024: cut, it would be a valid max_message */
	load_err(BASE "sip: { max_message = 4294968320; };\n",
		 "t:3: sip.max_message: 4294968320 is out of range 1024..65535\n");
	load_err(BASE "sip: { max_message = 0x100000400; };\n",
		 "t:3: sip.max_message: 0x100000400 is out of range 1024..65535\n");
	load_err(BASE "sip: { t1_ms = 500; max_calls = -4294967196; };\n",
		 "t:3: sip.max_calls: -4294967196 is out of range 16..1000000\n");
	assert_int_equal(nlines(errbuf), 1);
	load_err(BASE "sip: { rate_limit = 99999999999999999999; };\n",
		 "t:3: sip.rate_limit: 99999999999999999999 is out of range");
	load_err(BASE "nats = ( { name = \"a\"; socket = \"/s\";\n timeout_ms = 4294967796; } );\n",
		 "t:4: nats[0].timeout_ms: 4294967796 is out of range 1..60000");
	/* with the L suffix libconfig keeps it whole */
	load_err(BASE "sip: { max_message = 4294968320L; };\n",
		 "t:3: sip.max_message: 4294968320 is out of range 1024..65535");
	/* long digit runs in strings, comments and names are not numbers */
	load_ok(BASE "user = \"u10000000000\"; # 10000000000\n/* 10000000000\n 99999999999 */ // 10000000000\n"
		"sip: { rate_limit = 100; t1_ms = 400; };\n");
	assert_int_equal(conf.rate_limit, 100);
	assert_int_equal(conf.t1_ms, 400);
	/* and in a file */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(BASE "# a comment\nsip: {\n  timer_c = 4294967476;\n};\n", f);
	fclose(f);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(sp_conf_load(path, &conf, f), -1);
	fclose(f);
	unlink(path);
	assert_non_null(strstr(buf, ":5: sip.timer_c: 4294967476 is out of range 30..3600\n"));
	free(buf);
}

static void test_log_levels(void **state)
{
	static const struct {
		const char *name;
		int level;
	} t[] = {{"error", LOG_ERR}, {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
		 {"info", LOG_INFO}, {"debug", LOG_DEBUG}};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(text, sizeof(text), BASE "log: { level = \"%s\"; };\n", t[i].name);
		load_ok(text);
		assert_int_equal(conf.log_level, t[i].level);
	}
	load_err(BASE "log: { level = \"verbose\"; };\n",
		 "t:3: log.level: \"verbose\" is not one of error, warning, notice, info, debug");
	load_err(BASE "log: { level = \"INFO\"; };\n", "t:3: log.level: \"INFO\" is not one of");
}

static void test_media_choices(void **state)
{
	(void)state;
	load_ok(BASE "media: { ice = \"keep\"; };\n");
	assert_int_equal(conf.ice, SPC_ICE_KEEP);
	load_ok(BASE "media: { ice = \"strip\"; on_natd_failure = \"reject\"; };\n");
	assert_int_equal(conf.ice, SPC_ICE_STRIP);
	assert_int_equal(conf.on_natd_failure, SPC_FAIL_REJECT);
	load_err(BASE "media: { ice = \"drop\"; };\n", "t:3: media.ice: \"drop\" is not one of strip, keep, rewrite");
	load_err(BASE "media: { on_natd_failure = \"503\"; };\n",
		 "t:3: media.on_natd_failure: \"503\" is not one of reject, pass");
}

/* ha.*: hastore's keys (checked by hastore_conf_check) and the modes */
static void test_ha(void **state)
{
	(void)state;
	load_ok(BASE);
	assert_false(conf.ha.store.enabled);
	assert_int_equal(conf.ha.mode, SPC_HA_PAIR);
	assert_string_equal(conf.ha.store.prefix, "natedge:sipproxy");
	load_ok(BASE "ha: { enabled = true; redis = \"192.0.2.50:6379\"; node = \"edge-a\"; role = \"active\"; };\n");
	assert_true(conf.ha.store.enabled);
	assert_int_equal(conf.ha.store.redis.port, 6379);
	assert_int_equal(conf.ha.store.start, HASTORE_START_ACTIVE);
	load_ok(BASE "ha: { enabled = true; redis = \"192.0.2.50:6379\"; node = \"a\"; mode = \"shared\";\n"
		     "      peers = [ \"b\", \"c\" ]; };\n");
	assert_int_equal(conf.ha.mode, SPC_HA_SHARED);
	assert_int_equal(conf.ha.npeers, 2);
	assert_string_equal(conf.ha.peers[1], "c");
	load_err(BASE "ha: { enabled = true; redis = \"192.0.2.50:6379\"; };\n", "ha.node: missing");
	load_err(BASE "ha: { enabled = true; node = \"a\"; mode = \"cluster\"; redis = \"192.0.2.50:6379\"; };\n",
		 "ha.mode: \"cluster\" is not one of pair, shared");
	load_err(BASE "ha: { enabled = true; redis = \"192.0.2.50:6379\"; node = \"a\"; peers = [ \"b\" ]; };\n",
		 "ha.peers: only for mode = \"shared\"");
	load_err(BASE "ha: { enabled = true; redis = \"192.0.2.50:6379\"; node = \"a\"; mode = \"shared\";\n"
		      "      peers = [ \"b\", \"a\", \"b\" ]; };\n", "\"a\" is this node");
	load_err(BASE "ha: { enabled = true; redis = \"192.0.2.50:6379\"; node = \"a\"; mode = \"shared\";\n"
		      "      peers = [ \"b\", \"b\" ]; };\n", "\"b\" is listed twice");
	load_err(BASE "ha: { enabled = true; redis = \"192.0.2.50:6379\"; node = \"a\"; mode = \"shared\";\n"
		      "      peers = [ \"b c\" ]; };\n", "is not a node name");
	load_err(BASE "ha: { enabled = true; redis = \"192.0.2.50:6379\"; mode = \"shared\";\n"
		      "      node = \"n23456789012345678901234567890\";\n"
		      "      prefix = \"p23456789012345678901234567890123\"; };\n", "longer than 63 bytes");
	load_err(BASE "ha: { enabled = true; node = \"a\"; wrong = 1; redis = \"192.0.2.50:6379\"; };\n", "ha.wrong");
}

static void test_strings(void **state)
{
	char text[2048], longs[300];

	(void)state;
	memset(longs, 'a', sizeof(longs));
	longs[64] = '\0';
	snprintf(text, sizeof(text), BASE "user = \"%s\";\n", longs);
	load_err(text, "t:3: user: longer than 63 characters");
	longs[63] = '\0';
	snprintf(text, sizeof(text), BASE "user = \"%s\";\n", longs);
	load_ok(text);
	/* a Unix socket path fits in sun_path */
	memset(longs, 'a', sizeof(longs));
	longs[0] = '/';
	longs[108] = '\0';
	snprintf(text, sizeof(text), BASE "status_socket = \"%s\";\n", longs);
	load_err(text, "t:3: status_socket: longer than 107 characters");
	snprintf(text, sizeof(text), BASE "nats = ( { name = \"a\"; socket = \"%s\"; } );\n", longs);
	load_err(text, "t:3: nats[0].socket: longer than 107 characters");
	longs[107] = '\0';
	snprintf(text, sizeof(text), BASE "status_socket = \"%s\";\n", longs);
	load_ok(text);
	memset(longs, 'a', sizeof(longs));
	longs[256] = '\0';
	snprintf(text, sizeof(text), BASE "pidfile = \"%s\";\n", longs);
	load_err(text, "t:3: pidfile: longer than 255 characters");
}

static void test_realm_names(void **state)
{
	(void)state;
	load_ok("realms = ( { name = \"A-z_0.9\"; prefixes = [ \"10.0.0.0/8\" ]; } );\n"
		"listen = ( { address = \"10.0.0.1\"; realm = \"A-z_0.9\"; } );\n");
	load_err("realms = ( { name = \"in side\"; prefixes = [ \"10.0.0.0/8\" ]; } );\n" LISTEN,
		 "t:1: realms[0].name: \"in side\" is not a name (1..31 characters of A-Z a-z 0-9 . _ -)");
	load_err("realms = ( { name = \"\"; prefixes = [ \"10.0.0.0/8\" ]; } );\n" LISTEN,
		 "t:1: realms[0].name: must not be empty");
	load_err("realms = ( { name = \"abcdefghijabcdefghijabcdefghijab\"; prefixes = [ \"10.0.0.0/8\" ]; } );\n" LISTEN,
		 "t:1: realms[0].name: longer than 31 characters");
	load_err("realms = ( { prefixes = [ \"10.0.0.0/8\" ]; } );\n" LISTEN, "t:1: realms[0].name: missing");
	load_err("realms = (\n"
		 "  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; },\n"
		 "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; },\n"
		 "  { name = \"inside\"; prefixes = [ \"10.2.0.0/24\" ]; }\n"
		 ");\n" LISTEN,
		 "t:4: realms[2].name: realm \"inside\" is already defined at line 2");
	load_err("realms = ( {\n name = \"a\";\n name = \"b\"; } );\n", "t:3: (syntax)");
}

static void test_realm_prefixes(void **state)
{
	char text[4096];
	size_t l;

	(void)state;
	load_err("realms = ( { name = \"inside\";\n prefixes = [ \"10.1.0.1/24\" ]; },\n"
		 " { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n" LISTEN,
		 "t:2: realms[0].prefixes[0]: \"10.1.0.1/24\" has host bits set (the prefix is 10.1.0.0/24)");
	load_err("realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/33\" ]; } );\n" LISTEN,
		 "t:1: realms[0].prefixes[0]: \"10.1.0.0/33\" is not a prefix a.b.c.d/len");
	load_err("realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/\" ]; } );\n" LISTEN,
		 "is not a prefix");
	load_err("realms = ( { name = \"inside\"; prefixes = [ \"10.1.0/24\" ]; } );\n" LISTEN,
		 "is not a prefix");
	load_err("realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/+8\" ]; } );\n" LISTEN,
		 "is not a prefix");
	load_err("realms = ( { name = \"inside\"; prefixes = [ \"inside\" ]; } );\n" LISTEN,
		 "is not a prefix");
	load_err("realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\", \"10.1.0.0/24\" ]; } );\n" LISTEN,
		 "t:1: realms[0].prefixes[1]: \"10.1.0.0/24\" is listed twice");
	load_err("realms = (\n { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; },\n"
		 " { name = \"outside\"; prefixes = [ \"0.0.0.0/0\", \"10.1.0.0/24\" ]; } );\n" LISTEN,
		 "t:3: realms[1].prefixes: 10.1.0.0/24 is also a prefix of realm \"inside\"");
	/* a bare address is a /32 */
	load_ok("realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\", \"10.9.9.9\" ]; },\n"
		"{ name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n" LISTEN);
	assert_int_equal(conf.realms[0].prefixes[1].len, 32);
	assert_int_equal(ntohl(conf.realms[0].prefixes[1].addr), 0x0a090909);
	/* at most SPC_MAX_PREFIXES */
	l = (size_t)snprintf(text, sizeof(text), "realms = ( { name = \"inside\"; prefixes = [ ");
	for (int i = 0; i <= SPC_MAX_PREFIXES; i++)
		l += (size_t)snprintf(text + l, sizeof(text) - l, "%s\"10.%d.0.0/16\"", i ? ", " : "", i);
	snprintf(text + l, sizeof(text) - l, " ]; } );\n" LISTEN);
	load_err(text, "t:1: realms[0].prefixes[16]: more than 16 prefixes");
	/* at most SPC_MAX_REALMS */
	l = (size_t)snprintf(text, sizeof(text), "realms = (\n");
	for (int i = 0; i <= SPC_MAX_REALMS; i++)
		l += (size_t)snprintf(text + l, sizeof(text) - l, "%s{ name = \"r%d\"; prefixes = [ \"10.%d.0.0/16\" ]; }\n",
				      i ? "," : "", i, i);
	snprintf(text + l, sizeof(text) - l, ");\nlisten = ( { address = \"10.0.0.1\"; realm = \"r0\"; } );\n");
	load_err(text, "t:10: realms[8]: more than 8 entries");
}

static void test_realm_reachable(void **state)
{
	(void)state;
	/* prefixes, no listen: allowed */
	load_ok("realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; },\n"
		"{ name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; }, { name = \"lab\"; prefixes = [ \"10.9.0.0/16\" ]; } );\n" LISTEN);
	assert_int_equal(conf.nrealms, 3);
	assert_int_equal(sp_conf_listen_of(&conf, 2, false), -1);
	/* a listen, no prefixes: allowed (its sources are the unmatched ones) */
	load_ok("realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; }, { name = \"outside\"; } );\n" LISTEN);
	assert_int_equal(conf.realms[1].nprefixes, 0);
	/* neither: nothing can belong to it */
	load_err("realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; },\n { name = \"lost\"; prefixes = [ ]; } );\n"
		 "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; } );\n",
		 "t:2: realms[1]: realm \"lost\" has no prefixes and no listen entry");
}

static void test_listen_errors(void **state)
{
	char text[4096];
	size_t l;

	(void)state;
	load_err(REALMS "listen = ( { address = \"0.0.0.0\"; realm = \"inside\"; } );\n",
		 "t:2: listen[0].address: 0.0.0.0 is not allowed");
	load_err(REALMS "listen = ( { address = \"10.1.0.256\"; realm = \"inside\"; } );\n",
		 "t:2: listen[0].address: \"10.1.0.256\" is not an IPv4 address");
	load_err(REALMS "listen = ( { address = \"::1\"; realm = \"inside\"; } );\n",
		 "t:2: listen[0].address: \"::1\" is not an IPv4 address");
	load_err(REALMS "listen = (\n  { realm = \"inside\"; } );\n", "t:3: listen[0].address: missing");
	load_err(REALMS "listen = (\n  { address = \"10.1.0.1\"; } );\n", "t:3: listen[0].realm: missing");
	load_err(REALMS "listen = (\n  { address = \"10.1.0.1\";\n    realm = \"lan\"; } );\n",
		 "t:4: listen[0].realm: no realm named \"lan\"");
	load_err(REALMS "listen = (\n { address = \"10.1.0.1\"; realm = \"inside\"; },\n"
		 " { address = \"10.1.0.1\"; port = 5060; realm = \"outside\"; } );\n",
		 "t:4: listen[1].address: 10.1.0.1 port 5060 is already a listen entry at line 3");
	load_ok(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; },\n"
		" { address = \"10.1.0.1\"; port = 5070; realm = \"outside\"; } );\n");
	assert_int_equal(sp_conf_listen_of(&conf, 1, false), 1);
	load_err(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; transports = [ ]; } );\n",
		 "t:2: listen[0].transports: must name at least one of \"udp\", \"tcp\", \"tls\"");
	load_err(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; transports = [ \"sctp\" ]; } );\n",
		 "t:2: listen[0].transports[0]: \"sctp\" is not one of udp, tcp, tls");
	load_err(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; transports = [ \"udp\", \"udp\" ]; } );\n",
		 "t:2: listen[0].transports[1]: \"udp\" is listed twice");
	load_err(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; transports = \"udp\"; } );\n",
		 "t:2: listen[0].transports: must be an array of strings");
	load_err(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; advertise = \"sip proxy\"; } );\n",
		 "t:2: listen[0].advertise: \"sip proxy\" is not a host name or IPv4 address");
	load_err(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; advertise = \"-a.b\"; } );\n",
		 "is not a host name");
	load_err(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; advertise = \"a..b\"; } );\n",
		 "is not a host name");
	/* at most SPC_MAX_LISTEN */
	l = (size_t)snprintf(text, sizeof(text), REALMS "listen = (\n");
	for (int i = 0; i <= SPC_MAX_LISTEN; i++)
		l += (size_t)snprintf(text + l, sizeof(text) - l, "%s{ address = \"10.1.0.%d\"; realm = \"inside\"; }\n",
				      i ? "," : "", i + 1);
	snprintf(text + l, sizeof(text) - l, ");\n");
	load_err(text, "t:11: listen[8]: more than 8 entries");
}

static void test_listen_transports(void **state)
{
	(void)state;
	load_ok(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; transports = [ \"tcp\" ]; },\n"
		" { address = \"10.1.0.2\"; realm = \"inside\"; transports = [ \"udp\" ]; },\n"
		" { address = \"203.0.113.1\"; realm = \"outside\"; advertise = \"sip.example.net\"; } );\n");
	assert_false(conf.listen[0].udp);
	assert_true(conf.listen[0].tcp);
	assert_true(conf.listen[1].udp);
	assert_false(conf.listen[1].tcp);
	assert_int_equal(sp_conf_listen_of(&conf, 0, true), 0);
	assert_int_equal(sp_conf_listen_of(&conf, 0, false), 1);
	assert_int_equal(sp_conf_listen_of(&conf, 1, false), 2);
	assert_int_equal(sp_conf_listen_of(&conf, 1, true), 2);
	assert_int_equal(sp_conf_listen_of(&conf, 5, true), -1);
	assert_string_equal(conf.listen[2].advertise, "sip.example.net");
}

static void test_required_lists(void **state)
{
	(void)state;
	load_err(LISTEN, "t:0: realms: at least one realm is needed");
	load_err("realms = ( );\n" LISTEN, "t:1: realms: at least one realm is needed");
	load_err(REALMS, "t:0: listen: at least one listen address is needed");
	load_err(REALMS "listen = [ ];\n", "t:2: listen: at least one listen address is needed");
	load_err("", "realms: at least one realm is needed");
	assert_true(has("listen: at least one listen address is needed"));
}

static void test_domains(void **state)
{
	char text[2048];
	size_t l;

	(void)state;
	load_ok(BASE "domains = [ \"Edge.Test\", \"b.example.NET\", \"192.0.2.9\" ];\n");
	assert_int_equal(conf.ndomains, 3);
	assert_string_equal(conf.domains[0], "edge.test");
	assert_string_equal(conf.domains[1], "b.example.net");
	load_err(BASE "domains = [ \"edge.test\", \"EDGE.test\" ];\n",
		 "t:3: domains[1]: \"EDGE.test\" is listed twice");
	load_err(BASE "domains = [ \"edge_test\" ];\n", "t:3: domains[0]: \"edge_test\" is not a domain name");
	load_err(BASE "domains = [ \"\" ];\n", "t:3: domains[0]: \"\" is not a domain name");
	load_err(BASE "domains = [ \"edge.test.\" ];\n", "is not a domain name");
	load_err(BASE "domains = [ \"*.edge.test\" ];\n", "is not a domain name");
	l = (size_t)snprintf(text, sizeof(text), BASE "domains = [ ");
	for (int i = 0; i <= SPC_MAX_DOMAINS; i++)
		l += (size_t)snprintf(text + l, sizeof(text) - l, "%s\"d%d.test\"", i ? ", " : "", i);
	snprintf(text + l, sizeof(text) - l, " ];\n");
	load_err(text, "t:3: domains[8]: more than 8 domains");
}

static void test_nats_ok(void **state)
{
	(void)state;
	load_ok(BASE "nats = (\n"
		"  { name = \"edge\"; socket = \"/run/natd/ctl.sock\"; },\n"
		"  { name = \"far\"; host = \"192.0.2.1\"; port = 7070; secret_file = \"/etc/natedge/far.secret\";\n"
		"    client_name = \"proxy-A\"; timeout_ms = 2000; },\n"
		"  { name = \"six\"; host = \"2001:db8::1\"; port = 7070; secret_file = \"/s\"; }\n"
		");\n");
	assert_int_equal(conf.nnats, 3);
	assert_string_equal(conf.nats[0].client_name, "sipproxy");
	assert_int_equal(conf.nats[0].timeout_ms, 500);
	assert_string_equal(conf.nats[1].host, "192.0.2.1");
	assert_int_equal(conf.nats[1].port, 7070);
	assert_string_equal(conf.nats[1].client_name, "proxy-A");
	assert_int_equal(conf.nats[1].timeout_ms, 2000);
	assert_string_equal(conf.nats[2].host, "2001:db8::1");
	assert_false(conf.nats[1].tls);
	load_ok(BASE "nats = ( { name = \"far\"; host = \"192.0.2.1\"; port = 7070; secret_file = \"/s\";\n"
		"  tls = true; tls_ca = \"/etc/hostname\"; tls_name = \"natd.example.net\"; } );\n");
	assert_true(conf.nats[0].tls);
	assert_string_equal(conf.nats[0].tls_ca, "/etc/hostname");
	assert_string_equal(conf.nats[0].tls_name, "natd.example.net");
	assert_string_equal(conf.nats[0].tls_cert, "");
}

static void test_nats_errors(void **state)
{
	(void)state;
	load_err(BASE "nats = (\n { name = \"a\"; socket = \"/s\"; host = \"192.0.2.1\"; port = 1; secret_file = \"/f\"; } );\n",
		 "t:4: nats[0].host: socket and host are exclusive");
	load_err(BASE "nats = (\n { name = \"a\"; } );\n", "t:4: nats[0].socket: missing: a nat needs socket (Unix) or host (TCP)");
	load_err(BASE "nats = ( { name = \"a\"; socket = \"/s\";\n port = 7070; } );\n",
		 "t:4: nats[0].port: only with host (TCP)");
	load_err(BASE "nats = ( { name = \"a\"; socket = \"/s\";\n secret_file = \"/f\"; } );\n",
		 "t:4: nats[0].secret_file: only with host (TCP)");
	load_err(BASE "nats = (\n { name = \"a\"; host = \"192.0.2.1\"; secret_file = \"/f\"; } );\n",
		 "t:4: nats[0].port: missing: natd's TCP control port");
	load_err(BASE "nats = (\n { name = \"a\"; host = \"192.0.2.1\"; port = 7070; } );\n",
		 "t:4: nats[0].secret_file: missing");
	load_err(BASE "nats = ( { name = \"a\"; host = \"natd.example.net\"; port = 7070; secret_file = \"/f\"; } );\n",
		 "t:3: nats[0].host: \"natd.example.net\" is not a numeric IPv4 or IPv6 address");
	load_err(BASE "nats = ( { name = \"a\"; socket = \"\"; } );\n", "t:3: nats[0].socket: must not be empty");
	load_err(BASE "nats = ( { socket = \"/s\"; } );\n", "t:3: nats[0].name: missing");
	load_err(BASE "nats = ( { name = \"a\"; socket = \"/s\"; client_name = \"sip proxy\"; } );\n",
		 "t:3: nats[0].client_name: \"sip proxy\" is not a name");
	load_err(BASE "nats = ( { name = \"a\"; host = \"192.0.2.1\"; port = 0; secret_file = \"/f\"; } );\n",
		 "t:3: nats[0].port: 0 is out of range 1..65535");
	load_err(BASE "nats = (\n { name = \"edge\"; socket = \"/a\"; },\n { name = \"edge\"; socket = \"/b\"; } );\n",
		 "t:5: nats[1].name: nat \"edge\" is already defined at line 4");
	/* nats[].tls*: with host and tls = true, cert and key together, the files there */
	load_err(BASE "nats = ( { name = \"a\"; socket = \"/s\"; tls = true; } );\n",
		 "t:3: nats[0].tls: only with host (TCP) and tls = true");
	load_err(BASE "nats = ( { name = \"a\"; host = \"192.0.2.1\"; port = 1; secret_file = \"/f\";\n"
		 " tls_ca = \"/etc/hostname\"; } );\n",
		 "t:4: nats[0].tls_ca: only with host (TCP) and tls = true");
	load_err(BASE "nats = ( { name = \"a\"; host = \"192.0.2.1\"; port = 1; secret_file = \"/f\";\n"
		 " tls = true; tls_cert = \"/etc/hostname\"; } );\n",
		 "nats[0].tls_cert: tls_cert and tls_key go together");
	load_err(BASE "nats = ( { name = \"a\"; host = \"192.0.2.1\"; port = 1; secret_file = \"/f\";\n"
		 " tls = true; tls_ca = \"/nonexistent/ca.pem\"; } );\n",
		 "t:4: nats[0].tls_ca: /nonexistent/ca.pem: No such file or directory");
	load_err(BASE "nats = ( { name = \"a\"; host = \"192.0.2.1\"; port = 1; secret_file = \"/f\";\n"
		 " tls = true; tls_cert = \"/etc/hostname\"; tls_key = \"/etc/hostname\"; } );\n",
		 "t:4: nats[0].tls_key: /etc/hostname: group or others may access it");
}

static void test_rules_ok(void **state)
{
	(void)state;
	load_ok(BASE NAT_EDGE "media_rules = (\n"
		" { from = \"inside\"; to = \"outside\"; nat = \"edge\"; },\n"
		" { from = \"outside\"; to = \"inside\"; nat = \"edge\"; natd_in = \"wan\"; natd_ext = \"lan\"; transit = \"t1\"; }\n"
		");\n");
	assert_int_equal(conf.nrules, 2);
	assert_string_equal(conf.rules[0].natd_in, "inside");
	assert_string_equal(conf.rules[0].natd_ext, "outside");
	assert_string_equal(conf.rules[0].transit, "");
	assert_int_equal(conf.rules[1].from, 1);
	assert_int_equal(conf.rules[1].to, 0);
	assert_int_equal(conf.rules[1].nat, 0);
	assert_string_equal(conf.rules[1].natd_in, "wan");
	assert_string_equal(conf.rules[1].natd_ext, "lan");
	assert_string_equal(conf.rules[1].transit, "t1");
	/* the media policy's defaults: UDP protocols only, ports 1024-65535 */
	assert_int_equal(conf.rules[0].protocols, SPC_MP_UDP_DEFAULT);
	/* SRTP works out of the box: SDES and DTLS-SRTP profiles are bound */
	assert_true(sp_conf_rule_admits(&conf.rules[0], "RTP/SAVP", 4000, false));
	assert_true(sp_conf_rule_admits(&conf.rules[0], "RTP/SAVPF", 4000, false));
	assert_true(sp_conf_rule_admits(&conf.rules[0], "UDP/TLS/RTP/SAVP", 4000, false));
	assert_true(sp_conf_rule_admits(&conf.rules[0], "UDP/TLS/RTP/SAVPF", 4000, false));
	assert_false(conf.rules[0].tcp_media);
	assert_int_equal(conf.rules[0].port_lo, 1024);
	assert_int_equal(conf.rules[0].port_hi, 65535);
}

/* protocols, tcp_media, ports and sp_conf_rule_admits() */
static void test_rules_media_policy(void **state)
{
	const struct spc_rule *r;

	(void)state;
	load_ok(BASE NAT_EDGE "media_rules = (\n"
		" { from = \"inside\"; to = \"outside\"; nat = \"edge\"; tcp_media = true; ports = \"10000-20000\"; },\n"
		" { from = \"outside\"; to = \"inside\"; nat = \"edge\"; protocols = [ \"RTP/AVP\", \"udptl\" ]; ports = \"4000\"; }\n"
		");\n"
		"media: { latch = 5; max_bindings_per_user = 0; };\n");
	assert_int_equal(conf.latch, 5);
	assert_int_equal(conf.max_bindings_per_user, 0);
	r = &conf.rules[0];
	assert_true(r->tcp_media);
	assert_int_equal(r->protocols, SPC_MP_UDP_DEFAULT | SPC_MP_TCP_ALL);
	assert_true(sp_conf_rule_admits(r, "TCP/MSRP", 10000, false));
	assert_true(sp_conf_rule_admits(r, "rtp/avp", 19999, true)); /* case-insensitive */
	assert_false(sp_conf_rule_admits(r, "RTP/AVP", 20000, true)); /* RTCP at 20001 */
	assert_true(sp_conf_rule_admits(r, "RTP/AVP", 20000, false));
	assert_false(sp_conf_rule_admits(r, "RTP/AVP", 9999, false));
	assert_false(sp_conf_rule_admits(r, "TCP/FOO", 12000, false)); /* unknown: never */
	assert_false(sp_conf_rule_admits(r, "", 12000, false));
	r = &conf.rules[1];
	assert_int_equal(r->protocols, (1u << SPC_MP_RTP_AVP) | (1u << SPC_MP_UDPTL));
	assert_int_equal(r->port_lo, 4000);
	assert_int_equal(r->port_hi, 4000);
	assert_true(sp_conf_rule_admits(r, "udptl", 4000, false));
	assert_false(sp_conf_rule_admits(r, "RTP/SAVP", 4000, false));
	assert_false(sp_conf_rule_admits(r, "RTP/AVP", 4000, true));
	assert_int_equal(sp_conf_media_proto("UDP/TLS/RTP/SAVPF"), SPC_MP_UDP_TLS_RTP_SAVPF);
	assert_int_equal(sp_conf_media_proto("RTP/AVP "), -1);
	assert_int_equal(sp_conf_media_proto(NULL), -1);
	/* default rule: no TCP media */
	load_ok(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; } );\n");
	assert_false(sp_conf_rule_admits(&conf.rules[0], "TCP/MSRP", 2222, false));
	assert_false(sp_conf_rule_admits(&conf.rules[0], "RTP/AVP", 22, false));
	assert_true(sp_conf_rule_admits(&conf.rules[0], "RTP/AVP", 7777, true));

	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; protocols = [ \"TCP/MSRP\" ]; } );\n",
		 "t:4: media_rules[0].protocols: lists TCP media: set tcp_media = true in this rule too");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; protocols = [ \"RTP/XYZ\" ]; } );\n",
		 "t:4: media_rules[0].protocols[0]: \"RTP/XYZ\" is not a media protocol this proxy binds");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; protocols = [ ]; } );\n",
		 "t:4: media_rules[0].protocols: must name at least one m= protocol");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; protocols = [ \"RTP/AVP\", \"rtp/avp\" ]; } );\n",
		 "t:4: media_rules[0].protocols[1]: \"rtp/avp\" is listed twice");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; ports = \"20000-10000\"; } );\n",
		 "t:4: media_rules[0].ports: \"20000-10000\" is not a port range");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; ports = \"0-100\"; } );\n",
		 "t:4: media_rules[0].ports: \"0-100\" is not a port range");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; ports = \"1-65536\"; } );\n",
		 "t:4: media_rules[0].ports: \"1-65536\" is not a port range");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; ports = \"10-x\"; } );\n",
		 "t:4: media_rules[0].ports: \"10-x\" is not a port range");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; ports = 10; } );\n",
		 "t:4: media_rules[0].ports:");
	load_err(BASE "media: { latch = 3601; };\n", "t:3: media.latch:");
}

static void test_rules_errors(void **state)
{
	(void)state;
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"lan\"; to = \"outside\"; nat = \"edge\"; } );\n",
		 "t:4: media_rules[0].from: no realm named \"lan\"");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"wan\"; nat = \"edge\"; } );\n",
		 "t:4: media_rules[0].to: no realm named \"wan\"");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"natd\"; } );\n",
		 "t:4: media_rules[0].nat: no nat named \"natd\"");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"inside\"; nat = \"edge\"; } );\n",
		 "t:4: media_rules[0].to: from and to are the same realm \"inside\"");
	load_err(BASE NAT_EDGE "media_rules = (\n"
		 " { from = \"inside\"; to = \"outside\"; nat = \"edge\"; },\n"
		 " { from = \"inside\"; to = \"outside\"; nat = \"edge\"; transit = \"x\"; } );\n",
		 "t:6: media_rules[1]: a rule from \"inside\" to \"outside\" is already at line 5");
	load_err(BASE NAT_EDGE "media_rules = ( { to = \"outside\"; nat = \"edge\"; } );\n",
		 "t:4: media_rules[0].from: missing");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; } );\n",
		 "t:4: media_rules[0].nat: missing");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; natd_in = \"\"; } );\n",
		 "t:4: media_rules[0].natd_in: must not be empty");
	load_err(BASE NAT_EDGE "media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; transit = \"a b\"; } );\n",
		 "t:4: media_rules[0].transit: \"a b\" is not a name");
	/* `to` needs a listen entry: the proxy could never send there */
	load_err("realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; },\n"
		 " { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n"
		 "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; } );\n" NAT_EDGE
		 "media_rules = ( { from = \"inside\";\n to = \"outside\"; nat = \"edge\"; } );\n",
		 "t:6: media_rules[0].to: realm \"outside\" has no listen entry: the proxy could never send there");
	/* but `from` need not have one */
	load_ok("realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; },\n"
		" { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n"
		"listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; } );\n" NAT_EDGE
		"media_rules = ( { from = \"outside\"; to = \"inside\"; nat = \"edge\"; } );\n");
}

static void test_routes_errors(void **state)
{
	(void)state;
	load_err(BASE "routes = (\n { domain = \"a.test\"; prefix = \"10.0.0.0/8\"; next_hop = \"10.0.0.1\"; } );\n",
		 "t:4: routes[0].prefix: domain and prefix are exclusive");
	load_err(BASE "routes = (\n { next_hop = \"10.0.0.1\"; } );\n",
		 "t:4: routes[0].domain: missing: a route needs domain or prefix");
	load_err(BASE "routes = (\n { domain = \"a.test\"; } );\n", "t:4: routes[0].next_hop: missing");
	load_err(BASE "routes = ( { domain = \"a.test\"; next_hop = \"proxy.a.test\"; } );\n",
		 "t:3: routes[0].next_hop: \"proxy.a.test\" is not an IPv4 address (not 0.0.0.0) with an optional :port");
	load_err(BASE "routes = ( { domain = \"a.test\"; next_hop = \"10.0.0.1:0\"; } );\n", "is not an IPv4 address");
	load_err(BASE "routes = ( { domain = \"a.test\"; next_hop = \"10.0.0.1:65536\"; } );\n", "is not an IPv4 address");
	load_err(BASE "routes = ( { domain = \"a.test\"; next_hop = \"10.0.0.1:\"; } );\n", "is not an IPv4 address");
	load_err(BASE "routes = ( { domain = \"a.test\"; next_hop = \"10.0.0.1:50x\"; } );\n", "is not an IPv4 address");
	load_err(BASE "routes = ( { domain = \"a.test\"; next_hop = \"0.0.0.0:5060\"; } );\n", "is not an IPv4 address");
	load_err(BASE "routes = ( { domain = \"a.test\"; next_hop = \"10.0.0.1\"; transport = \"sctp\"; } );\n",
		 "t:3: routes[0].transport: \"sctp\" is not one of udp, tcp, tls");
	load_err(BASE "routes = ( { domain = \"*.\"; next_hop = \"10.0.0.1\"; } );\n",
		 "t:3: routes[0].domain: \"*.\" is not a domain name, or \"*.\" and one");
	load_err(BASE "routes = ( { domain = \"*\"; next_hop = \"10.0.0.1\"; } );\n", "is not a domain name");
	load_err(BASE "routes = ( { domain = \"a.*.test\"; next_hop = \"10.0.0.1\"; } );\n", "is not a domain name");
	load_err(BASE "routes = ( { domain = \"\"; next_hop = \"10.0.0.1\"; } );\n", "t:3: routes[0].domain: must not be empty");
	load_err(BASE "routes = ( { prefix = \"10.0.0.1/8\"; next_hop = \"10.0.0.1\"; } );\n",
		 "t:3: routes[0].prefix: \"10.0.0.1/8\" has host bits set (the prefix is 10.0.0.0/8)");
	load_err(BASE "routes = (\n { domain = \"a.test\"; next_hop = \"10.0.0.1\"; },\n { domain = \"A.Test\"; next_hop = \"10.0.0.2\"; } );\n",
		 "t:5: routes[1].domain: \"a.test\" already has a route at line 4");
	load_err(BASE "routes = (\n { prefix = \"10.0.0.0/8\"; next_hop = \"10.0.0.1\"; },\n { prefix = \"10.0.0.0/8\"; next_hop = \"10.0.0.2\"; } );\n",
		 "t:5: routes[1].prefix: 10.0.0.0/8 already has a route at line 4");
	/* the same text as a domain and a prefix is no clash */
	load_ok(BASE "routes = ( { domain = \"*.test\"; next_hop = \"10.0.0.1\"; }, { domain = \"a.test\"; next_hop = \"10.0.0.1\"; },\n"
		" { prefix = \"10.0.0.0/8\"; next_hop = \"10.0.0.1\"; }, { prefix = \"10.0.0.0/16\"; next_hop = \"10.0.0.1\"; } );\n");
}

static void test_order(void **state)
{
	(void)state;
	load_err(BASE "registrar: {\n min_expires = 600;\n default_expires = 300; };\n",
		 "t:4: registrar.min_expires: 600 is more than registrar.default_expires (300)");
	load_err(BASE "registrar: {\n max_expires = 600; };\n",
		 "t:0: registrar.default_expires: 3600 is more than registrar.max_expires (600)");
	load_err(BASE "registrar: {\n default_expires = 7200; };\n",
		 "t:4: registrar.default_expires: 7200 is more than registrar.max_expires (3600)");
	load_ok(BASE "registrar: { min_expires = 300; default_expires = 300; max_expires = 300; };\n");
	load_err(BASE "sip: {\n t1_ms = 5000; };\n", "t:4: sip.t1_ms: 5000 is more than sip.t2_ms (4000)");
	load_ok(BASE "sip: { t1_ms = 4000; };\n");
}

/* Problems of every pass are all reported, each at its own line. */
static void test_collected(void **state)
{
	(void)state;
	load_err("user = \"nobody\";\n"                                          /* 1 */
		 "bogus = 1;\n"                                                  /* 2 */
		 "realms = (\n"                                                  /* 3 */
		 "  { name = \"inside\";\n"                                      /* 4 */
		 "    prefixes = [ \"10.1.0.1/24\" ]; },\n"                      /* 5 */
		 "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; }\n"      /* 6 */
		 ");\n"                                                          /* 7 */
		 "listen = (\n"                                                  /* 8 */
		 "  { address = \"0.0.0.0\"; realm = \"inside\"; },\n"           /* 9 */
		 "  { address = \"10.1.0.1\"; realm = \"x\"; }\n"                /* 10 */
		 ");\n"                                                          /* 11 */
		 "media: { ice = \"nope\"; };\n"                                 /* 12 */
		 "sip: { t1_ms = 9000; };\n",                                    /* 13 */
		 "t:2: bogus: unknown setting\n");
	assert_true(has("t:5: realms[0].prefixes[0]: \"10.1.0.1/24\" has host bits set"));
	assert_true(has("t:9: listen[0].address: 0.0.0.0 is not allowed"));
	assert_true(has("t:10: listen[1].realm: no realm named \"x\""));
	assert_true(has("t:12: media.ice: \"nope\" is not one of"));
	assert_true(has("t:13: sip.t1_ms: 9000 is more than sip.t2_ms (4000)"));
	assert_int_equal(nlines(errbuf), 6);
}

static void test_name_in_messages(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	assert_int_equal(sp_conf_load_string(BASE "x = 1;\n", "my.conf", &conf, f), -1);
	fclose(f);
	assert_string_equal(buf, "my.conf:3: x: unknown setting\n");
	free(buf);
}

static void test_realm_of(void **state)
{
	(void)state;
	load_ok("realms = (\n"
		" { name = \"inside\"; prefixes = [ \"10.1.0.0/24\", \"10.3.0.0/16\" ]; },\n"
		" { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; },\n"
		" { name = \"servers\"; prefixes = [ \"10.1.0.128/25\", \"10.0.0.0/8\" ]; },\n"
		" { name = \"host\"; prefixes = [ \"10.1.0.200/32\" ]; }\n"
		");\n" LISTEN);
	assert_int_equal(sp_conf_realm_of(&conf, ip("10.1.0.5")), 0);
	assert_int_equal(sp_conf_realm_of(&conf, ip("10.1.0.130")), 2);
	assert_int_equal(sp_conf_realm_of(&conf, ip("10.1.0.200")), 3);
	assert_int_equal(sp_conf_realm_of(&conf, ip("10.1.0.201")), 2);
	assert_int_equal(sp_conf_realm_of(&conf, ip("10.3.9.9")), 0);
	assert_int_equal(sp_conf_realm_of(&conf, ip("10.4.9.9")), 2);
	assert_int_equal(sp_conf_realm_of(&conf, ip("8.8.8.8")), 1);
	assert_int_equal(sp_conf_realm_of(&conf, ip("255.255.255.255")), 1);
	/* without a default prefix some addresses are in no realm */
	load_ok("realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; }, { name = \"outside\"; } );\n" LISTEN);
	assert_int_equal(sp_conf_realm_of(&conf, ip("10.1.0.5")), 0);
	assert_int_equal(sp_conf_realm_of(&conf, ip("8.8.8.8")), -1);
	assert_int_equal(sp_conf_realm_of(&conf, ip("10.1.1.0")), -1);
}

static void test_realm_index(void **state)
{
	(void)state;
	load_ok(BASE);
	assert_int_equal(sp_conf_realm_index(&conf, "inside"), 0);
	assert_int_equal(sp_conf_realm_index(&conf, "outside"), 1);
	assert_int_equal(sp_conf_realm_index(&conf, "Inside"), -1);
	assert_int_equal(sp_conf_realm_index(&conf, ""), -1);
	assert_int_equal(sp_conf_listen_of(&conf, 0, false), 0);
	assert_int_equal(sp_conf_listen_of(&conf, 1, true), 1);
	assert_int_equal(sp_conf_listen_of(&conf, -1, true), -1);
}

static void test_rule_lookup(void **state)
{
	const struct spc_rule *r;

	(void)state;
	load_ok(full);
	r = sp_conf_rule(&conf, 0, 1);
	assert_non_null(r);
	assert_int_equal(r->nat, 0);
	r = sp_conf_rule(&conf, 2, 1);
	assert_non_null(r);
	assert_string_equal(r->transit, "carrier");
	r = sp_conf_rule(&conf, 1, 2);
	assert_non_null(r);
	assert_ptr_equal(r, &conf.rules[2]);
	assert_null(sp_conf_rule(&conf, 1, 0)); /* the answer direction: unchanged */
	assert_null(sp_conf_rule(&conf, 0, 2));
	assert_null(sp_conf_rule(&conf, 0, 0));
	assert_null(sp_conf_rule(&conf, -1, 1));
}

static void test_route_lookup(void **state)
{
	const struct spc_route *r;

	(void)state;
	load_ok(BASE "routes = (\n"
		" { domain = \"b.example.net\"; next_hop = \"10.20.0.1:5080\"; },\n"       /* 0 */
		" { domain = \"*.example.net\"; next_hop = \"10.20.0.2\"; },\n"            /* 1 */
		" { domain = \"*.b.example.net\"; next_hop = \"10.20.0.3\"; },\n"          /* 2 */
		" { domain = \"*.Example.ORG\"; next_hop = \"10.20.0.4\"; transport = \"tcp\"; },\n" /* 3 */
		" { prefix = \"192.0.2.0/24\"; next_hop = \"10.20.0.5\"; },\n"             /* 4 */
		" { prefix = \"192.0.2.128/25\"; next_hop = \"10.20.0.6\"; },\n"           /* 5 */
		" { prefix = \"0.0.0.0/0\"; next_hop = \"10.20.0.7\"; },\n"                /* 6 */
		" { domain = \"198.51.100.1\"; next_hop = \"10.20.0.8\"; }\n"              /* 7 */
		");\n");
	/* exact first */
	assert_ptr_equal(sp_conf_route(&conf, "b.example.net"), &conf.routes[0]);
	assert_ptr_equal(sp_conf_route(&conf, "B.Example.Net"), &conf.routes[0]);
	assert_ptr_equal(sp_conf_route(&conf, "b.example.net."), &conf.routes[0]);
	assert_int_equal(ntohs(conf.routes[0].next_hop.sin_port), 5080);
	/* then the longest suffix */
	assert_ptr_equal(sp_conf_route(&conf, "x.b.example.net"), &conf.routes[2]);
	assert_ptr_equal(sp_conf_route(&conf, "y.x.b.example.net"), &conf.routes[2]);
	assert_ptr_equal(sp_conf_route(&conf, "c.example.net"), &conf.routes[1]);
	assert_ptr_equal(sp_conf_route(&conf, "a.c.EXAMPLE.net"), &conf.routes[1]);
	r = sp_conf_route(&conf, "pbx.example.org");
	assert_ptr_equal(r, &conf.routes[3]);
	assert_true(r->tcp);
	/* "*.x" is not x itself, nor a name merely ending in the same letters */
	assert_null(sp_conf_route(&conf, "example.org"));
	assert_null(sp_conf_route(&conf, "badexample.org"));
	assert_null(sp_conf_route(&conf, "example.com"));
	/* literals: longest prefix */
	assert_ptr_equal(sp_conf_route(&conf, "192.0.2.1"), &conf.routes[4]);
	assert_ptr_equal(sp_conf_route(&conf, "192.0.2.200"), &conf.routes[5]);
	assert_ptr_equal(sp_conf_route(&conf, "8.8.8.8"), &conf.routes[6]);
	/* an exact "domain" written as a literal still matches first */
	assert_ptr_equal(sp_conf_route(&conf, "198.51.100.1"), &conf.routes[7]);
	/* names never match prefixes */
	assert_null(sp_conf_route(&conf, "host.invalid"));
	assert_null(sp_conf_route(&conf, ""));
	assert_null(sp_conf_route(&conf, NULL));
	/* no routes at all */
	load_ok(BASE);
	assert_null(sp_conf_route(&conf, "b.example.net"));
	assert_null(sp_conf_route(&conf, "192.0.2.1"));
}

static void test_is_local_domain(void **state)
{
	char longname[300];

	(void)state;
	load_ok(full);
	assert_true(sp_conf_is_local_domain(&conf, "edge.test"));
	assert_true(sp_conf_is_local_domain(&conf, "EDGE.Test"));
	assert_true(sp_conf_is_local_domain(&conf, "other.test"));
	assert_true(sp_conf_is_local_domain(&conf, "10.1.0.1"));
	assert_true(sp_conf_is_local_domain(&conf, "203.0.113.1"));
	assert_true(sp_conf_is_local_domain(&conf, "172.16.0.1"));
	assert_false(sp_conf_is_local_domain(&conf, "10.1.0.2"));
	assert_false(sp_conf_is_local_domain(&conf, "b.example.net"));
	assert_false(sp_conf_is_local_domain(&conf, "x.edge.test"));
	assert_false(sp_conf_is_local_domain(&conf, ""));
	assert_false(sp_conf_is_local_domain(&conf, NULL));
	memset(longname, 'a', sizeof(longname));
	longname[sizeof(longname) - 1] = '\0';
	assert_false(sp_conf_is_local_domain(&conf, longname));
	/* the advertised host */
	load_ok(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; advertise = \"Proxy.Lan\"; } );\n");
	assert_true(sp_conf_is_local_domain(&conf, "proxy.lan"));
	assert_true(sp_conf_is_local_domain(&conf, "PROXY.LAN"));
	assert_false(sp_conf_is_local_domain(&conf, "edge.test"));
}

#define TLS_FILES "tls = { cert = \"/etc/natedge/tls/sip.pem\"; key = \"/etc/natedge/tls/sip.key\"; " \
	"ca = \"/etc/natedge/tls/ca.pem\"; "
#define TLS_LISTEN                                                                                 \
	"listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; transports = [ \"udp\", \"tls\" ]; }, " \
	"{ address = \"203.0.113.1\"; realm = \"outside\"; } );\n"

/* tls: the block, listen transports "tls" with tls_port, routes over TLS,
 * peers, and every problem with its line. */
static void test_tls(void **state)
{
	const struct spc_tls_peer *pe;
	struct in_addr a;

	(void)state;
	load_ok(REALMS TLS_LISTEN TLS_FILES
		"peers = ( { prefix = \"198.51.100.0/24\"; name = \"carrier.example\"; },\n"
		" { prefix = \"198.51.100.2/32\"; name = \"egress.example\"; mutual = true; } ); };\n"
		"routes = ( { domain = \"b.test\"; next_hop = \"198.51.100.2:5061\"; transport = \"tls\"; } );\n");
	assert_true(conf.listen[0].tls);
	assert_true(conf.listen[0].udp);
	assert_false(conf.listen[0].tcp);
	assert_int_equal(conf.listen[0].tls_port, 5061);
	assert_false(conf.listen[1].tls);
	assert_true(conf.listen[1].tcp);
	assert_int_equal(sp_conf_listen_tls(&conf, 0), 0);
	assert_int_equal(sp_conf_listen_tls(&conf, 1), -1);
	assert_int_equal(sp_conf_listen_of(&conf, 0, true), -1);
	assert_true(conf.tls.verify_peers);
	assert_int_equal(conf.tls.handshake_timeout, 5);
	assert_string_equal(conf.tls.ca, "/etc/natedge/tls/ca.pem");
	assert_int_equal(conf.tls.npeers, 2);
	assert_true(conf.routes[0].tls);
	assert_true(conf.routes[0].tcp); /* TLS is a stream */
	/* the longest prefix names the peer */
	inet_pton(AF_INET, "198.51.100.2", &a);
	pe = sp_conf_tls_peer(&conf, a.s_addr);
	assert_non_null(pe);
	assert_string_equal(pe->name, "egress.example");
	assert_true(pe->mutual);
	inet_pton(AF_INET, "198.51.100.3", &a);
	pe = sp_conf_tls_peer(&conf, a.s_addr);
	assert_non_null(pe);
	assert_string_equal(pe->name, "carrier.example");
	assert_false(pe->mutual);
	inet_pton(AF_INET, "192.0.2.3", &a);
	assert_null(sp_conf_tls_peer(&conf, a.s_addr));

	/* no TLS anywhere: no files needed, the block may be absent */
	load_ok(BASE);
	assert_false(conf.listen[0].tls);
	assert_int_equal(conf.tls.cert[0], 0);
	/* its own port, verify_peers off, timeouts */
	load_ok(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; transports = [ \"tcp\", \"tls\" ];"
		" tls_port = 5071; } );\n" TLS_FILES "verify_peers = false; handshake_timeout = 2; };\n");
	assert_int_equal(conf.listen[0].tls_port, 5071);
	assert_false(conf.tls.verify_peers);
	assert_int_equal(conf.tls.handshake_timeout, 2);

	/* TLS used without certificate or key: pointed at the use */
	load_err(REALMS TLS_LISTEN, "t:2: tls.cert: missing: TLS is used here");
	load_err(REALMS TLS_LISTEN, "t:2: tls.key: missing");
	load_err(BASE "routes = ( { domain = \"b.test\"; next_hop = \"198.51.100.2\"; transport = \"tls\"; } );\n",
		 "t:3: tls.cert: missing");
	load_err(BASE "tls = { cert = \"/a.pem\"; };\n", "tls.key: tls.cert and tls.key go together");
	load_err(REALMS TLS_LISTEN "tls = { cert = \"sip.pem\"; key = \"/k\"; };\n",
		 "t:3: tls.cert: \"sip.pem\" is not an absolute path");
	load_err(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; transports = [ \"tcp\", \"tls\" ];"
		 " tls_port = 5060; } );\n" TLS_FILES "};\n", "t:2: listen[0].tls_port: 5060 is also this entry's TCP port");
	load_err(REALMS "listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; tls_port = 0; } );\n",
		 "t:2: listen[0].tls_port:");
	load_err(BASE TLS_FILES "handshake_timeout = 0; };\n", "t:3: tls.handshake_timeout:");
	load_err(BASE TLS_FILES "verify = true; };\n", "t:3: tls.verify: unknown setting");
	load_err(BASE "tls = { cert = \"/a.pem\"; key = \"/a.key\";\n"
		 " peers = ( { prefix = \"198.51.100.2/32\"; name = \"egress.example\"; mutual = true; } ); };\n",
		 "t:4: tls.peers[0].mutual: needs tls.ca");
	load_err(BASE TLS_FILES "peers = ( { prefix = \"198.51.100.2/32\"; } ); };\n", "tls.peers[0].name: missing");
	load_err(BASE TLS_FILES "peers = ( { prefix = \"198.51.100.2/32\"; name = \"a b\"; } ); };\n",
		 "t:3: tls.peers[0].name:");
	load_err(BASE TLS_FILES "peers = ( { prefix = \"198.51.100.2/24\"; name = \"x.example\"; } ); };\n",
		 "t:3: tls.peers[0].prefix:");
	load_err(BASE TLS_FILES "peers = ( { prefix = \"198.51.100.2/32\"; name = \"x.example\"; port = 1; } ); };\n",
		 "t:3: tls.peers[0].port: unknown setting");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_reference_conf),
		cmocka_unit_test(test_minimal_conf),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_errs_null),
		cmocka_unit_test(test_overwrites),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_wide_ints),
		cmocka_unit_test(test_log_levels),
		cmocka_unit_test(test_media_choices),
		cmocka_unit_test(test_ha),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_realm_names),
		cmocka_unit_test(test_realm_prefixes),
		cmocka_unit_test(test_realm_reachable),
		cmocka_unit_test(test_listen_errors),
		cmocka_unit_test(test_listen_transports),
		cmocka_unit_test(test_required_lists),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_nats_ok),
		cmocka_unit_test(test_nats_errors),
		cmocka_unit_test(test_rules_ok),
		cmocka_unit_test(test_rules_errors),
		cmocka_unit_test(test_rules_media_policy),
		cmocka_unit_test(test_routes_errors),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_collected),
		cmocka_unit_test(test_name_in_messages),
		cmocka_unit_test(test_realm_of),
		cmocka_unit_test(test_realm_index),
		cmocka_unit_test(test_rule_lookup),
		cmocka_unit_test(test_route_lookup),
		cmocka_unit_test(test_is_local_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
