/* Tests of the asynchronous client against the scripted server: many
 * requests in flight answered out of order, requests issued before the
 * handshake ends, timeouts with a late reply (and the RELEASE it earns),
 * connection loss, garbage, undecodable replies, cancel and close (also
 * from inside callbacks), TCP authentication both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include <libcontrol/client.h>

#include "fake_server.h"

#define SECRET "correct horse battery staple"
#define T_MS 5000
#define MAXQ 256

enum mode {
	M_DEFAULT,
	M_REVERSE,    /* hold n BINDs, then answer them last first */
	M_HOLD_ALL,   /* never answer a BIND */
	M_HOLD_FIRST, /* answer the first BIND late, before the next request's answer */
	M_CLOSE_AT_N, /* hang up when the n-th BIND arrives */
	M_GARBAGE,    /* unframeable bytes in answer to a BIND */
	M_UNDECODABLE_FIRST, /* the first BIND's answer does not decode */
};

struct script {
	enum mode mode;
	unsigned n, seen;
	uint32_t reqids[MAXQ];
	struct nc_bind binds[MAXQ];
	uint32_t releases[8];
	unsigned nreleases;
};

static void reply_bind(struct fs_conn *c, uint32_t reqid, const struct nc_bind *b, uint32_t id)
{
	struct nc_bind_r r;

	fs_bind_r(b, id, &r);
	fs_send(c, NC_MSG_BIND_R, reqid, &r);
}

static enum fs_action handler(struct fs_conn *c, const struct nc_msg *q, void *arg)
{
	struct script *s = arg;
	unsigned i;

	if (q->type == NC_MSG_RELEASE && s->nreleases < 8)
		__atomic_store_n(&s->releases[s->nreleases++], q->u.release.id, __ATOMIC_SEQ_CST);
	if (s->mode == M_HOLD_FIRST && q->type != NC_MSG_BIND && s->seen == 1) {
		reply_bind(c, s->reqids[0], &s->binds[0], 77);
		s->seen++;
	}
	if (q->type != NC_MSG_BIND)
		return FS_DEFAULT;
	switch (s->mode) {
	case M_REVERSE:
		s->reqids[s->seen] = q->reqid;
		s->binds[s->seen++] = q->u.bind;
		if (s->seen == s->n)
			for (i = s->n; i-- > 0;)
				reply_bind(c, s->reqids[i], &s->binds[i], s->binds[i].spec.ep.port);
		return FS_HANDLED;
	case M_HOLD_ALL:
		return FS_HANDLED;
	case M_HOLD_FIRST:
		if (s->seen > 0)
			return FS_DEFAULT;
		s->reqids[0] = q->reqid;
		s->binds[0] = q->u.bind;
		s->seen = 1;
		return FS_HANDLED;
	case M_CLOSE_AT_N:
		return ++s->seen == s->n ? FS_CLOSE : FS_HANDLED;
	case M_GARBAGE:
		fs_send_raw(c, "GARBAGE GARBAGE GARBAGE", 23);
		return FS_HANDLED;
	case M_UNDECODABLE_FIRST:
		if (s->seen++ == 0) {
			uint8_t m[20] = {0x4e, 0x43, 1, 0, 0x80, 0x04, 0, 0, 0, 0, 0, 20};

			m[12] = (uint8_t)(q->reqid >> 24);
			m[13] = (uint8_t)(q->reqid >> 16);
			m[14] = (uint8_t)(q->reqid >> 8);
			m[15] = (uint8_t)q->reqid;
			m[16] = 0x80, m[17] = 0x01, m[18] = 0, m[19] = 2;
			fs_send_raw(c, m, sizeof(m));
			return FS_HANDLED;
		}
		return FS_DEFAULT;
	default:
		return FS_DEFAULT;
	}
}

/* ---- the client side: a log of every callback ---- */

enum { EV_CONN = 1, EV_BIND, EV_REFRESH, EV_RELEASE };

struct entry {
	int what, err;
	uint32_t id;   /* BIND_R's binding id */
	uint16_t code; /* status */
	int tag;       /* the request's tag */
};

struct t {
	struct event_base *base;
	struct event *tick;
	struct nc_async *ac;
	struct entry log[MAXQ + 8];
	unsigned n;
	int close_in_bind_tag; /* close the handle from the callback of this tag */
	bool close_in_conn;
};

static struct t T;

struct req {
	struct t *t;
	int tag;
};

static struct req reqs[MAXQ];

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void t_init(void)
{
	struct timeval tv = {0, 10000};

	memset(&T, 0, sizeof(T));
	T.close_in_bind_tag = -1;
	T.base = event_base_new();
	assert_non_null(T.base);
	/* EVLOOP_ONCE returns at least every 10 ms. */
	T.tick = event_new(T.base, -1, EV_PERSIST, on_tick, NULL);
	event_add(T.tick, &tv);
}

static void t_done(void)
{
	nc_async_close(T.ac);
	event_free(T.tick);
	event_base_free(T.base);
}

static void log_add(int what, int err, uint32_t id, uint16_t code, int tag)
{
	assert_true(T.n < sizeof(T.log) / sizeof(T.log[0]));
	T.log[T.n++] = (struct entry){what, err, id, code, tag};
}

/* Run the loop until the log has n entries (5 s at most). */
static void run_until(unsigned n)
{
	time_t end = time(NULL) + 5;

	while (T.n < n) {
		assert_true(time(NULL) <= end);
		event_base_loop(T.base, EVLOOP_ONCE);
	}
}

static void run_for(int ms)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		event_base_loop(T.base, EVLOOP_ONCE);
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

static void on_conn(void *arg, int err)
{
	struct t *t = arg;

	log_add(EV_CONN, err, 0, 0, 0);
	if (t->close_in_conn) {
		nc_async_close(t->ac);
		t->ac = NULL;
	}
}

static void on_bind(void *arg, int err, const struct nc_bind_r *r)
{
	struct req *q = arg;

	assert_true(err == 0 ? r != NULL : r == NULL);
	log_add(EV_BIND, err, r ? r->id : 0, r ? r->st.code : 0, q->tag);
	if (q->tag == q->t->close_in_bind_tag) {
		nc_async_close(q->t->ac);
		q->t->ac = NULL;
	}
}

static void on_refresh(void *arg, int err, const struct nc_refresh_r *r)
{
	struct req *q = arg;

	log_add(EV_REFRESH, err, r ? r->lifetime : 0, r ? r->st.code : 0, q->tag);
}

static void on_release(void *arg, int err, const struct nc_status *r)
{
	struct req *q = arg;

	log_add(EV_RELEASE, err, 0, r ? r->code : 0, q->tag);
}

static void make_bind(struct nc_bind *b, uint16_t port)
{
	memset(b, 0, sizeof(*b));
	b->spec.dir = NC_DIR_TERM;
	b->spec.proto = NC_PROTO_UDP;
	strcpy(b->spec.in_realm, "inside");
	strcpy(b->spec.ext_realm, "outside");
	b->spec.ep.ip.af = NC_AF_IP4;
	inet_pton(AF_INET, "10.1.0.10", b->spec.ep.ip.a);
	b->spec.ep.port = port;
}

static int bind_tag(int tag, unsigned timeout_ms)
{
	struct nc_bind b;

	make_bind(&b, (uint16_t)(1000 + tag));
	reqs[tag] = (struct req){&T, tag};
	return nc_async_bind(T.ac, &b, timeout_ms, on_bind, &reqs[tag]);
}

static struct fs *start(struct script *s, enum mode mode, unsigned n)
{
	struct fs_opts o = {.handler = handler, .arg = s};

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	s->n = n;
	return fs_start(&o);
}

static void open_unix(struct fs *srv)
{
	assert_int_equal(nc_async_open_unix(T.base, fs_path(srv), "test_async", on_conn, &T, &T.ac),
			 0);
}

/* ---- tests ---- */

static void test_out_of_order(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_REVERSE, 5);
	int i, id;
	(void)state;

	t_init();
	open_unix(srv);
	assert_int_equal(nc_async_epoch(T.ac), 0);
	/* Issued before the handshake is done: they wait for it. */
	for (i = 0; i < 5; i++) {
		id = bind_tag(i, T_MS);
		assert_true(id > 0);
	}
	assert_int_equal(nc_async_pending(T.ac), 5);
	run_until(6);
	assert_int_equal(T.log[0].what, EV_CONN);
	assert_int_equal(T.log[0].err, 0);
	for (i = 0; i < 5; i++) {
		struct entry *e = &T.log[1 + i];

		/* Answered last first, each to its own request. */
		assert_int_equal(e->what, EV_BIND);
		assert_int_equal(e->err, 0);
		assert_int_equal(e->code, NC_ST_OK);
		assert_int_equal(e->tag, 4 - i);
		assert_int_equal(e->id, 1000 + e->tag);
	}
	assert_int_equal(nc_async_pending(T.ac), 0);
	assert_int_equal(nc_async_epoch(T.ac), FS_EPOCH);
	t_done();
	fs_stop(srv);
}

static void test_many_in_flight(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_REVERSE, 200);
	int i;
	(void)state;

	t_init();
	open_unix(srv);
	run_until(1);
	for (i = 0; i < 200; i++)
		assert_true(bind_tag(i, T_MS) > 0);
	run_until(201);
	for (i = 0; i < 200; i++) {
		assert_int_equal(T.log[1 + i].err, 0);
		assert_int_equal(T.log[1 + i].id, 1000 + T.log[1 + i].tag);
	}
	t_done();
	fs_stop(srv);
}

static void test_refresh_release(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_DEFAULT, 0);
	struct nc_refresh rq = {.epoch = FS_EPOCH, .id = 9, .lifetime = 33};
	struct nc_release rl = {.epoch = FS_EPOCH, .id = 9};
	(void)state;

	t_init();
	open_unix(srv);
	reqs[0] = (struct req){&T, 0};
	reqs[1] = (struct req){&T, 1};
	assert_true(nc_async_refresh(T.ac, &rq, T_MS, on_refresh, &reqs[0]) > 0);
	assert_true(nc_async_release(T.ac, &rl, T_MS, on_release, &reqs[1]) > 0);
	/* Refused by the encoder: never sent, no callback. */
	rl.epoch = 0;
	assert_int_equal(nc_async_release(T.ac, &rl, T_MS, on_release, &reqs[1]), NC_E_MISSING);
	assert_int_equal(nc_async_release(T.ac, NULL, T_MS, on_release, &reqs[1]), NC_E_INVAL);
	assert_int_equal(nc_async_release(T.ac, &rl, T_MS, NULL, NULL), NC_E_INVAL);
	run_until(3);
	assert_int_equal(T.log[1].what, EV_REFRESH);
	assert_int_equal(T.log[1].err, 0);
	assert_int_equal(T.log[1].id, 33);
	assert_int_equal(T.log[2].what, EV_RELEASE);
	assert_int_equal(T.log[2].code, NC_ST_OK);
	assert_int_equal(s.releases[0], 9);
	t_done();
	fs_stop(srv);
}

static void test_timeout_late_reply_released(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_HOLD_FIRST, 0);
	struct nc_refresh rq = {.epoch = FS_EPOCH, .id = 3};
	struct nc_release rl = {.epoch = FS_EPOCH, .id = 5};
	(void)state;

	t_init();
	open_unix(srv);
	run_until(1);
	assert_true(bind_tag(0, 50) > 0);
	run_until(2);
	assert_int_equal(T.log[1].what, EV_BIND);
	assert_int_equal(T.log[1].err, -ETIMEDOUT);
	assert_int_equal(nc_async_pending(T.ac), 0);
	/* The server answers the BIND (binding 77) just before this REFRESH:
	 * nobody waits for it, so the client releases binding 77. */
	reqs[1] = (struct req){&T, 1};
	assert_true(nc_async_refresh(T.ac, &rq, T_MS, on_refresh, &reqs[1]) > 0);
	run_until(3);
	assert_int_equal(T.log[2].what, EV_REFRESH);
	assert_int_equal(T.log[2].err, 0);
	reqs[2] = (struct req){&T, 2};
	assert_true(nc_async_release(T.ac, &rl, T_MS, on_release, &reqs[2]) > 0);
	run_until(4);
	assert_int_equal(s.nreleases, 2);
	assert_int_equal(s.releases[0], 77);
	assert_int_equal(s.releases[1], 5);
	assert_int_equal(T.n, 4); /* no callback for the late reply */
	t_done();
	fs_stop(srv);
}

static void test_connection_loss(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_CLOSE_AT_N, 3);
	int i;
	(void)state;

	t_init();
	open_unix(srv);
	for (i = 0; i < 3; i++)
		assert_true(bind_tag(i, T_MS) > 0);
	run_until(5);
	assert_int_equal(T.log[0].what, EV_CONN);
	assert_int_equal(T.log[0].err, 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(T.log[1 + i].what, EV_BIND);
		assert_int_equal(T.log[1 + i].tag, i); /* in submission order */
		assert_int_equal(T.log[1 + i].err, -ECONNRESET);
	}
	assert_int_equal(T.log[4].what, EV_CONN);
	assert_int_equal(T.log[4].err, -ECONNRESET);
	assert_int_equal(bind_tag(5, T_MS), -ENOTCONN);
	run_for(30);
	assert_int_equal(T.n, 5);
	t_done();
	fs_stop(srv);
}

static void test_garbage(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_GARBAGE, 0);
	(void)state;

	t_init();
	open_unix(srv);
	assert_true(bind_tag(0, T_MS) > 0);
	run_until(3);
	assert_int_equal(T.log[1].what, EV_BIND);
	assert_int_equal(T.log[1].err, -ECONNRESET);
	assert_int_equal(T.log[2].what, EV_CONN);
	assert_int_equal(T.log[2].err, NC_E_MAGIC);
	t_done();
	fs_stop(srv);
}

static void test_undecodable_reply(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_UNDECODABLE_FIRST, 0);
	(void)state;

	t_init();
	open_unix(srv);
	assert_true(bind_tag(0, T_MS) > 0);
	assert_true(bind_tag(1, T_MS) > 0);
	run_until(3);
	assert_int_equal(T.log[1].tag, 0);
	assert_int_equal(T.log[1].err, NC_E_TRUNCATED);
	assert_int_equal(T.log[2].tag, 1);
	assert_int_equal(T.log[2].err, 0);
	assert_int_equal(T.log[2].code, NC_ST_OK);
	t_done();
	fs_stop(srv);
}

static void test_close_cancels(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_HOLD_ALL, 0);
	int i;
	(void)state;

	t_init();
	open_unix(srv);
	run_until(1);
	for (i = 0; i < 3; i++)
		assert_true(bind_tag(i, 0) > 0);
	run_for(30);
	assert_int_equal(T.n, 1);
	nc_async_close(T.ac);
	T.ac = NULL;
	/* Called before nc_async_close() returned, in order; no conn callback. */
	assert_int_equal(T.n, 4);
	for (i = 0; i < 3; i++) {
		assert_int_equal(T.log[1 + i].tag, i);
		assert_int_equal(T.log[1 + i].err, -ECANCELED);
	}
	run_for(30);
	assert_int_equal(T.n, 4);
	t_done();
	fs_stop(srv);
}

static void test_cancel_one(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_HOLD_ALL, 0);
	int a, b;
	(void)state;

	t_init();
	open_unix(srv);
	run_until(1);
	a = bind_tag(0, 0);
	b = bind_tag(1, 0);
	assert_true(a > 0 && b > 0 && a != b);
	assert_int_equal(nc_async_cancel(T.ac, a), 0);
	assert_int_equal(T.n, 2);
	assert_int_equal(T.log[1].tag, 0);
	assert_int_equal(T.log[1].err, -ECANCELED);
	assert_int_equal(nc_async_cancel(T.ac, a), -ENOENT);
	assert_int_equal(nc_async_cancel(T.ac, 999999), -ENOENT);
	assert_int_equal(nc_async_pending(T.ac), 1);
	t_done();
	assert_int_equal(T.log[2].tag, 1);
	assert_int_equal(T.log[2].err, -ECANCELED);
	fs_stop(srv);
}

static void test_close_inside_callbacks(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_REVERSE, 3);
	int i;
	(void)state;

	/* Closed from the first answer's callback: the two others, whose
	 * answers are already read, are cancelled, not answered. */
	t_init();
	open_unix(srv);
	for (i = 0; i < 3; i++)
		assert_true(bind_tag(i, T_MS) > 0);
	T.close_in_bind_tag = 2; /* the first answered */
	run_until(4);
	assert_int_equal(T.log[1].tag, 2);
	assert_int_equal(T.log[1].err, 0);
	assert_int_equal(T.log[2].err, -ECANCELED);
	assert_int_equal(T.log[3].err, -ECANCELED);
	assert_null(T.ac);
	run_for(30);
	assert_int_equal(T.n, 4);
	t_done();
	fs_stop(srv);

	/* Closed from the connection callback, with requests waiting. */
	srv = start(&s, M_DEFAULT, 0);
	t_init();
	T.close_in_conn = true;
	open_unix(srv);
	assert_true(bind_tag(0, T_MS) > 0);
	run_until(2);
	assert_int_equal(T.log[0].what, EV_CONN);
	assert_int_equal(T.log[1].err, -ECANCELED);
	run_for(30);
	assert_int_equal(T.n, 2);
	t_done();
	fs_stop(srv);
}

static void tcp_case(const char *srv_secret, bool bad_mac, const char *cl_secret, int want)
{
	struct fs_opts o = {.tcp = true, .secret = srv_secret, .bad_server_mac = bad_mac};
	struct fs *srv = fs_start(&o);

	t_init();
	assert_int_equal(nc_async_open_tcp(T.base, "127.0.0.1", fs_port(srv), "test_async",
					   cl_secret, cl_secret ? strlen(cl_secret) : 0, on_conn,
					   &T, &T.ac),
			 0);
	assert_true(bind_tag(0, T_MS) > 0);
	run_until(2);
	if (want == 0) {
		assert_int_equal(T.log[0].what, EV_CONN);
		assert_int_equal(T.log[0].err, 0);
		assert_int_equal(T.log[1].what, EV_BIND);
		assert_int_equal(T.log[1].err, 0);
		assert_int_equal(T.log[1].code, NC_ST_OK);
	} else {
		/* The waiting request first, then the cause. */
		assert_int_equal(T.log[0].what, EV_BIND);
		assert_int_equal(T.log[0].err, -ECONNRESET);
		assert_int_equal(T.log[1].what, EV_CONN);
		assert_int_equal(T.log[1].err, want);
		assert_int_equal(fs_count(srv, NC_MSG_BIND), 0);
	}
	t_done();
	fs_stop(srv);
}

static void test_tcp_auth(void **state)
{
	(void)state;
	tcp_case(SECRET, false, SECRET, 0);
	tcp_case(NULL, false, NULL, 0);
	tcp_case(SECRET, false, "wrong secret", -EACCES);
	tcp_case(SECRET, true, SECRET, -EACCES);
	tcp_case(SECRET, false, NULL, -EACCES);
	tcp_case(NULL, false, SECRET, -EACCES);
}

static void test_open_errors(void **state)
{
	struct fs_opts o = {.hello_status = NC_ST_NOT_AUTHORIZED};
	struct fs *srv;
	struct nc_async *ac = NULL;
	(void)state;

	t_init();
	assert_int_equal(nc_async_open_unix(T.base, "/nonexistent/natd.sock", NULL, on_conn, &T, &ac),
			 -ENOENT);
	assert_int_equal(nc_async_open_tcp(T.base, "localhost", 1, NULL, NULL, 0, on_conn, &T, &ac),
			 NC_E_INVAL);
	assert_int_equal(nc_async_open_unix(NULL, "/x", NULL, on_conn, &T, &ac), NC_E_INVAL);
	assert_null(ac);
	run_for(20);
	assert_int_equal(T.n, 0);
	t_done();

	/* natd refuses HELLO. */
	srv = fs_start(&o);
	t_init();
	open_unix(srv);
	run_until(1);
	assert_int_equal(T.log[0].what, EV_CONN);
	assert_int_equal(T.log[0].err, -EACCES);
	assert_int_equal(bind_tag(0, T_MS), -ENOTCONN);
	t_done();
	fs_stop(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_many_in_flight),
		cmocka_unit_test(test_refresh_release),
		cmocka_unit_test(test_timeout_late_reply_released),
		cmocka_unit_test(test_connection_loss),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_undecodable_reply),
		cmocka_unit_test(test_close_cancels),
		cmocka_unit_test(test_cancel_one),
		cmocka_unit_test(test_close_inside_callbacks),
		cmocka_unit_test(test_tcp_auth),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
