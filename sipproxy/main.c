/* sipproxy: command line, then wiring: load the config, open the
 * transports and the natd connections, drop privileges, announce
 * readiness (pidfile), run the event loop until SIGTERM or SIGINT.
 * SIGUSR1 writes the status view (counters, registrations, calls and
 * their bindings) to the log; SIGHUP reloads the configuration (see
 * proxy_reload() for what may change). With state.file, the state is
 * restored before serving and saved from the privilege drop on; SIGTERM
 * then leaves the calls' bindings to the next start (proxy_shutdown()).
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "priv.h"
#include "proxy.h"
#include "reload.h"
#include "transport.h"
#include "sip/sip_alloc.h"
#include "sip/sip_msg.h"
#include "sp_conf.h"
#include "sp_metrics.h"
#include "status.h"

/* The free lists of sip_alloc keep freed blocks allocated as far as ASan
 * and valgrind know, which would hide a use after free from the sanitizer
 * builds and the valgrind runs: those run on plain malloc. */
#if defined(__SANITIZE_ADDRESS__)
#define SP_HEAP_CHECKED() 1
#elif defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define SP_HEAP_CHECKED() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef SP_HEAP_CHECKED
#define SP_HEAP_CHECKED() 0
#endif

static const struct option long_opts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"status", no_argument, NULL, 'S'},
	{"ha1", no_argument, NULL, 'H'},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sipproxy [-fndhV] [-c FILE] [-p PIDFILE]\n"
		"       sipproxy -S [-c FILE] [ha promote|demote|status]\n"
		"       sipproxy -H USER REALM < password\n"
		"  -c FILE     configuration file (default " NATEDGE_SYSCONFDIR "/sipproxy.conf)\n"
		"  -n          check the configuration and exit\n"
		"  -f          stay in the foreground, log to stderr\n"
		"  -d          debug logging\n"
		"  -p PIDFILE  write the pid here once ready (overrides the config)\n"
		"  -S, --status\n"
		"              print the running proxy's status view (calls, their\n"
		"              bindings, registrations, counters) from status_socket;\n"
		"              with ha promote|demote|status: change or show its HA role\n"
		"              (ha.* in the configuration; keepalived's notify hook)\n"
		"  -H, --ha1 USER REALM\n"
		"              print the users-file line (auth.users_file) of USER in\n"
		"              REALM, the password read from the first line of stdin\n"
		"  -h, --help  this help\n"
		"  -V, --version\n"
		"              print the version and exit\n");
}

/* -H USER REALM: the users-file line, the password from stdin's first
 * line (so it shows in no process list or shell history). */
static int print_ha1(const char *user, const char *realm)
{
	char pw[1024], line[AUTH_NAME_MAX + SPC_HOST_MAX + 2 * DIGEST_HEX_MAX + 8];
	size_t n;
	int rc;

	if (!fgets(pw, sizeof(pw), stdin)) {
		fprintf(stderr, "sipproxy: -H: no password on standard input\n");
		return 2;
	}
	n = strlen(pw);
	if (n && pw[n - 1] != '\n' && !feof(stdin)) {
		fprintf(stderr, "sipproxy: -H: password longer than %zu bytes\n", sizeof(pw) - 2);
		return 2;
	}
	while (n && (pw[n - 1] == '\n' || pw[n - 1] == '\r'))
		pw[--n] = '\0';
	if (!n) {
		fprintf(stderr, "sipproxy: -H: empty password\n");
		return 2;
	}
	rc = auth_users_line(user, realm, pw, line, sizeof(line));
	memset(pw, 0, sizeof(pw));
	if (rc < 0) {
		fprintf(stderr, "sipproxy: -H: %s\n",
			rc == -EINVAL ? "USER must be 1..63 characters of a SIP user part (no ':' '@' "
					"spaces or quotes), REALM must have no control character, '\"', "
					"'\\' or ':'"
				      : strerror(-rc));
		return 2;
	}
	printf("%s\n", line);
	return 0;
}

static void status_line(void *arg, const char *line)
{
	(void)arg;
	log_notice("status: %s", line);
}

struct run {
	struct event_base *base;
	struct proxy *proxy;
	const char *conf_path;
	bool debug;
};

static int reload_load(void *arg, const char *path, void *fresh, FILE *errs)
{
	(void)arg;
	return sp_conf_load(path, fresh, errs);
}

/* A clean file: proxy_reload takes what may change under live calls. */
static void reload_take(void *arg, void *fresh)
{
	struct run *r = arg;
	struct sp_conf *c = fresh;

	if (proxy_reload(r->proxy, c) == 0 && !r->debug)
		log_level = c->log_level;
}

/* SIGHUP: load the file again (reload_run: problems go to the log, one
 * line each). */
static void on_hup(void *arg)
{
	struct run *r = arg;

	reload_run(r->conf_path, sizeof(struct sp_conf), reload_load, reload_take, r);
}

/* SIGUSR1: the status view to the log. */
static void on_usr1(void *arg)
{
	struct run *r = arg;

	proxy_status(r->proxy, status_line, NULL);
}

int main(int argc, char **argv)
{
	const char *conf_path = NATEDGE_SYSCONFDIR "/sipproxy.conf", *pidfile = NULL;
	struct reload_signals *sigs = NULL;
	bool check = false, fg = false, debug = false;
	struct run r = {NULL, NULL, NULL, false};
	struct status_srv *status = NULL;
	struct metrics_srv *metrics = NULL;
	bool query = false, ha1 = false;
	const char *ha_cmd = NULL;   /* -S ha CMD */
	struct sp_conf *conf;
	int opt, pidfd = -1, rc = 1;

	while ((opt = getopt_long(argc, argv, "c:fndp:hVSH", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf_path = optarg; break;
		case 'f': fg = true; break;
		case 'n': check = true; break;
		case 'd': debug = true; break;
		case 'p': pidfile = optarg; break;
		case 'S': query = true; break;
		case 'H': ha1 = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("sipproxy %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (ha1) {
		if (argc - optind != 2) {
			usage(stderr);
			return 2;
		}
		return print_ha1(argv[optind], argv[optind + 1]);
	}
	if (query && argc - optind == 2 && !strcmp(argv[optind], "ha"))
		ha_cmd = argv[optind + 1];
	else if (optind != argc) {
		usage(stderr);
		return 2;
	}
	r.conf_path = conf_path;
	r.debug = debug;
	log_open("sipproxy", debug ? LOG_DEBUG : LOG_INFO, false);
	if (!(conf = calloc(1, sizeof(*conf))))
		return 1;
	if (sp_conf_load(conf_path, conf, stderr) < 0) {
		fprintf(stderr, "sipproxy: %s: configuration has errors\n", conf_path);
		free(conf);
		return 1;
	}
	if (check) {
		char err[512];

		/* the TLS files: exist, key private, key matches cert, CA loads */
		if (tp_check_tls(conf, err, sizeof(err)) < 0) {
			fprintf(stderr, "sipproxy: %s: %s\n", conf_path, err);
			free(conf);
			return 1;
		}
		printf("sipproxy: %s: configuration OK\n", conf_path);
		free(conf);
		return 0;
	}
	if (query) {
		if (!conf->status_socket[0]) {
			fprintf(stderr, "sipproxy: %s sets no status_socket\n", conf_path);
			free(conf);
			return 2;
		}
		char cmd[64] = "";

		if (ha_cmd) {
			if (strcmp(ha_cmd, "promote") && strcmp(ha_cmd, "demote") && strcmp(ha_cmd, "status")) {
				fprintf(stderr, "sipproxy: -S ha: promote, demote or status\n");
				free(conf);
				return 2;
			}
			snprintf(cmd, sizeof(cmd), "ha %s", ha_cmd);
		}
		/* a reader that goes away (| head) or a proxy that closes
		 * first is an error with a message, never death by SIGPIPE */
		signal(SIGPIPE, SIG_IGN);
		rc = status_query(conf->status_socket, cmd[0] ? cmd : NULL, stdout);
		if (rc == -EPROTO) {
			free(conf);
			return 1; /* refused: its reason is printed */
		}
		if (rc == -EPIPE || rc == -ECONNABORTED)
			fprintf(stderr, "sipproxy: %s: the proxy closed the connection %s (busy or stopping?)%s\n",
				conf->status_socket, rc == -EPIPE ? "before reading the command" : "without answering",
				!cmd[0] ? "" : rc == -EPIPE ? ": nothing was done, try again" : ": check with 'ha status'");
		else if (rc < 0)
			fprintf(stderr, "sipproxy: %s: %s\n", conf->status_socket, strerror(-rc));
		free(conf);
		return rc < 0 ? 3 : 0;
	}
	if (!pidfile)
		pidfile = conf->pidfile;
	log_open("sipproxy", debug ? LOG_DEBUG : conf->log_level, conf->log_syslog || !fg);
	if (sip_msg_init() < 0) {
		log_err("libosip2 initialisation failed");
		goto out;
	}
	/* libosip2's many small blocks from per-thread free lists
	 * (sip/sip_alloc.c): 0.42 -> 0.33 CPU ms per call at
	 * 1,500 calls/s in tests/bench/sip (issue 15) */
	if (!SP_HEAP_CHECKED())
		(void)sip_alloc_install(0);
	/* glibc: keep up to 16 MB free at the heap's top and grow it 4 MB at
	 * a time, and a fixed mmap threshold (no dynamic one moving the trim
	 * threshold). At 1,500 calls/s the defaults made ~47 brk() a second,
	 * these 1 in 3 s (strace -c). Measured with 64 MB/16 MB: 0.31 -> 0.30
	 * ms/call, median of 4 runs each (within the noise), peak RSS +2 MB.
	 * M_MXFAST 160 gained nothing and is left alone. */
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
	mallopt(M_TOP_PAD, 4 << 20);
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
	signal(SIGPIPE, SIG_IGN);
	if (!fg && daemon(0, 0) < 0) {
		log_err("daemon: %s", strerror(errno));
		goto out;
	}
	if (!(r.base = event_base_new())) {
		log_err("event_base_new failed");
		goto out;
	}
	if (proxy_new(r.base, conf, &r.proxy) < 0)
		goto out;
	if (conf->status_socket[0] && !(status = status_open(r.base, conf->status_socket, r.proxy)))
		goto out;
	if (conf->metrics_listen[0] &&
	    metrics_start(r.base, conf->metrics_listen, sp_metrics_write, r.proxy, &metrics) < 0)
		goto out;
	if (!(sigs = reload_signals_new(r.base, on_hup, on_usr1, &r)))
		goto out;
	if (*pidfile && (pidfd = priv_pidfile_open(pidfile)) < 0)
		goto out;
	/* "root" keeps root (tests); any other user is dropped to */
	if (getuid() == 0 && strcmp(conf->user, "root") && priv_drop(conf->user) < 0)
		goto out;
	/* state.file: written from now on by the user it runs as */
	if (proxy_state_open(r.proxy) < 0)
		goto out;
	priv_pidfile_ready(&pidfd);
	log_notice("ready: %u listen address%s, %u natd%s, running as %s", conf->nlisten,
		   conf->nlisten == 1 ? "" : "es", conf->nnats, conf->nnats == 1 ? "" : "s",
		   getuid() == 0 ? "root" : conf->user);
	notify_sendf("READY=1\nSTATUS=%u listen addresses, %u natds", conf->nlisten, conf->nnats);
	event_base_dispatch(r.base);
	notify_send("STOPPING=1");
	proxy_shutdown(r.proxy);
	rc = 0;
	if (*pidfile)
		unlink(pidfile);
out:
	if (pidfd >= 0)
		close(pidfd);
	reload_signals_free(sigs);
	status_close(status);
	metrics_stop(metrics);
	proxy_free(r.proxy);
	if (r.base)
		event_base_free(r.base);
	free(conf);
	return rc;
}
