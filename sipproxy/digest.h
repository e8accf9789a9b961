/* digest: HTTP/SIP digest credentials (RFC 3261 section 22.4 and 25.1,
 * RFC 7616, RFC 8760): a strict parser for the value of an Authorization
 * or Proxy-Authorization header, and the hashes (HA1, HA2, response) for
 * the MD5 and SHA-256 algorithms with qop=auth.
 *
 * The parser reads attacker bytes: it is bounded (DIGEST_HDR_MAX bytes in,
 * DIGEST_MAX_PARAMS parameters, each value at most its field's size),
 * copies what it keeps into fixed buffers, refuses control characters,
 * duplicated parameters, and values that break the grammar; parameters it
 * does not know are checked for syntax and skipped (RFC 7616 section 3.5).
 */
#ifndef SIPPROXY_DIGEST_H
#define SIPPROXY_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define DIGEST_HDR_MAX 4096     /* longest header value parsed */
#define DIGEST_MAX_PARAMS 32
#define DIGEST_VAL_MAX 256      /* username, realm, nonce, cnonce, opaque; NUL included */
#define DIGEST_URI_MAX 1024     /* digest-uri; NUL included */
#define DIGEST_HEX_MAX 65       /* a SHA-256 digest in hex and its NUL */

enum digest_alg {
	DIGEST_MD5 = 0,
	DIGEST_SHA256 = 1,
};

/* One parsed credential. */
struct digest_cred {
	char username[DIGEST_VAL_MAX];
	char realm[DIGEST_VAL_MAX];
	char nonce[DIGEST_VAL_MAX];
	char uri[DIGEST_URI_MAX];
	char response[DIGEST_HEX_MAX]; /* lower-cased hex, the algorithm's length */
	char cnonce[DIGEST_VAL_MAX];
	char opaque[DIGEST_VAL_MAX];
	char nc[9];                    /* 8 hex digits, lower-cased; "" without qop */
	enum digest_alg alg;           /* "MD5" when absent (RFC 7616 section 3.4) */
	bool qop_auth;                 /* qop=auth (with cnonce and nc) */
};

/* Parse "Digest username=..., ..." (s need not be NUL-terminated). 0, or
 * -EINVAL (malformed, a required parameter missing or duplicated, a value
 * too long), -EPROTONOSUPPORT (a scheme other than Digest),
 * -ENOTSUP (an algorithm, qop or userhash=true this server does not
 * offer). c is zeroed first and is only meaningful on 0. */
int digest_parse(const char *s, size_t len, struct digest_cred *c);

/* Hex length of the algorithm's digest: 32 or 64. */
size_t digest_hex_len(enum digest_alg alg);

/* HA1 = H(username ":" realm ":" password) in lower-case hex. */
void digest_ha1(enum digest_alg alg, const char *user, const char *realm, const char *password,
		char out[DIGEST_HEX_MAX]);

/* The expected response for qop=auth (RFC 7616 section 3.4.1):
 * H(HA1 ":" nonce ":" nc ":" cnonce ":auth:" H(method ":" uri)). */
void digest_response(enum digest_alg alg, const char *ha1, const char *method, const char *uri,
		     const char *nonce, const char *nc, const char *cnonce, char out[DIGEST_HEX_MAX]);

/* a and b equal over len bytes, in time independent of where they differ. */
bool digest_equal(const char *a, const char *b, size_t len);

/* Whether s is exactly n lower-case hex digits. */
bool digest_is_hex(const char *s, size_t n);

#endif
