/* fake_server: a scripted natd for the client tests.
 *
 * Runs in its own thread on a temporary Unix socket (or 127.0.0.1 on an
 * ephemeral TCP port), one connection at a time. It does the handshake
 * itself (HELLO, and AUTH when given a secret), then hands every request
 * to the test's handler, which may answer it, hold it to answer later
 * (out of order, late), send garbage, or hang up. FS_DEFAULT answers the
 * request the way a cooperative natd would. It uses only what
 * libcontrol.so exports, like any third-party server.
 */
#ifndef NC_FAKE_SERVER_H
#define NC_FAKE_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <libcontrol/msg.h>

#define FS_EPOCH 0x0123456789abcdefull

enum fs_action {
	FS_DEFAULT, /* answer as natd would */
	FS_HANDLED, /* the handler answered (or chose not to) */
	FS_CLOSE,   /* hang up now */
};

struct fs_conn;

/* Called in the server thread for every request after the handshake. */
typedef enum fs_action (*fs_handler)(struct fs_conn *c, const struct nc_msg *req, void *arg);

struct fs_opts {
	bool tcp;               /* 127.0.0.1, ephemeral port, instead of a Unix socket */
	const char *secret;     /* require AUTH with this secret */
	bool bad_server_mac;    /* answer a good AUTH with a wrong MAC */
	uint16_t hello_status;  /* refuse HELLO with this status (0: accept) */
	fs_handler handler;     /* NULL: FS_DEFAULT for everything */
	void *arg;
};

struct fs;

struct fs *fs_start(const struct fs_opts *o);
/* Stop the thread (closing any connection) and free everything. */
void fs_stop(struct fs *s);
const char *fs_path(const struct fs *s);
uint16_t fs_port(const struct fs *s);

/* Encode and send one message on c; 0 or -1. */
int fs_send(struct fs_conn *c, uint16_t type, uint32_t reqid, const void *body);
/* Send raw bytes. */
int fs_send_raw(struct fs_conn *c, const void *p, size_t n);
/* The answer FS_DEFAULT gives. */
void fs_answer(struct fs_conn *c, const struct nc_msg *req);

/* Requests of a type the server has seen since it started (any thread). */
unsigned fs_count(struct fs *s, uint16_t type);
/* The last RELEASE seen (binding id), 0 if none. */
uint32_t fs_last_release(struct fs *s);

/* A BIND_R as FS_DEFAULT builds it: id, alloc 198.51.100.1:(E's port +
 * 10000), lifetime as asked (60 by default). */
void fs_bind_r(const struct nc_bind *q, uint32_t id, struct nc_bind_r *r);

#endif
