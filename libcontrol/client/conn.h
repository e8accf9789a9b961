/* conn: pieces the blocking and the asynchronous client share (private).
 *
 * Sockets (non-blocking, close-on-exec, no SIGPIPE), the handshake's
 * decisions (what a HELLO reply asks for, the AUTH to send, whether the
 * server's MAC is right), and how a reply is matched to its request. The
 * two clients differ only in how they wait; everything they must agree
 * on lives here. None of these names is exported from libcontrol.so.
 */
#ifndef NC_CONN_H
#define NC_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libcontrol/client.h>
#include <libcontrol/msg.h>

/* Per-connection handshake state. */
struct nc_hs {
	uint8_t secret[NC_SECRET_MAX];
	size_t slen; /* 0: no secret */
	bool tcp;
	uint8_t ns[NC_NONCE_LEN], cn[NC_NONCE_LEN];
};

/* Start a non-blocking connect to the Unix socket at path (NULL: the
 * default). *fdp gets the socket. 0 connected, 1 in progress, or -errno. */
int nc_sock_unix(const char *path, int *fdp);

/* The same to a resolved address (TCP, with TCP_NODELAY). */
int nc_sock_addr(const struct sockaddr *sa, socklen_t salen, int *fdp);

/* Copy the secret into hs (NC_E_INVAL if longer than NC_SECRET_MAX). */
int nc_hs_init(struct nc_hs *hs, bool tcp, const void *secret, size_t slen);
/* Wipe the secret. */
void nc_hs_wipe(struct nc_hs *hs);

/* What to do with HELLO's reply: 0 done, 1 send AUTH (*auth filled), or
 * a negative error (-EACCES, -EPROTO...). */
int nc_hs_hello_r(struct nc_hs *hs, const struct nc_hello_r *r, struct nc_auth *auth);
/* Check AUTH's reply: 0 or -EACCES/-EPROTO. */
int nc_hs_auth_r(const struct nc_hs *hs, const struct nc_auth_r *r);

/* The status every reply starts with. */
const struct nc_status *nc_reply_status(const struct nc_msg *m);

/* Size of the reply struct answering request type (0: unknown). */
size_t nc_reply_size(uint16_t req_type);

/* How a decoded message relates to the request (of type req_type) with
 * the same request id. */
enum nc_match_kind {
	NC_MK_REPLY, /* its reply: copy it out, the request is done */
	NC_MK_ERROR, /* NC_MSG_ERROR: a refusal, the request is done */
	NC_MK_PART,  /* a LIST_ITEM of a LIST or an EVENT of a WATCH */
	NC_MK_WRONG, /* anything else: the server broke the protocol */
};
enum nc_match_kind nc_match_reply(uint16_t req_type, uint16_t msg_type);

/* Fill rep (size bytes, a reply struct) from m: a copy of the reply, or a
 * zeroed struct carrying ERROR's status. */
void nc_reply_copy(void *rep, size_t size, const struct nc_msg *m);

/* Map a refused HELLO or AUTH to an errno value. */
int nc_status_errno(uint16_t code);

#endif
