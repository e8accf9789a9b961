/* Golden transcripts: the .hex files of tests/golden/ (format in golden.h) hold valid
 * conversations and hostile messages as annotated hex, each with the
 * result a decoder must give. The files are the protocol's reference
 * bytes: a change to the codec that alters them is a change to the wire
 * format. Besides checking each message alone, the test frames each
 * file's valid messages as one byte stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcontrol/msg.h>

#include "fixtures.h"
#include "golden.h"

#ifndef GOLDEN_DIR
#error "GOLDEN_DIR must name tests/golden"
#endif

#define E(x) {#x, x}
static const struct {
	const char *name;
	int code;
} errnames[] = {
	{"0", 0},
	E(NC_E_SHORT),     E(NC_E_MAGIC),     E(NC_E_VERSION),     E(NC_E_HEADER),
	E(NC_E_LENGTH),    E(NC_E_TRAILING),  E(NC_E_TYPE),        E(NC_E_REQID),
	E(NC_E_TRUNCATED), E(NC_E_ORDER),     E(NC_E_DUPLICATE),   E(NC_E_CRITICAL),
	E(NC_E_MISPLACED), E(NC_E_MISSING),   E(NC_E_TOOMANY),     E(NC_E_BADLEN),
	E(NC_E_OVERSIZE),  E(NC_E_UNTERMINATED), E(NC_E_STRING),   E(NC_E_RANGE),
	E(NC_E_INCONSISTENT),
};

static int errcode(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(errnames) / sizeof(errnames[0]); i++)
		if (!strcmp(errnames[i].name, name))
			return errnames[i].code;
	fail_msg("unknown error name %s", name);
	return 1;
}

enum kind { G_OK, G_ERROR, G_FRAME };

struct entry {
	enum kind kind;
	char arg[64];
	uint32_t id;
	bool has_id;
	unsigned skipped;
	unsigned line;
	uint8_t *b;
	size_t n;
};

struct golden {
	struct entry e[64];
	unsigned n;
};

static void parse_directive(struct entry *e, char *s, const char *file, unsigned line)
{
	char *tok = strtok(s, " \t");

	if (!tok)
		fail_msg("%s:%u: empty directive", file, line);
	if (!strcmp(tok, "ok"))
		e->kind = G_OK;
	else if (!strcmp(tok, "error"))
		e->kind = G_ERROR;
	else if (!strcmp(tok, "frame"))
		e->kind = G_FRAME;
	else
		fail_msg("%s:%u: unknown directive %s", file, line, tok);
	if (!(tok = strtok(NULL, " \t")))
		fail_msg("%s:%u: directive without argument", file, line);
	snprintf(e->arg, sizeof(e->arg), "%s", tok);
	while ((tok = strtok(NULL, " \t"))) {
		if (!strncmp(tok, "id=", 3)) {
			e->id = (uint32_t)strtoul(tok + 3, NULL, 10);
			e->has_id = true;
		} else if (!strncmp(tok, "skipped=", 8)) {
			e->skipped = (unsigned)strtoul(tok + 8, NULL, 10);
		} else {
			fail_msg("%s:%u: unknown option %s", file, line, tok);
		}
	}
}

static void load(const char *file, struct golden *g)
{
	char path[512], line[1024];
	unsigned lineno = 0;
	struct entry *e = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, file);
	if (!(f = fopen(path, "r")))
		fail_msg("cannot open %s", path);
	memset(g, 0, sizeof(*g));
	while (fgets(line, sizeof(line), f)) {
		char *hash = strchr(line, '#'), *p;
		int hi = -1;

		lineno++;
		if (hash)
			*hash = 0;
		line[strcspn(line, "\r\n")] = 0;
		p = line + strspn(line, " \t");
		if (*p == '@') {
			assert_true(g->n < sizeof(g->e) / sizeof(g->e[0]));
			e = &g->e[g->n++];
			e->line = lineno;
			e->b = malloc(NC_MSG_MAX + 64);
			assert_non_null(e->b);
			parse_directive(e, p + 1, file, lineno);
			continue;
		}
		for (; *p; p++) {
			int v;

			if (isspace((unsigned char)*p))
				continue;
			if (!isxdigit((unsigned char)*p))
				fail_msg("%s:%u: not hex: %c", file, lineno, *p);
			if (!e)
				fail_msg("%s:%u: bytes before the first directive", file, lineno);
			v = isdigit((unsigned char)*p) ? *p - '0' : tolower((unsigned char)*p) - 'a' + 10;
			if (hi < 0) {
				hi = v;
			} else {
				assert_true(e->n < NC_MSG_MAX + 64);
				e->b[e->n++] = (uint8_t)(hi << 4 | v);
				hi = -1;
			}
		}
		if (hi >= 0)
			fail_msg("%s:%u: odd number of hex digits", file, lineno);
	}
	fclose(f);
	assert_true(g->n > 0);
}

static void unload(struct golden *g)
{
	unsigned i;

	for (i = 0; i < g->n; i++)
		free(g->e[i].b);
}

/* Check every entry alone; returns how many were valid messages. */
static unsigned check_entries(const char *file, struct golden *g)
{
	struct nc_msg *m = calloc(1, sizeof(*m)), *want = calloc(1, sizeof(*want));
	static uint8_t enc[NC_MSG_MAX];
	unsigned i, ok = 0;

	assert_non_null(m);
	assert_non_null(want);
	for (i = 0; i < g->n; i++) {
		struct entry *e = &g->e[i];
		uint8_t *copy = malloc(e->n ? e->n : 1);
		int err, n;

		assert_non_null(copy);
		if (e->n)
			memcpy(copy, e->b, e->n);
		switch (e->kind) {
		case G_OK:
			ok++;
			if (fx_by_name(e->arg, want) < 0)
				fail_msg("%s:%u: no fixture %s", file, e->line, e->arg);
			if (e->has_id)
				want->reqid = e->id;
			want->skipped = e->skipped;
			if (nc_frame(copy, e->n) != (int)e->n)
				fail_msg("%s:%u: does not frame as one message", file, e->line);
			if ((err = nc_decode(copy, e->n, m)) < 0)
				fail_msg("%s:%u: %s: %s", file, e->line, e->arg, nc_strerror(err));
			if (memcmp(m, want, sizeof(*m)))
				fail_msg("%s:%u: %s: decodes to something else", file, e->line, e->arg);
			if (!e->skipped) {
				n = nc_encode_msg(enc, sizeof(enc), want);
				if (n != (int)e->n || memcmp(enc, e->b, e->n)) {
					fprintf(stderr, "%s:%u: encoding of %s is now:\n", file, e->line,
						e->arg);
					if (n > 0)
						gd_print(stderr, enc, (size_t)n);
					fail_msg("%s:%u: %s: bytes differ", file, e->line, e->arg);
				}
			}
			break;
		case G_ERROR:
			err = nc_decode(copy, e->n, m);
			if (err != errcode(e->arg))
				fail_msg("%s:%u: want %s, got %d (%s)", file, e->line, e->arg, err,
					 nc_strerror(err));
			break;
		case G_FRAME:
			err = nc_frame(copy, e->n);
			if (err != errcode(e->arg))
				fail_msg("%s:%u: frame: want %s, got %d", file, e->line, e->arg, err);
			break;
		}
		free(copy);
	}
	free(m);
	free(want);
	return ok;
}

/* Concatenate the valid messages and cut them back out of the stream. */
static void check_stream(struct golden *g)
{
	uint8_t *s = malloc(64 * (NC_MSG_MAX + 64));
	size_t n = 0, off = 0;
	unsigned i;

	assert_non_null(s);
	for (i = 0; i < g->n; i++)
		if (g->e[i].kind == G_OK) {
			memcpy(s + n, g->e[i].b, g->e[i].n);
			n += g->e[i].n;
		}
	for (i = 0; i < g->n; i++) {
		int len;

		if (g->e[i].kind != G_OK)
			continue;
		len = nc_frame(s + off, n - off);
		assert_int_equal(len, (int)g->e[i].n);
		off += (size_t)len;
	}
	assert_int_equal(off, n);
	assert_int_equal(nc_frame(s + off, 0), 0);
	free(s);
}

static void run(const char *file, unsigned min_ok, unsigned min_bad)
{
	struct golden *g = calloc(1, sizeof(*g));
	unsigned ok;

	assert_non_null(g);
	load(file, g);
	ok = check_entries(file, g);
	assert_true(ok >= min_ok);
	assert_true(g->n - ok >= min_bad);
	check_stream(g);
	unload(g);
	free(g);
}

static void test_session(void **state)
{
	(void)state;
	run("session.hex", 20, 0);
}

static void test_variants(void **state)
{
	(void)state;
	run("variants.hex", 10, 0);
}

static void test_hostile(void **state)
{
	(void)state;
	run("hostile.hex", 1, 25);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
