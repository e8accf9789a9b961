/* tlsctx: the one place that builds OpenSSL 3 contexts (natd's control
 * server, libcontrol's client, sipproxy's TLS transport).
 *
 * Every context speaks TLS 1.2 and 1.3 only, with forward-secret AEAD
 * ciphers, no renegotiation and no compression. Files are read once per
 * call: building a new context is how a daemon reloads its certificate, key
 * and CA on SIGHUP (connections keep the context they were made with, which
 * OpenSSL reference-counts).
 *
 * Polite like libcontrol: nothing here logs, exits or touches a global of
 * ours; each function writes a one-line reason naming the file and
 * OpenSSL's reason into the caller's buffer and returns NULL or a negative
 * errno. Depends on OpenSSL only (it is compiled into libcontrol.so). */
#ifndef NATEDGE_TLSCTX_H
#define NATEDGE_TLSCTX_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

struct tlsctx_conf {
	const char *cert; /* PEM: our certificate, then its chain; NULL: none (a client without one) */
	const char *key;  /* PEM private key of cert; must pass tlsctx_key_private() */
	const char *ca;   /* PEM bundle of the CAs that sign peers' certificates */
	/* Server: ask for a client certificate and refuse one that does not
	 * verify against ca (a client sending none is still accepted unless
	 * require_peer_cert). Client: refuse a server certificate that does not
	 * verify against ca (or the system's CAs when ca is NULL). */
	bool verify_peer;
	bool require_peer_cert; /* server only: refuse a client without a certificate (mutual TLS) */
};

/* A server context (cert and key required). NULL with err filled on failure. */
SSL_CTX *tlsctx_server(const struct tlsctx_conf *c, char *err, size_t n);

/* A client context (cert and key optional, for mutual TLS). */
SSL_CTX *tlsctx_client(const struct tlsctx_conf *c, char *err, size_t n);

/* 0 if path names a regular file we can read and that neither group nor
 * others may read or write; else -errno (-EPERM for a lax mode) and err. */
int tlsctx_key_private(const char *path, char *err, size_t n);

/* Before a client handshake: the name the server's certificate must carry
 * (a DNS name, also sent as SNI, or an IPv4/IPv6 literal matched against
 * its IP addresses). NULL or "" checks only the chain. 0 or -EINVAL. */
int tlsctx_expect_name(SSL *s, const char *name, char *err, size_t n);

/* After a handshake: 0 if the peer sent a certificate that verified and,
 * when name is non-NULL, carries name (DNS SAN/CN, or IP SAN for an address
 * literal); else -EACCES with the reason in err. */
int tlsctx_peer_check(SSL *s, const char *name, char *err, size_t n);

/* The innermost reason of OpenSSL's error queue into buf (none if the queue
 * is empty), leaving the queue empty: for a caller's own messages. */
const char *tlsctx_error(char *buf, size_t n, const char *none);

/* The peer certificate's subject CN (or "-" without one) into buf, for logs. */
const char *tlsctx_peer_cn(SSL *s, char *buf, size_t n);

#endif
