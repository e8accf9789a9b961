/* siphash: SipHash-2-4 (Aumasson and Bernstein, 2012), the keyed hash of
 * every table that hashes what a remote peer chooses. One copy for both
 * daemons, in common/.
 *
 * A table takes its own random key at creation (siphash_key_random(), from
 * getrandom()), so a sender cannot pick inputs that land in one bucket:
 * without the key, where an input lands is unpredictable (SipHash is a
 * PRF), unlike an unkeyed or merely seeded FNV/multiply mix whose
 * collisions do not depend on the seed.
 */
#ifndef COMMON_SIPHASH_H
#define COMMON_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/* The 128-bit key, as two little-endian words (k0 = bytes 0-7). */
struct siphash_key {
	uint64_t k0, k1;
};

/* A fresh random key from getrandom(); if the kernel cannot give one (it
 * always can once booted), a mix of the clock, the pid and an address,
 * which still differs per process. 0, or -errno of getrandom (key set
 * anyway). */
int siphash_key_random(struct siphash_key *k);

/* The key of the 16 bytes b (the reference implementation's layout). */
void siphash_key_bytes(struct siphash_key *k, const uint8_t b[16]);

/* SipHash-2-4 with a 64-bit output of len bytes at data. */
uint64_t siphash24(const struct siphash_key *k, const void *data, size_t len);

/* SipHash-2-4 of a NUL-terminated string (without the NUL). */
uint64_t siphash_str(const struct siphash_key *k, const char *s);

/* SipHash-2-4 of one 32-bit word (an IPv4 address, say). */
uint64_t siphash_u32(const struct siphash_key *k, uint32_t w);

#endif
