/* fastpath: natd's side of the eBPF fast path (the program is
 * bpf/nat_tc.bpf.c, the map layout bpf/fp_layout.h).
 *
 * natd stays the one place that decides. Every first packet of a flow
 * takes the TUN path; when xlate has translated an unfragmented query
 * packet (xlate_ctx.on_flow), fp_learn() derives the fast-path entry of
 * that flow direction -- the packet as it arrived, and as natd rewrote
 * it -- and writes it into the kernel's map, unless it is one the fast
 * path must not carry (TCP not yet established or closing). Each entry
 * remembers the bindings that carried it (outbound and/or inbound), and
 * is forgotten, in the map too, when:
 *  - one of those bindings goes or changes what it admits (the binding
 *    table's change hook: expiry, release, a change of kind or rules, a
 *    reload of the filtering mode or timeouts: all of them);
 *  - the inbound binding's filter no longer admits the remote (the
 *    permission lapsed), checked at every fp_sync();
 *  - it carried nothing for FP_IDLE_S seconds.
 * fp_sync(), run by the daemon every second before the timer wheel
 * expires anything, reads each entry's packet and byte counters back and
 * adds what is new to the bindings' counters, refreshes last_used and,
 * for outbound entries, the filtering permission of the remote, exactly
 * as the TUN path would have. So leases, idle timeouts, `natctl list` and
 * the statistics see every packet, at most a second late.
 *
 * Loading (fp_open): the object is loaded with libbpf before natd drops
 * its privileges and attached to each configured interface with a tcx
 * link (kernel >= 6.6). A link lives as long as natd's descriptor: it
 * goes when natd exits, and after a kill -9 too, so no stale program can
 * go on translating for a natd that is gone. Map updates after the drop
 * need only the map's descriptor. When anything is missing (built
 * without libbpf, object file, kernel, capabilities, an interface) natd
 * says why and runs on the TUN path alone.
 */
#ifndef NATD_FASTPATH_H
#define NATD_FASTPATH_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "binding.h"
#include "stats.h"
#include "xlate.h"

#define FP_MAX_IFS 8
#define FP_IDLE_S 30 /* an entry that carried nothing this long is dropped */

/* The fastpath { } group of natd.conf. */
struct fp_conf {
	bool enabled;
	char ifaces[FP_MAX_IFS][IFNAMSIZ];
	unsigned nifaces;
	char object[256]; /* the BPF object (nat_tc.bpf.o) */
	uint32_t entries; /* capacity of the kernel's flow map */
};

struct fastpath;

/* Load and attach per c. Returns the fast path, or NULL when it is off
 * or cannot run here (the reason logged, st->fp_load_failures counted):
 * natd then uses the TUN path alone. Never fatal. */
struct fastpath *fp_open(const struct fp_conf *c, struct bind_table *bt, struct natd_stats *st);
/* Detach, and free everything. NULL is fine. */
void fp_close(struct fastpath *fp);

/* Without loading anything: a fast path writing to the map of descriptor
 * map_fd (the unit tests' fake). NULL when out of memory. */
struct fastpath *fp_new(uint32_t entries, int map_fd, struct bind_table *bt,
			struct natd_stats *st);

/* Hook xlate's on_flow and the table's change hook to fp. */
void fp_hook(struct fastpath *fp, struct xlate_ctx *x);

/* xlate_ctx.on_flow: learn the flow of a translated packet. */
void fp_learn(void *arg, const struct xlate_flow *f);
/* The binding table's change hook: forget the entries of b (NULL: all). */
void fp_forget(void *arg, struct binding *b);
/* Read the counters back into the bindings; drop what has lapsed. */
void fp_sync(struct fastpath *fp, uint32_t now);

/* Derive the map entry of a translated flow: false when the fast path
 * must not carry it. k and v are struct fp_key and struct fp_val. */
struct fp_key;
struct fp_val;
bool fp_derive(const struct xlate_flow *f, struct fp_key *k, struct fp_val *v);

#endif
