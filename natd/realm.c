/* realm: longest-prefix classification (the prefixes: common/prefix.h).
 *
 * The classifier is a short array (a few dozen prefixes at most) scanned in
 * full; it is kept sorted by prefix length, longest first, so the first
 * match is the answer.
 */
#include "realm.h"

#include "pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint8_t realm_classify_pool(const struct realm_set *rs, uint32_t addr, bool *is_pool)
{
	for (unsigned i = 0; i < rs->ncls; i++)
		if (prefix_match(&rs->cls[i].pfx, addr)) {
			if (is_pool)
				*is_pool = rs->cls[i].pool;
			return rs->cls[i].realm;
		}
	if (is_pool)
		*is_pool = false;
	return REALM_NONE;
}

uint8_t realm_classify(const struct realm_set *rs, uint32_t addr)
{
	return realm_classify_pool(rs, addr, NULL);
}

uint8_t realm_find(const struct realm_set *rs, const char *name)
{
	for (unsigned i = 0; i < rs->n; i++)
		if (!strcmp(rs->realms[i].name, name))
			return (uint8_t)i;
	return REALM_NONE;
}

int realm_add_prefix(struct realm_set *rs, uint8_t realm, const struct prefix *p, bool pool)
{
	unsigned i;

	if (rs->ncls >= REALM_PREFIX_MAX)
		return -ENOSPC;
	/* insertion keeps longest prefixes first */
	for (i = rs->ncls; i > 0 && rs->cls[i - 1].pfx.len < p->len; i--)
		rs->cls[i] = rs->cls[i - 1];
	rs->cls[i].pfx = *p;
	rs->cls[i].realm = realm;
	rs->cls[i].pool = pool;
	rs->ncls++;
	return 0;
}

struct pool *realm_pool_of(const struct realm *r, uint32_t addr)
{
	if (r->pool && pool_has_addr(r->pool, addr))
		return r->pool;
	for (unsigned i = 0; i < r->ntransit; i++)
		if (pool_has_addr(r->transit[i].pool, addr))
			return r->transit[i].pool;
	return NULL;
}

struct pool *realm_transit_pool(const struct realm *r, const char *name)
{
	for (unsigned i = 0; i < r->ntransit; i++)
		if (!strcmp(r->transit[i].name, name))
			return r->transit[i].pool;
	return NULL;
}
