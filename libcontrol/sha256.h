/* sha256: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), private to
 * libcontrol, for the control channel's challenge-response (auth.c). Small
 * and portable rather than fast: it hashes a few hundred bytes per
 * connection. */
#ifndef NC_SHA256_H
#define NC_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define NC_SHA256_LEN 32

struct nc_sha256 {
	uint32_t h[8];
	uint64_t bytes; /* total input so far */
	uint8_t buf[64];
	size_t n;       /* bytes waiting in buf */
};

void nc_sha256_init(struct nc_sha256 *c);
void nc_sha256_update(struct nc_sha256 *c, const void *p, size_t n);
/* Write the digest and wipe the context. */
void nc_sha256_final(struct nc_sha256 *c, uint8_t out[NC_SHA256_LEN]);

/* HMAC-SHA256 of msg under key (any length). */
void nc_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
		    uint8_t out[NC_SHA256_LEN]);

#endif
