/* realmconf: build natd's realm set (realms, pools, classifier) from its
 * configuration. */
#ifndef NATD_REALMCONF_H
#define NATD_REALMCONF_H

#include "conf.h"
#include "realm.h"

/* 0, or -1 with the problem logged; on failure call realm_set_free(). */
int realm_set_build(struct realm_set *rs, const struct natd_conf *c);
/* Free the pools of a realm set built by realm_set_build(). */
void realm_set_free(struct realm_set *rs);

#endif
