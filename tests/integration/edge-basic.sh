#!/bin/bash
# edge-basic: the conventional NAT behaviour on the "edge" topology
# (scenario 1-2 layout), natd on a real TUN:
#   outbound UDP / TCP / ICMP echo through the pool, inbound static forwards
#   (UDP and TCP), hairpinning, ICMP port unreachable translated back.
#
#   phA 203.0.113.10 -- [edge: natd, pool 198.51.100.0/28] -- phB 10.1.0.10, phC 10.1.0.11
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd
it_topo_up edge

# 1. UDP phB -> phA:7000: phA sees a pool address, the reply comes back.
check_udp_outbound() {
	if ! it_server phA a-udp7000 udp-echo --bind 203.0.113.10:7000 --count 1 --timeout 8; then
		it_fail udp_outbound "echo server on phA did not start"; return
	fi
	it_nt phB b-udp-send udp-send --to 203.0.113.10:7000 --bind 10.1.0.10:40000 --timeout 3
	it_wait a-udp7000 5
	local peer reply seen
	peer=$(kv "$IT_OUT/a-udp7000.out" peer)
	reply=$(kv "$IT_OUT/b-udp-send.out" reply_from)
	seen=$(kv "$IT_OUT/b-udp-send.out" seen_as)
	if [[ -z $peer ]]; then
		it_fail udp_outbound_translated "phA received nothing from phB"
	elif ! in_pool "$peer"; then
		it_fail udp_outbound_translated "phA saw source $peer, expected a 198.51.100.0/28 address"
	else
		it_pass udp_outbound_translated
	fi
	if [[ $reply == 203.0.113.10:7000 && -n $peer && $seen == "$peer" ]]; then
		it_pass udp_outbound_reply
	else
		it_fail udp_outbound_reply "phB got reply_from='$reply' seen_as='$seen' (phA saw '$peer')"
	fi

}

# 2. TCP phB -> phA:7100.
check_tcp_outbound() {
	if ! it_server phA a-tcp7100 tcp-echo --bind 203.0.113.10:7100 --count 1 --timeout 8; then
		it_fail tcp_outbound "echo server on phA did not start"; return
	fi
	it_nt phB b-tcp-connect tcp-connect --to 203.0.113.10:7100 --payload hello-from-phB --timeout 4
	it_wait a-tcp7100 5
	local peer seen ok
	peer=$(kv "$IT_OUT/a-tcp7100.out" peer)
	seen=$(kv "$IT_OUT/b-tcp-connect.out" seen_as)
	ok=$(kv "$IT_OUT/b-tcp-connect.out" payload_ok)
	if [[ -n $peer ]] && in_pool "$peer" && [[ $seen == "$peer" && $ok == 1 ]]; then
		it_pass tcp_outbound
	else
		it_fail tcp_outbound "phA saw '$peer', phB got seen_as='$seen' payload_ok='$ok' $(grep -o 'error=[^ ]*' "$IT_OUT/b-tcp-connect.out")"
	fi
}

# 3. ICMP echo from phB and phC to phA; phA sees the pool address.
check_ping() {
	local from ext
	for from in phB phC; do
		it_server phA a-icmp-$from icmp-listen --type 8 --count 1 --timeout 6 || true
		it_nt "$from" ping-$from ping --to 203.0.113.10 --count 3 --interval 0.1 --timeout 2
		it_wait a-icmp-$from 3
		if [[ $(kv "$IT_OUT/ping-$from.out" received) == 3 ]]; then
			it_pass "ping_${from}_to_phA"
		else
			it_fail "ping_${from}_to_phA" "$(tail -n 1 "$IT_OUT/ping-$from.out")"
		fi
		ext=$(kv "$IT_OUT/a-icmp-$from.out" src)
		if [[ -n $ext ]] && in_pool "$ext"; then
			it_pass "ping_${from}_translated"
		else
			it_fail "ping_${from}_translated" "phA saw echo requests from '$ext', expected a pool address"
		fi
	done
}

# 4. Inbound static forwards: UDP 198.51.100.1:5060 and TCP 198.51.100.1:8080 -> phB.
check_forwards() {
	local peer reply seen
	if it_server phB b-udp5060 udp-echo --bind 10.1.0.10:5060 --count 1 --timeout 8; then
		it_nt phA a-fwd-udp udp-send --to 198.51.100.1:5060 --bind 203.0.113.10:7200 --timeout 3
		it_wait b-udp5060 5
		peer=$(kv "$IT_OUT/b-udp5060.out" peer)
		reply=$(kv "$IT_OUT/a-fwd-udp.out" reply_from)
		seen=$(kv "$IT_OUT/a-fwd-udp.out" seen_as)
		if [[ $peer == 203.0.113.10:7200 ]]; then
			it_pass forward_udp_inbound
		else
			it_fail forward_udp_inbound "phB's 10.1.0.10:5060 saw '$peer', expected 203.0.113.10:7200"
		fi
		if [[ $reply == 198.51.100.1:5060 && $seen == 203.0.113.10:7200 ]]; then
			it_pass forward_udp_reply
		else
			it_fail forward_udp_reply "phA got reply_from='$reply' seen_as='$seen', expected from 198.51.100.1:5060"
		fi
	else
		it_fail forward_udp_inbound "echo server on phB did not start"
	fi
	if it_server phB b-tcp8080 tcp-echo --bind 10.1.0.10:8080 --count 1 --timeout 8; then
		it_nt phA a-fwd-tcp tcp-connect --to 198.51.100.1:8080 --bind 203.0.113.10:7201 --payload via-forward --timeout 4
		it_wait b-tcp8080 5
		peer=$(kv "$IT_OUT/b-tcp8080.out" peer)
		seen=$(kv "$IT_OUT/a-fwd-tcp.out" seen_as)
		if [[ $peer == 203.0.113.10:7201 && $seen == "$peer" && $(kv "$IT_OUT/a-fwd-tcp.out" payload_ok) == 1 ]]; then
			it_pass forward_tcp
		else
			it_fail forward_tcp "phB saw '$peer', phA got seen_as='$seen' $(grep -o 'error=[^ ]*' "$IT_OUT/a-fwd-tcp.out")"
		fi
	else
		it_fail forward_tcp "echo server on phB did not start"
	fi
}

# 5. Hairpinning: phC reaches phB through phB's external mapping and is seen
#    by phB under its own external address.
check_hairpin() {
	local ext_b peer_c reply seen ext_c_direct
	it_server phA a-udp7000-h udp-echo --bind 203.0.113.10:7000 --count 1 --timeout 8 || true
	it_nt phB b-hp-learn udp-send --to 203.0.113.10:7000 --bind 10.1.0.10:4200 --timeout 3
	it_wait a-udp7000-h 5
	ext_b=$(kv "$IT_OUT/b-hp-learn.out" seen_as)
	if [[ -z $ext_b ]] || ! in_pool "$ext_b"; then
		it_fail hairpin "could not learn phB's external mapping (got '$ext_b')"
		return
	fi
	it_info "phB 10.1.0.10:4200 is seen outside as $ext_b"
	if ! it_server phB b-hp-echo udp-echo --bind 10.1.0.10:4200 --count 1 --timeout 8; then
		it_fail hairpin "echo server on phB did not start"; return
	fi
	it_nt phC c-hp-send udp-send --to "$ext_b" --bind 10.1.0.11:4300 --timeout 3
	it_wait b-hp-echo 5
	peer_c=$(kv "$IT_OUT/b-hp-echo.out" peer)
	reply=$(kv "$IT_OUT/c-hp-send.out" reply_from)
	seen=$(kv "$IT_OUT/c-hp-send.out" seen_as)
	if [[ -z $peer_c ]]; then
		it_fail hairpin_delivered "phB received nothing from phC via $ext_b"
	elif ! in_pool "$peer_c"; then
		it_fail hairpin_delivered "phB saw phC as '$peer_c', expected phC's external (pool) address"
	else
		it_pass hairpin_delivered
	fi
	if [[ $reply == "$ext_b" && -n $peer_c && $seen == "$peer_c" ]]; then
		it_pass hairpin_reply
	else
		it_fail hairpin_reply "phC got reply_from='$reply' seen_as='$seen', expected from $ext_b"
	fi
	# RFC 4787 REQ-9: the hairpinned source is phC's external mapping,
	# the one phA sees for the same internal endpoint.
	if [[ -n $peer_c ]] && in_pool "$peer_c"; then
		it_server phA a-udp7000-h2 udp-echo --bind 203.0.113.10:7000 --count 1 --timeout 8 || true
		it_nt phC c-hp-direct udp-send --to 203.0.113.10:7000 --bind 10.1.0.11:4300 --timeout 3
		it_wait a-udp7000-h2 5
		ext_c_direct=$(kv "$IT_OUT/a-udp7000-h2.out" peer)
		if [[ $ext_c_direct == "$peer_c" ]]; then
			it_pass hairpin_source_is_external_mapping
		else
			it_fail hairpin_source_is_external_mapping "phB saw phC as $peer_c, phA sees it as '$ext_c_direct'"
		fi
	fi
}

# 6. ICMP port unreachable from phA, translated back to phB's own endpoint.
check_icmp_unreachable() {
	local err typ code qsrc qdst dst
	it_server phB b-icmp-listen icmp-listen --type 3 --code 3 --src 203.0.113.10 --count 1 --timeout 6 || true
	it_nt phB b-closed udp-send --to 203.0.113.10:7999 --bind 10.1.0.10:4400 --timeout 3
	it_wait b-icmp-listen 4
	err=$(kv "$IT_OUT/b-closed.out" error)
	typ=$(kv "$IT_OUT/b-closed.out" icmp_type)
	code=$(kv "$IT_OUT/b-closed.out" icmp_code)
	if [[ $err == ECONNREFUSED && $typ == 3 && $code == 3 ]]; then
		it_pass icmp_port_unreachable_delivered
	else
		it_fail icmp_port_unreachable_delivered "phB's socket got: $(head -c 200 "$IT_OUT/b-closed.out" | tr '\n' ' ')"
	fi
	qsrc=$(kv "$IT_OUT/b-icmp-listen.out" quoted_src)
	qdst=$(kv "$IT_OUT/b-icmp-listen.out" quoted_dst)
	dst=$(kv "$IT_OUT/b-icmp-listen.out" dst)
	if [[ $qsrc == 10.1.0.10:4400 && $qdst == 203.0.113.10:7999 && $dst == 10.1.0.10 ]]; then
		it_pass icmp_quoted_header_translated
	else
		it_fail icmp_quoted_header_translated "ICMP at phB: dst='$dst' quoted_src='$qsrc' quoted_dst='$qdst', expected 10.1.0.10 / 10.1.0.10:4400 / 203.0.113.10:7999"
	fi
	local c1 c2 c3
	c1=$(kv "$IT_OUT/b-icmp-listen.out" icmp_csum_ok)
	c2=$(kv "$IT_OUT/b-icmp-listen.out" quoted_ip_csum_ok)
	c3=$(kv "$IT_OUT/b-icmp-listen.out" quoted_l4_csum_ok)
	if [[ $c1 == 1 && $c2 == 1 && ${c3:-1} == 1 ]]; then
		it_pass icmp_error_checksums
	else
		it_fail icmp_error_checksums "icmp_csum_ok='$c1' quoted_ip_csum_ok='$c2' quoted_l4_csum_ok='$c3'"
	fi
}

# 6b. ICMP error from inside (phB's port unreachable for a forwarded
#     datagram) translated on its way out: phA sees it from 198.51.100.1,
#     quoting its own datagram to 198.51.100.1:5060.
check_icmp_unreachable_outbound() {
	local src qsrc qdst
	it_server phA a-icmp-listen icmp-listen --type 3 --code 3 --count 1 --timeout 6 || true
	it_nt phA a-closed udp-send --to 198.51.100.1:5060 --bind 203.0.113.10:7300 --timeout 3
	it_wait a-icmp-listen 4
	if [[ $(kv "$IT_OUT/a-closed.out" error) == ECONNREFUSED ]]; then
		it_pass icmp_unreachable_outbound_delivered
	else
		it_fail icmp_unreachable_outbound_delivered "phA's socket got: $(tr '\n' ' ' <"$IT_OUT/a-closed.out")"
	fi
	src=$(kv "$IT_OUT/a-icmp-listen.out" src)
	qsrc=$(kv "$IT_OUT/a-icmp-listen.out" quoted_src)
	qdst=$(kv "$IT_OUT/a-icmp-listen.out" quoted_dst)
	if [[ $src == 198.51.100.1 && $qsrc == 203.0.113.10:7300 && $qdst == 198.51.100.1:5060 ]]; then
		it_pass icmp_unreachable_outbound_translated
	else
		it_fail icmp_unreachable_outbound_translated "ICMP at phA: src='$src' quoted_src='$qsrc' quoted_dst='$qdst', expected 198.51.100.1 / 203.0.113.10:7300 / 198.51.100.1:5060"
	fi
}

# 7. RFC 4787: endpoint-independent mapping (REQ-1) and filtering (as configured).
check_eim_eif() {
	local m1 m2
	it_server phA a-eim1 udp-echo --bind 203.0.113.10:7000 --count 1 --timeout 8 || true
	it_nt phB b-eim1 udp-send --to 203.0.113.10:7000 --bind 10.1.0.10:4800 --timeout 3
	it_wait a-eim1 5
	it_server phA a-eim2 udp-echo --bind 203.0.113.10:7001 --count 1 --timeout 8 || true
	it_nt phB b-eim2 udp-send --to 203.0.113.10:7001 --bind 10.1.0.10:4800 --timeout 3
	it_wait a-eim2 5
	m1=$(kv "$IT_OUT/a-eim1.out" peer)
	m2=$(kv "$IT_OUT/a-eim2.out" peer)
	if [[ -n $m1 && $m1 == "$m2" ]]; then
		it_pass udp_mapping_endpoint_independent
	else
		it_fail udp_mapping_endpoint_independent "10.1.0.10:4800 seen as '$m1' by phA:7000 and '$m2' by phA:7001"
	fi
	[[ -n $m1 ]] || return
	# a remote port phB never sent to may reach the mapping (filtering = endpoint-independent)
	it_server phB b-eif udp-echo --bind 10.1.0.10:4800 --count 1 --timeout 6 --no-reply || true
	it_nt phA a-eif udp-send --to "$m1" --bind 203.0.113.10:7002 --payload unsolicited --timeout 0.5
	it_wait b-eif 5
	if [[ $(kv "$IT_OUT/b-eif.out" peer) == 203.0.113.10:7002 ]]; then
		it_pass udp_filtering_endpoint_independent
	else
		it_fail udp_filtering_endpoint_independent "phA:7002 -> $m1 did not reach 10.1.0.10:4800"
	fi
}

check_natd_alive() {
	if it_natd_alive; then it_pass natd_still_running; else it_fail natd_still_running "natd (pid ${IT_NATD_PID:-?}) is gone; see natd.log"; fi
	if it_stats; then
		it_info "natd stats (non-zero): $(stats_nonzero)"
	fi
}

check_udp_outbound
check_tcp_outbound
check_ping
check_forwards
check_hairpin
check_icmp_unreachable
check_icmp_unreachable_outbound
check_eim_eif
check_natd_alive
it_done
