#!/bin/bash
# attack-dialog: third parties that know a call's Call-ID and tags cannot
# end it, move its media, cancel it or make bindings with a stray ACK
# (issue 11, "In-dialog requests"; sipproxy/dialog.h). Topology "edge"
# (scenarios 1-2): phA 203.0.113.10 outside, phB 10.1.0.10 inside; the
# attackers are 203.0.113.11 (a second address on phA's link: another
# host by address, outside) and phC 10.1.0.11 (inside).
#
# No phone is a trusted peer (nor is the inside attacker phC): phB
# registers phoneb@edge.test (port 5060) and service@edge.test (port 5062)
# with its password, and phA's calls go to those AoRs.
#
#   d1 a call phA -> phB (sip:phoneb@edge.test) with RTP both ways (SIPp, 400 packets each way
#      over 8 s) is up; its dialog (Call-ID, both tags, phB's Contact,
#      the INVITE's branch) is read from phA's message log
#   d2 the outside attacker sends BYE (as the caller, and as the callee),
#      a re-INVITE whose SDP points media at itself, UPDATE, INFO, and a
#      CANCEL of the INVITE; the inside attacker BYE and a re-INVITE whose
#      SDP names 10.1.0.11:7777: every one gets 481, nothing reaches phB
#      (its SIPp sees no unexpected message), natd still holds the call's
#      bindings and no binding for the attackers' SDP addresses
#   d3 stray ACKs with SDP (inside -> an outside address, a made-up dialog;
#      and with the real call's tags from the outside attacker) are dropped:
#      counted as stray_acks, no binding for 10.1.0.11:7778
#   d4 60 BYEs for made-up dialogs from the outside attacker in a burst: at
#      most sip.dialog_mismatch_rate (20) + a few get 481, the rest are
#      dropped (rate_limited counted)
#   d5 the call's media flowed on through all that (both probes received
#      nearly every packet, no long gap), the real BYE from phA ends it:
#      both SIPp report success, natd's bindings for the call are released,
#      the proxy holds no dialog
#   d6 CANCEL: phA's INVITE to phB (sip:service@edge.test, uas-ring-cancel.xml) rings; the outside
#      and the inside attacker send its CANCEL (same branch, Via sent-by,
#      Call-ID, From tag, CSeq: the INVITE's transaction): 481 each and phB gets no CANCEL; then phA's own CANCEL
#      gets 200 and the INVITE 487, and phB's SIPp got that CANCEL
# Logs: $IT_OUT (d*-*.out: sipcraft results; proxy.log; SIPp files).
: "${SIP_CALL_MS:=9000}"
: "${SIP_RTP_COUNT:=400}"
: "${SIP_RTP_MIN:=360}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

it_require_root_net
it_require_natd
sip_require

PHA=203.0.113.10
EVIL_OUT=203.0.113.11
PHB=10.1.0.10
EVIL_IN=10.1.0.11
PROXY_OUT=203.0.113.1:5060
PROXY_IN=10.1.0.1:5060
CRAFT=$NT_ROOT/tests/tools/sipcraft.py
STATUS=$IT_OUT/proxy.status

sip_topo_up edge
ip -n "${IT_PREFIX}phA" addr add $EVIL_OUT/24 dev eth0 2>>"$IT_OUT/topo.log"
sip_watch_start natd
SIP_CONF_EXTRA="status_socket = \"$STATUS\";" sip_conf_edge "$IT_OUT/proxy.conf"
sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || exit 1

# craft NS OUTNAME ARGS...: sipcraft.py in namespace NS (bounded), result
# in $IT_OUT/OUTNAME.out and on stdout.
craft() {
	local ns=$1 out=$IT_OUT/$2.out
	shift 2
	timeout 20 ip netns exec "$IT_PREFIX$ns" "$NT_PY" "$CRAFT" "$@" >"$out" 2>&1
	cat "$out"
}

# status_kv KEY: KEY=N from the proxy's status view (first line with it).
status_kv() {
	sip_proxy_status "$IT_OUT/proxy.conf" "$IT_OUT/status.out" || return 1
	grep -o "\(^\| \)$1=[0-9]*" "$IT_OUT/status.out" | head -n 1 | sed 's/^ //' | cut -d= -f2
}

# expect_481 CHECK NS OUTNAME ARGS...: the crafted request got 481.
expect_481() {
	local check=$1 ns=$2 name=$3 r
	shift 3
	r=$(craft "$ns" "$name" send "$@" --wait 3)
	if grep -q '^rx status=481' <<<"$r" && grep -q 'final=481' <<<"$r"; then
		it_pass "$check"
	else
		it_fail "$check" "want 481, got: $(tr '\n' ' ' <<<"$r" | cut -c1-200)"
	fi
}

# has_ep_binding EP: natd holds a binding whose inside endpoint is EP (IP:PORT).
has_ep_binding() {
	timeout 10 "$NT_NATCTL" -s "$(it_ctl_socket natd)" --json list >"$IT_OUT/list-ep.out" 2>&1 || return 2
	"$NT_PY" - "$IT_OUT/list-ep.out" "$1" <<'PY'
import json, sys
want = sys.argv[2]
for line in open(sys.argv[1], errors="replace"):
    if want in line:
        sys.exit(0)
sys.exit(1)
PY
}

# ------------------------------------------------------------ d1: a call

sip_uac d-reg phB $PHB register-auth.xml --service phoneb --auth phoneb --key domain edge.test --proxy $PROXY_IN
sip_wait d-reg 20
sip_assert_call d1_phB_registered d-reg
if ! sip_uas d-phB phB $PHB uas.xml --service phoneb --rtp-port 20000; then
	it_fail d1_uas_ready "SIPp UAS on phB did not start: $(tail -n 3 "$IT_OUT/d-phB.stdout" | tr '\n' ' ')"
	exit 1
fi
sip_uac d-phA phA $PHA uac.xml --rtp-port 30000 --proxy $PROXY_OUT --service phoneb --ruri edge.test

dialog_known() {
	craft phA d1-dialog dialog "$IT_OUT/d-phA.msg.log" >/dev/null
	[[ -n $(kv "$IT_OUT/d1-dialog.out" ttag) ]]
}
if ! nt_poll 10 dialog_known; then
	it_fail d1_call_up "no 200 OK in phA's log within 10 s"
	exit 1
fi
CID=$(kv "$IT_OUT/d1-dialog.out" callid)
FTAG=$(kv "$IT_OUT/d1-dialog.out" ftag)
TTAG=$(kv "$IT_OUT/d1-dialog.out" ttag)
CONTACT=$(kv "$IT_OUT/d1-dialog.out" contact)
BRANCH=$(kv "$IT_OUT/d1-dialog.out" branch)
it_info "dialog: Call-ID $CID, caller tag $FTAG, callee tag $TTAG, callee contact $CONTACT"
if nt_poll 3 sip_has_binding natd "$CID"; then
	it_pass d1_call_up_with_bindings
else
	it_fail d1_call_up_with_bindings "no natd binding labelled call:$CID"
fi
BIND0=$(sip_binding_ids natd "$CID")

# ------------------------------------------------------------ d2: in-dialog attacks

O=(--bind $EVIL_OUT:5099 --to $PROXY_OUT --callid "$CID" --route "sip:${PROXY_OUT};lr")
I=(--bind $EVIL_IN:5099 --to $PROXY_IN --callid "$CID" --route "sip:${PROXY_IN};lr")
expect_481 d2_outside_bye_as_caller phA d2-o-bye "${O[@]}" --method BYE --ruri "$CONTACT" --ftag "$FTAG" --ttag "$TTAG"
expect_481 d2_outside_bye_as_callee phA d2-o-bye2 "${O[@]}" --method BYE --ruri "sip:caller@$PHA:5060" --ftag "$TTAG" --ttag "$FTAG"
expect_481 d2_outside_reinvite_moving_media phA d2-o-reinv "${O[@]}" --method INVITE --ruri "$CONTACT" --ftag "$FTAG" --ttag "$TTAG" --sdp $EVIL_OUT:7777
expect_481 d2_outside_update phA d2-o-update "${O[@]}" --method UPDATE --ruri "$CONTACT" --ftag "$FTAG" --ttag "$TTAG" --sdp $EVIL_OUT:7779
expect_481 d2_outside_info phA d2-o-info "${O[@]}" --method INFO --ruri "$CONTACT" --ftag "$FTAG" --ttag "$TTAG"
r=$(craft phA d2-o-cancel send --bind $EVIL_OUT:5099 --to $PROXY_OUT --callid "$CID" --method CANCEL \
	--ruri "sip:phoneb@edge.test" --ftag "$FTAG" --branch "$BRANCH" --cseq 1 --via $PHA:5060 --wait 3)
if grep -q 'final=481' <<<"$r"; then it_pass d2_outside_cancel_of_the_call; else it_fail d2_outside_cancel_of_the_call "want 481: $(tr '\n' ' ' <<<"$r")"; fi
expect_481 d2_inside_bye phC d2-i-bye "${I[@]}" --method BYE --ruri "sip:caller@$PHA:5060" --ftag "$TTAG" --ttag "$FTAG"
expect_481 d2_inside_reinvite_moving_media phC d2-i-reinv "${I[@]}" --method INVITE --ruri "sip:caller@$PHA:5060" --ftag "$TTAG" --ttag "$FTAG" --sdp $EVIL_IN:7777

if [[ $(sip_binding_ids natd "$CID") == "$BIND0" && -n $BIND0 ]]; then
	it_pass d2_call_bindings_unchanged
else
	it_fail d2_call_bindings_unchanged "natd bindings of call:$CID were '$BIND0', now '$(sip_binding_ids natd "$CID")'"
fi
if has_ep_binding "$EVIL_IN:7777"; then
	it_fail d2_no_binding_for_attacker_sdp "natd holds a binding for $EVIL_IN:7777"
else
	it_pass d2_no_binding_for_attacker_sdp
fi

# ------------------------------------------------------------ d3: stray ACKs

acks0=$(status_kv stray_acks)
craft phC d3-ack-made-up send --bind $EVIL_IN:5098 --to $PROXY_IN --callid "stray-$RANDOM@x" --method ACK \
	--ruri "sip:x@$EVIL_OUT:5099" --ftag evil1 --ttag evil2 --sdp $EVIL_IN:7778 --wait 0 >/dev/null
craft phA d3-ack-real-tags send --bind $EVIL_OUT:5099 --to $PROXY_OUT --callid "$CID" --method ACK \
	--ruri "$CONTACT" --ftag "$FTAG" --ttag "$TTAG" --sdp $EVIL_OUT:7780 --wait 0 >/dev/null
acks_seen() { local v; v=$(status_kv stray_acks) && ((v >= ${acks0:-0} + 2)); }
if nt_poll 3 acks_seen; then
	it_pass d3_stray_acks_dropped
else
	it_fail d3_stray_acks_dropped "stray_acks ${acks0:-?} -> $(status_kv stray_acks) (want +2)"
fi
if has_ep_binding "$EVIL_IN:7778"; then
	it_fail d3_stray_ack_made_no_binding "natd holds a binding for $EVIL_IN:7778"
else
	it_pass d3_stray_ack_made_no_binding
fi

# ------------------------------------------------------------ d4: rate limit

rl0=$(status_kv rate_limited)
r=$(craft phA d4-flood send --bind $EVIL_OUT:5097 --to $PROXY_OUT --callid "flood-$RANDOM@x" --method BYE \
	--ruri "$CONTACT" --ftag f1 --ttag f2 --count 60 --wait 1.5)
n=$(grep -c '^rx status=481' <<<"$r")
rl1=$(status_kv rate_limited)
if ((n >= 1 && n <= 30 && ${rl1:-0} - ${rl0:-0} >= 30)); then
	it_pass d4_mismatch_rate_limited
	it_info "d4: 60 BYEs for unknown dialogs: $n answered 481, rate_limited ${rl0:-?} -> ${rl1:-?}"
else
	it_fail d4_mismatch_rate_limited "60 BYEs: $n answered 481 (want 1..30), rate_limited ${rl0:-?} -> ${rl1:-?} (want +30)"
fi

# ------------------------------------------------------------ d5: the call lived on

sip_wait d-phA 40
sip_wait d-phB 15
sip_assert_call d5_call_completed_by_real_bye d-phA d-phB
sip_assert_media d5_phA_media_flowed d-phA 200/INVITE
sip_assert_media d5_phB_media_flowed d-phB INVITE
for n in d-phA d-phB; do
	gap=$(kv "$IT_OUT/$n.rtp" max_gap_ms)
	if [[ $gap =~ ^[0-9]+$ ]] && ((gap < 1000)); then
		it_pass "d5_${n#d-}_no_media_gap"
	else
		it_fail "d5_${n#d-}_no_media_gap" "longest silence ${gap:-?} ms"
	fi
done
sip_assert_no_binding d5_bye_released_bindings "$CID" natd
dialogs_gone() { [[ $(status_kv confirmed) == 0 ]]; }
if nt_poll 3 dialogs_gone; then
	it_pass d5_no_dialog_left
else
	it_fail d5_no_dialog_left "$(grep '^dialogs' "$IT_OUT/status.out")"
fi
if grep -q 'natedge-sipcraft' "$IT_OUT/d-phB.msg.log" "$IT_OUT/d-phA.msg.log" 2>/dev/null; then
	it_fail d5_nothing_forwarded_to_phones "a crafted request reached a phone: $(grep -l natedge-sipcraft "$IT_OUT"/d-ph?.msg.log)"
else
	it_pass d5_nothing_forwarded_to_phones
fi

# ------------------------------------------------------------ d6: CANCEL

sip_uac r-reg phB $PHB register-auth.xml --port 5062 --service service --auth service --key domain edge.test --proxy $PROXY_IN
sip_wait r-reg 20
sip_assert_call d6_phB_registered r-reg
if sip_uas r-phB phB $PHB uas-ring-cancel.xml --port 5062 --timeout 20; then
	rm -f "$IT_OUT/d6.go" "$IT_OUT/d6.state"
	timeout 25 ip netns exec "${IT_PREFIX}phA" "$NT_PY" "$CRAFT" ring --bind $PHA:5098 --to $PROXY_OUT \
		--ruri "sip:service@edge.test" --go "$IT_OUT/d6.go" --state "$IT_OUT/d6.state" --wait 15 \
		</dev/null >"$IT_OUT/d6-ring.out" 2>&1 &
	ring_pid=$!
	IT_PIDS+=("$ring_pid")
	if nt_poll 10 test -s "$IT_OUT/d6.state"; then
		rcid=$(kv "$IT_OUT/d6.state" callid); rftag=$(kv "$IT_OUT/d6.state" ftag); rbr=$(kv "$IT_OUT/d6.state" branch)
		for who in phA:$EVIL_OUT:$PROXY_OUT:outside phC:$EVIL_IN:$PROXY_IN:inside; do
			IFS=: read -r ns ip px pp side <<<"$who"
			r=$(craft "$ns" "d6-$side-cancel" send --bind "$ip:5096" --to "$px:$pp" --callid "$rcid" --method CANCEL \
				--ruri "sip:service@edge.test" --ftag "$rftag" --branch "$rbr" --cseq 1 --via $PHA:5098 --wait 3)
			if grep -q 'final=481' <<<"$r"; then
				it_pass "d6_${side}_cancel_refused"
			else
				it_fail "d6_${side}_cancel_refused" "want 481: $(tr '\n' ' ' <<<"$r")"
			fi
		done
		if grep -q '^CANCEL ' "$IT_OUT/r-phB.msg.log" 2>/dev/null; then
			it_fail d6_callee_got_no_forged_cancel "phB received a CANCEL before phA sent one"
		else
			it_pass d6_callee_got_no_forged_cancel
		fi
		touch "$IT_OUT/d6.go"
	else
		it_fail d6_ringing "phA's INVITE did not ring: $(tr '\n' ' ' <"$IT_OUT/d6-ring.out")"
	fi
	nt_poll 15 nt_pid_gone "$ring_pid"
	wait "$ring_pid" 2>/dev/null
	if [[ $(kv "$IT_OUT/d6-ring.out" cancel_status) == 200 && $(kv "$IT_OUT/d6-ring.out" invite_final) == 487 ]]; then
		it_pass d6_real_cancel_works
	else
		it_fail d6_real_cancel_works "$(tr '\n' ' ' <"$IT_OUT/d6-ring.out")"
	fi
	sip_wait r-phB 20
	sip_assert_call d6_callee_saw_the_real_cancel r-phB
else
	it_fail d6_uas_ready "SIPp UAS (ring, cancel) on phB did not start"
fi

sip_assert_proxy_alive d_proxy_alive proxy
sip_ladder d phA=d-phA phB=d-phB
sip_proxy_excerpt proxy
it_done
