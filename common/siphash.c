/* siphash: SipHash-2-4 (see siphash.h), after the paper's description:
 * four 64-bit words of state, 2 compression rounds per 8-byte block, the
 * last block holding the message length in its top byte, 4 finalisation
 * rounds.
 */
#include "siphash.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                                            \
	do {                                                                                \
		v0 += v1;                                                                   \
		v1 = ROTL(v1, 13);                                                          \
		v1 ^= v0;                                                                   \
		v0 = ROTL(v0, 32);                                                          \
		v2 += v3;                                                                   \
		v3 = ROTL(v3, 16);                                                          \
		v3 ^= v2;                                                                   \
		v0 += v3;                                                                   \
		v3 = ROTL(v3, 21);                                                          \
		v3 ^= v0;                                                                   \
		v2 += v1;                                                                   \
		v1 = ROTL(v1, 17);                                                          \
		v1 ^= v2;                                                                   \
		v2 = ROTL(v2, 32);                                                          \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void siphash_key_bytes(struct siphash_key *k, const uint8_t b[16])
{
	k->k0 = le64(b);
	k->k1 = le64(b + 8);
}

int siphash_key_random(struct siphash_key *k)
{
	uint8_t b[16];
	ssize_t n = getrandom(b, sizeof(b), 0);
	int rc = 0;

	if (n != (ssize_t)sizeof(b)) {
		struct timespec ts;

		rc = n < 0 ? -errno : -EIO;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		memset(b, 0, sizeof(b));
		k->k0 = (uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec ^ 0x736f6d6570736575ull;
		k->k1 = (uint64_t)getpid() << 40 ^ (uint64_t)(uintptr_t)k ^ 0x646f72616e646f6dull;
		return rc;
	}
	siphash_key_bytes(k, b);
	memset(b, 0, sizeof(b));
	return rc;
}

uint64_t siphash24(const struct siphash_key *k, const void *data, size_t len)
{
	const uint8_t *in = data, *end = in + (len - len % 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k->k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k->k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k->k0;
	uint64_t v3 = 0x7465646279746573ull ^ k->k1;
	uint64_t b = (uint64_t)len << 56, m;

	for (; in != end; in += 8) {
		m = le64(in);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < len % 8; i++)
		b |= (uint64_t)in[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t siphash_str(const struct siphash_key *k, const char *s)
{
	return siphash24(k, s, strlen(s));
}

uint64_t siphash_u32(const struct siphash_key *k, uint32_t w)
{
	uint8_t b[4] = {(uint8_t)w, (uint8_t)(w >> 8), (uint8_t)(w >> 16), (uint8_t)(w >> 24)};

	return siphash24(k, b, sizeof(b));
}
