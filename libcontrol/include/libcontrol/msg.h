/* libcontrol/msg.h: C view of the control-channel messages and their codec.
 *
 * Theory of operation. Each message type has one struct (the table at
 * struct nc_msg says which); a decoded message is a struct nc_msg: header
 * fields plus a union of those structs. The codec copies everything it
 * decodes into the struct (fixed arrays sized by the protocol limits), so
 * a decoded message never points into the input buffer and nothing is
 * allocated. Optional fields use a value that the wire format forbids as
 * their "absent" mark (0, the empty string, a false has_* flag), so
 * encode(decode(bytes)) == bytes for every accepted message that had no
 * unknown TLVs.
 *
 * The decoder is strict (see libcontrol/proto.h): any deviation is an error
 * with its own NC_E_* code. The encoder checks the struct with the same
 * rules and refuses to produce a message the decoder would refuse.
 *
 * A stream is cut into messages with nc_frame(), which only needs the
 * magic and the length field; nc_decode() then checks everything else.
 *
 * The library never logs, exits, aborts or keeps global state. Every
 * function returns 0 or a positive count on success and a negative
 * NC_E_* (or -errno) on failure; nc_strerror() describes either.
 *
 * IPv4 and IPv6 addresses are byte arrays in network order; ports and
 * every other integer are in host order.
 */
#ifndef LIBCONTROL_MSG_H
#define LIBCONTROL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <libcontrol/proto.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes (negated). Values below -1000 so they never collide with
 * -errno values the client library also returns. */
enum nc_error {
	NC_E_SHORT = -1001,        /* input ends inside the header or the message */
	NC_E_MAGIC = -1002,        /* not "NC": not this protocol */
	NC_E_VERSION = -1003,      /* protocol version not spoken */
	NC_E_HEADER = -1004,       /* non-zero flags or reserved header bytes */
	NC_E_LENGTH = -1005,       /* length field < 16 or > 64 KiB */
	NC_E_TRAILING = -1006,     /* bytes after the last TLV or after the message */
	NC_E_TYPE = -1007,         /* unknown message type */
	NC_E_REQID = -1008,        /* request id 0 where it must not be */
	NC_E_TRUNCATED = -1009,    /* a TLV value runs past the end of the message */
	NC_E_ORDER = -1010,        /* TLVs not in ascending type order */
	NC_E_DUPLICATE = -1011,    /* a non-repeatable TLV appears twice */
	NC_E_CRITICAL = -1012,     /* an unknown TLV marked critical */
	NC_E_MISPLACED = -1013,    /* a known TLV not allowed in this message */
	NC_E_MISSING = -1014,      /* a required TLV is absent */
	NC_E_TOOMANY = -1015,      /* a repeatable TLV above its maximum count */
	NC_E_BADLEN = -1016,       /* value length wrong for its type */
	NC_E_OVERSIZE = -1017,     /* string or list longer than its limit */
	NC_E_UNTERMINATED = -1018, /* string without its terminating NUL */
	NC_E_STRING = -1019,       /* empty string, embedded NUL, bad UTF-8 or characters */
	NC_E_RANGE = -1020,        /* value outside its range (enum, port, prefix...) */
	NC_E_INCONSISTENT = -1021, /* options that contradict each other */
	NC_E_NOSPACE = -1022,      /* encode: the output buffer is too small */
	NC_E_INVAL = -1023,        /* bad argument (NULL pointer...) */
};

/* Decoded header. */
struct nc_hdr {
	uint8_t version;
	uint8_t flags;
	uint16_t type;
	uint32_t length; /* whole message, header included */
	uint32_t reqid;
};

/* An address: af NC_AF_IP4 (a[0..3] used, a[4..15] zero) or NC_AF_IP6;
 * af 0 means "none". */
struct nc_ip {
	uint8_t af;
	uint8_t a[16];
};

/* ip = the IPv4 address addr (network byte order). */
static inline void nc_ip_set4(struct nc_ip *ip, uint32_t addr)
{
	memset(ip, 0, sizeof(*ip));
	ip->af = NC_AF_IP4;
	memcpy(ip->a, &addr, 4);
}

/* The IPv4 address of ip (network byte order); 0 unless ip is IPv4. */
static inline uint32_t nc_ip_get4(const struct nc_ip *ip)
{
	uint32_t addr;

	memcpy(&addr, ip->a, 4);
	return ip->af == NC_AF_IP4 ? addr : 0;
}

struct nc_ep {
	struct nc_ip ip;
	uint16_t port;
};

/* Remote selector: ip/plen and port_lo..port_hi. */
struct nc_match {
	struct nc_ip ip;
	uint8_t plen;
	uint16_t port_lo, port_hi;
};

struct nc_target {
	struct nc_match from;
	struct nc_ep to;
};

/* What a binding is: shared by BIND, LIST_ITEM and EVENT. */
struct nc_spec {
	uint8_t dir;   /* NC_DIR_* */
	uint8_t proto; /* NC_PROTO_* */
	char in_realm[NC_NAME_MAX + 1];
	char ext_realm[NC_NAME_MAX + 1];
	struct nc_ep ep;                  /* E */
	char transit[NC_NAME_MAX + 1];    /* "" = none */
	bool has_peer;
	struct nc_match peer;
	unsigned nfilters;
	struct nc_match filters[NC_FILTER_MAX];
	unsigned ntargets;
	struct nc_target targets[NC_TARGET_MAX];
	bool drop_default;
	uint32_t latch;                   /* s, FILTER's learning window; 0 = none */
	char label[NC_TEXT_MAX + 1];      /* "" = none */
};

/* Allocation constraint on M's address. */
enum nc_want {
	NC_WANT_ANY = 0,
	NC_WANT_PREFIX, /* want_addr/want_plen (a full-length prefix: that IP) */
	NC_WANT_RANGE,  /* want_addr..want_hi */
};

struct nc_bind {
	struct nc_spec spec;
	uint8_t want; /* enum nc_want; fields it does not use are ignored */
	uint8_t want_plen;
	struct nc_ip want_addr, want_hi;
	uint16_t want_port; /* 0 = any */
	bool rtp_pair;
	bool prefer_failure;
	uint32_t lifetime; /* 0 = server default */
};

/* The common part of every reply. */
struct nc_status {
	uint16_t code; /* NC_ST_* */
	char reason[NC_TEXT_MAX + 1];
	uint64_t epoch;
};

struct nc_hello {
	char name[NC_TEXT_MAX + 1];
};

struct nc_hello_r {
	struct nc_status st;
	char name[NC_TEXT_MAX + 1];
	bool has_nonce; /* authentication required */
	uint8_t nonce[NC_NONCE_LEN];
};

struct nc_auth {
	uint8_t nonce[NC_NONCE_LEN];
	uint8_t mac[NC_MAC_LEN];
};

struct nc_auth_r {
	struct nc_status st;
	uint8_t mac[NC_MAC_LEN];
};

struct nc_caps_r {
	struct nc_status st;
	unsigned nmsgs, ntlvs;
	uint16_t msgs[NC_CAP_MAX];
	uint16_t tlvs[NC_CAP_MAX];
	uint32_t lifetime_max;
	uint32_t quota; /* 0 = not announced */
	unsigned ntransits, nrealms;
	char transits[NC_LIST_MAX][NC_NAME_MAX + 1];
	char realms[NC_LIST_MAX][NC_NAME_MAX + 1];
};

struct nc_bind_r {
	struct nc_status st;
	uint32_t id;
	struct nc_ep alloc;
	uint32_t lifetime;
};

struct nc_refresh {
	uint64_t epoch;
	uint32_t id;
	uint32_t lifetime; /* 0 = server default */
};

struct nc_refresh_r {
	struct nc_status st;
	uint32_t lifetime;
};

struct nc_release {
	uint64_t epoch;
	uint32_t id;
};

struct nc_list {
	uint32_t id;  /* 0 = every binding */
	uint8_t kind; /* 0 = every kind */
	bool mine;
};

struct nc_counters {
	uint64_t pkts_in, bytes_in, pkts_out, bytes_out;
};

struct nc_item {
	uint32_t id;
	uint8_t kind; /* NC_KIND_* */
	struct nc_spec spec;
	struct nc_ep alloc;
	uint32_t lifetime; /* seconds left; 0 = never expires */
	char owner[NC_TEXT_MAX + 1];
	bool has_counters;
	struct nc_counters counters;
};

struct nc_list_r {
	struct nc_status st;
	uint32_t count;
};

struct nc_stat {
	char name[NC_NAME_MAX + 1];
	uint64_t value;
};

struct nc_stats_r {
	struct nc_status st;
	unsigned n;
	struct nc_stat stats[NC_STATS_MAX];
};

/* HA: op "promote", "demote", or "" (status only). HA_R is a struct
 * nc_stats_r. */
struct nc_ha {
	char op[NC_TEXT_MAX + 1];
};

struct nc_watch {
	uint32_t mask; /* 0 = every event */
};

struct nc_event {
	uint8_t event; /* NC_EV_* */
	struct nc_item item;
};

/* One message of any type. Which union member goes with which type:
 *   HELLO hello        HELLO_R hello_r     AUTH auth        AUTH_R auth_r
 *   CAPS (none)        CAPS_R caps_r       BIND bind        BIND_R bind_r
 *   REFRESH refresh    REFRESH_R refresh_r RELEASE release  RELEASE_R status
 *   LIST list          LIST_ITEM item      LIST_R list_r    STATS (none)
 *   STATS_R stats_r    WATCH watch         WATCH_R status   EVENT event
 *   HA ha              HA_R stats_r        ERROR status
 * The struct is large (STATS_R holds 256 counters): keep it off small
 * stacks. */
union nc_body {
	struct nc_status status;
	struct nc_hello hello;
	struct nc_hello_r hello_r;
	struct nc_auth auth;
	struct nc_auth_r auth_r;
	struct nc_caps_r caps_r;
	struct nc_bind bind;
	struct nc_bind_r bind_r;
	struct nc_refresh refresh;
	struct nc_refresh_r refresh_r;
	struct nc_release release;
	struct nc_list list;
	struct nc_item item;
	struct nc_list_r list_r;
	struct nc_stats_r stats_r;
	struct nc_watch watch;
	struct nc_event event;
	struct nc_ha ha;
};

struct nc_msg {
	uint16_t type;    /* NC_MSG_* */
	uint32_t reqid;
	unsigned skipped; /* decode: unknown non-critical TLVs skipped */
	union nc_body u;
};

/* Length of the next complete message at the start of a stream buffer:
 * > 0 its length, 0 not all of it is there yet, < 0 the stream cannot
 * be framed (NC_E_MAGIC, NC_E_LENGTH): close the connection. */
int nc_frame(const void *buf, size_t len);

/* Read the header of the message at buf without checking the body
 * (to echo a request id in an error reply). 0 or NC_E_SHORT/NC_E_MAGIC. */
int nc_header(const void *buf, size_t len, struct nc_hdr *h);

/* Decode exactly one message of len bytes into *m (zeroed first).
 * 0 or a negative NC_E_*; on error *m is unspecified. */
int nc_decode(const void *buf, size_t len, struct nc_msg *m);

/* Encode a message of the given type and request id into buf (cap bytes).
 * body points to the struct the table at union nc_body names for type
 * (NULL for CAPS and STATS). Returns the message length or a negative
 * NC_E_*. */
int nc_encode(void *buf, size_t cap, uint16_t type, uint32_t reqid, const void *body);

/* nc_encode() of a decoded or assembled struct nc_msg. */
int nc_encode_msg(void *buf, size_t cap, const struct nc_msg *m);

/* Describe an NC_E_* or -errno value. Never NULL. */
const char *nc_strerror(int err);

/* Name of an NC_ST_* status ("OK", "EXHAUSTED"...); "?" if unknown. */
const char *nc_status_str(uint16_t status);

/* The status a server replies with to a request that failed to decode
 * with err: UNSUPPORTED for an unknown version, type or critical TLV,
 * BAD_REQUEST otherwise. */
uint16_t nc_err_status(int err);

/* Name of a message type ("BIND", "BIND_R"...); NULL if unknown. */
const char *nc_msg_name(uint16_t type);

/* True for the types a client sends (HELLO..WATCH, HA). */
bool nc_msg_is_request(uint16_t type);

#ifdef __cplusplus
}
#endif

#endif
