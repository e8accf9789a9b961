/* test_status: the client side of the status socket (status_query) when
 * the proxy closes early. connect() is wrapped so that the "proxy" end
 * (a listening socket in this test) can accept and close at a chosen
 * moment, deterministically. SIGPIPE keeps its default action here: a
 * send that raised it would kill the test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "status.h"

enum mode { M_PASS, M_CLOSE_AT_ONCE, M_ANSWER_THEN_CLOSE };

static int lfd = -1;
static enum mode mode;
static const char *answer_text;

int __real_connect(int fd, const struct sockaddr *sa, socklen_t len);
int __wrap_connect(int fd, const struct sockaddr *sa, socklen_t len);
int __wrap_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	int rc = __real_connect(fd, sa, len), cfd;

	if (rc < 0 || mode == M_PASS)
		return rc;
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	if (mode == M_ANSWER_THEN_CLOSE)
		assert_int_equal(write(cfd, answer_text, strlen(answer_text)), (ssize_t)strlen(answer_text));
	close(cfd);
	return rc;
}

static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static int setup(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_status.%d.sock", (int)getpid());
	unlink(path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	close(lfd);
	unlink(path);
	return 0;
}

static int query(const char *cmd, char *out, size_t outlen)
{
	FILE *f = fmemopen(out, outlen, "w");
	int rc;

	assert_non_null(f);
	rc = status_query(path, cmd, f);
	fclose(f);
	return rc;
}

/* closed before the command was read: -EPIPE, and no SIGPIPE */
static void test_closed_before_command(void **state)
{
	char out[256] = "";

	(void)state;
	mode = M_CLOSE_AT_ONCE;
	assert_int_equal(query("ha promote", out, sizeof(out)), -EPIPE);
	assert_string_equal(out, "");
}

/* closed without a word to a plain reader: -ECONNABORTED, not success */
static void test_closed_without_answer(void **state)
{
	char out[256] = "";

	(void)state;
	mode = M_CLOSE_AT_ONCE;
	assert_int_equal(query(NULL, out, sizeof(out)), -ECONNABORTED);
}

/* an answer sent before the proxy read the command still counts */
static void test_answer(void **state)
{
	char out[256] = "";

	(void)state;
	mode = M_ANSWER_THEN_CLOSE;
	answer_text = "counters calls=0\n";
	assert_int_equal(query(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "counters calls=0\n");
	answer_text = "error shared mode\n";
	assert_int_equal(query(NULL, out, sizeof(out)), 0); /* no command: nothing refused */
}

/* nobody there, and bad commands */
static void test_errors(void **state)
{
	char out[16];

	(void)state;
	mode = M_PASS;
	assert_int_equal(status_query("/nonexistent/status.sock", NULL, stdout), -ENOENT);
	assert_int_equal(query("ha\npromote", out, sizeof(out)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_closed_before_command),
		cmocka_unit_test(test_closed_without_answer),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
