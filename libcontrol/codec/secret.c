/* secret: reading a shared-secret file (libcontrol/secret.h), in the codec
 * library so that natd, which links the codec directly, reads its copy of
 * the secret exactly as clients read theirs. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <libcontrol/msg.h>    /* NC_E_INVAL */
#include <libcontrol/secret.h>

int nc_secret_read(const char *path, void *buf, size_t cap, size_t *len)
{
	uint8_t tmp[NC_SECRET_MAX + 2];
	size_t n = 0;
	int fd, err = 0;

	if (!path || !buf || !len)
		return NC_E_INVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r = read(fd, tmp + n, sizeof(tmp) - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == sizeof(tmp)) {
			err = -EFBIG;
			break;
		}
	}
	close(fd);
	if (!err && n && tmp[n - 1] == '\n') {
		n--;
		if (n && tmp[n - 1] == '\r')
			n--;
	}
	if (!err && n == 0)
		err = -ENODATA;
	if (!err && (n > cap || n > NC_SECRET_MAX))
		err = -EFBIG;
	if (!err) {
		memcpy(buf, tmp, n);
		*len = n;
	}
	explicit_bzero(tmp, sizeof(tmp));
	return err;
}
