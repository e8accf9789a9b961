/* conf: table-driven, strict loading of natd.conf (see conf.h).
 *
 * Scalars are described by the items[] table of the shared engine
 * (conftab.h): dotted path, type, range, default and where the value goes
 * in struct natd_conf; the types below add natd's own (log level, socket
 * mode, client lists...). The two lists (realms, forwards) are loaded here,
 * with their key tables. The engine reads the file (refusing integers
 * libconfig would cut to 32 bits) and reports every setting that no table
 * knows. Then a cross-field pass checks what single settings cannot: names
 * that must exist, overlaps, duplicates. Every problem is printed as
 * "file:line: setting: problem"; loading fails if there was at least one.
 */
#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "confmsg.h"
#include "conftab.h"
#include "log.h"
#include "metrics.h"
#include "name.h"

#define OFF(f) offsetof(struct natd_conf, f)
bool conf_tcp_name_ok(const char *name)
{
	return name_ok(name, CONF_TCP_NAME_MAX);
}

/* natd's own types, defined with their loaders below. */
static const struct conftab_type t_loglevel, t_mode, t_iflist, t_pfxlist, t_clients, t_tcpclients,
	t_addrs, t_prefixes;

_Static_assert(sizeof(((struct natd_conf *)0)->metrics_listen) == METRICS_LISTEN_MAX,
	       "metrics.listen holds what metrics_listen_ok() takes");
_Static_assert(sizeof(enum bind_filtering) == sizeof(int), "enum bind_filtering is an int");
static const struct conftab_choice filterings[] = {
	{"endpoint-independent", FILTER_EIF}, {"address-dependent", FILTER_ADF},
	{"address-and-port-dependent", FILTER_APDF}, {NULL, 0},
};

/* One row of items[]: path, type, range, offset, string buffer size,
 * default, default string, then any other field by name (.off2 = ...). */
#define ITEM(path_, type_, min_, max_, off_, size_, dflt_, dflt_s_, ...)                      \
	{.path = path_, .type = type_, .min = min_, .max = max_, .off = off_, .size = size_, \
	 .dflt = dflt_, .dflt_s = dflt_s_, __VA_ARGS__}

static const struct conftab_item items[] = {
	ITEM("tun.name", &conftab_str, 0, 0, OFF(tun_name), IFNAMSIZ, 0, "natd0"),
	ITEM("tun.mtu", &conftab_int, 576, 65535, OFF(tun_mtu), 0, 1500, NULL),
	ITEM("tun.txqueuelen", &conftab_int, 1, 1000000, OFF(tun_txqueuelen), 0, 5000, NULL),
	ITEM("user", &conftab_str, 0, 0, OFF(user), 64, 0, "natedge"),
	ITEM("pidfile", &conftab_str, 0, 0, OFF(pidfile), 256, 0, "/run/natd/natd.pid"),
	ITEM("state.file", &conftab_str, 0, 0, OFF(state_file), 256, 0, ""),
	ITEM("log.level", &t_loglevel, 0, 0, OFF(log_level), 0, 0, "info"),
	ITEM("log.syslog", &conftab_bool, 0, 1, OFF(log_syslog), 0, 0, NULL),
	ITEM("stats_interval", &conftab_int, 0, 86400, OFF(stats_interval), 0, 0, NULL),
	ITEM("table.capacity", &conftab_uint, 1, 1 << 24, OFF(bind.capacity), 0, 65536, NULL),
	ITEM("table.permissions", &conftab_uint, 0, 1 << 26, OFF(bind.perm_capacity), 0, 0, NULL),
	ITEM("table.permissions_per_host", &conftab_uint, 0, 1 << 26, OFF(bind.perm_per_host), 0, 8192, NULL),
	ITEM("table.icmp_errors_from_path", &conftab_bool, 0, 1, OFF(icmp_errors_from_path), 0, 0, NULL),
	ITEM("table.filtering", &conftab_enum, 0, 0, OFF(bind.filtering),
	     0, FILTER_EIF, NULL, .choices = filterings),
	ITEM("table.hairpinning", &conftab_bool, 0, 1, OFF(hairpinning), 0, 1, NULL),
	ITEM("table.port_parity", &conftab_bool, 0, 1, OFF(port_parity), 0, 1, NULL),
	ITEM("table.port_preservation", &conftab_bool, 0, 1, OFF(port_preservation), 0, 1, NULL),
	ITEM("table.max_bindings_per_host", &conftab_uint, 0, 1 << 24, OFF(max_bindings_per_host),
	     0, 4096, NULL),
	ITEM("table.new_flows_per_host", &conftab_uint, 0, 1000000, OFF(new_flows_per_host), 0, 1000, NULL),
	ITEM("timeouts.udp", &conftab_uint, 1, 86400, OFF(bind.timeout[BT_UDP]), 0, 300, NULL),
	ITEM("timeouts.tcp_established", &conftab_uint, 1, 7 * 86400, OFF(bind.timeout[BT_TCP_EST]),
	     0, 7440, NULL),
	ITEM("timeouts.tcp_transitory", &conftab_uint, 1, 86400, OFF(bind.timeout[BT_TCP_TRANS]),
	     0, 240, NULL),
	ITEM("timeouts.icmp", &conftab_uint, 1, 86400, OFF(bind.timeout[BT_ICMP]), 0, 60, NULL),
	ITEM("fragments.datagrams", &conftab_uint, 1, 1 << 20, OFF(frag.datagrams), 0, 1024, NULL),
	ITEM("fragments.buffered", &conftab_uint, 0, 65536, OFF(frag.slots), 0, 256, NULL),
	ITEM("fragments.timeout", &conftab_uint, 1, 60, OFF(frag.timeout), 0, 5, NULL),
	ITEM("fragments.datagrams_per_source", &conftab_uint, 0, 1 << 20, OFF(frag.datagrams_per_source),
	     0, 256, NULL),
	ITEM("fragments.buffered_per_source", &conftab_uint, 0, 65536, OFF(frag.slots_per_source),
	     0, 48, NULL),
	ITEM("control.socket", &conftab_str, 0, 0, OFF(ctl_socket), 108, 0, "/run/natd/ctl.sock"),
	ITEM("control.socket_mode", &t_mode, 0, 0, OFF(ctl_mode), 8, 0, "0660"),
	ITEM("control.socket_group", &conftab_str, 0, 0, OFF(ctl_group), 64, 0, ""),
	ITEM("control.default_lifetime", &conftab_uint, 1, 604800, OFF(ctl_default_lifetime), 0, 300, NULL),
	ITEM("control.max_lifetime", &conftab_uint, 1, 604800, OFF(ctl_max_lifetime), 0, 86400, NULL),
	ITEM("control.max_clients", &conftab_int, 1, 4096, OFF(ctl_max_clients), 0, 64, NULL),
	ITEM("control.max_request_rate", &conftab_uint, 0, 10000000, OFF(ctl_max_rate), 0, 0, NULL),
	ITEM("control.max_output", &conftab_uint, 65536, 1u << 30, OFF(ctl_max_output), 0, 4u << 20, NULL),
	ITEM("control.handshake_timeout", &conftab_uint, 1, 3600, OFF(ctl_handshake_timeout), 0, 5, NULL),
	ITEM("control.max_tcp_clients", &conftab_int, 1, 4096, OFF(ctl_max_tcp_clients), 0, 16, NULL),
	ITEM("control.max_tcp_clients_per_source", &conftab_int, 1, 4096, OFF(ctl_max_tcp_per_source),
	     0, 4, NULL),
	ITEM("control.clients", &t_clients, 0, CONF_MAX_CLIENTS, OFF(clients),
	     0, 0, NULL, .off2 = OFF(nclients)),
	ITEM("control.tcp_listen", &conftab_str, 0, 0, OFF(ctl_tcp_listen), 32, 0, ""),
	ITEM("control.tcp_allow", &t_prefixes, 0, 16, OFF(ctl_tcp_allow),
	     0, 0, NULL, .off2 = OFF(nctl_tcp_allow)),
	ITEM("control.tcp_clients", &t_tcpclients, 0, CONF_MAX_CLIENTS, OFF(tcp_clients),
	     0, 0, NULL, .off2 = OFF(ntcp_clients)),
	ITEM("metrics.listen", &metrics_conf_listen, 0, 0, OFF(metrics_listen), METRICS_LISTEN_MAX, 0, ""),
	HASTORE_CONF_ITEMS("ha", OFF(ha), "natedge:natd"),
	ITEM("pcp.enable", &conftab_bool, 0, 1, OFF(pcp.enable), 0, 0, NULL),
	ITEM("pcp.listen", &t_addrs, 0, PCP_LISTEN_MAX, OFF(pcp.listen),
	     0, 0, NULL, .off2 = OFF(pcp.nlisten)),
	ITEM("pcp.port", &conftab_uint, 1, 65535, OFF(pcp.port), 0, 5351, NULL),
	ITEM("pcp.third_party", &conftab_bool, 0, 1, OFF(pcp.third_party), 0, 0, NULL),
	ITEM("pcp.third_party_clients", &t_prefixes, 0, PCP_TP_CLIENTS_MAX, OFF(pcp.third_party_clients),
	     0, 0, NULL, .off2 = OFF(pcp.nthird_party_clients)),
	ITEM("pcp.min_lifetime", &conftab_uint, 1, 604800, OFF(pcp.min_lifetime), 0, 120, NULL),
	ITEM("pcp.max_lifetime", &conftab_uint, 1, 604800, OFF(pcp.max_lifetime), 0, 86400, NULL),
	ITEM("pcp.max_mappings", &conftab_uint, 0, 1 << 24, OFF(pcp.max_mappings), 0, 64, NULL),
	ITEM("pcp.max_rate", &conftab_uint, 0, 1000000, OFF(pcp.max_rate), 0, 200, NULL),
	ITEM("pcp.max_client_rate", &conftab_uint, 0, 1000000, OFF(pcp.max_client_rate), 0, 20, NULL),
	ITEM("pcp.announce", &conftab_bool, 0, 1, OFF(pcp.announce), 0, 1, NULL),
	ITEM("routes.install", &conftab_bool, 0, 1, OFF(routes_install), 0, 0, NULL),
	ITEM("routes.table", &conftab_int, 1, 0x7fffffff, OFF(routes_table), 0, 100, NULL),
	ITEM("routes.inside_interfaces", &t_iflist, 0, CONF_MAX_IFACES, OFF(routes_iifs),
	     0, 0, NULL, .off2 = OFF(nroutes_iifs)),
	ITEM("routes.prefixes", &t_pfxlist, 0, REALM_PREFIX_MAX, OFF(routes_dev_prefixes),
	     0, 0, NULL, .off2 = OFF(nroutes_dev_prefixes)),
};

static const char *const groups[] = {"tun", "log", "state", "table", "timeouts", "fragments", "control", "routes", "pcp", "metrics", "ha"};
/* loaded by load_realms() and load_forwards() */
static const struct conftab_list lists[] = {{.path = "realms"}, {.path = "forwards"}};
static const char *const client_keys[] = {"user", "admin", "realms", "prefixes", "quota"};
static const char *const tcp_client_keys[] = {"name", "secret_file", "admin", "realms", "prefixes", "quota"};
static const char *const realm_keys[] = {"name", "prefixes", "nat_to", "pool", "transit_pools"};
static const char *const transit_keys[] = {"name", "addresses", "ports"};
static const char *const pool_keys[] = {"addresses", "ports"};
static const char *const forward_keys[] = {"proto", "external", "realm", "internal",
					   "internal_realm"};

/* RFC minimums: below them natd warns but obeys (tests use short values). */
static const struct {
	const char *path;
	uint32_t min;
	const char *rfc;
} rfc_min[] = {
	{"timeouts.udp", 120, "RFC 4787 REQ-5"},
	{"timeouts.tcp_established", 7440, "RFC 5382 REQ-5"},
	{"timeouts.tcp_transitory", 240, "RFC 5382 REQ-5"},
	{"timeouts.icmp", 60, "RFC 5508 REQ-1"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const config_setting_t *lookup(const config_t *cfg, const char *path)
{
	return config_lookup(cfg, path);
}

/* routes.inside_interfaces and routes.prefixes: the item, where it goes. */
struct strlist {
	const struct conftab_item *it;
	char *base;
};

static bool strlist_one(struct conftab *c, const config_setting_t *e, const char *v, void *arg)
{
	const struct strlist *l = arg;
	unsigned *count = (unsigned *)(void *)(l->base + l->it->off2);
	char *dst = l->base + l->it->off;
	struct prefix p;

	if ((long long)*count >= l->it->max) {
		conftab_err(c, e, NULL, "more than %lld entries", l->it->max);
		return false;
	}
	if (l->it->type == &t_iflist) {
		if (!*v || strlen(v) >= IFNAMSIZ || strchr(v, '/')) {
			conftab_err(c, e, NULL, "\"%s\" is not an interface name", v);
			return true;
		}
		memcpy(dst + (size_t)*count * IFNAMSIZ, v, strlen(v) + 1);
	} else {
		if (prefix_parse(v, &p) < 0) {
			conftab_err(c, e, NULL, "\"%s\" is not a prefix a.b.c.d/len", v);
			return true;
		}
		snprintf(dst + (size_t)*count * 20, 20, "%s", v);
	}
	(*count)++;
	return true;
}

static void strlist_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			 char *base)
{
	struct strlist l = {it, base};

	conftab_each_str(c, s, "\"...\"", strlist_one, &l);
}

static void realm_strings(struct conftab *c, const config_setting_t *s, bool prefixes,
			  struct prefix *pfx, unsigned *npfx, char (*names)[REALM_NAME_MAX],
			  unsigned *nnames, unsigned max);

static void load_clients(struct conftab *c, const config_setting_t *list, bool tcp,
			 struct conf_client *clients, unsigned *nclients)
{
	const char *idkey = tcp ? "name" : "user";

	if (!config_setting_is_list(list)) {
		conftab_err(c, list, NULL, "must be a list ( { %s = ...; }, ... )", idkey);
		return;
	}
	for (int i = 0; i < config_setting_length(list); i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i), *s;
		struct conf_client *cl;
		const char *v;
		long long q;

		if (!config_setting_is_group(g)) {
			conftab_err(c, g, NULL, "must be a group { %s = ...; }", idkey);
			continue;
		}
		if (*nclients >= CONF_MAX_CLIENTS) {
			conftab_err(c, g, NULL, "more than %d clients", CONF_MAX_CLIENTS);
			return;
		}
		cl = &clients[(*nclients)++];
		cl->line = config_setting_source_line(g);
		if (tcp)
			conftab_check_members(c, g, tcp_client_keys, NELEM(tcp_client_keys));
		else
			conftab_check_members(c, g, client_keys, NELEM(client_keys));
		if (!(s = config_setting_get_member(g, idkey)))
			conftab_err(c, g, NULL, "%s: missing", idkey);
		else if ((v = conftab_str_of(c, s))) {
			if (!*v || strlen(v) >= sizeof(cl->user))
				conftab_err(c, s, NULL, "not a %s name", tcp ? "client" : "user");
			else if (tcp && !conf_tcp_name_ok(v))
				/* natd refuses a HELLO name it would have to cut to
				 * make the owner key "tcp:<name>" fit: never truncated
				 * into another client's */
				conftab_err(c, s, NULL, "\"%s\" is not a client name (1 to %d of [A-Za-z0-9._-])",
				     v, CONF_TCP_NAME_MAX);
			else
				snprintf(cl->user, sizeof(cl->user), "%s", v);
		}
		if (tcp && !(s = config_setting_get_member(g, "secret_file")))
			conftab_err(c, g, NULL, "secret_file: missing");
		else if (tcp && (v = conftab_str_of(c, s))) {
			if (*v != '/' || strlen(v) >= sizeof(cl->secret_file))
				conftab_err(c, s, NULL, "must be an absolute path");
			else
				snprintf(cl->secret_file, sizeof(cl->secret_file), "%s", v);
		}
		if ((s = config_setting_get_member(g, "admin"))) {
			if (config_setting_type(s) != CONFIG_TYPE_BOOL)
				conftab_err(c, s, NULL, "must be true or false");
			else
				cl->admin = config_setting_get_bool(s);
		}
		if ((s = config_setting_get_member(g, "realms")))
			realm_strings(c, s, false, NULL, NULL, cl->realms, &cl->nrealms, REALM_MAX);
		if ((s = config_setting_get_member(g, "prefixes")))
			realm_strings(c, s, true, cl->prefixes, &cl->nprefixes, NULL, NULL, 16);
		if ((s = config_setting_get_member(g, "quota")) && conftab_int_of(c, s, 0, 1 << 24, &q))
			cl->quota = (uint32_t)q;
	}
}

static void loglevel_init(const struct conftab_item *it, char *base)
{
	*(int *)(void *)(base + it->off) = log_level_parse(it->dflt_s);
}

/* log.level: the names log.c knows */
static void loglevel_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			  char *base)
{
	const char *str = conftab_str_of(c, s);
	int l;

	if (!str)
		return;
	if ((l = log_level_parse(str)) < 0)
		conftab_err(c, s, it->path, "\"%s\" is not one of error, warning, notice, info, debug", str);
	else
		*(int *)(void *)(base + it->off) = l;
}

/* control.socket_mode: octal permission bits, kept as written */
static void mode_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
		      char *base)
{
	const char *str = conftab_str_of(c, s);
	unsigned long mode;
	char *end;

	if (!str)
		return;
	mode = strtoul(str, &end, 8);
	if (!*str || *end || mode > 0777 || strlen(str) >= it->size)
		conftab_err(c, s, it->path, "\"%s\" is not an octal mode like \"0660\"", str);
	else
		memcpy(base + it->off, str, strlen(str) + 1);
}

static void clients_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			 char *base)
{
	load_clients(c, s, it->type == &t_tcpclients, (struct conf_client *)(void *)(base + it->off),
		     (unsigned *)(void *)(base + it->off2));
}

/* pcp.listen: plain addresses, network order, count at off2 */
static bool addr_one(struct conftab *c, const config_setting_t *e, const char *v, void *arg)
{
	const struct strlist *l = arg;
	uint32_t *addrs = (uint32_t *)(void *)(l->base + l->it->off);
	unsigned *n = (unsigned *)(void *)(l->base + l->it->off2);
	struct in_addr a;

	if ((long long)*n >= l->it->max)
		conftab_err(c, e, NULL, "more than %lld addresses", l->it->max);
	else if (inet_pton(AF_INET, v, &a) != 1)
		conftab_err(c, e, NULL, "\"%s\" is not an IPv4 address", v);
	else
		addrs[(*n)++] = a.s_addr;
	return true;
}

static void addrs_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
		       char *base)
{
	struct strlist l = {it, base};

	conftab_each_str(c, s, "\"a.b.c.d\"", addr_one, &l);
}

static void prefixes_load(struct conftab *c, const config_setting_t *s, const struct conftab_item *it,
			  char *base)
{
	realm_strings(c, s, true, (struct prefix *)(void *)(base + it->off),
		      (unsigned *)(void *)(base + it->off2), NULL, NULL, (unsigned)it->max);
}

static const struct conftab_type t_loglevel = {loglevel_init, loglevel_load};
static const struct conftab_type t_mode = {conftab_str_init, mode_load};
static const struct conftab_type t_iflist = {NULL, strlist_load};
static const struct conftab_type t_pfxlist = {NULL, strlist_load};
static const struct conftab_type t_clients = {NULL, clients_load};
static const struct conftab_type t_tcpclients = {NULL, clients_load};
static const struct conftab_type t_addrs = {NULL, addrs_load};
static const struct conftab_type t_prefixes = {NULL, prefixes_load};

/* realm_strings()'s arguments: names or prefixes, where they go. */
struct realm_strings {
	bool prefixes;
	struct prefix *pfx;
	unsigned *npfx;
	char (*names)[REALM_NAME_MAX];
	unsigned *nnames;
	unsigned max;
};

static bool realm_string(struct conftab *c, const config_setting_t *e, const char *v, void *arg)
{
	const struct realm_strings *r = arg;

	if ((r->prefixes ? *r->npfx : *r->nnames) >= r->max) {
		conftab_err(c, e, NULL, "too many entries (at most %u)", r->max);
		return false;
	}
	if (r->prefixes) {
		if (prefix_parse(v, &r->pfx[*r->npfx]) < 0)
			conftab_err(c, e, NULL, "\"%s\" is not a prefix a.b.c.d/len (host bits clear)", v);
		else
			(*r->npfx)++;
	} else {
		if (strlen(v) >= REALM_NAME_MAX || !*v)
			conftab_err(c, e, NULL, "\"%s\" is not a realm name", v);
		else
			snprintf(r->names[(*r->nnames)++], REALM_NAME_MAX, "%s", v);
	}
	return true;
}

/* Array of names or prefixes inside a realm. */
static void realm_strings(struct conftab *c, const config_setting_t *s, bool prefixes,
			  struct prefix *pfx, unsigned *npfx, char (*names)[REALM_NAME_MAX],
			  unsigned *nnames, unsigned max)
{
	struct realm_strings r = {prefixes, pfx, npfx, names, nnames, max};

	conftab_each_str(c, s, "\"...\"", realm_string, &r);
}

static bool parse_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
	unsigned a, b;
	char tail;

	if (sscanf(s, "%u-%u%c", &a, &b, &tail) != 2 || a < 1 || b > 65535 || a > b)
		return false;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return true;
}

/* A pool group: addresses = [ prefixes ]; ports = "LOW-HIGH". */
static void load_pool(struct conftab *c, const config_setting_t *s, const char *const *keys, size_t nkeys,
		      struct prefix *pool, unsigned *npool, uint16_t *lo, uint16_t *hi)
{
	const config_setting_t *a, *p;
	const char *v;

	if (!config_setting_is_group(s)) {
		conftab_err(c, s, NULL, "must be a group { addresses = [...]; }");
		return;
	}
	conftab_check_members(c, s, keys, nkeys);
	*lo = 1024;
	*hi = 65535;
	if (!(a = config_setting_get_member(s, "addresses")))
		conftab_err(c, s, NULL, "addresses: missing");
	else
		realm_strings(c, a, true, pool, npool, NULL, NULL, REALM_PREFIX_MAX);
	if ((p = config_setting_get_member(s, "ports")) && (v = conftab_str_of(c, p)) && !parse_ports(v, lo, hi))
		conftab_err(c, p, NULL, "\"%s\" is not a range LOW-HIGH within 1-65535", v);
}

static void load_realms(struct conftab *c, const config_t *cfg, struct natd_conf *out)
{
	const config_setting_t *list = lookup(cfg, "realms");

	if (!list) {
		conftab_err(c, config_root_setting(cfg), "realms", "missing: at least two realms are needed");
		return;
	}
	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		conftab_err(c, list, NULL, "must be a list ( { ... }, ... )");
		return;
	}
	for (int i = 0; i < config_setting_length(list); i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i), *s;
		struct conf_realm *r;
		const char *v;

		if (!config_setting_is_group(g)) {
			conftab_err(c, g, NULL, "must be a group { name = ...; }");
			continue;
		}
		if (out->nrealms >= REALM_MAX) {
			conftab_err(c, g, NULL, "more than %d realms", REALM_MAX);
			return;
		}
		r = &out->realms[out->nrealms++];
		r->index = i;
		conftab_check_members(c, g, realm_keys, NELEM(realm_keys));
		if (!(s = config_setting_get_member(g, "name")))
			conftab_err(c, g, NULL, "name: missing");
		else if ((v = conftab_str_of(c, s))) {
			if (!name_ok(v, REALM_NAME_MAX - 1))
				conftab_err(c, s, NULL, "must be 1..%d characters of A-Z a-z 0-9 . _ -",
				     REALM_NAME_MAX - 1);
			else
				snprintf(r->name, sizeof(r->name), "%s", v);
		}
		if ((s = config_setting_get_member(g, "prefixes")))
			realm_strings(c, s, true, r->prefixes, &r->nprefixes, NULL, NULL,
				      REALM_PREFIX_MAX);
		if ((s = config_setting_get_member(g, "nat_to")))
			realm_strings(c, s, false, NULL, NULL, r->nat_to, &r->nnat_to, REALM_MAX);
		if ((s = config_setting_get_member(g, "pool")))
			load_pool(c, s, pool_keys, NELEM(pool_keys), r->pool, &r->npool, &r->port_lo,
				  &r->port_hi);
		if ((s = config_setting_get_member(g, "transit_pools"))) {
			if (!config_setting_is_list(s)) {
				conftab_err(c, s, NULL, "must be a list ( { name = ...; addresses = [...]; }, ... )");
				continue;
			}
			for (int k = 0; k < config_setting_length(s); k++) {
				const config_setting_t *t = config_setting_get_elem(s, (unsigned)k), *nm;
				struct conf_transit *ct;
				if (r->ntransits >= REALM_TRANSIT_MAX) {
					conftab_err(c, t, NULL, "more than %d transit pools", REALM_TRANSIT_MAX);
					break;
				}
				ct = &r->transits[r->ntransits++];
				if (!(nm = config_setting_is_group(t) ? config_setting_get_member(t, "name") : NULL))
					conftab_err(c, t, NULL, "name: missing");
				else if ((v = conftab_str_of(c, nm))) {
					if (!name_ok(v, REALM_NAME_MAX - 1))
						conftab_err(c, nm, NULL, "must be 1..%d characters of A-Z a-z 0-9 . _ -",
						     REALM_NAME_MAX - 1);
					else
						snprintf(ct->name, sizeof(ct->name), "%s", v);
				}
				load_pool(c, t, transit_keys, NELEM(transit_keys), ct->pool, &ct->npool,
					  &ct->port_lo, &ct->port_hi);
			}
		}
		if (!r->nprefixes && !r->npool)
			conftab_err(c, g, NULL, "a realm needs prefixes or a pool");
	}
}

static void load_forwards(struct conftab *c, const config_t *cfg, struct natd_conf *out)
{
	const config_setting_t *list = lookup(cfg, "forwards");
	int n;

	if (!list)
		return;
	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		conftab_err(c, list, NULL, "must be a list ( { ... }, ... )");
		return;
	}
	n = config_setting_length(list);
	if (n > CONF_MAX_FORWARDS) {
		conftab_err(c, list, NULL, "more than %d forwards", CONF_MAX_FORWARDS);
		return;
	}
	out->forwards = calloc((size_t)n + 1, sizeof(*out->forwards));
	if (!out->forwards) {
		conftab_err(c, list, NULL, "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i), *s;
		struct conf_forward *f = &out->forwards[out->nforwards];
		const char *v;
		bool ok = true;

		if (!config_setting_is_group(g)) {
			conftab_err(c, g, NULL, "must be a group { proto = ...; }");
			continue;
		}
		conftab_check_members(c, g, forward_keys, NELEM(forward_keys));
		f->line = config_setting_source_line(g);
		f->index = i;
		for (size_t k = 0; k < NELEM(forward_keys); k++) {
			const char *key = forward_keys[k];
			if (!(s = config_setting_get_member(g, key))) {
				char p[128];
				confmsg_path(g, p, sizeof(p));
				fprintf(c->errs, "%s:%d: %s.%s: missing\n", c->path, f->line, p, key);
				c->nerr++;
				ok = false;
				continue;
			}
			if (!(v = conftab_str_of(c, s))) {
				ok = false;
				continue;
			}
			if (!strcmp(key, "proto")) {
				if (!strcmp(v, "udp"))
					f->proto = IPPROTO_UDP;
				else if (!strcmp(v, "tcp"))
					f->proto = IPPROTO_TCP;
				else {
					conftab_err(c, s, NULL, "\"%s\" is not udp or tcp", v);
					ok = false;
				}
			} else if (!strcmp(key, "external") || !strcmp(key, "internal")) {
				struct endpoint *ep = key[0] == 'e' ? &f->ext : &f->in;
				if (ep_parse(v, ep) < 0 || ep->port == 0) {
					conftab_err(c, s, NULL, "\"%s\" is not an address:port (port 1-65535)", v);
					ok = false;
				}
			} else {
				char *dst = key[0] == 'r' ? f->ext_realm : f->in_realm;
				if (strlen(v) >= REALM_NAME_MAX) {
					conftab_err(c, s, NULL, "not a realm name");
					ok = false;
				} else
					snprintf(dst, REALM_NAME_MAX, "%s", v);
			}
		}
		if (ok)
			out->nforwards++;
	}
}

static int realm_index(const struct natd_conf *out, const char *name)
{
	for (unsigned i = 0; i < out->nrealms; i++)
		if (!strcmp(out->realms[i].name, name))
			return (int)i;
	return -1;
}

static bool pfx_overlap(const struct prefix *a, const struct prefix *b)
{
	uint32_t m = a->len < b->len ? a->mask : b->mask;
	return (a->addr & m) == (b->addr & m);
}

static bool realm_contains(const struct conf_realm *r, uint32_t addr)
{
	for (unsigned i = 0; i < r->npool; i++)
		if (prefix_match(&r->pool[i], addr))
			return true;
	for (unsigned i = 0; i < r->nprefixes; i++)
		if (prefix_match(&r->prefixes[i], addr))
			return true;
	return false;
}

/* pcp: listen addresses in a translated realm (by the longest prefix, as
 * natd classifies), once each; lifetimes in order. */
static void check_pcp(struct conftab *c, const config_t *cfg, struct natd_conf *out)
{
	const struct pcp_conf *p = &out->pcp;
	const config_setting_t *s = lookup(cfg, "pcp.listen");

	if (p->enable && p->nlisten == 0)
		conftab_err(c, s ? s : config_root_setting(cfg), "pcp.listen",
		     "missing: the inside addresses to answer PCP and NAT-PMP on");
	if (p->min_lifetime > p->max_lifetime)
		conftab_err(c, lookup(cfg, "pcp.min_lifetime"), "pcp.min_lifetime",
		     "longer than pcp.max_lifetime");
	for (unsigned i = 0; i < p->nlisten; i++) {
		const config_setting_t *e = s ? config_setting_get_elem(s, i) : NULL;
		int best = -1, best_len = -1;
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &p->listen[i], a, sizeof(a));
		for (unsigned r = 0; r < out->nrealms; r++)
			for (unsigned k = 0; k < out->realms[r].nprefixes; k++)
				if (prefix_match(&out->realms[r].prefixes[k], p->listen[i]) &&
				    out->realms[r].prefixes[k].len > best_len)
					best = (int)r, best_len = out->realms[r].prefixes[k].len;
		if (best < 0 || out->realms[best].nnat_to == 0)
			conftab_err(c, e, "pcp.listen", "%s is not in a realm that is translated (nat_to)", a);
		for (unsigned j = 0; j < i; j++)
			if (p->listen[j] == p->listen[i])
				conftab_err(c, e, "pcp.listen", "%s is listed twice", a);
	}
}

/* control.clients or control.tcp_clients: realms that exist, no name twice. */
static void check_clients(struct conftab *c, const struct natd_conf *out, const struct conf_client *cl,
			  unsigned n, const char *list, const char *idkey)
{
	for (unsigned i = 0; i < n; i++) {
		for (unsigned k = 0; k < cl[i].nrealms; k++)
			if (realm_index(out, cl[i].realms[k]) < 0)
				fprintf(c->errs, "%s:%d: control.%s[%u].realms: no realm named \"%s\"\n",
					c->path, cl[i].line, list, i, cl[i].realms[k]), c->nerr++;
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(cl[j].user, cl[i].user))
				fprintf(c->errs, "%s:%d: control.%s[%u].%s: \"%s\" is listed twice\n",
					c->path, cl[i].line, list, i, idkey, cl[i].user), c->nerr++;
	}
}

/* Cross-field checks: names, references, overlaps. */
static void check_cross(struct conftab *c, const config_t *cfg, struct natd_conf *out)
{
	const config_setting_t *list = lookup(cfg, "realms");
	unsigned pool_addrs = 0;

	if (list && out->nrealms < 2 && c->nerr == 0)
		conftab_err(c, list, "realms", "at least two realms are needed");
	for (unsigned i = 0; i < out->nrealms; i++) {
		struct conf_realm *r = &out->realms[i];
		const config_setting_t *g = list ? config_setting_get_elem(list, (unsigned)r->index) : NULL;

		for (unsigned j = 0; j < i; j++)
			if (*r->name && !strcmp(r->name, out->realms[j].name))
				conftab_err(c, g, NULL, "realm \"%s\" is defined twice", r->name);
		for (unsigned k = 0; k < r->nnat_to; k++) {
			int t = realm_index(out, r->nat_to[k]);
			const config_setting_t *nt = g ? config_setting_get_member(g, "nat_to") : NULL;
			const config_setting_t *e = nt ? config_setting_get_elem(nt, k) : NULL;
			if (!e)
				e = g;
			if (t < 0)
				conftab_err(c, e, NULL, "no realm named \"%s\"", r->nat_to[k]);
			else if ((unsigned)t == i)
				conftab_err(c, e, NULL, "a realm cannot NAT into itself");
			else if (!out->realms[t].npool)
				conftab_err(c, e, NULL, "realm \"%s\" has no pool to translate into",
				     r->nat_to[k]);
		}
		for (unsigned k = 0; k < r->ntransits; k++)
			for (unsigned j = 0; j < k; j++)
				if (!strcmp(r->transits[j].name, r->transits[k].name))
					conftab_err(c, g, NULL, "transit pool \"%s\" is defined twice",
					     r->transits[k].name);
		for (unsigned p = 0; p < r->nprefixes; p++)
			for (unsigned j = 0; j < i; j++)
				for (unsigned q = 0; q < out->realms[j].nprefixes; q++) {
					const struct prefix *a = &r->prefixes[p], *b = &out->realms[j].prefixes[q];
					if (a->len == b->len && a->addr == b->addr)
						conftab_err(c, g, NULL,
						     "prefix is also in realm \"%s\": a packet could not be told apart",
						     out->realms[j].name);
				}
	}
	/* every pool prefix, transit ones included, against every other */
	{
		struct {
			const struct prefix *p;
			unsigned realm;
		} all[REALM_MAX * REALM_PREFIX_MAX * (1 + REALM_TRANSIT_MAX)];
		unsigned nall = 0;
		for (unsigned i = 0; i < out->nrealms; i++) {
			const struct conf_realm *r = &out->realms[i];
			for (unsigned p = 0; p < r->npool; p++)
				all[nall].p = &r->pool[p], all[nall++].realm = i;
			for (unsigned k = 0; k < r->ntransits; k++)
				for (unsigned p = 0; p < r->transits[k].npool; p++)
					all[nall].p = &r->transits[k].pool[p], all[nall++].realm = i;
		}
		for (unsigned a = 0; a < nall; a++) {
			const struct prefix *pa = all[a].p;
			pool_addrs += pa->len >= 20 ? 1u << (32 - pa->len) : CONF_MAX_POOL_ADDRS + 1;
			for (unsigned b = 0; b < a; b++)
				if (pfx_overlap(pa, all[b].p))
					conftab_err(c, list ? config_setting_get_elem(list,
						(unsigned)out->realms[all[a].realm].index) : NULL,
					     NULL, "pool prefix overlaps another pool prefix");
		}
	}
	if (pool_addrs > CONF_MAX_POOL_ADDRS)
		conftab_err(c, list, "realms", "pools hold more than %d addresses", CONF_MAX_POOL_ADDRS);
	for (unsigned i = 0; i < out->nforwards; i++) {
		struct conf_forward *f = &out->forwards[i];
		int er = realm_index(out, f->ext_realm), ir = realm_index(out, f->in_realm);
		char p[64];

		snprintf(p, sizeof(p), "forwards[%d]", f->index);
		if (er < 0)
			fprintf(c->errs, "%s:%d: %s.realm: no realm named \"%s\"\n", c->path, f->line, p,
				f->ext_realm), c->nerr++;
		else if (!realm_contains(&out->realms[er], f->ext.addr))
			fprintf(c->errs, "%s:%d: %s.external: not an address of realm \"%s\"\n", c->path,
				f->line, p, f->ext_realm), c->nerr++;
		if (ir < 0)
			fprintf(c->errs, "%s:%d: %s.internal_realm: no realm named \"%s\"\n", c->path,
				f->line, p, f->in_realm), c->nerr++;
		if (er >= 0 && er == ir)
			fprintf(c->errs, "%s:%d: %s: external and internal realms are the same\n",
				c->path, f->line, p), c->nerr++;
		for (unsigned j = 0; j < i; j++)
			if (out->forwards[j].proto == f->proto && ep_eq(out->forwards[j].ext, f->ext) &&
			    !strcmp(out->forwards[j].ext_realm, f->ext_realm))
				fprintf(c->errs, "%s:%d: %s.external: already forwarded at line %d\n",
					c->path, f->line, p, out->forwards[j].line), c->nerr++;
	}
	check_clients(c, out, out->clients, out->nclients, "clients", "user");
	check_pcp(c, cfg, out);
	check_clients(c, out, out->tcp_clients, out->ntcp_clients, "tcp_clients", "name");
	if (out->ctl_tcp_listen[0]) {
		struct endpoint ep;
		if (ep_parse(out->ctl_tcp_listen, &ep) < 0 || !ep.port)
			fprintf(c->errs, "%s:0: control.tcp_listen: \"%s\" is not an address:port\n",
				c->path, out->ctl_tcp_listen), c->nerr++;
		else if (!out->nctl_tcp_allow)
			fprintf(c->errs, "%s:0: control.tcp_allow: needed with tcp_listen (the source prefixes "
				"that may connect)\n", c->path), c->nerr++;
	}
	if (out->ctl_default_lifetime > out->ctl_max_lifetime)
		fprintf(c->errs, "%s:0: control.default_lifetime: longer than control.max_lifetime\n",
			c->path), c->nerr++;
	for (size_t i = 0; i < NELEM(rfc_min); i++) {
		const config_setting_t *s = lookup(cfg, rfc_min[i].path);
		long long v;
		if (s && (config_setting_type(s) == CONFIG_TYPE_INT) &&
		    (v = config_setting_get_int(s)) < rfc_min[i].min && v > 0)
			log_warn("%s:%d: %s: %lld s is below the %u s of %s", c->path,
				 config_setting_source_line(s), rfc_min[i].path, v, rfc_min[i].min,
				 rfc_min[i].rfc);
	}
}

int conf_load(const char *path, struct natd_conf *out, FILE *errs)
{
	struct conftab c;
	config_t cfg;

	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", path);
	conftab_init(&c, path, errs);
	config_init(&cfg);
	if (conftab_read_file(&c, &cfg) < 0) {
		config_destroy(&cfg);
		return -EINVAL;
	}
	conftab_check_unknown(&c, config_root_setting(&cfg), items, NELEM(items), groups, NELEM(groups),
			      lists, NELEM(lists));
	conftab_load_items(&c, &cfg, items, NELEM(items), out);
	load_realms(&c, &cfg, out);
	load_forwards(&c, &cfg, out);
	check_cross(&c, &cfg, out);
	hastore_conf_check(&c, &cfg, "ha", &out->ha);
	out->frag.slot_bytes = (uint32_t)out->tun_mtu;
	/* permissions: only dependent filtering needs them; by default two per
	 * binding */
	if (!lookup(&cfg, "table.permissions") && out->bind.filtering != FILTER_EIF)
		out->bind.perm_capacity = 2 * out->bind.capacity;
	config_destroy(&cfg);
	if (c.nerr) {
		conf_free(out);
		return -EINVAL;
	}
	return 0;
}

void conf_free(struct natd_conf *c)
{
	free(c->forwards);
	c->forwards = NULL;
	c->nforwards = 0;
}
