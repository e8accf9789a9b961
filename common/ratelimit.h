/* ratelimit: per-source token buckets, bounded memory. One shared copy for
 * sipproxy (sip.rate_limit) and natd (table.new_flows_per_host).
 *
 * One bucket per source IPv4 address, holding up to `burst` tokens and
 * refilled at `rate` tokens a second. A fixed table of RL_SLOTS buckets,
 * open addressing over a short probe window: when the window is full, the
 * bucket idle the longest in it is recycled (a recycled source starts with
 * a full bucket, so a flood of spoofed sources cannot lock a real one
 * out; it can only cost the flooder its own tokens). Time is passed in
 * (milliseconds) so tests control it.
 */
#ifndef COMMON_RATELIMIT_H
#define COMMON_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RL_SLOTS 8192u
#define RL_PROBE 8u

/* One token bucket, in thousandths of a token. Zeroed = not started: the
 * first take fills it. */
struct tbucket {
	uint64_t last_ms; /* last refill */
	uint64_t milli;   /* tokens x 1000 */
	bool started;
};

/* Take a token from b at now_ms, refilling it at rate tokens a second up
 * to burst (0: rate) first: true if there was one. rate 0: always true. */
bool tb_take(struct tbucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms);

struct ratelimit;

/* rate: tokens per second (0: never limit); burst: bucket size (0: rate). */
struct ratelimit *rl_new(uint32_t rate, uint32_t burst);
void rl_free(struct ratelimit *rl);

/* Change the rate and burst (a reload); buckets keep their tokens. */
void rl_set(struct ratelimit *rl, uint32_t rate, uint32_t burst);

/* Take a token for addr (network byte order) at now_ms: true if allowed. */
bool rl_allow(struct ratelimit *rl, uint32_t addr, uint64_t now_ms);

/* "Log this once per address per every_s seconds": for a table made with
 * rl_new(1, 1), true at most once per every_s for addr (the clock is read
 * here and slowed every_s times, so one token lasts every_s seconds). */
bool rl_once_per(struct ratelimit *rl, uint32_t addr, uint32_t every_s);

#endif
