#!/bin/bash
# sip-scenario2: telephony scenario 2 of docs/design.md, "caller inside the NAT",
# on the "edge" topology with sipproxy in the edge namespace.
#
#   phB 10.1.0.10 (SIPp UAC) -- [edge: natd + sipproxy 10.1.0.1 | 203.0.113.1] -- phA 203.0.113.10 (SIPp UAS)
#
# phB calls sip:service@203.0.113.10 through the proxy (outbound proxy
# 10.1.0.1) as phoneb@edge.test, answering the proxy's 407 challenge:
# only an authenticated user of the domain may have the proxy relay to an
# outside address (no trusted peer here). The proxy asks natd for an outside address for phB's SDP
# endpoint and rewrites the INVITE, so phA sees a pool address; the 200 OK
# (phA's public address) reaches phB unchanged. Media both ways at once;
# phA receives it from the pool address the INVITE named. After the BYE natd
# holds no binding labelled call:<Call-ID>.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

it_require_root_net
it_require_natd
sip_require

sip_topo_up edge
sip_watch_start natd
SIP_TRUSTED_PEERS="" sip_conf_edge "$IT_OUT/proxy.conf"
sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || exit 1

POOL=198.51.100.0/28

if ! sip_uas s2-phA phA 203.0.113.10 uas.xml --rtp-port 30000; then
	it_fail s2_uas_ready "SIPp UAS on phA did not start: $(tail -n 3 "$IT_OUT/s2-phA.stdout" | tr '\n' ' ')"
	exit 1
fi
sip_uac s2-phB phB 10.1.0.10 uac-auth.xml --rtp-port 20000 --auth phoneb --key domain edge.test \
	--proxy 10.1.0.1:5060 --ruri 203.0.113.10:5060
sip_wait s2-phB 40
sip_wait s2-phA 15
CALLID=$(sip_callid s2-phB)
it_info "Call-ID $CALLID"

sip_assert_call s2_call_completed s2-phB s2-phA
sip_assert_event s2_invite_challenged s2-phB challenged 407
sip_assert_sdp s2_phA_invite_names_pool_address s2-phA INVITE "$POOL"
sip_assert_sdp_realm s2_phA_sdp_only_outside_addresses s2-phA "$POOL"
sip_assert_sdp_realm s2_phB_sdp_names_phA s2-phB 203.0.113.10/32
sip_assert_media s2_phA_media_from_nat_address s2-phA INVITE
sip_assert_media s2_phB_media_from_phA s2-phB 200/INVITE
sip_assert_bindings s2_natd_bindings_made_and_released natd "$CALLID" 1 media
sip_assert_no_binding s2_no_binding_after_bye "$CALLID" natd
sip_assert_proxy_alive s2_proxy_alive proxy

sip_ladder s2 phB=s2-phB phA=s2-phA
sip_proxy_excerpt proxy
it_done
