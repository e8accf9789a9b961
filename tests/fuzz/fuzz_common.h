/* fuzz_common: what every natedge libFuzzer harness shares.
 *
 * Determinism: the code under test seeds its hashes, pool searches, SIP
 * branches and tags from getrandom(). The harnesses are linked with
 * -Wl,--wrap=getrandom, so those calls get __wrap_getrandom's bytes: a
 * fixed stream that fuzz_rand_reset() restarts, called at the start of
 * every input. The same input then always takes the same path.
 */
#ifndef NATEDGE_FUZZ_COMMON_H
#define NATEDGE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Restart the getrandom() stream (call first thing for each input). */
void fuzz_rand_reset(void);

/* A byte reader over the fuzzer's input: past the end it yields zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fin_u8(struct fuzz_in *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static inline uint16_t fin_u16(struct fuzz_in *in)
{
	uint16_t hi = fin_u8(in);

	return (uint16_t)(hi << 8 | fin_u8(in));
}

/* Abort with a message: an invariant a harness checks does not hold
 * (libFuzzer reports it as a crash and saves the input). */
void fuzz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define FUZZ_CHECK(cond, ...)                                                  \
	do {                                                                   \
		if (!(cond))                                                   \
			fuzz_fail(__VA_ARGS__);                                \
	} while (0)

#endif
