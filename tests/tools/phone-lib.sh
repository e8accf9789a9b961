# shellcheck shell=bash
# tests/tools/phone-lib.sh -- what the scripted softphones (baresip-phone,
# twinkle-phone) share: bounded polling, stopping by recorded PID only, and
# counting the RTP a phone's tcpdump capture saw.
#
# Sourced, never run. The caller defines msg() (one line to stderr).

# poll TIMEOUT_S CMD...: every 100 ms until CMD succeeds or the deadline passes.
poll() {
	local t=$1 end
	shift
	end=$(( $(date +%s%3N) + ${t%.*} * 1000 ))
	while :; do
		"$@" && return 0
		(( $(date +%s%3N) >= end )) && return 1
		sleep 0.1
	done
}

pid_alive() {
	local st
	[[ $1 =~ ^[0-9]+$ && -r /proc/$1/stat ]] || return 1
	st=$(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[[ -n $st && $st != Z && $st != X ]]
}
pid_gone() { ! pid_alive "$1"; }
pid_is() { [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"; }

# stop_pid PID WORD WAIT_S: SIGTERM (if still WORD), SIGKILL after WAIT_S.
stop_pid() {
	local pid=$1 word=$2 wait=$3
	pid_alive "$pid" || return 0
	pid_is "$pid" "$word" || { msg "pid $pid is not $word any more; leaving it"; return 0; }
	kill -TERM "$pid" 2>/dev/null
	poll "$wait" pid_gone "$pid" && return 0
	msg "pid $pid ($word) still up ${wait}s after SIGTERM; SIGKILL"
	kill -KILL "$pid" 2>/dev/null
	poll 2 pid_gone "$pid"
}

# pcap_rtp_stats PCAP [REGEX]: key=value lines pcap_rtp_rx (RTP packets,
# RTCP excluded, in the capture; only from sources IP:PORT matching REGEX if
# given), pcap_rtp_top (the busiest source IP:PORT=count), pcap_rtp_sources
# (ip:port=count,...). Empty values without a capture.
pcap_rtp_stats() {
	local pcap=$1 from=${2:-} n='' top='' sources='' lines
	if [[ -s $pcap ]]; then
		# RTP only: version 2, payload type not in RTCP's 72-76 (200-204 & 0x7f)
		lines=$(timeout 20 tcpdump -nn -r "$pcap" \
			'udp and (udp[8] & 0xc0) = 0x80 and ((udp[9] & 0x7f) < 72 or (udp[9] & 0x7f) > 76)' 2>/dev/null |
			awk '$2 == "IP" {s = $3; sub(/\.[0-9]+$/, "", s); p = $3; sub(/^.*\./, "", p); print s ":" p}')
		if [[ -n $from ]]; then
			lines=$(grep -E -- "$from" <<<"$lines")
		fi
		n=$(grep -c . <<<"$lines")
		sources=$(sort <<<"$lines" | uniq -c | sort -rn | awk 'NF == 2 {printf "%s%s=%s", (NR > 1 ? "," : ""), $2, $1}')
		top=${sources%%,*}
	fi
	echo "pcap_rtp_rx=$n"
	echo "pcap_rtp_top=$top"
	echo "pcap_rtp_sources=$sources"
}

# pcap_start NS DEV ADDR PORTS LIFETIME PCAP: a tcpdump (under timeout(1),
# LIFETIME s) of UDP to ADDR's port range PORTS (LO-HI) in NS, written to
# PCAP; its PID (the timeout wrapper) is printed. Waits (bounded) until it
# listens.
pcap_start() {
	local ns=$1 dev=$2 addr=$3 ports=$4 lifetime=$5 pcap=$6 pid
	command -v tcpdump >/dev/null || return 1
	rm -f "$pcap"
	timeout "$lifetime" ip netns exec "$ns" tcpdump -i "$dev" --immediate-mode -nn -U -Z root -s 256 -c 200000 \
		-w "$pcap" "udp and dst host $addr and dst portrange $ports" \
		</dev/null >"$pcap.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	pid=$!
	if ! poll 5 grep -q 'listening on' "$pcap.log"; then
		msg "tcpdump did not start: $(head -c 300 "$pcap.log")"
	fi
	echo "$pid"
}
