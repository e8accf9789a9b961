/* sip_grammar: RFC 3261's URI and name-addr grammar, on the raw text,
 * before libosip2 sees it (framing pass, sip_frame.c).
 *
 * Theory of operation. libosip2's URI parser is lenient and lossy, and it
 * unescapes into C strings; what it cannot place it drops. So every URI
 * the proxy accepts - the Request-URI and those of To, From, Contact,
 * Route and Record-Route - must match the grammar byte for byte here
 * (sip_uri_text_ok(), sip_addr_value_check()), with no escape libosip2
 * would not decode back (bad_escape()), and every "[...]" of a Via must
 * hold an IPv6 address (sip_via_brackets_ok()). The functions only read
 * their input and answer yes or no.
 */
#include "sip_priv.h"

#include <arpa/inet.h>
#include <string.h>

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

bool sip_uri_escapes_ok(const char *p, size_t n)
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
size_t sip_uri_run(const char *p, size_t n, size_t i, const char *extra)
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
bool sip_uri_text_ok(const char *p, size_t n, size_t i, bool *headers)
{
	const char *at = memchr(p + i, '@', n - i);
	size_t j;

	if (at) {
		/* user = 1*( unreserved / escaped / user-unreserved ) */
		j = sip_uri_run(p, n, i, "&=+$,;?/#");
		if (j == i)
			return false;
		if (j < n && p[j] == ':')
			j = sip_uri_run(p, n, j + 1, "&=+$,"); /* password */
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
		j = sip_uri_run(p, n, i + 1, "[]/:&+$");
		if (j == i + 1 || !uri_part_untrimmed(p, i + 1, j))
			return false;
		i = j;
		if (i < n && p[i] == '=') {
			j = sip_uri_run(p, n, i + 1, "[]/:&+$");
			if (j == i + 1 || !uri_part_untrimmed(p, i + 1, j))
				return false;
			i = j;
		}
	}
	/* headers = "?" header *( "&" header ), header = hname "=" hvalue */
	*headers = i < n && p[i] == '?';
	if (*headers) {
		do {
			j = sip_uri_run(p, n, i + 1, "[]/?:+$");
			if (j == i + 1 || j >= n || p[j] != '=' || !uri_part_untrimmed(p, i + 1, j))
				return false;
			i = sip_uri_run(p, n, j + 1, "[]/?:+$");
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
	if (sip_span_ieq(p, s, "sip") || sip_span_ieq(p, s, "sips"))
		return sip_uri_text_ok(p, n, s + 1, &headers) && (headers_ok || !headers);
	return s + 1 < n && sip_uri_run(p, n, s + 1, ";/?:@&=+$,[]") == n;
}

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
enum addr_verdict sip_addr_value_check(const char *p, size_t n, enum hdr_kind kind)
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
			if (j - i == 3 && sip_span_ieq(p + i, 3, "tag") && ++tags > 1)
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
bool sip_via_brackets_ok(const char *p, size_t n)
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
