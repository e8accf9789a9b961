/* conf: table-driven, strict loading of natd.conf (see conf.h).
 *
 * Scalars are described by the items[] table: dotted path, type, range,
 * default and where the value goes in struct natd_conf. The two lists
 * (realms, forwards) have their own key tables. A pass over the parsed tree
 * reports every setting that no table knows. Then a cross-field pass checks
 * what single settings cannot: names that must exist, overlaps, duplicates.
 * Every problem is printed as "file:line: setting: problem"; loading fails
 * if there was at least one.
 */
#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "confmsg.h"
#include "log.h"
#include "name.h"

enum ctype {
	T_INT, T_U32, T_BOOL, T_STR, T_LOGLEVEL, T_FILTER, T_IFLIST, T_PFXLIST,
	T_CLIENTS, T_TCPCLIENTS, T_MODE, T_ADDRS, T_PREFIXES
};

struct item {
	const char *path;
	enum ctype type;
	long long min, max;
	size_t off;
	size_t size; /* T_STR: buffer size; T_PREFIXES: offset of the unsigned count */
	long long dflt;
	const char *dflt_s;
};

#define OFF(f) offsetof(struct natd_conf, f)
bool conf_tcp_name_ok(const char *name)
{
	return name_ok(name, CONF_TCP_NAME_MAX);
}

static const struct item items[] = {
	{"tun.name", T_STR, 0, 0, OFF(tun_name), IFNAMSIZ, 0, "natd0"},
	{"tun.mtu", T_INT, 576, 65535, OFF(tun_mtu), 0, 1500, NULL},
	{"tun.txqueuelen", T_INT, 1, 1000000, OFF(tun_txqueuelen), 0, 5000, NULL},
	{"user", T_STR, 0, 0, OFF(user), 64, 0, "natedge"},
	{"pidfile", T_STR, 0, 0, OFF(pidfile), 256, 0, "/run/natd/natd.pid"},
	{"state.file", T_STR, 0, 0, OFF(state_file), 256, 0, ""},
	{"log.level", T_LOGLEVEL, 0, 0, OFF(log_level), 0, 0, "info"},
	{"log.syslog", T_BOOL, 0, 1, OFF(log_syslog), 0, 0, NULL},
	{"stats_interval", T_INT, 0, 86400, OFF(stats_interval), 0, 0, NULL},
	{"table.capacity", T_U32, 1, 1 << 24, OFF(bind.capacity), 0, 65536, NULL},
	{"table.permissions", T_U32, 0, 1 << 26, OFF(bind.perm_capacity), 0, 0, NULL},
	{"table.permissions_per_host", T_U32, 0, 1 << 26, OFF(bind.perm_per_host), 0, 8192, NULL},
	{"table.icmp_errors_from_path", T_BOOL, 0, 1, OFF(icmp_errors_from_path), 0, 0, NULL},
	{"table.filtering", T_FILTER, 0, 0, OFF(bind.filtering), 0, 0, "endpoint-independent"},
	{"table.hairpinning", T_BOOL, 0, 1, OFF(hairpinning), 0, 1, NULL},
	{"table.port_parity", T_BOOL, 0, 1, OFF(port_parity), 0, 1, NULL},
	{"table.port_preservation", T_BOOL, 0, 1, OFF(port_preservation), 0, 1, NULL},
	{"table.max_bindings_per_host", T_U32, 0, 1 << 24, OFF(max_bindings_per_host), 0, 4096, NULL},
	{"table.new_flows_per_host", T_U32, 0, 1000000, OFF(new_flows_per_host), 0, 1000, NULL},
	{"timeouts.udp", T_U32, 1, 86400, OFF(bind.timeout[BT_UDP]), 0, 300, NULL},
	{"timeouts.tcp_established", T_U32, 1, 7 * 86400, OFF(bind.timeout[BT_TCP_EST]), 0, 7440, NULL},
	{"timeouts.tcp_transitory", T_U32, 1, 86400, OFF(bind.timeout[BT_TCP_TRANS]), 0, 240, NULL},
	{"timeouts.icmp", T_U32, 1, 86400, OFF(bind.timeout[BT_ICMP]), 0, 60, NULL},
	{"fragments.datagrams", T_U32, 1, 1 << 20, OFF(frag.datagrams), 0, 1024, NULL},
	{"fragments.buffered", T_U32, 0, 65536, OFF(frag.slots), 0, 256, NULL},
	{"fragments.timeout", T_U32, 1, 60, OFF(frag.timeout), 0, 5, NULL},
	{"fragments.datagrams_per_source", T_U32, 0, 1 << 20, OFF(frag.datagrams_per_source), 0, 256, NULL},
	{"fragments.buffered_per_source", T_U32, 0, 65536, OFF(frag.slots_per_source), 0, 48, NULL},
	{"control.socket", T_STR, 0, 0, OFF(ctl_socket), 108, 0, "/run/natd/ctl.sock"},
	{"control.socket_mode", T_MODE, 0, 0, OFF(ctl_mode), 8, 0, "0660"},
	{"control.socket_group", T_STR, 0, 0, OFF(ctl_group), 64, 0, ""},
	{"control.default_lifetime", T_U32, 1, 604800, OFF(ctl_default_lifetime), 0, 300, NULL},
	{"control.max_lifetime", T_U32, 1, 604800, OFF(ctl_max_lifetime), 0, 86400, NULL},
	{"control.max_clients", T_INT, 1, 4096, OFF(ctl_max_clients), 0, 64, NULL},
	{"control.max_request_rate", T_U32, 0, 10000000, OFF(ctl_max_rate), 0, 0, NULL},
	{"control.max_output", T_U32, 65536, 1u << 30, OFF(ctl_max_output), 0, 4u << 20, NULL},
	{"control.handshake_timeout", T_U32, 1, 3600, OFF(ctl_handshake_timeout), 0, 5, NULL},
	{"control.max_tcp_clients", T_INT, 1, 4096, OFF(ctl_max_tcp_clients), 0, 16, NULL},
	{"control.max_tcp_clients_per_source", T_INT, 1, 4096, OFF(ctl_max_tcp_per_source), 0, 4, NULL},
	{"control.clients", T_CLIENTS, 0, CONF_MAX_CLIENTS, OFF(clients), 0, 0, NULL},
	{"control.tcp_listen", T_STR, 0, 0, OFF(ctl_tcp_listen), 32, 0, ""},
	{"control.tcp_allow", T_PREFIXES, 0, 16, OFF(ctl_tcp_allow), OFF(nctl_tcp_allow), 0, NULL},
	{"control.tcp_clients", T_TCPCLIENTS, 0, CONF_MAX_CLIENTS, OFF(tcp_clients), 0, 0, NULL},
	{"pcp.enable", T_BOOL, 0, 1, OFF(pcp.enable), 0, 0, NULL},
	{"pcp.listen", T_ADDRS, 0, PCP_LISTEN_MAX, OFF(pcp.listen), 0, 0, NULL},
	{"pcp.port", T_U32, 1, 65535, OFF(pcp.port), 0, 5351, NULL},
	{"pcp.third_party", T_BOOL, 0, 1, OFF(pcp.third_party), 0, 0, NULL},
	{"pcp.third_party_clients", T_PREFIXES, 0, PCP_TP_CLIENTS_MAX, OFF(pcp.third_party_clients),
	 OFF(pcp.nthird_party_clients), 0, NULL},
	{"pcp.min_lifetime", T_U32, 1, 604800, OFF(pcp.min_lifetime), 0, 120, NULL},
	{"pcp.max_lifetime", T_U32, 1, 604800, OFF(pcp.max_lifetime), 0, 86400, NULL},
	{"pcp.max_mappings", T_U32, 0, 1 << 24, OFF(pcp.max_mappings), 0, 64, NULL},
	{"pcp.max_rate", T_U32, 0, 1000000, OFF(pcp.max_rate), 0, 200, NULL},
	{"pcp.max_client_rate", T_U32, 0, 1000000, OFF(pcp.max_client_rate), 0, 20, NULL},
	{"pcp.announce", T_BOOL, 0, 1, OFF(pcp.announce), 0, 1, NULL},
	{"routes.install", T_BOOL, 0, 1, OFF(routes_install), 0, 0, NULL},
	{"routes.table", T_INT, 1, 0x7fffffff, OFF(routes_table), 0, 100, NULL},
	{"routes.inside_interfaces", T_IFLIST, 0, CONF_MAX_IFACES, OFF(routes_iifs), 0, 0, NULL},
	{"routes.prefixes", T_PFXLIST, 0, REALM_PREFIX_MAX, OFF(routes_dev_prefixes), 0, 0, NULL},
};

static const char *const groups[] = {"tun", "log", "state", "table", "timeouts", "fragments", "control", "routes", "pcp"};
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

struct ctx {
	const char *path;
	FILE *errs;
	int nerr;
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

__attribute__((format(printf, 4, 5))) static void cerr(struct ctx *c, const config_setting_t *s,
						      const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	confmsg_vreport(c->errs, c->path, s, name, fmt, ap);
	va_end(ap);
	c->nerr++;
}

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return true;
	return false;
}

static bool known_path(const char *path)
{
	for (size_t i = 0; i < NELEM(items); i++)
		if (!strcmp(items[i].path, path))
			return true;
	return false;
}

/* Report members of group g that are not in keys (for list elements). */
static void check_members(struct ctx *c, const config_setting_t *g, const char *const *keys, size_t n)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		if (name && !in_list(name, keys, n))
			cerr(c, m, NULL, "unknown setting");
	}
}

/* Unknown settings at the top level and inside the scalar groups. */
static void check_unknown(struct ctx *c, const config_setting_t *root)
{
	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(s);

		if (!strcmp(name, "realms") || !strcmp(name, "forwards"))
			continue;
		if (in_list(name, groups, NELEM(groups))) {
			if (!config_setting_is_group(s)) {
				cerr(c, s, NULL, "must be a group { ... }");
				continue;
			}
			for (int j = 0; j < config_setting_length(s); j++) {
				const config_setting_t *m = config_setting_get_elem(s, (unsigned)j);
				char p[128];
				snprintf(p, sizeof(p), "%s.%s", name, config_setting_name(m));
				if (!known_path(p))
					cerr(c, m, p, "unknown setting");
			}
		} else if (!known_path(name)) {
			cerr(c, s, NULL, "unknown setting");
		}
	}
}

static const config_setting_t *lookup(const config_t *cfg, const char *path)
{
	return config_lookup(cfg, path);
}

static const char *str_of(struct ctx *c, const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		cerr(c, s, NULL, "must be a string");
		return NULL;
	}
	return config_setting_get_string(s);
}

static bool int_of(struct ctx *c, const config_setting_t *s, long long min, long long max,
		   long long *out)
{
	long long v;

	if (config_setting_type(s) == CONFIG_TYPE_INT)
		v = config_setting_get_int(s);
	else if (config_setting_type(s) == CONFIG_TYPE_INT64)
		v = config_setting_get_int64(s);
	else {
		cerr(c, s, NULL, "must be an integer");
		return false;
	}
	if (v < min || v > max) {
		cerr(c, s, NULL, "%lld is out of range %lld..%lld", v, min, max);
		return false;
	}
	*out = v;
	return true;
}

static void load_strlist(struct ctx *c, const config_setting_t *s, const struct item *it,
			 char *base, unsigned *count)
{
	if (!config_setting_is_array(s)) {
		cerr(c, s, NULL, "must be an array of strings [ \"...\" ]");
		return;
	}
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = str_of(c, e);
		struct prefix p;

		if (!v)
			continue;
		if ((long long)*count >= it->max) {
			cerr(c, e, NULL, "more than %lld entries", it->max);
			return;
		}
		if (it->type == T_IFLIST) {
			if (!*v || strlen(v) >= IFNAMSIZ || strchr(v, '/')) {
				cerr(c, e, NULL, "\"%s\" is not an interface name", v);
				continue;
			}
			memcpy(base + (size_t)*count * IFNAMSIZ, v, strlen(v) + 1);
		} else {
			if (prefix_parse(v, &p) < 0) {
				cerr(c, e, NULL, "\"%s\" is not a prefix a.b.c.d/len", v);
				continue;
			}
			snprintf(base + (size_t)*count * 20, 20, "%s", v);
		}
		(*count)++;
	}
}

static void realm_strings(struct ctx *c, const config_setting_t *s, bool prefixes,
			  struct prefix *pfx, unsigned *npfx, char (*names)[REALM_NAME_MAX],
			  unsigned *nnames, unsigned max);

static void load_clients(struct ctx *c, const config_setting_t *list, bool tcp,
			 struct conf_client *clients, unsigned *nclients)
{
	const char *idkey = tcp ? "name" : "user";

	if (!config_setting_is_list(list)) {
		cerr(c, list, NULL, "must be a list ( { %s = ...; }, ... )", idkey);
		return;
	}
	for (int i = 0; i < config_setting_length(list); i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i), *s;
		struct conf_client *cl;
		const char *v;
		long long q;

		if (!config_setting_is_group(g)) {
			cerr(c, g, NULL, "must be a group { %s = ...; }", idkey);
			continue;
		}
		if (*nclients >= CONF_MAX_CLIENTS) {
			cerr(c, g, NULL, "more than %d clients", CONF_MAX_CLIENTS);
			return;
		}
		cl = &clients[(*nclients)++];
		cl->line = config_setting_source_line(g);
		if (tcp)
			check_members(c, g, tcp_client_keys, NELEM(tcp_client_keys));
		else
			check_members(c, g, client_keys, NELEM(client_keys));
		if (!(s = config_setting_get_member(g, idkey)))
			cerr(c, g, NULL, "%s: missing", idkey);
		else if ((v = str_of(c, s))) {
			if (!*v || strlen(v) >= sizeof(cl->user))
				cerr(c, s, NULL, "not a %s name", tcp ? "client" : "user");
			else if (tcp && !conf_tcp_name_ok(v))
				/* natd refuses a HELLO name it would have to cut to
				 * make the owner key "tcp:<name>" fit: never truncated
				 * into another client's */
				cerr(c, s, NULL, "\"%s\" is not a client name (1 to %d of [A-Za-z0-9._-])",
				     v, CONF_TCP_NAME_MAX);
			else
				snprintf(cl->user, sizeof(cl->user), "%s", v);
		}
		if (tcp && !(s = config_setting_get_member(g, "secret_file")))
			cerr(c, g, NULL, "secret_file: missing");
		else if (tcp && (v = str_of(c, s))) {
			if (*v != '/' || strlen(v) >= sizeof(cl->secret_file))
				cerr(c, s, NULL, "must be an absolute path");
			else
				snprintf(cl->secret_file, sizeof(cl->secret_file), "%s", v);
		}
		if ((s = config_setting_get_member(g, "admin"))) {
			if (config_setting_type(s) != CONFIG_TYPE_BOOL)
				cerr(c, s, NULL, "must be true or false");
			else
				cl->admin = config_setting_get_bool(s);
		}
		if ((s = config_setting_get_member(g, "realms")))
			realm_strings(c, s, false, NULL, NULL, cl->realms, &cl->nrealms, REALM_MAX);
		if ((s = config_setting_get_member(g, "prefixes")))
			realm_strings(c, s, true, cl->prefixes, &cl->nprefixes, NULL, NULL, 16);
		if ((s = config_setting_get_member(g, "quota")) && int_of(c, s, 0, 1 << 24, &q))
			cl->quota = (uint32_t)q;
	}
}

static void load_item(struct ctx *c, const config_t *cfg, struct natd_conf *out,
		      const struct item *it)
{
	const config_setting_t *s = lookup(cfg, it->path);
	char *dst = (char *)out + it->off;
	long long v;
	const char *str;

	/* defaults first */
	switch (it->type) {
	case T_INT: *(int *)dst = (int)it->dflt; break;
	case T_U32: *(uint32_t *)dst = (uint32_t)it->dflt; break;
	case T_BOOL: *(bool *)dst = it->dflt != 0; break;
	case T_STR: case T_MODE: snprintf(dst, it->size, "%s", it->dflt_s); break;
	case T_LOGLEVEL: *(int *)dst = log_level_parse(it->dflt_s); break;
	case T_FILTER: *(enum bind_filtering *)dst = FILTER_EIF; break;
	case T_IFLIST: case T_PFXLIST: case T_CLIENTS: case T_TCPCLIENTS: case T_ADDRS: case T_PREFIXES: break;
	}
	if (!s)
		return;
	switch (it->type) {
	case T_INT:
		if (int_of(c, s, it->min, it->max, &v))
			*(int *)dst = (int)v;
		break;
	case T_U32:
		if (int_of(c, s, it->min, it->max, &v))
			*(uint32_t *)dst = (uint32_t)v;
		break;
	case T_BOOL:
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			cerr(c, s, it->path, "must be true or false");
		else
			*(bool *)dst = config_setting_get_bool(s);
		break;
	case T_STR:
		if ((str = str_of(c, s))) {
			if (strlen(str) >= it->size)
				cerr(c, s, it->path, "longer than %zu characters", it->size - 1);
			else
				memcpy(dst, str, strlen(str) + 1);
		}
		break;
	case T_LOGLEVEL:
		if ((str = str_of(c, s))) {
			int l = log_level_parse(str);
			if (l < 0)
				cerr(c, s, it->path,
				     "\"%s\" is not one of error, warning, notice, info, debug", str);
			else
				*(int *)dst = l;
		}
		break;
	case T_FILTER:
		if ((str = str_of(c, s))) {
			if (!strcmp(str, "endpoint-independent"))
				*(enum bind_filtering *)dst = FILTER_EIF;
			else if (!strcmp(str, "address-dependent"))
				*(enum bind_filtering *)dst = FILTER_ADF;
			else if (!strcmp(str, "address-and-port-dependent"))
				*(enum bind_filtering *)dst = FILTER_APDF;
			else
				cerr(c, s, it->path,
				     "\"%s\" is not one of endpoint-independent, address-dependent, "
				     "address-and-port-dependent",
				     str);
		}
		break;
	case T_IFLIST:
		load_strlist(c, s, it, dst, &out->nroutes_iifs);
		break;
	case T_PFXLIST:
		load_strlist(c, s, it, dst, &out->nroutes_dev_prefixes);
		break;
	case T_MODE:
		if ((str = str_of(c, s))) {
			char *end;
			unsigned long mode = strtoul(str, &end, 8);
			if (!*str || *end || mode > 0777 || strlen(str) >= it->size)
				cerr(c, s, it->path, "\"%s\" is not an octal mode like \"0660\"", str);
			else
				memcpy(dst, str, strlen(str) + 1);
		}
		break;
	case T_CLIENTS:
		load_clients(c, s, false, out->clients, &out->nclients);
		break;
	case T_TCPCLIENTS:
		load_clients(c, s, true, out->tcp_clients, &out->ntcp_clients);
		break;

	case T_ADDRS: /* pcp.listen: plain addresses */
		if (!config_setting_is_array(s)) {
			cerr(c, s, it->path, "must be an array of strings [ \"a.b.c.d\" ]");
			break;
		}
		for (int i = 0; i < config_setting_length(s); i++) {
			const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
			struct in_addr a;
			if (!(str = str_of(c, e)))
				continue;
			if (out->pcp.nlisten >= PCP_LISTEN_MAX)
				cerr(c, e, NULL, "more than %d addresses", PCP_LISTEN_MAX);
			else if (inet_pton(AF_INET, str, &a) != 1)
				cerr(c, e, NULL, "\"%s\" is not an IPv4 address", str);
			else
				out->pcp.listen[out->pcp.nlisten++] = a.s_addr;
		}
		break;
	case T_PREFIXES:
		realm_strings(c, s, true, (struct prefix *)dst, (unsigned *)((char *)out + it->size),
			      NULL, NULL, (unsigned)it->max);
		break;
	}
}

/* Array of names or prefixes inside a realm. */
static void realm_strings(struct ctx *c, const config_setting_t *s, bool prefixes,
			  struct prefix *pfx, unsigned *npfx, char (*names)[REALM_NAME_MAX],
			  unsigned *nnames, unsigned max)
{
	if (!config_setting_is_array(s)) {
		cerr(c, s, NULL, "must be an array of strings [ \"...\" ]");
		return;
	}
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = str_of(c, e);
		if (!v)
			continue;
		if ((prefixes ? *npfx : *nnames) >= max) {
			cerr(c, e, NULL, "too many entries (at most %u)", max);
			return;
		}
		if (prefixes) {
			if (prefix_parse(v, &pfx[*npfx]) < 0)
				cerr(c, e, NULL, "\"%s\" is not a prefix a.b.c.d/len (host bits clear)", v);
			else
				(*npfx)++;
		} else {
			if (strlen(v) >= REALM_NAME_MAX || !*v)
				cerr(c, e, NULL, "\"%s\" is not a realm name", v);
			else
				snprintf(names[(*nnames)++], REALM_NAME_MAX, "%s", v);
		}
	}
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
static void load_pool(struct ctx *c, const config_setting_t *s, const char *const *keys, size_t nkeys,
		      struct prefix *pool, unsigned *npool, uint16_t *lo, uint16_t *hi)
{
	const config_setting_t *a, *p;
	const char *v;

	if (!config_setting_is_group(s)) {
		cerr(c, s, NULL, "must be a group { addresses = [...]; }");
		return;
	}
	check_members(c, s, keys, nkeys);
	*lo = 1024;
	*hi = 65535;
	if (!(a = config_setting_get_member(s, "addresses")))
		cerr(c, s, NULL, "addresses: missing");
	else
		realm_strings(c, a, true, pool, npool, NULL, NULL, REALM_PREFIX_MAX);
	if ((p = config_setting_get_member(s, "ports")) && (v = str_of(c, p)) && !parse_ports(v, lo, hi))
		cerr(c, p, NULL, "\"%s\" is not a range LOW-HIGH within 1-65535", v);
}

static void load_realms(struct ctx *c, const config_t *cfg, struct natd_conf *out)
{
	const config_setting_t *list = lookup(cfg, "realms");

	if (!list) {
		cerr(c, config_root_setting(cfg), "realms", "missing: at least two realms are needed");
		return;
	}
	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		cerr(c, list, NULL, "must be a list ( { ... }, ... )");
		return;
	}
	for (int i = 0; i < config_setting_length(list); i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i), *s;
		struct conf_realm *r;
		const char *v;

		if (!config_setting_is_group(g)) {
			cerr(c, g, NULL, "must be a group { name = ...; }");
			continue;
		}
		if (out->nrealms >= REALM_MAX) {
			cerr(c, g, NULL, "more than %d realms", REALM_MAX);
			return;
		}
		r = &out->realms[out->nrealms++];
		r->index = i;
		check_members(c, g, realm_keys, NELEM(realm_keys));
		if (!(s = config_setting_get_member(g, "name")))
			cerr(c, g, NULL, "name: missing");
		else if ((v = str_of(c, s))) {
			if (!name_ok(v, REALM_NAME_MAX - 1))
				cerr(c, s, NULL, "must be 1..%d characters of A-Z a-z 0-9 . _ -",
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
				cerr(c, s, NULL, "must be a list ( { name = ...; addresses = [...]; }, ... )");
				continue;
			}
			for (int k = 0; k < config_setting_length(s); k++) {
				const config_setting_t *t = config_setting_get_elem(s, (unsigned)k), *nm;
				struct conf_transit *ct;
				if (r->ntransits >= REALM_TRANSIT_MAX) {
					cerr(c, t, NULL, "more than %d transit pools", REALM_TRANSIT_MAX);
					break;
				}
				ct = &r->transits[r->ntransits++];
				if (!(nm = config_setting_is_group(t) ? config_setting_get_member(t, "name") : NULL))
					cerr(c, t, NULL, "name: missing");
				else if ((v = str_of(c, nm))) {
					if (!name_ok(v, REALM_NAME_MAX - 1))
						cerr(c, nm, NULL, "must be 1..%d characters of A-Z a-z 0-9 . _ -",
						     REALM_NAME_MAX - 1);
					else
						snprintf(ct->name, sizeof(ct->name), "%s", v);
				}
				load_pool(c, t, transit_keys, NELEM(transit_keys), ct->pool, &ct->npool,
					  &ct->port_lo, &ct->port_hi);
			}
		}
		if (!r->nprefixes && !r->npool)
			cerr(c, g, NULL, "a realm needs prefixes or a pool");
	}
}

static void load_forwards(struct ctx *c, const config_t *cfg, struct natd_conf *out)
{
	const config_setting_t *list = lookup(cfg, "forwards");
	int n;

	if (!list)
		return;
	if (!config_setting_is_list(list) && !config_setting_is_array(list)) {
		cerr(c, list, NULL, "must be a list ( { ... }, ... )");
		return;
	}
	n = config_setting_length(list);
	if (n > CONF_MAX_FORWARDS) {
		cerr(c, list, NULL, "more than %d forwards", CONF_MAX_FORWARDS);
		return;
	}
	out->forwards = calloc((size_t)n + 1, sizeof(*out->forwards));
	if (!out->forwards) {
		cerr(c, list, NULL, "out of memory");
		return;
	}
	for (int i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, (unsigned)i), *s;
		struct conf_forward *f = &out->forwards[out->nforwards];
		const char *v;
		bool ok = true;

		if (!config_setting_is_group(g)) {
			cerr(c, g, NULL, "must be a group { proto = ...; }");
			continue;
		}
		check_members(c, g, forward_keys, NELEM(forward_keys));
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
			if (!(v = str_of(c, s))) {
				ok = false;
				continue;
			}
			if (!strcmp(key, "proto")) {
				if (!strcmp(v, "udp"))
					f->proto = IPPROTO_UDP;
				else if (!strcmp(v, "tcp"))
					f->proto = IPPROTO_TCP;
				else {
					cerr(c, s, NULL, "\"%s\" is not udp or tcp", v);
					ok = false;
				}
			} else if (!strcmp(key, "external") || !strcmp(key, "internal")) {
				struct endpoint *ep = key[0] == 'e' ? &f->ext : &f->in;
				if (ep_parse(v, ep) < 0 || ep->port == 0) {
					cerr(c, s, NULL, "\"%s\" is not an address:port (port 1-65535)", v);
					ok = false;
				}
			} else {
				char *dst = key[0] == 'r' ? f->ext_realm : f->in_realm;
				if (strlen(v) >= REALM_NAME_MAX) {
					cerr(c, s, NULL, "not a realm name");
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
static void check_pcp(struct ctx *c, const config_t *cfg, struct natd_conf *out)
{
	const struct pcp_conf *p = &out->pcp;
	const config_setting_t *s = lookup(cfg, "pcp.listen");

	if (p->enable && p->nlisten == 0)
		cerr(c, s ? s : config_root_setting(cfg), "pcp.listen",
		     "missing: the inside addresses to answer PCP and NAT-PMP on");
	if (p->min_lifetime > p->max_lifetime)
		cerr(c, lookup(cfg, "pcp.min_lifetime"), "pcp.min_lifetime",
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
			cerr(c, e, "pcp.listen", "%s is not in a realm that is translated (nat_to)", a);
		for (unsigned j = 0; j < i; j++)
			if (p->listen[j] == p->listen[i])
				cerr(c, e, "pcp.listen", "%s is listed twice", a);
	}
}

/* control.clients or control.tcp_clients: realms that exist, no name twice. */
static void check_clients(struct ctx *c, const struct natd_conf *out, const struct conf_client *cl,
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
static void check_cross(struct ctx *c, const config_t *cfg, struct natd_conf *out)
{
	const config_setting_t *list = lookup(cfg, "realms");
	unsigned pool_addrs = 0;

	if (list && out->nrealms < 2 && c->nerr == 0)
		cerr(c, list, "realms", "at least two realms are needed");
	for (unsigned i = 0; i < out->nrealms; i++) {
		struct conf_realm *r = &out->realms[i];
		const config_setting_t *g = list ? config_setting_get_elem(list, (unsigned)r->index) : NULL;

		for (unsigned j = 0; j < i; j++)
			if (*r->name && !strcmp(r->name, out->realms[j].name))
				cerr(c, g, NULL, "realm \"%s\" is defined twice", r->name);
		for (unsigned k = 0; k < r->nnat_to; k++) {
			int t = realm_index(out, r->nat_to[k]);
			const config_setting_t *nt = g ? config_setting_get_member(g, "nat_to") : NULL;
			const config_setting_t *e = nt ? config_setting_get_elem(nt, k) : NULL;
			if (!e)
				e = g;
			if (t < 0)
				cerr(c, e, NULL, "no realm named \"%s\"", r->nat_to[k]);
			else if ((unsigned)t == i)
				cerr(c, e, NULL, "a realm cannot NAT into itself");
			else if (!out->realms[t].npool)
				cerr(c, e, NULL, "realm \"%s\" has no pool to translate into",
				     r->nat_to[k]);
		}
		for (unsigned k = 0; k < r->ntransits; k++)
			for (unsigned j = 0; j < k; j++)
				if (!strcmp(r->transits[j].name, r->transits[k].name))
					cerr(c, g, NULL, "transit pool \"%s\" is defined twice",
					     r->transits[k].name);
		for (unsigned p = 0; p < r->nprefixes; p++)
			for (unsigned j = 0; j < i; j++)
				for (unsigned q = 0; q < out->realms[j].nprefixes; q++) {
					const struct prefix *a = &r->prefixes[p], *b = &out->realms[j].prefixes[q];
					if (a->len == b->len && a->addr == b->addr)
						cerr(c, g, NULL,
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
					cerr(c, list ? config_setting_get_elem(list,
						(unsigned)out->realms[all[a].realm].index) : NULL,
					     NULL, "pool prefix overlaps another pool prefix");
		}
	}
	if (pool_addrs > CONF_MAX_POOL_ADDRS)
		cerr(c, list, "realms", "pools hold more than %d addresses", CONF_MAX_POOL_ADDRS);
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
	struct ctx c = {path, errs, 0};
	config_t cfg;

	memset(out, 0, sizeof(*out));
	snprintf(out->path, sizeof(out->path), "%s", path);
	config_init(&cfg);
	if (config_read_file(&cfg, path) != CONFIG_TRUE) {
		if (config_error_type(&cfg) == CONFIG_ERR_FILE_IO)
			fprintf(errs, "%s:0: (file): cannot read: %s\n", path, strerror(errno));
		else
			fprintf(errs, "%s:%d: (syntax): %s\n",
				config_error_file(&cfg) ? config_error_file(&cfg) : path,
				config_error_line(&cfg), config_error_text(&cfg));
		config_destroy(&cfg);
		return -EINVAL;
	}
	check_unknown(&c, config_root_setting(&cfg));
	for (size_t i = 0; i < NELEM(items); i++)
		load_item(&c, &cfg, out, &items[i]);
	load_realms(&c, &cfg, out);
	load_forwards(&c, &cfg, out);
	check_cross(&c, &cfg, out);
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
