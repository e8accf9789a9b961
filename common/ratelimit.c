/* ratelimit: per-source token buckets (see ratelimit.h).
 *
 * Tokens are kept in thousandths so that slow rates refill smoothly
 * without floating point. A bucket is refilled lazily when its source is
 * seen again: elapsed_ms * rate thousandths (a rate of r tokens a second
 * is r thousandths a millisecond), capped at the burst.
 */
#include "ratelimit.h"

#include <stdlib.h>

#include "clock.h"
#include "siphash.h"

struct bucket {
	uint32_t addr;      /* network byte order; 0 = free */
	struct tbucket tb;
};

struct ratelimit {
	uint32_t rate, burst;
	struct siphash_key key;  /* where a source's bucket lies: unpredictable */
	struct bucket b[RL_SLOTS];
};

struct ratelimit *rl_new(uint32_t rate, uint32_t burst)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl) {
		rl_set(rl, rate, burst);
		siphash_key_random(&rl->key);
	}
	return rl;
}

void rl_free(struct ratelimit *rl)
{
	free(rl);
}

void rl_set(struct ratelimit *rl, uint32_t rate, uint32_t burst)
{
	rl->rate = rate;
	rl->burst = burst ? burst : rate;
}

static uint32_t slot_of(const struct ratelimit *rl, uint32_t addr)
{
	return (uint32_t)(siphash_u32(&rl->key, addr) % RL_SLOTS);
}

bool tb_take(struct tbucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)(burst ? burst : rate) * 1000u;

	if (rate == 0)
		return true;
	if (!b->started) {
		b->started = true;
		b->milli = cap;
		b->last_ms = now_ms;
	} else if (now_ms > b->last_ms) {
		b->milli += (now_ms - b->last_ms) * rate;
		if (b->milli > cap)
			b->milli = cap;
		b->last_ms = now_ms;
	}
	if (b->milli < 1000u)
		return false;
	b->milli -= 1000u;
	return true;
}

bool rl_allow(struct ratelimit *rl, uint32_t addr, uint64_t now_ms)
{
	struct bucket *b = NULL, *victim = NULL;
	uint32_t s = slot_of(rl, addr);

	if (rl->rate == 0 || addr == 0)
		return true;
	for (unsigned i = 0; i < RL_PROBE; i++) {
		struct bucket *c = &rl->b[(s + i) % RL_SLOTS];
		if (c->addr == addr) {
			b = c;
			break;
		}
		/* a free bucket, else the one idle the longest */
		if (!victim ||
		    (victim->addr != 0 && (c->addr == 0 || c->tb.last_ms < victim->tb.last_ms)))
			victim = c;
	}
	if (!b) { /* a new source starts with a full bucket */
		b = victim;
		b->addr = addr;
		b->tb = (struct tbucket){0};
	}
	return tb_take(&b->tb, rl->rate, rl->burst, now_ms);
}

bool rl_once_per(struct ratelimit *rl, uint32_t addr, uint32_t every_s)
{
	return rl_allow(rl, addr, clock_mono_ms() / (every_s ? every_s : 1));
}
