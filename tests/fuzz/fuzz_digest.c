/* fuzz_digest: sipproxy's digest authentication (digest.c, auth.c).
 *
 * Input: a mode byte, then bytes.
 *   mode bit 0 clear: the bytes are an Authorization header value, given
 *     to digest_parse() directly (not NUL-terminated: the length is the
 *     end). A credential it accepts is written out again (every value
 *     quoted and escaped) and must parse to the same fields: the parser
 *     keeps what it reads, with nothing cut or added.
 *   mode bit 0 set: the bytes are the value of an Authorization (bit 1
 *     clear, REGISTER) or Proxy-Authorization (bit 1 set, INVITE from a
 *     user of the domain) header in a request that goes through
 *     sip_msg_parse() and then auth_request() from 192.0.2.10 (a users
 *     file with "alice" and "bob" of realm edge.test, one fresh
 *     authenticator per input). Bit 2 first asks for a challenge and puts
 *     its nonce where the input says "NONCE" (once), so the nonce checks
 *     are reached too.
 *
 * Beyond the sanitizers it checks: every accepted credential has its
 * fields NUL-terminated within their buffers, a response of the
 * algorithm's length in lower-case hex and an 8-digit nc; auth_request()
 * answers 0, 401/407 or 403 only, a user name only with 0, and never
 * accepts a credential whose response it did not compute (no input can
 * know alice's password: status 0 with a user means the fuzzer found a
 * bypass).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "auth.h"
#include "digest.h"
#include "fuzz_common.h"
#include "log.h"
#include "sip/sip_msg.h"
#include "sp_conf.h"

static char users_path[] = "/tmp/fuzz_digest_users.XXXXXX";
static struct sp_conf conf;

static void cleanup(void)
{
	unlink(users_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char text[2048], line[512];
	int fd;

	(void)argc;
	(void)argv;
	log_level = LOG_ERR; /* no warning per input */
	if (sip_msg_init() != 0 || (fd = mkstemp(users_path)) < 0) {
		fprintf(stderr, "fuzz_digest: set-up failed\n");
		exit(1);
	}
	atexit(cleanup);
	/* the passwords are random: no input can know them */
	for (int i = 0; i < 2; i++) {
		char pw[33];
		FILE *r = fopen("/dev/urandom", "r");
		unsigned char b[16];
		if (!r || fread(b, 1, sizeof(b), r) != sizeof(b))
			exit(1);
		fclose(r);
		for (int k = 0; k < 16; k++)
			sprintf(pw + 2 * k, "%02x", b[k]);
		if (auth_users_line(i ? "bob" : "alice", "edge.test", pw, line, sizeof(line)) < 0 ||
		    dprintf(fd, "%s\n", line) < 0)
			exit(1);
	}
	close(fd);
	snprintf(text, sizeof(text),
		 "user = \"root\";\n"
		 "realms = ( { name = \"inside\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n"
		 "listen = ( { address = \"192.0.2.1\"; realm = \"inside\"; } );\n"
		 "domains = [ \"edge.test\" ];\n"
		 "auth: { users_file = \"%s\"; max_failures = 3; };\n",
		 users_path);
	if (sp_conf_load_string(text, "fuzz.conf", &conf, stderr) < 0)
		exit(1);
	return 0;
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void check_cred(const struct digest_cred *c)
{
	size_t hl = digest_hex_len(c->alg);

	FUZZ_CHECK(c->alg == DIGEST_MD5 || c->alg == DIGEST_SHA256, "algorithm %d", (int)c->alg);
	FUZZ_CHECK(terminated(c->username, sizeof(c->username)) &&
			   terminated(c->realm, sizeof(c->realm)) &&
			   terminated(c->nonce, sizeof(c->nonce)) && terminated(c->uri, sizeof(c->uri)) &&
			   terminated(c->cnonce, sizeof(c->cnonce)) &&
			   terminated(c->opaque, sizeof(c->opaque)) && terminated(c->nc, sizeof(c->nc)),
		   "a field is not terminated");
	FUZZ_CHECK(strlen(c->response) == hl && digest_is_hex(c->response, hl), "response \"%s\"",
		   c->response);
	FUZZ_CHECK(c->qop_auth && digest_is_hex(c->nc, 8), "nc \"%s\"", c->nc);
	FUZZ_CHECK(c->username[0] && c->nonce[0] && c->uri[0] && c->cnonce[0], "an empty field");
}

/* s quoted, with '"' and '\' escaped. */
static size_t quote(char *out, const char *s)
{
	size_t n = 0;

	out[n++] = '"';
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n++] = '"';
	return n;
}

static void round_trip(const struct digest_cred *c)
{
	static char buf[DIGEST_HDR_MAX * 2];
	struct digest_cred d;
	size_t n = 0;
	const struct {
		const char *name, *v;
	} f[] = {{"username", c->username}, {"realm", c->realm}, {"nonce", c->nonce},
		 {"uri", c->uri}, {"cnonce", c->cnonce}, {"response", c->response}};

	n += (size_t)sprintf(buf, "Digest algorithm=%s, qop=auth, nc=%s",
			     c->alg == DIGEST_SHA256 ? "SHA-256" : "MD5", c->nc);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		n += (size_t)sprintf(buf + n, ", %s=", f[i].name);
		n += quote(buf + n, f[i].v);
	}
	if (c->opaque[0]) {
		n += (size_t)sprintf(buf + n, ", opaque=");
		n += quote(buf + n, c->opaque);
	}
	if (n > DIGEST_HDR_MAX)
		return; /* escapes made it longer than the parser takes */
	FUZZ_CHECK(digest_parse(buf, n, &d) == 0, "the credential written out does not parse: %s",
		   buf);
	FUZZ_CHECK(!strcmp(d.username, c->username) && !strcmp(d.realm, c->realm) &&
			   !strcmp(d.nonce, c->nonce) && !strcmp(d.uri, c->uri) &&
			   !strcmp(d.cnonce, c->cnonce) && !strcmp(d.opaque, c->opaque) &&
			   !strcmp(d.response, c->response) && !strcmp(d.nc, c->nc) && d.alg == c->alg,
		   "round trip changed a field: %s", buf);
}

static void in_request(const uint8_t *data, size_t size, unsigned mode)
{
	static char msg[16384], val[8192];
	bool reg = !(mode & 2);
	struct sockaddr_in src = {.sin_family = AF_INET};
	struct auth_verdict v;
	struct sip_err err;
	osip_message_t *m = NULL;
	struct auth *a;
	size_t vn = 0;
	int n;

	if (size > 4096)
		return;
	inet_pton(AF_INET, "192.0.2.10", &src.sin_addr);
	if (!(a = auth_new(&conf)))
		fuzz_fail("auth_new failed");
	/* the value, with "NONCE" replaced by a real nonce once (bit 2) */
	{
		const char *hit = (mode & 4) ? memmem(data, size, "NONCE", 5) : NULL;
		if (hit) {
			osip_message_t *r = NULL, *q = NULL;
			osip_header_t *h = NULL;
			const char *p;
			n = snprintf(msg, sizeof(msg),
				     "REGISTER sip:edge.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKq\r\n"
				     "From: <sip:alice@edge.test>;tag=1\r\nTo: <sip:alice@edge.test>\r\n"
				     "Call-ID: q\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n");
			if (sip_msg_parse(msg, (size_t)n, 0, &q, &err) == 0 &&
			    sip_msg_build_response(q, 401, NULL, NULL, &r) == 0 &&
			    auth_challenge(a, r, &src, false, 1000) == 0 &&
			    osip_message_header_get_byname(r, "WWW-Authenticate", 0, &h) >= 0 &&
			    (p = strstr(h->hvalue, "nonce=\""))) {
				size_t pre = (size_t)(hit - (const char *)data);
				memcpy(val, data, pre);
				memcpy(val + pre, p + 7, 64);
				memcpy(val + pre + 64, hit + 5, size - pre - 5);
				vn = size - 5 + 64;
			}
			if (r)
				osip_message_free(r);
			if (q)
				osip_message_free(q);
		}
		if (!vn) {
			memcpy(val, data, size);
			vn = size;
		}
	}
	n = snprintf(msg, sizeof(msg),
		     "%s SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKfz\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:alice@edge.test>;tag=f1\r\n"
		     "To: <sip:%s@edge.test>\r\n"
		     "Call-ID: fz@192.0.2.10\r\n"
		     "CSeq: 2 %s\r\n"
		     "%s: %.*s\r\n"
		     "Content-Length: 0\r\n\r\n",
		     reg ? "REGISTER sip:edge.test" : "INVITE sip:bob@edge.test", reg ? "alice" : "bob",
		     reg ? "REGISTER" : "INVITE", reg ? "Authorization" : "Proxy-Authorization",
		     (int)vn, val);
	if (n > 0 && (size_t)n < sizeof(msg) && sip_msg_parse(msg, (size_t)n, 0, &m, &err) == 0) {
		auth_request(a, m, &src, 1500, &v);
		FUZZ_CHECK(v.status == 0 || v.status == 401 || v.status == 407 || v.status == 403,
			   "status %d", v.status);
		FUZZ_CHECK(!(v.status == 0 && v.user[0]), "authenticated as %s without the password",
			   v.user);
		FUZZ_CHECK(v.status != 0, "a challenged request was let through");
	}
	if (m)
		osip_message_free(m);
	auth_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	unsigned mode = fin_u8(&in);
	struct digest_cred c;

	fuzz_rand_reset();
	if (!(mode & 1)) {
		if (digest_parse((const char *)in.p, in.n, &c) == 0) {
			check_cred(&c);
			round_trip(&c);
		}
		return 0;
	}
	in_request(in.p, in.n, mode);
	return 0;
}
