/* media: the SDP side of sipproxy. Calls, their natd bindings, and the
 * asynchronous rewrite of every offer and answer (docs/design.md).
 *
 * media_process() looks at one SIP message about to be forwarded from the
 * realm it came from to the realm it goes to. If it carries SDP whose
 * media endpoints sit in a realm that the config pairs with the
 * destination realm through a natd (a media rule), it asks that natd for
 * one binding per endpoint (nc_async_bind, all in flight at once), and
 * when every reply is in it writes the rewritten body into the message and
 * hands the message back through the callback. The SIP path never waits:
 * the message is parked meanwhile.
 *
 * Bindings belong to the call (Call-ID), recorded with the tag of the
 * party whose SDP asked for them, so that:
 *  - a party's new SDP (re-INVITE, UPDATE...) releases its bindings that
 *    the new SDP no longer uses (natd renews an unchanged one in place);
 *  - when a dialog is confirmed (2xx to the INVITE), the bindings of
 *    forked early dialogs that lost are released;
 *  - BYE, CANCEL, a final failure of the initial INVITE, or the call's
 *    maximum duration release them all.
 * While the call lives, a timer refreshes each lease at half its lifetime.
 * If natd restarted (its epoch changed), the live calls' bindings are
 * asked for again.
 *
 * With media.remote_filter, a binding whose M lives in realm R only lets
 * in packets from the addresses the other party's SDP advertised in R
 * (a remote filter, docs/glossary.md); a binding made before that SDP
 * was known is asked for again with the filter once it arrives.
 *
 * Restarts (state.file, see persist.h). Everything a call needs to go on
 * is a struct media_call_state: hooks hear of every change and of the
 * end of a call, media_each_call() walks the live ones, and
 * media_restore_call() rebuilds one at start-up, with its refresh timer
 * running. On every (re)connection to a natd, the live calls' bindings
 * on it are refreshed when natd still has the epoch they were made in,
 * and asked for again otherwise; a refresh that natd refuses (the lease
 * ran out meanwhile) asks for the binding again too.
 */
#ifndef SIPPROXY_MEDIA_H
#define SIPPROXY_MEDIA_H

#include <stdbool.h>
#include <stdint.h>

#include <libcontrol/msg.h>
#include <time.h>

#include "sdp_rewrite.h"
#include "sip/sip_msg.h"
#include "sp_conf.h"

#define MEDIA_CALLID_MAX 256
#define MEDIA_TAG_MAX 128
#define MEDIA_MAX_BINDINGS 64
#define MEDIA_MAX_PARTIES 8
#define MEDIA_OWNER_MAX 256        /* "user@domain", or the source's dotted quad */

struct event_base;
struct media;

/* One natd binding of a call. */
struct media_binding {
	int nat;                   /* index into conf->nats */
	uint32_t id;               /* natd's id (an RTP pair has one) */
	uint64_t epoch;            /* natd's epoch when it was granted */
	int rule;                  /* index into conf->rules */
	uint8_t addr[4];           /* E, the SDP's endpoint */
	uint16_t port;
	uint8_t proto;             /* NC_PROTO_UDP or NC_PROTO_TCP */
	bool rtp_pair;
	bool filtered;             /* asked with a remote filter */
	struct nc_ep alloc;        /* M */
	char tag[MEDIA_TAG_MAX];   /* the party whose SDP asked for it */
	unsigned gen;              /* run time only: the job that last used it */
};

/* A party of the call: the o= address of its first rewritten SDP. */
struct media_party {
	char tag[MEDIA_TAG_MAX];
	struct nc_ip origin;       /* af 0: none yet */
};

/* What a call needs to go on after a restart. */
struct media_call_state {
	char call_id[MEDIA_CALLID_MAX];
	time_t started;            /* wall clock (media.max_call_duration) */
	unsigned nb, nparty;
	struct media_binding b[MEDIA_MAX_BINDINGS];
	struct media_party party[MEDIA_MAX_PARTIES];
	bool has_filt[SPC_MAX_REALMS];               /* per realm index */
	struct sdp_remote_filter filt[SPC_MAX_REALMS]; /* remote filter, advertised there */
};

/* What media_process() did. */
enum media_result {
	MEDIA_NONE = 0,    /* nothing to rewrite: forward msg as it is */
	MEDIA_PENDING = 1, /* msg taken over; fn gets it back later */
};

/* The rewrite is over. status 0: forward msg (rewritten, or unchanged when
 * the config says to pass on failure). status >= 400: the rewrite failed
 * and this is the SIP status to answer (503: natd did not answer; 488: the
 * SDP is unusable; 500: internal). msg is the caller's again in both cases
 * (it may be NULL if the proxy shut down: media_free). */
typedef void (*media_done_fn)(void *arg, int status, const char *reason, sip_msg_t *msg);

struct media *media_new(struct event_base *base, const struct sp_conf *conf);

/* Close the natd connections and free. Pending rewrites get their
 * callback with msg and status 503. No binding is released here (nor any
 * hook called): media_release_all() first for that. */
void media_free(struct media *m);

/* End every live call now, releasing its bindings (the RELEASEs are sent
 * as the event loop runs: see media_pending()). */
void media_release_all(struct media *m, const char *why);

/* Requests to natd still waiting for an answer, over every nat. */
unsigned media_pending(const struct media *m);

/* See above. src_realm: the realm the message came from; dst_realm: the
 * realm of the next hop. The media rule is the one for (src_realm,
 * dst_realm), never chosen from the addresses the SDP claims, and every
 * endpoint the SDP names must lie in src_realm (else 488: an outsider
 * cannot have an inside address bound). Under the rule, a stream whose
 * m= protocol or port the rule does not admit is declined (port 0 in the
 * rewritten SDP, RFC 3264 §6); 488 when no stream is left to bind.
 * owner: who the call's bindings count against
 * (media.max_bindings_per_user): the authenticated user, else the source
 * address of the request that started the call; "" or NULL: nobody (the
 * call's first owner stays). Past the cap: 403. Returns MEDIA_NONE,
 * MEDIA_PENDING, or a SIP status >= 400 (with *reason) for a message that
 * cannot be rewritten at all (bad or refused SDP: 488; the cap: 403; too
 * many calls: 503). */
int media_process(struct media *m, sip_msg_t *msg, int src_realm, int dst_realm,
		  const char *owner, media_done_fn fn, void *arg, const char **reason);

/* The dialog of call_id between these tags is confirmed: release the
 * bindings of every other party (losing forks). The first time, this
 * also starts the wait for the ACK: if media_call_acked() does not come
 * within 64*T1 (RFC 3261 §13.3.1.4: the UAS gives up then), the call ends
 * and its bindings go. */
void media_dialog_confirmed(struct media *m, const char *call_id, const char *caller_tag,
			    const char *callee_tag);

/* An ACK of call_id went through: its 2xx was acknowledged. */
void media_call_acked(struct media *m, const char *call_id);

/* The call is over: release all its bindings now (and forget it). */
void media_call_end(struct media *m, const char *call_id, const char *why);

/* For the status view and the tests. */
struct media_stats {
	unsigned calls, bindings, pending_jobs;
	uint64_t binds_ok, binds_failed, releases, refreshes, rebinds, rewrites, passed_unchanged;
	uint64_t refused_realm;    /* SDP naming an address outside the sender's realm (488) */
	uint64_t declined;         /* streams declined: protocol or port not admitted */
	uint64_t refused_cap;      /* media.max_bindings_per_user reached (403) */
	uint64_t unacked;          /* calls ended: their 2xx was never ACKed */
	bool natd_up[SPC_MAX_NATS];
};
void media_get_stats(const struct media *m, struct media_stats *st);

/* The round trip of each BIND natd answered (ms; timeouts and lost
 * connections are not in it), in buckets of media_bind_bounds_ms. */
#define MEDIA_BIND_BOUNDS 9
extern const double media_bind_bounds_ms[MEDIA_BIND_BOUNDS];
struct metrics_hist;
const struct metrics_hist *media_bind_latency(const struct media *m);

/* One line per call (Call-ID, age, its bindings E -> M and their ids),
 * through fn; for the status view. */
typedef void (*media_line_fn)(void *arg, const char *line);
void media_dump(const struct media *m, media_line_fn fn, void *arg);

/* Hooks for the state file: changed gets a call's whole state after every
 * change (a binding granted, renewed or released, a party's o=, a remote
 * filter), ended its Call-ID when it is over. NULL members: not called. */
struct media_hooks {
	void (*changed)(void *arg, const struct media_call_state *s);
	void (*ended)(void *arg, const char *call_id);
	void *arg;
};
void media_set_hooks(struct media *m, const struct media_hooks *h);

/* Every live call's state, through fn (for the state file's snapshot). */
typedef void (*media_each_fn)(void *arg, const struct media_call_state *s);
void media_each_call(const struct media *m, media_each_fn fn, void *arg);

/* Rebuild a call from saved state (start-up), replacing one of the same
 * Call-ID, and start its refresh timer; no hook is called and nothing is
 * asked of natd until its connection is up. Every binding must name a
 * configured nat and a media rule of that nat, and every party and tag
 * must be a string. 0, -EINVAL, -ENOSPC (sip.max_calls), -ENOMEM, -EBUSY
 * (a call of that Call-ID is in use). */
int media_restore_call(struct media *m, const struct media_call_state *s);

/* Forget a restored call without releasing anything (its end was saved
 * too). 0, or -ENOENT. */
int media_forget_call(struct media *m, const char *call_id);
#endif
