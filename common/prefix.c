/* prefix: parsing and printing IPv4 prefixes (see prefix.h). */
#include "prefix.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t prefix_mask(unsigned len)
{
	if (len > 32)
		len = 32;
	return len ? htonl(~0u << (32 - len)) : 0;
}

int prefix_parse(const char *s, struct prefix *out)
{
	char a[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len = 32;
	struct in_addr in;

	if (alen == 0 || alen >= sizeof(a))
		return -EINVAL;
	memcpy(a, s, alen);
	a[alen] = '\0';
	if (inet_pton(AF_INET, a, &in) != 1)
		return -EINVAL;
	if (slash) {
		const char *d = slash + 1;
		size_t nd = strspn(d, "0123456789");

		/* one or two digits and nothing else: no sign, space or 008 */
		if (nd == 0 || nd > 2 || d[nd])
			return -EINVAL;
		len = strtoul(d, NULL, 10);
		if (len > 32)
			return -EINVAL;
	}
	out->len = (uint8_t)len;
	out->mask = prefix_mask((unsigned)len);
	out->addr = in.s_addr & out->mask;
	return in.s_addr & ~out->mask ? -EDOM : 0;
}

const char *prefix_fmt(const struct prefix *p, char *buf, size_t n)
{
	char s[INET_ADDRSTRLEN];
	struct in_addr a = {p->addr};

	inet_ntop(AF_INET, &a, s, sizeof(s));
	snprintf(buf, n, "%s/%u", s, p->len);
	return buf;
}
