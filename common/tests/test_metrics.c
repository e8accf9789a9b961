/* test_metrics: the exposition writer (families, labels and their
 * escaping, histograms) and the server: GET /metrics answered with the
 * page, 404 elsewhere, 405 for other methods, the connection cap, the
 * listen address check and its conftab type. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conftab.h"
#include "metrics.h"

static char *page(void (*fn)(FILE *f))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void w_counters(FILE *f)
{
	metrics_family(f, "x_total", METRICS_COUNTER, "a help\nwith \\ in it");
	metrics_sample(f, "x_total", "reason", "a\"b\\c\nd", 7);
	metrics_sample(f, "x_total", NULL, NULL, 18446744073709551615ull);
	metrics_one(f, "g", METRICS_GAUGE, "a gauge", 3);
}

static void test_writer(void **state)
{
	char *p = page(w_counters);

	(void)state;
	assert_string_equal(p, "# HELP x_total a help\\nwith \\\\ in it\n"
			       "# TYPE x_total counter\n"
			       "x_total{reason=\"a\\\"b\\\\c\\nd\"} 7\n"
			       "x_total 18446744073709551615\n"
			       "# HELP g a gauge\n# TYPE g gauge\ng 3\n");
	free(p);
}

static struct metrics_hist hist;

static void w_hist(FILE *f)
{
	metrics_hist_write(f, "lat_seconds", "latency", &hist, 1e-3);
}

static void test_hist(void **state)
{
	static const double b[] = {1, 5, 10};
	char *p;

	(void)state;
	metrics_hist_init(&hist, b, 3);
	metrics_hist_observe(&hist, 0.5);
	metrics_hist_observe(&hist, 1);  /* le is inclusive */
	metrics_hist_observe(&hist, 7);
	metrics_hist_observe(&hist, 500);
	p = page(w_hist);
	assert_string_equal(p, "# HELP lat_seconds latency\n# TYPE lat_seconds histogram\n"
			       "lat_seconds_bucket{le=\"0.001\"} 2\n"
			       "lat_seconds_bucket{le=\"0.005\"} 2\n"
			       "lat_seconds_bucket{le=\"0.01\"} 3\n"
			       "lat_seconds_bucket{le=\"+Inf\"} 4\n"
			       "lat_seconds_sum 0.5085\n"
			       "lat_seconds_count 4\n");
	free(p);
}

static void test_listen_ok(void **state)
{
	(void)state;
	assert_true(metrics_listen_ok("127.0.0.1:9201"));
	assert_true(metrics_listen_ok("[::1]:9201"));
	assert_false(metrics_listen_ok(""));
	assert_false(metrics_listen_ok("127.0.0.1"));
	assert_false(metrics_listen_ok("127.0.0.1:0"));
	assert_false(metrics_listen_ok("127.0.0.1:70000"));
	assert_false(metrics_listen_ok("localhost:9201"));
}

struct cfgtest {
	char listen[METRICS_LISTEN_MAX];
};

static void test_conf_type(void **state)
{
	static const struct conftab_item items[] = {
		{.path = "metrics.listen", .type = &metrics_conf_listen,
		 .off = offsetof(struct cfgtest, listen), .size = METRICS_LISTEN_MAX},
	};
	struct {
		const char *text;
		const char *want;
		int nerr;
	} t[] = {
		{"", "", 0},
		{"metrics: { listen = \"127.0.0.1:9201\"; };", "127.0.0.1:9201", 0},
		{"metrics: { listen = \"\"; };", "", 0},
		{"metrics: { listen = \"127.0.0.1\"; };", "", 1},
		{"metrics: { listen = 9201; };", "", 1},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct conftab ct;
		config_t cfg;
		struct cfgtest out;
		char *errs = NULL;
		size_t elen = 0;
		FILE *ef = open_memstream(&errs, &elen);

		memset(&out, 0x55, sizeof(out));
		conftab_init(&ct, "t.conf", ef);
		config_init(&cfg);
		assert_int_equal(conftab_read_string(&ct, &cfg, t[i].text), 0);
		conftab_load_items(&ct, &cfg, items, 1, &out);
		fclose(ef);
		assert_int_equal(ct.nerr, t[i].nerr);
		if (!t[i].nerr)
			assert_string_equal(out.listen, t[i].want);
		else
			assert_non_null(strstr(errs, "metrics.listen"));
		config_destroy(&cfg);
		free(errs);
	}
}

/* ---- the server, on loopback ---- */

static void fill(void *arg, FILE *f)
{
	(*(int *)arg)++;
	metrics_one(f, "hits_total", METRICS_COUNTER, "pages served", 42);
}

struct client {
	const char *req;
	char reply[4096];
	size_t len;
	int fd;
};

static void on_read(evutil_socket_t fd, short what, void *arg)
{
	struct client *c = arg;
	ssize_t n;

	(void)what;
	n = read(fd, c->reply + c->len, sizeof(c->reply) - 1 - c->len);
	if (n > 0) {
		c->len += (size_t)n;
		return;
	}
	c->reply[c->len] = 0;
	close(fd);
	c->fd = -1;
}

/* Send req to the server on base's loop (it and the client run in the
 * same loop) and wait for the reply. */
static void ask(struct event_base *base, uint16_t port, struct client *c)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct event *ev;

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	c->len = 0;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(c->fd, c->req, strlen(c->req)), (ssize_t)strlen(c->req));
	ev = event_new(base, c->fd, EV_READ | EV_PERSIST, on_read, c);
	event_add(ev, &(struct timeval){5, 0});
	while (c->fd >= 0)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
}

static void test_server(void **state)
{
	struct event_base *base = event_base_new();
	struct metrics_srv *s = NULL;
	struct client c;
	int calls = 0;
	uint16_t port = 0;
	char addr[32];

	(void)state;
	assert_non_null(base);
	/* find a free port: try a few */
	for (int i = 0; i < 50 && !s; i++) {
		port = (uint16_t)(20000 + (getpid() * 7 + i * 131) % 40000);
		snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
		if (metrics_start(base, addr, fill, &calls, &s) < 0)
			s = NULL;
	}
	assert_non_null(s);

	c.req = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	ask(base, port, &c);
	if (!strstr(c.reply, "HTTP/1.1 200"))
		fprintf(stderr, "reply: [%s]\n", c.reply);
	assert_non_null(strstr(c.reply, "HTTP/1.1 200"));
	assert_non_null(strstr(c.reply, "text/plain; version=0.0.4"));
	assert_non_null(strstr(c.reply, "\r\n\r\n# HELP hits_total pages served\n# TYPE hits_total counter\nhits_total 42\n"));
	assert_int_equal(calls, 1);

	c.req = "GET /other HTTP/1.1\r\nHost: x\r\n\r\n";
	ask(base, port, &c);
	assert_non_null(strstr(c.reply, "HTTP/1.1 404"));

	c.req = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
	ask(base, port, &c);
	assert_non_null(strstr(c.reply, "HTTP/1.1 405"));

	c.req = "PUT /metrics HTTP/1.0\r\n\r\n";
	ask(base, port, &c);
	assert_non_null(strstr(c.reply, "HTTP/1.1 405"));
	assert_int_equal(calls, 1);

	metrics_stop(s);
	/* the address is free again */
	assert_int_equal(metrics_start(base, addr, fill, &calls, &s), 0);
	metrics_stop(s);
	assert_int_equal(metrics_start(base, "127.0.0.1", fill, &calls, &s), -1);
	event_base_free(base);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Run base's loop for ms milliseconds. */
static void run_for(struct event_base *base, int ms)
{
	int over = 0;
	struct event *t = evtimer_new(base, on_timer, &over);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(t, &tv);
	while (!over)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* METRICS_MAX_CONNS idle connections fill the server: one more waits in
 * the backlog unserved; once they close, the sweep lets them go, the
 * listener takes it and it is answered. */
static void test_conn_cap(void **state)
{
	struct event_base *base = event_base_new();
	struct metrics_srv *s = NULL;
	int idle[METRICS_MAX_CONNS], calls = 0, extra;
	uint16_t port = 0;
	char addr[32], buf[512];
	const char *req = "GET /metrics HTTP/1.0\r\n\r\n";
	ssize_t n;

	(void)state;
	for (int i = 0; i < 50 && !s; i++) {
		port = (uint16_t)(20000 + (getpid() * 11 + i * 137) % 40000);
		snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
		if (metrics_start(base, addr, fill, &calls, &s) < 0)
			s = NULL;
	}
	assert_non_null(s);
	for (int i = 0; i < METRICS_MAX_CONNS; i++)
		idle[i] = connect_to(port);
	run_for(base, 200);
	extra = connect_to(port);
	assert_int_equal(write(extra, req, strlen(req)), (ssize_t)strlen(req));
	run_for(base, 300);
	assert_int_equal(calls, 0); /* not accepted: the listener is off */
	for (int i = 0; i < METRICS_MAX_CONNS; i++)
		close(idle[i]);
	run_for(base, 1500); /* evhttp sees them close; the sweep (1 s) lets go */
	assert_int_equal(calls, 1);
	n = read(extra, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(strstr(buf, " 200 "));
	close(extra);
	metrics_stop(s);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer),     cmocka_unit_test(test_hist),
		cmocka_unit_test(test_listen_ok),  cmocka_unit_test(test_conf_type),
		cmocka_unit_test(test_server),     cmocka_unit_test(test_conn_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
