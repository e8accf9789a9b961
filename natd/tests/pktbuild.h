/* pktbuild: builds IPv4 test packets (UDP, TCP, ICMP echo, ICMP errors,
 * fragments) with correct checksums, and checks packets natd wrote.
 *
 * It carries its own plain RFC 1071 checksum (a byte-at-a-time reference,
 * not natd's csum.c), so a test compares natd against an independent
 * implementation. Addresses are in network byte order (pb_addr() makes
 * them); ports, ids and other numbers in host order. Buffers must hold the
 * packet: PB_MAX bytes is always enough for what the builders make.
 */
#ifndef NATEDGE_TESTS_PKTBUILD_H
#define NATEDGE_TESTS_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PB_MAX 2048
#define PB_IP_ID 0x1234

/* TCP flags. */
#define PB_FIN 0x01
#define PB_SYN 0x02
#define PB_RST 0x04
#define PB_PSH 0x08
#define PB_ACK 0x10

/* "a.b.c.d" -> network order (aborts on a typo). */
uint32_t pb_addr(const char *dotted);

/* Reference one's-complement checksum of len bytes (big-endian words, odd
 * tail padded), starting from the host-order 32-bit sum init; returns the
 * complemented 16-bit checksum in host order. */
uint16_t pb_csum(const void *data, size_t len, uint32_t init);
/* Host-order sum of the IPv4 pseudo-header. */
uint32_t pb_pseudo_sum(uint32_t src, uint32_t dst, uint8_t proto, size_t l4len);

/* Whole packets; each returns its length. paylen bytes of a fixed pattern
 * follow the L4 header. */
size_t pb_udp(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
	      size_t paylen);
/* UDP with checksum 0 ("none"). */
size_t pb_udp_nocsum(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst,
		     uint16_t dport, size_t paylen);
size_t pb_tcp(uint8_t *buf, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
	      uint8_t flags, size_t paylen);
size_t pb_icmp_echo(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t type, uint16_t id,
		    uint16_t seq, size_t paylen);
/* ICMP error (type/code) quoting qlen bytes of another packet. */
size_t pb_icmp_error(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t type, uint8_t code,
		     const uint8_t *quote, size_t qlen);
/* IPv4 header + l4 bytes copied as they are (no L4 checksum computed). */
size_t pb_raw(uint8_t *buf, uint32_t src, uint32_t dst, uint8_t proto, const void *l4,
	      size_t l4len);

/* Cut a fragment out of the whole (unfragmented) packet pkt: L4 bytes
 * [off, off + len) (off a multiple of 8), MF as given. Returns its length. */
size_t pb_fragment(uint8_t *out, const uint8_t *pkt, size_t off, size_t len, bool mf);

/* Recompute checksums after a test edits a packet. */
void pb_fix_ip_csum(uint8_t *buf);
void pb_fix_l4_csum(uint8_t *buf, size_t len);

/* Field access (host order for numbers, network order for addresses). */
size_t pb_ihl(const uint8_t *buf);
uint16_t pb_totlen(const uint8_t *buf);
uint32_t pb_src(const uint8_t *buf);
uint32_t pb_dst(const uint8_t *buf);
uint8_t pb_proto(const uint8_t *buf);
uint8_t pb_ttl(const uint8_t *buf);
uint16_t pb_ip_id(const uint8_t *buf);
uint16_t pb_ip_check(const uint8_t *buf);
uint8_t *pb_l4(uint8_t *buf);
uint16_t pb_sport(const uint8_t *buf); /* UDP/TCP source port; ICMP echo id */
uint16_t pb_dport(const uint8_t *buf);
uint16_t pb_l4_check(const uint8_t *buf); /* UDP/TCP/ICMP checksum field */
void pb_set_u16(uint8_t *p, uint16_t v);  /* big-endian store */
uint16_t pb_get_u16(const uint8_t *p);
void pb_set_u32(uint8_t *p, uint32_t v_net);
uint32_t pb_get_u32(const uint8_t *p); /* network order as stored */

/* Checks by full recomputation. */
bool pb_ip_csum_ok(const uint8_t *buf);
/* UDP/TCP/ICMP checksum over the whole datagram in buf[0..len) (UDP 0 = ok
 * only when allow_udp_zero). */
bool pb_l4_csum_ok(const uint8_t *buf, size_t len, bool allow_udp_zero);

/* Reassemble fragments (any order) into out; returns the length, 0 if they
 * do not form a whole datagram. */
size_t pb_reassemble(uint8_t *out, uint8_t *const frags[], const size_t lens[], size_t n);

/* Fill a buffer with the payload pattern used by the builders. */
void pb_pattern(uint8_t *p, size_t n, unsigned seed);

#endif
