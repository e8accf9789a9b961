/* fixtures: sample messages. Addresses are RFC 5737 / RFC 3849
 * documentation blocks and private ranges, as in docs/design.md. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <libcontrol/auth.h>

#include "fixtures.h"

void fx_ip4(struct nc_ip *ip, const char *dotted)
{
	memset(ip, 0, sizeof(*ip));
	ip->af = NC_AF_IP4;
	inet_pton(AF_INET, dotted, ip->a);
}

void fx_ip6(struct nc_ip *ip, const char *text)
{
	memset(ip, 0, sizeof(*ip));
	ip->af = NC_AF_IP6;
	inet_pton(AF_INET6, text, ip->a);
}

void fx_ep4(struct nc_ep *ep, const char *dotted, uint16_t port)
{
	fx_ip4(&ep->ip, dotted);
	ep->port = port;
}

void fx_match4(struct nc_match *m, const char *dotted, uint8_t plen, uint16_t lo, uint16_t hi)
{
	fx_ip4(&m->ip, dotted);
	m->plen = plen;
	m->port_lo = lo;
	m->port_hi = hi;
}

static void status(struct nc_status *st, uint16_t code, const char *reason)
{
	st->code = code;
	snprintf(st->reason, sizeof(st->reason), "%s", reason);
	st->epoch = 0x1122334455667788ull;
}

static void nonces(uint8_t ns[NC_NONCE_LEN], uint8_t nc[NC_NONCE_LEN])
{
	unsigned i;

	for (i = 0; i < NC_NONCE_LEN; i++) {
		ns[i] = (uint8_t)i;
		nc[i] = (uint8_t)(0x20 + i);
	}
}

static void hello(struct nc_msg *m)
{
	m->type = NC_MSG_HELLO;
	snprintf(m->u.hello.name, sizeof(m->u.hello.name), "sipproxy/0.1");
}

static void hello_min(struct nc_msg *m)
{
	m->type = NC_MSG_HELLO;
}

static void hello_r(struct nc_msg *m)
{
	uint8_t nc[NC_NONCE_LEN];

	m->type = NC_MSG_HELLO_R;
	status(&m->u.hello_r.st, NC_ST_OK, "");
	snprintf(m->u.hello_r.name, sizeof(m->u.hello_r.name), "natd/0.1.0");
	m->u.hello_r.has_nonce = true;
	nonces(m->u.hello_r.nonce, nc);
}

static void hello_r_noauth(struct nc_msg *m)
{
	m->type = NC_MSG_HELLO_R;
	status(&m->u.hello_r.st, NC_ST_OK, "");
}

static void auth(struct nc_msg *m)
{
	uint8_t ns[NC_NONCE_LEN];

	m->type = NC_MSG_AUTH;
	nonces(ns, m->u.auth.nonce);
	nc_auth_mac(FX_SECRET, strlen(FX_SECRET), NC_AUTH_CLIENT, ns, m->u.auth.nonce,
		    m->u.auth.mac);
}

static void auth_r(struct nc_msg *m)
{
	uint8_t ns[NC_NONCE_LEN], nc[NC_NONCE_LEN];

	m->type = NC_MSG_AUTH_R;
	status(&m->u.auth_r.st, NC_ST_OK, "");
	nonces(ns, nc);
	nc_auth_mac(FX_SECRET, strlen(FX_SECRET), NC_AUTH_SERVER, ns, nc, m->u.auth_r.mac);
}

static void auth_r_fail(struct nc_msg *m)
{
	m->type = NC_MSG_AUTH_R;
	status(&m->u.auth_r.st, NC_ST_NOT_AUTHORIZED, "bad MAC");
}

static void caps(struct nc_msg *m)
{
	m->type = NC_MSG_CAPS;
}

static void caps_r(struct nc_msg *m)
{
	static const uint16_t msgs[] = {NC_MSG_HELLO,   NC_MSG_AUTH, NC_MSG_CAPS,
					NC_MSG_BIND,    NC_MSG_REFRESH, NC_MSG_RELEASE,
					NC_MSG_LIST,    NC_MSG_STATS,   NC_MSG_WATCH};
	static const uint16_t tlvs[] = {NC_T_DIRECTION, NC_T_PROTO,  NC_T_IN_REALM,
					NC_T_EXT_REALM, NC_T_ENDPOINT, NC_T_WANT_ADDR,
					NC_T_FILTER,    NC_T_TARGET};
	struct nc_caps_r *c = &m->u.caps_r;

	m->type = NC_MSG_CAPS_R;
	status(&c->st, NC_ST_OK, "");
	c->nmsgs = sizeof(msgs) / sizeof(msgs[0]);
	memcpy(c->msgs, msgs, sizeof(msgs));
	c->ntlvs = sizeof(tlvs) / sizeof(tlvs[0]);
	memcpy(c->tlvs, tlvs, sizeof(tlvs));
	c->lifetime_max = 3600;
	c->quota = 1000;
	c->ntransits = 1;
	snprintf(c->transits[0], sizeof(c->transits[0]), "transit-lan");
	c->nrealms = 3;
	snprintf(c->realms[0], sizeof(c->realms[0]), "inside");
	snprintf(c->realms[1], sizeof(c->realms[1]), "outside");
	snprintf(c->realms[2], sizeof(c->realms[2]), "transit-lan");
}

static void spec_base(struct nc_spec *s, uint8_t dir, uint8_t proto)
{
	s->dir = dir;
	s->proto = proto;
	snprintf(s->in_realm, sizeof(s->in_realm), "inside");
	snprintf(s->ext_realm, sizeof(s->ext_realm), "outside");
	fx_ep4(&s->ep, "10.1.0.10", 49170);
}

/* Every option at once: both directions, UDP, a /28 to allocate in, an even
 * port with RTP pairing, prefer-failure, lifetime, transit network, peer,
 * an IPv4 and an IPv6 filter with a latch window, two alternative targets,
 * drop by default, a UTF-8 label. */
static void bind_full(struct nc_msg *m)
{
	struct nc_bind *b = &m->u.bind;
	struct nc_spec *s = &b->spec;

	m->type = NC_MSG_BIND;
	spec_base(s, NC_DIR_BOTH, NC_PROTO_UDP);
	snprintf(s->label, sizeof(s->label), "call 8f2a@example.org \xc3\xa9t\xc3\xa9");
	snprintf(s->transit, sizeof(s->transit), "transit-lan");
	s->has_peer = true;
	fx_match4(&s->peer, "203.0.113.10", 32, 0, 65535);
	s->nfilters = 2;
	fx_match4(&s->filters[0], "203.0.113.0", 24, 1024, 65535);
	fx_ip6(&s->filters[1].ip, "2001:db8::");
	s->filters[1].plen = 32;
	s->filters[1].port_hi = 65535;
	s->ntargets = 2;
	fx_match4(&s->targets[0].from, "192.0.2.0", 25, 0, 65535);
	fx_ep4(&s->targets[0].to, "10.1.0.11", 40000);
	fx_match4(&s->targets[1].from, "192.0.2.128", 25, 5060, 5061);
	fx_ep4(&s->targets[1].to, "10.1.0.12", 40002);
	s->drop_default = true;
	s->latch = 30;
	b->want = NC_WANT_PREFIX;
	fx_ip4(&b->want_addr, "198.51.100.16");
	b->want_plen = 28;
	b->want_port = 30000;
	b->rtp_pair = true;
	b->prefer_failure = true;
	b->lifetime = 120;
}

/* Terminating TCP binding with the address taken from a range. */
static void bind_range(struct nc_msg *m)
{
	struct nc_bind *b = &m->u.bind;

	m->type = NC_MSG_BIND;
	spec_base(&b->spec, NC_DIR_TERM, NC_PROTO_TCP);
	b->want = NC_WANT_RANGE;
	fx_ip4(&b->want_addr, "198.51.100.10");
	fx_ip4(&b->want_hi, "198.51.100.20");
}

/* Originating binding toward one peer, from one given IP and port,
 * between two named realms other than inside/outside. */
static void bind_ip(struct nc_msg *m)
{
	struct nc_bind *b = &m->u.bind;
	struct nc_spec *s = &b->spec;

	m->type = NC_MSG_BIND;
	spec_base(s, NC_DIR_ORIG, NC_PROTO_UDP);
	snprintf(s->in_realm, sizeof(s->in_realm), "outside");
	snprintf(s->ext_realm, sizeof(s->ext_realm), "transit-lan");
	fx_ep4(&s->ep, "203.0.113.10", 8000);
	s->has_peer = true;
	fx_match4(&s->peer, "10.20.0.0", 24, 1024, 65535);
	b->want = NC_WANT_PREFIX;
	fx_ip4(&b->want_addr, "10.20.0.1");
	b->want_plen = 32;
	b->want_port = 20001;
	b->prefer_failure = true;
}

static void bind_min(struct nc_msg *m)
{
	m->type = NC_MSG_BIND;
	spec_base(&m->u.bind.spec, NC_DIR_TERM, NC_PROTO_UDP);
}

static void bind_v6(struct nc_msg *m)
{
	struct nc_bind *b = &m->u.bind;
	struct nc_spec *s = &b->spec;

	m->type = NC_MSG_BIND;
	spec_base(s, NC_DIR_BOTH, NC_PROTO_UDP);
	fx_ip6(&s->ep.ip, "2001:db8:1::10");
	b->want = NC_WANT_RANGE;
	fx_ip6(&b->want_addr, "2001:db8:2::100");
	fx_ip6(&b->want_hi, "2001:db8:2::1ff");
	s->ntargets = 1;
	fx_ip6(&s->targets[0].from.ip, "2001:db8:3::");
	s->targets[0].from.plen = 48;
	s->targets[0].from.port_hi = 65535;
	fx_ep4(&s->targets[0].to, "10.1.0.13", 5004);
}

/* The maximum number of filters and targets. */
static void bind_max(struct nc_msg *m)
{
	struct nc_spec *s = &m->u.bind.spec;
	unsigned i;

	m->type = NC_MSG_BIND;
	spec_base(s, NC_DIR_TERM, NC_PROTO_UDP);
	s->nfilters = NC_FILTER_MAX;
	for (i = 0; i < NC_FILTER_MAX; i++) {
		fx_ip6(&s->filters[i].ip, "2001:db8::");
		s->filters[i].ip.a[4] = (uint8_t)i;
		s->filters[i].plen = 48;
		s->filters[i].port_lo = (uint16_t)i;
		s->filters[i].port_hi = 65535;
	}
	s->ntargets = NC_TARGET_MAX;
	for (i = 0; i < NC_TARGET_MAX; i++) {
		fx_match4(&s->targets[i].from, "192.0.2.0", 32, 0, 65535);
		s->targets[i].from.ip.a[3] = (uint8_t)i;
		fx_ip6(&s->targets[i].to.ip, "2001:db8:1::");
		s->targets[i].to.ip.a[15] = (uint8_t)i;
		s->targets[i].to.port = (uint16_t)(1000 + i);
	}
	memset(s->label, 'x', NC_TEXT_MAX);
	m->u.bind.lifetime = NC_LIFETIME_MAX;
}

static void bind_r(struct nc_msg *m)
{
	m->type = NC_MSG_BIND_R;
	status(&m->u.bind_r.st, NC_ST_OK, "");
	m->u.bind_r.id = 42;
	fx_ep4(&m->u.bind_r.alloc, "198.51.100.17", 30000);
	m->u.bind_r.lifetime = 120;
}

static void bind_r_exhausted(struct nc_msg *m)
{
	m->type = NC_MSG_BIND_R;
	status(&m->u.bind_r.st, NC_ST_EXHAUSTED, "no even port free in 198.51.100.16/28");
}

static void refresh(struct nc_msg *m)
{
	m->type = NC_MSG_REFRESH;
	m->u.refresh.epoch = 0x1122334455667788ull;
	m->u.refresh.id = 42;
	m->u.refresh.lifetime = 300;
}

static void refresh_min(struct nc_msg *m)
{
	m->type = NC_MSG_REFRESH;
	m->u.refresh.epoch = 1;
	m->u.refresh.id = UINT32_MAX;
}

static void refresh_r(struct nc_msg *m)
{
	m->type = NC_MSG_REFRESH_R;
	status(&m->u.refresh_r.st, NC_ST_OK, "");
	m->u.refresh_r.lifetime = 300;
}

static void release(struct nc_msg *m)
{
	m->type = NC_MSG_RELEASE;
	m->u.release.epoch = 0x1122334455667788ull;
	m->u.release.id = 42;
}

static void release_r(struct nc_msg *m)
{
	m->type = NC_MSG_RELEASE_R;
	status(&m->u.status, NC_ST_OK, "");
}

static void release_r_stale(struct nc_msg *m)
{
	m->type = NC_MSG_RELEASE_R;
	status(&m->u.status, NC_ST_STALE_EPOCH, "natd restarted");
}

static void list(struct nc_msg *m)
{
	m->type = NC_MSG_LIST;
	m->u.list.id = 42;
	m->u.list.kind = NC_KIND_MANAGED;
	m->u.list.mine = true;
}

static void list_min(struct nc_msg *m)
{
	m->type = NC_MSG_LIST;
}

static void item_full(struct nc_item *it)
{
	struct nc_msg tmp;

	memset(&tmp, 0, sizeof(tmp));
	bind_full(&tmp);
	it->id = 42;
	it->kind = NC_KIND_MANAGED;
	memcpy(&it->spec, &tmp.u.bind.spec, sizeof(it->spec));
	fx_ep4(&it->alloc, "198.51.100.17", 30000);
	it->lifetime = 97;
	snprintf(it->owner, sizeof(it->owner), "unix uid=998 pid=4242 sipproxy/0.1");
	it->has_counters = true;
	it->counters.pkts_in = 1500;
	it->counters.bytes_in = 258000;
	it->counters.pkts_out = 1499;
	it->counters.bytes_out = 0x100000000ull;
}

static void list_item(struct nc_msg *m)
{
	m->type = NC_MSG_LIST_ITEM;
	item_full(&m->u.item);
}

/* A dynamic ICMP binding: query id 0 in the port, no lease, no owner. */
static void list_item_icmp(struct nc_msg *m)
{
	struct nc_item *it = &m->u.item;

	m->type = NC_MSG_LIST_ITEM;
	it->id = 7;
	it->kind = NC_KIND_DYNAMIC;
	spec_base(&it->spec, NC_DIR_BOTH, NC_PROTO_ICMP);
	it->spec.ep.port = 0;
	fx_ep4(&it->alloc, "198.51.100.1", 0);
}

static void list_r(struct nc_msg *m)
{
	m->type = NC_MSG_LIST_R;
	status(&m->u.list_r.st, NC_ST_OK, "");
	m->u.list_r.count = 1;
}

static void list_r_empty(struct nc_msg *m)
{
	m->type = NC_MSG_LIST_R;
	status(&m->u.list_r.st, NC_ST_OK, "");
}

static void stats(struct nc_msg *m)
{
	m->type = NC_MSG_STATS;
}

static void stats_r(struct nc_msg *m)
{
	static const char *const names[] = {"rx_packets", "tx_packets", "bindings_managed",
					    "dropped_filtered"};
	struct nc_stats_r *s = &m->u.stats_r;
	unsigned i;

	m->type = NC_MSG_STATS_R;
	status(&s->st, NC_ST_OK, "");
	s->n = 4;
	for (i = 0; i < 4; i++) {
		snprintf(s->stats[i].name, sizeof(s->stats[i].name), "%s", names[i]);
		s->stats[i].value = (uint64_t)1 << (16 * i);
	}
	s->stats[3].value = UINT64_MAX;
}

static void stats_r_max(struct nc_msg *m)
{
	struct nc_stats_r *s = &m->u.stats_r;
	unsigned i;

	m->type = NC_MSG_STATS_R;
	status(&s->st, NC_ST_OK, "");
	s->n = NC_STATS_MAX;
	for (i = 0; i < NC_STATS_MAX; i++) {
		snprintf(s->stats[i].name, sizeof(s->stats[i].name), "counter_%03u_%.50s", i,
			 "padding_padding_padding_padding_padding_padding_");
		s->stats[i].value = i;
	}
}

static void ha(struct nc_msg *m)
{
	m->type = NC_MSG_HA;
}

static void ha_promote(struct nc_msg *m)
{
	m->type = NC_MSG_HA;
	snprintf(m->u.ha.op, sizeof(m->u.ha.op), "promote");
}

static void ha_r(struct nc_msg *m)
{
	static const char *const names[] = {"ha_active", "ha_epoch", "ha_lag_ms"};
	struct nc_stats_r *s = &m->u.stats_r;

	m->type = NC_MSG_HA_R;
	status(&s->st, NC_ST_OK, "");
	s->n = 3;
	for (unsigned i = 0; i < 3; i++) {
		snprintf(s->stats[i].name, sizeof(s->stats[i].name), "%s", names[i]);
		s->stats[i].value = i + 1;
	}
}

static void watch(struct nc_msg *m)
{
	m->type = NC_MSG_WATCH;
	m->u.watch.mask = 1u << (NC_EV_CREATED - 1) | 1u << (NC_EV_EXPIRED - 1);
}

static void watch_r(struct nc_msg *m)
{
	m->type = NC_MSG_WATCH_R;
	status(&m->u.status, NC_ST_OK, "");
}

static void event(struct nc_msg *m)
{
	m->type = NC_MSG_EVENT;
	m->u.event.event = NC_EV_EXPIRED;
	item_full(&m->u.event.item);
	m->u.event.item.lifetime = 0;
}

static void error(struct nc_msg *m)
{
	m->type = NC_MSG_ERROR;
	m->reqid = 0;
	status(&m->u.status, NC_ST_UNSUPPORTED, "protocol version 2 not spoken");
}

static const struct {
	const char *name;
	void (*build)(struct nc_msg *m);
} fixtures[] = {
	{"hello", hello},
	{"hello_min", hello_min},
	{"hello_r", hello_r},
	{"hello_r_noauth", hello_r_noauth},
	{"auth", auth},
	{"auth_r", auth_r},
	{"auth_r_fail", auth_r_fail},
	{"caps", caps},
	{"caps_r", caps_r},
	{"bind_full", bind_full},
	{"bind_range", bind_range},
	{"bind_ip", bind_ip},
	{"bind_min", bind_min},
	{"bind_v6", bind_v6},
	{"bind_max", bind_max},
	{"bind_r", bind_r},
	{"bind_r_exhausted", bind_r_exhausted},
	{"refresh", refresh},
	{"refresh_min", refresh_min},
	{"refresh_r", refresh_r},
	{"release", release},
	{"release_r", release_r},
	{"release_r_stale", release_r_stale},
	{"list", list},
	{"list_min", list_min},
	{"list_item", list_item},
	{"list_item_icmp", list_item_icmp},
	{"list_r", list_r},
	{"list_r_empty", list_r_empty},
	{"stats", stats},
	{"stats_r", stats_r},
	{"stats_r_max", stats_r_max},
	{"watch", watch},
	{"watch_r", watch_r},
	{"event", event},
	{"error", error},
	{"ha", ha},
	{"ha_promote", ha_promote},
	{"ha_r", ha_r},
};

unsigned fx_count(void)
{
	return sizeof(fixtures) / sizeof(fixtures[0]);
}

const char *fx_build(unsigned i, struct nc_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->reqid = 1000 + i;
	fixtures[i].build(m);
	return fixtures[i].name;
}

int fx_by_name(const char *name, struct nc_msg *m)
{
	unsigned i;

	for (i = 0; i < fx_count(); i++)
		if (!strcmp(fixtures[i].name, name)) {
			fx_build(i, m);
			return 0;
		}
	return -1;
}
