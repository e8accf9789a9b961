/* status: the proxy's view of itself for operators, on a Unix socket.
 *
 * With status_socket set in sipproxy.conf, every connection to that
 * socket receives the status view (counters, registrations, every call
 * with its natd bindings: the lines of proxy_status()) and is closed.
 * `sipproxy -S` (with -c, to find the socket) prints it; so does any
 * client that reads a Unix stream socket (after 200 ms if it neither
 * writes nor shuts its writing side). A client may instead send one
 * command line: "ha promote", "ha demote", "ha status" (`sipproxy -S ha
 * promote`; the keepalived notify hook), answered "ok ..." or "error ...".
 */
#ifndef SIPPROXY_STATUS_H
#define SIPPROXY_STATUS_H

#include <stdio.h>

#include "proxy.h"

struct event_base;
struct status_srv;

/* Listen at path (an old socket file there is replaced; mode 0660).
 * NULL on failure (logged). */
struct status_srv *status_open(struct event_base *base, const char *path, struct proxy *p);

/* Stop listening and remove the socket file. NULL is ignored. */
void status_close(struct status_srv *s);

/* The client side: connect to path, send cmd (NULL: none, the view), and
 * copy the answer to out. 0 or a negative errno (-ENOENT, -ECONNREFUSED:
 * no sipproxy there; -EPROTO: the command was refused, its "error" line
 * copied; -EPIPE: the proxy closed before reading the command;
 * -ECONNABORTED: it closed without answering). Never raises SIGPIPE. */
int status_query(const char *path, const char *cmd, FILE *out);

#endif
