/* fuzz_stream: SIP over a stream as sipproxy reads it under TLS: the
 * shared framer (sipproxy/framer.c) behind OpenSSL's records
 * (transport_tls.c's tpt_write/tpt_read), and the TLS handshake fed
 * garbage (tpt_handshake).
 *
 * Set-up (once): a throw-away CA and certificate (common/tests/tlstest.c),
 * the contexts built from a `tls` block by tpt_new() as the daemon does,
 * and one client/server TLS session over a socketpair, its handshake done.
 *
 * Input: a mode byte, a size byte, four chunk bytes, then the stream.
 *   mode bit 0 clear: the stream goes through the TLS session: the client
 *     writes it in chunks of 1 + chunk[i % 4] bytes (one record each);
 *     the server reads as transport.c does (into a flat buffer grown from
 *     64 bytes by doubling up to max = 256 + 64 * size, each read taking
 *     what fits, then the framer until it needs more), so messages and
 *     pings straddle records and reads. The same bytes framed in one piece
 *     must give the same events (messages, with the same bytes; pings; the
 *     first error) up to the first error, after which transport.c closes
 *     the stream. Every message ends its header block with CRLFCRLF and is
 *     at most max bytes.
 *   mode bit 0 set: the stream is a client's first flight to a fresh
 *     server SSL (tpt_ssl over a socketpair whose other end is then shut):
 *     tpt_handshake() must fail or wait, never complete, in a bounded
 *     number of steps.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "framer.h"
#include "fuzz_common.h"
#include "log.h"
#include "sp_conf.h"
#include "tlstest.h"
#include "transport_tls.h"

#define MAX_EVENTS 4096
#define INBUF_MIN 64

static char dir[256];
static struct sp_conf conf;
static struct tpt *tpt;
static SSL *cli, *srv;
static int sv[2] = {-1, -1};
static struct sockaddr_in peer;

struct ev {
	enum framer_ev kind;
	size_t off, len; /* a message: where it starts in the stream, its size */
};

struct evlog {
	struct ev e[MAX_EVENTS];
	size_t n;
	bool ended; /* an error, or MAX_EVENTS */
};

static void cleanup(void)
{
	SSL_free(cli);
	SSL_free(srv);
	tpt_free(tpt);
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	tlstest_rmdir(dir);
}

static void add(struct evlog *l, enum framer_ev k, size_t off, size_t len)
{
	if (l->ended)
		return;
	if (l->n == MAX_EVENTS) {
		l->ended = true;
		return;
	}
	l->e[l->n++] = (struct ev){k, off, len};
	if (k == FRAMER_BAD || k == FRAMER_HUGE)
		l->ended = true;
}

/* Frame buf[0..*len) (which starts at stream offset *base) as transport.c's
 * stream_frame does; keep the rest at the front. */
static void frame(struct framer *f, char *buf, size_t *len, size_t *base, size_t max,
		  const uint8_t *stream, struct evlog *l)
{
	size_t off = 0, used;

	while (!l->ended) {
		enum framer_ev k = framer_next(f, buf + off, *len - off, max, &used);

		if (k == FRAMER_MORE)
			break;
		if (k == FRAMER_MSG) {
			FUZZ_CHECK(used <= max && used >= 4, "message of %zu bytes (max %zu)", used, max);
			FUZZ_CHECK(memmem(buf + off, used, "\r\n\r\n", 4) != NULL, "message without a blank line");
			FUZZ_CHECK(!memcmp(buf + off, stream + *base + off, used),
				   "message bytes differ from the stream's");
		}
		add(l, k, *base + off, used);
		off += used;
	}
	memmove(buf, buf + off, *len - off);
	*len -= off;
	*base += off;
}

static void pump_handshake(void)
{
	int rc = 0, rs = 0, i;

	for (i = 0; i < 200 && !(rc == TPT_DONE && rs == TPT_DONE); i++) {
		if (rc != TPT_DONE)
			rc = tpt_handshake(tpt, cli, false, &peer);
		if (rs != TPT_DONE)
			rs = tpt_handshake(tpt, srv, true, &peer);
		if (rc == TPT_FAIL || rs == TPT_FAIL)
			break;
	}
	if (rc != TPT_DONE || rs != TPT_DONE) {
		fprintf(stderr, "fuzz_stream: handshake failed (%d %d)\n", rc, rs);
		abort();
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[512];
	int big = 1 << 20;

	(void)argc;
	(void)argv;
	log_level = LOG_ERR;
	signal(SIGPIPE, SIG_IGN);
	if (tlstest_tmpdir(dir, sizeof(dir)) < 0 || tlstest_ca(dir, "ca") < 0 ||
	    tlstest_leaf(dir, "ca", "srv", "sip.example") < 0) {
		fprintf(stderr, "fuzz_stream: certificates failed\n");
		abort();
	}
	atexit(cleanup);
	tlstest_path(conf.tls.cert, sizeof(conf.tls.cert), dir, "srv", "pem");
	tlstest_path(conf.tls.key, sizeof(conf.tls.key), dir, "srv", "key");
	tlstest_path(conf.tls.ca, sizeof(conf.tls.ca), dir, "ca", "pem");
	conf.tls.verify_peers = true;
	conf.tls.handshake_timeout = 5;
	conf.tls.npeers = 1;
	inet_pton(AF_INET, "127.0.0.1", &conf.tls.peers[0].prefix.addr);
	conf.tls.peers[0].prefix.mask = 0xffffffffu;
	conf.tls.peers[0].prefix.len = 32;
	snprintf(conf.tls.peers[0].name, sizeof(conf.tls.peers[0].name), "sip.example");
	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = conf.tls.peers[0].prefix.addr;
	if (tpt_new(&conf, &tpt, err, sizeof(err)) < 0 || !tpt) {
		fprintf(stderr, "fuzz_stream: %s\n", err);
		abort();
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	cli = tpt_ssl(tpt, sv[0], false, &peer);
	srv = tpt_ssl(tpt, sv[1], true, &peer);
	if (!cli || !srv)
		abort();
	pump_handshake();
	return 0;
}

/* Server side: read what is there into buf (grown like transport.c's) and frame it. */
static void server_read(char **buf, size_t *len, size_t *cap, size_t *base, size_t max,
			struct framer *f, const uint8_t *stream, struct evlog *l, size_t *got)
{
	for (;;) {
		ssize_t n;
		char scratch[512];

		if (l->ended) { /* transport.c has closed; drain for the next input */
			n = tpt_read(srv, scratch, sizeof(scratch));
			if (n <= 0)
				return;
			*got += (size_t)n;
			continue;
		}
		if (*len == *cap) {
			size_t nc = *cap ? *cap * 2 : INBUF_MIN;

			if (nc < f->need)
				nc = f->need;
			if (nc > max)
				nc = max;
			FUZZ_CHECK(nc > *cap, "input buffer full at %zu (max %zu) and the framer waits", *cap, max);
			*buf = realloc(*buf, nc);
			if (!*buf)
				abort();
			*cap = nc;
		}
		n = tpt_read(srv, *buf + *len, *cap - *len);
		if (n <= 0) {
			FUZZ_CHECK(n == TPT_WANT_READ, "tpt_read: %zd", n);
			return;
		}
		*len += (size_t)n;
		*got += (size_t)n;
		frame(f, *buf, len, base, max, stream, l);
	}
}

static void run_tls(const uint8_t *chunks, const uint8_t *s, size_t n, size_t max)
{
	static struct evlog whole, split;
	struct framer f = {0, 0};
	char *buf = NULL, *copy;
	size_t len = 0, cap = 0, base = 0, sent = 0, got = 0, i = 0, wl, wb;

	/* the reference: the stream in one piece */
	memset(&whole, 0, sizeof(whole));
	memset(&split, 0, sizeof(split));
	copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	memcpy(copy, s, n);
	wl = n;
	wb = 0;
	frame(&f, copy, &wl, &wb, max, s, &whole);
	free(copy);
	/* through TLS */
	memset(&f, 0, sizeof(f));
	while (sent < n) {
		size_t c = 1u + chunks[i++ % 4];
		ssize_t w;

		if (c > n - sent)
			c = n - sent;
		w = tpt_write(cli, s + sent, c);
		if (w > 0)
			sent += (size_t)w;
		else
			FUZZ_CHECK(w == TPT_WANT_WRITE, "tpt_write: %zd", w);
		server_read(&buf, &len, &cap, &base, max, &f, s, &split, &got);
	}
	server_read(&buf, &len, &cap, &base, max, &f, s, &split, &got);
	FUZZ_CHECK(got == n, "sent %zu bytes, the server read %zu", n, got);
	free(buf);
	/* the same events, the first error included, however the stream was cut */
	for (i = 0; i < whole.n && i < split.n; i++) {
		const struct ev *a = &whole.e[i], *b = &split.e[i];

		FUZZ_CHECK(a->kind == b->kind && a->off == b->off && a->len == b->len,
			   "event %zu: whole %d@%zu+%zu, through TLS %d@%zu+%zu", i, a->kind, a->off, a->len,
			   b->kind, b->off, b->len);
	}
	FUZZ_CHECK(whole.n == split.n, "%zu events whole, %zu through TLS", whole.n, split.n);
}

static void run_handshake(const uint8_t *s, size_t n)
{
	int p[2], rc = TPT_WANT_READ, i;
	SSL *fresh;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p) < 0)
		abort();
	if (n && write(p[0], s, n) < 0)
		abort();
	shutdown(p[0], SHUT_WR);
	fresh = tpt_ssl(tpt, p[1], true, &peer);
	if (!fresh)
		abort();
	for (i = 0; i < 64 && (rc == TPT_WANT_READ || rc == TPT_WANT_WRITE); i++)
		rc = tpt_handshake(tpt, fresh, true, &peer);
	FUZZ_CHECK(rc != TPT_DONE, "a handshake completed from %zu bytes of input", n);
	SSL_free(fresh);
	close(p[0]);
	close(p[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = {data, size};
	uint8_t mode = fin_u8(&in), sz = fin_u8(&in), chunks[4];
	size_t max = 256 + 64 * (size_t)sz;

	fuzz_rand_reset();
	for (int i = 0; i < 4; i++)
		chunks[i] = fin_u8(&in);
	if (in.n > 16384)
		return 0;
	if (mode & 1)
		run_handshake(in.p, in.n);
	else
		run_tls(chunks, in.p, in.n, max);
	return 0;
}
