/* client: the blocking client (libcontrol/client.h).
 *
 * Theory of operation. The socket is non-blocking and every wait is a
 * poll() against the request's deadline, so a timeout never leaves a
 * thread stuck in recv(). One request is in flight at a time: a call
 * encodes its request with a fresh id, sends it, and reads messages until
 * the reply with that id comes. Messages for other ids are late replies
 * to requests that timed out, or EVENTs of an earlier WATCH: they are
 * skipped, except that a late BIND reply that granted a binding is
 * answered with a RELEASE. Received bytes wait in a buffer of one
 * maximum message, so a timeout in the middle of a message loses nothing.
 * A send that times out half way leaves the stream unusable: the
 * connection is then marked dead, as after EOF, a read error, or bytes
 * that cannot be framed.
 *
 * Over TLS (nc_client_open_tls) the same loop reads and writes through the
 * session (client/tls.c): a read may have to wait for the socket to be
 * writable and the reverse, so every wait polls for what the session
 * asked for.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libcontrol/client.h>

#include "conn.h"
#include "tls.h"

#define ORPHANS 16 /* timed-out BINDs remembered, to release if granted late */

struct nc_client {
	int fd;
	SSL *ssl; /* NULL: plain */
	bool dead;
	uint32_t next_id;
	uint64_t epoch;
	char server[NC_TEXT_MAX + 1];
	uint32_t orphans[ORPHANS]; /* request ids, 0 = free slot */
	unsigned orphan_next;
	size_t rlen, skip; /* bytes in rbuf; bytes of the message last returned */
	bool just_sent; /* a request went out and nothing was read since */
	struct nc_msg msg;
	uint8_t rbuf[NC_MSG_MAX];
	uint8_t wbuf[NC_MSG_MAX];
};

/* Handles a LIST_ITEM or EVENT of the request being waited for. */
typedef void (*part_fn)(void *ctx, const struct nc_msg *m);

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_of(unsigned timeout_ms)
{
	return timeout_ms ? now_ms() + timeout_ms : -1;
}

/* Wait until fd is ready for events or deadline (-1: none) passes. */
static int wait_fd(int fd, short events, int64_t deadline, bool intr)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		int t = -1, n;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return -ETIMEDOUT;
			t = left > INT_MAX ? INT_MAX : (int)left;
		}
		n = poll(&p, 1, t);
		if (n > 0)
			return 0; /* ready, or an error the next call reports */
		if (n < 0 && errno == EINTR) {
			if (intr)
				return -EINTR;
		} else if (n < 0) {
			return -errno;
		}
	}
}

static int kill_conn(struct nc_client *cl, int err)
{
	cl->dead = true;
	return err;
}

static int send_all(struct nc_client *cl, const uint8_t *p, size_t n, int64_t deadline)
{
	size_t off = 0;

	while (off < n) {
		short want = POLLOUT;
		ssize_t r;
		int err;

		if (cl->ssl) {
			if ((r = nc_tls_send(cl->ssl, p + off, n - off, &want)) == -EAGAIN)
				goto wait;
			if (r < 0)
				return kill_conn(cl, (int)r);
		} else {
			r = send(cl->fd, p + off, n - off, MSG_NOSIGNAL);
		}
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN)
			return kill_conn(cl, errno == EPIPE ? -ECONNRESET : -errno);
wait:
		if ((err = wait_fd(cl->fd, want, deadline, false)) < 0)
			/* Half a message sent: the stream cannot be resumed. */
			return off ? kill_conn(cl, err) : err;
	}
	return 0;
}

/* The next message from the stream into cl->msg: 0 decoded, 1 framed but
 * not decodable (*derr the reason; msg.type and msg.reqid from its
 * header), or a negative error. */
static int next_msg(struct nc_client *cl, int64_t deadline, bool intr, int *derr)
{
	if (cl->skip) {
		memmove(cl->rbuf, cl->rbuf + cl->skip, cl->rlen - cl->skip);
		cl->rlen -= cl->skip;
		cl->skip = 0;
	}
	for (;;) {
		int n = nc_frame(cl->rbuf, cl->rlen), err;
		ssize_t r;

		if (n < 0)
			return kill_conn(cl, n);
		if (n > 0) {
			struct nc_hdr h;

			cl->skip = (size_t)n;
			if ((err = nc_decode(cl->rbuf, (size_t)n, &cl->msg)) == 0)
				return 0;
			memset(&cl->msg, 0, sizeof(cl->msg));
			if (nc_header(cl->rbuf, (size_t)n, &h) == 0) {
				cl->msg.type = h.type;
				cl->msg.reqid = h.reqid;
			}
			*derr = err;
			return 1;
		}
		/* n == 0: less than one whole message, which always fits. */
		if (cl->ssl) {
			short want = POLLIN;

			r = nc_tls_recv(cl->ssl, cl->rbuf + cl->rlen, sizeof(cl->rbuf) - cl->rlen, &want);
			if (r > 0) {
				cl->rlen += (size_t)r;
				continue;
			}
			if (r == 0)
				return kill_conn(cl, -ECONNRESET);
			if (r != -EAGAIN)
				return kill_conn(cl, (int)r);
			if ((err = wait_fd(cl->fd, want, deadline, intr)) < 0)
				return err;
			continue;
		}
		/* Right after a request its reply is hardly ever there yet:
		 * wait first rather than try a recv() that says EAGAIN (one
		 * system call less a round trip). */
		if (cl->just_sent) {
			cl->just_sent = false;
			if ((err = wait_fd(cl->fd, POLLIN, deadline, intr)) < 0)
				return err;
		}
		r = recv(cl->fd, cl->rbuf + cl->rlen, sizeof(cl->rbuf) - cl->rlen, 0);
		if (r > 0) {
			cl->rlen += (size_t)r;
			continue;
		}
		if (r == 0)
			return kill_conn(cl, -ECONNRESET);
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return kill_conn(cl, -errno);
		if ((err = wait_fd(cl->fd, POLLIN, deadline, intr)) < 0)
			return err;
	}
}

static uint32_t new_id(struct nc_client *cl)
{
	if (++cl->next_id == 0)
		cl->next_id = 1;
	return cl->next_id;
}

static void orphan_add(struct nc_client *cl, uint32_t id)
{
	cl->orphans[cl->orphan_next] = id;
	cl->orphan_next = (cl->orphan_next + 1) % ORPHANS;
}

/* A message for a request nobody waits for any more. */
static int late(struct nc_client *cl, const struct nc_msg *m, int64_t deadline)
{
	const struct nc_bind_r *b = &m->u.bind_r;
	struct nc_release rel;
	uint8_t buf[128];
	unsigned i;
	int n;

	if (m->type != NC_MSG_BIND_R && m->type != NC_MSG_ERROR)
		return 0;
	for (i = 0; i < ORPHANS; i++)
		if (cl->orphans[i] == m->reqid)
			break;
	if (i == ORPHANS)
		return 0;
	cl->orphans[i] = 0;
	if (m->type != NC_MSG_BIND_R || b->st.code != NC_ST_OK)
		return 0;
	rel.epoch = b->st.epoch;
	rel.id = b->id;
	if ((n = nc_encode(buf, sizeof(buf), NC_MSG_RELEASE, new_id(cl), &rel)) < 0)
		return 0;
	return send_all(cl, buf, (size_t)n, deadline);
}

/* The next message answering request id: messages for other requests
 * (late replies) are dealt with on the way, and the epoch of every reply
 * is kept. Returns next_msg()'s 0 or 1 (with *derr), or a negative error. */
static int next_for(struct nc_client *cl, uint32_t id, int64_t deadline, bool intr, int *derr)
{
	const struct nc_msg *m = &cl->msg;
	int r, err;

	for (;;) {
		if ((r = next_msg(cl, deadline, intr, derr)) < 0)
			return r;
		if (r == 0 && (m->type & NC_MSG_REPLY) && nc_reply_status(m)->epoch)
			cl->epoch = nc_reply_status(m)->epoch;
		if (m->reqid == id)
			return r;
		if (r == 0 && m->type == NC_MSG_ERROR && m->reqid == 0)
			/* natd could not frame our stream and hangs up. */
			return kill_conn(cl, -EPROTO);
		if (r == 0 && (err = late(cl, m, deadline)) < 0)
			return err;
	}
}

/* Wait for the reply to request id (of type type) and copy it to rep. */
static int wait_reply(struct nc_client *cl, uint16_t type, uint32_t id, void *rep,
		      int64_t deadline, bool intr, part_fn part, void *ctx)
{
	for (;;) {
		const struct nc_msg *m = &cl->msg;
		int derr = 0, r;

		r = next_for(cl, id, deadline, intr, &derr);
		if (r < 0) {
			if (r == -ETIMEDOUT && type == NC_MSG_BIND)
				orphan_add(cl, id);
			return r;
		}
		if (r == 1)
			return derr;
		switch (nc_match_reply(type, m->type)) {
		case NC_MK_REPLY:
		case NC_MK_ERROR:
			nc_reply_copy(rep, nc_reply_size(type), m);
			return 0;
		case NC_MK_PART:
			if (part)
				part(ctx, m);
			break;
		case NC_MK_WRONG:
			return -EPROTO;
		}
	}
}

static int request(struct nc_client *cl, uint16_t type, const void *body, void *rep,
		   int64_t deadline, bool intr, part_fn part, void *ctx, uint32_t *idp)
{
	uint32_t id;
	int n, err;

	if (!cl || !rep)
		return NC_E_INVAL;
	if (cl->dead)
		return -ENOTCONN;
	id = new_id(cl);
	if ((n = nc_encode(cl->wbuf, sizeof(cl->wbuf), type, id, body)) < 0)
		return n;
	if ((err = send_all(cl, cl->wbuf, (size_t)n, deadline)) < 0)
		return err;
	cl->just_sent = true;
	if (idp)
		*idp = id;
	return wait_reply(cl, type, id, rep, deadline, intr, part, ctx);
}

/* ---- opening ---- */

static int handshake(struct nc_client *cl, const char *name, struct nc_hs *hs, int64_t deadline)
{
	struct nc_hello hello;
	struct nc_hello_r hr;
	struct nc_auth auth;
	struct nc_auth_r ar;
	int r;

	memset(&hello, 0, sizeof(hello));
	if (name) {
		if (strlen(name) > NC_TEXT_MAX)
			return NC_E_OVERSIZE;
		strcpy(hello.name, name);
	}
	if ((r = request(cl, NC_MSG_HELLO, &hello, &hr, deadline, false, NULL, NULL, NULL)) < 0)
		return r;
	if (hr.st.code == NC_ST_OK)
		memcpy(cl->server, hr.name, sizeof(cl->server));
	if ((r = nc_hs_hello_r(hs, &hr, &auth)) <= 0)
		return r;
	r = request(cl, NC_MSG_AUTH, &auth, &ar, deadline, false, NULL, NULL, NULL);
	explicit_bzero(&auth, sizeof(auth));
	return r < 0 ? r : nc_hs_auth_r(hs, &ar);
}

/* Wrap a socket whose connect is done (0) or in progress (1). */
static int client_new(int fd, int how, int64_t deadline, struct nc_client **clp)
{
	struct nc_client *cl;
	int err;

	if (how == 1) {
		socklen_t len = sizeof(err);

		if ((err = wait_fd(fd, POLLOUT, deadline, false)) < 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			err = -err;
			goto fail;
		}
	}
	if (!(cl = calloc(1, sizeof(*cl)))) {
		err = -ENOMEM;
		goto fail;
	}
	cl->fd = fd;
	*clp = cl;
	return 0;
fail:
	close(fd);
	return err;
}

int nc_client_open_unix(const char *path, const char *name, struct nc_client **clp)
{
	int64_t deadline = deadline_of(NC_OPEN_TIMEOUT_MS);
	struct nc_client *cl;
	struct nc_hs hs;
	int fd, r;

	if (!clp)
		return NC_E_INVAL;
	if ((r = nc_sock_unix(path, &fd)) < 0 || (r = client_new(fd, r, deadline, &cl)) < 0)
		return r;
	nc_hs_init(&hs, false, NULL, 0);
	if ((r = handshake(cl, name, &hs, deadline)) < 0) {
		nc_client_close(cl);
		return r;
	}
	*clp = cl;
	return 0;
}

/* The TLS handshake on a connected client, within deadline. */
static int tls_start(struct nc_client *cl, SSL_CTX *ctx, const struct nc_tls *tls,
		     const char *host, int64_t deadline)
{
	int r;

	if ((r = nc_tls_new(ctx, tls, host, cl->fd, &cl->ssl)) < 0)
		return r;
	for (;;) {
		short want = POLLIN;

		if ((r = nc_tls_handshake(cl->ssl, &want)) != -EAGAIN)
			return r;
		if ((r = wait_fd(cl->fd, want, deadline, false)) < 0)
			return r;
	}
}

/* TCP, plain (tls NULL) or in TLS. */
static int open_tcp(const char *host, uint16_t port, const char *name, const void *secret,
		    size_t slen, const struct nc_tls *tls, struct nc_client **clp)
{
	int64_t deadline = deadline_of(NC_OPEN_TIMEOUT_MS);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	struct nc_client *cl = NULL;
	struct nc_hs hs;
	SSL_CTX *ctx = NULL;
	char serv[8];
	int r, fd;

	if (!clp || !host || port == 0)
		return NC_E_INVAL;
	if ((r = nc_hs_init(&hs, true, secret, slen)) < 0)
		return r;
	if (tls && !(ctx = nc_tls_ctx(tls, &r))) { /* the files first: no connection for nothing */
		nc_hs_wipe(&hs);
		return r;
	}
	snprintf(serv, sizeof(serv), "%u", port);
	r = getaddrinfo(host, serv, &hints, &res);
	if (r != 0) {
		SSL_CTX_free(ctx);
		nc_hs_wipe(&hs);
		return r == EAI_SYSTEM ? -errno : r == EAI_MEMORY ? -ENOMEM : -EHOSTUNREACH;
	}
	r = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		if ((r = nc_sock_addr(ai->ai_addr, ai->ai_addrlen, &fd)) < 0)
			continue;
		if ((r = client_new(fd, r, deadline, &cl)) == 0)
			break;
	}
	freeaddrinfo(res);
	if (r == 0 && ((tls && (r = tls_start(cl, ctx, tls, host, deadline)) < 0) ||
		       (r = handshake(cl, name, &hs, deadline)) < 0))
		nc_client_close(cl);
	SSL_CTX_free(ctx); /* a session keeps its own reference */
	nc_hs_wipe(&hs);
	if (r < 0)
		return r;
	*clp = cl;
	return 0;
}

int nc_client_open_tcp(const char *host, uint16_t port, const char *name, const void *secret,
		       size_t slen, struct nc_client **clp)
{
	return open_tcp(host, port, name, secret, slen, NULL, clp);
}

int nc_client_open_tls(const char *host, uint16_t port, const char *name, const void *secret,
		       size_t slen, const struct nc_tls *tls, struct nc_client **clp)
{
	if (!tls)
		return NC_E_INVAL;
	return open_tcp(host, port, name, secret, slen, tls, clp);
}

void nc_client_close(struct nc_client *cl)
{
	if (!cl)
		return;
	nc_tls_free(cl->ssl);
	close(cl->fd);
	free(cl);
}

uint64_t nc_client_epoch(const struct nc_client *cl)
{
	return cl ? cl->epoch : 0;
}

const char *nc_client_server(const struct nc_client *cl)
{
	return cl ? cl->server : "";
}

/* ---- requests ---- */

int nc_client_bind(struct nc_client *cl, const struct nc_bind *req, struct nc_bind_r *rep,
		   unsigned timeout_ms)
{
	if (!req)
		return NC_E_INVAL;
	return request(cl, NC_MSG_BIND, req, rep, deadline_of(timeout_ms), false, NULL, NULL, NULL);
}

int nc_client_refresh(struct nc_client *cl, const struct nc_refresh *req,
		      struct nc_refresh_r *rep, unsigned timeout_ms)
{
	if (!req)
		return NC_E_INVAL;
	return request(cl, NC_MSG_REFRESH, req, rep, deadline_of(timeout_ms), false, NULL, NULL,
		       NULL);
}

int nc_client_release(struct nc_client *cl, const struct nc_release *req, struct nc_status *rep,
		      unsigned timeout_ms)
{
	if (!req)
		return NC_E_INVAL;
	return request(cl, NC_MSG_RELEASE, req, rep, deadline_of(timeout_ms), false, NULL, NULL,
		       NULL);
}

struct list_ctx {
	nc_item_fn fn;
	void *arg;
};

static void list_part(void *ctx, const struct nc_msg *m)
{
	struct list_ctx *l = ctx;

	if (l->fn)
		l->fn(l->arg, &m->u.item);
}

int nc_client_list(struct nc_client *cl, const struct nc_list *req, nc_item_fn fn, void *arg,
		   struct nc_list_r *rep, unsigned timeout_ms)
{
	struct list_ctx l = {fn, arg};
	struct nc_list all;

	if (!req) {
		memset(&all, 0, sizeof(all));
		req = &all;
	}
	return request(cl, NC_MSG_LIST, req, rep, deadline_of(timeout_ms), false, list_part, &l,
		       NULL);
}

int nc_client_stats(struct nc_client *cl, struct nc_stats_r *rep, unsigned timeout_ms)
{
	return request(cl, NC_MSG_STATS, NULL, rep, deadline_of(timeout_ms), false, NULL, NULL,
		       NULL);
}

int nc_client_ha(struct nc_client *cl, const char *op, struct nc_stats_r *rep, unsigned timeout_ms)
{
	struct nc_ha req;

	memset(&req, 0, sizeof(req));
	if (op && strlen(op) >= sizeof(req.op))
		return NC_E_RANGE;
	if (op)
		snprintf(req.op, sizeof(req.op), "%s", op);
	return request(cl, NC_MSG_HA, &req, rep, deadline_of(timeout_ms), false, NULL, NULL, NULL);
}

int nc_client_caps(struct nc_client *cl, struct nc_caps_r *rep, unsigned timeout_ms)
{
	return request(cl, NC_MSG_CAPS, NULL, rep, deadline_of(timeout_ms), false, NULL, NULL,
		       NULL);
}

int nc_client_watch(struct nc_client *cl, const struct nc_watch *req, nc_event_fn fn, void *arg,
		    struct nc_status *rep, unsigned timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	struct nc_watch all;
	struct nc_status st;
	uint32_t id;
	int r;

	if (!fn)
		return NC_E_INVAL;
	if (!req) {
		memset(&all, 0, sizeof(all));
		req = &all;
	}
	if (!rep)
		rep = &st;
	/* EVENTs come after the reply: one before it is skipped. */
	if ((r = request(cl, NC_MSG_WATCH, req, rep, deadline, true, NULL, NULL, &id)) < 0 ||
	    rep->code != NC_ST_OK)
		return r;
	for (;;) {
		const struct nc_msg *m = &cl->msg;
		int derr = 0;

		if ((r = next_for(cl, id, deadline, true, &derr)) < 0)
			return r;
		if (r == 1)
			return derr;
		if (m->type != NC_MSG_EVENT)
			return -EPROTO;
		if (fn(arg, &m->u.event))
			return 0;
	}
}
