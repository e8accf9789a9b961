#!/bin/bash
# attack-relay: the relay policy and Via maddr (issue 11) against an
# attacker, on the "edge" topology (scenario 1-2 layout, natd running):
#
#   phA 203.0.113.10 (outside) -- [edge: natd + sipproxy 203.0.113.1 | 10.1.0.1] -- phB 10.1.0.10, phC 10.1.0.11 (inside)
#
#   a1 the issue's first finding, exactly: phA sends one INVITE whose
#      Request-URI is its own numeric address (sip:x@203.0.113.10:5099),
#      SDP c=IN IP4 10.1.0.10, m=audio 7777 RTP/AVP 0, m=application 2222
#      TCP/MSRP *; then sprays the NAT pool on UDP 7777 / TCP 2222. Expected:
#      403, nothing relayed back to phA, natd holds no binding for the SDP's
#      endpoints, phB's UDP 7777 and TCP 2222 listeners see nothing, and
#      the proxy kept nothing (server transactions, calls), relay_refused
#      counted;
#   a2 an inside attacker (phC, not authenticated, not a trusted peer)
#      tries to relay to an outside numeric host (phA:5098): 403, phA's
#      listener there sees nothing;
#   a3 maddr reflection: phA sends an OPTIONS to the proxy and an INVITE,
#      each with "Via ...;maddr=10.1.0.11" (phC, the third host): phA gets
#      its answers (200, 403) at its received/rport address, phC receives
#      nothing; the same OPTIONS from the trusted peer (10.1.0.12, the
#      proxy's one trusted_peers entry) does go to its maddr (the only
#      sender whose maddr is honoured);
#   legitimate traffic beside them: phB registers (phoneb@edge.test, digest
#      authentication) and receives a call from phA with media both ways
#      (an incoming call to a registered user); phB, authenticated as
#      phoneb, calls phA's numeric address with media.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

it_require_root_net
it_require_natd
sip_require

PHA=203.0.113.10
PHB=10.1.0.10
PHC=10.1.0.11
PEER=10.1.0.12
POOL=198.51.100.0/28
ATTACK=$NT_ROOT/tests/tools/sipattack.py
CONF=$IT_OUT/proxy.conf

sip_topo_up edge
sip_watch_start natd
# the one trusted peer: 10.1.0.12, a second address of phB's namespace
# standing for a peer proxy (for a3's control); the phones authenticate
ip -n "$(it_ns phB)" addr add $PEER/24 dev eth0
SIP_TRUSTED_PEERS="\"$PEER/32\"" SIP_CONF_EXTRA="status_socket = \"$IT_OUT/proxy.status\";" \
	sip_conf_edge "$CONF"
sip_proxy_start proxy edge "$CONF" || exit 1

# sipattack NS NAME ARGS...: run sipattack.py in NS (bounded), output NAME.out.
sipattack() {
	local ns=$1 name=$2
	shift 2
	it_log "[$ns] sipattack $*"
	timeout 30 ip netns exec "$IT_PREFIX$ns" "$NT_PY" "$ATTACK" "$@" >"$IT_OUT/$name.out" 2>&1
	sed "s/^/    $name: /" "$IT_OUT/$name.out" >&2
}

# status KEY: a counter of the proxy's status view (any line).
status() {
	sip_proxy_status "$CONF" "$IT_OUT/status.out" || return 1
	grep -o "\(^\| \)$1=[0-9]*" "$IT_OUT/status.out" | head -n 1 | sed 's/^ //' | cut -d= -f2
}

# natd_bindings_to IP:PORT...: natd's bindings (natctl --json list, one per
# line, endpoints written "ip:port") naming one of them.
natd_bindings_to() {
	local out=$IT_OUT/natd-list.out e
	timeout 10 "$NT_NATCTL" -s "$(it_ctl_socket)" --json list >"$out" 2>&1 || { echo "natctl-failed"; return; }
	for e in "$@"; do grep -F "\"$e\"" "$out"; done
}

# inside listeners an attacker would like to reach (count 0: all they get)
it_server phB b-udp7777 udp-echo --bind $PHB:7777 --count 0 --timeout 25 --no-reply || it_fail a1_listeners "phB UDP 7777 listener"
it_server phB b-tcp2222 tcp-echo --bind $PHB:2222 --count 0 --timeout 25 || it_fail a1_listeners "phB TCP 2222 listener"
it_server phA a-udp5098 udp-echo --bind $PHA:5098 --count 0 --timeout 25 --no-reply || it_fail a2_listener "phA UDP 5098 listener"
it_server phC c-udp5097 udp-echo --bind $PHC:5097 --count 0 --timeout 25 --no-reply || it_fail a3_listener "phC UDP 5097 listener"
it_server phC c-udp5096 udp-echo --bind $PHC:5096 --count 0 --timeout 25 --no-reply || it_fail a3_listener "phC UDP 5096 listener"

open_before=$(status server_open)
# ------------------------------------------------ a1: the issue's first finding
sipattack phA a1 --bind $PHA:5099 --to 203.0.113.1:5060 --ruri "sip:x@$PHA:5099" \
	--sdp-ip $PHB --audio-port 7777 --msrp-port 2222 --wait 3 --spray-pool $POOL
got=$(kv "$IT_OUT/a1.out" final)
if [[ $got == 403 ]]; then it_pass a1_outside_invite_to_own_numeric_uri_403
else it_fail a1_outside_invite_to_own_numeric_uri_403 "final '$got': $(grep '^rx' "$IT_OUT/a1.out" | tr '\n' ' ')"; fi
if [[ $(kv "$IT_OUT/a1.out" relayed) == 0 ]]; then it_pass a1_nothing_relayed_back
else it_fail a1_nothing_relayed_back "phA received requests: $(grep '^rx request' "$IT_OUT/a1.out" | tr '\n' ' ')"; fi
if ! grep -q '^rx status=100' "$IT_OUT/a1.out"; then it_pass a1_no_100_trying
else it_fail a1_no_100_trying "a 100 Trying came before the 403: a transaction was made"; fi
b=$(natd_bindings_to "$PHB:7777" "$PHB:2222")
if [[ -z $b ]]; then it_pass a1_natd_no_binding
else it_fail a1_natd_no_binding "natd holds: $(head -c 300 <<<"$b")"; fi
a1cid=$(kv "$IT_OUT/a1.out" callid)
if sip_no_bindings natd "$a1cid"; then it_pass a1_natd_no_binding_for_call
else it_fail a1_natd_no_binding_for_call "natd has bindings labelled call:$a1cid"; fi
refused=$(status relay_refused) calls=$(status calls) open_after=$(status server_open)
if ((${refused:-0} >= 1)); then it_pass a1_refusal_counted
else it_fail a1_refusal_counted "relay_refused='$refused' in the status view"; fi
if [[ $calls == 0 ]] && ((${open_after:-999} <= ${open_before:-0})); then it_pass a1_no_state_kept
else it_fail a1_no_state_kept "media calls='$calls', server transactions $open_before before, $open_after after"; fi

# ------------------------------------------------ a2: an inside attacker relaying out
sipattack phC a2 --bind $PHC:5099 --to 10.1.0.1:5060 --ruri "sip:x@$PHA:5098" \
	--sdp-ip $PHC --audio-port 7000 --msrp-port 2000 --wait 3
got=$(kv "$IT_OUT/a2.out" final)
if [[ $got == 403 ]]; then it_pass a2_inside_unauthenticated_relay_out_403
else it_fail a2_inside_unauthenticated_relay_out_403 "final '$got': $(grep '^rx' "$IT_OUT/a2.out" | tr '\n' ' ')"; fi
if sip_no_bindings natd "$(kv "$IT_OUT/a2.out" callid)"; then it_pass a2_natd_no_binding
else it_fail a2_natd_no_binding "natd has a binding for the inside attacker's call"; fi

# ------------------------------------------------ a3: Via maddr reflection
sipattack phA a3-options --bind $PHA:5097 --to 203.0.113.1:5060 --method OPTIONS \
	--ruri "sip:203.0.113.1" --via-maddr $PHC --wait 2
got=$(kv "$IT_OUT/a3-options.out" final)
if [[ $got == 200 ]] && grep -q "^rx status=200 from=203.0.113.1:5060" "$IT_OUT/a3-options.out"; then
	it_pass a3_options_answered_to_sender
else it_fail a3_options_answered_to_sender "phA's OPTIONS with maddr=$PHC: final '$got'"; fi
sipattack phA a3-invite --bind $PHA:5097 --to 203.0.113.1:5060 --ruri "sip:x@$PHA:5097" \
	--via-maddr $PHC --wait 3
got=$(kv "$IT_OUT/a3-invite.out" final)
if [[ $got == 403 ]]; then it_pass a3_invite_403_to_sender
else it_fail a3_invite_403_to_sender "phA's INVITE with maddr=$PHC: final '$got'"; fi
# the trusted peer's maddr is honoured: its answer goes to phC:5096
sipattack phB a3-trusted --bind $PEER:5096 --to 10.1.0.1:5060 --method OPTIONS \
	--ruri "sip:10.1.0.1" --via-maddr $PHC --wait 2

for n in b-udp7777 b-tcp2222 a-udp5098 c-udp5097 c-udp5096; do it_wait "$n" 30; done
if [[ $(kv "$IT_OUT/b-udp7777.out" received) == 0 && $(kv "$IT_OUT/b-tcp2222.out" accepted) == 0 ]]; then
	it_pass a1_inside_listeners_saw_nothing
else
	it_fail a1_inside_listeners_saw_nothing "phB UDP 7777 received '$(kv "$IT_OUT/b-udp7777.out" received)', TCP 2222 accepted '$(kv "$IT_OUT/b-tcp2222.out" accepted)'"
fi
if [[ $(kv "$IT_OUT/a-udp5098.out" received) == 0 ]]; then it_pass a2_outside_target_saw_nothing
else it_fail a2_outside_target_saw_nothing "phA:5098 received '$(kv "$IT_OUT/a-udp5098.out" received)': $(grep '^peer' "$IT_OUT/a-udp5098.out" | head -n 2 | cut -c1-160)"; fi
if [[ $(kv "$IT_OUT/c-udp5097.out" received) == 0 ]]; then it_pass a3_third_host_received_nothing
else it_fail a3_third_host_received_nothing "phC:5097 received '$(kv "$IT_OUT/c-udp5097.out" received)': $(grep '^peer' "$IT_OUT/c-udp5097.out" | head -n 2 | cut -c1-160)"; fi
if (($(kv "$IT_OUT/c-udp5096.out" received) >= 1)) && [[ $(kv "$IT_OUT/a3-trusted.out" final) == none ]]; then
	it_pass a3_trusted_peer_maddr_honoured
else
	it_fail a3_trusted_peer_maddr_honoured "phC:5096 received '$(kv "$IT_OUT/c-udp5096.out" received)', phB got final '$(kv "$IT_OUT/a3-trusted.out" final)' (expected the 200 at maddr)"
fi

# ------------------------------------------------ legitimate traffic beside it
sip_uac l1-reg phB $PHB register-auth.xml --service phoneb --auth phoneb --key domain edge.test --proxy 10.1.0.1:5060
sip_wait l1-reg 20
sip_assert_call l1_register l1-reg
if sip_uas l1-phB phB $PHB uas.xml --service phoneb --rtp-port 20010; then
	sip_uac l1-phA phA $PHA uac.xml --rtp-port 30010 --service phoneb \
		--proxy 203.0.113.1:5060 --ruri edge.test
	sip_wait l1-phA 40; sip_wait l1-phB 15
	sip_assert_call l1_outside_call_to_registered_user l1-phA l1-phB
	sip_assert_sdp_realm l1_phA_sdp_only_pool l1-phA "$POOL"
	sip_assert_media l1_phA_media_from_nat_address l1-phA 200/INVITE
	sip_assert_media l1_phB_media_from_phA l1-phB INVITE
	sip_assert_no_binding l1_no_binding_after_bye "$(sip_callid l1-phA)" natd
else
	it_fail l1_uas_ready "SIPp UAS on phB did not start"
fi
if sip_uas l2-phA phA $PHA uas.xml --rtp-port 30020; then
	sip_uac l2-phB phB $PHB uac-auth.xml --rtp-port 20020 --proxy 10.1.0.1:5060 --ruri $PHA:5060 \
		--auth phoneb --key domain edge.test
	sip_wait l2-phB 40; sip_wait l2-phA 15
	sip_assert_call l2_authenticated_inside_phone_calls_out l2-phB l2-phA
	sip_assert_event l2_challenged l2-phB challenged 407
	sip_assert_media l2_phA_media_from_nat_address l2-phA INVITE
	sip_assert_no_binding l2_no_binding_after_bye "$(sip_callid l2-phB)" natd
else
	it_fail l2_uas_ready "SIPp UAS on phA did not start"
fi
if grep -q 'relay refused: INVITE' "$IT_OUT/proxy.log"; then it_pass relay_refusal_logged
else it_fail relay_refusal_logged "no 'relay refused' line in the proxy's log"; fi
sip_assert_proxy_alive proxy_alive proxy
sip_proxy_excerpt proxy
it_done
