/* Unit tests for txn.c: the lean records of finished transactions.
 *
 * tp_send() is wrapped (-Wl,--wrap=tp_send): every datagram the layer
 * sends is recorded, nothing reaches a socket. Timers run on a real
 * libevent base with short RFC 3261 timers (T1 10 ms, T4 20 ms).
 *
 * Covered: a non-INVITE answered 200 drops its parsed request at the end
 * of the loop pass, and a retransmitted request gets the stored response
 * byte for byte, to the same place; an INVITE answered 486 resends the
 * same bytes on a retransmission and on Timer G, an ACK confirms it and
 * sends nothing, Timer I frees it; an INVITE answered 2xx (RFC 6026
 * Accepted) keeps no response and absorbs retransmissions silently; Timer
 * J frees the non-INVITE; a transaction with a branch still waiting keeps
 * its request; and the memory a finished transaction holds in its waiting
 * state, measured with mallinfo2() over many of them, is under 1 kB
 * (printed, for tests/bench/README.md). The tables grow: 10000 server and
 * 10000 client transactions (past the first doubling of 4096 buckets) are each
 * found by their key or matched by their response, a key or branch not
 * made is not, and every one is freed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../sip/sip_msg.h"
#include "../sp_conf.h"
#include "../transport.h"
#include "../txn.h"

/* ---- the wrapped transport ---- */

static unsigned nsent;
static char last[8192];
static size_t last_len;
static struct tp_addr last_to;

int __wrap_tp_send(struct transport *tp, const struct tp_addr *dst, const char *buf, size_t len);
int __wrap_tp_send(struct transport *tp, const struct tp_addr *dst, const char *buf, size_t len)
{
	(void)tp;
	nsent++;
	last_len = len < sizeof(last) ? len : sizeof(last);
	memcpy(last, buf, last_len);
	last_to = *dst;
	return 0;
}

/* ---- fixtures ---- */

static struct sp_conf conf;
static struct event_base *base;
static struct txn_layer *tl;

static const char sdp[] =
	"v=0\r\n"
	"o=alice 2890844526 2890844526 IN IP4 203.0.113.10\r\n"
	"s=-\r\n"
	"c=IN IP4 203.0.113.10\r\n"
	"t=0 0\r\n"
	"m=audio 49170 RTP/AVP 0 8 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-15\r\n"
	"a=sendrecv\r\n";

/* A request as a phone sends it, branch and Call-ID numbered n. */
static sip_msg_t *request(const char *method, unsigned n, bool body)
{
	char buf[4096];
	sip_msg_t *m = NULL;
	struct sip_err err;
	int len;

	len = snprintf(buf, sizeof(buf),
		       "%s sip:bob@10.1.0.10:5070 SIP/2.0\r\n"
		       "Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK-%u-%s;rport=5060;received=203.0.113.10\r\n"
		       "Max-Forwards: 70\r\n"
		       "From: \"Alice\" <sip:alice@edge.test>;tag=a%u\r\n"
		       "To: <sip:bob@edge.test>\r\n"
		       "Call-ID: call-%u@203.0.113.10\r\n"
		       "CSeq: 2 %s\r\n"
		       "Contact: <sip:alice@203.0.113.10:5060>\r\n"
		       "User-Agent: test_txn\r\n"
		       "%s"
		       "Content-Length: %zu\r\n\r\n%s",
		       method, n, method, n, n, method, body ? "Content-Type: application/sdp\r\n" : "",
		       body ? strlen(sdp) : (size_t)0, body ? sdp : "");
	assert_true(len > 0 && (size_t)len < sizeof(buf));
	assert_int_equal(sip_msg_parse(buf, (size_t)len, 65535, &m, &err), 0);
	return m;
}

/* A response to req, with a To tag (no body). */
static sip_msg_t *response(const sip_msg_t *req, int status)
{
	sip_msg_t *r = NULL;

	assert_int_equal(sip_msg_build_response(req, status, NULL, "b1", &r), 0);
	return r;
}

static struct tp_addr phone(void)
{
	struct tp_addr a;

	memset(&a, 0, sizeof(a));
	a.peer.sin_family = AF_INET;
	a.peer.sin_port = htons(5060);
	inet_pton(AF_INET, "203.0.113.10", &a.peer.sin_addr);
	return a;
}

static struct txn_srv *new_srv(const char *method, unsigned n, bool body)
{
	sip_msg_t *req = request(method, n, body);
	struct tp_addr from = phone();
	char key[TXN_KEY_MAX];
	struct txn_srv *st;

	assert_int_equal(sip_msg_txn_key(req, false, key, sizeof(key)), 0);
	assert_non_null(st = txn_srv_new(tl, key, req, &from));
	return st;
}

/* One pass of the loop: what a real pass ends with (lean_ev) runs. */
static void pass(void)
{
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static unsigned srv_open(void)
{
	struct txn_stats s;

	txn_get_stats(tl, &s);
	return s.srv_open;
}

/* Run the loop until no server transaction is left (at most 5 s). */
static void run_until_empty(void)
{
	struct timeval tick = {0, 5000};

	for (int i = 0; i < 1000 && srv_open() > 0; i++) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
}

static int setup(void **state)
{
	struct txn_hooks hooks = {0};

	(void)state;
	memset(&conf, 0, sizeof(conf));
	conf.t1_ms = 10;
	conf.t2_ms = 40;
	conf.t4_ms = 20;
	conf.timer_c = 180;
	conf.max_transactions = 100000;
	assert_non_null(base = event_base_new());
	assert_non_null(tl = txn_layer_new(base, NULL, &conf, &hooks));
	nsent = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	txn_layer_free(tl);
	event_base_free(base);
	return 0;
}

/* ---- tests ---- */

static void test_non_invite_retransmission_byte_for_byte(void **state)
{
	struct txn_srv *st = new_srv("BYE", 1, false);
	char first[8192];
	size_t first_len;
	struct tp_addr first_to;

	(void)state;
	assert_false(txn_srv_is_lean(st));
	assert_int_equal(txn_srv_reply(tl, st, 200, NULL), 0);
	assert_int_equal(nsent, 1);
	memcpy(first, last, last_len);
	first_len = last_len;
	first_to = last_to;
	assert_int_equal(st->state, TS_COMPLETED);
	assert_false(txn_srv_is_lean(st)); /* not before the end of the pass */
	pass();
	assert_true(txn_srv_is_lean(st));
	assert_null(st->req);
	/* a retransmitted BYE: the same bytes, to the same place */
	txn_srv_retransmission(tl, st);
	assert_int_equal(nsent, 2);
	assert_int_equal(last_len, first_len);
	assert_memory_equal(last, first, first_len);
	assert_memory_equal(&last_to.peer, &first_to.peer, sizeof(first_to.peer));
	assert_non_null(strstr(first, "SIP/2.0 200"));
	/* a reply now is refused, nothing sent */
	assert_int_equal(txn_srv_reply(tl, st, 500, NULL), -EINVAL);
	assert_int_equal(nsent, 2);
	/* Timer J (64*T1) frees it */
	run_until_empty();
	assert_int_equal(srv_open(), 0);
}

static void test_invite_non2xx_ack_and_timer_i(void **state)
{
	struct txn_srv *st = new_srv("INVITE", 2, true);
	char first[8192];
	size_t first_len;
	unsigned sent;

	(void)state;
	assert_true(st->initial && st->forms_dialog);
	assert_int_equal(txn_srv_reply(tl, st, 486, NULL), 0);
	memcpy(first, last, last_len);
	first_len = last_len;
	pass();
	assert_true(txn_srv_is_lean(st));
	/* the retransmitted INVITE gets the 486 again, byte for byte */
	txn_srv_retransmission(tl, st);
	assert_int_equal(last_len, first_len);
	assert_memory_equal(last, first, first_len);
	/* Timer G (T1) sends it again too, from the lean record */
	sent = nsent;
	for (int i = 0; i < 200 && nsent == sent; i++) {
		struct timeval tick = {0, 2000};
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	assert_true(nsent > sent);
	assert_int_equal(last_len, first_len);
	assert_memory_equal(last, first, first_len);
	/* the ACK for the non-2xx is absorbed: confirmed, nothing sent */
	sent = nsent;
	txn_srv_ack(tl, st);
	assert_int_equal(st->state, TS_CONFIRMED);
	assert_int_equal(nsent, sent);
	/* Timer I (T4) frees it; no G retransmission after the ACK */
	run_until_empty();
	assert_int_equal(srv_open(), 0);
	assert_int_equal(nsent, sent);
}

static void test_invite_2xx_accepted(void **state)
{
	struct txn_srv *st = new_srv("INVITE", 3, true);
	sip_msg_t *r = response(st->req, 200);
	unsigned sent;

	(void)state;
	assert_int_equal(txn_srv_respond(tl, st, r), 0);
	assert_int_equal(nsent, 1);
	assert_int_equal(st->state, TS_ACCEPTED);
	pass();
	assert_true(txn_srv_is_lean(st));
	assert_null(st->resp); /* the callee retransmits its 2xx, not us */
	sent = nsent;
	txn_srv_retransmission(tl, st); /* absorbed (RFC 6026) */
	assert_int_equal(nsent, sent);
	assert_true(st->initial); /* the flags outlive the request */
	run_until_empty();
	assert_int_equal(srv_open(), 0);
}

static void test_branch_waiting_keeps_request(void **state)
{
	struct txn_srv *st = new_srv("INVITE", 4, true);
	sip_msg_t *fwd = request("INVITE", 4, true);
	struct tp_addr to = phone();
	struct txn_cli *ct;

	(void)state;
	ct = txn_cli_send(tl, &to, fwd, "z9hG4bK-ours-4", st, 0);
	assert_non_null(ct);
	st->branch[st->nbranches++] = ct;
	/* a final upstream while the branch has none (e.g. a CANCEL's 487) */
	assert_int_equal(txn_srv_reply(tl, st, 487, NULL), 0);
	pass();
	assert_false(txn_srv_is_lean(st)); /* the branch may still need it */
	txn_srv_destroy(tl, st);
	assert_int_equal(srv_open(), 0);
}

/* Memory per finished transaction in its waiting state: N of them made,
 * answered and made lean; the heap grows by less than 1 kB each. */
static void measure(const char *method, int status, bool body, unsigned n0, const char *what)
{
	const unsigned N = 4000;
	struct mallinfo2 a, b;
	double per;

	malloc_trim(0);
	a = mallinfo2();
	for (unsigned i = 0; i < N; i++) {
		struct txn_srv *st = new_srv(method, n0 + i, body);
		if (status < 300 && !strcmp(method, "INVITE"))
			assert_int_equal(txn_srv_respond(tl, st, response(st->req, status)), 0);
		else
			assert_int_equal(txn_srv_reply(tl, st, status, NULL), 0);
		pass();
		assert_true(txn_srv_is_lean(st));
	}
	b = mallinfo2();
	per = ((double)b.uordblks - (double)a.uordblks) / N;
	print_message("waiting state, %s: %.0f bytes per transaction (mallinfo2 over %u)\n", what, per, N);
	assert_true(per > 0 && per < 1024);
	assert_int_equal(srv_open(), N);
}

static void test_memory_bye(void **state)
{
	(void)state;
	measure("BYE", 200, false, 100000, "BYE answered 200 (Timer J)");
}

static void test_memory_invite_2xx(void **state)
{
	(void)state;
	measure("INVITE", 200, true, 200000, "INVITE with SDP answered 200 (Accepted)");
}

static void test_memory_invite_486(void **state)
{
	(void)state;
	measure("INVITE", 486, true, 300000, "INVITE with SDP answered 486 (Timers G/H)");
}

/* Both tables past their first doubling: every entry still found. */
static void test_growth(void **state)
{
	const unsigned N = 10000;
	struct tp_addr to = phone();
	char key[TXN_KEY_MAX], branch[64];

	(void)state;
	for (unsigned i = 0; i < N; i++) {
		new_srv("OPTIONS", 500000 + i, false);
		snprintf(branch, sizeof(branch), "z9hG4bK-%u-INVITE", 600000 + i);
		assert_non_null(txn_cli_send(tl, &to, request("INVITE", 600000 + i, false), branch,
					     NULL, 0));
	}
	assert_int_equal(srv_open(), N);
	for (unsigned i = 0; i < N + 2; i++) {
		sip_msg_t *req = request("OPTIONS", 500000 + i, false), *inv, *r;
		struct txn_srv *st;
		struct txn_cli *ct;

		assert_int_equal(sip_msg_txn_key(req, false, key, sizeof(key)), 0);
		st = txn_srv_find(tl, key);
		inv = request("INVITE", 600000 + i, false);
		r = response(inv, 180);
		ct = txn_cli_match(tl, r);
		if (i < N) {
			assert_non_null(st);
			assert_string_equal(st->key, key);
			assert_non_null(ct);
			snprintf(branch, sizeof(branch), "z9hG4bK-%u-INVITE", 600000 + i);
			assert_string_equal(ct->branch, branch);
		} else { /* never made */
			assert_null(st);
			assert_null(ct);
		}
		sip_msg_free(r);
		sip_msg_free(inv);
		sip_msg_free(req);
	}
	/* destroyed one by one (each unlinked from its grown bucket) */
	for (unsigned i = 0; i < N; i += 2) {
		sip_msg_t *req = request("OPTIONS", 500000 + i, false);
		struct txn_srv *st;

		assert_int_equal(sip_msg_txn_key(req, false, key, sizeof(key)), 0);
		assert_non_null(st = txn_srv_find(tl, key));
		txn_srv_destroy(tl, st);
		assert_null(txn_srv_find(tl, key));
		sip_msg_free(req);
	}
	assert_int_equal(srv_open(), N / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_non_invite_retransmission_byte_for_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_non2xx_ack_and_timer_i, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invite_2xx_accepted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_branch_waiting_keeps_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_bye, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_invite_2xx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_invite_486, setup, teardown),
		cmocka_unit_test_setup_teardown(test_growth, setup, teardown),
	};

	if (sip_msg_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
