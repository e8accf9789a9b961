# tests/integration/srtplib.sh -- sourced (after lib.sh and siplib.sh) by
# sip-srtp.sh and sip-tls-srtp.sh: one encrypted call between two headless
# baresip phones (tests/tools/baresip-phone) through the edge proxy, and the
# checks that SRTP passed untouched: the keying lines (a=crypto,
# a=fingerprint, a=setup, a=tls-id) the callee received are byte for byte
# lines the caller sent and back, the m= profile arrives as sent, the SDP was
# rewritten around the keys (c= of the NAT pool / of the caller), media both
# ways counted by a capture in each phone's namespace and by baresip itself
# (decrypted packets only).
#
# Where the SIP text comes from:
#   SS_TLS=0 (default)  tcpdump of UDP port 5060 in each phone's namespace;
#   SS_TLS=1            the phones speak TLS to the proxy (port 5061): the wire
#                       carries no text, so each phone traces its SIP
#                       (baresip -s) and srtp_trace_split cuts what it sent
#                       and received out of its log; a capture of ports 5060
#                       and 5061 must then hold TLS records and no SIP
#                       text, and the trace no message over UDP or TCP.
#                       Needs SS_PKI (tests/lib/tls-pki.sh's directory).
# Prefix: the helpers keep the names sip-srtp.sh always had (phone, call...).
: "${SS_TLS:=0}"
: "${SS_PKI:=}"
SS_PHONE=$NT_ROOT/tests/tools/baresip-phone
: "${SS_MIN_RTP:=100}"     # packets each way that must arrive
: "${SS_MEDIA_RTP:=150}"   # let the tone run until this many, bounded by SS_MEDIA_MAX_S
: "${SS_MEDIA_MAX_S:=10}"
SS_MODS=/usr/lib/baresip/modules

# srtp_require: root, baresip with srtp.so, tcpdump, natd, sipp, sipproxy
# (SKIP or FAIL as lib.sh and siplib.sh decide)
srtp_require() {
	it_require_root_net
	command -v baresip >/dev/null || it_skip_all "baresip not installed (Debian package baresip)"
	[[ -f $SS_MODS/srtp.so ]] || it_skip_all "baresip's srtp.so not in $SS_MODS"
	command -v tcpdump >/dev/null || it_skip_all "tcpdump not installed (needed to capture SIP and RTP)"
	it_require_natd
	sip_require
}
# srtp_topo_up: the edge topology; on any exit, every phone still up is
# stopped (by its recorded PID), then siplib's clean-up runs
srtp_topo_up() {
	sip_topo_up edge
	trap 'ss_rc=$?; for d in "$IT_OUT"/*/ph[AB]; do "$SS_PHONE" stop "$d"; done >>"$IT_OUT/phones-stop.log" 2>&1
	(exit $ss_rc); sip_cleanup' EXIT
}
phone() { it_log "baresip-phone $*"; "$SS_PHONE" "$@" 2>>"$IT_OUT/phones.log"; }
num() { [[ $1 =~ ^[0-9]+$ ]] && echo "$1" || echo 0; }

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
	for ph in phA phB; do sip_capture_stop "$t-$ph-tx"; sip_capture_stop "$t-$ph-rx"; sip_capture_stop "$t-$ph-tls"; done
}
call_checks() {
	local enc=$2 profile=$3 dir=$4 t=$1-$4
	local A=$IT_OUT/$t/phA B=$IT_OUT/$t/phB mods=(--module srtp.so)
	[[ $enc == dtls_srtp ]] && mods=(--module dtls_srtp.so)
	rm -rf "$IT_OUT/$t"
	mkdir -p "$IT_OUT/$t"
	local ph ns addr tls_a=() tls_b=() tp='' port=5060
	for ph in phA phB; do
		[[ $ph == phA ]] && addr=203.0.113.10 || addr=10.1.0.10
		ns=$ph
		if ((SS_TLS)); then
			# only TLS records may cross: the capture of every SIP port
			# must hold no SIP text
			sip_capture_start "$t-$ph-tls" "$ns" any port 5060 or port 5061 || true
		else
			sip_capture_start "$t-$ph-tx" "$ns" any udp port 5060 and src host "$addr" || true
			sip_capture_start "$t-$ph-rx" "$ns" any udp port 5060 and dst host "$addr" || true
		fi
	done
	if ((SS_TLS)); then
		tp=';transport=tls' port=5061
		tls_a=(--tls-ca "$SS_PKI/ca.crt" --tls-cert "$SS_PKI/alice.pem" --sip-trace)
		tls_b=(--tls-ca "$SS_PKI/ca.crt" --tls-cert "$SS_PKI/bob.pem" --sip-trace)
	fi
	if ! phone start "$B" --ns "$(it_ns phB)" --addr 10.1.0.10 --rtp-ports 20000-20099 --tone 660 --lifetime 60 "${mods[@]}" "${tls_b[@]}" \
		--account "<sip:bob@edge.test$tp>;auth_pass=$SIP_PASSWORD;outbound=\"sip:10.1.0.1:$port$tp\";regint=60;answermode=auto;mediaenc=$enc" \
		>/dev/null ||
		! phone start "$A" --ns "$(it_ns phA)" --addr 203.0.113.10 --rtp-ports 10000-10099 --tone 440 --lifetime 60 "${mods[@]}" "${tls_a[@]}" \
			--account "<sip:alice@edge.test$tp>;auth_pass=$SIP_PASSWORD;outbound=\"sip:203.0.113.1:$port$tp\";regint=60;answermode=auto;mediaenc=$enc" \
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
	for ph in phA phB; do sip_capture_stop "$t-$ph-tx"; sip_capture_stop "$t-$ph-rx"; sip_capture_stop "$t-$ph-tls"; done
	((SS_TLS)) && { srtp_tls_wire "$t" || return; }
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

# srtp_trace_split LOG ADDR SENT RECEIVED: the SIP messages of a baresip -s
# trace (blocks "#", "TLS|UDP|TCP SRC -> DST", the message) that ADDR sent
# to SENT, those it received to RECEIVED, CR kept, one blank line between.
srtp_trace_split() {
	awk -v me="$2" -v sent="$3" -v rcvd="$4" '
		BEGIN { printf "" >sent; printf "" >rcvd }
		/^(\x1b\[[0-9;]*m)?#\r?$/ { hdr = 1; out = ""; next }
		hdr && /^(TLS|TCP|UDP) [0-9.]+:[0-9]+ -> [0-9.]+:[0-9]+/ {
			hdr = 0; split($2, s, ":"); out = (s[1] == me) ? sent : rcvd; print "" >>out; next }
		{ hdr = 0 }
		/^\x1b\[;?m/ { out = ""; next }
		out != "" { print >>out }' "$1"
}

# srtp_tls_wire T: after a TLS call, each phone's SIP from its own trace
# (the files the UDP mode captures: $IT_OUT/T-phX-{tx,rx}.pcap, text here),
# the capture of ports 5060 and 5061 holds TLS and no SIP text, the trace no
# message over UDP or TCP. 1 when the traces are missing (reported).
srtp_tls_wire() {
	local t=$1 ph addr clear n other
	for ph in phA phB; do
		[[ $ph == phA ]] && addr=203.0.113.10 || addr=10.1.0.10
		srtp_trace_split "$IT_OUT/$t/$ph/baresip.log" "$addr" "$IT_OUT/$t-$ph-tx.pcap" "$IT_OUT/$t-$ph-rx.pcap"
		n=$(sip_capture_count "$t-$ph-tls" tcp port 5061)
		clear=$(timeout 20 tcpdump -nn -A -r "$IT_OUT/$t-$ph-tls.pcap" 2>/dev/null | grep -a -c -E 'SIP/2\.0|a=crypto|INVITE sip:')
		other=$(grep -a -c -E '^(UDP|TCP) [0-9.]+:[0-9]+ -> ' "$IT_OUT/$t/$ph/baresip.log")
		if ((n > 0 && clear == 0 && other == 0)); then
			it_pass "${t}_${ph}_sip_encrypted"
		else
			it_fail "${t}_${ph}_sip_encrypted" "$ph: $n packets on TCP 5061, $clear lines of SIP text in clear on ports 5060/5061, $other messages over UDP or TCP in its trace"
		fi
	done
	if [[ ! -s $IT_OUT/$t-phA-rx.pcap || ! -s $IT_OUT/$t-phB-rx.pcap ]]; then
		it_fail "${t}_sip_traced" "no received SIP in the phones' traces ($IT_OUT/$t/ph?/baresip.log)"
		return 1
	fi
}
