/* transport: SIP over UDP and TCP on libevent (interface in transport.h).
 *
 * Theory of operation. Every socket is non-blocking and driven by plain
 * libevent events (no bufferevents): a persistent read event per UDP socket
 * and per TCP listener, and per TCP connection a read event, a write event
 * (armed only while bytes wait or a connect is in progress) and an idle
 * timer.
 *
 * UDP: each wake-up reads up to UDP_BURST datagrams, UDP_RX_VLEN per
 * recvmmsg, into slots of max_message + 1 bytes with MSG_TRUNC, so a
 * datagram over max_message is seen at its real size and dropped
 * (oversize_dropped). Datagrams made only of CR/LF bytes are keep-alives
 * and ignored.
 *
 * UDP output (issue 15): with sip.udp_send_thread (and a second CPU),
 * tp_send() copies the datagram into the queue of a sender thread
 * (udp_tx.c) and returns; the thread sends with sendmmsg, so the kernel's
 * send path runs beside the loop. The thread is woken once at the end of
 * each receive burst (or every UDP_TX_KICK datagrams within one), and at
 * once for a datagram sent from anywhere else (timers, natd's answers),
 * only if it sleeps. A full queue fails tp_send() with -ENOBUFS
 * (udp_tx_queue_full, send_errors); a send the kernel refuses is counted
 * in send_errors by the thread, so tp_send() returns 0 for it (the
 * transaction layer then sees a lost datagram: retransmission, timeout).
 * tp_close() lets the thread send what is queued and joins it before the
 * sockets close. Without the thread, sendto() as before.
 *
 * TCP input is one flat buffer per connection (grown on demand up to
 * max_message, given back when empty), so a whole message is always
 * contiguous and can be handed to the callback in place. After each read,
 * the shared stream framer (framer.c, the same for TLS) is asked what
 * starts at the front: keep-alive CRLFs (a ping is answered "\r\n"), a
 * whole message (delivered), or not enough yet; the buffer is compacted
 * once at the end. A stream that cannot be framed (no blank line within
 * max_message bytes, a missing, repeated-different or malformed
 * Content-Length, a message over max_message) is closed:
 * tcp_framing_errors, plus oversize_dropped when it was the size.
 *
 * TLS connections (transport_tls.c) are these same connections with an
 * SSL on the socket: the same tables, caps, idle timers, input buffer and
 * framer; SSL_read/SSL_write replace recv/sendmsg (OpenSSL over our own
 * events rather than bufferevent_openssl, so that nothing about
 * connections exists twice). A TLS connection first runs its handshake
 * (messages sent meanwhile wait in its output like during a connect),
 * bounded by tls.handshake_timeout from the connection's birth; a
 * connection is reused only for the transport it was made with.
 *
 * Output is an evbuffer per connection flushed with sendmsg(MSG_NOSIGNAL)
 * (never SIGPIPE); tp_send() tries to write at once and arms the write event
 * only for what the kernel did not take. Over OUT_MAX queued, the
 * connection is closed. Outbound connections bind to the listen address
 * (port 0: an ephemeral port, since Linux will not let a socket bind the
 * port a listener holds) and connect without blocking; bytes queue until
 * the write event reports the outcome; on failure the queued messages are
 * dropped and counted (tcp_connect_failed, send_errors).
 *
 * Connections are found by id and by peer through two small chained hash
 * tables (by peer: SipHash under a random key, common/siphash.h). Ids come
 * from a 64-bit counter and are never reused.
 *
 * Per-source cap (sip.tcp_max_per_source, issue 13): a third table of the
 * same size (SipHash of the IPv4 address alone) holds one counter per
 * source address with accepted connections open, TCP and TLS alike: taken
 * in accept_cb before the connection exists (so a refused one costs no
 * struct, no event and no TLS handshake), given back in conn_close, freed
 * at zero; at most one entry per open connection. Outbound connections
 * are not counted. A refusal is counted (tcp_refused_per_source, also in
 * tcp_refused) and logged once per address per TP_LOG_EVERY_S (the
 * rl_allow idiom of transport_tls.c's log_refusal).
 *
 * Re-entrancy: the receive callback may call tp_send() on any connection,
 * which may close it (write error, overflow), and may even call tp_close().
 * A connection being delivered from is marked busy: closing it releases its
 * socket, events and hash entries at once but leaves the struct (and the
 * input buffer the callback is reading) to the read handler, which frees it
 * when the callback returns. Likewise tp_close() inside a callback tears
 * everything down but leaves the struct transport to be freed once the
 * outermost delivery returns.
 *
 * Idle timers are not re-armed per message: activity only stamps c->last
 * (monotonic ms); when the timer fires early it re-arms for the remainder.
 */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "framer.h"
#include "log.h"
#include "ratelimit.h"
#include "siphash.h"
#include "transport_tls.h"
#include "udp_tx.h"

#define UDP_BURST 64          /* datagrams read per wake-up (one recvmmsg) */
#define UDP_RX_VLEN 16        /* datagrams per recvmmsg */
#define UDP_TX_RING (4u << 20) /* bytes the sender thread's queue holds (udp_tx.h) */
#define UDP_TX_KICK 32        /* queued datagrams that wake the sender mid-burst */
#define UDP_TX_DRAIN_MS 2000  /* tp_close waits at most this for queued datagrams */
#define UDP_RCVBUF (4 << 20)  /* receive buffer asked for: ~2,000 datagrams of
				 slack when the loop pauses (the default 208 kB
				 holds ~90 SIP messages: 8 ms at 1,000 calls/s) */
#define ACCEPT_BURST 32       /* connections accepted per wake-up */
#define ACCEPT_PAUSE_S 1      /* listeners rest this long after EMFILE & co */
#define LISTEN_BACKLOG 128
#define OUT_MAX (1u << 20)    /* bytes queued on one connection */
#define INBUF_MIN 4096        /* first input buffer size */
#define IOV_MAX_FLUSH 16
#define MAX_MESSAGE_DEFAULT 65535
#define MAX_CONNS_DEFAULT 1024
#define TLS_RECORD 16384      /* plaintext bytes per SSL_write */
#define TLS_READ_BURST 32     /* SSL_reads per wake-up */
#define TP_LOG_EVERY_S 60     /* per-source refusals: one log line per address */

struct conn {
	struct transport *tp;
	uint64_t id;
	int fd;
	int listen;                 /* index into conf->listen[] */
	struct sockaddr_in peer;
	struct event *rev, *wev, *tmo;
	struct evbuffer *out;
	char *in;                   /* input, in[0] is the start of the next message */
	size_t in_len, in_cap;
	struct framer fr;           /* framing state, relative to in[0] */
	SSL *ssl;                   /* TLS (transport_tls.h), else NULL */
	bool hs, outbound;          /* TLS handshake in progress; we connected */
	uint64_t born;              /* monotonic ms: the handshake deadline counts from here */
	uint16_t alias;             /* RFC 5923: also the peer's address at this port (network order) */
	uint64_t last;              /* last activity, monotonic ms */
	unsigned pending;           /* messages queued while connecting */
	bool connecting, closed, busy, wev_on;
	bool per_src;               /* accepted: holds a slot of its source's counter */
	struct conn *prev, *next;   /* every open connection */
	struct conn *id_next, *peer_next;
};

/* Accepted connections open from one source address. */
struct src_count {
	uint32_t addr;              /* network byte order */
	unsigned n;
	struct src_count *next;
};

struct tp_sock {
	struct transport *tp;
	int idx;
	int fd;
	bool tls;                   /* a TLS listener */
	struct event *ev;
};

struct transport {
	struct event_base *base;
	const struct sp_conf *conf;
	tp_recv_fn fn;
	void *arg;
	size_t max_message;
	unsigned max_conns;
	uint64_t idle_ms;           /* 0: no idle timeout */
	struct tp_sock udp[SPC_MAX_LISTEN], lsn[SPC_MAX_LISTEN], tlsn[SPC_MAX_LISTEN];
	struct tpt *tls;            /* TLS contexts; NULL when nothing uses TLS */
	unsigned naliases;          /* connections with an alias (tp_conn_alias) */
	struct event *lsn_pause;
	struct conn *conns;
	struct conn **by_id, **by_peer;
	size_t hmask;
	struct siphash_key key;     /* by_peer, by_src: peers choose their address and port */
	struct src_count **by_src;  /* per-source counters, same hmask */
	unsigned max_per_src;       /* 0: no cap */
	struct ratelimit *log_cap;  /* per-source refusals logged once per TP_LOG_EVERY_S */
	uint64_t next_id;
	struct tp_stats st;
	unsigned depth;             /* deliveries in progress */
	bool closing;
	char *udp_buf;              /* UDP_BURST slots of max_message + 1 bytes */
	size_t udp_slot;
	struct udp_tx *utx;         /* the sender thread (sip.udp_send_thread), else NULL */
	unsigned utx_unkicked;      /* queued since its last kick */
	bool utx_burst;             /* in udp_read_cb: kick once at its end */
};

static struct timeval ms_tv(uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	return tv;
}

/* --- lookup ------------------------------------------------------------ */

static size_t id_slot(const struct transport *tp, uint64_t id)
{
	return (size_t)(id & tp->hmask);
}

static size_t peer_slot(const struct transport *tp, const struct sockaddr_in *a)
{
	uint8_t b[6];

	memcpy(b, &a->sin_addr.s_addr, 4);
	memcpy(b + 4, &a->sin_port, 2);
	return (size_t)siphash24(&tp->key, b, sizeof(b)) & tp->hmask;
}

static size_t src_slot(const struct transport *tp, uint32_t addr)
{
	return (size_t)siphash24(&tp->key, &addr, sizeof(addr)) & tp->hmask;
}

static struct src_count **src_find(struct transport *tp, uint32_t addr)
{
	struct src_count **pp;

	for (pp = &tp->by_src[src_slot(tp, addr)]; *pp; pp = &(*pp)->next)
		if ((*pp)->addr == addr)
			break;
	return pp;
}

/* Take a slot of addr's counter: false when it is full (or out of memory). */
static bool src_take(struct transport *tp, uint32_t addr)
{
	struct src_count **pp = src_find(tp, addr), *s = *pp;

	if (s) {
		if (tp->max_per_src && s->n >= tp->max_per_src)
			return false;
		s->n++;
		return true;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return false;
	s->addr = addr;
	s->n = 1;
	*pp = s; /* pp is the chain's NULL tail */
	return true;
}

static void src_put(struct transport *tp, uint32_t addr)
{
	struct src_count **pp = src_find(tp, addr), *s = *pp;

	if (!s)
		return;
	if (--s->n == 0) {
		*pp = s->next;
		free(s);
	}
}

static bool same_peer(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

static struct conn *find_id(const struct transport *tp, uint64_t id)
{
	struct conn *c;

	for (c = tp->by_id[id_slot(tp, id)]; c; c = c->id_next)
		if (c->id == id)
			return c;
	return NULL;
}

static struct conn *find_peer(const struct transport *tp, const struct sockaddr_in *a, bool tls)
{
	struct conn *c;

	for (c = tp->by_peer[peer_slot(tp, a)]; c; c = c->peer_next)
		if (same_peer(&c->peer, a) && (c->ssl != NULL) == tls)
			return c;
	/* RFC 5923 aliases: few (peer proxies), looked through only when some exist */
	for (c = tp->naliases ? tp->conns : NULL; c; c = c->next)
		if (c->alias == a->sin_port && c->peer.sin_addr.s_addr == a->sin_addr.s_addr &&
		    (c->ssl != NULL) == tls && !c->hs)
			return c;
	return NULL;
}

static void conn_link(struct transport *tp, struct conn *c)
{
	size_t i = id_slot(tp, c->id), p = peer_slot(tp, &c->peer);

	c->id_next = tp->by_id[i];
	tp->by_id[i] = c;
	c->peer_next = tp->by_peer[p];
	tp->by_peer[p] = c;
	c->prev = NULL;
	c->next = tp->conns;
	if (tp->conns)
		tp->conns->prev = c;
	tp->conns = c;
}

static void conn_unlink(struct transport *tp, struct conn *c)
{
	struct conn **pp;

	for (pp = &tp->by_id[id_slot(tp, c->id)]; *pp; pp = &(*pp)->id_next)
		if (*pp == c) {
			*pp = c->id_next;
			break;
		}
	for (pp = &tp->by_peer[peer_slot(tp, &c->peer)]; *pp; pp = &(*pp)->peer_next)
		if (*pp == c) {
			*pp = c->peer_next;
			break;
		}
	if (c->prev)
		c->prev->next = c->next;
	else
		tp->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
}

/* --- connections --------------------------------------------------------- */

static void conn_free(struct conn *c)
{
	SSL_free(c->ssl);
	free(c->in);
	free(c);
}

/* Release everything but the struct and its input if it is busy. */
static void conn_close(struct conn *c)
{
	struct transport *tp = c->tp;

	if (c->closed)
		return;
	c->closed = true;
	conn_unlink(tp, c);
	if (c->alias)
		tp->naliases--;
	if (c->per_src)
		src_put(tp, c->peer.sin_addr.s_addr);
	tp->st.tcp_open--;
	tp->st.tcp_closed++;
	if (c->ssl) {
		tp->st.tls_open--;
		if (!c->hs)
			SSL_shutdown(c->ssl); /* close_notify, once, without waiting */
	}
	log_debug("transport: tcp conn %llu closed", (unsigned long long)c->id);
	if (c->rev)
		event_free(c->rev);
	if (c->wev)
		event_free(c->wev);
	if (c->tmo)
		event_free(c->tmo);
	if (c->out)
		evbuffer_free(c->out);
	c->rev = c->wev = c->tmo = NULL;
	c->out = NULL;
	close(c->fd);
	c->fd = -1;
	if (!c->busy)
		conn_free(c);
}

static void connect_failed(struct conn *c)
{
	c->tp->st.tcp_connect_failed++;
	c->tp->st.send_errors += c->pending;
	c->pending = 0;
	conn_close(c);
}

static void wev_set(struct conn *c, bool on)
{
	if (on == c->wev_on)
		return;
	if (on)
		event_add(c->wev, NULL);
	else
		event_del(c->wev);
	c->wev_on = on;
}

/* TLS: write what OpenSSL takes, a record at a time. */
static int tls_flush(struct conn *c)
{
	size_t len;

	while ((len = evbuffer_get_length(c->out)) > 0) {
		size_t chunk = len < TLS_RECORD ? len : TLS_RECORD;
		unsigned char *p = evbuffer_pullup(c->out, (ev_ssize_t)chunk);
		ssize_t w = p ? tpt_write(c->ssl, p, chunk) : TPT_FAIL;

		if (w > 0) {
			evbuffer_drain(c->out, (size_t)w);
			c->last = clock_mono_ms();
			continue;
		}
		if (w == TPT_WANT_READ) { /* the read path flushes again */
			wev_set(c, false);
			return 0;
		}
		if (w == TPT_WANT_WRITE)
			break;
		log_debug("transport: tls conn %llu: write failed", (unsigned long long)c->id);
		conn_close(c);
		return -EPIPE;
	}
	wev_set(c, evbuffer_get_length(c->out) > 0);
	return 0;
}

/* Write what the kernel takes. 0, or a negative errno with c closed. */
static int conn_flush(struct conn *c)
{
	if (c->ssl)
		return tls_flush(c);
	while (evbuffer_get_length(c->out) > 0) {
		struct evbuffer_iovec v[IOV_MAX_FLUSH];
		struct iovec iov[IOV_MAX_FLUSH];
		struct msghdr mh;
		ssize_t w;
		int n, i;

		n = evbuffer_peek(c->out, -1, NULL, v, IOV_MAX_FLUSH);
		if (n > IOV_MAX_FLUSH)
			n = IOV_MAX_FLUSH;
		for (i = 0; i < n; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len;
		}
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)n;
		w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			int err = errno;

			if (err == EINTR)
				continue;
			if (err == EAGAIN || err == EWOULDBLOCK)
				break;
			log_debug("transport: tcp conn %llu: send: %s", (unsigned long long)c->id,
				  strerror(err));
			conn_close(c);
			return -err;
		}
		evbuffer_drain(c->out, (size_t)w);
		c->last = clock_mono_ms();
	}
	wev_set(c, evbuffer_get_length(c->out) > 0);
	return 0;
}

static void tcp_read_cb(evutil_socket_t fd, short what, void *arg);
static void tcp_write_cb(evutil_socket_t fd, short what, void *arg);
static void tls_io(struct conn *c);
static void idle_cb(evutil_socket_t fd, short what, void *arg);

static struct conn *conn_new(struct transport *tp, int fd, int li, const struct sockaddr_in *peer,
			     bool connecting)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->tp = tp;
	c->fd = fd;
	c->listen = li;
	c->peer = *peer;
	c->connecting = connecting;
	c->last = c->born = clock_mono_ms();
	c->rev = event_new(tp->base, fd, EV_READ | EV_PERSIST, tcp_read_cb, c);
	c->wev = event_new(tp->base, fd, EV_WRITE | EV_PERSIST, tcp_write_cb, c);
	c->out = evbuffer_new();
	if (tp->idle_ms || tp->tls) /* TLS: the handshake deadline */
		c->tmo = evtimer_new(tp->base, idle_cb, c);
	if (!c->rev || !c->wev || !c->out || ((tp->idle_ms || tp->tls) && !c->tmo)) {
		if (c->rev)
			event_free(c->rev);
		if (c->wev)
			event_free(c->wev);
		if (c->tmo)
			event_free(c->tmo);
		if (c->out)
			evbuffer_free(c->out);
		free(c);
		return NULL;
	}
	c->id = tp->next_id++;
	conn_link(tp, c);
	tp->st.tcp_open++;
	if (connecting)
		wev_set(c, true);
	else
		event_add(c->rev, NULL);
	if (c->tmo && tp->idle_ms) {
		struct timeval tv = ms_tv(tp->idle_ms);

		event_add(c->tmo, &tv);
	}
	return c;
}

static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct transport *tp = c->tp;
	uint64_t now = clock_mono_ms(), idle = now - c->last;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (c->hs) { /* a handshake has tls.handshake_timeout from the connection's birth */
		uint64_t age = now - c->born, lim = tpt_handshake_ms(tp->tls);

		if (age >= lim) {
			tpt_timeout(tp->tls);
			tp->st.send_errors += c->pending;
			c->pending = 0;
			conn_close(c);
			return;
		}
		tv = ms_tv(!tp->idle_ms || lim - age < tp->idle_ms ? lim - age : tp->idle_ms);
		event_add(c->tmo, &tv);
		return;
	}
	if (!tp->idle_ms)
		return; /* only the handshake was timed */
	if (idle >= tp->idle_ms) {
		if (c->connecting) {
			connect_failed(c);
		} else {
			tp->st.tcp_idle_closed++;
			conn_close(c);
		}
		return;
	}
	tv = ms_tv(tp->idle_ms - idle);
	event_add(c->tmo, &tv);
}

static void tcp_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct transport *tp = c->tp;

	(void)what;
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err == EINPROGRESS || err == EALREADY)
			return;
		if (err) {
			log_debug("transport: tcp conn %llu: connect: %s", (unsigned long long)c->id,
				  strerror(err));
			connect_failed(c);
			return;
		}
		c->connecting = false;
		c->last = clock_mono_ms();
		tp->st.tcp_connected++;
		if (!c->ssl) { /* TLS: counted once the handshake is done */
			tp->st.tcp_tx += c->pending;
			c->pending = 0;
		}
		event_add(c->rev, NULL);
	}
	if (c->ssl)
		tls_io(c);
	else
		conn_flush(c);
}

/* Append to c's output and write what can be written. 0, or a negative
 * errno with c closed. */
static int conn_queue(struct conn *c, const char *buf, size_t len)
{
	struct transport *tp = c->tp;

	if (evbuffer_get_length(c->out) + len > OUT_MAX) {
		tp->st.tcp_overflow_closed++;
		tp->st.send_errors += c->pending;
		c->pending = 0;
		conn_close(c);
		return -ENOBUFS;
	}
	if (evbuffer_add(c->out, buf, len) < 0)
		return -ENOMEM;
	if (c->connecting || c->hs)
		return 0;
	return conn_flush(c);
}

/* --- stream framing (TCP and TLS) ------------------------------------------ */

static void framing_error(struct conn *c, bool oversize)
{
	c->tp->st.tcp_framing_errors++;
	if (oversize)
		c->tp->st.oversize_dropped++;
	log_debug("transport: %s conn %llu: framing error%s", c->ssl ? "tls" : "tcp",
		  (unsigned long long)c->id, oversize ? " (oversize)" : "");
	conn_close(c);
}

static void tp_free(struct transport *tp)
{
	free(tp->by_id);
	free(tp->by_peer);
	free(tp->by_src); /* empty: every connection was closed first */
	rl_free(tp->log_cap);
	free(tp->udp_buf);
	free(tp);
}

/* Deliver one message. false: the transport was closed (and maybe freed)
 * by the callback; touch nothing. */
static bool deliver(struct transport *tp, const struct tp_addr *a, const char *buf, size_t len)
{
	tp->depth++;
	tp->fn(tp->arg, a, buf, len);
	tp->depth--;
	if (tp->closing) {
		if (tp->depth == 0)
			tp_free(tp);
		return false;
	}
	return true;
}

/* Frame and deliver what c->in holds (framer.h). c is busy (the caller
 * frees it if it gets closed). */
static void stream_frame(struct conn *c)
{
	struct transport *tp = c->tp;
	size_t off = 0, used;

	for (;;) {
		enum framer_ev ev = framer_next(&c->fr, c->in + off, c->in_len - off, tp->max_message, &used);

		if (ev == FRAMER_MORE)
			break;
		if (ev == FRAMER_BAD || ev == FRAMER_HUGE) {
			framing_error(c, ev == FRAMER_HUGE);
			return;
		}
		if (ev == FRAMER_MSG) {
			struct tp_addr a = {.tcp = true, .tls = c->ssl != NULL, .peer = c->peer,
					    .listen = c->listen, .conn = c->id};

			if (c->ssl)
				tp->st.tls_rx++;
			else
				tp->st.tcp_rx++;
			if (!deliver(tp, &a, c->in + off, used) || c->closed)
				return;
		}
		off += used;
		if (ev == FRAMER_PING && conn_queue(c, "\r\n", 2) < 0)
			return;
	}
	if (off) { /* the framer's state is relative to the message start */
		c->in_len -= off;
		memmove(c->in, c->in + off, c->in_len);
	}
	if (c->in_len == 0 && c->in_cap > INBUF_MIN) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

/* Room to read into c->in; false with c closed. */
static bool inbuf_room(struct conn *c)
{
	struct transport *tp = c->tp;
	size_t cap;
	char *p;

	if (c->in_len < c->in_cap)
		return true;
	cap = c->in_cap ? c->in_cap * 2 : INBUF_MIN;
	if (cap < c->fr.need)
		cap = c->fr.need;
	if (cap > tp->max_message)
		cap = tp->max_message;
	if (cap <= c->in_cap) { /* cannot happen: the framer refuses a full buffer */
		framing_error(c, true);
		return false;
	}
	p = realloc(c->in, cap);
	if (!p) {
		conn_close(c);
		return false;
	}
	c->in = p;
	c->in_cap = cap;
	return true;
}

/* n new bytes in c->in: frame them. false if c is gone (freed). */
static bool stream_input(struct conn *c, size_t n)
{
	c->in_len += n;
	c->last = clock_mono_ms();
	c->busy = true;
	stream_frame(c);
	c->busy = false;
	if (c->closed) {
		conn_free(c);
		return false;
	}
	return true;
}

static void tcp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	ssize_t n;

	(void)what;
	if (c->ssl) {
		tls_io(c);
		return;
	}
	if (!inbuf_room(c))
		return;
	n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		log_debug("transport: tcp conn %llu: %s", (unsigned long long)c->id,
			  n ? strerror(errno) : "eof");
		conn_close(c);
		return;
	}
	stream_input(c, (size_t)n);
}

/* --- TLS ------------------------------------------------------------------- */

/* Give c an SSL (server: accepted; else we connect) and start its
 * handshake clock. 0, or -1 (c untouched: the caller closes it). */
static int tls_attach(struct conn *c, bool server)
{
	struct transport *tp = c->tp;
	uint64_t lim;

	if (!tp->tls || !(c->ssl = tpt_ssl(tp->tls, c->fd, server, &c->peer)))
		return -1;
	c->hs = true;
	c->outbound = !server;
	tp->st.tls_open++;
	lim = tpt_handshake_ms(tp->tls);
	if (c->tmo && (!tp->idle_ms || lim < tp->idle_ms)) {
		struct timeval tv = ms_tv(lim);

		event_add(c->tmo, &tv);
	}
	return 0;
}

/* A TLS connection's socket is ready (either way): handshake, then flush
 * what waits and read what came. */
static void tls_io(struct conn *c)
{
	struct transport *tp = c->tp;
	int i;

	if (c->connecting)
		return;
	if (c->hs) {
		int rc = tpt_handshake(tp->tls, c->ssl, !c->outbound, &c->peer);

		if (rc == TPT_WANT_READ || rc == TPT_WANT_WRITE) {
			wev_set(c, rc == TPT_WANT_WRITE);
			return;
		}
		if (rc != TPT_DONE) {
			tp->st.send_errors += c->pending;
			c->pending = 0;
			conn_close(c);
			return;
		}
		c->hs = false;
		c->last = clock_mono_ms();
		tp->st.tls_tx += c->pending;
		c->pending = 0;
		log_debug("transport: tls conn %llu: %s", (unsigned long long)c->id, SSL_get_version(c->ssl));
	}
	if (evbuffer_get_length(c->out) > 0 && conn_flush(c) < 0)
		return;
	for (i = 0; i < TLS_READ_BURST; i++) {
		ssize_t n;

		if (!inbuf_room(c))
			return;
		n = tpt_read(c->ssl, c->in + c->in_len, c->in_cap - c->in_len);
		if (n == TPT_WANT_READ)
			return;
		if (n == TPT_WANT_WRITE) {
			wev_set(c, true);
			return;
		}
		if (n <= 0) {
			log_debug("transport: tls conn %llu: %s", (unsigned long long)c->id,
				  n == TPT_EOF ? "close_notify" : "eof or error");
			conn_close(c);
			return;
		}
		if (!stream_input(c, (size_t)n))
			return;
	}
	/* bytes OpenSSL already holds will not wake the socket: come back */
	if (SSL_pending(c->ssl) > 0)
		event_active(c->rev, EV_READ, 0);
}

/* --- listeners and UDP ----------------------------------------------------- */

static void lsn_pause_cb(evutil_socket_t fd, short what, void *arg)
{
	struct transport *tp = arg;
	unsigned i;

	(void)fd;
	(void)what;
	for (i = 0; i < SPC_MAX_LISTEN; i++) {
		if (tp->lsn[i].ev)
			event_add(tp->lsn[i].ev, NULL);
		if (tp->tlsn[i].ev)
			event_add(tp->tlsn[i].ev, NULL);
	}
}

/* Close a connection over sip.tcp_max_per_source before anything is spent on it. */
static void refuse_per_src(struct transport *tp, const struct sockaddr_in *peer, int fd)
{
	char ip[INET_ADDRSTRLEN];

	close(fd);
	tp->st.tcp_refused++;
	tp->st.tcp_refused_per_source++;
	if (!rl_once_per(tp->log_cap, peer->sin_addr.s_addr, TP_LOG_EVERY_S))
		return;
	log_warn("transport: connection from %s:%u refused: %u open from this address "
		 "(sip.tcp_max_per_source; further ones are counted, not logged, for %ds)",
		 inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof(ip)), ntohs(peer->sin_port),
		 tp->max_per_src, TP_LOG_EVERY_S);
}

static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct tp_sock *s = arg;
	struct transport *tp = s->tp;
	struct conn *c;
	int i, one = 1;

	(void)what;
	for (i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			int err = errno;
			unsigned j;
			struct timeval tv = {ACCEPT_PAUSE_S, 0};

			if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == EPERM)
				continue;
			if (err == EAGAIN || err == EWOULDBLOCK)
				break;
			log_warn("transport: accept: %s; pausing listeners", strerror(err));
			for (j = 0; j < SPC_MAX_LISTEN; j++) {
				if (tp->lsn[j].ev)
					event_del(tp->lsn[j].ev);
				if (tp->tlsn[j].ev)
					event_del(tp->tlsn[j].ev);
			}
			event_add(tp->lsn_pause, &tv);
			break;
		}
		if (tp->st.tcp_open >= tp->max_conns || peer.sin_family != AF_INET) {
			tp->st.tcp_refused++;
			close(fd);
			continue;
		}
		if (tp->max_per_src && !src_take(tp, peer.sin_addr.s_addr)) {
			refuse_per_src(tp, &peer, fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (!(c = conn_new(tp, fd, s->idx, &peer, false))) {
			if (tp->max_per_src)
				src_put(tp, peer.sin_addr.s_addr);
			tp->st.tcp_refused++;
			close(fd);
			continue;
		}
		c->per_src = tp->max_per_src != 0;
		if (s->tls && tls_attach(c, true) < 0) {
			tp->st.tcp_refused++;
			conn_close(c);
			continue;
		}
		tp->st.tcp_accepted++;
	}
}

static bool only_crlf(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

/* Wake the sender thread for what this burst queued (udp_tx.h). */
static void utx_kick(struct transport *tp)
{
	if (tp->utx && tp->utx_unkicked) {
		tp->utx_unkicked = 0;
		udp_tx_kick(tp->utx);
	}
}

/* Up to UDP_BURST datagrams, UDP_RX_VLEN per recvmmsg, each in its own
 * slot of max_message + 1 bytes with MSG_TRUNC (msg_len is then the real
 * size: one over max_message is dropped). What the callbacks send meanwhile
 * is handed to the sender thread once, at the end of the burst. */
static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tp_sock *s = arg;
	struct transport *tp = s->tp;
	struct mmsghdr mv[UDP_RX_VLEN];
	struct iovec iov[UDP_RX_VLEN];
	struct tp_addr a[UDP_RX_VLEN];
	unsigned done = 0;
	int i, n;

	(void)what;
	tp->utx_burst = true;
	while (done < UDP_BURST) {
		for (i = 0; i < UDP_RX_VLEN; i++) {
			a[i] = (struct tp_addr){.tcp = false, .listen = s->idx};
			iov[i] = (struct iovec){.iov_base = tp->udp_buf + (size_t)i * tp->udp_slot,
						.iov_len = tp->udp_slot};
			mv[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &a[i].peer,
							     .msg_namelen = sizeof(a[i].peer),
							     .msg_iov = &iov[i], .msg_iovlen = 1}};
		}
		n = recvmmsg(fd, mv, UDP_RX_VLEN, MSG_TRUNC | MSG_DONTWAIT, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EAGAIN, or a stray error: the socket stays */
		for (i = 0; i < n; i++) {
			const char *p = iov[i].iov_base;
			size_t len = mv[i].msg_len;

			if (len > tp->max_message) {
				tp->st.oversize_dropped++;
				continue;
			}
			if (only_crlf(p, len) || a[i].peer.sin_family != AF_INET ||
			    mv[i].msg_hdr.msg_namelen != sizeof(a[i].peer))
				continue;
			tp->st.udp_rx++;
			if (!deliver(tp, &a[i], p, len))
				return; /* tp is gone */
		}
		done += (unsigned)n;
		if (n < UDP_RX_VLEN)
			break;
	}
	tp->utx_burst = false;
	utx_kick(tp);
}

/* --- public ---------------------------------------------------------------- */

static void sock_close(struct tp_sock *s)
{
	if (s->ev)
		event_free(s->ev);
	if (s->fd >= 0)
		close(s->fd);
	s->ev = NULL;
	s->fd = -1;
}

/* A large receive buffer: SO_RCVBUFFORCE while privileged (start-up runs
 * before the privilege drop), else SO_RCVBUF up to net.core.rmem_max. A
 * smaller buffer is no reason to fail: logged at debug level. */
static void udp_rcvbuf(int fd)
{
	int want = UDP_RCVBUF, got = 0;
	socklen_t gl = sizeof(got);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 && got < want)
		log_debug("transport: UDP receive buffer %d bytes (asked %d; net.core.rmem_max)", got, want);
}

static int sock_open(struct transport *tp, int idx, bool tcp, bool tls)
{
	const struct spc_listen *l = &tp->conf->listen[idx];
	struct tp_sock *s = tls ? &tp->tlsn[idx] : tcp ? &tp->lsn[idx] : &tp->udp[idx];
	struct sockaddr_in sa = l->addr;
	const char *what = "socket";
	char host[INET_ADDRSTRLEN];
	int one = 1, err;

	s->fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		goto fail;
	/* TCP only: on Linux, SO_REUSEADDR on UDP would let a second process
	 * bind the same port and take the datagrams; UDP has no TIME_WAIT. */
	what = "setsockopt(SO_REUSEADDR)";
	if (tcp && setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (!tcp)
		udp_rcvbuf(s->fd);
	what = "bind";
	if (tls)
		sa.sin_port = htons(l->tls_port);
	if (bind(s->fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	what = "listen";
	if (tcp && listen(s->fd, LISTEN_BACKLOG) < 0)
		goto fail;
	what = "event_new";
	s->ev = event_new(tp->base, s->fd, EV_READ | EV_PERSIST, tcp ? accept_cb : udp_read_cb, s);
	if (!s->ev || event_add(s->ev, NULL) < 0) {
		errno = ENOMEM;
		goto fail;
	}
	return 0;
fail:
	err = errno ? errno : EINVAL;
	if (!inet_ntop(AF_INET, &l->addr.sin_addr, host, sizeof(host)))
		strcpy(host, "?");
	log_err("transport: %s %s:%u: %s: %s", tls ? "tls" : tcp ? "tcp" : "udp", host,
		(unsigned)ntohs(sa.sin_port), what, strerror(err));
	sock_close(s);
	return -err;
}

/* sip.udp_send_thread, with a second CPU and something to send UDP from. */
static bool udp_thread_wanted(const struct sp_conf *conf)
{
	unsigned i;

	if (!conf->udp_send_thread || sysconf(_SC_NPROCESSORS_ONLN) < 2)
		return false;
	for (i = 0; i < conf->nlisten; i++)
		if (conf->listen[i].udp)
			return true;
	return false;
}

int tp_open(struct event_base *base, const struct sp_conf *conf, tp_recv_fn fn, void *arg,
	    struct transport **tpp)
{
	struct transport *tp;
	size_t nb = 64;
	unsigned i;
	int rc = -ENOMEM;

	*tpp = NULL;
	if (!base || !conf || !fn || conf->nlisten > SPC_MAX_LISTEN)
		return -EINVAL;
	tp = calloc(1, sizeof(*tp));
	if (!tp)
		return -ENOMEM;
	tp->base = base;
	tp->conf = conf;
	tp->fn = fn;
	tp->arg = arg;
	tp->max_message = conf->max_message && conf->max_message <= MAX_MESSAGE_DEFAULT
				  ? conf->max_message
				  : MAX_MESSAGE_DEFAULT;
	tp->max_conns = conf->tcp_max_connections ? conf->tcp_max_connections : MAX_CONNS_DEFAULT;
	tp->max_per_src = conf->tcp_max_per_source;
	tp->idle_ms = (uint64_t)conf->tcp_idle_timeout * 1000;
	tp->next_id = 1;
	for (i = 0; i < SPC_MAX_LISTEN; i++) {
		tp->udp[i] = (struct tp_sock){.tp = tp, .idx = (int)i, .fd = -1};
		tp->lsn[i] = (struct tp_sock){.tp = tp, .idx = (int)i, .fd = -1};
		tp->tlsn[i] = (struct tp_sock){.tp = tp, .idx = (int)i, .fd = -1, .tls = true};
	}
	while (nb < tp->max_conns && nb < 65536)
		nb *= 2;
	tp->hmask = nb - 1;
	siphash_key_random(&tp->key);
	tp->by_id = calloc(nb, sizeof(*tp->by_id));
	tp->by_peer = calloc(nb, sizeof(*tp->by_peer));
	tp->by_src = calloc(nb, sizeof(*tp->by_src));
	tp->log_cap = rl_new(1, 1);
	tp->udp_slot = tp->max_message + 1;
	tp->udp_buf = malloc(UDP_RX_VLEN * tp->udp_slot);
	tp->lsn_pause = evtimer_new(base, lsn_pause_cb, tp);
	if (!tp->by_id || !tp->by_peer || !tp->by_src || !tp->log_cap || !tp->udp_buf ||
	    !tp->lsn_pause)
		goto fail;
	{
		char err[512];

		if (tpt_new(conf, &tp->tls, err, sizeof(err)) < 0) {
			log_err("%s", err);
			rc = -EINVAL;
			goto fail;
		}
	}
	for (i = 0; i < conf->nlisten; i++) {
		if (conf->listen[i].udp && (rc = sock_open(tp, (int)i, false, false)) < 0)
			goto fail;
		if (conf->listen[i].tcp && (rc = sock_open(tp, (int)i, true, false)) < 0)
			goto fail;
		if (conf->listen[i].tls && (rc = sock_open(tp, (int)i, true, true)) < 0)
			goto fail;
	}
	if (udp_thread_wanted(conf) && (rc = udp_tx_new(UDP_TX_RING, &tp->utx)) < 0) {
		log_err("transport: UDP sender thread: %s", strerror(-rc));
		goto fail;
	}
	*tpp = tp;
	return 0;
fail:
	if (rc == -ENOMEM)
		log_err("transport: out of memory");
	tp_close(tp);
	return rc;
}

void tp_close(struct transport *tp)
{
	unsigned i;

	if (!tp || tp->closing)
		return;
	if (tp->utx && udp_tx_drain(tp->utx, UDP_TX_DRAIN_MS) < 0)
		log_warn("transport: UDP datagrams still queued after %d ms; sending them before closing",
			 UDP_TX_DRAIN_MS);
	udp_tx_free(tp->utx); /* sends the rest, joins: before the sockets close */
	tp->utx = NULL;
	while (tp->conns)
		conn_close(tp->conns);
	for (i = 0; i < SPC_MAX_LISTEN; i++) {
		sock_close(&tp->udp[i]);
		sock_close(&tp->lsn[i]);
		sock_close(&tp->tlsn[i]);
	}
	tpt_free(tp->tls);
	tp->tls = NULL;
	if (tp->lsn_pause)
		event_free(tp->lsn_pause);
	tp->lsn_pause = NULL;
	tp->closing = true;
	if (tp->depth == 0)
		tp_free(tp); /* else inside a callback: deliver() frees */
}

/* Open an outbound connection from listen entry li to peer. */
static int conn_connect(struct transport *tp, int li, const struct sockaddr_in *peer, bool tls,
			struct conn **cp)
{
	struct sockaddr_in local = tp->conf->listen[li].addr;
	struct conn *c;
	int fd, one = 1, err;
	bool connecting = false;

	if (tp->st.tcp_open >= tp->max_conns)
		return -EMFILE;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	local.sin_port = 0;
	if (bind(fd, (const struct sockaddr *)&local, sizeof(local)) < 0)
		goto fail;
	if (connect(fd, (const struct sockaddr *)peer, sizeof(*peer)) < 0) {
		if (errno != EINPROGRESS)
			goto fail;
		connecting = true;
	}
	c = conn_new(tp, fd, li, peer, connecting);
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	if (tls) {
		if (tls_attach(c, false) < 0) {
			tp->st.tcp_connect_failed++;
			conn_close(c);
			return -EPROTO;
		}
		wev_set(c, true); /* the handshake starts from the event loop */
	}
	if (!connecting)
		tp->st.tcp_connected++;
	*cp = c;
	return 0;
fail:
	err = errno;
	close(fd);
	tp->st.tcp_connect_failed++;
	return -err;
}

int tp_send(struct transport *tp, const struct tp_addr *dst, const char *buf, size_t len)
{
	struct conn *c = NULL;
	int rc;

	if (!tp || tp->closing) /* closing: tp_close() from a callback */
		return -ESHUTDOWN;
	if (!dst || !buf || len == 0 || dst->listen < 0 ||
	    (unsigned)dst->listen >= tp->conf->nlisten) {
		rc = -EINVAL;
		goto err;
	}
	if (len > tp->max_message) {
		rc = -EMSGSIZE;
		goto err;
	}
	if (!dst->tcp) {
		const struct tp_sock *s = &tp->udp[dst->listen];

		if (s->fd < 0) {
			rc = -EINVAL;
			goto err;
		}
		if (tp->utx) {
			if ((rc = udp_tx_push(tp->utx, s->fd, &dst->peer, buf, len)) < 0) {
				if (rc == -ENOBUFS)
					tp->st.udp_tx_queue_full++;
				goto err;
			}
			/* in a receive burst: one kick at its end; else (timers,
			 * natd's answers, a caller outside the loop) at once */
			if (++tp->utx_unkicked >= UDP_TX_KICK || !tp->utx_burst)
				utx_kick(tp);
			return 0;
		}
		if (sendto(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL, (const struct sockaddr *)&dst->peer,
			   sizeof(dst->peer)) < 0) {
			rc = -errno;
			goto err;
		}
		tp->st.udp_tx++;
		return 0;
	}
	if (dst->tls ? !tp->tls : !tp->conf->listen[dst->listen].tcp) {
		rc = dst->tls ? -EPROTONOSUPPORT : -EINVAL;
		goto err;
	}
	if (dst->conn && (c = find_id(tp, dst->conn)) && (c->ssl != NULL) != dst->tls)
		c = NULL; /* never downgrade TLS to TCP (nor the reverse) */
	if (!c && (dst->peer.sin_addr.s_addr == INADDR_ANY || dst->peer.sin_port == 0)) {
		rc = -ENOTCONN;
		goto err;
	}
	if (!c)
		c = find_peer(tp, &dst->peer, dst->tls);
	if (!c && (rc = conn_connect(tp, dst->listen, &dst->peer, dst->tls, &c)) < 0)
		goto err;
	if ((rc = conn_queue(c, buf, len)) < 0)
		goto err;
	if (c->connecting || c->hs)
		c->pending++;
	else if (c->ssl)
		tp->st.tls_tx++;
	else
		tp->st.tcp_tx++;
	return 0;
err:
	tp->st.send_errors++;
	return rc;
}

int tp_conn_alias(struct transport *tp, uint64_t conn, uint16_t port)
{
	struct conn *c = tp && conn ? find_id(tp, conn) : NULL;
	const struct spc_tls_peer *pe;

	if (!c || !port)
		return -ENOTCONN;
	if (c->ssl && (!(pe = sp_conf_tls_peer(tp->conf, c->peer.sin_addr.s_addr)) || !pe->mutual))
		return -EPERM; /* RFC 5923 §5.2: only a peer whose certificate we checked */
	if (!c->alias)
		tp->naliases++;
	c->alias = port;
	return 0;
}

bool tp_conn_alive(const struct transport *tp, uint64_t conn)
{
	return tp && conn && find_id(tp, conn) != NULL;
}

void tp_get_stats(const struct transport *tp, struct tp_stats *st)
{
	struct tpt_stats ts;

	*st = tp->st;
	if (tp->utx) {
		struct udp_tx_stats us;

		udp_tx_get_stats(tp->utx, &us);
		st->udp_tx += us.sent;
		st->send_errors += us.errors;
		st->udp_tx_batches = us.batches;
		st->udp_tx_wakes = us.wakes;
		st->udp_send_thread = true;
	}
	tpt_get_stats(tp->tls, &ts);
	st->tls_handshakes = ts.handshakes;
	st->tls_handshake_failed = ts.handshake_failed;
	st->tls_handshake_timeout = ts.handshake_timeout;
	st->tls_peer_rejected = ts.peer_rejected;
	st->tls_reloads = ts.reloads;
}

int tp_reload_tls(struct transport *tp, const struct sp_conf *fresh)
{
	char err[512];

	if (!tp->tls)
		return 0;
	if (tpt_reload(tp->tls, fresh, err, sizeof(err)) < 0) {
		log_err("%s", err);
		return -1;
	}
	return 0;
}

int tp_check_tls(const struct sp_conf *conf, char *err, size_t n)
{
	struct tpt *t = NULL;
	int rc = tpt_new(conf, &t, err, n);

	tpt_free(t);
	return rc;
}
