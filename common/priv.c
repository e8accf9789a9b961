/* priv: staged privilege drop, and the pidfile opened before it (see priv.h). */
#include "priv.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

int priv_drop(const char *user)
{
	struct passwd *pw;
	uid_t r, e, s;
	gid_t rg, eg, sg;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		log_err("user %s: %s", user, errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_err("user %s: refusing to run as uid 0", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) < 0) {
		log_err("setgroups: %s", strerror(errno));
		return -1;
	}
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0) {
		log_err("setresgid %u: %s", (unsigned)pw->pw_gid, strerror(errno));
		return -1;
	}
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0) {
		log_err("setresuid %u: %s", (unsigned)pw->pw_uid, strerror(errno));
		return -1;
	}
	/* verify: no way back */
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0 || r != pw->pw_uid ||
	    e != pw->pw_uid || s != pw->pw_uid || rg != pw->pw_gid || eg != pw->pw_gid ||
	    sg != pw->pw_gid || setuid(0) == 0) {
		log_err("privilege drop to %s did not hold", user);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_err("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The state directory and file are opened without following a symbolic
 * link in their last component (O_NOFOLLOW) and given away through the
 * descriptor (fchown): a link planted where the directory or the file
 * should be cannot make root give away what it points to. */
int priv_state_dir(const char *path, const char *user)
{
	char dir[PATH_MAX], file[PATH_MAX], tmp[PATH_MAX];
	struct passwd *pw = getpwnam(user);
	const char *sd = getenv("STATE_DIRECTORY");
	struct stat sb;
	bool ours;
	int dfd = -1, ffd = -1, ret = -1;

	if (!pw) {
		log_err("user %s: no such user", user);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(dir, sizeof(dir), "%s", dirname(tmp));
	snprintf(file, sizeof(file), "%s", path);
	/* ours to give away: made here, or systemd's StateDirectory= for us */
	if (mkdir(dir, 0750) == 0) {
		ours = true;
	} else if (errno == EEXIST) {
		ours = sd && !strcmp(sd, dir);
	} else {
		log_err("state directory %s: %s", dir, strerror(errno));
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		log_err("state directory %s: %s", dir,
			errno == ELOOP || errno == ENOTDIR
				? "a symbolic link or not a directory; refusing it (name a real directory)"
				: strerror(errno));
		return -1;
	}
	if (fstat(dfd, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		log_err("state directory %s: not a directory; refusing it", dir);
		goto out;
	}
	if (ours && geteuid() == 0 && fchown(dfd, pw->pw_uid, pw->pw_gid) < 0) {
		log_err("state directory %s: chown %s: %s", dir, user, strerror(errno));
		goto out;
	}
	/* an existing state file: a plain file with one name, or refused */
	ffd = openat(dfd, basename(file), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (ffd < 0 && errno != ENOENT) {
		log_err("state file %s: %s", path,
			errno == ELOOP ? "a symbolic link; refusing it" : strerror(errno));
		goto out;
	}
	if (ffd >= 0) {
		if (fstat(ffd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
			log_err("state file %s: not a plain file with a single name; refusing it", path);
			goto out;
		}
		if (geteuid() == 0 && fchown(ffd, pw->pw_uid, pw->pw_gid) < 0) {
			log_err("state file %s: chown %s: %s", path, user, strerror(errno));
			goto out;
		}
	}
	ret = 0;
out:
	if (ffd >= 0)
		close(ffd);
	close(dfd);
	return ret;
}

bool priv_dir_writable(const char *path)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	return access(dirname(dir), W_OK | X_OK) == 0;
}

int priv_pidfile_open(const char *path)
{
	char dir[PATH_MAX];
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST) {
		log_err("pidfile directory %s: %s", dir, strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		log_err("pidfile %s: %s", path, strerror(errno));
	return fd;
}

void priv_pidfile_ready(int *fd)
{
	if (*fd < 0)
		return;
	dprintf(*fd, "%ld\n", (long)getpid());
	close(*fd);
	*fd = -1;
}
