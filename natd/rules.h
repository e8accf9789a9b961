/* rules: conditions a managed binding puts on its traffic, evaluated by
 * xlate.c on the packet path (the manager owns and fills them).
 *
 *  - filters (remote filter, docs/glossary.md): inbound is translated only
 *    when the remote source matches one of them; otherwise dropped and
 *    counted as filtered;
 *  - latch (with filters): for latch seconds after the binding was made
 *    or its BIND repeated, the first remote source address seen is
 *    latched (a far end behind its own NAT); from then on only that
 *    address is admitted, any port (RTP and RTCP share the rules). After
 *    the window with nothing latched, the filters alone apply. The packet
 *    path writes the latch, so the rules are not const there;
 *  - targets (alternative targets, docs/glossary.md): a remote source
 *    matching targets[i].from is sent to targets[i].to instead of the
 *    binding's own endpoint; a remote matching none goes to the default
 *    endpoint, or is dropped with drop_default;
 *  - peer: the binding serves one remote only, both ways.
 * Addresses and masks are in network order, ports in host order.
 */
#ifndef NATD_RULES_H
#define NATD_RULES_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

#include "endpoint.h"

#define RULES_MAX 16

struct rule_match {
	uint32_t addr, mask;
	uint16_t port_lo, port_hi; /* 0-65535 for any port */
};

struct bind_rules {
	unsigned nfilters, ntargets;
	struct rule_match filters[RULES_MAX];
	struct {
		struct rule_match from;
		struct endpoint to;
	} targets[RULES_MAX];
	bool drop_default;
	bool has_peer;
	struct rule_match peer;
	uint32_t latch;       /* s, 0: no learning window */
	uint32_t latch_until; /* monotonic s: the window's last second */
	bool latched;
	uint32_t latch_addr;  /* network order */
};

static inline bool rule_matches(const struct rule_match *m, struct endpoint r)
{
	uint16_t port = ntohs(r.port);
	return (r.addr & m->mask) == m->addr && port >= m->port_lo && port <= m->port_hi;
}

#endif
