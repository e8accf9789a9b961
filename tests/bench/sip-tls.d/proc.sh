# tests/bench/sip-tls.d/proc.sh -- sourced by tests/bench/sip-tls (after
# tests/net/lib.sh): processes started and stopped by PID with bounded waits,
# CPU accounting of process groups (a root PID and its direct children:
# Kamailio's workers), readiness of sockets in a namespace, and SIPp's
# statistics files. Prefix bp_. Nothing here starts anything by itself.

BP_HZ=$(getconf CLK_TCK)

# bp_stop_pid PID [SECONDS]: TERM, bounded wait, KILL
bp_stop_pid() {
	local pid=$1 t=${2:-5} i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < t * 20; i++)); do
		nt_pid_alive "$pid" || break
		sleep 0.05
	done
	if nt_pid_alive "$pid"; then
		echo "PID $pid ignored SIGTERM for ${t}s: SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

# bp_wait_for SECONDS PID CMD...: poll CMD every 50 ms (bounded); fail early
# when PID (if not empty) died
bp_wait_for() {
	local t=$1 pid=$2 i
	shift 2
	for ((i = 0; i < t * 20; i++)); do
		"$@" && return 0
		if [[ -n $pid ]] && ! nt_pid_alive "$pid"; then return 1; fi
		sleep 0.05
	done
	return 1
}
# bp_wait_exit PID SECONDS: 0 when PID ended within SECONDS
bp_wait_exit() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		nt_pid_alive "$1" || { wait "$1" 2>/dev/null; return 0; }
		sleep 0.05
	done
	return 1
}
bp_udp_bound() { ip netns exec "$1" ss -Hnlu "src $2" 2>/dev/null | grep -q .; }  # NS ADDR:PORT
bp_tcp_listens() { ip netns exec "$1" ss -Hnlt "src $2" 2>/dev/null | grep -q .; } # NS ADDR:PORT

# bp_tree_pids ROOT...: the live roots and their direct children
bp_tree_pids() {
	local r
	for r in "$@"; do nt_pid_alive "$r" && echo "$r"; done
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v roots=" $* " '{
		pid = $1; line = $0; sub(/^.*\) /, "", line); split(line, f, " ")
		if (index(roots, " " f[2] " ")) print pid
	}'
}
# bp_cpu_ticks ROOT...: summed utime+stime of the roots and their children
bp_cpu_ticks() {
	local p sum=0 t
	(($#)) || { echo 0; return; }
	for p in $(bp_tree_pids "$@"); do
		t=$(sed -e 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		sum=$((sum + ${t:-0}))
	done
	echo "$sum"
}
# bp_wait_idle ARRAY...: the processes of the named arrays of root PIDs used
# fewer than 2 ticks in 200 ms (bounded, 15 s)
bp_wait_idle() {
	local roots=() n i a b
	for n in "$@"; do
		local -n arr=$n
		roots+=("${arr[@]}")
		unset -n arr
	done
	a=$(bp_cpu_ticks "${roots[@]}")
	for ((i = 0; i < 75; i++)); do
		sleep 0.2
		b=$(bp_cpu_ticks "${roots[@]}")
		((b - a < 2)) && return 0
		a=$b
	done
	echo "the proxies did not become idle within 15 s" >&2
	return 1
}
# bp_ms_per_call TICKS CALLS: CPU ms per call, "-" without calls
bp_ms_per_call() {
	awk -v t="$1" -v hz="$BP_HZ" -v n="$2" 'BEGIN { if (n + 0 > 0) printf "%.3f", 1000 * t / hz / n; else print "-" }'
}

# bp_csv_col FILE NAME: the column NAME of the last line of a sipp stat csv
bp_csv_col() {
	awk -F';' -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next }
		{ last = $0 } END { if (c) { split(last, f, ";"); print f[c] + 0 } else print "-" }' "$1" 2>/dev/null
}
# bp_fail_reasons FILE: the non-zero Failed* counters of a sipp stat csv
bp_fail_reasons() {
	awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next } { last = $0 }
		END { split(last, f, ";"); s = ""
			for (i in h) if (h[i] ~ /^Failed.*\(C\)$/ && h[i] != "FailedCall(C)" && f[i] + 0 > 0) {
				k = h[i]; sub(/^Failed/, "", k); sub(/\(C\)$/, "", k); s = s k "=" f[i] + 0 " " }
			print s }' "$1" 2>/dev/null
}
# bp_setup_times DIR: "p50 p99 max achieved_rate" of the set-up times (sipp
# response time 1) in DIR's rtt traces, "- - - -" without any
bp_setup_times() {
	cat "$1"/uac*_rtt.csv 2>/dev/null | awk -F';' '$3 == 1 && $2 ~ /^[0-9.]+$/ { print $1, $2 }' |
		sort -g -k2,2 | awk '
		NR == 1 || $1 < first { first = $1 } NR == 1 || $1 > last { last = $1 } { v[NR] = $2 }
		END {
			n = NR
			if (n == 0) { print "- - - -"; exit }
			i50 = int(0.50 * n + 0.999); i99 = int(0.99 * n + 0.999)
			if (i50 < 1) i50 = 1; if (i99 < 1) i99 = 1
			rate = (last > first) ? (n - 1) * 1000 / (last - first) : 0
			printf "%.2f %.2f %.2f %.0f\n", v[i50], v[i99], v[n], rate
		}'
}
