/* libcontrol/secret.h: reading a shared-secret file, for both ends of the
 * TCP control channel (libcontrol/proto.h section 6, libcontrol/auth.h).
 *
 * A codec-level header: it needs neither a connection nor libevent, so a
 * server (natd links the codec alone) reads its copy of a secret exactly
 * as a client reads its own, and one file serves both ends.
 * libcontrol/client.h includes it. */
#ifndef LIBCONTROL_SECRET_H
#define LIBCONTROL_SECRET_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest secret nc_secret_read() accepts, in bytes. */
#define NC_SECRET_MAX 4096

/* Read a shared secret from the file at path into buf (cap bytes): the
 * file's bytes, less one trailing "\n" or "\r\n". *len gets the length.
 * 0, -errno from the file system, -EFBIG (longer than cap or
 * NC_SECRET_MAX) or -ENODATA (empty). A server should read its copy of
 * the secret the same way, so that one file serves both ends. */
int nc_secret_read(const char *path, void *buf, size_t cap, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
