/* Golden transcripts of control-channel sessions against natd's real
 * control server (ctl_server.c) and address manager (manager.c).
 *
 * Each test starts the server on a private event_base with a socket in a
 * temporary directory and a realm set built from CONF_TEXT, connects a
 * client socket, and plays one transcript file from natd/tests/golden/:
 * the client's bytes are written as they are, and every message natd
 * sends back must match the next expected message. The event loop is
 * driven with event_base_loop(EVLOOP_NONBLOCK) in bounded loops, so
 * nothing here can hang.
 *
 * Transcript format (ctl-*.hex). The grammar of libcontrol's golden files
 * (libcontrol/tests/golden.h): '#' starts a comment to the end of the
 * line, a line starting with '@' is a directive, and hex digits after
 * a directive (whitespace anywhere) are its bytes. Directives:
 *   @connect [uid=N | user=NAME]  open a new client connection (closing
 *                       the previous one); natd sees the peer as that uid
 *                       (SO_PEERCRED is rewritten by a --wrap of
 *                       getsockopt), 0 = root by default
 *   @send               bytes the client writes (anything, even garbage)
 *   @eof                the client shuts down its sending side
 *   @recv               one message natd must send next
 *   @closed             natd closes the connection, sending nothing more
 *   @quiet              natd sends nothing (for a while)
 * In @send and @recv the word "epoch" stands for the 8 bytes of natd's
 * epoch (random per start: mgr_epoch()). In @recv only, the mask
 * tokens are: ".." any one byte (a token may mix them with hex pairs:
 * "00..") and "*" any run of bytes (zero or more, as in a shell glob).
 * After the last directive nothing more may arrive.
 *
 * With CTL_GOLDEN_DUMP=1 every @recv prints "recv <file>:<line> <hex of
 * what arrived>" and nothing fails. natd/tests/golden/gen-ctl.py uses that
 * to (re)write the files: it holds the client's side of each transcript,
 * records natd's side, annotates it with libcontrol's golden_dump and puts
 * the masks in (the epoch, natd's version in HELLO_R, the seconds left in
 * LIST_ITEM and EVENT). Review its changes with git diff.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "natdenv.h"
#include "conf.h"
#include "ctl_server.h"
#include "manager.h"
#include "pool.h"
#include "realmconf.h"
#include "xlate.h"

#ifndef GOLDEN_DIR
#error "GOLDEN_DIR must name natd/tests/golden"
#endif

/* One pool address and a one-address transit pool, so that every
 * allocation is deterministic (port preservation keeps E's port). */
static const char *const CONF_FMT =
	"realms = (\n"
	"  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },\n"
	"  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];\n"
	"    pool = { addresses = [ \"198.51.100.1/32\" ]; ports = \"1024-65535\"; };\n"
	"    transit_pools = ( { name = \"carrier\"; addresses = [ \"198.51.100.129/32\" ];\n"
	"                        ports = \"40000-40999\"; } ); }\n"
	");\n"
	"control: {\n"
	"  socket = \"%s\";\n"
	"  default_lifetime = 300;\n"
	"  max_lifetime = 3600;\n"
	"  handshake_timeout = 1;\n"
	"  clients = ( { user = \"nobody\"; realms = [ \"outside\" ];\n"
	"                prefixes = [ \"10.1.0.0/25\" ]; quota = 2; } );\n"
	"};\n";

/* ---- SO_PEERCRED as the transcript wants it ---- */

static long fake_uid = -1;

int __real_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int __wrap_getsockopt(int fd, int level, int name, void *val, socklen_t *len);
int __wrap_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	int r = __real_getsockopt(fd, level, name, val, len);

	if (r == 0 && level == SOL_SOCKET && name == SO_PEERCRED && fake_uid >= 0 &&
	    *len >= sizeof(struct ucred))
		((struct ucred *)val)->uid = (uid_t)fake_uid;
	return r;
}

/* ---- transcripts (see the header comment) and the server under test ---- */

enum { EL_BYTE, EL_ANY, EL_STAR };
struct el {
	uint8_t kind, b;
};

enum op { OP_CONNECT, OP_SEND, OP_EOF, OP_RECV, OP_CLOSED, OP_QUIET };

struct step {
	enum op op;
	int line;
	char arg[64];
	struct el *els;
	size_t nels, cap;
};

struct script {
	char name[64];
	struct step *steps;
	size_t n;
};

struct client {
	int fd;
	bool eof;
	uint8_t *in;
	size_t len;
};

static void script_free(struct script *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->steps[i].els);
	free(sc->steps);
	sc->steps = NULL;
	sc->n = 0;
}

struct env {
	char dir[64], sock[96];
	struct natdenv nd; /* natd's tables and manager */
	struct event_base *base;
	struct ctl_server *srv;
	/* what play() holds, freed by teardown even when a check fails */
	struct script sc;
	struct client c;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	char text[2048];

	assert_non_null(e);
	e->c.fd = -1;
	snprintf(e->dir, sizeof(e->dir), "/tmp/test_ctl_golden_XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	snprintf(e->sock, sizeof(e->sock), "%s/ctl.sock", e->dir);
	snprintf(text, sizeof(text), CONF_FMT, e->sock);
	natdenv_init(&e->nd, text);
	assert_non_null(e->base = event_base_new());
	assert_int_equal(ctl_server_start(e->base, &e->nd.conf, e->nd.core->mgr, &e->srv), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	script_free(&e->sc);
	free(e->c.in);
	if (e->c.fd >= 0)
		close(e->c.fd);
	ctl_server_free(e->srv);
	event_base_free(e->base);
	natdenv_fini(&e->nd);
	unlink(e->sock);
	rmdir(e->dir);
	free(e);
	fake_uid = -1;
	return 0;
}

/* ---- transcripts ---- */

static void add_el(struct step *s, uint8_t kind, uint8_t b)
{
	if (s->nels == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		assert_non_null(s->els = realloc(s->els, s->cap * sizeof(*s->els)));
	}
	s->els[s->nels++] = (struct el){kind, b};
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) >= 'a' && tolower(c) <= 'f' ? tolower(c) - 'a' + 10 : -1;
}

/* One token of a @send/@recv body. */
static void add_token(struct script *sc, struct step *s, const char *tok, uint64_t epoch)
{
	size_t len = strlen(tok);

	if (!strcmp(tok, "epoch")) {
		for (int i = 7; i >= 0; i--)
			add_el(s, EL_BYTE, (uint8_t)(epoch >> (8 * i)));
		return;
	}
	if (!strcmp(tok, "*")) {
		if (s->op != OP_RECV)
			fail_msg("%s:%d: '*' only in @recv", sc->name, s->line);
		add_el(s, EL_STAR, 0);
		return;
	}
	if (len % 2)
		fail_msg("%s:%d: odd token '%s'", sc->name, s->line, tok);
	for (size_t i = 0; i < len; i += 2) {
		if (tok[i] == '.' && tok[i + 1] == '.') {
			if (s->op != OP_RECV)
				fail_msg("%s:%d: '..' only in @recv", sc->name, s->line);
			add_el(s, EL_ANY, 0);
		} else if (hexval(tok[i]) >= 0 && hexval(tok[i + 1]) >= 0) {
			add_el(s, EL_BYTE, (uint8_t)(hexval(tok[i]) << 4 | hexval(tok[i + 1])));
		} else {
			fail_msg("%s:%d: bad token '%s'", sc->name, s->line, tok);
		}
	}
}

static void script_load(struct script *sc, const char *file, uint64_t epoch)
{
	char path[512], line[1024];
	FILE *f;
	int lineno = 0;
	struct step *cur = NULL;

	memset(sc, 0, sizeof(*sc));
	snprintf(sc->name, sizeof(sc->name), "%s", file);
	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, file);
	if (!(f = fopen(path, "r")))
		fail_msg("cannot open %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '#'), *tok, *save;

		lineno++;
		if (p)
			*p = '\0';
		p = line + strspn(line, " \t\r\n");
		if (*p == '@') {
			static const char *const ops[] = {"connect", "send", "eof", "recv", "closed", "quiet"};
			char word[32] = "";
			size_t k;

			assert_non_null(sc->steps = realloc(sc->steps, (sc->n + 1) * sizeof(*sc->steps)));
			cur = &sc->steps[sc->n++];
			memset(cur, 0, sizeof(*cur));
			cur->line = lineno;
			sscanf(p + 1, "%31s %63[^\r\n]", word, cur->arg);
			for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
				if (!strcmp(word, ops[k]))
					break;
			if (k == sizeof(ops) / sizeof(ops[0]))
				fail_msg("%s:%d: unknown directive @%s", file, lineno, word);
			cur->op = (enum op)k;
			continue;
		}
		for (tok = strtok_r(p, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
			if (!cur || (cur->op != OP_SEND && cur->op != OP_RECV))
				fail_msg("%s:%d: bytes outside @send/@recv", file, lineno);
			add_token(sc, cur, tok, epoch);
		}
	}
	fclose(f);
	if (sc->n == 0)
		fail_msg("%s: no directives", file);
}

/* Glob match of pattern p (n elements) against bytes b (len). */
static bool glob(const struct el *p, size_t n, const uint8_t *b, size_t len)
{
	size_t i = 0, j = 0, star = (size_t)-1, mark = 0;

	while (j < len) {
		if (i < n && (p[i].kind == EL_ANY || (p[i].kind == EL_BYTE && p[i].b == b[j]))) {
			i++;
			j++;
		} else if (i < n && p[i].kind == EL_STAR) {
			star = i++;
			mark = j;
		} else if (star != (size_t)-1) {
			i = star + 1;
			j = ++mark;
		} else {
			return false;
		}
	}
	while (i < n && p[i].kind == EL_STAR)
		i++;
	return i == n;
}

static void hex_of(char *out, size_t cap, const uint8_t *b, size_t n)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && o + 4 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%02x", b[i]);
}

static void pattern_of(char *out, size_t cap, const struct el *p, size_t n)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && o + 4 < cap; i++) {
		if (p[i].kind == EL_BYTE)
			o += (size_t)snprintf(out + o, cap - o, "%02x", p[i].b);
		else
			o += (size_t)snprintf(out + o, cap - o, "%s", p[i].kind == EL_STAR ? "*" : "..");
	}
}

/* ---- the client side ---- */

#define PUMP_ROUNDS 3000 /* x ~1 ms when idle: the bound of every wait */

/* One round: natd's loop once, then whatever arrived. true if anything
 * happened on the client side. */
static bool pump(struct env *e, struct client *c)
{
	bool got = false;

	event_base_loop(e->base, EVLOOP_NONBLOCK);
	while (c->fd >= 0 && !c->eof) {
		ssize_t n;

		if (c->len + 4096 > NC_MSG_MAX * 4)
			break;
		n = recv(c->fd, c->in + c->len, 4096, 0);
		if (n > 0) {
			c->len += (size_t)n;
			got = true;
		} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			c->eof = true; /* EOF, or ECONNRESET */
			got = true;
		} else {
			break;
		}
	}
	return got;
}

static void pump_idle(struct env *e, struct client *c, int rounds)
{
	for (int i = 0; i < rounds; i++)
		if (!pump(e, c))
			usleep(1000);
}

static void client_close(struct env *e, struct client *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
		pump_idle(e, c, 5); /* natd sees the EOF and frees its side */
	}
	c->eof = false;
	c->len = 0;
}

static void client_connect(struct env *e, struct client *c, const char *arg, const char *where)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};

	client_close(e, c);
	fake_uid = 0;
	if (!strncmp(arg, "uid=", 4)) {
		fake_uid = strtol(arg + 4, NULL, 10);
	} else if (!strncmp(arg, "user=", 5)) {
		struct passwd *pw = getpwnam(arg + 5);
		if (!pw)
			skip(); /* that user does not exist on this machine */
		fake_uid = pw->pw_uid;
	} else if (arg[0]) {
		fail_msg("%s: bad @connect argument '%s'", where, arg);
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", e->sock);
	assert_true((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0);
	/* the listen backlog takes it before natd's loop runs */
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fail_msg("%s: connect %s: %s", where, e->sock, strerror(errno));
	assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
	pump_idle(e, c, 3);
}

static void client_send(struct env *e, struct client *c, const struct step *s, const char *where)
{
	size_t off = 0;
	uint8_t *buf = malloc(s->nels + 1);

	assert_non_null(buf);
	for (size_t i = 0; i < s->nels; i++)
		buf[i] = s->els[i].b;
	for (int round = 0; off < s->nels && round < PUMP_ROUNDS; round++) {
		ssize_t n = send(c->fd, buf + off, s->nels - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			break; /* natd closed: what follows in the script says if that is right */
		pump(e, c);
	}
	free(buf);
	(void)where;
	pump_idle(e, c, 2);
}

/* Length of the next whole message in c->in (0: not yet). */
static size_t next_msg(struct client *c, const char *where)
{
	int n;

	if (c->len == 0)
		return 0;
	n = nc_frame(c->in, c->len);
	if (n < 0)
		fail_msg("%s: natd sent bytes that do not frame (%s)", where, nc_strerror(n));
	return (size_t)n;
}

static void consume(struct client *c, size_t n)
{
	memmove(c->in, c->in + n, c->len - n);
	c->len -= n;
}

static void play(struct env *e, const char *file)
{
	struct script *scp = &e->sc;
	struct client *cp = &e->c;
	bool dump = getenv("CTL_GOLDEN_DUMP") != NULL;
	char where[128];
	static char a[NC_MSG_MAX * 2 + 16], b[NC_MSG_MAX * 3 + 16];

	script_load(scp, file, mgr_epoch(e->nd.core->mgr));
	assert_non_null(cp->in = malloc(NC_MSG_MAX * 4 + 4096));
	for (size_t i = 0; i < scp->n; i++) {
		const struct step *s = &scp->steps[i];
		size_t n = 0;
		int r;

		snprintf(where, sizeof(where), "%s:%d", file, s->line);
		if (s->op != OP_CONNECT && cp->fd < 0)
			fail_msg("%s: no @connect yet", where);
		switch (s->op) {
		case OP_CONNECT:
			client_connect(e, cp, s->arg, where);
			break;
		case OP_SEND:
			client_send(e, cp, s, where);
			break;
		case OP_EOF:
			shutdown(cp->fd, SHUT_WR);
			pump_idle(e, cp, 2);
			break;
		case OP_RECV:
			for (r = 0; r < PUMP_ROUNDS && !(n = next_msg(cp, where)) && !cp->eof; r++)
				if (!pump(e, cp))
					usleep(1000);
			if (!n && !(n = next_msg(cp, where))) {
				if (dump) {
					printf("recv %s (nothing%s)\n", where, cp->eof ? ", closed" : "");
					break;
				}
				fail_msg("%s: expected a message, natd %s", where,
					 cp->eof ? "closed the connection" : "sent nothing");
			}
			hex_of(a, sizeof(a), cp->in, n);
			if (dump) {
				printf("recv %s %s\n", where, a);
			} else if (!glob(s->els, s->nels, cp->in, n)) {
				pattern_of(b, sizeof(b), s->els, s->nels);
				fail_msg("%s: reply differs\n  expected %s\n  got      %s", where, b, a);
			}
			consume(cp, n);
			break;
		case OP_CLOSED:
			for (r = 0; r < PUMP_ROUNDS && !cp->eof && !cp->len; r++)
				if (!pump(e, cp))
					usleep(1000);
			if (cp->len) {
				hex_of(a, sizeof(a), cp->in, cp->len);
				if (dump)
					printf("recv %s (more: %s)\n", where, a);
				else
					fail_msg("%s: expected the connection closed, got %s", where, a);
				cp->len = 0;
			}
			if (!cp->eof && !dump)
				fail_msg("%s: natd did not close the connection", where);
			break;
		case OP_QUIET:
			pump_idle(e, cp, 50);
			if (cp->len || cp->eof) {
				hex_of(a, sizeof(a), cp->in, cp->len);
				if (dump)
					printf("recv %s (not quiet: %s%s)\n", where, a, cp->eof ? " closed" : "");
				else
					fail_msg("%s: expected nothing, got %s%s", where, a,
						 cp->eof ? " and the connection closed" : "");
				cp->len = 0;
			}
			break;
		}
	}
	/* nothing unexpected after the last step */
	pump_idle(e, cp, 20);
	if (cp->len) {
		hex_of(a, sizeof(a), cp->in, cp->len);
		if (dump)
			printf("recv %s:end (more: %s)\n", file, a);
		else
			fail_msg("%s: unexpected bytes after the transcript: %s", file, a);
	}
	client_close(e, cp);
	free(cp->in);
	cp->in = NULL;
	script_free(scp);
}

/* ---- tests ---- */

/* HELLO, CAPS, BIND (terminating, transit, RTP pair), LIST, REFRESH,
 * RELEASE, STATS, WATCH with its events, and the ordinary refusals. */
static void test_session(void **state)
{
	play(*state, "ctl-session.hex");
}

/* Requests before HELLO, undecodable and inconsistent BINDs, unknown
 * types, replies sent by a client after HELLO, a truncated message,
 * unframeable garbage, a second HELLO, a connection that never says
 * HELLO: each answered as libcontrol/proto.h says, and the connection kept or
 * closed accordingly. */
static void test_hostile(void **state)
{
	play(*state, "ctl-hostile.hex");
}

/* Messages that cannot be attributed to a request type (a reply or part
 * type from a client, an unknown version), before HELLO and after it:
 * ERROR with the offending request id, as libcontrol/proto.h section 5 says. */
static void test_unattributable(void **state)
{
	play(*state, "ctl-unattributable.hex");
}

/* Who may do what: an unlisted user is refused at HELLO; a listed one is
 * held to its prefixes and quota and cannot touch root's binding. */
static void test_policy(void **state)
{
	play(*state, "ctl-policy.hex");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unattributable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
