/* natd: command line, then wiring: load the config, set up while
 * privileged, drop privileges, announce readiness (pidfile), run. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "priv.h"

static const struct option long_opts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: natd [-fndhV] [-c FILE] [-p PIDFILE] [-s SOCKET]\n"
		"  -c FILE     configuration file (default " NATEDGE_SYSCONFDIR "/natd.conf)\n"
		"  -n          check the configuration and exit\n"
		"  -f          stay in the foreground, log to stderr\n"
		"  -d          debug logging\n"
		"  -p PIDFILE  write the pid here once ready (overrides the config)\n"
		"  -s SOCKET   control socket path (overrides control.socket)\n"
		"  -h, --help  this help\n"
		"  -V, --version\n"
		"              print the version and exit\n");
}

int main(int argc, char **argv)
{
	const char *conf_path = NATEDGE_SYSCONFDIR "/natd.conf", *pidfile = NULL, *sock = NULL;
	bool check = false, fg = false, debug = false;
	struct natd_conf conf;
	struct natd *n = NULL;
	int opt, pidfd = -1, rc = 1;

	while ((opt = getopt_long(argc, argv, "c:fndp:s:hV", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf_path = optarg; break;
		case 'f': fg = true; break;
		case 'n': check = true; break;
		case 'd': debug = true; break;
		case 'p': pidfile = optarg; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("natd %s\n", PACKAGE_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* A control client that hangs up while natd writes to it (OpenSSL
	 * writes with write(): an alert, a close_notify) must cost an EPIPE,
	 * not natd. */
	signal(SIGPIPE, SIG_IGN);
	log_open("natd", debug ? LOG_DEBUG : LOG_INFO, false);
	if (conf_load(conf_path, &conf, stderr) < 0) {
		fprintf(stderr, "natd: %s: configuration has errors\n", conf_path);
		return 1;
	}
	if (check) {
		printf("natd: %s: configuration OK\n", conf_path);
		conf_free(&conf);
		return 0;
	}
	if (!pidfile)
		pidfile = conf.pidfile;
	if (sock) {
		if (strlen(sock) >= sizeof(conf.ctl_socket)) {
			fprintf(stderr, "natd: -s %s: path too long\n", sock);
			conf_free(&conf);
			return 2;
		}
		snprintf(conf.ctl_socket, sizeof(conf.ctl_socket), "%s", sock);
	}
	log_open("natd", debug ? LOG_DEBUG : conf.log_level, conf.log_syslog || !fg);

	if (conf.state_file[0] && priv_state_dir(conf.state_file, conf.user) < 0)
		goto out;
	if (natd_setup(&conf, &n) < 0)
		goto out;
	natd_set_reload(n, conf_path, debug, sock); /* SIGHUP; before daemon() changes directory */
	if (!fg && daemon(0, 0) < 0) {
		log_err("daemon: %s", strerror(errno));
		goto out;
	}
	if (*pidfile && (pidfd = priv_pidfile_open(pidfile)) < 0)
		goto out;
	if (priv_drop(conf.user) < 0)
		goto out;
	if (conf.state_file[0] && !priv_dir_writable(conf.state_file)) {
		log_err("state file %s: its directory is not writable by %s (make it %s's, or "
			"remove it and natd makes it)", conf.state_file, conf.user, conf.user);
		goto out;
	}
	priv_pidfile_ready(&pidfd);
	log_notice("running as %s", conf.user);
	notify_sendf("READY=1\nSTATUS=running as %s", conf.user); /* systemd Type=notify */
	rc = natd_run(n) < 0 ? 1 : 0;
	notify_send("STOPPING=1");
	if (*pidfile)
		unlink(pidfile); /* best effort: the directory may not be ours any more */
out:
	if (pidfd >= 0)
		close(pidfd);
	natd_free(n);
	conf_free(&conf);
	return rc;
}
