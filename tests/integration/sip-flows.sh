#!/bin/bash
# sip-flows: SIP call flows through sipproxy and natd on the "edge" topology
# (see sip-scenario1.sh for the layout; proxy at 203.0.113.1 | 10.1.0.1).
#
#   f1 registration then call: phB registers phoneb@edge.test (Contact
#      10.1.0.10:5060); phA calls sip:phoneb@edge.test; the registrar routes it
#   f2 CANCEL before the answer: phB calls phA, phA rings, phB cancels
#      (200 to CANCEL, 487, ACK); the INVITE's binding is released
#   f3 486 Busy: phB calls phA, phA refuses; the INVITE's binding is released
#   f4 183 early media: phA calls phB; the 183's SDP is rewritten and media
#      flows from the NAT address before the 200
#   f5 re-INVITE to hold (a=sendonly) and back (a=sendrecv): every SDP phA
#      sees is rewritten, phB sees the direction attributes
#   f6 one call over TCP (SIPp -t t1 on both sides; phB registers
#      bob@edge.test over TCP, its Contact has ;transport=tcp)
# No phone is a trusted peer (issue 11): phB registers with its password,
# phB's calls out (From phoneb@edge.test) answer the proxy's 407, and phA's
# calls in go to phB's registered AoR (phoneb@edge.test, registered in f1
# for 300 s, or bob@edge.test over TCP), never to a numeric inside address.
# Each: the SIPp scenarios end successfully, the SDP the outside phone sees
# names only pool addresses, media (where there is a call) comes from the
# addresses the SDP named, and no binding labelled call:<Call-ID> remains.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

it_require_root_net
it_require_natd
sip_require

sip_topo_up edge
sip_watch_start natd
sip_conf_edge "$IT_OUT/proxy.conf"
sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || exit 1

POOL=198.51.100.0/28
PHA=203.0.113.10
PHB=10.1.0.10

# uas_or_fail NAME ARGS...: start a UAS or report why not.
uas_or_fail() {
	local name=$1
	if sip_uas "$@"; then return 0; fi
	it_fail "${name}_uas_ready" "SIPp UAS did not start: $(tail -n 3 "$IT_OUT/$name.stdout" | tr '\n' ' ')"
	return 1
}

# ------------------------------------------------ f1: registration, then a call
sip_uac f1-reg phB $PHB register-auth.xml --service phoneb --auth phoneb --key domain edge.test --proxy 10.1.0.1:5060
sip_wait f1-reg 20
sip_assert_call f1_register f1-reg
sip_assert_event f1_registered f1-reg registered 200
if uas_or_fail f1-phB phB $PHB uas.xml --service phoneb --rtp-port 20010; then
	sip_uac f1-phA phA $PHA uac.xml --rtp-port 30010 --service phoneb \
		--proxy 203.0.113.1:5060 --ruri edge.test
	sip_wait f1-phA 40; sip_wait f1-phB 15
	cid=$(sip_callid f1-phA)
	sip_assert_call f1_call_to_registered_user f1-phA f1-phB
	sip_assert_sdp_realm f1_phA_sdp_only_pool f1-phA "$POOL"
	sip_assert_media f1_phA_media_from_nat_address f1-phA 200/INVITE
	sip_assert_media f1_phB_media_from_phA f1-phB INVITE
	sip_assert_no_binding f1_no_binding_after_bye "$cid" natd
	sip_ladder f1 phA=f1-phA phB=f1-phB
fi

# ------------------------------------------------ f2: CANCEL before the answer
if uas_or_fail f2-phA phA $PHA uas-ring-cancel.xml --rtp-port 30020; then
	sip_uac f2-phB phB $PHB uac-cancel.xml --rtp-port 20020 --auth phoneb \
		--proxy 10.1.0.1:5060 --ruri $PHA:5060
	sip_wait f2-phB 40; sip_wait f2-phA 20
	cid=$(sip_callid f2-phB)
	sip_assert_call f2_cancel_flow f2-phB f2-phA
	sip_assert_event f2_caller_got_487 f2-phB final 487
	sip_assert_event f2_invite_challenged f2-phB challenged 407
	sip_assert_sdp f2_phA_invite_names_pool_address f2-phA INVITE "$POOL"
	sip_assert_bindings f2_binding_made_and_released natd "$cid" 1
	sip_assert_no_binding f2_no_binding_after_cancel "$cid" natd
	sip_ladder f2 phB=f2-phB phA=f2-phA
fi

# ------------------------------------------------ f3: 486 Busy Here
if uas_or_fail f3-phA phA $PHA uas-busy.xml --rtp-port 30030; then
	sip_uac f3-phB phB $PHB uac-busy.xml --rtp-port 20030 --auth phoneb \
		--proxy 10.1.0.1:5060 --ruri $PHA:5060
	sip_wait f3-phB 40; sip_wait f3-phA 15
	cid=$(sip_callid f3-phB)
	sip_assert_call f3_busy_flow f3-phB f3-phA
	sip_assert_event f3_caller_got_486 f3-phB final 486
	sip_assert_event f3_invite_challenged f3-phB challenged 407
	sip_assert_sdp f3_phA_invite_names_pool_address f3-phA INVITE "$POOL"
	sip_assert_bindings f3_binding_made_and_released natd "$cid" 1
	sip_assert_no_binding f3_no_binding_after_486 "$cid" natd
	sip_ladder f3 phB=f3-phB phA=f3-phA
fi

# ------------------------------------------------ f4: 183 early media
if uas_or_fail f4-phB phB $PHB uas-183.xml --service phoneb --rtp-port 20040; then
	sip_uac f4-phA phA $PHA uac-183.xml --rtp-port 30040 --duration 500 --service phoneb \
		--proxy 203.0.113.1:5060 --ruri edge.test
	sip_wait f4-phA 40; sip_wait f4-phB 15
	cid=$(sip_callid f4-phA)
	sip_assert_call f4_early_media_flow f4-phA f4-phB
	sip_assert_sdp f4_phA_183_names_pool_address f4-phA 183/INVITE "$POOL"
	sip_assert_sdp f4_phA_200_names_pool_address f4-phA 200/INVITE "$POOL"
	sip_assert_sdp_realm f4_phA_sdp_only_pool f4-phA "$POOL"
	sip_assert_media f4_phA_early_media_from_nat_address f4-phA 183/INVITE
	sip_assert_media f4_phB_early_media_from_phA f4-phB INVITE
	sip_assert_no_binding f4_no_binding_after_bye "$cid" natd
	sip_ladder f4 phA=f4-phA phB=f4-phB
fi

# ------------------------------------------------ f5: re-INVITE, hold and resume
if uas_or_fail f5-phB phB $PHB uas-reinvite.xml --service phoneb --rtp-port 20050; then
	sip_uac f5-phA phA $PHA uac-reinvite-hold.xml --rtp-port 30050 --duration 1500 --service phoneb \
		--proxy 203.0.113.1:5060 --ruri edge.test
	sip_wait f5-phA 40; sip_wait f5-phB 15
	cid=$(sip_callid f5-phA)
	sip_assert_call f5_hold_resume_flow f5-phA f5-phB
	sip_assert_sdp_realm f5_phA_sdp_only_pool f5-phA "$POOL"
	sip_assert_sdp f5_phA_hold_answer_names_pool_address f5-phA 200/reINVITE-hold "$POOL"
	sip_assert_sdp f5_phA_resume_answer_names_pool_address f5-phA 200/reINVITE-resume "$POOL"
	d1=$(sip_sdp f5-phB reINVITE-hold dir) d2=$(sip_sdp f5-phA 200/reINVITE-hold dir) d3=$(sip_sdp f5-phB reINVITE-resume dir)
	if [[ $d1 == sendonly && $d2 == recvonly && $d3 == sendrecv ]]; then
		it_pass f5_direction_attributes_pass_through
	else
		it_fail f5_direction_attributes_pass_through "phB got '$d1' (hold) and '$d3' (resume), phA got '$d2' in the hold answer"
	fi
	sip_assert_media f5_phA_media_from_nat_address f5-phA 200/INVITE
	sip_assert_media f5_phB_media_from_phA f5-phB INVITE
	sip_assert_no_binding f5_no_binding_after_bye "$cid" natd
	sip_ladder f5 phA=f5-phA phB=f5-phB
fi

# ------------------------------------------------ f6: a call over TCP
sip_uac f6-reg phB $PHB register-auth.xml --transport t1 --service bob --auth bob --key domain edge.test \
	--proxy 10.1.0.1:5060
sip_wait f6-reg 20
sip_assert_call f6_register_over_tcp f6-reg
if uas_or_fail f6-phB phB $PHB uas.xml --service bob --rtp-port 20060 --transport t1; then
	sip_uac f6-phA phA $PHA uac.xml --rtp-port 30060 --transport t1 --service bob \
		--proxy 203.0.113.1:5060 --ruri edge.test
	sip_wait f6-phA 40; sip_wait f6-phB 15
	cid=$(sip_callid f6-phA)
	sip_assert_call f6_tcp_call_completed f6-phA f6-phB
	sip_assert_sdp_realm f6_phA_sdp_only_pool f6-phA "$POOL"
	sip_assert_media f6_phA_media_from_nat_address f6-phA 200/INVITE
	sip_assert_media f6_phB_media_from_phA f6-phB INVITE
	sip_assert_no_binding f6_no_binding_after_bye "$cid" natd
	sip_ladder f6 phA=f6-phA phB=f6-phB
fi

sip_assert_proxy_alive flows_proxy_alive proxy
sip_proxy_excerpt proxy
it_done
