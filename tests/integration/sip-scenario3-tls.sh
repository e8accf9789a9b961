#!/bin/bash
# sip-scenario3-tls: scenario 3 (sip-scenario3.sh) with mutual TLS on the
# transit link (issue 13): the ingress and egress proxies speak SIP to each
# other only over TLS and each authenticates the other by certificate.
#
#   phA 203.0.113.10 --UDP-- [natA: natdA + ingress 203.0.113.1 | 10.20.0.1:5061]
#        ==mutual TLS over the transit LAN==
#   [natB: natdB + egress 10.20.0.2:5061 | 192.0.2.1] --UDP-- phB 192.0.2.10
#   rogue 10.20.0.3 (an address on the transit bridge) with a certificate
#   carrying the proxies' names, signed by another CA
#
# Certificates from tests/lib/tls-pki.sh: one test CA; ingress.a.example.net
# and egress.b.example.net. Each proxy's transit listener is TLS only (no
# UDP or TCP towards the transit LAN), its route to the other is
# "transport = tls", and tls.peers names the other (prefix and certificate
# name, mutual = true). The ingress's peer entry covers the whole transit
# LAN (10.20.0.0/24), so anything there connecting to the egress must show
# the ingress's certificate.
# Call 1 (before the attack): phA calls sip:service@192.0.2.10; checks as
# sip-scenario3.sh's call 1 (call completed, each phone sees only its own
# NAT's addresses, media both ways from those addresses, media across the
# transit LAN between the transit pools, bindings released), and: the
# transit capture carries TCP to port 5061 with no SIP text in clear; one
# established TCP connection between the proxies on 5061.
# The rogue: three TLS connections from 10.20.0.3 to the egress presenting
# the rogue certificate, each sending an OPTIONS: no SIP answer comes back,
# the connection is closed; the egress counts them (status view tls_*
# counters) and logs the refusal once for the source. A plain TCP connection
# to 5061 sending SIP text gets no answer either.
# Call 2 (after the attack, the same proxies): phB registers at the egress,
# phA calls sip:phoneb@b.example.net: completed with media, the proxies alive.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"
. "$(dirname "$0")/tlslib.sh"

it_require_root_net
it_require_natd
sip_require
command -v tcpdump >/dev/null || it_skip_all "tcpdump not installed"
command -v openssl >/dev/null || it_skip_all "openssl not installed (the test PKI is made with it)"

PKI=$IT_OUT/pki
"$NT_ROOT/tests/lib/tls-pki.sh" "$PKI" >"$IT_OUT/tls-pki.log" 2>&1 ||
	it_skip_all "tests/lib/tls-pki.sh failed: $(tail -n 1 "$IT_OUT/tls-pki.log")"

POOL_A=198.51.100.0/28 POOL_B=198.51.100.128/28 TRANSIT_A=10.20.1.0/28 TRANSIT_B=10.20.2.0/28
ROGUE=10.20.0.3

for r in ingress egress; do
	TLS_CONF_EXTRA="status_socket = \"$IT_OUT/$r.status\";" SIP_TRUSTED_INGRESS="" SIP_TRUSTED_EGRESS="" \
		tls_transit_conf "$IT_OUT/$r.conf" "$r" "$PKI"
done
for r in ingress egress; do
	if ! "$SIP_PROXY" -n -c "$IT_OUT/$r.conf" >"$IT_OUT/$r-check.out" 2>&1; then
		it_skip_all "this sipproxy has no TLS transport: sipproxy -n says $(head -n 1 "$IT_OUT/$r-check.out")"
	fi
done
it_check config_transit_tls_only "the transit listener or the route is not TLS-only (see $IT_OUT/*.conf)" \
	grep -q 'next_hop = "10.20.0.2:5061"; transport = "tls"' "$IT_OUT/ingress.conf"

sip_topo_up transit
sip_watch_start natdA
sip_watch_start natdB
ip -n "$(it_ns transit)" addr add "$ROGUE/24" dev br0
sip_proxy_start ingress natA "$IT_OUT/ingress.conf" || exit 1
sip_proxy_start egress natB "$IT_OUT/egress.conf" || exit 1
it_check egress_tls_listener "the egress does not listen on 10.20.0.2:5061" nt_poll 5 tls_listening "$(it_ns natB)" 10.20.0.2:5061
it_check ingress_tls_listener "the ingress does not listen on 10.20.0.1:5061" nt_poll 5 tls_listening "$(it_ns natA)" 10.20.0.1:5061
it_check egress_no_udp_on_transit "the egress still listens for UDP on the transit LAN" \
	bash -c "! ip netns exec $(it_ns natB) ss -Hlun 'src 10.20.0.2' | grep -q ."

# status counters: every tls_* counter of a proxy's status view, key=value
tls_counters() {
	timeout 5 "$SIP_PROXY" -S -c "$IT_OUT/$1.conf" 2>/dev/null | grep -o '\btls_[a-z_]*=[0-9]*' | sort -u | tr '\n' ' '
}
tls_refusals() { # ROLE: the sum of the counters that count refused peers/handshakes
	tls_counters "$1" | tr ' ' '\n' | grep -E '^tls_(peer_rejected|handshake_failed|verify_failed|peer_refused)[a-z_]*=' |
		cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }'
}

# ---------------------------------------------------------------- call 1
sip_capture_start transit1 transit pa || it_log "no capture on the transit LAN"
if ! sip_uas s3t-phB phB 192.0.2.10 uas.xml --rtp-port 20000; then
	it_fail s3t_uas_ready "SIPp UAS on phB did not start: $(tail -n 3 "$IT_OUT/s3t-phB.stdout" | tr '\n' ' ')"
	exit 1
fi
sip_uac s3t-phA phA 203.0.113.10 uac-auth.xml --rtp-port 30000 --auth phonea --key domain a.example.net \
	--proxy 203.0.113.1:5060 --ruri 192.0.2.10:5060
sip_wait s3t-phA 40
sip_wait s3t-phB 15
sip_wait_probe s3t-phA 8
sip_wait_probe s3t-phB 8
established=$(ip netns exec "$(it_ns natA)" ss -Htn state established "dst 10.20.0.2:5061" | wc -l)
established=$((established + $(ip netns exec "$(it_ns natB)" ss -Htn state established "dst 10.20.0.1:5061" | wc -l)))
sip_capture_stop transit1
CALLID=$(sip_callid s3t-phA)
it_info "call 1 Call-ID $CALLID"

sip_assert_call s3t_call_completed s3t-phA s3t-phB
sip_assert_sdp s3t_phA_200ok_names_natA_address s3t-phA 200/INVITE "$POOL_A"
sip_assert_sdp_realm s3t_phA_sdp_only_natA_addresses s3t-phA "$POOL_A"
sip_assert_sdp s3t_phB_invite_names_natB_address s3t-phB INVITE "$POOL_B"
sip_assert_sdp_realm s3t_phB_sdp_only_natB_addresses s3t-phB "$POOL_B"
sip_assert_media s3t_phA_media_from_natA_address s3t-phA 200/INVITE
sip_assert_media s3t_phB_media_from_natB_address s3t-phB INVITE
it_check s3t_tls_connection_between_proxies "no established TCP connection between the proxies on port 5061" \
	test "$established" -ge 1
if [[ -s $IT_OUT/transit1.pcap ]]; then
	tls_pkts=$(sip_capture_count transit1 "tcp port 5061")
	sip_other=$(sip_capture_count transit1 "port 5060")
	clear=$(timeout 20 tcpdump -nn -A -r "$IT_OUT/transit1.pcap" "tcp port 5061" 2>/dev/null |
		grep -a -c -E 'SIP/2\.0|INVITE sip:|c=IN IP4')
	it_check s3t_transit_signalling_encrypted \
		"transit LAN: $tls_pkts packets on TCP 5061, $clear lines of SIP text in them, $sip_other packets on port 5060" \
		test "$tls_pkts" -gt 0 -a "$clear" -eq 0 -a "$sip_other" -eq 0
	ab=$(sip_capture_count transit1 "udp and src net $TRANSIT_A and dst net $TRANSIT_B")
	ba=$(sip_capture_count transit1 "udp and src net $TRANSIT_B and dst net $TRANSIT_A")
	it_check s3t_media_crosses_transit_lan "on the transit LAN: $ab packets $TRANSIT_A -> $TRANSIT_B, $ba back (min $SIP_RTP_MIN each)" \
		test "$ab" -ge "$SIP_RTP_MIN" -a "$ba" -ge "$SIP_RTP_MIN"
else
	it_fail s3t_transit_signalling_encrypted "no capture of the transit LAN ($IT_OUT/transit1.tcpdump.log)"
fi
sip_assert_bindings s3t_natdA_bindings_made_and_released natdA "$CALLID" 2 media
sip_assert_bindings s3t_natdB_bindings_made_and_released natdB "$CALLID" 2 media
sip_assert_no_binding s3t_no_binding_after_bye "$CALLID" natdA natdB
sip_ladder s3t phA=s3t-phA phB=s3t-phB

# ---------------------------------------------------------------- the rogue
# rogue_try NAME: a TLS client at 10.20.0.3 with the rogue certificate (the
# proxies' names, the wrong CA) sends an OPTIONS to the egress; prints what
# came back (bounded: s_client ends when the server closes, or after 5 s).
rogue_try() {
	{
		printf 'OPTIONS sip:egress.b.example.net SIP/2.0\r\nVia: SIP/2.0/TLS %s:5061;branch=z9hG4bK-rogue-%s\r\n' "$ROGUE" "$1"
		printf 'Max-Forwards: 70\r\nFrom: <sip:rogue@a.example.net>;tag=%s\r\nTo: <sip:egress.b.example.net>\r\n' "$1"
		printf 'Call-ID: rogue-%s\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n' "$1"
		sleep 3
	} | ip netns exec "$(it_ns transit)" timeout 8 openssl s_client -connect 10.20.0.2:5061 -bind "$ROGUE:0" \
		-cert "$PKI/rogue.crt" -key "$PKI/rogue.key" -CAfile "$PKI/ca.crt" -servername egress.b.example.net \
		-ign_eof >"$IT_OUT/rogue-$1.out" 2>&1
}
before=$(tls_refusals egress)
log_before=$(grep -c -i '10\.20\.0\.3' "$IT_OUT/egress.log")
for i in 1 2 3; do rogue_try "$i"; done
answered=$(cat "$IT_OUT"/rogue-[123].out | grep -a -c '^SIP/2\.0 ')
it_check s3t_rogue_gets_no_answer "the egress answered the rogue's OPTIONS $answered time(s) (see $IT_OUT/rogue-*.out)" \
	test "$answered" -eq 0
after=$(tls_refusals egress)
it_info "egress tls counters after the rogue: $(tls_counters egress)"
it_check s3t_rogue_counted "the egress's refused-handshake counters went $before -> $after for 3 rogue connections" \
	test "$after" -ge $((before + 3))
logged=$(($(grep -c -i '10\.20\.0\.3' "$IT_OUT/egress.log") - log_before))
it_info "egress log lines naming the rogue: $(grep -i '10\.20\.0\.3' "$IT_OUT/egress.log" | head -n 3 | tr '\n' '|')"
it_check s3t_rogue_logged_once "the egress logged $logged lines about the rogue's 3 connections, want 1" test "$logged" -eq 1
# SIP text in clear to the TLS port: no answer
printf 'OPTIONS sip:egress.b.example.net SIP/2.0\r\nVia: SIP/2.0/TCP %s:5061;branch=z9hG4bK-plain\r\nContent-Length: 0\r\n\r\n' "$ROGUE" |
	ip netns exec "$(it_ns transit)" timeout 8 python3 -c '
import socket, sys
s = socket.create_connection(("10.20.0.2", 5061), timeout=5)
s.sendall(sys.stdin.buffer.read())
try:
    print(s.recv(4096).decode("latin-1"))
except OSError:
    pass' >"$IT_OUT/plain-to-tls.out" 2>&1
it_check s3t_plain_sip_to_tls_port_refused "the egress answered clear SIP on its TLS port: $(head -c 80 "$IT_OUT/plain-to-tls.out")" \
	bash -c "! grep -a -q '^SIP/2\.0 ' '$IT_OUT/plain-to-tls.out'"

# ---------------------------------------------------------------- call 2
sip_uac s3tr-reg phB 192.0.2.10 register-auth.xml --service phoneb --auth phoneb --key domain b.example.net \
	--proxy 192.0.2.1:5060
sip_wait s3tr-reg 20
sip_assert_call s3tr_register_at_egress s3tr-reg
if sip_uas s3tr-phB phB 192.0.2.10 uas.xml --rtp-port 20004; then
	sip_uac s3tr-phA phA 203.0.113.10 uac-auth.xml --rtp-port 30004 --service phoneb \
		--auth phonea --key domain a.example.net --proxy 203.0.113.1:5060 --ruri b.example.net
	sip_wait s3tr-phA 40
	sip_wait s3tr-phB 15
	CALLID2=$(sip_callid s3tr-phA)
	sip_assert_call s3tr_call_after_rogue_completed s3tr-phA s3tr-phB
	sip_assert_media s3tr_phA_media_from_natA_address s3tr-phA 200/INVITE
	sip_assert_media s3tr_phB_media_from_natB_address s3tr-phB INVITE
	sip_assert_no_binding s3tr_no_binding_after_bye "$CALLID2" natdA natdB
else
	it_fail s3tr_uas_ready "SIPp UAS on phB did not start"
fi

sip_assert_proxy_alive s3t_ingress_alive ingress
sip_assert_proxy_alive s3t_egress_alive egress
sip_proxy_excerpt ingress
sip_proxy_excerpt egress
it_done
