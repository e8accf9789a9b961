/* notify: the systemd readiness protocol (sd_notify(3)) without libsystemd.
 *
 * When natd or sipproxy runs under a Type=notify unit, systemd puts the
 * address of its notification socket in $NOTIFY_SOCKET: a filesystem path
 * ("/run/systemd/notify") or an abstract name ("@..."). A state is one
 * datagram of newline-separated assignments: "READY=1" once set-up is
 * done (the TUN and the control socket open, privileges dropped),
 * "RELOADING=1", "STOPPING=1", "STATUS=free text".
 *
 * The variable is left in the environment: the daemons send several states
 * over their life. Sending never blocks and never raises SIGPIPE.
 */
#ifndef COMMON_NOTIFY_H
#define COMMON_NOTIFY_H

/* 1 when the datagram was sent, 0 when $NOTIFY_SOCKET is unset or empty
 * (not under systemd: nothing to do), -errno on failure (a malformed
 * address gives -EINVAL). */
int notify_send(const char *state);

/* notify_send() of a printf-formatted state (at most 1023 bytes). */
int notify_sendf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
