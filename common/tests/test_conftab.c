/* Unit tests for conftab, the configuration engine alone: a tiny item
 * table and one list, loaded from strings (and a file), with every problem
 * checked as the exact "file:line: setting: problem" line: unknown keys,
 * wrong types, ranges, integers libconfig cuts to 32 bits, strings, enums,
 * lists of names (unknown, listed twice, empty), lists of groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conftab.h"

struct elem {
	char name[8];
	int n;
};

struct t {
	int i;
	unsigned u;
	uint16_t h;
	bool b;
	char s[8];
	int e;
	int l[3];
	unsigned nl;
	struct elem elems[2];
	unsigned nelems;
	unsigned checked; /* elements seen by elem_check() */
};

static const struct conftab_choice ab[] = {{"a", 10}, {"b", 20}, {NULL, 0}};
static const struct conftab_choice xyz[] = {{"x", 1}, {"y", 2}, {"z", 3}, {NULL, 0}};

#define OFF(f) offsetof(struct t, f)
static const struct conftab_item items[] = {
	{.path = "i", .type = &conftab_int, .min = -5, .max = 5, .off = OFF(i), .dflt = 1},
	{.path = "g.u", .type = &conftab_uint, .min = 0, .max = 100, .off = OFF(u), .dflt = 7},
	{.path = "g.h", .type = &conftab_u16, .min = 1, .max = 65535, .off = OFF(h), .dflt = 5060},
	{.path = "b", .type = &conftab_bool, .off = OFF(b), .dflt = 1},
	{.path = "s", .type = &conftab_str, .min = 1, .off = OFF(s), .size = 8, .dflt_s = "dflt"},
	{.path = "e", .type = &conftab_enum, .off = OFF(e), .dflt = 10, .choices = ab},
	{.path = "l", .type = &conftab_enumlist, .off = OFF(l), .size = 3, .off2 = OFF(nl), .choices = xyz},
};
static const char *const groups[] = {"g"};

static struct t *checking; /* where elem_check() counts */

static void elem_check(struct conftab *ct, const config_setting_t *g, void *e)
{
	(void)ct;
	(void)g;
	(void)e;
	checking->checked++;
}

static const struct conftab_item elem_keys[] = {
	{.path = "name", .type = &conftab_str, .flags = CONFTAB_REQ, .min = 1,
	 .off = offsetof(struct elem, name), .size = 8},
	{.path = "n", .type = &conftab_int, .min = 0, .max = 9, .off = offsetof(struct elem, n), .dflt = 3},
};
static const struct conftab_list lists[] = {
	{"elems", elem_keys, 2, sizeof(struct elem), 2, "{ name = ...; }", elem_check},
};

static const config_setting_t *elem_groups[2];
static char *errs;
static size_t errlen;
static struct t t;

/* Load text as the file "t"; the number of problems. */
static int load(const char *text)
{
	FILE *f = open_memstream(&errs, &errlen);
	struct conftab ct;
	config_t cfg;

	assert_non_null(f);
	memset(&t, 0, sizeof(t));
	checking = &t;
	conftab_init(&ct, "t", f);
	config_init(&cfg);
	if (conftab_read_string(&ct, &cfg, text) == 0) {
		conftab_check_unknown(&ct, config_root_setting(&cfg), items, 7, groups, 1, lists, 1);
		conftab_load_items(&ct, &cfg, items, 7, &t);
		t.nelems = conftab_load_list(&ct, &cfg, &lists[0], t.elems, elem_groups);
	} else {
		ct.nerr = -1;
	}
	config_destroy(&cfg);
	assert_int_equal(fclose(f), 0);
	return ct.nerr;
}

static int teardown(void **state)
{
	(void)state;
	free(errs);
	errs = NULL;
	return 0;
}

/* text gives exactly the problem lines want. */
static void expect(const char *text, int n, const char *want)
{
	int got = load(text);

	if (got != n || strcmp(errs, want))
		fail_msg("%s\nexpected %d problem(s):\n%sgot %d:\n%s", text, n, want, got, errs);
	free(errs);
	errs = NULL;
}

static void test_defaults_and_values(void **state)
{
	(void)state;
	expect("", 0, "");
	assert_int_equal(t.i, 1);
	assert_int_equal(t.u, 7);
	assert_int_equal(t.h, 5060);
	assert_true(t.b);
	assert_string_equal(t.s, "dflt");
	assert_int_equal(t.e, 10);
	assert_int_equal(t.nl, 3); /* every choice, in the table's order */
	assert_int_equal(t.l[0], 1);
	assert_int_equal(t.l[2], 3);
	assert_int_equal(t.nelems, 0);
	expect("i = -5; g: { u = 100; h = 1; }; b = false; s = \"seven77\"; e = \"b\";\n"
	       "l = [ \"z\", \"x\" ]; elems = ( { name = \"p\"; }, { name = \"q\"; n = 9; } );\n", 0, "");
	assert_int_equal(t.i, -5);
	assert_int_equal(t.u, 100);
	assert_int_equal(t.h, 1);
	assert_false(t.b);
	assert_string_equal(t.s, "seven77");
	assert_int_equal(t.e, 20);
	assert_int_equal(t.nl, 2);
	assert_int_equal(t.l[0], 3);
	assert_int_equal(t.l[1], 1);
	assert_int_equal(t.nelems, 2);
	assert_string_equal(t.elems[0].name, "p");
	assert_int_equal(t.elems[0].n, 3);
	assert_int_equal(t.elems[1].n, 9);
	assert_int_equal(t.checked, 2);
	/* a 64-bit literal is range-checked whole */
	expect("g: { u = 50L; };\n", 0, "");
	assert_int_equal(t.u, 50);
}

static void test_unknown_keys(void **state)
{
	(void)state;
	expect("zz = 1;\ng: { u = 1; v = 2; };\nelems = ( { name = \"p\"; m = 1; } );\n", 3,
	       "t:1: zz: unknown setting\n"
	       "t:2: g.v: unknown setting\n"
	       "t:3: elems[0].m: unknown setting\n");
	expect("g = 1;\n", 1, "t:1: g: must be a group { ... }\n");
}

static void test_wrong_types(void **state)
{
	(void)state;
	expect("i = \"1\";\nb = 1;\ns = 5;\ne = 1;\nl = \"x\";\n", 5,
	       "t:1: i: must be an integer\n"
	       "t:2: b: must be true or false\n"
	       "t:3: s: must be a string\n"
	       "t:4: e: must be a string\n"
	       "t:5: l: must be an array of strings [ x, y, z ]\n");
	assert_int_equal(t.i, 1); /* the default stays */
}

static void test_out_of_range(void **state)
{
	(void)state;
	expect("i = 6;\ng: { u = -1; h = 0; };\n", 3,
	       "t:1: i: 6 is out of range -5..5\n"
	       "t:2: g.u: -1 is out of range 0..100\n"
	       "t:2: g.h: 0 is out of range 1..65535\n");
	expect("g: { u = 4294967297L; };\n", 1, "t:1: g.u: 4294967297 is out of range 0..100\n");
}

/* libconfig 1.5 keeps the low 32 bits of a longer literal without an L
 * suffix (4294967297 reads as 1, in range here): refused as written. */
static void test_wide_integers(void **state)
{
	(void)state;
	expect("i = 4294967297;\n", 1, "t:1: i: 4294967297 is out of range -5..5\n");
	expect("g: {\n u = 0x100000005; };\n", 1, "t:2: g.u: 0x100000005 is out of range 0..100\n");
	expect("i = -4294967295;\n", 1, "t:1: i: -4294967295 is out of range -5..5\n");
	expect("elems = ( { name = \"p\"; n = 4294967300; } );\n", 1,
	       "t:1: elems[0].n: 4294967300 is out of range 0..9\n");
	/* digits in strings, comments and names are not numbers */
	expect("s = \"4294967297\"; # 4294967297\n/* 4294967297 */ // 4294967297\ni = 2;\n", 1,
	       "t:1: s: longer than 7 characters\n");
	assert_int_equal(t.i, 2);
}

static void test_strings_and_enums(void **state)
{
	(void)state;
	expect("s = \"\";\ne = \"c\";\n", 2,
	       "t:1: s: must not be empty\n"
	       "t:2: e: \"c\" is not one of a, b\n");
	expect("s = \"eight888\";\n", 1, "t:1: s: longer than 7 characters\n");
	assert_string_equal(t.s, "dflt");
}

static void test_name_list(void **state)
{
	(void)state;
	expect("l = [ \"x\", \"w\", \"x\", \"y\" ];\n", 2,
	       "t:1: l[1]: \"w\" is not one of x, y, z\n"
	       "t:1: l[2]: \"x\" is listed twice\n");
	assert_int_equal(t.nl, 2);
	assert_int_equal(t.l[0], 1);
	assert_int_equal(t.l[1], 2);
	expect("l = [ ];\n", 1, "t:1: l: must name at least one of x, y, z\n");
}

static void test_lists(void **state)
{
	(void)state;
	expect("elems = ( { n = 1; } );\n", 1, "t:1: elems[0].name: missing\n");
	assert_int_equal(t.nelems, 1);
	assert_int_equal(t.checked, 1);
	expect("elems = ( { name = \"a\"; }, 1, { name = \"b\"; },\n { name = \"c\"; } );\n", 2,
	       "t:1: elems[1]: must be a group { name = ...; }\n"
	       "t:2: elems[3]: more than 2 entries\n");
	assert_int_equal(t.nelems, 2);
	expect("elems = 1;\n", 1, "t:1: elems: must be a list ( { name = ...; }, ... )\n");
	expect("elems = [ ];\n", 0, "");
}

static void test_reading(void **state)
{
	char path[] = "/tmp/test_conftab.XXXXXX";
	struct conftab ct;
	config_t cfg;
	FILE *f;
	int fd;

	(void)state;
	assert_int_equal(load("i = ;\n"), -1);
	assert_string_equal(errs, "t:1: (syntax): syntax error\n");
	free(errs);
	/* a file: read, and its text scanned for cut integers */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("\ni = 4294967297;\n", f);
	assert_int_equal(fclose(f), 0);
	f = open_memstream(&errs, &errlen);
	assert_non_null(f);
	conftab_init(&ct, path, f);
	config_init(&cfg);
	assert_int_equal(conftab_read_file(&ct, &cfg), 0);
	conftab_load_items(&ct, &cfg, items, 7, &t);
	config_destroy(&cfg);
	unlink(path);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(ct.nerr, 1);
	assert_non_null(strstr(errs, ":2: i: 4294967297 is out of range -5..5\n"));
	assert_memory_equal(errs, path, strlen(path));
	free(errs);
	/* a file that is not there */
	f = open_memstream(&errs, &errlen);
	assert_non_null(f);
	conftab_init(&ct, path, f);
	config_init(&cfg);
	assert_int_equal(conftab_read_file(&ct, &cfg), -1);
	config_destroy(&cfg);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(errs, ":0: (file): cannot read: No such file or directory\n"));
}

/* conftab_err: the setting's path, or the name given; line 0 without one. */
static void test_messages(void **state)
{
	struct conftab ct;
	config_t cfg;
	FILE *f = open_memstream(&errs, &errlen);
	char p[64];

	(void)state;
	assert_non_null(f);
	conftab_init(&ct, "t", f);
	config_init(&cfg);
	assert_int_equal(conftab_read_string(&ct, &cfg, "\n\ng: { u = 1; };\n"), 0);
	conftab_err(&ct, config_lookup(&cfg, "g.u"), NULL, "%s %d", "problem", 1);
	conftab_err(&ct, config_lookup(&cfg, "g.u"), "other", "problem");
	conftab_err(&ct, NULL, "nowhere", "problem");
	assert_string_equal(conftab_key_path(config_lookup(&cfg, "g"), "h", p, sizeof(p)), "g.h");
	config_destroy(&cfg);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(ct.nerr, 3);
	assert_string_equal(errs, "t:3: g.u: problem 1\nt:3: other: problem\nt:0: nowhere: problem\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_defaults_and_values, teardown),
		cmocka_unit_test_teardown(test_unknown_keys, teardown),
		cmocka_unit_test_teardown(test_wrong_types, teardown),
		cmocka_unit_test_teardown(test_out_of_range, teardown),
		cmocka_unit_test_teardown(test_wide_integers, teardown),
		cmocka_unit_test_teardown(test_strings_and_enums, teardown),
		cmocka_unit_test_teardown(test_name_list, teardown),
		cmocka_unit_test_teardown(test_lists, teardown),
		cmocka_unit_test_teardown(test_reading, teardown),
		cmocka_unit_test_teardown(test_messages, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
