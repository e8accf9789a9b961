/* tls: the client end of TLS (see tls.h). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "tls.h"
#include "tlsctx.h"

/* The session's socket I/O. OpenSSL's own socket BIO writes with write(),
 * which raises SIGPIPE when natd has gone: the library promises never to
 * do that to the application, so writes go through send(MSG_NOSIGNAL). */
static int bio_write(BIO *b, const char *buf, size_t n, size_t *done)
{
	ssize_t r = send((int)(intptr_t)BIO_get_data(b), buf, n, MSG_NOSIGNAL);

	BIO_clear_retry_flags(b);
	if (r >= 0) {
		*done = (size_t)r;
		return 1;
	}
	if (errno == EAGAIN || errno == EINTR)
		BIO_set_retry_write(b);
	return 0;
}

static int bio_read(BIO *b, char *buf, size_t n, size_t *done)
{
	ssize_t r = recv((int)(intptr_t)BIO_get_data(b), buf, n, 0);

	BIO_clear_retry_flags(b);
	if (r > 0) {
		*done = (size_t)r;
		return 1;
	}
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		BIO_set_retry_read(b);
	else if (r == 0)
		errno = 0; /* an EOF, not an error */
	return 0;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static BIO_METHOD *bio_meth;
static CRYPTO_ONCE bio_once = CRYPTO_ONCE_STATIC_INIT;

static void bio_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "libcontrol socket");

	if (m && (!BIO_meth_set_write_ex(m, bio_write) || !BIO_meth_set_read_ex(m, bio_read) ||
		  !BIO_meth_set_ctrl(m, bio_ctrl))) {
		BIO_meth_free(m);
		m = NULL;
	}
	bio_meth = m;
}

/* A BIO on fd (not closed with it). */
static BIO *bio_new(int fd)
{
	BIO *b;

	if (!CRYPTO_THREAD_run_once(&bio_once, bio_init) || !bio_meth || !(b = BIO_new(bio_meth)))
		return NULL;
	BIO_set_data(b, (void *)(intptr_t)fd);
	BIO_set_init(b, 1);
	return b;
}

SSL_CTX *nc_tls_ctx(const struct nc_tls *tls, int *errp)
{
	struct tlsctx_conf tc = {
		.cert = tls->cert && *tls->cert ? tls->cert : NULL,
		.key = tls->key && *tls->key ? tls->key : NULL,
		.ca = tls->ca && *tls->ca ? tls->ca : NULL,
		.verify_peer = true,
	};
	char err[256];
	SSL_CTX *ctx;

	if (!tc.cert != !tc.key) {
		*errp = NC_E_INVAL; /* a certificate without its key, or the reverse */
		return NULL;
	}
	if ((tc.key && tlsctx_key_private(tc.key, err, sizeof(err)) < 0) ||
	    !(ctx = tlsctx_client(&tc, err, sizeof(err)))) {
		*errp = NC_E_TLS_FILES;
		return NULL;
	}
	return ctx;
}

int nc_tls_new(SSL_CTX *ctx, const struct nc_tls *tls, const char *host, int fd, SSL **sp)
{
	const char *name = tls->server_name && *tls->server_name ? tls->server_name : host;
	char err[256];
	BIO *bio;
	SSL *s;

	if (!(s = SSL_new(ctx))) {
		ERR_clear_error();
		return -ENOMEM;
	}
	SSL_set_mode(s, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (!(bio = bio_new(fd))) {
		SSL_free(s);
		ERR_clear_error();
		return -ENOMEM;
	}
	SSL_set_bio(s, bio, bio); /* the session owns it now */
	if (tlsctx_expect_name(s, name, err, sizeof(err)) < 0) {
		SSL_free(s);
		ERR_clear_error();
		return NC_E_INVAL;
	}
	SSL_set_connect_state(s);
	*sp = s;
	return 0;
}

/* An alert from natd that says it refused our certificate. */
static bool refused_alert(unsigned long e)
{
	switch (ERR_GET_REASON(e)) {
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
	case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
		return true;
	default:
		return false;
	}
}

/* What an SSL call's result r means. */
static int outcome(SSL *s, int r, short *want)
{
	unsigned long e;
	int err = SSL_get_error(s, r);

	switch (err) {
	case SSL_ERROR_WANT_READ:
		*want = POLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		*want = POLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		e = errno;
		ERR_clear_error();
		/* an EOF in the middle of a record: natd hung up */
		return e && e != EPIPE ? -(int)e : -ECONNRESET;
	default:
		break;
	}
	e = ERR_peek_last_error();
	ERR_clear_error();
	if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return -ECONNRESET; /* natd hung up without close_notify */
	if (SSL_get_verify_result(s) != X509_V_OK)
		return NC_E_TLS_VERIFY;
	if (refused_alert(e))
		return NC_E_TLS_REFUSED;
	return NC_E_TLS;
}

int nc_tls_handshake(SSL *s, short *want)
{
	int r;

	ERR_clear_error();
	if ((r = SSL_do_handshake(s)) == 1)
		return 0;
	r = outcome(s, r, want);
	return r == 0 ? -ECONNRESET : r; /* closed before the handshake was done */
}

ssize_t nc_tls_recv(SSL *s, void *buf, size_t n, short *want)
{
	size_t got = 0;
	int r;

	ERR_clear_error();
	if ((r = SSL_read_ex(s, buf, n, &got)) == 1)
		return (ssize_t)got;
	return outcome(s, r, want);
}

ssize_t nc_tls_send(SSL *s, const void *buf, size_t n, short *want)
{
	size_t put = 0;
	int r;

	ERR_clear_error();
	if ((r = SSL_write_ex(s, buf, n, &put)) == 1)
		return (ssize_t)put;
	r = outcome(s, r, want);
	return r == 0 ? -ECONNRESET : r;
}

void nc_tls_free(SSL *s)
{
	if (!s)
		return;
	if (SSL_is_init_finished(s))
		SSL_shutdown(s); /* non-blocking: at most one try */
	SSL_free(s);
	ERR_clear_error();
}
