/* test_prefix: the one IPv4 prefix grammar (prefix.c): what both
 * daemons' configurations accept, what they refuse, host bits told apart,
 * matching and printing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "prefix.h"

static uint32_t A(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void test_parse_good(void **state)
{
	struct prefix p;

	(void)state;
	assert_int_equal(prefix_parse("10.1.0.0/24", &p), 0);
	assert_int_equal(p.addr, A("10.1.0.0"));
	assert_int_equal(p.mask, A("255.255.255.0"));
	assert_int_equal(p.len, 24);
	/* a bare address is a /32 */
	assert_int_equal(prefix_parse("192.0.2.7", &p), 0);
	assert_int_equal(p.addr, A("192.0.2.7"));
	assert_int_equal(p.mask, 0xffffffffu);
	assert_int_equal(p.len, 32);
	assert_int_equal(prefix_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(p.addr, 0);
	assert_int_equal(p.mask, 0);
	assert_int_equal(p.len, 0);
	assert_int_equal(prefix_parse("255.255.255.255/32", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(prefix_parse("172.16.0.0/12", &p), 0);
	assert_int_equal(p.mask, A("255.240.0.0"));
	assert_int_equal(prefix_parse("128.0.0.0/1", &p), 0);
	assert_int_equal(p.mask, A("128.0.0.0"));
	/* leading zeros in the length: natd has always taken them */
	assert_int_equal(prefix_parse("10.0.0.0/08", &p), 0);
	assert_int_equal(p.len, 8);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "/24", "10.1.0.0/", "10.1.0.0/33", "10.1.0.0/100", "10.1.0.0/-1",
		"10.1.0.0/+8", "10.1.0.0/8x", "10.1.0.0/8/8", "10.1.0/24", "10.1.0.256/32",
		"inside", "10.1.0.0 /24", " 10.1.0.0/24", "::1/128", "10.1.0.0/24 ",
		"1234567890123456789/8", "10.0.0.0/ 8", "10.0.0.0/ +8", "10.0.0.0/008", "10.0.0.0/08x",
	};
	struct prefix p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (prefix_parse(bad[i], &p) != -EINVAL)
			fail_msg("\"%s\" was not refused as -EINVAL", bad[i]);
	}
}

static void test_host_bits(void **state)
{
	struct prefix p;
	char buf[PREFIX_STRLEN];

	(void)state;
	/* refused, but told apart, with the prefix it would be */
	assert_int_equal(prefix_parse("10.1.0.1/24", &p), -EDOM);
	assert_string_equal(prefix_fmt(&p, buf, sizeof(buf)), "10.1.0.0/24");
	assert_int_equal(prefix_parse("10.0.0.1/8", &p), -EDOM);
	assert_string_equal(prefix_fmt(&p, buf, sizeof(buf)), "10.0.0.0/8");
	assert_int_equal(prefix_parse("1.2.3.4/0", &p), -EDOM);
	assert_string_equal(prefix_fmt(&p, buf, sizeof(buf)), "0.0.0.0/0");
}

static void test_match(void **state)
{
	struct prefix p;

	(void)state;
	assert_int_equal(prefix_parse("10.1.0.128/25", &p), 0);
	assert_true(prefix_match(&p, A("10.1.0.128")));
	assert_true(prefix_match(&p, A("10.1.0.255")));
	assert_false(prefix_match(&p, A("10.1.0.127")));
	assert_false(prefix_match(&p, A("10.1.1.128")));
	assert_int_equal(prefix_parse("0.0.0.0/0", &p), 0);
	assert_true(prefix_match(&p, A("203.0.113.9")));
	assert_int_equal(prefix_parse("198.51.100.1", &p), 0);
	assert_true(prefix_match(&p, A("198.51.100.1")));
	assert_false(prefix_match(&p, A("198.51.100.2")));
}

static void test_mask_and_fmt(void **state)
{
	struct prefix p;
	char buf[PREFIX_STRLEN];

	(void)state;
	assert_int_equal(prefix_mask(0), 0);
	assert_int_equal(prefix_mask(16), A("255.255.0.0"));
	assert_int_equal(prefix_mask(32), 0xffffffffu);
	assert_int_equal(prefix_mask(40), 0xffffffffu); /* over 32: a host */
	assert_int_equal(prefix_parse("255.255.255.255/32", &p), 0);
	assert_string_equal(prefix_fmt(&p, buf, sizeof(buf)), "255.255.255.255/32");
	assert_int_equal(strlen(buf) + 1, PREFIX_STRLEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_host_bits),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_mask_and_fmt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
