/* evslice: running a libevent base in bounded slices, for the transport
 * tests (test_transport, test_transport_tls): nothing waits forever. */
#ifndef SIPPROXY_TESTS_EVSLICE_H
#define SIPPROXY_TESTS_EVSLICE_H

#include <event2/event.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Dispatch base for ms milliseconds. */
static inline void run_for(struct event_base *base, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Run base in 5 ms slices until cond holds or ms have passed. */
#define RUN_UNTIL(base, cond, ms)                                          \
	do {                                                               \
		uint64_t dl_ = mono_ms() + (ms);                           \
		while (!(cond) && mono_ms() < dl_)                         \
			run_for((base), 5);                                \
	} while (0)

#endif
