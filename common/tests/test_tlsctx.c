/* test_tlsctx: building TLS contexts (tlsctx.c): every file error names
 * the file and the reason, keys others could read are refused, a key must
 * match its certificate; handshakes in memory (BIO pairs) show TLS 1.2 and
 * 1.3 accepted, TLS 1.1 refused, a peer name checked, a client certificate
 * from another CA refused and a missing one refused only when required. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>

#include "tlsctx.h"
#include "tlstest.h"

struct fx {
	char dir[256];
	char p[8][512];
};

enum { CA_PEM, SRV_PEM, SRV_KEY, CLI_PEM, CLI_KEY, EVIL_PEM, EVIL_KEY, OTHER_KEY };

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof f);
	if (tlstest_tmpdir(f.dir, sizeof f.dir) < 0 || tlstest_ca(f.dir, "ca") < 0 ||
	    tlstest_leaf(f.dir, "ca", "srv", "sip.example") < 0 ||
	    tlstest_leaf(f.dir, "ca", "cli", "egress.example") < 0 ||
	    tlstest_leaf(f.dir, "ca", "other", "other.example") < 0 ||
	    tlstest_ca(f.dir, "evilca") < 0 ||
	    tlstest_leaf(f.dir, "evilca", "evil", "egress.example") < 0)
		return -1;
	tlstest_path(f.p[CA_PEM], 512, f.dir, "ca", "pem");
	tlstest_path(f.p[SRV_PEM], 512, f.dir, "srv", "pem");
	tlstest_path(f.p[SRV_KEY], 512, f.dir, "srv", "key");
	tlstest_path(f.p[CLI_PEM], 512, f.dir, "cli", "pem");
	tlstest_path(f.p[CLI_KEY], 512, f.dir, "cli", "key");
	tlstest_path(f.p[EVIL_PEM], 512, f.dir, "evil", "pem");
	tlstest_path(f.p[EVIL_KEY], 512, f.dir, "evil", "key");
	tlstest_path(f.p[OTHER_KEY], 512, f.dir, "other", "key");
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tlstest_rmdir(f->dir);
	return 0;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_good_pair(void **state)
{
	struct fx *f = *state;
	struct tlsctx_conf c = { .cert = f->p[SRV_PEM], .key = f->p[SRV_KEY],
				 .ca = f->p[CA_PEM], .verify_peer = true };
	char err[256] = "";
	SSL_CTX *ctx;

	ctx = tlsctx_server(&c, err, sizeof err);
	assert_non_null(ctx);
	assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
	SSL_CTX_free(ctx);
	ctx = tlsctx_client(&c, err, sizeof err);
	assert_non_null(ctx);
	SSL_CTX_free(ctx);
	/* a client needs no certificate of its own */
	c.cert = c.key = NULL;
	ctx = tlsctx_client(&c, err, sizeof err);
	assert_non_null(ctx);
	SSL_CTX_free(ctx);
	assert_int_equal(ERR_peek_error(), 0);
}

static void expect_fail_server(const struct tlsctx_conf *c, const char *want1, const char *want2)
{
	char err[256] = "";

	assert_null(tlsctx_server(c, err, sizeof err));
	if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
		fail_msg("error \"%s\" lacks \"%s\"/\"%s\"", err, want1, want2 ? want2 : "");
	assert_int_equal(ERR_peek_error(), 0); /* queue left empty */
}

static void test_missing_files(void **state)
{
	struct fx *f = *state;
	char nope[600];
	struct tlsctx_conf c = { .cert = f->p[SRV_PEM], .key = f->p[SRV_KEY] };

	snprintf(nope, sizeof nope, "%s/nope.pem", f->dir);
	c.cert = nope;
	expect_fail_server(&c, nope, "No such file");
	c.cert = f->p[SRV_PEM];
	c.key = nope;
	expect_fail_server(&c, nope, "No such file");
	c.key = NULL;
	expect_fail_server(&c, "key: not set", NULL);
	c.key = f->p[SRV_KEY];
	c.ca = nope;
	expect_fail_server(&c, "ca ", "No such file");
	/* verifying peers without a CA is a configuration error */
	c.ca = NULL;
	c.verify_peer = true;
	expect_fail_server(&c, "ca: needed", NULL);
}

static void test_key_mode(void **state)
{
	struct fx *f = *state;
	struct tlsctx_conf c = { .cert = f->p[SRV_PEM], .key = f->p[SRV_KEY] };
	char err[256] = "";

	assert_int_equal(tlsctx_key_private(f->p[SRV_KEY], err, sizeof err), 0);
	assert_int_equal(chmod(f->p[SRV_KEY], 0644), 0);
	assert_int_equal(tlsctx_key_private(f->p[SRV_KEY], err, sizeof err), -EPERM);
	assert_non_null(strstr(err, "0644"));
	expect_fail_server(&c, f->p[SRV_KEY], "group or others");
	assert_int_equal(chmod(f->p[SRV_KEY], 0640), 0);
	expect_fail_server(&c, f->p[SRV_KEY], "0640");
	assert_int_equal(chmod(f->p[SRV_KEY], 0400), 0);
	assert_int_equal(tlsctx_key_private(f->p[SRV_KEY], err, sizeof err), 0);
	assert_int_equal(chmod(f->p[SRV_KEY], 0600), 0);
	/* a directory is not a key */
	assert_int_equal(tlsctx_key_private(f->dir, err, sizeof err) < 0, 1);
}

static void test_key_unreadable(void **state)
{
	struct fx *f = *state;
	struct tlsctx_conf c = { .cert = f->p[SRV_PEM], .key = f->p[SRV_KEY] };
	char err[256] = "";
	uid_t uid = geteuid();

	/* root reads anything: become nobody for the test (the tests run as root) */
	assert_int_equal(chmod(f->dir, 0711), 0);
	assert_int_equal(chmod(f->p[SRV_PEM], 0644), 0);
	if (uid == 0)
		assert_int_equal(seteuid(65534), 0);
	assert_int_equal(tlsctx_key_private(f->p[SRV_KEY], err, sizeof err), -EACCES);
	assert_non_null(strstr(err, "cannot open"));
	expect_fail_server(&c, f->p[SRV_KEY], "Permission denied");
	if (uid == 0)
		assert_int_equal(seteuid(0), 0);
	assert_int_equal(chmod(f->dir, 0700), 0);
	/* and the same key is fine for its owner */
	assert_int_equal(tlsctx_key_private(f->p[SRV_KEY], err, sizeof err), 0);
}

static void test_mismatch_and_bad_pem(void **state)
{
	struct fx *f = *state;
	struct tlsctx_conf c = { .cert = f->p[SRV_PEM], .key = f->p[OTHER_KEY] };
	char junk[600], junkkey[600];

	expect_fail_server(&c, "does not match", f->p[SRV_PEM]);
	snprintf(junk, sizeof junk, "%s/junk.pem", f->dir);
	write_file(junk, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n", 0644);
	c.cert = junk;
	c.key = f->p[SRV_KEY];
	expect_fail_server(&c, junk, "not a PEM certificate");
	snprintf(junkkey, sizeof junkkey, "%s/junk.key", f->dir);
	write_file(junkkey, "hello\n", 0600);
	c.cert = f->p[SRV_PEM];
	c.key = junkkey;
	expect_fail_server(&c, junkkey, "not a PEM private key");
	/* a CA file that holds no certificate */
	c.key = f->p[SRV_KEY];
	c.ca = junkkey;
	expect_fail_server(&c, junkkey, "not a PEM certificate bundle");
}

/* Run a handshake between two SSLs over a BIO pair; true if both finish. */
static bool handshake(SSL *cli, SSL *srv)
{
	BIO *a, *b;
	int i, rc, rs = 0;

	assert_int_equal(BIO_new_bio_pair(&a, 0, &b, 0), 1);
	SSL_set_bio(cli, a, a);
	SSL_set_bio(srv, b, b);
	SSL_set_connect_state(cli);
	SSL_set_accept_state(srv);
	for (i = 0; i < 50; i++) {
		rc = SSL_do_handshake(cli);
		rs = SSL_do_handshake(srv);
		if (rc == 1 && rs == 1)
			break;
		if ((rc <= 0 && SSL_get_error(cli, rc) != SSL_ERROR_WANT_READ) ||
		    (rs <= 0 && SSL_get_error(srv, rs) != SSL_ERROR_WANT_READ))
			break;
	}
	/* TLS 1.3: the server's verdict on a client certificate reaches the
	 * client after its handshake "finished": read once to see an alert. */
	if (rc == 1 && rs == 1) {
		char c;

		SSL_write(srv, "x", 1);
		if (SSL_read(cli, &c, 1) != 1)
			rc = 0;
	}
	ERR_clear_error();
	return rc == 1 && rs == 1;
}

struct pair {
	SSL_CTX *sctx, *cctx;
	SSL *srv, *cli;
};

static void pair_new(struct pair *p, const struct tlsctx_conf *sc, const struct tlsctx_conf *cc)
{
	char err[256] = "";

	p->sctx = tlsctx_server(sc, err, sizeof err);
	if (!p->sctx)
		fail_msg("server: %s", err);
	p->cctx = tlsctx_client(cc, err, sizeof err);
	if (!p->cctx)
		fail_msg("client: %s", err);
	p->srv = SSL_new(p->sctx);
	p->cli = SSL_new(p->cctx);
	assert_non_null(p->srv);
	assert_non_null(p->cli);
}

static void pair_free(struct pair *p)
{
	SSL_free(p->srv);
	SSL_free(p->cli);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
}

static void test_versions(void **state)
{
	struct fx *f = *state;
	struct tlsctx_conf sc = { .cert = f->p[SRV_PEM], .key = f->p[SRV_KEY] };
	struct tlsctx_conf cc = { .ca = f->p[CA_PEM], .verify_peer = true };
	static const int ok[] = { TLS1_2_VERSION, TLS1_3_VERSION };
	struct pair p;
	unsigned i;

	for (i = 0; i < 2; i++) {
		pair_new(&p, &sc, &cc);
		SSL_set_min_proto_version(p.cli, ok[i]);
		SSL_set_max_proto_version(p.cli, ok[i]);
		assert_true(handshake(p.cli, p.srv));
		assert_int_equal(SSL_version(p.srv), ok[i]);
		pair_free(&p);
	}
	/* a TLS 1.1 (and 1.0) client, even one willing to go weak, is refused */
	pair_new(&p, &sc, &cc);
	SSL_set_security_level(p.cli, 0);
	SSL_set_cipher_list(p.cli, "ALL:@SECLEVEL=0");
	SSL_set_min_proto_version(p.cli, TLS1_VERSION);
	SSL_set_max_proto_version(p.cli, TLS1_1_VERSION);
	assert_false(handshake(p.cli, p.srv));
	pair_free(&p);
	/* control: that client does get through to a server allowing TLS 1.1,
	 * so the refusal above is the floor's doing */
	pair_new(&p, &sc, &cc);
	SSL_set_security_level(p.srv, 0);
	SSL_set_cipher_list(p.srv, "ALL:@SECLEVEL=0");
	SSL_set_min_proto_version(p.srv, TLS1_VERSION);
	SSL_set_security_level(p.cli, 0);
	SSL_set_cipher_list(p.cli, "ALL:@SECLEVEL=0");
	SSL_set_min_proto_version(p.cli, TLS1_VERSION);
	SSL_set_max_proto_version(p.cli, TLS1_1_VERSION);
	assert_true(handshake(p.cli, p.srv));
	assert_int_equal(SSL_version(p.srv), TLS1_1_VERSION);
	pair_free(&p);
}

static void test_peer_name(void **state)
{
	struct fx *f = *state;
	struct tlsctx_conf sc = { .cert = f->p[SRV_PEM], .key = f->p[SRV_KEY] };
	struct tlsctx_conf cc = { .ca = f->p[CA_PEM], .verify_peer = true };
	char err[256] = "", cn[64];
	struct pair p;

	/* the right name */
	pair_new(&p, &sc, &cc);
	assert_int_equal(tlsctx_expect_name(p.cli, "sip.example", err, sizeof err), 0);
	assert_true(handshake(p.cli, p.srv));
	assert_int_equal(tlsctx_peer_check(p.cli, "sip.example", err, sizeof err), 0);
	assert_string_equal(tlsctx_peer_cn(p.cli, cn, sizeof cn), "sip.example");
	assert_int_equal(tlsctx_peer_check(p.cli, "other.example", err, sizeof err), -EACCES);
	assert_non_null(strstr(err, "not for other.example"));
	pair_free(&p);
	/* a name the certificate does not carry fails the handshake itself */
	pair_new(&p, &sc, &cc);
	assert_int_equal(tlsctx_expect_name(p.cli, "wrong.example", err, sizeof err), 0);
	assert_false(handshake(p.cli, p.srv));
	pair_free(&p);
	/* an address literal is matched against IP SANs (none here) */
	pair_new(&p, &sc, &cc);
	assert_int_equal(tlsctx_expect_name(p.cli, "192.0.2.1", err, sizeof err), 0);
	assert_false(handshake(p.cli, p.srv));
	pair_free(&p);
	/* a server signed by a CA the client does not trust */
	sc.cert = f->p[EVIL_PEM];
	sc.key = f->p[EVIL_KEY];
	pair_new(&p, &sc, &cc);
	assert_false(handshake(p.cli, p.srv));
	pair_free(&p);
}

static void test_mutual(void **state)
{
	struct fx *f = *state;
	struct tlsctx_conf sc = { .cert = f->p[SRV_PEM], .key = f->p[SRV_KEY], .ca = f->p[CA_PEM],
				  .verify_peer = true };
	struct tlsctx_conf cc = { .cert = f->p[CLI_PEM], .key = f->p[CLI_KEY], .ca = f->p[CA_PEM],
				  .verify_peer = true };
	char err[256] = "";
	struct pair p;

	/* a good client certificate: verified, and its name checked */
	pair_new(&p, &sc, &cc);
	assert_true(handshake(p.cli, p.srv));
	assert_int_equal(tlsctx_peer_check(p.srv, "egress.example", err, sizeof err), 0);
	assert_int_equal(tlsctx_peer_check(p.srv, "ingress.example", err, sizeof err), -EACCES);
	pair_free(&p);
	/* optional: a client without a certificate gets in, but fails the check */
	cc.cert = cc.key = NULL;
	pair_new(&p, &sc, &cc);
	assert_true(handshake(p.cli, p.srv));
	assert_int_equal(tlsctx_peer_check(p.srv, NULL, err, sizeof err), -EACCES);
	assert_non_null(strstr(err, "no certificate"));
	pair_free(&p);
	/* required: no certificate, no handshake */
	sc.require_peer_cert = true;
	pair_new(&p, &sc, &cc);
	assert_false(handshake(p.cli, p.srv));
	pair_free(&p);
	/* a certificate with the right name from another CA is refused */
	cc.cert = f->p[EVIL_PEM];
	cc.key = f->p[EVIL_KEY];
	sc.require_peer_cert = false;
	pair_new(&p, &sc, &cc);
	assert_false(handshake(p.cli, p.srv));
	pair_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_pair),
		cmocka_unit_test(test_missing_files),
		cmocka_unit_test(test_key_mode),
		cmocka_unit_test(test_key_unreadable),
		cmocka_unit_test(test_mismatch_and_bad_pem),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_peer_name),
		cmocka_unit_test(test_mutual),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
