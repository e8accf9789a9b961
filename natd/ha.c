/* ha: natd's side of an HA pair (theory of operation in ha.h).
 *
 * The standby remembers, per replicated id, what it made and under which
 * resync generation it was last named, in a small open-addressing table
 * (linear probing, backward-shift deletion): a deleted record's dynamic
 * binding is found again by its in-side key, and the end of a resync
 * drops every binding and grant the generation did not name.
 */
#include "ha.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libcontrol/msg.h>

#include "binding.h"
#include "clock.h"
#include "core.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "siphash.h"
#include "statefile.h"
#include "xlate.h"

#define GRANT_TTL_MARGIN_S 10u /* a G record outlives its lease by this much in Redis */

struct hrec {
	uint32_t id; /* 0: empty */
	uint32_t gen;
	uint64_t sig; /* 'G': its record but the lease end (a renewal changes only that) */
	char type;   /* 'D' or 'G' */
	uint8_t proto, r1, r2;
	struct endpoint in;
};

struct ha {
	struct hastore *hs;
	struct core *k;
	struct statefile *sf;
	struct statefile_peer peer;
	struct hrec *t;
	uint32_t cap, used;
	uint32_t gen;
	uint64_t made, renewed, refused;
	struct siphash_key key;
	char line[STATEFILE_REC_MAX];
};

/* ---- the id table ---- */

static uint32_t slot_of(const struct ha *h, uint32_t id)
{
	return (id * 2654435761u) & (h->cap - 1);
}

static struct hrec *rec_find(struct ha *h, uint32_t id)
{
	if (!h->cap)
		return NULL;
	for (uint32_t i = slot_of(h, id);; i = (i + 1) & (h->cap - 1)) {
		if (!h->t[i].id)
			return NULL;
		if (h->t[i].id == id)
			return &h->t[i];
	}
}

static struct hrec *rec_add(struct ha *h, uint32_t id)
{
	struct hrec *r;
	uint32_t i;

	if ((r = rec_find(h, id)))
		return r;
	if ((h->used + 1) * 2 > h->cap) {
		uint32_t ocap = h->cap, ncap = ocap ? ocap * 2 : 1024;
		struct hrec *ot = h->t, *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return NULL;
		h->t = nt;
		h->cap = ncap;
		for (uint32_t j = 0; j < ocap; j++)
			if (ot[j].id) {
				for (i = slot_of(h, ot[j].id); nt[i].id; i = (i + 1) & (ncap - 1))
					;
				nt[i] = ot[j];
			}
		free(ot);
	}
	for (i = slot_of(h, id); h->t[i].id; i = (i + 1) & (h->cap - 1))
		;
	memset(&h->t[i], 0, sizeof(h->t[i]));
	h->t[i].id = id;
	h->used++;
	return &h->t[i];
}

/* Backward-shift deletion: later entries of the run move up. */
static void rec_del(struct ha *h, struct hrec *r)
{
	uint32_t i = (uint32_t)(r - h->t), j = i;

	h->t[i].id = 0;
	h->used--;
	for (;;) {
		j = (j + 1) & (h->cap - 1);
		if (!h->t[j].id)
			return;
		uint32_t home = slot_of(h, h->t[j].id);
		/* may h->t[j] move to the hole at i? (home not in (i, j]) */
		if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
			h->t[i] = h->t[j];
			h->t[j].id = 0;
			i = j;
		}
	}
}

/* ---- the standby: records made live ---- */

/* Remove what replicated id stands for here. */
static void drop_id(struct ha *h, uint32_t id)
{
	struct hrec *r = rec_find(h, id);
	struct binding *b;

	if (r && r->type == 'D') {
		b = bind_lookup_in(h->k->bt, r->proto, r->r1, r->in, r->r2);
		if (b && b->id == id && b->kind == BIND_DYNAMIC) {
			xlate_release_binding(&h->k->x, b);
			bind_remove(h->k->bt, b);
		}
	} else {
		mgr_forget(h->k->mgr, id);
	}
	if (r)
		rec_del(h, r);
}

static bool same_dynamic(struct ha *h, const struct hrec *r, uint32_t id)
{
	const struct binding *b = bind_lookup_in(h->k->bt, r->proto, r->r1, r->in, r->r2);

	return b && b->id == id && b->kind == BIND_DYNAMIC;
}

/* A G record "G <id> <lease end> <rest>": the signature of all but the
 * lease end, and the lease end. false if it is not one. */
static bool grant_sig(const struct ha *h, const char *line, uint64_t *sig, int64_t *wall)
{
	const char *s1 = strchr(line, ' '), *s2 = s1 ? strchr(s1 + 1, ' ') : NULL;
	const char *s3 = s2 ? strchr(s2 + 1, ' ') : NULL;
	char *end;

	if (line[0] != 'G' || !s3)
		return false;
	*wall = strtoll(s2 + 1, &end, 10);
	if (end != s3)
		return false;
	*sig = siphash24(&h->key, line, (size_t)(s2 - line)) ^ (siphash_str(&h->key, s3) * 31);
	return true;
}

static void on_apply(void *arg, const char *name, const char *val, size_t vlen)
{
	struct ha *h = arg;
	struct binding *b;
	struct hrec *r;
	uint32_t id = 0;
	unsigned long v;
	char *end;
	uint64_t sig = 0;
	int64_t wall = 0;

	if (!strncmp(name, "b:", 2)) {
		v = strtoul(name + 2, &end, 10);
		if (*end || !v || v >= UINT32_MAX)
			return;
		id = (uint32_t)v;
		if (!val) {
			drop_id(h, id);
			return;
		}
	} else if (strcmp(name, "meta") && strncmp(name, "realm:", 6)) {
		return; /* another writer's key: not ours */
	}
	if (!val || vlen >= sizeof(h->line)) {
		h->refused++;
		return;
	}
	memcpy(h->line, val, vlen);
	h->line[vlen] = 0;
	bool is_grant = id && grant_sig(h, h->line, &sig, &wall);
	if (id) {
		r = rec_find(h, id);
		/* a D record already made the same: only noted (a resync) */
		if (r && r->type == 'D' && h->line[0] == 'D' && same_dynamic(h, r, id)) {
			r->gen = h->gen;
			return;
		}
		/* a renewal: the same grant with a new lease end */
		if (r && r->type == 'G' && is_grant && r->sig == sig && wall > (int64_t)time(NULL) &&
		    mgr_set_lease(h->k->mgr, id, clock_mono_s() + (uint32_t)(wall - (int64_t)time(NULL)))) {
			r->gen = h->gen;
			h->renewed++;
			return;
		}
		drop_id(h, id);
	}
	if (statefile_make(&h->peer, &h->k->rs, h->k->bt, h->k->mgr, h->line, &id, &b) < 0) {
		h->refused++;
		log_debug("ha: record %s not made here", name);
		return;
	}
	if (!id) {
		if (h->peer.have_epoch && h->peer.epoch != mgr_epoch(h->k->mgr))
			mgr_set_epoch(h->k->mgr, h->peer.epoch); /* the one the clients hold */
		return;
	}
	h->made++;
	if (!(r = rec_add(h, id)))
		return;
	r->gen = h->gen;
	r->type = b ? 'D' : 'G';
	r->sig = is_grant ? sig : 0;
	if (b) {
		r->proto = b->proto;
		r->r1 = b->in_realm;
		r->r2 = b->ext_realm;
		r->in = b->in;
	}
}

static bool seen(struct ha *h, uint32_t id)
{
	const struct hrec *r = rec_find(h, id);

	return r && r->gen == h->gen;
}

/* The grants a resync did not name. */
struct unseen {
	struct ha *h;
	uint32_t *ids, n, cap;
};

static void unseen_add(struct unseen *u, uint32_t id)
{
	if (seen(u->h, id))
		return;
	if (u->n == u->cap) {
		uint32_t nc = u->cap ? u->cap * 2 : 256, *ni = realloc(u->ids, nc * sizeof(*ni));
		if (!ni)
			return;
		u->ids = ni;
		u->cap = nc;
	}
	u->ids[u->n++] = id;
}

static void unseen_grant(void *arg, const struct mgr_grant_rec *g)
{
	unseen_add(arg, g->id);
}

/* A resync names every record: what it did not name is gone, whether the
 * standby made it or held it before (its own, from when it was active). */
static void on_resync(void *arg, bool begin, bool ok)
{
	struct ha *h = arg;
	struct unseen u = {.h = h};
	uint32_t cursor = 0, dropped = 0;
	struct binding *b;

	if (begin) {
		h->gen++;
		return;
	}
	if (!ok)
		return;
	/* bind_next walks the slots: freeing the current one is safe */
	while ((b = bind_next(h->k->bt, &cursor)))
		if (b->kind == BIND_DYNAMIC && !seen(h, b->id)) {
			xlate_release_binding(&h->k->x, b);
			bind_remove(h->k->bt, b);
			dropped++;
		}
	mgr_each_grant(h->k->mgr, unseen_grant, &u);
	for (uint32_t i = 0; i < u.n; i++)
		dropped += mgr_forget(h->k->mgr, u.ids[i]);
	/* forget the ids of records gone meanwhile */
	for (uint32_t i = 0; i < h->cap; i++)
		while (h->t[i].id && h->t[i].gen != h->gen)
			rec_del(h, &h->t[i]);
	if (dropped)
		log_notice("ha: resync dropped %" PRIu32 " bindings redis no longer names", dropped);
	free(u.ids);
}

/* ---- the active: every change out ---- */

static void put_dynamic(struct ha *h, const struct binding *b)
{
	char name[16], rec[STATEFILE_DYN_MAX];
	int n = statefile_fmt_dynamic(rec, b);

	snprintf(name, sizeof(name), "b:%" PRIu32, b->id);
	hastore_put(h->hs, name, rec, (size_t)n, 0);
}

static void put_grant(struct ha *h, const struct mgr_grant_rec *r)
{
	char name[16];
	int n = statefile_fmt_grant(h->line, sizeof(h->line), r);
	int32_t left = (int32_t)(r->deadline - clock_mono_s());

	if (n < 0)
		return;
	snprintf(name, sizeof(name), "b:%" PRIu32, r->id);
	hastore_put(h->hs, name, h->line, (size_t)n,
		    (uint32_t)((left > 0 ? (uint32_t)left : 0u) + GRANT_TTL_MARGIN_S) * 1000u);
}

static void gone(struct ha *h, uint32_t id)
{
	char name[16];

	snprintf(name, sizeof(name), "b:%" PRIu32, id);
	hastore_del(h->hs, name);
}

static void on_dynamic(void *arg, const struct binding *b, bool is_gone)
{
	struct ha *h = arg;

	if (h->sf)
		statefile_on_dynamic(h->sf, b, is_gone);
	if (hastore_role(h->hs) != HASTORE_ACTIVE)
		return;
	if (is_gone)
		gone(h, b->id);
	else
		put_dynamic(h, b);
}

static void on_grant(void *arg, const struct mgr_grant_rec *r, bool is_gone)
{
	struct ha *h = arg;

	if (h->sf)
		statefile_on_grant(h->sf, r, is_gone);
	if (hastore_role(h->hs) != HASTORE_ACTIVE)
		return;
	if (is_gone)
		gone(h, r->id);
	else
		put_grant(h, r);
}

static void push_grant(void *arg, const struct mgr_grant_rec *r)
{
	put_grant(arg, r);
}

static void on_push(void *arg)
{
	struct ha *h = arg;
	char rec[STATEFILE_DYN_MAX], name[24];
	uint32_t cursor = 0;
	struct binding *b;
	int n;

	n = statefile_fmt_header(rec, sizeof(rec), mgr_epoch(h->k->mgr), 0);
	hastore_put(h->hs, "meta", rec, (size_t)n, 0);
	for (unsigned i = 0; i < h->k->rs.n; i++) {
		n = snprintf(rec, sizeof(rec), "R %u %s", i, h->k->rs.realms[i].name);
		snprintf(name, sizeof(name), "realm:%u", i);
		hastore_put(h->hs, name, rec, (size_t)n, 0);
	}
	mgr_each_grant(h->k->mgr, push_grant, h);
	while ((b = bind_next(h->k->bt, &cursor)))
		if (b->kind == BIND_DYNAMIC)
			put_dynamic(h, b);
}

static void on_role(void *arg, enum hastore_role role, uint64_t epoch, const char *why)
{
	struct ha *h = arg;
	uint32_t cursor = 0, now = clock_mono_s();
	struct binding *b;

	(void)epoch;
	(void)why;
	if (role == HASTORE_STANDBY) {
		mgr_set_standby(h->k->mgr, true);
		return;
	}
	/* the warm copy starts its timers now */
	while ((b = bind_next(h->k->bt, &cursor)))
		bind_touch(b, now);
	mgr_set_standby(h->k->mgr, false);
}

static const struct hastore_ops ops = {on_push, on_apply, on_resync, on_role};

struct ha *ha_open(struct event_base *base, const struct hastore_conf *c, struct core *k,
		   struct statefile *sf)
{
	struct ha *h = calloc(1, sizeof(*h));

	if (!h) {
		log_err("ha: out of memory");
		return NULL;
	}
	h->k = k;
	h->sf = sf;
	statefile_peer_init(&h->peer);
	siphash_key_random(&h->key);
	if (!(h->hs = hastore_new(base, c, &ops, h))) {
		free(h);
		return NULL;
	}
	mgr_set_standby(k->mgr, hastore_role(h->hs) == HASTORE_STANDBY);
	bind_set_observer(k->bt, on_dynamic, h);
	mgr_set_persist(k->mgr, on_grant, h);
	return h;
}

void ha_close(struct ha *h)
{
	if (!h)
		return;
	bind_set_observer(h->k->bt, h->sf ? statefile_on_dynamic : NULL, h->sf);
	mgr_set_persist(h->k->mgr, h->sf ? statefile_on_grant : NULL, h->sf);
	hastore_free(h->hs);
	free(h->t);
	free(h);
}

bool ha_standby(const struct ha *h)
{
	return hastore_role(h->hs) == HASTORE_STANDBY;
}

void ha_promote(struct ha *h)
{
	hastore_promote(h->hs);
}

void ha_demote(struct ha *h)
{
	hastore_demote(h->hs, "demoted by command");
}

/* One counter of the node, for natctl (STATS, HA) and the metrics page. */
struct ha_row {
	const char *name; /* natctl's; the metric is natedge_natd_<name>[_total] */
	bool gauge;
	const char *help;
	uint64_t v;
};

#define HA_ROWS 16

static void ha_rows(const struct ha *h, struct ha_row *t)
{
	struct hastore_stats st;
	unsigned i = 0;

	hastore_stats(h->hs, &st);
#define ROW(n, g, hp, val) (t[i++] = (struct ha_row){n, g, hp, (uint64_t)(val)})
	ROW("ha_active", true, "1: this node is the pair's active node, 0: standby.", st.role == HASTORE_ACTIVE);
	ROW("ha_epoch", true, "The fencing epoch held (active) or last seen (standby).", st.epoch);
	ROW("ha_connected", true, "1: connected to Redis.", st.connected);
	ROW("ha_lag_ms", true, "Now minus the time of the newest change applied (standby), ms.",
	    st.lag_ms < 0 ? 0 : st.lag_ms);
	ROW("ha_writes_ok", false, "Records written to Redis.", st.writes_ok);
	ROW("ha_writes_lost", false, "Records not written: Redis away or refusing.", st.writes_lost);
	ROW("ha_writes_stale", false, "Records refused for a newer epoch.", st.stale);
	ROW("ha_records_applied", false, "Records applied from Redis (standby).", st.applied);
	ROW("ha_records_made", false, "Bindings and grants made from records (standby).", h->made);
	ROW("ha_records_renewed", false, "Grants whose lease a record only moved (standby).", h->renewed);
	ROW("ha_records_refused", false, "Records that could not be made here.", h->refused);
	ROW("ha_resyncs", false, "Full resynchronisations (standby).", st.resyncs);
	ROW("ha_pushes", false, "Full pushes of the state (active).", st.pushes);
	ROW("ha_connects", false, "Connections made to Redis.", st.connects);
	ROW("ha_promotions", false, "Promotions to active.", st.promotions);
	ROW("ha_demotions", false, "Demotions to standby.", st.demotions);
#undef ROW
}

void ha_stats(const struct ha *h, struct nc_stats_r *r)
{
	struct ha_row t[HA_ROWS];

	ha_rows(h, t);
	for (size_t i = 0; i < HA_ROWS && r->n < NC_STATS_MAX; i++) {
		snprintf(r->stats[r->n].name, sizeof(r->stats[r->n].name), "%s", t[i].name);
		r->stats[r->n++].value = t[i].v;
	}
}

void ha_print(const struct ha *h, FILE *f)
{
	struct ha_row t[HA_ROWS];

	ha_rows(h, t);
	for (size_t i = 0; i < HA_ROWS; i++)
		fprintf(f, " %s=%" PRIu64, t[i].name, t[i].v);
}

void ha_metrics(const struct ha *h, FILE *f)
{
	struct ha_row t[HA_ROWS];
	char name[80];

	ha_rows(h, t);
	for (size_t i = 0; i < HA_ROWS; i++) {
		snprintf(name, sizeof(name), "natedge_natd_%s%s", t[i].name, t[i].gauge ? "" : "_total");
		metrics_one(f, name, t[i].gauge ? METRICS_GAUGE : METRICS_COUNTER, t[i].help, t[i].v);
	}
}
