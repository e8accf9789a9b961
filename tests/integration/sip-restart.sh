#!/bin/bash
# sip-restart: sipproxy restarts (SIGTERM and kill -9) with state.file set,
# on the "edge" topology (see sip-scenario1.sh; proxy at 203.0.113.1 |
# 10.1.0.1). The proxy leases natd bindings for 10 s (binding_lifetime =
# 10, refreshed every 5 s), so a binding outlives a restart only if the
# restarted proxy refreshes it.
#
#   a  registration survives kill -9: phB registers phoneb@edge.test, the
#      proxy is killed with SIGKILL and started again on the same state
#      file; phA calls sip:phoneb@edge.test and reaches phB with no new
#      REGISTER; no binding left after the BYE
#   b  a call survives two restarts: phA calls phB (phoneb@edge.test, the
#      registration of a, as in e and d: no phone is a trusted peer); RTP
#      both ways for 20 s; SIGTERM: the proxy saves the call and leaves its binding in natd; the
#      next proxy restores it and refreshes it; kill -9: the next one
#      restores it again, and it is refreshed on (natd still holds the same
#      binding more than one lease after the restart, with a lease of at
#      most 10 s left); media flows without a gap the whole time; the BYE
#      goes through the last proxy, which releases the binding
#   e  a re-INVITE after kill -9: the restarted proxy rewrites phB's
#      answer with the same M (the same natd binding, renewed in place) and
#      the same o= address
#   d  natd restarts while the proxy is down (SIGTERM): the restarted proxy
#      finds the saved binding's epoch gone and asks natd for it again; the
#      BYE releases the new one
#   c  without state.file (phB registers again), SIGTERM releases the live call's binding (the
#      behaviour before state files); a proxy started again knows nothing
#      of the dialog, so the BYE gets 481 (in-dialog requests must match a
#      dialog the proxy knows: sipproxy/dialog.h) and does not reach phB
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

it_require_root_net
it_require_natd
sip_require

sip_topo_up edge
sip_watch_start natd

PHA=203.0.113.10
PHB=10.1.0.10
POOL=198.51.100.0/28
STATE=$IT_OUT/proxy.state
CONF=$IT_OUT/proxy.conf
rm -f "$STATE" "$STATE.new"

SIP_CONF_EXTRA="state: { file = \"$STATE\"; };
status_socket = \"$IT_OUT/proxy.status\";"
sip_conf_edge "$CONF"
unset SIP_CONF_EXTRA
sed -i 's/binding_lifetime = 120;/binding_lifetime = 10;/' "$CONF"
if ! grep -q 'binding_lifetime = 10;' "$CONF"; then
	it_fail restart_conf "could not set binding_lifetime = 10 in $CONF"
	exit 1
fi

# start_or_fail NAME CONF: a proxy in the edge namespace, or stop here.
start_or_fail() { sip_proxy_start "$1" edge "$2" || exit 1; }

# restored_line NAME: the state file line of proxy NAME's log.
restored_line() { grep -m1 'state file .*restored' "$IT_OUT/$1.log"; }

# uas_or_fail NAME ARGS...: start a UAS or report why not.
uas_or_fail() {
	local name=$1
	if sip_uas "$@"; then return 0; fi
	it_fail "${name}_uas_ready" "SIPp UAS did not start: $(tail -n 3 "$IT_OUT/$name.stdout" | tr '\n' ' ')"
	return 1
}

start_or_fail proxy "$CONF"

# ------------------------------------------------ a: registration, kill -9, call
sip_uac a-reg phB $PHB register-auth.xml --service phoneb --auth phoneb --key domain edge.test --proxy 10.1.0.1:5060
sip_wait a-reg 20
sip_assert_call a_register a-reg
# the journal is written at the end of the loop pass that answered: the
# record is there by the time the 200 was read
if nt_poll 3 grep -q '^R ' "$STATE"; then
	it_pass a_registration_saved
else
	it_fail a_registration_saved "no R record in $STATE: $(head -c 300 "$STATE" 2>/dev/null)"
fi
if sip_proxy_signal proxy KILL; then
	it_pass a_proxy_killed
else
	it_fail a_proxy_killed "sipproxy did not die of SIGKILL"
	exit 1
fi
start_or_fail proxy2 "$CONF"
line=$(restored_line proxy2)
if [[ $line == *"restored 1 registration "* ]]; then
	it_pass a_registration_restored
else
	it_fail a_registration_restored "proxy2.log: '${line:-no state file line}'"
fi
if uas_or_fail a-phB phB $PHB uas.xml --service phoneb --rtp-port 20010; then
	sip_uac a-phA phA $PHA uac.xml --rtp-port 30010 --service phoneb \
		--proxy 203.0.113.1:5060 --ruri edge.test
	sip_wait a-phA 40; sip_wait a-phB 15
	cid=$(sip_callid a-phA)
	sip_assert_call a_call_to_restored_registration a-phA a-phB
	if grep -q 'REGISTER .* from ' "$IT_OUT/proxy2.log"; then
		it_fail a_no_new_register "proxy2 saw a REGISTER: $(grep -m1 'REGISTER .* from ' "$IT_OUT/proxy2.log")"
	else
		it_pass a_no_new_register
	fi
	sip_assert_sdp_realm a_phA_sdp_only_pool a-phA "$POOL"
	sip_assert_media a_phA_media_from_nat_address a-phA 200/INVITE
	sip_assert_no_binding a_no_binding_after_bye "$cid" natd
fi

# ------------------------------------------------ b: a call across SIGTERM and kill -9
# a 20 s call with RTP the whole time: the probes run up to 45 s
sed 's/\[rtp_cmd\] --to/[rtp_cmd] --timeout 45 --to/' "$SIP_SCEN_DIR/uac.xml" >"$IT_OUT/uac-long.xml"
sed 's/\[rtp_cmd\] --to/[rtp_cmd] --timeout 45 --to/' "$SIP_SCEN_DIR/uas.xml" >"$IT_OUT/uas-long.xml"
SIP_RTP_COUNT=1000
if uas_or_fail b-phB phB $PHB "$IT_OUT/uas-long.xml" --service phoneb --rtp-port 20020 --timeout 70; then
	sip_uac b-phA phA $PHA "$IT_OUT/uac-long.xml" --rtp-port 30020 --timeout 70 \
		--duration 20000 --proxy 203.0.113.1:5060 --service phoneb --ruri edge.test
	nt_poll 15 sip_has_callid b-phA
	cid=$(sip_callid b-phA)
	it_info "b: Call-ID $cid"
	nt_poll 5 sip_has_binding natd "$cid"
	ids0=$(sip_binding_ids natd "$cid")
	if [[ -n $cid && -n $ids0 ]]; then
		it_pass b_call_up
	else
		it_fail b_call_up "Call-ID '$cid', natd bindings '$ids0'"
	fi

	# SIGTERM: saved, binding left in natd
	sip_proxy_signal proxy2 TERM
	if grep -q 'stopping: .* 1 call saved in' "$IT_OUT/proxy2.log" &&
		[[ -n $ids0 && $(sip_binding_ids natd "$cid") == "$ids0" ]]; then
		it_pass b_sigterm_keeps_binding
	else
		it_fail b_sigterm_keeps_binding "proxy2.log: '$(grep -m1 'stopping' "$IT_OUT/proxy2.log")'; natd bindings '$(sip_binding_ids natd "$cid")', before '$ids0'"
	fi
	start_or_fail proxy3 "$CONF"
	line=$(restored_line proxy3)
	if [[ $line == *"and 1 call with "* && $line != *" with 0 bindings"* ]]; then
		it_pass b_call_restored_after_sigterm
	else
		it_fail b_call_restored_after_sigterm "proxy3.log: '${line:-no state file line}'"
	fi
	# the restored binding is refreshed as soon as natd's connection is up
	if nt_poll 5 sip_counter_at_least "$CONF" refreshes 1; then
		it_pass b_restored_binding_refreshed
	else
		it_fail b_restored_binding_refreshed "status: $(grep '^media ' "$IT_OUT/status-counter.out")"
	fi

	# kill -9: the journal has it all
	sip_proxy_signal proxy3 KILL
	start_or_fail proxy4 "$CONF"
	line=$(restored_line proxy4)
	if [[ $line == *"and 1 call with "* && $line != *" with 0 bindings"* ]]; then
		it_pass b_call_restored_after_kill
	else
		it_fail b_call_restored_after_kill "proxy4.log: '${line:-no state file line}'"
	fi
	# its dialog too (sipproxy/dialog.h): the BYE at the end must match it
	if [[ $line == *"; 1 dialog"* ]]; then
		it_pass b_dialog_restored_after_kill
	else
		it_fail b_dialog_restored_after_kill "proxy4.log: '${line:-no state file line}'"
	fi
	# refreshed at once, then every 5 s: three refreshes take 10 s, one
	# lease after the last refresh proxy3 made; natd still holds the
	# same binding, and its lease is the short one
	if nt_poll 16 sip_counter_at_least "$CONF" refreshes 3; then
		ids1=$(sip_binding_ids natd "$cid")
		lease_left=$(sip_binding_lifetime natd "$cid")
		if [[ $ids1 == "$ids0" && $lease_left =~ ^[0-9]+$ ]] && ((lease_left <= 10)); then
			it_pass b_binding_outlives_a_lease_after_restart
			it_info "b: binding $ids1 still in natd, lease left ${lease_left}s, $(grep '^media ' "$IT_OUT/status-counter.out")"
		else
			it_fail b_binding_outlives_a_lease_after_restart "natd bindings '$ids1' (before '$ids0'), lease left '$lease_left'"
		fi
	else
		it_fail b_binding_outlives_a_lease_after_restart "status: $(grep '^media ' "$IT_OUT/status-counter.out")"
	fi

	sip_wait b-phA 40; sip_wait b-phB 15
	sip_assert_call b_call_completed_across_restarts b-phA b-phB
	if grep -q "call $cid: ended (BYE)" "$IT_OUT/proxy4.log"; then
		it_pass b_bye_through_restarted_proxy
	else
		it_fail b_bye_through_restarted_proxy "proxy4.log has no 'call $cid: ended (BYE)'"
	fi
	sip_assert_no_binding b_no_binding_after_bye "$cid" natd
	SIP_RTP_MIN=900
	sip_assert_media b_phA_media_across_restarts b-phA 200/INVITE
	sip_assert_media b_phB_media_across_restarts b-phB INVITE
	for n in b-phA b-phB; do
		gap=$(kv "$IT_OUT/$n.rtp" max_gap_ms)
		if [[ $gap =~ ^[0-9]+$ ]] && ((gap < 500)); then
			it_pass "${n//-/_}_no_media_gap"
		else
			it_fail "${n//-/_}_no_media_gap" "$n: longest silence ${gap:-?} ms"
		fi
	done
	sip_ladder b phA=b-phA phB=b-phB
fi
SIP_RTP_COUNT=50
SIP_RTP_MIN=25

# ------------------------------------------------ e: a re-INVITE after kill -9
# phB answers the re-INVITE with its same SDP: the restarted proxy renews
# the same binding in place and keeps phB's o= address
if uas_or_fail e-phB phB $PHB uas-reinvite.xml --service phoneb --rtp-port 20050 --timeout 40; then
	sip_uac e-phA phA $PHA uac-reinvite-hold.xml --rtp-port 30050 --duration 5000 --timeout 40 \
		--proxy 203.0.113.1:5060 --service phoneb --ruri edge.test
	nt_poll 15 sip_has_callid e-phA
	cid=$(sip_callid e-phA)
	nt_poll 5 sip_has_binding natd "$cid"
	ids0=$(sip_binding_ids natd "$cid")
	[[ -n $ids0 ]] || it_fail e_call_up "Call-ID '$cid', no natd binding"
	sip_proxy_signal proxy4 KILL
	start_or_fail proxy5 "$CONF"
	sip_wait e-phA 40; sip_wait e-phB 15
	sip_assert_call e_reinvite_after_restart e-phA e-phB
	c1=$(sip_sdp e-phA 200/INVITE c) m1=$(sip_sdp e-phA 200/INVITE m) o1=$(sip_sdp e-phA 200/INVITE o)
	c2=$(sip_sdp e-phA 200/reINVITE-hold c) m2=$(sip_sdp e-phA 200/reINVITE-hold m)
	o2=$(sip_sdp e-phA 200/reINVITE-hold o)
	# one binding for the whole call (natd renewed it in place), and the
	# restarted proxy released nothing before the BYE
	created=$(kv <(sip_watch_summary natd "$cid") created)
	early=$(sed -n "/call $cid: ended (BYE)/q;p" "$IT_OUT/proxy5.log" | grep -c "call $cid: releasing binding")
	if [[ -n $c1 && $c1 == "$c2" && $m1 == "$m2" && -n $o1 && $o1 == "$o2" && $created == 1 && $early == 0 ]]; then
		it_pass e_same_binding_and_origin_after_restart
		it_info "e: phA saw c=$c1 m=$m1 o=$o1 before the restart and c=$c2 m=$m2 o=$o2 after; natd binding $ids0 renewed in place"
	else
		it_fail e_same_binding_and_origin_after_restart "before: c=$c1 m=$m1 o=$o1, after: c=$c2 m=$m2 o=$o2; natd bindings created for the call: '$created' (want 1); released before the BYE: $early"
	fi
	sip_assert_sdp_realm e_phA_sdp_only_pool e-phA "$POOL"
	sip_assert_no_binding e_no_binding_after_bye "$cid" natd
fi

# ------------------------------------------------ d: natd restarts while the proxy is down
if uas_or_fail d-phB phB $PHB uas.xml --service phoneb --rtp-port 20040 --timeout 40; then
	sip_uac d-phA phA $PHA uac.xml --rtp-port 30040 --duration 8000 --timeout 40 \
		--proxy 203.0.113.1:5060 --service phoneb --ruri edge.test
	nt_poll 15 sip_has_callid d-phA
	cid=$(sip_callid d-phA)
	nt_poll 5 sip_has_binding natd "$cid"
	ids0=$(sip_binding_ids natd "$cid")
	[[ -n $ids0 ]] || it_fail d_call_up "Call-ID '$cid', no natd binding"
	sip_proxy_signal proxy5 TERM
	# natd restarts (a new epoch, an empty table); its first log is kept
	# (and, under valgrind, checked here: the usual check reads natd.log)
	nt_natd_stop "$IT_STATE" natd 2>>"$IT_OUT/topo.log"
	cp "$IT_OUT/natd.log" "$IT_OUT/natd-before-restart.log" 2>/dev/null
	if [[ ${NT_NATD_WRAPPER:-} == *valgrind* ]]; then
		n=$(grep -E '^==[0-9]+== ' "$IT_OUT/natd-before-restart.log" | grep -vc vgdb)
		if ((n == 0)); then
			it_pass d_first_natd_valgrind_clean
		else
			it_fail d_first_natd_valgrind_clean "$n lines of memcheck errors in natd-before-restart.log"
		fi
	fi
	if nt_natd_start "$IT_STATE" natd "${IT_PREFIX}edge" "${IT_CONF:-$NT_ROOT/conf/natd-edge-test.conf}" \
		2>>"$IT_OUT/topo.log" && sip_no_bindings natd "$cid"; then
		it_pass d_natd_restarted
	else
		it_fail d_natd_restarted "natd did not come back empty: $(tail -n 3 "$IT_OUT/topo.log" | tr '\n' ' ')"
	fi
	start_or_fail proxy6 "$CONF"
	if nt_poll 5 sip_has_binding natd "$cid" &&
		grep -q 'natd edge: refreshing 0 bindings of live calls, asking again for 1' \
			"$IT_OUT/proxy6.log"; then
		it_pass d_binding_asked_again_in_new_epoch
		it_info "d: natd binding $ids0 before, $(sip_binding_ids natd "$cid") after natd's restart"
	else
		it_fail d_binding_asked_again_in_new_epoch "natd bindings '$(sip_binding_ids natd "$cid")'; proxy6.log: $(grep -m1 'natd edge: refreshing' "$IT_OUT/proxy6.log")"
	fi
	sip_wait d-phA 40; sip_wait d-phB 15
	sip_assert_call d_call_completed d-phA d-phB
	sip_assert_no_binding d_no_binding_after_bye "$cid" natd
fi

# ------------------------------------------------ c: no state file: SIGTERM releases
sip_proxy_signal proxy6 TERM
NOSTATE=$IT_OUT/proxy-nostate.conf
sip_conf_edge "$NOSTATE"
start_or_fail proxy7 "$NOSTATE"
# nothing restored: phB registers again (no phone is a trusted peer, so phA
# can only call phB's AoR)
sip_uac c-reg phB $PHB register-auth.xml --service phoneb --auth phoneb --key domain edge.test --proxy 10.1.0.1:5060
sip_wait c-reg 20
sip_assert_call c_register c-reg
if uas_or_fail c-phB phB $PHB uas.xml --service phoneb --rtp-port 20030 --timeout 15; then
	sip_uac c-phA phA $PHA uac.xml --rtp-port 30030 --duration 6000 \
		--proxy 203.0.113.1:5060 --service phoneb --ruri edge.test
	nt_poll 15 sip_has_callid c-phA
	cid=$(sip_callid c-phA)
	if nt_poll 5 sip_has_binding natd "$cid"; then
		it_pass c_call_up
	else
		it_fail c_call_up "Call-ID '$cid', no natd binding"
	fi
	sip_proxy_signal proxy7 TERM
	sip_assert_no_binding c_sigterm_without_state_releases "$cid" natd
	if grep -q "call $cid: ended (sipproxy stopping)" "$IT_OUT/proxy7.log"; then
		it_pass c_release_logged
	else
		it_fail c_release_logged "proxy7.log has no 'call $cid: ended (sipproxy stopping)'"
	fi
	# a fresh proxy (nothing restored) does not know the dialog: 481
	start_or_fail proxy8 "$NOSTATE"
	sip_wait c-phA 40; sip_wait c-phB 25
	if grep -q 'SIP/2.0 481' "$IT_OUT/c-phA.msg.log" 2>/dev/null &&
		! grep -q '^BYE ' "$IT_OUT/c-phB.msg.log" 2>/dev/null; then
		it_pass c_bye_after_restart_unknown_dialog
	else
		it_fail c_bye_after_restart_unknown_dialog "phA got no 481 for its BYE, or phB got the BYE: $(sip_counters c-phA); $(grep -c '^BYE ' "$IT_OUT/c-phB.msg.log" 2>/dev/null) BYE at phB"
	fi
fi

sip_assert_proxy_alive restart_proxy_alive proxy8
sip_proxy_excerpt proxy4
it_done
