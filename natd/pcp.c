/* pcp: PCP (RFC 6887) and NAT-PMP (RFC 6886) wire codec (see pcp.h).
 *
 * Every read goes through struct rd, which hands out a pointer to n bytes
 * or NULL when they are not all there, so no field is read before its
 * bytes are known to exist. Reserved fields and option padding are
 * ignored on reception because the RFCs say they MUST be (RFC 6887
 * sections 7.1, 7.3, 11.1; RFC 6886 section 3.3); everything else is
 * checked.
 */
#include "pcp.h"

#include <errno.h>
#include <string.h>

struct rd {
	const uint8_t *p;
	size_t len, off;
};

/* n bytes at the read position, or NULL if they are not all there. */
static const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *q;

	if (r->off > r->len || n > r->len - r->off)
		return NULL;
	q = r->p + r->off;
	r->off += n;
	return q;
}

static size_t rd_left(const struct rd *r)
{
	return r->len - r->off;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void pcp_addr_from_v4(uint8_t out[16], uint32_t addr)
{
	memcpy(out, v4_prefix, 12);
	memcpy(out + 12, &addr, 4);
}

bool pcp_addr_is_v4(const uint8_t a[16], uint32_t *addr)
{
	/* RFC 6887 section 5: all 96 leading bits are checked. */
	if (memcmp(a, v4_prefix, 12) != 0)
		return false;
	if (addr)
		memcpy(addr, a + 12, 4);
	return true;
}

bool pcp_addr_is_unspec(const uint8_t a[16])
{
	static const uint8_t zero[16];
	uint32_t v4;

	return !memcmp(a, zero, 16) || (pcp_addr_is_v4(a, &v4) && v4 == 0);
}

/* Length of the opcode-specific data, or -1 for an opcode we do not know. */
static int opcode_len(uint8_t opcode)
{
	switch (opcode) {
	case PCP_OP_ANNOUNCE:
		return 0;
	case PCP_OP_MAP:
		return PCP_MAP_LEN;
	case PCP_OP_PEER:
		return PCP_PEER_LEN;
	default:
		return -1;
	}
}

/* MAP and PEER share their first 36 bytes (RFC 6887 sections 11.1, 12.1). */
static void read_map_part(const uint8_t *d, struct pcp_request *r)
{
	memcpy(r->nonce, d, PCP_NONCE_LEN);
	r->protocol = d[12];
	/* d[13..15]: reserved, ignored on reception */
	r->int_port = get16(d + 16);
	r->ext_port = get16(d + 18);
	memcpy(r->ext_ip, d + 20, 16);
	/* Section 11.1: with protocol 0 the internal port is ignored. */
	if (r->protocol == 0)
		r->int_port = 0;
}

/* One option (section 7.3); returns 0 or the result code. */
static int read_option(struct rd *rd, struct pcp_request *r)
{
	const uint8_t *h = rd_take(rd, PCP_OPT_HDR_LEN), *d;
	uint8_t code;
	uint16_t olen;

	if (!h)
		return PCP_MALFORMED_OPTION;
	code = h[0];
	/* h[1]: reserved, ignored on reception */
	olen = get16(h + 2);
	/* The value is padded to a multiple of 4; the padding is ignored.
	 * Running past the end of the message is MALFORMED_OPTION. */
	if (!(d = rd_take(rd, ((size_t)olen + 3) & ~(size_t)3)))
		return PCP_MALFORMED_OPTION;

	switch (code) {
	case PCP_OPT_THIRD_PARTY: /* section 13.1 */
		if (r->opcode != PCP_OP_MAP && r->opcode != PCP_OP_PEER)
			return PCP_MALFORMED_OPTION;
		if (olen != 16 || r->has_third_party)
			return PCP_MALFORMED_OPTION;
		if (pcp_addr_is_unspec(d))
			return PCP_MALFORMED_OPTION;
		r->has_third_party = true;
		memcpy(r->third_party, d, 16);
		return 0;
	case PCP_OPT_PREFER_FAILURE: /* section 13.2 */
		if (r->opcode != PCP_OP_MAP || olen != 0 || r->prefer_failure)
			return PCP_MALFORMED_OPTION;
		r->prefer_failure = true;
		return 0;
	case PCP_OPT_FILTER: { /* section 13.3 */
		struct pcp_filter *f;

		if (r->opcode != PCP_OP_MAP || olen != 20)
			return PCP_MALFORMED_OPTION;
		/* "If a MAP request has a lifetime of 0 and contains the
		 * FILTER option, the error MALFORMED_OPTION is returned." */
		if (r->lifetime == 0)
			return PCP_MALFORMED_OPTION;
		/* d[0]: reserved. Prefix length: 0 removes every filter;
		 * otherwise 96..128 for IPv4-mapped, 1..128 for IPv6. */
		if (d[1] > 128 || (d[1] != 0 && d[1] < 96 && pcp_addr_is_v4(d + 4, NULL)))
			return PCP_MALFORMED_OPTION;
		if (r->nfilters >= PCP_FILTERS_MAX) /* cannot happen below 1100 bytes */
			return PCP_EXCESSIVE_REMOTE_PEERS;
		f = &r->filters[r->nfilters++];
		f->plen = d[1];
		f->port = get16(d + 2);
		memcpy(f->addr, d + 4, 16);
		return 0;
	}
	default:
		if (code & PCP_OPT_OPTIONAL) {
			r->nskipped++;
			return 0;
		}
		return PCP_UNSUPP_OPTION;
	}
}

int pcp_decode_request(const uint8_t *buf, size_t len, const uint8_t src[16],
		       struct pcp_request *r)
{
	struct rd rd = {buf, len, 0};
	const uint8_t *h, *d;
	int olen, rc;

	memset(r, 0, sizeof(*r));
	/* RFC 6887 section 8.3, in its order. */
	if (!(h = rd_take(&rd, 2)))
		return PCP_DROP; /* shorter than 2 octets */
	if (h[1] & PCP_R_BIT)
		return PCP_DROP; /* a response */
	r->opcode = h[1] & 0x7f;
	if (h[0] != PCP_VERSION)
		return PCP_UNSUPP_VERSION;
	rd.off = 0;
	if (!(h = rd_take(&rd, PCP_HDR_LEN)))
		return PCP_DROP; /* supported version but shorter than the header */
	/* h[2..3]: reserved, ignored on reception (section 7.1) */
	r->lifetime = get32(h + 4);
	memcpy(r->client_ip, h + 8, 16);
	olen = opcode_len(r->opcode);
	if (len > PCP_MAX_LEN || len % 4 != 0 ||
	    (olen >= 0 && len < (size_t)PCP_HDR_LEN + (size_t)olen))
		return PCP_MALFORMED_REQUEST;
	/* The client's idea of its address must be the one we see: a NAT
	 * unaware of PCP is in between otherwise. */
	if (memcmp(r->client_ip, src, 16) != 0)
		return PCP_ADDRESS_MISMATCH;
	if (olen < 0)
		return PCP_UNSUPP_OPCODE;

	if (olen > 0) {
		if (!(d = rd_take(&rd, (size_t)olen)))
			return PCP_MALFORMED_REQUEST;
		read_map_part(d, r);
		if (r->opcode == PCP_OP_PEER) {
			r->peer_port = get16(d + 36);
			/* d[38..39]: reserved, ignored on reception */
			memcpy(r->peer_ip, d + 40, 16);
		}
	}
	/* Options fill the rest exactly (section 7.3), processed in order. */
	while (rd_left(&rd) > 0)
		if ((rc = read_option(&rd, r)) != 0)
			return rc;
	return PCP_SUCCESS;
}

/* Write an option header; returns the data pointer or NULL if it does not
 * fit. The padding is zeroed. */
static uint8_t *put_option(uint8_t *out, size_t cap, size_t *off, uint8_t code, uint16_t olen)
{
	size_t padded = ((size_t)olen + 3) & ~(size_t)3;
	uint8_t *p;

	if (*off > cap || PCP_OPT_HDR_LEN + padded > cap - *off)
		return NULL;
	p = out + *off;
	p[0] = code;
	p[1] = 0;
	put16(p + 2, olen);
	memset(p + PCP_OPT_HDR_LEN, 0, padded);
	*off += PCP_OPT_HDR_LEN + padded;
	return p + PCP_OPT_HDR_LEN;
}

static int put_options(uint8_t *out, size_t cap, size_t *off, bool has_tp,
		       const uint8_t tp[16], bool prefer_failure, unsigned nfilters,
		       const struct pcp_filter *filters)
{
	uint8_t *d;

	if (has_tp) {
		if (!(d = put_option(out, cap, off, PCP_OPT_THIRD_PARTY, 16)))
			return -ENOSPC;
		memcpy(d, tp, 16);
	}
	if (prefer_failure && !put_option(out, cap, off, PCP_OPT_PREFER_FAILURE, 0))
		return -ENOSPC;
	for (unsigned i = 0; i < nfilters; i++) {
		if (!(d = put_option(out, cap, off, PCP_OPT_FILTER, 20)))
			return -ENOSPC;
		d[1] = filters[i].plen;
		put16(d + 2, filters[i].port);
		memcpy(d + 4, filters[i].addr, 16);
	}
	return *off > PCP_MAX_LEN ? -ENOSPC : 0;
}

static void put_map_part(uint8_t *d, const uint8_t nonce[PCP_NONCE_LEN], uint8_t protocol,
			 uint16_t int_port, uint16_t ext_port, const uint8_t ext_ip[16])
{
	memcpy(d, nonce, PCP_NONCE_LEN);
	d[12] = protocol;
	d[13] = d[14] = d[15] = 0;
	put16(d + 16, int_port);
	put16(d + 18, ext_port);
	memcpy(d + 20, ext_ip, 16);
}

static void put_peer_part(uint8_t *d, uint16_t peer_port, const uint8_t peer_ip[16])
{
	put16(d + 36, peer_port);
	d[38] = d[39] = 0;
	memcpy(d + 40, peer_ip, 16);
}

int pcp_encode_request(const struct pcp_request *r, uint8_t *out, size_t cap)
{
	int olen = opcode_len(r->opcode);
	size_t off = PCP_HDR_LEN;
	int rc;

	if (olen < 0 || r->nfilters > PCP_FILTERS_MAX)
		return -EINVAL;
	if (cap < PCP_HDR_LEN + (size_t)olen)
		return -ENOSPC;
	out[0] = PCP_VERSION;
	out[1] = r->opcode;
	out[2] = out[3] = 0;
	put32(out + 4, r->lifetime);
	memcpy(out + 8, r->client_ip, 16);
	if (olen > 0) {
		put_map_part(out + off, r->nonce, r->protocol, r->int_port, r->ext_port, r->ext_ip);
		if (r->opcode == PCP_OP_PEER)
			put_peer_part(out + off, r->peer_port, r->peer_ip);
		off += (size_t)olen;
	}
	if ((rc = put_options(out, cap, &off, r->has_third_party, r->third_party,
			      r->prefer_failure, r->nfilters, r->filters)) < 0)
		return rc;
	return (int)off;
}

static void put_resp_header(uint8_t *out, uint8_t opcode, uint8_t result, uint32_t lifetime,
			    uint32_t epoch)
{
	out[0] = PCP_VERSION;
	out[1] = PCP_R_BIT | (opcode & 0x7f);
	out[2] = 0;
	out[3] = result;
	put32(out + 4, lifetime);
	put32(out + 8, epoch);
	memset(out + 12, 0, 12);
}

int pcp_encode_response(const struct pcp_response *r, uint8_t *out, size_t cap)
{
	int olen = opcode_len(r->opcode);
	size_t off = PCP_HDR_LEN;
	int rc;

	if (olen < 0 || r->nfilters > PCP_FILTERS_MAX)
		return -EINVAL;
	if (cap < PCP_HDR_LEN + (size_t)olen)
		return -ENOSPC;
	put_resp_header(out, r->opcode, r->result, r->lifetime, r->epoch);
	if (olen > 0) {
		put_map_part(out + off, r->nonce, r->protocol, r->int_port, r->ext_port, r->ext_ip);
		if (r->opcode == PCP_OP_PEER)
			put_peer_part(out + off, r->peer_port, r->peer_ip);
		off += (size_t)olen;
	}
	if ((rc = put_options(out, cap, &off, r->has_third_party, r->third_party,
			      r->prefer_failure, r->nfilters, r->filters)) < 0)
		return rc;
	return (int)off;
}

int pcp_decode_response(const uint8_t *buf, size_t len, struct pcp_response *r)
{
	struct rd rd = {buf, len, 0};
	const uint8_t *h, *d;
	int olen;

	memset(r, 0, sizeof(*r));
	if (len > PCP_MAX_LEN || len % 4 != 0 || !(h = rd_take(&rd, PCP_HDR_LEN)))
		return -EINVAL;
	if (h[0] != PCP_VERSION || !(h[1] & PCP_R_BIT))
		return -EINVAL;
	r->opcode = h[1] & 0x7f;
	r->result = h[3];
	r->lifetime = get32(h + 4);
	r->epoch = get32(h + 8);
	olen = opcode_len(r->opcode);
	if (olen < 0)
		return rd_left(&rd) == 0 || r->result != 0 ? 0 : -EINVAL;
	if (olen > 0) {
		struct pcp_request q;

		if (!(d = rd_take(&rd, (size_t)olen)))
			return r->result != 0 && rd_left(&rd) == 0 ? 0 : -EINVAL;
		memset(&q, 0, sizeof(q));
		read_map_part(d, &q);
		memcpy(r->nonce, q.nonce, PCP_NONCE_LEN);
		r->protocol = d[12];
		r->int_port = get16(d + 16);
		r->ext_port = q.ext_port;
		memcpy(r->ext_ip, q.ext_ip, 16);
		if (r->opcode == PCP_OP_PEER) {
			r->peer_port = get16(d + 36);
			memcpy(r->peer_ip, d + 40, 16);
		}
	}
	while (rd_left(&rd) > 0) {
		const uint8_t *oh = rd_take(&rd, PCP_OPT_HDR_LEN), *od;
		uint16_t ol;

		if (!oh)
			return -EINVAL;
		ol = get16(oh + 2);
		if (!(od = rd_take(&rd, ((size_t)ol + 3) & ~(size_t)3)))
			return -EINVAL;
		if (oh[0] == PCP_OPT_THIRD_PARTY && ol == 16 && !r->has_third_party) {
			r->has_third_party = true;
			memcpy(r->third_party, od, 16);
		} else if (oh[0] == PCP_OPT_PREFER_FAILURE && ol == 0) {
			r->prefer_failure = true;
		} else if (oh[0] == PCP_OPT_FILTER && ol == 20 && r->nfilters < PCP_FILTERS_MAX) {
			struct pcp_filter *f = &r->filters[r->nfilters++];
			f->plen = od[1];
			f->port = get16(od + 2);
			memcpy(f->addr, od + 4, 16);
		} else if (oh[0] <= PCP_OPT_FILTER) {
			return -EINVAL; /* a known option, badly formed */
		}
	}
	return 0;
}

int pcp_encode_error(const uint8_t *req, size_t len, uint8_t result, uint32_t lifetime,
		     uint32_t epoch, uint8_t *out, size_t cap)
{
	size_t n = len > PCP_MAX_LEN ? PCP_MAX_LEN : len;
	uint8_t opcode = len >= 2 ? req[1] & 0x7f : 0;

	n &= ~(size_t)3;
	/* An unknown version says nothing about the layout that follows:
	 * answer with the header alone (section 9). */
	if (result == PCP_UNSUPP_VERSION || n < PCP_HDR_LEN)
		n = PCP_HDR_LEN;
	if (cap < n)
		return -ENOSPC;
	/* Section 7.3: "a complete copy of the request packet with the error
	 * code and other appropriate fields set in the header". */
	if (n > PCP_HDR_LEN)
		memcpy(out + PCP_HDR_LEN, req + PCP_HDR_LEN, n - PCP_HDR_LEN);
	put_resp_header(out, opcode, result, lifetime, epoch);
	return (int)n;
}

uint32_t pcp_error_lifetime(uint8_t result)
{
	switch (result) {
	case PCP_SUCCESS:
		return 0;
	/* Section 7.4: the "short lifetime" errors, expected to clear soon. */
	case PCP_NETWORK_FAILURE:
	case PCP_NO_RESOURCES:
	case PCP_USER_EX_QUOTA:
	case PCP_CANNOT_PROVIDE_EXTERNAL:
		return 30;
	default:
		return 1800;
	}
}

const char *pcp_result_str(uint8_t result)
{
	static const char *const names[] = {
		"SUCCESS", "UNSUPP_VERSION", "NOT_AUTHORIZED", "MALFORMED_REQUEST",
		"UNSUPP_OPCODE", "UNSUPP_OPTION", "MALFORMED_OPTION", "NETWORK_FAILURE",
		"NO_RESOURCES", "UNSUPP_PROTOCOL", "USER_EX_QUOTA",
		"CANNOT_PROVIDE_EXTERNAL", "ADDRESS_MISMATCH", "EXCESSIVE_REMOTE_PEERS",
	};

	return result < sizeof(names) / sizeof(names[0]) ? names[result] : "?";
}

int natpmp_decode_request(const uint8_t *buf, size_t len, struct natpmp_request *r)
{
	struct rd rd = {buf, len, 0};
	const uint8_t *h;

	memset(r, 0, sizeof(*r));
	if (!(h = rd_take(&rd, 2)))
		return PCP_DROP;
	r->opcode = h[1];
	/* RFC 6886 section 3.2: opcodes >= 128 are responses: ignore them. */
	if (h[1] & NATPMP_REPLY)
		return PCP_DROP;
	if (h[0] != NATPMP_VERSION)
		return NATPMP_UNSUPP_VERSION;
	switch (r->opcode) {
	case NATPMP_OP_ADDR: /* section 3.2: two bytes */
		return len == NATPMP_ADDR_REQ_LEN ? NATPMP_SUCCESS : PCP_DROP;
	case NATPMP_OP_MAP_UDP:
	case NATPMP_OP_MAP_TCP: /* section 3.3: twelve bytes */
		if (len != NATPMP_MAP_REQ_LEN || !(h = rd_take(&rd, 10)))
			return PCP_DROP;
		/* h[0..1]: reserved, ignored on reception */
		r->int_port = get16(h + 2);
		r->ext_port = get16(h + 4);
		r->lifetime = get32(h + 6);
		return NATPMP_SUCCESS;
	default:
		return NATPMP_UNSUPP_OPCODE;
	}
}

static void natpmp_header(uint8_t *out, uint8_t opcode, uint8_t result, uint32_t epoch)
{
	out[0] = NATPMP_VERSION;
	out[1] = (uint8_t)(NATPMP_REPLY | opcode);
	put16(out + 2, result);
	put32(out + 4, epoch);
}

int natpmp_encode_addr_response(uint8_t result, uint32_t epoch, uint32_t ext_addr,
				uint8_t *out, size_t cap)
{
	if (cap < NATPMP_ADDR_RESP_LEN)
		return -ENOSPC;
	natpmp_header(out, NATPMP_OP_ADDR, result, epoch);
	memcpy(out + 8, &ext_addr, 4);
	return NATPMP_ADDR_RESP_LEN;
}

int natpmp_encode_map_response(uint8_t opcode, uint8_t result, uint32_t epoch,
			       uint16_t int_port, uint16_t ext_port, uint32_t lifetime,
			       uint8_t *out, size_t cap)
{
	if (cap < NATPMP_MAP_RESP_LEN)
		return -ENOSPC;
	natpmp_header(out, opcode, result, epoch);
	put16(out + 8, int_port);
	put16(out + 10, ext_port);
	put32(out + 12, lifetime);
	return NATPMP_MAP_RESP_LEN;
}

int natpmp_encode_error(uint8_t opcode, uint8_t result, uint32_t epoch, uint8_t *out,
			size_t cap)
{
	if (cap < NATPMP_ERR_RESP_LEN)
		return -ENOSPC;
	natpmp_header(out, opcode & 0x7f, result, epoch);
	return NATPMP_ERR_RESP_LEN;
}
