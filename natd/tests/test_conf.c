/* Unit tests for conf.c: the shipped example configurations load with the
 * values they state, a minimal file gets every default, and each kind of
 * mistake is reported as "file:line: setting: problem" (all of them, not
 * just the first) with conf_load() failing. Configuration files are
 * written to a private temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

static char tmpdir[64];
static unsigned file_seq;

struct loaded {
	int rc;
	char path[128];
	char *errs;
	size_t errlen;
	unsigned nlines;
	struct natd_conf c;
};

/* Loads not yet released: a failing assertion longjmps out of a test, so
 * the per-test teardown releases what it left behind. */
static struct loaded *live[4];

static void track(struct loaded *l)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		if (live[i] == l)
			return;
	for (i = 0; i < 4; i++)
		if (!live[i]) {
			live[i] = l;
			return;
		}
}

static void done(struct loaded *l)
{
	unsigned i;

	if (l->rc == 0)
		conf_free(&l->c);
	free(l->errs);
	l->errs = NULL;
	l->rc = -1;
	for (i = 0; i < 4; i++)
		if (live[i] == l)
			live[i] = NULL;
}

static int test_teardown(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0; i < 4; i++)
		if (live[i])
			done(live[i]);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	log_level = LOG_ERR; /* the RFC-minimum warnings are expected here */
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/natd-test-conf-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	unsigned i;
	char p[128];

	(void)state;
	for (i = 0; i < file_seq; i++) {
		snprintf(p, sizeof(p), "%s/t%u.conf", tmpdir, i);
		unlink(p);
	}
	rmdir(tmpdir);
	return 0;
}

static unsigned count_lines(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		if (*s == '\n')
			n++;
	return n;
}

static void load_file(struct loaded *l, const char *path)
{
	FILE *f = open_memstream(&l->errs, &l->errlen);

	assert_non_null(f);
	track(l);
	snprintf(l->path, sizeof(l->path), "%s", path);
	l->rc = conf_load(path, &l->c, f);
	assert_int_equal(fclose(f), 0);
	l->nlines = count_lines(l->errs);
}

static void load_text(struct loaded *l, const char *text)
{
	char p[128];
	FILE *f;

	snprintf(p, sizeof(p), "%s/t%u.conf", tmpdir, file_seq++);
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	load_file(l, p);
}

/* errs holds the line "<path>:<line>: <what>" (what = "setting: problem"
 * or a prefix of it). */
static void expect_err(const struct loaded *l, int line, const char *what)
{
	char want[512];
	const char *p;

	snprintf(want, sizeof(want), "%s:%d: %s", l->path, line, what);
	for (p = l->errs; p && *p;) {
		const char *nl = strchr(p, '\n');

		if (!strncmp(p, want, strlen(want)))
			return;
		p = nl ? nl + 1 : p + strlen(p);
	}
	fail_msg("expected an error line starting with\n  %s\ngot:\n%s", want, l->errs);
}

/* Every error line has the "file:line: setting: problem" shape. */
static void expect_all_well_formed(const struct loaded *l)
{
	const char *p = l->errs;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = strlen(l->path);
		const char *q;

		assert_non_null(nl);
		if (strncmp(p, l->path, n) || p[n] != ':')
			fail_msg("error line without the file name: %.*s", (int)(nl - p), p);
		q = p + n + 1;
		if (q >= nl || *q < '0' || *q > '9')
			fail_msg("error line without a line number: %.*s", (int)(nl - p), p);
		while (*q >= '0' && *q <= '9')
			q++;
		if (strncmp(q, ": ", 2) || !memchr(q + 2, ':', (size_t)(nl - q - 2)))
			fail_msg("error line not 'file:line: setting: problem': %.*s",
				 (int)(nl - p), p);
		p = nl + 1;
	}
}

static void expect_fail(struct loaded *l, unsigned nerrors)
{
	assert_int_equal(l->rc, -EINVAL);
	if (l->nlines != nerrors)
		fail_msg("expected %u error lines, got %u:\n%s", nerrors, l->nlines, l->errs);
	expect_all_well_formed(l);
}

static void expect_ok(struct loaded *l)
{
	if (l->rc != 0 || l->errlen != 0)
		fail_msg("expected a clean load of %s, got rc %d:\n%s", l->path, l->rc, l->errs);
}

/* Two realms on lines 1-5; extra settings start on line 6. */
#define BASE                                                                        \
	"realms = (\n"                                                              \
	"  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n" \
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"                  \
	"    pool = { addresses = [ \"198.51.100.1/32\" ]; ports = \"1024-65535\"; }; }\n" \
	");\n"

static uint32_t A(const char *s)
{
	return inet_addr(s);
}

/* ---- good files ---- */

static void test_example_full(void **state)
{
	struct loaded l = { 0 };
	struct natd_conf *c = &l.c;

	(void)state;
	load_file(&l, TOP_SRCDIR "/conf/natd.conf");
	expect_ok(&l);
	assert_string_equal(c->tun_name, "natd0");
	assert_int_equal(c->tun_mtu, 1500);
	assert_int_equal(c->tun_txqueuelen, 5000);
	assert_string_equal(c->user, "natedge");
	assert_string_equal(c->pidfile, "/run/natd/natd.pid");
	assert_int_equal(c->log_level, LOG_INFO);
	assert_false(c->log_syslog);
	assert_int_equal(c->stats_interval, 0);
	assert_int_equal(c->bind.capacity, 65536);
	assert_int_equal(c->bind.perm_capacity, 0); /* none needed under EIF */
	assert_int_equal(c->bind.filtering, FILTER_EIF);
	assert_true(c->hairpinning);
	assert_true(c->port_parity);
	assert_true(c->port_preservation);
	assert_int_equal(c->max_bindings_per_host, 4096);
	assert_int_equal(c->new_flows_per_host, 1000);
	assert_int_equal(c->bind.timeout[BT_UDP], 300);
	assert_int_equal(c->bind.timeout[BT_TCP_EST], 7440);
	assert_int_equal(c->bind.timeout[BT_TCP_TRANS], 240);
	assert_int_equal(c->bind.timeout[BT_ICMP], 60);
	assert_int_equal(c->frag.datagrams, 1024);
	assert_int_equal(c->frag.slots, 256);
	assert_int_equal(c->frag.timeout, 2);
	assert_int_equal(c->frag.slot_bytes, 1500);
	/* issue 11: the fair shares, as shipped */
	assert_int_equal(c->frag.datagrams_per_source, 256);
	assert_int_equal(c->frag.slots_per_source, 48);
	assert_int_equal(c->bind.perm_per_host, 8192);
	assert_false(c->icmp_errors_from_path);
	assert_int_equal(c->pcp.max_client_rate, 20);
	/* realms */
	assert_int_equal(c->nrealms, 2);
	assert_string_equal(c->realms[0].name, "inside");
	assert_int_equal(c->realms[0].nprefixes, 1);
	assert_int_equal(c->realms[0].prefixes[0].addr, A("10.1.0.0"));
	assert_int_equal(c->realms[0].prefixes[0].len, 24);
	assert_int_equal(c->realms[0].prefixes[0].mask, A("255.255.255.0"));
	assert_int_equal(c->realms[0].nnat_to, 1);
	assert_string_equal(c->realms[0].nat_to[0], "outside");
	assert_int_equal(c->realms[0].npool, 0);
	assert_string_equal(c->realms[1].name, "outside");
	assert_int_equal(c->realms[1].prefixes[0].len, 0);
	assert_int_equal(c->realms[1].prefixes[0].mask, 0);
	assert_int_equal(c->realms[1].npool, 1);
	assert_int_equal(c->realms[1].pool[0].addr, A("198.51.100.0"));
	assert_int_equal(c->realms[1].pool[0].len, 28);
	assert_int_equal(c->realms[1].port_lo, 1024);
	assert_int_equal(c->realms[1].port_hi, 65535);
	assert_int_equal(c->realms[1].nnat_to, 0);
	/* forwards */
	assert_int_equal(c->nforwards, 1);
	assert_non_null(c->forwards);
	assert_int_equal(c->forwards[0].proto, IPPROTO_UDP);
	assert_string_equal(c->forwards[0].ext_realm, "outside");
	assert_int_equal(c->forwards[0].ext.addr, A("198.51.100.1"));
	assert_int_equal(c->forwards[0].ext.port, htons(5060));
	assert_string_equal(c->forwards[0].in_realm, "inside");
	assert_int_equal(c->forwards[0].in.addr, A("10.1.0.10"));
	assert_int_equal(c->forwards[0].in.port, htons(5060));
	assert_true(c->forwards[0].line > 0);
	/* routes */
	assert_true(c->routes_install);
	assert_int_equal(c->routes_table, 100);
	assert_int_equal(c->nroutes_iifs, 1);
	assert_string_equal(c->routes_iifs[0], "br-in");
	assert_string_equal(c->path, TOP_SRCDIR "/conf/natd.conf");
	done(&l);
}

static void test_example_minimal(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_file(&l, TOP_SRCDIR "/conf/natd-minimal.conf");
	expect_ok(&l);
	assert_int_equal(l.c.nrealms, 2);
	assert_int_equal(l.c.realms[1].npool, 1);
	assert_int_equal(l.c.realms[1].pool[0].addr, A("198.51.100.1"));
	assert_int_equal(l.c.realms[1].pool[0].len, 32);
	done(&l);
}

static void test_defaults(void **state)
{
	struct loaded l = { 0 };
	struct natd_conf *c = &l.c;

	(void)state;
	load_text(&l, BASE);
	expect_ok(&l);
	assert_string_equal(c->tun_name, "natd0");
	assert_int_equal(c->tun_mtu, 1500);
	assert_int_equal(c->tun_txqueuelen, 5000);
	assert_string_equal(c->user, "natedge");
	assert_string_equal(c->pidfile, "/run/natd/natd.pid");
	assert_int_equal(c->log_level, LOG_INFO);
	assert_false(c->log_syslog);
	assert_int_equal(c->stats_interval, 0);
	assert_int_equal(c->bind.capacity, 65536);
	assert_int_equal(c->bind.filtering, FILTER_EIF);
	assert_true(c->hairpinning);
	assert_true(c->port_parity);
	assert_true(c->port_preservation);
	assert_int_equal(c->max_bindings_per_host, 4096);
	assert_int_equal(c->new_flows_per_host, 1000);
	/* RFC 4787 / 5382 / 5508 defaults */
	assert_int_equal(c->bind.timeout[BT_UDP], 300);
	assert_int_equal(c->bind.timeout[BT_TCP_EST], 7440);
	assert_int_equal(c->bind.timeout[BT_TCP_TRANS], 240);
	assert_int_equal(c->bind.timeout[BT_ICMP], 60);
	assert_true(c->bind.timeout[BT_UDP] >= 120);
	assert_int_equal(c->frag.datagrams, 1024);
	assert_int_equal(c->frag.slots, 256);
	assert_true(c->frag.timeout >= 1 && c->frag.timeout <= 60);
	/* issue 11: protections on when nothing is said */
	assert_int_equal(c->frag.datagrams_per_source, 256);
	assert_int_equal(c->frag.slots_per_source, 48);
	assert_int_equal(c->bind.perm_per_host, 8192);
	assert_false(c->icmp_errors_from_path);
	assert_int_equal(c->pcp.max_client_rate, 20);
	assert_int_equal(c->frag.slot_bytes, 1500);
	assert_false(c->routes_install);
	assert_int_equal(c->routes_table, 100);
	assert_int_equal(c->nroutes_iifs, 0);
	assert_int_equal(c->nroutes_dev_prefixes, 0);
	assert_int_equal(c->nforwards, 0);
	assert_int_equal(c->realms[1].port_lo, 1024);
	assert_int_equal(c->realms[1].port_hi, 65535);
	done(&l);
}

static void test_values_set(void **state)
{
	struct loaded l = { 0 };
	struct natd_conf *c = &l.c;

	(void)state;
	load_text(&l, BASE
		  "tun: { name = \"nat7\"; mtu = 9000; txqueuelen = 1; };\n"
		  "log: { level = \"debug\"; syslog = true; };\n"
		  "stats_interval = 60;\n"
		  "table: { capacity = 1000; filtering = \"address-and-port-dependent\";\n"
		  "         hairpinning = false; port_parity = false; port_preservation = false;\n"
		  "         max_bindings_per_host = 0; new_flows_per_host = 7; };\n"
		  "timeouts: { udp = 30; tcp_established = 100; tcp_transitory = 10; icmp = 5; };\n"
		  "fragments: { datagrams = 10; buffered = 0; timeout = 60; };\n"
		  "routes: { install = true; table = 7; inside_interfaces = [ \"veth0\", \"br-in\" ];\n"
		  "          prefixes = [ \"192.0.2.0/24\" ]; };\n");
	expect_ok(&l);
	assert_string_equal(c->tun_name, "nat7");
	assert_int_equal(c->tun_mtu, 9000);
	assert_int_equal(c->frag.slot_bytes, 9000);
	assert_int_equal(c->tun_txqueuelen, 1);
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_true(c->log_syslog);
	assert_int_equal(c->stats_interval, 60);
	assert_int_equal(c->bind.capacity, 1000);
	assert_int_equal(c->bind.filtering, FILTER_APDF);
	/* Dependent filtering gets permission records by default. */
	assert_true(c->bind.perm_capacity >= c->bind.capacity);
	assert_false(c->hairpinning);
	assert_false(c->port_parity);
	assert_false(c->port_preservation);
	assert_int_equal(c->max_bindings_per_host, 0);
	assert_int_equal(c->new_flows_per_host, 7);
	assert_int_equal(c->bind.timeout[BT_UDP], 30);
	assert_int_equal(c->bind.timeout[BT_TCP_EST], 100);
	assert_int_equal(c->bind.timeout[BT_TCP_TRANS], 10);
	assert_int_equal(c->bind.timeout[BT_ICMP], 5);
	assert_int_equal(c->frag.datagrams, 10);
	assert_int_equal(c->frag.slots, 0);
	assert_int_equal(c->frag.timeout, 60);
	assert_true(c->routes_install);
	assert_int_equal(c->routes_table, 7);
	assert_int_equal(c->nroutes_iifs, 2);
	assert_string_equal(c->routes_iifs[0], "veth0");
	assert_string_equal(c->routes_iifs[1], "br-in");
	assert_int_equal(c->nroutes_dev_prefixes, 1);
	assert_string_equal(c->routes_dev_prefixes[0], "192.0.2.0/24");
	done(&l);
}

static void test_filtering_names(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l, BASE "table: { filtering = \"address-dependent\"; permissions = 5; };\n");
	expect_ok(&l);
	assert_int_equal(l.c.bind.filtering, FILTER_ADF);
	assert_int_equal(l.c.bind.perm_capacity, 5); /* explicit wins */
	done(&l);
	load_text(&l, BASE "table: { filtering = \"endpoint-independent\"; };\n");
	expect_ok(&l);
	assert_int_equal(l.c.bind.filtering, FILTER_EIF);
	done(&l);
}

static void test_forwards_loaded(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l, BASE
		  "forwards = (\n"
		  "  { proto = \"udp\"; external = \"198.51.100.1:5060\"; realm = \"outside\";\n"
		  "    internal = \"10.1.0.10:5060\"; internal_realm = \"inside\"; },\n"
		  "  { proto = \"tcp\"; external = \"198.51.100.1:443\"; realm = \"outside\";\n"
		  "    internal = \"10.1.0.20:8443\"; internal_realm = \"inside\"; }\n"
		  ");\n");
	expect_ok(&l);
	assert_int_equal(l.c.nforwards, 2);
	assert_int_equal(l.c.forwards[1].proto, IPPROTO_TCP);
	assert_int_equal(l.c.forwards[1].ext.port, htons(443));
	assert_int_equal(l.c.forwards[1].in.addr, A("10.1.0.20"));
	assert_int_equal(l.c.forwards[1].in.port, htons(8443));
	assert_int_equal(l.c.forwards[0].line, 7);
	assert_int_equal(l.c.forwards[1].line, 9);
	done(&l);
}

/* ---- errors ---- */

static void test_unknown_settings(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l, BASE "bogus = 1;\n");
	expect_fail(&l, 1);
	expect_err(&l, 6, "bogus: unknown setting");
	done(&l);

	load_text(&l, BASE "tun: {\n  name = \"x\";\n  nmae = \"y\";\n};\n");
	expect_fail(&l, 1);
	expect_err(&l, 8, "tun.nmae: unknown setting");
	done(&l);

	load_text(&l,
		  "realms = (\n"
		  "  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ];\n"
		  "    colour = \"red\"; },\n"
		  "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
		  "    pool = { addresses = [ \"198.51.100.1/32\" ];\n"
		  "             portz = \"1-2\"; }; }\n"
		  ");\n");
	expect_fail(&l, 2);
	expect_err(&l, 3, "realms[0].colour: unknown setting");
	expect_err(&l, 6, "realms[1].pool.portz: unknown setting");
	done(&l);

	load_text(&l, BASE
		  "forwards = (\n"
		  "  { proto = \"udp\"; external = \"198.51.100.1:5060\"; realm = \"outside\";\n"
		  "    internal = \"10.1.0.10:5060\"; internal_realm = \"inside\"; extra = 1; }\n"
		  ");\n");
	expect_fail(&l, 1);
	expect_err(&l, 8, "forwards[0].extra: unknown setting");
	done(&l);
}

/* The control listener: plain TCP only on loopback unless
 * control.insecure_plain_tcp; the tls_* settings hang together. (The
 * certificate files themselves: tests/integration/control-tls.sh.) */
static void test_control_tls(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l, BASE
		  "control: { tcp_listen = \"0.0.0.0:7070\"; tcp_allow = [ \"10.1.0.0/24\" ]; };\n");
	expect_fail(&l, 1);
	expect_err(&l, 6, "control.tcp_listen: \"0.0.0.0:7070\" is not a loopback address");
	done(&l);

	memset(&l, 0, sizeof(l));
	load_text(&l, BASE
		  "control: { tcp_listen = \"127.0.0.1:7070\"; tcp_allow = [ \"127.0.0.0/8\" ]; };\n");
	expect_ok(&l);
	assert_false(l.c.ctl_insecure_plain_tcp);
	assert_true(l.c.ctl_tls_require_cert); /* on by default */
	done(&l);

	memset(&l, 0, sizeof(l));
	load_text(&l, BASE
		  "control: { tcp_listen = \"0.0.0.0:7070\"; tcp_allow = [ \"10.1.0.0/24\" ];\n"
		  "  insecure_plain_tcp = true; };\n");
	expect_ok(&l);
	assert_true(l.c.ctl_insecure_plain_tcp);
	done(&l);

	memset(&l, 0, sizeof(l));
	load_text(&l, BASE
		  "control: { tls_key = \"/nonexistent.key\";\n"                 /* 6 */
		  "  tls_client_names = [ \"a\", \"a\", \"b c\" ]; };\n");    /* 7 */
	expect_fail(&l, 3);
	expect_err(&l, 7, "control.tls_client_names[1]: \"a\" is listed twice");
	expect_err(&l, 7, "control.tls_client_names[2]: \"b c\" is not a certificate name");
	expect_err(&l, 0, "control.tls_cert: missing");
	done(&l);

	memset(&l, 0, sizeof(l));
	load_text(&l, BASE
		  "control: { tcp_listen = \"10.1.0.1:7070\"; tcp_allow = [ \"10.1.0.0/24\" ];\n" /* 6 */
		  "  tls_cert = \"/nonexistent.crt\"; };\n");                                    /* 7 */
	expect_fail(&l, 2);
	expect_err(&l, 0, "control.tls_key: missing");
	expect_err(&l, 0, "control.tls_ca: missing");
	done(&l);
}

static void test_wrong_types(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l, BASE
		  "tun: { mtu = \"1500\"; };\n"         /* 6 */
		  "table: { hairpinning = 1; };\n"      /* 7 */
		  "user = 5;\n"                         /* 8 */
		  "timeouts: { udp = 30.5; };\n"        /* 9 */
		  "log = 3;\n");                        /* 10 */
	expect_fail(&l, 5);
	expect_err(&l, 6, "tun.mtu: must be an integer");
	expect_err(&l, 7, "table.hairpinning: must be true or false");
	expect_err(&l, 8, "user: must be a string");
	expect_err(&l, 9, "timeouts.udp: must be an integer");
	expect_err(&l, 10, "log: must be a group");
	done(&l);
}

static void test_out_of_range(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l, BASE
		  "tun: { mtu = 100; };\n"                         /* 6 */
		  "timeouts: { udp = 0; icmp = 86401; };\n"        /* 7 */
		  "table: { capacity = 0; };\n"                    /* 8 */
		  "fragments: { timeout = 61; };\n"                /* 9 */
		  "stats_interval = -1;\n");                       /* 10 */
	expect_fail(&l, 6);
	expect_err(&l, 6, "tun.mtu: 100 is out of range 576..65535");
	expect_err(&l, 7, "timeouts.udp: 0 is out of range");
	expect_err(&l, 7, "timeouts.icmp: 86401 is out of range");
	expect_err(&l, 8, "table.capacity: 0 is out of range");
	expect_err(&l, 9, "fragments.timeout: 61 is out of range");
	expect_err(&l, 10, "stats_interval: -1 is out of range");
	done(&l);
	/* 64-bit integers are range-checked too, not truncated. */
	load_text(&l, BASE "table: { capacity = 4294967297L; };\n");
	expect_fail(&l, 1);
	expect_err(&l, 6, "table.capacity: 4294967297 is out of range");
	done(&l);
	load_text(&l, BASE "table: { max_bindings_per_host = 16777217; new_flows_per_host = -1; };\n");
	expect_fail(&l, 2);
	expect_err(&l, 6, "table.max_bindings_per_host: 16777217 is out of range");
	expect_err(&l, 6, "table.new_flows_per_host: -1 is out of range");
	done(&l);
}

/* libconfig 1.5 keeps the low 32 bits of a long literal without an L
 * suffix: 4294967297 would read as 1, a valid table.capacity. natd refuses
 * it as written, as sipproxy does; strings and comments are not numbers. */
static void test_wide_ints(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l, BASE
		  "table: { capacity = 4294967297; };\n"            /* 6 */
		  "tun: { mtu = 0x100000600; };\n"                  /* 7 */
		  "control: { clients = ( { user = \"u\"; quota = -4294967295; } ); };\n"); /* 8 */
	expect_fail(&l, 3);
	expect_err(&l, 6, "table.capacity: 4294967297 is out of range 1..16777216");
	expect_err(&l, 7, "tun.mtu: 0x100000600 is out of range 576..65535");
	expect_err(&l, 8, "control.clients[0].quota: -4294967295 is out of range 0..16777216");
	done(&l);
	load_text(&l, BASE "user = \"u4294967297\"; # 4294967297\ntable: { capacity = 1024; };\n");
	expect_ok(&l);
	assert_int_equal(l.c.bind.capacity, 1024);
	done(&l);
}

static void test_bad_enums_and_strings(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l, BASE
		  "log: { level = \"verbose\"; };\n"                        /* 6 */
		  "table: { filtering = \"symmetric\"; };\n"                /* 7 */
		  "tun: { name = \"a-very-long-interface-name\"; };\n"      /* 8 */
		  "routes: { inside_interfaces = [ \"\", \"a/b\" ]; };\n"); /* 9 */
	expect_fail(&l, 5);
	expect_err(&l, 6, "log.level: \"verbose\" is not one of");
	expect_err(&l, 7, "table.filtering: \"symmetric\" is not one of");
	expect_err(&l, 8, "tun.name: longer than 15 characters");
	expect_err(&l, 9, "routes.inside_interfaces[0]: \"\" is not an interface name");
	expect_err(&l, 9, "routes.inside_interfaces[1]: \"a/b\" is not an interface name");
	done(&l);
}

static void test_bad_prefixes_and_ports(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l,
		  "realms = (\n"
		  "  { name = \"inside\"; nat_to = [ \"outside\" ];\n"
		  "    prefixes = [ \"10.1.0.0/33\", \"10.1.0.1/24\", \"foo\", \"10.2.0.0/16\" ]; },\n"
		  "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
		  "    pool = { addresses = [ \"198.51.100.0/24\", \"300.1.1.1\" ];\n"
		  "             ports = \"2000-1000\"; }; }\n"
		  ");\n"
		  "routes: { prefixes = [ \"192.0.2.0/\" ]; };\n");
	expect_fail(&l, 6);
	expect_err(&l, 3, "realms[0].prefixes[0]: \"10.1.0.0/33\" is not a prefix");
	expect_err(&l, 3, "realms[0].prefixes[1]: \"10.1.0.1/24\" is not a prefix");
	expect_err(&l, 3, "realms[0].prefixes[2]: \"foo\" is not a prefix");
	expect_err(&l, 5, "realms[1].pool.addresses[1]: \"300.1.1.1\" is not a prefix");
	expect_err(&l, 6, "realms[1].pool.ports: \"2000-1000\" is not a range");
	expect_err(&l, 8, "routes.prefixes[0]: \"192.0.2.0/\" is not a prefix");
	done(&l);

	load_text(&l,
		  "realms = (\n"
		  "  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
		  "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
		  "    pool = { addresses = [ \"198.51.100.1/32\" ]; ports = \"0-100\"; }; }\n"
		  ");\n");
	expect_fail(&l, 1);
	expect_err(&l, 4, "realms[1].pool.ports: \"0-100\" is not a range");
	done(&l);

	load_text(&l,
		  "realms = (\n"
		  "  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
		  "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
		  "    pool = { addresses = [ \"198.51.100.1/32\" ]; ports = \"1000-70000\"; }; }\n"
		  ");\n");
	expect_fail(&l, 1);
	expect_err(&l, 4, "realms[1].pool.ports: \"1000-70000\" is not a range");
	done(&l);
}

static void test_unknown_realm_references(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l,
		  "realms = (\n"
		  "  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outsied\" ]; },\n"
		  "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
		  "    pool = { addresses = [ \"198.51.100.1/32\" ]; }; }\n"
		  ");\n"
		  "forwards = (\n"
		  "  { proto = \"udp\"; external = \"198.51.100.1:5060\"; realm = \"outisde\";\n"
		  "    internal = \"10.1.0.10:5060\"; internal_realm = \"insde\"; }\n"
		  ");\n");
	expect_fail(&l, 3);
	expect_err(&l, 2, "realms[0].nat_to[0]: no realm named \"outsied\"");
	expect_err(&l, 7, "forwards[0].realm: no realm named \"outisde\"");
	expect_err(&l, 7, "forwards[0].internal_realm: no realm named \"insde\"");
	done(&l);
}

static void test_nat_to_needs_pool_and_other_realm(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l,
		  "realms = (\n"
		  "  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\", \"inside\" ]; },\n"
		  "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; }\n"
		  ");\n");
	expect_fail(&l, 2);
	expect_err(&l, 2, "realms[0].nat_to[0]: realm \"outside\" has no pool");
	expect_err(&l, 2, "realms[0].nat_to[1]: a realm cannot NAT into itself");
	done(&l);
}

static void test_duplicate_realms(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l,
		  "realms = (\n"
		  "  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
		  "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
		  "    pool = { addresses = [ \"198.51.100.1/32\" ]; }; },\n"
		  "  { name = \"inside\"; prefixes = [ \"10.2.0.0/24\" ]; }\n"
		  ");\n");
	expect_fail(&l, 1);
	expect_err(&l, 5, "realms[2]: realm \"inside\" is defined twice");
	done(&l);
}

static void test_duplicate_realm_after_bad_entry(void **state)
{
	/* An entry that is not a group is reported, and the realms after it
	 * are still reported under their own index and line. */
	struct loaded l = { 0 };

	(void)state;
	load_text(&l,
		  "realms = (\n"
		  "  \"junk\",\n"
		  "  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
		  "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
		  "    pool = { addresses = [ \"198.51.100.1/32\" ]; }; },\n"
		  "  { name = \"inside\"; prefixes = [ \"10.2.0.0/24\" ]; }\n"
		  ");\n");
	expect_fail(&l, 2);
	expect_err(&l, 2, "realms[0]: must be a group");
	expect_err(&l, 6, "realms[3]: realm \"inside\" is defined twice");
	done(&l);
}

static void test_overlaps(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	/* Two pools overlapping; one prefix in two realms. */
	load_text(&l,
		  "realms = (\n"
		  "  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ];\n"
		  "    pool = { addresses = [ \"198.51.100.0/28\" ]; }; },\n"
		  "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\", \"10.1.0.0/24\" ];\n"
		  "    pool = { addresses = [ \"198.51.100.8/29\" ]; }; }\n"
		  ");\n");
	expect_fail(&l, 2);
	expect_err(&l, 4, "realms[1]: pool prefix overlaps another pool prefix");
	expect_err(&l, 4, "realms[1]: prefix is also in realm \"inside\"");
	done(&l);
}

static void test_forward_errors(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l, BASE
		  "forwards = (\n"
		  "  { proto = \"udp\"; external = \"203.0.113.1:5060\"; realm = \"inside\";\n"  /* 7 */
		  "    internal = \"10.1.0.10:5060\"; internal_realm = \"inside\"; },\n"
		  "  { proto = \"sctp\"; external = \"198.51.100.1:0\"; realm = \"outside\";\n"  /* 9 */
		  "    internal = \"10.1.0.10\"; internal_realm = \"inside\"; },\n"
		  "  { proto = \"udp\"; external = \"198.51.100.1:5060\"; realm = \"outside\"; },\n" /* 11 */
		  "  { proto = \"udp\"; external = \"198.51.100.1:7000\"; realm = \"outside\";\n"  /* 12 */
		  "    internal = \"10.1.0.10:7000\"; internal_realm = \"inside\"; },\n"
		  "  { proto = \"udp\"; external = \"198.51.100.1:7000\"; realm = \"outside\";\n"  /* 14 */
		  "    internal = \"10.1.0.11:7000\"; internal_realm = \"inside\"; }\n"
		  ");\n");
	expect_err(&l, 7, "forwards[0].external: not an address of realm \"inside\"");
	expect_err(&l, 7, "forwards[0]: external and internal realms are the same");
	expect_err(&l, 9, "forwards[1].proto: \"sctp\" is not udp or tcp");
	expect_err(&l, 9, "forwards[1].external: \"198.51.100.1:0\" is not an address:port");
	expect_err(&l, 10, "forwards[1].internal: \"10.1.0.10\" is not an address:port");
	expect_err(&l, 11, "forwards[2].internal: missing");
	expect_err(&l, 11, "forwards[2].internal_realm: missing");
	expect_err(&l, 14, "forwards[4].external: already forwarded at line 12");
	expect_fail(&l, 8);
	done(&l);
}

static void test_all_errors_reported(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	/* Two independent mistakes: two lines. */
	load_text(&l, BASE "tun: { mtu = 1; };\nbogus = true;\n");
	expect_fail(&l, 2);
	expect_err(&l, 6, "tun.mtu: 1 is out of range");
	expect_err(&l, 7, "bogus: unknown setting");
	done(&l);
	/* Many at once, of different kinds. */
	load_text(&l,
		  "realms = (\n"
		  "  { name = \"inside\"; prefixes = [ \"10.1.0.0/40\" ]; nat_to = [ \"nowhere\" ]; },\n"
		  "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
		  "    pool = { addresses = [ \"198.51.100.1/32\" ]; ports = \"x\"; }; }\n"
		  ");\n"
		  "timeouts: { udp = \"300\"; tcp = 5; };\n"
		  "table: { capacity = 0; filtering = \"none\"; };\n");
	assert_int_equal(l.rc, -EINVAL);
	expect_all_well_formed(&l);
	expect_err(&l, 2, "realms[0].prefixes[0]: \"10.1.0.0/40\" is not a prefix");
	expect_err(&l, 2, "realms[0].nat_to[0]: no realm named \"nowhere\"");
	expect_err(&l, 4, "realms[1].pool.ports: \"x\" is not a range");
	expect_err(&l, 6, "timeouts.udp: must be an integer");
	expect_err(&l, 6, "timeouts.tcp: unknown setting");
	expect_err(&l, 7, "table.capacity: 0 is out of range");
	expect_err(&l, 7, "table.filtering: \"none\" is not one of");
	assert_true(l.nlines >= 7);
	done(&l);
}

static void test_missing_realms_and_too_few(void **state)
{
	struct loaded l = { 0 };

	(void)state;
	load_text(&l, "tun: { mtu = 1500; };\n");
	assert_int_equal(l.rc, -EINVAL);
	assert_true(l.nlines >= 1);
	assert_non_null(strstr(l.errs, "realms"));
	expect_all_well_formed(&l);
	done(&l);
	load_text(&l, "realms = ( { name = \"only\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n");
	expect_fail(&l, 1);
	expect_err(&l, 1, "realms: at least two realms are needed");
	done(&l);
	load_text(&l,
		  "realms = (\n"
		  "  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; },\n"
		  "  { name = \"empty\"; },\n"
		  "  { prefixes = [ \"10.9.0.0/24\" ]; }\n"
		  ");\n");
	expect_err(&l, 3, "realms[1]: a realm needs prefixes or a pool");
	expect_err(&l, 4, "realms[2]: name: missing");
	expect_fail(&l, 2);
	done(&l);
}

static void test_syntax_error_and_missing_file(void **state)
{
	struct loaded l = { 0 };
	char p[160];

	(void)state;
	load_text(&l, BASE "tun: { mtu = ; };\n");
	expect_fail(&l, 1);
	expect_err(&l, 6, "(syntax): ");
	done(&l);
	snprintf(p, sizeof(p), "%s/does-not-exist.conf", tmpdir);
	load_file(&l, p);
	expect_fail(&l, 1);
	assert_non_null(strstr(l.errs, "cannot read"));
	done(&l);
}

static void test_load_twice_independent(void **state)
{
	/* No hidden global state: a failed load does not leak into the next. */
	struct loaded a = { 0 }, b = { 0 };

	(void)state;
	load_text(&a, BASE "tun: { mtu = 1; };\n");
	expect_fail(&a, 1);
	load_text(&b, BASE "tun: { mtu = 1400; };\n");
	expect_ok(&b);
	assert_int_equal(b.c.tun_mtu, 1400);
	done(&a);
	done(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_example_full, test_teardown),
		cmocka_unit_test_teardown(test_example_minimal, test_teardown),
		cmocka_unit_test_teardown(test_defaults, test_teardown),
		cmocka_unit_test_teardown(test_values_set, test_teardown),
		cmocka_unit_test_teardown(test_filtering_names, test_teardown),
		cmocka_unit_test_teardown(test_forwards_loaded, test_teardown),
		cmocka_unit_test_teardown(test_unknown_settings, test_teardown),
		cmocka_unit_test_teardown(test_wrong_types, test_teardown),
		cmocka_unit_test_teardown(test_out_of_range, test_teardown),
		cmocka_unit_test_teardown(test_wide_ints, test_teardown),
		cmocka_unit_test_teardown(test_bad_enums_and_strings, test_teardown),
		cmocka_unit_test_teardown(test_bad_prefixes_and_ports, test_teardown),
		cmocka_unit_test_teardown(test_unknown_realm_references, test_teardown),
		cmocka_unit_test_teardown(test_nat_to_needs_pool_and_other_realm, test_teardown),
		cmocka_unit_test_teardown(test_duplicate_realms, test_teardown),
		cmocka_unit_test_teardown(test_duplicate_realm_after_bad_entry, test_teardown),
		cmocka_unit_test_teardown(test_overlaps, test_teardown),
		cmocka_unit_test_teardown(test_forward_errors, test_teardown),
		cmocka_unit_test_teardown(test_all_errors_reported, test_teardown),
		cmocka_unit_test_teardown(test_missing_realms_and_too_few, test_teardown),
		cmocka_unit_test_teardown(test_syntax_error_and_missing_file, test_teardown),
		cmocka_unit_test_teardown(test_load_twice_independent, test_teardown),
		cmocka_unit_test_teardown(test_control_tls, test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
