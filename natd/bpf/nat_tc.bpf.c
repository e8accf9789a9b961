/* nat_tc: natd's fast path, a tc (ingress) program on the edge's own
 * interfaces that executes translations natd has already decided.
 *
 * Theory of operation. natd translates every first packet of a flow on
 * its TUN path; once a flow direction is established it writes the
 * decision into fp_flows (see fp_layout.h): "a packet (proto, src, sport,
 * dst, dport) becomes (src', sport', dst', dport')". This program looks
 * each IPv4 packet arriving on an attached interface up in that map. On a
 * hit it rewrites the addresses and ports, fixes the IP and L4 checksums
 * incrementally (a zero UDP checksum stays zero), decrements the TTL,
 * asks the kernel's FIB (main table, no policy rules: those steer packets
 * into natd's TUN) for the next hop, and redirects the frame out of that
 * interface, counting it in the entry. Everything else goes on untouched
 * (TC_ACT_OK) to the normal path, which is natd's TUN for NATed traffic:
 * a miss, fragments, IP options, TCP SYN/FIN/RST (natd tracks TCP state),
 * ICMP other than echo (errors are natd's), TTL <= 1, GSO packets, and any
 * packet the FIB cannot forward at once (no neighbour yet, needs
 * fragmenting, leaves through an interface natd did not attach to).
 * natd adds, removes and reads the entries; this program never creates one.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/socket.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "fp_layout.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#define IP_MF_OFFSET 0x3fff /* more fragments | fragment offset */
#define TCP_FIN_SYN_RST 0x07
#define ICMP_ECHOREPLY_T 0
#define ICMP_ECHO_T 8

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* natd sets fastpath.entries before load */
	__type(key, struct fp_key);
	__type(value, struct fp_val);
} fp_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FP_STAT__N);
	__type(key, __u32);
	__type(value, __u64);
} fp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FP_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} fp_ifaces SEC(".maps");

static __always_inline int count(__u32 what, int verdict)
{
	__u64 *v = bpf_map_lookup_elem(&fp_stats, &what);

	if (v)
		*v += 1;
	return verdict;
}

#define ETH_OFF 0
#define IP_OFF ((int)sizeof(struct ethhdr))
#define IP_CSUM (IP_OFF + (int)__builtin_offsetof(struct iphdr, check))
#define IP_SADDR (IP_OFF + (int)__builtin_offsetof(struct iphdr, saddr))
#define IP_DADDR (IP_OFF + (int)__builtin_offsetof(struct iphdr, daddr))
#define L4_OFF (IP_OFF + 20) /* IP options go to the normal path */

/* An address at off, the IP checksum and (pseudo: UDP, TCP) the L4 one. */
static __always_inline void set_addr(struct __sk_buff *skb, int off, __u32 o, __u32 n, int pseudo,
				     int csum_off, __u64 csum_flags)
{
	if (o == n)
		return;
	bpf_skb_store_bytes(skb, off, &n, 4, 0);
	bpf_l3_csum_replace(skb, IP_CSUM, o, n, 4);
	if (pseudo)
		bpf_l4_csum_replace(skb, csum_off, o, n, csum_flags | BPF_F_PSEUDO_HDR | 4);
}

/* A port (or ICMP identifier) at off and the L4 checksum. */
static __always_inline void set_port(struct __sk_buff *skb, int off, __u16 o, __u16 n, int csum_off,
				     __u64 csum_flags)
{
	if (o == n)
		return;
	bpf_skb_store_bytes(skb, off, &n, 2, 0);
	bpf_l4_csum_replace(skb, csum_off, o, n, csum_flags | 2);
}

SEC("tc")
int nat_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + IP_OFF;
	__u8 *l4 = data + L4_OFF;
	struct fp_key k = {};
	struct fp_val *v;
	struct bpf_fib_lookup fib = {};
	int csum_off, sport_off, dport_off, rc;
	__u64 csum_flags = 0;
	__u16 old_ttlw, new_ttlw;

	if ((void *)(l4 + 8) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	if (ip->version != 4 || ip->ihl != 5 || (ip->frag_off & bpf_htons(IP_MF_OFFSET)) ||
	    skb->gso_size)
		return count(FP_STAT_PASS, TC_ACT_OK);
	k.saddr = ip->saddr;
	k.daddr = ip->daddr;
	k.proto = ip->protocol;
	switch (ip->protocol) {
	case IPPROTO_UDP:
		csum_off = L4_OFF + 6;
		csum_flags = BPF_F_MARK_MANGLED_0; /* zero: no checksum, and stays so */
		sport_off = L4_OFF;
		dport_off = L4_OFF + 2;
		break;
	case IPPROTO_TCP:
		if ((void *)(l4 + 20) > end)
			return count(FP_STAT_PASS, TC_ACT_OK);
		if (l4[13] & TCP_FIN_SYN_RST)
			return count(FP_STAT_PASS, TC_ACT_OK); /* natd tracks the connection */
		csum_off = L4_OFF + 16;
		sport_off = L4_OFF;
		dport_off = L4_OFF + 2;
		break;
	case IPPROTO_ICMP:
		if (l4[0] != ICMP_ECHO_T && l4[0] != ICMP_ECHOREPLY_T)
			return count(FP_STAT_PASS, TC_ACT_OK); /* errors: natd reads the quote */
		k.icmp_type = l4[0];
		csum_off = L4_OFF + 2;
		sport_off = dport_off = L4_OFF + 4; /* the echo identifier */
		break;
	default:
		return TC_ACT_OK;
	}
	k.sport = *(__u16 *)(data + sport_off);
	k.dport = *(__u16 *)(data + dport_off);
	if (ip->protocol == IPPROTO_ICMP)
		k.sport = k.dport;
	v = bpf_map_lookup_elem(&fp_flows, &k);
	if (!v)
		return count(FP_STAT_MISS, TC_ACT_OK);
	if (ip->ttl <= 1)
		return count(FP_STAT_PASS, TC_ACT_OK); /* the kernel's time exceeded, via natd */

	fib.family = AF_INET;
	fib.l4_protocol = ip->protocol;
	fib.tos = ip->tos;
	fib.tot_len = bpf_ntohs(ip->tot_len);
	fib.ipv4_src = v->saddr;
	fib.ipv4_dst = v->daddr;
	fib.ifindex = skb->ingress_ifindex;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_DIRECT);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS || !bpf_map_lookup_elem(&fp_ifaces, &fib.ifindex))
		return count(FP_STAT_PASS, TC_ACT_OK);

	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, bpf_ntohs(ip->tot_len));
	old_ttlw = *(__u16 *)&ip->ttl;
	__u32 osrc = k.saddr, odst = k.daddr, nsrc = v->saddr, ndst = v->daddr;
	__u16 osp = k.sport, odp = k.dport, nsp = v->sport, ndp = v->dport;
	__u8 proto = ip->protocol; /* the helpers below invalidate ip */

	/* TTL (RFC 1812 5.3.1), then the addresses: IP checksum and, for UDP
	 * and TCP, the pseudo-header part of the L4 checksum */
	ip->ttl--;
	new_ttlw = *(__u16 *)&ip->ttl;
	bpf_l3_csum_replace(skb, IP_CSUM, old_ttlw, new_ttlw, 2);
	set_addr(skb, IP_SADDR, osrc, nsrc, proto != IPPROTO_ICMP, csum_off, csum_flags);
	set_addr(skb, IP_DADDR, odst, ndst, proto != IPPROTO_ICMP, csum_off, csum_flags);
	/* ICMP echo: one identifier, natd's choice in both fields of the value */
	set_port(skb, sport_off, osp, nsp, csum_off, csum_flags);
	if (proto != IPPROTO_ICMP)
		set_port(skb, dport_off, odp, ndp, csum_off, csum_flags);
	bpf_skb_store_bytes(skb, ETH_OFF + 0, fib.dmac, ETH_ALEN, 0);
	bpf_skb_store_bytes(skb, ETH_OFF + ETH_ALEN, fib.smac, ETH_ALEN, 0);
	count(FP_STAT_HIT, 0);
	return bpf_redirect(fib.ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
