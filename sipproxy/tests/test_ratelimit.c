/* test_ratelimit: the per-source token buckets of sip.rate_limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ratelimit.h"

static unsigned take(struct ratelimit *rl, uint32_t addr, uint64_t now, unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += rl_allow(rl, addr, now);
	return ok;
}

static void test_off(void **state)
{
	struct ratelimit *rl = rl_new(0, 0);

	(void)state;
	assert_int_equal(take(rl, 0x0a000001, 0, 10000), 10000);
	rl_free(rl);
}

static void test_burst_then_refill(void **state)
{
	struct ratelimit *rl = rl_new(10, 0);

	(void)state;
	/* a full bucket of 10, then nothing in the same millisecond */
	assert_int_equal(take(rl, 0x0a000001, 1000, 50), 10);
	/* 100 ms later: one more token (10 a second) */
	assert_int_equal(take(rl, 0x0a000001, 1100, 5), 1);
	/* a second later the bucket is full again, not fuller */
	assert_int_equal(take(rl, 0x0a000001, 5000, 50), 10);
	rl_free(rl);
}

static void test_sources_independent(void **state)
{
	struct ratelimit *rl = rl_new(5, 0);

	(void)state;
	/* one abusive source empties its own bucket only */
	assert_int_equal(take(rl, 0x0a000001, 0, 1000), 5);
	assert_int_equal(take(rl, 0x0a000002, 0, 3), 3);
	assert_int_equal(take(rl, 0xcb00710a, 0, 5), 5);
	rl_free(rl);
}

static void test_many_sources_bounded(void **state)
{
	struct ratelimit *rl = rl_new(2, 0);

	(void)state;
	/* more sources than slots: every new one starts with a full bucket,
	 * and a real source keeps working among spoofed ones */
	for (uint32_t a = 1; a <= 5 * RL_SLOTS; a++) {
		assert_true(rl_allow(rl, a * 2654435761u + 1u, a));
		if (a % 1000 == 0)
			assert_true(rl_allow(rl, 0xc0000201, a * 1000));
	}
	rl_free(rl);
}

static void test_set(void **state)
{
	struct ratelimit *rl = rl_new(1, 0);

	(void)state;
	assert_int_equal(take(rl, 7, 0, 5), 1);
	rl_set(rl, 100, 0);
	assert_int_equal(take(rl, 7, 1000, 500), 100);
	rl_set(rl, 0, 0);
	assert_int_equal(take(rl, 7, 1000, 500), 500);
	rl_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_burst_then_refill),
		cmocka_unit_test(test_sources_independent),
		cmocka_unit_test(test_many_sources_bounded),
		cmocka_unit_test(test_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
