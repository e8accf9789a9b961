/* tls: the client end of TLS, shared by the blocking and the async client
 * (private; none of these names is exported from libcontrol.so).
 *
 * Theory of operation. A session is made per connection from a context
 * that common/tlsctx.c builds from the caller's files (so a certificate
 * renewed on disk is used by the next connection), with natd's expected
 * name set before the handshake (struct nc_tls's server_name, else the
 * host connected to): a certificate that does not verify against the CA,
 * or does not carry that name, fails the handshake. The calls below are
 * non-blocking: each returns -EAGAIN with the poll events to wait for in
 * *want (POLLIN or POLLOUT), so both clients keep their own way of
 * waiting. OpenSSL's failures become libcontrol's error codes: NC_E_TLS
 * (no TLS at the other end, or no common protocol), NC_E_TLS_VERIFY
 * (natd's certificate), NC_E_TLS_REFUSED (natd refused ours),
 * NC_E_TLS_FILES (our files). Nothing is logged; the OpenSSL error queue
 * is left empty.
 */
#ifndef NC_TLS_H
#define NC_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include <libcontrol/client.h>

/* The context of tls's files (read now, before any connection), or NULL
 * with *errp NC_E_TLS_FILES or NC_E_INVAL. SSL_CTX_free() it. */
SSL_CTX *nc_tls_ctx(const struct nc_tls *tls, int *errp);

/* A client session from ctx on connected socket fd, natd's name expected
 * from tls->server_name or else host. 0 with *sp set, or an error. */
int nc_tls_new(SSL_CTX *ctx, const struct nc_tls *tls, const char *host, int fd, SSL **sp);

/* Drive the handshake: 0 done, -EAGAIN (wait for *want), or an error. */
int nc_tls_handshake(SSL *s, short *want);

/* Read up to n bytes: > 0 read, 0 natd closed, -EAGAIN (wait for *want),
 * or an error. */
ssize_t nc_tls_recv(SSL *s, void *buf, size_t n, short *want);

/* Write up to n bytes (a partial write is possible): > 0 written, -EAGAIN
 * (wait for *want, then call again with the same bytes), or an error. */
ssize_t nc_tls_send(SSL *s, const void *buf, size_t n, short *want);

/* Say close_notify if the socket takes it now, and free the session. */
void nc_tls_free(SSL *s);

#endif
