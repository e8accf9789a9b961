/* golden: annotated hex printing for tests/golden/. See golden.h.
 * Each TLV line's comment names the TLV and renders its value (strings,
 * numbers, addresses), so the files document the wire format by example. */
#include <arpa/inet.h>
#include <string.h>

#include <libcontrol/msg.h>

#include "golden.h"

/* Value renderings: s string, i integer, e ep, m match, t target,
 * w WANT_ADDR, r WANT_RANGE, f flag, S stat, c counters, l u16list,
 * x opaque bytes. */
#define T(x, f) {NC_T_##x, #x, f}
static const struct {
	uint16_t t;
	const char *name;
	char fmt;
} names[] = {
	T(NAME, 's'),        T(REASON, 's'),        T(LABEL, 's'),        T(OWNER, 's'),
	T(COUNTERS, 'c'),    T(STATUS, 'i'),        T(EPOCH, 'i'),        T(AUTH_NONCE, 'x'),
	T(AUTH_MAC, 'x'),    T(BINDING_ID, 'i'),    T(KIND, 'i'),         T(DIRECTION, 'i'),
	T(PROTO, 'i'),       T(IN_REALM, 's'),      T(EXT_REALM, 's'),    T(ENDPOINT, 'e'),
	T(ALLOC, 'e'),       T(WANT_ADDR, 'w'),     T(WANT_RANGE, 'r'),   T(WANT_PORT, 'i'),
	T(RTP_PAIR, 'f'),    T(PREFER_FAILURE, 'f'), T(LIFETIME, 'i'),    T(TRANSIT, 's'),
	T(PEER, 'm'),        T(FILTER, 'm'),        T(TARGET, 't'),       T(DROP_DEFAULT, 'f'),
	T(MINE, 'f'),        T(COUNT, 'i'),         T(STAT, 'S'),         T(CAP_MSGS, 'l'),
	T(CAP_TLVS, 'l'),    T(REALM, 's'),         T(LIFETIME_MAX, 'i'), T(QUOTA, 'i'),
	T(EVENT_TYPE, 'i'),  T(EVENT_MASK, 'i'),  T(LATCH, 'i'),
};

static int lookup(uint16_t t)
{
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			return (int)i;
	return -1;
}

const char *gd_tlv_name(uint16_t t)
{
	int i = lookup(t);

	return i < 0 ? NULL : names[i].name;
}

static uint32_t ld32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t ldn(const uint8_t *p, size_t n)
{
	uint64_t x = 0;

	while (n--)
		x = x << 8 | *p++;
	return x;
}

/* "a.b.c.d" or an IPv6 text form of the address of family af at p. */
static const char *addr(uint8_t af, const uint8_t *p, char *buf)
{
	if (!inet_ntop(af == NC_AF_IP6 ? AF_INET6 : AF_INET, p, buf, INET6_ADDRSTRLEN))
		return "?";
	return buf;
}

static size_t alen(uint8_t af)
{
	return af == NC_AF_IP4 ? 4 : af == NC_AF_IP6 ? 16 : 0;
}

/* Render a value into out (size n); leave it empty when unsure. */
static void render(char fmt, const uint8_t *v, size_t len, char *out, size_t n)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	size_t i, o, m;

	out[0] = 0;
	switch (fmt) {
	case 's':
		if (!len || v[len - 1])
			return;
		o = (size_t)snprintf(out, n, " \"");
		for (i = 0; i + 1 < len && o + 6 < n; i++)
			o += (size_t)snprintf(out + o, n - o,
					      v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"' ? "%c" : "\\x%02x",
					      v[i]);
		snprintf(out + o, n - o, "\"");
		return;
	case 'i':
		if (len == 1 || len == 2 || len == 4 || len == 8)
			snprintf(out, n, " %llu", (unsigned long long)ldn(v, len));
		return;
	case 'e':
		if (len >= 4 && len == 4 + alen(v[0]))
			snprintf(out, n, v[0] == NC_AF_IP6 ? " [%s]:%u" : " %s:%u", addr(v[0], v + 4, a),
				 (unsigned)(v[2] << 8 | v[3]));
		return;
	case 'm':
		if (len >= 6 && len == 6 + alen(v[0]))
			snprintf(out, n, " %s/%u ports %u-%u", addr(v[0], v + 6, a), v[1],
				 (unsigned)(v[2] << 8 | v[3]), (unsigned)(v[4] << 8 | v[5]));
		return;
	case 't':
		if (len < 6 || !alen(v[0]))
			return;
		m = 6 + alen(v[0]);
		if (len > m + 4 && len == m + 4 + alen(v[m]))
			snprintf(out, n, " from %s/%u ports %u-%u to %s:%u", addr(v[0], v + 6, a), v[1],
				 (unsigned)(v[2] << 8 | v[3]), (unsigned)(v[4] << 8 | v[5]),
				 addr(v[m], v + m + 4, b), (unsigned)(v[m + 2] << 8 | v[m + 3]));
		return;
	case 'w':
		if (len >= 2 && len == 2 + alen(v[0]))
			snprintf(out, n, " %s/%u", addr(v[0], v + 2, a), v[1]);
		return;
	case 'r':
		if (len >= 2 && len == 2 + 2 * alen(v[0]))
			snprintf(out, n, " %s - %s", addr(v[0], v + 2, a),
				 addr(v[0], v + 2 + alen(v[0]), b));
		return;
	case 'S':
		if (len > 9 && !v[len - 1])
			snprintf(out, n, " %.*s = %llu", (int)(len - 9), (const char *)v + 8,
				 (unsigned long long)ldn(v, 8));
		return;
	case 'c':
		if (len == 32)
			snprintf(out, n, " in %llu pkts %llu bytes, out %llu pkts %llu bytes",
				 (unsigned long long)ldn(v, 8), (unsigned long long)ldn(v + 8, 8),
				 (unsigned long long)ldn(v + 16, 8), (unsigned long long)ldn(v + 24, 8));
		return;
	case 'l':
		for (i = 0, o = 0; i + 1 < len && o + 8 < n; i += 2)
			o += (size_t)snprintf(out + o, n - o, " %04x", (unsigned)(v[i] << 8 | v[i + 1]));
		return;
	default:
		return;
	}
}

#define WRAP 16 /* value bytes per line */
#define COL 64  /* comment column */

static void pad_comment(FILE *f, size_t col, const char *text)
{
	fprintf(f, "%*s# %s\n", (int)(col < COL ? COL - col : 1), "", text);
}

void gd_print(FILE *f, const uint8_t *p, size_t n)
{
	size_t off = NC_HDR_LEN, i;
	const char *mname;
	char note[512];

	if (n < NC_HDR_LEN)
		return;
	mname = nc_msg_name((uint16_t)(p[4] << 8 | p[5]));
	fprintf(f, "%02x%02x %02x %02x %02x%02x %02x%02x %08x %08x", p[0], p[1], p[2], p[3],
		p[4], p[5], p[6], p[7], ld32(p + 8), ld32(p + 12));
	snprintf(note, sizeof(note), "NC v%u %s, length %u, request id %u", p[2],
		 mname ? mname : "?", ld32(p + 8), ld32(p + 12));
	pad_comment(f, 40, note);
	while (off + 4 <= n) {
		uint16_t t = (uint16_t)(p[off] << 8 | p[off + 1]);
		size_t len = (size_t)(p[off + 2] << 8 | p[off + 3]), col;
		int k = lookup(t);
		char val[400];

		if (len > n - off - 4)
			len = n - off - 4;
		render(k < 0 ? 'x' : names[k].fmt, p + off + 4, len, val, sizeof(val));
		snprintf(note, sizeof(note), "%s%s", k < 0 ? "(unknown)" : names[k].name, val);
		fprintf(f, "  %02x%02x %02x%02x", p[off], p[off + 1], p[off + 2], p[off + 3]);
		col = 11;
		for (i = 0; i < len; i++) {
			if (i && i % WRAP == 0) {
				if (i == WRAP)
					pad_comment(f, col, note);
				else
					fprintf(f, "\n");
				fprintf(f, "           ");
				col = 11;
			}
			fprintf(f, " %02x", p[off + 4 + i]);
			col += 3;
		}
		if (len <= WRAP)
			pad_comment(f, col, note);
		else
			fprintf(f, "\n");
		off += 4 + len;
	}
	if (off < n) {
		fprintf(f, "  ");
		for (; off < n; off++)
			fprintf(f, " %02x", p[off]);
		fprintf(f, "  # (trailing bytes)\n");
	}
}
