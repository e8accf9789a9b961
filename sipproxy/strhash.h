/* strhash: the string hash of sipproxy's hash tables (FNV-1a, 32 bits). */
#ifndef SIPPROXY_STRHASH_H
#define SIPPROXY_STRHASH_H

#include <stdint.h>

static inline uint32_t strhash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

#endif
