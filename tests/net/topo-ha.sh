# shellcheck shell=bash
# tests/net/topo-ha.sh -- the "ha" topology: an active/standby edge pair
# (issue 14), sourced by tests/net/lib.sh like the topologies there.
#
#   phA 203.0.113.10 --+-- [br-out] --+-- out0 203.0.113.2 [edgeA] in0 10.1.0.2 --+-- [br-in] --+-- phB 10.1.0.10
#   route 198.51.100.0/24   |         +-- out0 203.0.113.3 [edgeB] in0 10.1.0.3 --+            +-- phC 10.1.0.11
#   via 203.0.113.1 (VIP)   |                ha0 10.9.0.2 | ha0 10.9.0.3                       default via 10.1.0.1 (VIP)
#                           |                        [br-ha] -- redis 10.9.0.10:6379
#
# Three LANs, each a Linux bridge in the namespace "lan" (bridge ports there:
# pa, oa, ob on br-out; pb, pc, ia, ib on br-in; ha, hb, hr on br-ha). The
# virtual addresses 203.0.113.1 (the proxy's outside SIP address, where phA
# routes the NAT pool) and 10.1.0.1 (the proxy's inside SIP address and the
# inside gateway) are NOT configured here: keepalived adds them on the node
# that is MASTER (tests/integration/halib.sh). The edges allow binding to an
# address they do not hold (ip_nonlocal_bind), so the standby's sipproxy
# listens on the virtual addresses before it owns them.
#
# Redis runs in its own namespace on the HA LAN, started with the topology
# (no persistence, its PID recorded in STATE/redis.launch, stopped by PID
# at tear-down). One natd per edge (natdA, natdB); without --conf both use
# conf/natd-ha-test.conf.
#
# A partition between the edges (VRRP adverts lost both ways, Redis still
# reachable by both): topo_ha_partition PREFIX on|off isolates the edges'
# ports of br-ha from each other (bridge port "isolated").

: "${NT_REDIS:=redis-server}"
: "${NT_REDIS_ADDR:=10.9.0.10}"
: "${NT_REDIS_PORT:=6379}"

topo_ha_namespaces() { echo "${1}lan ${1}phA ${1}phB ${1}phC ${1}edgeA ${1}edgeB ${1}redis"; }
topo_ha_natds() {
	echo "natdA ${1}edgeA $NT_ROOT/conf/natd-ha-test.conf"
	echo "natdB ${1}edgeB $NT_ROOT/conf/natd-ha-test.conf"
}

# topo_ha_port LAN_NS BRIDGE PORT NS IFACE ADDR/LEN: a host's interface on a LAN.
topo_ha_port() {
	local lan=$1 br=$2 port=$3 ns=$4 ifc=$5 addr=$6
	nt_veth "$ns" "$ifc" "$lan" "$port" || return 1
	ip -n "$lan" link set "$port" master "$br" || return 1
	ip -n "$ns" addr add "$addr" dev "$ifc"
}

topo_ha_up() {
	local P=$1 state=$2 ns br e
	for ns in lan phA phB phC edgeA edgeB redis; do nt_ns_add "$state" "$P$ns" || return 1; done
	for br in br-out br-in br-ha; do
		ip -n "${P}lan" link add "$br" type bridge forward_delay 0 stp_state 0 mcast_snooping 0 || return 1
		ip -n "${P}lan" link set "$br" up
	done
	topo_ha_port "${P}lan" br-out pa "${P}phA" eth0 203.0.113.10/24 || return 1
	topo_ha_port "${P}lan" br-out oa "${P}edgeA" out0 203.0.113.2/24 || return 1
	topo_ha_port "${P}lan" br-out ob "${P}edgeB" out0 203.0.113.3/24 || return 1
	topo_ha_port "${P}lan" br-in pb "${P}phB" eth0 10.1.0.10/24 || return 1
	topo_ha_port "${P}lan" br-in pc "${P}phC" eth0 10.1.0.11/24 || return 1
	topo_ha_port "${P}lan" br-in ia "${P}edgeA" in0 10.1.0.2/24 || return 1
	topo_ha_port "${P}lan" br-in ib "${P}edgeB" in0 10.1.0.3/24 || return 1
	topo_ha_port "${P}lan" br-ha ha "${P}edgeA" ha0 10.9.0.2/24 || return 1
	topo_ha_port "${P}lan" br-ha hb "${P}edgeB" ha0 10.9.0.3/24 || return 1
	topo_ha_port "${P}lan" br-ha hr "${P}redis" eth0 "$NT_REDIS_ADDR/24" || return 1
	# the outside neighbour routes the NAT pools to the outside virtual address
	ip -n "${P}phA" route add 198.51.100.0/24 via 203.0.113.1
	ip -n "${P}phB" route add default via 10.1.0.1
	ip -n "${P}phC" route add default via 10.1.0.1
	for e in edgeA edgeB; do
		nt_router_sysctls "$P$e"
		nt_rp_filter_off "$P$e" lo out0 in0 ha0
		# the standby's sipproxy binds the virtual addresses before it holds them
		ip netns exec "$P$e" sysctl -qw net.ipv4.ip_nonlocal_bind=1 >/dev/null
	done
	for br in br-out br-in br-ha; do
		nt_poll 5 nt_link_up "${P}lan" "$br" || { nt_err "$br did not come up"; return 1; }
	done
	topo_ha_redis_start "$P" "$state"
}

# topo_ha_redis_start PREFIX STATE: redis-server in the redis namespace, no
# persistence (a restart starts empty, as a failed-over Redis without its
# data would), ready when it answers PING (bounded).
topo_ha_redis_start() {
	local P=$1 state=$2 log=${NT_LOGDIR:-$2}/redis.log pid
	command -v "$NT_REDIS" >/dev/null || { nt_err "redis-server not installed (Debian redis-server)"; return 1; }
	mkdir -p "$state/redis" "${NT_LOGDIR:-$state}"
	ip netns exec "${P}redis" "$NT_REDIS" --bind "$NT_REDIS_ADDR" 127.0.0.1 --port "$NT_REDIS_PORT" \
		--dir "$state/redis" --save '' --appendonly no --daemonize no --protected-mode no \
		</dev/null >>"$log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	pid=$!
	echo "$pid" >"$state/redis.launch"
	if ! nt_poll 10 topo_ha_redis_ping "$P"; then
		nt_err "redis-server in ${P}redis not answering PING after 10 s: $(tail -n 3 "$log" 2>/dev/null)"
		return 1
	fi
	nt_msg "redis running in ${P}redis (pid $pid)"
}

topo_ha_redis_ping() {
	[[ $(ip netns exec "${1}redis" timeout 2 redis-cli -h 127.0.0.1 -p "$NT_REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

# topo_ha_redis_stop PREFIX STATE [KILL]: stop the Redis the topology started
# (by PID; SIGKILL with KILL).
topo_ha_redis_stop() {
	local state=$2 pid
	[[ -s $state/redis.launch ]] || return 0
	pid=$(cat "$state/redis.launch")
	if [[ ${3:-} == KILL ]] && nt_pid_alive "$pid" && nt_pid_is "$pid" redis; then
		kill -KILL "$pid" 2>/dev/null
		nt_poll 3 nt_pid_gone "$pid"
	fi
	nt_stop_pid "$pid" redis 5 >/dev/null 2>&1 || true
	rm -f "$state/redis.launch"
}

topo_ha_down() {
	topo_ha_redis_stop "$1" "$2"
	rm -rf "$2/redis"
}

# topo_ha_partition PREFIX on|off: the edges stop (start) hearing each other
# on the HA LAN; both still reach Redis.
topo_ha_partition() {
	local P=$1 v=$2 port
	for port in ha hb; do
		bridge -n "${P}lan" link set dev "$port" isolated "$v" || return 1
	done
}
