/* timerq: common-timeout queues per duration (timerq.h).
 *
 * Theory of operation. A short table maps a duration in ms to the magic
 * timeval libevent's event_base_init_common_timeout() returns for it; an
 * event added with that timeval joins the duration's FIFO. The table only
 * grows (a base keeps its common timeouts until it is freed) and is
 * searched linearly: it holds a few entries, all hot. A duration that
 * finds no free entry, or 0 (due at once: nothing to queue behind), is
 * armed with a plain timeval.
 */
#include "timerq.h"

#include <event2/event.h>
#include <string.h>

void timerq_init(struct timerq *tq, struct event_base *base)
{
	memset(tq, 0, sizeof(*tq));
	tq->base = base;
}

int timerq_add(struct timerq *tq, struct event *ev, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000u, .tv_usec = (ms % 1000u) * 1000};
	const struct timeval *q = NULL;

	for (unsigned i = 0; ms && i < tq->n; i++)
		if (tq->q[i].ms == ms) {
			q = tq->q[i].tv;
			break;
		}
	if (ms && !q && tq->n < TIMERQ_MAX && (q = event_base_init_common_timeout(tq->base, &tv))) {
		tq->q[tq->n].ms = ms;
		tq->q[tq->n++].tv = q;
	}
	return evtimer_add(ev, q ? q : &tv);
}

unsigned timerq_queues(const struct timerq *tq)
{
	return tq->n;
}
