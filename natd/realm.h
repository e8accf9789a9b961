/* realm: named address realms, the prefixes that classify an address into
 * one, and the translation policy between each ordered pair.
 *
 * natd learns which realm a packet came from by its source address: each
 * realm owns prefixes (and its pool addresses); the longest matching prefix
 * over all realms wins. The destination is classified the same way. The
 * policy bit nat_to[A] has B set when a packet from realm A into realm B
 * gets its source translated (NAPT) into B's pool; a pair without it is
 * transparent (sources pass unchanged, and no binding is created on the
 * fly). Twice-NAT is simply both directions set.
 */
#ifndef NATD_REALM_H
#define NATD_REALM_H

#include <stdbool.h>
#include <stdint.h>

#include "prefix.h"

#define REALM_MAX 16
#define REALM_NAME_MAX 32
#define REALM_PREFIX_MAX 64 /* classifier entries over all realms */
#define REALM_NONE 0xff

#define REALM_TRANSIT_MAX 4

struct realm {
	char name[REALM_NAME_MAX];
	uint32_t nat_to;   /* bit b set: sources into realm b are translated */
	struct pool *pool; /* addresses allocatable in this realm, or NULL */
	struct {
		char name[REALM_NAME_MAX];
		struct pool *pool;
	} transit[REALM_TRANSIT_MAX]; /* named transit pools (docs/glossary.md) */
	unsigned ntransit;
};

/* The pool (default or transit) that holds addr, or NULL. */
struct pool *realm_pool_of(const struct realm *r, uint32_t addr);
/* The transit pool of r named name, or NULL. */
struct pool *realm_transit_pool(const struct realm *r, const char *name);

struct realm_set {
	struct realm realms[REALM_MAX];
	unsigned n;
	struct {
		struct prefix pfx;
		uint8_t realm;
		bool pool; /* a pool prefix: addresses natd hands out */
	} cls[REALM_PREFIX_MAX];
	unsigned ncls;
};

/* Realm id of the longest prefix containing addr (network order), or
 * REALM_NONE. With is_pool non-NULL, also says whether that prefix is one
 * of the realm's pool prefixes. */
uint8_t realm_classify(const struct realm_set *rs, uint32_t addr);
uint8_t realm_classify_pool(const struct realm_set *rs, uint32_t addr, bool *is_pool);

/* Id of the realm named name, or REALM_NONE. */
uint8_t realm_find(const struct realm_set *rs, const char *name);

/* Add a classifier prefix (or, with pool, a pool prefix) for realm id.
 * 0, -ENOSPC. */
int realm_add_prefix(struct realm_set *rs, uint8_t realm, const struct prefix *p, bool pool);

static inline bool realm_translates(const struct realm_set *rs, uint8_t from, uint8_t to)
{
	return from < rs->n && to < REALM_MAX && (rs->realms[from].nat_to >> to) & 1u;
}

#endif
