/* txn: RFC 3261 §17 transactions of a stateful proxy, on libevent timers.
 *
 * Server transactions are keyed by sip_msg_txn_key() of the request (top
 * Via branch, sent-by, method; ACK as INVITE). They keep the request, the
 * last response sent (to absorb retransmissions of the request) and run
 * timers G/H/I (INVITE, non-2xx final over UDP) and J (non-INVITE). A 2xx
 * to an INVITE keeps the transaction "accepted" (RFC 6026) for 64*T1 so a
 * retransmitted INVITE is absorbed (the 2xx's own retransmissions come
 * from the callee and are forwarded each time).
 *
 * Lean records. Once the final response went upstream and every branch has
 * its final, nothing needs the parsed request any more: at the end of that
 * event-loop pass the transaction drops it (and the best-response clone)
 * and keeps only its key, flags, where responses go and the serialised
 * non-2xx final to send again (none for an accepted INVITE): a few hundred
 * bytes for the 32 s that Timers J/L/H keep it, instead of the whole
 * parsed message. From then on st->req is NULL (txn_srv_is_lean()).
 *
 * Client transactions are keyed by the branch we put in our Via and the
 * CSeq method. They own the request as sent (bytes, for retransmission, and
 * the structure, to build CANCEL and ACK), run timers A/B (INVITE) or E/F
 * (non-INVITE) over UDP, D and K after a final response, and C (the
 * proxy's INVITE timer, §16.6 step 11). A non-2xx final response to an
 * INVITE is acknowledged here (§17.1.1.3). Only the timeouts are reported
 * up; responses are reported by the caller after txn_cli_response().
 *
 * Each server transaction carries the proxy's response context (§16.7):
 * its branches, the best final response so far, whether it was
 * cancelled. The proxy keeps that logic; this module keeps the lists.
 */
#ifndef SIPPROXY_TXN_H
#define SIPPROXY_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/sip_msg.h"
#include "transport.h"

#define TXN_KEY_MAX 320
#define TXN_MAX_BRANCHES 8

struct event_base;
struct txn_layer;
struct txn_cli;

enum txn_srv_state {
	TS_TRYING,     /* non-INVITE, nothing sent yet */
	TS_PROCEEDING, /* a provisional response sent (or 100 Trying) */
	TS_COMPLETED,  /* final sent: absorbing retransmissions */
	TS_CONFIRMED,  /* INVITE: ACK received for a non-2xx */
	TS_ACCEPTED,   /* INVITE: 2xx sent (RFC 6026) */
};

struct txn_srv {
	bool invite;
	bool initial;            /* an initial INVITE (no To tag) */
	bool forms_dialog;       /* INVITE, SUBSCRIBE or REFER without a To tag (RFC 3261 §12.1) */
	bool lean_queued;        /* waiting for the end of the pass to drop req */
	enum txn_srv_state state;
	struct tp_addr from;     /* where the request came from */
	struct tp_addr resp_to;  /* where its responses go (set with the first one) */
	sip_msg_t *req;          /* the request as received (Via fixed); NULL once lean */
	char *resp;              /* last response sent, serialised */
	size_t resp_len;
	int resp_status;
	struct event *timer;     /* G/H/I/J or the accepted state's end */
	unsigned g_interval;     /* ms, timer G */
	unsigned g_elapsed;      /* ms since the final, against H */
	/* proxy response context (RFC 3261 §16.7) */
	struct txn_cli *branch[TXN_MAX_BRANCHES];
	unsigned nbranches;
	unsigned nfinal;         /* branches with a final response */
	unsigned npending;       /* branches waiting for their SDP rewrite */
	sip_msg_t *best;    /* best non-2xx final so far (a clone) */
	bool best_local;         /* ... that we made (not from downstream) */
	bool final_sent;         /* a final response went upstream */
	bool cancelled;
	int in_realm;            /* the realm the request came from */
	const char *auth_user;   /* the digest-authenticated "user@domain" (auth.c),
				    "" when the request was not authenticated
				    (txn_srv_set_auth_user()) */
	uint32_t hash;           /* of key, in the layer's table */
	struct txn_srv *hnext;
	struct txn_srv *lnext;   /* the layer's queue of transactions to make lean */
	struct txn_layer *tl;
	char key[];              /* its §17.2.3 key, as long as it is */
};

enum txn_cli_state {
	TC_CALLING,    /* sent, no response yet */
	TC_PROCEEDING, /* provisional received */
	TC_COMPLETED,  /* final received (D or K running) */
	TC_TERMINATED,
};

struct txn_cli {
	char branch[SIP_BRANCH_MAX];
	bool invite;
	enum txn_cli_state state;
	struct tp_addr to;
	char method[24];         /* the request's, to match responses */
	sip_msg_t *req;     /* as sent; freed once final unless an ACK
				    may have to be built again (INVITE non-2xx) */
	char *bytes;             /* as sent, for retransmission; freed once final */
	size_t len;
	unsigned interval;       /* ms, A or E */
	unsigned elapsed;        /* ms since sent, against B or F */
	struct event *timer;     /* A/E + B/F, then D/K */
	struct event *timer_c;   /* INVITE: §16.6 step 11 */
	int status;              /* highest status received */
	bool cancel_pending;     /* CANCEL asked before any provisional */
	bool cancel_sent;
	bool srv_final_counted;  /* counted in srv->nfinal */
	bool refused_2xx;        /* its 2xx could not be rewritten and the caller
				    got an error: retransmissions are absorbed */
	int out_realm;
	struct txn_srv *srv;     /* the server transaction it serves, or NULL */
	uint32_t hash;           /* of branch, in the layer's table */
	struct txn_cli *hnext;
	struct txn_layer *tl;
};

struct txn_hooks {
	/* B/F fired (or a send failed at once): the branch is dead, no
	 * response will come; the proxy acts as if a 408 (503 for a
	 * transport error) had arrived. The branch stays valid during the
	 * call and is freed with its server transaction. */
	void (*cli_timeout)(void *arg, struct txn_cli *ct, int status);
	/* Timer C fired on an INVITE branch still proceeding: the proxy
	 * cancels it (or, with no provisional, treats it as a timeout). */
	void (*cli_timer_c)(void *arg, struct txn_cli *ct);
	void *arg;
};

struct txn_stats {
	uint64_t srv_created, srv_retrans_absorbed, cli_created, cli_retransmits;
	uint64_t cli_timeouts, full_refusals;
	uint64_t srv_made_lean;  /* server transactions that dropped their request */
	unsigned srv_open, cli_open;
};

struct txn_layer *txn_layer_new(struct event_base *base, struct transport *tp,
				const struct sp_conf *conf, const struct txn_hooks *hooks);
void txn_layer_free(struct txn_layer *tl);

/* ---- server ---- */

struct txn_srv *txn_srv_find(struct txn_layer *tl, const char *key);

/* A new server transaction for req (taken over: freed with it), received
 * from from. NULL if the table is full (the caller answers 503) or out of
 * memory; req is then still the caller's. */
struct txn_srv *txn_srv_new(struct txn_layer *tl, const char *key, sip_msg_t *req,
			    const struct tp_addr *from);

/* Send resp (taken over and freed) upstream as this transaction's response:
 * to the top Via's target (RFC 3581), over the connection the request came
 * on when it is TCP. Updates the state and the timers. 0 or -errno. */
int txn_srv_respond(struct txn_layer *tl, struct txn_srv *st, sip_msg_t *resp);

/* Build a response to the transaction's request and send it (-EINVAL once
 * the transaction is lean: its final response went upstream already). */
int txn_srv_reply(struct txn_layer *tl, struct txn_srv *st, int status, const char *reason);

/* Record the digest-authenticated user (copied); "" or NULL: none. 0 or -ENOMEM. */
int txn_srv_set_auth_user(struct txn_srv *st, const char *user);

/* The transaction dropped its parsed request (see "Lean records"). */
bool txn_srv_is_lean(const struct txn_srv *st);

/* A retransmission of the request arrived: send the last response again. */
void txn_srv_retransmission(struct txn_layer *tl, struct txn_srv *st);

/* An ACK matched this INVITE transaction (non-2xx final): confirmed. */
void txn_srv_ack(struct txn_layer *tl, struct txn_srv *st);

/* Free it now (and its branches). */
void txn_srv_destroy(struct txn_layer *tl, struct txn_srv *st);

/* ---- client ---- */

/* Send req (taken over) to to with our top Via branch branch, as a branch
 * of srv (may be NULL: e.g. a CANCEL or a stateless forward). Timers start.
 * Returns the transaction, or NULL if the table is full / out of memory /
 * the request could not be serialised (req freed in every case). A send
 * that fails at once is reported through cli_timeout (status 503) from the
 * event loop, not from inside this call. */
struct txn_cli *txn_cli_send(struct txn_layer *tl, const struct tp_addr *to,
			     sip_msg_t *req, const char *branch, struct txn_srv *srv,
			     int out_realm);

/* The client transaction a response belongs to, or NULL (a stray). */
struct txn_cli *txn_cli_match(struct txn_layer *tl, const sip_msg_t *resp);

/* Record a response received for ct. Returns true when the proxy must
 * process it, false when it is a retransmission of a final response (it
 * was absorbed: for INVITE non-2xx, our ACK is sent again). 2xx to INVITE
 * are always passed on (RFC 6026: they are forwarded each time). */
bool txn_cli_response(struct txn_layer *tl, struct txn_cli *ct, const sip_msg_t *resp);

/* Send a CANCEL for this INVITE branch now if it has had a provisional
 * response, else as soon as it gets one (RFC 3261 §9.1). */
void txn_cli_cancel(struct txn_layer *tl, struct txn_cli *ct);

/* Where a response to a request received from from goes: RFC 3261
 * §18.2.2 and RFC 3581 (the top Via's received/rport) over UDP, the same
 * connection over TCP. The top Via's maddr counts only when from is one of
 * c's trusted_peers (from anyone else it would be a reflection). */
void txn_resp_dest(const struct sp_conf *c, const struct tp_addr *from,
		   const sip_msg_t *resp, struct tp_addr *d);

/* Send bytes statelessly (ACK for 2xx, CANCEL responses ...). */
int txn_send_raw(struct txn_layer *tl, const struct tp_addr *to, sip_msg_t *msg);

void txn_get_stats(const struct txn_layer *tl, struct txn_stats *st);

#endif
