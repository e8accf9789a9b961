/* registrar: the registrar and location service (RFC 3261 §10).
 *
 * Theory of operation.
 *
 * Storage. A hash table of AoRs: a fixed array of buckets (a power of two,
 * at least max_aors, sized once in registrar_new()) chaining AoR nodes
 * allocated on demand, at most max_aors of them. A node holds the AoR
 * string and an array of exactly as many contact slots as it has
 * bindings (reallocated on change, never more than max_contacts), so the
 * memory used follows what is registered and is bounded by the limits.
 * Each slot is a struct reg_contact plus a sequence number (a counter
 * bumped on every insert or refresh) that orders ties "most recent first".
 * An AoR left with no contact is freed. Expired contacts stay in place
 * until registrar_expire() (or a REGISTER for their AoR) removes them, but
 * nothing ever shows them: lookup, each and the 200 OK skip every contact
 * whose expiry is not after now.
 *
 * registrar_register() (RFC 3261 §10.3 steps 6-8; steps 1-5, the domain,
 * Require, authentication and the To canonicalised into aor, are the
 * caller's) works in three phases and changes nothing unless all succeed:
 *
 *  1. Check. Call-ID and CSeq (the §10.3 step 7 keys), the Expires header
 *     (at most one, delta-seconds; above 2^32-1 reads as 2^32-1), then
 *     every Contact: "*" only alone and with Expires: 0 (step 6); else a
 *     sip or sips URI of fewer than REG_URI_MAX characters once written,
 *     at most one expires and one q parameter, expires delta-seconds and q
 *     a qvalue exactly as RFC 3261 §25.1 spells it ("0", "0.5", "0.123",
 *     "1", "1.000"). The URI must also be one libosip2 writes back as it
 *     read it (a sane host and port, no blank, '<', '>' or '"', and
 *     parse(write(uri)) giving the same text and key): libosip2 turns some
 *     malformed URIs ("sip:a@[::1") into text that no longer parses, and
 *     that text would go into every later 200. Each contact's interval is its expires parameter,
 *     else the Expires header, else default_expires; an interval between
 *     1 and min_expires - 1 fails the request with 423 and a Min-Expires
 *     header (after every 400 check, so a 423 is always worth retrying);
 *     one above max_expires is cut to it. Any other problem is a 400.
 *  2. Apply, on a scratch copy of the AoR's live bindings. Contacts are
 *     matched on a key built from the parsed URI, RFC 3261 §19.1.4 taken
 *     loosely: scheme and host case-insensitive, user and password exact
 *     (after libosip2's unescaping), port as written (absent is not 5060),
 *     and the transport, user, ttl, method and maddr URI parameters
 *     (case-insensitive, absent differs from present); other URI
 *     parameters and headers are ignored. For each Contact in request
 *     order: a known binding with the same Call-ID and a CSeq not higher
 *     than the stored one aborts the request with 500 (step 7; a binding
 *     already touched by this request is exempt, so one URI listed twice
 *     is simply processed twice); interval 0 removes the binding; else it
 *     is updated (a different Call-ID simply replaces the old one) or
 *     added, and adding past max_contacts fails with 403 "Too many
 *     contacts". "*" removes every binding, under the same Call-ID/CSeq
 *     rule. No Contact at all is a query and changes nothing.
 *  3. Commit. A new AoR needs a free node: when max_aors are in use the
 *     table is first swept of expired contacts (registrar_expire()); if
 *     still full the answer is 500 "Server Internal Error (registrar
 *     full)". 500 rather than 403: the limit is the server's capacity,
 *     nothing the user did wrong or could fix by changing the request,
 *     and a 403 would read as "this AoR may not register". The 200's
 *     Contact headers (every live binding, best q first, with
 *     ;expires=<remaining> and ;q= when below 1) are written into resp
 *     before the scratch copy replaces the stored one, so a failure there
 *     (out of memory) leaves both the store and resp as they were.
 *
 * RFC 3261 §10.3 step 6 allows 423 only for intervals under one hour; here
 * min_expires alone decides (registrar_new() wants min <= default <= max).
 * resp may be NULL (the status alone), and so may reason.
 *
 * registrar_count_contacts() counts what is stored, expired contacts not
 * yet swept included; lookup and each never show those.
 *
 * Persistence is the caller's (persist.c): a hook set with
 * registrar_set_hook() hears of every REGISTER that changed an AoR, once
 * committed, and reads the AoR back with registrar_each_of();
 * registrar_restore() and registrar_remove_aor() rebuild the table at
 * start-up. Each walks an AoR's contacts oldest first (by the sequence
 * number), so a restore in that order gives the same tie order.
 *
 * Everything is single-threaded; nothing logs. Callbacks of
 * registrar_each() must not change the registrar.
 */
#include "registrar.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "siphash.h"

#define REG_MAX_CONTACTS_CAP 1024u      /* sanity caps on the limits */
#define REG_MAX_AORS_CAP (1u << 24)
#define REG_KEY_MAX (REG_URI_MAX + 128) /* a match key: the URI's parts and lengths */

#define R_BAD_AOR "Bad Request (bad address-of-record)"
#define R_BAD_CALLID "Bad Request (bad Call-ID)"
#define R_BAD_CSEQ "Bad Request (bad CSeq)"
#define R_BAD_EXPIRES "Bad Request (bad Expires)"
#define R_BAD_CONTACT "Bad Request (bad Contact)"
#define R_BAD_STAR "Bad Request (bad wildcard Contact)"
#define R_BAD_SCHEME "Bad Request (Contact URI scheme not sip or sips)"
#define R_LONG_URI "Bad Request (Contact URI too long)"
#define R_BAD_PARAM_EXPIRES "Bad Request (bad Contact expires)"
#define R_BAD_Q "Bad Request (bad q-value)"
#define R_TOO_BRIEF "Interval Too Brief"
#define R_TOO_MANY "Too many contacts"
#define R_ORDER "Server Internal Error (out of order)"
#define R_FULL "Server Internal Error (registrar full)"
#define R_INTERNAL "Server Internal Error"

struct slot {
	struct reg_contact c;
	uint64_t seq; /* larger: registered or refreshed more recently */
};

struct aor {
	struct aor *next;  /* hash chain */
	unsigned n;        /* slots in use (= allocated) */
	struct slot *slots;
	char name[];       /* the AoR, NUL-terminated */
};

/* A binding being worked on by registrar_register(). */
struct stage {
	struct slot s;
	bool touched;      /* updated by this request: no CSeq check */
	char key[REG_KEY_MAX];
};

/* One Contact of the request after phase 1. */
struct req_contact {
	char *uri;         /* sip_uri_to_str() of the URI (sip_str_free) */
	char key[REG_KEY_MAX];
	uint32_t expires;  /* interval, already clamped; 0: remove */
	unsigned q;
};

struct registrar {
	struct reg_limits lim;
	struct aor **buckets;
	size_t nbuckets;   /* a power of two */
	struct siphash_key key; /* hash key (SipHash: AoRs are the sender's choice) */
	unsigned naors, ncontacts;
	uint64_t seq;
	struct stage *stage; /* max_contacts scratch bindings */
	struct slot **sorted; /* max_contacts scratch pointers */
	registrar_hook_fn hook;
	void *hook_arg;
};

/* ---- small helpers ---- */

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static uint64_t hash_aor(const struct registrar *r, const char *s)
{
	return siphash_str(&r->key, s);
}

static int64_t sat_add(int64_t now, uint32_t delta)
{
	return now > INT64_MAX - (int64_t)delta ? INT64_MAX : now + (int64_t)delta;
}

static bool live(const struct slot *s, int64_t now)
{
	return s->c.expires > now;
}

/* RFC 3261 §25.1 delta-seconds: 1*DIGIT, saturated at 2^32-1 (§20.19). */
static bool parse_delta(const char *s, uint32_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			v = UINT32_MAX + 1ull; /* keep reading: all digits or fail */
	}
	*out = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	return true;
}

/* RFC 3261 §25.1: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ),
 * into thousandths. */
static bool parse_q(const char *s, unsigned *out)
{
	unsigned v, scale = 100;
	int i;

	if (!s || (s[0] != '0' && s[0] != '1'))
		return false;
	v = s[0] == '1' ? 1000 : 0;
	if (s[1] == '\0')
		goto done;
	if (s[1] != '.')
		return false;
	for (i = 2; s[i]; i++) {
		if (i > 4 || s[i] < '0' || s[i] > '9' || (v == 1000 && s[i] != '0'))
			return false;
		v += (unsigned)(s[i] - '0') * scale;
		scale /= 10;
	}
done:
	*out = v;
	return true;
}

/* Append a length-prefixed field, lower-cased if asked. false on overflow. */
static bool key_put(char *key, size_t *len, const char *s, bool fold)
{
	size_t n = s ? strlen(s) : 0;
	int w;

	/* "-" for absent, so that absent and empty differ */
	if (!s)
		w = snprintf(key + *len, REG_KEY_MAX - *len, "-|");
	else
		w = snprintf(key + *len, REG_KEY_MAX - *len, "%zu|", n);
	if (w < 0 || (size_t)w >= REG_KEY_MAX - *len)
		return false;
	*len += (size_t)w;
	if (n >= REG_KEY_MAX - *len)
		return false;
	for (size_t i = 0; i < n; i++)
		key[*len + i] = fold ? (char)lower((unsigned char)s[i]) : s[i];
	*len += n;
	key[*len] = '\0';
	return true;
}

/* The match key of a URI (RFC 3261 §19.1.4, loosely: see the top). */
static bool uri_key(const sip_uri_t *u, char *key)
{
	static const char *const params[] = {"transport", "user", "ttl", "method", "maddr"};
	size_t len = 0;
	unsigned i;

	key[0] = '\0';
	if (!key_put(key, &len, sip_uri_scheme(u), true) ||
	    !key_put(key, &len, sip_uri_user(u), false) ||
	    !key_put(key, &len, sip_uri_password(u), false) ||
	    !key_put(key, &len, sip_uri_host(u), true) || !key_put(key, &len, sip_uri_port(u), false))
		return false;
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (!key_put(key, &len, sip_uri_param(u, params[i]), true))
			return false;
	return true;
}

static bool scheme_is_sip(const char *scheme)
{
	return scheme && (!strcasecmp(scheme, "sip") || !strcasecmp(scheme, "sips"));
}

/* A host we can write back: a name (letters, digits, "-._") or an IP
 * literal (libosip2 keeps IPv6 without its brackets). */
static bool host_ok(const char *h)
{
	unsigned char bin[16];
	const char *p;

	if (!h || !*h)
		return false;
	if (strchr(h, ':'))
		return inet_pton(AF_INET6, h, bin) == 1;
	for (p = h; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
			return false;
	return true;
}

static bool port_ok(const char *port)
{
	uint32_t v;

	return !port || (parse_delta(port, &v) && v >= 1 && v <= 65535 && strlen(port) <= 5);
}

/* A URI fit to store and to put in a Contact of the 200: sip or sips, a
 * sane host and port, and text that reads back as itself with the same
 * key (libosip2 turns some malformed URIs into text it then parses
 * differently, e.g. "sip:a@[::1" or stray blanks). */
static bool uri_storable(const sip_uri_t *u, const char *text, const char *key)
{
	char other[REG_KEY_MAX], *again = NULL;
	sip_uri_t *v = NULL;
	const char *p;
	bool ok;

	if (!scheme_is_sip(sip_uri_scheme(u)) || !host_ok(sip_uri_host(u)) ||
	    !port_ok(sip_uri_port(u)))
		return false;
	for (p = text; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr("<>\"", *p))
			return false;
	if (sip_uri_parse(text, &v) < 0)
		return false;
	ok = sip_uri_to_str(v, &again) == 0 && !strcmp(again, text) && uri_key(v, other) &&
	     !strcmp(other, key);
	sip_str_free(again);
	sip_uri_free(v);
	return ok;
}

/* The key of a stored URI string; false if it is not a usable sip/sips URI. */
static bool uri_string_key(const char *s, char *key)
{
	sip_uri_t *u = NULL;
	bool ok;

	if (sip_uri_parse(s, &u) < 0)
		return false;
	ok = uri_key(u, key) && uri_storable(u, s, key);
	sip_uri_free(u);
	return ok;
}

static bool aor_ok(const char *aor)
{
	return aor && *aor && strnlen(aor, REG_AOR_MAX) < REG_AOR_MAX;
}

/* ---- the table ---- */

static struct aor **find_link(struct registrar *r, const char *name)
{
	struct aor **pp = &r->buckets[hash_aor(r, name) & (r->nbuckets - 1)];

	while (*pp && strcmp((*pp)->name, name))
		pp = &(*pp)->next;
	return pp;
}

static struct aor *find_aor(struct registrar *r, const char *name)
{
	return *find_link(r, name);
}

static struct aor *new_aor(struct registrar *r, const char *name)
{
	size_t n = strlen(name);
	struct aor **pp = find_link(r, name), *a;

	if (r->naors >= r->lim.max_aors)
		return NULL;
	if (!(a = calloc(1, sizeof(*a) + n + 1)))
		return NULL;
	memcpy(a->name, name, n + 1);
	*pp = a;
	r->naors++;
	return a;
}

static void unlink_aor(struct registrar *r, struct aor *a)
{
	struct aor **pp = find_link(r, a->name);

	if (*pp == a)
		*pp = a->next;
	r->ncontacts -= a->n;
	r->naors--;
	free(a->slots);
	free(a);
}

/* Replace a's bindings with the n staged ones; false (a unchanged) if out
 * of memory. */
static bool set_slots(struct registrar *r, struct aor *a, unsigned n)
{
	struct slot *s = NULL;
	unsigned i;

	if (n) {
		if (!(s = malloc(n * sizeof(*s))))
			return false;
		for (i = 0; i < n; i++)
			s[i] = r->stage[i].s;
	}
	free(a->slots);
	r->ncontacts = r->ncontacts - a->n + n;
	a->slots = s;
	a->n = n;
	return true;
}

struct registrar *registrar_new(const struct reg_limits *lim)
{
	struct registrar *r;
	size_t nb = 16;

	if (!lim || lim->max_contacts < 1 || lim->max_contacts > REG_MAX_CONTACTS_CAP ||
	    lim->max_aors < 1 || lim->max_aors > REG_MAX_AORS_CAP || lim->max_expires < 1 ||
	    lim->min_expires > lim->max_expires || lim->default_expires < 1 ||
	    lim->default_expires < lim->min_expires || lim->default_expires > lim->max_expires) {
		errno = EINVAL;
		return NULL;
	}
	if (!(r = calloc(1, sizeof(*r))))
		return NULL;
	r->lim = *lim;
	while (nb < lim->max_aors)
		nb <<= 1;
	r->nbuckets = nb;
	siphash_key_random(&r->key);
	r->buckets = calloc(nb, sizeof(*r->buckets));
	r->stage = calloc(lim->max_contacts, sizeof(*r->stage));
	r->sorted = calloc(lim->max_contacts, sizeof(*r->sorted));
	if (!r->buckets || !r->stage || !r->sorted) {
		registrar_free(r);
		errno = ENOMEM;
		return NULL;
	}
	return r;
}

void registrar_free(struct registrar *r)
{
	struct aor *a, *next;
	size_t i;

	if (!r)
		return;
	for (i = 0; r->buckets && i < r->nbuckets; i++)
		for (a = r->buckets[i]; a; a = next) {
			next = a->next;
			free(a->slots);
			free(a);
		}
	free(r->buckets);
	free(r->stage);
	free(r->sorted);
	free(r);
}

/* ---- ordering: best q first, ties most recent first ---- */

static int cmp_slot(const void *pa, const void *pb)
{
	const struct slot *a = *(const struct slot *const *)pa, *b = *(const struct slot *const *)pb;

	if (a->c.q != b->c.q)
		return a->c.q > b->c.q ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq > b->seq ? -1 : 1;
	return 0;
}

/* Fill r->sorted with the live slots of src (n of them); returns the count. */
static unsigned sort_live(struct registrar *r, struct slot *src, size_t stride, unsigned n,
			  int64_t now)
{
	unsigned i, k = 0;
	struct slot *s;

	for (i = 0; i < n && k < r->lim.max_contacts; i++) {
		s = (struct slot *)((char *)src + i * stride);
		if (live(s, now))
			r->sorted[k++] = s;
	}
	qsort(r->sorted, k, sizeof(*r->sorted), cmp_slot);
	return k;
}

/* ---- REGISTER ---- */

static void req_contacts_free(struct req_contact *rc, int n)
{
	int i;

	for (i = 0; rc && i < n; i++)
		sip_str_free(rc[i].uri);
	free(rc);
}

/* Phase 1 for one non-"*" Contact. Returns 0 or a status with *reason. */
static int check_contact(const struct registrar *r, const sip_contact_t *c, bool have_hdr,
			 uint32_t hdr_expires, struct req_contact *out, const char **reason)
{
	const sip_uri_t *u = sip_contact_uri(c);
	const char *pe, *pq, *host = sip_uri_host(u);
	bool has_e, has_q, dup = false;
	uint32_t e;
	char *s = NULL;

	if (!sip_uri_scheme(u)) {
		*reason = R_BAD_CONTACT;
		return 400;
	}
	if (!scheme_is_sip(sip_uri_scheme(u))) {
		*reason = R_BAD_SCHEME;
		return 400;
	}
	if (!host || !*host || sip_uri_to_str(u, &s) < 0) {
		*reason = R_BAD_CONTACT;
		return 400;
	}
	out->uri = s;
	if (strlen(s) >= REG_URI_MAX) {
		*reason = R_LONG_URI;
		return 400;
	}
	if (!uri_key(u, out->key)) {
		*reason = R_LONG_URI;
		return 400;
	}
	if (!uri_storable(u, s, out->key)) {
		*reason = R_BAD_CONTACT;
		return 400;
	}
	has_e = sip_contact_param(c, "expires", &pe, &dup);
	has_q = sip_contact_param(c, "q", &pq, &dup);
	if (dup) {
		*reason = R_BAD_CONTACT;
		return 400;
	}
	if (has_e) {
		if (!parse_delta(pe, &e)) {
			*reason = R_BAD_PARAM_EXPIRES;
			return 400;
		}
	} else {
		e = have_hdr ? hdr_expires : r->lim.default_expires;
	}
	out->q = 1000;
	if (has_q && !parse_q(pq, &out->q)) {
		*reason = R_BAD_Q;
		return 400;
	}
	if (e > r->lim.max_expires)
		e = r->lim.max_expires;
	out->expires = e;
	return 0;
}

/* The §10.3 step 7 rule against one stored binding: true if the request
 * must be refused (same Call-ID, CSeq not higher). */
static bool out_of_order(const struct stage *st, const char *call_id, uint32_t cseq)
{
	return !st->touched && !strcmp(st->s.c.call_id, call_id) && cseq <= st->s.c.cseq;
}

/* q (thousandths, below 1000) as "0.5", "0.25", "0.125"; "" for 1000. */
static void format_q(unsigned q, char out[8])
{
	int i = 2;

	if (q >= 1000) {
		out[0] = '\0';
		return;
	}
	out[0] = '0';
	if (q == 0) {
		out[1] = '\0';
		return;
	}
	out[1] = '.';
	out[i++] = (char)('0' + q / 100);
	if (q % 100) {
		out[i++] = (char)('0' + q / 10 % 10);
		if (q % 10)
			out[i++] = (char)('0' + q % 10);
	}
	out[i] = '\0';
}

/* Add one Contact header per live staged binding to resp (sorted). On
 * failure every header added here is taken out again. */
static int add_contacts(struct registrar *r, unsigned nstage, int64_t now, sip_msg_t *resp)
{
	char buf[REG_URI_MAX + 64], q[8];
	int before = sip_msg_contact_count(resp);
	unsigned i, k = sort_live(r, &r->stage[0].s, sizeof(struct stage), nstage, now);
	const struct reg_contact *c;

	for (i = 0; i < k; i++) {
		c = &r->sorted[i]->c;
		format_q(c->q, q);
		snprintf(buf, sizeof(buf), "<%s>;expires=%lld%s%s", c->uri,
			 (long long)(c->expires - now), q[0] ? ";q=" : "", q);
		if (sip_msg_add_contact(resp, buf) != 0) {
			sip_msg_truncate_contacts(resp, before);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Phase 1 for the request-wide parts: Call-ID, CSeq, Expires. */
static int check_request(const sip_msg_t *req, char *call_id, uint32_t *cseq,
			 bool *have_hdr, uint32_t *hdr_expires, const char **reason)
{
	const char *num = sip_msg_call_id_number(req), *host = sip_msg_call_id_host(req), *v;
	int n, count;

	/* the Call-ID as written: "number@host" or "number" */
	n = num ? snprintf(call_id, REG_CALLID_MAX, "%s%s%s", num, host ? "@" : "",
			   host ? host : "") : -1;
	if (n <= 0 || n >= REG_CALLID_MAX) {
		*reason = R_BAD_CALLID;
		return 400;
	}
	if (!parse_delta(sip_msg_cseq_number(req), cseq) || *cseq == UINT32_MAX) {
		*reason = R_BAD_CSEQ; /* saturated: was above 2^32-1 */
		return 400;
	}
	*have_hdr = false;
	v = sip_msg_header(req, "expires", &count);
	if (count > 0) {
		if (!parse_delta(v, hdr_expires) || count > 1) {
			*reason = R_BAD_EXPIRES;
			return 400;
		}
		*have_hdr = true;
	}
	return 0;
}

/* Load the live bindings of a (may be NULL) into r->stage; returns the count. */
static unsigned stage_load(struct registrar *r, const struct aor *a, int64_t now)
{
	unsigned i, n = 0;
	struct stage *st;

	for (i = 0; a && i < a->n; i++) {
		if (!live(&a->slots[i], now))
			continue;
		st = &r->stage[n];
		st->s = a->slots[i];
		st->touched = false;
		if (!uri_string_key(st->s.c.uri, st->key))
			snprintf(st->key, sizeof(st->key), "raw|%s", st->s.c.uri); /* never matches a key */
		n++;
	}
	return n;
}

static void stage_remove(struct registrar *r, unsigned *n, unsigned i)
{
	if (i + 1 < *n)
		memmove(&r->stage[i], &r->stage[i + 1], (*n - i - 1) * sizeof(r->stage[0]));
	(*n)--;
}

/* Phase 1 for the Contacts: *star for a valid "*", else *rcp (n of them,
 * the caller frees it with req_contacts_free() whatever this returns)
 * filled by check_contact(). Returns 0 or a status with *reason; for 423
 * the Min-Expires header goes into resp. */
static int check_contacts(const struct registrar *r, const sip_msg_t *req, bool have_hdr,
			  uint32_t hdr_expires, sip_msg_t *resp, struct req_contact **rcp,
			  int *np, bool *star, const char **reason)
{
	int i, n = sip_msg_contact_count(req), status;
	struct req_contact *rc;
	bool brief = false;
	char mins[16];

	*rcp = NULL;
	*np = n;
	for (i = 0; i < n; i++)
		if (sip_contact_is_star(sip_msg_contact(req, i)))
			*star = true;
	if (*star) {
		/* RFC 3261 §10.3 step 6: "*" alone, Expires: 0, no parameter */
		if (n != 1 || !have_hdr || hdr_expires != 0 ||
		    sip_contact_param_count(sip_msg_contact(req, 0)) > 0) {
			*reason = R_BAD_STAR;
			return 400;
		}
		return 0;
	}
	if (n <= 0)
		return 0; /* a query */
	if (!(rc = *rcp = calloc((size_t)n, sizeof(*rc)))) {
		*reason = R_INTERNAL;
		return 500;
	}
	for (i = 0; i < n; i++) {
		const sip_contact_t *c = sip_msg_contact(req, i);

		if (!c) {
			*reason = R_BAD_CONTACT;
			return 400;
		}
		if ((status = check_contact(r, c, have_hdr, hdr_expires, &rc[i], reason)))
			return status;
		if (rc[i].expires > 0 && rc[i].expires < r->lim.min_expires)
			brief = true;
	}
	if (!brief)
		return 0;
	snprintf(mins, sizeof(mins), "%u", r->lim.min_expires);
	if (resp && sip_msg_add_header(resp, "Min-Expires", mins) != 0) {
		*reason = R_INTERNAL;
		return 500;
	}
	*reason = R_TOO_BRIEF;
	return 423;
}

/* The staged binding with this key, its index in *j; NULL if none. */
static struct stage *stage_find(struct registrar *r, unsigned ns, const char *key, unsigned *j)
{
	for (*j = 0; *j < ns; (*j)++)
		if (!strcmp(r->stage[*j].key, key))
			return &r->stage[*j];
	return NULL;
}

/* Phase 2: the request's Contacts (or "*") applied to the scratch copy of
 * a's live bindings, *ns of them afterwards. Returns 0 or a status with
 * *reason (500 out of order, 403 too many). */
static int stage_apply(struct registrar *r, const struct aor *a, bool star,
		       const struct req_contact *rc, int n, const char *call_id, uint32_t cseq,
		       const struct tp_addr *src, int64_t now, unsigned *ns,
		       const char **reason)
{
	struct stage *st;
	unsigned j;
	int i;

	*ns = stage_load(r, a, now);
	if (star) {
		for (j = 0; j < *ns; j++)
			if (out_of_order(&r->stage[j], call_id, cseq)) {
				*reason = R_ORDER;
				return 500;
			}
		*ns = 0;
		return 0;
	}
	for (i = 0; i < n; i++) {
		st = stage_find(r, *ns, rc[i].key, &j);
		if (st && out_of_order(st, call_id, cseq)) {
			*reason = R_ORDER;
			return 500;
		}
		if (rc[i].expires == 0) {
			if (st)
				stage_remove(r, ns, j);
			continue;
		}
		if (!st) {
			if (*ns >= r->lim.max_contacts) {
				*reason = R_TOO_MANY;
				return 403;
			}
			st = &r->stage[(*ns)++];
			memset(st, 0, sizeof(*st));
			memcpy(st->key, rc[i].key, sizeof(st->key));
		}
		snprintf(st->s.c.uri, sizeof(st->s.c.uri), "%s", rc[i].uri);
		st->s.c.src = *src;
		st->s.c.expires = sat_add(now, rc[i].expires);
		st->s.c.q = rc[i].q;
		memcpy(st->s.c.call_id, call_id, REG_CALLID_MAX);
		st->s.c.cseq = cseq;
		st->s.seq = ++r->seq;
		st->touched = true;
	}
	return 0;
}

/* Phase 3: the 200's Contacts into resp, then the ns staged bindings
 * replace aor's (a: its node, NULL if new). n: how many Contacts the
 * request had. Returns 200, or 500 with *reason (resp as it was). */
static int commit(struct registrar *r, const char *aor, struct aor *a, bool star, int n,
		  unsigned ns, int64_t now, sip_msg_t *resp, const char **reason)
{
	/* a query, nothing expired: the store stays as it is */
	bool query = a && !star && n == 0 && ns == a->n, changed;
	int before;

	if (!a && ns > 0) {
		if (r->naors >= r->lim.max_aors)
			registrar_expire(r, now);
		if (r->naors >= r->lim.max_aors) {
			*reason = R_FULL;
			return 500;
		}
	}
	before = resp ? sip_msg_contact_count(resp) : 0;
	if (resp && add_contacts(r, ns, now, resp) != 0) {
		*reason = R_INTERNAL;
		return 500;
	}
	/* a query, or nothing stored before or after: no change to tell */
	changed = !query && (a || ns > 0);
	if (ns == 0) {
		if (a)
			unlink_aor(r, a);
	} else if (query) {
		/* nothing to write */
	} else if (!a && !(a = new_aor(r, aor))) {
		goto nomem;
	} else if (!set_slots(r, a, ns)) {
		if (!a->n)
			unlink_aor(r, a); /* just created */
		goto nomem;
	}
	if (r->hook && changed)
		r->hook(r->hook_arg, aor, now);
	return 200;
nomem:
	if (resp)
		sip_msg_truncate_contacts(resp, before);
	*reason = R_INTERNAL;
	return 500;
}

int registrar_register(struct registrar *r, const char *aor, const sip_msg_t *req,
		       const struct tp_addr *src, int64_t now, sip_msg_t *resp,
		       const char **reason)
{
	const char *dummy;
	char call_id[REG_CALLID_MAX];
	uint32_t cseq = 0, hdr_expires = 0;
	bool have_hdr = false, star = false;
	struct req_contact *rc = NULL;
	struct aor *a = NULL;
	int status, n = 0;
	unsigned ns = 0;

	if (!reason)
		reason = &dummy;
	*reason = NULL;
	if (!r || !req || !src) {
		*reason = R_INTERNAL;
		return 500;
	}
	if (!aor_ok(aor)) {
		*reason = R_BAD_AOR;
		return 400;
	}
	/* phase 1: the request, then every Contact */
	if ((status = check_request(req, call_id, &cseq, &have_hdr, &hdr_expires, reason)))
		return status;
	status = check_contacts(r, req, have_hdr, hdr_expires, resp, &rc, &n, &star, reason);
	/* phase 2: on the scratch copy */
	if (status == 0) {
		a = find_aor(r, aor);
		status = stage_apply(r, a, star, rc, n, call_id, cseq, src, now, &ns, reason);
	}
	/* phase 3: commit */
	if (status == 0)
		status = commit(r, aor, a, star, n, ns, now, resp, reason);
	req_contacts_free(rc, n);
	return status;
}

/* ---- the location service ---- */

unsigned registrar_lookup(struct registrar *r, const char *aor, int64_t now,
			  struct reg_contact *out, unsigned max)
{
	struct aor *a;
	unsigned i, k;

	if (!r || !aor_ok(aor) || (!out && max))
		return 0;
	if (!(a = find_aor(r, aor)))
		return 0;
	k = sort_live(r, a->slots, sizeof(struct slot), a->n, now);
	if (k > max)
		k = max;
	for (i = 0; i < k; i++)
		out[i] = r->sorted[i]->c;
	return k;
}

unsigned registrar_expire(struct registrar *r, int64_t now)
{
	struct aor **pp, *a;
	unsigned i, j, keep, gone = 0;
	size_t b;

	if (!r)
		return 0;
	for (b = 0; b < r->nbuckets; b++) {
		pp = &r->buckets[b];
		while ((a = *pp)) {
			for (i = 0, keep = 0; i < a->n; i++)
				if (live(&a->slots[i], now))
					a->slots[keep++] = a->slots[i];
			j = a->n - keep;
			gone += j;
			r->ncontacts -= j;
			a->n = keep;
			if (keep == 0) {
				*pp = a->next;
				r->naors--;
				free(a->slots);
				free(a);
				continue;
			}
			/* the array stays as allocated: it only ever shrinks here */
			pp = &a->next;
		}
	}
	return gone;
}

static int cmp_seq(const void *pa, const void *pb)
{
	const struct slot *a = *(const struct slot *const *)pa, *b = *(const struct slot *const *)pb;

	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* fn for each live contact of a, oldest first; returns how many. */
static unsigned each_of_aor(const struct aor *a, int64_t now, registrar_each_fn fn, void *arg)
{
	const struct slot *ord[REG_MAX_CONTACTS_CAP];
	unsigned i, k = 0;

	for (i = 0; i < a->n && k < REG_MAX_CONTACTS_CAP; i++)
		if (live(&a->slots[i], now))
			ord[k++] = &a->slots[i];
	qsort(ord, k, sizeof(ord[0]), cmp_seq);
	for (i = 0; i < k; i++)
		fn(arg, a->name, &ord[i]->c);
	return k;
}

void registrar_each(struct registrar *r, int64_t now, registrar_each_fn fn, void *arg)
{
	struct aor *a;
	size_t b;

	if (!r || !fn)
		return;
	for (b = 0; b < r->nbuckets; b++)
		for (a = r->buckets[b]; a; a = a->next)
			each_of_aor(a, now, fn, arg);
}

unsigned registrar_each_of(struct registrar *r, const char *aor, int64_t now,
			   registrar_each_fn fn, void *arg)
{
	struct aor *a;

	if (!r || !fn || !aor_ok(aor) || !(a = find_aor(r, aor)))
		return 0;
	return each_of_aor(a, now, fn, arg);
}

unsigned registrar_remove_aor(struct registrar *r, const char *aor)
{
	struct aor *a;
	unsigned n;

	if (!r || !aor_ok(aor) || !(a = find_aor(r, aor)))
		return 0;
	n = a->n;
	unlink_aor(r, a);
	return n;
}

void registrar_set_hook(struct registrar *r, registrar_hook_fn fn, void *arg)
{
	if (!r)
		return;
	r->hook = fn;
	r->hook_arg = arg;
}

int registrar_restore(struct registrar *r, const char *aor, const struct reg_contact *c)
{
	char key[REG_KEY_MAX], other[REG_KEY_MAX];
	struct slot *s;
	struct aor *a;
	unsigned i;

	if (!r || !aor_ok(aor) || !c || strnlen(c->uri, REG_URI_MAX) >= REG_URI_MAX ||
	    strnlen(c->call_id, REG_CALLID_MAX) >= REG_CALLID_MAX || c->q > 1000 ||
	    !uri_string_key(c->uri, key))
		return -EINVAL;
	a = find_aor(r, aor);
	for (i = 0; a && i < a->n; i++) {
		if (!uri_string_key(a->slots[i].c.uri, other) || strcmp(key, other))
			continue;
		a->slots[i].c = *c; /* the same binding saved twice: the later wins */
		a->slots[i].seq = ++r->seq;
		return 0;
	}
	if (a && a->n >= r->lim.max_contacts)
		return -ENOSPC;
	if (!a) {
		if (r->naors >= r->lim.max_aors)
			return -ENOSPC;
		if (!(a = new_aor(r, aor)))
			return -ENOMEM;
	}
	if (!(s = realloc(a->slots, (a->n + 1) * sizeof(*s)))) {
		if (!a->n)
			unlink_aor(r, a);
		return -ENOMEM;
	}
	a->slots = s;
	s[a->n].c = *c;
	s[a->n].seq = ++r->seq;
	a->n++;
	r->ncontacts++;
	return 0;
}

unsigned registrar_count_aors(const struct registrar *r)
{
	return r ? r->naors : 0;
}

unsigned registrar_count_contacts(const struct registrar *r)
{
	return r ? r->ncontacts : 0;
}
