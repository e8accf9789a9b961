#!/bin/bash
# ha-failover: the active edge of a keepalived pair dies mid-call; the
# standby takes the addresses and the call keeps its media (issue 14).
#
#   phA 203.0.113.10 -- outside LAN -- [edgeA | edgeB] -- inside LAN -- phB 10.1.0.10
#                        VIPs 203.0.113.1, 10.1.0.1 on the VRRP MASTER
#                        HA LAN: VRRP adverts, Redis 10.9.0.10 (tests/net/topo-ha.sh)
#
# Both edges run natd, sipproxy (listening on the virtual addresses) and
# keepalived with the shipped conf/ha/keepalived-{a,b}.conf (BACKUP +
# nopreempt, advert_int 0.1) and notify script. A comes up first and is
# MASTER. Then, while two flows run:
#   - a stateless UDP flow both ways through a static forward present on
#     both natds (phA <-> 198.51.100.1:7000 <-> phB): it measures the
#     address move alone;
#   - a call phB -> phA through the proxy at 10.1.0.1 with RTP both ways
#     (SIPp + rtpprobe every 20 ms), natd binding M for phB's media;
# node A dies: kill -9 of its natd, sipproxy and keepalived, then its links
# go down. Asserted: B owns both virtual addresses (takeover time
# reported); the stateless flow resumes both ways from the same source with
# a gap under 1 s; and, with natd's and sipproxy's HA (state in Redis):
# natd B was promoted with a newer epoch, the call's media resumes on the
# same M (address and port) each way with the longest gap under 1 s, the
# BYE crosses proxy B and releases the binding in natd B, no binding is
# left in natd B or in Redis.
#
# A call is started in the failover window (phC -> phA, INVITE sent right
# after the kill): it either succeeds with media both ways or fails cleanly,
# and is never half-bound (no binding or record of it left). Then A comes
# back (a rebooted box: no virtual address, links up, daemons started): it
# enters BACKUP, does not take the addresses from B (nopreempt), a new call
# goes through B; and a failback on request (B's keepalived stopped) moves
# everything to A with a newer epoch.
#
# Without the daemons' HA side (their "ha" sections refused by -n) the
# checks that need replicated state SKIP with that reason.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"
. "$(dirname "$0")/halib.sh"

ha_require

ha_pair_up
ha_gap_max
EPOCH_A=$(ha_natd_epoch A)
sip_watch_start natdB

# ---------------------------------------------------------------- traffic
# Long streams: on a loaded machine the steps before the kill take seconds,
# and media must still run well past it.
export SIP_RTP_COUNT=1100 SIP_RTP_TIMEOUT=30 # 22 s of media each way, 20 ms apart
# the callee of the call set up in the failover window (phC -> phA:5062)
if ! SIP_RTP_COUNT=100 SIP_RTP_TIMEOUT=10 sip_uas w1-phA phA 203.0.113.10 uas.xml --port 5062 \
	--rtp-port 30100 --duration 2000 --timeout 90; then
	it_fail w1_uas_ready "SIPp UAS on phA:5062 did not start"
fi
# the stateless flow (the forward 198.51.100.1:7000 -> 10.1.0.10:7000 on both)
ip netns exec "$(it_ns phB)" "$NT_PY" "$SIP_PROBE" --bind 10.1.0.10:7000 --to 203.0.113.10:7002 \
	--count 1100 --timeout 30 --label fwd-phB --out "$IT_OUT/fwd-phB.rtp" &
IT_PIDS+=($!)
ip netns exec "$(it_ns phA)" "$NT_PY" "$SIP_PROBE" --bind 203.0.113.10:7002 --to 198.51.100.1:7000 \
	--count 1100 --timeout 30 --label fwd-phA --out "$IT_OUT/fwd-phA.rtp" &
IT_PIDS+=($!)

ha_call_up c1 24000
# let the media run a little more, then the box dies
nt_poll 0.5 false

# ---------------------------------------------------------------- node A dies
ha_kill_node A
SIP_RTP_COUNT=100 SIP_RTP_TIMEOUT=10 sip_uac w1-phC phC 10.1.0.11 uac.xml --auth phonec --rtp-port 20100 --duration 2000 \
	--proxy "$HA_VIP_IN:5060" --ruri 203.0.113.10:5062
if nt_poll 5 ha_has_vips B; then
	TAKE_MS=$(( ($(date +%s%N) - HA_KILL_NS) / 1000000 ))
	it_pass "b_holds_addresses_after_kill (within ${TAKE_MS} ms, VRRP $(ha_vrrp_state B))"
else
	it_fail b_holds_addresses_after_kill "VRRP state '$(ha_vrrp_state B)' 5 s after the kill"
fi
ha_reap_node A
if ((HA_NATD)); then
	if nt_poll 5 ha_natd_is B active; then
		E=$(ha_natd_epoch B)
		if [[ -n $E && -n $EPOCH_A ]] && ((E > EPOCH_A)); then it_pass "natd_b_promoted_newer_epoch ($EPOCH_A -> $E)"
		else it_fail natd_b_promoted_newer_epoch "epoch A '$EPOCH_A', B '$E'"; fi
	else
		it_fail natd_b_promoted_newer_epoch "natd B's role '$(ha_natd_role B)'; notify log: $(tail -n 2 "$IT_OUT/notify-B.log" 2>/dev/null | tr '\n' ' ')"
	fi
fi
it_check notify_b_master "the notify script did not promote natd on B" \
	nt_poll 5 grep -q 'natctl ha promote: exit' "$IT_OUT/notify-B.log"
it_info "natd B promoted by the notify hook $(ha_promote_latency B) ms after the kill"

# ---------------------------------------------------------------- outcomes
sip_wait c1-phB 100
sip_wait c1-phA 20
sip_wait_probe c1-phB 10
sip_wait_probe c1-phA 10
nt_poll 45 grep -q '^done=' "$IT_OUT/fwd-phA.rtp"
nt_poll 45 grep -q '^done=' "$IT_OUT/fwd-phB.rtp"

ha_gap_check fwd_media_resumed_phA fwd-phA
ha_gap_check fwd_media_resumed_phB fwd-phB

CALLID=$(sip_callid c1-phB)
if ((HA_NATD)); then
	ha_gap_check c1_media_resumed_phA c1-phA
	ha_gap_check c1_media_resumed_phB c1-phB
	# same M each way: phA heard phB only from the SDP's address (the M natd A granted)
	sip_assert_media c1_phA_media_only_from_M c1-phA INVITE
else
	it_skip c1_media_resumed "natd has no HA (its 'ha' section is refused): a standby natd has no copy of the call's binding; measured: $(ha_gap "$IT_OUT/c1-phA.rtp" "$HA_KILL_NS") at phA"
fi
if ((HA_NATD && HA_SIP)); then
	sip_assert_call c1_call_completed_bye_through_b c1-phB c1-phA
	it_check c1_bye_crossed_proxy_b "no BYE of the call in proxy B's log" \
		bash -c "grep -F '(call $CALLID)' '$IT_OUT/proxyB.log' | grep -q 'BYE'"
	sip_assert_no_binding c1_no_binding_left_on_b "$CALLID" natdB
	left=$(redis_records_of "$CALLID")
	if [[ -z $left ]]; then it_pass c1_no_binding_left_in_redis
	else it_fail c1_no_binding_left_in_redis "records: $(head -c 300 <<<"$left")"; fi
else
	it_skip c1_bye_through_b "natd/sipproxy without HA (natd ${HA_NATD}, sipproxy ${HA_SIP}): proxy B knows no dialog of A; SIPp: $(sip_counters c1-phB)"
fi

# ---------------------------------------------------------------- the call of the failover window
sip_wait w1-phC 60
sip_wait w1-phA 20
W1=$(sip_callid w1-phC)
# a call that failed logged no Call-ID: take it from the INVITE SIPp sent
[[ -n $W1 ]] || W1=$(grep -m1 -i '^Call-ID:' "$IT_OUT/w1-phC.msg.log" 2>/dev/null | awk '{print $2}' | tr -d '\r')
W1_OUT="$(sip_counters w1-phC), exit $(cat "$IT_OUT/w1-phC.rc")"
if grep -q 'successful=1' <<<"$W1_OUT"; then
	sip_wait_probe w1-phC 10
	sip_wait_probe w1-phA 10
	SIP_RTP_COUNT=100 sip_assert_media w1_succeeded_with_media_phA w1-phA INVITE
	SIP_RTP_COUNT=100 sip_assert_media w1_succeeded_with_media_phC w1-phC
else
	it_info "w1 (INVITE sent in the failover window) failed: $W1_OUT"
	if grep -q 'failed=1' <<<"$W1_OUT"; then it_pass "w1_failed_cleanly ($W1_OUT)"
	else it_fail w1_failed_cleanly "SIPp did not end with a success or a counted failure: $W1_OUT"; fi
fi
# never half-bound: nothing of that call left in natd B (or in Redis)
if [[ -n $W1 ]]; then
	sip_assert_no_binding w1_no_binding_left "$W1" natdB
	if ((HA_NATD)); then
		left=$(redis_records_of "$W1")
		if [[ -z $left ]]; then it_pass w1_nothing_in_redis
		else it_fail w1_nothing_in_redis "records: $(head -c 300 <<<"$left")"; fi
	fi
else
	it_info "w1: no Call-ID logged (the INVITE never left SIPp?)"
fi

# ---------------------------------------------------------------- failback: A returns
if ha_reboot_node A; then
	it_pass a_rebooted
	if nt_poll 10 test "$(ha_vrrp_state A)" = BACKUP; then it_pass a_returns_as_backup
	else it_fail a_returns_as_backup "keepalived A's state '$(ha_vrrp_state A)'"; fi
	# "does not take over uncalled": for 3 s, B keeps the addresses
	stays_b() { ha_has_vips B && ha_no_vip A && { ((HA_NATD == 0)) || ha_natd_is B active; }; }
	took=0
	for _ in $(seq 1 15); do stays_b || { took=1; break; }; nt_poll 0.2 false; done
	if ((took == 0)); then it_pass a_does_not_take_over
	else it_fail a_does_not_take_over "A: VRRP $(ha_vrrp_state A), B: VRRP $(ha_vrrp_state B), natd A '$(ha_natd_role A)' B '$(ha_natd_role B)'"; fi
	((HA_NATD)) && it_check natd_a_standby_after_return "natd A's role '$(ha_natd_role A)'" nt_poll 5 ha_natd_is A standby
	# a call through B with A back beside it
	export SIP_RTP_COUNT=100
	# shellcheck disable=SC2034 # read by sip_basic_call (siplib.sh)
	SIP_UAC_OPTS=(--auth phoneb)
	if sip_basic_call f1-phB phB 10.1.0.10 20200 f1-phA phA 203.0.113.10 30200 "$HA_VIP_IN:5060" 203.0.113.10:5060; then :; fi
	sip_assert_call f1_call_through_b_after_return f1-phB f1-phA
	sip_assert_media f1_media_phA f1-phA INVITE
	# failback on request: B's keepalived stopped (SIGTERM: it gives the
	# addresses up with a priority-0 advert and runs notify_stop)
	EPOCH_B=$(ha_natd_epoch B)
	kill -TERM "$HA_KA_PID_B" 2>/dev/null
	if nt_poll 10 ha_master_ready A; then
		it_pass "failback_on_request_a_master"
		if ((HA_NATD)); then
			E=$(ha_natd_epoch A)
			if [[ -n $E && -n $EPOCH_B ]] && ((E > EPOCH_B)); then it_pass "failback_newer_epoch ($EPOCH_B -> $E)"
			else it_fail failback_newer_epoch "epoch B '$EPOCH_B', A '$E'"; fi
			it_check failback_b_standby "natd B's role '$(ha_natd_role B)'" nt_poll 5 ha_natd_is B standby
		fi
	else
		it_fail failback_on_request_a_master "A: VRRP $(ha_vrrp_state A), addresses $(ip -n "$(it_ns edgeA)" -4 -o addr | awk '{print $4}' | tr '\n' ' ')"
	fi
else
	it_fail a_rebooted "node A did not come back: $(tail -n 3 "$IT_OUT/topo.log" | tr '\n' ' ')"
fi
sip_assert_proxy_alive proxy_b_alive proxyB
it_done
