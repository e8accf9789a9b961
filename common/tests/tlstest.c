/* tlstest: throw-away CA and leaf certificates for unit tests (tlstest.h).
 * P-256 keys, SHA-256 signatures, valid from one hour ago for two days. */
#include "tlstest.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

const char *tlstest_path(char *buf, size_t n, const char *dir, const char *base,
			 const char *ext)
{
	snprintf(buf, n, "%s/%s.%s", dir, base, ext);
	return buf;
}

int tlstest_tmpdir(char *dir, size_t n)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, n, "%s/tlstest.XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

void tlstest_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static int write_pem(const char *dir, const char *base, X509 *x, EVP_PKEY *k)
{
	char p[512];
	FILE *f;
	int fd, ok;

	f = fopen(tlstest_path(p, sizeof p, dir, base, "pem"), "w");
	if (!f)
		return -1;
	ok = PEM_write_X509(f, x);
	fclose(f);
	fd = open(tlstest_path(p, sizeof p, dir, base, "key"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	ok = ok && PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	return ok ? 0 : -1;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx(&v, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v, nid, value);
	if (!e)
		return 0;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/* A certificate for key k named cn, signed by (ik, issuer) or by itself. */
static X509 *make_cert(EVP_PKEY *k, const char *cn, EVP_PKEY *ik, X509 *issuer, bool ca)
{
	static long serial = 1;
	X509 *x = X509_new();
	X509_NAME *nm;
	char san[300];
	unsigned char b[16];

	if (!x)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++ + (long)getpid() * 1000);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 2 * 86400);
	X509_set_pubkey(x, k);
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
	if (ca) {
		if (!add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") ||
		    !add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign"))
			goto fail;
	} else {
		bool ip = inet_pton(AF_INET, cn, b) == 1 || inet_pton(AF_INET6, cn, b) == 1;

		snprintf(san, sizeof san, "%s:%s", ip ? "IP" : "DNS", cn);
		if (!add_ext(x, issuer, NID_basic_constraints, "CA:FALSE") ||
		    !add_ext(x, issuer, NID_subject_alt_name, san) ||
		    !add_ext(x, issuer, NID_ext_key_usage, "serverAuth,clientAuth"))
			goto fail;
	}
	if (!X509_sign(x, ik ? ik : k, EVP_sha256()))
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static EVP_PKEY *read_key(const char *dir, const char *base)
{
	char p[512];
	FILE *f = fopen(tlstest_path(p, sizeof p, dir, base, "key"), "r");
	EVP_PKEY *k;

	if (!f)
		return NULL;
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

static X509 *read_cert(const char *dir, const char *base)
{
	char p[512];
	FILE *f = fopen(tlstest_path(p, sizeof p, dir, base, "pem"), "r");
	X509 *x;

	if (!f)
		return NULL;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return x;
}

int tlstest_ca(const char *dir, const char *ca)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = k ? make_cert(k, ca, NULL, NULL, true) : NULL;
	int rc = x ? write_pem(dir, ca, x, k) : -1;

	X509_free(x);
	EVP_PKEY_free(k);
	return rc;
}

int tlstest_leaf(const char *dir, const char *ca, const char *leaf, const char *name)
{
	EVP_PKEY *ik = read_key(dir, ca), *k = EVP_EC_gen("P-256");
	X509 *issuer = read_cert(dir, ca), *x = NULL;
	int rc = -1;

	if (ik && issuer && k && (x = make_cert(k, name, ik, issuer, false)) != NULL)
		rc = write_pem(dir, leaf, x, k);
	X509_free(x);
	X509_free(issuer);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ik);
	return rc;
}
