/* tunloop: the bare TUN loop, the datapath benchmark's reference.
 *
 * Opens a TUN through natd's own tun module, then: wait until readable,
 * read a batch, write every packet back unchanged. The kernel routes what
 * comes back (with iif = the TUN), so with the policy routing natd uses the
 * packets continue to their destination untranslated. That is natd's
 * datapath minus the translation: the cost floor for any TUN forwarder.
 *
 *   tunloop [-n NAME] [-m MTU] [-q TXQUEUELEN] [-b BATCH] [-p PIDFILE]
 *
 * The pidfile is written once the TUN is up; SIGTERM or SIGINT stops the
 * loop, and the counters are printed as key=value lines on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tun.h"

#define BUF_CAP 65536
#define MAX_BATCH 1024

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fputs("usage: tunloop [-n NAME] [-m MTU] [-q TXQUEUELEN] [-b BATCH] [-p PIDFILE]\n"
	      "  -n NAME         TUN device (default bdtun0; \"\" lets the kernel pick)\n"
	      "  -m MTU          default 1500\n"
	      "  -q TXQUEUELEN   TUN transmit queue length (default 5000)\n"
	      "  -b BATCH        packets per tun_recv() (default 64)\n"
	      "  -p PIDFILE      written once the TUN is up\n"
	      "Reads packets from the TUN and writes each back unchanged until\n"
	      "SIGTERM/SIGINT, then prints rx=, tx=, tx_errors= lines.\n",
	      f);
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

static int write_pidfile(const char *path)
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
		unlink(tmp);
		return -1;
	}
	close(fd);
	return rename(tmp, path); /* atomic: a poller never sees a partial file */
}

int main(int argc, char **argv)
{
	const char *name = "bdtun0", *pidfile = NULL, *what = "?";
	char ifname[IFNAMSIZ];
	int mtu = 1500, qlen = 5000, batch = 64;
	struct tun_buf *bufs;
	struct tun *t = NULL;
	struct sigaction sa;
	uint64_t rx = 0, tx = 0, tx_err = 0, rx_err = 0, wakeups = 0;
	int c, i, r, rc = 0;

	while ((c = getopt(argc, argv, "n:m:q:b:p:h")) != -1) {
		switch (c) {
		case 'n':
			name = optarg;
			break;
		case 'm':
			if (parse_int(optarg, 576, 65535, &mtu) < 0) {
				fprintf(stderr, "tunloop: bad MTU '%s'\n", optarg);
				return 2;
			}
			break;
		case 'q':
			if (parse_int(optarg, 0, 1 << 20, &qlen) < 0) {
				fprintf(stderr, "tunloop: bad txqueuelen '%s'\n", optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_int(optarg, 1, MAX_BATCH, &batch) < 0) {
				fprintf(stderr, "tunloop: bad batch '%s'\n", optarg);
				return 2;
			}
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	bufs = calloc((size_t)batch, sizeof(*bufs));
	if (!bufs) {
		fprintf(stderr, "tunloop: out of memory\n");
		return 1;
	}
	for (i = 0; i < batch; i++) {
		bufs[i].data = malloc(BUF_CAP);
		bufs[i].cap = BUF_CAP;
		if (!bufs[i].data) {
			fprintf(stderr, "tunloop: out of memory\n");
			return 1;
		}
	}

	memset(ifname, 0, sizeof(ifname));
	r = tun_open(name, mtu, qlen, &t, ifname, &what);
	if (r < 0) {
		fprintf(stderr, "tunloop: tun_open(%s): %s: %s\n", name, what, strerror(-r));
		return 1;
	}
	if (pidfile && write_pidfile(pidfile) < 0) {
		fprintf(stderr, "tunloop: %s: %s\n", pidfile, strerror(errno));
		tun_close(t);
		return 1;
	}
	fprintf(stderr, "tunloop: %s up (mtu %d, txqueuelen %d, batch %d)\n", ifname,
		mtu, qlen, batch);

	while (!stop_flag) {
		struct pollfd pfd = { .fd = tun_fd(t), .events = POLLIN };

		r = poll(&pfd, 1, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tunloop: poll: %s\n", strerror(errno));
			rc = 1;
			break;
		}
		wakeups++;
		/* Drain: batches until the TUN reports nothing waiting. */
		while (!stop_flag) {
			int n = tun_recv(t, bufs, batch);

			if (n == -EINTR)
				continue;
			if (n < 0) {
				/* e.g. -EIO while the device goes down: count, re-poll */
				rx_err++;
				break;
			}
			if (n == 0)
				break;
			rx += (uint64_t)n;
			for (i = 0; i < n; i++) {
				if (tun_send(t, bufs[i].data, bufs[i].len) == 0)
					tx++;
				else
					tx_err++;
			}
			if (n < batch)
				break;
		}
		if (rx_err > 1000) {
			fprintf(stderr, "tunloop: too many read errors, giving up\n");
			rc = 1;
			break;
		}
	}

	printf("rx=%" PRIu64 "\n", rx);
	printf("tx=%" PRIu64 "\n", tx);
	printf("tx_errors=%" PRIu64 "\n", tx_err);
	printf("rx_errors=%" PRIu64 "\n", rx_err);
	printf("wakeups=%" PRIu64 "\n", wakeups);
	tun_close(t);
	if (pidfile)
		unlink(pidfile);
	for (i = 0; i < batch; i++)
		free(bufs[i].data);
	free(bufs);
	return rc;
}
