/* xlate: per-packet translation (theory of operation in xlate.h).
 *
 * Layout of the work for one query packet (UDP, TCP, ICMP echo):
 *   parse -> classify source and destination realms -> inbound lookup by
 *   destination -> outbound lookup (or creation) by source -> filtering ->
 *   rewrite addresses and ports -> incremental checksum fix.
 * An ICMP error is handled by the same lookups applied to the packet it
 * quotes, read backwards. Non-first fragments reuse the addresses that the
 * first fragment of their datagram was given.
 */
#include "xlate.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "csum.h"
#include "log.h"
#include "pkt.h"
#include "pool.h"
#include "rules.h"

#define ICMP_ECHOREPLY_T 0
#define ICMP_UNREACH_T 3
#define ICMP_ECHO_T 8
#define ICMP_TIMXCEED_T 11
#define ICMP_PARAMPROB_T 12
#define TCP_SYN_F 0x02
#define TCP_ACK_F 0x10

/* Offsets of the fields rewritten, per protocol. */
#define IP_CHECK 10
#define IP_SRC 12
#define IP_DST 16
#define UDP_CHECK 6
#define TCP_CHECK 16
#define ICMP_CHECK 2
#define ICMP_ID 4

/* Fields loaded and stored as they are on the wire (network order):
 * addresses, ports and checksums are compared, hashed and rewritten
 * without conversion. (pkt.c's rd16_host() reads a length as a number.) */
static uint16_t ld16_net(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static uint32_t ld32_net(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static void st16_net(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void st32_net(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static enum xlate_verdict drop(struct xlate_ctx *x, enum drop_reason r)
{
	stats_drop(x->st, r);
	return XL_DROP;
}

/* Where an L4 checksum lives and whether it covers a pseudo-header. */
struct l4csum {
	size_t off;   /* offset in the L4 header; 0: none to fix */
	bool pseudo;  /* covers the IP addresses */
	bool udp;     /* zero means "no checksum" */
};

static struct l4csum l4csum_of(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_UDP: return (struct l4csum){UDP_CHECK, true, true};
	case IPPROTO_TCP: return (struct l4csum){TCP_CHECK, true, false};
	case IPPROTO_ICMP: return (struct l4csum){ICMP_CHECK, false, false};
	default: return (struct l4csum){0, false, false};
	}
}

static uint16_t upd16(const struct l4csum *c, uint16_t check, uint16_t o, uint16_t n)
{
	return c->udp ? csum_update16_udp(check, o, n) : csum_update16(check, o, n);
}

static uint16_t upd32(const struct l4csum *c, uint16_t check, uint32_t o, uint32_t n)
{
	return c->udp ? csum_update32_udp(check, o, n) : csum_update32(check, o, n);
}

/* Rewrite one IPv4 address field (src or dst) and the checksums it feeds:
 * the IP header's and, when the L4 checksum is reachable, the pseudo-
 * header's. l4 may be NULL (non-first fragment, or quote without it). */
static void set_addr(uint8_t *ip, size_t field, uint32_t addr, uint8_t *l4, size_t l4avail,
		     const struct l4csum *c)
{
	uint32_t old = ld32_net(ip + field);

	if (old == addr)
		return;
	st32_net(ip + field, addr);
	st16_net(ip + IP_CHECK, csum_update32(ld16_net(ip + IP_CHECK), old, addr));
	if (l4 && c->off && c->pseudo && l4avail >= c->off + 2)
		st16_net(l4 + c->off, upd32(c, ld16_net(l4 + c->off), old, addr));
}

/* Rewrite a 16-bit L4 field (a port or ICMP id) and the L4 checksum. */
static void set_port(uint8_t *l4, size_t l4avail, size_t field, uint16_t port,
		     const struct l4csum *c)
{
	uint16_t old = ld16_net(l4 + field);

	if (old == port)
		return;
	st16_net(l4 + field, port);
	if (c->off && l4avail >= c->off + 2)
		st16_net(l4 + c->off, upd16(c, ld16_net(l4 + c->off), old, port));
}

/* Field offsets of the source and destination "ports" of a flow. */
static void port_fields(uint8_t proto, size_t *sf, size_t *df)
{
	if (proto == IPPROTO_ICMP) {
		*sf = *df = ICMP_ID; /* one identifier for both directions */
	} else {
		*sf = 0;
		*df = 2;
	}
}

static struct endpoint ep_at(const uint8_t *ip, size_t addr_field, const uint8_t *l4, size_t pf)
{
	struct endpoint e = {ld32_net(ip + addr_field), ld16_net(l4 + pf)};
	return e;
}

/* Whether remote r passes a managed binding's filters (single peer, remote
 * filters, or the source latched in the learning window), learning
 * nothing. */
static bool rules_admit(const struct bind_rules *ru, struct endpoint r)
{
	if (ru->has_peer && !rule_matches(&ru->peer, r))
		return false;
	if (ru->latched)
		return r.addr == ru->latch_addr; /* only the latched source from now on */
	if (ru->nfilters == 0)
		return true;
	for (unsigned i = 0; i < ru->nfilters; i++)
		if (rule_matches(&ru->filters[i], r))
			return true;
	return false;
}

/* Where an admitted remote r goes (alternative targets), dflt, or NULL with
 * drop_default. */
static const struct endpoint *rules_dest(const struct bind_rules *ru, struct endpoint r,
					 const struct endpoint *dflt)
{
	for (unsigned i = 0; i < ru->ntargets; i++)
		if (rule_matches(&ru->targets[i].from, r))
			return &ru->targets[i].to;
	return ru->drop_default ? NULL : dflt;
}

/* Where an inbound packet from remote r goes under a managed binding's
 * rules: NULL to drop it, a target's endpoint, or dflt. Inside the latch
 * window the first source seen (that the peer rule admits) is learnt. */
static const struct endpoint *rules_target(struct bind_rules *ru, struct endpoint r,
					   const struct endpoint *dflt, uint32_t now)
{
	if (!ru->latched && ru->latch && now <= ru->latch_until &&
	    (!ru->has_peer || rule_matches(&ru->peer, r))) {
		ru->latched = true; /* learning window: the first source seen */
		ru->latch_addr = r.addr;
	}
	if (!rules_admit(ru, r))
		return NULL;
	return rules_dest(ru, r, dflt);
}

void xlate_release_binding(struct xlate_ctx *x, struct binding *b)
{
	struct pool *pl = b->ext_realm < x->realms->n
				  ? realm_pool_of(&x->realms->realms[b->ext_realm], b->ext.addr)
				  : NULL;
	int pp = pool_proto_of(b->proto);

	if (pl && pp >= 0 && !(b->flags & BF_ALIAS)) /* an alias borrows its port */
		pool_release(pl, (enum pool_proto)pp, b->ext);
}

/* Find or create the binding that carries sources {ra, src} into realm t. */
static struct binding *outbound_binding(struct xlate_ctx *x, uint8_t proto, uint8_t ra,
					struct endpoint src, uint8_t t, bool may_create,
					enum drop_reason *why)
{
	struct binding *b = bind_lookup_in(x->bt, proto, ra, src, t);
	struct pool *pl;
	struct endpoint ext;
	unsigned flags = x->pool_flags;
	int pp, err;

	if (b)
		return b;
	pl = x->realms->realms[t].pool;
	pp = pool_proto_of(proto);
	if (!may_create || !pl || pp < 0) {
		*why = DROP_NO_BINDING;
		return NULL;
	}
	/* per-host limits: the quota first, so a host at its quota spends no
	 * tokens; a token is spent even if the pool or the table then fails */
	if (x->host_quota && bind_host_count(x->bt, ra, src.addr) >= x->host_quota) {
		*why = DROP_HOST_QUOTA;
		return NULL;
	}
	if (x->host_rl && !rl_allow(x->host_rl, src.addr, (uint64_t)x->now * 1000u)) {
		*why = DROP_HOST_RATE;
		return NULL;
	}
	if (proto == IPPROTO_ICMP)
		flags &= ~POOL_F_PARITY;
	if (pool_alloc(pl, (enum pool_proto)pp, src.addr, 0, src.port, flags, &ext) < 0) {
		*why = DROP_POOL_EXHAUSTED;
		return NULL;
	}
	b = bind_insert(x->bt, BIND_DYNAMIC, proto, ra, src, t, ext, x->now, &err);
	if (!b) {
		pool_release(pl, (enum pool_proto)pp, ext);
		*why = DROP_TABLE_FULL;
		return NULL;
	}
	x->st->bindings_created++;
	if (log_level >= LOG_DEBUG) {
		char a[EP_STRLEN], m[EP_STRLEN];
		log_debug("binding %u created: proto %u %s/%s -> %s/%s", b->id, proto,
			  x->realms->realms[ra].name, ep_str(src, a), x->realms->realms[t].name,
			  ep_str(ext, m));
	}
	if (x->on_new)
		x->on_new(x->on_new_arg, b);
	return b;
}

/* Forward the held fragments of a datagram whose first fragment just went. */
static void release_held(struct xlate_ctx *x, const struct frag_key *k, const struct frag_xlat *fx)
{
	uint8_t *f;
	size_t len;

	while ((f = frag_release(x->ft, k, &len))) {
		struct l4csum none = {0, false, false};
		set_addr(f, IP_SRC, fx->new_src, NULL, 0, &none);
		set_addr(f, IP_DST, fx->new_dst, NULL, 0, &none);
		x->st->frags_translated++;
		if (x->emit)
			x->emit(x->emit_arg, f, len);
	}
}

static enum xlate_verdict xlate_nonfirst_frag(struct xlate_ctx *x, struct pkt *p, uint8_t ra)
{
	struct frag_key k = {ld32_net(p->buf + IP_SRC), ld32_net(p->buf + IP_DST), ld16_net(p->buf + 4),
			     p->proto, ra};
	const struct frag_xlat *fx = frag_lookup(x->ft, &k, x->now);
	struct l4csum none = {0, false, false};
	int err;

	if (fx) {
		set_addr(p->buf, IP_SRC, fx->new_src, NULL, 0, &none);
		set_addr(p->buf, IP_DST, fx->new_dst, NULL, 0, &none);
		x->st->frags_translated++;
		return XL_FORWARD;
	}
	err = frag_hold(x->ft, &k, p->buf, p->len, x->now);
	if (err)
		return drop(x, err == -EDQUOT ? DROP_FRAG_SOURCE : DROP_FRAG_NOSLOT);
	x->st->frags_buffered++;
	return XL_HELD;
}

/* Whether the ICMP error from outer sender `sender` about the flow of
 * binding bi that went to remote qd may reach bi's inside host.
 *
 * RFC 5508 section 4 (REQ-3) forwards an error when the NAT holds an
 * active mapping for the packet it quotes, "unless explicitly overridden
 * by local policy"; RFC 4787 section 5 says which remotes a mapping's
 * filter admits. Without checks, anyone who knows M can forge a port
 * unreachable or a fragmentation-needed about any flow and cut or slow
 * it. So, for a binding whose filter admits only some remotes (address-
 * or address-and-port-dependent filtering, remote filters, a single
 * peer, drop_default targets):
 *  - the quoted destination must be a remote the filter admits (the error
 *    is about a flow the inside host really has: what a stateful NAT's
 *    "related to a tracked connection" test does), and
 *  - the sender must be that remote itself. Port and protocol unreachable
 *    come only from the destination host (RFC 1122 section 3.2.2.1);
 *    time exceeded, fragmentation needed and the other unreachables may
 *    come from a router on the path, whose address no filter knows: they
 *    are admitted from any sender only with table.icmp_errors_from_path
 *    (off by default: a forged fragmentation-needed from a third host is
 *    then refused too; the cost is that path-MTU discovery through a
 *    dependent-filtering binding relies on the remote's own errors or on
 *    PLPMTUD, RFC 4821).
 * Endpoint-independent dynamic bindings, static forwards and unfiltered
 * managed bindings take packets from anyone, so their errors are not
 * checked (they could not be: no remote is recorded for them). */
static bool icmp_error_admitted(const struct xlate_ctx *x, const struct binding *bi,
				uint32_t sender, struct endpoint qd, uint8_t type, uint8_t code)
{
	bool from_remote_only = type == ICMP_UNREACH_T && (code == 2 || code == 3);

	if (!bind_permitted(x->bt, bi, qd, x->now))
		return false;
	if (bi->rules && (!rules_admit(bi->rules, qd) || !rules_dest(bi->rules, qd, &bi->in)))
		return false;
	if (!bind_filters(x->bt, bi))
		return true;
	if (sender == qd.addr)
		return true;
	return x->icmp_errors_from_path && !from_remote_only;
}

/* ICMP error (RFC 5508 section 4): translate by the quoted packet. The
 * quote Q went qs -> qd; the error travels back toward qs. qs is looked up
 * as an external endpoint (it was a translated source) and qd as an
 * internal one (it was a translated destination). */
static enum xlate_verdict xlate_icmp_error(struct xlate_ctx *x, struct pkt *p, uint8_t ra)
{
	uint8_t *ip = p->buf, *icmp = ip + p->l4_off, *qip, *ql4;
	size_t qn = p->l4_len - 8, qsf, qdf, qavail;
	struct pkt q;
	struct binding *bi, *bo;
	struct endpoint qs, qd;
	uint8_t rs, rb, t;
	struct l4csum qc, none = {0, false, false};
	enum drop_reason r;

	if (p->is_frag)
		return drop(x, DROP_FRAG_UNKNOWN);
	if (csum_fold(csum_partial(icmp, p->l4_len, 0)) != 0)
		return drop(x, DROP_ICMP_QUOTE);
	qip = icmp + 8;
	if ((r = pkt_parse_quoted(&q, qip, qn)) != DROP_NONE)
		return drop(x, r);
	if (q.proto != IPPROTO_UDP && q.proto != IPPROTO_TCP && q.proto != IPPROTO_ICMP)
		return drop(x, DROP_ICMP_QUOTE);
	ql4 = qip + q.l4_off;
	qavail = q.l4_len;
	if (q.proto == IPPROTO_ICMP && ql4[0] != ICMP_ECHO_T && ql4[0] != ICMP_ECHOREPLY_T)
		return drop(x, DROP_ICMP_QUOTE); /* never an error about an error */
	port_fields(q.proto, &qsf, &qdf);
	qs = ep_at(qip, IP_SRC, ql4, qsf);
	qd = ep_at(qip, IP_DST, ql4, qdf);
	rs = realm_classify(x->realms, qs.addr);
	if (rs == REALM_NONE)
		return drop(x, DROP_NO_REALM);
	bi = bind_lookup_ext(x->bt, q.proto, rs, qs);
	rb = bi ? bi->in_realm : realm_classify(x->realms, ld32_net(ip + IP_DST));
	if (rb == REALM_NONE)
		return drop(x, DROP_NO_REALM);
	t = rb != ra ? rb : rs;
	bo = realm_translates(x->realms, ra, t) ? bind_lookup_in(x->bt, q.proto, ra, qd, t) : NULL;
	if (!bi && !bo)
		return drop(x, DROP_NO_BINDING);
	if (bi && !icmp_error_admitted(x, bi, ld32_net(ip + IP_SRC), qd, icmp[0], icmp[1]))
		return drop(x, DROP_ICMP_FILTERED);

	qc = l4csum_of(q.proto);
	if (bi) {
		set_addr(qip, IP_SRC, bi->in.addr, ql4, qavail, &qc);
		set_port(ql4, qavail, qsf, bi->in.port, &qc);
		set_addr(ip, IP_DST, bi->in.addr, NULL, 0, &none);
		x->st->translated_in++;
	}
	if (bo) {
		set_addr(qip, IP_DST, bo->ext.addr, ql4, qavail, &qc);
		if (q.proto != IPPROTO_ICMP || !bi)
			set_port(ql4, qavail, qdf, bo->ext.port, &qc);
		set_addr(ip, IP_SRC, bo->ext.addr, NULL, 0, &none);
		x->st->translated_out++;
	}
	/* The quoted bytes changed in several places: recompute the ICMP sum
	 * (verified above, so a corrupt error is never laundered). */
	st16_net(icmp + ICMP_CHECK, 0);
	st16_net(icmp + ICMP_CHECK, csum_fold(csum_partial(icmp, p->l4_len, 0)));
	x->st->icmp_errors_translated++;
	return XL_FORWARD;
}

/* A query packet (UDP, TCP, ICMP echo) between the phases of its
 * translation. */
struct query {
	struct pkt *p;
	uint8_t *ip, *l4;
	uint8_t ra, rd, rb;     /* source's realm, destination's, binding's (or rd) */
	size_t sf, df;          /* offsets of the source and destination "ports" */
	bool may_create;        /* may make an outbound binding */
	bool inbound_ok;        /* may match an inbound binding */
	uint8_t tcp_flags;
	struct endpoint src, dst, new_src, new_dst;
	struct binding *bi, *bo; /* inbound and outbound bindings, or NULL */
};

/* Phases 1 to 3: the inbound and outbound bindings of q and the filters
 * that apply to them. DROP_NONE, or why the packet goes no further. */
static enum drop_reason query_lookup(struct xlate_ctx *x, struct query *q)
{
	bool is_pool;
	enum drop_reason r;
	uint8_t t;

	q->rd = realm_classify_pool(x->realms, q->dst.addr, &is_pool);
	if (q->rd == REALM_NONE)
		return DROP_NO_REALM;

	/* 1. inbound: is the destination a binding's external endpoint? */
	q->new_dst = q->dst;
	q->rb = q->rd;
	if (q->inbound_ok && (q->bi = bind_lookup_ext(x->bt, q->p->proto, q->rd, q->dst))) {
		const struct endpoint *to =
			q->bi->rules ? rules_target(q->bi->rules, q->src, &q->bi->in, x->now) : &q->bi->in;
		if (!to)
			return DROP_FILTERED;
		q->new_dst = *to;
		q->rb = q->bi->in_realm;
	} else if (is_pool) {
		return DROP_NO_BINDING;
	}

	/* 2. outbound: does the source need a binding into the target realm? */
	t = q->rb != q->ra ? q->rb : q->rd;
	q->new_src = q->src;
	if (realm_translates(x->realms, q->ra, t)) {
		if (q->bi && q->rb == q->ra && !x->hairpinning)
			return DROP_NO_BINDING;
		q->bo = outbound_binding(x, q->p->proto, q->ra, q->src, t, q->may_create, &r);
		if (!q->bo)
			return r;
		if (q->bo->rules && q->bo->rules->has_peer && !rule_matches(&q->bo->rules->peer, q->dst))
			return DROP_FILTERED; /* serves one peer only */
		q->new_src = q->bo->ext;
	} else if (!q->bi) {
		return q->ra == q->rd ? DROP_SAME_REALM : DROP_NO_BINDING;
	}

	/* 3. filtering of the inbound side, against the remote as the binding's
	 * realm sees it (RFC 4787 section 5). */
	if (q->bi && !bind_permitted(x->bt, q->bi, q->new_src, x->now))
		return DROP_FILTERED;
	return DROP_NONE;
}

/* Phase 4: state. Counters, refresh, TCP tracking, permissions. */
static void query_account(struct xlate_ctx *x, const struct query *q)
{
	struct binding *bo = q->bo, *bi = q->bi;
	int err;

	if (bo) {
		bind_touch(bo, x->now);
		if ((err = bind_permit(x->bt, bo, q->dst, x->now)) < 0) {
			/* the packet goes; the remote's replies will be filtered */
			if (err == -EDQUOT)
				x->st->perms_host_quota++;
			else
				x->st->perms_full++;
		}
		bo->pkts_out++;
		bo->bytes_out += q->p->len;
		if (q->p->proto == IPPROTO_TCP)
			bind_tcp_track(x->bt, bo, q->tcp_flags, true, x->now);
		x->st->translated_out++;
	}
	if (bi) {
		bind_touch(bi, x->now);
		bi->pkts_in++;
		bi->bytes_in += q->p->len;
		if (q->p->proto == IPPROTO_TCP)
			bind_tcp_track(x->bt, bi, q->tcp_flags, false, x->now);
		x->st->translated_in++;
		if (q->rb == q->ra)
			x->st->hairpinned++;
	}
}

/* Phase 5: the rewrite, fixing checksums incrementally (RFC 1624); a
 * first fragment leaves its translation for the rest of its datagram. */
static void query_rewrite(struct xlate_ctx *x, const struct query *q)
{
	const struct pkt *p = q->p;
	struct l4csum c = l4csum_of(p->proto);
	int err;

	set_addr(q->ip, IP_SRC, q->new_src.addr, q->l4, p->l4_len, &c);
	set_addr(q->ip, IP_DST, q->new_dst.addr, q->l4, p->l4_len, &c);
	if (p->proto == IPPROTO_ICMP)
		set_port(q->l4, p->l4_len, ICMP_ID, q->bi ? q->new_dst.port : q->new_src.port, &c);
	else {
		set_port(q->l4, p->l4_len, q->sf, q->new_src.port, &c);
		set_port(q->l4, p->l4_len, q->df, q->new_dst.port, &c);
	}

	if (p->is_frag) { /* a first fragment: remember it for the rest */
		struct frag_key k = {q->src.addr, q->dst.addr, ld16_net(q->ip + 4), p->proto, q->ra};
		struct frag_xlat fx = {q->new_src.addr, q->new_dst.addr};
		if ((err = frag_record(x->ft, &k, &fx, x->now)) == 0)
			release_held(x, &k, &fx);
		else if (err == -EDQUOT)
			x->st->frag_records_source_quota++;
		x->st->frags_translated++;
	}
}

/* Parse, classify the source, hand ICMP errors and later fragments to
 * their own paths; a query goes through the phases above. */
enum xlate_verdict xlate_packet(struct xlate_ctx *x, uint8_t *buf, size_t n, size_t cap)
{
	struct pkt p;
	enum drop_reason r = pkt_parse_ip4(&p, buf, n, cap);
	struct query q = {.p = &p, .may_create = true, .inbound_ok = true};

	if (r != DROP_NONE)
		return drop(x, r);
	if (p.proto != IPPROTO_UDP && p.proto != IPPROTO_TCP && p.proto != IPPROTO_ICMP)
		return drop(x, DROP_PROTO);
	q.ip = p.buf;
	q.ra = realm_classify(x->realms, ld32_net(q.ip + IP_SRC));
	if (q.ra == REALM_NONE)
		return drop(x, DROP_NO_REALM);
	if (p.frag_off)
		return xlate_nonfirst_frag(x, &p, q.ra);
	q.l4 = q.ip + p.l4_off;

	if (p.proto == IPPROTO_ICMP) {
		switch (q.l4[0]) {
		case ICMP_UNREACH_T:
		case ICMP_TIMXCEED_T:
		case ICMP_PARAMPROB_T:
			return xlate_icmp_error(x, &p, q.ra);
		case ICMP_ECHO_T:
			q.inbound_ok = false; /* requests create, replies return */
			break;
		case ICMP_ECHOREPLY_T:
			q.may_create = false;
			break;
		default:
			return drop(x, DROP_ICMP_TYPE);
		}
	} else if (p.proto == IPPROTO_TCP) {
		q.tcp_flags = q.l4[13];
		/* RFC 5382 REQ-2: a mapping starts with an outbound SYN */
		q.may_create = (q.tcp_flags & (TCP_SYN_F | TCP_ACK_F)) == TCP_SYN_F;
	}

	port_fields(p.proto, &q.sf, &q.df);
	q.src = ep_at(q.ip, IP_SRC, q.l4, q.sf);
	q.dst = ep_at(q.ip, IP_DST, q.l4, q.df);
	if ((r = query_lookup(x, &q)) != DROP_NONE)
		return drop(x, r);
	query_account(x, &q);
	query_rewrite(x, &q);
	if (x->on_flow && !p.is_frag && p.l4_off == 20) {
		struct xlate_flow f = {p.proto, p.proto == IPPROTO_ICMP ? q.l4[0] : 0, q.tcp_flags,
				       q.src, q.dst, q.new_src, q.new_dst, q.bo, q.bi};
		x->on_flow(x->on_flow_arg, &f);
	}
	return XL_FORWARD;
}
