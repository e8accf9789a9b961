/* pcp: wire codec for PCP (RFC 6887) and NAT-PMP (RFC 6886).
 *
 * Theory of operation. Both protocols share UDP port 5351 and are told
 * apart by the first byte: 0 is NAT-PMP, 2 is PCP, anything else is a PCP
 * version this server does not speak. The decoders read through one
 * bounds-checked reader, check every field in the order RFC 6887 section
 * 8.3 gives, and return either PCP_DROP (the RFC says: silently drop) or
 * the result code the reply must carry (0 = valid). A decoded request is a
 * plain struct that never points into the input buffer.
 *
 * The decoders only judge the wire format and what the RFCs require of
 * every server; what this server supports (which protocols, which third
 * parties, lifetimes) is pcp_server.c's business.
 *
 * Replies are built by the encoders: a success reply from a struct, and
 * an error reply as the RFC 6887 section 7.3 "complete copy of the
 * request" with the header rewritten. Addresses are kept in PCP's 128-bit
 * form (IPv4 as ::ffff:a.b.c.d); ports and integers are in host order.
 */
#ifndef NATD_PCP_H
#define NATD_PCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCP_SERVER_PORT 5351 /* both protocols (RFC 6887 section 19.1) */
#define PCP_CLIENT_PORT 5350 /* unsolicited announcements go here */
#define PCP_VERSION 2
#define NATPMP_VERSION 0
#define PCP_MAX_LEN 1100 /* RFC 6887 section 7: maximum UDP payload */
#define PCP_HDR_LEN 24
#define PCP_MAP_LEN 36   /* opcode-specific data of MAP */
#define PCP_PEER_LEN 56  /* opcode-specific data of PEER */
#define PCP_OPT_HDR_LEN 4
#define PCP_NONCE_LEN 12
/* Every FILTER a legal (<= 1100 byte) MAP request can carry. */
#define PCP_FILTERS_MAX ((PCP_MAX_LEN - PCP_HDR_LEN - PCP_MAP_LEN) / (PCP_OPT_HDR_LEN + 20))

#define PCP_R_BIT 0x80 /* second byte: set in responses */

/* Not a result code: the RFC says to drop the message without a reply. */
#define PCP_DROP (-1)

enum pcp_opcode {
	PCP_OP_ANNOUNCE = 0,
	PCP_OP_MAP = 1,
	PCP_OP_PEER = 2,
};

/* RFC 6887 section 7.4. */
enum pcp_result {
	PCP_SUCCESS = 0,
	PCP_UNSUPP_VERSION = 1,
	PCP_NOT_AUTHORIZED = 2,
	PCP_MALFORMED_REQUEST = 3,
	PCP_UNSUPP_OPCODE = 4,
	PCP_UNSUPP_OPTION = 5,
	PCP_MALFORMED_OPTION = 6,
	PCP_NETWORK_FAILURE = 7,
	PCP_NO_RESOURCES = 8,
	PCP_UNSUPP_PROTOCOL = 9,
	PCP_USER_EX_QUOTA = 10,
	PCP_CANNOT_PROVIDE_EXTERNAL = 11,
	PCP_ADDRESS_MISMATCH = 12,
	PCP_EXCESSIVE_REMOTE_PEERS = 13,
	PCP_RESULT_MAX = 13,
};

/* RFC 6887 section 7.3: codes below 128 are mandatory to process. */
enum pcp_option {
	PCP_OPT_THIRD_PARTY = 1,    /* 16 bytes: internal address; MAP, PEER; once */
	PCP_OPT_PREFER_FAILURE = 2, /* no data; MAP; once */
	PCP_OPT_FILTER = 3,         /* 20 bytes; MAP; repeatable */
};
#define PCP_OPT_OPTIONAL 0x80 /* bit of the option code: may be ignored */

/* RFC 6886 section 3.5. */
enum natpmp_result {
	NATPMP_SUCCESS = 0,
	NATPMP_UNSUPP_VERSION = 1,
	NATPMP_NOT_AUTHORIZED = 2, /* "Not Authorized/Refused" */
	NATPMP_NETWORK_FAILURE = 3,
	NATPMP_NO_RESOURCES = 4,
	NATPMP_UNSUPP_OPCODE = 5,
};

enum natpmp_opcode {
	NATPMP_OP_ADDR = 0,
	NATPMP_OP_MAP_UDP = 1,
	NATPMP_OP_MAP_TCP = 2,
};
#define NATPMP_REPLY 0x80 /* added to the opcode in responses */
#define NATPMP_ADDR_REQ_LEN 2
#define NATPMP_MAP_REQ_LEN 12
#define NATPMP_ADDR_RESP_LEN 12
#define NATPMP_MAP_RESP_LEN 16
#define NATPMP_ERR_RESP_LEN 8 /* header + epoch: unsupported version/opcode */

/* FILTER option (RFC 6887 section 13.3), as on the wire. */
struct pcp_filter {
	uint8_t plen;     /* of the 128-bit form: 96..128 for IPv4, 0 = remove all */
	uint16_t port;    /* 0 = every port */
	uint8_t addr[16];
};

/* A decoded PCP request (valid or not: on an error result, the fields read
 * before the error are filled, the rest are zero). */
struct pcp_request {
	uint8_t opcode;
	uint32_t lifetime;
	uint8_t client_ip[16];
	/* MAP and PEER */
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;      /* IANA number; 0 = every protocol */
	uint16_t int_port;     /* 0 = every port */
	uint16_t ext_port;     /* suggested; 0 = no preference */
	uint8_t ext_ip[16];    /* suggested; all-zeros = no preference */
	/* PEER */
	uint16_t peer_port;
	uint8_t peer_ip[16];
	/* options, in the order they came */
	bool has_third_party;
	uint8_t third_party[16];
	bool prefer_failure;
	unsigned nfilters;
	struct pcp_filter filters[PCP_FILTERS_MAX];
	unsigned nskipped; /* optional options not understood (not echoed) */
};

/* A PCP success (or opcode-level failure) response, built by the server. */
struct pcp_response {
	uint8_t opcode;
	uint8_t result;
	uint32_t lifetime;
	uint32_t epoch;
	/* MAP and PEER: assigned values */
	uint8_t nonce[PCP_NONCE_LEN];
	uint8_t protocol;
	uint16_t int_port;
	uint16_t ext_port;
	uint8_t ext_ip[16];
	/* PEER: the remote peer, echoed */
	uint16_t peer_port;
	uint8_t peer_ip[16];
	/* options echoed because they were processed */
	bool has_third_party;
	uint8_t third_party[16];
	bool prefer_failure;
	unsigned nfilters;
	struct pcp_filter filters[PCP_FILTERS_MAX];
};

struct natpmp_request {
	uint8_t opcode;
	uint16_t int_port;  /* MAP */
	uint16_t ext_port;  /* MAP: suggested */
	uint32_t lifetime;  /* MAP: requested seconds; 0 = delete */
};

/* --- 128-bit addresses (RFC 6887 section 5) --- */

/* ::ffff:a.b.c.d of an IPv4 address in network order. */
void pcp_addr_from_v4(uint8_t out[16], uint32_t addr);
/* True when a is IPv4-mapped (all 96 leading bits checked); *addr gets the
 * IPv4 address in network order. */
bool pcp_addr_is_v4(const uint8_t a[16], uint32_t *addr);
/* The "no preference" address: :: or ::ffff:0.0.0.0. */
bool pcp_addr_is_unspec(const uint8_t a[16]);

/* --- PCP --- */

/* Decode a request of len bytes received from src (128-bit form) in the
 * order of RFC 6887 section 8.3. Returns PCP_DROP, or the result code: 0
 * when the request is valid, otherwise the error to reply with
 * (pcp_encode_error). The version must be checked by the caller. */
int pcp_decode_request(const uint8_t *buf, size_t len, const uint8_t src[16],
		       struct pcp_request *r);

/* Encode r (requests are what clients and tests send). Returns the length
 * or -ENOSPC / -EINVAL. */
int pcp_encode_request(const struct pcp_request *r, uint8_t *out, size_t cap);

/* Encode a response. Returns the length or -ENOSPC / -EINVAL. */
int pcp_encode_response(const struct pcp_response *r, uint8_t *out, size_t cap);

/* Decode a response (for tests and clients): 0, or -EINVAL for anything
 * not a well-formed PCP response. Options other than the three known ones
 * are skipped. */
int pcp_decode_response(const uint8_t *buf, size_t len, struct pcp_response *r);

/* An error response to the len-byte request req: a copy of the request
 * (at most 1100 bytes, cut to a multiple of 4) with the response header
 * written over its first 24 bytes; just the header for UNSUPP_VERSION.
 * Returns the length (>= 24) or -ENOSPC. */
int pcp_encode_error(const uint8_t *req, size_t len, uint8_t result, uint32_t lifetime,
		     uint32_t epoch, uint8_t *out, size_t cap);

/* RFC 6887 section 7.4: seconds a client should wait after this error
 * ("short" errors 30 s, "long" ones 30 min); 0 for SUCCESS. */
uint32_t pcp_error_lifetime(uint8_t result);

/* "SUCCESS", "UNSUPP_VERSION"...; "?" when unknown. */
const char *pcp_result_str(uint8_t result);

/* --- NAT-PMP --- */

/* Decode a version-0 request. Returns PCP_DROP (too short, wrong length for
 * its opcode, or a response), NATPMP_UNSUPP_VERSION, NATPMP_UNSUPP_OPCODE,
 * or 0 with *r filled. */
int natpmp_decode_request(const uint8_t *buf, size_t len, struct natpmp_request *r);

/* Responses; each returns its length or -ENOSPC. */
int natpmp_encode_addr_response(uint8_t result, uint32_t epoch, uint32_t ext_addr,
				uint8_t *out, size_t cap);
int natpmp_encode_map_response(uint8_t opcode, uint8_t result, uint32_t epoch,
			       uint16_t int_port, uint16_t ext_port, uint32_t lifetime,
			       uint8_t *out, size_t cap);
/* Header and epoch only (unsupported version or opcode). */
int natpmp_encode_error(uint8_t opcode, uint8_t result, uint32_t epoch, uint8_t *out,
			size_t cap);

#endif
