/* sip_priv: what the pieces of the libosip2 adapter share, and nothing
 * outside sipproxy/sip/ includes.
 *
 * The adapter is one module cut into files along the stages a message
 * goes through (see README.md): sip_frame.c and sip_grammar.c check the
 * raw bytes, sip_msg.c drives the parse and serialises, sip_check.c checks
 * the parsed structure and its round trip, sip_via.c, sip_edit.c and
 * sip_build.c edit, build and key messages, sip_access.c reads them for
 * the rest of the proxy. The helpers below are the vocabulary they share:
 * ASCII character classes (inline: framing calls them per byte), strict
 * numbers, libosip2 parameter lists, IP literals, random bytes.
 */
#ifndef SIPPROXY_SIP_PRIV_H
#define SIPPROXY_SIP_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sip_msg.h"

#define BRANCH_COOKIE "z9hG4bK" /* RFC 3261 §8.1.1.7 */
#define BRANCH_COOKIE_LEN 7

/* ---- character classes (ASCII, no locale) ---- */

static inline bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* RFC 3261 §25.1 token characters. */
static inline bool is_tchar(int c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("-.!%*_+`'~", c));
}

/* RFC 3261 §25.1 "word" characters (Call-ID). */
static inline bool is_wordchar(int c)
{
	return is_tchar(c) || (c && strchr("()<>:\\\"/[]?{}", c));
}

static inline int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static inline int hexval(int c)
{
	if (is_digit(c))
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* ---- sip_util.c ---- */

/* p[0..n) equals the literal, ASCII case-insensitively. */
bool sip_span_ieq(const char *p, size_t n, const char *lit);
/* s is a non-empty RFC 3261 token. */
bool sip_str_is_token(const char *s);
/* Strict unsigned decimal of at most max, no sign, no blanks. */
bool sip_parse_uint(const char *s, size_t n, unsigned long max, unsigned long *out);
/* A port 1..65535 written in decimal. */
bool sip_parse_port(const char *s, uint16_t *port);
/* Parameter value without surrounding quotes (some peers quote received). */
const char *sip_param_value(const osip_generic_param_t *p, char *buf, size_t len);
/* The parameter of that name in a generic parameter list, or NULL. */
osip_generic_param_t *sip_param_get(const osip_list_t *list, const char *name);
/* Set (or add) a parameter in a generic parameter list. */
int sip_param_set(osip_list_t *list, const char *name, const char *value);
/* Replace a malloc'd libosip2 string. */
int sip_str_replace(char **dst, const char *value);
/* A libosip2 error as a negative errno. */
int sip_osip_rc(int rc);
/* Copy an IP literal without brackets into buf; false if it is not one. */
bool sip_ip_literal(const char *s, char *buf, size_t len, int *af, unsigned char *bin);
bool sip_is_ip_literal(const char *s);
/* Same host: IP literals compared as addresses, names case-insensitively. */
bool sip_host_equal(const char *a, const char *b);
/* RFC 3261 §19.1.1: 5060, or 5061 over TLS and WSS. */
uint16_t sip_default_port(const char *transport);
/* n bytes from getrandom(). */
int sip_fill_bytes(uint8_t *buf, size_t n);
/* Lower-case hex of n bytes and a NUL into out (2n + 1 bytes). */
void sip_hex(char *out, const uint8_t *p, size_t n);
/* The tag parameter of a From or To, NULL if none. */
const char *sip_tag_of(const osip_from_t *h);
/* Max-Forwards text as 0..255, -EINVAL otherwise. */
int sip_max_forwards_value(const char *s);
/* The first header of that name (case-insensitive) and how many there are. */
osip_header_t *sip_find_header(const osip_message_t *msg, const char *name, int *count);
/* A sip: or sips: URI (*sips says which). */
bool sip_uri_is_sip(const osip_uri_t *uri, bool *sips);
/* The Via at pos (0: top), NULL if none. */
osip_via_t *sip_via_at(const osip_message_t *msg, int pos);
/* A Via's non-empty branch, NULL if none. */
const char *sip_via_branch(const osip_via_t *via);
/* A Via's port, or the transport's default. */
uint16_t sip_via_port(const osip_via_t *via);

/* ---- sip_grammar.c: URI and name-addr grammar on the raw text ---- */

/* Header kinds the framing pass tracks: single-valued, then lists. */
enum hdr_kind {
	H_OTHER, H_TO, H_FROM, H_CALLID, H_CSEQ, H_MAXFWD, H_CLEN, H_CTYPE, /* single */
	H_CONTACT, H_ROUTE, H_RR, H_VIA, H_NKINDS                             /* lists */
};

enum addr_verdict { ADDR_OK, ADDR_BAD_URI, ADDR_BAD };

/* No '%' in p[0..n) that libosip2 would not decode back as it came. */
bool sip_uri_escapes_ok(const char *p, size_t n);
/* End of the run at i of unreserved characters, good escapes and extra. */
size_t sip_uri_run(const char *p, size_t n, size_t i, const char *extra);
/* p[i..n) after "sip:" / "sips:" is a SIP-URI exactly; *headers: it has
 * URI headers. */
bool sip_uri_text_ok(const char *p, size_t n, size_t i, bool *headers);
/* The whole value of a To, From, Contact, Route or Record-Route. */
enum addr_verdict sip_addr_value_check(const char *p, size_t n, enum hdr_kind kind);
/* Every "[...]" of a Via value holds an IPv6 address. */
bool sip_via_brackets_ok(const char *p, size_t n);

/* ---- sip_frame.c: pass 1 ---- */

struct sip_canon {
	const char *in; /* input and its length */
	size_t in_len;
	char *out;      /* canonical copy, capacity 3 * in_len + 16 */
	size_t len;
	unsigned count[H_NKINDS];
	size_t clen_off, clen_len; /* Content-Length value inside out */
	size_t ctype_off, ctype_len; /* Content-Type value inside out */
	bool response;
	const char *bad_addr; /* why a name-addr header is refused (sip_addr_value_check) */
};

/* Frame c->in into the canonical copy c->out. 0, -EBADMSG with err set,
 * or -ENOMEM. */
int sip_frame(struct sip_canon *c, struct sip_err *err);

/* ---- sip_check.c: passes 3 and 4 ---- */

/* Fill err with status and reason; returns -EBADMSG. */
int sip_check_fail(struct sip_err *err, int status, const char *reason);
/* Pass 3: the mandatory headers and what libosip2 writes back. */
int sip_check_message(const osip_message_t *m, struct sip_err *err);
/* Pass 4: written out and read back, m says the same. 0, -EBADMSG, -ENOMEM. */
int sip_roundtrip_check(osip_message_t *m, struct sip_err *err);
/* A request a response can be built for (never an ACK). */
bool sip_answerable(const osip_message_t *m);

/* ---- sip_plain.c: when pass 4 can be skipped ---- */

/* Every part of m is of the plain forms libosip2 writes back as it read
 * them (sip_plain.c), so the round trip of pass 4 would pass. */
bool sip_plain(const osip_message_t *m);

#endif
