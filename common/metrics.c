/* metrics: the text exposition writer and its evhttp server (see metrics.h).
 *
 * Connection cap: evhttp (libevent 2.1) has no limit of its own, so each
 * accepted connection gets its bufferevent from conn_bev(), which keeps a
 * second reference to it. evhttp frees a connection by clearing the
 * bufferevent's callbacks (the event one is set while it lives) and dropping its reference; a sweep each second
 * (only while connections live) sees that and drops ours. At
 * METRICS_MAX_CONNS live connections the listener is disabled (the
 * kernel's backlog holds the rest) and enabled again when one goes. Idle
 * connections are closed by evhttp's timeout; one still open
 * METRICS_LIFETIME_S after it was accepted (a client trickling its
 * headers) is shut down by the sweep.
 */
#include "metrics.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "conftab.h"
#include "log.h"

static void put_escaped(FILE *f, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (*s == '"' && quote)
			fputs("\\\"", f);
		else
			fputc(*s, f);
	}
}

void metrics_family(FILE *f, const char *name, enum metrics_type type, const char *help)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};

	fprintf(f, "# HELP %s ", name);
	put_escaped(f, help, false);
	fprintf(f, "\n# TYPE %s %s\n", name, types[type]);
}

void metrics_sample(FILE *f, const char *name, const char *label, const char *value, uint64_t v)
{
	fputs(name, f);
	if (label) {
		fprintf(f, "{%s=\"", label);
		put_escaped(f, value, true);
		fputs("\"}", f);
	}
	fprintf(f, " %llu\n", (unsigned long long)v);
}

void metrics_one(FILE *f, const char *name, enum metrics_type type, const char *help, uint64_t v)
{
	metrics_family(f, name, type, help);
	metrics_sample(f, name, NULL, NULL, v);
}

void metrics_hist_init(struct metrics_hist *h, const double *bounds, unsigned nbounds)
{
	memset(h, 0, sizeof(*h));
	h->nbounds = nbounds < METRICS_HIST_MAX ? nbounds : METRICS_HIST_MAX;
	memcpy(h->bounds, bounds, h->nbounds * sizeof(bounds[0]));
}

void metrics_hist_observe(struct metrics_hist *h, double v)
{
	unsigned i = 0;

	while (i < h->nbounds && v > h->bounds[i])
		i++;
	h->buckets[i]++;
	h->sum += v;
	h->count++;
}

void metrics_hist_write(FILE *f, const char *name, const char *help, const struct metrics_hist *h,
			double scale)
{
	uint64_t cum = 0;

	metrics_family(f, name, METRICS_HISTOGRAM, help);
	for (unsigned i = 0; i < h->nbounds; i++) {
		cum += h->buckets[i];
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i] * scale,
			(unsigned long long)cum);
	}
	cum += h->buckets[h->nbounds];
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	fprintf(f, "%s_sum %.9g\n", name, h->sum * scale);
	fprintf(f, "%s_count %llu\n", name, (unsigned long long)h->count);
}

/* ---- the server ---- */

struct metrics_srv {
	struct event_base *base;
	struct evhttp *http;
	struct evconnlistener *lst; /* owned by http once bound */
	struct event *sweep;        /* every second while connections live */
	metrics_fill_fn fill;
	void *arg;
	unsigned nconns;
	struct {
		struct bufferevent *bev; /* our reference; evhttp holds the other */
		uint32_t deadline; /* clock_mono_s() */
	} conns[METRICS_MAX_CONNS];
	char addr[METRICS_LISTEN_MAX];
};

static bool parse_listen(const char *s, struct sockaddr_storage *ss, int *len)
{
	*len = sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	if (!s[0] || strlen(s) >= METRICS_LISTEN_MAX || evutil_parse_sockaddr_port(s, (struct sockaddr *)ss, len) < 0)
		return false;
	/* a port is required: evutil takes "1.2.3.4" as port 0 */
	if (ss->ss_family == AF_INET)
		return ((struct sockaddr_in *)ss)->sin_port != 0;
	if (ss->ss_family == AF_INET6)
		return ((struct sockaddr_in6 *)ss)->sin6_port != 0;
	return false;
}

bool metrics_listen_ok(const char *s)
{
	struct sockaddr_storage ss;
	int len;

	return parse_listen(s, &ss, &len);
}

/* Once a second: let go of the connections evhttp has freed (it cleared
 * their callbacks), and shut down those past their lifetime (evhttp sees
 * the end of the stream and frees them; the next sweep lets go). */
static void on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_srv *s = arg;
	uint32_t now = clock_mono_s();
	unsigned i = 0;
	(void)fd;
	(void)what;

	while (i < s->nconns) {
		struct bufferevent *b = s->conns[i].bev;
		bufferevent_event_cb ev;
		evutil_socket_t cfd;

		/* evhttp keeps an event callback on a live connection (the
		 * read one is off while it writes) */
		bufferevent_getcb(b, NULL, NULL, &ev, NULL);
		if (!ev) {
			bufferevent_decref(b);
			s->conns[i] = s->conns[--s->nconns];
			if (s->nconns == METRICS_MAX_CONNS - 1)
				evconnlistener_enable(s->lst);
			continue;
		}
		if (now >= s->conns[i].deadline && (cfd = bufferevent_getfd(b)) >= 0)
			shutdown(cfd, SHUT_RDWR);
		i++;
	}
	if (!s->nconns)
		event_del(s->sweep);
}

/* evhttp asks for each accepted connection's bufferevent: count it. */
static struct bufferevent *conn_bev(struct event_base *base, void *arg)
{
	struct metrics_srv *s = arg;
	struct bufferevent *b;

	if (s->nconns >= METRICS_MAX_CONNS || !(b = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)))
		return NULL; /* not reached (the listener is off at the cap); evhttp makes its own */
	bufferevent_incref(b);
	s->conns[s->nconns].bev = b;
	s->conns[s->nconns].deadline = clock_mono_s() + METRICS_LIFETIME_S;
	if (++s->nconns == METRICS_MAX_CONNS)
		evconnlistener_disable(s->lst);
	if (!event_pending(s->sweep, EV_TIMEOUT, NULL))
		event_add(s->sweep, &(struct timeval){1, 0});
	return b;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct metrics_srv *s = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	struct evbuffer *body = NULL;
	char *page = NULL;
	size_t len = 0;
	FILE *f;

	evhttp_add_header(oh, "Connection", "close");
	if (!path || strcmp(path, "/metrics")) {
		evhttp_send_error(req, HTTP_NOTFOUND, "Not Found");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(oh, "Allow", "GET, HEAD");
		evhttp_send_error(req, HTTP_BADMETHOD, "Method Not Allowed");
		return;
	}
	if (!(f = open_memstream(&page, &len))) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "Out of memory");
		return;
	}
	s->fill(s->arg, f);
	if (fclose(f) != 0 || !(body = evbuffer_new()) || evbuffer_add(body, page, len) < 0) {
		evhttp_send_error(req, HTTP_SERVUNAVAIL, "Out of memory");
	} else {
		evhttp_add_header(oh, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		evhttp_send_reply(req, HTTP_OK, "OK", body);
	}
	if (body)
		evbuffer_free(body);
	free(page);
}

int metrics_start(struct event_base *base, const char *addr, metrics_fill_fn fill, void *arg,
		  struct metrics_srv **out)
{
	struct metrics_srv *s = calloc(1, sizeof(*s));
	struct sockaddr_storage ss;
	int len;

	if (!s) {
		log_err("metrics %s: out of memory", addr);
		return -1;
	}
	s->base = base;
	s->fill = fill;
	s->arg = arg;
	snprintf(s->addr, sizeof(s->addr), "%s", addr);
	if (!parse_listen(addr, &ss, &len)) {
		log_err("metrics %s: not an address:port", addr);
		goto fail;
	}
	if (!(s->http = evhttp_new(base))) {
		log_err("metrics %s: evhttp_new failed", addr);
		goto fail;
	}
	evhttp_set_max_headers_size(s->http, METRICS_MAX_HEADERS);
	evhttp_set_max_body_size(s->http, 0);
	evhttp_set_timeout(s->http, METRICS_TIMEOUT_S);
	/* every method reaches on_request, which answers 405 (evhttp's own
	 * refusal would be 501) */
	evhttp_set_allowed_methods(s->http, 0x1ff);
	evhttp_set_gencb(s->http, on_request, s);
	evhttp_set_bevcb(s->http, conn_bev, s);
	if (!(s->sweep = event_new(base, -1, EV_PERSIST, on_sweep, s))) {
		log_err("metrics %s: event_new failed", addr);
		goto fail;
	}
	s->lst = evconnlistener_new_bind(base, NULL, NULL,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
					 64, (struct sockaddr *)&ss, len);
	if (!s->lst) {
		log_err("metrics %s: bind: %s", addr, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		goto fail;
	}
	if (!evhttp_bind_listener(s->http, s->lst)) {
		log_err("metrics %s: evhttp_bind_listener failed", addr);
		evconnlistener_free(s->lst);
		s->lst = NULL;
		goto fail;
	}
	log_notice("metrics: serving http://%s/metrics", addr);
	*out = s;
	return 0;
fail:
	metrics_stop(s);
	return -1;
}

void metrics_stop(struct metrics_srv *s)
{
	if (!s)
		return;
	if (s->http)
		evhttp_free(s->http); /* frees the listener and the connections */
	for (unsigned i = 0; i < s->nconns; i++)
		bufferevent_decref(s->conns[i].bev);
	if (s->sweep)
		event_free(s->sweep);
	free(s);
}

/* ---- configuration ---- */

static void listen_load(struct conftab *ct, const config_setting_t *st, const struct conftab_item *it,
			char *base)
{
	const char *v = conftab_str_get(ct, st, it);

	if (!v)
		return;
	if (v[0] && !metrics_listen_ok(v)) {
		conftab_err(ct, st, NULL, "\"%s\" is not \"address:port\" (\"127.0.0.1:9201\", \"[::1]:9201\")",
			    v);
		return;
	}
	snprintf(base + it->off, it->size, "%s", v);
}

const struct conftab_type metrics_conf_listen = {conftab_str_init, listen_load};
