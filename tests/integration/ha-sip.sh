#!/bin/bash
# ha-sip: sipproxy's registrations, dialogs and calls in Redis (issue 14,
# sipproxy/sp_ha.c), on the "ha" topology (tests/net/topo-ha.sh: phA
# outside, phB inside, edgeA and edgeB on both LANs, Redis on the HA LAN).
# This test is about the proxies alone: no keepalived (the virtual
# addresses 203.0.113.1 and 10.1.0.1 are moved by hand, as keepalived
# would) and one natd for both proxies (natdA, over its Unix control
# socket: the natd pair is ha-failover.sh's), so that a binding kept
# across the failover is the very same natd binding.
#
#   a  pair: proxy A (ha.role active) and proxy B (standby) under one key
#      prefix. phB registers through A: B's registrar holds it (warm, from
#      Redis) before any failover.
#   b  a call phA -> phoneb@edge.test through A (RTP both ways, 20 s): B
#      holds its call record and dialog. A is killed -9, the addresses move
#      to edgeB, "sipproxy -S ha promote" on B: B takes the call over (log
#      line), refreshes its binding in natd (the same binding id), and the
#      BYE at the end of the call crosses B (a dialog B never saw made),
#      which releases the binding; no record of the call is left in Redis.
#   c  a new call to phoneb through B (the promoted proxy never saw a
#      REGISTER) reaches phB.
#   d  node A's proxy comes back as a standby (it resyncs and holds the
#      registration, and does not take over). Redis killed and restarted
#      empty: B pushes its whole state again (pushes counter), A resyncs
#      (resyncs counter) and still holds the registration, the registration
#      is back in Redis, and a call through B still reaches phB.
#   e  scale-out (ha.mode "shared"): proxies S1 (edgeA, 10.1.0.2 /
#      203.0.113.2) and S2 (edgeB, 10.1.0.3 / 203.0.113.3) both active,
#      each following the other; phB registers through S1 only; phA calls
#      phoneb through S2, which finds the contact in its registrar (taken
#      from S1's records) and reaches phB. A standby of a pair answers 503.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"
. "$(dirname "$0")/halib.sh"

it_require_root_net
it_require_natd
sip_require
command -v redis-server >/dev/null || it_skip_all "redis-server not installed (Debian redis-server)"
command -v redis-cli >/dev/null || it_skip_all "redis-cli not installed (Debian redis-tools)"
command -v bridge >/dev/null || it_skip_all "bridge (iproute2) not installed"

PHA=203.0.113.10
PHB=10.1.0.10
HA_PREFIX=natedge-it-sip

# both natds without an ha group: natdA serves both proxies
cat "$NT_ROOT/conf/natd-ha-test.conf" >"$IT_OUT/natdA.conf"
cat "$NT_ROOT/conf/natd-ha-test.conf" >"$IT_OUT/natdB.conf"
sip_topo_up ha "$IT_OUT/natdA.conf" "$IT_OUT/natdB.conf"

# proxy_conf NAME NODE ROLE MODE [IN OUT [PEER]]: sipproxy NAME asking natdA,
# listening on IN/OUT (default: the virtual addresses).
proxy_conf() {
	local name=$1 node=$2 role=$3 mode=$4 in=${5:-10.1.0.1} out=${6:-203.0.113.1} peer=${7:-}
	local conf=$IT_OUT/$name.conf
	sip_conf_edge "$conf" natdA
	sed -i "s/\"10\\.1\\.0\\.1\"; realm/\"$in\"; realm/; s/\"203\\.0\\.113\\.1\"; realm/\"$out\"; realm/" "$conf"
	cat >>"$conf" <<EOF
status_socket = "$IT_OUT/$name.status";
ha: { enabled = true; redis = "$HA_REDIS"; prefix = "$HA_PREFIX"; node = "$node"; role = "$role";
      mode = "$mode";$([[ -n $peer ]] && echo " peers = [ \"$peer\" ];") timeout_ms = 1000; };
EOF
	if ! "$SIP_PROXY" -n -c "$conf" >"$IT_OUT/$name.check" 2>&1; then
		it_fail "${name}_conf_valid" "sipproxy -n: $(head -n 3 "$IT_OUT/$name.check" | tr '\n' ' ')"
		exit 1
	fi
}

# ha_line NAME: proxy NAME's "ha ..." status line; ha_kv NAME KEY: one value.
ha_line() { timeout 5 "$SIP_PROXY" -S -c "$IT_OUT/$1.conf" ha status 2>/dev/null | grep -m1 '^ha mode='; }
ha_kv() { ha_line "$1" | grep -o " $2=[^ ]*" | cut -d= -f2; }
ha_kv_at_least() { local v; v=$(ha_kv "$1" "$2"); [[ $v =~ ^[0-9]+$ ]] && ((v >= $3)); }
ha_role_is() { [[ $(ha_kv "$1" role) == "$2" ]]; }

# vips_to X: the virtual addresses now on edgeX only (as keepalived does),
# the neighbours' caches forgotten (its gratuitous ARP).
vips_to() {
	local x=$1 y
	for y in A B; do
		ip -n "$(it_ns "edge$y")" addr del "$HA_VIP_OUT/24" dev out0 2>/dev/null
		ip -n "$(it_ns "edge$y")" addr del "$HA_VIP_IN/24" dev in0 2>/dev/null
	done
	ip -n "$(it_ns "edge$x")" addr add "$HA_VIP_OUT/24" dev out0
	ip -n "$(it_ns "edge$x")" addr add "$HA_VIP_IN/24" dev in0
	for y in phA phB phC; do ip -n "$(it_ns "$y")" neigh flush all 2>/dev/null; done
	it_log "virtual addresses moved to edge$x"
}

# call_to_phoneb TAG PROXY_OUT: a short call phA -> phoneb@edge.test
# through the proxy at PROXY_OUT; reports TAG_call.
call_to_phoneb() {
	local tag=$1 via=$2 port=$3
	if sip_uas_or_fail "$tag-phB" phB $PHB uas.xml --service phoneb --rtp-port $((20000 + port)); then
		sip_uac "$tag-phA" phA $PHA uac.xml --rtp-port $((30000 + port)) --service phoneb \
			--proxy "$via:5060" --ruri edge.test
		sip_wait "$tag-phA" 40; sip_wait "$tag-phB" 15
		sip_assert_call "${tag}_call_to_phoneb" "$tag-phA" "$tag-phB"
	fi
}

vips_to A
proxy_conf proxyA edge-a active pair
proxy_conf proxyB edge-b standby pair
sip_proxy_start proxyA edgeA "$IT_OUT/proxyA.conf" || exit 1
sip_proxy_start proxyB edgeB "$IT_OUT/proxyB.conf" || exit 1
it_check a_roles "A '$(ha_line proxyA)', B '$(ha_line proxyB)'" \
	nt_poll 5 eval 'ha_role_is proxyA active && ha_role_is proxyB standby && [[ $(ha_kv proxyB redis) == up ]]'

# ------------------------------------------------ a: registration through A, warm in B
sip_uac a-reg phB $PHB register-auth.xml --service phoneb --auth phoneb --key domain edge.test \
	--proxy 10.1.0.1:5060
sip_wait a-reg 20
sip_assert_call a_register_through_a a-reg
if nt_poll 5 eval 'timeout 5 "$SIP_PROXY" -S -c "$IT_OUT/proxyB.conf" | grep -q "^registration phoneb@edge.test contact="'; then
	it_pass a_standby_registrar_warm
else
	it_fail a_standby_registrar_warm "B: $(ha_line proxyB); $(timeout 5 "$SIP_PROXY" -S -c "$IT_OUT/proxyB.conf" | grep '^registrar')"
fi

# ------------------------------------------------ b: a call through A, ended through B
sed 's/\[rtp_cmd\] --to/[rtp_cmd] --timeout 45 --to/' "$SIP_SCEN_DIR/uac.xml" >"$IT_OUT/uac-long.xml"
sed 's/\[rtp_cmd\] --to/[rtp_cmd] --timeout 45 --to/' "$SIP_SCEN_DIR/uas.xml" >"$IT_OUT/uas-long.xml"
if sip_uas_or_fail b-phB phB $PHB "$IT_OUT/uas-long.xml" --service phoneb --rtp-port 20020 --timeout 70; then
	sip_uac b-phA phA $PHA "$IT_OUT/uac-long.xml" --rtp-port 30020 --timeout 70 \
		--duration 20000 --proxy 203.0.113.1:5060 --service phoneb --ruri edge.test
	nt_poll 15 sip_has_callid b-phA
	cid=$(sip_callid b-phA)
	nt_poll 5 sip_has_binding natdA "$cid"
	ids0=$(sip_binding_ids natdA "$cid")
	it_info "b: Call-ID $cid, natd bindings $ids0"
	it_check b_call_up_through_a "Call-ID '$cid', natd bindings '$ids0'" test -n "$cid" -a -n "$ids0"
	it_check b_standby_holds_call "B: $(ha_line proxyB)" \
		nt_poll 5 eval 'ha_kv_at_least proxyB held_calls 1 && ha_kv_at_least proxyB held_dialogs 1'
	it_check b_call_in_redis "no record names $cid" nt_poll 3 eval '[[ -n $(redis_records_of "$cid") ]]'

	# node A's proxy dies; the addresses move; B is promoted
	sip_proxy_signal proxyA KILL || it_fail b_proxy_a_killed "sipproxy A did not die of SIGKILL"
	vips_to B
	out=$(timeout 5 "$SIP_PROXY" -S -c "$IT_OUT/proxyB.conf" ha promote 2>&1)
	it_check b_promote_command "sipproxy -S ha promote: '$out'" test "$out" = "ok role=active"
	it_check b_b_took_the_call "proxyB.log: $(grep -m1 'ha: active: took over' "$IT_OUT/proxyB.log")" \
		grep -q 'ha: active: took over 1 call (0 unusable)' "$IT_OUT/proxyB.log"
	it_check b_b_holds_an_epoch "B: $(ha_line proxyB)" \
		nt_poll 5 eval 'ha_role_is proxyB active && ha_kv_at_least proxyB epoch 2'
	# the restored binding is refreshed at once, in place
	if nt_poll 5 sip_counter_at_least "$IT_OUT/proxyB.conf" refreshes 1 &&
		[[ $(sip_binding_ids natdA "$cid") == "$ids0" ]]; then
		it_pass b_binding_refreshed_in_place
	else
		it_fail b_binding_refreshed_in_place "natd bindings '$(sip_binding_ids natdA "$cid")' (before '$ids0'), $(grep '^media ' "$IT_OUT/status-counter.out")"
	fi

	sip_wait b-phA 40; sip_wait b-phB 15
	sip_assert_call b_call_completed_across_failover b-phA b-phB
	it_check b_bye_through_b "proxyB.log has no 'call $cid: ended (BYE)'" \
		grep -q "call $cid: ended (BYE)" "$IT_OUT/proxyB.log"
	sip_assert_no_binding b_no_binding_after_bye "$cid" natdA
	it_check b_no_record_left_in_redis "left: $(redis_records_of "$cid" | head -c 300)" \
		nt_poll 3 eval '[[ -z $(redis_records_of "$cid") ]]'
fi

# ------------------------------------------------ c: a new call through B
call_to_phoneb c 203.0.113.1 30
if grep -q 'REGISTER .* from ' "$IT_OUT/proxyB.log"; then
	it_fail c_no_register_at_b "proxyB saw a REGISTER: $(grep -m1 'REGISTER .* from ' "$IT_OUT/proxyB.log")"
else
	it_pass c_no_register_at_b
fi

# ------------------------------------------------ d: Redis restarted empty
# node A comes back as a standby (it does not take over): a resync at start
proxy_conf proxyA2 edge-a standby pair
sip_proxy_start proxyA2 edgeA "$IT_OUT/proxyA2.conf" || exit 1
it_check d_a_back_as_standby_warm "A: $(ha_line proxyA2)" \
	nt_poll 5 eval 'ha_role_is proxyA2 standby && ha_kv_at_least proxyA2 resyncs 1 && ha_kv_at_least proxyA2 held_regs 1'
it_check d_b_still_active "B: $(ha_line proxyB)" ha_role_is proxyB active
pushes0=$(ha_kv proxyB pushes)
resyncs0=$(ha_kv proxyA2 resyncs)
topo_ha_redis_stop "$IT_PREFIX" "$IT_STATE" KILL
it_check d_redis_gone "redis still answers" eval '! topo_ha_redis_ping "$IT_PREFIX"'
it_check d_b_sees_redis_down "B: $(ha_line proxyB)" nt_poll 5 eval '[[ $(ha_kv proxyB redis) == down ]]'
if topo_ha_redis_start "$IT_PREFIX" "$IT_STATE" 2>>"$IT_OUT/topo.log"; then
	it_pass d_redis_restarted_empty
	it_check d_full_push_after_reconnect "pushes before $pushes0, now: $(ha_line proxyB)" \
		nt_poll 10 eval 'ha_kv_at_least proxyB pushes $((pushes0 + 1)) && [[ $(ha_kv proxyB redis) == up ]]'
	it_check d_registration_back_in_redis "records: $(redis_records | head -c 300)" \
		nt_poll 5 eval '[[ -n $(redis_records_of phoneb) ]]'
	it_check d_standby_resynced "resyncs before $resyncs0, now: $(ha_line proxyA2)" \
		nt_poll 10 eval 'ha_kv_at_least proxyA2 resyncs $((resyncs0 + 1)) && [[ $(ha_kv proxyA2 redis) == up ]]'
	it_check d_standby_lost_nothing "A: $(ha_line proxyA2)" \
		nt_poll 5 eval 'ha_kv_at_least proxyA2 held_regs 1 && ha_role_is proxyA2 standby'
	call_to_phoneb d 203.0.113.1 40
else
	it_fail d_redis_restarted_empty "redis did not come back: $(tail -n 3 "$IT_OUT/topo.log" | tr '\n' ' ')"
fi

# ------------------------------------------------ e: scale-out, and a standby's 503
sip_proxy_signal proxyB TERM || it_fail e_proxy_b_stopped "sipproxy B did not stop on SIGTERM"
sip_proxy_signal proxyA2 TERM || it_fail e_proxy_a2_stopped "sipproxy A2 did not stop on SIGTERM"
vips_to A # the media of e's call: phA routes the pool to 203.0.113.1, natdA is in edgeA
HA_PREFIX=natedge-it-shared
proxy_conf proxyS1 s1 active shared 10.1.0.2 203.0.113.2 s2
proxy_conf proxyS2 s2 active shared 10.1.0.3 203.0.113.3 s1
sip_proxy_start proxyS1 edgeA "$IT_OUT/proxyS1.conf" || exit 1
sip_proxy_start proxyS2 edgeB "$IT_OUT/proxyS2.conf" || exit 1
sip_uac e-reg phB $PHB register-auth.xml --service phoneb --auth phoneb --key domain edge.test \
	--proxy 10.1.0.2:5060
sip_wait e-reg 20
sip_assert_call e_register_through_s1 e-reg
it_check e_s2_has_s1s_registration "S2: $(ha_line proxyS2 | head -c 200); $(timeout 5 "$SIP_PROXY" -S -c "$IT_OUT/proxyS2.conf" | grep -m2 '^ha peer\|^registrar')" \
	nt_poll 5 eval 'timeout 5 "$SIP_PROXY" -S -c "$IT_OUT/proxyS2.conf" | grep -q "^ha peer=s1 .* regs=1"'
call_to_phoneb e 203.0.113.3 50
it_check e_s2_routed_it "proxyS2.log: no INVITE from phA" grep -q "INVITE .* from $PHA" "$IT_OUT/proxyS2.log"
if grep -q 'REGISTER .* from ' "$IT_OUT/proxyS2.log"; then
	it_fail e_no_register_at_s2 "S2 saw a REGISTER"
else
	it_pass e_no_register_at_s2
fi
out=$(timeout 5 "$SIP_PROXY" -S -c "$IT_OUT/proxyS1.conf" ha promote 2>&1)
it_check e_shared_has_no_roles "sipproxy -S ha promote in shared mode: '$out'" eval '[[ $out == "error shared mode"* ]]'

# a pair's standby answers 503 (Retry-After) and keeps nothing
HA_PREFIX=natedge-it-503
proxy_conf proxyT t standby pair 10.1.0.3 203.0.113.3
sip_proxy_signal proxyS2 TERM
sip_proxy_start proxyT edgeB "$IT_OUT/proxyT.conf" || exit 1
sip_uac f-reg phB $PHB register-auth.xml --service phoneb --auth phoneb --key domain edge.test \
	--proxy 10.1.0.3:5060
sip_wait f-reg 20
it_check f_standby_answers_503 "T: $(ha_line proxyT)" eval 'ha_kv_at_least proxyT refused 1 && [[ $(ha_kv proxyT held_regs) == 0 ]]'
if [[ $(cat "$IT_OUT/f-reg.rc" 2>/dev/null) != 0 ]]; then
	it_pass f_standby_register_not_served
else
	it_fail f_standby_register_not_served "the REGISTER to a standby succeeded"
fi

it_done
