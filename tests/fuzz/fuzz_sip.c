/* fuzz_sip: SIP message handling in sipproxy (sip_msg.c over libosip2,
 * registrar.c).
 *
 * Input: one SIP message as received (the seeds are plain .sip files).
 * It goes through sip_msg_parse(); then, as proxy.c would:
 *   a request: sip_msg_top_via_fix(), the transaction key (both CANCEL
 *     modes), the loop key and loop check, Max-Forwards, the dialog id and
 *     Call-ID, sip_msg_route_preprocess() with a fixed is_mine (the proxy
 *     is 192.0.2.1:5060 and "proxy.example.com"), sip_msg_uri_target() of
 *     the next hop, a new branch and Via, Record-Route, the strict-router
 *     fix-up, the SDP body (read, and written back), a response built with
 *     sip_msg_build_response() (the status picked from the input's
 *     length), the REGISTER path (registrar_register() on a fresh
 *     registrar, the AoR made as proxy.c's aor_of() does), and
 *     sip_msg_to_bytes() of the request and the response;
 *   a refused request that came back parsed: the error response, as the
 *     proxy sends it;
 *   a response: the Via targets, popping our Via, its keys, serialising.
 *
 * Beyond the sanitizers it checks that what the proxy would send about a
 * message it accepted (the edited request, the responses it builds to
 * it) parses again with sip_msg_parse(): a proxy must not emit what it
 * would itself refuse. (An error response to a refused request echoes the
 * faulty header, so it is only serialised; and when the message does not
 * survive serialising and parsing even unedited, a libosip2 round-trip
 * problem, the check is skipped for that input.)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "fuzz_common.h"
#include "registrar.h"
#include "sip_msg.h"
#include "transport.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sip_msg_init() != 0) {
		fprintf(stderr, "fuzz_sip: sip_msg_init failed\n");
		exit(1);
	}
	sip_msg_set_trace(NULL);
	return 0;
}

static bool is_mine(const osip_uri_t *u, void *arg)
{
	int port;

	(void)arg;
	if (!u || !u->host)
		return false;
	port = u->port ? atoi(u->port) : 5060;
	return port == 5060 &&
	       (!strcmp(u->host, "192.0.2.1") || !strcasecmp(u->host, "proxy.example.com"));
}

/* Set when the message as parsed, unedited, does not survive
 * sip_msg_to_bytes() + sip_msg_parse(): a libosip2 round-trip problem
 * (known: a URI header dropped, then "<sip:c>" refused), not something
 * the proxy's edits did; the checks below are then skipped. */
static bool roundtrip_broken;

static bool parses_again(osip_message_t *msg)
{
	char *b = NULL;
	size_t n = 0;
	osip_message_t *again = NULL;
	struct sip_err err;
	int rc;

	if (sip_msg_to_bytes(msg, &b, &n) != 0)
		return true;
	rc = sip_msg_parse(b, n, 0, &again, &err);
	osip_message_free(again);
	sip_msg_bytes_free(b);
	return rc == 0;
}

/* What the proxy would send must parse again. */
static void reparse(osip_message_t *msg, const char *what)
{
	char *b = NULL;
	size_t n = 0;
	osip_message_t *again = NULL;
	struct sip_err err;
	int rc;

	if (roundtrip_broken || sip_msg_to_bytes(msg, &b, &n) != 0)
		return; /* -EMSGSIZE, -ENOMEM: not sent */
	rc = sip_msg_parse(b, n, 0, &again, &err);
	FUZZ_CHECK(rc == 0, "%s: the proxy's own output does not parse (%d %s):\n%.*s", what,
		   err.status, err.reason ? err.reason : "?", (int)(n > 2000 ? 2000 : n), b);
	osip_message_free(again);
	sip_msg_bytes_free(b);
}

/* proxy.c's aor_of() for a proxy with the domain "example.com". */
static int aor_of(const osip_uri_t *u, char *buf, size_t len)
{
	int n;

	if (!u || !u->host || !u->username || !*u->username)
		return -EINVAL;
	n = snprintf(buf, len, "%s@%s", u->username, u->host);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	for (char *s = strchr(buf, '@'); *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	return 0;
}

static void do_register(osip_message_t *req, size_t size)
{
	static const struct reg_limits lim = {.min_expires = 60, .max_expires = 3600,
					      .default_expires = 1800, .max_contacts = 4,
					      .max_aors = 8};
	struct registrar *r;
	struct tp_addr src;
	char aor[REG_AOR_MAX];
	osip_message_t *resp = NULL;
	const char *reason = NULL;
	struct reg_contact ct[4];
	int status;

	if (!req->to || aor_of(req->to->url, aor, sizeof(aor)) < 0)
		return;
	if (sip_msg_build_response(req, 200, NULL, NULL, &resp) < 0)
		return;
	FUZZ_CHECK(r = registrar_new(&lim), "registrar_new");
	memset(&src, 0, sizeof(src));
	src.peer.sin_family = AF_INET;
	src.peer.sin_addr.s_addr = htonl(0xc0000207); /* 192.0.2.7 */
	src.peer.sin_port = htons(5062);
	src.tcp = size & 1;
	status = registrar_register(r, aor, req, &src, 1000000, resp, &reason);
	FUZZ_CHECK(status == 200 || reason, "registrar_register: %d without a reason", status);
	if (status != 200) {
		osip_message_set_status_code(resp, status);
		osip_free(resp->reason_phrase);
		resp->reason_phrase = osip_strdup(reason);
	}
	reparse(resp, "REGISTER response");
	/* the same REGISTER again, later: a refresh, or refused as old */
	osip_message_free(resp);
	resp = NULL;
	if (sip_msg_build_response(req, 200, NULL, NULL, &resp) == 0) {
		(void)registrar_register(r, aor, req, &src, 1000100, resp, &reason);
		osip_message_free(resp);
	}
	(void)registrar_lookup(r, aor, 1000200, ct, 4);
	(void)registrar_expire(r, 1005000);
	registrar_free(r);
}

static void do_request(osip_message_t *req, size_t size)
{
	static const int statuses[] = {100, 180, 200, 302, 404, 486, 500, 603};
	char key[512], loop_key[SIP_LOOP_KEY_LEN + 1], branch[SIP_BRANCH_MAX], buf[SIP_CALLID_MAX];
	static const uint8_t entropy[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
	const osip_uri_t *next = NULL;
	struct sip_target t;
	osip_message_t *resp = NULL;
	const char *sdp;
	size_t sdp_len;
	bool loop_ok;

	(void)sip_msg_top_via_fix(req, (size & 2) ? "2001:db8::7" : "192.0.2.7", 5062);
	(void)sip_msg_txn_key(req, false, key, sizeof(key));
	(void)sip_msg_txn_key(req, true, key, sizeof(key));
	(void)sip_msg_dialog_id(req, key, sizeof(key));
	(void)sip_msg_call_id(req, buf, sizeof(buf));
	loop_ok = sip_msg_loop_key(req, loop_key, sizeof(loop_key)) == 0;
	(void)sip_msg_is_looped(req, "192.0.2.1", 5060);
	(void)sip_msg_max_forwards(req);

	/* the response the proxy would answer with */
	if (!MSG_IS_ACK(req) &&
	    sip_msg_build_response(req, statuses[size % 8], NULL, (size & 8) ? "fuzztag" : NULL,
				   &resp) == 0) {
		reparse(resp, "built response");
		osip_message_free(resp);
	}
	if (MSG_IS_REGISTER(req))
		do_register(req, size);

	/* forwarding */
	if (sip_msg_route_preprocess(req, is_mine, NULL, &next) == 0 && next)
		(void)sip_msg_uri_target(next, &t);
	if (req->req_uri)
		(void)sip_msg_uri_target(req->req_uri, &t);
	if (sip_msg_decrement_max_forwards(req) < 0)
		return;
	if (sip_msg_make_branch(branch, sizeof(branch), loop_ok ? loop_key : NULL, entropy,
				sizeof(entropy)) < 0)
		return;
	if (sip_msg_add_via(req, (size & 4) ? "TCP" : "UDP", "192.0.2.1", 5060, branch) < 0)
		return;
	if (MSG_IS_INVITE(req))
		(void)sip_msg_add_record_route(req, "sip:192.0.2.1:5060;lr");
	(void)sip_msg_route_strict_fixup(req);
	if (sip_msg_get_sdp_body(req, &sdp, &sdp_len) == 0 && sdp_len > 0) {
		char *copy = malloc(sdp_len);

		FUZZ_CHECK(copy, "out of memory");
		memcpy(copy, sdp, sdp_len);
		(void)sip_msg_set_sdp_body(req, copy, sdp_len);
		free(copy);
	}
	reparse(req, "forwarded request");
}

static void do_response(osip_message_t *resp)
{
	char key[512], buf[SIP_CALLID_MAX];
	struct sip_target t;
	const char *sdp;
	size_t sdp_len;

	(void)sip_msg_via_target(resp, 0, &t);
	(void)sip_msg_response_target(resp, &t);
	(void)sip_msg_txn_key(resp, false, key, sizeof(key));
	(void)sip_msg_dialog_id(resp, key, sizeof(key));
	(void)sip_msg_call_id(resp, buf, sizeof(buf));
	(void)sip_msg_get_sdp_body(resp, &sdp, &sdp_len);
	if (sip_msg_pop_via(resp) == 0 && sip_msg_via_count(resp) > 0)
		reparse(resp, "forwarded response");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	osip_message_t *m = NULL;
	struct sip_err err;
	char *buf;
	int rc;

	fuzz_rand_reset();
	/* an exact-size copy: a read past the datagram is caught */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(&err, 0, sizeof(err));
	rc = sip_msg_parse(buf, size, 0, &m, &err);
	if (rc != 0) {
		FUZZ_CHECK(err.status >= 400 && err.status <= 699 && err.reason,
			   "sip_msg_parse: %d with status %d", rc, err.status);
		if (m) { /* a request the proxy answers with the error */
			osip_message_t *resp = NULL;

			FUZZ_CHECK(MSG_IS_REQUEST(m) && !MSG_IS_ACK(m),
				   "sip_msg_parse kept a message it must not");
			/* it echoes the request's headers, the faulty one too: it
			 * is serialised, but need not parse again */
			if (sip_msg_build_response(m, err.status, err.reason, NULL, &resp) == 0) {
				char *b = NULL;
				size_t n = 0;

				if (sip_msg_to_bytes(resp, &b, &n) == 0)
					sip_msg_bytes_free(b);
				osip_message_free(resp);
			}
		}
	} else if ((roundtrip_broken = !parses_again(m), MSG_IS_REQUEST(m))) {
		do_request(m, size);
	} else {
		do_response(m);
	}
	osip_message_free(m);
	free(buf);
	return 0;
}
