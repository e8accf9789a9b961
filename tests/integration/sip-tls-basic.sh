#!/bin/bash
# sip-tls-basic: SIP over TLS through sipproxy on the "edge" topology
# (issue 13), with throw-away certificates made here by openssl(1).
#
#   phA 203.0.113.10 (siptls.py, the "carrier": mutual TLS) --TLS 5061--
#       [edge: natd + sipproxy 203.0.113.1 | 10.1.0.1] --TLS 5061-- phB 10.1.0.10
#
# SIPp of Debian 12 has no TLS, so the phones are tests/tools/siptls.py.
#  1. sipproxy -n: conf/sipproxy-tls.conf.example (its paths pointed at the
#     certificates made here) passes; the same with the key mode 0644, or
#     a key of another certificate, fails naming the file.
#  2. phB registers phoneb@edge.test over TLS (digest), keeps its
#     connection; phA (tls.peers: 203.0.113.10 is carrier.example, mutual)
#     calls sip:phoneb@edge.test presenting carrier.example's certificate:
#     the call completes (INVITE, 180, 200, ACK and BYE along the
#     Record-Route); phB sees Via SIP/2.0/TLS and both Record-Route entries
#     with transport=tls and port 5061 (two realms: two entries).
#  3. Beside that call, at the same time: a TCP client that never starts a
#     handshake is closed after tls.handshake_timeout (2 s) and counted; one
#     sending SIP in clear is closed and counted; phA presenting another
#     name's certificate (same CA), and none at all, is refused and counted
#     (tls_peer_rejected), and logged once, not twice.
#  4. SIGHUP with a renewed certificate: a phone connected before keeps its
#     connection (and takes the next call over it); a new connection gets
#     the new certificate.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

: "${SIPTLS:=$NT_ROOT/tests/tools/siptls.py}"

it_require_root_net
it_require_natd
sip_require
command -v openssl >/dev/null || it_skip_all "openssl not installed (Debian package openssl)"

# ------------------------------------------------------------ certificates
PKI=$IT_OUT/pki
mkdir -p "$PKI"
# mkcert NAME CN SAN: NAME.pem/NAME.key signed by the test CA (key mode 0600)
mkcert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/$1.key" \
		-out "$PKI/$1.csr" -subj "/CN=$2" 2>>"$PKI/openssl.log" &&
		printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$3" >"$PKI/$1.ext" &&
		openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial \
			-days 2 -out "$PKI/$1.pem" -extfile "$PKI/$1.ext" 2>>"$PKI/openssl.log" &&
		chmod 600 "$PKI/$1.key"
}
if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/ca.key" \
	-out "$PKI/ca.pem" -days 2 -subj "/CN=natedge test CA" 2>>"$PKI/openssl.log" ||
	! mkcert proxy edge.test "DNS:edge.test,IP:10.1.0.1,IP:203.0.113.1" ||
	! mkcert carrier carrier.example "DNS:carrier.example" ||
	! mkcert evil evil.example "DNS:evil.example"; then
	it_fail certificates "openssl: $(tail -n 3 "$PKI/openssl.log" | tr '\n' ' ')"
	exit 1
fi

# ------------------------------------------------------------ 1. sipproxy -n
EX=$IT_OUT/tls-example.conf
sed -e "s|/etc/natedge/tls/sipproxy.pem|$PKI/proxy.pem|" -e "s|/etc/natedge/tls/sipproxy.key|$PKI/proxy.key|" \
	-e "s|/etc/natedge/tls/ca.pem|$PKI/ca.pem|" "$NT_ROOT/conf/sipproxy-tls.conf.example" >"$EX"
out=$("$SIP_PROXY" -n -c "$EX" 2>&1)
it_check tls_example_config_ok "sipproxy -n refused the TLS example: $out" test $? = 0 -a -n "$(grep -o 'configuration OK' <<<"$out")"
chmod 644 "$PKI/proxy.key"
out=$("$SIP_PROXY" -n -c "$EX" 2>&1)
rc=$?
it_check tls_key_0644_refused_by_n "sipproxy -n accepted a 0644 key or did not name it: $out" test "$rc" != 0 -a -n "$(grep -F "$PKI/proxy.key" <<<"$out" | grep 'group or others')"
chmod 600 "$PKI/proxy.key"
sed -i "s|$PKI/proxy.key|$PKI/carrier.key|" "$EX"
out=$("$SIP_PROXY" -n -c "$EX" 2>&1)
rc=$?
it_check tls_key_mismatch_refused_by_n "sipproxy -n accepted a key of another certificate: $out" test "$rc" != 0 -a -n "$(grep 'does not match' <<<"$out")"

# ------------------------------------------------------------ the proxy
sip_topo_up edge
CONF=$IT_OUT/proxy.conf
SIP_CONF_EXTRA="status_socket = \"$IT_OUT/proxy.status\";
tls: { cert = \"$PKI/proxy.pem\"; key = \"$PKI/proxy.key\"; ca = \"$PKI/ca.pem\"; handshake_timeout = 2;
  peers = ( { prefix = \"203.0.113.10/32\"; name = \"carrier.example\"; mutual = true; } ); };" \
	sip_conf_edge "$CONF"
sed -i -e 's|{ address = "10.1.0.1"; realm = "inside"; }|{ address = "10.1.0.1"; realm = "inside"; transports = [ "udp", "tcp", "tls" ]; }|' \
	-e 's|{ address = "203.0.113.1"; realm = "outside"; }|{ address = "203.0.113.1"; realm = "outside"; transports = [ "udp", "tcp", "tls" ]; }|' "$CONF"
grep -q '"tls" ]' "$CONF" || { it_fail tls_conf "listen entries not rewritten"; exit 1; }
sip_proxy_start proxy edge "$CONF" || exit 1

# siptls NAME NS ARGS...: tests/tools/siptls.py in NS, in the background, bounded
siptls() {
	local name=$1 ns=$2
	shift 2
	rm -f "$IT_OUT/$name.out"
	it_log "[$ns] siptls.py $*"
	timeout 40 ip netns exec "$IT_PREFIX$ns" "$NT_PY" "$SIPTLS" "$@" --out "$IT_OUT/$name.out" \
		>"$IT_OUT/$name.stderr" 2>&1 &
	IT_PIDS+=("$!")
	eval "IT_PID_${name//[^A-Za-z0-9_]/_}=$!"
}
# done_of NAME: wait for it (bounded), its exit status
done_of() {
	local var="IT_PID_${1//[^A-Za-z0-9_]/_}" pid
	pid=${!var}
	nt_poll "${2:-30}" nt_pid_gone "$pid"
	wait "$pid" 2>/dev/null
}
has_line() { grep -q -- "$2" "$IT_OUT/$1.out" 2>/dev/null; }

# ------------------------------------------------------------ 2. + 3.
siptls phB phB answer --bind 10.1.0.10 --proxy 10.1.0.1:5061 --ca "$PKI/ca.pem" --name edge.test \
	--user phoneb --password "$SIP_PASSWORD" --domain edge.test --timeout 30
nt_poll 10 has_line phB registered=1
it_check tls_phB_registered "phB did not register over TLS (phB.out)" has_line phB registered=1
it_check tls_phB_connected_tls12plus "phB: no TLS 1.2/1.3 session with edge.test" has_line phB 'version=TLSv1.[23] peer_cn=edge.test'

# the attackers, while the call is set up beside them
siptls silent phA silent --bind 203.0.113.10 --proxy 203.0.113.1:5061 --timeout 15
siptls garbage phA garbage --bind 203.0.113.10 --proxy 203.0.113.1:5061 --timeout 15
siptls evil phA call --bind 203.0.113.10 --proxy 203.0.113.1:5061 --ca "$PKI/ca.pem" --name edge.test \
	--ruri sip:phoneb@edge.test --cert "$PKI/evil.pem" --key "$PKI/evil.key" --timeout 8
siptls nocert phA call --bind 203.0.113.10 --proxy 203.0.113.1:5061 --ca "$PKI/ca.pem" --name edge.test \
	--ruri sip:phoneb@edge.test --timeout 8
siptls phA phA call --bind 203.0.113.10 --proxy 203.0.113.1:5061 --ca "$PKI/ca.pem" --name edge.test \
	--ruri sip:phoneb@edge.test --cert "$PKI/carrier.pem" --key "$PKI/carrier.key" --timeout 20

done_of phA 25
rc_phA=$?
done_of phB 10
rc_phB=$?
it_check tls_call_completed "phA rc=$rc_phA phB rc=$rc_phB (phA.out, phB.out)" test "$rc_phA" = 0 -a "$rc_phB" = 0
it_check tls_phA_got_200_and_bye "phA: no 200 to its BYE" has_line phA 'bye=200'
it_check tls_phB_answered_acked_bye "phB: no BYE answered" has_line phB 'bye=200'
it_check tls_phB_via_tls "phB: no Via SIP/2.0/TLS 10.1.0.1:5061" has_line phB 'via=SIP/2.0/TLS 10.1.0.1:5061'
it_check tls_record_route_inside_tls "phB: no inside Record-Route with transport=tls" has_line phB 'record_route=<sip:10.1.0.1:5061;lr;transport=tls>'
it_check tls_record_route_outside_tls "phB: no outside Record-Route with transport=tls" has_line phB 'record_route=<sip:203.0.113.1:5061;lr;transport=tls>'

done_of evil 12
it_check tls_wrong_cert_no_call "a wrong certificate made a call" bash -c "! grep -q 'final=200' '$IT_OUT/evil.out'"
done_of nocert 12
it_check tls_no_cert_no_call "no certificate made a call" bash -c "! grep -q 'final=200' '$IT_OUT/nocert.out'"
done_of garbage 15
it_check tls_garbage_closed "the clear-text client was not closed" has_line garbage 'closed_by_peer=1'
done_of silent 15
it_check tls_silent_closed_after_timeout "the silent client was not closed 2-5 s after connecting" grep -Eq 'closed_by_peer=1 after_s=([2-5])\.' "$IT_OUT/silent.out"

sip_proxy_status "$CONF" "$IT_OUT/status.txt"
TLSLINE=$(grep -m1 '^tls ' "$IT_OUT/status.txt")
it_info "status: $TLSLINE"
tlsv() { grep -o "\(^\| \)$1=[0-9]*" <<<"$TLSLINE" | cut -d= -f2; }
it_check tls_handshakes_counted "handshakes < 2" test "$(tlsv handshakes)" -ge 2
it_check tls_handshake_timeout_counted "handshake_timeout not counted" test "$(tlsv handshake_timeout)" -ge 1
it_check tls_handshake_failed_counted "handshake_failed not counted" test "$(tlsv handshake_failed)" -ge 1
it_check tls_peer_rejected_counted "peer_rejected < 2" test "$(tlsv peer_rejected)" -ge 2
n=$(grep -c 'tls peer refused 203.0.113.10' "$IT_OUT/proxy.log")
it_check tls_refusal_logged_once "refusals of 203.0.113.10 logged $n times" test "$n" = 1

# ------------------------------------------------------------ 4. SIGHUP
# phB registers again and stays connected; the proxy's certificate is
# replaced and SIGHUP reloads it: the live connection carries the next call,
# and a new connection meets the new certificate.
siptls phB2 phB answer --bind 10.1.0.10 --proxy 10.1.0.1:5061 --ca "$PKI/ca.pem" --name edge.test \
	--user phoneb --password "$SIP_PASSWORD" --domain edge.test --timeout 30
nt_poll 10 has_line phB2 registered=1
it_check tls_phB2_registered "phB did not register again (phB2.out)" has_line phB2 registered=1
mkcert proxy2 edge-renewed.test "DNS:edge.test,IP:10.1.0.1,IP:203.0.113.1" &&
	cp "$PKI/proxy2.pem" "$PKI/proxy.pem" && cp "$PKI/proxy2.key" "$PKI/proxy.key"
kill -HUP "$(sip_proxy_pid proxy)"
nt_poll 10 grep -q 'configuration reloaded' "$IT_OUT/proxy.log"
it_check tls_reloaded "no 'configuration reloaded' in proxy.log" grep -q 'configuration reloaded' "$IT_OUT/proxy.log"
siptls phA2 phA call --bind 203.0.113.10 --proxy 203.0.113.1:5061 --ca "$PKI/ca.pem" --name edge.test \
	--ruri sip:phoneb@edge.test --cert "$PKI/carrier.pem" --key "$PKI/carrier.key" --timeout 20
done_of phA2 25
rc_phA=$?
done_of phB2 10
rc_phB=$?
it_check tls_call_over_connection_from_before_reload "phA2 rc=$rc_phA phB2 rc=$rc_phB" \
	test "$rc_phA" = 0 -a "$rc_phB" = 0
it_check tls_phB2_kept_old_certificate "phB2's connection is not the one from before" has_line phB2 'peer_cn=edge.test'
it_check tls_new_connection_new_certificate "phA2 did not get the reloaded certificate" \
	has_line phA2 'peer_cn=edge-renewed.test'

sip_assert_proxy_alive tls_proxy_alive proxy
sip_proxy_excerpt proxy
it_done
