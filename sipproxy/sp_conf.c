/* sp_conf: table-driven, strict loading of sipproxy.conf (see sp_conf.h).
 *
 * Theory of operation. Every setting is described once, in a table of
 * the shared engine's struct conftab_item (path or key, type, range,
 * default, where the value goes; see conftab.h): items[] for the top-level
 * settings and those of the groups log, media, registrar, sip and state;
 * one key table per list (realms, listen, nats, media_rules, routes) for
 * the members of one element. The types below add sipproxy's own (names,
 * hosts, addresses, prefixes, media protocols...). A list element is
 * loaded into a "raw" element held in struct ctx: the public struct plus
 * the names that still have to be resolved to indexes (a listen's realm, a
 * rule's realms and nat). Loading makes four passes over libconfig's tree,
 * none of which stops at the first problem, after the engine's scan of the
 * text for the integer literals libconfig 1.5 silently cuts to 32 bits (so
 * that 10000000000 is refused, not read as 1410065408):
 *   1. unknown settings: every setting that no table knows;
 *   2. values: each item's default, then its setting if present, with its
 *      type and range checked (lists element by element, required keys);
 *   3. element checks: what one list element needs on its own (a nat has
 *      exactly one of socket and host; a route one of domain and prefix);
 *   4. cross-field: names resolved to indexes, uniqueness, references,
 *      orderings (min_expires <= default_expires <= max_expires...).
 * Every problem is one line "file:line: setting: problem" on errs, where
 * setting is the path of the setting ("listen[1].realm"); the load fails if
 * there was any. The look-up functions at the end are what the proxy calls
 * at run time: they only read the struct.
 */
#include "sp_conf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>

#include "conftab.h"
#include "metrics.h"
#include "name.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SUN_PATH_SIZE sizeof(((struct sockaddr_un *)0)->sun_path)
#define SIP_PORT 5060

/* Enums are stored through int copies (conftab_enum). */
_Static_assert(sizeof(enum spc_ice) == sizeof(int), "enum spc_ice is an int");
_Static_assert(sizeof(enum spc_natd_failure) == sizeof(int), "enum spc_natd_failure is an int");
_Static_assert(SPC_MAX_REALMS <= 32, "a route's allow_realms is a 32-bit mask");

/* sipproxy's own types, defined with their loaders below. */
static const struct conftab_type
	t_name,       /* min..size-1 bytes of the name grammar (name.h) */
	t_host,       /* host name or IPv4 literal ("" too when min is 0) */
	t_numhost,    /* numeric IPv4 or IPv6 address, kept as text */
	t_rdomain,    /* host name or "*." and a host name; lower-cased */
	t_port,       /* port of the struct sockaddr_in at off, min..max */
	t_ipv4,       /* "a.b.c.d", not 0.0.0.0, into the struct sockaddr_in at off */
	t_hostport,   /* "a.b.c.d[:port]", not 0.0.0.0, into a struct sockaddr_in */
	t_prefix,     /* "a.b.c.d/len" into a struct prefix */
	t_prefixes,   /* [ prefixes ]: at most size, count (unsigned) at off2 */
	t_transports, /* [ "udp", "tcp", "tls" ]: a uint32_t mask (bit i: transport_choices[i]) at off */
	t_domains,    /* [ host names ]: char[size][SPC_HOST_MAX], lower-cased, count at off2 */
	t_allowfrom,  /* [ realm names or prefixes ]: a struct allow_raw at off */
	t_mprotos,    /* [ m= protocols ]: uint32_t SPC_MP_* bits at off */
	t_portrange,  /* "lo-hi" or "port": uint16_t lo at off, hi at off2; default dflt-max */
	t_listed,     /* a list loaded by conftab_load_list (tls.peers) */
	t_ha_peers;   /* [ node names ]: char[size][HASTORE_NAME_MAX], count at off2 */

static const struct conftab_choice log_levels[] = {
	{"error", LOG_ERR}, {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
	{"info", LOG_INFO}, {"debug", LOG_DEBUG}, {NULL, 0},
};
static const struct conftab_choice ice_choices[] = {
	{"strip", SPC_ICE_STRIP}, {"keep", SPC_ICE_KEEP}, {"rewrite", SPC_ICE_REWRITE}, {NULL, 0},
};
static const struct conftab_choice failure_choices[] = {
	{"reject", SPC_FAIL_REJECT}, {"pass", SPC_FAIL_PASS}, {NULL, 0},
};
static const struct conftab_choice transport_choices[] = {{"udp", 0}, {"tcp", 1}, {"tls", 2}, {NULL, 0}};
static const struct conftab_choice ha_modes[] = {{"pair", SPC_HA_PAIR}, {"shared", SPC_HA_SHARED}, {NULL, 0}};
static const struct conftab_choice alg_choices[] = {
	{"SHA-256", SPC_ALG_SHA256}, {"MD5", SPC_ALG_MD5}, {NULL, 0},
};

#define OFF(f) offsetof(struct sp_conf, f)

static const struct conftab_item items[] = {
	{.path = "user", .type = &conftab_str, .off = OFF(user), .size = sizeof(((struct sp_conf *)0)->user),
	 .dflt_s = "sipproxy"},
	{.path = "pidfile", .type = &conftab_str, .off = OFF(pidfile), .size = SPC_PATH_MAX,
	 .dflt_s = "/run/sipproxy/sipproxy.pid"},
	{.path = "status_socket", .type = &conftab_str, .off = OFF(status_socket), .size = SUN_PATH_SIZE,
	 .dflt_s = ""},
	{.path = "metrics.listen", .type = &metrics_conf_listen, .off = OFF(metrics_listen),
	 .size = METRICS_LISTEN_MAX, .dflt_s = ""},
	{.path = "log.level", .type = &conftab_enum, .off = OFF(log_level), .dflt = LOG_INFO,
	 .choices = log_levels},
	{.path = "log.syslog", .type = &conftab_bool, .off = OFF(log_syslog), .dflt = 0},
	{.path = "state.file", .type = &conftab_str, .off = OFF(state_file), .size = SPC_PATH_MAX,
	 .dflt_s = ""},
	HASTORE_CONF_ITEMS("ha", OFF(ha.store), "natedge:sipproxy"),
	{.path = "ha.mode", .type = &conftab_enum, .off = OFF(ha.mode), .dflt = SPC_HA_PAIR, .choices = ha_modes},
	{.path = "ha.peers", .type = &t_ha_peers, .off = OFF(ha.peers), .size = SPC_HA_MAX_PEERS,
	 .off2 = OFF(ha.npeers)},
	{.path = "domains", .type = &t_domains, .off = OFF(domains), .size = SPC_MAX_DOMAINS,
	 .off2 = OFF(ndomains)},
	{.path = "trusted_peers", .type = &t_prefixes, .off = OFF(trusted_peers),
	 .size = SPC_MAX_TRUSTED, .off2 = OFF(ntrusted_peers)},
	{.path = "media.ice", .type = &conftab_enum, .off = OFF(ice), .dflt = SPC_ICE_STRIP,
	 .choices = ice_choices},
	{.path = "media.remote_filter", .type = &conftab_bool, .off = OFF(remote_filter), .dflt = 1},
	{.path = "media.latch", .type = &conftab_uint, .min = 0, .max = 3600, .off = OFF(latch), .dflt = 0},
	{.path = "media.max_bindings_per_user", .type = &conftab_uint, .min = 0, .max = 1000000,
	 .off = OFF(max_bindings_per_user), .dflt = 64},
	{.path = "media.on_natd_failure", .type = &conftab_enum, .off = OFF(on_natd_failure),
	 .dflt = SPC_FAIL_REJECT, .choices = failure_choices},
	{.path = "media.binding_lifetime", .type = &conftab_uint, .min = 10, .max = 86400,
	 .off = OFF(binding_lifetime), .dflt = 120},
	{.path = "media.max_call_duration", .type = &conftab_uint, .min = 60, .max = 604800,
	 .off = OFF(max_call_duration), .dflt = 14400},
	{.path = "registrar.min_expires", .type = &conftab_uint, .min = 1, .max = 86400,
	 .off = OFF(reg_min_expires), .dflt = 60},
	{.path = "registrar.max_expires", .type = &conftab_uint, .min = 1, .max = 604800,
	 .off = OFF(reg_max_expires), .dflt = 3600},
	{.path = "registrar.default_expires", .type = &conftab_uint, .min = 1, .max = 604800,
	 .off = OFF(reg_default_expires), .dflt = 3600},
	{.path = "registrar.max_contacts", .type = &conftab_uint, .min = 1, .max = 64,
	 .off = OFF(reg_max_contacts), .dflt = 8},
	{.path = "registrar.max_aors", .type = &conftab_uint, .min = 1, .max = 1000000,
	 .off = OFF(reg_max_aors), .dflt = 10000},
	{.path = "sip.max_message", .type = &conftab_uint, .min = 1024, .max = 65535,
	 .off = OFF(max_message), .dflt = 65535},
	{.path = "sip.max_transactions", .type = &conftab_uint, .min = 16, .max = 1000000,
	 .off = OFF(max_transactions), .dflt = 200000},
	{.path = "sip.max_calls", .type = &conftab_uint, .min = 16, .max = 1000000, .off = OFF(max_calls),
	 .dflt = 10000},
	{.path = "sip.t1_ms", .type = &conftab_uint, .min = 50, .max = 10000, .off = OFF(t1_ms), .dflt = 500},
	{.path = "sip.t2_ms", .type = &conftab_uint, .min = 100, .max = 60000, .off = OFF(t2_ms), .dflt = 4000},
	{.path = "sip.t4_ms", .type = &conftab_uint, .min = 100, .max = 60000, .off = OFF(t4_ms), .dflt = 5000},
	{.path = "sip.timer_c", .type = &conftab_uint, .min = 30, .max = 3600, .off = OFF(timer_c), .dflt = 180},
	{.path = "sip.tcp_max_connections", .type = &conftab_uint, .min = 1, .max = 65536,
	 .off = OFF(tcp_max_connections), .dflt = 1024},
	{.path = "sip.tcp_max_per_source", .type = &conftab_uint, .min = 0, .max = 65536,
	 .off = OFF(tcp_max_per_source), .dflt = 32},
	{.path = "sip.udp_send_thread", .type = &conftab_bool, .off = OFF(udp_send_thread), .dflt = 1},
	{.path = "sip.tcp_idle_timeout", .type = &conftab_uint, .min = 5, .max = 86400,
	 .off = OFF(tcp_idle_timeout), .dflt = 600},
	{.path = "sip.rate_limit", .type = &conftab_uint, .min = 0, .max = 1000000, .off = OFF(rate_limit),
	 .dflt = 0},
	{.path = "sip.dialog_mismatch_rate", .type = &conftab_uint, .min = 0, .max = 1000000,
	 .off = OFF(dialog_mismatch_rate), .dflt = 20},
	{.path = "auth.realm", .type = &conftab_str, .off = OFF(auth_realm), .size = SPC_HOST_MAX,
	 .dflt_s = ""},
	{.path = "auth.users_file", .type = &conftab_str, .off = OFF(auth_users_file), .size = SPC_PATH_MAX,
	 .dflt_s = ""},
	{.path = "auth.algorithms", .type = &conftab_enumlist, .off = OFF(auth_algs), .size = SPC_MAX_ALGS,
	 .off2 = OFF(auth_nalgs), .choices = alg_choices},
	{.path = "auth.nonce_lifetime", .type = &conftab_uint, .min = 10, .max = 3600,
	 .off = OFF(auth_nonce_lifetime), .dflt = 300},
	{.path = "auth.max_failures", .type = &conftab_uint, .min = 1, .max = 10000,
	 .off = OFF(auth_max_failures), .dflt = 10},
	{.path = "auth.lockout", .type = &conftab_uint, .min = 1, .max = 86400, .off = OFF(auth_lockout),
	 .dflt = 300},
	{.path = "tls.cert", .type = &conftab_str, .off = OFF(tls.cert), .size = SPC_PATH_MAX, .dflt_s = ""},
	{.path = "tls.key", .type = &conftab_str, .off = OFF(tls.key), .size = SPC_PATH_MAX, .dflt_s = ""},
	{.path = "tls.ca", .type = &conftab_str, .off = OFF(tls.ca), .size = SPC_PATH_MAX, .dflt_s = ""},
	{.path = "tls.verify_peers", .type = &conftab_bool, .off = OFF(tls.verify_peers), .dflt = 1},
	{.path = "tls.handshake_timeout", .type = &conftab_uint, .min = 1, .max = 60,
	 .off = OFF(tls.handshake_timeout), .dflt = 5},
	{.path = "tls.peers", .type = &t_listed}, /* the list L_PEERS */
};

static const char *const groups[] = {"auth", "ha", "log", "media", "metrics", "registrar", "sip", "state", "tls"};
_Static_assert(sizeof(((struct sp_conf *)0)->metrics_listen) == METRICS_LISTEN_MAX,
	       "metrics.listen holds what metrics_listen_ok() takes");

/* Raw list elements: the public struct and the names still to resolve. */
struct listen_raw {
	struct spc_listen l;
	char realm[SPC_NAME_MAX];
	uint32_t transports; /* bit i: transport_choices[i] */
};

struct rule_raw {
	struct spc_rule r;
	char from[SPC_NAME_MAX], to[SPC_NAME_MAX], nat[SPC_NAME_MAX];
};

/* allow_from as written: prefixes, and realm names to resolve. */
struct allow_raw {
	struct prefix prefixes[SPC_MAX_ALLOW];
	unsigned nprefixes;
	char names[SPC_MAX_ALLOW][SPC_NAME_MAX];
	unsigned nnames;
};

struct route_raw {
	struct spc_route r;
	int transport; /* 0 udp, 1 tcp, 2 tls */
	struct allow_raw allow;
};

#define RLOFF(f) offsetof(struct spc_realm, f)
static const struct conftab_item realm_keys[] = {
	{.path = "name", .type = &t_name, .flags = CONFTAB_REQ, .min = 1, .off = RLOFF(name),
	 .size = SPC_NAME_MAX},
	{.path = "prefixes", .type = &t_prefixes, .off = RLOFF(prefixes), .size = SPC_MAX_PREFIXES,
	 .off2 = RLOFF(nprefixes)},
};

#define LOFF(f) offsetof(struct listen_raw, f)
static const struct conftab_item listen_keys[] = {
	{.path = "address", .type = &t_ipv4, .flags = CONFTAB_REQ, .off = LOFF(l.addr)},
	{.path = "port", .type = &t_port, .min = 1, .max = 65535, .off = LOFF(l.addr), .dflt = SIP_PORT},
	{.path = "realm", .type = &t_name, .flags = CONFTAB_REQ, .min = 1, .off = LOFF(realm),
	 .size = SPC_NAME_MAX},
	{.path = "transports", .type = &t_transports, .off = LOFF(transports), .dflt = 3},
	{.path = "tls_port", .type = &conftab_u16, .min = 1, .max = 65535, .off = LOFF(l.tls_port),
	 .dflt = 5061},
	{.path = "advertise", .type = &t_host, .min = 0, .off = LOFF(l.advertise), .size = SPC_HOST_MAX,
	 .dflt_s = ""},
};

#define NOFF(f) offsetof(struct spc_nat, f)
static const struct conftab_item nat_keys[] = {
	{.path = "name", .type = &t_name, .flags = CONFTAB_REQ, .min = 1, .off = NOFF(name),
	 .size = SPC_NAME_MAX},
	{.path = "socket", .type = &conftab_str, .min = 1, .off = NOFF(socket), .size = SUN_PATH_SIZE,
	 .dflt_s = ""},
	{.path = "host", .type = &t_numhost, .min = 1, .off = NOFF(host),
	 .size = sizeof(((struct spc_nat *)0)->host), .dflt_s = ""},
	{.path = "port", .type = &conftab_u16, .min = 1, .max = 65535, .off = NOFF(port), .dflt = 0},
	{.path = "secret_file", .type = &conftab_str, .min = 1, .off = NOFF(secret_file), .size = SPC_PATH_MAX,
	 .dflt_s = ""},
	{.path = "client_name", .type = &t_name, .min = 1, .off = NOFF(client_name),
	 .size = SPC_NAME_MAX, .dflt_s = "sipproxy"},
	{.path = "timeout_ms", .type = &conftab_uint, .min = 1, .max = 60000, .off = NOFF(timeout_ms),
	 .dflt = 500},
	{.path = "tls", .type = &conftab_bool, .min = 0, .max = 1, .off = NOFF(tls), .dflt = 0},
	{.path = "tls_cert", .type = &conftab_str, .min = 1, .off = NOFF(tls_cert), .size = SPC_PATH_MAX,
	 .dflt_s = ""},
	{.path = "tls_key", .type = &conftab_str, .min = 1, .off = NOFF(tls_key), .size = SPC_PATH_MAX,
	 .dflt_s = ""},
	{.path = "tls_ca", .type = &conftab_str, .min = 1, .off = NOFF(tls_ca), .size = SPC_PATH_MAX,
	 .dflt_s = ""},
	{.path = "tls_name", .type = &conftab_str, .min = 1, .off = NOFF(tls_name), .size = SPC_NAME_MAX,
	 .dflt_s = ""},
};

#define ROFF(f) offsetof(struct rule_raw, f)
static const struct conftab_item rule_keys[] = {
	{.path = "from", .type = &t_name, .flags = CONFTAB_REQ, .min = 1, .off = ROFF(from),
	 .size = SPC_NAME_MAX},
	{.path = "to", .type = &t_name, .flags = CONFTAB_REQ, .min = 1, .off = ROFF(to), .size = SPC_NAME_MAX},
	{.path = "nat", .type = &t_name, .flags = CONFTAB_REQ, .min = 1, .off = ROFF(nat), .size = SPC_NAME_MAX},
	{.path = "natd_in", .type = &t_name, .min = 1, .off = ROFF(r.natd_in), .size = SPC_NAME_MAX,
	 .dflt_s = ""},
	{.path = "natd_ext", .type = &t_name, .min = 1, .off = ROFF(r.natd_ext), .size = SPC_NAME_MAX,
	 .dflt_s = ""},
	{.path = "transit", .type = &t_name, .min = 0, .off = ROFF(r.transit), .size = SPC_NAME_MAX,
	 .dflt_s = ""},
	{.path = "protocols", .type = &t_mprotos, .off = ROFF(r.protocols)},
	{.path = "tcp_media", .type = &conftab_bool, .off = ROFF(r.tcp_media), .dflt = 0},
	{.path = "ports", .type = &t_portrange, .min = 1, .max = 65535, .off = ROFF(r.port_lo),
	 .off2 = ROFF(r.port_hi), .dflt = 1024},
};

/* Names of the SPC_MP_* values, as m= lines write them. */
static const char *const mproto_names[SPC_MP_COUNT] = {
	[SPC_MP_RTP_AVP] = "RTP/AVP",
	[SPC_MP_RTP_SAVP] = "RTP/SAVP",
	[SPC_MP_RTP_AVPF] = "RTP/AVPF",
	[SPC_MP_RTP_SAVPF] = "RTP/SAVPF",
	[SPC_MP_UDP_TLS_RTP_SAVP] = "UDP/TLS/RTP/SAVP",
	[SPC_MP_UDP_TLS_RTP_SAVPF] = "UDP/TLS/RTP/SAVPF",
	[SPC_MP_UDPTL] = "udptl",
	[SPC_MP_TCP_MSRP] = "TCP/MSRP",
	[SPC_MP_TCP_TLS_MSRP] = "TCP/TLS/MSRP",
	[SPC_MP_TCP_BFCP] = "TCP/BFCP",
	[SPC_MP_TCP_TLS_BFCP] = "TCP/TLS/BFCP",
	[SPC_MP_TCP_RTP_AVP] = "TCP/RTP/AVP",
	[SPC_MP_TCP_TLS_RTP_AVP] = "TCP/TLS/RTP/AVP",
};

#define TOFF(f) offsetof(struct route_raw, f)
static const struct conftab_item route_keys[] = {
	{.path = "domain", .type = &t_rdomain, .min = 1, .off = TOFF(r.domain), .size = SPC_HOST_MAX,
	 .dflt_s = ""},
	{.path = "prefix", .type = &t_prefix, .off = TOFF(r.prefix)},
	{.path = "next_hop", .type = &t_hostport, .flags = CONFTAB_REQ, .off = TOFF(r.next_hop)},
	{.path = "transport", .type = &conftab_enum, .off = TOFF(transport), .dflt = 0,
	 .choices = transport_choices},
	{.path = "allow_from", .type = &t_allowfrom, .off = TOFF(allow), .size = SPC_MAX_ALLOW},
};

#define POFF(f) offsetof(struct spc_tls_peer, f)
static const struct conftab_item tls_peer_keys[] = {
	{.path = "prefix", .type = &t_prefix, .flags = CONFTAB_REQ, .off = POFF(prefix)},
	{.path = "name", .type = &t_host, .flags = CONFTAB_REQ, .min = 1, .off = POFF(name),
	 .size = SPC_HOST_MAX},
	{.path = "mutual", .type = &conftab_bool, .off = POFF(mutual), .dflt = 0},
};

enum { L_REALMS, L_LISTEN, L_NATS, L_RULES, L_ROUTES, L_PEERS, NLISTS };
#define MAX_ELEMS SPC_MAX_ROUTES /* the longest list */

struct ctx {
	struct conftab ct; /* the file, its problems */
	struct spc_realm realms[SPC_MAX_REALMS];
	struct listen_raw listen[SPC_MAX_LISTEN];
	struct spc_nat nats[SPC_MAX_NATS];
	struct rule_raw rules[SPC_MAX_RULES];
	struct route_raw routes[SPC_MAX_ROUTES];
	struct spc_tls_peer tls_peers[SPC_MAX_TLS_PEERS];
	unsigned n[NLISTS];                             /* elements loaded */
	const config_setting_t *g[NLISTS][MAX_ELEMS];   /* their groups, for messages */
};

static void check_nat(struct conftab *ct, const config_setting_t *g, void *elem);
static void check_route(struct conftab *ct, const config_setting_t *g, void *elem);

static const struct conftab_list lists[NLISTS] = {
	[L_REALMS] = {"realms", realm_keys, NELEM(realm_keys), sizeof(struct spc_realm), SPC_MAX_REALMS,
		      "{ name = ...; prefixes = [...]; }", NULL},
	[L_LISTEN] = {"listen", listen_keys, NELEM(listen_keys), sizeof(struct listen_raw), SPC_MAX_LISTEN,
		      "{ address = ...; realm = ...; }", NULL},
	[L_NATS] = {"nats", nat_keys, NELEM(nat_keys), sizeof(struct spc_nat), SPC_MAX_NATS,
		    "{ name = ...; socket = ...; }", check_nat},
	[L_RULES] = {"media_rules", rule_keys, NELEM(rule_keys), sizeof(struct rule_raw), SPC_MAX_RULES,
		     "{ from = ...; to = ...; nat = ...; }", NULL},
	[L_ROUTES] = {"routes", route_keys, NELEM(route_keys), sizeof(struct route_raw), SPC_MAX_ROUTES,
		      "{ domain = ...; next_hop = ...; }", check_route},
	[L_PEERS] = {"tls.peers", tls_peer_keys, NELEM(tls_peer_keys), sizeof(struct spc_tls_peer),
			 SPC_MAX_TLS_PEERS, "{ prefix = ...; name = ...; }", NULL},
};

/* ---- messages ---- */

/* Problems go through the engine, which counts them in c->ct. */
#define cerr(c, ...) conftab_err(&(c)->ct, __VA_ARGS__)

/* Member key of g if present, else g itself: where to point a message. */
static const config_setting_t *at(const config_setting_t *g, const char *key)
{
	const config_setting_t *m = g ? config_setting_get_member(g, key) : NULL;
	return m ? m : g;
}

/* Setting path if present, else the root: where to point a message. */
static const config_setting_t *at_path(const config_t *cfg, const char *path)
{
	const config_setting_t *s = config_lookup(cfg, path);
	return s ? s : config_root_setting(cfg);
}

static int line_of(const config_setting_t *s)
{
	return s ? config_setting_source_line(s) : 0;
}

/* ---- parsing of single values ---- */

/* "a.b.c.d[:port]", port 1..65535 (default 5060), address not 0.0.0.0. */
static bool parse_hostport(const char *s, struct sockaddr_in *sa)
{
	char a[INET_ADDRSTRLEN];
	const char *colon = strchr(s, ':');
	size_t alen = colon ? (size_t)(colon - s) : strlen(s);
	unsigned long port = SIP_PORT;
	struct in_addr in;

	if (alen == 0 || alen >= sizeof(a))
		return false;
	memcpy(a, s, alen);
	a[alen] = '\0';
	if (inet_pton(AF_INET, a, &in) != 1 || in.s_addr == htonl(INADDR_ANY))
		return false;
	if (colon) {
		const char *d = colon + 1;
		size_t nd = strspn(d, "0123456789");
		if (nd == 0 || nd > 5 || d[nd])
			return false;
		port = strtoul(d, NULL, 10);
		if (port < 1 || port > 65535)
			return false;
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr = in;
	sa->sin_port = htons((uint16_t)port);
	return true;
}

/* A host name (RFC 1123 labels of letters, digits and inner hyphens,
 * separated by single dots) or an IPv4 literal, which has that shape too. */
static bool valid_host(const char *s)
{
	size_t n = strlen(s), lab = 0;

	if (n == 0 || n >= SPC_HOST_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.' || ch == '\0') {
			if (lab == 0 || lab > 63 || s[i - 1] == '-')
				return false;
			lab = 0;
		} else if (isalnum(ch) || (ch == '-' && lab > 0)) {
			lab++;
		} else {
			return false;
		}
	}
	return true;
}

static void lower_copy(char *dst, const char *src, size_t size)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < size; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

/* ---- sipproxy's types ---- */

/* t_name, t_host, t_numhost, t_rdomain: a string item, then its grammar. */
static void text_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
		      char *base)
{
	char *dst = base + it->off;
	const char *v = conftab_str_get(c, s, it);
	unsigned char bin[sizeof(struct in6_addr)];
	size_t len;

	if (!v)
		return;
	len = strlen(v);
	if (it->type == &t_name && !name_chars_ok(v)) {
		conftab_err(c, s, NULL, "\"%s\" is not a name (1..%zu characters of A-Z a-z 0-9 . _ -)", v,
			    it->size - 1);
		return;
	}
	if (it->type == &t_host && len && !valid_host(v)) {
		conftab_err(c, s, NULL, "\"%s\" is not a host name or IPv4 address", v);
		return;
	}
	if (it->type == &t_numhost && inet_pton(AF_INET, v, bin) != 1 &&
	    inet_pton(AF_INET6, v, bin) != 1) {
		conftab_err(c, s, NULL, "\"%s\" is not a numeric IPv4 or IPv6 address", v);
		return;
	}
	if (it->type == &t_rdomain) {
		if (!valid_host(!strncmp(v, "*.", 2) ? v + 2 : v)) {
			conftab_err(c, s, NULL, "\"%s\" is not a domain name, or \"*.\" and one", v);
			return;
		}
		lower_copy(dst, v, it->size);
		return;
	}
	memcpy(dst, v, len + 1);
}

static void port_init(const struct conftab_item *it, char *base)
{
	((struct sockaddr_in *)(void *)(base + it->off))->sin_port = htons((uint16_t)it->dflt);
}

static void port_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
		      char *base)
{
	long long n;

	if (conftab_int_of(c, s, it->min, it->max, &n))
		((struct sockaddr_in *)(void *)(base + it->off))->sin_port = htons((uint16_t)n);
}

static void inet_init(const struct conftab_item *it, char *base)
{
	((struct sockaddr_in *)(void *)(base + it->off))->sin_family = AF_INET;
}

static void ipv4_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
		      char *base)
{
	const char *v = conftab_str_of(c, s);
	struct in_addr in;

	if (!v)
		return;
	if (inet_pton(AF_INET, v, &in) != 1)
		conftab_err(c, s, NULL, "\"%s\" is not an IPv4 address", v);
	else if (in.s_addr == htonl(INADDR_ANY))
		conftab_err(c, s, NULL, "0.0.0.0 is not allowed: name the address itself");
	else
		((struct sockaddr_in *)(void *)(base + it->off))->sin_addr = in;
}

static void hostport_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			  char *base)
{
	const char *v = conftab_str_of(c, s);

	if (v && !parse_hostport(v, (struct sockaddr_in *)(void *)(base + it->off)))
		conftab_err(c, s, NULL, "\"%s\" is not an IPv4 address (not 0.0.0.0) with an optional :port", v);
}

static void prefix_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			char *base)
{
	const char *v = conftab_str_of(c, s);
	struct prefix p;
	char buf[32];
	int rc;

	if (!v)
		return;
	if ((rc = prefix_parse(v, &p)) == -EINVAL)
		conftab_err(c, s, NULL, "\"%s\" is not a prefix a.b.c.d/len", v);
	else if (rc == -EDOM)
		conftab_err(c, s, NULL, "\"%s\" has host bits set (the prefix is %s)", v,
			    prefix_fmt(&p, buf, sizeof(buf)));
	else
		memcpy(base + it->off, &p, sizeof(p));
}

/* The item of an array loader and where it goes. */
struct array_arg {
	const struct conftab_item *it;
	char *base;
};

static bool prefixes_one(struct conftab *c, const config_setting_t *e, const char *v, void *arg)
{
	const struct array_arg *a = arg;
	struct prefix *pfx = (struct prefix *)(void *)(a->base + a->it->off);
	unsigned *n = (unsigned *)(void *)(a->base + a->it->off2);
	struct prefix p;
	char buf[32];
	int rc;

	if (*n >= a->it->size) {
		conftab_err(c, e, NULL, "more than %zu prefixes", a->it->size);
		return false;
	}
	if ((rc = prefix_parse(v, &p)) == -EINVAL) {
		conftab_err(c, e, NULL, "\"%s\" is not a prefix a.b.c.d/len", v);
		return true;
	}
	if (rc == -EDOM) {
		conftab_err(c, e, NULL, "\"%s\" has host bits set (the prefix is %s)", v,
			    prefix_fmt(&p, buf, sizeof(buf)));
		return true;
	}
	for (unsigned k = 0; k < *n; k++)
		if (pfx[k].addr == p.addr && pfx[k].len == p.len) {
			conftab_err(c, e, NULL, "\"%s\" is listed twice", v);
			return true;
		}
	pfx[(*n)++] = p;
	return true;
}

static void prefixes_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			  char *base)
{
	struct array_arg a = {it, base};

	conftab_each_str(c, s, "\"a.b.c.d/len\", ...", prefixes_one, &a);
}

static int transport_index(const char *name, const void *arg)
{
	(void)arg;
	return !strcmp(name, "udp") ? 0 : !strcmp(name, "tcp") ? 1 : !strcmp(name, "tls") ? 2 : -1;
}

static void transports_init(const struct conftab_item *it, char *base)
{
	uint32_t m = (uint32_t)it->dflt;

	memcpy(base + it->off, &m, sizeof(m));
}

static void transports_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			    char *base)
{
	unsigned n;
	uint32_t seen = conftab_name_list(c, s, "\"udp\", \"tcp\", \"tls\"",
					  "must name at least one of \"udp\", \"tcp\", \"tls\"",
					  "is not one of udp, tcp, tls", transport_index, NULL, NULL, 0, &n);

	memcpy(base + it->off, &seen, sizeof(seen));
}

/* A setting loaded as a list of its own (conftab_load_list): nothing here. */
static void listed_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			char *base)
{
	(void)c, (void)s, (void)it, (void)base;
}

int sp_conf_media_proto(const char *name)
{
	for (int i = 0; name && i < SPC_MP_COUNT; i++)
		if (!strcasecmp(name, mproto_names[i]))
			return i;
	return -1;
}

bool sp_conf_rule_admits(const struct spc_rule *r, const char *proto, uint16_t port, bool rtp_pair)
{
	int p = sp_conf_media_proto(proto);

	return p >= 0 && (r->protocols & (1u << p)) && port >= r->port_lo &&
	       (unsigned)port + (rtp_pair ? 1u : 0u) <= r->port_hi;
}

static int mproto_index(const char *name, const void *arg)
{
	(void)arg;
	return sp_conf_media_proto(name);
}

static void mprotos_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			 char *base)
{
	unsigned n;
	uint32_t bits = conftab_name_list(c, s, "\"RTP/AVP\", \"RTP/SAVP\", ...",
					  "must name at least one m= protocol",
					  "is not a media protocol this proxy binds (RTP/AVP, RTP/SAVP, RTP/AVPF, "
					  "RTP/SAVPF, UDP/TLS/RTP/SAVP, UDP/TLS/RTP/SAVPF, udptl, TCP/MSRP, "
					  "TCP/TLS/MSRP, TCP/BFCP, TCP/TLS/BFCP, TCP/RTP/AVP, TCP/TLS/RTP/AVP)",
					  mproto_index, NULL, NULL, 0, &n);

	memcpy(base + it->off, &bits, sizeof(bits));
}

static void portrange_init(const struct conftab_item *it, char *base)
{
	uint16_t lo = (uint16_t)it->dflt, hi = (uint16_t)it->max;

	memcpy(base + it->off, &lo, sizeof(lo));
	memcpy(base + it->off2, &hi, sizeof(hi));
}

/* "lo-hi" or a single port, within it->min..it->max, lo <= hi. */
static void portrange_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			   char *base)
{
	const char *v = conftab_str_of(c, s);
	unsigned long lo, hi;
	char *end;
	uint16_t a, b;

	if (!v)
		return;
	errno = 0;
	lo = strtoul(v, &end, 10);
	hi = lo;
	if (end != v && *end == '-' && end[1] >= '0' && end[1] <= '9')
		hi = strtoul(end + 1, &end, 10);
	if (errno || end == v || *end || !(v[0] >= '0' && v[0] <= '9') ||
	    lo < (unsigned long)it->min || hi > (unsigned long)it->max || lo > hi) {
		conftab_err(c, s, NULL, "\"%s\" is not a port range \"lo-hi\" within %lld-%lld (lo <= hi)", v,
			    it->min, it->max);
		return;
	}
	a = (uint16_t)lo;
	b = (uint16_t)hi;
	memcpy(base + it->off, &a, sizeof(a));
	memcpy(base + it->off2, &b, sizeof(b));
}

static bool domains_one(struct conftab *c, const config_setting_t *e, const char *v, void *arg)
{
	const struct array_arg *a = arg;
	char (*d)[SPC_HOST_MAX] = (char (*)[SPC_HOST_MAX])(void *)(a->base + a->it->off);
	unsigned *n = (unsigned *)(void *)(a->base + a->it->off2);
	char low[SPC_HOST_MAX];

	if (*n >= a->it->size) {
		conftab_err(c, e, NULL, "more than %zu domains", a->it->size);
		return false;
	}
	if (!valid_host(v)) {
		conftab_err(c, e, NULL, "\"%s\" is not a domain name", v);
		return true;
	}
	lower_copy(low, v, sizeof(low));
	for (unsigned k = 0; k < *n; k++)
		if (!strcmp(d[k], low)) {
			conftab_err(c, e, NULL, "\"%s\" is listed twice", v);
			return true;
		}
	memcpy(d[(*n)++], low, sizeof(low));
	return true;
}

static void domains_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			 char *base)
{
	struct array_arg a = {it, base};

	conftab_each_str(c, s, "\"example.net\", ...", domains_one, &a);
}

/* allow_from: each entry a prefix "a.b.c.d/len" (or an address) or a
 * realm name, resolved in check_routes(). */
static bool allow_from_one(struct conftab *c, const config_setting_t *e, const char *v, void *arg)
{
	const struct array_arg *aa = arg;
	struct allow_raw *a = (struct allow_raw *)(void *)(aa->base + aa->it->off);
	struct prefix p;
	char buf[32];
	int rc;

	if (a->nprefixes + a->nnames >= aa->it->size) {
		conftab_err(c, e, NULL, "more than %zu entries", aa->it->size);
		return false;
	}
	if ((rc = prefix_parse(v, &p)) == 0) {
		for (unsigned k = 0; k < a->nprefixes; k++)
			if (a->prefixes[k].addr == p.addr && a->prefixes[k].len == p.len) {
				conftab_err(c, e, NULL, "\"%s\" is listed twice", v);
				return true;
			}
		a->prefixes[a->nprefixes++] = p;
	} else if (rc == -EDOM) {
		conftab_err(c, e, NULL, "\"%s\" has host bits set (the prefix is %s)", v,
			    prefix_fmt(&p, buf, sizeof(buf)));
	} else if (name_ok(v, SPC_NAME_MAX - 1)) {
		memcpy(a->names[a->nnames++], v, strlen(v) + 1);
	} else {
		conftab_err(c, e, NULL, "\"%s\" is neither a realm name nor a prefix a.b.c.d/len", v);
	}
	return true;
}

static void allow_from_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			    char *base)
{
	struct array_arg a = {it, base};

	conftab_each_str(c, s, "\"inside\", \"10.1.0.0/24\", ...", allow_from_one, &a);
}

static const struct conftab_type t_name = {conftab_str_init, text_load};
static const struct conftab_type t_host = {conftab_str_init, text_load};
static const struct conftab_type t_numhost = {conftab_str_init, text_load};
static const struct conftab_type t_rdomain = {conftab_str_init, text_load};
static const struct conftab_type t_port = {port_init, port_load};
static const struct conftab_type t_ipv4 = {inet_init, ipv4_load};
static const struct conftab_type t_hostport = {inet_init, hostport_load};
static const struct conftab_type t_prefix = {NULL, prefix_load};
static const struct conftab_type t_prefixes = {NULL, prefixes_load};
static const struct conftab_type t_transports = {transports_init, transports_load};
static const struct conftab_type t_listed = {NULL, listed_load};
/* ha.peers: node names, as hastore takes them in a key prefix */
static bool ha_peer_one(struct conftab *c, const config_setting_t *e, const char *v, void *arg)
{
	const struct array_arg *a = arg;
	char (*peers)[HASTORE_NAME_MAX] = (void *)(a->base + a->it->off);
	unsigned *n = (unsigned *)(void *)(a->base + a->it->off2);

	if (*n >= a->it->size) {
		conftab_err(c, e, NULL, "more than %zu peers", a->it->size);
		return false;
	}
	if (strlen(v) >= HASTORE_NAME_MAX || !hastore_prefix_ok(v)) {
		conftab_err(c, e, NULL, "\"%s\" is not a node name (1..63 of A-Z a-z 0-9 . _ : -)", v);
		return true;
	}
	snprintf(peers[(*n)++], HASTORE_NAME_MAX, "%s", v);
	return true;
}

static void ha_peers_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			  char *base)
{
	struct array_arg a = {it, base};

	conftab_each_str(c, s, "\"edge-b\", ...", ha_peer_one, &a);
}

static const struct conftab_type t_domains = {NULL, domains_load};
static const struct conftab_type t_ha_peers = {NULL, ha_peers_load};
static const struct conftab_type t_allowfrom = {NULL, allow_from_load};
static const struct conftab_type t_mprotos = {NULL, mprotos_load};
static const struct conftab_type t_portrange = {portrange_init, portrange_load};

/* ---- pass 3: element checks ---- */

/* A nat's tls_* keys: with host and tls = true; cert and key together. */
static void nat_tls_check(struct conftab *c, const config_setting_t *g, bool host)
{
	static const char *const keys[] = {"tls", "tls_cert", "tls_key", "tls_ca", "tls_name"};
	const config_setting_t *t = config_setting_get_member(g, "tls");
	bool on = t && config_setting_type(t) == CONFIG_TYPE_BOOL && config_setting_get_bool(t);

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (config_setting_get_member(g, keys[i]) && (!host || (i && !on)))
			conftab_err(c, at(g, keys[i]), NULL, "only with host (TCP) and tls = true");
	if (!config_setting_get_member(g, "tls_cert") != !config_setting_get_member(g, "tls_key"))
		conftab_err(c, at(g, "tls_cert"), NULL, "tls_cert and tls_key go together");
	/* the files, as libcontrol will want them at each connection */
	for (size_t i = 1; i < 4; i++) {
		const config_setting_t *f = config_setting_get_member(g, keys[i]);
		const char *v = f && config_setting_type(f) == CONFIG_TYPE_STRING ? config_setting_get_string(f) : NULL;
		struct stat st;

		if (!v || !*v)
			continue;
		if (stat(v, &st) < 0)
			conftab_err(c, f, NULL, "%s: %s", v, strerror(errno));
		else if (i == 2 && (st.st_mode & 077))
			conftab_err(c, f, NULL, "%s: group or others may access it (mode %04o); chmod 600 it", v,
				    (unsigned)(st.st_mode & 07777));
	}
}

/* A nat: exactly one of socket and host; port and secret_file go with host. */
static void check_nat(struct conftab *c, const config_setting_t *g, void *elem)
{
	bool sock = config_setting_get_member(g, "socket") != NULL;
	bool host = config_setting_get_member(g, "host") != NULL;
	char p[160];

	(void)elem;
	if (sock && host)
		conftab_err(c, g, conftab_key_path(g, "host", p, sizeof(p)), "socket and host are exclusive: one natd, one channel");
	else if (!sock && !host)
		conftab_err(c, g, conftab_key_path(g, "socket", p, sizeof(p)), "missing: a nat needs socket (Unix) or host (TCP)");
	if (!host) {
		if (config_setting_get_member(g, "port"))
			conftab_err(c, at(g, "port"), NULL, "only with host (TCP)");
		if (config_setting_get_member(g, "secret_file"))
			conftab_err(c, at(g, "secret_file"), NULL, "only with host (TCP)");
	} else {
		if (!config_setting_get_member(g, "port"))
			conftab_err(c, g, conftab_key_path(g, "port", p, sizeof(p)), "missing: natd's TCP control port");
		if (!config_setting_get_member(g, "secret_file"))
			conftab_err(c, g, conftab_key_path(g, "secret_file", p, sizeof(p)),
				    "missing: a TCP client proves a shared secret");
	}
	nat_tls_check(c, g, host);
}

/* A route: exactly one of domain and prefix; its transport. */
static void check_route(struct conftab *c, const config_setting_t *g, void *elem)
{
	struct route_raw *r = elem;
	bool dom = config_setting_get_member(g, "domain") != NULL;
	bool pfx = config_setting_get_member(g, "prefix") != NULL;
	char p[160];

	if (dom && pfx)
		conftab_err(c, g, conftab_key_path(g, "prefix", p, sizeof(p)), "domain and prefix are exclusive");
	else if (!dom && !pfx)
		conftab_err(c, g, conftab_key_path(g, "domain", p, sizeof(p)), "missing: a route needs domain or prefix");
	r->r.kind = pfx && !dom ? SPC_ROUTE_PREFIX : SPC_ROUTE_DOMAIN;
	r->r.tcp = r->transport >= 1; /* TLS runs over TCP */
	r->r.tls = r->transport == 2;
}

/* ---- pass 4: cross-field ---- */

static void check_realms(struct ctx *c, const config_t *cfg, struct sp_conf *out)
{
	char a[32];

	if (c->n[L_REALMS] == 0)
		cerr(c, at_path(cfg, "realms"), "realms", "at least one realm is needed");
	for (unsigned i = 0; i < c->n[L_REALMS]; i++) {
		const struct spc_realm *r = &c->realms[i];
		const config_setting_t *g = c->g[L_REALMS][i];

		for (unsigned j = 0; j < i; j++) {
			const struct spc_realm *o = &c->realms[j];
			if (*r->name && !strcmp(r->name, o->name))
				cerr(c, at(g, "name"), NULL, "realm \"%s\" is already defined at line %d",
				     r->name, line_of(c->g[L_REALMS][j]));
			for (unsigned p = 0; p < r->nprefixes; p++)
				for (unsigned q = 0; q < o->nprefixes; q++)
					if (r->prefixes[p].addr == o->prefixes[q].addr &&
					    r->prefixes[p].len == o->prefixes[q].len)
						cerr(c, at(g, "prefixes"), NULL,
						     "%s is also a prefix of realm \"%s\": an address could not be told apart",
						     prefix_fmt(&r->prefixes[p], a, sizeof(a)), o->name);
		}
		out->realms[i] = *r;
	}
	out->nrealms = c->n[L_REALMS];
}

static void check_listen(struct ctx *c, const config_t *cfg, struct sp_conf *out)
{
	char a[INET_ADDRSTRLEN];

	if (c->n[L_LISTEN] == 0)
		cerr(c, at_path(cfg, "listen"), "listen", "at least one listen address is needed");
	for (unsigned i = 0; i < c->n[L_LISTEN]; i++) {
		struct listen_raw *l = &c->listen[i];
		const config_setting_t *g = c->g[L_LISTEN][i];

		l->l.udp = l->transports & 1u;
		l->l.tcp = (l->transports & 2u) != 0;
		l->l.tls = (l->transports & 4u) != 0;
		if (l->l.tls && l->l.tcp && l->l.tls_port == ntohs(l->l.addr.sin_port))
			cerr(c, at(g, "tls_port"), NULL, "%u is also this entry's TCP port", l->l.tls_port);
		l->l.realm = -1;
		if (*l->realm && (l->l.realm = sp_conf_realm_index(out, l->realm)) < 0)
			cerr(c, at(g, "realm"), NULL, "no realm named \"%s\"", l->realm);
		for (unsigned j = 0; j < i && l->l.addr.sin_addr.s_addr; j++)
			if (c->listen[j].l.addr.sin_addr.s_addr == l->l.addr.sin_addr.s_addr &&
			    c->listen[j].l.addr.sin_port == l->l.addr.sin_port) {
				inet_ntop(AF_INET, &l->l.addr.sin_addr, a, sizeof(a));
				cerr(c, at(g, "address"), NULL, "%s port %u is already a listen entry at line %d",
				     a, ntohs(l->l.addr.sin_port), line_of(c->g[L_LISTEN][j]));
				break;
			}
		out->listen[i] = l->l;
	}
	out->nlisten = c->n[L_LISTEN];
	/* a realm nothing can belong to */
	for (unsigned i = 0; i < out->nrealms; i++)
		if (!out->realms[i].nprefixes && *out->realms[i].name &&
		    sp_conf_listen_of(out, (int)i, false) < 0 && sp_conf_listen_of(out, (int)i, true) < 0 &&
		    sp_conf_listen_tls(out, (int)i) < 0)
			cerr(c, c->g[L_REALMS][i], NULL,
			     "realm \"%s\" has no prefixes and no listen entry: nothing can belong to it",
			     out->realms[i].name);
}

static int nat_index(const struct sp_conf *c, const char *name)
{
	for (unsigned i = 0; i < c->nnats; i++)
		if (!strcmp(c->nats[i].name, name))
			return (int)i;
	return -1;
}

static void check_nats(struct ctx *c, struct sp_conf *out)
{
	for (unsigned i = 0; i < c->n[L_NATS]; i++) {
		const struct spc_nat *n = &c->nats[i];

		for (unsigned j = 0; j < i; j++)
			if (*n->name && !strcmp(n->name, c->nats[j].name))
				cerr(c, at(c->g[L_NATS][i], "name"), NULL, "nat \"%s\" is already defined at line %d",
				     n->name, line_of(c->g[L_NATS][j]));
		out->nats[i] = *n;
	}
	out->nnats = c->n[L_NATS];
}

static void check_rules(struct ctx *c, struct sp_conf *out)
{
	for (unsigned i = 0; i < c->n[L_RULES]; i++) {
		struct rule_raw *r = &c->rules[i];
		const config_setting_t *g = c->g[L_RULES][i];

		r->r.from = -1, r->r.to = -1, r->r.nat = -1;
		if (*r->from && (r->r.from = sp_conf_realm_index(out, r->from)) < 0)
			cerr(c, at(g, "from"), NULL, "no realm named \"%s\"", r->from);
		if (*r->to && (r->r.to = sp_conf_realm_index(out, r->to)) < 0)
			cerr(c, at(g, "to"), NULL, "no realm named \"%s\"", r->to);
		if (*r->nat && (r->r.nat = nat_index(out, r->nat)) < 0)
			cerr(c, at(g, "nat"), NULL, "no nat named \"%s\"", r->nat);
		if (r->r.from >= 0 && r->r.from == r->r.to)
			cerr(c, at(g, "to"), NULL, "from and to are the same realm \"%s\"", r->to);
		else if (r->r.to >= 0 && sp_conf_listen_of(out, r->r.to, false) < 0 &&
			 sp_conf_listen_of(out, r->r.to, true) < 0 && sp_conf_listen_tls(out, r->r.to) < 0)
			cerr(c, at(g, "to"), NULL,
			     "realm \"%s\" has no listen entry: the proxy could never send there", r->to);
		for (unsigned j = 0; j < i; j++)
			if (r->r.from >= 0 && r->r.to >= 0 && c->rules[j].r.from == r->r.from &&
			    c->rules[j].r.to == r->r.to) {
				cerr(c, g, NULL, "a rule from \"%s\" to \"%s\" is already at line %d", r->from,
				     r->to, line_of(c->g[L_RULES][j]));
				break;
			}
		if (!*r->r.natd_in && !config_setting_get_member(g, "natd_in"))
			memcpy(r->r.natd_in, r->from, sizeof(r->r.natd_in));
		if (!*r->r.natd_ext && !config_setting_get_member(g, "natd_ext"))
			memcpy(r->r.natd_ext, r->to, sizeof(r->r.natd_ext));
		/* TCP media only where the rule says so, twice when it lists
		 * protocols: tcp_media = true and a TCP/... entry */
		if (!config_setting_get_member(g, "protocols"))
			r->r.protocols = SPC_MP_UDP_DEFAULT | (r->r.tcp_media ? SPC_MP_TCP_ALL : 0);
		else if ((r->r.protocols & SPC_MP_TCP_ALL) && !r->r.tcp_media)
			cerr(c, at(g, "protocols"), NULL,
			     "lists TCP media: set tcp_media = true in this rule too");
		out->rules[i] = r->r;
	}
	out->nrules = c->n[L_RULES];
}

static void check_routes(struct ctx *c, struct sp_conf *out)
{
	char a[32];

	for (unsigned i = 0; i < c->n[L_ROUTES]; i++) {
		const struct spc_route *r = &c->routes[i].r;
		const config_setting_t *g = c->g[L_ROUTES][i];

		for (unsigned j = 0; j < i; j++) {
			const struct spc_route *o = &c->routes[j].r;
			if (r->kind != o->kind)
				continue;
			if (r->kind == SPC_ROUTE_DOMAIN && *r->domain && !strcmp(r->domain, o->domain))
				cerr(c, at(g, "domain"), NULL, "\"%s\" already has a route at line %d",
				     r->domain, line_of(c->g[L_ROUTES][j]));
			else if (r->kind == SPC_ROUTE_PREFIX && config_setting_get_member(g, "prefix") &&
				 r->prefix.addr == o->prefix.addr && r->prefix.len == o->prefix.len)
				cerr(c, at(g, "prefix"), NULL, "%s already has a route at line %d",
				     prefix_fmt(&r->prefix, a, sizeof(a)), line_of(c->g[L_ROUTES][j]));
		}
		out->routes[i] = *r;
		/* allow_from: realm names to indexes (relay policy rule 4) */
		{
			const struct allow_raw *al = &c->routes[i].allow;
			struct spc_route *o = &out->routes[i];

			memcpy(o->allow_prefixes, al->prefixes, sizeof(al->prefixes));
			o->nallow_prefixes = al->nprefixes;
			o->allow_realms = 0;
			for (unsigned k = 0; k < al->nnames; k++) {
				int ri = sp_conf_realm_index(out, al->names[k]);
				if (ri < 0)
					cerr(c, at(g, "allow_from"), NULL, "no realm named \"%s\"",
					     al->names[k]);
				else if (o->allow_realms & (1u << ri))
					cerr(c, at(g, "allow_from"), NULL, "\"%s\" is listed twice",
					     al->names[k]);
				else
					o->allow_realms |= 1u << ri;
			}
		}
	}
	out->nroutes = c->n[L_ROUTES];
}

static void check_order(struct ctx *c, const config_t *cfg, const struct sp_conf *out)
{
	if (out->reg_min_expires > out->reg_default_expires)
		cerr(c, at_path(cfg, "registrar.min_expires"), "registrar.min_expires",
		     "%u is more than registrar.default_expires (%u)", out->reg_min_expires,
		     out->reg_default_expires);
	if (out->reg_default_expires > out->reg_max_expires)
		cerr(c, at_path(cfg, "registrar.default_expires"), "registrar.default_expires",
		     "%u is more than registrar.max_expires (%u)", out->reg_default_expires,
		     out->reg_max_expires);
	if (out->t1_ms > out->t2_ms)
		cerr(c, at_path(cfg, "sip.t1_ms"), "sip.t1_ms", "%u is more than sip.t2_ms (%u)",
		     out->t1_ms, out->t2_ms);
	/* the journal writes "<file>.new" beside it and renames it over */
	if (out->state_file[0] && (out->state_file[0] != '/' ||
				   out->state_file[strlen(out->state_file) - 1] == '/'))
		cerr(c, at_path(cfg, "state.file"), "state.file",
		     "\"%s\" is not an absolute path to a file", out->state_file);
	if (out->auth_users_file[0] && out->auth_users_file[0] != '/')
		cerr(c, at_path(cfg, "auth.users_file"), "auth.users_file",
		     "\"%s\" is not an absolute path", out->auth_users_file);
	/* the realm goes between double quotes in challenges and into the
	 * users file between colons */
	for (const char *r = out->auth_realm; *r; r++)
		if ((unsigned char)*r < 0x20 || *r == 0x7f || strchr("\"\\:", *r)) {
			cerr(c, at_path(cfg, "auth.realm"), "auth.realm",
			     "\"%s\" has a character a realm cannot have (control, '\"', '\\', ':')",
			     out->auth_realm);
			break;
		}
}

/* TLS: files named when something uses TLS, absolute; the peers copied.
 * Whether the files load (exist, key private, key matches cert) is
 * sipproxy -n's and the start's check (tpt_new), not the parser's. */
static void check_tls(struct ctx *c, const config_t *cfg, struct sp_conf *out)
{
	struct spc_tls *t = &out->tls;
	const config_setting_t *where = NULL; /* the first use of TLS */
	static const char *const keys[] = {"tls.cert", "tls.key", "tls.ca"};
	const char *vals[] = {t->cert, t->key, t->ca};

	for (unsigned i = 0; i < out->nlisten && !where; i++)
		if (out->listen[i].tls)
			where = at(c->g[L_LISTEN][i], "transports");
	for (unsigned i = 0; i < out->nroutes && !where; i++)
		if (out->routes[i].tls)
			where = at(c->g[L_ROUTES][i], "transport");
	for (unsigned i = 0; i < 3; i++)
		if (*vals[i] && *vals[i] != '/')
			cerr(c, at_path(cfg, keys[i]), keys[i], "\"%s\" is not an absolute path", vals[i]);
	if (where && !*t->cert)
		cerr(c, where, "tls.cert", "missing: TLS is used here and needs a certificate");
	if (where && !*t->key)
		cerr(c, where, "tls.key", "missing: TLS is used here and needs a key");
	if (!*t->cert != !*t->key)
		cerr(c, at_path(cfg, "tls"), *t->cert ? "tls.key" : "tls.cert",
		     "tls.cert and tls.key go together");
	for (unsigned i = 0; i < c->n[L_PEERS]; i++) {
		if (c->tls_peers[i].mutual && !*t->ca)
			cerr(c, at(c->g[L_PEERS][i], "mutual"), NULL,
			     "needs tls.ca: the CA that signs this peer's certificate");
		t->peers[i] = c->tls_peers[i];
	}
	t->npeers = c->n[L_PEERS];
}

/* ha.*: hastore's checks, then the modes' */
static void check_ha(struct ctx *c, const config_t *cfg, const struct sp_conf *out)
{
	const struct spc_ha *h = &out->ha;

	hastore_conf_check(&c->ct, cfg, "ha", &h->store);
	if (!h->store.enabled)
		return;
	if (h->mode == SPC_HA_PAIR && h->npeers)
		cerr(c, at_path(cfg, "ha.peers"), "ha.peers", "only for mode = \"shared\" (a pair shares one prefix)");
	if (h->mode != SPC_HA_SHARED)
		return;
	/* shared: each node writes under "<prefix>:<node>" */
	if (strlen(h->store.prefix) + 1 + strlen(h->store.node) >= HASTORE_NAME_MAX)
		cerr(c, at_path(cfg, "ha.prefix"), "ha.prefix",
		     "\"%s:%s\" (prefix:node, the shared mode's key prefix) is longer than %d bytes",
		     h->store.prefix, h->store.node, HASTORE_NAME_MAX - 1);
	for (unsigned i = 0; i < h->npeers; i++) {
		if (!strcmp(h->peers[i], h->store.node))
			cerr(c, at_path(cfg, "ha.peers"), "ha.peers", "\"%s\" is this node (ha.node)",
			     h->peers[i]);
		else if (strlen(h->store.prefix) + 1 + strlen(h->peers[i]) >= HASTORE_NAME_MAX)
			cerr(c, at_path(cfg, "ha.peers"), "ha.peers",
			     "\"%s:%s\" (prefix:peer) is longer than %d bytes", h->store.prefix, h->peers[i],
			     HASTORE_NAME_MAX - 1);
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(h->peers[i], h->peers[k]))
				cerr(c, at_path(cfg, "ha.peers"), "ha.peers", "\"%s\" is listed twice",
				     h->peers[i]);
	}
}

/* ---- loading ---- */

/* Passes 1 to 4 over cfg, read by c->ct, into out. */
static int load_cfg(struct ctx *c, const config_t *cfg, struct sp_conf *out)
{
	void *elems[NLISTS] = {c->realms, c->listen, c->nats, c->rules, c->routes, c->tls_peers};

	conftab_check_unknown(&c->ct, config_root_setting(cfg), items, NELEM(items), groups,
			      NELEM(groups), lists, NLISTS);
	conftab_load_items(&c->ct, cfg, items, NELEM(items), out);
	for (unsigned i = 0; i < NLISTS; i++)
		c->n[i] = conftab_load_list(&c->ct, cfg, &lists[i], elems[i], c->g[i]);
	check_realms(c, cfg, out);
	check_listen(c, cfg, out);
	check_nats(c, out);
	check_rules(c, out);
	check_routes(c, out);
	check_order(c, cfg, out);
	check_tls(c, cfg, out);
	check_ha(c, cfg, out);
	/* auth.realm "": the first domain, else the first listen address */
	if (!out->auth_realm[0]) {
		char a[INET_ADDRSTRLEN] = "sipproxy";
		if (!out->ndomains && out->nlisten)
			inet_ntop(AF_INET, &out->listen[0].addr.sin_addr, a, sizeof(a));
		snprintf(out->auth_realm, sizeof(out->auth_realm), "%s",
			 out->ndomains ? out->domains[0] : a);
	}
	return c->ct.nerr ? -1 : 0;
}

/* Read the file name (text NULL) or the configuration in text, called
 * name in messages, and load it into out. */
static int load(const char *name, const char *text, struct sp_conf *out, FILE *errs)
{
	struct ctx *c;
	config_t cfg;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!errs)
		errs = stderr;
	if (!(c = calloc(1, sizeof(*c)))) {
		fprintf(errs, "%s:0: (file): out of memory\n", name);
		return -1;
	}
	conftab_init(&c->ct, name, errs);
	config_init(&cfg);
	rc = text ? conftab_read_string(&c->ct, &cfg, text) : conftab_read_file(&c->ct, &cfg);
	if (rc == 0)
		rc = load_cfg(c, &cfg, out);
	config_destroy(&cfg);
	free(c);
	return rc;
}

int sp_conf_load(const char *path, struct sp_conf *c, FILE *errs)
{
	return load(path, NULL, c, errs);
}

int sp_conf_load_string(const char *text, const char *name, struct sp_conf *c, FILE *errs)
{
	return load(name ? name : "(string)", text ? text : "", c, errs);
}

/* ---- look-ups ---- */

int sp_conf_realm_of(const struct sp_conf *c, uint32_t addr_be)
{
	int best = -1, best_len = -1;

	for (unsigned i = 0; i < c->nrealms; i++)
		for (unsigned k = 0; k < c->realms[i].nprefixes; k++) {
			const struct prefix *p = &c->realms[i].prefixes[k];
			if (prefix_match(p, addr_be) && (int)p->len > best_len)
				best = (int)i, best_len = p->len;
		}
	return best;
}

int sp_conf_realm_index(const struct sp_conf *c, const char *name)
{
	for (unsigned i = 0; i < c->nrealms; i++)
		if (!strcmp(c->realms[i].name, name))
			return (int)i;
	return -1;
}

int sp_conf_listen_tls(const struct sp_conf *c, int realm)
{
	for (unsigned i = 0; i < c->nlisten; i++)
		if (c->listen[i].realm == realm && c->listen[i].tls)
			return (int)i;
	return -1;
}

const struct spc_tls_peer *sp_conf_tls_peer(const struct sp_conf *c, uint32_t addr_be)
{
	const struct spc_tls_peer *best = NULL;

	for (unsigned i = 0; i < c->tls.npeers; i++)
		if (prefix_match(&c->tls.peers[i].prefix, addr_be) &&
		    (!best || c->tls.peers[i].prefix.len > best->prefix.len))
			best = &c->tls.peers[i];
	return best;
}

int sp_conf_listen_of(const struct sp_conf *c, int realm, bool tcp)
{
	for (unsigned i = 0; i < c->nlisten; i++)
		if (c->listen[i].realm == realm && (tcp ? c->listen[i].tcp : c->listen[i].udp))
			return (int)i;
	return -1;
}

const struct spc_rule *sp_conf_rule(const struct sp_conf *c, int from, int to)
{
	for (unsigned i = 0; i < c->nrules; i++)
		if (c->rules[i].from == from && c->rules[i].to == to)
			return &c->rules[i];
	return NULL;
}

/* host lower-cased, without one trailing dot; false if too long or empty. */
static bool canon_host(const char *host, char *buf, size_t n)
{
	size_t l;

	if (!host || !*host || strlen(host) >= n)
		return false;
	lower_copy(buf, host, n);
	l = strlen(buf);
	if (l > 1 && buf[l - 1] == '.')
		buf[l - 1] = '\0';
	return true;
}

const struct spc_route *sp_conf_route(const struct sp_conf *c, const char *host)
{
	char h[SPC_HOST_MAX];
	const struct spc_route *best = NULL;
	size_t hl, best_len = 0;
	struct in_addr in;
	int best_plen = -1;

	if (!canon_host(host, h, sizeof(h)))
		return NULL;
	hl = strlen(h);
	for (unsigned i = 0; i < c->nroutes; i++) /* exact */
		if (c->routes[i].kind == SPC_ROUTE_DOMAIN && c->routes[i].domain[0] != '*' &&
		    !strcmp(c->routes[i].domain, h))
			return &c->routes[i];
	for (unsigned i = 0; i < c->nroutes; i++) { /* "*.suffix": one label or more before it */
		const char *suf = c->routes[i].domain + 1; /* ".suffix" */
		size_t sl;

		if (c->routes[i].kind != SPC_ROUTE_DOMAIN || c->routes[i].domain[0] != '*')
			continue;
		sl = strlen(suf);
		if (hl > sl && !strcmp(h + hl - sl, suf) && sl > best_len)
			best = &c->routes[i], best_len = sl;
	}
	if (best)
		return best;
	if (inet_pton(AF_INET, h, &in) != 1)
		return NULL;
	for (unsigned i = 0; i < c->nroutes; i++) /* longest prefix */
		if (c->routes[i].kind == SPC_ROUTE_PREFIX && prefix_match(&c->routes[i].prefix, in.s_addr) &&
		    (int)c->routes[i].prefix.len > best_plen)
			best = &c->routes[i], best_plen = c->routes[i].prefix.len;
	return best;
}

bool sp_conf_is_local_domain(const struct sp_conf *c, const char *host)
{
	char h[SPC_HOST_MAX];
	struct in_addr in;
	bool literal;

	if (!canon_host(host, h, sizeof(h)))
		return false;
	literal = inet_pton(AF_INET, h, &in) == 1;
	for (unsigned i = 0; i < c->ndomains; i++)
		if (!strcmp(c->domains[i], h))
			return true;
	for (unsigned i = 0; i < c->nlisten; i++) {
		if (literal && c->listen[i].addr.sin_addr.s_addr == in.s_addr)
			return true;
		if (*c->listen[i].advertise && !strcasecmp(c->listen[i].advertise, h))
			return true;
	}
	return false;
}
