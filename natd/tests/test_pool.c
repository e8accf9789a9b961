/* Unit tests for pool.c: allocation inside the port range, parity,
 * preservation, exact address/port requests, RTP/RTCP pairs, exhaustion and
 * reuse of a tiny range, paired pooling (one internal host -> one external
 * address), reservations for static forwards, and protocol independence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

static uint32_t A(const char *s)
{
	return inet_addr(s);
}

static struct endpoint EP(const char *a, uint16_t port)
{
	struct endpoint e = { .addr = inet_addr(a), .port = htons(port) };

	return e;
}

static struct pool *new_pool(unsigned naddrs, uint16_t lo, uint16_t hi)
{
	uint32_t addrs[16];
	unsigned i;
	struct pool *p;

	assert_true(naddrs <= 16);
	for (i = 0; i < naddrs; i++)
		addrs[i] = htonl(0xc6336401u + i); /* 198.51.100.1 + i */
	p = pool_new(addrs, naddrs, lo, hi);
	assert_non_null(p);
	return p;
}

static void test_new_and_has_addr(void **state)
{
	uint32_t addrs[2] = { A("198.51.100.1"), A("198.51.100.7") };
	struct pool *p;

	(void)state;
	p = pool_new(addrs, 2, 1024, 65535);
	assert_non_null(p);
	assert_true(pool_has_addr(p, A("198.51.100.1")));
	assert_true(pool_has_addr(p, A("198.51.100.7")));
	assert_false(pool_has_addr(p, A("198.51.100.2")));
	assert_false(pool_has_addr(p, 0));
	/* The pool keeps its own copy of the addresses. */
	addrs[0] = A("192.0.2.1");
	assert_true(pool_has_addr(p, A("198.51.100.1")));
	assert_false(pool_has_addr(p, A("192.0.2.1")));
	assert_int_equal(p->inuse, 0);
	pool_free(p);
	/* Degenerate pools are refused. */
	assert_null(pool_new(addrs, 0, 1024, 65535));
	assert_null(pool_new(addrs, 1, 2000, 1999));
	/* A single-port pool is fine. */
	p = pool_new(addrs, 1, 2000, 2000);
	assert_non_null(p);
	pool_free(p);
	pool_free(NULL);
}

static void test_proto_of(void **state)
{
	(void)state;
	assert_int_equal(pool_proto_of(IPPROTO_UDP), POOL_UDP);
	assert_int_equal(pool_proto_of(IPPROTO_TCP), POOL_TCP);
	assert_int_equal(pool_proto_of(IPPROTO_ICMP), POOL_ICMP);
	assert_int_equal(pool_proto_of(47), -1);
	assert_int_equal(pool_proto_of(0), -1);
	assert_int_equal(pool_proto_of(255), -1);
}

static void test_alloc_in_range(void **state)
{
	struct pool *p = new_pool(2, 20000, 20999);
	int i;
	static bool seen[2][1000];

	(void)state;
	memset(seen, 0, sizeof(seen));
	srand(1);
	for (i = 0; i < 1000; i++) {
		struct endpoint e;
		uint16_t port;

		/* Two internal hosts; the range is exactly 1000 ports per address. */
		assert_int_equal(pool_alloc(p, POOL_UDP, A(i & 1 ? "10.1.0.10" : "10.1.0.11"), 0,
					    htons((uint16_t)rand()), 0, &e), 0);
		port = ntohs(e.port);
		assert_true(port >= 20000 && port <= 20999);
		assert_true(pool_has_addr(p, e.addr));
		assert_true(pool_in_use(p, POOL_UDP, e));
		assert_false(pool_in_use(p, POOL_TCP, e));
		/* Never the same endpoint twice. */
		{
			unsigned ai = e.addr == A("198.51.100.1") ? 0 : 1;

			assert_false(seen[ai][port - 20000]);
			seen[ai][port - 20000] = true;
		}
		assert_int_equal(p->inuse, (unsigned)i + 1);
	}
	pool_free(p);
}

static void test_alloc_unique_until_exhausted(void **state)
{
	/* 1 address x 64 ports: 64 distinct allocations, then failure. */
	struct pool *p = new_pool(1, 3000, 3063);
	bool seen[64] = { false };
	struct endpoint e;
	int i;

	(void)state;
	for (i = 0; i < 64; i++) {
		unsigned port;

		assert_int_equal(pool_alloc(p, POOL_TCP, A("10.1.0.10"), 0, 0, 0, &e), 0);
		port = ntohs(e.port);
		assert_true(port >= 3000 && port <= 3063);
		assert_false(seen[port - 3000]);
		seen[port - 3000] = true;
	}
	assert_int_equal(pool_alloc(p, POOL_TCP, A("10.1.0.10"), 0, 0, 0, &e), -EADDRNOTAVAIL);
	assert_int_equal(pool_alloc(p, POOL_TCP, A("10.1.0.99"), 0, 0, 0, &e), -EADDRNOTAVAIL);
	assert_int_equal(p->inuse, 64);
	pool_free(p);
}

static void test_alloc_range_not_word_aligned(void **state)
{
	/* A range straddling 64-bit words, with odd bounds: every port in it
	 * and none outside. */
	struct pool *p = new_pool(1, 1021, 1155);
	unsigned count = 0;
	struct endpoint e;

	(void)state;
	while (pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &e) == 0) {
		unsigned port = ntohs(e.port);

		assert_true(port >= 1021 && port <= 1155);
		count++;
		assert_true(count <= 135);
	}
	assert_int_equal(count, 1155 - 1021 + 1);
	pool_free(p);
	/* Top of the port space. */
	p = new_pool(1, 65530, 65535);
	count = 0;
	while (pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &e) == 0) {
		assert_true(ntohs(e.port) >= 65530);
		count++;
		assert_true(count <= 6);
	}
	assert_int_equal(count, 6);
	pool_free(p);
}

static void test_alloc_randomised(void **state)
{
	/* RFC 6056: successive ports are not simply sequential. */
	struct pool *p = new_pool(1, 1024, 65535);
	unsigned i, sequential = 0, prev = 0;

	(void)state;
	for (i = 0; i < 50; i++) {
		struct endpoint e;

		assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &e), 0);
		if (i && ntohs(e.port) == prev + 1)
			sequential++;
		prev = ntohs(e.port);
	}
	assert_true(sequential < 25);
	pool_free(p);
}

static void test_parity(void **state)
{
	struct pool *p = new_pool(2, 1024, 65535);
	int i;

	(void)state;
	srand(1);
	for (i = 0; i < 2000; i++) {
		uint16_t want = (uint16_t)(1024 + rand() % 60000);
		struct endpoint e;

		assert_int_equal(pool_alloc(p, POOL_UDP, htonl(0x0a010000u + (uint32_t)(i % 50)), 0,
					    htons(want), POOL_F_PARITY, &e), 0);
		assert_int_equal(ntohs(e.port) & 1, want & 1);
	}
	pool_free(p);
}

static void test_parity_exhaustion(void **state)
{
	/* Ports 1000-1003: two even ports. Parity is a preference (RFC 4787
	 * REQ-4): once the even ones are gone an odd one is better than no
	 * mapping; an RTP pair (POOL_F_PAIR) never falls back. */
	struct pool *p = new_pool(1, 1000, 1003);
	struct endpoint e, a, b;

	(void)state;
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(4000), POOL_F_PARITY, &a), 0);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(4000), POOL_F_PARITY, &b), 0);
	assert_int_equal(ntohs(a.port) & 1, 0);
	assert_int_equal(ntohs(b.port) & 1, 0);
	assert_int_not_equal(a.port, b.port);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(4000), POOL_F_PAIR, &e),
			 -EADDRNOTAVAIL);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(4000), POOL_F_PARITY, &e), 0);
	assert_int_equal(ntohs(e.port) & 1, 1);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(4001), POOL_F_PARITY, &e), 0);
	assert_int_equal(ntohs(e.port) & 1, 1);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(4001), POOL_F_PARITY, &e),
			 -EADDRNOTAVAIL);
	pool_free(p);
}

static void test_preservation(void **state)
{
	struct pool *p = new_pool(1, 1024, 65535);
	struct endpoint e, e2;

	(void)state;
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(5060),
				    POOL_F_PRESERVE, &e), 0);
	assert_int_equal(ntohs(e.port), 5060);
	assert_int_equal(e.addr, A("198.51.100.1"));
	/* Taken now: another host gets another port (same parity if asked). */
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.11"), 0, htons(5060),
				    POOL_F_PRESERVE | POOL_F_PARITY, &e2), 0);
	assert_int_not_equal(ntohs(e2.port), 5060);
	assert_int_equal(ntohs(e2.port) & 1, 0);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.11"), 0, htons(5061),
				    POOL_F_PRESERVE | POOL_F_PARITY, &e2), 0);
	assert_int_equal(ntohs(e2.port), 5061);
	/* Out of range: preservation cannot apply, allocation still works. */
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(80),
				    POOL_F_PRESERVE | POOL_F_PARITY, &e2), 0);
	assert_true(ntohs(e2.port) >= 1024);
	assert_int_equal(ntohs(e2.port) & 1, 0);
	/* Same port, other protocol: free. */
	assert_int_equal(pool_alloc(p, POOL_TCP, A("10.1.0.10"), 0, htons(5060),
				    POOL_F_PRESERVE, &e2), 0);
	assert_int_equal(ntohs(e2.port), 5060);
	pool_free(p);
}

static void test_exact_port_and_addr(void **state)
{
	struct pool *p = new_pool(3, 1024, 65535);
	struct endpoint e;

	(void)state;
	/* Exact address + exact port. */
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), A("198.51.100.2"), htons(40000),
				    POOL_F_EXACT_ADDR | POOL_F_EXACT_PORT, &e), 0);
	assert_int_equal(e.addr, A("198.51.100.2"));
	assert_int_equal(ntohs(e.port), 40000);
	/* The same again: prefer failure. */
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), A("198.51.100.2"), htons(40000),
				    POOL_F_EXACT_ADDR | POOL_F_EXACT_PORT, &e), -EADDRNOTAVAIL);
	/* Exact port but any address: another address has 40000 free. */
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(40000),
				    POOL_F_EXACT_PORT, &e), 0);
	assert_int_equal(ntohs(e.port), 40000);
	assert_int_not_equal(e.addr, A("198.51.100.2"));
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(40000),
				    POOL_F_EXACT_PORT, &e), 0);
	assert_int_equal(ntohs(e.port), 40000);
	/* All three addresses have it now. */
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(40000),
				    POOL_F_EXACT_PORT, &e), -EADDRNOTAVAIL);
	/* Exact address not in the pool. */
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), A("203.0.113.1"), 0,
				    POOL_F_EXACT_ADDR, &e), -EADDRNOTAVAIL);
	/* Exact address, any port. */
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), A("198.51.100.3"), 0,
				    POOL_F_EXACT_ADDR, &e), 0);
	assert_int_equal(e.addr, A("198.51.100.3"));
	/* Exact port outside the range. */
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(1023),
				    POOL_F_EXACT_PORT, &e), -EADDRNOTAVAIL);
	assert_int_equal(p->inuse, 4);
	pool_free(p);
}

static void test_exact_addr_exhausted(void **state)
{
	/* Exact address whose ports are gone: no fallback to another address. */
	struct pool *p = new_pool(2, 1000, 1001);
	struct endpoint e;

	(void)state;
	assert_int_equal(pool_alloc(p, POOL_UDP, 1, A("198.51.100.1"), 0, POOL_F_EXACT_ADDR, &e), 0);
	assert_int_equal(pool_alloc(p, POOL_UDP, 1, A("198.51.100.1"), 0, POOL_F_EXACT_ADDR, &e), 0);
	assert_int_equal(pool_alloc(p, POOL_UDP, 1, A("198.51.100.1"), 0, POOL_F_EXACT_ADDR, &e),
			 -EADDRNOTAVAIL);
	assert_int_equal(pool_alloc(p, POOL_UDP, 1, A("198.51.100.2"), 0, POOL_F_EXACT_ADDR, &e), 0);
	assert_int_equal(e.addr, A("198.51.100.2"));
	pool_free(p);
}

static void test_exhaust_release_reuse(void **state)
{
	struct pool *p = new_pool(1, 1000, 1003);
	struct endpoint e[4], x;
	unsigned mask = 0;
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &e[i]), 0);
		mask |= 1u << (ntohs(e[i].port) - 1000);
	}
	assert_int_equal(mask, 0xf);
	assert_int_equal(p->inuse, 4);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &x), -EADDRNOTAVAIL);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(1001), POOL_F_PRESERVE,
				    &x), -EADDRNOTAVAIL);
	/* Release 1002: it is the only one left and comes back. */
	pool_release(p, POOL_UDP, EP("198.51.100.1", 1002));
	assert_int_equal(p->inuse, 3);
	assert_false(pool_in_use(p, POOL_UDP, EP("198.51.100.1", 1002)));
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.77"), 0, 0, 0, &x), 0);
	assert_int_equal(ntohs(x.port), 1002);
	assert_int_equal(x.addr, A("198.51.100.1"));
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &x), -EADDRNOTAVAIL);
	/* Double release and foreign release are no-ops for the count. */
	pool_release(p, POOL_UDP, EP("198.51.100.1", 1000));
	pool_release(p, POOL_UDP, EP("198.51.100.1", 1000));
	pool_release(p, POOL_UDP, EP("198.51.100.9", 1001));
	pool_release(p, POOL_UDP, EP("198.51.100.1", 999));
	pool_release(p, POOL_TCP, EP("198.51.100.1", 1001));
	assert_int_equal(p->inuse, 3);
	assert_true(pool_in_use(p, POOL_UDP, EP("198.51.100.1", 1001)));
	/* Release everything; all four come back. */
	pool_release(p, POOL_UDP, EP("198.51.100.1", 1001));
	pool_release(p, POOL_UDP, EP("198.51.100.1", 1002));
	pool_release(p, POOL_UDP, EP("198.51.100.1", 1003));
	assert_int_equal(p->inuse, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &e[i]), 0);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &x), -EADDRNOTAVAIL);
	pool_free(p);
}

static void test_protocols_independent(void **state)
{
	struct pool *p = new_pool(1, 1000, 1003);
	struct endpoint e;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &e), 0);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &e), -EADDRNOTAVAIL);
	for (i = 0; i < 4; i++)
		assert_int_equal(pool_alloc(p, POOL_TCP, A("10.1.0.10"), 0, 0, 0, &e), 0);
	assert_int_equal(pool_alloc(p, POOL_TCP, A("10.1.0.10"), 0, 0, 0, &e), -EADDRNOTAVAIL);
	assert_int_equal(pool_reserve(p, POOL_ICMP, EP("198.51.100.1", 1001)), 0);
	assert_true(pool_in_use(p, POOL_ICMP, EP("198.51.100.1", 1001)));
	assert_false(pool_in_use(p, POOL_ICMP, EP("198.51.100.1", 1000)));
	for (i = 0; i < 3; i++)
		assert_int_equal(pool_alloc(p, POOL_ICMP, A("10.1.0.10"), 0, 0, 0, &e), 0);
	assert_int_equal(pool_alloc(p, POOL_ICMP, A("10.1.0.10"), 0, 0, 0, &e), -EADDRNOTAVAIL);
	pool_release(p, POOL_TCP, EP("198.51.100.1", 1003));
	assert_true(pool_in_use(p, POOL_UDP, EP("198.51.100.1", 1003)));
	assert_true(pool_in_use(p, POOL_ICMP, EP("198.51.100.1", 1003)));
	assert_false(pool_in_use(p, POOL_TCP, EP("198.51.100.1", 1003)));
	pool_free(p);
}

static void test_paired_pooling(void **state)
{
	/* RFC 4787 REQ-2: every mapping of one internal host uses the same
	 * external address; different hosts spread over the addresses. */
	struct pool *p = new_pool(8, 1024, 65535);
	uint32_t first[64];
	unsigned used_mask = 0;
	int h, k;

	(void)state;
	for (h = 0; h < 64; h++) {
		for (k = 0; k < 20; k++) {
			struct endpoint e;
			uint32_t in = htonl(0x0a010000u + (uint32_t)h);
			enum pool_proto pr = (enum pool_proto)(k % POOL_NPROTO);

			assert_int_equal(pool_alloc(p, pr, in, 0, htons((uint16_t)(1024 + k)),
						    (k & 1) ? POOL_F_PRESERVE : 0, &e), 0);
			if (k == 0)
				first[h] = e.addr;
			assert_int_equal(e.addr, first[h]);
		}
		used_mask |= 1u << (ntohl(first[h]) - 0xc6336401u);
	}
	/* 64 hosts over 8 addresses: more than one address must be in use. */
	assert_true(__builtin_popcount(used_mask) > 1);
	pool_free(p);
}

static void test_paired_pooling_overflow(void **state)
{
	/* When the host's own address is full, another one is used rather
	 * than failing (the pairing is a preference). */
	struct pool *p = new_pool(2, 1000, 1001);
	struct endpoint e[4], x;
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &e[i]), 0);
	assert_int_equal(e[0].addr, e[1].addr);
	assert_int_equal(e[2].addr, e[3].addr);
	assert_int_not_equal(e[0].addr, e[2].addr);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &x), -EADDRNOTAVAIL);
	pool_free(p);
}

static void test_pair_rtp_rtcp(void **state)
{
	struct pool *p = new_pool(1, 1000, 1003);
	struct endpoint a, b, x;

	(void)state;
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, POOL_F_PAIR, &a), 0);
	assert_int_equal(ntohs(a.port) & 1, 0);
	assert_true(pool_in_use(p, POOL_UDP, a));
	x = a;
	x.port = htons((uint16_t)(ntohs(a.port) + 1));
	assert_true(pool_in_use(p, POOL_UDP, x));
	assert_int_equal(p->inuse, 2);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, POOL_F_PAIR, &b), 0);
	assert_int_equal(ntohs(b.port) & 1, 0);
	assert_int_not_equal(a.port, b.port);
	assert_int_equal(p->inuse, 4);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, POOL_F_PAIR, &x),
			 -EADDRNOTAVAIL);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &x), -EADDRNOTAVAIL);
	pool_free(p);

	/* An even port whose odd neighbour is taken cannot start a pair. */
	p = new_pool(1, 1000, 1003);
	assert_int_equal(pool_reserve(p, POOL_UDP, EP("198.51.100.1", 1001)), 0);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(1000),
				    POOL_F_PAIR | POOL_F_PRESERVE, &a), 0);
	assert_int_equal(ntohs(a.port), 1002);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(1000),
				    POOL_F_PAIR | POOL_F_PRESERVE, &a), -EADDRNOTAVAIL);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, 0, &a), 0);
	assert_int_equal(ntohs(a.port), 1000);
	pool_free(p);

	/* The top of the range: an even last port has no neighbour. */
	p = new_pool(1, 1000, 1002);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, POOL_F_PAIR, &a), 0);
	assert_int_equal(ntohs(a.port), 1000);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, 0, POOL_F_PAIR, &a),
			 -EADDRNOTAVAIL);
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), 0, htons(1002),
				    POOL_F_PAIR | POOL_F_EXACT_PORT, &a), -EADDRNOTAVAIL);
	pool_free(p);
}

static void test_reserve(void **state)
{
	struct pool *p = new_pool(2, 1024, 65535);
	struct endpoint e;

	(void)state;
	assert_int_equal(pool_reserve(p, POOL_UDP, EP("198.51.100.1", 5060)), 0);
	assert_true(pool_in_use(p, POOL_UDP, EP("198.51.100.1", 5060)));
	assert_int_equal(p->inuse, 1);
	assert_int_equal(pool_reserve(p, POOL_UDP, EP("198.51.100.1", 5060)), -EEXIST);
	assert_int_equal(p->inuse, 1);
	/* Other address, other protocol: independent. */
	assert_int_equal(pool_reserve(p, POOL_UDP, EP("198.51.100.2", 5060)), 0);
	assert_int_equal(pool_reserve(p, POOL_TCP, EP("198.51.100.1", 5060)), 0);
	/* Not in the pool, or outside the range. */
	assert_int_equal(pool_reserve(p, POOL_UDP, EP("198.51.100.3", 5060)), -ENOENT);
	assert_int_equal(pool_reserve(p, POOL_UDP, EP("198.51.100.1", 1023)), -ENOENT);
	assert_int_equal(pool_reserve(p, POOL_UDP, EP("198.51.100.1", 0)), -ENOENT);
	assert_int_equal(p->inuse, 3);
	/* A reserved endpoint is never handed out. */
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), A("198.51.100.1"), htons(5060),
				    POOL_F_EXACT_ADDR | POOL_F_EXACT_PORT, &e), -EADDRNOTAVAIL);
	/* An allocated one cannot be reserved. */
	assert_int_equal(pool_alloc(p, POOL_UDP, A("10.1.0.10"), A("198.51.100.1"), htons(6000),
				    POOL_F_EXACT_ADDR | POOL_F_EXACT_PORT, &e), 0);
	assert_int_equal(pool_reserve(p, POOL_UDP, e), -EEXIST);
	/* Released, it can. */
	pool_release(p, POOL_UDP, e);
	assert_int_equal(pool_reserve(p, POOL_UDP, e), 0);
	pool_free(p);
}

static void test_reserve_blocks_random_alloc(void **state)
{
	/* Reserve all but one port of a small range: alloc must find it. */
	struct pool *p = new_pool(1, 2000, 2199);
	struct endpoint e;
	unsigned port;

	(void)state;
	for (port = 2000; port <= 2199; port++)
		if (port != 2137)
			assert_int_equal(pool_reserve(p, POOL_TCP, EP("198.51.100.1", (uint16_t)port)), 0);
	assert_int_equal(pool_alloc(p, POOL_TCP, A("10.1.0.10"), 0, 0, 0, &e), 0);
	assert_int_equal(ntohs(e.port), 2137);
	assert_int_equal(pool_alloc(p, POOL_TCP, A("10.1.0.10"), 0, 0, 0, &e), -EADDRNOTAVAIL);
	pool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_has_addr),
		cmocka_unit_test(test_proto_of),
		cmocka_unit_test(test_alloc_in_range),
		cmocka_unit_test(test_alloc_unique_until_exhausted),
		cmocka_unit_test(test_alloc_range_not_word_aligned),
		cmocka_unit_test(test_alloc_randomised),
		cmocka_unit_test(test_parity),
		cmocka_unit_test(test_parity_exhaustion),
		cmocka_unit_test(test_preservation),
		cmocka_unit_test(test_exact_port_and_addr),
		cmocka_unit_test(test_exact_addr_exhausted),
		cmocka_unit_test(test_exhaust_release_reuse),
		cmocka_unit_test(test_protocols_independent),
		cmocka_unit_test(test_paired_pooling),
		cmocka_unit_test(test_paired_pooling_overflow),
		cmocka_unit_test(test_pair_rtp_rtcp),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_reserve_blocks_random_alloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
