/* pktbuild: IPv4 test packet builder with its own reference checksum.
 * See pktbuild.h. Deliberately simple: byte-at-a-time big-endian words,
 * no tricks, so that it is obviously right and independent of csum.c. */
#include "pktbuild.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t pb_addr(const char *dotted)
{
	struct in_addr a;

	if (inet_pton(AF_INET, dotted, &a) != 1) {
		fprintf(stderr, "pb_addr: bad address %s\n", dotted);
		abort();
	}
	return a.s_addr;
}

void pb_set_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

uint16_t pb_get_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void pb_set_u32(uint8_t *p, uint32_t v_net)
{
	memcpy(p, &v_net, 4);
}

uint32_t pb_get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint32_t sum_bytes(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t pb_csum(const void *data, size_t len, uint32_t init)
{
	/* Fold as we go so huge buffers cannot overflow 32 bits. */
	const uint8_t *p = data;
	uint32_t sum = fold(init);

	while (len > 4096) {
		sum = fold(sum_bytes(p, 4096, sum));
		p += 4096;
		len -= 4096;
	}
	return (uint16_t)~fold(sum_bytes(p, len, sum));
}

uint32_t pb_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, size_t l4len)
{
	uint8_t ph[12];

	memcpy(ph, &src, 4);
	memcpy(ph + 4, &dst, 4);
	ph[8] = 0;
	ph[9] = proto;
	pb_set_u16(ph + 10, (uint16_t)l4len);
	return sum_bytes(ph, sizeof(ph), 0);
}

size_t pb_ihl(const uint8_t *buf)
{
	return (size_t)(buf[0] & 0x0f) * 4;
}

uint16_t pb_totlen(const uint8_t *buf)
{
	return pb_get_u16(buf + 2);
}

uint32_t pb_src(const uint8_t *buf)
{
	return pb_get_u32(buf + 12);
}

uint32_t pb_dst(const uint8_t *buf)
{
	return pb_get_u32(buf + 16);
}

uint8_t pb_proto(const uint8_t *buf)
{
	return buf[9];
}

uint8_t pb_ttl(const uint8_t *buf)
{
	return buf[8];
}

uint16_t pb_ip_id(const uint8_t *buf)
{
	return pb_get_u16(buf + 4);
}

uint16_t pb_ip_check(const uint8_t *buf)
{
	return pb_get_u16(buf + 10);
}

uint8_t *pb_l4(uint8_t *buf)
{
	return buf + pb_ihl(buf);
}

uint16_t pb_sport(const uint8_t *buf)
{
	const uint8_t *l4 = buf + pb_ihl(buf);

	return pb_proto(buf) == IPPROTO_ICMP ? pb_get_u16(l4 + 4) : pb_get_u16(l4);
}

uint16_t pb_dport(const uint8_t *buf)
{
	const uint8_t *l4 = buf + pb_ihl(buf);

	return pb_proto(buf) == IPPROTO_ICMP ? pb_get_u16(l4 + 4) : pb_get_u16(l4 + 2);
}

static size_t check_off(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_UDP:
		return 6;
	case IPPROTO_TCP:
		return 16;
	case IPPROTO_ICMP:
		return 2;
	default:
		return SIZE_MAX;
	}
}

uint16_t pb_l4_check(const uint8_t *buf)
{
	size_t off = check_off(pb_proto(buf));

	return off == SIZE_MAX ? 0 : pb_get_u16(buf + pb_ihl(buf) + off);
}

void pb_pattern(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static void ip_header(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t proto, size_t l4len)
{
	memset(buf, 0, 20);
	buf[0] = 0x45;
	pb_set_u16(buf + 2, (uint16_t)(20 + l4len));
	pb_set_u16(buf + 4, PB_IP_ID);
	buf[8] = 64;
	buf[9] = proto;
	pb_set_u32(buf + 12, src);
	pb_set_u32(buf + 16, dst);
	pb_fix_ip_csum(buf);
}

void pb_fix_ip_csum(uint8_t *buf)
{
	pb_set_u16(buf + 10, 0);
	pb_set_u16(buf + 10, pb_csum(buf, pb_ihl(buf), 0));
}

void pb_fix_l4_csum(uint8_t *buf, size_t len)
{
	uint8_t proto = pb_proto(buf);
	size_t ihl = pb_ihl(buf);
	size_t off = check_off(proto);
	size_t l4len = len - ihl;
	uint8_t *l4 = buf + ihl;
	uint16_t c;

	if (off == SIZE_MAX)
		return;
	pb_set_u16(l4 + off, 0);
	if (proto == IPPROTO_ICMP) {
		c = pb_csum(l4, l4len, 0);
	} else {
		c = pb_csum(l4, l4len, pb_pseudo_sum(pb_src(buf), pb_dst(buf), proto, l4len));
		if (proto == IPPROTO_UDP && c == 0)
			c = 0xffff;
	}
	pb_set_u16(l4 + off, c);
}

bool pb_ip_csum_ok(const uint8_t *buf)
{
	return pb_csum(buf, pb_ihl(buf), 0) == 0;
}

bool pb_l4_csum_ok(const uint8_t *buf, size_t len, bool allow_udp_zero)
{
	uint8_t proto = pb_proto(buf);
	size_t ihl = pb_ihl(buf);
	const uint8_t *l4 = buf + ihl;
	size_t l4len = len - ihl;

	switch (proto) {
	case IPPROTO_UDP:
		if (pb_get_u16(l4 + 6) == 0)
			return allow_udp_zero;
		/* fall through */
	case IPPROTO_TCP:
		return pb_csum(l4, l4len, pb_pseudo_sum(pb_src(buf), pb_dst(buf), proto, l4len)) == 0;
	case IPPROTO_ICMP:
		return pb_csum(l4, l4len, 0) == 0;
	default:
		return false;
	}
}

static size_t udp_common(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst,
			 uint16_t dport, size_t paylen, bool csum)
{
	size_t l4len = 8 + paylen;
	uint8_t *u = buf + 20;

	ip_header(buf, src, dst, IPPROTO_UDP, l4len);
	pb_set_u16(u, sport);
	pb_set_u16(u + 2, dport);
	pb_set_u16(u + 4, (uint16_t)l4len);
	pb_set_u16(u + 6, 0);
	pb_pattern(u + 8, paylen, sport ^ dport);
	if (csum)
		pb_fix_l4_csum(buf, 20 + l4len);
	return 20 + l4len;
}

size_t pb_udp(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
	      size_t paylen)
{
	return udp_common(buf, src, sport, dst, dport, paylen, true);
}

size_t pb_udp_nocsum(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst,
		     uint16_t dport, size_t paylen)
{
	return udp_common(buf, src, sport, dst, dport, paylen, false);
}

size_t pb_tcp(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
	      uint8_t flags, size_t paylen)
{
	size_t l4len = 20 + paylen;
	uint8_t *t = buf + 20;

	ip_header(buf, src, dst, IPPROTO_TCP, l4len);
	memset(t, 0, 20);
	pb_set_u16(t, sport);
	pb_set_u16(t + 2, dport);
	pb_set_u32(t + 4, htonl(0x01020304));
	pb_set_u32(t + 8, (flags & PB_ACK) ? htonl(0x0a0b0c0d) : 0);
	t[12] = 5 << 4;
	t[13] = flags;
	pb_set_u16(t + 14, 65535);
	pb_pattern(t + 20, paylen, sport);
	pb_fix_l4_csum(buf, 20 + l4len);
	return 20 + l4len;
}

size_t pb_icmp_echo(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t type, uint16_t id,
		    uint16_t seq, size_t paylen)
{
	size_t l4len = 8 + paylen;
	uint8_t *ic = buf + 20;

	ip_header(buf, src, dst, IPPROTO_ICMP, l4len);
	ic[0] = type;
	ic[1] = 0;
	pb_set_u16(ic + 2, 0);
	pb_set_u16(ic + 4, id);
	pb_set_u16(ic + 6, seq);
	pb_pattern(ic + 8, paylen, id);
	pb_fix_l4_csum(buf, 20 + l4len);
	return 20 + l4len;
}

size_t pb_icmp_error(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t type, uint8_t code,
		     const uint8_t *quote, size_t qlen)
{
	size_t l4len = 8 + qlen;
	uint8_t *ic = buf + 20;

	ip_header(buf, src, dst, IPPROTO_ICMP, l4len);
	memset(ic, 0, 8);
	ic[0] = type;
	ic[1] = code;
	memmove(ic + 8, quote, qlen);
	pb_fix_l4_csum(buf, 20 + l4len);
	return 20 + l4len;
}

size_t pb_raw(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t proto, const void *l4,
	      size_t l4len)
{
	ip_header(buf, src, dst, proto, l4len);
	memmove(buf + 20, l4, l4len);
	return 20 + l4len;
}

size_t pb_fragment(uint8_t *out, const uint8_t *pkt, size_t off, size_t len, bool mf)
{
	size_t ihl = pb_ihl(pkt);
	uint16_t fo;

	memcpy(out, pkt, ihl);
	memcpy(out + ihl, pkt + ihl + off, len);
	pb_set_u16(out + 2, (uint16_t)(ihl + len));
	fo = (uint16_t)((off / 8) | (mf ? 0x2000 : 0));
	pb_set_u16(out + 6, fo);
	pb_fix_ip_csum(out);
	return ihl + len;
}

size_t pb_reassemble(uint8_t *out, uint8_t *const frags[], const size_t lens[], size_t n)
{
	size_t i, ihl = 0, end = 0, covered = 0;
	bool have_first = false, have_last = false;

	for (i = 0; i < n; i++) {
		const uint8_t *f = frags[i];
		size_t fihl = pb_ihl(f);
		uint16_t fo = pb_get_u16(f + 6);
		size_t off = (size_t)(fo & 0x1fff) * 8;
		size_t dlen = lens[i] - fihl;

		if (off == 0) {
			memcpy(out, f, fihl);
			ihl = fihl;
			have_first = true;
		}
		if (!(fo & 0x2000)) {
			have_last = true;
			end = off + dlen;
		}
		covered += dlen;
	}
	if (!have_first || !have_last || covered != end)
		return 0;
	for (i = 0; i < n; i++) {
		const uint8_t *f = frags[i];
		size_t fihl = pb_ihl(f);
		size_t off = (size_t)(pb_get_u16(f + 6) & 0x1fff) * 8;

		memcpy(out + ihl + off, f + fihl, lens[i] - fihl);
	}
	pb_set_u16(out + 2, (uint16_t)(ihl + end));
	pb_set_u16(out + 6, 0);
	pb_fix_ip_csum(out);
	return ihl + end;
}
