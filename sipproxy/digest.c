/* digest: parsing and computing SIP digest credentials. See digest.h.
 *
 * Theory of operation. The parser is a single pass over the bytes with an
 * explicit cursor and end: the scheme token, then auth-params separated by
 * commas (RFC 7235 / RFC 3261 section 25.1: name LWS "=" LWS (token |
 * quoted-string)). Quoted strings are unescaped into the destination
 * buffer; a value that does not fit is an error rather than a truncation
 * (a cut username could name another user). Known parameters go to their
 * field once each (a second copy is an error: which one would a later hop
 * believe?); then the cross-checks: the required parameters are there,
 * the response has the algorithm's length, qop=auth brings cnonce and an
 * 8-digit nc. The hashes use common/'s md5.c and sha256.c.
 */
#include "digest.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "sha256.h"
#include "md5.h"

/* ---- parsing ---- */

struct cur {
	const char *p, *end;
};

static bool is_tchar(unsigned char ch)
{
	/* RFC 3261 token: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" */
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return ch && strchr("-.!%*_+`'~", ch) != NULL;
}

static void skip_lws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
		c->p++;
}

/* A token into out (size outlen): 0, or -EINVAL. */
static int get_token(struct cur *c, char *out, size_t outlen)
{
	size_t n = 0;

	while (c->p < c->end && is_tchar((unsigned char)*c->p)) {
		if (n + 1 >= outlen)
			return -EINVAL;
		out[n++] = *c->p++;
	}
	out[n] = '\0';
	return n ? 0 : -EINVAL;
}

/* A quoted-string, unescaped into out: 0 or -EINVAL. */
static int get_quoted(struct cur *c, char *out, size_t outlen)
{
	size_t n = 0;

	if (c->p >= c->end || *c->p != '"')
		return -EINVAL;
	c->p++;
	while (c->p < c->end && *c->p != '"') {
		unsigned char ch = (unsigned char)*c->p;
		if (ch == '\\') {
			/* quoted-pair: any char but CR and LF (and NUL: we keep C strings) */
			if (++c->p >= c->end)
				return -EINVAL;
			ch = (unsigned char)*c->p;
			if (ch == '\r' || ch == '\n' || ch == 0 || ch > 0x7f)
				return -EINVAL;
		} else if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			return -EINVAL; /* control characters (CR, LF, NUL...) */
		}
		if (n + 1 >= outlen)
			return -EINVAL;
		out[n++] = (char)ch;
		c->p++;
	}
	if (c->p >= c->end)
		return -EINVAL; /* unterminated */
	c->p++;
	out[n] = '\0';
	return 0;
}

enum pid {
	P_USERNAME, P_REALM, P_NONCE, P_URI, P_RESPONSE, P_ALGORITHM, P_CNONCE, P_OPAQUE, P_QOP,
	P_NC, P_USERHASH, P_USERNAME_STAR, P_COUNT, P_OTHER = P_COUNT
};

static const char *const pnames[P_COUNT] = {
	"username", "realm", "nonce", "uri", "response", "algorithm", "cnonce", "opaque", "qop",
	"nc", "userhash", "username*",
};

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

bool digest_is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[i] == '\0';
}

int digest_parse(const char *s, size_t len, struct digest_cred *cr)
{
	struct cur c = {s, s + len};
	bool seen[P_COUNT] = {false};
	char name[32], scheme[16], alg[24] = "", qop[24] = "", uh[16] = "", nc[16] = "",
		resp[DIGEST_HEX_MAX + 1] = "", junk[DIGEST_URI_MAX];
	unsigned nparams = 0;
	size_t hl;
	int rc;

	if (!cr)
		return -EINVAL;
	memset(cr, 0, sizeof(*cr));
	if (!s || len > DIGEST_HDR_MAX)
		return -EINVAL;
	skip_lws(&c);
	if (get_token(&c, scheme, sizeof(scheme)) < 0)
		return -EINVAL;
	if (strcasecmp(scheme, "Digest"))
		return -EPROTONOSUPPORT;
	if (c.p >= c.end || (*c.p != ' ' && *c.p != '\t'))
		return -EINVAL; /* "Digest" LWS digest-response */
	for (;;) {
		char *dst;
		size_t dlen;
		enum pid id = P_OTHER;

		skip_lws(&c);
		if (++nparams > DIGEST_MAX_PARAMS)
			return -EINVAL;
		if (get_token(&c, name, sizeof(name)) < 0)
			return -EINVAL;
		if (c.p < c.end && *c.p == '*' && !strcasecmp(name, "username")) {
			c.p++; /* "username*" (RFC 7616 section 3.4.4): not offered */
			strcat(name, "*");
		}
		for (unsigned i = 0; i < P_COUNT; i++)
			if (!strcasecmp(name, pnames[i]))
				id = (enum pid)i;
		skip_lws(&c);
		if (c.p >= c.end || *c.p != '=')
			return -EINVAL;
		c.p++;
		skip_lws(&c);
		switch (id) {
		case P_USERNAME: dst = cr->username; dlen = sizeof(cr->username); break;
		case P_REALM: dst = cr->realm; dlen = sizeof(cr->realm); break;
		case P_NONCE: dst = cr->nonce; dlen = sizeof(cr->nonce); break;
		case P_URI: dst = cr->uri; dlen = sizeof(cr->uri); break;
		case P_RESPONSE: dst = resp; dlen = sizeof(resp); break;
		case P_ALGORITHM: dst = alg; dlen = sizeof(alg); break;
		case P_CNONCE: dst = cr->cnonce; dlen = sizeof(cr->cnonce); break;
		case P_OPAQUE: dst = cr->opaque; dlen = sizeof(cr->opaque); break;
		case P_QOP: dst = qop; dlen = sizeof(qop); break;
		case P_NC: dst = nc; dlen = sizeof(nc); break;
		case P_USERHASH: dst = uh; dlen = sizeof(uh); break;
		default: dst = junk; dlen = sizeof(junk); break;
		}
		if (id != P_OTHER) {
			if (seen[id])
				return -EINVAL; /* duplicated */
			seen[id] = true;
		}
		if (c.p < c.end && *c.p == '"')
			rc = get_quoted(&c, dst, dlen);
		else
			rc = get_token(&c, dst, dlen);
		if (rc < 0)
			return rc;
		skip_lws(&c);
		if (c.p >= c.end)
			break;
		if (*c.p != ',')
			return -EINVAL;
		c.p++;
	}
	/* RFC 7616 section 3.4: what every response carries */
	if (!seen[P_USERNAME] || !seen[P_REALM] || !seen[P_NONCE] || !seen[P_URI] ||
	    !seen[P_RESPONSE])
		return -EINVAL;
	if (seen[P_USERNAME_STAR])
		return -ENOTSUP;
	if (seen[P_USERHASH] && strcasecmp(uh, "false"))
		return -ENOTSUP;
	if (!cr->username[0] || !cr->nonce[0] || !cr->uri[0])
		return -EINVAL;
	if (!seen[P_ALGORITHM] || !strcasecmp(alg, "MD5"))
		cr->alg = DIGEST_MD5;
	else if (!strcasecmp(alg, "SHA-256"))
		cr->alg = DIGEST_SHA256;
	else
		return -ENOTSUP; /* -sess, SHA-512-256, AKA...: not offered */
	/* qop=auth, with cnonce and nc: the nonce count is what stops a
	 * replay (RFC 7616 section 5.4); a response without qop is refused */
	if (!seen[P_QOP])
		return -ENOTSUP;
	if (strcasecmp(qop, "auth"))
		return -ENOTSUP;
	if (!seen[P_CNONCE] || !cr->cnonce[0] || !seen[P_NC] || strlen(nc) != 8)
		return -EINVAL;
	lower(nc);
	if (!digest_is_hex(nc, 8))
		return -EINVAL;
	memcpy(cr->nc, nc, 9);
	cr->qop_auth = true;
	hl = digest_hex_len(cr->alg);
	if (strlen(resp) != hl)
		return -EINVAL;
	lower(resp);
	if (!digest_is_hex(resp, hl))
		return -EINVAL;
	memcpy(cr->response, resp, hl + 1);
	return 0;
}

/* ---- hashing ---- */

size_t digest_hex_len(enum digest_alg alg)
{
	return alg == DIGEST_SHA256 ? 2 * SHA256_LEN : 2 * MD5_LEN;
}

struct hctx {
	enum digest_alg alg;
	struct md5_ctx m;
	struct sha256_ctx s;
};

static void h_init(struct hctx *h, enum digest_alg alg)
{
	h->alg = alg;
	if (alg == DIGEST_SHA256)
		sha256_init(&h->s);
	else
		md5_init(&h->m);
}

static void h_add(struct hctx *h, const char *str)
{
	size_t n = strlen(str);

	if (h->alg == DIGEST_SHA256)
		sha256_update(&h->s, str, n);
	else
		md5_update(&h->m, str, n);
}

static void h_hex(struct hctx *h, char out[DIGEST_HEX_MAX])
{
	static const char hx[] = "0123456789abcdef";
	uint8_t d[SHA256_LEN];
	size_t n;

	if (h->alg == DIGEST_SHA256) {
		sha256_final(&h->s, d);
		n = SHA256_LEN;
	} else {
		md5_final(&h->m, d);
		n = MD5_LEN;
	}
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = '\0';
}

void digest_ha1(enum digest_alg alg, const char *user, const char *realm, const char *password,
		char out[DIGEST_HEX_MAX])
{
	struct hctx h;

	h_init(&h, alg);
	h_add(&h, user);
	h_add(&h, ":");
	h_add(&h, realm);
	h_add(&h, ":");
	h_add(&h, password);
	h_hex(&h, out);
}

void digest_response(enum digest_alg alg, const char *ha1, const char *method, const char *uri,
		     const char *nonce, const char *nc, const char *cnonce, char out[DIGEST_HEX_MAX])
{
	char ha2[DIGEST_HEX_MAX];
	struct hctx h;

	h_init(&h, alg); /* RFC 7616 section 3.4.3, qop=auth */
	h_add(&h, method);
	h_add(&h, ":");
	h_add(&h, uri);
	h_hex(&h, ha2);
	h_init(&h, alg); /* section 3.4.1 */
	h_add(&h, ha1);
	h_add(&h, ":");
	h_add(&h, nonce);
	h_add(&h, ":");
	h_add(&h, nc);
	h_add(&h, ":");
	h_add(&h, cnonce);
	h_add(&h, ":auth:");
	h_add(&h, ha2);
	h_hex(&h, out);
}

bool digest_equal(const char *a, const char *b, size_t len)
{
	unsigned char d = 0;

	for (size_t i = 0; i < len; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}
