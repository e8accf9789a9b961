/* Unit tests for common/sha256.c and auth.c: SHA-256 against FIPS 180-4 example
 * vectors (including the million-'a' message and inputs around the 55/56/64
 * byte padding edges, fed in pieces), HMAC-SHA256 against RFC 4231 test
 * cases 1-7 (one-shot and with a prepared key), and the challenge-response
 * MACs of libcontrol/proto.h section 6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <libcontrol/auth.h>
#include <libcontrol/msg.h>

#include "sha256.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
	size_t i;

	assert_int_equal(strlen(h), 2 * n);
	for (i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void check_sha(const void *msg, size_t len, const char *hex)
{
	uint8_t want[32], got[32];
	struct sha256_ctx c;
	size_t i;

	unhex(hex, want, 32);
	sha256_init(&c);
	sha256_update(&c, msg, len);
	sha256_final(&c, got);
	assert_memory_equal(got, want, 32);
	/* The same fed one byte at a time. */
	sha256_init(&c);
	for (i = 0; i < len; i++)
		sha256_update(&c, (const uint8_t *)msg + i, 1);
	sha256_final(&c, got);
	assert_memory_equal(got, want, 32);
}

static void test_sha256_fips(void **state)
{
	static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char m896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
				   "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

	(void)state;
	check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha(m448, strlen(m448),
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check_sha(m896, strlen(m896),
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_sha256_million(void **state)
{
	static uint8_t a[1000];
	uint8_t want[32], got[32];
	struct sha256_ctx c;
	unsigned i;

	(void)state;
	memset(a, 'a', sizeof(a));
	unhex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", want, 32);
	sha256_init(&c);
	for (i = 0; i < 1000; i++)
		sha256_update(&c, a, sizeof(a));
	sha256_final(&c, got);
	assert_memory_equal(got, want, 32);
}

/* 55, 56, 63, 64 and 65 bytes of 'a': one or two padding blocks. */
static void test_sha256_padding_edges(void **state)
{
	static const struct {
		size_t n;
		const char *hex;
	} v[] = {
		{55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318"},
		{56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a"},
		{63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34"},
		{64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"},
		{65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0"},
	};
	uint8_t a[65];
	size_t i;

	(void)state;
	memset(a, 'a', sizeof(a));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		check_sha(a, v[i].n, v[i].hex);
}

static void check_hmac(const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen,
		       const char *hex, size_t outlen)
{
	uint8_t want[32], got[32];

	struct sha256_hmac_key hk;

	unhex(hex, want, outlen);
	sha256_hmac(key, klen, msg, mlen, got);
	assert_memory_equal(got, want, outlen);
	/* a prepared key gives the same MAC, again and again */
	sha256_hmac_key_init(&hk, key, klen);
	for (int i = 0; i < 2; i++) {
		memset(got, 0, sizeof(got));
		sha256_hmac_keyed(&hk, msg, mlen, got);
		assert_memory_equal(got, want, outlen);
	}
}

/* RFC 4231 section 4: test cases 1 to 7 (HMAC-SHA-256 results). */
static void test_hmac_rfc4231(void **state)
{
	uint8_t key[131], data[50];
	static const char long_msg[] = "This is a test using a larger than block-size key and a "
				       "larger than block-size data. The key needs to be hashed "
				       "before being used by the HMAC algorithm.";

	(void)state;
	memset(key, 0x0b, 20);
	check_hmac(key, 20, (const uint8_t *)"Hi There", 8,
		   "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32);
	check_hmac((const uint8_t *)"Jefe", 4, (const uint8_t *)"what do ya want for nothing?",
		   28, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32);
	memset(key, 0xaa, 20);
	memset(data, 0xdd, 50);
	check_hmac(key, 20, data, 50,
		   "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 32);
	for (unsigned i = 0; i < 25; i++)
		key[i] = (uint8_t)(i + 1);
	memset(data, 0xcd, 50);
	check_hmac(key, 25, data, 50,
		   "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 32);
	memset(key, 0x0c, 20);
	check_hmac(key, 20, (const uint8_t *)"Test With Truncation", 20,
		   "a3b6167473100ee06e0c796c2955552b", 16);
	memset(key, 0xaa, 131);
	check_hmac(key, 131,
		   (const uint8_t *)"Test Using Larger Than Block-Size Key - Hash Key First", 54,
		   "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32);
	check_hmac(key, 131, (const uint8_t *)long_msg, strlen(long_msg),
		   "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 32);
}

/* The MAC is HMAC-SHA256(K, label | role | Ns | Nc), each side's differs,
 * and a wrong secret, nonce or role does not verify. */
static void test_auth_mac(void **state)
{
	static const char secret[] = "correct horse battery staple";
	uint8_t ns[NC_NONCE_LEN], nc[NC_NONCE_LEN], cm[NC_MAC_LEN], sm[NC_MAC_LEN], ref[32];
	uint8_t in[15 + 1 + 64];
	size_t i;

	(void)state;
	for (i = 0; i < NC_NONCE_LEN; i++) {
		ns[i] = (uint8_t)i;
		nc[i] = (uint8_t)(0x20 + i);
	}
	assert_int_equal(nc_auth_mac(secret, strlen(secret), NC_AUTH_CLIENT, ns, nc, cm), 0);
	assert_int_equal(nc_auth_mac(secret, strlen(secret), NC_AUTH_SERVER, ns, nc, sm), 0);
	assert_memory_not_equal(cm, sm, NC_MAC_LEN);
	memcpy(in, "natedge-auth-v1", 15);
	in[15] = 'C';
	memcpy(in + 16, ns, 32);
	memcpy(in + 48, nc, 32);
	sha256_hmac(secret, strlen(secret), in, sizeof(in), ref);
	assert_memory_equal(cm, ref, NC_MAC_LEN);

	assert_true(nc_auth_check(secret, strlen(secret), NC_AUTH_CLIENT, ns, nc, cm));
	assert_true(nc_auth_check(secret, strlen(secret), NC_AUTH_SERVER, ns, nc, sm));
	assert_false(nc_auth_check(secret, strlen(secret), NC_AUTH_SERVER, ns, nc, cm));
	assert_false(nc_auth_check("wrong", 5, NC_AUTH_CLIENT, ns, nc, cm));
	ns[0] ^= 1;
	assert_false(nc_auth_check(secret, strlen(secret), NC_AUTH_CLIENT, ns, nc, cm));
	ns[0] ^= 1;
	cm[31] ^= 0x80;
	assert_false(nc_auth_check(secret, strlen(secret), NC_AUTH_CLIENT, ns, nc, cm));
	assert_int_equal(nc_auth_mac(secret, 0, NC_AUTH_CLIENT, ns, nc, cm), NC_E_INVAL);
	assert_int_equal(nc_auth_mac(secret, 3, 'X', ns, nc, cm), NC_E_INVAL);
	assert_false(nc_auth_check(secret, 3, NC_AUTH_CLIENT, ns, nc, NULL));
}

static void test_auth_nonce(void **state)
{
	uint8_t a[NC_NONCE_LEN], b[NC_NONCE_LEN], zero[NC_NONCE_LEN] = {0};

	(void)state;
	assert_int_equal(nc_auth_nonce(a), 0);
	assert_int_equal(nc_auth_nonce(b), 0);
	assert_memory_not_equal(a, b, NC_NONCE_LEN);
	assert_memory_not_equal(a, zero, NC_NONCE_LEN);
	assert_int_equal(nc_auth_nonce(NULL), NC_E_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_fips),
		cmocka_unit_test(test_sha256_million),
		cmocka_unit_test(test_sha256_padding_edges),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_auth_mac),
		cmocka_unit_test(test_auth_nonce),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
