#!/bin/bash
# sip-scenario3: telephony scenario 3 of docs/design.md, "transit network with two
# NATs", on the "transit" topology: an ingress sipproxy in natA's namespace
# (natdA), an egress sipproxy in natB's (natdB).
#
#   phA 203.0.113.10 -- [natA: natdA + ingress 203.0.113.1 | 10.20.0.1] -- transit LAN 10.20.0.0/24
#        -- [natB: natdB + egress 10.20.0.2 | 192.0.2.1] -- phB 192.0.2.10
#
# Security (issue 11): phA authenticates at the ingress (phonea@a.example.net,
# 407 answered) for both calls, the two proxies trust each other as peers
# (trusted_peers), phB's REGISTER answers the egress's 401.
# Call 1: phA calls sip:service@192.0.2.10 through the ingress proxy, whose
# static route (192.0.2.0/24) sends it to the egress proxy, which sends it to
# the Request-URI host. The INVITE's SDP is rewritten twice (phA's address
# -> natdA's transit pool 10.20.1.0/28 -> natdB's access pool
# 198.51.100.128/28), the 200 OK's likewise in reverse (phB's -> natdB's
# transit pool 10.20.2.0/28 -> natdA's access pool 198.51.100.0/28). Each
# phone sees only addresses of the NAT in front of it, media flows both ways
# and crosses the transit LAN between the two transit pools (tcpdump on the
# transit bridge's port towards natA), the SDP on the transit LAN names only
# transit addresses, and after the BYE neither natd holds a binding of the call.
# Call 2: phB registers phoneb@b.example.net with the egress proxy; phA calls
# sip:phoneb@b.example.net (ingress: static domain route; egress: registrar).
# sip-scenario3-tls.sh runs this script with mutual TLS on the transit link
# through hooks it defines before sourcing it: s3_conf (writes ingress.conf
# and egress.conf), s3_transit_sip_check (what the capture of the transit
# LAN must show of the signalling) and s3_between_calls (after call 1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

it_require_root_net
it_require_natd
sip_require
command -v tcpdump >/dev/null || it_skip_all "tcpdump not installed"

sip_topo_up transit
sip_watch_start natdA
sip_watch_start natdB
# the two proxies trust each other as peers (and nobody else): phA
# authenticates at the ingress as phonea@a.example.net, phB registers at
# the egress as phoneb@b.example.net
if declare -F s3_conf >/dev/null; then
	s3_conf
else
	SIP_TRUSTED_INGRESS="" sip_conf_transit_ingress "$IT_OUT/ingress.conf"
	SIP_TRUSTED_EGRESS="" sip_conf_transit_egress "$IT_OUT/egress.conf"
fi
sip_proxy_start ingress natA "$IT_OUT/ingress.conf" || exit 1
sip_proxy_start egress natB "$IT_OUT/egress.conf" || exit 1

POOL_A=198.51.100.0/28      # natdA, towards phA
POOL_B=198.51.100.128/28    # natdB, towards phB
TRANSIT_A=10.20.1.0/28      # natdA's pool in the transit LAN
TRANSIT_B=10.20.2.0/28      # natdB's pool in the transit LAN

# ---------------------------------------------------------------- call 1
sip_capture_start transit1 transit pa || it_log "no capture on the transit LAN"

if ! sip_uas s3-phB phB 192.0.2.10 uas.xml --rtp-port 20000; then
	it_fail s3_uas_ready "SIPp UAS on phB did not start: $(tail -n 3 "$IT_OUT/s3-phB.stdout" | tr '\n' ' ')"
	exit 1
fi
sip_uac s3-phA phA 203.0.113.10 uac-auth.xml --rtp-port 30000 --auth phonea --key domain a.example.net \
	--proxy 203.0.113.1:5060 --ruri 192.0.2.10:5060
sip_wait s3-phA 40
sip_wait s3-phB 15
sip_wait_probe s3-phA 8
sip_wait_probe s3-phB 8
sip_capture_stop transit1
CALLID=$(sip_callid s3-phA)
it_info "call 1 Call-ID $CALLID"

sip_assert_call s3_call_completed s3-phA s3-phB
sip_assert_sdp s3_phA_200ok_names_natA_address s3-phA 200/INVITE "$POOL_A"
sip_assert_sdp_realm s3_phA_sdp_only_natA_addresses s3-phA "$POOL_A"
sip_assert_sdp s3_phB_invite_names_natB_address s3-phB INVITE "$POOL_B"
sip_assert_sdp_realm s3_phB_sdp_only_natB_addresses s3-phB "$POOL_B"
sip_assert_media s3_phA_media_from_natA_address s3-phA 200/INVITE
sip_assert_media s3_phB_media_from_natB_address s3-phB INVITE

# media on the transit LAN: between the two transit pools, both ways
if [[ -s $IT_OUT/transit1.pcap ]]; then
	ab=$(sip_capture_count transit1 "udp and not port 5060 and src net $TRANSIT_A and dst net $TRANSIT_B")
	ba=$(sip_capture_count transit1 "udp and not port 5060 and src net $TRANSIT_B and dst net $TRANSIT_A")
	leak=$(sip_capture_count transit1 "ip and (net 203.0.113.0/24 or net 192.0.2.0/24 or net 198.51.100.0/24)")
	if ((ab >= SIP_RTP_MIN && ba >= SIP_RTP_MIN)); then
		it_pass s3_media_crosses_transit_lan
		it_info "s3_media_crosses_transit_lan: $ab packets $TRANSIT_A -> $TRANSIT_B, $ba back"
	else
		it_fail s3_media_crosses_transit_lan "on the transit LAN: $ab packets $TRANSIT_A -> $TRANSIT_B, $ba back (min $SIP_RTP_MIN each)"
	fi
	if ((leak == 0)); then
		it_pass s3_no_access_address_on_transit_lan
	else
		it_fail s3_no_access_address_on_transit_lan "$leak packets on the transit LAN name an access-side address"
	fi
	if declare -F s3_transit_sip_check >/dev/null; then
		s3_transit_sip_check
	else
		# the SDP crossing the transit LAN names transit addresses only
		timeout 20 tcpdump -nn -A -r "$IT_OUT/transit1.pcap" port 5060 2>/dev/null >"$IT_OUT/transit1-sip.txt"
		sdp_addrs=$(grep -ao 'c=IN IP4 [0-9.]*' "$IT_OUT/transit1-sip.txt" | awk '{print $3}' | sort -u)
		bad=
		for a in $sdp_addrs; do sip_in_cidr "$a" "$TRANSIT_A" "$TRANSIT_B" || bad+="$a "; done
		if [[ -n $sdp_addrs && -z $bad ]]; then
			it_pass s3_transit_sdp_names_transit_pools
			it_info "s3_transit_sdp_names_transit_pools: $(tr '\n' ' ' <<<"$sdp_addrs")"
		else
			it_fail s3_transit_sdp_names_transit_pools "c= addresses on the transit LAN: '$(tr '\n' ' ' <<<"$sdp_addrs")' (outside the transit pools: '$bad')"
		fi
	fi
else
	it_fail s3_media_crosses_transit_lan "no capture of the transit LAN ($IT_OUT/transit1.tcpdump.log)"
fi

sip_assert_bindings s3_natdA_bindings_made_and_released natdA "$CALLID" 2 media
sip_assert_bindings s3_natdB_bindings_made_and_released natdB "$CALLID" 2 media
sip_assert_no_binding s3_no_binding_after_bye "$CALLID" natdA natdB
sip_ladder s3 phA=s3-phA phB=s3-phB
declare -F s3_between_calls >/dev/null && s3_between_calls

# ---------------------------------------------------------------- call 2
sip_uac s3r-reg phB 192.0.2.10 register-auth.xml --service phoneb --auth phoneb --key domain b.example.net \
	--proxy 192.0.2.1:5060
sip_wait s3r-reg 20
sip_assert_call s3r_register_at_egress s3r-reg
if sip_uas s3r-phB phB 192.0.2.10 uas.xml --rtp-port 20004; then
	sip_uac s3r-phA phA 203.0.113.10 uac-auth.xml --rtp-port 30004 --service phoneb \
		--auth phonea --key domain a.example.net --proxy 203.0.113.1:5060 --ruri b.example.net
	sip_wait s3r-phA 40
	sip_wait s3r-phB 15
	CALLID2=$(sip_callid s3r-phA)
	sip_assert_call s3r_call_by_domain_completed s3r-phA s3r-phB
	sip_assert_sdp_realm s3r_phA_sdp_only_natA_addresses s3r-phA "$POOL_A"
	sip_assert_sdp_realm s3r_phB_sdp_only_natB_addresses s3r-phB "$POOL_B"
	sip_assert_media s3r_phA_media_from_natA_address s3r-phA 200/INVITE
	sip_assert_media s3r_phB_media_from_natB_address s3r-phB INVITE
	sip_assert_no_binding s3r_no_binding_after_bye "$CALLID2" natdA natdB
	sip_ladder s3r phA=s3r-phA phB=s3r-phB
else
	it_fail s3r_uas_ready "SIPp UAS on phB did not start"
fi

sip_assert_proxy_alive s3_ingress_alive ingress
sip_assert_proxy_alive s3_egress_alive egress
sip_proxy_excerpt ingress
sip_proxy_excerpt egress
it_done
