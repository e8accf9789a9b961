/* Unit tests of the per-inside-host limits (table.max_bindings_per_host,
 * table.new_flows_per_host): tables built from configuration text as natd
 * builds them (natdenv), real packets through xlate, time moved by hand.
 * A host at its quota or out of tokens gets no new dynamic binding (the
 * packet is dropped and counted), its existing bindings carry on, expiry
 * and removal give the quota back exactly, and other hosts are never
 * affected. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "manager.h"
#include "natdenv.h"
#include "pktbuild.h"
#include "ratelimit.h"
#include "xlate.h"

#define R_INSIDE 0
#define TO_UDP 30

static const char *const CONF_TEXT =
	"realms = (\n"
	"  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
	"    pool = { addresses = [ \"198.51.100.0/31\" ]; ports = \"20000-20199\"; }; }\n"
	");\n"
	"timeouts: { udp = 30; };\n"
	"table: { max_bindings_per_host = 3; new_flows_per_host = 5; };\n";

struct env {
	struct natdenv nd;
	struct ratelimit *rl;
	uint32_t now;
	uint8_t pkt[PB_MAX];
};

/* The limits wired as natd's daemon wires them; quota and rate given. */
static void limits(struct env *e, uint32_t quota, uint32_t rate)
{
	rl_set(e->rl, rate, rate);
	e->nd.core->x.host_quota = quota;
	e->nd.core->x.host_rl = rate ? e->rl : NULL;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	natdenv_init(&e->nd, CONF_TEXT);
	assert_non_null(e->rl = rl_new(0, 0));
	limits(e, e->nd.conf.max_bindings_per_host, e->nd.conf.new_flows_per_host);
	e->now = e->nd.core->x.now;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	natdenv_fini(&e->nd);
	rl_free(e->rl);
	free(e);
	return 0;
}

/* One UDP packet from src:sport to 203.0.113.10:dport at e->now. */
static enum xlate_verdict udp(struct env *e, const char *src, uint16_t sport, uint16_t dport)
{
	size_t n = pb_udp(e->pkt, pb_addr(src), sport, pb_addr("203.0.113.10"), dport, 20);

	e->nd.core->x.now = e->now;
	return xlate_packet(&e->nd.core->x, e->pkt, n, sizeof(e->pkt));
}

static uint32_t held(struct env *e, const char *src)
{
	return bind_host_count(e->nd.core->bt, R_INSIDE, pb_addr(src));
}

static uint64_t dropped(struct env *e, enum drop_reason r)
{
	return e->nd.core->st.dropped[r];
}

static void release(struct binding *b, void *arg)
{
	xlate_release_binding(arg, b);
}

static void test_config_values_and_defaults(void **state)
{
	struct env *e = *state;
	struct natdenv d;

	assert_int_equal(e->nd.conf.max_bindings_per_host, 3);
	assert_int_equal(e->nd.conf.new_flows_per_host, 5);
	natdenv_init(&d, "realms = (\n"
			 "  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
			 "  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
			 "    pool = { addresses = [ \"198.51.100.0/31\" ]; }; }\n"
			 ");\n");
	assert_int_equal(d.conf.max_bindings_per_host, 4096);
	assert_int_equal(d.conf.new_flows_per_host, 1000);
	natdenv_fini(&d);
}

static void test_quota_reached_drops_and_counts(void **state)
{
	struct env *e = *state;

	limits(e, 3, 0);
	for (uint16_t p = 0; p < 3; p++)
		assert_int_equal(udp(e, "10.1.0.10", 5000 + p, 7000), XL_FORWARD);
	assert_int_equal(held(e, "10.1.0.10"), 3);
	/* a fourth flow: dropped, counted, no binding, no port taken */
	assert_int_equal(udp(e, "10.1.0.10", 5003, 7000), XL_DROP);
	assert_int_equal(dropped(e, DROP_HOST_QUOTA), 1);
	assert_int_equal(dropped(e, DROP_HOST_RATE), 0);
	assert_null(bind_lookup_in(e->nd.core->bt, IPPROTO_UDP, R_INSIDE,
				   (struct endpoint){pb_addr("10.1.0.10"), htons(5003)}, 1));
	assert_int_equal(bind_count_kind(e->nd.core->bt, BIND_DYNAMIC), 3);
	assert_int_equal(e->nd.core->st.bindings_created, 3);
	/* the host's existing flows still pass, to any remote */
	assert_int_equal(udp(e, "10.1.0.10", 5001, 7000), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.10", 5002, 9999), XL_FORWARD);
	/* another host has its own quota */
	for (uint16_t p = 0; p < 3; p++)
		assert_int_equal(udp(e, "10.1.0.11", 5000 + p, 7000), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.11", 5003, 7000), XL_DROP);
	assert_int_equal(dropped(e, DROP_HOST_QUOTA), 2);
	assert_int_equal(held(e, "10.1.0.10"), 3);
	assert_int_equal(held(e, "10.1.0.11"), 3);
	assert_int_equal(held(e, "10.1.0.12"), 0);
	/* no limit: the same host goes on */
	limits(e, 0, 0);
	assert_int_equal(udp(e, "10.1.0.10", 5003, 7000), XL_FORWARD);
	assert_int_equal(held(e, "10.1.0.10"), 4);
}

static void test_expiry_frees_quota(void **state)
{
	struct env *e = *state;

	limits(e, 3, 0);
	for (uint16_t p = 0; p < 3; p++)
		assert_int_equal(udp(e, "10.1.0.10", 5000 + p, 7000), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.10", 5003, 7000), XL_DROP);
	/* keep 5000 busy; the other two go idle and expire */
	e->now += TO_UDP / 2;
	assert_int_equal(udp(e, "10.1.0.10", 5000, 7000), XL_FORWARD);
	e->now += TO_UDP / 2 + 1;
	assert_int_equal(bind_expire(e->nd.core->bt, e->now, release, &e->nd.core->x), 2);
	assert_int_equal(held(e, "10.1.0.10"), 1);
	assert_int_equal(udp(e, "10.1.0.10", 5003, 7000), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.10", 5004, 7000), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.10", 5005, 7000), XL_DROP);
	assert_int_equal(held(e, "10.1.0.10"), 3);
	/* all of them gone: nothing held, the slot is reused cleanly */
	e->now += 10 * TO_UDP;
	assert_int_equal(bind_expire(e->nd.core->bt, e->now, release, &e->nd.core->x), 3);
	assert_int_equal(held(e, "10.1.0.10"), 0);
	assert_int_equal(bind_count(e->nd.core->bt), 0);
	for (uint16_t p = 0; p < 3; p++)
		assert_int_equal(udp(e, "10.1.0.10", 6000 + p, 7000), XL_FORWARD);
	assert_int_equal(held(e, "10.1.0.10"), 3);
}

/* Every other way a dynamic binding goes: removed, adopted, replaced by
 * the manager. */
static void test_removal_adoption_and_replacement_free_quota(void **state)
{
	struct env *e = *state;
	struct endpoint in = {pb_addr("10.1.0.10"), htons(5000)};
	struct mgr_policy pol = {.name = "root", .admin = true, .realms = ~0u};
	struct mgr_client admin = {.owner = "uid:0", .pol = &pol};
	struct nc_bind r;
	struct nc_bind_r rep;
	struct binding *b;
	uint32_t a;

	limits(e, 3, 0);
	for (uint16_t p = 0; p < 3; p++)
		assert_int_equal(udp(e, "10.1.0.10", 5000 + p, 7000), XL_FORWARD);
	/* removed */
	b = bind_lookup_in(e->nd.core->bt, IPPROTO_UDP, R_INSIDE,
			   (struct endpoint){in.addr, htons(5001)}, 1);
	assert_non_null(b);
	xlate_release_binding(&e->nd.core->x, b);
	bind_remove(e->nd.core->bt, b);
	assert_int_equal(held(e, "10.1.0.10"), 2);
	bind_remove(e->nd.core->bt, b); /* twice: no effect */
	assert_int_equal(held(e, "10.1.0.10"), 2);
	/* adopted (no longer dynamic), and back */
	b = bind_lookup_in(e->nd.core->bt, IPPROTO_UDP, R_INSIDE,
			   (struct endpoint){in.addr, htons(5002)}, 1);
	bind_set_kind(e->nd.core->bt, b, BIND_MANAGED);
	assert_int_equal(held(e, "10.1.0.10"), 1);
	bind_set_kind(e->nd.core->bt, b, BIND_DYNAMIC);
	assert_int_equal(held(e, "10.1.0.10"), 2);
	bind_set_kind(e->nd.core->bt, b, BIND_MANAGED);
	/* replaced by a control-channel binding on the same internal endpoint */
	memset(&r, 0, sizeof(r));
	r.spec.dir = NC_DIR_BOTH;
	r.spec.proto = NC_PROTO_UDP;
	strcpy(r.spec.in_realm, "inside");
	strcpy(r.spec.ext_realm, "outside");
	r.spec.ep.ip.af = NC_AF_IP4;
	a = in.addr;
	memcpy(r.spec.ep.ip.a, &a, 4);
	r.spec.ep.port = 5000;
	assert_int_equal(mgr_bind(e->nd.core->mgr, &admin, &r, &rep), NC_ST_OK);
	assert_int_equal(held(e, "10.1.0.10"), 0);
	assert_int_equal(bind_count_kind(e->nd.core->bt, BIND_DYNAMIC), 0);
	/* managed bindings do not count against the quota */
	for (uint16_t p = 0; p < 3; p++)
		assert_int_equal(udp(e, "10.1.0.10", 5100 + p, 7000), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.10", 5103, 7000), XL_DROP);
	assert_int_equal(held(e, "10.1.0.10"), 3);
}

static void test_rate_refills_over_time(void **state)
{
	struct env *e = *state;
	uint16_t p = 5000;

	limits(e, 0, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(udp(e, "10.1.0.10", p++, 7000), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.10", p++, 7000), XL_DROP);
	assert_int_equal(udp(e, "10.1.0.10", p++, 7000), XL_DROP);
	assert_int_equal(dropped(e, DROP_HOST_RATE), 2);
	assert_int_equal(dropped(e, DROP_HOST_QUOTA), 0);
	assert_int_equal(held(e, "10.1.0.10"), 5);
	/* existing flows are not rate limited */
	for (int i = 0; i < 50; i++)
		assert_int_equal(udp(e, "10.1.0.10", 5000 + i % 5, 7000), XL_FORWARD);
	/* another host has a full bucket */
	for (int i = 0; i < 5; i++)
		assert_int_equal(udp(e, "10.1.0.11", 6000 + i, 7000), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.11", 6005, 7000), XL_DROP);
	/* a second later: five more, not a burst of ten */
	e->now += 1;
	for (int i = 0; i < 5; i++)
		assert_int_equal(udp(e, "10.1.0.10", p++, 7000), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.10", p++, 7000), XL_DROP);
	/* a long pause refills to the burst only */
	e->now += 20;
	for (int i = 0; i < 5; i++)
		assert_int_equal(udp(e, "10.1.0.10", p++, 7000), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.10", p++, 7000), XL_DROP);
	assert_int_equal(dropped(e, DROP_HOST_RATE), 5);
	assert_int_equal(held(e, "10.1.0.10"), 15);
	/* turned off (a reload to 0): no limit */
	limits(e, 0, 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(udp(e, "10.1.0.10", p++, 7000), XL_FORWARD);
}

/* Quota and rate together: a host at its quota spends no tokens, so when
 * its bindings expire it may open a burst again at once. */
static void test_quota_checked_before_rate(void **state)
{
	struct env *e = *state;

	limits(e, 3, 5);
	for (uint16_t p = 0; p < 3; p++)
		assert_int_equal(udp(e, "10.1.0.10", 5000 + p, 7000), XL_FORWARD);
	for (uint16_t p = 3; p < 40; p++)
		assert_int_equal(udp(e, "10.1.0.10", 5000 + p, 7000), XL_DROP);
	assert_int_equal(dropped(e, DROP_HOST_QUOTA), 37);
	assert_int_equal(dropped(e, DROP_HOST_RATE), 0);
	/* its three bindings go: two tokens are left of five, not zero */
	for (uint16_t p = 0; p < 3; p++) {
		struct binding *b = bind_lookup_in(e->nd.core->bt, IPPROTO_UDP, R_INSIDE,
						   (struct endpoint){pb_addr("10.1.0.10"), htons(5000 + p)}, 1);
		assert_non_null(b);
		xlate_release_binding(&e->nd.core->x, b);
		bind_remove(e->nd.core->bt, b);
	}
	assert_int_equal(held(e, "10.1.0.10"), 0);
	assert_int_equal(udp(e, "10.1.0.10", 6000, 7000), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.10", 6001, 7000), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.10", 6002, 7000), XL_DROP);
	assert_int_equal(dropped(e, DROP_HOST_RATE), 1);
	assert_int_equal(held(e, "10.1.0.10"), 2);
}

/* One host flooding new flows cannot starve the others: with a table of
 * 256, a host capped at 3 leaves the rest to everyone else. */
static void test_flood_does_not_starve_others(void **state)
{
	struct env *e = *state;
	char host[32];

	limits(e, 3, 5);
	for (int i = 0; i < 5000; i++)
		udp(e, "10.1.0.66", (uint16_t)(1024 + i), (uint16_t)(7000 + i % 1000));
	assert_int_equal(held(e, "10.1.0.66"), 3);
	assert_int_equal(dropped(e, DROP_HOST_QUOTA), 4997);
	for (int h = 1; h <= 60; h++) {
		snprintf(host, sizeof(host), "10.1.0.%d", h);
		for (uint16_t p = 0; p < 3; p++)
			assert_int_equal(udp(e, host, 5000 + p, 7000), XL_FORWARD);
		assert_int_equal(held(e, host), 3);
	}
	assert_int_equal(bind_count_kind(e->nd.core->bt, BIND_DYNAMIC), 183);
	assert_int_equal(dropped(e, DROP_TABLE_FULL), 0);
	assert_int_equal(dropped(e, DROP_POOL_EXHAUSTED), 0);
}

/* The per-host counts stay exact through heavy churn of many hosts (the
 * open-addressing table's deletions included): checked against a count
 * of the table itself. */
static void test_counts_exact_under_churn(void **state)
{
	struct env *e = *state;
	uint32_t cnt[64] = {0}, seed = 12345;
	struct binding *all[256];
	char host[32];

	limits(e, 0, 0);
	for (int round = 0; round < 4000; round++) {
		uint32_t cur = 0, n = 0;
		struct binding *b;

		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 3 && bind_count(e->nd.core->bt) < 200) {
			int h = (int)((seed >> 8) % 64);
			snprintf(host, sizeof(host), "10.1.0.%d", h + 1);
			udp(e, host, (uint16_t)(1024 + (seed >> 4) % 20000), 7000);
		} else {
			while ((b = bind_next(e->nd.core->bt, &cur)))
				all[n++] = b;
			if (n) {
				b = all[(seed >> 8) % n];
				xlate_release_binding(&e->nd.core->x, b);
				bind_remove(e->nd.core->bt, b);
			}
		}
		if (round % 97 == 0) {
			memset(cnt, 0, sizeof(cnt));
			cur = 0;
			while ((b = bind_next(e->nd.core->bt, &cur)))
				cnt[(ntohl(b->in.addr) & 0xff) - 1]++;
			for (int h = 0; h < 64; h++) {
				snprintf(host, sizeof(host), "10.1.0.%d", h + 1);
				assert_int_equal(held(e, host), cnt[h]);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config_values_and_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_reached_drops_and_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_frees_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_removal_adoption_and_replacement_free_quota, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rate_refills_over_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_checked_before_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flood_does_not_starve_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts_exact_under_churn, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
