/* Unit tests for the control-channel codec (msg.c, wire.c, strerror.c).
 *
 * - Round trips: every fixture (every message type, every option) encodes,
 *   frames, decodes to an identical struct and re-encodes to identical
 *   bytes; every smaller output buffer gives NC_E_NOSPACE and every
 *   prefix NC_E_SHORT.
 * - One test per decoding error class, on hand-built messages, asserting
 *   the exact NC_E_* code; then the encoder's refusals.
 * - Framing: all fixtures back to back, the stream split at every offset,
 *   byte by byte and in random chunks, re-assembled with nc_frame().
 * Each decode works on a heap copy of exactly the message's size, so a
 * sanitizer build catches any read past the input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libcontrol/msg.h>

#include "fixtures.h"
#include "golden.h"

/* ---- helpers ---- */

static struct nc_msg *new_msg(void)
{
	struct nc_msg *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	return m;
}

/* Decode a heap copy of exactly len bytes. */
static int decode_exact(const uint8_t *p, size_t len, struct nc_msg *m)
{
	uint8_t *copy = malloc(len ? len : 1);
	int err;

	assert_non_null(copy);
	if (len)
		memcpy(copy, p, len);
	err = nc_decode(copy, len, m);
	free(copy);
	return err;
}

/* A message assembled byte by byte. */
struct raw {
	uint8_t b[NC_MSG_MAX + 64];
	size_t n;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void raw_hdr(struct raw *r, uint16_t type, uint32_t reqid)
{
	memset(r->b, 0, NC_HDR_LEN);
	r->b[0] = NC_MAGIC0;
	r->b[1] = NC_MAGIC1;
	r->b[2] = NC_PROTO_VERSION;
	put16(r->b + 4, type);
	put32(r->b + 12, reqid);
	r->n = NC_HDR_LEN;
}

static void raw_bytes(struct raw *r, const void *p, size_t n)
{
	if (n)
		memcpy(r->b + r->n, p, n);
	r->n += n;
}

static void raw_tlv(struct raw *r, uint16_t t, const void *v, size_t len)
{
	put16(r->b + r->n, t);
	put16(r->b + r->n + 2, (uint16_t)len);
	r->n += 4;
	raw_bytes(r, v, len);
}

static void raw_u8(struct raw *r, uint16_t t, uint8_t v)
{
	raw_tlv(r, t, &v, 1);
}

static void raw_u16(struct raw *r, uint16_t t, uint16_t v)
{
	uint8_t b[2];

	put16(b, v);
	raw_tlv(r, t, b, 2);
}

static void raw_u32(struct raw *r, uint16_t t, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	raw_tlv(r, t, b, 4);
}

static void raw_u64(struct raw *r, uint16_t t, uint64_t v)
{
	uint8_t b[8];

	put32(b, (uint32_t)(v >> 32));
	put32(b + 4, (uint32_t)v);
	raw_tlv(r, t, b, 8);
}

/* A string value with its NUL. */
static void raw_str(struct raw *r, uint16_t t, const char *s)
{
	raw_tlv(r, t, s, strlen(s) + 1);
}

static void raw_ep4(struct raw *r, uint16_t t, uint32_t addr, uint16_t port)
{
	uint8_t v[8] = {NC_AF_IP4, 0};

	put16(v + 2, port);
	put32(v + 4, addr);
	raw_tlv(r, t, v, sizeof(v));
}

static void raw_match4(struct raw *r, uint16_t t, uint32_t addr, uint8_t plen, uint16_t lo,
		       uint16_t hi)
{
	uint8_t v[10] = {NC_AF_IP4, plen};

	put16(v + 2, lo);
	put16(v + 4, hi);
	put32(v + 6, addr);
	raw_tlv(r, t, v, sizeof(v));
}

/* Patch the length field to the bytes written so far. */
static void raw_fin(struct raw *r)
{
	put32(r->b + 8, (uint32_t)r->n);
}

static int raw_decode(struct raw *r)
{
	struct nc_msg *m = new_msg();
	int err;

	raw_fin(r);
	err = decode_exact(r->b, r->n, m);
	free(m);
	return err;
}

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

/* The TLVs of a minimal BIND up to ENDPOINT (0x8016), with the direction
 * given; callers append TLVs of higher types. */
static void raw_bind(struct raw *r, uint8_t dir)
{
	raw_hdr(r, NC_MSG_BIND, 7);
	raw_u8(r, NC_T_DIRECTION, dir);
	raw_u8(r, NC_T_PROTO, NC_PROTO_UDP);
	raw_str(r, NC_T_IN_REALM, "inside");
	raw_str(r, NC_T_EXT_REALM, "outside");
	raw_ep4(r, NC_T_ENDPOINT, IP(10, 1, 0, 10), 5000);
}

/* STATUS (with code), EPOCH: a reply's common TLVs. */
static void raw_reply(struct raw *r, uint16_t type, uint16_t code)
{
	raw_hdr(r, type, 7);
	raw_u16(r, NC_T_STATUS, code);
	raw_u64(r, NC_T_EPOCH, 99);
}

/* ---- round trips ---- */

static void test_roundtrip_all(void **state)
{
	struct nc_msg *m = new_msg(), *d = new_msg();
	static uint8_t buf[NC_MSG_MAX], buf2[NC_MSG_MAX];
	unsigned i;

	(void)state;
	for (i = 0; i < fx_count(); i++) {
		const char *name = fx_build(i, m);
		int n, n2;

		n = nc_encode_msg(buf, sizeof(buf), m);
		if (n < 0)
			fail_msg("%s: encode: %s", name, nc_strerror(n));
		assert_int_equal(nc_frame(buf, (size_t)n), n);
		n2 = decode_exact(buf, (size_t)n, d);
		if (n2 < 0)
			fail_msg("%s: decode: %s", name, nc_strerror(n2));
		assert_int_equal(d->skipped, 0);
		if (memcmp(m, d, sizeof(*m)))
			fail_msg("%s: decoded struct differs", name);
		n2 = nc_encode_msg(buf2, sizeof(buf2), d);
		assert_int_equal(n2, n);
		assert_memory_equal(buf, buf2, (size_t)n);
		assert_string_equal(nc_msg_name(m->type), nc_msg_name(d->type));
	}
	free(m);
	free(d);
}

/* The fixtures use every TLV type the protocol defines (so the round
 * trips cover every option) and every message type. */
static void test_fixtures_cover_everything(void **state)
{
	static uint8_t buf[NC_MSG_MAX];
	static bool seen[65536], seen_msg[65536];
	struct nc_msg *m = new_msg();
	unsigned i, t;

	(void)state;
	for (i = 0; i < fx_count(); i++) {
		size_t off = NC_HDR_LEN;
		int n;

		fx_build(i, m);
		n = nc_encode_msg(buf, sizeof(buf), m);
		assert_true(n > 0);
		seen_msg[m->type] = true;
		while (off + 4 <= (size_t)n) {
			seen[buf[off] << 8 | buf[off + 1]] = true;
			off += 4 + (size_t)(buf[off + 2] << 8 | buf[off + 3]);
		}
	}
	for (t = 0; t < 65536; t++) {
		if (gd_tlv_name((uint16_t)t) && !seen[t])
			fail_msg("no fixture carries TLV %s", gd_tlv_name((uint16_t)t));
		if (nc_msg_name((uint16_t)t) && !seen_msg[t])
			fail_msg("no fixture of type %s", nc_msg_name((uint16_t)t));
	}
	free(m);
}

/* Every buffer smaller than the message is refused, every prefix is short,
 * and nothing is written past cap. */
static void test_nospace_and_prefixes(void **state)
{
	struct nc_msg *m = new_msg(), *d = new_msg();
	static uint8_t buf[NC_MSG_MAX], small[NC_MSG_MAX];
	unsigned i;

	(void)state;
	for (i = 0; i < fx_count(); i++) {
		int n, cap, step;

		fx_build(i, m);
		n = nc_encode_msg(buf, sizeof(buf), m);
		assert_true(n > 0);
		step = n > 2000 ? 97 : 1;
		for (cap = 0; cap < n; cap += step) {
			uint8_t *out = malloc((size_t)cap + 1);

			assert_non_null(out);
			assert_int_equal(nc_encode_msg(out, (size_t)cap, m), NC_E_NOSPACE);
			free(out);
		}
		for (cap = 0; cap < n; cap += step) {
			memcpy(small, buf, (size_t)cap);
			assert_int_equal(decode_exact(small, (size_t)cap, d), NC_E_SHORT);
			assert_int_equal(nc_frame(small, (size_t)cap), 0);
		}
	}
	free(m);
	free(d);
}

/* Spot checks of the wire bytes against libcontrol/proto.h. */
static void test_wire_layout(void **state)
{
	static const uint8_t want[] = {
		0x4e, 0x43, 0x01, 0x00, 0x00, 0x06, 0x00, 0x00, /* NC v1, RELEASE */
		0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x2a, /* length 36, id 42 */
		0x80, 0x02, 0x00, 0x08, 0x11, 0x22, 0x33, 0x44, /* EPOCH */
		0x55, 0x66, 0x77, 0x88,
		0x80, 0x10, 0x00, 0x04, 0x00, 0x00, 0x00, 0x2a, /* BINDING_ID 42 */
	};
	struct nc_release rel = {.epoch = 0x1122334455667788ull, .id = 42};
	uint8_t buf[64];

	(void)state;
	assert_int_equal(nc_encode(buf, sizeof(buf), NC_MSG_RELEASE, 42, &rel), 36);
	assert_memory_equal(buf, want, 36);
}

/* ---- decoding errors, one class each ---- */

static void test_err_short(void **state)
{
	struct raw r;
	struct nc_msg *m = new_msg();

	(void)state;
	raw_hdr(&r, NC_MSG_CAPS, 1);
	raw_fin(&r);
	assert_int_equal(decode_exact(r.b, NC_HDR_LEN, m), 0);
	assert_int_equal(decode_exact(r.b, NC_HDR_LEN - 1, m), NC_E_SHORT);
	assert_int_equal(decode_exact(r.b, 0, m), NC_E_SHORT);
	/* The header promises more than there is. */
	raw_bind(&r, NC_DIR_TERM);
	raw_fin(&r);
	assert_int_equal(decode_exact(r.b, r.n - 1, m), NC_E_SHORT);
	free(m);
}

static void test_err_magic(void **state)
{
	struct raw r;

	(void)state;
	raw_hdr(&r, NC_MSG_CAPS, 1);
	r.b[1] = 'X';
	assert_int_equal(raw_decode(&r), NC_E_MAGIC);
	assert_int_equal(nc_frame(r.b, 2), NC_E_MAGIC);
	assert_int_equal(nc_frame("GET / HTTP/1.0\r\n", 1), NC_E_MAGIC);
}

static void test_err_version(void **state)
{
	struct raw r;
	struct nc_hdr h;

	(void)state;
	raw_hdr(&r, NC_MSG_CAPS, 77);
	r.b[2] = 2;
	raw_fin(&r);
	/* Framing does not look at the version, so the server can answer. */
	assert_int_equal(nc_frame(r.b, r.n), (int)r.n);
	assert_int_equal(nc_header(r.b, r.n, &h), 0);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.reqid, 77);
	assert_int_equal(raw_decode(&r), NC_E_VERSION);
	assert_int_equal(nc_err_status(NC_E_VERSION), NC_ST_UNSUPPORTED);
}

static void test_err_header(void **state)
{
	struct raw r;

	(void)state;
	raw_hdr(&r, NC_MSG_CAPS, 1);
	r.b[3] = 0x01; /* flags */
	assert_int_equal(raw_decode(&r), NC_E_HEADER);
	raw_hdr(&r, NC_MSG_CAPS, 1);
	r.b[7] = 0x01; /* reserved */
	assert_int_equal(raw_decode(&r), NC_E_HEADER);
}

static void test_err_length(void **state)
{
	struct raw r;
	struct nc_msg *m = new_msg();

	(void)state;
	raw_hdr(&r, NC_MSG_CAPS, 1);
	put32(r.b + 8, NC_HDR_LEN - 1);
	assert_int_equal(decode_exact(r.b, NC_HDR_LEN, m), NC_E_LENGTH);
	assert_int_equal(nc_frame(r.b, 12), NC_E_LENGTH);
	put32(r.b + 8, NC_MSG_MAX + 1);
	assert_int_equal(decode_exact(r.b, NC_HDR_LEN, m), NC_E_LENGTH);
	assert_int_equal(nc_frame(r.b, 12), NC_E_LENGTH);
	put32(r.b + 8, UINT32_MAX);
	assert_int_equal(nc_frame(r.b, 12), NC_E_LENGTH);
	free(m);
}

static void test_err_trailing(void **state)
{
	struct raw r;
	struct nc_msg *m = new_msg();

	(void)state;
	/* One byte after the message. */
	raw_hdr(&r, NC_MSG_CAPS, 1);
	raw_fin(&r);
	r.b[r.n] = 0;
	assert_int_equal(decode_exact(r.b, r.n + 1, m), NC_E_TRAILING);
	/* Three bytes after the last TLV, inside the message. */
	raw_bind(&r, NC_DIR_TERM);
	raw_bytes(&r, "\x80\x1d\x00", 3);
	assert_int_equal(raw_decode(&r), NC_E_TRAILING);
	free(m);
}

static void test_err_type(void **state)
{
	struct raw r;

	(void)state;
	raw_hdr(&r, 0x0042, 1);
	assert_int_equal(raw_decode(&r), NC_E_TYPE);
	raw_hdr(&r, NC_MSG_PART | NC_MSG_HELLO, 1);
	assert_int_equal(raw_decode(&r), NC_E_TYPE);
	raw_hdr(&r, 0, 1);
	assert_int_equal(raw_decode(&r), NC_E_TYPE);
	assert_int_equal(nc_err_status(NC_E_TYPE), NC_ST_UNSUPPORTED);
}

static void test_err_reqid(void **state)
{
	struct raw r;

	(void)state;
	raw_hdr(&r, NC_MSG_CAPS, 0);
	assert_int_equal(raw_decode(&r), NC_E_REQID);
	raw_reply(&r, NC_MSG_LIST_R, NC_ST_NOT_FOUND);
	put32(r.b + 12, 0);
	assert_int_equal(raw_decode(&r), NC_E_REQID);
	/* ERROR may have no request to refer to. */
	raw_reply(&r, NC_MSG_ERROR, NC_ST_BAD_REQUEST);
	put32(r.b + 12, 0);
	assert_int_equal(raw_decode(&r), 0);
}

static void test_err_truncated(void **state)
{
	struct raw r;

	(void)state;
	raw_bind(&r, NC_DIR_TERM);
	raw_u32(&r, NC_T_LIFETIME, 60);
	r.n -= 1; /* the value's last byte is missing */
	assert_int_equal(raw_decode(&r), NC_E_TRUNCATED);
	raw_hdr(&r, NC_MSG_HELLO, 1);
	raw_bytes(&r, "\x00\x01\xff\xff" "abc", 7); /* NAME claiming 65535 bytes */
	assert_int_equal(raw_decode(&r), NC_E_TRUNCATED);
}

static void test_err_order(void **state)
{
	struct raw r;

	(void)state;
	raw_hdr(&r, NC_MSG_BIND, 1);
	raw_u8(&r, NC_T_PROTO, NC_PROTO_UDP);
	raw_u8(&r, NC_T_DIRECTION, NC_DIR_TERM);
	raw_str(&r, NC_T_IN_REALM, "inside");
	raw_str(&r, NC_T_EXT_REALM, "outside");
	raw_ep4(&r, NC_T_ENDPOINT, IP(10, 1, 0, 10), 5000);
	assert_int_equal(raw_decode(&r), NC_E_ORDER);
	/* Unknown TLVs are ordered too. */
	raw_bind(&r, NC_DIR_TERM);
	raw_u8(&r, 0x3000, 1);
	assert_int_equal(raw_decode(&r), NC_E_ORDER);
}

static void test_err_duplicate(void **state)
{
	struct raw r;

	(void)state;
	raw_bind(&r, NC_DIR_TERM);
	raw_u32(&r, NC_T_LIFETIME, 60);
	raw_u32(&r, NC_T_LIFETIME, 60);
	assert_int_equal(raw_decode(&r), NC_E_DUPLICATE);
	/* Repeatable ones may repeat. */
	raw_bind(&r, NC_DIR_TERM);
	raw_match4(&r, NC_T_FILTER, IP(192, 0, 2, 0), 24, 0, 65535);
	raw_match4(&r, NC_T_FILTER, IP(192, 0, 2, 0), 24, 0, 65535);
	assert_int_equal(raw_decode(&r), 0);
}

static void test_err_critical(void **state)
{
	struct raw r;

	(void)state;
	raw_bind(&r, NC_DIR_TERM);
	raw_u32(&r, 0xbeef, 1);
	assert_int_equal(raw_decode(&r), NC_E_CRITICAL);
	assert_int_equal(nc_err_status(NC_E_CRITICAL), NC_ST_UNSUPPORTED);
}

/* The other side of criticality: unknown optional TLVs are skipped and
 * counted; the known content still decodes. */
static void test_skip_unknown(void **state)
{
	struct raw r;
	struct nc_msg *m = new_msg(), *want = new_msg();

	(void)state;
	raw_hdr(&r, NC_MSG_HELLO, 1000 + 0);
	raw_str(&r, NC_T_NAME, "sipproxy/0.1");
	raw_tlv(&r, 0x0100, "future", 6);
	raw_tlv(&r, 0x0100, "", 0);
	raw_tlv(&r, 0x7fff, "x", 1);
	raw_fin(&r);
	assert_int_equal(decode_exact(r.b, r.n, m), 0);
	assert_int_equal(m->skipped, 3);
	assert_int_equal(fx_by_name("hello", want), 0);
	m->skipped = 0;
	assert_memory_equal(m, want, sizeof(*m));
	free(m);
	free(want);
}

static void test_err_misplaced(void **state)
{
	struct raw r;

	(void)state;
	raw_bind(&r, NC_DIR_TERM);
	raw_u32(&r, NC_T_COUNT, 1);
	assert_int_equal(raw_decode(&r), NC_E_MISPLACED);
	raw_hdr(&r, NC_MSG_CAPS, 1);
	raw_str(&r, NC_T_REASON, "x");
	assert_int_equal(raw_decode(&r), NC_E_MISPLACED);
	/* A result in a failure reply. */
	raw_reply(&r, NC_MSG_BIND_R, NC_ST_EXHAUSTED);
	raw_u32(&r, NC_T_BINDING_ID, 3);
	assert_int_equal(raw_decode(&r), NC_E_MISPLACED);
	raw_hdr(&r, NC_MSG_HELLO_R, 7);
	raw_str(&r, NC_T_NAME, "natd");
	raw_u16(&r, NC_T_STATUS, NC_ST_INTERNAL);
	raw_u64(&r, NC_T_EPOCH, 1);
	assert_int_equal(raw_decode(&r), NC_E_MISPLACED);
}

static void test_err_missing(void **state)
{
	struct raw r;

	(void)state;
	raw_hdr(&r, NC_MSG_BIND, 1);
	raw_u8(&r, NC_T_DIRECTION, NC_DIR_TERM);
	raw_u8(&r, NC_T_PROTO, NC_PROTO_UDP);
	raw_str(&r, NC_T_IN_REALM, "inside");
	raw_str(&r, NC_T_EXT_REALM, "outside");
	assert_int_equal(raw_decode(&r), NC_E_MISSING); /* no ENDPOINT */
	raw_reply(&r, NC_MSG_BIND_R, NC_ST_OK);
	raw_u32(&r, NC_T_BINDING_ID, 3);
	raw_u32(&r, NC_T_LIFETIME, 60);
	assert_int_equal(raw_decode(&r), NC_E_MISSING); /* OK without ALLOC */
	raw_hdr(&r, NC_MSG_RELEASE_R, 1);
	raw_u16(&r, NC_T_STATUS, NC_ST_OK);
	assert_int_equal(raw_decode(&r), NC_E_MISSING); /* no EPOCH */
	/* A failure reply needs no results. */
	raw_reply(&r, NC_MSG_BIND_R, NC_ST_CONFLICT);
	assert_int_equal(raw_decode(&r), 0);
}

static void test_err_toomany(void **state)
{
	struct raw r;
	unsigned i;

	(void)state;
	raw_bind(&r, NC_DIR_TERM);
	for (i = 0; i <= NC_FILTER_MAX; i++)
		raw_match4(&r, NC_T_FILTER, IP(192, 0, 2, i), 32, 0, 65535);
	assert_int_equal(raw_decode(&r), NC_E_TOOMANY);
	raw_reply(&r, NC_MSG_STATS_R, NC_ST_OK);
	for (i = 0; i <= NC_STATS_MAX; i++) {
		uint8_t v[8 + 4] = {0, 0, 0, 0, 0, 0, 0, 1, 's', 't', 'a', 0};

		raw_tlv(&r, NC_T_STAT, v, sizeof(v));
	}
	assert_int_equal(raw_decode(&r), NC_E_TOOMANY);
}

static void test_err_badlen(void **state)
{
	static const uint8_t ep9[9] = {NC_AF_IP4, 0, 0x13, 0x88, 10, 1, 0, 10, 0};
	struct raw r;

	(void)state;
	raw_hdr(&r, NC_MSG_BIND, 1);
	raw_tlv(&r, NC_T_DIRECTION, "\x00\x01", 2);
	assert_int_equal(raw_decode(&r), NC_E_BADLEN);
	raw_hdr(&r, NC_MSG_BIND, 1);
	raw_u8(&r, NC_T_DIRECTION, NC_DIR_TERM);
	raw_u8(&r, NC_T_PROTO, NC_PROTO_UDP);
	raw_str(&r, NC_T_IN_REALM, "inside");
	raw_str(&r, NC_T_EXT_REALM, "outside");
	raw_tlv(&r, NC_T_ENDPOINT, ep9, sizeof(ep9));
	assert_int_equal(raw_decode(&r), NC_E_BADLEN);
	raw_bind(&r, NC_DIR_TERM);
	raw_tlv(&r, NC_T_RTP_PAIR, "\x01", 1); /* a flag with a value */
	assert_int_equal(raw_decode(&r), NC_E_BADLEN);
	raw_hdr(&r, NC_MSG_AUTH, 1);
	raw_tlv(&r, NC_T_AUTH_NONCE, ep9, 0);
	assert_int_equal(raw_decode(&r), NC_E_BADLEN);
	raw_reply(&r, NC_MSG_CAPS_R, NC_ST_OK);
	raw_tlv(&r, NC_T_CAP_MSGS, "\x00\x01\x00", 3);
	assert_int_equal(raw_decode(&r), NC_E_BADLEN);
}

static void test_err_oversize(void **state)
{
	char name[NC_NAME_MAX + 2], text[NC_TEXT_MAX + 2];
	uint8_t list[2 * NC_CAP_MAX + 2] = {0};
	struct raw r;

	(void)state;
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0; /* 64 characters */
	raw_hdr(&r, NC_MSG_BIND, 1);
	raw_u8(&r, NC_T_DIRECTION, NC_DIR_TERM);
	raw_u8(&r, NC_T_PROTO, NC_PROTO_UDP);
	raw_str(&r, NC_T_IN_REALM, name);
	assert_int_equal(raw_decode(&r), NC_E_OVERSIZE);
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = 0; /* 256 bytes */
	raw_hdr(&r, NC_MSG_HELLO, 1);
	raw_str(&r, NC_T_NAME, text);
	assert_int_equal(raw_decode(&r), NC_E_OVERSIZE);
	raw_reply(&r, NC_MSG_CAPS_R, NC_ST_OK);
	raw_tlv(&r, NC_T_CAP_MSGS, list, sizeof(list));
	assert_int_equal(raw_decode(&r), NC_E_OVERSIZE);
	/* The limits themselves are fine. */
	text[NC_TEXT_MAX] = 0;
	raw_hdr(&r, NC_MSG_HELLO, 1);
	raw_str(&r, NC_T_NAME, text);
	assert_int_equal(raw_decode(&r), 0);
}

static void test_err_unterminated(void **state)
{
	struct raw r;

	(void)state;
	raw_hdr(&r, NC_MSG_HELLO, 1);
	raw_tlv(&r, NC_T_NAME, "natctl", 6);
	assert_int_equal(raw_decode(&r), NC_E_UNTERMINATED);
	raw_hdr(&r, NC_MSG_HELLO, 1);
	raw_tlv(&r, NC_T_NAME, "", 0);
	assert_int_equal(raw_decode(&r), NC_E_UNTERMINATED);
}

static void test_err_string(void **state)
{
	static const struct {
		const char *s;
		size_t n; /* with the NUL */
		bool name;
	} bad[] = {
		{"", 1, false},             /* empty */
		{"ab\0cd", 6, false},       /* embedded NUL */
		{"line\n", 6, false},       /* control character */
		{"del\x7f", 5, false},      /* DEL */
		{"\xc0\x80", 3, false},     /* overlong NUL */
		{"\xe0\x80\xaf", 4, false}, /* overlong '/' */
		{"\xed\xa0\x80", 4, false}, /* surrogate U+D800 */
		{"\xe2\x82", 3, false},     /* cut sequence */
		{"\xf5\x80\x80\x80", 5, false}, /* above U+10FFFF */
		{"\xf4\x90\x80\x80", 5, false}, /* U+110000 */
		{"\xc2\x85", 3, false},     /* C1 control NEL */
		{"\x80", 2, false},         /* lone continuation */
		{"in side", 8, true},       /* space in a name */
		{"r\xc3\xa9seau", 8, true}, /* non-ASCII in a name */
		{"a/b", 4, true},
	};
	struct raw r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (bad[i].name) {
			raw_hdr(&r, NC_MSG_BIND, 1);
			raw_u8(&r, NC_T_DIRECTION, NC_DIR_TERM);
			raw_u8(&r, NC_T_PROTO, NC_PROTO_UDP);
			raw_tlv(&r, NC_T_IN_REALM, bad[i].s, bad[i].n);
		} else {
			raw_hdr(&r, NC_MSG_HELLO, 1);
			raw_tlv(&r, NC_T_NAME, bad[i].s, bad[i].n);
		}
		if (raw_decode(&r) != NC_E_STRING)
			fail_msg("bad string %zu accepted or wrong error", i);
	}
	/* Valid multi-byte text, including 4-byte sequences. */
	raw_hdr(&r, NC_MSG_HELLO, 1);
	raw_str(&r, NC_T_NAME, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e \xf4\x8f\xbf\xbf");
	assert_int_equal(raw_decode(&r), 0);
}

static void test_err_range(void **state)
{
	static const uint8_t ep_af3[8] = {3, 0, 0x13, 0x88, 10, 1, 0, 10};
	static const uint8_t ep_rsv[8] = {NC_AF_IP4, 1, 0x13, 0x88, 10, 1, 0, 10};
	static const uint8_t want_hostbits[6] = {NC_AF_IP4, 24, 198, 51, 100, 1};
	static const uint8_t want_plen33[6] = {NC_AF_IP4, 33, 198, 51, 100, 1};
	static const uint8_t range_rev[10] = {NC_AF_IP4, 0, 198, 51, 100, 20, 198, 51, 100, 10};
	static const uint8_t range_rsv[10] = {NC_AF_IP4, 1, 198, 51, 100, 10, 198, 51, 100, 20};
	struct raw r;

	(void)state;
	raw_bind(&r, 0);
	assert_int_equal(raw_decode(&r), NC_E_RANGE); /* DIRECTION 0 */
	raw_bind(&r, 4);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	raw_hdr(&r, NC_MSG_BIND, 1);
	raw_u8(&r, NC_T_DIRECTION, NC_DIR_TERM);
	raw_u8(&r, NC_T_PROTO, 2);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	/* ICMP exists (LIST_ITEM) but cannot be requested. */
	raw_hdr(&r, NC_MSG_BIND, 1);
	raw_u8(&r, NC_T_DIRECTION, NC_DIR_TERM);
	raw_u8(&r, NC_T_PROTO, NC_PROTO_ICMP);
	raw_str(&r, NC_T_IN_REALM, "inside");
	raw_str(&r, NC_T_EXT_REALM, "outside");
	raw_ep4(&r, NC_T_ENDPOINT, IP(10, 1, 0, 10), 5000);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	/* Port 0, unknown family, reserved byte. */
	raw_hdr(&r, NC_MSG_BIND, 1);
	raw_u8(&r, NC_T_DIRECTION, NC_DIR_TERM);
	raw_u8(&r, NC_T_PROTO, NC_PROTO_UDP);
	raw_str(&r, NC_T_IN_REALM, "inside");
	raw_str(&r, NC_T_EXT_REALM, "outside");
	raw_ep4(&r, NC_T_ENDPOINT, IP(10, 1, 0, 10), 0);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	r.n -= 12;
	raw_tlv(&r, NC_T_ENDPOINT, ep_af3, sizeof(ep_af3));
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	r.n -= 12;
	raw_tlv(&r, NC_T_ENDPOINT, ep_rsv, sizeof(ep_rsv));
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	/* Prefixes and ranges. */
	raw_bind(&r, NC_DIR_TERM);
	raw_tlv(&r, NC_T_WANT_ADDR, want_hostbits, sizeof(want_hostbits));
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	raw_bind(&r, NC_DIR_TERM);
	raw_tlv(&r, NC_T_WANT_ADDR, want_plen33, sizeof(want_plen33));
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	raw_bind(&r, NC_DIR_TERM);
	raw_tlv(&r, NC_T_WANT_RANGE, range_rev, sizeof(range_rev));
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	raw_bind(&r, NC_DIR_TERM);
	raw_tlv(&r, NC_T_WANT_RANGE, range_rsv, sizeof(range_rsv));
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	raw_bind(&r, NC_DIR_TERM);
	raw_match4(&r, NC_T_FILTER, IP(192, 0, 2, 0), 24, 2000, 1000);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	raw_bind(&r, NC_DIR_TERM);
	raw_match4(&r, NC_T_FILTER, IP(192, 0, 2, 1), 24, 0, 65535);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	/* Integers with a floor or a ceiling. */
	raw_bind(&r, NC_DIR_TERM);
	raw_u16(&r, NC_T_WANT_PORT, 0);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	raw_bind(&r, NC_DIR_TERM);
	raw_u32(&r, NC_T_LIFETIME, 0);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	raw_bind(&r, NC_DIR_TERM);
	raw_u32(&r, NC_T_LIFETIME, NC_LIFETIME_MAX + 1);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	raw_reply(&r, NC_MSG_RELEASE_R, NC_ST_MAX + 1);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	raw_hdr(&r, NC_MSG_RELEASE, 1);
	raw_u64(&r, NC_T_EPOCH, 0);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	raw_hdr(&r, NC_MSG_LIST, 1);
	raw_u8(&r, NC_T_KIND, 4);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	raw_hdr(&r, NC_MSG_WATCH, 1);
	raw_u32(&r, NC_T_EVENT_MASK, 0x10);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
	/* ERROR cannot say OK. */
	raw_reply(&r, NC_MSG_ERROR, NC_ST_OK);
	assert_int_equal(raw_decode(&r), NC_E_RANGE);
}

static void test_err_inconsistent(void **state)
{
	static const uint8_t want[6] = {NC_AF_IP4, 32, 198, 51, 100, 1};
	static const uint8_t range[10] = {NC_AF_IP4, 0, 198, 51, 100, 1, 198, 51, 100, 2};
	struct raw r;

	(void)state;
	raw_bind(&r, NC_DIR_TERM);
	raw_u16(&r, NC_T_WANT_PORT, 30001);
	raw_tlv(&r, NC_T_RTP_PAIR, NULL, 0);
	assert_int_equal(raw_decode(&r), NC_E_INCONSISTENT);
	raw_bind(&r, NC_DIR_TERM);
	raw_tlv(&r, NC_T_WANT_ADDR, want, sizeof(want));
	raw_tlv(&r, NC_T_WANT_RANGE, range, sizeof(range));
	assert_int_equal(raw_decode(&r), NC_E_INCONSISTENT);
	raw_bind(&r, NC_DIR_ORIG);
	raw_match4(&r, NC_T_FILTER, IP(192, 0, 2, 0), 24, 0, 65535);
	assert_int_equal(raw_decode(&r), NC_E_INCONSISTENT);
	raw_bind(&r, NC_DIR_TERM);
	raw_match4(&r, NC_T_PEER, IP(192, 0, 2, 0), 24, 0, 65535);
	assert_int_equal(raw_decode(&r), NC_E_INCONSISTENT);
	raw_bind(&r, NC_DIR_TERM);
	raw_tlv(&r, NC_T_DROP_DEFAULT, NULL, 0);
	assert_int_equal(raw_decode(&r), NC_E_INCONSISTENT);
	/* The consistent versions pass. */
	raw_bind(&r, NC_DIR_TERM);
	raw_u16(&r, NC_T_WANT_PORT, 30000);
	raw_tlv(&r, NC_T_RTP_PAIR, NULL, 0);
	assert_int_equal(raw_decode(&r), 0);
	raw_bind(&r, NC_DIR_BOTH);
	raw_match4(&r, NC_T_PEER, IP(192, 0, 2, 0), 24, 0, 65535);
	raw_match4(&r, NC_T_FILTER, IP(192, 0, 2, 0), 24, 0, 65535);
	assert_int_equal(raw_decode(&r), 0);
}

/* ---- encoder refusals ---- */

static void test_encode_errors(void **state)
{
	struct nc_msg *m = new_msg();
	uint8_t buf[NC_MSG_MAX];

	(void)state;
	assert_int_equal(fx_by_name("bind_full", m), 0);
	assert_int_equal(nc_encode(NULL, 10, NC_MSG_BIND, 1, &m->u.bind), NC_E_INVAL);
	assert_int_equal(nc_encode(buf, sizeof(buf), NC_MSG_BIND, 1, NULL), NC_E_INVAL);
	assert_int_equal(nc_encode(buf, sizeof(buf), 0x0042, 1, &m->u.bind), NC_E_TYPE);
	assert_int_equal(nc_encode(buf, sizeof(buf), NC_MSG_BIND, 0, &m->u.bind), NC_E_REQID);
	assert_int_equal(nc_encode_msg(buf, sizeof(buf), NULL), NC_E_INVAL);
	/* Bodyless requests need no body. */
	assert_int_equal(nc_encode(buf, sizeof(buf), NC_MSG_CAPS, 1, NULL), NC_HDR_LEN);

#define EXPECT(field_change, err)                                                   \
	do {                                                                            \
		assert_int_equal(fx_by_name("bind_full", m), 0);                         \
		field_change;                                                           \
		assert_int_equal(nc_encode_msg(buf, sizeof(buf), m), err);               \
	} while (0)
	EXPECT(m->u.bind.spec.in_realm[0] = 0, NC_E_MISSING);
	EXPECT(m->u.bind.spec.dir = 0, NC_E_MISSING);
	EXPECT(m->u.bind.spec.ep.ip.af = 0, NC_E_MISSING);
	EXPECT(m->u.bind.spec.dir = 9, NC_E_RANGE);
	EXPECT(m->u.bind.spec.proto = NC_PROTO_ICMP, NC_E_RANGE);
	EXPECT(m->u.bind.spec.ep.port = 0, NC_E_RANGE);
	EXPECT(m->u.bind.spec.ep.ip.af = 7, NC_E_RANGE);
	EXPECT(m->u.bind.lifetime = NC_LIFETIME_MAX + 1, NC_E_RANGE);
	EXPECT(m->u.bind.want_plen = 20, NC_E_RANGE);
	EXPECT(m->u.bind.want = 7, NC_E_RANGE);
	EXPECT((m->u.bind.spec.filters[1].port_lo = 2, m->u.bind.spec.filters[1].port_hi = 1),
	       NC_E_RANGE);
	EXPECT(m->u.bind.spec.targets[0].to.port = 0, NC_E_RANGE);
	EXPECT(strcpy(m->u.bind.spec.ext_realm, "bad name"), NC_E_STRING);
	EXPECT(strcpy(m->u.bind.spec.label, "tab\there"), NC_E_STRING);
	EXPECT(memset(m->u.bind.spec.label, 'x', sizeof(m->u.bind.spec.label)),
	       NC_E_UNTERMINATED);
	EXPECT(m->u.bind.spec.nfilters = NC_FILTER_MAX + 1, NC_E_TOOMANY);
	EXPECT(m->u.bind.want_port = 30001, NC_E_INCONSISTENT);
	EXPECT(m->u.bind.spec.dir = NC_DIR_ORIG, NC_E_INCONSISTENT);
	EXPECT(m->u.bind.spec.ntargets = 0, NC_E_INCONSISTENT);
#undef EXPECT

	/* Results are not sent with a failure, and are required with OK. */
	assert_int_equal(fx_by_name("bind_r", m), 0);
	m->u.bind_r.st.code = NC_ST_CONFLICT;
	assert_int_equal(nc_encode_msg(buf, sizeof(buf), m), NC_HDR_LEN + 6 + 12);
	m->u.bind_r.st.code = NC_ST_OK;
	m->u.bind_r.id = 0;
	assert_int_equal(nc_encode_msg(buf, sizeof(buf), m), NC_E_MISSING);
	assert_int_equal(fx_by_name("error", m), 0);
	m->u.status.code = NC_ST_OK;
	assert_int_equal(nc_encode_msg(buf, sizeof(buf), m), NC_E_RANGE);
	assert_int_equal(fx_by_name("stats_r", m), 0);
	m->u.stats_r.n = NC_STATS_MAX + 1;
	assert_int_equal(nc_encode_msg(buf, sizeof(buf), m), NC_E_TOOMANY);
	assert_int_equal(fx_by_name("caps_r", m), 0);
	m->u.caps_r.nmsgs = NC_CAP_MAX + 1;
	assert_int_equal(nc_encode_msg(buf, sizeof(buf), m), NC_E_OVERSIZE);
	m->u.caps_r.nmsgs = 0;
	assert_int_equal(nc_encode_msg(buf, sizeof(buf), m), NC_E_MISSING);
	free(m);
}

/* ---- framing ---- */

/* Encoded fixtures back to back (only those shorter than maxlen). */
struct stream {
	uint8_t *b;
	size_t n;
	unsigned count;
	unsigned idx[64]; /* fixture of each message */
	size_t off[64], len[64];
};

static void build_stream(struct stream *s, size_t maxlen)
{
	struct nc_msg *m = new_msg();
	unsigned i;

	assert_true(fx_count() <= 64);
	s->b = malloc((size_t)fx_count() * NC_MSG_MAX);
	assert_non_null(s->b);
	s->n = 0;
	s->count = 0;
	for (i = 0; i < fx_count(); i++) {
		int n;

		fx_build(i, m);
		n = nc_encode_msg(s->b + s->n, NC_MSG_MAX, m);
		assert_true(n > 0);
		if ((size_t)n > maxlen)
			continue;
		s->idx[s->count] = i;
		s->off[s->count] = s->n;
		s->len[s->count++] = (size_t)n;
		s->n += (size_t)n;
	}
	free(m);
}

/* A receiver: bytes are appended, whole messages cut out with nc_frame()
 * and compared with the stream's messages in order; with decode set, each
 * is also decoded and compared with its fixture. */
struct rx {
	uint8_t buf[2 * NC_MSG_MAX];
	size_t have;
	unsigned next;
	bool decode;
	const struct stream *s;
	struct nc_msg *m, *want;
};

static void rx_feed(struct rx *rx, const uint8_t *p, size_t n)
{
	int len;

	assert_true(rx->have + n <= sizeof(rx->buf));
	memcpy(rx->buf + rx->have, p, n);
	rx->have += n;
	while ((len = nc_frame(rx->buf, rx->have)) > 0) {
		assert_true(rx->next < rx->s->count);
		assert_int_equal((size_t)len, rx->s->len[rx->next]);
		assert_memory_equal(rx->buf, rx->s->b + rx->s->off[rx->next], (size_t)len);
		if (rx->decode) {
			assert_int_equal(decode_exact(rx->buf, (size_t)len, rx->m), 0);
			fx_build(rx->s->idx[rx->next], rx->want);
			assert_memory_equal(rx->m, rx->want, sizeof(*rx->m));
		}
		rx->next++;
		memmove(rx->buf, rx->buf + len, rx->have - (size_t)len);
		rx->have -= (size_t)len;
	}
	assert_int_equal(len, 0);
}

static struct rx *rx_new(const struct stream *s, bool decode)
{
	struct rx *rx = calloc(1, sizeof(*rx));

	assert_non_null(rx);
	rx->s = s;
	rx->decode = decode;
	rx->m = new_msg();
	rx->want = new_msg();
	return rx;
}

static void rx_free(struct rx *rx)
{
	assert_int_equal(rx->next, rx->s->count);
	assert_int_equal(rx->have, 0);
	free(rx->m);
	free(rx->want);
	free(rx);
}

/* The stream of every fixture under 1 KiB, split in two at every offset. */
static void test_frame_every_split(void **state)
{
	struct stream s;
	struct rx *rx;
	size_t k;

	(void)state;
	build_stream(&s, 1024);
	assert_true(s.count >= 30);
	rx = rx_new(&s, false);
	for (k = 0; k <= s.n; k++) {
		rx->have = 0;
		rx->next = 0;
		rx_feed(rx, s.b, k);
		rx_feed(rx, s.b + k, s.n - k);
		assert_int_equal(rx->next, s.count);
	}
	rx_free(rx);
	free(s.b);
}

/* Every fixture, fed one byte at a time, then in random chunks. */
static void test_frame_bytewise_and_random(void **state)
{
	struct stream s;
	uint32_t seed = 12345;
	struct rx *rx;
	size_t k, step;
	unsigned round;

	(void)state;
	build_stream(&s, NC_MSG_MAX);
	assert_int_equal(s.count, fx_count());
	rx = rx_new(&s, true);
	for (k = 0; k < s.n; k++)
		rx_feed(rx, s.b + k, 1);
	rx_free(rx);
	for (round = 0; round < 50; round++) {
		rx = rx_new(&s, false);
		for (k = 0; k < s.n; k += step) {
			seed = seed * 1103515245u + 12345u;
			step = 1 + (seed >> 8) % 3000;
			if (step > s.n - k)
				step = s.n - k;
			rx_feed(rx, s.b + k, step);
		}
		rx_free(rx);
	}
	free(s.b);
}

static void test_frame_errors(void **state)
{
	uint8_t h[16] = {NC_MAGIC0, NC_MAGIC1, 1, 0, 0, 3, 0, 0, 0, 0, 0, 16, 0, 0, 0, 1};

	(void)state;
	assert_int_equal(nc_frame(h, 0), 0);
	assert_int_equal(nc_frame(h, 11), 0);
	assert_int_equal(nc_frame(h, 12), 0);
	assert_int_equal(nc_frame(h, 16), 16);
	h[0] = 'n';
	assert_int_equal(nc_frame(h, 1), NC_E_MAGIC);
	h[0] = NC_MAGIC0;
	h[11] = 15;
	assert_int_equal(nc_frame(h, 12), NC_E_LENGTH);
	assert_int_equal(nc_frame(NULL, 0), 0);
	assert_int_equal(nc_frame(NULL, 3), NC_E_INVAL);
}

/* ---- names ---- */

static void test_strings(void **state)
{
	int e, f;
	unsigned s;

	(void)state;
	for (e = NC_E_SHORT; e >= NC_E_TLS_FILES; e--) {
		assert_non_null(nc_strerror(e));
		assert_string_not_equal(nc_strerror(e), "unknown error");
		for (f = e - 1; f >= NC_E_TLS_FILES; f--)
			assert_string_not_equal(nc_strerror(e), nc_strerror(f));
	}
	assert_string_equal(nc_strerror(-EINVAL), "Invalid argument");
	assert_string_equal(nc_strerror(NC_E_TLS_FILES - 1), "unknown error");
	assert_string_equal(nc_strerror(0), "success");
	for (s = 0; s <= NC_ST_MAX; s++)
		assert_string_not_equal(nc_status_str((uint16_t)s), "?");
	assert_string_equal(nc_status_str(NC_ST_EXHAUSTED), "EXHAUSTED");
	assert_string_equal(nc_status_str(NC_ST_MAX + 1), "?");
	assert_int_equal(nc_err_status(NC_E_STRING), NC_ST_BAD_REQUEST);
	assert_string_equal(nc_msg_name(NC_MSG_LIST_ITEM), "LIST_ITEM");
	assert_string_equal(nc_msg_name(NC_MSG_ERROR), "ERROR");
	assert_null(nc_msg_name(0x1234));
	assert_true(nc_msg_is_request(NC_MSG_BIND));
	assert_false(nc_msg_is_request(NC_MSG_BIND_R));
	assert_false(nc_msg_is_request(NC_MSG_EVENT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all),
		cmocka_unit_test(test_fixtures_cover_everything),
		cmocka_unit_test(test_nospace_and_prefixes),
		cmocka_unit_test(test_wire_layout),
		cmocka_unit_test(test_err_short),
		cmocka_unit_test(test_err_magic),
		cmocka_unit_test(test_err_version),
		cmocka_unit_test(test_err_header),
		cmocka_unit_test(test_err_length),
		cmocka_unit_test(test_err_trailing),
		cmocka_unit_test(test_err_type),
		cmocka_unit_test(test_err_reqid),
		cmocka_unit_test(test_err_truncated),
		cmocka_unit_test(test_err_order),
		cmocka_unit_test(test_err_duplicate),
		cmocka_unit_test(test_err_critical),
		cmocka_unit_test(test_skip_unknown),
		cmocka_unit_test(test_err_misplaced),
		cmocka_unit_test(test_err_missing),
		cmocka_unit_test(test_err_toomany),
		cmocka_unit_test(test_err_badlen),
		cmocka_unit_test(test_err_oversize),
		cmocka_unit_test(test_err_unterminated),
		cmocka_unit_test(test_err_string),
		cmocka_unit_test(test_err_range),
		cmocka_unit_test(test_err_inconsistent),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_frame_every_split),
		cmocka_unit_test(test_frame_bytewise_and_random),
		cmocka_unit_test(test_frame_errors),
		cmocka_unit_test(test_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
