/* Unit tests for transport.c: SIP over UDP and TCP on loopback.
 *
 * Each test opens a transport on 127.0.0.1 at a port found free by binding
 * port 0 first (retried if someone takes it meanwhile), talks to it with
 * plain client sockets, and drives the event_base only in bounded slices
 * (event_base_loopexit), so nothing can wait forever; SIGALRM is the last
 * resort hang guard of every test.
 *
 * Covered: UDP round trip, oversize and CRLF datagrams; TCP framing (a
 * message byte by byte, several in one write, compact and lower case
 * Content-Length, CRLFCRLF inside a body, leading CRLFs), every way to get
 * Content-Length wrong, oversize headers and bodies, the RFC 5626 ping,
 * a good message followed by garbage in one read; outbound connect, queue
 * while connecting, reuse by id and by peer, a reply sent from inside the
 * callback; connect failure; idle timeout (and activity deferring it);
 * the connection limit both ways; ids increasing; a connection closed by
 * overflow from inside its own callback; tp_close() from inside the
 * callback; tp_send() argument errors; tp_open() on a busy address; the
 * UDP cases again with the sender thread (sip.udp_send_thread), and a
 * burst of datagrams each answered from the callback, in order.
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
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "evslice.h"
#include "transport.h"

#define MAX_RX 64

enum mode {
	M_RECORD,     /* keep what arrives */
	M_ECHO,       /* and answer "reply" + body to the sender, from the callback */
	M_CLOSE,      /* and tp_close() from the callback */
	M_FLOOD,      /* and send big messages back until tp_send() fails */
};

struct rx {
	struct tp_addr from;
	char *buf;
	size_t len;
};

struct ctx {
	struct event_base *base;
	struct sp_conf conf;
	struct transport *tp;
	struct rx rx[MAX_RX];
	unsigned n;
	enum mode mode;
	int cb_rc;         /* last tp_send() result inside the callback */
	unsigned cb_sends; /* tp_send() calls made by the callback */
};


static void on_rx(void *arg, const struct tp_addr *from, const char *buf, size_t len)
{
	struct ctx *x = arg;

	if (x->n < MAX_RX) {
		struct rx *r = &x->rx[x->n++];

		r->from = *from;
		r->buf = malloc(len + 1);
		assert_non_null(r->buf);
		memcpy(r->buf, buf, len);
		r->buf[len] = 0;
		r->len = len;
	}
	switch (x->mode) {
	case M_RECORD:
		break;
	case M_ECHO: {
		char reply[512];
		int n = snprintf(reply, sizeof(reply),
				 "SIP/2.0 200 OK\r\nContent-Length: %zu\r\n\r\n%.*s", len, (int)len, buf);

		assert_true(n > 0 && (size_t)n < sizeof(reply));
		x->cb_rc = tp_send(x->tp, from, reply, (size_t)n);
		x->cb_sends++;
		break;
	}
	case M_CLOSE:
		tp_close(x->tp);
		x->cb_rc = tp_send(x->tp, from, "x", 1);
		x->tp = NULL;
		break;
	case M_FLOOD: {
		size_t blen = 60000, hl;
		char *big = malloc(blen);
		int i;

		assert_non_null(big);
		hl = (size_t)snprintf(big, 64, "SIP/2.0 200 OK\r\nContent-Length: %zu\r\n\r\n", (size_t)0);
		memset(big + hl, 'a', blen - hl);
		for (i = 0; i < 200; i++) {
			x->cb_sends++;
			x->cb_rc = tp_send(x->tp, from, big, blen);
			if (x->cb_rc < 0)
				break;
		}
		free(big);
		break;
	}
	}
}

static int setup(void **state)
{
	struct ctx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->base = event_base_new();
	assert_non_null(x->base);
	x->conf.max_message = 65535;
	x->conf.tcp_max_connections = 64;
	x->conf.tcp_idle_timeout = 0;
	alarm(15);
	*state = x;
	return 0;
}

/* The same, UDP sent by the sender thread (sip.udp_send_thread, udp_tx.h). */
static int setup_thread(void **state)
{
	setup(state);
	((struct ctx *)*state)->conf.udp_send_thread = true;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *x = *state;
	unsigned i;

	tp_close(x->tp);
	for (i = 0; i < x->n; i++)
		free(x->rx[i].buf);
	if (x->base)
		event_base_free(x->base);
	free(x);
	alarm(0);
	return 0;
}

/* A port free on 127.0.0.1 right now (TCP). */
static uint16_t free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static struct sockaddr_in lo(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* Open x->tp with one listen entry on a free loopback port; its port. */
static uint16_t open_tp(struct ctx *x, bool udp, bool tcp)
{
	int tries, rc = -1;
	uint16_t port = 0;

	for (tries = 0; tries < 20; tries++) {
		port = free_port();
		x->conf.nlisten = 1;
		x->conf.listen[0].addr = lo(port);
		x->conf.listen[0].udp = udp;
		x->conf.listen[0].tcp = tcp;
		rc = tp_open(x->base, &x->conf, on_rx, x, &x->tp);
		if (rc != -EADDRINUSE)
			break;
	}
	assert_int_equal(rc, 0);
	assert_non_null(x->tp);
	return port;
}

static struct tp_stats stats(const struct ctx *x)
{
	struct tp_stats st;

	tp_get_stats(x->tp, &st);
	return st;
}

static int tcp_client(uint16_t port, int rcvbuf)
{
	struct sockaddr_in a = lo(port);
	struct timeval tv = {2, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	assert_true(fd >= 0);
	if (rcvbuf)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	return ntohs(a.sin_port);
}

static void send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* The peer closed fd (EOF or reset), without consuming data. */
static bool peer_closed(int fd)
{
	char b[4096];
	ssize_t n;

	for (;;) {
		n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (n > 0)
			continue; /* discard whatever came first */
		return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
	}
}

/* Read what is there now (non-blocking); bytes read. */
static size_t read_now(int fd, char *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);

	if (n < 0)
		n = 0;
	buf[n] = 0;
	return (size_t)n;
}

/* A request with body (may be "") and the Content-Length header line hdr
 * (NULL: the right one). */
static char *mk_msg(const char *body, const char *hdr)
{
	char cl[64], *m;

	if (!hdr) {
		snprintf(cl, sizeof(cl), "Content-Length: %zu", strlen(body));
		hdr = cl;
	}
	assert_true(asprintf(&m,
			     "OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\n"
			     "Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK776\r\n"
			     "%s\r\n"
			     "CSeq: 1 OPTIONS\r\n"
			     "\r\n%s",
			     hdr, body) > 0);
	return m;
}

/* ---- UDP ---- */

static void test_udp_roundtrip(void **state)
{
	struct ctx *x = *state;
	uint16_t port = open_tp(x, true, true);
	struct sockaddr_in srv = lo(port), cli = lo(0);
	struct timeval tv = {2, 0};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char *m = mk_msg("hello", NULL), buf[1024];
	struct tp_stats st;
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&cli, sizeof(cli)), 0);
	assert_int_equal(sendto(fd, m, strlen(m), 0, (struct sockaddr *)&srv, sizeof(srv)),
			 (ssize_t)strlen(m));
	RUN_UNTIL(x->base, x->n == 1, 2000);
	assert_int_equal(x->n, 1);
	assert_false(x->rx[0].from.tcp);
	assert_int_equal(x->rx[0].from.listen, 0);
	assert_int_equal(x->rx[0].from.conn, 0);
	assert_int_equal(ntohs(x->rx[0].from.peer.sin_port), local_port(fd));
	assert_int_equal(x->rx[0].from.peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	assert_int_equal(x->rx[0].len, strlen(m));
	assert_memory_equal(x->rx[0].buf, m, strlen(m));

	assert_int_equal(tp_send(x->tp, &x->rx[0].from, "SIP/2.0 200 OK\r\n\r\n", 18), 0);
	n = recv(fd, buf, sizeof(buf), 0);
	assert_int_equal(n, 18);
	assert_memory_equal(buf, "SIP/2.0 200 OK\r\n\r\n", 18);

	/* with the sender thread, it counts just after the kernel took it */
	RUN_UNTIL(x->base, stats(x).udp_tx == 1, 2000);
	st = stats(x);
	assert_int_equal(st.udp_rx, 1);
	assert_int_equal(st.udp_tx, 1);
	assert_int_equal(st.tcp_rx + st.tcp_tx + st.send_errors + st.oversize_dropped, 0);
	assert_int_equal(st.udp_send_thread, x->conf.udp_send_thread);
	free(m);
	close(fd);
}

/* 40 datagrams in one go, each answered from inside the callback (so
 * within receive bursts: the sender thread is kicked at their end): every
 * reply arrives, in order, and the counters add up. */
static void test_udp_burst_echo(void **state)
{
	struct ctx *x = *state;
	uint16_t port = open_tp(x, true, false);
	struct sockaddr_in srv = lo(port), cli = lo(0);
	struct timeval tv = {2, 0};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rcv = 1 << 20;
	char m[64], buf[1024], want[256];
	unsigned i;
	struct tp_stats st;

	assert_true(fd >= 0);
	x->mode = M_ECHO;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&cli, sizeof(cli)), 0);
	for (i = 0; i < 40; i++) {
		int n = snprintf(m, sizeof(m), "OPTIONS sip:%u SIP/2.0\r\n\r\n", i);

		assert_int_equal(sendto(fd, m, (size_t)n, 0, (struct sockaddr *)&srv, sizeof(srv)), n);
	}
	RUN_UNTIL(x->base, x->n == 40, 2000);
	assert_int_equal(x->n, 40);
	assert_int_equal(x->cb_sends, 40);
	assert_int_equal(x->cb_rc, 0);
	for (i = 0; i < 40; i++) {
		int bl = snprintf(m, sizeof(m), "OPTIONS sip:%u SIP/2.0\r\n\r\n", i);
		int wl = snprintf(want, sizeof(want), "SIP/2.0 200 OK\r\nContent-Length: %d\r\n\r\n%s", bl, m);
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		assert_int_equal(n, wl);
		assert_memory_equal(buf, want, (size_t)wl);
	}
	RUN_UNTIL(x->base, stats(x).udp_tx == 40, 2000);
	st = stats(x);
	assert_int_equal(st.udp_rx, 40);
	assert_int_equal(st.udp_tx, 40);
	assert_int_equal(st.send_errors + st.udp_tx_queue_full, 0);
	if (st.udp_send_thread)
		assert_true(st.udp_tx_batches >= 1 && st.udp_tx_batches <= 40);
	close(fd);
}

static void test_udp_oversize_and_keepalive(void **state)
{
	struct ctx *x = *state;
	uint16_t port;
	struct sockaddr_in srv;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	char big[2000];
	char *m = mk_msg("", NULL);
	struct tp_stats st;

	x->conf.max_message = 1024;
	port = open_tp(x, true, false);
	srv = lo(port);
	memset(big, 'x', sizeof(big));
	assert_true(fd >= 0);
	assert_int_equal(sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&srv, sizeof(srv)), 2000);
	assert_int_equal(sendto(fd, "\r\n\r\n", 4, 0, (struct sockaddr *)&srv, sizeof(srv)), 4);
	assert_int_equal(sendto(fd, "", 0, 0, (struct sockaddr *)&srv, sizeof(srv)), 0);
	assert_int_equal(sendto(fd, m, strlen(m), 0, (struct sockaddr *)&srv, sizeof(srv)),
			 (ssize_t)strlen(m));
	RUN_UNTIL(x->base, x->n == 1, 2000);
	run_for(x->base, 20);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->rx[0].len, strlen(m));
	st = stats(x);
	assert_int_equal(st.oversize_dropped, 1);
	assert_int_equal(st.udp_rx, 1);
	/* sending over max_message, and over TCP where this entry has none */
	assert_int_equal(tp_send(x->tp, &x->rx[0].from, big, sizeof(big)), -EMSGSIZE);
	x->rx[0].from.tcp = true;
	assert_int_equal(tp_send(x->tp, &x->rx[0].from, "x", 1), -EINVAL);
	assert_int_equal(stats(x).send_errors, 2);
	free(m);
	close(fd);
}

/* ---- TCP inbound framing ---- */

static void test_tcp_split_bytes(void **state)
{
	struct ctx *x = *state;
	uint16_t port = open_tp(x, true, true);
	int fd = tcp_client(port, 0);
	char *m = mk_msg("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n\r\n", NULL);
	size_t i, len = strlen(m);
	struct tp_stats st;

	RUN_UNTIL(x->base, stats(x).tcp_accepted == 1, 2000);
	for (i = 0; i < len; i++) {
		send_all(fd, m + i, 1);
		event_base_loop(x->base, EVLOOP_NONBLOCK);
		event_base_loop(x->base, EVLOOP_NONBLOCK);
		if (i + 1 < len)
			assert_int_equal(x->n, 0);
	}
	RUN_UNTIL(x->base, x->n == 1, 2000);
	assert_int_equal(x->n, 1);
	assert_true(x->rx[0].from.tcp);
	assert_int_not_equal(x->rx[0].from.conn, 0);
	assert_int_equal(ntohs(x->rx[0].from.peer.sin_port), local_port(fd));
	assert_int_equal(x->rx[0].len, len);
	assert_memory_equal(x->rx[0].buf, m, len);
	assert_true(tp_conn_alive(x->tp, x->rx[0].from.conn));
	st = stats(x);
	assert_int_equal(st.tcp_rx, 1);
	assert_int_equal(st.tcp_open, 1);
	assert_int_equal(st.tcp_framing_errors, 0);
	free(m);
	close(fd);
	RUN_UNTIL(x->base, stats(x).tcp_open == 0, 2000);
	st = stats(x);
	assert_int_equal(st.tcp_open, 0);
	assert_int_equal(st.tcp_closed, 1);
	assert_false(tp_conn_alive(x->tp, x->rx[0].from.conn));
}

static void test_tcp_several_in_one_write(void **state)
{
	struct ctx *x = *state;
	uint16_t port = open_tp(x, false, true);
	int fd = tcp_client(port, 0);
	char *m[4], all[4096];
	size_t i;

	m[0] = mk_msg("", NULL);
	m[1] = mk_msg("hello", "l: 5");
	m[2] = mk_msg("a\r\n\r\nb\r\n\r\n", "content-LENGTH  :\t 10 ");
	m[3] = mk_msg("xyz", "L:3");
	snprintf(all, sizeof(all), "\r\n%s\r\n\r\n%s%s\r\n%s", m[0], m[1], m[2], m[3]);
	send_str(fd, all);
	RUN_UNTIL(x->base, x->n == 4, 2000);
	assert_int_equal(x->n, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(x->rx[i].len, strlen(m[i]));
		assert_memory_equal(x->rx[i].buf, m[i], strlen(m[i]));
		assert_int_equal(x->rx[i].from.conn, x->rx[0].from.conn);
		free(m[i]);
	}
	assert_int_equal(stats(x).tcp_rx, 4);
	assert_int_equal(stats(x).tcp_open, 1);
	/* the "\r\n\r\n" between messages was a ping: answered */
	RUN_UNTIL(x->base, read_now(fd, all, sizeof(all)) > 0, 500);
	close(fd);
}

static void test_tcp_bad_content_length(void **state)
{
	static const char *const bad[] = {
		NULL,                     /* missing */
		"Content-Length: -1",
		"Content-Length: abc",
		"Content-Length: 5x",
		"Content-Length: 3 4",
		"Content-Length:",
		"Content-Length 3",
		"l: +3",
		"Content-Length: 0x10",
	};
	struct ctx *x = *state;
	uint16_t port = open_tp(x, false, true);
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = tcp_client(port, 0);
		char *m;

		if (bad[i]) {
			m = mk_msg("abc", bad[i]);
		} else {
			m = strdup("OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n");
			assert_non_null(m);
		}
		send_str(fd, m);
		RUN_UNTIL(x->base, peer_closed(fd), 2000);
		assert_true(peer_closed(fd));
		assert_int_equal(stats(x).tcp_framing_errors, i + 1);
		free(m);
		close(fd);
	}
	/* two Content-Length headers that disagree; two that agree are fine */
	{
		int fd = tcp_client(port, 0);
		char *m = mk_msg("abc", "Content-Length: 3\r\nl: 3"), *b = mk_msg("abc", "l: 3\r\nl: 4");

		send_str(fd, m);
		RUN_UNTIL(x->base, x->n == 1, 2000);
		assert_int_equal(x->n, 1);
		send_str(fd, b);
		RUN_UNTIL(x->base, peer_closed(fd), 2000);
		assert_true(peer_closed(fd));
		free(m);
		free(b);
		close(fd);
	}
	assert_int_equal(x->n, 1);
	assert_int_equal(stats(x).tcp_framing_errors, sizeof(bad) / sizeof(bad[0]) + 1);
	assert_int_equal(stats(x).oversize_dropped, 0);
	RUN_UNTIL(x->base, stats(x).tcp_open == 0, 2000);
	assert_int_equal(stats(x).tcp_closed, sizeof(bad) / sizeof(bad[0]) + 1);
}

static void test_tcp_oversize(void **state)
{
	struct ctx *x = *state;
	uint16_t port;
	char hdr[1200], pad[1024];
	char *m;
	int fd;
	size_t len;

	x->conf.max_message = 1024;
	port = open_tp(x, false, true);

	/* a message of exactly max_message bytes passes */
	m = mk_msg("", "Content-Length: 0");
	len = strlen(m);
	free(m);
	memset(pad, 0, sizeof(pad));
	memcpy(pad, "Content-Length: 0\r\nX-Pad: ", 26);
	memset(pad + 26, 'p', 1024 - len - 9);
	m = mk_msg("", pad);
	assert_int_equal(strlen(m), 1024);
	fd = tcp_client(port, 0);
	send_str(fd, m);
	RUN_UNTIL(x->base, x->n == 1, 2000);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->rx[0].len, 1024);
	free(m);

	/* a header block that does not end within max_message */
	memset(hdr, 'h', sizeof(hdr));
	memcpy(hdr, "OPTIONS sip:x SIP/2.0\r\nX: ", 26);
	send_all(fd, hdr, sizeof(hdr));
	RUN_UNTIL(x->base, peer_closed(fd), 2000);
	assert_true(peer_closed(fd));
	close(fd);
	assert_int_equal(stats(x).tcp_framing_errors, 1);
	assert_int_equal(stats(x).oversize_dropped, 1);

	/* a body that would go over, and a number that would overflow */
	fd = tcp_client(port, 0);
	m = mk_msg("", "Content-Length: 2000");
	send_str(fd, m);
	free(m);
	RUN_UNTIL(x->base, peer_closed(fd), 2000);
	assert_true(peer_closed(fd));
	close(fd);
	fd = tcp_client(port, 0);
	m = mk_msg("", "Content-Length: 99999999999999999999999999");
	send_str(fd, m);
	free(m);
	RUN_UNTIL(x->base, peer_closed(fd), 2000);
	assert_true(peer_closed(fd));
	close(fd);
	assert_int_equal(stats(x).tcp_framing_errors, 3);
	assert_int_equal(stats(x).oversize_dropped, 3);
	assert_int_equal(x->n, 1);
}

static void test_tcp_keepalive_ping(void **state)
{
	struct ctx *x = *state;
	uint16_t port = open_tp(x, false, true);
	int fd = tcp_client(port, 0);
	char buf[64], *m = mk_msg("", NULL);
	size_t got = 0;

	send_str(fd, "\r\n\r\n");
	RUN_UNTIL(x->base, (got += read_now(fd, buf + got, sizeof(buf) - got)) >= 2, 2000);
	assert_int_equal(got, 2);
	assert_memory_equal(buf, "\r\n", 2);
	/* a ping split in two, then a lone CRLF (no answer) before a message */
	send_str(fd, "\r\n");
	run_for(x->base, 20);
	assert_int_equal(read_now(fd, buf, sizeof(buf)), 0);
	send_str(fd, "\r\n");
	got = 0;
	RUN_UNTIL(x->base, (got += read_now(fd, buf + got, sizeof(buf) - got)) >= 2, 2000);
	assert_int_equal(got, 2);
	send_str(fd, "\r\n");
	run_for(x->base, 20);
	send_str(fd, m);
	RUN_UNTIL(x->base, x->n == 1, 2000);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->rx[0].len, strlen(m));
	assert_memory_equal(x->rx[0].buf, m, strlen(m));
	run_for(x->base, 20);
	assert_int_equal(read_now(fd, buf, sizeof(buf)), 0);
	assert_int_equal(stats(x).tcp_rx, 1);
	assert_int_equal(stats(x).tcp_tx, 0);
	assert_int_equal(stats(x).tcp_open, 1);
	free(m);
	close(fd);
}

/* A good message and garbage in one write: the first is delivered, then
 * the connection is closed in the same read. */
static void test_tcp_good_then_bad(void **state)
{
	struct ctx *x = *state;
	uint16_t port = open_tp(x, false, true);
	int fd = tcp_client(port, 0);
	char *g = mk_msg("ok", NULL), *b = mk_msg("", "Content-Length: nope"), *g2 = mk_msg("", NULL);
	char all[2048];

	snprintf(all, sizeof(all), "%s%s%s", g, b, g2);
	send_str(fd, all);
	RUN_UNTIL(x->base, peer_closed(fd), 2000);
	assert_true(peer_closed(fd));
	assert_int_equal(x->n, 1);
	assert_int_equal(x->rx[0].len, strlen(g));
	assert_int_equal(stats(x).tcp_framing_errors, 1);
	assert_int_equal(stats(x).tcp_open, 0);
	assert_false(tp_conn_alive(x->tp, x->rx[0].from.conn));
	free(g);
	free(b);
	free(g2);
	close(fd);
}

/* ---- TCP outbound ---- */

static void test_tcp_outbound(void **state)
{
	struct ctx *a = *state, *b;
	uint16_t pb;
	struct tp_addr dst = {.tcp = true, .listen = 0};
	char *m1 = mk_msg("one", NULL), *m2 = mk_msg("two", NULL), *m3 = mk_msg("three", NULL);
	struct tp_stats sa, sb;
	uint64_t aconn;

	assert_int_equal(setup((void **)&b), 0);
	event_base_free(b->base);
	b->base = a->base; /* one loop drives both */
	b->mode = M_ECHO;
	open_tp(a, true, true);
	pb = open_tp(b, true, true);

	dst.peer = lo(pb);
	assert_int_equal(tp_send(a->tp, &dst, m1, strlen(m1)), 0); /* queued while connecting */
	RUN_UNTIL(a->base, a->n == 1, 2000);
	assert_int_equal(b->n, 1);
	assert_int_equal(a->n, 1);
	assert_memory_equal(b->rx[0].buf, m1, strlen(m1));
	assert_true(b->rx[0].from.tcp);
	assert_int_equal(b->cb_rc, 0);
	assert_true(strstr(a->rx[0].buf, "one") != NULL);
	aconn = a->rx[0].from.conn;
	assert_true(tp_conn_alive(a->tp, aconn));
	assert_true(tp_conn_alive(b->tp, b->rx[0].from.conn));
	assert_int_equal(ntohs(a->rx[0].from.peer.sin_port), pb);

	/* by id (with no peer given) */
	dst.conn = aconn;
	dst.peer = lo(0);
	dst.peer.sin_addr.s_addr = 0;
	assert_int_equal(tp_send(a->tp, &dst, m2, strlen(m2)), 0);
	/* by peer, with an id that is not a connection */
	dst.conn = aconn + 1000;
	dst.peer = lo(pb);
	assert_int_equal(tp_send(a->tp, &dst, m3, strlen(m3)), 0);
	RUN_UNTIL(a->base, a->n == 3, 2000);
	assert_int_equal(a->n, 3);
	assert_int_equal(b->n, 3);
	assert_memory_equal(b->rx[1].buf, m2, strlen(m2));
	assert_memory_equal(b->rx[2].buf, m3, strlen(m3));
	assert_int_equal(b->rx[2].from.conn, b->rx[0].from.conn);
	assert_int_equal(a->rx[2].from.conn, aconn);

	sa = stats(a);
	sb = stats(b);
	assert_int_equal(sa.tcp_connected, 1);
	assert_int_equal(sa.tcp_accepted, 0);
	assert_int_equal(sa.tcp_tx, 3);
	assert_int_equal(sa.tcp_rx, 3);
	assert_int_equal(sa.tcp_open, 1);
	assert_int_equal(sb.tcp_accepted, 1);
	assert_int_equal(sb.tcp_connected, 0);
	assert_int_equal(sb.tcp_rx, 3);
	assert_int_equal(sb.tcp_tx, 3);
	assert_int_equal(sa.send_errors + sb.send_errors, 0);

	/* no connection by that id and no peer: nothing to do */
	dst.conn = aconn + 1000;
	dst.peer = lo(0);
	assert_int_equal(tp_send(a->tp, &dst, m1, strlen(m1)), -ENOTCONN);

	/* b closes: a notices, and the next send opens a new connection */
	tp_close(b->tp);
	b->tp = NULL;
	RUN_UNTIL(a->base, !tp_conn_alive(a->tp, aconn), 2000);
	assert_false(tp_conn_alive(a->tp, aconn));
	assert_int_equal(stats(a).tcp_closed, 1);

	b->base = NULL; /* a's */
	teardown((void **)&b);
	alarm(15);
	free(m1);
	free(m2);
	free(m3);
}

static void test_tcp_connect_failure(void **state)
{
	struct ctx *x = *state;
	struct tp_addr dst = {.tcp = true, .listen = 0};
	struct tp_stats st;
	int rc;

	open_tp(x, false, true);
	dst.peer = lo(free_port()); /* nobody listens there */
	rc = tp_send(x->tp, &dst, "OPTIONS", 7);
	assert_true(rc == 0 || rc == -ECONNREFUSED);
	if (rc == 0) {
		assert_int_equal(stats(x).tcp_open, 1);
		assert_int_equal(tp_send(x->tp, &dst, "OPTIONS", 7), 0); /* same pending connection */
		assert_int_equal(stats(x).tcp_open, 1);
	}
	RUN_UNTIL(x->base, stats(x).tcp_connect_failed == 1, 2000);
	st = stats(x);
	assert_int_equal(st.tcp_connect_failed, 1);
	assert_int_equal(st.send_errors, rc == 0 ? 2 : 1);
	assert_int_equal(st.tcp_open, 0);
	assert_int_equal(st.tcp_connected, 0);
	assert_int_equal(st.tcp_tx, 0);
}

static void test_tcp_idle_timeout(void **state)
{
	struct ctx *x = *state;
	uint16_t port;
	int fd;
	uint64_t t0;
	char buf[16];

	x->conf.tcp_idle_timeout = 1;
	port = open_tp(x, false, true);
	fd = tcp_client(port, 0);
	t0 = mono_ms();
	RUN_UNTIL(x->base, stats(x).tcp_accepted == 1, 1000);
	/* activity at 600 ms defers the close */
	while (mono_ms() < t0 + 600)
		run_for(x->base, 10);
	send_str(fd, "\r\n\r\n");
	while (mono_ms() < t0 + 1300)
		run_for(x->base, 10);
	assert_int_equal(read_now(fd, buf, sizeof(buf)), 2);
	assert_int_equal(stats(x).tcp_open, 1);
	RUN_UNTIL(x->base, peer_closed(fd), 3000);
	assert_true(peer_closed(fd));
	assert_true(mono_ms() - t0 >= 1500);
	assert_int_equal(stats(x).tcp_idle_closed, 1);
	assert_int_equal(stats(x).tcp_open, 0);
	close(fd);
}

static void test_tcp_max_connections(void **state)
{
	struct ctx *x = *state;
	uint16_t port;
	int fd[4];
	struct tp_addr dst = {.tcp = true, .listen = 0};

	x->conf.tcp_max_connections = 2;
	port = open_tp(x, false, true);
	fd[0] = tcp_client(port, 0);
	fd[1] = tcp_client(port, 0);
	RUN_UNTIL(x->base, stats(x).tcp_accepted == 2, 2000);
	fd[2] = tcp_client(port, 0);
	RUN_UNTIL(x->base, peer_closed(fd[2]), 2000);
	assert_true(peer_closed(fd[2]));
	assert_false(peer_closed(fd[0]));
	assert_false(peer_closed(fd[1]));
	assert_int_equal(stats(x).tcp_refused, 1);
	assert_int_equal(stats(x).tcp_open, 2);
	dst.peer = lo(port);
	assert_int_equal(tp_send(x->tp, &dst, "x", 1), -EMFILE);
	assert_int_equal(stats(x).send_errors, 1);

	close(fd[0]);
	RUN_UNTIL(x->base, stats(x).tcp_open == 1, 2000);
	fd[3] = tcp_client(port, 0);
	RUN_UNTIL(x->base, stats(x).tcp_accepted == 3, 2000);
	assert_int_equal(stats(x).tcp_accepted, 3);
	assert_int_equal(stats(x).tcp_open, 2);
	assert_false(peer_closed(fd[3]));
	close(fd[1]);
	close(fd[2]);
	close(fd[3]);
}

/* A client bound to source address src (host order) before it connects. */
static int tcp_client_from(uint16_t port, uint32_t src)
{
	struct sockaddr_in a = lo(port), me = lo(0);
	struct timeval tv = {2, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	me.sin_addr.s_addr = htonl(src);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* sip.tcp_max_per_source: a source at the cap is refused at once, another
 * source still gets in, messages flow on the open connections, and closing
 * one frees a slot. */
static void test_tcp_max_per_source(void **state)
{
	struct ctx *x = *state;
	uint16_t port;
	int fd[5];
	char *m = mk_msg("", NULL);

	x->conf.tcp_max_per_source = 2;
	port = open_tp(x, false, true);
	fd[0] = tcp_client_from(port, INADDR_LOOPBACK);
	fd[1] = tcp_client_from(port, INADDR_LOOPBACK);
	RUN_UNTIL(x->base, stats(x).tcp_accepted == 2, 2000);
	fd[2] = tcp_client_from(port, INADDR_LOOPBACK);
	RUN_UNTIL(x->base, peer_closed(fd[2]), 2000);
	assert_true(peer_closed(fd[2]));
	assert_int_equal(stats(x).tcp_refused_per_source, 1);
	assert_int_equal(stats(x).tcp_refused, 1);
	assert_int_equal(stats(x).tcp_open, 2);

	fd[3] = tcp_client_from(port, INADDR_LOOPBACK + 1); /* 127.0.0.2 */
	RUN_UNTIL(x->base, stats(x).tcp_accepted == 3, 2000);
	assert_int_equal(stats(x).tcp_accepted, 3);
	assert_false(peer_closed(fd[3]));
	send_str(fd[0], m);
	send_str(fd[3], m);
	RUN_UNTIL(x->base, x->n == 2, 2000);
	assert_int_equal(x->n, 2);
	assert_false(peer_closed(fd[0]));
	assert_false(peer_closed(fd[1]));

	close(fd[1]);
	RUN_UNTIL(x->base, stats(x).tcp_open == 2, 2000);
	fd[4] = tcp_client_from(port, INADDR_LOOPBACK);
	RUN_UNTIL(x->base, stats(x).tcp_accepted == 4, 2000);
	assert_int_equal(stats(x).tcp_accepted, 4);
	assert_false(peer_closed(fd[4]));
	assert_int_equal(stats(x).tcp_refused_per_source, 1);
	free(m);
	close(fd[0]);
	close(fd[2]);
	close(fd[3]);
	close(fd[4]);
}

static void test_conn_ids_increase(void **state)
{
	struct ctx *x = *state;
	uint16_t port = open_tp(x, false, true);
	char *m = mk_msg("", NULL);
	uint64_t prev = 0;
	int i;

	for (i = 0; i < 4; i++) {
		int fd = tcp_client(port, 0);

		send_str(fd, m);
		RUN_UNTIL(x->base, x->n == (unsigned)i + 1, 2000);
		assert_int_equal(x->n, i + 1);
		assert_true(x->rx[i].from.conn > prev);
		prev = x->rx[i].from.conn;
		close(fd);
		RUN_UNTIL(x->base, stats(x).tcp_open == 0, 2000);
		assert_false(tp_conn_alive(x->tp, prev));
	}
	free(m);
}

/* The callback floods its own connection (the peer does not read) until
 * the 1 MiB queue limit closes it: closed from inside its own callback,
 * with a second message in the same read that must not be delivered. */
static void test_overflow_inside_callback(void **state)
{
	struct ctx *x = *state;
	uint16_t port;
	int fd;
	char *m = mk_msg("", NULL), all[1024];

	x->mode = M_FLOOD;
	port = open_tp(x, false, true);
	fd = tcp_client(port, 4096);
	snprintf(all, sizeof(all), "%s%s", m, m);
	send_str(fd, all);
	RUN_UNTIL(x->base, x->n >= 1 && stats(x).tcp_open == 0, 2000);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->cb_rc, -ENOBUFS);
	assert_true(x->cb_sends > 1);
	assert_int_equal(stats(x).tcp_overflow_closed, 1);
	assert_int_equal(stats(x).tcp_open, 0);
	assert_int_equal(stats(x).tcp_tx, x->cb_sends - 1);
	assert_false(tp_conn_alive(x->tp, x->rx[0].from.conn));
	free(m);
	close(fd);
}

static void test_tp_close_inside_callback(void **state)
{
	struct ctx *x = *state;
	uint16_t port;
	char *m = mk_msg("", NULL), all[1024];
	int fd;

	/* TCP: two messages in one read, the first closes everything */
	x->mode = M_CLOSE;
	port = open_tp(x, true, true);
	fd = tcp_client(port, 0);
	snprintf(all, sizeof(all), "%s%s", m, m);
	send_str(fd, all);
	RUN_UNTIL(x->base, x->tp == NULL, 2000);
	assert_null(x->tp);
	assert_int_equal(x->n, 1);
	assert_int_equal(x->cb_rc, -ESHUTDOWN);
	RUN_UNTIL(x->base, peer_closed(fd), 2000);
	assert_true(peer_closed(fd));
	close(fd);

	/* UDP: two datagrams waiting, the first closes everything */
	{
		struct sockaddr_in srv;
		int u = socket(AF_INET, SOCK_DGRAM, 0);

		port = open_tp(x, true, false);
		srv = lo(port);
		assert_int_equal(sendto(u, m, strlen(m), 0, (struct sockaddr *)&srv, sizeof(srv)),
				 (ssize_t)strlen(m));
		assert_int_equal(sendto(u, m, strlen(m), 0, (struct sockaddr *)&srv, sizeof(srv)),
				 (ssize_t)strlen(m));
		RUN_UNTIL(x->base, x->tp == NULL, 2000);
		assert_null(x->tp);
		assert_int_equal(x->n, 2);
		close(u);
	}
	free(m);
}

static void test_send_args(void **state)
{
	struct ctx *x = *state;
	struct tp_addr dst = {.tcp = false, .listen = 1};
	char big[70000];

	open_tp(x, true, true);
	dst.peer = lo(5060);
	assert_int_equal(tp_send(x->tp, &dst, "x", 1), -EINVAL);
	dst.listen = -1;
	assert_int_equal(tp_send(x->tp, &dst, "x", 1), -EINVAL);
	dst.listen = 0;
	assert_int_equal(tp_send(x->tp, &dst, "x", 0), -EINVAL);
	memset(big, 'b', sizeof(big));
	assert_int_equal(tp_send(x->tp, &dst, big, sizeof(big)), -EMSGSIZE);
	dst.tcp = true;
	assert_int_equal(tp_send(x->tp, &dst, big, 65536), -EMSGSIZE);
	assert_int_equal(stats(x).send_errors, 5);
	assert_false(tp_conn_alive(x->tp, 0));
	assert_false(tp_conn_alive(x->tp, 12345));
	tp_close(NULL);
}

static void test_open_busy(void **state)
{
	struct ctx *x = *state;
	struct transport *t2 = NULL;
	struct sp_conf c2;
	uint16_t port = open_tp(x, true, true);

	memset(&c2, 0, sizeof(c2));
	c2.max_message = 65535;
	c2.nlisten = 1;
	c2.listen[0].addr = lo(port);
	c2.listen[0].tcp = true;
	assert_int_equal(tp_open(x->base, &c2, on_rx, x, &t2), -EADDRINUSE);
	assert_null(t2);
	c2.listen[0].tcp = false;
	c2.listen[0].udp = true;
	assert_int_equal(tp_open(x->base, &c2, on_rx, x, &t2), -EADDRINUSE);
	assert_null(t2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_oversize_and_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_burst_echo, setup, teardown),
		/* UDP again with the sender thread */
		cmocka_unit_test_setup_teardown(test_udp_roundtrip, setup_thread, teardown),
		cmocka_unit_test_setup_teardown(test_udp_oversize_and_keepalive, setup_thread, teardown),
		cmocka_unit_test_setup_teardown(test_udp_burst_echo, setup_thread, teardown),
		cmocka_unit_test_setup_teardown(test_tp_close_inside_callback, setup_thread, teardown),
		cmocka_unit_test_setup_teardown(test_send_args, setup_thread, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_split_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_several_in_one_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_bad_content_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_oversize, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_keepalive_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_good_then_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_outbound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_connect_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_max_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_max_per_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_ids_increase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow_inside_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tp_close_inside_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_busy, setup, teardown),
	};

	log_level = getenv("TP_DEBUG") ? LOG_DEBUG : LOG_CRIT; /* tests provoke log_err */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
