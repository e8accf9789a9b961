/* udp_tx: a UDP sender thread fed by a bounded queue (issue 15).
 *
 * The event loop hands datagrams (socket, destination, bytes) to
 * udp_tx_push(), which copies them into a ring and returns at once; one
 * thread takes them out in FIFO order and sends them with sendmmsg(2) in
 * batches, so the kernel's send path (for a veth: the whole delivery to
 * the receiver and its wake-up) runs on another core. Only plain bytes
 * cross the thread boundary: no osip object, no pointer into the caller's
 * memory.
 *
 * A full ring refuses the datagram (-ENOBUFS, counted in dropped_full):
 * the loop never blocks. The thread sleeps when the ring is empty and is
 * woken by udp_tx_kick() (a futex wake only if it sleeps), which the
 * caller issues once per burst of work rather than once per datagram.
 */
#ifndef SIPPROXY_UDP_TX_H
#define SIPPROXY_UDP_TX_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct udp_tx;

struct udp_tx_stats {
	uint64_t sent;          /* datagrams the kernel took */
	uint64_t errors;        /* datagrams sendmmsg refused (EAGAIN, ENETUNREACH...) */
	uint64_t dropped_full;  /* datagrams refused by udp_tx_push: ring full */
	uint64_t batches;       /* sendmmsg calls */
	uint64_t wakes;         /* futex wakes of a sleeping thread */
};

/* A ring of cap_bytes (rounded up to a power of two, at least 128 KiB)
 * and its thread, started here. 0 with *qp set, or a negative errno. */
int udp_tx_new(size_t cap_bytes, struct udp_tx **qp);

/* Queue len bytes for fd to `to`. 0, -ENOBUFS (ring full: counted),
 * -EMSGSIZE (len 0 or over 65535), -ESHUTDOWN (stopping). Loop thread only. */
int udp_tx_push(struct udp_tx *q, int fd, const struct sockaddr_in *to, const void *buf, size_t len);

/* Wake the thread if it sleeps and something is queued. Loop thread only. */
void udp_tx_kick(struct udp_tx *q);

/* Wait (at most timeout_ms) until every queued datagram has been handed to
 * the kernel: 0, or -ETIMEDOUT. */
int udp_tx_drain(struct udp_tx *q, unsigned timeout_ms);

/* Counters so far: safe to read while the thread runs. */
void udp_tx_get_stats(const struct udp_tx *q, struct udp_tx_stats *st);

/* Send what is queued, stop and join the thread, free. NULL is ignored.
 * The sockets pushed to must still be open. */
void udp_tx_free(struct udp_tx *q);

#endif
