/* test_ha: natd's side of an HA pair.
 *
 * The record mapping (no Redis): a grant and a dynamic binding of one
 * natd, written as their state-file records (statefile_fmt_*), are made
 * live in a second natd by statefile_make with the same id, M, owner,
 * conditions and lease, the header gives the epoch; bad records are
 * refused without a crash.
 *
 * The pair (a redis-server the test starts; SKIP without one): two cores
 * with ha.c on one loop; what the active makes reaches the standby, the
 * standby refuses clients, a release goes, a promotion fences the old
 * active (it demotes itself) and serves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "binding.h"
#include "clock.h"
#include "ha.h"
#include "manager.h"
#include "natdenv.h"
#include "pktbuild.h"
#include "redistest.h"
#include "statefile.h"
#include "xlate.h"

static const char *const CONF_TEXT =
	"realms = (\n"
	"  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
	"    pool = { addresses = [ \"198.51.100.0/30\" ]; ports = \"20000-20999\"; }; }\n"
	");\n"
	"control: { default_lifetime = 120; max_lifetime = 3600; };\n";

static struct mgr_policy pol = {.name = "proxy", .realms = ~0u};
static struct mgr_client proxy = {.owner = "tcp:proxyA", .pol = &pol};
static uint8_t pkt[2048];

static struct nc_bind req(const char *addr, uint16_t port)
{
	struct nc_bind r = natdenv_req(addr, port);

	r.lifetime = 300;
	return r;
}

/* An inside host sends one UDP packet out: a dynamic binding. */
static struct binding *dyn(struct natdenv *n, const char *src, uint16_t sport)
{
	size_t len = pb_udp(pkt, pb_addr(src), sport, pb_addr("203.0.113.10"), 7000, 20);
	struct endpoint in = {pb_addr(src), htons(sport)};

	n->core->x.now = clock_mono_s();
	assert_int_equal(xlate_packet(&n->core->x, pkt, len, sizeof(pkt)), XL_FORWARD);
	return bind_lookup_in(n->core->bt, IPPROTO_UDP, 0, in, 1);
}

struct grants {
	unsigned n;
	struct mgr_grant_rec r[8];
};

static void grant_one(void *arg, const struct mgr_grant_rec *r)
{
	struct grants *g = arg;

	if (g->n < 8)
		g->r[g->n++] = *r;
}

static struct grants grants_of(struct natdenv *n)
{
	struct grants g = {0};

	mgr_each_grant(n->core->mgr, grant_one, &g);
	return g;
}

/* ---- the record mapping ---- */

static void test_records(void **state)
{
	struct natdenv a, b;
	struct nc_bind r = req("10.1.0.10", 6000);
	struct nc_bind_r rep;
	struct binding *d, *made;
	struct statefile_peer peer;
	struct grants ga, gb;
	char line[STATEFILE_REC_MAX];
	uint32_t id;

	(void)state;
	natdenv_init(&a, CONF_TEXT);
	natdenv_init(&b, CONF_TEXT);
	/* a grant with a condition (a single allowed peer) */
	r.spec.has_peer = true;
	r.spec.peer.ip.af = NC_AF_IP4;
	inet_pton(AF_INET, "203.0.113.0", r.spec.peer.ip.a);
	r.spec.peer.plen = 24;
	r.spec.peer.port_hi = 65535;
	assert_int_equal(mgr_bind(a.core->mgr, &proxy, &r, &rep), NC_ST_OK);
	d = dyn(&a, "10.1.0.11", 40000);
	assert_non_null(d);
	statefile_peer_init(&peer);

	/* header: the epoch */
	statefile_fmt_header(line, sizeof(line), mgr_epoch(a.core->mgr), 0);
	assert_int_equal(statefile_make(&peer, &b.core->rs, b.core->bt, b.core->mgr, line, &id, &made), 0);
	assert_true(peer.have_epoch);
	assert_int_equal(peer.epoch, mgr_epoch(a.core->mgr));
	assert_int_equal(id, 0);

	/* the grant: same id, M, owner, condition, lease */
	ga = grants_of(&a);
	assert_int_equal(ga.n, 1);
	assert_true(statefile_fmt_grant(line, sizeof(line), &ga.r[0]) > 0);
	assert_int_equal(statefile_make(&peer, &b.core->rs, b.core->bt, b.core->mgr, line, &id, &made), 0);
	assert_int_equal(id, rep.id);
	assert_null(made);
	gb = grants_of(&b);
	assert_int_equal(gb.n, 1);
	assert_int_equal(gb.r[0].id, rep.id);
	assert_int_equal(gb.r[0].ext.addr, ga.r[0].ext.addr);
	assert_int_equal(gb.r[0].ext.port, ga.r[0].ext.port);
	assert_string_equal(gb.r[0].owner, "tcp:proxyA");
	assert_true(gb.r[0].req.spec.has_peer);
	assert_int_equal(gb.r[0].req.spec.peer.plen, 24);
	assert_true(gb.r[0].deadline - ga.r[0].deadline + 1 <= 2); /* within the second */

	/* the dynamic binding: same id, E, M */
	statefile_fmt_dynamic(line, d);
	assert_int_equal(statefile_make(&peer, &b.core->rs, b.core->bt, b.core->mgr, line, &id, &made), 0);
	assert_int_equal(id, d->id);
	assert_non_null(made);
	assert_int_equal(made->id, d->id);
	assert_int_equal(made->ext.addr, d->ext.addr);
	assert_int_equal(made->ext.port, d->ext.port);
	assert_int_equal(made->in.addr, d->in.addr);
	assert_int_equal(made->kind, BIND_DYNAMIC);

	/* refused, never a crash */
	const char *bad[] = {"", "G", "G 7", "D 9 17 0 10.1.0.10 5", "D 9 17 0 10.1.0.300 5 1 198.51.100.1 20002 0",
			     "G 8 1 198.51.100.1 20004 - zz", "X 3", "R 99", "natd-state 2 epoch=1",
			     "D 10 17 7 10.1.0.12 5 1 198.51.100.1 20006 0" /* no realm 7 */};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "%s", bad[i]);
		assert_int_equal(statefile_make(&peer, &b.core->rs, b.core->bt, b.core->mgr, line, &id, &made), -1);
	}
	/* a grant whose lease is over is not made */
	ga.r[0].deadline = clock_mono_s() - 1;
	ga.r[0].id = 99;
	assert_true(statefile_fmt_grant(line, sizeof(line), &ga.r[0]) > 0);
	assert_int_equal(statefile_make(&peer, &b.core->rs, b.core->bt, b.core->mgr, line, &id, &made), -1);
	assert_int_equal(grants_of(&b).n, 1);
	natdenv_fini(&a);
	natdenv_fini(&b);
}

/* ---- the pair, with Redis ---- */

static struct redistest rt;
static bool no_redis;
static struct event_base *base;

static uint64_t stat_of(struct ha *h, const char *name)
{
	static struct nc_stats_r r;

	memset(&r, 0, sizeof(r));
	ha_stats(h, &r);
	for (unsigned i = 0; i < r.n; i++)
		if (!strcmp(r.stats[i].name, name))
			return r.stats[i].value;
	fail_msg("no counter %s", name);
	return 0;
}

static struct ha *node(struct natdenv *n, const char *name, enum hastore_start start)
{
	struct hastore_conf c = {.enabled = true, .start = start, .timeout_ms = 1000};
	struct ha *h;

	snprintf(c.redis.host, sizeof(c.redis.host), "127.0.0.1");
	c.redis.port = rt.port;
	snprintf(c.prefix, sizeof(c.prefix), "test:natd");
	snprintf(c.node, sizeof(c.node), "%s", name);
	assert_non_null(h = ha_open(base, &c, n->core, NULL));
	return h;
}

static bool has_grant(struct natdenv *n, uint32_t id, uint32_t addr, uint16_t port)
{
	struct grants g = grants_of(n);

	for (unsigned i = 0; i < g.n; i++)
		if (g.r[i].id == id && g.r[i].ext.addr == addr && g.r[i].ext.port == port)
			return true;
	return false;
}

static bool has_dynamic(struct natdenv *n, const struct binding *like)
{
	const struct binding *b = bind_lookup_in(n->core->bt, like->proto, like->in_realm, like->in,
						 like->ext_realm);

	return b && b->id == like->id && b->ext.addr == like->ext.addr && b->ext.port == like->ext.port;
}

static void test_pair(void **state)
{
	struct natdenv a, b;
	struct ha *ha, *hb;
	struct nc_bind r = req("10.1.0.10", 6000), r2 = req("10.1.0.10", 6100);
	struct nc_bind_r rep, rep2, refused;
	struct nc_release rel;
	struct nc_status st;
	struct binding *d;
	struct binding dcopy;

	(void)state;
	if (no_redis)
		skip();
	redistest_flushall(&rt);
	assert_non_null(base = event_base_new());
	natdenv_init(&a, CONF_TEXT);
	natdenv_init(&b, CONF_TEXT);
	ha = node(&a, "a", HASTORE_START_ACTIVE);
	hb = node(&b, "b", HASTORE_START_STANDBY);
	assert_true(ha_standby(hb));
	REDISTEST_RUN_UNTIL(base, stat_of(ha, "ha_epoch") >= 1 && stat_of(hb, "ha_resyncs") >= 1, 3000);
	assert_int_equal(stat_of(ha, "ha_active"), 1);
	assert_int_equal(stat_of(hb, "ha_active"), 0);

	/* made on the active, live on the standby */
	assert_int_equal(mgr_bind(a.core->mgr, &proxy, &r, &rep), NC_ST_OK);
	assert_int_equal(mgr_bind(a.core->mgr, &proxy, &r2, &rep2), NC_ST_OK);
	assert_non_null(d = dyn(&a, "10.1.0.11", 40000));
	dcopy = *d;
	uint32_t m1 = 0;
	memcpy(&m1, rep.alloc.ip.a, 4);
	REDISTEST_RUN_UNTIL(base, has_grant(&b, rep.id, m1, htons(rep.alloc.port)) && has_dynamic(&b, &dcopy),
			    3000);
	assert_true(has_grant(&b, rep.id, m1, htons(rep.alloc.port)));
	assert_true(has_dynamic(&b, &dcopy));
	assert_int_equal(mgr_epoch(b.core->mgr), mgr_epoch(a.core->mgr)); /* the epoch clients hold */
	assert_true(stat_of(hb, "ha_records_made") >= 3);

	/* a renewal (same lifetime) only moves the lease on the standby; another
	 * lifetime is another request: the grant is made again */
	struct nc_refresh rf = {.epoch = mgr_epoch(a.core->mgr), .id = rep.id, .lifetime = 300};
	struct nc_refresh_r rfr;
	uint64_t made = stat_of(hb, "ha_records_made");
	assert_int_equal(mgr_refresh(a.core->mgr, &proxy, &rf, &rfr), NC_ST_OK);
	REDISTEST_RUN_UNTIL(base, stat_of(hb, "ha_records_renewed") >= 1, 3000);
	assert_int_equal(stat_of(hb, "ha_records_renewed"), 1);
	assert_int_equal(stat_of(hb, "ha_records_made"), made);
	rf.lifetime = 1200;
	assert_int_equal(mgr_refresh(a.core->mgr, &proxy, &rf, &rfr), NC_ST_OK);
	REDISTEST_RUN_UNTIL(base, stat_of(hb, "ha_records_made") > made, 3000);
	struct grants gb = grants_of(&b);
	bool found = false;
	for (unsigned i = 0; i < gb.n; i++)
		if (gb.r[i].id == rep.id) {
			found = true;
			assert_true(gb.r[i].deadline >= clock_mono_s() + 1190);
			assert_int_equal(gb.r[i].req.lifetime, 1200);
		}
	assert_true(found);

	/* the standby serves no client */
	assert_int_equal(mgr_bind(b.core->mgr, &proxy, &r, &refused), NC_ST_TRY_AGAIN);
	assert_non_null(strstr(refused.st.reason, "standby"));

	/* a release goes from the standby too */
	rel = (struct nc_release){.epoch = mgr_epoch(a.core->mgr), .id = rep2.id};
	assert_int_equal(mgr_release(a.core->mgr, &proxy, &rel, &st), NC_ST_OK);
	REDISTEST_RUN_UNTIL(base, grants_of(&b).n == 1, 3000);
	assert_int_equal(grants_of(&b).n, 1);

	/* promotion: a new epoch; the old active's next write is refused */
	ha_promote(hb);
	assert_false(ha_standby(hb));
	REDISTEST_RUN_UNTIL(base, ha_standby(ha), 4000);
	assert_true(ha_standby(ha));
	assert_int_equal(stat_of(hb, "ha_epoch"), 2);
	assert_true(stat_of(ha, "ha_writes_stale") >= 1);
	assert_int_equal(mgr_bind(a.core->mgr, &proxy, &r2, &refused), NC_ST_TRY_AGAIN);
	/* the new active serves, with what it copied */
	assert_int_equal(mgr_bind(b.core->mgr, &proxy, &r2, &rep2), NC_ST_OK);
	assert_true(has_grant(&b, rep.id, m1, htons(rep.alloc.port)));
	REDISTEST_RUN_UNTIL(base, grants_of(&a).n == 2, 3000);
	assert_int_equal(grants_of(&a).n, 2); /* and the old one follows */

	ha_close(ha);
	ha_close(hb);
	natdenv_fini(&a);
	natdenv_fini(&b);
	event_base_free(base);
	base = NULL;
}

static int setup_all(void **state)
{
	(void)state;
	no_redis = !redistest_start(&rt, "test_ha");
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	redistest_stop(&rt);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records),
		cmocka_unit_test(test_pair),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
