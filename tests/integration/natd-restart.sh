#!/bin/bash
# natd-restart: natd keeps its bindings across a restart (state.file).
#
#   phB 10.1.0.10 (SIPp UAC) -- [edge: natd + sipproxy] -- phA 203.0.113.10 (SIPp UAS)
#
# 1. kill -9 mid-call. A call from phB (inside) to phA is set up through
#    sipproxy, media flowing both ways (RTP every 20 ms). natd is killed
#    with SIGKILL and started again at once on the same state file. The
#    media gap each phone sees stays under one second; natd comes back
#    with the same epoch and the call's binding (same id, same M), so
#    sipproxy does not ask again; the BYE then releases the binding
#    through the new natd.
# 2. graceful restart (SIGTERM) with a dynamic binding in use: phB's UDP
#    flow to phA keeps its outside address M (phA sees one source) and its
#    gap stays under one second.
# 3. a damaged state file: natd still starts, takes a new epoch (something
#    may be missing), and sipproxy notices and asks again for its calls.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

it_require_root_net
it_require_natd
sip_require

STATE_DIR=$(nt_state_dir "${IT_PREFIX}edge")/natd-state # natd makes it (it runs as nobody)
STATE=$STATE_DIR/state
CONF=$IT_OUT/natd.conf
{
	cat "$NT_ROOT/conf/natd-edge-test.conf"
	printf 'state: { file = "%s"; };\n' "$STATE"
} >"$CONF"

sip_topo_up edge "$CONF"
rm -rf "$STATE_DIR.old"
SOCK=$(it_ctl_socket natd)

epoch() { timeout 5 "$NT_NATCTL" -s "$SOCK" --json stats 2>/dev/null | grep -o '"epoch":"[0-9]*"' | head -n 1 | tr -dc '0-9'; }

# restart_natd SIGNAL TAG: stop natd with SIGNAL, wait for it to be gone,
# start it again on the same config; RESTART_MS is the time from the
# signal to the new natd's readiness (pidfile). The old log is kept.
restart_natd() {
	local sig=$1 tag=$2 pid t0 t1
	pid=$IT_NATD_PID
	cp "$IT_OUT/natd.log" "$IT_OUT/natd.before-$tag.log"
	t0=$(date +%s%N)
	kill "-$sig" "$pid"
	nt_poll 10 nt_pid_gone "$pid" || { it_log "natd $pid did not stop on $sig"; return 1; }
	wait "$pid" 2>/dev/null
	nt_natd_start "$IT_STATE" natd "${IT_PREFIX}edge" "$CONF" 2>>"$IT_OUT/topo.log" || return 1
	t1=$(date +%s%N)
	RESTART_MS=$(( (t1 - t0) / 1000000 ))
	it_use_natd natd
	it_log "natd restarted after $sig in ${RESTART_MS} ms (pid $IT_NATD_PID)"
}

# media_flowing: the call's binding has carried packets both ways.
media_flowing() {
	timeout 5 "$NT_NATCTL" -s "$SOCK" --json list 2>/dev/null |
		grep '"label":"call:' | grep -q '"pkts_in":[1-9][0-9]\+.*"pkts_out":[1-9][0-9]\+\|"pkts_out":[1-9][0-9]\+.*"pkts_in":[1-9][0-9]\+'
}

# gap_ok CHECK PROBE [MIN_RX]: the probe received most of what was sent,
# with no silence of a second or more. (The bound is the issue's: a killed
# natd restarted at once leaves about 100 ms. Under valgrind natd needs
# over a second just to start, so the bound is that start plus a second.)
GAP_MAX=1000
[[ -n ${NT_NATD_WRAPPER:-} ]] && GAP_MAX=4000
gap_ok() {
	local check=$1 f=$IT_OUT/$2.rtp gap rx
	gap=$(kv "$f" max_gap_ms)
	rx=$(kv "$f" received)
	if [[ -n $gap && -n $rx ]] && ((gap < GAP_MAX && rx >= ${3:-200})); then
		it_pass "$check (longest gap ${gap} ms, ${rx} packets)"
	else
		it_fail "$check" "longest media gap '${gap:-?}' ms, received '${rx:-?}' ($(tr '\n' ' ' <"$f" 2>/dev/null))"
	fi
}

# ---------------------------------------------------------------- 1. kill -9 mid-call
EPOCH0=$(epoch)
it_info "natd epoch $EPOCH0"
# no phone is a trusted peer: phB calls out as phoneb@edge.test and answers
# the proxy's 407
sip_conf_edge "$IT_OUT/proxy.conf"
sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || exit 1

export SIP_RTP_COUNT=350 # 7 s of media, 20 ms apart
if ! sip_uas r1-phA phA 203.0.113.10 uas.xml --rtp-port 30000 --duration 9000; then
	it_fail r1_uas_ready "SIPp UAS on phA did not start"
	exit 1
fi
sip_uac r1-phB phB 10.1.0.10 uac.xml --auth phoneb --rtp-port 20000 --duration 9000 \
	--proxy 10.1.0.1:5060 --ruri 203.0.113.10:5060
if nt_poll 15 media_flowing; then
	LIST_BEFORE=$(timeout 5 "$NT_NATCTL" -s "$SOCK" --json list | grep '"label":"call:')
	ID_BEFORE=$(grep -o '"id":[0-9]*' <<<"$LIST_BEFORE" | head -n 1 | tr -dc '0-9')
	M_BEFORE=$(grep -o '"alloc":"[^"]*"' <<<"$LIST_BEFORE" | head -n 1)
	restart_natd KILL kill || { it_fail r1_natd_restarted "natd did not start again after kill -9"; exit 1; }
	it_pass "r1_natd_restarted_after_kill (ready again in ${RESTART_MS} ms)"
	EPOCH1=$(epoch)
	if [[ -n $EPOCH1 && $EPOCH1 == "$EPOCH0" ]]; then it_pass r1_same_epoch_after_kill
	else it_fail r1_same_epoch_after_kill "epoch $EPOCH0 before, '$EPOCH1' after"; fi
	LIST_AFTER=$(timeout 5 "$NT_NATCTL" -s "$SOCK" --json list | grep '"label":"call:')
	if [[ -n $ID_BEFORE && -n $M_BEFORE ]] && grep -q "\"id\":$ID_BEFORE," <<<"$LIST_AFTER" &&
		grep -qF "$M_BEFORE" <<<"$LIST_AFTER"; then
		it_pass "r1_call_binding_restored_same_id_and_M (id $ID_BEFORE, $M_BEFORE)"
	else
		it_fail r1_call_binding_restored_same_id_and_M "before: $LIST_BEFORE; after: $LIST_AFTER"
	fi
	it_check r1_restore_logged "no 'same epoch' restore line in natd's log" \
		grep -q 'restored, 0 expired meanwhile, 0 lost, 0 bad lines: same epoch' "$IT_OUT/natd.log"
else
	it_fail r1_media_flowing "the call's media did not start through natd within 15 s"
fi
sip_wait r1-phB 40
sip_wait r1-phA 15
sip_wait_probe r1-phB 10
sip_wait_probe r1-phA 10
CALLID=$(sip_callid r1-phB)
sip_assert_call r1_call_completed r1-phB r1-phA
gap_ok r1_media_gap_phA_under_1s r1-phA
sip_assert_media r1_phA_media_only_from_nat_address r1-phA INVITE
gap_ok r1_media_gap_phB_under_1s r1-phB
it_check r1_proxy_did_not_rebind "sipproxy saw a new natd epoch" \
	bash -c "! grep -q 'restarted (epoch' '$IT_OUT/proxy.log'"
sip_assert_no_binding r1_no_binding_after_bye "$CALLID" natd

# ---------------------------------------------------------------- 2. SIGTERM, a dynamic binding
EPOCH0=$(epoch)
rm -f "$IT_OUT"/r2-*.rtp
# phA only listens (its own sends go to a closed port of its own address)
ip netns exec "$(it_ns phA)" "$NT_PY" "$SIP_PROBE" --bind 203.0.113.10:40000 --to 203.0.113.10:9 \
	--count 400 --linger 2 --timeout 15 --label r2-phA --out "$IT_OUT/r2-phA.rtp" &
IT_PIDS+=($!)
ip netns exec "$(it_ns phB)" "$NT_PY" "$SIP_PROBE" --bind 10.1.0.10:40000 --to 203.0.113.10:40000 \
	--count 300 --timeout 15 --label r2-phB --out "$IT_OUT/r2-phB.rtp" &
IT_PIDS+=($!)
dyn_present() { timeout 5 "$NT_NATCTL" -s "$SOCK" --json list 2>/dev/null | grep '"owner":"dynamic"' | grep -q '10.1.0.10:40000'; }
if nt_poll 10 dyn_present; then
	restart_natd TERM term || { it_fail r2_natd_restarted "natd did not start again after SIGTERM"; exit 1; }
	it_pass "r2_natd_restarted_after_sigterm (ready again in ${RESTART_MS} ms)"
	E=$(epoch)
	if [[ -n $E && $E == "$EPOCH0" ]]; then it_pass r2_same_epoch_after_sigterm
	else it_fail r2_same_epoch_after_sigterm "epoch $EPOCH0 before, '$E' after"; fi
	it_check r2_dynamic_binding_restored "no dynamic binding for 10.1.0.10:40000 after the restart" dyn_present
else
	it_fail r2_dynamic_binding "no dynamic binding for 10.1.0.10:40000 within 10 s"
fi
nt_poll 20 grep -q '^done=' "$IT_OUT/r2-phA.rtp"
SOURCES=$(kv "$IT_OUT/r2-phA.rtp" sources)
if [[ -n $SOURCES && $SOURCES != *,* ]] && sip_in_cidr "$SOURCES" 198.51.100.0/28; then
	it_pass "r2_one_outside_source_across_restart ($SOURCES)"
else
	it_fail r2_one_outside_source_across_restart "phA heard the flow from '$SOURCES'"
fi
gap_ok r2_flow_gap_under_1s r2-phA "$([[ -n ${NT_NATD_WRAPPER:-} ]] && echo 200 || echo 250)"

# ---------------------------------------------------------------- 3. a damaged state file
EPOCH0=$(epoch)
sip_uas r3-phA phA 203.0.113.10 uas.xml --rtp-port 30000 --duration 6000 || it_fail r3_uas_ready "SIPp UAS did not start"
export SIP_RTP_COUNT=250
sip_uac r3-phB phB 10.1.0.10 uac.xml --auth phoneb --rtp-port 20000 --duration 6000 \
	--proxy 10.1.0.1:5060 --ruri 203.0.113.10:5060
if nt_poll 15 media_flowing; then
	pid=$IT_NATD_PID
	cp "$IT_OUT/natd.log" "$IT_OUT/natd.before-damage.log"
	kill -KILL "$pid"
	nt_poll 10 nt_pid_gone "$pid"
	wait "$pid" 2>/dev/null
	printf 'G 4000000000 corrupt\n' >>"$STATE"
	nt_natd_start "$IT_STATE" natd "${IT_PREFIX}edge" "$CONF" 2>>"$IT_OUT/topo.log" ||
		{ it_fail r3_natd_started "natd did not start on a damaged state file"; exit 1; }
	it_use_natd natd
	it_pass r3_natd_starts_on_damaged_state
	EPOCH3=$(epoch)
	if [[ -n $EPOCH3 && $EPOCH3 != "$EPOCH0" ]]; then it_pass r3_new_epoch
	else it_fail r3_new_epoch "epoch $EPOCH0 before, '$EPOCH3' after"; fi
	it_check r3_damage_logged "natd did not log the bad line and a new epoch" \
		grep -q '1 bad lines: new epoch' "$IT_OUT/natd.log"
	proxy_rebound() { grep -q 'restarted (epoch' "$IT_OUT/proxy.log"; }
	it_check r3_proxy_noticed_new_epoch "sipproxy did not log natd's new epoch within 10 s" \
		nt_poll 10 proxy_rebound
else
	it_fail r3_media_flowing "the call's media did not start within 15 s"
fi
sip_wait r3-phB 40
sip_wait r3-phA 15
sip_wait_probe r3-phB 10
sip_wait_probe r3-phA 10
CALLID=$(sip_callid r3-phB)
sip_assert_call r3_call_completed r3-phB r3-phA
sip_assert_no_binding r3_no_binding_after_bye "$CALLID" natd

sip_assert_proxy_alive r_proxy_alive proxy
it_check r_natd_alive "natd is not running" it_natd_alive
it_done
