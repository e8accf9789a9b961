/* test_clock: the monotonic clock (clock.c) moves forward, and its two
 * readings agree to within a tick. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <time.h>

#include "clock.h"

static void test_monotonic(void **state)
{
	uint64_t a = clock_mono_ms(), b;
	uint32_t s;
	struct timespec d = {0, 20 * 1000 * 1000};

	(void)state;
	nanosleep(&d, NULL);
	b = clock_mono_ms();
	assert_true(b >= a + 20);
	assert_true(b < a + 10000);
	/* the coarse seconds lag the fine clock by at most a tick (read
	 * between two fine readings, so a preemption cannot fail this) */
	a = clock_mono_ms();
	s = clock_mono_s();
	b = clock_mono_ms();
	assert_true((uint64_t)s * 1000u <= b);
	assert_true((uint64_t)s * 1000u + 1000u + 100u > a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_monotonic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
