/* ctlbench: BIND + RELEASE round trips over natd's control socket, through
 * libcontrol's public client API (libcontrol/client.h), as a third-party
 * application would make them. tests/bench/control runs it; see
 * tests/bench/README.md.
 *
 *   ctlbench seq  --socket PATH [--count N] [--rate R] [--max-time S]
 *       one connection, blocking API, one request at a time: N pairs of
 *       BIND then RELEASE of the same endpoint; latency of each request
 *       and of each pair. With --rate, a pair starts every 1/R s (a
 *       client with its own pace, as the SIP proxy is paced by its calls)
 *       instead of as soon as the last one ended (closed loop: the faster
 *       natd answers, the more it is asked); the pacing sleeps, and a pair
 *       that is late starts at once without a catch-up burst.
 *   ctlbench pipe --socket PATH [--count N] [--inflight K] [--max-time S]
 *       one connection, async API on a libevent loop, K requests in flight:
 *       K slots, each binding its own endpoint and releasing it as soon as
 *       the BIND reply arrives, then binding again; N requests in all.
 *
 * Every loop is bounded by --count and by --max-time (no new requests
 * after it; the run is abandoned 10 s later). A warm-up of 200 requests
 * (seq) or one round of the slots (pipe) is not measured. Output:
 * key=value lines (mode, ops, pairs, elapsed, ops_per_s, pairs_per_s,
 * p50_us, p90_us, p99_us, max_us for requests; pair_p50_us.. for seq;
 * errors and first_error). Exit 0, or 1 when anything failed.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <event2/event.h>

#include <libcontrol/client.h>

#define WARMUP 200
#define MAX_COUNT 5000000u
#define MAX_INFLIGHT 4096u
#define REQ_TIMEOUT_MS 5000u

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentile p (0..100) of n sorted samples, in microseconds. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return (double)v[i < n ? i : n - 1] / 1000.0;
}

static void print_lat(const char *prefix, uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	printf("%sp50_us=%.1f %sp90_us=%.1f %sp99_us=%.1f %smax_us=%.1f\n", prefix,
	       pct_us(v, n, 50), prefix, pct_us(v, n, 90), prefix, pct_us(v, n, 99), prefix,
	       n ? (double)v[n - 1] / 1000.0 : 0.0);
}

/* A terminating UDP binding inside -> outside for endpoint number k:
 * 10.1.0.(10 + k / 40000) : (20000 + k % 40000). */
static void make_req(struct nc_bind *r, unsigned k)
{
	uint32_t a = htonl((10u << 24) | (1u << 16) | (10u + k / 40000u));

	memset(r, 0, sizeof(*r));
	r->spec.dir = NC_DIR_TERM;
	r->spec.proto = NC_PROTO_UDP;
	snprintf(r->spec.in_realm, sizeof(r->spec.in_realm), "inside");
	snprintf(r->spec.ext_realm, sizeof(r->spec.ext_realm), "outside");
	r->spec.ep.ip.af = NC_AF_IP4;
	memcpy(r->spec.ep.ip.a, &a, 4);
	r->spec.ep.port = (uint16_t)(20000u + k % 40000u);
	r->lifetime = 60;
}

struct opts {
	const char *sock;
	unsigned count, inflight;
	double max_time;
	double rate; /* seq: pairs per second; 0 = closed loop */
};

static char first_error[300];
static unsigned nerrors;

static void note_error(const char *what, int err, const struct nc_status *st)
{
	nerrors++;
	if (first_error[0])
		return;
	if (err < 0)
		snprintf(first_error, sizeof(first_error), "%s: %s", what, nc_strerror(err));
	else
		snprintf(first_error, sizeof(first_error), "%s: %s: %s", what,
			 nc_status_str(st->code), st->reason);
	for (char *p = first_error; *p; p++)
		if (*p == ' ')
			*p = '_'; /* one key=value token */
}

static void print_common(const char *mode, unsigned ops, double secs, unsigned inflight)
{
	printf("mode=%s inflight=%u ops=%u pairs=%u elapsed=%.3f ops_per_s=%.0f pairs_per_s=%.0f\n",
	       mode, inflight, ops, ops / 2, secs, secs > 0 ? ops / secs : 0,
	       secs > 0 ? ops / 2 / secs : 0);
}

/* ---- sequential, blocking API ---- */

/* --rate: sleep until *next, the start of this pair's slot, and set the
 * next slot; a late pair starts now and the schedule restarts from it
 * (no burst to catch up). */
static void pace(uint64_t *next, double rate)
{
	uint64_t now = now_ns(), step = (uint64_t)(1e9 / rate);

	if (*next > now) {
		struct timespec ts = {.tv_sec = (time_t)(*next / 1000000000u),
				      .tv_nsec = (long)(*next % 1000000000u)};
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
		*next += step;
	} else {
		*next = now + step;
	}
}

static int run_seq(const struct opts *o)
{
	struct nc_client *cl;
	struct nc_bind req;
	struct nc_bind_r rep;
	struct nc_status rst;
	uint64_t *lat = calloc((size_t)o->count * 2 + 2, sizeof(uint64_t));
	uint64_t *pair = calloc((size_t)o->count + 1, sizeof(uint64_t));
	uint64_t *blat = calloc((size_t)o->count + 1, sizeof(uint64_t));
	uint64_t *rlat = calloc((size_t)o->count + 1, sizeof(uint64_t));
	uint64_t t0, t1, t2, start = 0, deadline = UINT64_MAX, next = 0;
	unsigned n = 0, i;
	int r;

	if (!lat || !pair || !blat || !rlat) {
		fprintf(stderr, "ctlbench: out of memory\n");
		return 1;
	}
	if ((r = nc_client_open_unix(o->sock, "ctlbench", &cl)) < 0) {
		fprintf(stderr, "ctlbench: %s: %s\n", o->sock, nc_strerror(r));
		return 1;
	}
	make_req(&req, 0);
	for (i = 0; i < WARMUP / 2 + o->count; i++) {
		bool measured = i >= WARMUP / 2;

		if (measured && n == 0) {
			start = now_ns();
			deadline = start + (uint64_t)(o->max_time * 1e9);
		}
		if (measured && now_ns() > deadline)
			break;
		if (o->rate > 0)
			pace(&next, o->rate);
		t0 = now_ns();
		r = nc_client_bind(cl, &req, &rep, REQ_TIMEOUT_MS);
		t1 = now_ns();
		if (r < 0 || rep.st.code != NC_ST_OK) {
			note_error("bind", r, &rep.st);
			if (r < 0 || nerrors > 100)
				break;
			continue;
		}
		struct nc_release rel = {.epoch = rep.st.epoch, .id = rep.id};
		r = nc_client_release(cl, &rel, &rst, REQ_TIMEOUT_MS);
		t2 = now_ns();
		if (r < 0 || rst.code != NC_ST_OK) {
			note_error("release", r, &rst);
			if (r < 0 || nerrors > 100)
				break;
			continue;
		}
		if (measured) {
			blat[n] = t1 - t0;
			rlat[n] = t2 - t1;
			lat[2 * n] = t1 - t0;
			lat[2 * n + 1] = t2 - t1;
			pair[n++] = t2 - t0;
		}
	}
	t2 = now_ns();
	nc_client_close(cl);
	print_common("seq", n * 2, n ? (double)(t2 - start) / 1e9 : 0, 1);
	print_lat("", lat, (size_t)n * 2);
	print_lat("pair_", pair, n);
	print_lat("bind_", blat, n);
	print_lat("release_", rlat, n);
	printf("errors=%u first_error=%s\n", nerrors, first_error[0] ? first_error : "-");
	free(lat);
	free(pair);
	free(blat);
	free(rlat);
	return nerrors || n == 0;
}

/* ---- pipelined, async API ---- */

struct bench;

struct slot {
	struct bench *b;
	struct nc_bind req;
	uint64_t t0;
	bool measured; /* its outstanding request was sent while measuring */
};

struct bench {
	const struct opts *o;
	struct event_base *base;
	struct nc_async *ac;
	struct slot *slots;
	unsigned active;     /* slots with a request outstanding */
	unsigned issued;     /* requests sent (measured) */
	unsigned done;       /* replies to measured requests */
	unsigned warm;       /* warm-up binds still to send */
	bool measuring, stopping;
	uint64_t start, end;
	uint64_t *lat;
	size_t nlat;
};

static void slot_bind(struct slot *s);

static void slot_idle(struct slot *s)
{
	struct bench *b = s->b;

	if (--b->active == 0) {
		b->end = now_ns();
		event_base_loopbreak(b->base);
	}
}

static void record(struct bench *b, struct slot *s)
{
	if (!s->measured)
		return;
	b->done++;
	if (b->nlat < (size_t)b->o->count)
		b->lat[b->nlat++] = now_ns() - s->t0;
}

static void on_release(void *arg, int err, const struct nc_status *st)
{
	struct slot *s = arg;
	struct bench *b = s->b;

	record(b, s);
	if (err < 0 || st->code != NC_ST_OK) {
		note_error("release", err, st);
		if (err < 0 || nerrors > 100)
			b->stopping = true;
	}
	if (!b->measuring && b->warm == 0 && b->active == b->o->inflight) {
		/* the first slot back from its warm-up round starts the clock;
		 * every later request is measured */
		b->measuring = true;
		b->start = now_ns();
	}
	if (b->stopping || (b->measuring && b->issued + 2 > b->o->count)) {
		slot_idle(s);
		return;
	}
	slot_bind(s);
}

static void on_bind(void *arg, int err, const struct nc_bind_r *rep)
{
	struct slot *s = arg;
	struct bench *b = s->b;
	struct nc_release rel;
	int r;

	record(b, s);
	if (err < 0 || rep->st.code != NC_ST_OK) {
		note_error("bind", err, rep ? &rep->st : NULL);
		if (err < 0 || nerrors > 100 || b->stopping) {
			b->stopping = true;
			slot_idle(s);
			return;
		}
		slot_bind(s);
		return;
	}
	rel.epoch = rep->st.epoch;
	rel.id = rep->id;
	s->t0 = now_ns();
	s->measured = b->measuring;
	if (b->measuring)
		b->issued++;
	if ((r = nc_async_release(b->ac, &rel, REQ_TIMEOUT_MS, on_release, s)) < 0) {
		note_error("release", r, NULL);
		b->stopping = true;
		slot_idle(s);
	}
}

static void slot_bind(struct slot *s)
{
	struct bench *b = s->b;
	int r;

	s->t0 = now_ns();
	s->measured = b->measuring;
	if (b->measuring)
		b->issued++;
	else if (b->warm)
		b->warm--;
	if ((r = nc_async_bind(b->ac, &s->req, REQ_TIMEOUT_MS, on_bind, s)) < 0) {
		note_error("bind", r, NULL);
		b->stopping = true;
		slot_idle(s);
	}
}

static void on_conn(void *arg, int err)
{
	struct bench *b = arg;

	if (err < 0) {
		note_error("connection", err, NULL);
		b->stopping = true;
		event_base_loopbreak(b->base);
	}
}

static void on_soft_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	(void)fd;
	(void)what;
	b->stopping = true; /* no new requests; the loop ends when all are back */
}

static void on_hard_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	(void)fd;
	(void)what;
	note_error("hard deadline", -ETIMEDOUT, NULL);
	b->end = now_ns();
	event_base_loopbreak(b->base);
}

static int run_pipe(const struct opts *o)
{
	struct bench b = {.o = o};
	struct event *soft, *hard;
	struct timeval tv_soft, tv_hard;
	int r;

	b.base = event_base_new();
	b.slots = calloc(o->inflight, sizeof(*b.slots));
	b.lat = calloc(o->count + 1, sizeof(*b.lat));
	if (!b.base || !b.slots || !b.lat) {
		fprintf(stderr, "ctlbench: out of memory\n");
		return 1;
	}
	if ((r = nc_async_open_unix(b.base, o->sock, "ctlbench", on_conn, &b, &b.ac)) < 0) {
		fprintf(stderr, "ctlbench: %s: %s\n", o->sock, nc_strerror(r));
		return 1;
	}
	tv_soft.tv_sec = (time_t)o->max_time;
	tv_soft.tv_usec = (suseconds_t)((o->max_time - (double)tv_soft.tv_sec) * 1e6);
	tv_hard = tv_soft;
	tv_hard.tv_sec += 10;
	soft = evtimer_new(b.base, on_soft_deadline, &b);
	hard = evtimer_new(b.base, on_hard_deadline, &b);
	evtimer_add(soft, &tv_soft);
	evtimer_add(hard, &tv_hard);
	b.warm = o->inflight;
	b.active = o->inflight;
	for (unsigned i = 0; i < o->inflight; i++) {
		b.slots[i].b = &b;
		make_req(&b.slots[i].req, i);
	}
	for (unsigned i = 0; i < o->inflight && !b.stopping; i++)
		slot_bind(&b.slots[i]);
	event_base_dispatch(b.base);
	if (!b.end)
		b.end = now_ns();
	print_common("pipe", b.done, b.measuring ? (double)(b.end - b.start) / 1e9 : 0, o->inflight);
	print_lat("", b.lat, b.nlat);
	printf("errors=%u first_error=%s\n", nerrors, first_error[0] ? first_error : "-");
	nc_async_close(b.ac);
	event_free(soft);
	event_free(hard);
	event_base_free(b.base);
	free(b.slots);
	free(b.lat);
	return nerrors || b.done == 0;
}

static void usage(FILE *f)
{
	fputs("usage: ctlbench seq  --socket PATH [--count N] [--rate R] [--max-time S]\n"
	      "       ctlbench pipe --socket PATH [--count N] [--inflight K] [--max-time S]\n"
	      "  --count N      seq: BIND+RELEASE pairs (default 10000); pipe: requests\n"
	      "                 (default 200000); at most 5000000\n"
	      "  --inflight K   pipe: requests in flight (default 64, at most 4096)\n"
	      "  --rate R       seq: start a pair every 1/R s (default 0: each as soon as\n"
	      "                 the last one ended), at most 100000\n"
	      "  --max-time S   no new requests after S seconds (default 20)\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"socket", required_argument, NULL, 's'},
					   {"count", required_argument, NULL, 'n'},
					   {"inflight", required_argument, NULL, 'k'},
					   {"max-time", required_argument, NULL, 't'},
					   {"rate", required_argument, NULL, 'r'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	struct opts o = {.sock = NULL, .count = 0, .inflight = 64, .max_time = 20};
	const char *mode;
	int c;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	mode = argv[1];
	if (!strcmp(mode, "-h") || !strcmp(mode, "--help")) {
		usage(stdout);
		return 0;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			o.sock = optarg;
			break;
		case 'n':
			o.count = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			o.inflight = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't':
			o.max_time = strtod(optarg, NULL);
			break;
		case 'r':
			o.rate = strtod(optarg, NULL);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o.sock || optind != argc || o.inflight < 1 || o.inflight > MAX_INFLIGHT ||
	    o.count > MAX_COUNT || !(o.max_time > 0 && o.max_time <= 600) ||
	    !(o.rate >= 0 && o.rate <= 100000)) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(mode, "seq")) {
		if (!o.count)
			o.count = 10000;
		return run_seq(&o);
	}
	if (!strcmp(mode, "pipe")) {
		if (!o.count)
			o.count = 200000;
		if (o.count < 2 * o.inflight)
			o.count = 2 * o.inflight;
		return run_pipe(&o);
	}
	usage(stderr);
	return 2;
}
