/* ctl_server: the control socket (theory of operation in ctl_server.h). */
#include "config.h"
#include "ctl_server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <libcontrol/auth.h>
#include <libcontrol/secret.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "ctl_hint.h"
#include "ctl_tls.h"
#include "log.h"
#include "ratelimit.h"

/* the owner key "tcp:<name>" always fits whole (conf_tcp_name_ok) */
_Static_assert(sizeof(((struct mgr_client *)0)->owner) >= sizeof("tcp:") + CONF_TCP_NAME_MAX,
	       "a TCP client's owner key must not be truncated");

struct conn {
	struct ctl_server *srv;
	struct bufferevent *bev;
	struct mgr_client client;
	struct mgr_policy *pol; /* NULL: not authorised */
	bool hello;         /* authorised: requests may follow */
	bool closing;
	bool dead;          /* cut off: freed by the reaper, nothing more is done */
	bool tcp;           /* came over TCP: must prove a shared secret */
	bool tls_wait;      /* TLS: the handshake and the peer check are not done */
	bool await_auth;    /* TCP: HELLO answered with a nonce */
	int tcp_client;     /* index into tcp_clients, -1 unknown name */
	uid_t uid;          /* local: the peer's uid (SO_PEERCRED) */
	uint32_t src;       /* TCP: the source address (network order) */
	struct event *hs_timer; /* control.handshake_timeout; NULL once done */
	uint8_t ns[NC_NONCE_LEN];
	uint32_t watch_reqid, watch_mask;
	struct tbucket rate;     /* control.max_request_rate */
	bool rate_logged;
	bool hello_logged;       /* a second HELLO was logged */
	struct nc_msg *in, *out; /* decoded request, reply being built */
	uint8_t *enc;            /* encode buffer, NC_MSG_MAX bytes */
	struct conn *next;
};

struct tcp_client {
	struct mgr_policy pol;
	char secret_file[256];
	uint8_t secret[NC_SECRET_MAX];
	size_t slen;
};

struct ctl_server {
	struct event_base *base;
	struct evconnlistener *lst, *tcp_lst;
	struct tcp_client *tcp_clients;
	unsigned ntcp;
	struct prefix tcp_allow[16];
	unsigned ntcp_allow;
	struct mgr *m;
	struct mgr_policy *pols; /* [0] root, then control.clients */
	uid_t *pol_uids;
	unsigned npols;
	int max_clients, nconns;         /* Unix connections */
	int max_tcp, max_per_source, ntcpconns; /* TCP connections */
	uint32_t max_rate;       /* control.max_request_rate, 0 = unlimited */
	size_t max_output;       /* control.max_output */
	struct timeval hs_timeout; /* control.handshake_timeout */
	struct event *reaper;    /* frees the connections marked dead */
	struct tbucket refuse_log; /* refused connections: at most one log line a second */
	struct ctl_tls *tls;     /* control.tls_*: NULL, plain TCP */
	struct {                 /* appended to STATS as ctl_* */
		uint64_t hello_refused, name_refused, output_dropped, handshake_timeouts,
			full_unix, full_tcp, full_source, tls_handshakes, tls_failed, tls_refused;
	} n;
	/* replies sent, by request type (0: unattributable) and status */
	uint64_t replies[CTL_REQ_TYPES][NC_ST_MAX + 1];
	struct conn *conns;
	char path[108];
	const struct ctl_ha_ops *ha; /* NULL: no HA (HA is refused) */
	void *ha_arg;
};

static void conn_free(struct conn *c)
{
	struct ctl_server *s = c->srv;
	struct conn **pp;

	for (pp = &s->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	if (c->tcp)
		s->ntcpconns--;
	else
		s->nconns--;
	if (c->watch_reqid)
		mgr_set_watching(s->m, -1);
	if (c->hs_timer)
		event_free(c->hs_timer);
	bufferevent_free(c->bev);
	free(c->in);
	free(c->out);
	free(c->enc);
	free(c);
}

/* Frees every connection kill_conn() marked. */
static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct ctl_server *s = arg;
	struct conn *c, *next;
	(void)fd;
	(void)what;

	for (c = s->conns; c; c = next) {
		next = c->next;
		if (c->dead)
			conn_free(c);
	}
}

/* Cut a connection off now, from anywhere (even from inside a request of
 * its own, or another client's event fan-out): what it had queued is
 * dropped at once, and the reaper frees it once the current callback is
 * over. Its bindings stay: they end by lease. */
static void kill_conn(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = c->closing = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	evbuffer_drain(bufferevent_get_output(c->bev), evbuffer_get_length(bufferevent_get_output(c->bev)));
	event_active(c->srv->reaper, EV_TIMEOUT, 0);
}

/* c is alive and has no TLS session (whose bytes must go through the
 * session): natd may write to its socket directly. */
static bool plain_out(const struct conn *c)
{
	return !c->dead && !c->tls_wait && !bufferevent_openssl_get_ssl(c->bev);
}

/* Hand c's queued output to the kernel now; never blocks (the socket is
 * non-blocking); what the socket does not take stays queued for the
 * bufferevent's own write event. */
static void flush_now(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (plain_out(c) && evbuffer_get_length(out))
		evbuffer_write(out, bufferevent_getfd(c->bev));
}

/* Send n bytes to c. On a plain socket with nothing queued they go out at
 * once with one send(): the reply does not wait for the loop's next pass
 * (under a TUN flood, one on_tun() budget later) and no write event is
 * armed and disarmed for it (two epoll_ctl calls). What the socket does
 * not take, and everything under TLS, is queued in order on the
 * bufferevent; a send error is left for the bufferevent to meet and
 * report (the connection is then freed). */
static void send_bytes(struct conn *c, const uint8_t *p, size_t n)
{
	if (plain_out(c) && evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		ssize_t w = send(bufferevent_getfd(c->bev), p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
		}
	}
	if (n)
		bufferevent_write(c->bev, p, n);
}

/* control.max_output: a client that does not read what natd sends it (its
 * replies, or the events it watches) is cut off before its queue can grow
 * without bound. true if c was cut off. */
static bool out_over(struct conn *c, const char *what)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t q = evbuffer_get_length(out);

	if (c->dead)
		return true;
	if (q <= c->srv->max_output)
		return false;
	/* a burst of replies made in one go (the loop has not written any yet):
	 * hand what the socket takes to the kernel now, so that only a client
	 * that really does not read is cut off */
	flush_now(c);
	if ((q = evbuffer_get_length(out)) <= c->srv->max_output)
		return false;
	c->srv->n.output_dropped++;
	log_notice("control: %s does not read its %s (%zu bytes queued, over control.max_output); "
		   "disconnected",
		   c->client.owner, what, q);
	kill_conn(c);
	return true;
}

/* The handshake is over (HELLO, and AUTH over TCP): no deadline now, and
 * the connection's events run before the rest of natd's loop (CTL_PRIORITY,
 * ctl_server.h) and its bytes end a TUN slice at the next packet
 * (ctl_hint.h): an authorised client's request is not queued behind a TUN
 * flood. What such a client can take from the datapath: the requests it
 * gets served are bounded by control.max_request_rate; its refusals, and
 * the rest, by who may connect at all (natd.conf(5)). */
static void handshake_done(struct conn *c)
{
	c->hello = true;
	bufferevent_priority_set(c->bev, CTL_PRIORITY);
	ctl_hint_watch(bufferevent_getfd(c->bev));
	if (c->hs_timer) {
		event_free(c->hs_timer);
		c->hs_timer = NULL;
	}
}

/* A TLS failure of c (handshake or peer check): counted, logged at most
 * once a minute per source, connection cut off. */
static void tls_refuse(struct conn *c, uint64_t *counter, const char *what, const char *why)
{
	struct ctl_server *s = c->srv;
	char a[INET_ADDRSTRLEN];
	unsigned more;

	(*counter)++;
	if (ctl_tls_log_ok(s->tls, c->src, clock_mono_ms(), &more))
		log_notice("control: TLS %s from %s: %s; disconnected%s", what,
			   inet_ntop(AF_INET, &c->src, a, sizeof(a)), why,
			   more ? " (more from this source in the last minute, not logged)" : "");
	/* A lingering close: the alert OpenSSL wrote says why, but a client
	 * whose first request crosses it (TLS 1.3 checks the client's
	 * certificate after the client is done) would get a reset in its
	 * place if the socket closed now. Half-close, read nothing, and let
	 * the timer cut it off in a second. */
	if (c->hs_timer && shutdown(bufferevent_getfd(c->bev), SHUT_WR) == 0) {
		static const struct timeval linger = {1, 0};
		c->closing = true;
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		if (evtimer_add(c->hs_timer, &linger) == 0)
			return;
	}
	kill_conn(c);
}

/* The timer of a connection: its handshake deadline, or (closing) the
 * time it gets to read its last replies. */
static void on_handshake_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	(void)fd;
	(void)what;

	if (c->closing) {
		kill_conn(c); /* it does not read what natd answered last */
		return;
	}
	c->srv->n.handshake_timeouts++;
	if (c->tls_wait) { /* a stalled (or too slow) TLS handshake */
		tls_refuse(c, &c->srv->n.tls_failed, "handshake failed",
			   "not done within control.handshake_timeout");
		return;
	}
	log_info("control: %s did not complete its handshake in %ld s (control.handshake_timeout); "
		 "disconnected",
		 c->client.owner, (long)c->srv->hs_timeout.tv_sec);
	kill_conn(c);
}

/* Encode body as a message of type/reqid and queue it. */
static void send_msg(struct conn *c, uint16_t type, uint32_t reqid, const void *body)
{
	int n = nc_encode(c->enc, NC_MSG_MAX, type, reqid, body);

	/* every final answer's body starts with a struct nc_status */
	if ((type & NC_MSG_REPLY) && (type & ~NC_MSG_REPLY) < CTL_REQ_TYPES &&
	    ((const struct nc_status *)body)->code <= NC_ST_MAX)
		c->srv->replies[type & ~NC_MSG_REPLY][((const struct nc_status *)body)->code]++;
	if (n < 0) {
		log_err("control: cannot encode %s: %s", nc_msg_name(type) ? nc_msg_name(type) : "?",
			nc_strerror(n));
		return;
	}
	send_bytes(c, c->enc, (size_t)n);
}

static void send_status(struct conn *c, uint16_t type, uint32_t reqid, uint16_t code,
			const char *reason)
{
	struct nc_status st = {.code = code, .epoch = mgr_epoch(c->srv->m)};

	snprintf(st.reason, sizeof(st.reason), "%s", reason);
	send_msg(c, type, reqid, &st);
}

/* Replies whose body starts with a struct nc_status. */
static void send_refusal(struct conn *c, uint16_t type, uint32_t reqid, uint16_t code,
			 const char *reason)
{
	memset(c->out, 0, sizeof(*c->out));
	c->out->u.status.code = code;
	c->out->u.status.epoch = mgr_epoch(c->srv->m);
	snprintf(c->out->u.status.reason, sizeof(c->out->u.status.reason), "%s", reason);
	send_msg(c, (uint16_t)(type | NC_MSG_REPLY), reqid, &c->out->u);
}

struct list_ctx {
	struct conn *c;
	uint32_t reqid;
};

static void list_emit(void *arg, const struct nc_item *it)
{
	struct list_ctx *l = arg;
	send_msg(l->c, NC_MSG_LIST_ITEM, l->reqid, it);
}

static void on_event(void *arg, uint8_t event, const struct nc_item *item)
{
	struct ctl_server *s = arg;
	struct nc_event ev;

	ev.event = event;
	ev.item = *item;
	for (struct conn *c = s->conns; c; c = c->next) {
		if (!c->watch_reqid || !(c->watch_mask & (1u << (event - 1))) || c->closing)
			continue;
		if (!c->pol->admin && strcmp(item->owner, c->client.owner))
			continue;
		if (out_over(c, "events"))
			continue; /* kill_conn leaves c in the list until the reaper runs */
		send_msg(c, NC_MSG_EVENT, c->watch_reqid, &ev);
	}
}

uint64_t ctl_server_replies(const struct ctl_server *s, uint16_t type, uint16_t status)
{
	return type < CTL_REQ_TYPES && status <= NC_ST_MAX ? s->replies[type][status] : 0;
}

/* natd's own counters of the control channel, after the manager's. */
void ctl_server_stats(const struct ctl_server *s, struct nc_stats_r *r)
{
	const struct {
		const char *name;
		uint64_t v;
	} t[] = {
		{"ctl_connections_unix", (uint64_t)s->nconns},
		{"ctl_connections_tcp", (uint64_t)s->ntcpconns},
		{"ctl_hello_refused", s->n.hello_refused},
		{"ctl_name_refused", s->n.name_refused},
		{"ctl_output_dropped", s->n.output_dropped},
		{"ctl_handshake_timeouts", s->n.handshake_timeouts},
		{"ctl_refused_unix_full", s->n.full_unix},
		{"ctl_refused_tcp_full", s->n.full_tcp},
		{"ctl_refused_tcp_source", s->n.full_source},
		{"ctl_tls_handshakes", s->n.tls_handshakes},
		{"ctl_tls_handshake_failed", s->n.tls_failed},
		{"ctl_tls_peer_refused", s->n.tls_refused},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]) && r->n < NC_STATS_MAX; i++) {
		snprintf(r->stats[r->n].name, sizeof(r->stats[r->n].name), "%s", t[i].name);
		r->stats[r->n++].value = t[i].v;
	}
}

/* control.max_request_rate: a token bucket per connection (a burst of one
 * second's worth), so that one client flooding requests cannot take the
 * loop from the others or from the packets. */
static bool rate_ok(struct conn *c)
{
	if (!c->srv->max_rate)
		return true;
	return tb_take(&c->rate, c->srv->max_rate, 0, clock_mono_ms());
}

/* Phase 1 of a request: refused before it is read when it is a reply
 * type, comes before the handshake, or is over the connection's rate.
 * false: the refusal is sent. */
static bool handle_admit(struct conn *c)
{
	struct nc_msg *q = c->in;
	uint32_t id = q->reqid;

	if (!nc_msg_is_request(q->type)) { /* proto.h section 5: a reply type from a client */
		send_status(c, NC_MSG_ERROR, id, NC_ST_BAD_REQUEST, "not a request");
		return false;
	}
	if (!c->hello && q->type != NC_MSG_HELLO && !(q->type == NC_MSG_AUTH && c->await_auth)) {
		send_refusal(c, q->type, id, NC_ST_NOT_AUTHORIZED,
			     c->tcp ? "say HELLO and AUTH first" : "say HELLO first");
		return false;
	}
	if (c->hello && !rate_ok(c)) {
		if (!c->rate_logged)
			log_notice("control: %s is over control.max_request_rate; refusing with TRY_AGAIN",
				   c->client.owner);
		c->rate_logged = true;
		send_refusal(c, q->type, id, NC_ST_TRY_AGAIN, "request rate limit (control.max_request_rate)");
		return false;
	}
	return true;
}

/* HELLO: the local socket's client is known by its credentials; a TCP
 * client gets a nonce to answer with AUTH. */
static void handle_hello(struct conn *c)
{
	struct nc_msg *q = c->in, *r = c->out;
	struct mgr *m = c->srv->m;
	uint32_t id = q->reqid;

	if (c->hello || c->await_auth) {
		/* One HELLO per connection: a second one must not start
		 * another handshake (a TCP client that has authenticated
		 * would take another client's name without its secret).
		 * The connection keeps its identity and state. */
		c->srv->n.hello_refused++;
		if (!c->hello_logged)
			log_notice("control: %s said HELLO again; refused", c->client.owner);
		c->hello_logged = true;
		send_refusal(c, q->type, id, NC_ST_BAD_REQUEST,
			     "HELLO was said already on this connection");
		return;
	}
	r->u.hello_r.st.epoch = mgr_epoch(m);
	snprintf(r->u.hello_r.name, sizeof(r->u.hello_r.name), "natd %s", PACKAGE_VERSION);
	if (c->tcp && !conf_tcp_name_ok(q->u.hello.name)) {
		/* the owner key is "tcp:<name>": a name that would not fit
		 * whole (or could not be a configured one) is refused, never
		 * cut to a prefix that may be another client's name. The
		 * grammar is public, so this tells nothing about the names
		 * configured. */
		c->srv->n.name_refused++;
		r->u.hello_r.st.code = NC_ST_BAD_REQUEST;
		snprintf(r->u.hello_r.st.reason, sizeof(r->u.hello_r.st.reason),
			 "a TCP client name is 1 to %d of [A-Za-z0-9._-]", CONF_TCP_NAME_MAX);
		c->closing = true;
	} else if (c->tcp) {
		/* a nonce whatever the name, so names cannot be probed */
		c->tcp_client = -1;
		for (unsigned i = 0; i < c->srv->ntcp; i++)
			if (!strcmp(c->srv->tcp_clients[i].pol.name, q->u.hello.name))
				c->tcp_client = (int)i;
		if (nc_auth_nonce(c->ns) < 0) {
			r->u.hello_r.st.code = NC_ST_TRY_AGAIN;
			snprintf(r->u.hello_r.st.reason, sizeof(r->u.hello_r.st.reason),
				 "no randomness");
			c->closing = true;
		} else {
			r->u.hello_r.has_nonce = true;
			memcpy(r->u.hello_r.nonce, c->ns, NC_NONCE_LEN);
			c->await_auth = true;
			snprintf(c->client.owner, sizeof(c->client.owner), "tcp:%.*s",
				 CONF_TCP_NAME_MAX, q->u.hello.name); /* fits: checked above */
		}
	} else if (!c->pol) {
		r->u.hello_r.st.code = NC_ST_NOT_AUTHORIZED;
		snprintf(r->u.hello_r.st.reason, sizeof(r->u.hello_r.st.reason),
			 "%s is not a control client (control.clients)", c->client.owner);
		c->closing = true;
	} else {
		handshake_done(c);
	}
	send_msg(c, NC_MSG_HELLO_R, id, &r->u.hello_r);
}

/* AUTH (TCP only): the client's MAC over the nonces, one try. */
static void handle_auth(struct conn *c)
{
	struct nc_msg *q = c->in, *r = c->out;
	struct mgr *m = c->srv->m;
	uint32_t id = q->reqid;
	const struct tcp_client *tc = c->tcp_client >= 0 ? &c->srv->tcp_clients[c->tcp_client] : NULL;

	if (!c->tcp) {
		send_refusal(c, q->type, id, NC_ST_UNSUPPORTED,
			     "the local socket authenticates by credentials");
		return;
	}
	r->u.auth_r.st.epoch = mgr_epoch(m);
	c->await_auth = false;
	if (c->hello || !tc ||
	    !nc_auth_check(tc->secret, tc->slen, NC_AUTH_CLIENT, c->ns, q->u.auth.nonce,
			   q->u.auth.mac) ||
	    nc_auth_mac(tc->secret, tc->slen, NC_AUTH_SERVER, c->ns, q->u.auth.nonce,
			r->u.auth_r.mac) < 0) {
		/* one try per connection */
		memset(r->u.auth_r.mac, 0, sizeof(r->u.auth_r.mac));
		r->u.auth_r.st.code = NC_ST_NOT_AUTHORIZED;
		snprintf(r->u.auth_r.st.reason, sizeof(r->u.auth_r.st.reason),
			 "authentication failed");
		log_notice("control: %s failed to authenticate", c->client.owner);
		c->closing = true;
		send_refusal(c, q->type, id, NC_ST_NOT_AUTHORIZED, "authentication failed");
		return;
	}
	c->pol = (struct mgr_policy *)&tc->pol;
	c->client.pol = c->pol;
	handshake_done(c);
	send_msg(c, NC_MSG_AUTH_R, id, &r->u.auth_r);
}
/* HA (natctl ha): the pair's status, promote, demote; administrators
 * only (the same as every command touching others' bindings). */
static void handle_ha(struct conn *c, uint32_t id, const struct nc_ha *q, struct nc_stats_r *r)
{
	struct ctl_server *s = c->srv;

	if (!c->pol->admin) {
		send_refusal(c, NC_MSG_HA, id, NC_ST_NOT_AUTHORIZED, "HA commands need an administrator");
		return;
	}
	if (!s->ha) {
		send_refusal(c, NC_MSG_HA, id, NC_ST_UNSUPPORTED, "HA is off here (ha.enabled)");
		return;
	}
	if (!strcmp(q->op, "promote")) {
		log_notice("ha: promotion asked by %s", c->client.owner);
		s->ha->promote(s->ha_arg);
	} else if (!strcmp(q->op, "demote")) {
		log_notice("ha: demotion asked by %s", c->client.owner);
		s->ha->demote(s->ha_arg);
	} else if (q->op[0]) {
		send_refusal(c, NC_MSG_HA, id, NC_ST_BAD_REQUEST, "HA: promote, demote, or nothing (status)");
		return;
	}
	memset(r, 0, sizeof(*r));
	r->st.code = NC_ST_OK;
	r->st.epoch = mgr_epoch(s->m);
	s->ha->stats(s->ha_arg, r);
	send_msg(c, NC_MSG_HA_R, id, r);
}

void ctl_server_set_ha(struct ctl_server *s, const struct ctl_ha_ops *ops, void *arg)
{
	s->ha = ops;
	s->ha_arg = arg;
}

/* One decoded request: admitted (handle_admit), then answered by type. */
static void handle(struct conn *c)
{
	struct nc_msg *q = c->in, *r = c->out;
	struct mgr *m = c->srv->m;
	uint32_t id = q->reqid;

	memset(r, 0, sizeof(*r));
	if (!handle_admit(c))
		return;
	switch (q->type) {
	case NC_MSG_HELLO:
		handle_hello(c);
		break;
	case NC_MSG_AUTH:
		handle_auth(c);
		break;
	case NC_MSG_CAPS:
		mgr_caps(m, &r->u.caps_r);
		r->u.caps_r.quota = c->pol->quota;
		send_msg(c, NC_MSG_CAPS_R, id, &r->u.caps_r);
		break;
	case NC_MSG_BIND:
		mgr_bind(m, &c->client, &q->u.bind, &r->u.bind_r);
		send_msg(c, NC_MSG_BIND_R, id, &r->u.bind_r);
		break;
	case NC_MSG_REFRESH:
		mgr_refresh(m, &c->client, &q->u.refresh, &r->u.refresh_r);
		send_msg(c, NC_MSG_REFRESH_R, id, &r->u.refresh_r);
		break;
	case NC_MSG_RELEASE:
		mgr_release(m, &c->client, &q->u.release, &r->u.status);
		send_msg(c, NC_MSG_RELEASE_R, id, &r->u.status);
		break;
	case NC_MSG_LIST: {
		struct list_ctx l = {c, id};
		r->u.list_r.count = mgr_list(m, &c->client, &q->u.list, list_emit, &l);
		r->u.list_r.st.epoch = mgr_epoch(m);
		send_msg(c, NC_MSG_LIST_R, id, &r->u.list_r);
		break;
	}
	case NC_MSG_STATS:
		mgr_stats(m, &r->u.stats_r);
		ctl_server_stats(c->srv, &r->u.stats_r);
		if (c->srv->ha)
			c->srv->ha->stats(c->srv->ha_arg, &r->u.stats_r);
		send_msg(c, NC_MSG_STATS_R, id, &r->u.stats_r);
		break;
	case NC_MSG_HA:
		handle_ha(c, id, &q->u.ha, &r->u.stats_r);
		break;
	case NC_MSG_WATCH:
		if (c->watch_reqid) {
			send_refusal(c, q->type, id, NC_ST_CONFLICT, "already watching");
			break;
		}
		c->watch_reqid = id;
		c->watch_mask = q->u.watch.mask ? q->u.watch.mask : NC_EV_ALL;
		mgr_set_watching(c->srv->m, +1);
		send_status(c, NC_MSG_WATCH_R, id, NC_ST_OK, "");
		break;
	default:
		send_status(c, NC_MSG_ERROR, id, NC_ST_BAD_REQUEST, "not a request");
	}
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->dead || c->tls_wait)
		return; /* (TLS: nothing is read before the peer is checked) */
	while (!c->closing) {
		size_t have = evbuffer_get_length(in), look = have < NC_MSG_MAX ? have : NC_MSG_MAX;
		uint8_t *p;
		struct nc_hdr h;
		int n, err;

		if (have == 0)
			break;
		/* a pipelining client that does not read its replies */
		if (out_over(c, "replies"))
			return;
		p = evbuffer_pullup(in, (ssize_t)look);
		n = nc_frame(p, look);
		if (n < 0) {
			/* the stream cannot be cut into messages: answer and hang up */
			send_status(c, NC_MSG_ERROR, 0, NC_ST_BAD_REQUEST, nc_strerror(n));
			c->closing = true;
			break;
		}
		if (n == 0)
			break; /* the rest of the message is still on its way */
		p = evbuffer_pullup(in, n);
		err = nc_decode(p, (size_t)n, c->in);
		if (err < 0) {
			uint16_t type = 0;
			uint32_t reqid = 0;
			if (nc_header(p, (size_t)n, &h) == 0) {
				type = h.type;
				reqid = h.reqid;
			}
			/* a request natd can attribute gets its own reply type; an
			 * unknown version, type or a non-request gets ERROR (section 5) */
			if (nc_msg_is_request(type) && reqid && err != NC_E_VERSION)
				send_refusal(c, type, reqid, nc_err_status(err), nc_strerror(err));
			else
				send_status(c, NC_MSG_ERROR, reqid, nc_err_status(err), nc_strerror(err));
		} else {
			handle(c);
		}
		if (c->dead)
			return; /* cut off by its own request: the reaper frees it */
		evbuffer_drain(in, (size_t)n);
	}
	if (c->closing) {
		bufferevent_disable(bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
			conn_free(c);
		} else if (!c->hs_timer) {
			/* its last replies are queued: it has the handshake
			 * timeout to read them, then it is cut off */
			if ((c->hs_timer = evtimer_new(c->srv->base, on_handshake_timeout, c)))
				evtimer_add(c->hs_timer, &c->srv->hs_timeout);
			else
				kill_conn(c);
		}
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->dead)
		return;
	if (c->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

/* The OpenSSL reason of a failed handshake, for the log. */
static const char *tls_reason(struct bufferevent *bev, char *buf, size_t n)
{
	unsigned long e = bufferevent_get_openssl_error(bev);
	long v = SSL_get_verify_result(bufferevent_openssl_get_ssl(bev));

	if (!e)
		return EVUTIL_SOCKET_ERROR() ? evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())
					     : "closed";
	ERR_error_string_n(e, buf, n);
	if (v != X509_V_OK) /* which check the certificate failed */
		snprintf(buf + strlen(buf), n - strlen(buf), " (%s)", X509_verify_cert_error_string(v));
	return buf;
}

static void on_event_bev(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char why[256];

	if (c->dead)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		/* the TLS handshake is over: the certificate's name, then the
		 * control protocol (whatever arrived with the handshake first) */
		if (ctl_tls_peer_ok(c->srv->tls, bufferevent_openssl_get_ssl(bev), why, sizeof(why)) < 0) {
			tls_refuse(c, &c->srv->n.tls_refused, "client refused", why);
			return;
		}
		c->srv->n.tls_handshakes++;
		c->tls_wait = false;
		on_read(bev, c);
		return;
	}
	if (c->tls_wait && (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))) {
		tls_refuse(c, &c->srv->n.tls_failed, "handshake failed", tls_reason(bev, why, sizeof(why)));
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		conn_free(c); /* its bindings stay: they end by lease */
}

/* A refused connection: counted always, logged at most once a second (a
 * flood of connections must not become a flood of log lines). */
static void refuse_conn(struct ctl_server *s, evutil_socket_t fd, uint64_t *counter, int n,
			const char *what, const char *setting)
{
	(*counter)++;
	if (tb_take(&s->refuse_log, 1, 1, clock_mono_ms()))
		log_notice("control: %d %s already (%s); connection refused", n, what, setting);
	close(fd);
}

/* A new connection (Unix or TCP, each under its own limit, checked by the
 * caller), with its handshake deadline running. */
static struct conn *conn_new(struct ctl_server *s, evutil_socket_t fd, bool tcp)
{
	struct conn *c = calloc(1, sizeof(*c));
	SSL *ssl = NULL;

	if (!c || !(c->in = malloc(sizeof(*c->in))) || !(c->out = malloc(sizeof(*c->out))) ||
	    !(c->enc = malloc(NC_MSG_MAX)) ||
	    !(c->hs_timer = evtimer_new(s->base, on_handshake_timeout, c)) ||
	    evtimer_add(c->hs_timer, &s->hs_timeout) < 0 ||
	    (tcp && s->tls && !(ssl = ctl_tls_session(s->tls))) ||
	    !(c->bev = ssl ? bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
							      BEV_OPT_CLOSE_ON_FREE)
			   : bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE))) {
		if (ssl && !c->bev)
			SSL_free(ssl);
		if (c) {
			if (c->hs_timer)
				event_free(c->hs_timer);
			free(c->in);
			free(c->out);
			free(c->enc);
		}
		free(c);
		close(fd);
		return NULL;
	}
	c->srv = s;
	c->tcp = tcp;
	c->tls_wait = ssl != NULL;
	c->tcp_client = -1;
	c->next = s->conns;
	s->conns = c;
	if (tcp)
		s->ntcpconns++;
	else
		s->nconns++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event_bev, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, NC_MSG_MAX * 4);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return c;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct ctl_server *s = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct conn *c;
	(void)l;
	(void)sa;
	(void)salen;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(fd);
		return;
	}
	if (s->nconns >= s->max_clients) {
		refuse_conn(s, fd, &s->n.full_unix, s->nconns, "local clients", "control.max_clients");
		return;
	}
	if (!(c = conn_new(s, fd, false)))
		return;
	c->uid = cred.uid;
	snprintf(c->client.owner, sizeof(c->client.owner), "uid:%u", (unsigned)cred.uid);
	for (unsigned i = 0; i < s->npols; i++)
		if (s->pol_uids[i] == cred.uid) {
			c->pol = &s->pols[i];
			break;
		}
	c->client.pol = c->pol;
}

static void on_accept_tcp(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			  int salen, void *arg)
{
	struct ctl_server *s = arg;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	bool allowed = false;
	struct conn *c;
	int one = 1, n = 0;
	(void)l;

	if (salen >= (int)sizeof(*sin) && sin->sin_family == AF_INET)
		for (unsigned i = 0; i < s->ntcp_allow && !allowed; i++)
			allowed = prefix_match(&s->tcp_allow[i], sin->sin_addr.s_addr);
	if (!allowed) {
		char a[EP_STRLEN];
		log_notice("control: TCP connection from %s refused (control.tcp_allow)",
			   salen >= (int)sizeof(*sin)
				   ? ep_str((struct endpoint){sin->sin_addr.s_addr, sin->sin_port}, a)
				   : "?");
		close(fd);
		return;
	}
	if (s->ntcpconns >= s->max_tcp) {
		refuse_conn(s, fd, &s->n.full_tcp, s->ntcpconns, "TCP clients",
			    "control.max_tcp_clients");
		return;
	}
	for (c = s->conns; c; c = c->next)
		if (c->tcp && !c->dead && c->src == sin->sin_addr.s_addr)
			n++;
	if (n >= s->max_per_source) {
		refuse_conn(s, fd, &s->n.full_source, n, "TCP connections from one source",
			    "control.max_tcp_clients_per_source");
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!(c = conn_new(s, fd, true)))
		return;
	c->src = sin->sin_addr.s_addr;
	if (c->tls_wait)
		/* a client that closes without close_notify is an EOF */
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	snprintf(c->client.owner, sizeof(c->client.owner), "tcp:?");
}

/* A client's policy from its configuration entry. */
static void policy_of(const struct natd_conf *c, const struct conf_client *cl, struct mgr_policy *p)
{
	snprintf(p->name, sizeof(p->name), "%s", cl->user);
	p->admin = cl->admin;
	p->quota = cl->quota;
	for (unsigned k = 0; k < cl->nrealms; k++)
		for (unsigned r = 0; r < c->nrealms; r++)
			if (!strcmp(c->realms[r].name, cl->realms[k]))
				p->realms |= 1u << r;
	if (!cl->nrealms)
		p->realms = ~0u;
	memcpy(p->prefixes, cl->prefixes, sizeof(p->prefixes));
	p->nprefixes = cl->nprefixes;
}

/* Policies: root first (administrator), then control.clients, then the
 * TCP clients with their secrets (read now, while still privileged). On a
 * reload (old: the running server) a secret that can no longer be read
 * (privileges are dropped) is kept from old when the client's name and
 * file are unchanged. */
static int build_policies(struct ctl_server *s, const struct natd_conf *c,
			  const struct ctl_server *old)
{
	s->npols = 1 + c->nclients;
	s->pols = calloc(s->npols, sizeof(*s->pols));
	s->pol_uids = calloc(s->npols, sizeof(*s->pol_uids));
	s->tcp_clients = calloc(c->ntcp_clients + 1, sizeof(*s->tcp_clients));
	if (!s->pols || !s->pol_uids || !s->tcp_clients)
		return -1;
	snprintf(s->pols[0].name, sizeof(s->pols[0].name), "root");
	s->pols[0].admin = true;
	s->pols[0].realms = ~0u;
	s->pol_uids[0] = 0;
	for (unsigned i = 0; i < c->nclients; i++) {
		const struct conf_client *cl = &c->clients[i];
		struct passwd *pw = getpwnam(cl->user);

		if (!pw) {
			log_err("%s:%d: control.clients: no user named %s", c->path, cl->line, cl->user);
			return -1;
		}
		s->pol_uids[1 + i] = pw->pw_uid;
		policy_of(c, cl, &s->pols[1 + i]);
	}
	for (unsigned i = 0; i < c->ntcp_clients; i++) {
		const struct conf_client *cl = &c->tcp_clients[i];
		struct tcp_client *tc = &s->tcp_clients[i];
		struct stat sb;
		int err;

		if (stat(cl->secret_file, &sb) == 0 && (sb.st_mode & 077)) {
			log_err("%s:%d: control.tcp_clients: %s is readable by others (chmod 600 it)",
				c->path, cl->line, cl->secret_file);
			return -1;
		}
		snprintf(tc->secret_file, sizeof(tc->secret_file), "%s", cl->secret_file);
		if ((err = nc_secret_read(cl->secret_file, tc->secret, sizeof(tc->secret), &tc->slen)) < 0) {
			const struct tcp_client *otc = NULL;
			for (unsigned k = 0; old && k < old->ntcp; k++)
				if (!strcmp(old->tcp_clients[k].pol.name, cl->user) &&
				    !strcmp(old->tcp_clients[k].secret_file, cl->secret_file))
					otc = &old->tcp_clients[k];
			if (otc) {
				log_notice("%s:%d: control.tcp_clients: %s: %s; keeping the secret read before",
					   c->path, cl->line, cl->secret_file, nc_strerror(err));
				memcpy(tc->secret, otc->secret, sizeof(tc->secret));
				tc->slen = otc->slen;
				policy_of(c, cl, &tc->pol);
				s->ntcp++;
				continue;
			}
			log_err("%s:%d: control.tcp_clients: %s: %s", c->path, cl->line, cl->secret_file,
				nc_strerror(err));
			return -1;
		}
		policy_of(c, cl, &tc->pol);
		s->ntcp++;
	}
	memcpy(s->tcp_allow, c->ctl_tcp_allow, sizeof(s->tcp_allow));
	s->ntcp_allow = c->nctl_tcp_allow;
	return 0;
}

/* The limits that a reload may change. */
static void ctl_limits(struct ctl_server *s, const struct natd_conf *c)
{
	s->max_clients = c->ctl_max_clients;
	s->max_tcp = c->ctl_max_tcp_clients;
	s->max_per_source = c->ctl_max_tcp_per_source;
	s->max_rate = c->ctl_max_rate;
	s->max_output = c->ctl_max_output;
	s->hs_timeout.tv_sec = c->ctl_handshake_timeout;
	s->hs_timeout.tv_usec = 0;
}

int ctl_server_start(struct event_base *base, const struct natd_conf *c, struct mgr *m,
		     struct ctl_server **out)
{
	struct ctl_server *s = calloc(1, sizeof(*s));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char dir[sizeof(sun.sun_path)];
	mode_t mode = (mode_t)strtoul(c->ctl_mode, NULL, 8);

	if (!s)
		return -1;
	s->base = base;
	s->m = m;
	ctl_limits(s, c);
	if (!(s->reaper = event_new(base, -1, 0, on_reap, s)))
		goto fail;
	if (build_policies(s, c, NULL) < 0 || ctl_tls_new(c, &s->tls) < 0)
		goto fail;
	snprintf(s->path, sizeof(s->path), "%s", c->ctl_socket);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", c->ctl_socket);
	snprintf(dir, sizeof(dir), "%s", c->ctl_socket);
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST) {
		log_err("control socket directory %s: %s", dir, strerror(errno));
		goto fail;
	}
	unlink(sun.sun_path); /* a stale socket of an earlier run */
	s->lst = evconnlistener_new_bind(base, on_accept, s,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
					 (struct sockaddr *)&sun, sizeof(sun));
	if (!s->lst) {
		log_err("control socket %s: %s", c->ctl_socket, strerror(errno));
		goto fail;
	}
	if (chmod(sun.sun_path, mode) < 0) {
		log_err("control socket %s: chmod: %s", c->ctl_socket, strerror(errno));
		goto fail;
	}
	if (c->ctl_group[0]) {
		struct group *gr = getgrnam(c->ctl_group);
		if (!gr || chown(sun.sun_path, (uid_t)-1, gr->gr_gid) < 0) {
			log_err("control socket %s: group %s: %s", c->ctl_socket, c->ctl_group,
				gr ? strerror(errno) : "no such group");
			goto fail;
		}
	}
	if (c->ctl_tcp_listen[0]) {
		struct endpoint ep;
		struct sockaddr_in sin = {.sin_family = AF_INET};
		ep_parse(c->ctl_tcp_listen, &ep); /* checked by conf_load */
		sin.sin_addr.s_addr = ep.addr;
		sin.sin_port = ep.port;
		s->tcp_lst = evconnlistener_new_bind(base, on_accept_tcp, s,
						     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
							     LEV_OPT_REUSEABLE,
						     16, (struct sockaddr *)&sin, sizeof(sin));
		if (!s->tcp_lst) {
			log_err("control.tcp_listen %s: %s", c->ctl_tcp_listen, strerror(errno));
			goto fail;
		}
		if (s->tls)
			log_info("control over TLS on %s (%u clients, client certificate %s)",
				 c->ctl_tcp_listen, s->ntcp,
				 c->ctl_tls_require_cert ? "required" : "optional");
		else if (ctl_tls_plain_loopback(c))
			log_warn("control over plain TCP on %s (%u clients): loopback only; "
				 "set control.tls_cert to encrypt it",
				 c->ctl_tcp_listen, s->ntcp);
		else
			log_warn("control over plain TCP on %s (%u clients) although it is not a "
				 "loopback address (control.insecure_plain_tcp): requests and replies "
				 "cross the network in clear",
				 c->ctl_tcp_listen, s->ntcp);
	}
	mgr_set_event_cb(m, on_event, s);
	log_info("control socket %s (mode %s)", c->ctl_socket, c->ctl_mode);
	*out = s;
	return 0;
fail:
	ctl_server_free(s);
	return -1;
}

static void free_policies(struct ctl_server *s)
{
	if (s->tcp_clients)
		memset(s->tcp_clients, 0, (s->ntcp + 1) * sizeof(*s->tcp_clients)); /* secrets */
	free(s->tcp_clients);
	free(s->pols);
	free(s->pol_uids);
	s->tcp_clients = NULL;
	s->pols = NULL;
	s->pol_uids = NULL;
	s->ntcp = s->npols = 0;
}

int ctl_server_reload(struct ctl_server *s, const struct natd_conf *c, unsigned *dropped)
{
	struct ctl_server t = {.base = s->base, .m = s->m};
	struct conn *cn, *next;

	*dropped = 0;
	if (build_policies(&t, c, s) < 0) {
		free_policies(&t);
		return -1;
	}
	/* TLS: a new context for new connections (certificate, key and CA
	 * re-read); established sessions keep theirs. (Turning TLS on or off
	 * needs a restart: reconf refuses it before this.) */
	if (s->tls && c->ctl_tls_cert[0] && ctl_tls_new(c, &t.tls) < 0) {
		if (!ctl_tls_same_files(s->tls, c)) {
			free_policies(&t);
			return -1;
		}
		/* as for secrets: files natd can no longer read (its privileges
		 * are dropped) keep what was read before */
		log_notice("control.tls_cert: keeping the certificate, key and CA read before");
	}
	/* every connection to its policy in the new tables: local ones by uid,
	 * TCP ones by the name they said HELLO with */
	for (cn = s->conns; cn; cn = cn->next) {
		struct mgr_policy *pol = NULL;
		if (cn->tcp) {
			int k = -1;
			if (cn->tcp_client >= 0) {
				const char *name = s->tcp_clients[cn->tcp_client].pol.name;
				for (unsigned i = 0; i < t.ntcp; i++)
					if (!strcmp(t.tcp_clients[i].pol.name, name))
						k = (int)i;
			}
			cn->tcp_client = k;
			if (cn->pol && k >= 0)
				pol = &t.tcp_clients[k].pol;
			else if (!cn->pol)
				continue; /* not authenticated yet: AUTH looks it up */
		} else {
			for (unsigned i = 0; i < t.npols; i++)
				if (t.pol_uids[i] == cn->uid) {
					pol = &t.pols[i];
					break;
				}
		}
		cn->pol = pol;
		cn->client.pol = pol;
	}
	/* a client that said HELLO and is no longer listed is cut off; its
	 * bindings stay and end by lease */
	for (cn = s->conns; cn; cn = next) {
		next = cn->next;
		if (cn->hello && !cn->pol) {
			log_notice("control: %s is no longer a control client; disconnected",
				   cn->client.owner);
			conn_free(cn);
			(*dropped)++;
		}
	}
	free_policies(s);
	s->pols = t.pols;
	s->pol_uids = t.pol_uids;
	s->npols = t.npols;
	s->tcp_clients = t.tcp_clients;
	s->ntcp = t.ntcp;
	memcpy(s->tcp_allow, t.tcp_allow, sizeof(s->tcp_allow));
	s->ntcp_allow = t.ntcp_allow;
	if (t.tls) {
		ctl_tls_free(s->tls);
		s->tls = t.tls;
	}
	ctl_limits(s, c);
	return 0;
}

void ctl_server_free(struct ctl_server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_free(s->conns);
	if (s->reaper)
		event_free(s->reaper);
	if (s->lst)
		evconnlistener_free(s->lst);
	if (s->tcp_lst)
		evconnlistener_free(s->tcp_lst);
	free_policies(s);
	ctl_tls_free(s->tls);
	free(s);
}
