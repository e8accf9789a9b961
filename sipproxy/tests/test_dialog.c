/* Unit tests for dialog.c, sipproxy's dialog table.
 *
 * Covered: a confirmed dialog admits requests from either party, in
 * either direction, and only from the address recorded for the party
 * whose tag is in From (a third host with the Call-ID and both tags gets
 * DLG_WRONG_PARTY; a wrong tag or Call-ID, DLG_NONE); the port is not
 * compared; early dialogs (a 1xx with a To tag) admit PRACK/UPDATE, are
 * promoted by their 2xx with the 2xx's source, and the losing forks' early
 * dialogs go; a failed INVITE forgets its early dialogs only; BYE (dlg_end)
 * in either tag order; max_call_duration expiry in order of start, with
 * restored (older) dialogs put in place; the sip.max_calls cap; the hooks
 * (changed once per confirmed dialog, ended for confirmed ones only);
 * dlg_restore()'s checks; two tables hash the same Call-IDs into
 * different buckets (a random SipHash key each); and the bucket array
 * grows with the dialogs it holds: every dialog stays found, checked and
 * ended across the doublings, and the buckets follow the count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../dialog.h"
#include "../sp_conf.h"

static struct sp_conf conf;

static struct tp_addr addr(const char *ip, uint16_t port)
{
	struct tp_addr a;

	memset(&a, 0, sizeof(a));
	a.peer.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &a.peer.sin_addr), 1);
	a.peer.sin_port = htons(port);
	return a;
}

static int setup(void **state)
{
	(void)state;
	memset(&conf, 0, sizeof(conf));
	conf.max_calls = 16;
	conf.max_call_duration = 100;
	return 0;
}

static void test_parties(void **state)
{
	struct dlg_table *t = dlg_new(&conf);
	struct tp_addr a = addr("203.0.113.10", 5060), b = addr("10.1.0.10", 5060);
	struct tp_addr a2 = addr("203.0.113.10", 40000), evil = addr("203.0.113.66", 5060);
	struct tp_addr inside_evil = addr("10.1.0.66", 5060);
	const struct dlg_info *d = NULL;

	(void)state;
	assert_non_null(t);
	assert_int_equal(dlg_confirm(t, "cid1", "ta", &a, "tb", &b, 1000), 0);
	/* the caller, to the callee */
	assert_int_equal(dlg_check(t, "cid1", "ta", "tb", &a, &d), DLG_OK);
	assert_non_null(d);
	assert_string_equal(d->caller.tag, "ta");
	/* another port of the same host: a phone may use another socket */
	assert_int_equal(dlg_check(t, "cid1", "ta", "tb", &a2, NULL), DLG_OK);
	/* the callee, to the caller */
	assert_int_equal(dlg_check(t, "cid1", "tb", "ta", &b, NULL), DLG_OK);
	/* a third host knowing everything */
	assert_int_equal(dlg_check(t, "cid1", "ta", "tb", &evil, NULL), DLG_WRONG_PARTY);
	assert_int_equal(dlg_check(t, "cid1", "tb", "ta", &inside_evil, NULL), DLG_WRONG_PARTY);
	/* a party speaking with the other's tags */
	assert_int_equal(dlg_check(t, "cid1", "tb", "ta", &a, NULL), DLG_WRONG_PARTY);
	/* no such dialog */
	assert_int_equal(dlg_check(t, "cid1", "ta", "tX", &a, NULL), DLG_NONE);
	assert_int_equal(dlg_check(t, "cid2", "ta", "tb", &a, NULL), DLG_NONE);
	assert_int_equal(dlg_check(t, "cid1", NULL, "tb", &a, NULL), DLG_NONE);
	/* a retransmitted 2xx */
	assert_int_equal(dlg_confirm(t, "cid1", "ta", &a, "tb", &b, 1001), -EEXIST);
	/* BYE from the callee: tags the other way round */
	assert_int_equal(dlg_end(t, "cid1", "tb", "ta"), 0);
	assert_int_equal(dlg_check(t, "cid1", "ta", "tb", &a, NULL), DLG_NONE);
	assert_int_equal(dlg_end(t, "cid1", "ta", "tb"), -ENOENT);
	/* bad strings */
	assert_int_equal(dlg_confirm(t, "", "ta", &a, "tb", &b, 1000), -EINVAL);
	assert_int_equal(dlg_confirm(t, "c", "", &a, "tb", &b, 1000), -EINVAL);
	{
		char big[DLG_TAG_MAX + 8];
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(dlg_confirm(t, "c", big, &a, "tb", &b, 1000), -EINVAL);
	}
	dlg_free(t);
}

static void test_early_and_forks(void **state)
{
	struct dlg_table *t = dlg_new(&conf);
	struct tp_addr a = addr("203.0.113.10", 5060), b1 = addr("10.1.0.10", 5060);
	struct tp_addr b2 = addr("10.1.0.11", 5060), b1n = addr("10.1.0.12", 5070);
	struct dlg_stats st;

	(void)state;
	/* two forks ring: an early dialog each */
	assert_int_equal(dlg_early(t, "c", "ta", &a, "t1", &b1, 1000), 0);
	assert_int_equal(dlg_early(t, "c", "ta", &a, "t1", &b1, 1000), -EEXIST);
	assert_int_equal(dlg_early(t, "c", "ta", &a, "t2", &b2, 1000), 0);
	/* PRACK / UPDATE in an early dialog */
	assert_int_equal(dlg_check(t, "c", "ta", "t2", &a, NULL), DLG_OK);
	assert_int_equal(dlg_check(t, "c", "t2", "ta", &b2, NULL), DLG_OK);
	assert_int_equal(dlg_check(t, "c", "t2", "ta", &b1, NULL), DLG_WRONG_PARTY);
	dlg_get_stats(t, &st);
	assert_int_equal(st.early, 2);
	assert_int_equal(st.confirmed, 0);
	/* fork 1 answers from another address: promoted, the 2xx's source
	 * counts; fork 2's early dialog goes */
	assert_int_equal(dlg_confirm(t, "c", "ta", &a, "t1", &b1n, 1001), 0);
	assert_int_equal(dlg_check(t, "c", "t1", "ta", &b1n, NULL), DLG_OK);
	assert_int_equal(dlg_check(t, "c", "t1", "ta", &b1, NULL), DLG_WRONG_PARTY);
	assert_int_equal(dlg_check(t, "c", "ta", "t2", &a, NULL), DLG_NONE);
	dlg_get_stats(t, &st);
	assert_int_equal(st.early, 0);
	assert_int_equal(st.confirmed, 1);
	/* another call fails: its early dialogs go, confirmed ones stay */
	assert_int_equal(dlg_early(t, "d", "ta", &a, "t3", &b2, 1002), 0);
	assert_int_equal(dlg_end_early(t, "d", "ta"), 1);
	assert_int_equal(dlg_end_early(t, "c", "ta"), 0);
	assert_int_equal(dlg_check(t, "c", "ta", "t1", &a, NULL), DLG_OK);
	dlg_free(t);
}

static unsigned n_changed, n_ended;
static void on_changed(void *arg, const struct dlg_info *d)
{
	(void)arg;
	assert_true(d->confirmed);
	n_changed++;
}
static void on_ended(void *arg, const struct dlg_info *d)
{
	(void)arg;
	assert_true(d->confirmed);
	n_ended++;
}

static void test_expiry_and_hooks(void **state)
{
	struct dlg_table *t = dlg_new(&conf);
	struct tp_addr a = addr("203.0.113.10", 5060), b = addr("10.1.0.10", 5060);
	struct dlg_hooks h = {.changed = on_changed, .ended = on_ended};
	struct dlg_info old;
	struct dlg_stats st;

	(void)state;
	n_changed = n_ended = 0;
	dlg_set_hooks(t, &h);
	assert_int_equal(dlg_confirm(t, "c1", "a", &a, "b", &b, 1000), 0);
	assert_int_equal(dlg_early(t, "c2", "a", &a, "b", &b, 1010), 0);
	assert_int_equal(dlg_confirm(t, "c3", "a", &a, "b", &b, 1020), 0);
	assert_int_equal(n_changed, 2);
	/* a restored dialog made before all of them goes first */
	memset(&old, 0, sizeof(old));
	snprintf(old.call_id, sizeof(old.call_id), "c0");
	snprintf(old.caller.tag, sizeof(old.caller.tag), "a");
	snprintf(old.callee.tag, sizeof(old.callee.tag), "b");
	old.caller.src = a;
	old.callee.src = b;
	old.started = 950;
	assert_int_equal(dlg_restore(t, &old), -EINVAL); /* not confirmed */
	old.confirmed = true;
	assert_int_equal(dlg_restore(t, &old), 0);
	assert_int_equal(dlg_restore(t, &old), -EEXIST);
	assert_int_equal(n_changed, 2); /* no hook for a restore */
	assert_int_equal(dlg_expire(t, 1049), 0);
	assert_int_equal(dlg_expire(t, 1050), 1); /* c0 */
	assert_int_equal(dlg_check(t, "c1", "a", "b", &a, NULL), DLG_OK);
	assert_int_equal(dlg_expire(t, 1100), 1); /* c1 */
	assert_int_equal(dlg_expire(t, 1115), 1); /* c2, early: no hook */
	assert_int_equal(n_ended, 2);
	assert_int_equal(dlg_check(t, "c3", "a", "b", &a, NULL), DLG_OK);
	assert_int_equal(dlg_end(t, "c3", "b", "a"), 0);
	assert_int_equal(n_ended, 3);
	dlg_get_stats(t, &st);
	assert_int_equal(st.confirmed + st.early, 0);
	assert_int_equal(st.expired, 3);
	dlg_free(t);
}

static void test_capacity(void **state)
{
	struct dlg_table *t = dlg_new(&conf);
	struct tp_addr a = addr("203.0.113.10", 5060), b = addr("10.1.0.10", 5060);
	char cid[32];

	(void)state;
	for (unsigned i = 0; i < conf.max_calls; i++) {
		snprintf(cid, sizeof(cid), "call-%u", i);
		assert_int_equal(dlg_confirm(t, cid, "a", &a, "b", &b, 1000), 0);
		assert_int_equal(dlg_early(t, cid, "a2", &a, "b", &b, 1000), 0);
	}
	assert_int_equal(dlg_confirm(t, "one-more", "a", &a, "b", &b, 1000), -ENOSPC);
	assert_int_equal(dlg_early(t, "one-more", "a", &a, "b", &b, 1000), -ENOSPC);
	/* an early dialog promoted past the cap is refused too */
	assert_int_equal(dlg_end(t, "call-0", "a2", "b"), 0);
	assert_int_equal(dlg_early(t, "x", "a", &a, "b", &b, 1000), 0);
	assert_int_equal(dlg_confirm(t, "x", "a", &a, "b", &b, 1000), -ENOSPC);
	assert_int_equal(dlg_check(t, "x", "a", "b", &a, NULL), DLG_NONE);
	/* ending one makes room */
	assert_int_equal(dlg_end(t, "call-3", "a", "b"), 0);
	assert_int_equal(dlg_confirm(t, "one-more", "a", &a, "b", &b, 1000), 0);
	dlg_free(t);
}

/* A callee inventing To tags in provisionals fills at most 16 early
 * dialogs of its call; other calls still get theirs. */
static void test_early_per_call(void **state)
{
	struct tp_addr a = addr("203.0.113.10", 5060), b = addr("10.1.0.10", 5060);
	struct dlg_table *t;
	char tag[16];

	(void)state;
	conf.max_calls = 1000;
	assert_non_null(t = dlg_new(&conf));
	for (unsigned i = 0; i < 16; i++) {
		snprintf(tag, sizeof(tag), "t%u", i);
		assert_int_equal(dlg_early(t, "c", "a", &a, tag, &b, 1000), 0);
	}
	assert_int_equal(dlg_early(t, "c", "a", &a, "t99", &b, 1000), -ENOSPC);
	assert_int_equal(dlg_early(t, "other", "a", &a, "t99", &b, 1000), 0);
	/* the answer still confirms one of them */
	assert_int_equal(dlg_confirm(t, "c", "a", &a, "t3", &b, 1001), 0);
	assert_int_equal(dlg_check(t, "c", "t3", "a", &b, NULL), DLG_OK);
	dlg_free(t);
}

/* Each table has its own random key: the same Call-IDs land in other
 * buckets, so colliding Call-IDs cannot be computed in advance. */
static void test_keyed_buckets(void **state)
{
	struct dlg_table *t1 = dlg_new(&conf), *t2 = dlg_new(&conf);
	unsigned same = 0;
	char cid[48];

	(void)state;
	for (unsigned i = 0; i < 200; i++) {
		snprintf(cid, sizeof(cid), "%u@attacker.example", i);
		assert_int_equal(dlg_bucket_of(t1, cid), dlg_bucket_of(t1, cid));
		same += dlg_bucket_of(t1, cid) == dlg_bucket_of(t2, cid);
	}
	assert_true(same < 10); /* ~200/1024 by chance */
	dlg_free(t1);
	dlg_free(t2);
}

/* 5000 dialogs (several doublings from 1024 buckets): each is found with
 * its parties after the growth, BYE ends each one, the expiry order (the
 * age list the rehash walks) is intact. */
static void test_growth(void **state)
{
	struct tp_addr a = addr("203.0.113.10", 5060), b = addr("10.1.0.10", 5060);
	struct tp_addr evil = addr("203.0.113.66", 5060);
	struct dlg_table *t;
	struct dlg_stats st;
	char cid[48];
	unsigned n = 5000;

	(void)state;
	conf.max_calls = 100000;
	assert_non_null(t = dlg_new(&conf));
	assert_int_equal(dlg_bucket_of(t, "x") < 1024, true);
	for (unsigned i = 0; i < n; i++) {
		snprintf(cid, sizeof(cid), "%u@grow.example", i);
		assert_int_equal(dlg_confirm(t, cid, "from", &a, "to", &b, 1000 + i), 0);
	}
	for (unsigned i = 0; i < n; i++) {
		snprintf(cid, sizeof(cid), "%u@grow.example", i);
		assert_int_equal(dlg_check(t, cid, "from", "to", &a, NULL), DLG_OK);
		assert_int_equal(dlg_check(t, cid, "to", "from", &b, NULL), DLG_OK);
		assert_int_equal(dlg_check(t, cid, "from", "to", &evil, NULL), DLG_WRONG_PARTY);
	}
	/* the buckets grew past the count: some Call-ID lands beyond 1024 */
	{
		bool beyond = false;
		for (unsigned i = 0; i < 64 && !beyond; i++) {
			snprintf(cid, sizeof(cid), "%u@grow.example", i);
			beyond = dlg_bucket_of(t, cid) >= 4096;
		}
		assert_true(beyond);
	}
	/* half end by BYE, the oldest 1000 of the rest by age */
	for (unsigned i = 0; i < n; i += 2) {
		snprintf(cid, sizeof(cid), "%u@grow.example", i);
		assert_int_equal(dlg_end(t, cid, "to", "from"), 0);
	}
	assert_int_equal(dlg_expire(t, 1000 + 2000 + (time_t)conf.max_call_duration), 1000);
	dlg_get_stats(t, &st);
	assert_int_equal(st.confirmed, n / 2 - 1000);
	assert_int_equal(dlg_check(t, "1999@grow.example", "from", "to", &a, NULL), DLG_NONE);
	assert_int_equal(dlg_check(t, "2001@grow.example", "from", "to", &a, NULL), DLG_OK);
	dlg_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parties, setup),
		cmocka_unit_test_setup(test_early_and_forks, setup),
		cmocka_unit_test_setup(test_expiry_and_hooks, setup),
		cmocka_unit_test_setup(test_capacity, setup),
		cmocka_unit_test_setup(test_early_per_call, setup),
		cmocka_unit_test_setup(test_keyed_buckets, setup),
		cmocka_unit_test_setup(test_growth, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
