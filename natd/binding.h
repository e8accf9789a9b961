/* binding: the single table behind dynamic NAPT, static forwards and (later)
 * bindings requested over the control channel.
 *
 * A binding pairs an endpoint E ("in") in realm R1 with an allocated
 * endpoint M ("ext") in realm R2, for one protocol. Packets from R2 to M go
 * to E; packets from E into R2 leave from M. It is endpoint-independent
 * (RFC 4787 REQ-1): the remote is not part of either key.
 *
 * Storage is a fixed array sized from the config, so nothing is allocated
 * after start-up. Two chained hash indexes (by the in-side key
 * {proto, R1, E, R2} and by the ext-side key {proto, R2, M}) give O(1)
 * lookup from both sides; the chains are array indexes, not pointers.
 * Hashing is keyed with a random seed so remote peers cannot aim at one
 * bucket.
 *
 * Expiry runs on a timer wheel of one-second slots driven by the event
 * loop. The packet path only stores last_used; when a slot comes due each
 * binding in it is either expired (deadline reached) or moved to the slot of
 * its real deadline. So a busy binding costs nothing per packet and an idle
 * one is visited about once per timeout.
 *
 * Filtering (RFC 4787 section 5): with address(-and-port)-dependent
 * filtering each binding remembers the remotes it has sent to, in a second
 * fixed pool of "permission" records on a per-binding list, found through
 * their own hash index.
 */
#ifndef NATD_BINDING_H
#define NATD_BINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

#define BIND_NIL UINT32_MAX

enum bind_kind {
	BIND_DYNAMIC, /* created by an inside-initiated flow */
	BIND_STATIC,  /* from the config; never expires */
	BIND_MANAGED, /* requested over the control channel; has a lease */
	BIND_NKIND
};

/* Timeout classes (seconds come from the config). */
enum bind_tclass {
	BT_UDP,
	BT_TCP_EST,
	BT_TCP_TRANS,
	BT_ICMP,
	BT_NCLASS
};

enum bind_filtering {
	FILTER_EIF,  /* endpoint-independent */
	FILTER_ADF,  /* address-dependent */
	FILTER_APDF, /* address-and-port-dependent */
};

/* TCP tracking bits (RFC 5382 / RFC 7857 section 2.4). */
#define BTCP_SYN_OUT 0x01
#define BTCP_SYN_IN 0x02
#define BTCP_FIN_OUT 0x04
#define BTCP_FIN_IN 0x08
#define BTCP_RST 0x10

struct bind_rules;

/* Binding flags. */
#define BF_ALIAS 0x01     /* indexed by its in side only: shares another's M */
#define BF_ORIG_ONLY 0x02 /* managed, originating only: inbound as for a dynamic one */

struct binding {
	uint32_t in_next, ext_next;     /* hash chains */
	uint32_t wheel_prev, wheel_next;
	uint32_t perm_head;             /* first permission record */
	uint32_t last_used;             /* seconds, monotonic */
	uint32_t deadline;              /* BIND_MANAGED: lease end */
	uint32_t id;                    /* stable id for logs and the control channel */
	struct endpoint in, ext;
	uint16_t wheel_slot;            /* BIND_NO_SLOT: on no wheel slot */
	uint8_t in_realm, ext_realm;
	uint8_t proto;                  /* IPPROTO_UDP/TCP/ICMP */
	uint8_t kind;                   /* enum bind_kind; 0xff when free */
	uint8_t tcp;                    /* BTCP_* */
	uint8_t flags;                  /* BF_* */
	/* a managed binding's conditions (the latch is written on the packet
	 * path), in the manager's record of its grant, which the manager finds
	 * from here; NULL for the others */
	struct bind_rules *rules;
	uint64_t pkts_out, pkts_in, bytes_out, bytes_in;
};
#define BIND_NO_SLOT UINT16_MAX

struct bind_conf {
	uint32_t capacity;          /* bindings */
	uint32_t perm_capacity;     /* filtering permission records */
	uint32_t perm_per_host;     /* of them one inside host may hold; 0: no limit */
	uint32_t timeout[BT_NCLASS];
	enum bind_filtering filtering;
};

struct bind_table;

/* Called for each binding about to be freed by expiry, before it goes. */
typedef void (*bind_expire_cb)(struct binding *b, void *arg);

struct bind_table *bind_table_new(const struct bind_conf *c, uint32_t now);
/* Change the timeouts and the filtering mode of a running table (a
 * configuration reload; the capacities stay). A binding's deadline follows
 * the new timeouts from its next visit of the wheel or its next refresh. */
void bind_set_policy(struct bind_table *t, const uint32_t timeout[BT_NCLASS],
		     enum bind_filtering filtering);
/* Change the permissions one inside host may hold (a reload; 0: no limit).
 * Permissions held above a lowered limit stay until they expire. */
void bind_set_perm_per_host(struct bind_table *t, uint32_t n);
void bind_table_free(struct bind_table *t);

struct binding *bind_lookup_in(struct bind_table *t, uint8_t proto, uint8_t in_realm,
			       struct endpoint in, uint8_t ext_realm);
struct binding *bind_lookup_ext(struct bind_table *t, uint8_t proto, uint8_t ext_realm,
				struct endpoint ext);

/* Insert a binding. Returns it, or NULL with *err = -ENOSPC (table full) or
 * -EEXIST (either key already bound). */
struct binding *bind_insert(struct bind_table *t, enum bind_kind kind, uint8_t proto,
			    uint8_t in_realm, struct endpoint in, uint8_t ext_realm,
			    struct endpoint ext, uint32_t now, int *err);

/* An alias: a binding found only by its in side ({proto, R1, E, R2}), whose
 * packets leave from ext, which another binding owns and is found by. */
struct binding *bind_insert_alias(struct bind_table *t, uint8_t proto, uint8_t in_realm,
				  struct endpoint in, uint8_t ext_realm, struct endpoint ext,
				  uint32_t now, int *err);

/* Change a binding's kind (a dynamic binding adopted by the manager). */
void bind_set_kind(struct bind_table *t, struct binding *b, enum bind_kind k);

/* Unlink and free a binding (the caller releases its pool port). */
void bind_remove(struct bind_table *t, struct binding *b);

/* The packet path's refresh: O(1), no list moves. */
static inline void bind_touch(struct binding *b, uint32_t now)
{
	b->last_used = now;
}

/* Record a TCP flag seen on b (dir_out: from the in side). Re-slots the
 * binding when its timeout class shortens. */
void bind_tcp_track(struct bind_table *t, struct binding *b, uint8_t tcp_flags,
		    bool dir_out, uint32_t now);

/* Set a managed binding's lease end and re-slot it. */
void bind_set_deadline(struct bind_table *t, struct binding *b, uint32_t deadline);

/* When b expires given its kind, class and last use (UINT32_MAX: never). */
uint32_t bind_deadline(const struct bind_table *t, const struct binding *b);

/* Advance the wheel to now: expire what is due (cb first), re-slot the
 * rest. Returns the number expired. */
unsigned bind_expire(struct bind_table *t, uint32_t now, bind_expire_cb cb, void *arg);

/* Filtering. bind_permit records that b sent to remote r: 0 (recorded,
 * refreshed, or not needed: EIF, static and terminating managed bindings),
 * -EDQUOT (b's inside host holds perm_per_host permissions) or -ENOSPC
 * (the pool is full); either way replies from r will be filtered.
 * bind_permitted says whether an inbound packet from r may pass under the
 * table's filtering mode (always true for EIF and for static bindings). A
 * permission lives as long as the binding's timeout since last refreshed. */
int bind_permit(struct bind_table *t, struct binding *b, struct endpoint r, uint32_t now);
bool bind_permitted(struct bind_table *t, const struct binding *b, struct endpoint r,
		    uint32_t now);
/* Whether b admits only some remotes: its permissions are consulted
 * (dependent filtering) or its rules filter (remote filters, a single
 * peer, drop_default). */
bool bind_filters(const struct bind_table *t, const struct binding *b);

uint32_t bind_count(const struct bind_table *t);
uint32_t bind_count_kind(const struct bind_table *t, enum bind_kind k);
uint32_t bind_capacity(const struct bind_table *t);
/* Dynamic bindings the inside host {in_realm, addr} holds now (kept exact
 * on every insert, removal, expiry and change of kind). */
uint32_t bind_host_count(const struct bind_table *t, uint8_t in_realm, uint32_t addr);
/* Filtering permissions the bindings of inside host {in_realm, addr} hold. */
uint32_t bind_host_perms(const struct bind_table *t, uint8_t in_realm, uint32_t addr);
/* Bytes of memory the table holds (for the benchmark's per-binding figure). */
size_t bind_memory(const struct bind_table *t);

/* Persistence (persist.c). The observer hears of every dynamic binding
 * that comes (gone = false, after insertion or a change of kind to
 * dynamic) or goes (gone = true, before it is freed or changes kind), by
 * any path: the packet path, expiry, the manager taking its place. */
typedef void (*bind_observer_fn)(void *arg, const struct binding *b, bool gone);
void bind_set_observer(struct bind_table *t, bind_observer_fn fn, void *arg);
/* Give b the id it had before a restart; ids handed out later are above
 * every id given this way. */
void bind_set_id(struct bind_table *t, struct binding *b, uint32_t id);
/* Make the next ids handed out greater than id. */
void bind_reserve_ids(struct bind_table *t, uint32_t id);

/* A cache of decisions about bindings (the fast path) hears of every
 * binding that goes (bind_remove, by any path) or changes what it admits
 * (a change of kind, bind_changed()); b == NULL: all of them (the
 * filtering mode or the timeouts changed). */
typedef void (*bind_change_fn)(void *arg, struct binding *b);
void bind_set_change_hook(struct bind_table *t, bind_change_fn fn, void *arg);
/* Tell the hook that b's rules changed (the manager, after editing them). */
void bind_changed(struct bind_table *t, struct binding *b);
/* A binding's slot in the table, and the live binding in a slot (or NULL). */
uint32_t bind_index(const struct bind_table *t, const struct binding *b);
struct binding *bind_at(struct bind_table *t, uint32_t idx);

/* Iterate over live bindings: start with *cursor = 0; returns NULL at end. */
struct binding *bind_next(struct bind_table *t, uint32_t *cursor);

#endif
