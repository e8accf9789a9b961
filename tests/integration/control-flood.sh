#!/bin/bash
# control-flood: natd's control channel keeps answering while its TUN is
# flooded. natd serves its authorised control connections before the TUN
# (a higher loop priority), sends a reply at once, and reads the TUN in
# slices of at most a budget (natd/daemon.c), so a client's requests are
# not queued behind the flood; the flood keeps flowing beside them.
#
# On the "edge" topology, phC blasts 64-byte datagrams at phA as fast as
# it can for FLOOD_SECS s (udpblast, bounded in time and count) through
# natd's TUN path; while it runs, a control client (ctlbench seq, as root)
# makes PAIRS BIND+RELEASE pairs at RATE pairs/s, then natctl lists and
# releases as an operator would. No timing is asserted (the machine is
# shared), so this is a check that control works beside a flood, not a
# test of the priority and the hint themselves: a natd built without them
# passes it too (their effect is latency, 6.5-8 ms -> 55-82 us p99), and
# tests/bench/datapath (h) is what measures that.
#   flood_ran            the flood was still under way when the control
#                        run ended, and natd translated it
#   control_answered     every BIND and RELEASE of the run was answered OK
#   natctl_during_flood  natctl bind and release (the CLI) work beside it
#   flood_delivered      phA received the flood (natd kept forwarding)
#   no_leftover          bindings_managed is 0 again afterwards
#   natd_alive
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd

FLOOD_SECS=8
FLOOD_MAX=20000000 # a backstop: the duration ends it first
PAIRS=1000
RATE=400
PHC=10.1.0.11
PHA=203.0.113.10
PORT=9000
UDPBLAST=$NT_ROOT/tests/bench/udpblast
CTLBENCH=$NT_ROOT/tests/bench/ctlbench
for t in "$UDPBLAST" "$CTLBENCH"; do
	[[ -x $t ]] || { it_fail tools_built "no $t (built by make)"; exit 1; }
done

IT_CONF=$NT_ROOT/conf/natd-edge-test.conf
it_topo_up edge
CTL=$(it_ctl_socket)
nt_poll 5 test -S "$CTL" || { it_fail control_socket "no socket at $CTL"; exit 1; }
it_stats
TX0=$(stat translated_out)

# the sink in phA, then the flood from phC (both started here, stopped by PID)
ip netns exec "$(it_ns phA)" "$UDPBLAST" recv --bind "$PHA:$PORT" --duration $((FLOOD_SECS + 15)) \
	--idle 2 --ready "$IT_OUT/sink.ready" >"$IT_OUT/sink.out" 2>&1 &
SINK_PID=$!
IT_PIDS+=("$SINK_PID")
nt_poll 5 test -s "$IT_OUT/sink.ready" || { it_fail sink_ready "udpblast recv did not bind"; exit 1; }
ip netns exec "$(it_ns phC)" "$UDPBLAST" send --dst "$PHA:$PORT" --src "$PHC" --size 64 \
	--duration "$FLOOD_SECS" --count "$FLOOD_MAX" >"$IT_OUT/flood.out" 2>&1 &
FLOOD_PID=$!
IT_PIDS+=("$FLOOD_PID")
# the flood is under way once natd has translated some of it
flowing() { it_stats >/dev/null 2>&1 && (($(stat translated_out) > TX0 + 1000)); }
nt_poll 5 flowing || it_log "natd has not translated 1000 datagrams of the flood yet"

timeout 30 "$CTLBENCH" seq --socket "$CTL" --count "$PAIRS" --rate "$RATE" \
	--max-time $((FLOOD_SECS - 2)) >"$IT_OUT/ctl.out" 2>&1
CTL_RC=$?
# an operator's commands beside the flood
it_natctl bind -- --json bind --in-realm inside --ext-realm outside --endpoint 10.1.0.10:5004 \
	--lifetime 60
BIND_RC=$?
BID=$(grep -o '"id": *[0-9]*' "$IT_OUT/bind.out" | head -n 1 | grep -o '[0-9]*$')
REL_RC=1
[[ -n $BID ]] && { it_natctl release -- release "$BID"; REL_RC=$?; }
if nt_pid_alive "$FLOOD_PID"; then FLOOD_ALIVE=1; else FLOOD_ALIVE=0; fi
it_stats
TX1=$(stat translated_out)
nt_poll $((FLOOD_SECS + 10)) nt_pid_gone "$FLOOD_PID" || nt_stop_pid "$FLOOD_PID" udpblast 3
wait "$FLOOD_PID" 2>/dev/null
nt_poll 20 nt_pid_gone "$SINK_PID" || nt_stop_pid "$SINK_PID" udpblast 3
wait "$SINK_PID" 2>/dev/null
it_info "flood: $(tr '\n' ' ' <"$IT_OUT/flood.out")"
it_info "sink: $(tr '\n' ' ' <"$IT_OUT/sink.out")"
it_info "control: $(tr '\n' ' ' <"$IT_OUT/ctl.out")"

if ((FLOOD_ALIVE)) && [[ -n $TX1 && -n $TX0 ]] && ((TX1 - TX0 > 10000)); then
	it_pass flood_ran
else
	it_fail flood_ran "flood still running when the control run ended: $FLOOD_ALIVE (0: the requests waited for the flood to end); natd translated $((${TX1:-0} - ${TX0:-0})) datagrams meanwhile"
fi
ops=$(kv "$IT_OUT/ctl.out" ops)
errs=$(kv "$IT_OUT/ctl.out" errors)
if ((CTL_RC == 0)) && [[ $ops == $((2 * PAIRS)) && $errs == 0 ]]; then
	it_pass control_answered
else
	it_fail control_answered "ctlbench exit $CTL_RC, ops=${ops:-?} of $((2 * PAIRS)), errors=${errs:-?}: $(tr '\n' ' ' <"$IT_OUT/ctl.out")"
fi
if ((BIND_RC == 0 && REL_RC == 0)); then
	it_pass natctl_during_flood
else
	it_fail natctl_during_flood "natctl bind exit $BIND_RC ($(head -c 200 "$IT_OUT/bind.out")), release exit $REL_RC"
fi
recv=$(kv "$IT_OUT/sink.out" received)
if [[ -n $recv ]] && ((recv > 10000)); then
	it_pass flood_delivered
else
	it_fail flood_delivered "phA received '${recv:-?}' datagrams of the flood"
fi
it_stats
if [[ $(stat bindings_managed) == 0 ]]; then
	it_pass no_leftover
else
	it_fail no_leftover "bindings_managed=$(stat bindings_managed) after the runs: $IT_STATS"
fi
it_check natd_alive it_natd_alive
it_done
