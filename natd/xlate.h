/* xlate: the translation decision and rewrite for one packet.
 *
 * For a packet that arrived from realm Ra (by its source) heading to D:
 *  1. Rd = realm of D. If {Rd, proto, D} is a binding's external endpoint,
 *     the packet is inbound: D becomes the binding's E (filtering and, for
 *     later issues, the binding's rules permitting), and it heads into the
 *     binding's realm Rb. Otherwise D is left alone and Rb = Rd.
 *  2. The source is translated toward T = Rb, or toward Rd when Rb == Ra
 *     (hairpinning, RFC 4787 REQ-9: the peer inside sees the external
 *     address), when the policy says sources from Ra into T are NATed:
 *     the existing binding of {Ra, S, T} is used or a dynamic one created.
 *  3. A packet that changes neither address is dropped (DROP_SAME_REALM),
 *     as is an inbound packet to an unbound pool address.
 * ICMP errors are translated by the packet they quote (RFC 5508): the
 * quoted header is the reverse of a flow, so it is looked up with source and
 * destination swapped, rewritten with its checksums, and the outer header
 * follows. Fragments go through frag.c. Checksums are fixed incrementally.
 */
#ifndef NATD_XLATE_H
#define NATD_XLATE_H

#include <stddef.h>
#include <stdint.h>

#include "binding.h"
#include "frag.h"
#include "ratelimit.h"
#include "realm.h"
#include "stats.h"

/* One translated query packet, as the fast path learns it (fastpath.c):
 * the flow as it arrived and as it leaves, and the bindings that carried
 * it (either may be NULL; both for hairpinning). For ICMP echo the
 * "ports" are the identifier. */
struct xlate_flow {
	uint8_t proto, icmp_type, tcp_flags;
	struct endpoint src, dst, new_src, new_dst;
	struct binding *bo, *bi;
};

/* Called for each extra packet to send (released fragments). */
typedef void (*xlate_emit_fn)(void *arg, uint8_t *buf, size_t len);

struct xlate_ctx {
	struct realm_set *realms;
	struct bind_table *bt;
	struct frag_table *ft;
	struct natd_stats *st;
	uint32_t now;          /* seconds, monotonic; set by the caller */
	bool hairpinning;      /* RFC 4787 REQ-9 */
	/* table.icmp_errors_from_path: errors a router may send (time exceeded,
	 * fragmentation needed...) about a filtered binding's flow are taken
	 * from any sender, not only from the flow's remote */
	bool icmp_errors_from_path;
	unsigned pool_flags;   /* POOL_F_* for dynamic bindings */
	/* per-inside-host limits, checked only when a dynamic binding would be
	 * made: bindings one {realm, address} may hold (0: no limit), and the
	 * new-flow token buckets (NULL: none; refilled by the second of now) */
	uint32_t host_quota;
	struct ratelimit *host_rl;
	xlate_emit_fn emit;
	void *emit_arg;
	/* a dynamic binding was just made (NULL: nobody wants to know); off
	 * the per-packet path: called once per new flow */
	void (*on_new)(void *arg, const struct binding *b);
	void *on_new_arg;
	/* an unfragmented query packet without IP options was translated
	 * (NULL: nobody wants to know; the fast path learns flows from it) */
	void (*on_flow)(void *arg, const struct xlate_flow *f);
	void *on_flow_arg;
};

enum xlate_verdict {
	XL_FORWARD, /* rewritten in place: send it */
	XL_DROP,    /* counted in st->dropped */
	XL_HELD,    /* buffered (out-of-order fragment): nothing to send now */
};

/* Translate the n-byte packet in buf (capacity cap) in place. */
enum xlate_verdict xlate_packet(struct xlate_ctx *x, uint8_t *buf, size_t n, size_t cap);

/* Free a binding's pool port; the expiry callback and removals use it. */
void xlate_release_binding(struct xlate_ctx *x, struct binding *b);

#endif
