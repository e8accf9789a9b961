/* frag: translation of IPv4 fragments, in order and out of order.
 *
 * Only the first fragment carries ports, so translating a fragmented
 * datagram means remembering, per datagram {arriving realm, src, dst,
 * proto, IP id}, the addresses its first fragment was rewritten to, and
 * applying them to the rest. Non-first fragments that arrive before the
 * first are copied into a bounded set of buffer slots until it comes (or
 * until the fragment timeout, when they are dropped and counted). All
 * storage is fixed at start-up.
 *
 * Fair shares: records and held fragments are counted per source address
 * (the sender of the fragments, as it arrived, in its realm), and one
 * source may hold at most datagrams_per_source records and
 * slots_per_source held fragments (slots are all slot_bytes long, so that
 * also bounds its bytes). A source flooding fragments, first or not, with
 * ever new IP ids fills its own share and nobody else's.
 */
#ifndef NATD_FRAG_H
#define NATD_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct frag_conf {
	uint32_t datagrams;  /* datagram records */
	uint32_t slots;      /* buffered out-of-order fragments */
	uint32_t slot_bytes; /* largest fragment a slot holds */
	uint32_t timeout;    /* seconds */
	uint32_t datagrams_per_source; /* records one source may hold; 0: no limit */
	uint32_t slots_per_source;     /* held fragments one source may have; 0: no limit */
};

struct frag_key {
	uint32_t src, dst; /* network order, as they arrived */
	uint16_t id;       /* network order */
	uint8_t proto;
	uint8_t realm;     /* arriving realm */
};

/* What the first fragment did: the new addresses. */
struct frag_xlat {
	uint32_t new_src, new_dst;
};

struct frag_table;

struct frag_table *frag_table_new(const struct frag_conf *c);
void frag_table_free(struct frag_table *t);

/* After translating a first fragment: remember its result. 0, -ENOSPC
 * (table full), -EDQUOT (k->src holds datagrams_per_source records). */
int frag_record(struct frag_table *t, const struct frag_key *k, const struct frag_xlat *x,
		uint32_t now);

/* For a non-first fragment: the recorded result, or NULL. */
const struct frag_xlat *frag_lookup(struct frag_table *t, const struct frag_key *k,
				    uint32_t now);

/* Buffer a copy of a non-first fragment whose first has not been seen.
 * 0, -ENOSPC (no slot), -EMSGSIZE (larger than a slot), -EDQUOT (k->src
 * has slots_per_source held already). */
int frag_hold(struct frag_table *t, const struct frag_key *k, const uint8_t *pkt,
	      size_t len, uint32_t now);

/* Release the held fragments of k one by one: returns a pointer to the
 * next one's bytes (valid until the next call) with *len set, or NULL when
 * none is left. */
uint8_t *frag_release(struct frag_table *t, const struct frag_key *k, size_t *len);

/* Drop expired records and held fragments; returns held fragments dropped. */
unsigned frag_expire(struct frag_table *t, uint32_t now);

unsigned frag_held(const struct frag_table *t);

/* Records and held fragments of source {realm, src} now. */
uint32_t frag_source_records(const struct frag_table *t, uint8_t realm, uint32_t src);
uint32_t frag_source_held(const struct frag_table *t, uint8_t realm, uint32_t src);

/* Change the per-source shares (a reload); what a source holds above a
 * lowered share stays until it expires. */
void frag_set_shares(struct frag_table *t, uint32_t datagrams_per_source,
		     uint32_t slots_per_source);

#endif
