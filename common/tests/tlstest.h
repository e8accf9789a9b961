/* tlstest: throw-away certificates for unit tests (OpenSSL API, no CLI).
 *
 * tlstest_ca() makes a self-signed CA in dir (NAME.pem, NAME.key);
 * tlstest_leaf() a P-256 key and a certificate signed by that CA with
 * CN=name and a subjectAltName of name (DNS, or IP for an address literal)
 * (LEAF.pem, LEAF.key, mode 0600). Both return 0 or -1. tlstest_tmpdir()
 * makes a fresh directory under TMPDIR; tlstest_rmdir() removes it. */
#ifndef NATEDGE_TLSTEST_H
#define NATEDGE_TLSTEST_H

#include <stddef.h>

int tlstest_tmpdir(char *dir, size_t n);
void tlstest_rmdir(const char *dir);
int tlstest_ca(const char *dir, const char *ca);
int tlstest_leaf(const char *dir, const char *ca, const char *leaf, const char *name);
/* dir/base.ext into buf, for the tests' paths. */
const char *tlstest_path(char *buf, size_t n, const char *dir, const char *base,
			 const char *ext);

#endif
