/* Unit tests for SIP over TLS in transport.c + transport_tls.c, on loopback.
 *
 * Two transports share one event_base: A listens for TLS, B connects to
 * it (tp_send with dst.tls). Certificates are made per run with the
 * OpenSSL API (common/tests/tlstest.c): a CA, A's certificate for
 * sip.example, B's client certificates for egress.example and
 * other.example, and an unrelated CA's certificate for egress.example.
 * The event_base runs in bounded slices; SIGALRM guards every test.
 *
 * Covered: a TLS round trip with the reply on the same connection
 * (from.tls, no second connection), messages, a ping and a split stream
 * through the shared framer; a TCP client that stays silent (handshake
 * timeout) or sends SIP in clear (handshake failed), each while a good TLS
 * client works beside it; B refusing A for the wrong name; mutual TLS:
 * the configured peer gets in with its certificate and is refused with
 * another name's, another CA's, or none; RFC 5923 aliases (only for a
 * verified peer); reload with a new certificate
 * keeping the live connection, a reload with a lax key refused;
 * tp_check_tls() (sipproxy -n) naming the problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>

#include "prefix.h"
#include "tlsctx.h"
#include "tlstest.h"
#include "evslice.h"
#include "transport.h"

#define MAX_RX 16

struct side {
	struct sp_conf conf;
	struct transport *tp;
	struct tp_addr rx_from[MAX_RX];
	char rx[MAX_RX][256];
	unsigned n;
	bool echo;
};

struct ctx {
	struct event_base *base;
	struct side a, b;
	uint16_t port; /* A's TLS port */
};

static char dir[256];

static const char *path(const char *base, const char *ext)
{
	static char buf[8][512];
	static unsigned i;

	i = (i + 1) % 8;
	return tlstest_path(buf[i], sizeof(buf[i]), dir, base, ext);
}


static const char REPLY[] = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";

static void on_rx(void *arg, const struct tp_addr *from, const char *buf, size_t len)
{
	struct side *s = arg;

	if (s->n < MAX_RX) {
		s->rx_from[s->n] = *from;
		snprintf(s->rx[s->n], sizeof(s->rx[0]), "%.*s", (int)len, buf);
		s->n++;
	}
	if (s->echo)
		assert_int_equal(tp_send(s->tp, from, REPLY, sizeof(REPLY) - 1), 0);
}

static struct sockaddr_in lo(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static uint16_t free_port(void)
{
	struct sockaddr_in a = lo(0);
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static void tls_files(struct sp_conf *c, const char *leaf, const char *ca)
{
	snprintf(c->tls.cert, sizeof(c->tls.cert), "%s", path(leaf, "pem"));
	snprintf(c->tls.key, sizeof(c->tls.key), "%s", path(leaf, "key"));
	snprintf(c->tls.ca, sizeof(c->tls.ca), "%s", path(ca, "pem"));
}

static void add_peer(struct sp_conf *c, const char *name, bool mutual)
{
	struct spc_tls_peer *p = &c->tls.peers[c->tls.npeers++];

	assert_int_equal(prefix_parse("127.0.0.1/32", &p->prefix), 0);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->mutual = mutual;
}

static void base_conf(struct sp_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->max_message = 65535;
	c->tcp_max_connections = 64;
	c->tcp_idle_timeout = 0;
	c->tls.verify_peers = true;
	c->tls.handshake_timeout = 1;
	c->nlisten = 1;
}

/* A: a TLS listener (and a UDP socket on the same port) with sip.example;
 * B: UDP only, presenting leaf as its client certificate. */
static int setup(void **state)
{
	struct ctx *x = calloc(1, sizeof(*x));
	int tries, rc = -1;

	assert_non_null(x);
	alarm(20);
	x->base = event_base_new();
	assert_non_null(x->base);
	base_conf(&x->a.conf);
	tls_files(&x->a.conf, "srv", "ca");
	x->a.echo = true;
	for (tries = 0; tries < 20 && rc != 0; tries++) {
		x->port = free_port();
		x->a.conf.listen[0].addr = lo(free_port());
		x->a.conf.listen[0].tls = true;
		x->a.conf.listen[0].tls_port = x->port;
		rc = tp_open(x->base, &x->a.conf, on_rx, &x->a, &x->a.tp);
	}
	assert_int_equal(rc, 0);
	base_conf(&x->b.conf);
	tls_files(&x->b.conf, "cli", "ca");
	add_peer(&x->b.conf, "sip.example", false); /* who A must be */
	*state = x;
	return 0;
}

static void open_b(struct ctx *x)
{
	int tries, rc = -1;

	for (tries = 0; tries < 20 && rc != 0; tries++) {
		x->b.conf.listen[0].addr = lo(free_port());
		x->b.conf.listen[0].udp = true;
		rc = tp_open(x->base, &x->b.conf, on_rx, &x->b, &x->b.tp);
	}
	assert_int_equal(rc, 0);
}

static int teardown(void **state)
{
	struct ctx *x = *state;

	tp_close(x->a.tp);
	tp_close(x->b.tp);
	event_base_free(x->base);
	free(x);
	alarm(0);
	return 0;
}

static struct tp_stats stats(struct transport *tp)
{
	struct tp_stats st;

	tp_get_stats(tp, &st);
	return st;
}

static const char INVITE[] = "INVITE sip:bob@sip.example SIP/2.0\r\nContent-Length: 4\r\n\r\nbody";

/* B sends msg to A over TLS. */
static int b_send(struct ctx *x, const char *msg)
{
	struct tp_addr d = {.tcp = true, .tls = true, .peer = lo(x->port), .listen = 0};

	return tp_send(x->b.tp, &d, msg, strlen(msg));
}

static void test_round_trip(void **state)
{
	struct ctx *x = *state;
	struct tp_stats sa, sb;

	open_b(x);
	/* two messages and a ping in one write, then one more */
	assert_int_equal(b_send(x, "OPTIONS sip:a SIP/2.0\r\nl: 0\r\n\r\n\r\n\r\n"
				   "MESSAGE sip:a SIP/2.0\r\nContent-Length: 2\r\n\r\nhi"), 0);
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, x->a.n == 3 && x->b.n == 3, 3000);
	assert_int_equal(x->a.n, 3);
	assert_true(x->a.rx_from[0].tls && x->a.rx_from[0].tcp);
	assert_string_equal(x->a.rx[1], "MESSAGE sip:a SIP/2.0\r\nContent-Length: 2\r\n\r\nhi");
	assert_string_equal(x->a.rx[2], INVITE);
	/* the replies came back on the same connection, over TLS */
	assert_int_equal(x->b.n, 3);
	assert_true(x->b.rx_from[0].tls);
	assert_string_equal(x->b.rx[0], REPLY);
	sa = stats(x->a.tp);
	sb = stats(x->b.tp);
	assert_int_equal(sa.tcp_accepted, 1);
	assert_int_equal(sa.tls_open, 1);
	assert_int_equal(sb.tcp_connected, 1);
	assert_int_equal(sa.tls_rx, 3);
	assert_int_equal(sa.tls_tx, 3);
	assert_int_equal(sb.tls_tx, 2); /* two tp_send() calls */
	assert_int_equal(sa.tls_handshakes, 1);
	assert_int_equal(sb.tls_handshakes, 1);
	assert_int_equal(sa.tcp_framing_errors, 0);
	assert_int_equal(sa.tcp_rx, 0);
	/* plain TCP to A is not on offer: no TCP listener */
	{
		struct tp_addr d = {.tcp = true, .peer = lo(x->port)};

		assert_true(tp_send(x->b.tp, &d, INVITE, sizeof(INVITE) - 1) < 0);
	}
}

static int raw_client(uint16_t port)
{
	struct sockaddr_in a = lo(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Closed by the peer: read returns 0 (or an error) without blocking long. */
static bool closed_by_peer(struct ctx *x, int fd)
{
	char b[256];
	ssize_t n;

	RUN_UNTIL(x->base, (n = recv(fd, b, sizeof(b), MSG_DONTWAIT | MSG_PEEK)) == 0 ||
				   (n < 0 && errno != EAGAIN), 3000);
	n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	while (n > 0) /* an alert first */
		n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN);
}

static void test_silent_and_garbage(void **state)
{
	struct ctx *x = *state;
	static const char clear[] = "REGISTER sip:sip.example SIP/2.0\r\nContent-Length: 0\r\n\r\n";
	uint64_t t0 = mono_ms();
	int silent, garbage;

	open_b(x);
	silent = raw_client(x->port);
	garbage = raw_client(x->port);
	assert_int_equal(send(garbage, clear, sizeof(clear) - 1, 0), (ssize_t)sizeof(clear) - 1);
	/* a good client beside them */
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, stats(x->a.tp).tls_handshake_failed == 1 && x->b.n == 1, 3000);
	assert_int_equal(stats(x->a.tp).tls_handshake_failed, 1);
	assert_true(closed_by_peer(x, garbage));
	assert_int_equal(x->b.n, 1);
	assert_int_equal(x->a.n, 1);
	/* the silent one is cut at tls.handshake_timeout (1 s), not before */
	RUN_UNTIL(x->base, stats(x->a.tp).tls_handshake_timeout == 1, 3000);
	assert_int_equal(stats(x->a.tp).tls_handshake_timeout, 1);
	assert_true(mono_ms() - t0 >= 900);
	assert_true(closed_by_peer(x, silent));
	assert_int_equal(stats(x->a.tp).tls_open, 1); /* B's, still up */
	assert_int_equal(stats(x->a.tp).tcp_rx, 0);
	assert_int_equal(x->a.n, 1); /* nothing in clear was delivered */
	close(silent);
	close(garbage);
	/* the good connection still carries messages */
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, x->b.n == 2, 3000);
	assert_int_equal(x->b.n, 2);
}

/* A raw client bound to source address src (host order). */
static int raw_client_from(uint16_t port, uint32_t src)
{
	struct sockaddr_in a = lo(port), me = lo(0);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	me.sin_addr.s_addr = htonl(src);
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* sip.tcp_max_per_source counts TLS connections as TCP ones (issue 13): B
 * at the cap of 1 from 127.0.0.1, a further 127.0.0.1 connection is closed
 * before any handshake, 127.0.0.2 still gets in, B's connection still
 * carries messages, and once B's is gone 127.0.0.1 connects again. */
static void test_max_per_source(void **state)
{
	struct ctx *x = *state;
	int tries, rc = -1, over, other;

	tp_close(x->a.tp);
	x->a.tp = NULL;
	x->a.conf.tcp_max_per_source = 1;
	x->a.conf.tls.handshake_timeout = 10; /* the raw clients outlive the test */
	for (tries = 0; tries < 20 && rc != 0; tries++) {
		x->port = free_port();
		x->a.conf.listen[0].tls_port = x->port;
		rc = tp_open(x->base, &x->a.conf, on_rx, &x->a, &x->a.tp);
	}
	assert_int_equal(rc, 0);
	open_b(x);
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, x->a.n == 1 && x->b.n == 1, 3000);
	assert_int_equal(x->b.n, 1);

	over = raw_client_from(x->port, INADDR_LOOPBACK);
	assert_true(closed_by_peer(x, over));
	assert_int_equal(stats(x->a.tp).tcp_refused_per_source, 1);
	assert_int_equal(stats(x->a.tp).tls_handshake_failed, 0);
	assert_int_equal(stats(x->a.tp).tls_open, 1);

	other = raw_client_from(x->port, INADDR_LOOPBACK + 1); /* 127.0.0.2 */
	RUN_UNTIL(x->base, stats(x->a.tp).tcp_accepted == 2, 3000);
	assert_int_equal(stats(x->a.tp).tcp_accepted, 2);
	assert_int_equal(stats(x->a.tp).tls_open, 2);

	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, x->a.n == 2 && x->b.n == 2, 3000);
	assert_int_equal(x->a.n, 2);
	assert_int_equal(x->b.n, 2);

	/* B's connection closed: its slot is free for a new TLS connection */
	tp_close(x->b.tp);
	x->b.tp = NULL;
	RUN_UNTIL(x->base, stats(x->a.tp).tls_open == 1, 3000);
	assert_int_equal(stats(x->a.tp).tls_open, 1);
	open_b(x);
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, x->a.n == 3 && x->b.n == 3, 3000);
	assert_int_equal(x->b.n, 3);
	assert_int_equal(stats(x->a.tp).tls_handshakes, 2);
	assert_int_equal(stats(x->a.tp).tcp_refused_per_source, 1);
	close(over);
	close(other);
}

static void test_server_name(void **state)
{
	struct ctx *x = *state;

	/* B expects A to be wrong.example: refused, nothing delivered */
	snprintf(x->b.conf.tls.peers[0].name, SPC_HOST_MAX, "wrong.example");
	open_b(x);
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, stats(x->b.tp).tls_peer_rejected == 1, 3000);
	assert_int_equal(stats(x->b.tp).tls_peer_rejected, 1);
	assert_int_equal(stats(x->b.tp).send_errors, 1);
	RUN_UNTIL(x->base, stats(x->a.tp).tls_open == 0, 1000);
	assert_int_equal(x->a.n, 0);
	tp_close(x->b.tp);
	x->b.tp = NULL;
	/* without a peer entry the address is the name: A's certificate has no
	 * IP 127.0.0.1, so that is refused too */
	x->b.conf.tls.npeers = 0;
	open_b(x);
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, stats(x->b.tp).tls_peer_rejected == 1, 3000);
	assert_int_equal(stats(x->b.tp).tls_peer_rejected, 1);
	tp_close(x->b.tp);
	x->b.tp = NULL;
	/* and with verify_peers off it goes through */
	x->b.conf.tls.verify_peers = false;
	open_b(x);
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, x->b.n == 1, 3000);
	assert_int_equal(x->a.n, 1);
}

/* A requires egress.example's certificate from 127.0.0.1; B tries with leaf. */
static void mutual_try(struct ctx *x, const char *leaf, bool good)
{
	tp_close(x->b.tp);
	x->b.tp = NULL;
	x->a.n = x->b.n = 0;
	snprintf(x->b.conf.tls.cert, SPC_PATH_MAX, "%s", path(leaf, "pem"));
	snprintf(x->b.conf.tls.key, SPC_PATH_MAX, "%s", path(leaf, "key"));
	open_b(x);
	assert_int_equal(b_send(x, INVITE), 0);
	if (good) {
		RUN_UNTIL(x->base, x->b.n == 1, 3000);
		assert_int_equal(x->a.n, 1);
		assert_int_equal(x->b.n, 1);
	} else {
		uint64_t before = stats(x->a.tp).tls_peer_rejected;

		RUN_UNTIL(x->base, stats(x->a.tp).tls_peer_rejected == before + 1, 3000);
		assert_int_equal(stats(x->a.tp).tls_peer_rejected, before + 1);
		run_for(x->base, 50);
		assert_int_equal(x->a.n, 0);
	}
}

/* A client without a certificate (sipproxy always has one): plain OpenSSL
 * on a non-blocking socket, driven between slices of the event loop. */
static void mutual_no_cert(struct ctx *x)
{
	struct tlsctx_conf cc = {.ca = path("ca", "pem"), .verify_peer = true};
	uint64_t before = stats(x->a.tp).tls_peer_rejected, dl = mono_ms() + 3000;
	char err[256], buf[256];
	SSL_CTX *ctx = tlsctx_client(&cc, err, sizeof(err));
	SSL *s;
	int fd = raw_client(x->port), rc = 0;
	bool sent = false;

	assert_non_null(ctx);
	s = SSL_new(ctx);
	assert_non_null(s);
	assert_int_equal(tlsctx_expect_name(s, "sip.example", err, sizeof(err)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	SSL_set_fd(s, fd);
	SSL_set_connect_state(s);
	x->a.n = 0;
	while (stats(x->a.tp).tls_peer_rejected == before && mono_ms() < dl) {
		if (!sent && SSL_do_handshake(s) == 1)
			sent = SSL_write(s, INVITE, (int)sizeof(INVITE) - 1) > 0;
		else if (sent)
			rc = SSL_read(s, buf, sizeof(buf));
		run_for(x->base, 5);
	}
	(void)rc;
	assert_true(sent); /* TLS 1.3: the client finishes before the server judges */
	assert_int_equal(stats(x->a.tp).tls_peer_rejected, before + 1);
	run_for(x->base, 50);
	assert_int_equal(x->a.n, 0); /* the INVITE was never delivered */
	SSL_free(s);
	SSL_CTX_free(ctx);
	close(fd);
}

static void test_mutual(void **state)
{
	struct ctx *x = *state;

	/* re-open A with the mutual peer entry */
	tp_close(x->a.tp);
	add_peer(&x->a.conf, "egress.example", true);
	assert_int_equal(tp_open(x->base, &x->a.conf, on_rx, &x->a, &x->a.tp), 0);
	mutual_try(x, "cli", true);         /* egress.example, our CA */
	mutual_try(x, "other", false);      /* our CA, another name */
	mutual_try(x, "evil", false);       /* the right name, another CA */
	mutual_no_cert(x);                  /* no certificate */
	mutual_try(x, "cli", true);         /* and the right one again */
	assert_int_equal(stats(x->a.tp).tls_peer_rejected, 3);
}

/* RFC 5923: A sends to B's advertised port over the connection B opened,
 * once B offered it (Via alias), only for a peer whose certificate was checked. */
static void test_alias(void **state)
{
	struct ctx *x = *state;
	struct tp_addr to_b = {.tcp = true, .tls = true, .peer = lo(4999)};
	uint64_t conn;

	open_b(x);
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, x->a.n == 1, 3000);
	assert_int_equal(x->a.n, 1);
	conn = x->a.rx_from[0].conn;
	/* not a mutual peer: refused */
	assert_int_equal(tp_conn_alias(x->a.tp, conn, htons(4999)), -EPERM);
	tp_close(x->a.tp);
	tp_close(x->b.tp);
	x->b.tp = NULL;
	x->a.n = x->b.n = 0;
	add_peer(&x->a.conf, "egress.example", true);
	assert_int_equal(tp_open(x->base, &x->a.conf, on_rx, &x->a, &x->a.tp), 0);
	open_b(x);
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, x->a.n == 1, 3000);
	assert_int_equal(x->a.n, 1);
	conn = x->a.rx_from[0].conn;
	assert_int_equal(tp_conn_alias(x->a.tp, conn + 1000, htons(4999)), -ENOTCONN);
	assert_int_equal(tp_conn_alias(x->a.tp, conn, htons(4999)), 0);
	/* a request to 127.0.0.1:4999 over TLS rides B's connection */
	x->a.echo = false;
	assert_int_equal(tp_send(x->a.tp, &to_b, INVITE, sizeof(INVITE) - 1), 0);
	RUN_UNTIL(x->base, x->b.n == 2, 3000);
	assert_int_equal(x->b.n, 2);
	assert_string_equal(x->b.rx[1], INVITE);
	assert_int_equal(stats(x->a.tp).tcp_connected, 0);
	assert_int_equal(stats(x->a.tp).tls_open, 1);
}

static void test_reload(void **state)
{
	struct ctx *x = *state;
	struct sp_conf fresh = x->a.conf;

	open_b(x);
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, x->b.n == 1, 3000);
	assert_int_equal(x->b.n, 1);
	/* a new certificate (same name, same CA) for new connections */
	snprintf(fresh.tls.cert, SPC_PATH_MAX, "%s", path("srv2", "pem"));
	snprintf(fresh.tls.key, SPC_PATH_MAX, "%s", path("srv2", "key"));
	assert_int_equal(tp_reload_tls(x->a.tp, &fresh), 0);
	x->a.conf = fresh; /* what proxy_reload() does after */
	assert_int_equal(stats(x->a.tp).tls_reloads, 1);
	/* the live connection goes on */
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, x->b.n == 2, 3000);
	assert_int_equal(x->b.n, 2);
	assert_int_equal(stats(x->a.tp).tls_handshakes, 1);
	/* a key others may read is refused; the running contexts stay */
	assert_int_equal(chmod(path("srv2", "key"), 0644), 0);
	assert_int_equal(tp_reload_tls(x->a.tp, &fresh), -1);
	assert_int_equal(stats(x->a.tp).tls_reloads, 1);
	assert_int_equal(chmod(path("srv2", "key"), 0600), 0);
	/* a new connection (B anew) gets the new certificate and works */
	tp_close(x->b.tp);
	x->b.tp = NULL;
	open_b(x);
	assert_int_equal(b_send(x, INVITE), 0);
	RUN_UNTIL(x->base, x->b.n == 3, 3000);
	assert_int_equal(x->b.n, 3);
	assert_int_equal(stats(x->a.tp).tls_handshakes, 2);
}

static void test_check(void **state)
{
	struct ctx *x = *state;
	struct sp_conf c = x->a.conf;
	char err[512] = "";

	assert_int_equal(tp_check_tls(&c, err, sizeof(err)), 0);
	assert_int_equal(chmod(path("srv", "key"), 0640), 0);
	assert_int_equal(tp_check_tls(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "group or others"));
	assert_non_null(strstr(err, path("srv", "key")));
	/* and the daemon does not start on it */
	tp_close(x->a.tp);
	x->a.tp = NULL;
	assert_int_equal(tp_open(x->base, &c, on_rx, &x->a, &x->a.tp), -EINVAL);
	assert_null(x->a.tp);
	assert_int_equal(chmod(path("srv", "key"), 0600), 0);
	/* a key of another certificate */
	snprintf(c.tls.key, SPC_PATH_MAX, "%s", path("cli", "key"));
	assert_int_equal(tp_check_tls(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not match"));
	/* a missing CA */
	c = x->a.conf;
	snprintf(c.tls.ca, SPC_PATH_MAX, "%s", path("none", "pem"));
	assert_int_equal(tp_check_tls(&c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "none.pem"));
	/* nothing uses TLS: nothing to check */
	memset(&c.tls, 0, sizeof(c.tls));
	c.listen[0].tls = false;
	assert_int_equal(tp_check_tls(&c, err, sizeof(err)), 0);
}

static int group_setup(void **state)
{
	(void)state;
	if (tlstest_tmpdir(dir, sizeof(dir)) < 0 || tlstest_ca(dir, "ca") < 0 ||
	    tlstest_leaf(dir, "ca", "srv", "sip.example") < 0 ||
	    tlstest_leaf(dir, "ca", "srv2", "sip.example") < 0 ||
	    tlstest_leaf(dir, "ca", "cli", "egress.example") < 0 ||
	    tlstest_leaf(dir, "ca", "other", "other.example") < 0 || tlstest_ca(dir, "evilca") < 0 ||
	    tlstest_leaf(dir, "evilca", "evil", "egress.example") < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tlstest_rmdir(dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_per_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutual, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN); /* as sipproxy's main.c: OpenSSL writes with write() */
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
