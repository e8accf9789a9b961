/* natdenv: natd's realm set, binding and fragment tables, translation
 * context and address manager, built from configuration text the way the
 * daemon builds them (without the TUN), for tests that need the real
 * manager and datapath together. Failures are cmocka assertions. */
#ifndef TESTS_NATDENV_H
#define TESTS_NATDENV_H

#include <stdint.h>

#include "conf.h"
#include "frag.h"
#include "manager.h"
#include "realm.h"
#include "xlate.h"

struct natdenv {
	struct natd_conf conf;
	struct realm_set rs;
	struct bind_table *bt;
	struct frag_table *ft;
	struct natd_stats st;
	struct xlate_ctx x;
	struct mgr *m;
};

/* Build from conf_text; the binding table holds 256 bindings and the
 * manager's lifetimes are the config's control.*_lifetime. */
void natdenv_init(struct natdenv *n, const char *conf_text);
void natdenv_fini(struct natdenv *n);

#endif
