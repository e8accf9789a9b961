/* timerq: libevent timers for the many that share a few durations.
 *
 * A proxy arms a timer per transaction and per call, each for one of a
 * handful of durations (RFC 3261's T1 and its doublings, T2, T4, 64*T1,
 * Timer C, half a binding's lease). libevent keeps timers in a heap: with
 * ~10^5 of them waiting, each add and each removal costs log n cache
 * misses. A libevent "common timeout" is a FIFO per duration instead, O(1)
 * either way, and exact since timers of one duration expire in the order
 * they were armed. timerq_add() gives each new duration its common timeout
 * until TIMERQ_MAX of them exist; other durations go to the heap.
 */
#ifndef SIPPROXY_TIMERQ_H
#define SIPPROXY_TIMERQ_H

#include <sys/time.h>

struct event;
struct event_base;

#define TIMERQ_MAX 16u

struct timerq {
	struct event_base *base;
	unsigned n;
	struct {
		unsigned ms;
		const struct timeval *tv;
	} q[TIMERQ_MAX];
};

/* Ready to arm timers of base (no allocation: nothing to free). */
void timerq_init(struct timerq *tq, struct event_base *base);

/* (Re)start ev, a timer of tq's base, to fire in ms (0: at the next loop
 * pass). 0 or -1, as evtimer_add(). */
int timerq_add(struct timerq *tq, struct event *ev, unsigned ms);

/* How many durations have their own queue (tests, status). */
unsigned timerq_queues(const struct timerq *tq);

#endif
