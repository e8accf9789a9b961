/* route: install the TUN's routes and policy rules (see route.h).
 *
 * Each command is spawned directly (no shell) and waited for; sysctls are
 * written through /proc/sys. A restart finds its rules in place: a rule
 * is added only when missing, and only extra copies are deleted, so there
 * is never a moment without one (inside traffic would take the main table
 * untranslated).
 */
#include "route.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

extern char **environ;

/* Fail closed: these routes outlive the TUN, so when natd is gone inside
 * traffic is refused and pool traffic dropped instead of being forwarded
 * untranslated by the main table. */
#define WORST_METRIC "4294967295"


static const char *ip_path(void)
{
	static const char *const cand[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
	for (size_t i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (access(cand[i], X_OK) == 0)
			return cand[i];
	return NULL;
}

/* Run ip with argv; quiet: failures are expected. With lines non-NULL,
 * its output is read and *lines is the number of lines it printed. */
static int run_ip_out(char *const argv[], bool quiet, int *lines)
{
	const char *ip = ip_path();
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, err, pfd[2] = {-1, -1};

	if (!ip) {
		log_err("routes: iproute2's ip not found");
		return -1;
	}
	if (lines && pipe2(pfd, O_CLOEXEC) < 0) {
		log_err("routes: pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	if (quiet)
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (lines)
		posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
	err = posix_spawn(&pid, ip, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (lines) {
		char buf[512];
		ssize_t n;
		close(pfd[1]);
		*lines = 0;
		while (!err && ((n = read(pfd[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)))
			for (ssize_t i = 0; i < n; i++)
				*lines += buf[i] == '\n';
		close(pfd[0]);
	}
	if (err) {
		log_err("routes: spawn %s: %s", ip, strerror(err));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		if (!quiet) {
			char cmd[256] = "";
			for (int i = 0; argv[i]; i++) {
				strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 2);
				strncat(cmd, " ", sizeof(cmd) - strlen(cmd) - 1);
			}
			log_err("routes: command failed: %s", cmd);
		}
		return -1;
	}
	return 0;
}

static int run_ip(char *const argv[], bool quiet)
{
	return run_ip_out(argv, quiet, NULL);
}

static int write_sysctl(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(val, f) < 0 || fclose(f) != 0) {
		log_err("routes: cannot write %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	return 0;
}

/* Route pool prefixes into the TUN, with a blackhole behind each. */
static int route_pool(const struct prefix *pfx, unsigned n, const char *tun)
{
	char s[24];

	for (unsigned i = 0; i < n; i++) {
		const uint8_t *a = (const uint8_t *)&pfx[i].addr;
		snprintf(s, sizeof(s), "%u.%u.%u.%u/%u", a[0], a[1], a[2], a[3], pfx[i].len);
		char *argv[] = {"ip", "route", "replace", s, "dev", (char *)tun, NULL};
		char *hole[] = {"ip", "route", "replace", "blackhole", s, "metric", WORST_METRIC, NULL};
		if (run_ip(argv, false) < 0 || run_ip(hole, false) < 0)
			return -1;
	}
	return 0;
}

int route_install(const struct natd_conf *c, const char *tun)
{
	char table[16], path[128];

	snprintf(table, sizeof(table), "%d", c->routes_table);
	if (write_sysctl("/proc/sys/net/ipv4/ip_forward", "1") < 0 ||
	    write_sysctl("/proc/sys/net/ipv4/conf/all/rp_filter", "0") < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/rp_filter", tun);
	if (write_sysctl(path, "0") < 0)
		return -1;
	/* ICMP errors the box itself sent (TTL exceeded, fragmentation needed
	 * after natd's rewrite) come back out of the TUN with a local source
	 * address: without accept_local the kernel drops them as martians and
	 * traceroute and path-MTU discovery break. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/accept_local", tun);
	if (write_sysctl(path, "1") < 0)
		return -1;
	/* pool prefixes, transit pools' too, go to the TUN */
	for (unsigned r = 0; r < c->nrealms; r++) {
		const struct conf_realm *cr = &c->realms[r];
		if (route_pool(cr->pool, cr->npool, tun) < 0)
			return -1;
		for (unsigned k = 0; k < cr->ntransits; k++)
			if (route_pool(cr->transits[k].pool, cr->transits[k].npool, tun) < 0)
				return -1;
	}
	for (unsigned i = 0; i < c->nroutes_dev_prefixes; i++) {
		char *argv[] = {"ip", "route", "replace", (char *)c->routes_dev_prefixes[i], "dev",
				(char *)tun, NULL};
		if (run_ip(argv, false) < 0)
			return -1;
	}
	if (c->nroutes_iifs) {
		char *dflt[] = {"ip", "route", "replace", "default", "dev", (char *)tun, "table",
				table, NULL};
		char *deny[] = {"ip", "route", "replace", "prohibit", "default", "table", table,
				"metric", WORST_METRIC, NULL};
		if (run_ip(dflt, false) < 0 || run_ip(deny, false) < 0)
			return -1;
	}
	for (unsigned i = 0; i < c->nroutes_iifs; i++) {
		char *iif = (char *)c->routes_iifs[i];
		char *list[] = {"ip", "rule", "list", "iif", iif, "lookup", table, NULL};
		char *del[] = {"ip", "rule", "del", "iif", iif, "lookup", table, NULL};
		char *add[] = {"ip", "rule", "add", "iif", iif, "lookup", table, NULL};
		int have = 0;
		if (run_ip_out(list, true, &have) < 0)
			have = 0;
		if (have == 0 && run_ip(add, false) < 0)
			return -1;
		for (int k = 1; k < have && k < 16; k++)
			run_ip(del, true); /* copies stacked by older versions: one stays */
	}
	log_info("routes installed on %s (table %s, %u inside interfaces)", tun, table,
		 c->nroutes_iifs);
	return 0;
}
