/* sip_msg: libosip2's message parser behind one door (after siproxd's
 * sip_layer.c).
 *
 * Theory of operation. sip_msg_parse() works in three passes:
 *
 *  1. Framing, on the raw bytes and before libosip2 sees anything: the size
 *     limit (513), leading CRLFs skipped (RFC 3261 §7.5), the start line
 *     (method SP Request-URI SP SIP/2.0, or SIP/2.0 SP 3DIGIT SP reason),
 *     the URI scheme (416), the header lines (no NUL or other control
 *     character, no bare CR, folded lines joined: §7.3.1), duplicate
 *     single-valued headers, Content-Length against the body (§18.3).
 *     The pass writes a canonical copy: CRLF line ends, no folding,
 *     "Name: value", the body cut to Content-Length. libosip2 has its own
 *     ideas about LWS, bare CR and LF-only lines, a status line without a
 *     reason phrase (it takes the next line as the reason), NUL bytes (its
 *     parser stops at the first one) and duplicates (it fails without
 *     saying which); on the canonical copy none of them can arise, so
 *     what we checked is what it parses. The same pass refuses what
 *     libosip2 would parse into something else or leak: escapes in URIs
 *     it cannot decode back (see bad_escape()), multipart parts with two
 *     Content-Types (see mime_parts_ok()), and any URI - the
 *     Request-URI, those of To, From, Contact, Route and Record-Route -
 *     that does not match RFC 3261's grammar byte for byte (see
 *     sip_uri_text_ok(), addr_value_check(): libosip2 silently drops what
 *     it cannot place, so "<sip:c?aro\x94...>" came out as "<sip:c>").
 *     A bad To/From/Contact/Route value is answered after pass 2, with
 *     the whole message to answer from.
 *  2. osip_message_parse() on the copy.
 *  3. The checks RFC 3261 §8.2.1 and §16.3 ask for on the structure:
 *     To, From, Call-ID, CSeq (number < 2^31, method = request method),
 *     Max-Forwards 0..255, a Via with a branch, a status 100..699; and
 *     that each URI, host and parameter is one libosip2 writes back the
 *     way it read it.
 *  4. The round trip (see roundtrip_check()): the message is written out
 *     and read back as the next hop would, and must say the same thing
 *     (start line, Request-URI, Vias, From, To, Contact, Route,
 *     Record-Route, Call-ID, CSeq, bodies: field by field) and write out
 *     to the same bytes again. What fails is refused with 400 rather than
 *     forwarded as something else. The SIP fuzzer (tests/fuzz/fuzz_sip.c)
 *     holds us to this, against the bytes received too.
 *
 * libosip2 caches the text of a parsed message and only rebuilds it when
 * its own setters are used; every edit here touches the structure directly
 * and sip_msg_to_bytes() always forces a rebuild. The rebuild recomputes
 * Content-Length from the bodies, into a five-character field: hence the
 * SIP_MSG_MAX_LEN ceiling on the way in and on the way out.
 *
 * The only global state is libosip2's: its header table (parser_init()) and
 * its trace hook, which sip_msg_init() points at a sink (its default writes
 * to stdout).
 */
#include "sip_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define BRANCH_COOKIE "z9hG4bK" /* RFC 3261 §8.1.1.7 */
#define BRANCH_COOKIE_LEN 7
#define MAX_FORWARDS_DEFAULT 70 /* RFC 3261 §16.6 step 3 */
#define CSEQ_MAX 2147483647u   /* RFC 3261 §8.1.1.5: less than 2**31 */

/* ---- character classes (ASCII, no locale) ---- */

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* RFC 3261 §25.1 token characters. */
static bool is_tchar(int c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("-.!%*_+`'~", c));
}

/* RFC 3261 §25.1 "word" characters (Call-ID). */
static bool is_wordchar(int c)
{
	return is_tchar(c) || (c && strchr("()<>:\\\"/[]?{}", c));
}

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static bool span_ieq(const char *p, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return false;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)p[i]) != lower((unsigned char)lit[i]))
			return false;
	return true;
}

static bool str_is_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

/* Strict unsigned decimal of at most max, no sign, no blanks. */
static bool parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out)
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

static bool parse_port(const char *s, uint16_t *port)
{
	unsigned long v;

	if (!s || !parse_uint(s, strlen(s), 65535, &v) || v == 0)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* Parameter value without surrounding quotes (some peers quote received). */
static const char *param_value(const osip_generic_param_t *p, char *buf, size_t len)
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

static osip_generic_param_t *param_get(const osip_list_t *list, const char *name)
{
	osip_generic_param_t *p = NULL;

	if (osip_generic_param_get_byname((osip_list_t *)list, (char *)name, &p) != 0)
		return NULL;
	return p;
}

/* Set (or add) a parameter in a generic parameter list. */
static int param_set(osip_list_t *list, const char *name, const char *value)
{
	osip_generic_param_t *p = param_get(list, name);
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
static int str_replace(char **dst, const char *value)
{
	char *v = osip_strdup(value);

	if (!v)
		return -ENOMEM;
	osip_free(*dst);
	*dst = v;
	return 0;
}

static int osip_rc(int rc)
{
	return rc == OSIP_NOMEM ? -ENOMEM : -EINVAL;
}

/* Copy an IP literal without brackets into buf; false if it is not one. */
static bool ip_literal(const char *s, char *buf, size_t len, int *af, unsigned char *bin)
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

static bool is_ip_literal(const char *s)
{
	char buf[SIP_HOST_MAX];
	unsigned char bin[16];
	int af;

	return ip_literal(s, buf, sizeof(buf), &af, bin);
}

/* Same host: IP literals compared as addresses, names case-insensitively. */
static bool host_equal(const char *a, const char *b)
{
	char ba[SIP_HOST_MAX], bb[SIP_HOST_MAX];
	unsigned char xa[16], xb[16];
	int fa = 0, fb = 0;
	bool ia, ib;

	if (!a || !b)
		return false;
	ia = ip_literal(a, ba, sizeof(ba), &fa, xa);
	ib = ip_literal(b, bb, sizeof(bb), &fb, xb);
	if (ia || ib)
		return ia && ib && fa == fb && !memcmp(xa, xb, fa == AF_INET ? 4 : 16);
	return strcasecmp(a, b) == 0;
}

static uint16_t default_port(const char *transport)
{
	/* RFC 3261 §19.1.1: 5060, or 5061 over TLS */
	return transport && (!strcasecmp(transport, "TLS") || !strcasecmp(transport, "WSS"))
		       ? 5061 : 5060;
}

static int fill_bytes(uint8_t *buf, size_t n)
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

static void hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ---- libosip2 set-up ---- */

static void trace_sink(const char *fi, int li, osip_trace_level_t level,
		       const char *chfr, va_list ap)
{
	(void)fi;
	(void)li;
	(void)level;
	(void)chfr;
	(void)ap;
}

void sip_msg_set_trace(osip_trace_func_t *fn)
{
	int l;

	osip_trace_initialize_func(TRACE_LEVEL7, fn ? fn : trace_sink);
	for (l = TRACE_LEVEL0; l < END_TRACE_LEVEL; l++) {
		if (fn)
			osip_trace_enable_level((osip_trace_level_t)l);
		else
			osip_trace_disable_level((osip_trace_level_t)l);
	}
}

int sip_msg_init(void)
{
	sip_msg_set_trace(NULL);
	return parser_init() == 0 ? 0 : -ENOMEM;
}

/* ---- pass 1: framing and the canonical copy ---- */

enum hdr_kind {
	H_OTHER, H_TO, H_FROM, H_CALLID, H_CSEQ, H_MAXFWD, H_CLEN, H_CTYPE, /* single */
	H_CONTACT, H_ROUTE, H_RR, H_VIA, H_NKINDS                             /* lists */
};

static const struct {
	const char *name, *compact, *dup_reason;
	const char *bad_reason[2]; /* name-addr headers: a bad URI, bad otherwise */
} hdr_names[H_NKINDS] = {
	[H_TO] = {"to", "t", "Bad Request (duplicate To)",
		  {"Bad Request (bad URI in To)", "Bad Request (bad To)"}},
	[H_FROM] = {"from", "f", "Bad Request (duplicate From)",
		    {"Bad Request (bad URI in From)", "Bad Request (bad From)"}},
	[H_CALLID] = {"call-id", "i", "Bad Request (duplicate Call-ID)", {NULL, NULL}},
	[H_CSEQ] = {"cseq", NULL, "Bad Request (duplicate CSeq)", {NULL, NULL}},
	[H_MAXFWD] = {"max-forwards", NULL, "Bad Request (duplicate Max-Forwards)", {NULL, NULL}},
	[H_CLEN] = {"content-length", "l", "Bad Request (duplicate Content-Length)", {NULL, NULL}},
	[H_CTYPE] = {"content-type", "c", "Bad Request (duplicate Content-Type)", {NULL, NULL}},
	[H_CONTACT] = {"contact", "m", NULL,
		       {"Bad Request (bad URI in Contact)", "Bad Request (bad Contact)"}},
	[H_ROUTE] = {"route", NULL, NULL,
		     {"Bad Request (bad URI in Route)", "Bad Request (bad Route)"}},
	[H_RR] = {"record-route", NULL, NULL,
		  {"Bad Request (bad URI in Record-Route)", "Bad Request (bad Record-Route)"}},
	[H_VIA] = {"via", "v", NULL, {NULL, NULL}},
};

static enum hdr_kind hdr_kind(const char *name, size_t n)
{
	int k;

	for (k = H_TO; k < H_NKINDS; k++)
		if (span_ieq(name, n, hdr_names[k].name) ||
		    (hdr_names[k].compact && span_ieq(name, n, hdr_names[k].compact)))
			return (enum hdr_kind)k;
	return H_OTHER;
}

struct canon {
	const char *in; /* input and its length */
	size_t in_len;
	char *out;      /* canonical copy, capacity 3 * in_len + 16 */
	size_t len;
	unsigned count[H_NKINDS];
	size_t clen_off, clen_len; /* Content-Length value inside out */
	size_t ctype_off, ctype_len; /* Content-Type value inside out */
	bool response;
	const char *bad_addr; /* why a name-addr header is refused (addr_value_check) */
};

static void put(struct canon *c, const char *s, size_t n)
{
	memcpy(c->out + c->len, s, n);
	c->len += n;
}

static int hexval(int c)
{
	if (is_digit(c))
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Is p[i] a '%' that libosip2 would not decode back as it came? It
 * unescapes URIs into C strings: %00 cuts the value short, other control
 * characters (HT aside) are trimmed or changed on the way out, and a '%'
 * without two hex digits is dropped or read as one digit ("%an" is LF).
 * So these are refused in URIs, %00 included (a deliberate exception to
 * RFC 4475 §3.1.1.4). */
static bool bad_escape(const char *p, size_t n, size_t i)
{
	int hi, lo, v;

	if (i + 2 >= n || (hi = hexval((unsigned char)p[i + 1])) < 0 ||
	    (lo = hexval((unsigned char)p[i + 2])) < 0)
		return true;
	v = hi * 16 + lo;
	return (v < 0x20 && v != '\t') || v == 0x7f;
}

static bool uri_escapes_ok(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] == '%' && bad_escape(p, n, i))
			return false;
	return true;
}

/* ---- URI grammar on the raw text (RFC 3261 §19.1.1, §25.1) ----
 *
 * libosip2's URI parser is lenient and lossy: it keeps going past bytes
 * the grammar does not allow and silently drops what it cannot place (a
 * URI header without '=', an empty parameter, "?..." inside a parameter
 * value), so "<sip:c?aro\x94...>" came out as "<sip:c>". What the proxy
 * forwards must be what it received: every URI it accepts must match the
 * grammar exactly, byte for byte, before libosip2 sees it. */

static bool is_unreserved(int c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("-_.!~*'()", c));
}

/* End of the run at i of unreserved characters, escapes (that libosip2
 * decodes back, see bad_escape()) and the characters of extra. */
static size_t uri_run(const char *p, size_t n, size_t i, const char *extra)
{
	while (i < n) {
		unsigned char ch = (unsigned char)p[i];

		if (ch == '%') {
			if (bad_escape(p, n, i))
				break;
			i += 3;
		} else if (is_unreserved(ch) || (ch && strchr(extra, ch))) {
			i++;
		} else {
			break;
		}
	}
	return i;
}

/* The run [i, j) of a URI parameter's or header's name or value does
 * not start or end with an escaped blank: libosip2 decodes, then trims
 * them ("lr=x%20" comes back as "lr=x", "lr=%20" as an empty value). */
static bool uri_part_untrimmed(const char *p, size_t i, size_t j)
{
	bool first = true, blank = false;

	while (i < j) {
		if (p[i] == '%') {
			blank = p[i + 1] == '2' ? p[i + 2] == '0' : p[i + 1] == '0' && p[i + 2] == '9';
			if (first && blank)
				return false;
			i += 3;
		} else {
			blank = false;
			i++;
		}
		first = false;
	}
	return !blank;
}

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then ":"; the
 * length of the scheme, 0 if there is none. */
static size_t uri_scheme_len(const char *p, size_t n)
{
	size_t i;

	if (!n || !is_alpha((unsigned char)p[0]))
		return 0;
	for (i = 1; i < n && p[i] != ':'; i++)
		if (!is_alpha((unsigned char)p[i]) && !is_digit((unsigned char)p[i]) &&
		    !strchr("+-.", p[i]))
			return 0;
	return i < n ? i : 0;
}

/* SIP-URI / SIPS-URI (§25.1), the scheme already checked:
 *   [ user [ ":" password ] "@" ] host [ ":" port ]
 *   *( ";" pname [ "=" pvalue ] ) [ "?" hname "=" hvalue *( "&" ... ) ]
 * with '#' also taken in the user part (dial strings, RFC 2806's
 * telephone-subscriber; libosip2 writes it escaped, which RFC 3261
 * §19.1.4 makes the same URI), and '_' in host names (seen in the wild). */
static bool sip_uri_text_ok(const char *p, size_t n, size_t i, bool *headers)
{
	const char *at = memchr(p + i, '@', n - i);
	size_t j;

	if (at) {
		/* user = 1*( unreserved / escaped / user-unreserved ) */
		j = uri_run(p, n, i, "&=+$,;?/#");
		if (j == i)
			return false;
		if (j < n && p[j] == ':')
			j = uri_run(p, n, j + 1, "&=+$,"); /* password */
		if (p + j != at)
			return false;
		i = j + 1;
	}
	/* host = hostname / IPv4address / IPv6reference; libosip2 keeps
	 * what is inside [] and writes the brackets back only around an
	 * IPv6 address ("[0]" would come back as "0") */
	if (i < n && p[i] == '[') {
		char v6[INET6_ADDRSTRLEN];
		unsigned char bin[16];

		for (j = i + 1; j < n && (hexval((unsigned char)p[j]) >= 0 || p[j] == ':' ||
					  p[j] == '.'); j++)
			;
		if (j == i + 1 || j >= n || p[j] != ']' || j - i - 1 >= sizeof(v6))
			return false;
		memcpy(v6, p + i + 1, j - i - 1);
		v6[j - i - 1] = '\0';
		if (inet_pton(AF_INET6, v6, bin) != 1)
			return false;
		i = j + 1;
	} else {
		for (j = i; j < n && (is_alpha((unsigned char)p[j]) || is_digit((unsigned char)p[j]) ||
				      p[j] == '-' || p[j] == '.' || p[j] == '_'); j++)
			;
		if (j == i)
			return false;
		i = j;
	}
	if (i < n && p[i] == ':') { /* port = 1*DIGIT */
		for (j = i + 1; j < n && is_digit((unsigned char)p[j]); j++)
			;
		if (j == i + 1)
			return false;
		i = j;
	}
	/* uri-parameter = pname [ "=" pvalue ], both 1*paramchar */
	while (i < n && p[i] == ';') {
		j = uri_run(p, n, i + 1, "[]/:&+$");
		if (j == i + 1 || !uri_part_untrimmed(p, i + 1, j))
			return false;
		i = j;
		if (i < n && p[i] == '=') {
			j = uri_run(p, n, i + 1, "[]/:&+$");
			if (j == i + 1 || !uri_part_untrimmed(p, i + 1, j))
				return false;
			i = j;
		}
	}
	/* headers = "?" header *( "&" header ), header = hname "=" hvalue */
	*headers = i < n && p[i] == '?';
	if (*headers) {
		do {
			j = uri_run(p, n, i + 1, "[]/?:+$");
			if (j == i + 1 || j >= n || p[j] != '=' || !uri_part_untrimmed(p, i + 1, j))
				return false;
			i = uri_run(p, n, j + 1, "[]/?:+$");
			if (!uri_part_untrimmed(p, j + 1, i))
				return false;
		} while (i < n && p[i] == '&');
	}
	return i == n;
}

/* Any URI: a scheme, then for sip/sips the SIP-URI grammar, for others
 * (tel, urn, RFC 4475's novel schemes...) absoluteURI's characters:
 * 1*uric (reserved, unreserved, escaped; '[' and ']' as RFC 2732 adds). */
static bool uri_text_ok(const char *p, size_t n, bool headers_ok)
{
	size_t s = uri_scheme_len(p, n);
	bool headers;

	if (!s)
		return false;
	if (span_ieq(p, s, "sip") || span_ieq(p, s, "sips"))
		return sip_uri_text_ok(p, n, s + 1, &headers) && (headers_ok || !headers);
	return s + 1 < n && uri_run(p, n, s + 1, ";/?:@&=+$,[]") == n;
}

/* The value of a name-addr header, from the canonical copy (one line,
 * folding joined). RFC 3261 §20.10, §25.1:
 *   value   = elem *( "," elem )          (one elem for To and From)
 *   elem    = ( [ display ] "<" URI ">" / addr-spec ) *( ";" gen-param )
 *   display = quoted-string / *( token LWS )
 *   addr-spec = URI without ';', ',', '?' or blanks (else it must be
 *               in <>: §20.10)
 *   gen-param = token [ "=" ( token / host / quoted-string ) ]
 * plus a lone "*" for Contact (§10.2.2). libosip2 silently drops what
 * follows the '>' of a To ("<sip:a@b>x", "<sip:a@b>, <sip:c@d>"), so the
 * whole value is checked, not just its URIs. */
enum addr_verdict { ADDR_OK, ADDR_BAD_URI, ADDR_BAD };

static size_t skip_wsp(const char *p, size_t n, size_t i)
{
	while (i < n && is_wsp((unsigned char)p[i]))
		i++;
	return i;
}

/* quoted-string at p[i] == '"': the index past the closing quote, 0 if
 * it is not closed. Control bytes never reach here (next_line()). */
static size_t quoted_end(const char *p, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '"')
			return i + 1;
	}
	return 0;
}

static enum addr_verdict addr_value_check(const char *p, size_t n, enum hdr_kind kind)
{
	bool list = kind == H_CONTACT || kind == H_ROUTE || kind == H_RR;
	/* RFC 3261 §19.1.1 table 1: no URI headers in Route and
	 * Record-Route (a Route URI may become the Request-URI) */
	bool headers_ok = kind != H_ROUTE && kind != H_RR;
	size_t i = skip_wsp(p, n, 0), j, start;
	unsigned tags;

	for (;;) {
		tags = 0;
		start = i;
		if (kind == H_CONTACT && i < n && p[i] == '*') {
			/* whether "*" is alone, with Expires: 0, is the
			 * registrar's to answer (400 from it, not from here) */
			i = skip_wsp(p, n, i + 1);
			goto next;
		}
		/* display name: a quoted string, or tokens and blanks */
		if (i < n && p[i] == '"') {
			if (!(i = quoted_end(p, n, i)))
				return ADDR_BAD;
			i = skip_wsp(p, n, i);
			if (i >= n || p[i] != '<')
				return ADDR_BAD;
		} else {
			/* (bytes past ASCII too: unquoted UTF-8 names are common,
			 * and libosip2 copies them as they are) */
			while (i < n && (is_tchar((unsigned char)p[i]) || is_wsp((unsigned char)p[i]) ||
					 (unsigned char)p[i] >= 0x80))
				i++;
			if (i >= n || p[i] != '<')
				i = start; /* no '<': an addr-spec */
		}
		if (i < n && p[i] == '<') {
			const char *gt = memchr(p + i, '>', n - i);

			if (!gt)
				return ADDR_BAD;
			j = (size_t)(gt - p);
			if (!uri_text_ok(p + i + 1, j - i - 1, headers_ok))
				return ADDR_BAD_URI;
			i = j + 1;
		} else {
			for (j = i; j < n && p[j] && !strchr(";, \t", p[j]); j++)
				;
			if (j == i)
				return ADDR_BAD;
			if (memchr(p + i, '?', j - i) || !uri_text_ok(p + i, j - i, headers_ok))
				return ADDR_BAD_URI;
			i = j;
		}
		/* header parameters */
		for (i = skip_wsp(p, n, i); i < n && p[i] == ';'; i = skip_wsp(p, n, i)) {
			i = skip_wsp(p, n, i + 1);
			for (j = i; j < n && is_tchar((unsigned char)p[j]); j++)
				;
			if (j == i)
				return ADDR_BAD;
			if (j - i == 3 && span_ieq(p + i, 3, "tag") && ++tags > 1)
				return ADDR_BAD; /* two tags: which dialog is it? */
			i = skip_wsp(p, n, j);
			if (i < n && p[i] == '=') {
				i = skip_wsp(p, n, i + 1);
				if (i < n && p[i] == '"') {
					if (!(j = quoted_end(p, n, i)))
						return ADDR_BAD;
				} else {
					/* (empty too: ";q=" is the registrar's 400) */
					for (j = i; j < n && (is_tchar((unsigned char)p[j]) ||
							      (p[j] && strchr(":[]", p[j]))); j++)
						;
				}
				i = j;
			}
		}
next:
		if (i == n)
			return ADDR_OK;
		if (!list || p[i] != ',')
			return ADDR_BAD;
		i = skip_wsp(p, n, i + 1);
	}
}

/* Every "[...]" of a Via value (sent-by, maddr) holds an IPv6 address:
 * libosip2 drops the brackets and writes them back only around one, so
 * "[0]" or "[192.0.2.1]" would be forwarded as another sent-by. */
static bool via_brackets_ok(const char *p, size_t n)
{
	char v6[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	const char *rb;
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (p[i] == '"' && !(i = quoted_end(p, n, i)))
			return false;
		if (i >= n)
			break;
		if (p[i] != '[')
			continue;
		if (!(rb = memchr(p + i, ']', n - i)) || (k = (size_t)(rb - p) - i - 1) >= sizeof(v6))
			return false;
		memcpy(v6, p + i + 1, k);
		v6[k] = '\0';
		if (inet_pton(AF_INET6, v6, bin) != 1)
			return false;
		i += k + 1;
	}
	return true;
}

/* The line at *pos: [*pos, *eol) is its text, *pos moves past its end.
 * 0, or -EBADMSG with *why set: no line end, a bare CR, a control byte. */
static int next_line(const struct canon *c, size_t *pos, size_t *eol, const char **why)
{
	size_t i;
	unsigned char ch;

	for (i = *pos; i < c->in_len; i++) {
		ch = (unsigned char)c->in[i];
		if (ch == '\n') {
			*eol = i;
			*pos = i + 1;
			return 0;
		}
		if (ch == '\r') {
			if (i + 1 < c->in_len && c->in[i + 1] == '\n') {
				*eol = i;
				*pos = i + 2;
				return 0;
			}
			*why = i + 1 < c->in_len ? "Bad Request (bare CR)"
						 : "Bad Request (truncated header)";
			return -EBADMSG;
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			*why = ch ? "Bad Request (control character)" : "Bad Request (NUL byte)";
			return -EBADMSG;
		}
	}
	*why = "Bad Request (truncated header)";
	return -EBADMSG;
}

/* The version token of a start line: 0 if SIP/2.0, 505 for another
 * SIP/x.y, 400 otherwise. */
static int check_version(const char *v, size_t n)
{
	size_t i = 4;
	bool dot = false;

	if (span_ieq(v, n, "SIP/2.0"))
		return 0;
	if (n < 7 || !span_ieq(v, 4, "SIP/") || !is_digit((unsigned char)v[4]))
		return 400;
	for (; i < n; i++) {
		if (v[i] == '.' && !dot && is_digit((unsigned char)v[i - 1]))
			dot = true;
		else if (!is_digit((unsigned char)v[i]))
			return 400;
	}
	return dot && is_digit((unsigned char)v[n - 1]) ? 505 : 400;
}

static int frame_start_line(struct canon *c, const char *l, size_t n, struct sip_err *err)
{
	const char *sp1, *sp2, *uri, *colon;
	size_t mlen, ulen, i;
	bool headers;
	int v;

	if (n >= 4 && span_ieq(l, 4, "SIP/")) {
		/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2) */
		unsigned long code = 0;
		size_t clen;

		c->response = err->is_response = true;
		if (!(sp1 = memchr(l, ' ', n)) || check_version(l, (size_t)(sp1 - l)) != 0) {
			err->status = 400;
			err->reason = "Bad Request (bad status line)";
			return -EBADMSG;
		}
		for (clen = 0; sp1 + 1 + clen < l + n && sp1[1 + clen] != ' '; clen++)
			;
		if (clen != 3 || !parse_uint(sp1 + 1, 3, 999, &code) || code < 100 || code > 699) {
			err->status = 400;
			err->reason = "Bad Request (status code out of range)";
			return -EBADMSG;
		}
		/* libosip2 takes the next line as reason phrase when the
		 * space after the code is missing: always write one */
		put(c, "SIP/2.0 ", 8);
		put(c, sp1 + 1, 3);
		put(c, " ", 1);
		if (sp1 + 4 < l + n)
			put(c, sp1 + 5, (size_t)(l + n - (sp1 + 5)));
		put(c, "\r\n", 2);
		return 0;
	}

	/* Request-Line = Method SP Request-URI SP SIP-Version (§7.1), single
	 * spaces only (RFC 4475 §3.1.2.9 and §3.1.2.10 may be refused) */
	err->status = 400;
	err->reason = "Bad Request (bad request line)";
	if (!(sp1 = memchr(l, ' ', n)) || sp1 == l)
		return -EBADMSG;
	mlen = (size_t)(sp1 - l);
	for (i = 0; i < mlen; i++)
		if (!is_tchar((unsigned char)l[i]))
			return -EBADMSG;
	uri = sp1 + 1;
	if (!(sp2 = memchr(uri, ' ', (size_t)(l + n - uri))) || sp2 == uri)
		return -EBADMSG;
	ulen = (size_t)(sp2 - uri);
	if (memchr(uri, '\t', ulen) || memchr(sp2 + 1, ' ', (size_t)(l + n - sp2 - 1)))
		return -EBADMSG;
	v = check_version(sp2 + 1, (size_t)(l + n - sp2 - 1));
	if (v == 505) {
		err->status = 505;
		err->reason = "Version Not Supported";
		return -EBADMSG;
	}
	if (v)
		return -EBADMSG;

	/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" (§25.1) */
	err->reason = "Bad Request (bad Request-URI)";
	if (!(colon = memchr(uri, ':', ulen)) || colon == uri || !is_alpha((unsigned char)*uri))
		return -EBADMSG;
	for (i = 1; uri + i < colon; i++)
		if (!is_alpha((unsigned char)uri[i]) && !is_digit((unsigned char)uri[i]) &&
		    !strchr("+-.", uri[i]))
			return -EBADMSG;
	if (!uri_escapes_ok(uri, ulen)) {
		err->reason = "Bad Request (bad escape in URI)";
		return -EBADMSG;
	}
	/* bytes no URI may hold (non-ASCII, '<', '"', '\\', ...): 400 even
	 * for a scheme we do not know */
	if (uri_run(uri, ulen, (size_t)(colon - uri) + 1, ";/?:@&=+$,[]#") != ulen)
		return -EBADMSG;
	/* RFC 3261 §16.3 step 2: a scheme the proxy does not understand */
	if (!span_ieq(uri, (size_t)(colon - uri), "sip") &&
	    !span_ieq(uri, (size_t)(colon - uri), "sips")) {
		err->status = 416;
		err->reason = "Unsupported URI Scheme";
		return -EBADMSG;
	}
	/* the SIP-URI grammar, exactly (see sip_uri_text_ok()) */
	if (!sip_uri_text_ok(uri, ulen, (size_t)(colon - uri) + 1, &headers))
		return -EBADMSG;
	/* RFC 3261 §19.1.1 table 1: no headers in a Request-URI (RFC 4475
	 * §3.1.2.10: 400, rather than forwarding them or dropping them) */
	if (headers) {
		err->reason = "Bad Request (headers in Request-URI)";
		return -EBADMSG;
	}
	put(c, l, (size_t)(sp2 - l));
	put(c, " SIP/2.0\r\n", 10);
	err->status = 0;
	err->reason = NULL;
	return 0;
}

/* Close the header whose value started at val_off in the output. */
static void finish_header(struct canon *c, enum hdr_kind kind, size_t val_off)
{
	while (c->len > val_off && is_wsp((unsigned char)c->out[c->len - 1]))
		c->len--;
	if (kind == H_CLEN) {
		c->clen_off = val_off;
		c->clen_len = c->len - val_off;
	}
	if (kind == H_CTYPE) {
		c->ctype_off = val_off;
		c->ctype_len = c->len - val_off;
	}
	if ((kind == H_TO || kind == H_FROM || kind == H_CONTACT || kind == H_ROUTE ||
	     kind == H_RR) && !c->bad_addr) {
		enum addr_verdict v = addr_value_check(c->out + val_off, c->len - val_off, kind);

		if (v != ADDR_OK)
			c->bad_addr = hdr_names[kind].bad_reason[v == ADDR_BAD_URI ? 0 : 1];
	}
	if (kind == H_VIA && !c->bad_addr && !via_brackets_ok(c->out + val_off, c->len - val_off))
		c->bad_addr = "Bad Request (bad Via)";
	if (c->len == val_off)
		c->len--; /* "Name:" for an empty value (libosip2 sees NULL) */
	put(c, "\r\n", 2);
}

/* Content-Type headers in each part of a multipart body, counted the way
 * libosip2 finds them: parts start at "\n--boundary" (the boundary as its
 * own Content-Type parser reads it), part headers run to the first empty
 * line, and any header name that starts with "content-type" counts. A part
 * with two of them makes libosip2 lose the first (a leak per message), so
 * such a body is refused. 1 if fine, 0 if not, -ENOMEM. */
static int mime_parts_ok(const struct canon *c, size_t hdr_end)
{
	osip_content_type_t *ct = NULL;
	osip_generic_param_t *bp = NULL;
	const char *start = c->out + hdr_end - 1; /* the '\n' before the body */
	const char *end = c->out + c->len, *part, *next, *p;
	char *value, *sep = NULL;
	size_t blen, seplen;
	int ok = 0, count;

	if (!(value = strndup(c->out + c->ctype_off, c->ctype_len)))
		return -ENOMEM;
	if (osip_content_type_init(&ct) != 0) {
		free(value);
		return -ENOMEM;
	}
	if (osip_content_type_parse(ct, value) != 0 ||
	    osip_generic_param_get_byname(&ct->gen_params, "boundary", &bp) != 0 || !bp ||
	    !bp->gvalue || !(blen = strlen(bp->gvalue)))
		goto out; /* no boundary to find the parts with */
	if (blen >= 2 && bp->gvalue[0] == '"' && bp->gvalue[blen - 1] == '"')
		blen -= 2;
	seplen = blen + 3;
	if (!(sep = malloc(seplen))) {
		ok = -ENOMEM;
		goto out;
	}
	memcpy(sep, "\n--", 3);
	memcpy(sep + 3, bp->gvalue + (blen == strlen(bp->gvalue) ? 0 : 1), blen);
	ok = 1;
	for (part = memmem(start, (size_t)(end - start), sep, seplen); part; part = next) {
		part += seplen;
		if (end - part >= 2 && part[0] == '-' && part[1] == '-')
			break; /* the close delimiter; the epilogue is not parsed */
		next = memmem(part, (size_t)(end - part), sep, seplen);
		count = 0;
		for (p = part; p < (next ? next : end); p++) {
			if (*p != '\r' && *p != '\n')
				continue;
			if (p + 1 < end && (p[1] == '\r' || p[1] == '\n') && p[1] != *p &&
			    p + 2 < end && (p[2] == '\r' || p[2] == '\n'))
				break; /* CRLF CRLF: end of the part headers */
			if (p + 1 < end && p[1] == *p)
				break; /* LF LF or CR CR */
			if ((size_t)(end - p - 1) >= 12 && span_ieq(p + 1, 12, "content-type") &&
			    ++count > 1) {
				ok = 0;
				goto out;
			}
		}
	}
out:
	free(sep);
	osip_content_type_free(ct);
	free(value);
	return ok;
}

static int frame_fail(struct sip_err *err, const char *reason)
{
	err->status = 400;
	err->reason = reason;
	return -EBADMSG;
}

/* Pass 1 (see the top of the file). */
static int frame(struct canon *c, struct sip_err *err)
{
	size_t pos = 0, start, eol, n, nlen, vn, val_off = 0, body_off, body_len, hdr_end, i;
	enum hdr_kind kind = H_OTHER;
	const char *why = NULL, *l, *colon, *v;
	unsigned long clen;
	bool open = false;
	int k, rc;

	/* RFC 3261 §7.5: CRLFs before the start line are ignored */
	while (pos < c->in_len && (c->in[pos] == '\r' || c->in[pos] == '\n'))
		pos++;
	if (pos == c->in_len)
		return frame_fail(err, "Bad Request (empty message)");
	start = pos;
	if ((rc = next_line(c, &pos, &eol, &why)) < 0)
		return frame_fail(err, why);
	if ((rc = frame_start_line(c, c->in + start, eol - start, err)) < 0)
		return rc;

	for (;;) {
		start = pos;
		if ((rc = next_line(c, &pos, &eol, &why)) < 0)
			return frame_fail(err, why);
		l = c->in + start;
		n = eol - start;
		if (n == 0)
			break; /* the empty line ending the headers */
		if (is_wsp((unsigned char)l[0])) {
			/* RFC 3261 §7.3.1: a folded line continues the value;
			 * the fold counts as one SP */
			if (!open)
				return frame_fail(err, "Bad Request (folded line before any header)");
			while (n && is_wsp((unsigned char)*l)) {
				l++;
				n--;
			}
			if (n && c->len > val_off)
				put(c, " ", 1);
			put(c, l, n);
			continue;
		}
		if (open)
			finish_header(c, kind, val_off);
		/* header = name *WSP ":" SWS value (§7.3.1, HCOLON) */
		if (!(colon = memchr(l, ':', n)))
			return frame_fail(err, "Bad Request (header line without colon)");
		for (nlen = (size_t)(colon - l); nlen && is_wsp((unsigned char)l[nlen - 1]);)
			nlen--;
		if (!nlen)
			return frame_fail(err, "Bad Request (bad header name)");
		for (i = 0; i < nlen; i++)
			if (!is_tchar((unsigned char)l[i]))
				return frame_fail(err, "Bad Request (bad header name)");
		kind = hdr_kind(l, nlen);
		c->count[kind]++;
		put(c, l, nlen);
		put(c, ": ", 2);
		val_off = c->len;
		for (v = colon + 1, vn = (size_t)(l + n - v); vn && is_wsp((unsigned char)*v); v++)
			vn--;
		put(c, v, vn);
		open = true;
	}
	if (open)
		finish_header(c, kind, val_off);
	put(c, "\r\n", 2);
	body_off = pos;

	for (k = H_TO; k < H_NKINDS; k++)
		if (hdr_names[k].dup_reason && c->count[k] > 1)
			return frame_fail(err, hdr_names[k].dup_reason);

	body_len = c->in_len - body_off;
	if (c->count[H_CLEN]) {
		if (!parse_uint(c->out + c->clen_off, c->clen_len, SIP_MSG_MAX_LEN, &clen))
			return frame_fail(err, "Bad Request (bad Content-Length)");
		/* RFC 3261 §18.3: a body shorter than Content-Length is an
		 * error; bytes past it are discarded */
		if (clen > body_len)
			return frame_fail(err, "Bad Request (Content-Length larger than body)");
		body_len = clen;
	}
	/* RFC 3261 §20.15: Content-Type MUST be present if the body is not
	 * empty (libosip2 would drop such a body without a word) */
	if (body_len && !c->count[H_CTYPE])
		return frame_fail(err, "Bad Request (body without Content-Type)");
	hdr_end = c->len;
	put(c, c->in + body_off, body_len);
	if (body_len && c->ctype_len >= 9 && span_ieq(c->out + c->ctype_off, 9, "multipart") &&
	    (rc = mime_parts_ok(c, hdr_end)) <= 0)
		return rc < 0 ? rc : frame_fail(err, "Bad Request (bad multipart body)");
	return 0;
}

/* ---- pass 3: mandatory headers ---- */

static bool callid_ok(const osip_call_id_t *id)
{
	const char *parts[2];
	const char *s;
	int i;

	if (!id || !id->number || !*id->number)
		return false;
	parts[0] = id->number;
	parts[1] = id->host;
	for (i = 0; i < 2; i++) {
		if (!parts[i])
			continue;
		if (!*parts[i])
			return false;
		for (s = parts[i]; *s; s++)
			if (!is_wordchar((unsigned char)*s))
				return false;
	}
	return true;
}

static bool cseq_number_ok(const osip_cseq_t *cs)
{
	unsigned long v;

	return cs->number && parse_uint(cs->number, strlen(cs->number), CSEQ_MAX, &v);
}

static int max_forwards_value(const char *s)
{
	unsigned long v;

	if (!s || !parse_uint(s, strlen(s), 255, &v))
		return -EINVAL;
	return (int)v;
}

static osip_header_t *find_header(const osip_message_t *msg, const char *name, int *count)
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

static bool uri_is_sip(const osip_uri_t *uri, bool *sips)
{
	if (!uri || !uri->scheme)
		return false;
	*sips = !strcasecmp(uri->scheme, "sips");
	return *sips || !strcasecmp(uri->scheme, "sip");
}

/* RFC 3261 §25.1 host: a name (with '_', seen in the wild) or an IP
 * literal (libosip2 keeps IPv6 without its brackets). */
static bool host_ok(const char *h)
{
	const char *s;

	if (!h || !*h)
		return false;
	if (strchr(h, ':'))
		return is_ip_literal(h);
	for (s = h; *s; s++)
		if (!is_alpha((unsigned char)*s) && !is_digit((unsigned char)*s) && !strchr("-._", *s))
			return false;
	return true;
}

/* A URI libosip2 will write back as it read it: a well-formed scheme; for
 * sip/sips a host and a valid port; for others no delimiters libosip2
 * would misplace (it takes "Bob:<sip:b@x>" as a URI of scheme "Bob"). */
static bool uri_ok(const osip_uri_t *u)
{
	const char *s;

	if (!u || !u->scheme || !is_alpha((unsigned char)u->scheme[0]))
		return false;
	for (s = u->scheme + 1; *s; s++)
		if (!is_alpha((unsigned char)*s) && !is_digit((unsigned char)*s) && !strchr("+-.", *s))
			return false;
	if (!strcasecmp(u->scheme, "sip") || !strcasecmp(u->scheme, "sips")) {
		uint16_t port;

		return host_ok(u->host) && (!u->port || parse_port(u->port, &port));
	}
	return u->string && *u->string && !strpbrk(u->string, "<>\" \t");
}

/* Header parameters (RFC 3261 §25.1 generic-param): a token name, and a
 * value that is a token, a host (IPv6 included) or a quoted string. */
static bool params_ok(const osip_list_t *list)
{
	osip_generic_param_t *p;
	const char *v;
	size_t n;
	int i, count = osip_list_size(list);

	for (i = 0; i < count; i++) {
		p = osip_list_get(list, i);
		if (!p || !str_is_token(p->gname))
			return false;
		if (!(v = p->gvalue))
			continue;
		n = strlen(v);
		if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
			continue;
		if (!n)
			return false;
		for (; *v; v++)
			if (!is_tchar((unsigned char)*v) && !strchr(":[]", *v))
				return false;
	}
	return true;
}

/* How many parameters of this name (case-insensitive) a list holds: two
 * branches in one Via would make two transactions of it, depending on
 * which one the next hop reads. */
static int param_count(const osip_list_t *list, const char *name)
{
	osip_generic_param_t *p;
	int i, k = 0, count = osip_list_size(list);

	for (i = 0; i < count; i++)
		if ((p = osip_list_get(list, i)) && p->gname && !strcasecmp(p->gname, name))
			k++;
	return k;
}

/* A name-addr header: its URI and its parameters. */
static bool addr_ok(const osip_from_t *h)
{
	return h && uri_ok(h->url) && params_ok(&h->gen_params);
}

/* Every entry of a list of name-addr headers: Contact (star_ok), or Route
 * and Record-Route (sip_only: RFC 3261 §16.6 step 4 puts only SIP and SIPS
 * URIs there, and routing moves them into the Request-URI). */
static bool addr_list_ok(const osip_list_t *list, bool star_ok, bool sip_only)
{
	osip_from_t *h;
	bool sips;
	int i, n = osip_list_size(list);

	for (i = 0; i < n; i++) {
		h = osip_list_get(list, i);
		if (h && !h->url && star_ok && h->displayname && !strcmp(h->displayname, "*"))
			continue; /* Contact: * (RFC 3261 §10.2.2) */
		if (!addr_ok(h) || (sip_only && !uri_is_sip(h->url, &sips)))
			return false;
	}
	return true;
}

/* libosip2 writes single headers without looking at the result: one it
 * cannot write comes out as "Name: " with no line end, gluing on the next
 * header. Each must be writable. */
static bool writable(void *h, int (*to_str)(void *, char **))
{
	char *s = NULL;
	int rc;

	if (!h)
		return true;
	rc = to_str(h, &s);
	osip_free(s);
	return rc == 0;
}

static int check_fail(struct sip_err *err, int status, const char *reason)
{
	err->status = status;
	err->reason = reason;
	return -EBADMSG;
}

/* Pass 3 (RFC 3261 §8.2.1, §16.3 step 1). */
static int check_message(const osip_message_t *m, struct sip_err *err)
{
	osip_via_t *via;
	osip_header_t *mf;
	uint16_t port;
	int i, n, count;

	n = osip_list_size(&m->vias);
	if (n <= 0)
		return check_fail(err, 400, "Bad Request (missing Via)");
	for (i = 0; i < n; i++) {
		via = osip_list_get(&m->vias, i);
		if (!via || !host_ok(via->host) || !str_is_token(via->protocol) ||
		    !str_is_token(via->version) || (via->port && !parse_port(via->port, &port)) ||
		    !params_ok(&via->via_params) || param_count(&via->via_params, "branch") > 1)
			return check_fail(err, 400, "Bad Request (bad Via)");
	}
	if (!m->from)
		return check_fail(err, 400, "Bad Request (missing From)");
	if (!addr_ok(m->from))
		return check_fail(err, 400, "Bad Request (bad From)");
	if (!m->to)
		return check_fail(err, 400, "Bad Request (missing To)");
	if (!addr_ok(m->to))
		return check_fail(err, 400, "Bad Request (bad To)");
	if (!addr_list_ok(&m->contacts, true, false))
		return check_fail(err, 400, "Bad Request (bad Contact)");
	if (!addr_list_ok(&m->routes, false, true) || !addr_list_ok(&m->record_routes, false, true))
		return check_fail(err, 400, "Bad Request (bad Route)");
	if (!m->call_id)
		return check_fail(err, 400, "Bad Request (missing Call-ID)");
	if (!callid_ok(m->call_id))
		return check_fail(err, 400, "Bad Request (bad Call-ID)");
	if (!m->cseq)
		return check_fail(err, 400, "Bad Request (missing CSeq)");
	if (!cseq_number_ok(m->cseq) || !str_is_token(m->cseq->method))
		return check_fail(err, 400, "Bad Request (bad CSeq)");
	if (!writable(m->from, (int (*)(void *, char **))osip_from_to_str) ||
	    !writable(m->to, (int (*)(void *, char **))osip_to_to_str) ||
	    !writable(m->call_id, (int (*)(void *, char **))osip_call_id_to_str) ||
	    !writable(m->cseq, (int (*)(void *, char **))osip_cseq_to_str))
		return check_fail(err, 400, "Bad Request (malformed header)");
	if (!writable(m->content_type, (int (*)(void *, char **))osip_content_type_to_str) ||
	    (m->content_type && (!str_is_token(m->content_type->type) ||
				 !str_is_token(m->content_type->subtype))))
		return check_fail(err, 400, "Bad Request (bad Content-Type)");
	if (!writable(m->mime_version, (int (*)(void *, char **))osip_content_length_to_str))
		return check_fail(err, 400, "Bad Request (bad MIME-Version)");
	if (MSG_IS_RESPONSE(m))
		return 0; /* status 100..699 was checked on the status line */

	if (!m->req_uri || !m->req_uri->scheme ||
	    (strcasecmp(m->req_uri->scheme, "sip") && strcasecmp(m->req_uri->scheme, "sips")))
		return check_fail(err, 416, "Unsupported URI Scheme");
	if (!uri_ok(m->req_uri))
		return check_fail(err, 400, "Bad Request (bad Request-URI)");
	/* RFC 3261 §8.1.1.5: the CSeq method MUST match the request's */
	if (!m->sip_method || strcmp(m->cseq->method, m->sip_method))
		return check_fail(err, 400, "Bad Request (CSeq method mismatch)");
	/* RFC 3261 §8.1.1.6 / §20.22: Max-Forwards = 1*DIGIT, 0..255 */
	mf = find_header(m, "max-forwards", &count);
	if (count > 1)
		return check_fail(err, 400, "Bad Request (duplicate Max-Forwards)");
	if (mf && max_forwards_value(mf->hvalue) < 0)
		return check_fail(err, 400, "Bad Request (bad Max-Forwards)");
	/* RFC 3261 §8.1.1.7: the top Via carries a branch */
	via = osip_list_get(&m->vias, 0);
	{
		osip_generic_param_t *b = param_get(&via->via_params, "branch");

		if (!b || !b->gvalue || !*b->gvalue)
			return check_fail(err, 400, "Bad Request (Via without branch)");
	}
	return 0;
}

/* ---- pass 4: the round trip ----
 *
 * Whatever the checks above let through, the proxy forwards what
 * libosip2 writes back, and the next hop (another libosip2 among them)
 * reads that. So an accepted message is written out and read back, and
 * must come back the same: the start line, every Via (branch, sent-by),
 * From and To (URI, tag, every parameter), Contact, Route and
 * Record-Route, Call-ID, CSeq and the bodies, compared field by field;
 * and written out again it must give the same bytes. libosip2 5.3 fails
 * this for URIs its own parser refuses once inside <> ("<sip:c>": fewer
 * than six characters) and for cases nobody has listed yet; a message
 * that fails is refused rather than forwarded as something else. */

static bool str_same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool params_same(const osip_list_t *a, const osip_list_t *b)
{
	const osip_generic_param_t *pa, *pb;
	int i, n = osip_list_size(a);

	if (n != osip_list_size(b))
		return false;
	for (i = 0; i < n; i++) {
		pa = osip_list_get(a, i);
		pb = osip_list_get(b, i);
		if (!pa || !pb || !str_same(pa->gname, pb->gname) || !str_same(pa->gvalue, pb->gvalue))
			return false;
	}
	return true;
}

static bool uri_same(const osip_uri_t *a, const osip_uri_t *b)
{
	if (!a || !b)
		return a == b;
	return str_same(a->scheme, b->scheme) && str_same(a->username, b->username) &&
	       str_same(a->password, b->password) && str_same(a->host, b->host) &&
	       str_same(a->port, b->port) && str_same(a->string, b->string) &&
	       params_same(&a->url_params, &b->url_params) &&
	       params_same(&a->url_headers, &b->url_headers);
}

static bool addr_same(const osip_from_t *a, const osip_from_t *b)
{
	if (!a || !b)
		return a == b;
	return str_same(a->displayname, b->displayname) && uri_same(a->url, b->url) &&
	       params_same(&a->gen_params, &b->gen_params);
}

static bool addr_list_same(const osip_list_t *a, const osip_list_t *b)
{
	int i, n = osip_list_size(a);

	if (n != osip_list_size(b))
		return false;
	for (i = 0; i < n; i++)
		if (!addr_same(osip_list_get(a, i), osip_list_get(b, i)))
			return false;
	return true;
}

static bool vias_same(const osip_list_t *a, const osip_list_t *b)
{
	const osip_via_t *va, *vb;
	int i, n = osip_list_size(a);

	if (n != osip_list_size(b))
		return false;
	for (i = 0; i < n; i++) {
		va = osip_list_get(a, i);
		vb = osip_list_get(b, i);
		if (!va || !vb || !str_same(va->version, vb->version) ||
		    !str_same(va->protocol, vb->protocol) || !str_same(va->host, vb->host) ||
		    !str_same(va->port, vb->port) || !str_same(va->comment, vb->comment) ||
		    !params_same(&va->via_params, &vb->via_params))
			return false;
	}
	return true;
}

static bool ctype_same(const osip_content_type_t *a, const osip_content_type_t *b)
{
	if (!a || !b)
		return a == b;
	return str_same(a->type, b->type) && str_same(a->subtype, b->subtype) &&
	       params_same(&a->gen_params, &b->gen_params);
}

static bool bodies_same(const osip_list_t *a, const osip_list_t *b)
{
	const osip_body_t *ba, *bb;
	int i, n = osip_list_size(a);

	if (n != osip_list_size(b))
		return false;
	for (i = 0; i < n; i++) {
		ba = osip_list_get(a, i);
		bb = osip_list_get(b, i);
		if (!ba || !bb || ba->length != bb->length ||
		    (ba->length && (!ba->body || !bb->body ||
				    memcmp(ba->body, bb->body, ba->length))) ||
		    !ctype_same(ba->content_type, bb->content_type))
			return false;
	}
	return true;
}

/* NULL if b (a read back) says what a said, else the reason to refuse. */
static const char *essentials_differ(const osip_message_t *a, const osip_message_t *b)
{
	if (a->status_code != b->status_code || !str_same(a->sip_method, b->sip_method) ||
	    !str_same(a->sip_version, b->sip_version) ||
	    (MSG_IS_RESPONSE(a) && !str_same(a->reason_phrase, b->reason_phrase)))
		return "Bad Request (start line does not survive re-encoding)";
	if (!uri_same(a->req_uri, b->req_uri))
		return "Bad Request (Request-URI does not survive re-encoding)";
	if (!vias_same(&a->vias, &b->vias))
		return "Bad Request (Via does not survive re-encoding)";
	if (!addr_same(a->from, b->from))
		return "Bad Request (From does not survive re-encoding)";
	if (!addr_same(a->to, b->to))
		return "Bad Request (To does not survive re-encoding)";
	if (!a->call_id || !b->call_id || !str_same(a->call_id->number, b->call_id->number) ||
	    !str_same(a->call_id->host, b->call_id->host))
		return "Bad Request (Call-ID does not survive re-encoding)";
	if (!a->cseq || !b->cseq || !str_same(a->cseq->number, b->cseq->number) ||
	    !str_same(a->cseq->method, b->cseq->method))
		return "Bad Request (CSeq does not survive re-encoding)";
	if (!addr_list_same(&a->contacts, &b->contacts))
		return "Bad Request (Contact does not survive re-encoding)";
	if (!addr_list_same(&a->routes, &b->routes) ||
	    !addr_list_same(&a->record_routes, &b->record_routes))
		return "Bad Request (Route does not survive re-encoding)";
	if (!ctype_same(a->content_type, b->content_type) || !bodies_same(&a->bodies, &b->bodies))
		return "Bad Request (body does not survive re-encoding)";
	return NULL;
}

/* Pass 4. 0, -EBADMSG with err set, or -ENOMEM. */
static int roundtrip_check(osip_message_t *m, struct sip_err *err)
{
	char *s1 = NULL, *s2 = NULL;
	size_t n1 = 0, n2 = 0;
	osip_message_t *m2 = NULL;
	const char *why = NULL;
	int rc = 0;

	/* as sip_msg_to_bytes() will: from the structure, not the cache */
	osip_message_force_update(m);
	if ((rc = osip_message_to_str(m, &s1, &n1)) != 0) {
		why = "Bad Request (cannot be re-encoded)";
		goto out;
	}
	if ((rc = osip_message_init(&m2)) != 0)
		goto out;
	if ((rc = osip_message_parse(m2, s1, n1)) != 0) {
		why = "Bad Request (does not survive re-encoding)";
		goto out;
	}
	if ((why = essentials_differ(m, m2)))
		goto out;
	osip_message_force_update(m2);
	if ((rc = osip_message_to_str(m2, &s2, &n2)) != 0 || n1 != n2 || memcmp(s1, s2, n1))
		why = "Bad Request (re-encoding is not stable)";
out:
	osip_free(s1);
	osip_free(s2);
	osip_message_free(m2);
	if (rc == OSIP_NOMEM)
		return -ENOMEM;
	return why ? check_fail(err, 400, why) : 0;
}

/* Can a response be built for this request (RFC 3261 §8.2.6.2: it copies
 * Via, From, To, Call-ID and CSeq)? Never for an ACK: it gets no response. */
static bool answerable(const osip_message_t *m)
{
	return m && MSG_IS_REQUEST(m) && m->sip_method && strcmp(m->sip_method, "ACK") &&
	       osip_list_size(&m->vias) > 0 && m->from && m->to && m->call_id && m->cseq &&
	       writable(m->from, (int (*)(void *, char **))osip_from_to_str) &&
	       writable(m->to, (int (*)(void *, char **))osip_to_to_str) &&
	       writable(m->call_id, (int (*)(void *, char **))osip_call_id_to_str) &&
	       writable(m->cseq, (int (*)(void *, char **))osip_cseq_to_str);
}

/* A request refused by the framing pass (bad Content-Length, bad
 * Request-URI scheme, odd header lines...) still deserves its answer
 * (RFC 3261 §18.3, §16.3 step 2). Pick the five headers a response needs
 * out of the raw header block, where each is one clean line, and parse
 * just those behind a neutral start line. NULL when they are not all there
 * and clean, or the message is an ACK or a response. */
static osip_message_t *salvage(const char *buf, size_t len)
{
	static const char *const want[] = {"via", "v", "from", "f", "to", "t", "call-id", "i",
					   "cseq"};
	osip_message_t *m = NULL;
	char *out, method[32];
	size_t o = 0, i = 0, mlen = 0;

	/* the start line's method, if it is a token */
	while (i < len && mlen < sizeof(method) - 1 && is_alpha((unsigned char)buf[i]))
		method[mlen++] = buf[i++];
	method[mlen] = '\0';
	if (!mlen || i >= len || buf[i] != ' ' || !strcmp(method, "ACK") || !strcmp(method, "SIP"))
		return NULL;
	if (!(out = malloc(2 * len + 64))) /* LF-only lines gain a CR */
		return NULL;
	o = (size_t)snprintf(out, 64, "%s sip:invalid SIP/2.0\r\n", method);
	/* skip the start line, then walk the header lines up to a blank one */
	while (i < len && buf[i] != '\n')
		i++;
	for (i++; i < len;) {
		size_t b = i, e, n;
		bool clean = true;

		while (i < len && buf[i] != '\n')
			i++;
		e = i > b && buf[i - 1] == '\r' ? i - 1 : i;
		i++;
		if (e == b)
			break; /* end of the headers */
		for (size_t k = b; k < e; k++)
			if ((unsigned char)buf[k] < 0x20 || buf[k] == 0x7f)
				clean = false;
		for (n = 0; b + n < e && buf[b + n] != ':' && buf[b + n] != ' ' && buf[b + n] != '\t'; n++)
			;
		for (size_t w = 0; clean && w < sizeof(want) / sizeof(want[0]); w++)
			if (strlen(want[w]) == n && !strncasecmp(buf + b, want[w], n)) {
				memcpy(out + o, buf + b, e - b);
				o += e - b;
				out[o++] = '\r';
				out[o++] = '\n';
				break;
			}
	}
	{
		static const char tail[] = "Content-Length: 0\r\n\r\n";
		memcpy(out + o, tail, sizeof(tail) - 1);
		o += sizeof(tail) - 1;
	}
	if (osip_message_init(&m) == 0 && osip_message_parse(m, out, o) != 0) {
		osip_message_free(m);
		m = NULL;
	}
	free(out);
	if (m && !answerable(m)) {
		osip_message_free(m);
		m = NULL;
	}
	return m;
}

int sip_msg_parse(const char *buf, size_t len, size_t max_len,
		  osip_message_t **out, struct sip_err *err)
{
	struct canon c;
	osip_message_t *m = NULL;
	int rc;

	if (!out || !err)
		return -EINVAL;
	*out = NULL;
	memset(err, 0, sizeof(*err));
	if (!buf && len)
		return check_fail(err, 400, "Bad Request (empty message)");
	if (max_len == 0 || max_len > SIP_MSG_MAX_LEN)
		max_len = SIP_MSG_MAX_LEN;
	/* the size limit comes before any parsing */
	if (len > max_len) {
		err->status = 513;
		err->reason = "Message Too Large";
		err->is_response = len >= 4 && span_ieq(buf, 4, "SIP/");
		return -EMSGSIZE;
	}

	memset(&c, 0, sizeof(c));
	c.in = buf;
	c.in_len = len;
	if (!(c.out = malloc(3 * len + 16))) {
		err->status = 500;
		err->reason = "Server Internal Error";
		return -ENOMEM;
	}
	if ((rc = frame(&c, err)) == -ENOMEM)
		goto nomem;
	if (rc < 0)
		goto done;

	if (osip_message_init(&m) != 0) {
		rc = -ENOMEM;
		goto nomem;
	}
	rc = osip_message_parse(m, c.out, c.len);
	if (rc == OSIP_NOMEM) {
		rc = -ENOMEM;
		goto nomem;
	}
	if (rc != 0) {
		/* what libosip2 half-parsed is not handed out */
		osip_message_free(m);
		m = NULL;
		rc = check_fail(err, 400, c.bad_addr ? c.bad_addr : "Bad Request (malformed message)");
		goto done;
	}
	/* a name-addr header refused by pass 1: refused now that the whole
	 * message is there to answer with (the registrar's test of a bad
	 * Contact, for one, needs it) */
	if (c.bad_addr) {
		rc = check_fail(err, 400, c.bad_addr);
		goto done;
	}
	if ((rc = check_message(m, err)) == 0 && (rc = roundtrip_check(m, err)) == -ENOMEM)
		goto nomem;
	goto done;

nomem:
	err->status = 500;
	err->reason = "Server Internal Error";
done:
	free(c.out);
	if (rc == 0 || (rc == -EBADMSG && answerable(m))) {
		*out = m;
		return rc;
	}
	osip_message_free(m);
	if (rc == -EBADMSG && !err->is_response)
		*out = salvage(buf, len);
	return rc;
}

/* ---- serialisation ---- */

int sip_msg_to_bytes(osip_message_t *msg, char **buf, size_t *len)
{
	char *s = NULL, *end, num[16];
	size_t n = 0, body;
	int rc;

	if (!msg || !buf || !len)
		return -EINVAL;
	*buf = NULL;
	*len = 0;
	/* the structure may have been edited behind libosip2's cache */
	osip_message_force_update(msg);
	if ((rc = osip_message_to_str(msg, &s, &n)) != 0)
		return osip_rc(rc);
	if (n > SIP_MSG_MAX_LEN || !(end = memmem(s, n, "\r\n\r\n", 4))) {
		osip_free(s);
		return n > SIP_MSG_MAX_LEN ? -EMSGSIZE : -EINVAL;
	}
	/* libosip2 wrote the real Content-Length; keep the structure in step */
	body = n - (size_t)(end + 4 - s);
	snprintf(num, sizeof(num), "%zu", body);
	if (msg->content_length)
		rc = str_replace(&msg->content_length->value, num);
	else if ((rc = osip_content_length_init(&msg->content_length)) == 0)
		rc = (msg->content_length->value = osip_strdup(num)) ? 0 : -ENOMEM;
	else
		rc = -ENOMEM;
	if (rc) {
		osip_free(s);
		return rc;
	}
	*buf = s;
	*len = n;
	return 0;
}

void sip_msg_bytes_free(char *buf)
{
	osip_free(buf);
}

/* ---- Max-Forwards ---- */

int sip_msg_max_forwards(const osip_message_t *msg)
{
	osip_header_t *h;
	int count;

	if (!msg)
		return -EINVAL;
	if (!(h = find_header(msg, "max-forwards", &count)))
		return -ENOENT;
	return max_forwards_value(h->hvalue);
}

int sip_msg_decrement_max_forwards(osip_message_t *msg)
{
	osip_header_t *h;
	char num[12];
	int count, v, rc;

	if (!msg || !MSG_IS_REQUEST(msg))
		return -EINVAL;
	if (!(h = find_header(msg, "max-forwards", &count))) {
		/* RFC 3261 §16.6 step 3: add one, SHOULD be 70 */
		snprintf(num, sizeof(num), "%d", MAX_FORWARDS_DEFAULT);
		/* lower case, as libosip2 stores the names it parses */
		if (osip_message_set_header(msg, "max-forwards", num) != 0)
			return -ENOMEM;
		return 0;
	}
	if ((v = max_forwards_value(h->hvalue)) < 0)
		return v;
	if (v == 0)
		return -ERANGE; /* §16.3 step 3: the caller answers 483 */
	/* RFC 3261 §16.6 step 3: decrement by one */
	snprintf(num, sizeof(num), "%d", v - 1);
	if ((rc = str_replace(&h->hvalue, num)) < 0)
		return rc;
	osip_message_force_update(msg);
	return 0;
}

/* ---- Via ---- */

static osip_via_t *via_at(const osip_message_t *msg, int pos)
{
	return pos < 0 ? NULL : osip_list_get(&msg->vias, pos);
}

static const char *via_branch(const osip_via_t *via)
{
	osip_generic_param_t *b = param_get(&via->via_params, "branch");

	return b && b->gvalue && *b->gvalue ? b->gvalue : NULL;
}

static uint16_t via_port(const osip_via_t *via)
{
	uint16_t port;

	return parse_port(via->port, &port) ? port : default_port(via->protocol);
}

int sip_msg_top_via_fix(osip_message_t *msg, const char *src_ip, uint16_t src_port)
{
	char ip[SIP_HOST_MAX], num[8];
	unsigned char bin[16];
	osip_generic_param_t *rport;
	osip_via_t *via;
	int af, rc;

	if (!msg || !MSG_IS_REQUEST(msg) || !src_ip ||
	    !ip_literal(src_ip, ip, sizeof(ip), &af, bin) || src_port == 0)
		return -EINVAL;
	if (!(via = via_at(msg, 0)) || !via->host)
		return -ENOENT;
	rport = param_get(&via->via_params, "rport");
	if (rport) {
		/* RFC 3581 §4: the server sets rport to the source port */
		snprintf(num, sizeof(num), "%u", (unsigned)src_port);
		if ((rc = param_set(&via->via_params, "rport", num)) < 0)
			return rc;
	}
	/* RFC 3261 §18.2.1: received when sent-by is a name or another
	 * address; RFC 3581 §4: with rport, received is added even when it
	 * is the same. A received the sender wrote itself is overwritten. */
	if (rport || !host_equal(via->host, ip) || param_get(&via->via_params, "received")) {
		if ((rc = param_set(&via->via_params, "received", ip)) < 0)
			return rc;
	}
	osip_message_force_update(msg);
	return 0;
}

static int copy_host(struct sip_target *t, const char *host)
{
	size_t n = host ? strlen(host) : 0;

	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(t->host))
		return -EINVAL;
	memcpy(t->host, host, n);
	t->host[n] = '\0';
	t->numeric = is_ip_literal(t->host);
	return 0;
}

static int copy_transport(struct sip_target *t, const char *tr)
{
	size_t i, n = tr ? strlen(tr) : 0;

	if (n == 0 || n >= sizeof(t->transport))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!is_tchar((unsigned char)tr[i]))
			return -EINVAL;
		t->transport[i] = (char)(tr[i] >= 'a' && tr[i] <= 'z' ? tr[i] - 32 : tr[i]);
	}
	t->transport[n] = '\0';
	return 0;
}

int sip_msg_via_target(const osip_message_t *msg, int pos, bool use_maddr, struct sip_target *t)
{
	char b1[SIP_HOST_MAX], b2[8];
	const char *maddr, *received, *rport_s;
	uint16_t sent_port = 0, rport = 0;
	osip_via_t *via;
	int rc;

	if (!msg || !t)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	if (!(via = via_at(msg, pos)))
		return -ENOENT;
	if ((rc = copy_transport(t, via->protocol)) < 0)
		return rc;
	t->reliable = strcmp(t->transport, "UDP") != 0;
	if (via->port) {
		if (!parse_port(via->port, &sent_port))
			return -EINVAL;
		t->explicit_port = true;
	} else {
		sent_port = default_port(t->transport);
	}
	t->port = sent_port;

	maddr = use_maddr ? param_value(param_get(&via->via_params, "maddr"), b1, sizeof(b1)) : NULL;
	if (maddr && !t->reliable)
		/* RFC 3261 §18.2.2: maddr, with the sent-by port (a trusted
		 * sender only: from anyone else it is a reflection) */
		return copy_host(t, maddr);

	received = param_value(param_get(&via->via_params, "received"), b1, sizeof(b1));
	if (received) {
		/* RFC 3261 §18.2.2: the received address, sent-by port ... */
		if ((rc = copy_host(t, received)) < 0)
			return rc;
		rport_s = param_value(param_get(&via->via_params, "rport"), b2, sizeof(b2));
		if (rport_s && !t->reliable) {
			/* ... RFC 3581 §4: or rport when it has a value */
			if (!parse_port(rport_s, &rport))
				return -EINVAL;
			t->port = rport;
			t->explicit_port = true;
		}
		return 0;
	}
	/* RFC 3261 §18.2.2: else sent-by (a name goes to RFC 3263 §6) */
	return copy_host(t, via->host);
}

int sip_msg_response_target(const osip_message_t *resp, struct sip_target *t)
{
	if (!resp || !MSG_IS_RESPONSE(resp))
		return -EINVAL;
	/* the top Via is ours; the response goes where the next one says */
	return sip_msg_via_target(resp, 1, false, t);
}

int sip_msg_uri_target(const osip_uri_t *uri, struct sip_target *t)
{
	osip_uri_param_t *p = NULL;
	const char *host;
	bool sips;
	int rc;

	if (!uri || !t)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	if (!uri_is_sip(uri, &sips))
		return -EINVAL;
	/* RFC 3263 §4.1: the transport param, else UDP for sip, TLS for sips */
	osip_uri_uparam_get_byname((osip_uri_t *)uri, "transport", &p);
	if ((rc = copy_transport(t, p && p->gvalue ? p->gvalue : sips ? "TLS" : "UDP")) < 0)
		return rc;
	t->reliable = strcmp(t->transport, "UDP") != 0;
	/* RFC 3261 §16.6 step 7 / §19.1.1: maddr overrides the host */
	p = NULL;
	osip_uri_uparam_get_byname((osip_uri_t *)uri, "maddr", &p);
	host = p && p->gvalue ? p->gvalue : uri->host;
	if ((rc = copy_host(t, host)) < 0)
		return rc;
	if (uri->port) {
		if (!parse_port(uri->port, &t->port))
			return -EINVAL;
		t->explicit_port = true;
	} else {
		t->port = sips ? 5061 : default_port(t->transport);
	}
	return 0;
}

/* ---- branch, loop detection ---- */

struct fnv {
	uint64_t h;
};

static void fnv_add(struct fnv *f, const char *s)
{
	/* FNV-1a; a 0 byte ends each field so fields cannot run together */
	do {
		f->h ^= (unsigned char)(s ? *s : 0);
		f->h *= 0x100000001b3ull;
	} while (s && *s++);
}

static int fnv_add_alloc(struct fnv *f, int rc, char *s)
{
	if (rc != 0)
		return osip_rc(rc);
	fnv_add(f, s);
	osip_free(s);
	return 0;
}

static const char *tag_of(const osip_from_t *h)
{
	osip_generic_param_t *p;

	if (!h)
		return NULL;
	p = param_get(&h->gen_params, "tag");
	return p ? p->gvalue : NULL;
}

/* The §16.6 step 8 hash with the Via at via_pos standing for the "topmost
 * Via" of the request as it was received (-1: none). */
static int loop_hash(const osip_message_t *req, int via_pos, char *buf, size_t len)
{
	struct fnv f = {0xcbf29ce484222325ull};
	osip_via_t *via = via_at(req, via_pos);
	osip_header_t *h;
	char *s = NULL;
	uint8_t out[8];
	int i, n, rc;

	if (len < SIP_LOOP_KEY_LEN + 1)
		return -ENOSPC;
	if (!req->req_uri || !req->call_id || !req->cseq)
		return -EINVAL;
	fnv_add(&f, tag_of(req->to));
	fnv_add(&f, tag_of(req->from));
	fnv_add(&f, req->call_id->number);
	fnv_add(&f, req->call_id->host);
	rc = osip_uri_to_str(req->req_uri, &s);
	if ((rc = fnv_add_alloc(&f, rc, s)) < 0)
		return rc;
	/* the Via as sent-by and branch: later received/rport edits by the
	 * hop that added it must not change the hash */
	fnv_add(&f, via ? via->protocol : NULL);
	fnv_add(&f, via ? via->host : NULL);
	fnv_add(&f, via ? via->port : NULL);
	fnv_add(&f, via ? via_branch(via) : NULL);
	fnv_add(&f, req->cseq->number);
	n = osip_list_size(&req->headers);
	for (i = 0; i < n; i++) {
		h = osip_list_get(&req->headers, i);
		if (h && h->hname && !strcasecmp(h->hname, "proxy-require"))
			fnv_add(&f, h->hvalue);
	}
	n = osip_list_size(&req->proxy_authorizations);
	for (i = 0; i < n; i++) {
		s = NULL;
		rc = osip_authorization_to_str(osip_list_get(&req->proxy_authorizations, i), &s);
		if ((rc = fnv_add_alloc(&f, rc, s)) < 0)
			return rc;
	}
	for (i = 0; i < 8; i++)
		out[i] = (uint8_t)(f.h >> (56 - 8 * i));
	hex(buf, out, sizeof(out));
	return 0;
}

int sip_msg_loop_key(const osip_message_t *req, char *buf, size_t len)
{
	if (!req || !buf || !MSG_IS_REQUEST(req))
		return -EINVAL;
	return loop_hash(req, 0, buf, len);
}

static bool is_hex_key(const char *s)
{
	size_t i;

	for (i = 0; i < SIP_LOOP_KEY_LEN; i++)
		if (!is_digit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return true;
}

int sip_msg_make_branch(char *buf, size_t len, const char *loop_key,
			const uint8_t *entropy, size_t entropy_len)
{
	uint8_t rnd[16];
	size_t need;
	int rc;

	if (!buf)
		return -EINVAL;
	if (loop_key && (strlen(loop_key) != SIP_LOOP_KEY_LEN || !is_hex_key(loop_key)))
		return -EINVAL;
	if (entropy) {
		if (entropy_len < 8 || entropy_len > sizeof(rnd))
			return -EINVAL;
		memcpy(rnd, entropy, entropy_len);
	} else {
		entropy_len = 12;
		if ((rc = fill_bytes(rnd, entropy_len)) < 0)
			return rc;
	}
	need = BRANCH_COOKIE_LEN + (loop_key ? SIP_LOOP_KEY_LEN + 1 : 0) + 2 * entropy_len + 1;
	if (len < need)
		return -ENOSPC;
	/* RFC 3261 §8.1.1.7: the magic cookie, then something unique */
	memcpy(buf, BRANCH_COOKIE, BRANCH_COOKIE_LEN);
	need = BRANCH_COOKIE_LEN;
	if (loop_key) {
		memcpy(buf + need, loop_key, SIP_LOOP_KEY_LEN);
		need += SIP_LOOP_KEY_LEN;
		buf[need++] = '.';
	}
	hex(buf + need, rnd, entropy_len);
	return 0;
}

int sip_msg_add_via(osip_message_t *msg, const char *transport, const char *host,
		    uint16_t port, const char *branch)
{
	struct sip_target t; /* scratch for the checks */
	char gen[SIP_BRANCH_MAX], num[8];
	osip_via_t *via = NULL;
	int rc;

	if (!msg || !MSG_IS_REQUEST(msg))
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	if ((rc = copy_transport(&t, transport)) < 0 || (rc = copy_host(&t, host)) < 0)
		return rc;
	if (strpbrk(t.host, " \t;,\"<>\r\n"))
		return -EINVAL;
	if (!branch) {
		if ((rc = sip_msg_make_branch(gen, sizeof(gen), NULL, NULL, 0)) < 0)
			return rc;
		branch = gen;
	} else if (strncmp(branch, BRANCH_COOKIE, BRANCH_COOKIE_LEN) || !str_is_token(branch)) {
		return -EINVAL;
	}
	if (osip_via_init(&via) != 0)
		return -ENOMEM;
	rc = -ENOMEM;
	via_set_version(via, osip_strdup("2.0"));
	via_set_protocol(via, osip_strdup(t.transport));
	via_set_host(via, osip_strdup(t.host)); /* libosip2 adds [] for IPv6 */
	if (!via->version || !via->protocol || !via->host)
		goto fail;
	if (port) {
		snprintf(num, sizeof(num), "%u", (unsigned)port);
		via_set_port(via, osip_strdup(num));
		if (!via->port)
			goto fail;
	}
	if ((rc = param_set(&via->via_params, "branch", branch)) < 0)
		goto fail;
	/* RFC 3261 §16.6 step 8: ours goes on top */
	if (osip_list_add(&msg->vias, via, 0) < 0) {
		rc = -ENOMEM;
		goto fail;
	}
	osip_message_force_update(msg);
	return 0;
fail:
	osip_via_free(via);
	return rc;
}

int sip_msg_pop_via(osip_message_t *msg)
{
	osip_via_t *via;

	if (!msg)
		return -EINVAL;
	if (!(via = via_at(msg, 0)))
		return -ENOENT;
	osip_list_remove(&msg->vias, 0);
	osip_via_free(via);
	osip_message_force_update(msg);
	return 0;
}

int sip_msg_via_count(const osip_message_t *msg)
{
	return msg ? osip_list_size(&msg->vias) : -EINVAL;
}

bool sip_msg_is_looped(const osip_message_t *req, const char *host, uint16_t port)
{
	char key[SIP_LOOP_KEY_LEN + 1];
	const char *b;
	osip_via_t *via;
	int i, n;

	if (!req || !host || !MSG_IS_REQUEST(req))
		return false;
	n = osip_list_size(&req->vias);
	for (i = 0; i < n; i++) {
		via = via_at(req, i);
		/* RFC 3261 §16.3 step 4: a Via with our sent-by ... */
		if (!via || !host_equal(via->host, host) || via_port(via) != port)
			continue;
		b = via_branch(via);
		if (!b || strlen(b) < BRANCH_COOKIE_LEN + SIP_LOOP_KEY_LEN + 1 ||
		    strncmp(b, BRANCH_COOKIE, BRANCH_COOKIE_LEN) ||
		    b[BRANCH_COOKIE_LEN + SIP_LOOP_KEY_LEN] != '.')
			continue;
		/* ... whose branch holds the hash we would compute now (§16.6
		 * step 8). When we forwarded it the "topmost Via" was the one
		 * just below ours, so that one stands in for it. */
		if (loop_hash(req, i + 1 < n ? i + 1 : -1, key, sizeof(key)) == 0 &&
		    !memcmp(b + BRANCH_COOKIE_LEN, key, SIP_LOOP_KEY_LEN))
			return true;
	}
	return false;
}

/* ---- Record-Route and Route ---- */

static bool uri_has_lr(const osip_uri_t *uri)
{
	osip_uri_param_t *p = NULL;

	osip_uri_uparam_get_byname((osip_uri_t *)uri, "lr", &p);
	return p != NULL;
}

int sip_msg_add_record_route(osip_message_t *msg, const char *uri)
{
	osip_record_route_t *rr = NULL;
	osip_uri_t *u = NULL;
	char *s, *lr;
	size_t n;
	bool sips;
	int rc;

	if (!msg || !uri || !MSG_IS_REQUEST(msg))
		return -EINVAL;
	n = strlen(uri);
	if (n >= 2 && uri[0] == '<' && uri[n - 1] == '>') {
		uri++;
		n -= 2;
	}
	if (!(s = strndup(uri, n)))
		return -ENOMEM;
	rc = osip_uri_init(&u) ? -ENOMEM : osip_uri_parse(u, s) ? -EINVAL : 0;
	free(s);
	/* RFC 3261 §16.6 step 4: a SIP or SIPS URI */
	if (rc == 0 && (!uri_is_sip(u, &sips) || !u->host || !*u->host))
		rc = -EINVAL;
	if (rc < 0)
		goto fail;
	/* ... with the lr parameter (we are a loose router) */
	if (!uri_has_lr(u)) {
		if (!(lr = osip_strdup("lr"))) {
			rc = -ENOMEM;
			goto fail;
		}
		if (osip_uri_uparam_add(u, lr, NULL) != 0) {
			osip_free(lr);
			rc = -ENOMEM;
			goto fail;
		}
	}
	if (osip_record_route_init(&rr) != 0) {
		rc = -ENOMEM;
		goto fail;
	}
	osip_record_route_set_url(rr, u);
	u = NULL;
	/* ... inserted ahead of any existing values */
	if (osip_list_add(&msg->record_routes, rr, 0) < 0) {
		osip_record_route_free(rr);
		return -ENOMEM;
	}
	osip_message_force_update(msg);
	return 0;
fail:
	osip_uri_free(u);
	return rc;
}

static osip_uri_t *route_uri(const osip_message_t *msg, int pos)
{
	osip_route_t *r = pos < 0 ? NULL : osip_list_get(&msg->routes, pos);

	return r ? r->url : NULL;
}

static void route_remove(osip_message_t *msg, int pos)
{
	osip_route_t *r = osip_list_get(&msg->routes, pos);

	if (r) {
		osip_list_remove(&msg->routes, pos);
		osip_route_free(r);
	}
}

int sip_msg_route_preprocess(osip_message_t *msg, sip_msg_is_mine_fn *is_mine,
			     void *arg, const osip_uri_t **next_hop)
{
	osip_uri_t *u, *last;
	int n;

	if (!msg || !is_mine || !next_hop || !MSG_IS_REQUEST(msg) || !msg->req_uri)
		return -EINVAL;
	*next_hop = NULL;
	n = osip_list_size(&msg->routes);
	/* RFC 3261 §16.4: a Request-URI we put in a Record-Route means a
	 * strict router upstream: the real Request-URI is the last Route */
	if (n > 0 && is_mine(msg->req_uri, arg)) {
		if (!(last = route_uri(msg, n - 1)))
			return -EINVAL;
		if (osip_uri_clone(last, &u) != 0)
			return -ENOMEM;
		osip_uri_free(msg->req_uri);
		msg->req_uri = u;
		route_remove(msg, n - 1);
	}
	/* RFC 3261 §16.4: if the first Route is us, remove it; a proxy
	 * between two realms records two routes (RFC 5658), so repeat */
	while ((u = route_uri(msg, 0)) && is_mine(u, arg))
		route_remove(msg, 0);
	/* RFC 3261 §16.6 steps 6-7: the next hop is the first Route, else
	 * the Request-URI */
	*next_hop = (u = route_uri(msg, 0)) ? u : msg->req_uri;
	osip_message_force_update(msg);
	return 0;
}

int sip_msg_route_strict_fixup(osip_message_t *msg)
{
	osip_route_t *r = NULL;
	osip_uri_t *top, *old = NULL, *next = NULL;

	if (!msg || !MSG_IS_REQUEST(msg) || !msg->req_uri)
		return -EINVAL;
	if (!(top = route_uri(msg, 0)) || uri_has_lr(top))
		return 0;
	/* RFC 3261 §16.6 step 6: the Request-URI becomes the last Route ... */
	if (osip_uri_clone(msg->req_uri, &old) != 0 || osip_uri_clone(top, &next) != 0 ||
	    osip_route_init(&r) != 0)
		goto nomem;
	osip_route_set_url(r, old);
	old = NULL;
	if (osip_list_add(&msg->routes, r, -1) < 0)
		goto nomem;
	/* ... and the first Route, removed, becomes the Request-URI */
	osip_uri_free(msg->req_uri);
	msg->req_uri = next;
	route_remove(msg, 0);
	osip_message_force_update(msg);
	return 0;
nomem:
	osip_route_free(r);
	osip_uri_free(old);
	osip_uri_free(next);
	return -ENOMEM;
}

/* ---- responses ---- */

static bool reason_ok(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

int sip_msg_build_response(const osip_message_t *req, int status, const char *reason,
			   const char *to_tag, osip_message_t **out)
{
	char tag[17];
	uint8_t rnd[8];
	osip_message_t *r = NULL;
	osip_header_t *ts;
	int rc, count;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!answerable(req) || status < 100 || status > 699)
		return -EINVAL;
	if (!reason)
		reason = osip_message_get_reason(status);
	if (!reason || !*reason)
		reason = "Unknown";
	if (!reason_ok(reason) || (to_tag && !str_is_token(to_tag)))
		return -EINVAL;

	if (osip_message_init(&r) != 0)
		return -ENOMEM;
	rc = -ENOMEM;
	osip_message_set_version(r, osip_strdup("SIP/2.0"));
	osip_message_set_status_code(r, status);
	osip_message_set_reason_phrase(r, osip_strdup(reason));
	if (!r->sip_version || !r->reason_phrase)
		goto fail;
	/* RFC 3261 §8.2.6.2: Via (all, in order), From, Call-ID, CSeq and To
	 * copied from the request */
	if (osip_list_clone(&req->vias, &r->vias, (int (*)(void *, void **))osip_via_clone) != 0 ||
	    osip_from_clone(req->from, &r->from) != 0 || osip_to_clone(req->to, &r->to) != 0 ||
	    osip_call_id_clone(req->call_id, &r->call_id) != 0 ||
	    osip_cseq_clone(req->cseq, &r->cseq) != 0)
		goto fail;
	/* ... and a To tag unless there is one already; 100 may go without */
	if (status > 100 && !tag_of(r->to)) {
		if (!to_tag) {
			if ((rc = fill_bytes(rnd, sizeof(rnd))) < 0)
				goto fail;
			hex(tag, rnd, sizeof(rnd));
			to_tag = tag;
		}
		if ((rc = param_set(&r->to->gen_params, "tag", to_tag)) < 0)
			goto fail;
	}
	/* RFC 3261 §8.2.6.1: a 100 copies Timestamp */
	rc = -ENOMEM;
	if (status == 100 && (ts = find_header(req, "timestamp", &count)) && ts->hvalue &&
	    osip_message_set_header(r, "timestamp", ts->hvalue) != 0)
		goto fail;
	if (osip_message_set_content_length(r, "0") != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	osip_message_free(r);
	return rc;
}

/* ---- bodies ---- */

static bool ct_is(const osip_content_type_t *ct, const char *type, const char *subtype)
{
	return ct && ct->type && !strcasecmp(ct->type, type) &&
	       (!subtype || (ct->subtype && !strcasecmp(ct->subtype, subtype)));
}

static osip_body_t *find_sdp(const osip_message_t *msg)
{
	osip_body_t *b;
	int i, n = osip_list_size(&msg->bodies);

	if (ct_is(msg->content_type, "application", "sdp"))
		return osip_list_get(&msg->bodies, 0);
	if (!ct_is(msg->content_type, "multipart", NULL))
		return NULL;
	/* multipart/mixed, /alternative, /related: the application/sdp part */
	for (i = 0; i < n; i++) {
		b = osip_list_get(&msg->bodies, i);
		if (b && ct_is(b->content_type, "application", "sdp"))
			return b;
	}
	return NULL;
}

int sip_msg_get_sdp_body(const osip_message_t *msg, const char **sdp, size_t *len)
{
	osip_body_t *b;

	if (!msg || !sdp || !len)
		return -EINVAL;
	*sdp = NULL;
	*len = 0;
	if (!(b = find_sdp(msg)) || !b->body || !b->length)
		return -ENOENT;
	*sdp = b->body;
	*len = b->length;
	return 0;
}

int sip_msg_set_sdp_body(osip_message_t *msg, const char *sdp, size_t len)
{
	osip_header_t *h;
	osip_body_t *b;
	char *copy, num[16];
	int i, n, rc;

	/* libosip2 cannot write an empty body */
	if (!msg || !sdp || len == 0)
		return -EINVAL;
	if (len > SIP_MSG_MAX_LEN)
		return -EMSGSIZE;
	if (!(b = find_sdp(msg)))
		return -ENOENT;
	if (!(copy = osip_malloc(len + 1)))
		return -ENOMEM;
	memcpy(copy, sdp, len);
	copy[len] = '\0';
	/* a part's own Content-Length, rare but legal, follows the new size */
	snprintf(num, sizeof(num), "%zu", len);
	n = b->headers ? osip_list_size(b->headers) : 0;
	for (i = 0; i < n; i++) {
		h = osip_list_get(b->headers, i);
		if (h && h->hname && (!strcasecmp(h->hname, "content-length") ||
				      !strcasecmp(h->hname, "l")) &&
		    (rc = str_replace(&h->hvalue, num)) < 0) {
			osip_free(copy);
			return rc;
		}
	}
	osip_free(b->body);
	b->body = copy;
	b->length = len;
	osip_message_force_update(msg);
	return 0;
}

/* ---- keys ---- */

static int key_put(size_t len, int n)
{
	return n < 0 ? -EINVAL : (size_t)n >= len ? -ENOSPC : 0;
}

static const char *key_method(const char *m, bool cancel_as_invite)
{
	/* RFC 3261 §17.2.3: an ACK matches the INVITE transaction; §9.2: a
	 * CANCEL is matched to the INVITE it cancels the same way */
	if (!strcmp(m, "ACK") || (cancel_as_invite && !strcmp(m, "CANCEL")))
		return "INVITE";
	return m;
}

int sip_msg_txn_key(const osip_message_t *msg, bool cancel_as_invite, char *buf, size_t len)
{
	const char *branch, *method;
	osip_via_t *via;
	size_t i, off;
	int rc;

	if (!msg || !buf || !len || !msg->cseq || !msg->cseq->method)
		return -EINVAL;
	if (!(via = via_at(msg, 0)) || !via->host)
		return -EINVAL;
	/* RFC 3261 §17.2.3: only a branch with the magic cookie is unique */
	branch = via_branch(via);
	if (!branch || strncmp(branch, BRANCH_COOKIE, BRANCH_COOKIE_LEN))
		return -ENOTSUP;
	if (MSG_IS_RESPONSE(msg)) {
		/* RFC 3261 §17.1.3: branch and CSeq method */
		method = key_method(msg->cseq->method, cancel_as_invite);
		return key_put(len, snprintf(buf, len, "%s %s", branch, method));
	}
	if (!msg->sip_method)
		return -EINVAL;
	/* RFC 3261 §17.2.3: branch, sent-by and method */
	method = key_method(msg->sip_method, cancel_as_invite);
	off = strlen(branch) + 1;
	rc = key_put(len,
		     snprintf(buf, len, strchr(via->host, ':') ? "%s [%s]:%u %s" : "%s %s:%u %s",
			      branch, via->host, (unsigned)via_port(via), method));
	if (rc == 0) /* host names compare case-insensitively */
		for (i = off; buf[i] && buf[i] != ' '; i++)
			buf[i] = (char)lower((unsigned char)buf[i]);
	return rc;
}

const char *sip_msg_call_id(const osip_message_t *msg, char *buf, size_t len)
{
	if (!buf || !len)
		return "-";
	if (!msg || !msg->call_id || !msg->call_id->number)
		snprintf(buf, len, "-");
	else if (msg->call_id->host)
		snprintf(buf, len, "%s@%s", msg->call_id->number, msg->call_id->host);
	else
		snprintf(buf, len, "%s", msg->call_id->number);
	return buf;
}

int sip_msg_dialog_id(const osip_message_t *msg, char *buf, size_t len)
{
	const char *ft, *tt, *a, *b;

	if (!msg || !buf || !len || !msg->call_id || !msg->call_id->number)
		return -EINVAL;
	ft = tag_of(msg->from);
	tt = tag_of(msg->to);
	if (!ft || !tt || !*ft || !*tt)
		return -ENOENT;
	/* RFC 3261 §12: Call-ID, local and remote tag; a proxy sees both
	 * directions, so the tags go in a fixed order */
	a = strcmp(ft, tt) <= 0 ? ft : tt;
	b = a == ft ? tt : ft;
	return key_put(len,
		       snprintf(buf, len, "%s%s%s;%s;%s", msg->call_id->number,
				msg->call_id->host ? "@" : "",
				msg->call_id->host ? msg->call_id->host : "", a, b));
}
