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

SS_PHONE=$NT_ROOT/tests/tools/baresip-phone
: "${SS_MIN_RTP:=100}"     # packets each way that must arrive
: "${SS_MEDIA_RTP:=150}"   # let the tone run until this many, bounded by SS_MEDIA_MAX_S
: "${SS_MEDIA_MAX_S:=10}"
SS_MODS=/usr/lib/baresip/modules

it_require_root_net
command -v baresip >/dev/null || it_skip_all "baresip not installed (Debian package baresip)"
[[ -f $SS_MODS/srtp.so ]] || it_skip_all "baresip's srtp.so not in $SS_MODS"
command -v tcpdump >/dev/null || it_skip_all "tcpdump not installed (needed to capture SIP and RTP)"
it_require_natd
sip_require

sip_topo_up edge
# on any exit, every phone still up is stopped (by its recorded PID), then
# siplib's clean-up runs
trap 'ss_rc=$?; for d in "$IT_OUT"/*/ph[AB]; do "$SS_PHONE" stop "$d"; done >>"$IT_OUT/phones-stop.log" 2>&1
	(exit $ss_rc); sip_cleanup' EXIT

phone() { it_log "baresip-phone $*"; "$SS_PHONE" "$@" 2>>"$IT_OUT/phones.log"; }
num() { [[ $1 =~ ^[0-9]+$ ]] && echo "$1" || echo 0; }

# baresip 1.0 answers MD5 challenges only (see sip-baresip.sh)
SIP_CONF_EXTRA="auth: { users_file = \"$(sip_users_file "$IT_OUT/users" edge.test alice bob)\"; algorithms = [ \"MD5\" ]; };"
sip_conf_edge "$IT_OUT/proxy.conf"
sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || exit 1

# keying PCAP: the SRTP keying lines in the SIP of a capture, CR included,
# one per line, sorted and unique (SIP over UDP: a message is one packet).
keying() {
	LC_ALL=C grep -a -o -E $'a=(crypto|fingerprint|setup|tls-id):[^\r]*\r' "$1" 2>/dev/null | LC_ALL=C sort -u
}
# sdp_field PCAP X: the X= lines (without CR) of the SDP in a capture.
sdp_field() { LC_ALL=C grep -a -o -E $'^'"$1"$'=[^\r]*' "$2" 2>/dev/null | LC_ALL=C sort -u; }

sv() {
	local dir=$1 key=$2
	shift 2
	"$SS_PHONE" stats "$dir" "$@" 2>/dev/null | grep "^$key=" | head -n 1 | cut -d= -f2-
}
SS_POOL_SRC='^198\.51\.100\.([0-9]|1[0-5]):'
enough_media() {
	(( $(num "$(sv "$1" pcap_rtp_rx --from "$SS_POOL_SRC")") >= SS_MEDIA_RTP &&
		$(num "$(sv "$2" pcap_rtp_rx --from '^203\.0\.113\.10:')") >= SS_MEDIA_RTP ))
}

# keys_identical CHECK FROM_PCAP TO_PCAP: TO carries keying lines, each one
# byte for byte a line of FROM.
keys_identical() {
	local check=$1 from=$2 to=$3 missing
	keying "$from" >"$from.keys"
	keying "$to" >"$to.keys"
	missing=$(LC_ALL=C comm -13 "$from.keys" "$to.keys" | tr -d '\r' | tr '\n' '|')
	if [[ ! -s $to.keys ]]; then
		it_fail "$check" "no keying line in $(basename "$to") (see $to.keys)"
	elif [[ -n $missing ]]; then
		it_fail "$check" "keying lines received but not sent as such: $missing"
	else
		it_pass "$check"
		it_info "$check: $(tr -d '\r' <"$to.keys" | tr '\n' '|')"
	fi
}

# call ROUND ENC PROFILE DIR: one call in DIR (ab: alice -> bob, ba: bob ->
# alice) with fresh phones, stopped (by PID) and captures stopped afterwards.
call() {
	local t=$1-$4 ph
	call_checks "$@"
	phone stop "$IT_OUT/$t/phA" >/dev/null
	phone stop "$IT_OUT/$t/phB" >/dev/null
	for ph in phA phB; do sip_capture_stop "$t-$ph-tx"; sip_capture_stop "$t-$ph-rx"; done
}
call_checks() {
	local enc=$2 profile=$3 dir=$4 t=$1-$4
	local A=$IT_OUT/$t/phA B=$IT_OUT/$t/phB mods=(--module srtp.so)
	[[ $enc == dtls_srtp ]] && mods=(--module dtls_srtp.so)
	rm -rf "$IT_OUT/$t"
	mkdir -p "$IT_OUT/$t"
	local ph ns addr
	for ph in phA phB; do
		[[ $ph == phA ]] && addr=203.0.113.10 || addr=10.1.0.10
		ns=$ph
		sip_capture_start "$t-$ph-tx" "$ns" any udp port 5060 and src host "$addr" || true
		sip_capture_start "$t-$ph-rx" "$ns" any udp port 5060 and dst host "$addr" || true
	done
	if ! phone start "$B" --ns "$(it_ns phB)" --addr 10.1.0.10 --rtp-ports 20000-20099 --tone 660 --lifetime 60 "${mods[@]}" \
		--account "<sip:bob@edge.test>;auth_pass=$SIP_PASSWORD;outbound=\"sip:10.1.0.1:5060\";regint=60;answermode=auto;mediaenc=$enc" \
		>/dev/null ||
		! phone start "$A" --ns "$(it_ns phA)" --addr 203.0.113.10 --rtp-ports 10000-10099 --tone 440 --lifetime 60 "${mods[@]}" \
			--account "<sip:alice@edge.test>;auth_pass=$SIP_PASSWORD;outbound=\"sip:203.0.113.1:5060\";regint=60;answermode=auto;mediaenc=$enc" \
			>/dev/null; then
		it_fail "${t}_phones_started" "baresip did not start: $(tail -n 3 "$IT_OUT/phones.log" | tr '\n' ' ')"
		return
	fi
	if ! phone wait-registered "$B" 10 || ! phone wait-registered "$A" 10; then
		it_fail "${t}_registered" "alice or bob not registered within 10 s: $(tail -n 1 "$IT_OUT/phones.log")"
		return
	fi

	local caller=$A callee=$B cn=phA ce=phB uri=sip:bob@edge.test
	[[ $dir == ba ]] && { caller=$B; callee=$A; cn=phB; ce=phA; uri=sip:alice@edge.test; }
	phone dial "$caller" "$uri" >/dev/null
	if ! phone wait-call "$caller" established 15 || ! phone wait-call "$callee" established 5; then
		it_fail "${t}_call_established" "$enc call $cn -> $ce not established within 15 s: $(phone cmd "$caller" listcalls | tr -s '\n' ' ')"
		return
	fi
	it_pass "${t}_call_established"
	nt_poll "$SS_MEDIA_MAX_S" enough_media "$A" "$B" || it_log "media: not $SS_MEDIA_RTP packets each way within ${SS_MEDIA_MAX_S}s"

	local a_rx b_rx
	a_rx=$(num "$(sv "$A" pcap_rtp_rx --from "$SS_POOL_SRC")")
	b_rx=$(num "$(sv "$B" pcap_rtp_rx --from '^203\.0\.113\.10:')")
	phone hangup "$caller" >/dev/null
	phone wait-call "$caller" idle 5
	phone wait-call "$callee" idle 5
	for ph in phA phB; do sip_capture_stop "$t-$ph-tx"; sip_capture_stop "$t-$ph-rx"; done
	if [[ ! -s $IT_OUT/$t-phA-rx.pcap || ! -s $IT_OUT/$t-phB-rx.pcap ]]; then
		it_fail "${t}_sip_captured" "no SIP capture in $IT_OUT/$t-ph?-rx.pcap (see *.tcpdump.log)"
		return
	fi

	local ctx=$IT_OUT/$t-$cn-tx.pcap crx=$IT_OUT/$t-$cn-rx.pcap etx=$IT_OUT/$t-$ce-tx.pcap erx=$IT_OUT/$t-$ce-rx.pcap
	keys_identical "${t}_offer_keys_unchanged" "$ctx" "$erx"
	keys_identical "${t}_answer_keys_unchanged" "$etx" "$crx"
	it_check "${t}_profile_kept" "the callee received m= lines $(sdp_field m "$erx" | tr '\n' '|'), want $profile" \
		grep -a -q -E "^m=audio [0-9]+ $profile " "$erx"
	# the SDP was rewritten around the keys: alice sees the pool's address
	# for bob (the media rule binds inside -> outside), bob alice's own
	local arx=$IT_OUT/$t-phA-rx.pcap brx=$IT_OUT/$t-phB-rx.pcap
	it_check "${t}_sdp_rewritten" "alice received c= $(sdp_field c "$arx" | tr '\n' '|'), want IN IP4 198.51.100.0/28" \
		grep -a -q -E '^c=IN IP4 198\.51\.100\.([0-9]|1[0-5])'$'\r' "$arx"
	it_check "${t}_sdp_direct" "bob received c= $(sdp_field c "$brx" | tr '\n' '|'), want IN IP4 203.0.113.10" \
		grep -a -q -E '^c=IN IP4 203\.0\.113\.10'$'\r' "$brx"

	local a_call b_call
	a_call=$(num "$(sv "$A" call_rtp_rx)")
	b_call=$(num "$(sv "$B" call_rtp_rx)")
	it_info "$t: capture rx alice $a_rx (from the pool), bob $b_rx (from 203.0.113.10); baresip rx alice $a_call, bob $b_call"
	it_check "${t}_media_to_alice" "alice's capture saw $a_rx packets from the pool, want > $SS_MIN_RTP" test "$a_rx" -gt "$SS_MIN_RTP"
	it_check "${t}_media_to_bob" "bob's capture saw $b_rx packets from 203.0.113.10, want > $SS_MIN_RTP" test "$b_rx" -gt "$SS_MIN_RTP"
	it_check "${t}_media_decrypted" "baresip counted rx alice $a_call, bob $b_call; want > $SS_MIN_RTP each" \
		test "$a_call" -gt "$SS_MIN_RTP" -a "$b_call" -gt "$SS_MIN_RTP"
}

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
