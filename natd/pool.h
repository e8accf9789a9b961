/* pool: the external addresses and ports a realm can hand out.
 *
 * One bitmap of 65536 bits per (address, protocol) marks ports in use, so
 * allocation, reservation and release are O(1) or a short word scan, and
 * nothing is allocated after start-up. Allocation prefers, in order: the
 * same address for every mapping of one internal host ("paired" pooling,
 * RFC 4787 REQ-2) chosen by hashing the internal address, the internal
 * port itself (port preservation), and otherwise a random port of the
 * same parity when parity is asked for (RFC 4787 REQ-4, RTP on even ports).
 */
#ifndef NATD_POOL_H
#define NATD_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "endpoint.h"

enum pool_proto { POOL_UDP, POOL_TCP, POOL_ICMP, POOL_NPROTO };

struct pool {
	uint32_t *addrs; /* network order */
	unsigned naddrs;
	uint16_t port_lo, port_hi; /* host order, inclusive */
	uint64_t *used;  /* naddrs * POOL_NPROTO * 1024 words */
	uint32_t seed; /* paired-pooling hash key */
	uint32_t rng;  /* port search start (xorshift state) */
	unsigned inuse;
};

/* Flags for pool_alloc. */
#define POOL_F_PARITY 0x1     /* external port has the parity of want_port */
#define POOL_F_PRESERVE 0x2   /* try want_port itself first */
#define POOL_F_EXACT_PORT 0x4 /* want_port or fail */
#define POOL_F_EXACT_ADDR 0x8 /* want_addr or fail */
#define POOL_F_PAIR 0x10      /* reserve want_port+1 too (RTCP): port is even */

/* Create a pool over the given addresses (network order) and port range.
 * Returns NULL on allocation failure. */
struct pool *pool_new(const uint32_t *addrs, unsigned naddrs, uint16_t lo, uint16_t hi);
void pool_free(struct pool *p);

bool pool_has_addr(const struct pool *p, uint32_t addr);

/* Allocate a free external endpoint for internal address int_addr.
 * want_addr/want_port (network order, 0 = any) steer the choice as flags
 * say. 0 on success with *out filled, -EADDRNOTAVAIL when nothing fits. */
int pool_alloc(struct pool *p, enum pool_proto proto, uint32_t int_addr,
	       uint32_t want_addr, uint16_t want_port, unsigned flags,
	       struct endpoint *out);

/* The same with the external address within [lo, hi] (network order). */
int pool_alloc_range(struct pool *p, enum pool_proto proto, uint32_t int_addr, uint32_t lo,
		     uint32_t hi, uint16_t want_port, unsigned flags, struct endpoint *out);

/* Mark a specific endpoint used (static forwards). 0, -EEXIST, -ENOENT if
 * the address is not in the pool or the port is outside its range. */
int pool_reserve(struct pool *p, enum pool_proto proto, struct endpoint ep);

/* Release an endpoint; releasing a free or foreign endpoint is a no-op. */
void pool_release(struct pool *p, enum pool_proto proto, struct endpoint ep);

bool pool_in_use(const struct pool *p, enum pool_proto proto, struct endpoint ep);

/* Pool protocol index for an IPPROTO_* value; -1 if not translated. */
int pool_proto_of(uint8_t ipproto);

#endif
