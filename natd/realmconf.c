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
static int pool_addrs(const struct conf_realm *r, uint32_t **out, unsigned *nout)
{
	unsigned n = 0, cap = 0;
	uint32_t *a = NULL;

	for (unsigned i = 0; i < r->npool; i++) {
		uint32_t base = ntohl(r->pool[i].addr), cnt = 1u << (32 - r->pool[i].len);
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
		for (unsigned k = 0; k < r->npool; k++)
			if (realm_add_prefix(rs, (uint8_t)i, &r->pool[k], true) < 0)
				goto full;
		if (r->npool) {
			uint32_t *addrs;
			unsigned na;
			if (pool_addrs(r, &addrs, &na) < 0)
				return -1;
			rs->realms[i].pool = pool_new(addrs, na, r->port_lo, r->port_hi);
			free(addrs);
			if (!rs->realms[i].pool) {
				log_err("realm %s: cannot allocate its pool", r->name);
				return -1;
			}
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
	}
}
