/* Unit tests of sdp_rewrite: planning, applying, hostile bodies.
 *
 * Fixtures live in tests/sdp/ (SDP_DIR) with LF line ends; load() turns
 * them into CRLF bodies, as SIP carries them, unless a test asks for LF.
 * Every rewritten body is checked by check_rewritten(): libosip2 parses
 * it, each stream carries its allocation (or is untouched), and it plans
 * again. The mutation test runs a fixed number of mutants from a fixed
 * seed, so a failure reproduces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include <osipparser2/sdp_message.h>

#include "../sdp_rewrite.h"

#ifndef SDP_DIR
#define SDP_DIR "sipproxy/tests/sdp"
#endif

#define BUF_MAX (SDP_BODY_MAX * 2 + 4096)

static char body[BUF_MAX];
static char out[BUF_MAX];

static const char *const good_fixtures[] = {
	"softphone_offer.sdp", "softphone_answer.sdp", "baresip.sdp", "sipp_uac_pcap.sdp",
	"session_c.sdp",       "media_c.sdp",          "two_addrs.sdp", "port0.sdp",
	"hold_sendonly.sdp",   "hold_inactive.sdp",    "hold_zero.sdp", "rtcp_kinds.sdp",
	"ipv6_port0.sdp",      "multicast.sdp",        "bundle.sdp",   "srtp_sdes.sdp",
	"srtp_sdes_answer.sdp", "srtp_dtls.sdp",       "srtp_savpf_mux.sdp",
};
#define NGOOD (sizeof(good_fixtures) / sizeof(good_fixtures[0]))

static const char *const bad_fixtures[] = {"no_c.sdp", "fqdn.sdp", "ipv6.sdp"};
#define NBAD (sizeof(bad_fixtures) / sizeof(bad_fixtures[0]))

/* LF text to CRLF (or as is) in dst; returns the length. */
static size_t to_eol(const char *src, size_t n, bool crlf, char *dst, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (src[i] == '\n' && crlf) {
			assert_true(k + 1 < cap);
			dst[k++] = '\r';
		}
		assert_true(k < cap);
		dst[k++] = src[i];
	}
	assert_true(k < cap);
	dst[k] = '\0';
	return k;
}

static size_t load(const char *name, bool crlf, char *dst, size_t cap)
{
	static char raw[BUF_MAX];
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", SDP_DIR, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open fixture %s", path);
	n = fread(raw, 1, sizeof(raw) - 1, f);
	fclose(f);
	assert_true(n > 0);
	return to_eol(raw, n, crlf, dst, cap);
}

/* An LF literal as a CRLF body. */
static size_t crlf_of(const char *lf, char *dst)
{
	return to_eol(lf, strlen(lf), true, dst, BUF_MAX);
}

static void ip(struct nc_ep *e, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->ip.af = NC_AF_IP4;
	e->ip.a[0] = a;
	e->ip.a[1] = b;
	e->ip.a[2] = c;
	e->ip.a[3] = d;
	e->port = port;
}

/* Endpoint i gets 198.51.100.(10+i):(30000+2i), so streams differ. */
static void fake_alloc(const struct sdp_plan *pl, struct nc_ep *alloc)
{
	for (unsigned i = 0; i < sdp_plan_nendpoints(pl); i++)
		ip(&alloc[i], 198, 51, 100, (uint8_t)(10 + i), (uint16_t)(30000 + 2 * i));
}

/* Every endpoint allocated to itself. */
static void identity_alloc(const struct sdp_plan *pl, struct nc_ep *alloc)
{
	for (unsigned i = 0; i < sdp_plan_nendpoints(pl); i++) {
		const struct sdp_endpoint *e = sdp_plan_endpoint(pl, i);

		ip(&alloc[i], e->addr[0], e->addr[1], e->addr[2], e->addr[3], e->port);
	}
}

static void ipstr(const uint8_t a[4], char *s)
{
	sprintf(s, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

static int plan_ok(const char *b, size_t n, struct sdp_plan **pl)
{
	unsigned line = 99;
	int r = sdp_plan(b, n, pl, &line);

	if (r < 0)
		fail_msg("plan failed: %s (line %u)", sdp_strerror(r), line);
	assert_int_equal(line, 0);
	assert_non_null(*pl);
	return r;
}

static void expect_err(const char *b, size_t n, int err, unsigned want_line)
{
	struct sdp_plan *pl = (struct sdp_plan *)1;
	unsigned line = 12345;
	int r = sdp_plan(b, n, &pl, &line);

	if (r != err)
		fail_msg("want %d (%s), got %d (%s) at line %u", err, sdp_strerror(err), r,
			 sdp_strerror(r), line);
	assert_null(pl);
	if (want_line != (unsigned)-1)
		assert_int_equal(line, want_line);
}

static void expect_err_lf(const char *lf, int err, unsigned want_line)
{
	size_t n = crlf_of(lf, body);

	expect_err(body, n, err, want_line);
}

static int apply(const struct sdp_plan *pl, const struct nc_ep *alloc,
		 const struct sdp_apply_opts *o)
{
	int n = sdp_apply(pl, alloc, sdp_plan_nendpoints(pl), o, out, sdp_apply_bound(pl));

	if (n < 0)
		fail_msg("apply failed: %s", sdp_strerror(n));
	assert_int_equal(out[n], '\0');
	assert_true((size_t)n < sdp_apply_bound(pl));
	return n;
}

static size_t count(const char *hay, const char *needle)
{
	size_t k = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		k++;
	return k;
}

static const sdp_connection_t *eff_conn(sdp_message_t *m, sdp_media_t *md)
{
	const sdp_connection_t *c = osip_list_get(&md->c_connections, 0);

	return c ? c : m->c_connection;
}

static const char *attr(sdp_media_t *md, const char *name)
{
	for (int i = 0; i < osip_list_size(&md->a_attributes); i++) {
		sdp_attribute_t *a = osip_list_get(&md->a_attributes, i);

		if (!strcmp(a->a_att_field, name))
			return a->a_att_value ? a->a_att_value : "";
	}
	return NULL;
}

/* Is the line an ICE one (what STRIP removes)? By attribute name, which
 * ends at ':' or at the line end ("a=candidates" is another attribute). */
static bool is_ice_line(const char *l)
{
	size_t n;

	if (strncmp(l, "a=", 2))
		return false;
	l += 2;
	n = strcspn(l, ":\r\n");
	return (n == 9 && !strncmp(l, "candidate", 9)) ||
	       (n == 17 && !strncmp(l, "remote-candidates", 17)) ||
	       (n == 17 && !strncmp(l, "end-of-candidates", 17)) ||
	       (n > 4 && !strncmp(l, "ice-", 4));
}

/* The full semantic check of a rewritten body (see the top of the file). */
static void check_rewritten(const struct sdp_plan *pl, const struct nc_ep *alloc,
			    const char *res, size_t n, enum sdp_ice_policy ice)
{
	sdp_message_t *m;
	struct sdp_plan *p2;
	unsigned line;
	int r;

	assert_int_equal(strlen(res), n);
	assert_int_equal(sdp_message_init(&m), 0);
	if (sdp_message_parse(m, res) != 0)
		fail_msg("libosip2 rejects the output:\n%s", res);
	assert_int_equal(osip_list_size(&m->m_medias), (int)sdp_plan_nstreams(pl));
	for (unsigned i = 0; i < sdp_plan_nstreams(pl); i++) {
		const struct sdp_stream *st = sdp_plan_stream(pl, i);
		sdp_media_t *md = osip_list_get(&m->m_medias, (int)i);
		const sdp_connection_t *c = eff_conn(m, md);
		char want[16], buf[64];

		if (st->kind != SDP_STREAM_BIND) {
			assert_int_equal(atoi(md->m_port), st->port);
			if (st->kind != SDP_STREAM_DISABLED) {
				ipstr(st->addr, want);
				assert_non_null(c);
				assert_string_equal(c->c_addr, want);
			}
			continue;
		}
		const struct nc_ep *a = &alloc[st->ep];
		const struct nc_ep *ar = st->rtcp_ep >= 0 ? &alloc[st->rtcp_ep] : a;
		const char *rtcp = attr(md, "rtcp");

		assert_int_equal(atoi(md->m_port), a->port);
		ipstr(a->ip.a, want);
		assert_non_null(c);
		assert_string_equal(c->c_addr, want);
		switch (st->rtcp) {
		case SDP_RTCP_NONE:
		case SDP_RTCP_IMPLICIT:
			assert_null(rtcp);
			break;
		case SDP_RTCP_PAIR:
			assert_non_null(rtcp);
			assert_int_equal(atoi(rtcp), a->port + 1);
			if (st->rtcp_has_addr) {
				snprintf(buf, sizeof(buf), "%u IN IP4 %s", a->port + 1, want);
				assert_int_equal(strcasecmp(rtcp, buf), 0); /* "IN ip4" is kept */
			}
			break;
		case SDP_RTCP_MUX:
			assert_non_null(rtcp);
			if (!strstr(rtcp, " 0.0.0.0")) /* WebRTC's placeholder stays */
				assert_int_equal(atoi(rtcp), a->port);
			break;
		case SDP_RTCP_SEPARATE: {
			char wr[16];

			assert_non_null(rtcp);
			assert_int_equal(atoi(rtcp), ar->port);
			ipstr(ar->ip.a, wr);
			if (strchr(rtcp, ' ')) {
				snprintf(buf, sizeof(buf), "%u IN IP4 %s", ar->port, wr);
				assert_int_equal(strcasecmp(rtcp, buf), 0); /* "IN ip4" is kept */
			} else {
				assert_string_equal(wr, want);
			}
			break;
		}
		}
		/* REWRITE: the only candidates are ours */
		for (int k = 0; ice == SDP_ICE_REWRITE && k < osip_list_size(&md->a_attributes); k++) {
			sdp_attribute_t *at = osip_list_get(&md->a_attributes, k);
			char wr[16];

			ipstr(ar->ip.a, wr);
			if (!strcmp(at->a_att_field, "candidate"))
				assert_true(strstr(at->a_att_value, want) || strstr(at->a_att_value, wr));
		}
	}
	if (ice == SDP_ICE_STRIP)
		for (const char *l = res; *l; l = strchr(l, '\n') + 1)
			if (is_ice_line(l))
				fail_msg("ICE line left: %.*s", (int)(strchr(l, '\n') - l), l);
	sdp_message_free(m);

	/* and the result plans again, to the allocations */
	r = sdp_plan(res, n, &p2, &line);
	if (r < 0)
		fail_msg("output does not plan: %s at line %u:\n%s", sdp_strerror(r), line, res);
	for (unsigned i = 0; i < sdp_plan_nstreams(pl); i++) {
		const struct sdp_stream *a = sdp_plan_stream(pl, i), *b = sdp_plan_stream(p2, i);

		assert_int_equal(a->kind, b->kind);
		assert_int_equal(a->dir, b->dir);
		if (a->kind == SDP_STREAM_BIND) {
			assert_memory_equal(b->addr, alloc[a->ep].ip.a, 4);
			assert_int_equal(b->port, alloc[a->ep].port);
		}
	}
	sdp_plan_free(p2);
}

/* Plan, fake allocations, apply under policy, check. */
static void round_trip(const char *b, size_t n, enum sdp_ice_policy ice)
{
	struct sdp_apply_opts o = {.ice = ice};
	struct nc_ep alloc[SDP_EP_MAX];
	struct sdp_plan *pl;
	int k;

	plan_ok(b, n, &pl);
	fake_alloc(pl, alloc);
	k = apply(pl, alloc, &o);
	check_rewritten(pl, alloc, out, (size_t)k, ice);
	sdp_plan_free(pl);
}

/* Walks two bodies line by line in step (each line with its end) and
 * calls same(line of a, line of b, arg) for each pair; both must end
 * together. */
typedef void line_pair_fn(const char *a, size_t la, const char *b, size_t lb, void *arg);
static void line_pairs(const char *a, size_t na, const char *b, size_t nb, line_pair_fn *same,
		       void *arg)
{
	size_t i = 0, j = 0;

	while (i < na && j < nb) {
		const char *ea = memchr(a + i, '\n', na - i), *eb = memchr(b + j, '\n', nb - j);
		size_t la, lb;

		assert_non_null(ea);
		assert_non_null(eb);
		la = (size_t)(ea - (a + i)) + 1;
		lb = (size_t)(eb - (b + j)) + 1;
		same(a + i, la, b + j, lb, arg);
		i += la;
		j += lb;
	}
	assert_int_equal(i, na);
	assert_int_equal(j, nb);
}

static void line_differs(const char *a, size_t la, const char *b, size_t lb)
{
	fail_msg("line differs:\n  in:  %.*s  out: %.*s", (int)la, a, (int)lb, b);
}

struct but_o {
	bool skip_sess_c, session;
};

static void same_but_o(const char *a, size_t la, const char *b, size_t lb, void *arg)
{
	struct but_o *st = arg;

	if (!strncmp(a, "m=", 2))
		st->session = false;
	if ((strncmp(a, "o=", 2) || strncmp(b, "o=", 2)) &&
	    !(st->skip_sess_c && st->session && !strncmp(a, "c=", 2)) &&
	    (la != lb || memcmp(a, b, la)))
		line_differs(a, la, b, lb);
}

/* Bodies equal line by line, o= lines excepted, and the session c= when
 * skip_sess_c. */
static void equal_but_o(const char *a, size_t na, const char *b, size_t nb, bool skip_sess_c)
{
	struct but_o st = {.skip_sess_c = skip_sess_c, .session = true};

	line_pairs(a, na, b, nb, same_but_o, &st);
}

/* Allocating every endpoint to itself with ICE kept changes nothing but
 * (perhaps) o='s address: the rewriting touches only what changes. The
 * one other exception: a session c= that no bound stream inherits takes
 * the first bound stream's address, so it does not show a private one. */
static void identity(const char *b, size_t n)
{
	struct sdp_apply_opts o = {.ice = SDP_ICE_KEEP};
	struct nc_ep alloc[SDP_EP_MAX];
	struct sdp_plan *pl;
	bool inherited = false;
	int k;

	plan_ok(b, n, &pl);
	for (unsigned i = 0; i < sdp_plan_nstreams(pl); i++)
		inherited |= sdp_plan_stream(pl, i)->kind == SDP_STREAM_BIND &&
			     !sdp_plan_stream(pl, i)->conn_media;
	identity_alloc(pl, alloc);
	k = apply(pl, alloc, &o);
	equal_but_o(b, n, out, (size_t)k, !inherited);
	sdp_plan_free(pl);
}

/* ---- SRTP: keying passes untouched ---- */

/* Is the line an SRTP keying one: SDES (RFC 4568 a=crypto) or DTLS-SRTP
 * (RFC 8122 a=fingerprint, RFC 4145 a=setup, RFC 8842 a=tls-id)? */
static bool is_keying_line(const char *l)
{
	return !strncmp(l, "a=crypto:", 9) || !strncmp(l, "a=fingerprint:", 14) ||
	       !strncmp(l, "a=setup:", 8) || !strncmp(l, "a=tls-id:", 9);
}

/* The keying lines of a body, each with its line end, in order, in dst. */
static size_t keying_lines(const char *b, size_t n, char *dst, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < n;) {
		const char *e = memchr(b + i, '\n', n - i);
		size_t len = e ? (size_t)(e - (b + i)) + 1 : n - i;

		if (is_keying_line(b + i)) {
			assert_true(k + len < cap);
			memcpy(dst + k, b + i, len);
			k += len;
		}
		i += len;
	}
	dst[k] = '\0';
	return k;
}

/* The same line but for o= and c= lines, the port of m= lines (the rest
 * of m= identical) and a=rtcp's value. */
static void same_but_addr_port(const char *a, size_t la, const char *b, size_t lb, void *arg)
{
	(void)arg;
	if (!strncmp(a, "m=", 2)) {
		/* "m=audio PORT rest": media and rest unchanged */
		const char *pa = memchr(a, ' ', la), *pb = memchr(b, ' ', lb), *ra, *rb;

		assert_non_null(pa);
		assert_non_null(pb);
		assert_int_equal(pa - a, pb - b);
		assert_memory_equal(a, b, (size_t)(pa - a));
		ra = memchr(pa + 1, ' ', la - (size_t)(pa + 1 - a));
		rb = memchr(pb + 1, ' ', lb - (size_t)(pb + 1 - b));
		assert_non_null(ra);
		assert_non_null(rb);
		if (la - (size_t)(ra - a) != lb - (size_t)(rb - b) ||
		    memcmp(ra, rb, la - (size_t)(ra - a)))
			line_differs(a, la, b, lb);
	} else if (strncmp(a, "o=", 2) && strncmp(a, "c=", 2) && strncmp(a, "a=rtcp:", 7) &&
		   (la != lb || memcmp(a, b, la))) {
		line_differs(a, la, b, lb);
	}
}

/* A keyed body rewritten: c=, o= and the ports carry the allocation (all
 * endpoints on 198.51.100.40, ports from 33000), every keying line is
 * identical byte for byte and in place, nothing else changes. Returns the
 * output's length (in out). */
static size_t srtp_rewrite(const char *name, bool crlf, unsigned want_keying)
{
	static char kin[BUF_MAX], kout[BUF_MAX];
	struct nc_ep alloc[SDP_EP_MAX];
	struct sdp_plan *pl;
	size_t n = load(name, crlf, body, sizeof(body)), nk;
	int k;

	plan_ok(body, n, &pl);
	for (unsigned i = 0; i < sdp_plan_nendpoints(pl); i++)
		ip(&alloc[i], 198, 51, 100, 40, (uint16_t)(33000 + 2 * i));
	k = apply(pl, alloc, NULL);
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	nk = keying_lines(body, n, kin, sizeof(kin));
	assert_int_equal(count(kin, "\n"), want_keying);
	assert_int_equal(keying_lines(out, (size_t)k, kout, sizeof(kout)), nk);
	assert_memory_equal(kin, kout, nk);
	line_pairs(body, n, out, (size_t)k, same_but_addr_port, NULL);
	/* the private addresses and ports are gone */
	assert_null(strstr(out, "IP4 10.1.0."));
	for (unsigned i = 0; i < sdp_plan_nstreams(pl); i++) {
		char port[16];

		assert_int_equal(sdp_plan_stream(pl, i)->kind, SDP_STREAM_BIND);
		snprintf(port, sizeof(port), " %u ", sdp_plan_stream(pl, i)->port);
		assert_null(strstr(out, port));
	}
	sdp_plan_free(pl);
	return (size_t)k;
}

/* SDES (RFC 4568): three a=crypto lines with lifetimes, MKI, session
 * parameters and two keys in one line; RTP/SAVP with a=rtcp:PORT. */
static void test_srtp_sdes(void **state)
{
	(void)state;
	srtp_rewrite("srtp_sdes.sdp", true, 3);
	assert_non_null(strstr(out, "c=IN IP4 198.51.100.40\r\n"));
	assert_non_null(strstr(out, "o=carol 3724394400 3724394400 IN IP4 198.51.100.40\r\n"));
	assert_non_null(strstr(out, "m=audio 33000 RTP/SAVP 0 101\r\na=rtpmap:0"));
	assert_non_null(strstr(out, "a=rtcp:33001\r\n"));
	srtp_rewrite("srtp_sdes.sdp", false, 3); /* LF bodies too */
	assert_non_null(strstr(out, "m=audio 33000 RTP/SAVP 0 101\na=rtpmap:0"));

	/* an answer: one line with MKI */
	srtp_rewrite("srtp_sdes_answer.sdp", true, 1);
	assert_non_null(strstr(out, "m=audio 33000 RTP/SAVP 0\r\n"));
	assert_non_null(strstr(out, "a=crypto:2 AES_CM_128_HMAC_SHA1_32 "
				    "inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj|2^31|2:4\r\n"));
}

/* DTLS-SRTP (RFC 5763/8842): session and media a=fingerprint, a=setup,
 * a=tls-id, UDP/TLS/RTP/SAVP with a=rtcp:PORT IN IP4 ADDR. */
static void test_srtp_dtls(void **state)
{
	(void)state;
	srtp_rewrite("srtp_dtls.sdp", true, 6);
	assert_int_equal(count(out, "c=IN IP4 198.51.100.40\r\n"), 2);
	assert_non_null(strstr(out, "m=audio 33000 UDP/TLS/RTP/SAVP 0\r\n"));
	assert_non_null(strstr(out, "a=rtcp:33001 IN IP4 198.51.100.40\r\n"));
	assert_non_null(strstr(out, "m=video 33002 UDP/TLS/RTP/SAVP 96\r\n"));
}

/* RTP/SAVPF with rtcp-mux (RFC 5761) and SDES, beside UDP/TLS/RTP/SAVPF
 * with a session-level fingerprint. */
static void test_srtp_savpf_mux(void **state)
{
	(void)state;
	srtp_rewrite("srtp_savpf_mux.sdp", true, 5);
	assert_non_null(strstr(out, "m=audio 33000 RTP/SAVPF 111 0\r\n"));
	assert_non_null(strstr(out, "a=rtcp:33000\r\na=rtcp-mux\r\n"));
	assert_non_null(strstr(out, "m=video 33002 UDP/TLS/RTP/SAVPF 96\r\n"));
	assert_null(strstr(out, "44000"));
	assert_null(strstr(out, "44002"));
}

/* ---- Fixtures, planned ---- */

static void test_offer_plan(void **state)
{
	struct sdp_plan *pl;
	const struct sdp_stream *a, *v;
	const struct sdp_endpoint *e;
	size_t n = load("softphone_offer.sdp", true, body, sizeof(body));

	(void)state;
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_nstreams(pl), 2);
	assert_int_equal(sdp_plan_nendpoints(pl), 2);
	a = sdp_plan_stream(pl, 0);
	v = sdp_plan_stream(pl, 1);
	assert_null(sdp_plan_stream(pl, 2));
	assert_null(sdp_plan_endpoint(pl, 2));
	assert_string_equal(a->media, "audio");
	assert_string_equal(v->media, "video");
	assert_int_equal(a->line, 8);
	assert_int_equal(v->line, 21);
	assert_int_equal(a->kind, SDP_STREAM_BIND);
	assert_int_equal(a->port, 49170);
	assert_int_equal(a->proto, NC_PROTO_UDP);
	assert_true(a->rtp);
	assert_false(a->conn_media);
	assert_int_equal(a->rtcp, SDP_RTCP_PAIR);
	assert_int_equal(a->rtcp_port, 49171);
	assert_false(a->rtcp_has_addr);
	assert_int_equal(a->dir, SDP_DIR_SENDRECV);
	assert_int_equal(v->rtcp, SDP_RTCP_PAIR);
	assert_true(v->rtcp_has_addr);
	assert_int_equal(a->ep, 0);
	assert_int_equal(v->ep, 1);
	assert_int_equal(a->rtcp_ep, -1);
	e = sdp_plan_endpoint(pl, 0);
	assert_memory_equal(e->addr, ((uint8_t[]){10, 1, 0, 10}), 4);
	assert_int_equal(e->port, 49170);
	assert_true(e->rtp_pair);
	assert_false(e->rtcp);
	assert_int_equal(sdp_plan_endpoint(pl, 1)->port, 51372);
	sdp_plan_free(pl);
}

static const char offer_strip[] =
	"v=0\n"
	"o=alice 2890844526 2890844526 IN IP4 198.51.100.7\n"
	"s=Talk\n"
	"c=IN IP4 198.51.100.7\n"
	"t=0 0\n"
	"a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\n"
	"m=audio 20000 RTP/AVP 96 0 8 101\n"
	"a=rtpmap:96 opus/48000/2\n"
	"a=fmtp:96 useinbandfec=1\n"
	"a=rtpmap:101 telephone-event/8000\n"
	"a=rtcp:20001\n"
	"a=sendrecv\n"
	"m=video 20002 RTP/AVPF 97\n"
	"b=AS:512\n"
	"a=rtpmap:97 H264/90000\n"
	"a=fmtp:97 profile-level-id=42801F;packetization-mode=1\n"
	"a=rtcp:20003 IN IP4 198.51.100.7\n"
	"a=rtcp-fb:97 nack pli\n"
	"a=sendrecv\n";

static const char offer_rewrite[] =
	"v=0\n"
	"o=alice 2890844526 2890844526 IN IP4 198.51.100.7\n"
	"s=Talk\n"
	"c=IN IP4 198.51.100.7\n"
	"t=0 0\n"
	"a=ice-options:trickle\n"
	"a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\n"
	"m=audio 20000 RTP/AVP 96 0 8 101\n"
	"a=rtpmap:96 opus/48000/2\n"
	"a=fmtp:96 useinbandfec=1\n"
	"a=rtpmap:101 telephone-event/8000\n"
	"a=rtcp:20001\n"
	"a=ice-ufrag:8hhY\n"
	"a=ice-pwd:asd88fgpdd777uzjYhagZg\n"
	"a=candidate:1 1 UDP 2130706431 198.51.100.7 20000 typ host\n"
	"a=candidate:1 2 UDP 2130706430 198.51.100.7 20001 typ host\n"
	"a=end-of-candidates\n"
	"a=sendrecv\n"
	"m=video 20002 RTP/AVPF 97\n"
	"b=AS:512\n"
	"a=rtpmap:97 H264/90000\n"
	"a=fmtp:97 profile-level-id=42801F;packetization-mode=1\n"
	"a=rtcp:20003 IN IP4 198.51.100.7\n"
	"a=rtcp-fb:97 nack pli\n"
	"a=ice-ufrag:8hhY\n"
	"a=ice-pwd:asd88fgpdd777uzjYhagZg\n"
	"a=candidate:1 1 UDP 2130706431 198.51.100.7 20002 typ host\n"
	"a=candidate:1 2 UDP 2130706430 198.51.100.7 20003 typ host\n"
	"a=sendrecv\n";

static void offer_alloc(struct nc_ep alloc[2])
{
	ip(&alloc[0], 198, 51, 100, 7, 20000);
	ip(&alloc[1], 198, 51, 100, 7, 20002);
}

static void test_offer_apply_strip(void **state)
{
	static char want[BUF_MAX];
	struct nc_ep alloc[2];
	struct sdp_plan *pl;
	size_t n = load("softphone_offer.sdp", true, body, sizeof(body)), wn;
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	offer_alloc(alloc);
	k = apply(pl, alloc, NULL); /* NULL options: STRIP */
	wn = crlf_of(offer_strip, want);
	assert_int_equal(k, wn);
	assert_string_equal(out, want);
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);
}

static void test_offer_apply_rewrite_keep(void **state)
{
	static char want[BUF_MAX];
	struct sdp_apply_opts o = {.ice = SDP_ICE_REWRITE};
	struct nc_ep alloc[2];
	struct sdp_plan *pl;
	size_t n = load("softphone_offer.sdp", true, body, sizeof(body));
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	offer_alloc(alloc);
	k = apply(pl, alloc, &o);
	crlf_of(offer_rewrite, want);
	assert_string_equal(out, want);
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_REWRITE);

	/* KEEP: candidates untouched, count unchanged */
	o.ice = SDP_ICE_KEEP;
	k = apply(pl, alloc, &o);
	assert_int_equal(count(out, "a=candidate:"), 6);
	assert_non_null(strstr(out, "a=candidate:2 1 UDP 1694498815 192.0.2.33 49170 typ srflx raddr "
				    "10.1.0.10 rport 49170\r\n"));
	assert_non_null(strstr(out, "m=audio 20000 RTP/AVP 96 0 8 101\r\n"));
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_KEEP);
	sdp_plan_free(pl);
}

static void test_answer_port0_kept(void **state)
{
	struct nc_ep alloc[1];
	struct sdp_plan *pl;
	size_t n = load("softphone_answer.sdp", true, body, sizeof(body));
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_nendpoints(pl), 1);
	assert_int_equal(sdp_plan_stream(pl, 1)->kind, SDP_STREAM_DISABLED);
	assert_int_equal(sdp_plan_stream(pl, 1)->ep, -1);
	ip(&alloc[0], 10, 1, 200, 5, 40000);
	k = apply(pl, alloc, NULL);
	assert_non_null(strstr(out, "o=bob 2808844564 2808844564 IN IP4 10.1.200.5\r\n"));
	assert_non_null(strstr(out, "c=IN IP4 10.1.200.5\r\n"));
	assert_non_null(strstr(out, "m=audio 40000 RTP/AVP 96 101\r\n"));
	/* the rejected stream, byte for byte */
	assert_non_null(strstr(out, "m=video 0 RTP/AVPF 97\r\na=rtpmap:97 H264/90000\r\n"));
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);
}

static void test_baresip(void **state)
{
	struct nc_ep alloc[1];
	struct sdp_plan *pl;
	size_t n = load("baresip.sdp", true, body, sizeof(body));
	const struct sdp_stream *st;
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	st = sdp_plan_stream(pl, 0);
	assert_true(st->rtcp_mux);
	/* an offer with a=rtcp-mux still gets port+1: the answer may refuse mux */
	assert_int_equal(st->rtcp, SDP_RTCP_IMPLICIT);
	assert_true(sdp_plan_endpoint(pl, 0)->rtp_pair);
	ip(&alloc[0], 198, 51, 100, 20, 31000);
	k = apply(pl, alloc, NULL);
	assert_non_null(strstr(out, "m=audio 31000 RTP/AVP 96 9 0 8 101\r\n"));
	assert_non_null(strstr(out, "a=ssrc:1390425416 cname:b3c4b9c0-5c43-4b4c-a05e-3e6f0b9d3f10\r\n"
				    "a=rtcp-rsize\r\na=rtcp-mux\r\na=ptime:20\r\n"));
	assert_non_null(strstr(out, "a=tool:baresip 3.10.1\r\n"));
	assert_int_equal(k, (int)n + 2 * 4); /* o= and c= grow by 4, the port keeps its length */
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);
}

static void test_sipp(void **state)
{
	static const char want[] = "v=0\n"
				   "o=user1 53655765 2353687637 IN IP4 198.51.100.1\n"
				   "s=-\n"
				   "c=IN IP4 198.51.100.1\n"
				   "t=0 0\n"
				   "m=audio 16384 RTP/AVP 8 101\n"
				   "a=rtpmap:8 PCMA/8000\n"
				   "a=rtpmap:101 telephone-event/8000\n"
				   "a=fmtp:101 0-11,16\n";
	struct nc_ep alloc[1];
	struct sdp_plan *pl;
	size_t n = load("sipp_uac_pcap.sdp", false, body, sizeof(body)); /* LF */
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	ip(&alloc[0], 198, 51, 100, 1, 16384);
	k = apply(pl, alloc, NULL);
	assert_string_equal(out, want); /* LF stays LF */
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);
}

static void test_session_c_only(void **state)
{
	static char want[BUF_MAX];
	struct nc_ep alloc[2];
	struct sdp_plan *pl;
	size_t n = load("session_c.sdp", true, body, sizeof(body));
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	assert_false(sdp_plan_stream(pl, 0)->conn_media);
	assert_false(sdp_plan_stream(pl, 1)->conn_media);

	/* different addresses: the second stream gets its own c=, after i= */
	ip(&alloc[0], 198, 51, 100, 1, 30000);
	ip(&alloc[1], 198, 51, 100, 2, 30002);
	k = apply(pl, alloc, NULL);
	crlf_of("v=0\n"
		"o=carol 1 1 IN IP4 198.51.100.1\n"
		"s=-\n"
		"c=IN IP4 198.51.100.1\n"
		"t=0 0\n"
		"m=audio 30000 RTP/AVP 0\n"
		"a=rtpmap:0 PCMU/8000\n"
		"m=video 30002 RTP/AVP 31\n"
		"i=main camera\n"
		"c=IN IP4 198.51.100.2\n"
		"a=rtpmap:31 H261/90000\n",
		want);
	assert_string_equal(out, want);
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);

	/* one address: no new line */
	ip(&alloc[1], 198, 51, 100, 1, 30002);
	k = apply(pl, alloc, NULL);
	assert_int_equal(count(out, "c="), 1);
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);
}

static void test_media_c_override(void **state)
{
	static char want[BUF_MAX];
	struct nc_ep alloc[2];
	struct sdp_plan *pl;
	size_t n = load("media_c.sdp", true, body, sizeof(body));
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	assert_false(sdp_plan_stream(pl, 0)->conn_media);
	assert_true(sdp_plan_stream(pl, 1)->conn_media);
	assert_memory_equal(sdp_plan_stream(pl, 1)->addr, ((uint8_t[]){10, 1, 0, 41}), 4);
	assert_memory_equal(sdp_plan_endpoint(pl, 1)->addr, ((uint8_t[]){10, 1, 0, 41}), 4);
	ip(&alloc[0], 198, 51, 100, 3, 30004);
	ip(&alloc[1], 198, 51, 100, 4, 30006);
	k = apply(pl, alloc, NULL);
	crlf_of("v=0\n"
		"o=dave 1 1 IN IP4 198.51.100.3\n"
		"s=-\n"
		"c=IN IP4 198.51.100.3\n"
		"t=0 0\n"
		"m=audio 30004 RTP/AVP 0\n"
		"m=video 30006 RTP/AVP 31\n"
		"c=IN IP4 198.51.100.4\n"
		"a=rtpmap:31 H261/90000\n",
		want);
	assert_string_equal(out, want);
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);
}

static void test_two_addrs(void **state)
{
	struct nc_ep alloc[2];
	struct sdp_plan *pl;
	size_t n = load("two_addrs.sdp", true, body, sizeof(body));
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_nendpoints(pl), 2);
	ip(&alloc[0], 198, 51, 100, 5, 30010);
	ip(&alloc[1], 198, 51, 100, 6, 30012);
	k = apply(pl, alloc, NULL);
	/* no session c=: o= takes the first stream's address */
	assert_non_null(strstr(out, "o=erin 1 1 IN IP4 198.51.100.5\r\n"));
	assert_non_null(strstr(out, "m=audio 30010 RTP/AVP 0\r\nc=IN IP4 198.51.100.5\r\n"));
	assert_non_null(strstr(out, "m=video 30012 RTP/AVP 31\r\nc=IN IP4 198.51.100.6\r\n"));
	assert_int_equal(count(out, "c="), 2);
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);
}

static void test_port0_stream(void **state)
{
	struct nc_ep alloc[1];
	struct sdp_plan *pl;
	size_t n = load("port0.sdp", true, body, sizeof(body));
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_stream(pl, 0)->kind, SDP_STREAM_DISABLED);
	assert_int_equal(sdp_plan_nendpoints(pl), 1);
	assert_int_equal(sdp_plan_endpoint(pl, 0)->port, 5500);
	ip(&alloc[0], 198, 51, 100, 7, 30014);
	k = apply(pl, alloc, NULL);
	assert_non_null(strstr(out, "m=audio 0 RTP/AVP 0\r\nc=IN IP4 10.1.0.61\r\na=rtcp:9\r\n"));
	assert_non_null(strstr(out, "\r\nc=IN IP4 198.51.100.7\r\n"));
	assert_non_null(strstr(out, "m=video 30014 RTP/AVP 31\r\n"));
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);
}

static void test_hold(void **state)
{
	struct nc_ep alloc[1];
	struct sdp_plan *pl;
	size_t n;
	int k;

	(void)state;
	/* RFC 3264 hold: still bound, direction reported */
	n = load("hold_sendonly.sdp", true, body, sizeof(body));
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_stream(pl, 0)->kind, SDP_STREAM_BIND);
	assert_int_equal(sdp_plan_stream(pl, 0)->dir, SDP_DIR_SENDONLY);
	ip(&alloc[0], 198, 51, 100, 8, 30016);
	k = apply(pl, alloc, NULL);
	assert_non_null(strstr(out, "a=sendonly\r\n"));
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);

	n = load("hold_inactive.sdp", true, body, sizeof(body));
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_stream(pl, 0)->dir, SDP_DIR_INACTIVE); /* session level */
	assert_int_equal(sdp_plan_nendpoints(pl), 1);
	k = apply(pl, alloc, NULL);
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);

	/* RFC 2543 hold: c=0.0.0.0, nothing to bind, nothing changes */
	n = load("hold_zero.sdp", true, body, sizeof(body));
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_stream(pl, 0)->kind, SDP_STREAM_HOLD);
	assert_int_equal(sdp_plan_nendpoints(pl), 0);
	k = sdp_apply(pl, NULL, 0, NULL, out, sizeof(out));
	assert_int_equal(k, n);
	assert_memory_equal(out, body, n);
	sdp_plan_free(pl);
}

static void test_rtcp_kinds(void **state)
{
	struct nc_ep alloc[7];
	struct sdp_plan *pl;
	size_t n = load("rtcp_kinds.sdp", true, body, sizeof(body));
	const struct sdp_stream *s[5];
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	for (unsigned i = 0; i < 5; i++)
		s[i] = sdp_plan_stream(pl, i);
	assert_int_equal(s[0]->rtcp, SDP_RTCP_SEPARATE);
	assert_int_equal(s[0]->rtcp_port, 12501);
	assert_false(s[0]->rtcp_has_addr);
	assert_int_equal(s[1]->rtcp, SDP_RTCP_SEPARATE);
	assert_true(s[1]->rtcp_has_addr);
	assert_memory_equal(s[1]->rtcp_addr, ((uint8_t[]){10, 1, 0, 71}), 4);
	assert_int_equal(s[2]->rtcp, SDP_RTCP_MUX);
	assert_true(s[2]->rtcp_mux);
	assert_int_equal(s[3]->rtcp, SDP_RTCP_PAIR);
	assert_true(s[3]->rtcp_has_addr);
	assert_int_equal(s[4]->rtcp, SDP_RTCP_NONE); /* udptl */
	assert_false(s[4]->rtp);
	assert_int_equal(s[4]->proto, NC_PROTO_UDP);

	assert_int_equal(sdp_plan_nendpoints(pl), 7);
	assert_int_equal(s[0]->ep, 0);
	assert_int_equal(s[0]->rtcp_ep, 1);
	assert_true(sdp_plan_endpoint(pl, 1)->rtcp);
	assert_false(sdp_plan_endpoint(pl, 0)->rtp_pair);
	assert_int_equal(sdp_plan_endpoint(pl, 1)->port, 12501);
	assert_int_equal(s[1]->rtcp_ep, 3);
	assert_memory_equal(sdp_plan_endpoint(pl, 3)->addr, ((uint8_t[]){10, 1, 0, 71}), 4);
	assert_false(sdp_plan_endpoint(pl, s[2]->ep)->rtp_pair);
	assert_true(sdp_plan_endpoint(pl, s[3]->ep)->rtp_pair);
	assert_false(sdp_plan_endpoint(pl, s[4]->ep)->rtp_pair);

	ip(&alloc[0], 198, 51, 100, 8, 30000);
	ip(&alloc[1], 198, 51, 100, 9, 40000); /* RTCP elsewhere: address added */
	ip(&alloc[2], 198, 51, 100, 8, 30002);
	ip(&alloc[3], 198, 51, 100, 8, 40002); /* address kept in the line */
	ip(&alloc[4], 198, 51, 100, 8, 30004);
	ip(&alloc[5], 198, 51, 100, 8, 30006);
	ip(&alloc[6], 198, 51, 100, 8, 30008);
	k = apply(pl, alloc, NULL);
	assert_non_null(strstr(out, "m=audio 30000 RTP/AVP 0\r\na=rtcp:40000 IN IP4 198.51.100.9\r\n"));
	assert_non_null(strstr(out, "m=audio 30002 RTP/AVP 0\r\na=rtcp:40002 IN IP4 198.51.100.8\r\n"));
	assert_non_null(strstr(out, "m=audio 30004 RTP/AVP 0\r\na=rtcp:30004\r\na=rtcp-mux\r\n"));
	assert_non_null(strstr(out, "m=audio 30006 RTP/AVP 0\r\na=rtcp:30007 IN IP4 198.51.100.8\r\n"));
	assert_non_null(strstr(out, "m=image 30008 udptl t38\r\na=T38FaxVersion:0\r\n"));
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);
}

static void test_bundle(void **state)
{
	struct nc_ep alloc[1];
	struct sdp_plan *pl;
	size_t n = load("bundle.sdp", true, body, sizeof(body));
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	/* two m= lines on one port: one endpoint (RFC 8843) */
	assert_int_equal(sdp_plan_nendpoints(pl), 1);
	assert_int_equal(sdp_plan_stream(pl, 0)->ep, 0);
	assert_int_equal(sdp_plan_stream(pl, 1)->ep, 0);
	assert_int_equal(sdp_plan_stream(pl, 0)->rtcp, SDP_RTCP_MUX);
	assert_false(sdp_plan_endpoint(pl, 0)->rtp_pair);
	ip(&alloc[0], 198, 51, 100, 30, 32000);
	k = apply(pl, alloc, NULL);
	assert_int_equal(count(out, "m=audio 32000 UDP/TLS/RTP/SAVPF 111\r\n"), 1);
	assert_int_equal(count(out, "m=video 32000 UDP/TLS/RTP/SAVPF 96\r\n"), 1);
	assert_int_equal(count(out, "a=rtcp:9 IN IP4 0.0.0.0\r\n"), 2);
	assert_non_null(strstr(out, "o=- 4611731400430051336 2 IN IP4 198.51.100.30\r\n"));
	assert_non_null(strstr(out, "a=fingerprint:sha-256 D2:FA:0E"));
	assert_null(strstr(out, "a=ice-"));
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);

	/* REWRITE: one host candidate, component 1 only (mux) */
	k = apply(pl, alloc, &(struct sdp_apply_opts){.ice = SDP_ICE_REWRITE});
	assert_int_equal(count(out, "a=candidate:"), 1);
	assert_non_null(strstr(out, "a=candidate:1 1 UDP 2130706431 198.51.100.30 32000 typ host\r\n"));
	assert_int_equal(count(out, "a=ice-ufrag:EsAw\r\n"), 2);
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_REWRITE);
	sdp_plan_free(pl);
}

static void test_multicast_untouched(void **state)
{
	struct sdp_plan *pl;
	size_t n = load("multicast.sdp", true, body, sizeof(body));
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_stream(pl, 0)->kind, SDP_STREAM_MULTICAST);
	assert_int_equal(sdp_plan_nendpoints(pl), 0);
	k = sdp_apply(pl, NULL, 0, NULL, out, sizeof(out));
	assert_int_equal(k, n);
	assert_memory_equal(out, body, n);
	sdp_plan_free(pl);
}

static void test_ipv6_port0_ok(void **state)
{
	struct nc_ep alloc[1];
	struct sdp_plan *pl;
	size_t n = load("ipv6_port0.sdp", true, body, sizeof(body));
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_nendpoints(pl), 1);
	assert_int_equal(sdp_plan_stream(pl, 1)->kind, SDP_STREAM_DISABLED);
	ip(&alloc[0], 198, 51, 100, 40, 33000);
	k = apply(pl, alloc, NULL);
	/* an IPv6 o= would name an address nobody can reach: it becomes ours */
	assert_non_null(strstr(out, "o=judy 1 1 IN IP4 198.51.100.40\r\n"));
	assert_non_null(strstr(out, "m=video 0 RTP/AVP 31\r\nc=IN IP6 2001:db8::10\r\n"));
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);
}

static void test_bad_fixtures(void **state)
{
	size_t n;

	(void)state;
	n = load("no_c.sdp", true, body, sizeof(body));
	expect_err(body, n, SDP_E_NOCONN, 6); /* the port-0 stream needs none */
	n = load("fqdn.sdp", true, body, sizeof(body));
	expect_err(body, n, SDP_E_FQDN, 4);
	n = load("ipv6.sdp", true, body, sizeof(body));
	expect_err(body, n, SDP_E_IPV6, 4);
}

/* ---- Hostile and malformed bodies ---- */

#define HEAD "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n"

static void test_limits(void **state)
{
	static char lf[BUF_MAX * 4];
	struct sdp_plan *pl;
	size_t n, k;

	(void)state;
	/* 32 streams: fine, and they round-trip */
	k = (size_t)sprintf(lf, HEAD);
	for (int i = 0; i < SDP_MEDIA_MAX; i++)
		k += (size_t)sprintf(lf + k, "m=audio %d RTP/AVP 0\n", 10000 + 2 * i);
	n = crlf_of(lf, body);
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_nstreams(pl), SDP_MEDIA_MAX);
	sdp_plan_free(pl);
	round_trip(body, n, SDP_ICE_STRIP);

	/* 33: refused at the 33rd m= line */
	sprintf(lf + k, "m=audio 9000 RTP/AVP 0\n");
	n = crlf_of(lf, body);
	expect_err(body, n, SDP_E_TOOMANY, 5 + SDP_MEDIA_MAX + 1);

	/* hundreds within the size limit: TOOMANY, quickly */
	k = (size_t)sprintf(lf, HEAD);
	while (k < SDP_BODY_MAX - 40)
		k += (size_t)sprintf(lf + k, "m=audio 0 RTP/AVP 0\n");
	expect_err(lf, k, SDP_E_TOOMANY, 5 + SDP_MEDIA_MAX + 1);

	/* thousands: over the size limit first */
	k = (size_t)sprintf(lf, HEAD);
	for (int i = 0; i < 3000; i++)
		k += (size_t)sprintf(lf + k, "m=audio 0 RTP/AVP 0\n");
	expect_err(lf, k, SDP_E_TOOBIG, 0);

	/* exactly SDP_BODY_MAX bytes is fine, one more is not */
	k = (size_t)sprintf(lf, HEAD "m=audio 4000 RTP/AVP 0\n");
	while (k + 19 + 10 <= SDP_BODY_MAX)
		k += (size_t)sprintf(lf + k, "a=x-pad:0123456789\n");
	assert_true(SDP_BODY_MAX - k >= 10);
	memset(lf + k, 'y', SDP_BODY_MAX - k);
	memcpy(lf + k, "a=z:", 4);
	lf[SDP_BODY_MAX - 1] = '\n';
	plan_ok(lf, SDP_BODY_MAX, &pl);
	sdp_plan_free(pl);
	lf[SDP_BODY_MAX - 1] = 'y';
	lf[SDP_BODY_MAX] = '\n';
	expect_err(lf, SDP_BODY_MAX + 1, SDP_E_TOOBIG, 0);

	/* SDP_LINES_MAX lines are fine (the worst case for libosip2's time),
	 * one more is refused at that line */
	k = (size_t)sprintf(lf, HEAD "m=audio 4000 RTP/AVP 0\n");
	for (int i = 6; i < SDP_LINES_MAX; i++)
		k += (size_t)sprintf(lf + k, "a=x\n");
	assert_true(k < SDP_BODY_MAX);
	plan_ok(lf, k, &pl);
	sdp_plan_free(pl);
	round_trip(lf, k, SDP_ICE_STRIP);
	k += (size_t)sprintf(lf + k, "a=x\n");
	expect_err(lf, k, SDP_E_LINES, SDP_LINES_MAX + 1);
	/* trailing blank lines count too */
	k -= 4;
	k += (size_t)sprintf(lf + k, "\n");
	expect_err(lf, k, SDP_E_LINES, SDP_LINES_MAX + 1);

	/* a 20 KiB body */
	k = (size_t)sprintf(lf, HEAD "m=audio 4000 RTP/AVP 0\n");
	while (k < 20 * 1024)
		k += (size_t)sprintf(lf + k, "a=x-pad:0123456789\n");
	expect_err(lf, k, SDP_E_TOOBIG, 0);
}

static void test_nul_and_encoding(void **state)
{
	size_t n;

	(void)state;
	n = crlf_of(HEAD "m=audio 4000 RTP/AVP 0\n", body);
	body[40] = '\0'; /* inside line 2 or 3 */
	expect_err(body, n, SDP_E_NUL, (unsigned)-1);
	n = crlf_of(HEAD "m=audio 4000 RTP/AVP 0\na=x:1\n", body);
	body[n - 4] = '\0';
	expect_err(body, n, SDP_E_NUL, 7);
	memcpy(body, "\0", 1);
	expect_err(body, n, SDP_E_NUL, 1);

	expect_err_lf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=\xff\n", SDP_E_ENCODING, 3);
	expect_err_lf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=\xc0\x80\n", SDP_E_ENCODING, 3);
	expect_err_lf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=\xed\xa0\x80\n", SDP_E_ENCODING, 3);
	expect_err_lf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=\xf4\x90\x80\x80\n", SDP_E_ENCODING, 3);
	expect_err_lf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=\xe2\x82\n", SDP_E_ENCODING, 3);
	expect_err_lf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=\x01\n", SDP_E_ENCODING, 3);
	expect_err_lf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=\x7f\n", SDP_E_ENCODING, 3);
	/* a cut multi-byte sequence at the very end */
	memcpy(body, "v=0\r\n\xe2\x82", 7);
	expect_err(body, 7, SDP_E_ENCODING, 2);

	/* valid UTF-8 and TAB are text */
	round_trip(body, crlf_of("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=Caf\xc3\xa9 \xf0\x9f\x93\x9e\t!\n"
				 "c=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
				 body),
		   SDP_ICE_STRIP);
}

static void test_syntax(void **state)
{
	size_t n;

	(void)state;
	/* libosip2 would stop at the blank line and ignore the rest */
	expect_err_lf(HEAD "\nm=audio 4000 RTP/AVP 0\n", SDP_E_SYNTAX, 7);
	n = (size_t)sprintf(body, "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n\n"
				  "m=audio 4000 RTP/AVP 0\n");
	expect_err(body, n, SDP_E_SYNTAX, 7);
	/* a CR that does not end a line */
	n = (size_t)sprintf(body, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=a\rb\r\n");
	expect_err(body, n, SDP_E_SYNTAX, 3);
	n = (size_t)sprintf(body, "v=0\ro=- 1 1 IN IP4 10.0.0.1\r\n");
	expect_err(body, n, SDP_E_SYNTAX, 1);
	expect_err_lf("v=0\nhello\n", SDP_E_SYNTAX, 2);
	expect_err_lf("V=0\n", SDP_E_SYNTAX, 1);
	expect_err_lf("v=0\n=x\n", SDP_E_SYNTAX, 2);
	expect_err_lf("v=0\nx\n", SDP_E_SYNTAX, 2);
	/* trailing blank lines are allowed, and kept */
	n = crlf_of(HEAD "m=audio 4000 RTP/AVP 0\n\n\n", body);
	round_trip(body, n, SDP_ICE_STRIP);
	assert_non_null(strstr(out, "m=audio 30000 RTP/AVP 0\r\n\r\n\r\n"));
	/* and an inserted c= goes before them */
	n = crlf_of("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n"
		    "m=audio 4000 RTP/AVP 0\nm=video 4002 RTP/AVP 31\n\n",
		    body);
	round_trip(body, n, SDP_ICE_STRIP);
	assert_non_null(strstr(out, "m=video 30002 RTP/AVP 31\r\nc=IN IP4 198.51.100.11\r\n\r\n"));
	/* o= and c= grow by 5, two ports by 1, one c= line of 24 */
	assert_int_equal(strlen(out), n + 5 + 5 + 2 + 24);

	assert_int_equal(sdp_plan("", 0, &(struct sdp_plan *){NULL}, NULL), SDP_E_EMPTY);
}

/* libosip2 and the line scanner must read the same thing. */
static void test_parser_agreement(void **state)
{
	(void)state;
	expect_err_lf("v=0\no=- 1 1 IN IP4 10.0.0.1 extra\ns=-\nt=0 0\n", SDP_E_PARSE, 2);
	expect_err_lf("v=0\no=- 1 1 IN IP4\ns=-\nt=0 0\n", SDP_E_PARSE, 0);
	expect_err_lf(HEAD "m=audio 4000 RTP/AVP 0\nc=IN IP4 10.0.0.2 junk\n", SDP_E_PARSE, 7);
	expect_err_lf(HEAD "m=audio 4000 RTP/AVP 0\nc=IN IP4 10.0.0.2 \n", SDP_E_PARSE, 7);
	expect_err_lf(HEAD "m=audio  4000 RTP/AVP 0\n", SDP_E_PARSE, (unsigned)-1);
	/* RFC 4566 order inside a media section: c= before a= */
	expect_err_lf(HEAD "m=audio 4000 RTP/AVP 0\na=x\nc=IN IP4 10.0.0.2\n", SDP_E_PARSE, 0);
	expect_err_lf(HEAD "x=unknown\nm=audio 4000 RTP/AVP 0\n", SDP_E_PARSE, 0);
	expect_err_lf("o=- 1 1 IN IP4 10.0.0.1\ns=-\nt=0 0\n", SDP_E_PARSE, 0);
	expect_err_lf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\n", SDP_E_PARSE, 0); /* no t= */
	expect_err_lf(HEAD "m=audio 4000 RTP/AVP 0\na=foo:\n", SDP_E_PARSE, 0);
	expect_err_lf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nc=IN IP4 10.0.0.2\n"
		      "t=0 0\n",
		      SDP_E_PARSE, 0);
}

/* libosip2 5.3 reads past the string for a last m= line without formats
 * ended by LF (see OSIP_PAD); under ASan this test shows the padding works.
 * The body is copied to the heap at its exact size, as a SIP layer would. */
static void test_osip_overread(void **state)
{
	static const char lf[] = HEAD "m=audio 4000 RTP/AVP\n";
	char *b = malloc(sizeof(lf) - 1);
	struct sdp_plan *pl;

	(void)state;
	assert_non_null(b);
	memcpy(b, lf, sizeof(lf) - 1);
	plan_ok(b, sizeof(lf) - 1, &pl);
	assert_int_equal(sdp_plan_nendpoints(pl), 1);
	sdp_plan_free(pl);
	round_trip(b, sizeof(lf) - 1, SDP_ICE_STRIP);
	free(b);
}

static void test_stream_errors(void **state)
{
	struct sdp_plan *pl;
	size_t n;

	(void)state;
	expect_err_lf(HEAD "m=audio 65536 RTP/AVP 0\n", SDP_E_PORT, 6);
	expect_err_lf(HEAD "m=audio 4x RTP/AVP 0\n", SDP_E_PORT, 6);
	expect_err_lf(HEAD "m=audio 65535 RTP/AVP 0\n", SDP_E_PORT, 6); /* no port+1 */
	expect_err_lf(HEAD "m=audio 5000/2 RTP/AVP 0\n", SDP_E_UNSUPPORTED, 6);
	expect_err_lf(HEAD "m=audio 5000 DCCP/RTP/AVP 0\n", SDP_E_PROTO, 6);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\nc=IN IP4 10.0.0.2\nc=IN IP4 10.0.0.3\n",
		      SDP_E_UNSUPPORTED, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\nc=IN IP4 010.0.0.2\n", SDP_E_ADDR, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\nc=IN IP4 10.0.0.2/127\n", SDP_E_ADDR, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\nc=IN IP4 1.2.3\n", SDP_E_ADDR, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\nc=IN IP4 1.2.3.4.5\n", SDP_E_ADDR, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\nc=IN IP4 ::1\n", SDP_E_ADDR, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\nc=IN IP4 256.0.0.1\n", SDP_E_ADDR, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\nc=IN IP7 1.2.3.4\n", SDP_E_ADDR, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\nc=ATM NSAP 47.0005\n", SDP_E_UNSUPPORTED, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\nc=IN IP4 a.example\n", SDP_E_FQDN, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\nc=IN IP6 ::1\n", SDP_E_IPV6, 7);
	/* a=rtcp */
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\na=rtcp:0\n", SDP_E_RTCP, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\na=rtcp:x\n", SDP_E_RTCP, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\na=rtcp:5001 IN IP4\n", SDP_E_RTCP, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\na=rtcp:5001\na=rtcp:5001\n", SDP_E_RTCP, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\na=rtcp:5001 IN IP6 ::1\n", SDP_E_IPV6, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\na=rtcp:5001 IN IP4 h.example\n", SDP_E_FQDN, 7);
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\na=rtcp:5001 IN IP4 224.0.0.1\n", SDP_E_RTCP, 7);
	expect_err_lf(HEAD "m=message 5000 TCP/MSRP *\na=rtcp:5001\n", SDP_E_UNSUPPORTED, 7);
	/* overlap: video's RTP port is audio's implicit RTCP port */
	expect_err_lf(HEAD "m=audio 5000 RTP/AVP 0\nm=video 5001 RTP/AVP 31\n", SDP_E_OVERLAP, 7);
	/* but not on another address */
	n = crlf_of(HEAD "m=audio 5000 RTP/AVP 0\nm=video 5001 RTP/AVP 31\nc=IN IP4 10.0.0.9\n",
		    body);
	round_trip(body, n, SDP_ICE_STRIP);
	/* the same streams disabled or on hold are fine */
	n = crlf_of(HEAD "m=audio 0 RTP/AVP 0\nc=IN IP6 ::1\nm=video 0 RTP/AVP 31\n"
			 "m=x 0 DCCP 0\nm=audio 6000 RTP/AVP 0\nc=IN IP4 0.0.0.0\na=rtcp:x\n",
		    body);
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_nendpoints(pl), 0);
	sdp_plan_free(pl);
	/* TCP media: bound as TCP, no pair */
	n = crlf_of(HEAD "m=message 5000 TCP/MSRP *\n", body);
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_endpoint(pl, 0)->proto, NC_PROTO_TCP);
	assert_false(sdp_plan_endpoint(pl, 0)->rtp_pair);
	sdp_plan_free(pl);
	round_trip(body, n, SDP_ICE_REWRITE);
	/* 65535 is usable when nothing needs port+1 */
	round_trip(body, crlf_of(HEAD "m=image 65535 udptl t38\n", body), SDP_ICE_STRIP);
}

/* Every prefix of every fixture: an error or a plan, never a crash. */
static void test_truncated(void **state)
{
	(void)state;
	for (unsigned f = 0; f < NGOOD + NBAD; f++) {
		const char *name = f < NGOOD ? good_fixtures[f] : bad_fixtures[f - NGOOD];
		static char full[BUF_MAX];
		size_t n = load(name, true, full, sizeof(full));

		for (size_t k = 0; k < n; k++) {
			struct sdp_plan *pl;
			int r = sdp_plan(full, k, &pl, NULL);

			if (k == 0) {
				assert_int_equal(r, SDP_E_EMPTY);
			} else if (full[k - 1] != '\n') {
				assert_int_equal(r, SDP_E_TRUNCATED);
			} else if (r == 0) {
				struct nc_ep alloc[SDP_EP_MAX];
				int m;

				fake_alloc(pl, alloc);
				m = apply(pl, alloc, NULL);
				check_rewritten(pl, alloc, out, (size_t)m, SDP_ICE_STRIP);
				sdp_plan_free(pl);
			} else {
				assert_true(r <= SDP_E_INVAL && r >= SDP_E_INTERNAL);
			}
		}
	}
}

static void test_line_endings(void **state)
{
	static char want[BUF_MAX];
	struct nc_ep alloc[2];
	struct sdp_plan *pl;
	size_t n;
	int k;

	(void)state;
	for (unsigned f = 0; f < NGOOD; f++) {
		n = load(good_fixtures[f], false, body, sizeof(body));
		round_trip(body, n, SDP_ICE_STRIP);
		assert_null(strchr(out, '\r'));
		round_trip(body, n, SDP_ICE_REWRITE);
		assert_null(strchr(out, '\r'));
		n = load(good_fixtures[f], true, body, sizeof(body));
		round_trip(body, n, SDP_ICE_REWRITE);
		assert_int_equal(count(out, "\n"), count(out, "\r\n"));
	}
	/* mixed: every line keeps its own; an inserted line takes its m='s */
	n = (size_t)sprintf(body, "v=0\r\no=- 1 1 IN IP4 10.0.0.1\ns=-\r\nc=IN IP4 10.0.0.1\n"
				  "t=0 0\r\nm=audio 4000 RTP/AVP 0\nm=video 4002 RTP/AVP 31\r\n"
				  "a=rtcp:4003\n");
	plan_ok(body, n, &pl);
	ip(&alloc[0], 198, 51, 100, 1, 5000);
	ip(&alloc[1], 198, 51, 100, 2, 5002);
	k = apply(pl, alloc, NULL);
	sprintf(want, "v=0\r\no=- 1 1 IN IP4 198.51.100.1\ns=-\r\nc=IN IP4 198.51.100.1\n"
		      "t=0 0\r\nm=audio 5000 RTP/AVP 0\nm=video 5002 RTP/AVP 31\r\n"
		      "c=IN IP4 198.51.100.2\r\na=rtcp:5003\n");
	assert_string_equal(out, want);
	check_rewritten(pl, alloc, out, (size_t)k, SDP_ICE_STRIP);
	sdp_plan_free(pl);
}

static void test_round_trip_all(void **state)
{
	(void)state;
	for (unsigned f = 0; f < NGOOD; f++) {
		size_t n = load(good_fixtures[f], true, body, sizeof(body));

		round_trip(body, n, SDP_ICE_STRIP);
		round_trip(body, n, SDP_ICE_KEEP);
		round_trip(body, n, SDP_ICE_REWRITE);
		identity(body, n);
	}
}

/* ---- The outcome of each hostile class, as the proxy acts on it ----
 *
 * media_process() answers 488 (Not Acceptable Here, unusable SDP) for any
 * body sdp_plan() refuses, forwards the body unchanged when the plan has
 * no endpoint to bind (multicast, hold, disabled streams, no m= line),
 * and rewrites it otherwise (sipproxy/README.md, "Media rules"). One
 * table holds each class the issue lists, with the exact outcome; for
 * "unchanged" the body sdp_apply() writes is checked byte for byte. */

enum outcome { OUT_488, OUT_UNCHANGED, OUT_REWRITTEN };

static void test_hostile_outcomes(void **state)
{
	static const struct {
		const char *name, *lf; /* LF text, sent with CRLF */
		enum outcome outcome;
		int err;               /* OUT_488: the sdp_plan() error */
	} cases[] = {
		/* no c= */
		{"no c= at all, an active stream", "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nt=0 0\n"
		 "m=audio 4000 RTP/AVP 0\n", OUT_488, SDP_E_NOCONN},
		{"no c= in one of two streams", "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nt=0 0\n"
		 "m=audio 4000 RTP/AVP 0\nc=IN IP4 10.0.0.2\nm=video 4002 RTP/AVP 31\n", OUT_488, SDP_E_NOCONN},
		{"no c= but every stream disabled", "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nt=0 0\n"
		 "m=audio 0 RTP/AVP 0\nm=video 0 RTP/AVP 31\n", OUT_UNCHANGED, 0},
		{"no m= line at all", HEAD, OUT_UNCHANGED, 0},
		/* host names */
		{"a host name in the session c=", "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\n"
		 "c=IN IP4 phone.example.com\nt=0 0\nm=audio 4000 RTP/AVP 0\n", OUT_488, SDP_E_FQDN},
		{"a host name in a media c=", HEAD "m=audio 4000 RTP/AVP 0\nc=IN IP4 a.example.com\n",
		 OUT_488, SDP_E_FQDN},
		{"a host name in a=rtcp", HEAD "m=audio 4000 RTP/AVP 0\na=rtcp:4001 IN IP4 a.example.com\n",
		 OUT_488, SDP_E_FQDN},
		{"a host name in o= only", "v=0\no=- 1 1 IN IP4 host.example.com\ns=-\n"
		 "c=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n", OUT_REWRITTEN, 0},
		{"a host name in a disabled stream only", HEAD "m=audio 0 RTP/AVP 0\n"
		 "c=IN IP4 a.example.com\nm=audio 4000 RTP/AVP 0\n", OUT_REWRITTEN, 0},
		/* IPv6 (natd is IPv4-only) */
		{"IPv6 session c=", "v=0\no=- 1 1 IN IP6 2001:db8::1\ns=-\nc=IN IP6 2001:db8::1\n"
		 "t=0 0\nm=audio 4000 RTP/AVP 0\n", OUT_488, SDP_E_IPV6},
		{"IPv6 hold (::)", "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP6 ::\nt=0 0\n"
		 "m=audio 4000 RTP/AVP 0\n", OUT_488, SDP_E_IPV6},
		{"IPv6 multicast", "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP6 ff15::101\nt=0 0\n"
		 "m=audio 4000 RTP/AVP 0\n", OUT_488, SDP_E_IPV6},
		{"IPv6 only in o=", "v=0\no=- 1 1 IN IP6 2001:db8::1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n"
		 "m=audio 4000 RTP/AVP 0\n", OUT_REWRITTEN, 0},
		/* multicast and hold */
		{"IPv4 multicast with a TTL", "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\n"
		 "c=IN IP4 224.2.1.1/127\nt=0 0\nm=audio 4000 RTP/AVP 0\n", OUT_UNCHANGED, 0},
		{"IPv4 multicast with a TTL and a count", "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\n"
		 "c=IN IP4 224.2.1.1/127/3\nt=0 0\nm=audio 4000 RTP/AVP 0\n", OUT_UNCHANGED, 0},
		{"a TTL on a unicast address", HEAD "m=audio 5000 RTP/AVP 0\nc=IN IP4 10.0.0.2/127\n",
		 OUT_488, SDP_E_ADDR},
		{"a multicast stream beside a unicast one", HEAD "m=audio 4000 RTP/AVP 0\n"
		 "m=video 5000 RTP/AVP 31\nc=IN IP4 239.1.1.1/16\n", OUT_REWRITTEN, 0},
		{"RFC 2543 hold", "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\n"
		 "m=audio 4000 RTP/AVP 0\n", OUT_UNCHANGED, 0},
		/* truncated */
		{"cut inside the c= line", "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.",
		 OUT_488, SDP_E_TRUNCATED},
		{"cut inside an m= line", HEAD "m=aud", OUT_488, SDP_E_TRUNCATED},
		{"cut after the o= line (no s=, t=)", "v=0\no=- 1 1 IN IP4 10.0.0.1\n", OUT_488,
		 SDP_E_PARSE},
	};
	static char lf[BUF_MAX * 4];
	size_t n, k;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sdp_plan *pl = NULL;
		unsigned line;
		int r;

		n = crlf_of(cases[i].lf, body);
		r = sdp_plan(body, n, &pl, &line);
		switch (cases[i].outcome) {
		case OUT_488:
			if (r != cases[i].err)
				fail_msg("%s: want %s, got %s", cases[i].name, sdp_strerror(cases[i].err),
					 r < 0 ? sdp_strerror(r) : "a plan");
			assert_null(pl);
			break;
		case OUT_UNCHANGED:
			if (r < 0)
				fail_msg("%s: refused: %s", cases[i].name, sdp_strerror(r));
			assert_int_equal(sdp_plan_nendpoints(pl), 0);
			k = (size_t)sdp_apply(pl, NULL, 0, NULL, out, sizeof(out));
			assert_int_equal(k, n);
			assert_memory_equal(out, body, n);
			sdp_plan_free(pl);
			break;
		case OUT_REWRITTEN:
			if (r < 0)
				fail_msg("%s: refused: %s", cases[i].name, sdp_strerror(r));
			assert_true(sdp_plan_nendpoints(pl) > 0);
			sdp_plan_free(pl);
			round_trip(body, n, SDP_ICE_STRIP);
			break;
		}
	}

	/* thousands of m= lines: 488, whether the size or the count limit
	 * is met first, and quickly */
	k = (size_t)sprintf(lf, HEAD);
	for (int i = 0; i < 5000; i++)
		k += (size_t)sprintf(lf + k, "m=audio %d RTP/AVP 0\n", 10000 + 2 * (i % 20000));
	expect_err(lf, k, SDP_E_TOOBIG, 0);
	k = (size_t)sprintf(lf, HEAD);
	for (int i = 0; i < 700; i++)
		k += (size_t)sprintf(lf + k, "m=a 0 X 0\n");
	assert_true(k < SDP_BODY_MAX);
	expect_err(lf, k, SDP_E_TOOMANY, 5 + SDP_MEDIA_MAX + 1);

	/* NUL bytes: in a c= address, at the very start, as the last byte */
	n = crlf_of(HEAD "m=audio 4000 RTP/AVP 0\nc=IN IP4 10.0.0.2\n", body);
	body[strstr(body, "10.0.0.2") - body + 3] = '\0';
	expect_err(body, n, SDP_E_NUL, 7);
	n = crlf_of(HEAD "m=audio 4000 RTP/AVP 0\n", body);
	body[0] = '\0';
	expect_err(body, n, SDP_E_NUL, 1);
	n = crlf_of(HEAD "m=audio 4000 RTP/AVP 0\n", body);
	body[n - 1] = '\0';
	expect_err(body, n, SDP_E_NUL, 6);
}

/* ---- The API around the plan ---- */

static void test_bind_req(void **state)
{
	struct sdp_remote_filter f;
	struct sdp_plan *offer, *answer, *kinds;
	struct nc_bind req;
	char long_name[NC_NAME_MAX + 2];
	size_t n;

	(void)state;
	n = load("softphone_offer.sdp", true, body, sizeof(body));
	plan_ok(body, n, &offer);
	n = load("softphone_answer.sdp", true, body, sizeof(body));
	plan_ok(body, n, &answer);
	n = load("rtcp_kinds.sdp", true, body, sizeof(body));
	plan_ok(body, n, &kinds);

	assert_int_equal(sdp_plan_bind_req(offer, 1, "inside", "outside", 300, NULL, &req), 0);
	assert_int_equal(req.spec.dir, NC_DIR_BOTH);
	assert_int_equal(req.spec.proto, NC_PROTO_UDP);
	assert_string_equal(req.spec.in_realm, "inside");
	assert_string_equal(req.spec.ext_realm, "outside");
	assert_int_equal(req.spec.ep.ip.af, NC_AF_IP4);
	assert_memory_equal(req.spec.ep.ip.a, ((uint8_t[]){10, 1, 0, 10, 0, 0}), 6);
	assert_int_equal(req.spec.ep.port, 51372);
	assert_true(req.rtp_pair);
	assert_int_equal(req.lifetime, 300);
	assert_int_equal(req.spec.nfilters, 0);
	assert_int_equal(req.want, NC_WANT_ANY);
	assert_false(req.prefer_failure);
	assert_string_equal(req.spec.label, "");

	/* remote filter: the offer's binding filtered on the answerer's address */
	assert_int_equal(sdp_plan_remote_filter(answer, 0, &f), 1);
	assert_int_equal(f.m[0].ip.af, NC_AF_IP4);
	assert_memory_equal(f.m[0].ip.a, ((uint8_t[]){203, 0, 113, 10}), 4);
	assert_int_equal(f.m[0].plen, 32);
	assert_int_equal(f.m[0].port_lo, 0);
	assert_int_equal(f.m[0].port_hi, 65535);
	assert_int_equal(sdp_plan_remote_filter(answer, 1, &f), 0); /* disabled */
	assert_int_equal(sdp_plan_remote_filter(answer, -1, &f), 1);
	assert_int_equal(sdp_plan_remote_filter(answer, 2, &f), SDP_E_INVAL);
	assert_int_equal(sdp_plan_remote_filter(kinds, -1, &f), 2); /* .70 and a=rtcp's .71 */
	assert_int_equal(sdp_plan_remote_filter(kinds, 1, &f), 2);
	assert_int_equal(sdp_plan_bind_req(offer, 0, "inside", "outside", 0, &f, &req), 0);
	assert_int_equal(req.spec.nfilters, 2);
	assert_memory_equal(&req.spec.filters[1], &f.m[1], sizeof(f.m[1]));

	memset(long_name, 'r', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_int_equal(sdp_plan_bind_req(offer, 2, "in", "out", 0, NULL, &req), SDP_E_INVAL);
	assert_int_equal(sdp_plan_bind_req(offer, 0, "", "out", 0, NULL, &req), SDP_E_INVAL);
	assert_int_equal(sdp_plan_bind_req(offer, 0, "in", NULL, 0, NULL, &req), SDP_E_INVAL);
	assert_int_equal(sdp_plan_bind_req(offer, 0, long_name, "out", 0, NULL, &req), SDP_E_INVAL);
	long_name[NC_NAME_MAX] = '\0';
	assert_int_equal(sdp_plan_bind_req(offer, 0, long_name, "out", 0, NULL, &req), 0);
	f.n = NC_FILTER_MAX + 1;
	assert_int_equal(sdp_plan_bind_req(offer, 0, "in", "out", 0, &f, &req), SDP_E_INVAL);
	assert_int_equal(sdp_plan_bind_req(NULL, 0, "in", "out", 0, NULL, &req), SDP_E_INVAL);
	assert_int_equal(sdp_plan_bind_req(offer, 0, "in", "out", 0, NULL, NULL), SDP_E_INVAL);
	sdp_plan_free(offer);
	sdp_plan_free(answer);
	sdp_plan_free(kinds);
}

static void test_apply_errors(void **state)
{
	struct nc_ep alloc[2];
	struct sdp_plan *pl;
	size_t n = load("softphone_offer.sdp", true, body, sizeof(body)), need;
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	offer_alloc(alloc);
	assert_int_equal(sdp_apply(pl, alloc, 1, NULL, out, sizeof(out)), SDP_E_INVAL);
	assert_int_equal(sdp_apply(pl, NULL, 2, NULL, out, sizeof(out)), SDP_E_INVAL);
	assert_int_equal(sdp_apply(NULL, alloc, 2, NULL, out, sizeof(out)), SDP_E_INVAL);
	assert_int_equal(sdp_apply(pl, alloc, 2, NULL, NULL, sizeof(out)), SDP_E_INVAL);
	assert_int_equal(sdp_apply(pl, alloc, 2, NULL, out, 0), SDP_E_INVAL);
	assert_int_equal(sdp_apply(pl, alloc, 2, &(struct sdp_apply_opts){.ice = 7}, out, sizeof(out)),
			 SDP_E_INVAL);
	alloc[1].ip.af = NC_AF_IP6;
	assert_int_equal(sdp_apply(pl, alloc, 2, NULL, out, sizeof(out)), SDP_E_ALLOC);
	alloc[1].ip.af = 0; /* no allocation, no fallback asked */
	assert_int_equal(sdp_apply(pl, alloc, 2, NULL, out, sizeof(out)), SDP_E_ALLOC);
	offer_alloc(alloc);
	alloc[0].port = 0;
	assert_int_equal(sdp_apply(pl, alloc, 2, NULL, out, sizeof(out)), SDP_E_ALLOC);
	alloc[0].port = 65535; /* paired: no room for RTCP */
	assert_int_equal(sdp_apply(pl, alloc, 2, NULL, out, sizeof(out)), SDP_E_ALLOC);
	ip(&alloc[0], 0, 0, 0, 0, 20000);
	assert_int_equal(sdp_apply(pl, alloc, 2, NULL, out, sizeof(out)), SDP_E_ALLOC);

	/* every buffer size: too small is NOSPACE, never an overrun (ASan) */
	offer_alloc(alloc);
	need = (size_t)apply(pl, alloc, NULL) + 1;
	for (size_t cap = 1; cap < need; cap++) {
		char *b = malloc(cap);

		assert_non_null(b);
		assert_int_equal(sdp_apply(pl, alloc, 2, NULL, b, cap), SDP_E_NOSPACE);
		free(b);
	}
	{
		char *b = malloc(need);

		assert_non_null(b);
		k = sdp_apply(pl, alloc, 2, NULL, b, need);
		assert_int_equal((size_t)k + 1, need);
		free(b);
	}
	sdp_plan_free(pl);
}

static void test_disable_unbound(void **state)
{
	struct sdp_apply_opts o = {.disable_unbound = true};
	struct nc_ep alloc[2];
	struct sdp_plan *pl, *p2;
	size_t n = load("softphone_offer.sdp", true, body, sizeof(body));
	int k;

	(void)state;
	plan_ok(body, n, &pl);
	offer_alloc(alloc);
	memset(&alloc[1], 0, sizeof(alloc[1]));
	k = apply(pl, alloc, &o);
	assert_non_null(strstr(out, "m=audio 20000 RTP/AVP 96 0 8 101\r\n"));
	assert_non_null(strstr(out, "m=video 0 RTP/AVPF 97\r\n"));
	assert_null(strstr(out, "10.1.0.10")); /* a=rtcp of the disabled stream dropped */
	plan_ok(out, (size_t)k, &p2);
	assert_int_equal(sdp_plan_stream(p2, 1)->kind, SDP_STREAM_DISABLED);
	assert_int_equal(sdp_plan_nendpoints(p2), 1);
	sdp_plan_free(p2);
	sdp_plan_free(pl);

	/* a stream with its own c=: the private address goes too */
	n = load("two_addrs.sdp", true, body, sizeof(body));
	plan_ok(body, n, &pl);
	ip(&alloc[0], 198, 51, 100, 5, 30010);
	memset(&alloc[1], 0, sizeof(alloc[1]));
	k = apply(pl, alloc, &o);
	assert_non_null(strstr(out, "m=video 0 RTP/AVP 31\r\nc=IN IP4 0.0.0.0\r\n"));
	assert_null(strstr(out, "10.1.0.51"));
	plan_ok(out, (size_t)k, &p2);
	sdp_plan_free(p2);

	/* nothing bound at all: o= and the session keep what they had */
	memset(&alloc[0], 0, sizeof(alloc[0]));
	k = apply(pl, alloc, &o);
	assert_non_null(strstr(out, "o=erin 1 1 IN IP4 10.1.0.50\r\n"));
	sdp_plan_free(pl);
}

/* The m= protocol as written (media.c checks it against a rule), and the
 * issue 11 attack SDP with its TCP/MSRP stream declined: port 0, its
 * inside address gone. */
static void test_proto_name_and_decline(void **state)
{
	static const char sdp[] = "v=0\r\no=atk 1 1 IN IP4 10.1.0.10\r\ns=-\r\n"
				  "c=IN IP4 10.1.0.10\r\nt=0 0\r\n"
				  "m=audio 7777 RTP/AVP 0\r\n"
				  "m=application 2222 TCP/MSRP *\r\nc=IN IP4 10.1.0.10\r\n"
				  "m=image 0 udptl t38\r\n"
				  "m=video 9000 UDP/TLS/RTP/SAVPF 96\r\n";
	struct sdp_apply_opts o = {.disable_unbound = true};
	struct nc_ep alloc[3];
	struct sdp_plan *pl;
	const struct sdp_endpoint *e;

	(void)state;
	plan_ok(sdp, sizeof(sdp) - 1, &pl);
	assert_string_equal(sdp_plan_stream(pl, 0)->proto_name, "RTP/AVP");
	assert_string_equal(sdp_plan_stream(pl, 1)->proto_name, "TCP/MSRP");
	assert_string_equal(sdp_plan_stream(pl, 2)->proto_name, ""); /* disabled: not read */
	assert_string_equal(sdp_plan_stream(pl, 3)->proto_name, "UDP/TLS/RTP/SAVPF");
	assert_int_equal(sdp_plan_nendpoints(pl), 3);
	e = sdp_plan_endpoint(pl, 1);
	assert_int_equal(e->proto, NC_PROTO_TCP);
	assert_string_equal(sdp_plan_stream(pl, e->stream)->proto_name, "TCP/MSRP");
	memset(alloc, 0, sizeof(alloc));
	ip(&alloc[0], 198, 51, 100, 5, 30000);
	ip(&alloc[2], 198, 51, 100, 5, 30002);
	apply(pl, alloc, &o);
	assert_non_null(strstr(out, "m=audio 30000 RTP/AVP 0\r\n"));
	assert_non_null(strstr(out, "m=application 0 TCP/MSRP *\r\nc=IN IP4 0.0.0.0\r\n"));
	assert_null(strstr(out, "10.1.0.10"));
	sdp_plan_free(pl);
}

static void test_bump_version(void **state)
{
	struct sdp_apply_opts o = {.bump_version = true};
	struct nc_ep alloc[2];
	struct sdp_plan *pl;
	size_t n;

	(void)state;
	n = load("softphone_offer.sdp", true, body, sizeof(body));
	plan_ok(body, n, &pl);
	offer_alloc(alloc);
	apply(pl, alloc, &o);
	assert_non_null(strstr(out, "o=alice 2890844526 2890844527 IN IP4 198.51.100.7\r\n"));
	sdp_plan_free(pl);

	n = crlf_of("v=0\no=- 7 999 IN IP4 0.0.0.0\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\n"
		    "m=audio 4000 RTP/AVP 0\n",
		    body);
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_plan_nendpoints(pl), 0);
	apply(pl, NULL, &o);
	assert_non_null(strstr(out, "o=- 7 1000 IN IP4 0.0.0.0\r\n"));
	sdp_plan_free(pl);

	n = crlf_of("v=0\no=- 7 v1 IN IP4 0.0.0.0\ns=-\nt=0 0\n", body);
	plan_ok(body, n, &pl);
	apply(pl, NULL, &o);
	assert_non_null(strstr(out, "o=- 7 v1 IN IP4 0.0.0.0\r\n")); /* not a number: as is */
	sdp_plan_free(pl);
}

static void test_origin(void **state)
{
	struct sdp_apply_opts o = {0};
	struct nc_ep alloc[2];
	struct nc_ip org;
	struct sdp_plan *pl;
	size_t n;

	(void)state;
	n = load("softphone_offer.sdp", true, body, sizeof(body));
	plan_ok(body, n, &pl);
	offer_alloc(alloc);
	assert_int_equal(sdp_apply_origin(pl, alloc, 2, NULL, &org), 0);
	assert_int_equal(org.af, NC_AF_IP4);
	assert_memory_equal(org.a, ((uint8_t[]){198, 51, 100, 7}), 4);
	/* a later SDP of the dialog, allocated elsewhere, keeps the first o= */
	ip(&alloc[0], 198, 51, 100, 77, 21000);
	o.origin = org;
	apply(pl, alloc, &o);
	assert_non_null(strstr(out, "o=alice 2890844526 2890844526 IN IP4 198.51.100.7\r\n"));
	assert_non_null(strstr(out, "c=IN IP4 198.51.100.77\r\n"));
	o.origin.af = NC_AF_IP6;
	assert_int_equal(sdp_apply(pl, alloc, 2, &o, out, sizeof(out)), SDP_E_INVAL);
	assert_int_equal(sdp_apply_origin(pl, alloc, 2, &o, &org), SDP_E_INVAL);
	assert_int_equal(sdp_apply_origin(pl, alloc, 2, NULL, NULL), SDP_E_INVAL);
	assert_int_equal(sdp_apply_origin(pl, alloc, 1, NULL, &org), SDP_E_INVAL);
	sdp_plan_free(pl);

	/* RFC 2543 hold: nothing bound, but o= still the dialog's */
	n = load("hold_zero.sdp", true, body, sizeof(body));
	plan_ok(body, n, &pl);
	assert_int_equal(sdp_apply_origin(pl, NULL, 0, NULL, &org), 0);
	assert_int_equal(org.af, 0);
	ip(&alloc[0], 198, 51, 100, 7, 1);
	o.origin = alloc[0].ip;
	o.bump_version = true;
	apply(pl, NULL, &o);
	assert_non_null(strstr(out, "o=alice 2890844526 2890844530 IN IP4 198.51.100.7\r\n"));
	assert_non_null(strstr(out, "c=IN IP4 0.0.0.0\r\n"));
	sdp_plan_free(pl);
}

static void test_misc_api(void **state)
{
	struct sdp_plan *pl = (struct sdp_plan *)1;
	unsigned line = 7;

	(void)state;
	assert_int_equal(sdp_plan(NULL, 5, &pl, &line), SDP_E_INVAL);
	assert_null(pl);
	assert_int_equal(line, 0);
	assert_int_equal(sdp_plan("v=0\n", 4, NULL, NULL), SDP_E_INVAL);
	assert_int_equal(sdp_plan_nstreams(NULL), 0);
	assert_int_equal(sdp_plan_nendpoints(NULL), 0);
	assert_null(sdp_plan_stream(NULL, 0));
	assert_null(sdp_plan_endpoint(NULL, 0));
	assert_int_equal(sdp_apply_bound(NULL), 0);
	assert_int_equal(sdp_plan_remote_filter(NULL, 0, NULL), SDP_E_INVAL);
	sdp_plan_free(NULL);
	for (int e = SDP_E_INVAL; e >= SDP_E_INTERNAL; e--) {
		assert_non_null(sdp_strerror(e));
		assert_string_not_equal(sdp_strerror(e), "unknown SDP error");
		for (int f = e - 1; f >= SDP_E_INTERNAL; f--)
			assert_string_not_equal(sdp_strerror(e), sdp_strerror(f));
	}
	assert_string_equal(sdp_strerror(-1), "unknown SDP error");
	assert_string_equal(sdp_strerror(0), "success");
}

/* ---- Random mutation ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static size_t rndn(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static const char *const tokens[] = {
	" ",       "\r\n",      "\n",        "\r",         "\n\n",        "=",
	":",       "/",         "0",         "65535",      "0.0.0.0",     "224.1.1.1/3",
	"IN IP6 ::1", "IP4",    "a=rtcp:",   "a=rtcp-mux\r\n", "c=IN IP4 10.9.9.9\r\n",
	"m=audio 0 RTP/AVP 0\r\n", "m=video 7000 RTP/AVP 31\r\n", "a=sendonly\r\n",
	"a=candidate:1 2 UDP 1 1.2.3.4 5 typ host\r\n", "i=x\r\n", "b=AS:1\r\n",
	"host.example", "\xc3\xa9", "\xff", "999999", "TCP/MSRP", "udptl",
};

static size_t mutate(char *b, size_t n, size_t cap)
{
	unsigned ops = 1 + (unsigned)rndn(4);

	for (unsigned i = 0; i < ops; i++) {
		size_t pos = rndn(n + 1), k;
		const char *t;

		switch (rndn(6)) {
		case 0: /* replace one byte */
			if (n) {
				static const char pick[] = " \r\n=:/0.9amcIP\xff\xc3";

				b[rndn(n)] = rndn(4) ? pick[rndn(sizeof(pick) - 1)] : (char)rnd();
			}
			break;
		case 1: /* delete a range */
			k = 1 + rndn(12);
			if (pos + k > n)
				k = n - pos;
			memmove(b + pos, b + pos + k, n - pos - k);
			n -= k;
			break;
		case 2: /* insert a token */
			t = tokens[rndn(sizeof(tokens) / sizeof(tokens[0]))];
			k = strlen(t);
			if (n + k < cap) {
				memmove(b + pos + k, b + pos, n - pos);
				memcpy(b + pos, t, k);
				n += k;
			}
			break;
		case 3: /* duplicate a slice elsewhere */
			k = 1 + rndn(40);
			if (pos + k <= n && n + k < cap) {
				size_t at = rndn(n + 1);
				char tmp[64];

				memcpy(tmp, b + pos, k);
				memmove(b + at + k, b + at, n - at);
				memcpy(b + at, tmp, k);
				n += k;
			}
			break;
		case 4: /* truncate */
			if (!rndn(4))
				n = pos;
			break;
		default: /* swap two bytes */
			if (n) {
				size_t a = rndn(n), c = rndn(n);
				char x = b[a];

				b[a] = b[c];
				b[c] = x;
			}
			break;
		}
	}
	return n;
}

/* Override to explore: -DMUTANTS=200000 -DMUTATION_SEED=42 */
#ifndef MUTANTS
#define MUTANTS 6000
#endif
#ifndef MUTATION_SEED
#define MUTATION_SEED 0x6e61746564676521ULL
#endif

static void test_mutation(void **state)
{
	static char m[BUF_MAX];
	unsigned planned = 0;

	(void)state;
	rng_state = MUTATION_SEED; /* fixed: failures reproduce */
	for (unsigned i = 0; i < MUTANTS; i++) {
		unsigned f = (unsigned)rndn(NGOOD + NBAD);
		const char *name = f < NGOOD ? good_fixtures[f] : bad_fixtures[f - NGOOD];
		size_t n = load(name, rndn(2), m, sizeof(m));
		struct sdp_plan *pl;
		unsigned line;
		int r;

		n = mutate(m, n, sizeof(m) / 2);
		r = sdp_plan(m, n, &pl, &line);
		if (r < 0) {
			assert_null(pl);
			assert_true(r <= SDP_E_INVAL && r >= SDP_E_INTERNAL);
			assert_true(r != SDP_E_INTERNAL && r != SDP_E_NOMEM);
			continue;
		}
		/* planned: the output must be valid and plan to the allocations */
		struct nc_ep alloc[SDP_EP_MAX];
		enum sdp_ice_policy ice = (enum sdp_ice_policy)(i % 3);
		int k;

		planned++;
		fake_alloc(pl, alloc);
		k = apply(pl, alloc, &(struct sdp_apply_opts){.ice = ice, .bump_version = i & 4});
		check_rewritten(pl, alloc, out, (size_t)k, ice);
		sdp_plan_free(pl);
		identity(m, n);
	}
	/* the loop tested rewriting, not only rejection */
	assert_true(planned > MUTANTS / 10);
	print_message("mutation: %u mutants, %u planned and rewritten\n", (unsigned)MUTANTS, planned);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offer_plan),
		cmocka_unit_test(test_offer_apply_strip),
		cmocka_unit_test(test_offer_apply_rewrite_keep),
		cmocka_unit_test(test_answer_port0_kept),
		cmocka_unit_test(test_baresip),
		cmocka_unit_test(test_sipp),
		cmocka_unit_test(test_session_c_only),
		cmocka_unit_test(test_media_c_override),
		cmocka_unit_test(test_two_addrs),
		cmocka_unit_test(test_port0_stream),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_rtcp_kinds),
		cmocka_unit_test(test_bundle),
		cmocka_unit_test(test_srtp_sdes),
		cmocka_unit_test(test_srtp_dtls),
		cmocka_unit_test(test_srtp_savpf_mux),
		cmocka_unit_test(test_multicast_untouched),
		cmocka_unit_test(test_ipv6_port0_ok),
		cmocka_unit_test(test_bad_fixtures),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_nul_and_encoding),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_parser_agreement),
		cmocka_unit_test(test_osip_overread),
		cmocka_unit_test(test_stream_errors),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_line_endings),
		cmocka_unit_test(test_round_trip_all),
		cmocka_unit_test(test_hostile_outcomes),
		cmocka_unit_test(test_bind_req),
		cmocka_unit_test(test_apply_errors),
		cmocka_unit_test(test_disable_unbound),
		cmocka_unit_test(test_proto_name_and_decline),
		cmocka_unit_test(test_bump_version),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_misc_api),
		cmocka_unit_test(test_mutation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
