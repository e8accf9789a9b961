/* media: the SDP side of sipproxy. Calls, their natd bindings, and the
 * asynchronous rewrite of every offer and answer (patent section IV).
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
 * (claim 7); a binding made before that SDP was known is asked for again
 * with the filter once it arrives.
 */
#ifndef SIPPROXY_MEDIA_H
#define SIPPROXY_MEDIA_H

#include <stdbool.h>
#include <stdint.h>

#include <osipparser2/osip_parser.h>

#include "sp_conf.h"

struct event_base;
struct media;

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
typedef void (*media_done_fn)(void *arg, int status, const char *reason, osip_message_t *msg);

struct media *media_new(struct event_base *base, const struct sp_conf *conf);

/* Release every binding (fire and forget), close natd connections, free.
 * Pending rewrites get their callback with msg and status 503. */
void media_free(struct media *m);

/* See above. src_realm: the realm the message came from (its SDP
 * endpoints are located by their own address first, this realm second);
 * dst_realm: the realm of the next hop. Returns MEDIA_NONE, MEDIA_PENDING,
 * or a SIP status >= 400 (with *reason) for a message that cannot be
 * rewritten at all (bad SDP: 488; too many calls: 503). */
int media_process(struct media *m, osip_message_t *msg, int src_realm, int dst_realm,
		  media_done_fn fn, void *arg, const char **reason);

/* The dialog of call_id between these tags is confirmed: release the
 * bindings of every other party (losing forks). */
void media_dialog_confirmed(struct media *m, const char *call_id, const char *caller_tag,
			    const char *callee_tag);

/* The call is over: release all its bindings now (and forget it). */
void media_call_end(struct media *m, const char *call_id, const char *why);

/* For the status view and the tests. */
struct media_stats {
	unsigned calls, bindings, pending_jobs;
	uint64_t binds_ok, binds_failed, releases, refreshes, rebinds, rewrites, passed_unchanged;
	bool natd_up[SPC_MAX_NATS];
};
void media_get_stats(const struct media *m, struct media_stats *st);

/* One line per call (Call-ID, age, its bindings E -> M and their ids),
 * through fn; for the status view. */
typedef void (*media_line_fn)(void *arg, const char *line);
void media_dump(const struct media *m, media_line_fn fn, void *arg);

#endif
