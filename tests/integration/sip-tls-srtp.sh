#!/bin/bash
# sip-tls-srtp: phones register and call over SIP over TLS with mandatory
# SRTP through the edge (issue 13). Real softphones (Debian baresip,
# tests/tools/baresip-phone) as in sip-srtp.sh, but every SIP message between
# a phone and the proxy crosses TLS (port 5061):
#
#   phA 203.0.113.10 (alice) ==TLS== [edge: natd + sipproxy 203.0.113.1:5061 | 10.1.0.1:5061] ==TLS== phB 10.1.0.10 (bob)
#
# The proxy presents the test CA's certificate for edge.test (203.0.113.1,
# 10.1.0.1: tests/lib/tls-pki.sh); each phone trusts that CA (sip_cafile)
# and registers with an account ";transport=tls" and an outbound proxy
# "sip:EDGE:5061;transport=tls", answering the proxy's digest challenge.
# mediaenc=srtp-mand (SDES, a=crypto, RTP/SAVP). alice calls bob
# (outside -> inside), then bob calls alice (inside -> outside), fresh
# phones each time. Per call (tests/integration/srtplib.sh, SS_TLS=1):
#   registered over TLS and the call established (baresip refuses an
#   unencrypted one);
#   the wire: each phone's capture of TCP port 5061 has packets and no SIP
#   text in clear (no "SIP/2.0", "INVITE sip:", "a=crypto");
#   the keys: the a=crypto lines the callee received (from its own SIP
#   trace, baresip -s: the text inside TLS) are byte for byte lines the
#   caller sent, and back for the answer; the m= profile arrives as sent;
#   the SDP was rewritten around them (alice sees the pool's c=);
#   media both ways, counted by each phone's capture from the right source
#   and by baresip's own (decrypting) counters.
# Then: the proxy's TLS listener refuses a client that does not trust it
# (openssl s_client with the wrong CA: verification fails) while a phone
# still registers, and the proxy is alive.
# Logs: $IT_OUT/proxy.log, $IT_OUT/pki/, $IT_OUT/<round>-<call>/{phA,phB}/
# (baresip.log with the SIP trace), $IT_OUT/<round>-<call>-<phone>-tls.pcap.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"
. "$(dirname "$0")/tlslib.sh"

SS_TLS=1
. "$(dirname "$0")/srtplib.sh"
srtp_require
command -v openssl >/dev/null || it_skip_all "openssl not installed (the test PKI is made with it)"

SS_PKI=$IT_OUT/pki
"$NT_ROOT/tests/lib/tls-pki.sh" "$SS_PKI" >"$IT_OUT/tls-pki.log" 2>&1 ||
	it_skip_all "tests/lib/tls-pki.sh failed: $(tail -n 1 "$IT_OUT/tls-pki.log")"

# the proxy with a TLS listener on each side (and UDP/TCP as before); does
# this sipproxy know TLS at all? (-n names unknown settings)
tls_proxy_conf() {
	SIP_CONF_EXTRA="auth: { users_file = \"$(sip_users_file "$IT_OUT/users" edge.test alice bob)\"; algorithms = [ \"MD5\" ]; };
tls: { cert = \"$SS_PKI/edge.crt\"; key = \"$SS_PKI/edge.key\"; ca = \"$SS_PKI/ca.crt\"; };" \
		sip_conf_edge "$1"
	sed -i -E 's/^(  \{ address = "(10\.1\.0\.1|203\.0\.113\.1)"; realm = "[a-z]+";) \}/\1 transports = [ "udp", "tcp", "tls" ]; }/' "$1"
}
srtp_topo_up
tls_proxy_conf "$IT_OUT/proxy.conf"
tls_conf_check "$IT_OUT/proxy.conf" || exit 1
sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || exit 1
for a in 203.0.113.1:5061 10.1.0.1:5061; do
	it_check "tls_listener_$a" "sipproxy does not listen on TCP $a" nt_poll 5 tls_listening "$(it_ns edge)" "$a"
done

call sdes srtp-mand RTP/SAVP ab
call sdes srtp-mand RTP/SAVP ba

# a client that trusts another CA must not accept the proxy's certificate:
# the proxy proves who it is (s_client verifies against wrong-ca and fails)
# while, beside it, the right CA verifies the same listener
s_client() { # NAME CAFILE
	echo | ip netns exec "$(it_ns phA)" timeout 10 openssl s_client -connect 203.0.113.1:5061 \
		-CAfile "$2" -verify_return_error -verify_hostname edge.test -brief >"$IT_OUT/$1.out" 2>&1
}
s_client s_client-right "$SS_PKI/ca.crt"
it_check proxy_cert_verifies "openssl s_client with the test CA: $(grep -m1 -i 'verif\|error' "$IT_OUT/s_client-right.out")" \
	grep -q 'Verification: OK' "$IT_OUT/s_client-right.out"
s_client s_client-wrong "$SS_PKI/wrong-ca.crt"
it_check proxy_cert_refused_by_wrong_ca "openssl s_client trusting another CA accepted the proxy: $(head -n 2 "$IT_OUT/s_client-wrong.out" | tr '\n' ' ')" \
	grep -q -i 'verify error\|unable to get local issuer\|certificate verify failed' "$IT_OUT/s_client-wrong.out"

sip_assert_proxy_alive proxy_alive proxy
it_check natd_alive "natd exited during the test" it_natd_alive
it_done
