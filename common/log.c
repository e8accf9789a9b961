/* log: stderr or syslog, filtered by level.
 *
 * A line to stderr is formatted whole (time, level, message, newline) in a
 * buffer and written with one write(2): one system call a line, and a line
 * never interleaved with another process's writing to the same file. A
 * message longer than the buffer is cut, and the cut is marked.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int log_level = LOG_INFO;
static bool log_syslog;

#define LOG_LINE_MAX 2048

void log_open(const char *ident, int level, bool use_syslog)
{
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return; /* nowhere to report a failure to log */
		}
		p += w;
		n -= (size_t)w;
	}
}

void log_msg(int prio, const char *fmt, ...)
{
	static const char *const names[] = {"emerg", "alert", "crit", "error",
					    "warning", "notice", "info", "debug"};
	static const char cut[] = "... (cut)\n";
	va_list ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		char line[LOG_LINE_MAX];
		struct timespec ts;
		struct tm tm;
		size_t n;
		int k;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		k = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s: ", ts.tv_nsec / 1000000,
			     names[prio & 7]);
		n += k > 0 ? (size_t)k : 0;
		k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (k >= 0 && (size_t)k < sizeof(line) - n - 1) {
			n += (size_t)k;
			line[n++] = '\n';
		} else { /* too long (or unformattable): keep what fits, say so */
			n = sizeof(line) - sizeof(cut);
			memcpy(line + n, cut, sizeof(cut) - 1);
			n += sizeof(cut) - 1;
		}
		write_all(STDERR_FILENO, line, n);
	}
	va_end(ap);
}

int log_level_parse(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} t[] = {{"error", LOG_ERR}, {"warning", LOG_WARNING}, {"notice", LOG_NOTICE},
		 {"info", LOG_INFO}, {"debug", LOG_DEBUG}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(s, t[i].name))
			return t[i].level;
	return -1;
}
