/* Unit tests for csum.c: RFC 1071 sums against a byte-at-a-time reference
 * on odd lengths and odd offsets, RFC 1624 incremental updates against full
 * recomputation (random trials and the RFC's corner cases), the UDP zero
 * checksum rules, and a full incremental rewrite of an ICMP error's quoted
 * header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "csum.h"

/* ---- reference implementation (host-order result) ---- */

static uint16_t ref_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint64_t ref_sum(const uint8_t *p, size_t len, uint64_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint64_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint64_t)p[len - 1] << 8;
	return sum;
}

/* Complemented checksum in host order. */
static uint16_t ref_csum(const uint8_t *p, size_t len)
{
	return (uint16_t)~ref_fold(ref_sum(p, len, 0));
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Network-order 16-bit word as stored at p. */
static uint16_t raw16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint32_t raw32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void fill_random(uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)rand();
}

/* Reference pseudo-header L4 checksum (host order result). */
static uint16_t ref_l4(uint32_t saddr, uint32_t daddr, uint8_t proto, const uint8_t *l4,
		       size_t len)
{
	uint8_t ph[12];

	memcpy(ph, &saddr, 4);
	memcpy(ph + 4, &daddr, 4);
	ph[8] = 0;
	ph[9] = proto;
	put16(ph + 10, (uint16_t)len);
	return (uint16_t)~ref_fold(ref_sum(l4, len, ref_sum(ph, 12, 0)));
}

/* ---- csum_partial / csum_fold ---- */

static void test_fold_known(void **state)
{
	(void)state;
	assert_int_equal(csum_fold(0), 0xffff);
	assert_int_equal(csum_fold(0xffff), 0x0000);
	assert_int_equal(csum_fold(0x10000), 0xfffe);        /* 0x0001 after the carry */
	assert_int_equal(csum_fold(0xffffffffu), 0x0000);    /* two end-around carries */
	assert_int_equal(csum_fold(0x0001fffeu), 0x0000);    /* 0xfffe + 1 = 0xffff */
	assert_int_equal(csum_fold(0x1234), (uint16_t)~0x1234);
	assert_int_equal(csum_fold(0xfffeffffu), 0x0001);    /* 0xfffe+0xffff=0x1fffd -> 0xfffe */
}

static void test_fold_random(void **state)
{
	int i;

	(void)state;
	srand(1);
	for (i = 0; i < 100000; i++) {
		uint32_t s = (uint32_t)rand() << 17 ^ (uint32_t)rand() << 2 ^ (uint32_t)rand();

		assert_int_equal(csum_fold(s), (uint16_t)~ref_fold(s));
	}
}

static void test_partial_empty(void **state)
{
	uint8_t b[4] = { 0xde, 0xad, 0xbe, 0xef };

	(void)state;
	assert_int_equal(csum_fold(csum_partial(b, 0, 0)), 0xffff);
	/* An empty buffer leaves a folded initial sum alone. */
	assert_int_equal(csum_fold(csum_partial(b, 0, 0x1234)), (uint16_t)~0x1234);
	/* One byte counts as the high byte of a word (in memory order). */
	assert_int_equal(csum_fold(csum_partial(b, 1, 0)), htons((uint16_t)~0xde00));
	assert_int_equal(csum_fold(csum_partial(b, 3, 0)),
			 htons((uint16_t)~ref_fold(0xdead + 0xbe00)));
}

static void test_partial_known_ip_header(void **state)
{
	/* The classic example: 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7 */
	uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

	(void)state;
	assert_int_equal(csum_fold(csum_partial(h, 20, 0)), htons(0xb861));
	assert_int_equal(csum_ip4_header(h, 20), htons(0xb861));
	put16(h + 10, 0xb861);
	assert_int_equal(csum_ip4_header(h, 20), 0);
	assert_int_equal(csum_fold(csum_partial(h, 20, 0)), 0);
	/* A one-bit change must show. */
	h[8] ^= 1;
	assert_int_not_equal(csum_ip4_header(h, 20), 0);
}

static void test_partial_random_vs_reference(void **state)
{
	static uint8_t buf[4096 + 16];
	int trial;

	(void)state;
	srand(1);
	for (trial = 0; trial < 5000; trial++) {
		size_t off = (size_t)(rand() % 8);             /* odd and even starts */
		size_t len = (size_t)(rand() % 1600);
		uint16_t want;

		if (trial % 10 == 0)
			len = (size_t)(rand() % 4096);
		if (trial < 64)
			len = (size_t)trial;                   /* every small length */
		fill_random(buf, sizeof(buf));
		if (trial % 17 == 0)
			memset(buf + off, 0xff, len);          /* all-ones: carries everywhere */
		want = htons(ref_csum(buf + off, len));
		assert_int_equal(csum_fold(csum_partial(buf + off, len, 0)), want);
	}
}

static void test_partial_chaining(void **state)
{
	static uint8_t buf[3001];
	int trial;

	(void)state;
	srand(1);
	for (trial = 0; trial < 2000; trial++) {
		size_t len = (size_t)(rand() % 3000) + 1;
		size_t cut = ((size_t)rand() % len) & ~(size_t)1; /* even split point */
		uint32_t s;

		fill_random(buf, len);
		s = csum_partial(buf, cut, 0);
		s = csum_partial(buf + cut, len - cut, s);
		assert_int_equal(csum_fold(s), htons(ref_csum(buf, len)));
	}
}

static void test_partial_large_initial_sum(void **state)
{
	/* A caller may feed a big running sum (pseudo-header + several chunks);
	 * the result must still fold correctly. */
	uint8_t buf[64];
	int trial;

	(void)state;
	srand(1);
	for (trial = 0; trial < 2000; trial++) {
		uint32_t init = (uint32_t)rand() ^ (uint32_t)rand() << 16;
		uint64_t r;

		if (trial < 8)
			init = 0xffffffffu - (uint32_t)trial; /* the very top */
		fill_random(buf, sizeof(buf));
		/* init is a sum of memory-order words: byte-swap its 16-bit
		 * folded value for the host-order reference. */
		r = ntohs(ref_fold(init));
		assert_int_equal(csum_fold(csum_partial(buf, sizeof(buf), init)),
				 htons((uint16_t)~ref_fold(ref_sum(buf, sizeof(buf), r))));
	}
}

/* ---- csum_ip4_header / csum_l4_ip4 ---- */

static void test_ip4_header_with_options(void **state)
{
	uint8_t h[60];
	int trial;

	(void)state;
	srand(1);
	for (trial = 0; trial < 1000; trial++) {
		size_t hlen = (size_t)(5 + rand() % 11) * 4;
		uint16_t c;

		fill_random(h, sizeof(h));
		h[0] = (uint8_t)(0x40 | hlen / 4);
		put16(h + 10, 0);
		c = csum_ip4_header(h, hlen);
		assert_int_equal(c, htons(ref_csum(h, hlen)));
		memcpy(h + 10, &c, 2);
		assert_int_equal(csum_ip4_header(h, hlen), 0);
	}
}

static void test_l4_known_udp(void **state)
{
	/* 192.168.0.1:1024 -> 192.168.0.199:53, UDP, payload "abc" (odd).
	 * Pseudo: c0a8 0001 c0a8 00c7 0011 000b
	 * UDP:    0400 0035 000b 0000 6162 6300
	 * sum = c0a8+0001+c0a8+00c7+0011+000b+0400+0035+000b+6162+6300
	 *     = 0x24ad6 -> 0x4ad8; checksum = ~0x4ad8 = 0xb527. */
	uint8_t u[11] = { 0x04, 0x00, 0x00, 0x35, 0x00, 0x0b, 0x00, 0x00, 'a', 'b', 'c' };
	uint32_t s = inet_addr("192.168.0.1"), d = inet_addr("192.168.0.199");
	uint16_t c;

	(void)state;
	c = csum_l4_ip4(s, d, IPPROTO_UDP, u, sizeof(u));
	assert_int_equal(c, htons(0xb527));
	assert_int_equal(ntohs(c), ref_l4(s, d, IPPROTO_UDP, u, sizeof(u)));
	memcpy(u + 6, &c, 2);
	assert_int_equal(csum_l4_ip4(s, d, IPPROTO_UDP, u, sizeof(u)), 0);
	/* The pseudo-header matters: another destination fails. */
	assert_int_not_equal(csum_l4_ip4(s, inet_addr("192.168.0.198"), IPPROTO_UDP, u,
					 sizeof(u)), 0);
	/* ...and so does the protocol. */
	assert_int_not_equal(csum_l4_ip4(s, d, IPPROTO_TCP, u, sizeof(u)), 0);
}

static void test_l4_random_vs_reference(void **state)
{
	static uint8_t buf[1600 + 8];
	int trial;

	(void)state;
	srand(1);
	for (trial = 0; trial < 3000; trial++) {
		size_t off = (size_t)(rand() % 4);
		size_t len = (size_t)(rand() % 1600);
		uint32_t s = (uint32_t)rand() ^ (uint32_t)rand() << 16;
		uint32_t d = (uint32_t)rand() ^ (uint32_t)rand() << 16;
		uint8_t proto = trial & 1 ? IPPROTO_UDP : IPPROTO_TCP;

		fill_random(buf, sizeof(buf));
		assert_int_equal(csum_l4_ip4(s, d, proto, buf + off, len),
				 htons(ref_l4(s, d, proto, buf + off, len)));
	}
}

/* ---- RFC 1624 incremental updates ---- */

static void test_update16_rfc1624_example(void **state)
{
	/* RFC 1624 section 4: HC = 0xDD2F, m = 0x5555 -> m' = 0x3285 gives
	 * 0x0000 (eqn. 2 wrongly gives 0xFFFF). */
	(void)state;
	assert_int_equal(csum_update16(htons(0xdd2f), htons(0x5555), htons(0x3285)), 0x0000);
	/* Reverse change goes back. */
	assert_int_equal(csum_update16(0x0000, htons(0x3285), htons(0x5555)), htons(0xdd2f));
	/* UDP flavour: a computed 0 goes on the wire as 0xffff. */
	assert_int_equal(csum_update16_udp(htons(0xdd2f), htons(0x5555), htons(0x3285)), 0xffff);
	/* ...and 0xffff is then a real checksum, updated like any other. */
	assert_int_equal(csum_update16_udp(0xffff, htons(0x3285), htons(0x5555)), htons(0xdd2f));
}

static void test_update_no_change(void **state)
{
	int i;

	(void)state;
	srand(1);
	for (i = 0; i < 1000; i++) {
		uint16_t c = (uint16_t)rand(), w = (uint16_t)rand();
		uint32_t a = (uint32_t)rand();

		if (c == 0xffff)
			continue; /* -0 may legitimately normalise to +0 */
		assert_int_equal(csum_update16(c, w, w), c);
		assert_int_equal(csum_update32(c, a, a), c);
	}
}

static void test_update_udp_zero_stays_zero(void **state)
{
	(void)state;
	assert_int_equal(csum_update16_udp(0, htons(1234), htons(4321)), 0);
	assert_int_equal(csum_update16_udp(0, 0, 0xffff), 0);
	assert_int_equal(csum_update32_udp(0, inet_addr("10.1.0.10"), inet_addr("198.51.100.1")),
			 0);
	/* A non-zero checksum is updated as usual. */
	assert_int_equal(csum_update16_udp(htons(0x1000), htons(0x0001), htons(0x0002)),
			 csum_update16(htons(0x1000), htons(0x0001), htons(0x0002)));
}

/* A buffer of random words with a fixed non-zero word at 0, so the data is
 * never all zero (where +0/-0 are both right and recomputation picks one). */
static void rand_words(uint8_t *b, size_t n)
{
	fill_random(b, n);
	put16(b, 0x4500);
}

static void test_update16_random_vs_recompute(void **state)
{
	uint8_t b[64];
	int trial;

	(void)state;
	srand(1);
	for (trial = 0; trial < 20000; trial++) {
		size_t n = 4 + 2 * (size_t)(rand() % 30);
		size_t at = 2 + 2 * (size_t)(rand() % (int)((n - 2) / 2)); /* even, not word 0 */
		uint16_t c, oldw, neww;

		rand_words(b, n);
		c = csum_fold(csum_partial(b, n, 0));
		oldw = raw16(b + at);
		switch (trial % 4) {
		case 0:
			neww = 0;
			break;
		case 1:
			neww = 0xffff;
			break;
		default:
			neww = (uint16_t)rand();
		}
		memcpy(b + at, &neww, 2);
		assert_int_equal(csum_update16(c, oldw, neww), csum_fold(csum_partial(b, n, 0)));
		assert_int_equal(csum_update16(c, oldw, neww), htons(ref_csum(b, n)));
	}
}

static void test_update32_random_vs_recompute(void **state)
{
	uint8_t b[64];
	int trial;

	(void)state;
	srand(1);
	for (trial = 0; trial < 20000; trial++) {
		size_t n = 8 + 2 * (size_t)(rand() % 28);
		size_t at = 2 + 2 * (size_t)(rand() % (int)((n - 4) / 2)); /* 16-bit aligned */
		uint16_t c;
		uint32_t oldw, neww = (uint32_t)rand() ^ (uint32_t)rand() << 16;

		rand_words(b, n);
		c = csum_fold(csum_partial(b, n, 0));
		oldw = raw32(b + at);
		if (trial % 5 == 0)
			neww = 0;
		memcpy(b + at, &neww, 4);
		assert_int_equal(csum_update32(c, oldw, neww), htons(ref_csum(b, n)));
	}
}

static void test_update_chain_many(void **state)
{
	/* Many successive updates must not drift from the true checksum. */
	uint8_t b[40];
	uint16_t c;
	int i;

	(void)state;
	srand(1);
	rand_words(b, sizeof(b));
	c = htons(ref_csum(b, sizeof(b)));
	for (i = 0; i < 10000; i++) {
		size_t at = 2 + 2 * (size_t)(rand() % 18);
		uint16_t oldw = raw16(b + at), neww = (uint16_t)rand();

		memcpy(b + at, &neww, 2);
		c = csum_update16(c, oldw, neww);
		assert_int_equal(c, htons(ref_csum(b, sizeof(b))));
	}
}

static void test_update_udp_random_vs_recompute(void **state)
{
	/* Whole UDP datagrams: change the source address and port as NAPT
	 * does; the _udp update must match a recomputation (mapped 0 ->
	 * 0xffff). */
	uint8_t u[200];
	int trial;

	(void)state;
	srand(1);
	for (trial = 0; trial < 20000; trial++) {
		size_t len = 8 + (size_t)(rand() % 192);
		uint32_t s = (uint32_t)rand() ^ (uint32_t)rand() << 16, d = (uint32_t)rand();
		uint32_t ns = (uint32_t)rand() ^ (uint32_t)rand() << 16;
		uint16_t np = (uint16_t)rand(), op, c, want;

		fill_random(u, len);
		put16(u + 4, (uint16_t)len);
		put16(u + 6, 0);
		c = htons(ref_l4(s, d, IPPROTO_UDP, u, len));
		if (c == 0)
			c = 0xffff;
		memcpy(u + 6, &c, 2);
		op = raw16(u);
		memcpy(u, &np, 2);
		c = csum_update32_udp(c, s, ns);
		c = csum_update16_udp(c, op, np);
		put16(u + 6, 0);
		want = htons(ref_l4(ns, d, IPPROTO_UDP, u, len));
		if (want == 0)
			want = 0xffff;
		assert_int_equal(c, want);
		assert_int_not_equal(c, 0);
	}
}

static void test_update_udp_computed_zero(void **state)
{
	/* Construct a datagram whose checksum after a port change is exactly
	 * 0 (recomputed): the _udp helper must give 0xffff, never 0. */
	uint8_t u[10];
	uint32_t s = inet_addr("10.0.0.1"), d = inet_addr("10.0.0.2");
	uint16_t c0, c1, oldp = htons(1000), newp;
	uint32_t sum_rest;
	uint16_t target;

	(void)state;
	memset(u, 0, sizeof(u));
	put16(u, 1000);
	put16(u + 2, 2000);
	put16(u + 4, sizeof(u));
	put16(u + 8, 0x1234);
	c0 = htons(ref_l4(s, d, IPPROTO_UDP, u, sizeof(u)));
	/* Pick the new source port so the total sum becomes 0xffff. */
	put16(u, 0);
	sum_rest = ref_fold(~(uint32_t)ref_l4(s, d, IPPROTO_UDP, u, sizeof(u)) & 0xffff);
	target = (uint16_t)(0xffff - sum_rest);
	put16(u, target);
	assert_int_equal(ref_l4(s, d, IPPROTO_UDP, u, sizeof(u)), 0);
	newp = htons(target);
	c1 = csum_update16_udp(c0, oldp, newp);
	assert_int_equal(c1, 0xffff);
	/* And the plain flavour is allowed to give either zero; a later update
	 * back must still give the original checksum. */
	assert_int_equal(csum_update16_udp(c1, newp, oldp), c0);
}

/* ---- ICMP error quoted header ---- */

struct icmp_err {
	uint8_t b[20 + 8 + 20 + 8 + 32];
	size_t len;
};

/* Outer IP 203.0.113.99 -> 198.51.100.1, ICMP 3/3 quoting a whole UDP
 * datagram 198.51.100.1:40000 -> 203.0.113.10:53 with 32 bytes payload. */
static void build_icmp_err(struct icmp_err *e, unsigned seed)
{
	uint8_t *ip = e->b, *ic = ip + 20, *qip = ic + 8, *qu = qip + 20;
	uint32_t qs = inet_addr("198.51.100.1"), qd = inet_addr("203.0.113.10");
	uint32_t os = inet_addr("203.0.113.99");
	uint16_t c;
	size_t i;

	e->len = sizeof(e->b);
	memset(e->b, 0, sizeof(e->b));
	/* quoted datagram */
	qip[0] = 0x45;
	put16(qip + 2, 20 + 8 + 32);
	put16(qip + 4, (uint16_t)(0x4242 + seed));
	qip[8] = 63;
	qip[9] = IPPROTO_UDP;
	memcpy(qip + 12, &qs, 4);
	memcpy(qip + 16, &qd, 4);
	c = htons(ref_csum(qip, 20));
	memcpy(qip + 10, &c, 2);
	put16(qu, 40000);
	put16(qu + 2, 53);
	put16(qu + 4, 8 + 32);
	for (i = 0; i < 32; i++)
		qu[8 + i] = (uint8_t)(seed * 13 + i * 3);
	c = htons(ref_l4(qs, qd, IPPROTO_UDP, qu, 8 + 32));
	memcpy(qu + 6, &c, 2);
	/* ICMP */
	ic[0] = 3;
	ic[1] = 3;
	c = htons(ref_csum(ic, e->len - 20));
	memcpy(ic + 2, &c, 2);
	/* outer IP */
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)e->len);
	ip[8] = 64;
	ip[9] = IPPROTO_ICMP;
	memcpy(ip + 12, &os, 4);
	memcpy(ip + 16, &qs, 4);
	c = htons(ref_csum(ip, 20));
	memcpy(ip + 10, &c, 2);
}

static void test_icmp_error_quoted_rewrite(void **state)
{
	struct icmp_err e;
	unsigned seed;

	(void)state;
	for (seed = 0; seed < 500; seed++) {
		uint8_t *ip = e.b, *ic = ip + 20, *qip = ic + 8, *qu = qip + 20;
		uint32_t new_q_src = inet_addr("10.1.0.10"), old_q_src, old_dst;
		uint32_t new_dst = new_q_src;
		uint16_t new_port = htons((uint16_t)(5000 + seed)), old_port;
		uint16_t old_qip_c, new_qip_c, old_qu_c, new_qu_c, icmp_c, ip_c;

		build_icmp_err(&e, seed);
		/* Sanity: everything valid before. */
		assert_int_equal(ref_csum(ip, 20), 0);
		assert_int_equal(ref_csum(ic, e.len - 20), 0);
		assert_int_equal(ref_csum(qip, 20), 0);
		assert_int_equal(ref_l4(raw32(qip + 12), raw32(qip + 16), IPPROTO_UDP, qu, 40), 0);

		/* Rewrite quoted source address and port, incrementally. */
		old_q_src = raw32(qip + 12);
		old_port = raw16(qu);
		old_qip_c = raw16(qip + 10);
		old_qu_c = raw16(qu + 6);
		memcpy(qip + 12, &new_q_src, 4);
		memcpy(qu, &new_port, 2);
		new_qip_c = csum_update32(old_qip_c, old_q_src, new_q_src);
		memcpy(qip + 10, &new_qip_c, 2);
		new_qu_c = csum_update32_udp(old_qu_c, old_q_src, new_q_src);
		new_qu_c = csum_update16_udp(new_qu_c, old_port, new_port);
		memcpy(qu + 6, &new_qu_c, 2);
		/* The ICMP checksum covers all the bytes changed above. */
		icmp_c = raw16(ic + 2);
		icmp_c = csum_update32(icmp_c, old_q_src, new_q_src);
		icmp_c = csum_update16(icmp_c, old_port, new_port);
		icmp_c = csum_update16(icmp_c, old_qip_c, new_qip_c);
		icmp_c = csum_update16(icmp_c, old_qu_c, new_qu_c);
		memcpy(ic + 2, &icmp_c, 2);
		/* Outer destination follows. */
		old_dst = raw32(ip + 16);
		memcpy(ip + 16, &new_dst, 4);
		ip_c = csum_update32(raw16(ip + 10), old_dst, new_dst);
		memcpy(ip + 10, &ip_c, 2);

		/* Verify every checksum by full recomputation. */
		assert_int_equal(csum_ip4_header(ip, 20), 0);
		assert_int_equal(ref_csum(ip, 20), 0);
		assert_int_equal(csum_ip4_header(qip, 20), 0);
		assert_int_equal(ref_l4(new_q_src, raw32(qip + 16), IPPROTO_UDP, qu, 40), 0);
		assert_int_equal(csum_l4_ip4(new_q_src, raw32(qip + 16), IPPROTO_UDP, qu, 40), 0);
		assert_int_equal(csum_fold(csum_partial(ic, e.len - 20, 0)), 0);
		assert_int_equal(ref_csum(ic, e.len - 20), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold_known),
		cmocka_unit_test(test_fold_random),
		cmocka_unit_test(test_partial_empty),
		cmocka_unit_test(test_partial_known_ip_header),
		cmocka_unit_test(test_partial_random_vs_reference),
		cmocka_unit_test(test_partial_chaining),
		cmocka_unit_test(test_partial_large_initial_sum),
		cmocka_unit_test(test_ip4_header_with_options),
		cmocka_unit_test(test_l4_known_udp),
		cmocka_unit_test(test_l4_random_vs_reference),
		cmocka_unit_test(test_update16_rfc1624_example),
		cmocka_unit_test(test_update_no_change),
		cmocka_unit_test(test_update_udp_zero_stays_zero),
		cmocka_unit_test(test_update16_random_vs_recompute),
		cmocka_unit_test(test_update32_random_vs_recompute),
		cmocka_unit_test(test_update_chain_many),
		cmocka_unit_test(test_update_udp_random_vs_recompute),
		cmocka_unit_test(test_update_udp_computed_zero),
		cmocka_unit_test(test_icmp_error_quoted_rewrite),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
