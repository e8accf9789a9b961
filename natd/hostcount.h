/* hostcount: exact per-host counters in fixed memory, for per-source and
 * per-host shares (bindings per inside host, filtering permissions per
 * inside host, fragment records and held fragments per source).
 *
 * Theory of operation. A host is {realm, IPv4 address}. Each counter
 * table is sized at start-up for the most hosts that can ever have a
 * non-zero count at once (a caller counts things it holds in a fixed
 * pool, so there are never more counted hosts than pool entries): one and
 * a half times that, rounded up to a power of two, so it is never more
 * than two thirds full. Open addressing with linear probing, keyed with a
 * random seed so a remote sender cannot aim at one probe run, and
 * backward-shift deletion when a count drops to zero, so there are no
 * tombstones and a lookup stops at the first empty slot. Nothing is
 * allocated after hc_new().
 */
#ifndef NATD_HOSTCOUNT_H
#define NATD_HOSTCOUNT_H

#include <stddef.h>
#include <stdint.h>

struct hostcount;

/* A table for up to max_hosts hosts with a non-zero count at once. NULL on
 * allocation failure. */
struct hostcount *hc_new(uint32_t max_hosts);
void hc_free(struct hostcount *h);

/* The count of {realm, addr} (addr in network order); 0 if none. */
uint32_t hc_get(const struct hostcount *h, uint8_t realm, uint32_t addr);

/* Add one to the count of {realm, addr}: 0, or -ENOSPC when max_hosts
 * hosts are counted already (a caller error: it holds more than it said). */
int hc_inc(struct hostcount *h, uint8_t realm, uint32_t addr);

/* Take one from the count of {realm, addr} (a no-op at 0). */
void hc_dec(struct hostcount *h, uint8_t realm, uint32_t addr);

/* Bytes the table holds. */
size_t hc_memory(const struct hostcount *h);

#endif
