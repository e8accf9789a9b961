/* priv: drop root for good after the privileged set-up.
 *
 * setgroups + setresgid + setresuid to the configured user, then verify
 * that neither the real, effective nor saved ids can go back to 0, then
 * PR_SET_NO_NEW_PRIVS. Any failure is fatal: the daemon (natd or sipproxy)
 * never runs on by accident with more privilege than asked.
 */
#ifndef COMMON_PRIV_H
#define COMMON_PRIV_H

#include <stdbool.h>

/* 0, or -1 with the failing step logged. */
int priv_drop(const char *user);

/* Open (create, truncate) the pidfile while still privileged, making its
 * directory if needed; the daemon writes its pid only once it is ready,
 * so a non-empty pidfile means "ready". The fd, or -1 (logged). */
int priv_pidfile_open(const char *path);
/* Ready: write the pid into the pidfile *fd (if open, >= 0), close it and
 * set *fd to -1. */
void priv_pidfile_ready(int *fd);

/* The directory of a state file, for user (the daemon writes there after
 * dropping root): made if missing and given to user; an existing one is
 * given to user only if it is systemd's StateDirectory= ($STATE_DIRECTORY),
 * never another. An existing state file is given to user. Neither is
 * followed if it is a symbolic link: a directory that is a link or not a
 * directory, and a state file that is a link, not a plain file or has
 * another name (a hard link), are refused. 0 or -1 (logged). */
int priv_state_dir(const char *path, const char *user);
/* Whether the directory holding path is writable now. */
bool priv_dir_writable(const char *path);

#endif
