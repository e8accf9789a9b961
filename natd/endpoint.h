/* endpoint: an IPv4 address and port (or ICMP query id), both kept in
 * network byte order exactly as they appear in packets. */
#ifndef NATD_ENDPOINT_H
#define NATD_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>

struct endpoint {
	uint32_t addr;
	uint16_t port;
};

static inline bool ep_eq(struct endpoint a, struct endpoint b)
{
	return a.addr == b.addr && a.port == b.port;
}

/* Format "a.b.c.d:port" into buf (at least EP_STRLEN bytes); returns buf. */
#define EP_STRLEN 24
char *ep_str(struct endpoint ep, char *buf);

/* Parse "a.b.c.d:port" (port 0..65535). 0 or -EINVAL. */
int ep_parse(const char *s, struct endpoint *out);

#endif
