/* daemon: wires natd's parts onto one libevent loop.
 *
 * Owns the TUN, the core (realms and pools, the binding and fragment
 * tables, the counters, the address manager: core.h), the control and
 * PCP servers and the state file. The TUN read callback drains up to a batch
 * of packets, translates each in place and writes it back; a one-second
 * timer advances the binding wheel and the fragment timeouts; SIGUSR1 logs
 * the counters; SIGHUP reloads the configuration file (what can change
 * without dropping bindings; the rest is refused: reconf.h, natd(8));
 * SIGTERM/SIGINT stop the loop.
 */
#ifndef NATD_DAEMON_H
#define NATD_DAEMON_H

#include <stdbool.h>

#include "conf.h"

struct natd;

/* Privileged set-up: the core (realms, pools, tables), TUN, routes, servers. 0 or -1 (logged).
 * c must outlive n; a reload (SIGHUP) updates it in place. */
int natd_setup(struct natd_conf *c, struct natd **out);
/* Make SIGHUP reload path (see natd(8)). keep_log_level: the log level
 * came from the command line (-d) and stays; ctl_socket: the -s override
 * of control.socket, or NULL. Without this call SIGHUP only logs. */
void natd_set_reload(struct natd *n, const char *path, bool keep_log_level,
		     const char *ctl_socket);
/* Run the loop until a stop signal. 0 or -1. */
int natd_run(struct natd *n);
void natd_free(struct natd *n);

#endif
