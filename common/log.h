/* log: levelled logging to stderr or syslog.
 *
 * The packet path only logs at debug level, and only when debug is on; the
 * level check is an inline compare so a disabled message costs nothing.
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

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                     \
	do {                                                               \
		if (log_level >= LOG_DEBUG)                                \
			log_msg(LOG_DEBUG, __VA_ARGS__);                   \
	} while (0)

#endif
