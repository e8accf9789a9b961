/* cli: natctl's command line, parsed into the structs of libcontrol/msg.h.
 *
 * A pure function of argv: no getopt (its state is global), no output, no
 * exit; errors come back as a message. natctl.c only wires this to the
 * client library, so the tests can check every option's mapping.
 */
#ifndef NC_CLI_H
#define NC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libcontrol/msg.h>

enum cli_cmd {
	CLI_NONE = 0,
	CLI_BIND,
	CLI_REFRESH,
	CLI_RELEASE,
	CLI_LIST,
	CLI_STATS,
	CLI_CAPS,
	CLI_WATCH,
	CLI_HA,
};

/* cli_parse() results besides 0. */
#define CLI_HELP 1    /* print the usage and exit 0 */
#define CLI_VERSION 2 /* print the version and exit 0 */
#define CLI_USAGE (-1) /* bad command line: err says why, exit 2 */

struct cli {
	const char *socket;      /* -s, NULL: the default */
	bool tcp;                /* -t given */
	char host[256];          /* -t HOST */
	uint16_t port;           /* -t :PORT */
	const char *secret_file; /* -k */
	const char *name;        /* -n: the name natctl gives in HELLO (TCP: the client's name) */
	bool json;
	enum cli_cmd cmd;
	const char *cmd_name;
	struct nc_bind bind;     /* bind */
	uint32_t id;             /* refresh, release */
	uint32_t lifetime;       /* refresh: 0 = natd's default */
	uint64_t epoch;          /* refresh, release: 0 = the connection's */
	struct nc_list list;     /* list */
	struct nc_watch watch;   /* watch */
	unsigned count;          /* watch: stop after this many events (0: never) */
	unsigned timeout_s;      /* watch: stop after this long (0: never) */
	const char *ha_op;       /* ha: "promote", "demote", or NULL (status) */
};

/* Parse argv into *c. 0, CLI_HELP, CLI_VERSION or CLI_USAGE (err, errlen:
 * the reason). */
int cli_parse(int argc, char *const argv[], struct cli *c, char *err, size_t errlen);

/* The address syntaxes, 0 or -1:
 *   ep      IPv4:PORT or [IPv6]:PORT (PORT 1..65535)
 *   match   IPv4[/LEN][:PORTS], [IPv6[/LEN]][:PORTS] or IPv6[/LEN], where
 *           PORTS is N or N-M; no LEN: the host; no PORTS: any port
 *   target  MATCH=EP */
int cli_parse_ep(const char *s, struct nc_ep *ep);
int cli_parse_match(const char *s, struct nc_match *m);
int cli_parse_target(const char *s, struct nc_target *t);

/* The --help text. */
const char *cli_usage(void);

#endif
