/* tun: the TUN device natd reads packets from and writes them back to.
 *
 * The I/O is batch-shaped: tun_recv() fills up to n buffers per call and
 * tun_send() takes one packet. Today each packet is one read() or write();
 * io_uring batching and the virtio-net header offloads (IFF_VNET_HDR,
 * TUNSETOFFLOAD, where a read returns a GSO super-packet to be split) fit
 * behind these two calls without reshaping the packet path.
 */
#ifndef NATD_TUN_H
#define NATD_TUN_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

struct tun_buf {
	uint8_t *data;
	size_t len; /* bytes read */
	size_t cap; /* buffer capacity: a read of cap bytes was truncated */
};

struct tun;

/* Create (or attach to) the TUN named name ("" lets the kernel choose),
 * set its MTU and transmit queue length, bring it up, and make it
 * non-blocking. The chosen name is written to ifname. 0 or -errno; on
 * failure *what names the step that failed. */
int tun_open(const char *name, int mtu, int txqueuelen, struct tun **out,
	     char ifname[IFNAMSIZ], const char **what);
int tun_fd(const struct tun *t);
/* Read up to n packets; returns how many (0 when none is waiting), or
 * -errno on a hard error. */
int tun_recv(struct tun *t, struct tun_buf *bufs, int n);
/* Write one packet; 0 or -errno. */
int tun_send(struct tun *t, const uint8_t *data, size_t len);
void tun_close(struct tun *t);

#endif
