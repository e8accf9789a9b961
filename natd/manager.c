/* manager: the address manager (theory of operation in manager.h).
 *
 * A granted request is a "grant": its primary binding (id = the grant's
 * id), an optional RTCP partner (E:p+1 <-> M:p+1, for rtp_pair), one alias
 * per alternative target, the rules they share, the request as asked (for
 * LIST), and the account of the owner. Grants are found by id through a
 * hash; each binding of a grant points back to it (binding.mgr), so the
 * datapath's expiry can hand any of them to mgr_binding_gone(). Accounts
 * (one per owner name) carry the quota count, so a client that reconnects
 * is still charged for what it holds, and the list of the owner's grants,
 * so that a client's own grants are found without walking the table
 * (mgr_each_own). Accounts are found through a seeded hash of the owner
 * name and freed with their last grant, so requesters that come and go
 * (PCP clients are one per inside address) leave nothing behind.
 */
#include "manager.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "log.h"
#include "pool.h"
#include "rules.h"
#include "xlate.h"

#define ID_BUCKETS 4096
#define ACCT_BUCKETS 1024

struct grant;

struct account {
	char owner[64];
	uint32_t held;
	struct account *next;  /* hash chain */
	struct grant *grants;  /* the owner's grants */
};

struct grant {
	uint32_t id;
	struct grant *hnext;
	struct binding *prim, *rtcp;
	struct binding *alias[RULES_MAX];
	struct bind_rules rules;
	struct nc_spec spec;
	struct account *acct;
	struct grant *anext, *aprev; /* the account's grants */
	uint32_t lifetime;
};

struct mgr {
	struct mgr_conf c;
	struct xlate_ctx *x;
	uint64_t epoch;
	struct grant *ids[ID_BUCKETS];
	struct account *accounts[ACCT_BUCKETS];
	uint64_t acct_seed;
	uint32_t ngrants;
	mgr_event_fn ev;
	void *ev_arg;
	unsigned watching;
	mgr_persist_fn persist;
	void *persist_arg;
	bool standby;   /* HA standby: clients are refused, restores pass */
	bool restoring; /* inside mgr_restore */
};

struct mgr *mgr_new(const struct mgr_conf *c, struct xlate_ctx *x)
{
	struct mgr *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->c = *c;
	m->x = x;
	while (m->epoch == 0)
		if (getrandom(&m->epoch, sizeof(m->epoch), 0) != sizeof(m->epoch))
			m->epoch = ((uint64_t)clock_mono_s() << 32) | (uint32_t)(uintptr_t)m;
	if (getrandom(&m->acct_seed, sizeof(m->acct_seed), 0) != sizeof(m->acct_seed))
		m->acct_seed = m->epoch * 0x9e3779b97f4a7c15ull;
	return m;
}

static void grant_remove(struct mgr *m, struct grant *g, struct binding *keep, uint8_t event);

void mgr_free(struct mgr *m)
{
	struct account *a, *an;

	if (!m)
		return;
	for (unsigned i = 0; i < ID_BUCKETS; i++)
		while (m->ids[i])
			grant_remove(m, m->ids[i], NULL, 0);
	for (unsigned i = 0; i < ACCT_BUCKETS; i++)
		for (a = m->accounts[i]; a; a = an) {
			an = a->next;
			free(a);
		}
	free(m);
}

void mgr_set_conf(struct mgr *m, const struct mgr_conf *c)
{
	m->c = *c;
}

uint64_t mgr_epoch(const struct mgr *m)
{
	return m->epoch;
}

void mgr_set_event_cb(struct mgr *m, mgr_event_fn fn, void *arg)
{
	m->ev = fn;
	m->ev_arg = arg;
}

/* ---- conversions between the wire's structs and natd's ---- */

static struct rule_match match_of(const struct nc_match *nm)
{
	struct rule_match r = {0, 0, nm->port_lo, nm->port_hi};

	if (nm->ip.af == NC_AF_IP4) {
		r.mask = prefix_mask(nm->plen);
		r.addr = nc_ip_get4(&nm->ip) & r.mask;
	}
	if (r.port_lo == 0 && r.port_hi == 0)
		r.port_hi = 65535;
	return r;
}

static struct endpoint ep_of(const struct nc_ep *e)
{
	struct endpoint r = {nc_ip_get4(&e->ip), htons(e->port)};
	return r;
}

static void ep_set(struct nc_ep *e, struct endpoint r)
{
	nc_ip_set4(&e->ip, r.addr);
	e->port = ntohs(r.port);
}

/* ---- grants and accounts ---- */

static unsigned acct_bucket(const struct mgr *m, const char *owner)
{
	uint64_t h = m->acct_seed;

	for (const unsigned char *p = (const unsigned char *)owner; *p; p++) {
		h = (h ^ *p) * 0x100000001b3ull;
		h ^= h >> 29;
	}
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (unsigned)(h % ACCT_BUCKETS);
}

static struct account *account_find(struct mgr *m, const char *owner)
{
	struct account *a;

	for (a = m->accounts[acct_bucket(m, owner)]; a; a = a->next)
		if (!strcmp(a->owner, owner))
			return a;
	return NULL;
}

static struct account *account_get(struct mgr *m, const char *owner)
{
	struct account *a = account_find(m, owner);
	unsigned h;

	if (a)
		return a;
	if (!(a = calloc(1, sizeof(*a))))
		return NULL;
	snprintf(a->owner, sizeof(a->owner), "%s", owner);
	h = acct_bucket(m, a->owner);
	a->next = m->accounts[h];
	m->accounts[h] = a;
	return a;
}

/* Free a that holds nothing any more. */
static void account_put(struct mgr *m, struct account *a)
{
	struct account **pp;

	if (a->grants || a->held)
		return;
	for (pp = &m->accounts[acct_bucket(m, a->owner)]; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			free(a);
			return;
		}
}

static void account_link(struct account *a, struct grant *g)
{
	g->acct = a;
	g->aprev = NULL;
	g->anext = a->grants;
	if (a->grants)
		a->grants->aprev = g;
	a->grants = g;
}

static void account_unlink(struct grant *g)
{
	if (g->aprev)
		g->aprev->anext = g->anext;
	else if (g->acct && g->acct->grants == g)
		g->acct->grants = g->anext;
	if (g->anext)
		g->anext->aprev = g->aprev;
	g->anext = g->aprev = NULL;
}

static struct grant *grant_find(struct mgr *m, uint32_t id)
{
	struct grant *g;

	for (g = m->ids[id % ID_BUCKETS]; g; g = g->hnext)
		if (g->id == id)
			return g;
	return NULL;
}

static void grant_unhash(struct mgr *m, struct grant *g)
{
	struct grant **pp;

	for (pp = &m->ids[g->id % ID_BUCKETS]; *pp; pp = &(*pp)->hnext)
		if (*pp == g) {
			*pp = g->hnext;
			return;
		}
}

static void emit(struct mgr *m, uint8_t event, const struct binding *b)
{
	struct nc_item it;

	if (!m->ev || !event)
		return;
	mgr_describe(m, b, &it);
	m->ev(m->ev_arg, event, &it);
}

static void grant_rec(const struct grant *g, struct mgr_grant_rec *r)
{
	memset(r, 0, sizeof(*r));
	r->id = g->id;
	snprintf(r->owner, sizeof(r->owner), "%s", g->acct->owner);
	r->req.spec = g->spec;
	r->req.rtp_pair = g->rtcp != NULL;
	r->req.lifetime = g->lifetime;
	r->ext = g->prim->ext;
	r->deadline = g->prim->deadline;
}

/* Tell the state file about g. */
static void persist(struct mgr *m, const struct grant *g, bool gone)
{
	struct mgr_grant_rec r;

	if (!m->persist || !g->prim)
		return;
	if (gone) {
		memset(&r, 0, sizeof(r));
		r.id = g->id;
	} else {
		grant_rec(g, &r);
	}
	m->persist(m->persist_arg, &r, gone);
}

void mgr_set_persist(struct mgr *m, mgr_persist_fn fn, void *arg)
{
	m->persist = fn;
	m->persist_arg = arg;
}

void mgr_each_grant(struct mgr *m, void (*fn)(void *arg, const struct mgr_grant_rec *r), void *arg)
{
	struct mgr_grant_rec r;

	for (unsigned i = 0; i < ID_BUCKETS; i++)
		for (const struct grant *g = m->ids[i]; g; g = g->hnext)
			if (g->prim) {
				grant_rec(g, &r);
				fn(arg, &r);
			}
}

void mgr_set_epoch(struct mgr *m, uint64_t epoch)
{
	if (epoch)
		m->epoch = epoch;
}

void mgr_set_watching(struct mgr *m, int delta)
{
	if (delta < 0 && m->watching)
		m->watching--;
	else if (delta > 0)
		m->watching++;
}

void mgr_announce(struct mgr *m, uint8_t event, const struct binding *b)
{
	if (m->watching)
		emit(m, event, b);
}

/* Free one binding of a grant (its pool port too, unless it is an alias). */
static void drop_binding(struct mgr *m, struct binding *b)
{
	xlate_release_binding(m->x, b);
	bind_remove(m->x->bt, b);
	m->x->st->bindings_removed++;
}

/* The live bindings of a grant (primary, RTCP partner, aliases) into all;
 * returns how many. */
static unsigned grant_bindings(const struct grant *g, struct binding *all[2 + RULES_MAX])
{
	unsigned n = 0;

	if (g->prim)
		all[n++] = g->prim;
	if (g->rtcp)
		all[n++] = g->rtcp;
	for (unsigned i = 0; i < RULES_MAX; i++)
		if (g->alias[i])
			all[n++] = g->alias[i];
	return n;
}

/* Remove a grant with all its bindings but keep (which the caller frees:
 * the expiry path). event (if non-zero) is announced for the primary. */
static void grant_remove(struct mgr *m, struct grant *g, struct binding *keep, uint8_t event)
{
	struct binding *all[2 + RULES_MAX];
	unsigned n = grant_bindings(g, all);

	persist(m, g, true);
	if (g->prim)
		emit(m, event, g->prim);
	for (unsigned i = 0; i < n; i++) {
		all[i]->mgr = NULL;
		all[i]->rules = NULL;
		if (g->acct && g->acct->held)
			g->acct->held--;
		if (all[i] != keep)
			drop_binding(m, all[i]);
	}
	grant_unhash(m, g);
	m->ngrants--;
	account_unlink(g);
	if (g->acct)
		account_put(m, g->acct);
	free(g);
}

void mgr_binding_gone(struct mgr *m, struct binding *b, uint8_t event)
{
	struct grant *g = b->mgr;

	if (!g)
		return;
	if (b == g->prim) {
		grant_remove(m, g, b, event);
		return;
	}
	/* a partner or an alias went on its own */
	if (b == g->rtcp)
		g->rtcp = NULL;
	for (unsigned i = 0; i < RULES_MAX; i++)
		if (g->alias[i] == b)
			g->alias[i] = NULL;
	if (g->acct && g->acct->held)
		g->acct->held--;
	b->mgr = NULL;
	b->rules = NULL;
	persist(m, g, false);
}

static void grant_set_deadline(struct mgr *m, struct grant *g, uint32_t deadline)
{
	struct binding *all[2 + RULES_MAX];
	unsigned n = grant_bindings(g, all);

	for (unsigned i = 0; i < n; i++)
		bind_set_deadline(m->x->bt, all[i], deadline);
}

/* ---- requests ---- */

__attribute__((format(printf, 3, 4))) static uint16_t fail(struct nc_status *st, uint16_t code,
							   const char *fmt, ...)
{
	va_list ap;

	st->code = code;
	va_start(ap, fmt);
	vsnprintf(st->reason, sizeof(st->reason), fmt, ap);
	va_end(ap);
	return code;
}

static uint32_t clamp_lifetime(const struct mgr *m, uint32_t asked)
{
	if (asked == 0)
		return m->c.default_lifetime;
	return asked > m->c.max_lifetime ? m->c.max_lifetime : asked;
}

static bool policy_allows_ep(const struct mgr_policy *pol, struct endpoint e)
{
	if (pol->admin || pol->nprefixes == 0)
		return true;
	for (unsigned i = 0; i < pol->nprefixes; i++)
		if (prefix_match(&pol->prefixes[i], e.addr))
			return true;
	return false;
}

/* Make room for a new binding on in-key {proto, r1, e, ra}: a dynamic
 * binding there is replaced; anything else is a conflict. */
static uint16_t clear_in_key(struct mgr *m, uint8_t proto, uint8_t r1, struct endpoint e,
			     uint8_t ra, struct nc_status *st)
{
	struct binding *b = bind_lookup_in(m->x->bt, proto, r1, e, ra);
	char a[EP_STRLEN];

	if (!b)
		return NC_ST_OK;
	if (b->kind == BIND_DYNAMIC) {
		drop_binding(m, b);
		return NC_ST_OK;
	}
	return fail(st, NC_ST_CONFLICT, "%s is already bound (%s)", ep_str(e, a),
		    b->kind == BIND_STATIC ? "static forward" : "another request");
}

/* Allocate M under the request's constraints. */
static uint16_t allocate(struct mgr *m, struct pool *pl, int pp, const struct nc_bind *req,
			 struct endpoint e, struct endpoint *out, struct nc_status *st)
{
	uint32_t lo = 0, hi = UINT32_MAX;
	unsigned flags = req->rtp_pair ? POOL_F_PAIR : 0, fallback = m->x->pool_flags | flags;
	uint16_t wport = e.port;
	int err;

	if (req->want == NC_WANT_PREFIX) {
		uint32_t mask = prefix_mask(req->want_plen);
		lo = nc_ip_get4(&req->want_addr) & mask;
		hi = lo | ~mask;
	} else if (req->want == NC_WANT_RANGE) {
		lo = nc_ip_get4(&req->want_addr);
		hi = nc_ip_get4(&req->want_hi);
	}
	if (req->want_port) {
		wport = htons(req->want_port);
		flags |= req->prefer_failure ? POOL_F_EXACT_PORT : POOL_F_PRESERVE;
	} else {
		flags = fallback;
	}
	err = pool_alloc_range(pl, (enum pool_proto)pp, e.addr, lo, hi, wport, flags, out);
	if (err && !req->prefer_failure) /* substitute: any address, any port */
		err = pool_alloc_range(pl, (enum pool_proto)pp, e.addr, 0, UINT32_MAX, e.port,
				       fallback, out);
	if (!err)
		return NC_ST_OK;
	if (req->prefer_failure && (req->want_port || req->want != NC_WANT_ANY))
		return fail(st, NC_ST_CONFLICT, "the address or port asked for is not available");
	return fail(st, NC_ST_EXHAUSTED, "no free %saddress and port in the pool",
		    req->rtp_pair ? "even/odd " : "");
}

/* Where a BIND asks for its binding: the endpoint's realm r1, the realm
 * of the allocation ra, the pool there, and the endpoint E. */
struct bind_where {
	uint8_t r1, ra;
	struct pool *pl;
	struct endpoint e;
};

/* Phase 1 of a BIND: the request's form, its realms and pool, and the
 * client's policy, before anything is looked up or changed. */
static uint16_t bind_check(struct mgr *m, const struct mgr_policy *pol, const struct nc_bind *req,
			   struct bind_where *w, struct nc_status *st)
{
	const struct nc_spec *sp = &req->spec;
	struct realm_set *rs = m->x->realms;
	uint8_t r1, r2, ra, proto = sp->proto;
	struct pool *pl = NULL;
	struct endpoint e;

	if (proto != IPPROTO_UDP && proto != IPPROTO_TCP && proto != IPPROTO_ICMP)
		return fail(st, NC_ST_UNSUPPORTED, "protocol %u is not translated", proto);
	if (sp->ep.ip.af != NC_AF_IP4 || req->want_addr.af == NC_AF_IP6)
		return fail(st, NC_ST_UNSUPPORTED, "natd translates IPv4 only");
	if ((r1 = realm_find(rs, sp->in_realm)) == REALM_NONE)
		return fail(st, NC_ST_UNKNOWN_REALM, "no realm named \"%s\"", sp->in_realm);
	if ((r2 = realm_find(rs, sp->ext_realm)) == REALM_NONE)
		return fail(st, NC_ST_UNKNOWN_REALM, "no realm named \"%s\"", sp->ext_realm);
	ra = r2;
	if (ra == r1)
		return fail(st, NC_ST_BAD_REQUEST, "endpoint and allocation are in the same realm");
	/* transit pool (docs/glossary.md): the pool inside R2 forces the path */
	if (sp->transit[0] && !(pl = realm_transit_pool(&rs->realms[ra], sp->transit)))
		return fail(st, NC_ST_UNKNOWN_REALM, "realm \"%s\" has no transit network \"%s\"",
			    sp->ext_realm, sp->transit);
	if (!sp->transit[0] && !(pl = rs->realms[ra].pool))
		return fail(st, NC_ST_EXHAUSTED, "realm \"%s\" has no pool", rs->realms[ra].name);
	e = ep_of(&sp->ep);
	if (realm_classify(rs, e.addr) != r1)
		return fail(st, NC_ST_BAD_REQUEST, "the endpoint is not in realm \"%s\"", sp->in_realm);
	if (req->rtp_pair && (proto == IPPROTO_ICMP || ntohs(e.port) == 65535))
		return fail(st, NC_ST_BAD_REQUEST, "an RTP pair needs a UDP/TCP port below 65535");
	if (!pol->admin && !((pol->realms >> ra) & 1u))
		return fail(st, NC_ST_NOT_AUTHORIZED, "may not allocate in realm \"%s\"",
			    rs->realms[ra].name);
	if (!policy_allows_ep(pol, e))
		return fail(st, NC_ST_NOT_AUTHORIZED, "may not name that endpoint");
	for (unsigned i = 0; i < sp->ntargets; i++) {
		struct endpoint t = ep_of(&sp->targets[i].to);
		if (sp->targets[i].to.ip.af != NC_AF_IP4 || realm_classify(rs, t.addr) != r1 ||
		    !policy_allows_ep(pol, t))
			return fail(st, NC_ST_NOT_AUTHORIZED, "target %u is not an endpoint it may name",
				    i + 1);
	}
	*w = (struct bind_where){r1, ra, pl, e};
	return NC_ST_OK;
}

/* Phase 2 of a new BIND: the client's quota, room on the in-keys, M from
 * the pool, then the grant and its bindings (primary, RTCP partner,
 * target aliases). On failure nothing is left behind. */
static uint16_t bind_create(struct mgr *m, const struct mgr_client *c, const struct nc_bind *req,
			    const struct bind_where *w, uint32_t now, struct grant **out,
			    struct nc_status *st)
{
	const struct nc_spec *sp = &req->spec;
	const struct mgr_policy *pol = c->pol;
	struct bind_table *bt = m->x->bt;
	struct account *acct = account_find(m, c->owner); /* made only when a grant is */
	struct pool *pl = w->pl;
	uint8_t r1 = w->r1, ra = w->ra, proto = sp->proto;
	struct endpoint e = w->e, mm, e2, m2;
	struct binding *b;
	struct grant *g;
	int pp = pool_proto_of(proto), err;
	uint32_t nneed;
	uint16_t status;

	nneed = 1 + (req->rtp_pair ? 1u : 0u) + sp->ntargets;
	if (pol->quota && (acct ? acct->held : 0) + nneed > pol->quota)
		return fail(st, NC_ST_QUOTA_EXCEEDED, "holds %u bindings of %u allowed",
			    acct ? acct->held : 0, pol->quota);
	if ((status = clear_in_key(m, proto, r1, e, ra, st)) != NC_ST_OK)
		return status;
	e2 = e;
	e2.port = htons((uint16_t)(ntohs(e.port) + 1));
	if (req->rtp_pair && (status = clear_in_key(m, proto, r1, e2, ra, st)) != NC_ST_OK)
		return status;
	for (unsigned i = 0; i < sp->ntargets; i++)
		if ((status = clear_in_key(m, proto, r1, ep_of(&sp->targets[i].to), ra, st)) != NC_ST_OK)
			return status;
	if ((status = allocate(m, pl, pp, req, e, &mm, st)) != NC_ST_OK)
		return status;

	if (!(g = calloc(1, sizeof(*g))) || !(acct = account_get(m, c->owner))) {
		free(g);
		pool_release(pl, (enum pool_proto)pp, mm);
		if (req->rtp_pair)
			pool_release(pl, (enum pool_proto)pp,
				     (struct endpoint){mm.addr, htons((uint16_t)(ntohs(mm.port) + 1))});
		return fail(st, NC_ST_INTERNAL, "out of memory");
	}
	if (!(b = bind_insert(bt, BIND_MANAGED, proto, r1, e, ra, mm, now, &err))) {
		pool_release(pl, (enum pool_proto)pp, mm);
		if (req->rtp_pair)
			pool_release(pl, (enum pool_proto)pp,
				     (struct endpoint){mm.addr, htons((uint16_t)(ntohs(mm.port) + 1))});
		free(g);
		account_put(m, acct);
		return fail(st, NC_ST_EXHAUSTED, "binding table full");
	}
	account_link(acct, g);
	g->prim = b;
	g->id = b->id;
	g->hnext = m->ids[g->id % ID_BUCKETS];
	m->ids[g->id % ID_BUCKETS] = g;
	m->ngrants++;
	b->mgr = g;
	acct->held++;
	m->x->st->bindings_created++;
	if (req->rtp_pair) {
		m2 = mm;
		m2.port = htons((uint16_t)(ntohs(mm.port) + 1));
		if (!(g->rtcp = bind_insert(bt, BIND_MANAGED, proto, r1, e2, ra, m2, now, &err))) {
			pool_release(pl, (enum pool_proto)pp, m2);
			grant_remove(m, g, NULL, 0);
			return fail(st, NC_ST_EXHAUSTED, "binding table full");
		}
		g->rtcp->mgr = g;
		acct->held++;
		m->x->st->bindings_created++;
	}
	for (unsigned i = 0; i < sp->ntargets; i++) {
		struct endpoint t = ep_of(&sp->targets[i].to);
		if (bind_lookup_in(bt, proto, r1, t, ra))
			continue; /* the default endpoint itself, or listed twice */
		if (!(g->alias[i] = bind_insert_alias(bt, proto, r1, t, ra, mm, now, &err))) {
			grant_remove(m, g, NULL, 0);
			return fail(st, NC_ST_EXHAUSTED, "binding table full");
		}
		g->alias[i]->mgr = g;
		acct->held++;
		m->x->st->bindings_created++;
	}
	*out = g;
	return NC_ST_OK;
}

/* Phase 3, for a new grant and for a repeated one: its rules, request and
 * lease, set on all its bindings and persisted. */
static void bind_settle(struct mgr *m, struct grant *g, const struct nc_spec *sp, uint32_t lifetime,
			uint32_t now)
{
	struct binding *all[2 + RULES_MAX];
	unsigned n;
	bool ruled = sp->nfilters || sp->ntargets || sp->drop_default || sp->has_peer;

	g->spec = *sp;
	g->lifetime = lifetime;
	memset(&g->rules, 0, sizeof(g->rules));
	g->rules.nfilters = sp->nfilters;
	for (unsigned i = 0; i < sp->nfilters; i++)
		g->rules.filters[i] = match_of(&sp->filters[i]);
	g->rules.ntargets = sp->ntargets;
	for (unsigned i = 0; i < sp->ntargets; i++) {
		g->rules.targets[i].from = match_of(&sp->targets[i].from);
		g->rules.targets[i].to = ep_of(&sp->targets[i].to);
	}
	g->rules.drop_default = sp->drop_default;
	g->rules.has_peer = sp->has_peer;
	if (sp->has_peer)
		g->rules.peer = match_of(&sp->peer);
	/* LATCH: the learning window starts now, for a new BIND and a
	 * repeated one alike (a new filter: learn again) */
	g->rules.latch = sp->nfilters ? sp->latch : 0;
	g->rules.latch_until = now + g->rules.latch;
	n = grant_bindings(g, all);
	for (unsigned i = 0; i < n; i++) {
		all[i]->rules = ruled ? &g->rules : NULL;
		all[i]->flags = (uint8_t)((all[i]->flags & ~BF_ORIG_ONLY) |
					  (sp->dir == NC_DIR_ORIG ? BF_ORIG_ONLY : 0));
	}
	grant_set_deadline(m, g, now + lifetime);
	persist(m, g, false);
}

uint16_t mgr_bind(struct mgr *m, struct mgr_client *c, const struct nc_bind *req,
		  struct nc_bind_r *rep)
{
	const struct nc_spec *sp = &req->spec;
	struct nc_status *st = &rep->st;
	struct bind_where w = {.pl = NULL}; /* set by bind_check() when it says OK */
	struct binding *ex;
	struct grant *g = NULL;
	uint32_t now = clock_mono_s(), lifetime = clamp_lifetime(m, req->lifetime);
	uint16_t status;
	uint8_t event;

	memset(rep, 0, sizeof(*rep));
	st->epoch = m->epoch;
	if (m->standby && !m->restoring)
		return fail(st, NC_ST_TRY_AGAIN, MGR_STANDBY_REASON);
	if ((status = bind_check(m, c->pol, req, &w, st)) != NC_ST_OK)
		return status;

	/* The same request again from its owner: refresh it, rules updated. */
	ex = bind_lookup_in(m->x->bt, sp->proto, w.r1, w.e, w.ra);
	if (ex && ex->kind == BIND_MANAGED && ex->mgr && ((struct grant *)ex->mgr)->prim == ex) {
		g = ex->mgr;
		if (strcmp(g->acct->owner, c->owner) && !c->pol->admin)
			return fail(st, NC_ST_CONFLICT, "the endpoint is bound by another client");
		if (sp->ntargets != g->spec.ntargets || req->rtp_pair != (g->rtcp != NULL))
			return fail(st, NC_ST_CONFLICT, "already bound with other targets or pairing");
		event = NC_EV_REFRESHED;
	} else {
		if ((status = bind_create(m, c, req, &w, now, &g, st)) != NC_ST_OK)
			return status;
		event = NC_EV_CREATED;
	}
	bind_settle(m, g, sp, lifetime, now);
	st->code = NC_ST_OK;
	rep->id = g->id;
	ep_set(&rep->alloc, g->prim->ext);
	rep->lifetime = lifetime;
	emit(m, event, g->prim);
	if (log_level >= LOG_INFO) {
		char a[EP_STRLEN], b2[EP_STRLEN];
		log_info("binding %u %s for %s: %s/%s -> %s/%s, %u s%s%s%s", g->id,
			 event == NC_EV_CREATED ? "granted" : "renewed", c->owner, sp->in_realm,
			 ep_str(g->prim->in, a), m->x->realms->realms[w.ra].name,
			 ep_str(g->prim->ext, b2), lifetime, g->rtcp ? ", RTCP pair" : "",
			 sp->label[0] ? ", " : "", sp->label);
	}
	return NC_ST_OK;
}

static struct grant *owned_grant(struct mgr *m, struct mgr_client *c, uint64_t epoch, uint32_t id,
				 struct nc_status *st)
{
	struct grant *g;

	st->epoch = m->epoch;
	if (epoch && epoch != m->epoch) {
		fail(st, NC_ST_STALE_EPOCH, "natd restarted: its bindings are gone");
		return NULL;
	}
	g = grant_find(m, id);
	if (!g || (strcmp(g->acct->owner, c->owner) && !c->pol->admin)) {
		fail(st, NC_ST_NOT_FOUND, "no binding %u of yours", id);
		return NULL;
	}
	return g;
}

uint16_t mgr_refresh(struct mgr *m, struct mgr_client *c, const struct nc_refresh *req,
		     struct nc_refresh_r *rep)
{
	struct grant *g;

	memset(rep, 0, sizeof(*rep));
	if (m->standby) {
		rep->st.epoch = m->epoch;
		return fail(&rep->st, NC_ST_TRY_AGAIN, MGR_STANDBY_REASON);
	}
	if (!(g = owned_grant(m, c, req->epoch, req->id, &rep->st)))
		return rep->st.code;
	g->lifetime = clamp_lifetime(m, req->lifetime);
	grant_set_deadline(m, g, clock_mono_s() + g->lifetime);
	persist(m, g, false);
	rep->lifetime = g->lifetime;
	emit(m, NC_EV_REFRESHED, g->prim);
	return NC_ST_OK;
}

uint16_t mgr_release(struct mgr *m, struct mgr_client *c, const struct nc_release *req,
		     struct nc_status *rep)
{
	struct grant *g;

	memset(rep, 0, sizeof(*rep));
	if (m->standby) {
		rep->epoch = m->epoch;
		return fail(rep, NC_ST_TRY_AGAIN, MGR_STANDBY_REASON);
	}
	if (!(g = owned_grant(m, c, req->epoch, req->id, rep)))
		return rep->code;
	log_info("binding %u released by %s", g->id, c->owner);
	grant_remove(m, g, NULL, NC_EV_RELEASED);
	return NC_ST_OK;
}

uint16_t mgr_restore(struct mgr *m, const struct mgr_grant_rec *r, struct nc_status *st)
{
	/* the request passed the owner's policy when it was granted */
	static const struct mgr_policy restorer = {.name = "restore", .admin = true};
	struct mgr_client c = {.pol = &restorer};
	struct nc_bind req = r->req;
	struct nc_bind_r rep;
	uint32_t now = clock_mono_s();
	struct grant *g;
	uint16_t status;

	memset(st, 0, sizeof(*st));
	st->epoch = m->epoch;
	if ((int32_t)(r->deadline - now) <= 0)
		return fail(st, NC_ST_NOT_FOUND, "its lease is over");
	if (!r->id || grant_find(m, r->id))
		return fail(st, NC_ST_CONFLICT, "binding id %u is already in use", r->id);
	snprintf(c.owner, sizeof(c.owner), "%s", r->owner);
	req.want = NC_WANT_RANGE;
	nc_ip_set4(&req.want_addr, r->ext.addr);
	nc_ip_set4(&req.want_hi, r->ext.addr);
	req.want_port = ntohs(r->ext.port);
	req.prefer_failure = true;
	m->restoring = true;
	status = mgr_bind(m, &c, &req, &rep);
	m->restoring = false;
	if (status != NC_ST_OK) {
		*st = rep.st;
		return st->code;
	}
	g = grant_find(m, rep.id);
	if (!g || g->prim->ext.addr != r->ext.addr || g->prim->ext.port != r->ext.port) {
		if (g)
			grant_remove(m, g, NULL, 0);
		return fail(st, NC_ST_CONFLICT, "its address and port are taken");
	}
	grant_unhash(m, g);
	g->id = r->id;
	bind_set_id(m->x->bt, g->prim, r->id);
	g->hnext = m->ids[g->id % ID_BUCKETS];
	m->ids[g->id % ID_BUCKETS] = g;
	g->lifetime = r->req.lifetime;
	grant_set_deadline(m, g, r->deadline);
	return NC_ST_OK;
}

void mgr_describe(struct mgr *m, const struct binding *b, struct nc_item *it)
{
	struct realm_set *rs = m->x->realms;
	const struct grant *g = b->mgr;
	uint32_t d = bind_deadline(m->x->bt, b), now = clock_mono_s();

	memset(it, 0, sizeof(*it));
	if (g)
		it->spec = g->spec;
	else
		it->spec.dir = b->kind == BIND_DYNAMIC ? NC_DIR_ORIG : NC_DIR_BOTH;
	it->id = b->id;
	it->kind = (uint8_t)(b->kind + 1);
	it->spec.proto = b->proto;
	snprintf(it->spec.in_realm, sizeof(it->spec.in_realm), "%s", rs->realms[b->in_realm].name);
	snprintf(it->spec.ext_realm, sizeof(it->spec.ext_realm), "%s", rs->realms[b->ext_realm].name);
	ep_set(&it->spec.ep, b->in);
	ep_set(&it->alloc, b->ext);
	it->lifetime = d == UINT32_MAX ? 0 : (d > now ? d - now : 1);
	snprintf(it->owner, sizeof(it->owner), "%s",
		 g ? g->acct->owner : b->kind == BIND_STATIC ? "config" : "dynamic");
	if (g && b != g->prim)
		snprintf(it->spec.label, sizeof(it->spec.label), "%s of binding %u",
			 b == g->rtcp ? "rtcp" : "alias", g->id);
	it->has_counters = true;
	it->counters = (struct nc_counters){b->pkts_in, b->bytes_in, b->pkts_out, b->bytes_out};
}

uint32_t mgr_list(struct mgr *m, struct mgr_client *c, const struct nc_list *req,
		  void (*emitfn)(void *arg, const struct nc_item *it), void *arg)
{
	uint32_t cursor = 0, n = 0;
	struct binding *b;
	struct nc_item it;

	while ((b = bind_next(m->x->bt, &cursor))) {
		const struct grant *g = b->mgr;
		bool own = g && !strcmp(g->acct->owner, c->owner);
		if (req->id && b->id != req->id)
			continue;
		if (req->kind && req->kind != b->kind + 1)
			continue;
		if ((req->mine || !c->pol->admin) && !own)
			continue;
		mgr_describe(m, b, &it);
		emitfn(arg, &it);
		n++;
	}
	return n;
}

bool mgr_find_own(struct mgr *m, const struct mgr_client *c, uint8_t proto, uint8_t in_realm,
		  struct endpoint e, uint8_t ext_realm, struct nc_item *it)
{
	struct binding *b = bind_lookup_in(m->x->bt, proto, in_realm, e, ext_realm);
	const struct grant *g = b ? b->mgr : NULL;

	if (!b || b->kind != BIND_MANAGED || !g || g->prim != b || strcmp(g->acct->owner, c->owner))
		return false;
	mgr_describe(m, b, it);
	return true;
}

uint32_t mgr_each_own(struct mgr *m, const struct mgr_client *c,
		      void (*emitfn)(void *arg, const struct nc_item *it), void *arg)
{
	struct account *a = account_find(m, c->owner);
	const struct grant *g, *next;
	struct nc_item it;
	uint32_t n = 0;

	for (g = a ? a->grants : NULL; g; g = next) {
		next = g->anext; /* emitfn does not change grants, but be safe */
		if (!g->prim)
			continue;
		mgr_describe(m, g->prim, &it);
		emitfn(arg, &it);
		n++;
	}
	return n;
}

struct stat_fill {
	struct nc_stats_r *r;
};

static void stat_one(void *arg, const char *name, uint64_t v)
{
	struct nc_stats_r *r = arg;

	if (r->n >= NC_STATS_MAX)
		return;
	snprintf(r->stats[r->n].name, sizeof(r->stats[r->n].name), "%s", name);
	r->stats[r->n++].value = v;
}

void mgr_stats(struct mgr *m, struct nc_stats_r *rep)
{
	struct bind_table *bt = m->x->bt;

	memset(rep, 0, sizeof(*rep));
	rep->st.epoch = m->epoch;
	stats_each(m->x->st, stat_one, rep);
	stat_one(rep, "bindings", bind_count(bt));
	stat_one(rep, "bindings_dynamic", bind_count_kind(bt, BIND_DYNAMIC));
	stat_one(rep, "bindings_static", bind_count_kind(bt, BIND_STATIC));
	stat_one(rep, "bindings_managed", bind_count_kind(bt, BIND_MANAGED));
	stat_one(rep, "capacity", bind_capacity(bt));
	stat_one(rep, "grants", m->ngrants);
}

void mgr_caps(struct mgr *m, struct nc_caps_r *rep)
{
	static const uint16_t msgs[] = {NC_MSG_HELLO, NC_MSG_AUTH, NC_MSG_CAPS, NC_MSG_BIND,
					NC_MSG_REFRESH, NC_MSG_RELEASE, NC_MSG_LIST, NC_MSG_STATS,
					NC_MSG_WATCH};
	static const uint16_t tlvs[] = {
		NC_T_NAME, NC_T_REASON, NC_T_LABEL, NC_T_OWNER, NC_T_COUNTERS, NC_T_STATUS,
		NC_T_EPOCH, NC_T_AUTH_NONCE, NC_T_AUTH_MAC, NC_T_BINDING_ID, NC_T_KIND,
		NC_T_DIRECTION, NC_T_PROTO, NC_T_IN_REALM, NC_T_EXT_REALM, NC_T_ENDPOINT,
		NC_T_ALLOC, NC_T_WANT_ADDR, NC_T_WANT_RANGE, NC_T_WANT_PORT, NC_T_RTP_PAIR,
		NC_T_PREFER_FAILURE, NC_T_LIFETIME, NC_T_TRANSIT, NC_T_PEER, NC_T_FILTER,
		NC_T_TARGET, NC_T_DROP_DEFAULT, NC_T_MINE, NC_T_COUNT, NC_T_STAT, NC_T_CAP_MSGS,
		NC_T_CAP_TLVS, NC_T_REALM, NC_T_LIFETIME_MAX, NC_T_QUOTA, NC_T_EVENT_TYPE,
		NC_T_EVENT_MASK, NC_T_LATCH};
	struct realm_set *rs = m->x->realms;

	memset(rep, 0, sizeof(*rep));
	rep->st.epoch = m->epoch;
	rep->nmsgs = sizeof(msgs) / sizeof(msgs[0]);
	memcpy(rep->msgs, msgs, sizeof(msgs));
	rep->ntlvs = sizeof(tlvs) / sizeof(tlvs[0]);
	memcpy(rep->tlvs, tlvs, sizeof(tlvs));
	rep->lifetime_max = m->c.max_lifetime;
	for (unsigned i = 0; i < rs->n && i < NC_LIST_MAX; i++) {
		snprintf(rep->realms[rep->nrealms++], NC_NAME_MAX + 1, "%s", rs->realms[i].name);
		for (unsigned k = 0; k < rs->realms[i].ntransit && rep->ntransits < NC_LIST_MAX; k++)
			snprintf(rep->transits[rep->ntransits++], NC_NAME_MAX + 1, "%s",
				 rs->realms[i].transit[k].name);
	}
}

void mgr_set_standby(struct mgr *m, bool standby)
{
	m->standby = standby;
}

bool mgr_set_lease(struct mgr *m, uint32_t id, uint32_t deadline)
{
	struct grant *g = grant_find(m, id);

	if (!g)
		return false;
	grant_set_deadline(m, g, deadline);
	persist(m, g, false);
	return true;
}

bool mgr_forget(struct mgr *m, uint32_t id)
{
	struct grant *g = grant_find(m, id);

	if (!g)
		return false;
	grant_remove(m, g, NULL, NC_EV_RELEASED);
	return true;
}
