#!/bin/bash
# pcp-natpmp: natd's PCP / NAT-PMP front-end on the "edge" topology, with
# conf/natd-edge-test.conf plus a pcp group (listening on 10.1.0.1):
#   NAT-PMP (Debian's natpmpc): phB opens an external port, phA reaches phB's
#   UDP server through the address:port natpmpc printed, a lifetime-0
#   request deletes it and phA's packets no longer arrive;
#   PCP (tests/tools/pcpclient.py): a MAP with FILTER lets only the named
#   remote in (another source port is dropped and counted as filtered), the
#   same nonce refreshes, another nonce is refused, lifetime 0 deletes;
#   error replies: unsupported version, address mismatch, THIRD_PARTY
#   refused; ANNOUNCE answered.
#
#   phA 203.0.113.10 -- [edge: natd, pool 198.51.100.0/28, PCP on 10.1.0.1] -- phB 10.1.0.10
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd
command -v natpmpc >/dev/null || it_skip_all "natpmpc not installed (apt-get install natpmpc)"

PCPCLIENT=$NT_ROOT/tests/tools/pcpclient.py
NONCE=0102030405060708090a0b0c

conf=$IT_OUT/natd-pcp.conf
{
	cat "$NT_ROOT/conf/natd-edge-test.conf"
	cat <<'EOF'

pcp: {
  enable = true;
  listen = [ "10.1.0.1" ];
  min_lifetime = 30;
  max_lifetime = 3600;
  announce = true;
};
EOF
} >"$conf"
it_topo_up edge "$conf"

if grep -q 'pcp: PCP and NAT-PMP on' "$IT_NATD_LOG"; then
	it_pass pcp_server_started
else
	it_fail pcp_server_started "no 'pcp: PCP and NAT-PMP on' line in natd's log"
	exit 1
fi

# natpmpc NAME ARGS...: run natpmpc in phB (bounded), output in NAME.out.
natpmpc_b() {
	local name=$1
	shift
	it_log "[phB] natpmpc $*"
	timeout 20 ip netns exec "$(it_ns phB)" natpmpc "$@" >"$IT_OUT/$name.out" 2>&1
	local rc=$?
	sed "s/^/    $name: /" "$IT_OUT/$name.out" >&2
	return $rc
}

# pcp NAME ARGS...: run pcpclient in phB (bounded), output in NAME.out.
pcp_b() {
	local name=$1
	shift
	it_log "[phB] pcpclient $*"
	timeout 20 ip netns exec "$(it_ns phB)" "$NT_PY" "$PCPCLIENT" "$@" >"$IT_OUT/$name.out" 2>&1
	local rc=$?
	sed "s/^/    $name: /" "$IT_OUT/$name.out" >&2
	return $rc
}

# expect NAME OUT KEY VALUE: PASS when pcpclient's OUT.out has KEY=VALUE.
expect() {
	if [[ $(kv "$IT_OUT/$2.out" "$3") == "$4" ]]; then
		it_pass "$1"
	else
		it_fail "$1" "expected $3=$4: $(tr '\n' ' ' <"$IT_OUT/$2.out")"
	fi
}

# delivered NAME PORT SRCPORT TARGET: phA (203.0.113.10:SRCPORT) sends one
# datagram to TARGET; 0 when phB's listener on 10.1.0.10:PORT got it.
delivered() {
	local name=$1 port=$2 sport=$3 target=$4
	it_server phB "b-$name" udp-echo --bind "10.1.0.10:$port" --count 1 --timeout 3 --no-reply || return 2
	it_nt phA "a-$name" udp-send --to "$target" --bind "203.0.113.10:$sport" --timeout 0.5 --payload "$name"
	it_wait "b-$name" 5
	[[ $(kv "$IT_OUT/b-$name.out" received) == 1 ]]
}

# ---------------------------------------------------------------- NAT-PMP

check_natpmp() {
	local pub port ext
	if ! natpmpc_b pmp-map -g 10.1.0.1 -a 40000 5000 udp 60; then
		it_fail natpmp_map "natpmpc failed: $(tr '\n' ' ' <"$IT_OUT/pmp-map.out" | tail -c 300)"
		return
	fi
	pub=$(sed -n 's/^Public IP address : \([0-9.]*\).*/\1/p' "$IT_OUT/pmp-map.out" | head -n 1)
	port=$(sed -n 's/^Mapped public port \([0-9]*\) protocol UDP to local port 5000 .*/\1/p' \
		"$IT_OUT/pmp-map.out" | head -n 1)
	if [[ -z $pub || -z $port ]] || ! in_pool "$pub"; then
		it_fail natpmp_map "natpmpc printed public address '$pub', port '$port'"
		return
	fi
	it_pass natpmp_map
	ext=$pub:$port
	it_info "NAT-PMP: 10.1.0.10:5000 is reachable at $ext"
	if [[ $port == 40000 ]]; then
		it_pass natpmp_suggested_port_granted
	else
		it_fail natpmp_suggested_port_granted "asked for 40000, got $port"
	fi

	# phA reaches phB's UDP echo server through it, and the reply comes back from it.
	if it_server phB b-pmp-echo udp-echo --bind 10.1.0.10:5000 --count 1 --timeout 6; then
		it_nt phA a-pmp-send udp-send --to "$ext" --bind 203.0.113.10:7000 --timeout 3 --payload via-natpmp
		it_wait b-pmp-echo 5
		if [[ $(kv "$IT_OUT/b-pmp-echo.out" peer) == 203.0.113.10:7000 &&
			$(kv "$IT_OUT/a-pmp-send.out" reply_from) == "$ext" ]]; then
			it_pass natpmp_inbound_delivered
		else
			it_fail natpmp_inbound_delivered "phB saw peer '$(kv "$IT_OUT/b-pmp-echo.out" peer)', phA got reply_from '$(kv "$IT_OUT/a-pmp-send.out" reply_from)'"
		fi
	else
		it_fail natpmp_inbound_delivered "echo server on phB did not start"
	fi

	# lifetime 0 deletes it
	if natpmpc_b pmp-del -g 10.1.0.1 -a 40000 5000 udp 0; then
		it_pass natpmp_delete_answered
	else
		it_fail natpmp_delete_answered "natpmpc failed: $(tr '\n' ' ' <"$IT_OUT/pmp-del.out" | tail -c 300)"
	fi
	if delivered pmp-after 5000 7000 "$ext"; then
		it_fail natpmp_deleted_mapping_closed "phA -> $ext still reached 10.1.0.10:5000"
	else
		it_pass natpmp_deleted_mapping_closed
	fi
}

# ---------------------------------------------------------------- PCP

check_pcp_filter() {
	local ext ext2 filtered0
	if ! pcp_b pcp-map map --server 10.1.0.1 --bind 10.1.0.10 --proto udp --internal-port 5002 \
		--lifetime 60 --nonce "$NONCE" --filter 203.0.113.10/32:7000; then
		it_fail pcp_map_filter "no reply from the PCP server"
		return
	fi
	ext=$(kv "$IT_OUT/pcp-map.out" external)
	if [[ $(kv "$IT_OUT/pcp-map.out" result) == SUCCESS && $(kv "$IT_OUT/pcp-map.out" nonce_ok) == 1 &&
		$(kv "$IT_OUT/pcp-map.out" filters) == 1 && $(kv "$IT_OUT/pcp-map.out" lifetime) == 60 ]] &&
		in_pool "$ext"; then
		it_pass pcp_map_filter
	else
		it_fail pcp_map_filter "$(cat "$IT_OUT/pcp-map.out")"
		return
	fi
	it_info "PCP: 10.1.0.10:5002 is reachable at $ext from 203.0.113.10:7000 only"
	if (( $(kv "$IT_OUT/pcp-map.out" epoch) < 600 )); then
		it_pass pcp_epoch_since_start
	else
		it_fail pcp_epoch_since_start "epoch $(kv "$IT_OUT/pcp-map.out" epoch), natd started moments ago"
	fi

	# the remote the FILTER names gets in
	if delivered pcp-allowed 5002 7000 "$ext"; then
		it_pass pcp_filter_allows_named_remote
	else
		it_fail pcp_filter_allows_named_remote "203.0.113.10:7000 -> $ext did not reach 10.1.0.10:5002"
	fi
	# another source port does not, and is counted as filtered
	it_stats
	filtered0=$(stat dropped_filtered)
	if delivered pcp-other 5002 7001 "$ext"; then
		it_fail pcp_filter_drops_other_remote "203.0.113.10:7001 -> $ext reached 10.1.0.10:5002"
	else
		it_pass pcp_filter_drops_other_remote
	fi
	if it_stats && [[ $(stat dropped_filtered) -gt ${filtered0:-0} ]]; then
		it_pass pcp_filter_counted
	else
		it_fail pcp_filter_counted "dropped_filtered '$(stat dropped_filtered)' (was '${filtered0}')"
	fi

	# the same nonce refreshes (same external endpoint); another one is refused
	pcp_b pcp-refresh map --server 10.1.0.1 --bind 10.1.0.10 --proto udp --internal-port 5002 \
		--lifetime 90 --nonce "$NONCE" --filter 203.0.113.10/32:7000
	ext2=$(kv "$IT_OUT/pcp-refresh.out" external)
	if [[ $(kv "$IT_OUT/pcp-refresh.out" result) == SUCCESS && $ext2 == "$ext" &&
		$(kv "$IT_OUT/pcp-refresh.out" lifetime) == 90 ]]; then
		it_pass pcp_same_nonce_refreshes
	else
		it_fail pcp_same_nonce_refreshes "$(cat "$IT_OUT/pcp-refresh.out") (first: $ext)"
	fi
	pcp_b pcp-steal map --server 10.1.0.1 --bind 10.1.0.10 --proto udp --internal-port 5002 \
		--lifetime 0 --nonce ffffffffffffffffffffffff
	expect pcp_other_nonce_refused pcp-steal result NOT_AUTHORIZED

	# lifetime 0 with the nonce deletes it
	pcp_b pcp-del map --server 10.1.0.1 --bind 10.1.0.10 --proto udp --internal-port 5002 \
		--lifetime 0 --nonce "$NONCE"
	if [[ $(kv "$IT_OUT/pcp-del.out" result) == SUCCESS && $(kv "$IT_OUT/pcp-del.out" lifetime) == 0 ]]; then
		it_pass pcp_delete
	else
		it_fail pcp_delete "$(cat "$IT_OUT/pcp-del.out")"
	fi
	if delivered pcp-after 5002 7000 "$ext"; then
		it_fail pcp_deleted_mapping_closed "203.0.113.10:7000 -> $ext still reached 10.1.0.10:5002"
	else
		it_pass pcp_deleted_mapping_closed
	fi
}

check_pcp_errors() {
	pcp_b pcp-ver announce --server 10.1.0.1 --bind 10.1.0.10 --version 3
	expect pcp_unsupported_version pcp-ver result UNSUPP_VERSION
	pcp_b pcp-mismatch map --server 10.1.0.1 --bind 10.1.0.10 --client-ip 10.1.0.99 \
		--proto udp --internal-port 5003
	expect pcp_address_mismatch pcp-mismatch result ADDRESS_MISMATCH
	pcp_b pcp-3rd map --server 10.1.0.1 --bind 10.1.0.10 --third-party 10.1.0.11 \
		--proto udp --internal-port 5004
	expect pcp_third_party_refused pcp-3rd result NOT_AUTHORIZED
	pcp_b pcp-ann announce --server 10.1.0.1 --bind 10.1.0.10
	expect pcp_announce pcp-ann result SUCCESS
	expect pcp_announce_header_only pcp-ann length 24
}

check_natpmp
check_pcp_filter
check_pcp_errors

if it_natd_alive && it_stats; then
	it_pass natd_alive
	it_info "pcp counters: $(tr ' ' '\n' <<<"$IT_STATS" | grep -E '^(pcp|natpmp)_' | grep -v '=0$' | tr '\n' ' ')"
	if [[ $(stat pcp_requests) -ge 8 && $(stat natpmp_requests) -ge 4 ]]; then
		it_pass pcp_counters
	else
		it_fail pcp_counters "pcp_requests='$(stat pcp_requests)' natpmp_requests='$(stat natpmp_requests)'"
	fi
else
	it_fail natd_alive "natd is gone or gave no stats"
fi
it_done
