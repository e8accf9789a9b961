/* Unit tests of the address manager: each request option, conflicts,
 * exhaustion, quotas, policy refusals, leases and expiry, and (through
 * xlate with real packets) that remote filters, alternative targets and the
 * single-peer rule are enforced on the datapath. */
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

#include "clock.h"
#include "conf.h"
#include "manager.h"
#include "pool.h"
#include "realmconf.h"
#include "xlate.h"
#include "natdenv.h"
#include "pktbuild.h"

static const char *const CONF_TEXT =
	"realms = (\n"
	"  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
	"    pool = { addresses = [ \"198.51.100.0/31\" ]; ports = \"20000-20099\"; };\n"
	"    transit_pools = ( { name = \"carrier\"; addresses = [ \"192.0.2.128/30\" ];\n"
	"                        ports = \"30000-30009\"; } ); },\n"
	"  { name = \"dmz\"; prefixes = [ \"10.99.0.0/16\" ];\n"
	"    pool = { addresses = [ \"10.99.0.0/30\" ]; ports = \"30000-30009\"; }; }\n"
	");\n"
	"control: { default_lifetime = 120; max_lifetime = 3600; };\n";

struct env {
	struct natdenv nd; /* natd's tables and manager */
	struct mgr_policy admin_pol, user_pol;
	struct mgr_client admin, user, other;
	uint8_t pkt[2048];
	unsigned events[8];
	uint32_t skew; /* seconds added to the packet path's clock */
};

static void on_event(void *arg, uint8_t event, const struct nc_item *it)
{
	struct env *e = arg;
	(void)it;
	e->events[event & 7]++;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	natdenv_init(&e->nd, CONF_TEXT);
	mgr_set_event_cb(e->nd.core->mgr, on_event, e);
	e->admin_pol = (struct mgr_policy){.name = "root", .admin = true, .realms = ~0u};
	e->user_pol = (struct mgr_policy){.name = "proxy", .realms = 1u << 1, .quota = 3};
	assert_int_equal(prefix_parse("10.1.0.0/25", &e->user_pol.prefixes[0]), 0);
	e->user_pol.nprefixes = 1;
	e->admin = (struct mgr_client){.owner = "uid:0", .pol = &e->admin_pol};
	e->user = (struct mgr_client){.owner = "uid:1000", .pol = &e->user_pol};
	e->other = (struct mgr_client){.owner = "uid:1001", .pol = &e->user_pol};
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	natdenv_fini(&e->nd);
	free(e);
	return 0;
}

static void set_ip(struct nc_ip *ip, const char *a)
{
	uint32_t v = pb_addr(a);
	memset(ip, 0, sizeof(*ip));
	ip->af = NC_AF_IP4;
	memcpy(ip->a, &v, 4);
}

static uint32_t ip_of(const struct nc_ip *ip)
{
	uint32_t v;
	memcpy(&v, ip->a, 4);
	return v;
}


static void match(struct nc_match *m, const char *addr, uint8_t plen)
{
	memset(m, 0, sizeof(*m));
	set_ip(&m->ip, addr);
	m->plen = plen;
	m->port_lo = 0;
	m->port_hi = 65535;
}

static uint16_t bind_ok(struct env *e, struct mgr_client *c, const struct nc_bind *r,
			struct nc_bind_r *rep)
{
	uint16_t st = mgr_bind(e->nd.core->mgr, c, r, rep);
	if (st != NC_ST_OK)
		print_message("bind refused: %s: %s\n", nc_status_str(st), rep->st.reason);
	return st;
}

/* Send one UDP packet through xlate; returns the verdict, packet in e->pkt. */
static enum xlate_verdict udp(struct env *e, const char *src, uint16_t sport, uint32_t dst,
			      uint16_t dport)
{
	size_t n = pb_udp(e->pkt, pb_addr(src), sport, dst, dport, 20);
	e->nd.core->x.now = clock_mono_s() + e->skew;
	return xlate_packet(&e->nd.core->x, e->pkt, n, sizeof(e->pkt));
}

static void test_terminating_binding_carries_packets(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r rep;

	assert_int_equal(bind_ok(e, &e->user, &r, &rep), NC_ST_OK);
	assert_int_not_equal(rep.id, 0);
	assert_int_equal(rep.lifetime, 120);
	assert_int_equal(rep.st.epoch, mgr_epoch(e->nd.core->mgr));
	assert_true(ntohl(ip_of(&rep.alloc.ip)) >> 1 == ntohl(pb_addr("198.51.100.0")) >> 1);
	assert_true(rep.alloc.port >= 20000 && rep.alloc.port <= 20099);
	assert_int_equal(rep.alloc.port % 2, 0); /* parity kept: 5000 is even */
	assert_int_equal(e->events[NC_EV_CREATED], 1);
	/* inbound, unsolicited (a terminating binding takes it) */
	assert_int_equal(udp(e, "203.0.113.10", 7000, ip_of(&rep.alloc.ip), rep.alloc.port), XL_FORWARD);
	assert_int_equal(pb_dst(e->pkt), pb_addr("10.1.0.10"));
	assert_int_equal(pb_dport(e->pkt), 5000);
	assert_true(pb_l4_csum_ok(e->pkt, pb_totlen(e->pkt), false));
	/* outbound leaves from M */
	assert_int_equal(udp(e, "10.1.0.10", 5000, pb_addr("203.0.113.10"), 7000), XL_FORWARD);
	assert_int_equal(pb_src(e->pkt), ip_of(&rep.alloc.ip));
	assert_int_equal(pb_sport(e->pkt), rep.alloc.port);
	assert_int_equal(bind_count_kind(e->nd.core->bt, BIND_MANAGED), 1);
	assert_int_equal(bind_count_kind(e->nd.core->bt, BIND_DYNAMIC), 0);
}

static void test_repeat_request_renews_same_binding(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r a, b;

	assert_int_equal(bind_ok(e, &e->user, &r, &a), NC_ST_OK);
	r.lifetime = 60;
	assert_int_equal(bind_ok(e, &e->user, &r, &b), NC_ST_OK);
	assert_int_equal(a.id, b.id);
	assert_memory_equal(&a.alloc, &b.alloc, sizeof(a.alloc));
	assert_int_equal(b.lifetime, 60);
	assert_int_equal(e->events[NC_EV_REFRESHED], 1);
	/* another client may not take it over */
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->other, &r, &b), NC_ST_CONFLICT);
}

static void test_exact_port_prefer_failure_and_substitution(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000), r2 = natdenv_req("10.1.0.11", 5000);
	struct nc_bind_r a, b;

	r.want = NC_WANT_PREFIX;
	set_ip(&r.want_addr, "198.51.100.1");
	r.want_plen = 32;
	r.want_port = 20010;
	r.prefer_failure = true;
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
	assert_int_equal(ip_of(&a.alloc.ip), pb_addr("198.51.100.1"));
	assert_int_equal(a.alloc.port, 20010);
	/* the same address:port for someone else: prefer failure -> CONFLICT */
	r2.want = r.want;
	r2.want_addr = r.want_addr;
	r2.want_plen = 32;
	r2.want_port = 20010;
	r2.prefer_failure = true;
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->admin, &r2, &b), NC_ST_CONFLICT);
	assert_int_equal(b.st.code, NC_ST_CONFLICT);
	assert_true(strlen(b.st.reason) > 0);
	/* without prefer_failure natd substitutes another port */
	r2.prefer_failure = false;
	assert_int_equal(bind_ok(e, &e->admin, &r2, &b), NC_ST_OK);
	assert_false(ip_of(&b.alloc.ip) == ip_of(&a.alloc.ip) && b.alloc.port == 20010);
}

static void test_address_range(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.12", 6000);
	struct nc_bind_r a;

	r.want = NC_WANT_RANGE;
	set_ip(&r.want_addr, "198.51.100.1");
	set_ip(&r.want_hi, "198.51.100.9");
	r.prefer_failure = true;
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
	assert_int_equal(ip_of(&a.alloc.ip), pb_addr("198.51.100.1"));
	/* a range with no pool address in it */
	set_ip(&r.want_addr, "198.51.100.100");
	set_ip(&r.want_hi, "198.51.100.200");
	r.spec.ep.port = 6002;
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->admin, &r, &a), NC_ST_CONFLICT);
}

static void test_rtp_pair(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 4001);
	struct nc_bind_r a;
	struct nc_release rel = {0};
	struct nc_status st;

	r.rtp_pair = true;
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
	assert_int_equal(a.alloc.port % 2, 0); /* RTP on the even port */
	assert_int_equal(bind_count_kind(e->nd.core->bt, BIND_MANAGED), 2);
	/* RTCP: M:p+1 reaches E:4002 */
	assert_int_equal(udp(e, "203.0.113.10", 7001, ip_of(&a.alloc.ip), a.alloc.port + 1), XL_FORWARD);
	assert_int_equal(pb_dport(e->pkt), 4002);
	rel.id = a.id;
	assert_int_equal(mgr_release(e->nd.core->mgr, &e->admin, &rel, &st), NC_ST_OK);
	assert_int_equal(bind_count(e->nd.core->bt), 0);
	assert_int_equal(e->events[NC_EV_RELEASED], 1);
	/* both ports went back to the pool */
	r.prefer_failure = true;
	r.want = NC_WANT_PREFIX;
	r.want_addr = a.alloc.ip;
	r.want_plen = 32;
	r.want_port = a.alloc.port;
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
}

static void test_claim7_remote_filter(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r a;

	r.spec.nfilters = 1;
	match(&r.spec.filters[0], "203.0.113.10", 32);
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
	assert_int_equal(udp(e, "203.0.113.10", 7000, ip_of(&a.alloc.ip), a.alloc.port), XL_FORWARD);
	assert_int_equal(pb_dst(e->pkt), pb_addr("10.1.0.10"));
	assert_int_equal(udp(e, "203.0.113.20", 7000, ip_of(&a.alloc.ip), a.alloc.port), XL_DROP);
	assert_int_equal(e->nd.core->st.dropped[DROP_FILTERED], 1);
}

/* LATCH: the first source seen within the window is latched (address, any
 * port, RTP and RTCP alike), then only it; a repeated BIND learns again. */
static void test_latch_learns_first_source(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r a;
	uint32_t m;

	r.rtp_pair = true;
	r.spec.nfilters = 1;
	match(&r.spec.filters[0], "203.0.113.10", 32);
	r.spec.latch = 5;
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
	m = ip_of(&a.alloc.ip);
	/* the far end's NAT: not the signalled address, latched */
	assert_int_equal(udp(e, "203.0.113.50", 9000, m, a.alloc.port), XL_FORWARD);
	assert_int_equal(pb_dst(e->pkt), pb_addr("10.1.0.10"));
	assert_int_equal(udp(e, "203.0.113.50", 9001, m, a.alloc.port + 1), XL_FORWARD);
	assert_int_equal(pb_dport(e->pkt), 5001);
	/* then only it: a third host, and even the signalled address, refused */
	assert_int_equal(udp(e, "203.0.113.20", 9000, m, a.alloc.port), XL_DROP);
	assert_int_equal(udp(e, "203.0.113.10", 7000, m, a.alloc.port), XL_DROP);
	assert_int_equal(e->nd.core->st.dropped[DROP_FILTERED], 2);
	assert_int_equal(udp(e, "203.0.113.50", 9002, m, a.alloc.port), XL_FORWARD);
	/* the BIND repeated (a new filter): a new window, learnt again */
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
	assert_int_equal(udp(e, "203.0.113.60", 9000, m, a.alloc.port), XL_FORWARD);
	assert_int_equal(udp(e, "203.0.113.50", 9000, m, a.alloc.port), XL_DROP);
}

/* LATCH whose window passed with nothing seen: the filter alone. */
static void test_latch_window_passes(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r a;
	uint32_t m;

	r.spec.nfilters = 1;
	match(&r.spec.filters[0], "203.0.113.10", 32);
	r.spec.latch = 5;
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
	m = ip_of(&a.alloc.ip);
	e->skew = 6;
	assert_int_equal(udp(e, "203.0.113.50", 9000, m, a.alloc.port), XL_DROP);
	assert_int_equal(udp(e, "203.0.113.10", 7000, m, a.alloc.port), XL_FORWARD);
	assert_int_equal(udp(e, "203.0.113.50", 9000, m, a.alloc.port), XL_DROP);
	assert_int_equal(e->nd.core->st.dropped[DROP_FILTERED], 2);
	e->skew = 0;
}

static void test_claim8_alternative_targets(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r a;

	r.spec.ntargets = 1;
	match(&r.spec.targets[0].from, "203.0.113.20", 32);
	set_ip(&r.spec.targets[0].to.ip, "10.1.0.11");
	r.spec.targets[0].to.port = 6000;
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
	/* S1 -> E1 */
	assert_int_equal(udp(e, "203.0.113.20", 7000, ip_of(&a.alloc.ip), a.alloc.port), XL_FORWARD);
	assert_int_equal(pb_dst(e->pkt), pb_addr("10.1.0.11"));
	assert_int_equal(pb_dport(e->pkt), 6000);
	/* others -> the default E */
	assert_int_equal(udp(e, "203.0.113.10", 7000, ip_of(&a.alloc.ip), a.alloc.port), XL_FORWARD);
	assert_int_equal(pb_dst(e->pkt), pb_addr("10.1.0.10"));
	/* E1 answers from the same M (its alias) */
	assert_int_equal(udp(e, "10.1.0.11", 6000, pb_addr("203.0.113.20"), 7000), XL_FORWARD);
	assert_int_equal(pb_src(e->pkt), ip_of(&a.alloc.ip));
	assert_int_equal(pb_sport(e->pkt), a.alloc.port);
	/* with drop_default, others are dropped */
	r.spec.drop_default = true;
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
	assert_int_equal(udp(e, "203.0.113.10", 7000, ip_of(&a.alloc.ip), a.alloc.port), XL_DROP);
	assert_int_equal(e->nd.core->st.dropped[DROP_FILTERED], 1);
	assert_int_equal(udp(e, "203.0.113.20", 7000, ip_of(&a.alloc.ip), a.alloc.port), XL_FORWARD);
}

static void test_single_peer(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r a;

	r.spec.dir = NC_DIR_ORIG;
	r.spec.has_peer = true;
	match(&r.spec.peer, "203.0.113.10", 32);
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
	assert_int_equal(udp(e, "10.1.0.10", 5000, pb_addr("203.0.113.10"), 7000), XL_FORWARD);
	assert_int_equal(pb_src(e->pkt), ip_of(&a.alloc.ip));
	assert_int_equal(udp(e, "10.1.0.10", 5000, pb_addr("203.0.113.20"), 7000), XL_DROP);
	assert_int_equal(udp(e, "203.0.113.20", 7000, ip_of(&a.alloc.ip), a.alloc.port), XL_DROP);
	assert_int_equal(udp(e, "203.0.113.10", 7000, ip_of(&a.alloc.ip), a.alloc.port), XL_FORWARD);
	assert_int_equal(e->nd.core->st.dropped[DROP_FILTERED], 2);
}

static void test_transit_forces_pool(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r a;

	/* transit pool: M comes from the transit network's pool inside R2 */
	strcpy(r.spec.transit, "carrier");
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
	assert_int_equal(ntohl(ip_of(&a.alloc.ip)) & ~3u, ntohl(pb_addr("192.0.2.128")));
	assert_true(a.alloc.port >= 30000 && a.alloc.port <= 30009);
	/* both ways: a remote in R2 reaches E through it, E's answers leave from it */
	assert_int_equal(udp(e, "203.0.113.10", 7000, ip_of(&a.alloc.ip), a.alloc.port), XL_FORWARD);
	assert_int_equal(pb_dst(e->pkt), pb_addr("10.1.0.10"));
	assert_int_equal(udp(e, "10.1.0.10", 5000, pb_addr("203.0.113.10"), 7000), XL_FORWARD);
	assert_int_equal(pb_src(e->pkt), ip_of(&a.alloc.ip));
	strcpy(r.spec.transit, "nowhere");
	r.spec.ep.port = 5002;
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->admin, &r, &a), NC_ST_UNKNOWN_REALM);
}

static void test_bad_requests(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r a;

	strcpy(r.spec.ext_realm, "moon");
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->admin, &r, &a), NC_ST_UNKNOWN_REALM);
	r = natdenv_req("203.0.113.5", 5000); /* not an inside address */
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->admin, &r, &a), NC_ST_BAD_REQUEST);
	r = natdenv_req("10.1.0.10", 5000);
	strcpy(r.spec.ext_realm, "inside");
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->admin, &r, &a), NC_ST_BAD_REQUEST);
	r = natdenv_req("10.1.0.10", 5000);
	r.spec.ep.ip.af = NC_AF_IP6;
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->admin, &r, &a), NC_ST_UNSUPPORTED);
	r = natdenv_req("10.1.0.10", 5000);
	r.spec.proto = 47;
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->admin, &r, &a), NC_ST_UNSUPPORTED);
	assert_int_equal(bind_count(e->nd.core->bt), 0);
}

static void test_policy_and_quota(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.200", 5000); /* outside the client's 10.1.0.0/25 */
	struct nc_bind_r a;

	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->user, &r, &a), NC_ST_NOT_AUTHORIZED);
	r = natdenv_req("10.1.0.10", 5000);
	strcpy(r.spec.ext_realm, "dmz"); /* a realm it may not draw from */
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->user, &r, &a), NC_ST_NOT_AUTHORIZED);
	for (uint16_t p = 0; p < 3; p++) {
		r = natdenv_req("10.1.0.10", (uint16_t)(5000 + 2 * p));
		assert_int_equal(bind_ok(e, &e->user, &r, &a), NC_ST_OK);
	}
	r = natdenv_req("10.1.0.10", 5100);
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->user, &r, &a), NC_ST_QUOTA_EXCEEDED);
	/* an empty request is refused, not granted */
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->other, &(struct nc_bind){0}, &a) != NC_ST_OK, true);
	/* a pair counts two: another client with the same quota of 3 gets one
	 * pair (2), and a second pair (4 > 3) is refused */
	r = natdenv_req("10.1.0.20", 7000);
	r.rtp_pair = true;
	assert_int_equal(bind_ok(e, &e->other, &r, &a), NC_ST_OK);
	r = natdenv_req("10.1.0.20", 7010);
	r.rtp_pair = true;
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->other, &r, &a), NC_ST_QUOTA_EXCEEDED);
}

static void test_refresh_release_ownership(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r a;
	struct nc_refresh rf = {0};
	struct nc_refresh_r rr;
	struct nc_release rl = {0};
	struct nc_status st;

	assert_int_equal(bind_ok(e, &e->user, &r, &a), NC_ST_OK);
	rf.id = rl.id = a.id;
	assert_int_equal(mgr_refresh(e->nd.core->mgr, &e->other, &rf, &rr), NC_ST_NOT_FOUND);
	assert_int_equal(mgr_release(e->nd.core->mgr, &e->other, &rl, &st), NC_ST_NOT_FOUND);
	rf.epoch = mgr_epoch(e->nd.core->mgr) + 1;
	assert_int_equal(mgr_refresh(e->nd.core->mgr, &e->user, &rf, &rr), NC_ST_STALE_EPOCH);
	rf.epoch = mgr_epoch(e->nd.core->mgr);
	rf.lifetime = 99999; /* clamped to max_lifetime */
	assert_int_equal(mgr_refresh(e->nd.core->mgr, &e->user, &rf, &rr), NC_ST_OK);
	assert_int_equal(rr.lifetime, 3600);
	assert_int_equal(mgr_release(e->nd.core->mgr, &e->admin, &rl, &st), NC_ST_OK); /* admin may */
	assert_int_equal(mgr_release(e->nd.core->mgr, &e->user, &rl, &st), NC_ST_NOT_FOUND);
	assert_int_equal(bind_count(e->nd.core->bt), 0);
}

static void gone(struct binding *b, void *arg)
{
	struct env *e = arg;
	if (b->kind == BIND_MANAGED)
		mgr_binding_gone(e->nd.core->mgr, b, NC_EV_EXPIRED);
	xlate_release_binding(&e->nd.core->x, b);
}

static void test_lease_expires(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r a;
	struct nc_refresh rf = {0};
	struct nc_refresh_r rr;
	uint32_t t0 = clock_mono_s();

	r.lifetime = 5;
	r.rtp_pair = true;
	assert_int_equal(bind_ok(e, &e->user, &r, &a), NC_ST_OK);
	assert_int_equal(bind_expire(e->nd.core->bt, t0 + 4, gone, e), 0);
	assert_int_equal(bind_count(e->nd.core->bt), 2);
	/* the primary expires and takes its RTCP partner with it */
	assert_int_equal(bind_expire(e->nd.core->bt, t0 + 6, gone, e), 1);
	assert_int_equal(bind_count(e->nd.core->bt), 0);
	assert_int_equal(e->events[NC_EV_EXPIRED], 1);
	rf.id = a.id;
	assert_int_equal(mgr_refresh(e->nd.core->mgr, &e->user, &rf, &rr), NC_ST_NOT_FOUND);
	/* the owner's quota was given back: three more fit */
	for (uint16_t p = 0; p < 3; p++) {
		r = natdenv_req("10.1.0.10", (uint16_t)(6000 + 2 * p));
		assert_int_equal(bind_ok(e, &e->user, &r, &a), NC_ST_OK);
	}
}

static void test_pool_exhaustion(void **state)
{
	struct env *e = *state;
	struct nc_bind r;
	struct nc_bind_r a;
	unsigned ok = 0;

	/* the carrier transit pool: 4 addresses x 10 ports = 40 */
	for (unsigned i = 0; i < 50; i++) {
		char addr[16];
		snprintf(addr, sizeof(addr), "10.1.0.%u", 1 + i);
		r = natdenv_req(addr, 5000);
		strcpy(r.spec.transit, "carrier");
		if (mgr_bind(e->nd.core->mgr, &e->admin, &r, &a) == NC_ST_OK)
			ok++;
		else
			assert_int_equal(a.st.code, NC_ST_EXHAUSTED);
	}
	assert_int_equal(ok, 40);
}

static void test_dynamic_binding_replaced_and_static_conflicts(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r a;
	struct endpoint in = {pb_addr("10.1.0.20"), htons(5060)}, ext = {pb_addr("198.51.100.1"), htons(20050)};
	int err;

	assert_int_equal(udp(e, "10.1.0.10", 5000, pb_addr("203.0.113.10"), 7000), XL_FORWARD);
	assert_int_equal(bind_count_kind(e->nd.core->bt, BIND_DYNAMIC), 1);
	assert_int_equal(bind_ok(e, &e->admin, &r, &a), NC_ST_OK);
	assert_int_equal(bind_count_kind(e->nd.core->bt, BIND_DYNAMIC), 0);
	assert_int_equal(bind_count_kind(e->nd.core->bt, BIND_MANAGED), 1);
	assert_non_null(bind_insert(e->nd.core->bt, BIND_STATIC, IPPROTO_UDP, 0, in, 1, ext, clock_mono_s(), &err));
	r = natdenv_req("10.1.0.20", 5060);
	assert_int_equal(mgr_bind(e->nd.core->mgr, &e->admin, &r, &a), NC_ST_CONFLICT);
}

struct list_acc {
	unsigned n, managed, with_counters;
};

static void on_item(void *arg, const struct nc_item *it)
{
	struct list_acc *l = arg;
	l->n++;
	l->managed += it->kind == NC_KIND_MANAGED;
	l->with_counters += it->has_counters && it->counters.pkts_in > 0;
}

static void test_list_visibility_and_counters(void **state)
{
	struct env *e = *state;
	struct nc_bind r = natdenv_req("10.1.0.10", 5000);
	struct nc_bind_r a;
	struct nc_list q = {0};
	struct list_acc all = {0}, mine = {0};

	assert_int_equal(bind_ok(e, &e->user, &r, &a), NC_ST_OK);
	assert_int_equal(udp(e, "203.0.113.10", 7000, ip_of(&a.alloc.ip), a.alloc.port), XL_FORWARD);
	assert_int_equal(udp(e, "10.1.0.30", 5000, pb_addr("203.0.113.10"), 7000), XL_FORWARD);
	assert_int_equal(mgr_list(e->nd.core->mgr, &e->admin, &q, on_item, &all), 2);
	assert_int_equal(all.managed, 1);
	assert_int_equal(all.with_counters, 1);
	assert_int_equal(mgr_list(e->nd.core->mgr, &e->other, &q, on_item, &mine), 0);
	assert_int_equal(mgr_list(e->nd.core->mgr, &e->user, &q, on_item, &mine), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_terminating_binding_carries_packets),
		T(test_repeat_request_renews_same_binding),
		T(test_exact_port_prefer_failure_and_substitution),
		T(test_address_range),
		T(test_rtp_pair),
		T(test_claim7_remote_filter),
		T(test_latch_learns_first_source),
		T(test_latch_window_passes),
		T(test_claim8_alternative_targets),
		T(test_single_peer),
		T(test_transit_forces_pool),
		T(test_bad_requests),
		T(test_policy_and_quota),
		T(test_refresh_release_ownership),
		T(test_lease_expires),
		T(test_pool_exhaustion),
		T(test_dynamic_binding_replaced_and_static_conflicts),
		T(test_list_visibility_and_counters),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
