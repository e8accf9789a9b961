/* media: calls, their natd bindings and the asynchronous SDP rewrite
 * (see media.h for what it does).
 *
 * Theory of operation.
 *  - natd connections: one nc_async handle per configured nat, opened at
 *    start and reopened after a loss with a backoff (1 s doubling to
 *    30 s). A BIND while a nat is down fails at once, which the caller
 *    turns into the configured failure policy.
 *  - A job is one message being rewritten: its plan (sdp_plan), the rule
 *    that applies, one slot per endpoint for the allocation, and the
 *    number of BINDs still in flight. Each BIND's callback fills its slot;
 *    when none is left in flight, a zero-delay timer finishes the job from
 *    the event loop (so the caller's callback never runs inside
 *    media_process()). Finishing means: on any failure, the policy (503
 *    or pass unchanged); otherwise sdp_apply() into the message, then the
 *    party's stale bindings are released.
 *  - A call is found by Call-ID in a hash table (bounded by sip.max_calls).
 *    It holds its bindings (nat, id, epoch, E, M, the party's tag, the
 *    rule), one o= address per party (so o= stays stable, RFC 3264 §8),
 *    and per realm the remote filter last advertised from there. Jobs hold
 *    a reference, so a call ended while a job is in flight is freed only
 *    when the job is done (and the late bindings are released at once).
 *  - One timer per call: refresh every lease at half the lifetime, end the
 *    call after media.max_call_duration. A second one, armed when the
 *    initial INVITE's 2xx goes by, ends the call if no ACK follows within
 *    64*T1, so a 2xx nobody acknowledges leaves no binding behind.
 *  - What may be bound (issue 11): the rule comes from the realm pair the
 *    message crosses; an SDP naming an address outside the realm it came
 *    from is refused whole (488) before anything is recorded; a stream
 *    whose m= protocol or port the rule does not admit is declined, its
 *    endpoint never sent to natd (sdp_apply's disable_unbound writes port
 *    0). With media.remote_filter a binding made before the other party's
 *    SDP is known admits nobody (a FILTER no real packet matches) until
 *    that SDP arrives and the binding is asked for again with its filter,
 *    plus media.latch's learning window when set.
 *  - Owners (media.max_bindings_per_user): each call counts its live
 *    bindings against its owner (who sent the message that created it) in
 *    a small table of owners, together with the endpoints its jobs have in
 *    flight, so a burst of INVITEs cannot slip past the cap while natd
 *    answers.
 *  - State file. A call's lasting part is its struct media_call_state
 *    (media.h); every change to it goes through call_saved(), which hands
 *    it to the hooks (persist.c records it), and call_end() tells them it
 *    is over. media_restore_call() puts a saved call back with its timer.
 *    A binding is only ever refreshed or released in the epoch it was
 *    made in; whenever a natd connection comes up, nat_resync() refreshes
 *    the bindings made in its current epoch at once (a restored call does
 *    not know when it was last refreshed) and asks again for the others
 *    (made before natd restarted, possibly while sipproxy was down). A
 *    refresh natd refuses (the lease ran out) asks for the binding again.
 *  - Spare calls. A struct call is ~16 kB (its state's fixed arrays); a
 *    freed one goes to a short list of spares (CALL_SPARES) with its two
 *    timers, and call_new() takes from there first, clearing only what is
 *    read before it is written (the counts, the filter flags, the fields
 *    after the state): the arrays are read only up to nb, nparty and
 *    has_filt. A call per INVITE is thus neither a 16 kB calloc (zeroed,
 *    and large enough for glibc's slow path) nor two event_new().
 */
#include "media.h"

#include <stddef.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <libcontrol/client.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "sdp_rewrite.h"
#include "sip/sip_msg.h"
#include "siphash.h"
#include "timerq.h"

#define CALL_BUCKETS 4096u
#define CALL_SPARES 64u
#define OWNER_BUCKETS 1024u
#define RECONNECT_MAX_S 30

struct media;

struct nat_conn {
	struct media *m;
	int idx;
	struct nc_async *ac;
	bool up;
	unsigned backoff;
	struct event *retry;
	uint64_t epoch;
};

struct call {
	struct media_call_state s; /* what the state file keeps */
	struct call *hnext;
	struct media *m;
	unsigned refs;             /* jobs in flight */
	bool ended;
	struct event *timer;
	struct event *ack_timer;   /* the 2xx's ACK must come before it fires */
	bool ack_armed;            /* the ACK wait was started (once per call) */
	unsigned gen;
	char owner[MEDIA_OWNER_MAX]; /* "" none (a restored call) */
	unsigned counted;          /* bindings counted against owner */
};

/* Live bindings and in-flight endpoints of one owner's calls. */
struct owner {
	struct owner *next;
	unsigned live, pending;
	char key[];
};

struct job;

struct slot {
	struct job *job;
	int req_id;                /* nc_async request id, 0 when done */
	int err;                   /* 0 ok, <0 transport, >0 natd status */
	struct nc_bind_r rep;
	uint64_t sent_us;          /* when the BIND went out (bind_latency) */
};

struct job {
	struct media *m;
	struct call *call;
	sip_msg_t *msg;
	struct sdp_plan *plan;
	int rule;
	int ext_realm;
	char tag[MEDIA_TAG_MAX];
	unsigned n;
	unsigned inflight;
	unsigned reserved;         /* endpoints counted in the owner's pending */
	struct event *done_ev;
	media_done_fn fn;
	void *arg;
	struct job *next, *prev;   /* media's list of jobs in flight */
	/* one per endpoint of the plan (n), allocated with the job: a job of
	 * SDP_EP_MAX slots would be ~20 kB to zero for every SDP, and an
	 * allocation that large takes glibc's slow path */
	struct slot slot[];
};

struct media {
	struct event_base *base;
	const struct sp_conf *conf;
	struct nat_conn nat[SPC_MAX_NATS];
	struct call *calls[CALL_BUCKETS];
	struct siphash_key key;    /* Call-IDs are the sender's choice */
	unsigned ncalls;
	struct metrics_hist bind_latency; /* ms from BIND to its reply */
	struct owner *owners[OWNER_BUCKETS];
	struct job *jobs;
	struct call *spares;       /* freed calls kept for call_new (CALL_SPARES) */
	unsigned nspares;
	bool freeing;              /* media_free(): no more spares */
	struct timerq tq;          /* the calls' timers (timerq.h) */
	struct media_stats st;
	struct media_hooks hooks;
};

/* ---- owners (media.max_bindings_per_user) ---- */

static struct owner *owner_get(struct media *m, const char *key, bool create)
{
	unsigned b = (unsigned)(siphash_str(&m->key, key) % OWNER_BUCKETS);
	size_t len = strlen(key);
	struct owner *o;

	for (o = m->owners[b]; o; o = o->next)
		if (!strcmp(o->key, key))
			return o;
	if (!create || !(o = calloc(1, sizeof(*o) + len + 1)))
		return NULL;
	memcpy(o->key, key, len + 1);
	o->next = m->owners[b];
	m->owners[b] = o;
	return o;
}

/* Free o once nothing counts against it. */
static void owner_put(struct media *m, struct owner *o)
{
	struct owner **pp;

	if (!o || o->live || o->pending)
		return;
	for (pp = &m->owners[(unsigned)(siphash_str(&m->key, o->key) % OWNER_BUCKETS)]; *pp;
	     pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			free(o);
			return;
		}
}

/* Bring the owner's count of c's live bindings up to date. */
static void call_account(struct media *m, struct call *c)
{
	struct owner *o;

	if (!c->owner[0] || c->counted == c->s.nb)
		return;
	if (!(o = owner_get(m, c->owner, true)))
		return; /* out of memory: uncounted, as before the cap */
	o->live = o->live + c->s.nb >= c->counted ? o->live + c->s.nb - c->counted : 0;
	c->counted = c->s.nb;
	owner_put(m, o);
}

static void owner_unreserve(struct media *m, const char *key, unsigned n)
{
	struct owner *o;

	if (!n || !key[0] || !(o = owner_get(m, key, false)))
		return;
	o->pending = o->pending >= n ? o->pending - n : 0;
	owner_put(m, o);
}

/* ---- the state file's hooks ---- */

/* The call's saved state changed. */
static void call_saved(struct media *m, struct call *c)
{
	call_account(m, c);
	if (m->hooks.changed && !c->ended)
		m->hooks.changed(m->hooks.arg, &c->s);
}

/* ---- natd connections ---- */

static void nat_connect(struct nat_conn *n);
static void nat_resync(struct media *m, int nat);

static void nat_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nat_connect(arg);
}

static void nat_schedule(struct nat_conn *n)
{
	struct timeval tv;

	n->backoff = n->backoff ? n->backoff * 2 : 1;
	if (n->backoff > RECONNECT_MAX_S)
		n->backoff = RECONNECT_MAX_S;
	tv.tv_sec = n->backoff;
	tv.tv_usec = 0;
	evtimer_add(n->retry, &tv);
}

static void nat_conn_cb(void *arg, int err)
{
	struct nat_conn *n = arg;
	const struct spc_nat *c = &n->m->conf->nats[n->idx];

	if (err == 0) {
		uint64_t ep = nc_async_epoch(n->ac);
		log_info("natd %s: connected (epoch %llu)", c->name, (unsigned long long)ep);
		n->up = true;
		n->backoff = 0;
		if (n->epoch && ep != n->epoch)
			log_warn("natd %s restarted (epoch %llu -> %llu): asking again for the live calls' bindings",
				 c->name, (unsigned long long)n->epoch, (unsigned long long)ep);
		n->epoch = ep;
		nat_resync(n->m, n->idx);
		return;
	}
	log_warn("natd %s: connection %s: %s", c->name, n->up ? "lost" : "failed", nc_strerror(err));
	n->up = false;
	nc_async_close(n->ac);
	n->ac = NULL;
	nat_schedule(n);
}

static void nat_connect(struct nat_conn *n)
{
	const struct spc_nat *c = &n->m->conf->nats[n->idx];
	const char *name = c->client_name[0] ? c->client_name : "sipproxy";
	int rc;

	if (c->socket[0]) {
		rc = nc_async_open_unix(n->m->base, c->socket, name, nat_conn_cb, n, &n->ac);
	} else {
		uint8_t secret[NC_SECRET_MAX];
		size_t slen = 0;
		rc = c->secret_file[0] ? nc_secret_read(c->secret_file, secret, sizeof(secret), &slen) : 0;
		if (rc == 0 && c->tls) /* nats[].tls: natd's control.tls_cert */
			rc = nc_async_open_tls(n->m->base, c->host, c->port, name, secret, slen,
					       &(struct nc_tls){c->tls_cert[0] ? c->tls_cert : NULL,
								c->tls_key[0] ? c->tls_key : NULL,
								c->tls_ca[0] ? c->tls_ca : NULL,
								c->tls_name[0] ? c->tls_name : NULL},
					       nat_conn_cb, n, &n->ac);
		else if (rc == 0)
			rc = nc_async_open_tcp(n->m->base, c->host, c->port, name, secret, slen,
					       nat_conn_cb, n, &n->ac);
		memset(secret, 0, sizeof(secret));
	}
	if (rc < 0) {
		if (n->backoff == 0 || n->backoff >= RECONNECT_MAX_S)
			log_warn("natd %s: cannot connect: %s (retrying)", c->name, nc_strerror(rc));
		n->ac = NULL;
		nat_schedule(n);
	}
}

/* ---- calls ---- */

static struct call *call_find(struct media *m, const char *id)
{
	struct call *c;

	for (c = m->calls[(unsigned)(siphash_str(&m->key, id) % CALL_BUCKETS)]; c; c = c->hnext)
		if (!strcmp(c->s.call_id, id))
			return c;
	return NULL;
}

static void call_timer(evutil_socket_t fd, short what, void *arg);
static void call_ack_timeout(evutil_socket_t fd, short what, void *arg);

static void call_arm(struct media *m, struct call *c)
{
	unsigned half = m->conf->binding_lifetime / 2 ? m->conf->binding_lifetime / 2 : 1;

	timerq_add(&m->tq, c->timer, half * 1000u);
}

/* A new call in the table, its timer running; NULL at the limit. */
static struct call *call_new(struct media *m, const char *id)
{
	struct call *c;
	unsigned b;

	if (m->ncalls >= m->conf->max_calls || strlen(id) >= MEDIA_CALLID_MAX)
		return NULL;
	if ((c = m->spares)) {
		struct event *t = c->timer, *at = c->ack_timer;

		m->spares = c->hnext;
		m->nspares--;
		/* what a fresh call reads before writing (see "Spare calls") */
		memset(&c->s, 0, offsetof(struct media_call_state, b));
		memset(c->s.has_filt, 0, sizeof(c->s.has_filt));
		memset(&c->hnext, 0, sizeof(*c) - offsetof(struct call, hnext));
		c->timer = t;
		c->ack_timer = at;
	} else {
		if (!(c = calloc(1, sizeof(*c))))
			return NULL;
		if (!(c->timer = evtimer_new(m->base, call_timer, c))) {
			free(c);
			return NULL;
		}
		if (!(c->ack_timer = evtimer_new(m->base, call_ack_timeout, c))) {
			event_free(c->timer);
			free(c);
			return NULL;
		}
	}
	strcpy(c->s.call_id, id);
	c->m = m;
	c->s.started = time(NULL);
	b = (unsigned)(siphash_str(&m->key, id) % CALL_BUCKETS);
	c->hnext = m->calls[b];
	m->calls[b] = c;
	m->ncalls++;
	call_arm(m, c);
	return c;
}

static struct call *call_get(struct media *m, const char *id)
{
	struct call *c = call_find(m, id);

	return c ? c : call_new(m, id);
}

static void call_unlink_free(struct media *m, struct call *c)
{
	struct call **pp = &m->calls[(unsigned)(siphash_str(&m->key, c->s.call_id) % CALL_BUCKETS)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	c->s.nb = 0;
	call_account(m, c);
	m->ncalls--;
	if (m->nspares < CALL_SPARES && !m->freeing) {
		evtimer_del(c->timer);
		evtimer_del(c->ack_timer);
		c->hnext = m->spares;
		m->spares = c;
		m->nspares++;
		return;
	}
	event_free(c->timer);
	event_free(c->ack_timer);
	free(c);
}

static void release_done(void *arg, int err, const struct nc_status *rep)
{
	(void)arg;
	if (err < 0)
		log_debug("release: %s", nc_strerror(err));
	else if (rep->code != NC_ST_OK)
		log_debug("release refused: %s", rep->reason);
}

static void release_one(struct media *m, const char *call_id, const struct media_binding *b)
{
	struct nat_conn *n = &m->nat[b->nat];
	struct nc_release r = {.epoch = b->epoch, .id = b->id};
	char a[INET_ADDRSTRLEN];

	m->st.releases++;
	log_info("call %s: releasing binding %u (%s:%u -> M port %u, party %s)", call_id, b->id,
		 inet_ntop(AF_INET, b->addr, a, sizeof(a)), b->port, b->alloc.port, b->tag);
	if (!n->ac || !n->up || b->epoch != n->epoch)
		return; /* natd lost it already, or its lease will */
	nc_async_release(n->ac, &r, m->conf->nats[b->nat].timeout_ms, release_done, NULL);
}

static void call_drop_binding(struct call *c, unsigned i)
{
	c->s.b[i] = c->s.b[--c->s.nb];
}

static void call_end(struct media *m, struct call *c, const char *why)
{
	if (!c->ended) {
		log_info("call %s: ended (%s), releasing %u binding%s", c->s.call_id, why, c->s.nb,
			 c->s.nb == 1 ? "" : "s");
		if (m->hooks.ended)
			m->hooks.ended(m->hooks.arg, c->s.call_id);
	}
	for (unsigned i = 0; i < c->s.nb; i++)
		release_one(m, c->s.call_id, &c->s.b[i]);
	c->s.nb = 0;
	call_account(m, c);
	c->ended = true;
	evtimer_del(c->timer);
	evtimer_del(c->ack_timer);
	if (c->refs == 0)
		call_unlink_free(m, c);
}

static void rebind(struct media *m, struct call *c, struct media_binding *b);

/* Which binding a REFRESH was for. */
struct refresh_ctx {
	struct media *m;
	char call_id[MEDIA_CALLID_MAX];
	int nat;
	uint32_t id;
	uint64_t epoch;
};

static void refresh_done(void *arg, int err, const struct nc_refresh_r *rep)
{
	struct refresh_ctx *rc = arg;
	struct call *c;

	if (err < 0) {
		if (err != -ECANCELED)
			log_debug("refresh: %s", nc_strerror(err));
	} else if (rep->st.code != NC_ST_OK) {
		log_warn("call %s: refresh of binding %u refused: %s", rc->call_id, rc->id,
			 rep->st.reason);
		/* natd lost it (its lease ran out, e.g. while sipproxy was
		 * down): ask for it again */
		if ((rep->st.code == NC_ST_NOT_FOUND || rep->st.code == NC_ST_STALE_EPOCH) &&
		    (c = call_find(rc->m, rc->call_id)) && !c->ended)
			for (unsigned i = 0; i < c->s.nb; i++)
				if (c->s.b[i].nat == rc->nat && c->s.b[i].id == rc->id &&
				    c->s.b[i].epoch == rc->epoch)
					rebind(rc->m, c, &c->s.b[i]);
	} else {
		rc->m->st.refreshes++;
	}
	free(rc);
}

/* Refresh one binding's lease (fire and forget); one made in another
 * natd epoch is asked for again instead. */
static void refresh_one(struct media *m, struct call *c, struct media_binding *b)
{
	struct nat_conn *n = &m->nat[b->nat];
	struct nc_refresh r = {.epoch = b->epoch, .id = b->id, .lifetime = m->conf->binding_lifetime};
	struct refresh_ctx *rc;

	if (!n->ac || !n->up)
		return;
	if (b->epoch != n->epoch) {
		rebind(m, c, b);
		return;
	}
	if (!(rc = calloc(1, sizeof(*rc))))
		return;
	rc->m = m;
	strcpy(rc->call_id, c->s.call_id);
	rc->nat = b->nat;
	rc->id = b->id;
	rc->epoch = b->epoch;
	if (nc_async_refresh(n->ac, &r, m->conf->nats[b->nat].timeout_ms, refresh_done, rc) <= 0)
		free(rc);
}

static void call_timer(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;
	struct media *m = c->m;

	(void)fd;
	(void)what;
	if (time(NULL) - c->s.started >= (time_t)m->conf->max_call_duration) {
		call_end(m, c, "maximum call duration");
		return;
	}
	for (unsigned i = 0; i < c->s.nb; i++)
		refresh_one(m, c, &c->s.b[i]);
	call_arm(m, c);
}

/* The 2xx of the initial INVITE was never acknowledged (RFC 3261
 * §13.3.1.4: its UAS gives up after 64*T1 and ends the dialog). */
static void call_ack_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct call *c = arg;

	(void)fd;
	(void)what;
	c->m->st.unacked++;
	call_end(c->m, c, "2xx never acknowledged");
}

/* ---- BIND requests ---- */

static void fill_bind(const struct media *m, const struct media_binding *b, const struct call *c,
		      struct nc_bind *req)
{
	const struct spc_rule *r = &m->conf->rules[b->rule];
	const char *in = r->natd_in[0] ? r->natd_in : m->conf->realms[r->from].name;
	const char *ext = r->natd_ext[0] ? r->natd_ext : m->conf->realms[r->to].name;

	memset(req, 0, sizeof(*req));
	snprintf(req->spec.in_realm, sizeof(req->spec.in_realm), "%s", in);
	snprintf(req->spec.ext_realm, sizeof(req->spec.ext_realm), "%s", ext);
	snprintf(req->spec.transit, sizeof(req->spec.transit), "%s", r->transit);
	snprintf(req->spec.label, sizeof(req->spec.label), "call:%.*s",
		 (int)(sizeof(req->spec.label) - 6), c->s.call_id);
	req->spec.dir = NC_DIR_BOTH;
	req->spec.proto = b->proto;
	req->spec.ep.ip.af = NC_AF_IP4;
	memcpy(req->spec.ep.ip.a, b->addr, 4);
	req->spec.ep.port = b->port;
	req->rtp_pair = b->rtp_pair;
	req->lifetime = m->conf->binding_lifetime;
	if (m->conf->remote_filter && c->s.has_filt[r->to] && c->s.filt[r->to].n) {
		req->spec.nfilters = c->s.filt[r->to].n;
		memcpy(req->spec.filters, c->s.filt[r->to].m,
		       c->s.filt[r->to].n * sizeof(c->s.filt[r->to].m[0]));
		req->spec.latch = m->conf->latch;
	} else if (m->conf->remote_filter) {
		/* the other party's address is not known yet: admit nobody
		 * (0.0.0.0:0 is never a packet's source) until it is, when
		 * the binding is asked for again with its filter */
		req->spec.nfilters = 1;
		req->spec.filters[0].ip.af = NC_AF_IP4;
		req->spec.filters[0].plen = 32;
	}
}

/* A fire-and-forget BIND that updates the record when it comes back. */
struct rebind {
	struct media *m;
	char call_id[MEDIA_CALLID_MAX];
	int nat;
	uint8_t addr[4];
	uint16_t port;
	bool filtered;
};

static void rebind_done(void *arg, int err, const struct nc_bind_r *rep)
{
	struct rebind *rb = arg;
	struct call *c;
	bool changed = false;

	if (err == -ECANCELED || !(c = call_find(rb->m, rb->call_id)) || c->ended) {
		free(rb);
		return;
	}
	for (unsigned i = 0; i < c->s.nb; i++) {
		struct media_binding *b = &c->s.b[i];
		if (b->nat != rb->nat || b->port != rb->port || memcmp(b->addr, rb->addr, 4))
			continue;
		if (err == 0 && rep->st.code == NC_ST_OK) {
			b->filtered = rb->filtered;
			if (b->id != rep->id || memcmp(&b->alloc, &rep->alloc, sizeof(b->alloc)))
				log_warn("call %s: binding %u came back as %u on another address", c->s.call_id,
					 b->id, rep->id);
			else
				log_info("call %s: binding %u renewed in natd epoch %llu", c->s.call_id,
					 rep->id, (unsigned long long)rep->st.epoch);
			b->id = rep->id;
			b->epoch = rep->st.epoch;
			b->alloc = rep->alloc;
			changed = true;
		} else {
			log_warn("call %s: binding %u not renewed: %s", c->s.call_id, b->id,
				 err < 0 ? nc_strerror(err) : rep->st.reason);
		}
	}
	if (changed)
		call_saved(rb->m, c);
	free(rb);
}

static void rebind(struct media *m, struct call *c, struct media_binding *b)
{
	struct nat_conn *n = &m->nat[b->nat];
	struct nc_bind req;
	struct rebind *rb;

	/* a reload may have removed its rule: the lease then runs out */
	if (!n->ac || !n->up || b->rule >= (int)m->conf->nrules || !(rb = calloc(1, sizeof(*rb))))
		return;
	fill_bind(m, b, c, &req);
	rb->m = m;
	strcpy(rb->call_id, c->s.call_id);
	rb->nat = b->nat;
	memcpy(rb->addr, b->addr, 4);
	rb->port = b->port;
	rb->filtered = req.spec.nfilters > 0;
	if (nc_async_bind(n->ac, &req, m->conf->nats[b->nat].timeout_ms, rebind_done, rb) < 0)
		free(rb);
	else
		m->st.rebinds++;
}

/* natd nat is (again) up: refresh what it still holds, ask again for
 * what was made in another epoch. */
static void nat_resync(struct media *m, int nat)
{
	unsigned nref = 0, nre = 0;

	for (unsigned k = 0; k < CALL_BUCKETS; k++)
		for (struct call *c = m->calls[k]; c; c = c->hnext)
			for (unsigned i = 0; i < c->s.nb && !c->ended; i++) {
				if (c->s.b[i].nat != nat)
					continue;
				if (c->s.b[i].epoch == m->nat[nat].epoch)
					nref++;
				else
					nre++;
				refresh_one(m, c, &c->s.b[i]);
			}
	if (nref || nre)
		log_info("natd %s: refreshing %u binding%s of live calls, asking again for %u",
			 m->conf->nats[nat].name, nref, nref == 1 ? "" : "s", nre);
}

/* ---- jobs ---- */

static void job_free(struct job *j)
{
	struct media *m = j->m;

	if (j->prev)
		j->prev->next = j->next;
	else
		m->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	m->st.pending_jobs--;
	if (j->done_ev)
		event_free(j->done_ev);
	sdp_plan_free(j->plan);
	if (j->call)
		owner_unreserve(m, j->call->owner, j->reserved);
	if (j->call && --j->call->refs == 0 && j->call->ended)
		call_unlink_free(m, j->call);
	free(j);
}

/* Record (or refresh) a binding granted for job j. */
static void job_record(struct job *j, unsigned i, const struct nc_bind_r *rep)
{
	struct call *c = j->call;
	const struct sdp_endpoint *e = sdp_plan_endpoint(j->plan, i);
	const struct spc_rule *r = &j->m->conf->rules[j->rule];
	struct media_binding *b = NULL;

	if (c->ended) { /* granted after the call ended: give it back now */
		struct media_binding tmp = {.nat = r->nat, .id = rep->id, .epoch = rep->st.epoch};
		snprintf(tmp.tag, sizeof(tmp.tag), "%s", j->tag);
		release_one(j->m, c->s.call_id, &tmp);
		return;
	}
	for (unsigned k = 0; k < c->s.nb; k++)
		if (c->s.b[k].nat == r->nat && c->s.b[k].id == rep->id &&
		    c->s.b[k].epoch == rep->st.epoch) {
			b = &c->s.b[k];
			break;
		}
	if (!b) {
		if (c->s.nb == MEDIA_MAX_BINDINGS) {
			struct media_binding tmp = {.nat = r->nat, .id = rep->id, .epoch = rep->st.epoch};
			log_warn("call %s: too many bindings, releasing %u", c->s.call_id, rep->id);
			release_one(j->m, c->s.call_id, &tmp);
			return;
		}
		b = &c->s.b[c->s.nb++];
		memset(b, 0, sizeof(*b));
		call_account(j->m, c);
		b->nat = r->nat;
		b->id = rep->id;
		b->epoch = rep->st.epoch;
		log_info("call %s: binding %u for %u.%u.%u.%u:%u -> %u.%u.%u.%u:%u (party %s)",
			 c->s.call_id, rep->id, e->addr[0], e->addr[1], e->addr[2], e->addr[3], e->port,
			 rep->alloc.ip.a[0], rep->alloc.ip.a[1], rep->alloc.ip.a[2], rep->alloc.ip.a[3],
			 rep->alloc.port, j->tag);
	}
	b->rule = j->rule;
	memcpy(b->addr, e->addr, 4);
	b->port = e->port;
	b->proto = e->proto;
	b->rtp_pair = e->rtp_pair;
	b->alloc = rep->alloc;
	b->filtered = j->m->conf->remote_filter && c->s.has_filt[r->to] && c->s.filt[r->to].n;
	snprintf(b->tag, sizeof(b->tag), "%s", j->tag);
	b->gen = c->gen;
	/* saved when the job finishes, in the same loop pass */
}

static struct media_party *party_of(struct call *c, const char *tag)
{
	for (unsigned i = 0; i < c->s.nparty; i++)
		if (!strcmp(c->s.party[i].tag, tag))
			return &c->s.party[i];
	if (c->s.nparty == MEDIA_MAX_PARTIES)
		return NULL;
	snprintf(c->s.party[c->s.nparty].tag, MEDIA_TAG_MAX, "%s", tag);
	memset(&c->s.party[c->s.nparty].origin, 0, sizeof(struct nc_ip));
	return &c->s.party[c->s.nparty++];
}

static void job_finish(evutil_socket_t fd, short what, void *arg)
{
	struct job *j = arg;
	struct media *m = j->m;
	struct call *c = j->call;
	const char *reason = NULL;
	struct nc_ep alloc[SDP_EP_MAX];
	int status = 0;
	bool failed = false;
	char *out = NULL;
	unsigned nbound = 0;

	(void)fd;
	(void)what;
	for (unsigned i = 0; i < j->n; i++) {
		if (j->slot[i].err == 0 && j->slot[i].rep.alloc.ip.af)
			nbound++;
		if (j->slot[i].err == 0) {
			alloc[i] = j->slot[i].rep.alloc;
			continue;
		}
		failed = true;
		if (j->slot[i].err > 0)
			log_warn("call %s: natd refused a binding: %s", c->s.call_id,
				 j->slot[i].rep.st.reason);
		else
			log_warn("call %s: natd %s did not answer: %s", c->s.call_id,
				 m->conf->nats[m->conf->rules[j->rule].nat].name,
				 nc_strerror(j->slot[i].err));
	}
	if (c->ended) {
		status = 481;
		reason = "Call Ended While Rewriting";
	} else if (failed) {
		m->st.binds_failed++;
		if (m->conf->on_natd_failure == SPC_FAIL_PASS) {
			m->st.passed_unchanged++;
			log_warn("call %s: SDP passed unchanged (media.on_natd_failure = pass)", c->s.call_id);
		} else {
			status = 503;
			reason = "Service Unavailable (media binding failed)";
		}
	} else {
		/* a declined endpoint has no allocation: its stream gets
		 * port 0 (RFC 3264 §6) */
		struct sdp_apply_opts o = {.ice = (enum sdp_ice_policy)m->conf->ice,
					   .disable_unbound = true};
		struct media_party *p = party_of(c, j->tag);
		size_t cap = sdp_apply_bound(j->plan);
		int len;

		/* o= keeps the address of the party's first rewritten SDP */
		if (p && !p->origin.af)
			sdp_apply_origin(j->plan, alloc, j->n, &o, &p->origin);
		if (p)
			o.origin = p->origin;
		if (!(out = malloc(cap))) {
			status = 500;
			reason = "Server Internal Error (out of memory)";
		} else if ((len = sdp_apply(j->plan, alloc, j->n, &o, out, cap)) < 0 ||
			   sip_msg_set_sdp_body(j->msg, out, (size_t)len) < 0) {
			log_warn("call %s: rewrite failed: %s", c->s.call_id,
				 len < 0 ? sdp_strerror(len) : "body");
			status = 500;
			reason = "Server Internal Error (SDP rewrite failed)";
		} else {
			m->st.rewrites++;
			m->st.binds_ok += nbound;
			/* the party's bindings this SDP no longer uses */
			for (unsigned k = 0; k < c->s.nb;) {
				if (!strcmp(c->s.b[k].tag, j->tag) && c->s.b[k].rule == j->rule &&
				    c->s.b[k].gen != c->gen) {
					release_one(m, c->s.call_id, &c->s.b[k]);
					call_drop_binding(c, k);
				} else {
					k++;
				}
			}
		}
	}
	/* what the job's BINDs granted (kept on a failure too), the party's
	 * o=, the stale bindings gone */
	call_saved(m, c);
	free(out);
	{
		sip_msg_t *msg = j->msg;
		media_done_fn fn = j->fn;
		void *a = j->arg;

		j->msg = NULL;
		job_free(j);
		fn(a, status, reason, msg);
	}
}

static void bind_done(void *arg, int err, const struct nc_bind_r *rep)
{
	struct slot *s = arg;
	struct job *j = s->job;

	s->req_id = 0;
	if (err >= 0) /* natd answered: a round trip */
		metrics_hist_observe(&j->m->bind_latency, (double)(clock_mono_us() - s->sent_us) / 1e3);
	if (err < 0) {
		s->err = err;
	} else if (rep->st.code != NC_ST_OK) {
		s->err = rep->st.code;
		s->rep = *rep;
	} else {
		s->err = 0;
		s->rep = *rep;
		job_record(j, (unsigned)(s - j->slot), rep);
	}
	if (--j->inflight == 0)
		event_active(j->done_ev, EV_TIMEOUT, 0);
}

/* The tag of the party whose SDP this is: From's for a request, To's for a
 * response. */
static const char *party_tag(const sip_msg_t *msg)
{
	const char *t = sip_msg_is_request(msg) ? sip_msg_from_tag(msg) : sip_msg_to_tag(msg);

	return t ? t : "";
}

static int realm_of_ip4(const struct sp_conf *conf, const uint8_t a[4])
{
	uint32_t be;

	memcpy(&be, a, 4);
	return sp_conf_realm_of(conf, be);
}

/* Whether addr may appear in an SDP that came from realm: its own realm
 * by prefix is that one (an address no prefix holds belongs to a realm
 * that lists none, as the listen address decides for messages). */
static bool addr_in_realm(const struct sp_conf *conf, const uint8_t addr[4], int realm)
{
	int r = realm_of_ip4(conf, addr);

	if (r >= 0)
		return r == realm;
	return realm >= 0 && (unsigned)realm < conf->nrealms && conf->realms[realm].nprefixes == 0;
}

static bool filter_eq(const struct sdp_remote_filter *a, const struct sdp_remote_filter *b)
{
	return a->n == b->n && !memcmp(a->m, b->m, a->n * sizeof(a->m[0]));
}

/* Endpoints of this call not bound yet (what a job would add). */
static unsigned fresh_endpoints(const struct call *c, const struct sdp_plan *plan,
				const bool *want, unsigned n)
{
	unsigned fresh = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct sdp_endpoint *e = sdp_plan_endpoint(plan, i);
		bool have = false;

		for (unsigned k = 0; want[i] && k < c->s.nb && !have; k++)
			have = c->s.b[k].port == e->port && c->s.b[k].proto == e->proto &&
			       !memcmp(c->s.b[k].addr, e->addr, 4);
		fresh += want[i] && !have;
	}
	return fresh;
}

int media_process(struct media *m, sip_msg_t *msg, int src_realm, int dst_realm,
		  const char *owner, media_done_fn fn, void *arg, const char **reason)
{
	const struct sp_conf *conf = m->conf;
	const struct spc_rule *rule;
	struct sdp_plan *plan = NULL;
	struct sdp_remote_filter f;
	struct call *c;
	struct job *j;
	const char *body, *cid;
	char cidbuf[SIP_CALLID_MAX], a[INET_ADDRSTRLEN];
	size_t len;
	unsigned err_line = 0, n, nbind = 0;
	bool want[SDP_EP_MAX] = {false};
	int rc;

	if (sip_msg_get_sdp_body(msg, &body, &len) < 0)
		return MEDIA_NONE;
	if ((rc = sdp_plan(body, len, &plan, &err_line)) < 0) {
		log_info("unusable SDP (line %u): %s", err_line, sdp_strerror(rc));
		*reason = "Not Acceptable Here (unusable SDP)";
		return 488;
	}
	n = sdp_plan_nendpoints(plan);
	cid = sip_msg_call_id(msg, cidbuf, sizeof(cidbuf));

	/* Every address the SDP names must be in the realm the message came
	 * from: an outsider cannot have an inside host bound (issue 11). */
	for (unsigned i = 0; i < n && src_realm >= 0; i++) {
		const struct sdp_endpoint *e = sdp_plan_endpoint(plan, i);

		if (!addr_in_realm(conf, e->addr, src_realm)) {
			log_info("call %s: SDP from realm %s names %s:%u, outside that realm: refused",
				 cid, conf->realms[src_realm].name,
				 inet_ntop(AF_INET, e->addr, a, sizeof(a)), e->port);
			m->st.refused_realm++;
			sdp_plan_free(plan);
			*reason = "Not Acceptable Here (media address outside the sender's realm)";
			return 488;
		}
	}
	/* the rule of the realm pair the message crosses, never one chosen
	 * from what the SDP claims */
	rule = src_realm >= 0 && dst_realm >= 0 ? sp_conf_rule(conf, src_realm, dst_realm) : NULL;

	/* which endpoints the rule lets us bind: m= protocol and port */
	for (unsigned i = 0; rule && i < n; i++) {
		const struct sdp_endpoint *e = sdp_plan_endpoint(plan, i);
		const struct sdp_stream *st = sdp_plan_stream(plan, e->stream);

		want[i] = st && sp_conf_rule_admits(rule, st->proto_name, e->port, e->rtp_pair);
		if (!want[i]) {
			m->st.declined++;
			log_info("call %s: declining %s stream %s %s:%u (protocol or port not admitted "
				 "from %s to %s)", cid, st ? st->media : "?", st ? st->proto_name : "?",
				 inet_ntop(AF_INET, e->addr, a, sizeof(a)), e->port,
				 conf->realms[rule->from].name, conf->realms[rule->to].name);
		}
		nbind += want[i];
	}
	if (rule && n > 0 && nbind == 0) {
		sdp_plan_free(plan);
		*reason = "Not Acceptable Here (no media stream this proxy may bind)";
		return 488;
	}

	/* remember what this party advertised in its realm (remote filter); the
	 * bindings that admit it are asked for again when that changes (the
	 * first time, or a re-offer from another address) */
	c = NULL;
	if (conf->remote_filter && src_realm >= 0 && n > 0 &&
	    sdp_plan_remote_filter(plan, -1, &f) > 0 && (c = call_get(m, cid))) {
		bool changed = !c->s.has_filt[src_realm] || !filter_eq(&c->s.filt[src_realm], &f);
		c->s.filt[src_realm] = f;
		c->s.has_filt[src_realm] = true;
		if (changed)
			for (unsigned i = 0; i < c->s.nb; i++)
				if (c->s.b[i].rule < (int)conf->nrules &&
				    conf->rules[c->s.b[i].rule].to == src_realm)
					rebind(m, c, &c->s.b[i]);
		call_saved(m, c);
	}
	if (!rule || n == 0) {
		sdp_plan_free(plan);
		return MEDIA_NONE;
	}
	if (!c && !(c = call_get(m, cid))) {
		sdp_plan_free(plan);
		*reason = "Service Unavailable (too many calls)";
		return 503;
	}
	if (!c->owner[0] && owner && *owner)
		snprintf(c->owner, sizeof(c->owner), "%s", owner);
	/* media.max_bindings_per_user: what the owner's calls hold, with what
	 * is in flight for them */
	nbind = fresh_endpoints(c, plan, want, n);
	if (conf->max_bindings_per_user && c->owner[0]) {
		const struct owner *o = owner_get(m, c->owner, false);
		unsigned have = o ? o->live + o->pending : 0;

		if (have + nbind > conf->max_bindings_per_user) {
			m->st.refused_cap++;
			log_warn("call %s: %s holds %u media binding%s, %u more would pass "
				 "media.max_bindings_per_user (%u): refused", cid, c->owner, have,
				 have == 1 ? "" : "s", nbind, conf->max_bindings_per_user);
			sdp_plan_free(plan);
			*reason = "Forbidden (media binding limit reached)";
			return 403;
		}
	}
	if (!(j = calloc(1, sizeof(*j) + n * sizeof(j->slot[0]))) ||
	    !(j->done_ev = event_new(m->base, -1, 0, job_finish, j))) {
		free(j);
		sdp_plan_free(plan);
		*reason = "Server Internal Error (out of memory)";
		return 500;
	}
	j->m = m;
	j->call = c;
	c->refs++;
	j->msg = msg;
	j->plan = plan;
	j->rule = (int)(rule - conf->rules);
	j->ext_realm = dst_realm;
	snprintf(j->tag, sizeof(j->tag), "%s", party_tag(msg));
	j->n = n;
	j->fn = fn;
	j->arg = arg;
	j->next = m->jobs;
	if (m->jobs)
		m->jobs->prev = j;
	m->jobs = j;
	if (c->owner[0] && nbind) {
		struct owner *o = owner_get(m, c->owner, true);
		if (o) {
			o->pending += nbind;
			j->reserved = nbind;
		}
	}
	m->st.pending_jobs++;
	c->gen++;

	/* one BIND per endpoint, all in flight at once */
	for (unsigned i = 0; i < n; i++) {
		struct nat_conn *nc = &m->nat[rule->nat];
		const struct sdp_endpoint *e = sdp_plan_endpoint(plan, i);
		struct media_binding tmp = {.rule = j->rule, .proto = e->proto, .port = e->port,
				    .rtp_pair = e->rtp_pair};
		struct nc_bind req;

		j->slot[i].job = j;
		if (!want[i]) {
			j->slot[i].err = 0; /* declined: no allocation, port 0 */
			continue;
		}
		memcpy(tmp.addr, e->addr, 4);
		fill_bind(m, &tmp, c, &req);
		j->slot[i].err = -ENOTCONN;
		if (!nc->ac || !nc->up)
			continue;
		j->slot[i].sent_us = clock_mono_us();
		rc = nc_async_bind(nc->ac, &req, conf->nats[rule->nat].timeout_ms, bind_done,
				   &j->slot[i]);
		if (rc > 0) {
			j->slot[i].req_id = rc;
			j->inflight++;
		} else {
			j->slot[i].err = rc;
		}
	}
	if (j->inflight == 0)
		event_active(j->done_ev, EV_TIMEOUT, 0);
	return MEDIA_PENDING;
}

void media_dialog_confirmed(struct media *m, const char *call_id, const char *caller_tag,
			    const char *callee_tag)
{
	struct call *c = call_find(m, call_id);
	bool dropped = false;

	if (!c || c->ended)
		return;
	if (!c->ack_armed) {
		c->ack_armed = true;
		timerq_add(&m->tq, c->ack_timer, 64u * m->conf->t1_ms); /* RFC 3261 §13.3.1.4 */
	}
	for (unsigned k = 0; k < c->s.nb;) {
		if (strcmp(c->s.b[k].tag, caller_tag) && strcmp(c->s.b[k].tag, callee_tag)) {
			release_one(m, call_id, &c->s.b[k]);
			call_drop_binding(c, k);
			dropped = true;
		} else {
			k++;
		}
	}
	if (dropped)
		call_saved(m, c);
}

void media_call_acked(struct media *m, const char *call_id)
{
	struct call *c = call_find(m, call_id);

	if (c && !c->ended) {
		c->ack_armed = true;
		evtimer_del(c->ack_timer);
	}
}

void media_call_end(struct media *m, const char *call_id, const char *why)
{
	struct call *c = call_find(m, call_id);

	if (c && !c->ended)
		call_end(m, c, why);
}

struct media *media_new(struct event_base *base, const struct sp_conf *conf)
{
	struct media *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->base = base;
	m->conf = conf;
	timerq_init(&m->tq, base);
	metrics_hist_init(&m->bind_latency, media_bind_bounds_ms, MEDIA_BIND_BOUNDS);
	siphash_key_random(&m->key);
	for (unsigned i = 0; i < conf->nnats; i++) {
		m->nat[i].m = m;
		m->nat[i].idx = (int)i;
		if (!(m->nat[i].retry = evtimer_new(base, nat_retry, &m->nat[i]))) {
			media_free(m);
			return NULL;
		}
		nat_connect(&m->nat[i]);
	}
	return m;
}

void media_free(struct media *m)
{
	if (!m)
		return;
	memset(&m->hooks, 0, sizeof(m->hooks)); /* nothing more for the state file */
	/* pending jobs: their BINDs are cancelled (callbacks run now), then
	 * they finish with 503 */
	for (unsigned i = 0; i < m->conf->nnats; i++)
		if (m->nat[i].ac)
			nc_async_close(m->nat[i].ac), m->nat[i].ac = NULL, m->nat[i].up = false;
	while (m->jobs) {
		struct job *j = m->jobs;
		sip_msg_t *msg = j->msg;
		media_done_fn fn = j->fn;
		void *a = j->arg;
		j->msg = NULL;
		job_free(j);
		fn(a, 503, "Service Unavailable (shutting down)", msg);
	}
	m->freeing = true;
	while (m->spares) {
		struct call *c = m->spares;

		m->spares = c->hnext;
		event_free(c->timer);
		event_free(c->ack_timer);
		free(c);
	}
	for (unsigned k = 0; k < CALL_BUCKETS; k++)
		while (m->calls[k]) {
			m->calls[k]->refs = 0;
			m->calls[k]->ended = true;
			call_unlink_free(m, m->calls[k]);
		}
	for (unsigned k = 0; k < OWNER_BUCKETS; k++)
		while (m->owners[k]) {
			struct owner *o = m->owners[k];
			m->owners[k] = o->next;
			free(o);
		}
	for (unsigned i = 0; i < m->conf->nnats; i++)
		if (m->nat[i].retry)
			event_free(m->nat[i].retry);
	free(m);
}

const double media_bind_bounds_ms[MEDIA_BIND_BOUNDS] = {0.5, 1, 2, 5, 10, 25, 50, 100, 250};

const struct metrics_hist *media_bind_latency(const struct media *m)
{
	return &m->bind_latency;
}

void media_get_stats(const struct media *m, struct media_stats *st)
{
	*st = m->st;
	st->calls = m->ncalls;
	st->bindings = 0;
	for (unsigned k = 0; k < CALL_BUCKETS; k++)
		for (const struct call *c = m->calls[k]; c; c = c->hnext)
			st->bindings += c->s.nb;
	for (unsigned i = 0; i < m->conf->nnats; i++)
		st->natd_up[i] = m->nat[i].up;
}

void media_dump(const struct media *m, media_line_fn fn, void *arg)
{
	char line[1024];
	time_t now = time(NULL);

	for (unsigned k = 0; k < CALL_BUCKETS; k++)
		for (const struct call *c = m->calls[k]; c; c = c->hnext) {
			int off = snprintf(line, sizeof(line), "call %s age=%lds bindings=%u",
					   c->s.call_id, (long)(now - c->s.started), c->s.nb);
			for (unsigned i = 0; i < c->s.nb && off > 0 && (size_t)off < sizeof(line); i++) {
				const struct media_binding *b = &c->s.b[i];
				off += snprintf(line + off, sizeof(line) - (size_t)off,
						" [%u %s %u.%u.%u.%u:%u->%u.%u.%u.%u:%u]", b->id,
						m->conf->nats[b->nat].name, b->addr[0], b->addr[1],
						b->addr[2], b->addr[3], b->port, b->alloc.ip.a[0],
						b->alloc.ip.a[1], b->alloc.ip.a[2], b->alloc.ip.a[3],
						b->alloc.port);
			}
			fn(arg, line);
		}
}

void media_release_all(struct media *m, const char *why)
{
	for (unsigned k = 0; k < CALL_BUCKETS; k++) {
		struct call *c = m->calls[k], *next;

		for (; c; c = next) {
			next = c->hnext; /* call_end may free c */
			if (!c->ended)
				call_end(m, c, why);
		}
	}
}

unsigned media_pending(const struct media *m)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->conf->nnats; i++)
		if (m->nat[i].ac && m->nat[i].up)
			n += nc_async_pending(m->nat[i].ac);
	return n;
}

void media_set_hooks(struct media *m, const struct media_hooks *h)
{
	if (h)
		m->hooks = *h;
	else
		memset(&m->hooks, 0, sizeof(m->hooks));
}

void media_each_call(const struct media *m, media_each_fn fn, void *arg)
{
	for (unsigned k = 0; k < CALL_BUCKETS; k++)
		for (const struct call *c = m->calls[k]; c; c = c->hnext)
			if (!c->ended)
				fn(arg, &c->s);
}

static bool str_ok(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

/* The saved state fits this configuration and the fixed limits. */
static bool state_ok(const struct sp_conf *conf, const struct media_call_state *s)
{
	if (!str_ok(s->call_id, sizeof(s->call_id)) || !s->call_id[0] ||
	    s->nb > MEDIA_MAX_BINDINGS || s->nparty > MEDIA_MAX_PARTIES)
		return false;
	for (unsigned i = 0; i < s->nb; i++) {
		const struct media_binding *b = &s->b[i];

		if (b->nat < 0 || (unsigned)b->nat >= conf->nnats || b->rule < 0 ||
		    (unsigned)b->rule >= conf->nrules || conf->rules[b->rule].nat != b->nat ||
		    !str_ok(b->tag, sizeof(b->tag)) || b->port == 0 ||
		    (b->rtp_pair && b->port == 65535) ||
		    (b->proto != NC_PROTO_UDP && b->proto != NC_PROTO_TCP))
			return false;
	}
	for (unsigned i = 0; i < s->nparty; i++)
		if (!str_ok(s->party[i].tag, sizeof(s->party[i].tag)))
			return false;
	for (unsigned i = 0; i < SPC_MAX_REALMS; i++)
		if (s->has_filt[i] && (i >= conf->nrealms || s->filt[i].n > NC_FILTER_MAX))
			return false;
	return true;
}

int media_restore_call(struct media *m, const struct media_call_state *s)
{
	struct call *c;

	if (!s || !state_ok(m->conf, s))
		return -EINVAL;
	if (!(c = call_find(m, s->call_id))) {
		if (m->ncalls >= m->conf->max_calls)
			return -ENOSPC;
		if (!(c = call_new(m, s->call_id)))
			return -ENOMEM;
	}
	if (c->ended || c->refs)
		return -EBUSY; /* not while it is in use: only at start-up */
	c->s = *s;
	c->gen = 0;
	c->ack_armed = true; /* it was confirmed, or its INVITE's end will end it */
	call_account(m, c);
	for (unsigned i = 0; i < c->s.nb; i++) {
		c->s.b[i].gen = 0;
		/* natd is already up (not at start-up): go on at once */
		refresh_one(m, c, &c->s.b[i]);
	}
	return 0;
}

int media_forget_call(struct media *m, const char *call_id)
{
	struct call *c = call_find(m, call_id);

	if (!c || c->refs)
		return -ENOENT;
	call_unlink_free(m, c);
	return 0;
}
