/* sdp_rewrite: NAT rewriting of SDP bodies (RFC 4566, RFC 3264, RFC 3605).
 *
 * Theory of operation.
 *
 * sdp_plan() reads a body in four passes and keeps only the result:
 *  1. Bytes. The length is checked against SDP_BODY_MAX before anything
 *     else; then no NUL (libosip2 takes a C string and would see a
 *     shorter body than the phone), valid UTF-8 (RFC 3629) and no control
 *     character but TAB.
 *  2. Lines, by our own scanner: every line is "x=value" ended by CRLF or
 *     LF; a CR elsewhere, a last line without its line end (a truncated
 *     body), or a blank line followed by more lines is an error. Blank
 *     lines are allowed only at the very end (some stacks add one). This
 *     matters: libosip2 stops at the first blank line and reports success,
 *     so without this check lines after a blank line would be invisible to
 *     us but seen by the phone. Lines and m= lines are counted here, so
 *     SDP_LINES_MAX and SDP_MEDIA_MAX hold before libosip2 allocates
 *     anything: its parse is quadratic in a section's lines (see the
 *     header), and ours is linear (lists are walked with iterators).
 *  3. libosip2's sdp_message_parse(), the project's SDP parser, which
 *     enforces the field order of RFC 4566 §5 and gives the values.
 *  4. Cross-check: the scanner walks the lines again and requires that
 *     every o=, c=, m= (first three fields) and a= line it sees, section by
 *     section and in order, carries exactly the tokens libosip2 stored.
 *     Any disagreement (libosip2 reads a token across a space, a line has
 *     an extra field...) is SDP_E_PARSE. After this the two views are one.
 * The values of the plan (addresses, ports, protocols, attributes) come
 * from libosip2's parse; the libosip2 message is then freed, and the plan
 * keeps a private copy of the body, the per-stream facts and the list of
 * endpoints to bind (streams on one address and port share one, as
 * BUNDLE does; two endpoints that claim one port are refused, since
 * natd would bind it twice).
 *
 * sdp_apply() walks the lines of that copy with the same scanner and
 * writes each one either unchanged or with only the tokens whose value
 * changes replaced: the m= port, the address of c= lines (session and
 * media level), o='s address (and its version, if asked), a=rtcp's port
 * and address, and the ICE lines the policy drops or replaces. A stream
 * that inherits the session c= but is allocated a different address than
 * the new session c= gets its own c= line, inserted after m= (and i=).
 * Every other byte, line ending (CRLF or LF, line by line) included, is
 * copied as it was.
 *
 * Why rewrite text rather than edit libosip2's tree and call
 * sdp_message_to_str(): the serialiser writes CRLF everywhere, rebuilds
 * every line from its fields and drops trailing blank lines, so "nothing
 * else changes" could not be checked or promised, and a body that round
 * trips through it differs from the one the phone signed off on in ways
 * no test pins down. Editing text keeps the change minimal and exactly
 * the one the plan describes; libosip2 still decides what the body means.
 *
 * The session version (o=) is left alone unless the caller asks for
 * bump_version: natd gives the same allocation when the same owner binds
 * the same endpoint again, so an unchanged re-offer is rewritten to the
 * same bytes, and RFC 3264 §8's rule (same version, same SDP) holds.
 * o='s address is the new session c='s (else the first bound stream's)
 * unless the caller fixes it with opts->origin, which keeps it stable
 * through a dialog whatever its later allocations or holds.
 *
 * Nothing here logs, exits, aborts, blocks or keeps global state.
 */
#include "sdp_rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <osipparser2/sdp_message.h>

struct sdp_plan {
	unsigned nstreams, neps;
	struct sdp_stream st[SDP_MEDIA_MAX];
	struct sdp_endpoint ep[SDP_EP_MAX];
	bool cand2[SDP_MEDIA_MAX]; /* the stream has a component-2 candidate */
	bool rtcp_keep[SDP_MEDIA_MAX]; /* a=rtcp names 0.0.0.0: copied as is */
	bool sess_c;               /* a session-level c= ... */
	bool sess_unicast;         /* ... holding a unicast IPv4 address */
	size_t len;
	char body[]; /* len bytes and OSIP_PAD NULs */
};

/* libosip2 5.3's sdp_message_parse_m() calls strchr(tmp + 1, ' ') with tmp
 * already on the terminating NUL when the body ends with an LF-terminated
 * m= line that has no format list ("m=audio 4000 RTP/AVP\n"): it reads
 * past the string. Extra NULs after the body keep that read inside our
 * buffer and make it stop at once. */
#define OSIP_PAD 8

const char *sdp_strerror(int err)
{
	switch (err) {
	case 0: return "success";
	case SDP_E_INVAL: return "invalid argument";
	case SDP_E_NOMEM: return "out of memory";
	case SDP_E_TOOBIG: return "SDP body too large";
	case SDP_E_EMPTY: return "empty SDP body";
	case SDP_E_NUL: return "NUL byte in the SDP body";
	case SDP_E_ENCODING: return "SDP body is not UTF-8 text (or has control characters)";
	case SDP_E_TRUNCATED: return "SDP body truncated (last line has no line end)";
	case SDP_E_SYNTAX: return "SDP syntax error (not x=value lines, blank line, stray CR)";
	case SDP_E_PARSE: return "SDP rejected by the parser (field order, missing or malformed field)";
	case SDP_E_TOOMANY: return "too many media streams (m= lines)";
	case SDP_E_LINES: return "too many lines in the SDP body";
	case SDP_E_NOCONN: return "active media stream without a connection address (c=)";
	case SDP_E_FQDN: return "unsupported address: a host name, not an IPv4 address";
	case SDP_E_IPV6: return "unsupported address: IPv6 (natd is IPv4-only)";
	case SDP_E_ADDR: return "malformed connection address";
	case SDP_E_PORT: return "malformed or unusable media port";
	case SDP_E_PROTO: return "unsupported media transport protocol";
	case SDP_E_RTCP: return "malformed or repeated a=rtcp attribute";
	case SDP_E_UNSUPPORTED: return "unsupported SDP construct (port count, several c= in a stream)";
	case SDP_E_OVERLAP: return "media streams overlap (an RTP port is another stream's RTCP port)";
	case SDP_E_ALLOC: return "missing or unusable address allocation";
	case SDP_E_NOSPACE: return "output buffer too small for the rewritten SDP";
	case SDP_E_INTERNAL: return "internal error: SDP body does not match its plan";
	default: return "unknown SDP error";
	}
}

/* ---- Bytes and lines ---- */

/* Pass 1: NUL first (the clearest diagnosis), then UTF-8 and controls. */
static int check_bytes(const unsigned char *p, size_t n, unsigned *line)
{
	const unsigned char *z = memchr(p, 0, n);
	unsigned no = 1;

	if (z) {
		for (const unsigned char *q = p; q < z; q++)
			no += *q == '\n';
		*line = no;
		return SDP_E_NUL;
	}
	for (size_t i = 0; i < n;) {
		unsigned c = p[i], cp, k;

		if (c < 0x80) {
			if (c == '\n')
				no++;
			else if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
				goto bad;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			k = 1, cp = c & 0x1f;
		else if ((c & 0xf0) == 0xe0)
			k = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			k = 3, cp = c & 0x07;
		else
			goto bad;
		if (n - i <= k)
			goto bad;
		for (unsigned j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				goto bad;
			cp = cp << 6 | (p[i + j] & 0x3fu);
		}
		/* RFC 3629 §3: shortest form, no surrogates, at most U+10FFFF */
		if ((k == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			goto bad;
		i += k + 1;
	}
	return 0;
bad:
	*line = no;
	return SDP_E_ENCODING;
}

struct line {
	const char *s; /* first byte */
	size_t n;      /* bytes before the line end */
	size_t eol;    /* 1 (LF) or 2 (CRLF) */
	unsigned no;   /* 1-based line number */
};

struct lines {
	const char *p;
	size_t len, off;
	unsigned no;
};

static void lines_init(struct lines *ls, const char *p, size_t len)
{
	ls->p = p;
	ls->len = len;
	ls->off = 0;
	ls->no = 0;
}

/* Next line: 1, 0 at the end, or SDP_E_TRUNCATED / SDP_E_SYNTAX (a CR not
 * followed by LF). RFC 4566 §5 wants CRLF and asks parsers to accept LF. */
static int lines_next(struct lines *ls, struct line *l)
{
	const char *s, *lf;
	size_t n;

	if (ls->off >= ls->len)
		return 0;
	s = ls->p + ls->off;
	l->no = ++ls->no;
	if (!(lf = memchr(s, '\n', ls->len - ls->off)))
		return SDP_E_TRUNCATED;
	n = (size_t)(lf - s);
	ls->off += n + 1;
	l->s = s;
	l->eol = 1;
	if (n && s[n - 1] == '\r') {
		n--;
		l->eol = 2;
	}
	l->n = n;
	if (memchr(s, '\r', n))
		return SDP_E_SYNTAX;
	return 1;
}

/* ---- Tokens ---- */

struct tok {
	const char *s;
	size_t n;
};

/* Split v at single spaces into at most max tokens (empty ones included,
 * so "a  b" has three). Returns the count, or -1 if there are more. */
static int split(const char *v, size_t n, struct tok *t, int max)
{
	int k = 0;
	size_t start = 0;

	for (size_t i = 0;; i++) {
		if (i == n || v[i] == ' ') {
			if (k == max)
				return -1;
			t[k].s = v + start;
			t[k].n = i - start;
			k++;
			if (i == n)
				return k;
			start = i + 1;
		}
	}
}

/* The first max space-separated tokens; the last one ends at a space or at
 * the end. Returns how many were found (fewer if the line is shorter). */
static int first_tokens(const char *v, size_t n, struct tok *t, int max)
{
	int k = 0;
	size_t start = 0;

	for (size_t i = 0; k < max; i++) {
		if (i == n || v[i] == ' ') {
			t[k].s = v + start;
			t[k].n = i - start;
			k++;
			if (i == n)
				break;
			start = i + 1;
		}
	}
	return k;
}

static bool tok_is(struct tok t, const char *s)
{
	return s && strlen(s) == t.n && !memcmp(t.s, s, t.n);
}

/* t equals a, or a "/" b, or a "/" b "/" c (b, c may be NULL). */
static bool tok_is_slashed(struct tok t, const char *a, const char *b, const char *c)
{
	size_t na, nb;

	if (!a || (na = strlen(a)) > t.n || memcmp(t.s, a, na))
		return false;
	if (!b)
		return na == t.n && !c;
	if (na + 1 + (nb = strlen(b)) > t.n || t.s[na] != '/' || memcmp(t.s + na + 1, b, nb))
		return false;
	t.s += na + 1 + nb;
	t.n -= na + 1 + nb;
	if (!c)
		return t.n == 0;
	return t.n == strlen(c) + 1 && t.s[0] == '/' && !memcmp(t.s + 1, c, t.n - 1);
}

/* Dotted quad, four decimal octets without leading zeros (so "010.0.0.1",
 * which inet_aton would read as octal, is refused). */
static bool ip4_parse(const char *s, uint8_t a[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, d = 0;

		if (i && *s++ != '.')
			return false;
		if (*s == '0' && s[1] >= '0' && s[1] <= '9')
			return false;
		for (; *s >= '0' && *s <= '9'; s++) {
			v = v * 10 + (unsigned)(*s - '0');
			if (++d > 3)
				return false;
		}
		if (!d || v > 255)
			return false;
		a[i] = (uint8_t)v;
	}
	return *s == '\0';
}

/* A string that can only be meant as a host name (RFC 1123 characters and
 * at least one letter). */
static bool is_hostname(const char *s)
{
	bool alpha = false;
	size_t n = 0;

	for (; *s; s++, n++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z'))
			alpha = true;
		else if (!((*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
			return false;
	}
	return alpha && n <= 253;
}

/* 1 to 5 decimal digits, at most 65535. */
static bool port_parse_n(const char *s, size_t n, uint16_t *port)
{
	unsigned v = 0;

	if (!n || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port = (uint16_t)v;
	return true;
}

static bool port_parse(const char *s, uint16_t *port)
{
	return s && port_parse_n(s, strlen(s), port);
}

static bool ip4_eq(const uint8_t a[4], const uint8_t b[4])
{
	return !memcmp(a, b, 4);
}

static bool ip4_zero(const uint8_t a[4])
{
	return !(a[0] | a[1] | a[2] | a[3]);
}

static bool ip4_multicast(const uint8_t a[4])
{
	return (a[0] & 0xf0) == 0xe0; /* 224.0.0.0/4 */
}

/* ICE attributes (RFC 8839 §5): candidate, remote-candidates,
 * end-of-candidates (RFC 8840) and every ice-* one. */
static bool is_ice_attr(struct tok name)
{
	return tok_is(name, "candidate") || tok_is(name, "remote-candidates") ||
	       tok_is(name, "end-of-candidates") || (name.n > 4 && !memcmp(name.s, "ice-", 4));
}

/* An a= line's name and value (value.s NULL when there is no colon). */
static void attr_split(const struct line *l, struct tok *name, struct tok *value)
{
	const char *v = l->s + 2, *colon = memchr(v, ':', l->n - 2);

	name->s = v;
	if (colon) {
		name->n = (size_t)(colon - v);
		value->s = colon + 1;
		value->n = l->n - 2 - name->n - 1;
	} else {
		name->n = l->n - 2;
		value->s = NULL;
		value->n = 0;
	}
}

/* ---- Planning ---- */

/* Passes 1 and 2. */
static int check_lexical(const char *body, size_t len, unsigned *err_line)
{
	struct lines ls;
	struct line l;
	bool blank = false;
	unsigned nm = 0;
	int r;

	if ((r = check_bytes((const unsigned char *)body, len, err_line)) < 0)
		return r;
	lines_init(&ls, body, len);
	while ((r = lines_next(&ls, &l)) > 0) {
		*err_line = l.no;
		if (l.no > SDP_LINES_MAX)
			return SDP_E_LINES;
		if (!l.n) {
			blank = true;
			continue;
		}
		if (blank || l.n < 2 || l.s[0] < 'a' || l.s[0] > 'z' || l.s[1] != '=')
			return SDP_E_SYNTAX;
		if (l.s[0] == 'm' && ++nm > SDP_MEDIA_MAX)
			return SDP_E_TOOMANY;
	}
	if (r < 0) {
		*err_line = l.no;
		return r;
	}
	*err_line = 0;
	return 0;
}

/* Walks an osip_list_t in order, in linear time (osip_list_get(i) walks
 * from the head every time). Elements are never NULL, so NULL is the end. */
struct liter {
	const osip_list_t *li;
	osip_list_iterator_t it;
	bool started;
};

static void liter_init(struct liter *x, const osip_list_t *li)
{
	x->li = li;
	x->started = false;
}

static void *liter_next(struct liter *x)
{
	if (!x->started) {
		x->started = true;
		return osip_list_get_first(x->li, &x->it);
	}
	return osip_list_get_next(&x->it);
}

/* Per-stream line numbers, for error reports. */
struct sinfo {
	unsigned c_line;
	unsigned rtcp_line;
};

/* Pass 4 (see the top of the file). */
static int cross_check(struct sdp_plan *pl, sdp_message_t *msg, struct sinfo *si,
		       unsigned *sess_c_line, unsigned *err_line)
{
	struct lines ls;
	struct line l;
	struct liter mi, sa, ma, mc;
	sdp_media_t *md = NULL;
	int sec = -1, r, nsess_c = 0, no = 0;
	int na = 0, nc = 0, nsess_a = 0;

	liter_init(&mi, &msg->m_medias);
	liter_init(&sa, &msg->a_attributes);
	lines_init(&ls, pl->body, pl->len);
	while ((r = lines_next(&ls, &l)) > 0) {
		const char *v = l.s + 2;
		size_t vn = l.n - 2;
		struct tok t[6], name, value;
		sdp_attribute_t *a;
		sdp_connection_t *c;

		if (!l.n)
			continue;
		*err_line = l.no;
		switch (l.s[0]) {
		case 'o':
			if (sec >= 0 || no++ || split(v, vn, t, 6) != 6 || !tok_is(t[0], msg->o_username) ||
			    !tok_is(t[1], msg->o_sess_id) || !tok_is(t[2], msg->o_sess_version) ||
			    !tok_is(t[3], msg->o_nettype) || !tok_is(t[4], msg->o_addrtype) ||
			    !tok_is(t[5], msg->o_addr))
				return SDP_E_PARSE;
			break;
		case 'm':
			if (sec >= 0 && (na != osip_list_size(&md->a_attributes) ||
					 nc != osip_list_size(&md->c_connections)))
				return SDP_E_PARSE;
			sec++;
			na = nc = 0;
			if (!(md = liter_next(&mi)) || first_tokens(v, vn, t, 3) != 3 ||
			    !tok_is(t[0], md->m_media) ||
			    !tok_is_slashed(t[1], md->m_port, md->m_number_of_port, NULL) ||
			    !tok_is(t[2], md->m_proto))
				return SDP_E_PARSE;
			pl->st[sec].line = l.no;
			liter_init(&ma, &md->a_attributes);
			liter_init(&mc, &md->c_connections);
			break;
		case 'c':
			if (sec < 0) {
				c = nsess_c++ ? NULL : msg->c_connection;
				*sess_c_line = l.no;
			} else {
				c = liter_next(&mc);
				if (++nc == 1)
					si[sec].c_line = l.no;
			}
			if (!c || split(v, vn, t, 3) != 3 || !tok_is(t[0], c->c_nettype) ||
			    !tok_is(t[1], c->c_addrtype) ||
			    !tok_is_slashed(t[2], c->c_addr, c->c_addr_multicast_ttl,
					    c->c_addr_multicast_int))
				return SDP_E_PARSE;
			break;
		case 'a':
			if (sec < 0) {
				a = liter_next(&sa);
				nsess_a++;
			} else {
				a = liter_next(&ma);
				na++;
			}
			attr_split(&l, &name, &value);
			if (!a || !tok_is(name, a->a_att_field) ||
			    (value.s ? !tok_is(value, a->a_att_value) : a->a_att_value != NULL))
				return SDP_E_PARSE;
			if (sec >= 0 && tok_is(name, "rtcp") && !si[sec].rtcp_line)
				si[sec].rtcp_line = l.no;
			if (sec >= 0 && tok_is(name, "candidate") && value.s &&
			    first_tokens(value.s, value.n, t, 2) == 2 && tok_is(t[1], "2"))
				pl->cand2[sec] = true;
			break;
		default:
			break;
		}
	}
	*err_line = 0;
	if (r < 0)
		return SDP_E_INTERNAL;
	if (sec >= 0 && (na != osip_list_size(&md->a_attributes) ||
			 nc != osip_list_size(&md->c_connections)))
		return SDP_E_PARSE;
	if (no != 1 || sec + 1 != osip_list_size(&msg->m_medias) ||
	    nsess_a != osip_list_size(&msg->a_attributes) ||
	    (nsess_c != 0) != (msg->c_connection != NULL))
		return SDP_E_PARSE;
	pl->nstreams = (unsigned)(sec + 1);
	return 0;
}

/* Classify a c= line: kind BIND/HOLD/MULTICAST and its address, or why
 * not. Values from libosip2 (RFC 4566 §5.7). */
static int classify_conn(const sdp_connection_t *c, uint8_t a[4], enum sdp_stream_kind *kind)
{
	if (!c->c_nettype || strcasecmp(c->c_nettype, "IN"))
		return SDP_E_UNSUPPORTED;
	if (c->c_addrtype && !strcasecmp(c->c_addrtype, "IP6"))
		return SDP_E_IPV6;
	if (!c->c_addrtype || strcasecmp(c->c_addrtype, "IP4") || !c->c_addr)
		return SDP_E_ADDR;
	if (!ip4_parse(c->c_addr, a))
		return is_hostname(c->c_addr) ? SDP_E_FQDN : SDP_E_ADDR;
	if (ip4_multicast(a)) {
		*kind = SDP_STREAM_MULTICAST;
		return 0;
	}
	if (c->c_addr_multicast_ttl || c->c_addr_multicast_int)
		return SDP_E_ADDR; /* a TTL belongs to multicast addresses only */
	*kind = ip4_zero(a) ? SDP_STREAM_HOLD : SDP_STREAM_BIND;
	return 0;
}

static enum sdp_dir dir_of(const osip_list_t *attrs, enum sdp_dir d)
{
	struct liter x;
	const sdp_attribute_t *a;

	liter_init(&x, attrs);
	while ((a = liter_next(&x))) {
		if (!a->a_att_field || a->a_att_value)
			continue;
		if (!strcmp(a->a_att_field, "sendrecv"))
			d = SDP_DIR_SENDRECV;
		else if (!strcmp(a->a_att_field, "sendonly"))
			d = SDP_DIR_SENDONLY;
		else if (!strcmp(a->a_att_field, "recvonly"))
			d = SDP_DIR_RECVONLY;
		else if (!strcmp(a->a_att_field, "inactive"))
			d = SDP_DIR_INACTIVE;
	}
	return d;
}

/* Transport of an m= proto (RFC 4566 §5.14 and its registry): UDP for the
 * RTP profiles over UDP, UDP/TLS/..., udptl (T.38); TCP for TCP/...;
 * anything else is refused rather than guessed. */
static int classify_proto(const char *p, struct sdp_stream *st)
{
	if (!p)
		return SDP_E_PROTO;
	if (strlen(p) < sizeof(st->proto_name))
		strcpy(st->proto_name, p);
	st->rtp = strcasestr(p, "RTP/") != NULL;
	if (!strncasecmp(p, "TCP", 3))
		st->proto = NC_PROTO_TCP;
	else if (!strncasecmp(p, "RTP/", 4) || !strncasecmp(p, "UDP/", 4) ||
		 !strcasecmp(p, "udptl") || !strcasecmp(p, "udp"))
		st->proto = NC_PROTO_UDP;
	else
		return SDP_E_PROTO;
	return 0;
}

/* RFC 3605: a=rtcp:port [nettype addrtype connection-address]. *keep is
 * set when the line carries nothing to rewrite. */
static int plan_rtcp(struct sdp_stream *st, const char *val, bool *keep)
{
	struct tok t[4];
	char buf[64];
	int k;

	if (!val || (k = split(val, strlen(val), t, 4)) < 0 || (k != 1 && k != 4) ||
	    !port_parse_n(t[0].s, t[0].n, &st->rtcp_port) || !st->rtcp_port)
		return SDP_E_RTCP;
	if (k == 4) {
		if (t[1].n != 2 || strncasecmp(t[1].s, "IN", 2))
			return SDP_E_RTCP;
		if (t[2].n == 3 && !strncasecmp(t[2].s, "IP6", 3))
			return SDP_E_IPV6;
		if (t[2].n != 3 || strncasecmp(t[2].s, "IP4", 3) || t[3].n >= sizeof(buf))
			return SDP_E_RTCP;
		memcpy(buf, t[3].s, t[3].n);
		buf[t[3].n] = '\0';
		if (!ip4_parse(buf, st->rtcp_addr))
			return is_hostname(buf) ? SDP_E_FQDN : SDP_E_RTCP;
		if (ip4_multicast(st->rtcp_addr))
			return SDP_E_RTCP;
		if (ip4_zero(st->rtcp_addr)) {
			/* WebRTC's "a=rtcp:9 IN IP4 0.0.0.0": no RTCP address of
			 * its own, so RTCP rides on the RTP port; the line names
			 * no address to hide and stays as it is */
			memset(st->rtcp_addr, 0, 4);
			st->rtcp_port = st->port;
			st->rtcp = SDP_RTCP_MUX;
			*keep = true;
			return 0;
		}
		st->rtcp_has_addr = true;
	}
	if (!st->rtcp_has_addr || ip4_eq(st->rtcp_addr, st->addr)) {
		if (st->rtcp_port == st->port + 1) {
			st->rtcp = SDP_RTCP_PAIR;
			return 0;
		}
		if (st->rtcp_port == st->port) {
			st->rtcp = SDP_RTCP_MUX;
			return 0;
		}
	}
	st->rtcp = SDP_RTCP_SEPARATE;
	return 0;
}

/* Fill stream i from libosip2's media md. */
static int plan_stream(struct sdp_plan *pl, const sdp_message_t *msg, unsigned i,
		       const sdp_media_t *md, const struct sinfo *si, unsigned sess_c_line,
		       unsigned *err_line)
{
	struct sdp_stream *st = &pl->st[i];
	const sdp_connection_t *c;
	const sdp_attribute_t *a;
	const char *rtcp = NULL;
	unsigned nrtcp = 0;
	struct liter x;
	size_t k;
	int r;

	for (k = 0; md->m_media && md->m_media[k] && k + 1 < sizeof(st->media); k++)
		st->media[k] = md->m_media[k];
	st->media[k] = '\0';
	st->ep = st->rtcp_ep = -1;
	st->dir = dir_of(&md->a_attributes, dir_of(&msg->a_attributes, SDP_DIR_SENDRECV));
	liter_init(&x, &md->a_attributes);
	while ((a = liter_next(&x))) {
		if (a->a_att_field && !strcmp(a->a_att_field, "rtcp-mux"))
			st->rtcp_mux = true;
		if (a->a_att_field && !strcmp(a->a_att_field, "rtcp")) {
			rtcp = a->a_att_value;
			nrtcp++;
		}
	}

	*err_line = st->line;
	if (!port_parse(md->m_port, &st->port))
		return SDP_E_PORT;
	if (!st->port) {
		/* RFC 3264 §6: a rejected or disabled stream; nothing to bind */
		st->kind = SDP_STREAM_DISABLED;
		return 0;
	}
	if (md->m_number_of_port)
		return SDP_E_UNSUPPORTED; /* m=<media> <port>/<count>: layered streams */
	if ((r = classify_proto(md->m_proto, st)) < 0)
		return r;

	/* RFC 4566 §5.7: media-level c= overrides the session-level one */
	if (osip_list_size(&md->c_connections) > 1) {
		*err_line = si[i].c_line;
		return SDP_E_UNSUPPORTED;
	}
	if ((c = osip_list_get(&md->c_connections, 0))) {
		st->conn_media = true;
		*err_line = si[i].c_line;
	} else if ((c = msg->c_connection)) {
		*err_line = sess_c_line;
	} else {
		return SDP_E_NOCONN;
	}
	if ((r = classify_conn(c, st->addr, &st->kind)) < 0)
		return r;
	if (st->kind != SDP_STREAM_BIND)
		return 0; /* hold and multicast are left exactly as they are */

	if (nrtcp)
		*err_line = si[i].rtcp_line;
	if (nrtcp > 1)
		return SDP_E_RTCP;
	if (st->proto == NC_PROTO_TCP) {
		if (nrtcp)
			return SDP_E_UNSUPPORTED;
		st->rtcp = SDP_RTCP_NONE;
	} else if (nrtcp) {
		if ((r = plan_rtcp(st, rtcp, &pl->rtcp_keep[i])) < 0)
			return r;
	} else if (st->rtp) {
		/* RFC 3550 §11: RTCP on the next higher port */
		*err_line = st->line;
		if (st->port == 65535)
			return SDP_E_PORT;
		st->rtcp = SDP_RTCP_IMPLICIT;
		st->rtcp_port = (uint16_t)(st->port + 1);
	} else {
		st->rtcp = SDP_RTCP_NONE;
	}
	*err_line = 0;
	return 0;
}

static int plan_streams(struct sdp_plan *pl, const sdp_message_t *msg, const struct sinfo *si,
			unsigned sess_c_line, unsigned *err_line)
{
	const sdp_media_t *md;
	struct liter mi;
	int r;

	liter_init(&mi, &msg->m_medias);
	for (unsigned i = 0; i < pl->nstreams; i++) {
		if (!(md = liter_next(&mi)))
			return SDP_E_INTERNAL; /* cross_check counted them */
		if ((r = plan_stream(pl, msg, i, md, si, sess_c_line, err_line)) < 0)
			return r;
	}
	return 0;
}

/* The endpoint for (addr, port, proto, role), shared by streams that name
 * the same one (BUNDLE). */
static int ep_get(struct sdp_plan *pl, const uint8_t addr[4], uint16_t port, uint8_t proto,
		  bool rtcp, bool pair, unsigned stream)
{
	struct sdp_endpoint *e;

	for (unsigned i = 0; i < pl->neps; i++) {
		e = &pl->ep[i];
		if (ip4_eq(e->addr, addr) && e->port == port && e->proto == proto && e->rtcp == rtcp) {
			e->rtp_pair |= pair;
			return (int)i;
		}
	}
	if (pl->neps == SDP_EP_MAX)
		return SDP_E_INTERNAL; /* two per stream at most */
	e = &pl->ep[pl->neps];
	memcpy(e->addr, addr, 4);
	e->port = port;
	e->proto = proto;
	e->rtcp = rtcp;
	e->rtp_pair = pair;
	e->stream = stream;
	return (int)pl->neps++;
}

static int plan_endpoints(struct sdp_plan *pl, unsigned *err_line)
{
	for (unsigned i = 0; i < pl->nstreams; i++) {
		struct sdp_stream *st = &pl->st[i];
		bool pair = st->rtcp == SDP_RTCP_IMPLICIT || st->rtcp == SDP_RTCP_PAIR;
		int e;

		if (st->kind != SDP_STREAM_BIND)
			continue;
		if ((e = ep_get(pl, st->addr, st->port, st->proto, false, pair, i)) < 0)
			return e;
		st->ep = e;
		if (st->rtcp == SDP_RTCP_SEPARATE) {
			e = ep_get(pl, st->rtcp_has_addr ? st->rtcp_addr : st->addr, st->rtcp_port,
				   st->proto, true, false, i);
			if (e < 0)
				return e;
			st->rtcp_ep = e;
		}
	}
	/* Two endpoints may not claim one port: with rtp_pair an endpoint
	 * holds port and port+1 (natd binds both). */
	for (unsigned i = 0; i < pl->neps; i++) {
		const struct sdp_endpoint *a = &pl->ep[i];

		for (unsigned j = i + 1; j < pl->neps; j++) {
			const struct sdp_endpoint *b = &pl->ep[j];
			unsigned alo = a->port, ahi = alo + a->rtp_pair;
			unsigned blo = b->port, bhi = blo + b->rtp_pair;

			if (ip4_eq(a->addr, b->addr) && a->proto == b->proto && alo <= bhi &&
			    blo <= ahi) {
				*err_line = pl->st[b->stream].line;
				return SDP_E_OVERLAP;
			}
		}
	}
	return 0;
}

int sdp_plan(const char *body, size_t len, struct sdp_plan **planp, unsigned *err_line)
{
	struct sinfo si[SDP_MEDIA_MAX];
	struct sdp_plan *pl = NULL;
	sdp_message_t *msg = NULL;
	unsigned line = 0, sess_c_line = 0;
	int r;

	if (planp)
		*planp = NULL;
	if (!planp || (!body && len)) {
		r = SDP_E_INVAL;
		goto out;
	}
	if (len > SDP_BODY_MAX) {
		r = SDP_E_TOOBIG;
		goto out;
	}
	if (!len) {
		r = SDP_E_EMPTY;
		goto out;
	}
	if ((r = check_lexical(body, len, &line)) < 0)
		goto out;

	if (!(pl = calloc(1, sizeof(*pl) + len + OSIP_PAD))) { /* zeroed: the NULs */
		r = SDP_E_NOMEM;
		goto out;
	}
	memcpy(pl->body, body, len);
	pl->len = len;
	memset(si, 0, sizeof(si));

	if (sdp_message_init(&msg) != 0) {
		msg = NULL;
		r = SDP_E_NOMEM;
		goto out;
	}
	if (sdp_message_parse(msg, pl->body) != 0) {
		r = SDP_E_PARSE;
		goto out;
	}
	if ((r = cross_check(pl, msg, si, &sess_c_line, &line)) < 0)
		goto out;
	if (msg->c_connection) {
		uint8_t a[4];
		enum sdp_stream_kind kind;

		pl->sess_c = true;
		pl->sess_unicast = classify_conn(msg->c_connection, a, &kind) == 0 &&
				   kind == SDP_STREAM_BIND;
	}
	if ((r = plan_streams(pl, msg, si, sess_c_line, &line)) < 0 ||
	    (r = plan_endpoints(pl, &line)) < 0)
		goto out;
	line = 0;
	*planp = pl;
	pl = NULL;
out:
	if (msg)
		sdp_message_free(msg);
	free(pl);
	if (err_line)
		*err_line = r < 0 ? line : 0;
	return r;
}

void sdp_plan_free(struct sdp_plan *plan)
{
	free(plan);
}

unsigned sdp_plan_nstreams(const struct sdp_plan *plan)
{
	return plan ? plan->nstreams : 0;
}

const struct sdp_stream *sdp_plan_stream(const struct sdp_plan *plan, unsigned i)
{
	return plan && i < plan->nstreams ? &plan->st[i] : NULL;
}

unsigned sdp_plan_nendpoints(const struct sdp_plan *plan)
{
	return plan ? plan->neps : 0;
}

const struct sdp_endpoint *sdp_plan_endpoint(const struct sdp_plan *plan, unsigned i)
{
	return plan && i < plan->neps ? &plan->ep[i] : NULL;
}

static int copy_name(char *dst, const char *src)
{
	size_t n;

	if (!src || !(n = strlen(src)) || n > NC_NAME_MAX)
		return SDP_E_INVAL;
	memcpy(dst, src, n + 1);
	return 0;
}

int sdp_plan_bind_req(const struct sdp_plan *plan, unsigned i, const char *in_realm,
		      const char *ext_realm, uint32_t lifetime,
		      const struct sdp_remote_filter *filter, struct nc_bind *req)
{
	const struct sdp_endpoint *e = sdp_plan_endpoint(plan, i);

	if (!e || !req || (filter && filter->n > NC_FILTER_MAX))
		return SDP_E_INVAL;
	memset(req, 0, sizeof(*req));
	if (copy_name(req->spec.in_realm, in_realm) < 0 ||
	    copy_name(req->spec.ext_realm, ext_realm) < 0)
		return SDP_E_INVAL;
	req->spec.dir = NC_DIR_BOTH;
	req->spec.proto = e->proto;
	req->spec.ep.ip.af = NC_AF_IP4;
	memcpy(req->spec.ep.ip.a, e->addr, 4);
	req->spec.ep.port = e->port;
	req->rtp_pair = e->rtp_pair;
	req->lifetime = lifetime;
	if (filter && filter->n) {
		/* remote filter: only the advertised remote may send to M */
		req->spec.nfilters = filter->n;
		memcpy(req->spec.filters, filter->m, filter->n * sizeof(filter->m[0]));
	}
	return 0;
}

static int filter_add(struct sdp_remote_filter *f, const uint8_t a[4])
{
	struct nc_match *m;

	for (unsigned i = 0; i < f->n; i++)
		if (ip4_eq(f->m[i].ip.a, a))
			return 0;
	if (f->n == NC_FILTER_MAX)
		return SDP_E_TOOMANY;
	m = &f->m[f->n++];
	memset(m, 0, sizeof(*m));
	m->ip.af = NC_AF_IP4;
	memcpy(m->ip.a, a, 4);
	m->plen = 32;
	m->port_lo = 0;
	m->port_hi = 65535;
	return 0;
}

int sdp_plan_remote_filter(const struct sdp_plan *remote, int stream,
			   struct sdp_remote_filter *out)
{
	unsigned lo, hi;
	int r;

	if (!remote || !out || (stream >= 0 && (unsigned)stream >= remote->nstreams))
		return SDP_E_INVAL;
	memset(out, 0, sizeof(*out));
	lo = stream < 0 ? 0 : (unsigned)stream;
	hi = stream < 0 ? remote->nstreams : lo + 1;
	for (unsigned i = lo; i < hi; i++) {
		const struct sdp_stream *st = &remote->st[i];

		if (st->kind != SDP_STREAM_BIND)
			continue;
		if ((r = filter_add(out, st->addr)) < 0 ||
		    (st->rtcp_has_addr && (r = filter_add(out, st->rtcp_addr)) < 0)) {
			memset(out, 0, sizeof(*out));
			return r;
		}
	}
	return (int)out->n;
}

/* ---- Applying ---- */

/* Growth of one stream at most: m= port (+4), its c= address (+8), an
 * inserted c= line (26), a=rtcp (+27), two host candidates (128). */
#define GROW_STREAM 256
/* o= (+22 with the version carry) and the session c= (+8). */
#define GROW_SESSION 64

size_t sdp_apply_bound(const struct sdp_plan *plan)
{
	return plan ? plan->len + GROW_SESSION + (size_t)plan->nstreams * GROW_STREAM + 1 : 0;
}

struct obuf {
	char *p;
	size_t cap, n;
	bool full;
};

static void put(struct obuf *o, const void *s, size_t n)
{
	if (o->full || n > o->cap - o->n) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void put_str(struct obuf *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_tok(struct obuf *o, struct tok t)
{
	put(o, t.s, t.n);
}

static void put_u(struct obuf *o, unsigned v)
{
	char b[16];
	int k = snprintf(b, sizeof(b), "%u", v);

	if (k > 0)
		put(o, b, (size_t)k);
}

static void put_ip(struct obuf *o, const uint8_t a[4])
{
	char b[16];
	int k = snprintf(b, sizeof(b), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);

	if (k > 0)
		put(o, b, (size_t)k);
}

static void put_eol(struct obuf *o, const struct line *l)
{
	put(o, l->eol == 2 ? "\r\n" : "\n", l->eol);
}

/* A port token: unchanged text when the value is unchanged. */
static void put_port(struct obuf *o, struct tok t, uint16_t v)
{
	uint16_t old;

	if (port_parse_n(t.s, t.n, &old) && old == v)
		put_tok(o, t);
	else
		put_u(o, v);
}

/* An address token: unchanged text when the value is unchanged. */
static void put_addr(struct obuf *o, struct tok t, const uint8_t a[4])
{
	char buf[16];
	uint8_t old[4];

	if (t.n < sizeof(buf)) {
		memcpy(buf, t.s, t.n);
		buf[t.n] = '\0';
		if (ip4_parse(buf, old) && ip4_eq(old, a)) {
			put_tok(o, t);
			return;
		}
	}
	put_ip(o, a);
}

/* sess-version + 1, in decimal of any length; left alone if not digits. */
static void put_version_bumped(struct obuf *o, struct tok t)
{
	char buf[64];
	size_t i;

	if (!t.n || t.n >= sizeof(buf) - 1)
		goto asis;
	for (i = 0; i < t.n; i++)
		if (t.s[i] < '0' || t.s[i] > '9')
			goto asis;
	memcpy(buf + 1, t.s, t.n);
	buf[0] = '0';
	for (i = t.n; buf[i] == '9'; i--)
		buf[i] = '0';
	buf[i]++;
	if (buf[0] == '0')
		put(o, buf + 1, t.n);
	else
		put(o, buf, t.n + 1);
	return;
asis:
	put_tok(o, t);
}

/* What apply does with each stream. */
struct snew {
	bool rewrite;         /* bound: rewrite to addr/port */
	bool disable;         /* unbound under disable_unbound: port 0 */
	bool insert_c;        /* needs its own c= line */
	uint8_t addr[4];
	uint16_t port;
	uint8_t rtcp_addr[4];
	uint16_t rtcp_port;
	bool cand_done;       /* ICE REWRITE: host candidates written */
};

struct apply_ctx {
	const struct sdp_plan *pl;
	const struct sdp_apply_opts *opts;
	struct snew ns[SDP_MEDIA_MAX];
	bool sess_rewrite, o_rewrite;
	uint8_t sess_addr[4], o_addr[4];
};

static int apply_prepare(struct apply_ctx *x, const struct sdp_plan *pl,
			 const struct nc_ep *alloc, unsigned nalloc,
			 const struct sdp_apply_opts *opts)
{
	static const struct sdp_apply_opts defaults;
	int first = -1, first_inherit = -1;

	if (!pl || nalloc != pl->neps || (nalloc && !alloc))
		return SDP_E_INVAL;
	memset(x, 0, sizeof(*x));
	x->pl = pl;
	x->opts = opts ? opts : &defaults;
	if (x->opts->ice != SDP_ICE_STRIP && x->opts->ice != SDP_ICE_KEEP &&
	    x->opts->ice != SDP_ICE_REWRITE)
		return SDP_E_INVAL;

	for (unsigned e = 0; e < pl->neps; e++) {
		const struct nc_ep *m = &alloc[e];

		if (m->ip.af == 0 && x->opts->disable_unbound)
			continue;
		if (m->ip.af != NC_AF_IP4 || !m->port || ip4_zero(m->ip.a) ||
		    (pl->ep[e].rtp_pair && m->port == 65535))
			return SDP_E_ALLOC;
	}
	for (unsigned i = 0; i < pl->nstreams; i++) {
		const struct sdp_stream *st = &pl->st[i];
		struct snew *n = &x->ns[i];
		const struct nc_ep *m, *mr;

		if (st->kind != SDP_STREAM_BIND)
			continue;
		m = &alloc[st->ep];
		mr = st->rtcp_ep >= 0 ? &alloc[st->rtcp_ep] : m;
		if (m->ip.af == 0 || mr->ip.af == 0) {
			n->disable = true;
			continue;
		}
		n->rewrite = true;
		memcpy(n->addr, m->ip.a, 4);
		n->port = m->port;
		memcpy(n->rtcp_addr, mr->ip.a, 4);
		switch (st->rtcp) {
		case SDP_RTCP_IMPLICIT:
		case SDP_RTCP_PAIR:
			n->rtcp_port = (uint16_t)(m->port + 1); /* natd's rtp_pair */
			break;
		case SDP_RTCP_SEPARATE:
			n->rtcp_port = mr->port;
			break;
		case SDP_RTCP_MUX:
		case SDP_RTCP_NONE:
			n->rtcp_port = m->port;
			break;
		}
		if (first < 0)
			first = (int)i;
		if (first_inherit < 0 && !st->conn_media)
			first_inherit = (int)i;
	}
	/* The session c= takes the address of the first stream that inherits
	 * it, so that as few streams as possible need their own c=; if none
	 * does, the first bound stream's, so that it shows no private address.
	 * A hold or multicast session c= is left alone: its streams are not
	 * bound. */
	if (pl->sess_c && pl->sess_unicast && (first_inherit >= 0 || first >= 0)) {
		x->sess_rewrite = true;
		memcpy(x->sess_addr, x->ns[first_inherit >= 0 ? first_inherit : first].addr, 4);
	}
	if (x->opts->origin.af == NC_AF_IP4) {
		x->o_rewrite = true;
		memcpy(x->o_addr, x->opts->origin.a, 4);
	} else if (x->opts->origin.af != 0) {
		return SDP_E_INVAL;
	} else if (x->sess_rewrite || first >= 0) {
		x->o_rewrite = true;
		memcpy(x->o_addr, x->sess_rewrite ? x->sess_addr : x->ns[first].addr, 4);
	}
	for (unsigned i = 0; i < pl->nstreams; i++) {
		struct snew *n = &x->ns[i];

		if (n->rewrite && !pl->st[i].conn_media)
			n->insert_c = !x->sess_rewrite || !ip4_eq(n->addr, x->sess_addr);
	}
	return 0;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <addr> */
static int apply_o(struct apply_ctx *x, struct obuf *o, const struct line *l)
{
	struct tok t[6];

	if (split(l->s + 2, l->n - 2, t, 6) != 6)
		return SDP_E_INTERNAL;
	put(o, "o=", 2);
	for (int i = 0; i < 3; i++) {
		if (i)
			put(o, " ", 1);
		if (i == 2 && x->opts->bump_version)
			put_version_bumped(o, t[2]);
		else
			put_tok(o, t[i]);
	}
	put(o, " ", 1);
	if (!x->o_rewrite) {
		put(o, t[3].s, l->n - 2 - (size_t)(t[3].s - (l->s + 2)));
	} else if (t[3].n == 2 && !strncasecmp(t[3].s, "IN", 2) && t[4].n == 3 &&
		   !strncasecmp(t[4].s, "IP4", 3)) {
		put_tok(o, t[3]);
		put(o, " ", 1);
		put_tok(o, t[4]);
		put(o, " ", 1);
		put_addr(o, t[5], x->o_addr);
	} else {
		put_str(o, "IN IP4 ");
		put_ip(o, x->o_addr);
	}
	put_eol(o, l);
	return 0;
}

/* c=<nettype> <addrtype> <addr>, address replaced. */
static int apply_c(struct obuf *o, const struct line *l, const uint8_t a[4])
{
	struct tok t[3];

	if (split(l->s + 2, l->n - 2, t, 3) != 3)
		return SDP_E_INTERNAL;
	put(o, l->s, (size_t)(t[2].s - l->s));
	put_addr(o, t[2], a);
	put_eol(o, l);
	return 0;
}

/* m=<media> <port> <proto> <fmt>..., port replaced. */
static int apply_m(struct obuf *o, const struct line *l, uint16_t port)
{
	struct tok t[2];

	if (first_tokens(l->s + 2, l->n - 2, t, 2) != 2)
		return SDP_E_INTERNAL;
	put(o, l->s, (size_t)(t[1].s - l->s));
	put_port(o, t[1], port);
	put(o, t[1].s + t[1].n, l->n - (size_t)(t[1].s + t[1].n - l->s));
	put_eol(o, l);
	return 0;
}

/* a=rtcp:<port> [IN IP4 <addr>] (RFC 3605 §2.1). */
static int apply_rtcp(struct apply_ctx *x, struct obuf *o, const struct line *l, unsigned sec)
{
	const struct snew *n = &x->ns[sec];
	struct tok name, value, t[4];
	int k;

	attr_split(l, &name, &value);
	if (!value.s || ((k = split(value.s, value.n, t, 4)) != 1 && k != 4))
		return SDP_E_INTERNAL;
	put(o, l->s, (size_t)(value.s - l->s));
	put_port(o, t[0], n->rtcp_port);
	if (k == 4) {
		put(o, t[0].s + t[0].n, (size_t)(t[3].s - (t[0].s + t[0].n)));
		put_addr(o, t[3], n->rtcp_addr);
	} else if (!ip4_eq(n->rtcp_addr, n->addr)) {
		put_str(o, " IN IP4 ");
		put_ip(o, n->rtcp_addr);
	}
	put_eol(o, l);
	return 0;
}

/* RFC 8445 §5.1.2.1: priority of a host candidate with local preference
 * 65535: (2^24)*126 + (2^8)*65535 + (256 - component). */
static void put_candidate(struct obuf *o, const struct line *l, unsigned comp,
			  const uint8_t a[4], uint16_t port)
{
	put_str(o, "a=candidate:1 ");
	put_u(o, comp);
	put_str(o, " UDP ");
	put_u(o, (1u << 24) * 126u + (1u << 8) * 65535u + (256u - comp));
	put(o, " ", 1);
	put_ip(o, a);
	put(o, " ", 1);
	put_u(o, port);
	put_str(o, " typ host");
	put_eol(o, l);
}

/* One a= line under the ICE policy; *done when it was handled. */
static void apply_ice(struct apply_ctx *x, struct obuf *o, const struct line *l, int sec,
		      struct tok name, bool *done)
{
	struct snew *n;
	const struct sdp_stream *st;

	*done = true;
	switch (x->opts->ice) {
	case SDP_ICE_KEEP:
		*done = false;
		return;
	case SDP_ICE_STRIP:
		return;
	case SDP_ICE_REWRITE:
		break;
	}
	if (!tok_is(name, "candidate") && !tok_is(name, "remote-candidates")) {
		*done = false; /* ufrag, pwd, options, end-of-candidates stay */
		return;
	}
	if (sec < 0 || !tok_is(name, "candidate"))
		return;
	n = &x->ns[sec];
	st = &x->pl->st[sec];
	if (!n->rewrite || n->cand_done || st->proto != NC_PROTO_UDP)
		return;
	n->cand_done = true;
	put_candidate(o, l, 1, n->addr, n->port);
	if (x->pl->cand2[sec] && st->rtcp != SDP_RTCP_MUX && st->rtcp != SDP_RTCP_NONE)
		put_candidate(o, l, 2, n->rtcp_addr, n->rtcp_port);
}

static void put_c_line(struct obuf *o, const uint8_t a[4], size_t eol)
{
	put_str(o, "c=IN IP4 ");
	put_ip(o, a);
	put(o, eol == 2 ? "\r\n" : "\n", eol);
}

int sdp_apply_origin(const struct sdp_plan *plan, const struct nc_ep *alloc, unsigned nalloc,
		     const struct sdp_apply_opts *opts, struct nc_ip *origin)
{
	struct apply_ctx x;
	int r;

	if (!origin)
		return SDP_E_INVAL;
	memset(origin, 0, sizeof(*origin));
	if ((r = apply_prepare(&x, plan, alloc, nalloc, opts)) < 0)
		return r;
	if (x.o_rewrite) {
		origin->af = NC_AF_IP4;
		memcpy(origin->a, x.o_addr, 4);
	}
	return 0;
}

int sdp_apply(const struct sdp_plan *plan, const struct nc_ep *alloc, unsigned nalloc,
	      const struct sdp_apply_opts *opts, char *out, size_t cap)
{
	static const uint8_t zero[4];
	struct apply_ctx x;
	struct obuf o = {out, cap ? cap - 1 : 0, 0, false};
	struct lines ls;
	struct line l;
	int sec = -1, r;
	size_t m_eol = 2;
	bool pending_c = false;

	if (!out || !cap)
		return SDP_E_INVAL;
	if ((r = apply_prepare(&x, plan, alloc, nalloc, opts)) < 0)
		return r;

	lines_init(&ls, plan->body, plan->len);
	while ((r = lines_next(&ls, &l)) > 0) {
		struct tok name, value;
		bool done = false;
		struct snew *n = sec >= 0 ? &x.ns[sec] : NULL;

		/* RFC 4566 §5: m=, i=, then c= */
		if (pending_c && (!l.n || l.s[0] != 'i')) {
			put_c_line(&o, n->addr, m_eol);
			pending_c = false;
		}
		if (!l.n) {
			put_eol(&o, &l);
			continue;
		}
		switch (l.s[0]) {
		case 'o':
			r = sec < 0 && (x.o_rewrite || x.opts->bump_version) ? apply_o(&x, &o, &l) : 1;
			break;
		case 'm':
			if (++sec >= (int)plan->nstreams)
				return SDP_E_INTERNAL;
			n = &x.ns[sec];
			m_eol = l.eol;
			pending_c = n->insert_c;
			r = n->rewrite ? apply_m(&o, &l, n->port) : n->disable ? apply_m(&o, &l, 0) : 1;
			break;
		case 'c':
			if (sec < 0)
				r = x.sess_rewrite ? apply_c(&o, &l, x.sess_addr) : 1;
			else
				r = n->rewrite ? apply_c(&o, &l, n->addr) :
				    n->disable ? apply_c(&o, &l, zero) : 1;
			break;
		case 'a':
			attr_split(&l, &name, &value);
			r = 1;
			if (is_ice_attr(name)) {
				apply_ice(&x, &o, &l, sec, name, &done);
				r = done ? 0 : 1;
			} else if (n && tok_is(name, "rtcp") && n->disable) {
				r = 0; /* a disabled stream's RTCP address says nothing */
			} else if (n && tok_is(name, "rtcp") && n->rewrite && !plan->rtcp_keep[sec]) {
				r = apply_rtcp(&x, &o, &l, (unsigned)sec);
			}
			break;
		default:
			r = 1;
			break;
		}
		if (r < 0)
			return r;
		if (r > 0) {
			put(&o, l.s, l.n);
			put_eol(&o, &l);
		}
	}
	if (r < 0 || sec + 1 != (int)plan->nstreams)
		return SDP_E_INTERNAL;
	if (pending_c)
		put_c_line(&o, x.ns[sec].addr, m_eol);
	if (o.full)
		return SDP_E_NOSPACE;
	out[o.n] = '\0';
	return (int)o.n;
}
