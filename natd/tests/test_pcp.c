/* Unit tests for pcp.c (the PCP / NAT-PMP codec) and pcp_server.c (the
 * request handler, pcp_server_handle(), with no sockets):
 *  - golden byte sequences: NAT-PMP address and map request/response, a PCP
 *    MAP request with PREFER_FAILURE and FILTER and its response, an error
 *    response;
 *  - every RFC 6887 section 8.3 step and field check, each result code of
 *    bad input, option handling (mandatory vs optional codes, lengths,
 *    padding, repeats, options in the wrong opcode), hostile inputs (short,
 *    long, odd lengths, mutations, random bytes);
 *  - the server against a fake manager (what it asks for: owner, policy,
 *    realms, E, filters, peer, label/nonce, lifetimes; refresh vs new vs
 *    update; deletions; THIRD_PARTY policy; result mapping; rate limit);
 *  - the server against the real manager and xlate: a NAT-PMP mapping and
 *    a PCP MAP with FILTER carry real packets, the FILTER really drops the
 *    remotes it does not name, a deletion closes the mapping.
 * The manager's five entry points are wrapped (-Wl,--wrap=): the fake
 * answers unless a test switches to the real one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "natdenv.h"
#include "clock.h"
#include "conf.h"
#include "log.h"
#include "manager.h"
#include "pcp.h"
#include "pcp_server.h"
#include "pktbuild.h"
#include "pool.h"
#include "realmconf.h"
#include "xlate.h"

/* ------------------------------------------------------------------ */
/* Golden bytes                                                        */

static const uint8_t NATPMP_MAP_REQ[] = {0x00, 0x01, 0x00, 0x00, 0x13, 0x88,
					 0x13, 0x88, 0x00, 0x00, 0x0e, 0x10};
static const uint8_t NATPMP_MAP_RESP[] = {0x00, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,
					  0x13, 0x88, 0x13, 0x88, 0x00, 0x00, 0x0e, 0x10};
static const uint8_t NATPMP_ADDR_RESP[] = {0x00, 0x80, 0x00, 0x00, 0x00, 0x00,
					   0x00, 0x64, 198,  51,   100,  1};

/* MAP UDP 10.1.0.10:5000, suggest 198.51.100.1:5000, 3600 s, PREFER_FAILURE,
 * FILTER 203.0.113.0/24 (prefix 120) port 7000. */
static const uint8_t PCP_MAP_REQ[] = {
	0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x0e, 0x10,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 10, 1, 0, 10,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x11, 0x00, 0x00, 0x00, 0x13, 0x88, 0x13, 0x88,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 198, 51, 100, 1,
	0x02, 0x00, 0x00, 0x00,
	0x03, 0x00, 0x00, 0x14, 0x00, 0x78, 0x1b, 0x58,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 203, 0, 113, 10,
};
/* Its SUCCESS response at epoch 100: 198.51.100.1:5000 for 3600 s. */
static const uint8_t PCP_MAP_RESP[] = {
	0x02, 0x81, 0x00, 0x00, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x00, 0x00, 0x64,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
	0x11, 0x00, 0x00, 0x00, 0x13, 0x88, 0x13, 0x88,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 198, 51, 100, 1,
	0x02, 0x00, 0x00, 0x00,
	0x03, 0x00, 0x00, 0x14, 0x00, 0x78, 0x1b, 0x58,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 203, 0, 113, 10,
};

static const uint8_t NONCE[PCP_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static uint32_t A(const char *s)
{
	return pb_addr(s);
}

static void v4(uint8_t out[16], const char *s)
{
	pcp_addr_from_v4(out, A(s));
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A MAP request from 10.1.0.10 (overridable fields after the call). */
static struct pcp_request map_req(uint8_t proto, uint16_t int_port, uint16_t ext_port,
				  uint32_t lifetime)
{
	struct pcp_request r;

	memset(&r, 0, sizeof(r));
	r.opcode = PCP_OP_MAP;
	r.lifetime = lifetime;
	v4(r.client_ip, "10.1.0.10");
	memcpy(r.nonce, NONCE, PCP_NONCE_LEN);
	r.protocol = proto;
	r.int_port = int_port;
	r.ext_port = ext_port;
	v4(r.ext_ip, "0.0.0.0");
	return r;
}

static void add_filter(struct pcp_request *r, const char *addr, uint8_t plen, uint16_t port)
{
	struct pcp_filter *f = &r->filters[r->nfilters++];

	f->plen = plen;
	f->port = port;
	v4(f->addr, addr);
}

static size_t enc(const struct pcp_request *r, uint8_t *buf)
{
	int n = pcp_encode_request(r, buf, PCP_MAX_LEN + 64);

	assert_true(n >= PCP_HDR_LEN);
	return (size_t)n;
}

/* Decode buf as if it came from 10.1.0.10. */
static int dec(const uint8_t *buf, size_t len, struct pcp_request *r)
{
	uint8_t src[16];

	v4(src, "10.1.0.10");
	return pcp_decode_request(buf, len, src, r);
}

/* Append an option by hand (code, length, data, padding of pad_byte). */
static size_t put_opt(uint8_t *buf, size_t off, uint8_t code, uint16_t len, const void *data,
		      uint8_t pad_byte)
{
	size_t padded = ((size_t)len + 3) & ~(size_t)3;

	buf[off] = code;
	buf[off + 1] = 0;
	buf[off + 2] = (uint8_t)(len >> 8);
	buf[off + 3] = (uint8_t)len;
	memset(buf + off + 4, pad_byte, padded);
	if (data)
		memcpy(buf + off + 4, data, len);
	return off + 4 + padded;
}

/* ------------------------------------------------------------------ */
/* Codec: addresses, NAT-PMP                                           */

static void test_addr_forms(void **state)
{
	uint8_t a[16], zero[16] = {0};
	uint32_t v;

	(void)state;
	v4(a, "192.0.2.7");
	assert_true(pcp_addr_is_v4(a, &v));
	assert_int_equal(v, A("192.0.2.7"));
	assert_false(pcp_addr_is_unspec(a));
	assert_true(pcp_addr_is_unspec(zero));
	assert_false(pcp_addr_is_v4(zero, NULL));
	v4(a, "0.0.0.0");
	assert_true(pcp_addr_is_unspec(a));
	/* All 96 leading bits count, not just the ffff (section 5). */
	v4(a, "192.0.2.7");
	a[0] = 0x20;
	assert_false(pcp_addr_is_v4(a, NULL));
	v4(a, "192.0.2.7");
	a[9] = 1;
	assert_false(pcp_addr_is_v4(a, NULL));
}

static void test_natpmp_golden(void **state)
{
	struct natpmp_request r;
	uint8_t out[64];

	(void)state;
	assert_int_equal(natpmp_decode_request(NATPMP_MAP_REQ, sizeof(NATPMP_MAP_REQ), &r), 0);
	assert_int_equal(r.opcode, NATPMP_OP_MAP_UDP);
	assert_int_equal(r.int_port, 5000);
	assert_int_equal(r.ext_port, 5000);
	assert_int_equal(r.lifetime, 3600);
	assert_int_equal(natpmp_encode_map_response(1, 0, 100, 5000, 5000, 3600, out, sizeof(out)),
			 sizeof(NATPMP_MAP_RESP));
	assert_memory_equal(out, NATPMP_MAP_RESP, sizeof(NATPMP_MAP_RESP));
	assert_int_equal(natpmp_decode_request((const uint8_t *)"\0\0", 2, &r), 0);
	assert_int_equal(r.opcode, NATPMP_OP_ADDR);
	assert_int_equal(natpmp_encode_addr_response(0, 100, A("198.51.100.1"), out, sizeof(out)),
			 sizeof(NATPMP_ADDR_RESP));
	assert_memory_equal(out, NATPMP_ADDR_RESP, sizeof(NATPMP_ADDR_RESP));
	/* TCP, and the reserved field is ignored (RFC 6886 section 3.3). */
	{
		uint8_t tcp[12];
		memcpy(tcp, NATPMP_MAP_REQ, 12);
		tcp[1] = 2;
		tcp[2] = 0xde;
		tcp[3] = 0xad;
		assert_int_equal(natpmp_decode_request(tcp, 12, &r), 0);
		assert_int_equal(r.opcode, NATPMP_OP_MAP_TCP);
	}
	/* Unsupported opcode: header and epoch. */
	assert_int_equal(natpmp_encode_error(3, NATPMP_UNSUPP_OPCODE, 100, out, sizeof(out)), 8);
	assert_memory_equal(out, "\x00\x83\x00\x05\x00\x00\x00\x64", 8);
	assert_int_equal(natpmp_encode_map_response(1, 0, 0, 0, 0, 0, out, 15), -ENOSPC);
	assert_int_equal(natpmp_encode_addr_response(0, 0, 0, out, 11), -ENOSPC);
	assert_int_equal(natpmp_encode_error(0, 1, 0, out, 7), -ENOSPC);
}

static void test_natpmp_hostile(void **state)
{
	struct natpmp_request r;
	uint8_t b[32];

	(void)state;
	memset(b, 0, sizeof(b));
	assert_int_equal(natpmp_decode_request(b, 0, &r), PCP_DROP);
	assert_int_equal(natpmp_decode_request(b, 1, &r), PCP_DROP);
	assert_int_equal(natpmp_decode_request(b, 3, &r), PCP_DROP);  /* address request + 1 */
	memcpy(b, NATPMP_MAP_REQ, 12);
	assert_int_equal(natpmp_decode_request(b, 11, &r), PCP_DROP); /* short map */
	assert_int_equal(natpmp_decode_request(b, 13, &r), PCP_DROP); /* long map */
	assert_int_equal(natpmp_decode_request(b, 2, &r), PCP_DROP);  /* map of 2 bytes */
	b[1] = 0x81; /* a response */
	assert_int_equal(natpmp_decode_request(b, 16, &r), PCP_DROP);
	b[1] = 0x80;
	assert_int_equal(natpmp_decode_request(b, 12, &r), PCP_DROP);
	b[1] = 3;
	assert_int_equal(natpmp_decode_request(b, 12, &r), NATPMP_UNSUPP_OPCODE);
	b[1] = 127;
	assert_int_equal(natpmp_decode_request(b, 2, &r), NATPMP_UNSUPP_OPCODE);
	b[0] = 1;
	b[1] = 0;
	assert_int_equal(natpmp_decode_request(b, 2, &r), NATPMP_UNSUPP_VERSION);
}

/* ------------------------------------------------------------------ */
/* Codec: PCP                                                          */

static void test_pcp_map_golden(void **state)
{
	struct pcp_request r, r2;
	struct pcp_response p;
	uint8_t buf[PCP_MAX_LEN + 64];
	uint32_t a;

	(void)state;
	assert_int_equal(dec(PCP_MAP_REQ, sizeof(PCP_MAP_REQ), &r), PCP_SUCCESS);
	assert_int_equal(r.opcode, PCP_OP_MAP);
	assert_int_equal(r.lifetime, 3600);
	assert_true(pcp_addr_is_v4(r.client_ip, &a) && a == A("10.1.0.10"));
	assert_memory_equal(r.nonce, NONCE, PCP_NONCE_LEN);
	assert_int_equal(r.protocol, IPPROTO_UDP);
	assert_int_equal(r.int_port, 5000);
	assert_int_equal(r.ext_port, 5000);
	assert_true(pcp_addr_is_v4(r.ext_ip, &a) && a == A("198.51.100.1"));
	assert_false(r.has_third_party);
	assert_true(r.prefer_failure);
	assert_int_equal(r.nfilters, 1);
	assert_int_equal(r.filters[0].plen, 120);
	assert_int_equal(r.filters[0].port, 7000);
	assert_true(pcp_addr_is_v4(r.filters[0].addr, &a) && a == A("203.0.113.10"));
	assert_int_equal(r.nskipped, 0);

	/* The encoder writes the same bytes back. */
	assert_int_equal(enc(&r, buf), sizeof(PCP_MAP_REQ));
	assert_memory_equal(buf, PCP_MAP_REQ, sizeof(PCP_MAP_REQ));

	/* The response. */
	memset(&p, 0, sizeof(p));
	p.opcode = PCP_OP_MAP;
	p.result = PCP_SUCCESS;
	p.lifetime = 3600;
	p.epoch = 100;
	memcpy(p.nonce, NONCE, PCP_NONCE_LEN);
	p.protocol = IPPROTO_UDP;
	p.int_port = 5000;
	p.ext_port = 5000;
	v4(p.ext_ip, "198.51.100.1");
	p.prefer_failure = true;
	p.nfilters = 1;
	p.filters[0] = r.filters[0];
	assert_int_equal(pcp_encode_response(&p, buf, sizeof(buf)), sizeof(PCP_MAP_RESP));
	assert_memory_equal(buf, PCP_MAP_RESP, sizeof(PCP_MAP_RESP));
	/* ... and decodes back. */
	{
		struct pcp_response q;
		assert_int_equal(pcp_decode_response(PCP_MAP_RESP, sizeof(PCP_MAP_RESP), &q), 0);
		assert_int_equal(q.result, 0);
		assert_int_equal(q.epoch, 100);
		assert_int_equal(q.ext_port, 5000);
		assert_int_equal(q.nfilters, 1);
		assert_true(q.prefer_failure);
	}
	/* Too small a buffer. */
	assert_int_equal(pcp_encode_response(&p, buf, 40), -ENOSPC);
	assert_int_equal(pcp_encode_response(&p, buf, 64), -ENOSPC);
	assert_int_equal(pcp_encode_request(&r, buf, 64), -ENOSPC);
	/* A request is not a response and vice versa. */
	assert_int_equal(pcp_decode_response(PCP_MAP_REQ, sizeof(PCP_MAP_REQ), &p), -EINVAL);
	assert_int_equal(dec(PCP_MAP_RESP, sizeof(PCP_MAP_RESP), &r2), PCP_DROP);
}

static void test_pcp_peer_announce(void **state)
{
	struct pcp_request r, d;
	uint8_t buf[PCP_MAX_LEN + 64];
	size_t n;

	(void)state;
	r = map_req(IPPROTO_TCP, 6000, 0, 600);
	r.opcode = PCP_OP_PEER;
	r.peer_port = 443;
	v4(r.peer_ip, "203.0.113.10");
	n = enc(&r, buf);
	assert_int_equal(n, PCP_HDR_LEN + PCP_PEER_LEN);
	assert_int_equal(rd16(buf + 24 + 36), 443);
	assert_int_equal(dec(buf, n, &d), PCP_SUCCESS);
	assert_int_equal(d.opcode, PCP_OP_PEER);
	assert_int_equal(d.peer_port, 443);
	assert_memory_equal(d.peer_ip, r.peer_ip, 16);
	assert_int_equal(d.int_port, 6000);
	/* The reserved bytes of PEER are ignored. */
	buf[24 + 38] = 0xff;
	buf[24 + 39] = 0x01;
	assert_int_equal(dec(buf, n, &d), PCP_SUCCESS);

	/* ANNOUNCE: the header alone. */
	memset(&r, 0, sizeof(r));
	r.opcode = PCP_OP_ANNOUNCE;
	v4(r.client_ip, "10.1.0.10");
	n = enc(&r, buf);
	assert_int_equal(n, PCP_HDR_LEN);
	assert_int_equal(dec(buf, n, &d), PCP_SUCCESS);
	assert_int_equal(d.opcode, PCP_OP_ANNOUNCE);
}

/* RFC 6887 section 8.3, step by step. */
static void test_pcp_header_steps(void **state)
{
	uint8_t buf[PCP_MAX_LEN + 64];
	struct pcp_request r;
	size_t n;

	(void)state;
	memcpy(buf, PCP_MAP_REQ, sizeof(PCP_MAP_REQ));
	n = sizeof(PCP_MAP_REQ);
	/* shorter than 2 octets: drop */
	assert_int_equal(dec(buf, 0, &r), PCP_DROP);
	assert_int_equal(dec(buf, 1, &r), PCP_DROP);
	/* R bit: drop, whatever the version */
	buf[1] |= PCP_R_BIT;
	assert_int_equal(dec(buf, n, &r), PCP_DROP);
	buf[0] = 7;
	assert_int_equal(dec(buf, 2, &r), PCP_DROP);
	buf[1] &= (uint8_t)~PCP_R_BIT;
	/* unsupported version: answered, even when short */
	assert_int_equal(dec(buf, 2, &r), PCP_UNSUPP_VERSION);
	assert_int_equal(dec(buf, n, &r), PCP_UNSUPP_VERSION);
	buf[0] = 1;
	assert_int_equal(dec(buf, n, &r), PCP_UNSUPP_VERSION);
	buf[0] = 3;
	assert_int_equal(dec(buf, n, &r), PCP_UNSUPP_VERSION);
	buf[0] = 2;
	/* supported version, shorter than the header: drop */
	assert_int_equal(dec(buf, 2, &r), PCP_DROP);
	assert_int_equal(dec(buf, 20, &r), PCP_DROP);
	assert_int_equal(dec(buf, 23, &r), PCP_DROP);
	/* not a multiple of 4, too short for MAP, too long */
	assert_int_equal(dec(buf, 25, &r), PCP_MALFORMED_REQUEST);
	assert_int_equal(dec(buf, n - 1, &r), PCP_MALFORMED_REQUEST);
	assert_int_equal(dec(buf, n - 2, &r), PCP_MALFORMED_REQUEST);
	assert_int_equal(dec(buf, 24, &r), PCP_MALFORMED_REQUEST);
	assert_int_equal(dec(buf, 24 + 32, &r), PCP_MALFORMED_REQUEST);
	memset(buf + n, 0, sizeof(buf) - n);
	assert_int_equal(dec(buf, PCP_MAX_LEN + 4, &r), PCP_MALFORMED_REQUEST);
	/* client address: must be the source, as IPv4-mapped */
	{
		uint8_t src[16];
		v4(src, "10.1.0.11");
		assert_int_equal(pcp_decode_request(buf, n, src, &r), PCP_ADDRESS_MISMATCH);
		memset(src, 0, 16);
		assert_int_equal(pcp_decode_request(buf, n, src, &r), PCP_ADDRESS_MISMATCH);
	}
	buf[8] = 0x20; /* an IPv6 address in the field */
	assert_int_equal(dec(buf, n, &r), PCP_ADDRESS_MISMATCH);
	buf[8] = 0;
	/* the reserved header bytes are ignored */
	buf[2] = 0xaa;
	buf[3] = 0x55;
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
	/* ... and so are MAP's */
	buf[24 + 13] = buf[24 + 14] = buf[24 + 15] = 0xff;
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
	/* unknown opcodes, after the address check */
	buf[1] = 3;
	assert_int_equal(dec(buf, n, &r), PCP_UNSUPP_OPCODE);
	buf[1] = 0x7f;
	assert_int_equal(dec(buf, 24, &r), PCP_UNSUPP_OPCODE);
	assert_int_equal(dec(buf, 28, &r), PCP_UNSUPP_OPCODE);
	buf[8] = 1;
	assert_int_equal(dec(buf, 28, &r), PCP_ADDRESS_MISMATCH);
	buf[8] = 0;
	/* PEER too short */
	buf[1] = PCP_OP_PEER;
	assert_int_equal(dec(buf, 24 + 52, &r), PCP_MALFORMED_REQUEST);
	/* protocol 0: the internal port is ignored (section 11.1) */
	memcpy(buf, PCP_MAP_REQ, 24 + 36);
	buf[24 + 12] = 0;
	assert_int_equal(dec(buf, 24 + 36, &r), PCP_SUCCESS);
	assert_int_equal(r.protocol, 0);
	assert_int_equal(r.int_port, 0);
}

static void test_pcp_options(void **state)
{
	uint8_t buf[PCP_MAX_LEN + 64], data[32];
	struct pcp_request r;
	size_t base = 24 + 36, n;

	(void)state;
	memcpy(buf, PCP_MAP_REQ, base);
	memset(data, 0, sizeof(data));

	/* unknown mandatory (0..127) vs optional (128..255) codes */
	static const uint8_t mandatory[] = {0, 4, 5, 64, 96, 127};
	static const uint8_t optional[] = {128, 129, 130, 200, 255};
	for (unsigned i = 0; i < sizeof(mandatory); i++) {
		n = put_opt(buf, base, mandatory[i], 4, data, 0);
		assert_int_equal(dec(buf, n, &r), PCP_UNSUPP_OPTION);
	}
	for (unsigned i = 0; i < sizeof(optional); i++) {
		n = put_opt(buf, base, optional[i], 4, data, 0);
		assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
		assert_int_equal(r.nskipped, 1);
	}
	/* odd lengths are padded; the padding is ignored whatever it holds */
	n = put_opt(buf, base, 130, 1, data, 0xee);
	assert_int_equal(n, base + 8);
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
	n = put_opt(buf, base, 131, 0, NULL, 0);
	n = put_opt(buf, n, 132, 7, data, 0xff);
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
	assert_int_equal(r.nskipped, 2);
	/* length beyond the message */
	n = put_opt(buf, base, 130, 4, data, 0);
	buf[base + 3] = 5;
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	buf[base + 2] = 0xff;
	buf[base + 3] = 0xff;
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	/* the option reserved byte is ignored */
	n = put_opt(buf, base, PCP_OPT_PREFER_FAILURE, 0, NULL, 0);
	buf[base + 1] = 0x42;
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
	assert_true(r.prefer_failure);

	/* THIRD_PARTY */
	v4(data, "10.1.0.20");
	n = put_opt(buf, base, PCP_OPT_THIRD_PARTY, 16, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
	assert_true(r.has_third_party);
	assert_memory_equal(r.third_party, data, 16);
	n = put_opt(buf, n, PCP_OPT_THIRD_PARTY, 16, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION); /* twice */
	n = put_opt(buf, base, PCP_OPT_THIRD_PARTY, 12, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION); /* length */
	n = put_opt(buf, base, PCP_OPT_THIRD_PARTY, 20, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	memset(data, 0, 16);
	n = put_opt(buf, base, PCP_OPT_THIRD_PARTY, 16, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION); /* unspecified */

	/* PREFER_FAILURE */
	n = put_opt(buf, base, PCP_OPT_PREFER_FAILURE, 4, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	n = put_opt(buf, base, PCP_OPT_PREFER_FAILURE, 0, NULL, 0);
	n = put_opt(buf, n, PCP_OPT_PREFER_FAILURE, 0, NULL, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	/* processed in order: the first problem is the answer */
	n = put_opt(buf, n, 4, 0, NULL, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	n = put_opt(buf, base, 4, 0, NULL, 0);
	n = put_opt(buf, n, PCP_OPT_PREFER_FAILURE, 4, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_UNSUPP_OPTION);

	/* FILTER */
	memset(data, 0, sizeof(data));
	data[1] = 128;
	data[2] = 0x1b;
	data[3] = 0x58;
	v4(data + 4, "203.0.113.10");
	n = put_opt(buf, base, PCP_OPT_FILTER, 20, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
	assert_int_equal(r.nfilters, 1);
	n = put_opt(buf, n, PCP_OPT_FILTER, 20, data, 0); /* repeatable */
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
	assert_int_equal(r.nfilters, 2);
	n = put_opt(buf, base, PCP_OPT_FILTER, 16, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	n = put_opt(buf, base, PCP_OPT_FILTER, 24, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	data[1] = 129; /* prefix length above 128 */
	n = put_opt(buf, base, PCP_OPT_FILTER, 20, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	data[1] = 95; /* below 96 for an IPv4 remote */
	n = put_opt(buf, base, PCP_OPT_FILTER, 20, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	data[1] = 96; /* every IPv4 remote */
	n = put_opt(buf, base, PCP_OPT_FILTER, 20, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
	data[1] = 0; /* "remove every filter" */
	n = put_opt(buf, base, PCP_OPT_FILTER, 20, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
	assert_int_equal(r.filters[0].plen, 0);
	memset(data + 4, 0, 16);
	data[4] = 0x20; /* an IPv6 remote: a legal FILTER (the server refuses it) */
	data[1] = 64;
	n = put_opt(buf, base, PCP_OPT_FILTER, 20, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
	/* "a lifetime of 0 and ... FILTER": MALFORMED_OPTION (section 13.3) */
	buf[4] = buf[5] = buf[6] = buf[7] = 0;
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	buf[7] = 1;

	/* options that are not for this opcode */
	buf[1] = PCP_OP_PEER;
	memset(buf + base, 0, 20);
	v4(buf + base + 4, "203.0.113.10");
	buf[base] = 0x01;
	buf[base + 1] = 0xbb;
	base = 24 + 56;
	n = put_opt(buf, base, PCP_OPT_FILTER, 20, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	n = put_opt(buf, base, PCP_OPT_PREFER_FAILURE, 0, NULL, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	v4(data, "10.1.0.20");
	n = put_opt(buf, base, PCP_OPT_THIRD_PARTY, 16, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS); /* THIRD_PARTY is fine in PEER */
	buf[1] = PCP_OP_ANNOUNCE;
	n = put_opt(buf, 24, PCP_OPT_THIRD_PARTY, 16, data, 0);
	assert_int_equal(dec(buf, n, &r), PCP_MALFORMED_OPTION);
	n = put_opt(buf, 24, 200, 0, NULL, 0);
	assert_int_equal(dec(buf, n, &r), PCP_SUCCESS);
}

/* The biggest legal MAP: 43 FILTERs and a 4-byte optional option = 1100. */
static void test_pcp_max_size(void **state)
{
	struct pcp_request r = map_req(IPPROTO_UDP, 5000, 0, 600), d;
	uint8_t buf[PCP_MAX_LEN + 64], data[4] = {0};
	size_t n;

	(void)state;
	for (unsigned i = 0; i < PCP_FILTERS_MAX; i++)
		add_filter(&r, "203.0.113.0", 120, (uint16_t)(1000 + i));
	assert_int_equal(PCP_FILTERS_MAX, 43);
	n = enc(&r, buf);
	assert_int_equal(n, 1092);
	n = put_opt(buf, n, 250, 4, data, 0);
	assert_int_equal(n, PCP_MAX_LEN);
	assert_int_equal(dec(buf, n, &d), PCP_SUCCESS);
	assert_int_equal(d.nfilters, PCP_FILTERS_MAX);
	n = put_opt(buf, n, 250, 0, NULL, 0);
	assert_int_equal(dec(buf, n, &d), PCP_MALFORMED_REQUEST);
	/* The encoders refuse to build more than 1100 bytes. */
	r.has_third_party = true;
	v4(r.third_party, "10.1.0.20");
	assert_int_equal(pcp_encode_request(&r, buf, sizeof(buf)), -ENOSPC);
}

static void test_pcp_error_response(void **state)
{
	uint8_t req[PCP_MAX_LEN + 64], out[PCP_MAX_LEN];
	int n;

	(void)state;
	/* A complete copy of the request with the header rewritten. */
	n = pcp_encode_error(PCP_MAP_REQ, sizeof(PCP_MAP_REQ), PCP_ADDRESS_MISMATCH, 1800, 100,
			     out, sizeof(out));
	assert_int_equal(n, sizeof(PCP_MAP_REQ));
	assert_memory_equal(out, "\x02\x81\x00\x0c\x00\x00\x07\x08\x00\x00\x00\x64", 12);
	for (int i = 12; i < 24; i++)
		assert_int_equal(out[i], 0);
	assert_memory_equal(out + 24, PCP_MAP_REQ + 24, sizeof(PCP_MAP_REQ) - 24);
	/* Too long: truncated to 1100; odd length: cut to a multiple of 4. */
	memset(req, 0x5a, sizeof(req));
	memcpy(req, PCP_MAP_REQ, 24);
	n = pcp_encode_error(req, PCP_MAX_LEN + 4, PCP_MALFORMED_REQUEST, 1800, 1, out, sizeof(out));
	assert_int_equal(n, PCP_MAX_LEN);
	assert_int_equal(out[PCP_MAX_LEN - 1], 0x5a);
	n = pcp_encode_error(req, 27, PCP_MALFORMED_REQUEST, 1800, 1, out, sizeof(out));
	assert_int_equal(n, 24);
	n = pcp_encode_error(req, 31, PCP_MALFORMED_REQUEST, 1800, 1, out, sizeof(out));
	assert_int_equal(n, 28);
	/* Unsupported version: the header alone, in version 2. */
	req[0] = 9;
	n = pcp_encode_error(req, 64, PCP_UNSUPP_VERSION, 1800, 5, out, sizeof(out));
	assert_int_equal(n, 24);
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 0x81);
	assert_int_equal(out[3], PCP_UNSUPP_VERSION);
	n = pcp_encode_error(req, 2, PCP_UNSUPP_VERSION, 1800, 5, out, sizeof(out));
	assert_int_equal(n, 24);
	assert_int_equal(pcp_encode_error(req, 64, 3, 0, 0, out, 60), -ENOSPC);
	/* Lifetimes of errors (section 7.4) and names. */
	assert_int_equal(pcp_error_lifetime(PCP_SUCCESS), 0);
	assert_int_equal(pcp_error_lifetime(PCP_NO_RESOURCES), 30);
	assert_int_equal(pcp_error_lifetime(PCP_NETWORK_FAILURE), 30);
	assert_int_equal(pcp_error_lifetime(PCP_USER_EX_QUOTA), 30);
	assert_int_equal(pcp_error_lifetime(PCP_CANNOT_PROVIDE_EXTERNAL), 30);
	assert_int_equal(pcp_error_lifetime(PCP_MALFORMED_REQUEST), 1800);
	assert_int_equal(pcp_error_lifetime(PCP_ADDRESS_MISMATCH), 1800);
	assert_string_equal(pcp_result_str(PCP_EXCESSIVE_REMOTE_PEERS), "EXCESSIVE_REMOTE_PEERS");
	assert_string_equal(pcp_result_str(14), "?");
}

/* Mutations of the golden request and random bytes: never a crash, always
 * a defined answer. */
static void test_pcp_mutations(void **state)
{
	uint8_t buf[sizeof(PCP_MAP_REQ)];
	struct pcp_request r;
	uint32_t seed = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(PCP_MAP_REQ); i++) {
		static const uint8_t vals[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
		for (size_t k = 0; k < sizeof(vals); k++) {
			int rc;
			memcpy(buf, PCP_MAP_REQ, sizeof(buf));
			buf[i] = vals[k];
			for (size_t len = 0; len <= sizeof(buf); len += (len < 30 ? 1 : 4)) {
				rc = dec(buf, len, &r);
				assert_true(rc == PCP_DROP || (rc >= 0 && rc <= PCP_RESULT_MAX));
				assert_true(r.nfilters <= PCP_FILTERS_MAX);
			}
		}
	}
	for (int i = 0; i < 20000; i++) {
		uint8_t rnd[PCP_MAX_LEN + 4];
		size_t len;
		int rc;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(rnd);
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			rnd[k] = (uint8_t)(seed >> 16);
		}
		if (len > 0)
			rnd[0] = 2;
		if (len > 1)
			rnd[1] &= 0x03;
		if (len >= 24) /* mostly past the address check */
			v4(rnd + 8, "10.1.0.10");
		rc = dec(rnd, len, &r);
		assert_true(rc == PCP_DROP || (rc >= 0 && rc <= PCP_RESULT_MAX));
		{
			struct natpmp_request q;
			rc = natpmp_decode_request(rnd, len, &q);
			assert_true(rc == PCP_DROP || (rc >= 0 && rc <= 5));
		}
	}
}

/* ------------------------------------------------------------------ */
/* The manager: a fake one, or the real one behind --wrap              */

uint16_t __real_mgr_bind(struct mgr *m, struct mgr_client *c, const struct nc_bind *req,
			 struct nc_bind_r *rep);
uint16_t __real_mgr_refresh(struct mgr *m, struct mgr_client *c, const struct nc_refresh *req,
			    struct nc_refresh_r *rep);
uint16_t __real_mgr_release(struct mgr *m, struct mgr_client *c, const struct nc_release *req,
			    struct nc_status *rep);
bool __real_mgr_find_own(struct mgr *m, const struct mgr_client *c, uint8_t proto,
			  uint8_t in_realm, struct endpoint e, uint8_t ext_realm, struct nc_item *it);
uint32_t __real_mgr_each_own(struct mgr *m, const struct mgr_client *c,
			     void (*emit)(void *arg, const struct nc_item *it), void *arg);
uint64_t __real_mgr_epoch(const struct mgr *m);
uint16_t __wrap_mgr_bind(struct mgr *m, struct mgr_client *c, const struct nc_bind *req,
			 struct nc_bind_r *rep);
uint16_t __wrap_mgr_refresh(struct mgr *m, struct mgr_client *c, const struct nc_refresh *req,
			    struct nc_refresh_r *rep);
uint16_t __wrap_mgr_release(struct mgr *m, struct mgr_client *c, const struct nc_release *req,
			    struct nc_status *rep);
bool __wrap_mgr_find_own(struct mgr *m, const struct mgr_client *c, uint8_t proto,
			  uint8_t in_realm, struct endpoint e, uint8_t ext_realm, struct nc_item *it);
uint32_t __wrap_mgr_each_own(struct mgr *m, const struct mgr_client *c,
			     void (*emit)(void *arg, const struct nc_item *it), void *arg);
uint64_t __wrap_mgr_epoch(const struct mgr *m);

#define FAKE_MAX 64

struct fgrant {
	bool used;
	uint32_t id;
	char owner[64];
	struct nc_spec spec;
	struct nc_ep alloc;
	uint32_t lifetime;
};

static struct {
	bool real;
	struct fgrant g[FAKE_MAX];
	uint32_t next_id;
	uint16_t next_port;
	unsigned nbind, nrefresh, nrelease, nlist, nfind;
	struct nc_bind last_bind;
	struct mgr_policy last_pol;
	char last_owner[64];
	uint64_t last_epoch;
	uint16_t force; /* non-zero: the next BIND fails with it */
} F;

static void fake_reset(void)
{
	memset(&F, 0, sizeof(F));
	F.next_id = 1;
	F.next_port = 20000;
}

static uint32_t ipv(const struct nc_ip *ip)
{
	uint32_t v;
	memcpy(&v, ip->a, 4);
	return v;
}

static void setip(struct nc_ip *ip, uint32_t v)
{
	memset(ip, 0, sizeof(*ip));
	ip->af = NC_AF_IP4;
	memcpy(ip->a, &v, 4);
}

static bool port_taken(uint8_t proto, uint16_t port)
{
	for (int i = 0; i < FAKE_MAX; i++)
		if (F.g[i].used && F.g[i].spec.proto == proto && F.g[i].alloc.port == port)
			return true;
	return false;
}

uint16_t __wrap_mgr_bind(struct mgr *m, struct mgr_client *c, const struct nc_bind *req,
			 struct nc_bind_r *rep)
{
	const struct mgr_policy *pol = c->pol;
	uint32_t e = ipv(&req->spec.ep.ip);
	struct fgrant *g = NULL;
	unsigned held = 0;
	bool ok = pol->nprefixes == 0;

	if (F.real)
		return __real_mgr_bind(m, c, req, rep);
	F.nbind++;
	F.last_bind = *req;
	F.last_pol = *pol;
	snprintf(F.last_owner, sizeof(F.last_owner), "%s", c->owner);
	memset(rep, 0, sizeof(*rep));
	if (F.force)
		return rep->st.code = F.force;
	for (unsigned i = 0; i < pol->nprefixes; i++)
		ok = ok || prefix_match(&pol->prefixes[i], e);
	if (!ok || !(pol->realms & 2u))
		return rep->st.code = NC_ST_NOT_AUTHORIZED;
	for (int i = 0; i < FAKE_MAX; i++) {
		struct fgrant *x = &F.g[i];
		if (!x->used)
			continue;
		if (!strcmp(x->owner, c->owner))
			held++;
		if (x->spec.proto == req->spec.proto && ipv(&x->spec.ep.ip) == e &&
		    x->spec.ep.port == req->spec.ep.port) {
			if (strcmp(x->owner, c->owner))
				return rep->st.code = NC_ST_CONFLICT;
			g = x; /* update in place, keep M */
		}
	}
	if (!g) {
		if (pol->quota && held >= pol->quota)
			return rep->st.code = NC_ST_QUOTA_EXCEEDED;
		for (int i = 0; i < FAKE_MAX && !g; i++)
			if (!F.g[i].used)
				g = &F.g[i];
		assert_non_null(g);
		memset(g, 0, sizeof(*g));
		if (req->want_port && !port_taken(req->spec.proto, req->want_port)) {
			g->alloc.port = req->want_port;
		} else {
			if (req->want_port && req->prefer_failure)
				return rep->st.code = NC_ST_CONFLICT;
			while (port_taken(req->spec.proto, F.next_port))
				F.next_port++;
			g->alloc.port = F.next_port++;
		}
		if (req->want == NC_WANT_PREFIX && ipv(&req->want_addr) == A("198.51.100.2"))
			setip(&g->alloc.ip, A("198.51.100.2"));
		else if (req->want == NC_WANT_PREFIX && req->prefer_failure &&
			 ipv(&req->want_addr) != A("198.51.100.1"))
			return rep->st.code = NC_ST_CONFLICT;
		else
			setip(&g->alloc.ip, A("198.51.100.1"));
		g->used = true;
		g->id = F.next_id++;
		snprintf(g->owner, sizeof(g->owner), "%s", c->owner);
	}
	g->spec = req->spec;
	g->lifetime = req->lifetime > 7200 ? 7200 : req->lifetime; /* the manager's own cap */
	rep->id = g->id;
	rep->alloc = g->alloc;
	rep->lifetime = g->lifetime;
	return rep->st.code = NC_ST_OK;
}

static struct fgrant *fake_find(struct mgr_client *c, uint32_t id)
{
	for (int i = 0; i < FAKE_MAX; i++)
		if (F.g[i].used && F.g[i].id == id && !strcmp(F.g[i].owner, c->owner))
			return &F.g[i];
	return NULL;
}

uint16_t __wrap_mgr_refresh(struct mgr *m, struct mgr_client *c, const struct nc_refresh *req,
			    struct nc_refresh_r *rep)
{
	struct fgrant *g;

	if (F.real)
		return __real_mgr_refresh(m, c, req, rep);
	F.nrefresh++;
	F.last_epoch = req->epoch;
	memset(rep, 0, sizeof(*rep));
	if (!(g = fake_find(c, req->id)))
		return rep->st.code = NC_ST_NOT_FOUND;
	g->lifetime = req->lifetime > 7200 ? 7200 : req->lifetime;
	rep->lifetime = g->lifetime;
	return NC_ST_OK;
}

uint16_t __wrap_mgr_release(struct mgr *m, struct mgr_client *c, const struct nc_release *req,
			    struct nc_status *rep)
{
	struct fgrant *g;

	if (F.real)
		return __real_mgr_release(m, c, req, rep);
	F.nrelease++;
	F.last_epoch = req->epoch;
	memset(rep, 0, sizeof(*rep));
	if (!(g = fake_find(c, req->id)))
		return rep->code = NC_ST_NOT_FOUND;
	g->used = false;
	return NC_ST_OK;
}

static void fake_item(const struct fgrant *g, struct nc_item *it)
{
	memset(it, 0, sizeof(*it));
	it->id = g->id;
	it->kind = NC_KIND_MANAGED;
	it->spec = g->spec;
	it->alloc = g->alloc;
	it->lifetime = g->lifetime;
	snprintf(it->owner, sizeof(it->owner), "%s", g->owner);
}

/* The server's two ways of finding a client's mappings: one E (what the
 * real manager answers through the binding table's hash), or all of the
 * client's own (its account's grants). Neither is a walk of the table. */
bool __wrap_mgr_find_own(struct mgr *m, const struct mgr_client *c, uint8_t proto,
			 uint8_t in_realm, struct endpoint e, uint8_t ext_realm, struct nc_item *it)
{
	if (F.real)
		return __real_mgr_find_own(m, c, proto, in_realm, e, ext_realm, it);
	F.nfind++;
	for (int i = 0; i < FAKE_MAX; i++) {
		const struct fgrant *g = &F.g[i];
		if (g->used && !strcmp(g->owner, c->owner) && g->spec.proto == proto &&
		    ipv(&g->spec.ep.ip) == e.addr && htons(g->spec.ep.port) == e.port) {
			fake_item(g, it);
			return true;
		}
	}
	return false;
}

uint32_t __wrap_mgr_each_own(struct mgr *m, const struct mgr_client *c,
			     void (*emit)(void *arg, const struct nc_item *it), void *arg)
{
	uint32_t n = 0;

	if (F.real)
		return __real_mgr_each_own(m, c, emit, arg);
	F.nlist++;
	for (int i = 0; i < FAKE_MAX; i++) {
		struct nc_item it;
		if (!F.g[i].used || strcmp(F.g[i].owner, c->owner))
			continue;
		fake_item(&F.g[i], &it);
		emit(arg, &it);
		n++;
	}
	return n;
}

uint64_t __wrap_mgr_epoch(const struct mgr *m)
{
	if (F.real)
		return __real_mgr_epoch(m);
	return 42;
}

static unsigned fake_count(void)
{
	unsigned n = 0;
	for (int i = 0; i < FAKE_MAX; i++)
		n += F.g[i].used;
	return n;
}

/* ------------------------------------------------------------------ */
/* Server environment                                                  */

static const char *const CONF_TEXT =
	"realms = (\n"
	"  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
	"    pool = { addresses = [ \"198.51.100.1/32\", \"198.51.100.2/32\" ];\n"
	"             ports = \"20000-20099\"; }; }\n"
	");\n"
	"control: { default_lifetime = 120; max_lifetime = 7200; };\n";

#define T0 1000u /* the server's start */

struct env {
	struct natdenv nd; /* natd's tables and manager */
	struct pcp_conf pc;
	struct pcp_server *s;
	uint8_t out[PCP_MAX_LEN];
	size_t outlen;
};

static struct pcp_conf default_pcp_conf(void)
{
	struct pcp_conf c;

	memset(&c, 0, sizeof(c));
	c.enable = true;
	c.listen[0] = A("10.1.0.1");
	c.nlisten = 1;
	c.port = PCP_SERVER_PORT;
	c.min_lifetime = 120;
	c.max_lifetime = 86400;
	c.max_mappings = 8;
	return c;
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	natdenv_init(&e->nd, CONF_TEXT);
	e->pc = default_pcp_conf();
	e->s = pcp_server_new(&e->pc, e->nd.core->mgr, &e->nd.core->rs, T0);
	assert_non_null(e->s);
	fake_reset();
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	pcp_server_free(e->s);
	natdenv_fini(&e->nd);
	free(e);
	fake_reset();
	return 0;
}

/* Send len bytes from src at T0 + dt; the reply is in e->out/outlen. */
static size_t send_from(struct env *e, const char *src, const void *req, size_t len, uint32_t dt)
{
	e->outlen = pcp_server_handle(e->s, req, len, A(src), T0 + dt, e->out, sizeof(e->out));
	return e->outlen;
}

/* Send a PCP request struct from its client address; decode the reply. */
static struct pcp_response pcp_send(struct env *e, const struct pcp_request *r, const char *src)
{
	uint8_t buf[PCP_MAX_LEN + 64];
	struct pcp_response p;
	size_t n = enc(r, buf);

	assert_true(send_from(e, src, buf, n, 100) >= PCP_HDR_LEN);
	assert_int_equal(e->outlen % 4, 0);
	assert_int_equal(pcp_decode_response(e->out, e->outlen, &p), 0);
	assert_int_equal(p.opcode, r->opcode);
	assert_int_equal(p.epoch, 100);
	if (p.result != PCP_SUCCESS) {
		/* An error reply is the request with its header rewritten. */
		assert_int_equal(e->outlen, n);
		assert_memory_equal(e->out + 24, buf + 24, n - 24);
		assert_int_equal(p.lifetime, pcp_error_lifetime(p.result));
	}
	return p;
}

static struct pcp_response pcp_map(struct env *e, const struct pcp_request *r)
{
	return pcp_send(e, r, "10.1.0.10");
}

/* A NAT-PMP map request; returns the result code, fills port/lifetime. */
static uint16_t pmp_map(struct env *e, const char *src, uint8_t op, uint16_t iport,
			uint16_t eport, uint32_t lifetime, uint16_t *mport, uint32_t *mlife)
{
	uint8_t q[12] = {0, op, 0, 0, (uint8_t)(iport >> 8), (uint8_t)iport,
			 (uint8_t)(eport >> 8), (uint8_t)eport, (uint8_t)(lifetime >> 24),
			 (uint8_t)(lifetime >> 16), (uint8_t)(lifetime >> 8), (uint8_t)lifetime};

	assert_int_equal(send_from(e, src, q, sizeof(q), 100), NATPMP_MAP_RESP_LEN);
	assert_int_equal(e->out[0], 0);
	assert_int_equal(e->out[1], 0x80 | op);
	assert_int_equal(rd32(e->out + 4), 100);
	assert_int_equal(rd16(e->out + 8), iport);
	if (mport)
		*mport = rd16(e->out + 10);
	if (mlife)
		*mlife = rd32(e->out + 12);
	return rd16(e->out + 2);
}

/* ------------------------------------------------------------------ */
/* Server against the fake manager                                     */

static void test_srv_natpmp(void **state)
{
	struct env *e = *state;
	uint16_t port;
	uint32_t life;

	/* External address: the first address of the outside pool. */
	assert_int_equal(send_from(e, "10.1.0.10", "\0\0", 2, 100), sizeof(NATPMP_ADDR_RESP));
	assert_memory_equal(e->out, NATPMP_ADDR_RESP, sizeof(NATPMP_ADDR_RESP));

	/* The golden map request, answered with the golden response. */
	assert_int_equal(send_from(e, "10.1.0.10", NATPMP_MAP_REQ, sizeof(NATPMP_MAP_REQ), 100),
			 sizeof(NATPMP_MAP_RESP));
	assert_memory_equal(e->out, NATPMP_MAP_RESP, sizeof(NATPMP_MAP_RESP));
	/* What the manager was asked. */
	assert_int_equal(F.nbind, 1);
	assert_string_equal(F.last_owner, "pcp:10.1.0.10");
	assert_true(F.last_pol.pcp_only_self);
	assert_false(F.last_pol.admin);
	assert_int_equal(F.last_pol.nprefixes, 1);
	assert_int_equal(F.last_pol.prefixes[0].addr, A("10.1.0.10"));
	assert_int_equal(F.last_pol.prefixes[0].len, 32);
	assert_int_equal(F.last_pol.realms, 1u << 1);
	assert_int_equal(F.last_pol.quota, 8);
	assert_int_equal(F.last_bind.spec.dir, NC_DIR_BOTH);
	assert_int_equal(F.last_bind.spec.proto, IPPROTO_UDP);
	assert_string_equal(F.last_bind.spec.in_realm, "inside");
	assert_string_equal(F.last_bind.spec.ext_realm, "outside");
	assert_int_equal(ipv(&F.last_bind.spec.ep.ip), A("10.1.0.10"));
	assert_int_equal(F.last_bind.spec.ep.port, 5000);
	assert_int_equal(F.last_bind.want_port, 5000);
	/* the address the client was told, as a preference */
	assert_int_equal(F.last_bind.want, NC_WANT_PREFIX);
	assert_int_equal(F.last_bind.want_plen, 32);
	assert_int_equal(ipv(&F.last_bind.want_addr), A("198.51.100.1"));
	assert_false(F.last_bind.prefer_failure);
	assert_int_equal(F.last_bind.lifetime, 3600);
	assert_string_equal(F.last_bind.spec.label, "nat-pmp");
	assert_int_equal(F.last_bind.spec.nfilters, 0);
	assert_false(F.last_bind.spec.has_peer);

	/* Again: a refresh of the same mapping, same port. */
	assert_int_equal(pmp_map(e, "10.1.0.10", 1, 5000, 6000, 7200, &port, &life), 0);
	assert_int_equal(port, 5000);
	assert_int_equal(life, 7200);
	assert_int_equal(F.nbind, 1);
	assert_int_equal(F.nrefresh, 1);
	assert_int_equal(F.last_epoch, 42);

	/* Lifetimes are clamped to [min, max] (the manager may cut more). */
	assert_int_equal(pmp_map(e, "10.1.0.10", 2, 80, 0, 10, &port, &life), 0);
	assert_int_equal(F.last_bind.lifetime, 120);
	assert_int_equal(F.last_bind.spec.proto, IPPROTO_TCP);
	assert_int_equal(port, 20000);
	assert_int_equal(pmp_map(e, "10.1.0.10", 2, 81, 0, 4000000000u, &port, &life), 0);
	assert_int_equal(F.last_bind.lifetime, 86400);
	assert_int_equal(life, 7200);

	/* Delete one: external port 0, lifetime 0; again: still success. */
	assert_int_equal(pmp_map(e, "10.1.0.10", 1, 5000, 5000, 0, &port, &life), 0);
	assert_int_equal(port, 0);
	assert_int_equal(life, 0);
	assert_int_equal(F.nrelease, 1);
	assert_int_equal(pmp_map(e, "10.1.0.10", 1, 5000, 0, 0, &port, &life), 0);
	assert_int_equal(F.nrelease, 1);
	/* Delete all TCP mappings of the client (internal port 0). */
	assert_int_equal(fake_count(), 2);
	assert_int_equal(pmp_map(e, "10.1.0.10", 2, 0, 0, 0, &port, &life), 0);
	assert_int_equal(fake_count(), 0);

	/* Internal port 0 with a lifetime: refused. */
	assert_int_equal(pmp_map(e, "10.1.0.10", 1, 0, 0, 60, &port, &life), NATPMP_NOT_AUTHORIZED);
	assert_int_equal(port, 0);
	/* From outside the translated realm: refused, nothing asked. */
	F.nbind = 0;
	assert_int_equal(pmp_map(e, "203.0.113.10", 1, 5000, 0, 60, NULL, NULL),
			 NATPMP_NOT_AUTHORIZED);
	assert_int_equal(F.nbind, 0);
	assert_int_equal(send_from(e, "203.0.113.10", "\0\0", 2, 100), 12);
	assert_int_equal(rd16(e->out + 2), NATPMP_NOT_AUTHORIZED);
	/* Manager failures map to NAT-PMP codes. */
	F.force = NC_ST_EXHAUSTED;
	assert_int_equal(pmp_map(e, "10.1.0.10", 1, 7000, 0, 60, &port, &life), NATPMP_NO_RESOURCES);
	assert_int_equal(port, 0);
	assert_int_equal(life, 0);
	F.force = NC_ST_QUOTA_EXCEEDED;
	assert_int_equal(pmp_map(e, "10.1.0.10", 1, 7000, 0, 60, NULL, NULL), NATPMP_NOT_AUTHORIZED);
	F.force = NC_ST_INTERNAL;
	assert_int_equal(pmp_map(e, "10.1.0.10", 1, 7000, 0, 60, NULL, NULL), NATPMP_NETWORK_FAILURE);
	F.force = 0;
	/* Unsupported opcode: 8 bytes, result 5. */
	assert_int_equal(send_from(e, "10.1.0.10", "\0\x09", 2, 100), 8);
	assert_memory_equal(e->out, "\x00\x89\x00\x05\x00\x00\x00\x64", 8);
	/* Dropped: short, wrong lengths, responses. */
	assert_int_equal(send_from(e, "10.1.0.10", "\0", 1, 100), 0);
	assert_int_equal(send_from(e, "10.1.0.10", "\0\0\0", 3, 100), 0);
	assert_int_equal(send_from(e, "10.1.0.10", NATPMP_MAP_REQ, 11, 100), 0);
	assert_int_equal(send_from(e, "10.1.0.10", NATPMP_MAP_RESP, 16, 100), 0);
	assert_true(pcp_server_stats(e->s)->dropped >= 4);
	assert_true(pcp_server_stats(e->s)->natpmp_requests > 10);
}

static void test_srv_epoch(void **state)
{
	struct env *e = *state;

	assert_int_equal(pcp_server_epoch(e->s, T0), 0);
	assert_int_equal(send_from(e, "10.1.0.10", "\0\0", 2, 0), 12);
	assert_int_equal(rd32(e->out + 4), 0);
	assert_int_equal(send_from(e, "10.1.0.10", "\0\0", 2, 3601), 12);
	assert_int_equal(rd32(e->out + 4), 3601);
}

static void test_srv_pcp_map(void **state)
{
	struct env *e = *state;
	struct pcp_request r;
	struct pcp_response p;

	/* The golden request gets the golden response. */
	assert_int_equal(send_from(e, "10.1.0.10", PCP_MAP_REQ, sizeof(PCP_MAP_REQ), 100),
			 sizeof(PCP_MAP_RESP));
	assert_memory_equal(e->out, PCP_MAP_RESP, sizeof(PCP_MAP_RESP));
	assert_int_equal(F.nbind, 1);
	assert_string_equal(F.last_owner, "pcp:10.1.0.10");
	assert_true(F.last_pol.pcp_only_self);
	assert_int_equal(F.last_bind.spec.dir, NC_DIR_BOTH);
	assert_int_equal(ipv(&F.last_bind.spec.ep.ip), A("10.1.0.10"));
	assert_int_equal(F.last_bind.spec.ep.port, 5000);
	assert_string_equal(F.last_bind.spec.label, "pcp nonce 0102030405060708090a0b0c");
	assert_true(F.last_bind.prefer_failure);
	assert_int_equal(F.last_bind.want_port, 5000);
	assert_int_equal(F.last_bind.want, NC_WANT_PREFIX);
	assert_int_equal(F.last_bind.want_plen, 32);
	assert_int_equal(ipv(&F.last_bind.want_addr), A("198.51.100.1"));
	assert_int_equal(F.last_bind.lifetime, 3600);
	/* FILTER 203.0.113.10 prefix 120 port 7000 -> 203.0.113.0/24, 7000 */
	assert_int_equal(F.last_bind.spec.nfilters, 1);
	assert_int_equal(F.last_bind.spec.filters[0].ip.af, NC_AF_IP4);
	assert_int_equal(ipv(&F.last_bind.spec.filters[0].ip), A("203.0.113.0"));
	assert_int_equal(F.last_bind.spec.filters[0].plen, 24);
	assert_int_equal(F.last_bind.spec.filters[0].port_lo, 7000);
	assert_int_equal(F.last_bind.spec.filters[0].port_hi, 7000);

	/* Same nonce, same mapping and filters: a refresh. */
	assert_int_equal(send_from(e, "10.1.0.10", PCP_MAP_REQ, sizeof(PCP_MAP_REQ), 100),
			 sizeof(PCP_MAP_RESP));
	assert_memory_equal(e->out, PCP_MAP_RESP, sizeof(PCP_MAP_RESP));
	assert_int_equal(F.nbind, 1);
	assert_int_equal(F.nrefresh, 1);

	/* Another nonce: NOT_AUTHORIZED, nothing changed. */
	r = map_req(IPPROTO_UDP, 5000, 0, 600);
	r.nonce[0] = 0xee;
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_NOT_AUTHORIZED);
	assert_int_equal(F.nbind, 1);
	assert_int_equal(F.nrefresh, 1);

	/* A further FILTER (any port of 192.0.2.9) is added: same M. */
	r = map_req(IPPROTO_UDP, 5000, 0, 600);
	add_filter(&r, "192.0.2.9", 128, 0);
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(p.ext_port, 5000);
	assert_int_equal(p.nfilters, 1); /* echoes what it processed */
	assert_int_equal(F.nbind, 2);
	assert_int_equal(F.last_bind.spec.nfilters, 2);
	assert_int_equal(ipv(&F.last_bind.spec.filters[1].ip), A("192.0.2.9"));
	assert_int_equal(F.last_bind.spec.filters[1].plen, 32);
	assert_int_equal(F.last_bind.spec.filters[1].port_lo, 0);
	assert_int_equal(F.last_bind.spec.filters[1].port_hi, 65535);
	assert_string_equal(F.last_bind.spec.label, "pcp nonce 0102030405060708090a0b0c");
	assert_int_equal(fake_count(), 1);
	/* The same FILTER again: nothing new, a refresh. */
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(F.nbind, 2);
	/* Prefix length 0 removes every filter, then one is added. */
	r = map_req(IPPROTO_UDP, 5000, 0, 600);
	add_filter(&r, "0.0.0.0", 0, 0);
	add_filter(&r, "198.18.0.0", 111, 53);
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(F.last_bind.spec.nfilters, 1);
	assert_int_equal(ipv(&F.last_bind.spec.filters[0].ip), A("198.18.0.0"));
	assert_int_equal(F.last_bind.spec.filters[0].plen, 15);

	/* Delete with the nonce: released, the old M reported. */
	r = map_req(IPPROTO_UDP, 5000, 0, 0);
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(p.lifetime, 0);
	assert_int_equal(p.ext_port, 5000);
	assert_int_equal(fake_count(), 0);
	/* Deleting what does not exist succeeds. */
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(F.nrelease, 1);
}

static void test_srv_pcp_map_errors(void **state)
{
	struct env *e = *state;
	struct pcp_request r;
	struct pcp_response p;

	/* Without a suggestion: any M; lifetime clamped to min. */
	r = map_req(IPPROTO_TCP, 8000, 0, 30);
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(F.last_bind.want, NC_WANT_ANY);
	assert_int_equal(F.last_bind.want_port, 0);
	assert_int_equal(F.last_bind.lifetime, 120);
	assert_int_equal(p.lifetime, 120);
	assert_int_equal(p.ext_port, 20000);

	/* PREFER_FAILURE with a port that is taken: CANNOT_PROVIDE_EXTERNAL. */
	r = map_req(IPPROTO_TCP, 8001, 20000, 600);
	r.prefer_failure = true;
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_CANNOT_PROVIDE_EXTERNAL);
	assert_int_equal(p.lifetime, 30);
	/* without it, another port */
	r.prefer_failure = false;
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(p.ext_port, 20001);
	/* PREFER_FAILURE on an existing mapping with another suggestion */
	r.prefer_failure = true;
	r.ext_port = 20050;
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_CANNOT_PROVIDE_EXTERNAL);
	r.ext_port = 20001;
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	/* PREFER_FAILURE with an IPv6 suggested address */
	r = map_req(IPPROTO_TCP, 8002, 0, 600);
	r.prefer_failure = true;
	memset(r.ext_ip, 0, 16);
	r.ext_ip[0] = 0x20;
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_CANNOT_PROVIDE_EXTERNAL);
	r.prefer_failure = false; /* ignored without it */
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(F.last_bind.want, NC_WANT_ANY);
	/* a suggested IPv4 address is passed on */
	r = map_req(IPPROTO_TCP, 8003, 0, 600);
	v4(r.ext_ip, "198.51.100.2");
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(ipv(&F.last_bind.want_addr), A("198.51.100.2"));
	assert_memory_equal(p.ext_ip, r.ext_ip, 16);

	/* Protocols: only UDP and TCP. */
	r = map_req(132, 5000, 0, 600); /* SCTP */
	assert_int_equal(pcp_map(e, &r).result, PCP_UNSUPP_PROTOCOL);
	r = map_req(0, 0, 0, 600); /* all protocols */
	assert_int_equal(pcp_map(e, &r).result, PCP_UNSUPP_PROTOCOL);
	r = map_req(IPPROTO_ICMP, 5000, 0, 600);
	assert_int_equal(pcp_map(e, &r).result, PCP_UNSUPP_PROTOCOL);
	/* All ports: not offered. */
	r = map_req(IPPROTO_UDP, 0, 0, 600);
	assert_int_equal(pcp_map(e, &r).result, PCP_NOT_AUTHORIZED);
	/* An IPv6 FILTER for an IPv4 mapping. */
	r = map_req(IPPROTO_UDP, 5000, 0, 600);
	add_filter(&r, "192.0.2.1", 128, 0);
	memset(r.filters[0].addr, 0, 16);
	r.filters[0].addr[0] = 0x20;
	assert_int_equal(pcp_map(e, &r).result, PCP_MALFORMED_OPTION);
	/* 17 distinct filters: more than a binding holds. */
	r = map_req(IPPROTO_UDP, 5000, 0, 600);
	for (int i = 0; i < 17; i++)
		add_filter(&r, "192.0.2.1", 128, (uint16_t)(100 + i));
	F.nbind = 0;
	assert_int_equal(pcp_map(e, &r).result, PCP_EXCESSIVE_REMOTE_PEERS);
	assert_int_equal(F.nbind, 0);
	r.nfilters = 16;
	assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
	/* one more on the existing mapping: too many, nothing changed */
	r.nfilters = 0;
	add_filter(&r, "192.0.2.2", 128, 1);
	assert_int_equal(pcp_map(e, &r).result, PCP_EXCESSIVE_REMOTE_PEERS);
	assert_int_equal(F.nbind, 1);

	/* Manager statuses. */
	r = map_req(IPPROTO_UDP, 9000, 0, 600);
	F.force = NC_ST_QUOTA_EXCEEDED;
	assert_int_equal(pcp_map(e, &r).result, PCP_USER_EX_QUOTA);
	F.force = NC_ST_EXHAUSTED;
	assert_int_equal(pcp_map(e, &r).result, PCP_NO_RESOURCES);
	F.force = NC_ST_CONFLICT; /* E is someone else's (a static forward) */
	assert_int_equal(pcp_map(e, &r).result, PCP_NOT_AUTHORIZED);
	F.force = NC_ST_INTERNAL;
	assert_int_equal(pcp_map(e, &r).result, PCP_NETWORK_FAILURE);
	F.force = NC_ST_UNKNOWN_REALM;
	assert_int_equal(pcp_map(e, &r).result, PCP_NETWORK_FAILURE);
	F.force = 0;

	/* The client's address must match the source. */
	assert_int_equal(pcp_send(e, &r, "10.1.0.11").result, PCP_ADDRESS_MISMATCH);
	/* A client outside the translated realm. */
	v4(r.client_ip, "203.0.113.10");
	assert_int_equal(pcp_send(e, &r, "203.0.113.10").result, PCP_NOT_AUTHORIZED);

	/* Delete with another nonce: NOT_AUTHORIZED, still there. */
	r = map_req(IPPROTO_TCP, 8000, 0, 0);
	r.nonce[11] ^= 1;
	assert_int_equal(pcp_map(e, &r).result, PCP_NOT_AUTHORIZED);
	/* Delete all (internal port 0) of the nonce: only those. */
	{
		unsigned before = fake_count();
		r = map_req(0, 0, 0, 0);
		r.nonce[11] ^= 1;
		assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
		assert_int_equal(fake_count(), before);
		r = map_req(IPPROTO_TCP, 0, 0, 0);
		assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
		assert_true(fake_count() < before);
		r = map_req(0, 0, 0, 0);
		assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
		assert_int_equal(fake_count(), 0);
	}
}

static void test_srv_third_party(void **state)
{
	struct env *e = *state;
	struct pcp_request r = map_req(IPPROTO_UDP, 5060, 0, 600);
	struct pcp_response p;

	r.has_third_party = true;
	v4(r.third_party, "10.1.0.20");
	/* not allowed by default */
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_NOT_AUTHORIZED);
	assert_int_equal(F.nbind, 0);
	/* allowed: E is the third party, the policy names exactly it */
	pcp_server_free(e->s);
	e->pc.third_party = true;
	e->s = pcp_server_new(&e->pc, e->nd.core->mgr, &e->nd.core->rs, T0);
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_true(p.has_third_party);
	assert_memory_equal(p.third_party, r.third_party, 16);
	assert_int_equal(ipv(&F.last_bind.spec.ep.ip), A("10.1.0.20"));
	assert_string_equal(F.last_owner, "pcp:10.1.0.10");
	assert_false(F.last_pol.pcp_only_self);
	assert_int_equal(F.last_pol.prefixes[0].addr, A("10.1.0.20"));
	assert_int_equal(F.last_pol.nprefixes, 1);
	/* a third party outside the client's realm */
	v4(r.third_party, "203.0.113.10");
	assert_int_equal(pcp_map(e, &r).result, PCP_NOT_AUTHORIZED);
	/* an IPv6 third party */
	memset(r.third_party, 0, 16);
	r.third_party[0] = 0x20;
	assert_int_equal(pcp_map(e, &r).result, PCP_MALFORMED_OPTION);
	/* only for the listed clients */
	pcp_server_free(e->s);
	assert_int_equal(prefix_parse("10.1.0.128/25", &e->pc.third_party_clients[0]), 0);
	e->pc.nthird_party_clients = 1;
	e->s = pcp_server_new(&e->pc, e->nd.core->mgr, &e->nd.core->rs, T0);
	v4(r.third_party, "10.1.0.21");
	assert_int_equal(pcp_map(e, &r).result, PCP_NOT_AUTHORIZED);
	v4(r.client_ip, "10.1.0.200");
	assert_int_equal(pcp_send(e, &r, "10.1.0.200").result, PCP_SUCCESS);
}

static void test_srv_peer(void **state)
{
	struct env *e = *state;
	struct pcp_request r = map_req(IPPROTO_UDP, 4000, 0, 300);
	struct pcp_response p;

	r.opcode = PCP_OP_PEER;
	r.peer_port = 7000;
	v4(r.peer_ip, "203.0.113.10");
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(p.peer_port, 7000);
	assert_memory_equal(p.peer_ip, r.peer_ip, 16);
	assert_memory_equal(p.nonce, NONCE, PCP_NONCE_LEN);
	assert_int_equal(p.lifetime, 300);
	assert_true(F.last_bind.spec.has_peer);
	assert_int_equal(ipv(&F.last_bind.spec.peer.ip), A("203.0.113.10"));
	assert_int_equal(F.last_bind.spec.peer.plen, 32);
	assert_int_equal(F.last_bind.spec.peer.port_lo, 7000);
	assert_int_equal(F.last_bind.spec.peer.port_hi, 7000);
	assert_int_equal(F.last_bind.spec.dir, NC_DIR_BOTH);
	/* again: refreshed */
	assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
	assert_int_equal(F.nbind, 1);
	assert_int_equal(F.nrefresh, 1);
	/* another peer from the same internal endpoint: one binding only */
	r.peer_port = 7001;
	assert_int_equal(pcp_map(e, &r).result, PCP_NO_RESOURCES);
	/* a PEER deletion of another peer leaves it */
	r.lifetime = 0;
	assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
	assert_int_equal(fake_count(), 1);
	/* MAP with the nonce turns it into a MAP: same M, no peer */
	{
		struct pcp_request m = map_req(IPPROTO_UDP, 4000, 0, 300);
		p = pcp_map(e, &m);
		assert_int_equal(p.result, PCP_SUCCESS);
		assert_int_equal(p.ext_port, 20000);
		assert_int_equal(F.nbind, 2);
		assert_false(F.last_bind.spec.has_peer);
		assert_int_equal(fake_count(), 1);
	}
	/* a PEER on a MAP: reported as it is, nothing changed */
	r.lifetime = 300;
	r.peer_port = 9999;
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(F.nbind, 2);
	assert_int_equal(F.nrefresh, 1);
	assert_int_equal(p.ext_port, 20000);
	assert_int_equal(p.peer_port, 9999);
	/* malformed PEERs */
	r.peer_port = 0;
	assert_int_equal(pcp_map(e, &r).result, PCP_MALFORMED_REQUEST);
	r.peer_port = 1;
	memset(r.peer_ip, 0, 16);
	assert_int_equal(pcp_map(e, &r).result, PCP_MALFORMED_REQUEST);
	v4(r.peer_ip, "0.0.0.0");
	assert_int_equal(pcp_map(e, &r).result, PCP_MALFORMED_REQUEST);
	v4(r.peer_ip, "203.0.113.10");
	r.int_port = 0;
	assert_int_equal(pcp_map(e, &r).result, PCP_MALFORMED_REQUEST);
	r.int_port = 4000;
	r.protocol = 0;
	assert_int_equal(pcp_map(e, &r).result, PCP_UNSUPP_PROTOCOL);
}

static void test_srv_pcp_misc(void **state)
{
	struct env *e = *state;
	uint8_t buf[PCP_MAX_LEN + 64];
	struct pcp_request r;
	struct pcp_response p;

	/* ANNOUNCE: the header, SUCCESS, with the epoch. */
	memset(&r, 0, sizeof(r));
	r.opcode = PCP_OP_ANNOUNCE;
	v4(r.client_ip, "10.1.0.10");
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(e->outlen, 24);
	/* Unsupported versions, answered in version 2 with the header. */
	memcpy(buf, PCP_MAP_REQ, sizeof(PCP_MAP_REQ));
	buf[0] = 1;
	assert_int_equal(send_from(e, "10.1.0.10", buf, sizeof(PCP_MAP_REQ), 100), 24);
	assert_int_equal(e->out[0], 2);
	assert_int_equal(e->out[3], PCP_UNSUPP_VERSION);
	buf[0] = 3;
	assert_int_equal(send_from(e, "10.1.0.10", buf, 2, 100), 24);
	/* Unknown opcode: the request copied back. */
	buf[0] = 2;
	buf[1] = 9;
	assert_int_equal(send_from(e, "10.1.0.10", buf, sizeof(PCP_MAP_REQ), 100),
			 sizeof(PCP_MAP_REQ));
	assert_int_equal(e->out[1], 0x89);
	assert_int_equal(e->out[3], PCP_UNSUPP_OPCODE);
	/* Dropped: responses, short PCP. */
	assert_int_equal(send_from(e, "10.1.0.10", PCP_MAP_RESP, sizeof(PCP_MAP_RESP), 100), 0);
	assert_int_equal(send_from(e, "10.1.0.10", PCP_MAP_REQ, 20, 100), 0);
	assert_int_equal(send_from(e, "10.1.0.10", PCP_MAP_REQ, 1, 100), 0);
	assert_int_equal(send_from(e, "10.1.0.10", PCP_MAP_REQ, 0, 100), 0);
	/* Too long: MALFORMED_REQUEST, truncated to 1100. */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, PCP_MAP_REQ, sizeof(PCP_MAP_REQ));
	assert_int_equal(send_from(e, "10.1.0.10", buf, PCP_MAX_LEN + 4, 100), PCP_MAX_LEN);
	assert_int_equal(e->out[3], PCP_MALFORMED_REQUEST);
	/* Too small an output buffer: nothing. */
	assert_int_equal(pcp_server_handle(e->s, PCP_MAP_REQ, sizeof(PCP_MAP_REQ), A("10.1.0.10"),
					   T0, buf, 100),
			 0);
	/* Counters. */
	{
		char *line = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&line, &len);
		assert_non_null(f);
		pcp_server_print_stats(e->s, f);
		fclose(f);
		assert_non_null(strstr(line, " pcp_requests="));
		assert_non_null(strstr(line, " pcp_result_unsupp_version=2"));
		assert_non_null(strstr(line, " pcp_result_malformed_request=1"));
		free(line);
	}
}

static void test_srv_quota_policy(void **state)
{
	struct env *e = *state;
	struct pcp_request r;

	/* The fake applies pcp.max_mappings (the policy's quota) as the
	 * manager does. */
	for (uint16_t i = 0; i < 8; i++) {
		r = map_req(IPPROTO_UDP, (uint16_t)(3000 + i), 0, 600);
		assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
	}
	r = map_req(IPPROTO_UDP, 3100, 0, 600);
	assert_int_equal(pcp_map(e, &r).result, PCP_USER_EX_QUOTA);
	/* another client has its own account */
	v4(r.client_ip, "10.1.0.11");
	assert_int_equal(pcp_send(e, &r, "10.1.0.11").result, PCP_SUCCESS);
	assert_string_equal(F.last_owner, "pcp:10.1.0.11");
	/* and cannot touch the first client's mapping (another owner) */
	r = map_req(IPPROTO_UDP, 3000, 0, 0);
	v4(r.client_ip, "10.1.0.11");
	assert_int_equal(pcp_send(e, &r, "10.1.0.11").result, PCP_SUCCESS); /* nothing of its own */
	assert_int_equal(fake_count(), 9);
}

static void test_srv_rate_limit(void **state)
{
	struct env *e = *state;

	pcp_server_free(e->s);
	e->pc.max_rate = 3;
	e->s = pcp_server_new(&e->pc, e->nd.core->mgr, &e->nd.core->rs, T0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(send_from(e, "10.1.0.10", "\0\0", 2, 10), 12);
	assert_int_equal(send_from(e, "10.1.0.10", "\0\0", 2, 10), 0);
	assert_int_equal(pcp_server_stats(e->s)->rate_limited, 1);
	assert_int_equal(send_from(e, "10.1.0.10", "\0\0", 2, 11), 12);
}

/* Random datagrams through the whole handler: replies are well formed. */
static void test_srv_hostile(void **state)
{
	struct env *e = *state;
	uint32_t seed = 777;

	for (int i = 0; i < 20000; i++) {
		uint8_t rnd[PCP_MAX_LEN + 4];
		size_t len, n;

		memset(rnd, 0, sizeof(rnd));
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(rnd);
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245u + 12345u;
			rnd[k] = (uint8_t)(seed >> 16);
		}
		if (len > 0)
			rnd[0] = (seed & 1) ? 2 : 0;
		if (len > 1)
			rnd[1] &= 0x83;
		if (len >= 24 && (seed & 2))
			v4(rnd + 8, "10.1.0.10");
		if (len >= 12 && (seed & 4))
			len = rnd[0] == 2 ? 60 : 12;
		n = send_from(e, "10.1.0.10", rnd, len, 100);
		assert_true(n <= PCP_MAX_LEN);
		if (n && rnd[0] == 2) {
			struct pcp_response p;
			assert_int_equal(n % 4, 0);
			assert_true(n >= 24);
			assert_int_equal(pcp_decode_response(e->out, n, &p) == 0 || e->out[3] != 0, 1);
		}
		if (n && rnd[0] == 0)
			assert_true(n == 8 || n == 12 || n == 16);
	}
	assert_true(fake_count() <= 8);
}

/* ------------------------------------------------------------------ */
/* Server against the real manager, packets through xlate              */

/* An inbound UDP packet from remote to M: XL_FORWARD with its new
 * destination in *to, or the verdict. */
static enum xlate_verdict inbound(struct env *e, const char *remote, uint16_t rport, uint32_t maddr,
				  uint16_t mport, struct endpoint *to)
{
	uint8_t pkt[PB_MAX];
	size_t n = pb_udp(pkt, A(remote), rport, maddr, mport, 20);
	enum xlate_verdict v;

	e->nd.core->x.now = clock_mono_s();
	v = xlate_packet(&e->nd.core->x, pkt, n, sizeof(pkt));
	if (v == XL_FORWARD && to) {
		memcpy(&to->addr, pkt + 16, 4);
		memcpy(&to->port, pkt + 20 + 2, 2);
	}
	return v;
}

static void test_real_natpmp(void **state)
{
	struct env *e = *state;
	uint16_t port;
	uint32_t life;
	struct endpoint to;
	struct binding *b;

	F.real = true;
	assert_int_equal(pmp_map(e, "10.1.0.10", 1, 5000, 20010, 600, &port, &life), 0);
	assert_int_equal(port, 20010);
	assert_int_equal(life, 600);
	b = bind_lookup_in(e->nd.core->bt, IPPROTO_UDP, 0,
			   (struct endpoint){A("10.1.0.10"), htons(5000)}, 1);
	assert_non_null(b);
	assert_int_equal(b->kind, BIND_MANAGED);
	assert_int_equal(ntohs(b->ext.port), 20010);
	/* on the address NAT-PMP announces, whatever paired pooling prefers */
	assert_int_equal(b->ext.addr, A("198.51.100.1"));
	{
		uint16_t p2;
		assert_int_equal(pmp_map(e, "10.1.0.77", 1, 5000, 0, 600, &p2, NULL), 0);
		b = bind_lookup_in(e->nd.core->bt, IPPROTO_UDP, 0,
				   (struct endpoint){A("10.1.0.77"), htons(5000)}, 1);
		assert_non_null(b);
		assert_int_equal(b->ext.addr, A("198.51.100.1"));
		assert_int_equal(ntohs(b->ext.port), p2);
	}
	/* A remote reaches E through M. */
	assert_int_equal(inbound(e, "203.0.113.10", 7000, b->ext.addr, 20010, &to), XL_FORWARD);
	assert_int_equal(to.addr, A("10.1.0.10"));
	assert_int_equal(ntohs(to.port), 5000);
	/* Refresh keeps it; the manager's LIST shows the owner. */
	assert_int_equal(pmp_map(e, "10.1.0.10", 1, 5000, 0, 700, &port, &life), 0);
	assert_int_equal(port, 20010);
	assert_int_equal(life, 700);
	/* Delete: the packet no longer gets in. */
	assert_int_equal(pmp_map(e, "10.1.0.10", 1, 5000, 0, 0, &port, &life), 0);
	assert_null(bind_lookup_in(e->nd.core->bt, IPPROTO_UDP, 0,
				   (struct endpoint){A("10.1.0.10"), htons(5000)}, 1));
	assert_int_equal(inbound(e, "203.0.113.10", 7000, A("198.51.100.1"), 20010, NULL), XL_DROP);
}

static void test_real_pcp_filter(void **state)
{
	struct env *e = *state;
	struct pcp_request r = map_req(IPPROTO_UDP, 5004, 0, 600);
	struct pcp_response p;
	struct endpoint to;
	uint32_t maddr;
	uint64_t filtered;

	F.real = true;
	add_filter(&r, "203.0.113.10", 128, 7000);
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_true(pcp_addr_is_v4(p.ext_ip, &maddr));
	assert_true(p.ext_port >= 20000 && p.ext_port <= 20099);
	/* the named remote gets through */
	assert_int_equal(inbound(e, "203.0.113.10", 7000, maddr, p.ext_port, &to), XL_FORWARD);
	assert_int_equal(to.addr, A("10.1.0.10"));
	assert_int_equal(ntohs(to.port), 5004);
	/* others do not: another port, another address */
	filtered = e->nd.core->st.dropped[DROP_FILTERED];
	assert_int_equal(inbound(e, "203.0.113.10", 7001, maddr, p.ext_port, NULL), XL_DROP);
	assert_int_equal(inbound(e, "203.0.113.11", 7000, maddr, p.ext_port, NULL), XL_DROP);
	assert_int_equal(e->nd.core->st.dropped[DROP_FILTERED], filtered + 2);
	/* a refresh with the same nonce keeps M and the filter */
	{
		struct pcp_response q = pcp_map(e, &r);
		assert_int_equal(q.result, PCP_SUCCESS);
		assert_int_equal(q.ext_port, p.ext_port);
		assert_int_equal(inbound(e, "203.0.113.11", 7000, maddr, p.ext_port, NULL), XL_DROP);
	}
	/* a second FILTER widens it, still the same M */
	r.nfilters = 0;
	add_filter(&r, "203.0.113.0", 120, 0);
	{
		struct pcp_response q = pcp_map(e, &r);
		assert_int_equal(q.result, PCP_SUCCESS);
		assert_int_equal(q.ext_port, p.ext_port);
	}
	assert_int_equal(inbound(e, "203.0.113.11", 9, maddr, p.ext_port, &to), XL_FORWARD);
	assert_int_equal(inbound(e, "192.0.2.1", 7000, maddr, p.ext_port, NULL), XL_DROP);
	/* another nonce cannot touch it */
	{
		struct pcp_request o = map_req(IPPROTO_UDP, 5004, 0, 0);
		o.nonce[0] = 0x99;
		assert_int_equal(pcp_map(e, &o).result, PCP_NOT_AUTHORIZED);
	}
	/* delete: closed */
	r = map_req(IPPROTO_UDP, 5004, 0, 0);
	assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
	assert_int_equal(inbound(e, "203.0.113.10", 7000, maddr, p.ext_port, NULL), XL_DROP);
}

static void test_real_pcp_prefer_failure(void **state)
{
	struct env *e = *state;
	struct pcp_request r = map_req(IPPROTO_UDP, 6000, 20020, 600);
	struct pcp_response p;

	F.real = true;
	r.prefer_failure = true;
	v4(r.ext_ip, "198.51.100.2");
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_int_equal(p.ext_port, 20020);
	assert_memory_equal(p.ext_ip, r.ext_ip, 16);
	/* the same external endpoint for another internal one: refused */
	r.int_port = 6001;
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_CANNOT_PROVIDE_EXTERNAL);
	/* without PREFER_FAILURE: something else */
	r.prefer_failure = false;
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	assert_true(p.ext_port != 20020 || memcmp(p.ext_ip, r.ext_ip, 16));
	/* THIRD_PARTY off: refused by the server; E must be the sender's */
	r = map_req(IPPROTO_UDP, 6002, 0, 600);
	r.has_third_party = true;
	v4(r.third_party, "10.1.0.99");
	assert_int_equal(pcp_map(e, &r).result, PCP_NOT_AUTHORIZED);
	/* PEER on the real manager */
	r = map_req(IPPROTO_UDP, 6003, 0, 600);
	r.opcode = PCP_OP_PEER;
	r.peer_port = 7000;
	v4(r.peer_ip, "203.0.113.10");
	p = pcp_map(e, &r);
	assert_int_equal(p.result, PCP_SUCCESS);
	{
		uint32_t maddr;
		assert_true(pcp_addr_is_v4(p.ext_ip, &maddr));
		assert_int_equal(inbound(e, "203.0.113.10", 7000, maddr, p.ext_port, NULL), XL_FORWARD);
		assert_int_equal(inbound(e, "203.0.113.12", 7000, maddr, p.ext_port, NULL), XL_DROP);
	}
}

/* pcp.max_client_rate: a client over its own rate is dropped (counted)
 * and spends none of the shared pcp.max_rate tokens: another client is
 * still answered. */
static void test_srv_client_rate(void **state)
{
	struct env *e = *state;

	pcp_server_free(e->s);
	e->pc.max_rate = 5;
	e->pc.max_client_rate = 2;
	e->s = pcp_server_new(&e->pc, e->nd.core->mgr, &e->nd.core->rs, T0);
	assert_non_null(e->s);
	for (int i = 0; i < 2; i++)
		assert_int_equal(send_from(e, "10.1.0.10", "\0\0", 2, 10), 12);
	for (int i = 0; i < 50; i++)
		assert_int_equal(send_from(e, "10.1.0.10", "\0\0", 2, 10), 0);
	assert_int_equal(pcp_server_stats(e->s)->client_rate_limited, 50);
	assert_int_equal(pcp_server_stats(e->s)->rate_limited, 0);
	/* the others still have the 3 shared tokens the flood did not take */
	assert_int_equal(send_from(e, "10.1.0.11", "\0\0", 2, 10), 12);
	assert_int_equal(send_from(e, "10.1.0.12", "\0\0", 2, 10), 12);
	assert_int_equal(send_from(e, "10.1.0.13", "\0\0", 2, 10), 12);
	/* and then the global bucket is what stops them */
	assert_int_equal(send_from(e, "10.1.0.14", "\0\0", 2, 10), 0);
	assert_int_equal(pcp_server_stats(e->s)->rate_limited, 1);
	/* a second later the flooder has its tokens back */
	assert_int_equal(send_from(e, "10.1.0.10", "\0\0", 2, 11), 12);
}

/* Finding a client's mapping is one lookup for a given internal port, and
 * a walk of the client's own grants only for "all of them": never a LIST
 * of the table. */
static void test_srv_lookup_paths(void **state)
{
	struct env *e = *state;
	struct pcp_request r = map_req(IPPROTO_UDP, 3000, 0, 600);

	assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
	assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS); /* refresh */
	assert_int_equal(F.nfind, 2);
	assert_int_equal(F.nrefresh, 1);
	assert_int_equal(F.nlist, 0);
	r = map_req(0, 0, 0, 0); /* delete every mapping of this nonce */
	assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
	assert_true(F.nlist >= 1);
	assert_int_equal(fake_count(), 0);
}

/* With the real manager: per-subscriber quota (USER_EX_QUOTA) while
 * another subscriber still maps; a client's "delete all" reaches only its
 * own mappings, found through its account. */
static void test_real_subscriber_bounds(void **state)
{
	struct env *e = *state;
	struct pcp_request r, o;
	uint16_t i;

	F.real = true;
	for (i = 0; i < 8; i++) {
		r = map_req(IPPROTO_UDP, (uint16_t)(4000 + i), 0, 600);
		assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
	}
	r = map_req(IPPROTO_UDP, 4100, 0, 600);
	assert_int_equal(pcp_map(e, &r).result, PCP_USER_EX_QUOTA);
	assert_null(bind_lookup_in(e->nd.core->bt, IPPROTO_UDP, 0,
				   (struct endpoint){A("10.1.0.10"), htons(4100)}, 1));
	o = map_req(IPPROTO_UDP, 4000, 0, 600);
	v4(o.client_ip, "10.1.0.11");
	assert_int_equal(pcp_send(e, &o, "10.1.0.11").result, PCP_SUCCESS);
	/* 10.1.0.10 deletes all its mappings */
	r = map_req(0, 0, 0, 0);
	assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
	for (i = 0; i < 8; i++)
		assert_null(bind_lookup_in(e->nd.core->bt, IPPROTO_UDP, 0,
					   (struct endpoint){A("10.1.0.10"), htons((uint16_t)(4000 + i))},
					   1));
	assert_non_null(bind_lookup_in(e->nd.core->bt, IPPROTO_UDP, 0,
				       (struct endpoint){A("10.1.0.11"), htons(4000)}, 1));
	/* and may map again: its account was emptied, not lost */
	r = map_req(IPPROTO_UDP, 4100, 0, 600);
	assert_int_equal(pcp_map(e, &r).result, PCP_SUCCESS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_forms),
		cmocka_unit_test(test_natpmp_golden),
		cmocka_unit_test(test_natpmp_hostile),
		cmocka_unit_test(test_pcp_map_golden),
		cmocka_unit_test(test_pcp_peer_announce),
		cmocka_unit_test(test_pcp_header_steps),
		cmocka_unit_test(test_pcp_options),
		cmocka_unit_test(test_pcp_max_size),
		cmocka_unit_test(test_pcp_error_response),
		cmocka_unit_test(test_pcp_mutations),
		cmocka_unit_test_setup_teardown(test_srv_natpmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_epoch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_pcp_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_pcp_map_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_third_party, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_pcp_misc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_quota_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_client_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_lookup_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_natpmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_pcp_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_subscriber_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_pcp_prefer_failure, setup, teardown),
	};

	log_level = LOG_WARNING; /* the real manager logs each grant at info */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
