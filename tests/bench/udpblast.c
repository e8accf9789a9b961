/* udpblast: UDP traffic generator and sink for the datapath benchmark.
 *
 *   udpblast send --dst ADDR:PORT [options]   blast UDP with sendmmsg()
 *   udpblast recv --bind ADDR:PORT [options]  count UDP with recvmmsg()
 *
 * The sender uses a connected UDP socket for one flow, or a raw
 * IP_HDRINCL socket (--raw, implied by --flows N > 1) that crafts each
 * datagram itself, cycling through N source endpoints so that a NAT in the
 * path creates N bindings. Checksums (IP and UDP) are computed per packet
 * from a precomputed partial sum.
 *
 * Every run is bounded: --duration always applies (default 10 s, at most
 * 3600 s), --count stops earlier when given. --rate paces to a fixed packet
 * rate; without it the sender runs as fast as the socket accepts.
 *
 * Results are printed on stdout as key=value lines, one per key, so that a
 * shell can read them with a simple loop or grep.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IP_HLEN 20
#define UDP_HLEN 8
#define MAX_PAYLOAD 65507
#define MAX_BATCH 1024
#define MAX_DURATION 3600.0
#define SOCKBUF_BYTES (4 * 1024 * 1024)

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	struct timespec ts;

	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	/* EINTR (a stop signal) simply returns early; the caller re-checks. */
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void usage(FILE *f)
{
	fputs("usage:\n"
	      "  udpblast send --dst ADDR:PORT [--src ADDR] [--sport PORT]\n"
	      "                [--size BYTES] [--rate PPS] [--count N]\n"
	      "                [--duration SEC] [--batch N] [--raw]\n"
	      "                [--flows N] [--sports LO-HI]\n"
	      "  udpblast recv --bind ADDR:PORT [--duration SEC] [--idle SEC]\n"
	      "                [--count N] [--ready FILE] [--batch N]\n"
	      "\n"
	      "send: --size is the UDP payload (default 64); --rate 0 (default)\n"
	      "  means as fast as possible; --duration defaults to 10 s and is\n"
	      "  always enforced, --count (0 = none) stops earlier; --batch is\n"
	      "  the sendmmsg batch (default 64). --flows N > 1 uses a raw\n"
	      "  IP_HDRINCL socket and cycles the source through N endpoints:\n"
	      "  ports LO..HI of --sports (default 1024-65535) on --src, then on\n"
	      "  the next addresses (--src+1, ...) once the range is used up.\n"
	      "  --raw uses the raw socket even for one flow.\n"
	      "recv: exits after --duration (default 10 s), after --idle seconds\n"
	      "  without a packet once one has arrived (default 1), after\n"
	      "  --count packets, or on SIGINT/SIGTERM. --ready FILE is\n"
	      "  written (atomically) once the socket is bound.\n"
	      "\n"
	      "output: key=value lines (sent=/received=, bytes=, elapsed=,\n"
	      "  pps=, mbps=, ...); mbps counts UDP payload bits. recv also\n"
	      "  prints sockdrops= (the socket's own drops), first_src= and\n"
	      "  srcaddrs= (packets per source address, first 16 addresses).\n",
	      f);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min && v <= max))
		return -1;
	*out = v;
	return 0;
}

/* "a.b.c.d:port" (port may be 0 only when allow_zero). */
static int parse_endpoint(const char *s, struct sockaddr_in *sa, bool allow_zero)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	uint64_t port;
	size_t n;

	if (!colon)
		return -1;
	n = (size_t)(colon - s);
	if (n == 0 || n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	if (parse_u64(colon + 1, 65535, &port) < 0 || (!allow_zero && port == 0))
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	return 0;
}

static void set_buf(int fd, int force_opt, int opt, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

/* ---- checksums ------------------------------------------------------- */

/* Add len bytes as big-endian 16-bit words to acc (unfolded). */
static uint32_t sum_be16(const uint8_t *p, size_t len, uint32_t acc)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- sender ---------------------------------------------------------- */

struct send_opts {
	struct sockaddr_in dst;
	struct in_addr src;
	bool have_src;
	uint16_t sport;
	uint64_t size;
	double rate;
	uint64_t count;
	double duration;
	unsigned batch;
	bool raw;
	uint64_t flows;
	uint16_t sport_lo, sport_hi;
};

/* Raw-mode packet template: the sums of everything but the per-flow
 * fields (source address, source port), so each packet costs two folds. */
struct raw_tmpl {
	size_t pktlen;
	uint32_t ip_sum;  /* IP header with saddr = 0, check = 0 */
	uint32_t udp_sum; /* pseudo header + UDP header + payload, saddr/sport = 0 */
	uint32_t src_base;
	uint32_t nports;
	uint16_t sport_lo;
	uint64_t flows;
};

static void raw_fill(const struct raw_tmpl *t, uint8_t *pkt, uint64_t flow)
{
	uint32_t saddr = t->src_base + (uint32_t)(flow / t->nports);
	uint16_t sport = (uint16_t)(t->sport_lo + flow % t->nports);
	uint32_t s;
	uint16_t c;

	put32(pkt + 12, saddr);
	s = t->ip_sum + (saddr >> 16) + (saddr & 0xffff);
	put16(pkt + 10, (uint16_t)~fold(s));
	put16(pkt + IP_HLEN, sport);
	s = t->udp_sum + (saddr >> 16) + (saddr & 0xffff) + sport;
	c = (uint16_t)~fold(s);
	put16(pkt + IP_HLEN + 6, c ? c : 0xffff);
}

static int find_source(const struct sockaddr_in *dst, struct in_addr *src)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	*src = sa.sin_addr;
	return 0;
}

static int run_send(const struct send_opts *o)
{
	struct mmsghdr *msgs;
	struct iovec *iovs;
	uint8_t *payload = NULL, *pkts = NULL;
	struct raw_tmpl t;
	uint64_t sent = 0, errors = 0, next_flow = 0;
	double start, deadline, now, end;
	unsigned i;
	int fd;

	msgs = calloc(o->batch, sizeof(*msgs));
	iovs = calloc(o->batch, sizeof(*iovs));
	if (!msgs || !iovs) {
		fprintf(stderr, "udpblast: out of memory\n");
		return 1;
	}
	memset(&t, 0, sizeof(t));

	if (o->raw) {
		struct in_addr src = o->src;
		uint8_t hdr[IP_HLEN + UDP_HLEN];
		uint64_t span;
		size_t udplen = UDP_HLEN + o->size;

		if (!o->have_src && find_source(&o->dst, &src) < 0) {
			fprintf(stderr, "udpblast: no route to destination: %s\n",
				strerror(errno));
			return 1;
		}
		t.pktlen = IP_HLEN + udplen;
		t.sport_lo = o->sport_lo;
		t.nports = (uint32_t)o->sport_hi - o->sport_lo + 1;
		t.src_base = ntohl(src.s_addr);
		t.flows = o->flows;
		span = (o->flows - 1) / t.nports;
		if (span > 0xffffffffULL - t.src_base) {
			fprintf(stderr, "udpblast: --flows too large for --src\n");
			return 1;
		}
		if (t.pktlen > 65535) {
			fprintf(stderr, "udpblast: --size too large for --raw\n");
			return 1;
		}
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW); /* implies IP_HDRINCL */
		if (fd < 0) {
			fprintf(stderr, "udpblast: raw socket: %s\n", strerror(errno));
			return 1;
		}
		pkts = calloc(o->batch, t.pktlen);
		if (!pkts) {
			fprintf(stderr, "udpblast: out of memory\n");
			return 1;
		}
		/* Template header: saddr, sport and both checksums left 0. */
		memset(hdr, 0, sizeof(hdr));
		hdr[0] = 0x45;
		put16(hdr + 2, (uint16_t)t.pktlen);
		hdr[8] = 64;            /* TTL */
		hdr[9] = IPPROTO_UDP;
		memcpy(hdr + 16, &o->dst.sin_addr, 4);
		memcpy(hdr + IP_HLEN + 2, &o->dst.sin_port, 2);
		put16(hdr + IP_HLEN + 4, (uint16_t)udplen);
		t.ip_sum = sum_be16(hdr, IP_HLEN, 0);
		/* pseudo header: daddr, proto, UDP length (saddr added per packet) */
		t.udp_sum = sum_be16(hdr + 16, 4, 0) + IPPROTO_UDP + (uint32_t)udplen;
		t.udp_sum = sum_be16(hdr + IP_HLEN, UDP_HLEN, t.udp_sum);
		for (i = 0; i < o->batch; i++) {
			uint8_t *p = pkts + (size_t)i * t.pktlen;

			memcpy(p, hdr, sizeof(hdr));
			memset(p + sizeof(hdr), 0xa5, o->size);
			iovs[i].iov_base = p;
			iovs[i].iov_len = t.pktlen;
			msgs[i].msg_hdr.msg_name = (void *)&o->dst;
			msgs[i].msg_hdr.msg_namelen = sizeof(o->dst);
			msgs[i].msg_hdr.msg_iov = &iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		/* The payload is the same in every packet: sum it once. */
		{
			uint8_t *p = pkts + sizeof(hdr);

			t.udp_sum = sum_be16(p, o->size, t.udp_sum);
		}
	} else {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0) {
			fprintf(stderr, "udpblast: socket: %s\n", strerror(errno));
			return 1;
		}
		if (o->have_src || o->sport) {
			struct sockaddr_in sa;
			int one = 1;

			memset(&sa, 0, sizeof(sa));
			sa.sin_family = AF_INET;
			sa.sin_addr = o->have_src ? o->src : (struct in_addr){ INADDR_ANY };
			sa.sin_port = htons(o->sport);
			(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
				fprintf(stderr, "udpblast: bind: %s\n", strerror(errno));
				return 1;
			}
		}
		if (connect(fd, (const struct sockaddr *)&o->dst, sizeof(o->dst)) < 0) {
			fprintf(stderr, "udpblast: connect: %s\n", strerror(errno));
			return 1;
		}
		payload = malloc(o->size ? o->size : 1);
		if (!payload) {
			fprintf(stderr, "udpblast: out of memory\n");
			return 1;
		}
		memset(payload, 0xa5, o->size ? o->size : 1);
		for (i = 0; i < o->batch; i++) {
			iovs[i].iov_base = payload;
			iovs[i].iov_len = o->size;
			msgs[i].msg_hdr.msg_iov = &iovs[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
	}
	set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, SOCKBUF_BYTES);

	start = now_mono();
	deadline = start + o->duration;
	while (!stop_flag) {
		uint64_t n = o->batch;
		int r;

		now = now_mono();
		if (now >= deadline)
			break;
		if (o->count) {
			if (sent >= o->count)
				break;
			if (o->count - sent < n)
				n = o->count - sent;
		}
		if (o->rate > 0) {
			/* Packets due by now; sleep until the next one otherwise. */
			double due = (now - start) * o->rate;
			uint64_t target = (uint64_t)due + 1;

			if (target <= sent) {
				double next = start + (double)(sent + 1) / o->rate;

				sleep_until(next < deadline ? next : deadline);
				continue;
			}
			if (target - sent < n)
				n = target - sent;
		}
		if (o->raw) {
			uint64_t f = next_flow;

			for (i = 0; i < n; i++) {
				raw_fill(&t, pkts + (size_t)i * t.pktlen, f);
				if (++f == t.flows)
					f = 0;
			}
		}
		r = sendmmsg(fd, msgs, (unsigned)n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED ||
			    errno == EHOSTUNREACH || errno == ENETUNREACH || errno == EPERM) {
				/* Local drop or an ICMP error reported on the socket:
				 * count it and go on (bounded by the deadline). */
				errors++;
				continue;
			}
			fprintf(stderr, "udpblast: sendmmsg: %s\n", strerror(errno));
			break;
		}
		sent += (uint64_t)r;
		if (o->raw)
			next_flow = (next_flow + (uint64_t)r) % t.flows;
	}
	end = now_mono();

	{
		double el = end - start;
		double pps = el > 0 ? (double)sent / el : 0;

		printf("mode=send\n");
		printf("sent=%" PRIu64 "\n", sent);
		printf("bytes=%" PRIu64 "\n", sent * o->size);
		printf("errors=%" PRIu64 "\n", errors);
		printf("flows=%" PRIu64 "\n", o->flows);
		printf("size=%" PRIu64 "\n", o->size);
		printf("elapsed=%.6f\n", el);
		printf("pps=%.0f\n", pps);
		printf("mbps=%.2f\n", pps * (double)o->size * 8 / 1e6);
	}
	close(fd);
	free(pkts);
	free(payload);
	free(iovs);
	free(msgs);
	return 0;
}

/* ---- sink ------------------------------------------------------------ */

struct recv_opts {
	struct sockaddr_in bind;
	double duration;
	double idle;
	uint64_t count;
	const char *ready;
	unsigned batch;
};

static int write_ready(const char *path)
{
	char tmp[PATH_MAX];
	char line[32];
	int fd, len;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	len = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (write(fd, line, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

#define CMSG_SPACE_OVFL CMSG_SPACE(sizeof(uint32_t))
#define MAX_SRCADDRS 16

/* Packets per source address, for the first MAX_SRCADDRS addresses seen
 * (a NAT's pool usage); the rest are counted together. */
struct srcaddrs {
	uint32_t addr[MAX_SRCADDRS];
	uint64_t count[MAX_SRCADDRS];
	unsigned n;
	uint64_t other;
};

static void srcaddrs_add(struct srcaddrs *sa, uint32_t addr)
{
	unsigned i;

	for (i = 0; i < sa->n; i++) {
		if (sa->addr[i] == addr) {
			sa->count[i]++;
			return;
		}
	}
	if (sa->n < MAX_SRCADDRS) {
		sa->addr[sa->n] = addr;
		sa->count[sa->n++] = 1;
		return;
	}
	sa->other++;
}

static void srcaddrs_print(const struct srcaddrs *sa)
{
	char a[INET_ADDRSTRLEN];
	unsigned i;

	printf("srcaddrs=");
	for (i = 0; i < sa->n; i++) {
		inet_ntop(AF_INET, &sa->addr[i], a, sizeof(a));
		printf("%s%s/%" PRIu64, i ? "," : "", a, sa->count[i]);
	}
	if (sa->other)
		printf("%sother/%" PRIu64, sa->n ? "," : "", sa->other);
	printf("\n");
}

static int run_recv(const struct recv_opts *o)
{
	struct mmsghdr *msgs;
	struct iovec *iovs;
	struct sockaddr_in *names;
	uint8_t *bufs, *cbufs;
	const size_t bufsz = 65536;
	uint64_t received = 0, bytes = 0;
	uint32_t sockdrops = 0;
	double start, deadline, first = 0, last = 0;
	char first_src[32] = "-";
	struct srcaddrs sa;
	unsigned i;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	msgs = calloc(o->batch, sizeof(*msgs));
	iovs = calloc(o->batch, sizeof(*iovs));
	names = calloc(o->batch, sizeof(*names));
	bufs = malloc((size_t)o->batch * bufsz);
	cbufs = calloc(o->batch, CMSG_SPACE_OVFL);
	if (!msgs || !iovs || !names || !bufs || !cbufs) {
		fprintf(stderr, "udpblast: out of memory\n");
		return 1;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		fprintf(stderr, "udpblast: socket: %s\n", strerror(errno));
		return 1;
	}
	set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, SOCKBUF_BYTES);
	(void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&o->bind, sizeof(o->bind)) < 0) {
		fprintf(stderr, "udpblast: bind: %s\n", strerror(errno));
		return 1;
	}
	if (o->ready && write_ready(o->ready) < 0) {
		fprintf(stderr, "udpblast: %s: %s\n", o->ready, strerror(errno));
		return 1;
	}

	start = now_mono();
	deadline = start + o->duration;
	while (!stop_flag) {
		double now = now_mono(), wait = deadline - now;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r;

		if (wait <= 0)
			break;
		if (o->count && received >= o->count)
			break;
		if (received && o->idle > 0) {
			double left = last + o->idle - now;

			if (left <= 0)
				break;
			if (left < wait)
				wait = left;
		}
		if (wait > 0.1)
			wait = 0.1;
		r = poll(&pfd, 1, (int)(wait * 1000) + 1);
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "udpblast: poll: %s\n", strerror(errno));
			break;
		}
		if (r <= 0)
			continue;
		for (;;) {
			for (i = 0; i < o->batch; i++) {
				iovs[i].iov_base = bufs + (size_t)i * bufsz;
				iovs[i].iov_len = bufsz;
				msgs[i].msg_hdr.msg_iov = &iovs[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
				msgs[i].msg_hdr.msg_name = &names[i];
				msgs[i].msg_hdr.msg_namelen = sizeof(names[i]);
				msgs[i].msg_hdr.msg_control = cbufs + (size_t)i * CMSG_SPACE_OVFL;
				msgs[i].msg_hdr.msg_controllen = CMSG_SPACE_OVFL;
				msgs[i].msg_hdr.msg_flags = 0;
			}
			r = recvmmsg(fd, msgs, o->batch, MSG_DONTWAIT, NULL);
			if (r <= 0)
				break;
			last = now_mono();
			if (!received) {
				first = last;
				inet_ntop(AF_INET, &names[0].sin_addr, first_src,
					  sizeof(first_src));
				snprintf(first_src + strlen(first_src),
					 sizeof(first_src) - strlen(first_src), ":%u",
					 ntohs(names[0].sin_port));
			}
			for (i = 0; i < (unsigned)r; i++) {
				bytes += msgs[i].msg_len;
				srcaddrs_add(&sa, names[i].sin_addr.s_addr);
			}
			/* The drop counter is cumulative: the last packet's will do. */
			{
				struct msghdr *mh = &msgs[r - 1].msg_hdr;
				struct cmsghdr *c;

				for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
					if (c->cmsg_level == SOL_SOCKET &&
					    c->cmsg_type == SO_RXQ_OVFL)
						memcpy(&sockdrops, CMSG_DATA(c),
						       sizeof(sockdrops));
			}
			received += (uint64_t)r;
			if ((unsigned)r < o->batch ||
			    (o->count && received >= o->count) || stop_flag)
				break;
		}
	}

	{
		double el = received > 1 ? last - first : 0;
		/* n packets span n-1 inter-arrival gaps */
		double pps = el > 0 ? (double)(received - 1) / el : 0;
		double avg = received ? (double)bytes / (double)received : 0;

		printf("mode=recv\n");
		printf("received=%" PRIu64 "\n", received);
		printf("bytes=%" PRIu64 "\n", bytes);
		printf("sockdrops=%" PRIu32 "\n", sockdrops);
		printf("first_src=%s\n", first_src);
		srcaddrs_print(&sa);
		printf("elapsed=%.6f\n", el);
		printf("pps=%.0f\n", pps);
		printf("mbps=%.2f\n", pps * avg * 8 / 1e6);
	}
	close(fd);
	free(cbufs);
	free(bufs);
	free(names);
	free(iovs);
	free(msgs);
	return 0;
}

/* ---- main ------------------------------------------------------------ */

enum {
	OPT_DST = 256, OPT_SRC, OPT_SPORT, OPT_SIZE, OPT_RATE, OPT_COUNT,
	OPT_DURATION, OPT_BATCH, OPT_RAW, OPT_FLOWS, OPT_SPORTS, OPT_BIND,
	OPT_IDLE, OPT_READY, OPT_HELP
};

static const struct option long_opts[] = {
	{ "dst", required_argument, NULL, OPT_DST },
	{ "src", required_argument, NULL, OPT_SRC },
	{ "sport", required_argument, NULL, OPT_SPORT },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "batch", required_argument, NULL, OPT_BATCH },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "flows", required_argument, NULL, OPT_FLOWS },
	{ "sports", required_argument, NULL, OPT_SPORTS },
	{ "bind", required_argument, NULL, OPT_BIND },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "ready", required_argument, NULL, OPT_READY },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static int bad(const char *opt, const char *val)
{
	fprintf(stderr, "udpblast: bad value for --%s: '%s'\n", opt, val);
	return 2;
}

int main(int argc, char **argv)
{
	struct send_opts so;
	struct recv_opts ro;
	struct sigaction sa;
	bool sending, have_dst = false, have_bind = false;
	uint64_t v;
	int c;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "send"))
		sending = true;
	else if (!strcmp(argv[1], "recv"))
		sending = false;
	else {
		usage(stderr);
		return 2;
	}

	memset(&so, 0, sizeof(so));
	so.size = 64;
	so.duration = 10;
	so.batch = 64;
	so.flows = 1;
	so.sport_lo = 1024;
	so.sport_hi = 65535;
	memset(&ro, 0, sizeof(ro));
	ro.duration = 10;
	ro.idle = 1;
	ro.batch = 64;

	optind = 2;
	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		const char *name = NULL;
		int i;

		for (i = 0; long_opts[i].name; i++)
			if (long_opts[i].val == c)
				name = long_opts[i].name;
		switch (c) {
		case OPT_DST:
			if (parse_endpoint(optarg, &so.dst, false) < 0)
				return bad(name, optarg);
			have_dst = true;
			break;
		case OPT_SRC:
			if (inet_pton(AF_INET, optarg, &so.src) != 1)
				return bad(name, optarg);
			so.have_src = true;
			break;
		case OPT_SPORT:
			if (parse_u64(optarg, 65535, &v) < 0)
				return bad(name, optarg);
			so.sport = (uint16_t)v;
			break;
		case OPT_SIZE:
			if (parse_u64(optarg, MAX_PAYLOAD, &so.size) < 0)
				return bad(name, optarg);
			break;
		case OPT_RATE:
			if (parse_double(optarg, 0, 1e9, &so.rate) < 0)
				return bad(name, optarg);
			break;
		case OPT_COUNT:
			if (parse_u64(optarg, UINT64_MAX, &v) < 0)
				return bad(name, optarg);
			so.count = ro.count = v;
			break;
		case OPT_DURATION:
			if (parse_double(optarg, 0.001, MAX_DURATION, &so.duration) < 0)
				return bad(name, optarg);
			ro.duration = so.duration;
			break;
		case OPT_BATCH:
			if (parse_u64(optarg, MAX_BATCH, &v) < 0 || v == 0)
				return bad(name, optarg);
			so.batch = ro.batch = (unsigned)v;
			break;
		case OPT_RAW:
			so.raw = true;
			break;
		case OPT_FLOWS:
			if (parse_u64(optarg, 1u << 24, &so.flows) < 0 || so.flows == 0)
				return bad(name, optarg);
			break;
		case OPT_SPORTS: {
			unsigned lo, hi;
			char tail;

			if (sscanf(optarg, "%u-%u%c", &lo, &hi, &tail) != 2 || lo == 0 ||
			    lo > hi || hi > 65535)
				return bad(name, optarg);
			so.sport_lo = (uint16_t)lo;
			so.sport_hi = (uint16_t)hi;
			break;
		}
		case OPT_BIND:
			if (parse_endpoint(optarg, &ro.bind, true) < 0)
				return bad(name, optarg);
			have_bind = true;
			break;
		case OPT_IDLE:
			if (parse_double(optarg, 0, MAX_DURATION, &ro.idle) < 0)
				return bad(name, optarg);
			break;
		case OPT_READY:
			ro.ready = optarg;
			break;
		case 'h':
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "udpblast: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: blocking calls return EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

	if (sending) {
		if (!have_dst) {
			fprintf(stderr, "udpblast: send needs --dst ADDR:PORT\n");
			return 2;
		}
		if (so.flows > 1)
			so.raw = true;
		if (so.raw && so.sport) {
			/* a fixed source port is the one-flow case of --sports */
			if (so.flows > 1) {
				fprintf(stderr, "udpblast: --sport and --flows exclude each other\n");
				return 2;
			}
			so.sport_lo = so.sport_hi = so.sport;
		}
		return run_send(&so);
	}
	if (!have_bind) {
		fprintf(stderr, "udpblast: recv needs --bind ADDR:PORT\n");
		return 2;
	}
	return run_recv(&ro);
}
