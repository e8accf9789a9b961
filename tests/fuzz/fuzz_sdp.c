/* fuzz_sdp: sipproxy's SDP rewriter (sdp_rewrite.c over libosip2's SDP
 * parser).
 *
 * Input: an options byte, then an SDP body.
 *   bits 0-1  the fake allocations: 0 and 3 one per endpoint in
 *             198.51.100.0/24 (ports 30000, 30002...), 1 the endpoint's
 *             own address and port (identity), 2 as 0 but every third one
 *             missing (af 0: with disable_unbound the stream is disabled,
 *             otherwise sdp_apply must fail cleanly)
 *   bit 2     bump_version
 *   bit 3     disable_unbound
 *   bit 4     a fixed origin address (else the default choice)
 *   bit 5     a remote filter built from the body itself (as if it were
 *             the other party's SDP) in the BIND requests
 *   bit 6     that filter from the last stream only (else from all)
 * sdp_plan() plans it; every endpoint's BIND request is filled with
 * sdp_plan_bind_req() (and must encode as a BIND with libcontrol's
 * encoder); sdp_apply() then writes the body under each of the three ICE
 * policies.
 *
 * Beyond the sanitizers it checks: sdp_apply() stays within
 * sdp_apply_bound() and NUL-terminates; a rewritten body plans again, with
 * the same number of streams; sdp_apply_origin() agrees with apply's
 * success; every error has a description.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcontrol/msg.h>

#include "fuzz_common.h"
#include "sdp_rewrite.h"

static uint8_t enc[8192];

static void fake_alloc(const struct sdp_plan *pl, unsigned mode, struct nc_ep *alloc)
{
	unsigned n = sdp_plan_nendpoints(pl);

	memset(alloc, 0, sizeof(*alloc) * SDP_EP_MAX);
	for (unsigned i = 0; i < n && i < SDP_EP_MAX; i++) {
		const struct sdp_endpoint *e = sdp_plan_endpoint(pl, i);

		FUZZ_CHECK(e, "endpoint %u of %u is NULL", i, n);
		if (mode == 2 && i % 3 == 2)
			continue; /* unbound */
		alloc[i].ip.af = NC_AF_IP4;
		if (mode == 1) {
			memcpy(alloc[i].ip.a, e->addr, 4);
			alloc[i].port = e->port;
		} else {
			alloc[i].ip.a[0] = 198;
			alloc[i].ip.a[1] = 51;
			alloc[i].ip.a[2] = 100;
			alloc[i].ip.a[3] = (uint8_t)(10 + i);
			alloc[i].port = (uint16_t)(30000 + 2 * i);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdp_plan *pl = NULL, *again = NULL;
	struct nc_ep alloc[SDP_EP_MAX];
	struct sdp_remote_filter filt;
	struct sdp_apply_opts o;
	struct nc_bind req;
	struct nc_ip origin;
	unsigned err_line = 0, nep, nst;
	uint8_t opt;
	char *body, *out;
	size_t blen, cap;
	int rc;

	if (size < 1)
		return 0;
	fuzz_rand_reset();
	opt = data[0];
	blen = size - 1;
	/* an exact-size copy: a read past the body is caught */
	body = malloc(blen ? blen : 1);
	if (!body)
		return 0;
	memcpy(body, data + 1, blen);
	rc = sdp_plan(body, blen, &pl, &err_line);
	if (rc != 0) {
		FUZZ_CHECK(rc < 0 && !pl, "sdp_plan: %d with a plan", rc);
		FUZZ_CHECK(sdp_strerror(rc) != NULL, "sdp_strerror(%d)", rc);
		free(body);
		return 0;
	}
	FUZZ_CHECK(pl, "sdp_plan: 0 without a plan");
	nep = sdp_plan_nendpoints(pl);
	nst = sdp_plan_nstreams(pl);
	FUZZ_CHECK(nep <= SDP_EP_MAX && nst <= SDP_MEDIA_MAX, "%u endpoints, %u streams", nep, nst);
	for (unsigned i = 0; i < nst; i++) {
		const struct sdp_stream *s = sdp_plan_stream(pl, i);

		FUZZ_CHECK(s, "stream %u is NULL", i);
		FUZZ_CHECK(s->ep < (int)nep && s->rtcp_ep < (int)nep, "stream %u: endpoint index", i);
	}
	FUZZ_CHECK(!sdp_plan_stream(pl, nst) && !sdp_plan_endpoint(pl, nep), "index past the end");

	/* BIND requests */
	memset(&filt, 0, sizeof(filt));
	/* one stream's (the last one's), or every stream's */
	rc = sdp_plan_remote_filter(pl, (opt & 0x40) && nst ? (int)nst - 1 : -1, &filt);
	FUZZ_CHECK(rc >= 0 && (unsigned)rc == filt.n && filt.n <= NC_FILTER_MAX,
		   "sdp_plan_remote_filter: %d (n %u)", rc, filt.n);
	for (unsigned i = 0; i < nep; i++) {
		memset(&req, 0, sizeof(req));
		rc = sdp_plan_bind_req(pl, i, "inside", "outside", 60, (opt & 0x20) ? &filt : NULL,
				       &req);
		FUZZ_CHECK(rc == 0, "sdp_plan_bind_req(%u): %s", i, sdp_strerror(rc));
		rc = nc_encode(enc, sizeof(enc), NC_MSG_BIND, 1, &req);
		FUZZ_CHECK(rc > 0, "the BIND for endpoint %u does not encode: %s", i, nc_strerror(rc));
	}
	FUZZ_CHECK(sdp_plan_bind_req(pl, nep, "inside", "outside", 60, NULL, &req) < 0,
		   "sdp_plan_bind_req past the end");

	/* rewriting, under each ICE policy */
	fake_alloc(pl, opt & 3, alloc);
	cap = sdp_apply_bound(pl);
	out = malloc(cap);
	FUZZ_CHECK(out, "out of memory");
	for (int ice = SDP_ICE_STRIP; ice <= SDP_ICE_REWRITE; ice++) {
		int n, orc;

		memset(&o, 0, sizeof(o));
		o.ice = (enum sdp_ice_policy)ice;
		o.bump_version = opt & 4;
		o.disable_unbound = opt & 8;
		if (opt & 0x10) {
			o.origin.af = NC_AF_IP4;
			memcpy(o.origin.a, "\xc6\x33\x64\x01", 4);
		}
		memset(&origin, 0, sizeof(origin));
		orc = sdp_apply_origin(pl, alloc, nep, &o, &origin);
		n = sdp_apply(pl, alloc, nep, &o, out, cap);
		if (n < 0) {
			FUZZ_CHECK(sdp_strerror(n) != NULL, "sdp_strerror(%d)", n);
			FUZZ_CHECK((opt & 3) == 2, "sdp_apply failed with every endpoint bound: %s",
				   sdp_strerror(n));
			continue;
		}
		FUZZ_CHECK(orc == 0, "sdp_apply succeeded but sdp_apply_origin: %d", orc);
		FUZZ_CHECK((size_t)n < cap && out[n] == '\0', "sdp_apply: %d bytes, bound %zu", n, cap);
		rc = sdp_plan(out, (size_t)n, &again, &err_line);
		FUZZ_CHECK(rc == 0, "a rewritten body does not plan again: %s (line %u):\n%s",
			   sdp_strerror(rc), err_line, out);
		FUZZ_CHECK(sdp_plan_nstreams(again) == nst, "rewriting changed the streams: %u -> %u",
			   nst, sdp_plan_nstreams(again));
		sdp_plan_free(again);
		again = NULL;
	}
	free(out);
	sdp_plan_free(pl);
	free(body);
	return 0;
}
