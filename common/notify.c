/* notify: sd_notify(3) without libsystemd (see notify.h). */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int notify_send(const char *state)
{
	const char *addr = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t alen, slen;
	socklen_t salen;
	ssize_t n;
	int fd, err = 0;

	if (!addr || !*addr)
		return 0;
	if (!state)
		return -EINVAL;
	alen = strlen(addr);
	/* a path or an abstract name; the terminating NUL of a path fits too */
	if ((addr[0] != '/' && addr[0] != '@') || alen < 2 || alen >= sizeof(sun.sun_path))
		return -EINVAL;
	memcpy(sun.sun_path, addr, alen);
	if (addr[0] == '@') {
		sun.sun_path[0] = '\0'; /* abstract: exactly alen bytes, no NUL */
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen);
	} else {
		salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + alen + 1);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	slen = strlen(state);
	do
		n = sendto(fd, state, slen, MSG_NOSIGNAL, (struct sockaddr *)&sun, salen);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != slen)
		err = -EMSGSIZE;
	close(fd);
	return err ? err : 1;
}

int notify_sendf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	if (!getenv("NOTIFY_SOCKET"))
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EMSGSIZE;
	return notify_send(buf);
}
