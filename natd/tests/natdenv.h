/* natdenv: natd's core (core.h: realm set, binding and fragment tables,
 * translation context, address manager) built from configuration text by
 * the daemon's own constructor, without the TUN, for tests that need the
 * real manager and datapath together. Failures are cmocka assertions. */
#ifndef TESTS_NATDENV_H
#define TESTS_NATDENV_H

#include <stdint.h>

#include "conf.h"
#include "core.h"

struct natdenv {
	struct natd_conf conf;
	struct core *core;
};

/* Build from conf_text; the binding table holds 256 bindings. */
void natdenv_init(struct natdenv *n, const char *conf_text);
void natdenv_fini(struct natdenv *n);

/* A BIND of UDP endpoint addr:port (IPv4) from "inside" to "outside",
 * both directions, no other option. */
struct nc_bind natdenv_req(const char *addr, uint16_t port);

#endif
