/* policy: who may use the proxy (issue 11, "Who may use the proxy").
 *
 * Theory of operation. An open proxy is an open door into the NAT: every
 * request it relays may carry SDP that makes natd bind an inside address
 * for an outsider. So an out-of-dialog request (in-dialog ones are checked
 * against their dialog elsewhere) is served only when one of these holds,
 * in this order:
 *   (1) it comes from an authenticated user of one of our domains (the
 *       digest check ran before: the request carries its user name);
 *   (2) it is addressed to a registered user of one of our domains (an
 *       incoming call: the Request-URI host is ours and the AoR has live
 *       contacts). REGISTER never passes by this rule, nor does a request
 *       carrying a Route of someone else (its next hop would not be our
 *       user);
 *   (3) it comes from a trusted peer (trusted_peers: a prefix list, e.g.
 *       the other proxy of a transit network);
 *   (4) its Request-URI host matches a configured route whose allow_from
 *       admits the source (a realm name or a prefix), again without a
 *       foreign Route.
 * An OPTIONS to the proxy itself (no user part) is answered here and never
 * relayed: it is served too (phones use it as a keepalive). Everything
 * else is refused: the proxy answers 403 statelessly and keeps nothing. A
 * numeric Request-URI is no licence to relay, whatever it names.
 *
 * Which answer a refused request gets is decided before this module: a
 * request whose From is one of our domains is challenged (401/407) by the
 * authentication step first, since its sender could prove who it is; one
 * from a foreign domain that fits none of (2)-(4) gets 403 at once, since
 * no credential of ours could ever admit it (a challenge would only invite
 * guessing).
 *
 * The functions here only read the configuration: the proxy gathers the
 * facts (struct policy_req) and acts on the verdict.
 */
#include "policy.h"

#include <stddef.h>

bool policy_trusted_peer(const struct sp_conf *c, uint32_t addr_be)
{
	for (unsigned i = 0; i < c->ntrusted_peers; i++)
		if (prefix_match(&c->trusted_peers[i], addr_be))
			return true;
	return false;
}

bool policy_route_admits(const struct spc_route *route, uint32_t addr_be, int realm)
{
	if (!route)
		return false;
	if (realm >= 0 && realm < 32 && (route->allow_realms & (1u << realm)))
		return true;
	for (unsigned i = 0; i < route->nallow_prefixes; i++)
		if (prefix_match(&route->allow_prefixes[i], addr_be))
			return true;
	return false;
}

enum policy_verdict policy_decide(const struct sp_conf *c, const struct policy_req *r)
{
	if (r->auth_user && r->auth_user[0])
		return POLICY_AUTH_USER;
	if (r->to_local && r->target_registered && !r->to_local_proxy && !r->is_register &&
	    !r->foreign_route)
		return POLICY_INCOMING;
	if (policy_trusted_peer(c, r->src_be))
		return POLICY_TRUSTED_PEER;
	if (r->route && !r->foreign_route && policy_route_admits(r->route, r->src_be, r->src_realm))
		return POLICY_ROUTE;
	if (r->to_local && r->to_local_proxy && r->is_options && !r->foreign_route)
		return POLICY_LOCAL;
	return POLICY_REFUSE;
}

const char *policy_verdict_name(enum policy_verdict v)
{
	switch (v) {
	case POLICY_REFUSE: return "refused";
	case POLICY_AUTH_USER: return "authenticated";
	case POLICY_INCOMING: return "incoming";
	case POLICY_TRUSTED_PEER: return "trusted_peer";
	case POLICY_ROUTE: return "route";
	case POLICY_LOCAL: return "local";
	}
	return "?";
}
