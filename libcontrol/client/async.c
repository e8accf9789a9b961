/* async: the asynchronous client on a libevent event_base (libcontrol/client.h).
 *
 * Theory of operation. The connection is a non-blocking socket with a
 * read event, a write event (armed only while output waits) and two
 * evbuffers; writes go through sendmsg(MSG_NOSIGNAL), so a dead peer
 * never raises SIGPIPE in the host program. Every request is a struct
 * nc_req, kept in submission order (to fail them in order) and in a hash
 * by request id (to match replies). A request carries its callback, its
 * own timer, and, while the handshake is not done, its encoded bytes:
 * they are queued for sending only once HELLO (and AUTH) succeeded, and
 * only if the request has not timed out meanwhile.
 *
 * A reply finds its request by id; a reply nobody waits for is dropped.
 * A BIND that timed out (or was cancelled) after it was sent stays in the
 * hash as an "orphan" without callback, so that a late reply granting a
 * binding is answered with a RELEASE. A stream that cannot be framed, an
 * EOF or a socket error kills the connection: every pending request gets
 * -ECONNRESET, then the connection callback gets the cause.
 *
 * Re-entrancy. Callbacks may issue requests, cancel them, or close the
 * handle. Every entry point from the event loop (and cancel and close)
 * counts itself in ac->depth; nc_async_close() inside a callback tears the
 * connection down at once but frees the handle only when the outermost
 * entry point returns, and loops re-check ac->closed after each callback.
 *
 * TLS (nc_async_open_tls). Once the TCP connect is done, the TLS handshake
 * runs first, driven from both events: the write event stays armed only
 * while the handshake wants to write (HELLO waits in the output buffer
 * meanwhile). Then reads drain the session until it wants more from the
 * socket (a record may hold several messages, and bytes held inside the
 * session would never wake the read event), and writes go through it a
 * record at a time. An EOF or error found while reading is acted on after
 * the messages read before it are dispatched, so natd's last refusal is
 * seen.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include <libcontrol/client.h>

#include "conn.h"
#include "tls.h"

#define OUTQ_MAX (1u << 20) /* bytes waiting to be sent before -ENOBUFS */
#define ORPHAN_MAX 4096     /* timed-out BINDs remembered */
#define IOV_MAX_SEND 16
#define TLS_CHUNK 16384 /* one TLS record of plaintext */

enum state { ST_HELLO, ST_AUTH, ST_READY, ST_DEAD };

struct nc_req {
	TAILQ_ENTRY(nc_req) link;
	struct nc_req *hnext;
	struct nc_async *ac;
	uint32_t id;
	uint16_t type;
	bool orphan; /* its callback was called; only its reply is awaited */
	struct event *timer;
	uint8_t *held; /* encoded, waiting for the handshake */
	size_t held_len;
	union {
		nc_bind_done_fn bind;
		nc_refresh_done_fn refresh;
		nc_release_done_fn release;
	} fn;
	void *arg;
};

TAILQ_HEAD(nc_reqs, nc_req);

struct nc_async {
	struct event_base *base;
	int fd;
	SSL *ssl;    /* NULL: plain */
	bool tls_hs; /* the TLS handshake is not done */
	enum state state;
	bool connecting; /* TCP connect in progress */
	bool closed;     /* nc_async_close() was called */
	unsigned depth;  /* entry points on the stack */
	struct event *rev, *wev, *hs_timer;
	struct evbuffer *in, *out;
	size_t held_bytes;
	nc_conn_fn conn_fn;
	void *conn_arg;
	uint32_t next_id, hs_id;
	uint64_t epoch;
	unsigned npending, norphans;
	struct nc_reqs reqs;
	struct nc_req **buckets;
	unsigned nbuckets; /* a power of two */
	struct nc_hs hs;
	struct nc_msg msg;
	uint8_t wbuf[NC_MSG_MAX];
};

/* ---- the request table ---- */

static struct nc_req **bucket(const struct nc_async *ac, uint32_t id)
{
	return &ac->buckets[(id * 2654435761u) & (ac->nbuckets - 1)];
}

static struct nc_req *req_find(const struct nc_async *ac, uint32_t id)
{
	struct nc_req *r;

	for (r = *bucket(ac, id); r; r = r->hnext)
		if (r->id == id)
			return r;
	return NULL;
}

static void table_grow(struct nc_async *ac)
{
	unsigned n = ac->nbuckets * 2, i;
	struct nc_req **b = calloc(n, sizeof(*b)), **old = ac->buckets;
	unsigned oldn = ac->nbuckets;

	if (!b)
		return; /* longer chains, still correct */
	ac->buckets = b;
	ac->nbuckets = n;
	for (i = 0; i < oldn; i++)
		while (old[i]) {
			struct nc_req *r = old[i], **head;

			old[i] = r->hnext;
			head = bucket(ac, r->id);
			r->hnext = *head;
			*head = r;
		}
	free(old);
}

static void req_insert(struct nc_async *ac, struct nc_req *r)
{
	struct nc_req **head;

	if (ac->npending + ac->norphans >= 2 * ac->nbuckets)
		table_grow(ac);
	head = bucket(ac, r->id);
	r->hnext = *head;
	*head = r;
	TAILQ_INSERT_TAIL(&ac->reqs, r, link);
	ac->npending++;
}

/* Take r out of the table and stop its timer. */
static void req_unlink(struct nc_async *ac, struct nc_req *r)
{
	struct nc_req **pp;

	for (pp = bucket(ac, r->id); *pp; pp = &(*pp)->hnext)
		if (*pp == r) {
			*pp = r->hnext;
			break;
		}
	TAILQ_REMOVE(&ac->reqs, r, link);
	if (r->orphan)
		ac->norphans--;
	else
		ac->npending--;
	if (r->held)
		ac->held_bytes -= r->held_len;
}

static void req_free(struct nc_req *r)
{
	if (r->timer)
		event_free(r->timer);
	free(r->held);
	free(r);
}

static uint32_t alloc_id(struct nc_async *ac)
{
	do {
		if (++ac->next_id > INT32_MAX)
			ac->next_id = 1;
	} while (req_find(ac, ac->next_id));
	return ac->next_id;
}

/* Call r's callback: with the reply in m, or with err. */
static void req_call(struct nc_req *r, int err, const struct nc_msg *m)
{
	union {
		struct nc_bind_r bind;
		struct nc_refresh_r refresh;
		struct nc_status release;
	} rep;

	if (m)
		nc_reply_copy(&rep, nc_reply_size(r->type), m);
	switch (r->type) {
	case NC_MSG_BIND:
		r->fn.bind(r->arg, err, m ? &rep.bind : NULL);
		break;
	case NC_MSG_REFRESH:
		r->fn.refresh(r->arg, err, m ? &rep.refresh : NULL);
		break;
	case NC_MSG_RELEASE:
		r->fn.release(r->arg, err, m ? &rep.release : NULL);
		break;
	}
}

/* ---- entry points and teardown ---- */

static void ac_free(struct nc_async *ac);

static void enter(struct nc_async *ac)
{
	ac->depth++;
}

static void leave(struct nc_async *ac)
{
	if (--ac->depth == 0 && ac->closed)
		ac_free(ac);
}

static void teardown_io(struct nc_async *ac)
{
	if (ac->rev)
		event_free(ac->rev);
	if (ac->wev)
		event_free(ac->wev);
	if (ac->hs_timer)
		event_free(ac->hs_timer);
	ac->rev = ac->wev = ac->hs_timer = NULL;
	nc_tls_free(ac->ssl);
	ac->ssl = NULL;
	if (ac->fd >= 0)
		close(ac->fd);
	ac->fd = -1;
	nc_hs_wipe(&ac->hs);
}

/* Fail every request with err (orphans silently), in submission order. */
static void fail_all(struct nc_async *ac, int err)
{
	struct nc_reqs list = TAILQ_HEAD_INITIALIZER(list);
	struct nc_req *r;

	while ((r = TAILQ_FIRST(&ac->reqs))) {
		req_unlink(ac, r);
		TAILQ_INSERT_TAIL(&list, r, link);
	}
	/* The table is empty now: callbacks see a consistent handle. */
	while ((r = TAILQ_FIRST(&list))) {
		TAILQ_REMOVE(&list, r, link);
		if (r->timer) {
			event_free(r->timer);
			r->timer = NULL;
		}
		if (!r->orphan)
			req_call(r, err, NULL);
		req_free(r);
	}
}

/* The connection died (called inside an entry point). */
static void lost(struct nc_async *ac, int err)
{
	if (ac->state == ST_DEAD)
		return;
	ac->state = ST_DEAD;
	teardown_io(ac);
	fail_all(ac, -ECONNRESET);
	if (!ac->closed && ac->conn_fn)
		ac->conn_fn(ac->conn_arg, err);
}

static void ac_free(struct nc_async *ac)
{
	struct nc_req *r;

	teardown_io(ac);
	while ((r = TAILQ_FIRST(&ac->reqs))) {
		req_unlink(ac, r);
		req_free(r);
	}
	if (ac->in)
		evbuffer_free(ac->in);
	if (ac->out)
		evbuffer_free(ac->out);
	free(ac->buckets);
	free(ac);
}

/* ---- output ---- */

static int queue(struct nc_async *ac, const void *p, size_t n)
{
	if (evbuffer_add(ac->out, p, n) < 0)
		return -ENOMEM;
	if (ac->wev && !event_pending(ac->wev, EV_WRITE, NULL) && event_add(ac->wev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

/* Drive the TLS handshake: true once it is done (output may go), false
 * while it waits (the write event armed only if it wants to write) or
 * after it failed (the connection is lost). */
static bool tls_drive(struct nc_async *ac)
{
	short want = POLLIN;
	int r = nc_tls_handshake(ac->ssl, &want);

	if (r == 0) {
		ac->tls_hs = false;
		if (evbuffer_get_length(ac->out) && !event_pending(ac->wev, EV_WRITE, NULL) &&
		    event_add(ac->wev, NULL) < 0) {
			lost(ac, -ENOMEM);
			return false;
		}
		return true;
	}
	if (r != -EAGAIN)
		lost(ac, r);
	else if (want != POLLOUT)
		event_del(ac->wev);
	else if (!event_pending(ac->wev, EV_WRITE, NULL) && event_add(ac->wev, NULL) < 0)
		lost(ac, -ENOMEM);
	return false;
}

/* Send what the output buffer holds through the TLS session: 0 (all
 * sent, or the socket is full), or an error. */
static int tls_flush(struct nc_async *ac)
{
	while (evbuffer_get_length(ac->out)) {
		size_t len = evbuffer_get_length(ac->out);
		const uint8_t *p;
		short want;
		ssize_t r;

		if (len > TLS_CHUNK)
			len = TLS_CHUNK;
		if (!(p = evbuffer_pullup(ac->out, (ssize_t)len)))
			return -ENOMEM;
		if ((r = nc_tls_send(ac->ssl, p, len, &want)) == -EAGAIN)
			return 0;
		if (r < 0)
			return (int)r;
		evbuffer_drain(ac->out, (size_t)r);
	}
	return 0;
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct nc_async *ac = arg;
	(void)what;

	enter(ac);
	if (ac->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			lost(ac, -err);
			goto out;
		}
		ac->connecting = false;
	}
	if (ac->ssl) {
		int err;

		if (ac->tls_hs && !tls_drive(ac))
			goto out;
		if ((err = tls_flush(ac)) < 0) {
			lost(ac, err);
			goto out;
		}
		if (!evbuffer_get_length(ac->out))
			event_del(ac->wev);
		goto out;
	}
	while (evbuffer_get_length(ac->out)) {
		struct evbuffer_iovec v[IOV_MAX_SEND];
		struct iovec iov[IOV_MAX_SEND];
		struct msghdr mh = {.msg_iov = iov};
		int n = evbuffer_peek(ac->out, -1, NULL, v, IOV_MAX_SEND), i;
		ssize_t r;

		if (n > IOV_MAX_SEND)
			n = IOV_MAX_SEND;
		for (i = 0; i < n; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len;
		}
		mh.msg_iovlen = (size_t)n;
		r = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (r > 0) {
			evbuffer_drain(ac->out, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			goto out;
		lost(ac, r < 0 && errno != EPIPE ? -errno : -ECONNRESET);
		goto out;
	}
	event_del(ac->wev);
out:
	leave(ac);
}

/* ---- input ---- */

static void ready(struct nc_async *ac)
{
	struct nc_req *r;
	int err = 0;

	ac->state = ST_READY;
	if (ac->hs_timer) {
		event_free(ac->hs_timer);
		ac->hs_timer = NULL;
	}
	nc_hs_wipe(&ac->hs);
	TAILQ_FOREACH(r, &ac->reqs, link) {
		if (!r->held)
			continue;
		if (!err)
			err = queue(ac, r->held, r->held_len);
		ac->held_bytes -= r->held_len;
		free(r->held);
		r->held = NULL;
	}
	if (err) {
		lost(ac, err);
		return;
	}
	if (ac->conn_fn)
		ac->conn_fn(ac->conn_arg, 0);
}

static void handshake_msg(struct nc_async *ac, int derr)
{
	const struct nc_msg *m = &ac->msg;
	struct nc_auth auth;
	int n, r;

	if (m->reqid != ac->hs_id)
		return; /* nothing else is in flight: ignore */
	if (derr) {
		lost(ac, derr);
		return;
	}
	if (m->type == NC_MSG_ERROR) {
		lost(ac, nc_status_errno(m->u.status.code));
		return;
	}
	if (ac->state == ST_HELLO && m->type == NC_MSG_HELLO_R) {
		if ((r = nc_hs_hello_r(&ac->hs, &m->u.hello_r, &auth)) < 0) {
			lost(ac, r);
		} else if (r == 0) {
			ready(ac);
		} else {
			ac->hs_id = alloc_id(ac);
			n = nc_encode(ac->wbuf, sizeof(ac->wbuf), NC_MSG_AUTH, ac->hs_id, &auth);
			explicit_bzero(&auth, sizeof(auth));
			if (n < 0 || (n = queue(ac, ac->wbuf, (size_t)n)) < 0)
				lost(ac, n);
			else
				ac->state = ST_AUTH;
		}
	} else if (ac->state == ST_AUTH && m->type == NC_MSG_AUTH_R) {
		if ((r = nc_hs_auth_r(&ac->hs, &m->u.auth_r)) < 0)
			lost(ac, r);
		else
			ready(ac);
	} else {
		lost(ac, -EPROTO);
	}
}

/* A late reply to a BIND nobody waits for: give its binding back. */
static void release_orphan(struct nc_async *ac, const struct nc_bind_r *b)
{
	struct nc_release rel = {.epoch = b->st.epoch, .id = b->id};
	int n;

	if (b->st.code != NC_ST_OK)
		return;
	n = nc_encode(ac->wbuf, sizeof(ac->wbuf), NC_MSG_RELEASE, alloc_id(ac), &rel);
	if (n > 0 && (n = queue(ac, ac->wbuf, (size_t)n)) < 0)
		lost(ac, n);
}

static void dispatch(struct nc_async *ac, int derr)
{
	const struct nc_msg *m = &ac->msg;
	struct nc_req *r;

	if (!derr && (m->type & NC_MSG_REPLY) && nc_reply_status(m)->epoch)
		ac->epoch = nc_reply_status(m)->epoch;
	if (!derr && m->type == NC_MSG_ERROR && m->reqid == 0) {
		lost(ac, -EPROTO); /* natd could not frame our stream */
		return;
	}
	if (ac->state != ST_READY) {
		handshake_msg(ac, derr);
		return;
	}
	if (!(r = req_find(ac, m->reqid)))
		return; /* a reply nobody waits for any more */
	if (r->orphan) {
		req_unlink(ac, r);
		if (!derr && m->type == NC_MSG_BIND_R)
			release_orphan(ac, &m->u.bind_r);
		req_free(r);
		return;
	}
	if (!derr) {
		switch (nc_match_reply(r->type, m->type)) {
		case NC_MK_REPLY:
		case NC_MK_ERROR:
			break;
		case NC_MK_PART:
			return; /* not sent for the requests this client makes */
		case NC_MK_WRONG:
			derr = -EPROTO;
			break;
		}
	}
	req_unlink(ac, r);
	if (r->timer) {
		event_free(r->timer);
		r->timer = NULL;
	}
	req_call(r, derr, derr ? NULL : m);
	req_free(r);
}

/* Read what the TLS session has: 0, or the EOF (-ECONNRESET) or error
 * that ended the reading. */
static int tls_fill(struct nc_async *ac)
{
	uint8_t buf[TLS_CHUNK];

	for (;;) {
		short want;
		ssize_t r = nc_tls_recv(ac->ssl, buf, sizeof(buf), &want);

		if (r == -EAGAIN)
			return 0;
		if (r == 0)
			return -ECONNRESET;
		if (r < 0)
			return (int)r;
		if (evbuffer_add(ac->in, buf, (size_t)r) < 0)
			return -ENOMEM;
	}
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct nc_async *ac = arg;
	int n, end = 0;
	(void)what;

	enter(ac);
	if (ac->ssl) {
		if (ac->tls_hs && !tls_drive(ac))
			goto out;
		end = tls_fill(ac);
		n = 1; /* the messages read come first, then the end */
	} else {
		n = evbuffer_read(ac->in, fd, NC_MSG_MAX);
	}
	if (n == 0) {
		lost(ac, -ECONNRESET);
		goto out;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			lost(ac, -errno);
		goto out;
	}
	while (!ac->closed && ac->state != ST_DEAD) {
		size_t have = evbuffer_get_length(ac->in);
		size_t look = have < NC_MSG_MAX ? have : NC_MSG_MAX;
		const uint8_t *p;
		int derr;

		if (have == 0)
			break;
		p = evbuffer_pullup(ac->in, (ssize_t)look);
		if (!p) {
			lost(ac, -ENOMEM);
			break;
		}
		if ((n = nc_frame(p, look)) < 0) {
			lost(ac, n);
			break;
		}
		if (n == 0)
			break;
		if ((derr = nc_decode(p, (size_t)n, &ac->msg)) < 0) {
			struct nc_hdr h;

			memset(&ac->msg, 0, sizeof(ac->msg));
			if (nc_header(p, (size_t)n, &h) == 0) {
				ac->msg.type = h.type;
				ac->msg.reqid = h.reqid;
			}
		}
		evbuffer_drain(ac->in, (size_t)n);
		dispatch(ac, derr);
	}
	if (end && !ac->closed)
		lost(ac, end);
out:
	leave(ac);
}

/* ---- timers ---- */

/* Stop waiting for r: its callback gets err now. A BIND already sent
 * stays behind as an orphan, to release what natd may still grant. */
static void give_up(struct nc_async *ac, struct nc_req *r, int err)
{
	if (r->timer) {
		event_free(r->timer);
		r->timer = NULL;
	}
	if (!r->held && r->type == NC_MSG_BIND && ac->norphans < ORPHAN_MAX) {
		r->orphan = true;
		ac->npending--;
		ac->norphans++;
		req_call(r, err, NULL);
	} else {
		req_unlink(ac, r);
		req_call(r, err, NULL);
		req_free(r);
	}
}

static void on_req_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct nc_req *r = arg;
	struct nc_async *ac = r->ac;
	(void)fd;
	(void)what;

	enter(ac);
	give_up(ac, r, -ETIMEDOUT);
	leave(ac);
}

static void on_hs_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct nc_async *ac = arg;
	(void)fd;
	(void)what;

	enter(ac);
	lost(ac, -ETIMEDOUT);
	leave(ac);
}

/* ---- opening and closing ---- */

static int async_new(struct event_base *base, int fd, int how, const char *name, bool tcp,
		     const void *secret, size_t slen, nc_conn_fn fn, void *arg,
		     struct nc_async **acp)
{
	struct timeval tv = {NC_OPEN_TIMEOUT_MS / 1000, (NC_OPEN_TIMEOUT_MS % 1000) * 1000};
	struct nc_hello hello;
	struct nc_async *ac;
	int n, err = -ENOMEM;

	if (!(ac = calloc(1, sizeof(*ac)))) {
		close(fd);
		return -ENOMEM;
	}
	ac->base = base;
	ac->fd = fd;
	ac->connecting = how == 1;
	ac->conn_fn = fn;
	ac->conn_arg = arg;
	TAILQ_INIT(&ac->reqs);
	ac->nbuckets = 64;
	if ((err = nc_hs_init(&ac->hs, tcp, secret, slen)) < 0)
		goto fail;
	err = -ENOMEM;
	if (!(ac->buckets = calloc(ac->nbuckets, sizeof(*ac->buckets))) ||
	    !(ac->in = evbuffer_new()) || !(ac->out = evbuffer_new()) ||
	    !(ac->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, ac)) ||
	    !(ac->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_writable, ac)) ||
	    !(ac->hs_timer = evtimer_new(base, on_hs_timeout, ac)))
		goto fail;
	memset(&hello, 0, sizeof(hello));
	if (name)
		strcpy(hello.name, name); /* length checked by the caller */
	ac->hs_id = alloc_id(ac);
	if ((n = nc_encode(ac->wbuf, sizeof(ac->wbuf), NC_MSG_HELLO, ac->hs_id, &hello)) < 0) {
		err = n;
		goto fail;
	}
	if ((err = queue(ac, ac->wbuf, (size_t)n)) < 0)
		goto fail;
	err = -ENOMEM;
	if (event_add(ac->rev, NULL) < 0 || event_add(ac->hs_timer, &tv) < 0)
		goto fail;
	*acp = ac;
	return 0;
fail:
	ac_free(ac);
	return err;
}

int nc_async_open_unix(struct event_base *base, const char *path, const char *name,
		       nc_conn_fn fn, void *arg, struct nc_async **acp)
{
	int fd, r;

	if (!base || !acp)
		return NC_E_INVAL;
	if (name && strlen(name) > NC_TEXT_MAX)
		return NC_E_OVERSIZE;
	if ((r = nc_sock_unix(path, &fd)) < 0)
		return r;
	return async_new(base, fd, r, name, false, NULL, 0, fn, arg, acp);
}

/* TCP, plain (tls NULL) or in TLS. */
static int open_tcp(struct event_base *base, const char *host, uint16_t port, const char *name,
		    const void *secret, size_t slen, const struct nc_tls *tls, nc_conn_fn fn,
		    void *arg, struct nc_async **acp)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *res;
	char serv[8];
	SSL *ssl = NULL;
	int fd, r, err;

	if (!base || !acp || !host || port == 0)
		return NC_E_INVAL;
	if (name && strlen(name) > NC_TEXT_MAX)
		return NC_E_OVERSIZE;
	if (slen > NC_SECRET_MAX)
		return NC_E_INVAL;
	snprintf(serv, sizeof(serv), "%u", port);
	if (getaddrinfo(host, serv, &hints, &res) != 0)
		return NC_E_INVAL;
	r = nc_sock_addr(res->ai_addr, res->ai_addrlen, &fd);
	freeaddrinfo(res);
	if (r < 0)
		return r;
	if (tls) {
		SSL_CTX *ctx = nc_tls_ctx(tls, &err);

		if (!ctx || (err = nc_tls_new(ctx, tls, host, fd, &ssl)) < 0) {
			SSL_CTX_free(ctx);
			close(fd);
			return err;
		}
		SSL_CTX_free(ctx); /* the session keeps its own reference */
	}
	if ((err = async_new(base, fd, r, name, true, secret, slen, fn, arg, acp)) < 0) {
		nc_tls_free(ssl); /* async_new closed fd */
		return err;
	}
	(*acp)->ssl = ssl;
	(*acp)->tls_hs = ssl != NULL;
	return 0;
}

int nc_async_open_tcp(struct event_base *base, const char *host, uint16_t port, const char *name,
		      const void *secret, size_t slen, nc_conn_fn fn, void *arg,
		      struct nc_async **acp)
{
	return open_tcp(base, host, port, name, secret, slen, NULL, fn, arg, acp);
}

int nc_async_open_tls(struct event_base *base, const char *host, uint16_t port, const char *name,
		      const void *secret, size_t slen, const struct nc_tls *tls, nc_conn_fn fn,
		      void *arg, struct nc_async **acp)
{
	if (!tls)
		return NC_E_INVAL;
	return open_tcp(base, host, port, name, secret, slen, tls, fn, arg, acp);
}

void nc_async_close(struct nc_async *ac)
{
	if (!ac || ac->closed)
		return;
	ac->closed = true;
	enter(ac);
	ac->state = ST_DEAD;
	teardown_io(ac);
	fail_all(ac, -ECANCELED);
	leave(ac);
}

uint64_t nc_async_epoch(const struct nc_async *ac)
{
	return ac ? ac->epoch : 0;
}

unsigned nc_async_pending(const struct nc_async *ac)
{
	return ac ? ac->npending : 0;
}

/* ---- requests ---- */

static int submit(struct nc_async *ac, uint16_t type, const void *body, unsigned timeout_ms,
		  struct nc_req *tmpl)
{
	struct nc_req *r;
	uint32_t id;
	int n, err;

	if (!ac || !body)
		return NC_E_INVAL;
	if (ac->closed || ac->state == ST_DEAD)
		return -ENOTCONN;
	if (evbuffer_get_length(ac->out) + ac->held_bytes > OUTQ_MAX)
		return -ENOBUFS;
	id = alloc_id(ac);
	if ((n = nc_encode(ac->wbuf, sizeof(ac->wbuf), type, id, body)) < 0)
		return n;
	if (!(r = calloc(1, sizeof(*r))))
		return -ENOMEM;
	r->ac = ac;
	r->id = id;
	r->type = type;
	r->fn = tmpl->fn;
	r->arg = tmpl->arg;
	err = -ENOMEM;
	if (timeout_ms) {
		struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

		if (!(r->timer = evtimer_new(ac->base, on_req_timeout, r)) ||
		    evtimer_add(r->timer, &tv) < 0)
			goto fail;
	}
	if (ac->state == ST_READY) {
		if ((err = queue(ac, ac->wbuf, (size_t)n)) < 0)
			goto fail;
	} else {
		if (!(r->held = malloc((size_t)n)))
			goto fail;
		memcpy(r->held, ac->wbuf, (size_t)n);
		r->held_len = (size_t)n;
		ac->held_bytes += r->held_len;
	}
	req_insert(ac, r);
	return (int)id;
fail:
	req_free(r);
	return err;
}

int nc_async_bind(struct nc_async *ac, const struct nc_bind *req, unsigned timeout_ms,
		  nc_bind_done_fn fn, void *arg)
{
	struct nc_req t = {.fn.bind = fn, .arg = arg};

	return fn ? submit(ac, NC_MSG_BIND, req, timeout_ms, &t) : NC_E_INVAL;
}

int nc_async_refresh(struct nc_async *ac, const struct nc_refresh *req, unsigned timeout_ms,
		     nc_refresh_done_fn fn, void *arg)
{
	struct nc_req t = {.fn.refresh = fn, .arg = arg};

	return fn ? submit(ac, NC_MSG_REFRESH, req, timeout_ms, &t) : NC_E_INVAL;
}

int nc_async_release(struct nc_async *ac, const struct nc_release *req, unsigned timeout_ms,
		     nc_release_done_fn fn, void *arg)
{
	struct nc_req t = {.fn.release = fn, .arg = arg};

	return fn ? submit(ac, NC_MSG_RELEASE, req, timeout_ms, &t) : NC_E_INVAL;
}

int nc_async_cancel(struct nc_async *ac, int id)
{
	struct nc_req *r;

	if (!ac || id <= 0 || ac->closed || !(r = req_find(ac, (uint32_t)id)) || r->orphan)
		return -ENOENT;
	enter(ac);
	give_up(ac, r, -ECANCELED);
	leave(ac);
	return 0;
}
