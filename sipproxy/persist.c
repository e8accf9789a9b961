/* persist: sipproxy's state file (record format in persist.h).
 *
 * Theory of operation.
 *  - Writing. persist_open() sets the registrar's hook and media's hooks
 *    and opens the journal, whose first snapshot (dump) is the header, an
 *    R line per live contact and a C group per live call. Each hook then
 *    appends the records of one change with journal_printf(); the journal
 *    writes them at the end of the event-loop pass, and compacts the file
 *    by itself. Expiries are turned from the registrar's monotonic clock
 *    into wall-clock time as they are written.
 *  - Reading. persist_load() hands every line to replay(): split into
 *    fields (one space each, no empty field), each field checked (hex
 *    strings decoded into bounded buffers with no NUL or control byte,
 *    decimal numbers without sign or overflow and within their range,
 *    dotted IPv4 addresses, names of the configuration). A registration
 *    goes straight into the registrar. A call is assembled in one pending
 *    struct media_call_state from its C line and the B, P and F lines that
 *    follow, and handed to media_restore_call() when the next record of
 *    another kind or call comes (or the file ends); an X line drops it.
 *    Nothing a line says is trusted before it parsed whole.
 *  - Nothing here sends anything to natd: media resumes the refreshes when
 *    its natd connections come up (media.h).
 */
#include "persist.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hop.h"
#include "journal.h"
#include "log.h"
#include "name.h"

#define MAX_FIELDS (4 + NC_FILTER_MAX + 1) /* an F line with every filter, and one too many */

struct persist {
	const struct sp_conf *conf;
	struct registrar *reg;
	struct media *m;
	struct dlg_table *dlg;
	persist_clock_fn mono;
	struct journal *j;
	unsigned long dumped;         /* lines of the snapshot being written */
	/* the mirror (persist_set_mirror): one change's lines gathered in rec */
	struct persist_mirror mirror;
	bool collect;                 /* emit() also appends to rec */
	char *rec;
	size_t rec_len, rec_cap;
	bool rec_bad;                 /* out of memory while gathering: not sent */
	int64_t rec_ttl;              /* the longest lease among its contacts (s) */
	/* loading */
	struct persist_stats st;
	int64_t load_mono;
	time_t load_wall;
	unsigned long lineno;
	unsigned long first_bad;      /* the first problem: its record (line handed to replay) */
	char first_why[96];
	struct media_call_state *pend; /* the call being assembled */
	bool have_pend;
	bool applying;                /* persist_apply(): the hooks stay quiet */
};

/* ---- writing ---- */

static bool tp_parse(const char *w, struct tp_addr *a)
{
	if (strcmp(w, "udp") && strcmp(w, "tcp") && strcmp(w, "tls"))
		return false;
	a->tls = w[1] == 'l';
	a->tcp = w[0] == 't';
	return true;
}

/* One record line: to the journal when one is open, and into rec while a
 * change is being gathered for the mirror. */
static void emit(struct persist *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct persist *ps, const char *fmt, ...)
{
	char line[JOURNAL_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return; /* cannot happen: every field is bounded */
	if (ps->j)
		journal_put(ps->j, line, (size_t)n);
	if (!ps->collect)
		return;
	if (ps->rec_len + (size_t)n + 2 > ps->rec_cap) {
		size_t cap = ps->rec_cap ? ps->rec_cap * 2 : 1024;
		char *r;

		while (cap < ps->rec_len + (size_t)n + 2)
			cap *= 2;
		if (!(r = realloc(ps->rec, cap))) {
			ps->rec_bad = true;
			return;
		}
		ps->rec = r;
		ps->rec_cap = cap;
	}
	memcpy(ps->rec + ps->rec_len, line, (size_t)n);
	ps->rec_len += (size_t)n;
	ps->rec[ps->rec_len++] = '\n';
	ps->rec[ps->rec_len] = '\0';
}

/* Gathering one change for the mirror: gather_begin, emit..., gather_end. */
static void gather_begin(struct persist *ps)
{
	ps->collect = ps->mirror.put != NULL;
	ps->rec_len = 0;
	ps->rec_bad = false;
	ps->rec_ttl = 0;
}

/* Hand the gathered lines (none: the record is gone) to the mirror. */
static void gather_end(struct persist *ps, enum persist_kind kind, const char *key, int64_t ttl)
{
	if (!ps->collect)
		return;
	ps->collect = false;
	if (ps->rec_bad) {
		ps->mirror.lost++;
		return;
	}
	if (ttl < 1)
		ttl = 1;
	if (ttl > UINT32_MAX)
		ttl = UINT32_MAX;
	ps->mirror.put(ps->mirror.arg, kind, key, ps->rec_len ? ps->rec : NULL, ps->rec_len, (uint32_t)ttl);
}

/* A call's or a dialog's lifetime left (media.max_call_duration). */
static int64_t life_left(const struct persist *ps, time_t started)
{
	return (int64_t)ps->conf->max_call_duration - ((int64_t)time(NULL) - (int64_t)started);
}

static const char *ip4f(char *dst, const uint8_t a[4])
{
	return inet_ntop(AF_INET, a, dst, INET_ADDRSTRLEN) ? dst : "0.0.0.0";
}

static void put_contact(void *arg, const char *aor, const struct reg_contact *c)
{
	struct persist *ps = arg;
	char h_aor[2 * REG_AOR_MAX + 1], h_uri[2 * REG_URI_MAX + 1], h_cid[2 * REG_CALLID_MAX + 1];
	char ip[INET_ADDRSTRLEN];
	int64_t now = ps->mono(), left = c->expires - now;
	long long wall = (long long)time(NULL) + (left > 0 ? left : 0);

	ps->dumped++;
	if (left > ps->rec_ttl)
		ps->rec_ttl = left;
	emit(ps, "R %s %s %lld %u %s %u %s %s %u", journal_str_put(h_aor, aor), journal_str_put(h_uri, c->uri),
		       wall, c->q, journal_str_put(h_cid, c->call_id), c->cseq, hop_name(&c->src),
		       ip4f(ip, (const uint8_t *)&c->src.peer.sin_addr),
		       (unsigned)ntohs(c->src.peer.sin_port));
}

/* The whole of one call: its C line and what follows. Returns the lines. */
static unsigned long put_call(struct persist *ps, const struct media_call_state *s)
{
	const struct sp_conf *conf = ps->conf;
	char h_cid[2 * MEDIA_CALLID_MAX + 1], h_tag[2 * MEDIA_TAG_MAX + 1];
	char e[INET_ADDRSTRLEN], mm[INET_ADDRSTRLEN];
	unsigned long n = 1;

	journal_str_put(h_cid, s->call_id);
	emit(ps, "C %s %lld", h_cid, (long long)s->started);
	for (unsigned i = 0; i < s->nb; i++) {
		const struct media_binding *b = &s->b[i];
		const struct spc_rule *r;

		/* a reload may have removed its rule or nat: it cannot come back */
		if (b->nat < 0 || (unsigned)b->nat >= conf->nnats || b->rule < 0 ||
		    (unsigned)b->rule >= conf->nrules || b->alloc.ip.af != NC_AF_IP4)
			continue;
		r = &conf->rules[b->rule];
		emit(ps, "B %s %s %u %llu %s %s %s %u %u %d %d %s %u %s", h_cid,
			       conf->nats[b->nat].name, b->id, (unsigned long long)b->epoch,
			       conf->realms[r->from].name, conf->realms[r->to].name, ip4f(e, b->addr),
			       b->port, b->proto, b->rtp_pair, b->filtered, ip4f(mm, b->alloc.ip.a),
			       b->alloc.port, journal_str_put(h_tag, b->tag));
		n++;
	}
	for (unsigned i = 0; i < s->nparty; i++) {
		const struct media_party *p = &s->party[i];

		emit(ps, "P %s %s %s", h_cid, journal_str_put(h_tag, p->tag),
			       p->origin.af == NC_AF_IP4 ? ip4f(e, p->origin.a) : "-");
		n++;
	}
	for (unsigned r = 0; r < conf->nrealms && r < SPC_MAX_REALMS; r++) {
		const struct sdp_remote_filter *f = &s->filt[r];
		char buf[NC_FILTER_MAX * 40 + 1];
		size_t off = 0;
		unsigned k = 0;

		if (!s->has_filt[r])
			continue;
		buf[0] = '\0';
		for (unsigned i = 0; i < f->n && i < NC_FILTER_MAX; i++) {
			if (f->m[i].ip.af != NC_AF_IP4)
				continue;
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, " %s/%u/%u-%u",
						ip4f(e, f->m[i].ip.a), f->m[i].plen, f->m[i].port_lo,
						f->m[i].port_hi);
			k++;
		}
		emit(ps, "F %s %s %u%s", h_cid, conf->realms[r].name, k, buf);
		n++;
	}
	return n;
}

/* A dialog's key for the mirror: "call-id tag tag" as its lines write them. */
static const char *dialog_key(char *dst, size_t cap, const struct dlg_info *d)
{
	char h_cid[2 * DLG_CALLID_MAX + 1], h_a[2 * DLG_TAG_MAX + 1], h_b[2 * DLG_TAG_MAX + 1];

	snprintf(dst, cap, "%s %s %s", journal_str_put(h_cid, d->call_id), journal_str_put(h_a, d->caller.tag),
		 journal_str_put(h_b, d->callee.tag));
	return dst;
}

#define DIALOG_KEY_MAX (2 * DLG_CALLID_MAX + 4 * DLG_TAG_MAX + 3)

static void put_dialog(void *arg, const struct dlg_info *d)
{
	struct persist *ps = arg;
	char h_cid[2 * DLG_CALLID_MAX + 1], h_a[2 * DLG_TAG_MAX + 1], h_b[2 * DLG_TAG_MAX + 1];
	char ca[INET_ADDRSTRLEN], ea[INET_ADDRSTRLEN];

	ps->dumped++;
	emit(ps, "D %s %s %s %lld %s %s %u %s %s %u", journal_str_put(h_cid, d->call_id),
		       journal_str_put(h_a, d->caller.tag), journal_str_put(h_b, d->callee.tag),
		       (long long)d->started, hop_name(&d->caller.src),
		       ip4f(ca, (const uint8_t *)&d->caller.src.peer.sin_addr),
		       (unsigned)ntohs(d->caller.src.peer.sin_port), hop_name(&d->callee.src),
		       ip4f(ea, (const uint8_t *)&d->callee.src.peer.sin_addr),
		       (unsigned)ntohs(d->callee.src.peer.sin_port));
}

static void on_dialog_changed(void *arg, const struct dlg_info *d)
{
	struct persist *ps = arg;
	char key[DIALOG_KEY_MAX];

	if (ps->applying)
		return;

	gather_begin(ps);
	put_dialog(ps, d);
	gather_end(ps, PERSIST_DIALOG, dialog_key(key, sizeof(key), d), life_left(ps, d->started));
}

static void on_dialog_ended(void *arg, const struct dlg_info *d)
{
	struct persist *ps = arg;
	char key[DIALOG_KEY_MAX];

	if (ps->applying)
		return;

	dialog_key(key, sizeof(key), d);
	if (ps->j)
		journal_printf(ps->j, "E %s", key);
	gather_begin(ps);
	gather_end(ps, PERSIST_DIALOG, key, 0);
}

struct dump_ctx {
	struct persist *ps;
	unsigned long n;
};

static void dump_call(void *arg, const struct media_call_state *s)
{
	struct dump_ctx *d = arg;

	d->n += put_call(d->ps, s);
}

static void count_call(void *arg, const struct media_call_state *s)
{
	struct persist_stats *st = arg;

	st->calls++;
	st->bindings += s->nb;
}

static unsigned long dump(void *arg, struct journal *j)
{
	struct persist *ps = arg;
	struct dump_ctx d = {ps, 1};

	ps->j = j; /* the first snapshot is written inside journal_open() */
	journal_printf(j, "%s %d", PERSIST_HEADER, PERSIST_VERSION);
	ps->dumped = 0;
	registrar_each(ps->reg, ps->mono(), put_contact, ps);
	d.n += ps->dumped;
	media_each_call(ps->m, dump_call, &d);
	ps->dumped = 0;
	dlg_each(ps->dlg, put_dialog, ps);
	d.n += ps->dumped;
	return d.n;
}

/* Contact of one AoR, at the REGISTER's now (not the clock's). */
struct aor_ctx {
	struct persist *ps;
	int64_t now;
};

static void put_contact_at(void *arg, const char *aor, const struct reg_contact *c)
{
	struct aor_ctx *a = arg;
	struct reg_contact t = *c;

	/* put_contact reads the clock: shift the expiry to it */
	t.expires = c->expires - a->now + a->ps->mono();
	put_contact(a->ps, aor, &t);
}

static void on_aor_changed(void *arg, const char *aor, int64_t now)
{
	struct persist *ps = arg;
	char h_aor[2 * REG_AOR_MAX + 1];
	struct aor_ctx a = {ps, now};
	unsigned n;

	if (ps->applying)
		return;

	journal_str_put(h_aor, aor);
	gather_begin(ps);
	emit(ps, "A %s", h_aor);
	n = registrar_each_of(ps->reg, aor, now, put_contact_at, &a);
	if (!n)
		ps->rec_len = 0; /* no contact left: the AoR is gone */
	gather_end(ps, PERSIST_REG, h_aor, ps->rec_ttl);
}

static void on_call_changed(void *arg, const struct media_call_state *s)
{
	struct persist *ps = arg;
	char h_cid[2 * MEDIA_CALLID_MAX + 1];

	if (ps->applying)
		return;

	gather_begin(ps);
	put_call(ps, s);
	gather_end(ps, PERSIST_CALL, journal_str_put(h_cid, s->call_id), life_left(ps, s->started));
}

static void on_call_ended(void *arg, const char *call_id)
{
	struct persist *ps = arg;
	char h_cid[2 * MEDIA_CALLID_MAX + 1];

	if (ps->applying)
		return;

	journal_str_put(h_cid, call_id);
	if (ps->j)
		journal_printf(ps->j, "X %s", h_cid);
	gather_begin(ps);
	gather_end(ps, PERSIST_CALL, h_cid, 0);
}

/* ---- reading: fields ---- */

static bool ip4(const char *s, uint8_t a[4])
{
	return strlen(s) < INET_ADDRSTRLEN && inet_pton(AF_INET, s, a) == 1;
}

static bool port(const char *s, uint16_t *p)
{
	uint64_t v;

	if (!journal_u64(s, 65535, &v) || v == 0)
		return false;
	*p = (uint16_t)v;
	return true;
}

static bool flag(const char *s, bool *b)
{
	if (strcmp(s, "0") && strcmp(s, "1"))
		return false;
	*b = s[0] == '1';
	return true;
}

static int nat_index(const struct sp_conf *c, const char *name)
{
	for (unsigned i = 0; i < c->nnats; i++)
		if (!strcmp(c->nats[i].name, name))
			return (int)i;
	return -1;
}

static bool is_name(const char *s)
{
	return name_ok(s, SPC_NAME_MAX - 1);
}

/* ---- reading: records ---- */

/* A refusal: counted by the caller (bad, -1) or here (skipped, 0); the
 * first one's reason is kept for the log. */
static int why(struct persist *ps, bool malformed, const char *reason)
{
	if (!ps->first_bad) {
		ps->first_bad = ps->lineno;
		snprintf(ps->first_why, sizeof(ps->first_why), "%s", reason);
	}
	if (malformed)
		return -1;
	ps->st.skipped++;
	return 0;
}

static void commit_pending(struct persist *ps)
{
	int rc;

	if (!ps->have_pend)
		return;
	ps->have_pend = false;
	rc = media_restore_call(ps->m, ps->pend);
	if (rc < 0)
		why(ps, false, rc == -ENOSPC ? "call over sip.max_calls" : "call refused");
}

static int rec_contact(struct persist *ps, char **f, int n)
{
	char aor[REG_AOR_MAX];
	struct reg_contact c;
	uint64_t exp, q, cseq;
	int64_t left;
	int realm, li, rc;

	memset(&c, 0, sizeof(c));
	if (n != 10)
		return why(ps, true, "R: wrong number of fields");
	if (!journal_str_get(f[1], aor, sizeof(aor)) || !aor[0] || !journal_str_get(f[2], c.uri, sizeof(c.uri)) ||
	    !c.uri[0] || !journal_str_get(f[5], c.call_id, sizeof(c.call_id)) || !c.call_id[0])
		return why(ps, true, "R: bad string");
	if (!journal_u64(f[3], INT64_MAX, &exp) || !journal_u64(f[4], 1000, &q) || !journal_u64(f[6], UINT32_MAX - 1, &cseq))
		return why(ps, true, "R: bad number");
	if (!tp_parse(f[7], &c.src))
		return why(ps, true, "R: bad transport");
	c.src.peer.sin_family = AF_INET;
	if (!ip4(f[8], (uint8_t *)&c.src.peer.sin_addr) || !port(f[9], &c.src.peer.sin_port))
		return why(ps, true, "R: bad address");
	c.src.peer.sin_port = htons(c.src.peer.sin_port);
	/* a TCP connection does not survive: conn 0 means "any, or a new one
	 * to that address" (transport.h); the listen is chosen again when a
	 * request goes out */
	c.src.conn = 0;
	realm = sp_conf_realm_of(ps->conf, c.src.peer.sin_addr.s_addr);
	li = realm >= 0 ? hop_listen(ps->conf, realm, &c.src) : -1;
	c.src.listen = li >= 0 ? li : 0;
	c.q = (unsigned)q;
	c.cseq = (uint32_t)cseq;
	if ((int64_t)exp <= (int64_t)ps->load_wall) {
		ps->st.regs_expired++;
		return 0;
	}
	left = (int64_t)exp - (int64_t)ps->load_wall;
	if (left > (int64_t)ps->conf->reg_max_expires)
		left = ps->conf->reg_max_expires; /* the clock went back, or the limit came down */
	c.expires = ps->load_mono + left;
	rc = registrar_restore(ps->reg, aor, &c);
	if (rc == -EINVAL)
		return why(ps, true, "R: contact refused by the registrar");
	if (rc < 0)
		return why(ps, false, "R: registrar full");
	ps->st.regs++;
	return 0;
}

static int rec_aor(struct persist *ps, char **f, int n)
{
	char aor[REG_AOR_MAX];

	if (n != 2 || !journal_str_get(f[1], aor, sizeof(aor)) || !aor[0])
		return why(ps, true, "A: malformed");
	registrar_remove_aor(ps->reg, aor);
	return 0;
}

static int rec_call(struct persist *ps, char **f, int n)
{
	struct media_call_state *s = ps->pend;
	uint64_t started;

	commit_pending(ps);
	if (n != 3)
		return why(ps, true, "C: wrong number of fields");
	memset(s, 0, sizeof(*s));
	if (!journal_str_get(f[1], s->call_id, sizeof(s->call_id)) || !s->call_id[0] ||
	    !journal_u64(f[2], INT64_MAX, &started))
		return why(ps, true, "C: malformed");
	/* a clock that went back: the call's age counts from now */
	s->started = (time_t)started > ps->load_wall ? ps->load_wall : (time_t)started;
	ps->have_pend = true;
	return 0;
}

/* The pending call, if field f names it. */
static bool of_pending(struct persist *ps, const char *f)
{
	char cid[MEDIA_CALLID_MAX];

	return ps->have_pend && journal_str_get(f, cid, sizeof(cid)) && !strcmp(cid, ps->pend->call_id);
}

static int rec_binding(struct persist *ps, char **f, int n)
{
	struct media_call_state *s = ps->pend;
	struct media_binding b;
	const struct spc_rule *r;
	uint64_t id, epoch, proto;
	int nat, from, to;
	unsigned i;

	memset(&b, 0, sizeof(b));
	if (n != 15)
		return why(ps, true, "B: wrong number of fields");
	if (!of_pending(ps, f[1]))
		return why(ps, true, "B: not after its call's C line");
	if (!is_name(f[2]) || !is_name(f[5]) || !is_name(f[6]) || !journal_u64(f[3], UINT32_MAX, &id) ||
	    !journal_u64(f[4], UINT64_MAX, &epoch) || !ip4(f[7], b.addr) || !port(f[8], &b.port) ||
	    !journal_u64(f[9], 255, &proto) || (proto != NC_PROTO_UDP && proto != NC_PROTO_TCP) ||
	    !flag(f[10], &b.rtp_pair) || !flag(f[11], &b.filtered) || !ip4(f[12], b.alloc.ip.a) ||
	    !port(f[13], &b.alloc.port) || !journal_str_get(f[14], b.tag, sizeof(b.tag)) ||
	    (b.rtp_pair && b.port == 65535))
		return why(ps, true, "B: malformed");
	nat = nat_index(ps->conf, f[2]);
	from = sp_conf_realm_index(ps->conf, f[5]);
	to = sp_conf_realm_index(ps->conf, f[6]);
	r = from >= 0 && to >= 0 ? sp_conf_rule(ps->conf, from, to) : NULL;
	if (nat < 0 || !r || r->nat != nat)
		return why(ps, false, "B: its nat or media rule is no longer configured");
	b.nat = nat;
	b.rule = (int)(r - ps->conf->rules);
	b.id = (uint32_t)id;
	b.epoch = epoch;
	b.proto = (uint8_t)proto;
	b.alloc.ip.af = NC_AF_IP4;
	for (i = 0; i < s->nb; i++)
		if (s->b[i].nat == b.nat && s->b[i].id == b.id && s->b[i].epoch == b.epoch)
			break;
	if (i == MEDIA_MAX_BINDINGS)
		return why(ps, false, "B: too many bindings in one call");
	s->b[i] = b;
	if (i == s->nb)
		s->nb++;
	return 0;
}

static int rec_party(struct persist *ps, char **f, int n)
{
	struct media_call_state *s = ps->pend;
	struct media_party p;
	unsigned i;

	memset(&p, 0, sizeof(p));
	if (n != 4)
		return why(ps, true, "P: wrong number of fields");
	if (!of_pending(ps, f[1]))
		return why(ps, true, "P: not after its call's C line");
	if (!journal_str_get(f[2], p.tag, sizeof(p.tag)))
		return why(ps, true, "P: malformed");
	if (strcmp(f[3], "-")) {
		if (!ip4(f[3], p.origin.a))
			return why(ps, true, "P: malformed");
		p.origin.af = NC_AF_IP4;
	}
	for (i = 0; i < s->nparty; i++)
		if (!strcmp(s->party[i].tag, p.tag))
			break;
	if (i == MEDIA_MAX_PARTIES)
		return why(ps, false, "P: too many parties in one call");
	s->party[i] = p;
	if (i == s->nparty)
		s->nparty++;
	return 0;
}

/* "a.b.c.d/plen/lo-hi" */
static bool match(char *s, struct nc_match *m)
{
	char *p1 = strchr(s, '/'), *p2, *dash;
	uint64_t plen, lo, hi;

	if (!p1 || !(p2 = strchr(p1 + 1, '/')) || !(dash = strchr(p2 + 1, '-')))
		return false;
	*p1 = *p2 = *dash = '\0';
	memset(m, 0, sizeof(*m));
	if (!ip4(s, m->ip.a) || !journal_u64(p1 + 1, 32, &plen) || !journal_u64(p2 + 1, 65535, &lo) ||
	    !journal_u64(dash + 1, 65535, &hi) || lo > hi)
		return false;
	m->ip.af = NC_AF_IP4;
	m->plen = (uint8_t)plen;
	m->port_lo = (uint16_t)lo;
	m->port_hi = (uint16_t)hi;
	return true;
}

static int rec_filter(struct persist *ps, char **f, int n)
{
	struct sdp_remote_filter flt;
	uint64_t k;
	int realm;

	memset(&flt, 0, sizeof(flt));
	if (n < 4 || !journal_u64(f[3], NC_FILTER_MAX, &k) || n != 4 + (int)k)
		return why(ps, true, "F: wrong number of fields");
	if (!of_pending(ps, f[1]))
		return why(ps, true, "F: not after its call's C line");
	if (!is_name(f[2]))
		return why(ps, true, "F: malformed");
	for (unsigned i = 0; i < k; i++)
		if (!match(f[4 + i], &flt.m[i]))
			return why(ps, true, "F: bad filter");
	flt.n = (unsigned)k;
	if ((realm = sp_conf_realm_index(ps->conf, f[2])) < 0 || realm >= SPC_MAX_REALMS)
		return why(ps, false, "F: its realm is no longer configured");
	ps->pend->filt[realm] = flt;
	ps->pend->has_filt[realm] = true;
	return 0;
}

static int rec_end(struct persist *ps, char **f, int n)
{
	char cid[MEDIA_CALLID_MAX];

	if (n != 2 || !journal_str_get(f[1], cid, sizeof(cid)) || !cid[0])
		return why(ps, true, "X: malformed");
	if (ps->have_pend && !strcmp(cid, ps->pend->call_id))
		ps->have_pend = false;
	commit_pending(ps);
	media_forget_call(ps->m, cid);
	return 0;
}

/* "udp|tcp ip port" at f into a flow (no connection: TCP ones are gone) */
static bool flow(struct persist *ps, char **f, struct tp_addr *a)
{
	uint16_t pt;
	int realm, li;

	memset(a, 0, sizeof(*a));
	if (!tp_parse(f[0], a) || !ip4(f[1], (uint8_t *)&a->peer.sin_addr) || !port(f[2], &pt))
		return false;
	a->peer.sin_family = AF_INET;
	a->peer.sin_port = htons(pt);
	realm = sp_conf_realm_of(ps->conf, a->peer.sin_addr.s_addr);
	li = realm >= 0 ? hop_listen(ps->conf, realm, a) : -1;
	a->listen = li >= 0 ? li : 0;
	return true;
}

static int rec_dialog(struct persist *ps, char **f, int n)
{
	struct dlg_info d;
	uint64_t started;
	int rc;

	memset(&d, 0, sizeof(d));
	if (n != 11)
		return why(ps, true, "D: wrong number of fields");
	if (!journal_str_get(f[1], d.call_id, sizeof(d.call_id)) || !d.call_id[0] ||
	    !journal_str_get(f[2], d.caller.tag, sizeof(d.caller.tag)) || !d.caller.tag[0] ||
	    !journal_str_get(f[3], d.callee.tag, sizeof(d.callee.tag)) || !d.callee.tag[0] ||
	    !journal_u64(f[4], INT64_MAX, &started) || !flow(ps, f + 5, &d.caller.src) ||
	    !flow(ps, f + 8, &d.callee.src))
		return why(ps, true, "D: malformed");
	d.confirmed = true;
	/* a clock that went back: the dialog's age counts from now */
	d.started = (time_t)started > ps->load_wall ? ps->load_wall : (time_t)started;
	dlg_end(ps->dlg, d.call_id, d.caller.tag, d.callee.tag); /* a later D replaces */
	rc = dlg_restore(ps->dlg, &d);
	if (rc == -ENOSPC)
		return why(ps, false, "dialog over sip.max_calls");
	if (rc < 0)
		return why(ps, true, "D: refused");
	return 0;
}

static int rec_dialog_end(struct persist *ps, char **f, int n)
{
	char cid[DLG_CALLID_MAX], a[DLG_TAG_MAX], b[DLG_TAG_MAX];

	if (n != 4 || !journal_str_get(f[1], cid, sizeof(cid)) || !cid[0] ||
	    !journal_str_get(f[2], a, sizeof(a)) || !journal_str_get(f[3], b, sizeof(b)))
		return why(ps, true, "E: malformed");
	dlg_end(ps->dlg, cid, a, b);
	return 0;
}

static int rec_header(struct persist *ps, char **f, int n)
{
	uint64_t v;

	commit_pending(ps);
	if (n != 2 || !journal_u64(f[1], 1000000, &v) || v == 0) {
		if (!ps->st.version)
			ps->st.version = -1; /* the file starts wrong: none of it is read */
		return why(ps, true, "header: malformed");
	}
	ps->st.version = (int)v;
	if (v != PERSIST_VERSION)
		return why(ps, true, "header: unknown version");
	return 0;
}

/* journal_line_fn: one line of the file. */
static int replay(void *arg, char *line)
{
	struct persist *ps = arg;
	char *f[MAX_FIELDS];
	int n;

	ps->lineno++;
	n = journal_fields(line, f, MAX_FIELDS);
	if (n > 0 && !strcmp(f[0], PERSIST_HEADER))
		return rec_header(ps, f, n);
	if (ps->st.version != PERSIST_VERSION)
		return why(ps, true, ps->st.version ? "after a header this sipproxy cannot read"
						    : "no header line first");
	if (n < 0)
		return why(ps, true, "empty field or too many fields");
	if (strlen(f[0]) != 1)
		return why(ps, true, "unknown record");
	/* B, P, F belong to the pending call; anything else ends it */
	if (!strchr("BPFX", f[0][0]))
		commit_pending(ps);
	switch (f[0][0]) {
	case 'A': return rec_aor(ps, f, n);
	case 'R': return rec_contact(ps, f, n);
	case 'C': return rec_call(ps, f, n);
	case 'B': return rec_binding(ps, f, n);
	case 'P': return rec_party(ps, f, n);
	case 'F': return rec_filter(ps, f, n);
	case 'X': return rec_end(ps, f, n);
	case 'D': return rec_dialog(ps, f, n);
	case 'E': return rec_dialog_end(ps, f, n);
	default: return why(ps, true, "unknown record");
	}
}

/* ---- the module ---- */

struct persist *persist_new(const struct sp_conf *conf, struct registrar *reg, struct media *m,
			    struct dlg_table *dlg, persist_clock_fn mono)
{
	struct persist *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	if (!(ps->pend = calloc(1, sizeof(*ps->pend)))) {
		free(ps);
		return NULL;
	}
	ps->conf = conf;
	ps->reg = reg;
	ps->m = m;
	ps->dlg = dlg;
	ps->mono = mono;
	return ps;
}

/* The hooks are set while a journal or a mirror wants the changes. */
static void set_hooks(struct persist *ps)
{
	struct media_hooks h = {.changed = on_call_changed, .ended = on_call_ended, .arg = ps};
	struct dlg_hooks dh = {.changed = on_dialog_changed, .ended = on_dialog_ended, .arg = ps};
	bool on = ps->j || ps->mirror.put;

	registrar_set_hook(ps->reg, on ? on_aor_changed : NULL, on ? ps : NULL);
	media_set_hooks(ps->m, on ? &h : NULL);
	dlg_set_hooks(ps->dlg, on ? &dh : NULL);
}

void persist_free(struct persist *ps)
{
	if (!ps)
		return;
	persist_close(ps, false);
	persist_set_mirror(ps, NULL);
	free(ps->pend);
	free(ps->rec);
	free(ps);
}

int persist_load(struct persist *ps, const char *path, struct persist_stats *out)
{
	struct journal_load_stats js;
	int rc;

	memset(&ps->st, 0, sizeof(ps->st));
	ps->lineno = ps->first_bad = 0;
	ps->first_why[0] = '\0';
	ps->have_pend = false;
	ps->load_mono = ps->mono();
	ps->load_wall = time(NULL);
	rc = journal_load(path, replay, ps, &js);
	commit_pending(ps);
	media_each_call(ps->m, count_call, &ps->st);
	{
		struct dlg_stats ds;

		dlg_get_stats(ps->dlg, &ds);
		ps->st.dialogs = ds.confirmed;
	}
	ps->st.lines = js.lines;
	ps->st.bad = js.bad;
	ps->st.torn = js.torn;
	if (out)
		*out = ps->st;
	if (rc == -ENOENT) {
		log_info("state file %s: none yet, nothing to restore", path);
		return rc;
	}
	if (rc < 0) {
		log_err("state file %s: cannot read: %s", path, strerror(-rc));
		return rc;
	}
	if (ps->st.version != PERSIST_VERSION && js.lines) {
		/* keep it aside: the first snapshot is about to replace it */
		size_t n = strlen(path) + sizeof(".unreadable");
		char *aside = malloc(n);
		bool kept = false;

		if (aside) {
			snprintf(aside, n, "%s.unreadable", path);
			kept = rename(path, aside) == 0;
		}
		log_err("state file %s: %s (version %d, this sipproxy reads %d): nothing restored from it%s%s",
			path, ps->st.version > 0 ? "written by another version" : "no valid header",
			ps->st.version, PERSIST_VERSION, kept ? "; kept as " : "", kept ? aside : "");
		free(aside);
	}
	log_notice("state file %s: restored %lu registration%s (%lu expired, dropped) and %lu call%s "
		   "with %lu binding%s; %lu dialog%s",
		   path, ps->st.regs, ps->st.regs == 1 ? "" : "s", ps->st.regs_expired, ps->st.calls,
		   ps->st.calls == 1 ? "" : "s", ps->st.bindings, ps->st.bindings == 1 ? "" : "s",
		   ps->st.dialogs, ps->st.dialogs == 1 ? "" : "s");
	if (ps->st.bad || ps->st.skipped)
		log_warn("state file %s: %lu of %lu lines unusable and skipped, %lu records not for this "
			 "configuration (first: record %lu, %s)",
			 path, ps->st.bad, ps->st.lines, ps->st.skipped, ps->first_bad,
			 ps->first_bad ? ps->first_why : "too long or holds a NUL byte");
	if (js.torn)
		log_warn("state file %s: its last line was cut short (ignored)", path);
	return 0;
}

int persist_open(struct persist *ps, const char *path, struct event_base *base)
{
	if (ps->j)
		return 0;
	/* dump() sets ps->j for the first snapshot already */
	ps->j = journal_open(path, base, dump, ps);
	if (!ps->j) {
		log_err("state file %s: cannot be written (its directory must be writable by the user sipproxy runs as)",
			path);
		return -1;
	}
	set_hooks(ps);
	return 0;
}

void persist_close(struct persist *ps, bool final)
{
	if (!ps || !ps->j)
		return;
	journal_close(ps->j, final);
	ps->j = NULL;
	set_hooks(ps);
}

bool persist_is_open(const struct persist *ps)
{
	return ps && ps->j;
}

/* ---- the mirror ---- */

void persist_set_mirror(struct persist *ps, const struct persist_mirror *m)
{
	if (m)
		ps->mirror = *m;
	else
		memset(&ps->mirror, 0, sizeof(ps->mirror));
	set_hooks(ps);
}

struct push_ctx {
	struct persist *ps;
	char aor[2 * REG_AOR_MAX + 1]; /* the AoR being gathered, hex; "" none */
};

static void push_contact(void *arg, const char *aor, const struct reg_contact *c)
{
	struct push_ctx *pc = arg;
	char h_aor[2 * REG_AOR_MAX + 1];

	/* registrar_each() gives an AoR's contacts one after the other */
	journal_str_put(h_aor, aor);
	if (strcmp(h_aor, pc->aor)) {
		if (pc->aor[0])
			gather_end(pc->ps, PERSIST_REG, pc->aor, pc->ps->rec_ttl);
		memcpy(pc->aor, h_aor, sizeof(pc->aor));
		gather_begin(pc->ps);
		emit(pc->ps, "A %s", h_aor);
	}
	put_contact(pc->ps, aor, c);
}

static void push_call(void *arg, const struct media_call_state *s)
{
	on_call_changed(arg, s);
}

void persist_mirror_all(struct persist *ps)
{
	struct journal *j = ps->j;
	struct push_ctx pc = {.ps = ps};

	if (!ps->mirror.put)
		return;
	ps->j = NULL; /* the journal has them already */
	registrar_each(ps->reg, ps->mono(), push_contact, &pc);
	if (pc.aor[0])
		gather_end(ps, PERSIST_REG, pc.aor, ps->rec_ttl);
	media_each_call(ps->m, push_call, ps);
	dlg_each(ps->dlg, on_dialog_changed, ps);
	ps->j = j;
}

/* Load-time state for records applied now. */
static void apply_begin(struct persist *ps)
{
	memset(&ps->st, 0, sizeof(ps->st));
	ps->st.version = PERSIST_VERSION; /* a mirror's records come without a header */
	ps->lineno = ps->first_bad = 0;
	ps->first_why[0] = '\0';
	ps->have_pend = false;
	ps->load_mono = ps->mono();
	ps->load_wall = time(NULL);
	ps->applying = true;
}

int persist_apply(struct persist *ps, const char *text, size_t len, struct persist_stats *st)
{
	char *buf, *line, *nl;

	if (!text || !len || memchr(text, '\0', len) || text[len - 1] != '\n')
		return -EINVAL;
	if (!(buf = malloc(len + 1)))
		return -ENOMEM;
	memcpy(buf, text, len);
	buf[len] = '\0';
	apply_begin(ps);
	for (line = buf; *line; line = nl + 1) {
		nl = strchr(line, '\n'); /* there is one: the text ends with it */
		*nl = '\0';
		ps->st.lines++;
		if ((size_t)(nl - line) >= JOURNAL_LINE_MAX || replay(ps, line) < 0)
			ps->st.bad++;
	}
	commit_pending(ps);
	ps->applying = false;
	free(buf);
	if (st)
		*st = ps->st;
	return ps->st.bad ? -EINVAL : 0;
}

int persist_forget(struct persist *ps, const char *text, size_t len)
{
	char first[JOURNAL_LINE_MAX], *f[MAX_FIELDS], cid[MEDIA_CALLID_MAX], a[DLG_TAG_MAX], b[DLG_TAG_MAX];
	char aor[REG_AOR_MAX];
	const char *nl = text ? memchr(text, '\n', len) : NULL;
	int n, rc = -EINVAL;

	if (!nl || (size_t)(nl - text) >= sizeof(first))
		return -EINVAL;
	memcpy(first, text, (size_t)(nl - text));
	first[nl - text] = '\0';
	if ((n = journal_fields(first, f, MAX_FIELDS)) < 2)
		return -EINVAL;
	ps->applying = true;
	if (!strcmp(f[0], "A") && n == 2 && journal_str_get(f[1], aor, sizeof(aor)) && aor[0]) {
		registrar_remove_aor(ps->reg, aor);
		rc = 0;
	} else if (!strcmp(f[0], "C") && journal_str_get(f[1], cid, sizeof(cid)) && cid[0]) {
		media_forget_call(ps->m, cid);
		rc = 0;
	} else if (!strcmp(f[0], "D") && n >= 4 && journal_str_get(f[1], cid, sizeof(cid)) && cid[0] &&
		   journal_str_get(f[2], a, sizeof(a)) && journal_str_get(f[3], b, sizeof(b))) {
		dlg_end(ps->dlg, cid, a, b);
		rc = 0;
	}
	ps->applying = false;
	return rc;
}

int persist_snapshot(struct persist *ps)
{
	return ps && ps->j ? journal_snapshot(ps->j) : 0;
}
