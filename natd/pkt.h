/* pkt: a bounds-checked view over one IPv4 packet.
 *
 * pkt_parse_ip4() validates in a fixed order (version, IHL >= 5, header
 * fits the bytes read, total length between header and bytes read, clamp
 * to total length, fragments, then the L4 header) and fills in the layer
 * offsets, reaching every byte through pkt_ptr(), which returns NULL rather
 * than a pointer past the valid length. Nothing else in natd reads a
 * header field before it has passed. After it, the translator (xlate.c)
 * reads and rewrites fields at fixed offsets inside what the parse proved
 * present (the IPv4 header; 8 bytes of UDP and ICMP; TCP up to its data
 * offset; in an ICMP error, the quote as pkt_parse_quoted() bounded it),
 * and writes a checksum beyond those only after checking it against
 * l4_len.
 */
#ifndef NATD_PKT_H
#define NATD_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct pkt {
	uint8_t *buf;      /* first byte of the IPv4 header */
	size_t len;        /* valid bytes: clamped to the IP total length */
	size_t l4_off;     /* IHL * 4 */
	size_t l4_len;     /* len - l4_off */
	uint8_t proto;     /* IPPROTO_* */
	uint16_t frag_off; /* byte offset of this fragment (0 for first/unfragmented) */
	bool more_frags;   /* MF flag */
	bool is_frag;      /* MF set or offset != 0 */
};

/* Pointer to n bytes at offset off, or NULL if they are not all valid. */
static inline void *pkt_ptr(const struct pkt *p, size_t off, size_t n)
{
	if (off > p->len || n > p->len - off)
		return NULL;
	return p->buf + off;
}

/* Validate an IPv4 packet of n bytes read into a buffer of capacity cap
 * (n == cap means the read was truncated). On success returns 0 and fills
 * *p; otherwise returns the drop reason (> 0). For a non-first fragment the
 * L4 header is not checked (it is not there). For a first fragment or a
 * whole packet of UDP, TCP or ICMP the L4 header must fit: 8 bytes for UDP,
 * the TCP data offset (>= 20) for TCP, 8 bytes for ICMP. UDP length is
 * checked against the IP payload for unfragmented packets. */
enum drop_reason pkt_parse_ip4(struct pkt *p, uint8_t *buf, size_t n, size_t cap);

/* Parse the IPv4 packet quoted in an ICMP error payload (RFC 792: header +
 * at least 8 bytes of L4). Laxer than pkt_parse_ip4: the quote may be
 * truncated below its total length, but the quoted IP header and the first
 * 8 bytes of L4 (ports / echo id) must be present and the quote must not be
 * a non-first fragment. */
enum drop_reason pkt_parse_quoted(struct pkt *q, uint8_t *buf, size_t n);

#endif
