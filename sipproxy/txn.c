/* txn: RFC 3261 §17 transactions of a stateful proxy (see txn.h).
 *
 * Theory of operation. Two chained hash tables: server transactions by
 * their §17.2.3 key, client transactions by their branch (ours, so
 * unique; the method tells a CANCEL from its INVITE). Each entry keeps its
 * key's hash, so a lookup compares strings only on a hash match and an
 * unlink needs no hashing; each table starts at BUCKETS_MIN and doubles
 * (rehashing from the stored hashes) when it holds twice as many entries
 * as buckets, up to BUCKETS_MAX: the 32 s that Timers J, H and D keep
 * transactions would otherwise make chains dozens long at a few thousand
 * calls per second. One libevent timer per transaction serves every RFC
 * timer in turn: a client transaction's timer fires at the next
 * retransmission (A or E, doubling up to T2 for non-INVITE) and gives up
 * at B or F (64*T1); after a final response the same timer becomes D (32
 * s, INVITE over UDP) or K (T4). Over TCP nothing is retransmitted and D/K
 * are zero. INVITE branches also run timer C.
 * The timers are armed through a timerq (timerq.h): a FIFO per duration,
 * not one heap of every waiting transaction.
 *
 * A server transaction owns its branches: freeing it frees them, so the
 * proxy never holds a branch longer than the request it serves. Timers
 * that end a transaction free it from the event loop; what the proxy keeps
 * about a request across the loop (a message in the media step) names it
 * by key and finds it gone.
 *
 * Waiting states are kept lean (txn.h, "Lean records"): a final response
 * sent upstream, or a branch's final after it, queues the server
 * transaction; one event (lean_ev), made active then, runs after the
 * callbacks of that loop pass and frees the parsed request of every queued
 * transaction whose branches all have their final (nothing can build a
 * response from it any more: the proxy builds responses only before the
 * final went upstream, or for a branch still waiting). A client INVITE
 * that got a non-2xx final keeps the bytes of its ACK, not the request it
 * was built from. The key is allocated to its length and the
 * authenticated user only when there is one.
 */
#include "txn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "policy.h"
#include "siphash.h"
#include "timerq.h"

#define BUCKETS_MIN 4096u
#define BUCKETS_MAX (1u << 20)
#define TIMER_D_MS 32000u

struct txn_layer {
	struct event_base *base;
	struct transport *tp;
	const struct sp_conf *conf;
	struct txn_hooks hooks;
	struct txn_srv **srv;     /* nsrv_b buckets, a power of two */
	struct txn_cli **cli;     /* ncli_b buckets, a power of two */
	unsigned nsrv_b, ncli_b;
	struct event *lean_ev;   /* end of pass: make the queued transactions lean */
	struct txn_srv *lean_q;
	struct siphash_key key;  /* branches and keys are the sender's choice */
	struct timerq tq;        /* every timer: a queue per RFC duration */
	struct txn_stats st;
};

static uint32_t hash_of(const struct txn_layer *tl, const char *s)
{
	return (uint32_t)siphash_str(&tl->key, s);
}

/* Double table tab (srv or cli: entries of type with hnext and hash) of
 * nb buckets once it holds twice as many entries (open) as buckets,
 * moving each entry by its stored hash. A failed allocation keeps the old
 * array: only slower. One macro for both tables, whose entry types differ. */
#define GROW(tl, tab, nb, open, type)                                                  \
	do {                                                                               \
		unsigned n_ = (tl)->nb * 2;                                                \
		type **b_;                                                                 \
		if ((open) < 2u * (tl)->nb || n_ > BUCKETS_MAX || !(b_ = calloc(n_, sizeof(*b_)))) \
			break;                                                             \
		for (unsigned i_ = 0; i_ < (tl)->nb; i_++)                                  \
			for (type *e_ = (tl)->tab[i_], *nx_; e_; e_ = nx_) {               \
				nx_ = e_->hnext;                                           \
				e_->hnext = b_[e_->hash & (n_ - 1)];                       \
				b_[e_->hash & (n_ - 1)] = e_;                              \
			}                                                                  \
		free((tl)->tab);                                                           \
		(tl)->tab = b_;                                                            \
		(tl)->nb = n_;                                                             \
	} while (0)

/* Start ev to fire in ms, on the layer's queue for that duration. */
static void arm(struct txn_layer *tl, struct event *ev, unsigned ms)
{
	timerq_add(&tl->tq, ev, ms);
}

static void lean_cb(evutil_socket_t fd, short what, void *arg);

struct txn_layer *txn_layer_new(struct event_base *base, struct transport *tp,
				const struct sp_conf *conf, const struct txn_hooks *hooks)
{
	struct txn_layer *tl = calloc(1, sizeof(*tl));

	if (!tl)
		return NULL;
	tl->base = base;
	tl->tp = tp;
	tl->conf = conf;
	tl->hooks = *hooks;
	siphash_key_random(&tl->key);
	timerq_init(&tl->tq, base);
	tl->nsrv_b = tl->ncli_b = BUCKETS_MIN;
	if (!(tl->srv = calloc(BUCKETS_MIN, sizeof(*tl->srv))) ||
	    !(tl->cli = calloc(BUCKETS_MIN, sizeof(*tl->cli))) ||
	    !(tl->lean_ev = event_new(base, -1, 0, lean_cb, tl))) {
		free(tl->srv);
		free(tl->cli);
		free(tl);
		return NULL;
	}
	return tl;
}

void txn_get_stats(const struct txn_layer *tl, struct txn_stats *st)
{
	*st = tl->st;
}

/* ---- sending ---- */

static int send_msg(struct txn_layer *tl, const struct tp_addr *to, sip_msg_t *msg,
		    char **keep, size_t *keep_len)
{
	char *buf;
	size_t len;
	int rc;

	if ((rc = sip_msg_to_bytes(msg, &buf, &len)) < 0)
		return rc;
	rc = tp_send(tl->tp, to, buf, len);
	if (keep) {
		*keep = buf;
		*keep_len = len;
	} else {
		sip_msg_bytes_free(buf);
	}
	return rc;
}

int txn_send_raw(struct txn_layer *tl, const struct tp_addr *to, sip_msg_t *msg)
{
	return send_msg(tl, to, msg, NULL, NULL);
}

/* Where a response to st's request goes: RFC 3261 §18.2.2 / RFC 3581 over
 * UDP; the same connection over TCP. */
void txn_resp_dest(const struct sp_conf *c, const struct tp_addr *from,
		   const sip_msg_t *resp, struct tp_addr *d)
{
	bool maddr_ok = policy_trusted_peer(c, from->peer.sin_addr.s_addr);
	struct sip_target t;
	struct in_addr a;

	*d = *from;
	if (from->tcp)
		return;
	/* RFC 3581 §4: received/rport; maddr only from a trusted peer */
	if (sip_msg_via_target(resp, 0, maddr_ok, &t) == 0 && t.numeric && !t.reliable &&
	    inet_pton(AF_INET, t.host, &a) == 1) {
		d->peer.sin_addr = a;
		d->peer.sin_port = htons(t.port);
	}
}

/* ---- server transactions ---- */

struct txn_srv *txn_srv_find(struct txn_layer *tl, const char *key)
{
	uint32_t h = hash_of(tl, key);
	struct txn_srv *st;

	for (st = tl->srv[h & (tl->nsrv_b - 1)]; st; st = st->hnext)
		if (st->hash == h && !strcmp(st->key, key))
			return st;
	return NULL;
}

static void cli_free(struct txn_layer *tl, struct txn_cli *ct);

static void srv_unlink(struct txn_layer *tl, struct txn_srv *st)
{
	struct txn_srv **pp = &tl->srv[st->hash & (tl->nsrv_b - 1)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == st) {
			*pp = st->hnext;
			return;
		}
}

static void lean_dequeue(struct txn_layer *tl, struct txn_srv *st)
{
	struct txn_srv **pp;

	if (!st->lean_queued)
		return;
	for (pp = &tl->lean_q; *pp; pp = &(*pp)->lnext)
		if (*pp == st) {
			*pp = st->lnext;
			break;
		}
	st->lean_queued = false;
}

/* Queue st to drop its request at the end of this loop pass. */
static void lean_queue(struct txn_layer *tl, struct txn_srv *st)
{
	if (st->lean_queued || !st->req || !st->final_sent)
		return;
	st->lean_queued = true;
	st->lnext = tl->lean_q;
	tl->lean_q = st;
	event_active(tl->lean_ev, 0, 0);
}

static bool branches_done(const struct txn_srv *st)
{
	for (unsigned i = 0; i < st->nbranches; i++)
		if (st->branch[i] && !st->branch[i]->srv_final_counted)
			return false;
	return st->npending == 0;
}

static void lean_cb(evutil_socket_t fd, short what, void *arg)
{
	struct txn_layer *tl = arg;
	struct txn_srv *st;

	(void)fd;
	(void)what;
	while ((st = tl->lean_q)) {
		tl->lean_q = st->lnext;
		st->lean_queued = false;
		if (!st->req || !branches_done(st))
			continue; /* a branch's final queues it again */
		sip_msg_free(st->req);
		st->req = NULL;
		if (st->best) {
			sip_msg_free(st->best);
			st->best = NULL;
		}
		tl->st.srv_made_lean++;
	}
}

bool txn_srv_is_lean(const struct txn_srv *st)
{
	return !st->req;
}

static const char no_user[] = "";

int txn_srv_set_auth_user(struct txn_srv *st, const char *user)
{
	char *u = NULL;

	if (user && *user && !(u = strdup(user)))
		return -ENOMEM;
	if (st->auth_user != no_user)
		free((char *)st->auth_user);
	st->auth_user = u ? u : no_user;
	return 0;
}

void txn_srv_destroy(struct txn_layer *tl, struct txn_srv *st)
{
	srv_unlink(tl, st);
	lean_dequeue(tl, st);
	for (unsigned i = 0; i < st->nbranches; i++)
		if (st->branch[i])
			cli_free(tl, st->branch[i]);
	if (st->timer)
		event_free(st->timer);
	if (st->best)
		sip_msg_free(st->best);
	if (st->req)
		sip_msg_free(st->req);
	sip_msg_bytes_free(st->resp);
	txn_srv_set_auth_user(st, NULL);
	tl->st.srv_open--;
	free(st);
}

static void srv_timer(evutil_socket_t fd, short what, void *arg)
{
	struct txn_srv *st = arg;
	struct txn_layer *tl = st->tl;
	const struct sp_conf *c = tl->conf;
	unsigned h = 64u * c->t1_ms;

	(void)fd;
	(void)what;
	if (st->state == TS_COMPLETED && st->invite && !st->from.tcp) {
		/* timer G: the non-2xx again, doubling up to T2, until H */
		st->g_elapsed += st->g_interval;
		if (st->g_elapsed < h) {
			tp_send(tl->tp, &st->resp_to, st->resp, st->resp_len);
			st->g_interval = st->g_interval * 2 < c->t2_ms ? st->g_interval * 2 : c->t2_ms;
			arm(tl, st->timer, st->g_interval < h - st->g_elapsed ? st->g_interval
									  : h - st->g_elapsed);
			return;
		}
	}
	txn_srv_destroy(tl, st);
}

struct txn_srv *txn_srv_new(struct txn_layer *tl, const char *key, sip_msg_t *req,
			    const struct tp_addr *from)
{
	struct txn_srv *st;
	size_t klen = strlen(key);
	bool no_tag = !sip_msg_to_tag(req);
	unsigned b;

	if (tl->st.srv_open >= tl->conf->max_transactions) {
		tl->st.full_refusals++;
		return NULL;
	}
	if (klen >= TXN_KEY_MAX || !(st = calloc(1, sizeof(*st) + klen + 1)))
		return NULL;
	if (!(st->timer = evtimer_new(tl->base, srv_timer, st))) {
		free(st);
		return NULL;
	}
	memcpy(st->key, key, klen + 1);
	st->auth_user = no_user;
	st->invite = sip_msg_method_is(req, "INVITE");
	st->initial = st->invite && no_tag;
	st->forms_dialog = no_tag && (st->invite || sip_msg_method_is(req, "SUBSCRIBE") ||
				      sip_msg_method_is(req, "REFER"));
	st->state = st->invite ? TS_PROCEEDING : TS_TRYING;
	st->from = *from;
	st->resp_to = *from;
	st->req = req;
	st->tl = tl;
	st->in_realm = -1;
	GROW(tl, srv, nsrv_b, tl->st.srv_open, struct txn_srv);
	st->hash = hash_of(tl, key);
	b = st->hash & (tl->nsrv_b - 1);
	st->hnext = tl->srv[b];
	tl->srv[b] = st;
	tl->st.srv_created++;
	tl->st.srv_open++;
	return st;
}

int txn_srv_respond(struct txn_layer *tl, struct txn_srv *st, sip_msg_t *resp)
{
	const struct sp_conf *c = tl->conf;
	struct tp_addr d;
	int status = sip_msg_status(resp), rc;

	txn_resp_dest(tl->conf, &st->from, resp, &d);
	st->resp_to = d;
	sip_msg_bytes_free(st->resp);
	st->resp = NULL;
	st->resp_len = 0;
	rc = send_msg(tl, &d, resp, &st->resp, &st->resp_len);
	sip_msg_free(resp);
	st->resp_status = status;
	if (status < 200) {
		if (st->state == TS_TRYING)
			st->state = TS_PROCEEDING;
		return rc;
	}
	st->final_sent = true;
	lean_queue(tl, st);
	if (st->invite && status < 300) {
		/* RFC 6026 Accepted: absorb INVITE retransmissions for 64*T1,
		 * without answering them: the 2xx is retransmitted by the
		 * callee, and each copy is forwarded (so its bytes need not
		 * be kept) */
		sip_msg_bytes_free(st->resp);
		st->resp = NULL;
		st->resp_len = 0;
		st->state = TS_ACCEPTED;
		arm(tl, st->timer, 64u * c->t1_ms);
	} else if (st->invite) {
		st->state = TS_COMPLETED;
		st->g_interval = c->t1_ms;
		st->g_elapsed = 0;
		/* over TCP only H runs */
		arm(tl, st->timer, st->from.tcp ? 64u * c->t1_ms : c->t1_ms);
	} else {
		st->state = TS_COMPLETED;
		/* timer J: 64*T1 over UDP, 0 over TCP */
		arm(tl, st->timer, st->from.tcp ? 0 : 64u * c->t1_ms);
	}
	return rc;
}

int txn_srv_reply(struct txn_layer *tl, struct txn_srv *st, int status, const char *reason)
{
	sip_msg_t *r;
	int rc;

	if (!st->req)
		return -EINVAL;
	if ((rc = sip_msg_build_response(st->req, status, reason, NULL, &r)) < 0)
		return rc;
	return txn_srv_respond(tl, st, r);
}

void txn_srv_retransmission(struct txn_layer *tl, struct txn_srv *st)
{
	tl->st.srv_retrans_absorbed++;
	if (!st->resp)
		return;
	/* where the last response went: the request's top Via (RFC 3261
	 * §18.2.2), or the connection it came on */
	tp_send(tl->tp, &st->resp_to, st->resp, st->resp_len);
}

void txn_srv_ack(struct txn_layer *tl, struct txn_srv *st)
{
	if (st->state != TS_COMPLETED)
		return;
	/* timer I: T4 over UDP, 0 over TCP */
	st->state = TS_CONFIRMED;
	arm(tl, st->timer, st->from.tcp ? 0 : tl->conf->t4_ms);
}

/* ---- client transactions ---- */

static void cli_unlink(struct txn_layer *tl, struct txn_cli *ct)
{
	struct txn_cli **pp;

	for (pp = &tl->cli[ct->hash & (tl->ncli_b - 1)]; *pp; pp = &(*pp)->hnext)
		if (*pp == ct) {
			*pp = ct->hnext;
			return;
		}
}

static void cli_free(struct txn_layer *tl, struct txn_cli *ct)
{
	cli_unlink(tl, ct);
	if (ct->timer)
		event_free(ct->timer);
	if (ct->timer_c)
		event_free(ct->timer_c);
	if (ct->req)
		sip_msg_free(ct->req);
	sip_msg_bytes_free(ct->bytes);
	tl->st.cli_open--;
	free(ct);
}

/* The branch died: report it once, then keep it quiet until its server
 * transaction frees it (or free it now if it has none). */
static void cli_dead(struct txn_layer *tl, struct txn_cli *ct, int status)
{
	ct->state = TC_TERMINATED;
	evtimer_del(ct->timer);
	if (ct->timer_c)
		evtimer_del(ct->timer_c);
	if (!ct->srv) {
		cli_free(tl, ct);
		return;
	}
	tl->st.cli_timeouts++;
	if (tl->hooks.cli_timeout)
		tl->hooks.cli_timeout(tl->hooks.arg, ct, status);
	lean_queue(tl, ct->srv);
}

static void cli_timer(evutil_socket_t fd, short what, void *arg)
{
	struct txn_cli *ct = arg;
	struct txn_layer *tl = ct->tl;
	const struct sp_conf *c = tl->conf;
	unsigned next;

	(void)fd;
	(void)what;
	if (ct->status < 0) { /* the first send failed */
		cli_dead(tl, ct, 503);
		return;
	}
	switch (ct->state) {
	case TC_CALLING:
	case TC_PROCEEDING:
		ct->elapsed += ct->interval;
		if (ct->elapsed >= 64u * c->t1_ms) { /* B or F */
			if (ct->invite && ct->state == TC_PROCEEDING) {
				/* INVITE proceeding: only timer C ends it */
				return;
			}
			cli_dead(tl, ct, 408);
			return;
		}
		if (!ct->to.tcp && (ct->invite ? ct->state == TC_CALLING : true)) {
			tp_send(tl->tp, &ct->to, ct->bytes, ct->len);
			tl->st.cli_retransmits++;
		}
		next = ct->interval * 2;
		if (!ct->invite && (ct->state == TC_PROCEEDING || next > c->t2_ms))
			next = c->t2_ms;
		if (ct->elapsed + next > 64u * c->t1_ms)
			next = 64u * c->t1_ms - ct->elapsed;
		ct->interval = next;
		arm(tl, ct->timer, next);
		return;
	case TC_COMPLETED:
		ct->state = TC_TERMINATED;
		if (!ct->srv)
			cli_free(tl, ct);
		return;
	case TC_TERMINATED:
		return;
	}
}

static void cli_timer_c(evutil_socket_t fd, short what, void *arg)
{
	struct txn_cli *ct = arg;

	(void)fd;
	(void)what;
	if (ct->state == TC_CALLING || ct->state == TC_PROCEEDING) {
		if (ct->tl->hooks.cli_timer_c)
			ct->tl->hooks.cli_timer_c(ct->tl->hooks.arg, ct);
	}
}

struct txn_cli *txn_cli_send(struct txn_layer *tl, const struct tp_addr *to,
			     sip_msg_t *req, const char *branch, struct txn_srv *srv,
			     int out_realm)
{
	const struct sp_conf *c = tl->conf;
	struct txn_cli *ct = NULL;
	unsigned b;
	int rc;

	if (tl->st.cli_open >= 2u * c->max_transactions) {
		tl->st.full_refusals++;
		goto fail;
	}
	if (strlen(branch) >= SIP_BRANCH_MAX || !(ct = calloc(1, sizeof(*ct))))
		goto fail;
	strcpy(ct->branch, branch);
	snprintf(ct->method, sizeof(ct->method), "%s", sip_msg_method(req) ? sip_msg_method(req) : "");
	ct->tl = tl;
	ct->to = *to;
	ct->invite = sip_msg_method_is(req, "INVITE");
	ct->state = TC_CALLING;
	ct->srv = srv;
	ct->out_realm = out_realm;
	if (!(ct->timer = evtimer_new(tl->base, cli_timer, ct)))
		goto fail;
	if (ct->invite && !(ct->timer_c = evtimer_new(tl->base, cli_timer_c, ct)))
		goto fail;
	rc = send_msg(tl, to, req, &ct->bytes, &ct->len);
	if (!ct->bytes) {
		log_debug("cannot serialise a request: %s", strerror(-rc));
		goto fail;
	}
	ct->req = req;
	req = NULL;
	GROW(tl, cli, ncli_b, tl->st.cli_open, struct txn_cli);
	ct->hash = hash_of(tl, branch);
	b = ct->hash & (tl->ncli_b - 1);
	ct->hnext = tl->cli[b];
	tl->cli[b] = ct;
	tl->st.cli_created++;
	tl->st.cli_open++;
	if (rc < 0) {
		log_debug("send to %s:%u failed: %s", inet_ntoa(to->peer.sin_addr),
			  ntohs(to->peer.sin_port), strerror(-rc));
		ct->status = -1;
		arm(tl, ct->timer, 0);
		return ct;
	}
	ct->interval = c->t1_ms;
	/* over TCP nothing is retransmitted: the timer only counts to B/F */
	arm(tl, ct->timer, to->tcp ? 64u * c->t1_ms : c->t1_ms);
	if (to->tcp)
		ct->interval = 64u * c->t1_ms;
	if (ct->invite)
		arm(tl, ct->timer_c, c->timer_c * 1000u);
	return ct;
fail:
	if (ct) {
		if (ct->timer)
			event_free(ct->timer);
		if (ct->timer_c)
			event_free(ct->timer_c);
		free(ct);
	}
	if (req)
		sip_msg_free(req);
	return NULL;
}

struct txn_cli *txn_cli_match(struct txn_layer *tl, const sip_msg_t *resp)
{
	const char *method = sip_msg_cseq_method(resp), *branch;
	struct txn_cli *ct;
	bool invite;
	uint32_t h;

	if (!method || !(branch = sip_msg_via_branch(resp, 0)))
		return NULL;
	invite = !strcmp(method, "INVITE");
	h = hash_of(tl, branch);
	for (ct = tl->cli[h & (tl->ncli_b - 1)]; ct; ct = ct->hnext)
		if (ct->hash == h && !strcmp(ct->branch, branch) && ct->invite == invite &&
		    !strcmp(ct->method, method))
			return ct;
	return NULL;
}

static void send_cancel(struct txn_layer *tl, struct txn_cli *ct)
{
	sip_msg_t *c;

	ct->cancel_sent = true;
	if (!ct->req || !(c = sip_msg_build_cancel(ct->req)))
		return;
	/* its own client transaction (non-INVITE), with the INVITE's branch */
	txn_cli_send(tl, &ct->to, c, ct->branch, NULL, ct->out_realm);
}

void txn_cli_cancel(struct txn_layer *tl, struct txn_cli *ct)
{
	if (!ct->invite || ct->cancel_sent || ct->state >= TC_COMPLETED)
		return;
	if (ct->state == TC_PROCEEDING)
		send_cancel(tl, ct);
	else
		ct->cancel_pending = true;
}

bool txn_cli_response(struct txn_layer *tl, struct txn_cli *ct, const sip_msg_t *resp)
{
	const struct sp_conf *c = tl->conf;
	int status = sip_msg_status(resp);

	if (ct->state == TC_TERMINATED) {
		/* a 2xx after the branch died still has to reach the caller */
		return ct->invite && status >= 200 && status < 300;
	}
	if (status < 200) {
		if (ct->state == TC_CALLING) {
			ct->state = TC_PROCEEDING;
			if (!ct->invite) { /* E continues at T2 */
				evtimer_del(ct->timer);
				ct->interval = c->t2_ms;
				arm(tl, ct->timer, c->t2_ms);
			}
		}
		if (status > ct->status)
			ct->status = status;
		if (ct->timer_c && status > 100) /* §16.7 step 2: restart C */
			arm(tl, ct->timer_c, c->timer_c * 1000u);
		if (ct->cancel_pending && !ct->cancel_sent)
			send_cancel(tl, ct);
		return true;
	}
	if (ct->state == TC_COMPLETED) {
		/* a retransmitted final response: a non-2xx gets our ACK again
		 * (§17.1.1.2), the same bytes, as its To tag is the same */
		if (ct->invite && status >= 300) {
			if (ct->bytes)
				tp_send(tl->tp, &ct->to, ct->bytes, ct->len);
			return false;
		}
		return ct->invite && status < 300;
	}
	ct->status = status;
	ct->state = TC_COMPLETED;
	evtimer_del(ct->timer);
	if (ct->timer_c) { /* C is over for good */
		event_free(ct->timer_c);
		ct->timer_c = NULL;
	}
	/* nothing is sent again but a non-2xx's ACK: keep only its bytes */
	sip_msg_bytes_free(ct->bytes);
	ct->bytes = NULL;
	ct->len = 0;
	if (ct->invite && status >= 300 && ct->req) {
		sip_msg_t *ack = sip_msg_build_ack(ct->req, resp);
		if (ack) {
			send_msg(tl, &ct->to, ack, &ct->bytes, &ct->len);
			sip_msg_free(ack);
		}
	}
	if (ct->req) {
		sip_msg_free(ct->req);
		ct->req = NULL;
	}
	if (ct->srv)
		lean_queue(tl, ct->srv);
	if (ct->invite && status >= 300) {
		arm(tl, ct->timer, ct->to.tcp ? 0 : TIMER_D_MS);
	} else if (ct->invite) {
		/* RFC 6026: keep matching 2xx retransmissions for 64*T1 */
		arm(tl, ct->timer, 64u * c->t1_ms);
	} else {
		arm(tl, ct->timer, ct->to.tcp ? 0 : c->t4_ms);
	}
	return true;
}

void txn_layer_free(struct txn_layer *tl)
{
	if (!tl)
		return;
	for (unsigned b = 0; b < tl->nsrv_b; b++)
		while (tl->srv[b])
			txn_srv_destroy(tl, tl->srv[b]);
	for (unsigned b = 0; b < tl->ncli_b; b++)
		while (tl->cli[b])
			cli_free(tl, tl->cli[b]);
	if (tl->lean_ev)
		event_free(tl->lean_ev);
	free(tl->srv);
	free(tl->cli);
	free(tl);
}
