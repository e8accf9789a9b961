/* statefile: natd's bindings across a restart (theory of operation in
 * statefile.h).
 *
 * Times. Leases are monotonic seconds inside natd, which mean nothing to
 * the next process after a reboot; the file holds lease ends as Unix time
 * and the conversion is done at each end with the two clocks read
 * together.
 */
#include "statefile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libcontrol/msg.h>

#include "binding.h"
#include "clock.h"
#include "journal.h"
#include "log.h"
#include "manager.h"
#include "pool.h"
#include "realm.h"

#define STATE_VERSION 1
#define REQ_MAX 3800 /* bytes of an encoded BIND in a record (hex doubles it) */

struct statefile {
	struct journal *j;
	struct realm_set *rs;
	struct bind_table *bt;
	struct mgr *m;
	int64_t pcp_start; /* Unix time the PCP epoch began */
};

/* ---- writing ---- */

/* Dynamic bindings come and go with the traffic: their records are
 * formatted by hand (printf was a third of the cost of a new flow). */
static char *put_u(char *p, uint32_t v)
{
	char t[10];
	int n = 0;

	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (n)
		*p++ = t[--n];
	return p;
}

static char *put_sp_u(char *p, uint32_t v)
{
	*p++ = ' ';
	return put_u(p, v);
}

static char *put_sp_addr(char *p, uint32_t a)
{
	const uint8_t *o = (const uint8_t *)&a;

	p = put_sp_u(p, o[0]);
	for (int i = 1; i < 4; i++) {
		*p++ = '.';
		p = put_u(p, o[i]);
	}
	return p;
}

int statefile_fmt_dynamic(char *rec, const struct binding *b)
{
	char *p = rec;

	*p++ = 'D';
	p = put_sp_u(p, b->id);
	p = put_sp_u(p, b->proto);
	p = put_sp_u(p, b->in_realm);
	p = put_sp_addr(p, b->in.addr);
	p = put_sp_u(p, ntohs(b->in.port));
	p = put_sp_u(p, b->ext_realm);
	p = put_sp_addr(p, b->ext.addr);
	p = put_sp_u(p, ntohs(b->ext.port));
	p = put_sp_u(p, b->tcp);
	*p = 0;
	return (int)(p - rec);
}

static void put_dynamic(struct journal *j, const struct binding *b)
{
	char rec[STATEFILE_DYN_MAX];

	journal_put(j, rec, (size_t)statefile_fmt_dynamic(rec, b));
}

int statefile_fmt_grant(char *buf, size_t cap, const struct mgr_grant_rec *r)
{
	uint8_t req[REQ_MAX];
	char reqhex[2 * REQ_MAX + 1], ownhex[2 * sizeof(r->owner) + 1], m[INET_ADDRSTRLEN];
	const char *owner;
	int64_t wall = (int64_t)time(NULL) + (int32_t)(r->deadline - clock_mono_s());
	int n = nc_encode(req, sizeof(req), NC_MSG_BIND, 1, &r->req);

	if (n < 0) {
		log_warn("state file: binding %" PRIu32 " cannot be saved: %s", r->id, nc_strerror(n));
		return -1;
	}
	journal_hex_encode(reqhex, req, (size_t)n);
	owner = journal_str_put(ownhex, r->owner);
	inet_ntop(AF_INET, &r->ext.addr, m, sizeof(m));
	n = snprintf(buf, cap, "G %" PRIu32 " %" PRId64 " %s %u %s %s", r->id, wall, m, ntohs(r->ext.port),
		     owner, reqhex);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

static void put_grant(struct journal *j, const struct mgr_grant_rec *r)
{
	static char rec[STATEFILE_REC_MAX];
	int n = statefile_fmt_grant(rec, sizeof(rec), r);

	if (n > 0)
		journal_put(j, rec, (size_t)n);
}

static void put_gone(struct journal *j, uint32_t id)
{
	char rec[16], *p = rec;

	*p++ = 'X';
	p = put_sp_u(p, id);
	journal_put(j, rec, (size_t)(p - rec));
}

void statefile_on_dynamic(void *arg, const struct binding *b, bool gone)
{
	struct statefile *s = arg;

	if (gone)
		put_gone(s->j, b->id);
	else
		put_dynamic(s->j, b);
}

void statefile_on_grant(void *arg, const struct mgr_grant_rec *r, bool gone)
{
	struct statefile *s = arg;

	if (gone)
		put_gone(s->j, r->id);
	else
		put_grant(s->j, r);
}

struct dump_ctx {
	struct journal *j;
	unsigned long n;
};

static void dump_grant(void *arg, const struct mgr_grant_rec *r)
{
	struct dump_ctx *d = arg;

	put_grant(d->j, r);
	d->n++;
}

int statefile_fmt_header(char *buf, size_t cap, uint64_t epoch, int64_t pcp_start)
{
	return snprintf(buf, cap, "natd-state %d epoch=%016" PRIx64 " pcp_start=%" PRId64, STATE_VERSION,
			epoch, pcp_start);
}

static unsigned long dump(void *arg, struct journal *j)
{
	struct statefile *s = arg;
	struct dump_ctx d = {j, 0};
	uint32_t cursor = 0;
	struct binding *b;

	char head[STATEFILE_DYN_MAX];

	journal_put(j, head, (size_t)statefile_fmt_header(head, sizeof(head), mgr_epoch(s->m), s->pcp_start));
	for (unsigned i = 0; i < s->rs->n; i++)
		journal_printf(j, "R %u %s", i, s->rs->realms[i].name);
	mgr_each_grant(s->m, dump_grant, &d);
	while ((b = bind_next(s->bt, &cursor)))
		if (b->kind == BIND_DYNAMIC) {
			put_dynamic(j, b);
			d.n++;
		}
	return d.n;
}

struct statefile *statefile_open(const char *path, struct event_base *base,
				 struct realm_set *rs, struct bind_table *bt, struct mgr *m,
				 uint32_t pcp_age)
{
	struct statefile *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->rs = rs;
	s->bt = bt;
	s->m = m;
	s->pcp_start = (int64_t)time(NULL) - pcp_age;
	if (!(s->j = journal_open(path, base, dump, s))) {
		free(s);
		return NULL;
	}
	bind_set_observer(bt, statefile_on_dynamic, s);
	mgr_set_persist(m, statefile_on_grant, s);
	return s;
}

void statefile_close(struct statefile *s)
{
	if (!s)
		return;
	bind_set_observer(s->bt, NULL, NULL);
	mgr_set_persist(s->m, NULL, NULL);
	journal_close(s->j, true);
	free(s);
}

/* ---- reading ---- */

struct rec {
	uint32_t id;        /* 0: empty slot */
	char type;          /* 'D', 'G', or 0 once deleted */
	uint8_t proto, r1, r2, tcp;
	struct endpoint in, ext;
	int64_t wall_end;
	struct mgr_grant_rec *g;
};

struct loader {
	struct realm_set *rs;
	struct rec *t;
	uint32_t cap, used;
	uint8_t realm_map[256]; /* the file's realm index -> the running one */
	bool header, version_ok;
	uint64_t epoch;
	int64_t pcp_start;
	struct nc_msg *msg;     /* decode scratch (large) */
	unsigned long grant_bad;
};

static struct rec *rec_slot(struct loader *l, uint32_t id)
{
	uint32_t i = (id * 2654435761u) & (l->cap - 1);

	while (l->t[i].id && l->t[i].id != id)
		i = (i + 1) & (l->cap - 1);
	return &l->t[i];
}

/* The record for id, made if new. NULL when out of memory. */
static struct rec *rec_get(struct loader *l, uint32_t id)
{
	struct rec *r;

	if ((l->used + 1) * 2 > l->cap) {
		uint32_t ocap = l->cap, ncap = ocap ? ocap * 2 : 1024;
		struct rec *ot = l->t, *nt = calloc(ncap, sizeof(*nt));
		if (!nt)
			return NULL;
		l->t = nt;
		l->cap = ncap;
		for (uint32_t i = 0; i < ocap; i++)
			if (ot[i].id)
				*rec_slot(l, ot[i].id) = ot[i];
		free(ot);
	}
	r = rec_slot(l, id);
	if (!r->id) {
		r->id = id;
		l->used++;
	}
	return r;
}

static void rec_clear(struct rec *r)
{
	free(r->g);
	r->g = NULL;
	r->type = 0;
}

static bool ep(const char *addr, const char *port, struct endpoint *e)
{
	uint64_t p;

	if (inet_pton(AF_INET, addr, &e->addr) != 1 || !journal_u64(port, 65535, &p))
		return false;
	e->port = htons((uint16_t)p);
	return true;
}

static int header_line(struct loader *l, char *line)
{
	char *f[8];
	int nf = journal_fields(line, f, 8);
	uint64_t v;

	if (nf < 1 || strcmp(f[0], "natd-state"))
		return -1;
	l->header = true;
	if (nf < 2 || !journal_u64(f[1], 1000, &v) || v != STATE_VERSION)
		return -1;
	for (int i = 2; i < nf; i++) {
		char *end;
		if (!strncmp(f[i], "epoch=", 6)) {
			errno = 0;
			l->epoch = strtoull(f[i] + 6, &end, 16);
			if (errno || *end)
				return -1;
		} else if (!strncmp(f[i], "pcp_start=", 10)) {
			if (!journal_u64(f[i] + 10, INT64_MAX, &v))
				return -1;
			l->pcp_start = (int64_t)v;
		}
	}
	l->version_ok = true;
	return 0;
}

/* A G record's fields into r (r->g allocated). 0 or -1. */
static int parse_grant(struct loader *l, uint32_t id, char **f, int nf, struct rec *r)
{
	struct mgr_grant_rec *g;
	uint8_t req[REQ_MAX];
	long n;
	uint64_t wall;

	if (nf != 7 || !journal_u64(f[2], INT64_MAX, &wall) || !(g = calloc(1, sizeof(*g))))
		return -1;
	if (!ep(f[3], f[4], &g->ext) || !journal_str_get(f[5], g->owner, sizeof(g->owner)) ||
	    (n = journal_hex_decode(req, sizeof(req), f[6])) <= 0 ||
	    nc_decode(req, (size_t)n, l->msg) < 0 || l->msg->type != NC_MSG_BIND) {
		free(g);
		return -1;
	}
	g->id = id;
	g->req = l->msg->u.bind;
	r->type = 'G';
	r->wall_end = (int64_t)wall;
	r->g = g;
	return 0;
}

/* A D record's fields into r. 0 or -1. */
static int parse_dynamic(char **f, int nf, struct rec *r)
{
	uint64_t v[4];
	struct endpoint in, ext;

	if (nf != 10 || !journal_u64(f[2], 255, &v[0]) || !journal_u64(f[3], 255, &v[1]) ||
	    !journal_u64(f[6], 255, &v[2]) || !journal_u64(f[9], 255, &v[3]) || !ep(f[4], f[5], &in) ||
	    !ep(f[7], f[8], &ext))
		return -1;
	r->type = 'D';
	r->proto = (uint8_t)v[0];
	r->r1 = (uint8_t)v[1];
	r->r2 = (uint8_t)v[2];
	r->tcp = (uint8_t)v[3];
	r->in = in;
	r->ext = ext;
	return 0;
}

/* A D or G line (split into f) into r, id set. 0 or -1. */
static int parse_rec(struct loader *l, char **f, int nf, struct rec *r)
{
	uint64_t id;

	memset(r, 0, sizeof(*r));
	if (nf < 2 || strlen(f[0]) != 1 || !journal_u64(f[1], UINT32_MAX - 1, &id) || id == 0)
		return -1;
	r->id = (uint32_t)id;
	if (f[0][0] == 'G')
		return parse_grant(l, r->id, f, nf, r);
	if (f[0][0] == 'D')
		return parse_dynamic(f, nf, r);
	return -1;
}

static int record_line(void *arg, char *line)
{
	struct loader *l = arg;
	char *f[10];
	int nf;
	uint64_t id, v;
	struct rec *r, tmp;

	if (!l->header)
		return header_line(l, line);
	if (!l->version_ok)
		return -1; /* a version this natd cannot read: every line is lost */
	/* at most the fields of the longest record (D) */
	if ((nf = journal_fields(line, f, 10)) < 2 || strlen(f[0]) != 1)
		return -1;
	if (f[0][0] == 'R') {
		/* the file's index of a realm, mapped by name onto the running config */
		if (nf != 3 || !journal_u64(f[1], 255, &v))
			return -1;
		l->realm_map[v] = realm_find(l->rs, f[2]);
		return 0;
	}
	if (f[0][0] == 'X') {
		if (nf != 2 || !journal_u64(f[1], UINT32_MAX - 1, &id) || id == 0)
			return -1;
		if (l->cap && (r = rec_slot(l, (uint32_t)id))->id)
			rec_clear(r);
		return 0;
	}
	if (parse_rec(l, f, nf, &tmp) < 0)
		return -1;
	if (!(r = rec_get(l, tmp.id))) {
		free(tmp.g);
		return -1;
	}
	rec_clear(r);
	*r = tmp;
	return 0;
}

/* Make a dynamic binding again: its M reserved, its id kept. */
static struct binding *restore_dynamic(struct loader *l, struct bind_table *bt, const struct rec *r)
{
	uint8_t r1 = l->realm_map[r->r1], r2 = l->realm_map[r->r2];
	struct pool *pl;
	struct binding *b;
	int pp = pool_proto_of(r->proto), err;

	if (r1 >= l->rs->n || r2 >= l->rs->n || pp < 0 || realm_classify(l->rs, r->in.addr) != r1 ||
	    !(pl = realm_pool_of(&l->rs->realms[r2], r->ext.addr)) ||
	    pool_reserve(pl, (enum pool_proto)pp, r->ext) < 0)
		return NULL;
	if (!(b = bind_insert(bt, BIND_DYNAMIC, r->proto, r1, r->in, r2, r->ext, clock_mono_s(), &err))) {
		pool_release(pl, (enum pool_proto)pp, r->ext);
		return NULL;
	}
	bind_set_id(bt, b, r->id);
	b->tcp = r->tcp;
	return b;
}

void statefile_peer_init(struct statefile_peer *p)
{
	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < 256; i++)
		p->realm_map[i] = (uint8_t)i; /* until R records say otherwise: the same config */
}

int statefile_make(struct statefile_peer *p, struct realm_set *rs, struct bind_table *bt,
		   struct mgr *m, char *line, uint32_t *id, struct binding **made)
{
	struct loader l = {.rs = rs, .header = true, .version_ok = true};
	char *f[10];
	int nf, rc = -1;
	struct rec r;
	struct nc_status st;

	*id = 0;
	*made = NULL;
	if (!strncmp(line, "natd-state ", 11)) {
		l.header = false;
		if (header_line(&l, line) < 0)
			return -1;
		p->epoch = l.epoch;
		p->have_epoch = true;
		return 0;
	}
	memcpy(l.realm_map, p->realm_map, sizeof(l.realm_map));
	if ((nf = journal_fields(line, f, 10)) < 2)
		return -1;
	if (!strcmp(f[0], "R")) {
		uint64_t v;
		if (nf != 3 || !journal_u64(f[1], 255, &v))
			return -1;
		p->realm_map[v] = realm_find(rs, f[2]);
		return 0;
	}
	if (!(l.msg = malloc(sizeof(*l.msg))))
		return -1;
	if (parse_rec(&l, f, nf, &r) < 0)
		goto out;
	*id = r.id;
	if (r.type == 'D') {
		if ((*made = restore_dynamic(&l, bt, &r)))
			rc = 0;
	} else {
		int64_t left = r.wall_end - (int64_t)time(NULL);
		if (left > 0) {
			r.g->deadline = clock_mono_s() + (uint32_t)(left > 7 * 86400 ? 7 * 86400 : left);
			if (mgr_restore(m, r.g, &st) == NC_ST_OK)
				rc = 0;
			else
				log_debug("ha: binding %" PRIu32 " of %s not made: %s", r.id, r.g->owner,
					  st.reason);
		}
	}
out:
	free(r.g);
	free(l.msg);
	return rc;
}

void statefile_restore(const char *path, struct realm_set *rs, struct bind_table *bt,
		       struct mgr *m, struct statefile_result *res)
{
	struct loader l = {.rs = rs};
	struct journal_load_stats ls;
	int err;
	int64_t wall = (int64_t)time(NULL);
	uint32_t mono = clock_mono_s();

	memset(res, 0, sizeof(*res));
	memset(l.realm_map, REALM_NONE, sizeof(l.realm_map));
	if (!(l.msg = malloc(sizeof(*l.msg)))) {
		log_err("state file %s: out of memory: not restored", path);
		return;
	}
	err = journal_load(path, record_line, &l, &ls);
	if (err == -ENOENT) {
		log_notice("state file %s: none yet: starting with no bindings", path);
		goto out;
	}
	res->found = true;
	if (err < 0)
		log_err("state file %s: %s: restored what was read", path, strerror(-err));
	res->bad = ls.bad + (ls.torn ? 1 : 0);
	/* ids first, so partners and aliases made below get fresh ones */
	for (uint32_t i = 0; i < l.cap; i++)
		if (l.t[i].id && l.t[i].type)
			bind_reserve_ids(bt, l.t[i].id);
	/* grants before dynamic bindings: a grant takes an E a dynamic one held */
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < l.cap; i++) {
			struct rec *r = &l.t[i];
			struct nc_status st;
			if (!r->id || r->type != (pass ? 'D' : 'G'))
				continue;
			if (r->type == 'D') {
				if (restore_dynamic(&l, bt, r))
					res->dynamic++;
				else
					res->lost++;
				continue;
			}
			if (r->wall_end <= wall) {
				res->expired++;
				continue;
			}
			r->g->deadline = mono + (uint32_t)(r->wall_end - wall > 7 * 86400 ? 7 * 86400
									   : r->wall_end - wall);
			if (mgr_restore(m, r->g, &st) == NC_ST_OK) {
				res->grants++;
			} else {
				res->lost++;
				log_warn("state file: binding %" PRIu32 " of %s not restored: %s", r->id,
					 r->g->owner, st.reason);
			}
		}
	res->whole = err == 0 && l.version_ok && !res->bad && !res->lost;
	if (res->whole) {
		mgr_set_epoch(m, l.epoch);
		if (l.pcp_start && l.pcp_start <= wall)
			res->pcp_age = (uint32_t)(wall - l.pcp_start);
	}
	log_notice("state file %s: %lu grants and %lu dynamic bindings restored, %lu expired "
		   "meanwhile, %lu lost, %lu bad lines: %s",
		   path, res->grants, res->dynamic, res->expired, res->lost, res->bad,
		   res->whole ? "same epoch" : "new epoch (clients will ask again)");
out:
	for (uint32_t i = 0; i < l.cap; i++)
		free(l.t[i].g);
	free(l.t);
	free(l.msg);
}
