/* policy: who may use the proxy (the relay policy of issue 11).
 *
 * A pure decision: the proxy gathers the facts about an out-of-dialog
 * request (who sent it, whether it authenticated, where it is going) into
 * a struct policy_req and policy_decide() says whether it is served and by
 * which rule, reading only the configuration. See policy.c.
 */
#ifndef SIPPROXY_POLICY_H
#define SIPPROXY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "sp_conf.h"

/* The facts about one out-of-dialog request (no To tag). */
struct policy_req {
	uint32_t src_be;           /* source address, network byte order */
	int src_realm;             /* the realm it came from (-1: none) */
	const char *auth_user;     /* "user@domain" it authenticated as; NULL or "" none */
	bool is_register;
	bool foreign_route;        /* it carries a Route header that is not ours: the
				      sender chose the next hop */
	bool to_local;             /* the Request-URI host is one of ours (and no route
				      takes it) */
	bool to_local_proxy;       /* ... with no user part: the proxy itself */
	bool is_options;
	bool target_registered;    /* ... and its AoR has live contacts */
	const struct spc_route *route; /* sp_conf_route(Request-URI host), or NULL */
};

enum policy_verdict {
	POLICY_REFUSE = 0,   /* 403, no state */
	POLICY_AUTH_USER,    /* (1) an authenticated user of our domains */
	POLICY_INCOMING,     /* (2) a call to a registered user of ours */
	POLICY_TRUSTED_PEER, /* (3) from a trusted_peers prefix */
	POLICY_ROUTE,        /* (4) a route whose allow_from admits the source */
	POLICY_LOCAL,        /* OPTIONS to the proxy itself: answered here, never relayed */
};

/* Whether r is served, and by which rule; POLICY_REFUSE otherwise. */
enum policy_verdict policy_decide(const struct sp_conf *c, const struct policy_req *r);

/* true if addr (network byte order) is in trusted_peers. */
bool policy_trusted_peer(const struct sp_conf *c, uint32_t addr_be);

/* true if route's allow_from admits a source at addr in realm. */
bool policy_route_admits(const struct spc_route *route, uint32_t addr_be, int realm);

/* The rule's name, for logs and tests ("refused", "authenticated", ...). */
const char *policy_verdict_name(enum policy_verdict v);

#endif
