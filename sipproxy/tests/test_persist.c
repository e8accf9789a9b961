/* Unit tests for persist.c, sipproxy's state file.
 *
 * A registrar, a media module (its natd is a socket that does not exist,
 * so nothing is ever sent) and a configuration from text; the state file
 * is a file in a temporary directory; the registrar's monotonic clock is
 * an int64_t the tests set by hand (a "reboot" sets it to something else:
 * expiries are saved as wall-clock time).
 *
 * Covered: registrations and calls round-trip through a file, from the
 * first snapshot, from the records the hooks append (REGISTER, removal by
 * expires=0, a call ended) and from the final snapshot; the tie order of
 * contacts; TCP contacts come back without their connection; expired
 * contacts are dropped and expiries clamped; a call's lines replace its
 * earlier ones and X forgets it; corrupt lines (truncated, huge numbers,
 * bad hex, missing and extra fields, NUL bytes, over-long lines, a torn
 * last line, lines out of their call) are counted and skipped, records
 * for a nat or realm no longer configured are counted apart; a file of an
 * unknown version, or with no header, restores nothing; and a
 * random-mutation run (fixed seed) over a valid file never crashes and
 * never restores more than it held. Also media_restore_call()'s own checks
 * and the state.file setting of sipproxy.conf.
 *
 * The mirror (HA, sp_ha.c): every change handed over as one record per
 * AoR, call and dialog, through sp_ha's Redis value encoding and back,
 * rebuilds the same registrar, calls and dialogs in a second process; a
 * gone record undoes exactly its own; record names are stable per key and
 * kind; hostile values (newlines, NULs, '|' in text, garbage lines) are
 * refused or counted, never applied half-parsed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../dialog.h"
#include "../media.h"
#include "../persist.h"
#include "../registrar.h"
#include "../sip/sip_msg.h"
#include "../sp_conf.h"
#include "../sp_ha.h"
#include "journal.h"
#include "log.h"

static const char conf_text[] =
	"user = \"root\";\n"
	"realms = ( { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; },\n"
	"           { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ]; } );\n"
	"listen = ( { address = \"10.1.0.1\"; realm = \"inside\"; },\n"
	"           { address = \"203.0.113.1\"; realm = \"outside\"; } );\n"
	"domains = [ \"edge.test\" ];\n"
	"nats = ( { name = \"edge\"; socket = \"/nonexistent/test-persist.sock\"; } );\n"
	"media_rules = ( { from = \"inside\"; to = \"outside\"; nat = \"edge\"; },\n"
	"                { from = \"outside\"; to = \"inside\"; nat = \"edge\"; } );\n"
	"registrar: { max_expires = 3600; default_expires = 600; };\n"
	"sip: { max_calls = 16; };\n";

static int64_t mono_now;
static int64_t fake_mono(void)
{
	return mono_now;
}

/* One "process": configuration, loop, registrar, media, state file. */
struct env {
	struct sp_conf conf;
	struct event_base *base;
	struct registrar *reg;
	struct media *m;
	struct dlg_table *dlg;
	struct persist *ps;
};

static char dir[64], path[128];

static void env_up(struct env *e)
{
	struct reg_limits lim;

	memset(e, 0, sizeof(*e));
	assert_int_equal(sp_conf_load_string(conf_text, "test.conf", &e->conf, stderr), 0);
	lim = (struct reg_limits){.min_expires = e->conf.reg_min_expires,
				  .max_expires = e->conf.reg_max_expires,
				  .default_expires = e->conf.reg_default_expires,
				  .max_contacts = e->conf.reg_max_contacts,
				  .max_aors = e->conf.reg_max_aors};
	assert_non_null(e->base = event_base_new());
	assert_non_null(e->reg = registrar_new(&lim));
	assert_non_null(e->m = media_new(e->base, &e->conf));
	assert_non_null(e->dlg = dlg_new(&e->conf));
	assert_non_null(e->ps = persist_new(&e->conf, e->reg, e->m, e->dlg, fake_mono));
}

static void env_down(struct env *e)
{
	persist_free(e->ps);
	media_free(e->m);
	dlg_free(e->dlg);
	registrar_free(e->reg);
	event_base_free(e->base);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_persist.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	mono_now = 1000;
	return 0;
}

static int teardown(void **state)
{
	char p[160];

	(void)state;
	unlink(path);
	snprintf(p, sizeof(p), "%s.new", path);
	unlink(p);
	rmdir(dir);
	return 0;
}

/* ---- helpers ---- */

static osip_message_t *make_reg(const char *user, const char *call_id, unsigned cseq,
				const char *contacts)
{
	static unsigned branch;
	osip_message_t *m = NULL;
	struct sip_err err;
	char buf[2048];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "REGISTER sip:edge.test SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP 10.1.0.10:5060;branch=z9hG4bKp%u\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:%s@edge.test>;tag=f\r\n"
		     "To: <sip:%s@edge.test>\r\n"
		     "Call-ID: %s\r\n"
		     "CSeq: %u REGISTER\r\n"
		     "%s"
		     "Content-Length: 0\r\n\r\n",
		     ++branch, user, user, call_id, cseq, contacts);
	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_int_equal(sip_msg_parse(buf, (size_t)n, 0, &m, &err), 0);
	return m;
}

static struct tp_addr src(const char *ip, uint16_t port, bool tcp)
{
	struct tp_addr a;

	memset(&a, 0, sizeof(a));
	a.peer.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &a.peer.sin_addr), 1);
	a.peer.sin_port = htons(port);
	a.tcp = tcp;
	a.conn = tcp ? 77 : 0;
	a.listen = 1;
	return a;
}

static void do_register(struct env *e, const char *user, const char *call_id, unsigned cseq,
			const char *contacts, const struct tp_addr *from)
{
	osip_message_t *req = make_reg(user, call_id, cseq, contacts);
	char aor[REG_AOR_MAX];
	const char *why = NULL;

	snprintf(aor, sizeof(aor), "%s@edge.test", user);
	assert_int_equal(registrar_register(e->reg, aor, req, from, mono_now, NULL, &why), 200);
	osip_message_free(req);
}

/* A call with two parties, an RTP pair bound each way, a separate RTCP
 * endpoint, a remote filter, and o= known for one party. */
static void make_call(struct media_call_state *s, const char *cid, uint32_t id0)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->call_id, sizeof(s->call_id), "%s", cid);
	s->started = time(NULL) - 30;
	s->nb = 3;
	for (unsigned i = 0; i < 3; i++) {
		struct media_binding *b = &s->b[i];

		b->nat = 0;
		b->id = id0 + i;
		b->epoch = 0x1122334455667788ull + i;
		b->rule = i == 1 ? 1 : 0;
		b->addr[0] = i == 1 ? 203 : 10;
		b->addr[1] = i == 1 ? 0 : 1;
		b->addr[2] = i == 1 ? 113 : 0;
		b->addr[3] = (uint8_t)(10 + i);
		b->port = (uint16_t)(20000 + 2 * i);
		b->proto = i == 2 ? NC_PROTO_TCP : NC_PROTO_UDP;
		b->rtp_pair = i != 2;
		b->filtered = i == 0;
		b->alloc.ip.af = NC_AF_IP4;
		b->alloc.ip.a[0] = 198;
		b->alloc.ip.a[1] = 51;
		b->alloc.ip.a[2] = 100;
		b->alloc.ip.a[3] = (uint8_t)(1 + i);
		b->alloc.port = (uint16_t)(40000 + 2 * i);
		snprintf(b->tag, sizeof(b->tag), "%s", i == 1 ? "callee tag" : "caller-1");
	}
	s->nparty = 2;
	snprintf(s->party[0].tag, sizeof(s->party[0].tag), "caller-1");
	s->party[0].origin.af = NC_AF_IP4;
	memcpy(s->party[0].origin.a, (uint8_t[]){198, 51, 100, 1}, 4);
	snprintf(s->party[1].tag, sizeof(s->party[1].tag), "callee tag");
	s->has_filt[1] = true; /* outside */
	s->filt[1].n = 2;
	for (unsigned i = 0; i < 2; i++) {
		s->filt[1].m[i].ip.af = NC_AF_IP4;
		memcpy(s->filt[1].m[i].ip.a, (uint8_t[]){203, 0, 113, (uint8_t)(10 + i)}, 4);
		s->filt[1].m[i].plen = 32;
		s->filt[1].m[i].port_lo = 0;
		s->filt[1].m[i].port_hi = 65535;
	}
}

/* The live calls of a media module, copied. */
struct calls {
	unsigned n;
	struct media_call_state s[16];
};

static void collect(void *arg, const struct media_call_state *s)
{
	struct calls *c = arg;

	assert_true(c->n < 16);
	c->s[c->n++] = *s;
}

static const struct media_call_state *find_call(const struct calls *c, const char *cid)
{
	for (unsigned i = 0; i < c->n; i++)
		if (!strcmp(c->s[i].call_id, cid))
			return &c->s[i];
	return NULL;
}

static const struct media_binding *find_binding(const struct media_call_state *s, uint32_t id)
{
	for (unsigned i = 0; i < s->nb; i++)
		if (s->b[i].id == id)
			return &s->b[i];
	return NULL;
}

/* b (restored) equals a (saved), run-time fields aside. */
static void assert_same_call(const struct media_call_state *a, const struct media_call_state *b)
{
	assert_string_equal(a->call_id, b->call_id);
	assert_int_equal(a->started, b->started);
	assert_int_equal(a->nb, b->nb);
	for (unsigned i = 0; i < a->nb; i++) {
		const struct media_binding *x = &a->b[i], *y = find_binding(b, x->id);

		assert_non_null(y);
		assert_int_equal(x->nat, y->nat);
		assert_true(x->epoch == y->epoch);
		assert_int_equal(x->rule, y->rule);
		assert_memory_equal(x->addr, y->addr, 4);
		assert_int_equal(x->port, y->port);
		assert_int_equal(x->proto, y->proto);
		assert_int_equal(x->rtp_pair, y->rtp_pair);
		assert_int_equal(x->filtered, y->filtered);
		assert_int_equal(x->alloc.ip.af, y->alloc.ip.af);
		assert_memory_equal(x->alloc.ip.a, y->alloc.ip.a, 4);
		assert_int_equal(x->alloc.port, y->alloc.port);
		assert_string_equal(x->tag, y->tag);
	}
	assert_int_equal(a->nparty, b->nparty);
	for (unsigned i = 0; i < a->nparty; i++) {
		assert_string_equal(a->party[i].tag, b->party[i].tag);
		assert_int_equal(a->party[i].origin.af, b->party[i].origin.af);
		assert_memory_equal(a->party[i].origin.a, b->party[i].origin.a, 4);
	}
	for (unsigned r = 0; r < SPC_MAX_REALMS; r++) {
		assert_int_equal(a->has_filt[r], b->has_filt[r]);
		if (!a->has_filt[r])
			continue;
		assert_int_equal(a->filt[r].n, b->filt[r].n);
		for (unsigned i = 0; i < a->filt[r].n; i++) {
			assert_memory_equal(a->filt[r].m[i].ip.a, b->filt[r].m[i].ip.a, 4);
			assert_int_equal(a->filt[r].m[i].plen, b->filt[r].m[i].plen);
			assert_int_equal(a->filt[r].m[i].port_lo, b->filt[r].m[i].port_lo);
			assert_int_equal(a->filt[r].m[i].port_hi, b->filt[r].m[i].port_hi);
		}
	}
}

static char *slurp(const char *p)
{
	FILE *f = fopen(p, "re");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	assert_non_null(buf = calloc(1, (size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

static void spit(const char *p, const char *data, size_t n)
{
	FILE *f = fopen(p, "we");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

static unsigned count_lines(const char *text, const char *prefix)
{
	unsigned n = 0;
	size_t pl = strlen(prefix);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		n += !strncmp(l, prefix, pl);
	return n;
}

static void hex(char *dst, const char *s)
{
	journal_hex_encode(dst, s, strlen(s));
}

/* ---- round trips ---- */

static void test_roundtrip_registrations(void **state)
{
	struct env a, b;
	struct tp_addr s1 = src("10.1.0.10", 5060, false), s2 = src("203.0.113.10", 41234, true);
	struct reg_contact out[8];
	struct persist_stats st;
	char *text;

	(void)state;
	env_up(&a);
	/* bob first, with q below 1 for one contact; alice over TCP */
	do_register(&a, "bob", "reg-bob@10.1.0.10", 7,
		    "Contact: <sip:bob@10.1.0.10:5060>;expires=600\r\n"
		    "Contact: <sip:bob@10.1.0.10:5070;transport=udp>;q=0.5;expires=300\r\n", &s1);
	mono_now += 5;
	do_register(&a, "bob", "reg-bob-2@10.1.0.10", 3, "Contact: <sip:bob@10.1.0.99>\r\n", &s1);
	do_register(&a, "alice", "reg-alice@x", 1,
		    "Contact: <sip:alice@203.0.113.10:41234;transport=tcp>;expires=3600\r\n", &s2);
	assert_int_equal(persist_open(a.ps, path, NULL), 0);
	assert_true(persist_is_open(a.ps));
	persist_close(a.ps, false);
	text = slurp(path);
	assert_int_equal(strncmp(text, "sipproxy-state 1\n", 17), 0);
	assert_int_equal(count_lines(text, "R "), 4);
	free(text);

	/* another boot: the monotonic clock starts elsewhere */
	mono_now = 77;
	env_up(&b);
	assert_int_equal(persist_load(b.ps, path, &st), 0);
	assert_int_equal(st.version, 1);
	assert_int_equal(st.regs, 4);
	assert_int_equal(st.bad, 0);
	assert_int_equal(st.skipped, 0);
	assert_int_equal(st.regs_expired, 0);
	assert_false(st.torn);

	assert_int_equal(registrar_lookup(b.reg, "bob@edge.test", mono_now, out, 8), 3);
	/* q 1 first, the most recent of those first (the tie kept), then q 0.5 */
	assert_string_equal(out[0].uri, "sip:bob@10.1.0.99");
	assert_string_equal(out[0].call_id, "reg-bob-2@10.1.0.10");
	assert_int_equal(out[0].cseq, 3);
	assert_string_equal(out[1].uri, "sip:bob@10.1.0.10:5060");
	assert_string_equal(out[1].call_id, "reg-bob@10.1.0.10");
	assert_int_equal(out[1].cseq, 7);
	assert_string_equal(out[2].uri, "sip:bob@10.1.0.10:5070;transport=udp");
	assert_int_equal(out[2].q, 500);
	/* expiries: what was left (600 - 5), give or take the second that passed */
	assert_in_range(out[1].expires - mono_now, 594, 595);
	assert_in_range(out[2].expires - mono_now, 294, 295);
	assert_in_range(out[0].expires - mono_now, 599, 600);
	/* where requests go: the address the REGISTER came from */
	assert_int_equal(out[0].src.peer.sin_addr.s_addr, s1.peer.sin_addr.s_addr);
	assert_int_equal(ntohs(out[0].src.peer.sin_port), 5060);
	assert_false(out[0].src.tcp);
	assert_int_equal(out[0].src.listen, 0); /* inside */

	assert_int_equal(registrar_lookup(b.reg, "alice@edge.test", mono_now, out, 8), 1);
	assert_string_equal(out[0].uri, "sip:alice@203.0.113.10:41234;transport=tcp");
	assert_true(out[0].src.tcp);
	assert_int_equal(out[0].src.conn, 0); /* the connection did not survive */
	assert_int_equal(ntohs(out[0].src.peer.sin_port), 41234);
	assert_int_equal(out[0].src.listen, 1); /* outside */
	assert_in_range(out[0].expires - mono_now, 3599, 3600);

	/* the saved Call-ID/CSeq still order a later REGISTER (RFC 3261 §10.3 step 7) */
	{
		osip_message_t *req = make_reg("bob", "reg-bob@10.1.0.10", 7,
					       "Contact: <sip:bob@10.1.0.10:5060>\r\n");
		const char *why = NULL;

		assert_int_equal(registrar_register(b.reg, "bob@edge.test", req, &s1, mono_now, NULL, &why),
				 500);
		osip_message_free(req);
	}
	env_down(&a);
	env_down(&b);
}

static void test_roundtrip_calls(void **state)
{
	struct media_call_state *c1 = calloc(1, sizeof(*c1)), *c2 = calloc(1, sizeof(*c2));
	struct calls *got = calloc(1, sizeof(*got));
	struct persist_stats st;
	struct env a, b;

	(void)state;
	assert_non_null(c1);
	assert_non_null(c2);
	assert_non_null(got);
	env_up(&a);
	make_call(c1, "call-one@10.1.0.10", 100);
	make_call(c2, "two\x7e\xc3\xa9@h", 200); /* any byte but controls */
	c2->nparty = 1;
	c2->has_filt[1] = false;
	c2->b[2].tag[0] = '\0'; /* a party without a tag */
	assert_int_equal(media_restore_call(a.m, c1), 0);
	assert_int_equal(media_restore_call(a.m, c2), 0);
	assert_int_equal(persist_open(a.ps, path, NULL), 0);
	persist_close(a.ps, true);

	env_up(&b);
	assert_int_equal(persist_load(b.ps, path, &st), 0);
	assert_int_equal(st.calls, 2);
	assert_int_equal(st.bindings, 6);
	assert_int_equal(st.bad, 0);
	assert_int_equal(st.skipped, 0);
	media_each_call(b.m, collect, got);
	assert_int_equal(got->n, 2);
	assert_non_null(find_call(got, c1->call_id));
	assert_non_null(find_call(got, c2->call_id));
	assert_same_call(c1, find_call(got, c1->call_id));
	assert_same_call(c2, find_call(got, c2->call_id));
	env_down(&a);
	env_down(&b);
	free(c1);
	free(c2);
	free(got);
}

/* Dialogs (dialog.h) go to the state file as they are made and ended
 * (D, E) and come back with their parties' flows, so the real BYE is
 * still accepted after a restart and a third host's is not; a malformed
 * D line is counted and skipped. */
static void test_roundtrip_dialogs(void **state)
{
	struct env a, b;
	struct tp_addr ca = src("203.0.113.10", 5060, false), cb = src("10.1.0.10", 5062, true);
	struct tp_addr evil = src("203.0.113.66", 5060, false);
	struct persist_stats st;
	FILE *f;

	(void)state;
	env_up(&a);
	assert_int_equal(dlg_confirm(a.dlg, "before-open", "t1", &ca, "t2", &cb, time(NULL) - 5), 0);
	assert_int_equal(persist_open(a.ps, path, NULL), 0); /* snapshot */
	assert_int_equal(dlg_confirm(a.dlg, "kept", "ta", &ca, "tb", &cb, time(NULL)), 0);
	assert_int_equal(dlg_confirm(a.dlg, "ended", "tx", &ca, "ty", &cb, time(NULL)), 0);
	assert_int_equal(dlg_end(a.dlg, "ended", "ty", "tx"), 0);
	persist_close(a.ps, false); /* kill -9 */

	assert_non_null(f = fopen(path, "a"));
	fprintf(f, "D 6161 7461 -\n");
	fclose(f);
	env_up(&b);
	assert_int_equal(persist_load(b.ps, path, &st), 0);
	assert_int_equal(st.dialogs, 2);
	assert_int_equal(st.bad, 1);
	assert_int_equal(dlg_check(b.dlg, "kept", "tb", "ta", &cb, NULL), DLG_OK);
	assert_int_equal(dlg_check(b.dlg, "kept", "ta", "tb", &ca, NULL), DLG_OK);
	assert_int_equal(dlg_check(b.dlg, "kept", "ta", "tb", &evil, NULL), DLG_WRONG_PARTY);
	assert_int_equal(dlg_check(b.dlg, "before-open", "t1", "t2", &ca, NULL), DLG_OK);
	assert_int_equal(dlg_check(b.dlg, "ended", "tx", "ty", &ca, NULL), DLG_NONE);
	env_down(&a);
	env_down(&b);
}

/* What the hooks append after the snapshot (no final snapshot) is enough. */
static void test_appended_records(void **state)
{
	struct media_call_state *c1 = calloc(1, sizeof(*c1)), *c2 = calloc(1, sizeof(*c2));
	struct calls *got = calloc(1, sizeof(*got));
	struct tp_addr s1 = src("10.1.0.10", 5060, false);
	struct reg_contact out[8];
	struct persist_stats st;
	struct env a, b;
	char *text;

	(void)state;
	assert_non_null(c1);
	assert_non_null(c2);
	assert_non_null(got);
	env_up(&a);
	make_call(c1, "kept@x", 10);
	make_call(c2, "ended@x", 20);
	assert_int_equal(media_restore_call(a.m, c1), 0);
	assert_int_equal(media_restore_call(a.m, c2), 0);
	do_register(&a, "carol", "c1@x", 1, "Contact: <sip:carol@10.1.0.10>\r\n", &s1);
	assert_int_equal(persist_open(a.ps, path, NULL), 0);
	/* after the snapshot: two REGISTERs, a removal, a BYE */
	do_register(&a, "dave", "d1@x", 1, "Contact: <sip:dave@10.1.0.10:5062>;expires=120\r\n", &s1);
	do_register(&a, "erin", "e1@x", 4, "Contact: <sip:erin@10.1.0.10:5064>\r\n", &s1);
	do_register(&a, "carol", "c1@x", 2, "Contact: <sip:carol@10.1.0.10>;expires=0\r\n", &s1);
	media_call_end(a.m, "ended@x", "BYE");
	persist_close(a.ps, false); /* a kill -9: no final snapshot */
	text = slurp(path);
	assert_int_equal(count_lines(text, "sipproxy-state 1"), 1);
	assert_int_equal(count_lines(text, "A "), 3);
	assert_int_equal(count_lines(text, "X "), 1);
	free(text);

	env_up(&b);
	assert_int_equal(persist_load(b.ps, path, &st), 0);
	assert_int_equal(st.bad, 0);
	assert_int_equal(registrar_lookup(b.reg, "carol@edge.test", mono_now, out, 8), 0);
	assert_int_equal(registrar_lookup(b.reg, "dave@edge.test", mono_now, out, 8), 1);
	assert_in_range(out[0].expires - mono_now, 119, 120);
	assert_int_equal(registrar_lookup(b.reg, "erin@edge.test", mono_now, out, 8), 1);
	assert_int_equal(out[0].cseq, 4);
	assert_int_equal(registrar_count_aors(b.reg), 2);
	media_each_call(b.m, collect, got);
	assert_int_equal(got->n, 1);
	assert_same_call(c1, &got->s[0]);

	/* and the final snapshot holds only what is live */
	assert_int_equal(persist_open(b.ps, path, NULL), 0);
	persist_close(b.ps, true);
	text = slurp(path);
	assert_int_equal(count_lines(text, "A "), 0);
	assert_int_equal(count_lines(text, "X "), 0);
	assert_int_equal(count_lines(text, "R "), 2);
	assert_int_equal(count_lines(text, "C "), 1);
	assert_int_equal(count_lines(text, "B "), 3);
	free(text);
	env_down(&a);
	env_down(&b);
	free(c1);
	free(c2);
	free(got);
}

/* ---- expiry ---- */

static void test_expired_dropped(void **state)
{
	char aor[64], uri[128], cid[32], buf[2048];
	struct reg_contact out[8];
	struct persist_stats st;
	struct env e;
	long long now = (long long)time(NULL);
	int n;

	(void)state;
	hex(aor, "frank@edge.test");
	hex(cid, "f@x");
	n = snprintf(buf, sizeof(buf), "sipproxy-state 1\n");
	hex(uri, "sip:frank@10.1.0.10:5001");
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "R %s %s %lld 1000 %s 1 udp 10.1.0.10 5001\n",
		      aor, uri, now - 10, cid);
	hex(uri, "sip:frank@10.1.0.10:5002");
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "R %s %s %lld 1000 %s 1 udp 10.1.0.10 5002\n",
		      aor, uri, now, cid);
	hex(uri, "sip:frank@10.1.0.10:5003");
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "R %s %s %lld 1000 %s 1 udp 10.1.0.10 5003\n",
		      aor, uri, now + 100, cid);
	/* far in the future (a clock set back): cut to registrar.max_expires */
	hex(uri, "sip:frank@10.1.0.10:5004");
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "R %s %s %lld 1000 %s 1 udp 10.1.0.10 5004\n",
		      aor, uri, now + 1000000, cid);
	hex(uri, "sip:frank@10.1.0.10:5005");
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "R %s %s 0 1000 %s 1 udp 10.1.0.10 5005\n", aor,
		      uri, cid);
	spit(path, buf, (size_t)n);

	env_up(&e);
	assert_int_equal(persist_load(e.ps, path, &st), 0);
	assert_int_equal(st.regs, 2);
	assert_int_equal(st.regs_expired, 3);
	assert_int_equal(st.bad, 0);
	assert_int_equal(registrar_lookup(e.reg, "frank@edge.test", mono_now, out, 8), 2);
	for (unsigned i = 0; i < 2; i++) {
		if (!strcmp(out[i].uri, "sip:frank@10.1.0.10:5003"))
			assert_in_range(out[i].expires - mono_now, 98, 100);
		else if (!strcmp(out[i].uri, "sip:frank@10.1.0.10:5004"))
			assert_int_equal(out[i].expires - mono_now, 3600);
		else
			fail_msg("unexpected contact %s", out[i].uri);
	}
	env_down(&e);
}

/* ---- corrupt and hostile files ---- */

enum want { GOOD, BAD, SKIP };

struct line {
	enum want want;
	const char *text; /* %1$s aor, %2$s uri, %3$s call id hex, %4$lld expiry (see expand) */
};

/* Write tmpl into buf with its %1$s..%4$lld replaced by the four values.
 * Not snprintf: most lines use only some of the numbered arguments, and
 * a format that skips one is undefined (glibc's _FORTIFY_SOURCE aborts
 * with "invalid %N$ use detected", as in Debian's hardened build). */
static void expand(char *buf, size_t size, const char *tmpl, const char *aor, const char *uri,
		   const char *cid, long long expiry)
{
	static const char *const tok[] = {"%1$s", "%2$s", "%3$s", "%4$lld"};
	char exp[24];
	const char *val[] = {aor, uri, cid, exp};
	size_t n = 0;

	snprintf(exp, sizeof(exp), "%lld", expiry);
	while (*tmpl && n + 1 < size) {
		size_t k = 0;
		while (k < 4 && strncmp(tmpl, tok[k], strlen(tok[k])))
			k++;
		if (k < 4) {
			n += (size_t)snprintf(buf + n, size - n, "%s", val[k]);
			tmpl += strlen(tok[k]);
		} else {
			buf[n++] = *tmpl++;
		}
	}
	buf[n < size ? n : size - 1] = '\0';
}

static void test_corrupt_lines(void **state)
{
	static const struct line lines[] = {
		{GOOD, "sipproxy-state 1"},
		{GOOD, "R %1$s %2$s %4$lld 1000 %3$s 1 udp 10.1.0.10 5060"},
		/* truncated, missing and extra fields */
		{BAD, "R %1$s %2$s %4$lld"},
		{BAD, "R %1$s %2$s %4$lld 1000 %3$s 1 udp 10.1.0.10"},
		{BAD, "R %1$s %2$s %4$lld 1000 %3$s 1 udp 10.1.0.10 5060 extra"},
		{BAD, "R"},
		{BAD, "R "},
		{BAD, "R  %1$s %2$s %4$lld 1000 %3$s 1 udp 10.1.0.10 5060"},
		{BAD, ""},
		/* huge and out-of-range numbers */
		{BAD, "R %1$s %2$s 99999999999999999999999 1000 %3$s 1 udp 10.1.0.10 5060"},
		{BAD, "R %1$s %2$s 18446744073709551616 1000 %3$s 1 udp 10.1.0.10 5060"},
		{BAD, "R %1$s %2$s 9223372036854775808 1000 %3$s 1 udp 10.1.0.10 5060"},
		{BAD, "R %1$s %2$s -5 1000 %3$s 1 udp 10.1.0.10 5060"},
		{BAD, "R %1$s %2$s %4$lld 1001 %3$s 1 udp 10.1.0.10 5060"},
		{BAD, "R %1$s %2$s %4$lld 1000 %3$s 4294967295 udp 10.1.0.10 5060"},
		{BAD, "R %1$s %2$s %4$lld 1000 %3$s 1 udp 10.1.0.10 65536"},
		{BAD, "R %1$s %2$s %4$lld 1000 %3$s 1 udp 10.1.0.10 0"},
		{BAD, "R %1$s %2$s 0x10 1000 %3$s 1 udp 10.1.0.10 5060"},
		/* bad hex: odd, not hex, a NUL, a control byte, too long */
		{BAD, "R 616 %2$s %4$lld 1000 %3$s 1 udp 10.1.0.10 5060"},
		{BAD, "R zz%1$s %2$s %4$lld 1000 %3$s 1 udp 10.1.0.10 5060"},
		{BAD, "R %1$s00 %2$s %4$lld 1000 %3$s 1 udp 10.1.0.10 5060"},
		{BAD, "R %1$s0a %2$s %4$lld 1000 %3$s 1 udp 10.1.0.10 5060"},
		{BAD, "R - %2$s %4$lld 1000 %3$s 1 udp 10.1.0.10 5060"},
		/* other fields */
		{BAD, "R %1$s %2$s %4$lld 1000 %3$s 1 sctp 10.1.0.10 5060"},
		{BAD, "R %1$s %2$s %4$lld 1000 %3$s 1 udp 10.1.0.300 5060"},
		{BAD, "R %1$s %2$s %4$lld 1000 %3$s 1 udp ::1 5060"},
		{BAD, "R %1$s 6e6f742061207572 %4$lld 1000 %3$s 1 udp 10.1.0.10 5060"}, /* "not a ur" */
		{BAD, "A"},
		{BAD, "A zz"},
		/* unknown records */
		{BAD, "Q 1 2"},
		{BAD, "RR %1$s"},
		{BAD, "sipproxy-state"},
		/* a call's lines out of place */
		{BAD, "B %3$s edge 5 1 inside outside 10.1.0.10 4000 17 1 0 198.51.100.1 4000 -"},
		{BAD, "P %3$s - -"},
		{GOOD, "C %3$s 1700000000"},
		{BAD, "C %3$s"},
		{GOOD, "C %3$s 1700000000"},
		{BAD, "B 6f74686572 edge 5 1 inside outside 10.1.0.10 4000 17 1 0 198.51.100.1 4000 -"},
		{SKIP, "B %3$s far 5 1 inside outside 10.1.0.10 4000 17 1 0 198.51.100.1 4000 -"},
		{SKIP, "B %3$s edge 5 1 inside nowhere 10.1.0.10 4000 17 1 0 198.51.100.1 4000 -"},
		{GOOD, "B %3$s edge 5 18446744073709551615 inside outside 10.1.0.10 4000 17 1 0 198.51.100.1 4000 61"},
		{BAD, "B %3$s edge 4294967296 1 inside outside 10.1.0.10 4000 17 1 0 198.51.100.1 4000 -"},
		{BAD, "B %3$s edge 6 1 inside outside 10.1.0.10 4000 99 1 0 198.51.100.1 4000 -"},
		{BAD, "B %3$s edge 6 1 inside outside 10.1.0.10 4000 17 2 0 198.51.100.1 4000 -"},
		{BAD, "B %3$s edge 6 1 inside outside 10.1.0.10 65535 17 1 0 198.51.100.1 4000 -"},
		{BAD, "B %3$s ed/ge 6 1 inside outside 10.1.0.10 4000 17 1 0 198.51.100.1 4000 -"},
		{GOOD, "P %3$s 61 198.51.100.1"},
		{BAD, "P %3$s zz -"},
		{BAD, "P %3$s 61 1.2.3"},
		{BAD, "F %3$s outside 2 203.0.113.10/32/0-65535"},
		{BAD, "F %3$s outside 17"},
		{BAD, "F %3$s outside 1 203.0.113.10/33/0-65535"},
		{BAD, "F %3$s outside 1 203.0.113.10/32/9-8"},
		{BAD, "F %3$s outside 1 203.0.113.10-32-0/65535"},
		{SKIP, "F %3$s elsewhere 1 203.0.113.10/32/0-65535"},
		{GOOD, "F %3$s outside 1 203.0.113.10/32/1000-2000"},
		{BAD, "X"},
		{BAD, "X zz"},
		{GOOD, "R %1$s 7369703a6140312e322e332e34 %4$lld 500 %3$s 2 tcp 203.0.113.9 5061"},
	};
	char aor[64], uri[128], cid[64], buf[1024];
	struct persist_stats st;
	struct reg_contact out[8];
	struct calls *got = calloc(1, sizeof(*got));
	unsigned nbad = 0, nskip = 0;
	struct env e;
	FILE *f;

	(void)state;
	assert_non_null(got);
	hex(aor, "gina@edge.test");
	hex(uri, "sip:gina@10.1.0.10");
	hex(cid, "cc@x");
	assert_non_null(f = fopen(path, "we"));
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		expand(buf, sizeof(buf), lines[i].text, aor, uri, cid, (long long)time(NULL) + 500);
		fprintf(f, "%s\n", buf);
		nbad += lines[i].want == BAD;
		nskip += lines[i].want == SKIP;
	}
	/* a NUL byte inside a line, a line over JOURNAL_LINE_MAX, a torn last line */
	fwrite("R 61\0 62 1 1000 63 1 udp 10.1.0.10 5060\n", 1, 40, f);
	for (unsigned i = 0; i < JOURNAL_LINE_MAX + 10; i++)
		fputc(i % 2 ? '6' : '1', f);
	fputc('\n', f);
	fprintf(f, "R %s %s", aor, uri);
	nbad += 2;
	fclose(f);

	env_up(&e);
	assert_int_equal(persist_load(e.ps, path, &st), 0);
	assert_int_equal(st.version, 1);
	assert_int_equal(st.bad, nbad);
	assert_int_equal(st.skipped, nskip);
	assert_true(st.torn);
	assert_int_equal(st.regs, 2);
	assert_int_equal(st.calls, 1);
	assert_int_equal(st.bindings, 1);
	assert_int_equal(registrar_lookup(e.reg, "gina@edge.test", mono_now, out, 8), 2);
	media_each_call(e.m, collect, got);
	assert_int_equal(got->n, 1);
	assert_string_equal(got->s[0].call_id, "cc@x");
	assert_int_equal(got->s[0].nb, 1);
	assert_true(got->s[0].b[0].epoch == UINT64_MAX);
	assert_string_equal(got->s[0].b[0].tag, "a");
	assert_int_equal(got->s[0].nparty, 1);
	assert_int_equal(got->s[0].party[0].origin.af, NC_AF_IP4);
	assert_true(got->s[0].has_filt[1]);
	assert_int_equal(got->s[0].filt[1].n, 1);
	assert_int_equal(got->s[0].filt[1].m[0].port_lo, 1000);
	assert_int_equal(got->s[0].filt[1].m[0].port_hi, 2000);
	env_down(&e);
	free(got);
}

/* No header, a malformed one, or a version this sipproxy does not know:
 * nothing is restored. */
static void test_unknown_version(void **state)
{
	static const char *const heads[] = {"sipproxy-state 2", "sipproxy-state x", "",
					    "sipproxy-state 01x", "natd-state 1"};
	char aor[64], uri[128], cid[32], buf[2048];
	struct persist_stats st;
	struct env e;

	(void)state;
	hex(aor, "hank@edge.test");
	hex(uri, "sip:hank@10.1.0.10");
	hex(cid, "h@x");
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		int n = snprintf(buf, sizeof(buf),
				 "%s%sR %s %s %lld 1000 %s 1 udp 10.1.0.10 5060\nC %s 1\nX %s\n", heads[i],
				 heads[i][0] ? "\n" : "", aor, uri, (long long)time(NULL) + 100, cid, cid,
				 cid);

		char aside[160];
		struct stat sb;

		spit(path, buf, (size_t)n);
		env_up(&e);
		assert_int_equal(persist_load(e.ps, path, &st), 0);
		assert_int_equal(st.regs, 0);
		assert_int_equal(st.calls, 0);
		assert_int_equal(st.bad, st.lines);
		assert_int_equal(registrar_count_contacts(e.reg), 0);
		if (i == 0)
			assert_int_equal(st.version, 2);
		/* set aside, not lost under the next snapshot */
		snprintf(aside, sizeof(aside), "%s.unreadable", path);
		assert_int_equal(stat(aside, &sb), 0);
		assert_int_equal(sb.st_size, n);
		assert_int_equal(stat(path, &sb), -1);
		unlink(aside);
		env_down(&e);
	}
	/* no file at all */
	unlink(path);
	env_up(&e);
	assert_int_equal(persist_load(e.ps, path, &st), -ENOENT);
	env_down(&e);
	/* a directory where the file should be: it cannot be read */
	assert_int_equal(mkdir(path, 0700), 0);
	env_up(&e);
	assert_true(persist_load(e.ps, path, &st) < 0);
	/* and not written either */
	assert_int_equal(persist_open(e.ps, path, NULL), -1);
	assert_false(persist_is_open(e.ps));
	env_down(&e);
	rmdir(path);
}

/* Random byte changes to a valid file: never a crash, never more than it
 * held. */
static void test_mutations(void **state)
{
	struct media_call_state *c = calloc(1, sizeof(*c));
	struct tp_addr s1 = src("10.1.0.10", 5060, false);
	static const char alphabet[] = "0123456789abcdefABCDEF -/.\n\0\x01\xff RBCPFXA";
	struct persist_stats st;
	struct env a;
	char *good, *buf;
	size_t len;

	(void)state;
	assert_non_null(c);
	env_up(&a);
	for (unsigned i = 0; i < 4; i++) {
		char cid[32];

		snprintf(cid, sizeof(cid), "m%u@x", i);
		make_call(c, cid, 1000 + 10 * i);
		assert_int_equal(media_restore_call(a.m, c), 0);
	}
	do_register(&a, "ivan", "i@x", 1,
		    "Contact: <sip:ivan@10.1.0.10>\r\nContact: <sip:ivan@10.1.0.11>;q=0.7\r\n", &s1);
	assert_int_equal(persist_open(a.ps, path, NULL), 0);
	persist_close(a.ps, true);
	env_down(&a);
	good = slurp(path);
	len = strlen(good);
	assert_non_null(buf = malloc(len + 1));
	srandom(4242);
	for (unsigned it = 0; it < 400; it++) {
		struct env e;
		unsigned k = 1 + (unsigned)random() % 6;

		memcpy(buf, good, len);
		for (unsigned j = 0; j < k; j++)
			buf[(size_t)random() % len] = alphabet[(size_t)random() % (sizeof(alphabet) - 1)];
		spit(path, buf, (size_t)random() % 8 ? len : (size_t)random() % len);
		env_up(&e);
		assert_true(persist_load(e.ps, path, &st) == 0);
		assert_true(st.bad <= st.lines);
		assert_true(st.calls <= 4);
		assert_true(st.bindings <= 12);
		assert_true(st.regs <= 2);
		assert_true(registrar_count_contacts(e.reg) <= 2);
		env_down(&e);
	}
	free(buf);
	free(good);
	free(c);
}

/* media_restore_call() itself refuses state that does not fit. */
static void test_restore_checks(void **state)
{
	struct media_call_state *c = calloc(1, sizeof(*c));
	struct env e;

	(void)state;
	assert_non_null(c);
	env_up(&e);
	make_call(c, "chk@x", 1);
	c->b[0].nat = 1; /* no such nat */
	assert_int_equal(media_restore_call(e.m, c), -EINVAL);
	make_call(c, "chk@x", 1);
	c->b[1].rule = 2;
	assert_int_equal(media_restore_call(e.m, c), -EINVAL);
	make_call(c, "chk@x", 1);
	c->nb = MEDIA_MAX_BINDINGS + 1;
	assert_int_equal(media_restore_call(e.m, c), -EINVAL);
	make_call(c, "chk@x", 1);
	memset(c->party[0].tag, 'x', sizeof(c->party[0].tag)); /* no NUL */
	assert_int_equal(media_restore_call(e.m, c), -EINVAL);
	make_call(c, "chk@x", 1);
	c->has_filt[5] = true; /* a realm that is not configured */
	assert_int_equal(media_restore_call(e.m, c), -EINVAL);
	make_call(c, "", 1);
	assert_int_equal(media_restore_call(e.m, c), -EINVAL);
	/* sip.max_calls = 16 */
	for (unsigned i = 0; i < 16; i++) {
		char cid[32];

		snprintf(cid, sizeof(cid), "lim%u@x", i);
		make_call(c, cid, 1);
		assert_int_equal(media_restore_call(e.m, c), 0);
	}
	make_call(c, "one-too-many@x", 1);
	assert_int_equal(media_restore_call(e.m, c), -ENOSPC);
	/* the same Call-ID again replaces it */
	make_call(c, "lim3@x", 50);
	c->nb = 1;
	assert_int_equal(media_restore_call(e.m, c), 0);
	assert_int_equal(media_forget_call(e.m, "lim3@x"), 0);
	assert_int_equal(media_forget_call(e.m, "lim3@x"), -ENOENT);
	env_down(&e);
	free(c);
}

/* state.file in sipproxy.conf: default none, an absolute path, strict. */
static void test_conf_state_file(void **state)
{
	static const char *const bad[] = {
		"state: { file = \"relative/state\"; };\n",
		"state: { file = \"/var/lib/sipproxy/\"; };\n",
		"state: { file = 5; };\n",
		"state: { path = \"/x\"; };\n",
		"state = \"/x\";\n",
	};
	struct sp_conf *c = calloc(1, sizeof(*c));
	char text[2048], *errs = NULL;
	size_t elen = 0;
	FILE *ef;

	(void)state;
	assert_non_null(c);
	assert_int_equal(sp_conf_load_string(conf_text, "t.conf", c, stderr), 0);
	assert_string_equal(c->state_file, "");
	snprintf(text, sizeof(text), "%sstate: { file = \"/var/lib/sipproxy/state\"; };\n", conf_text);
	assert_int_equal(sp_conf_load_string(text, "t.conf", c, stderr), 0);
	assert_string_equal(c->state_file, "/var/lib/sipproxy/state");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", conf_text, bad[i]);
		assert_non_null(ef = open_memstream(&errs, &elen));
		assert_int_equal(sp_conf_load_string(text, "t.conf", c, ef), -1);
		fclose(ef);
		/* one line, pointing at the setting */
		assert_non_null(strstr(errs, "t.conf:12: state"));
		free(errs);
		errs = NULL;
	}
	free(c);
}

/* ---- the mirror (sp_ha's records) ---- */

#define MIR_MAX 32

/* What a mirror received: the Redis store as sp_ha would write it. */
struct mirror_log {
	unsigned n;
	struct {
		char name[SP_HA_NAME_LEN];
		char val[JOURNAL_LINE_MAX * 4];   /* "" once deleted */
		char last[JOURNAL_LINE_MAX * 4];  /* the last text, for persist_forget */
		uint32_t ttl;
	} r[MIR_MAX];
	unsigned puts, dels;
};

static void mir_put(void *arg, enum persist_kind kind, const char *key, const char *text, size_t len,
		    uint32_t ttl_s)
{
	struct mirror_log *ml = arg;
	char name[SP_HA_NAME_LEN];
	unsigned i;

	assert_int_equal(sp_ha_name(kind, key, name, sizeof(name)), 0);
	for (i = 0; i < ml->n && strcmp(ml->r[i].name, name); i++)
		;
	if (i == ml->n) {
		assert_true(ml->n < MIR_MAX);
		snprintf(ml->r[ml->n++].name, SP_HA_NAME_LEN, "%s", name);
	}
	if (!text) {
		ml->r[i].val[0] = '\0';
		ml->dels++;
		return;
	}
	assert_true(ttl_s >= 1);
	assert_true(sp_ha_encode(text, len, ml->r[i].val, sizeof(ml->r[i].val)) > 0);
	assert_true(len < sizeof(ml->r[i].last));
	memcpy(ml->r[i].last, text, len + 1);
	ml->r[i].ttl = ttl_s;
	ml->puts++;
}

/* Apply every live record of ml to e, as a standby's resync would. */
static void mir_apply_all(const struct mirror_log *ml, struct env *e)
{
	char text[JOURNAL_LINE_MAX * 4 + 2];

	for (unsigned i = 0; i < ml->n; i++) {
		long n;

		if (!ml->r[i].val[0])
			continue;
		n = sp_ha_decode(ml->r[i].val, strlen(ml->r[i].val), text, sizeof(text));
		assert_true(n > 0);
		assert_int_equal(persist_apply(e->ps, text, (size_t)n, NULL), 0);
	}
}

static void test_mirror_roundtrip(void **state)
{
	struct media_call_state *c1 = calloc(1, sizeof(*c1));
	struct calls *got = calloc(1, sizeof(*got));
	struct tp_addr s1 = src("10.1.0.10", 5060, false), ca = src("203.0.113.10", 5060, false);
	struct tp_addr cb = src("10.1.0.10", 5062, false);
	struct mirror_log *ml = calloc(1, sizeof(*ml));
	struct persist_mirror m = {.put = mir_put, .arg = ml};
	struct reg_contact out[8];
	struct env a, b;
	unsigned i;

	(void)state;
	assert_non_null(c1);
	assert_non_null(got);
	assert_non_null(ml);
	env_up(&a);
	env_up(&b);
	make_call(c1, "call-1@x", 10);
	assert_int_equal(media_restore_call(a.m, c1), 0); /* no hook: the push carries it */
	persist_set_mirror(a.ps, &m);
	/* a REGISTER and a dialog go out as they happen, with their lifetime */
	do_register(&a, "phoneb", "reg-1", 1, "Contact: <sip:phoneb@10.1.0.10:5060>;expires=600\r\n", &s1);
	assert_int_equal(ml->puts, 1);
	assert_int_equal(ml->r[0].name[0], 'r');
	assert_true(ml->r[0].ttl >= 599 && ml->r[0].ttl <= 600);
	assert_int_equal(dlg_confirm(a.dlg, "call-1@x", "caller-1", &ca, "callee tag", &cb, time(NULL) - 30), 0);
	assert_int_equal(ml->puts, 2);
	assert_int_equal(ml->r[1].name[0], 'd');
	assert_true(ml->r[1].ttl <= a.conf.max_call_duration - 29 && ml->r[1].ttl >= a.conf.max_call_duration - 31);
	/* the full push: the call too; nothing goes to a journal (none open) */
	persist_mirror_all(a.ps);
	assert_int_equal(ml->n, 3);
	for (i = 0; i < ml->n && ml->r[i].name[0] != 'c'; i++)
		;
	assert_true(i < ml->n);
	assert_non_null(strstr(ml->r[i].val, "|B ")); /* lines joined by '|' */

	/* the standby rebuilds the same state from the values */
	mir_apply_all(ml, &b);
	assert_int_equal(registrar_lookup(b.reg, "phoneb@edge.test", mono_now, out, 8), 1);
	assert_string_equal(out[0].uri, "sip:phoneb@10.1.0.10:5060");
	assert_int_equal(out[0].cseq, 1);
	media_each_call(b.m, collect, got);
	assert_int_equal(got->n, 1);
	assert_same_call(c1, &got->s[0]);
	assert_int_equal(dlg_check(b.dlg, "call-1@x", "callee tag", "caller-1", &cb, NULL), DLG_OK);
	/* applying is quiet: b's hooks (none set) and a's mirror saw nothing more */
	assert_int_equal(ml->puts, 5);

	/* gone records: each undoes its own, and only that */
	do_register(&a, "phoneb", "reg-1", 2, "Contact: <sip:phoneb@10.1.0.10:5060>;expires=0\r\n", &s1);
	assert_int_equal(dlg_end(a.dlg, "call-1@x", "caller-1", "callee tag"), 0);
	assert_int_equal(ml->dels, 2);
	for (i = 0; i < ml->n; i++)
		if (!ml->r[i].val[0] && ml->r[i].name[0] != 'c')
			assert_int_equal(persist_forget(b.ps, ml->r[i].last, strlen(ml->r[i].last)), 0);
	assert_int_equal(registrar_lookup(b.reg, "phoneb@edge.test", mono_now, out, 8), 0);
	assert_int_equal(dlg_check(b.dlg, "call-1@x", "callee tag", "caller-1", &cb, NULL), DLG_NONE);
	got->n = 0;
	media_each_call(b.m, collect, got);
	assert_int_equal(got->n, 1); /* the call's record is still there */
	for (i = 0; i < ml->n && ml->r[i].name[0] != 'c'; i++)
		;
	assert_int_equal(persist_forget(b.ps, ml->r[i].last, strlen(ml->r[i].last)), 0);
	got->n = 0;
	media_each_call(b.m, collect, got);
	assert_int_equal(got->n, 0);
	persist_set_mirror(a.ps, NULL);
	env_down(&a);
	env_down(&b);
	free(ml);
	free(got);
	free(c1);
}

static void test_mirror_hostile(void **state)
{
	char n1[SP_HA_NAME_LEN], n2[SP_HA_NAME_LEN], n3[SP_HA_NAME_LEN], buf[256];
	struct tp_addr s1 = src("10.1.0.10", 5060, false);
	struct reg_contact out[8];
	struct persist_stats st;
	struct env b;
	static const char mixed[] = "A 70686f6e656240656467652e74657374\n"
				    "R zz 1 2\n"
				    "Q what\n"
				    "B 6161 edge 1 2 inside outside 10.1.0.10 20000 17 1 0 198.51.100.1 40000 -\n";

	(void)state;
	/* names: stable per (kind, key), kinds apart, only [a-f0-9:] */
	assert_int_equal(sp_ha_name(PERSIST_REG, "k", n1, sizeof(n1)), 0);
	assert_int_equal(sp_ha_name(PERSIST_REG, "k", n2, sizeof(n2)), 0);
	assert_int_equal(sp_ha_name(PERSIST_CALL, "k", n3, sizeof(n3)), 0);
	assert_string_equal(n1, n2);
	assert_string_not_equal(n1, n3);
	assert_int_equal(strlen(n1), SP_HA_NAME_LEN - 1);
	assert_int_equal(strspn(n1 + 2, "0123456789abcdef"), SP_HA_NAME_LEN - 3);
	assert_int_equal(sp_ha_name((enum persist_kind)'x', "k", n1, sizeof(n1)), -EINVAL);
	assert_int_equal(sp_ha_name(PERSIST_REG, "k", n1, 10), -EINVAL);
	/* encoding refuses what it could not give back */
	assert_int_equal(sp_ha_encode("A a|b\n", 6, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sp_ha_encode("A ab", 4, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sp_ha_encode("A ab\n", 5, buf, 2), -ENOSPC);
	assert_int_equal(sp_ha_encode("A ab\nR c\n", 9, buf, sizeof(buf)), 8);
	assert_string_equal(buf, "A ab|R c");
	assert_int_equal(sp_ha_decode("A ab|R c", 8, buf, sizeof(buf)), 9);
	assert_string_equal(buf, "A ab\nR c\n");
	assert_int_equal(sp_ha_decode("A a\nb", 5, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sp_ha_decode("A a\0b", 5, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sp_ha_decode("", 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(sp_ha_decode("A ab", 4, buf, 5), -ENOSPC);

	env_up(&b);
	do_register(&b, "phoneb", "reg-1", 1, "Contact: <sip:phoneb@10.1.0.10:5060>\r\n", &s1);
	/* text that is not whole lines, or holds a NUL: refused whole */
	assert_int_equal(persist_apply(b.ps, "A 6161", 6, NULL), -EINVAL);
	assert_int_equal(persist_apply(b.ps, "A 61\0\n", 6, NULL), -EINVAL);
	assert_int_equal(persist_apply(b.ps, "", 0, NULL), -EINVAL);
	/* bad lines are counted and skipped; the good one (A: forget the
	 * AoR's contacts) applies; a B line with no C line before it does not */
	assert_int_equal(persist_apply(b.ps, mixed, sizeof(mixed) - 1, &st), -EINVAL);
	assert_int_equal(st.lines, 4);
	assert_int_equal(st.bad, 3);
	assert_int_equal(registrar_lookup(b.reg, "phoneb@edge.test", mono_now, out, 8), 0);
	/* a gone record whose text names nothing known changes nothing */
	do_register(&b, "phoneb", "reg-2", 1, "Contact: <sip:phoneb@10.1.0.10:5060>\r\n", &s1);
	assert_int_equal(persist_forget(b.ps, "Z 61\n", 5), -EINVAL);
	assert_int_equal(persist_forget(b.ps, "A\n", 2), -EINVAL);
	assert_int_equal(persist_forget(b.ps, "A 6161", 6), -EINVAL);
	assert_int_equal(registrar_lookup(b.reg, "phoneb@edge.test", mono_now, out, 8), 1);
	env_down(&b);
}

/* Random mutations of a mirror's values (as Redis could hand them back
 * damaged): decoded or refused, applied or counted, never a crash, never
 * more state than the values held. */
static void test_mirror_mutations(void **state)
{
	static const char alphabet[] = "0123456789abcdef -/.|\n\0\x01\xff RBCPFXAD";
	struct media_call_state *c = calloc(1, sizeof(*c));
	struct mirror_log *ml = calloc(1, sizeof(*ml));
	struct persist_mirror m = {.put = mir_put, .arg = ml};
	struct tp_addr s1 = src("10.1.0.10", 5060, false), ca = src("203.0.113.10", 5060, false);
	char val[JOURNAL_LINE_MAX * 4], text[JOURNAL_LINE_MAX * 4 + 2];
	struct persist_stats st;
	struct env a, e;

	(void)state;
	assert_non_null(c);
	assert_non_null(ml);
	env_up(&a);
	make_call(c, "mut@x", 500);
	assert_int_equal(media_restore_call(a.m, c), 0);
	persist_set_mirror(a.ps, &m);
	do_register(&a, "ivan", "i@x", 1,
		    "Contact: <sip:ivan@10.1.0.10>\r\nContact: <sip:ivan@10.1.0.11>;q=0.7\r\n", &s1);
	assert_int_equal(dlg_confirm(a.dlg, "mut@x", "caller-1", &ca, "callee tag", &s1, time(NULL)), 0);
	persist_mirror_all(a.ps);
	assert_int_equal(ml->n, 3);
	srandom(4343);
	for (unsigned it = 0; it < 600; it++) {
		unsigned r = (unsigned)random() % ml->n, k = 1 + (unsigned)random() % 5;
		size_t len = strlen(ml->r[r].val);
		long n;

		memcpy(val, ml->r[r].val, len);
		for (unsigned j = 0; j < k; j++)
			val[(size_t)random() % len] = alphabet[(size_t)random() % (sizeof(alphabet) - 1)];
		if (random() % 8 == 0)
			len = (size_t)random() % len;
		n = sp_ha_decode(val, len, text, sizeof(text));
		if (n < 0)
			continue;
		env_up(&e);
		if (persist_apply(e.ps, text, (size_t)n, &st) == 0)
			assert_int_equal(st.bad, 0);
		assert_true(st.bad <= st.lines);
		assert_true(registrar_count_contacts(e.reg) <= 2);
		{
			struct media_stats ms;
			struct dlg_stats ds;

			media_get_stats(e.m, &ms);
			dlg_get_stats(e.dlg, &ds);
			assert_true(ms.calls <= 1 && ms.bindings <= 3 && ds.confirmed <= 1);
		}
		if (random() % 4 == 0)
			persist_forget(e.ps, text, (size_t)n);
		env_down(&e);
	}
	persist_set_mirror(a.ps, NULL);
	env_down(&a);
	free(ml);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_registrations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_appended_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restore_checks, setup, teardown),
		cmocka_unit_test(test_conf_state_file),
		cmocka_unit_test_setup_teardown(test_roundtrip_dialogs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mirror_mutations, setup, teardown),
	};

	log_open("test_persist", LOG_CRIT, false);
	if (sip_msg_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
