/* daemon: natd's parts on one libevent loop (see daemon.h).
 *
 * The translation state is a core (core.c, built from the configuration
 * without I/O); this file adds the I/O around it: the TUN, the event loop,
 * the one-second timer, the signals, and the servers and the state file
 * that live on the loop. A SIGHUP's diff and apply is reconf.c's.
 *
 * Hot path: on_tun() reads, translates and writes back one packet after
 * the other and stops after MAX_PKTS packets, once TUN_BUDGET_US have
 * passed, or as soon as a control request has come in (ctl_hint.h),
 * whichever comes first: the TUN fd is level-triggered, so what is left is
 * read on the next pass. Under a flood the rest of the loop (PCP, HA, the
 * timer, signals) waits at most about one budget for its turn, and the
 * authorised control connections, which run at a higher priority than the
 * TUN (ctl_server.h), about one packet. Each packet is translated in place
 * in the receive buffer; nothing is allocated and the only syscalls are
 * the TUN read and write (the clock is read through the vDSO).
 */
#include "daemon.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "clock.h"
#include "core.h"
#include "ctl_hint.h"
#include "ctl_server.h"
#include "fastpath.h"
#include "manager.h"
#include "metrics.h"
#include "natmetrics.h"
#include "frag.h"
#include "ha.h"
#include "log.h"
#include "pcp_server.h"
#include "realm.h"
#include "reconf.h"
#include "reload.h"
#include "route.h"
#include "statefile.h"
#include "stats.h"
#include "tun.h"
#include "xlate.h"

#define MAX_PKTS 256     /* packets per wake-up at most ... */
#define TUN_BUDGET_US 40 /* ... and none begun after this long */
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
	struct ha *ha;               /* ha.enabled; NULL: off */
	struct metrics_srv *metrics; /* metrics.listen; NULL: off */
	struct fastpath *fp;         /* the eBPF fast path; NULL: the TUN path alone */
	struct event_base *base;
	struct event *ev_tun, *ev_tick;
	struct reload_signals *sig; /* SIGHUP reloads, SIGUSR1 logs the counters */
	uint32_t last_stats;
	struct tun_buf buf; /* the packet in hand (BUF_CAP bytes) */
};

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
	bool standby = n->ha && ha_standby(n->ha); /* translates nothing */
	uint64_t t0 = clock_mono_us();
	(void)fd;
	(void)what;

	n->core->x.now = clock_mono_s();
	for (int i = 0; i < MAX_PKTS; i++) {
		struct tun_buf *b = &n->buf;
		int k = tun_recv(n->tun, b, 1);
		if (k < 0) {
			log_err("tun read: %s", strerror(-k));
			break;
		}
		if (k == 0)
			break; /* drained */
		n->core->st.rx_packets++;
		n->core->st.rx_bytes += b->len;
		if (standby)
			stats_drop(&n->core->st, DROP_STANDBY);
		else if (xlate_packet(&n->core->x, b->data, b->len, b->cap) == XL_FORWARD)
			send_pkt(n, b->data, b->len);
		if (ctl_hint_take() || clock_mono_us() - t0 >= TUN_BUDGET_US)
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
	if (n->ha)
		ha_print(n->ha, f);
	if (fclose(f) == 0) {
		log_notice("stats: %s", line);
	}
	free(line);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct natd *n = arg;
	uint32_t now = clock_mono_s();
	unsigned dropped;
	(void)fd;
	(void)what;

	if (n->fp)
		fp_sync(n->fp, now); /* the fast path's packets count before any expiry */
	if (!n->ha || !ha_standby(n->ha)) /* a standby's copy follows the active's expiries */
		bind_expire(n->core->bt, now, on_expire, n);
	dropped = frag_expire(n->core->ft, now);
	n->core->st.dropped[DROP_FRAG_TIMEOUT] += dropped;
	if (n->c->stats_interval && now - n->last_stats >= (uint32_t)n->c->stats_interval) {
		n->last_stats = now;
		log_stats(n);
	}
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

/* SIGHUP: the shared reload shell loads the file into a fresh struct;
 * reconf_apply() decides what of it takes effect. */
static int reload_load(void *arg, const char *path, void *fresh, FILE *errs)
{
	(void)arg;
	return conf_load(path, fresh, errs);
}

static void reload_take(void *arg, void *fresh)
{
	struct natd *n = arg;
	struct reconf_target t = {n->c, n->core, n->ctl, n->pcp, n->keep_log_level,
				  n->ctl_socket_override};

	reconf_apply(&t, fresh, clock_mono_s());
	conf_free(fresh);
}

static void on_hup(void *arg)
{
	struct natd *n = arg;

	if (!n->reload_path[0]) {
		log_notice("SIGHUP: no configuration file to reload; keeping the running configuration");
		return;
	}
	log_notice("SIGHUP: reloading %s", n->reload_path);
	reload_run(n->reload_path, sizeof(struct natd_conf), reload_load, reload_take, n);
}

static void metrics_fill(void *arg, FILE *f)
{
	struct natd *n = arg;

	natmetrics_write(f, n->core, n->ctl, n->pcp);
	if (n->ha)
		ha_metrics(n->ha, f);
}

static void ha_ctl_stats(void *arg, struct nc_stats_r *r)
{
	ha_stats(arg, r);
}

static void ha_ctl_promote(void *arg)
{
	ha_promote(arg);
}

static void ha_ctl_demote(void *arg)
{
	ha_demote(arg);
}

static const struct ctl_ha_ops ha_ctl_ops = {ha_ctl_stats, ha_ctl_promote, ha_ctl_demote};

static void on_usr1(void *arg)
{
	struct natd *n = arg;

	if (n->fp)
		fp_sync(n->fp, clock_mono_s());
	log_stats(n);
}

int natd_setup(struct natd_conf *c, struct natd **out)
{
	struct natd *n = calloc(1, sizeof(*n));
	const char *what;
	int err;
	uint32_t pcp_age = 0;

	if (!n) {
		log_err("out of memory");
		return -1;
	}
	n->c = c;
	if (core_open(c, clock_mono_s(), &n->core) < 0)
		goto fail;
	n->core->x.emit = emit_cb;
	n->core->x.emit_arg = n;
	if (!(n->buf.data = malloc(BUF_CAP))) {
		log_err("out of memory for the packet buffer");
		goto fail;
	}
	n->buf.cap = BUF_CAP;

	if ((err = tun_open(c->tun_name, c->tun_mtu, c->tun_txqueuelen, &n->tun, n->ifname, &what)) < 0) {
		log_err("tun %s: %s: %s", c->tun_name, what, strerror(-err));
		goto fail;
	}
	if (c->routes_install && route_install(c, n->ifname) < 0)
		goto fail;
	/* privileged, so before the drop; on any problem natd says why and
	 * runs on the TUN path alone */
	if ((n->fp = fp_open(&c->fp, n->core->bt, &n->core->st)))
		fp_hook(n->fp, &n->core->x);

	/* the priorities before any event exists: an event takes the
	 * default (the middle one) when it is made */
	if (!(n->base = event_base_new()) ||
	    event_base_priority_init(n->base, CTL_LOOP_PRIORITIES) < 0) {
		log_err("event_base_new failed");
		goto fail;
	}
	if (ctl_hint_init() < 0) /* only a hint: natd runs without it */
		log_warn("SIGIO handler: %s; control requests wait for the TUN slice under way",
			 strerror(errno));
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
	if (c->ha.enabled && !(n->ha = ha_open(n->base, &c->ha, n->core, n->sf)))
		goto fail;
	if (c->ctl_socket[0] && ctl_server_start(n->base, c, n->core->mgr, &n->ctl) < 0)
		goto fail;
	if (n->ha && n->ctl)
		ctl_server_set_ha(n->ctl, &ha_ctl_ops, n->ha);
	if (pcp_server_start(n->base, &c->pcp, n->core->mgr, &n->core->rs, pcp_age, &n->pcp) < 0)
		goto fail;
	if (c->metrics_listen[0] &&
	    metrics_start(n->base, c->metrics_listen, metrics_fill, n, &n->metrics) < 0)
		goto fail;
	if (!(n->sig = reload_signals_new(n->base, on_hup, on_usr1, n)))
		goto fail;
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

	if (n->fp)
		fp_sync(n->fp, clock_mono_s());
	log_stats(n);
	return r < 0 ? -1 : 0;
}

void natd_free(struct natd *n)
{
	if (!n)
		return;
	ha_close(n->ha);        /* gives the observers back to the state file */
	statefile_close(n->sf); /* first: tearing down below is not a change to save */
	metrics_stop(n->metrics);
	ctl_server_free(n->ctl);
	pcp_server_free(n->pcp);
	reload_signals_free(n->sig);
	if (n->ev_tun)
		event_free(n->ev_tun);
	if (n->ev_tick)
		event_free(n->ev_tick);
	if (n->base)
		event_base_free(n->base);
	fp_close(n->fp); /* detaches the program: nothing translates for a natd that is gone */
	tun_close(n->tun);
	core_close(n->core);
	free(n->buf.data);
	free(n);
}
