/* csum: Internet checksum (RFC 1071) and incremental update (RFC 1624).
 *
 * All checksum values and the 16/32-bit words fed to the update helpers are
 * in network byte order exactly as they sit in the packet, so callers never
 * swap bytes: the one's-complement sum is byte-order independent (RFC 1071
 * section 2(B)).
 */
#ifndef NATD_CSUM_H
#define NATD_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* One's-complement sum of len bytes (any alignment, any length), folded to
 * 16 bits and added to the 32-bit partial sum `sum`. Not complemented. */
uint32_t csum_partial(const void *data, size_t len, uint32_t sum);

/* Fold a 32-bit partial sum to 16 bits and complement it: the checksum. */
uint16_t csum_fold(uint32_t sum);

/* RFC 1624 eqn. 3: checksum after a 16-bit word changes from old to new. */
uint16_t csum_update16(uint16_t check, uint16_t old_w, uint16_t new_w);

/* Same for a 32-bit field (an IPv4 address), as two 16-bit words. */
uint16_t csum_update32(uint16_t check, uint32_t old_w, uint32_t new_w);

/* UDP flavour: a zero checksum means "none" and stays zero; a computed
 * result of zero is sent as 0xffff (RFC 768). */
uint16_t csum_update16_udp(uint16_t check, uint16_t old_w, uint16_t new_w);
uint16_t csum_update32_udp(uint16_t check, uint32_t old_w, uint32_t new_w);

/* Full checksum of an IPv4 header of hlen bytes (its check field included
 * as it is: zero it first to compute, leave it to verify: 0 means valid). */
uint16_t csum_ip4_header(const void *hdr, size_t hlen);

/* Full L4 checksum over an IPv4 pseudo-header and the L4 segment. */
uint16_t csum_l4_ip4(uint32_t saddr, uint32_t daddr, uint8_t proto,
                     const void *l4, size_t l4len);

#endif
