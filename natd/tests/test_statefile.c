/* Unit tests of natd's state file: grants and dynamic bindings saved by
 * one natd come back in the next one with the same ids, M, owner,
 * conditions and epoch, both after a graceful stop (final snapshot) and
 * after a kill (only the appended records); anything lost or corrupt
 * gives a new epoch and never a crash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binding.h"
#include "clock.h"
#include "manager.h"
#include "natdenv.h"
#include "pktbuild.h"
#include "statefile.h"
#include "xlate.h"

static const char *const CONF_TEXT =
	"realms = (\n"
	"  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
	"    pool = { addresses = [ \"198.51.100.0/30\" ]; ports = \"20000-20999\"; }; }\n"
	");\n"
	"control: { default_lifetime = 120; max_lifetime = 3600; };\n";

/* the same realms in another order, and another pool: nothing fits */
static const char *const OTHER_CONF =
	"realms = (\n"
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
	"    pool = { addresses = [ \"192.0.2.0/30\" ]; ports = \"20000-20999\"; }; },\n"
	"  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; }\n"
	");\n";

struct env {
	char dir[64], path[96], copy[96];
	struct event_base *base;
	struct natdenv a;
	struct mgr_policy pol;
	struct mgr_client proxy;
	uint8_t pkt[2048];
};

static void set_ip(struct nc_ip *ip, const char *a)
{
	memset(ip, 0, sizeof(*ip));
	ip->af = NC_AF_IP4;
	inet_pton(AF_INET, a, ip->a);
}


static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	strcpy(e->dir, "/tmp/test_statefile_XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->path, sizeof(e->path), "%s/state", e->dir);
	snprintf(e->copy, sizeof(e->copy), "%s/killed", e->dir);
	assert_non_null(e->base = event_base_new());
	natdenv_init(&e->a, CONF_TEXT);
	e->pol = (struct mgr_policy){.name = "proxy", .realms = ~0u};
	e->proxy = (struct mgr_client){.owner = "tcp:proxyA", .pol = &e->pol};
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char p[128];

	natdenv_fini(&e->a);
	event_base_free(e->base);
	unlink(e->path);
	unlink(e->copy);
	snprintf(p, sizeof(p), "%s.new", e->path);
	unlink(p);
	rmdir(e->dir);
	free(e);
	return 0;
}

/* An inside host sends one UDP packet out: a dynamic binding. */
static struct binding *dyn(struct env *e, struct natdenv *n, const char *src, uint16_t sport)
{
	size_t len = pb_udp(e->pkt, pb_addr(src), sport, pb_addr("203.0.113.10"), 7000, 20);
	struct endpoint in = {pb_addr(src), htons(sport)};

	n->core->x.now = clock_mono_s();
	assert_int_equal(xlate_packet(&n->core->x, e->pkt, len, sizeof(e->pkt)), XL_FORWARD);
	return bind_lookup_in(n->core->bt, IPPROTO_UDP, 0, in, 1);
}

/* Let the event loop run the journal's end-of-pass flush. */
static void pass(struct env *e)
{
	event_base_loop(e->base, EVLOOP_NONBLOCK);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *f = fopen(from, "rb"), *t = fopen(to, "wb");
	size_t n;

	assert_non_null(f);
	assert_non_null(t);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		assert_int_equal(fwrite(buf, 1, n, t), n);
	fclose(f);
	fclose(t);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Replace the lease end of the G record of id with when. */
static void set_lease_end(const char *path, uint32_t id, const char *when)
{
	char buf[65536], out[65536], key[32];
	FILE *f = fopen(path, "rb");
	size_t n;
	char *p, *q;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	snprintf(key, sizeof(key), "\nG %u ", id);
	assert_non_null(p = strstr(buf, key));
	p += strlen(key);
	assert_non_null(q = strchr(p, ' '));
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(p - buf), buf, when, q);
	assert_non_null(f = fopen(path, "wb"));
	fputs(out, f);
	fclose(f);
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "ab");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

struct found {
	uint32_t id;
	struct nc_item it;
	bool seen;
};

static void find_item(void *arg, const struct nc_item *it)
{
	struct found *f = arg;

	if (it->id == f->id) {
		f->it = *it;
		f->seen = true;
	}
}

static bool list_one(struct natdenv *n, uint32_t id, struct nc_item *out)
{
	static const struct mgr_policy admin = {.name = "root", .admin = true};
	struct mgr_client root = {.owner = "uid:0", .pol = &admin};
	struct nc_list q = {.id = id};
	struct found f = {.id = id};

	mgr_list(n->core->mgr, &root, &q, find_item, &f);
	*out = f.it;
	return f.seen;
}

/* Grants with every kind of condition and some dynamic bindings; the
 * file after a kill (no final snapshot) brings all of them back. */
static void test_kill_restores_everything_same_epoch(void **state)
{
	struct env *e = *state;
	struct nc_bind r1 = natdenv_req("10.1.0.10", 4000), r2 = natdenv_req("10.1.0.11", 5000);
	struct nc_bind_r g1, g2, g3;
	struct statefile *sf;
	struct statefile_result res;
	struct natdenv b;
	struct binding *d1, *d2, *d3;
	struct nc_item it;
	uint32_t d1id, d2id, d3id;
	struct endpoint d1ext, d3ext;

	/* before journalling: a grant and a dynamic binding */
	r1.rtp_pair = true;
	snprintf(r1.spec.label, sizeof(r1.spec.label), "call:abc@host");
	assert_int_equal(mgr_bind(e->a.core->mgr, &e->proxy, &r1, &g1), NC_ST_OK);
	assert_non_null(d1 = dyn(e, &e->a, "10.1.0.20", 3000));
	d1id = d1->id;
	d1ext = d1->ext;
	assert_non_null(sf = statefile_open(e->path, e->base, &e->a.core->rs, e->a.core->bt, e->a.core->mgr, 0));

	/* after: appended records */
	r2.spec.nfilters = 1;
	set_ip(&r2.spec.filters[0].ip, "203.0.113.0");
	r2.spec.filters[0].plen = 24;
	r2.spec.ntargets = 1;
	set_ip(&r2.spec.targets[0].from.ip, "192.0.2.0");
	r2.spec.targets[0].from.plen = 24;
	set_ip(&r2.spec.targets[0].to.ip, "10.1.0.12");
	r2.spec.targets[0].to.port = 5002;
	assert_int_equal(mgr_bind(e->a.core->mgr, &e->proxy, &r2, &g2), NC_ST_OK);
	struct nc_bind r3 = natdenv_req("10.1.0.13", 6000);
	assert_int_equal(mgr_bind(e->a.core->mgr, &e->proxy, &r3, &g3), NC_ST_OK);
	assert_non_null(d2 = dyn(e, &e->a, "10.1.0.21", 3001));
	d2id = d2->id;
	assert_non_null(d3 = dyn(e, &e->a, "10.1.0.22", 3002));
	d3id = d3->id;
	d3ext = d3->ext;
	struct nc_release rel = {.epoch = mgr_epoch(e->a.core->mgr), .id = g3.id};
	struct nc_status rs;
	assert_int_equal(mgr_release(e->a.core->mgr, &e->proxy, &rel, &rs), NC_ST_OK);
	bind_remove(e->a.core->bt, d2); /* gone (as by expiry); its port stays taken: a test shortcut */
	off_t before = file_size(e->path);
	pass(e);
	assert_true(file_size(e->path) > before); /* appended at the end of the pass */
	copy_file(e->path, e->copy); /* what a killed natd leaves */

	natdenv_init(&b, CONF_TEXT);
	statefile_restore(e->copy, &b.core->rs, b.core->bt, b.core->mgr, &res);
	assert_true(res.found);
	assert_true(res.whole);
	assert_int_equal(res.grants, 2);
	assert_int_equal(res.dynamic, 2);
	assert_int_equal(res.lost, 0);
	assert_int_equal(res.bad, 0);
	assert_true(mgr_epoch(b.core->mgr) == mgr_epoch(e->a.core->mgr));

	/* grant 1: same id, M, owner, label, and its RTCP partner */
	assert_true(list_one(&b, g1.id, &it));
	assert_string_equal(it.owner, "tcp:proxyA");
	assert_string_equal(it.spec.label, "call:abc@host");
	assert_memory_equal(it.alloc.ip.a, g1.alloc.ip.a, 4);
	assert_int_equal(it.alloc.port, g1.alloc.port);
	assert_true(it.lifetime > 100 && it.lifetime <= 120);
	assert_int_equal(bind_count_kind(b.core->bt, BIND_MANAGED), 2 + 2); /* g1 + rtcp, g2 + alias */
	/* grant 2: its conditions */
	assert_true(list_one(&b, g2.id, &it));
	assert_int_equal(it.spec.nfilters, 1);
	assert_int_equal(it.spec.ntargets, 1);
	assert_int_equal(it.spec.targets[0].to.port, 5002);
	/* released and removed ones stay gone */
	assert_false(list_one(&b, g3.id, &it));
	assert_false(list_one(&b, d2id, &it));
	/* dynamic bindings: same id and M */
	assert_true(list_one(&b, d1id, &it));
	assert_int_equal(it.alloc.port, ntohs(d1ext.port));
	assert_true(list_one(&b, d3id, &it));
	assert_int_equal(it.alloc.port, ntohs(d3ext.port));
	/* the restored grant's owner can refresh it with the old epoch */
	struct nc_refresh rf = {.epoch = mgr_epoch(e->a.core->mgr), .id = g1.id, .lifetime = 60};
	struct nc_refresh_r rfr;
	assert_int_equal(mgr_refresh(b.core->mgr, &e->proxy, &rf, &rfr), NC_ST_OK);
	/* new ids do not collide with restored ones */
	struct nc_bind r4 = natdenv_req("10.1.0.14", 7000);
	struct nc_bind_r g4;
	assert_int_equal(mgr_bind(b.core->mgr, &e->proxy, &r4, &g4), NC_ST_OK);
	assert_true(g4.id > d3id && g4.id > g2.id);
	natdenv_fini(&b);
	statefile_close(sf);
}

/* A graceful stop leaves a compact snapshot that restores the same. */
static void test_close_snapshot_restores(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 4000);
	struct nc_bind_r g;
	struct statefile *sf;
	struct statefile_result res;
	struct natdenv b;
	struct nc_item it;

	assert_non_null(sf = statefile_open(e->path, e->base, &e->a.core->rs, e->a.core->bt, e->a.core->mgr, 0));
	assert_int_equal(mgr_bind(e->a.core->mgr, &e->proxy, &r, &g), NC_ST_OK);
	assert_non_null(dyn(e, &e->a, "10.1.0.20", 3000));
	statefile_close(sf);

	natdenv_init(&b, CONF_TEXT);
	statefile_restore(e->path, &b.core->rs, b.core->bt, b.core->mgr, &res);
	assert_true(res.whole);
	assert_int_equal(res.grants, 1);
	assert_int_equal(res.dynamic, 1);
	assert_true(list_one(&b, g.id, &it));
	assert_true(mgr_epoch(b.core->mgr) == mgr_epoch(e->a.core->mgr));
	natdenv_fini(&b);
}

/* No file: nothing restored, a new epoch, not "found". */
static void test_no_file(void **state)
{
	struct env *e = *state;
	struct statefile_result res;

	statefile_restore(e->path, &e->a.core->rs, e->a.core->bt, e->a.core->mgr, &res);
	assert_false(res.found);
	assert_false(res.whole);
	assert_int_equal(bind_count(e->a.core->bt), 0);
}

/* Corrupt, torn and hostile lines are counted, the rest restored, and
 * the epoch changes because something may be missing. */
static void test_corrupt_lines_new_epoch(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 4000);
	struct nc_bind_r g;
	struct statefile *sf;
	struct statefile_result res;
	struct natdenv b;
	struct nc_item it;

	assert_non_null(sf = statefile_open(e->path, e->base, &e->a.core->rs, e->a.core->bt, e->a.core->mgr, 0));
	assert_int_equal(mgr_bind(e->a.core->mgr, &e->proxy, &r, &g), NC_ST_OK);
	statefile_close(sf);
	append(e->path, "G 77 1 198.51.100.0 20000 zz 00ff\n"             /* bad hex, bad BIND */
			"D 78 17 0 10.1.0.99 1 1 198.51.100.9 70000 0\n"      /* port out of range */
			"D 79 17 0 10.1.0.99 1 1 999.1.1.1 20000 0\n"         /* bad address */
			"D 80 17 9 10.1.0.99 1 9 198.51.100.1 20000 0\n"      /* unknown realm index */
			"D 18446744073709551617 17 0 1.2.3.4 1 1 1.2.3.4 1 0\n" /* huge id */
			"X\n"                                                  /* missing id */
			"Q 81\n"                                               /* unknown record */
			"G 82 -5\n"                                            /* too few fields */
			"D 83 17 0 10.1.0.98 1");                              /* torn last line */
	natdenv_init(&b, CONF_TEXT);
	statefile_restore(e->path, &b.core->rs, b.core->bt, b.core->mgr, &res);
	assert_true(res.found);
	assert_false(res.whole);
	assert_int_equal(res.grants, 1);
	assert_int_equal(res.lost, 1); /* record 80: its realm is not known */
	assert_int_equal(res.bad, 7 + 1);
	assert_true(list_one(&b, g.id, &it));
	assert_true(mgr_epoch(b.core->mgr) != mgr_epoch(e->a.core->mgr));
	natdenv_fini(&b);
}

/* A version this natd does not know: nothing is used, new epoch. */
static void test_unknown_version(void **state)
{
	struct env *e = *state;
	struct statefile_result res;

	append(e->path, "natd-state 99 epoch=0000000000000001\nD 5 17 0 10.1.0.10 1 1 198.51.100.0 20000 0\n");
	statefile_restore(e->path, &e->a.core->rs, e->a.core->bt, e->a.core->mgr, &res);
	assert_true(res.found);
	assert_false(res.whole);
	assert_int_equal(res.dynamic, 0);
	assert_int_equal(bind_count(e->a.core->bt), 0);
	assert_true(mgr_epoch(e->a.core->mgr) != 1);
}

/* Another config (realms reordered, another pool): realm indexes map by
 * name, and what no longer fits the pool is lost (new epoch). */
static void test_config_changed(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 4000);
	struct nc_bind_r g;
	struct statefile *sf;
	struct statefile_result res;
	struct natdenv b;

	assert_non_null(sf = statefile_open(e->path, e->base, &e->a.core->rs, e->a.core->bt, e->a.core->mgr, 0));
	assert_int_equal(mgr_bind(e->a.core->mgr, &e->proxy, &r, &g), NC_ST_OK);
	assert_non_null(dyn(e, &e->a, "10.1.0.20", 3000));
	statefile_close(sf);
	natdenv_init(&b, OTHER_CONF);
	statefile_restore(e->path, &b.core->rs, b.core->bt, b.core->mgr, &res);
	assert_false(res.whole);
	assert_int_equal(res.lost, 2);
	assert_int_equal(bind_count(b.core->bt), 0);
	natdenv_fini(&b);
}

/* A grant whose lease ended while natd was down is not a loss. */
static void test_expired_grant_is_not_a_loss(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 4000);
	struct nc_bind_r g;
	struct statefile_result res;
	struct statefile *sf;
	struct natdenv b;

	assert_non_null(sf = statefile_open(e->path, e->base, &e->a.core->rs, e->a.core->bt, e->a.core->mgr, 0));
	assert_int_equal(mgr_bind(e->a.core->mgr, &e->proxy, &r, &g), NC_ST_OK);
	statefile_close(sf);
	set_lease_end(e->path, g.id, "1000000000"); /* 2001 */
	natdenv_init(&b, CONF_TEXT);
	statefile_restore(e->path, &b.core->rs, b.core->bt, b.core->mgr, &res);
	assert_true(res.whole);
	assert_int_equal(res.expired, 1);
	assert_int_equal(res.grants, 0);
	assert_int_equal(bind_count(b.core->bt), 0);
	assert_true(mgr_epoch(b.core->mgr) == mgr_epoch(e->a.core->mgr));
	natdenv_fini(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_restores_everything_same_epoch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_snapshot_restores, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_lines_new_epoch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_grant_is_not_a_loss, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
