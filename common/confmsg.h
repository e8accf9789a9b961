/* confmsg: how natd's and sipproxy's strict config loaders name a setting
 * and report a problem with it, once for both.
 *
 * A problem is one line, "file:line: setting: problem", where setting is
 * the dotted path of a libconfig setting ("realms.[1].name"); the loaders
 * collect every problem before giving up.
 */
#ifndef COMMON_CONFMSG_H
#define COMMON_CONFMSG_H

#include <libconfig.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* The dotted path of s ("listen.[1].realm"); "" for the root. */
void confmsg_path(const config_setting_t *s, char *buf, size_t n);

/* Write one "file:line: name: problem" line to errs. s gives the file
 * and line (NULL: file dflt_file, line 0); name NULL means s's path. */
void confmsg_vreport(FILE *errs, const char *dflt_file, const config_setting_t *s,
		     const char *name, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

#endif
