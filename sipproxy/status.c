/* status: sipproxy's status view on a Unix socket (see status.h).
 *
 * Theory of operation. A listening stream socket at the configured path.
 * A client may send one command line first ("ha promote", "ha demote",
 * "ha status": sp_ha_command()); one that sends nothing, closes its
 * writing side, or says nothing within STATUS_CMD_WAIT_MS gets the view.
 * The answer (the view: proxy_status() lines, newline-terminated) is
 * queued on a bufferevent, and the connection is closed once the queue
 * has drained. The view is built
 * from the live state in one go on the event loop, so it is a consistent
 * snapshot. Connections are bounded (STATUS_MAX_CONN) and each is given a
 * few seconds to drain.
 */
#include "status.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sip/sip_alloc.h"
#include "sp_ha.h"

#define STATUS_MAX_CONN 8
#define STATUS_DRAIN_S 5
#define STATUS_CMD_WAIT_MS 200 /* a plain reader waits this long for the view */
#define STATUS_CMD_MAX 128

struct status_srv {
	struct event_base *base;
	struct proxy *proxy;
	int fd;
	struct event *ev;
	unsigned nconn;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct conn {
	struct status_srv *s;
	struct bufferevent *bev;
	bool answered;
};

static void conn_free(struct conn *c)
{
	c->s->nconn--;
	bufferevent_free(c->bev);
	free(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	conn_free(arg); /* everything went out */
}

static void add_line(void *arg, const char *line)
{
	struct evbuffer *out = arg;

	evbuffer_add_printf(out, "%s\n", line);
}

/* Answer cmd (NULL or "": the view), then drain and close. */
static void answer(struct conn *c, const char *cmd)
{
	struct timeval drain = {STATUS_DRAIN_S, 0};
	struct evbuffer *out = bufferevent_get_output(c->bev);

	c->answered = true;
	bufferevent_disable(c->bev, EV_READ);
	if (!cmd || !cmd[0]) {
		struct sip_alloc_stats as;
		char line[200];

		proxy_status(c->s->proxy, add_line, out);
		/* libosip2's free lists on the event loop's thread, where
		 * messages are parsed (sip/sip_alloc.c) */
		sip_alloc_get_stats(&as);
		snprintf(line, sizeof(line),
			 "osip_alloc hits=%llu misses=%llu kept=%llu released=%llu cached_blocks=%zu cached_bytes=%zu",
			 (unsigned long long)as.hits, (unsigned long long)as.misses, (unsigned long long)as.kept,
			 (unsigned long long)as.released, as.blocks_cached, as.bytes_cached);
		add_line(out, line);
	} else if (!strncmp(cmd, "ha ", 3))
		sp_ha_command(proxy_ha(c->s->proxy), cmd + 3, add_line, out);
	else
		add_line(out, "error unknown command (ha promote|demote|status)");
	bufferevent_set_timeouts(c->bev, NULL, &drain);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n;
	char *line;

	if (c->answered)
		return;
	if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF))) {
		answer(c, n < STATUS_CMD_MAX ? line : "?");
		free(line);
	} else if (evbuffer_get_length(in) >= STATUS_CMD_MAX) {
		answer(c, "?");
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	/* nothing said (EOF or the wait ran out): the view */
	if (!c->answered && (what & BEV_EVENT_READING) && (what & (BEV_EVENT_EOF | BEV_EVENT_TIMEOUT))) {
		answer(c, NULL);
		return;
	}
	conn_free(c); /* error, or the drain timeout */
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct status_srv *s = arg;
	struct timeval wait = {0, STATUS_CMD_WAIT_MS * 1000};
	struct conn *c;
	int cfd;

	(void)fd;
	(void)what;
	cfd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (s->nconn >= STATUS_MAX_CONN || !(c = calloc(1, sizeof(*c)))) {
		close(cfd);
		return;
	}
	if (!(c->bev = bufferevent_socket_new(s->base, cfd, BEV_OPT_CLOSE_ON_FREE))) {
		close(cfd);
		free(c);
		return;
	}
	c->s = s;
	s->nconn++;
	bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
	bufferevent_set_timeouts(c->bev, &wait, NULL);
	bufferevent_enable(c->bev, EV_READ);
}

struct status_srv *status_open(struct event_base *base, const char *path, struct proxy *p)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct status_srv *s;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("status socket %s: path too long", path);
		return NULL;
	}
	if (!(s = calloc(1, sizeof(*s))))
		return NULL;
	s->base = base;
	s->proxy = p;
	snprintf(s->path, sizeof(s->path), "%s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		log_err("status socket: %s", strerror(errno));
		free(s);
		return NULL;
	}
	unlink(path); /* a stale socket from an earlier run */
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0660) < 0 ||
	    listen(s->fd, STATUS_MAX_CONN) < 0) {
		log_err("status socket %s: %s", path, strerror(errno));
		close(s->fd);
		free(s);
		return NULL;
	}
	if (!(s->ev = event_new(base, s->fd, EV_READ | EV_PERSIST, on_accept, s)) ||
	    event_add(s->ev, NULL) < 0) {
		log_err("status socket %s: cannot watch it", path);
		status_close(s);
		return NULL;
	}
	return s;
}

void status_close(struct status_srv *s)
{
	if (!s)
		return;
	if (s->ev)
		event_free(s->ev);
	close(s->fd);
	unlink(s->path);
	free(s);
}

/* Send all of buf without raising SIGPIPE: 0, -EPIPE when the proxy has
 * closed the connection (it never read the command), or -errno. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ECONNRESET ? -EPIPE : -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int status_query(const char *path, const char *cmd, FILE *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {STATUS_DRAIN_S, 0};
	char buf[4096], line[STATUS_CMD_MAX + 1];
	size_t got = 0;
	ssize_t n;
	int fd, rc = 0;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (cmd && (strlen(cmd) >= STATUS_CMD_MAX || strchr(cmd, '\n')))
		return -EINVAL;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (cmd) {
		snprintf(line, sizeof(line), "%s\n", cmd);
		/* the proxy may close first (too many status clients, or
		 * stopping): an error, never SIGPIPE */
		if ((rc = send_all(fd, line, strlen(line))) < 0)
			goto out;
	}
	shutdown(fd, SHUT_WR); /* said all: the answer comes at once */
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (!got && cmd && n >= 6 && !memcmp(buf, "error ", 6))
			rc = -EPROTO; /* the command was refused */
		got += (size_t)n;
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
			rc = -EIO;
			goto out;
		}
	}
	if (n < 0)
		rc = errno == ECONNRESET ? -ECONNABORTED : -errno;
	else if (!got)
		rc = -ECONNABORTED; /* closed without a word: nothing was done */
out:
	close(fd);
	return rc;
}
