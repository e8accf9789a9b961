/* status: the proxy's view of itself for operators, on a Unix socket.
 *
 * With status_socket set in sipproxy.conf, every connection to that
 * socket receives the status view (counters, registrations, every call
 * with its natd bindings: the lines of proxy_status()) and is closed.
 * `sipproxy -S` (with -c, to find the socket) prints it; so does any
 * client that reads a Unix stream socket.
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

/* The client side: connect to path and copy the view to out. 0 or a
 * negative errno (-ENOENT, -ECONNREFUSED: no sipproxy there). */
int status_query(const char *path, FILE *out);

#endif
