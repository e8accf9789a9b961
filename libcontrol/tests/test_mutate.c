/* Randomized mutation test of the decoder (deterministic seed, bounded).
 *
 * Each fixture is encoded and then damaged many times: bits flipped,
 * bytes overwritten with random or boundary values, truncated, extended,
 * bytes inserted or deleted, a span duplicated or a TLV length rewritten.
 * Half the time the header's length field is set to the new size so the
 * damage reaches the TLV walk instead of stopping at the length check.
 * For every mutant, on an exact-size heap copy (so the sanitizer build
 * sees any overread):
 *  - nc_frame() returns an error, 0 or a length no greater than the input;
 *  - nc_decode() either fails with an NC_E_* code or yields a message that
 *    re-encodes to exactly the mutant (or, when unknown optional TLVs were
 *    skipped, to a message that decodes and re-encodes to itself).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcontrol/msg.h>

#include "fixtures.h"

#define ROUNDS 4000 /* mutants per fixture */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static uint32_t below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

static const uint8_t specials[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x20, 0x10};

/* Mutate p[0..n) into out (room for NC_MSG_MAX + 64); returns the new size. */
static size_t mutate(const uint8_t *p, size_t n, uint8_t *out)
{
	size_t len = n, i, k, at;
	unsigned ops = 1 + below(3);

	memcpy(out, p, n);
	while (ops--) {
		switch (below(9)) {
		case 0: /* flip bits */
			for (k = 1 + below(3); k--;)
				if (len)
					out[below((uint32_t)len)] ^= (uint8_t)(1u << below(8));
			break;
		case 1: /* random byte */
			if (len)
				out[below((uint32_t)len)] = (uint8_t)rnd();
			break;
		case 2: /* boundary byte */
			if (len)
				out[below((uint32_t)len)] = specials[below(sizeof(specials))];
			break;
		case 3: /* truncate */
			len = below((uint32_t)len + 1);
			break;
		case 4: /* extend */
			for (k = 1 + below(8); k-- && len < NC_MSG_MAX + 32;)
				out[len++] = (uint8_t)rnd();
			break;
		case 5: /* insert a byte */
			if (len < NC_MSG_MAX + 32) {
				at = below((uint32_t)len + 1);
				memmove(out + at + 1, out + at, len - at);
				out[at] = (uint8_t)rnd();
				len++;
			}
			break;
		case 6: /* delete a byte */
			if (len) {
				at = below((uint32_t)len);
				memmove(out + at, out + at + 1, len - at - 1);
				len--;
			}
			break;
		case 7: /* duplicate a span at its end (repeats TLVs) */
			if (len > NC_HDR_LEN) {
				at = NC_HDR_LEN + below((uint32_t)(len - NC_HDR_LEN));
				k = 1 + below((uint32_t)(len - at));
				if (len + k <= NC_MSG_MAX + 32) {
					memmove(out + at + k, out + at, len - at);
					len += k;
				}
			}
			break;
		case 8: /* rewrite a 16-bit field at an even body offset (TLV type/length) */
			if (len >= NC_HDR_LEN + 4) {
				at = NC_HDR_LEN + 2 * below((uint32_t)(len - NC_HDR_LEN - 2) / 2);
				i = below(4);
				k = i == 0 ? 0 : i == 1 ? 0xffff : below(64);
				out[at] = (uint8_t)(k >> 8);
				out[at + 1] = (uint8_t)k;
			}
			break;
		}
	}
	if (len >= 12 && below(2)) {
		out[8] = (uint8_t)(len >> 24);
		out[9] = (uint8_t)(len >> 16);
		out[10] = (uint8_t)(len >> 8);
		out[11] = (uint8_t)len;
	}
	return len;
}

static void test_mutations(void **state)
{
	static uint8_t enc[NC_MSG_MAX], mut[NC_MSG_MAX + 64], re[NC_MSG_MAX], re2[NC_MSG_MAX];
	struct nc_msg *m = calloc(1, sizeof(*m)), *d = calloc(1, sizeof(*d));
	unsigned i, r, accepted = 0, refused = 0, skipped = 0, total = 0;
	unsigned by_err[32] = {0};

	(void)state;
	assert_non_null(m);
	assert_non_null(d);
	for (i = 0; i < fx_count(); i++) {
		const char *name = fx_build(i, m);
		int n = nc_encode_msg(enc, sizeof(enc), m);
		unsigned rounds = n > 4096 ? ROUNDS / 8 : ROUNDS;

		assert_true(n > 0);
		for (r = 0; r < rounds; r++) {
			size_t len = mutate(enc, (size_t)n, mut);
			uint8_t *copy = malloc(len ? len : 1);
			int f, err, n2, n3;

			assert_non_null(copy);
			memcpy(copy, mut, len);
			total++;
			f = nc_frame(copy, len);
			assert_true(f <= 0 || (size_t)f <= len);
			err = nc_decode(copy, len, d);
			if (err < 0) {
				if (err > NC_E_SHORT || err < NC_E_INVAL)
					fail_msg("%s round %u: odd error %d", name, r, err);
				by_err[-err - 1001]++;
				refused++;
				free(copy);
				continue;
			}
			assert_int_equal(err, 0);
			assert_int_equal(f, (int)len);
			accepted++;
			n2 = nc_encode_msg(re, sizeof(re), d);
			if (n2 < 0)
				fail_msg("%s round %u: accepted but not re-encodable: %s", name, r,
					 nc_strerror(n2));
			if (d->skipped == 0) {
				if ((size_t)n2 != len || memcmp(re, copy, len))
					fail_msg("%s round %u: re-encoding differs", name, r);
			} else {
				skipped++;
				assert_int_equal(nc_decode(re, (size_t)n2, d), 0);
				assert_int_equal(d->skipped, 0);
				n3 = nc_encode_msg(re2, sizeof(re2), d);
				assert_int_equal(n3, n2);
				assert_memory_equal(re, re2, (size_t)n2);
			}
			free(copy);
		}
	}
	printf("mutants %u: accepted %u (%u with skipped TLVs), refused %u\n", total, accepted,
	       skipped, refused);
	for (i = 0; i < 32; i++)
		if (by_err[i])
			printf("  %-40s %u\n", nc_strerror(-(int)i - 1001), by_err[i]);
	/* The mutator must reach deep into the decoder, not just the header. */
	assert_true(by_err[-NC_E_RANGE - 1001] > 0);
	assert_true(by_err[-NC_E_STRING - 1001] > 0);
	assert_true(by_err[-NC_E_CRITICAL - 1001] > 0);
	assert_true(by_err[-NC_E_TRUNCATED - 1001] > 0);
	assert_true(accepted > 0);
	free(m);
	free(d);
}

/* Random bytes behind a valid header: nothing but clean failures. */
static void test_random_bodies(void **state)
{
	static uint8_t buf[2048];
	struct nc_msg *d = calloc(1, sizeof(*d));
	static const uint16_t types[] = {NC_MSG_BIND, NC_MSG_LIST_ITEM, NC_MSG_CAPS_R,
					 NC_MSG_STATS_R, NC_MSG_HELLO, NC_MSG_EVENT};
	unsigned r;

	(void)state;
	assert_non_null(d);
	for (r = 0; r < 20000; r++) {
		size_t len = NC_HDR_LEN + below(sizeof(buf) - NC_HDR_LEN), k;
		uint16_t t = types[below(sizeof(types) / sizeof(types[0]))];
		uint8_t *copy;
		int err;

		buf[0] = NC_MAGIC0, buf[1] = NC_MAGIC1, buf[2] = NC_PROTO_VERSION, buf[3] = 0;
		buf[4] = (uint8_t)(t >> 8), buf[5] = (uint8_t)t, buf[6] = buf[7] = 0;
		buf[8] = 0, buf[9] = 0, buf[10] = (uint8_t)(len >> 8), buf[11] = (uint8_t)len;
		buf[12] = 0, buf[13] = 0, buf[14] = 0, buf[15] = 1;
		for (k = NC_HDR_LEN; k < len; k++)
			buf[k] = (uint8_t)rnd();
		copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, buf, len);
		err = nc_decode(copy, len, d);
		assert_true(err == 0 || (err <= NC_E_SHORT && err >= NC_E_INVAL));
		free(copy);
	}
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_random_bodies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
