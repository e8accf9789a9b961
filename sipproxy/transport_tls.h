/* transport_tls: the TLS half of sipproxy's stream transport (RFC 3261
 * §26.2, §18; RFC 5630 for sips: and transport=tls).
 *
 * transport.c owns every connection (sockets, events, idle timers, the
 * shared framer, the connection tables and caps); for a TLS connection it
 * asks this module for an SSL object and then moves bytes through
 * tpt_read()/tpt_write() instead of recv()/sendmsg(). What is TLS's own
 * lives here: the server and client contexts built from the `tls` block by
 * common/tlsctx (rebuilt by tpt_reload() on SIGHUP: new connections get the
 * new certificate, key and CA, established ones keep theirs), the name a
 * peer's certificate must carry, the mutual-TLS check of configured peers,
 * and the handshake verdict with its counters and its log line (one per
 * peer per TPT_LOG_EVERY_S).
 *
 * OpenSSL writes to the socket with write(), not send(MSG_NOSIGNAL): the
 * process must ignore SIGPIPE (sipproxy's main.c does).
 */
#ifndef SIPPROXY_TRANSPORT_TLS_H
#define SIPPROXY_TRANSPORT_TLS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "sp_conf.h"

struct tpt;

/* Counters of the TLS layer (status and metrics). */
struct tpt_stats {
	uint64_t handshakes;          /* completed */
	uint64_t handshake_failed;    /* protocol errors, garbage, TLS < 1.2, EOF mid-handshake */
	uint64_t handshake_timeout;   /* not done within tls.handshake_timeout */
	uint64_t peer_rejected;       /* certificate missing, unverifiable or of the wrong name */
	uint64_t reloads;             /* contexts rebuilt by tpt_reload() */
};

/* Results of tpt_handshake(), tpt_read(), tpt_write() besides bytes. */
#define TPT_DONE 1
#define TPT_WANT_READ (-1000)
#define TPT_WANT_WRITE (-1001)
#define TPT_FAIL (-1002)
#define TPT_EOF (-1003)

/* Contexts from conf->tls (conf outlives it). 0, or -1 with the reason in
 * err ("tls: key /etc/...: group or others may access it"). Without a TLS
 * listen entry, route or cert, *out is NULL and 0 is returned. */
int tpt_new(const struct sp_conf *conf, struct tpt **out, char *err, size_t n);
void tpt_free(struct tpt *t);

/* Rebuild the contexts from fresh->tls (a reload's new configuration,
 * before it is copied over the running one); on failure the old ones stay
 * and -1 is returned with the reason in err. */
int tpt_reload(struct tpt *t, const struct sp_conf *fresh, char *err, size_t n);

/* An SSL on fd, server side (accepted) or client side towards peer (with
 * the name its certificate must carry: a tls.peers name, else its address). */
SSL *tpt_ssl(struct tpt *t, int fd, bool server, const struct sockaddr_in *peer);

/* Advance the handshake: TPT_DONE (peer checks passed), TPT_WANT_*, or
 * TPT_FAIL (counted, logged once per peer). */
int tpt_handshake(struct tpt *t, SSL *s, bool server, const struct sockaddr_in *peer);

/* A handshake that ran out of time (counted). */
void tpt_timeout(struct tpt *t);

/* Bytes read (> 0), TPT_WANT_*, TPT_EOF or TPT_FAIL. */
ssize_t tpt_read(SSL *s, void *buf, size_t n);
/* Bytes written (> 0), TPT_WANT_* or TPT_FAIL. */
ssize_t tpt_write(SSL *s, const void *buf, size_t n);

/* Handshake timeout in ms (tls.handshake_timeout). */
uint64_t tpt_handshake_ms(const struct tpt *t);

void tpt_get_stats(const struct tpt *t, struct tpt_stats *st);

#endif
