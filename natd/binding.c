/* binding: fixed-capacity table with two hash indexes, a timer wheel for
 * expiry, and per-binding filtering permissions (see binding.h for the
 * theory of operation).
 *
 * Free bindings are chained through in_next and marked kind = KIND_FREE.
 * Wheel slots are circular doubly-linked lists threaded through
 * wheel_prev/wheel_next, one head index per slot.
 *
 * Per-host counts of dynamic bindings (table.max_bindings_per_host) and of
 * filtering permissions (table.permissions_per_host) are two hostcount
 * tables keyed by {in_realm, in address}. A host with a count holds at
 * least one binding (and, for the second, one permission), so they are
 * sized for capacity hosts (and for the second at most perm_capacity). Only insert(),
 * bind_remove() and bind_set_kind() touch the binding counts, and only the
 * permission alloc/free paths touch the permission counts, so every way a
 * binding or a permission comes or goes keeps them exact, and the packet
 * path of existing bindings and known remotes never sees them.
 */
#include "binding.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hostcount.h"
#include "rules.h"

#define KIND_FREE 0xff
#define WHEEL_SLOTS 1024u
#define WHEEL_MASK (WHEEL_SLOTS - 1)
#define NEVER UINT32_MAX

struct perm {
	uint32_t hnext;   /* chain in the permission hash */
	uint32_t bnext;   /* next permission of the same binding */
	uint32_t owner;   /* binding index */
	uint32_t last_used;
	struct endpoint r; /* port 0 under address-dependent filtering */
};

struct bind_table {
	struct bind_conf c;
	struct binding *b;
	uint32_t *in_hash, *ext_hash, hmask;
	uint32_t free_head;
	uint32_t count, count_kind[BIND_NKIND];
	uint32_t next_id;
	uint32_t seed;
	uint32_t wheel[WHEEL_SLOTS];
	uint32_t wheel_now;
	struct perm *p;
	uint32_t *p_hash, pmask, p_free;
	struct hostcount *hosts;     /* dynamic bindings per inside host */
	struct hostcount *perm_hosts; /* permissions per inside host */
	bind_observer_fn obs;
	void *obs_arg;
	bind_change_fn chg;
	void *chg_arg;
};

static uint32_t hash_words(uint32_t seed, uint32_t a, uint32_t b, uint32_t c)
{
	uint64_t h = seed ^ 0x9e3779b97f4a7c15ull;

	h ^= a;
	h *= 0xff51afd7ed558ccdull;
	h ^= (uint64_t)b << 17 ^ c;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 32;
	return (uint32_t)h;
}

static uint32_t in_hash(const struct bind_table *t, uint8_t proto, uint8_t in_realm,
			struct endpoint in, uint8_t ext_realm)
{
	return hash_words(t->seed, in.addr,
			  (uint32_t)in.port << 16 | (uint32_t)proto << 8 | in_realm, ext_realm) &
	       t->hmask;
}

static uint32_t ext_hash(const struct bind_table *t, uint8_t proto, uint8_t ext_realm,
			 struct endpoint ext)
{
	return hash_words(t->seed ^ 0x5bd1e995u, ext.addr,
			  (uint32_t)ext.port << 16 | (uint32_t)proto << 8 | ext_realm, 0) &
	       t->hmask;
}

static uint32_t perm_hash(const struct bind_table *t, uint32_t owner, struct endpoint r)
{
	return hash_words(t->seed ^ 0x27d4eb2fu, r.addr, r.port, owner) & t->pmask;
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t s = 1;
	while (s < n && s < (1u << 31))
		s <<= 1;
	return s;
}

/* ---- per-host counts of dynamic bindings ---- */

static void host_inc(struct bind_table *t, const struct binding *b)
{
	/* cannot fail: there are never more hosts than bindings */
	(void)hc_inc(t->hosts, b->in_realm, b->in.addr);
}

static void host_dec(struct bind_table *t, const struct binding *b)
{
	hc_dec(t->hosts, b->in_realm, b->in.addr);
}

uint32_t bind_host_count(const struct bind_table *t, uint8_t in_realm, uint32_t addr)
{
	return hc_get(t->hosts, in_realm, addr);
}

uint32_t bind_host_perms(const struct bind_table *t, uint8_t in_realm, uint32_t addr)
{
	return hc_get(t->perm_hosts, in_realm, addr);
}

struct bind_table *bind_table_new(const struct bind_conf *c, uint32_t now)
{
	struct bind_table *t;
	uint32_t hsize, psize;

	if (c->capacity == 0 || c->capacity >= BIND_NIL / 2)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->c = *c;
	/* hash heads for half as many entries as the table holds: chains of
	 * two on average when it is full (the keys are seeded), and 6 bytes
	 * less per slot (memory per table slot, tests/bench/README.md) */
	hsize = pow2_at_least(c->capacity / 2 ? c->capacity / 2 : 1);
	psize = pow2_at_least(c->perm_capacity / 2 ? c->perm_capacity / 2 : 1);
	t->hmask = hsize - 1;
	t->pmask = psize - 1;
	t->b = calloc(c->capacity, sizeof(*t->b));
	t->in_hash = malloc(hsize * sizeof(uint32_t));
	t->ext_hash = malloc(hsize * sizeof(uint32_t));
	t->p = calloc(c->perm_capacity ? c->perm_capacity : 1, sizeof(*t->p));
	t->p_hash = malloc(psize * sizeof(uint32_t));
	t->hosts = hc_new(c->capacity);
	/* hosts holding permissions: no more than bindings, nor permissions */
	t->perm_hosts = hc_new(c->perm_capacity && c->perm_capacity < c->capacity ? c->perm_capacity
										: c->perm_capacity ? c->capacity : 1);
	if (!t->b || !t->in_hash || !t->ext_hash || !t->p || !t->p_hash || !t->hosts ||
	    !t->perm_hosts) {
		bind_table_free(t);
		return NULL;
	}
	memset(t->in_hash, 0xff, hsize * sizeof(uint32_t));
	memset(t->ext_hash, 0xff, hsize * sizeof(uint32_t));
	memset(t->p_hash, 0xff, psize * sizeof(uint32_t));
	memset(t->wheel, 0xff, sizeof(t->wheel));
	for (uint32_t i = 0; i < c->capacity; i++) {
		t->b[i].kind = KIND_FREE;
		t->b[i].in_next = i + 1 < c->capacity ? i + 1 : BIND_NIL;
	}
	t->free_head = 0;
	t->p_free = BIND_NIL;
	for (uint32_t i = c->perm_capacity; i-- > 0;) {
		t->p[i].bnext = t->p_free;
		t->p_free = i;
	}
	if (getrandom(&t->seed, sizeof(t->seed), 0) != sizeof(t->seed))
		t->seed = 0x2545f491u ^ now;
	t->next_id = 1;
	t->wheel_now = now;
	return t;
}

void bind_set_policy(struct bind_table *t, const uint32_t timeout[BT_NCLASS],
		     enum bind_filtering filtering)
{
	memcpy(t->c.timeout, timeout, sizeof(t->c.timeout));
	t->c.filtering = filtering;
	if (t->chg)
		t->chg(t->chg_arg, NULL);
}

void bind_set_perm_per_host(struct bind_table *t, uint32_t n)
{
	t->c.perm_per_host = n;
}

void bind_table_free(struct bind_table *t)
{
	if (!t)
		return;
	free(t->b);
	free(t->in_hash);
	free(t->ext_hash);
	free(t->p);
	free(t->p_hash);
	hc_free(t->hosts);
	hc_free(t->perm_hosts);
	free(t);
}

static uint32_t idx_of(const struct bind_table *t, const struct binding *b)
{
	return (uint32_t)(b - t->b);
}

struct binding *bind_lookup_in(struct bind_table *t, uint8_t proto, uint8_t in_realm,
			       struct endpoint in, uint8_t ext_realm)
{
	for (uint32_t i = t->in_hash[in_hash(t, proto, in_realm, in, ext_realm)]; i != BIND_NIL;
	     i = t->b[i].in_next) {
		struct binding *b = &t->b[i];
		if (b->in.addr == in.addr && b->in.port == in.port && b->proto == proto &&
		    b->in_realm == in_realm && b->ext_realm == ext_realm)
			return b;
	}
	return NULL;
}

struct binding *bind_lookup_ext(struct bind_table *t, uint8_t proto, uint8_t ext_realm,
				struct endpoint ext)
{
	for (uint32_t i = t->ext_hash[ext_hash(t, proto, ext_realm, ext)]; i != BIND_NIL;
	     i = t->b[i].ext_next) {
		struct binding *b = &t->b[i];
		if (b->ext.addr == ext.addr && b->ext.port == ext.port && b->proto == proto &&
		    b->ext_realm == ext_realm)
			return b;
	}
	return NULL;
}

/* ---- timer wheel ---- */

static enum bind_tclass tclass_of(const struct binding *b)
{
	if (b->proto == IPPROTO_TCP) {
		bool est = (b->tcp & (BTCP_SYN_OUT | BTCP_SYN_IN)) == (BTCP_SYN_OUT | BTCP_SYN_IN) &&
			   !(b->tcp & BTCP_RST) &&
			   (b->tcp & (BTCP_FIN_OUT | BTCP_FIN_IN)) != (BTCP_FIN_OUT | BTCP_FIN_IN);
		return est ? BT_TCP_EST : BT_TCP_TRANS;
	}
	if (b->proto == IPPROTO_ICMP)
		return BT_ICMP;
	return BT_UDP;
}

uint32_t bind_deadline(const struct bind_table *t, const struct binding *b)
{
	switch (b->kind) {
	case BIND_STATIC:
		return NEVER;
	case BIND_MANAGED:
		return b->deadline;
	default: {
		uint64_t d = (uint64_t)b->last_used + t->c.timeout[tclass_of(b)];
		return d >= NEVER ? NEVER - 1 : (uint32_t)d;
	}
	}
}

static void wheel_unlink(struct bind_table *t, struct binding *b)
{
	uint32_t i = idx_of(t, b);

	if (b->wheel_slot == BIND_NO_SLOT)
		return;
	if (b->wheel_next == i) {
		t->wheel[b->wheel_slot] = BIND_NIL;
	} else {
		t->b[b->wheel_prev].wheel_next = b->wheel_next;
		t->b[b->wheel_next].wheel_prev = b->wheel_prev;
		if (t->wheel[b->wheel_slot] == i)
			t->wheel[b->wheel_slot] = b->wheel_next;
	}
	b->wheel_slot = BIND_NO_SLOT;
}

/* Put b in the slot of deadline d, seen from second `from`. */
static void wheel_place(struct bind_table *t, struct binding *b, uint32_t d, uint32_t from)
{
	uint32_t i = idx_of(t, b), delta, slot, head;

	if (d == NEVER)
		return;
	delta = d > from ? d - from : 1;
	if (delta >= WHEEL_SLOTS)
		delta = WHEEL_SLOTS - 1;
	slot = (from + delta) & WHEEL_MASK;
	head = t->wheel[slot];
	if (head == BIND_NIL) {
		b->wheel_next = b->wheel_prev = i;
		t->wheel[slot] = i;
	} else {
		struct binding *h = &t->b[head];
		b->wheel_next = head;
		b->wheel_prev = h->wheel_prev;
		t->b[h->wheel_prev].wheel_next = i;
		h->wheel_prev = i;
	}
	b->wheel_slot = (uint16_t)slot;
}

/* ---- insert / remove ---- */

static struct binding *insert(struct bind_table *t, enum bind_kind kind, uint8_t proto,
			      uint8_t in_realm, struct endpoint in, uint8_t ext_realm,
			      struct endpoint ext, uint32_t now, bool alias, int *err)
{
	uint32_t i, hi, he;
	struct binding *b;

	if (bind_lookup_in(t, proto, in_realm, in, ext_realm) ||
	    (!alias && bind_lookup_ext(t, proto, ext_realm, ext))) {
		*err = -EEXIST;
		return NULL;
	}
	if (t->free_head == BIND_NIL) {
		*err = -ENOSPC;
		return NULL;
	}
	i = t->free_head;
	b = &t->b[i];
	t->free_head = b->in_next;
	memset(b, 0, sizeof(*b));
	b->kind = (uint8_t)kind;
	b->proto = proto;
	b->in_realm = in_realm;
	b->ext_realm = ext_realm;
	b->in = in;
	b->ext = ext;
	b->last_used = now;
	b->deadline = NEVER;
	b->perm_head = BIND_NIL;
	b->ext_next = BIND_NIL;
	b->wheel_slot = BIND_NO_SLOT;
	b->flags = alias ? BF_ALIAS : 0;
	b->id = t->next_id++;
	if (t->next_id == 0)
		t->next_id = 1;
	hi = in_hash(t, proto, in_realm, in, ext_realm);
	b->in_next = t->in_hash[hi];
	t->in_hash[hi] = i;
	if (!alias) {
		he = ext_hash(t, proto, ext_realm, ext);
		b->ext_next = t->ext_hash[he];
		t->ext_hash[he] = i;
	}
	wheel_place(t, b, bind_deadline(t, b), t->wheel_now);
	t->count++;
	t->count_kind[kind]++;
	if (kind == BIND_DYNAMIC) {
		host_inc(t, b);
		if (t->obs)
			t->obs(t->obs_arg, b, false);
	}
	return b;
}

struct binding *bind_insert(struct bind_table *t, enum bind_kind kind, uint8_t proto,
			    uint8_t in_realm, struct endpoint in, uint8_t ext_realm,
			    struct endpoint ext, uint32_t now, int *err)
{
	return insert(t, kind, proto, in_realm, in, ext_realm, ext, now, false, err);
}

struct binding *bind_insert_alias(struct bind_table *t, uint8_t proto, uint8_t in_realm,
				  struct endpoint in, uint8_t ext_realm, struct endpoint ext,
				  uint32_t now, int *err)
{
	return insert(t, BIND_MANAGED, proto, in_realm, in, ext_realm, ext, now, true, err);
}

void bind_set_kind(struct bind_table *t, struct binding *b, enum bind_kind k)
{
	bool was = b->kind == BIND_DYNAMIC;

	if (was && k != BIND_DYNAMIC) {
		if (t->obs)
			t->obs(t->obs_arg, b, true);
		host_dec(t, b);
	} else if (!was && k == BIND_DYNAMIC) {
		host_inc(t, b);
	}
	t->count_kind[b->kind]--;
	t->count_kind[k]++;
	b->kind = (uint8_t)k;
	bind_changed(t, b);
	if (!was && k == BIND_DYNAMIC && t->obs)
		t->obs(t->obs_arg, b, false);
	wheel_unlink(t, b);
	wheel_place(t, b, bind_deadline(t, b), t->wheel_now);
}

static void perm_free_all(struct bind_table *t, struct binding *b);

void bind_remove(struct bind_table *t, struct binding *b)
{
	uint32_t i = idx_of(t, b), *pp;

	if (b->kind == KIND_FREE)
		return;
	if (b->kind == BIND_DYNAMIC && t->obs)
		t->obs(t->obs_arg, b, true);
	bind_changed(t, b);
	for (pp = &t->in_hash[in_hash(t, b->proto, b->in_realm, b->in, b->ext_realm)];
	     *pp != BIND_NIL; pp = &t->b[*pp].in_next)
		if (*pp == i) {
			*pp = b->in_next;
			break;
		}
	for (pp = &t->ext_hash[ext_hash(t, b->proto, b->ext_realm, b->ext)];
	     !(b->flags & BF_ALIAS) && *pp != BIND_NIL; pp = &t->b[*pp].ext_next)
		if (*pp == i) {
			*pp = b->ext_next;
			break;
		}
	wheel_unlink(t, b);
	perm_free_all(t, b);
	t->count--;
	t->count_kind[b->kind]--;
	if (b->kind == BIND_DYNAMIC)
		host_dec(t, b);
	b->kind = KIND_FREE;
	b->in_next = t->free_head;
	t->free_head = i;
}

void bind_tcp_track(struct bind_table *t, struct binding *b, uint8_t tcp_flags, bool dir_out,
		    uint32_t now)
{
	enum { FIN = 0x01, SYN = 0x02, RST = 0x04 };
	enum bind_tclass before = tclass_of(b), after;

	if (tcp_flags & RST) {
		b->tcp |= BTCP_RST;
	} else if (tcp_flags & SYN) {
		if (b->tcp & (BTCP_RST | BTCP_FIN_OUT | BTCP_FIN_IN))
			b->tcp = 0; /* a new connection on the same mapping */
		b->tcp |= dir_out ? BTCP_SYN_OUT : BTCP_SYN_IN;
	}
	if (tcp_flags & FIN)
		b->tcp |= dir_out ? BTCP_FIN_OUT : BTCP_FIN_IN;
	after = tclass_of(b);
	b->last_used = now;
	if (after != before && t->c.timeout[after] < t->c.timeout[before] && b->kind == BIND_DYNAMIC) {
		wheel_unlink(t, b);
		wheel_place(t, b, bind_deadline(t, b), t->wheel_now);
	}
}

void bind_set_deadline(struct bind_table *t, struct binding *b, uint32_t deadline)
{
	b->deadline = deadline;
	wheel_unlink(t, b);
	wheel_place(t, b, bind_deadline(t, b), t->wheel_now);
}

unsigned bind_expire(struct bind_table *t, uint32_t now, bind_expire_cb cb, void *arg)
{
	unsigned expired = 0;
	uint32_t steps = now - t->wheel_now;

	if ((int32_t)steps <= 0)
		return 0;
	if (steps > WHEEL_SLOTS)
		steps = WHEEL_SLOTS; /* every slot once is every binding once */
	for (uint32_t k = 1; k <= steps; k++) {
		uint32_t s = (now - steps + k), slot = s & WHEEL_MASK, i;

		/* detach the slot, then expire or re-place each member */
		while ((i = t->wheel[slot]) != BIND_NIL) {
			struct binding *b = &t->b[i];
			uint32_t d;

			wheel_unlink(t, b);
			d = bind_deadline(t, b);
			if (d <= now) {
				if (cb)
					cb(b, arg);
				bind_remove(t, b);
				expired++;
			} else {
				wheel_place(t, b, d, s);
			}
		}
	}
	t->wheel_now = now;
	return expired;
}

/* ---- filtering permissions ---- */

/* The remote as a permission stores it: the address alone under
 * address-dependent filtering, and for ICMP, whose "port" is the query id
 * natd itself rewrites. */
static struct endpoint perm_key(const struct bind_table *t, const struct binding *b,
				struct endpoint r)
{
	if (t->c.filtering == FILTER_ADF || b->proto == IPPROTO_ICMP)
		r.port = 0;
	return r;
}

static uint32_t perm_find(const struct bind_table *t, uint32_t owner, struct endpoint r)
{
	for (uint32_t i = t->p_hash[perm_hash(t, owner, r)]; i != BIND_NIL; i = t->p[i].hnext)
		if (t->p[i].owner == owner && ep_eq(t->p[i].r, r))
			return i;
	return BIND_NIL;
}

static void perm_unhash(struct bind_table *t, uint32_t pi)
{
	uint32_t *pp = &t->p_hash[perm_hash(t, t->p[pi].owner, t->p[pi].r)];

	for (; *pp != BIND_NIL; pp = &t->p[*pp].hnext)
		if (*pp == pi) {
			*pp = t->p[pi].hnext;
			return;
		}
}

/* Return permission pi of binding b to the free list. */
static void perm_put(struct bind_table *t, const struct binding *b, uint32_t pi)
{
	perm_unhash(t, pi);
	t->p[pi].bnext = t->p_free;
	t->p_free = pi;
	hc_dec(t->perm_hosts, b->in_realm, b->in.addr);
}

static void perm_free_all(struct bind_table *t, struct binding *b)
{
	uint32_t pi = b->perm_head;

	while (pi != BIND_NIL) {
		uint32_t next = t->p[pi].bnext;
		perm_put(t, b, pi);
		pi = next;
	}
	b->perm_head = BIND_NIL;
}

static bool perm_live(const struct bind_table *t, const struct binding *b, const struct perm *p,
		      uint32_t now)
{
	return (uint64_t)p->last_used + t->c.timeout[tclass_of(b)] > now;
}

/* Whether inbound traffic to b is checked against its permissions: not
 * for static forwards and terminating managed bindings, which take
 * unsolicited traffic (their rules, if any, are applied by xlate). */
static bool perm_consulted(const struct bind_table *t, const struct binding *b)
{
	return t->c.filtering != FILTER_EIF && b->kind != BIND_STATIC &&
	       !(b->kind == BIND_MANAGED && !(b->flags & BF_ORIG_ONLY));
}

bool bind_filters(const struct bind_table *t, const struct binding *b)
{
	return perm_consulted(t, b) ||
	       (b->rules && (b->rules->nfilters || b->rules->has_peer || b->rules->drop_default));
}

int bind_permit(struct bind_table *t, struct binding *b, struct endpoint r, uint32_t now)
{
	uint32_t owner = idx_of(t, b), pi, *pp, h;

	/* a permission nobody would consult would only take a record */
	if (!perm_consulted(t, b))
		return 0;
	r = perm_key(t, b, r);
	pi = perm_find(t, owner, r);
	if (pi != BIND_NIL) {
		t->p[pi].last_used = now;
		return 0;
	}
	/* A new remote: first reclaim this binding's expired permissions, so a
	 * long-lived binding talking to many peers does not hoard records. */
	for (pp = &b->perm_head; *pp != BIND_NIL;) {
		uint32_t cur = *pp;
		if (!perm_live(t, b, &t->p[cur], now)) {
			*pp = t->p[cur].bnext;
			perm_put(t, b, cur);
		} else {
			pp = &t->p[cur].bnext;
		}
	}
	/* One inside host's share of the pool (table.permissions_per_host):
	 * a host talking to a flood of remotes, or made to, cannot take the
	 * records every other host needs for its replies. */
	if (t->c.perm_per_host && hc_get(t->perm_hosts, b->in_realm, b->in.addr) >=
					  t->c.perm_per_host)
		return -EDQUOT;
	if ((pi = t->p_free) == BIND_NIL)
		return -ENOSPC; /* full: replies from this remote will be filtered */
	if (hc_inc(t->perm_hosts, b->in_realm, b->in.addr) < 0)
		return -ENOSPC; /* cannot happen: a host with permissions has a binding */
	t->p_free = t->p[pi].bnext;
	t->p[pi].owner = owner;
	t->p[pi].r = r;
	t->p[pi].last_used = now;
	t->p[pi].bnext = b->perm_head;
	b->perm_head = pi;
	h = perm_hash(t, owner, r);
	t->p[pi].hnext = t->p_hash[h];
	t->p_hash[h] = pi;
	return 0;
}

bool bind_permitted(struct bind_table *t, const struct binding *b, struct endpoint r, uint32_t now)
{
	uint32_t pi;

	if (!perm_consulted(t, b))
		return true;
	pi = perm_find(t, idx_of(t, b), perm_key(t, b, r));
	return pi != BIND_NIL && perm_live(t, b, &t->p[pi], now);
}

/* ---- introspection ---- */

void bind_set_observer(struct bind_table *t, bind_observer_fn fn, void *arg)
{
	t->obs = fn;
	t->obs_arg = arg;
}

void bind_set_change_hook(struct bind_table *t, bind_change_fn fn, void *arg)
{
	t->chg = fn;
	t->chg_arg = arg;
}

void bind_changed(struct bind_table *t, struct binding *b)
{
	if (t->chg)
		t->chg(t->chg_arg, b);
}

uint32_t bind_index(const struct bind_table *t, const struct binding *b)
{
	return idx_of(t, b);
}

struct binding *bind_at(struct bind_table *t, uint32_t idx)
{
	return idx < t->c.capacity && t->b[idx].kind != KIND_FREE ? &t->b[idx] : NULL;
}

void bind_reserve_ids(struct bind_table *t, uint32_t id)
{
	if (id >= t->next_id && id != UINT32_MAX)
		t->next_id = id + 1;
}

void bind_set_id(struct bind_table *t, struct binding *b, uint32_t id)
{
	b->id = id;
	bind_reserve_ids(t, id);
}

uint32_t bind_count(const struct bind_table *t)
{
	return t->count;
}

uint32_t bind_count_kind(const struct bind_table *t, enum bind_kind k)
{
	return k < BIND_NKIND ? t->count_kind[k] : 0;
}

uint32_t bind_capacity(const struct bind_table *t)
{
	return t->c.capacity;
}

size_t bind_memory(const struct bind_table *t)
{
	return sizeof(*t) + (size_t)t->c.capacity * sizeof(struct binding) +
	       2 * ((size_t)t->hmask + 1) * sizeof(uint32_t) +
	       (size_t)(t->c.perm_capacity ? t->c.perm_capacity : 1) * sizeof(struct perm) +
	       ((size_t)t->pmask + 1) * sizeof(uint32_t) +
	       hc_memory(t->hosts) + hc_memory(t->perm_hosts);
}

struct binding *bind_next(struct bind_table *t, uint32_t *cursor)
{
	while (*cursor < t->c.capacity) {
		struct binding *b = &t->b[(*cursor)++];
		if (b->kind != KIND_FREE)
			return b;
	}
	return NULL;
}
