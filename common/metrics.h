/* metrics: Prometheus text exposition, written and served, for both daemons.
 *
 * The writer prints the text format (version 0.0.4, which OpenMetrics
 * parsers also take): a family is announced once with "# HELP" and
 * "# TYPE" (metrics_family), then its samples follow (metrics_sample), each
 * with at most one label whose value is escaped (\\, \", \n). A histogram
 * (struct metrics_hist: fixed upper bounds, a count per bucket, the sum)
 * is observed on the hot path in a few compares and written as the
 * cumulative _bucket{le=...}, _sum and _count samples.
 *
 * The server is libevent's evhttp on the daemon's own loop, off unless the
 * configuration names a listen address ("127.0.0.1:9201", "[::1]:9201").
 * It answers only GET (and HEAD) /metrics, 404 for any other path, 405 for
 * any other method; each reply closes its connection. A hostile client
 * cannot stall the loop: headers are capped at METRICS_MAX_HEADERS bytes,
 * a body is refused, a connection idle for METRICS_TIMEOUT_S seconds or
 * open for METRICS_LIFETIME_S is closed, and at most METRICS_MAX_CONNS
 * connections are open at once (the rest wait in the listen backlog). The page is built by the daemon's fill callback into a
 * memory stream, at once, from counters it already keeps.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define METRICS_LISTEN_MAX 64  /* "[v6 address]:port" with its NUL */
#define METRICS_MAX_HEADERS 8192
#define METRICS_TIMEOUT_S 5
#define METRICS_MAX_CONNS 16
#define METRICS_LIFETIME_S 10 /* the longest a connection lives */
#define METRICS_HIST_MAX 16    /* upper bounds of one histogram, +Inf apart */

enum metrics_type { METRICS_COUNTER, METRICS_GAUGE, METRICS_HISTOGRAM };

/* "# HELP name help" and "# TYPE name type" (help escaped). */
void metrics_family(FILE *f, const char *name, enum metrics_type type, const char *help);
/* One sample "name{label="value"} v"; label NULL: no label. */
void metrics_sample(FILE *f, const char *name, const char *label, const char *value, uint64_t v);
/* A family of one unlabelled sample: metrics_family() then metrics_sample(). */
void metrics_one(FILE *f, const char *name, enum metrics_type type, const char *help, uint64_t v);

/* A histogram: nbounds increasing upper bounds (in the unit of the
 * observations), a bucket per bound plus +Inf, their sum. */
struct metrics_hist {
	unsigned nbounds;
	double bounds[METRICS_HIST_MAX];
	uint64_t buckets[METRICS_HIST_MAX + 1]; /* not cumulative; [nbounds] = +Inf */
	double sum;
	uint64_t count;
};

/* Set h empty with nbounds (<= METRICS_HIST_MAX) increasing bounds. */
void metrics_hist_init(struct metrics_hist *h, const double *bounds, unsigned nbounds);
/* Count one observation v. */
void metrics_hist_observe(struct metrics_hist *h, double v);
/* The family (help, TYPE histogram) and its _bucket, _sum and _count
 * samples; scale multiplies bounds and sum (1e-3: milliseconds observed,
 * seconds shown, as Prometheus names want). */
void metrics_hist_write(FILE *f, const char *name, const char *help, const struct metrics_hist *h,
			double scale);

/* Write the page into f; called once per GET /metrics. */
typedef void (*metrics_fill_fn)(void *arg, FILE *f);

struct event_base;
struct metrics_srv;

/* Whether s is a listen address the server takes: "a.b.c.d:port" or
 * "[v6]:port", port 1..65535. */
bool metrics_listen_ok(const char *s);

/* Listen at addr (metrics_listen_ok) on base and serve fill's page. 0 with
 * *out set, or -1 with the address and the failing call logged. */
int metrics_start(struct event_base *base, const char *addr, metrics_fill_fn fill, void *arg,
		  struct metrics_srv **out);
/* Close the listener and every connection; NULL is ignored. */
void metrics_stop(struct metrics_srv *s);

/* A conftab type for the listen setting: a string of size bytes at off,
 * empty (off, the default) or metrics_listen_ok(). */
struct conftab_type;
extern const struct conftab_type metrics_conf_listen;

#endif
