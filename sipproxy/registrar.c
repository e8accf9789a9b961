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
	char *uri;         /* osip_uri_to_str() of the URI (osip_free) */
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

static const char *uri_param(const osip_uri_t *u, const char *name)
{
	osip_uri_param_t *p;
	int i, n = osip_list_size(&u->url_params);

	for (i = 0; i < n; i++) {
		p = osip_list_get(&u->url_params, i);
		if (p && p->gname && !strcasecmp(p->gname, name))
			return p->gvalue ? p->gvalue : "";
	}
	return NULL;
}

/* The match key of a URI (RFC 3261 §19.1.4, loosely: see the top). */
static bool uri_key(const osip_uri_t *u, char *key)
{
	static const char *const params[] = {"transport", "user", "ttl", "method", "maddr"};
	size_t len = 0;
	unsigned i;

	key[0] = '\0';
	if (!key_put(key, &len, u->scheme, true) || !key_put(key, &len, u->username, false) ||
	    !key_put(key, &len, u->password, false) || !key_put(key, &len, u->host, true) ||
	    !key_put(key, &len, u->port, false))
		return false;
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (!key_put(key, &len, uri_param(u, params[i]), true))
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
static bool uri_storable(const osip_uri_t *u, const char *text, const char *key)
{
	char other[REG_KEY_MAX], *again = NULL;
	osip_uri_t *v = NULL;
	const char *p;
	bool ok;

	if (!scheme_is_sip(u->scheme) || !host_ok(u->host) || !port_ok(u->port))
		return false;
	for (p = text; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr("<>\"", *p))
			return false;
	if (osip_uri_init(&v) != 0)
		return false;
	ok = osip_uri_parse(v, text) == 0 && osip_uri_to_str(v, &again) == 0 && again &&
	     !strcmp(again, text) && uri_key(v, other) && !strcmp(other, key);
	osip_free(again);
	osip_uri_free(v);
	return ok;
}

/* The key of a stored URI string; false if it is not a usable sip/sips URI. */
static bool uri_string_key(const char *s, char *key)
{
	osip_uri_t *u = NULL;
	bool ok;

	if (osip_uri_init(&u) != 0)
		return false;
	ok = osip_uri_parse(u, s) == 0 && uri_key(u, key) && uri_storable(u, s, key);
	osip_uri_free(u);
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
		osip_free(rc[i].uri);
	free(rc);
}

/* Find the single contact parameter name; *dup if it appears twice. */
static const osip_generic_param_t *contact_param(const osip_contact_t *c, const char *name,
						 bool *dup)
{
	const osip_generic_param_t *p, *found = NULL;
	int i, n = osip_list_size(&c->gen_params);

	for (i = 0; i < n; i++) {
		p = osip_list_get(&c->gen_params, i);
		if (!p || !p->gname || strcasecmp(p->gname, name))
			continue;
		if (found)
			*dup = true;
		else
			found = p;
	}
	return found;
}

/* Phase 1 for one non-"*" Contact. Returns 0 or a status with *reason. */
static int check_contact(const struct registrar *r, const osip_contact_t *c, bool have_hdr,
			 uint32_t hdr_expires, struct req_contact *out, const char **reason)
{
	const osip_generic_param_t *pe, *pq;
	bool dup = false;
	uint32_t e;
	char *s = NULL;

	if (!c->url || !c->url->scheme) {
		*reason = R_BAD_CONTACT;
		return 400;
	}
	if (!scheme_is_sip(c->url->scheme)) {
		*reason = R_BAD_SCHEME;
		return 400;
	}
	if (!c->url->host || !*c->url->host || osip_uri_to_str(c->url, &s) != 0 || !s) {
		osip_free(s);
		*reason = R_BAD_CONTACT;
		return 400;
	}
	out->uri = s;
	if (strlen(s) >= REG_URI_MAX) {
		*reason = R_LONG_URI;
		return 400;
	}
	if (!uri_key(c->url, out->key)) {
		*reason = R_LONG_URI;
		return 400;
	}
	if (!uri_storable(c->url, s, out->key)) {
		*reason = R_BAD_CONTACT;
		return 400;
	}
	pe = contact_param(c, "expires", &dup);
	pq = contact_param(c, "q", &dup);
	if (dup) {
		*reason = R_BAD_CONTACT;
		return 400;
	}
	if (pe) {
		if (!parse_delta(pe->gvalue, &e)) {
			*reason = R_BAD_PARAM_EXPIRES;
			return 400;
		}
	} else {
		e = have_hdr ? hdr_expires : r->lim.default_expires;
	}
	out->q = 1000;
	if (pq && !parse_q(pq->gvalue, &out->q)) {
		*reason = R_BAD_Q;
		return 400;
	}
	if (e > r->lim.max_expires)
		e = r->lim.max_expires;
	out->expires = e;
	return 0;
}

static bool is_star(const osip_contact_t *c)
{
	return c && !c->url && c->displayname && !strcmp(c->displayname, "*");
}

/* The §10.3 step 7 rule against one stored binding: true if the request
 * must be refused (same Call-ID, CSeq not higher). */
static bool out_of_order(const struct stage *st, const char *call_id, uint32_t cseq)
{
	return !st->touched && !strcmp(st->s.c.call_id, call_id) && cseq <= st->s.c.cseq;
}

/* Take out the Contact headers of resp past the first keep. */
static void drop_contacts(osip_message_t *resp, int keep)
{
	osip_contact_t *h;

	while (osip_list_size(&resp->contacts) > keep) {
		h = osip_list_get(&resp->contacts, keep);
		osip_list_remove(&resp->contacts, keep);
		osip_contact_free(h);
	}
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
static int add_contacts(struct registrar *r, unsigned nstage, int64_t now, osip_message_t *resp)
{
	char buf[REG_URI_MAX + 64], q[8];
	int before = osip_list_size(&resp->contacts);
	unsigned i, k = sort_live(r, &r->stage[0].s, sizeof(struct stage), nstage, now);
	const struct reg_contact *c;

	for (i = 0; i < k; i++) {
		c = &r->sorted[i]->c;
		format_q(c->q, q);
		snprintf(buf, sizeof(buf), "<%s>;expires=%lld%s%s", c->uri,
			 (long long)(c->expires - now), q[0] ? ";q=" : "", q);
		if (osip_message_set_contact(resp, buf) != 0) {
			drop_contacts(resp, before);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Phase 1 for the request-wide parts: Call-ID, CSeq, Expires. */
static int check_request(const osip_message_t *req, char *call_id, uint32_t *cseq,
			 bool *have_hdr, uint32_t *hdr_expires, const char **reason)
{
	osip_header_t *h = NULL;
	char *s = NULL;
	int pos;

	if (!req->call_id || osip_call_id_to_str(req->call_id, &s) != 0 || !s || !*s ||
	    strlen(s) >= REG_CALLID_MAX) {
		osip_free(s);
		*reason = R_BAD_CALLID;
		return 400;
	}
	snprintf(call_id, REG_CALLID_MAX, "%s", s);
	osip_free(s);
	if (!req->cseq || !parse_delta(req->cseq->number, cseq) || *cseq == UINT32_MAX) {
		*reason = R_BAD_CSEQ; /* saturated: was above 2^32-1 */
		return 400;
	}
	*have_hdr = false;
	pos = osip_message_header_get_byname(req, "expires", 0, &h);
	if (pos >= 0) {
		osip_header_t *h2 = NULL;

		if (!h || !parse_delta(h->hvalue, hdr_expires) ||
		    osip_message_header_get_byname(req, "expires", pos + 1, &h2) >= 0) {
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

int registrar_register(struct registrar *r, const char *aor, const osip_message_t *req,
		       const struct tp_addr *src, int64_t now, osip_message_t *resp,
		       const char **reason)
{
	const char *dummy;
	char call_id[REG_CALLID_MAX], mins[16];
	uint32_t cseq = 0, hdr_expires = 0;
	bool have_hdr = false, star = false, brief = false, changed;
	struct req_contact *rc = NULL;
	struct aor *a;
	int status, i, n, before = 0;
	unsigned ns, j;

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
	if ((status = check_request(req, call_id, &cseq, &have_hdr, &hdr_expires, reason)))
		return status;

	/* phase 1: every Contact */
	n = osip_list_size(&req->contacts);
	if (n < 0)
		n = 0;
	for (i = 0; i < n; i++)
		if (is_star(osip_list_get(&req->contacts, i)))
			star = true;
	if (star) {
		const osip_contact_t *c = osip_list_get(&req->contacts, 0);

		/* RFC 3261 §10.3 step 6: "*" alone, Expires: 0, no parameter */
		if (n != 1 || !have_hdr || hdr_expires != 0 || osip_list_size(&c->gen_params) > 0) {
			*reason = R_BAD_STAR;
			return 400;
		}
	} else if (n > 0) {
		if (!(rc = calloc((size_t)n, sizeof(*rc)))) {
			*reason = R_INTERNAL;
			return 500;
		}
		for (i = 0; i < n; i++) {
			const osip_contact_t *c = osip_list_get(&req->contacts, i);

			if (!c) {
				*reason = R_BAD_CONTACT;
				status = 400;
			} else {
				status = check_contact(r, c, have_hdr, hdr_expires, &rc[i], reason);
			}
			if (status)
				goto out;
			if (rc[i].expires > 0 && rc[i].expires < r->lim.min_expires)
				brief = true;
		}
		if (brief) {
			snprintf(mins, sizeof(mins), "%u", r->lim.min_expires);
			if (resp && osip_message_set_header(resp, "Min-Expires", mins) != 0) {
				*reason = R_INTERNAL;
				status = 500;
				goto out;
			}
			*reason = R_TOO_BRIEF;
			status = 423;
			goto out;
		}
	}

	/* phase 2: on the scratch copy */
	a = find_aor(r, aor);
	ns = stage_load(r, a, now);
	if (star) {
		for (j = 0; j < ns; j++)
			if (out_of_order(&r->stage[j], call_id, cseq)) {
				*reason = R_ORDER;
				status = 500;
				goto out;
			}
		ns = 0;
	}
	for (i = 0; !star && i < n; i++) {
		struct stage *st = NULL;

		for (j = 0; j < ns; j++)
			if (!strcmp(r->stage[j].key, rc[i].key)) {
				st = &r->stage[j];
				break;
			}
		if (st && out_of_order(st, call_id, cseq)) {
			*reason = R_ORDER;
			status = 500;
			goto out;
		}
		if (rc[i].expires == 0) {
			if (st)
				stage_remove(r, &ns, j);
			continue;
		}
		if (!st) {
			if (ns >= r->lim.max_contacts) {
				*reason = R_TOO_MANY;
				status = 403;
				goto out;
			}
			st = &r->stage[ns++];
			memset(st, 0, sizeof(*st));
			memcpy(st->key, rc[i].key, sizeof(st->key));
		}
		snprintf(st->s.c.uri, sizeof(st->s.c.uri), "%s", rc[i].uri);
		st->s.c.src = *src;
		st->s.c.expires = sat_add(now, rc[i].expires);
		st->s.c.q = rc[i].q;
		memcpy(st->s.c.call_id, call_id, sizeof(call_id));
		st->s.c.cseq = cseq;
		st->s.seq = ++r->seq;
		st->touched = true;
	}

	/* phase 3: commit */
	if (!a && ns > 0) {
		if (r->naors >= r->lim.max_aors)
			registrar_expire(r, now);
		if (r->naors >= r->lim.max_aors) {
			*reason = R_FULL;
			status = 500;
			goto out;
		}
	}
	before = resp ? osip_list_size(&resp->contacts) : 0;
	if (resp && add_contacts(r, ns, now, resp) != 0)
		goto nomem;
	/* a query, or nothing stored before or after: no change to tell */
	changed = !(a && !star && n == 0 && ns == a->n) && (a || ns > 0);
	if (ns == 0) {
		if (a)
			unlink_aor(r, a);
	} else if (a && !star && n == 0 && ns == a->n) {
		/* a query, nothing expired: the store stays as it is */
	} else if (!a && !(a = new_aor(r, aor))) {
		goto nomem_contacts;
	} else if (!set_slots(r, a, ns)) {
		if (!a->n)
			unlink_aor(r, a); /* just created */
		goto nomem_contacts;
	}
	if (r->hook && changed)
		r->hook(r->hook_arg, aor, now);
	status = 200;
	goto out;

nomem_contacts:
	if (resp)
		drop_contacts(resp, before);
nomem:
	*reason = R_INTERNAL;
	status = 500;
out:
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
