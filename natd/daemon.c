/* daemon: natd's parts on one libevent loop (see daemon.h).
 *
 * The translation state is a core (core.c, built from the configuration
 * without I/O); this file adds the I/O around it: the TUN, the event loop,
 * the one-second timer, the signals, and the servers and the state file
 * that live on the loop.
 *
 * Hot path: on_tun() drains up to BATCH packets per read round, a bounded
 * number of rounds per wake-up so the timer and signals still get their
 * turn under flood. Each packet is translated in place in its receive
 * buffer and written back; nothing is allocated and the only syscalls are
 * the TUN read and write (the clock is read through the vDSO).
 */
#include "daemon.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binding.h"
#include "core.h"
#include "ctl_server.h"
#include "manager.h"
#include "frag.h"
#include "log.h"
#include "notify.h"
#include "pcp_server.h"
#include "pool.h"
#include "realm.h"
#include "route.h"
#include "statefile.h"
#include "stats.h"
#include "tun.h"
#include "xlate.h"

#define BATCH 32
#define ROUNDS 8
#define BUF_CAP 65536 /* > any IPv4 packet: a full read means truncation */

struct natd {
	struct natd_conf *c; /* the running configuration; a reload updates it in place */
	char reload_path[4096]; /* "" = SIGHUP only logs */
	bool keep_log_level;    /* -d: the log level is the command line's */
	char ctl_socket_override[108];
	struct tun *tun;
	char ifname[IFNAMSIZ];
	struct core *core; /* realms, tables, translation context, manager */
	struct ctl_server *ctl;
	struct pcp_server *pcp;
	struct statefile *sf;
	struct event_base *base;
	struct event *ev_tun, *ev_tick, *ev_sig[4];
	uint32_t last_stats;
	uint8_t *bufmem;
	struct tun_buf bufs[BATCH];
};

static uint32_t now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

static void send_pkt(struct natd *n, const uint8_t *data, size_t len)
{
	if (tun_send(n->tun, data, len) < 0) {
		stats_drop(&n->core->st, DROP_TX_ERROR);
		return;
	}
	n->core->st.tx_packets++;
	n->core->st.tx_bytes += len;
}

static void emit_cb(void *arg, uint8_t *buf, size_t len)
{
	send_pkt(arg, buf, len);
}

static void on_tun(evutil_socket_t fd, short what, void *arg)
{
	struct natd *n = arg;
	(void)fd;
	(void)what;

	n->core->x.now = now_sec();
	for (int round = 0; round < ROUNDS; round++) {
		int k = tun_recv(n->tun, n->bufs, BATCH);
		if (k < 0) {
			log_err("tun read: %s", strerror(-k));
			break;
		}
		for (int i = 0; i < k; i++) {
			struct tun_buf *b = &n->bufs[i];
			n->core->st.rx_packets++;
			n->core->st.rx_bytes += b->len;
			if (xlate_packet(&n->core->x, b->data, b->len, b->cap) == XL_FORWARD)
				send_pkt(n, b->data, b->len);
		}
		if (k < BATCH)
			break;
	}
}

static void on_expire(struct binding *b, void *arg)
{
	struct natd *n = arg;

	if (log_level >= LOG_DEBUG) {
		char e[EP_STRLEN], m[EP_STRLEN];
		log_debug("binding %u expired: proto %u %s <-> %s", b->id, b->proto,
			  ep_str(b->in, e), ep_str(b->ext, m));
	}
	if (b->kind == BIND_MANAGED)
		mgr_binding_gone(n->core->mgr, b, NC_EV_EXPIRED);
	else
		mgr_announce(n->core->mgr, NC_EV_EXPIRED, b); /* natctl watch: dynamic ones too */
	xlate_release_binding(&n->core->x, b);
	n->core->st.bindings_expired++;
}

static void log_stats(struct natd *n)
{
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);

	if (!f)
		return;
	stats_print(&n->core->st, f);
	fprintf(f, " bindings=%u bindings_dynamic=%u bindings_static=%u bindings_managed=%u"
		   " capacity=%u frags_held=%u",
		bind_count(n->core->bt), bind_count_kind(n->core->bt, BIND_DYNAMIC),
		bind_count_kind(n->core->bt, BIND_STATIC), bind_count_kind(n->core->bt, BIND_MANAGED),
		bind_capacity(n->core->bt), frag_held(n->core->ft));
	if (n->pcp)
		pcp_server_print_stats(n->pcp, f);
	if (fclose(f) == 0) {
		log_notice("stats: %s", line);
	}
	free(line);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct natd *n = arg;
	uint32_t now = now_sec();
	unsigned dropped;
	(void)fd;
	(void)what;

	bind_expire(n->core->bt, now, on_expire, n);
	dropped = frag_expire(n->core->ft, now);
	n->core->st.dropped[DROP_FRAG_TIMEOUT] += dropped;
	if (n->c->stats_interval && now - n->last_stats >= (uint32_t)n->c->stats_interval) {
		n->last_stats = now;
		log_stats(n);
	}
}

static void reload(struct natd *n);

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct natd *n = arg;
	(void)what;

	switch (sig) {
	case SIGUSR1:
		log_stats(n);
		break;
	case SIGHUP:
		reload(n);
		break;
	default:
		log_notice("signal %d: stopping", (int)sig);
		event_base_loopbreak(n->base);
	}
}

/* ---- SIGHUP: configuration reload ---- */

/* The running natd a reload acts on. */
struct reload_target {
	struct natd_conf *conf;  /* the running configuration, replaced in place */
	struct core *core;
	struct ctl_server *ctl;  /* NULL: no control socket */
	struct pcp_server *pcp;  /* NULL: no PCP server */
	bool keep_log_level;     /* -d: the log level is the command line's */
	const char *ctl_socket;  /* -s: overrides control.socket; "" = none */
};

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

static int reload_apply(const struct reload_target *t, struct natd_conf *c, uint32_t now)
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

void natd_set_reload(struct natd *n, const char *path, bool keep_log_level, const char *ctl_socket)
{
	char *abs = realpath(path, NULL); /* daemon() moves to / */

	snprintf(n->reload_path, sizeof(n->reload_path), "%s", abs ? abs : path);
	free(abs);
	n->keep_log_level = keep_log_level;
	snprintf(n->ctl_socket_override, sizeof(n->ctl_socket_override), "%s",
		 ctl_socket ? ctl_socket : "");
}

/* SIGHUP: load the file into a fresh struct; reload_apply() decides. */
static void reload(struct natd *n)
{
	struct natd_conf *fresh;
	char *errs = NULL;
	size_t elen = 0;
	FILE *ef;

	if (!n->reload_path[0]) {
		log_notice("SIGHUP: no configuration file to reload; keeping the running configuration");
		return;
	}
	notify_send("RELOADING=1");
	log_notice("SIGHUP: reloading %s", n->reload_path);
	fresh = calloc(1, sizeof(*fresh));
	ef = open_memstream(&errs, &elen);
	if (!fresh || !ef) {
		log_err("reload: out of memory; keeping the running configuration");
	} else if (conf_load(n->reload_path, fresh, ef) < 0) {
		fclose(ef);
		ef = NULL;
		for (char *save = NULL, *line = strtok_r(errs, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			log_err("reload: %s", line);
		log_err("reload: %s has errors; keeping the running configuration", n->reload_path);
	} else {
		struct reload_target t = {n->c, n->core, n->ctl, n->pcp, n->keep_log_level,
					  n->ctl_socket_override};
		reload_apply(&t, fresh, now_sec());
		conf_free(fresh);
	}
	if (ef)
		fclose(ef);
	free(errs);
	free(fresh);
	notify_send("READY=1");
}

int natd_setup(struct natd_conf *c, struct natd **out)
{
	struct natd *n = calloc(1, sizeof(*n));
	const char *what;
	int err, sigs[4] = {SIGUSR1, SIGHUP, SIGTERM, SIGINT};
	uint32_t pcp_age = 0;

	if (!n) {
		log_err("out of memory");
		return -1;
	}
	n->c = c;
	if (core_open(c, now_sec(), &n->core) < 0)
		goto fail;
	n->core->x.emit = emit_cb;
	n->core->x.emit_arg = n;
	if (!(n->bufmem = malloc((size_t)BATCH * BUF_CAP))) {
		log_err("out of memory for packet buffers");
		goto fail;
	}
	for (int i = 0; i < BATCH; i++)
		n->bufs[i] = (struct tun_buf){n->bufmem + (size_t)i * BUF_CAP, 0, BUF_CAP};

	if ((err = tun_open(c->tun_name, c->tun_mtu, c->tun_txqueuelen, &n->tun, n->ifname, &what)) < 0) {
		log_err("tun %s: %s: %s", c->tun_name, what, strerror(-err));
		goto fail;
	}
	if (c->routes_install && route_install(c, n->ifname) < 0)
		goto fail;

	if (!(n->base = event_base_new())) {
		log_err("event_base_new failed");
		goto fail;
	}
	n->ev_tun = event_new(n->base, tun_fd(n->tun), EV_READ | EV_PERSIST, on_tun, n);
	n->ev_tick = event_new(n->base, -1, EV_PERSIST, on_tick, n);
	if (!n->ev_tun || !n->ev_tick || event_add(n->ev_tun, NULL) < 0 ||
	    event_add(n->ev_tick, &(struct timeval){1, 0}) < 0) {
		log_err("cannot register events");
		goto fail;
	}
	if (c->state_file[0]) {
		/* before any client can ask: the restored bindings come first */
		struct statefile_result res;
		statefile_restore(c->state_file, &n->core->rs, n->core->bt, n->core->mgr, &res);
		pcp_age = res.pcp_age;
		if (!(n->sf = statefile_open(c->state_file, n->base, &n->core->rs, n->core->bt,
					     n->core->mgr, pcp_age)))
			goto fail;
	}
	if (c->ctl_socket[0] && ctl_server_start(n->base, c, n->core->mgr, &n->ctl) < 0)
		goto fail;
	if (pcp_server_start(n->base, &c->pcp, n->core->mgr, &n->core->rs, pcp_age, &n->pcp) < 0)
		goto fail;
	for (int i = 0; i < 4; i++) {
		n->ev_sig[i] = evsignal_new(n->base, sigs[i], on_signal, n);
		if (!n->ev_sig[i] || event_add(n->ev_sig[i], NULL) < 0) {
			log_err("cannot register signal %d", sigs[i]);
			goto fail;
		}
	}
	log_notice("natd ready on %s: %u realms, %u forwards, capacity %u bindings (%zu bytes)",
		   n->ifname, n->core->rs.n, c->nforwards, bind_capacity(n->core->bt),
		   bind_memory(n->core->bt));
	*out = n;
	return 0;
fail:
	natd_free(n);
	return -1;
}

int natd_run(struct natd *n)
{
	int r = event_base_dispatch(n->base);

	log_stats(n);
	return r < 0 ? -1 : 0;
}

void natd_free(struct natd *n)
{
	if (!n)
		return;
	statefile_close(n->sf); /* first: tearing down below is not a change to save */
	ctl_server_free(n->ctl);
	pcp_server_free(n->pcp);
	for (int i = 0; i < 4; i++)
		if (n->ev_sig[i])
			event_free(n->ev_sig[i]);
	if (n->ev_tun)
		event_free(n->ev_tun);
	if (n->ev_tick)
		event_free(n->ev_tick);
	if (n->base)
		event_base_free(n->base);
	tun_close(n->tun);
	core_close(n->core);
	free(n->bufmem);
	free(n);
}
