/* fp_layout: the layout of the fast path's BPF maps, shared by the tc
 * program (nat_tc.bpf.c) and natd (fastpath.c). Plain fixed-width types
 * from <linux/types.h>, no pointers, explicit padding: both sides see the
 * same bytes. Addresses and ports are in network order, as in packets.
 *
 * fp_flows (hash): one entry per established flow direction that natd has
 * already translated on its TUN path. The key is the packet as it arrives
 * on an attached interface; the value is what natd rewrote it to, and the
 * packets and bytes (IP total length) the program carried for it.
 * fp_stats (per-CPU array): FP_STAT_* counters of the program.
 * fp_ifaces (hash): ifindex -> 1 for the interfaces the program may send
 * a packet out of (the ones natd attached it to).
 */
#ifndef NATD_FP_LAYOUT_H
#define NATD_FP_LAYOUT_H

#include <linux/types.h>

#define FP_MAX_IFACES 8

struct fp_key {
	__u32 saddr, daddr;
	__u16 sport, dport; /* ICMP echo: both the identifier */
	__u8 proto;         /* IPPROTO_UDP, IPPROTO_TCP, IPPROTO_ICMP */
	__u8 icmp_type;     /* ICMP: 0 (reply) or 8 (request); else 0 */
	__u8 pad[2];
};

struct fp_val {
	__u32 saddr, daddr; /* the rewrite */
	__u16 sport, dport;
	__u32 pad;
	__u64 packets, bytes; /* carried by the program; natd reads them back */
};

enum fp_stat {
	FP_STAT_HIT,      /* translated and redirected in the kernel */
	FP_STAT_MISS,     /* an IPv4 packet with no entry: the normal path */
	FP_STAT_PASS,     /* an entry, but unusual (TCP SYN/FIN/RST, TTL, no route, MTU...): the normal path */
	FP_STAT__N
};

#endif
