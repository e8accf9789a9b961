/* clock: the monotonic clock, read one way for the whole tree.
 *
 * Two readings. clock_mono_s() is the seconds clock every natd timer
 * compares against (binding expiry, fragments, leases, the PCP epoch, the
 * state file's ages): CLOCK_MONOTONIC_COARSE, a few nanoseconds a call on
 * the packet path, as coarse as the kernel tick, which no seconds timer
 * notices. Everything that keeps seconds must use this one clock, so that
 * values taken in different modules (and in the tests) compare.
 * clock_mono_ms() is CLOCK_MONOTONIC in milliseconds, for token buckets
 * and SIP transaction timers, where a tick (up to 4 ms) would show;
 * clock_mono_us() the same clock in microseconds, for durations shorter
 * than a millisecond (a BIND to a local natd).
 * Neither steps with the wall clock.
 */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>

/* Seconds of CLOCK_MONOTONIC_COARSE (they wrap after 136 years). */
uint32_t clock_mono_s(void);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t clock_mono_ms(void);

/* Microseconds of CLOCK_MONOTONIC. */
uint64_t clock_mono_us(void);

#endif
