/* auth: SIP digest authentication for sipproxy. See auth.h.
 *
 * Theory of operation.
 *
 * Who. REGISTER always (our registrar is the only place a REGISTER ends),
 * and every out-of-dialog request (no To tag) whose From URI names a host
 * of ours: a request that claims to come from one of our users must
 * prove it. REGISTER is challenged with 401 + WWW-Authenticate and
 * answered in Authorization, the rest with 407 + Proxy-Authenticate and
 * Proxy-Authorization (RFC 3261 section 22.3). Only credentials whose
 * realm is ours (auth.realm) are looked at; once they check out they are
 * removed from the request, so they are neither forwarded nor replayable
 * downstream. The user name must then match the AoR (To for REGISTER,
 * From otherwise), else 403: alice cannot register or call as bob.
 *
 * Nonces are stateless until used: nonce = hex(issue time in ms (8 bytes,
 * monotonic clock) | counter (8) | HMAC-SHA256(K, time | counter | source
 * address | realm) cut to 16 bytes), K random per process. Verifying one
 * needs no table; it fails for another source address (a nonce fetched
 * from one address is no use to a spoofed one), after nonce_lifetime, or
 * after a restart (new K). Replays are stopped by the nonce count: each
 * nonce used successfully gets an entry (in a fixed table of NONCE_SLOTS,
 * hashed by its MAC, which nobody can choose) holding the highest nc seen;
 * a request must carry a higher one. An entry is only made by a request
 * whose response was right, so only a user who knows a password can fill
 * the table; when an entry must be recycled, the issue time of the one
 * dropped (nonces are numbered in the order they are issued) raises a
 * floor at or below which a nonce with no entry counts as used (stale), so
 * recycling never reopens a replay: at worst an old unused nonce is
 * refused as stale and the client is challenged again.
 *
 * Verification is done before the nonce is judged: a wrong response
 * (wrong password, unknown user, garbage) is a failure and gets a fresh
 * challenge; a right response on a nonce that is foreign, expired or
 * replayed gets a fresh challenge with stale=true and counts for nothing
 * (RFC 7616 section 3.3), since only a holder of the password gets there.
 * An unknown user is checked against a dummy HA1 derived from K, so the
 * answer (status, headers, a fresh nonce) and the work done are the same
 * as for a known user with a wrong password: no extension enumeration.
 *
 * Brute force. Failures are counted per source address and per user name
 * (known or not, the same way) in one fixed table (FAIL_SLOTS, a short
 * probe window, the least recently used entry recycled). auth.max_failures
 * failures within auth.lockout seconds of each other lock the key for
 * auth.lockout seconds: a locked source gets 403 for every request that
 * would be authenticated, a locked user name gets 403 except from an
 * address that has authenticated as that user before (so the real phone
 * keeps working while someone else guesses its password). A lockout is
 * logged once, when it starts.
 *
 * Users file: "user:realm:MD5-HA1:SHA-256-HA1" per line, '#' comments;
 * read whole before anything is replaced, refused (and on a reload the
 * running table kept) on any problem or unless the file is private (mode
 * 0600 or stricter, not a link) and owned by the user the proxy runs as.
 * At start, as root before the drop of privileges, a file owned by the
 * configured user is accepted too: that is the owner a reload (after the
 * drop) needs.
 */
#include "auth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"
#include "log.h"

_Static_assert((int)SPC_ALG_MD5 == (int)DIGEST_MD5 && (int)SPC_ALG_SHA256 == (int)DIGEST_SHA256,
	       "auth.algorithms values are enum digest_alg values");

#define SECRET_LEN 32
#define NONCE_RAW 16               /* time | counter */
#define NONCE_MAC 16
#define NONCE_HEX (2 * (NONCE_RAW + NONCE_MAC))
#define NONCE_SLOTS 8192u
#define FAIL_SLOTS 8192u
#define PROBE 8u
#define USERS_FILE_MAX (16u << 20) /* bytes */
#define USER_CHARS "-_.!~*'()&=+$,;?/%"

struct user_ent {
	char name[AUTH_NAME_MAX];
	char ha1[2][DIGEST_HEX_MAX]; /* [DIGEST_MD5], [DIGEST_SHA256] */
};

struct auth_users {
	struct user_ent *v; /* sorted by name */
	unsigned n;
};

struct nonce_ent {
	uint8_t raw[NONCE_RAW];
	uint64_t ctr;                /* the nonce's counter: the order of issue */
	uint32_t nc;
	bool used;
};

enum fail_kind { FK_SOURCE = 1, FK_USER = 2 };

struct fail_ent {
	uint8_t kind;                /* 0: free */
	uint32_t ip;                 /* FK_SOURCE (network order); FK_USER: unused */
	char user[AUTH_NAME_MAX];    /* FK_USER */
	unsigned count;
	uint64_t last_ms;            /* last failure (or success) */
	uint64_t locked_until;       /* ms; 0 = not locked */
	uint32_t good[2];            /* FK_USER: addresses that authenticated as it */
};

struct auth {
	const struct sp_conf *conf;
	uint8_t secret[SECRET_LEN];
	struct sha256_hmac_key mac_key; /* secret, ready for HMAC (tags, nonces, dummy HA1s) */
	uint64_t counter;
	struct auth_users *users;
	struct nonce_ent nonces[NONCE_SLOTS];
	uint64_t nonce_floor;        /* nonces of this counter or lower, with no entry, are used */
	struct fail_ent fails[FAIL_SLOTS];
	struct auth_stats st;
};

/* ---- users file ---- */

static int cmp_user(const void *a, const void *b)
{
	return strcmp(((const struct user_ent *)a)->name, ((const struct user_ent *)b)->name);
}

static bool valid_user(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= AUTH_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(USER_CHARS, *s))
			return false;
	return true;
}

static bool valid_realm(const char *s)
{
	if (!*s || strlen(s) >= SPC_HOST_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || strchr("\"\\:", *s))
			return false;
	return true;
}

void auth_users_free(struct auth_users *u)
{
	if (!u)
		return;
	if (u->v) {
		memset(u->v, 0, sizeof(*u->v) * u->n);
		free(u->v);
	}
	free(u);
}

/* Read the whole file, after the checks on the open descriptor. */
static int read_private(const char *path, uid_t owner_ok, FILE *errs, char **text)
{
	struct stat sb;
	size_t got = 0;
	char *buf = NULL;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		fprintf(errs, "%s:0: %s%s\n", path, strerror(errno),
			errno == ELOOP ? " (a symbolic link is refused)" : "");
		return rc;
	}
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		fprintf(errs, "%s:0: %s\n", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		fprintf(errs, "%s:0: not a regular file\n", path);
		rc = -EINVAL;
		goto out;
	}
	if (sb.st_mode & 077) {
		fprintf(errs, "%s:0: mode %04o gives access to group or others: it must be 0600 "
			"or stricter\n", path, (unsigned)(sb.st_mode & 07777));
		rc = -EPERM;
		goto out;
	}
	if (sb.st_uid != geteuid() && !(geteuid() == 0 && sb.st_uid == owner_ok)) {
		fprintf(errs, "%s:0: owned by uid %u: it must belong to the user sipproxy runs as "
			"(uid %u)\n", path, (unsigned)sb.st_uid,
			(unsigned)(geteuid() == 0 ? owner_ok : geteuid()));
		rc = -EPERM;
		goto out;
	}
	if (sb.st_size > (off_t)USERS_FILE_MAX) {
		fprintf(errs, "%s:0: larger than %u bytes\n", path, USERS_FILE_MAX);
		rc = -EFBIG;
		goto out;
	}
	if (!(buf = malloc((size_t)sb.st_size + 1))) {
		rc = -ENOMEM;
		goto out;
	}
	while (got < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			fprintf(errs, "%s:0: read: %s\n", path, r < 0 ? strerror(errno) : "short read");
			goto out;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	if (memchr(buf, '\0', got)) {
		fprintf(errs, "%s:0: contains a NUL byte\n", path);
		rc = -EINVAL;
		goto out;
	}
	*text = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

static void lower_hex(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

int auth_users_load(const char *path, const char *realm, uid_t owner_ok, FILE *errs,
		    struct auth_users **out)
{
	struct auth_users *u = NULL;
	char *text = NULL, *line, *next;
	unsigned cap = 0, lineno = 0, nerr = 0;
	int rc;

	*out = NULL;
	if (!errs)
		errs = stderr;
	if ((rc = read_private(path, owner_ok, errs, &text)) < 0)
		return rc;
	if (!(u = calloc(1, sizeof(*u)))) {
		rc = -ENOMEM;
		goto fail;
	}
	for (line = text; line; line = next) {
		char *f[5], *s, *e;
		unsigned nf = 0;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		e = line + strlen(line);
		while (e > line && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		s = line + strspn(line, " \t");
		if (!*s || *s == '#')
			continue;
		f[nf++] = s;
		for (char *p = s; *p && nf < 5; p++)
			if (*p == ':') {
				*p = '\0';
				f[nf++] = p + 1;
			}
		if (nf != 4) {
			fprintf(errs, "%s:%u: not user:realm:md5-ha1:sha256-ha1\n", path, lineno);
			nerr++;
			continue;
		}
		if (!valid_user(f[0]) || !valid_realm(f[1])) {
			fprintf(errs, "%s:%u: %s\n", path, lineno,
				!valid_user(f[0]) ? "a user name of 1..63 characters of the SIP "
						    "user part (no ':' '@' spaces or quotes)"
						  : "a realm without control characters, '\"', '\\' or ':'");
			nerr++;
			continue;
		}
		lower_hex(f[2]);
		lower_hex(f[3]);
		if (!digest_is_hex(f[2], 32) || !digest_is_hex(f[3], 64)) {
			fprintf(errs, "%s:%u: %s\n", path, lineno,
				!digest_is_hex(f[2], 32) ? "the MD5 HA1 is not 32 hex digits"
							 : "the SHA-256 HA1 is not 64 hex digits");
			nerr++;
			continue;
		}
		if (strcmp(f[1], realm))
			continue; /* another realm's user */
		if (u->n == cap) {
			unsigned ncap = cap ? 2 * cap : 16;
			struct user_ent *nv = realloc(u->v, sizeof(*nv) * ncap);
			if (!nv) {
				rc = -ENOMEM;
				goto fail;
			}
			u->v = nv;
			cap = ncap;
		}
		memset(&u->v[u->n], 0, sizeof(u->v[0]));
		memcpy(u->v[u->n].name, f[0], strlen(f[0]) + 1);
		memcpy(u->v[u->n].ha1[DIGEST_MD5], f[2], 33);
		memcpy(u->v[u->n].ha1[DIGEST_SHA256], f[3], 65);
		u->n++;
	}
	if (u->n > 1) {
		qsort(u->v, u->n, sizeof(u->v[0]), cmp_user);
		for (unsigned i = 1; i < u->n; i++)
			if (!strcmp(u->v[i].name, u->v[i - 1].name)) {
				fprintf(errs, "%s:0: user \"%s\" of realm \"%s\" is listed twice\n", path,
					u->v[i].name, realm);
				nerr++;
			}
	}
	if (nerr) {
		rc = -EINVAL;
		goto fail;
	}
	memset(text, 0, strlen(text));
	free(text);
	*out = u;
	return (int)u->n;
fail:
	if (text) {
		memset(text, 0, strlen(text));
		free(text);
	}
	auth_users_free(u);
	return rc;
}

const char *auth_users_ha1(const struct auth_users *u, const char *user, enum digest_alg alg)
{
	struct user_ent key;
	const struct user_ent *e;

	if (!u || !u->n || strlen(user) >= sizeof(key.name))
		return NULL;
	memcpy(key.name, user, strlen(user) + 1);
	e = bsearch(&key, u->v, u->n, sizeof(u->v[0]), cmp_user);
	return e ? e->ha1[alg == DIGEST_SHA256] : NULL;
}

int auth_users_line(const char *user, const char *realm, const char *password, char *out,
		    size_t outlen)
{
	char md5[DIGEST_HEX_MAX], sha[DIGEST_HEX_MAX];
	int n;

	if (!user || !realm || !password || !valid_user(user) || !valid_realm(realm))
		return -EINVAL;
	digest_ha1(DIGEST_MD5, user, realm, password, md5);
	digest_ha1(DIGEST_SHA256, user, realm, password, sha);
	n = snprintf(out, outlen, "%s:%s:%s:%s", user, realm, md5, sha);
	return n < 0 || (size_t)n >= outlen ? -ENOSPC : 0;
}

/* uid of the configured user, for a file read as root before the drop. */
static uid_t owner_for(const struct sp_conf *c)
{
	struct passwd *pw = c->user[0] ? getpwnam(c->user) : NULL;

	return pw ? pw->pw_uid : 0;
}

/* Load c's users (none when users_file is ""). 0 or -1 (logged). */
static int load_users(const struct sp_conf *c, struct auth_users **out)
{
	char *errs = NULL;
	size_t elen = 0;
	FILE *ef;
	int rc;

	*out = NULL;
	if (!c->auth_users_file[0]) {
		*out = calloc(1, sizeof(**out));
		if (!*out)
			return -1;
		log_warn("auth: no users_file: every REGISTER and every request from a user of "
			 "our domains is refused");
		return 0;
	}
	if (!(ef = open_memstream(&errs, &elen)))
		return -1;
	rc = auth_users_load(c->auth_users_file, c->auth_realm, owner_for(c), ef, out);
	fclose(ef);
	if (rc < 0) {
		for (char *line = strtok(errs, "\n"); line; line = strtok(NULL, "\n"))
			log_err("auth: users_file %s", line);
	} else {
		log_info("auth: %d user%s of realm \"%s\" from %s", rc, rc == 1 ? "" : "s",
			 c->auth_realm, c->auth_users_file);
	}
	free(errs);
	return rc < 0 ? -1 : 0;
}

/* ---- the authenticator ---- */

struct auth *auth_new(const struct sp_conf *conf)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (!a) {
		log_err("auth: out of memory");
		return NULL;
	}
	a->conf = conf;
	if (getrandom(a->secret, sizeof(a->secret), 0) != (ssize_t)sizeof(a->secret)) {
		log_err("auth: getrandom: %s", strerror(errno));
		free(a);
		return NULL;
	}
	sha256_hmac_key_init(&a->mac_key, a->secret, sizeof(a->secret));
	if (load_users(conf, &a->users) < 0) {
		auth_free(a);
		return NULL;
	}
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	auth_users_free(a->users);
	explicit_bzero(a->secret, sizeof(a->secret)); /* the tables hold nothing secret */
	explicit_bzero(&a->mac_key, sizeof(a->mac_key));
	free(a);
}

int auth_reload(struct auth *a, const struct sp_conf *fresh)
{
	struct auth_users *u;

	if (load_users(fresh, &u) < 0) {
		log_err("auth: users file refused; the running users stay");
		return -1;
	}
	auth_users_free(a->users);
	a->users = u;
	return 0;
}

void auth_get_stats(const struct auth *a, struct auth_stats *st)
{
	*st = a->st;
	st->users = a->users ? a->users->n : 0;
}

/* ---- nonces ---- */

static const char hexd[] = "0123456789abcdef";

static void nonce_mac(const struct auth *a, const uint8_t raw[NONCE_RAW], uint32_t ip,
		      uint8_t mac[SHA256_LEN])
{
	uint8_t msg[NONCE_RAW + 4 + SPC_HOST_MAX];
	size_t rl = strlen(a->conf->auth_realm);

	memcpy(msg, raw, NONCE_RAW);
	memcpy(msg + NONCE_RAW, &ip, 4);
	memcpy(msg + NONCE_RAW + 4, a->conf->auth_realm, rl);
	sha256_hmac_keyed(&a->mac_key, msg, NONCE_RAW + 4 + rl, mac);
}

static void nonce_make(struct auth *a, uint32_t ip, uint64_t now_ms, char out[NONCE_HEX + 1])
{
	uint8_t b[NONCE_RAW + SHA256_LEN];
	uint64_t ctr = ++a->counter;

	for (int i = 0; i < 8; i++) {
		b[i] = (uint8_t)(now_ms >> (56 - 8 * i));
		b[8 + i] = (uint8_t)(ctr >> (56 - 8 * i));
	}
	nonce_mac(a, b, ip, b + NONCE_RAW);
	for (int i = 0; i < NONCE_RAW + NONCE_MAC; i++) {
		out[2 * i] = hexd[b[i] >> 4];
		out[2 * i + 1] = hexd[b[i] & 15];
	}
	out[NONCE_HEX] = '\0';
}

static int unhex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

enum nonce_state { N_OK, N_BAD, N_EXPIRED, N_REPLAY };

/* Judge a nonce whose response was right; record its nc when fresh. */
static enum nonce_state nonce_use(struct auth *a, const char *nonce, const char *nc_hex,
				  uint32_t ip, uint64_t now_ms)
{
	uint8_t b[NONCE_RAW + NONCE_MAC], mac[SHA256_LEN];
	uint64_t issued = 0, ctr = 0, life = (uint64_t)a->conf->auth_nonce_lifetime * 1000u, h;
	uint32_t nc = (uint32_t)strtoul(nc_hex, NULL, 16);
	struct nonce_ent *victim = NULL;

	if (strlen(nonce) != NONCE_HEX)
		return N_BAD;
	for (int i = 0; i < NONCE_RAW + NONCE_MAC; i++) {
		int hi = unhex(nonce[2 * i]), lo = unhex(nonce[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return N_BAD;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	nonce_mac(a, b, ip, mac);
	{
		uint8_t d = 0;
		for (int i = 0; i < NONCE_MAC; i++)
			d |= (uint8_t)(mac[i] ^ b[NONCE_RAW + i]);
		if (d)
			return N_BAD;
	}
	for (int i = 0; i < 8; i++) {
		issued = issued << 8 | b[i];
		ctr = ctr << 8 | b[8 + i];
	}
	if (issued > now_ms || now_ms - issued > life)
		return N_EXPIRED; /* (issued later than now: not from this process's clock) */
	if (nc == 0)
		return N_REPLAY;
	memcpy(&h, b + NONCE_RAW, sizeof(h)); /* the MAC: a hash nobody can aim */
	for (unsigned k = 0; k < PROBE; k++) {
		struct nonce_ent *e = &a->nonces[(h + k) % NONCE_SLOTS];
		if (e->used && e->ctr == ctr && !memcmp(e->raw, b, NONCE_RAW)) {
			if (nc <= e->nc)
				return N_REPLAY;
			e->nc = nc;
			return N_OK;
		}
		if (!victim || !e->used || (victim->used && e->ctr < victim->ctr))
			victim = e; /* free, else the oldest */
	}
	if (ctr <= a->nonce_floor)
		return N_REPLAY; /* its entry may have been recycled */
	if (victim->used && victim->ctr > a->nonce_floor)
		a->nonce_floor = victim->ctr;
	memcpy(victim->raw, b, NONCE_RAW);
	victim->ctr = ctr;
	victim->nc = nc;
	victim->used = true;
	return N_OK;
}

int auth_challenge(struct auth *a, sip_msg_t *resp, const struct sockaddr_in *src,
		   bool stale, uint64_t now_ms)
{
	const char *hname = sip_msg_status(resp) == 401 ? "WWW-Authenticate" : "Proxy-Authenticate";
	char nonce[NONCE_HEX + 1], v[SPC_HOST_MAX + NONCE_HEX + 96];

	nonce_make(a, src->sin_addr.s_addr, now_ms, nonce);
	/* RFC 8760 section 2.4: one challenge per algorithm, the preferred first */
	for (unsigned i = 0; i < a->conf->auth_nalgs; i++) {
		snprintf(v, sizeof(v), "Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, qop=\"auth\"%s",
			 a->conf->auth_realm, nonce,
			 a->conf->auth_algs[i] == SPC_ALG_SHA256 ? "SHA-256" : "MD5",
			 stale ? ", stale=true" : "");
		if (sip_msg_add_header(resp, hname, v) != 0)
			return -ENOMEM;
	}
	a->st.challenges++;
	return 0;
}

int auth_tag(const struct auth *a, const sip_msg_t *req, char *tag)
{
	static const char label[] = "natedge-auth-tag";
	const char *ft = sip_msg_from_tag(req), *num = sip_msg_call_id_number(req);
	const char *host = sip_msg_call_id_host(req), *cseq = sip_msg_cseq_number(req);
	uint8_t mac[SHA256_LEN];
	struct sha256_ctx h;
	char in[512];
	int n;

	if (!num || !cseq)
		return -EINVAL;
	n = snprintf(in, sizeof(in), "%s\n%s@%s\n%s\n%s", label, num, host ? host : "", ft ? ft : "",
		     cseq);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(in)) { /* long Call-IDs: hashed first */
		uint8_t d[SHA256_LEN];
		sha256_init(&h);
		sha256_update(&h, in, strlen(in));
		sha256_final(&h, d);
		sha256_hmac_keyed(&a->mac_key, d, sizeof(d), mac);
	} else {
		sha256_hmac_keyed(&a->mac_key, in, (size_t)n, mac);
	}
	for (int i = 0; i < AUTH_TAG_LEN / 2; i++) {
		tag[2 * i] = hexd[mac[i] >> 4];
		tag[2 * i + 1] = hexd[mac[i] & 15];
	}
	tag[AUTH_TAG_LEN] = '\0';
	return 0;
}

bool auth_ack_is_ours(const struct auth *a, const sip_msg_t *ack)
{
	char want[AUTH_TAG_LEN + 1];
	const char *tt = sip_msg_to_tag(ack);

	if (!sip_msg_method_is(ack, "ACK") || !tt || strlen(tt) != AUTH_TAG_LEN || auth_tag(a, ack, want) < 0)
		return false;
	return digest_equal(tt, want, AUTH_TAG_LEN);
}

/* ---- failures and lockouts ---- */

static uint64_t key_hash(const struct auth *a, enum fail_kind k, uint32_t ip, const char *user)
{
	uint64_t h = 0xcbf29ce484222325ull;

	memcpy(&h, a->secret + 8, sizeof(h)); /* seeded: a chain cannot be aimed */
	h ^= k;
	h *= 0x100000001b3ull;
	for (int i = 0; i < 4; i++) {
		h ^= (uint8_t)(ip >> (8 * i));
		h *= 0x100000001b3ull;
	}
	for (; user && *user; user++) {
		h ^= (uint8_t)tolower((unsigned char)*user);
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

static bool key_eq(const struct fail_ent *e, enum fail_kind k, uint32_t ip, const char *user)
{
	if (e->kind != k)
		return false;
	return k == FK_SOURCE ? e->ip == ip : !strcasecmp(e->user, user);
}

/* Whether e is a better entry to recycle than v: a free one, else one
 * not locked that failed least recently, else the lock that ends first. */
static bool better_victim(const struct fail_ent *e, const struct fail_ent *v, uint64_t now_ms)
{
	bool el = e->locked_until > now_ms, vl = v->locked_until > now_ms;

	if (!v->kind)
		return false;
	if (!e->kind)
		return true;
	if (el != vl)
		return !el;
	return el ? e->locked_until < v->locked_until : e->last_ms < v->last_ms;
}

/* The entry of a key, NULL if none (create false) or a fresh/recycled one. */
static struct fail_ent *fail_find(struct auth *a, enum fail_kind k, uint32_t ip, const char *user,
				  uint64_t now_ms, bool create)
{
	struct fail_ent *victim = NULL;
	uint64_t h;

	if (k == FK_USER && strlen(user) >= AUTH_NAME_MAX)
		user = ""; /* no user has a name that long: all such names share one key */
	h = key_hash(a, k, ip, user);
	for (unsigned i = 0; i < PROBE; i++) {
		struct fail_ent *e = &a->fails[(h + i) % FAIL_SLOTS];
		if (key_eq(e, k, ip, user))
			return e;
		if (!victim || better_victim(e, victim, now_ms))
			victim = e;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->kind = (uint8_t)k;
	victim->ip = ip;
	if (k == FK_USER)
		snprintf(victim->user, sizeof(victim->user), "%s", user);
	victim->last_ms = now_ms;
	return victim;
}

static bool locked(const struct fail_ent *e, uint64_t now_ms)
{
	return e && e->locked_until > now_ms;
}

static bool good_source(const struct fail_ent *e, uint32_t ip)
{
	return e && ip && (e->good[0] == ip || e->good[1] == ip);
}

static void fail_count(struct auth *a, struct fail_ent *e, uint64_t now_ms, const char *what)
{
	const struct sp_conf *c = a->conf;
	uint64_t window = (uint64_t)c->auth_lockout * 1000u;

	if (!e)
		return;
	if (e->count && now_ms - e->last_ms > window)
		e->count = 0;
	e->count++;
	e->last_ms = now_ms;
	if (e->count >= c->auth_max_failures) {
		e->count = 0;
		e->locked_until = now_ms + window;
		a->st.lockouts++;
		log_notice("auth: %s locked out for %u s after %u failed attempts", what,
			   c->auth_lockout, c->auth_max_failures);
	}
}

/* ---- the decision ---- */


/* "user@domain" as the registrar writes an AoR of ours. */
static int aor_name(const struct sp_conf *c, const char *user, const char *host, char *buf,
		    size_t len)
{
	const char *dom = c->ndomains ? c->domains[0] : c->auth_realm;
	int n;

	for (unsigned i = 0; i < c->ndomains; i++)
		if (!strcasecmp(c->domains[i], host))
			dom = c->domains[i];
	n = snprintf(buf, len, "%s@%s", user, dom);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	for (char *s = buf; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	return 0;
}

/* Find our realm's credentials in req's Proxy-Authorization (proxy) or
 * Authorization headers; their index in *idx. */
static bool find_cred(const struct auth *a, const sip_msg_t *req, bool proxy,
		      struct digest_cred *cr, int *idx)
{
	int n = sip_msg_cred_count(req, proxy);

	for (int i = 0; i < n; i++) {
		char *s = NULL;
		int rc;

		if (sip_msg_cred_text(req, proxy, i, &s) < 0)
			continue;
		rc = digest_parse(s, strlen(s), cr);
		sip_str_free(s);
		if (rc == 0 && !strcmp(cr->realm, a->conf->auth_realm)) {
			*idx = i;
			return true;
		}
	}
	return false;
}

/* Remove every credential for our realm from req (RFC 3261 section
 * 22.3: a proxy consumes the Proxy-Authorization meant for it). */
static void strip_creds(const struct auth *a, sip_msg_t *req, bool proxy)
{
	for (int i = sip_msg_cred_count(req, proxy) - 1; i >= 0; i--) {
		struct digest_cred cr;
		char *s = NULL;
		bool ours;

		if (sip_msg_cred_text(req, proxy, i, &s) < 0)
			continue;
		ours = digest_parse(s, strlen(s), &cr) == 0 && !strcmp(cr.realm, a->conf->auth_realm);
		sip_str_free(s);
		if (ours)
			sip_msg_cred_remove(req, proxy, i);
	}
}

static void refuse(struct auth_verdict *v, int status, const char *reason)
{
	v->status = status;
	v->reason = reason;
}

void auth_request(struct auth *a, sip_msg_t *req, const struct sockaddr_in *src,
		  uint64_t now_ms, struct auth_verdict *v)
{
	const struct sp_conf *c = a->conf;
	uint32_t ip = src->sin_addr.s_addr;
	bool reg = sip_msg_method_is(req, "REGISTER");
	int chal = reg ? 401 : 407, idx = -1;
	bool proxy = !reg; /* Authorization for a REGISTER, else Proxy-Authorization */
	const sip_uri_t *aor;
	const char *aor_host, *aor_user;
	struct fail_ent *fs, *fu;
	struct digest_cred cr;
	char expect[DIGEST_HEX_MAX], dummy[DIGEST_HEX_MAX], ipb[INET_ADDRSTRLEN], what[128];
	const char *ha1;
	bool known;

	memset(v, 0, sizeof(*v));
	if (!sip_msg_is_request(req) || sip_msg_method_is(req, "ACK") ||
	    sip_msg_method_is(req, "CANCEL") || sip_msg_to_tag(req))
		return; /* in-dialog requests are the dialog layer's */
	aor = reg ? sip_msg_to_uri(req) : sip_msg_from_uri(req);
	aor_host = sip_uri_host(aor);
	aor_user = sip_uri_user(aor);
	if (!reg && (!aor_host || !sp_conf_is_local_domain(c, aor_host)))
		return; /* not from a user of ours: the relay policy decides */
	inet_ntop(AF_INET, &src->sin_addr, ipb, sizeof(ipb));
	fs = fail_find(a, FK_SOURCE, ip, NULL, now_ms, false);
	if (locked(fs, now_ms)) {
		a->st.locked_refusals++;
		refuse(v, 403, "Forbidden (too many failed attempts)");
		return;
	}
	if (!find_cred(a, req, proxy, &cr, &idx)) {
		refuse(v, chal, NULL);
		return;
	}
	fu = fail_find(a, FK_USER, 0, cr.username, now_ms, false);
	if (locked(fu, now_ms) && !good_source(fu, ip)) {
		a->st.locked_refusals++;
		refuse(v, 403, "Forbidden (too many failed attempts)");
		return;
	}
	/* an algorithm not offered (auth.algorithms) is not accepted either */
	{
		bool offered = false;
		for (unsigned i = 0; i < c->auth_nalgs; i++)
			offered |= (int)cr.alg == c->auth_algs[i];
		if (!offered) {
			refuse(v, chal, NULL);
			return;
		}
	}
	/* the response first, against a dummy HA1 for an unknown user */
	ha1 = auth_users_ha1(a->users, cr.username, cr.alg);
	known = ha1 != NULL;
	if (!known) {
		uint8_t m[SHA256_LEN];
		sha256_hmac_keyed(&a->mac_key, cr.username, strlen(cr.username), m);
		for (size_t i = 0; i < digest_hex_len(cr.alg) / 2; i++) {
			dummy[2 * i] = hexd[m[i] >> 4];
			dummy[2 * i + 1] = hexd[m[i] & 15];
		}
		dummy[digest_hex_len(cr.alg)] = '\0';
		ha1 = dummy;
	}
	digest_response(cr.alg, ha1, sip_msg_method(req), cr.uri, cr.nonce, cr.nc, cr.cnonce, expect);
	if (!digest_equal(expect, cr.response, digest_hex_len(cr.alg)) || !known) {
		a->st.failures++;
		log_debug("auth: %s from %s: wrong credentials for \"%s\"", sip_msg_method(req), ipb,
			  cr.username);
		snprintf(what, sizeof(what), "source %s", ipb);
		fail_count(a, fail_find(a, FK_SOURCE, ip, NULL, now_ms, true), now_ms, what);
		snprintf(what, sizeof(what), "user \"%s\"", cr.username);
		fail_count(a, fail_find(a, FK_USER, 0, cr.username, now_ms, true), now_ms, what);
		refuse(v, chal, NULL);
		return;
	}
	switch (nonce_use(a, cr.nonce, cr.nc, ip, now_ms)) {
	case N_OK:
		break;
	default: /* the password was right: a new nonce, no failure */
		a->st.stale++;
		refuse(v, chal, NULL);
		v->stale = true;
		return;
	}
	/* authenticated */
	a->st.ok++;
	if (fs)
		fs->count = 0;
	fu = fail_find(a, FK_USER, 0, cr.username, now_ms, true);
	fu->count = 0;
	if (fu->good[0] != ip && fu->good[1] != ip) {
		fu->good[1] = fu->good[0];
		fu->good[0] = ip;
	}
	/* RFC 3261 section 22: the user must be the AoR's */
	if (!aor_user || !aor_host || strcasecmp(aor_user, cr.username) ||
	    !sp_conf_is_local_domain(c, aor_host)) {
		a->st.mismatches++;
		log_info("auth: %s from %s: \"%s\" may not act for the %s AoR", sip_msg_method(req), ipb,
			 cr.username, reg ? "To" : "From");
		refuse(v, 403, reg ? "Forbidden (authenticated user is not the To address-of-record)"
				   : "Forbidden (authenticated user is not the From address-of-record)");
		return;
	}
	if (aor_name(c, cr.username, aor_host, v->user, sizeof(v->user)) < 0) {
		v->user[0] = '\0';
		refuse(v, 403, "Forbidden (user name too long)");
		return;
	}
	(void)idx;
	strip_creds(a, req, proxy);
}
