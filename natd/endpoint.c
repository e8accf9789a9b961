/* endpoint: formatting and parsing of address:port pairs. */
#include "endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *ep_str(struct endpoint ep, char *buf)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &ep.addr, a, sizeof(a));
	snprintf(buf, EP_STRLEN, "%s:%u", a, (unsigned)ntohs(ep.port));
	return buf;
}

int ep_parse(const char *s, struct endpoint *out)
{
	char a[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;
	struct in_addr in;

	if (!colon || (size_t)(colon - s) >= sizeof(a) || colon == s || !colon[1])
		return -EINVAL;
	memcpy(a, s, (size_t)(colon - s));
	a[colon - s] = '\0';
	if (inet_pton(AF_INET, a, &in) != 1)
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535 || colon[1] == '-' || colon[1] == '+')
		return -EINVAL;
	out->addr = in.s_addr;
	out->port = htons((uint16_t)port);
	return 0;
}
