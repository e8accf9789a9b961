/* hop: which transport a hop of a SIP message takes, and how the proxy
 * names itself on it (RFC 3261 §18, §26; RFC 5630; RFC 5658).
 *
 * A hop is a struct tp_addr: UDP, TCP, or TLS (tcp and tls set). These
 * pure functions turn a next-hop URI's target into a hop (sips: and
 * transport=tls give TLS), pick the listen entry serving a hop's transport
 * in a realm, and write what the proxy puts in the message for it: the Via
 * transport token, the URI transport parameter and port of its
 * Record-Route, and the one or two Record-Route entries of a request that
 * crosses realms or transports (each side's entry keeps that side's
 * transport, like Kamailio's rr with enable_double_rr).
 */
#ifndef SIPPROXY_HOP_H
#define SIPPROXY_HOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/sip_msg.h"
#include "sp_conf.h"
#include "transport.h"

#define HOP_RR_MAX 300 /* one Record-Route entry, NUL included */

/* A numeric target as a hop (peer, transport; listen and conn left 0).
 * 0, -EHOSTUNREACH (a name: no DNS here), -EPROTONOSUPPORT (not UDP, TCP
 * or TLS) or -EAFNOSUPPORT (not IPv4). */
int hop_of_target(const struct sip_target *t, struct tp_addr *d);

/* "UDP", "TCP" or "TLS": Via's transport token. */
const char *hop_via(const struct tp_addr *a);
/* "udp", "tcp" or "tls": logs, status and the state file. */
const char *hop_name(const struct tp_addr *a);
/* "", ";transport=tcp" or ";transport=tls": a URI naming the proxy on this hop. */
const char *hop_param(const struct tp_addr *a);
/* The port of listen li that serves a's transport. */
uint16_t hop_port(const struct sp_conf *c, int li, const struct tp_addr *a);
/* The first listen entry of realm serving a's transport, or -1. */
int hop_listen(const struct sp_conf *c, int realm, const struct tp_addr *a);
/* Same transport (UDP, TCP or TLS). */
bool hop_same(const struct tp_addr *a, const struct tp_addr *b);
/* The host naming listen li: its advertise, else its address (into buf,
 * INET_ADDRSTRLEN bytes). */
const char *hop_host(const struct sp_conf *c, int li, char *buf);
/* a in dotted-quad form, as inet_ntop(AF_INET) writes it, into buf
 * (INET_ADDRSTRLEN bytes); returns buf. Without printf: it runs for
 * every message. */
const char *hop_ip4_str(struct in_addr a, char *buf);

/* Record-Route entries for a request that came in on listen in_li over in
 * and leaves from out_li over out, in the order they are added: one when
 * both sides are the same listen and transport, else two (the incoming
 * side's first). The number written, or -ENOSPC. */
int hop_record_route(const struct sp_conf *c, int in_li, const struct tp_addr *in, int out_li,
		     const struct tp_addr *out, char rr[2][HOP_RR_MAX]);

#endif
