/* confmsg: setting paths and problem lines for the config loaders (see
 * confmsg.h). */
#include "confmsg.h"

#include <string.h>

void confmsg_path(const config_setting_t *s, char *buf, size_t n)
{
	const config_setting_t *parent = config_setting_parent(s);
	const char *name = config_setting_name(s);
	size_t l;

	buf[0] = '\0';
	if (!parent || config_setting_is_root(s))
		return;
	confmsg_path(parent, buf, n);
	l = strlen(buf);
	if (name)
		snprintf(buf + l, n - l, "%s%s", l ? "." : "", name);
	else
		snprintf(buf + l, n - l, "[%d]", config_setting_index(s));
}

void confmsg_vreport(FILE *errs, const char *dflt_file, const config_setting_t *s,
		     const char *name, const char *fmt, va_list ap)
{
	char p[160];
	int line = s ? config_setting_source_line(s) : 0;
	const char *file = s && config_setting_source_file(s) ? config_setting_source_file(s) : dflt_file;

	if (!name) {
		confmsg_path(s, p, sizeof(p));
		name = p;
	}
	fprintf(errs, "%s:%d: %s: ", file, line, name);
	vfprintf(errs, fmt, ap);
	fputc('\n', errs);
}
