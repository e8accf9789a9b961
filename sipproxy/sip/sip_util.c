/* sip_util: the small vocabulary the pieces of the libosip2 adapter share
 * (see sip_priv.h): strict numbers and tokens, libosip2 generic parameter
 * lists, IP literals and host comparison, the Vias and headers of a parsed
 * message, random bytes in hex. Pure functions over their arguments; none
 * logs, and none keeps state.
 */
#include "sip_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

bool sip_span_ieq(const char *p, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)p[i]) != lower((unsigned char)lit[i]))
			return false;
	return true;
}

bool sip_str_is_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

/* Strict unsigned decimal of at most max, no sign, no blanks. */
bool sip_parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

bool sip_parse_port(const char *s, uint16_t *port)
{
	unsigned long v;

	if (!s || !sip_parse_uint(s, strlen(s), 65535, &v) || v == 0)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* Parameter value without surrounding quotes (some peers quote received). */
const char *sip_param_value(const osip_generic_param_t *p, char *buf, size_t len)
{
	size_t n;

	if (!p || !p->gvalue)
		return NULL;
	n = strlen(p->gvalue);
	if (n >= 2 && p->gvalue[0] == '"' && p->gvalue[n - 1] == '"') {
		if (n - 2 >= len)
			return NULL;
		memcpy(buf, p->gvalue + 1, n - 2);
		buf[n - 2] = '\0';
		return buf;
	}
	return p->gvalue;
}

osip_generic_param_t *sip_param_get(const osip_list_t *list, const char *name)
{
	osip_generic_param_t *p = NULL;

	if (osip_generic_param_get_byname((osip_list_t *)list, (char *)name, &p) != 0)
		return NULL;
	return p;
}

/* Set (or add) a parameter in a generic parameter list. */
int sip_param_set(osip_list_t *list, const char *name, const char *value)
{
	osip_generic_param_t *p = sip_param_get(list, name);
	char *n, *v = NULL;

	if (value && !(v = osip_strdup(value)))
		return -ENOMEM;
	if (p) {
		osip_free(p->gvalue);
		p->gvalue = v;
		return 0;
	}
	if (!(n = osip_strdup(name))) {
		osip_free(v);
		return -ENOMEM;
	}
	if (osip_generic_param_add(list, n, v) != 0) {
		osip_free(n);
		osip_free(v);
		return -ENOMEM;
	}
	return 0;
}

/* Replace a malloc'd libosip2 string. */
int sip_str_replace(char **dst, const char *value)
{
	char *v = osip_strdup(value);

	if (!v)
		return -ENOMEM;
	osip_free(*dst);
	*dst = v;
	return 0;
}

int sip_osip_rc(int rc)
{
	return rc == OSIP_NOMEM ? -ENOMEM : -EINVAL;
}

/* Copy an IP literal without brackets into buf; false if it is not one. */
bool sip_ip_literal(const char *s, char *buf, size_t len, int *af, unsigned char *bin)
{
	size_t n = s ? strlen(s) : 0;

	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= len)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, bin) == 1) {
		*af = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, bin) == 1) {
		*af = AF_INET6;
		return true;
	}
	return false;
}

bool sip_is_ip_literal(const char *s)
{
	char buf[SIP_HOST_MAX];
	unsigned char bin[16];
	int af;

	return sip_ip_literal(s, buf, sizeof(buf), &af, bin);
}

/* Same host: IP literals compared as addresses, names case-insensitively. */
bool sip_host_equal(const char *a, const char *b)
{
	char ba[SIP_HOST_MAX], bb[SIP_HOST_MAX];
	unsigned char xa[16], xb[16];
	int fa = 0, fb = 0;
	bool ia, ib;

	if (!a || !b)
		return false;
	ia = sip_ip_literal(a, ba, sizeof(ba), &fa, xa);
	ib = sip_ip_literal(b, bb, sizeof(bb), &fb, xb);
	if (ia || ib)
		return ia && ib && fa == fb && !memcmp(xa, xb, fa == AF_INET ? 4 : 16);
	return strcasecmp(a, b) == 0;
}

uint16_t sip_default_port(const char *transport)
{
	/* RFC 3261 §19.1.1: 5060, or 5061 over TLS */
	return transport && (!strcasecmp(transport, "TLS") || !strcasecmp(transport, "WSS"))
		       ? 5061 : 5060;
}

static int fill_direct(uint8_t *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = getrandom(buf + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	return 0;
}

/* Branches, tags and Call-IDs take 8 to 16 random bytes each, several per
 * call: one getrandom() per 512 bytes instead of one each (they were 6,500
 * syscalls a second at 1,500 calls/s). Per thread; bytes handed out are
 * wiped from the pool. The one fork (daemon(), before any message) leaves
 * the parent exiting, so no two processes ever use the same bytes. */
#define POOL_BYTES 512

static __thread struct {
	uint8_t b[POOL_BYTES];
	size_t pos;
} pool = {.pos = POOL_BYTES};

int sip_fill_bytes(uint8_t *buf, size_t n)
{
	int rc;

	if (n > POOL_BYTES / 4)
		return fill_direct(buf, n);
	if (pool.pos + n > POOL_BYTES) {
		if ((rc = fill_direct(pool.b, POOL_BYTES)) < 0)
			return rc;
		pool.pos = 0;
	}
	memcpy(buf, pool.b + pool.pos, n);
	memset(pool.b + pool.pos, 0, n);
	pool.pos += n;
	return 0;
}

void sip_hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

const char *sip_tag_of(const osip_from_t *h)
{
	osip_generic_param_t *p;

	if (!h)
		return NULL;
	p = sip_param_get(&h->gen_params, "tag");
	return p ? p->gvalue : NULL;
}

int sip_max_forwards_value(const char *s)
{
	unsigned long v;

	if (!s || !sip_parse_uint(s, strlen(s), 255, &v))
		return -EINVAL;
	return (int)v;
}

osip_header_t *sip_find_header(const osip_message_t *msg, const char *name, int *count)
{
	osip_header_t *h, *first = NULL;
	int i, n = osip_list_size(&msg->headers);

	*count = 0;
	for (i = 0; i < n; i++) {
		h = osip_list_get(&msg->headers, i);
		if (h && h->hname && !strcasecmp(h->hname, name)) {
			if (!first)
				first = h;
			(*count)++;
		}
	}
	return first;
}

bool sip_uri_is_sip(const osip_uri_t *uri, bool *sips)
{
	if (!uri || !uri->scheme)
		return false;
	*sips = !strcasecmp(uri->scheme, "sips");
	return *sips || !strcasecmp(uri->scheme, "sip");
}

osip_via_t *sip_via_at(const osip_message_t *msg, int pos)
{
	return pos < 0 ? NULL : osip_list_get(&msg->vias, pos);
}

const char *sip_via_branch(const osip_via_t *via)
{
	osip_generic_param_t *b = sip_param_get(&via->via_params, "branch");

	return b && b->gvalue && *b->gvalue ? b->gvalue : NULL;
}

uint16_t sip_via_port(const osip_via_t *via)
{
	uint16_t port;

	return sip_parse_port(via->port, &port) ? port : sip_default_port(via->protocol);
}
