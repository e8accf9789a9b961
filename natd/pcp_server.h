/* pcp_server: natd's PCP (RFC 6887) and NAT-PMP (RFC 6886) front-end.
 *
 * Theory of operation. One UDP socket per configured inside address, on
 * port 5351, on natd's event loop. A datagram's first byte picks the
 * protocol (0 NAT-PMP, anything else PCP, which answers unknown versions).
 * pcp_server_handle() turns one request into at most one reply without
 * touching a socket, so the unit tests drive it directly.
 *
 * Requests become address-manager calls: a MAP (PCP MAP, NAT-PMP opcodes
 * 1 and 2) is a BIND of direction BOTH from the client's realm into the
 * realm it NATs into (the lowest-numbered realm in its nat_to), with
 * E = the client's address (or the THIRD_PARTY address) and its internal
 * port; a PEER is the same with the remote peer as the binding's PEER; a
 * lifetime of 0 releases. The client is "pcp:<address>" with a policy
 * that lets it name only its own address (or, with THIRD_PARTY allowed,
 * exactly the address it names). Mappings are found again with LIST
 * (the client's own bindings); a PCP mapping carries its nonce in the
 * binding's label ("pcp nonce <24 hex digits>"), so a repeated request
 * with the same nonce refreshes it and one with another nonce is refused.
 * FILTER options become the binding's filters, enforced by the manager's
 * rules on the packet path. Filters added to an existing mapping are
 * merged into its binding by BINDing again: the manager updates a binding
 * its owner already has on E in place and keeps its external endpoint.
 *
 * The server's epoch (RFC 6887 section 8.5, RFC 6886 section 3.6) starts
 * when the server is created, so it restarts with natd, whose bindings
 * are gone then too.
 */
#ifndef NATD_PCP_SERVER_H
#define NATD_PCP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "realm.h"

#define PCP_LISTEN_MAX 8
#define PCP_TP_CLIENTS_MAX 16

/* The "pcp" group of natd.conf. */
struct pcp_conf {
	bool enable;                  /* pcp.enable (default false) */
	uint32_t listen[PCP_LISTEN_MAX]; /* pcp.listen: inside addresses, network order */
	unsigned nlisten;
	uint32_t port;                /* pcp.port, 1..65535 (default 5351) */
	bool third_party;             /* pcp.third_party: THIRD_PARTY allowed (default false) */
	struct prefix third_party_clients[PCP_TP_CLIENTS_MAX]; /* who may use it; none = any */
	unsigned nthird_party_clients;
	uint32_t min_lifetime;        /* pcp.min_lifetime (default 120) */
	uint32_t max_lifetime;        /* pcp.max_lifetime (default 86400) */
	uint32_t max_mappings;        /* pcp.max_mappings per client; 0 = unlimited (default 64) */
	uint32_t max_rate;            /* pcp.max_rate: requests/s over all clients; 0 = unlimited (default 200) */
	uint32_t max_client_rate;     /* pcp.max_client_rate: requests/s per client address; 0 = unlimited (default 20) */
	bool announce;                /* pcp.announce: multicast ANNOUNCE at start (default true) */
};

/* Counters, readable at run time (pcp_server_print_stats). */
struct pcp_stats {
	uint64_t rx, tx, tx_errors;
	uint64_t dropped;          /* the RFCs said drop (short, responses...) */
	uint64_t rate_limited;     /* over pcp.max_rate: dropped */
	uint64_t client_rate_limited; /* over pcp.max_client_rate: dropped */
	uint64_t pcp_requests, natpmp_requests;
	uint64_t pcp_results[14];  /* replies sent, by PCP result code */
	uint64_t natpmp_results[6];
	uint64_t mapped, refreshed, released;
};

struct event_base;
struct mgr;
struct pcp_server;

/* A server without sockets (what the unit tests use): rs and m are
 * borrowed and must outlive it; now is the monotonic second its epoch
 * starts at. NULL on allocation failure. */
struct pcp_server *pcp_server_new(const struct pcp_conf *c, struct mgr *m,
				  const struct realm_set *rs, uint32_t now);

/* Create the server and listen on every pcp.listen address (privileged
 * start-up: fails loudly, naming the address and the syscall). With
 * pcp.enable false, succeeds with *out = NULL. 0 or -1. age: seconds the
 * epoch has already run (natd restarted with all its mappings: the epoch
 * goes on and there is no restart ANNOUNCE); 0 for a fresh start. */
int pcp_server_start(struct event_base *base, const struct pcp_conf *c, struct mgr *m,
		     const struct realm_set *rs, uint32_t age, struct pcp_server **out);

/* A configuration reload: take c's lifetimes, limits and THIRD_PARTY
 * settings for requests from now on. enable, listen and port are the
 * sockets' and stay as they are; mappings already granted keep theirs. */
void pcp_server_set_conf(struct pcp_server *s, const struct pcp_conf *c);

/* Close the sockets and free the server (NULL is fine). */
void pcp_server_free(struct pcp_server *s);

/* Handle one datagram of len bytes from src (IPv4, network order) at
 * monotonic second now; write the reply into out (cap >= 1100 bytes
 * is always enough). Returns the reply length, or 0: send nothing. */
size_t pcp_server_handle(struct pcp_server *s, const uint8_t *req, size_t len, uint32_t src,
			 uint32_t now, uint8_t *out, size_t cap);

/* The server's epoch time at now (seconds since it started). */
uint32_t pcp_server_epoch(const struct pcp_server *s, uint32_t now);

const struct pcp_stats *pcp_server_stats(const struct pcp_server *s);

/* Write " pcp_name=value" pairs (no newline) for the stats line. */
void pcp_server_print_stats(const struct pcp_server *s, FILE *f);

#endif
