/* fuzz_xlate: IPv4 validation (pkt.c) and translation (xlate.c, frag.c,
 * binding.c, pool.c, manager.c rules) on sequences of packets.
 *
 * natd's tables are built by the daemon's own constructor: the config
 * text below is loaded once with conf_load(); for every input the
 * settings byte is written over it and core_open() makes a fresh core
 * (realm set, binding table, fragment table, address manager, the static
 * forwards installed), torn down at the end, so an input never depends on
 * the ones before it.
 *
 * Input format (all of it optional; a short input is still a valid one):
 *   byte 0       settings: bits 0-1 filtering (0 EIF, 1 ADF, 2 APDF, 3 EIF),
 *                bit 2 hairpinning off, bit 3 no port parity, bit 4 no
 *                port preservation, bit 5 a quota of 3 dynamic bindings
 *                per inside host (table.max_bindings_per_host)
 *   then records, each
 *     op     1 byte
 *     word   2 bytes, big endian: bits 0-10 length of the data, bits 11-13
 *            clock step before the record (0, 1, 3, 61, 241, 301, 7441,
 *            4000 s; the wheel and the fragment table expire then), bit 15
 *            the data is a control message for the manager, not a packet
 *     data   length bytes (cut at the end of the input)
 *   A packet record is handed to xlate_packet() after the op's edits,
 *   which let the fuzzer reach the interesting address combinations
 *   without guessing 32-bit addresses:
 *     op bits 0-2  source: 0 as is, 1 an inside host (10.1.0.x), 2 a dmz
 *                  host (10.99.1.x), 3 an outside host (203.0.113.x),
 *                  4 a pool address (spoofed), 5 the last binding's E
 *                  (address and port), 6-7 as is
 *     op bits 3-5  destination: 0 as is, 1 the last binding's M (address
 *                  and port), 2 the static forward of the protocol, 3 an
 *                  outside host, 4 an inside host, 5 a dmz pool address,
 *                  6 the last binding's E, 7 as is
 *     op bit 6     an ICMP error: its quoted packet becomes "from the last
 *                  binding's M to this packet's source" (what a router
 *                  quotes back about a translated packet)
 *     op bit 7     recompute the IP header, L4 (and quoted IP) checksums
 *                  after the edits
 *   A control record (bit 15) is decoded with nc_decode(); a BIND,
 *   REFRESH or RELEASE goes to the manager (op bit 0: as a limited user
 *   instead of an admin), which makes managed bindings with filters,
 *   peers and targets for the packets that follow.
 *
 * Beyond the sanitizers, the harness checks after every forwarded packet
 * that the output still parses and that every checksum that was right on
 * the way in is still right on the way out (the incremental updates of
 * RFC 1624, UDP's zero checksum, the quoted header of ICMP errors), and
 * that released fragments still parse.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sanitizer/asan_interface.h>

#include <libcontrol/msg.h>

#include "binding.h"
#include "clock.h"
#include "conf.h"
#include "core.h"
#include "frag.h"
#include "fuzz_common.h"
#include "log.h"
#include "manager.h"
#include "pkt.h"
#include "pktbuild.h"
#include "pool.h"
#include "realm.h"
#include "stats.h"
#include "xlate.h"

static const char CONF_TEXT[] =
	"table: { capacity = 64; filtering = \"endpoint-independent\"; };\n"
	"timeouts: { udp = 300; tcp_established = 7440; tcp_transitory = 240; icmp = 60; };\n"
	"realms = (\n"
	"  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\", \"dmz\" ]; },\n"
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; nat_to = [ \"dmz\" ];\n"
	"    pool = { addresses = [ \"198.51.100.0/31\" ]; ports = \"20000-20031\"; };\n"
	"    transit_pools = ( { name = \"carrier\"; addresses = [ \"192.0.2.128/31\" ];\n"
	"                        ports = \"30000-30009\"; } ); },\n"
	"  { name = \"dmz\"; prefixes = [ \"10.99.0.0/16\" ]; nat_to = [ \"outside\" ];\n"
	"    pool = { addresses = [ \"10.99.0.0/31\" ]; ports = \"40000-40015\"; }; }\n"
	");\n"
	"forwards = (\n"
	"  { proto = \"udp\"; external = \"198.51.100.1:5060\"; realm = \"outside\";\n"
	"    internal = \"10.1.0.10:5060\"; internal_realm = \"inside\"; },\n"
	"  { proto = \"tcp\"; external = \"198.51.100.1:8080\"; realm = \"outside\";\n"
	"    internal = \"10.1.0.10:8080\"; internal_realm = \"inside\"; }\n"
	");\n"
	"control: { default_lifetime = 120; max_lifetime = 3600; };\n";

#define PKT_MAX 2048

static struct natd_conf conf;
static struct nc_msg ctl_msg; /* large: off the stack */

struct env {
	struct core *core;
	struct mgr_policy admin_pol, user_pol;
	struct mgr_client admin, user;
	/* the binding the address edits refer to */
	struct endpoint last_in, last_ext;
	uint8_t last_proto;
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/fuzz_xlate_XXXXXX";
	int fd = mkstemp(path);

	(void)argc;
	(void)argv;
	log_level = LOG_CRIT; /* the datapath logs nothing; setup errors still show */
	if (fd < 0 || write(fd, CONF_TEXT, sizeof(CONF_TEXT) - 1) != (ssize_t)sizeof(CONF_TEXT) - 1) {
		perror("fuzz_xlate: config file");
		exit(1);
	}
	close(fd);
	if (conf_load(path, &conf, stderr) != 0) {
		fprintf(stderr, "fuzz_xlate: the built-in config does not load\n");
		unlink(path);
		exit(1);
	}
	unlink(path);
	return 0;
}

static void on_new(void *arg, const struct binding *b)
{
	struct env *e = arg;

	e->last_in = b->in;
	e->last_ext = b->ext;
	e->last_proto = b->proto;
}

static void on_expire(struct binding *b, void *arg)
{
	struct env *e = arg;

	if (b->kind == BIND_MANAGED)
		mgr_binding_gone(e->core->mgr, b, NC_EV_EXPIRED);
	else
		xlate_release_binding(&e->core->x, b);
}

static void on_emit(void *arg, uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len + 1);
	struct pkt p;

	(void)arg;
	FUZZ_CHECK(copy, "out of memory");
	memcpy(copy, buf, len);
	/* a released fragment was valid when held; only addresses changed */
	FUZZ_CHECK(pkt_parse_ip4(&p, copy, len, len + 1) == DROP_NONE,
		   "a released fragment (%zu bytes) no longer parses", len);
	FUZZ_CHECK(p.frag_off != 0, "a released fragment is a first fragment");
	free(copy);
}

static void env_init(struct env *e, uint8_t settings)
{
	static const enum bind_filtering filt[4] = {FILTER_EIF, FILTER_ADF, FILTER_APDF, FILTER_EIF};

	memset(e, 0, sizeof(*e));
	/* this input's settings over the loaded configuration */
	conf.bind.capacity = 48;
	conf.bind.perm_capacity = 32;
	conf.bind.filtering = filt[settings & 3];
	conf.frag = (struct frag_conf){.datagrams = 8, .slots = 3, .slot_bytes = 600, .timeout = 2,
				       .datagrams_per_source = 4, .slots_per_source = 2};
	conf.hairpinning = !(settings & 4);
	conf.port_parity = !(settings & 8);
	conf.port_preservation = !(settings & 16);
	conf.max_bindings_per_host = settings & 32 ? 3 : 0;
	conf.new_flows_per_host = 0;
	conf.icmp_errors_from_path = false;
	FUZZ_CHECK(core_open(&conf, clock_mono_s(), &e->core) == 0, "core_open");
	e->core->x.emit = on_emit;
	e->core->x.emit_arg = e;
	e->core->x.on_new = on_new;
	e->core->x.on_new_arg = e;
	e->admin_pol = (struct mgr_policy){.name = "root", .admin = true, .realms = ~0u};
	e->user_pol = (struct mgr_policy){.name = "proxy", .realms = 1u << 1, .quota = 3};
	prefix_parse("10.1.0.0/25", &e->user_pol.prefixes[0]);
	e->user_pol.nprefixes = 1;
	e->admin = (struct mgr_client){.owner = "uid:0", .pol = &e->admin_pol};
	e->user = (struct mgr_client){.owner = "uid:1000", .pol = &e->user_pol};
	if (conf.nforwards) {
		e->last_in = conf.forwards[0].in;
		e->last_ext = conf.forwards[0].ext;
		e->last_proto = conf.forwards[0].proto;
	}
}

static void env_fini(struct env *e)
{
	core_close(e->core);
}

static void step_clock(struct env *e, unsigned code)
{
	static const uint32_t steps[8] = {0, 1, 3, 61, 241, 301, 7441, 4000};

	if (!steps[code])
		return;
	e->core->x.now += steps[code];
	bind_expire(e->core->bt, e->core->x.now, on_expire, e);
	e->core->st.dropped[DROP_FRAG_TIMEOUT] += frag_expire(e->core->ft, e->core->x.now);
}

/* ---- control records ---- */

static void ctl_record(struct env *e, uint8_t op, const uint8_t *d, size_t n)
{
	struct mgr_client *c = op & 1 ? &e->user : &e->admin;

	if (nc_decode(d, n, &ctl_msg) != 0)
		return;
	switch (ctl_msg.type) {
	case NC_MSG_BIND: {
		struct nc_bind_r r;
		uint32_t a;

		memset(&r, 0, sizeof(r));
		if (mgr_bind(e->core->mgr, c, &ctl_msg.u.bind, &r) == NC_ST_OK &&
		    r.alloc.ip.af == NC_AF_IP4) {
			memcpy(&a, r.alloc.ip.a, 4);
			e->last_ext = (struct endpoint){a, htons(r.alloc.port)};
			memcpy(&a, ctl_msg.u.bind.spec.ep.ip.a, 4);
			e->last_in = (struct endpoint){a, htons(ctl_msg.u.bind.spec.ep.port)};
			e->last_proto = ctl_msg.u.bind.spec.proto;
		}
		break;
	}
	case NC_MSG_REFRESH: {
		struct nc_refresh_r r;
		mgr_refresh(e->core->mgr, c, &ctl_msg.u.refresh, &r);
		break;
	}
	case NC_MSG_RELEASE: {
		struct nc_status r;
		mgr_release(e->core->mgr, c, &ctl_msg.u.release, &r);
		break;
	}
	default:
		break;
	}
}

/* ---- packet records ---- */

static uint8_t host_byte(uint32_t addr_net)
{
	return (uint8_t)(ntohl(addr_net) & 0x0f) + 1;
}

static uint32_t addr4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return htonl((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d);
}

/* Offsets of the source and destination "port" of proto (ICMP: the id). */
static bool port_offsets(const struct pkt *p, size_t *sf, size_t *df)
{
	if (p->proto == IPPROTO_ICMP) {
		*sf = *df = 4;
		return true;
	}
	*sf = 0;
	*df = 2;
	return p->proto == IPPROTO_UDP || p->proto == IPPROTO_TCP;
}

static void set_ep(uint8_t *ip, const struct pkt *p, bool dst, struct endpoint ep, bool with_port)
{
	size_t sf, df;

	memcpy(ip + (dst ? 16 : 12), &ep.addr, 4);
	if (with_port && !p->frag_off && port_offsets(p, &sf, &df))
		memcpy(ip + p->l4_off + (dst ? df : sf), &ep.port, 2);
}

static bool is_icmp_error(const struct pkt *p)
{
	uint8_t t;

	if (p->proto != IPPROTO_ICMP || p->frag_off)
		return false;
	t = p->buf[p->l4_off];
	return t == 3 || t == 11 || t == 12;
}

/* The quoted packet of an ICMP error, parsed; false if there is none. */
static bool quoted(const struct pkt *p, struct pkt *q)
{
	if (!is_icmp_error(p) || p->l4_len < 8)
		return false;
	return pkt_parse_quoted(q, p->buf + p->l4_off + 8, p->l4_len - 8) == DROP_NONE;
}

static void edit_packet(struct env *e, uint8_t op, uint8_t *buf, size_t n)
{
	struct pkt p, q;
	uint32_t src, dst;
	struct endpoint ep;

	if (pkt_parse_ip4(&p, buf, n, n + 1) != DROP_NONE)
		return;
	memcpy(&src, buf + 12, 4);
	memcpy(&dst, buf + 16, 4);
	switch (op & 7) {
	case 1: set_ep(buf, &p, false, (struct endpoint){addr4(10, 1, 0, host_byte(src)), 0}, false); break;
	case 2: set_ep(buf, &p, false, (struct endpoint){addr4(10, 99, 1, host_byte(src)), 0}, false); break;
	case 3: set_ep(buf, &p, false, (struct endpoint){addr4(203, 0, 113, host_byte(src)), 0}, false); break;
	case 4: set_ep(buf, &p, false, (struct endpoint){addr4(198, 51, 100, src >> 24 & 1), 0}, false); break;
	case 5: set_ep(buf, &p, false, e->last_in, true); break;
	default: break;
	}
	switch (op >> 3 & 7) {
	case 1: set_ep(buf, &p, true, e->last_ext, true); break;
	case 2:
		ep = (struct endpoint){addr4(198, 51, 100, 1), htons(p.proto == IPPROTO_TCP ? 8080 : 5060)};
		set_ep(buf, &p, true, ep, true);
		break;
	case 3: set_ep(buf, &p, true, (struct endpoint){addr4(203, 0, 113, host_byte(dst)), 0}, false); break;
	case 4: set_ep(buf, &p, true, (struct endpoint){addr4(10, 1, 0, host_byte(dst)), 0}, false); break;
	case 5: set_ep(buf, &p, true, (struct endpoint){addr4(10, 99, 0, dst >> 24 & 1), 0}, false); break;
	case 6: set_ep(buf, &p, true, e->last_in, true); break;
	default: break;
	}
	if ((op & 0x40) && quoted(&p, &q)) {
		struct endpoint to;

		memcpy(&to.addr, buf + 12, 4);
		to.port = 0;
		set_ep(q.buf, &q, false, e->last_ext, true);
		set_ep(q.buf, &q, true, to, false);
	}
	if (op & 0x80) {
		if (quoted(&p, &q))
			pb_fix_ip_csum(q.buf);
		pb_fix_ip_csum(buf);
		if (!p.is_frag)
			pb_fix_l4_csum(buf, p.len);
	}
}

struct csum_state {
	bool parsed, ip_ok, l4_checked, l4_ok, udp_zero, q_ok;
};

static void csum_before(const uint8_t *buf, size_t n, struct csum_state *s)
{
	struct pkt p, q;

	memset(s, 0, sizeof(*s));
	if (pkt_parse_ip4(&p, (uint8_t *)buf, n, n + 1) != DROP_NONE)
		return;
	s->parsed = true;
	s->ip_ok = pb_ip_csum_ok(buf);
	if (!p.is_frag && (p.proto == IPPROTO_UDP || p.proto == IPPROTO_TCP || p.proto == IPPROTO_ICMP)) {
		s->l4_checked = true;
		s->udp_zero = p.proto == IPPROTO_UDP && pb_get_u16(buf + p.l4_off + 6) == 0;
		s->l4_ok = pb_l4_csum_ok(buf, p.len, false);
	}
	if (quoted(&p, &q))
		s->q_ok = pb_ip_csum_ok(q.buf);
}

static void csum_after(const uint8_t *buf, size_t n, const struct csum_state *s)
{
	struct pkt p, q;

	FUZZ_CHECK(pkt_parse_ip4(&p, (uint8_t *)buf, n, n + 1) == DROP_NONE,
		   "a forwarded packet no longer parses");
	FUZZ_CHECK(!s->ip_ok || pb_ip_csum_ok(buf), "forwarded: IP header checksum broken");
	if (s->l4_checked && s->udp_zero)
		FUZZ_CHECK(pb_get_u16(buf + p.l4_off + 6) == 0,
			   "forwarded: UDP checksum 0 (none) became non-zero");
	else if (s->l4_checked && s->l4_ok)
		FUZZ_CHECK(pb_l4_csum_ok(buf, p.len, false),
			   "forwarded: proto %u checksum broken (UDP: or became 0)", p.proto);
	if (s->q_ok && quoted(&p, &q))
		FUZZ_CHECK(pb_ip_csum_ok(q.buf), "forwarded ICMP error: quoted IP checksum broken");
}

static void packet_record(struct env *e, uint8_t op, const uint8_t *d, size_t n)
{
	/* exactly n + 1 bytes, the last one poisoned: a read past the packet
	 * is an error even where natd's real buffer would be larger */
	uint8_t *buf = malloc(n + 1);
	struct csum_state cs;
	enum xlate_verdict v;

	FUZZ_CHECK(buf, "out of memory");
	if (n)
		memcpy(buf, d, n);
	edit_packet(e, op, buf, n);
	csum_before(buf, n, &cs);
	ASAN_POISON_MEMORY_REGION(buf + n, 1);
	v = xlate_packet(&e->core->x, buf, n, n + 1);
	ASAN_UNPOISON_MEMORY_REGION(buf + n, 1);
	if (v == XL_FORWARD) {
		FUZZ_CHECK(cs.parsed, "forwarded a packet that does not parse");
		csum_after(buf, n, &cs);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return 0;
	fuzz_rand_reset();
	env_init(e, fin_u8(&in));
	while (in.n >= 3) {
		uint8_t op = fin_u8(&in);
		uint16_t w = fin_u16(&in);
		size_t len = w & 0x7ff;

		if (len > in.n)
			len = in.n;
		step_clock(e, w >> 11 & 7);
		if (w & 0x8000)
			ctl_record(e, op, in.p, len);
		else
			packet_record(e, op, in.p, len);
		in.p += len;
		in.n -= len;
	}
	env_fini(e);
	free(e);
	return 0;
}
