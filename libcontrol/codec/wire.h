/* wire: byte-level pieces of the control-channel codec (private).
 *
 * A bounded writer with a sticky error (so an encoder can write a whole
 * message and check once), big-endian loads, and the value layouts of
 * libcontrol/proto.h section 4 (strings, addresses, endpoints, matches), each
 * with one validator shared by the decoder and the encoder so both refuse
 * exactly the same values.
 */
#ifndef NC_WIRE_H
#define NC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libcontrol/msg.h>

struct nc_wr {
	uint8_t *p;
	size_t cap, len;
	int err; /* first error (NC_E_NOSPACE, NC_E_OVERSIZE), sticky */
};

static inline uint16_t nc_ld16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t nc_ld32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t nc_ld64(const uint8_t *p)
{
	return (uint64_t)nc_ld32(p) << 32 | nc_ld32(p + 4);
}

/* Writer over buf[cap] (cap is clamped to NC_MSG_MAX). */
void nc_wr_init(struct nc_wr *w, void *buf, size_t cap);
/* Append bytes or integers (big-endian); past cap, set err and write nothing. */
void nc_wr_bytes(struct nc_wr *w, const void *p, size_t n);
void nc_wr_u8(struct nc_wr *w, uint8_t v);
void nc_wr_u16(struct nc_wr *w, uint16_t v);
void nc_wr_u32(struct nc_wr *w, uint32_t v);
void nc_wr_u64(struct nc_wr *w, uint64_t v);
/* Start a TLV; returns the offset nc_wr_tlv_end() needs. */
size_t nc_wr_tlv_begin(struct nc_wr *w, uint16_t type);
/* Patch the length of the TLV begun at off. */
void nc_wr_tlv_end(struct nc_wr *w, size_t off);

/* Bytes of an address of family af, or 0 for an unknown family. */
size_t nc_af_len(uint8_t af);

/* Check s[0..n) as the content of a text (name false) or name (name true)
 * value: 1..max bytes, no NUL, valid UTF-8 without control characters,
 * names only [A-Za-z0-9._-]. 0, NC_E_STRING or NC_E_OVERSIZE. */
int nc_str_check(const uint8_t *s, size_t n, bool name);

/* Decode a string value (content + NUL) into dst[NC_*_MAX + 1]. */
int nc_get_str(const uint8_t *v, size_t len, bool name, char *dst);
/* Encode the string in field src (size bytes) as a TLV. */
int nc_put_str(struct nc_wr *w, uint16_t type, const char *src, size_t size, bool name);

/* Address, endpoint and match values: decode (with every check), check a
 * struct, and encode a checked struct (no TLV header). */
int nc_get_ep(const uint8_t *v, size_t len, struct nc_ep *ep);
int nc_check_ep(const struct nc_ep *ep);
void nc_put_ep(struct nc_wr *w, const struct nc_ep *ep);

int nc_get_match(const uint8_t *v, size_t len, struct nc_match *m);
int nc_check_match(const struct nc_match *m);
void nc_put_match(struct nc_wr *w, const struct nc_match *m);

/* Bytes a match of family af takes on the wire (0: unknown family). */
size_t nc_match_len(uint8_t af);
size_t nc_ep_len(uint8_t af);

/* ip/plen with zero host bits and plen within the family: 0 or NC_E_RANGE. */
int nc_check_prefix(const struct nc_ip *ip, unsigned plen);
/* memcmp-style comparison of two addresses of one family. */
int nc_ip_cmp(const struct nc_ip *a, const struct nc_ip *b);

#endif
