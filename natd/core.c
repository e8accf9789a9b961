/* core: natd's translation state from its configuration (see core.h).
 *
 * core_open() builds in the order each part needs the one before: the
 * realm set (pools), the binding table, the fragment table, the static
 * forwards (they reserve pool ports and take table slots before any
 * dynamic binding can), the translation context over them, the per-host
 * buckets (only when table.new_flows_per_host is on: they are 8192
 * buckets, and a fuzzer builds a core per input), then the address
 * manager, which works through the context.
 * core_close() frees in reverse and accepts a half-built core.
 */
#include "core.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "pool.h"
#include "realmconf.h"

/* A new dynamic binding: announced to `natctl watch` if anyone watches. */
static void on_new_binding(void *arg, const struct binding *b)
{
	mgr_announce(arg, NC_EV_CREATED, b);
}

int core_add_forward(struct core *k, const struct natd_conf *c, const struct conf_forward *f,
		     uint32_t now)
{
	uint8_t er = realm_find(&k->rs, f->ext_realm), ir = realm_find(&k->rs, f->in_realm);
	struct pool *pl = k->rs.realms[er].pool;
	int pp = pool_proto_of(f->proto), err;
	char a[EP_STRLEN];

	if (pl && pool_has_addr(pl, f->ext.addr) &&
	    (err = pool_reserve(pl, (enum pool_proto)pp, f->ext)) < 0 && err != -ENOENT) {
		log_err("%s:%d: forward %s: port already taken", c->path, f->line, ep_str(f->ext, a));
		return -1;
	}
	if (!bind_insert(k->bt, BIND_STATIC, f->proto, ir, f->in, er, f->ext, now, &err)) {
		log_err("%s:%d: forward %s: %s", c->path, f->line, ep_str(f->ext, a),
			err == -EEXIST ? "conflicts with another forward" : "table full");
		if (pl && pool_has_addr(pl, f->ext.addr))
			pool_release(pl, (enum pool_proto)pp, f->ext);
		return -1;
	}
	return 0;
}

/* table.max_bindings_per_host and table.new_flows_per_host into the
 * translation context, with the other per-host and per-source shares
 * (table.permissions_per_host, fragments.*_per_source) and
 * table.icmp_errors_from_path. A host already over a lowered quota keeps
 * its bindings; it makes no new ones until under. */
static void set_host_limits(struct core *k, const struct natd_conf *c)
{
	k->x.host_quota = c->max_bindings_per_host;
	/* the fair shares of the permission pool and the fragment table */
	bind_set_perm_per_host(k->bt, c->bind.perm_per_host);
	frag_set_shares(k->ft, c->frag.datagrams_per_source, c->frag.slots_per_source);
	k->x.icmp_errors_from_path = c->icmp_errors_from_path;
	if (k->host_rl)
		rl_set(k->host_rl, c->new_flows_per_host, c->new_flows_per_host);
	k->x.host_rl = c->new_flows_per_host ? k->host_rl : NULL;
}

int core_prepare(struct core *k, const struct natd_conf *c)
{
	if (c->new_flows_per_host && !k->host_rl &&
	    !(k->host_rl = rl_new(c->new_flows_per_host, c->new_flows_per_host))) {
		log_err("out of memory for the per-host rate limits");
		return -1;
	}
	return 0;
}

void core_apply(struct core *k, const struct natd_conf *c)
{
	bind_set_policy(k->bt, c->bind.timeout, c->bind.filtering);
	k->x.hairpinning = c->hairpinning;
	k->x.pool_flags = (c->port_parity ? POOL_F_PARITY : 0u) |
			  (c->port_preservation ? POOL_F_PRESERVE : 0u);
	set_host_limits(k, c);
	mgr_set_conf(k->mgr, &(struct mgr_conf){c->ctl_default_lifetime, c->ctl_max_lifetime});
}

int core_open(const struct natd_conf *c, uint32_t now, struct core **out)
{
	struct core *k = calloc(1, sizeof(*k));
	struct mgr_conf mc = {c->ctl_default_lifetime, c->ctl_max_lifetime};

	*out = NULL;
	if (!k) {
		log_err("out of memory");
		return -1;
	}
	if (realm_set_build(&k->rs, c) < 0)
		goto fail;
	if (!(k->bt = bind_table_new(&c->bind, now))) {
		log_err("cannot allocate a binding table of %u entries", c->bind.capacity);
		goto fail;
	}
	if (!(k->ft = frag_table_new(&c->frag))) {
		log_err("cannot allocate the fragment table");
		goto fail;
	}
	for (unsigned i = 0; i < c->nforwards; i++)
		if (core_add_forward(k, c, &c->forwards[i], now) < 0)
			goto fail;
	k->x = (struct xlate_ctx){.realms = &k->rs, .bt = k->bt, .ft = k->ft, .st = &k->st,
				  .now = now};
	if (core_prepare(k, c) < 0)
		goto fail;
	if (!(k->mgr = mgr_new(&mc, &k->x))) {
		log_err("out of memory for the address manager");
		goto fail;
	}
	k->x.on_new = on_new_binding;
	k->x.on_new_arg = k->mgr;
	core_apply(k, c);
	*out = k;
	return 0;
fail:
	core_close(k);
	return -1;
}

void core_close(struct core *k)
{
	if (!k)
		return;
	mgr_free(k->mgr);
	rl_free(k->host_rl);
	frag_table_free(k->ft);
	bind_table_free(k->bt);
	realm_set_free(&k->rs);
	free(k);
}
