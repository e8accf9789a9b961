/* pool: port bitmaps per (external address, protocol).
 *
 * Bit set = port in use. A search walks 64-bit words from a random start
 * so consecutive allocations are not predictable (RFC 6056), masking the
 * port range and, with parity, the ports of the wrong parity.
 */
#include "pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define WORDS_PER_MAP 1024 /* 65536 bits */
#define EVEN_MASK 0x5555555555555555ull /* bits of even ports */

static uint64_t *map_of(const struct pool *p, unsigned ai, enum pool_proto proto)
{
	return p->used + ((size_t)ai * POOL_NPROTO + proto) * WORDS_PER_MAP;
}

int pool_proto_of(uint8_t ipproto)
{
	switch (ipproto) {
	case IPPROTO_UDP: return POOL_UDP;
	case IPPROTO_TCP: return POOL_TCP;
	case IPPROTO_ICMP: return POOL_ICMP;
	default: return -1;
	}
}

static uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

struct pool *pool_new(const uint32_t *addrs, unsigned naddrs, uint16_t lo, uint16_t hi)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (!p || naddrs == 0 || lo > hi)
		goto fail;
	p->addrs = malloc(naddrs * sizeof(*addrs));
	p->used = calloc((size_t)naddrs * POOL_NPROTO * WORDS_PER_MAP, sizeof(uint64_t));
	if (!p->addrs || !p->used)
		goto fail;
	memcpy(p->addrs, addrs, naddrs * sizeof(*addrs));
	p->naddrs = naddrs;
	p->port_lo = lo;
	p->port_hi = hi;
	if (getrandom(&p->seed, sizeof(p->seed), 0) != sizeof(p->seed))
		p->seed = 0x9e3779b9u;
	p->rng = mix(p->seed) | 1u;
	return p;
fail:
	pool_free(p);
	return NULL;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	free(p->addrs);
	free(p->used);
	free(p);
}

static int addr_index(const struct pool *p, uint32_t addr)
{
	for (unsigned i = 0; i < p->naddrs; i++)
		if (p->addrs[i] == addr)
			return (int)i;
	return -1;
}

bool pool_has_addr(const struct pool *p, uint32_t addr)
{
	return addr_index(p, addr) >= 0;
}

static bool bit_get(const uint64_t *m, uint16_t port)
{
	return (m[port >> 6] >> (port & 63)) & 1;
}

static void bit_set(uint64_t *m, uint16_t port)
{
	m[port >> 6] |= 1ull << (port & 63);
}

static void bit_clr(uint64_t *m, uint16_t port)
{
	m[port >> 6] &= ~(1ull << (port & 63));
}

/* Usable ports of word w: in range, of the wanted parity (-1: any). */
static uint64_t word_mask(const struct pool *p, unsigned w, int parity)
{
	uint64_t m = ~0ull;
	unsigned first = w * 64, last = first + 63;

	if (last < p->port_lo || first > p->port_hi)
		return 0;
	if (first < p->port_lo)
		m &= ~0ull << (p->port_lo - first);
	if (last > p->port_hi)
		m &= ~0ull >> (last - p->port_hi);
	if (parity == 0)
		m &= EVEN_MASK;
	else if (parity == 1)
		m &= ~EVEN_MASK;
	return m;
}

/* Find a free port of the given parity (-1 any) in map m, starting at a
 * random word; with pair, also require port+1 free (port is even). */
static int find_port(const struct pool *p, const uint64_t *m, int parity, bool pair, uint32_t rnd)
{
	unsigned wlo = p->port_lo >> 6, whi = p->port_hi >> 6, nw = whi - wlo + 1;
	unsigned start = rnd % nw;

	for (unsigned i = 0; i < nw; i++) {
		unsigned w = wlo + (start + i) % nw;
		uint64_t freebits = ~m[w] & word_mask(p, w, parity);
		while (freebits) {
			unsigned b = (unsigned)__builtin_ctzll(freebits);
			unsigned port = w * 64 + b;
			freebits &= freebits - 1;
			if (!pair)
				return (int)port;
			if (port + 1 <= p->port_hi && !bit_get(m, (uint16_t)(port + 1)))
				return (int)port;
		}
	}
	return -1;
}

/* The allocator: addresses restricted to [lo, hi] (host order). */
static int alloc_in(struct pool *p, enum pool_proto proto, uint32_t int_addr, uint32_t lo,
		    uint32_t hi, uint16_t want_port, unsigned flags, struct endpoint *out)
{
	uint16_t wport = ntohs(want_port);
	bool pair = flags & POOL_F_PAIR;
	int parity = -1;
	uint32_t rnd;
	unsigned first;

	if (flags & POOL_F_PARITY)
		parity = wport & 1;
	if (pair)
		parity = 0;
	/* paired pooling: one internal host, one external address */
	first = mix(int_addr ^ p->seed) % p->naddrs;
	/* xorshift32: no syscall on the packet path */
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 17;
	p->rng ^= p->rng << 5;
	rnd = p->rng;
	for (unsigned k = 0; k < p->naddrs; k++) {
		unsigned ai = (first + k) % p->naddrs;
		uint32_t a = ntohl(p->addrs[ai]);
		uint64_t *m = map_of(p, ai, proto);
		int port = -1;

		if (a < lo || a > hi)
			continue;
		if (flags & (POOL_F_PRESERVE | POOL_F_EXACT_PORT)) {
			bool ok = wport >= p->port_lo && wport <= p->port_hi && !bit_get(m, wport) &&
				  (!pair || (!(wport & 1) && wport + 1 <= p->port_hi &&
					     !bit_get(m, (uint16_t)(wport + 1))));
			if (ok)
				port = wport;
			else if (flags & POOL_F_EXACT_PORT)
				continue;
		}
		if (port < 0)
			port = find_port(p, m, parity, pair, rnd);
		if (port < 0 && parity >= 0 && !pair) /* parity is a preference (RFC 4787 REQ-4) */
			port = find_port(p, m, -1, false, rnd);
		if (port < 0)
			continue;
		bit_set(m, (uint16_t)port);
		if (pair)
			bit_set(m, (uint16_t)(port + 1));
		p->inuse += pair ? 2 : 1;
		out->addr = p->addrs[ai];
		out->port = htons((uint16_t)port);
		return 0;
	}
	return -EADDRNOTAVAIL;
}

int pool_alloc(struct pool *p, enum pool_proto proto, uint32_t int_addr, uint32_t want_addr,
	       uint16_t want_port, unsigned flags, struct endpoint *out)
{
	uint32_t lo = 0, hi = UINT32_MAX;

	if (flags & POOL_F_EXACT_ADDR)
		lo = hi = ntohl(want_addr);
	return alloc_in(p, proto, int_addr, lo, hi, want_port, flags, out);
}

int pool_alloc_range(struct pool *p, enum pool_proto proto, uint32_t int_addr, uint32_t lo,
		     uint32_t hi, uint16_t want_port, unsigned flags, struct endpoint *out)
{
	return alloc_in(p, proto, int_addr, ntohl(lo), ntohl(hi), want_port, flags, out);
}

int pool_reserve(struct pool *p, enum pool_proto proto, struct endpoint ep)
{
	int ai = addr_index(p, ep.addr);
	uint16_t port = ntohs(ep.port);
	uint64_t *m;

	if (ai < 0 || port < p->port_lo || port > p->port_hi)
		return -ENOENT;
	m = map_of(p, (unsigned)ai, proto);
	if (bit_get(m, port))
		return -EEXIST;
	bit_set(m, port);
	p->inuse++;
	return 0;
}

void pool_release(struct pool *p, enum pool_proto proto, struct endpoint ep)
{
	int ai = addr_index(p, ep.addr);
	uint16_t port = ntohs(ep.port);
	uint64_t *m;

	if (ai < 0)
		return;
	m = map_of(p, (unsigned)ai, proto);
	if (bit_get(m, port)) {
		bit_clr(m, port);
		p->inuse--;
	}
}

bool pool_in_use(const struct pool *p, enum pool_proto proto, struct endpoint ep)
{
	int ai = addr_index(p, ep.addr);

	return ai >= 0 && bit_get(map_of(p, (unsigned)ai, proto), ntohs(ep.port));
}
