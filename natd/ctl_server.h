/* ctl_server: natd's end of the control channel on a Unix stream socket.
 *
 * The socket is created while natd is still privileged (mode and group from
 * the config). Each connection is authorised once, at accept, by the
 * peer's credentials (SO_PEERCRED): root is an administrator, users listed
 * in control.clients get their policy, anyone else is refused. The first
 * message must be HELLO. Messages are cut from the byte stream with
 * nc_frame(), decoded strictly with nc_decode(), handed to the manager, and
 * the replies encoded back; a malformed request gets an error reply naming
 * the problem, a stream that cannot be framed is answered with ERROR and
 * closed. Nothing here blocks: replies queue in the connection's output
 * buffer, and a client that leaves more than control.max_output unread
 * (a watcher or a pipelining client) is cut off at once, its queue freed.
 *
 * Against hostile clients: HELLO is said once per connection (a second
 * one is refused, so an authenticated TCP connection cannot take another
 * client's name); a connection has control.handshake_timeout to complete
 * HELLO (and AUTH); Unix and TCP connections are counted apart
 * (control.max_clients, control.max_tcp_clients) and TCP ones also per
 * source address; a TCP client name that would not fit its owner key
 * "tcp:<name>" whole is refused, never truncated. Connections are freed
 * by one reaper (kill_conn marks, the reaper frees once the callback that
 * marked them is over), so a client can be cut off from inside another
 * client's request.
 */
#ifndef NATD_CTL_SERVER_H
#define NATD_CTL_SERVER_H

#include <event2/event.h>

#include "conf.h"
#include "manager.h"

struct ctl_server;

/* natd's loop has CTL_LOOP_PRIORITIES priorities (event_base_priority_init
 * in daemon.c); an authorised control connection runs at CTL_PRIORITY,
 * ahead of everything else (the TUN, PCP, HA, the timers), which stays at
 * libevent's default, the middle one (CTL_LOOP_PRIORITIES / 2). */
#define CTL_LOOP_PRIORITIES 2
#define CTL_PRIORITY 0

/* Create and listen on the configured socket. 0 or -1 (logged). */
int ctl_server_start(struct event_base *base, const struct natd_conf *c, struct mgr *m,
		     struct ctl_server **out);
void ctl_server_free(struct ctl_server *s);

/* The HA pair's hooks (ha.c through daemon.c): STATS gets the ha_*
 * counters, and HA (natctl ha) works; without them HA is refused. */
struct ctl_ha_ops {
	void (*stats)(void *arg, struct nc_stats_r *r);
	void (*promote)(void *arg);
	void (*demote)(void *arg);
};
void ctl_server_set_ha(struct ctl_server *s, const struct ctl_ha_ops *ops, void *arg);

/* A configuration reload: rebuild the client policies (control.clients,
 * control.tcp_clients, control.tcp_allow) and control.max_clients from c.
 * Connections keep going under their client's new policy; one whose client
 * is no longer listed is closed (counted in *dropped). Bindings are not
 * touched. The socket settings are not looked at (they need a restart).
 * 0, or -1 (logged) with everything as it was. */
/* The request types counted by ctl_server_replies(): NC_MSG_HELLO..
 * NC_MSG_WATCH, and 0 for a request natd could not attribute. */
#define CTL_REQ_TYPES (NC_MSG_WATCH + 1)
/* Replies sent to requests of type with status (NC_ST_*). */
uint64_t ctl_server_replies(const struct ctl_server *s, uint16_t type, uint16_t status);
/* Append natd's own control-channel counters (ctl_*) to r, after the
 * manager's (what natctl stats shows). */
void ctl_server_stats(const struct ctl_server *s, struct nc_stats_r *r);

int ctl_server_reload(struct ctl_server *s, const struct natd_conf *c, unsigned *dropped);

#endif
