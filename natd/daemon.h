/* daemon: wires natd's parts onto one libevent loop.
 *
 * Owns the TUN, the binding table, the fragment table, the realms and
 * their pools, and the counters. The TUN read callback drains up to a batch
 * of packets, translates each in place and writes it back; a one-second
 * timer advances the binding wheel and the fragment timeouts; SIGUSR1 logs
 * the counters; SIGTERM/SIGINT stop the loop.
 */
#ifndef NATD_DAEMON_H
#define NATD_DAEMON_H

#include "conf.h"

struct natd;

/* Privileged set-up: TUN, realms, pools, tables, routes. 0 or -1 (logged). */
int natd_setup(const struct natd_conf *c, struct natd **out);
/* Run the loop until a stop signal. 0 or -1. */
int natd_run(struct natd *n);
void natd_free(struct natd *n);

#endif
