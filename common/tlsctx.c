/* tlsctx: OpenSSL 3 contexts for both daemons and libcontrol (tlsctx.h).
 *
 * Theory of operation. A context is built in one pass that unwinds through
 * one exit: protocol floor and ceiling (TLS 1.2..1.3), cipher policy,
 * options, then the files: the key is opened once, checked for its mode on
 * the open descriptor (no window between the check and the read), parsed,
 * and matched against the certificate; the CA bundle is loaded into the
 * verification store. Errors carry the file name and the innermost OpenSSL
 * reason ("cert /etc/x.pem: no start line"), and the OpenSSL error queue is
 * left empty for the caller's next call. */
#include "tlsctx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only. TLS 1.3 keeps
 * OpenSSL's defaults (all AEAD). */
#define TLSCTX_CIPHERS_12 "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"

static void seterr(char *err, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (!err || !n)
		return;
	va_start(ap, fmt);
	vsnprintf(err, n, fmt, ap);
	va_end(ap);
}

const char *tlsctx_error(char *buf, size_t n, const char *none)
{
	unsigned long e, last = 0;
	const char *r;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (!last)
		snprintf(buf, n, "%s", none);
	else if ((r = ERR_reason_error_string(last)) != NULL)
		snprintf(buf, n, "%s", r);
	else
		ERR_error_string_n(last, buf, n);
	return buf;
}

static const char *ossl_reason(char *buf, size_t n)
{
	return tlsctx_error(buf, n, "unknown OpenSSL error");
}

/* The mode check on an open descriptor (no window between check and read). */
static int key_fd_private(int fd, const char *path, char *err, size_t n)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		int e = errno;

		seterr(err, n, "key %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, n, "key %s: not a regular file", path);
		return -EINVAL;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		seterr(err, n, "key %s: group or others may access it (mode %04o); "
			       "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int tlsctx_key_private(const char *path, char *err, size_t n)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		seterr(err, n, "key %s: cannot open: %s", path, strerror(errno));
		return rc;
	}
	rc = key_fd_private(fd, path, err, n);
	close(fd);
	return rc;
}

/* Open, check the mode on the descriptor, parse. NULL with err on failure. */
static EVP_PKEY *load_key(const char *path, char *err, size_t n)
{
	char why[160];
	EVP_PKEY *k = NULL;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		seterr(err, n, "key %s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (key_fd_private(fileno(f), path, err, n) < 0)
		goto out;
	k = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
	if (!k)
		seterr(err, n, "key %s: not a PEM private key (or encrypted): %s", path,
		       ossl_reason(why, sizeof why));
out:
	fclose(f);
	return k;
}

/* Readable at all? fopen's errno names missing files and permissions
 * better than OpenSSL's "system lib". */
static int readable(const char *what, const char *path, char *err, size_t n)
{
	FILE *f = fopen(path, "re");

	if (!f) {
		int e = errno;

		seterr(err, n, "%s %s: cannot open: %s", what, path, strerror(e));
		return -e;
	}
	fclose(f);
	return 0;
}

static int load_pair(SSL_CTX *ctx, const struct tlsctx_conf *c, char *err, size_t n)
{
	char why[160];
	EVP_PKEY *k;
	int rc;

	if (!c->cert || !c->key) {
		seterr(err, n, "%s", !c->cert ? "cert: not set" : "key: not set");
		return -EINVAL;
	}
	if ((rc = readable("cert", c->cert, err, n)) < 0)
		return rc;
	if (SSL_CTX_use_certificate_chain_file(ctx, c->cert) != 1) {
		seterr(err, n, "cert %s: not a PEM certificate: %s", c->cert,
		       ossl_reason(why, sizeof why));
		return -EINVAL;
	}
	k = load_key(c->key, err, n);
	if (!k)
		return -EINVAL;
	rc = SSL_CTX_use_PrivateKey(ctx, k);
	EVP_PKEY_free(k);
	if (rc != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		seterr(err, n, "key %s does not match cert %s: %s", c->key, c->cert,
		       ossl_reason(why, sizeof why));
		return -EINVAL;
	}
	return 0;
}

static int load_ca(SSL_CTX *ctx, const char *ca, char *err, size_t n)
{
	char why[160];
	STACK_OF(X509_NAME) *names;
	int rc;

	if ((rc = readable("ca", ca, err, n)) < 0)
		return rc;
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		seterr(err, n, "ca %s: not a PEM certificate bundle: %s", ca,
		       ossl_reason(why, sizeof why));
		return -EINVAL;
	}
	/* Servers tell clients which CAs they accept (the client picks its cert). */
	names = SSL_load_client_CA_file(ca);
	if (names)
		SSL_CTX_set_client_CA_list(ctx, names);
	ERR_clear_error();
	return 0;
}

static SSL_CTX *ctx_new(const SSL_METHOD *m, char *err, size_t n)
{
	char why[160];
	SSL_CTX *ctx = SSL_CTX_new(m);

	if (!ctx) {
		seterr(err, n, "SSL_CTX_new: %s", ossl_reason(why, sizeof why));
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLSCTX_CIPHERS_12) != 1) {
		seterr(err, n, "TLS protocol settings: %s", ossl_reason(why, sizeof why));
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Idle connections give their read/write buffers back (memory per
	 * connection is bounded by what is in flight). */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

SSL_CTX *tlsctx_server(const struct tlsctx_conf *c, char *err, size_t n)
{
	SSL_CTX *ctx;

	if (c->verify_peer && !c->ca) {
		seterr(err, n, "ca: needed to verify peers' certificates");
		return NULL;
	}
	ctx = ctx_new(TLS_server_method(), err, n);
	if (!ctx)
		return NULL;
	if (load_pair(ctx, c, err, n) < 0)
		goto fail;
	if (c->ca && load_ca(ctx, c->ca, err, n) < 0)
		goto fail;
	if (c->verify_peer)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
				   (c->require_peer_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
				   NULL);
	/* One context per daemon and purpose: session resumption stays within it. */
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"natedge", 7);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *tlsctx_client(const struct tlsctx_conf *c, char *err, size_t n)
{
	char why[160];
	SSL_CTX *ctx = ctx_new(TLS_client_method(), err, n);

	if (!ctx)
		return NULL;
	if ((c->cert || c->key) && load_pair(ctx, c, err, n) < 0)
		goto fail;
	if (c->ca) {
		if (load_ca(ctx, c->ca, err, n) < 0)
			goto fail;
	} else if (c->verify_peer && SSL_CTX_set_default_verify_paths(ctx) != 1) {
		seterr(err, n, "system CA store: %s", ossl_reason(why, sizeof why));
		goto fail;
	}
	SSL_CTX_set_verify(ctx, c->verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static bool is_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

int tlsctx_expect_name(SSL *s, const char *name, char *err, size_t n)
{
	X509_VERIFY_PARAM *p = SSL_get0_param(s);
	int ok;

	if (!name || !*name)
		return 0;
	if (is_ip(name))
		ok = X509_VERIFY_PARAM_set1_ip_asc(p, name);
	else {
		X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = SSL_set1_host(s, name) == 1 && SSL_set_tlsext_host_name(s, name) == 1;
	}
	if (ok != 1) {
		ERR_clear_error();
		seterr(err, n, "peer name %s: not usable", name);
		return -EINVAL;
	}
	return 0;
}

int tlsctx_peer_check(SSL *s, const char *name, char *err, size_t n)
{
	X509 *cert = SSL_get0_peer_certificate(s);
	long v;
	int ok;

	if (!cert) {
		seterr(err, n, "peer sent no certificate");
		return -EACCES;
	}
	v = SSL_get_verify_result(s);
	if (v != X509_V_OK) {
		seterr(err, n, "peer certificate: %s", X509_verify_cert_error_string(v));
		return -EACCES;
	}
	if (!name || !*name)
		return 0;
	if (is_ip(name))
		ok = X509_check_ip_asc(cert, name, 0);
	else
		ok = X509_check_host(cert, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL);
	ERR_clear_error();
	if (ok != 1) {
		seterr(err, n, "peer certificate is not for %s", name);
		return -EACCES;
	}
	return 0;
}

const char *tlsctx_peer_cn(SSL *s, char *buf, size_t n)
{
	X509 *cert = SSL_get0_peer_certificate(s);
	X509_NAME *sub = cert ? X509_get_subject_name(cert) : NULL;

	if (!n)
		return buf;
	if (!sub || X509_NAME_get_text_by_NID(sub, NID_commonName, buf, (int)n) < 0)
		snprintf(buf, n, "-");
	ERR_clear_error();
	return buf;
}
