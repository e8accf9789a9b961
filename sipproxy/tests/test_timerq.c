/* test_timerq: timers armed by duration (timerq.c) on a real libevent
 * base, with short durations.
 *
 * Covered: timers of one duration fire in the order they were armed and
 * not before their time; timers of several durations interleave by due
 * time, not by queue; re-arming a pending timer moves it (it fires once,
 * at the new time); a deleted timer never fires; more distinct durations
 * than TIMERQ_MAX still all fire, once each and none early (the extra
 * ones on the heap); 0 fires at
 * the next pass; only the first TIMERQ_MAX non-zero durations get a queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/event.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "timerq.h"

#define N 64
/* libevent reads a coarse monotonic clock (a few ms per tick): "not
 * early" allows that much */
#define SLACK_MS 5u

static unsigned order[N], nfired;
static uint64_t fired_at[N], t0;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_fire(evutil_socket_t fd, short what, void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;

	(void)fd;
	(void)what;
	fired_at[i] = now_ms() - t0;
	order[nfired++] = i;
}

struct fixture {
	struct event_base *base;
	struct event *ev[N];
	struct timerq tq;
};

static struct fixture *make(void)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	assert_non_null(f.base = event_base_new());
	for (unsigned i = 0; i < N; i++)
		assert_non_null(f.ev[i] = evtimer_new(f.base, on_fire, (void *)(uintptr_t)i));
	timerq_init(&f.tq, f.base);
	nfired = 0;
	memset(fired_at, 0, sizeof(fired_at));
	t0 = now_ms();
	return &f;
}

static void done(struct fixture *f)
{
	for (unsigned i = 0; i < N; i++)
		event_free(f->ev[i]);
	event_base_free(f->base);
}

static void test_order_and_interleave(void **state)
{
	struct fixture *f = make();

	(void)state;
	/* 0, 1, 2: 60 ms; 3, 4: 20 ms; 5: 40 ms */
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(timerq_add(&f->tq, f->ev[i], 60), 0);
	assert_int_equal(timerq_add(&f->tq, f->ev[3], 20), 0);
	assert_int_equal(timerq_add(&f->tq, f->ev[4], 20), 0);
	assert_int_equal(timerq_add(&f->tq, f->ev[5], 40), 0);
	assert_int_equal(timerq_queues(&f->tq), 3);
	event_base_dispatch(f->base);
	assert_int_equal(nfired, 6);
	{
		const unsigned want[6] = {3, 4, 5, 0, 1, 2};
		for (unsigned i = 0; i < 6; i++)
			assert_int_equal(order[i], want[i]);
	}
	assert_true(fired_at[3] + SLACK_MS >= 20 && fired_at[5] + SLACK_MS >= 40 &&
		    fired_at[0] + SLACK_MS >= 60);
	done(f);
}

static void test_rearm_and_delete(void **state)
{
	struct fixture *f = make();

	(void)state;
	assert_int_equal(timerq_add(&f->tq, f->ev[0], 20), 0);
	assert_int_equal(timerq_add(&f->tq, f->ev[1], 20), 0);
	assert_int_equal(timerq_add(&f->tq, f->ev[2], 20), 0);
	/* 0 moves behind 2 on its queue, then to another queue */
	assert_int_equal(timerq_add(&f->tq, f->ev[0], 20), 0);
	assert_int_equal(timerq_add(&f->tq, f->ev[0], 50), 0);
	evtimer_del(f->ev[1]);
	event_base_dispatch(f->base);
	assert_int_equal(nfired, 2);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 0);
	assert_true(fired_at[0] + SLACK_MS >= 50);
	assert_int_equal(fired_at[1], 0);
	done(f);
}

static void test_many_durations(void **state)
{
	struct fixture *f = make();

	(void)state;
	/* N distinct durations, armed longest first: they fire shortest first */
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(timerq_add(&f->tq, f->ev[i], 5u + (N - 1 - i)), 0);
	assert_int_equal(timerq_queues(&f->tq), TIMERQ_MAX);
	event_base_dispatch(f->base);
	assert_int_equal(nfired, N);
	/* each once, none early */
	{
		bool seen[N] = {false};
		for (unsigned k = 0; k < N; k++) {
			assert_false(seen[order[k]]);
			seen[order[k]] = true;
		}
	}
	for (unsigned i = 0; i < N; i++)
		assert_true(fired_at[i] + SLACK_MS >= 5u + (N - 1 - i));
	done(f);
}

static void test_zero(void **state)
{
	struct fixture *f = make();

	(void)state;
	assert_int_equal(timerq_add(&f->tq, f->ev[7], 0), 0);
	assert_int_equal(timerq_queues(&f->tq), 0);
	event_base_loop(f->base, EVLOOP_ONCE);
	assert_int_equal(nfired, 1);
	assert_int_equal(order[0], 7);
	done(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_interleave),
		cmocka_unit_test(test_rearm_and_delete),
		cmocka_unit_test(test_many_durations),
		cmocka_unit_test(test_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
