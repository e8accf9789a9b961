/* test_log: log.c's lines on stderr: the format, one write(2) a line, the
 * level filter (arguments of a message that is off are not evaluated) and
 * the cut of an over-long message. stderr is pointed at a temporary file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int saved_fd = -1;
static FILE *capture;

static int setup(void **state)
{
	(void)state;
	capture = tmpfile();
	assert_non_null(capture);
	saved_fd = dup(STDERR_FILENO);
	assert_true(saved_fd >= 0);
	assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
	log_open("test_log", LOG_INFO, false);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);
	fclose(capture);
	return 0;
}

/* what was written since the last call, NUL-terminated (caller frees) */
static char *take(size_t *len)
{
	long end = lseek(STDERR_FILENO, 0, SEEK_CUR);
	char *buf;

	assert_true(end >= 0);
	buf = calloc(1, (size_t)end + 1);
	assert_non_null(buf);
	assert_int_equal(pread(STDERR_FILENO, buf, (size_t)end, 0), end);
	assert_int_equal(ftruncate(STDERR_FILENO, 0), 0);
	assert_int_equal(lseek(STDERR_FILENO, 0, SEEK_SET), 0);
	if (len)
		*len = (size_t)end;
	return buf;
}

static void test_format(void **state)
{
	regex_t re;
	char *s;

	(void)state;
	log_info("binding %u granted for %s", 7u, "uid:0");
	log_notice("second");
	s = take(NULL);
	assert_int_equal(regcomp(&re,
				 "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
				 "info: binding 7 granted for uid:0\n"
				 "[0-9-]{10}T[0-9:]{8}\\.[0-9]{3}Z notice: second\n$",
				 REG_EXTENDED),
			 0);
	assert_int_equal(regexec(&re, s, 0, NULL, 0), 0);
	regfree(&re);
	free(s);
}

static int evaluated;
static const char *count_eval(void)
{
	evaluated++;
	return "x";
}

static void test_level(void **state)
{
	char *s;

	(void)state;
	log_level = LOG_NOTICE;
	evaluated = 0;
	log_info("off %s", count_eval());
	log_debug("off %s", count_eval());
	assert_int_equal(evaluated, 0); /* not even the arguments */
	log_notice("on %s", count_eval());
	assert_int_equal(evaluated, 1);
	log_level = LOG_INFO;
	s = take(NULL);
	assert_non_null(strstr(s, "notice: on x\n"));
	assert_null(strstr(s, "off"));
	free(s);
}

static void test_cut(void **state)
{
	char big[5000];
	size_t len;
	char *s;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_err("%s", big);
	log_err("after");
	s = take(&len);
	char *nl = strchr(s, '\n');
	assert_non_null(nl);
	assert_true((size_t)(nl - s) < 2048); /* one bounded line */
	assert_memory_equal(nl - 9, "... (cut)", 9);
	assert_non_null(strstr(nl + 1, "error: after\n")); /* the next line is whole */
	assert_int_equal(s[len - 1], '\n');
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_level),
		cmocka_unit_test(test_cut),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
