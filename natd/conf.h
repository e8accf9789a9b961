/* conf: natd's configuration file (libconfig syntax), strict and complete.
 *
 * Every setting is described once in a table (name, type, range, default);
 * unknown settings are errors; all problems are collected and reported as
 * "file:line: setting: problem" before giving up; a cross-field pass then
 * checks names, overlaps and references. The result is a plain struct
 * handed explicitly to whoever needs it; there is no global config.
 */
#ifndef NATD_CONF_H
#define NATD_CONF_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "binding.h"
#include "endpoint.h"
#include "frag.h"
#include "hastore.h"
#include "pcp_server.h"
#include "realm.h"

#define CONF_MAX_POOL_ADDRS 4096
#define CONF_MAX_FORWARDS 1024
#define CONF_MAX_IFACES 8

/* A named transit pool inside a realm (docs/glossary.md): addresses routed
 * through one transit network, handed out when a request names it. */
struct conf_transit {
	char name[REALM_NAME_MAX];
	struct prefix pool[REALM_PREFIX_MAX];
	unsigned npool;
	uint16_t port_lo, port_hi;
};

struct conf_realm {
	char name[REALM_NAME_MAX];
	struct prefix prefixes[REALM_PREFIX_MAX];
	unsigned nprefixes;
	char nat_to[REALM_MAX][REALM_NAME_MAX];
	unsigned nnat_to;
	struct prefix pool[REALM_PREFIX_MAX]; /* pool addresses, as prefixes */
	unsigned npool;
	uint16_t port_lo, port_hi;
	struct conf_transit transits[REALM_TRANSIT_MAX];
	unsigned ntransits;
	int index; /* position in the file's realms list, for messages */
};

struct conf_forward {
	uint8_t proto;                 /* IPPROTO_UDP or IPPROTO_TCP */
	char ext_realm[REALM_NAME_MAX];
	struct endpoint ext;
	char in_realm[REALM_NAME_MAX];
	struct endpoint in;
	int line;
	int index; /* position in the file's forwards list, for messages */
};

#define CONF_MAX_CLIENTS 32
/* A TCP client's name: its owner key "tcp:<name>" must fit the 64 bytes of
 * an owner (struct mgr_client) whole, so no name is ever cut into another. */
#define CONF_TCP_NAME_MAX 59

/* control.clients (a local user, by SO_PEERCRED) or control.tcp_clients
 * (a named TCP client proving a shared secret): what it may do. */
struct conf_client {
	char user[64];                          /* local user, or TCP client name */
	char secret_file[256];                  /* TCP clients only */
	bool admin;
	char realms[REALM_MAX][REALM_NAME_MAX]; /* may allocate in these */
	unsigned nrealms;
	struct prefix prefixes[16];             /* may name endpoints in these; none = any */
	unsigned nprefixes;
	uint32_t quota;                         /* 0 = unlimited */
	int line;
};

struct natd_conf {
	char path[256];
	/* tun */
	char tun_name[IFNAMSIZ];
	int tun_mtu;
	int tun_txqueuelen;
	/* process */
	char user[64];
	char pidfile[256];
	char state_file[256]; /* "" = bindings are not kept across a restart */
	int log_level;
	bool log_syslog;
	int stats_interval; /* seconds between counter log lines; 0 = off */
	/* table */
	struct bind_conf bind;
	bool hairpinning;
	bool icmp_errors_from_path; /* router-type ICMP errors for filtered bindings from anyone */
	bool port_parity;
	bool port_preservation;
	uint32_t max_bindings_per_host; /* dynamic bindings per inside address; 0 = no limit */
	uint32_t new_flows_per_host;    /* new dynamic bindings a second per inside address; 0 = off */
	struct frag_conf frag;
	/* realms and forwards */
	struct conf_realm realms[REALM_MAX];
	unsigned nrealms;
	struct conf_forward *forwards;
	unsigned nforwards;
	/* control channel */
	char ctl_socket[108];   /* "" = no control socket */
	char ctl_mode[8];       /* octal permission bits of the socket */
	char ctl_group[64];     /* group owning the socket ("" = natd's) */
	uint32_t ctl_default_lifetime, ctl_max_lifetime;
	int ctl_max_clients;
	uint32_t ctl_max_rate; /* requests/s per control connection, 0 = unlimited */
	uint32_t ctl_max_output;        /* bytes queued to one connection before it is cut off */
	uint32_t ctl_handshake_timeout; /* seconds to complete HELLO (and AUTH over TCP) */
	int ctl_max_tcp_clients;        /* TCP connections at once (max_clients: Unix ones) */
	int ctl_max_tcp_per_source;     /* TCP connections at once from one source address */
	struct conf_client clients[CONF_MAX_CLIENTS];
	unsigned nclients;
	char ctl_tcp_listen[32];  /* "a.b.c.d:port"; "" = no TCP */
	char metrics_listen[64];  /* metrics.listen "addr:port"; "" = off (METRICS_LISTEN_MAX) */
	struct prefix ctl_tcp_allow[16];
	unsigned nctl_tcp_allow;
	struct conf_client tcp_clients[CONF_MAX_CLIENTS];
	unsigned ntcp_clients;
	/* routes natd installs itself */
	bool routes_install;
	int routes_table;
	char routes_iifs[CONF_MAX_IFACES][IFNAMSIZ];
	unsigned nroutes_iifs;
	char routes_dev_prefixes[REALM_PREFIX_MAX][20]; /* extra "a.b.c.d/n" routed to the TUN */
	unsigned nroutes_dev_prefixes;
	/* PCP / NAT-PMP front-end */
	struct pcp_conf pcp;
	/* HA pair: state in Redis (ha.c); fixed at start */
	struct hastore_conf ha;
};

/* Load and check path. Errors go to errs, one per line, as
 * "file:line: setting: problem". 0, or -EINVAL if anything was wrong. */
int conf_load(const char *path, struct natd_conf *out, FILE *errs);
void conf_free(struct natd_conf *c);
/* Whether name is a valid TCP client name (1..CONF_TCP_NAME_MAX bytes of
 * [A-Za-z0-9._-]): the grammar of control.tcp_clients[].name, and what
 * natd accepts in a TCP HELLO. */
bool conf_tcp_name_ok(const char *name);

#endif
