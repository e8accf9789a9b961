/* realmconf: the realm set natd runs with, built from its configuration:
 * names, nat_to policy bits, pools (pool prefixes expanded into address
 * lists) and the classifier prefixes, pool prefixes first so they win ties
 * against realm prefixes of the same length. */
#include "realmconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pool.h"

/* Expand pool prefixes into an address list. */
static int pool_addrs(const struct prefix *pfx, unsigned npfx, uint32_t **out, unsigned *nout)
{
	unsigned n = 0, cap = 0;
	uint32_t *a = NULL;

	for (unsigned i = 0; i < npfx; i++) {
		uint32_t base = ntohl(pfx[i].addr), cnt = 1u << (32 - pfx[i].len);
		for (uint32_t k = 0; k < cnt; k++) {
			if (n == cap) {
				uint32_t *na;
				cap = cap ? cap * 2 : 16;
				if (!(na = realloc(a, cap * sizeof(*a)))) {
					free(a);
					return -ENOMEM;
				}
				a = na;
			}
			a[n++] = htonl(base + k);
		}
	}
	*out = a;
	*nout = n;
	return 0;
}

/* A pool over the given prefixes, their classifier entries added. */
static struct pool *make_pool(struct realm_set *rs, uint8_t realm, const struct prefix *pfx,
			      unsigned npfx, uint16_t lo, uint16_t hi)
{
	uint32_t *addrs;
	unsigned na;
	struct pool *p;

	for (unsigned k = 0; k < npfx; k++)
		if (realm_add_prefix(rs, realm, &pfx[k], true) < 0) {
			log_err("more than %d prefixes over all realms", REALM_PREFIX_MAX);
			return NULL;
		}
	if (pool_addrs(pfx, npfx, &addrs, &na) < 0)
		return NULL;
	p = pool_new(addrs, na, lo, hi);
	free(addrs);
	if (!p)
		log_err("realm %s: cannot allocate a pool", rs->realms[realm].name);
	return p;
}

int realm_set_build(struct realm_set *rs, const struct natd_conf *c)
{
	memset(rs, 0, sizeof(*rs));

	rs->n = c->nrealms;
	for (unsigned i = 0; i < c->nrealms; i++)
		snprintf(rs->realms[i].name, REALM_NAME_MAX, "%s", c->realms[i].name);
	/* pool prefixes first so they win ties against realm prefixes */
	for (unsigned i = 0; i < c->nrealms; i++) {
		const struct conf_realm *r = &c->realms[i];
		for (unsigned k = 0; k < r->nnat_to; k++)
			rs->realms[i].nat_to |= 1u << realm_find(rs, r->nat_to[k]);
		if (r->npool && !(rs->realms[i].pool = make_pool(rs, (uint8_t)i, r->pool, r->npool,
								 r->port_lo, r->port_hi)))
			return -1;
		for (unsigned k = 0; k < r->ntransits; k++) {
			const struct conf_transit *t = &r->transits[k];
			snprintf(rs->realms[i].transit[k].name, REALM_NAME_MAX, "%s", t->name);
			if (!(rs->realms[i].transit[k].pool = make_pool(rs, (uint8_t)i, t->pool, t->npool,
									t->port_lo, t->port_hi)))
				return -1;
			rs->realms[i].ntransit = k + 1;
		}
	}
	for (unsigned i = 0; i < c->nrealms; i++)
		for (unsigned k = 0; k < c->realms[i].nprefixes; k++)
			if (realm_add_prefix(rs, (uint8_t)i, &c->realms[i].prefixes[k], false) < 0)
				goto full;
	return 0;
full:
	log_err("%s: more than %d prefixes over all realms", c->path, REALM_PREFIX_MAX);
	return -1;
}


void realm_set_free(struct realm_set *rs)
{
	for (unsigned i = 0; i < REALM_MAX; i++) {
		pool_free(rs->realms[i].pool);
		rs->realms[i].pool = NULL;
		for (unsigned k = 0; k < rs->realms[i].ntransit; k++) {
			pool_free(rs->realms[i].transit[k].pool);
			rs->realms[i].transit[k].pool = NULL;
		}
		rs->realms[i].ntransit = 0;
	}
}
