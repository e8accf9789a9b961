/* looplag: lateness of a periodic timer as a measure of loop pauses
 * (interface in looplag.h).
 *
 * Theory of operation. One libevent timer, re-armed by hand each time it
 * fires (not EV_PERSIST, whose schedule would absorb the lateness): at
 * each firing the lateness is now - due on CLOCK_MONOTONIC, in µs, and the
 * next due time is now + period. Nothing is allocated per firing; at
 * 50 firings a second the meter costs nothing measurable.
 */
#include "looplag.h"

#include <event2/event.h>
#include <stdlib.h>

#include "clock.h"

struct looplag {
	struct event *ev;
	uint64_t due_us;
	struct looplag_stats st;
};

static void arm(struct looplag *ll)
{
	struct timeval tv = {0, LOOPLAG_PERIOD_MS * 1000};

	ll->due_us = clock_mono_us() + LOOPLAG_PERIOD_MS * 1000u;
	evtimer_add(ll->ev, &tv);
}

static void fired(evutil_socket_t fd, short what, void *arg)
{
	struct looplag *ll = arg;
	uint64_t now = clock_mono_us();
	uint32_t late = now > ll->due_us ? (uint32_t)(now - ll->due_us) : 0;

	(void)fd;
	(void)what;
	ll->st.samples++;
	if (late > 10000)
		ll->st.over_10ms++;
	if (late > 50000)
		ll->st.over_50ms++;
	if (late > ll->st.max_us)
		ll->st.max_us = late;
	if (late > ll->st.window_max_us)
		ll->st.window_max_us = late;
	arm(ll);
}

struct looplag *looplag_new(struct event_base *base)
{
	struct looplag *ll = calloc(1, sizeof(*ll));

	if (!ll)
		return NULL;
	if (!(ll->ev = evtimer_new(base, fired, ll))) {
		free(ll);
		return NULL;
	}
	arm(ll);
	return ll;
}

void looplag_free(struct looplag *ll)
{
	if (!ll)
		return;
	event_free(ll->ev);
	free(ll);
}

void looplag_get(struct looplag *ll, struct looplag_stats *st, bool reset)
{
	*st = ll->st;
	if (reset)
		ll->st.window_max_us = 0;
}
