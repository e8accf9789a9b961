/* sp_ha: sipproxy's registrations, dialogs and calls shared through Redis
 * (issue 14), over common/hastore.
 *
 * Two modes (ha.mode in sipproxy.conf):
 *  - "pair": an active/standby pair under one key prefix. The active
 *    writes every change; the standby follows, keeps a warm registrar
 *    and dialog table and holds the calls' records, does not serve SIP
 *    (every request gets 503 with Retry-After; keepalived moves the
 *    virtual addresses), and on promotion restores the calls into media
 *    (their natd refreshes resume) and serves.
 *  - "shared": scale-out. Every node is active and writes under
 *    "<prefix>:<node>"; it also follows each of ha.peers under
 *    "<prefix>:<peer>" and takes their registrations (only those) into
 *    its registrar, so a phone registered through one is reachable
 *    through the others. Dialogs and calls stay with the node that made
 *    them.
 *
 * Records: the state file's own (persist.h): one Redis record per AoR,
 * call and dialog, named by kind and a hash of its key (sp_ha_name()),
 * its lines joined by '|' (sp_ha_encode()), expiring with the
 * registration or the call's lifetime.
 */
#ifndef SIPPROXY_SP_HA_H
#define SIPPROXY_SP_HA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "persist.h"
#include "sp_conf.h"

struct event_base;
struct media;
struct sp_ha;

/* "r:", "c:" or "d:" and 32 hex digits, and the NUL */
#define SP_HA_NAME_LEN 35

/* The record name of (kind, key): kind's letter, ':', the first 16 bytes
 * of SHA-256(key) in hex. 0, or -EINVAL (unknown kind, cap too small). */
int sp_ha_name(enum persist_kind kind, const char *key, char *name, size_t cap);

/* A record's lines (each ending in '\n') as one Redis value: the lines
 * joined by '|' (hastore values hold no newline). The length written, or
 * -EINVAL (a '|' or no final newline in text), -ENOSPC. */
long sp_ha_encode(const char *text, size_t len, char *out, size_t cap);

/* The other way: a value back into lines, each ending in '\n'. The length
 * written, or -EINVAL (empty, a newline or NUL in it), -ENOSPC. */
long sp_ha_decode(const char *val, size_t len, char *out, size_t cap);

/* Start sharing: the mirror is set on ps, Redis is connected from the
 * loop. media: the calls taken over or let go with the role. NULL on a bad
 * configuration or out of memory (logged). */
struct sp_ha *sp_ha_new(struct event_base *base, const struct sp_conf *conf, struct persist *ps,
			struct media *m);
void sp_ha_free(struct sp_ha *h);

/* Whether SIP is served now (active, or shared mode). NULL: true. */
bool sp_ha_serving(const struct sp_ha *h);

/* A request was refused because this node is a standby. */
void sp_ha_count_refused(struct sp_ha *h);

/* An operator's command: "promote", "demote" or "status". The answer
 * (one or more lines, "ok ..." or "error ...") through fn. 0, or -EINVAL
 * for an unknown command. */
typedef void (*sp_ha_line_fn)(void *arg, const char *line);
int sp_ha_command(struct sp_ha *h, const char *cmd, sp_ha_line_fn fn, void *arg);

/* The status view's lines: role, epoch, lag, counters; one per peer. */
void sp_ha_status(const struct sp_ha *h, sp_ha_line_fn fn, void *arg);

struct sp_ha_stats {
	bool active;                /* pair: the role; shared: true */
	uint64_t epoch;
	int64_t lag_ms;             /* -1: nothing applied yet */
	bool connected;
	uint64_t writes_ok, writes_lost, stale, applied, resyncs, pushes, promotions, demotions;
	uint64_t apply_errors;      /* records from Redis that did not apply whole */
	uint64_t calls_taken;       /* calls restored by promotions */
	uint64_t refused;           /* requests answered 503 as a standby */
	unsigned held_calls;        /* call records held by the standby */
	unsigned peer_regs;         /* shared: AoRs taken from peers */
};
void sp_ha_get_stats(const struct sp_ha *h, struct sp_ha_stats *st);

/* The same as Prometheus metrics (natedge_sipproxy_ha_*), for sp_metrics. */
void sp_ha_metrics_write(const struct sp_ha *h, FILE *f);

#endif
