#!/bin/bash
# sip-srtp: SRTP passes the edge untouched (issue 13). Real softphones
# (Debian baresip, tests/tools/baresip-phone) with mandatory media
# encryption call each other through the edge, both directions:
#
#   phA 203.0.113.10 (alice) -- [edge: natd + sipproxy on 203.0.113.1 | 10.1.0.1] -- phB 10.1.0.10 (bob)
#
# Two rounds, the phones restarted between them:
#   sdes  mediaenc=srtp-mand (SDES, RFC 4568: a=crypto, RTP/SAVP), srtp.so
#   dtls  mediaenc=dtls_srtp (DTLS-SRTP, RFC 5763: a=fingerprint, a=setup,
#         UDP/TLS/RTP/SAVPF as baresip offers it), dtls_srtp.so; SKIP when the module is missing
# In each round alice calls bob (outside -> inside), then bob calls alice
# (inside -> outside). Per call:
#   established (an encrypted call only: baresip refuses it otherwise),
#   the SIP each phone sent and received is captured in its own namespace
#   (tcpdump on port 5060), and the keying lines (a=crypto, a=fingerprint,
#   a=setup, a=tls-id) the callee received are byte for byte lines the
#   caller sent, and those of the answer the caller received are byte for
#   byte the lines the callee sent; the m= profile arrives as sent; the
#   callee sees the c= of the edge's NAT pool (inside -> outside) or of
#   the caller (outside -> inside): the SDP was rewritten around the keys;
#   media both ways: each phone's capture counts packets from the right
#   source (the NAT pool / 203.0.113.10) and baresip's own counters count
#   packets it received (decrypted: SRTP packets that fail authentication
#   are not counted) above SS_MIN_RTP.
# Logs: $IT_OUT/proxy.log, $IT_OUT/<round>-<call>/{phA,phB}/ (baresip.log,
# rtp.pcap, conf/), $IT_OUT/<round>-<call>-<phone>-{tx,rx}.pcap.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

# the call and its checks: srtplib.sh (UDP here: SIP captured on the wire)
. "$(dirname "$0")/srtplib.sh"
srtp_require
srtp_topo_up

# baresip 1.0 answers MD5 challenges only (see sip-baresip.sh)
SIP_CONF_EXTRA="auth: { users_file = \"$(sip_users_file "$IT_OUT/users" edge.test alice bob)\"; algorithms = [ \"MD5\" ]; };"
sip_conf_edge "$IT_OUT/proxy.conf"
sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || exit 1

call sdes srtp-mand RTP/SAVP ab
call sdes srtp-mand RTP/SAVP ba
if [[ -f $SS_MODS/dtls_srtp.so ]]; then
	call dtls dtls_srtp UDP/TLS/RTP/SAVPF ab
	call dtls dtls_srtp UDP/TLS/RTP/SAVPF ba
else
	it_skip dtls_calls "baresip's dtls_srtp.so not in $SS_MODS: DTLS-SRTP media not exercised"
fi
sip_assert_proxy_alive proxy_alive proxy
it_check natd_alive "natd exited during the test" it_natd_alive
it_done
