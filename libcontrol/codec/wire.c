/* wire: byte-level pieces of the control-channel codec. See wire.h. */
#include <string.h>

#include "wire.h"

void nc_wr_init(struct nc_wr *w, void *buf, size_t cap)
{
	w->p = buf;
	w->cap = cap < NC_MSG_MAX ? cap : NC_MSG_MAX;
	w->len = 0;
	w->err = 0;
}

void nc_wr_bytes(struct nc_wr *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (n > w->cap - w->len) {
		/* Past 64 KiB the message itself is too big; before, the
		 * caller's buffer is. */
		w->err = w->cap == NC_MSG_MAX ? NC_E_OVERSIZE : NC_E_NOSPACE;
		return;
	}
	if (n)
		memcpy(w->p + w->len, p, n);
	w->len += n;
}

void nc_wr_u8(struct nc_wr *w, uint8_t v)
{
	nc_wr_bytes(w, &v, 1);
}

void nc_wr_u16(struct nc_wr *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	nc_wr_bytes(w, b, sizeof(b));
}

void nc_wr_u32(struct nc_wr *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	nc_wr_bytes(w, b, sizeof(b));
}

void nc_wr_u64(struct nc_wr *w, uint64_t v)
{
	nc_wr_u32(w, (uint32_t)(v >> 32));
	nc_wr_u32(w, (uint32_t)v);
}

size_t nc_wr_tlv_begin(struct nc_wr *w, uint16_t type)
{
	size_t off = w->len;

	nc_wr_u16(w, type);
	nc_wr_u16(w, 0);
	return off;
}

void nc_wr_tlv_end(struct nc_wr *w, size_t off)
{
	size_t n;

	if (w->err)
		return;
	n = w->len - off - 4;
	if (n > UINT16_MAX) {
		w->err = NC_E_OVERSIZE;
		return;
	}
	w->p[off + 2] = (uint8_t)(n >> 8);
	w->p[off + 3] = (uint8_t)n;
}

size_t nc_af_len(uint8_t af)
{
	return af == NC_AF_IP4 ? 4 : af == NC_AF_IP6 ? 16 : 0;
}

size_t nc_ep_len(uint8_t af)
{
	size_t a = nc_af_len(af);

	return a ? 4 + a : 0;
}

size_t nc_match_len(uint8_t af)
{
	size_t a = nc_af_len(af);

	return a ? 6 + a : 0;
}

/* ---- strings ---- */

static bool name_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* Length of the valid UTF-8 sequence at s[0..n) that is not a control
 * character (C0, DEL, C1), or 0. Shortest form only, no surrogates, no
 * code point above U+10FFFF (RFC 3629 section 4). */
static size_t utf8_char(const uint8_t *s, size_t n)
{
	uint8_t c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0x80)
		return c >= 0x20 && c != 0x7f ? 1 : 0;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (c == 0xc2 && s[1] < 0xa0)
		return 0; /* U+0080..U+009F: C1 controls */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

int nc_str_check(const uint8_t *s, size_t n, bool name)
{
	size_t i, k;

	if (n == 0)
		return NC_E_STRING;
	if (n > (name ? NC_NAME_MAX : NC_TEXT_MAX))
		return NC_E_OVERSIZE;
	for (i = 0; i < n; i += k) {
		if (name)
			k = name_char(s[i]) ? 1 : 0;
		else
			k = utf8_char(s + i, n - i);
		if (!k)
			return NC_E_STRING;
	}
	return 0;
}

int nc_get_str(const uint8_t *v, size_t len, bool name, char *dst)
{
	int err;

	if (len > (size_t)(name ? NC_NAME_MAX : NC_TEXT_MAX) + 1)
		return NC_E_OVERSIZE;
	if (len == 0 || v[len - 1] != 0)
		return NC_E_UNTERMINATED;
	if ((err = nc_str_check(v, len - 1, name)) < 0)
		return err;
	memcpy(dst, v, len);
	return 0;
}

int nc_put_str(struct nc_wr *w, uint16_t type, const char *src, size_t size, bool name)
{
	size_t n = strnlen(src, size), off;
	int err;

	if (n == size)
		return NC_E_UNTERMINATED; /* the field holds no NUL */
	if ((err = nc_str_check((const uint8_t *)src, n, name)) < 0)
		return err;
	off = nc_wr_tlv_begin(w, type);
	nc_wr_bytes(w, src, n + 1);
	nc_wr_tlv_end(w, off);
	return 0;
}

/* ---- addresses ---- */

int nc_ip_cmp(const struct nc_ip *a, const struct nc_ip *b)
{
	return memcmp(a->a, b->a, nc_af_len(a->af));
}

int nc_check_prefix(const struct nc_ip *ip, unsigned plen)
{
	unsigned alen = (unsigned)nc_af_len(ip->af), i;

	if (!alen || plen > alen * 8)
		return NC_E_RANGE;
	for (i = 0; i < alen; i++) {
		unsigned keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * i : 0;
		uint8_t host = (uint8_t)(0xffu >> keep);

		if (ip->a[i] & host)
			return NC_E_RANGE;
	}
	return 0;
}

int nc_get_ep(const uint8_t *v, size_t len, struct nc_ep *ep)
{
	size_t need;

	if (len < 1)
		return NC_E_BADLEN;
	if (!(need = nc_ep_len(v[0])))
		return NC_E_RANGE;
	if (len != need)
		return NC_E_BADLEN;
	if (v[1] != 0)
		return NC_E_RANGE;
	ep->ip.af = v[0];
	ep->port = nc_ld16(v + 2);
	memcpy(ep->ip.a, v + 4, need - 4);
	return 0;
}

int nc_check_ep(const struct nc_ep *ep)
{
	return nc_af_len(ep->ip.af) ? 0 : NC_E_RANGE;
}

void nc_put_ep(struct nc_wr *w, const struct nc_ep *ep)
{
	nc_wr_u8(w, ep->ip.af);
	nc_wr_u8(w, 0);
	nc_wr_u16(w, ep->port);
	nc_wr_bytes(w, ep->ip.a, nc_af_len(ep->ip.af));
}

int nc_get_match(const uint8_t *v, size_t len, struct nc_match *m)
{
	size_t need;

	if (len < 1)
		return NC_E_BADLEN;
	if (!(need = nc_match_len(v[0])))
		return NC_E_RANGE;
	if (len != need)
		return NC_E_BADLEN;
	m->ip.af = v[0];
	m->plen = v[1];
	m->port_lo = nc_ld16(v + 2);
	m->port_hi = nc_ld16(v + 4);
	memcpy(m->ip.a, v + 6, need - 6);
	return nc_check_match(m);
}

int nc_check_match(const struct nc_match *m)
{
	if (nc_check_prefix(&m->ip, m->plen) < 0 || m->port_lo > m->port_hi)
		return NC_E_RANGE;
	return 0;
}

void nc_put_match(struct nc_wr *w, const struct nc_match *m)
{
	nc_wr_u8(w, m->ip.af);
	nc_wr_u8(w, m->plen);
	nc_wr_u16(w, m->port_lo);
	nc_wr_u16(w, m->port_hi);
	nc_wr_bytes(w, m->ip.a, nc_af_len(m->ip.af));
}
