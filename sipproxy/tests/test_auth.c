/* Unit tests of digest.c, md5.c and auth.c: the RFC 1321, RFC 2617 section
 * 3.5 and RFC 7616 section 3.9.1 vectors; the credentials parser on valid
 * and hostile input; the users file (format, mode, owner, links); and
 * auth_request() end to end on parsed SIP requests: challenge, success,
 * nonce expiry, replay, nonce count, nonces bound to the source address,
 * AoR mismatch, credentials removed, lockout of a source and of a user
 * (the user still served from its known address), and the same answer for
 * an unknown user and a known one with a wrong password.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "digest.h"
#include "md5.h"
#include "sip/sip_msg.h"
#include "sp_conf.h"

/* ---- hashes ---- */

static void md5_hex(const char *s, char out[33])
{
	static const char hx[] = "0123456789abcdef";
	struct md5_ctx c;
	uint8_t d[MD5_LEN];

	md5_init(&c);
	/* in two pieces, to go through the buffering */
	md5_update(&c, s, strlen(s) / 3);
	md5_update(&c, s + strlen(s) / 3, strlen(s) - strlen(s) / 3);
	md5_final(&c, d);
	for (int i = 0; i < MD5_LEN; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[32] = '\0';
}

static void test_md5_rfc1321(void **state)
{
	static const char *const v[][2] = {
		{"", "d41d8cd98f00b204e9800998ecf8427e"},
		{"a", "0cc175b9c0f1b6a831c399e269772661"},
		{"abc", "900150983cd24fb0d6963f7d28e17f72"},
		{"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
		{"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
		 "d174ab98d277d9f5a5611c2c9f419d9f"},
		{"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
		 "57edf4a22be3c955ac49da2e2107b67a"},
	};
	char out[33];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		md5_hex(v[i][0], out);
		assert_string_equal(out, v[i][1]);
	}
}

/* RFC 2617 section 3.5 (HTTP, MD5, qop=auth). */
static void test_rfc2617_vector(void **state)
{
	char ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];

	(void)state;
	digest_ha1(DIGEST_MD5, "Mufasa", "testrealm@host.com", "Circle Of Life", ha1);
	assert_string_equal(ha1, "939e7578ed9e3c518a452acee763bce9");
	digest_response(DIGEST_MD5, ha1, "GET", "/dir/index.html", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
			"00000001", "0a4f113b", resp);
	assert_string_equal(resp, "6629fae49393a05397450978507c4ef1");
}

static const char rfc7616_md5[] =
	"Digest username=\"Mufasa\",\r\n realm=\"http-auth@example.org\",\r\n"
	" uri=\"/dir/index.html\", algorithm=MD5,"
	" nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001,"
	" cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth,"
	" response=\"8ca523f5e9506fed4657c9700eebdbec\","
	" opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";

/* RFC 7616 section 3.9.1, MD5 and SHA-256: the hashes, and the parser on
 * the example's Authorization (folding removed: SIP unfolds before). */
static void test_rfc7616_vectors(void **state)
{
	static const char *const want[2] = {"8ca523f5e9506fed4657c9700eebdbec",
					    "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"};
	char ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX], hdr[1024];
	struct digest_cred c;
	int i = 0;

	(void)state;
	for (enum digest_alg a = DIGEST_MD5; a <= DIGEST_SHA256; a++, i++) {
		digest_ha1(a, "Mufasa", "http-auth@example.org", "Circle of Life", ha1);
		digest_response(a, ha1, "GET", "/dir/index.html",
				"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
				"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", resp);
		assert_string_equal(resp, want[i]);
	}
	/* the MD5 example header, unfolded */
	{
		size_t n = 0;
		for (const char *s = rfc7616_md5; *s; s++)
			if (*s != '\r' && *s != '\n')
				hdr[n++] = *s;
		hdr[n] = '\0';
	}
	assert_int_equal(digest_parse(hdr, strlen(hdr), &c), 0);
	assert_string_equal(c.username, "Mufasa");
	assert_string_equal(c.realm, "http-auth@example.org");
	assert_string_equal(c.uri, "/dir/index.html");
	assert_int_equal(c.alg, DIGEST_MD5);
	assert_string_equal(c.nc, "00000001");
	assert_true(c.qop_auth);
	assert_string_equal(c.response, want[0]);
	/* and the SHA-256 one */
	snprintf(hdr, sizeof(hdr),
		 "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", uri=\"/dir/index.html\", "
		 "algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, "
		 "cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, "
		 "response=\"%s\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"", want[1]);
	assert_int_equal(digest_parse(hdr, strlen(hdr), &c), 0);
	assert_int_equal(c.alg, DIGEST_SHA256);
	assert_string_equal(c.response, want[1]);
	assert_string_equal(c.opaque, "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS");
}

#define OKR "response=\"6629fae49393a05397450978507c4ef1\""
#define BASE "username=\"Mufasa\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", nc=00000001, cnonce=\"c\", qop=auth, "

static void test_parse_hostile(void **state)
{
	static const struct {
		const char *in;
		int rc;
	} v[] = {
		{"Digest " BASE OKR, 0},
		{"digest   " BASE OKR "  ", 0},
		{"Digest " BASE OKR ", foo=bar, baz=\"q\\\"x\"", 0},   /* unknown params skipped */
		{"Digest " BASE "response=6629FAE49393A05397450978507C4EF1", 0}, /* token, upper hex */
		{"Digest " BASE OKR ", qop=\"auth\"", -EINVAL},         /* qop twice */
		{"Digest " BASE OKR ", username=\"x\"", -EINVAL},       /* duplicated */
		{"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", -EPROTONOSUPPORT},
		{"Digest", -EINVAL},
		{"Digest ", -EINVAL},
		{"", -EINVAL},
		{"Digestusername=\"a\"", -EPROTONOSUPPORT},
		{"Digest " BASE "response=\"6629fae49393a05397450978507c4ef\"", -EINVAL},  /* 31 digits */
		{"Digest " BASE "response=\"6629fae49393a05397450978507c4ef1a\"", -EINVAL},
		{"Digest " BASE "response=\"6629fae49393a05397450978507c4efg\"", -EINVAL},
		{"Digest " BASE OKR ", algorithm=MD5-sess", -ENOTSUP},
		{"Digest " BASE OKR ", algorithm=SHA-512-256", -ENOTSUP},
		{"Digest " BASE OKR ", algorithm=SHA-256", -EINVAL},   /* a 32-digit response */
		{"Digest " BASE OKR ", userhash=true", -ENOTSUP},
		{"Digest " BASE OKR ", userhash=false", 0},
		{"Digest " BASE OKR ", username*=UTF-8''a", -ENOTSUP},
		{"Digest username=\"Mufasa\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", " OKR, -ENOTSUP}, /* no qop */
		{"Digest username=\"Mufasa\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", qop=auth-int, nc=00000001, cnonce=\"c\", " OKR, -ENOTSUP},
		{"Digest username=\"Mufasa\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", qop=auth, cnonce=\"c\", " OKR, -EINVAL}, /* no nc */
		{"Digest username=\"Mufasa\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", qop=auth, nc=1, cnonce=\"c\", " OKR, -EINVAL},
		{"Digest username=\"Mufasa\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", qop=auth, nc=0000000g, cnonce=\"c\", " OKR, -EINVAL},
		{"Digest username=\"Mufasa\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", qop=auth, nc=00000001, " OKR, -EINVAL}, /* no cnonce */
		{"Digest realm=\"r\", nonce=\"n\", uri=\"sip:a\", nc=00000001, cnonce=\"c\", qop=auth, " OKR, -EINVAL}, /* no username */
		{"Digest username=\"\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", nc=00000001, cnonce=\"c\", qop=auth, " OKR, -EINVAL},
		{"Digest username=\"Muf\rasa\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", nc=00000001, cnonce=\"c\", qop=auth, " OKR, -EINVAL},
		{"Digest username=\"Muf\\\nasa\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", nc=00000001, cnonce=\"c\", qop=auth, " OKR, -EINVAL},
		{"Digest username=\"Mufasa, realm=\"r\"", -EINVAL},          /* unterminated */
		{"Digest username=\"Mufasa\"", -EINVAL},
		{"Digest username=\"Mufasa\",, realm=\"r\"", -EINVAL},
		{"Digest username=\"Mufasa\" realm=\"r\"", -EINVAL},        /* no comma */
		{"Digest username", -EINVAL},
		{"Digest username=", -EINVAL},
		{"Digest =\"x\"", -EINVAL},
		{"Digest " BASE OKR ",", -EINVAL},
		{"Digest " BASE OKR ", x=\"\\", -EINVAL},
		{"Digest username=Mu\"fasa, realm=\"r\"", -EINVAL},
	};
	struct digest_cred c;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = digest_parse(v[i].in, strlen(v[i].in), &c);
		if (rc != v[i].rc)
			fail_msg("case %zu \"%s\": %d, expected %d", i, v[i].in, rc, v[i].rc);
	}
	/* not NUL-terminated: the length is the end */
	assert_int_equal(digest_parse("Digest " BASE OKR "XXXX", strlen("Digest " BASE OKR), &c), 0);
	/* an escaped quote is unescaped */
	{
		const char *s = "Digest username=\"a\\\"b\", realm=\"r\", nonce=\"n\", uri=\"sip:a\", "
				"nc=00000001, cnonce=\"c\", qop=auth, " OKR;
		assert_int_equal(digest_parse(s, strlen(s), &c), 0);
		assert_string_equal(c.username, "a\"b");
	}
}

static void test_parse_bounds(void **state)
{
	struct digest_cred c;
	char *big = malloc(DIGEST_HDR_MAX + 64), *p;
	size_t n;

	(void)state;
	assert_non_null(big);
	/* a username exactly as long as the field allows, then one more */
	for (int extra = 0; extra < 2; extra++) {
		n = (size_t)sprintf(big, "Digest username=\"");
		memset(big + n, 'u', DIGEST_VAL_MAX - 1 + (size_t)extra);
		n += DIGEST_VAL_MAX - 1 + (size_t)extra;
		n += (size_t)sprintf(big + n, "\", realm=\"r\", nonce=\"n\", uri=\"u\", nc=00000001, "
					      "cnonce=\"c\", qop=auth, " OKR);
		assert_int_equal(digest_parse(big, n, &c), extra ? -EINVAL : 0);
	}
	/* more than DIGEST_HDR_MAX bytes */
	memset(big, 'a', DIGEST_HDR_MAX + 1);
	assert_int_equal(digest_parse(big, DIGEST_HDR_MAX + 1, &c), -EINVAL);
	/* too many parameters */
	p = big + sprintf(big, "Digest " BASE OKR);
	for (int i = 0; i < DIGEST_MAX_PARAMS; i++)
		p += sprintf(p, ", x%d=1", i);
	assert_int_equal(digest_parse(big, strlen(big), &c), -EINVAL);
	assert_int_equal(digest_parse(NULL, 0, &c), -EINVAL);
	free(big);
}

/* ---- the users file ---- */

static char tmpdir[] = "/tmp/test_auth.XXXXXX";

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_users_line(void **state)
{
	char line[512], path[256];
	struct auth_users *u;

	(void)state;
	assert_int_equal(auth_users_line("Mufasa", "http-auth@example.org", "Circle of Life", line,
					 sizeof(line)), 0);
	assert_string_equal(line, "Mufasa:http-auth@example.org:3d78807defe7de2157e2b0b6573a855f:"
				  "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");
	assert_int_equal(auth_users_line("a:b", "r", "p", line, sizeof(line)), -EINVAL);
	assert_int_equal(auth_users_line("a", "r:x", "p", line, sizeof(line)), -EINVAL);
	assert_int_equal(auth_users_line("a b", "r", "p", line, sizeof(line)), -EINVAL);
	assert_int_equal(auth_users_line("a", "r\"", "p", line, sizeof(line)), -EINVAL);
	assert_int_equal(auth_users_line("a", "r", "p", line, 10), -ENOSPC);
	/* the line reads back */
	snprintf(path, sizeof(path), "%s/line", tmpdir);
	assert_int_equal(auth_users_line("alice", "edge.test", "pw", line, sizeof(line)), 0);
	strcat(line, "\n");
	write_file(path, line, 0600);
	assert_int_equal(auth_users_load(path, "edge.test", 0, stderr, &u), 1);
	assert_non_null(auth_users_ha1(u, "alice", DIGEST_MD5));
	assert_null(auth_users_ha1(u, "Alice", DIGEST_MD5));
	auth_users_free(u);
}

static void test_users_file(void **state)
{
	char path[256], link[256], ok[1024], *errs = NULL;
	struct auth_users *u = NULL;
	size_t elen = 0;
	FILE *ef;
	static const char *const bad[] = {
		"alice:edge.test:0123456789abcdef0123456789abcdef\n",                   /* 3 fields */
		"alice:edge.test:0123456789abcdef0123456789abcdef:00:extra\n",
		"alice:edge.test:0123456789abcdef0123456789abcdeg:"
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",    /* not hex */
		"alice:edge.test:0123456789abcdef0123456789abcdef:0123\n",              /* short */
		"al ice:edge.test:0123456789abcdef0123456789abcdef:"
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
		":edge.test:0123456789abcdef0123456789abcdef:"
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
		"plaintext password\n",
	};

	(void)state;
	snprintf(path, sizeof(path), "%s/users", tmpdir);
	snprintf(ok, sizeof(ok),
		 "# comment\n\n   \n"
		 "alice:edge.test:0123456789ABCDEF0123456789abcdef:"
		 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n"
		 "bob:edge.test:11111111111111111111111111111111:"
		 "2222222222222222222222222222222222222222222222222222222222222222\n"
		 "  # indented comment\n"
		 "carol:other.realm:11111111111111111111111111111111:"
		 "2222222222222222222222222222222222222222222222222222222222222222");
	write_file(path, ok, 0600);
	assert_int_equal(auth_users_load(path, "edge.test", 0, stderr, &u), 2);
	assert_string_equal(auth_users_ha1(u, "alice", DIGEST_MD5), "0123456789abcdef0123456789abcdef");
	assert_string_equal(auth_users_ha1(u, "bob", DIGEST_SHA256),
			    "2222222222222222222222222222222222222222222222222222222222222222");
	assert_null(auth_users_ha1(u, "carol", DIGEST_MD5)); /* another realm */
	assert_null(auth_users_ha1(u, "dave", DIGEST_MD5));
	auth_users_free(u);
	u = NULL;
	/* 0400 is fine; group or other bits are not */
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(auth_users_load(path, "edge.test", 0, stderr, &u), 2);
	auth_users_free(u);
	u = NULL;
	for (mode_t m = 0640; m; m = m == 0640 ? 0604 : m == 0604 ? 0610 : m == 0610 ? 0644 : 0) {
		assert_int_equal(chmod(path, m), 0);
		assert_non_null(ef = open_memstream(&errs, &elen));
		assert_int_equal(auth_users_load(path, "edge.test", 0, ef, &u), -EPERM);
		fclose(ef);
		assert_non_null(strstr(errs, "0600"));
		assert_null(u);
		free(errs);
		errs = NULL;
	}
	assert_int_equal(chmod(path, 0600), 0);
	/* a symbolic link is refused, even to a good file */
	snprintf(link, sizeof(link), "%s/users.link", tmpdir);
	unlink(link);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(auth_users_load(link, "edge.test", 0, stderr, &u), -ELOOP);
	/* a directory, a missing file */
	assert_true(auth_users_load(tmpdir, "edge.test", 0, stderr, &u) < 0);
	assert_int_equal(auth_users_load("/nonexistent/users", "edge.test", 0, stderr, &u), -ENOENT);
	/* the owner: as root, only root or owner_ok */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4242, 4242), 0);
		assert_int_equal(auth_users_load(path, "edge.test", 0, stderr, &u), -EPERM);
		assert_int_equal(auth_users_load(path, "edge.test", 4242, stderr, &u), 2);
		auth_users_free(u);
		u = NULL;
		assert_int_equal(chown(path, 0, 0), 0);
	}
	/* malformed lines refuse the whole file, with the line number */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[2048];
		snprintf(text, sizeof(text), "%s%s", ok, "\n");
		strcat(text, bad[i]);
		write_file(path, text, 0600);
		assert_non_null(ef = open_memstream(&errs, &elen));
		assert_int_equal(auth_users_load(path, "edge.test", 0, ef, &u), -EINVAL);
		fclose(ef);
		assert_non_null(strstr(errs, ":8: "));
		assert_null(u);
		free(errs);
		errs = NULL;
	}
	/* the same user twice in the realm */
	{
		char text[2048];
		snprintf(text, sizeof(text), "%s\n%s", ok,
			 "bob:edge.test:11111111111111111111111111111111:"
			 "2222222222222222222222222222222222222222222222222222222222222222\n");
		write_file(path, text, 0600);
		assert_int_equal(auth_users_load(path, "edge.test", 0, stderr, &u), -EINVAL);
	}
	/* a NUL byte */
	{
		int fd;
		unlink(path);
		assert_true((fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0);
		assert_int_equal(write(fd, "a\0b\n", 4), 4);
		close(fd);
		assert_int_equal(auth_users_load(path, "edge.test", 0, stderr, &u), -EINVAL);
	}
}

/* ---- auth_request() ---- */

struct env {
	struct sp_conf conf;
	struct auth *a;
	char users[256];
};

static const char conf_fmt[] =
	"user = \"root\";\n"
	"realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; },\n"
	"           { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n"
	"listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; },\n"
	"           { address = \"203.0.113.1\"; realm = \"outside\"; } );\n"
	"domains = [ \"edge.test\" ];\n"
	"auth: { users_file = \"%s\"; max_failures = 5; lockout = 60; nonce_lifetime = 30; };\n";

static int env_up(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char text[2048], line[512], users[1024] = "";

	assert_non_null(e);
	snprintf(e->users, sizeof(e->users), "%s/env-users", tmpdir);
	assert_int_equal(auth_users_line("alice", "edge.test", "alice-pw", line, sizeof(line)), 0);
	strcat(users, line);
	strcat(users, "\n");
	assert_int_equal(auth_users_line("bob", "edge.test", "bob-pw", line, sizeof(line)), 0);
	strcat(users, line);
	strcat(users, "\n");
	write_file(e->users, users, 0600);
	snprintf(text, sizeof(text), conf_fmt, e->users);
	assert_int_equal(sp_conf_load_string(text, "t.conf", &e->conf, stderr), 0);
	assert_string_equal(e->conf.auth_realm, "edge.test");
	assert_int_equal(e->conf.auth_nalgs, 2);
	assert_int_equal(e->conf.auth_algs[0], SPC_ALG_SHA256);
	assert_non_null(e->a = auth_new(&e->conf));
	*state = e;
	return 0;
}

static int env_down(void **state)
{
	struct env *e = *state;

	auth_free(e->a);
	free(e);
	return 0;
}

static struct sockaddr_in src_of(const char *ip)
{
	struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(5060)};

	assert_int_equal(inet_pton(AF_INET, ip, &s.sin_addr), 1);
	return s;
}

/* A request (method REGISTER or INVITE) from user fromu to tou, with
 * extra header lines. */
static osip_message_t *req_of(const char *method, const char *fromu, const char *tou,
			      const char *extra)
{
	static unsigned n;
	char buf[4096];
	struct sip_err err;
	osip_message_t *m = NULL;
	int len;

	n++;
	len = snprintf(buf, sizeof(buf),
		       "%s sip:%s SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK%u\r\n"
		       "Max-Forwards: 70\r\n"
		       "From: <sip:%s@edge.test>;tag=f%u\r\n"
		       "To: <sip:%s@edge.test>\r\n"
		       "Call-ID: c%u@192.0.2.10\r\n"
		       "CSeq: %u %s\r\n"
		       "%s"
		       "Content-Length: 0\r\n\r\n",
		       method, strcmp(method, "REGISTER") ? "bob@edge.test" : "edge.test", n, fromu, n,
		       tou, n, n, method, extra);
	assert_true(len > 0 && (size_t)len < sizeof(buf));
	assert_int_equal(sip_msg_parse(buf, (size_t)len, 0, &m, &err), 0);
	return m;
}

/* The nonce of a fresh challenge (the first header) for src. */
static void get_nonce(struct env *e, const struct sockaddr_in *src, uint64_t now, bool reg,
		      char *nonce, size_t len, char *hdrs, size_t hlen)
{
	osip_message_t *req = req_of(reg ? "REGISTER" : "INVITE", "alice", "alice", ""), *r = NULL;
	osip_header_t *h;
	const char *p, *q;
	int pos;

	assert_int_equal(sip_msg_build_response(req, reg ? 401 : 407, NULL, NULL, &r), 0);
	assert_int_equal(auth_challenge(e->a, r, src, false, now), 0);
	pos = osip_message_header_get_byname(r, reg ? "WWW-Authenticate" : "Proxy-Authenticate", 0, &h);
	assert_true(pos >= 0);
	assert_non_null(strstr(h->hvalue, "algorithm=SHA-256"));
	assert_non_null(strstr(h->hvalue, "realm=\"edge.test\""));
	assert_non_null(strstr(h->hvalue, "qop=\"auth\""));
	assert_true(osip_message_header_get_byname(r, reg ? "WWW-Authenticate" : "Proxy-Authenticate",
						   pos + 1, &h) >= 0);
	assert_non_null(strstr(h->hvalue, "algorithm=MD5"));
	p = strstr(h->hvalue, "nonce=\"") + 7;
	q = strchr(p, '"');
	assert_true((size_t)(q - p) < len);
	memcpy(nonce, p, (size_t)(q - p));
	nonce[q - p] = '\0';
	if (hdrs) {
		/* the headers without the nonce, to compare two challenges */
		snprintf(hdrs, hlen, "%d %.*s|%s", r->status_code, (int)(strstr(h->hvalue, "nonce=") - h->hvalue),
			 h->hvalue, q);
	}
	osip_message_free(r);
	osip_message_free(req);
}

/* An Authorization (or Proxy-Authorization) line for user/password. */
static void cred_line(const char *hname, enum digest_alg alg, const char *user, const char *pw,
		      const char *method, const char *nonce, const char *nc, char *out, size_t len)
{
	char ha1[DIGEST_HEX_MAX], resp[DIGEST_HEX_MAX];

	digest_ha1(alg, user, "edge.test", pw, ha1);
	digest_response(alg, ha1, method, "sip:edge.test", nonce, nc, "cn0123", resp);
	snprintf(out, len,
		 "%s: Digest username=\"%s\", realm=\"edge.test\", nonce=\"%s\", uri=\"sip:edge.test\", "
		 "algorithm=%s, qop=auth, nc=%s, cnonce=\"cn0123\", response=\"%s\"\r\n",
		 hname, user, nonce, alg == DIGEST_SHA256 ? "SHA-256" : "MD5", nc, resp);
}

/* auth_request() on a REGISTER for touser from src with those credentials. */
static void do_reg(struct env *e, const char *src_ip, uint64_t now, const char *user,
		   const char *touser, const char *pw, enum digest_alg alg, const char *nonce,
		   const char *nc, struct auth_verdict *v)
{
	char line[1024];
	struct sockaddr_in src = src_of(src_ip);
	osip_message_t *m;

	cred_line("Authorization", alg, user, pw, "REGISTER", nonce, nc, line, sizeof(line));
	m = req_of("REGISTER", touser, touser, line);
	auth_request(e->a, m, &src, now, v);
	if (v->status == 0 && v->user[0])
		assert_int_equal(osip_list_size(&m->authorizations), 0); /* consumed */
	osip_message_free(m);
}

static void test_register_flow(void **state)
{
	struct env *e = *state;
	struct sockaddr_in s1 = src_of("192.0.2.10");
	struct auth_verdict v;
	char nonce[128];
	osip_message_t *m;
	uint64_t t = 100000;

	/* no credentials: 401 */
	m = req_of("REGISTER", "alice", "alice", "");
	auth_request(e->a, m, &s1, t, &v);
	assert_int_equal(v.status, 401);
	assert_false(v.stale);
	osip_message_free(m);
	/* SHA-256 and MD5 both work */
	for (enum digest_alg alg = DIGEST_MD5; alg <= DIGEST_SHA256; alg++) {
		get_nonce(e, &s1, t, true, nonce, sizeof(nonce), NULL, 0);
		do_reg(e, "192.0.2.10", t + 10, "alice", "alice", "alice-pw", alg, nonce, "00000001", &v);
		assert_int_equal(v.status, 0);
		assert_string_equal(v.user, "alice@edge.test");
		/* the same again: replayed */
		do_reg(e, "192.0.2.10", t + 20, "alice", "alice", "alice-pw", alg, nonce, "00000001", &v);
		assert_int_equal(v.status, 401);
		assert_true(v.stale);
		/* a higher nonce count: fine; a lower one: replay */
		do_reg(e, "192.0.2.10", t + 30, "alice", "alice", "alice-pw", alg, nonce, "00000003", &v);
		assert_int_equal(v.status, 0);
		do_reg(e, "192.0.2.10", t + 40, "alice", "alice", "alice-pw", alg, nonce, "00000002", &v);
		assert_int_equal(v.status, 401);
		assert_true(v.stale);
	}
	/* nc 0 is never valid */
	get_nonce(e, &s1, t, true, nonce, sizeof(nonce), NULL, 0);
	do_reg(e, "192.0.2.10", t + 10, "alice", "alice", "alice-pw", DIGEST_MD5, nonce, "00000000", &v);
	assert_int_equal(v.status, 401);
	assert_true(v.stale);
	/* a nonce from another source address: stale, not accepted */
	get_nonce(e, &s1, t, true, nonce, sizeof(nonce), NULL, 0);
	do_reg(e, "192.0.2.11", t + 10, "alice", "alice", "alice-pw", DIGEST_MD5, nonce, "00000001", &v);
	assert_int_equal(v.status, 401);
	assert_true(v.stale);
	/* expired (nonce_lifetime 30 s) */
	get_nonce(e, &s1, t, true, nonce, sizeof(nonce), NULL, 0);
	do_reg(e, "192.0.2.10", t + 31000, "alice", "alice", "alice-pw", DIGEST_MD5, nonce, "00000001",
	       &v);
	assert_int_equal(v.status, 401);
	assert_true(v.stale);
	/* a forged nonce (one digit changed) */
	get_nonce(e, &s1, t, true, nonce, sizeof(nonce), NULL, 0);
	nonce[40] = nonce[40] == '0' ? '1' : '0';
	do_reg(e, "192.0.2.10", t + 10, "alice", "alice", "alice-pw", DIGEST_MD5, nonce, "00000001", &v);
	assert_int_equal(v.status, 401);
	assert_true(v.stale);
	/* alice may not register bob */
	get_nonce(e, &s1, t, true, nonce, sizeof(nonce), NULL, 0);
	do_reg(e, "192.0.2.10", t + 10, "alice", "bob", "alice-pw", DIGEST_MD5, nonce, "00000001", &v);
	assert_int_equal(v.status, 403);
	/* credentials of another realm are not ours: challenged */
	{
		char line[512];
		snprintf(line, sizeof(line),
			 "Authorization: Digest username=\"alice\", realm=\"elsewhere\", nonce=\"%s\", "
			 "uri=\"sip:edge.test\", qop=auth, nc=00000001, cnonce=\"x\", "
			 "response=\"00000000000000000000000000000000\"\r\n", nonce);
		m = req_of("REGISTER", "alice", "alice", line);
		auth_request(e->a, m, &s1, t, &v);
		assert_int_equal(v.status, 401);
		assert_int_equal(osip_list_size(&m->authorizations), 1); /* not ours: kept */
		osip_message_free(m);
	}
}

static void test_invite_flow(void **state)
{
	struct env *e = *state;
	struct sockaddr_in s1 = src_of("192.0.2.10");
	struct auth_verdict v;
	char nonce[128], line[1024];
	osip_message_t *m;
	uint64_t t = 100000;

	/* from a user of ours: 407 */
	m = req_of("INVITE", "alice", "bob", "");
	auth_request(e->a, m, &s1, t, &v);
	assert_int_equal(v.status, 407);
	osip_message_free(m);
	/* Proxy-Authorization answers it; consumed */
	get_nonce(e, &s1, t, false, nonce, sizeof(nonce), NULL, 0);
	cred_line("Proxy-Authorization", DIGEST_SHA256, "alice", "alice-pw", "INVITE", nonce, "00000001",
		  line, sizeof(line));
	m = req_of("INVITE", "alice", "bob", line);
	auth_request(e->a, m, &s1, t + 5, &v);
	assert_int_equal(v.status, 0);
	assert_string_equal(v.user, "alice@edge.test");
	assert_int_equal(osip_list_size(&m->proxy_authorizations), 0);
	osip_message_free(m);
	/* an Authorization header does not answer a 407 */
	get_nonce(e, &s1, t, false, nonce, sizeof(nonce), NULL, 0);
	cred_line("Authorization", DIGEST_SHA256, "alice", "alice-pw", "INVITE", nonce, "00000001", line,
		  sizeof(line));
	m = req_of("INVITE", "alice", "bob", line);
	auth_request(e->a, m, &s1, t + 5, &v);
	assert_int_equal(v.status, 407);
	osip_message_free(m);
	/* bob's credentials on alice's From: 403 */
	get_nonce(e, &s1, t, false, nonce, sizeof(nonce), NULL, 0);
	cred_line("Proxy-Authorization", DIGEST_MD5, "bob", "bob-pw", "INVITE", nonce, "00000001", line,
		  sizeof(line));
	m = req_of("INVITE", "alice", "bob", line);
	auth_request(e->a, m, &s1, t + 5, &v);
	assert_int_equal(v.status, 403);
	osip_message_free(m);
	/* in-dialog (To tag) and ACK are not authenticated here */
	{
		char buf[1024];
		struct sip_err err;
		int len = snprintf(buf, sizeof(buf),
				   "BYE sip:bob@10.1.0.10 SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKbye1\r\n"
				   "Max-Forwards: 70\r\nFrom: <sip:alice@edge.test>;tag=a\r\n"
				   "To: <sip:bob@edge.test>;tag=b\r\nCall-ID: bye1\r\nCSeq: 2 BYE\r\n"
				   "Content-Length: 0\r\n\r\n");
		m = NULL;
		assert_int_equal(sip_msg_parse(buf, (size_t)len, 0, &m, &err), 0);
		auth_request(e->a, m, &s1, t, &v);
		assert_int_equal(v.status, 0);
		assert_string_equal(v.user, "");
		osip_message_free(m);
	}
	/* a From outside our domains: not ours to authenticate */
	{
		char buf[1024];
		struct sip_err err;
		int len = snprintf(buf, sizeof(buf),
				   "INVITE sip:bob@edge.test SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKx1\r\n"
				   "Max-Forwards: 70\r\nFrom: <sip:mallory@evil.example>;tag=a\r\n"
				   "To: <sip:bob@edge.test>\r\nCall-ID: x1\r\nCSeq: 1 INVITE\r\n"
				   "Content-Length: 0\r\n\r\n");
		m = NULL;
		assert_int_equal(sip_msg_parse(buf, (size_t)len, 0, &m, &err), 0);
		auth_request(e->a, m, &s1, t, &v);
		assert_int_equal(v.status, 0);
		assert_string_equal(v.user, "");
		osip_message_free(m);
	}
}

/* Unknown user and known user with a wrong password: same answer. */
static void test_no_enumeration(void **state)
{
	struct env *e = *state;
	struct sockaddr_in s1 = src_of("192.0.2.20");
	struct auth_verdict v1, v2;
	char n1[128], n2[128], h1[512], h2[512];
	uint64_t t = 200000;

	get_nonce(e, &s1, t, true, n1, sizeof(n1), h1, sizeof(h1));
	do_reg(e, "192.0.2.20", t + 1, "alice", "alice", "wrong", DIGEST_MD5, n1, "00000001", &v1);
	get_nonce(e, &s1, t, true, n2, sizeof(n2), h2, sizeof(h2));
	do_reg(e, "192.0.2.20", t + 1, "zed", "zed", "wrong", DIGEST_MD5, n2, "00000001", &v2);
	assert_int_equal(v1.status, 401);
	assert_int_equal(v2.status, v1.status);
	assert_int_equal(v2.stale, v1.stale);
	assert_false(v1.stale);
	assert_null(v1.reason);
	assert_null(v2.reason);
	assert_string_equal(h1, h2);      /* the same challenge headers ... */
	assert_string_not_equal(n1, n2);  /* ... with a fresh nonce each */
	/* the right password for an unknown user is still wrong */
	get_nonce(e, &s1, t, true, n1, sizeof(n1), NULL, 0);
	do_reg(e, "192.0.2.20", t + 1, "zed", "zed", "", DIGEST_MD5, n1, "00000001", &v1);
	assert_int_equal(v1.status, 401);
}

static void test_lockout(void **state)
{
	struct env *e = *state;
	struct sockaddr_in atk = src_of("198.51.100.66"), phone = src_of("192.0.2.30");
	struct auth_stats st;
	struct auth_verdict v;
	char nonce[128];
	osip_message_t *m;
	uint64_t t = 300000;

	/* the phone authenticates once (its address becomes known) */
	get_nonce(e, &phone, t, true, nonce, sizeof(nonce), NULL, 0);
	do_reg(e, "192.0.2.30", t, "bob", "bob", "bob-pw", DIGEST_MD5, nonce, "00000001", &v);
	assert_int_equal(v.status, 0);
	/* max_failures = 5 wrong passwords for bob from the attacker */
	for (int i = 0; i < 5; i++) {
		get_nonce(e, &atk, t, true, nonce, sizeof(nonce), NULL, 0);
		do_reg(e, "198.51.100.66", t + (uint64_t)i, "bob", "bob", "guess", DIGEST_MD5, nonce,
		       "00000001", &v);
		assert_int_equal(v.status, 401);
	}
	auth_get_stats(e->a, &st);
	assert_int_equal(st.lockouts, 2); /* the source and the user */
	/* the attacker is refused, even with no credentials or the right password */
	m = req_of("REGISTER", "alice", "alice", "");
	auth_request(e->a, m, &atk, t + 10, &v);
	assert_int_equal(v.status, 403);
	osip_message_free(m);
	get_nonce(e, &atk, t, true, nonce, sizeof(nonce), NULL, 0);
	do_reg(e, "198.51.100.66", t + 10, "bob", "bob", "bob-pw", DIGEST_MD5, nonce, "00000001", &v);
	assert_int_equal(v.status, 403);
	/* the real phone, from its own address, still registers */
	get_nonce(e, &phone, t + 20, true, nonce, sizeof(nonce), NULL, 0);
	do_reg(e, "192.0.2.30", t + 20, "bob", "bob", "bob-pw", DIGEST_MD5, nonce, "00000001", &v);
	assert_int_equal(v.status, 0);
	/* bob from a new address: the user is locked */
	{
		struct sockaddr_in other = src_of("192.0.2.31");
		get_nonce(e, &other, t + 20, true, nonce, sizeof(nonce), NULL, 0);
		do_reg(e, "192.0.2.31", t + 20, "bob", "bob", "bob-pw", DIGEST_MD5, nonce, "00000001", &v);
		assert_int_equal(v.status, 403);
		/* alice from there is not affected */
		get_nonce(e, &other, t + 20, true, nonce, sizeof(nonce), NULL, 0);
		do_reg(e, "192.0.2.31", t + 20, "alice", "alice", "alice-pw", DIGEST_MD5, nonce, "00000001",
		       &v);
		assert_int_equal(v.status, 0);
	}
	/* the lockout (60 s) ends */
	t += 61000;
	get_nonce(e, &atk, t, true, nonce, sizeof(nonce), NULL, 0);
	do_reg(e, "198.51.100.66", t, "alice", "alice", "alice-pw", DIGEST_MD5, nonce, "00000001", &v);
	assert_int_equal(v.status, 0);
	auth_get_stats(e->a, &st);
	assert_true(st.locked_refusals >= 3);
}

/* Failures spread wider than the lockout window do not add up. */
static void test_failure_window(void **state)
{
	struct env *e = *state;
	struct sockaddr_in atk = src_of("198.51.100.77");
	struct auth_verdict v;
	char nonce[128];
	uint64_t t = 500000;

	for (int i = 0; i < 12; i++, t += 61000) {
		get_nonce(e, &atk, t, true, nonce, sizeof(nonce), NULL, 0);
		do_reg(e, "198.51.100.77", t, "carl", "carl", "x", DIGEST_MD5, nonce, "00000001", &v);
		assert_int_equal(v.status, 401);
	}
}

/* Many users authenticate: the nonce table recycles entries without ever
 * accepting a replay of a recycled nonce. */
static void test_nonce_table_recycling(void **state)
{
	struct env *e = *state;
	struct sockaddr_in s = src_of("192.0.2.40");
	static char nonces[9000][80];
	struct auth_verdict v;
	uint64_t t = 900000;
	unsigned n = sizeof(nonces) / sizeof(nonces[0]), replayed_ok = 0;

	for (unsigned i = 0; i < n; i++) {
		get_nonce(e, &s, t, true, nonces[i], sizeof(nonces[i]), NULL, 0);
		do_reg(e, "192.0.2.40", t, "alice", "alice", "alice-pw", DIGEST_MD5, nonces[i],
		       "00000001", &v);
		assert_int_equal(v.status, 0);
	}
	for (unsigned i = 0; i < n; i++) {
		do_reg(e, "192.0.2.40", t + 1, "alice", "alice", "alice-pw", DIGEST_MD5, nonces[i],
		       "00000001", &v);
		replayed_ok += v.status == 0;
	}
	assert_int_equal(replayed_ok, 0);
}

/* The ACK of a stateless challenge is recognised by its To tag. */
static void test_ack_tag(void **state)
{
	struct env *e = *state;
	osip_message_t *req = req_of("INVITE", "alice", "bob", ""), *r = NULL, *ack = NULL;
	char tag[AUTH_TAG_LEN + 1], buf[1024];
	struct sip_err err;
	int len;

	assert_int_equal(auth_tag(e->a, req, tag), 0);
	assert_int_equal(strlen(tag), AUTH_TAG_LEN);
	assert_int_equal(sip_msg_build_response(req, 407, NULL, tag, &r), 0);
	len = snprintf(buf, sizeof(buf),
		       "ACK sip:bob@edge.test SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKack\r\n"
		       "Max-Forwards: 70\r\nFrom: <sip:alice@edge.test>;tag=%s\r\n"
		       "To: <sip:alice@edge.test>;tag=%s\r\nCall-ID: %s@%s\r\nCSeq: %s ACK\r\n"
		       "Content-Length: 0\r\n\r\n",
		       ((osip_generic_param_t *)osip_list_get(&req->from->gen_params, 0))->gvalue, tag,
		       req->call_id->number, req->call_id->host, req->cseq->number);
	assert_int_equal(sip_msg_parse(buf, (size_t)len, 0, &ack, &err), 0);
	assert_true(auth_ack_is_ours(e->a, ack));
	osip_message_free(ack);
	ack = NULL;
	/* another tag, or another CSeq: not ours */
	buf[strstr(buf, tag) - buf] ^= 1;
	assert_int_equal(sip_msg_parse(buf, (size_t)len, 0, &ack, &err), 0);
	assert_false(auth_ack_is_ours(e->a, ack));
	osip_message_free(ack);
	osip_message_free(r);
	osip_message_free(req);
}

/* auth.algorithms = [ "MD5" ]: SHA-256 is neither offered nor accepted. */
static void test_algorithms_setting(void **state)
{
	struct env *e = *state;
	struct sockaddr_in s1 = src_of("192.0.2.50");
	struct auth_verdict v;
	osip_message_t *req, *r = NULL;
	osip_header_t *h;
	char nonce[128];

	e->conf.auth_nalgs = 1;
	e->conf.auth_algs[0] = SPC_ALG_MD5;
	req = req_of("REGISTER", "alice", "alice", "");
	assert_int_equal(sip_msg_build_response(req, 401, NULL, NULL, &r), 0);
	assert_int_equal(auth_challenge(e->a, r, &s1, false, 1000), 0);
	assert_true(osip_message_header_get_byname(r, "WWW-Authenticate", 0, &h) >= 0);
	assert_non_null(strstr(h->hvalue, "algorithm=MD5"));
	{
		const char *p = strstr(h->hvalue, "nonce=\"") + 7;
		snprintf(nonce, sizeof(nonce), "%.*s", (int)(strchr(p, '"') - p), p);
	}
	assert_true(osip_message_header_get_byname(r, "WWW-Authenticate", 1, &h) < 0);
	do_reg(e, "192.0.2.50", 1001, "alice", "alice", "alice-pw", DIGEST_SHA256, nonce, "00000001", &v);
	assert_int_equal(v.status, 401);
	do_reg(e, "192.0.2.50", 1001, "alice", "alice", "alice-pw", DIGEST_MD5, nonce, "00000001", &v);
	assert_int_equal(v.status, 0);
	osip_message_free(r);
	osip_message_free(req);
}

/* Config: defaults, the realm default, bad values. */
static void test_conf(void **state)
{
	static const char base[] =
		"listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; } );\n"
		"realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; } );\n";
	static const char *const bad[] = {
		"auth: { users_file = \"relative/path\"; };\n",
		"auth: { realm = \"a:b\"; };\n",
		"auth: { realm = \"a\\\"b\"; };\n",
		"auth: { algorithms = [ ]; };\n",
		"auth: { algorithms = [ \"MD5\", \"MD5\" ]; };\n",
		"auth: { algorithms = [ \"SHA-512\" ]; };\n",
		"auth: { max_failures = 0; };\n",
		"auth: { lockout = 0; };\n",
		"auth: { nonce_lifetime = 5; };\n",
		"auth: { secret = 1; };\n",
	};
	struct sp_conf *c = calloc(1, sizeof(*c));
	char text[1024];
	FILE *devnull = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(c);
	assert_int_equal(sp_conf_load_string(base, "t.conf", c, stderr), 0);
	assert_string_equal(c->auth_realm, "10.1.0.1"); /* no domains: the first listen address */
	assert_string_equal(c->auth_users_file, "");
	assert_int_equal(c->auth_nonce_lifetime, 300);
	assert_int_equal(c->auth_max_failures, 10);
	assert_int_equal(c->auth_lockout, 300);
	assert_int_equal(c->auth_nalgs, 2);
	assert_int_equal(c->auth_algs[0], SPC_ALG_SHA256);
	assert_int_equal(c->auth_algs[1], SPC_ALG_MD5);
	snprintf(text, sizeof(text), "%sdomains = [ \"Edge.Test\" ];\n"
		 "auth: { algorithms = [ \"MD5\", \"SHA-256\" ]; };\n", base);
	assert_int_equal(sp_conf_load_string(text, "t.conf", c, stderr), 0);
	assert_string_equal(c->auth_realm, "edge.test");
	assert_int_equal(c->auth_algs[0], SPC_ALG_MD5);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", base, bad[i]);
		if (sp_conf_load_string(text, "t.conf", c, devnull) != -1)
			fail_msg("accepted: %s", bad[i]);
	}
	fclose(devnull);
	free(c);
}

static int group_up(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	return sip_msg_init();
}

static int group_down(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_md5_rfc1321),
		cmocka_unit_test(test_rfc2617_vector),
		cmocka_unit_test(test_rfc7616_vectors),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_users_line),
		cmocka_unit_test(test_users_file),
		cmocka_unit_test(test_conf),
		cmocka_unit_test_setup_teardown(test_register_flow, env_up, env_down),
		cmocka_unit_test_setup_teardown(test_invite_flow, env_up, env_down),
		cmocka_unit_test_setup_teardown(test_no_enumeration, env_up, env_down),
		cmocka_unit_test_setup_teardown(test_lockout, env_up, env_down),
		cmocka_unit_test_setup_teardown(test_failure_window, env_up, env_down),
		cmocka_unit_test_setup_teardown(test_nonce_table_recycling, env_up, env_down),
		cmocka_unit_test_setup_teardown(test_ack_tag, env_up, env_down),
		cmocka_unit_test_setup_teardown(test_algorithms_setting, env_up, env_down),
	};

	return cmocka_run_group_tests(tests, group_up, group_down);
}
