/* reconf: a freshly loaded configuration applied to a running natd
 * (SIGHUP; see natd(8)).
 *
 * The fresh file is compared with the running configuration: a change to
 * anything that was built or bound at start (the TUN, the tables' sizes,
 * the realms and pools, the sockets, the routes) is refused whole.
 * Otherwise the new values go to the modules that copied them (the core's
 * binding table, translation context and address manager through
 * core_apply(), the control server, the PCP server), the static forwards
 * are diffed against the binding table, and the fresh configuration
 * replaces the running one in place (nothing points into it but natd
 * itself and main). Live bindings are never touched, except the static
 * ones of forwards that left the file.
 */
#ifndef NATD_RECONF_H
#define NATD_RECONF_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "core.h"
#include "ctl_server.h"
#include "pcp_server.h"

/* The running natd a reload acts on. */
struct reconf_target {
	struct natd_conf *conf;  /* the running configuration, replaced in place */
	struct core *core;
	struct ctl_server *ctl;  /* NULL: no control socket */
	struct pcp_server *pcp;  /* NULL: no PCP server */
	bool keep_log_level;     /* -d: the log level is the command line's */
	const char *ctl_socket;  /* -s: overrides control.socket; "" = none */
};

/* Apply fresh (loaded and checked) to t at time now: everything that can
 * change live, or nothing. 0, or -1 with the refusal logged ("reload
 * refused: ..."). fresh is left with what conf_free() may free. */
int reconf_apply(const struct reconf_target *t, struct natd_conf *fresh, uint32_t now);

#endif
