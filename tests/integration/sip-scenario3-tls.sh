#!/bin/bash
# sip-scenario3-tls: scenario 3 (sip-scenario3.sh, all of its checks) with
# mutual TLS on the transit link (issue 13): the ingress and egress proxies
# speak SIP to each other only over TLS and each authenticates the other by
# certificate.
#
#   phA 203.0.113.10 --UDP-- [natA: natdA + ingress 203.0.113.1 | 10.20.0.1:5061]
#        ==mutual TLS over the transit LAN==
#   [natB: natdB + egress 10.20.0.2:5061 | 192.0.2.1] --UDP-- phB 192.0.2.10
#   rogue 10.20.0.3 (an address on the transit bridge) with a certificate
#   carrying the proxies' names, signed by another CA
#
# Certificates from tests/lib/tls-pki.sh (one test CA; ingress.a.example.net,
# egress.b.example.net). tests/integration/tlslib.sh writes the configs:
# each proxy's transit listener is TLS only, its routes to the other are
# "transport = tls" to port 5061, tls.peers names the other (prefix and
# certificate name, mutual = true); the egress's entry covers the whole
# transit LAN (10.20.0.0/24), so anything there must show the ingress's
# certificate. This script defines sip-scenario3.sh's hooks and runs it:
#   s3_conf               the TLS configs (SKIP when sipproxy -n rejects them)
#   s3_transit_sip_check  instead of reading the SDP on the transit LAN: the
#                         capture holds TCP to port 5061 and no SIP text, no
#                         port 5060; the proxies hold an established
#                         connection on 5061
#   s3_between_calls      the rogue: three TLS connections from 10.20.0.3 to
#                         the egress with the rogue certificate, each sending
#                         an OPTIONS, get no SIP answer; the egress counts
#                         them (its status view's tls line) and logs
#                         the refusal once; clear SIP sent to port 5061 gets
#                         no answer. Call 2 of sip-scenario3.sh then runs
#                         through the same proxies.
# (sip-scenario3.sh sources lib.sh and siplib.sh; the hooks run after that)
. "$(dirname "$0")/tlslib.sh"
ROGUE=10.20.0.3

s3_conf() {
	local r
	command -v openssl >/dev/null || it_skip_all "openssl not installed (the test PKI is made with it)"
	PKI=$IT_OUT/pki
	"$NT_ROOT/tests/lib/tls-pki.sh" "$PKI" >"$IT_OUT/tls-pki.log" 2>&1 ||
		it_skip_all "tests/lib/tls-pki.sh failed: $(tail -n 1 "$IT_OUT/tls-pki.log")"
	for r in ingress egress; do
		TLS_CONF_EXTRA="status_socket = \"$IT_OUT/$r.status\";" SIP_TRUSTED_INGRESS="" SIP_TRUSTED_EGRESS="" \
			tls_transit_conf "$IT_OUT/$r.conf" "$r" "$PKI"
		tls_conf_check "$IT_OUT/$r.conf" || exit 1
	done
	ip -n "$(it_ns transit)" addr add "$ROGUE/24" dev br0
}

s3_transit_sip_check() {
	local tls sip_other clear est
	tls=$(sip_capture_count transit1 "tcp port 5061")
	sip_other=$(sip_capture_count transit1 "port 5060")
	clear=$(timeout 20 tcpdump -nn -A -r "$IT_OUT/transit1.pcap" "tcp port 5061" 2>/dev/null |
		grep -a -c -E 'SIP/2\.0|INVITE sip:|c=IN IP4')
	it_check s3_transit_signalling_encrypted \
		"transit LAN: $tls packets on TCP 5061, $clear lines of SIP text in them, $sip_other packets on port 5060" \
		test "$tls" -gt 0 -a "$clear" -eq 0 -a "$sip_other" -eq 0
	est=$(ip netns exec "$(it_ns natA)" ss -Htn state established "( dport = :5061 or sport = :5061 )" | wc -l)
	it_check s3_tls_connection_between_proxies "no established connection on port 5061 in natA" test "$est" -ge 1
}

# tls_counters ROLE: the "tls" line of a proxy's status view (sipproxy -S)
tls_counters() { timeout 5 "$SIP_PROXY" -S -c "$IT_OUT/$1.conf" 2>/dev/null | grep -m1 '^tls '; }
# tls_refusals ROLE: handshakes failed + peers rejected for their certificate
tls_refusals() {
	tls_counters "$1" | tr ' ' '\n' | grep -E '^(handshake_failed|peer_rejected)=' | cut -d= -f2 |
		awk '{ s += $1 } END { print s + 0 }'
}
# rogue_try N: a TLS client at 10.20.0.3 with the rogue certificate sends an
# OPTIONS to the egress; what came back in $IT_OUT/rogue-N.out (bounded)
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
s3_between_calls() {
	local before after answered logged log_before i
	before=$(tls_refusals egress)
	log_before=$(grep -c '10\.20\.0\.3' "$IT_OUT/egress.log")
	for i in 1 2 3; do rogue_try "$i"; done
	answered=$(cat "$IT_OUT"/rogue-[123].out | grep -a -c '^SIP/2\.0 ')
	it_check s3_rogue_gets_no_answer "the egress answered the rogue's OPTIONS $answered time(s) (see $IT_OUT/rogue-*.out)" \
		test "$answered" -eq 0
	after=$(tls_refusals egress)
	it_info "egress tls counters after the rogue: $(tls_counters egress)"
	it_check s3_rogue_counted "the egress's refused-handshake counters went $before -> $after for 3 rogue connections" \
		test "$after" -ge $((before + 3))
	logged=$(($(grep -c '10\.20\.0\.3' "$IT_OUT/egress.log") - log_before))
	it_info "egress log lines naming the rogue: $(grep '10\.20\.0\.3' "$IT_OUT/egress.log" | head -n 3 | tr '\n' '|')"
	it_check s3_rogue_logged_once "the egress logged $logged lines about the rogue's 3 connections, want 1" test "$logged" -eq 1
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
	it_check s3_plain_sip_to_tls_port_unanswered "the egress answered clear SIP on its TLS port: $(head -c 80 "$IT_OUT/plain-to-tls.out")" \
		bash -c "! grep -a -q '^SIP/2\.0 ' '$IT_OUT/plain-to-tls.out'"
}

# shellcheck source=tests/integration/sip-scenario3.sh
. "$(dirname "$0")/sip-scenario3.sh"
