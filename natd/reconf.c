/* reconf: SIGHUP's configuration diff and apply (theory in reconf.h).
 *
 * reconf_apply() runs the checks that may refuse first, in the order of their
 * cost and of what they would disturb: restart_change() (a setting that
 * only a restart can change), forwards_check() (can the forwards the
 * file adds be installed once those it drops are gone?), core_prepare()
 * (memory for limits the file turns on) and ctl_server_reload() (the new
 * control clients). After them nothing
 * fails: forwards_apply() edits the binding table, core_apply() and the
 * servers take the new values, and the fresh struct becomes the running
 * one.
 */
#include "reconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "log.h"
#include "pool.h"
#include "realm.h"

static bool pfx_eq(const struct prefix *a, unsigned na, const struct prefix *b, unsigned nb)
{
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++)
		if (a[i].addr != b[i].addr || a[i].len != b[i].len)
			return false;
	return true;
}

/* n strings of stride bytes each, the same in order. */
static bool strs_eq(const char *a, unsigned na, const char *b, unsigned nb, size_t stride)
{
	if (na != nb)
		return false;
	for (unsigned i = 0; i < na; i++)
		if (strncmp(a + i * stride, b + i * stride, stride))
			return false;
	return true;
}

static bool pool_eq(const struct prefix *pa, unsigned na, uint16_t la, uint16_t ha,
		    const struct prefix *pb, unsigned nb, uint16_t lb, uint16_t hb)
{
	return pfx_eq(pa, na, pb, nb) && la == lb && ha == hb;
}

/* The realm setting that differs between a and b (realm i), or NULL. */
static const char *realm_change(const struct conf_realm *a, const struct conf_realm *b,
				unsigned i, char *buf, size_t len)
{
	const char *what = NULL;

	if (strcmp(a->name, b->name))
		what = "name";
	else if (!pfx_eq(a->prefixes, a->nprefixes, b->prefixes, b->nprefixes))
		what = "prefixes";
	else if (!strs_eq(&a->nat_to[0][0], a->nnat_to, &b->nat_to[0][0], b->nnat_to, REALM_NAME_MAX))
		what = "nat_to";
	else if (!pool_eq(a->pool, a->npool, a->port_lo, a->port_hi, b->pool, b->npool, b->port_lo,
			  b->port_hi))
		what = "pool";
	else if (a->ntransits != b->ntransits)
		what = "transit_pools";
	else
		for (unsigned k = 0; k < a->ntransits && !what; k++) {
			const struct conf_transit *ta = &a->transits[k], *tb = &b->transits[k];
			if (strcmp(ta->name, tb->name) ||
			    !pool_eq(ta->pool, ta->npool, ta->port_lo, ta->port_hi, tb->pool, tb->npool,
				     tb->port_lo, tb->port_hi))
				what = "transit_pools";
		}
	if (!what)
		return NULL;
	snprintf(buf, len, "realms.[%u].%s", i, what);
	return buf;
}

/* The first setting that differs between the running o and the fresh c and
 * cannot change without a restart; NULL when there is none. */
static const char *restart_change(const struct natd_conf *o, const struct natd_conf *c,
				  char *buf, size_t len)
{
#define SAME_STR(f, name) \
	if (strcmp(o->f, c->f)) \
		return name
#define SAME(f, name) \
	if (o->f != c->f) \
		return name
	SAME_STR(tun_name, "tun.name");
	SAME(tun_mtu, "tun.mtu");
	SAME(tun_txqueuelen, "tun.txqueuelen");
	SAME_STR(user, "user");
	SAME_STR(pidfile, "pidfile");
	SAME_STR(state_file, "state.file");
	SAME(log_syslog, "log.syslog");
	SAME(bind.capacity, "table.capacity");
	if (o->bind.perm_capacity != c->bind.perm_capacity)
		/* with dependent filtering the default permissions follow it */
		return o->bind.filtering != c->bind.filtering ? "table.filtering" : "table.permissions";
	SAME(frag.datagrams, "fragments.datagrams");
	SAME(frag.slots, "fragments.buffered");
	SAME(frag.timeout, "fragments.timeout");
	SAME(nrealms, "realms");
	for (unsigned i = 0; i < c->nrealms; i++) {
		const char *w = realm_change(&o->realms[i], &c->realms[i], i, buf, len);
		if (w)
			return w;
	}
	SAME_STR(ctl_socket, "control.socket");
	SAME_STR(ctl_mode, "control.socket_mode");
	SAME_STR(ctl_group, "control.socket_group");
	SAME_STR(ctl_tcp_listen, "control.tcp_listen");
	if (!o->ctl_tls_cert[0] != !c->ctl_tls_cert[0])
		return "control.tls_cert (TLS on or off)"; /* its files alone reload */
	SAME_STR(metrics_listen, "metrics.listen");
	SAME(pcp.enable, "pcp.enable");
	if (o->pcp.nlisten != c->pcp.nlisten ||
	    memcmp(o->pcp.listen, c->pcp.listen, c->pcp.nlisten * sizeof(c->pcp.listen[0])))
		return "pcp.listen";
	SAME(pcp.port, "pcp.port");
	SAME(routes_install, "routes.install");
	SAME(routes_table, "routes.table");
	if (!strs_eq(&o->routes_iifs[0][0], o->nroutes_iifs, &c->routes_iifs[0][0], c->nroutes_iifs,
		     IFNAMSIZ))
		return "routes.inside_interfaces";
	if (!strs_eq(&o->routes_dev_prefixes[0][0], o->nroutes_dev_prefixes,
		     &c->routes_dev_prefixes[0][0], c->nroutes_dev_prefixes,
		     sizeof(o->routes_dev_prefixes[0])))
		return "routes.prefixes";
	SAME(fp.enabled, "fastpath.enabled");
	SAME(fp.entries, "fastpath.entries");
	SAME_STR(fp.object, "fastpath.object");
	if (!strs_eq(&o->fp.ifaces[0][0], o->fp.nifaces, &c->fp.ifaces[0][0], c->fp.nifaces, IFNAMSIZ))
		return "fastpath.interfaces";
	return NULL;
#undef SAME
#undef SAME_STR
}

static bool fwd_eq(const struct conf_forward *a, const struct conf_forward *b)
{
	return a->proto == b->proto && ep_eq(a->ext, b->ext) && ep_eq(a->in, b->in) &&
	       !strcmp(a->ext_realm, b->ext_realm) && !strcmp(a->in_realm, b->in_realm);
}

static bool fwd_listed(const struct conf_forward *f, const struct natd_conf *c)
{
	for (unsigned i = 0; i < c->nforwards; i++)
		if (fwd_eq(f, &c->forwards[i]))
			return true;
	return false;
}

/* A forward of o that is not in c (about to be removed) owns b. */
static bool owned_by_removed(const struct core *k, const struct natd_conf *o,
			     const struct natd_conf *c, const struct binding *b)
{
	if (!b || b->kind != BIND_STATIC)
		return false;
	for (unsigned i = 0; i < o->nforwards; i++) {
		const struct conf_forward *f = &o->forwards[i];
		if (f->proto == b->proto && ep_eq(f->ext, b->ext) &&
		    realm_find(&k->rs, f->ext_realm) == b->ext_realm && !fwd_listed(f, c))
			return true;
	}
	return false;
}

/* Can the forwards of c that o lacks be installed once those of o that c
 * lacks are gone? 0, or -1 with the reason in why. */
static int forwards_check(struct core *k, const struct natd_conf *o, const struct natd_conf *c,
			  char *why, size_t len, unsigned *nadd, unsigned *ndel)
{
	char a[EP_STRLEN];

	*nadd = *ndel = 0;
	for (unsigned i = 0; i < o->nforwards; i++)
		if (!fwd_listed(&o->forwards[i], c))
			(*ndel)++;
	for (unsigned i = 0; i < c->nforwards; i++) {
		const struct conf_forward *f = &c->forwards[i];
		uint8_t er = realm_find(&k->rs, f->ext_realm), ir = realm_find(&k->rs, f->in_realm);
		struct pool *pl = k->rs.realms[er].pool;
		int pp = pool_proto_of(f->proto);
		struct binding *be, *b;

		if (fwd_listed(f, o))
			continue;
		(*nadd)++;
		be = bind_lookup_ext(k->bt, f->proto, er, f->ext);
		if (be && !owned_by_removed(k, o, c, be)) {
			snprintf(why, len, "%s:%d: forward %s: the external endpoint is bound (binding %u)",
				 c->path, f->line, ep_str(f->ext, a), be->id);
			return -1;
		}
		b = bind_lookup_in(k->bt, f->proto, ir, f->in, er);
		if (b && !owned_by_removed(k, o, c, b)) {
			snprintf(why, len, "%s:%d: forward %s: the internal endpoint already has a binding "
				 "into realm %s (binding %u)", c->path, f->line, ep_str(f->ext, a),
				 f->ext_realm, b->id);
			return -1;
		}
		/* a port held without a binding of its own (an RTCP partner's
		 * reservation...), unless a removed forward frees it */
		if (pl && pool_has_addr(pl, f->ext.addr) &&
		    pool_in_use(pl, (enum pool_proto)pp, f->ext) && !owned_by_removed(k, o, c, be)) {
			snprintf(why, len, "%s:%d: forward %s: port already taken", c->path, f->line,
				 ep_str(f->ext, a));
			return -1;
		}
		for (unsigned j = 0; j < i; j++) {
			const struct conf_forward *g = &c->forwards[j];
			if (g->proto == f->proto && ep_eq(g->in, f->in) &&
			    !strcmp(g->in_realm, f->in_realm) && !strcmp(g->ext_realm, f->ext_realm)) {
				snprintf(why, len, "%s:%d: forward %s: conflicts with another forward "
					 "(line %d)", c->path, f->line, ep_str(f->ext, a), g->line);
				return -1;
			}
		}
	}
	if (bind_count(k->bt) - *ndel + *nadd > bind_capacity(k->bt)) {
		snprintf(why, len, "the binding table has no room for %u more forwards", *nadd);
		return -1;
	}
	return 0;
}

/* Remove the forwards of the running config that c lacks, add c's new ones
 * (checked by forwards_check). */
static void forwards_apply(struct core *k, const struct natd_conf *o, const struct natd_conf *c,
			   uint32_t now)
{

	for (unsigned i = 0; i < o->nforwards; i++) {
		const struct conf_forward *f = &o->forwards[i];
		uint8_t er = realm_find(&k->rs, f->ext_realm);
		struct pool *pl = k->rs.realms[er].pool;
		struct binding *b;
		char a[EP_STRLEN];

		if (fwd_listed(f, c))
			continue;
		b = bind_lookup_ext(k->bt, f->proto, er, f->ext);
		if (!b || b->kind != BIND_STATIC)
			continue;
		if (pl && pool_has_addr(pl, f->ext.addr))
			pool_release(pl, (enum pool_proto)pool_proto_of(f->proto), f->ext);
		bind_remove(k->bt, b);
		log_info("forward %s removed", ep_str(f->ext, a));
	}
	for (unsigned i = 0; i < c->nforwards; i++) {
		const struct conf_forward *f = &c->forwards[i];
		char a[EP_STRLEN], e[EP_STRLEN];

		if (fwd_listed(f, o))
			continue;
		if (core_add_forward(k, c, f, now) == 0)
			log_info("forward %s -> %s added", ep_str(f->ext, a), ep_str(f->in, e));
	}
}

int reconf_apply(const struct reconf_target *t, struct natd_conf *c, uint32_t now)
{
	struct core *k = t->core;
	char why[512], buf[64];
	const char *what;
	unsigned nadd, ndel, cut = 0;
	struct conf_forward *oldf;

	if (t->ctl_socket && t->ctl_socket[0])
		snprintf(c->ctl_socket, sizeof(c->ctl_socket), "%s", t->ctl_socket);
	if ((what = restart_change(t->conf, c, buf, sizeof(buf)))) {
		log_err("reload refused: '%s' changed, which needs a restart; the running configuration stays",
			what);
		return -1;
	}
	if (forwards_check(k, t->conf, c, why, sizeof(why), &nadd, &ndel) < 0) {
		log_err("reload refused: %s; the running configuration stays", why);
		return -1;
	}
	if (core_prepare(k, c) < 0) {
		log_err("reload refused: the per-host rate limits cannot be set up; the running configuration stays");
		return -1;
	}
	if (t->ctl && ctl_server_reload(t->ctl, c, &cut) < 0) {
		log_err("reload refused: the control clients cannot be set up; the running configuration stays");
		return -1;
	}
	/* nothing below fails */
	forwards_apply(k, t->conf, c, now);
	if (!t->keep_log_level)
		log_level = c->log_level;
	core_apply(k, c);
	if (t->pcp)
		pcp_server_set_conf(t->pcp, &c->pcp);
	oldf = t->conf->forwards;
	*t->conf = *c;
	c->forwards = NULL;
	c->nforwards = 0;
	free(oldf);
	log_notice("configuration reloaded: %u forwards (%u added, %u removed), %u control clients, "
		   "%u TCP clients%s; %u bindings kept",
		   t->conf->nforwards, nadd, ndel, t->conf->nclients, t->conf->ntcp_clients,
		   cut ? " (clients no longer listed disconnected)" : "", bind_count(k->bt));
	return 0;
}
