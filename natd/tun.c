/* tun: open and configure the TUN device; batch-shaped packet I/O.
 *
 * IFF_NO_PI: each read is one bare IPv4/IPv6 packet. The interface is
 * configured (MTU, txqueuelen, up) through an AF_INET ioctl socket that is
 * closed again, so only the TUN fd stays open after set-up.
 */
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct tun {
	int fd;
	char name[IFNAMSIZ];
};

static int if_ioctl(int s, unsigned long req, struct ifreq *ifr, const char **what,
		    const char *step)
{
	if (ioctl(s, req, ifr) < 0) {
		*what = step;
		return -errno;
	}
	return 0;
}

int tun_open(const char *name, int mtu, int txqueuelen, struct tun **out, char ifname[IFNAMSIZ],
	     const char **what)
{
	struct tun *t = calloc(1, sizeof(*t));
	struct ifreq ifr;
	int s = -1, err;

	*what = "calloc";
	if (!t)
		return -ENOMEM;
	t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (t->fd < 0) {
		err = -errno;
		*what = "open /dev/net/tun";
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (name && *name)
		strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if ((err = if_ioctl(t->fd, TUNSETIFF, &ifr, what, "ioctl TUNSETIFF")) < 0)
		goto fail;
	memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
	t->name[IFNAMSIZ - 1] = '\0';

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		err = -errno;
		*what = "socket AF_INET";
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, t->name, IFNAMSIZ);
	ifr.ifr_mtu = mtu;
	if ((err = if_ioctl(s, SIOCSIFMTU, &ifr, what, "ioctl SIOCSIFMTU")) < 0)
		goto fail;
	ifr.ifr_qlen = txqueuelen;
	if ((err = if_ioctl(s, SIOCSIFTXQLEN, &ifr, what, "ioctl SIOCSIFTXQLEN")) < 0)
		goto fail;
	if ((err = if_ioctl(s, SIOCGIFFLAGS, &ifr, what, "ioctl SIOCGIFFLAGS")) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if ((err = if_ioctl(s, SIOCSIFFLAGS, &ifr, what, "ioctl SIOCSIFFLAGS")) < 0)
		goto fail;
	close(s);
	memcpy(ifname, t->name, IFNAMSIZ);
	*out = t;
	return 0;
fail:
	if (s >= 0)
		close(s);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
	return err;
}

int tun_fd(const struct tun *t)
{
	return t->fd;
}

int tun_recv(struct tun *t, struct tun_buf *bufs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		ssize_t r = read(t->fd, bufs[i].data, bufs[i].cap);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return i ? i : -errno;
		}
		bufs[i].len = (size_t)r;
	}
	return i;
}

int tun_send(struct tun *t, const uint8_t *data, size_t len)
{
	ssize_t w = write(t->fd, data, len);

	if (w < 0)
		return -errno;
	return (size_t)w == len ? 0 : -EIO;
}

void tun_close(struct tun *t)
{
	if (!t)
		return;
	close(t->fd);
	free(t);
}
