/* priv: staged privilege drop (see priv.h). */
#include "priv.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
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
