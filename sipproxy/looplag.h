/* looplag: how late sipproxy's event loop runs, for the status view.
 *
 * A debug meter for pauses of the loop (a long pass of callbacks, a big
 * free, the process not scheduled): a timer is due every LOOPLAG_PERIOD_MS
 * and records how late it fired. A pause of X ms delays the timer by up
 * to X ms, so the largest lateness is the longest pause the loop had (to
 * within the period). The status view shows it (`loop` line).
 */
#ifndef SIPPROXY_LOOPLAG_H
#define SIPPROXY_LOOPLAG_H

#include <stdbool.h>
#include <stdint.h>

#define LOOPLAG_PERIOD_MS 20

struct event_base;
struct looplag;

struct looplag_stats {
	uint64_t samples;        /* timer firings */
	uint64_t over_10ms;      /* of them later than 10 ms */
	uint64_t over_50ms;      /* ... than 50 ms */
	uint32_t max_us;         /* the largest lateness since start */
	uint32_t window_max_us;  /* ... since the last looplag_get(reset) */
};

/* Start the meter on base. NULL when out of memory. */
struct looplag *looplag_new(struct event_base *base);
void looplag_free(struct looplag *ll);

/* The figures; reset starts a new window for window_max_us. */
void looplag_get(struct looplag *ll, struct looplag_stats *st, bool reset);

#endif
