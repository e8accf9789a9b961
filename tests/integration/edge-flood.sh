#!/bin/bash
# edge-flood: per-inside-host limits (table.max_bindings_per_host,
# table.new_flows_per_host) under a new-flow flood. One abusive host
# cannot starve the others of the binding table.
#
# natd runs with conf/natd-edge-test.conf plus a quota of $QUOTA dynamic
# bindings and $RATE new ones a second per inside address. phC (10.1.0.11)
# sends one UDP datagram from each of up to $FLOOD_MAX source ports (each
# would be a new binding) for at most $FLOOD_SECS s, while phB (10.1.0.10)
# opens a handful of flows and exchanges datagrams with phA.
#   flood_sent                  phC sent its flood (bounded count and time)
#   victim_flows_work           every one of phB's flows got its echoes
#   victim_new_flow_after_flood phB still opens a new flow afterwards
#   flooder_within_quota        phC holds at most $QUOTA dynamic bindings
#   dropped_host_rate_counted   natd counted the flood's drops by reason
#   dropped_host_quota_counted
#   natd_alive                  natd is still running
#   table_intact                natctl stats: the gauges add up, the list of
#                               dynamic bindings matches, no table_full or
#                               pool_exhausted drop
#   reload_quota_applied        SIGHUP with the quota raised by $RAISE: phC
#                               gets exactly that many more, then no more
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd

QUOTA=50
RATE=40
RAISE=5
FLOOD_SECS=4
FLOOD_MAX=400000
PHB=10.1.0.10
PHC=10.1.0.11
PHA=203.0.113.10

# gen_conf OUT QUOTA: the edge config with the two limits set
gen_conf() {
	awk -v q="$2" -v r="$RATE" '
		{ print }
		/^ *capacity *= *[0-9]+;/ {
			print "  max_bindings_per_host = " q ";"
			print "  new_flows_per_host = " r ";"
		}' "$NT_ROOT/conf/natd-edge-test.conf" >"$1"
}
CONF=$IT_OUT/natd-flood.conf
gen_conf "$CONF" "$QUOTA"
if ! grep -q "max_bindings_per_host = $QUOTA;" "$CONF" ||
	! "$NT_NATD" -n -c "$CONF" >"$IT_OUT/conf-check.out" 2>&1; then
	it_fail flood_config "could not derive $CONF: $(tr '\n' ' ' <"$IT_OUT/conf-check.out" 2>/dev/null)"
	exit 1
fi
it_topo_up edge "$CONF"
CTL=$(it_ctl_socket)
nt_poll 5 test -S "$CTL" || { it_fail flood_control_socket "no socket at $CTL"; exit 1; }

# flood FIRST SPAN: phC sends one datagram from each source port of
# FIRST..FIRST+SPAN-1 in turn, round and round, for FLOOD_SECS s or
# FLOOD_MAX datagrams, whichever comes first: every port without a binding
# is a new flow (a few tens of thousands a second)
flood() {
	timeout $((FLOOD_SECS + 10)) ip netns exec "$(it_ns phC)" "$NT_PY" - "$PHC" "$PHA" \
		"$FLOOD_SECS" "$FLOOD_MAX" "$1" "$2" >"$IT_OUT/flood.out" 2>&1 <<'PY'
import socket, sys, time
src, dst = sys.argv[1], sys.argv[2]
secs, limit, first, span = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
end = time.monotonic() + secs
sent = errors = 0
while sent + errors < limit and time.monotonic() < end:
    port = first + (sent + errors) % span
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((src, port))
        s.sendto(b"flood", (dst, 9))
        sent += 1
    except OSError:
        errors += 1
    finally:
        s.close()
print("sent=%d errors=%d ports=%d" % (sent, errors, min(sent + errors, span)))
PY
}

# phc_dynamic NAME: PHC_DYN = phC's dynamic bindings in natctl list,
# LIST_DYN = the dynamic bindings listed in all (-1 on error)
phc_dynamic() {
	PHC_DYN=-1 LIST_DYN=-1
	it_natctl "$1" -- --json list --kind dynamic >/dev/null 2>&1 || return 1
	LIST_DYN=$(grep -c '"endpoint"' "$IT_OUT/$1.out")
	PHC_DYN=$(grep -c "\"endpoint\":\"$PHC:" "$IT_OUT/$1.out")
}

# ---------------------------------------------------------------- the flood

it_server phA a-echo udp-echo --bind "$PHA:7000" --count 0 --timeout 30 || true
flood 20000 40000 &
FLOOD_PID=$!
IT_PIDS+=("$FLOOD_PID")
sleep 0.5

# phB's flows, opened while the flood runs: each its own source port
victim_ok=0
victim_n=5
for i in $(seq 1 $victim_n); do
	name=b-flow$i
	it_nt phB "$name" udp-send --to "$PHA:7000" --bind "$PHB:$((6000 + i))" --count 3 --tries 3 \
		--timeout 1 --payload "victim-$i"
	seen=$(kv "$IT_OUT/$name.out" seen_as)
	if [[ $(kv "$IT_OUT/$name.out" received) == 3 ]] && [[ -n $seen ]] && in_pool "$seen"; then
		victim_ok=$((victim_ok + 1))
	else
		it_log "$name: $(tr '\n' ' ' <"$IT_OUT/$name.out")"
	fi
done
nt_poll $((FLOOD_SECS + 12)) nt_pid_gone "$FLOOD_PID" || kill -TERM "$FLOOD_PID" 2>/dev/null
wait "$FLOOD_PID" 2>/dev/null
sent=$(kv "$IT_OUT/flood.out" sent)
it_info "phC flood: $(cat "$IT_OUT/flood.out")"
if [[ -n $sent && $sent -gt $((QUOTA * 10)) ]]; then
	it_pass flood_sent
else
	it_fail flood_sent "phC sent '${sent:-?}' datagrams: $(tr '\n' ' ' <"$IT_OUT/flood.out")"
fi
if ((victim_ok == victim_n)); then
	it_pass victim_flows_work
else
	it_fail victim_flows_work "$victim_ok of $victim_n phB flows got their 3 echoes during the flood"
fi
it_nt phB b-after udp-send --to "$PHA:7000" --bind "$PHB:6100" --count 2 --tries 3 --timeout 1 \
	--payload after-flood
if [[ $(kv "$IT_OUT/b-after.out" received) == 2 ]]; then
	it_pass victim_new_flow_after_flood
else
	it_fail victim_new_flow_after_flood "$(tr '\n' ' ' <"$IT_OUT/b-after.out")"
fi

# ---------------------------------------------------------------- counters

phc_dynamic list1
phc=$PHC_DYN
it_info "phC holds $phc dynamic bindings (quota $QUOTA); $LIST_DYN dynamic in all"
if ((phc >= 1 && phc <= QUOTA)); then
	it_pass flooder_within_quota
else
	it_fail flooder_within_quota "phC holds $phc dynamic bindings, quota $QUOTA"
fi
it_stats
it_info "counters: $(stats_nonzero)"
for r in rate quota; do
	v=$(stat "dropped_host_$r")
	if [[ -n $v && $v -gt 0 ]]; then
		it_pass "dropped_host_${r}_counted"
	else
		it_fail "dropped_host_${r}_counted" "dropped_host_$r='$v'"
	fi
done
if it_natd_alive; then
	it_pass natd_alive
else
	it_fail natd_alive "natd (pid ${IT_NATD_PID:-?}) is gone"
	exit 1
fi

it_natctl stats -- --json stats >/dev/null 2>&1
g() { json_get "$IT_OUT/stats.out" "stats.$1"; }
total=$(g bindings) dyn=$(g bindings_dynamic) sta=$(g bindings_static) man=$(g bindings_managed)
phc_dynamic list2
phc=$PHC_DYN
why=
[[ -n $total && -n $dyn ]] || why="natctl stats gave no gauges"
[[ -z $why && $total -ne $((dyn + sta + man)) ]] && why="bindings=$total != $dyn+$sta+$man"
[[ -z $why && $dyn -ne $LIST_DYN ]] && why="bindings_dynamic=$dyn but natctl list shows $LIST_DYN"
[[ -z $why && $dyn -lt $((phc + victim_n + 1)) ]] && why="bindings_dynamic=$dyn < phC's $phc + phB's $((victim_n + 1))"
[[ -z $why && $(g dropped_table_full) != 0 ]] && why="dropped_table_full=$(g dropped_table_full)"
[[ -z $why && $(g dropped_pool_exhausted) != 0 ]] && why="dropped_pool_exhausted=$(g dropped_pool_exhausted)"
if [[ -z $why ]]; then
	it_pass table_intact
else
	it_fail table_intact "$why"
fi

# ---------------------------------------------------------------- reload

before=$phc
quota0=$(stat dropped_host_quota)
gen_conf "$CONF" $((QUOTA + RAISE))
nlog=$(grep -c 'configuration reloaded' "$IT_NATD_LOG")
kill -HUP "$IT_NATD_PID"
if ! nt_poll 5 eval '(( $(grep -c "configuration reloaded" "$IT_NATD_LOG") > nlog ))'; then
	it_fail reload_quota_applied "no 'configuration reloaded' after SIGHUP: $(grep -i reload "$IT_NATD_LOG" | tail -n 2)"
else
	# 2 x RAISE new flows, one datagram each, slower than the rate
	FLOOD_SECS=3 FLOOD_MAX=$((2 * RAISE))
	flood 61000 $((2 * RAISE))
	sleep 0.3
	phc_dynamic list3
	after=$PHC_DYN
	it_stats
	it_info "after the reload phC holds $after (held $before; quota now $((QUOTA + RAISE)))"
	want=$((before + RAISE))
	((want > QUOTA + RAISE)) && want=$((QUOTA + RAISE))
	if [[ $before == "$QUOTA" && $after == $((QUOTA + RAISE)) && $(stat dropped_host_quota) -ge $((quota0 + RAISE)) ]] ||
		[[ $before != "$QUOTA" && $after -le $((QUOTA + RAISE)) && $after -gt $before ]]; then
		it_pass reload_quota_applied
	else
		it_fail reload_quota_applied "phC held $before, now $after (want $want); dropped_host_quota $quota0 -> $(stat dropped_host_quota)"
	fi
fi
it_done
