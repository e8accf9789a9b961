#!/bin/bash
# edge-local-errors: ICMP errors that the NAT box's own kernel generates for
# packets natd has already translated must reach the inside host.
#
# Packets natd writes back into the TUN are forwarded by the edge's kernel;
# when that forwarding fails (TTL runs out, next link's MTU too small) the
# kernel sends an ICMP error from one of the edge's own addresses to the
# translated (pool) source. That error goes back into the TUN, natd
# translates it to the inside host and writes it back -- with a source address
# that is local to the edge, which the kernel drops as a martian unless
# net.ipv4.conf.<tun>.accept_local=1. Without it, traceroute loses a hop and
# path-MTU discovery through the NAT is a black hole.
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd
it_topo_up edge

# 1. TTL 2 from phB: expires when the edge forwards natd's output
it_nt phB b-ttl2 udp-send --to 203.0.113.10:7999 --bind 10.1.0.10:4902 --ttl 2 --timeout 2
if [[ $(kv "$IT_OUT/b-ttl2.out" icmp_type) == 11 ]]; then
	it_pass icmp_time_exceeded_after_natd
	it_info "time exceeded came from $(kv "$IT_OUT/b-ttl2.out" icmp_from)"
else
	it_fail icmp_time_exceeded_after_natd "phB got no ICMP time exceeded for TTL 2: $(tr '\n' ' ' <"$IT_OUT/b-ttl2.out")"
fi

# 2. path MTU: the outside link has MTU 1400; phB sends 1472-byte datagrams with DF
ip -n "$(it_ns edge)" link set out0 mtu 1400
ip -n "$(it_ns phA)" link set eth0 mtu 1400
it_server phA a-echo udp-echo --bind 203.0.113.10:7000 --count 1 --short-reply --timeout 10 || true
it_nt phB b-df udp-send --to 203.0.113.10:7000 --bind 10.1.0.10:4950 --size 1472 --df --timeout 2
if [[ $(kv "$IT_OUT/b-df.out" error) == EMSGSIZE && $(kv "$IT_OUT/b-df.out" icmp_code) == 4 && $(kv "$IT_OUT/b-df.out" mtu) == 1400 ]]; then
	it_pass icmp_frag_needed_after_natd
else
	it_fail icmp_frag_needed_after_natd "phB got no ICMP fragmentation needed (mtu 1400): $(tr '\n' ' ' <"$IT_OUT/b-df.out")"
fi
# the kernel's default (PMTU discovery "want"): once the MTU is learned, the
# datagram goes fragmented and arrives
it_nt phB b-pmtu udp-send --to 203.0.113.10:7000 --bind 10.1.0.10:4950 --size 1472 --tries 2 --timeout 2
it_wait a-echo 5
if [[ $(kv "$IT_OUT/a-echo.out" len) == 1472 ]]; then
	it_pass pmtu_discovery_through_nat
else
	it_fail pmtu_discovery_through_nat "phA never received the 1472-byte datagram (PMTU black hole): $(tr '\n' ' ' <"$IT_OUT/b-pmtu.out")"
fi
it_stats && it_info "natd stats (non-zero): $(stats_nonzero)"
it_done
