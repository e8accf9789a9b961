/* statefile: natd's bindings across a restart (state.file).
 *
 * What is kept: every dynamic binding (its E, M, realms, protocol, TCP
 * state and id) and every grant of the address manager (its id, owner,
 * request with all its conditions, M and lease end), plus natd's epoch and
 * the start of its PCP epoch. Static forwards come from the config and
 * are not kept. Filtering permissions are not kept either: under
 * address(-and-port)-dependent filtering a restored binding lets in a
 * remote again once the inside host has sent to it (media does at once).
 *
 * How: the journal (journal.h) holds a snapshot and the changes since,
 * one line each:
 *   natd-state 1 epoch=<hex> pcp_start=<unix time>   the header
 *   R <index> <name>                                  the realm indexes used
 *   D <id> <proto> <r1> <E addr> <E port> <r2> <M addr> <M port> <tcp>
 *   G <id> <lease end, unix time> <M addr> <M port> <owner hex> <request hex>
 *   X <id>                                            binding or grant gone
 * A grant's request is the control channel's own BIND message (libcontrol's
 * encoder and decoder), so every condition it can carry is kept exactly.
 * Dynamic bindings are recorded by the binding table's observer, grants
 * by the manager's persist hook; both write in the event-loop pass that
 * made the change.
 *
 * Restoring (statefile_restore, before the control socket opens): the
 * file is replayed into a table by id (the last record of an id wins, X
 * deletes), realm indexes are mapped by name onto the running config,
 * then grants are made again first (mgr_restore: same M, id, owner, lease
 * end) and dynamic bindings after (their M reserved in the pool, a fresh
 * idle timeout). If the file was whole and every live record came back,
 * natd keeps its epoch, so its clients' bindings and refreshes go on as if
 * nothing happened; if anything was lost (a torn or bad line, a realm or
 * pool gone from the config, a port taken), it takes a new epoch, so
 * clients know to ask again.
 */
#ifndef NATD_STATEFILE_H
#define NATD_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct realm_set;
struct bind_table;
struct mgr;
struct statefile;
struct binding;
struct mgr_grant_rec;

struct statefile_result {
	bool found;                /* there was a state file */
	bool whole;                /* ... and everything in it came back */
	unsigned long grants, dynamic; /* restored */
	unsigned long lost;        /* live records that could not be restored */
	unsigned long expired;     /* grants whose lease ended while natd was down */
	unsigned long bad;         /* lines refused (corrupt) */
	uint32_t pcp_age;          /* seconds since the PCP epoch began (whole only) */
};

/* Replay path into the tables (see above) and set the manager's epoch if
 * the state came back whole. Never fails: whatever cannot be used is
 * counted and logged. */
void statefile_restore(const char *path, struct realm_set *rs, struct bind_table *bt,
		       struct mgr *m, struct statefile_result *res);

/* Start saving to path (a snapshot now, then the changes). pcp_age as
 * restored (0: the PCP epoch starts now). NULL if the file cannot be
 * written (logged). */
struct statefile *statefile_open(const char *path, struct event_base *base,
				 struct realm_set *rs, struct bind_table *bt, struct mgr *m,
				 uint32_t pcp_age);

/* ---- the records one at a time (HA replication, ha.c) ---- */

#define STATEFILE_DYN_MAX 96     /* a D record, or the header, with its NUL */
#define STATEFILE_REC_MAX 8192   /* any record (JOURNAL_LINE_MAX) */

/* The header line "natd-state 1 epoch=<hex> pcp_start=<unix time>";
 * its length. */
int statefile_fmt_header(char *buf, size_t cap, uint64_t epoch, int64_t pcp_start);
/* b's D record into rec (STATEFILE_DYN_MAX bytes); its length. */
int statefile_fmt_dynamic(char *rec, const struct binding *b);
/* r's G record into buf; its length, or -1 (logged). */
int statefile_fmt_grant(char *buf, size_t cap, const struct mgr_grant_rec *r);

/* The observers statefile_open() installs, for a module that installs its
 * own and passes every change on (arg: the struct statefile). */
void statefile_on_dynamic(void *arg, const struct binding *b, bool gone);
void statefile_on_grant(void *arg, const struct mgr_grant_rec *r, bool gone);

/* What is known of another natd whose records are made live here. */
struct statefile_peer {
	uint8_t realm_map[256]; /* its realm index -> ours (R records) */
	uint64_t epoch;         /* from its header */
	bool have_epoch;
};
void statefile_peer_init(struct statefile_peer *p);
/* One record line of p made live here, as a restore would: the header
 * (epoch noted in p), R (realm mapped), D (the dynamic binding at the same
 * M with the same id), G (the grant at the same M, id, owner, conditions,
 * lease end, through mgr_restore). The id must not be in use. *id: the
 * record's id (0 for the others); *made: the D record's binding. 0, or -1
 * (bad line, or not made). line is split in place. */
int statefile_make(struct statefile_peer *p, struct realm_set *rs, struct bind_table *bt,
		   struct mgr *m, char *line, uint32_t *id, struct binding **made);

/* Stop saving: detach from the table and the manager, write a final
 * snapshot (so a graceful stop leaves the smallest file) and close. */
void statefile_close(struct statefile *s);

#endif
