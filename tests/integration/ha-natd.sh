#!/bin/bash
# ha-natd: two natd of an HA pair share their bindings through Redis
# (issue 14; natd/ha.c, common/hastore.c).
#
#   phA 203.0.113.10 --[lanO bridge]-- out0 edgeA .2 / edgeB .3 (VIP .1 on the active)
#   phB 10.1.0.10    --[lanI bridge]-- in0  edgeA .2 / edgeB .3 (VIP 10.1.0.1)
#   redis 10.9.0.100 --[its own bridge]-- ha0 edgeA 10.9.0.1 / edgeB 10.9.0.2
#
# The virtual addresses are moved by hand here (keepalived's part is
# ha-failover.sh's). Checked:
#  1. bindings made on the active (a control BIND and a dynamic one by
#     traffic) appear on the standby with the same id and M; the standby
#     refuses BIND (TRY_AGAIN, "standby");
#  2. Redis killed mid-run: traffic keeps flowing through the active, the
#     lost writes are counted; Redis back: the active pushes its whole
#     state, the standby resyncs and has the binding made meanwhile;
#  3. a binding released on the active leaves no key in Redis and goes
#     from the standby;
#  4. natctl ha promote on the standby: a new epoch; the old active finds
#     it on its next write and demotes itself (never two writers of one
#     epoch); with the addresses moved, the standby translates the flows
#     on the same M, both ways.
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
	it_skip_all "redis-server / redis-cli not installed (apt-get install redis-server)"

P=$IT_PREFIX
STATE=$(nt_state_dir "${P}ha-natd")
PREFIX=natedge:test:natd
REDIS_ADDR=10.9.0.100
REDIS_PID=

ha_cleanup() {
	local rc=$?
	nt_natd_stop "$STATE" natdA
	nt_natd_stop "$STATE" natdB
	[[ -n $REDIS_PID ]] && nt_stop_pid "$REDIS_PID" redis-server 5
	nt_ns_del_recorded "$STATE"
	rm -rf "$STATE"
	(exit $rc)
	it_cleanup
}

# ---------------------------------------------------------------- topology

topo_up() {
	local ns
	mkdir -p "$STATE"
	for ns in phA phB lanO lanI redis edgeA edgeB; do nt_ns_add "$STATE" "$P$ns" || return 1; done
	for ns in lanO lanI redis; do
		ip -n "$P$ns" link add br0 type bridge forward_delay 0 stp_state 0 || return 1
		ip -n "$P$ns" link set br0 up
	done
	nt_veth "${P}phA" eth0 "${P}lanO" pa || return 1
	nt_veth "${P}phB" eth0 "${P}lanI" pb || return 1
	ip -n "${P}lanO" link set pa master br0
	ip -n "${P}lanI" link set pb master br0
	local e n=1
	for e in A B; do
		n=$((n + 1))
		nt_veth "${P}edge$e" out0 "${P}lanO" "e$e" || return 1
		nt_veth "${P}edge$e" in0 "${P}lanI" "e$e" || return 1
		nt_veth "${P}edge$e" ha0 "${P}redis" "e$e" || return 1
		ip -n "${P}lanO" link set "e$e" master br0
		ip -n "${P}lanI" link set "e$e" master br0
		ip -n "${P}redis" link set "e$e" master br0
		ip -n "${P}edge$e" addr add "203.0.113.$n/24" dev out0
		ip -n "${P}edge$e" addr add "10.1.0.$n/24" dev in0
		ip -n "${P}edge$e" addr add "10.9.0.$((n - 1))/24" dev ha0
		nt_router_sysctls "${P}edge$e"
		nt_rp_filter_off "${P}edge$e" lo out0 in0 ha0
	done
	ip -n "${P}redis" addr add "$REDIS_ADDR/24" dev br0
	ip -n "${P}phA" addr add 203.0.113.10/24 dev eth0
	ip -n "${P}phA" route add 198.51.100.0/24 via 203.0.113.1
	ip -n "${P}phB" addr add 10.1.0.10/24 dev eth0
	ip -n "${P}phB" route add default via 10.1.0.1
}

# vip_to EDGE: the virtual addresses move to EDGE (A or B); the phones
# forget the old owner's MAC (keepalived sends gratuitous ARP instead).
vip_to() {
	local from=A to=$1
	[[ $to == A ]] && from=B
	ip -n "${P}edge$from" addr del 203.0.113.1/24 dev out0 2>/dev/null
	ip -n "${P}edge$from" addr del 10.1.0.1/24 dev in0 2>/dev/null
	ip -n "${P}edge$to" addr add 203.0.113.1/24 dev out0
	ip -n "${P}edge$to" addr add 10.1.0.1/24 dev in0
	ip -n "${P}phA" neigh flush all
	ip -n "${P}phB" neigh flush all
}

redis_start() {
	mkdir -p "$IT_OUT/redis"
	ip netns exec "${P}redis" redis-server --bind "$REDIS_ADDR" --port 6379 --dir "$IT_OUT/redis" \
		--save '' --appendonly no --daemonize no --protected-mode no \
		</dev/null >>"$IT_OUT/redis.log" 2>&1 &
	REDIS_PID=$!
	IT_PIDS+=("$REDIS_PID")
	nt_poll 10 redis_ready
}
redis_ready() { [[ $(rcli PING) == PONG ]]; }
rcli() { timeout 5 ip netns exec "${P}redis" redis-cli -h "$REDIS_ADDR" "$@" 2>/dev/null; }

natd_conf() { # NODE ROLE
	sed 's/"br-in"/"in0"/' "$NT_ROOT/conf/natd-edge-test.conf"
	printf 'ha: {\n  enabled = true;\n  redis = "%s:6379";\n  prefix = "%s";\n  node = "%s";\n  role = "%s";\n  timeout_ms = 1000;\n};\n' \
		"$REDIS_ADDR" "$PREFIX" "$1" "$2"
}

# ---------------------------------------------------------------- helpers

sock() { echo "$STATE/natd$1.ctl"; }
# hastat EDGE KEY: one ha_* counter of natctl ha on EDGE (empty if none)
hastat() { timeout 5 "$NT_NATCTL" -s "$(sock "$1")" ha 2>/dev/null | awk -v k="$2" '$1 == k {print $2}'; }
hastat_ge() { local v; v=$(hastat "$1" "$2"); [[ -n $v ]] && ((v >= $3)); }
hastat_eq() { [[ $(hastat "$1" "$2") == "$3" ]]; }
# listed EDGE ID M: EDGE lists binding ID with allocated endpoint M
listed() {
	timeout 5 "$NT_NATCTL" -s "$(sock "$1")" --json list 2>/dev/null |
		grep "\"id\":$2," | grep -qF "\"alloc\":\"$3\""
}
not_listed() { ! timeout 5 "$NT_NATCTL" -s "$(sock "$1")" --json list 2>/dev/null | grep -q "\"id\":$2,"; }
# dyn_of EDGE E: "id M" of the dynamic binding of endpoint E on EDGE
dyn_of() {
	timeout 5 "$NT_NATCTL" -s "$(sock "$1")" --json list 2>/dev/null | grep '"kind":"dynamic"' |
		grep -F "\"endpoint\":\"$2\"" | head -n 1 |
		sed -n 's/.*"id":\([0-9]*\),.*"alloc":"\([^"]*\)".*/\1 \2/p'
}
# udp_out NAME SRC_PORT: phB:SRC_PORT -> phA:7000 and back; PEER = what phA saw
udp_out() {
	local name=$1 port=$2
	PEER=
	it_server phA "$name-echo" udp-echo --bind 203.0.113.10:7000 --count 1 --timeout 8 || return 1
	it_nt phB "$name-send" udp-send --to 203.0.113.10:7000 --bind "10.1.0.10:$port" --timeout 3
	it_wait "$name-echo" 5
	PEER=$(kv "$IT_OUT/$name-echo.out" peer)
	[[ -n $(kv "$IT_OUT/$name-send.out" reply_from) ]]
}
ctl() { # NAME EDGE NATCTL-ARGS...
	local name=$1 e=$2
	shift 2
	it_natctl "$name" --sock "$(sock "$e")" -- "$@"
}

# ---------------------------------------------------------------- start

trap ha_cleanup EXIT
trap it_on_signal INT TERM
export NT_LOGDIR=$IT_OUT
if ! topo_up 2>>"$IT_OUT/topo.log"; then
	it_fail topology_up "$(tail -n 3 "$IT_OUT/topo.log" | tr '\n' ' ')"
	exit 1
fi
vip_to A
if ! redis_start; then
	it_fail redis_started "redis-server did not answer PING in its namespace (redis.log)"
	exit 1
fi
natd_conf edge-a active >"$IT_OUT/natdA.conf"
natd_conf edge-b standby >"$IT_OUT/natdB.conf"
it_check natd_n_accepts_ha_config "natd -n refused the ha section" \
	"$NT_NATD" -n -c "$IT_OUT/natdA.conf"
nt_natd_start "$STATE" natdA "${P}edgeA" "$IT_OUT/natdA.conf" 2>>"$IT_OUT/topo.log" &&
	nt_natd_start "$STATE" natdB "${P}edgeB" "$IT_OUT/natdB.conf" 2>>"$IT_OUT/topo.log" || {
	it_fail natd_started "$(tail -n 5 "$IT_OUT/topo.log" | tr '\n' ' ')"
	exit 1
}
IT_PIDS+=("$(nt_natd_pid "$STATE" natdA)" "$(nt_natd_pid "$STATE" natdB)")
if nt_poll 10 hastat_eq A ha_active 1 && nt_poll 10 hastat_ge A ha_epoch 1 &&
	nt_poll 10 hastat_ge B ha_resyncs 1; then
	EPOCH_A=$(hastat A ha_epoch)
	it_pass "pair_up (edge-a active with epoch $EPOCH_A, edge-b standby, resynced)"
else
	it_fail pair_up "A: $(timeout 5 "$NT_NATCTL" -s "$(sock A)" ha | tr '\n' ' '); B: $(timeout 5 "$NT_NATCTL" -s "$(sock B)" ha | tr '\n' ' ')"
	exit 1
fi

IT_STATE=$STATE
it_use_natd natdA
if it_stats && [[ $(stat ha_active) == 1 && $(stat ha_epoch) == "$EPOCH_A" ]]; then
	it_pass stats_line_shows_ha_role_and_epoch
else
	it_fail stats_line_shows_ha_role_and_epoch "SIGUSR1 stats: $IT_STATS"
fi

# ---------------------------------------------------------------- 1. replicated
ctl bindA A --json bind --dir both --in-realm inside --ext-realm outside \
	--endpoint 10.1.0.10:6000 --lifetime 300 --label ha-call
M_ID=$(json_get "$IT_OUT/bindA.out" id)
M_M=$(json_get "$IT_OUT/bindA.out" alloc)
if udp_out r1 40000 && in_pool "$PEER"; then
	it_pass "r1_dynamic_flow_through_active (phA saw $PEER)"
else
	it_fail r1_dynamic_flow_through_active "phA saw '${PEER:-nothing}'"
fi
read -r D_ID D_M < <(dyn_of A 10.1.0.10:40000)
if [[ -n $M_ID && -n $M_M ]] && nt_poll 5 listed B "$M_ID" "$M_M"; then
	it_pass "r1_managed_binding_on_standby_same_id_and_M (id $M_ID, $M_M)"
else
	it_fail r1_managed_binding_on_standby_same_id_and_M "A bound '$M_ID' '$M_M'; B lists: $(timeout 5 "$NT_NATCTL" -s "$(sock B)" list | tr '\n' ' ')"
fi
if [[ -n ${D_ID:-} && $D_M == "$PEER" ]] && nt_poll 5 listed B "$D_ID" "$D_M"; then
	it_pass "r1_dynamic_binding_on_standby_same_id_and_M (id $D_ID, $D_M)"
else
	it_fail r1_dynamic_binding_on_standby_same_id_and_M "A: '${D_ID:-}' '${D_M:-}'; B lists: $(timeout 5 "$NT_NATCTL" -s "$(sock B)" list | tr '\n' ' ')"
fi
ctl bindB B --json bind --dir both --in-realm inside --ext-realm outside --endpoint 10.1.0.10:6200
rc=$?
if [[ $rc == 1 && $(json_get "$IT_OUT/bindB.out" status) == TRY_AGAIN ]] && grep -q standby "$IT_OUT/bindB.err"; then
	it_pass r1_standby_refuses_bind
else
	it_fail r1_standby_refuses_bind "exit $rc: $(cat "$IT_OUT/bindB.out" "$IT_OUT/bindB.err" | tr '\n' ' ')"
fi
it_check r1_standby_refuses_natctl_ha_for_non_admin "natctl ha as nobody was not refused" \
	bash -c "! timeout 5 setpriv --reuid=nobody --regid=nogroup --clear-groups '$NT_NATCTL' -s '$(sock B)' ha >/dev/null 2>&1"

# ---------------------------------------------------------------- 2. Redis away
LOST0=$(hastat A ha_writes_lost)
PUSH0=$(hastat A ha_pushes)
RESYNC0=$(hastat B ha_resyncs)
kill -KILL "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null
nt_poll 5 hastat_eq A ha_connected 0
if udp_out r2 40001 && in_pool "$PEER"; then
	it_pass "r2_traffic_flows_without_redis (phA saw $PEER)"
else
	it_fail r2_traffic_flows_without_redis "phA saw '${PEER:-nothing}'"
fi
read -r D2_ID D2_M < <(dyn_of A 10.1.0.10:40001)
if nt_poll 5 hastat_ge A ha_writes_lost $((LOST0 + 1)); then
	it_pass "r2_lost_writes_counted (ha_writes_lost $(hastat A ha_writes_lost))"
else
	it_fail r2_lost_writes_counted "ha_writes_lost stayed at $(hastat A ha_writes_lost)"
fi
it_check r2_active_stays_active "edge-a left the active role while Redis was away" hastat_eq A ha_active 1
if ! redis_start; then
	it_fail r2_redis_restarted "redis-server did not come back"
	exit 1
fi
if nt_poll 15 hastat_ge A ha_pushes $((PUSH0 + 1)) && nt_poll 15 hastat_ge B ha_resyncs $((RESYNC0 + 1)); then
	it_pass "r2_full_push_and_resync_after_redis_restart (pushes $(hastat A ha_pushes), resyncs $(hastat B ha_resyncs))"
else
	it_fail r2_full_push_and_resync_after_redis_restart "A pushes $(hastat A ha_pushes) (was $PUSH0), B resyncs $(hastat B ha_resyncs) (was $RESYNC0)"
fi
if [[ -n ${D2_ID:-} ]] && nt_poll 5 listed B "$D2_ID" "$D2_M" && listed B "$M_ID" "$M_M"; then
	it_pass "r2_standby_has_everything_again (id $D2_ID $D2_M made while Redis was away)"
else
	it_fail r2_standby_has_everything_again "A made '${D2_ID:-}' '${D2_M:-}'; B lists: $(timeout 5 "$NT_NATCTL" -s "$(sock B)" list | tr '\n' ' ')"
fi

# ---------------------------------------------------------------- 3. release
ctl bindA2 A --json bind --dir both --in-realm inside --ext-realm outside --endpoint 10.1.0.10:6100
R_ID=$(json_get "$IT_OUT/bindA2.out" id)
R_M=$(json_get "$IT_OUT/bindA2.out" alloc)
if [[ -n $R_ID ]] && nt_poll 5 listed B "$R_ID" "$R_M" && [[ $(rcli EXISTS "$PREFIX:r:b:$R_ID") == 1 ]]; then
	ctl releaseA A release "$R_ID"
	if nt_poll 5 bash -c "[[ \$(timeout 5 ip netns exec '${P}redis' redis-cli -h $REDIS_ADDR EXISTS '$PREFIX:r:b:$R_ID') == 0 ]]"; then
		it_pass "r3_released_binding_leaves_no_key (b:$R_ID)"
	else
		it_fail r3_released_binding_leaves_no_key "$PREFIX:r:b:$R_ID still in Redis"
	fi
	if nt_poll 5 not_listed B "$R_ID"; then it_pass r3_released_binding_gone_from_standby
	else it_fail r3_released_binding_gone_from_standby "B still lists $R_ID"; fi
else
	it_fail r3_binding_replicated "bind '$R_ID' '$R_M' not on B or not in Redis ($(rcli KEYS "$PREFIX:*" | tr '\n' ' '))"
fi
if [[ $(rcli TTL "$PREFIX:r:b:$M_ID") -gt 0 ]]; then
	it_pass "r3_grant_key_expires_with_its_lease (TTL $(rcli TTL "$PREFIX:r:b:$M_ID") s)"
else
	it_fail r3_grant_key_expires_with_its_lease "TTL of b:$M_ID is '$(rcli TTL "$PREFIX:r:b:$M_ID")'"
fi

# ---------------------------------------------------------------- 4. promotion
EPOCH_A=$(hastat A ha_epoch)
ctl promoteB B ha promote
if nt_poll 5 hastat_ge B ha_epoch $((EPOCH_A + 1)) && hastat_eq B ha_active 1; then
	it_pass "r4_standby_promoted_new_epoch ($EPOCH_A -> $(hastat B ha_epoch))"
else
	it_fail r4_standby_promoted_new_epoch "B: $(timeout 5 "$NT_NATCTL" -s "$(sock B)" ha | tr '\n' ' ')"
fi
if nt_poll 5 hastat_eq A ha_active 0 && hastat_ge A ha_writes_stale 1; then
	it_pass "r4_old_active_demoted_itself_on_stale_epoch (stale writes $(hastat A ha_writes_stale))"
else
	it_fail r4_old_active_demoted_itself_on_stale_epoch "A: $(timeout 5 "$NT_NATCTL" -s "$(sock A)" ha | tr '\n' ' ')"
fi
it_check r4_role_changes_logged "the demotion is not in natdA.log" grep -q 'role standby (stale epoch' "$IT_OUT/natdA.log"
it_check r4_one_writer "both nodes active after the promotion" bash -c "! { [[ \$(timeout 5 '$NT_NATCTL' -s '$(sock A)' ha | awk '\$1==\"ha_active\"{print \$2}') == 1 ]] && [[ \$(timeout 5 '$NT_NATCTL' -s '$(sock B)' ha | awk '\$1==\"ha_active\"{print \$2}') == 1 ]]; }"
vip_to B
if udp_out r4 40000 && [[ $PEER == "$D_M" ]]; then
	it_pass "r4_dynamic_flow_same_M_on_new_active ($PEER)"
else
	it_fail r4_dynamic_flow_same_M_on_new_active "phA saw '${PEER:-nothing}', M was '$D_M'"
fi
if it_server phB r4-m-echo udp-echo --bind 10.1.0.10:6000 --count 1 --timeout 8; then
	it_nt phA r4-m-send udp-send --to "$M_M" --bind 203.0.113.10:7300 --timeout 3
	it_wait r4-m-echo 5
	if [[ $(kv "$IT_OUT/r4-m-echo.out" peer) == 203.0.113.10:7300 && $(kv "$IT_OUT/r4-m-send.out" reply_from) == "$M_M" ]]; then
		it_pass "r4_managed_binding_translates_on_new_active (through $M_M)"
	else
		it_fail r4_managed_binding_translates_on_new_active "phB saw '$(kv "$IT_OUT/r4-m-echo.out" peer)', reply from '$(kv "$IT_OUT/r4-m-send.out" reply_from)'"
	fi
fi
it_check r4_new_active_serves_bind "the promoted node refused BIND" \
	ctl bindB2 B bind --dir both --in-realm inside --ext-realm outside --endpoint 10.1.0.10:6300
# a packet that reaches the standby anyway (phB sends it to edge-a's own
# address) is dropped and counted, not translated
dropped_standby() { timeout 5 "$NT_NATCTL" -s "$(sock A)" stats 2>/dev/null | awk '$1 == "dropped_standby" {print $2}'; }
DS0=$(dropped_standby)
ip -n "${P}phB" route add 203.0.113.99/32 via 10.1.0.2
it_nt phB r4-to-standby udp-send --to 203.0.113.99:7000 --bind 10.1.0.10:40009 --timeout 1
if nt_poll 3 bash -c "(( \$(timeout 5 '$NT_NATCTL' -s '$(sock A)' stats | awk '\$1 == \"dropped_standby\" {print \$2}') > ${DS0:-0} ))"; then
	it_pass "r4_standby_drops_and_counts (dropped_standby $(dropped_standby))"
else
	it_fail r4_standby_drops_and_counts "dropped_standby stayed at '$(dropped_standby)'"
fi
if nt_poll 5 hastat_ge A ha_resyncs 1 && nt_poll 5 listed A "$M_ID" "$M_M"; then
	it_pass "r4_old_active_follows_as_standby"
else
	it_fail r4_old_active_follows_as_standby "A: $(timeout 5 "$NT_NATCTL" -s "$(sock A)" ha | tr '\n' ' ')"
fi
it_done
