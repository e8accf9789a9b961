/* manager: natd's address manager (docs/design.md, docs/glossary.md).
 *
 * Applications ask, through the control channel or PCP/NAT-PMP, for a
 * binding: an address M in realm R2 that reaches an endpoint E in realm R1
 * (terminating), the source address E's packets carry in R2 (originating),
 * or both. The manager checks the request against the client's policy,
 * allocates M from the right pool under the request's constraints, and
 * installs a BIND_MANAGED binding in the same table the datapath uses, with
 * a lease that its owner refreshes. Conditions (remote filters,
 * alternative targets by remote source, a single allowed peer) are
 * kept in a rule record hung off the binding and evaluated by xlate.c on
 * the inbound path. Alternative targets also get "alias" bindings (in-side
 * key only) so their own packets leave from the same M.
 *
 * Requests and replies use libcontrol's structs (libcontrol/msg.h), so the
 * control server, the PCP/NAT-PMP front-end and the tests speak one
 * language. Every function returns an NC_ST_* status and fills a reason;
 * nothing here touches a socket.
 */
#ifndef NATD_MANAGER_H
#define NATD_MANAGER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <libcontrol/msg.h>

#include "binding.h"
#include "realm.h"
#include "stats.h"

struct mgr;
struct xlate_ctx;

/* What a client may do (from the config's control.clients, or the
 * defaults for root and for PCP/NAT-PMP). */
struct mgr_policy {
	char name[64];
	bool admin;                 /* may touch anyone's bindings, list all */
	uint32_t realms;            /* bit r: may allocate in realm r (0 = none) */
	struct prefix prefixes[16]; /* endpoints E it may name; none = any */
	unsigned nprefixes;
	uint32_t quota;             /* bindings it may hold; 0 = unlimited */
	bool pcp_only_self;         /* PCP/NAT-PMP: E must be the sender's own address */
};

/* One requester: a control connection, or a PCP/NAT-PMP client address. */
struct mgr_client {
	char owner[64];                /* shown in LIST ("uid:1000", "tcp:proxyA", "pcp:10.1.0.10") */
	const struct mgr_policy *pol;
	uint32_t held;                 /* bindings it owns now */
};

struct mgr_conf {
	uint32_t default_lifetime; /* seconds, when a request names none */
	uint32_t max_lifetime;     /* longer requests are clamped */
};

/* Called on binding events (NC_EV_*) for watchers; item describes it. */
typedef void (*mgr_event_fn)(void *arg, uint8_t event, const struct nc_item *item);

struct mgr *mgr_new(const struct mgr_conf *c, struct xlate_ctx *x);
void mgr_free(struct mgr *m);
/* New lifetimes (a configuration reload): for requests from now on;
 * granted leases keep their deadlines. */
void mgr_set_conf(struct mgr *m, const struct mgr_conf *c);

uint64_t mgr_epoch(const struct mgr *m);
void mgr_set_event_cb(struct mgr *m, mgr_event_fn fn, void *arg);

/* Watchers of events came (+1) or went (-1): while there are none,
 * mgr_announce() costs a compare. */
void mgr_set_watching(struct mgr *m, int delta);

/* Announce event (NC_EV_CREATED, NC_EV_EXPIRED...) for a binding the
 * manager does not own (dynamic NAPT, static forwards), so that `natctl
 * watch` shows them come and go too. */
void mgr_announce(struct mgr *m, uint8_t event, const struct binding *b);

/* BIND: fill rep (status, id, allocated endpoint, lifetime). */
uint16_t mgr_bind(struct mgr *m, struct mgr_client *c, const struct nc_bind *req,
		  struct nc_bind_r *rep);
uint16_t mgr_refresh(struct mgr *m, struct mgr_client *c, const struct nc_refresh *req,
		     struct nc_refresh_r *rep);
uint16_t mgr_release(struct mgr *m, struct mgr_client *c, const struct nc_release *req,
		     struct nc_status *rep);
/* LIST: emit one item per binding the client may see; returns the count. */
uint32_t mgr_list(struct mgr *m, struct mgr_client *c, const struct nc_list *req,
		  void (*emit)(void *arg, const struct nc_item *it), void *arg);
/* The primary binding of c's own grant on in-key {proto, in_realm, e,
 * ext_realm} (e in network order), described into it: O(1), through the
 * binding table's hash. False when there is none, or it is another's. */
bool mgr_find_own(struct mgr *m, const struct mgr_client *c, uint8_t proto, uint8_t in_realm,
		  struct endpoint e, uint8_t ext_realm, struct nc_item *it);
/* Emit the primary binding of each of c's own grants (a walk of its
 * account, not of the table); returns the count. */
uint32_t mgr_each_own(struct mgr *m, const struct mgr_client *c,
		      void (*emitfn)(void *arg, const struct nc_item *it), void *arg);
void mgr_stats(struct mgr *m, struct nc_stats_r *rep);
void mgr_caps(struct mgr *m, struct nc_caps_r *rep);

/* The datapath's expiry callback hands managed bindings here before they
 * are freed (rules, aliases, RTCP partner, owner's count, event). */
void mgr_binding_gone(struct mgr *m, struct binding *b, uint8_t event);

/* ---- persistence (persist.c) ---- */

/* A grant as the state file keeps it. */
struct mgr_grant_rec {
	uint32_t id;
	char owner[64];
	struct nc_bind req;  /* spec, rtp_pair (partner still held) and lifetime as granted */
	struct endpoint ext; /* M */
	uint32_t deadline;   /* lease end, monotonic seconds */
};

/* Told of every grant made, renewed or changed (gone = false, r whole)
 * and of every grant that goes (gone = true, only r->id set). */
typedef void (*mgr_persist_fn)(void *arg, const struct mgr_grant_rec *r, bool gone);
void mgr_set_persist(struct mgr *m, mgr_persist_fn fn, void *arg);
/* Every live grant, for a snapshot. */
void mgr_each_grant(struct mgr *m, void (*fn)(void *arg, const struct mgr_grant_rec *r), void *arg);
/* Make a saved grant again, at the same M, with the same id, owner,
 * conditions and lease end. NC_ST_OK, or a status with st->reason. */
uint16_t mgr_restore(struct mgr *m, const struct mgr_grant_rec *r, struct nc_status *st);
/* The epoch of a natd that restarted with everything it held. */
void mgr_set_epoch(struct mgr *m, uint64_t epoch);

/* ---- HA (ha.c) ---- */

#define MGR_STANDBY_REASON "this node is the HA standby: ask the active node"
/* While standby, BIND, REFRESH and RELEASE from clients (control channel,
 * PCP) fail with TRY_AGAIN and MGR_STANDBY_REASON; mgr_restore still
 * works (the standby's copy of the active's grants). */
void mgr_set_standby(struct mgr *m, bool standby);
/* Move grant id's lease end (the active renewed it); false if there is
 * none. */
bool mgr_set_lease(struct mgr *m, uint32_t id, uint32_t deadline);
/* Remove grant id and its bindings (the active released it or it ended);
 * false if there is none. */
bool mgr_forget(struct mgr *m, uint32_t id);

/* Describe b as a LIST item (for events and LIST). */
void mgr_describe(struct mgr *m, const struct binding *b, struct nc_item *it);

#endif
