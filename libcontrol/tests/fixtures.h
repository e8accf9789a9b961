/* fixtures: named sample messages of every type, with every option, shared
 * by the codec, mutation and golden tests. Each builder zeroes the whole
 * struct first so decoded copies compare equal with memcmp. */
#ifndef NC_TEST_FIXTURES_H
#define NC_TEST_FIXTURES_H

#include <libcontrol/msg.h>

/* The secret and nonces of the "auth" fixtures (libcontrol/proto.h section 6). */
#define FX_SECRET "correct horse battery staple"

/* Number of fixtures. */
unsigned fx_count(void);
/* Build fixture i into *m; returns its name. */
const char *fx_build(unsigned i, struct nc_msg *m);
/* Build the fixture named name; 0 or -1 if there is none. */
int fx_by_name(const char *name, struct nc_msg *m);

/* Helpers to fill addresses. */
void fx_ip4(struct nc_ip *ip, const char *dotted);
void fx_ip6(struct nc_ip *ip, const char *text);
void fx_ep4(struct nc_ep *ep, const char *dotted, uint16_t port);
void fx_match4(struct nc_match *m, const char *dotted, uint8_t plen, uint16_t lo, uint16_t hi);

#endif
