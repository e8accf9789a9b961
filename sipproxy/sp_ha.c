/* sp_ha: sipproxy's state shared through Redis (see sp_ha.h).
 *
 * Theory of operation.
 *  - One "link" per hastore: in pair mode one (the pair's prefix), in
 *    shared mode this node's own (always active) and one per peer (always
 *    following). hastore owns Redis: batching, epoch fencing, promotion,
 *    the follower's subscription and full resyncs. This module only maps
 *    records and roles.
 *  - Writing. persist hands every change, encoded as the state file
 *    encodes it, to mirror_put(): the record gets its name (kind + hash of
 *    its key), its lines joined by '|', and a TTL; text NULL deletes.
 *    hastore drops writes while the node is standby. A full push
 *    (promotion, reconnect) is persist_mirror_all().
 *  - Following. Every record that comes from Redis is kept, decoded, in
 *    the link's table (name -> kind, text): registrations and dialogs are
 *    also applied at once (persist_apply: a warm registrar and dialog
 *    table), calls only held (applying them would start natd refreshes
 *    from the standby). A deleted record is undone from its last text
 *    (persist_forget). A resync marks every held record unseen first and
 *    undoes those it did not name.
 *  - Roles (pair mode). Promotion restores every held call into media
 *    (media_restore_call through persist_apply: the refreshes resume at
 *    once on a natd that is up), empties the table, snapshots the state
 *    file, and serves; hastore then takes a new epoch and pushes. A
 *    demotion (a command, or a newer epoch seen in Redis) stops serving
 *    and forgets the calls in media without releasing them: their
 *    bindings belong to the new active; the resync that follows brings
 *    them back as held records.
 *  - Peers (shared mode): only their registrations are taken; an AoR
 *    registered through a peer replaces the AoR's contacts here, as a
 *    REGISTER would.
 */
#include "sp_ha.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hastore.h"
#include "log.h"
#include "media.h"
#include "metrics.h"
#include "sha256.h"
#include "siphash.h"

#define NBUCKETS 4096u

struct entry {
	struct entry *next;
	char name[SP_HA_NAME_LEN];
	bool seen;            /* named by the resync under way */
	size_t len;
	char text[];          /* lines, each ending in '\n', NUL-terminated */
};

struct link {
	struct sp_ha *ha;
	struct hastore *hs;
	bool peer;            /* a peer's prefix: registrations only, never promoted */
	char node[HASTORE_NAME_MAX];
	struct entry *tab[NBUCKETS];
	unsigned n[128];      /* held records by kind letter */
	uint64_t apply_errors;
};

struct sp_ha {
	const struct sp_conf *conf;
	struct persist *ps;
	struct media *m;
	struct siphash_key key;
	struct link own;
	struct link *peers;
	unsigned npeers;
	bool shared;
	bool serving;
	uint64_t calls_taken, refused;
	char *buf;            /* encode/decode scratch */
	size_t cap;
};

/* ---- record mapping ---- */

int sp_ha_name(enum persist_kind kind, const char *key, char *name, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[SHA256_LEN];
	struct sha256_ctx c;

	if ((kind != PERSIST_REG && kind != PERSIST_CALL && kind != PERSIST_DIALOG) || cap < SP_HA_NAME_LEN)
		return -EINVAL;
	sha256_init(&c);
	sha256_update(&c, key, strlen(key));
	sha256_final(&c, d);
	name[0] = (char)kind;
	name[1] = ':';
	for (unsigned i = 0; i < 16; i++) {
		name[2 + 2 * i] = hex[d[i] >> 4];
		name[3 + 2 * i] = hex[d[i] & 15];
	}
	name[SP_HA_NAME_LEN - 1] = '\0';
	return 0;
}

long sp_ha_encode(const char *text, size_t len, char *out, size_t cap)
{
	if (!len || text[len - 1] != '\n' || memchr(text, '|', len) || memchr(text, '\0', len))
		return -EINVAL;
	if (cap < len)
		return -ENOSPC;
	for (size_t i = 0; i + 1 < len; i++)
		out[i] = text[i] == '\n' ? '|' : text[i];
	out[len - 1] = '\0';
	return (long)len - 1;
}

long sp_ha_decode(const char *val, size_t len, char *out, size_t cap)
{
	if (!len || memchr(val, '\n', len) || memchr(val, '\0', len))
		return -EINVAL;
	if (cap < len + 2)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++)
		out[i] = val[i] == '|' ? '\n' : val[i];
	out[len] = '\n';
	out[len + 1] = '\0';
	return (long)len + 1;
}

/* A name as sp_ha_name() makes them. */
static bool name_ok(const char *s)
{
	if (strlen(s) != SP_HA_NAME_LEN - 1 || !strchr("rcd", s[0]) || s[1] != ':')
		return false;
	return strspn(s + 2, "0123456789abcdef") == SP_HA_NAME_LEN - 3;
}

static char *scratch(struct sp_ha *h, size_t need)
{
	char *b;

	if (need <= h->cap)
		return h->buf;
	if (!(b = realloc(h->buf, need)))
		return NULL;
	h->buf = b;
	h->cap = need;
	return b;
}

/* ---- writing: persist's mirror ---- */

static void mirror_put(void *arg, enum persist_kind kind, const char *key, const char *text, size_t len,
		       uint32_t ttl_s)
{
	struct sp_ha *h = arg;
	char name[SP_HA_NAME_LEN], *v;
	long n;

	if (hastore_role(h->own.hs) != HASTORE_ACTIVE || sp_ha_name(kind, key, name, sizeof(name)) < 0)
		return;
	if (!text) {
		hastore_del(h->own.hs, name);
		return;
	}
	if (!(v = scratch(h, len + 1)) || (n = sp_ha_encode(text, len, v, len + 1)) < 0) {
		log_debug("ha: record %s not written (cannot encode)", name);
		return;
	}
	hastore_put(h->own.hs, name, v, (size_t)n, ttl_s > UINT32_MAX / 1000u ? UINT32_MAX : ttl_s * 1000u);
}

static void on_push(void *arg)
{
	struct link *l = arg;

	if (!l->peer)
		persist_mirror_all(l->ha->ps);
}

/* ---- following: the held records ---- */

static unsigned bucket(const struct sp_ha *h, const char *name)
{
	return (unsigned)(siphash_str(&h->key, name) % NBUCKETS);
}

static struct entry **find(struct link *l, const char *name)
{
	struct entry **pe = &l->tab[bucket(l->ha, name)];

	while (*pe && strcmp((*pe)->name, name))
		pe = &(*pe)->next;
	return pe;
}

static void entry_drop(struct link *l, struct entry **pe)
{
	struct entry *e = *pe;

	*pe = e->next;
	l->n[(unsigned char)e->name[0]]--;
	free(e);
}

/* A held record is gone: undo it (calls were never applied). */
static void undo(struct link *l, struct entry **pe)
{
	if ((*pe)->name[0] != PERSIST_CALL)
		persist_forget(l->ha->ps, (*pe)->text, (*pe)->len);
	entry_drop(l, pe);
}

static void table_clear(struct link *l, bool undo_them)
{
	for (unsigned b = 0; b < NBUCKETS; b++)
		while (l->tab[b]) {
			if (undo_them)
				undo(l, &l->tab[b]);
			else
				entry_drop(l, &l->tab[b]);
		}
}

static void on_apply(void *arg, const char *name, const char *val, size_t vlen)
{
	struct link *l = arg;
	struct sp_ha *h = l->ha;
	struct entry **pe, *e;
	long n;

	if (!name_ok(name) || (l->peer && name[0] != PERSIST_REG))
		return;
	pe = find(l, name);
	if (!val) {
		if (*pe)
			undo(l, pe);
		return;
	}
	if (!(e = malloc(sizeof(*e) + vlen + 2)) || (n = sp_ha_decode(val, vlen, e->text, vlen + 2)) < 0) {
		free(e);
		l->apply_errors++;
		log_debug("ha: record %s from redis unreadable", name);
		return;
	}
	memcpy(e->name, name, SP_HA_NAME_LEN);
	e->len = (size_t)n;
	e->seen = true;
	if (*pe) { /* a newer version: replaces it */
		e->next = (*pe)->next;
		free(*pe);
		*pe = e;
	} else {
		e->next = NULL;
		*pe = e;
		l->n[(unsigned char)name[0]]++;
	}
	if (name[0] != PERSIST_CALL && persist_apply(h->ps, e->text, e->len, NULL) < 0)
		l->apply_errors++;
}

static void on_resync(void *arg, bool begin, bool ok)
{
	struct link *l = arg;

	for (unsigned b = 0; b < NBUCKETS; b++)
		for (struct entry **pe = &l->tab[b]; *pe;) {
			if (begin) {
				(*pe)->seen = false;
				pe = &(*pe)->next;
			} else if (ok && !(*pe)->seen) {
				undo(l, pe); /* gone from redis while we were away */
			} else {
				pe = &(*pe)->next;
			}
		}
}

/* ---- roles ---- */

struct id_list {
	char (*ids)[MEDIA_CALLID_MAX];
	unsigned n, cap;
};

static void collect_call(void *arg, const struct media_call_state *s)
{
	struct id_list *il = arg;

	if (il->n < il->cap)
		memcpy(il->ids[il->n++], s->call_id, MEDIA_CALLID_MAX);
}

/* Demoted: the calls in media now belong to the new active. */
static void let_calls_go(struct sp_ha *h)
{
	struct media_stats ms;
	struct id_list il = {0};

	media_get_stats(h->m, &ms);
	if (!ms.calls || !(il.ids = calloc(ms.calls, sizeof(*il.ids)))) {
		if (ms.calls)
			log_err("ha: out of memory: %u calls stay in media", ms.calls);
		return;
	}
	il.cap = ms.calls;
	media_each_call(h->m, collect_call, &il);
	for (unsigned i = 0; i < il.n; i++)
		media_forget_call(h->m, il.ids[i]);
	free(il.ids);
	log_notice("ha: standby: %u call%s left to the active node (bindings kept in natd)", il.n,
		   il.n == 1 ? "" : "s");
}

/* Promoted: the held calls go into media, their refreshes resume. */
static void take_calls(struct sp_ha *h)
{
	struct link *l = &h->own;
	unsigned calls = 0, bad = 0;

	for (unsigned b = 0; b < NBUCKETS; b++)
		for (struct entry *e = l->tab[b]; e; e = e->next)
			if (e->name[0] == PERSIST_CALL) {
				if (persist_apply(h->ps, e->text, e->len, NULL) < 0)
					bad++;
				else
					calls++;
			}
	h->calls_taken += calls;
	log_notice("ha: active: took over %u call%s (%u unusable), %u registration%s and %u dialog%s held",
		   calls, calls == 1 ? "" : "s", bad, l->n['r'], l->n['r'] == 1 ? "" : "s", l->n['d'],
		   l->n['d'] == 1 ? "" : "s");
	/* the active follows nothing: a later demotion resyncs in full */
	table_clear(l, false);
	persist_snapshot(h->ps);
}

static void on_role(void *arg, enum hastore_role role, uint64_t epoch, const char *why)
{
	struct link *l = arg;
	struct sp_ha *h = l->ha;

	(void)epoch;
	(void)why; /* hastore logged the change */
	if (l->peer || h->shared)
		return;
	if (role == HASTORE_ACTIVE && !h->serving) {
		take_calls(h);
		h->serving = true;
	} else if (role == HASTORE_STANDBY && h->serving) {
		h->serving = false;
		let_calls_go(h);
	}
}

/* ---- the module ---- */

static int link_open(struct sp_ha *h, struct event_base *base, struct link *l, const char *node, bool peer)
{
	const struct spc_ha *c = &h->conf->ha;
	struct hastore_ops ops = {.push = on_push, .apply = on_apply, .resync = on_resync, .role = on_role};
	struct hastore_conf hc = c->store;

	l->ha = h;
	l->peer = peer;
	snprintf(l->node, sizeof(l->node), "%s", node);
	if (h->shared) {
		size_t pl = strlen(hc.prefix), nl = strlen(node);

		/* sp_conf checked that "<prefix>:<node>" fits */
		if (pl + 1 + nl >= sizeof(hc.prefix))
			return -1;
		hc.prefix[pl] = ':';
		memcpy(hc.prefix + pl + 1, node, nl + 1);
		hc.start = peer ? HASTORE_START_STANDBY : HASTORE_START_ACTIVE;
	}
	if (peer) /* following only: the follower's own name for the logs */
		snprintf(hc.node, sizeof(hc.node), "%s", c->store.node);
	l->hs = hastore_new(base, &hc, &ops, l);
	return l->hs ? 0 : -1;
}

struct sp_ha *sp_ha_new(struct event_base *base, const struct sp_conf *conf, struct persist *ps,
			struct media *m)
{
	struct persist_mirror mir = {.put = mirror_put};
	struct sp_ha *h = calloc(1, sizeof(*h));

	if (!h)
		goto oom;
	h->conf = conf;
	h->ps = ps;
	h->m = m;
	h->shared = conf->ha.mode == SPC_HA_SHARED;
	if (siphash_key_random(&h->key) < 0) {
		log_err("ha: no random key for the record table");
		goto fail;
	}
	if (h->shared && conf->ha.npeers && !(h->peers = calloc(conf->ha.npeers, sizeof(*h->peers))))
		goto oom;
	if (link_open(h, base, &h->own, conf->ha.store.node, false) < 0)
		goto fail;
	for (unsigned i = 0; h->shared && i < conf->ha.npeers; i++, h->npeers++)
		if (link_open(h, base, &h->peers[i], conf->ha.peers[i], true) < 0)
			goto fail;
	h->serving = h->shared || hastore_role(h->own.hs) == HASTORE_ACTIVE;
	/* a standby's calls are the active's: the state file's may be old,
	 * Redis's come with the resync (as held records) */
	if (!h->shared && conf->ha.store.start == HASTORE_START_STANDBY)
		let_calls_go(h);
	mir.arg = h;
	persist_set_mirror(ps, &mir);
	return h;
oom:
	log_err("ha: out of memory");
fail:
	sp_ha_free(h);
	return NULL;
}

void sp_ha_free(struct sp_ha *h)
{
	if (!h)
		return;
	if (h->own.hs)
		persist_set_mirror(h->ps, NULL);
	hastore_free(h->own.hs);
	table_clear(&h->own, false);
	for (unsigned i = 0; i < h->npeers; i++) {
		hastore_free(h->peers[i].hs);
		table_clear(&h->peers[i], false);
	}
	free(h->peers);
	free(h->buf);
	free(h);
}

bool sp_ha_serving(const struct sp_ha *h)
{
	return !h || h->serving;
}

void sp_ha_count_refused(struct sp_ha *h)
{
	if (h)
		h->refused++;
}

void sp_ha_get_stats(const struct sp_ha *h, struct sp_ha_stats *st)
{
	struct hastore_stats hs;

	memset(st, 0, sizeof(*st));
	hastore_stats(h->own.hs, &hs);
	st->active = h->serving;
	st->epoch = hs.epoch;
	st->lag_ms = hs.lag_ms;
	st->connected = hs.connected;
	st->writes_ok = hs.writes_ok;
	st->writes_lost = hs.writes_lost;
	st->stale = hs.stale;
	st->applied = hs.applied;
	st->resyncs = hs.resyncs;
	st->pushes = hs.pushes;
	st->promotions = hs.promotions;
	st->demotions = hs.demotions;
	st->apply_errors = h->own.apply_errors;
	st->calls_taken = h->calls_taken;
	st->refused = h->refused;
	st->held_calls = h->own.n['c'];
	for (unsigned i = 0; i < h->npeers; i++) {
		st->peer_regs += h->peers[i].n['r'];
		st->apply_errors += h->peers[i].apply_errors;
	}
}

void sp_ha_status(const struct sp_ha *h, sp_ha_line_fn fn, void *arg)
{
	struct sp_ha_stats st;
	char line[512];

	sp_ha_get_stats(h, &st);
	snprintf(line, sizeof(line),
		 "ha mode=%s node=%s role=%s epoch=%" PRIu64 " redis=%s lag_ms=%" PRId64 " writes_ok=%" PRIu64
		 " writes_lost=%" PRIu64 " stale=%" PRIu64 " applied=%" PRIu64 " resyncs=%" PRIu64
		 " pushes=%" PRIu64 " promotions=%" PRIu64 " demotions=%" PRIu64 " apply_errors=%" PRIu64
		 " calls_taken=%" PRIu64 " refused=%" PRIu64 " held_calls=%u held_regs=%u held_dialogs=%u",
		 h->shared ? "shared" : "pair", h->own.node, st.active ? "active" : "standby", st.epoch,
		 st.connected ? "up" : "down", st.lag_ms, st.writes_ok, st.writes_lost, st.stale, st.applied,
		 st.resyncs, st.pushes, st.promotions, st.demotions, st.apply_errors, st.calls_taken, st.refused,
		 h->own.n['c'], h->own.n['r'], h->own.n['d']);
	fn(arg, line);
	for (unsigned i = 0; i < h->npeers; i++) {
		struct hastore_stats hs;

		hastore_stats(h->peers[i].hs, &hs);
		snprintf(line, sizeof(line),
			 "ha peer=%s redis=%s lag_ms=%" PRId64 " applied=%" PRIu64 " resyncs=%" PRIu64
			 " regs=%u apply_errors=%" PRIu64,
			 h->peers[i].node, hs.connected ? "up" : "down", hs.lag_ms, hs.applied, hs.resyncs,
			 h->peers[i].n['r'], h->peers[i].apply_errors);
		fn(arg, line);
	}
}

void sp_ha_metrics_write(const struct sp_ha *h, FILE *f)
{
#define M "natedge_sipproxy_ha_"
	static const struct {
		const char *name, *help;
		size_t off;
	} rows[] = {
		{M "writes_total", "Records written to Redis.", offsetof(struct sp_ha_stats, writes_ok)},
		{M "writes_lost_total", "Records not written (Redis away, or an error).", offsetof(struct sp_ha_stats, writes_lost)},
		{M "stale_total", "Writes refused for a newer epoch (fenced).", offsetof(struct sp_ha_stats, stale)},
		{M "applied_total", "Records applied from Redis.", offsetof(struct sp_ha_stats, applied)},
		{M "apply_errors_total", "Records from Redis that did not apply whole.", offsetof(struct sp_ha_stats, apply_errors)},
		{M "resyncs_total", "Full resynchronisations from Redis.", offsetof(struct sp_ha_stats, resyncs)},
		{M "pushes_total", "Whole state written to Redis again.", offsetof(struct sp_ha_stats, pushes)},
		{M "promotions_total", "Promotions.", offsetof(struct sp_ha_stats, promotions)},
		{M "demotions_total", "Demotions.", offsetof(struct sp_ha_stats, demotions)},
		{M "calls_taken_total", "Calls taken over by promotions.", offsetof(struct sp_ha_stats, calls_taken)},
		{M "refused_total", "Requests answered 503 as a standby.", offsetof(struct sp_ha_stats, refused)},
	};
	struct sp_ha_stats st;

	sp_ha_get_stats(h, &st);
	metrics_one(f, M "active", METRICS_GAUGE, "1 when this proxy serves (active), 0 standby.", st.active);
	metrics_one(f, M "epoch", METRICS_GAUGE, "The fencing epoch held or last seen.", st.epoch);
	metrics_one(f, M "redis_up", METRICS_GAUGE, "Whether the Redis connection is up.", st.connected);
	metrics_one(f, M "lag_milliseconds", METRICS_GAUGE, "Age of the newest change applied (standby); 0 none.",
		    st.lag_ms > 0 ? (uint64_t)st.lag_ms : 0);
	metrics_one(f, M "held_calls", METRICS_GAUGE, "Call records a standby holds.", st.held_calls);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		metrics_one(f, rows[i].name, METRICS_COUNTER, rows[i].help,
			    *(const uint64_t *)((const char *)&st + rows[i].off));
#undef M
}

int sp_ha_command(struct sp_ha *h, const char *cmd, sp_ha_line_fn fn, void *arg)
{
	char line[128];

	if (!h) {
		fn(arg, "error ha is not enabled in this sipproxy's configuration");
		return -EINVAL;
	}
	if (!strcmp(cmd, "status")) {
		sp_ha_status(h, fn, arg);
		return 0;
	}
	if (strcmp(cmd, "promote") && strcmp(cmd, "demote")) {
		fn(arg, "error unknown command (ha promote|demote|status)");
		return -EINVAL;
	}
	if (h->shared) {
		fn(arg, "error shared mode: every node is active, there is no role to change");
		return -EINVAL;
	}
	if (!strcmp(cmd, "promote"))
		hastore_promote(h->own.hs);
	else
		hastore_demote(h->own.hs, "demoted by command");
	snprintf(line, sizeof(line), "ok role=%s", h->serving ? "active" : "standby");
	fn(arg, line);
	return 0;
}
