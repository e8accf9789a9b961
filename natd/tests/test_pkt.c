/* Unit tests for pkt.c: the bounds-checked accessor and the IPv4 parser's
 * fixed validation order, every drop reason, IP options, fragments, and the
 * laxer parse of a quote inside an ICMP error. Each packet is copied into a
 * heap block of exactly n bytes so that, under ASan, any read past the
 * bytes handed to the parser is caught. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "pktbuild.h"

#define CAP 2048

static uint32_t A(const char *s)
{
	return pb_addr(s);
}

/* Parse a copy of buf[0..n) held in exactly n heap bytes. The copy is
 * returned in *copy (caller frees) so pointers in *p stay valid. */
static enum drop_reason parse_exact(struct pkt *p, const uint8_t *buf, size_t n, size_t cap,
				    uint8_t **copy)
{
	uint8_t *c = malloc(n ? n : 1);
	enum drop_reason r;

	assert_non_null(c);
	memcpy(c, buf, n);
	r = pkt_parse_ip4(p, c, n, cap);
	*copy = c;
	return r;
}

static enum drop_reason parse(const uint8_t *buf, size_t n)
{
	struct pkt p;
	uint8_t *c;
	enum drop_reason r = parse_exact(&p, buf, n, CAP, &c);

	free(c);
	return r;
}

static enum drop_reason parse_quoted(const uint8_t *buf, size_t n, struct pkt *out)
{
	uint8_t *c = malloc(n ? n : 1);
	struct pkt q;
	enum drop_reason r;

	assert_non_null(c);
	memcpy(c, buf, n);
	r = pkt_parse_quoted(&q, c, n);
	if (out) {
		*out = q;
		out->buf = NULL; /* the copy is gone after this */
	}
	free(c);
	return r;
}

static void set_ihl(uint8_t *b, unsigned ihl)
{
	b[0] = (uint8_t)((b[0] & 0xf0) | (ihl & 0x0f));
}

static void set_frag(uint8_t *b, bool mf, uint16_t off8)
{
	pb_set_u16(b + 6, (uint16_t)((mf ? 0x2000 : 0) | off8));
	pb_fix_ip_csum(b);
}

/* ---- pkt_ptr ---- */

static void test_ptr_bounds(void **state)
{
	uint8_t buf[64];
	struct pkt p = { .buf = buf, .len = 40 };

	(void)state;
	assert_ptr_equal(pkt_ptr(&p, 0, 0), buf);
	assert_ptr_equal(pkt_ptr(&p, 0, 40), buf);
	assert_null(pkt_ptr(&p, 0, 41));
	assert_ptr_equal(pkt_ptr(&p, 39, 1), buf + 39);
	assert_null(pkt_ptr(&p, 39, 2));
	assert_ptr_equal(pkt_ptr(&p, 40, 0), buf + 40); /* empty range at the end */
	assert_null(pkt_ptr(&p, 40, 1));
	assert_null(pkt_ptr(&p, 41, 0));
	assert_null(pkt_ptr(&p, SIZE_MAX, 0));
	assert_null(pkt_ptr(&p, SIZE_MAX, 1));
	assert_null(pkt_ptr(&p, 0, SIZE_MAX));
	assert_null(pkt_ptr(&p, 1, SIZE_MAX));        /* off + n wraps to 0 */
	assert_null(pkt_ptr(&p, 2, SIZE_MAX - 1));    /* off + n wraps to 0 */
	assert_null(pkt_ptr(&p, SIZE_MAX - 3, 8));    /* off + n wraps to 4 */
	assert_null(pkt_ptr(&p, SIZE_MAX, SIZE_MAX));
	p.len = 0;
	assert_ptr_equal(pkt_ptr(&p, 0, 0), buf);
	assert_null(pkt_ptr(&p, 0, 1));
	assert_null(pkt_ptr(&p, 1, 0));
}

/* ---- pkt_parse_ip4: accepted packets ---- */

static void test_parse_udp_ok(void **state)
{
	uint8_t b[PB_MAX], *c;
	struct pkt p;
	size_t n = pb_udp(b, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 13);

	(void)state;
	assert_int_equal(parse_exact(&p, b, n, CAP, &c), DROP_NONE);
	assert_ptr_equal(p.buf, c);
	assert_int_equal(p.len, n);
	assert_int_equal(p.l4_off, 20);
	assert_int_equal(p.l4_len, n - 20);
	assert_int_equal(p.proto, IPPROTO_UDP);
	assert_int_equal(p.frag_off, 0);
	assert_false(p.more_frags);
	assert_false(p.is_frag);
	free(c);
}

static void test_parse_tcp_icmp_ok(void **state)
{
	uint8_t b[PB_MAX], *c;
	struct pkt p;
	size_t n;

	(void)state;
	n = pb_tcp(b, A("10.1.0.10"), 40000, A("203.0.113.10"), 80, PB_SYN, 0);
	assert_int_equal(parse_exact(&p, b, n, CAP, &c), DROP_NONE);
	assert_int_equal(p.proto, IPPROTO_TCP);
	assert_int_equal(p.l4_len, 20);
	free(c);
	n = pb_icmp_echo(b, A("10.1.0.10"), A("203.0.113.10"), 8, 77, 1, 0);
	assert_int_equal(parse_exact(&p, b, n, CAP, &c), DROP_NONE);
	assert_int_equal(p.proto, IPPROTO_ICMP);
	assert_int_equal(p.l4_len, 8);
	free(c);
}

static void test_parse_exact_fit_vs_cap(void **state)
{
	uint8_t b[PB_MAX];
	size_t n = pb_udp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, 4);

	(void)state;
	assert_int_equal(parse(b, n), DROP_NONE);
	/* One byte of slack left: fine. */
	{
		struct pkt p;
		uint8_t *c;

		assert_int_equal(parse_exact(&p, b, n, n + 1, &c), DROP_NONE);
		free(c);
		/* The read filled the buffer: it may have been cut. */
		assert_int_equal(parse_exact(&p, b, n, n, &c), DROP_TRUNCATED);
		free(c);
	}
}

static void test_parse_clamps_trailing_bytes(void **state)
{
	uint8_t b[PB_MAX], *c;
	struct pkt p;
	size_t n = pb_udp(b, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 20);

	(void)state;
	memset(b + n, 0xee, 10); /* link padding after the datagram */
	assert_int_equal(parse_exact(&p, b, n + 10, CAP, &c), DROP_NONE);
	assert_int_equal(p.len, n);
	assert_int_equal(p.l4_len, n - 20);
	/* Nothing past the total length is reachable through pkt_ptr. */
	assert_non_null(pkt_ptr(&p, n - 1, 1));
	assert_null(pkt_ptr(&p, n, 1));
	free(c);
}

static void test_parse_ip_options(void **state)
{
	unsigned ihl;

	(void)state;
	for (ihl = 6; ihl <= 15; ihl++) {
		uint8_t b[PB_MAX], u[PB_MAX], *c;
		struct pkt p;
		size_t hl = ihl * 4, n;
		size_t ulen = pb_udp(u, A("10.1.0.10"), 7000, A("203.0.113.1"), 9, 11) - 20;

		/* IP header with NOP options (0x01), then the UDP datagram. */
		memcpy(b, u, 20);
		memset(b + 20, 0x01, hl - 20);
		memcpy(b + hl, u + 20, ulen);
		n = hl + ulen;
		set_ihl(b, ihl);
		pb_set_u16(b + 2, (uint16_t)n);
		pb_fix_ip_csum(b);
		assert_int_equal(parse_exact(&p, b, n, CAP, &c), DROP_NONE);
		assert_int_equal(p.l4_off, hl);
		assert_int_equal(p.l4_len, ulen);
		assert_int_equal(p.len, n);
		assert_int_equal(p.proto, IPPROTO_UDP);
		free(c);
		/* Options pushing the UDP header past the end: L4 short. */
		pb_set_u16(b + 2, (uint16_t)(hl + 7));
		assert_int_equal(parse(b, hl + 7), DROP_L4_SHORT);
		/* Header longer than what was read. */
		assert_int_equal(parse(b, hl - 1), DROP_IHL);
	}
}

static void test_parse_unknown_proto_accepted(void **state)
{
	/* The parser passes protocols it has no L4 rule for; xlate decides. */
	uint8_t b[PB_MAX], *c, gre[4] = { 0, 0, 0x08, 0x00 };
	struct pkt p;
	size_t n = pb_raw(b, A("10.1.0.10"), A("203.0.113.1"), 47, gre, sizeof(gre));

	(void)state;
	assert_int_equal(parse_exact(&p, b, n, CAP, &c), DROP_NONE);
	assert_int_equal(p.proto, 47);
	assert_int_equal(p.l4_len, 4);
	free(c);
	n = pb_raw(b, A("10.1.0.10"), A("203.0.113.1"), 47, gre, 0);
	assert_int_equal(parse(b, n), DROP_NONE);
}

/* ---- pkt_parse_ip4: every drop reason, in order ---- */

static void test_drop_short(void **state)
{
	uint8_t b[PB_MAX];
	size_t n;

	(void)state;
	n = pb_udp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, 0);
	(void)n;
	assert_int_equal(parse(b, 0), DROP_SHORT);
	assert_int_equal(parse(b, 1), DROP_SHORT);
	assert_int_equal(parse(b, 19), DROP_SHORT);
	/* 20 bytes: header present, total length 28 > 20. */
	assert_int_equal(parse(b, 20), DROP_TOTLEN);
	/* Short beats a wrong version. */
	b[0] = 0x65;
	assert_int_equal(parse(b, 19), DROP_SHORT);
}

static void test_drop_truncated_first(void **state)
{
	uint8_t b[PB_MAX];
	struct pkt p;
	uint8_t *c;

	(void)state;
	pb_udp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, 0);
	/* n == cap is checked before anything else, even for a tiny read. */
	assert_int_equal(parse_exact(&p, b, 10, 10, &c), DROP_TRUNCATED);
	free(c);
	b[0] = 0x60;
	assert_int_equal(parse_exact(&p, b, 28, 28, &c), DROP_TRUNCATED);
	free(c);
}

static void test_drop_version(void **state)
{
	uint8_t b[PB_MAX];
	size_t n = pb_udp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, 0);
	unsigned v;

	(void)state;
	for (v = 0; v < 16; v++) {
		if (v == 4)
			continue;
		b[0] = (uint8_t)(v << 4 | 5);
		assert_int_equal(parse(b, n), DROP_VERSION);
		/* Version beats a bad IHL. */
		b[0] = (uint8_t)(v << 4 | 2);
		assert_int_equal(parse(b, n), DROP_VERSION);
	}
}

static void test_drop_ihl(void **state)
{
	uint8_t b[PB_MAX];
	size_t n = pb_udp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, 0);
	unsigned ihl;

	(void)state;
	for (ihl = 0; ihl < 5; ihl++) {
		set_ihl(b, ihl);
		assert_int_equal(parse(b, n), DROP_IHL);
	}
	/* IHL * 4 > bytes read (60 > 28). */
	set_ihl(b, 15);
	assert_int_equal(parse(b, n), DROP_IHL);
	/* IHL*4 == n is fine as far as IHL goes (then the UDP header is
	 * missing). */
	set_ihl(b, 7);
	pb_set_u16(b + 2, 28);
	assert_int_equal(parse(b, n), DROP_L4_SHORT);
	/* IHL beats a bad total length. */
	set_ihl(b, 3);
	pb_set_u16(b + 2, 0);
	assert_int_equal(parse(b, n), DROP_IHL);
}

static void test_drop_totlen(void **state)
{
	uint8_t b[PB_MAX];
	size_t n = pb_udp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, 8);
	uint16_t t;

	(void)state;
	for (t = 0; t < 20; t++) {
		pb_set_u16(b + 2, t);
		assert_int_equal(parse(b, n), DROP_TOTLEN);
	}
	pb_set_u16(b + 2, (uint16_t)(n + 1));
	assert_int_equal(parse(b, n), DROP_TOTLEN);
	pb_set_u16(b + 2, 0xffff);
	assert_int_equal(parse(b, n), DROP_TOTLEN);
	/* With options, total length must cover the whole header. */
	pb_udp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, 8);
	set_ihl(b, 6);
	pb_set_u16(b + 2, 23);
	assert_int_equal(parse(b, n), DROP_TOTLEN);
	/* Total length beats a short L4 header. */
	pb_udp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, 0);
	pb_set_u16(b + 2, 100);
	assert_int_equal(parse(b, 24), DROP_TOTLEN);
}

static void test_drop_udp(void **state)
{
	uint8_t b[PB_MAX];
	size_t n = pb_udp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, 10);

	(void)state;
	/* UDP header does not fit: 7 bytes of L4. */
	pb_set_u16(b + 2, 27);
	assert_int_equal(parse(b, 27), DROP_L4_SHORT);
	pb_set_u16(b + 2, 20);
	assert_int_equal(parse(b, 20), DROP_L4_SHORT);
	pb_set_u16(b + 2, (uint16_t)n);
	/* UDP length larger than the IP payload. */
	pb_set_u16(b + 24, (uint16_t)(n - 20 + 1));
	assert_int_equal(parse(b, n), DROP_UDP_LEN);
	pb_set_u16(b + 24, 0xffff);
	assert_int_equal(parse(b, n), DROP_UDP_LEN);
	/* Smaller than a UDP header. */
	pb_set_u16(b + 24, 7);
	assert_int_equal(parse(b, n), DROP_UDP_LEN);
	pb_set_u16(b + 24, 0);
	assert_int_equal(parse(b, n), DROP_UDP_LEN);
	/* Exactly the header, or the full payload: fine. */
	pb_set_u16(b + 24, 8);
	assert_int_equal(parse(b, n), DROP_NONE);
	pb_set_u16(b + 24, (uint16_t)(n - 20));
	assert_int_equal(parse(b, n), DROP_NONE);
	/* UDP length is checked against the clamped IP payload, not against
	 * trailing padding. */
	memset(b + n, 0, 16);
	pb_set_u16(b + 24, (uint16_t)(n - 20 + 8));
	assert_int_equal(parse(b, n + 16), DROP_UDP_LEN);
}

static void test_drop_tcp(void **state)
{
	uint8_t b[PB_MAX];
	size_t n;
	unsigned doff;

	(void)state;
	n = pb_tcp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, PB_SYN, 0);
	/* 19 bytes of TCP. */
	pb_set_u16(b + 2, 39);
	assert_int_equal(parse(b, 39), DROP_L4_SHORT);
	/* 8 bytes of TCP are not enough outside an ICMP quote. */
	pb_set_u16(b + 2, 28);
	assert_int_equal(parse(b, 28), DROP_L4_SHORT);
	pb_set_u16(b + 2, (uint16_t)n);
	/* Data offset below 5 words. */
	for (doff = 0; doff < 5; doff++) {
		b[32] = (uint8_t)(doff << 4);
		assert_int_equal(parse(b, n), DROP_L4_SHORT);
	}
	/* Data offset beyond the segment (24 > 20). */
	b[32] = 6 << 4;
	assert_int_equal(parse(b, n), DROP_L4_SHORT);
	b[32] = 15 << 4;
	assert_int_equal(parse(b, n), DROP_L4_SHORT);
	/* With 4 bytes of options present, doff 6 fits. */
	n = pb_tcp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, PB_SYN, 4);
	b[32] = 6 << 4;
	assert_int_equal(parse(b, n), DROP_NONE);
	b[32] = 7 << 4;
	assert_int_equal(parse(b, n), DROP_L4_SHORT);
}

static void test_drop_icmp(void **state)
{
	uint8_t b[PB_MAX];
	size_t n = pb_icmp_echo(b, A("10.1.0.10"), A("10.2.0.1"), 8, 1, 1, 0);

	(void)state;
	assert_int_equal(parse(b, n), DROP_NONE);
	pb_set_u16(b + 2, 27);
	assert_int_equal(parse(b, 27), DROP_L4_SHORT);
	pb_set_u16(b + 2, 21);
	assert_int_equal(parse(b, 21), DROP_L4_SHORT);
}

/* ---- fragments ---- */

static void test_frag_fields(void **state)
{
	uint8_t whole[PB_MAX], f[PB_MAX], *c;
	struct pkt p;
	size_t n = pb_udp(whole, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 100);
	size_t fl;

	(void)state;
	/* First fragment: MF, offset 0; the UDP header is there and checked,
	 * but the UDP length (whole datagram) exceeds this fragment: fine. */
	fl = pb_fragment(f, whole, 0, 48, true);
	assert_int_equal(parse_exact(&p, f, fl, CAP, &c), DROP_NONE);
	assert_true(p.is_frag);
	assert_true(p.more_frags);
	assert_int_equal(p.frag_off, 0);
	assert_int_equal(p.l4_len, 48);
	free(c);
	/* Middle fragment. */
	fl = pb_fragment(f, whole, 48, 32, true);
	assert_int_equal(parse_exact(&p, f, fl, CAP, &c), DROP_NONE);
	assert_true(p.is_frag);
	assert_true(p.more_frags);
	assert_int_equal(p.frag_off, 48);
	assert_int_equal(p.proto, IPPROTO_UDP);
	free(c);
	/* Last fragment: no MF, offset != 0; is_frag still true. */
	fl = pb_fragment(f, whole, 80, n - 20 - 80, false);
	assert_int_equal(parse_exact(&p, f, fl, CAP, &c), DROP_NONE);
	assert_true(p.is_frag);
	assert_false(p.more_frags);
	assert_int_equal(p.frag_off, 80);
	assert_int_equal(p.l4_len, n - 20 - 80);
	free(c);
	/* Largest offset (8191 * 8). */
	set_frag(f, false, 0x1fff);
	assert_int_equal(parse_exact(&p, f, fl, CAP, &c), DROP_NONE);
	assert_int_equal(p.frag_off, 0x1fff * 8);
	free(c);
	/* DF is not a fragment bit. */
	memcpy(f, whole, n);
	pb_set_u16(f + 6, 0x4000);
	pb_fix_ip_csum(f);
	assert_int_equal(parse_exact(&p, f, n, CAP, &c), DROP_NONE);
	assert_false(p.is_frag);
	assert_false(p.more_frags);
	free(c);
}

static void test_frag_nonfirst_l4_not_checked(void **state)
{
	uint8_t whole[PB_MAX], f[PB_MAX], *c;
	struct pkt p;
	size_t fl;

	(void)state;
	/* A non-first fragment with 1 byte of payload: no L4 header is there
	 * and none is required, for any protocol. */
	pb_udp(whole, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 100);
	fl = pb_fragment(f, whole, 96, 1, true);
	assert_int_equal(parse_exact(&p, f, fl, CAP, &c), DROP_NONE);
	assert_int_equal(p.frag_off, 96);
	free(c);
	pb_tcp(whole, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, PB_ACK, 100);
	fl = pb_fragment(f, whole, 8, 0, false);
	assert_int_equal(parse_exact(&p, f, fl, CAP, &c), DROP_NONE);
	free(c);
	pb_icmp_echo(whole, A("10.1.0.10"), A("203.0.113.10"), 8, 1, 1, 100);
	fl = pb_fragment(f, whole, 16, 3, false);
	assert_int_equal(parse_exact(&p, f, fl, CAP, &c), DROP_NONE);
	free(c);
}

static void test_frag_first_l4_checked(void **state)
{
	uint8_t whole[PB_MAX], f[PB_MAX];
	size_t fl;

	(void)state;
	pb_udp(whole, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 100);
	/* A first fragment too short for the UDP header. */
	fl = pb_fragment(f, whole, 0, 4, true);
	assert_int_equal(parse(f, fl), DROP_L4_SHORT);
	/* A first fragment cut inside the TCP header. */
	pb_tcp(whole, A("10.1.0.10"), 5000, A("203.0.113.10"), 80, PB_ACK, 100);
	fl = pb_fragment(f, whole, 0, 16, true);
	assert_int_equal(parse(f, fl), DROP_L4_SHORT);
	fl = pb_fragment(f, whole, 0, 24, true);
	assert_int_equal(parse(f, fl), DROP_NONE);
	/* A first fragment's short UDP length is still nonsense... but the
	 * parser only checks the UDP length on whole datagrams. */
	pb_udp(whole, A("10.1.0.10"), 5000, A("203.0.113.10"), 53, 100);
	fl = pb_fragment(f, whole, 0, 48, true);
	assert_int_equal(parse(f, fl), DROP_NONE);
}

/* ---- pkt_parse_quoted ---- */

static void test_quoted_full_and_truncated(void **state)
{
	uint8_t b[PB_MAX];
	struct pkt q;
	size_t n = pb_udp(b, A("198.51.100.1"), 40000, A("203.0.113.10"), 53, 200);
	size_t cut;

	(void)state;
	assert_int_equal(parse_quoted(b, n, &q), DROP_NONE);
	assert_int_equal(q.len, n);
	assert_int_equal(q.proto, IPPROTO_UDP);
	assert_int_equal(q.l4_off, 20);
	/* A quote cut anywhere at or past 8 bytes of L4 is accepted and its
	 * length is what is present. */
	for (cut = 28; cut < n; cut++) {
		assert_int_equal(parse_quoted(b, cut, &q), DROP_NONE);
		assert_int_equal(q.len, cut);
		assert_int_equal(q.l4_len, cut - 20);
	}
	/* Fewer than 8 bytes of L4: rejected. */
	for (cut = 20; cut < 28; cut++)
		assert_int_equal(parse_quoted(b, cut, NULL), DROP_ICMP_QUOTE);
	for (cut = 0; cut < 20; cut++)
		assert_int_equal(parse_quoted(b, cut, NULL), DROP_ICMP_QUOTE);
}

static void test_quoted_tcp_icmp_8_bytes(void **state)
{
	uint8_t b[PB_MAX];
	size_t n;

	(void)state;
	/* RFC 792: only 8 bytes of the quoted TCP header are promised. */
	n = pb_tcp(b, A("198.51.100.1"), 40000, A("203.0.113.10"), 80, PB_SYN, 0);
	(void)n;
	assert_int_equal(parse_quoted(b, 28, NULL), DROP_NONE);
	assert_int_equal(parse_quoted(b, 27, NULL), DROP_ICMP_QUOTE);
	n = pb_icmp_echo(b, A("198.51.100.1"), A("203.0.113.10"), 8, 5, 6, 40);
	assert_int_equal(parse_quoted(b, 28, NULL), DROP_NONE);
	assert_int_equal(parse_quoted(b, 27, NULL), DROP_ICMP_QUOTE);
}

static void test_quoted_udp_len_not_checked(void **state)
{
	/* The quoted UDP length describes the original datagram, which the
	 * quote may not contain entirely. */
	uint8_t b[PB_MAX];
	size_t n = pb_udp(b, A("198.51.100.1"), 40000, A("203.0.113.10"), 53, 500);

	(void)state;
	(void)n;
	assert_int_equal(parse_quoted(b, 20 + 8 + 20, NULL), DROP_NONE);
}

static void test_quoted_rejects(void **state)
{
	uint8_t whole[PB_MAX], f[PB_MAX];
	size_t n = pb_udp(whole, A("198.51.100.1"), 40000, A("203.0.113.10"), 53, 100);
	size_t fl;

	(void)state;
	/* Non-first fragment: no ports in it. */
	fl = pb_fragment(f, whole, 8, 64, true);
	assert_int_equal(parse_quoted(f, fl, NULL), DROP_ICMP_QUOTE);
	fl = pb_fragment(f, whole, 8, 64, false);
	assert_int_equal(parse_quoted(f, fl, NULL), DROP_ICMP_QUOTE);
	/* A first fragment is fine. */
	fl = pb_fragment(f, whole, 0, 64, true);
	assert_int_equal(parse_quoted(f, fl, NULL), DROP_NONE);
	/* Bad version, bad IHL, total length below the header. */
	memcpy(f, whole, n);
	f[0] = 0x65;
	assert_int_equal(parse_quoted(f, n, NULL), DROP_ICMP_QUOTE);
	f[0] = 0x44;
	assert_int_equal(parse_quoted(f, n, NULL), DROP_ICMP_QUOTE);
	f[0] = 0x4f; /* 60-byte header in a 48-byte quote */
	assert_int_equal(parse_quoted(f, 48, NULL), DROP_ICMP_QUOTE);
	f[0] = 0x45;
	pb_set_u16(f + 2, 19);
	assert_int_equal(parse_quoted(f, n, NULL), DROP_ICMP_QUOTE);
	/* The quote must never be reported as anything but a quote problem. */
	pb_set_u16(f + 2, 20);
	assert_int_equal(parse_quoted(f, n, NULL), DROP_ICMP_QUOTE);
}

static void test_quoted_does_not_read_past_n(void **state)
{
	/* A quote whose IP total length claims far more than present: every
	 * prefix length is parsed from an exactly sized heap copy. */
	uint8_t b[PB_MAX];
	size_t n = pb_tcp(b, A("198.51.100.1"), 40000, A("203.0.113.10"), 80, PB_ACK, 40);
	size_t cut;

	(void)state;
	b[32] = 15 << 4; /* a data offset of 60 that is not there */
	for (cut = 0; cut <= n; cut++) {
		enum drop_reason r = parse_quoted(b, cut, NULL);

		assert_true(r == DROP_NONE || r == DROP_ICMP_QUOTE);
	}
}

static void test_parse_random_prefixes(void **state)
{
	/* Random garbage and every prefix of valid packets: no crash, no
	 * over-read, and a success always gives a consistent view. */
	uint8_t b[PB_MAX];
	int trial;

	(void)state;
	srand(1);
	for (trial = 0; trial < 3000; trial++) {
		size_t n, cut, i;
		struct pkt p;
		uint8_t *c;

		switch (trial % 3) {
		case 0:
			n = pb_udp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, (size_t)(rand() % 64));
			break;
		case 1:
			n = pb_tcp(b, A("10.1.0.10"), 1, A("10.2.0.1"), 2, PB_ACK,
				   (size_t)(rand() % 64));
			break;
		default:
			n = 20 + (size_t)(rand() % 80);
			for (i = 0; i < n; i++)
				b[i] = (uint8_t)rand();
			b[0] = (uint8_t)(0x40 | (b[0] & 0x0f));
		}
		if (rand() % 4 == 0)
			b[rand() % 20] ^= (uint8_t)(1 << (rand() % 8));
		cut = (size_t)rand() % (n + 1);
		if (parse_exact(&p, b, cut, CAP, &c) == DROP_NONE) {
			assert_true(p.len <= cut);
			assert_true(p.l4_off >= 20 && p.l4_off <= p.len);
			assert_int_equal(p.l4_len, p.len - p.l4_off);
			assert_int_equal(p.len, pb_totlen(c));
		}
		free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ptr_bounds),
		cmocka_unit_test(test_parse_udp_ok),
		cmocka_unit_test(test_parse_tcp_icmp_ok),
		cmocka_unit_test(test_parse_exact_fit_vs_cap),
		cmocka_unit_test(test_parse_clamps_trailing_bytes),
		cmocka_unit_test(test_parse_ip_options),
		cmocka_unit_test(test_parse_unknown_proto_accepted),
		cmocka_unit_test(test_drop_short),
		cmocka_unit_test(test_drop_truncated_first),
		cmocka_unit_test(test_drop_version),
		cmocka_unit_test(test_drop_ihl),
		cmocka_unit_test(test_drop_totlen),
		cmocka_unit_test(test_drop_udp),
		cmocka_unit_test(test_drop_tcp),
		cmocka_unit_test(test_drop_icmp),
		cmocka_unit_test(test_frag_fields),
		cmocka_unit_test(test_frag_nonfirst_l4_not_checked),
		cmocka_unit_test(test_frag_first_l4_checked),
		cmocka_unit_test(test_quoted_full_and_truncated),
		cmocka_unit_test(test_quoted_tcp_icmp_8_bytes),
		cmocka_unit_test(test_quoted_udp_len_not_checked),
		cmocka_unit_test(test_quoted_rejects),
		cmocka_unit_test(test_quoted_does_not_read_past_n),
		cmocka_unit_test(test_parse_random_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
