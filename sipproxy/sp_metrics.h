/* sp_metrics: sipproxy's counters as Prometheus metrics (natedge_sipproxy_*).
 *
 * The page the metrics endpoint (common/metrics.h, metrics.listen in
 * sipproxy.conf) serves: every counter of `sipproxy -S` (requests,
 * responses by class, transactions, transports, calls and media bindings,
 * registrations, authentication, dialogs, rate-limit and relay refusals),
 * the natds' reachability, and the histogram of natd's round trip for
 * BIND as sipproxy sees it.
 */
#ifndef SIPPROXY_SP_METRICS_H
#define SIPPROXY_SP_METRICS_H

#include <stdio.h>

struct proxy;

/* The page for p; a metrics_fill_fn (arg: the proxy). */
void sp_metrics_write(void *p, FILE *f);

#endif
