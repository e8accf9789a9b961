/* Unit tests for binding.c: both hash indexes, capacity, removal and
 * reuse, the expiry wheel (UDP/ICMP idle timeouts to the second, touches,
 * static and managed bindings, TCP state moving a binding between timeout
 * classes), the expiry callback, RFC 4787 filtering permissions, and
 * iteration/counters. */
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

#include "binding.h"

#define T0 1000u
#define TO_UDP 300u
#define TO_EST 7440u
#define TO_TRANS 240u
#define TO_ICMP 60u

#define R_IN 0
#define R_OUT 1

static struct endpoint EP(const char *a, uint16_t port)
{
	struct endpoint e = { .addr = inet_addr(a), .port = htons(port) };

	return e;
}

/* 10.1.x.y:port for index i (distinct for i < 65536 * 100). */
static struct endpoint in_ep(uint32_t i)
{
	struct endpoint e = { .addr = htonl(0x0a010000u + (i >> 10)),
			      .port = htons((uint16_t)(1024 + (i & 1023))) };

	return e;
}

static struct endpoint ext_ep(uint32_t i)
{
	struct endpoint e = { .addr = htonl(0xc6336400u + (i >> 14)),
			      .port = htons((uint16_t)(1024 + (i & 16383))) };

	return e;
}

static struct bind_table *new_table(uint32_t cap, uint32_t perms, enum bind_filtering f)
{
	struct bind_conf c = {
		.capacity = cap,
		.perm_capacity = perms,
		.timeout = { [BT_UDP] = TO_UDP, [BT_TCP_EST] = TO_EST, [BT_TCP_TRANS] = TO_TRANS,
			     [BT_ICMP] = TO_ICMP },
		.filtering = f,
	};
	struct bind_table *t = bind_table_new(&c, T0);

	assert_non_null(t);
	return t;
}

static struct binding *ins(struct bind_table *t, enum bind_kind k, uint8_t proto,
			   struct endpoint in, struct endpoint ext, uint32_t now)
{
	int err = 12345;
	struct binding *b = bind_insert(t, k, proto, R_IN, in, R_OUT, ext, now, &err);

	assert_non_null(b);
	return b;
}

static int ins_err(struct bind_table *t, enum bind_kind k, uint8_t proto, uint8_t in_realm,
		   struct endpoint in, uint8_t ext_realm, struct endpoint ext)
{
	int err = 0;

	assert_null(bind_insert(t, k, proto, in_realm, in, ext_realm, ext, T0, &err));
	return err;
}

/* Expiry callback recording what it saw. */
struct exp_log {
	unsigned calls;
	uint32_t ids[64];
	struct endpoint in[64];
};

static void exp_cb(struct binding *b, void *arg)
{
	struct exp_log *l = arg;

	/* The binding is still intact when the callback runs. */
	assert_true(b->kind < BIND_NKIND);
	if (l->calls < 64) {
		l->ids[l->calls] = b->id;
		l->in[l->calls] = b->in;
	}
	l->calls++;
}

/* Advance second by second from *now to until (exclusive), asserting that
 * nothing expires on the way. */
static void advance_quiet(struct bind_table *t, uint32_t *now, uint32_t until,
			  struct exp_log *l)
{
	while (*now + 1 < until) {
		(*now)++;
		assert_int_equal(bind_expire(t, *now, exp_cb, l), 0);
	}
}

/* ---- table basics ---- */

static void test_new_rejects_zero_capacity(void **state)
{
	struct bind_conf c = { .capacity = 0, .perm_capacity = 4 };
	struct bind_table *t;

	(void)state;
	assert_null(bind_table_new(&c, T0));
	t = new_table(7, 0, FILTER_EIF);
	assert_int_equal(bind_capacity(t), 7);
	assert_int_equal(bind_count(t), 0);
	assert_true(bind_memory(t) >= 7 * sizeof(struct binding));
	bind_table_free(t);
	bind_table_free(NULL);
}

static void test_insert_lookup_both_sides(void **state)
{
	struct bind_table *t = new_table(16, 16, FILTER_EIF);
	struct endpoint in = EP("10.1.0.10", 5000), ext = EP("198.51.100.1", 40000);
	struct binding *b;
	int err = 0;

	(void)state;
	b = bind_insert(t, BIND_DYNAMIC, IPPROTO_UDP, R_IN, in, R_OUT, ext, T0, &err);
	assert_non_null(b);
	assert_true(ep_eq(b->in, in));
	assert_true(ep_eq(b->ext, ext));
	assert_int_equal(b->in_realm, R_IN);
	assert_int_equal(b->ext_realm, R_OUT);
	assert_int_equal(b->proto, IPPROTO_UDP);
	assert_int_equal(b->kind, BIND_DYNAMIC);
	assert_int_equal(b->last_used, T0);
	assert_int_equal(b->tcp, 0);
	assert_int_equal(b->pkts_out + b->pkts_in + b->bytes_out + b->bytes_in, 0);
	assert_int_not_equal(b->id, 0);
	assert_ptr_equal(bind_lookup_in(t, IPPROTO_UDP, R_IN, in, R_OUT), b);
	assert_ptr_equal(bind_lookup_ext(t, IPPROTO_UDP, R_OUT, ext), b);
	assert_int_equal(bind_count(t), 1);
	assert_int_equal(bind_count_kind(t, BIND_DYNAMIC), 1);
	assert_int_equal(bind_count_kind(t, BIND_STATIC), 0);
	/* Every part of each key matters. */
	assert_null(bind_lookup_in(t, IPPROTO_TCP, R_IN, in, R_OUT));
	assert_null(bind_lookup_in(t, IPPROTO_UDP, 2, in, R_OUT));
	assert_null(bind_lookup_in(t, IPPROTO_UDP, R_IN, in, 2));
	assert_null(bind_lookup_in(t, IPPROTO_UDP, R_IN, EP("10.1.0.10", 5001), R_OUT));
	assert_null(bind_lookup_in(t, IPPROTO_UDP, R_IN, EP("10.1.0.11", 5000), R_OUT));
	assert_null(bind_lookup_ext(t, IPPROTO_TCP, R_OUT, ext));
	assert_null(bind_lookup_ext(t, IPPROTO_UDP, R_IN, ext));
	assert_null(bind_lookup_ext(t, IPPROTO_UDP, R_OUT, EP("198.51.100.1", 40001)));
	assert_null(bind_lookup_ext(t, IPPROTO_UDP, R_OUT, EP("198.51.100.2", 40000)));
	/* The in endpoint is not an ext key and vice versa. */
	assert_null(bind_lookup_ext(t, IPPROTO_UDP, R_IN, in));
	assert_null(bind_lookup_in(t, IPPROTO_UDP, R_OUT, ext, R_IN));
	bind_table_free(t);
}

static void test_insert_eexist(void **state)
{
	struct bind_table *t = new_table(16, 16, FILTER_EIF);
	struct endpoint in = EP("10.1.0.10", 5000), ext = EP("198.51.100.1", 40000);
	struct binding *b;

	(void)state;
	b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in, ext, T0);
	/* Same in-side key, other ext. */
	assert_int_equal(ins_err(t, BIND_DYNAMIC, IPPROTO_UDP, R_IN, in, R_OUT,
				 EP("198.51.100.1", 40001)), -EEXIST);
	/* Same ext-side key, other in. */
	assert_int_equal(ins_err(t, BIND_STATIC, IPPROTO_UDP, R_IN, EP("10.1.0.11", 5000), R_OUT,
				 ext), -EEXIST);
	/* Same ext, in from another realm: still the same ext key. */
	assert_int_equal(ins_err(t, BIND_DYNAMIC, IPPROTO_UDP, 3, EP("10.1.0.11", 5000), R_OUT,
				 ext), -EEXIST);
	assert_int_equal(bind_count(t), 1);
	/* Other protocol, same endpoints: a different binding. */
	assert_non_null(ins(t, BIND_DYNAMIC, IPPROTO_TCP, in, ext, T0));
	/* Same in toward another ext realm, with an ext endpoint there. */
	{
		int err = 0;

		assert_non_null(bind_insert(t, BIND_DYNAMIC, IPPROTO_UDP, R_IN, in, 2, ext, T0,
					    &err));
	}
	assert_int_equal(bind_count(t), 3);
	assert_ptr_equal(bind_lookup_in(t, IPPROTO_UDP, R_IN, in, R_OUT), b);
	bind_table_free(t);
}

static void test_capacity_enospc(void **state)
{
	struct bind_table *t = new_table(4, 0, FILTER_EIF);
	struct binding *b[4];
	uint32_t i;

	(void)state;
	for (i = 0; i < 4; i++)
		b[i] = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(i), ext_ep(i), T0);
	assert_int_equal(ins_err(t, BIND_DYNAMIC, IPPROTO_UDP, R_IN, in_ep(9), R_OUT, ext_ep(9)),
			 -ENOSPC);
	/* A duplicate on a full table is still a duplicate. */
	assert_int_equal(ins_err(t, BIND_DYNAMIC, IPPROTO_UDP, R_IN, in_ep(0), R_OUT, ext_ep(9)),
			 -EEXIST);
	bind_remove(t, b[2]);
	assert_int_equal(bind_count(t), 3);
	b[2] = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(9), ext_ep(9), T0);
	assert_int_equal(ins_err(t, BIND_DYNAMIC, IPPROTO_UDP, R_IN, in_ep(10), R_OUT, ext_ep(10)),
			 -ENOSPC);
	assert_int_equal(bind_count(t), 4);
	bind_table_free(t);
}

static void test_remove_and_reinsert(void **state)
{
	struct bind_table *t = new_table(8, 8, FILTER_EIF);
	struct endpoint in = EP("10.1.0.10", 5000), ext = EP("198.51.100.1", 40000);
	struct binding *b, *o;
	uint32_t id1;

	(void)state;
	o = ins(t, BIND_DYNAMIC, IPPROTO_UDP, EP("10.1.0.20", 1), EP("198.51.100.1", 2), T0);
	b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in, ext, T0);
	id1 = b->id;
	bind_remove(t, b);
	assert_null(bind_lookup_in(t, IPPROTO_UDP, R_IN, in, R_OUT));
	assert_null(bind_lookup_ext(t, IPPROTO_UDP, R_OUT, ext));
	assert_int_equal(bind_count(t), 1);
	assert_int_equal(bind_count_kind(t, BIND_DYNAMIC), 1);
	/* The other binding is untouched. */
	assert_ptr_equal(bind_lookup_in(t, IPPROTO_UDP, R_IN, EP("10.1.0.20", 1), R_OUT), o);
	/* Re-insert works and gets a fresh id. */
	b = ins(t, BIND_STATIC, IPPROTO_UDP, in, ext, T0 + 5);
	assert_int_not_equal(b->id, id1);
	assert_int_not_equal(b->id, o->id);
	assert_int_equal(b->kind, BIND_STATIC);
	assert_ptr_equal(bind_lookup_ext(t, IPPROTO_UDP, R_OUT, ext), b);
	assert_int_equal(bind_count_kind(t, BIND_STATIC), 1);
	/* Removing twice is harmless. */
	bind_remove(t, o);
	bind_remove(t, o);
	assert_int_equal(bind_count(t), 1);
	assert_int_equal(bind_count_kind(t, BIND_DYNAMIC), 0);
	bind_table_free(t);
}

static void test_many_bindings(void **state)
{
	const uint32_t n = 10000;
	struct bind_table *t = new_table(n, 0, FILTER_EIF);
	uint32_t i;

	(void)state;
	for (i = 0; i < n; i++)
		ins(t, (enum bind_kind)(i % 3), IPPROTO_UDP, in_ep(i), ext_ep(i), T0);
	assert_int_equal(bind_count(t), n);
	assert_int_equal(bind_count_kind(t, BIND_DYNAMIC), 3334);
	assert_int_equal(bind_count_kind(t, BIND_STATIC), 3333);
	assert_int_equal(bind_count_kind(t, BIND_MANAGED), 3333);
	assert_int_equal(ins_err(t, BIND_DYNAMIC, IPPROTO_UDP, R_IN, in_ep(n), R_OUT, ext_ep(n)),
			 -ENOSPC);
	for (i = 0; i < n; i++) {
		struct binding *a = bind_lookup_in(t, IPPROTO_UDP, R_IN, in_ep(i), R_OUT);
		struct binding *b = bind_lookup_ext(t, IPPROTO_UDP, R_OUT, ext_ep(i));

		assert_non_null(a);
		assert_ptr_equal(a, b);
		assert_true(ep_eq(a->ext, ext_ep(i)));
	}
	/* Remove the even ones; odd ones stay findable; evens are gone. */
	for (i = 0; i < n; i += 2)
		bind_remove(t, bind_lookup_in(t, IPPROTO_UDP, R_IN, in_ep(i), R_OUT));
	assert_int_equal(bind_count(t), n / 2);
	for (i = 0; i < n; i++) {
		struct binding *a = bind_lookup_ext(t, IPPROTO_UDP, R_OUT, ext_ep(i));

		if (i & 1)
			assert_non_null(a);
		else
			assert_null(a);
	}
	/* Refill with new keys. */
	for (i = 0; i < n; i += 2)
		ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(n + i), ext_ep(n + i), T0);
	assert_int_equal(bind_count(t), n);
	for (i = 0; i < n; i += 2)
		assert_non_null(bind_lookup_in(t, IPPROTO_UDP, R_IN, in_ep(n + i), R_OUT));
	bind_table_free(t);
}

static void test_ids_unique(void **state)
{
	struct bind_table *t = new_table(64, 0, FILTER_EIF);
	uint32_t ids[200];
	uint32_t i, j;

	(void)state;
	for (i = 0; i < 200; i++) {
		struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(i), ext_ep(i), T0);

		ids[i] = b->id;
		bind_remove(t, b);
	}
	for (i = 0; i < 200; i++)
		for (j = i + 1; j < 200; j++)
			assert_int_not_equal(ids[i], ids[j]);
	bind_table_free(t);
}

/* ---- expiry ---- */

static void test_expire_udp_exact(void **state)
{
	struct bind_table *t = new_table(8, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);
	uint32_t now = T0, id = b->id;

	(void)state;
	assert_int_equal(bind_deadline(t, b), T0 + TO_UDP);
	advance_quiet(t, &now, T0 + TO_UDP, &l);
	assert_int_equal(now, T0 + TO_UDP - 1);
	assert_non_null(bind_lookup_in(t, IPPROTO_UDP, R_IN, in_ep(1), R_OUT));
	assert_int_equal(l.calls, 0);
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
	assert_int_equal(l.calls, 1);
	assert_int_equal(l.ids[0], id);
	assert_true(ep_eq(l.in[0], in_ep(1)));
	assert_null(bind_lookup_in(t, IPPROTO_UDP, R_IN, in_ep(1), R_OUT));
	assert_null(bind_lookup_ext(t, IPPROTO_UDP, R_OUT, ext_ep(1)));
	assert_int_equal(bind_count(t), 0);
	/* Nothing more, ever. */
	assert_int_equal(bind_expire(t, now + 5000, exp_cb, &l), 0);
	assert_int_equal(l.calls, 1);
	bind_table_free(t);
}

static void test_expire_icmp_exact(void **state)
{
	struct bind_table *t = new_table(8, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	uint32_t now = T0;

	(void)state;
	ins(t, BIND_DYNAMIC, IPPROTO_ICMP, in_ep(1), ext_ep(1), T0);
	advance_quiet(t, &now, T0 + TO_ICMP, &l);
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
	assert_int_equal(l.calls, 1);
	bind_table_free(t);
}

static void test_expire_touched_survives(void **state)
{
	struct bind_table *t = new_table(8, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);
	uint32_t cid = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(2), ext_ep(2), T0)->id;
	uint32_t now = T0;

	(void)state;
	advance_quiet(t, &now, T0 + 101, &l);
	bind_touch(b, now); /* T0 + 100 */
	assert_int_equal(bind_deadline(t, b), T0 + 100 + TO_UDP);
	/* c goes at T0 + 300, b survives that second. */
	advance_quiet(t, &now, T0 + TO_UDP, &l);
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
	assert_int_equal(l.ids[0], cid);
	assert_non_null(bind_lookup_in(t, IPPROTO_UDP, R_IN, in_ep(1), R_OUT));
	assert_null(bind_lookup_in(t, IPPROTO_UDP, R_IN, in_ep(2), R_OUT));
	/* b lasts until exactly T0 + 400. */
	advance_quiet(t, &now, T0 + 100 + TO_UDP, &l);
	assert_non_null(bind_lookup_in(t, IPPROTO_UDP, R_IN, in_ep(1), R_OUT));
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
	assert_int_equal(l.calls, 2);
	assert_null(bind_lookup_in(t, IPPROTO_UDP, R_IN, in_ep(1), R_OUT));
	bind_table_free(t);
}

static void test_expire_repeated_touch(void **state)
{
	/* A binding touched every 10 s lives on; once left alone it expires
	 * one timeout after its last use. */
	struct bind_table *t = new_table(8, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);
	uint32_t now = T0, last = T0;

	(void)state;
	while (now < T0 + 3000) {
		now++;
		if (now % 10 == 0) {
			bind_touch(b, now);
			last = now;
		}
		assert_int_equal(bind_expire(t, now, exp_cb, &l), 0);
	}
	advance_quiet(t, &now, last + TO_UDP, &l);
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
	assert_int_equal(now, last + TO_UDP);
	bind_table_free(t);
}

static void test_expire_big_jumps(void **state)
{
	/* The timer may run late: a jump far past deadlines expires all that
	 * are due and keeps the rest. */
	struct bind_table *t = new_table(64, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	uint32_t i;

	(void)state;
	for (i = 0; i < 40; i++) {
		struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(i), ext_ep(i), T0);

		bind_touch(b, T0 + i * 10); /* deadlines T0+300 .. T0+690 */
	}
	/* Jump to T0 + 500: deadlines <= T0+500 are i <= 20. */
	assert_int_equal(bind_expire(t, T0 + 500, exp_cb, &l), 21);
	assert_int_equal(bind_count(t), 19);
	for (i = 0; i < 40; i++) {
		struct binding *b = bind_lookup_in(t, IPPROTO_UDP, R_IN, in_ep(i), R_OUT);

		if (i <= 20)
			assert_null(b);
		else
			assert_non_null(b);
	}
	/* A jump longer than the whole wheel (and any timeout). */
	assert_int_equal(bind_expire(t, T0 + 500 + 100000, exp_cb, &l), 19);
	assert_int_equal(l.calls, 40);
	assert_int_equal(bind_count(t), 0);
	/* Time going backwards or standing still does nothing. */
	ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(1), ext_ep(1), T0 + 100500);
	assert_int_equal(bind_expire(t, T0 + 100500, exp_cb, &l), 0);
	assert_int_equal(bind_expire(t, T0, exp_cb, &l), 0);
	assert_int_equal(bind_count(t), 1);
	bind_table_free(t);
}

static void test_expire_long_timeout_beyond_wheel(void **state)
{
	/* A 5000 s UDP timeout is longer than any wheel revolution: expiry is
	 * still to the second. */
	struct bind_conf c = { .capacity = 4, .perm_capacity = 0,
			       .timeout = { 5000, TO_EST, TO_TRANS, TO_ICMP } };
	struct bind_table *t = bind_table_new(&c, T0);
	struct exp_log l = { 0 };
	uint32_t now = T0;

	(void)state;
	assert_non_null(t);
	ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);
	advance_quiet(t, &now, T0 + 5000, &l);
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
	bind_table_free(t);
}

static void test_expire_static_never(void **state)
{
	struct bind_table *t = new_table(8, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	struct binding *s = ins(t, BIND_STATIC, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);
	uint32_t now;

	(void)state;
	assert_int_equal(bind_deadline(t, s), UINT32_MAX);
	for (now = T0 + 1; now < T0 + 3000; now++)
		assert_int_equal(bind_expire(t, now, exp_cb, &l), 0);
	assert_int_equal(bind_expire(t, now + 10000000, exp_cb, &l), 0);
	assert_int_equal(l.calls, 0);
	assert_ptr_equal(bind_lookup_ext(t, IPPROTO_UDP, R_OUT, ext_ep(1)), s);
	/* Even a static TCP binding that saw an RST. */
	s = ins(t, BIND_STATIC, IPPROTO_TCP, in_ep(2), ext_ep(2), now);
	bind_tcp_track(t, s, 0x04, false, now);
	assert_int_equal(bind_expire(t, now + 10000000, exp_cb, &l), 0);
	assert_int_equal(bind_count_kind(t, BIND_STATIC), 2);
	bind_table_free(t);
}

static void test_expire_managed_deadline(void **state)
{
	struct bind_table *t = new_table(8, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	struct binding *m = ins(t, BIND_MANAGED, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);
	struct binding *m2 = ins(t, BIND_MANAGED, IPPROTO_UDP, in_ep(2), ext_ep(2), T0);
	uint32_t now = T0, id2 = m2->id;

	(void)state;
	bind_set_deadline(t, m, T0 + 50);
	bind_set_deadline(t, m2, T0 + 20);
	assert_int_equal(bind_deadline(t, m), T0 + 50);
	/* Use does not extend a lease. */
	advance_quiet(t, &now, T0 + 20, &l);
	bind_touch(m2, now);
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
	assert_int_equal(l.ids[0], id2);
	/* Renewal does: at T0+40 extend m to T0+1500 (beyond a wheel turn). */
	advance_quiet(t, &now, T0 + 41, &l);
	bind_set_deadline(t, m, T0 + 1500);
	advance_quiet(t, &now, T0 + 1500, &l);
	assert_non_null(bind_lookup_in(t, IPPROTO_UDP, R_IN, in_ep(1), R_OUT));
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
	assert_int_equal(bind_count(t), 0);
	assert_int_equal(l.calls, 2);
	bind_table_free(t);
}

static void test_expire_managed_shortened(void **state)
{
	/* Shortening a lease moves the binding to the earlier slot. */
	struct bind_table *t = new_table(8, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	struct binding *m = ins(t, BIND_MANAGED, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);
	uint32_t now = T0;

	(void)state;
	bind_set_deadline(t, m, T0 + 900);
	advance_quiet(t, &now, T0 + 11, &l);
	bind_set_deadline(t, m, T0 + 30);
	advance_quiet(t, &now, T0 + 30, &l);
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
	bind_table_free(t);
}

static void test_tcp_syn_out_transitory(void **state)
{
	struct bind_table *t = new_table(8, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_TCP, in_ep(1), ext_ep(1), T0);
	uint32_t now = T0;

	(void)state;
	bind_tcp_track(t, b, 0x02, true, T0);
	assert_true(b->tcp & BTCP_SYN_OUT);
	assert_false(b->tcp & BTCP_SYN_IN);
	assert_int_equal(bind_deadline(t, b), T0 + TO_TRANS);
	advance_quiet(t, &now, T0 + TO_TRANS, &l);
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
	bind_table_free(t);
}

static void test_tcp_established_then_rst(void **state)
{
	struct bind_table *t = new_table(8, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_TCP, in_ep(1), ext_ep(1), T0);
	uint32_t now = T0;

	(void)state;
	bind_tcp_track(t, b, 0x02, true, T0);          /* SYN out */
	bind_tcp_track(t, b, 0x12, false, T0 + 1);     /* SYN+ACK in */
	assert_int_equal(b->tcp & (BTCP_SYN_OUT | BTCP_SYN_IN), BTCP_SYN_OUT | BTCP_SYN_IN);
	assert_int_equal(bind_deadline(t, b), T0 + 1 + TO_EST);
	/* Way past the transitory timeout: still there. */
	advance_quiet(t, &now, T0 + 2000, &l);
	assert_non_null(bind_lookup_in(t, IPPROTO_TCP, R_IN, in_ep(1), R_OUT));
	/* RST at T0+1999: 240 s later it goes, although its slot was far. */
	bind_tcp_track(t, b, 0x04, false, now);
	assert_true(b->tcp & BTCP_RST);
	assert_int_equal(bind_deadline(t, b), now + TO_TRANS);
	{
		uint32_t due = now + TO_TRANS;

		advance_quiet(t, &now, due, &l);
		assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
		assert_int_equal(now, due);
	}
	bind_table_free(t);
}

static void test_tcp_established_exact(void **state)
{
	/* Established: to the second, 7440 s after the last packet. */
	struct bind_table *t = new_table(8, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_TCP, in_ep(1), ext_ep(1), T0);
	uint32_t now = T0;

	(void)state;
	bind_tcp_track(t, b, 0x02, true, T0);
	bind_tcp_track(t, b, 0x12, false, T0);
	advance_quiet(t, &now, T0 + TO_EST, &l);
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
	bind_table_free(t);
}

static void test_tcp_fin_both_ways_transitory(void **state)
{
	struct bind_table *t = new_table(8, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_TCP, in_ep(1), ext_ep(1), T0);
	uint32_t now = T0, due;

	(void)state;
	bind_tcp_track(t, b, 0x02, true, T0);
	bind_tcp_track(t, b, 0x12, false, T0);
	advance_quiet(t, &now, T0 + 500, &l);
	bind_tcp_track(t, b, 0x11, true, now);  /* FIN+ACK out */
	assert_true(b->tcp & BTCP_FIN_OUT);
	bind_tcp_track(t, b, 0x11, false, now); /* FIN+ACK in */
	assert_true(b->tcp & BTCP_FIN_IN);
	due = now + TO_TRANS;
	assert_int_equal(bind_deadline(t, b), due);
	advance_quiet(t, &now, due, &l);
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 1);
	bind_table_free(t);
}

static void test_tcp_new_syn_after_rst(void **state)
{
	/* A new connection on a mapping after an RST goes established again. */
	struct bind_table *t = new_table(8, 0, FILTER_EIF);
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_TCP, in_ep(1), ext_ep(1), T0);

	(void)state;
	bind_tcp_track(t, b, 0x02, true, T0);
	bind_tcp_track(t, b, 0x12, false, T0);
	bind_tcp_track(t, b, 0x04, true, T0 + 1);
	assert_int_equal(bind_deadline(t, b), T0 + 1 + TO_TRANS);
	bind_tcp_track(t, b, 0x02, true, T0 + 2);
	bind_tcp_track(t, b, 0x12, false, T0 + 2);
	assert_false(b->tcp & BTCP_RST);
	assert_int_equal(bind_deadline(t, b), T0 + 2 + TO_EST);
	bind_table_free(t);
}

static void test_expire_callback_once_each(void **state)
{
	struct bind_table *t = new_table(64, 0, FILTER_EIF);
	struct exp_log l = { 0 };
	uint32_t i, j;
	uint32_t now = T0;

	(void)state;
	for (i = 0; i < 50; i++)
		ins(t, BIND_DYNAMIC, i % 2 ? IPPROTO_UDP : IPPROTO_ICMP, in_ep(i), ext_ep(i), T0);
	/* ICMP ones (25) at T0+60, UDP ones (25) at T0+300. */
	advance_quiet(t, &now, T0 + TO_ICMP, &l);
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 25);
	assert_int_equal(l.calls, 25);
	advance_quiet(t, &now, T0 + TO_UDP, &l);
	assert_int_equal(bind_expire(t, ++now, exp_cb, &l), 25);
	assert_int_equal(l.calls, 50);
	for (i = 0; i < 50; i++)
		for (j = i + 1; j < 50; j++)
			assert_int_not_equal(l.ids[i], l.ids[j]);
	/* NULL callback is allowed. */
	ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(1), ext_ep(1), now);
	assert_int_equal(bind_expire(t, now + TO_UDP, NULL, NULL), 1);
	bind_table_free(t);
}

/* ---- filtering ---- */

static void test_filter_eif(void **state)
{
	struct bind_table *t = new_table(8, 8, FILTER_EIF);
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);

	(void)state;
	assert_true(bind_permitted(t, b, EP("203.0.113.10", 53), T0));
	assert_true(bind_permitted(t, b, EP("192.0.2.1", 1), T0 + 10));
	bind_table_free(t);
}

static void test_filter_apdf(void **state)
{
	struct bind_table *t = new_table(8, 8, FILTER_APDF);
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);
	struct binding *b2 = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(2), ext_ep(2), T0);
	struct binding *s = ins(t, BIND_STATIC, IPPROTO_UDP, in_ep(3), ext_ep(3), T0);

	(void)state;
	assert_false(bind_permitted(t, b, EP("203.0.113.10", 53), T0));
	bind_permit(t, b, EP("203.0.113.10", 53), T0);
	assert_true(bind_permitted(t, b, EP("203.0.113.10", 53), T0));
	assert_false(bind_permitted(t, b, EP("203.0.113.10", 54), T0));
	assert_false(bind_permitted(t, b, EP("203.0.113.11", 53), T0));
	/* Another binding does not inherit it. */
	assert_false(bind_permitted(t, b2, EP("203.0.113.10", 53), T0));
	/* Static bindings are forwards: open to all. */
	assert_true(bind_permitted(t, s, EP("192.0.2.99", 7), T0));
	bind_table_free(t);
}

static void test_filter_adf(void **state)
{
	struct bind_table *t = new_table(8, 8, FILTER_ADF);
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);

	(void)state;
	assert_false(bind_permitted(t, b, EP("203.0.113.10", 53), T0));
	bind_permit(t, b, EP("203.0.113.10", 53), T0);
	assert_true(bind_permitted(t, b, EP("203.0.113.10", 53), T0));
	assert_true(bind_permitted(t, b, EP("203.0.113.10", 9999), T0));
	assert_false(bind_permitted(t, b, EP("203.0.113.11", 53), T0));
	bind_table_free(t);
}

static void test_filter_permission_expires(void **state)
{
	struct bind_table *t = new_table(8, 8, FILTER_APDF);
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);
	struct endpoint r = EP("203.0.113.10", 53), r2 = EP("203.0.113.20", 53);

	(void)state;
	bind_permit(t, b, r, T0);
	bind_permit(t, b, r2, T0);
	assert_true(bind_permitted(t, b, r, T0 + TO_UDP - 1));
	assert_false(bind_permitted(t, b, r, T0 + TO_UDP));
	/* Refreshed: lives one timeout after the refresh. */
	bind_permit(t, b, r, T0 + 200);
	assert_true(bind_permitted(t, b, r, T0 + 200 + TO_UDP - 1));
	assert_false(bind_permitted(t, b, r, T0 + 200 + TO_UDP));
	assert_false(bind_permitted(t, b, r2, T0 + TO_UDP));
	bind_table_free(t);
}

static void test_filter_permission_capacity(void **state)
{
	struct bind_table *t = new_table(8, 2, FILTER_APDF);
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);
	struct binding *b2 = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(2), ext_ep(2), T0);

	(void)state;
	bind_permit(t, b, EP("203.0.113.1", 1), T0);
	bind_permit(t, b, EP("203.0.113.2", 2), T0);
	/* No record left: the third remote is not permitted (fail closed). */
	bind_permit(t, b, EP("203.0.113.3", 3), T0);
	assert_false(bind_permitted(t, b, EP("203.0.113.3", 3), T0));
	assert_true(bind_permitted(t, b, EP("203.0.113.1", 1), T0));
	/* Expired records of the same binding are reclaimed for a new one. */
	bind_touch(b, T0 + TO_UDP);
	bind_permit(t, b, EP("203.0.113.3", 3), T0 + TO_UDP);
	assert_true(bind_permitted(t, b, EP("203.0.113.3", 3), T0 + TO_UDP));
	assert_false(bind_permitted(t, b, EP("203.0.113.1", 1), T0 + TO_UDP));
	/* Removing a binding frees its records for others. */
	bind_permit(t, b2, EP("203.0.113.4", 4), T0 + TO_UDP);
	bind_permit(t, b2, EP("203.0.113.5", 5), T0 + TO_UDP);
	assert_false(bind_permitted(t, b2, EP("203.0.113.5", 5), T0 + TO_UDP));
	bind_remove(t, b);
	bind_permit(t, b2, EP("203.0.113.4", 4), T0 + TO_UDP);
	bind_permit(t, b2, EP("203.0.113.5", 5), T0 + TO_UDP);
	assert_true(bind_permitted(t, b2, EP("203.0.113.4", 4), T0 + TO_UDP));
	assert_true(bind_permitted(t, b2, EP("203.0.113.5", 5), T0 + TO_UDP));
	bind_table_free(t);
}

static void test_filter_slot_reuse_no_stale_permission(void **state)
{
	/* A binding freed and its slot reused must not keep the old one's
	 * permissions. */
	struct bind_table *t = new_table(1, 4, FILTER_APDF);
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(1), ext_ep(1), T0);
	struct binding *b2;

	(void)state;
	bind_permit(t, b, EP("203.0.113.10", 53), T0);
	bind_remove(t, b);
	b2 = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(2), ext_ep(2), T0);
	assert_ptr_equal(b2, b); /* capacity 1: same slot */
	assert_false(bind_permitted(t, b2, EP("203.0.113.10", 53), T0));
	bind_table_free(t);
}

static void test_filter_many_remotes(void **state)
{
	struct bind_table *t = new_table(16, 1000, FILTER_APDF);
	struct binding *b[4];
	uint32_t i, k;

	(void)state;
	for (k = 0; k < 4; k++)
		b[k] = ins(t, BIND_DYNAMIC, IPPROTO_UDP, in_ep(k), ext_ep(k), T0);
	for (i = 0; i < 200; i++)
		bind_permit(t, b[i % 4], in_ep(5000 + i), T0);
	for (i = 0; i < 200; i++)
		for (k = 0; k < 4; k++)
			assert_int_equal(bind_permitted(t, b[k], in_ep(5000 + i), T0), i % 4 == k);
	bind_table_free(t);
}

/* ---- iteration ---- */

static void test_bind_next(void **state)
{
	struct bind_table *t = new_table(100, 0, FILTER_EIF);
	bool seen[100] = { false };
	struct binding *b;
	uint32_t cursor = 0, i, n = 0;

	(void)state;
	assert_null(bind_next(t, &cursor));
	for (i = 0; i < 60; i++)
		ins(t, i < 10 ? BIND_STATIC : BIND_DYNAMIC, IPPROTO_UDP, in_ep(i), ext_ep(i), T0);
	for (i = 0; i < 60; i += 3)
		bind_remove(t, bind_lookup_in(t, IPPROTO_UDP, R_IN, in_ep(i), R_OUT));
	cursor = 0;
	while ((b = bind_next(t, &cursor)) != NULL) {
		uint32_t idx = ntohs(b->in.port) - 1024;

		assert_true(idx < 60);
		assert_true(idx % 3 != 0);
		assert_false(seen[idx]);
		seen[idx] = true;
		n++;
	}
	assert_int_equal(n, 40);
	assert_int_equal(bind_count(t), 40);
	assert_int_equal(bind_count_kind(t, BIND_STATIC), 6);
	assert_int_equal(bind_count_kind(t, BIND_DYNAMIC), 34);
	assert_int_equal(bind_count_kind(t, BIND_MANAGED), 0);
	assert_int_equal(bind_count_kind(t, BIND_NKIND), 0);
	/* The cursor stays at the end. */
	assert_null(bind_next(t, &cursor));
	bind_table_free(t);
}

/* Per-host counts of dynamic bindings (table.max_bindings_per_host) stay
 * exact through random inserts and removals in a tiny table, whose host
 * index (16 slots for 10 bindings) collides and wraps all the time;
 * static and managed bindings and changes of kind are counted right. */
static void test_host_counts_exact(void **state)
{
	struct bind_table *t = new_table(10, 0, FILTER_EIF);
	struct binding *live[10];
	uint32_t n = 0, seed = 7, port = 1;
	(void)state;

	for (int round = 0; round < 20000; round++) {
		seed = seed * 1103515245u + 12345u;
		if ((seed >> 16) % 2 && n < 10) {
			/* hosts 10.9.0.1..12, in realms 0 and 2 */
			struct endpoint in = {htonl(0x0a090000u + 1 + (seed >> 8) % 12), htons((uint16_t)port)};
			uint8_t realm = (seed >> 4) & 1 ? 2 : R_IN;
			enum bind_kind k = (seed >> 12) % 5 == 0 ? BIND_STATIC : BIND_DYNAMIC;
			int err;
			live[n] = bind_insert(t, k, IPPROTO_UDP, realm, in, R_OUT, ext_ep(port), T0, &err);
			assert_non_null(live[n]);
			n++;
			port++;
		} else if (n) {
			uint32_t i = (seed >> 8) % n;
			if ((seed >> 20) % 4 == 0) {
				bind_set_kind(t, live[i], live[i]->kind == BIND_DYNAMIC ? BIND_MANAGED
											: BIND_DYNAMIC);
			} else {
				bind_remove(t, live[i]);
				live[i] = live[--n];
			}
		}
		for (uint32_t h = 0; h < 13; h++)
			for (uint8_t realm = 0; realm <= 2; realm += 2) {
				uint32_t want = 0, addr = htonl(0x0a090000u + h);
				for (uint32_t i = 0; i < n; i++)
					want += live[i]->kind == BIND_DYNAMIC && live[i]->in.addr == addr &&
						live[i]->in_realm == realm;
				assert_int_equal(bind_host_count(t, realm, addr), want);
			}
	}
	bind_table_free(t);
}

/* table.permissions_per_host: one inside host's bindings share a cap on
 * permission records; another host's are not affected; the counts follow
 * expiry of permissions and removal of bindings exactly; bindings whose
 * permissions nobody consults (terminating managed) take none. */
static void test_perm_per_host(void **state)
{
	struct bind_table *t = new_table(16, 64, FILTER_APDF);
	struct endpoint h1a = EP("10.1.0.10", 1000), h1b = EP("10.1.0.10", 1001);
	struct binding *a = ins(t, BIND_DYNAMIC, IPPROTO_UDP, h1a, ext_ep(1), T0);
	struct binding *b = ins(t, BIND_DYNAMIC, IPPROTO_UDP, h1b, ext_ep(2), T0);
	struct binding *o = ins(t, BIND_DYNAMIC, IPPROTO_UDP, EP("10.1.0.11", 1000), ext_ep(3), T0);
	struct binding *mg = ins(t, BIND_MANAGED, IPPROTO_UDP, EP("10.1.0.12", 1000), ext_ep(4), T0);

	(void)state;
	bind_set_perm_per_host(t, 5);
	for (uint16_t i = 0; i < 3; i++)
		assert_int_equal(bind_permit(t, a, EP("203.0.113.1", (uint16_t)(100 + i)), T0), 0);
	for (uint16_t i = 0; i < 2; i++)
		assert_int_equal(bind_permit(t, b, EP("203.0.113.2", (uint16_t)(100 + i)), T0), 0);
	assert_int_equal(bind_host_perms(t, R_IN, h1a.addr), 5);
	/* the host's share is spent, over both its bindings */
	assert_int_equal(bind_permit(t, a, EP("203.0.113.3", 1), T0), -EDQUOT);
	assert_int_equal(bind_permit(t, b, EP("203.0.113.3", 1), T0), -EDQUOT);
	assert_false(bind_permitted(t, a, EP("203.0.113.3", 1), T0));
	/* a known remote is still refreshed */
	assert_int_equal(bind_permit(t, a, EP("203.0.113.1", 100), T0 + 10), 0);
	/* another host has its own share */
	for (uint16_t i = 0; i < 5; i++)
		assert_int_equal(bind_permit(t, o, EP("203.0.113.9", (uint16_t)(1 + i)), T0), 0);
	assert_int_equal(bind_host_perms(t, R_IN, o->in.addr), 5);
	/* terminating managed: no record taken, traffic admitted anyway */
	assert_int_equal(bind_permit(t, mg, EP("203.0.113.9", 9), T0), 0);
	assert_int_equal(bind_host_perms(t, R_IN, mg->in.addr), 0);
	assert_true(bind_permitted(t, mg, EP("192.0.2.1", 1), T0));
	/* expired permissions are reclaimed when the binding sees a new
	 * remote: b's two went at T0 + TO_UDP, a's refreshed one lives */
	assert_int_equal(bind_permit(t, b, EP("203.0.113.4", 1), T0 + TO_UDP), 0);
	assert_int_equal(bind_host_perms(t, R_IN, h1a.addr), 4);
	/* removing a binding gives its permissions back */
	bind_remove(t, a);
	assert_int_equal(bind_host_perms(t, R_IN, h1a.addr), 1);
	bind_remove(t, b);
	assert_int_equal(bind_host_perms(t, R_IN, h1a.addr), 0);
	/* 0: no limit */
	bind_set_perm_per_host(t, 0);
	for (uint16_t i = 0; i < 20; i++)
		assert_int_equal(bind_permit(t, o, EP("203.0.113.8", (uint16_t)(1 + i)), T0), 0);
	bind_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_rejects_zero_capacity),
		cmocka_unit_test(test_perm_per_host),
		cmocka_unit_test(test_insert_lookup_both_sides),
		cmocka_unit_test(test_insert_eexist),
		cmocka_unit_test(test_capacity_enospc),
		cmocka_unit_test(test_remove_and_reinsert),
		cmocka_unit_test(test_many_bindings),
		cmocka_unit_test(test_ids_unique),
		cmocka_unit_test(test_expire_udp_exact),
		cmocka_unit_test(test_expire_icmp_exact),
		cmocka_unit_test(test_expire_touched_survives),
		cmocka_unit_test(test_expire_repeated_touch),
		cmocka_unit_test(test_expire_big_jumps),
		cmocka_unit_test(test_expire_long_timeout_beyond_wheel),
		cmocka_unit_test(test_expire_static_never),
		cmocka_unit_test(test_expire_managed_deadline),
		cmocka_unit_test(test_expire_managed_shortened),
		cmocka_unit_test(test_tcp_syn_out_transitory),
		cmocka_unit_test(test_tcp_established_then_rst),
		cmocka_unit_test(test_tcp_established_exact),
		cmocka_unit_test(test_tcp_fin_both_ways_transitory),
		cmocka_unit_test(test_tcp_new_syn_after_rst),
		cmocka_unit_test(test_expire_callback_once_each),
		cmocka_unit_test(test_filter_eif),
		cmocka_unit_test(test_filter_apdf),
		cmocka_unit_test(test_filter_adf),
		cmocka_unit_test(test_filter_permission_expires),
		cmocka_unit_test(test_filter_permission_capacity),
		cmocka_unit_test(test_filter_slot_reuse_no_stale_permission),
		cmocka_unit_test(test_filter_many_remotes),
		cmocka_unit_test(test_bind_next),
		cmocka_unit_test(test_host_counts_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
