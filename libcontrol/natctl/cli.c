/* cli: natctl's command line (see cli.h). */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcontrol/client.h>

#include "cli.h"

#define BIND_OPTS                                                                     \
	"    --dir term|orig|both    what M translates (default both)\n"              \
	"    --proto udp|tcp         (default udp)\n"                                  \
	"    --in-realm R1           the realm of E (required)\n"                      \
	"    --ext-realm R2          the realm of M (required)\n"                      \
	"    --endpoint IP:PORT      E, which need not be this host (required)\n"      \
	"    --want-ip IP | --want-prefix P/L | --want-range A-B    M's address\n"     \
	"    --want-port N           M's port\n"                                       \
	"    --rtp-pair              M's port even, and port+1 kept for RTCP\n"        \
	"    --prefer-failure        fail rather than miss a --want-* or --rtp-pair\n" \
	"    --filter MATCH          only remotes matching (repeatable; term)\n"       \
	"    --latch S               with --filter: latch the first remote address\n" \
	"                            seen within S s (1..3600), then only it\n"       \
	"    --target MATCH=IP:PORT  remotes matching go there (repeatable; term)\n"   \
	"    --drop-default          drop remotes no --target matches\n"               \
	"    --peer MATCH            translate only towards MATCH (orig)\n"            \
	"    --transit NAME          take M from a transit network's pool\n"           \
	"    --lifetime S            lease in seconds (1..604800)\n"                   \
	"    --label TEXT            a note list shows\n"

static const char usage[] =
	"Usage: natctl [-s SOCKET | -t HOST:PORT -k SECRETFILE] [--json] COMMAND [ARGS]\n"
	"Ask natd's address manager for bindings over its control channel.\n"
	"\n"
	"Connection:\n"
	"  -s, --socket SOCKET       natd's Unix socket (default " NC_CTL_SOCKET ")\n"
	"  -t, --tcp HOST:PORT       natd over TCP ([IPv6]:PORT for IPv6), which needs\n"
	"  -k, --secret-file FILE    the shared secret (the file's bytes, less one\n"
	"                            trailing newline)\n"
	"  -n, --name NAME           the name natctl gives natd (over TCP: the client\n"
	"                            name natd knows the secret of)\n"
	"  --json                    print JSON: one object, one per line for list\n"
	"                            and watch\n"
	"  -h, --help                this text\n"
	"  -V, --version             natctl's version\n"
	"\n"
	"Commands:\n"
	"  bind OPTIONS              ask for an address M in realm R2 for endpoint E\n"
	"                            in realm R1; prints the binding's id, M, its\n"
	"                            lifetime and natd's epoch\n" BIND_OPTS
	"  refresh ID [--lifetime S] [--epoch E]   extend a binding's lease\n"
	"  release ID [--epoch E]    give a binding back (E: the epoch bind printed;\n"
	"                            default: natd's current one)\n"
	"  list [--id N] [--mine] [--kind dynamic|static|managed]\n"
	"                            bindings, with packets and bytes in/out and owner\n"
	"  stats                     natd's counters\n"
	"  caps                      what natd supports: messages, realms, limits\n"
	"  watch [--events LIST] [--count N] [--timeout S]\n"
	"                            print binding events as they happen (LIST: any of\n"
	"                            created,refreshed,released,expired) until SIGINT,\n"
	"                            N events or S seconds\n"
	"  ha [status|promote|demote]  the HA pair (natd with ha.enabled; natd's\n"
	"                            administrators): role, epoch, replication lag\n"
	"                            and counters, after promoting or demoting\n"
	"\n"
	"MATCH is IPv4[/LEN][:PORT[-PORT]], [IPv6[/LEN]][:PORT[-PORT]] or IPv6[/LEN].\n"
	"\n"
	"Exit status: 0 done, 1 natd refused (its status and reason are printed),\n"
	"2 bad command line, 3 connection or protocol error.\n";

const char *cli_usage(void)
{
	return usage;
}

/* ---- values ---- */

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(s, min, max, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_u16(const char *s, uint16_t min, uint16_t max, uint16_t *out)
{
	uint64_t v;

	if (parse_u64(s, min, max, &v) < 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Copy s[0..n) into a NUL-terminated buffer of size cap. */
static int copy(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int parse_ip_n(const char *s, size_t n, struct nc_ip *ip)
{
	char buf[INET6_ADDRSTRLEN];

	memset(ip, 0, sizeof(*ip));
	if (copy(buf, sizeof(buf), s, n) < 0)
		return -1;
	if (inet_pton(AF_INET, buf, ip->a) == 1)
		ip->af = NC_AF_IP4;
	else if (inet_pton(AF_INET6, buf, ip->a) == 1)
		ip->af = NC_AF_IP6;
	else
		return -1;
	return 0;
}

static unsigned ip_bits(const struct nc_ip *ip)
{
	return ip->af == NC_AF_IP4 ? 32 : 128;
}

/* Whether ip/plen has no bits set past plen. */
static bool host_bits_zero(const struct nc_ip *ip, unsigned plen)
{
	unsigned i;

	for (i = plen; i < ip_bits(ip); i++)
		if (ip->a[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* ADDR[/LEN] in s[0..n). */
static int parse_prefix_n(const char *s, size_t n, struct nc_ip *ip, uint8_t *plen)
{
	const char *slash = memchr(s, '/', n);
	char len[8];
	uint16_t l;

	if (parse_ip_n(s, slash ? (size_t)(slash - s) : n, ip) < 0)
		return -1;
	if (!slash) {
		*plen = (uint8_t)ip_bits(ip);
		return 0;
	}
	if (copy(len, sizeof(len), slash + 1, n - (size_t)(slash + 1 - s)) < 0 ||
	    parse_u16(len, 0, (uint16_t)ip_bits(ip), &l) < 0 || !host_bits_zero(ip, l))
		return -1;
	*plen = (uint8_t)l;
	return 0;
}

static int parse_ports(const char *s, uint16_t *lo, uint16_t *hi)
{
	const char *dash = strchr(s, '-');
	char a[8];

	if (!dash)
		return parse_u16(s, 0, 65535, lo) < 0 ? -1 : (*hi = *lo, 0);
	if (copy(a, sizeof(a), s, (size_t)(dash - s)) < 0 || parse_u16(a, 0, 65535, lo) < 0 ||
	    parse_u16(dash + 1, 0, 65535, hi) < 0 || *lo > *hi)
		return -1;
	return 0;
}

int cli_parse_ep(const char *s, struct nc_ep *ep)
{
	const char *colon;

	memset(ep, 0, sizeof(*ep));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || parse_ip_n(s + 1, (size_t)(close - s - 1), &ep->ip) < 0 ||
		    ep->ip.af != NC_AF_IP6)
			return -1;
		colon = close + 1;
	} else {
		colon = strchr(s, ':');
		if (!colon || strchr(colon + 1, ':') || parse_ip_n(s, (size_t)(colon - s), &ep->ip) < 0)
			return -1;
	}
	return parse_u16(colon + 1, 1, 65535, &ep->port);
}

int cli_parse_match(const char *s, struct nc_match *m)
{
	const char *addr = s, *ports = NULL, *colon;
	size_t alen;

	memset(m, 0, sizeof(*m));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || (close[1] && close[1] != ':'))
			return -1;
		addr = s + 1;
		alen = (size_t)(close - addr);
		if (close[1] == ':')
			ports = close + 2;
	} else if ((colon = strchr(s, ':')) && strchr(colon + 1, ':')) {
		alen = strlen(s); /* a bare IPv6 prefix, no ports */
	} else if (colon) {
		alen = (size_t)(colon - s);
		ports = colon + 1;
	} else {
		alen = strlen(s);
	}
	if (parse_prefix_n(addr, alen, &m->ip, &m->plen) < 0)
		return -1;
	m->port_hi = 65535;
	return ports ? parse_ports(ports, &m->port_lo, &m->port_hi) : 0;
}

int cli_parse_target(const char *s, struct nc_target *t)
{
	const char *eq = strchr(s, '=');
	char match[128];

	memset(t, 0, sizeof(*t));
	if (!eq || copy(match, sizeof(match), s, (size_t)(eq - s)) < 0)
		return -1;
	if (cli_parse_match(match, &t->from) < 0 || cli_parse_ep(eq + 1, &t->to) < 0)
		return -1;
	return 0;
}

/* A name value: 1..NC_NAME_MAX of [A-Za-z0-9._-]. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NC_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

/* ---- the argument walker ---- */

struct ps {
	int argc;
	char *const *argv;
	int i;          /* the argument being looked at */
	const char *val; /* the value of the option just matched */
	char *err;
	size_t errlen;
};

static int fail(struct ps *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct ps *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	return CLI_USAGE;
}

/* Whether argv[i] is option --lng (or -shrt, 0: none). An option with a
 * value takes it from "--lng=V", "-sV" or the next argument (p->val).
 * 1 matched, 0 not this option, CLI_USAGE a value is missing or given to
 * a flag. */
static int opt(struct ps *p, const char *lng, char shrt, bool takes)
{
	const char *a = p->argv[p->i];
	size_t n = strlen(lng);

	p->val = NULL;
	if (a[0] == '-' && a[1] == '-' && !strncmp(a + 2, lng, n) &&
	    (a[2 + n] == '\0' || a[2 + n] == '=')) {
		if (a[2 + n] == '=') {
			if (!takes)
				return fail(p, "--%s takes no value", lng);
			p->val = a + 3 + n;
			return 1;
		}
	} else if (shrt && a[0] == '-' && a[1] == shrt) {
		if (a[2]) {
			if (!takes)
				return 0;
			p->val = a + 2;
			return 1;
		}
	} else {
		return 0;
	}
	if (!takes)
		return 1;
	if (p->i + 1 >= p->argc)
		return fail(p, "--%s needs a value", lng);
	p->val = p->argv[++p->i];
	return 1;
}

/* Match one of several words; -1 if none. */
static int word(const char *s, const char *const *words, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (words[i] && !strcmp(s, words[i]))
			return (int)i;
	return -1;
}

static const char *const dirs[] = {[NC_DIR_TERM] = "term", [NC_DIR_ORIG] = "orig",
				   [NC_DIR_BOTH] = "both"};
static const char *const kinds[] = {[NC_KIND_DYNAMIC] = "dynamic",
				    [NC_KIND_STATIC] = "static",
				    [NC_KIND_MANAGED] = "managed"};
static const char *const events[] = {[NC_EV_CREATED] = "created",
				     [NC_EV_REFRESHED] = "refreshed",
				     [NC_EV_RELEASED] = "released",
				     [NC_EV_EXPIRED] = "expired"};
#define NWORDS(a) (sizeof(a) / sizeof((a)[0]))

/* -t HOST:PORT, [IPv6]:PORT */
static int parse_hostport(struct ps *p, struct cli *c, const char *s)
{
	const char *colon;
	size_t hlen;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return fail(p, "-t %s: expected HOST:PORT or [IPv6]:PORT", s);
		hlen = (size_t)(close - s - 1);
		s++;
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || colon == s || memchr(s, ':', (size_t)(colon - s)))
			return fail(p, "-t %s: expected HOST:PORT or [IPv6]:PORT", s);
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || copy(c->host, sizeof(c->host), s, hlen) < 0)
		return fail(p, "-t: bad host");
	if (parse_u16(colon + 1, 1, 65535, &c->port) < 0)
		return fail(p, "-t: bad port %s (1..65535)", colon + 1);
	c->tcp = true;
	return 0;
}

enum bind_opt {
	B_DIR, B_PROTO, B_IN_REALM, B_EXT_REALM, B_ENDPOINT, B_WANT_IP, B_WANT_PREFIX,
	B_WANT_RANGE, B_WANT_PORT, B_RTP_PAIR, B_PREFER_FAILURE, B_FILTER, B_TARGET,
	B_DROP_DEFAULT, B_PEER, B_TRANSIT, B_LIFETIME, B_LABEL, B_LATCH, B_N
};

static const struct {
	const char *name;
	bool takes;
} bind_opts[B_N] = {
	[B_DIR] = {"dir", true},
	[B_PROTO] = {"proto", true},
	[B_IN_REALM] = {"in-realm", true},
	[B_EXT_REALM] = {"ext-realm", true},
	[B_ENDPOINT] = {"endpoint", true},
	[B_WANT_IP] = {"want-ip", true},
	[B_WANT_PREFIX] = {"want-prefix", true},
	[B_WANT_RANGE] = {"want-range", true},
	[B_WANT_PORT] = {"want-port", true},
	[B_RTP_PAIR] = {"rtp-pair", false},
	[B_PREFER_FAILURE] = {"prefer-failure", false},
	[B_FILTER] = {"filter", true},
	[B_TARGET] = {"target", true},
	[B_DROP_DEFAULT] = {"drop-default", false},
	[B_PEER] = {"peer", true},
	[B_TRANSIT] = {"transit", true},
	[B_LIFETIME] = {"lifetime", true},
	[B_LABEL] = {"label", true},
	[B_LATCH] = {"latch", true},
};

static int parse_bind_opt(struct ps *p, struct nc_bind *b, bool *have_ep)
{
	struct nc_spec *s = &b->spec;
	const char *a = p->argv[p->i], *v;
	int k, r = 0, w;

	for (k = 0; k < B_N; k++)
		if ((r = opt(p, bind_opts[k].name, 0, bind_opts[k].takes)))
			break;
	if (r < 0)
		return r;
	v = p->val;
	switch (k) {
	case B_DIR:
		if ((w = word(v, dirs, NWORDS(dirs))) < 0)
			return fail(p, "--dir %s: expected term, orig or both", v);
		s->dir = (uint8_t)w;
		break;
	case B_PROTO:
		if (!strcmp(v, "udp"))
			s->proto = NC_PROTO_UDP;
		else if (!strcmp(v, "tcp"))
			s->proto = NC_PROTO_TCP;
		else if (!strcmp(v, "icmp"))
			s->proto = NC_PROTO_ICMP;
		else
			return fail(p, "--proto %s: expected udp, tcp or icmp", v);
		break;
	case B_IN_REALM:
	case B_EXT_REALM:
		if (!name_ok(v))
			return fail(p, "--%s %s: 1..%d characters of A-Z a-z 0-9 . _ -",
				    bind_opts[k].name, v, NC_NAME_MAX);
		strcpy(k == B_IN_REALM ? s->in_realm : s->ext_realm, v);
		break;
	case B_ENDPOINT:
		if (cli_parse_ep(v, &s->ep) < 0)
			return fail(p, "--endpoint %s: expected IPv4:PORT or [IPv6]:PORT", v);
		*have_ep = true;
		break;
	case B_WANT_IP:
	case B_WANT_PREFIX:
	case B_WANT_RANGE:
		if (b->want != NC_WANT_ANY)
			return fail(p, "--want-ip, --want-prefix and --want-range exclude each other");
		if (k == B_WANT_IP) {
			if (parse_ip_n(v, strlen(v), &b->want_addr) < 0)
				return fail(p, "--want-ip %s: not an IP address", v);
			b->want_plen = (uint8_t)ip_bits(&b->want_addr);
			b->want = NC_WANT_PREFIX;
		} else if (k == B_WANT_PREFIX) {
			if (!strchr(v, '/') ||
			    parse_prefix_n(v, strlen(v), &b->want_addr, &b->want_plen) < 0)
				return fail(p, "--want-prefix %s: expected ADDRESS/LEN, no host bits set",
					    v);
			b->want = NC_WANT_PREFIX;
		} else {
			const char *dash = strchr(v, '-');

			if (!dash || parse_ip_n(v, (size_t)(dash - v), &b->want_addr) < 0 ||
			    parse_ip_n(dash + 1, strlen(dash + 1), &b->want_hi) < 0 ||
			    b->want_addr.af != b->want_hi.af ||
			    memcmp(b->want_addr.a, b->want_hi.a, sizeof(b->want_addr.a)) > 0)
				return fail(p, "--want-range %s: expected LOW-HIGH, one family, LOW <= HIGH",
					    v);
			b->want = NC_WANT_RANGE;
		}
		break;
	case B_WANT_PORT:
		if (parse_u16(v, 1, 65535, &b->want_port) < 0)
			return fail(p, "--want-port %s: expected 1..65535", v);
		break;
	case B_RTP_PAIR:
		b->rtp_pair = true;
		break;
	case B_PREFER_FAILURE:
		b->prefer_failure = true;
		break;
	case B_FILTER:
		if (s->nfilters == NC_FILTER_MAX)
			return fail(p, "at most %d --filter", NC_FILTER_MAX);
		if (cli_parse_match(v, &s->filters[s->nfilters]) < 0)
			return fail(p, "--filter %s: expected IP[/LEN][:PORT[-PORT]]", v);
		s->nfilters++;
		break;
	case B_TARGET:
		if (s->ntargets == NC_TARGET_MAX)
			return fail(p, "at most %d --target", NC_TARGET_MAX);
		if (cli_parse_target(v, &s->targets[s->ntargets]) < 0)
			return fail(p, "--target %s: expected IP[/LEN][:PORT[-PORT]]=IP:PORT", v);
		s->ntargets++;
		break;
	case B_DROP_DEFAULT:
		s->drop_default = true;
		break;
	case B_PEER:
		if (s->has_peer)
			return fail(p, "--peer given twice");
		if (cli_parse_match(v, &s->peer) < 0)
			return fail(p, "--peer %s: expected IP[/LEN][:PORT[-PORT]]", v);
		s->has_peer = true;
		break;
	case B_TRANSIT:
		if (!name_ok(v))
			return fail(p, "--transit %s: 1..%d characters of A-Z a-z 0-9 . _ -", v,
				    NC_NAME_MAX);
		strcpy(s->transit, v);
		break;
	case B_LIFETIME:
		if (parse_u32(v, 1, NC_LIFETIME_MAX, &b->lifetime) < 0)
			return fail(p, "--lifetime %s: expected 1..%d seconds", v, NC_LIFETIME_MAX);
		break;
	case B_LATCH:
		if (parse_u32(v, 1, NC_LATCH_MAX, &s->latch) < 0)
			return fail(p, "--latch %s: expected 1..%d seconds", v, NC_LATCH_MAX);
		break;
	case B_LABEL:
		if (!v[0] || strlen(v) > NC_TEXT_MAX)
			return fail(p, "--label: 1..%d bytes", NC_TEXT_MAX);
		strcpy(s->label, v);
		break;
	default:
		return fail(p, "bind: unknown option %s", a);
	}
	return 0;
}

/* The final check of a bind: what natd would refuse as malformed. */
static int check_bind(struct ps *p, const struct nc_bind *b, bool have_ep)
{
	const struct nc_spec *s = &b->spec;
	uint8_t *buf;
	int n;

	if (!s->in_realm[0] || !s->ext_realm[0] || !have_ep)
		return fail(p, "bind needs --in-realm, --ext-realm and --endpoint");
	if (s->proto == NC_PROTO_ICMP)
		return fail(p, "bind: --proto icmp: natd grants only udp and tcp bindings");
	if ((s->nfilters || s->ntargets || s->drop_default) && !(s->dir & NC_DIR_TERM))
		return fail(p, "bind: --filter, --target and --drop-default need --dir term or both");
	if (s->has_peer && !(s->dir & NC_DIR_ORIG))
		return fail(p, "bind: --peer needs --dir orig or both");
	if (s->drop_default && !s->ntargets)
		return fail(p, "bind: --drop-default needs a --target");
	if (s->latch && !s->nfilters)
		return fail(p, "bind: --latch needs a --filter");
	if (b->rtp_pair && (b->want_port & 1))
		return fail(p, "bind: --rtp-pair needs an even --want-port");
	if (!(buf = malloc(NC_MSG_MAX)))
		return fail(p, "out of memory");
	n = nc_encode(buf, NC_MSG_MAX, NC_MSG_BIND, 1, b);
	free(buf);
	if (n < 0)
		return fail(p, "bind: %s", nc_strerror(n));
	return 0;
}

static int parse_id(struct ps *p, const char *what, uint32_t *id)
{
	if (parse_u32(p->argv[p->i], 1, UINT32_MAX, id) < 0)
		return fail(p, "%s: bad binding id %s", what, p->argv[p->i]);
	return 0;
}

static int parse_events(struct ps *p, const char *v, uint32_t *mask)
{
	char buf[128], *tok, *save = NULL;
	int w;

	*mask = 0;
	if (copy(buf, sizeof(buf), v, strlen(v)) < 0)
		return fail(p, "--events: too long");
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if ((w = word(tok, events, NWORDS(events))) < 0)
			return fail(p, "--events: %s is not created, refreshed, released or expired", tok);
		*mask |= 1u << (w - 1);
	}
	if (!*mask)
		return fail(p, "--events: name at least one event");
	return 0;
}

/* Options and arguments after the command word. */
static int parse_cmd(struct ps *p, struct cli *c)
{
	bool have_ep = false, have_id = false;
	int r, w;

	for (p->i++; p->i < p->argc; p->i++) {
		const char *a = p->argv[p->i];

		if ((r = opt(p, "json", 0, false))) {
			if (r < 0)
				return r;
			c->json = true;
			continue;
		}
		if (c->cmd == CLI_HA && (a[0] != '-' || a[1] == '\0')) {
			if (c->ha_op || !strcmp(a, "status")) {
				if (c->ha_op || p->i + 1 < p->argc)
					return fail(p, "ha: one of status, promote, demote");
				continue;
			}
			if (strcmp(a, "promote") && strcmp(a, "demote"))
				return fail(p, "ha: unknown subcommand %s (status, promote, demote)", a);
			c->ha_op = a;
			continue;
		}
		if (a[0] != '-' || a[1] == '\0') {
			if ((c->cmd != CLI_REFRESH && c->cmd != CLI_RELEASE) || have_id)
				return fail(p, "%s: unexpected argument %s", c->cmd_name, a);
			if ((r = parse_id(p, c->cmd_name, &c->id)) < 0)
				return r;
			have_id = true;
			continue;
		}
		if ((c->cmd == CLI_REFRESH || c->cmd == CLI_RELEASE) &&
		    (r = opt(p, "epoch", 0, true))) {
			if (r < 0)
				return r;
			if (parse_u64(p->val, 1, UINT64_MAX, &c->epoch) < 0)
				return fail(p, "--epoch %s: expected a number >= 1", p->val);
			continue;
		}
		switch (c->cmd) {
		case CLI_BIND:
			if ((r = parse_bind_opt(p, &c->bind, &have_ep)) < 0)
				return r;
			continue;
		case CLI_REFRESH:
			if ((r = opt(p, "lifetime", 0, true))) {
				if (r < 0)
					return r;
				if (parse_u32(p->val, 1, NC_LIFETIME_MAX, &c->lifetime) < 0)
					return fail(p, "--lifetime %s: expected 1..%d seconds", p->val,
						    NC_LIFETIME_MAX);
				continue;
			}
			break;
		case CLI_LIST:
			if ((r = opt(p, "id", 0, true))) {
				if (r < 0)
					return r;
				if (parse_u32(p->val, 1, UINT32_MAX, &c->list.id) < 0)
					return fail(p, "--id %s: bad binding id", p->val);
				continue;
			}
			if ((r = opt(p, "mine", 0, false))) {
				if (r < 0)
					return r;
				c->list.mine = true;
				continue;
			}
			if ((r = opt(p, "kind", 0, true))) {
				if (r < 0)
					return r;
				if ((w = word(p->val, kinds, NWORDS(kinds))) < 0)
					return fail(p, "--kind %s: expected dynamic, static or managed", p->val);
				c->list.kind = (uint8_t)w;
				continue;
			}
			break;
		case CLI_WATCH:
			if ((r = opt(p, "count", 0, true))) {
				if (r < 0)
					return r;
				if (parse_u32(p->val, 1, UINT32_MAX, &c->count) < 0)
					return fail(p, "--count %s: expected a number >= 1", p->val);
				continue;
			}
			if ((r = opt(p, "timeout", 0, true))) {
				if (r < 0)
					return r;
				if (parse_u32(p->val, 1, 86400 * 365, &c->timeout_s) < 0)
					return fail(p, "--timeout %s: expected seconds >= 1", p->val);
				continue;
			}
			if ((r = opt(p, "events", 0, true))) {
				if (r < 0)
					return r;
				if ((r = parse_events(p, p->val, &c->watch.mask)) < 0)
					return r;
				continue;
			}
			break;
		default:
			break;
		}
		return fail(p, "%s: unknown option %s", c->cmd_name, a);
	}
	if ((c->cmd == CLI_REFRESH || c->cmd == CLI_RELEASE) && !have_id)
		return fail(p, "%s needs a binding id", c->cmd_name);
	if (c->cmd == CLI_BIND)
		return check_bind(p, &c->bind, have_ep);
	return 0;
}

int cli_parse(int argc, char *const argv[], struct cli *c, char *err, size_t errlen)
{
	static const char *const cmds[] = {[CLI_BIND] = "bind",       [CLI_REFRESH] = "refresh",
					   [CLI_RELEASE] = "release", [CLI_LIST] = "list",
					   [CLI_STATS] = "stats",     [CLI_CAPS] = "caps",
					   [CLI_WATCH] = "watch",     [CLI_HA] = "ha"};
	struct ps p = {.argc = argc, .argv = argv, .i = 1, .err = err, .errlen = errlen};
	int r, w;

	memset(c, 0, sizeof(*c));
	if (errlen)
		err[0] = '\0';
	c->bind.spec.dir = NC_DIR_BOTH;
	c->bind.spec.proto = NC_PROTO_UDP;
	for (; p.i < argc; p.i++) {
		const char *a = argv[p.i];

		if (a[0] != '-' || a[1] == '\0')
			break;
		if (!strcmp(a, "--")) {
			p.i++;
			break;
		}
		if ((r = opt(&p, "help", 'h', false)))
			return r < 0 ? r : CLI_HELP;
		if ((r = opt(&p, "version", 'V', false)))
			return r < 0 ? r : CLI_VERSION;
		if ((r = opt(&p, "json", 0, false))) {
			if (r < 0)
				return r;
			c->json = true;
		} else if ((r = opt(&p, "socket", 's', true))) {
			if (r < 0)
				return r;
			if (!p.val[0])
				return fail(&p, "-s: empty socket path");
			c->socket = p.val;
		} else if ((r = opt(&p, "tcp", 't', true))) {
			if (r < 0 || (r = parse_hostport(&p, c, p.val)) < 0)
				return r;
		} else if ((r = opt(&p, "secret-file", 'k', true))) {
			if (r < 0)
				return r;
			c->secret_file = p.val;
		} else if ((r = opt(&p, "name", 'n', true))) {
			if (r < 0)
				return r;
			if (!p.val[0] || strlen(p.val) > NC_TEXT_MAX)
				return fail(&p, "-n: a name of 1 to %d bytes", NC_TEXT_MAX);
			c->name = p.val;
		} else {
			return fail(&p, "unknown option %s", a);
		}
	}
	if (c->socket && c->tcp)
		return fail(&p, "-s and -t exclude each other");
	if (c->tcp && !c->secret_file)
		return fail(&p, "-t needs -k SECRETFILE");
	if (c->secret_file && !c->tcp)
		return fail(&p, "-k goes with -t");
	if (p.i >= argc)
		return fail(&p, "no command (bind, refresh, release, list, stats, caps, watch, ha)");
	if ((w = word(argv[p.i], cmds, NWORDS(cmds))) < 0)
		return fail(&p, "unknown command %s", argv[p.i]);
	c->cmd = (enum cli_cmd)w;
	c->cmd_name = cmds[w];
	return parse_cmd(&p, c);
}
