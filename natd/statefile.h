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
#include <stdint.h>

struct event_base;
struct realm_set;
struct bind_table;
struct mgr;
struct statefile;

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

/* Stop saving: detach from the table and the manager, write a final
 * snapshot (so a graceful stop leaves the smallest file) and close. */
void statefile_close(struct statefile *s);

#endif
