/* libcontrol/client.h: libcontrol's client, blocking and libevent-async.
 *
 * Theory of operation. A client opens a stream connection to natd (Unix
 * socket, or TCP with the HELLO/AUTH challenge-response of libcontrol/proto.h
 * section 6), says HELLO, and then sends requests built from the structs
 * of libcontrol/msg.h. The library picks the request ids and matches every
 * reply to its request, so callers never see ids on the wire.
 *
 * Two kinds of handle, both opaque:
 *  - struct nc_client: blocking. One request at a time, each call waits
 *    for its reply (or its timeout). For tools such as natctl.
 *  - struct nc_async: asynchronous, on the caller's libevent event_base.
 *    Any number of requests in flight on one connection, each with its own
 *    timeout and callback. Never blocks. For daemons such as the SIP proxy.
 *
 * Return convention, both APIs. A function returns 0 (or, for the async
 * requests, a positive request id) when it did its job, and a negative
 * value when it could not: a negative NC_E_* from the codec (the request
 * is invalid, or the server sent bytes that do not decode) or a negative
 * errno value (the connection failed, -ETIMEDOUT, -ECONNRESET...).
 * nc_strerror() describes both. A reply from natd counts as success even
 * when natd said no: the function returns 0 and the reply struct's
 * st.code holds the NC_ST_* status (st.reason the server's explanation).
 * So: ret < 0, no answer; ret == 0 && rep.st.code != NC_ST_OK, natd
 * refused; ret == 0 && rep.st.code == NC_ST_OK, done. A request that
 * natd could not attribute to a type (it answers NC_MSG_ERROR) is
 * reported the same way: a zeroed reply carrying ERROR's status.
 *
 * Errors of the connection itself (errno values): -ECONNRESET the peer
 * closed or reset it; -ETIMEDOUT no answer in time; -EACCES authentication
 * failed or natd refused this client (HELLO answered NOT_AUTHORIZED, the
 * server's MAC was wrong, natd asked for a secret the caller does not
 * have, or the caller holds a secret and natd did not ask for it); -EPROTO
 * natd broke the protocol (a reply of the wrong type, an ERROR with
 * request id 0) or refused HELLO for another reason; -ENOTCONN the
 * connection is already dead. A stream that cannot be cut into messages
 * (bad magic or length) is fatal: NC_E_MAGIC or NC_E_LENGTH. A message
 * that frames but does not decode fails the request it answers with the
 * decoder's NC_E_* and is otherwise ignored; the connection stays up.
 *
 * Epochs. Every reply carries natd's epoch, which changes when natd
 * restarts (and then every binding is gone). nc_client_epoch() and
 * nc_async_epoch() give the latest one seen. REFRESH and RELEASE name the
 * epoch their binding was created under: take it from the BIND reply's
 * st.epoch.
 *
 * Timeouts are in milliseconds; 0 means no timeout. A reply that comes
 * after its request timed out is discarded; if it was a BIND reply that
 * granted a binding, the library releases that binding (fire and forget),
 * so a timed-out BIND does not hold an address until its lease runs out.
 *
 * The library never logs, exits, aborts, raises SIGPIPE or keeps global
 * state. It is not thread-safe per handle: use one handle per thread, or
 * lock around it.
 */
#ifndef LIBCONTROL_CLIENT_H
#define LIBCONTROL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libcontrol/msg.h>
#include <libcontrol/secret.h> /* nc_secret_read, NC_SECRET_MAX */

#ifdef __cplusplus
extern "C" {
#endif

/* natd's default control socket. */
#define NC_CTL_SOCKET "/run/natd/ctl.sock"
/* Time the open functions allow for connecting, HELLO and AUTH. */
#define NC_OPEN_TIMEOUT_MS 10000

struct event_base;
struct nc_client;
struct nc_async;

/* ---- Blocking client ---- */

/* Connect to natd's Unix socket at path (NULL: NC_CTL_SOCKET) and say
 * HELLO with name (the client software, a text value; NULL or "" for
 * none). On success *clp is a new handle. 0 or negative (see above). */
int nc_client_open_unix(const char *path, const char *name, struct nc_client **clp);

/* Connect over TCP to host (a name or a numeric address; each address it
 * resolves to is tried in turn, -EHOSTUNREACH if it resolves to none) and
 * port, say HELLO, and authenticate with the shared secret (slen bytes):
 * answer natd's nonce and check natd's MAC. With no secret (NULL or 0)
 * the connection succeeds only if natd does not ask for authentication. */
int nc_client_open_tcp(const char *host, uint16_t port, const char *name, const void *secret,
		       size_t slen, struct nc_client **clp);

/* Close the connection and free the handle. NULL is ignored. */
void nc_client_close(struct nc_client *cl);

/* natd's epoch from the latest reply (HELLO's at first). */
uint64_t nc_client_epoch(const struct nc_client *cl);

/* The server's NAME from its HELLO reply, "" if it sent none. */
const char *nc_client_server(const struct nc_client *cl);

/* BIND req; on 0, *rep holds natd's reply (check rep->st.code). */
int nc_client_bind(struct nc_client *cl, const struct nc_bind *req, struct nc_bind_r *rep,
		   unsigned timeout_ms);

/* REFRESH req (req->epoch: the binding's epoch). */
int nc_client_refresh(struct nc_client *cl, const struct nc_refresh *req,
		      struct nc_refresh_r *rep, unsigned timeout_ms);

/* RELEASE req (req->epoch: the binding's epoch). */
int nc_client_release(struct nc_client *cl, const struct nc_release *req, struct nc_status *rep,
		      unsigned timeout_ms);

/* Called once per LIST_ITEM, in the order natd sends them. */
typedef void (*nc_item_fn)(void *arg, const struct nc_item *item);

/* LIST req (NULL: every binding): fn(arg, item) for each binding (fn may
 * be NULL), then *rep holds the final reply with the count. */
int nc_client_list(struct nc_client *cl, const struct nc_list *req, nc_item_fn fn, void *arg,
		   struct nc_list_r *rep, unsigned timeout_ms);

/* STATS. struct nc_stats_r is large (about 18 KiB): keep it off small
 * stacks. */
int nc_client_stats(struct nc_client *cl, struct nc_stats_r *rep, unsigned timeout_ms);

/* HA (natd with ha.enabled; administrators only): op "promote",
 * "demote" or NULL (status); rep: the ha_* counters after the change. */
int nc_client_ha(struct nc_client *cl, const char *op, struct nc_stats_r *rep, unsigned timeout_ms);

/* CAPS. */
int nc_client_caps(struct nc_client *cl, struct nc_caps_r *rep, unsigned timeout_ms);

/* Called once per EVENT; return 0 to go on watching, non-zero to stop. */
typedef int (*nc_event_fn)(void *arg, const struct nc_event *ev);

/* WATCH req (NULL: every event) and stream its EVENTs to fn until fn
 * returns non-zero. Returns 0 when fn stopped it or when natd refused the
 * WATCH (rep->st.code says which; rep may be NULL if the caller does not
 * care), -ETIMEDOUT when timeout_ms (the whole call; 0 = none) ran out,
 * -EINTR as soon as a signal interrupts the wait (so a SIGINT handler
 * ends it; other calls retry after a signal), or another error when the
 * connection fails. The watch lasts as long as the connection: later
 * calls on cl skip its events, and natd refuses a second WATCH on the
 * same connection. */
int nc_client_watch(struct nc_client *cl, const struct nc_watch *req, nc_event_fn fn, void *arg,
		    struct nc_status *rep, unsigned timeout_ms);

/* ---- Asynchronous client (libevent) ---- */

/* The connection's state changed: err 0, the handshake is done and
 * requests go out; err < 0, the connection failed or was lost (the cause,
 * as under "Errors of the connection itself"). Called at most twice: once
 * with 0 (if the handshake succeeds) and once with an error (if the
 * connection then dies). After an error the handle only accepts
 * nc_async_close(), which the callback may call itself. */
typedef void (*nc_conn_fn)(void *arg, int err);

/* Open a connection to the Unix socket at path (NULL: NC_CTL_SOCKET) on
 * base. Returns 0 with *acp set, and fn reports the outcome later from
 * base's loop; or a negative error (path too long, connection refused at
 * once...) with nothing created and fn never called. Requests may be
 * issued at once: they wait, with their timeouts running, until the
 * handshake is done. The handshake itself times out after
 * NC_OPEN_TIMEOUT_MS. */
int nc_async_open_unix(struct event_base *base, const char *path, const char *name,
		       nc_conn_fn fn, void *arg, struct nc_async **acp);

/* The same over TCP with the shared secret (see nc_client_open_tcp). host
 * must be a numeric IPv4 or IPv6 address (resolving a name would block):
 * NC_E_INVAL otherwise. The library keeps a copy of the secret until the
 * handshake ends and then wipes it. */
int nc_async_open_tcp(struct event_base *base, const char *host, uint16_t port, const char *name,
		      const void *secret, size_t slen, nc_conn_fn fn, void *arg,
		      struct nc_async **acp);

/* Close the connection and free the handle. Every request still pending
 * gets its callback, before nc_async_close() returns, with -ECANCELED;
 * the connection callback is not called. Safe to call from any callback
 * of this handle (the memory is released when the callback returns).
 * NULL is ignored. */
void nc_async_close(struct nc_async *ac);

/* natd's epoch from the latest reply (0 before the first one). */
uint64_t nc_async_epoch(const struct nc_async *ac);

/* Requests waiting for their reply (or for the handshake). */
unsigned nc_async_pending(const struct nc_async *ac);

/* Request callbacks. Exactly one call per accepted request, never from
 * inside the function that issued it: err 0 and rep the reply (whatever
 * its status; valid during the call only), or err < 0 and rep NULL:
 * -ETIMEDOUT (its timeout ran out; a late reply is discarded), -ECONNRESET
 * (the connection died with the request pending, whatever the cause: the
 * connection callback gets the cause), -ECANCELED (nc_async_cancel or
 * nc_async_close), -EPROTO or an NC_E_* (natd's answer was of the wrong
 * type or did not decode). */
typedef void (*nc_bind_done_fn)(void *arg, int err, const struct nc_bind_r *rep);
typedef void (*nc_refresh_done_fn)(void *arg, int err, const struct nc_refresh_r *rep);
typedef void (*nc_release_done_fn)(void *arg, int err, const struct nc_status *rep);

/* Send BIND req. Returns the request id (> 0, for nc_async_cancel) and
 * fn is called later, or a negative error and fn is never called: the
 * encoder's NC_E_* for an invalid req, -ENOTCONN (the connection is dead),
 * -ENOBUFS (natd is not reading: more than 1 MiB waits to be sent),
 * -ENOMEM. fn must not be NULL. */
int nc_async_bind(struct nc_async *ac, const struct nc_bind *req, unsigned timeout_ms,
		  nc_bind_done_fn fn, void *arg);

/* Send REFRESH req; as nc_async_bind. */
int nc_async_refresh(struct nc_async *ac, const struct nc_refresh *req, unsigned timeout_ms,
		     nc_refresh_done_fn fn, void *arg);

/* Send RELEASE req; as nc_async_bind. */
int nc_async_release(struct nc_async *ac, const struct nc_release *req, unsigned timeout_ms,
		     nc_release_done_fn fn, void *arg);

/* Give up waiting for request id: its callback is called now with
 * -ECANCELED. natd may still carry it out (a cancelled BIND that succeeds
 * is released, as after a timeout). 0, or -ENOENT if id is not pending. */
int nc_async_cancel(struct nc_async *ac, int id);

#ifdef __cplusplus
}
#endif

#endif
