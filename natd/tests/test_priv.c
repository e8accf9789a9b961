/* priv_state_dir: the state directory and file are taken over (given to
 * the daemon's user) without following symbolic links.
 *
 * Each test builds its layout in a fresh temporary directory: a planted
 * symbolic link where the state directory should be (pointing at a
 * directory owned by someone else, even when it is named by
 * $STATE_DIRECTORY), a state "directory" that is a file, a state file
 * that is a link or a hard link, and the ordinary cases (a directory
 * made here, systemd's StateDirectory=, an existing state file). Run as
 * root the ownership is checked; otherwise only the refusals are (natd
 * chowns nothing when it is not root). User "nobody" must exist.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "priv.h"

#define OTHER_UID 4242 /* "someone else": owns the victim directory */
#define USER "nobody"

struct env {
	char top[64];
	uid_t uid;
	gid_t gid;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	struct passwd *pw = getpwnam(USER);

	assert_non_null(e);
	if (!pw) {
		free(e);
		skip();
	}
	e->uid = pw->pw_uid;
	e->gid = pw->pw_gid;
	snprintf(e->top, sizeof(e->top), "/tmp/test_priv_XXXXXX");
	assert_non_null(mkdtemp(e->top));
	unsetenv("STATE_DIRECTORY");
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	char cmd[128];

	unsetenv("STATE_DIRECTORY");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->top);
	assert_int_equal(system(cmd), 0);
	free(e);
	return 0;
}

static void pathf(char *out, const struct env *e, const char *rel)
{
	snprintf(out, PATH_MAX, "%s/%s", e->top, rel);
}

/* A directory owned by OTHER_UID (when root) with a file in it. */
static void make_victim(const struct env *e, char *victim, char *vfile)
{
	int fd;

	pathf(victim, e, "victim");
	pathf(vfile, e, "victim/natd.state");
	assert_int_equal(mkdir(victim, 0755), 0);
	assert_true((fd = open(vfile, O_WRONLY | O_CREAT | O_EXCL, 0644)) >= 0);
	close(fd);
	if (geteuid() == 0) {
		assert_int_equal(chown(victim, OTHER_UID, OTHER_UID), 0);
		assert_int_equal(chown(vfile, OTHER_UID, OTHER_UID), 0);
	}
}

static void assert_owner(const char *path, uid_t uid)
{
	struct stat sb;

	assert_int_equal(lstat(path, &sb), 0);
	if (geteuid() == 0)
		assert_int_equal(sb.st_uid, uid);
}

/* The state directory is a symbolic link to someone else's directory:
 * refused, and neither the directory nor the file in it changes owner,
 * even when $STATE_DIRECTORY names the link (systemd's own path). */
static void test_dir_symlink_refused(void **state)
{
	struct env *e = *state;
	char victim[PATH_MAX], vfile[PATH_MAX], link[PATH_MAX], sf[PATH_MAX];

	make_victim(e, victim, vfile);
	pathf(link, e, "state");
	pathf(sf, e, "state/natd.state");
	assert_int_equal(symlink(victim, link), 0);
	assert_int_equal(priv_state_dir(sf, USER), -1);
	setenv("STATE_DIRECTORY", link, 1);
	assert_int_equal(priv_state_dir(sf, USER), -1);
	assert_owner(victim, OTHER_UID);
	assert_owner(vfile, OTHER_UID);
}

/* The state "directory" is a plain file: refused. */
static void test_dir_not_directory_refused(void **state)
{
	struct env *e = *state;
	char d[PATH_MAX], sf[PATH_MAX];
	int fd;

	pathf(d, e, "state");
	pathf(sf, e, "state/natd.state");
	assert_true((fd = open(d, O_WRONLY | O_CREAT | O_EXCL, 0644)) >= 0);
	close(fd);
	assert_int_equal(priv_state_dir(sf, USER), -1);
}

/* The state file is a symbolic link (to someone else's file), or a hard
 * link to it: refused, and the target keeps its owner. */
static void test_file_links_refused(void **state)
{
	struct env *e = *state;
	char victim[PATH_MAX], vfile[PATH_MAX], d[PATH_MAX], sf[PATH_MAX];

	make_victim(e, victim, vfile);
	pathf(d, e, "state");
	pathf(sf, e, "state/natd.state");
	assert_int_equal(mkdir(d, 0750), 0);
	setenv("STATE_DIRECTORY", d, 1);
	assert_int_equal(symlink(vfile, sf), 0);
	assert_int_equal(priv_state_dir(sf, USER), -1);
	assert_owner(vfile, OTHER_UID);
	assert_int_equal(unlink(sf), 0);
	assert_int_equal(link(vfile, sf), 0);
	assert_int_equal(priv_state_dir(sf, USER), -1);
	assert_owner(vfile, OTHER_UID);
}

/* The ordinary cases: a directory natd makes is given to the user; an
 * existing one only if it is $STATE_DIRECTORY; an existing state file is
 * given to the user. */
static void test_ordinary(void **state)
{
	struct env *e = *state;
	char d[PATH_MAX], sf[PATH_MAX], d2[PATH_MAX], sf2[PATH_MAX];
	int fd;

	pathf(d, e, "made");
	pathf(sf, e, "made/natd.state");
	assert_int_equal(priv_state_dir(sf, USER), 0);
	assert_owner(d, e->uid);

	pathf(d2, e, "existing");
	pathf(sf2, e, "existing/natd.state");
	assert_int_equal(mkdir(d2, 0750), 0);
	assert_true((fd = open(sf2, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	close(fd);
	assert_int_equal(priv_state_dir(sf2, USER), 0);
	assert_owner(d2, geteuid()); /* not systemd's: left alone */
	assert_owner(sf2, e->uid);   /* the state file is natd's */
	setenv("STATE_DIRECTORY", d2, 1);
	assert_int_equal(priv_state_dir(sf2, USER), 0);
	assert_owner(d2, e->uid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dir_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dir_not_directory_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_links_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ordinary, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
