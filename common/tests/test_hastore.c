/* test_hastore: the HA pair's Redis client against a real redis-server
 * that the test starts on its own port and directory (no persistence),
 * waits for by PING and stops by PID. Without redis-server every case
 * that needs it is SKIPPED, loudly.
 *
 * Cases: address and prefix parsing; an active node's records (with
 * their expiry) reach a standby and Redis, deletions too; a standby
 * started later resyncs in full; a promotion fences the old active (its
 * next write is refused, it demotes itself, and follows); Redis killed:
 * writes are counted as lost and nothing blocks; Redis back: the active
 * pushes its whole state and the standby resyncs, then has everything. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "clock.h"
#include "hastore.h"
#include "redistest.h"

/* ---- the redis-server of the test ---- */

static struct redistest rt;
static bool no_redis;

static redisContext *sync_conn(void)
{
	return redistest_conn(&rt);
}

static int setup_all(void **state)
{
	(void)state;
	no_redis = !redistest_start(&rt, "test_hastore");
	return 0;
}

static int teardown_all(void **state)
{
	(void)state;
	redistest_stop(&rt);
	return 0;
}

/* The value of key (malloc'd) or NULL; *pttl its PTTL. */
static char *redis_get(const char *key, long long *pttl)
{
	redisContext *c = sync_conn();
	redisReply *r;
	char *v = NULL;

	assert_non_null(c);
	r = redisCommand(c, "GET %s", key);
	if (r && r->type == REDIS_REPLY_STRING)
		v = strdup(r->str);
	freeReplyObject(r);
	if (pttl) {
		r = redisCommand(c, "PTTL %s", key);
		*pttl = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -3;
		freeReplyObject(r);
	}
	redisFree(c);
	return v;
}

/* ---- a node: its copy of the records, as the owner would keep it ---- */

#define NREC 64

struct node {
	const char *name;
	struct hastore *h;
	char key[NREC][32], val[NREC][64];
	bool live[NREC], seen[NREC];
	unsigned resync_begin, resync_end, pushes, roles;
	enum hastore_role role;
	/* what an active node holds, pushed in full on demand */
	unsigned nown;
	char own_key[NREC][32], own_val[NREC][64];
};

static int slot_of(struct node *n, const char *k)
{
	int free_slot = -1;

	for (int i = 0; i < NREC; i++) {
		if (n->live[i] && !strcmp(n->key[i], k))
			return i;
		if (!n->live[i] && free_slot < 0)
			free_slot = i;
	}
	return free_slot;
}

static const char *copy_of(struct node *n, const char *k)
{
	for (int i = 0; i < NREC; i++)
		if (n->live[i] && !strcmp(n->key[i], k))
			return n->val[i];
	return NULL;
}

static unsigned copy_count(const struct node *n)
{
	unsigned c = 0;

	for (int i = 0; i < NREC; i++)
		c += n->live[i];
	return c;
}

static void n_apply(void *arg, const char *name, const char *val, size_t vlen)
{
	struct node *n = arg;
	int i = slot_of(n, name);

	assert_true(i >= 0);
	if (!val) {
		n->live[i] = false;
		return;
	}
	assert_true(vlen < sizeof(n->val[0]));
	snprintf(n->key[i], sizeof(n->key[i]), "%s", name);
	memcpy(n->val[i], val, vlen);
	n->val[i][vlen] = 0;
	n->live[i] = true;
	n->seen[i] = true;
}

static void n_resync(void *arg, bool begin, bool ok)
{
	struct node *n = arg;

	if (begin) {
		n->resync_begin++;
		memset(n->seen, 0, sizeof(n->seen));
		return;
	}
	if (!ok)
		return;
	n->resync_end++;
	for (int i = 0; i < NREC; i++) /* what Redis did not name is gone */
		if (!n->seen[i])
			n->live[i] = false;
}

static void n_push(void *arg)
{
	struct node *n = arg;

	n->pushes++;
	for (unsigned i = 0; i < n->nown; i++)
		hastore_put(n->h, n->own_key[i], n->own_val[i], strlen(n->own_val[i]), 0);
}

static void n_role(void *arg, enum hastore_role role, uint64_t epoch, const char *why)
{
	struct node *n = arg;

	(void)epoch;
	(void)why;
	n->role = role;
	n->roles++;
}

static const struct hastore_ops n_ops = {n_push, n_apply, n_resync, n_role};

static void own(struct node *n, const char *k, const char *v)
{
	unsigned i;

	for (i = 0; i < n->nown && strcmp(n->own_key[i], k); i++)
		;
	if (i == n->nown)
		n->nown++;
	snprintf(n->own_key[i], sizeof(n->own_key[i]), "%s", k);
	snprintf(n->own_val[i], sizeof(n->own_val[i]), "%s", v);
	hastore_put(n->h, k, v, strlen(v), 0);
}

static struct event_base *base;

static void node_start(struct node *n, const char *name, enum hastore_start start)
{
	struct hastore_conf c = {.start = start, .timeout_ms = 1000};

	memset(n, 0, sizeof(*n));
	n->name = name;
	assert_true(hastore_addr_parse("127.0.0.1:1", &c.redis));
	c.redis.port = rt.port;
	snprintf(c.prefix, sizeof(c.prefix), "test:pair1");
	snprintf(c.node, sizeof(c.node), "%s", name);
	n->role = start == HASTORE_START_ACTIVE ? HASTORE_ACTIVE : HASTORE_STANDBY;
	assert_non_null(n->h = hastore_new(base, &c, &n_ops, n));
}

static struct hastore_stats stats_of(struct node *n)
{
	struct hastore_stats st;

	hastore_stats(n->h, &st);
	return st;
}

#define RUN_UNTIL(cond, ms) REDISTEST_RUN_UNTIL(base, cond, ms)

static bool writing(struct node *n)
{
	return hastore_writing(n->h);
}

/* a active, b standby, both ready, and record b:1 = "one" on both */
static void pair_up(struct node *a, struct node *b)
{
	node_start(a, "a", HASTORE_START_ACTIVE);
	node_start(b, "b", HASTORE_START_STANDBY);
	RUN_UNTIL(writing(a) && b->resync_end, 3000);
	assert_true(writing(a));
	assert_int_equal(b->resync_end, 1);
	own(a, "b:1", "one");
	RUN_UNTIL(copy_of(b, "b:1"), 3000);
	assert_string_equal(copy_of(b, "b:1"), "one");
}

static int setup(void **state)
{
	(void)state;
	if (no_redis)
		return 0;
	redistest_flushall(&rt);
	assert_non_null(base = event_base_new());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (base)
		event_base_free(base);
	base = NULL;
	return 0;
}

#define NEED_REDIS()                                                                          \
	do {                                                                                  \
		if (no_redis)                                                                 \
			skip();                                                               \
	} while (0)

/* ---- cases ---- */

static void test_parse(void **state)
{
	struct hastore_addr a;

	(void)state;
	assert_true(hastore_addr_parse("192.0.2.1:6379", &a));
	assert_string_equal(a.host, "192.0.2.1");
	assert_int_equal(a.port, 6379);
	assert_true(hastore_addr_parse("[2001:db8::1]:26379", &a));
	assert_string_equal(a.host, "2001:db8::1");
	assert_int_equal(a.port, 26379);
	assert_false(hastore_addr_parse("redis.example:6379", &a)); /* no resolver in the loop */
	assert_false(hastore_addr_parse("192.0.2.1", &a));
	assert_false(hastore_addr_parse("192.0.2.1:0", &a));
	assert_false(hastore_addr_parse("192.0.2.1:65536", &a));
	assert_false(hastore_addr_parse("192.0.2.1:-1", &a));
	assert_false(hastore_addr_parse("192.0.2.1:63x", &a));
	assert_false(hastore_addr_parse("[2001:db8::1]26379", &a));
	assert_false(hastore_addr_parse(NULL, &a));
	assert_true(hastore_prefix_ok("natedge:pair1:natd"));
	assert_false(hastore_prefix_ok("natedge:*"));
	assert_false(hastore_prefix_ok("a b"));
	assert_false(hastore_prefix_ok(""));
	assert_false(hastore_prefix_ok("0123456789012345678901234567890123456789012345678901234567890123"));
	assert_string_equal(hastore_role_name(HASTORE_ACTIVE), "active");
}

static void test_replicate(void **state)
{
	struct node a, b;
	long long pttl;
	char *v;

	(void)state;
	NEED_REDIS();
	node_start(&a, "a", HASTORE_START_ACTIVE);
	node_start(&b, "b", HASTORE_START_STANDBY);
	RUN_UNTIL(writing(&a) && b.resync_end, 3000);
	assert_true(writing(&a));
	assert_int_equal(b.resync_end, 1);
	assert_int_equal(stats_of(&a).epoch, 1);
	assert_int_equal(hastore_role(b.h), HASTORE_STANDBY);

	hastore_put(a.h, "b:1", "D 1 17 0 10.1.0.10 5000", 24, 60000);
	hastore_put(a.h, "b:2", "G 2 x y", 7, 0);
	hastore_put(a.h, "bad name", "x", 1, 0); /* refused, counted */
	RUN_UNTIL(copy_of(&b, "b:1") && copy_of(&b, "b:2"), 3000);
	assert_string_equal(copy_of(&b, "b:1"), "D 1 17 0 10.1.0.10 5000");
	assert_string_equal(copy_of(&b, "b:2"), "G 2 x y");
	assert_int_equal(stats_of(&a).writes_ok, 2);
	assert_int_equal(stats_of(&a).writes_lost, 1);
	assert_true(stats_of(&b).lag_ms >= 0);
	assert_int_equal(stats_of(&b).epoch, 1);
	v = redis_get("test:pair1:r:b:1", &pttl);
	assert_string_equal(v, "D 1 17 0 10.1.0.10 5000");
	assert_true(pttl > 50000 && pttl <= 60000); /* the lease */
	free(v);
	v = redis_get("test:pair1:r:b:2", &pttl);
	assert_int_equal(pttl, -1); /* no expiry */
	free(v);
	v = redis_get("test:pair1:active", NULL);
	assert_string_equal(v, "a");
	free(v);

	/* a standby writes nothing */
	hastore_put(b.h, "b:9", "x", 1, 0);
	hastore_del(a.h, "b:1");
	RUN_UNTIL(!copy_of(&b, "b:1"), 3000);
	assert_null(copy_of(&b, "b:1"));
	assert_non_null(copy_of(&b, "b:2"));
	assert_null(redis_get("test:pair1:r:b:1", NULL));
	assert_null(redis_get("test:pair1:r:b:9", NULL));

	/* a standby that comes later resyncs in full */
	struct node c;
	node_start(&c, "c", HASTORE_START_STANDBY);
	RUN_UNTIL(c.resync_end, 3000);
	assert_int_equal(c.resync_end, 1);
	assert_int_equal(copy_count(&c), 1);
	assert_string_equal(copy_of(&c, "b:2"), "G 2 x y");
	assert_int_equal(stats_of(&c).resyncs, 1);
	hastore_free(c.h);

	hastore_free(a.h);
	hastore_free(b.h);
}

static void test_fencing(void **state)
{
	struct node a, b;

	(void)state;
	NEED_REDIS();
	pair_up(&a, &b);

	/* b promoted (a did not hear of it: a partition, say) */
	hastore_promote(b.h);
	assert_int_equal(hastore_role(b.h), HASTORE_ACTIVE);
	RUN_UNTIL(writing(&b), 3000);
	assert_int_equal(stats_of(&b).epoch, 2);
	assert_int_equal(b.pushes, 1);
	assert_int_equal(stats_of(&b).promotions, 1);

	/* a's next write finds epoch 2: refused, a demotes itself */
	own(&a, "b:1", "split brain");
	RUN_UNTIL(hastore_role(a.h) == HASTORE_STANDBY, 3000);
	assert_int_equal(hastore_role(a.h), HASTORE_STANDBY);
	assert_int_equal(a.role, HASTORE_STANDBY);
	assert_true(stats_of(&a).stale >= 1);
	assert_int_equal(stats_of(&a).demotions, 1);
	assert_int_equal(stats_of(&a).epoch, 2);
	char *v = redis_get("test:pair1:r:b:1", NULL);
	assert_string_equal(v, "one"); /* the stale write changed nothing */
	free(v);

	/* and follows the new active */
	RUN_UNTIL(a.resync_end, 3000);
	own(&b, "b:3", "three");
	RUN_UNTIL(copy_of(&a, "b:3"), 3000);
	assert_string_equal(copy_of(&a, "b:3"), "three");
	assert_string_equal(copy_of(&a, "b:1"), "one");

	/* demotion by command: b stops writing */
	hastore_demote(b.h, "test");
	assert_false(writing(&b));
	hastore_put(b.h, "b:4", "x", 1, 0);
	RUN_UNTIL(b.resync_end, 3000);
	assert_null(redis_get("test:pair1:r:b:4", NULL));
	hastore_free(a.h);
	hastore_free(b.h);
}

static void test_auto(void **state)
{
	struct node a, b;

	(void)state;
	NEED_REDIS();
	node_start(&a, "a", HASTORE_START_AUTO);
	RUN_UNTIL(writing(&a), 3000);
	assert_true(writing(&a)); /* nobody held P:active */
	node_start(&b, "b", HASTORE_START_AUTO);
	RUN_UNTIL(b.resync_end, 3000);
	assert_int_equal(b.resync_end, 1); /* a holds it: b follows */
	assert_int_equal(hastore_role(b.h), HASTORE_STANDBY);
	hastore_free(a.h);
	hastore_free(b.h);
}

static void test_redis_away(void **state)
{
	struct node a, b;
	uint64_t t0;

	(void)state;
	NEED_REDIS();
	pair_up(&a, &b);

	redistest_kill(&rt);
	RUN_UNTIL(!stats_of(&a).connected && !stats_of(&b).connected, 3000);
	assert_false(stats_of(&a).connected);
	/* the owner keeps going; its writes are counted, nothing blocks */
	t0 = clock_mono_ms();
	own(&a, "b:2", "two");
	own(&a, "b:3", "three");
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_true(clock_mono_ms() - t0 < 200);
	assert_int_equal(stats_of(&a).writes_lost, 2);
	assert_int_equal(hastore_role(a.h), HASTORE_ACTIVE);

	/* Redis back, empty (no persistence): a pushes, b resyncs */
	assert_true(redistest_restart(&rt));
	RUN_UNTIL(stats_of(&a).pushes >= 2 && b.resync_end >= 2 && copy_of(&b, "b:3"), 8000);
	assert_true(stats_of(&a).connected);
	assert_int_equal(stats_of(&a).pushes, 2);
	assert_int_equal(hastore_role(a.h), HASTORE_ACTIVE); /* the epoch was re-founded, not lost */
	RUN_UNTIL(copy_count(&b) == 3, 3000);
	assert_int_equal(copy_count(&b), 3);
	assert_string_equal(copy_of(&b, "b:2"), "two");
	assert_true(stats_of(&b).resyncs >= 2);
	assert_int_equal(stats_of(&a).connects, 2);
	hastore_free(a.h);
	hastore_free(b.h);
}

/* Sentinel: the first sentinel is dead, the second names the master */
static void test_sentinel(void **state)
{
	struct redistest st;
	struct hastore_conf c = {.start = HASTORE_START_ACTIVE, .timeout_ms = 1000, .nsentinels = 2};
	struct node n;
	char want[32];

	(void)state;
	NEED_REDIS();
	if (!redistest_sentinel(&st, &rt, "natedge")) {
		redistest_stop(&st);
		fprintf(stderr, "SKIP: test_hastore: redis-server --sentinel did not start\n");
		skip();
	}
	memset(&n, 0, sizeof(n));
	snprintf(c.prefix, sizeof(c.prefix), "test:s");
	snprintf(c.node, sizeof(c.node), "n");
	snprintf(c.master, sizeof(c.master), "natedge");
	assert_true(hastore_addr_parse("127.0.0.1:1", &c.sentinels[0]));
	assert_true(hastore_addr_parse("127.0.0.1:1", &c.sentinels[1]));
	c.sentinels[1].port = st.port;
	assert_non_null(n.h = hastore_new(base, &c, &n_ops, &n));
	RUN_UNTIL(writing(&n), 5000);
	assert_true(writing(&n));
	snprintf(want, sizeof(want), "127.0.0.1:%u", rt.port);
	assert_string_equal(stats_of(&n).server, want);
	own(&n, "b:1", "via sentinel");
	RUN_UNTIL(stats_of(&n).writes_ok >= 1, 3000);
	char *v = redis_get("test:s:r:b:1", NULL);
	assert_string_equal(v, "via sentinel");
	free(v);
	hastore_free(n.h);
	redistest_stop(&st);
}

static void test_unreachable(void **state)
{
	struct hastore_conf c = {.start = HASTORE_START_ACTIVE, .timeout_ms = 300};
	struct node n;
	struct hastore *h;

	(void)state;
	assert_non_null(base = base ? base : event_base_new());
	memset(&n, 0, sizeof(n));
	snprintf(c.prefix, sizeof(c.prefix), "test:x");
	snprintf(c.node, sizeof(c.node), "n");
	assert_true(hastore_addr_parse("127.0.0.1:1", &c.redis)); /* nobody listens */
	assert_non_null(h = hastore_new(base, &c, &n_ops, &n));
	n.h = h;
	RUN_UNTIL(false, 500);
	assert_int_equal(hastore_role(h), HASTORE_ACTIVE);
	assert_false(hastore_writing(h));
	hastore_put(h, "b:1", "x", 1, 0);
	struct hastore_stats st;
	hastore_stats(h, &st);
	assert_int_equal(st.writes_lost, 1);
	assert_false(st.connected);
	hastore_free(h);

	/* bad configurations are refused */
	c.prefix[0] = 0;
	assert_null(hastore_new(base, &c, &n_ops, &n));
	snprintf(c.prefix, sizeof(c.prefix), "p");
	c.redis.port = 0; /* and no sentinels */
	assert_null(hastore_new(base, &c, &n_ops, &n));
}

/* ---- the "ha" group of a daemon's config ---- */

struct cf {
	struct hastore_conf ha;
};

static const struct conftab_item cf_items[] = {
	HASTORE_CONF_ITEMS("ha", offsetof(struct cf, ha), "natedge:natd"),
};

/* Load text; the number of problems, their text in errs. */
static int cf_load(const char *text, struct cf *out, char *errs, size_t n)
{
	struct conftab ct;
	config_t cfg;
	FILE *f = fmemopen(errs, n, "w");
	int nerr;

	assert_non_null(f);
	memset(out, 0, sizeof(*out));
	conftab_init(&ct, "t.conf", f);
	config_init(&cfg);
	assert_int_equal(conftab_read_string(&ct, &cfg, text), 0);
	conftab_load_items(&ct, &cfg, cf_items, sizeof(cf_items) / sizeof(cf_items[0]), out);
	hastore_conf_check(&ct, &cfg, "ha", &out->ha);
	config_destroy(&cfg);
	nerr = ct.nerr;
	fclose(f);
	return nerr;
}

static void test_conf(void **state)
{
	struct cf c;
	char errs[2048];

	(void)state;
	assert_int_equal(cf_load("", &c, errs, sizeof(errs)), 0);
	assert_false(c.ha.enabled);
	assert_string_equal(c.ha.prefix, "natedge:natd");
	assert_int_equal(c.ha.start, HASTORE_START_STANDBY);
	assert_int_equal(c.ha.timeout_ms, 2000);

	assert_int_equal(cf_load("ha = { enabled = true; redis = \"192.0.2.50:6379\"; node = \"edge-a\";"
				 " prefix = \"natedge:pair1:natd\"; role = \"auto\"; };",
				 &c, errs, sizeof(errs)), 0);
	assert_true(c.ha.enabled);
	assert_string_equal(c.ha.redis.host, "192.0.2.50");
	assert_int_equal(c.ha.redis.port, 6379);
	assert_int_equal(c.ha.start, HASTORE_START_AUTO);
	assert_string_equal(c.ha.node, "edge-a");

	assert_int_equal(cf_load("ha = { enabled = true; sentinels = [\"192.0.2.51:26379\", \"[2001:db8::52]:26379\"];"
				 " master = \"natedge\"; node = \"b\"; };", &c, errs, sizeof(errs)), 0);
	assert_int_equal(c.ha.nsentinels, 2);
	assert_int_equal(c.ha.redis.port, 0);
	assert_string_equal(c.ha.sentinels[1].host, "2001:db8::52");

	/* each problem named, with its setting */
	assert_int_equal(cf_load("ha = { enabled = true; };", &c, errs, sizeof(errs)), 2);
	assert_non_null(strstr(errs, "ha.node: missing"));
	assert_non_null(strstr(errs, "ha.redis: missing"));
	assert_int_equal(cf_load("ha = { enabled = true; node = \"a\"; sentinels = [\"192.0.2.51:26379\"]; };",
				 &c, errs, sizeof(errs)), 1);
	assert_non_null(strstr(errs, "ha.master: missing"));
	assert_int_equal(cf_load("ha = { redis = \"redis.example:6379\"; prefix = \"a*\"; role = \"master\";"
				 " timeout_ms = 5; node = \"a b\"; };", &c, errs, sizeof(errs)), 5);
	assert_non_null(strstr(errs, "t.conf:1: ha.redis: \"redis.example:6379\" is not"));
	assert_non_null(strstr(errs, "ha.prefix"));
	assert_non_null(strstr(errs, "ha.role"));
	assert_non_null(strstr(errs, "ha.timeout_ms"));
	assert_non_null(strstr(errs, "ha.node"));
	assert_int_equal(cf_load("ha = { enabled = true; node = \"a\"; redis = \"127.0.0.1:6379\";"
				 " sentinels = [\"192.0.2.51:26379\"]; master = \"m\"; };", &c, errs, sizeof(errs)), 1);
	assert_non_null(strstr(errs, "not both"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_conf),
		cmocka_unit_test_setup_teardown(test_replicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fencing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto, setup, teardown),
		cmocka_unit_test_setup_teardown(test_redis_away, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sentinel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable, NULL, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
