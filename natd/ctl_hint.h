/* ctl_hint: "a control request has come in", told to the datapath without
 * a syscall.
 *
 * natd is one thread. While on_tun() (daemon.c) works through a flood, a
 * request on a control connection waits for the TUN slice under way, up to
 * its whole budget. To end the slice at the next packet instead, every
 * authorised control socket is marked O_ASYNC with the loop's thread as
 * its owner: when bytes arrive the kernel raises SIGIO, whose handler only
 * sets ctl_hint_flag, and on_tun() reads the flag after each packet (a
 * load from memory). The control connections run at a higher loop
 * priority (ctl_server.h), so the request is the next thing served.
 *
 * The flag is a hint and nothing more: a spurious one ends a slice early,
 * a missed one (no handler, fcntl refused) costs what it cost before, the
 * rest of the slice. SIGIO is coalesced (a standard signal), so a burst of
 * requests is one delivery; SA_RESTART keeps syscalls it interrupts going.
 */
#ifndef NATD_CTL_HINT_H
#define NATD_CTL_HINT_H

#include <signal.h>
#include <stdbool.h>

extern volatile sig_atomic_t ctl_hint_flag;

/* Install the SIGIO handler (once, before any socket is watched). 0 or -1
 * (errno). */
int ctl_hint_init(void);

/* Raise the hint in the calling thread (the loop's) when bytes arrive on
 * fd, a socket. Without ctl_hint_init it does nothing; a failure leaves fd
 * as it was (logged at debug). */
void ctl_hint_watch(int fd);

/* true once per hint: a control request arrived since the last call */
static inline bool ctl_hint_take(void)
{
	if (!ctl_hint_flag)
		return false;
	ctl_hint_flag = 0;
	return true;
}

#endif
