/* natctl: natd's control channel from the command line.
 *
 * Wiring only: cli.c turns argv into request structs, the blocking client
 * carries them, fmt.c prints the replies. Exit status: 0 done, 1 natd
 * refused (status and reason on stderr), 2 bad command line, 3 connection
 * or protocol error.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcontrol/client.h>

#include "cli.h"
#include "fmt.h"

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define EXIT_CONN 3
#define REQ_TIMEOUT_MS 10000

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	if (stop) {
		/* A second ^C: the default action, now. */
		signal(sig, SIG_DFL);
		raise(sig);
	}
	stop = 1;
}

static int conn_error(const char *what, int err)
{
	fprintf(stderr, "natctl: %s: %s\n", what, nc_strerror(err));
	return EXIT_CONN;
}

/* natd said no: the reason on stderr, and as JSON on stdout if asked. */
static int refused(const struct cli *c, const struct nc_status *st)
{
	fprintf(stderr, "natctl: %s: ", c->cmd_name);
	fmt_status(stderr, st, false);
	if (c->json)
		fmt_status(stdout, st, true);
	return EXIT_REFUSED;
}

static int open_client(const struct cli *c, struct nc_client **cl)
{
	char name[64], where[300];
	uint8_t secret[NC_SECRET_MAX];
	size_t slen = 0;
	int r;

	if (c->name)
		snprintf(name, sizeof(name), "%s", c->name);
	else
		snprintf(name, sizeof(name), "natctl %s", PACKAGE_VERSION);
	if (!c->tcp) {
		r = nc_client_open_unix(c->socket, name, cl);
		snprintf(where, sizeof(where), "%s", c->socket ? c->socket : NC_CTL_SOCKET);
	} else {
		if ((r = nc_secret_read(c->secret_file, secret, sizeof(secret), &slen)) < 0) {
			fprintf(stderr, "natctl: secret file %s: %s\n", c->secret_file,
				nc_strerror(r));
			return EXIT_CONN;
		}
		r = nc_client_open_tcp(c->host, c->port, name, secret, slen, cl);
		explicit_bzero(secret, sizeof(secret));
		snprintf(where, sizeof(where), "%s%s%s:%u", strchr(c->host, ':') ? "[" : "", c->host,
			 strchr(c->host, ':') ? "]" : "", c->port);
	}
	if (r == -EACCES) {
		/* natd answered, and said no: a refusal (exit 1), not a connection error */
		fprintf(stderr, "natctl: natd at %s: NOT_AUTHORIZED: %s\n", where,
			c->tcp ? "authentication failed" : "not a control client (control.clients)");
		return EXIT_REFUSED;
	}
	if (r < 0) {
		fprintf(stderr, "natctl: cannot talk to natd at %s: %s\n", where, nc_strerror(r));
		return EXIT_CONN;
	}
	return 0;
}

struct list_ctx {
	const struct cli *c;
	unsigned n;
};

static void list_item(void *arg, const struct nc_item *it)
{
	struct list_ctx *l = arg;

	if (!l->c->json && l->n++ == 0)
		fmt_list_head(stdout);
	fmt_item(stdout, it, l->c->json);
}

struct watch_ctx {
	const struct cli *c;
	unsigned n;
};

static int watch_event(void *arg, const struct nc_event *ev)
{
	struct watch_ctx *w = arg;

	fmt_event_line(stdout, ev, w->c->json);
	fflush(stdout);
	return stop || (w->c->count && ++w->n >= w->c->count);
}

static int run(const struct cli *c, struct nc_client *cl)
{
	union {
		struct nc_bind_r bind;
		struct nc_refresh_r refresh;
		struct nc_status status;
		struct nc_list_r list;
		struct nc_caps_r caps;
	} rep;
	uint64_t epoch = c->epoch ? c->epoch : nc_client_epoch(cl);
	int r;

	switch (c->cmd) {
	case CLI_BIND:
		if ((r = nc_client_bind(cl, &c->bind, &rep.bind, REQ_TIMEOUT_MS)) < 0)
			break;
		if (rep.bind.st.code != NC_ST_OK)
			return refused(c, &rep.bind.st);
		fmt_bind_r(stdout, &rep.bind, c->json);
		return 0;
	case CLI_REFRESH: {
		struct nc_refresh q = {.epoch = epoch, .id = c->id, .lifetime = c->lifetime};

		if ((r = nc_client_refresh(cl, &q, &rep.refresh, REQ_TIMEOUT_MS)) < 0)
			break;
		if (rep.refresh.st.code != NC_ST_OK)
			return refused(c, &rep.refresh.st);
		fmt_refresh_r(stdout, c->id, &rep.refresh, c->json);
		return 0;
	}
	case CLI_RELEASE: {
		struct nc_release q = {.epoch = epoch, .id = c->id};

		if ((r = nc_client_release(cl, &q, &rep.status, REQ_TIMEOUT_MS)) < 0)
			break;
		if (rep.status.code != NC_ST_OK)
			return refused(c, &rep.status);
		fmt_release_r(stdout, c->id, &rep.status, c->json);
		return 0;
	}
	case CLI_LIST: {
		struct list_ctx l = {c, 0};

		if ((r = nc_client_list(cl, &c->list, list_item, &l, &rep.list, REQ_TIMEOUT_MS)) < 0)
			break;
		if (rep.list.st.code != NC_ST_OK)
			return refused(c, &rep.list.st);
		if (!c->json && l.n == 0)
			fmt_list_head(stdout);
		return 0;
	}
	case CLI_STATS:
	case CLI_HA: { /* both answer counters */
		struct nc_stats_r *st = malloc(sizeof(*st));

		if (!st)
			return conn_error(c->cmd_name, -ENOMEM);
		r = c->cmd == CLI_HA ? nc_client_ha(cl, c->ha_op, st, REQ_TIMEOUT_MS)
				     : nc_client_stats(cl, st, REQ_TIMEOUT_MS);
		if (r == 0) {
			if (st->st.code != NC_ST_OK)
				r = refused(c, &st->st);
			else
				fmt_stats(stdout, st, c->json);
		}
		free(st);
		if (r >= 0)
			return r;
		break;
	}
	case CLI_CAPS:
		if ((r = nc_client_caps(cl, &rep.caps, REQ_TIMEOUT_MS)) < 0)
			break;
		if (rep.caps.st.code != NC_ST_OK)
			return refused(c, &rep.caps.st);
		fmt_caps(stdout, &rep.caps, nc_client_server(cl), c->json);
		return 0;
	case CLI_WATCH: {
		struct watch_ctx w = {c, 0};
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal; /* no SA_RESTART: the wait returns -EINTR */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		r = nc_client_watch(cl, &c->watch, watch_event, &w, &rep.status,
				    c->timeout_s * 1000u);
		if (r == -EINTR || r == -ETIMEDOUT)
			return 0; /* stopped by a signal or --timeout: a normal end */
		if (r < 0)
			break;
		if (rep.status.code != NC_ST_OK)
			return refused(c, &rep.status);
		return 0;
	}
	default:
		return EXIT_USAGE;
	}
	return conn_error(c->cmd_name, r);
}

int main(int argc, char **argv)
{
	static struct cli c; /* large: off the stack */
	struct nc_client *cl;
	char err[256];
	int r;

	switch (cli_parse(argc, argv, &c, err, sizeof(err))) {
	case CLI_HELP:
		fputs(cli_usage(), stdout);
		return 0;
	case CLI_VERSION:
		printf("natctl %s\n", PACKAGE_VERSION);
		return 0;
	case 0:
		break;
	default:
		fprintf(stderr, "natctl: %s\nTry 'natctl --help'.\n", err);
		return EXIT_USAGE;
	}
	if ((r = open_client(&c, &cl)) != 0)
		return r;
	r = run(&c, cl);
	nc_client_close(cl);
	if (fflush(stdout) != 0 && r == 0) {
		perror("natctl: stdout");
		r = EXIT_CONN;
	}
	return r;
}
