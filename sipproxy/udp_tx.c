/* udp_tx: the UDP sender thread (interface in udp_tx.h).
 *
 * Theory of operation. One producer (the event loop) and one consumer (the
 * thread) share a byte ring: a power-of-two array with two monotonic
 * 64-bit positions, head (written only by the producer) and tail (only by
 * the consumer). A record is a 32-byte header (length, socket,
 * destination) followed by the bytes, padded to 32, and never wraps: when
 * it does not fit before the end of the array, a skip header fills the
 * rest (every record being a multiple of 32, there is always room for
 * that header). The producer publishes a record by storing head with
 * release order; the consumer reads up to UDP_TX_BATCH records, sends each
 * run that shares a socket with one sendmmsg(MSG_DONTWAIT), and only then
 * gives the space back by storing tail: the bytes are sent straight from
 * the ring, never copied twice. FIFO order over all destinations holds.
 *
 * Sleeping: with nothing to do the thread sets `sleeping`, looks at head
 * again (a sequentially consistent store then load; the producer has the
 * mirror image: head stored, a full fence, `sleeping` loaded) and waits on
 * the futex. udp_tx_kick() wakes it only if `sleeping` was set, so a busy
 * thread costs the loop no system call at all.
 *
 * A send error counts the datagram in `errors` and moves on (as a failed
 * sendto() did); a full socket buffer (EAGAIN) is first waited for, at
 * most UDP_TX_WAIT_MS: this thread may block, the loop never does.
 * Stopping: `stop` is set, the thread is woken, sends everything still
 * queued, and is joined.
 */
#include "udp_tx.h"

#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define UDP_TX_BATCH 64        /* datagrams per sendmmsg */
#define UDP_TX_WAIT_MS 20      /* a full socket buffer is waited for this long */
#define UDP_TX_MIN_CAP (128u << 10)
#define UDP_TX_MAX_LEN 65535u
#define REC_SKIP UINT32_MAX

struct rec {
	uint32_t len;          /* bytes after the header, or REC_SKIP */
	int32_t fd;
	struct sockaddr_in to; /* 16 bytes */
	uint8_t pad[8];
};
_Static_assert(sizeof(struct rec) == 32, "a record header is 32 bytes");

struct udp_tx {
	/* producer side */
	_Alignas(64) _Atomic uint64_t head;
	_Atomic uint64_t dropped_full, wakes;
	/* consumer side */
	_Alignas(64) _Atomic uint64_t tail;
	_Atomic uint64_t sent, errors, batches;
	_Alignas(64) _Atomic int sleeping;   /* the futex word */
	_Atomic bool stop;
	char *buf;
	size_t cap, mask;
	pthread_t th;
};

static size_t rec_size(size_t len)
{
	return sizeof(struct rec) + ((len + 31) & ~(size_t)31);
}

static void futex_wait(_Atomic int *w, int val)
{
	(void)syscall(SYS_futex, (int *)w, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *w)
{
	(void)syscall(SYS_futex, (int *)w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Send n messages of one socket; every one ends counted as sent or error. */
static void send_run(struct udp_tx *q, int fd, struct mmsghdr *mv, unsigned n)
{
	unsigned i = 0;
	bool waited = false;

	while (i < n) {
		int r = sendmmsg(fd, mv + i, n - i, MSG_DONTWAIT | MSG_NOSIGNAL);

		atomic_fetch_add_explicit(&q->batches, 1, memory_order_relaxed);
		if (r > 0) {
			atomic_fetch_add_explicit(&q->sent, (uint64_t)r, memory_order_relaxed);
			i += (unsigned)r;
			waited = false;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !waited) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};

			(void)poll(&p, 1, UDP_TX_WAIT_MS);
			waited = true;
			continue;
		}
		atomic_fetch_add_explicit(&q->errors, 1, memory_order_relaxed);
		i++; /* this one is lost, as with a failed sendto(); go on with the next */
		waited = false;
	}
}

static void *run(void *arg)
{
	struct udp_tx *q = arg;
	struct mmsghdr mv[UDP_TX_BATCH];
	struct iovec iov[UDP_TX_BATCH];
	uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);

	for (;;) {
		uint64_t h = atomic_load_explicit(&q->head, memory_order_acquire), pos = t;
		unsigned n = 0;
		int fd = -1;

		if (t == h) {
			if (atomic_load(&q->stop))
				break;
			atomic_store(&q->sleeping, 1);
			if (atomic_load(&q->head) == t && !atomic_load(&q->stop))
				futex_wait(&q->sleeping, 1);
			atomic_store(&q->sleeping, 0);
			continue;
		}
		while (pos != h && n < UDP_TX_BATCH) {
			size_t off = (size_t)pos & q->mask;
			struct rec *r = (struct rec *)(q->buf + off);

			if (r->len == REC_SKIP) {
				pos += q->cap - off;
				continue;
			}
			if (n && r->fd != fd)
				break; /* one sendmmsg per socket; the next batch starts here */
			fd = r->fd;
			iov[n] = (struct iovec){.iov_base = r + 1, .iov_len = r->len};
			mv[n] = (struct mmsghdr){.msg_hdr = {.msg_name = &r->to, .msg_namelen = sizeof(r->to),
							     .msg_iov = &iov[n], .msg_iovlen = 1}};
			n++;
			pos += rec_size(r->len);
		}
		if (n)
			send_run(q, fd, mv, n);
		t = pos;
		atomic_store_explicit(&q->tail, t, memory_order_release);
	}
	return NULL;
}

int udp_tx_new(size_t cap_bytes, struct udp_tx **qp)
{
	struct udp_tx *q;
	size_t cap = UDP_TX_MIN_CAP;
	sigset_t all, old;
	int rc;

	*qp = NULL;
	while (cap < cap_bytes && cap < ((size_t)1 << 30))
		cap <<= 1;
	if (!(q = calloc(1, sizeof(*q))))
		return -ENOMEM;
	if (!(q->buf = aligned_alloc(64, cap))) {
		free(q);
		return -ENOMEM;
	}
	q->cap = cap;
	q->mask = cap - 1;
	/* the thread takes no signal: they stay with the event loop */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q->th, NULL, run, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		free(q->buf);
		free(q);
		return -rc;
	}
	(void)pthread_setname_np(q->th, "udp_tx");
	*qp = q;
	return 0;
}

int udp_tx_push(struct udp_tx *q, int fd, const struct sockaddr_in *to, const void *buf, size_t len)
{
	uint64_t h, tail;
	size_t off, need, to_end, total;
	struct rec *r;

	if (len == 0 || len > UDP_TX_MAX_LEN)
		return -EMSGSIZE;
	if (atomic_load_explicit(&q->stop, memory_order_relaxed))
		return -ESHUTDOWN;
	h = atomic_load_explicit(&q->head, memory_order_relaxed);
	tail = atomic_load_explicit(&q->tail, memory_order_acquire);
	off = (size_t)h & q->mask;
	need = rec_size(len);
	to_end = q->cap - off;
	total = to_end < need ? to_end + need : need;
	if (q->cap - (size_t)(h - tail) < total) {
		atomic_fetch_add_explicit(&q->dropped_full, 1, memory_order_relaxed);
		return -ENOBUFS;
	}
	if (to_end < need) {
		((struct rec *)(q->buf + off))->len = REC_SKIP;
		h += to_end;
		off = 0;
	}
	r = (struct rec *)(q->buf + off);
	r->len = (uint32_t)len;
	r->fd = fd;
	r->to = *to;
	memcpy(r + 1, buf, len);
	atomic_store_explicit(&q->head, h + need, memory_order_release);
	return 0;
}

void udp_tx_kick(struct udp_tx *q)
{
	atomic_thread_fence(memory_order_seq_cst); /* head stored before sleeping is read */
	if (atomic_load(&q->sleeping) && atomic_exchange(&q->sleeping, 0)) {
		atomic_fetch_add_explicit(&q->wakes, 1, memory_order_relaxed);
		futex_wake(&q->sleeping);
	}
}

int udp_tx_drain(struct udp_tx *q, unsigned timeout_ms)
{
	struct timespec nap = {0, 100000}; /* 0.1 ms */
	uint64_t h = atomic_load(&q->head);
	unsigned long i, naps = (unsigned long)timeout_ms * 10;

	udp_tx_kick(q);
	for (i = 0; atomic_load(&q->tail) != h; i++) {
		if (i >= naps)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
		udp_tx_kick(q);
	}
	return 0;
}

void udp_tx_get_stats(const struct udp_tx *q, struct udp_tx_stats *st)
{
	st->sent = atomic_load_explicit(&q->sent, memory_order_relaxed);
	st->errors = atomic_load_explicit(&q->errors, memory_order_relaxed);
	st->dropped_full = atomic_load_explicit(&q->dropped_full, memory_order_relaxed);
	st->batches = atomic_load_explicit(&q->batches, memory_order_relaxed);
	st->wakes = atomic_load_explicit(&q->wakes, memory_order_relaxed);
}

void udp_tx_free(struct udp_tx *q)
{
	if (!q)
		return;
	atomic_store(&q->stop, true);
	atomic_store(&q->sleeping, 0);
	futex_wake(&q->sleeping);
	pthread_join(q->th, NULL);
	free(q->buf);
	free(q);
}
