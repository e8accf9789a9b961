/* natmetrics: natd's counters as Prometheus metrics (natedge_natd_*).
 *
 * The page the metrics endpoint (common/metrics.h, metrics.listen in
 * natd.conf) serves: every counter of `natctl stats` (the core's packet,
 * translation and drop counters, the binding table, the control channel's
 * own) under Prometheus names, the control requests answered by type and
 * status, and the PCP / NAT-PMP server's counters when it runs.
 */
#ifndef NATD_NATMETRICS_H
#define NATD_NATMETRICS_H

#include <stdio.h>

struct core;
struct ctl_server;
struct pcp_server;

/* The page for core, ctl and pcp (either may be NULL: not running). */
void natmetrics_write(FILE *f, struct core *k, const struct ctl_server *ctl,
		      const struct pcp_server *pcp);

#endif
