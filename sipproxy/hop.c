/* hop: the transport of a hop and how the proxy names itself on it (hop.h).
 * Pure functions over the configuration; proxy.c and persist.c use them. */
#include "hop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int hop_of_target(const struct sip_target *t, struct tp_addr *d)
{
	memset(d, 0, sizeof(*d));
	if (!t->numeric)
		return -EHOSTUNREACH; /* no DNS in the proxy: names need a static route */
	/* sips: and transport=tls (RFC 5630) both reach here as "TLS" (sip_via.c) */
	if (strcasecmp(t->transport, "UDP") && strcasecmp(t->transport, "TCP") &&
	    strcasecmp(t->transport, "TLS"))
		return -EPROTONOSUPPORT;
	d->tls = !strcasecmp(t->transport, "TLS");
	d->tcp = d->tls || !strcasecmp(t->transport, "TCP");
	d->peer.sin_family = AF_INET;
	if (inet_pton(AF_INET, t->host, &d->peer.sin_addr) != 1)
		return -EAFNOSUPPORT;
	d->peer.sin_port = htons(t->port);
	return 0;
}

const char *hop_via(const struct tp_addr *a)
{
	return a->tls ? "TLS" : a->tcp ? "TCP" : "UDP";
}

const char *hop_name(const struct tp_addr *a)
{
	return a->tls ? "tls" : a->tcp ? "tcp" : "udp";
}

const char *hop_param(const struct tp_addr *a)
{
	return a->tls ? ";transport=tls" : a->tcp ? ";transport=tcp" : "";
}

uint16_t hop_port(const struct sp_conf *c, int li, const struct tp_addr *a)
{
	return a->tls ? c->listen[li].tls_port : ntohs(c->listen[li].addr.sin_port);
}

int hop_listen(const struct sp_conf *c, int realm, const struct tp_addr *a)
{
	return a->tls ? sp_conf_listen_tls(c, realm) : sp_conf_listen_of(c, realm, a->tcp);
}

bool hop_same(const struct tp_addr *a, const struct tp_addr *b)
{
	return a->tcp == b->tcp && a->tls == b->tls;
}

const char *hop_host(const struct sp_conf *c, int li, char *buf)
{
	if (c->listen[li].advertise[0])
		return c->listen[li].advertise;
	return hop_ip4_str(c->listen[li].addr.sin_addr, buf);
}

const char *hop_ip4_str(struct in_addr a, char *buf)
{
	const uint8_t *o = (const uint8_t *)&a.s_addr;
	char *s = buf;

	for (int i = 0; i < 4; i++) {
		unsigned v = o[i];

		if (v >= 100)
			*s++ = (char)('0' + v / 100);
		if (v >= 10)
			*s++ = (char)('0' + v / 10 % 10);
		*s++ = (char)('0' + v % 10);
		*s++ = i < 3 ? '.' : '\0';
	}
	return buf;
}

static int rr_one(const struct sp_conf *c, int li, const struct tp_addr *a, char *out)
{
	char host[INET_ADDRSTRLEN];
	int n = snprintf(out, HOP_RR_MAX, "<sip:%s:%u;lr%s>", hop_host(c, li, host),
			 (unsigned)hop_port(c, li, a), hop_param(a));

	return n > 0 && n < HOP_RR_MAX ? 0 : -ENOSPC;
}

int hop_record_route(const struct sp_conf *c, int in_li, const struct tp_addr *in, int out_li,
		     const struct tp_addr *out, char rr[2][HOP_RR_MAX])
{
	/* RFC 5658: two entries when the realms (listen addresses) or the
	 * transports differ, so that in-dialog requests from either side reach
	 * the proxy on an address and a transport valid there */
	if (in_li == out_li && hop_same(in, out))
		return rr_one(c, in_li, in, rr[0]) < 0 ? -ENOSPC : 1;
	if (rr_one(c, in_li, in, rr[0]) < 0 || rr_one(c, out_li, out, rr[1]) < 0)
		return -ENOSPC;
	return 2;
}
