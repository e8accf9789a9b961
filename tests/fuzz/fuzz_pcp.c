/* fuzz_pcp: natd/pcp.c, the PCP (RFC 6887) and NAT-PMP (RFC 6886) codec.
 *
 * Input: a mode byte, then one UDP payload as it arrives on port 5351.
 *   mode bit 0  the sender's address is 10.9.9.9 (else it is the client
 *               address the request itself carries, bytes 8-23, so the
 *               ADDRESS_MISMATCH check passes and the rest is reached)
 *   mode bit 1  also decode the payload as a PCP response (client side)
 * The payload is dispatched on its first byte as pcp_server.c does: 0 to
 * natpmp_decode_request(), anything else to pcp_decode_request().
 *
 * Beyond the sanitizers it checks: a PCP error reply (pcp_encode_error)
 * is a multiple of 4 between 24 and 1100 bytes; a request that decodes
 * re-encodes (pcp_encode_request) to bytes that decode to the same
 * request; a response built from it survives pcp_encode_response /
 * pcp_decode_response unchanged; a decoded response re-encodes and
 * decodes to itself; NAT-PMP replies have their fixed sizes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "pcp.h"

#define CAP (PCP_MAX_LEN + 64)

static struct pcp_request req, req2;
static struct pcp_response rsp, rsp2;

static void response_roundtrip(const struct pcp_response *a, const char *what)
{
	uint8_t out[CAP];
	int n = pcp_encode_response(a, out, sizeof(out));

	if (n < 0)
		return; /* the encoder refuses what it cannot express */
	FUZZ_CHECK(n >= PCP_HDR_LEN && n <= PCP_MAX_LEN && n % 4 == 0,
		   "%s: pcp_encode_response length %d", what, n);
	FUZZ_CHECK(pcp_decode_response(out, (size_t)n, &rsp2) == 0,
		   "%s: an encoded response does not decode", what);
	FUZZ_CHECK(rsp2.opcode == a->opcode && rsp2.result == a->result &&
			   rsp2.lifetime == a->lifetime && rsp2.epoch == a->epoch,
		   "%s: response header changed in a round trip", what);
	if (a->opcode == PCP_OP_MAP || a->opcode == PCP_OP_PEER) {
		FUZZ_CHECK(!memcmp(rsp2.nonce, a->nonce, PCP_NONCE_LEN) &&
				   rsp2.protocol == a->protocol && rsp2.int_port == a->int_port &&
				   rsp2.ext_port == a->ext_port && !memcmp(rsp2.ext_ip, a->ext_ip, 16),
			   "%s: response MAP part changed in a round trip", what);
	}
	if (a->opcode == PCP_OP_PEER)
		FUZZ_CHECK(rsp2.peer_port == a->peer_port && !memcmp(rsp2.peer_ip, a->peer_ip, 16),
			   "%s: response PEER part changed in a round trip", what);
	FUZZ_CHECK(rsp2.has_third_party == a->has_third_party &&
			   (!a->has_third_party || !memcmp(rsp2.third_party, a->third_party, 16)) &&
			   rsp2.prefer_failure == a->prefer_failure && rsp2.nfilters == a->nfilters,
		   "%s: response options changed in a round trip", what);
	for (unsigned i = 0; i < a->nfilters && i < PCP_FILTERS_MAX; i++)
		FUZZ_CHECK(rsp2.filters[i].plen == a->filters[i].plen &&
				   rsp2.filters[i].port == a->filters[i].port &&
				   !memcmp(rsp2.filters[i].addr, a->filters[i].addr, 16),
			   "%s: response filter %u changed in a round trip", what, i);
}

static void pcp(const uint8_t *m, size_t n, bool mismatch)
{
	uint8_t src[16], out[CAP];
	int rc, k;
	uint32_t a4;

	if (mismatch || n < 24)
		pcp_addr_from_v4(src, 0x0909090au);
	else
		memcpy(src, m + 8, 16);
	rc = pcp_decode_request(m, n, src, &req);
	if (rc == PCP_DROP)
		return;
	FUZZ_CHECK(rc >= 0 && rc <= PCP_RESULT_MAX, "pcp_decode_request returned %d", rc);
	FUZZ_CHECK(pcp_result_str((uint8_t)rc) != NULL, "no name for result %d", rc);
	if (rc != PCP_SUCCESS) {
		k = pcp_encode_error(m, n, (uint8_t)rc, pcp_error_lifetime((uint8_t)rc), 77, out,
				     sizeof(out));
		FUZZ_CHECK(k >= PCP_HDR_LEN && k <= PCP_MAX_LEN && k % 4 == 0,
			   "pcp_encode_error of a %zu-byte request: %d", n, k);
		FUZZ_CHECK(out[0] == PCP_VERSION && (out[1] & PCP_R_BIT) && out[3] == rc,
			   "pcp_encode_error: header");
		(void)pcp_decode_response(out, (size_t)k, &rsp2);
		return;
	}
	/* a valid request: the client side's encoder gives it back */
	(void)pcp_addr_is_v4(req.client_ip, &a4);
	(void)pcp_addr_is_unspec(req.ext_ip);
	k = pcp_encode_request(&req, out, sizeof(out));
	FUZZ_CHECK(k > 0, "a valid request does not re-encode: %d", k);
	FUZZ_CHECK(pcp_decode_request(out, (size_t)k, req.client_ip, &req2) == PCP_SUCCESS,
		   "a re-encoded request does not decode");
	req.nskipped = 0; /* optional options not understood are not re-encoded */
	FUZZ_CHECK(!memcmp(&req, &req2, sizeof(req)), "a request changed in a round trip");

	/* the server's success response to it */
	memset(&rsp, 0, sizeof(rsp));
	rsp.opcode = req.opcode;
	rsp.result = PCP_SUCCESS;
	rsp.lifetime = req.lifetime;
	rsp.epoch = 12345;
	memcpy(rsp.nonce, req.nonce, PCP_NONCE_LEN);
	rsp.protocol = req.protocol;
	rsp.int_port = req.int_port;
	rsp.ext_port = req.ext_port ? req.ext_port : 20000;
	pcp_addr_from_v4(rsp.ext_ip, 0x016433c6u); /* 198.51.100.1 */
	rsp.peer_port = req.peer_port;
	memcpy(rsp.peer_ip, req.peer_ip, 16);
	rsp.has_third_party = req.has_third_party;
	memcpy(rsp.third_party, req.third_party, 16);
	rsp.prefer_failure = req.prefer_failure;
	rsp.nfilters = req.nfilters;
	memcpy(rsp.filters, req.filters, sizeof(rsp.filters));
	response_roundtrip(&rsp, "server response");
}

static void natpmp(const uint8_t *m, size_t n)
{
	struct natpmp_request r;
	uint8_t out[64];
	int rc = natpmp_decode_request(m, n, &r), k;

	if (rc == PCP_DROP)
		return;
	if (rc == NATPMP_UNSUPP_VERSION || rc == NATPMP_UNSUPP_OPCODE) {
		k = natpmp_encode_error(n > 1 ? m[1] : 0, (uint8_t)rc, 5, out, sizeof(out));
		FUZZ_CHECK(k == NATPMP_ERR_RESP_LEN, "natpmp_encode_error: %d", k);
		return;
	}
	FUZZ_CHECK(rc == 0, "natpmp_decode_request returned %d", rc);
	switch (r.opcode) {
	case NATPMP_OP_ADDR:
		k = natpmp_encode_addr_response(0, 5, 0x016433c6u, out, sizeof(out));
		FUZZ_CHECK(k == NATPMP_ADDR_RESP_LEN, "natpmp_encode_addr_response: %d", k);
		break;
	case NATPMP_OP_MAP_UDP:
	case NATPMP_OP_MAP_TCP:
		k = natpmp_encode_map_response(r.opcode, 0, 5, r.int_port, r.ext_port, r.lifetime,
					       out, sizeof(out));
		FUZZ_CHECK(k == NATPMP_MAP_RESP_LEN, "natpmp_encode_map_response: %d", k);
		break;
	default:
		fuzz_fail("natpmp_decode_request accepted opcode %u", r.opcode);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t mode;
	uint8_t *m;
	size_t n;

	if (size < 1)
		return 0;
	fuzz_rand_reset();
	mode = data[0];
	n = size - 1;
	/* an exact-size copy, so any read past the datagram is caught */
	m = malloc(n ? n : 1);
	if (!m)
		return 0;
	memcpy(m, data + 1, n);
	if (n && m[0] == NATPMP_VERSION)
		natpmp(m, n);
	else
		pcp(m, n, mode & 1);
	if (mode & 2) {
		if (pcp_decode_response(m, n, &rsp) == 0)
			response_roundtrip(&rsp, "decoded response");
	}
	free(m);
	return 0;
}
