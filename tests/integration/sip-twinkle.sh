#!/bin/bash
# sip-twinkle: a second softphone family through the edge -- Twinkle (Debian
# twinkle-console, scripted with tests/tools/twinkle-phone) inside, baresip
# (tests/tools/baresip-phone) outside -- with calls in both directions and
# audio flowing both ways.
#
#   phA 203.0.113.10 (alice, baresip) -- [edge: natd + sipproxy] -- phB 10.1.0.10 (bob, Twinkle)
#
# sipproxy (siplib.sh's edge config) is the registrar for edge.test and
# authenticates (digest MD5: the users file holds HA1 hashes of each phone's
# password). Both phones register with their password through the edge.
#   call out:  bob (Twinkle) dials sip:alice@edge.test, alice auto-answers;
#              Twinkle's INVITE is challenged (407) and answered. Twinkle
#              hangs up.
#   call in:   alice dials sip:bob@edge.test, Twinkle (auto_answer on)
#              answers. alice hangs up.
# Checks per call: established on both phones, natd holds a binding
# labelled call:<Call-ID> during the call and none after it, RTP counted
# by a tcpdump in each phone's namespace above TW_MIN_RTP each way, alice
# receives Twinkle's RTP from a NAT pool address (198.51.100.0/28: the SDP
# Twinkle sent was rewritten), Twinkle receives alice's from 203.0.113.10;
# the hangup reaches both phones. Overall: both registered, the SDP Twinkle
# sent names 10.1.0.10 (its log) and every SDP alice received (a SIP capture
# in her namespace) a pool address, sipproxy's auth counters show the
# REGISTERs and INVITEs challenged and accepted.
#
# Headless Twinkle: twinkle-console 1.10 takes the profile name as its only
# argument (no --call/--cmd options in the console build: "--help" is read
# as a profile file name), reads commands on stdin (a FIFO here), and needs
# no sound card with every audio device set to ALSA's "null" PCM and
# validate_audio_dev=no. That null mic delivers silence faster than real
# time; Twinkle paces it to the RTP clock itself, but its voice activity
# detection (speex_dsp_vad, on by default) then suppresses every packet
# after the first: the profile turns VAD, AGC, AEC and noise reduction off,
# and Twinkle sends 50 packets/s of silence. The outbound proxy is written
# HOST:PORT (Twinkle adds the scheme; "sip:HOST" is not taken) and carries
# every request, so no name of edge.test is ever resolved. linphonec
# (Debian linphone-cli) was not needed: an earlier try here opened no SIP
# socket.
# Logs: $IT_OUT/proxy.log, $IT_OUT/twB/ (twinkle.out, home/.twinkle/twinkle.log
# with every SIP message, rtp.pcap), $IT_OUT/phA/ (baresip), alice-sip.pcap
# and .txt (SIP at alice), twinkle-sent.txt, list-natd.out.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

TW_PHONE=$NT_ROOT/tests/tools/twinkle-phone
SB_PHONE=$NT_ROOT/tests/tools/baresip-phone
: "${TW_MIN_RTP:=100}"      # packets each way, each call, that must arrive
: "${TW_MEDIA_RTP:=150}"    # let media run until this many (~3 s), bounded by TW_MEDIA_MAX_S
: "${TW_MEDIA_MAX_S:=10}"

it_require_root_net
command -v twinkle-console >/dev/null || it_skip_all "twinkle-console not installed (Debian package twinkle-console)"
[[ -r /usr/share/alsa/alsa.conf ]] || it_skip_all "no ALSA configuration (Debian package libasound2-data): Twinkle's null audio device needs it"
command -v baresip >/dev/null || it_skip_all "baresip not installed (Debian package baresip): the far-end phone"
[[ -d /usr/lib/baresip/modules ]] || it_skip_all "baresip modules not in /usr/lib/baresip/modules"
command -v tcpdump >/dev/null || it_skip_all "tcpdump not installed (needed to count RTP independently)"
it_require_natd
sip_require

sip_topo_up edge

# Phones are stopped (by PID) before siplib's clean-up stops sipproxy and
# deletes the namespaces.
TW_DIR=$IT_OUT/twB
SB_DIR=$IT_OUT/phA
tw_cleanup() {
	"$TW_PHONE" stop "$TW_DIR" >>"$IT_OUT/phones-stop.log" 2>&1
	"$SB_PHONE" stop "$SB_DIR" >>"$IT_OUT/phones-stop.log" 2>&1
}
# shellcheck disable=SC2154 # tw_rc is set inside the trap
trap 'tw_rc=$?; tw_cleanup; (exit $tw_rc); sip_cleanup' EXIT

tw() { it_log "twinkle-phone $*"; "$TW_PHONE" "$@" 2>>"$IT_OUT/phones.log"; }
sb() { it_log "baresip-phone $*"; "$SB_PHONE" "$@" 2>>"$IT_OUT/phones.log"; }

# ------------------------------------------------------------ sipproxy

# baresip 1.0 gives up when any challenge is not MD5: the proxy offers MD5
# only (TW_AUTH_ALGS, a libconfig list body).
: "${TW_AUTH_ALGS:=\"MD5\"}"
TW_USERS=$(sip_users_file "$IT_OUT/users-edge.test" edge.test bob alice) || exit 1
# shellcheck disable=SC2034 # read by sip_conf_edge
SIP_CONF_EXTRA="auth: { users_file = \"$TW_USERS\"; algorithms = [ $TW_AUTH_ALGS ]; };
status_socket = \"$IT_OUT/proxy.status\";"
sip_conf_edge "$IT_OUT/proxy.conf"

# ------------------------------------------------------------ helpers

num() { [[ $1 =~ ^[0-9]+$ ]] && echo "$1" || echo 0; }
twv() { "$TW_PHONE" stats "$TW_DIR" "${@:2}" 2>/dev/null | grep "^$1=" | head -n 1 | cut -d= -f2-; }
sbv() { "$SB_PHONE" stats "$SB_DIR" "${@:2}" 2>/dev/null | grep "^$1=" | head -n 1 | cut -d= -f2-; }
TW_POOL_SRC='^198\.51\.100\.([0-9]|1[0-5]):'
TW_ALICE_SRC='^203\.0\.113\.10:'
alice_rx() { num "$(sbv pcap_rtp_rx --from "$TW_POOL_SRC")"; }
bob_rx() { num "$(twv pcap_rtp_rx --from "$TW_ALICE_SRC")"; }

# enough_media A0 B0: both sides have TW_MEDIA_RTP more packets than at A0/B0.
enough_media() {
	(( $(alice_rx) - $1 >= TW_MEDIA_RTP && $(bob_rx) - $2 >= TW_MEDIA_RTP ))
}

# the status line of the proxy: "auth ... ok=N challenges=N ..."
auth_counter() {
	sip_proxy_status "$IT_OUT/proxy.conf" "$IT_OUT/proxy-status.out"
	num "$(grep -m1 '^auth ' "$IT_OUT/proxy-status.out" | grep -o " $1=[0-9]*" | cut -d= -f2)"
}

# media_checks TAG CALLID A0 B0: the checks of one established call (A0/B0:
# the capture counts before it).
media_checks() {
	local tag=$1 callid=$2 a0=$3 b0=$4 a b
	nt_poll "$TW_MEDIA_MAX_S" enough_media "$a0" "$b0" ||
		it_log "media: not $TW_MEDIA_RTP packets each way within ${TW_MEDIA_MAX_S}s"
	if [[ -n $callid ]] && sip_has_binding natd "$callid"; then
		it_pass "${tag}_natd_binding_during_call"
	else
		it_fail "${tag}_natd_binding_during_call" "no natd binding labelled call:$callid during the call (list-natd.out)"
	fi
	a=$(( $(alice_rx) - a0 ))
	b=$(( $(bob_rx) - b0 ))
	it_info "$tag: RTP at alice (tcpdump): $(sbv pcap_rtp_sources)"
	it_info "$tag: RTP at Twinkle (tcpdump): $(twv pcap_rtp_sources)"
	it_check "${tag}_rtp_twinkle_to_alice" "alice's tcpdump saw $a RTP packets from the pool, want > $TW_MIN_RTP" \
		test "$a" -gt "$TW_MIN_RTP"
	it_check "${tag}_rtp_alice_to_twinkle" "Twinkle's tcpdump saw $b RTP packets from 203.0.113.10, want > $TW_MIN_RTP" \
		test "$b" -gt "$TW_MIN_RTP"
	local top
	top=$(sbv pcap_rtp_top --from "$TW_POOL_SRC")
	if [[ -n $top ]] && in_pool "${top%%=*}"; then
		it_pass "${tag}_alice_sees_pool_address"
	else
		it_fail "${tag}_alice_sees_pool_address" "alice's RTP sources: $(sbv pcap_rtp_sources); expected Twinkle's from 198.51.100.0/28"
	fi
}

# call_rest TAG WHO TW_END A0 B0: the rest of an established call: its
# Call-ID (baresip's callstat), media_checks, WHO (twinkle or baresip)
# hangs up, both phones idle within 5 s (Twinkle prints TW_END), natd's
# bindings of the call released.
call_rest() {
	local tag=$1 who=$2 end=$3 a0=$4 b0=$5 callid ok=1
	callid=$(sb cmd "$SB_DIR" callstat | grep -o 'id=[^ ]*' | head -n 1 | cut -d= -f2)
	it_info "$tag: Call-ID $callid"
	media_checks "$tag" "$callid" "$a0" "$b0"
	if [[ $who == twinkle ]]; then tw cmd "$TW_DIR" bye; else sb hangup "$SB_DIR" >/dev/null; fi
	sb wait-call "$SB_DIR" idle 5 || ok=0
	tw wait "$TW_DIR" "$end" 5 || ok=0
	it_check "${tag}_call_hung_up" "$who's hangup did not end the call on both phones within 5 s" test $ok = 1
	sip_assert_no_binding "${tag}_natd_bindings_released" "$callid" natd
}

# sdp_c FILE: the SDP connection addresses (c=IN IP4 ...) in FILE, one a line.
sdp_c() { grep -a -o 'c=IN IP4 [0-9.]*[0-9]' "$1" | cut -d' ' -f3; }

# sdp_checks: the SDP Twinkle sent names its own address (its log), and
# every SDP that reached alice (the capture in her namespace) names a pool
# address instead: one per call at least.
sdp_checks() {
	sip_capture_stop alice-sip
	timeout 20 tcpdump -nn -A -r "$IT_OUT/alice-sip.pcap" 'udp and dst host 203.0.113.10 and port 5060' \
		>"$IT_OUT/alice-sip.txt" 2>/dev/null
	local sent got bad
	sent=$(awk '/^Send to:/ {s = 1} /^---/ {s = 0} s' "$TW_DIR/home/.twinkle/twinkle.log" >"$IT_OUT/twinkle-sent.txt"
		sdp_c "$IT_OUT/twinkle-sent.txt" | sort -u | paste -sd' ' -)
	got=$(sdp_c "$IT_OUT/alice-sip.txt")
	bad=$(grep -v -E "$IT_POOL_RE" <<<"$got" | sort -u | paste -sd' ' -)
	it_info "SDP c= sent by Twinkle: $sent; received by alice: $(sort <<<"$got" | uniq -c | tr -s ' \n' ' ')"
	it_check twinkle_sdp_names_itself "Twinkle's SDP named '$sent', expected 10.1.0.10 (twinkle-sent.txt)" \
		test "$sent" = 10.1.0.10
	it_check sdp_rewritten_for_alice "alice received $(grep -c . <<<"$got") SDP bodies (want >= 2), not from the pool: '$bad' (alice-sip.txt)" \
		test "$(grep -c . <<<"$got")" -ge 2 -a -z "$bad"
}

# ------------------------------------------------------------ the calls

run() {
	sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || return

	rm -rf "$TW_DIR" "$SB_DIR"
	if ! tw start "$TW_DIR" --ns "$(it_ns phB)" --addr 10.1.0.10 --user bob --domain edge.test \
		--password "$SIP_PASSWORD" --proxy 10.1.0.1:5060 --rtp-port 8000 --lifetime 90 >/dev/null; then
		it_fail phones_started "Twinkle for bob did not start: $(tail -n 5 "$IT_OUT/phones.log" | tr '\n' ' ')"
		return
	fi
	if ! sb start "$SB_DIR" --ns "$(it_ns phA)" --addr 203.0.113.10 --rtp-ports 10000-10099 --tone 440 --lifetime 90 \
		--account "<sip:alice@edge.test>;auth_pass=$SIP_PASSWORD;outbound=\"sip:203.0.113.1:5060\";regint=60;answermode=auto" \
		>/dev/null; then
		it_fail phones_started "baresip for alice did not start: $(tail -n 3 "$IT_OUT/phones.log" | tr '\n' ' ')"
		return
	fi
	it_pass phones_started
	sip_capture_start alice-sip phA eth0 udp port 5060 ||
		it_log "no SIP capture at alice: $(head -c 200 "$IT_OUT/alice-sip.tcpdump.log")"

	local ok=1
	tw wait "$TW_DIR" 'registration succeeded' 10 || ok=0
	it_check twinkle_registered "bob@edge.test (Twinkle) not registered via 10.1.0.1 within 10 s: $(tail -n 3 "$TW_DIR/twinkle.out" | tr '\n' ' ')" test $ok = 1
	ok=1
	sb wait-registered "$SB_DIR" 10 || ok=0
	it_check alice_registered "alice@edge.test (baresip) not registered via 203.0.113.1 within 10 s" test $ok = 1
	tw cmd "$TW_DIR" "auto_answer -a on"

	# ---- call out: Twinkle calls alice
	local a0 b0
	a0=$(alice_rx) b0=$(bob_rx)
	tw cmd "$TW_DIR" "call sip:alice@edge.test"
	if sb wait-call "$SB_DIR" established 15 && tw wait "$TW_DIR" 'far end answered call' 5; then
		it_pass out_call_established
		call_rest out twinkle 'Line 1: call ended' "$a0" "$b0"
	else
		it_fail out_call_established "Twinkle's call to sip:alice@edge.test not established within 15 s: $(tail -n 4 "$TW_DIR/twinkle.out" | tr '\n' ' ')"
		tw cmd "$TW_DIR" bye
	fi

	# ---- call in: alice calls Twinkle
	a0=$(alice_rx) b0=$(bob_rx)
	sb dial "$SB_DIR" sip:bob@edge.test >/dev/null
	if sb wait-call "$SB_DIR" established 15 && tw wait "$TW_DIR" 'incoming call' 1 &&
		tw wait "$TW_DIR" 'Line 1: call established' 5; then
		it_pass in_call_established
		call_rest in baresip 'far end ended call' "$a0" "$b0"
	else
		it_fail in_call_established "alice's call to sip:bob@edge.test not established within 15 s: $(tail -n 4 "$TW_DIR/twinkle.out" | tr '\n' ' ')"
	fi

	sdp_checks

	# 2 REGISTERs and 2 INVITEs (Twinkle's, alice's) challenged and answered
	local aok ach
	aok=$(auth_counter ok) ach=$(auth_counter challenges)
	it_check phones_authenticated "sipproxy's auth counters: ok=$aok challenges=$ach (expected at least 4 each)" \
		test "$aok" -ge 4 -a "$ach" -ge 4

	sip_assert_proxy_alive sipproxy_alive proxy
	it_check natd_alive "natd exited during the test" it_natd_alive
}

run
it_done
