/* md5: MD5 (RFC 1321), only for sipproxy's SIP digest authentication (RFC 2617,
 * RFC 7616's "MD5" algorithm kept for interoperability with phones that
 * know nothing else). Not for anything that needs collision resistance. */
#ifndef COMMON_MD5_H
#define COMMON_MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_LEN 16

struct md5_ctx {
	uint32_t h[4];
	uint64_t bytes; /* total input so far */
	uint8_t buf[64];
	size_t n;       /* bytes waiting in buf */
};

void md5_init(struct md5_ctx *c);
void md5_update(struct md5_ctx *c, const void *p, size_t n);
/* Write the digest and wipe the context. */
void md5_final(struct md5_ctx *c, uint8_t out[MD5_LEN]);

#endif
