# shellcheck shell=bash
# tests/net/lib.sh -- building blocks for natedge's network-namespace topologies.
#
# Sourced by tests/net/topo and by tests/integration/lib.sh. Every namespace
# and every process made here is recorded in a per-topology state directory so
# that tear-down removes only what was created, and stops processes by PID.
#
# Variables (all optional):
#   NT_ROOT        repository root (default: two levels above this file)
#   NT_NATD        natd binary (default: $NT_ROOT/natd/natd)
#   NT_PY          python interpreter for nettool (default: /usr/bin/python3)
#   NT_STATE_BASE  where state directories live (default: /run/natedge-topo)
#   NT_LOGDIR      where natd logs go (default: the topology's state directory)
#   NT_NATD_ARGS   extra arguments for natd (e.g. -d)
#   NT_NATD_WRAPPER  command natd runs under, e.g. "valgrind -q --error-exitcode=99"
#                  (then raise NT_NATD_READY_TIMEOUT, default 10 s)
#   NT_QUIET=1     no progress messages

NT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${NT_ROOT:=$(cd "$NT_LIB_DIR/../.." && pwd)}"
: "${NT_NATD:=$NT_ROOT/natd/natd}"
if [[ -z ${NT_PY:-} ]]; then
	if [[ -x /usr/bin/python3 ]]; then NT_PY=/usr/bin/python3; else NT_PY=python3; fi
fi
: "${NT_NETTOOL:=$NT_ROOT/tests/tools/nettool.py}"
: "${NT_STATE_BASE:=/run/natedge-topo}"
: "${NT_NATD_READY_TIMEOUT:=10}"

nt_msg() { [[ ${NT_QUIET:-0} == 1 ]] || echo "topo: $*" >&2; }
nt_err() { echo "topo: error: $*" >&2; }

# nt_poll TIMEOUT_S CMD... : run CMD every 50 ms until it succeeds or the
# deadline passes. 0 when it succeeded.
nt_poll() {
	local timeout=$1 ms end now
	shift
	if [[ $timeout == *.* ]]; then
		local i=${timeout%%.*} f=${timeout#*.}000
		ms=$(( ${i:-0} * 1000 + 10#${f:0:3} ))
	else
		ms=$(( timeout * 1000 ))
	fi
	end=$(( $(date +%s%3N) + ms ))
	while :; do
		"$@" && return 0
		now=$(date +%s%3N)
		(( now >= end )) && return 1
		sleep 0.05
	done
}

nt_file_nonempty() { [[ -s $1 ]]; }

# ----------------------------------------------------------- namespaces

nt_state_dir() { echo "$NT_STATE_BASE/$1"; }

nt_ns_exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$1"; }

# nt_ns_add STATE NAME: create a namespace, lo up, IPv6 off (quiet captures).
nt_ns_add() {
	local state=$1 ns=$2
	if nt_ns_exists "$ns"; then
		nt_err "namespace $ns already exists (another topology with this prefix is up?)"
		return 1
	fi
	ip netns add "$ns" || return 1
	echo "$ns" >>"$state/namespaces"
	ip -n "$ns" link set lo up
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
}

# nt_ns_del_recorded STATE: delete the namespaces listed in STATE/namespaces.
nt_ns_del_recorded() {
	local state=$1 ns
	[[ -f $state/namespaces ]] || return 0
	while read -r ns; do
		[[ -n $ns ]] || continue
		if nt_ns_exists "$ns"; then
			ip netns del "$ns" || nt_err "could not delete namespace $ns"
		fi
	done < <(tac "$state/namespaces")
	rm -f "$state/namespaces"
}

# nt_veth NS1 IF1 NS2 IF2: a veth pair created directly inside the namespaces
# (never in the root namespace), both ends up.
nt_veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

nt_router_sysctls() {
	local ns=$1
	ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
}

# rp_filter is the max of "all" and the interface's own value: zero each one.
nt_rp_filter_off() {
	local ns=$1 ifc
	shift
	for ifc in "$@"; do
		ip netns exec "$ns" sysctl -qw "net.ipv4.conf.$ifc.rp_filter=0" >/dev/null
	done
}

# ----------------------------------------------------------- processes

# nt_pid_alive PID: running and not a zombie.
nt_pid_alive() {
	local pid=$1 st
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/stat ]] || return 1
	st=$(sed -e 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
	[[ -n $st && $st != Z && $st != X ]]
}

# nt_pid_is PID WORD: the process's command line mentions WORD.
nt_pid_is() {
	[[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"
}

# nt_stop_pid PID [NAME] [WAIT_S]: SIGTERM, then SIGKILL after a bounded wait.
nt_stop_pid() {
	local pid=$1 name=${2:-} wait=${3:-5}
	nt_pid_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	if [[ -n $name ]] && ! nt_pid_is "$pid" "$name"; then
		nt_err "pid $pid is not $name any more; not signalling it"
		return 0
	fi
	kill -TERM "$pid" 2>/dev/null
	if ! nt_poll "$wait" nt_pid_gone "$pid"; then
		nt_err "pid $pid ($name) did not stop after SIGTERM within ${wait}s; sending SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		nt_poll 2 nt_pid_gone "$pid"
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid" 2>/dev/null
	return 0
}

nt_pid_gone() { ! nt_pid_alive "$1"; }

# ----------------------------------------------------------- natd

# nt_natd_start STATE NAME NS CONF: start natd in NS (foreground mode, in the
# background of this shell), wait for its pidfile. Files:
#   STATE/NAME.pid (natd's pidfile), STATE/NAME.ctl (its control socket),
#   STATE/NAME.launch (the PID we started),
#   LOGDIR/NAME.log (natd's stderr).
nt_natd_start() {
	local state=$1 name=$2 ns=$3 conf=$4
	local logdir=${NT_LOGDIR:-$state}
	local pidfile=$state/$name.pid log=$logdir/$name.log pid
	if [[ ! -x $NT_NATD ]]; then
		nt_err "natd binary $NT_NATD not built (make -C $NT_ROOT)"
		return 1
	fi
	if [[ ! -r $conf ]]; then
		nt_err "config $conf not readable"
		return 1
	fi
	mkdir -p "$logdir"
	rm -f "$pidfile"
	if [[ ${NATD_FASTPATH:-0} == 1 ]]; then
		conf=$(nt_fastpath_conf "$state" "$name" "$ns" "$conf") || return 1
	fi
	# natd drops privileges: let its user reach the pidfile directory.
	chmod 0755 "$state"
	: >"$log"
	# natd must not hold the caller's pipes open: no inherited fds besides 0-2
	# shellcheck disable=SC2086
	ip netns exec "$ns" ${NT_NATD_WRAPPER:-} "$NT_NATD" -f -c "$conf" -p "$pidfile" -s "$state/$name.ctl" ${NT_NATD_ARGS:-} \
		</dev/null >>"$log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	pid=$!
	echo "$pid" >"$state/$name.launch"
	echo "$log" >"$state/$name.logpath"
	NT_NATD_DIED=0
	nt_poll "$NT_NATD_READY_TIMEOUT" nt_natd_ready "$pid" "$pidfile"
	if [[ $NT_NATD_DIED == 1 || ! -s $pidfile ]] || ! nt_pid_alive "$pid"; then
		if nt_pid_alive "$pid"; then
			nt_err "natd ($name in $ns) not ready after ${NT_NATD_READY_TIMEOUT}s (no pidfile $pidfile)"
		else
			wait "$pid" 2>/dev/null
			nt_err "natd ($name in $ns) exited during start-up (status $?)"
		fi
		nt_err "last lines of $log:"
		tail -n 20 "$log" | sed 's/^/    /' >&2
		return 1
	fi
	local fpid
	fpid=$(tr -dc '0-9' <"$pidfile")
	if [[ $fpid != "$pid" ]]; then
		nt_msg "note: natd pidfile says $fpid, launched pid $pid"
	fi
	nt_msg "$name running in $ns (pid $pid, log $log)"
}

# nt_fastpath_conf STATE NAME NS CONF: print the path of CONF with natd's
# eBPF fast path on (NATD_FASTPATH=1), on every interface of NS that has an
# IPv4 address: the NAT box's inside and outside interfaces (bridge ports
# and natd's TUN have none). The BPF object is the build tree's, or
# $NT_FASTPATH_OBJECT. A CONF that sets fastpath itself is used as it is.
nt_fastpath_conf() {
	local state=$1 name=$2 ns=$3 conf=$4 out=$1/$2.fastpath.conf ifs
	local obj=${NT_FASTPATH_OBJECT:-$(dirname "$NT_NATD")/bpf/nat_tc.bpf.o}
	if grep -q '^[[:space:]]*fastpath' "$conf"; then echo "$conf"; return 0; fi
	ifs=$(ip -n "$ns" -o -4 addr show | awk '$2 != "lo" && !seen[$2]++ { printf "%s\"%s\"", n++ ? ", " : "", $2 }')
	[[ -n $ifs ]] || { nt_err "fastpath: no interface with an address in $ns"; return 1; }
	{ cat "$conf"; printf '\n# NATD_FASTPATH=1 (tests/net/lib.sh)\nfastpath = { enabled = true; interfaces = [ %s ]; object = "%s"; };\n' "$ifs" "$obj"; } >"$out"
	echo "$out"
}

# ready: the pidfile exists; "done" (ready or dead) ends the poll early.
nt_natd_ready() {
	nt_pid_alive "$1" || { NT_NATD_DIED=1; return 0; }
	[[ -s $2 ]]
}

nt_natd_pid() { local f=$1/$2.launch; [[ -s $f ]] && cat "$f"; }

# nt_natd_stop STATE NAME
nt_natd_stop() {
	local state=$1 name=$2 pid
	pid=$(nt_natd_pid "$state" "$name") || return 0
	if nt_pid_alive "$pid"; then
		nt_stop_pid "$pid" natd 5 || true
		nt_msg "$name (pid $pid) stopped"
	fi
	rm -f "$state/$name.launch"
}

# ----------------------------------------------------------- topologies

# Each topology T provides topo_T_up PREFIX STATE and topo_T_down PREFIX STATE,
# plus topo_T_namespaces PREFIX and topo_T_natds (names of its natd instances
# with namespace and default config, one per line: "name ns conf").

# ---- edge: scenario 1-2
#
#   phA 203.0.113.10/24 ---- out0 203.0.113.1/24 [edge] br-in 10.1.0.1/24 ---- phB 10.1.0.10/24
#   (route 198.51.100.0/24 via 203.0.113.1)              \----------------- phC 10.1.0.11/24

topo_edge_namespaces() { echo "${1}phA ${1}edge ${1}phB ${1}phC"; }
topo_edge_natds() { echo "natd ${1}edge $NT_ROOT/conf/natd-edge-test.conf"; }

topo_edge_up() {
	local P=$1 state=$2 ns
	for ns in phA edge phB phC; do nt_ns_add "$state" "$P$ns" || return 1; done

	nt_veth "${P}phA" eth0 "${P}edge" out0 || return 1
	ip -n "${P}phA" addr add 203.0.113.10/24 dev eth0
	ip -n "${P}phA" route add 198.51.100.0/24 via 203.0.113.1
	ip -n "${P}edge" addr add 203.0.113.1/24 dev out0

	ip -n "${P}edge" link add br-in type bridge forward_delay 0 stp_state 0 || return 1
	ip -n "${P}edge" link set br-in up
	ip -n "${P}edge" addr add 10.1.0.1/24 dev br-in
	nt_veth "${P}phB" eth0 "${P}edge" br-b || return 1
	nt_veth "${P}phC" eth0 "${P}edge" br-c || return 1
	ip -n "${P}edge" link set br-b master br-in
	ip -n "${P}edge" link set br-c master br-in
	ip -n "${P}phB" addr add 10.1.0.10/24 dev eth0
	ip -n "${P}phB" route add default via 10.1.0.1
	ip -n "${P}phC" addr add 10.1.0.11/24 dev eth0
	ip -n "${P}phC" route add default via 10.1.0.1

	nt_router_sysctls "${P}edge"
	nt_rp_filter_off "${P}edge" lo out0 br-in br-b br-c
	# the bridge must forward at once
	nt_poll 5 nt_link_up "${P}edge" br-in || { nt_err "br-in did not come up"; return 1; }
}

topo_edge_down() { :; }

# ---- transit: scenario 3
#
#   phA 203.0.113.10 -- acc0 203.0.113.1 [natA] tr0 10.20.0.1 -- transit 10.20.0.0/24
#        -- tr0 10.20.0.2 [natB] acc0 192.0.2.1 -- phB 192.0.2.10
#
# Pools (each routed to its NAT by the neighbours):
#   natA: 198.51.100.0/28 towards phA, 10.20.1.0/28 towards the transit LAN
#   natB: 10.20.2.0/28 towards the transit LAN, 198.51.100.128/28 towards phB

topo_transit_namespaces() { echo "${1}phA ${1}natA ${1}transit ${1}natB ${1}phB"; }
topo_transit_natds() {
	echo "natdA ${1}natA @transit-a"
	echo "natdB ${1}natB @transit-b"
}

topo_transit_up() {
	local P=$1 state=$2 ns
	for ns in phA natA transit natB phB; do nt_ns_add "$state" "$P$ns" || return 1; done
	# phA -- natA
	nt_veth "${P}phA" eth0 "${P}natA" acc0 || return 1
	ip -n "${P}phA" addr add 203.0.113.10/24 dev eth0
	ip -n "${P}phA" route add 198.51.100.0/24 via 203.0.113.1
	ip -n "${P}natA" addr add 203.0.113.1/24 dev acc0
	# transit LAN: a bridge in its own namespace
	ip -n "${P}transit" link add br0 type bridge forward_delay 0 stp_state 0 || return 1
	ip -n "${P}transit" link set br0 up
	nt_veth "${P}natA" tr0 "${P}transit" pa || return 1
	nt_veth "${P}natB" tr0 "${P}transit" pb || return 1
	ip -n "${P}transit" link set pa master br0
	ip -n "${P}transit" link set pb master br0
	ip -n "${P}natA" addr add 10.20.0.1/24 dev tr0
	ip -n "${P}natB" addr add 10.20.0.2/24 dev tr0
	ip -n "${P}natA" route add 10.20.2.0/24 via 10.20.0.2
	ip -n "${P}natB" route add 10.20.1.0/24 via 10.20.0.1
	# natB -- phB
	nt_veth "${P}natB" acc0 "${P}phB" eth0 || return 1
	ip -n "${P}natB" addr add 192.0.2.1/24 dev acc0
	ip -n "${P}phB" addr add 192.0.2.10/24 dev eth0
	ip -n "${P}phB" route add 198.51.100.0/24 via 192.0.2.1
	for ns in natA natB; do
		nt_router_sysctls "$P$ns"
		nt_rp_filter_off "$P$ns" lo acc0 tr0
	done
	nt_poll 5 nt_link_up "${P}transit" br0 || { nt_err "transit br0 did not come up"; return 1; }
}

topo_transit_down() { :; }

# Generated default configs for topologies without a file in conf/.
nt_gen_conf() {
	local which=$1 out=$2
	case $which in
	transit-a)
		cat >"$out" <<-'EOF'
		# generated by tests/net/lib.sh: natA of the transit topology
		tun: { name = "natd0"; txqueuelen = 5000; };
		user = "nobody";
		realms = (
		  { name = "access"; prefixes = [ "203.0.113.0/24" ]; nat_to = [ "transit" ];
		    pool = { addresses = [ "198.51.100.0/28" ]; ports = "1024-65535"; }; },
		  { name = "transit"; prefixes = [ "10.20.0.0/16" ]; nat_to = [ "access" ];
		    pool = { addresses = [ "10.20.1.0/28" ]; ports = "1024-65535"; }; }
		);
		routes: { install = true; table = 100; inside_interfaces = [ "acc0", "tr0" ]; };
		EOF
		;;
	transit-b)
		cat >"$out" <<-'EOF'
		# generated by tests/net/lib.sh: natB of the transit topology
		tun: { name = "natd0"; txqueuelen = 5000; };
		user = "nobody";
		realms = (
		  { name = "transit"; prefixes = [ "10.20.0.0/16" ]; nat_to = [ "access" ];
		    pool = { addresses = [ "10.20.2.0/28" ]; ports = "1024-65535"; }; },
		  { name = "access"; prefixes = [ "192.0.2.0/24" ]; nat_to = [ "transit" ];
		    pool = { addresses = [ "198.51.100.128/28" ]; ports = "1024-65535"; }; }
		);
		routes: { install = true; table = 100; inside_interfaces = [ "acc0", "tr0" ]; };
		EOF
		;;
	*) nt_err "no generated config '$which'"; return 1 ;;
	esac
}

nt_link_up() { ip -n "$1" -o link show dev "$2" 2>/dev/null | grep -q 'state UP\|,UP'; }

# ----------------------------------------------------------- generic driver

nt_topo_known() { declare -F "topo_$1_up" >/dev/null; }

# nt_topo_up TOPO PREFIX WITH_NATD(1/0) [CONF...]
#   CONF: one per natd of the topology, in the order topo_T_natds lists them;
#   empty means the default.
nt_topo_up() {
	local topo=$1 P=$2 with_natd=$3
	shift 3
	local state
	state=$(nt_state_dir "$P$topo")
	nt_topo_known "$topo" || { nt_err "unknown topology '$topo'"; return 1; }
	if [[ -f $state/namespaces ]]; then
		nt_err "topology $topo with prefix '$P' looks up already ($state); run: topo down $topo --prefix $P"
		return 1
	fi
	mkdir -p "$state"
	echo "$topo" >"$state/topology"
	if ! "topo_${topo}_up" "$P" "$state"; then
		nt_err "setting up $topo failed; tearing down"
		nt_topo_down "$topo" "$P"
		return 1
	fi
	nt_msg "$topo: namespaces $(topo_${topo}_namespaces "$P") up"
	[[ $with_natd == 1 ]] || return 0
	local name ns conf i=0 confs=("$@")
	while read -r name ns conf; do
		if [[ -n ${confs[$i]:-} ]]; then
			conf=${confs[$i]}
		elif [[ $conf == @* ]]; then
			nt_gen_conf "${conf#@}" "$state/$name.conf" || return 1
			conf=$state/$name.conf
		fi
		i=$((i + 1))
		if ! nt_natd_start "$state" "$name" "$ns" "$conf"; then
			nt_topo_down "$topo" "$P"
			return 1
		fi
	done < <("topo_${topo}_natds" "$P")
}

# nt_topo_down TOPO PREFIX: stop recorded natds, delete recorded namespaces.
nt_topo_down() {
	local topo=$1 P=$2 state name ns conf
	state=$(nt_state_dir "$P$topo")
	nt_topo_known "$topo" || { nt_err "unknown topology '$topo'"; return 1; }
	if [[ ! -d $state ]]; then
		nt_msg "$topo with prefix '$P' is not up (no $state)"
		return 0
	fi
	while read -r name ns conf; do
		nt_natd_stop "$state" "$name"
	done < <("topo_${topo}_natds" "$P")
	"topo_${topo}_down" "$P" "$state"
	nt_ns_del_recorded "$state"
	rm -f "$state"/*.pid "$state"/*.launch "$state"/*.logpath "$state"/*.conf "$state"/*.ctl \
		"$state/topology"
	rmdir "$state" 2>/dev/null || true
	nt_msg "$topo with prefix '$P' down"
}

# More topologies, one file each (topo-NAME.sh: the same functions as above).
for nt_topo_file in "$NT_LIB_DIR"/topo-*.sh; do
	# shellcheck source=/dev/null
	[[ -r $nt_topo_file ]] && . "$nt_topo_file"
done
unset nt_topo_file
