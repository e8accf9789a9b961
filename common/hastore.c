/* hastore: the shared Redis client of an HA pair (theory of operation in
 * hastore.h). hiredis' async API on the caller's libevent loop; two
 * connections to the current Redis primary: "cmd" (scripts, SCAN, MGET)
 * and, on a standby, "sub" (SUBSCRIBE P:changes).
 */
#include "hastore.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "clock.h"
#include "log.h"

#define BATCH_MAX 256          /* records per EVALSHA */
#define HEARTBEAT_MS 1000u     /* the active's write when nothing else went */
#define ACTIVE_TTL_MS 3000u    /* P:active's expiry */
#define TICK_MS 200u
#define BACKOFF_MIN_MS 200u
#define BACKOFF_MAX_MS 5000u
#define SCAN_COUNT "512"
#define KEY_MAX (2 * HASTORE_NAME_MAX + 8)

/* Compare-and-write (see hastore.h). KEYS: epoch, active, records...;
 * ARGV: epoch, node, change time (ms), heartbeat ttl, channel, then one
 * triple per record: op ("S"/"D"), ttl ms (0: none), value. An absent
 * epoch key (a Redis that restarted empty) is set to the writer's: the
 * first writer after the loss re-founds it, any other then finds it
 * stale. */
static const char write_lua[] =
	"local cur = redis.call('GET', KEYS[1])\n"
	"if not cur then redis.call('SET', KEYS[1], ARGV[1]); cur = ARGV[1] end\n"
	"if cur ~= ARGV[1] then return {0, cur} end\n"
	"redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])\n"
	"if #KEYS < 3 then return {1, 0} end\n"
	"local msg = {ARGV[1] .. ' ' .. ARGV[3] .. ' ' .. ARGV[2]}\n"
	"local a = 6\n"
	"for i = 3, #KEYS do\n"
	"  local op, ttl, val = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2]\n"
	"  a = a + 3\n"
	"  if op == 'S' then\n"
	"    if ttl > 0 then redis.call('SET', KEYS[i], val, 'PX', ttl)\n"
	"    else redis.call('SET', KEYS[i], val) end\n"
	"    msg[#msg + 1] = 'S ' .. KEYS[i] .. ' ' .. val\n"
	"  else\n"
	"    redis.call('DEL', KEYS[i])\n"
	"    msg[#msg + 1] = 'D ' .. KEYS[i]\n"
	"  end\n"
	"end\n"
	"redis.call('PUBLISH', ARGV[5], table.concat(msg, '\\n'))\n"
	"return {1, #KEYS - 2}\n";

/* Promotion. KEYS: epoch, active; ARGV: node, active ttl, the newest
 * epoch this node has seen. Above that one even when Redis lost the key
 * (restarted empty): the old active, which re-founds it at its own epoch,
 * is then still fenced off. */
static const char promote_lua[] =
	"local e = redis.call('INCR', KEYS[1])\n"
	"if e <= tonumber(ARGV[3]) then\n"
	"  e = tonumber(ARGV[3]) + 1\n"
	"  redis.call('SET', KEYS[1], e)\n"
	"end\n"
	"redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])\n"
	"return e\n";

struct op {
	char key[KEY_MAX];
	char *val; /* NULL: delete */
	size_t vlen;
	uint32_t ttl;
};

struct held {
	struct held *next;
	size_t len;
	char msg[];
};

struct hastore {
	struct event_base *base;
	struct hastore_conf c;
	struct hastore_ops ops;
	void *arg;
	char k_epoch[KEY_MAX], k_active[KEY_MAX], k_chan[KEY_MAX], k_match[KEY_MAX], k_rec[KEY_MAX];
	size_t k_rec_len;

	redisAsyncContext *cmd, *sub, *sent;
	struct hastore_addr server;
	unsigned sent_next;      /* the next sentinel to ask */
	unsigned sent_tried;     /* sentinels asked in this round */
	bool ready;              /* cmd up, scripts loaded */
	bool down_logged;        /* "Redis away" said for this outage */
	bool closing;
	uint64_t connect_ms;     /* when the current attempt began (0: none) */
	unsigned backoff_ms;
	unsigned pending;        /* cmd requests without their reply */
	uint64_t progress_ms;    /* last reply on cmd, or first request after none */
	char sha_write[41], sha_promote[41];

	enum hastore_role role;
	bool have_epoch;         /* active with the epoch it took */
	bool want_promote, promoting, want_auto, need_push;
	uint64_t epoch;
	uint64_t last_write_ms;

	struct op *q;
	size_t nq, capq;
	struct event *flush_ev, *tick_ev, *retry_ev;

	bool subscribed, resyncing;
	struct held *held, **held_tail;

	int64_t newest_ms; /* wall time of the newest change applied (0: none) */
	struct hastore_stats st;
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *hastore_role_name(enum hastore_role r)
{
	return r == HASTORE_ACTIVE ? "active" : "standby";
}

bool hastore_addr_parse(const char *s, struct hastore_addr *a)
{
	char host[64];
	const char *colon;
	size_t hl;
	unsigned long port;
	char *end;
	unsigned char buf[16];

	if (!s)
		return false;
	if (*s == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return false;
		hl = (size_t)(rb - s - 1);
		if (hl >= sizeof(host) || hl >= sizeof(a->host))
			return false;
		memcpy(host, s + 1, hl);
		host[hl] = 0;
		colon = rb + 1;
		if (inet_pton(AF_INET6, host, buf) != 1)
			return false;
	} else {
		if (!(colon = strrchr(s, ':')))
			return false;
		hl = (size_t)(colon - s);
		if (hl >= sizeof(host) || hl >= sizeof(a->host))
			return false;
		memcpy(host, s, hl);
		host[hl] = 0;
		if (inet_pton(AF_INET, host, buf) != 1)
			return false;
	}
	if (!colon[1] || colon[1] == '-' || colon[1] == '+')
		return false;
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return false;
	memcpy(a->host, host, hl + 1);
	a->port = (uint16_t)port;
	return true;
}

static bool key_chars_ok(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++) {
		char ch = s[n];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.' || ch == '_' || ch == ':' || ch == '-'))
			return false;
	}
	return n > 0 && n < max;
}

bool hastore_prefix_ok(const char *s)
{
	return s && key_chars_ok(s, HASTORE_NAME_MAX);
}

/* ---- connections ---- */

static void schedule_retry(struct hastore *h);
static void start_connect(struct hastore *h);
static void start_follow(struct hastore *h);
static void do_promote(struct hastore *h);
static void do_push(struct hastore *h);

static void held_clear(struct hastore *h)
{
	while (h->held) {
		struct held *n = h->held->next;
		free(h->held);
		h->held = n;
	}
	h->held_tail = &h->held;
}

static void q_clear(struct hastore *h)
{
	for (size_t i = 0; i < h->nq; i++)
		free(h->q[i].val);
	h->nq = 0;
}

/* Free a context we hold (its pending callbacks run with NULL replies). */
static void ctx_drop(struct hastore *h, redisAsyncContext **pc)
{
	redisAsyncContext *c = *pc;

	*pc = NULL;
	if (c)
		redisAsyncFree(c);
	(void)h;
}

static void stop_follow(struct hastore *h)
{
	bool was = h->resyncing;

	ctx_drop(h, &h->sub);
	h->subscribed = false;
	h->resyncing = false;
	held_clear(h);
	if (was && h->ops.resync)
		h->ops.resync(h->arg, false, false);
}

/* The connection to Redis is gone, or never came: forget it, retry. */
static void conn_lost(struct hastore *h, const char *why)
{
	if (h->closing)
		return;
	if (!h->down_logged) {
		log_warn("ha: redis %s%s%u: %s: working from memory; %s", h->server.host[0] ? h->server.host : "",
			 h->server.host[0] ? ":" : "", h->server.port, why,
			 h->role == HASTORE_ACTIVE ? "writes are counted as lost until it is back"
						   : "the copy is resynchronised when it is back");
		h->down_logged = true;
	}
	h->ready = false;
	h->st.connected = false;
	h->connect_ms = 0;
	h->pending = 0;
	h->promoting = false;
	stop_follow(h);
	ctx_drop(h, &h->cmd);
	ctx_drop(h, &h->sent);
	if (h->role == HASTORE_ACTIVE)
		h->need_push = true;
	schedule_retry(h);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_connect(arg);
}

static void schedule_retry(struct hastore *h)
{
	struct timeval tv;

	if (evtimer_pending(h->retry_ev, NULL))
		return;
	tv.tv_sec = h->backoff_ms / 1000;
	tv.tv_usec = (h->backoff_ms % 1000) * 1000;
	evtimer_add(h->retry_ev, &tv);
	h->backoff_ms = h->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : h->backoff_ms * 2;
}

static int cmd_argv(struct hastore *h, redisCallbackFn *fn, void *priv, int argc, const char **argv,
		    const size_t *lens)
{
	if (!h->cmd)
		return -1;
	if (!h->pending)
		h->progress_ms = clock_mono_ms();
	if (redisAsyncCommandArgv(h->cmd, fn, priv, argc, argv, lens) != REDIS_OK)
		return -1;
	h->pending++;
	return 0;
}

/* A reply (or NULL at a disconnect) on cmd: true if it is to be used. */
static bool cmd_reply(struct hastore *h, redisAsyncContext *ac, const redisReply *r)
{
	if (h->closing || ac != h->cmd)
		return false;
	if (h->pending)
		h->pending--;
	h->progress_ms = clock_mono_ms();
	return r != NULL;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct hastore *h = ac->data;

	(void)status;
	if (h->closing)
		return;
	if (ac == h->cmd) {
		h->cmd = NULL; /* hiredis frees it */
		conn_lost(h, ac->errstr[0] ? ac->errstr : "connection closed");
	} else if (ac == h->sub) {
		h->sub = NULL;
		conn_lost(h, ac->errstr[0] ? ac->errstr : "subscription closed");
	} else if (ac == h->sent) {
		h->sent = NULL;
	}
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct hastore *h = ac->data;

	if (h->closing || status == REDIS_OK)
		return;
	/* hiredis frees a context whose connect failed */
	if (ac == h->cmd) {
		h->cmd = NULL;
		conn_lost(h, ac->errstr[0] ? ac->errstr : "connect failed");
	} else if (ac == h->sub) {
		h->sub = NULL;
		conn_lost(h, ac->errstr[0] ? ac->errstr : "connect failed");
	}
	/* a sentinel that cannot be reached: its pending request's callback
	 * (on_sentinel, with no reply) moves on to the next */
}

static redisAsyncContext *ctx_open(struct hastore *h, const struct hastore_addr *a)
{
	redisAsyncContext *c = redisAsyncConnect(a->host, a->port);

	if (!c)
		return NULL;
	if (c->err) {
		redisAsyncFree(c);
		return NULL;
	}
	c->data = h;
	if (redisLibeventAttach(c, h->base) != REDIS_OK) {
		redisAsyncFree(c);
		return NULL;
	}
	redisAsyncSetConnectCallback(c, on_connect);
	redisAsyncSetDisconnectCallback(c, on_disconnect);
	return c;
}

static void on_auto(redisAsyncContext *ac, void *reply, void *priv)
{
	struct hastore *h = ac->data;
	redisReply *r = reply;

	(void)priv;
	if (!cmd_reply(h, ac, r) || !h->want_auto)
		return;
	h->want_auto = false;
	if (r->type == REDIS_REPLY_NIL) {
		log_notice("ha: no node is active in %s: taking over (role auto)", h->c.prefix);
		hastore_promote(h);
	} else {
		log_notice("ha: %.*s is active in %s: standby (role auto)",
			   r->type == REDIS_REPLY_STRING ? (int)r->len : 1,
			   r->type == REDIS_REPLY_STRING ? r->str : "?", h->c.prefix);
		start_follow(h);
	}
}

/* Scripts loaded: the connection is usable. */
static void became_ready(struct hastore *h)
{
	h->ready = true;
	h->st.connected = true;
	h->connect_ms = 0;
	h->backoff_ms = BACKOFF_MIN_MS;
	h->st.connects++;
	snprintf(h->st.server, sizeof(h->st.server), "%s:%u", h->server.host, h->server.port);
	log_notice("ha: redis %s connected (%s, %s)", h->st.server, h->c.prefix,
		   hastore_role_name(h->role));
	h->down_logged = false;
	if (h->want_auto) {
		const char *argv[] = {"GET", h->k_active};
		if (cmd_argv(h, on_auto, NULL, 2, argv, NULL) < 0)
			conn_lost(h, "cannot send");
		return;
	}
	if (h->role == HASTORE_ACTIVE) {
		if (h->want_promote || !h->have_epoch)
			do_promote(h);
		else if (h->need_push)
			do_push(h);
	} else {
		start_follow(h);
	}
}

static void on_script(redisAsyncContext *ac, void *reply, void *priv)
{
	struct hastore *h = ac->data;
	redisReply *r = reply;
	char *dst = priv == (void *)1 ? h->sha_write : h->sha_promote;

	if (!cmd_reply(h, ac, r))
		return;
	if (r->type != REDIS_REPLY_STRING || r->len != 40) {
		log_err("ha: redis %s refused the scripts: %.*s", h->st.server[0] ? h->st.server : h->server.host,
			r->type == REDIS_REPLY_ERROR ? (int)r->len : 0, r->type == REDIS_REPLY_ERROR ? r->str : "");
		conn_lost(h, "SCRIPT LOAD failed");
		return;
	}
	memcpy(dst, r->str, 40);
	dst[40] = 0;
	if (priv == (void *)2)
		became_ready(h);
}

static void connect_server(struct hastore *h, const struct hastore_addr *a)
{
	const char *argv[3] = {"SCRIPT", "LOAD", write_lua};

	h->server = *a;
	if (!(h->cmd = ctx_open(h, a))) {
		conn_lost(h, "cannot open a socket");
		return;
	}
	h->connect_ms = clock_mono_ms();
	if (cmd_argv(h, on_script, (void *)1, 3, argv, NULL) < 0) {
		conn_lost(h, "cannot send");
		return;
	}
	argv[2] = promote_lua;
	if (cmd_argv(h, on_script, (void *)2, 3, argv, NULL) < 0)
		conn_lost(h, "cannot send");
}

static void ask_sentinel(struct hastore *h);

static void on_sentinel(redisAsyncContext *ac, void *reply, void *priv)
{
	struct hastore *h = ac->data;
	redisReply *r = reply;
	struct hastore_addr a;
	char buf[96];

	(void)priv;
	if (h->closing || ac != h->sent)
		return; /* dropped by us */
	h->sent = NULL;
	if (r)
		redisAsyncDisconnect(ac); /* without a reply hiredis is freeing it */
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING &&
	    r->element[0]->len < 60 && r->element[1]->len < 8) {
		bool v6 = strchr(r->element[0]->str, ':') != NULL;
		snprintf(buf, sizeof(buf), "%s%s%s:%s", v6 ? "[" : "", r->element[0]->str, v6 ? "]" : "",
			 r->element[1]->str);
		if (hastore_addr_parse(buf, &a)) {
			log_info("ha: sentinel %s:%u names %s as master %s",
				 h->c.sentinels[(h->sent_next + h->c.nsentinels - 1) % h->c.nsentinels].host,
				 h->c.sentinels[(h->sent_next + h->c.nsentinels - 1) % h->c.nsentinels].port, buf,
				 h->c.master);
			connect_server(h, &a);
			return;
		}
	}
	ask_sentinel(h);
}

/* Ask the next sentinel; after a round with no answer, back off. */
static void ask_sentinel(struct hastore *h)
{
	const struct hastore_addr *a;
	const char *argv[] = {"SENTINEL", "get-master-addr-by-name", h->c.master};

	if (h->sent_tried >= h->c.nsentinels) {
		conn_lost(h, "no sentinel named a master");
		return;
	}
	a = &h->c.sentinels[h->sent_next];
	h->sent_next = (h->sent_next + 1) % h->c.nsentinels;
	h->sent_tried++;
	h->server = *a;
	if (!(h->sent = ctx_open(h, a)) ||
	    redisAsyncCommandArgv(h->sent, on_sentinel, NULL, 3, argv, NULL) != REDIS_OK) {
		ctx_drop(h, &h->sent);
		ask_sentinel(h);
		return;
	}
	h->connect_ms = clock_mono_ms();
}

static void start_connect(struct hastore *h)
{
	if (h->cmd || h->sent || h->closing)
		return;
	if (h->c.redis.port) {
		connect_server(h, &h->c.redis);
	} else {
		h->sent_tried = 0;
		ask_sentinel(h);
	}
}

/* ---- the active: writes ---- */

static void on_write(redisAsyncContext *ac, void *reply, void *priv)
{
	struct hastore *h = ac->data;
	redisReply *r = reply;
	uint64_t n = (uint64_t)(uintptr_t)priv;

	if (h->closing || ac != h->cmd) {
		if (!h->closing)
			h->st.writes_lost += n;
		return;
	}
	if (!cmd_reply(h, ac, r)) {
		h->st.writes_lost += n;
		return;
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_INTEGER) {
		if (r->element[0]->integer == 1) {
			h->st.writes_ok += n;
			return;
		}
		uint64_t newer = 0;
		if (r->element[1]->type == REDIS_REPLY_STRING)
			newer = strtoull(r->element[1]->str, NULL, 10);
		h->st.stale += n ? n : 1;
		if (h->role == HASTORE_ACTIVE) {
			char why[96];
			snprintf(why, sizeof(why), "stale epoch: %" PRIu64 " is newer than ours (%" PRIu64 ")",
				 newer, h->epoch);
			h->epoch = newer;
			hastore_demote(h, why);
		}
		return;
	}
	h->st.writes_lost += n;
	log_err("ha: redis %s: write refused: %.*s", h->st.server,
		r->type == REDIS_REPLY_ERROR ? (int)r->len : 7, r->type == REDIS_REPLY_ERROR ? r->str : "unknown");
	conn_lost(h, "a write was refused");
}

/* Send ops [from, to) (to - from may be 0: a heartbeat). */
static int send_batch(struct hastore *h, size_t from, size_t to)
{
	size_t n = to - from, argc = 3 + 2 + n + 5 + 3 * n, k = 0;
	const char **argv = malloc(argc * sizeof(*argv));
	size_t *lens = malloc(argc * sizeof(*lens));
	char nkeys[16], ep[24], ms[24], hb[16], (*ttl)[12] = malloc((n ? n : 1) * sizeof(*ttl));
	int rc = -1;

	if (!argv || !lens || !ttl)
		goto out;
	snprintf(nkeys, sizeof(nkeys), "%zu", 2 + n);
	snprintf(ep, sizeof(ep), "%" PRIu64, h->epoch);
	snprintf(ms, sizeof(ms), "%" PRId64, wall_ms());
	snprintf(hb, sizeof(hb), "%u", ACTIVE_TTL_MS);
#define ARG(s, l) (argv[k] = (s), lens[k] = (l), k++)
#define ARGS(s) ARG(s, strlen(s))
	ARGS("EVALSHA");
	ARGS(h->sha_write);
	ARGS(nkeys);
	ARGS(h->k_epoch);
	ARGS(h->k_active);
	for (size_t i = from; i < to; i++)
		ARGS(h->q[i].key);
	ARGS(ep);
	ARGS(h->c.node);
	ARGS(ms);
	ARGS(hb);
	ARGS(h->k_chan);
	for (size_t i = from; i < to; i++) {
		snprintf(ttl[i - from], sizeof(ttl[0]), "%" PRIu32, h->q[i].ttl);
		ARGS(h->q[i].val ? "S" : "D");
		ARGS(ttl[i - from]);
		ARG(h->q[i].val ? h->q[i].val : "", h->q[i].val ? h->q[i].vlen : 0);
	}
#undef ARG
#undef ARGS
	rc = cmd_argv(h, on_write, (void *)(uintptr_t)n, (int)k, argv, lens);
out:
	free(argv);
	free(lens);
	free(ttl);
	return rc;
}

static void flush(struct hastore *h)
{
	if (h->nq && hastore_writing(h)) {
		for (size_t i = 0; i < h->nq; i += BATCH_MAX) {
			size_t to = i + BATCH_MAX < h->nq ? i + BATCH_MAX : h->nq;
			if (send_batch(h, i, to) < 0) {
				h->st.writes_lost += h->nq - i;
				break;
			}
		}
		h->last_write_ms = clock_mono_ms();
	} else if (h->nq) {
		h->st.writes_lost += h->nq;
	}
	q_clear(h);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush(arg);
}

/* Not written: count it (once logged per outage), push when back. */
static void lost(struct hastore *h)
{
	if (h->promoting)
		return; /* the push after the promotion writes it */
	h->st.writes_lost++;
	h->need_push = true;
	if (!h->down_logged) {
		log_warn("ha: redis away: writes are counted as lost until it is back "
			 "(then the whole state is pushed)");
		h->down_logged = true;
	}
}

static struct op *q_add(struct hastore *h, const char *name)
{
	struct op *o;

	if (h->role != HASTORE_ACTIVE)
		return NULL;
	if (!hastore_writing(h)) {
		lost(h);
		return NULL;
	}
	if (!key_chars_ok(name, HASTORE_NAME_MAX)) {
		h->st.writes_lost++;
		log_debug("ha: record name refused: %s", name);
		return NULL;
	}
	if (h->nq == h->capq) {
		size_t nc = h->capq ? h->capq * 2 : 64;
		struct op *nq = realloc(h->q, nc * sizeof(*nq));
		if (!nq) {
			h->st.writes_lost++;
			return NULL;
		}
		h->q = nq;
		h->capq = nc;
	}
	o = &h->q[h->nq];
	snprintf(o->key, sizeof(o->key), "%s%s", h->k_rec, name);
	o->val = NULL;
	o->vlen = 0;
	o->ttl = 0;
	if (h->nq++ == 0)
		event_active(h->flush_ev, 0, 0);
	return o;
}

void hastore_put(struct hastore *h, const char *name, const char *val, size_t vlen, uint32_t ttl_ms)
{
	struct op *o;

	if (memchr(val, '\n', vlen)) {
		h->st.writes_lost++;
		log_debug("ha: record %s refused: a newline in its value", name);
		return;
	}
	if (!(o = q_add(h, name)))
		return;
	if (!(o->val = malloc(vlen + 1))) {
		h->nq--;
		h->st.writes_lost++;
		return;
	}
	memcpy(o->val, val, vlen);
	o->val[vlen] = 0;
	o->vlen = vlen;
	o->ttl = ttl_ms;
}

void hastore_del(struct hastore *h, const char *name)
{
	q_add(h, name);
}

static void do_push(struct hastore *h)
{
	h->need_push = false;
	h->st.pushes++;
	log_notice("ha: pushing the whole state to redis (epoch %" PRIu64 ")", h->epoch);
	if (h->ops.push)
		h->ops.push(h->arg);
	flush(h); /* now, so the push is not mixed with a heartbeat */
}

static void on_promote(redisAsyncContext *ac, void *reply, void *priv)
{
	struct hastore *h = ac->data;
	redisReply *r = reply;

	(void)priv;
	if (!cmd_reply(h, ac, r))
		return;
	h->promoting = false;
	if (r->type != REDIS_REPLY_INTEGER || r->integer <= 0) {
		log_err("ha: promotion refused by redis: %.*s", r->type == REDIS_REPLY_ERROR ? (int)r->len : 0,
			r->type == REDIS_REPLY_ERROR ? r->str : "");
		conn_lost(h, "promotion failed");
		return;
	}
	if (h->role != HASTORE_ACTIVE)
		return; /* demoted meanwhile */
	h->epoch = (uint64_t)r->integer;
	h->have_epoch = true;
	h->want_promote = false;
	log_notice("ha: %s holds epoch %" PRIu64 " of %s", h->c.node, h->epoch, h->c.prefix);
	do_push(h);
}

static void do_promote(struct hastore *h)
{
	char ttl[16], seen[24];
	const char *argv[] = {"EVALSHA", h->sha_promote, "2", h->k_epoch, h->k_active, h->c.node, ttl, seen};

	snprintf(ttl, sizeof(ttl), "%u", ACTIVE_TTL_MS);
	snprintf(seen, sizeof(seen), "%" PRIu64, h->epoch);
	if (h->promoting)
		return;
	h->promoting = true;
	if (cmd_argv(h, on_promote, NULL, 8, argv, NULL) < 0)
		conn_lost(h, "cannot send");
}

/* ---- the standby: follow ---- */

static void apply_msg(struct hastore *h, char *msg, size_t len)
{
	char *end = msg + len, *p, *q;
	uint64_t ep;
	int64_t ms;

	/* "<epoch> <ms> <node>" then "S <key> <value>" / "D <key>" lines;
	 * msg[len] is a NUL (hiredis' and the held copies) */
	ep = strtoull(msg, &q, 10);
	if (*q != ' ' || !(p = memchr(msg, '\n', len)))
		return;
	ms = strtoll(q + 1, NULL, 10);
	if (ep > h->epoch)
		h->epoch = ep;
	for (p++; p < end; p++) {
		char *eol = memchr(p, '\n', (size_t)(end - p)), *key = p + 2, *val = NULL;
		if (!eol)
			eol = end;
		*eol = 0;
		if (eol - p > 2 && (p[0] == 'S' || p[0] == 'D') && p[1] == ' ' &&
		    (p[0] == 'D' || (val = strchr(key, ' '))) && !strncmp(key, h->k_rec, h->k_rec_len) &&
		    h->ops.apply) {
			if (val)
				*val++ = 0;
			h->ops.apply(h->arg, key + h->k_rec_len, val, val ? (size_t)(eol - val) : 0);
			h->st.applied++;
		}
		p = eol;
	}
	h->newest_ms = ms;
}

static void on_resync_epoch(redisAsyncContext *ac, void *reply, void *priv)
{
	struct hastore *h = ac->data;
	redisReply *r = reply;

	(void)priv;
	if (!cmd_reply(h, ac, r) || r->type != REDIS_REPLY_STRING)
		return;
	if (h->role == HASTORE_STANDBY)
		h->epoch = strtoull(r->str, NULL, 10);
}

struct mget_names {
	size_t n;
	char *name[];
};

static void on_mget(redisAsyncContext *ac, void *reply, void *priv)
{
	struct hastore *h = ac->data;
	redisReply *r = reply;
	struct mget_names *mn = priv;

	if (cmd_reply(h, ac, r) && h->resyncing && r->type == REDIS_REPLY_ARRAY && r->elements == mn->n)
		for (size_t i = 0; i < mn->n; i++) {
			redisReply *v = r->element[i];
			if (v->type != REDIS_REPLY_STRING || !h->ops.apply)
				continue;
			h->ops.apply(h->arg, mn->name[i] + h->k_rec_len, v->str, v->len);
			h->st.applied++;
		}
	for (size_t i = 0; i < mn->n; i++)
		free(mn->name[i]);
	free(mn);
}

static void on_resync_done(redisAsyncContext *ac, void *reply, void *priv)
{
	struct hastore *h = ac->data;
	redisReply *r = reply;
	struct held *m;

	(void)priv;
	if (!cmd_reply(h, ac, r) || !h->resyncing)
		return;
	h->resyncing = false;
	h->st.resyncs++;
	if (h->ops.resync)
		h->ops.resync(h->arg, false, true);
	h->newest_ms = wall_ms();
	log_notice("ha: resynchronised from redis %s (epoch %" PRIu64 ", %" PRIu64 " records applied so far)",
		   h->st.server, h->epoch, h->st.applied);
	while ((m = h->held)) {
		h->held = m->next;
		apply_msg(h, m->msg, m->len);
		free(m);
	}
	h->held_tail = &h->held;
}

static void scan_from(struct hastore *h, const char *cursor);

static void on_scan(redisAsyncContext *ac, void *reply, void *priv)
{
	struct hastore *h = ac->data;
	redisReply *r = reply, *keys;
	struct mget_names *mn;

	(void)priv;
	if (!cmd_reply(h, ac, r) || !h->resyncing)
		return;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
	    (keys = r->element[1])->type != REDIS_REPLY_ARRAY) {
		conn_lost(h, "bad SCAN reply");
		return;
	}
	if (keys->elements) {
		const char **argv = malloc((keys->elements + 1) * sizeof(*argv));
		size_t *lens = malloc((keys->elements + 1) * sizeof(*lens));
		mn = calloc(1, sizeof(*mn) + keys->elements * sizeof(char *));
		if (!argv || !lens || !mn) {
			free(argv);
			free(lens);
			free(mn);
			conn_lost(h, "out of memory");
			return;
		}
		argv[0] = "MGET";
		lens[0] = 4;
		for (size_t i = 0; i < keys->elements; i++) {
			argv[i + 1] = keys->element[i]->str;
			lens[i + 1] = keys->element[i]->len;
			if (!(mn->name[mn->n] = strdup(keys->element[i]->str)))
				break;
			mn->n++;
		}
		if (mn->n != keys->elements ||
		    cmd_argv(h, on_mget, mn, (int)mn->n + 1, argv, lens) < 0) {
			for (size_t i = 0; i < mn->n; i++)
				free(mn->name[i]);
			free(mn);
			free(argv);
			free(lens);
			conn_lost(h, "cannot send");
			return;
		}
		free(argv);
		free(lens);
	}
	if (strcmp(r->element[0]->str, "0")) {
		scan_from(h, r->element[0]->str);
	} else {
		const char *argv[] = {"PING"};
		if (cmd_argv(h, on_resync_done, NULL, 1, argv, NULL) < 0)
			conn_lost(h, "cannot send");
	}
}

static void scan_from(struct hastore *h, const char *cursor)
{
	const char *argv[] = {"SCAN", cursor, "MATCH", h->k_match, "COUNT", SCAN_COUNT};

	if (cmd_argv(h, on_scan, NULL, 6, argv, NULL) < 0)
		conn_lost(h, "cannot send");
}

static void start_resync(struct hastore *h)
{
	const char *argv[] = {"GET", h->k_epoch};

	h->resyncing = true;
	if (h->ops.resync)
		h->ops.resync(h->arg, true, false);
	if (cmd_argv(h, on_resync_epoch, NULL, 2, argv, NULL) < 0) {
		conn_lost(h, "cannot send");
		return;
	}
	scan_from(h, "0");
}

static void on_sub(redisAsyncContext *ac, void *reply, void *priv)
{
	struct hastore *h = ac->data;
	redisReply *r = reply, *kind, *data;

	(void)priv;
	if (h->closing || ac != h->sub || !r || r->type != REDIS_REPLY_ARRAY || r->elements != 3)
		return;
	kind = r->element[0];
	data = r->element[2];
	if (kind->type != REDIS_REPLY_STRING)
		return;
	if (!strcmp(kind->str, "subscribe")) {
		h->subscribed = true;
		if (h->ready && h->role == HASTORE_STANDBY)
			start_resync(h);
		return;
	}
	if (strcmp(kind->str, "message") || data->type != REDIS_REPLY_STRING || h->role != HASTORE_STANDBY)
		return;
	if (h->resyncing) {
		struct held *m = malloc(sizeof(*m) + data->len + 1);
		if (!m) {
			conn_lost(h, "out of memory");
			return;
		}
		m->next = NULL;
		m->len = data->len;
		memcpy(m->msg, data->str, data->len + 1);
		*h->held_tail = m;
		h->held_tail = &m->next;
		return;
	}
	apply_msg(h, data->str, data->len);
}

static void start_follow(struct hastore *h)
{
	const char *argv[] = {"SUBSCRIBE", h->k_chan};

	if (!h->ready || h->role != HASTORE_STANDBY || h->sub)
		return;
	if (!(h->sub = ctx_open(h, &h->server)) ||
	    redisAsyncCommandArgv(h->sub, on_sub, NULL, 2, argv, NULL) != REDIS_OK)
		conn_lost(h, "cannot subscribe");
}

/* ---- roles ---- */

void hastore_promote(struct hastore *h)
{
	if (h->role == HASTORE_ACTIVE) {
		if (h->ready && !h->have_epoch)
			do_promote(h);
		return;
	}
	h->want_auto = false;
	stop_follow(h);
	h->role = HASTORE_ACTIVE;
	h->have_epoch = false;
	h->want_promote = true;
	h->st.promotions++;
	log_notice("ha: role active (promoted): %s", h->ready ? "taking a new epoch" :
			   "serving from memory, a new epoch is taken when redis answers");
	if (h->ops.role)
		h->ops.role(h->arg, HASTORE_ACTIVE, h->epoch, "promoted");
	if (h->ready)
		do_promote(h);
}

void hastore_demote(struct hastore *h, const char *why)
{
	h->want_auto = false;
	if (h->role == HASTORE_STANDBY)
		return;
	h->role = HASTORE_STANDBY;
	h->have_epoch = false;
	h->want_promote = false;
	h->promoting = false;
	h->need_push = false;
	q_clear(h);
	h->st.demotions++;
	log_notice("ha: role standby (%s): no more writes, following redis", why);
	if (h->ops.role)
		h->ops.role(h->arg, HASTORE_STANDBY, h->epoch, why);
	start_follow(h);
}

enum hastore_role hastore_role(const struct hastore *h)
{
	return h->role;
}

bool hastore_writing(const struct hastore *h)
{
	return h->role == HASTORE_ACTIVE && h->ready && h->have_epoch;
}

void hastore_stats(const struct hastore *h, struct hastore_stats *st)
{
	*st = h->st;
	st->role = h->role;
	st->epoch = h->epoch;
	st->lag_ms = h->newest_ms ? wall_ms() - h->newest_ms : -1;
	if (st->lag_ms < -1)
		st->lag_ms = 0;
}

/* ---- timers ---- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct hastore *h = arg;
	uint64_t now = clock_mono_ms();

	(void)fd;
	(void)what;
	if (h->connect_ms && now - h->connect_ms > h->c.timeout_ms && h->sent) {
		ctx_drop(h, &h->sent);
		ask_sentinel(h);
		return;
	}
	if (h->connect_ms && now - h->connect_ms > h->c.timeout_ms) {
		h->connect_ms = 0;
		conn_lost(h, "no answer (connect timeout)");
		return;
	}
	if (h->ready && h->pending && now - h->progress_ms > h->c.timeout_ms) {
		conn_lost(h, "no answer (request timeout)");
		return;
	}
	if (hastore_writing(h) && !h->nq && now - h->last_write_ms >= HEARTBEAT_MS) {
		h->last_write_ms = now;
		if (send_batch(h, 0, 0) < 0)
			conn_lost(h, "cannot send");
	}
}

struct hastore *hastore_new(struct event_base *base, const struct hastore_conf *c,
			    const struct hastore_ops *ops, void *arg)
{
	struct hastore *h;
	struct timeval tick = {0, TICK_MS * 1000};

	if (!hastore_prefix_ok(c->prefix) || !key_chars_ok(c->node, HASTORE_NAME_MAX) ||
	    (!c->redis.port && (!c->nsentinels || c->nsentinels > HASTORE_ADDR_MAX || !c->master[0]))) {
		log_err("ha: bad configuration (prefix, node, or no redis address)");
		return NULL;
	}
	if (!(h = calloc(1, sizeof(*h))))
		return NULL;
	h->base = base;
	h->c = *c;
	if (!h->c.timeout_ms)
		h->c.timeout_ms = 2000;
	if (ops)
		h->ops = *ops;
	h->arg = arg;
	snprintf(h->k_epoch, sizeof(h->k_epoch), "%s:epoch", c->prefix);
	snprintf(h->k_active, sizeof(h->k_active), "%s:active", c->prefix);
	snprintf(h->k_chan, sizeof(h->k_chan), "%s:changes", c->prefix);
	snprintf(h->k_match, sizeof(h->k_match), "%s:r:*", c->prefix);
	snprintf(h->k_rec, sizeof(h->k_rec), "%s:r:", c->prefix);
	h->k_rec_len = strlen(h->k_rec);
	h->held_tail = &h->held;
	h->backoff_ms = BACKOFF_MIN_MS;
	switch (c->start) {
	case HASTORE_START_ACTIVE:
		h->role = HASTORE_ACTIVE;
		h->want_promote = true;
		break;
	case HASTORE_START_AUTO:
		h->want_auto = true;
		/* fall through */
	case HASTORE_START_STANDBY:
		h->role = HASTORE_STANDBY;
		break;
	}
	if (!(h->flush_ev = event_new(base, -1, 0, on_flush, h)) ||
	    !(h->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, h)) ||
	    !(h->retry_ev = evtimer_new(base, on_retry, h)) || event_add(h->tick_ev, &tick) < 0) {
		hastore_free(h);
		return NULL;
	}
	{
		struct timeval now = {0, 0};
		evtimer_add(h->retry_ev, &now); /* connect from the loop */
	}
	log_notice("ha: node %s starts %s%s in %s", c->node, hastore_role_name(h->role),
		   c->start == HASTORE_START_AUTO ? " (auto: until redis says)" : "", c->prefix);
	return h;
}

void hastore_free(struct hastore *h)
{
	if (!h)
		return;
	h->closing = true;
	ctx_drop(h, &h->sub);
	ctx_drop(h, &h->cmd);
	ctx_drop(h, &h->sent);
	q_clear(h);
	free(h->q);
	held_clear(h);
	if (h->flush_ev)
		event_free(h->flush_ev);
	if (h->tick_ev)
		event_free(h->tick_ev);
	if (h->retry_ev)
		event_free(h->retry_ev);
	free(h);
}

/* ---- configuration ---- */

_Static_assert(sizeof(enum hastore_start) == sizeof(int), "conftab_enum stores an int");

const struct conftab_choice hastore_conf_roles[] = {
	{"standby", HASTORE_START_STANDBY}, {"active", HASTORE_START_ACTIVE}, {"auto", HASTORE_START_AUTO},
	{NULL, 0},
};

static void addr_init(const struct conftab_item *it, char *base)
{
	memset(base + it->off, 0, sizeof(struct hastore_addr));
}

static void addr_load(struct conftab *ct, const config_setting_t *s, const struct conftab_item *it,
		      char *base)
{
	const char *v = conftab_str_of(ct, s);

	if (v && !hastore_addr_parse(v, (struct hastore_addr *)(void *)(base + it->off)))
		conftab_err(ct, s, NULL, "\"%s\" is not \"address:port\" (an IP address: \"192.0.2.50:6379\", "
			    "\"[2001:db8::50]:6379\")", v);
}

struct addrs_ctx {
	const struct conftab_item *it;
	char *base;
};

static bool addrs_one(struct conftab *ct, const config_setting_t *e, const char *v, void *arg)
{
	struct addrs_ctx *x = arg;
	struct hastore_addr *a = (struct hastore_addr *)(void *)(x->base + x->it->off);
	unsigned *n = (unsigned *)(void *)(x->base + x->it->off2);

	if ((long long)*n >= x->it->max)
		conftab_err(ct, e, NULL, "more than %lld addresses", x->it->max);
	else if (!hastore_addr_parse(v, &a[*n]))
		conftab_err(ct, e, NULL, "\"%s\" is not \"address:port\" (an IP address)", v);
	else
		(*n)++;
	return true;
}

static void addrs_load(struct conftab *ct, const config_setting_t *s, const struct conftab_item *it,
		       char *base)
{
	struct addrs_ctx x = {it, base};

	conftab_each_str(ct, s, "\"192.0.2.51:26379\"", addrs_one, &x);
}

static void key_load(struct conftab *ct, const config_setting_t *s, const struct conftab_item *it,
		     char *base)
{
	const char *v = conftab_str_get(ct, s, it);

	if (!v)
		return;
	if (v[0] && !key_chars_ok(v, it->size)) {
		conftab_err(ct, s, NULL, "\"%s\" is not 1 to %zu of [A-Za-z0-9._:-]", v, it->size - 1);
		return;
	}
	snprintf(base + it->off, it->size, "%s", v);
}

const struct conftab_type hastore_conf_addr = {addr_init, addr_load};
const struct conftab_type hastore_conf_addrs = {NULL, addrs_load};
const struct conftab_type hastore_conf_key = {conftab_str_init, key_load};

void hastore_conf_check(struct conftab *ct, const config_t *cfg, const char *group,
			const struct hastore_conf *c)
{
	const config_setting_t *g = config_lookup(cfg, group);
	char path[80];

	if (!c->enabled)
		return;
	snprintf(path, sizeof(path), "%s.node", group);
	if (!c->node[0])
		conftab_err(ct, g, path, "missing: each node of the pair needs its own name");
	snprintf(path, sizeof(path), "%s.redis", group);
	if (!c->redis.port && !c->nsentinels)
		conftab_err(ct, g, path, "missing: give redis (address:port) or sentinels and master");
	else if (c->redis.port && c->nsentinels)
		conftab_err(ct, g, path, "give redis or sentinels, not both");
	snprintf(path, sizeof(path), "%s.master", group);
	if (c->nsentinels && !c->master[0])
		conftab_err(ct, g, path, "missing: the Sentinel master name goes with sentinels");
}
