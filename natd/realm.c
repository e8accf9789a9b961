/* realm: prefix parsing and longest-prefix classification.
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

int prefix_parse(const char *s, struct prefix *out)
{
	char a[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len = 32;
	struct in_addr in;

	if (alen == 0 || alen >= sizeof(a))
		return -EINVAL;
	memcpy(a, s, alen);
	a[alen] = '\0';
	if (inet_pton(AF_INET, a, &in) != 1)
		return -EINVAL;
	if (slash) {
		char *end;
		if (!slash[1] || slash[1] == '-' || slash[1] == '+')
			return -EINVAL;
		len = strtoul(slash + 1, &end, 10);
		if (*end || len > 32)
			return -EINVAL;
	}
	out->len = (uint8_t)len;
	out->mask = len ? htonl(~0u << (32 - len)) : 0;
	if (in.s_addr & ~out->mask)
		return -EINVAL; /* host bits set: almost always a typo */
	out->addr = in.s_addr;
	return 0;
}

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
