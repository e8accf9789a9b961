/* name: the name grammar (see name.h). */
#include "name.h"

#include <string.h>

#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

bool name_chars_ok(const char *s)
{
	return s[strspn(s, NAME_CHARS)] == '\0';
}

bool name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max && name_chars_ok(s);
}
