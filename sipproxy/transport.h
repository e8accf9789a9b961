/* transport: sipproxy's SIP transports on libevent, UDP and TCP (RFC 3261 §18).
 *
 * One UDP socket and/or one TCP listener per listen address of the config.
 * Inbound bytes become whole messages handed to the receive callback with
 * where they came from; nothing here parses SIP beyond the framing TCP
 * needs (headers up to the blank line, Content-Length or its compact form
 * "l", then the body; CRLF keep-alives of RFC 5626 §3.5.1 are answered or
 * skipped, never delivered). A TCP stream that cannot be framed (a header
 * block or a message over max_message, a bad Content-Length) is closed and
 * counted.
 *
 * Outbound: tp_send() to a destination. UDP leaves from the UDP socket of
 * the listen entry named by the destination, sent by a sender thread when
 * sip.udp_send_thread is on (then tp_send() returns once the datagram is
 * queued, and a kernel error is only counted in send_errors). TCP reuses
 * the connection named by conn_id if it is still open, else any open connection to the
 * same peer address and port, else opens one from the listen address (bind
 * then non-blocking connect), queueing the bytes until it is up. A
 * connection idle for tcp_idle_timeout seconds is closed; at most
 * tcp_max_connections are open (new inbound ones are refused beyond that),
 * and at most tcp_max_per_source accepted ones (TCP and TLS) per source
 * address (beyond: closed at accept, before any TLS handshake).
 * Sends never block: a connection with more than 1 MiB queued is closed.
 *
 * TLS (transport_tls.h): the same connections with an SSL on the socket,
 * a TLS listener per listen entry with "tls" on its tls_port; dst->tls
 * picks TLS for tp_send() (a connection is reused only for the transport
 * it was made with).
 *
 * Nothing logs above debug level on the per-message path; counters say
 * what happened (tp_stats).
 */
#ifndef SIPPROXY_TRANSPORT_H
#define SIPPROXY_TRANSPORT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sp_conf.h"

struct event_base;
struct transport;

/* Where a message came from, or where one goes. */
struct tp_addr {
	bool tcp;                 /* a stream (TCP, or TLS over it), else UDP */
	bool tls;                 /* with tcp: TLS */
	struct sockaddr_in peer;  /* remote address and port */
	int listen;               /* index into conf->listen[] (received on / send from) */
	uint64_t conn;            /* TCP connection id (0: none / any) */
};

/* A whole message: buf is valid during the call only. */
typedef void (*tp_recv_fn)(void *arg, const struct tp_addr *from, const char *buf, size_t len);

/* tcp_closed counts every connection torn down (failed connects too);
 * tcp_open includes connections still connecting. oversize_dropped counts
 * received messages over max_message (UDP dropped; on TCP also a framing
 * error). send_errors counts messages not sent: tp_send() errors, and
 * messages queued on a connection whose connect failed.
 * tcp_refused_per_source: inbound connections over sip.tcp_max_per_source
 * (also counted in tcp_refused). */
struct tp_stats {
	uint64_t udp_rx, udp_tx, tcp_rx, tcp_tx;   /* messages */
	uint64_t tcp_accepted, tcp_connected, tcp_closed, tcp_refused;
	uint64_t tcp_framing_errors, tcp_idle_closed, tcp_overflow_closed;
	uint64_t tcp_connect_failed;                /* outbound connects that failed or timed out */
	uint64_t tcp_refused_per_source;
	uint64_t send_errors, oversize_dropped;
	unsigned tcp_open;                          /* connections open now (TLS ones too) */
	/* TLS: messages, connections open (also in tcp_open; the tcp_* connection
	 * counters count TLS connections too), and transport_tls's counters */
	uint64_t tls_rx, tls_tx;
	unsigned tls_open;
	uint64_t tls_handshakes, tls_handshake_failed, tls_handshake_timeout, tls_peer_rejected;
	uint64_t tls_reloads;
	/* UDP sender thread (sip.udp_send_thread; udp_tx.h): datagrams refused
	 * because its queue was full (also in send_errors), sendmmsg calls,
	 * wake-ups of the sleeping thread; udp_send_thread: it runs */
	uint64_t udp_tx_queue_full, udp_tx_batches, udp_tx_wakes;
	bool udp_send_thread;
};

/* Open every listen entry of conf (conf must outlive the transport).
 * 0 with *tpp set, or a negative errno with the failing address logged to
 * stderr-free log_err (log.h). */
int tp_open(struct event_base *base, const struct sp_conf *conf, tp_recv_fn fn, void *arg,
	    struct transport **tpp);

/* Close every socket and connection, free. NULL is ignored. Safe from
 * inside the receive callback (the memory goes when the callback returns;
 * tp_send() meanwhile fails with -ESHUTDOWN). */
void tp_close(struct transport *tp);

/* Send len bytes to dst (dst->listen picks the local address). 0, or a
 * negative errno (-EMSGSIZE over conf->max_message, -ENOBUFS queue full,
 * -EMFILE too many connections, -ENOTCONN conn gone and no peer given,
 * -EINVAL no such listen entry or transport...). For TCP, 0 means queued
 * (a later connect failure counts the message in send_errors). */
int tp_send(struct transport *tp, const struct tp_addr *dst, const char *buf, size_t len);

/* RFC 5923: connection conn (TCP, or TLS from a mutual tls.peers entry,
 * whose certificate proved who it is) also serves requests to its peer's
 * address at port (network order), the sent-by of a Via with "alias".
 * 0, -ENOTCONN (gone), -EPERM (TLS without a verified peer). */
int tp_conn_alias(struct transport *tp, uint64_t conn, uint16_t port);

/* Whether the TCP connection conn is still open. */
bool tp_conn_alive(const struct transport *tp, uint64_t conn);

void tp_get_stats(const struct transport *tp, struct tp_stats *st);

/* SIGHUP: new TLS contexts from fresh->tls for new connections (live ones
 * keep theirs). 0, or -1 (logged) with the running ones kept. */
int tp_reload_tls(struct transport *tp, const struct sp_conf *fresh);

/* sipproxy -n: build the TLS contexts conf asks for and drop them: 0, or -1
 * with the reason (file, key mode, key/cert mismatch...) in err. */
int tp_check_tls(const struct sp_conf *conf, char *err, size_t n);

#endif
