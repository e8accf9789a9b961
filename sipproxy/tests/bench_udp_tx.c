/* bench_udp_tx: what a UDP send costs the sending (event loop) thread,
 * sendto() from the loop against udp_tx's queue and sender thread (issue
 * 15). Not a test: built on demand (make -C sipproxy tests/bench_udp_tx)
 * and run by hand.
 *
 *   bench_udp_tx [COUNT [LEN [BURST [GAP_US]]]]
 *
 * Sends COUNT datagrams of LEN bytes to a socket on 127.0.0.1 that a
 * reader thread drains (loopback delivery runs in the sender's system call,
 * like a veth), in bursts of BURST with GAP_US of sleep between them (the
 * loop's pace under load: default 4 every 200 us, 20,000/s, about what
 * 1,500 calls/s send), three ways: sendto() each; udp_tx_push() +
 * udp_tx_kick() each; udp_tx_push() with one kick per burst (a receive
 * burst). Prints the sending thread's CPU time per datagram
 * (CLOCK_THREAD_CPUTIME_ID) and, for udp_tx, the sender thread's share
 * (process CPU minus the others) and its batches and wakes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "udp_tx.h"

static _Atomic unsigned long got;
static _Atomic int done;

static double cpu_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *reader(void *arg)
{
	int fd = *(int *)arg;
	char buf[65536];

	while (!atomic_load(&done))
		if (recv(fd, buf, sizeof(buf), 0) > 0)
			atomic_fetch_add(&got, 1);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned long count = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000, i;
	size_t len = argc > 2 ? strtoul(argv[2], NULL, 10) : 800;
	unsigned kick = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 4;
	unsigned long gap_us = argc > 4 ? strtoul(argv[4], NULL, 10) : 200;
	struct timespec gap = {(time_t)(gap_us / 1000000), (long)(gap_us % 1000000) * 1000};
	struct sockaddr_in rx = {.sin_family = AF_INET}, tx = rx;
	socklen_t al = sizeof(rx);
	int rfd = socket(AF_INET, SOCK_DGRAM, 0), tfd = socket(AF_INET, SOCK_DGRAM, 0);
	int big = 8 << 20, mode;
	struct timeval tv = {0, 200000};
	pthread_t th;
	char *msg = malloc(len ? len : 1);

	if (rfd < 0 || tfd < 0 || !msg || len == 0 || len > 65000 || kick == 0) {
		fprintf(stderr, "usage: bench_udp_tx [COUNT [LEN (1..65000) [BURST (>0) [GAP_US]]]]\n");
		return 2;
	}
	memset(msg, 'x', len);
	rx.sin_addr.s_addr = tx.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(rfd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		(void)setsockopt(rfd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	(void)setsockopt(rfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(rfd, (struct sockaddr *)&rx, sizeof(rx)) < 0 || getsockname(rfd, (struct sockaddr *)&rx, &al) < 0 ||
	    bind(tfd, (struct sockaddr *)&tx, sizeof(tx)) < 0 || pthread_create(&th, NULL, reader, &rfd) != 0) {
		perror("bench_udp_tx: setup");
		return 1;
	}
	printf("%lu datagrams of %zu bytes to 127.0.0.1, %u every %lu us; per datagram:\n", count, len, kick, gap_us);
	for (mode = 0; mode < 3; mode++) {
		struct udp_tx *q = NULL;
		struct udp_tx_stats st = {0};
		double t0 = cpu_s(CLOCK_THREAD_CPUTIME_ID), p0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
		double r0, t1, p1;
		unsigned long lost = 0, start = atomic_load(&got);
		clockid_t rc;

		pthread_getcpuclockid(th, &rc);
		r0 = cpu_s(rc);
		if (mode && udp_tx_new(4u << 20, &q) < 0)
			return 1;
		for (i = 0; i < count; i++) {
			if (i && i % kick == 0 && gap_us)
				nanosleep(&gap, NULL);
			if (mode == 0) {
				if (sendto(tfd, msg, len, MSG_DONTWAIT, (struct sockaddr *)&rx, sizeof(rx)) < 0)
					lost++;
				continue;
			}
			while (udp_tx_push(q, tfd, &rx, msg, len) == -ENOBUFS) {
				lost++;
				udp_tx_kick(q);
			}
			if (mode == 1 || (i + 1) % kick == 0)
				udp_tx_kick(q);
		}
		if (q) {
			udp_tx_drain(q, 5000);
			udp_tx_get_stats(q, &st);
		}
		t1 = cpu_s(CLOCK_THREAD_CPUTIME_ID);
		p1 = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - (cpu_s(rc) - r0);
		udp_tx_free(q);
		usleep(300000);
		printf("  %-26s loop thread %6.2f us, sender thread %6.2f us; received %lu, full %lu, batches %llu, wakes %llu\n",
		       mode == 0 ? "sendto" : mode == 1 ? "udp_tx, kick each" : "udp_tx, kick per burst",
		       (t1 - t0) * 1e6 / (double)count, mode ? ((p1 - p0) - (t1 - t0)) * 1e6 / (double)count : 0.0,
		       atomic_load(&got) - start, lost, (unsigned long long)st.batches, (unsigned long long)st.wakes);
	}
	atomic_store(&done, 1);
	pthread_join(th, NULL);
	free(msg);
	close(rfd);
	close(tfd);
	return 0;
}
