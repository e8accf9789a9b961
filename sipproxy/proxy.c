/* proxy: the stateful proxy core of sipproxy (RFC 3261 §16).
 *
 * Theory of operation. Every message from the transports is parsed by
 * sip_msg_parse(); a refused request is answered with the status the
 * parser chose, a refused response is dropped. Then:
 *
 * Requests (§16.3-§16.6). ACK matching a non-2xx server transaction ends
 * it (so does one answering our stateless 401/407/403); an ACK for a 2xx (end to end) is forwarded without state when it
 * belongs to a dialog of the table and comes from its caller (dialog.h),
 * any other ACK is dropped before the media step. CANCEL is answered 200
 * and cancels the branches of its INVITE (§16.10), when it comes from
 * where the INVITE came from (else 481). A retransmission is absorbed by
 * its server transaction. An in-dialog request (To with a tag) that names
 * no dialog of the table, or does not come from the party whose tag is in
 * its From, gets 481 (rate limited per source) and changes nothing.
 * Otherwise:
 * Max-Forwards (483), loop detection (482), the digest check (auth.h: a
 * REGISTER, or a request whose From is a user of ours, is challenged), a
 * new server transaction; an out-of-dialog request then passes the relay
 * policy (policy.h: an authenticated user, a call to a registered user of
 * ours, a trusted peer, or a route whose allow_from admits the source) or
 * gets 403 statelessly and leaves nothing behind; then 100 Trying at once
 * for INVITE, and the target set:
 *   - a Route header left after removing ours: that next hop (loose
 *     routing, in-dialog requests);
 *   - a static route for the Request-URI host;
 *   - a host of ours: REGISTER goes to the registrar, OPTIONS is answered,
 *     anything else goes to every live contact of the AoR (forking), sent
 *     to the address the REGISTER came from (NAT-aware);
 *   - else the Request-URI's own host and port (numeric only: no DNS).
 * Each branch is a copy with Max-Forwards decremented, Record-Route (two
 * entries when the request changes realm, RFC 5658, so each side sees an
 * address valid in its realm), our Via with a loop-detecting branch, and
 * then the media step: media_process() may park the copy while natd
 * answers; when it comes back the branch is sent as a client transaction.
 *
 * Responses (§16.7). Matched to their branch; 100 stops there; other 1xx
 * and every 2xx go upstream at once (through the media step), a 2xx
 * cancels the other branches and confirms the dialog; final non-2xx are
 * kept, the best one (6xx, else the lowest class, 503 turned into 500)
 * goes upstream when every branch is done. A branch that times out counts
 * as 408. A response that matches no transaction is forwarded statelessly
 * if it is a 2xx to an INVITE (RFC 6026), else dropped.
 *
 * Calls and bindings: BYE ends the call's media and its dialog at once; a
 * final failure of an initial INVITE (CANCEL, 486, timeout...) ends the
 * media and the early dialogs. Dialogs are made by the responses to
 * dialog-forming requests (note_dialog: 2xx, and 1xx with a To tag for
 * INVITE) and expire with media.max_call_duration.
 *
 * State file (state.file, persist.h): proxy_new() replays it into the
 * registrar and media before anything is served; proxy_state_open() (after
 * the privilege drop, so the file belongs to the user that writes it
 * later) starts the journal. On stop, proxy_shutdown() either writes a
 * last snapshot and leaves the live calls' bindings to natd, for the next
 * start to take over, or, without a state file, releases them and runs the
 * loop (bounded) until natd has answered, taking no new SIP meanwhile.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dialog.h"
#include "auth.h"
#include "clock.h"
#include "log.h"
#include "looplag.h"
#include "media.h"
#include "persist.h"
#include "sp_ha.h"
#include "policy.h"
#include "ratelimit.h"
#include "registrar.h"
#include "sip/sip_msg.h"
#include "hop.h"
#include "transport.h"
#include "txn.h"

struct proxy {
	struct event_base *base;
	const struct sp_conf *conf; /* main's; proxy_reload() rewrites it in place */
	struct transport *tp;
	struct txn_layer *tl;
	struct registrar *reg;
	struct media *media;
	struct event *tick;
	struct looplag *lag;       /* the loop's pauses, for the status view */
	struct ratelimit *rl;      /* sip.rate_limit, per source address */
	struct dlg_table *dlg;     /* the dialogs and their parties */
	struct ratelimit *rl_dlg;  /* sip.dialog_mismatch_rate, per source address */
	struct persist *ps;        /* state.file and/or ha; NULL without either */
	struct sp_ha *ha;          /* ha.enabled: state shared through Redis */
	struct ratelimit *refuse_log; /* relay refusals logged once per source per
					 POLICY_LOG_EVERY_S */
	struct auth *auth;         /* digest authentication (auth.*) */
	bool stopping;             /* proxy_shutdown(): SIP is no longer taken */
	struct proxy_stats st;
};

/* A message parked in the media step. */
enum park_kind { PARK_BRANCH, PARK_RESPONSE, PARK_STATELESS };

struct park {
	struct proxy *p;
	enum park_kind kind;
	char key[TXN_KEY_MAX];     /* the server transaction */
	struct tp_addr dest;
	char branch[SIP_BRANCH_MAX];
	int out_realm;
	bool holds_final;          /* a final response: counted in st->npending */
};

/* A relay refusal is logged at most once per source in this many seconds. */
#define POLICY_LOG_EVERY_S 10

static int64_t now_s(void)
{
	return (int64_t)(clock_mono_ms() / 1000u);
}

static const char *ip_str(const struct sockaddr_in *a, char *buf)
{
	return hop_ip4_str(a->sin_addr, buf);
}

/* The whole Call-ID; CID(m) uses a buffer of the calling block. */
#define CID(m) sip_msg_call_id((m), (char[SIP_CALLID_MAX]){0}, SIP_CALLID_MAX)

static const char *listen_host(const struct sp_conf *c, int li, char *buf)
{
	return hop_host(c, li, buf);
}

static uint16_t listen_port(const struct sp_conf *c, int li)
{
	return ntohs(c->listen[li].addr.sin_port);
}

/* The realm a peer is in: by its address, else the listen it came on. */
static int realm_of_peer(const struct sp_conf *c, const struct tp_addr *a)
{
	int r = sp_conf_realm_of(c, a->peer.sin_addr.s_addr);

	return r >= 0 ? r : c->listen[a->listen].realm;
}

/* ---- sending without a transaction ---- */

/* Answer req statelessly (parse errors, 481 to a CANCEL, 503 when full or
 * over the request rate) to where a response goes (txn_resp_dest).
 * retry_after: a Retry-After value (RFC 3261 §20.33), or NULL. */
static void reply_stateless(struct proxy *p, const sip_msg_t *req, const struct tp_addr *from,
			    int status, const char *reason, const char *retry_after)
{
	sip_msg_t *r = NULL;
	struct tp_addr d;

	if (sip_msg_build_response(req, status, reason, NULL, &r) < 0)
		return;
	if (retry_after)
		sip_msg_add_header(r, "Retry-After", retry_after);
	txn_resp_dest(p->conf, from, r, &d);
	txn_send_raw(p->tl, &d, r);
	sip_msg_free(r);
	p->st.replied_4xx5xx += status >= 400;
}

/* The answer of auth_request() that stops req: a 401/407 challenge or a
 * 403, statelessly (a challenged request leaves no state behind). */
static void reply_auth(struct proxy *p, const sip_msg_t *req, const struct tp_addr *from,
		       const struct auth_verdict *v)
{
	char tag[AUTH_TAG_LEN + 1];
	sip_msg_t *r = NULL;
	struct tp_addr d;

	if (auth_tag(p->auth, req, tag) < 0 ||
	    sip_msg_build_response(req, v->status, v->reason, tag, &r) < 0)
		return;
	if ((v->status == 401 || v->status == 407) &&
	    auth_challenge(p->auth, r, &from->peer, v->stale, clock_mono_ms()) < 0) {
		sip_msg_free(r);
		return;
	}
	txn_resp_dest(p->conf, from, r, &d);
	txn_send_raw(p->tl, &d, r);
	sip_msg_free(r);
	p->st.replied_4xx5xx++;
}

/* A sip_target (numeric) as a transport destination (UDP, TCP or TLS: hop.h). */
static int target_addr(const struct proxy *p, const struct sip_target *t, struct tp_addr *d)
{
	(void)p;
	return hop_of_target(t, d);
}

/* Which listen a message to d leaves from: the first of d's realm with the
 * transport, else fallback. */
static int out_listen(const struct sp_conf *c, const struct tp_addr *d, int fallback, int *realm)
{
	int r = sp_conf_realm_of(c, d->peer.sin_addr.s_addr), li;

	if (r < 0)
		r = c->listen[fallback].realm;
	li = hop_listen(c, r, d);
	if (li < 0)
		li = fallback;
	*realm = r;
	return li;
}

/* ---- is this URI us? ---- */

static bool is_mine(const sip_uri_t *u, void *arg)
{
	const struct sp_conf *c = arg;
	const char *host = sip_uri_host(u), *uport = sip_uri_port(u);
	char buf[INET_ADDRSTRLEN];
	unsigned port;

	if (!host)
		return false;
	port = uport && *uport ? (unsigned)atoi(uport)
	       : !strcasecmp(sip_uri_scheme(u) ? sip_uri_scheme(u) : "", "sips") ? 5061 : 5060;
	for (unsigned i = 0; i < c->nlisten; i++) {
		if (port != listen_port(c, (int)i) && !(c->listen[i].tls && port == c->listen[i].tls_port))
			continue;
		if (!strcasecmp(host, listen_host(c, (int)i, buf)) ||
		    !strcmp(host, hop_ip4_str(c->listen[i].addr.sin_addr, buf)))
			return true;
	}
	return false;
}

/* "user@domain" of a URI, a host of ours written as the first domain. */
static int aor_of(const struct sp_conf *c, const sip_uri_t *u, char *buf, size_t len)
{
	const char *dom = sip_uri_host(u), *user = sip_uri_user(u);
	int n;

	if (!dom || !user || !*user)
		return -EINVAL;
	if (sp_conf_is_local_domain(c, dom)) {
		bool named = false;
		for (unsigned i = 0; i < c->ndomains; i++)
			if (!strcasecmp(c->domains[i], dom))
				named = true;
		if (!named)
			dom = c->ndomains ? c->domains[0] : "local";
	}
	n = snprintf(buf, len, "%s@%s", user, dom);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	for (char *s = strchr(buf, '@'); *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	return 0;
}

/* ---- responses upstream ---- */

static void respond(struct proxy *p, struct txn_srv *st, sip_msg_t *resp);

static bool initial_invite(const struct txn_srv *st)
{
	return st->initial;
}

/* A final response went upstream: what it means for the call's media. */
static void after_final(struct proxy *p, struct txn_srv *st, int status)
{
	const char *cid = CID(st->req);

	if (status >= 300 && initial_invite(st)) {
		char why[64];
		snprintf(why, sizeof(why), "INVITE answered %d", status);
		media_call_end(p->media, cid, why);
		if (sip_msg_from_tag(st->req))
			dlg_end_early(p->dlg, cid, sip_msg_from_tag(st->req));
	}
}

static int class_rank(int status)
{
	/* §16.7 step 6: 6xx first, then the lowest class */
	if (status >= 600)
		return 0;
	return status / 100;
}

/* Send the best final response once every branch is done. */
static void maybe_finish(struct proxy *p, struct txn_srv *st)
{
	sip_msg_t *r;
	int status;

	if (st->final_sent || st->nfinal < st->nbranches || st->npending > 0)
		return;
	if (st->best) {
		r = st->best;
		st->best = NULL;
		if (sip_msg_status(r) == 503 && !st->best_local) /* §16.7 step 6 */
			sip_msg_set_status(r, 500, "Server Internal Error (503 downstream)");
	} else if (sip_msg_build_response(st->req, st->cancelled ? 487 : 408, NULL, NULL, &r) < 0) {
		return;
	}
	status = sip_msg_status(r);
	respond(p, st, r);
	after_final(p, st, status);
}

/* Keep resp if it is the best final so far (a clone: resp stays the
 * caller's). local: we made it (a timeout, a media failure), so a 503 in it
 * is ours to send, not a downstream 503 to hide (§16.7 step 6). */
static void consider_final(struct txn_srv *st, sip_msg_t *resp, bool local)
{
	if (!st->best || class_rank(sip_msg_status(resp)) < class_rank(sip_msg_status(st->best))) {
		sip_msg_t *c = NULL;
		if (sip_msg_clone(resp, &c) == 0) {
			if (st->best)
				sip_msg_free(st->best);
			st->best = c;
			st->best_local = local;
		}
	}
}

static void respond(struct proxy *p, struct txn_srv *st, sip_msg_t *resp)
{
	int status = sip_msg_status(resp);

	p->st.forwarded_responses++;
	if (status >= 300)
		p->st.replied_4xx5xx++;
	txn_srv_respond(p->tl, st, resp);
}

/* ---- the media step ---- */

static void send_branch(struct proxy *p, struct txn_srv *st, sip_msg_t *msg,
			const struct tp_addr *dest, const char *branch, int out_realm);

/* The branch of st whose branch id is branch, or NULL. */
static struct txn_cli *branch_of(struct txn_srv *st, const char *branch)
{
	for (unsigned i = 0; st && i < st->nbranches; i++)
		if (!strcmp(st->branch[i]->branch, branch))
			return st->branch[i];
	return NULL;
}

static void park_done(void *arg, int status, const char *reason, sip_msg_t *msg)
{
	struct park *pk = arg;
	struct proxy *p = pk->p;
	struct txn_srv *st = pk->kind == PARK_STATELESS ? NULL : txn_srv_find(p->tl, pk->key);

	if (!msg) {
		free(pk);
		return;
	}
	switch (pk->kind) {
	case PARK_BRANCH:
		if (!st) {
			sip_msg_free(msg);
			break;
		}
		st->npending--;
		if (status) {
			p->st.media_rejects++;
			/* the branch fails with that status */
			sip_msg_t *r = NULL;
			if (sip_msg_build_response(st->req, status, reason, NULL, &r) == 0) {
				consider_final(st, r, true);
				sip_msg_free(r);
			}
			sip_msg_free(msg);
			maybe_finish(p, st);
		} else if (st->cancelled || st->final_sent) {
			sip_msg_free(msg);
			maybe_finish(p, st);
		} else {
			send_branch(p, st, msg, &pk->dest, pk->branch, pk->out_realm);
		}
		break;
	case PARK_RESPONSE: {
		/* a final response was parked: the best-response choice waited
		 * for it (a 2xx on its way must win over a later 487) */
		struct txn_cli *ct = branch_of(st, pk->branch);
		int sc = sip_msg_status(msg);
		bool is2xx = sc >= 200 && sc < 300;
		if (pk->holds_final && st && st->npending)
			st->npending--;
		if (is2xx && ct && ct->refused_2xx) {
			/* a retransmission of a 2xx the caller already got an
			 * error for: the call must not come back to life */
			media_call_end(p->media, CID(msg), "2xx refused earlier");
			sip_msg_free(msg);
		} else if (status) {
			if (is2xx && ct)
				ct->refused_2xx = true;
			/* the answer cannot be rewritten: the caller learns it */
			p->st.media_rejects++;
			log_warn("call %s: %d %s could not be rewritten: answering %d upstream",
				 CID(msg), sc, sip_msg_reason(msg) ? sip_msg_reason(msg) : "",
				 status == 503 ? 500 : status);
			if (st && !st->final_sent && sc >= 200) {
				sip_msg_t *r = NULL;
				if (sip_msg_build_response(st->req, status == 503 ? 500 : status, reason,
							   NULL, &r) == 0) {
					respond(p, st, r);
					after_final(p, st, 500);
				}
			}
			sip_msg_free(msg);
		} else if (st) {
			if ((sc >= 200 && sc < 300) || !st->final_sent)
				respond(p, st, msg);
			else
				sip_msg_free(msg);
		} else {
			/* the transaction is gone (a late 2xx): statelessly */
			txn_send_raw(p->tl, &pk->dest, msg);
			sip_msg_free(msg);
		}
		if (pk->holds_final && st)
			maybe_finish(p, st);
		break;
	}
	case PARK_STATELESS:
		if (status == 0)
			txn_send_raw(p->tl, &pk->dest, msg);
		sip_msg_free(msg);
		break;
	}
	free(pk);
}

/* Who a call's media bindings count against (media.max_bindings_per_user):
 * the authenticated user, else the request's source address. */
static const char *media_owner(const struct txn_srv *st, const struct tp_addr *from, char *buf)
{
	if (st && st->auth_user[0])
		return st->auth_user;
	return ip_str(&(st ? &st->from : from)->peer, buf);
}

/* A 488 of the media step names its reason in a Warning (RFC 3261
 * §20.43; 305 "Incompatible media format"), as agent our address on the
 * side it goes to. */
static void media_warning(const struct sp_conf *c, sip_msg_t *r, int li, const char *reason)
{
	char host[INET_ADDRSTRLEN], w[300];

	if (sip_msg_status(r) != 488 || !reason)
		return;
	snprintf(w, sizeof(w), "305 %s \"%s\"", listen_host(c, li, host), reason);
	sip_msg_add_header(r, "Warning", w);
}

/* Run msg through the media step, then deliver it as pk says. Returns 0 if
 * the message was sent, parked, or dealt with; the status otherwise
 * (msg still the caller's). */
static int media_then(struct proxy *p, sip_msg_t *msg, int src_realm, int dst_realm,
		      const char *owner, struct park *pk_tmpl, const char **reason)
{
	struct park *pk;
	int rc;

	if (!(pk = malloc(sizeof(*pk))))
		return 500;
	*pk = *pk_tmpl;
	pk->p = p;
	rc = media_process(p->media, msg, src_realm, dst_realm, owner, park_done, pk, reason);
	if (rc == MEDIA_PENDING)
		return 0;
	free(pk);
	return rc == MEDIA_NONE ? -1 : rc;
}

/* ---- branches ---- */

static void send_branch(struct proxy *p, struct txn_srv *st, sip_msg_t *msg,
			const struct tp_addr *dest, const char *branch, int out_realm)
{
	struct txn_cli *ct;

	if (st->nbranches == TXN_MAX_BRANCHES) {
		sip_msg_free(msg);
		return;
	}
	p->st.forwarded_requests++;
	ct = txn_cli_send(p->tl, dest, msg, branch, st, out_realm);
	if (!ct) {
		sip_msg_t *r = NULL;
		if (sip_msg_build_response(st->req, 503, "Service Unavailable (cannot send)", NULL,
					   &r) == 0) {
			consider_final(st, r, true);
			sip_msg_free(r);
		}
		maybe_finish(p, st);
		return;
	}
	st->branch[st->nbranches++] = ct;
	if (st->cancelled)
		txn_cli_cancel(p->tl, ct);
}

/* Make one branch of st towards dest, Request-URI uri (NULL: unchanged). */
static void fork_branch(struct proxy *p, struct txn_srv *st, const char *loop_key,
			const struct tp_addr *dest_in, const char *uri)
{
	const struct sp_conf *c = p->conf;
	struct tp_addr dest = *dest_in;
	sip_msg_t *m = NULL;
	char branch[SIP_BRANCH_MAX], host[INET_ADDRSTRLEN], rr[2][HOP_RR_MAX];
	const char *reason = NULL;
	int out_realm, li, rc;
	struct park pk;

	li = out_listen(c, &dest, st->from.listen, &out_realm);
	dest.listen = li;
	if (sip_msg_clone(st->req, &m) != 0)
		goto fail500;
	if (uri && sip_msg_set_req_uri(m, uri) < 0)
		goto fail500;
	sip_msg_decrement_max_forwards(m);
	/* Record-Route: dialog-forming requests (To without a tag) */
	if (!sip_msg_to_tag(m) && (sip_msg_method_is(m, "INVITE") || sip_msg_method_is(m, "SUBSCRIBE") ||
				   sip_msg_method_is(m, "REFER") || sip_msg_method_is(m, "NOTIFY"))) {
		/* each side's entry keeps its transport: two when they differ */
		int n = hop_record_route(c, st->from.listen, &st->from, li, &dest, rr);

		for (int i = 0; i < n; i++)
			sip_msg_add_record_route(m, rr[i]);
	}
	if (sip_msg_make_branch(branch, sizeof(branch), loop_key, NULL, 0) < 0 ||
	    sip_msg_add_via(m, hop_via(&dest), listen_host(c, li, host), hop_port(c, li, &dest),
			    branch) < 0)
		goto fail500;
	sip_msg_route_strict_fixup(m);

	memset(&pk, 0, sizeof(pk));
	pk.kind = PARK_BRANCH;
	snprintf(pk.key, sizeof(pk.key), "%s", st->key);
	pk.dest = dest;
	snprintf(pk.branch, sizeof(pk.branch), "%s", branch);
	pk.out_realm = out_realm;
	st->npending++;
	rc = media_then(p, m, st->in_realm, out_realm, media_owner(st, NULL, host), &pk, &reason);
	if (rc == 0)
		return;
	st->npending--;
	if (rc < 0) {
		send_branch(p, st, m, &dest, branch, out_realm);
		return;
	}
	/* the SDP cannot be rewritten */
	p->st.media_rejects++;
	sip_msg_free(m);
	{
		sip_msg_t *r = NULL;
		if (sip_msg_build_response(st->req, rc, reason, NULL, &r) == 0) {
			media_warning(c, r, st->from.listen, reason);
			consider_final(st, r, true);
			sip_msg_free(r);
		}
	}
	maybe_finish(p, st);
	return;
fail500:
	if (m)
		sip_msg_free(m);
	{
		sip_msg_t *r = NULL;
		if (sip_msg_build_response(st->req, 500, NULL, NULL, &r) == 0) {
			consider_final(st, r, true);
			sip_msg_free(r);
		}
	}
	maybe_finish(p, st);
}

/* ---- requests ---- */

static void do_register(struct proxy *p, struct txn_srv *st)
{
	char aor[REG_AOR_MAX];
	sip_msg_t *r = NULL;
	const char *reason = NULL;
	int status;

	p->st.registers++;
	if (aor_of(p->conf, sip_msg_to_uri(st->req), aor, sizeof(aor)) < 0) {
		txn_srv_reply(p->tl, st, 400, "Bad Request (To is not an address-of-record)");
		return;
	}
	if (sip_msg_build_response(st->req, 200, NULL, NULL, &r) < 0) {
		txn_srv_reply(p->tl, st, 500, NULL);
		return;
	}
	status = registrar_register(p->reg, aor, st->req, &st->from, now_s(), r, &reason);
	if (status != 200)
		sip_msg_set_status(r, status, reason);
	log_info("REGISTER %s from %s:%u: %d", aor, inet_ntoa(st->from.peer.sin_addr),
		 ntohs(st->from.peer.sin_port), status);
	respond(p, st, r);
}

static void route_request(struct proxy *p, struct txn_srv *st)
{
	const struct sp_conf *c = p->conf;
	sip_msg_t *req = st->req;
	const sip_uri_t *next = NULL, *ruri;
	const char *host;
	char loop_key[SIP_LOOP_KEY_LEN + 1];
	struct sip_target t;
	struct tp_addr d;
	int rc;

	if (sip_msg_loop_key(req, loop_key, sizeof(loop_key)) < 0) {
		txn_srv_reply(p->tl, st, 400, "Bad Request (cannot compute a branch)");
		return;
	}
	if (sip_msg_route_preprocess(req, is_mine, (void *)c, &next) < 0) {
		txn_srv_reply(p->tl, st, 400, "Bad Request (Route)");
		return;
	}
	/* loose routing: a Route left is the next hop */
	if (sip_msg_route_count(req) > 0) {
		if (sip_msg_uri_target(next, &t) < 0 || (rc = target_addr(p, &t, &d)) < 0) {
			p->st.no_route++;
			txn_srv_reply(p->tl, st, 502, "Bad Gateway (unusable Route)");
			return;
		}
		fork_branch(p, st, loop_key, &d, NULL);
		return;
	}
	ruri = sip_msg_req_uri(req);
	if (!(host = sip_uri_host(ruri))) {
		txn_srv_reply(p->tl, st, 416, NULL);
		return;
	}
	/* ours: registrar, OPTIONS, location service */
	if (sp_conf_is_local_domain(c, host) && !sp_conf_route(c, host)) {
		struct reg_contact ct[TXN_MAX_BRANCHES];
		char aor[REG_AOR_MAX];
		unsigned n;

		if (sip_msg_method_is(req, "REGISTER")) {
			do_register(p, st);
			return;
		}
		if (!sip_uri_user(ruri) || !*sip_uri_user(ruri)) {
			if (sip_msg_method_is(req, "OPTIONS")) {
				txn_srv_reply(p->tl, st, 200, NULL);
			} else {
				p->st.no_route++;
				txn_srv_reply(p->tl, st, 404, "Not Found (no user)");
			}
			return;
		}
		if (aor_of(c, ruri, aor, sizeof(aor)) < 0 ||
		    (n = registrar_lookup(p->reg, aor, now_s(), ct, TXN_MAX_BRANCHES)) == 0) {
			p->st.no_route++;
			txn_srv_reply(p->tl, st, 404, "Not Found (not registered)");
			return;
		}
		/* fork to every contact (INVITE) or the best one */
		if (!st->invite)
			n = 1;
		for (unsigned i = 0; i < n && !st->final_sent; i++) {
			d = ct[i].src;
			fork_branch(p, st, loop_key, &d, ct[i].uri);
		}
		return;
	}
	/* a static route, else the Request-URI itself */
	{
		const struct spc_route *r = sp_conf_route(c, host);
		if (r) {
			memset(&d, 0, sizeof(d));
			d.peer = r->next_hop;
			d.tcp = r->tcp;
			d.tls = r->tls;
			fork_branch(p, st, loop_key, &d, NULL);
			return;
		}
	}
	if (sip_msg_uri_target(ruri, &t) < 0 || (rc = target_addr(p, &t, &d)) < 0) {
		p->st.no_route++;
		txn_srv_reply(p->tl, st, t.numeric ? 502 : 404,
			      t.numeric ? "Bad Gateway (unsupported transport)"
					: "Not Found (no route for this domain)");
		return;
	}
	fork_branch(p, st, loop_key, &d, NULL);
}

/* ---- the relay policy (policy.h) ---- */

/* A Route header that does not name us: the sender chose the next hop. */
static bool has_foreign_route(const struct sp_conf *c, const sip_msg_t *req)
{
	for (int i = 0; i < sip_msg_route_count(req); i++)
		if (!is_mine(sip_msg_route_uri(req, i), (void *)c))
			return true;
	return false;
}

/* Whether the out-of-dialog request of st may use the proxy. If not, it is
 * answered 403 statelessly (with auth.c's keyed To tag, so its ACK is
 * absorbed like that of a challenge), the refusal is counted and logged
 * (once per source per POLICY_LOG_EVERY_S), and st is destroyed: nothing
 * of the request stays. st->auth_user was set by the authentication step,
 * which runs before. */
static bool relay_allowed(struct proxy *p, struct txn_srv *st)
{
	const struct sp_conf *c = p->conf;
	const sip_msg_t *req = st->req;
	const sip_uri_t *u = sip_msg_req_uri(req);
	const char *host = sip_uri_host(u), *user = sip_uri_user(u);
	struct policy_req pr = {
		.src_be = st->from.peer.sin_addr.s_addr,
		.src_realm = st->in_realm,
		.auth_user = st->auth_user,
		.is_register = sip_msg_method_is(req, "REGISTER"),
		.is_options = sip_msg_method_is(req, "OPTIONS"),
		.foreign_route = has_foreign_route(c, req),
	};
	char ip[INET_ADDRSTRLEN], tag[AUTH_TAG_LEN + 1];
	sip_msg_t *r = NULL;
	enum policy_verdict v;
	struct tp_addr d;

	if (host) {
		pr.route = sp_conf_route(c, host);
		pr.to_local = sp_conf_is_local_domain(c, host) && !pr.route;
	}
	if (pr.to_local) {
		struct reg_contact ct[1];
		char aor[REG_AOR_MAX];

		pr.to_local_proxy = !user || !*user;
		pr.target_registered = !pr.to_local_proxy &&
				       aor_of(c, u, aor, sizeof(aor)) == 0 &&
				       registrar_lookup(p->reg, aor, now_s(), ct, 1) > 0;
	}
	v = policy_decide(c, &pr);
	if (v != POLICY_REFUSE) {
		log_debug("relay policy: %s (call %s)", policy_verdict_name(v), CID(req));
		return true;
	}
	p->st.relay_refused++;
	if (rl_once_per(p->refuse_log, pr.src_be, POLICY_LOG_EVERY_S)) {
		const char *fd = sip_uri_host(sip_msg_from_uri(req)) ? sip_uri_host(sip_msg_from_uri(req))
								    : "-";
		log_info("relay refused: %s for %s from %s:%u (From domain %s): not authenticated, "
			 "not for a registered user, not a trusted peer, no route admits it "
			 "(further refusals from this source not logged for %ds)",
			 sip_msg_method(req), host ? host : "-", ip_str(&st->from.peer, ip),
			 ntohs(st->from.peer.sin_port), fd, POLICY_LOG_EVERY_S);
	}
	/* RFC 3261 §16.3 leaves a proxy free to refuse statelessly: no
	 * transaction, no 100 Trying, nothing kept */
	if (auth_tag(p->auth, req, tag) == 0 &&
	    sip_msg_build_response(req, 403, "Forbidden (relay not allowed)", tag, &r) == 0) {
		txn_resp_dest(c, &st->from, r, &d);
		txn_send_raw(p->tl, &d, r);
		sip_msg_free(r);
		p->st.replied_4xx5xx++;
	}
	txn_srv_destroy(p->tl, st);
	return false;
}

/* ACK for a 2xx (or an unknown one): forwarded statelessly along its Route. */
static void forward_ack(struct proxy *p, sip_msg_t *req, const struct tp_addr *from)
{
	const struct sp_conf *c = p->conf;
	const sip_uri_t *next = NULL;
	const char *rhost;
	char branch[SIP_BRANCH_MAX], host[INET_ADDRSTRLEN], loop_key[SIP_LOOP_KEY_LEN + 1];
	const char *reason = NULL;
	struct sip_target t;
	struct tp_addr d;
	struct park pk;
	int li, realm, rc;

	if (sip_msg_loop_key(req, loop_key, sizeof(loop_key)) < 0 ||
	    sip_msg_route_preprocess(req, is_mine, (void *)c, &next) < 0 || !next)
		goto drop;
	rhost = sip_uri_host(sip_msg_req_uri(req));
	if (sip_msg_route_count(req) == 0 && rhost && sp_conf_route(c, rhost)) {
		const struct spc_route *r = sp_conf_route(c, rhost);
		memset(&d, 0, sizeof(d));
		d.peer = r->next_hop;
		d.tcp = r->tcp;
		d.tls = r->tls;
	} else if (sip_msg_uri_target(next, &t) < 0 || target_addr(p, &t, &d) < 0) {
		goto drop;
	}
	li = out_listen(c, &d, from->listen, &realm);
	d.listen = li;
	if (sip_msg_decrement_max_forwards(req) < 0)
		goto drop;
	if (sip_msg_make_branch(branch, sizeof(branch), loop_key, NULL, 0) < 0 ||
	    sip_msg_add_via(req, hop_via(&d), listen_host(c, li, host), hop_port(c, li, &d),
			    branch) < 0)
		goto drop;
	sip_msg_route_strict_fixup(req);
	memset(&pk, 0, sizeof(pk));
	pk.kind = PARK_STATELESS;
	pk.dest = d;
	media_call_acked(p->media, CID(req));
	rc = media_then(p, req, realm_of_peer(c, from), realm, media_owner(NULL, from, host), &pk,
			&reason);
	if (rc == 0)
		return;
	if (rc < 0)
		txn_send_raw(p->tl, &d, req);
	p->st.forwarded_requests++;
drop:
	sip_msg_free(req);
}

static void handle_cancel(struct proxy *p, sip_msg_t *req, const struct tp_addr *from,
			  const char *key)
{
	char ikey[TXN_KEY_MAX];
	struct txn_srv *inv = NULL, *st;

	p->st.cancels++;
	if ((st = txn_srv_find(p->tl, key))) { /* a retransmitted CANCEL */
		txn_srv_retransmission(p->tl, st);
		sip_msg_free(req);
		return;
	}
	/* RFC 3261 §9.2: a CANCEL matches its INVITE's transaction, and
	 * (here) only from where that INVITE came from: a third party that
	 * learnt the branch cannot cancel someone else's call */
	if (sip_msg_txn_key(req, true, ikey, sizeof(ikey)) < 0 || !(inv = txn_srv_find(p->tl, ikey)) ||
	    inv->from.peer.sin_addr.s_addr != from->peer.sin_addr.s_addr) {
		if (inv)
			p->st.dialog_refused++;
		reply_stateless(p, req, from, 481, NULL, NULL);
		sip_msg_free(req);
		return;
	}
	if (!(st = txn_srv_new(p->tl, key, req, from))) {
		reply_stateless(p, req, from, 503, "Service Unavailable (too many transactions)", NULL);
		sip_msg_free(req);
		return;
	}
	txn_srv_reply(p->tl, st, 200, NULL);
	if (inv->final_sent || inv->cancelled)
		return;
	log_info("call %s: CANCEL", CID(inv->req));
	inv->cancelled = true;
	for (unsigned i = 0; i < inv->nbranches; i++)
		txn_cli_cancel(p->tl, inv->branch[i]);
	maybe_finish(p, inv); /* no branch sent yet: 487 now */
}

/* An in-dialog request (To with a tag): it must name a dialog the proxy
 * knows and come from the party whose tag is in From (dialog.h).
 * Otherwise 481 (RFC 3261 §12.2.2) and nothing changes: no transaction,
 * no forwarding, no media step; those refusals are rate limited per source
 * (sip.dialog_mismatch_rate: beyond it they are dropped unanswered). */
static bool dialog_admits(struct proxy *p, const sip_msg_t *req, const struct tp_addr *from)
{
	enum dlg_verdict v = dlg_check(p->dlg, CID(req), sip_msg_from_tag(req), sip_msg_to_tag(req),
				       from, NULL);
	char ip[INET_ADDRSTRLEN];

	if (v == DLG_OK)
		return true;
	p->st.dialog_refused++;
	if (!rl_allow(p->rl_dlg, from->peer.sin_addr.s_addr, clock_mono_ms())) {
		p->st.rate_limited++;
		return false;
	}
	log_info("%s from %s:%u: %s (call %s): 481", sip_msg_method(req), ip_str(&from->peer, ip),
		 ntohs(from->peer.sin_port),
		 v == DLG_NONE ? "no such dialog" : "not from a party of the dialog", CID(req));
	reply_stateless(p, req, from, 481, "Call/Transaction Does Not Exist", NULL);
	return false;
}

/* RFC 5923 §5: a stream peer whose Via has "alias" offers its connection
 * for requests to its sent-by port: responses and in-dialog requests to it
 * then reuse the connection instead of opening one (transport.c allows it
 * for TCP, and for TLS only from a mutual tls.peers entry). Only for a
 * sent-by that is the connection's own address. Before the Via gets
 * received/rport, which would hide the sent-by. */
static void offer_alias(struct proxy *p, const sip_msg_t *req, const struct tp_addr *from,
			const char *ip)
{
	struct sip_target t;

	if (from->tcp && from->conn && sip_msg_via_has_param(req, 0, "alias") &&
	    sip_msg_via_target(req, 0, false, &t) == 0 && t.numeric && !strcmp(t.host, ip) &&
	    t.port != ntohs(from->peer.sin_port))
		tp_conn_alias(p->tp, from->conn, htons(t.port));
}

static void handle_request(struct proxy *p, sip_msg_t *req, const struct tp_addr *from)
{
	const struct sp_conf *c = p->conf;
	char key[TXN_KEY_MAX], ip[INET_ADDRSTRLEN], host[INET_ADDRSTRLEN];
	struct auth_verdict av;
	struct txn_srv *st;
	int rc;

	p->st.requests++;
	ip_str(&from->peer, ip);
	offer_alias(p, req, from, ip);
	sip_msg_top_via_fix(req, ip, ntohs(from->peer.sin_port));
	if ((rc = sip_msg_txn_key(req, false, key, sizeof(key))) < 0) {
		if (!sip_msg_method_is(req, "ACK"))
			reply_stateless(p, req, from, 400,
					rc == -ENOTSUP ? "Bad Request (Via branch without z9hG4bK)"
						       : "Bad Request (Via)", NULL);
		sip_msg_free(req);
		return;
	}
	log_debug("%s %s from %s:%u (call %s)", sip_msg_method(req),
		  sip_uri_host(sip_msg_req_uri(req)) ? sip_uri_host(sip_msg_req_uri(req)) : "-", ip,
		  ntohs(from->peer.sin_port), CID(req));
	if (sip_msg_method_is(req, "ACK")) {
		st = txn_srv_find(p->tl, key);
		if (st && st->state >= TS_COMPLETED && st->state != TS_ACCEPTED) {
			p->st.acks_absorbed++;
			txn_srv_ack(p->tl, st);
			sip_msg_free(req);
			return;
		}
		if (auth_ack_is_ours(p->auth, req)) { /* for a stateless 401/407/403 */
			p->st.acks_absorbed++;
			sip_msg_free(req);
			return;
		}
		/* an ACK for a 2xx belongs to a dialog and comes from its
		 * caller; any other (stray) ACK is dropped, and never goes
		 * through the media step */
		if (!sip_msg_to_tag(req) || dlg_check(p->dlg, CID(req), sip_msg_from_tag(req),
						      sip_msg_to_tag(req), from, NULL) != DLG_OK) {
			p->st.stray_acks++;
			log_debug("ACK from %s:%u matches no dialog of its sender: dropped (call %s)", ip,
				  ntohs(from->peer.sin_port), CID(req));
			sip_msg_free(req);
			return;
		}
		forward_ack(p, req, from);
		return;
	}
	if (sip_msg_method_is(req, "CANCEL")) {
		handle_cancel(p, req, from, key);
		return;
	}
	if ((st = txn_srv_find(p->tl, key))) {
		txn_srv_retransmission(p->tl, st);
		sip_msg_free(req);
		return;
	}
	if (sip_msg_to_tag(req) && !dialog_admits(p, req, from)) {
		sip_msg_free(req);
		return;
	}
	/* sip.rate_limit: new out-of-dialog requests per source (floods of
	 * INVITE, REGISTER, OPTIONS...); in-dialog ones (BYE, re-INVITE) of
	 * a known dialog from its party always pass, so calls in progress
	 * can end (the others were refused above, under their own limit) */
	if (c->rate_limit && !sip_msg_to_tag(req) &&
	    !rl_allow(p->rl, from->peer.sin_addr.s_addr, clock_mono_ms())) {
		p->st.rate_limited++;
		reply_stateless(p, req, from, 503, "Service Unavailable (request rate)", "1");
		sip_msg_free(req);
		return;
	}
	rc = sip_msg_max_forwards(req);
	if (rc == 0) {
		p->st.too_many_hops++;
		reply_stateless(p, req, from, 483, NULL, NULL);
		sip_msg_free(req);
		return;
	}
	for (unsigned i = 0; i < c->nlisten; i++) {
		const char *h = listen_host(c, (int)i, host);

		if (sip_msg_is_looped(req, h, listen_port(c, (int)i)) ||
		    (c->listen[i].tls && sip_msg_is_looped(req, h, c->listen[i].tls_port))) {
			p->st.loops++;
			reply_stateless(p, req, from, 482, NULL, NULL);
			sip_msg_free(req);
			return;
		}
	}
	/* digest authentication (auth.c): REGISTER and requests from our users */
	auth_request(p->auth, req, &from->peer, clock_mono_ms(), &av);
	if (av.status) {
		reply_auth(p, req, from, &av);
		sip_msg_free(req);
		return;
	}
	if (!(st = txn_srv_new(p->tl, key, req, from))) {
		reply_stateless(p, req, from, 503, "Service Unavailable (too many transactions)", NULL);
		sip_msg_free(req);
		return;
	}
	if (txn_srv_set_auth_user(st, av.user) < 0) {
		txn_srv_reply(p->tl, st, 500, "Server Internal Error (out of memory)");
		return;
	}
	st->in_realm = realm_of_peer(c, from);
	/* the relay policy, before any routing or media step */
	if (!sip_msg_to_tag(req) && !relay_allowed(p, st))
		return;
	if (st->invite)
		txn_srv_reply(p->tl, st, 100, NULL);
	if (sip_msg_method_is(req, "BYE")) {
		/* the dialog ends at once (its party asked: dialog_admits) */
		dlg_end(p->dlg, CID(req), sip_msg_from_tag(req), sip_msg_to_tag(req));
		media_call_end(p->media, CID(req), "BYE");
	}
	route_request(p, st);
}

/* ---- responses ---- */

static void forward_stray(struct proxy *p, sip_msg_t *resp, const struct tp_addr *from)
{
	struct sip_target t;
	struct tp_addr d;

	p->st.stray_responses++;
	if (sip_msg_status(resp) < 200 || sip_msg_status(resp) >= 300 || !sip_msg_cseq_method(resp) ||
	    strcmp(sip_msg_cseq_method(resp), "INVITE") || sip_msg_pop_via(resp) < 0 ||
	    sip_msg_via_count(resp) == 0 || sip_msg_via_target(resp, 0, false, &t) < 0 ||
	    target_addr(p, &t, &d) < 0) {
		sip_msg_free(resp);
		return;
	}
	{
		int realm;
		d.listen = out_listen(p->conf, &d, from->listen, &realm);
	}
	txn_send_raw(p->tl, &d, resp);
	sip_msg_free(resp);
}

/* A response to a dialog-forming request (RFC 3261 §12.1): a 2xx makes
 * the dialog, with its parties' flows (the request's source, the
 * response's); a provisional with a To tag to an initial INVITE makes an
 * early one (PRACK, UPDATE before the answer). */
static void note_dialog(struct proxy *p, const struct txn_srv *st, const sip_msg_t *resp,
			const struct tp_addr *from)
{
	const char *ft = sip_msg_from_tag(resp), *tt = sip_msg_to_tag(resp);
	int status = sip_msg_status(resp), rc;

	/* st->req may be gone (a lean transaction): its flags say it all */
	if (!ft || !tt || !st->forms_dialog || status < 101 || status >= 300)
		return;
	if (status < 200)
		rc = st->invite ? dlg_early(p->dlg, CID(resp), ft, &st->from, tt, from, time(NULL))
					: 0;
	else
		rc = dlg_confirm(p->dlg, CID(resp), ft, &st->from, tt, from, time(NULL));
	if (rc == -ENOSPC)
		log_warn("call %s: dialog table full (sip.max_calls): its in-dialog requests will get 481",
			 CID(resp));
}

static void handle_response(struct proxy *p, sip_msg_t *resp, const struct tp_addr *from)
{
	struct txn_cli *ct;
	struct txn_srv *st;
	const char *reason = NULL;
	struct park pk;
	int status = sip_msg_status(resp), rc;

	p->st.responses++;
	p->st.response_class[status >= 100 && status < 700 ? status / 100 : 0]++;
	if (!(ct = txn_cli_match(p->tl, resp))) {
		forward_stray(p, resp, from);
		return;
	}
	if (!txn_cli_response(p->tl, ct, resp) || !ct->srv) {
		sip_msg_free(resp); /* absorbed, or the answer to our CANCEL */
		return;
	}
	st = ct->srv;
	if (sip_msg_pop_via(resp) < 0 || sip_msg_via_count(resp) == 0 || status == 100) {
		sip_msg_free(resp);
		return;
	}
	log_debug("%d %s for %s (call %s)", status, sip_msg_reason(resp) ? sip_msg_reason(resp) : "",
		  sip_msg_cseq_method(resp), CID(resp));
	if (status >= 200 && status < 300 && st->invite) {
		const char *ft = sip_msg_from_tag(resp), *tt = sip_msg_to_tag(resp);
		for (unsigned i = 0; i < st->nbranches; i++)
			if (st->branch[i] != ct)
				txn_cli_cancel(p->tl, st->branch[i]);
		if (ft && tt && initial_invite(st))
			media_dialog_confirmed(p->media, CID(resp), ft, tt);
	}
	note_dialog(p, st, resp, from);
	if (status >= 300) {
		if (!ct->srv_final_counted) {
			ct->srv_final_counted = true;
			st->nfinal++;
		}
		if (status >= 600)
			for (unsigned i = 0; i < st->nbranches; i++)
				if (st->branch[i] != ct)
					txn_cli_cancel(p->tl, st->branch[i]);
		consider_final(st, resp, false);
		sip_msg_free(resp);
		maybe_finish(p, st);
		return;
	}
	if (status >= 200) {
		if (!ct->srv_final_counted) {
			ct->srv_final_counted = true;
			st->nfinal++;
		}
		if (ct->refused_2xx) {
			/* the caller got an error in place of this 2xx: absorb
			 * its retransmissions (the callee ends the dialog with a
			 * BYE when no ACK comes, RFC 3261 §13.3.1.4) */
			p->st.absorbed_2xx++;
			sip_msg_free(resp);
			return;
		}
	} else if (st->final_sent) {
		sip_msg_free(resp);
		return;
	}
	/* 1xx and 2xx: upstream now, through the media step */
	memset(&pk, 0, sizeof(pk));
	pk.kind = PARK_RESPONSE;
	snprintf(pk.key, sizeof(pk.key), "%s", st->key);
	pk.dest = st->from;
	pk.holds_final = status >= 200;
	snprintf(pk.branch, sizeof(pk.branch), "%s", ct->branch);
	{
		char ip[INET_ADDRSTRLEN];
		rc = media_then(p, resp, ct->out_realm, st->in_realm, media_owner(st, NULL, ip), &pk,
				&reason);
	}
	if (rc == 0) {
		if (pk.holds_final)
			st->npending++;
		return;
	}
	if (rc < 0) {
		respond(p, st, resp);
		return;
	}
	/* the answer's SDP is unusable */
	p->st.media_rejects++;
	sip_msg_free(resp);
	if (!st->final_sent) {
		txn_srv_reply(p->tl, st, 502, "Bad Gateway (unusable SDP in the answer)");
		after_final(p, st, 502);
	}
}

/* ---- transport and transaction hooks ---- */

/* An HA standby serves nothing: a request gets 503 with Retry-After (the
 * phone tries again, by then at the node that holds the address), the
 * rest is dropped. */
static void standby_refuse(struct proxy *p, const char *buf, size_t len, const struct tp_addr *from)
{
	sip_msg_t *msg = NULL;
	struct sip_err err;
	char ip[INET_ADDRSTRLEN];

	if (sip_msg_parse(buf, len, p->conf->max_message, &msg, &err) == 0 && sip_msg_is_request(msg) &&
	    !sip_msg_method_is(msg, "ACK")) {
		sip_msg_top_via_fix(msg, ip_str(&from->peer, ip), ntohs(from->peer.sin_port));
		reply_stateless(p, msg, from, 503, "Service Unavailable (HA standby)", "5");
		sp_ha_count_refused(p->ha);
	}
	if (msg)
		sip_msg_free(msg);
}

static void on_message(void *arg, const struct tp_addr *from, const char *buf, size_t len)
{
	struct proxy *p = arg;
	sip_msg_t *msg = NULL;
	struct sip_err err;
	char ip[INET_ADDRSTRLEN];

	if (p->stopping)
		return;
	if (!sp_ha_serving(p->ha)) {
		standby_refuse(p, buf, len, from);
		return;
	}
	if (sip_msg_parse(buf, len, p->conf->max_message, &msg, &err) < 0) {
		p->st.parse_errors++;
		log_info("from %s:%u: %s%d %s", ip_str(&from->peer, ip), ntohs(from->peer.sin_port),
			 err.is_response ? "response dropped, " : "", err.status, err.reason);
		if (msg && !err.is_response) {
			sip_msg_top_via_fix(msg, ip, ntohs(from->peer.sin_port));
			reply_stateless(p, msg, from, err.status, err.reason, NULL);
		}
		if (msg)
			sip_msg_free(msg);
		return;
	}
	if (sip_msg_is_request(msg))
		handle_request(p, msg, from);
	else
		handle_response(p, msg, from);
}

static void on_cli_timeout(void *arg, struct txn_cli *ct, int status)
{
	struct proxy *p = arg;
	struct txn_srv *st = ct->srv;
	sip_msg_t *r = NULL;

	if (!st || ct->srv_final_counted)
		return;
	ct->srv_final_counted = true;
	st->nfinal++;
	log_info("call %s: branch to %s:%u got no answer (%d)", CID(st->req),
		 inet_ntoa(ct->to.peer.sin_addr), ntohs(ct->to.peer.sin_port), status);
	if (sip_msg_build_response(st->req, status, NULL, NULL, &r) == 0) {
		consider_final(st, r, true);
		sip_msg_free(r);
	}
	maybe_finish(p, st);
}

static void on_timer_c(void *arg, struct txn_cli *ct)
{
	struct proxy *p = arg;

	txn_cli_cancel(p->tl, ct);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct proxy *p = arg;

	(void)fd;
	(void)what;
	registrar_expire(p->reg, now_s());
	dlg_expire(p->dlg, time(NULL));
}

int proxy_new(struct event_base *base, const struct sp_conf *conf, struct proxy **pp)
{
	struct reg_limits lim = {
		.min_expires = conf->reg_min_expires, .max_expires = conf->reg_max_expires,
		.default_expires = conf->reg_default_expires, .max_contacts = conf->reg_max_contacts,
		.max_aors = conf->reg_max_aors,
	};
	struct txn_hooks hooks = {.cli_timeout = on_cli_timeout, .cli_timer_c = on_timer_c};
	struct timeval one = {1, 0};
	struct proxy *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	p->base = base;
	p->conf = conf;
	hooks.arg = p;
	if (tp_open(base, conf, on_message, p, &p->tp) < 0)
		goto fail;
	if (!(p->tl = txn_layer_new(base, p->tp, conf, &hooks)) || !(p->reg = registrar_new(&lim)) ||
	    !(p->rl = rl_new(conf->rate_limit, 0)) || !(p->refuse_log = rl_new(1, 1)) ||
	    !(p->rl_dlg = rl_new(conf->dialog_mismatch_rate, 0)) || !(p->dlg = dlg_new(conf)) ||
	    !(p->media = media_new(base, conf)) ||
	    !(p->tick = event_new(base, -1, EV_PERSIST, tick, p)) || !(p->lag = looplag_new(base))) {
		log_err("out of memory");
		goto fail;
	}
	if (!(p->auth = auth_new(conf)))
		goto fail; /* logged */
	if (conf->state_file[0] || conf->ha.store.enabled) {
		int rc;

		if (!(p->ps = persist_new(conf, p->reg, p->media, p->dlg, now_s))) {
			log_err("out of memory");
			goto fail;
		}
		/* an unreadable file is fatal: the snapshot would replace it */
		rc = conf->state_file[0] ? persist_load(p->ps, conf->state_file, NULL) : 0;
		if (rc < 0 && rc != -ENOENT)
			goto fail;
	}
	/* after the state file: what Redis holds is newer */
	if (conf->ha.store.enabled && !(p->ha = sp_ha_new(base, conf, p->ps, p->media)))
		goto fail;
	event_add(p->tick, &one);
	*pp = p;
	return 0;
fail:
	proxy_free(p);
	return -1;
}

void proxy_free(struct proxy *p)
{
	if (!p)
		return;
	if (p->tick)
		event_free(p->tick);
	looplag_free(p->lag);
	sp_ha_free(p->ha);
	persist_free(p->ps); /* before what it saves */
	/* transactions first: their hooks may still look at media */
	txn_layer_free(p->tl);
	media_free(p->media);
	registrar_free(p->reg);
	dlg_free(p->dlg);
	rl_free(p->rl);
	rl_free(p->rl_dlg);
	rl_free(p->refuse_log);
	auth_free(p->auth);
	tp_close(p->tp);
	free(p);
}

int proxy_state_open(struct proxy *p)
{
	if (!p->ps || !p->conf->state_file[0])
		return 0;
	return persist_open(p->ps, p->conf->state_file, p->base);
}

static void drain_over(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
}

void proxy_shutdown(struct proxy *p)
{
	struct media_stats ms;
	unsigned wait_ms = 0;
	bool over = false;
	struct timeval tv;
	struct event *t;

	if (!p)
		return;
	p->stopping = true;
	if (p->ha) {
		/* the other node takes the calls over: nothing is released,
		 * nothing deleted from Redis */
		sp_ha_free(p->ha);
		p->ha = NULL;
		if (!persist_is_open(p->ps)) {
			log_notice("stopping: ha: the live calls' bindings stay in natd for the other node");
			return;
		}
	}
	if (persist_is_open(p->ps)) {
		media_get_stats(p->media, &ms);
		persist_close(p->ps, true);
		log_notice("stopping: %u registration%s and %u call%s saved in %s%s",
			   registrar_count_contacts(p->reg),
			   registrar_count_contacts(p->reg) == 1 ? "" : "s", ms.calls,
			   ms.calls == 1 ? "" : "s", p->conf->state_file,
			   ms.calls ? "; natd keeps their bindings" : "");
		return;
	}
	media_release_all(p->media, "sipproxy stopping");
	if (media_pending(p->media) == 0)
		return;
	/* let the RELEASEs go out and be answered, within the nats' timeouts */
	for (unsigned i = 0; i < p->conf->nnats; i++)
		if (p->conf->nats[i].timeout_ms > wait_ms)
			wait_ms = p->conf->nats[i].timeout_ms;
	if (wait_ms > 2000)
		wait_ms = 2000;
	if (!(t = evtimer_new(p->base, drain_over, &over)))
		return;
	tv.tv_sec = wait_ms / 1000;
	tv.tv_usec = (wait_ms % 1000) * 1000;
	evtimer_add(t, &tv);
	while (!over && media_pending(p->media) > 0)
		event_base_loop(p->base, EVLOOP_ONCE);
	event_free(t);
}

int proxy_reload(struct proxy *p, const struct sp_conf *fresh)
{
	const struct sp_conf *c = p->conf;
	const char *what = NULL;

	if (fresh->nlisten != c->nlisten ||
	    memcmp(fresh->listen, c->listen, sizeof(c->listen[0]) * c->nlisten))
		what = "listen";
	else if (fresh->nnats != c->nnats ||
		 memcmp(fresh->nats, c->nats, sizeof(c->nats[0]) * c->nnats))
		what = "nats";
	else if (fresh->nrealms != c->nrealms)
		what = "realms";
	else if (strcmp(fresh->state_file, c->state_file))
		what = "state.file";
	else if (strcmp(fresh->metrics_listen, c->metrics_listen))
		what = "metrics.listen";
	else if (memcmp(&fresh->ha, &c->ha, sizeof(c->ha)))
		what = "ha";
	for (unsigned i = 0; !what && i < c->nrealms; i++)
		if (strcmp(fresh->realms[i].name, c->realms[i].name))
			what = "realms";
	if (what) {
		log_err("reload refused: '%s' changed, which needs a restart; the running configuration stays",
			what);
		return -1;
	}
	if (auth_reload(p->auth, fresh) < 0) {
		log_err("reload refused: auth.users_file; the running configuration stays");
		return -1;
	}
	/* new certificate, key and CA for new TLS connections; live ones keep theirs */
	if (tp_reload_tls(p->tp, fresh) < 0) {
		log_err("reload refused: tls; the running configuration stays");
		return -1;
	}
	/* every module reads the one struct: rewrite it in place */
	memcpy((struct sp_conf *)c, fresh, sizeof(*c));
	rl_set(p->rl, c->rate_limit, 0);
	rl_set(p->rl_dlg, c->dialog_mismatch_rate, 0);
	log_notice("configuration reloaded: %u media rule%s, %u route%s, %u domain%s", c->nrules,
		   c->nrules == 1 ? "" : "s", c->nroutes, c->nroutes == 1 ? "" : "s", c->ndomains,
		   c->ndomains == 1 ? "" : "s");
	return 0;
}

void proxy_get_stats(const struct proxy *p, struct proxy_stats *st)
{
	*st = p->st;
}

void proxy_get_parts(struct proxy *p, struct proxy_parts *out)
{
	*out = (struct proxy_parts){p->conf, p->tp, p->tl, p->reg, p->media, p->dlg, p->auth};
}

struct status_ctx {
	proxy_line_fn fn;
	void *arg;
};

static void status_contact(void *arg, const char *aor, const struct reg_contact *c)
{
	struct status_ctx *sc = arg;
	char line[REG_AOR_MAX + REG_URI_MAX + 96], ip[INET_ADDRSTRLEN];

	snprintf(line, sizeof(line), "registration %s contact=%s via=%s/%s:%u expires_in=%llds", aor,
		 c->uri, hop_name(&c->src), ip_str(&c->src.peer, ip),
		 ntohs(c->src.peer.sin_port), (long long)(c->expires - now_s()));
	sc->fn(sc->arg, line);
}

void proxy_status(struct proxy *p, proxy_line_fn fn, void *arg)
{
	struct status_ctx sc = {fn, arg};
	struct media_stats ms;
	struct txn_stats ts;
	struct tp_stats tps;
	char line[1024];
	int off;

	media_get_stats(p->media, &ms);
	txn_get_stats(p->tl, &ts);
	tp_get_stats(p->tp, &tps);
	snprintf(line, sizeof(line),
		 "stats requests=%llu responses=%llu parse_errors=%llu forwarded_requests=%llu "
		 "forwarded_responses=%llu stray_responses=%llu registers=%llu cancels=%llu "
		 "loops=%llu too_many_hops=%llu no_route=%llu media_rejects=%llu rate_limited=%llu "
		 "absorbed_2xx=%llu dialog_refused=%llu stray_acks=%llu relay_refused=%llu",
		 (unsigned long long)p->st.requests, (unsigned long long)p->st.responses,
		 (unsigned long long)p->st.parse_errors, (unsigned long long)p->st.forwarded_requests,
		 (unsigned long long)p->st.forwarded_responses,
		 (unsigned long long)p->st.stray_responses, (unsigned long long)p->st.registers,
		 (unsigned long long)p->st.cancels, (unsigned long long)p->st.loops,
		 (unsigned long long)p->st.too_many_hops, (unsigned long long)p->st.no_route,
		 (unsigned long long)p->st.media_rejects, (unsigned long long)p->st.rate_limited,
		 (unsigned long long)p->st.absorbed_2xx, (unsigned long long)p->st.dialog_refused,
		 (unsigned long long)p->st.stray_acks, (unsigned long long)p->st.relay_refused);
	fn(arg, line);
	snprintf(line, sizeof(line),
		 "transactions server_open=%u client_open=%u retransmits=%llu absorbed=%llu "
		 "timeouts=%llu refused_full=%llu udp_rx=%llu udp_tx=%llu tcp_rx=%llu tcp_tx=%llu "
		 "tcp_open=%u tcp_refused=%llu tcp_refused_per_source=%llu",
		 ts.srv_open, ts.cli_open, (unsigned long long)ts.cli_retransmits,
		 (unsigned long long)ts.srv_retrans_absorbed, (unsigned long long)ts.cli_timeouts,
		 (unsigned long long)ts.full_refusals, (unsigned long long)tps.udp_rx,
		 (unsigned long long)tps.udp_tx, (unsigned long long)tps.tcp_rx,
		 (unsigned long long)tps.tcp_tx, tps.tcp_open, (unsigned long long)tps.tcp_refused,
		 (unsigned long long)tps.tcp_refused_per_source);
	fn(arg, line);
	snprintf(line, sizeof(line),
		 "tls rx=%llu tx=%llu open=%u handshakes=%llu handshake_failed=%llu "
		 "handshake_timeout=%llu peer_rejected=%llu reloads=%llu",
		 (unsigned long long)tps.tls_rx, (unsigned long long)tps.tls_tx, tps.tls_open,
		 (unsigned long long)tps.tls_handshakes, (unsigned long long)tps.tls_handshake_failed,
		 (unsigned long long)tps.tls_handshake_timeout, (unsigned long long)tps.tls_peer_rejected,
		 (unsigned long long)tps.tls_reloads);
	fn(arg, line);
	snprintf(line, sizeof(line), "udp_tx thread=%s queue_full=%llu batches=%llu wakes=%llu send_errors=%llu",
		 tps.udp_send_thread ? "on" : "off", (unsigned long long)tps.udp_tx_queue_full,
		 (unsigned long long)tps.udp_tx_batches, (unsigned long long)tps.udp_tx_wakes,
		 (unsigned long long)tps.send_errors);
	fn(arg, line);
	off = snprintf(line, sizeof(line),
		       "media calls=%u bindings=%u pending=%u binds_ok=%llu binds_failed=%llu "
		       "releases=%llu refreshes=%llu rebinds=%llu rewrites=%llu passed_unchanged=%llu "
		       "refused_realm=%llu declined=%llu refused_cap=%llu unacked=%llu",
		       ms.calls, ms.bindings, ms.pending_jobs, (unsigned long long)ms.binds_ok,
		       (unsigned long long)ms.binds_failed, (unsigned long long)ms.releases,
		       (unsigned long long)ms.refreshes, (unsigned long long)ms.rebinds,
		       (unsigned long long)ms.rewrites, (unsigned long long)ms.passed_unchanged,
		       (unsigned long long)ms.refused_realm, (unsigned long long)ms.declined,
		       (unsigned long long)ms.refused_cap, (unsigned long long)ms.unacked);
	for (unsigned i = 0; i < p->conf->nnats && off > 0 && (size_t)off < sizeof(line); i++)
		off += snprintf(line + off, sizeof(line) - (size_t)off, " natd_%s=%s",
				p->conf->nats[i].name, ms.natd_up[i] ? "up" : "down");
	fn(arg, line);
	snprintf(line, sizeof(line), "registrar aors=%u contacts=%u", registrar_count_aors(p->reg),
		 registrar_count_contacts(p->reg));
	fn(arg, line);
	{
		struct auth_stats as;
		auth_get_stats(p->auth, &as);
		snprintf(line, sizeof(line),
			 "auth users=%u challenges=%llu ok=%llu failures=%llu stale=%llu lockouts=%llu "
			 "locked_refusals=%llu mismatches=%llu",
			 as.users, (unsigned long long)as.challenges, (unsigned long long)as.ok,
			 (unsigned long long)as.failures, (unsigned long long)as.stale,
			 (unsigned long long)as.lockouts, (unsigned long long)as.locked_refusals,
			 (unsigned long long)as.mismatches);
		fn(arg, line);
	}
	{
		struct dlg_stats ds;

		dlg_get_stats(p->dlg, &ds);
		snprintf(line, sizeof(line), "dialogs confirmed=%u early=%u made=%llu ended=%llu expired=%llu refused_full=%llu",
			 ds.confirmed, ds.early, (unsigned long long)ds.made, (unsigned long long)ds.ended,
			 (unsigned long long)ds.expired, (unsigned long long)ds.refused_full);
		fn(arg, line);
	}
	{
		struct looplag_stats ls;

		/* the longest pause of the event loop, since start and since
		 * the last status view (a timer's lateness, looplag.h) */
		looplag_get(p->lag, &ls, true);
		snprintf(line, sizeof(line),
			 "loop lag_max_ms=%.1f lag_recent_max_ms=%.1f late_10ms=%llu late_50ms=%llu "
			 "samples=%llu lean_transactions=%llu",
			 ls.max_us / 1000.0, ls.window_max_us / 1000.0, (unsigned long long)ls.over_10ms,
			 (unsigned long long)ls.over_50ms, (unsigned long long)ls.samples,
			 (unsigned long long)ts.srv_made_lean);
		fn(arg, line);
	}
	if (p->ha)
		sp_ha_status(p->ha, fn, arg);
	registrar_each(p->reg, now_s(), status_contact, &sc);
	media_dump(p->media, fn, arg);
}

struct sp_ha *proxy_ha(struct proxy *p)
{
	return p->ha;
}
