/* sdp_rewrite.h: plan and apply the NAT rewriting of an SDP body.
 *
 * Two phases, so the SIP path never waits on natd:
 *
 *   sdp_plan()          parse a body and list the endpoints that need a
 *                       binding (no I/O);
 *   sdp_plan_bind_req() fill the BIND request for each endpoint, which
 *                       the caller sends with nc_async_bind();
 *   sdp_apply()         once every reply is in, write the rewritten body
 *                       from the plan and the allocated addresses.
 *
 * The plan owns a copy of the body, so the caller may free or change the
 * SIP message while the BINDs are in flight. Nothing here logs, blocks,
 * exits or keeps global state; every function returns 0 (or a count or a
 * length) on success and a negative SDP_E_* on failure, and sdp_strerror()
 * describes it. Theory of operation: see sdp_rewrite.c.
 */
#ifndef SIPPROXY_SDP_REWRITE_H
#define SIPPROXY_SDP_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libcontrol/msg.h>

/* Limits enforced before libosip2 sees the body: a longer body, or one
 * with more lines or m= lines, is refused (never truncated). The line
 * limit bounds libosip2's parse, which is quadratic in the number of lines
 * of a section (its lists append by walking from the head): about 3 ms at
 * 1024 lines, 45 ms at 4000. A real SDP needs fewer than 16 bytes a line
 * on average to reach it within SDP_BODY_MAX. */
#define SDP_BODY_MAX 16384
#define SDP_LINES_MAX 1024
#define SDP_MEDIA_MAX 32
/* At most one RTP and one separate RTCP endpoint per stream. */
#define SDP_EP_MAX (2 * SDP_MEDIA_MAX)

/* Errors (negated), below -2000 so they collide neither with -errno nor
 * with libcontrol's NC_E_* (-1001...). */
enum sdp_error {
	SDP_E_INVAL = -2001,       /* bad argument (NULL, index out of range...) */
	SDP_E_NOMEM = -2002,       /* out of memory */
	SDP_E_TOOBIG = -2003,      /* body longer than SDP_BODY_MAX */
	SDP_E_EMPTY = -2004,       /* empty body */
	SDP_E_NUL = -2005,         /* NUL byte in the body */
	SDP_E_ENCODING = -2006,    /* not UTF-8, or a control character */
	SDP_E_TRUNCATED = -2007,   /* the last line has no line end */
	SDP_E_SYNTAX = -2008,      /* not "x=value" lines (blank line inside, lone CR) */
	SDP_E_PARSE = -2009,       /* rejected by the SDP parser (order, missing field) */
	SDP_E_TOOMANY = -2010,     /* more than SDP_MEDIA_MAX m= lines */
	SDP_E_LINES = -2011,       /* more than SDP_LINES_MAX lines */
	SDP_E_NOCONN = -2012,      /* an active stream has no c= line */
	SDP_E_FQDN = -2013,        /* unsupported address: a host name */
	SDP_E_IPV6 = -2014,        /* unsupported address: IPv6 */
	SDP_E_ADDR = -2015,        /* malformed connection address */
	SDP_E_PORT = -2016,        /* malformed or unusable port */
	SDP_E_PROTO = -2017,       /* unsupported transport protocol */
	SDP_E_RTCP = -2018,        /* malformed or repeated a=rtcp */
	SDP_E_UNSUPPORTED = -2019, /* unsupported construct (port count, several c=) */
	SDP_E_OVERLAP = -2020,     /* one stream's RTP port is another's RTCP port */
	SDP_E_ALLOC = -2021,       /* apply: an allocation is missing or unusable */
	SDP_E_NOSPACE = -2022,     /* apply: the output buffer is too small */
	SDP_E_INTERNAL = -2023,    /* apply: the body does not match its plan (a bug) */
};

/* What the rewriting does with a stream (an m= line). */
enum sdp_stream_kind {
	SDP_STREAM_BIND,      /* unicast IPv4: bound and rewritten */
	SDP_STREAM_DISABLED,  /* port 0: kept byte for byte, no binding */
	SDP_STREAM_HOLD,      /* c=0.0.0.0 (RFC 2543 hold): kept, no binding */
	SDP_STREAM_MULTICAST, /* c= in 224.0.0.0/4: kept, no binding */
};

/* Direction attribute in force for a stream (RFC 4566 §6; RFC 3264 §8.4
 * hold uses sendonly or inactive, and the stream is still bound). */
enum sdp_dir {
	SDP_DIR_SENDRECV,
	SDP_DIR_SENDONLY,
	SDP_DIR_RECVONLY,
	SDP_DIR_INACTIVE,
};

/* Where a BIND stream's RTCP goes. */
enum sdp_rtcp {
	SDP_RTCP_NONE,     /* not RTP (udptl, TCP/MSRP...) and no a=rtcp */
	SDP_RTCP_IMPLICIT, /* no a=rtcp: port+1 (RFC 3550 §11), paired binding */
	SDP_RTCP_PAIR,     /* a=rtcp names port+1 on the same address: paired binding */
	SDP_RTCP_MUX,      /* a=rtcp names the RTP port itself (RFC 5761 §5.1.3),
			      or the address 0.0.0.0 (WebRTC's a=rtcp:9 IN IP4
			      0.0.0.0): RTCP on the RTP port */
	SDP_RTCP_SEPARATE, /* a=rtcp names another port or address: its own binding */
};

/* One m= line, as planned. Addresses are IPv4 in network byte order. */
struct sdp_stream {
	char media[16];            /* "audio", "video"... (cut to fit; informative) */
	unsigned line;             /* 1-based line number of its m= line */
	enum sdp_stream_kind kind;
	enum sdp_dir dir;
	uint16_t port;             /* m= port (0: disabled) */
	uint8_t proto;             /* NC_PROTO_UDP or NC_PROTO_TCP (0 if disabled) */
	char proto_name[24];       /* the m= protocol as written ("RTP/AVP", "TCP/MSRP"...);
				      "" if disabled or too long to hold */
	bool rtp;                  /* an RTP profile (RTP/AVP, RTP/SAVPF...) */
	bool conn_media;           /* its c= is media-level (else session-level) */
	uint8_t addr[4];           /* connection address (BIND, HOLD, MULTICAST) */
	enum sdp_rtcp rtcp;        /* BIND streams only; NONE otherwise */
	uint16_t rtcp_port;        /* IMPLICIT/PAIR: port+1; MUX: port; SEPARATE */
	bool rtcp_has_addr;        /* a=rtcp carries a (non-zero) address ... */
	uint8_t rtcp_addr[4];      /* ... this one */
	bool rtcp_mux;             /* a=rtcp-mux is present (RFC 5761) */
	int ep;                    /* endpoint of its RTP (BIND), else -1 */
	int rtcp_ep;               /* endpoint of its RTCP (SEPARATE), else -1 */
};

/* One endpoint that needs a binding. Streams that share an address and
 * port (BUNDLE, RFC 8843) share one endpoint. */
struct sdp_endpoint {
	uint8_t addr[4];
	uint16_t port;
	uint8_t proto;     /* NC_PROTO_UDP or NC_PROTO_TCP */
	bool rtp_pair;     /* bind port+1 too (its RTCP), at allocated port+1 */
	bool rtcp;         /* a separate RTCP endpoint (SDP_RTCP_SEPARATE) */
	unsigned stream;   /* first stream that uses it */
};

/* Remote filter built from the other party's SDP. */
struct sdp_remote_filter {
	unsigned n;
	struct nc_match m[NC_FILTER_MAX];
};

/* ICE attributes (RFC 8839) in the rewritten body. */
enum sdp_ice_policy {
	SDP_ICE_STRIP = 0, /* drop a=candidate, a=remote-candidates,
			      a=end-of-candidates and every a=ice-* */
	SDP_ICE_KEEP,      /* copy them unchanged */
	SDP_ICE_REWRITE,   /* keep ufrag/pwd/options; replace a bound stream's
			      candidates by host candidates on its allocation */
};

/* Options of sdp_apply(); all-zero (or NULL) is the default. */
struct sdp_apply_opts {
	enum sdp_ice_policy ice;
	bool bump_version;    /* add 1 to o='s sess-version (RFC 3264 §8) */
	bool disable_unbound; /* an endpoint whose allocation has af 0 disables
				 its stream (m= port 0) instead of failing */
	struct nc_ip origin;  /* o='s address. af 0: the new session c='s, else
				 the first bound stream's (o= is left alone if
				 there is neither); NC_AF_IP4: this one, so that
				 o= stays the same through a dialog (RFC 3264 §8)
				 however its allocations change */
};

struct sdp_plan;

/* Describe an SDP_E_* value. Never NULL. */
const char *sdp_strerror(int err);

/* Parse body (len bytes, no terminating NUL needed) and plan its rewriting.
 * On 0, *planp is a new plan (free it with sdp_plan_free). On error,
 * *planp is NULL and, if err_line is not NULL, *err_line holds the 1-based
 * line the error was found on (0 when it concerns the whole body). */
int sdp_plan(const char *body, size_t len, struct sdp_plan **planp, unsigned *err_line);

/* Free a plan. NULL is ignored. */
void sdp_plan_free(struct sdp_plan *plan);

/* Number of streams (m= lines). */
unsigned sdp_plan_nstreams(const struct sdp_plan *plan);

/* Stream i (0-based), or NULL if out of range. */
const struct sdp_stream *sdp_plan_stream(const struct sdp_plan *plan, unsigned i);

/* Number of endpoints that need a binding (0: nothing to bind; sdp_apply
 * still works, and rewrites nothing but what the options ask). */
unsigned sdp_plan_nendpoints(const struct sdp_plan *plan);

/* Endpoint i (0-based), or NULL if out of range. */
const struct sdp_endpoint *sdp_plan_endpoint(const struct sdp_plan *plan, unsigned i);

/* Fill *req with the BIND for endpoint i: direction BOTH, its protocol,
 * E = its address and port in in_realm, M wanted in ext_realm (the realm
 * the message is heading to), rtp_pair as planned, the given lifetime
 * (0: natd's default) and, when filter is not NULL and not empty, its
 * entries as FILTERs (remote filter). Label, transit and WANT_* are left empty
 * for the caller. */
int sdp_plan_bind_req(const struct sdp_plan *plan, unsigned i, const char *in_realm,
		      const char *ext_realm, uint32_t lifetime,
		      const struct sdp_remote_filter *filter, struct nc_bind *req);

/* Build in *out a remote filter from the plan of the other party's SDP,
 * as it was received from the realm the binding's M lives in: one /32
 * entry, any port, per distinct address that stream (or, with stream < 0,
 * any stream) advertises for media (its connection address, and a=rtcp's
 * when it differs). Only BIND streams count. Returns the number of
 * entries (0: nothing to filter on, send no filter) or SDP_E_INVAL. */
int sdp_plan_remote_filter(const struct sdp_plan *remote, int stream,
			   struct sdp_remote_filter *out);

/* The address sdp_apply() would write in o= with these arguments (af 0:
 * it would leave o= alone). Remember it from a dialog's first rewritten
 * SDP and pass it as opts->origin for the later ones. */
int sdp_apply_origin(const struct sdp_plan *plan, const struct nc_ep *alloc, unsigned nalloc,
		     const struct sdp_apply_opts *opts, struct nc_ip *origin);

/* A buffer size that is always enough for sdp_apply()'s output. */
size_t sdp_apply_bound(const struct sdp_plan *plan);

/* Write the rewritten body into out (cap bytes) from the plan and alloc,
 * the allocated endpoint M of each endpoint (nalloc must equal
 * sdp_plan_nendpoints; IPv4; with rtp_pair, RTCP is at M's port+1).
 * opts may be NULL. Returns the body's length (out also gets a NUL after
 * it, not counted), or a negative SDP_E_*: the caller then forwards
 * nothing it half-wrote. */
int sdp_apply(const struct sdp_plan *plan, const struct nc_ep *alloc, unsigned nalloc,
	      const struct sdp_apply_opts *opts, char *out, size_t cap);

#endif
