/* pcp_server: PCP and NAT-PMP requests into address-manager calls (see
 * pcp_server.h for the theory of operation).
 *
 * Request path: pcp_server_handle() -> handle_pcp() / handle_natpmp():
 * decode (pcp.c), then the checks that are this server's policy (realm,
 * THIRD_PARTY, protocol, lifetimes), then at most one manager change, then
 * the reply. Every check that can fail runs before anything is changed, so
 * an error reply leaves no state behind (RFC 6887 section 7.3).
 *
 * Finding a client's mapping of one internal endpoint is one hash lookup
 * (mgr_find_own: the binding table's in-side index); "every mapping of the
 * client" (a deletion with port or protocol 0) walks only the client's own
 * grants (mgr_each_own), at most pcp.max_mappings. Per subscriber (client
 * address): at most pcp.max_mappings mappings (the manager's account
 * quota, refused with USER_EX_QUOTA, RFC 6887 section 7.4) and
 * pcp.max_client_rate requests a second (a per-address token bucket, the
 * shared ratelimit.c); over all clients pcp.max_rate (tb_take). Requests
 * over a rate are dropped, as RFC 6887 section 8.3 allows an overloaded
 * server to do; a client's own bucket is checked first, so a flooding
 * client spends none of the shared tokens the others need.
 */
#include "pcp_server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "manager.h"
#include "pcp.h"
#include "pool.h"
#include "ratelimit.h"

#define RX_BATCH 16
#define DELETE_ROUNDS 64 /* bound on LIST/RELEASE rounds of a "delete all" */
#define LABEL_NATPMP "nat-pmp"
#define LABEL_PCP "pcp nonce "

struct pcp_listener {
	struct pcp_server *s;
	uint32_t addr;
	int fd;
	struct event *ev;
};

struct pcp_server {
	struct pcp_conf c;
	struct mgr *m;
	const struct realm_set *rs;
	uint32_t start;
	struct pcp_stats st;
	struct tbucket all;          /* pcp.max_rate, over all clients */
	struct ratelimit *per_client; /* pcp.max_client_rate, per client address */
	struct pcp_listener ls[PCP_LISTEN_MAX];
	unsigned nls;
	uint8_t rxbuf[PCP_MAX_LEN + 4]; /* > 1100: a longer datagram still reads as too long */
	uint8_t txbuf[PCP_MAX_LEN];
};

/* One request being handled, and the requester as the manager sees it. */
struct ctx {
	struct pcp_server *s;
	uint32_t src, now;
	uint8_t in_realm, ext_realm;
	struct mgr_client mc;
	struct mgr_policy pol;
};

/* A LIST walk over the client's own bindings. */
struct find {
	uint8_t proto;        /* 0 = any */
	uint32_t addr;        /* E's address, network order */
	uint16_t port;        /* E's port; 0 = any */
	const char *in_realm, *ext_realm;
	const uint8_t *nonce; /* non-NULL: only bindings labelled with it */
	bool found;
	struct nc_item item;  /* the first match */
	uint32_t ids[64];     /* every match, up to 64 */
	unsigned nids;
};

uint32_t pcp_server_epoch(const struct pcp_server *s, uint32_t now)
{
	return now - s->start;
}

/* --- labels: where a PCP mapping keeps its nonce --- */

static void nonce_label(char *buf, size_t n, const uint8_t nonce[PCP_NONCE_LEN])
{
	size_t off = (size_t)snprintf(buf, n, "%s", LABEL_PCP);

	for (int i = 0; i < PCP_NONCE_LEN && off + 2 < n; i++, off += 2)
		snprintf(buf + off, n - off, "%02x", nonce[i]);
}

static bool label_has_nonce(const char *label, const uint8_t nonce[PCP_NONCE_LEN])
{
	char want[sizeof(LABEL_PCP) + 2 * PCP_NONCE_LEN];

	nonce_label(want, sizeof(want), nonce);
	return !strcmp(label, want);
}

/* --- the requester --- */

/* The client is "pcp:<address>" (the manager keeps its account, and so its
 * quota, by that name) with a policy that lets E be only e_addr: the
 * sender itself, or the THIRD_PARTY address it named. The policy's single
 * prefix is what enforces pcp_only_self. */
static void client_setup(struct ctx *x, uint32_t e_addr, bool third)
{
	char a[INET_ADDRSTRLEN];

	memset(&x->mc, 0, sizeof(x->mc));
	memset(&x->pol, 0, sizeof(x->pol));
	inet_ntop(AF_INET, &x->src, a, sizeof(a));
	snprintf(x->mc.owner, sizeof(x->mc.owner), "pcp:%s", a);
	snprintf(x->pol.name, sizeof(x->pol.name), "pcp");
	x->pol.realms = 1u << x->ext_realm;
	x->pol.prefixes[0] = (struct prefix){.addr = e_addr, .mask = 0xffffffffu, .len = 32};
	x->pol.nprefixes = 1;
	x->pol.quota = x->s->c.max_mappings;
	x->pol.pcp_only_self = !third;
	x->mc.pol = &x->pol;
}

/* The client's realm and the realm it NATs into (the lowest-numbered one
 * of its nat_to). False when the client's realm is not translated. */
static bool client_realms(struct ctx *x)
{
	const struct realm_set *rs = x->s->rs;
	uint8_t r = realm_classify(rs, x->src);

	if (r == REALM_NONE || r >= rs->n || !rs->realms[r].nat_to)
		return false;
	x->in_realm = r;
	x->ext_realm = (uint8_t)__builtin_ctz(rs->realms[r].nat_to);
	return x->ext_realm < rs->n;
}

/* --- the manager's view --- */

static bool ip_is(const struct nc_ip *ip, uint32_t addr)
{
	return ip->af == NC_AF_IP4 && nc_ip_get4(ip) == addr;
}

static void find_emit(void *arg, const struct nc_item *it)
{
	struct find *f = arg;
	const struct nc_spec *sp = &it->spec;

	if (it->kind != NC_KIND_MANAGED || (f->proto && sp->proto != f->proto) ||
	    !ip_is(&sp->ep.ip, f->addr) || (f->port && sp->ep.port != f->port) ||
	    strcmp(sp->in_realm, f->in_realm) || strcmp(sp->ext_realm, f->ext_realm))
		return;
	if (f->nonce && !label_has_nonce(sp->label, f->nonce))
		return;
	if (!f->found) {
		f->found = true;
		f->item = *it;
	}
	if (f->nids < sizeof(f->ids) / sizeof(f->ids[0]))
		f->ids[f->nids++] = it->id;
}

/* The client's bindings of E = addr:port (port 0: any) for proto (0: any),
 * with the given nonce if not NULL: one hash lookup for a given E, else a
 * walk of the client's own grants (never of the table). */
static void find_mappings(struct ctx *x, struct find *f, uint8_t proto, uint32_t addr,
			  uint16_t port, const uint8_t *nonce)
{
	struct nc_item it;

	memset(f, 0, sizeof(*f));
	f->proto = proto;
	f->addr = addr;
	f->port = port;
	f->nonce = nonce;
	f->in_realm = x->s->rs->realms[x->in_realm].name;
	f->ext_realm = x->s->rs->realms[x->ext_realm].name;
	if (proto && port) {
		struct endpoint e = {addr, htons(port)};
		if (mgr_find_own(x->s->m, &x->mc, proto, x->in_realm, e, x->ext_realm, &it))
			find_emit(f, &it);
		return;
	}
	mgr_each_own(x->s->m, &x->mc, find_emit, f);
}

static uint16_t release_id(struct ctx *x, uint32_t id)
{
	struct nc_release q = {.epoch = mgr_epoch(x->s->m), .id = id};
	struct nc_status rep;
	uint16_t st;

	memset(&rep, 0, sizeof(rep));
	st = mgr_release(x->s->m, &x->mc, &q, &rep);
	if (st == NC_ST_OK)
		x->s->st.released++;
	return st == NC_ST_NOT_FOUND ? NC_ST_OK : st; /* gone already: fine */
}

/* Release every binding of the client matching proto (0: any) and E's
 * address, with the given nonce if any. */
static uint16_t release_all(struct ctx *x, uint8_t proto, uint32_t addr, const uint8_t *nonce)
{
	struct find f;
	uint16_t st;

	for (int round = 0; round < DELETE_ROUNDS; round++) {
		find_mappings(x, &f, proto, addr, 0, nonce);
		if (!f.nids)
			return NC_ST_OK;
		for (unsigned i = 0; i < f.nids; i++)
			if ((st = release_id(x, f.ids[i])) != NC_ST_OK)
				return st;
	}
	return NC_ST_OK;
}

static uint16_t refresh(struct ctx *x, uint32_t id, uint32_t lifetime, uint32_t *granted)
{
	struct nc_refresh q = {.epoch = mgr_epoch(x->s->m), .id = id, .lifetime = lifetime};
	struct nc_refresh_r rep;
	uint16_t st;

	memset(&rep, 0, sizeof(rep));
	st = mgr_refresh(x->s->m, &x->mc, &q, &rep);
	if (st == NC_ST_OK) {
		*granted = rep.lifetime;
		x->s->st.refreshed++;
	}
	return st;
}

/* BIND (or, for a binding the client already has on E, the manager's
 * in-place update of its rules and lease, which keeps M). */
static uint16_t do_bind(struct ctx *x, const struct nc_bind *b, struct endpoint *m,
			uint32_t *granted)
{
	struct nc_bind_r rep;
	uint16_t st;

	memset(&rep, 0, sizeof(rep));
	st = mgr_bind(x->s->m, &x->mc, b, &rep);
	if (st != NC_ST_OK)
		return st;
	if (rep.alloc.ip.af != NC_AF_IP4)
		return NC_ST_INTERNAL;
	m->addr = nc_ip_get4(&rep.alloc.ip);
	m->port = rep.alloc.port; /* host order here */
	*granted = rep.lifetime;
	x->s->st.mapped++;
	return NC_ST_OK;
}

/* The BIND for E = addr:port of proto from the client's realm. */
static void bind_request(struct ctx *x, struct nc_bind *b, uint8_t proto, uint32_t addr,
			 uint16_t port, uint32_t lifetime)
{
	const struct realm_set *rs = x->s->rs;

	memset(b, 0, sizeof(*b));
	b->spec.dir = NC_DIR_BOTH;
	b->spec.proto = proto;
	snprintf(b->spec.in_realm, sizeof(b->spec.in_realm), "%s", rs->realms[x->in_realm].name);
	snprintf(b->spec.ext_realm, sizeof(b->spec.ext_realm), "%s", rs->realms[x->ext_realm].name);
	nc_ip_set4(&b->spec.ep.ip, addr);
	b->spec.ep.port = port;
	b->lifetime = lifetime;
}

/* The suggested external address and port (0: none). */
static void want(struct nc_bind *b, uint32_t addr, uint16_t port, bool prefer_failure)
{
	if (addr) {
		b->want = NC_WANT_PREFIX;
		b->want_plen = 32;
		nc_ip_set4(&b->want_addr, addr);
	}
	b->want_port = port;
	b->prefer_failure = prefer_failure;
}

static uint32_t clamp_lifetime(const struct pcp_conf *c, uint32_t l)
{
	if (l < c->min_lifetime)
		return c->min_lifetime;
	return l > c->max_lifetime ? c->max_lifetime : l;
}

/* --- PCP --- */

static uint8_t pcp_of_status(uint16_t st, bool prefer_failure, bool filters)
{
	switch (st) {
	case NC_ST_OK:
		return PCP_SUCCESS;
	case NC_ST_BAD_REQUEST:
		return PCP_MALFORMED_REQUEST;
	case NC_ST_UNSUPPORTED:
		return filters ? PCP_EXCESSIVE_REMOTE_PEERS : PCP_NOT_AUTHORIZED;
	case NC_ST_NOT_AUTHORIZED:
		return PCP_NOT_AUTHORIZED;
	case NC_ST_QUOTA_EXCEEDED:
		return PCP_USER_EX_QUOTA;
	case NC_ST_CONFLICT:
		/* With PREFER_FAILURE: the suggestion is taken (section 13.2).
		 * Without: E itself is bound by someone else (a static
		 * forward, another client), which is not this client's. */
		return prefer_failure ? PCP_CANNOT_PROVIDE_EXTERNAL : PCP_NOT_AUTHORIZED;
	case NC_ST_EXHAUSTED:
	case NC_ST_NOT_FOUND:
	case NC_ST_TRY_AGAIN:
		return PCP_NO_RESOURCES;
	default: /* UNKNOWN_REALM, STALE_EPOCH, INTERNAL: natd's fault */
		return PCP_NETWORK_FAILURE;
	}
}

/* RFC 6887 section 13.3 FILTER to the manager's remote selector. */
static void filter_match(const struct pcp_filter *f, struct nc_match *mt)
{
	uint32_t a = 0;
	unsigned plen = f->plen - 96u;

	pcp_addr_is_v4(f->addr, &a);
	memset(mt, 0, sizeof(*mt));
	nc_ip_set4(&mt->ip, a & prefix_mask(plen)); /* the wire format wants host bits clear */
	mt->plen = (uint8_t)plen;
	mt->port_lo = f->port;
	mt->port_hi = f->port ? f->port : 65535; /* port 0: every port */
}

static bool match_eq(const struct nc_match *a, const struct nc_match *b)
{
	return a->ip.af == b->ip.af && !memcmp(a->ip.a, b->ip.a, 16) && a->plen == b->plen &&
	       a->port_lo == b->port_lo && a->port_hi == b->port_hi;
}

/* Apply the request's FILTERs, in order, to the list out[0..*n) (section
 * 13.3: prefix length 0 removes every filter, others are added to those
 * the mapping has). False when the result has more than NC_FILTER_MAX. */
static bool merge_filters(const struct pcp_request *r, struct nc_match *out, unsigned *n)
{
	for (unsigned i = 0; i < r->nfilters; i++) {
		struct nc_match mt;
		bool dup = false;

		if (r->filters[i].plen == 0) {
			*n = 0;
			continue;
		}
		filter_match(&r->filters[i], &mt);
		for (unsigned k = 0; k < *n && !dup; k++)
			dup = match_eq(&out[k], &mt);
		if (dup)
			continue;
		if (*n >= NC_FILTER_MAX)
			return false;
		out[(*n)++] = mt;
	}
	return true;
}

static bool filters_eq(const struct nc_spec *a, const struct nc_match *f, unsigned n)
{
	if (a->nfilters != n)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (!match_eq(&a->filters[i], &f[i]))
			return false;
	return true;
}

/* Fill the MAP/PEER part of a reply from the request, and echo the
 * options that were processed. */
static void resp_from_req(struct pcp_response *p, const struct pcp_request *r)
{
	memcpy(p->nonce, r->nonce, PCP_NONCE_LEN);
	p->protocol = r->protocol;
	p->int_port = r->int_port;
	p->ext_port = r->ext_port;
	memcpy(p->ext_ip, r->ext_ip, 16);
	p->peer_port = r->peer_port;
	memcpy(p->peer_ip, r->peer_ip, 16);
	p->has_third_party = r->has_third_party;
	memcpy(p->third_party, r->third_party, 16);
	p->prefer_failure = r->prefer_failure;
	p->nfilters = r->nfilters;
	memcpy(p->filters, r->filters, sizeof(r->filters[0]) * r->nfilters);
}

static void resp_set_ext(struct pcp_response *p, struct endpoint m)
{
	p->ext_port = m.port;
	pcp_addr_from_v4(p->ext_ip, m.addr);
}

static bool same_peer(const struct nc_spec *sp, uint32_t addr, uint16_t port)
{
	return sp->has_peer && ip_is(&sp->peer.ip, addr) && sp->peer.plen == 32 &&
	       sp->peer.port_lo == port && sp->peer.port_hi == port;
}

/* MAP or PEER with lifetime 0: delete (RFC 6887 section 15). Deleting
 * what does not exist succeeds. */
static uint8_t pcp_delete(struct ctx *x, const struct pcp_request *r, uint32_t e_addr,
			  uint32_t peer_addr, struct pcp_response *p)
{
	struct find f;
	uint16_t st;

	p->lifetime = 0;
	if (r->opcode == PCP_OP_MAP && (r->protocol == 0 || r->int_port == 0))
		/* Every mapping of the internal address (and protocol) that
		 * was made with this nonce. */
		return pcp_of_status(release_all(x, r->protocol, e_addr, r->nonce), false, false);
	find_mappings(x, &f, r->protocol, e_addr, r->int_port, NULL);
	if (!f.found)
		return PCP_SUCCESS;
	/* A PEER deletion leaves a MAP, or another peer's mapping, alone. */
	if (r->opcode == PCP_OP_PEER && !same_peer(&f.item.spec, peer_addr, r->peer_port))
		return PCP_SUCCESS;
	if (!label_has_nonce(f.item.spec.label, r->nonce))
		return PCP_NOT_AUTHORIZED; /* section 11.3: another nonce's mapping */
	if ((st = release_id(x, f.item.id)) != NC_ST_OK)
		return pcp_of_status(st, false, false);
	resp_set_ext(p, (struct endpoint){nc_ip_get4(&f.item.alloc.ip), f.item.alloc.port});
	return PCP_SUCCESS;
}

/* THIRD_PARTY (section 13.1): allowed by the config for this sender, an
 * IPv4 host of the sender's own realm. Sets *e_addr. */
static uint8_t check_third_party(struct ctx *x, const struct pcp_request *r, uint32_t *e_addr)
{
	const struct pcp_conf *c = &x->s->c;
	bool ok = c->third_party && c->nthird_party_clients == 0;

	for (unsigned i = 0; c->third_party && i < c->nthird_party_clients; i++)
		ok = ok || prefix_match(&c->third_party_clients[i], x->src);
	if (!ok)
		return PCP_NOT_AUTHORIZED;
	if (!pcp_addr_is_v4(r->third_party, e_addr))
		return PCP_MALFORMED_OPTION; /* an IPv6 host behind an IPv4 NAT */
	if (realm_classify(x->s->rs, *e_addr) != x->in_realm)
		return PCP_NOT_AUTHORIZED;
	return PCP_SUCCESS;
}

/* An existing mapping of the client on E (its nonce already checked). */
static uint8_t pcp_existing(struct ctx *x, const struct pcp_request *r, const struct nc_item *it,
			    uint32_t sugg_addr, uint32_t peer_addr, uint32_t lifetime,
			    struct pcp_response *p)
{
	struct endpoint cur = {nc_ip_get4(&it->alloc.ip), it->alloc.port}, m;
	struct nc_match filters[NC_FILTER_MAX];
	unsigned nfilters;
	uint32_t granted = 0;
	struct nc_bind b;
	uint16_t st;

	if (r->opcode == PCP_OP_PEER) {
		if (!it->spec.has_peer) {
			/* A MAP covers this peer already: report it as it is. */
			resp_set_ext(p, cur);
			p->lifetime = it->lifetime;
			return PCP_SUCCESS;
		}
		/* The table holds one binding per internal endpoint, so a
		 * second peer cannot have its own. */
		if (!same_peer(&it->spec, peer_addr, r->peer_port))
			return PCP_NO_RESOURCES;
		if ((st = refresh(x, it->id, lifetime, &granted)) != NC_ST_OK)
			return pcp_of_status(st, false, false);
		resp_set_ext(p, cur);
		p->lifetime = granted;
		return PCP_SUCCESS;
	}
	/* Section 13.2: rather fail than keep an external endpoint other
	 * than the one suggested. */
	if (r->prefer_failure &&
	    ((r->ext_port && r->ext_port != cur.port) || (sugg_addr && sugg_addr != cur.addr)))
		return PCP_CANNOT_PROVIDE_EXTERNAL;
	nfilters = it->spec.nfilters <= NC_FILTER_MAX ? it->spec.nfilters : NC_FILTER_MAX;
	memcpy(filters, it->spec.filters, sizeof(filters[0]) * nfilters);
	if (!merge_filters(r, filters, &nfilters))
		return PCP_EXCESSIVE_REMOTE_PEERS;
	if (!it->spec.has_peer && filters_eq(&it->spec, filters, nfilters)) {
		if ((st = refresh(x, it->id, lifetime, &granted)) != NC_ST_OK)
			return pcp_of_status(st, false, false);
		resp_set_ext(p, cur);
		p->lifetime = granted;
		return PCP_SUCCESS;
	}
	/* New filters, or a PEER mapping becoming a MAP: the same BIND
	 * again updates the binding's rules in place and keeps M. */
	memset(&b, 0, sizeof(b));
	b.spec = it->spec;
	b.spec.has_peer = false;
	memset(&b.spec.peer, 0, sizeof(b.spec.peer));
	b.spec.nfilters = nfilters;
	memcpy(b.spec.filters, filters, sizeof(filters[0]) * nfilters);
	b.lifetime = lifetime;
	want(&b, cur.addr, cur.port, false);
	if ((st = do_bind(x, &b, &m, &granted)) != NC_ST_OK)
		return pcp_of_status(st, false, nfilters > 0);
	resp_set_ext(p, m);
	p->lifetime = granted;
	return PCP_SUCCESS;
}

/* MAP (section 11) and PEER (section 12) after decoding. */
static uint8_t pcp_map_peer(struct ctx *x, const struct pcp_request *r, struct pcp_response *p)
{
	bool peer = r->opcode == PCP_OP_PEER;
	uint32_t e_addr = x->src, sugg_addr = 0, peer_addr = 0, granted = 0, lifetime;
	struct nc_match filters[NC_FILTER_MAX];
	unsigned nfilters = 0;
	struct endpoint m;
	struct nc_bind b;
	struct find f;
	uint8_t rc;
	uint16_t st;

	resp_from_req(p, r);
	if (!client_realms(x))
		return PCP_NOT_AUTHORIZED; /* not from a realm that is translated */
	if (r->has_third_party && (rc = check_third_party(x, r, &e_addr)) != PCP_SUCCESS)
		return rc;
	for (unsigned i = 0; i < r->nfilters; i++)
		if (r->filters[i].plen && !pcp_addr_is_v4(r->filters[i].addr, NULL))
			return PCP_MALFORMED_OPTION; /* IPv6 remote for an IPv4 mapping */
	/* Only UDP and TCP are translated; protocol 0 ("all protocols") only
	 * a MAP deletion may name. */
	if (r->protocol != IPPROTO_UDP && r->protocol != IPPROTO_TCP &&
	    !(r->lifetime == 0 && !peer && r->protocol == 0))
		return PCP_UNSUPP_PROTOCOL;
	/* A PEER names one flow: an internal port and an IPv4 remote. */
	if (peer && (r->int_port == 0 || r->peer_port == 0 ||
		     !pcp_addr_is_v4(r->peer_ip, &peer_addr) || peer_addr == 0))
		return PCP_MALFORMED_REQUEST;
	client_setup(x, e_addr, r->has_third_party);
	if (r->lifetime == 0)
		return pcp_delete(x, r, e_addr, peer_addr, p);
	if (r->int_port == 0)
		return PCP_NOT_AUTHORIZED; /* "all ports" mappings are not offered */
	lifetime = clamp_lifetime(&x->s->c, r->lifetime);
	/* The suggested external address counts when it is IPv4; an IPv6
	 * one cannot be had from this NAT. */
	if (!pcp_addr_is_unspec(r->ext_ip) && !pcp_addr_is_v4(r->ext_ip, &sugg_addr) &&
	    r->prefer_failure)
		return PCP_CANNOT_PROVIDE_EXTERNAL;

	find_mappings(x, &f, r->protocol, e_addr, r->int_port, NULL);
	if (f.found) {
		/* Section 11.3: a mapping made with another nonce is not this
		 * client's to change. */
		if (!label_has_nonce(f.item.spec.label, r->nonce))
			return PCP_NOT_AUTHORIZED;
		return pcp_existing(x, r, &f.item, sugg_addr, peer_addr, lifetime, p);
	}

	bind_request(x, &b, r->protocol, e_addr, r->int_port, lifetime);
	nonce_label(b.spec.label, sizeof(b.spec.label), r->nonce);
	if (peer) {
		b.spec.has_peer = true;
		nc_ip_set4(&b.spec.peer.ip, peer_addr);
		b.spec.peer.plen = 32;
		b.spec.peer.port_lo = b.spec.peer.port_hi = r->peer_port;
	} else {
		if (!merge_filters(r, filters, &nfilters))
			return PCP_EXCESSIVE_REMOTE_PEERS;
		b.spec.nfilters = nfilters;
		memcpy(b.spec.filters, filters, sizeof(filters[0]) * nfilters);
	}
	want(&b, sugg_addr, r->ext_port, r->prefer_failure);
	if ((st = do_bind(x, &b, &m, &granted)) != NC_ST_OK)
		return pcp_of_status(st, r->prefer_failure, nfilters > 0);
	resp_set_ext(p, m);
	p->lifetime = granted;
	return PCP_SUCCESS;
}

static size_t handle_pcp(struct ctx *x, const uint8_t *req, size_t len, uint8_t *out, size_t cap)
{
	struct pcp_server *s = x->s;
	uint32_t epoch = pcp_server_epoch(s, x->now);
	struct pcp_request r;
	struct pcp_response p;
	uint8_t src16[16];
	int rc, n;

	s->st.pcp_requests++;
	pcp_addr_from_v4(src16, x->src);
	rc = pcp_decode_request(req, len, src16, &r);
	if (rc == PCP_DROP) {
		s->st.dropped++;
		return 0;
	}
	memset(&p, 0, sizeof(p));
	p.opcode = r.opcode;
	p.epoch = epoch;
	if (rc == PCP_SUCCESS && r.opcode != PCP_OP_ANNOUNCE)
		rc = pcp_map_peer(x, &r, &p);
	/* (ANNOUNCE, section 14.1: the reply itself is the answer.) */
	if (log_level >= LOG_DEBUG) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &x->src, a, sizeof(a));
		log_debug("pcp: %s opcode %u proto %u port %u lifetime %u: %s, %u s", a, r.opcode,
			  r.protocol, r.int_port, r.lifetime, pcp_result_str((uint8_t)rc), p.lifetime);
	}
	s->st.pcp_results[rc]++;
	if (rc != PCP_SUCCESS)
		n = pcp_encode_error(req, len, (uint8_t)rc, pcp_error_lifetime((uint8_t)rc), epoch,
				     out, cap);
	else
		n = pcp_encode_response(&p, out, cap);
	return n > 0 ? (size_t)n : 0;
}

/* --- NAT-PMP --- */

static uint8_t natpmp_of_status(uint16_t st)
{
	switch (st) {
	case NC_ST_OK:
		return NATPMP_SUCCESS;
	case NC_ST_BAD_REQUEST:
	case NC_ST_UNSUPPORTED:
	case NC_ST_NOT_AUTHORIZED:
	case NC_ST_QUOTA_EXCEEDED:
	case NC_ST_CONFLICT: /* without a demand for the exact port: E is someone else's */
		return NATPMP_NOT_AUTHORIZED;
	case NC_ST_EXHAUSTED:
	case NC_ST_NOT_FOUND:
	case NC_ST_TRY_AGAIN:
		return NATPMP_NO_RESOURCES;
	default:
		return NATPMP_NETWORK_FAILURE;
	}
}

/* The address NAT-PMP announces (section 3.2): the first address of the
 * pool the client's realm is translated into; 0 when there is none. */
static uint32_t natpmp_ext_addr(const struct ctx *x)
{
	const struct pool *pl = x->s->rs->realms[x->ext_realm].pool;

	return pl && pl->naddrs ? pl->addrs[0] : 0;
}

/* RFC 6886 section 3.3: map, refresh or (lifetime 0) delete. NAT-PMP has
 * no nonce: it acts on any of the client's own mappings. */
static uint8_t natpmp_map(struct ctx *x, const struct natpmp_request *r, uint16_t *ext_port,
			  uint32_t *granted)
{
	uint8_t proto = r->opcode == NATPMP_OP_MAP_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	struct endpoint m;
	struct nc_bind b;
	struct find f;
	uint16_t st;

	if (!client_realms(x))
		return NATPMP_NOT_AUTHORIZED;
	client_setup(x, x->src, false);
	if (r->lifetime == 0) {
		/* Section 3.4: internal port 0 deletes every mapping of the
		 * client for the protocol; deleting nothing succeeds. */
		if (r->int_port == 0)
			return natpmp_of_status(release_all(x, proto, x->src, NULL));
		find_mappings(x, &f, proto, x->src, r->int_port, NULL);
		return f.found ? natpmp_of_status(release_id(x, f.item.id)) : NATPMP_SUCCESS;
	}
	if (r->int_port == 0)
		return NATPMP_NOT_AUTHORIZED; /* "every port" is not a mapping we make */
	find_mappings(x, &f, proto, x->src, r->int_port, NULL);
	if (f.found) {
		/* An existing mapping is refreshed and keeps its port. */
		st = refresh(x, f.item.id, clamp_lifetime(&x->s->c, r->lifetime), granted);
		if (st != NC_ST_OK)
			return natpmp_of_status(st);
		*ext_port = f.item.alloc.port;
		return NATPMP_SUCCESS;
	}
	bind_request(x, &b, proto, x->src, r->int_port, clamp_lifetime(&x->s->c, r->lifetime));
	snprintf(b.spec.label, sizeof(b.spec.label), "%s", LABEL_NATPMP);
	/* A NAT-PMP client pairs the mapped port with the one address it was
	 * told (section 3.2): ask for that address (and the suggested port). */
	want(&b, natpmp_ext_addr(x), r->ext_port, false);
	if ((st = do_bind(x, &b, &m, granted)) != NC_ST_OK)
		return natpmp_of_status(st);
	*ext_port = m.port;
	return NATPMP_SUCCESS;
}

static size_t handle_natpmp(struct ctx *x, const uint8_t *req, size_t len, uint8_t *out,
			    size_t cap)
{
	struct pcp_server *s = x->s;
	uint32_t epoch = pcp_server_epoch(s, x->now), granted = 0, ext = 0;
	struct natpmp_request r;
	uint16_t ext_port = 0;
	uint8_t res;
	int rc, n;

	s->st.natpmp_requests++;
	rc = natpmp_decode_request(req, len, &r);
	if (rc == PCP_DROP) {
		s->st.dropped++;
		return 0;
	}
	if (rc != NATPMP_SUCCESS) {
		s->st.natpmp_results[rc]++;
		n = natpmp_encode_error(r.opcode, (uint8_t)rc, epoch, out, cap);
		return n > 0 ? (size_t)n : 0;
	}
	if (r.opcode == NATPMP_OP_ADDR) {
		if (!client_realms(x))
			res = NATPMP_NOT_AUTHORIZED;
		else if ((ext = natpmp_ext_addr(x)))
			res = NATPMP_SUCCESS;
		else
			res = NATPMP_NETWORK_FAILURE;
		s->st.natpmp_results[res]++;
		n = natpmp_encode_addr_response(res, epoch, ext, out, cap);
		return n > 0 ? (size_t)n : 0;
	}
	res = natpmp_map(x, &r, &ext_port, &granted);
	if (log_level >= LOG_DEBUG) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &x->src, a, sizeof(a));
		log_debug("nat-pmp: %s opcode %u port %u -> %u, %u s: result %u", a, r.opcode,
			  r.int_port, ext_port, granted, res);
	}
	s->st.natpmp_results[res]++;
	/* A deletion, or a failure, answers external port 0 and lifetime 0
	 * (section 3.4). */
	if (res != NATPMP_SUCCESS || r.lifetime == 0)
		ext_port = 0, granted = 0;
	n = natpmp_encode_map_response(r.opcode, res, epoch, r.int_port, ext_port, granted, out,
				       cap);
	return n > 0 ? (size_t)n : 0;
}

size_t pcp_server_handle(struct pcp_server *s, const uint8_t *req, size_t len, uint32_t src,
			 uint32_t now, uint8_t *out, size_t cap)
{
	struct ctx x = {.s = s, .src = src, .now = now};

	if (cap < PCP_MAX_LEN)
		return 0;
	if (len < 2) { /* both RFCs: too short to answer */
		s->st.dropped++;
		return 0;
	}
	/* the client's own bucket first: a flood spends no shared tokens */
	if (s->c.max_client_rate && !rl_allow(s->per_client, src, (uint64_t)now * 1000u)) {
		s->st.client_rate_limited++;
		return 0;
	}
	if (!tb_take(&s->all, s->c.max_rate, s->c.max_rate, (uint64_t)now * 1000u)) {
		s->st.rate_limited++;
		return 0;
	}
	/* RFC 6887 section 9 / appendix A: version 0 is NAT-PMP. */
	if (req[0] == NATPMP_VERSION)
		return handle_natpmp(&x, req, len, out, cap);
	return handle_pcp(&x, req, len, out, cap);
}

/* --- sockets --- */

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct pcp_listener *l = arg;
	struct pcp_server *s = l->s;
	(void)what;

	for (int i = 0; i < RX_BATCH; i++) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n;
		size_t len, out;

		n = recvfrom(fd, s->rxbuf, sizeof(s->rxbuf), MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("pcp: recvfrom: %s", strerror(errno));
			return;
		}
		s->st.rx++;
		if (fl != sizeof(from) || from.sin_family != AF_INET || from.sin_port == 0) {
			s->st.dropped++;
			continue;
		}
		/* MSG_TRUNC gives the real size: anything longer than the
		 * buffer is over 1100 bytes, which is all the codec needs to
		 * know (the error reply echoes only 1100). */
		len = (size_t)n > sizeof(s->rxbuf) ? sizeof(s->rxbuf) : (size_t)n;
		out = pcp_server_handle(s, s->rxbuf, len, from.sin_addr.s_addr, clock_mono_s(), s->txbuf,
					sizeof(s->txbuf));
		if (!out)
			continue;
		if (sendto(fd, s->txbuf, out, 0, (struct sockaddr *)&from, sizeof(from)) < 0) {
			s->st.tx_errors++;
			log_debug("pcp: sendto: %s", strerror(errno));
		} else {
			s->st.tx++;
		}
	}
}

/* RFC 6887 section 14.1.3 and RFC 6886 section 3.2.1: tell the link once,
 * on 224.0.0.1:5350, that the server (re)started. Best effort. */
static void announce(struct pcp_server *s, struct pcp_listener *l, uint32_t now)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(PCP_CLIENT_PORT),
				 .sin_addr.s_addr = htonl(0xe0000001u)};
	struct in_addr ifa = {.s_addr = l->addr};
	struct ctx x = {.s = s, .src = l->addr, .now = now};
	struct pcp_response p;
	uint8_t buf[PCP_HDR_LEN];
	char a[INET_ADDRSTRLEN];
	unsigned char ttl = 1;
	int n;

	inet_ntop(AF_INET, &l->addr, a, sizeof(a));
	if (setsockopt(l->fd, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof(ifa)) < 0 ||
	    setsockopt(l->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)) < 0) {
		log_info("pcp: no announcement from %s: %s", a, strerror(errno));
		return;
	}
	memset(&p, 0, sizeof(p));
	p.opcode = PCP_OP_ANNOUNCE;
	p.epoch = pcp_server_epoch(s, now);
	if ((n = pcp_encode_response(&p, buf, sizeof(buf))) > 0 &&
	    sendto(l->fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		log_info("pcp: ANNOUNCE from %s: sendto: %s", a, strerror(errno));
		return;
	}
	s->st.tx++;
	if (client_realms(&x) && natpmp_ext_addr(&x) &&
	    (n = natpmp_encode_addr_response(NATPMP_SUCCESS, p.epoch, natpmp_ext_addr(&x), buf,
					     sizeof(buf))) > 0 &&
	    sendto(l->fd, buf, (size_t)n, 0, (struct sockaddr *)&to, sizeof(to)) == n)
		s->st.tx++;
}

struct pcp_server *pcp_server_new(const struct pcp_conf *c, struct mgr *m,
				  const struct realm_set *rs, uint32_t now)
{
	struct pcp_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->c = *c;
	if (s->c.max_lifetime < s->c.min_lifetime)
		s->c.max_lifetime = s->c.min_lifetime;
	s->m = m;
	s->rs = rs;
	s->start = now;
	/* the buckets start full (tb_take fills a bucket on its first use) */
	if (!(s->per_client = rl_new(c->max_client_rate, c->max_client_rate))) {
		free(s);
		return NULL;
	}
	for (unsigned i = 0; i < PCP_LISTEN_MAX; i++)
		s->ls[i].fd = -1;
	return s;
}

int pcp_server_start(struct event_base *base, const struct pcp_conf *c, struct mgr *m,
		     const struct realm_set *rs, uint32_t age, struct pcp_server **out)
{
	struct pcp_server *s;
	uint32_t now = clock_mono_s();

	*out = NULL;
	if (!c->enable)
		return 0;
	if (!(s = pcp_server_new(c, m, rs, now))) {
		log_err("pcp: out of memory");
		return -1;
	}
	for (unsigned i = 0; i < c->nlisten && i < PCP_LISTEN_MAX; i++) {
		struct pcp_listener *l = &s->ls[s->nls];
		struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port),
					 .sin_addr.s_addr = c->listen[i]};
		struct ctx x = {.s = s, .src = c->listen[i]};
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &c->listen[i], a, sizeof(a));
		if (!client_realms(&x)) {
			log_err("pcp.listen: %s is not in a realm that is translated into another", a);
			goto fail;
		}
		l->s = s;
		l->addr = c->listen[i];
		if ((l->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
			log_err("pcp: listen %s: socket: %s", a, strerror(errno));
			goto fail;
		}
		s->nls++;
		if (bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			log_err("pcp: listen %s:%u: bind: %s", a, (unsigned)c->port, strerror(errno));
			goto fail;
		}
		if (!(l->ev = event_new(base, l->fd, EV_READ | EV_PERSIST, on_read, l)) ||
		    event_add(l->ev, NULL) < 0) {
			log_err("pcp: listen %s: cannot register the socket with the event loop", a);
			goto fail;
		}
	}
	s->start = now - age;
	if (c->announce && !age)
		for (unsigned i = 0; i < s->nls; i++)
			announce(s, &s->ls[i], now);
	log_notice("pcp: PCP and NAT-PMP on %u address%s, port %u; lifetimes %u-%u s%s", s->nls,
		   s->nls == 1 ? "" : "es", (unsigned)c->port, s->c.min_lifetime, s->c.max_lifetime,
		   c->third_party ? "; THIRD_PARTY allowed" : "");
	*out = s;
	return 0;
fail:
	pcp_server_free(s);
	return -1;
}

void pcp_server_set_conf(struct pcp_server *s, const struct pcp_conf *c)
{
	struct pcp_conf keep = s->c;

	s->c = *c;
	s->c.enable = keep.enable;
	memcpy(s->c.listen, keep.listen, sizeof(s->c.listen));
	s->c.nlisten = keep.nlisten;
	s->c.port = keep.port;
	if (s->c.max_lifetime < s->c.min_lifetime)
		s->c.max_lifetime = s->c.min_lifetime;
	/* a bucket holding more than the new rate is cut down by its next
	 * refill; a rate switched on starts full, as at start */
	if (!keep.max_rate)
		memset(&s->all, 0, sizeof(s->all));
	rl_set(s->per_client, s->c.max_client_rate, s->c.max_client_rate);
}

void pcp_server_free(struct pcp_server *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->nls; i++) {
		if (s->ls[i].ev)
			event_free(s->ls[i].ev);
		if (s->ls[i].fd >= 0)
			close(s->ls[i].fd);
	}
	rl_free(s->per_client);
	free(s);
}

const struct pcp_stats *pcp_server_stats(const struct pcp_server *s)
{
	return &s->st;
}

void pcp_server_print_stats(const struct pcp_server *s, FILE *f)
{
	static const char *const pmp[] = {"success", "unsupp_version", "not_authorized",
					  "network_failure", "no_resources", "unsupp_opcode"};
	const struct pcp_stats *st = &s->st;

	fprintf(f,
		" pcp_rx=%llu pcp_tx=%llu pcp_tx_errors=%llu pcp_dropped=%llu pcp_rate_limited=%llu"
		" pcp_client_rate_limited=%llu"
		" pcp_requests=%llu natpmp_requests=%llu pcp_mapped=%llu pcp_refreshed=%llu"
		" pcp_released=%llu",
		(unsigned long long)st->rx, (unsigned long long)st->tx,
		(unsigned long long)st->tx_errors, (unsigned long long)st->dropped,
		(unsigned long long)st->rate_limited, (unsigned long long)st->client_rate_limited,
		(unsigned long long)st->pcp_requests,
		(unsigned long long)st->natpmp_requests, (unsigned long long)st->mapped,
		(unsigned long long)st->refreshed, (unsigned long long)st->released);
	for (unsigned i = 0; i <= PCP_RESULT_MAX; i++) {
		const char *name = pcp_result_str((uint8_t)i);
		if (!st->pcp_results[i])
			continue;
		fputs(" pcp_result_", f);
		while (*name)
			fputc(tolower((unsigned char)*name++), f);
		fprintf(f, "=%llu", (unsigned long long)st->pcp_results[i]);
	}
	for (unsigned i = 0; i < sizeof(pmp) / sizeof(pmp[0]); i++)
		if (st->natpmp_results[i])
			fprintf(f, " natpmp_result_%s=%llu", pmp[i],
				(unsigned long long)st->natpmp_results[i]);
}
