/* Unit tests for frag.c: datagram records (lookup by every key field,
 * lifetime, capacity, re-recording) and held out-of-order fragments
 * (exact bytes back, per-key release, slot and size limits, expiry). */
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

#include "frag.h"
#include "hostcount.h"

#define T0 5000u
#define TMO 2u

/* The table of the running test: freed by the teardown even when an
 * assertion fails half-way. */
static struct frag_table *cur;

static int teardown(void **state)
{
	(void)state;
	frag_table_free(cur);
	cur = NULL;
	return 0;
}

static struct frag_table *new_table(uint32_t datagrams, uint32_t slots, uint32_t slot_bytes)
{
	struct frag_conf c = { .datagrams = datagrams, .slots = slots, .slot_bytes = slot_bytes,
			       .timeout = TMO };
	struct frag_table *t = frag_table_new(&c);

	assert_non_null(t);
	assert_null(cur); /* one table per test */
	cur = t;
	return t;
}

static struct frag_key key(uint32_t i)
{
	struct frag_key k = {
		.src = htonl(0x0a010000u + (i & 0xff)),
		.dst = htonl(0xcb007100u + ((i >> 8) & 0xff)),
		.id = htons((uint16_t)(0x1000 + i)),
		.proto = IPPROTO_UDP,
		.realm = 0,
	};

	return k;
}

static struct frag_xlat xl(uint32_t i)
{
	struct frag_xlat x = { .new_src = htonl(0xc6336400u + i), .new_dst = htonl(0xcb007100u + i) };

	return x;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7);
}

/* ---- records ---- */

static void test_new_rejects_zero(void **state)
{
	struct frag_conf c = { .datagrams = 0, .slots = 4, .slot_bytes = 100, .timeout = 2 };
	struct frag_table *t;

	(void)state;
	assert_null(frag_table_new(&c));
	/* No slots is allowed: out-of-order fragments are then never held. */
	c.datagrams = 4;
	c.slots = 0;
	t = frag_table_new(&c);
	assert_non_null(t);
	{
		uint8_t b[8] = { 0 };
		struct frag_key k = key(1);

		assert_int_equal(frag_hold(t, &k, b, sizeof(b), T0), -ENOSPC);
		assert_int_equal(frag_held(t), 0);
	}
	frag_table_free(t);
	frag_table_free(NULL);
}

static void test_record_lookup(void **state)
{
	struct frag_table *t = new_table(16, 4, 1500);
	struct frag_key k = key(1), o;
	struct frag_xlat x = xl(1);
	const struct frag_xlat *r;

	(void)state;
	assert_null(frag_lookup(t, &k, T0));
	assert_int_equal(frag_record(t, &k, &x, T0), 0);
	r = frag_lookup(t, &k, T0);
	assert_non_null(r);
	assert_int_equal(r->new_src, x.new_src);
	assert_int_equal(r->new_dst, x.new_dst);
	/* Every key field matters. */
	o = k;
	o.src ^= htonl(1);
	assert_null(frag_lookup(t, &o, T0));
	o = k;
	o.dst ^= htonl(1);
	assert_null(frag_lookup(t, &o, T0));
	o = k;
	o.id ^= htons(1);
	assert_null(frag_lookup(t, &o, T0));
	o = k;
	o.proto = IPPROTO_TCP;
	assert_null(frag_lookup(t, &o, T0));
	o = k;
	o.realm = 1;
	assert_null(frag_lookup(t, &o, T0));
}

static void test_record_many(void **state)
{
	struct frag_table *t = new_table(1024, 4, 1500);
	uint32_t i;

	(void)state;
	for (i = 0; i < 1024; i++) {
		struct frag_key k = key(i);
		struct frag_xlat x = xl(i);

		assert_int_equal(frag_record(t, &k, &x, T0), 0);
	}
	for (i = 0; i < 1024; i++) {
		struct frag_key k = key(i);
		const struct frag_xlat *r = frag_lookup(t, &k, T0 + 1);

		assert_non_null(r);
		assert_int_equal(r->new_src, xl(i).new_src);
		assert_int_equal(r->new_dst, xl(i).new_dst);
	}
}

static void test_record_lifetime(void **state)
{
	struct frag_table *t = new_table(16, 4, 1500);
	struct frag_key k = key(1);
	struct frag_xlat x = xl(1);

	(void)state;
	assert_int_equal(frag_record(t, &k, &x, T0), 0);
	assert_non_null(frag_lookup(t, &k, T0 + TMO - 1));
	assert_null(frag_lookup(t, &k, T0 + TMO));
	assert_int_equal(frag_expire(t, T0 + TMO), 0); /* no held fragments dropped */
	assert_null(frag_lookup(t, &k, T0 + TMO));
}

static void test_record_capacity(void **state)
{
	struct frag_table *t = new_table(4, 4, 1500);
	uint32_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		struct frag_key k = key(i);
		struct frag_xlat x = xl(i);

		assert_int_equal(frag_record(t, &k, &x, T0 + (i == 3)), 0);
	}
	{
		struct frag_key k = key(9);
		struct frag_xlat x = xl(9);

		/* Full of live records. */
		assert_int_equal(frag_record(t, &k, &x, T0 + 1), -ENOSPC);
		assert_null(frag_lookup(t, &k, T0 + 1));
		/* Once the oldest are past their time, a new one fits without an
		 * explicit expiry run, and the live one is kept. */
		assert_int_equal(frag_record(t, &k, &x, T0 + TMO), 0);
		assert_non_null(frag_lookup(t, &k, T0 + TMO));
		k = key(3);
		assert_non_null(frag_lookup(t, &k, T0 + TMO));
	}
	/* After expiry everything is free again. */
	frag_expire(t, T0 + 100);
	for (i = 10; i < 14; i++) {
		struct frag_key k = key(i);
		struct frag_xlat x = xl(i);

		assert_int_equal(frag_record(t, &k, &x, T0 + 100), 0);
	}
	for (i = 10; i < 14; i++) {
		struct frag_key k = key(i);

		assert_non_null(frag_lookup(t, &k, T0 + 100));
	}
}

static void test_record_ring_wraps(void **state)
{
	/* Many generations through a small ring: always the latest found. */
	struct frag_table *t = new_table(8, 1, 64);
	uint32_t gen, i, now = T0;

	(void)state;
	for (gen = 0; gen < 50; gen++, now += TMO) {
		frag_expire(t, now);
		for (i = 0; i < 8; i++) {
			struct frag_key k = key(gen * 8 + i);
			struct frag_xlat x = xl(gen * 8 + i);

			assert_int_equal(frag_record(t, &k, &x, now), 0);
		}
		for (i = 0; i < 8; i++) {
			struct frag_key k = key(gen * 8 + i);
			const struct frag_xlat *r = frag_lookup(t, &k, now);

			assert_non_null(r);
			assert_int_equal(r->new_src, xl(gen * 8 + i).new_src);
		}
		if (gen) {
			struct frag_key k = key((gen - 1) * 8);

			assert_null(frag_lookup(t, &k, now));
		}
	}
}

static void test_record_again_updates(void **state)
{
	/* A retransmitted first fragment re-records the same datagram. */
	struct frag_table *t = new_table(4, 4, 1500);
	struct frag_key k = key(1);
	struct frag_xlat x1 = xl(1), x2 = xl(2);
	const struct frag_xlat *r;

	(void)state;
	assert_int_equal(frag_record(t, &k, &x1, T0), 0);
	assert_int_equal(frag_record(t, &k, &x2, T0 + 1), 0);
	r = frag_lookup(t, &k, T0 + 1);
	assert_non_null(r);
	assert_int_equal(r->new_src, x2.new_src);
}

static void test_record_again_after_timeout(void **state)
{
	/* The same key recorded again once the old record timed out (IP id
	 * reuse, or a first fragment retransmitted late) but before an
	 * expiry pass ran: what was just recorded must be found. */
	struct frag_table *t = new_table(4, 4, 1500);
	struct frag_key k = key(1);
	struct frag_xlat x1 = xl(1), x2 = xl(2);
	const struct frag_xlat *r;

	(void)state;
	assert_int_equal(frag_record(t, &k, &x1, T0), 0);
	assert_int_equal(frag_record(t, &k, &x2, T0 + TMO), 0);
	r = frag_lookup(t, &k, T0 + TMO);
	assert_non_null(r);
	assert_int_equal(r->new_src, x2.new_src);
	assert_non_null(frag_lookup(t, &k, T0 + TMO + 1));
}

/* ---- held fragments ---- */

static void test_hold_release_exact_bytes(void **state)
{
	struct frag_table *t = new_table(8, 8, 1500);
	struct frag_key k1 = key(1), k2 = key(2);
	uint8_t a[100], b[1500], c[1], d[64], *r;
	size_t len = 0;

	(void)state;
	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	fill(c, sizeof(c), 3);
	fill(d, sizeof(d), 4);
	assert_null(frag_release(t, &k1, &len));
	assert_int_equal(frag_hold(t, &k1, a, sizeof(a), T0), 0);
	assert_int_equal(frag_hold(t, &k2, d, sizeof(d), T0), 0);
	assert_int_equal(frag_hold(t, &k1, b, sizeof(b), T0), 0); /* exactly slot_bytes */
	assert_int_equal(frag_hold(t, &k1, c, sizeof(c), T0), 0);
	assert_int_equal(frag_held(t), 4);
	/* The table holds copies: scribble over the originals. */
	memset(a, 0, sizeof(a));
	memset(b, 0xaa, sizeof(b));
	/* In the order they came. */
	r = frag_release(t, &k1, &len);
	assert_non_null(r);
	assert_int_equal(len, 100);
	fill(a, sizeof(a), 1);
	assert_memory_equal(r, a, 100);
	r = frag_release(t, &k1, &len);
	assert_non_null(r);
	assert_int_equal(len, 1500);
	fill(b, sizeof(b), 2);
	assert_memory_equal(r, b, 1500);
	r = frag_release(t, &k1, &len);
	assert_non_null(r);
	assert_int_equal(len, 1);
	assert_memory_equal(r, c, 1);
	assert_null(frag_release(t, &k1, &len));
	assert_int_equal(frag_held(t), 1);
	/* The other datagram's fragment was untouched. */
	r = frag_release(t, &k2, &len);
	assert_non_null(r);
	assert_int_equal(len, 64);
	assert_memory_equal(r, d, 64);
	assert_int_equal(frag_held(t), 0);
	assert_null(frag_release(t, &k2, &len));
}

static void test_hold_release_all_once(void **state)
{
	/* Interleaved holds of several datagrams with slots being reused:
	 * each datagram gets back exactly its own fragments, each once. */
	struct frag_table *t = new_table(8, 6, 32);
	uint8_t buf[32], *r;
	size_t len;
	unsigned round;

	(void)state;
	for (round = 0; round < 20; round++) {
		unsigned i, got[3] = { 0, 0, 0 }, seenmask[3] = { 0, 0, 0 };

		for (i = 0; i < 6; i++) {
			struct frag_key k = key(round * 3 + i % 3);

			buf[0] = (uint8_t)i;
			fill(buf + 1, sizeof(buf) - 1, round * 6 + i);
			assert_int_equal(frag_hold(t, &k, buf, 1 + i * 5, T0), 0);
		}
		assert_int_equal(frag_held(t), 6);
		for (i = 0; i < 3; i++) {
			struct frag_key k = key(round * 3 + i);

			while ((r = frag_release(t, &k, &len)) != NULL) {
				unsigned which = r[0];

				assert_true(which < 6);
				assert_int_equal(which % 3, i);
				assert_int_equal(len, 1 + which * 5);
				fill(buf + 1, sizeof(buf) - 1, round * 6 + which);
				assert_memory_equal(r + 1, buf + 1, len - 1);
				assert_false(seenmask[i] & (1u << which));
				seenmask[i] |= 1u << which;
				got[i]++;
			}
			assert_int_equal(got[i], 2);
		}
		assert_int_equal(frag_held(t), 0);
	}
}

static void test_hold_limits(void **state)
{
	struct frag_table *t = new_table(8, 3, 576);
	struct frag_key k = key(1), k2 = key(2);
	uint8_t buf[600] = { 0 };
	size_t len;

	(void)state;
	assert_int_equal(frag_hold(t, &k, buf, 577, T0), -EMSGSIZE);
	assert_int_equal(frag_held(t), 0);
	assert_int_equal(frag_hold(t, &k, buf, 576, T0), 0);
	assert_int_equal(frag_hold(t, &k, buf, 8, T0), 0);
	assert_int_equal(frag_hold(t, &k2, buf, 8, T0), 0);
	assert_int_equal(frag_hold(t, &k, buf, 8, T0), -ENOSPC);
	assert_int_equal(frag_hold(t, &k2, buf, 8, T0), -ENOSPC);
	/* Too big is reported as too big even when full. */
	assert_int_equal(frag_hold(t, &k, buf, 577, T0), -EMSGSIZE);
	assert_int_equal(frag_held(t), 3);
	/* Releasing one frees its slot. */
	assert_non_null(frag_release(t, &k2, &len));
	assert_int_equal(frag_hold(t, &k, buf, 8, T0), 0);
	assert_int_equal(frag_held(t), 3);
}

static void test_hold_expiry(void **state)
{
	struct frag_table *t = new_table(8, 4, 100);
	struct frag_key k = key(1), k2 = key(2);
	uint8_t buf[100] = { 0 };
	size_t len;

	(void)state;
	assert_int_equal(frag_hold(t, &k, buf, 10, T0), 0);
	assert_int_equal(frag_hold(t, &k, buf, 10, T0), 0);
	assert_int_equal(frag_hold(t, &k2, buf, 10, T0 + 1), 0);
	assert_int_equal(frag_expire(t, T0 + TMO - 1), 0);
	assert_int_equal(frag_held(t), 3);
	/* The two of k go first, k2 one second later. */
	assert_int_equal(frag_expire(t, T0 + TMO), 2);
	assert_int_equal(frag_held(t), 1);
	assert_null(frag_release(t, &k, &len));
	assert_int_equal(frag_expire(t, T0 + TMO + 1), 1);
	assert_int_equal(frag_held(t), 0);
	assert_null(frag_release(t, &k2, &len));
	/* Slots are usable again. */
	assert_int_equal(frag_hold(t, &k, buf, 10, T0 + 10), 0);
	assert_int_equal(frag_hold(t, &k, buf, 10, T0 + 10), 0);
	assert_int_equal(frag_hold(t, &k, buf, 10, T0 + 10), 0);
	assert_int_equal(frag_hold(t, &k, buf, 10, T0 + 10), 0);
	assert_int_equal(frag_hold(t, &k, buf, 10, T0 + 10), -ENOSPC);
}

static void test_expire_drops_records_and_held(void **state)
{
	struct frag_table *t = new_table(8, 4, 100);
	struct frag_key k = key(1), k2 = key(2);
	struct frag_xlat x = xl(1);
	uint8_t buf[16] = { 0 };

	(void)state;
	assert_int_equal(frag_record(t, &k, &x, T0), 0);
	assert_int_equal(frag_hold(t, &k2, buf, sizeof(buf), T0), 0);
	assert_int_equal(frag_expire(t, T0 + 100), 1);
	assert_null(frag_lookup(t, &k, T0 + 100));
	assert_int_equal(frag_held(t), 0);
}

/* ---- per-source shares (fragments.*_per_source) and hostcount ---- */

static struct frag_key src_key(const char *src, uint16_t id)
{
	struct frag_key k = { .src = inet_addr(src), .dst = inet_addr("198.51.100.1"),
			      .id = htons(id), .proto = IPPROTO_UDP, .realm = 1 };

	return k;
}

static void test_source_share_records(void **state)
{
	struct frag_table *t = new_table(16, 4, 100);
	struct frag_xlat x = xl(1);

	(void)state;
	frag_set_shares(t, 4, 0);
	for (uint16_t i = 0; i < 4; i++) {
		struct frag_key k = src_key("203.0.113.66", i);
		assert_int_equal(frag_record(t, &k, &x, T0), 0);
	}
	assert_int_equal(frag_source_records(t, 1, inet_addr("203.0.113.66")), 4);
	{
		struct frag_key k = src_key("203.0.113.66", 99);
		assert_int_equal(frag_record(t, &k, &x, T0), -EDQUOT);
		assert_null(frag_lookup(t, &k, T0));
		/* the same source in another realm is another source */
		k.realm = 0;
		assert_int_equal(frag_record(t, &k, &x, T0), 0);
		/* a retransmitted first fragment of a recorded datagram is fine */
		k = src_key("203.0.113.66", 2);
		assert_int_equal(frag_record(t, &k, &x, T0), 0);
		/* another source records as before */
		k = src_key("203.0.113.10", 1);
		assert_int_equal(frag_record(t, &k, &x, T0), 0);
		assert_non_null(frag_lookup(t, &k, T0));
	}
	/* expiry gives the share back */
	frag_expire(t, T0 + TMO);
	assert_int_equal(frag_source_records(t, 1, inet_addr("203.0.113.66")), 0);
	{
		struct frag_key k = src_key("203.0.113.66", 99);
		assert_int_equal(frag_record(t, &k, &x, T0 + TMO), 0);
	}
}

static void test_source_share_held(void **state)
{
	struct frag_table *t = new_table(16, 6, 100);
	uint8_t p[100];
	size_t len;

	(void)state;
	fill(p, sizeof(p), 3);
	frag_set_shares(t, 0, 2);
	for (uint16_t i = 0; i < 2; i++) {
		struct frag_key k = src_key("203.0.113.66", i);
		assert_int_equal(frag_hold(t, &k, p, 60, T0), 0);
	}
	for (uint16_t i = 2; i < 10; i++) {
		struct frag_key k = src_key("203.0.113.66", i);
		assert_int_equal(frag_hold(t, &k, p, 60, T0), -EDQUOT);
	}
	assert_int_equal(frag_source_held(t, 1, inet_addr("203.0.113.66")), 2);
	assert_int_equal(frag_held(t), 2);
	/* the other sources still have the slots the flood would have taken */
	for (int s = 0; s < 2; s++) {
		struct frag_key k = src_key(s ? "203.0.113.11" : "203.0.113.10", 7);
		assert_int_equal(frag_hold(t, &k, p, 60, T0), 0);
		assert_int_equal(frag_hold(t, &k, p, 60, T0), 0);
	}
	assert_int_equal(frag_held(t), 6);
	/* release and expiry give the share back */
	{
		struct frag_key k = src_key("203.0.113.66", 0);
		assert_non_null(frag_release(t, &k, &len));
		assert_int_equal(frag_source_held(t, 1, inet_addr("203.0.113.66")), 1);
	}
	assert_int_equal(frag_expire(t, T0 + TMO), 5);
	assert_int_equal(frag_source_held(t, 1, inet_addr("203.0.113.66")), 0);
	assert_int_equal(frag_source_held(t, 1, inet_addr("203.0.113.10")), 0);
}

/* hostcount against a plain array: random increments and decrements over
 * more addresses than fit at once, exact after every step (backward-shift
 * deletion keeps every probe run whole). */
static void test_hostcount_exact(void **state)
{
	enum { NADDR = 300, MAXH = 100 };
	static uint32_t ref[NADDR];
	struct hostcount *h = hc_new(MAXH);
	uint32_t seed = 12345, live = 0;

	(void)state;
	assert_non_null(h);
	memset(ref, 0, sizeof(ref));
	for (int step = 0; step < 200000; step++) {
		uint32_t i, a;
		seed = seed * 1103515245u + 12345u;
		i = (seed >> 8) % NADDR;
		a = htonl(0xcb007100u + i);
		if ((seed >> 4) & 1) {
			if (!ref[i] && live >= MAXH) {
				assert_int_equal(hc_inc(h, 1, a), -ENOSPC);
				continue;
			}
			assert_int_equal(hc_inc(h, 1, a), 0);
			live += !ref[i]++;
		} else {
			hc_dec(h, 1, a);
			if (ref[i])
				live -= !--ref[i];
		}
		assert_int_equal(hc_get(h, 1, a), ref[i]);
		if (step % 1000 == 0)
			for (uint32_t j = 0; j < NADDR; j++)
				assert_int_equal(hc_get(h, 1, htonl(0xcb007100u + j)), ref[j]);
	}
	assert_int_equal(hc_get(h, 2, htonl(0xcb007100u)), 0); /* realm is part of the key */
	hc_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_new_rejects_zero, teardown),
		cmocka_unit_test_teardown(test_source_share_records, teardown),
		cmocka_unit_test_teardown(test_source_share_held, teardown),
		cmocka_unit_test(test_hostcount_exact),
		cmocka_unit_test_teardown(test_record_lookup, teardown),
		cmocka_unit_test_teardown(test_record_many, teardown),
		cmocka_unit_test_teardown(test_record_lifetime, teardown),
		cmocka_unit_test_teardown(test_record_capacity, teardown),
		cmocka_unit_test_teardown(test_record_ring_wraps, teardown),
		cmocka_unit_test_teardown(test_record_again_updates, teardown),
		cmocka_unit_test_teardown(test_record_again_after_timeout, teardown),
		cmocka_unit_test_teardown(test_hold_release_exact_bytes, teardown),
		cmocka_unit_test_teardown(test_hold_release_all_once, teardown),
		cmocka_unit_test_teardown(test_hold_limits, teardown),
		cmocka_unit_test_teardown(test_hold_expiry, teardown),
		cmocka_unit_test_teardown(test_expire_drops_records_and_held, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
