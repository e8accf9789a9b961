/* name: the one grammar of names that travel between the parts (realm,
 * transit pool, control-client and natd names in both configurations,
 * names in sipproxy's state file): letters, digits, '.', '_' and '-'.
 * A realm name goes over the control channel and into log lines and state
 * records, so no space, quote, control byte or separator may hide in it.
 */
#ifndef COMMON_NAME_H
#define COMMON_NAME_H

#include <stdbool.h>
#include <stddef.h>

/* Every character of s is one of A-Z a-z 0-9 . _ - (true for ""). */
bool name_chars_ok(const char *s);

/* s is a name of 1..max characters. */
bool name_ok(const char *s, size_t max);

#endif
