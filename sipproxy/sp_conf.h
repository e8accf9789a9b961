/* sp_conf: sipproxy.conf (libconfig syntax), strict and complete.
 *
 * Like natd's conf: every scalar setting is described once in a table
 * (path, type, range, default); unknown settings are errors; every problem
 * is reported as "file:line: setting: problem" and loading fails if there
 * was at least one; a cross-field pass checks names and references (a
 * listen or media rule naming an unknown realm, a rule naming an unknown
 * nat, duplicate names...). The result is a plain struct handed to whoever
 * needs it; there is no global config.
 *
 * The model. A realm is a set of IPv4 prefixes (longest prefix wins over
 * every realm's prefixes; 0.0.0.0/0 is allowed). The proxy listens on one
 * or more addresses, each in a realm: a message arriving there from a
 * source that matches no prefix belongs to that listen's realm, and a
 * message sent into a realm leaves from that realm's first listen address
 * (its Via and Record-Route name it). A nat is one natd's control channel
 * (Unix socket, or TCP with a shared secret). A media rule says: an SDP
 * endpoint in realm `from`, in a message heading to realm `to`, needs a
 * binding from nat `nat`, asked with natd realm names `natd_in` (E's) and
 * `natd_ext` (M's) and optionally a transit pool. A realm pair with no rule
 * passes SDP unchanged (its addresses are reachable as they are).
 * Static routes send requests whose Request-URI host matches a domain (or
 * an IPv4 prefix) to a next hop, ahead of the location service; a route's
 * allow_from and the trusted_peers list feed the relay policy (policy.h).
 */
#ifndef SIPPROXY_SP_CONF_H
#define SIPPROXY_SP_CONF_H

#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hastore.h"
#include "prefix.h"

#define SPC_NAME_MAX 32      /* realm, nat names; NUL included */
#define SPC_HOST_MAX 128     /* domain names, advertised hosts; NUL included */
#define SPC_PATH_MAX 256
#define SPC_MAX_LISTEN 8
#define SPC_MAX_REALMS 8
#define SPC_MAX_PREFIXES 16  /* per realm */
#define SPC_MAX_NATS 8
#define SPC_MAX_RULES 16
#define SPC_MAX_ROUTES 32
#define SPC_MAX_DOMAINS 8
#define SPC_MAX_TRUSTED 16   /* trusted_peers prefixes */
#define SPC_MAX_ALLOW 16     /* a route's allow_from entries */
#define SPC_MAX_TLS_PEERS 16 /* tls.peers entries */

struct spc_listen {
	struct sockaddr_in addr; /* a specific IPv4 address (not 0.0.0.0) and port (default 5060) */
	bool udp, tcp;           /* transports = [ "udp", "tcp", "tls" ] (default udp and tcp) */
	bool tls;                /* a TLS listener on tls_port (needs tls.cert and tls.key) */
	uint16_t tls_port;       /* default 5061 */
	int realm;               /* index into realms[] */
	char advertise[SPC_HOST_MAX]; /* host in Via/Record-Route; "" = the address */
};

struct spc_realm {
	char name[SPC_NAME_MAX];
	struct prefix prefixes[SPC_MAX_PREFIXES];
	unsigned nprefixes;
};

struct spc_nat {
	char name[SPC_NAME_MAX];
	char socket[SPC_PATH_MAX];     /* Unix control socket, or "" when host is set */
	char host[64];                 /* numeric IPv4/IPv6 of natd's TCP control port */
	uint16_t port;
	char secret_file[SPC_PATH_MAX]; /* TCP only: read with nc_secret_read() */
	char client_name[SPC_NAME_MAX]; /* HELLO name; default "sipproxy" */
	unsigned timeout_ms;           /* per BIND; default 500 (1..60000) */
	bool tls;                      /* TCP inside TLS (natd's control.tls_cert) */
	char tls_cert[SPC_PATH_MAX], tls_key[SPC_PATH_MAX]; /* our client certificate */
	char tls_ca[SPC_PATH_MAX];     /* the CAs of natd's certificate ("": the system's) */
	char tls_name[SPC_NAME_MAX];   /* natd's certificate name ("": host) */
};

struct spc_rule {
	int from, to;                  /* realm indexes */
	int nat;                       /* index into nats[] */
	char natd_in[SPC_NAME_MAX];    /* natd's realm of E; default the realm from's name */
	char natd_ext[SPC_NAME_MAX];   /* natd's realm of M; default the realm to's name */
	char transit[SPC_NAME_MAX];    /* natd transit pool for M (docs/glossary.md); "" none */
	uint32_t protocols;            /* SPC_MP_* bits of the m= protocols bound; default the
					  UDP ones (SPC_MP_UDP_DEFAULT), plus the TCP ones with
					  tcp_media */
	bool tcp_media;                /* TCP media (TCP/MSRP, TCP/BFCP...) may be bound; default false */
	uint16_t port_lo, port_hi;     /* SDP media ports bound ("ports = \"lo-hi\""); default
					  1024-65535 */
};

/* m= transport protocols a media rule may bind (RFC 4566 §5.14 and the
 * IANA "proto" registry). The UDP ones are bound by default; the TCP ones
 * only with a rule's tcp_media. A stream whose protocol is not in its
 * rule's set is declined (port 0, RFC 3264 §6). */
enum spc_media_proto {
	SPC_MP_RTP_AVP,
	SPC_MP_RTP_SAVP,
	SPC_MP_RTP_AVPF,
	SPC_MP_RTP_SAVPF,
	SPC_MP_UDP_TLS_RTP_SAVP,
	SPC_MP_UDP_TLS_RTP_SAVPF,
	SPC_MP_UDPTL,
	SPC_MP_TCP_MSRP,       /* first TCP one */
	SPC_MP_TCP_TLS_MSRP,
	SPC_MP_TCP_BFCP,
	SPC_MP_TCP_TLS_BFCP,
	SPC_MP_TCP_RTP_AVP,
	SPC_MP_TCP_TLS_RTP_AVP,
	SPC_MP_COUNT
};
#define SPC_MP_UDP_DEFAULT ((1u << SPC_MP_TCP_MSRP) - 1u)
#define SPC_MP_TCP_ALL (((1u << SPC_MP_COUNT) - 1u) & ~SPC_MP_UDP_DEFAULT)

enum spc_route_kind { SPC_ROUTE_DOMAIN, SPC_ROUTE_PREFIX };

struct spc_route {
	enum spc_route_kind kind;
	char domain[SPC_HOST_MAX];     /* DOMAIN: exact host, or "*.example.net" suffix; lower case */
	struct prefix prefix;      /* PREFIX: Request-URI host is an IPv4 literal in it */
	struct sockaddr_in next_hop;   /* IPv4 address and port (default 5060) */
	bool tcp;                      /* next_hop transport: "udp" (default), "tcp" or "tls" */
	bool tls;                      /* "tls" (tcp is set too: TLS runs over TCP) */
	/* allow_from: sources that may use this route without authenticating
	 * (relay policy rule 4): realms by index (bit i = realms[i]) and
	 * prefixes. Empty (the default): only authenticated users and
	 * trusted peers may. */
	uint32_t allow_realms;
	struct prefix allow_prefixes[SPC_MAX_ALLOW];
	unsigned nallow_prefixes;
};

enum spc_natd_failure {
	SPC_FAIL_REJECT = 0, /* the request gets 503 (a response: 500 upstream) */
	SPC_FAIL_PASS,       /* forward the SDP unchanged */
};

/* ha.*: registrations, dialogs and calls shared through Redis (sp_ha.h);
 * the common keys are hastore's (HASTORE_CONF_ITEMS). */
#define SPC_HA_MAX_PEERS 8
enum spc_ha_mode { SPC_HA_PAIR = 0, SPC_HA_SHARED };
struct spc_ha {
	struct hastore_conf store;     /* enabled, redis | sentinels + master, prefix, node,
					  role, timeout_ms (hastore.h) */
	enum spc_ha_mode mode;         /* "pair" (default): active/standby; "shared": scale-out */
	char peers[SPC_HA_MAX_PEERS][HASTORE_NAME_MAX]; /* shared: the other nodes' names */
	unsigned npeers;
};

/* auth.algorithms; mirrors digest.h's enum digest_alg. */
enum spc_alg { SPC_ALG_MD5 = 0, SPC_ALG_SHA256 = 1 };
#define SPC_MAX_ALGS 2

/* Mirrors sdp_rewrite.h's enum sdp_ice_policy values. */
enum spc_ice { SPC_ICE_STRIP = 0, SPC_ICE_KEEP, SPC_ICE_REWRITE };

/* tls.peers: who a TLS peer at an address must be (its certificate's name,
 * checked when we connect to it, and with mutual when it connects to us). */
struct spc_tls_peer {
	struct prefix prefix;          /* its addresses */
	char name[SPC_HOST_MAX];       /* the DNS name (or address) its certificate carries */
	bool mutual;                   /* it must present a client certificate for name */
};

/* tls.*: certificates of the TLS transport (transport_tls.h) */
struct spc_tls {
	char cert[SPC_PATH_MAX];       /* PEM chain; "" = no TLS */
	char key[SPC_PATH_MAX];        /* PEM key, mode 0600/0400 */
	char ca[SPC_PATH_MAX];         /* PEM bundle verifying peers; "" = the system's */
	bool verify_peers;             /* check servers' certificates; default true */
	unsigned handshake_timeout;    /* s, default 5 (1..60) */
	struct spc_tls_peer peers[SPC_MAX_TLS_PEERS];
	unsigned npeers;
};

struct sp_conf {
	char user[64];                 /* drop to this user when started as root; default "sipproxy" (made by make install) */
	char pidfile[SPC_PATH_MAX];    /* default "/run/sipproxy/sipproxy.pid" */
	char status_socket[SPC_PATH_MAX]; /* Unix socket for "sipproxy-ctl"; "" none; default "" */
	char metrics_listen[64];   /* metrics.listen "addr:port" (METRICS_LISTEN_MAX); "" = off */
	int log_level;                 /* LOG_ERR..LOG_DEBUG, "info" default */
	bool log_syslog;
	char state_file[SPC_PATH_MAX]; /* state.file: registrations and calls kept across a
					  restart (an absolute path); "" = none (default) */

	struct spc_listen listen[SPC_MAX_LISTEN];
	unsigned nlisten;
	struct spc_realm realms[SPC_MAX_REALMS];
	unsigned nrealms;
	char domains[SPC_MAX_DOMAINS][SPC_HOST_MAX]; /* served by the registrar, lower case */
	unsigned ndomains;
	struct spc_nat nats[SPC_MAX_NATS];
	unsigned nnats;
	struct spc_rule rules[SPC_MAX_RULES];
	unsigned nrules;
	struct spc_route routes[SPC_MAX_ROUTES];
	unsigned nroutes;
	/* trusted_peers: sources whose requests are relayed without
	 * authentication and whose Via maddr is honoured (policy.h); default
	 * none */
	struct prefix trusted_peers[SPC_MAX_TRUSTED];
	unsigned ntrusted_peers;

	/* media.* */
	enum spc_ice ice;              /* "strip" (default), "keep", "rewrite" */
	bool remote_filter;            /* remote filter from the other side's SDP; default true */
	uint32_t latch;                /* s, media.latch: natd admits the first source seen this
					  long after a filtered binding is made; 0 = off (default) */
	unsigned max_bindings_per_user; /* live bindings of one user's (or source address's)
					   calls; 0 = no cap; default 64 */
	enum spc_natd_failure on_natd_failure; /* "reject" (default) or "pass" */
	uint32_t binding_lifetime;     /* s, BIND lease; default 120 (10..86400); refreshed at half */
	uint32_t max_call_duration;    /* s, bindings released after this; default 14400 (60..604800) */

	/* registrar.* */
	uint32_t reg_min_expires;      /* default 60 */
	uint32_t reg_max_expires;      /* default 3600 */
	uint32_t reg_default_expires;  /* default 3600 */
	unsigned reg_max_contacts;     /* per AoR, default 8 (1..64) */
	unsigned reg_max_aors;         /* default 10000 (1..1000000) */

	/* sip.* */
	unsigned max_message;          /* bytes, default 65535 (1024..65535) */
	unsigned max_transactions;     /* default 200000 (16..1000000) */
	unsigned max_calls;            /* default 10000 (16..1000000) */
	unsigned t1_ms;                /* default 500 (50..10000) */
	unsigned t2_ms;                /* default 4000 (100..60000) */
	unsigned t4_ms;                /* default 5000 (100..60000) */
	unsigned timer_c;              /* s, default 180 (30..3600) */
	unsigned tcp_max_connections;  /* default 1024 (1..65536) */
	unsigned tcp_max_per_source;   /* accepted TCP+TLS connections per source address,
					  0 = no cap; default 32 (0..65536) */
	unsigned tcp_idle_timeout;     /* s, default 600 (5..86400) */
	bool udp_send_thread;          /* UDP sent by a sender thread when >= 2 CPUs
					  (transport.h); default true; read at start */
	uint32_t rate_limit;           /* requests/s per source address, 0 = off (default) */
	uint32_t dialog_mismatch_rate; /* 481s/s per source for requests claiming an unknown
					  dialog, beyond it dropped; 0 = off; default 20 */

	/* auth.*: SIP digest authentication (auth.h) */
	char auth_realm[SPC_HOST_MAX]; /* digest realm; "" in the file = the first domain
					  (else the first listen address), resolved at load */
	int auth_algs[SPC_MAX_ALGS];   /* algorithms = [ "SHA-256", "MD5" ] (default): the
					  challenges offered, in this order of preference */
	unsigned auth_nalgs;
	char auth_users_file[SPC_PATH_MAX]; /* HA1 file (mode 0600, the daemon's user); "" = no users */
	uint32_t auth_nonce_lifetime;  /* s, default 300 (10..3600) */
	unsigned auth_max_failures;    /* per source and per user before lockout, default 10 (1..10000) */
	uint32_t auth_lockout;         /* s, default 300 (1..86400) */

	struct spc_tls tls;
	struct spc_ha ha;              /* ha.* */
};

/* Load path into *c (fully overwritten). Problems go to errs (NULL:
 * stderr) as "path:line: setting: problem". 0, or -1 if there was any. */
int sp_conf_load(const char *path, struct sp_conf *c, FILE *errs);

/* The same from a string (tests); name is used in messages. */
int sp_conf_load_string(const char *text, const char *name, struct sp_conf *c, FILE *errs);

/* Realm of an IPv4 address (network byte order): longest prefix match over
 * every realm; -1 if none matches. */
int sp_conf_realm_of(const struct sp_conf *c, uint32_t addr_be);

/* Index of the realm called name, or -1. */
int sp_conf_realm_index(const struct sp_conf *c, const char *name);

/* First listen entry in realm (with udp, or with tcp when tcp is true);
 * -1 if none. */
int sp_conf_listen_of(const struct sp_conf *c, int realm, bool tcp);

/* First listen entry in realm with a TLS listener; -1 if none. */
int sp_conf_listen_tls(const struct sp_conf *c, int realm);

/* The tls.peers entry whose prefix holds addr (longest), or NULL. */
const struct spc_tls_peer *sp_conf_tls_peer(const struct sp_conf *c, uint32_t addr_be);

/* The media rule for (from, to), or NULL: SDP passes unchanged. */
const struct spc_rule *sp_conf_rule(const struct sp_conf *c, int from, int to);

/* The SPC_MP_* of an m= protocol name (case-insensitive), or -1. */
int sp_conf_media_proto(const char *name);

/* true if rule r may bind a stream of this m= protocol on this port
 * (with rtp_pair, port+1 must fit the range too). */
bool sp_conf_rule_admits(const struct spc_rule *r, const char *proto, uint16_t port, bool rtp_pair);

/* The static route for a Request-URI host (a name, or an IPv4 literal):
 * an exact domain first, then the longest "*." suffix, then the longest
 * prefix for literals; NULL if none. Case-insensitive. */
const struct spc_route *sp_conf_route(const struct sp_conf *c, const char *host);

/* true if host names this proxy: one of domains[] (case-insensitive), a
 * listen address or an advertised host. */
bool sp_conf_is_local_domain(const struct sp_conf *c, const char *host);

#endif
