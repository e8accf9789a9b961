/* Unit tests for udp_tx.c, the UDP sender thread's queue, on loopback.
 *
 * Covered: datagrams arrive whole and in the order pushed, across the
 * ring's wrap-around and across two sockets interleaved; a full ring
 * refuses with -ENOBUFS and counts it without blocking, and the ring takes
 * datagrams again once drained; udp_tx_free() sends what is still queued
 * before it returns; a send the kernel refuses is counted as an error and
 * the next ones still go; bad lengths are refused. SIGALRM guards hangs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "udp_tx.h"

struct sock {
	int fd;
	struct sockaddr_in addr;
};

/* A UDP socket on 127.0.0.1, port chosen by the kernel, 2 s receive timeout. */
static struct sock sock_new(int rcvbuf)
{
	struct sock s = {.fd = socket(AF_INET, SOCK_DGRAM, 0)};
	struct timeval tv = {2, 0};
	socklen_t alen = sizeof(s.addr);

	assert_true(s.fd >= 0);
	s.addr.sin_family = AF_INET;
	s.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* FORCE as root (the tests' case), else capped by net.core.rmem_max */
	if (rcvbuf && setsockopt(s.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		assert_int_equal(setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	assert_int_equal(setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(bind(s.fd, (struct sockaddr *)&s.addr, sizeof(s.addr)), 0);
	assert_int_equal(getsockname(s.fd, (struct sockaddr *)&s.addr, &alen), 0);
	return s;
}

/* Message i: "m<i>:" then filler to a length that varies with i. */
static size_t mk(unsigned i, char *buf, size_t cap)
{
	size_t len = (size_t)snprintf(buf, cap, "m%u:", i), want = 100 + (i * 37) % 1400;

	assert_true(want < cap);
	memset(buf + len, 'a' + (int)(i % 26), want - len);
	return want;
}

static void expect(int fd, unsigned i, const struct sockaddr_in *from)
{
	char want[2048], got[2048];
	size_t wl = mk(i, want, sizeof(want));
	struct sockaddr_in src;
	socklen_t sl = sizeof(src);
	ssize_t n = recvfrom(fd, got, sizeof(got), 0, (struct sockaddr *)&src, &sl);

	assert_int_equal(n, (ssize_t)wl);
	assert_memory_equal(got, want, wl);
	assert_int_equal(src.sin_port, from->sin_port);
}

/* Messages 0..n-1 queued for `to`: every third (0, 3...) from fd_b, the others from fd_a. */
static void push_n(struct udp_tx *q, int fd_a, int fd_b, const struct sockaddr_in *to, unsigned n)
{
	char buf[2048];
	unsigned i;

	for (i = 0; i < n; i++) {
		size_t len = mk(i, buf, sizeof(buf));

		assert_int_equal(udp_tx_push(q, (i % 3) ? fd_a : fd_b, to, buf, len), 0);
	}
}

/* What push_n sent, received in order from the right sockets. */
static void expect_n(int fd, unsigned n, const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	unsigned i;

	for (i = 0; i < n; i++)
		expect(fd, i, (i % 3) ? a : b);
}

static int setup(void **state)
{
	(void)state;
	alarm(20);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	alarm(0);
	return 0;
}

/* 3,000 datagrams through a 128 KiB ring, read 40 at a time: it wraps many times; order kept. */
static void test_order_across_wrap(void **state)
{
	struct sock tx = sock_new(0), rx = sock_new(4 << 20);
	struct udp_tx *q;
	struct udp_tx_stats st;
	char buf[2048];
	unsigned i, next = 0;

	(void)state;
	assert_int_equal(udp_tx_new(0, &q), 0);
	for (i = 0; i < 3000; i++) {
		size_t len = mk(i, buf, sizeof(buf));
		int rc;

		while ((rc = udp_tx_push(q, tx.fd, &rx.addr, buf, len)) == -ENOBUFS) {
			udp_tx_kick(q);
			assert_int_equal(udp_tx_drain(q, 2000), 0);
			for (; next < i; next++) /* what is out so far, in order */
				expect(rx.fd, next, &tx.addr);
		}
		assert_int_equal(rc, 0);
		if (i % 10 == 9)
			udp_tx_kick(q);
		if (i % 40 == 39) { /* read as we go: loopback drops what overflows */
			assert_int_equal(udp_tx_drain(q, 2000), 0);
			for (; next <= i; next++)
				expect(rx.fd, next, &tx.addr);
		}
	}
	assert_int_equal(udp_tx_drain(q, 2000), 0);
	for (; next < 3000; next++)
		expect(rx.fd, next, &tx.addr);
	udp_tx_get_stats(q, &st);
	assert_int_equal(st.sent, 3000);
	assert_int_equal(st.errors, 0);
	assert_true(st.batches >= 1 && st.batches <= 3000);
	udp_tx_free(q);
	close(tx.fd);
	close(rx.fd);
}

/* Two sending sockets interleaved: each receiver sees its own in order. */
static void test_two_sockets(void **state)
{
	struct sock t1 = sock_new(0), t2 = sock_new(0), rx = sock_new(4 << 20);
	struct udp_tx *q;

	(void)state;
	assert_int_equal(udp_tx_new(1 << 20, &q), 0);
	push_n(q, t1.fd, t2.fd, &rx.addr, 60);
	udp_tx_kick(q);
	assert_int_equal(udp_tx_drain(q, 2000), 0);
	expect_n(rx.fd, 60, &t1.addr, &t2.addr); /* one receiver: the global FIFO order */
	udp_tx_free(q);
	close(t1.fd);
	close(t2.fd);
	close(rx.fd);
}

/* Nothing kicks the thread: the ring fills, pushes fail fast and are
 * counted; after a kick and a drain it takes datagrams again. */
static void test_full_counted(void **state)
{
	struct sock tx = sock_new(0), rx = sock_new(4 << 20);
	struct udp_tx *q;
	struct udp_tx_stats st;
	char buf[60000];
	unsigned ok = 0, full = 0, i;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(udp_tx_new(0, &q), 0); /* 128 KiB */
	/* the thread sleeps from the start: nothing was kicked */
	for (i = 0; i < 10; i++) {
		int rc = udp_tx_push(q, tx.fd, &rx.addr, buf, sizeof(buf));

		if (rc == 0)
			ok++;
		else {
			assert_int_equal(rc, -ENOBUFS);
			full++;
		}
	}
	/* 128 KiB hold two 60,000-byte datagrams (unless the thread happened
	 * to be awake at the start and took some: then more fit) */
	assert_true(ok >= 2);
	assert_true(full >= 1);
	udp_tx_get_stats(q, &st);
	assert_int_equal(st.dropped_full, full);
	assert_int_equal(udp_tx_drain(q, 2000), 0);
	assert_int_equal(udp_tx_push(q, tx.fd, &rx.addr, "after", 5), 0);
	assert_int_equal(udp_tx_drain(q, 2000), 0);
	udp_tx_get_stats(q, &st);
	assert_int_equal(st.sent, ok + 1);
	for (i = 0; i < ok; i++) {
		char got[65536];

		assert_int_equal(recv(rx.fd, got, sizeof(got), 0), (ssize_t)sizeof(buf));
	}
	{
		char got[16];

		assert_int_equal(recv(rx.fd, got, sizeof(got), 0), 5);
		assert_memory_equal(got, "after", 5);
	}
	udp_tx_free(q);
	close(tx.fd);
	close(rx.fd);
}

/* udp_tx_free() sends everything queued (never kicked) before returning. */
static void test_free_drains(void **state)
{
	struct sock tx = sock_new(0), rx = sock_new(4 << 20);
	struct udp_tx *q;

	(void)state;
	assert_int_equal(udp_tx_new(1 << 20, &q), 0);
	push_n(q, tx.fd, tx.fd, &rx.addr, 60);
	udp_tx_free(q);
	expect_n(rx.fd, 60, &tx.addr, &tx.addr);
	close(tx.fd);
	close(rx.fd);
}

/* A datagram the kernel refuses (a closed socket) is an error; the ones
 * after it, on a good socket, still go. Bad lengths are refused. */
static void test_errors(void **state)
{
	struct sock tx = sock_new(0), rx = sock_new(0), gone = sock_new(0);
	struct udp_tx *q;
	struct udp_tx_stats st;
	char got[16], big[65536] = {0};

	(void)state;
	close(gone.fd); /* EBADF in the thread */
	assert_int_equal(udp_tx_new(0, &q), 0);
	assert_int_equal(udp_tx_push(q, gone.fd, &rx.addr, "lost", 4), 0);
	assert_int_equal(udp_tx_push(q, tx.fd, &rx.addr, "kept", 4), 0);
	assert_int_equal(udp_tx_push(q, tx.fd, &rx.addr, "x", 0), -EMSGSIZE);
	assert_int_equal(udp_tx_push(q, tx.fd, &rx.addr, big, sizeof(big)), -EMSGSIZE);
	udp_tx_kick(q);
	assert_int_equal(udp_tx_drain(q, 2000), 0);
	udp_tx_get_stats(q, &st);
	assert_int_equal(st.errors, 1);
	assert_int_equal(st.sent, 1);
	assert_int_equal(recv(rx.fd, got, sizeof(got), 0), 4);
	assert_memory_equal(got, "kept", 4);
	udp_tx_free(q);
	udp_tx_free(NULL);
	close(tx.fd);
	close(rx.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_order_across_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_sockets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
