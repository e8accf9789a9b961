# shellcheck shell=bash
# tests/integration/lib.sh -- shared helpers for natedge's namespace tests.
#
# A test script sources this file, calls it_topo_up, runs checks, and reports
# each one with it_pass / it_fail / it_skip, which print the lines
# tests/run-tests counts:
#     PASS: name
#     FAIL: name (detail)
#     SKIP: name (reason)
# Everything the script starts is recorded and stopped by PID on exit, and
# only the namespaces it created are deleted. Logs go to $IT_OUT
# (tests/out/<script>/ by default; the runner sets NT_OUT).

set -u

IT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/net/lib.sh
. "$IT_LIB_DIR/../net/lib.sh"

IT_NAME=$(basename "$0" .sh)
IT_OUT=${NT_OUT:-$NT_ROOT/tests/out/$IT_NAME}
mkdir -p "$IT_OUT"
IT_OUT=$(cd "$IT_OUT" && pwd)
export NT_QUIET=${NT_QUIET:-1}

# A short prefix unique to this run: namespaces are "<prefix>phA" etc.
IT_PREFIX=${IT_PREFIX:-"i$(( $$ % 100000 ))-"}
IT_TOPO=
IT_PIDS=()
IT_NPASS=0
IT_NFAIL=0
IT_NSKIP=0
IT_CAPTURE_PID=
IT_STATS=
SIP_PROXY_VG_LOGS=()
IT_POOL_RE='^198\.51\.100\.([0-9]|1[0-5])$'   # conf/natd-edge-test.conf's pool

# ------------------------------------------------------------ reporting

it_pass() { IT_NPASS=$((IT_NPASS + 1)); echo "PASS: $1"; }
it_fail() {
	IT_NFAIL=$((IT_NFAIL + 1))
	if [[ -n ${2:-} ]]; then echo "FAIL: $1 ($2)"; else echo "FAIL: $1"; fi
}
it_skip() { IT_NSKIP=$((IT_NSKIP + 1)); echo "SKIP: $1 (${2:-no reason given})"; }
it_info() { echo "INFO: $*"; }
it_log() { echo "[$(date +%T.%3N)] $*" >&2; }

# it_check NAME CONDITION_DESCRIPTION CMD...: PASS if CMD succeeds.
it_check() {
	local name=$1 what=$2
	shift 2
	if "$@"; then it_pass "$name"; else it_fail "$name" "$what"; fi
}

# it_done: the script's last line; its exit status says whether all passed.
it_done() { if ((IT_NFAIL > 0)); then exit 1; fi; exit 0; }

# it_skip_all REASON: the machine cannot run this script at all.
it_skip_all() {
	echo "SKIP: $IT_NAME (${1})"
	exit 77
}

# ------------------------------------------------------------ requirements

it_require_root_net() {
	[[ $(id -u) == 0 ]] || it_skip_all "needs root for network namespaces"
	[[ -c /dev/net/tun ]] || it_skip_all "no /dev/net/tun on this machine"
	command -v ip >/dev/null || it_skip_all "iproute2 (ip) not installed"
	local probe="${IT_PREFIX}probe"
	if ! ip netns add "$probe" 2>/dev/null; then
		it_skip_all "cannot create network namespaces here"
	fi
	ip netns del "$probe"
	[[ -x $NT_PY || -n $(command -v "$NT_PY") ]] || it_skip_all "python3 not installed"
}

it_require_natd() {
	if [[ ! -x $NT_NATD ]]; then
		it_fail "natd_built" "no executable $NT_NATD; run ./quickstart build"
		exit 1
	fi
}

# ------------------------------------------------------------ clean-up

it_cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in "${IT_PIDS[@]}"; do
		nt_pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${IT_PIDS[@]}"; do
		nt_poll 2 nt_pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [[ -n $IT_TOPO ]]; then
		if ((IT_NFAIL > 0)); then it_dump_state; fi
		it_capture_stop
		# decode while the namespace exists: interface names resolve there
		if [[ -n $IT_CAPTURE_PID ]] && ((IT_NFAIL > 0)) && [[ -s $IT_OUT/capture.pcap ]]; then
			timeout 20 ip netns exec "$IT_CAPTURE_NS" tcpdump -nn -v -r "$IT_OUT/capture.pcap" \
				>"$IT_OUT/capture.txt" 2>&1
		fi
		nt_topo_down "$IT_TOPO" "$IT_PREFIX" >&2
		it_check_valgrind
	fi
	it_log "done: $IT_NPASS passed, $IT_NFAIL failed, $IT_NSKIP skipped"
	if ((IT_NFAIL > 0)); then exit 1; fi
	exit "$rc"
}

# Under NT_NATD_WRAPPER=valgrind...: natd's memcheck report must be empty.
it_check_valgrind() {
	[[ ${NT_NATD_WRAPPER:-} == *valgrind* ]] || return 0
	local name log n
	while read -r name _; do
		log=$IT_OUT/$name.log
		[[ -f $log ]] || continue
		n=$(grep -E '^==[0-9]+== ' "$log" | grep -vc 'vgdb')
		if ((n == 0)); then
			it_pass "${name}_valgrind_clean"
		else
			it_fail "${name}_valgrind_clean" "$n lines of memcheck errors in $name.log: $(grep -E '^==[0-9]+== ' "$log" | grep -v vgdb | grep -m1 -E 'Invalid|uninitialised|definitely|Mismatched|Syscall' )"
		fi
	done < <("topo_${IT_TOPO}_natds" "$IT_PREFIX")
	# sipproxy instances started by siplib.sh under NT_SIPPROXY_WRAPPER
	for log in "${SIP_PROXY_VG_LOGS[@]}"; do
		name=$(basename "$log" .log)
		n=$(grep -E '^==[0-9]+== ' "$log" | grep -vc 'vgdb')
		if ((n == 0)); then
			it_pass "${name}_valgrind_clean"
		else
			it_fail "${name}_valgrind_clean" "$n lines of memcheck errors in $name.log: $(grep -E '^==[0-9]+== ' "$log" | grep -v vgdb | grep -m1 -E 'Invalid|uninitialised|definitely|Mismatched|Syscall')"
		fi
	done
}

it_on_signal() { it_fail "$IT_NAME" "interrupted"; exit 1; }

# ------------------------------------------------------------ topology

# it_topo_up TOPO [CONF...]: the topology with its natd(s), torn down on
# exit. One CONF per natd of the topology (tests/net/lib.sh, topo_T_natds);
# without any, $IT_CONF (one natd), then the topology's defaults.
it_topo_up() {
	local topo=$1
	shift
	local confs=("$@")
	if ((${#confs[@]} == 0)) && [[ -n ${IT_CONF:-} ]]; then confs=("$IT_CONF"); fi
	IT_TOPO=$topo
	trap it_cleanup EXIT
	trap it_on_signal INT TERM
	export NT_LOGDIR=$IT_OUT
	IT_STATE=$(nt_state_dir "$IT_PREFIX$topo")
	if ! nt_topo_up "$topo" "$IT_PREFIX" 1 "${confs[@]}" 2>>"$IT_OUT/topo.log"; then
		sed 's/^/    /' "$IT_OUT/topo.log" >&2
		it_fail "topology_up" "$(grep -m1 'error' "$IT_OUT/topo.log" | sed 's/^topo: error: //')"
		exit 1
	fi
	it_use_natd "$("topo_${topo}_natds" "$IT_PREFIX" | awk 'NR == 1 {print $1}')"
	local natd_ns
	natd_ns=$("topo_${topo}_natds" "$IT_PREFIX" | awk 'NR == 1 {print $2}')
	it_capture_start "$natd_ns"
}

# A tcpdump capture of every interface of the NAT namespace (kept on failure).
it_capture_start() {
	local ns=$1
	[[ ${IT_CAPTURE:-1} == 1 ]] || return 0
	command -v tcpdump >/dev/null || { it_log "tcpdump not installed: no capture"; return 0; }
	IT_CAPTURE_NS=$ns
	ip netns exec "$ns" tcpdump -i any -nn -U -s 512 -c 20000 -w "$IT_OUT/capture.pcap" \
		not igmp </dev/null >"$IT_OUT/tcpdump.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	IT_CAPTURE_PID=$!
	if ! nt_poll 5 grep -q 'listening on' "$IT_OUT/tcpdump.log"; then
		it_log "tcpdump did not start; continuing without a capture"
	fi
}

it_capture_stop() {
	[[ -n $IT_CAPTURE_PID ]] || return 0
	nt_stop_pid "$IT_CAPTURE_PID" tcpdump 3 >/dev/null 2>&1 || true
}

it_dump_state() {
	local ns
	{
		for ns in $(topo_"${IT_TOPO}"_namespaces "$IT_PREFIX"); do
			echo "===== $ns"
			ip -n "$ns" -br addr
			ip -n "$ns" route show table all 2>/dev/null | grep -v '^local\|^broadcast\|^multicast\|fe80\|ff00'
			ip -n "$ns" rule
			ip -n "$ns" -s link 2>/dev/null | head -n 60
		done
	} >"$IT_OUT/namespaces.txt" 2>&1
	if [[ -n ${IT_NATD_PID:-} ]] && nt_pid_alive "$IT_NATD_PID"; then
		it_stats >/dev/null 2>&1 || true
	fi
}

# ------------------------------------------------------------ processes

# it_ns NS: the namespace's full name.
it_ns() { echo "$IT_PREFIX$1"; }

# it_nt NS OUTNAME ARGS...: run nettool in the foreground in NS, output to
# $IT_OUT/OUTNAME.out (also the stderr). Bounded by timeout(1) as a backstop.
it_nt() {
	local ns=$1 name=$2
	shift 2
	it_log "[$ns] nettool $*"
	timeout 30 ip netns exec "$IT_PREFIX$ns" "$NT_PY" "$NT_NETTOOL" "$@" \
		>"$IT_OUT/$name.out" 2>&1
	local rc=$?
	sed "s/^/    $name: /" "$IT_OUT/$name.out" >&2
	return $rc
}

# it_bg NS OUTNAME ARGS...: start nettool in the background; records the PID
# (IT_LAST_PID). If the arguments contain --ready FILE... use it_server.
it_bg() {
	local ns=$1 name=$2
	shift 2
	it_log "[$ns] nettool $* &"
	timeout 60 ip netns exec "$IT_PREFIX$ns" "$NT_PY" "$NT_NETTOOL" "$@" \
		>"$IT_OUT/$name.out" 2>&1 &
	IT_LAST_PID=$!
	IT_PIDS+=("$IT_LAST_PID")
	eval "IT_PID_${name//[^A-Za-z0-9_]/_}=$IT_LAST_PID"
}

# it_server NS OUTNAME SUBCOMMAND ARGS...: start a nettool server in the
# background and wait (bounded) until it is bound. 0 when ready.
it_server() {
	local ns=$1 name=$2 ready
	shift 2
	ready=$IT_OUT/$name.ready
	rm -f "$ready"
	it_bg "$ns" "$name" "$@" --ready "$ready"
	if ! nt_poll 10 test -s "$ready"; then
		it_log "server $name not ready: $(cat "$IT_OUT/$name.out" 2>/dev/null)"
		return 1
	fi
}

# it_wait NAME [TIMEOUT]: wait (bounded) for a background nettool to finish.
it_wait() {
	local name=$1 timeout=${2:-10} var pid
	var="IT_PID_${name//[^A-Za-z0-9_]/_}"
	pid=${!var:-}
	[[ -n $pid ]] || return 1
	if ! nt_poll "$timeout" nt_pid_gone "$pid"; then
		it_log "$name still running after ${timeout}s; stopping it"
		kill -TERM "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	local rc=$?
	sed "s/^/    $name: /" "$IT_OUT/$name.out" >&2
	return $rc
}

# kv FILE KEY: the value of the first "KEY=value" in FILE (empty if none).
kv() { grep -o "\(^\| \)$2=[^ ]*" "$1" 2>/dev/null | head -n 1 | sed 's/^ //' | cut -d= -f2-; }
# has FILE WORD: a line of FILE starts with WORD.
has() { grep -q "^$2\b" "$1" 2>/dev/null; }
in_pool() { [[ ${1%:*} =~ $IT_POOL_RE ]]; }

# ------------------------------------------------------------ natd

# it_use_natd NAME: which natd of the topology it_stats / it_natd_alive
# talk to (the first one by default; e.g. natdA, natdB in "transit").
it_use_natd() {
	IT_NATD_PID=$(nt_natd_pid "$IT_STATE" "$1" 2>/dev/null || true)
	IT_NATD_LOG=$IT_OUT/$1.log
}

it_natd_alive() { [[ -n ${IT_NATD_PID:-} ]] && kill -0 "$IT_NATD_PID" 2>/dev/null && nt_pid_alive "$IT_NATD_PID"; }

# it_stats: SIGUSR1 to natd, wait (bounded) for a new "stats: " log line;
# IT_STATS holds it (also appended to $IT_OUT/stats.txt). 0 when one came.
it_stats() {
	local before
	IT_STATS=
	it_natd_alive || return 1
	before=$(grep -c 'stats: ' "$IT_NATD_LOG" 2>/dev/null)
	kill -USR1 "$IT_NATD_PID" 2>/dev/null || return 1
	if ! nt_poll 3 it_stats_newer "$before"; then
		it_log "natd logged no stats line within 3s of SIGUSR1"
		return 1
	fi
	IT_STATS=$(grep 'stats: ' "$IT_NATD_LOG" | tail -n 1 | sed 's/^.*stats: //')
	echo "$(date +%T.%3N) $IT_STATS" >>"$IT_OUT/stats.txt"
	it_log "stats: $IT_STATS"
}
it_stats_newer() { (( $(grep -c 'stats: ' "$IT_NATD_LOG" 2>/dev/null) > $1 )); }

# stats_nonzero [LINE]: the non-zero counters of IT_STATS (or LINE).
stats_nonzero() { tr ' ' '\n' <<<"${1-$IT_STATS}" | grep -v '=0$' | tr '\n' ' ' | sed 's/ $//'; }

# stat KEY [LINE]: a counter from IT_STATS (or LINE); empty if absent.
stat() {
	local line=${2-$IT_STATS}
	grep -o "\(^\| \)$1=[0-9]*" <<<"$line" | head -n 1 | sed 's/^ //' | cut -d= -f2
}

# ------------------------------------------------------------ control channel

: "${NT_NATCTL:=$NT_ROOT/libcontrol/natctl/natctl}"

# it_ctl_socket [NATD]: the control socket of a natd of the topology (the
# first by default); tests/net/lib.sh starts natd with -s STATE/NAME.ctl.
it_ctl_socket() {
	local name=${1:-}
	[[ -n $name ]] || name=$("topo_${IT_TOPO}_natds" "$IT_PREFIX" | awk 'NR == 1 {print $1}')
	echo "$IT_STATE/$name.ctl"
}

# it_natctl OUTNAME [--as USER] [--ns NS] [--sock PATH] -- NATCTL-ARGS...:
# run natctl (bounded) against natd's control socket, optionally as another
# user (setpriv) and inside a test namespace. Stdout to $IT_OUT/OUTNAME.out,
# stderr to $IT_OUT/OUTNAME.err; returns natctl's exit status.
it_natctl() {
	local name=$1 user= ns= sock rc
	shift
	sock=$(it_ctl_socket)
	while (($#)); do
		case $1 in
		--as) user=$2; shift 2 ;;
		--ns) ns=$2; shift 2 ;;
		--sock) sock=$2; shift 2 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	local pre=(timeout 20)
	[[ -n $ns ]] && pre+=(ip netns exec "$IT_PREFIX$ns")
	if [[ -n $user ]]; then
		pre+=(setpriv "--reuid=$user" "--regid=$(id -gn "$user" 2>/dev/null || echo nogroup)" --clear-groups)
	fi
	it_log "${ns:+[$ns] }${user:+(as $user) }natctl $*"
	"${pre[@]}" "$NT_NATCTL" -s "$sock" "$@" >"$IT_OUT/$name.out" 2>"$IT_OUT/$name.err"
	rc=$?
	sed "s/^/    $name: /" "$IT_OUT/$name.out" "$IT_OUT/$name.err" >&2
	[[ $rc == 0 ]] || echo "    $name: exit $rc" >&2
	return $rc
}

# it_check_term_binding CHECK ALLOC [PORT]: a TERM binding ALLOC of
# 10.1.0.10:PORT (6200) in the edge topology carries packets: phA
# (203.0.113.10:7200) reaches phB's echo server through ALLOC, and the echo
# comes back from ALLOC. Reports CHECK.
it_check_term_binding() {
	local check=$1 alloc=$2 port=${3:-6200}
	it_server phB b-srv udp-echo --bind "10.1.0.10:$port" --count 1 --timeout 5 || true
	it_nt phA a-send udp-send --to "$alloc" --bind 203.0.113.10:7200 --timeout 3
	it_wait b-srv 6
	if [[ $(kv "$IT_OUT/b-srv.out" peer) == 203.0.113.10:7200 && $(kv "$IT_OUT/a-send.out" reply_from) == "$alloc" ]]; then
		it_pass "$check"
	else
		it_fail "$check" "phA -> $alloc did not reach 10.1.0.10:$port and back"
	fi
}

# json_get FILE KEY[.KEY...] [LINE]: a value from the JSON object on line
# LINE (1 by default) of FILE; empty if absent or not JSON.
json_get() {
	"$NT_PY" - "$1" "$2" "${3:-1}" <<'PY' 2>/dev/null
import json, sys
try:
    lines = open(sys.argv[1]).read().splitlines()
    v = json.loads(lines[int(sys.argv[3]) - 1])
    for k in sys.argv[2].split("."):
        v = v[k]
    print(v if not isinstance(v, bool) else int(v))
except Exception:
    pass
PY
}
