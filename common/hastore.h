/* hastore: the one Redis client both daemons use to share their state
 * with the other node of an active/standby pair (issue 14).
 *
 * Theory of operation.
 *
 * Keys. Everything of one edge pair lives under a prefix P (one per pair
 * and per daemon, "natedge:pair1:natd"): P:epoch (the fencing epoch, an
 * integer INCRemented by every promotion), P:active (the node that wrote
 * last, with a short expiry: the heartbeat), P:r:<name> (one record, the
 * owner's own text; the owner chooses <name>) and the pub/sub channel
 * P:changes.
 *
 * The active node writes. hastore_put()/hastore_del() only queue; the
 * queue goes out once per event-loop pass (a zero-delay event, as the
 * journal does for its file) as one EVALSHA of a Lua script that, in one
 * atomic step, compares P:epoch with the writer's epoch and either applies
 * every SET (with its PX expiry, the record's lease) and DEL and PUBLISHes
 * the batch on P:changes, or changes nothing and answers STALE with the
 * newer epoch. A STALE answer demotes this node (the owner hears it
 * through ops->role): a node never writes under an epoch it does not hold,
 * so there are never two writers of one epoch. A heartbeat (the same
 * script with no records) runs every second while active.
 *
 * Promotion runs a second script: INCR P:epoch, take the new value, and
 * then push the whole state (ops->push, the owner puts every record).
 * Demotion is local: stop writing, follow.
 *
 * The standby follows. A second connection SUBSCRIBEs to P:changes; once
 * the subscription stands, a full resync reads every P:r:* key (SCAN +
 * MGET) and hands each record to ops->apply between ops->resync(begin)
 * and ops->resync(end) (the owner drops what the resync did not name).
 * Messages that arrive during a resync are held and applied after it, in
 * order, so the copy converges on Redis. Notifications are fire-and-
 * forget: after ANY (re)connect the follower resyncs in full, and the
 * active pushes in full.
 *
 * Losing Redis never stops the owner: writes made while Redis is away are
 * counted as lost (logged once per outage), the connection is retried
 * with a doubling backoff (0.2 s to 5 s), and a request outstanding for
 * longer than the timeout drops the connection (a hung server). Nothing
 * here blocks the loop: addresses are IP literals (no resolver), connects
 * are asynchronous (hiredis' async API on the caller's libevent base).
 *
 * Redis itself: one address, or Redis Sentinel (a list of sentinels and a
 * master name: SENTINEL get-master-addr-by-name is asked, in turn, before
 * every connect, and its answer followed).
 */
#ifndef COMMON_HASTORE_H
#define COMMON_HASTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conftab.h"

struct event_base;
struct hastore;

#define HASTORE_ADDR_MAX 8    /* sentinels */
#define HASTORE_NAME_MAX 64   /* prefix, node, master name, record name */

enum hastore_role {
	HASTORE_STANDBY,
	HASTORE_ACTIVE,
};

enum hastore_start {
	HASTORE_START_STANDBY, /* follow until promoted */
	HASTORE_START_ACTIVE,  /* serve at once; take an epoch when Redis answers */
	HASTORE_START_AUTO,    /* active if no node holds P:active when Redis answers */
};

struct hastore_addr {
	char host[48]; /* an IPv4 or IPv6 literal */
	uint16_t port;
};

struct hastore_conf {
	bool enabled;                               /* (for the daemons' config) */
	struct hastore_addr redis;                  /* direct (port 0: use sentinels) */
	struct hastore_addr sentinels[HASTORE_ADDR_MAX];
	unsigned nsentinels;
	char master[HASTORE_NAME_MAX];              /* Sentinel's master name */
	char prefix[HASTORE_NAME_MAX];              /* key prefix of this pair */
	char node[HASTORE_NAME_MAX];                /* this node's name */
	enum hastore_start start;
	uint32_t timeout_ms;                        /* connect and request timeout */
};

/* What the owner does. Every callback is optional but push and apply. */
struct hastore_ops {
	/* active: put every record now (after a promotion or a reconnect) */
	void (*push)(void *arg);
	/* standby: a record came or changed (val, vlen), or went (val NULL);
	 * name is the <name> of P:r:<name> */
	void (*apply)(void *arg, const char *name, const char *val, size_t vlen);
	/* standby: a full resync begins (begin) or ended (ok: every record was read) */
	void (*resync)(void *arg, bool begin, bool ok);
	/* the role changed (logged once by hastore; why: "promoted", "stale epoch"...) */
	void (*role)(void *arg, enum hastore_role role, uint64_t epoch, const char *why);
};

struct hastore_stats {
	enum hastore_role role;
	bool connected;          /* the command connection is up, scripts loaded */
	uint64_t epoch;          /* held (active) or last seen (standby) */
	uint64_t writes_ok;      /* records written */
	uint64_t writes_lost;    /* records not written: Redis away, or an error */
	uint64_t stale;          /* writes refused for a newer epoch */
	uint64_t applied;        /* records applied from Redis (standby) */
	uint64_t resyncs;        /* full resyncs completed */
	uint64_t pushes;         /* full pushes made */
	uint64_t connects;       /* successful connects (the first included) */
	uint64_t promotions, demotions;
	int64_t lag_ms;          /* now - time of the newest change applied; -1: none yet */
	char server[64];         /* the Redis server in use, "" when none */
};

/* ---- configuration: an "ha" group in natd.conf and sipproxy.conf ----
 * A loader adds HASTORE_CONF_ITEMS(group, offset of its struct
 * hastore_conf, default prefix) to its conftab items and calls
 * hastore_conf_check() after loading them:
 *   ha = { enabled = true; redis = "192.0.2.50:6379";   (or:)
 *          sentinels = [ "192.0.2.51:26379", ... ]; master = "natedge";
 *          prefix = "natedge:pair1:natd"; node = "edge-a";
 *          role = "standby" | "active" | "auto"; timeout_ms = 2000; } */
extern const struct conftab_type hastore_conf_addr;  /* "a.b.c.d:port" -> struct hastore_addr */
extern const struct conftab_type hastore_conf_addrs; /* [ "a:p", ... ] -> hastore_addr[], count at off2 */
extern const struct conftab_type hastore_conf_key;   /* [A-Za-z0-9._:-], 1..size-1 bytes */
extern const struct conftab_choice hastore_conf_roles[];

#define HASTORE_CONF_ITEMS(G, OFF, PFX)                                                              \
	{.path = G ".enabled", .type = &conftab_bool, .min = 0, .max = 1,                           \
	 .off = (OFF) + offsetof(struct hastore_conf, enabled)},                                    \
	{.path = G ".redis", .type = &hastore_conf_addr, .off = (OFF) + offsetof(struct hastore_conf, redis)}, \
	{.path = G ".sentinels", .type = &hastore_conf_addrs, .max = HASTORE_ADDR_MAX,               \
	 .off = (OFF) + offsetof(struct hastore_conf, sentinels),                                   \
	 .off2 = (OFF) + offsetof(struct hastore_conf, nsentinels)},                                \
	{.path = G ".master", .type = &hastore_conf_key, .off = (OFF) + offsetof(struct hastore_conf, master), \
	 .size = HASTORE_NAME_MAX, .dflt_s = ""},                                                    \
	{.path = G ".prefix", .type = &hastore_conf_key, .off = (OFF) + offsetof(struct hastore_conf, prefix), \
	 .size = HASTORE_NAME_MAX, .dflt_s = PFX},                                                   \
	{.path = G ".node", .type = &hastore_conf_key, .off = (OFF) + offsetof(struct hastore_conf, node), \
	 .size = HASTORE_NAME_MAX, .dflt_s = ""},                                                    \
	{.path = G ".role", .type = &conftab_enum, .off = (OFF) + offsetof(struct hastore_conf, start), \
	 .dflt = HASTORE_START_STANDBY, .choices = hastore_conf_roles},                              \
	{.path = G ".timeout_ms", .type = &conftab_uint, .min = 100, .max = 60000,                  \
	 .off = (OFF) + offsetof(struct hastore_conf, timeout_ms), .dflt = 2000}

/* The cross-field check of group G once its items are loaded: when
 * enabled, a node name and either redis or sentinels + master. */
void hastore_conf_check(struct conftab *ct, const config_t *cfg, const char *group,
			const struct hastore_conf *c);

/* Parse "host:port" (IPv4 literal, or [IPv6]:port). false if malformed. */
bool hastore_addr_parse(const char *s, struct hastore_addr *a);
/* Whether s may be a key prefix: 1..63 of [A-Za-z0-9._:-]. */
bool hastore_prefix_ok(const char *s);
const char *hastore_role_name(enum hastore_role r);

/* Start: the first connect is attempted from the loop at once. NULL on
 * out of memory or a bad conf (logged). */
struct hastore *hastore_new(struct event_base *base, const struct hastore_conf *c,
			    const struct hastore_ops *ops, void *arg);
/* Close both connections (pending writes are dropped) and free. */
void hastore_free(struct hastore *h);

/* Queue a record (written at the end of this loop pass, active only).
 * ttl_ms 0: no expiry. name: [A-Za-z0-9._:-], at most 63 bytes. */
void hastore_put(struct hastore *h, const char *name, const char *val, size_t vlen,
		 uint32_t ttl_ms);
void hastore_del(struct hastore *h, const char *name);

/* Become active: take a new epoch (INCR), then push. Asynchronous; with
 * Redis away the node serves at once and takes its epoch on connect. */
void hastore_promote(struct hastore *h);
/* Become standby: stop writing, follow (resync). */
void hastore_demote(struct hastore *h, const char *why);

enum hastore_role hastore_role(const struct hastore *h);
bool hastore_writing(const struct hastore *h); /* active, connected, epoch held */
void hastore_stats(const struct hastore *h, struct hastore_stats *st);

#endif
