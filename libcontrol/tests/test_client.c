/* Tests of the blocking client against the scripted server: every request
 * type, refusals, timeouts with a late reply (and the RELEASE it earns),
 * connection loss, garbage (unframeable and undecodable), replies of the
 * wrong type, HELLO refused, TCP authentication both ways, and secret
 * files. */
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
#include <unistd.h>

#include <libcontrol/client.h>

#include "fake_server.h"

#define SECRET "correct horse battery staple"
#define T_MS 5000

enum mode {
	M_DEFAULT,
	M_EXHAUSTED,     /* BIND refused */
	M_ERROR,         /* BIND answered with ERROR */
	M_HOLD_BIND,     /* first BIND unanswered; answered late at the next request */
	M_CLOSE_ON_BIND, /* hang up on BIND */
	M_GARBAGE,       /* bytes that cannot be framed */
	M_UNDECODABLE,   /* a framed reply that does not decode */
	M_WRONG_TYPE,    /* BIND answered with RELEASE_R */
	M_ERROR_ID0,     /* ERROR with request id 0 */
	M_SILENT_WATCH,  /* WATCH_R and then nothing */
};

struct script {
	enum mode mode;
	bool holding;
	uint32_t held_reqid;
	struct nc_bind held;
};

static enum fs_action handler(struct fs_conn *c, const struct nc_msg *q, void *arg)
{
	struct script *s = arg;
	struct nc_bind_r br;
	struct nc_status st;

	if (s->holding && q->type != NC_MSG_BIND) {
		/* The late answer comes first, then this request's. */
		fs_bind_r(&s->held, 77, &br);
		fs_send(c, NC_MSG_BIND_R, s->held_reqid, &br);
		s->holding = false;
	}
	memset(&st, 0, sizeof(st));
	st.epoch = FS_EPOCH;
	switch (s->mode) {
	case M_EXHAUSTED:
		if (q->type != NC_MSG_BIND)
			break;
		st.code = NC_ST_EXHAUSTED;
		strcpy(st.reason, "no port left");
		memset(&br, 0, sizeof(br));
		br.st = st;
		fs_send(c, NC_MSG_BIND_R, q->reqid, &br);
		return FS_HANDLED;
	case M_ERROR:
		if (q->type != NC_MSG_BIND)
			break;
		st.code = NC_ST_UNSUPPORTED;
		strcpy(st.reason, "what is that");
		fs_send(c, NC_MSG_ERROR, q->reqid, &st);
		return FS_HANDLED;
	case M_HOLD_BIND:
		if (q->type != NC_MSG_BIND || s->held_reqid)
			break;
		s->holding = true;
		s->held_reqid = q->reqid;
		s->held = q->u.bind;
		return FS_HANDLED;
	case M_CLOSE_ON_BIND:
		return q->type == NC_MSG_BIND ? FS_CLOSE : FS_DEFAULT;
	case M_GARBAGE:
		if (q->type != NC_MSG_BIND)
			break;
		fs_send_raw(c, "GARBAGE GARBAGE GARBAGE", 23);
		return FS_HANDLED;
	case M_UNDECODABLE:
		if (q->type == NC_MSG_BIND) {
			/* A BIND_R header with the right id and a TLV that runs
			 * past the end of the message. */
			uint8_t m[20] = {0x4e, 0x43, 1, 0, 0x80, 0x04, 0, 0, 0, 0, 0, 20};

			m[12] = (uint8_t)(q->reqid >> 24);
			m[13] = (uint8_t)(q->reqid >> 16);
			m[14] = (uint8_t)(q->reqid >> 8);
			m[15] = (uint8_t)q->reqid;
			m[16] = 0x80, m[17] = 0x01, m[18] = 0, m[19] = 2;
			fs_send_raw(c, m, sizeof(m));
			return FS_HANDLED;
		}
		break;
	case M_WRONG_TYPE:
		if (q->type != NC_MSG_BIND)
			break;
		fs_send(c, NC_MSG_RELEASE_R, q->reqid, &st);
		return FS_HANDLED;
	case M_ERROR_ID0:
		if (q->type != NC_MSG_BIND)
			break;
		st.code = NC_ST_BAD_REQUEST;
		fs_send(c, NC_MSG_ERROR, 0, &st);
		return FS_CLOSE;
	case M_SILENT_WATCH:
		if (q->type != NC_MSG_WATCH)
			break;
		fs_send(c, NC_MSG_WATCH_R, q->reqid, &st);
		return FS_HANDLED;
	default:
		break;
	}
	return FS_DEFAULT;
}

static void make_bind(struct nc_bind *b, uint16_t port)
{
	memset(b, 0, sizeof(*b));
	b->spec.dir = NC_DIR_BOTH;
	b->spec.proto = NC_PROTO_UDP;
	strcpy(b->spec.in_realm, "inside");
	strcpy(b->spec.ext_realm, "outside");
	b->spec.ep.ip.af = NC_AF_IP4;
	inet_pton(AF_INET, "10.1.0.10", b->spec.ep.ip.a);
	b->spec.ep.port = port;
	b->lifetime = 120;
}

static struct fs *start(struct script *s, enum mode mode)
{
	struct fs_opts o = {.handler = handler, .arg = s};

	memset(s, 0, sizeof(*s));
	s->mode = mode;
	return fs_start(&o);
}

static struct nc_client *open_unix(struct fs *srv)
{
	struct nc_client *cl = NULL;

	assert_int_equal(nc_client_open_unix(fs_path(srv), "test_client", &cl), 0);
	assert_non_null(cl);
	return cl;
}

static void on_item(void *arg, const struct nc_item *it)
{
	unsigned *n = arg;

	assert_int_equal(it->id, *n + 1);
	++*n;
}

struct events {
	unsigned n, stop_at;
	uint8_t types[8];
};

static int on_event(void *arg, const struct nc_event *ev)
{
	struct events *e = arg;

	e->types[e->n++] = ev->event;
	return e->n == e->stop_at;
}

/* ---- tests ---- */

static void test_every_request(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_DEFAULT);
	struct nc_client *cl = open_unix(srv);
	struct nc_bind b;
	struct nc_bind_r br;
	struct nc_refresh rq;
	struct nc_refresh_r rr;
	struct nc_release rl;
	struct nc_status st;
	struct nc_list lq = {0};
	struct nc_list_r lr;
	struct nc_stats_r *sr = malloc(sizeof(*sr));
	struct nc_caps_r cr;
	struct events ev = {.stop_at = 2};
	unsigned items = 0;
	(void)state;

	assert_int_equal(nc_client_epoch(cl), FS_EPOCH);
	assert_string_equal(nc_client_server(cl), "fake natd");

	make_bind(&b, 4000);
	assert_int_equal(nc_client_bind(cl, &b, &br, T_MS), 0);
	assert_int_equal(br.st.code, NC_ST_OK);
	assert_int_equal(br.st.epoch, FS_EPOCH);
	assert_int_equal(br.id, 1);
	assert_int_equal(br.alloc.port, 14000);
	assert_int_equal(br.lifetime, 120);

	rq = (struct nc_refresh){.epoch = br.st.epoch, .id = br.id, .lifetime = 30};
	assert_int_equal(nc_client_refresh(cl, &rq, &rr, T_MS), 0);
	assert_int_equal(rr.st.code, NC_ST_OK);
	assert_int_equal(rr.lifetime, 30);

	rl = (struct nc_release){.epoch = br.st.epoch, .id = br.id};
	assert_int_equal(nc_client_release(cl, &rl, &st, T_MS), 0);
	assert_int_equal(st.code, NC_ST_OK);
	assert_int_equal(fs_last_release(srv), 1);

	assert_int_equal(nc_client_list(cl, &lq, on_item, &items, &lr, T_MS), 0);
	assert_int_equal(lr.st.code, NC_ST_OK);
	assert_int_equal(lr.count, 2);
	assert_int_equal(items, 2);
	/* No callback is fine too. */
	assert_int_equal(nc_client_list(cl, NULL, NULL, NULL, &lr, T_MS), 0);
	assert_int_equal(lr.count, 2);

	assert_non_null(sr);
	assert_int_equal(nc_client_stats(cl, sr, T_MS), 0);
	assert_int_equal(sr->n, 2);
	assert_string_equal(sr->stats[1].name, "packets_in");
	assert_int_equal(sr->stats[1].value, 12345678901ull);
	free(sr);

	assert_int_equal(nc_client_caps(cl, &cr, T_MS), 0);
	assert_int_equal(cr.nmsgs, 9);
	assert_int_equal(cr.nrealms, 2);
	assert_string_equal(cr.realms[1], "outside");

	/* WATCH: stop after two of the three events... */
	assert_int_equal(nc_client_watch(cl, NULL, on_event, &ev, &st, T_MS), 0);
	assert_int_equal(st.code, NC_ST_OK);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.types[0], NC_EV_CREATED);
	assert_int_equal(ev.types[1], NC_EV_REFRESHED);
	/* ...and the third is skipped by the next request. */
	assert_int_equal(nc_client_caps(cl, &cr, T_MS), 0);
	assert_int_equal(cr.st.code, NC_ST_OK);

	nc_client_close(cl);
	fs_stop(srv);
}

static void test_refusals(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_EXHAUSTED);
	struct nc_client *cl = open_unix(srv);
	struct nc_bind b;
	struct nc_bind_r br;
	(void)state;

	make_bind(&b, 4000);
	assert_int_equal(nc_client_bind(cl, &b, &br, T_MS), 0);
	assert_int_equal(br.st.code, NC_ST_EXHAUSTED);
	assert_string_equal(br.st.reason, "no port left");
	assert_int_equal(br.id, 0);

	/* An ERROR answer reads as a refusal of the request. */
	s.mode = M_ERROR;
	memset(&br, 0xff, sizeof(br));
	assert_int_equal(nc_client_bind(cl, &b, &br, T_MS), 0);
	assert_int_equal(br.st.code, NC_ST_UNSUPPORTED);
	assert_string_equal(br.st.reason, "what is that");
	assert_int_equal(br.id, 0);
	assert_int_equal(br.alloc.port, 0);

	nc_client_close(cl);
	fs_stop(srv);
}

static void test_invalid_request(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_DEFAULT);
	struct nc_client *cl = open_unix(srv);
	struct nc_bind b;
	struct nc_bind_r br;
	(void)state;

	make_bind(&b, 4000);
	b.spec.drop_default = true; /* without a TARGET */
	assert_int_equal(nc_client_bind(cl, &b, &br, T_MS), NC_E_INCONSISTENT);
	assert_int_equal(nc_client_bind(cl, NULL, &br, T_MS), NC_E_INVAL);
	/* Nothing was sent: the connection goes on. */
	make_bind(&b, 4000);
	assert_int_equal(nc_client_bind(cl, &b, &br, T_MS), 0);
	assert_int_equal(br.st.code, NC_ST_OK);
	assert_int_equal(fs_count(srv, NC_MSG_BIND), 1);

	nc_client_close(cl);
	fs_stop(srv);
}

static void test_timeout_late_reply_released(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_HOLD_BIND);
	struct nc_client *cl = open_unix(srv);
	struct nc_bind b;
	struct nc_bind_r br;
	struct nc_caps_r cr;
	struct nc_stats_r *sr = malloc(sizeof(*sr));
	(void)state;

	make_bind(&b, 4000);
	assert_int_equal(nc_client_bind(cl, &b, &br, 100), -ETIMEDOUT);
	/* The late BIND_R (binding 77) arrives before the CAPS reply: it is
	 * skipped, and the binding it granted is released. */
	assert_int_equal(nc_client_caps(cl, &cr, T_MS), 0);
	assert_int_equal(cr.st.code, NC_ST_OK);
	/* The server handles requests in order: after STATS, the RELEASE is in. */
	assert_non_null(sr);
	assert_int_equal(nc_client_stats(cl, sr, T_MS), 0);
	free(sr);
	assert_int_equal(fs_count(srv, NC_MSG_RELEASE), 1);
	assert_int_equal(fs_last_release(srv), 77);

	nc_client_close(cl);
	fs_stop(srv);
}

static void test_connection_loss(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_CLOSE_ON_BIND);
	struct nc_client *cl = open_unix(srv);
	struct nc_bind b;
	struct nc_bind_r br;
	struct nc_caps_r cr;
	(void)state;

	make_bind(&b, 4000);
	assert_int_equal(nc_client_bind(cl, &b, &br, T_MS), -ECONNRESET);
	assert_int_equal(nc_client_caps(cl, &cr, T_MS), -ENOTCONN);
	nc_client_close(cl);
	fs_stop(srv);
}

static void test_garbage(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_GARBAGE);
	struct nc_client *cl = open_unix(srv);
	struct nc_bind b;
	struct nc_bind_r br;
	struct nc_caps_r cr;
	(void)state;

	make_bind(&b, 4000);
	assert_int_equal(nc_client_bind(cl, &b, &br, T_MS), NC_E_MAGIC);
	assert_int_equal(nc_client_caps(cl, &cr, T_MS), -ENOTCONN);
	nc_client_close(cl);
	fs_stop(srv);
}

static void test_undecodable_reply(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_UNDECODABLE);
	struct nc_client *cl = open_unix(srv);
	struct nc_bind b;
	struct nc_bind_r br;
	struct nc_caps_r cr;
	(void)state;

	make_bind(&b, 4000);
	assert_int_equal(nc_client_bind(cl, &b, &br, T_MS), NC_E_TRUNCATED);
	/* The stream is still in step: the next request works. */
	assert_int_equal(nc_client_caps(cl, &cr, T_MS), 0);
	assert_int_equal(cr.st.code, NC_ST_OK);
	nc_client_close(cl);
	fs_stop(srv);
}

static void test_wrong_reply_type(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_WRONG_TYPE);
	struct nc_client *cl = open_unix(srv);
	struct nc_bind b;
	struct nc_bind_r br;
	(void)state;

	make_bind(&b, 4000);
	assert_int_equal(nc_client_bind(cl, &b, &br, T_MS), -EPROTO);
	nc_client_close(cl);
	fs_stop(srv);
}

static void test_error_id0(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_ERROR_ID0);
	struct nc_client *cl = open_unix(srv);
	struct nc_bind b;
	struct nc_bind_r br;
	(void)state;

	make_bind(&b, 4000);
	assert_int_equal(nc_client_bind(cl, &b, &br, T_MS), -EPROTO);
	assert_int_equal(nc_client_bind(cl, &b, &br, T_MS), -ENOTCONN);
	nc_client_close(cl);
	fs_stop(srv);
}

static void test_watch_timeout(void **state)
{
	struct script s;
	struct fs *srv = start(&s, M_SILENT_WATCH);
	struct nc_client *cl = open_unix(srv);
	struct events ev = {.stop_at = 1};
	struct nc_watch w = {.mask = 1u << (NC_EV_EXPIRED - 1)};
	(void)state;

	assert_int_equal(nc_client_watch(cl, &w, on_event, &ev, NULL, 100), -ETIMEDOUT);
	assert_int_equal(ev.n, 0);
	nc_client_close(cl);
	fs_stop(srv);
}

static void test_hello_refused(void **state)
{
	struct fs_opts o = {.hello_status = NC_ST_NOT_AUTHORIZED};
	struct fs *srv = fs_start(&o);
	struct nc_client *cl = NULL;
	(void)state;

	assert_int_equal(nc_client_open_unix(fs_path(srv), NULL, &cl), -EACCES);
	assert_null(cl);
	fs_stop(srv);
}

static void test_open_errors(void **state)
{
	struct nc_client *cl = NULL;
	char longpath[200];
	(void)state;

	assert_int_equal(nc_client_open_unix("/nonexistent/natd.sock", NULL, &cl), -ENOENT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(nc_client_open_unix(longpath, NULL, &cl), -ENAMETOOLONG);
	assert_int_equal(nc_client_open_unix("/x", NULL, NULL), NC_E_INVAL);
	assert_null(cl);
	nc_client_close(NULL);
}

static void tcp_case(const char *srv_secret, bool bad_mac, const char *cl_secret, int want)
{
	struct fs_opts o = {.tcp = true, .secret = srv_secret, .bad_server_mac = bad_mac};
	struct fs *srv = fs_start(&o);
	struct nc_client *cl = NULL;
	struct nc_bind b;
	struct nc_bind_r br;
	int r;

	r = nc_client_open_tcp("127.0.0.1", fs_port(srv), "test_client", cl_secret,
			       cl_secret ? strlen(cl_secret) : 0, &cl);
	assert_int_equal(r, want);
	if (r == 0) {
		make_bind(&b, 4000);
		assert_int_equal(nc_client_bind(cl, &b, &br, T_MS), 0);
		assert_int_equal(br.st.code, NC_ST_OK);
		assert_int_equal(fs_count(srv, NC_MSG_BIND), 1);
		nc_client_close(cl);
	} else {
		assert_null(cl);
		assert_int_equal(fs_count(srv, NC_MSG_BIND), 0);
	}
	fs_stop(srv);
}

static void test_tcp_auth(void **state)
{
	(void)state;
	tcp_case(SECRET, false, SECRET, 0);                 /* both sides agree */
	tcp_case(NULL, false, NULL, 0);                     /* no authentication at all */
	tcp_case(SECRET, false, "wrong secret", -EACCES);   /* natd refuses our MAC */
	tcp_case(SECRET, true, SECRET, -EACCES);            /* natd's MAC is wrong */
	tcp_case(SECRET, false, NULL, -EACCES);             /* natd asks, we have nothing */
	tcp_case(NULL, false, SECRET, -EACCES);             /* natd does not prove itself */
}

static void test_tcp_errors(void **state)
{
	struct nc_client *cl = NULL;
	struct fs_opts o = {.tcp = true};
	struct fs *srv = fs_start(&o);
	uint16_t port = fs_port(srv);
	(void)state;

	fs_stop(srv); /* the port is free again: nobody listens */
	assert_int_equal(nc_client_open_tcp("127.0.0.1", port, NULL, NULL, 0, &cl), -ECONNREFUSED);
	assert_int_equal(nc_client_open_tcp("127.0.0.1", 0, NULL, NULL, 0, &cl), NC_E_INVAL);
	assert_null(cl);
}

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static void test_secret_read(void **state)
{
	char dir[] = "/tmp/ncsecret.XXXXXX", path[64];
	uint8_t buf[NC_SECRET_MAX], big[NC_SECRET_MAX + 10];
	size_t len = 0;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k", dir);
	write_file(path, "abc\n", 4);
	assert_int_equal(nc_secret_read(path, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "abc", 3);
	write_file(path, "abc\r\n", 5);
	assert_int_equal(nc_secret_read(path, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 3);
	write_file(path, "a\nb\n\n", 5); /* only one newline goes */
	assert_int_equal(nc_secret_read(path, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, "a\nb\n", 4);
	write_file(path, "\0\1\2", 3); /* binary is fine */
	assert_int_equal(nc_secret_read(path, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 3);
	write_file(path, "\n", 1);
	assert_int_equal(nc_secret_read(path, buf, sizeof(buf), &len), -ENODATA);
	write_file(path, "", 0);
	assert_int_equal(nc_secret_read(path, buf, sizeof(buf), &len), -ENODATA);
	write_file(path, "abcdef", 6);
	assert_int_equal(nc_secret_read(path, buf, 5, &len), -EFBIG);
	memset(big, 'x', sizeof(big));
	write_file(path, big, sizeof(big));
	assert_int_equal(nc_secret_read(path, buf, sizeof(buf), &len), -EFBIG);
	unlink(path);
	assert_int_equal(nc_secret_read(path, buf, sizeof(buf), &len), -ENOENT);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_request),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_invalid_request),
		cmocka_unit_test(test_timeout_late_reply_released),
		cmocka_unit_test(test_connection_loss),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_undecodable_reply),
		cmocka_unit_test(test_wrong_reply_type),
		cmocka_unit_test(test_error_id0),
		cmocka_unit_test(test_watch_timeout),
		cmocka_unit_test(test_hello_refused),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_tcp_auth),
		cmocka_unit_test(test_tcp_errors),
		cmocka_unit_test(test_secret_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
