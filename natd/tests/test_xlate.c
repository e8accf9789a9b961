/* Unit tests for xlate.c: whole packets through xlate_packet() against a
 * realm set built as natd builds it from its config (pool prefixes first,
 * then realm prefixes): dynamic NAPT for UDP/TCP/ICMP echo, replies,
 * drops for unbound pool ports, ICMP errors both ways (RFC 5508, the
 * quoted header coming back byte for byte), hairpinning (RFC 4787 REQ-9),
 * static forwards, filtering, twice-NAT between two named realms,
 * fragments in and out of order, malformed input and resource limits.
 * Every rewritten packet is checked by full checksum recomputation with
 * pktbuild's own reference implementation. */
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

#include "binding.h"
#include "frag.h"
#include "pool.h"
#include "pktbuild.h"
#include "realm.h"
#include "stats.h"
#include "rules.h"
#include "xlate.h"

#define NOW0 10000u
#define MAX_EMIT 16

/* Realm ids in the default environment. */
#define R_INSIDE 0
#define R_OUTSIDE 1

struct env {
	struct realm_set rs;
	struct bind_table *bt;
	struct frag_table *ft;
	struct natd_stats st;
	struct xlate_ctx x;
	unsigned nemit;
	size_t emit_len[MAX_EMIT];
	uint8_t emit_buf[MAX_EMIT][PB_MAX];
};

struct realm_def {
	const char *name;
	const char *prefixes[4];
	const char *nat_to[4];
	const char *pool[4]; /* pool prefixes */
	uint16_t port_lo, port_hi;
};

static uint32_t A(const char *s)
{
	return pb_addr(s);
}

static struct endpoint EP(const char *a, uint16_t port)
{
	struct endpoint e = { .addr = pb_addr(a), .port = htons(port) };

	return e;
}

static void emit_cb(void *arg, uint8_t *buf, size_t len)
{
	struct env *e = arg;

	assert_true(e->nemit < MAX_EMIT);
	assert_true(len <= PB_MAX);
	memcpy(e->emit_buf[e->nemit], buf, len);
	e->emit_len[e->nemit] = len;
	e->nemit++;
}

/* Expand the pool prefixes of d into addresses, as the daemon does. */
static struct pool *make_pool(const struct realm_def *d)
{
	uint32_t addrs[256];
	unsigned n = 0, i;
	struct pool *p;

	for (i = 0; i < 4 && d->pool[i]; i++) {
		struct prefix px;
		uint32_t base, cnt, k;

		assert_int_equal(prefix_parse(d->pool[i], &px), 0);
		base = ntohl(px.addr);
		cnt = 1u << (32 - px.len);
		for (k = 0; k < cnt; k++) {
			assert_true(n < 256);
			addrs[n++] = htonl(base + k);
		}
	}
	p = pool_new(addrs, n, d->port_lo, d->port_hi);
	assert_non_null(p);
	return p;
}

static void build_realms(struct realm_set *rs, const struct realm_def *defs, unsigned n)
{
	unsigned i, k;

	memset(rs, 0, sizeof(*rs));
	rs->n = n;
	for (i = 0; i < n; i++)
		strcpy(rs->realms[i].name, defs[i].name);
	/* pool prefixes first so they win ties against realm prefixes */
	for (i = 0; i < n; i++) {
		for (k = 0; k < 4 && defs[i].nat_to[k]; k++) {
			uint8_t to = realm_find(rs, defs[i].nat_to[k]);

			assert_int_not_equal(to, REALM_NONE);
			rs->realms[i].nat_to |= 1u << to;
		}
		for (k = 0; k < 4 && defs[i].pool[k]; k++) {
			struct prefix px;

			assert_int_equal(prefix_parse(defs[i].pool[k], &px), 0);
			assert_int_equal(realm_add_prefix(rs, (uint8_t)i, &px, true), 0);
		}
		if (defs[i].pool[0])
			rs->realms[i].pool = make_pool(&defs[i]);
	}
	for (i = 0; i < n; i++)
		for (k = 0; k < 4 && defs[i].prefixes[k]; k++) {
			struct prefix px;

			assert_int_equal(prefix_parse(defs[i].prefixes[k], &px), 0);
			assert_int_equal(realm_add_prefix(rs, (uint8_t)i, &px, false), 0);
		}
}

static const struct realm_def default_realms[] = {
	{ .name = "inside", .prefixes = { "10.1.0.0/24" }, .nat_to = { "outside" } },
	{ .name = "outside", .prefixes = { "0.0.0.0/0" },
	  .pool = { "198.51.100.1/32", "198.51.100.2/32" }, .port_lo = 1024, .port_hi = 65535 },
};

static struct env *env_new(const struct realm_def *defs, unsigned n, enum bind_filtering f,
			   uint32_t capacity, unsigned pool_flags)
{
	struct env *e = calloc(1, sizeof(*e));
	struct bind_conf bc = {
		.capacity = capacity,
		.perm_capacity = 1024,
		.timeout = { [BT_UDP] = 300, [BT_TCP_EST] = 7440, [BT_TCP_TRANS] = 240,
			     [BT_ICMP] = 60 },
		.filtering = f,
	};
	struct frag_conf fc = { .datagrams = 64, .slots = 4, .slot_bytes = 1500, .timeout = 2 };

	assert_non_null(e);
	build_realms(&e->rs, defs, n);
	e->bt = bind_table_new(&bc, NOW0);
	e->ft = frag_table_new(&fc);
	assert_non_null(e->bt);
	assert_non_null(e->ft);
	e->x = (struct xlate_ctx){
		.realms = &e->rs, .bt = e->bt, .ft = e->ft, .st = &e->st, .now = NOW0,
		.hairpinning = true, .pool_flags = pool_flags, .emit = emit_cb, .emit_arg = e,
	};
	return e;
}

static void env_free(struct env *e)
{
	unsigned i;

	if (!e)
		return;
	for (i = 0; i < e->rs.n; i++)
		pool_free(e->rs.realms[i].pool);
	bind_table_free(e->bt);
	frag_table_free(e->ft);
	free(e);
}

static int setup_eif(void **state)
{
	*state = env_new(default_realms, 2, FILTER_EIF, 1024, POOL_F_PARITY | POOL_F_PRESERVE);
	return 0;
}

static int setup_apdf(void **state)
{
	*state = env_new(default_realms, 2, FILTER_APDF, 1024, POOL_F_PARITY | POOL_F_PRESERVE);
	return 0;
}

static int setup_adf(void **state)
{
	*state = env_new(default_realms, 2, FILTER_ADF, 1024, POOL_F_PARITY | POOL_F_PRESERVE);
	return 0;
}

static int teardown(void **state)
{
	env_free(*state);
	return 0;
}

static enum xlate_verdict xl(struct env *e, uint8_t *buf, size_t n)
{
	return xlate_packet(&e->x, buf, n, PB_MAX);
}

static struct pool *outside_pool(struct env *e)
{
	return e->rs.realms[R_OUTSIDE].pool;
}

/* Checksums of a packet natd wrote, by full recomputation. */
static void assert_csums(const uint8_t *buf, size_t n, bool allow_udp_zero)
{
	assert_true(pb_ip_csum_ok(buf));
	assert_true(pb_l4_csum_ok(buf, n, allow_udp_zero));
}

/* Send 10.1.0.x:sport -> remote:dport UDP out; return the mapping seen. */
static struct endpoint udp_out(struct env *e, const char *in, uint16_t sport, const char *remote,
			       uint16_t dport)
{
	uint8_t b[PB_MAX];
	size_t n = pb_udp(b, A(in), sport, A(remote), dport, 33);
	struct endpoint m;

	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_csums(b, n, false);
	m.addr = pb_src(b);
	m.port = htons(pb_sport(b));
	return m;
}

/* ---- UDP ---- */

static void test_udp_out_creates_binding(void **state)
{
	struct env *e = *state;
	uint8_t b[PB_MAX], orig[PB_MAX];
	size_t n = pb_udp(b, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 41);
	struct binding *bd;
	struct endpoint m;

	memcpy(orig, b, n);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	/* Source rewritten into the pool, destination untouched. */
	assert_true(pool_has_addr(outside_pool(e), pb_src(b)));
	assert_true(pb_sport(b) >= 1024);
	assert_int_equal(pb_dst(b), A("203.0.113.10"));
	assert_int_equal(pb_dport(b), 53);
	/* Port preservation: 5000 was free. */
	assert_int_equal(pb_sport(b), 5000);
	/* Nothing else changed: length, TTL, id, payload. */
	assert_int_equal(pb_totlen(b), n);
	assert_int_equal(pb_ttl(b), pb_ttl(orig));
	assert_int_equal(pb_ip_id(b), pb_ip_id(orig));
	assert_memory_equal(b + 28, orig + 28, n - 28);
	assert_csums(b, n, false);
	/* A binding exists, findable from both sides, matching the rewrite. */
	assert_int_equal(bind_count(e->bt), 1);
	bd = bind_lookup_in(e->bt, IPPROTO_UDP, R_INSIDE, EP("10.1.0.10", 5000), R_OUTSIDE);
	assert_non_null(bd);
	m.addr = pb_src(b);
	m.port = htons(pb_sport(b));
	assert_true(ep_eq(bd->ext, m));
	assert_ptr_equal(bind_lookup_ext(e->bt, IPPROTO_UDP, R_OUTSIDE, m), bd);
	assert_true(pool_in_use(outside_pool(e), POOL_UDP, m));
	assert_int_equal(bd->kind, BIND_DYNAMIC);
	assert_int_equal(bd->pkts_out, 1);
	assert_int_equal(bd->bytes_out, n);
	assert_int_equal(e->st.translated_out, 1);
	assert_int_equal(e->st.translated_in, 0);
	assert_int_equal(e->st.bindings_created, 1);
	assert_int_equal(stats_dropped_total(&e->st), 0);
	/* Same flow again, and to another remote (endpoint-independent
	 * mapping, RFC 4787 REQ-1): same mapping, no new binding. */
	e->x.now = NOW0 + 5;
	assert_true(ep_eq(udp_out(e, "10.1.0.10", 5000, "203.0.113.10", 53), m));
	assert_true(ep_eq(udp_out(e, "10.1.0.10", 5000, "192.0.2.77", 9999), m));
	assert_int_equal(bind_count(e->bt), 1);
	assert_int_equal(bd->last_used, NOW0 + 5);
	assert_int_equal(bd->pkts_out, 3);
	assert_int_equal(e->st.translated_out, 3);
	assert_int_equal(e->st.bindings_created, 1);
}

static void test_udp_out_parity_and_pairing(void **state)
{
	struct env *e = *state;
	struct endpoint m1, m2, m3;

	/* 10.1.0.10:5000 takes 5000 on its paired address; 10.1.0.10:5002 and
	 * a clash on 5000 from another host keep parity. */
	m1 = udp_out(e, "10.1.0.10", 5000, "203.0.113.10", 53);
	m2 = udp_out(e, "10.1.0.10", 5002, "203.0.113.10", 53);
	assert_int_equal(m1.addr, m2.addr); /* paired pooling */
	assert_int_equal(ntohs(m2.port), 5002);
	/* Force a clash: reserve 7001 on both addresses, then an odd port. */
	assert_int_equal(pool_reserve(outside_pool(e), POOL_UDP, EP("198.51.100.1", 7001)), 0);
	assert_int_equal(pool_reserve(outside_pool(e), POOL_UDP, EP("198.51.100.2", 7001)), 0);
	m3 = udp_out(e, "10.1.0.10", 7001, "203.0.113.10", 53);
	assert_int_not_equal(ntohs(m3.port), 7001);
	assert_int_equal(ntohs(m3.port) & 1, 1);
	assert_int_equal(m3.addr, m1.addr);
}

static void test_udp_zero_checksum_stays_zero(void **state)
{
	/* Port 80 cannot be preserved (below the pool's ports), so both the
	 * address and the port change: the "no checksum" 0 must survive
	 * both updates, both ways. */
	struct env *e = *state;
	uint8_t b[PB_MAX];
	size_t n = pb_udp_nocsum(b, A("10.1.0.10"), 80, A("203.0.113.10"), 53, 20);
	struct endpoint m;

	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_not_equal(pb_sport(b), 80);
	assert_int_equal(pb_l4_check(b), 0);
	assert_true(pb_ip_csum_ok(b));
	m.addr = pb_src(b);
	m.port = htons(pb_sport(b));
	/* The reply, also without a checksum. */
	n = pb_udp_nocsum(b, A("203.0.113.10"), 53, m.addr, ntohs(m.port), 21);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_int_equal(pb_dport(b), 80);
	assert_int_equal(pb_l4_check(b), 0);
	assert_true(pb_ip_csum_ok(b));
}

static void test_udp_checksum_becomes_ffff(void **state)
{
	/* A datagram whose checksum after translation computes to 0 must be
	 * sent with 0xffff (RFC 768), not 0 ("no checksum"). */
	struct env *e = *state;
	struct endpoint m = udp_out(e, "10.1.0.10", 80, "203.0.113.10", 53);
	uint8_t post[PB_MAX], b[PB_MAX];
	size_t n = pb_udp(post, m.addr, ntohs(m.port), A("203.0.113.10"), 53, 10);
	uint32_t w;

	/* Pick the first payload word so that the translated datagram sums
	 * to 0xffff (its computed checksum is 0). */
	for (w = 0; w < 0x10000; w++) {
		pb_set_u16(post + 28, (uint16_t)w);
		pb_set_u16(post + 26, 0);
		if (pb_csum(post + 20, n - 20,
			    pb_pseudo_sum(pb_src(post), pb_dst(post), IPPROTO_UDP, n - 20)) == 0)
			break;
	}
	assert_true(w < 0x10000);
	/* The same datagram as the inside host sends it, checksummed. */
	memcpy(b, post, n);
	pb_set_u32(b + 12, A("10.1.0.10"));
	pb_set_u16(b + 20, 80);
	pb_fix_ip_csum(b);
	pb_fix_l4_csum(b, n);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_src(b), m.addr);
	assert_int_equal(pb_sport(b), ntohs(m.port));
	assert_int_equal(pb_l4_check(b), 0xffff);
	assert_csums(b, n, false);
}

static void test_udp_checksum_many_flows(void **state)
{
	/* Many hosts, ports and payload lengths (odd and even): every
	 * rewritten checksum is right, including ones that come out as
	 * 0xffff. */
	struct env *e = *state;
	unsigned i;

	srand(1);
	for (i = 0; i < 500; i++) {
		uint8_t b[PB_MAX];
		char in[32];
		uint16_t sport = (uint16_t)(1 + rand() % 65535);
		size_t n;

		snprintf(in, sizeof(in), "10.1.0.%u", 1 + i % 250);
		n = pb_udp(b, A(in), sport, htonl(0xcb007100u + (uint32_t)(rand() % 256)),
			   (uint16_t)(1 + rand() % 65535), (size_t)(rand() % 300));
		assert_int_equal(xl(e, b, n), XL_FORWARD);
		assert_csums(b, n, false);
		assert_int_not_equal(pb_l4_check(b), 0);
	}
	assert_int_equal(stats_dropped_total(&e->st), 0);
}

static void test_udp_in_reply(void **state)
{
	struct env *e = *state;
	struct endpoint m = udp_out(e, "10.1.0.10", 5000, "203.0.113.10", 53);
	uint8_t b[PB_MAX], orig[PB_MAX];
	size_t n = pb_udp(b, A("203.0.113.10"), 53, m.addr, ntohs(m.port), 77);
	struct binding *bd;

	memcpy(orig, b, n);
	e->x.now = NOW0 + 7;
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_int_equal(pb_dport(b), 5000);
	assert_int_equal(pb_src(b), A("203.0.113.10"));
	assert_int_equal(pb_sport(b), 53);
	assert_memory_equal(b + 28, orig + 28, n - 28);
	assert_csums(b, n, false);
	assert_int_equal(e->st.translated_in, 1);
	assert_int_equal(e->st.translated_out, 1);
	assert_int_equal(e->st.hairpinned, 0);
	bd = bind_lookup_ext(e->bt, IPPROTO_UDP, R_OUTSIDE, m);
	assert_non_null(bd);
	assert_int_equal(bd->pkts_in, 1);
	assert_int_equal(bd->bytes_in, n);
	assert_int_equal(bd->last_used, NOW0 + 7);
	/* Under EIF, any remote may use the mapping. */
	n = pb_udp(b, A("192.0.2.200"), 4444, m.addr, ntohs(m.port), 3);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_csums(b, n, false);
}

static void test_in_unbound_pool_port_dropped(void **state)
{
	struct env *e = *state;
	struct endpoint m = udp_out(e, "10.1.0.10", 5000, "203.0.113.10", 53);
	uint8_t b[PB_MAX];
	size_t n;

	n = pb_udp(b, A("203.0.113.10"), 53, m.addr, (uint16_t)(ntohs(m.port) + 1), 10);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_NO_BINDING], 1);
	/* Other pool address, same port. */
	n = pb_udp(b, A("203.0.113.10"), 53,
		   m.addr == A("198.51.100.1") ? A("198.51.100.2") : A("198.51.100.1"),
		   ntohs(m.port), 10);
	assert_int_equal(xl(e, b, n), XL_DROP);
	/* Right port, wrong protocol. */
	n = pb_tcp(b, A("203.0.113.10"), 53, m.addr, ntohs(m.port), PB_SYN, 0);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_NO_BINDING], 3);
	assert_int_equal(bind_count(e->bt), 1);
	assert_int_equal(e->st.translated_in, 0);
}

/* ---- TCP ---- */

static void test_tcp_out_in(void **state)
{
	struct env *e = *state;
	uint8_t b[PB_MAX];
	size_t n = pb_tcp(b, A("10.1.0.10"), 40000, A("203.0.113.10"), 80, PB_SYN, 0);
	struct endpoint m;
	struct binding *bd;

	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_true(pool_has_addr(outside_pool(e), pb_src(b)));
	assert_int_equal(pb_dport(b), 80);
	assert_csums(b, n, false);
	m.addr = pb_src(b);
	m.port = htons(pb_sport(b));
	bd = bind_lookup_ext(e->bt, IPPROTO_TCP, R_OUTSIDE, m);
	assert_non_null(bd);
	assert_true(bd->tcp & BTCP_SYN_OUT);
	/* SYN+ACK back. */
	n = pb_tcp(b, A("203.0.113.10"), 80, m.addr, ntohs(m.port), PB_SYN | PB_ACK, 0);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_int_equal(pb_dport(b), 40000);
	assert_csums(b, n, false);
	assert_true(bd->tcp & BTCP_SYN_IN);
	assert_int_equal(bind_deadline(e->bt, bd), NOW0 + 7440);
	/* Data both ways, odd length. */
	n = pb_tcp(b, A("10.1.0.10"), 40000, A("203.0.113.10"), 80, PB_ACK | PB_PSH, 1001);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_csums(b, n, false);
	assert_true(ep_eq((struct endpoint){ pb_src(b), htons(pb_sport(b)) }, m));
	n = pb_tcp(b, A("203.0.113.10"), 80, m.addr, ntohs(m.port), PB_ACK, 999);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_csums(b, n, false);
	/* RST: back to the transitory timeout. */
	n = pb_tcp(b, A("203.0.113.10"), 80, m.addr, ntohs(m.port), PB_RST, 0);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(bind_deadline(e->bt, bd), NOW0 + 240);
	assert_int_equal(e->st.translated_out, 2);
	assert_int_equal(e->st.translated_in, 3);
	assert_int_equal(bind_count(e->bt), 1);
}

static void test_tcp_needs_syn(void **state)
{
	/* RFC 5382: only an outbound SYN creates a mapping. */
	struct env *e = *state;
	uint8_t b[PB_MAX];
	size_t n;

	n = pb_tcp(b, A("10.1.0.10"), 40000, A("203.0.113.10"), 80, PB_ACK, 10);
	assert_int_equal(xl(e, b, n), XL_DROP);
	n = pb_tcp(b, A("10.1.0.10"), 40000, A("203.0.113.10"), 80, PB_SYN | PB_ACK, 0);
	assert_int_equal(xl(e, b, n), XL_DROP);
	n = pb_tcp(b, A("10.1.0.10"), 40000, A("203.0.113.10"), 80, PB_RST, 0);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_NO_BINDING], 3);
	assert_int_equal(bind_count(e->bt), 0);
	assert_int_equal(outside_pool(e)->inuse, 0);
	/* A SYN from outside to the pool does not create one either. */
	n = pb_tcp(b, A("203.0.113.10"), 80, A("198.51.100.1"), 40000, PB_SYN, 0);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(bind_count(e->bt), 0);
}

/* ---- ICMP echo ---- */

static void test_icmp_echo(void **state)
{
	struct env *e = *state;
	uint8_t b[PB_MAX], orig[PB_MAX];
	size_t n = pb_icmp_echo(b, A("10.1.0.10"), A("203.0.113.10"), 8, 77, 1, 56);
	uint16_t ext_id;
	uint32_t ext_addr;

	memcpy(orig, b, n);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	ext_addr = pb_src(b);
	ext_id = pb_sport(b);
	assert_true(pool_has_addr(outside_pool(e), ext_addr));
	assert_true(ext_id >= 1024); /* 77 is outside the pool's ports */
	assert_int_equal(pb_dst(b), A("203.0.113.10"));
	assert_int_equal(b[20], 8);
	assert_int_equal(pb_get_u16(b + 26), 1); /* sequence untouched */
	assert_memory_equal(b + 28, orig + 28, n - 28);
	assert_csums(b, n, false);
	assert_non_null(bind_lookup_in(e->bt, IPPROTO_ICMP, R_INSIDE, EP("10.1.0.10", 77),
				       R_OUTSIDE));
	/* Echo reply to the external id. */
	n = pb_icmp_echo(b, A("203.0.113.10"), ext_addr, 0, ext_id, 1, 56);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_int_equal(pb_sport(b), 77);
	assert_int_equal(pb_src(b), A("203.0.113.10"));
	assert_csums(b, n, false);
	/* A reply to an unknown id, and a request from outside to the pool. */
	n = pb_icmp_echo(b, A("203.0.113.10"), ext_addr, 0, (uint16_t)(ext_id + 1), 1, 8);
	assert_int_equal(xl(e, b, n), XL_DROP);
	n = pb_icmp_echo(b, A("203.0.113.10"), ext_addr, 8, ext_id, 1, 8);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_NO_BINDING], 2);
	/* An echo reply from inside does not create a mapping. */
	n = pb_icmp_echo(b, A("10.1.0.11"), A("203.0.113.10"), 0, 99, 1, 8);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(bind_count(e->bt), 1);
}

static void test_icmp_echo_apdf_reply(void **state)
{
	/* Under address-and-port-dependent filtering the reply to a ping
	 * whose id had to change (77 is below the pool's ports) must still
	 * come back: the echo id is the mapping, not a remote port. */
	struct env *e = *state;
	uint8_t b[PB_MAX];
	size_t n = pb_icmp_echo(b, A("10.1.0.10"), A("203.0.113.10"), 8, 77, 1, 16);
	uint16_t ext_id;
	uint32_t ext_addr;

	assert_int_equal(xl(e, b, n), XL_FORWARD);
	ext_addr = pb_src(b);
	ext_id = pb_sport(b);
	assert_int_not_equal(ext_id, 77);
	n = pb_icmp_echo(b, A("203.0.113.10"), ext_addr, 0, ext_id, 1, 16);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(e->st.dropped[DROP_FILTERED], 0);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_int_equal(pb_sport(b), 77);
	/* Another remote's reply is filtered. */
	n = pb_icmp_echo(b, A("203.0.113.11"), ext_addr, 0, ext_id, 1, 16);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_FILTERED], 1);
}

static void test_icmp_other_types_dropped(void **state)
{
	struct env *e = *state;
	uint8_t b[PB_MAX];
	size_t n;
	uint8_t types[] = { 13, 14, 5, 9, 10, 42 };
	unsigned i;

	for (i = 0; i < sizeof(types); i++) {
		n = pb_icmp_echo(b, A("10.1.0.10"), A("203.0.113.10"), types[i], 5, 1, 12);
		assert_int_equal(xl(e, b, n), XL_DROP);
	}
	assert_int_equal(e->st.dropped[DROP_ICMP_TYPE], sizeof(types));
	assert_int_equal(bind_count(e->bt), 0);
}

/* ---- ICMP errors ---- */

static void test_icmp_error_inbound(void **state)
{
	/* A router outside reports port unreachable for a translated
	 * datagram: the error reaches the inside host with the quote looking
	 * exactly like what the host sent. */
	struct env *e = *state;
	uint8_t orig[PB_MAX], sent[PB_MAX], b[PB_MAX];
	size_t on = pb_udp(orig, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 60);
	size_t n;
	unsigned i;

	memcpy(sent, orig, on);
	assert_int_equal(xl(e, sent, on), XL_FORWARD);
	/* The whole datagram, 48 bytes, then the RFC 792 minimum (time
	 * exceeded for that one). */
	for (i = 0; i < 3; i++) {
		size_t qlen = i == 0 ? on : i == 1 ? 48 : 28;
		uint8_t tc = (uint8_t)(i == 2 ? 11 : 3);

		n = pb_icmp_error(b, A("203.0.113.99"), pb_src(sent), tc, tc == 3 ? 3 : 0, sent,
				  qlen);
		assert_int_equal(xl(e, b, n), XL_FORWARD);
		assert_int_equal(pb_dst(b), A("10.1.0.10"));
		assert_int_equal(pb_src(b), A("203.0.113.99"));
		assert_int_equal(b[20], tc);
		assert_true(pb_ip_csum_ok(b));
		assert_true(pb_l4_csum_ok(b, n, false)); /* ICMP checksum */
		/* The quote is the original datagram, byte for byte: addresses,
		 * port, quoted IP checksum and quoted UDP checksum. */
		assert_memory_equal(b + 28, orig, qlen);
		if (qlen == on)
			assert_true(pb_l4_csum_ok(b + 28, qlen, false));
	}
	assert_int_equal(e->st.icmp_errors_translated, 3);
	assert_int_equal(bind_count(e->bt), 1);
}

static void test_icmp_error_inbound_tcp_and_echo(void **state)
{
	struct env *e = *state;
	uint8_t orig[PB_MAX], sent[PB_MAX], b[PB_MAX];
	size_t on, n;

	/* TCP SYN, quoted with only 8 bytes of TCP (checksum not quoted). */
	on = pb_tcp(orig, A("10.1.0.10"), 40000, A("203.0.113.10"), 80, PB_SYN, 0);
	memcpy(sent, orig, on);
	assert_int_equal(xl(e, sent, on), XL_FORWARD);
	n = pb_icmp_error(b, A("203.0.113.99"), pb_src(sent), 3, 1, sent, 28);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_memory_equal(b + 28, orig, 28);
	assert_csums(b, n, false);
	/* And the full TCP header quoted: the TCP checksum is restored too. */
	n = pb_icmp_error(b, A("203.0.113.99"), pb_src(sent), 3, 1, sent, on);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_memory_equal(b + 28, orig, on);
	assert_csums(b, n, false);
	/* Time exceeded for an echo request. */
	on = pb_icmp_echo(orig, A("10.1.0.10"), A("203.0.113.10"), 8, 77, 3, 24);
	memcpy(sent, orig, on);
	assert_int_equal(xl(e, sent, on), XL_FORWARD);
	n = pb_icmp_error(b, A("192.0.2.254"), pb_src(sent), 11, 0, sent, on);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_memory_equal(b + 28, orig, on);
	assert_csums(b, n, false);
	assert_int_equal(e->st.icmp_errors_translated, 3);
}

/* Give a packet 4 bytes of NOP options (IHL 6); returns the new length. */
static size_t add_options(uint8_t *b, size_t n)
{
	memmove(b + 24, b + 20, n - 20);
	memset(b + 20, 0x01, 4);
	b[0] = 0x46;
	pb_set_u16(b + 2, (uint16_t)(n + 4));
	pb_fix_ip_csum(b);
	return n + 4;
}

static void test_icmp_error_with_ip_options(void **state)
{
	/* Options in the translated datagram and in the error carrying it:
	 * the quote is found past the outer options and parsed with its own. */
	struct env *e = *state;
	uint8_t orig[PB_MAX], sent[PB_MAX], b[PB_MAX];
	size_t on = pb_udp(orig, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 30), n;

	on = add_options(orig, on);
	memcpy(sent, orig, on);
	assert_int_equal(xl(e, sent, on), XL_FORWARD);
	assert_csums(sent, on, false);
	n = pb_icmp_error(b, A("203.0.113.99"), pb_src(sent), 3, 3, sent, on);
	n = add_options(b, n);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_true(pb_ip_csum_ok(b));
	assert_true(pb_l4_csum_ok(b, n, false));
	assert_memory_equal(b + 24 + 8, orig, on);
}

static void test_icmp_error_outbound(void **state)
{
	/* An inbound datagram reaches the inside host, which answers port
	 * unreachable: the error leaves from the mapping, and its quote looks
	 * like what the remote sent. */
	struct env *e = *state;
	struct endpoint m = udp_out(e, "10.1.0.10", 5000, "203.0.113.10", 53);
	uint8_t orig[PB_MAX], recv[PB_MAX], b[PB_MAX];
	size_t on = pb_udp(orig, A("203.0.113.10"), 53, m.addr, ntohs(m.port), 30), n;

	memcpy(recv, orig, on);
	assert_int_equal(xl(e, recv, on), XL_FORWARD);
	assert_int_equal(pb_dst(recv), A("10.1.0.10"));
	n = pb_icmp_error(b, A("10.1.0.10"), A("203.0.113.10"), 3, 3, recv, on);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_src(b), m.addr);
	assert_int_equal(pb_dst(b), A("203.0.113.10"));
	assert_memory_equal(b + 28, orig, on);
	assert_csums(b, n, false);
	assert_true(pb_l4_csum_ok(b + 28, on, false));
	assert_int_equal(e->st.icmp_errors_translated, 1);
}

static void test_icmp_error_bad(void **state)
{
	struct env *e = *state;
	uint8_t sent[PB_MAX], b[PB_MAX], f[PB_MAX], inner[PB_MAX];
	size_t on = pb_udp(sent, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 60), n, fl;
	uint32_t count_before;

	assert_int_equal(xl(e, sent, on), XL_FORWARD);
	count_before = bind_count(e->bt);
	/* Corrupt ICMP checksum. */
	n = pb_icmp_error(b, A("203.0.113.99"), pb_src(sent), 3, 3, sent, on);
	b[30] ^= 0x40;
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_ICMP_QUOTE], 1);
	/* Quote shorter than IP header + 8. */
	n = pb_icmp_error(b, A("203.0.113.99"), pb_src(sent), 3, 3, sent, 27);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_ICMP_QUOTE], 2);
	/* Quote of a non-first fragment. */
	fl = pb_fragment(f, sent, 8, 40, true);
	n = pb_icmp_error(b, A("203.0.113.99"), pb_src(sent), 3, 3, f, fl);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_ICMP_QUOTE], 3);
	/* An error about an error. */
	n = pb_icmp_error(inner, pb_src(sent), A("203.0.113.10"), 3, 3, sent, 28);
	n = pb_icmp_error(b, A("203.0.113.99"), pb_src(sent), 3, 3, inner, n);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_ICMP_QUOTE], 4);
	/* A quote of a flow natd never saw. */
	{
		uint8_t other[PB_MAX];
		size_t ol = pb_udp(other, A("198.51.100.1"), 999, A("203.0.113.10"), 53, 0);

		n = pb_icmp_error(b, A("203.0.113.99"), A("198.51.100.1"), 3, 3, other, ol);
		assert_int_equal(xl(e, b, n), XL_DROP);
		assert_int_equal(e->st.dropped[DROP_NO_BINDING], 1);
	}
	assert_int_equal(e->st.icmp_errors_translated, 0);
	assert_int_equal(bind_count(e->bt), count_before);
}

/* ---- hairpinning ---- */

static void test_hairpin(void **state)
{
	struct env *e = *state;
	struct endpoint mb = udp_out(e, "10.1.0.11", 6000, "203.0.113.10", 53), ma;
	uint8_t b[PB_MAX];
	size_t n;

	/* A sends to B's external mapping. */
	n = pb_udp(b, A("10.1.0.10"), 5000, mb.addr, ntohs(mb.port), 25);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.11"));
	assert_int_equal(pb_dport(b), 6000);
	/* B sees A's external mapping, not A's inside address (REQ-9). */
	assert_true(pool_has_addr(outside_pool(e), pb_src(b)));
	ma.addr = pb_src(b);
	ma.port = htons(pb_sport(b));
	assert_true(ep_eq(bind_lookup_in(e->bt, IPPROTO_UDP, R_INSIDE, EP("10.1.0.10", 5000),
					 R_OUTSIDE)->ext, ma));
	assert_csums(b, n, false);
	assert_int_equal(e->st.hairpinned, 1);
	/* B answers A's mapping. */
	n = pb_udp(b, A("10.1.0.11"), 6000, ma.addr, ntohs(ma.port), 26);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_int_equal(pb_dport(b), 5000);
	assert_int_equal(pb_src(b), mb.addr);
	assert_int_equal(pb_sport(b), ntohs(mb.port));
	assert_csums(b, n, false);
	assert_int_equal(e->st.hairpinned, 2);
	assert_int_equal(bind_count(e->bt), 2);
	/* With hairpinning off, the same packet is dropped. */
	e->x.hairpinning = false;
	n = pb_udp(b, A("10.1.0.11"), 6000, ma.addr, ntohs(ma.port), 26);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_NO_BINDING], 1);
	assert_int_equal(e->st.hairpinned, 2);
}

static void test_hairpin_tcp(void **state)
{
	struct env *e = *state;
	uint8_t b[PB_MAX];
	size_t n;
	struct endpoint ms, mc;
	int err = 0;

	/* A server inside with a static forward; a client inside reaches it
	 * by the public address. Port 443 is below the pool's dynamic range,
	 * so there is nothing to reserve (as in the daemon). */
	assert_int_equal(pool_reserve(outside_pool(e), POOL_TCP, EP("198.51.100.1", 443)),
			 -ENOENT);
	assert_non_null(bind_insert(e->bt, BIND_STATIC, IPPROTO_TCP, R_INSIDE,
				    EP("10.1.0.20", 8443), R_OUTSIDE, EP("198.51.100.1", 443),
				    NOW0, &err));
	ms = EP("198.51.100.1", 443);
	n = pb_tcp(b, A("10.1.0.10"), 33333, ms.addr, 443, PB_SYN, 0);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.20"));
	assert_int_equal(pb_dport(b), 8443);
	mc.addr = pb_src(b);
	mc.port = htons(pb_sport(b));
	assert_true(pool_has_addr(outside_pool(e), mc.addr));
	assert_csums(b, n, false);
	n = pb_tcp(b, A("10.1.0.20"), 8443, mc.addr, ntohs(mc.port), PB_SYN | PB_ACK, 0);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_src(b), ms.addr);
	assert_int_equal(pb_sport(b), 443);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_int_equal(pb_dport(b), 33333);
	assert_csums(b, n, false);
}

static void test_hairpin_icmp_error(void **state)
{
	/* B answers a hairpinned datagram with port unreachable: A gets the
	 * error from B's mapping, quoting exactly what A sent. */
	struct env *e = *state;
	struct endpoint mb = udp_out(e, "10.1.0.11", 6000, "203.0.113.10", 53);
	uint8_t orig[PB_MAX], got[PB_MAX], b[PB_MAX];
	size_t on = pb_udp(orig, A("10.1.0.10"), 5000, mb.addr, ntohs(mb.port), 30), n;

	memcpy(got, orig, on);
	assert_int_equal(xl(e, got, on), XL_FORWARD);
	assert_int_equal(pb_dst(got), A("10.1.0.11"));
	n = pb_icmp_error(b, A("10.1.0.11"), pb_src(got), 3, 3, got, on);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_int_equal(pb_src(b), mb.addr);
	assert_memory_equal(b + 28, orig, on);
	assert_csums(b, n, false);
	assert_true(pb_l4_csum_ok(b + 28, on, false));
}

/* ---- static forwards and filtering ---- */

static void test_static_forward(void **state)
{
	struct env *e = *state;
	uint8_t b[PB_MAX];
	size_t n;
	int err = 0;
	unsigned i;

	assert_int_equal(pool_reserve(outside_pool(e), POOL_UDP, EP("198.51.100.1", 5060)), 0);
	assert_non_null(bind_insert(e->bt, BIND_STATIC, IPPROTO_UDP, R_INSIDE,
				    EP("10.1.0.10", 5060), R_OUTSIDE, EP("198.51.100.1", 5060),
				    NOW0, &err));
	/* Inbound from anyone, even under APDF, with nothing sent first. */
	n = pb_udp(b, A("203.0.113.10"), 7777, A("198.51.100.1"), 5060, 200);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_int_equal(pb_dport(b), 5060);
	assert_csums(b, n, false);
	n = pb_udp(b, A("192.0.2.1"), 1, A("198.51.100.1"), 5060, 1);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	/* Outbound from the forwarded endpoint uses it. */
	n = pb_udp(b, A("10.1.0.10"), 5060, A("203.0.113.10"), 7777, 99);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_src(b), A("198.51.100.1"));
	assert_int_equal(pb_sport(b), 5060);
	assert_csums(b, n, false);
	assert_int_equal(bind_count(e->bt), 1);
	assert_int_equal(bind_count_kind(e->bt, BIND_STATIC), 1);
	assert_int_equal(e->st.bindings_created, 0);
	/* Nobody else is ever given 198.51.100.1:5060. */
	for (i = 0; i < 20; i++) {
		char in[32];
		struct endpoint m;

		snprintf(in, sizeof(in), "10.1.0.%u", 100 + i);
		m = udp_out(e, in, 5060, "203.0.113.10", 5060);
		assert_false(m.addr == A("198.51.100.1") && ntohs(m.port) == 5060);
	}
	/* Static bindings never expire. */
	assert_int_equal(bind_expire(e->bt, NOW0 + 100000, NULL, NULL), 20);
	assert_non_null(bind_lookup_ext(e->bt, IPPROTO_UDP, R_OUTSIDE, EP("198.51.100.1", 5060)));
}

static void test_filtering_apdf(void **state)
{
	struct env *e = *state;
	struct endpoint m = udp_out(e, "10.1.0.10", 5000, "203.0.113.10", 53);
	uint8_t b[PB_MAX];
	size_t n;

	/* The remote it sent to, same port: allowed. */
	n = pb_udp(b, A("203.0.113.10"), 53, m.addr, ntohs(m.port), 10);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	/* Same address, other port; other address: dropped. */
	n = pb_udp(b, A("203.0.113.10"), 54, m.addr, ntohs(m.port), 10);
	assert_int_equal(xl(e, b, n), XL_DROP);
	n = pb_udp(b, A("203.0.113.11"), 53, m.addr, ntohs(m.port), 10);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_FILTERED], 2);
	assert_int_equal(e->st.translated_in, 1);
	/* Once the host has sent there, that remote is allowed too. */
	udp_out(e, "10.1.0.10", 5000, "203.0.113.11", 53);
	n = pb_udp(b, A("203.0.113.11"), 53, m.addr, ntohs(m.port), 10);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	/* Permissions expire with the binding's timeout. */
	e->x.now = NOW0 + 300;
	n = pb_udp(b, A("203.0.113.11"), 53, m.addr, ntohs(m.port), 10);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_FILTERED], 3);
}

static void test_filtering_adf(void **state)
{
	struct env *e = *state;
	struct endpoint m = udp_out(e, "10.1.0.10", 5000, "203.0.113.10", 53);
	uint8_t b[PB_MAX];
	size_t n;

	n = pb_udp(b, A("203.0.113.10"), 9999, m.addr, ntohs(m.port), 10);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	n = pb_udp(b, A("203.0.113.11"), 53, m.addr, ntohs(m.port), 10);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_FILTERED], 1);
}

/* ---- twice-NAT ---- */

static const struct realm_def twice_realms[] = {
	{ .name = "A", .prefixes = { "10.1.0.0/24" }, .nat_to = { "B" },
	  .pool = { "10.1.0.200/31" }, .port_lo = 20000, .port_hi = 29999 },
	{ .name = "B", .prefixes = { "10.20.0.0/24" }, .nat_to = { "A" },
	  .pool = { "10.20.0.200/32" }, .port_lo = 30000, .port_hi = 39999 },
};

static int setup_twice(void **state)
{
	*state = env_new(twice_realms, 2, FILTER_EIF, 1024, POOL_F_PARITY);
	return 0;
}

static void test_twice_nat(void **state)
{
	struct env *e = *state;
	struct pool *pa = e->rs.realms[0].pool, *pb = e->rs.realms[1].pool;
	uint8_t b[PB_MAX];
	size_t n;
	int err = 0;
	struct endpoint qa;

	assert_int_equal(realm_classify(&e->rs, A("10.1.0.200")), 0);
	assert_int_equal(realm_classify(&e->rs, A("10.20.0.200")), 1);
	/* b1 in B is published in A as 10.1.0.200:25060. */
	assert_int_equal(pool_reserve(pa, POOL_UDP, EP("10.1.0.200", 25060)), 0);
	assert_non_null(bind_insert(e->bt, BIND_STATIC, IPPROTO_UDP, 1, EP("10.20.0.10", 5060), 0,
				    EP("10.1.0.200", 25060), NOW0, &err));
	/* a1 -> b1's address in A: both addresses change. */
	n = pb_udp(b, A("10.1.0.10"), 5000, A("10.1.0.200"), 25060, 40);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.20.0.10"));
	assert_int_equal(pb_dport(b), 5060);
	assert_int_equal(pb_src(b), A("10.20.0.200"));
	assert_true(pb_sport(b) >= 30000 && pb_sport(b) <= 39999);
	assert_int_equal(pb_sport(b) & 1, 0);
	assert_csums(b, n, false);
	qa.addr = pb_src(b);
	qa.port = htons(pb_sport(b));
	assert_true(pool_in_use(pb, POOL_UDP, qa));
	assert_int_equal(e->st.translated_in, 1);
	assert_int_equal(e->st.translated_out, 1);
	/* b1 answers a1's address in B: both change back. */
	n = pb_udp(b, A("10.20.0.10"), 5060, qa.addr, ntohs(qa.port), 41);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_src(b), A("10.1.0.200"));
	assert_int_equal(pb_sport(b), 25060);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_int_equal(pb_dport(b), 5000);
	assert_csums(b, n, false);
	assert_int_equal(bind_count(e->bt), 2);
	assert_int_equal(e->st.hairpinned, 0);
	/* A router in B reports a1's datagram unreachable: a1 gets the error
	 * from b1's address in A, quoting exactly what a1 sent. */
	{
		uint8_t orig[PB_MAX], sent[PB_MAX];
		size_t on = pb_udp(orig, A("10.1.0.10"), 5000, A("10.1.0.200"), 25060, 12);

		memcpy(sent, orig, on);
		assert_int_equal(xl(e, sent, on), XL_FORWARD);
		n = pb_icmp_error(b, A("10.20.0.1"), pb_src(sent), 3, 1, sent, on);
		assert_int_equal(xl(e, b, n), XL_FORWARD);
		assert_int_equal(pb_dst(b), A("10.1.0.10"));
		assert_int_equal(pb_src(b), A("10.1.0.200"));
		assert_memory_equal(b + 28, orig, on);
		assert_csums(b, n, false);
	}
	/* TCP across too, with a dynamic binding of b2 into A first. */
	n = pb_tcp(b, A("10.20.0.11"), 44444, A("10.1.0.10"), 80, PB_SYN, 0);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_true(pool_has_addr(pa, pb_src(b)));
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_csums(b, n, false);
}

/* ---- fragments ---- */

/* Cut pkt into fragments of the given L4 payload sizes (multiples of 8
 * except the last). Returns the count. */
static size_t cut(const uint8_t *pkt, size_t n, const size_t *sizes, size_t nsizes,
		  uint8_t out[][PB_MAX], size_t *lens)
{
	size_t off = 0, i, l4 = n - pb_ihl(pkt);

	for (i = 0; i < nsizes && off < l4; i++) {
		size_t len = sizes[i] < l4 - off ? sizes[i] : l4 - off;

		lens[i] = pb_fragment(out[i], pkt, off, len, off + len < l4);
		off += len;
	}
	return i;
}

static void test_fragments_in_order(void **state)
{
	struct env *e = *state;
	uint8_t whole[PB_MAX], ref[PB_MAX], fr[4][PB_MAX], re[PB_MAX];
	uint8_t *fp[4];
	size_t lens[4], sizes[] = { 504, 400, 200, 400 }, nf, n, i, rn;

	n = pb_udp(whole, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 1200);
	nf = cut(whole, n, sizes, 4, fr, lens);
	assert_int_equal(nf, 4);
	for (i = 0; i < nf; i++) {
		assert_int_equal(xl(e, fr[i], lens[i]), XL_FORWARD);
		assert_true(pb_ip_csum_ok(fr[i]));
		assert_true(pool_has_addr(outside_pool(e), pb_src(fr[i])));
		assert_int_equal(pb_dst(fr[i]), A("203.0.113.10"));
		fp[i] = fr[i];
	}
	assert_int_equal(e->nemit, 0);
	assert_int_equal(e->st.frags_translated, 4);
	/* Reassembled, it is the translation of the whole datagram. */
	rn = pb_reassemble(re, fp, lens, nf);
	assert_int_equal(rn, n);
	assert_true(pb_l4_csum_ok(re, rn, false));
	memcpy(ref, whole, n);
	bind_remove(e->bt, bind_lookup_in(e->bt, IPPROTO_UDP, R_INSIDE, EP("10.1.0.10", 5000),
					  R_OUTSIDE));
	pool_release(outside_pool(e), POOL_UDP, (struct endpoint){ pb_src(re),
								    htons(pb_sport(re)) });
	assert_int_equal(xl(e, ref, n), XL_FORWARD);
	assert_memory_equal(re + 20, ref + 20, n - 20);
	assert_int_equal(pb_src(re), pb_src(ref));
}

static void test_fragments_out_of_order(void **state)
{
	struct env *e = *state;
	uint8_t whole[PB_MAX], fr[4][PB_MAX], re[PB_MAX];
	uint8_t *fp[4];
	size_t lens[4], sizes[] = { 304, 304, 304, 400 }, nf, n, rn, i;
	uint32_t ext_addr;

	n = pb_udp(whole, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 1000);
	nf = cut(whole, n, sizes, 4, fr, lens);
	assert_int_equal(nf, 4);
	/* Last, then the middle ones: all held. */
	assert_int_equal(xl(e, fr[3], lens[3]), XL_HELD);
	assert_int_equal(xl(e, fr[1], lens[1]), XL_HELD);
	assert_int_equal(xl(e, fr[2], lens[2]), XL_HELD);
	assert_int_equal(frag_held(e->ft), 3);
	assert_int_equal(e->st.frags_buffered, 3);
	assert_int_equal(e->nemit, 0);
	assert_int_equal(bind_count(e->bt), 0);
	/* The first arrives: it is translated and the held ones come out
	 * through the emit callback, translated. */
	assert_int_equal(xl(e, fr[0], lens[0]), XL_FORWARD);
	ext_addr = pb_src(fr[0]);
	assert_true(pool_has_addr(outside_pool(e), ext_addr));
	assert_int_equal(e->nemit, 3);
	assert_int_equal(frag_held(e->ft), 0);
	fp[0] = fr[0];
	for (i = 0; i < 3; i++) {
		assert_int_equal(pb_src(e->emit_buf[i]), ext_addr);
		assert_int_equal(pb_dst(e->emit_buf[i]), A("203.0.113.10"));
		assert_true(pb_ip_csum_ok(e->emit_buf[i]));
		fp[i + 1] = e->emit_buf[i];
		lens[i + 1] = e->emit_len[i];
	}
	rn = pb_reassemble(re, fp, lens, 4);
	assert_int_equal(rn, n);
	assert_true(pb_l4_csum_ok(re, rn, false));
	assert_int_equal(pb_sport(re), pb_sport(fr[0]));
	assert_memory_equal(re + 28, whole + 28, n - 28);
	assert_int_equal(e->st.frags_translated, 4);
}

static void test_fragments_inbound(void **state)
{
	struct env *e = *state;
	struct endpoint m = udp_out(e, "10.1.0.10", 5000, "203.0.113.10", 53);
	uint8_t whole[PB_MAX], fr[3][PB_MAX], re[PB_MAX];
	uint8_t *fp[3];
	size_t lens[3], sizes[] = { 200, 200, 200 }, nf, n, rn, i;

	n = pb_udp(whole, A("203.0.113.10"), 53, m.addr, ntohs(m.port), 500);
	nf = cut(whole, n, sizes, 3, fr, lens);
	assert_int_equal(nf, 3);
	assert_int_equal(xl(e, fr[2], lens[2]), XL_HELD);
	assert_int_equal(xl(e, fr[0], lens[0]), XL_FORWARD);
	assert_int_equal(e->nemit, 1);
	assert_int_equal(xl(e, fr[1], lens[1]), XL_FORWARD);
	fp[0] = fr[0];
	fp[1] = fr[1];
	fp[2] = e->emit_buf[0];
	lens[2] = e->emit_len[0];
	for (i = 0; i < 3; i++) {
		assert_int_equal(pb_dst(fp[i]), A("10.1.0.10"));
		assert_int_equal(pb_src(fp[i]), A("203.0.113.10"));
		assert_true(pb_ip_csum_ok(fp[i]));
	}
	rn = pb_reassemble(re, fp, lens, 3);
	assert_int_equal(rn, n);
	assert_int_equal(pb_dport(re), 5000);
	assert_true(pb_l4_csum_ok(re, rn, false));
}

static void test_fragments_icmp_echo(void **state)
{
	/* A big ping, fragmented: the id in the first fragment is translated
	 * and the ICMP checksum over the whole message stays right. */
	struct env *e = *state;
	uint8_t whole[PB_MAX], fr[3][PB_MAX], re[PB_MAX];
	uint8_t *fp[3];
	size_t lens[3], sizes[] = { 600, 600, 600 }, nf, n, rn, i;

	n = pb_icmp_echo(whole, A("10.1.0.10"), A("203.0.113.10"), 8, 77, 9, 1400);
	nf = cut(whole, n, sizes, 3, fr, lens);
	assert_int_equal(nf, 3);
	for (i = 0; i < nf; i++) {
		assert_int_equal(xl(e, fr[i], lens[i]), XL_FORWARD);
		fp[i] = fr[i];
	}
	rn = pb_reassemble(re, fp, lens, nf);
	assert_int_equal(rn, n);
	assert_true(pool_has_addr(outside_pool(e), pb_src(re)));
	assert_int_not_equal(pb_sport(re), 77);
	assert_true(pb_l4_csum_ok(re, rn, false));
	assert_memory_equal(re + 26, whole + 26, n - 26); /* sequence and data */
}

static void test_fragments_unknown_and_slots(void **state)
{
	/* Non-first fragments whose first never comes: held up to the slot
	 * limit, then dropped as no-slot; the table has no binding. */
	struct env *e = *state;
	uint8_t whole[PB_MAX], f[PB_MAX];
	size_t fl;
	unsigned i;

	for (i = 0; i < 5; i++) {
		pb_udp(whole, A("10.1.0.10"), (uint16_t)(5000 + i), A("203.0.113.10"), 53, 100);
		pb_set_u16(whole + 4, (uint16_t)(100 + i)); /* distinct datagrams */
		pb_fix_ip_csum(whole);
		fl = pb_fragment(f, whole, 64, 44, false);
		assert_int_equal(xl(e, f, fl), i < 4 ? XL_HELD : XL_DROP);
	}
	assert_int_equal(e->st.dropped[DROP_FRAG_NOSLOT], 1);
	assert_int_equal(frag_held(e->ft), 4);
	assert_int_equal(bind_count(e->bt), 0);
	/* After the fragment timeout they are gone. */
	assert_int_equal(frag_expire(e->ft, NOW0 + 2), 4);
}

/* ---- malformed and unroutable ---- */

static void test_malformed_dropped(void **state)
{
	struct env *e = *state;
	uint8_t b[PB_MAX], good[PB_MAX];
	size_t gn = pb_udp(good, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 20);
	struct {
		size_t n;
		enum drop_reason why;
	} c;
	uint64_t total = 0;

#define CASE(edit, len, reason)                                          \
	do {                                                             \
		memcpy(b, good, gn);                                     \
		edit;                                                    \
		c.n = (len);                                             \
		c.why = (reason);                                        \
		assert_int_equal(xl(e, b, c.n), XL_DROP);                \
		assert_int_equal(e->st.dropped[c.why], 1);               \
		total++;                                                 \
		assert_int_equal(stats_dropped_total(&e->st), total);    \
	} while (0)

	CASE((void)0, 19, DROP_SHORT);
	CASE(b[0] = 0x65, gn, DROP_VERSION);
	CASE(b[0] = 0x44, gn, DROP_IHL);
	CASE(pb_set_u16(b + 2, (uint16_t)(gn + 1)), gn, DROP_TOTLEN);
	CASE((pb_set_u16(b + 2, 27), pb_set_u16(b + 24, 7)), 27, DROP_L4_SHORT);
	CASE(pb_set_u16(b + 24, (uint16_t)(gn - 20 + 2)), gn, DROP_UDP_LEN);
	CASE((b[9] = 47, pb_fix_ip_csum(b)), gn, DROP_PROTO);
#undef CASE
	/* A read that filled the buffer. */
	memcpy(b, good, gn);
	assert_int_equal(xlate_packet(&e->x, b, gn, gn), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_TRUNCATED], 1);
	/* None of them created anything. */
	assert_int_equal(bind_count(e->bt), 0);
	assert_int_equal(outside_pool(e)->inuse, 0);
	assert_int_equal(e->st.translated_out + e->st.translated_in, 0);
	/* And the good one still goes. */
	memcpy(b, good, gn);
	assert_int_equal(xl(e, b, gn), XL_FORWARD);
}

static void test_same_realm_dropped(void **state)
{
	struct env *e = *state;
	uint8_t b[PB_MAX];
	size_t n;

	n = pb_udp(b, A("10.1.0.10"), 5000, A("10.1.0.11"), 53, 4);
	assert_int_equal(xl(e, b, n), XL_DROP);
	n = pb_udp(b, A("203.0.113.10"), 5000, A("192.0.2.1"), 53, 4);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_SAME_REALM], 2);
	/* From outside straight to a private inside address: no binding. */
	n = pb_udp(b, A("203.0.113.10"), 5000, A("10.1.0.10"), 53, 4);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_NO_BINDING], 1);
	assert_int_equal(bind_count(e->bt), 0);
}

static const struct realm_def narrow_realms[] = {
	{ .name = "inside", .prefixes = { "10.1.0.0/24" }, .nat_to = { "outside" } },
	{ .name = "outside", .prefixes = { "203.0.113.0/24" },
	  .pool = { "198.51.100.1/32" }, .port_lo = 1024, .port_hi = 65535 },
};

static int setup_narrow(void **state)
{
	*state = env_new(narrow_realms, 2, FILTER_EIF, 1024, 0);
	return 0;
}

static void test_no_realm_dropped(void **state)
{
	struct env *e = *state;
	uint8_t b[PB_MAX];
	size_t n;

	n = pb_udp(b, A("192.0.2.1"), 5000, A("198.51.100.1"), 53, 4);
	assert_int_equal(xl(e, b, n), XL_DROP);
	n = pb_udp(b, A("10.1.0.10"), 5000, A("192.0.2.1"), 53, 4);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_NO_REALM], 2);
	assert_int_equal(bind_count(e->bt), 0);
	assert_int_equal(e->rs.realms[R_OUTSIDE].pool->inuse, 0);
	/* Within the realms it works. */
	n = pb_udp(b, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 4);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_src(b), A("198.51.100.1"));
}

/* ---- resources ---- */

static const struct realm_def tiny_realms[] = {
	{ .name = "inside", .prefixes = { "10.1.0.0/24" }, .nat_to = { "outside" } },
	{ .name = "outside", .prefixes = { "0.0.0.0/0" },
	  .pool = { "198.51.100.1/32" }, .port_lo = 1024, .port_hi = 1025 },
};

static int setup_tiny(void **state)
{
	*state = env_new(tiny_realms, 2, FILTER_EIF, 3, 0);
	return 0;
}

static void test_pool_exhausted_and_table_full(void **state)
{
	struct env *e = *state;
	uint8_t b[PB_MAX];
	size_t n;

	udp_out(e, "10.1.0.10", 5000, "203.0.113.10", 53);
	udp_out(e, "10.1.0.11", 5000, "203.0.113.10", 53);
	n = pb_udp(b, A("10.1.0.12"), 5000, A("203.0.113.10"), 53, 4);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_POOL_EXHAUSTED], 1);
	assert_int_equal(bind_count(e->bt), 2);
	/* TCP has its own ports; the table (3) fills first. */
	n = pb_tcp(b, A("10.1.0.10"), 5000, A("203.0.113.10"), 80, PB_SYN, 0);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	n = pb_tcp(b, A("10.1.0.11"), 5000, A("203.0.113.10"), 80, PB_SYN, 0);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_TABLE_FULL], 1);
	/* The port taken for the failed insert went back to the pool. */
	assert_int_equal(e->rs.realms[R_OUTSIDE].pool->inuse, 3);
	assert_int_equal(e->st.bindings_created, 3);
}

static void expire_release(struct binding *b, void *arg)
{
	xlate_release_binding(arg, b);
}

static void test_expiry_releases_port(void **state)
{
	struct env *e = *state;
	struct endpoint m1 = udp_out(e, "10.1.0.10", 5000, "203.0.113.10", 53);
	uint8_t b[PB_MAX];
	size_t n;

	udp_out(e, "10.1.0.11", 5000, "203.0.113.10", 53);
	assert_int_equal(e->rs.realms[R_OUTSIDE].pool->inuse, 2);
	assert_int_equal(bind_expire(e->bt, NOW0 + 300, expire_release, &e->x), 2);
	assert_int_equal(e->rs.realms[R_OUTSIDE].pool->inuse, 0);
	assert_false(pool_in_use(e->rs.realms[R_OUTSIDE].pool, POOL_UDP, m1));
	/* The old mapping is dead: a late reply is dropped. */
	e->x.now = NOW0 + 300;
	n = pb_udp(b, A("203.0.113.10"), 53, m1.addr, ntohs(m1.port), 4);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_NO_BINDING], 1);
	/* New hosts get the ports. */
	udp_out(e, "10.1.0.12", 5000, "203.0.113.10", 53);
	udp_out(e, "10.1.0.13", 5000, "203.0.113.10", 53);
}

static void test_ip_options_translated(void **state)
{
	struct env *e = *state;
	uint8_t u[PB_MAX], b[PB_MAX];
	size_t un = pb_udp(u, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 21), n = un + 8;

	/* IHL 7 with NOP options. */
	memcpy(b, u, 20);
	memset(b + 20, 0x01, 8);
	memcpy(b + 28, u + 20, un - 20);
	b[0] = 0x47;
	pb_set_u16(b + 2, (uint16_t)n);
	pb_fix_ip_csum(b);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_true(pool_has_addr(outside_pool(e), pb_src(b)));
	assert_int_equal(pb_ihl(b), 28);
	assert_csums(b, n, false);
	assert_memory_equal(b + 36, u + 28, un - 28); /* payload untouched */
	assert_int_equal(b[20], 0x01);
	assert_int_equal(b[27], 0x01);
}

/* ---- ICMP errors through the binding's filter (issue 11) ---- */

static void test_icmp_error_filtered_adf(void **state)
{
	/* Under address-dependent filtering an error about a flow reaches the
	 * inside host only from the remote the flow went to: a third host's
	 * forged port unreachable, or an error about a remote the host never
	 * sent to, is dropped and counted, and the flow goes on. Router-type
	 * errors from elsewhere pass only with icmp_errors_from_path. */
	struct env *e = *state;
	uint8_t sent[PB_MAX], b[PB_MAX], fake[PB_MAX], r[PB_MAX];
	size_t on = pb_udp(sent, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 60), n, fn;
	struct endpoint m;

	assert_int_equal(xl(e, sent, on), XL_FORWARD);
	m.addr = pb_src(sent);
	m.port = htons(pb_sport(sent));
	/* forged: a third host says the remote's port is unreachable */
	n = pb_icmp_error(b, A("203.0.113.66"), m.addr, 3, 3, sent, on);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_ICMP_FILTERED], 1);
	/* forged: fragmentation needed from a third host */
	n = pb_icmp_error(b, A("203.0.113.66"), m.addr, 3, 4, sent, on);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_ICMP_FILTERED], 2);
	/* forged: about a flow to the attacker itself, which the host never
	 * sent to, from the attacker */
	fn = pb_udp(fake, m.addr, ntohs(m.port), A("203.0.113.66"), 53, 60);
	n = pb_icmp_error(b, A("203.0.113.66"), m.addr, 3, 3, fake, fn);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_ICMP_FILTERED], 3);
	/* a router's time exceeded: refused by default ... */
	n = pb_icmp_error(b, A("192.0.2.254"), m.addr, 11, 0, sent, on);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_ICMP_FILTERED], 4);
	assert_int_equal(e->st.icmp_errors_translated, 0);
	/* ... taken with icmp_errors_from_path, which still refuses a port
	 * unreachable (only the remote itself sends one) and errors about
	 * remotes the host never sent to */
	e->x.icmp_errors_from_path = true;
	n = pb_icmp_error(b, A("192.0.2.254"), m.addr, 11, 0, sent, on);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	n = pb_icmp_error(b, A("203.0.113.66"), m.addr, 3, 3, sent, on);
	assert_int_equal(xl(e, b, n), XL_DROP);
	n = pb_icmp_error(b, A("192.0.2.254"), m.addr, 11, 0, fake, fn);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_ICMP_FILTERED], 6);
	e->x.icmp_errors_from_path = false;
	/* the remote's own port unreachable is genuine: it passes */
	n = pb_icmp_error(b, A("203.0.113.10"), m.addr, 3, 3, sent, on);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
	assert_csums(b, n, false);
	assert_int_equal(e->st.icmp_errors_translated, 2);
	/* the binding is intact and the remote's replies still come in */
	assert_int_equal(bind_count(e->bt), 1);
	n = pb_udp(r, A("203.0.113.10"), 53, m.addr, ntohs(m.port), 20);
	assert_int_equal(xl(e, r, n), XL_FORWARD);
	assert_int_equal(pb_dst(r), A("10.1.0.10"));
}

static void test_icmp_error_filtered_rules(void **state)
{
	/* A managed binding with a remote filter (what the SIP proxy makes
	 * for a call) under endpoint-independent filtering: only the remote
	 * the filter admits may report errors about it. An unfiltered
	 * dynamic binding beside it takes errors from anyone, as before. */
	struct env *e = *state;
	static struct bind_rules ru = { .nfilters = 1 };
	struct endpoint in = { A("10.1.0.20"), htons(6000) }, m = { A("198.51.100.2"), htons(7000) };
	uint8_t q[PB_MAX], b[PB_MAX];
	struct binding *bm;
	size_t qn, n;
	int err;

	ru.filters[0] = (struct rule_match){ A("203.0.113.10"), 0xffffffffu, 0, 65535 };
	bm = bind_insert(e->bt, BIND_MANAGED, IPPROTO_UDP, R_INSIDE, in, R_OUTSIDE, m, NOW0, &err);
	assert_non_null(bm);
	bm->rules = &ru;
	/* media M -> remote, as it left */
	qn = pb_udp(q, m.addr, 7000, A("203.0.113.10"), 4000, 40);
	n = pb_icmp_error(b, A("203.0.113.66"), m.addr, 3, 3, q, qn);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_ICMP_FILTERED], 1);
	qn = pb_udp(q, m.addr, 7000, A("203.0.113.66"), 4000, 40);
	n = pb_icmp_error(b, A("203.0.113.66"), m.addr, 3, 3, q, qn);
	assert_int_equal(xl(e, b, n), XL_DROP);
	assert_int_equal(e->st.dropped[DROP_ICMP_FILTERED], 2);
	qn = pb_udp(q, m.addr, 7000, A("203.0.113.10"), 4000, 40);
	n = pb_icmp_error(b, A("203.0.113.10"), m.addr, 3, 3, q, qn);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.20"));
	/* unfiltered (EIF dynamic): errors from a router pass as before */
	{
		uint8_t sent[PB_MAX];
		size_t on = pb_udp(sent, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 60);
		assert_int_equal(xl(e, sent, on), XL_FORWARD);
		n = pb_icmp_error(b, A("192.0.2.254"), pb_src(sent), 11, 0, sent, on);
		assert_int_equal(xl(e, b, n), XL_FORWARD);
	}
	assert_int_equal(e->st.dropped[DROP_ICMP_FILTERED], 2);
}

/* ---- fair shares (issue 11) ---- */

static void test_frag_flood_one_source(void **state)
{
	/* One outside source floods non-first fragments with ever new ids
	 * toward a mapping: it fills its own share of the held slots, is
	 * dropped and counted past it, and another source's out-of-order
	 * datagram is still held and released whole. */
	struct env *e = *state;
	struct endpoint m = udp_out(e, "10.1.0.10", 5000, "203.0.113.10", 53);
	uint8_t whole[PB_MAX], fr[3][PB_MAX], junk[PB_MAX];
	size_t lens[3], sizes[] = { 200, 200, 200 }, n, i;

	frag_set_shares(e->ft, 8, 2);
	for (i = 0; i < 20; i++) {
		uint8_t f[PB_MAX];
		size_t fl;

		pb_udp(junk, A("203.0.113.66"), 53, m.addr, ntohs(m.port), 500);
		pb_set_u16(junk + 4, (uint16_t)(0x4000 + i));
		pb_fix_ip_csum(junk);
		fl = pb_fragment(f, junk, 200, 200, true);
		assert_int_equal(xl(e, f, fl), i < 2 ? XL_HELD : XL_DROP);
	}
	assert_int_equal(e->st.dropped[DROP_FRAG_SOURCE], 18);
	assert_int_equal(frag_source_held(e->ft, R_OUTSIDE, A("203.0.113.66")), 2);
	n = pb_udp(whole, A("203.0.113.10"), 53, m.addr, ntohs(m.port), 500);
	assert_int_equal(cut(whole, n, sizes, 3, fr, lens), 3);
	assert_int_equal(xl(e, fr[2], lens[2]), XL_HELD);
	assert_int_equal(xl(e, fr[1], lens[1]), XL_HELD);
	assert_int_equal(xl(e, fr[0], lens[0]), XL_FORWARD);
	assert_int_equal(e->nemit, 2);
	assert_int_equal(pb_dst(e->emit_buf[0]), A("10.1.0.10"));
	assert_int_equal(frag_source_held(e->ft, R_OUTSIDE, A("203.0.113.10")), 0);
	/* without the share, the flood would have taken every slot */
	assert_int_equal(e->st.dropped[DROP_FRAG_NOSLOT], 0);
}

static void test_perm_share_one_host(void **state)
{
	/* Under dependent filtering, one inside host sending to a flood of
	 * remotes takes at most its share of the permission records (counted
	 * past it); another host's flows still get their replies. */
	struct env *e = *state;
	uint8_t b[PB_MAX];
	struct endpoint m2;
	size_t n;
	char r[32];

	bind_set_perm_per_host(e->bt, 16);
	for (unsigned i = 0; i < 40; i++) {
		snprintf(r, sizeof(r), "203.0.113.%u", 100 + i);
		udp_out(e, "10.1.0.66", 5000, r, 53);
	}
	assert_int_equal(bind_host_perms(e->bt, R_INSIDE, A("10.1.0.66")), 16);
	assert_int_equal(e->st.perms_host_quota, 24);
	/* the flooder's own 17th remote is refused its replies */
	{
		struct binding *bf = bind_lookup_in(e->bt, IPPROTO_UDP, R_INSIDE,
						    (struct endpoint){ A("10.1.0.66"), htons(5000) },
						    R_OUTSIDE);
		assert_non_null(bf);
		n = pb_udp(b, A("203.0.113.139"), 53, bf->ext.addr, ntohs(bf->ext.port), 20);
		assert_int_equal(xl(e, b, n), XL_DROP);
		assert_int_equal(e->st.dropped[DROP_FILTERED], 1);
	}
	/* the other host is not touched by the flooder's share */
	m2 = udp_out(e, "10.1.0.10", 6000, "203.0.113.10", 53);
	assert_int_equal(bind_host_perms(e->bt, R_INSIDE, A("10.1.0.10")), 1);
	n = pb_udp(b, A("203.0.113.10"), 53, m2.addr, ntohs(m2.port), 20);
	assert_int_equal(xl(e, b, n), XL_FORWARD);
	assert_int_equal(pb_dst(b), A("10.1.0.10"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_out_creates_binding, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_udp_out_parity_and_pairing, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_udp_zero_checksum_stays_zero, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_udp_checksum_becomes_ffff, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_udp_checksum_many_flows, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_udp_in_reply, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_in_unbound_pool_port_dropped, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_out_in, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_needs_syn, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_echo, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_echo_apdf_reply, setup_apdf, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_other_types_dropped, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_inbound, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_inbound_tcp_and_echo, setup_eif,
						teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_with_ip_options, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_outbound, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_bad, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_filtered_adf, setup_adf, teardown),
		cmocka_unit_test_setup_teardown(test_icmp_error_filtered_rules, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_frag_flood_one_source, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_perm_share_one_host, setup_adf, teardown),
		cmocka_unit_test_setup_teardown(test_hairpin, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_hairpin_tcp, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_hairpin_icmp_error, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_static_forward, setup_apdf, teardown),
		cmocka_unit_test_setup_teardown(test_filtering_apdf, setup_apdf, teardown),
		cmocka_unit_test_setup_teardown(test_filtering_adf, setup_adf, teardown),
		cmocka_unit_test_setup_teardown(test_twice_nat, setup_twice, teardown),
		cmocka_unit_test_setup_teardown(test_fragments_in_order, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_fragments_out_of_order, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_fragments_inbound, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_fragments_icmp_echo, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_fragments_unknown_and_slots, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_dropped, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_same_realm_dropped, setup_eif, teardown),
		cmocka_unit_test_setup_teardown(test_no_realm_dropped, setup_narrow, teardown),
		cmocka_unit_test_setup_teardown(test_pool_exhausted_and_table_full, setup_tiny,
						teardown),
		cmocka_unit_test_setup_teardown(test_expiry_releases_port, setup_tiny, teardown),
		cmocka_unit_test_setup_teardown(test_ip_options_translated, setup_eif, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
