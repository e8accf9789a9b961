/* transport_tls: contexts, peer identity and the handshake verdict of
 * sipproxy's TLS connections (transport_tls.h).
 *
 * Theory of operation. Two OpenSSL contexts come from common/tlsctx with
 * the `tls` block: the server one asks every client for a certificate and
 * verifies one that is sent against tls.ca (a phone sends none and is
 * welcome: SIP over TLS authenticates phones by digest, RFC 3261 §26.3.2);
 * the client one presents our certificate too (so a peer that demands
 * mutual TLS gets it) and, with tls.verify_peers, refuses a server whose
 * chain does not verify or whose certificate does not carry the expected
 * name: the name of the tls.peers entry holding its address, else its
 * address (the proxy does no DNS: every next hop is numeric). After an
 * inbound handshake, a source inside a `mutual` tls.peers entry must have
 * presented a certificate that verified and carries that entry's name.
 *
 * I/O is OpenSSL's on the connection's own non-blocking socket, driven by
 * transport.c's events (no bufferevent_openssl: TLS connections stay in
 * the same tables, caps, idle timers and framer as TCP ones, with the read
 * and write calls swapped; see transport.c). A failed or refused handshake
 * is counted and logged at warning level at most once per peer address per
 * TPT_LOG_EVERY_S (refused certificates and other failures each have
 * their line); the reason names the certificate problem.
 *
 * Reload: tpt_reload() builds both contexts anew and swaps them only when
 * both built; OpenSSL reference-counts a context, so live connections keep
 * the one they were made with.
 */
#include "transport_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "clock.h"
#include "log.h"
#include "ratelimit.h"
#include "tlsctx.h"

#define TPT_LOG_EVERY_S 60

struct tpt {
	const struct sp_conf *conf;
	SSL_CTX *srv, *cli;
	struct ratelimit *log_fail, *log_peer; /* one line per address per TPT_LOG_EVERY_S, each */
	struct tpt_stats st;
};

static bool tls_used(const struct sp_conf *c)
{
	for (unsigned i = 0; i < c->nlisten; i++)
		if (c->listen[i].tls)
			return true;
	for (unsigned i = 0; i < c->nroutes; i++)
		if (c->routes[i].tls)
			return true;
	return c->tls.cert[0] != '\0';
}

/* Both contexts from conf->tls, or neither. */
static int build(const struct sp_conf *c, SSL_CTX **srv, SSL_CTX **cli, char *err, size_t n)
{
	const struct spc_tls *t = &c->tls;
	struct tlsctx_conf sc = {.cert = t->cert, .key = t->key, .ca = *t->ca ? t->ca : NULL,
				 .verify_peer = *t->ca != '\0'};
	struct tlsctx_conf cc = sc;
	char why[400];

	cc.verify_peer = t->verify_peers;
	*srv = tlsctx_server(&sc, why, sizeof(why));
	if (!*srv) {
		snprintf(err, n, "tls: %s", why);
		return -1;
	}
	*cli = tlsctx_client(&cc, why, sizeof(why));
	if (!*cli) {
		snprintf(err, n, "tls: %s", why);
		SSL_CTX_free(*srv);
		*srv = NULL;
		return -1;
	}
	return 0;
}

int tpt_new(const struct sp_conf *conf, struct tpt **out, char *err, size_t n)
{
	struct tpt *t;

	*out = NULL;
	if (!tls_used(conf))
		return 0;
	if (!(t = calloc(1, sizeof(*t))) || !(t->log_fail = rl_new(1, 1)) ||
	    !(t->log_peer = rl_new(1, 1))) {
		if (t)
			rl_free(t->log_fail);
		free(t);
		snprintf(err, n, "tls: out of memory");
		return -1;
	}
	t->conf = conf;
	if (build(conf, &t->srv, &t->cli, err, n) < 0) {
		tpt_free(t);
		return -1;
	}
	*out = t;
	return 0;
}

void tpt_free(struct tpt *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->srv);
	SSL_CTX_free(t->cli);
	rl_free(t->log_fail);
	rl_free(t->log_peer);
	free(t);
}

int tpt_reload(struct tpt *t, const struct sp_conf *fresh, char *err, size_t n)
{
	SSL_CTX *srv, *cli;

	if (build(fresh, &srv, &cli, err, n) < 0)
		return -1;
	SSL_CTX_free(t->srv);
	SSL_CTX_free(t->cli);
	t->srv = srv;
	t->cli = cli;
	t->st.reloads++;
	return 0;
}

/* The name a peer's certificate must carry: its tls.peers name, else its address. */
static const char *peer_name(const struct tpt *t, const struct sockaddr_in *peer, char *buf)
{
	const struct spc_tls_peer *p = sp_conf_tls_peer(t->conf, peer->sin_addr.s_addr);

	if (p)
		return p->name;
	return inet_ntop(AF_INET, &peer->sin_addr, buf, INET_ADDRSTRLEN);
}

SSL *tpt_ssl(struct tpt *t, int fd, bool server, const struct sockaddr_in *peer)
{
	SSL *s = SSL_new(server ? t->srv : t->cli);
	char ip[INET_ADDRSTRLEN], err[160];

	if (!s)
		goto fail;
	if (SSL_set_fd(s, fd) != 1)
		goto fail;
	/* transport.c writes from an evbuffer that may move between retries */
	SSL_set_mode(s, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (server) {
		SSL_set_accept_state(s);
	} else {
		SSL_set_connect_state(s);
		if (t->conf->tls.verify_peers &&
		    tlsctx_expect_name(s, peer_name(t, peer, ip), err, sizeof(err)) < 0) {
			log_debug("transport: tls: %s", err);
			goto fail;
		}
	}
	return s;
fail:
	SSL_free(s);
	ERR_clear_error();
	return NULL;
}

static void log_refusal(struct ratelimit *rl, const struct sockaddr_in *peer, const char *what,
			const char *why)
{
	char ip[INET_ADDRSTRLEN];

	if (!rl_once_per(rl, peer->sin_addr.s_addr, TPT_LOG_EVERY_S))
		return;
	log_warn("transport: tls %s %s:%u: %s (further ones from this address are counted, "
		 "not logged, for %ds)", what, inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof(ip)),
		 ntohs(peer->sin_port), why, TPT_LOG_EVERY_S);
}

int tpt_handshake(struct tpt *t, SSL *s, bool server, const struct sockaddr_in *peer)
{
	int rc = SSL_do_handshake(s), e;
	char why[200];

	if (rc == 1) {
		const struct spc_tls_peer *p;

		/* RFC 5923/RFC 3261 §26.3.1: the configured peers prove who they are */
		if (server && (p = sp_conf_tls_peer(t->conf, peer->sin_addr.s_addr)) && p->mutual &&
		    tlsctx_peer_check(s, p->name, why, sizeof(why)) < 0) {
			t->st.peer_rejected++;
			log_refusal(t->log_peer, peer, "peer refused", why);
			return TPT_FAIL;
		}
		t->st.handshakes++;
		return TPT_DONE;
	}
	e = SSL_get_error(s, rc);
	if (e == SSL_ERROR_WANT_READ)
		return TPT_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return TPT_WANT_WRITE;
	if (SSL_get_verify_result(s) != X509_V_OK) {
		snprintf(why, sizeof(why), "certificate: %s",
			 X509_verify_cert_error_string(SSL_get_verify_result(s)));
		ERR_clear_error();
		t->st.peer_rejected++;
		log_refusal(t->log_peer, peer, "peer refused", why);
	} else {
		t->st.handshake_failed++;
		log_refusal(t->log_fail, peer, "handshake failed with",
			    tlsctx_error(why, sizeof(why), "connection closed"));
	}
	return TPT_FAIL;
}

void tpt_timeout(struct tpt *t)
{
	t->st.handshake_timeout++;
}

static ssize_t io_result(SSL *s, int rc)
{
	switch (SSL_get_error(s, rc)) {
	case SSL_ERROR_WANT_READ:
		return TPT_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TPT_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TPT_EOF;
	default:
		ERR_clear_error();
		return TPT_FAIL;
	}
}

ssize_t tpt_read(SSL *s, void *buf, size_t n)
{
	int rc = SSL_read(s, buf, n > INT_MAX ? INT_MAX : (int)n);

	return rc > 0 ? rc : io_result(s, rc);
}

ssize_t tpt_write(SSL *s, const void *buf, size_t n)
{
	int rc = SSL_write(s, buf, n > INT_MAX ? INT_MAX : (int)n);

	return rc > 0 ? rc : io_result(s, rc);
}

uint64_t tpt_handshake_ms(const struct tpt *t)
{
	return (uint64_t)t->conf->tls.handshake_timeout * 1000u;
}

void tpt_get_stats(const struct tpt *t, struct tpt_stats *st)
{
	if (t)
		*st = t->st;
	else
		memset(st, 0, sizeof(*st));
}
