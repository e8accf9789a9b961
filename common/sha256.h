/* sha256: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for the
 * control channel's challenge-response (libcontrol's auth.c) and SIP
 * digest authentication (sipproxy's digest.c, RFC 7616). Small and
 * portable rather than fast: it hashes a few hundred bytes per connection
 * or request. */
#ifndef COMMON_SHA256_H
#define COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256_ctx {
	uint32_t h[8];
	uint64_t bytes; /* total input so far */
	uint8_t buf[64];
	size_t n;       /* bytes waiting in buf */
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *p, size_t n);
/* Write the digest and wipe the context. */
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_LEN]);

/* HMAC-SHA256 of msg under key (any length). */
void sha256_hmac(const void *key, size_t klen, const void *msg, size_t mlen,
		    uint8_t out[SHA256_LEN]);

/* A key made ready once for many MACs (sipproxy's per-request tags and
 * nonces): the hash states after the padded key's block, so each MAC
 * costs two fewer compressions. Wipe it with explicit_bzero() when done. */
struct sha256_hmac_key {
	struct sha256_ctx inner, outer;
};
void sha256_hmac_key_init(struct sha256_hmac_key *k, const void *key, size_t klen);
/* HMAC-SHA256 of msg under a prepared key: the same as sha256_hmac(). */
void sha256_hmac_keyed(const struct sha256_hmac_key *k, const void *msg, size_t mlen,
		       uint8_t out[SHA256_LEN]);

#endif
