/* fake_server: a scripted natd for the client tests (see fake_server.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libcontrol/auth.h>

#include "fake_server.h"

struct fs {
	struct fs_opts o;
	int lfd, wake[2];
	pthread_t th;
	char dir[64], path[128];
	uint16_t port;
	unsigned counts[16];
	uint32_t last_release;
	uint32_t next_bid;
};

struct fs_conn {
	struct fs *s;
	int fd;
	bool hello, authed;
	uint8_t ns[NC_NONCE_LEN];
	struct nc_msg out;
	uint8_t enc[NC_MSG_MAX];
};

int fs_send_raw(struct fs_conn *c, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t r = send(c->fd, b, n, MSG_NOSIGNAL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

int fs_send(struct fs_conn *c, uint16_t type, uint32_t reqid, const void *body)
{
	int n = nc_encode(c->enc, sizeof(c->enc), type, reqid, body);

	if (n < 0) {
		fprintf(stderr, "fake_server: cannot encode %s: %s\n", nc_msg_name(type),
			nc_strerror(n));
		return -1;
	}
	return fs_send_raw(c, c->enc, (size_t)n);
}

static void status(struct nc_status *st, uint16_t code, const char *reason)
{
	memset(st, 0, sizeof(*st));
	st->code = code;
	st->epoch = FS_EPOCH;
	snprintf(st->reason, sizeof(st->reason), "%s", reason);
}

void fs_bind_r(const struct nc_bind *q, uint32_t id, struct nc_bind_r *r)
{
	memset(r, 0, sizeof(*r));
	status(&r->st, NC_ST_OK, "");
	r->id = id;
	r->alloc.ip.af = NC_AF_IP4;
	inet_pton(AF_INET, "198.51.100.1", r->alloc.ip.a);
	r->alloc.port = (uint16_t)(q->spec.ep.port + 10000);
	r->lifetime = q->lifetime ? q->lifetime : 60;
}

static void item(struct nc_item *it, uint32_t id)
{
	memset(it, 0, sizeof(*it));
	it->id = id;
	it->kind = NC_KIND_MANAGED;
	it->spec.dir = NC_DIR_BOTH;
	it->spec.proto = NC_PROTO_UDP;
	strcpy(it->spec.in_realm, "inside");
	strcpy(it->spec.ext_realm, "outside");
	it->spec.ep.ip.af = NC_AF_IP4;
	inet_pton(AF_INET, "10.1.0.10", it->spec.ep.ip.a);
	it->spec.ep.port = (uint16_t)(4000 + id);
	snprintf(it->spec.label, sizeof(it->spec.label), "call-%u", id);
	it->alloc.ip.af = NC_AF_IP4;
	inet_pton(AF_INET, "198.51.100.1", it->alloc.ip.a);
	it->alloc.port = (uint16_t)(30000 + id);
	it->lifetime = 50;
	strcpy(it->owner, "uid:0");
	it->has_counters = true;
	it->counters.pkts_in = id;
	it->counters.bytes_in = 100 * id;
	it->counters.pkts_out = 2 * id;
	it->counters.bytes_out = 200 * id;
}

void fs_answer(struct fs_conn *c, const struct nc_msg *q)
{
	union nc_body *r = &c->out.u;
	unsigned i;

	memset(r, 0, sizeof(*r));
	switch (q->type) {
	case NC_MSG_BIND:
		fs_bind_r(&q->u.bind, __atomic_add_fetch(&c->s->next_bid, 1, __ATOMIC_SEQ_CST),
			  &r->bind_r);
		fs_send(c, NC_MSG_BIND_R, q->reqid, &r->bind_r);
		break;
	case NC_MSG_REFRESH:
		status(&r->refresh_r.st, NC_ST_OK, "");
		r->refresh_r.lifetime = q->u.refresh.lifetime ? q->u.refresh.lifetime : 60;
		fs_send(c, NC_MSG_REFRESH_R, q->reqid, &r->refresh_r);
		break;
	case NC_MSG_RELEASE:
		status(&r->status, NC_ST_OK, "");
		fs_send(c, NC_MSG_RELEASE_R, q->reqid, &r->status);
		break;
	case NC_MSG_LIST:
		for (i = 1; i <= 2; i++) {
			if (q->u.list.id && q->u.list.id != i)
				continue;
			item(&r->item, i);
			fs_send(c, NC_MSG_LIST_ITEM, q->reqid, &r->item);
		}
		memset(r, 0, sizeof(*r));
		status(&r->list_r.st, NC_ST_OK, "");
		r->list_r.count = q->u.list.id ? 1 : 2;
		fs_send(c, NC_MSG_LIST_R, q->reqid, &r->list_r);
		break;
	case NC_MSG_STATS:
		status(&r->stats_r.st, NC_ST_OK, "");
		r->stats_r.n = 2;
		strcpy(r->stats_r.stats[0].name, "bindings");
		r->stats_r.stats[0].value = 2;
		strcpy(r->stats_r.stats[1].name, "packets_in");
		r->stats_r.stats[1].value = 12345678901ull;
		fs_send(c, NC_MSG_STATS_R, q->reqid, &r->stats_r);
		break;
	case NC_MSG_CAPS:
		status(&r->caps_r.st, NC_ST_OK, "");
		for (i = NC_MSG_HELLO; i <= NC_MSG_WATCH; i++)
			r->caps_r.msgs[r->caps_r.nmsgs++] = (uint16_t)i;
		r->caps_r.tlvs[r->caps_r.ntlvs++] = NC_T_NAME;
		r->caps_r.tlvs[r->caps_r.ntlvs++] = NC_T_LABEL;
		r->caps_r.lifetime_max = 3600;
		r->caps_r.quota = 100;
		r->caps_r.nrealms = 2;
		strcpy(r->caps_r.realms[0], "inside");
		strcpy(r->caps_r.realms[1], "outside");
		fs_send(c, NC_MSG_CAPS_R, q->reqid, &r->caps_r);
		break;
	case NC_MSG_WATCH:
		status(&r->status, NC_ST_OK, "");
		fs_send(c, NC_MSG_WATCH_R, q->reqid, &r->status);
		for (i = 1; i <= 3; i++) {
			memset(r, 0, sizeof(*r));
			r->event.event = (uint8_t)(i == 3 ? NC_EV_EXPIRED : i);
			item(&r->event.item, i);
			fs_send(c, NC_MSG_EVENT, q->reqid, &r->event);
		}
		break;
	default:
		status(&r->status, NC_ST_BAD_REQUEST, "not a request");
		fs_send(c, NC_MSG_ERROR, q->reqid, &r->status);
	}
}

static void refuse(struct fs_conn *c, const struct nc_msg *q, uint16_t code, const char *reason)
{
	memset(&c->out.u, 0, sizeof(c->out.u));
	status(&c->out.u.status, code, reason);
	fs_send(c, (uint16_t)(q->type | NC_MSG_REPLY), q->reqid, &c->out.u);
}

static enum fs_action handle(struct fs_conn *c, const struct nc_msg *q)
{
	struct fs *s = c->s;
	union nc_body *r = &c->out.u;
	enum fs_action act;

	memset(r, 0, sizeof(*r));
	if (q->type == NC_MSG_HELLO) {
		status(&r->hello_r.st, s->o.hello_status, s->o.hello_status ? "go away" : "");
		snprintf(r->hello_r.name, sizeof(r->hello_r.name), "fake natd");
		if (s->o.secret && !s->o.hello_status) {
			nc_auth_nonce(c->ns);
			memcpy(r->hello_r.nonce, c->ns, NC_NONCE_LEN);
			r->hello_r.has_nonce = true;
		}
		fs_send(c, NC_MSG_HELLO_R, q->reqid, &r->hello_r);
		if (s->o.hello_status)
			return FS_CLOSE;
		c->hello = true;
		c->authed = !s->o.secret;
		return FS_HANDLED;
	}
	if (!c->hello) {
		refuse(c, q, NC_ST_NOT_AUTHORIZED, "say HELLO first");
		return FS_HANDLED;
	}
	if (q->type == NC_MSG_AUTH) {
		const char *k = s->o.secret;

		if (!k || c->authed) {
			refuse(c, q, NC_ST_UNSUPPORTED, "no authentication here");
			return FS_HANDLED;
		}
		if (!nc_auth_check(k, strlen(k), NC_AUTH_CLIENT, c->ns, q->u.auth.nonce,
				   q->u.auth.mac)) {
			refuse(c, q, NC_ST_NOT_AUTHORIZED, "wrong secret");
			return FS_CLOSE;
		}
		status(&r->auth_r.st, NC_ST_OK, "");
		nc_auth_mac(k, strlen(k), NC_AUTH_SERVER, c->ns, q->u.auth.nonce, r->auth_r.mac);
		if (s->o.bad_server_mac)
			r->auth_r.mac[0] ^= 1;
		fs_send(c, NC_MSG_AUTH_R, q->reqid, &r->auth_r);
		c->authed = true;
		return FS_HANDLED;
	}
	if (!c->authed) {
		refuse(c, q, NC_ST_NOT_AUTHORIZED, "authenticate first");
		return FS_HANDLED;
	}
	__atomic_add_fetch(&s->counts[q->type & 0xf], 1, __ATOMIC_SEQ_CST);
	if (q->type == NC_MSG_RELEASE)
		__atomic_store_n(&s->last_release, q->u.release.id, __ATOMIC_SEQ_CST);
	act = s->o.handler ? s->o.handler(c, q, s->o.arg) : FS_DEFAULT;
	if (act == FS_DEFAULT) {
		fs_answer(c, q);
		act = FS_HANDLED;
	}
	return act;
}

/* Serve one connection; true if the server is being stopped. */
static bool serve(struct fs *s, int fd)
{
	struct fs_conn *c = calloc(1, sizeof(*c));
	struct nc_msg *q = malloc(sizeof(*q));
	size_t cap = 2 * NC_MSG_MAX, len = 0;
	uint8_t *buf = malloc(cap);
	bool stopping = false;

	if (!c || !q || !buf)
		abort();
	c->s = s;
	c->fd = fd;
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
		ssize_t n;
		int m;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents) {
			stopping = true;
			break;
		}
		n = read(fd, buf + len, cap - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		while ((m = nc_frame(buf, len)) > 0) {
			enum fs_action act = FS_HANDLED;

			if (nc_decode(buf, (size_t)m, q) == 0)
				act = handle(c, q);
			memmove(buf, buf + m, len - (size_t)m);
			len -= (size_t)m;
			if (act == FS_CLOSE)
				goto out;
		}
		if (m < 0)
			break;
	}
out:
	free(buf);
	free(q);
	free(c);
	return stopping;
}

static void *run(void *arg)
{
	struct fs *s = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN},
				      {.fd = s->wake[0], .events = POLLIN}};
		int fd;
		bool stop;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			break;
		if ((fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		stop = serve(s, fd);
		close(fd);
		if (stop)
			break;
	}
	return NULL;
}

struct fs *fs_start(const struct fs_opts *o)
{
	struct fs *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	s->o = *o;
	if (pipe(s->wake) < 0)
		abort();
	if (o->tcp) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		socklen_t len = sizeof(sin);

		s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
		    getsockname(s->lfd, (struct sockaddr *)&sin, &len) < 0)
			abort();
		s->port = ntohs(sin.sin_port);
	} else {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		strcpy(s->dir, "/tmp/nctest.XXXXXX");
		if (!mkdtemp(s->dir))
			abort();
		snprintf(s->path, sizeof(s->path), "%s/ctl.sock", s->dir);
		strcpy(sun.sun_path, s->path);
		s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
			abort();
	}
	if (listen(s->lfd, 8) < 0 || pthread_create(&s->th, NULL, run, s) != 0)
		abort();
	return s;
}

void fs_stop(struct fs *s)
{
	if (write(s->wake[1], "x", 1) != 1)
		abort();
	pthread_join(s->th, NULL);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	if (s->path[0]) {
		unlink(s->path);
		rmdir(s->dir);
	}
	free(s);
}

const char *fs_path(const struct fs *s)
{
	return s->path;
}

uint16_t fs_port(const struct fs *s)
{
	return s->port;
}

unsigned fs_count(struct fs *s, uint16_t type)
{
	return __atomic_load_n(&s->counts[type & 0xf], __ATOMIC_SEQ_CST);
}

uint32_t fs_last_release(struct fs *s)
{
	return __atomic_load_n(&s->last_release, __ATOMIC_SEQ_CST);
}
