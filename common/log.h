/* log: levelled logging to stderr or syslog.
 *
 * The packet path only logs at debug level, and only when debug is on; the
 * level check is an inline compare made before the arguments are evaluated,
 * so a disabled message costs nothing. A line to stderr is one write(2).
 */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdbool.h>
#include <syslog.h>

extern int log_level; /* LOG_ERR .. LOG_DEBUG */

void log_open(const char *ident, int level, bool use_syslog);
void log_msg(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parse "error", "warning", "notice", "info", "debug"; -1 if unknown. */
int log_level_parse(const char *s);

/* The level is checked before the arguments are evaluated: a message that
 * is off costs one compare, whatever its arguments compute. */
#define LOG_AT(prio, ...)                                                  \
	do {                                                               \
		if (log_level >= (prio))                                   \
			log_msg((prio), __VA_ARGS__);                      \
	} while (0)
#define log_err(...) LOG_AT(LOG_ERR, __VA_ARGS__)
#define log_warn(...) LOG_AT(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) LOG_AT(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) LOG_AT(LOG_INFO, __VA_ARGS__)
#define log_debug(...) LOG_AT(LOG_DEBUG, __VA_ARGS__)

#endif
