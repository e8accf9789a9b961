/* proxy: RFC 3261 §16 request and response processing of sipproxy, over
 * the transports, transactions, registrar and media modules. See proxy.c.
 */
#ifndef SIPPROXY_PROXY_H
#define SIPPROXY_PROXY_H

#include <stdint.h>

#include "sp_conf.h"

struct event_base;
struct proxy;
struct sp_ha;

struct proxy_stats {
	uint64_t requests, responses, parse_errors, replied_4xx5xx, forwarded_requests;
	uint64_t forwarded_responses, stray_responses, registers, cancels, acks_absorbed;
	uint64_t loops, too_many_hops, no_route, media_rejects, rate_limited;
	uint64_t absorbed_2xx; /* retransmitted 2xx whose first copy was refused */
	uint64_t dialog_refused; /* in-dialog requests / CANCELs not from a party: 481 */
	uint64_t stray_acks;   /* ACKs matching no transaction nor dialog: dropped */
	uint64_t relay_refused; /* out-of-dialog requests refused 403 by the relay policy */
	uint64_t response_class[7]; /* responses received, by class: [1] 1xx .. [6] 6xx, [0] other */
};

/* Open the transports, connect to the natds, start the timers, and with
 * state.file set restore what it holds (registrations, calls). 0 with *pp
 * set, or -1 (logged; an unreadable state file too). conf must outlive
 * the proxy. */
int proxy_new(struct event_base *base, const struct sp_conf *conf, struct proxy **pp);

/* With state.file set: start saving to it (a snapshot now, then every
 * change). Call it once privileges are dropped. 0, or -1 (logged). */
int proxy_state_open(struct proxy *p);

/* The event loop is over: with a state file, write a last snapshot and
 * leave the live calls' bindings in natd (the next start takes them over);
 * without one, release them and run the loop until natd has answered
 * (bounded by the nats' timeout_ms, at most 2 s), taking no new SIP. */
void proxy_shutdown(struct proxy *p);

/* Apply a freshly loaded configuration (SIGHUP) without dropping calls,
 * registrations or bindings: routes, media rules, domains, realm
 * prefixes, the media and sip settings take effect at once (the registrar's
 * limits at the next start; the caller sets the log level). The listen addresses, the realm names, the nats and state.file
 * must stay as they are (they hold sockets, files and index live state):
 * if they differ, the reload is refused, logged, and the running
 * configuration stays. 0 if applied, -1 if refused. */
int proxy_reload(struct proxy *p, const struct sp_conf *fresh);

/* Close everything (proxy_shutdown() first to release or save). */
void proxy_free(struct proxy *p);

/* Write the status view (counters, registrations, calls and their
 * bindings) line by line through fn. */
typedef void (*proxy_line_fn)(void *arg, const char *line);
void proxy_status(struct proxy *p, proxy_line_fn fn, void *arg);

void proxy_get_stats(const struct proxy *p, struct proxy_stats *st);

/* The HA state sharing (sp_ha.h), NULL when ha.enabled is off. */
struct sp_ha *proxy_ha(struct proxy *p);

/* The modules under the proxy, for readers of their counters (the
 * metrics page, sp_metrics.c); borrowed, valid while the proxy lives. */
struct proxy_parts {
	const struct sp_conf *conf;
	struct transport *tp;
	struct txn_layer *tl;
	struct registrar *reg;
	struct media *media;
	struct dlg_table *dlg;
	struct auth *auth;
};
void proxy_get_parts(struct proxy *p, struct proxy_parts *out);

#endif
