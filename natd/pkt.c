/* pkt: IPv4 validation in a fixed order (after TAYGA's parse_ip4).
 *
 * The order matters: each step only reads fields that the previous steps
 * proved present. Lengths are clamped to the IP total length so trailing
 * link padding is never treated as payload.
 */
#include "pkt.h"

#include <netinet/in.h>
#include <netinet/ip.h>
#include <string.h>

#define IP_MF_BIT 0x2000
#define IP_OFF_MASK 0x1fff

/* A 16-bit header field as a number (host order): a length, an offset.
 * (xlate.c's ld16_net() keeps a field's bytes as they are.) */
static uint16_t rd16_host(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static enum drop_reason parse_l4(struct pkt *p, bool quoted)
{
	const uint8_t *l4;

	if (p->frag_off)
		return DROP_NONE; /* no L4 header in a non-first fragment */
	switch (p->proto) {
	case IPPROTO_UDP:
		if (!(l4 = pkt_ptr(p, p->l4_off, 8)))
			return DROP_L4_SHORT;
		if (!quoted && !p->is_frag) {
			uint16_t ulen = rd16_host(l4 + 4);
			if (ulen < 8 || ulen > p->l4_len)
				return DROP_UDP_LEN;
		}
		return DROP_NONE;
	case IPPROTO_TCP:
		if (quoted) /* RFC 792: only 8 bytes of the quoted L4 are promised */
			return pkt_ptr(p, p->l4_off, 8) ? DROP_NONE : DROP_L4_SHORT;
		if (!(l4 = pkt_ptr(p, p->l4_off, 20)))
			return DROP_L4_SHORT;
		{
			size_t doff = (size_t)(l4[12] >> 4) * 4;
			if (doff < 20 || !pkt_ptr(p, p->l4_off, doff))
				return DROP_L4_SHORT;
		}
		return DROP_NONE;
	case IPPROTO_ICMP:
		return pkt_ptr(p, p->l4_off, 8) ? DROP_NONE : DROP_L4_SHORT;
	default:
		return DROP_NONE; /* the caller decides what to do with it */
	}
}

static enum drop_reason parse_ip(struct pkt *p, uint8_t *buf, size_t n, bool quoted)
{
	size_t ihl, totlen;
	uint16_t off;

	memset(p, 0, sizeof(*p));
	if (n < 20)
		return DROP_SHORT;
	if ((buf[0] >> 4) != 4)
		return DROP_VERSION;
	ihl = (size_t)(buf[0] & 0x0f) * 4;
	if (ihl < 20 || ihl > n)
		return DROP_IHL;
	totlen = rd16_host(buf + 2);
	if (totlen < ihl)
		return DROP_TOTLEN;
	if (totlen > n) {
		if (!quoted)
			return DROP_TOTLEN;
		totlen = n; /* a quote may be cut short (RFC 792, RFC 1812 4.3.2.3) */
	}
	p->buf = buf;
	p->len = totlen;
	p->l4_off = ihl;
	p->l4_len = totlen - ihl;
	p->proto = buf[9];
	off = rd16_host(buf + 6);
	p->frag_off = (uint16_t)((off & IP_OFF_MASK) * 8);
	p->more_frags = (off & IP_MF_BIT) != 0;
	p->is_frag = p->more_frags || p->frag_off;
	if (quoted && p->frag_off)
		return DROP_ICMP_QUOTE;
	return parse_l4(p, quoted);
}

enum drop_reason pkt_parse_ip4(struct pkt *p, uint8_t *buf, size_t n, size_t cap)
{
	if (n >= cap)
		return DROP_TRUNCATED;
	return parse_ip(p, buf, n, false);
}

enum drop_reason pkt_parse_quoted(struct pkt *q, uint8_t *buf, size_t n)
{
	enum drop_reason r = parse_ip(q, buf, n, true);

	if (r == DROP_L4_SHORT || r == DROP_TOTLEN || r == DROP_IHL || r == DROP_SHORT ||
	    r == DROP_VERSION)
		return DROP_ICMP_QUOTE;
	return r;
}
