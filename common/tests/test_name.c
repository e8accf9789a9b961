/* test_name: the name grammar (name.c) shared by realm, pool, client and
 * natd names in both configurations and sipproxy's state file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "name.h"

static void test_name_ok(void **state)
{
	(void)state;
	assert_true(name_ok("inside", 31));
	assert_true(name_ok("A-z_0.9", 31));
	assert_true(name_ok("a", 1));
	assert_true(name_ok("abc", 3));
	assert_false(name_ok("abcd", 3)); /* too long */
	assert_false(name_ok("", 31));    /* empty */
	assert_false(name_ok("in side", 31));
	assert_false(name_ok("a/b", 31));
	assert_false(name_ok("a:b", 31));
	assert_false(name_ok("a\"b", 31));
	assert_false(name_ok("a\nb", 31));
	assert_false(name_ok("caf\xc3\xa9", 31));
}

static void test_name_chars_ok(void **state)
{
	(void)state;
	assert_true(name_chars_ok(""));
	assert_true(name_chars_ok("natd-a.example_1"));
	assert_false(name_chars_ok("natd a"));
	assert_false(name_chars_ok("\t"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_name_chars_ok),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
