/* core: natd's translation state, built from its configuration in one
 * place for the daemon, the unit tests, the benchmarks and the fuzzers.
 *
 * A core is everything natd keeps that is not I/O: the realm set and its
 * pools, the binding table with the static forwards in it, the fragment
 * table, the counters, the translation context that ties them together,
 * the per-host new-flow buckets and the address manager. No TUN, no
 * socket, no event loop: the daemon adds those around it (daemon.c), a
 * test drives xlate_packet() and the manager directly.
 *
 * What can change while natd runs (timeouts and filtering, hairpinning,
 * port parity and preservation, the per-host limits, the manager's
 * lifetimes) is applied by core_apply(), at start and on a reload; the
 * rest is fixed by core_open(). The fields are open: the daemon and the
 * tests read them, and a caller may set what it owns in x (emit, on_new,
 * now) after core_open(). A core does not keep the configuration it was
 * built from.
 */
#ifndef NATD_CORE_H
#define NATD_CORE_H

#include <stdint.h>

#include "binding.h"
#include "conf.h"
#include "frag.h"
#include "manager.h"
#include "ratelimit.h"
#include "realm.h"
#include "stats.h"
#include "xlate.h"

struct core {
	struct realm_set rs;
	struct bind_table *bt;
	struct frag_table *ft;
	struct natd_stats st;
	struct xlate_ctx x;       /* realms, bt, ft and st are the above */
	struct ratelimit *host_rl; /* table.new_flows_per_host buckets; NULL until on */
	struct mgr *mgr;
};

/* Build a core from c at time now (monotonic seconds): realms and pools,
 * tables, forwards, the translation context (x.on_new announces new
 * dynamic bindings to the manager's watchers; x.emit is unset) and the
 * manager. 0, or -1 with the problem logged and nothing left allocated. */
int core_open(const struct natd_conf *c, uint32_t now, struct core **out);
void core_close(struct core *k);
/* Allocate what core_apply(k, c) will need (the per-host buckets when c
 * turns table.new_flows_per_host on), so that core_apply() cannot fail.
 * 0, or -1 with the problem logged and k unchanged. */
int core_prepare(struct core *k, const struct natd_conf *c);
/* Apply the settings of c that may change live (see above), after
 * core_prepare(k, c). */
void core_apply(struct core *k, const struct natd_conf *c);
/* Install one static forward of c (f): reserve its port in the pool,
 * insert the binding. 0, or -1 with the problem logged as
 * "file:line: forward M: problem". */
int core_add_forward(struct core *k, const struct natd_conf *c, const struct conf_forward *f,
		     uint32_t now);

#endif
