/* ctl_hint: see ctl_hint.h. */
#include "ctl_hint.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

volatile sig_atomic_t ctl_hint_flag;
static bool installed; /* the handler is: hints may be asked for */

static void on_sigio(int sig)
{
	(void)sig;
	ctl_hint_flag = 1;
}

int ctl_hint_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigio;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGIO, &sa, NULL) < 0)
		return -1;
	installed = true;
	return 0;
}

void ctl_hint_watch(int fd)
{
	/* the caller is the loop's thread (natd may have forked since the
	 * handler was installed: the thread is asked for now) */
	struct f_owner_ex o = {.type = F_OWNER_TID, .pid = (pid_t)syscall(SYS_gettid)};
	int fl;

	if (!installed || fd < 0)
		return;
	/* the owner first: SIGIO must never go to a process that has no
	 * handler for it (its default action ends the process) */
	if (fcntl(fd, F_SETOWN_EX, &o) < 0 || (fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_ASYNC) < 0)
		log_debug("control: no arrival hint on fd %d: %s", fd, strerror(errno));
}
