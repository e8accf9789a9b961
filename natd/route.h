/* route: the routes and policy rules that steer traffic into the TUN,
 * installed by natd at start-up when the config asks (routes.install).
 *
 *   ip route replace POOL dev TUN            for each pool prefix
 *   ip route replace blackhole POOL metric 4294967295
 *   ip route replace default dev TUN table T
 *   ip route replace prohibit default table T metric 4294967295
 *   ip rule add iif IF lookup T              for each inside interface
 *
 * The blackhole and prohibit routes outlive the TUN: if natd stops or
 * dies, inside traffic is refused rather than forwarded untranslated.
 *   sysctl net.ipv4.ip_forward=1, rp_filter=0 on all and on the TUN,
 *   accept_local=1 on the TUN
 *
 * They are run through iproute2's `ip` (no shell) while natd still has its
 * privileges; a failure is fatal and names the command.
 */
#ifndef NATD_ROUTE_H
#define NATD_ROUTE_H

#include "conf.h"

/* 0 or -1 (the failing command has been logged). */
int route_install(const struct natd_conf *c, const char *tun_ifname);

#endif
