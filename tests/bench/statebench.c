/* statebench: what state.file costs natd, side by side with no state file.
 *
 * Drives natd's own translation code (libnatd: xlate, the binding table,
 * the manager, the journal) without a TUN: N new UDP flows from distinct
 * inside endpoints are translated, so N dynamic bindings are made, with
 * the event loop given a pass every BATCH packets as natd's TUN reader
 * does (that pass is when the journal writes). Each repetition runs the
 * two modes one after the other:
 *   none   no state file
 *   state  state.file in a temporary directory (snapshot, appended
 *          records, compaction as the file grows)
 * and, for "state", the final snapshot (a graceful stop) and the restore
 * of all N bindings into a fresh natd (a restart). Prints a table of
 * medians and the ratio of creation costs.
 *
 *   statebench [-n FLOWS] [-r REPS] [-d DIR]
 *
 * Only memory and a temporary directory are touched; no packet leaves
 * the process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "core.h"
#include "statefile.h"

#define BATCH 32

static const char *const CONF_TEXT =
	"realms = (\n"
	"  { name = \"inside\"; prefixes = [ \"10.1.0.0/16\" ]; nat_to = [ \"outside\" ]; },\n"
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
	"    pool = { addresses = [ \"198.51.100.0/24\" ]; ports = \"1024-65535\"; }; }\n"
	");\n"
	"log: { level = \"warning\"; };\n"
	/* the translation alone: no per-host limits (50000 flows a host), no
	 * hairpinning, any free port */
	"table: { hairpinning = false; port_parity = false; port_preservation = false;\n"
	"         max_bindings_per_host = 0; new_flows_per_host = 0; };\n"
	"control: { default_lifetime = 120; max_lifetime = 3600; };\n";

struct env {
	struct natd_conf conf;
	struct core *core; /* natd's, from core_open() */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint32_t)ts.tv_sec;
}

static int env_init(struct env *e, uint32_t capacity)
{
	char path[] = "/tmp/statebench_XXXXXX";
	int fd = mkstemp(path);

	memset(e, 0, sizeof(*e));
	if (fd < 0 || write(fd, CONF_TEXT, strlen(CONF_TEXT)) != (ssize_t)strlen(CONF_TEXT)) {
		perror("statebench: temporary config");
		return -1;
	}
	close(fd);
	if (conf_load(path, &e->conf, stderr) < 0) {
		unlink(path);
		return -1;
	}
	unlink(path);
	e->conf.bind.capacity = capacity;
	e->conf.frag = (struct frag_conf){.datagrams = 16, .slots = 2, .slot_bytes = 1500, .timeout = 2};
	return core_open(&e->conf, mono(), &e->core);
}

static void env_fini(struct env *e)
{
	core_close(e->core);
	conf_free(&e->conf);
}

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An IPv4/UDP packet from src:sport to 203.0.113.10:7000, 20 bytes of payload. */
static size_t udp_pkt(uint8_t *b, uint32_t src, uint16_t sport)
{
	uint32_t dst = htonl(0xcb00710a);
	uint16_t c;

	memset(b, 0, 48);
	b[0] = 0x45;
	b[2] = 0;
	b[3] = 48;
	b[8] = 64;
	b[9] = 17;
	memcpy(b + 12, &src, 4);
	memcpy(b + 16, &dst, 4);
	c = csum(b, 20);
	b[10] = (uint8_t)(c >> 8);
	b[11] = (uint8_t)c;
	b[20] = (uint8_t)(sport >> 8);
	b[21] = (uint8_t)sport;
	b[22] = 7000 >> 8;
	b[23] = 7000 & 0xff;
	b[25] = 28;
	return 48;
}

/* Make n flows; returns seconds, or -1 if a packet was not forwarded. */
static double make_flows(struct env *e, struct event_base *base, uint32_t n)
{
	uint8_t pkt[2048];
	double t0 = now_s();

	for (uint32_t i = 0; i < n; i++) {
		uint32_t src = htonl(0x0a010000u + 1 + i / 50000);
		size_t len = udp_pkt(pkt, src, (uint16_t)(10000 + i % 50000));
		e->core->x.now = mono();
		if (xlate_packet(&e->core->x, pkt, len, sizeof(pkt)) != XL_FORWARD)
			return -1;
		if (i % BATCH == BATCH - 1)
			event_base_loop(base, EVLOOP_NONBLOCK);
	}
	event_base_loop(base, EVLOOP_NONBLOCK);
	return now_s() - t0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	uint32_t n = 200000;
	int reps = 3, opt;
	char dir[256] = "", path[300];
	double t_none[16], t_state[16], t_close[16], t_restore[16];
	long fsize = 0;
	unsigned long restored = 0;

	while ((opt = getopt(argc, argv, "n:r:d:h")) != -1) {
		switch (opt) {
		case 'n': n = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': reps = atoi(optarg); break;
		case 'd': snprintf(dir, sizeof(dir), "%s", optarg); break;
		default:
			fprintf(stderr, "usage: statebench [-n FLOWS] [-r REPS (1-15)] [-d DIR]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (n < 1000 || n > 2000000 || reps < 1 || reps > 15) {
		fprintf(stderr, "statebench: -n 1000..2000000, -r 1..15\n");
		return 2;
	}
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/statebench_dir_XXXXXX");
		if (!mkdtemp(dir)) {
			perror("statebench: mkdtemp");
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/state", dir);

	for (int r = 0; r < reps; r++) {
		struct env a, b;
		struct event_base *base = event_base_new();
		struct statefile *sf;
		struct statefile_result res;
		struct stat st;
		double t0;

		/* none */
		if (!base || env_init(&a, n + 1024) < 0)
			return 1;
		if ((t_none[r] = make_flows(&a, base, n)) < 0) {
			fprintf(stderr, "statebench: a flow was not translated\n");
			return 1;
		}
		env_fini(&a);
		/* state */
		unlink(path);
		if (env_init(&a, n + 1024) < 0 ||
		    !(sf = statefile_open(path, base, &a.core->rs, a.core->bt, a.core->mgr, 0)))
			return 1;
		if ((t_state[r] = make_flows(&a, base, n)) < 0) {
			fprintf(stderr, "statebench: a flow was not translated\n");
			return 1;
		}
		t0 = now_s();
		statefile_close(sf);
		t_close[r] = now_s() - t0;
		env_fini(&a);
		if (stat(path, &st) == 0)
			fsize = (long)st.st_size;
		if (env_init(&b, n + 1024) < 0)
			return 1;
		t0 = now_s();
		statefile_restore(path, &b.core->rs, b.core->bt, b.core->mgr, &res);
		t_restore[r] = now_s() - t0;
		restored = res.dynamic;
		env_fini(&b);
		event_base_free(base);
		if (restored != n || !res.whole) {
			fprintf(stderr, "statebench: restored %lu of %u bindings (whole %d)\n", restored, n,
				res.whole);
			return 1;
		}
	}
	unlink(path);
	rmdir(dir);

	double mn = median(t_none, reps), ms = median(t_state, reps);
	printf("statebench: %u new UDP flows (dynamic bindings), event-loop pass every %d packets, "
	       "median of %d\n\n", n, BATCH, reps);
	printf("%-34s %12s %14s\n", "mode", "seconds", "ns per flow");
	printf("%-34s %12.3f %14.0f\n", "no state file", mn, mn * 1e9 / n);
	printf("%-34s %12.3f %14.0f\n", "state.file (journal)", ms, ms * 1e9 / n);
	printf("%-34s %12.3f %14.0f\n", "final snapshot (graceful stop)", median(t_close, reps),
	       median(t_close, reps) * 1e9 / n);
	printf("%-34s %12.3f %14.0f\n", "restore at start-up", median(t_restore, reps),
	       median(t_restore, reps) * 1e9 / n);
	printf("\nflow creation with state.file / without: %.2f\n", ms / mn);
	printf("state file after the final snapshot: %ld bytes (%.0f bytes per binding)\n", fsize,
	       (double)fsize / n);
	return 0;
}
