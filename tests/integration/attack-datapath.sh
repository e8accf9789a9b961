#!/bin/bash
# attack-datapath: natd's datapath and PCP server against hostile senders
# (issue 11). Each attack must fail while a legitimate host beside it keeps
# working. The "edge" topology, with conf/natd-edge-test.conf turned into a
# dependent-filtering edge with PCP (shares made small so that the floods
# stay short; every protection is on by default anyway):
#
#   phA 203.0.113.10 (also forges 203.0.113.66) -- [edge natd] -- phB 10.1.0.10
#                                                               \- phC 10.1.0.11
#
# 1. fragment flood: "203.0.113.66" floods orphan non-first fragments (new
#    IP ids) while phB sends a datagram as fragments in reverse order (they
#    must be held): phA receives it whole, the flood is counted as
#    dropped_frag_source_quota.                      (fragments.buffered_per_source)
# 2. permission flood: phC sends to 400 remotes; phB's flow to phA still
#    gets its replies; perms_host_quota counted.      (table.permissions_per_host)
# 3. forged ICMP errors: "203.0.113.66" sends port unreachable and
#    fragmentation needed about phB's flow to phA; phB sees none of them
#    (dropped_icmp_filtered) and its flow goes on; phA's own genuine port
#    unreachable still reaches phB.                   (table.icmp_errors_from_path)
# 4. PCP: phC maps up to pcp.max_mappings, one more is USER_EX_QUOTA; phC
#    floods requests while phB still maps and is reached through its
#    mapping; pcp_client_rate_limited counted.        (pcp.max_client_rate)
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd

PHA=203.0.113.10
EVIL=203.0.113.66
PHB=10.1.0.10
PHC=10.1.0.11
PCPCLIENT=$NT_ROOT/tests/tools/pcpclient.py
NONCE=0102030405060708090a0b0c

# The edge config, address-dependent filtering, a permission pool the
# flood below could empty without the share, a held-fragment buffer the
# fragment flood could fill without its share, PCP with a quota of 4.
CONF=$IT_OUT/natd-attack.conf
{
	sed -e 's/^\( *filtering *= *\).*/\1"address-dependent";/' \
		-e 's/^\( *capacity *= *[0-9]*;\)/\1\n  permissions = 300;\n  permissions_per_host = 64;/' \
		-e 's/^\( *buffered *= *\)[0-9]*;/\132;\n  buffered_per_source = 8;/' \
		"$NT_ROOT/conf/natd-edge-test.conf"
	cat <<'EOF'

pcp: {
  enable = true;
  listen = [ "10.1.0.1" ];
  min_lifetime = 30;
  max_lifetime = 3600;
  max_mappings = 4;
  max_client_rate = 20;
  announce = false;
};
EOF
} >"$CONF"
if ! grep -q 'permissions_per_host = 64;' "$CONF" || ! grep -q 'buffered_per_source = 8;' "$CONF" ||
	! grep -q '"address-dependent"' "$CONF" ||
	! "$NT_NATD" -n -c "$CONF" >"$IT_OUT/conf-check.out" 2>&1; then
	it_fail attack_config "could not derive $CONF: $(tr '\n' ' ' <"$IT_OUT/conf-check.out" 2>/dev/null)"
	exit 1
fi
it_topo_up edge "$CONF"

# counter NAME: natd's counter NAME now (empty when natd gave no stats)
counter() { it_stats >/dev/null 2>&1 && stat "$1"; }

# ---------------------------------------------------------------- 1. fragments

# frags_full N: natd holds at least N fragments (the flooder's share)
frags_full() { local n; n=$(counter frags_held); [[ -n $n && $n -ge $1 ]]; }

check_fragments() {
	local before after peer len
	before=$(counter dropped_frag_source_quota)
	# 4000 orphan fragments at most, 8 s at most: each held one sits out
	# fragments.timeout (2 s), so the flood keeps its share (or, without
	# one, the whole buffer) full throughout
	it_bg phA a-fragflood malformed --to 198.51.100.1 --src "$EVIL" --kinds frag_orphan \
		--count 4000 --pps 500 --timeout 8
	# ready when natd holds the flooder's share of fragments
	if ! nt_poll 5 frags_full 8; then
		it_fail frag_flood_started "natd holds $(counter frags_held) fragments 5 s into the flood"
		return
	fi
	if ! it_server phA a-frag-echo udp-echo --bind "$PHA:7100" --count 1 --timeout 8; then
		it_fail frag_flood_legit_datagram "echo server on phA did not start"
		return
	fi
	it_nt phB b-frag frag-send --to "$PHA:7100" --bind "$PHB:4800" --size 3000 --frag-size 800 \
		--reverse --timeout 3
	it_wait a-frag-echo 5
	it_wait a-fragflood 12
	peer=$(kv "$IT_OUT/a-frag-echo.out" peer)
	len=$(kv "$IT_OUT/a-frag-echo.out" len)
	if [[ -n $peer ]] && in_pool "$peer" && [[ $len == 3000 ]]; then
		it_pass frag_flood_legit_datagram
	else
		it_fail frag_flood_legit_datagram "during the flood phA got peer='$peer' len='$len' (want a pool address, 3000 bytes)"
	fi
	after=$(counter dropped_frag_source_quota)
	if [[ -n $after && -n $before && $after -gt $((before + 100)) ]]; then
		it_pass frag_flood_source_quota_counted
	else
		it_fail frag_flood_source_quota_counted "dropped_frag_source_quota $before -> $after; flood: $(tr '\n' ' ' <"$IT_OUT/a-fragflood.out")"
	fi
	it_stats >/dev/null 2>&1 && it_info "fragments: $(stats_nonzero | tr ' ' '\n' | grep frag | tr '\n' ' ')"
}

# ---------------------------------------------------------------- 2. permissions

check_permissions() {
	local before after full
	before=$(counter perms_host_quota)
	# phC: 400 remotes (192.0.2.1-200 and 203.0.113.101-300 mod 256), from
	# 4 source ports, each remote a new permission under address-dependent
	# filtering. Bounded: 400 datagrams, 10 s.
	timeout 15 ip netns exec "$(it_ns phC)" "$NT_PY" - "$PHC" >"$IT_OUT/c-permflood.out" 2>&1 <<'PY'
import socket, sys, time
src = sys.argv[1]
socks = []
for p in range(6100, 6104):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, p))
    socks.append(s)
sent = errors = 0
end = time.monotonic() + 10
for i in range(400):
    if time.monotonic() > end:
        break
    dst = "192.0.2.%d" % (1 + i % 200) if i < 200 else "198.18.%d.%d" % (i // 250, 1 + i % 250)
    try:
        socks[i % 4].sendto(b"perm", (dst, 9))
        sent += 1
    except OSError:
        errors += 1
print("sent=%d errors=%d" % (sent, errors))
PY
	it_info "phC permission flood: $(cat "$IT_OUT/c-permflood.out")"
	after=$(counter perms_host_quota)
	if [[ -n $after && -n $before && $after -ge $((before + 300)) ]]; then
		it_pass perm_flood_host_quota_counted
	else
		it_fail perm_flood_host_quota_counted "perms_host_quota $before -> $after after 400 remotes from phC"
	fi
	# phB: a new flow to phA gets its replies (needs a permission)
	if ! it_server phA a-perm-echo udp-echo --bind "$PHA:7200" --count 0 --timeout 8; then
		it_fail perm_flood_legit_replies "echo server on phA did not start"
		return
	fi
	it_nt phB b-perm udp-send --to "$PHA:7200" --bind "$PHB:4900" --count 3 --tries 3 --timeout 1 \
		--payload legit
	if [[ $(kv "$IT_OUT/b-perm.out" received) == 3 ]]; then
		it_pass perm_flood_legit_replies
	else
		it_fail perm_flood_legit_replies "phB's flow to phA: $(tr '\n' ' ' <"$IT_OUT/b-perm.out")"
	fi
	full=$(counter perms_full)
	if [[ $full == 0 ]]; then
		it_pass perm_pool_not_exhausted
	else
		it_fail perm_pool_not_exhausted "perms_full=$full"
	fi
}

# ---------------------------------------------------------------- 3. ICMP errors

check_icmp() {
	local m before after got
	if ! it_server phA a-icmp-echo udp-echo --bind "$PHA:7300" --count 0 --timeout 20; then
		it_fail icmp_setup "echo server on phA did not start"
		return
	fi
	it_nt phB b-icmp1 udp-send --to "$PHA:7300" --bind "$PHB:5000" --tries 3 --timeout 1 --payload one
	m=$(kv "$IT_OUT/b-icmp1.out" seen_as)
	if [[ -z $m ]] || ! in_pool "$m"; then
		it_fail icmp_setup "phB's flow to phA: $(tr '\n' ' ' <"$IT_OUT/b-icmp1.out")"
		return
	fi
	before=$(counter dropped_icmp_filtered)
	# phB listens for every ICMP error that reaches it
	if ! it_server phB b-icmp-listen icmp-listen --type 3 --count 0 --timeout 6; then
		it_fail icmp_setup "ICMP listener on phB did not start"
		return
	fi
	# the attacker (a third host) forges errors about phB's flow: port
	# unreachable, fragmentation needed (MTU 68), 5 of each
	it_nt phA a-forge-unreach icmp-error --to "${m%:*}" --src "$EVIL" --type 3 --code 3 \
		--quote-src "$m" --quote-dst "$PHA:7300" --count 5
	it_nt phA a-forge-fragneed icmp-error --to "${m%:*}" --src "$EVIL" --type 3 --code 4 --mtu 68 \
		--quote-src "$m" --quote-dst "$PHA:7300" --count 5
	# and about a flow phB never had (to the attacker itself)
	it_nt phA a-forge-other icmp-error --to "${m%:*}" --src "$EVIL" --type 3 --code 3 \
		--quote-src "$m" --quote-dst "$EVIL:53" --count 5
	# the genuine one: phB sends to a closed port of phA, whose kernel answers
	it_nt phB b-closed udp-send --to "$PHA:7399" --bind "$PHB:5001" --connect --timeout 2 --payload closed
	it_wait b-icmp-listen 10
	got=$(grep -c "src=$EVIL" "$IT_OUT/b-icmp-listen.out")
	if [[ $got == 0 ]]; then
		it_pass icmp_forged_errors_not_delivered
	else
		it_fail icmp_forged_errors_not_delivered "phB received $got ICMP errors from $EVIL"
	fi
	after=$(counter dropped_icmp_filtered)
	if [[ -n $after && -n $before && $after -ge $((before + 15)) ]]; then
		it_pass icmp_forged_errors_counted
	else
		it_fail icmp_forged_errors_counted "dropped_icmp_filtered $before -> $after after 15 forged errors"
	fi
	if grep -q "src=$PHA .*type=3 code=3" "$IT_OUT/b-icmp-listen.out" &&
		[[ $(kv "$IT_OUT/b-closed.out" error) == ECONNREFUSED ]]; then
		it_pass icmp_genuine_error_delivered
	else
		it_fail icmp_genuine_error_delivered "phB got no port unreachable from $PHA: $(tr '\n' ' ' <"$IT_OUT/b-closed.out")"
	fi
	# the flow is intact, at full size (no forged MTU took hold)
	it_nt phB b-icmp2 udp-send --to "$PHA:7300" --bind "$PHB:5000" --tries 3 --timeout 1 --size 1200
	if [[ $(kv "$IT_OUT/b-icmp2.out" reply_from) == "$PHA:7300" && $(kv "$IT_OUT/b-icmp2.out" payload_ok) == 1 &&
		$(kv "$IT_OUT/b-icmp2.out" seen_as) == "$m" ]]; then
		it_pass icmp_flow_survives
	else
		it_fail icmp_flow_survives "phB's flow after the forged errors: $(tr '\n' ' ' <"$IT_OUT/b-icmp2.out")"
	fi
}

# ---------------------------------------------------------------- 4. PCP

# pcp NS NAME ARGS...: pcpclient in NS (bounded), output in NAME.out
pcp() {
	local ns=$1 name=$2
	shift 2
	it_log "[$ns] pcpclient $*"
	timeout 20 ip netns exec "$(it_ns "$ns")" "$NT_PY" "$PCPCLIENT" "$@" >"$IT_OUT/$name.out" 2>&1
	local rc=$?
	sed "s/^/    $name: /" "$IT_OUT/$name.out" >&2
	return $rc
}

check_pcp() {
	local ok=0 ext before after flood_pid
	for i in 1 2 3 4; do
		pcp phC c-map$i map --server 10.1.0.1 --bind "$PHC" --proto udp --internal-port $((5100 + i)) \
			--lifetime 600 --nonce "$NONCE"
		[[ $(kv "$IT_OUT/c-map$i.out" result) == SUCCESS ]] && ok=$((ok + 1))
	done
	pcp phC c-map5 map --server 10.1.0.1 --bind "$PHC" --proto udp --internal-port 5105 \
		--lifetime 600 --nonce "$NONCE"
	if [[ $ok == 4 && $(kv "$IT_OUT/c-map5.out" result) == USER_EX_QUOTA ]]; then
		it_pass pcp_over_quota_refused
	else
		it_fail pcp_over_quota_refused "phC: $ok of 4 mappings, the fifth: $(tr '\n' ' ' <"$IT_OUT/c-map5.out")"
	fi
	# phC floods requests (NAT-PMP address requests: each costs a token),
	# 6 s or 30000 at most, while phB maps
	before=$(counter pcp_client_rate_limited)
	timeout 15 ip netns exec "$(it_ns phC)" "$NT_PY" - "$PHC" >"$IT_OUT/c-pcpflood.out" 2>&1 <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.setblocking(False)
end = time.monotonic() + 6
sent = 0
while sent < 30000 and time.monotonic() < end:
    try:
        s.sendto(b"\0\0", ("10.1.0.1", 5351))
        sent += 1
    except BlockingIOError:
        time.sleep(0.001)
    try:
        while True:
            s.recv(64)
    except BlockingIOError:
        pass
    if sent % 50 == 0:
        time.sleep(0.02)  # at most ~2500/s: far over pcp.max_rate, not a socket-buffer flood
print("sent=%d" % sent)
PY
	flood_pid=$!
	IT_PIDS+=("$flood_pid")
	sleep 1
	pcp phB b-map map --server 10.1.0.1 --bind "$PHB" --proto udp --internal-port 5200 \
		--lifetime 600 --nonce "$NONCE" --tries 2 --timeout 1
	ext=$(kv "$IT_OUT/b-map.out" external)
	if [[ $(kv "$IT_OUT/b-map.out" result) == SUCCESS ]] && in_pool "$ext"; then
		it_pass pcp_legit_client_maps_during_flood
	else
		it_fail pcp_legit_client_maps_during_flood "phB: $(tr '\n' ' ' <"$IT_OUT/b-map.out")"
	fi
	nt_poll 12 nt_pid_gone "$flood_pid" || kill -TERM "$flood_pid" 2>/dev/null
	wait "$flood_pid" 2>/dev/null
	it_info "phC PCP flood: $(cat "$IT_OUT/c-pcpflood.out")"
	after=$(counter pcp_client_rate_limited)
	if [[ -n $after && -n $before && $after -gt $((before + 100)) ]]; then
		it_pass pcp_client_rate_counted
	else
		it_fail pcp_client_rate_counted "pcp_client_rate_limited $before -> $after"
	fi
	# phA reaches phB through the mapping phB got
	if [[ -n $ext ]] && it_server phB b-pcp-echo udp-echo --bind "$PHB:5200" --count 1 --timeout 6; then
		it_nt phA a-pcp-send udp-send --to "$ext" --bind "$PHA:7400" --timeout 2 --tries 2 --payload via-pcp
		it_wait b-pcp-echo 5
		if [[ $(kv "$IT_OUT/b-pcp-echo.out" peer) == "$PHA:7400" ]]; then
			it_pass pcp_legit_mapping_reached
		else
			it_fail pcp_legit_mapping_reached "phB saw '$(kv "$IT_OUT/b-pcp-echo.out" peer)'"
		fi
	else
		it_fail pcp_legit_mapping_reached "no mapping or no echo server on phB"
	fi
}

check_fragments
check_permissions
check_icmp
check_pcp

if it_natd_alive; then
	it_pass natd_alive
else
	it_fail natd_alive "natd is gone"
fi
it_done
