/* Unit tests for notify.c, the sd_notify(3) protocol without libsystemd:
 * a bound AF_UNIX datagram socket stands in for systemd's notification
 * socket. The state arrives as one datagram, byte for byte, at a path and
 * at an abstract ("@") name; with NOTIFY_SOCKET unset or empty nothing is
 * sent and 0 is returned; malformed addresses are refused with -EINVAL and
 * an absent listener gives an error, not a crash or a SIGPIPE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

struct listener {
	int fd;
	char path[108];   /* the socket file, "" for an abstract name */
	char env[110];    /* the NOTIFY_SOCKET value */
};

/* Bind a datagram socket at a fresh path (abstract == 0) or abstract name. */
static void listen_at(struct listener *l, int abstract)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	static unsigned seq;
	socklen_t len;
	char name[96];

	snprintf(name, sizeof(name), "natedge-test-notify-%ld-%u", (long)getpid(), seq++);
	l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(l->fd >= 0);
	if (abstract) {
		l->path[0] = '\0';
		snprintf(l->env, sizeof(l->env), "@%s", name);
		memcpy(sun.sun_path + 1, name, strlen(name));
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(l->path, sizeof(l->path), "%s/%s", tmp && *tmp ? tmp : "/tmp", name);
		snprintf(l->env, sizeof(l->env), "%s", l->path);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", l->path);
		unlink(l->path);
		len = (socklen_t)sizeof(sun);
	}
	assert_int_equal(bind(l->fd, (struct sockaddr *)&sun, len), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", l->env, 1), 0);
}

static void listener_close(struct listener *l)
{
	close(l->fd);
	if (l->path[0])
		unlink(l->path);
	unsetenv("NOTIFY_SOCKET");
}

/* The next datagram (within 2 s) into buf, NUL-terminated; its length, or
 * -1 when none came. */
static ssize_t recv_state(int fd, char *buf, size_t cap, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

static void test_ready_to_path(void **state)
{
	struct listener l;
	char buf[256];
	(void)state;

	listen_at(&l, 0);
	assert_int_equal(notify_send("READY=1"), 1);
	assert_int_equal(recv_state(l.fd, buf, sizeof(buf), 2000), 7);
	assert_string_equal(buf, "READY=1");
	listener_close(&l);
}

static void test_ready_to_abstract_name(void **state)
{
	struct listener l;
	char buf[256];
	(void)state;

	listen_at(&l, 1);
	assert_int_equal(notify_send("READY=1"), 1);
	assert_int_equal(recv_state(l.fd, buf, sizeof(buf), 2000), 7);
	assert_string_equal(buf, "READY=1");
	listener_close(&l);
}

/* Several assignments in one datagram, in order; later states follow as
 * separate datagrams (the variable stays set). */
static void test_multiline_and_sequence(void **state)
{
	struct listener l;
	char buf[1200];
	(void)state;

	listen_at(&l, 1);
	assert_int_equal(notify_sendf("READY=1\nSTATUS=running as %s", "natedge"), 1);
	assert_int_equal(notify_send("RELOADING=1"), 1);
	assert_int_equal(notify_send("STOPPING=1"), 1);
	assert_true(recv_state(l.fd, buf, sizeof(buf), 2000) > 0);
	assert_string_equal(buf, "READY=1\nSTATUS=running as natedge");
	assert_true(recv_state(l.fd, buf, sizeof(buf), 2000) > 0);
	assert_string_equal(buf, "RELOADING=1");
	assert_true(recv_state(l.fd, buf, sizeof(buf), 2000) > 0);
	assert_string_equal(buf, "STOPPING=1");
	assert_non_null(getenv("NOTIFY_SOCKET"));
	listener_close(&l);
}

static void test_unset_is_a_noop(void **state)
{
	struct listener l;
	char buf[64];
	(void)state;

	/* a listener exists, but nobody told notify where it is */
	listen_at(&l, 0);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0);
	assert_int_equal(notify_sendf("STATUS=%d", 1), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
	assert_int_equal(notify_send("READY=1"), 0);
	assert_int_equal(recv_state(l.fd, buf, sizeof(buf), 100), -1);
	listener_close(&l);
}

static void test_malformed_address(void **state)
{
	char longname[200];
	(void)state;

	assert_int_equal(setenv("NOTIFY_SOCKET", "run/systemd/notify", 1), 0);
	assert_int_equal(notify_send("READY=1"), -EINVAL);
	assert_int_equal(setenv("NOTIFY_SOCKET", "@", 1), 0);
	assert_int_equal(notify_send("READY=1"), -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(setenv("NOTIFY_SOCKET", longname, 1), 0);
	assert_int_equal(notify_send("READY=1"), -EINVAL);
	assert_int_equal(notify_send(NULL), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
}

/* Nobody listening: an error code, the caller carries on. */
static void test_no_listener(void **state)
{
	char path[128];
	int r;
	(void)state;

	snprintf(path, sizeof(path), "/nonexistent-dir-%ld/notify", (long)getpid());
	assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
	r = notify_send("READY=1");
	assert_true(r < 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", "@natedge-test-notify-nobody-here", 1), 0);
	r = notify_send("READY=1");
	assert_true(r == -ECONNREFUSED || r == -ENOENT);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready_to_path),
		cmocka_unit_test(test_ready_to_abstract_name),
		cmocka_unit_test(test_multiline_and_sequence),
		cmocka_unit_test(test_unset_is_a_noop),
		cmocka_unit_test(test_malformed_address),
		cmocka_unit_test(test_no_listener),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
