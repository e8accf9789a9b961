/* prefix: the IPv4 prefix, one type and one grammar for both daemons
 * (natd's realms, pools, policies and control allow-lists; sipproxy's
 * realms, routes, trusted peers and allow_from).
 *
 * A prefix is written "a.b.c.d/len" (len 0..32, decimal) or "a.b.c.d", a
 * /32. Host bits must be clear: "10.1.0.1/24" is almost always a typo, so
 * it is refused, but the parser says so apart (-EDOM) and hands back the
 * prefix it would be, for the error message. Address and mask are kept in
 * network byte order, as packets and sockets carry them, so matching is
 * one AND and one compare.
 */
#ifndef COMMON_PREFIX_H
#define COMMON_PREFIX_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* addr and mask in network byte order; addr has no host bits. */
struct prefix {
	uint32_t addr;
	uint32_t mask;
	uint8_t len;
};

/* "255.255.255.255/32" and its NUL. */
#define PREFIX_STRLEN (INET_ADDRSTRLEN + 3)

/* Parse "a.b.c.d/len" or "a.b.c.d" (as /32). 0; -EINVAL if s is not a
 * prefix; -EDOM if host bits are set (out then holds s's address with
 * them cleared). */
int prefix_parse(const char *s, struct prefix *out);

/* The mask of a len-bit prefix, network byte order (len over 32: 32). */
uint32_t prefix_mask(unsigned len);

/* "a.b.c.d/len" into buf (PREFIX_STRLEN bytes suffice); returns buf. */
const char *prefix_fmt(const struct prefix *p, char *buf, size_t n);

/* Whether addr (network byte order) lies in p. */
static inline bool prefix_match(const struct prefix *p, uint32_t addr)
{
	return (addr & p->mask) == p->addr;
}

#endif
