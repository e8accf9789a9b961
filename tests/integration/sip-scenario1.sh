#!/bin/bash
# sip-scenario1: telephony scenario 1 of docs/design.md, "target phone inside the
# NAT", on the "edge" topology with sipproxy in the edge namespace.
#
#   phA 203.0.113.10 (SIPp UAC) -- [edge: natd + sipproxy 203.0.113.1 | 10.1.0.1] -- phB 10.1.0.10 (SIPp UAS)
#
# phB registers phoneb@edge.test (digest authentication, from inside), then
# phA calls sip:phoneb@edge.test through the proxy (outbound proxy
# 203.0.113.1): an incoming call to a registered user, which the relay
# policy serves without authenticating phA (no trusted peer here; a call to
# phB's numeric address would get 403). The INVITE's SDP (phA's public
# address) reaches phB as it is; the proxy asks natd for an outside address for phB's SDP endpoint and
# rewrites the 200 OK, so phA sees a pool address (198.51.100.0/28). Media
# (an RTP probe on each side, started by the scenarios once the remote SDP is
# known) flows both ways at once; phA receives it from the pool address its
# SDP named. After the BYE natd holds no binding labelled call:<Call-ID>.
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

sip_uac s1-reg phB 10.1.0.10 register-auth.xml --service phoneb --auth phoneb --key domain edge.test \
	--proxy 10.1.0.1:5060
sip_wait s1-reg 20
sip_assert_call s1_phB_registered s1-reg
sip_assert_event s1_register_challenged s1-reg challenged 401
if ! sip_uas s1-phB phB 10.1.0.10 uas.xml --service phoneb --rtp-port 20000; then
	it_fail s1_uas_ready "SIPp UAS on phB did not start: $(tail -n 3 "$IT_OUT/s1-phB.stdout" | tr '\n' ' ')"
	exit 1
fi
sip_uac s1-phA phA 203.0.113.10 uac.xml --rtp-port 30000 --service phoneb \
	--proxy 203.0.113.1:5060 --ruri edge.test
sip_wait s1-phA 40
sip_wait s1-phB 15
CALLID=$(sip_callid s1-phA)
it_info "Call-ID $CALLID"

sip_assert_call s1_call_completed s1-phA s1-phB
# phA (outside) must only ever see the NAT's outside addresses
sip_assert_sdp s1_phA_200ok_names_pool_address s1-phA 200/INVITE "$POOL"
sip_assert_sdp_realm s1_phA_sdp_only_outside_addresses s1-phA "$POOL"
# phB (inside) gets phA's public address, reachable through natd
sip_assert_sdp_realm s1_phB_sdp_names_phA s1-phB 203.0.113.10/32
sip_assert_media s1_phA_media_from_nat_address s1-phA 200/INVITE
sip_assert_media s1_phB_media_from_phA s1-phB INVITE
sip_assert_bindings s1_natd_bindings_made_and_released natd "$CALLID" 1 media
sip_assert_no_binding s1_no_binding_after_bye "$CALLID" natd
sip_assert_proxy_alive s1_proxy_alive proxy

sip_ladder s1 phA=s1-phA phB=s1-phB
sip_proxy_excerpt proxy
it_done
