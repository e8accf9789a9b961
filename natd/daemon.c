/* daemon: natd's parts on one libevent loop (see daemon.h).
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
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binding.h"
#include "ctl_server.h"
#include "manager.h"
#include "frag.h"
#include "log.h"
#include "pcp_server.h"
#include "pool.h"
#include "realm.h"
#include "realmconf.h"
#include "route.h"
#include "stats.h"
#include "tun.h"
#include "xlate.h"

#define BATCH 32
#define ROUNDS 8
#define BUF_CAP 65536 /* > any IPv4 packet: a full read means truncation */

struct natd {
	const struct natd_conf *c;
	struct tun *tun;
	char ifname[IFNAMSIZ];
	struct realm_set rs;
	struct bind_table *bt;
	struct frag_table *ft;
	struct natd_stats st;
	struct xlate_ctx x;
	struct mgr *mgr;
	struct ctl_server *ctl;
	struct pcp_server *pcp;
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
		stats_drop(&n->st, DROP_TX_ERROR);
		return;
	}
	n->st.tx_packets++;
	n->st.tx_bytes += len;
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

	n->x.now = now_sec();
	for (int round = 0; round < ROUNDS; round++) {
		int k = tun_recv(n->tun, n->bufs, BATCH);
		if (k < 0) {
			log_err("tun read: %s", strerror(-k));
			break;
		}
		for (int i = 0; i < k; i++) {
			struct tun_buf *b = &n->bufs[i];
			n->st.rx_packets++;
			n->st.rx_bytes += b->len;
			if (xlate_packet(&n->x, b->data, b->len, b->cap) == XL_FORWARD)
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
		mgr_binding_gone(n->mgr, b, NC_EV_EXPIRED);
	xlate_release_binding(&n->x, b);
	n->st.bindings_expired++;
}

static void log_stats(struct natd *n)
{
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);

	if (!f)
		return;
	stats_print(&n->st, f);
	fprintf(f, " bindings=%u bindings_dynamic=%u bindings_static=%u bindings_managed=%u"
		   " capacity=%u frags_held=%u",
		bind_count(n->bt), bind_count_kind(n->bt, BIND_DYNAMIC),
		bind_count_kind(n->bt, BIND_STATIC), bind_count_kind(n->bt, BIND_MANAGED),
		bind_capacity(n->bt), frag_held(n->ft));
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

	bind_expire(n->bt, now, on_expire, n);
	dropped = frag_expire(n->ft, now);
	n->st.dropped[DROP_FRAG_TIMEOUT] += dropped;
	if (n->c->stats_interval && now - n->last_stats >= (uint32_t)n->c->stats_interval) {
		n->last_stats = now;
		log_stats(n);
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct natd *n = arg;
	(void)what;

	switch (sig) {
	case SIGUSR1:
		log_stats(n);
		break;
	case SIGHUP:
		log_notice("SIGHUP: configuration reload is not supported yet; keeping the running one");
		break;
	default:
		log_notice("signal %d: stopping", (int)sig);
		event_base_loopbreak(n->base);
	}
}

static int add_forwards(struct natd *n)
{
	const struct natd_conf *c = n->c;

	for (unsigned i = 0; i < c->nforwards; i++) {
		const struct conf_forward *f = &c->forwards[i];
		uint8_t er = realm_find(&n->rs, f->ext_realm), ir = realm_find(&n->rs, f->in_realm);
		struct pool *pl = n->rs.realms[er].pool;
		int pp = pool_proto_of(f->proto), err;
		char a[EP_STRLEN];

		if (pl && pool_has_addr(pl, f->ext.addr) &&
		    (err = pool_reserve(pl, (enum pool_proto)pp, f->ext)) < 0 && err != -ENOENT) {
			log_err("%s:%d: forward %s: port already taken", c->path, f->line,
				ep_str(f->ext, a));
			return -1;
		}
		if (!bind_insert(n->bt, BIND_STATIC, f->proto, ir, f->in, er, f->ext, now_sec(), &err)) {
			log_err("%s:%d: forward %s: %s", c->path, f->line, ep_str(f->ext, a),
				err == -EEXIST ? "conflicts with another forward" : "table full");
			return -1;
		}
	}
	return 0;
}

int natd_setup(const struct natd_conf *c, struct natd **out)
{
	struct natd *n = calloc(1, sizeof(*n));
	const char *what;
	int err, sigs[4] = {SIGUSR1, SIGHUP, SIGTERM, SIGINT};

	if (!n) {
		log_err("out of memory");
		return -1;
	}
	n->c = c;
	if (realm_set_build(&n->rs, c) < 0)
		goto fail;
	if (!(n->bt = bind_table_new(&c->bind, now_sec()))) {
		log_err("cannot allocate a binding table of %u entries", c->bind.capacity);
		goto fail;
	}
	if (!(n->ft = frag_table_new(&c->frag))) {
		log_err("cannot allocate the fragment table");
		goto fail;
	}
	if (add_forwards(n) < 0)
		goto fail;
	n->x = (struct xlate_ctx){
		.realms = &n->rs, .bt = n->bt, .ft = n->ft, .st = &n->st, .now = now_sec(),
		.hairpinning = c->hairpinning,
		.pool_flags = (c->port_parity ? POOL_F_PARITY : 0u) |
			      (c->port_preservation ? POOL_F_PRESERVE : 0u),
		.emit = emit_cb, .emit_arg = n,
	};
	{
		struct mgr_conf mc = {c->ctl_default_lifetime, c->ctl_max_lifetime};
		if (!(n->mgr = mgr_new(&mc, &n->x))) {
			log_err("out of memory for the address manager");
			goto fail;
		}
	}
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
	if (c->ctl_socket[0] && ctl_server_start(n->base, c, n->mgr, &n->ctl) < 0)
		goto fail;
	if (pcp_server_start(n->base, &c->pcp, n->mgr, &n->rs, &n->pcp) < 0)
		goto fail;
	for (int i = 0; i < 4; i++) {
		n->ev_sig[i] = evsignal_new(n->base, sigs[i], on_signal, n);
		if (!n->ev_sig[i] || event_add(n->ev_sig[i], NULL) < 0) {
			log_err("cannot register signal %d", sigs[i]);
			goto fail;
		}
	}
	log_notice("natd ready on %s: %u realms, %u forwards, capacity %u bindings (%zu bytes)",
		   n->ifname, n->rs.n, c->nforwards, bind_capacity(n->bt), bind_memory(n->bt));
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
	ctl_server_free(n->ctl);
	pcp_server_free(n->pcp);
	mgr_free(n->mgr);
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
	bind_table_free(n->bt);
	frag_table_free(n->ft);
	realm_set_free(&n->rs);
	free(n->bufmem);
	free(n);
}
