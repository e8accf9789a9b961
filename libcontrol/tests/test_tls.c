/* test_tls: the blocking and async clients over TLS (nc_client_open_tls,
 * nc_async_open_tls) against a small TLS server in a thread: a good
 * certificate works (HELLO, a request, its reply), natd's certificate from
 * another CA or for another name, a server that does not speak TLS, a
 * server refusing a client without a certificate, and a key readable by
 * others each fail with their own error. Certificates are made per run
 * (common/tests/tlstest.c). The server links common/tlsctx.c itself; the
 * clients use only what libcontrol.so exports.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <libcontrol/client.h>
#include <openssl/ssl.h>

#include "tlsctx.h"
#include "tlstest.h"

#define T_MS 5000

static char dir[256];

struct srv {
	int lfd;
	uint16_t port;
	SSL_CTX *ctx; /* NULL: a plain server that does not speak TLS */
	pthread_t th;
	int served;   /* requests answered */
};

static const char *path(const char *base, const char *ext)
{
	/* a ring: a test holds a struct nc_tls of these while the server
	 * takes its own */
	static char buf[32][512];
	static int i;

	i = (i + 1) % 32;
	return tlstest_path(buf[i], sizeof(buf[i]), dir, base, ext);
}

/* Read one whole message from s into buf: its length, or -1. */
static int read_msg(SSL *s, uint8_t *buf, size_t cap)
{
	size_t have = 0;

	for (;;) {
		int n = nc_frame(buf, have);
		size_t got;

		if (n > 0)
			return n;
		if (n < 0 || have == cap || SSL_read_ex(s, buf + have, cap - have, &got) != 1)
			return -1;
		have += got;
	}
}

static void serve_tls(struct srv *v, int fd)
{
	static uint8_t in[NC_MSG_MAX], out[NC_MSG_MAX];
	SSL *s = SSL_new(v->ctx);
	struct nc_msg m;
	int n;

	SSL_set_fd(s, fd);
	if (SSL_accept(s) != 1) {
		/* the alert is written: linger so the client reads it */
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char junk[512];

		shutdown(fd, SHUT_WR);
		while (poll(&p, 1, 1000) > 0 && read(fd, junk, sizeof(junk)) > 0)
			;
		SSL_free(s);
		return;
	}
	while ((n = read_msg(s, in, sizeof(in))) > 0 && nc_decode(in, (size_t)n, &m) == 0) {
		union {
			struct nc_hello_r hello;
			struct nc_status st;
		} r;
		int len;

		memset(&r, 0, sizeof(r));
		r.st.code = NC_ST_OK;
		r.st.epoch = 42;
		if (m.type == NC_MSG_HELLO)
			snprintf(r.hello.name, sizeof(r.hello.name), "tls test server");
		len = nc_encode(out, sizeof(out), (uint16_t)(m.type | NC_MSG_REPLY), m.reqid, &r);
		if (len < 0 || SSL_write(s, out, len) != len)
			break;
		v->served++;
	}
	SSL_shutdown(s);
	SSL_free(s);
}

static void *srv_main(void *arg)
{
	struct srv *v = arg;
	int fd = accept(v->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	if (v->ctx) {
		serve_tls(v, fd);
	} else {
		/* an old natd's plain TCP port: bytes that are not TLS */
		char buf[512];
		static const char junk[] = "NC\x01\x00 this is not TLS at all";

		(void)!read(fd, buf, sizeof(buf));
		(void)!write(fd, junk, sizeof(junk));
	}
	close(fd);
	return NULL;
}

/* Start a one-connection server; require: a client certificate. */
static void srv_start(struct srv *v, bool tls, bool require)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	struct tlsctx_conf tc = {
		.cert = path("natd", "pem"),
		.key = path("natd", "key"),
		.ca = path("ca", "pem"),
		.verify_peer = true,
		.require_peer_cert = require,
	};
	char err[256];

	memset(v, 0, sizeof(*v));
	if (tls) {
		v->ctx = tlsctx_server(&tc, err, sizeof(err));
		if (!v->ctx)
			fail_msg("tlsctx_server: %s", err);
	}
	assert_true((v->lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(v->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(v->lfd, 4), 0);
	assert_int_equal(getsockname(v->lfd, (struct sockaddr *)&sin, &len), 0);
	v->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&v->th, NULL, srv_main, v), 0);
}

static void srv_stop(struct srv *v)
{
	shutdown(v->lfd, SHUT_RDWR); /* a server never connected to leaves accept() */
	pthread_join(v->th, NULL);
	close(v->lfd);
	SSL_CTX_free(v->ctx);
}

static struct nc_tls good_tls(void)
{
	return (struct nc_tls){path("client", "pem"), path("client", "key"), path("ca", "pem"),
			       "natd.test"};
}

static int open_and_release(struct srv *v, const struct nc_tls *tls, struct nc_status *st)
{
	struct nc_release rel = {.id = 7, .epoch = 42};
	struct nc_client *cl;
	int r;

	if ((r = nc_client_open_tls("127.0.0.1", v->port, "test", NULL, 0, tls, &cl)) < 0)
		return r;
	r = nc_client_release(cl, &rel, st, T_MS);
	nc_client_close(cl);
	return r;
}

static void test_good(void **state)
{
	struct nc_tls tls = good_tls();
	struct nc_status st;
	struct srv v;

	(void)state;
	srv_start(&v, true, true);
	assert_int_equal(open_and_release(&v, &tls, &st), 0);
	assert_int_equal(st.code, NC_ST_OK);
	srv_stop(&v);
	assert_int_equal(v.served, 2); /* HELLO and RELEASE, through the session */
}

/* Opening with tls against a server (TLS or not) fails with want, and the
 * server answered nothing. */
static void expect_refused(const struct nc_tls *tls, bool tls_server, int want)
{
	struct nc_status st;
	struct srv v;

	srv_start(&v, tls_server, true);
	assert_int_equal(open_and_release(&v, tls, &st), want);
	srv_stop(&v);
	assert_int_equal(v.served, 0);
}

static void test_wrong_ca(void **state)
{
	struct nc_tls tls = good_tls();

	(void)state;
	tls.ca = path("otherca", "pem");
	expect_refused(&tls, true, NC_E_TLS_VERIFY);
}

static void test_wrong_name(void **state)
{
	struct nc_tls tls = good_tls();

	(void)state;
	tls.server_name = "someone-else.test";
	expect_refused(&tls, true, NC_E_TLS_VERIFY);
}

static void test_no_tls_server(void **state)
{
	struct nc_tls tls = good_tls();

	(void)state;
	expect_refused(&tls, false, NC_E_TLS);
	assert_string_not_equal(nc_strerror(NC_E_TLS), "unknown error");
}

static void test_no_client_cert(void **state)
{
	struct nc_tls tls = good_tls();

	(void)state;
	tls.cert = tls.key = NULL;
	expect_refused(&tls, true, NC_E_TLS_REFUSED);
}

static void test_files(void **state)
{
	struct nc_tls tls = good_tls();
	struct nc_client *cl = NULL;

	(void)state;
	/* checked before any connection: no server needed */
	assert_int_equal(chmod(path("client", "key"), 0644), 0);
	assert_int_equal(nc_client_open_tls("127.0.0.1", 9, "t", NULL, 0, &tls, &cl), NC_E_TLS_FILES);
	assert_int_equal(chmod(path("client", "key"), 0600), 0);
	tls.ca = path("missing", "pem");
	assert_int_equal(nc_client_open_tls("127.0.0.1", 9, "t", NULL, 0, &tls, &cl), NC_E_TLS_FILES);
	tls = good_tls();
	tls.key = NULL; /* a certificate without its key */
	assert_int_equal(nc_client_open_tls("127.0.0.1", 9, "t", NULL, 0, &tls, &cl), NC_E_INVAL);
	assert_int_equal(nc_client_open_tls("127.0.0.1", 9, "t", NULL, 0, NULL, &cl), NC_E_INVAL);
	assert_null(cl);
}

/* ---- async ---- */

struct actx {
	struct event_base *base;
	struct nc_async *ac;
	int conn, done;
	bool got_conn, got_done;
	struct nc_status st;
};

static void on_release(void *arg, int err, const struct nc_status *rep)
{
	struct actx *a = arg;

	a->done = err;
	a->got_done = true;
	if (rep)
		a->st = *rep;
	event_base_loopbreak(a->base);
}

static void on_conn(void *arg, int err)
{
	struct actx *a = arg;

	if (a->got_conn)
		return; /* the loss after the test is over */
	a->conn = err;
	a->got_conn = true;
	if (err)
		event_base_loopbreak(a->base);
}

static void async_run(struct srv *v, const struct nc_tls *tls, struct actx *a)
{
	struct nc_release rel = {.id = 7, .epoch = 42};
	struct timeval tv = {T_MS / 1000, 0};

	memset(a, 0, sizeof(*a));
	assert_non_null(a->base = event_base_new());
	assert_int_equal(nc_async_open_tls(a->base, "127.0.0.1", v->port, "test", NULL, 0, tls, on_conn,
					   a, &a->ac),
			 0);
	assert_true(nc_async_release(a->ac, &rel, T_MS, on_release, a) > 0);
	event_base_loopexit(a->base, &tv);
	event_base_dispatch(a->base);
	nc_async_close(a->ac);
	event_base_free(a->base);
}

static void test_async_good(void **state)
{
	struct nc_tls tls = good_tls();
	struct actx a;
	struct srv v;

	(void)state;
	srv_start(&v, true, true);
	async_run(&v, &tls, &a);
	srv_stop(&v);
	assert_true(a.got_conn);
	assert_int_equal(a.conn, 0);
	assert_true(a.got_done);
	assert_int_equal(a.done, 0);
	assert_int_equal(a.st.code, NC_ST_OK);
	assert_int_equal(v.served, 2);
}

static void test_async_wrong_ca(void **state)
{
	struct nc_tls tls = good_tls();
	struct actx a;
	struct srv v;

	(void)state;
	tls.ca = path("otherca", "pem");
	srv_start(&v, true, true);
	async_run(&v, &tls, &a);
	srv_stop(&v);
	assert_true(a.got_conn);
	assert_int_equal(a.conn, NC_E_TLS_VERIFY);
	assert_true(a.got_done); /* the pending request failed too */
	assert_int_equal(a.done, -ECONNRESET);
}

static void test_async_no_client_cert(void **state)
{
	struct nc_tls tls = good_tls();
	struct actx a;
	struct srv v;

	(void)state;
	tls.cert = tls.key = NULL;
	srv_start(&v, true, true);
	async_run(&v, &tls, &a);
	srv_stop(&v);
	assert_int_equal(a.conn, NC_E_TLS_REFUSED);
	assert_int_equal(v.served, 0);
}

static int setup(void **state)
{
	(void)state;
	if (tlstest_tmpdir(dir, sizeof(dir)) < 0 || tlstest_ca(dir, "ca") < 0 ||
	    tlstest_ca(dir, "otherca") < 0 || tlstest_leaf(dir, "ca", "natd", "natd.test") < 0 ||
	    tlstest_leaf(dir, "ca", "client", "proxyA") < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	tlstest_rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_wrong_ca),
		cmocka_unit_test(test_wrong_name),
		cmocka_unit_test(test_no_tls_server),
		cmocka_unit_test(test_no_client_cert),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_async_good),
		cmocka_unit_test(test_async_wrong_ca),
		cmocka_unit_test(test_async_no_client_cert),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
