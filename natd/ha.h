/* ha: natd's side of an active/standby pair (issue 14), over the shared
 * Redis client (common/hastore.h).
 *
 * Theory of operation.
 *
 * Records. What natd replicates is exactly what its state file keeps,
 * in the same text (statefile.h): one Redis record per object, named
 * "b:<id>" for a dynamic binding (its D line, no expiry: deleted when it
 * expires) or a grant of the address manager (its G line, expiring with
 * the lease plus a margin), "meta" for the header (natd's epoch, which
 * control clients hold) and "realm:<i>" for the realm indexes (R lines).
 * The active hears of every change through the same observers the state
 * file uses (this module installs its own and passes each change on to
 * the state file when there is one), so a binding's create, refresh,
 * release, rules and filters (all in the G line's request) and a dynamic
 * binding's create and expiry reach Redis in the loop pass that made
 * them. A full push (after a promotion or any reconnect) writes them all.
 *
 * The standby makes each record live as a restore does (statefile_make):
 * the same M, the same id, the grant's owner, conditions and lease end,
 * and takes the active's epoch from "meta". It keeps them warm but
 * translates nothing (packets are counted as dropped_standby), runs no
 * expiry of its own (the active's deletions remove them; a resync drops
 * what Redis no longer names) and refuses BIND, REFRESH and RELEASE with
 * TRY_AGAIN "this node is the HA standby". On promotion every binding is
 * touched (its idle timer starts again), expiry resumes, clients are
 * served: the table is what the active had, at the same M, id and epoch.
 * A node that finds a newer epoch on a write demotes itself (hastore).
 */
#ifndef NATD_HA_H
#define NATD_HA_H

#include <stdbool.h>
#include <stdio.h>

#include "hastore.h"

struct event_base;
struct core;
struct statefile;
struct nc_stats_r;
struct ha;

/* Start replicating core's state (sf: the state file to pass changes on
 * to, or NULL). NULL on failure (logged). */
struct ha *ha_open(struct event_base *base, const struct hastore_conf *c, struct core *k,
		   struct statefile *sf);
/* Stop; the observers go back to the state file's (or none). */
void ha_close(struct ha *h);

/* Whether the node must not translate now (standby). */
bool ha_standby(const struct ha *h);
/* Promote / demote (natctl ha, keepalived's notify hooks through it). */
void ha_promote(struct ha *h);
void ha_demote(struct ha *h);
/* Append the ha_* counters (role, epoch, lag, writes...) to r. */
void ha_stats(const struct ha *h, struct nc_stats_r *r);
/* The same as " name=value" pairs (the SIGUSR1 stats line). */
void ha_print(const struct ha *h, FILE *f);
/* The same as metrics (natedge_natd_ha_*) for the metrics page. */
void ha_metrics(const struct ha *h, FILE *f);

#endif
