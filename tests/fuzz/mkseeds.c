/* mkseeds: writes the hand-made seed inputs of fuzz_xlate and fuzz_pcp
 * (packets built with natd/tests/pktbuild.c, PCP/NAT-PMP messages with
 * natd's own encoders, BIND requests with libcontrol's encoder).
 *
 *   tests/fuzz/run --build-only            (builds it with the harnesses)
 *   tests/out/fuzz/build/mkseeds tests/fuzz/corpus   (tests/fuzz/mkcorpus does both)
 *
 * writes <dir>/xlate/seed-*.bin and <dir>/pcp/seed-*.bin. The formats are
 * described at the top of fuzz_xlate.c and fuzz_pcp.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libcontrol/msg.h>

#include "pcp.h"
#include "pktbuild.h"

static const char *outdir;

static void put(const char *target, const char *name, const uint8_t *d, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/seed-%s.bin", outdir, target, name);
	if (!(f = fopen(path, "wb")) || fwrite(d, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* ---- fuzz_xlate: settings byte + records ---- */

struct seq {
	uint8_t b[2048];
	size_t n;
};

static void seq_start(struct seq *s, uint8_t settings)
{
	s->n = 0;
	s->b[s->n++] = settings;
}

/* op (edits), clock step code, control flag, data */
static void rec(struct seq *s, uint8_t op, unsigned clock, int ctl, const uint8_t *d, size_t n)
{
	uint16_t w = (uint16_t)(n | clock << 11 | (ctl ? 0x8000 : 0));

	if (s->n + 3 + n > sizeof(s->b) || n > 0x7ff) {
		fprintf(stderr, "mkseeds: sequence too long\n");
		exit(1);
	}
	s->b[s->n++] = op;
	s->b[s->n++] = (uint8_t)(w >> 8);
	s->b[s->n++] = (uint8_t)w;
	memcpy(s->b + s->n, d, n);
	s->n += n;
}

/* op bits, see fuzz_xlate.c */
#define SRC_INSIDE 1
#define SRC_DMZ 2
#define SRC_OUTSIDE 3
#define SRC_POOL 4
#define SRC_LAST_IN 5
#define DST_LAST_EXT (1 << 3)
#define DST_FORWARD (2 << 3)
#define DST_OUTSIDE (3 << 3)
#define DST_INSIDE (4 << 3)
#define DST_DMZ_POOL (5 << 3)
#define DST_LAST_IN (6 << 3)
#define Q_FIX 0x40
#define CSUM_FIX 0x80

static uint8_t pk[PB_MAX];

static void xlate_seeds(void)
{
	struct seq s;
	uint8_t whole[PB_MAX], q[PB_MAX], fr[PB_MAX];
	uint32_t in5 = pb_addr("10.1.0.5"), in6 = pb_addr("10.1.0.6"), rem = pb_addr("203.0.113.10");
	uint32_t router = pb_addr("203.0.113.1"), dmz = pb_addr("10.99.1.5");
	size_t n, wn, qn;

	/* UDP out, the reply in, a second packet out */
	seq_start(&s, 0);
	n = pb_udp(pk, in5, 4000, rem, 7000, 20);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_udp(pk, rem, 7000, rem, 0, 20);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 1, 0, pk, n);
	n = pb_udp(pk, in5, 4000, rem, 7000, 100);
	rec(&s, 0, 0, 0, pk, n);
	put("xlate", "udp-roundtrip", s.b, s.n);

	/* the same under address-and-port-dependent filtering: the reply from
	 * another port is filtered, one from the right port passes */
	seq_start(&s, 2);
	n = pb_udp(pk, in5, 4001, rem, 7000, 8);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_udp(pk, rem, 7001, rem, 0, 8);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
	n = pb_udp(pk, rem, 7000, rem, 0, 8);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
	put("xlate", "udp-apdf", s.b, s.n);

	/* address-dependent filtering, no parity, no preservation */
	seq_start(&s, 1 | 8 | 16);
	n = pb_udp(pk, in5, 5001, rem, 7000, 8);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_udp(pk, rem, 9999, rem, 0, 8);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
	n = pb_udp_nocsum(pk, in5, 5001, rem, 7000, 8);
	rec(&s, 0, 0, 0, pk, n);
	put("xlate", "udp-adf-nocsum", s.b, s.n);

	/* TCP: SYN out, SYN-ACK in, ACK, FIN both ways, then an RST */
	seq_start(&s, 0);
	n = pb_tcp(pk, in5, 40000, rem, 80, PB_SYN, 0);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_tcp(pk, rem, 80, rem, 0, PB_SYN | PB_ACK, 0);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
	n = pb_tcp(pk, in5, 40000, rem, 80, PB_ACK, 30);
	rec(&s, 0, 1, 0, pk, n);
	n = pb_tcp(pk, in5, 40000, rem, 80, PB_FIN | PB_ACK, 0);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_tcp(pk, rem, 80, rem, 0, PB_FIN | PB_ACK, 0);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
	n = pb_tcp(pk, rem, 80, rem, 0, PB_RST, 0);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 4, 0, pk, n);
	put("xlate", "tcp-session", s.b, s.n);

	/* TCP: an inbound SYN with no binding, an outbound ACK (may not create) */
	seq_start(&s, 0);
	n = pb_tcp(pk, rem, 80, pb_addr("198.51.100.0"), 20002, PB_SYN, 0);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_tcp(pk, in5, 40001, rem, 80, PB_ACK, 0);
	rec(&s, 0, 0, 0, pk, n);
	put("xlate", "tcp-nobinding", s.b, s.n);

	/* ICMP echo out, the reply in; an unsolicited echo in */
	seq_start(&s, 0);
	n = pb_icmp_echo(pk, in5, rem, 8, 0x4242, 1, 32);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_icmp_echo(pk, rem, rem, 0, 0, 1, 32);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
	n = pb_icmp_echo(pk, rem, rem, 8, 0, 2, 32);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
	n = pb_icmp_echo(pk, in5, rem, 13, 1, 1, 12); /* timestamp: not translated */
	rec(&s, 0, 0, 0, pk, n);
	put("xlate", "icmp-echo", s.b, s.n);

	/* static forwards: UDP 5060 and TCP 8080 in, the answers out */
	seq_start(&s, 0);
	n = pb_udp(pk, rem, 5060, pb_addr("198.51.100.1"), 5060, 200);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_udp(pk, pb_addr("10.1.0.10"), 5060, rem, 5060, 200);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_tcp(pk, rem, 33000, pb_addr("198.51.100.1"), 8080, PB_SYN, 0);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_tcp(pk, pb_addr("10.1.0.10"), 8080, rem, 33000, PB_SYN | PB_ACK, 0);
	rec(&s, 0, 0, 0, pk, n);
	put("xlate", "forwards", s.b, s.n);

	/* ICMP errors: a router's port unreachable about a translated packet
	 * (inbound), then the inside host's about an inbound one (outbound) */
	seq_start(&s, 0);
	n = pb_udp(pk, in5, 4000, rem, 7000, 20);
	rec(&s, 0, 0, 0, pk, n);
	qn = pb_udp(q, pb_addr("198.51.100.0"), 4000, rem, 7000, 20);
	n = pb_icmp_error(pk, router, rem, 3, 3, q, qn);
	rec(&s, DST_LAST_EXT | Q_FIX | CSUM_FIX, 0, 0, pk, n);
	n = pb_icmp_error(pk, router, rem, 11, 0, q, 28);
	rec(&s, DST_LAST_EXT | Q_FIX | CSUM_FIX, 0, 0, pk, n);
	n = pb_udp(pk, rem, 7000, rem, 0, 20);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
	qn = pb_udp(q, rem, 7000, in5, 4000, 20);
	n = pb_icmp_error(pk, in5, rem, 3, 3, q, qn);
	rec(&s, 0, 0, 0, pk, n);
	qn = pb_icmp_echo(q, pb_addr("198.51.100.0"), rem, 8, 0x4242, 1, 8);
	n = pb_icmp_error(pk, router, rem, 12, 0, q, qn);
	rec(&s, DST_LAST_EXT | Q_FIX | CSUM_FIX, 0, 0, pk, n);
	put("xlate", "icmp-errors", s.b, s.n);

	/* an ICMP error quoting an ICMP error, and one with a bad checksum */
	seq_start(&s, 0);
	qn = pb_icmp_error(q, rem, in5, 3, 1, pk, pb_udp(pk, in5, 1, rem, 2, 0));
	n = pb_icmp_error(pk, router, in5, 3, 1, q, qn);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_icmp_error(pk, router, rem, 3, 1, q, 28);
	pk[22] ^= 0xff;
	rec(&s, DST_LAST_EXT, 0, 0, pk, n);
	put("xlate", "icmp-error-hostile", s.b, s.n);

	/* fragments, in order, then out of order (held, then released), then
	 * an orphan left to time out */
	seq_start(&s, 0);
	wn = pb_udp(whole, in5, 6000, rem, 7000, 600); /* 608 bytes of UDP */
	n = pb_fragment(fr, whole, 0, 304, true);
	rec(&s, 0, 0, 0, fr, n);
	n = pb_fragment(fr, whole, 304, 304, false);
	rec(&s, 0, 0, 0, fr, n);
	pb_set_u16(whole + 4, 0x2222);
	pb_fix_ip_csum(whole);
	n = pb_fragment(fr, whole, 304, 304, false);
	rec(&s, 0, 0, 0, fr, n);
	n = pb_fragment(fr, whole, 152, 152, true);
	rec(&s, 0, 0, 0, fr, n);
	n = pb_fragment(fr, whole, 0, 152, true);
	rec(&s, 0, 0, 0, fr, n);
	pb_set_u16(whole + 4, 0x3333);
	pb_fix_ip_csum(whole);
	n = pb_fragment(fr, whole, 304, 304, false);
	rec(&s, 0, 0, 0, fr, n);
	n = pb_fragment(fr, whole, 0, 304, true);
	rec(&s, 0, 2, 0, fr, n);
	(void)wn;
	put("xlate", "fragments", s.b, s.n);

	/* fragments coming in to a binding, out of order */
	seq_start(&s, 0);
	n = pb_udp(pk, in5, 6001, rem, 7000, 8);
	rec(&s, 0, 0, 0, pk, n);
	wn = pb_udp(whole, rem, 7000, pb_addr("198.51.100.0"), 6001, 600);
	pb_set_u16(whole + 4, 0x4444);
	n = pb_fragment(fr, whole, 304, 304, false);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, fr, n);
	n = pb_fragment(fr, whole, 0, 304, true);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, fr, n);
	put("xlate", "fragments-in", s.b, s.n);

	/* hairpinning: 10.1.0.6 reaches 10.1.0.5 through its external
	 * endpoint; and with hairpinning off */
	for (int off = 0; off < 2; off++) {
		seq_start(&s, off ? 4 : 0);
		n = pb_udp(pk, in5, 4000, rem, 7000, 20);
		rec(&s, 0, 0, 0, pk, n);
		n = pb_udp(pk, in6, 4100, rem, 0, 20);
		rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
		n = pb_udp(pk, in5, 4000, in6, 4100, 20);
		rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
		put("xlate", off ? "hairpin-off" : "hairpin", s.b, s.n);
	}

	/* realms: dmz -> outside, inside -> dmz, outside -> dmz pool, same realm,
	 * no realm, spoofed pool source */
	seq_start(&s, 0);
	n = pb_udp(pk, dmz, 5000, rem, 7000, 8);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_udp(pk, in5, 5000, pb_addr("10.99.1.7"), 7000, 8);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_udp(pk, rem, 5000, rem, 40000, 8);
	rec(&s, DST_DMZ_POOL | CSUM_FIX, 0, 0, pk, n);
	n = pb_udp(pk, in5, 5000, in6, 7000, 8);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_udp(pk, rem, 5000, rem, 7000, 8);
	rec(&s, SRC_POOL | CSUM_FIX, 0, 0, pk, n);
	n = pb_udp(pk, rem, 5000, rem, 7000, 8);
	rec(&s, SRC_INSIDE | DST_INSIDE | CSUM_FIX, 0, 0, pk, n);
	put("xlate", "realms", s.b, s.n);

	/* exhaustion: many flows from one inside host (the pool holds 2 x 32
	 * ports, the table 48 bindings) */
	seq_start(&s, 0);
	for (int i = 0; i < 40; i++) {
		n = pb_udp(pk, pb_addr(i & 1 ? "10.1.0.7" : "10.1.0.8"), (uint16_t)(20000 + i), rem, 53, 0);
		rec(&s, 0, 0, 0, pk, n);
	}
	put("xlate", "exhaustion", s.b, s.n);

	/* expiry: a UDP binding times out before its reply; an ICMP one too */
	seq_start(&s, 0);
	n = pb_udp(pk, in5, 4000, rem, 7000, 8);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_udp(pk, rem, 7000, rem, 0, 8);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 5, 0, pk, n);
	n = pb_icmp_echo(pk, in5, rem, 8, 7, 1, 8);
	rec(&s, 0, 0, 0, pk, n);
	n = pb_icmp_echo(pk, rem, rem, 0, 0, 1, 8);
	rec(&s, DST_LAST_EXT | CSUM_FIX, 3, 0, pk, n);
	put("xlate", "expiry", s.b, s.n);

	/* malformed packets, one record each */
	seq_start(&s, 0);
	n = pb_udp(pk, in5, 4000, rem, 7000, 8);
	rec(&s, 0, 0, 0, pk, 12);             /* short */
	pk[0] = 0x65;
	rec(&s, 0, 0, 0, pk, n);              /* version 6 */
	pk[0] = 0x44;
	rec(&s, 0, 0, 0, pk, n);              /* IHL 4 */
	pk[0] = 0x4f;
	rec(&s, 0, 0, 0, pk, n);              /* IHL past the end */
	pk[0] = 0x45;
	pb_set_u16(pk + 2, (uint16_t)(n + 10));
	rec(&s, 0, 0, 0, pk, n);              /* total length past the end */
	pb_set_u16(pk + 2, (uint16_t)n);
	pb_set_u16(pk + 24, 4);
	rec(&s, CSUM_FIX, 0, 0, pk, n);       /* UDP length < 8 */
	pb_set_u16(pk + 24, 200);
	rec(&s, CSUM_FIX, 0, 0, pk, n);       /* UDP length past the payload */
	n = pb_tcp(pk, in5, 4000, rem, 80, PB_SYN, 0);
	pk[32] = 0x20;
	rec(&s, 0, 0, 0, pk, n);              /* TCP data offset 8 */
	pk[32] = 0xf0;
	rec(&s, 0, 0, 0, pk, n);              /* TCP data offset past the end */
	n = pb_raw(pk, in5, rem, 47, "\0\0\0\0\0\0\0\0", 8);
	rec(&s, 0, 0, 0, pk, n);              /* GRE */
	n = pb_raw(pk, in5, rem, IPPROTO_UDP, "\x0f\xa0\x1b\x58\0\x06\0\0", 6);
	rec(&s, 0, 0, 0, pk, n);              /* UDP header cut */
	n = pb_udp(pk + 4, in5, 4000, rem, 7000, 8);
	memmove(pk, pk + 4, 20);              /* IP options: IHL 6, a NOP option */
	pk[0] = 0x46;
	memset(pk + 20, 1, 4);
	pb_set_u16(pk + 2, (uint16_t)(n + 4));
	rec(&s, CSUM_FIX, 0, 0, pk, n + 4);
	put("xlate", "malformed", s.b, s.n);

	/* a trailing pad after the total length (link padding) */
	seq_start(&s, 0);
	n = pb_udp(pk, in5, 4000, rem, 7000, 2);
	memset(pk + n, 0xee, 16);
	rec(&s, 0, 0, 0, pk, n + 16);
	put("xlate", "padding", s.b, s.n);

	/* managed bindings through the manager: a BIND with a filter and a
	 * target, packets from the filtered prefix, from outside it and from
	 * the target's source; then a REFRESH and a RELEASE */
	{
		struct nc_bind b;
		struct nc_refresh rf;
		struct nc_release rl;
		uint8_t m[1024];
		int mn;

		memset(&b, 0, sizeof(b));
		b.spec.dir = NC_DIR_BOTH;
		b.spec.proto = NC_PROTO_UDP;
		strcpy(b.spec.in_realm, "inside");
		strcpy(b.spec.ext_realm, "outside");
		b.spec.ep.ip.af = NC_AF_IP4;
		memcpy(b.spec.ep.ip.a, "\x0a\x01\x00\x14", 4);
		b.spec.ep.port = 6000;
		b.spec.nfilters = 1;
		b.spec.filters[0].ip.af = NC_AF_IP4;
		memcpy(b.spec.filters[0].ip.a, "\xcb\x00\x71\x00", 4);
		b.spec.filters[0].plen = 24;
		b.spec.filters[0].port_lo = 0;
		b.spec.filters[0].port_hi = 65535;
		b.spec.ntargets = 1;
		b.spec.targets[0].from.ip.af = NC_AF_IP4;
		memcpy(b.spec.targets[0].from.ip.a, "\xcb\x00\x71\x63", 4);
		b.spec.targets[0].from.plen = 32;
		b.spec.targets[0].from.port_lo = 0;
		b.spec.targets[0].from.port_hi = 65535;
		b.spec.targets[0].to.ip.af = NC_AF_IP4;
		memcpy(b.spec.targets[0].to.ip.a, "\x0a\x01\x00\x15", 4);
		b.spec.targets[0].to.port = 6002;
		b.lifetime = 60;
		b.rtp_pair = true;
		mn = nc_encode(m, sizeof(m), NC_MSG_BIND, 7, &b);
		if (mn < 0) {
			fprintf(stderr, "mkseeds: BIND: %s\n", nc_strerror(mn));
			exit(1);
		}
		seq_start(&s, 2);
		rec(&s, 0, 0, 1, m, (size_t)mn);
		n = pb_udp(pk, rem, 7000, rem, 0, 8);
		rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
		n = pb_udp(pk, pb_addr("192.0.2.50"), 7000, rem, 0, 8);
		rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
		n = pb_udp(pk, pb_addr("203.0.113.99"), 7000, rem, 0, 8);
		rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
		n = pb_udp(pk, rem, 6000, rem, 7000, 8);
		rec(&s, SRC_LAST_IN | CSUM_FIX, 0, 0, pk, n);
		memset(&rf, 0, sizeof(rf));
		rf.id = 1;
		rf.lifetime = 30;
		mn = nc_encode(m, sizeof(m), NC_MSG_REFRESH, 8, &rf);
		if (mn > 0)
			rec(&s, 0, 3, 1, m, (size_t)mn);
		memset(&rl, 0, sizeof(rl));
		rl.id = 1;
		mn = nc_encode(m, sizeof(m), NC_MSG_RELEASE, 9, &rl);
		if (mn > 0)
			rec(&s, 0, 0, 1, m, (size_t)mn);
		n = pb_udp(pk, rem, 7000, rem, 0, 8);
		rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
		put("xlate", "managed", s.b, s.n);

		/* the same as the limited user, in a transit pool, with a peer */
		strcpy(b.spec.transit, "carrier");
		b.spec.ntargets = 0;
		b.spec.nfilters = 0;
		b.spec.has_peer = true;
		b.spec.peer = (struct nc_match){.ip = {NC_AF_IP4, {203, 0, 113, 10}}, .plen = 32,
						.port_lo = 7000, .port_hi = 7000};
		b.rtp_pair = false;
		mn = nc_encode(m, sizeof(m), NC_MSG_BIND, 10, &b);
		if (mn < 0) {
			fprintf(stderr, "mkseeds: BIND 2: %s\n", nc_strerror(mn));
			exit(1);
		}
		seq_start(&s, 0);
		rec(&s, 1, 0, 1, m, (size_t)mn);
		rec(&s, 0, 0, 1, m, (size_t)mn);
		n = pb_udp(pk, rem, 7000, rem, 0, 8);
		rec(&s, DST_LAST_EXT | CSUM_FIX, 0, 0, pk, n);
		n = pb_udp(pk, rem, 6000, rem, 7000, 8);
		rec(&s, SRC_LAST_IN | CSUM_FIX, 0, 0, pk, n);
		n = pb_udp(pk, rem, 6000, pb_addr("203.0.113.11"), 7000, 8);
		rec(&s, SRC_LAST_IN | CSUM_FIX, 0, 0, pk, n);
		put("xlate", "managed-transit-peer", s.b, s.n);
	}
}

/* ---- fuzz_pcp: a mode byte, then the message ---- */

static void v4(uint8_t out[16], const char *a)
{
	pcp_addr_from_v4(out, pb_addr(a));
}

static void put_pcp(const char *name, uint8_t mode, const uint8_t *d, size_t n)
{
	uint8_t b[PCP_MAX_LEN + 64];

	b[0] = mode;
	memcpy(b + 1, d, n);
	put("pcp", name, b, n + 1);
}

static void pcp_seeds(void)
{
	static const uint8_t nonce[PCP_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	struct pcp_request r;
	struct pcp_response rs;
	uint8_t out[PCP_MAX_LEN + 64];
	int n;

	memset(&r, 0, sizeof(r));
	r.opcode = PCP_OP_MAP;
	r.lifetime = 3600;
	v4(r.client_ip, "10.1.0.10");
	memcpy(r.nonce, nonce, sizeof(nonce));
	r.protocol = IPPROTO_UDP;
	r.int_port = 5000;
	r.ext_port = 5000;
	v4(r.ext_ip, "0.0.0.0");
	n = pcp_encode_request(&r, out, sizeof(out));
	put_pcp("map", 0, out, (size_t)n);
	put_pcp("map-mismatch", 1, out, (size_t)n);

	r.has_third_party = true;
	v4(r.third_party, "10.1.0.11");
	r.prefer_failure = true;
	r.nfilters = 2;
	r.filters[0] = (struct pcp_filter){.plen = 120, .port = 0};
	v4(r.filters[0].addr, "203.0.113.0");
	r.filters[1] = (struct pcp_filter){.plen = 128, .port = 7000};
	v4(r.filters[1].addr, "203.0.113.10");
	n = pcp_encode_request(&r, out, sizeof(out));
	put_pcp("map-options", 0, out, (size_t)n);
	/* an unknown optional option and an unknown mandatory one appended */
	memcpy(out + n, "\x99\x00\x00\x04\xde\xad\xbe\xef", 8);
	put_pcp("map-optional-option", 0, out, (size_t)n + 8);
	memcpy(out + n, "\x19\x00\x00\x00", 4);
	put_pcp("map-unknown-option", 0, out, (size_t)n + 4);

	memset(&r, 0, sizeof(r));
	r.opcode = PCP_OP_PEER;
	r.lifetime = 120;
	v4(r.client_ip, "10.1.0.10");
	memcpy(r.nonce, nonce, sizeof(nonce));
	r.protocol = IPPROTO_TCP;
	r.int_port = 40000;
	r.ext_port = 0;
	v4(r.ext_ip, "198.51.100.1");
	r.peer_port = 443;
	v4(r.peer_ip, "203.0.113.10");
	n = pcp_encode_request(&r, out, sizeof(out));
	put_pcp("peer", 0, out, (size_t)n);

	memset(&r, 0, sizeof(r));
	r.opcode = PCP_OP_ANNOUNCE;
	v4(r.client_ip, "10.1.0.10");
	n = pcp_encode_request(&r, out, sizeof(out));
	put_pcp("announce", 0, out, (size_t)n);
	out[0] = 1;
	put_pcp("version1", 0, out, (size_t)n);
	out[0] = 2;
	out[1] = 9;
	put_pcp("opcode9", 0, out, (size_t)n);

	/* a response (the client side) */
	memset(&rs, 0, sizeof(rs));
	rs.opcode = PCP_OP_MAP;
	rs.lifetime = 3600;
	rs.epoch = 1000;
	memcpy(rs.nonce, nonce, sizeof(nonce));
	rs.protocol = IPPROTO_UDP;
	rs.int_port = 5000;
	rs.ext_port = 20000;
	v4(rs.ext_ip, "198.51.100.1");
	rs.nfilters = 1;
	rs.filters[0] = (struct pcp_filter){.plen = 128, .port = 7000};
	v4(rs.filters[0].addr, "203.0.113.10");
	n = pcp_encode_response(&rs, out, sizeof(out));
	put_pcp("response-map", 2, out, (size_t)n);

	/* NAT-PMP */
	put_pcp("natpmp-addr", 0, (const uint8_t *)"\0\0", 2);
	put_pcp("natpmp-map-udp", 0,
		(const uint8_t *)"\x00\x01\x00\x00\x13\x88\x13\x88\x00\x00\x0e\x10", 12);
	put_pcp("natpmp-map-tcp-delete", 0,
		(const uint8_t *)"\x00\x02\x00\x00\x1f\x90\x00\x00\x00\x00\x00\x00", 12);
	put_pcp("natpmp-opcode3", 0, (const uint8_t *)"\x00\x03\x00\x00", 4);
	put_pcp("natpmp-response", 0, (const uint8_t *)"\x00\x80\x00\x00\x00\x00\x00\x64", 8);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0755);
	xlate_seeds();
	pcp_seeds();
	return 0;
}
