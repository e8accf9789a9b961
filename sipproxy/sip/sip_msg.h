/* sip_msg: the one adapter that owns libosip2's message parser.
 *
 * Nothing else in sipproxy calls osip_message_parse() or
 * sip_msg_to_str(). sip_msg_parse() frames and checks the raw bytes
 * itself first (size limit, start line, header lines, Content-Length
 * against the body), hands libosip2 a canonical copy, then checks the
 * mandatory headers RFC 3261 §8.2.1 and §16.3 ask a proxy to check. Every
 * refusal carries the SIP status to answer with and a short reason.
 *
 * The helpers below are the message edits a stateful proxy makes (RFC 3261
 * §16.4-§16.7, RFC 3581), the response builder of §8.2.6 and the keys of
 * §17 transactions and §12 dialogs. They never log, exit or abort: they
 * return 0 or a negative errno and the caller logs. Messages are
 * sip_msg_t, freed with sip_msg_free(); bytes from sip_msg_to_bytes() are
 * freed with sip_msg_bytes_free().
 *
 * The accessors at the end are how the rest of sipproxy reads and edits a
 * message: no file outside sipproxy/sip/ touches a libosip2 structure, and
 * this is the only header that includes libosip2's (see sip/README.md).
 * sip_msg_t, sip_uri_t and sip_contact_t are libosip2's types under our
 * names (no wrapper, no copy); treat them as opaque.
 */
#ifndef SIPPROXY_SIP_MSG_H
#define SIPPROXY_SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <osipparser2/osip_parser.h>

typedef osip_message_t sip_msg_t;    /* a request or a response */
typedef osip_uri_t sip_uri_t;        /* a URI inside a message */
typedef osip_contact_t sip_contact_t; /* one Contact value */

/* Hard ceiling on a message, in and out: libosip2 writes Content-Length
 * into a five-character field, and a UDP datagram cannot be larger. */
#define SIP_MSG_MAX_LEN 65535

#define SIP_HOST_MAX 256      /* a host name or an IP literal, NUL included */
#define SIP_TRANSPORT_MAX 16  /* "UDP", "TCP", "TLS", "SCTP", "WS", "WSS", ... */
#define SIP_LOOP_KEY_LEN 16   /* hex digits of sip_msg_loop_key() */
#define SIP_BRANCH_MAX 64     /* what sip_msg_make_branch() writes, NUL included */

/* Why a message was refused: the status to answer and a reason phrase. */
struct sip_err {
	int status;         /* 400, 416, 505, 513 ... (500 when out of memory) */
	const char *reason; /* e.g. "Bad Request (CSeq method mismatch)" */
	bool is_response;   /* the input was a response: drop it, never answer */
};

/* Where to send a message: RFC 3261 §18.2.2 for responses, §16.6 step 7
 * (through sip_msg_uri_target) for requests. */
struct sip_target {
	char host[SIP_HOST_MAX];          /* IP literal (no brackets) or a name */
	uint16_t port;                    /* explicit, or the default for the transport */
	char transport[SIP_TRANSPORT_MAX]; /* upper case */
	bool numeric;                     /* host is an IP literal: no DNS needed */
	bool explicit_port;               /* port was written (RFC 3263 §4.2: no SRV) */
	bool reliable;                    /* TCP, TLS, SCTP, WS: reuse the connection first */
};

/* Call once at start-up: parser_init() and silence libosip2's traces. */
int sip_msg_init(void);

/* Route libosip2's traces to fn (the logger), or silence them (NULL). */
void sip_msg_set_trace(osip_trace_func_t *fn);

/* Parse len bytes into *out. max_len caps the message (0: SIP_MSG_MAX_LEN,
 * never more). A message is only accepted if the proxy can forward it as
 * it came: every URI (Request-URI, To, From, Contact, Route, Record-Route)
 * must match RFC 3261's grammar byte for byte, and the message, written
 * out with sip_msg_to_bytes() and read back, must say the same thing (400
 * otherwise, the reason naming the header). Returns 0, or a negative
 * errno with *err filled in. On
 * failure *out is NULL unless the input was a request that libosip2 parsed
 * and that carries what a response needs (Via, From, To, Call-ID, CSeq) and
 * is not an ACK: then *out holds it, so that the caller can answer
 * err->status with sip_msg_build_response(). The caller frees *out
 * whenever it is not NULL. */
int sip_msg_parse(const char *buf, size_t len, size_t max_len,
		  sip_msg_t **out, struct sip_err *err);

/* Serialise msg; Content-Length is recomputed from the body (the structure
 * is updated too). -EMSGSIZE past SIP_MSG_MAX_LEN. Free *buf with
 * sip_msg_bytes_free(). */
int sip_msg_to_bytes(sip_msg_t *msg, char **buf, size_t *len);
void sip_msg_bytes_free(char *buf);

/* Max-Forwards of msg (0..255), or -ENOENT if it has none. At 0 the
 * request is not forwarded: RFC 3261 §16.3 step 3, 483 unless OPTIONS. */
int sip_msg_max_forwards(const sip_msg_t *msg);

/* RFC 3261 §16.6 step 3: decrement Max-Forwards, or add it with 70.
 * -ERANGE if it is already 0 (the caller answers 483 first). */
int sip_msg_decrement_max_forwards(sip_msg_t *msg);

/* RFC 3261 §18.2.1 and RFC 3581 §4 on a received request: add received=
 * when the top Via's sent-by is not src_ip, fill an rport parameter with
 * src_port. src_ip is an IPv4 or IPv6 literal. */
int sip_msg_top_via_fix(sip_msg_t *msg, const char *src_ip, uint16_t src_port);

/* Where a response goes per the Via at position pos (RFC 3261 §18.2.2,
 * RFC 3581 §4): maddr when use_maddr (only for a sender the caller trusts:
 * maddr would let anyone aim responses and their retransmissions at a
 * third host), else received (+ rport), else sent-by. */
int sip_msg_via_target(const sip_msg_t *msg, int pos, bool use_maddr, struct sip_target *t);

/* Where a response received from downstream goes: the second Via (the top
 * one is ours and is removed by sip_msg_pop_via()); maddr is ignored. */
int sip_msg_response_target(const sip_msg_t *resp, struct sip_target *t);

/* The next hop a URI names (RFC 3261 §16.6 step 7, RFC 3263 §4): maddr or
 * host, port or the default, transport parameter or the default. */
int sip_msg_uri_target(const sip_uri_t *uri, struct sip_target *t);

/* Loop-detection part of our branch (RFC 3261 §16.6 step 8): a hash of the
 * tags, Call-ID, Request-URI, top Via (sent-by and branch), CSeq number,
 * Proxy-Require and Proxy-Authorization of a request as received. Compute
 * it before the Request-URI is changed. Writes SIP_LOOP_KEY_LEN hex digits
 * and a NUL. */
int sip_msg_loop_key(const sip_msg_t *req, char *buf, size_t len);

/* A branch: "z9hG4bK" (RFC 3261 §8.1.1.7), the loop key and '.' if
 * loop_key is not NULL, then hex of entropy (8..16 bytes), or of 12 bytes
 * from getrandom() if entropy is NULL. */
int sip_msg_make_branch(char *buf, size_t len, const char *loop_key,
			const uint8_t *entropy, size_t entropy_len);

/* RFC 3261 §16.6 step 8: push our Via. port 0 leaves it out; branch NULL
 * makes a random one. host may be an IPv6 literal, with or without []. */
int sip_msg_add_via(sip_msg_t *msg, const char *transport, const char *host,
		    uint16_t port, const char *branch);

/* RFC 3261 §16.7 step 3: remove the top Via of a response. -ENOENT if there
 * is none; the caller then checks sip_msg_via_count() for 0 (for us). */
int sip_msg_pop_via(sip_msg_t *msg);
int sip_msg_via_count(const sip_msg_t *msg);

/* RFC 3261 §16.3 step 4: true if a Via carries our sent-by (host, port)
 * with a branch whose loop part matches this request (a loop, answer 482);
 * false if it does not (a spiral, or never seen). */
bool sip_msg_is_looped(const sip_msg_t *req, const char *host, uint16_t port);

/* RFC 3261 §16.6 step 4: insert Record-Route <uri;lr> ahead of the others.
 * uri is a sip: or sips: URI, with or without <>. */
int sip_msg_add_record_route(sip_msg_t *msg, const char *uri);

/* Whether a URI names this proxy (host and port the caller listens on). */
typedef bool sip_msg_is_mine_fn(const sip_uri_t *uri, void *arg);

/* RFC 3261 §16.4: if the Request-URI is ours and Routes are present (a
 * strict router upstream), restore the Request-URI from the last Route;
 * remove the top Route while it is ours (two of ours in a row: RFC 5658).
 * *next_hop (borrowed from msg, valid until msg changes) is the top Route
 * if any, else the Request-URI. */
int sip_msg_route_preprocess(sip_msg_t *msg, sip_msg_is_mine_fn *is_mine,
			     void *arg, const sip_uri_t **next_hop);

/* RFC 3261 §16.6 step 6: if the top Route has no lr (a strict router
 * downstream), move the Request-URI to the end of the Route set and the top
 * Route into the Request-URI. The next hop does not change. */
int sip_msg_route_strict_fixup(sip_msg_t *msg);

/* RFC 3261 §8.2.6: a response to req with Via(s), From, To, Call-ID and
 * CSeq copied and no body. A To tag is added when status > 100 and To has
 * none: to_tag, or a random one if NULL. reason NULL: the standard phrase.
 * 100 Trying copies Timestamp (§8.2.6.1). Never for an ACK (-EINVAL). */
int sip_msg_build_response(const sip_msg_t *req, int status, const char *reason,
			   const char *to_tag, sip_msg_t **out);

/* The SDP body: the whole body if Content-Type is application/sdp, else
 * the application/sdp part of a multipart body. Borrowed from msg.
 * -ENOENT if there is none. */
int sip_msg_get_sdp_body(const sip_msg_t *msg, const char **sdp, size_t *len);

/* Replace the SDP body found as above; Content-Type stays, Content-Length
 * is fixed by sip_msg_to_bytes(). len must be 1..SIP_MSG_MAX_LEN. */
int sip_msg_set_sdp_body(sip_msg_t *msg, const char *sdp, size_t len);

/* Transaction key (RFC 3261 §17.2.3 for requests: top Via branch + sent-by
 * + method, ACK as INVITE; §17.1.3 for responses: branch + CSeq method).
 * cancel_as_invite maps CANCEL to INVITE too, to find the transaction a
 * CANCEL cancels (§9.2). -ENOTSUP without the magic cookie (RFC 2543
 * matching is not done), -ENOSPC if len is too small. */
int sip_msg_txn_key(const sip_msg_t *msg, bool cancel_as_invite, char *buf, size_t len);

/* The whole Call-ID ("number@host" or "number") into buf, cut to len;
 * "-" if there is none. Returns buf. */
#define SIP_CALLID_MAX 256
const char *sip_msg_call_id(const sip_msg_t *msg, char *buf, size_t len);

/* Dialog id (RFC 3261 §12): Call-ID and both tags, the tags in a fixed
 * order so that both directions give the same id. -ENOENT if a tag is
 * missing, -ENOSPC if len is too small. */
int sip_msg_dialog_id(const sip_msg_t *msg, char *buf, size_t len);

/* RFC 3261 §17.1.1.3: the ACK of a non-2xx final response resp to req (as
 * sent): Request-URI, Call-ID, From, CSeq number, top Via and Route of the
 * request, To of the response. NULL when out of memory. */
sip_msg_t *sip_msg_build_ack(const sip_msg_t *req, const sip_msg_t *resp);

/* RFC 3261 §9.1: the CANCEL of req (as sent). NULL when out of memory. */
sip_msg_t *sip_msg_build_cancel(const sip_msg_t *req);

/* ---- accessors (sip_access.c) ----
 * Getters return borrowed strings, valid until the message is edited or
 * freed, or NULL when the field is absent; a NULL message, URI or Contact
 * reads as absent. */

void sip_msg_free(sip_msg_t *m);
/* A deep copy into *out: 0, -EINVAL, -ENOMEM. */
int sip_msg_clone(const sip_msg_t *m, sip_msg_t **out);
/* Free a string returned by sip_uri_to_str() or sip_msg_cred_text(). */
void sip_str_free(char *s);

bool sip_msg_is_request(const sip_msg_t *m);
/* The request's method, NULL for a response. */
const char *sip_msg_method(const sip_msg_t *m);
/* A request of this method ("INVITE", "ACK", ...; case matters). */
bool sip_msg_method_is(const sip_msg_t *m, const char *method);
/* The status of a response, 0 for a request. */
int sip_msg_status(const sip_msg_t *m);
/* The reason phrase of a response. */
const char *sip_msg_reason(const sip_msg_t *m);
/* Change a response's status and reason (NULL: the standard phrase). */
int sip_msg_set_status(sip_msg_t *m, int status, const char *reason);

/* Append a header kept as text (Retry-After, Warning, Min-Expires,
 * WWW-Authenticate...): 0, -EINVAL, -ENOMEM. */
int sip_msg_add_header(sip_msg_t *m, const char *name, const char *value);
/* The value of the first header of that name (case-insensitive; NULL if
 * none, or if it is empty) and, in *count (may be NULL), how many there are. */
const char *sip_msg_header(const sip_msg_t *m, const char *name, int *count);

/* The tag parameter of From / To: the one read of a dialog party's tag. */
const char *sip_msg_from_tag(const sip_msg_t *m);
const char *sip_msg_to_tag(const sip_msg_t *m);
const sip_uri_t *sip_msg_from_uri(const sip_msg_t *m);
const sip_uri_t *sip_msg_to_uri(const sip_msg_t *m);
/* The Call-ID's two parts ("number@host"; host may be NULL). */
const char *sip_msg_call_id_number(const sip_msg_t *m);
const char *sip_msg_call_id_host(const sip_msg_t *m);
const char *sip_msg_cseq_number(const sip_msg_t *m);
const char *sip_msg_cseq_method(const sip_msg_t *m);

/* The Request-URI of a request. */
const sip_uri_t *sip_msg_req_uri(const sip_msg_t *m);
/* Replace the Request-URI by the URI in text: 0, -EINVAL, -ENOMEM. */
int sip_msg_set_req_uri(sip_msg_t *m, const char *uri);
int sip_msg_route_count(const sip_msg_t *m);
/* The URI of the Route at pos (0: top). */
const sip_uri_t *sip_msg_route_uri(const sip_msg_t *m, int pos);
/* The branch parameter of the Via at pos (0: top), as written. */
const char *sip_msg_via_branch(const sip_msg_t *m, int pos);
/* Whether the Via at pos has the parameter name (e.g. RFC 5923's "alias"). */
bool sip_msg_via_has_param(const sip_msg_t *m, int pos, const char *name);

const char *sip_uri_scheme(const sip_uri_t *u);
const char *sip_uri_user(const sip_uri_t *u);
const char *sip_uri_password(const sip_uri_t *u);
const char *sip_uri_host(const sip_uri_t *u); /* IPv6 without its [] */
const char *sip_uri_port(const sip_uri_t *u);
/* A URI parameter (case-insensitive name): its value, "" if it has none,
 * NULL if it is absent. */
const char *sip_uri_param(const sip_uri_t *u, const char *name);
/* Parse text into *out (free with sip_uri_free()): 0, -EINVAL, -ENOMEM. */
int sip_uri_parse(const char *text, sip_uri_t **out);
/* Write u out into *out (free with sip_str_free()): 0, -EINVAL, -ENOMEM. */
int sip_uri_to_str(const sip_uri_t *u, char **out);
void sip_uri_free(sip_uri_t *u);

int sip_msg_contact_count(const sip_msg_t *m);
const sip_contact_t *sip_msg_contact(const sip_msg_t *m, int pos);
/* "Contact: *" (RFC 3261 §10.2.2). */
bool sip_contact_is_star(const sip_contact_t *c);
const sip_uri_t *sip_contact_uri(const sip_contact_t *c);
int sip_contact_param_count(const sip_contact_t *c);
/* Whether the Contact has the header parameter name (case-insensitive):
 * *value its first value (NULL if it has none); *dup set to true if the
 * parameter appears more than once (left alone otherwise). */
bool sip_contact_param(const sip_contact_t *c, const char *name, const char **value, bool *dup);
/* Append a Contact from its text: 0, -EINVAL, -ENOMEM. */
int sip_msg_add_contact(sip_msg_t *m, const char *value);
/* Remove every Contact past the first keep. */
void sip_msg_truncate_contacts(sip_msg_t *m, int keep);

/* Credentials: Proxy-Authorization (proxy) or Authorization headers. */
int sip_msg_cred_count(const sip_msg_t *m, bool proxy);
/* The credential at pos written out into *out (free with sip_str_free()):
 * 0, -ENOENT, -EINVAL. */
int sip_msg_cred_text(const sip_msg_t *m, bool proxy, int pos, char **out);
/* Remove the credential at pos (RFC 3261 §22.3: a proxy consumes its own). */
void sip_msg_cred_remove(sip_msg_t *m, bool proxy, int pos);

#endif
