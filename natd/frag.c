/* frag: fragment records and held out-of-order fragments (see frag.h).
 *
 * Records all share one lifetime, so they live in a ring in creation order:
 * the oldest is always at the tail and expiry pops from there, never
 * scanning. A hash over the key finds a record from a fragment. Held
 * fragments sit in a small array of fixed-size slots (a few dozen), scanned
 * linearly when a first fragment releases them. Two hostcount tables keep
 * the per-source counts of records and of held fragments exact: every
 * path that adds or frees one (record, pop, re-record of an expired key,
 * hold, release, expiry) adjusts them.
 */
#include "frag.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hostcount.h"

#define NIL UINT32_MAX

struct frec {
	struct frag_key k;
	struct frag_xlat x;
	uint32_t expires;
	uint32_t hnext;
};

struct fslot {
	struct frag_key k;
	uint32_t expires;
	uint32_t len;
	bool used;
	uint8_t *data;
};

struct frag_table {
	struct frag_conf c;
	struct frec *rec;   /* ring of c.datagrams */
	uint32_t head, tail, nrec;
	uint32_t *hash, hmask, seed;
	struct fslot *slot;
	uint8_t *slot_mem;
	unsigned nheld;
	struct hostcount *rec_src, *held_src; /* per-source counts */
};

static bool key_eq(const struct frag_key *a, const struct frag_key *b)
{
	return a->src == b->src && a->dst == b->dst && a->id == b->id && a->proto == b->proto &&
	       a->realm == b->realm;
}

static uint32_t key_hash(const struct frag_table *t, const struct frag_key *k)
{
	uint64_t h = ((uint64_t)k->src << 32 | k->dst) ^ t->seed;

	h ^= (uint64_t)k->id << 16 | (uint64_t)k->proto << 8 | k->realm;
	h *= 0x9e3779b97f4a7c15ull;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return (uint32_t)h & t->hmask;
}

struct frag_table *frag_table_new(const struct frag_conf *c)
{
	struct frag_table *t = calloc(1, sizeof(*t));
	uint32_t hsize = 1;

	if (!t || c->datagrams == 0)
		goto fail;
	t->c = *c;
	while (hsize < c->datagrams)
		hsize <<= 1;
	t->hmask = hsize - 1;
	t->rec = calloc(c->datagrams, sizeof(*t->rec));
	t->hash = malloc(hsize * sizeof(uint32_t));
	t->slot = calloc(c->slots ? c->slots : 1, sizeof(*t->slot));
	t->slot_mem = malloc((size_t)(c->slots ? c->slots : 1) * (c->slot_bytes ? c->slot_bytes : 1));
	t->rec_src = hc_new(c->datagrams);
	t->held_src = hc_new(c->slots ? c->slots : 1);
	if (!t->rec || !t->hash || !t->slot || !t->slot_mem || !t->rec_src || !t->held_src)
		goto fail;
	memset(t->hash, 0xff, hsize * sizeof(uint32_t));
	for (uint32_t i = 0; i < c->slots; i++)
		t->slot[i].data = t->slot_mem + (size_t)i * c->slot_bytes;
	if (getrandom(&t->seed, sizeof(t->seed), 0) != sizeof(t->seed))
		t->seed = 0x51ed270bu;
	return t;
fail:
	frag_table_free(t);
	return NULL;
}

void frag_table_free(struct frag_table *t)
{
	if (!t)
		return;
	free(t->rec);
	free(t->hash);
	free(t->slot);
	free(t->slot_mem);
	hc_free(t->rec_src);
	hc_free(t->held_src);
	free(t);
}

static uint32_t rec_find(const struct frag_table *t, const struct frag_key *k)
{
	for (uint32_t i = t->hash[key_hash(t, k)]; i != NIL; i = t->rec[i].hnext)
		if (key_eq(&t->rec[i].k, k))
			return i;
	return NIL;
}

/* Take record i out of the hash (a no-op if it is not there: then it was
 * uncounted already). */
static void rec_unhash(struct frag_table *t, uint32_t i)
{
	uint32_t *pp = &t->hash[key_hash(t, &t->rec[i].k)];

	for (; *pp != NIL; pp = &t->rec[*pp].hnext)
		if (*pp == i) {
			*pp = t->rec[i].hnext;
			hc_dec(t->rec_src, t->rec[i].k.realm, t->rec[i].k.src);
			return;
		}
}

static void rec_pop_tail(struct frag_table *t)
{
	rec_unhash(t, t->tail);
	t->tail = (t->tail + 1) % t->c.datagrams;
	t->nrec--;
}

int frag_record(struct frag_table *t, const struct frag_key *k, const struct frag_xlat *x,
		uint32_t now)
{
	uint32_t i = rec_find(t, k), h;

	if (i != NIL && t->rec[i].expires > now) {
		/* a retransmitted first fragment: same datagram */
		t->rec[i].x = *x;
		return 0;
	}
	if (i != NIL)
		rec_unhash(t, i); /* expired, not yet popped: its ring slot goes stale */
	if (t->nrec == t->c.datagrams) {
		if (t->rec[t->tail].expires > now)
			return -ENOSPC;
		rec_pop_tail(t);
	}
	if (t->c.datagrams_per_source &&
	    hc_get(t->rec_src, k->realm, k->src) >= t->c.datagrams_per_source)
		return -EDQUOT;
	if (hc_inc(t->rec_src, k->realm, k->src) < 0)
		return -ENOSPC; /* cannot happen: no more sources than records */
	i = t->head;
	t->head = (t->head + 1) % t->c.datagrams;
	t->nrec++;
	t->rec[i].k = *k;
	t->rec[i].x = *x;
	t->rec[i].expires = now + t->c.timeout;
	h = key_hash(t, k);
	t->rec[i].hnext = t->hash[h];
	t->hash[h] = i;
	return 0;
}

const struct frag_xlat *frag_lookup(struct frag_table *t, const struct frag_key *k, uint32_t now)
{
	uint32_t i = rec_find(t, k);

	if (i == NIL || t->rec[i].expires <= now)
		return NULL;
	return &t->rec[i].x;
}

int frag_hold(struct frag_table *t, const struct frag_key *k, const uint8_t *pkt, size_t len,
	      uint32_t now)
{
	if (len > t->c.slot_bytes)
		return -EMSGSIZE;
	if (t->c.slots_per_source &&
	    hc_get(t->held_src, k->realm, k->src) >= t->c.slots_per_source)
		return -EDQUOT;
	for (uint32_t i = 0; i < t->c.slots; i++) {
		struct fslot *s = &t->slot[i];
		if (s->used)
			continue;
		if (hc_inc(t->held_src, k->realm, k->src) < 0)
			return -ENOSPC; /* cannot happen: no more sources than slots */
		s->used = true;
		s->k = *k;
		s->len = (uint32_t)len;
		s->expires = now + t->c.timeout;
		memcpy(s->data, pkt, len);
		t->nheld++;
		return 0;
	}
	return -ENOSPC;
}

uint8_t *frag_release(struct frag_table *t, const struct frag_key *k, size_t *len)
{
	if (!t->nheld)
		return NULL;
	for (uint32_t i = 0; i < t->c.slots; i++) {
		struct fslot *s = &t->slot[i];
		if (s->used && key_eq(&s->k, k)) {
			s->used = false; /* data stays intact until the next frag_hold */
			t->nheld--;
			hc_dec(t->held_src, s->k.realm, s->k.src);
			*len = s->len;
			return s->data;
		}
	}
	return NULL;
}

unsigned frag_expire(struct frag_table *t, uint32_t now)
{
	unsigned dropped = 0;

	while (t->nrec && t->rec[t->tail].expires <= now)
		rec_pop_tail(t);
	for (uint32_t i = 0; t->nheld && i < t->c.slots; i++) {
		struct fslot *s = &t->slot[i];
		if (s->used && s->expires <= now) {
			s->used = false;
			t->nheld--;
			hc_dec(t->held_src, s->k.realm, s->k.src);
			dropped++;
		}
	}
	return dropped;
}

unsigned frag_held(const struct frag_table *t)
{
	return t->nheld;
}

uint32_t frag_source_records(const struct frag_table *t, uint8_t realm, uint32_t src)
{
	return hc_get(t->rec_src, realm, src);
}

uint32_t frag_source_held(const struct frag_table *t, uint8_t realm, uint32_t src)
{
	return hc_get(t->held_src, realm, src);
}

void frag_set_shares(struct frag_table *t, uint32_t datagrams_per_source,
		     uint32_t slots_per_source)
{
	t->c.datagrams_per_source = datagrams_per_source;
	t->c.slots_per_source = slots_per_source;
}
