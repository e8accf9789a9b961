/* ctl_tls: TLS for natd's TCP control channel (control.tls_*).
 *
 * Theory of operation. With control.tls_cert set, every TCP control
 * connection starts with a TLS handshake (1.2 or 1.3, through the shared
 * common/tlsctx.c), inside the same control.handshake_timeout as HELLO and
 * AUTH. The client must present a certificate that verifies against
 * control.tls_ca (control.tls_require_client_cert, on by default) and, when
 * control.tls_client_names is set, carries one of those names. Only then
 * is a byte of the control protocol read: HELLO and the HMAC AUTH exchange
 * of the shared secret still follow inside the session (defence in depth:
 * a stolen client key without the secret, or the secret without a key
 * signed by the CA, gets nothing), and from there requests and replies are
 * neither readable nor alterable on the wire.
 *
 * Plain TCP stays for loopback listeners only: the configuration check
 * refuses control.tcp_listen on another address without TLS unless
 * control.insecure_plain_tcp = true says the operator means it, and natd
 * warns at start whenever it listens in clear.
 *
 * A reload builds a new context (certificate, key and CA re-read): new
 * connections use it, established ones keep the one they were made with
 * (OpenSSL counts its references). A failed handshake or a refused
 * certificate is counted always and logged at most once a minute per
 * source address (a small table of recent sources, the oldest recycled),
 * so a flood of bad handshakes cannot become a flood of log lines.
 */
#ifndef NATD_CTL_TLS_H
#define NATD_CTL_TLS_H

#include <libconfig.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "conf.h"
#include "conftab.h"

/* control.tls_client_names: names of CTL_TLS_NAME_LEN-1 bytes at most,
 * CTL_TLS_NAMES_MAX of them (count at off2). */
extern const struct conftab_type ctl_tls_names_type;

/* The cross-field checks of the control.tls_* and plain-TCP settings
 * (conf_load's, so natd -n makes them): files present, the key private,
 * the context buildable, and no plain TCP on a non-loopback address
 * unless control.insecure_plain_tcp. Errors are counted in ct. */
void ctl_tls_conf_check(struct conftab *ct, const config_t *cfg, const struct natd_conf *c);

/* Whether the control TCP listener of c speaks plain TCP on a loopback
 * address (what natd warns about). */
bool ctl_tls_plain_loopback(const struct natd_conf *c);

struct ctl_tls;

/* The TLS side of the control listener from c: *out NULL when c has no
 * control.tls_cert (plain TCP). 0, or -1 (logged, naming the file). */
int ctl_tls_new(const struct natd_conf *c, struct ctl_tls **out);
void ctl_tls_free(struct ctl_tls *t);

/* Whether t and c name the same certificate, key and CA files. */
bool ctl_tls_same_files(const struct ctl_tls *t, const struct natd_conf *c);

/* A server session for one accepted connection, or NULL. */
SSL *ctl_tls_session(struct ctl_tls *t);

/* After the handshake: 0 if the peer is acceptable (its certificate, when
 * required, verified and carries an allowed name), else -1 with the
 * reason in err. */
int ctl_tls_peer_ok(const struct ctl_tls *t, SSL *s, char *err, size_t n);

/* Whether a failure from src (network order) may be logged now: at most
 * once a minute per source. *suppressed gets how many were not logged
 * since the last line for that source. */
bool ctl_tls_log_ok(struct ctl_tls *t, uint32_t src, uint64_t now_ms, unsigned *suppressed);

#endif
