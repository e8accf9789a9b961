# shellcheck shell=bash
# tests/integration/siplib.sh -- SIP helpers for the telephony scenarios.
#
# Source it AFTER tests/integration/lib.sh (it sources nothing itself):
#
#     . "$(dirname "$0")/lib.sh"
#     . "$(dirname "$0")/siplib.sh"
#     it_require_root_net; it_require_natd; sip_require
#     sip_topo_up edge                     # it_topo_up + clean-up of RTP probes
#     sip_conf_edge "$IT_OUT/proxy.conf"
#     sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || exit 1
#     sip_uas phB-uas phB 10.1.0.10 uas.xml --rtp-port 20000
#     sip_uac phA-uac phA 203.0.113.10 uac.xml --rtp-port 30000 \
#         --proxy 203.0.113.1:5060 --ruri 10.1.0.10:5060
#     sip_wait phA-uac 30; sip_wait phB-uas 10
#     sip_assert_call call_completed phA-uac phB-uas
#     ...
#
# Every SIPp runs in a phone's namespace in the background under timeout(1),
# with its PID recorded (stopped by PID on exit like everything of lib.sh).
# Its files, for a SIPp run called NAME, all in $IT_OUT:
#     NAME.msg.log    -trace_msg: every SIP message sent and received
#     NAME.err.log    -trace_err: unexpected messages (only when there were some)
#     NAME.events     -trace_logs: the scenario's <log> lines, e.g.
#                     "callid=...", "sdp_rx msg=200/INVITE c=IP m=PORT o=IP dir=..."
#     NAME.screen     -trace_screen: the final counters
#     NAME.stdout     SIPp's own output;  NAME.rc  its exit status
#     NAME.rtp        the RTP probe's result (tests/tools/rtpprobe.py), when
#                     the scenario started one (it does once the remote SDP is known)
# sipproxy's debug log is $IT_OUT/PROXYNAME.log.

: "${SIP_PROXY:=$NT_ROOT/sipproxy/sipproxy}"
: "${SIP_SIPP:=sipp}"
: "${SIP_SCEN_DIR:=$NT_ROOT/tests/sipp}"
: "${SIP_PROBE:=$NT_ROOT/tests/tools/rtpprobe.py}"
: "${SIP_TRACE:=$NT_ROOT/tests/tools/siptrace.py}"
: "${SIP_RTP_COUNT:=50}"          # RTP packets each probe sends (20 ms apart)
: "${SIP_RTP_MIN:=25}"            # packets a probe must receive to pass
# SIP_RTP_TIMEOUT: the RTP probes' time limit in seconds (default 10; longer calls raise it)
: "${SIP_SDP_PORT_IDLE:=40008}"   # SDP port of a phone with no RTP probe (nobody listens; in the
                                  # media rules' default port range 1024-65535, unlike the old 9)
: "${SIP_CALL_MS:=3000}"          # the UAC's pause between ACK and BYE (-d)
: "${SIP_PROXY_READY_TIMEOUT:=10}"
: "${SIP_PROXY_DEBUG:=1}"         # run sipproxy with -d (debug log to its log file)
# Secure by default (issue 11): every generated proxy config authenticates
# (auth.users_file, the users below with SIP_PASSWORD) and applies the
# relay policy. No test phone is trusted: phones register with their
# password (register-auth.xml), a caller whose From is one of our domains
# answers the proxy's 407 (every uac*.xml can: sip_sipp --auth USER), and a
# call from outside goes to a registered user's AoR. SIP_TRUSTED_PEERS
# (prefixes, quoted, comma-separated) is the edge proxy's trusted_peers,
# empty by default: a test that deliberately needs a trusted peer sets it
# and says why.
: "${SIP_PASSWORD:=natedge-test-pw}"
: "${SIP_USERS:=phoneb phonea phonec forkme caller service alice bob}"
: "${SIP_AUTH_DOMAIN:=edge.test}"  # the From domain of sip_sipp --auth without --key domain
SIP_TRUSTED_PEERS=${SIP_TRUSTED_PEERS-}
# the same for the transit proxies, besides each other (the real peer
# proxies of scenario 3, always trusted): empty by default
SIP_TRUSTED_INGRESS=${SIP_TRUSTED_INGRESS-}
SIP_TRUSTED_EGRESS=${SIP_TRUSTED_EGRESS-}

SIP_WATCH_PIDS=()
SIP_UAC_OPTS=()
SIP_UAS_OPTS=()

# ------------------------------------------------------------ requirements

# sip_require: sipp, natctl and sipproxy must be there. A missing sipproxy
# is a failure (not a skip): the scenarios are its tests.
sip_require() {
	command -v "$SIP_SIPP" >/dev/null || it_skip_all "sipp not installed (Debian package sip-tester)"
	if [[ ! -x $NT_NATCTL ]]; then
		it_fail natctl_built "no executable $NT_NATCTL; run ./quickstart build"
		exit 1
	fi
	if [[ ! -x $SIP_PROXY ]]; then
		it_fail sipproxy_built "no executable $SIP_PROXY; run ./quickstart build"
		exit 1
	fi
}

# sip_topo_up TOPO [CONF...]: it_topo_up, and on exit also stop the RTP
# probes the scenarios started (by the PIDs they wrote) and the watchers.
sip_topo_up() {
	it_topo_up "$@"
	trap sip_cleanup EXIT
}

sip_cleanup() {
	local rc=$? f pid
	for f in "$IT_OUT"/*.rtp.pid; do
		[[ -s $f ]] || continue
		pid=$(tr -dc '0-9' <"$f")
		if nt_pid_alive "$pid" && nt_pid_is "$pid" rtpprobe; then
			kill -TERM "$pid" 2>/dev/null
		fi
	done
	for pid in "${SIP_WATCH_PIDS[@]}"; do
		nt_pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	(exit "$rc")
	it_cleanup
}

# ------------------------------------------------------------ addresses

sip_ip2int() {
	local a b c d
	IFS=. read -r a b c d <<<"$1"
	[[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ && $c =~ ^[0-9]+$ && $d =~ ^[0-9]+$ ]] || return 1
	echo $(( (a << 24) | (b << 16) | (c << 8) | d ))
}

# sip_in_cidr IP CIDR...: IP is in one of the prefixes.
sip_in_cidr() {
	local ip=$1 n p len net mask
	shift
	n=$(sip_ip2int "${ip%%:*}") || return 1
	for p in "$@"; do
		len=${p#*/}
		[[ $p == */* ]] || len=32
		net=$(sip_ip2int "${p%/*}") || continue
		mask=$(( len == 0 ? 0 : (0xFFFFFFFF << (32 - len)) & 0xFFFFFFFF ))
		(( (n & mask) == (net & mask) )) && return 0
	done
	return 1
}

# ------------------------------------------------------------ sipproxy

# sip_users_file OUT REALM [USER...]: a users file (HA1 lines made by
# sipproxy -H, password SIP_PASSWORD) for USERs (default SIP_USERS) in
# REALM, mode 0600 (sipproxy refuses any other). Prints OUT.
sip_users_file() {
	local out=$1 realm=$2 u
	shift 2
	# shellcheck disable=SC2086 # a list of names
	(($#)) || set -- $SIP_USERS
	: >"$out"
	chmod 600 "$out"
	for u in "$@"; do
		printf '%s\n' "$SIP_PASSWORD" | "$SIP_PROXY" -H "$u" "$realm" >>"$out" || return 1
	done
	echo "$out"
}

# sip_auth_conf REALM: the auth group of a generated config (users file
# $IT_OUT/users-REALM; MD5 offered first: SIPp 3.6 computes MD5 only).
sip_auth_conf() {
	local f
	f=$(sip_users_file "$IT_OUT/users-$1" "$1") || return 1
	echo "auth: { users_file = \"$f\"; algorithms = [ \"MD5\", \"SHA-256\" ]; };"
}

# sip_conf_edge OUT [NATD]: sipproxy's config for the edge topology
# (scenarios 1-2): realms inside 10.1.0.0/24 and outside (everything else),
# listening on 10.1.0.1 and 203.0.113.1, domain edge.test, SDP endpoints
# inside get a natd binding when their message heads outside.
# SIP_CONF_EXTRA is appended (e.g. more media_rules or routes). Users of
# edge.test authenticate (sip_auth_conf, unless SIP_CONF_EXTRA has its own
# auth group); trusted_peers is SIP_TRUSTED_PEERS (unless SIP_CONF_EXTRA
# sets it).
sip_conf_edge() {
	local out=$1 natd=${2:-natd}
	cat >"$out" <<EOF
# generated by tests/integration/siplib.sh (sip_conf_edge) for $IT_NAME
user = "root";
pidfile = "$IT_OUT/proxy.pid";
log: { level = "debug"; };
realms = (
  { name = "inside"; prefixes = [ "10.1.0.0/24" ]; },
  { name = "outside"; prefixes = [ "0.0.0.0/0" ]; }
);
listen = (
  { address = "10.1.0.1"; realm = "inside"; },
  { address = "203.0.113.1"; realm = "outside"; }
);
domains = [ "edge.test" ];
nats = ( { name = "edge"; socket = "$(it_ctl_socket "$natd")"; timeout_ms = 500; } );
media_rules = ( { from = "inside"; to = "outside"; nat = "edge"; } );
media: { ice = "strip"; remote_filter = true; on_natd_failure = "reject"; binding_lifetime = 120; };
$([[ ${SIP_CONF_EXTRA:-} == *"auth:"* ]] || sip_auth_conf edge.test)
$([[ ${SIP_CONF_EXTRA:-} == *trusted_peers* ]] || echo "trusted_peers = [ $SIP_TRUSTED_PEERS ];")
${SIP_CONF_EXTRA:-}
EOF
}

# sip_conf_transit_ingress OUT: the proxy in natA (scenario 3). Realms
# access (phA's side, 203.0.113.0/24 and natA's access pool) and transit
# (10.20.0.0/16); calls for 192.0.2.0/24 or b.example.net go to the egress
# proxy 10.20.0.2; SDP crossing between the realms is bound in natdA.
sip_conf_transit_ingress() {
	local out=$1
	cat >"$out" <<EOF
# generated by tests/integration/siplib.sh (sip_conf_transit_ingress) for $IT_NAME
user = "root";
pidfile = "$IT_OUT/ingress.pid";
log: { level = "debug"; };
realms = (
  { name = "access"; prefixes = [ "203.0.113.0/24", "198.51.100.0/28" ]; },
  { name = "transit"; prefixes = [ "10.20.0.0/16" ]; }
);
listen = (
  { address = "203.0.113.1"; realm = "access"; },
  { address = "10.20.0.1"; realm = "transit"; }
);
domains = [ "a.example.net" ];
nats = ( { name = "natA"; socket = "$(it_ctl_socket natdA)"; timeout_ms = 500; } );
media_rules = (
  { from = "access"; to = "transit"; nat = "natA"; },
  { from = "transit"; to = "access"; nat = "natA"; }
);
routes = (
  { domain = "b.example.net"; next_hop = "10.20.0.2:5060"; },
  { prefix = "192.0.2.0/24"; next_hop = "10.20.0.2"; }
);
media: { ice = "strip"; remote_filter = true; on_natd_failure = "reject"; binding_lifetime = 120; };
$(sip_auth_conf a.example.net)
trusted_peers = [ "10.20.0.2/32"${SIP_TRUSTED_INGRESS:+, $SIP_TRUSTED_INGRESS} ];
${SIP_CONF_EXTRA_INGRESS:-}
EOF
}

# sip_conf_transit_egress OUT: the proxy in natB (scenario 3). Realms
# transit (10.20.0.0/16) and access (phB's side, 192.0.2.0/24 and natB's
# access pool); registrar for b.example.net; requests for 192.0.2.x go to
# their Request-URI host; SDP crossing between the realms is bound in natdB.
sip_conf_transit_egress() {
	local out=$1
	cat >"$out" <<EOF
# generated by tests/integration/siplib.sh (sip_conf_transit_egress) for $IT_NAME
user = "root";
pidfile = "$IT_OUT/egress.pid";
log: { level = "debug"; };
realms = (
  { name = "transit"; prefixes = [ "10.20.0.0/16" ]; },
  { name = "access"; prefixes = [ "192.0.2.0/24", "198.51.100.128/28" ]; }
);
listen = (
  { address = "10.20.0.2"; realm = "transit"; },
  { address = "192.0.2.1"; realm = "access"; }
);
domains = [ "b.example.net" ];
nats = ( { name = "natB"; socket = "$(it_ctl_socket natdB)"; timeout_ms = 500; } );
media_rules = (
  { from = "transit"; to = "access"; nat = "natB"; },
  { from = "access"; to = "transit"; nat = "natB"; }
);
media: { ice = "strip"; remote_filter = true; on_natd_failure = "reject"; binding_lifetime = 120; };
$(sip_auth_conf b.example.net)
trusted_peers = [ "10.20.0.1/32"${SIP_TRUSTED_EGRESS:+, $SIP_TRUSTED_EGRESS} ];
${SIP_CONF_EXTRA_EGRESS:-}
EOF
}

# sip_proxy_start NAME NS CONF: start sipproxy in namespace NS (foreground
# mode, in the background of this shell, PID recorded), wait (bounded) for
# its pidfile. Log: $IT_OUT/NAME.log. Reports NAME_started (PASS/FAIL);
# returns 1 when it did not come up.
sip_proxy_start() {
	local name=$1 ns=$2 conf=$3 pidfile=$IT_OUT/$1.pid log=$IT_OUT/$1.log pid
	local dbg=()
	((SIP_PROXY_DEBUG)) && dbg=(-d)
	rm -f "$pidfile"
	: >"$log"
	# the config's pidfile is the same path: -p wins anyway
	sed -i "s|^pidfile = .*|pidfile = \"$pidfile\";|" "$conf"
	local wrap=()
	if [[ -n ${NT_SIPPROXY_WRAPPER:-} ]]; then
		# sipproxy is a libtool wrapper script: let libtool run the binary
		# shellcheck disable=SC2206 # the wrapper is a command line
		wrap=("$NT_ROOT/libtool" --mode=execute $NT_SIPPROXY_WRAPPER)
		SIP_PROXY_VG_LOGS+=("$log")
	fi
	it_log "[$ns] ${wrap[*]} sipproxy -c $conf -f -p $pidfile ${dbg[*]}"
	ip netns exec "$IT_PREFIX$ns" "${wrap[@]}" "$SIP_PROXY" -c "$conf" -f -p "$pidfile" "${dbg[@]}" \
		</dev/null >>"$log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	pid=$!
	IT_PIDS+=("$pid")
	eval "SIP_PROXY_PID_${name//[^A-Za-z0-9_]/_}=$pid"
	# shellcheck disable=SC2034 # read by nt_natd_ready (tests/net/lib.sh)
	NT_NATD_DIED=0
	nt_poll "$SIP_PROXY_READY_TIMEOUT" nt_natd_ready "$pid" "$pidfile"
	if ! nt_pid_alive "$pid"; then
		wait "$pid" 2>/dev/null
		local st=$?
		it_fail "${name}_started" "sipproxy exited during start-up (status $st): $(tail -n 3 "$log" | tr '\n' ' ')"
		return 1
	fi
	if [[ ! -s $pidfile ]]; then
		it_fail "${name}_started" "no pidfile $pidfile after ${SIP_PROXY_READY_TIMEOUT}s: $(tail -n 3 "$log" | tr '\n' ' ')"
		return 1
	fi
	it_pass "${name}_started"
}

sip_proxy_pid() { local v="SIP_PROXY_PID_${1//[^A-Za-z0-9_]/_}"; echo "${!v:-}"; }

# sip_assert_proxy_alive CHECK NAME: sipproxy NAME is still running.
sip_assert_proxy_alive() {
	local pid
	pid=$(sip_proxy_pid "$2")
	if [[ -n $pid ]] && nt_pid_alive "$pid"; then
		it_pass "$1"
	else
		wait "$pid" 2>/dev/null
		it_fail "$1" "sipproxy $2 is gone (status $?): $(tail -n 3 "$IT_OUT/$2.log" | tr '\n' ' ')"
	fi
}

# ------------------------------------------------------------ SIPp

# sip_sipp NAME NS IP SCENARIO [options] [-- extra sipp args]: start SIPp in
# the background. Options:
#   --uas | --uac          role (default from the scenario's name: uas*/uac*)
#   --port P               SIP port (default 5060)
#   --rtp-port P           the SDP m= port; the RTP probe binds IP:P
#   --ruri HOST[:PORT][;params]  the Request-URI host part (key "ruri")
#   --service USER         Request-URI user (default "service")
#   --proxy HOST:PORT      where requests go (-rsa and the remote host)
#   --transport u1|t1      (default u1)
#   --duration MS          the pause between ACK and BYE (default SIP_CALL_MS)
#   --key NAME VALUE       another scenario key (register.xml: --key domain D)
#   --auth USER            answer digest challenges as USER (-au USER -ap
#                          SIP_PASSWORD; key caller USER, the From user of
#                          the uac*.xml; key domain SIP_AUTH_DOMAIN unless
#                          --key domain says otherwise). Without --auth the
#                          From is the anonymous caller@IP:PORT.
#   --timeout S            SIPp's global timeout (default 30)
sip_sipp() {
	local name=$1 ns=$2 ip=$3 xml=$4
	shift 4
	local role='' port=5060 rtp='' ruri='' service=service proxy='' transport=u1 dur=$SIP_CALL_MS tmo=30
	local keys=() extra=() caller=caller domain=''
	case ${xml##*/} in uas*) role=uas ;; *) role=uac ;; esac
	while (($#)); do
		case $1 in
		--uas) role=uas; shift ;;
		--uac) role=uac; shift ;;
		--port) port=$2; shift 2 ;;
		--rtp-port) rtp=$2; shift 2 ;;
		--ruri) ruri=$2; shift 2 ;;
		--service) service=$2; shift 2 ;;
		--proxy) proxy=$2; shift 2 ;;
		--transport) transport=$2; shift 2 ;;
		--duration) dur=$2; shift 2 ;;
		--timeout) tmo=$2; shift 2 ;;
		--key)
			case $2 in
			domain) domain=$3 ;;
			caller) caller=$3 ;;
			*) keys+=(-key "$2" "$3") ;;
			esac
			shift 3 ;;
		--auth) keys+=(-au "$2" -ap "$SIP_PASSWORD"); caller=$2; domain=${domain:-$SIP_AUTH_DOMAIN}; shift 2 ;;
		--) shift; extra=("$@"); break ;;
		*) it_log "sip_sipp: unknown option $1"; return 2 ;;
		esac
	done
	[[ $xml == */* ]] || xml=$SIP_SCEN_DIR/$xml
	local rtp_cmd=true
	if [[ -n $rtp ]]; then
		rm -f "$IT_OUT/$name.rtp" "$IT_OUT/$name.rtp.pid"
		rtp_cmd="$NT_PY $SIP_PROBE --bind $ip:$rtp --count $SIP_RTP_COUNT --timeout ${SIP_RTP_TIMEOUT:-10} --label $name --out $IT_OUT/$name.rtp --pidfile $IT_OUT/$name.rtp.pid"
	fi
	local args=(-sf "$xml" -i "$ip" -p "$port" -mi "$ip" -mp "$(( ${rtp:-20000} + 1000 ))"
		-t "$transport" -m 1 -nostdin -s "$service" -d "$dur"
		-timeout "${tmo}s" -timeout_error
		-key rtp_port "${rtp:-$SIP_SDP_PORT_IDLE}" -key rtp_cmd "$rtp_cmd" -key ruri "${ruri:-${proxy:-$ip}}"
		-key caller "$caller" -key domain "${domain:-$ip:$port}" "${keys[@]}"
		-trace_msg -message_file "$IT_OUT/$name.msg.log"
		-trace_err -error_file "$IT_OUT/$name.err.log"
		-trace_logs -log_file "$IT_OUT/$name.events"
		-trace_screen -screen_file "$IT_OUT/$name.screen")
	if [[ $role == uac ]]; then
		args+=(-recv_timeout 15000)
		[[ -n $proxy ]] && args+=(-rsa "$proxy")
	fi
	args+=("${extra[@]}")
	[[ $role == uac ]] && args+=("${proxy:-${ruri%%;*}}")
	rm -f "$IT_OUT/$name".{msg.log,err.log,events,screen,stdout,rc}
	it_log "[$ns] sipp ${args[*]}"
	# the PID recorded is timeout's: SIGTERM to it reaches SIPp
	timeout --kill-after=3 $((tmo + 10)) ip netns exec "$IT_PREFIX$ns" "$SIP_SIPP" "${args[@]}" \
		</dev/null >"$IT_OUT/$name.stdout" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	local pid=$!
	IT_PIDS+=("$pid")
	eval "SIP_PID_${name//[^A-Za-z0-9_]/_}=$pid"
	if [[ $role == uas ]]; then
		# ready when it listens on its SIP port
		local proto=-u
		[[ $transport == t* ]] && proto=-t
		if ! nt_poll 5 sip_listening "$IT_PREFIX$ns" "$proto" "$ip:$port"; then
			it_log "SIPp $name not listening on $ip:$port after 5 s: $(tail -n 5 "$IT_OUT/$name.stdout" 2>/dev/null)"
			return 1
		fi
	fi
	return 0
}
sip_uas() { sip_sipp "$@"; }
sip_uac() { sip_sipp "$@"; }

# sip_uas_or_fail NAME ARGS...: sip_uas, or report NAME_uas_ready failed.
sip_uas_or_fail() {
	local name=$1
	if sip_uas "$@"; then return 0; fi
	it_fail "${name}_uas_ready" "SIPp UAS did not start: $(tail -n 3 "$IT_OUT/$name.stdout" | tr '\n' ' ')"
	return 1
}

sip_listening() { ip netns exec "$1" ss -Hln "$2" 2>/dev/null | awk '{print $4}' | grep -qx -- "$3"; }

# sip_wait NAME [TIMEOUT_S]: wait (bounded) for SIPp NAME to end; its exit
# status goes to NAME.rc and is returned (SIPp: 0 all calls succeeded,
# 1 some failed, 97/99 other ends, 124 killed by the timeout).
sip_wait() {
	local name=$1 timeout=${2:-40} var pid rc
	var="SIP_PID_${name//[^A-Za-z0-9_]/_}"
	pid=${!var:-}
	[[ -n $pid ]] || { echo 255 >"$IT_OUT/$name.rc"; return 255; }
	if ! nt_poll "$timeout" nt_pid_gone "$pid"; then
		it_log "SIPp $name still running after ${timeout}s; stopping it"
		kill -TERM "$pid" 2>/dev/null
		nt_poll 5 nt_pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	echo "$rc" >"$IT_OUT/$name.rc"
	it_log "SIPp $name exited $rc; $(sip_counters "$name")"
	return "$rc"
}

# sip_counters NAME: "successful=N failed=N created=N retrans=N unexpected=N".
sip_counters() { [[ -s $IT_OUT/$1.screen ]] && "$NT_PY" "$SIP_TRACE" counters "$IT_OUT/$1.screen"; }

# sip_event NAME KEY [MATCH]: the value of KEY on the first <log> line of
# SIPp NAME (containing MATCH, if given). sip_callid NAME: its Call-ID.
sip_event() {
	local f=$IT_OUT/$1.events line
	[[ -f $f ]] || return 1
	if [[ -n ${3:-} ]]; then line=$(grep -F -- "$3" "$f" | head -n 1); else line=$(grep -E "(^| )$2=" "$f" | head -n 1); fi
	grep -o "\(^\| \)$2=[^ ]*" <<<"$line" | head -n 1 | sed 's/^ //' | cut -d= -f2-
}
sip_callid() { sip_event "$1" callid; }

# sip_sdp NAME MSG KEY: c, m, o or dir of the SDP that SIPp NAME received in
# message MSG (as the scenario logs it: INVITE, 200/INVITE, 183/INVITE,
# reINVITE-hold, 200/reINVITE-hold, ...).
sip_sdp() { sip_event "$1" "$3" "sdp_rx msg=$2 "; }

# sip_wait_probe NAME [TIMEOUT_S]: wait (bounded) for the RTP probe started
# by SIPp NAME to write its result.
sip_wait_probe() { nt_poll "${2:-8}" grep -q '^done=' "$IT_OUT/$1.rtp" 2>/dev/null; }

# ------------------------------------------------------------ assertions

# sip_assert_call CHECK NAME...: each SIPp ended with status 0 and counted
# one successful call and no failed one.
sip_assert_call() {
	local check=$1 name rc c bad=()
	shift
	for name in "$@"; do
		rc=$(cat "$IT_OUT/$name.rc" 2>/dev/null || echo none)
		c=$(sip_counters "$name")
		if [[ $rc != 0 ]] || ! grep -q 'successful=[1-9]' <<<"$c" || ! grep -q 'failed=0' <<<"$c"; then
			bad+=("$name: exit $rc, $c$( [[ -s $IT_OUT/$name.err.log ]] && echo ", unexpected: $(grep -m1 -o "received '[^']*" "$IT_OUT/$name.err.log" | head -c 80)")")
		fi
	done
	if ((${#bad[@]} == 0)); then
		it_pass "$check"
	else
		it_fail "$check" "$(IFS=';'; echo "${bad[*]}")"
	fi
}

# sip_assert_event CHECK NAME KEY VALUE: the scenario of NAME logged KEY=VALUE.
sip_assert_event() {
	local v
	v=$(sip_event "$2" "$3")
	if [[ $v == "$4" ]]; then it_pass "$1"; else it_fail "$1" "$2 logged $3='$v', expected '$4'"; fi
}

# sip_assert_sdp_realm CHECK NAME CIDR...: every IPv4 address in every SDP
# body SIPp NAME received (c=, o=, a=rtcp..., from its message log) lies in
# one of the CIDRs, and there was at least one SDP.
sip_assert_sdp_realm() {
	local check=$1 name=$2 addrs bad n
	shift 2
	addrs=$("$NT_PY" "$SIP_TRACE" sdp-addrs "$IT_OUT/$name.msg.log" 2>&1)
	n=$(grep -c '^addr=' <<<"$addrs")
	bad=$(grep '^addr=' <<<"$addrs" | while read -r l; do
		a=${l#addr=}; a=${a%% *}
		sip_in_cidr "$a" "$@" || echo "$l"
	done)
	if ((n == 0)); then
		it_fail "$check" "$name received no SDP"
	elif [[ -n $bad ]]; then
		it_fail "$check" "$name received SDP naming addresses outside $*: $(head -n 3 <<<"$bad" | tr '\n' ' ')"
	else
		it_pass "$check"
		it_info "$check: $name saw $(grep '^addr=' <<<"$addrs" | sed 's/^addr=\([^ ]*\).*/\1/' | sort -u | tr '\n' ' ')in $n SDP address fields"
	fi
}

# sip_assert_sdp CHECK NAME MSG CIDR...: the c= address of the SDP in
# message MSG that NAME received is in one of the CIDRs (and m= is a port).
sip_assert_sdp() {
	local check=$1 name=$2 msg=$3 c m
	shift 3
	c=$(sip_sdp "$name" "$msg" c)
	m=$(sip_sdp "$name" "$msg" m)
	if [[ -n $c && $m =~ ^[0-9]+$ ]] && sip_in_cidr "$c" "$@"; then
		it_pass "$check"
		it_info "$check: $name got c=$c m=$m in $msg"
	else
		it_fail "$check" "$name got c='$c' m='$m' in $msg, expected an address in $*"
	fi
}

# sip_assert_media CHECK NAME [MSG]: the RTP probe of SIPp NAME sent all its
# packets, received at least SIP_RTP_MIN, all of them from exactly the
# address:port the SDP NAME received in MSG named (default: the first SDP
# it logged). This is "the phone got media from the NAT's address".
sip_assert_media() {
	local check=$1 name=$2 msg=${3:-} f=$IT_OUT/$2.rtp want c m sent rcvd src
	if [[ -n $msg ]]; then
		c=$(sip_sdp "$name" "$msg" c); m=$(sip_sdp "$name" "$msg" m)
	else
		c=$(sip_event "$name" c); m=$(sip_event "$name" m)
	fi
	want=$c:$m
	if ! sip_wait_probe "$name" 8; then
		it_fail "$check" "no RTP probe result $f (the scenario starts it once the remote SDP is known)"
		return 1
	fi
	sent=$(kv "$f" sent); rcvd=$(kv "$f" received); src=$(kv "$f" sources)
	if [[ $sent == "$SIP_RTP_COUNT" ]] && ((${rcvd:-0} >= SIP_RTP_MIN)) && [[ $src == "$want" ]]; then
		it_pass "$check"
		it_info "$check: $name sent $sent, received $rcvd RTP packets from $src"
	else
		it_fail "$check" "$name sent=$sent received=$rcvd (min $SIP_RTP_MIN) sources='$src', expected only from its SDP's $want"
	fi
}

# sip_bindings_of NATD CALLID: natd's current bindings labelled call:CALLID
# (JSON lines); natctl's exit status otherwise.
# The label is "call:<Call-ID>"; sipproxy may shorten it to the Call-ID's
# part before "@" (natd's label length), so both forms count.
sip_bindings_of() {
	local natd=$1 callid=$2 out=$IT_OUT/list-$1.out
	timeout 10 "$NT_NATCTL" -s "$(it_ctl_socket "$natd")" --json list >"$out" 2>"$IT_OUT/list-$1.err" || return 3
	grep -F -e "\"label\":\"call:$callid\"" -e "\"label\":\"call:${callid%%@*}\"" "$out"
	return 0
}
sip_no_bindings() { local b; b=$(sip_bindings_of "$1" "$2") || return 1; [[ -z $b ]]; }

# sip_assert_no_binding CHECK CALLID NATD...: after the call ended, no natd
# holds a binding labelled call:CALLID (polled up to 3 s: the proxy
# releases on BYE/CANCEL/final failure).
sip_assert_no_binding() {
	local check=$1 callid=$2 natd left=()
	shift 2
	if [[ -z $callid ]]; then
		it_fail "$check" "no Call-ID logged by the scenario"
		return 1
	fi
	for natd in "$@"; do
		if ! nt_poll 3 sip_no_bindings "$natd" "$callid"; then
			left+=("$natd: $(sip_bindings_of "$natd" "$callid" | head -c 300 || cat "$IT_OUT/list-$natd.err")")
		fi
	done
	if ((${#left[@]} == 0)); then it_pass "$check"; else it_fail "$check" "still bound: ${left[*]}"; fi
}

# sip_watch_start NATD: record natd's binding events (natctl watch --json)
# for the rest of the script in $IT_OUT/watch-NATD.out.
sip_watch_start() {
	local natd=$1 out=$IT_OUT/watch-$1.out
	: >"$out"
	timeout 250 "$NT_NATCTL" -s "$(it_ctl_socket "$natd")" --json watch --timeout 240 \
		</dev/null >"$out" 2>"$IT_OUT/watch-$natd.err" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	SIP_WATCH_PIDS+=("$!")
	IT_PIDS+=("$!")
}

# sip_watch_summary NATD CALLID: "created=N ended=N pkts=N" for bindings
# labelled call:CALLID (or call:<CALLID up to "@">) in the watch log (ended: released or expired; pkts:
# packets in+out they carried, as reported when they ended).
sip_watch_summary() {
	"$NT_PY" - "$IT_OUT/watch-$1.out" "call:$2" <<'PY'
import json, sys
created, ended, pkts = set(), set(), 0
for line in open(sys.argv[1], errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("label") not in (sys.argv[2], sys.argv[2].split("@")[0]):
        continue
    if e.get("event") == "created":
        created.add(e.get("id"))
    elif e.get("event") in ("released", "expired"):
        ended.add(e.get("id"))
        c = e.get("counters", {})
        pkts += c.get("pkts_in", 0) + c.get("pkts_out", 0)
print("created=%d ended=%d unreleased=%d pkts=%d" % (len(created), len(ended), len(created - ended), pkts))
PY
}

# sip_assert_bindings CHECK NATD CALLID MIN [media]: natd created at least
# MIN bindings labelled call:CALLID during the call and every one of them
# ended; with "media", they carried packets.
sip_assert_bindings() {
	local check=$1 natd=$2 callid=$3 min=$4 media=${5:-} s created unrel pkts
	nt_poll 3 sip_watch_settled "$natd" "$callid"
	s=$(sip_watch_summary "$natd" "$callid")
	created=$(kv <(echo "$s") created); unrel=$(kv <(echo "$s") unreleased); pkts=$(kv <(echo "$s") pkts)
	if ((${created:-0} >= min && ${unrel:-1} == 0)) && { [[ $media != media ]] || ((${pkts:-0} > 0)); }; then
		it_pass "$check"
		it_info "$check: $natd, call:$callid: $s"
	else
		it_fail "$check" "$natd, call:$callid: $s (expected created >= $min, all ended${media:+, packets carried})"
	fi
}
sip_watch_settled() { [[ $(kv <(sip_watch_summary "$1" "$2") unreleased) == 0 ]]; }

# ------------------------------------------------------------ captures

# sip_capture_start NAME NS IFACE [FILTER...]: tcpdump in NS on IFACE to
# $IT_OUT/NAME.pcap (bounded by count and time); sip_capture_stop NAME.
sip_capture_start() {
	local name=$1 ns=$2 ifc=$3
	shift 3
	command -v tcpdump >/dev/null || return 1
	ip netns exec "$IT_PREFIX$ns" timeout 200 tcpdump -i "$ifc" -nn -U -s 1500 -c 20000 -w "$IT_OUT/$name.pcap" "$@" \
		</dev/null >"$IT_OUT/$name.tcpdump.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	eval "SIP_CAP_${name//[^A-Za-z0-9_]/_}=$!"
	IT_PIDS+=("$!")
	nt_poll 5 grep -q 'listening on' "$IT_OUT/$name.tcpdump.log"
}
sip_capture_stop() {
	local v="SIP_CAP_${1//[^A-Za-z0-9_]/_}"
	[[ -n ${!v:-} ]] && nt_stop_pid "${!v}" timeout 3 >/dev/null 2>&1
	return 0
}
# sip_capture_count NAME FILTER...: packets of the capture matching FILTER.
sip_capture_count() {
	local name=$1
	shift
	timeout 20 tcpdump -nn -r "$IT_OUT/$name.pcap" "$@" 2>/dev/null | wc -l
}

# ------------------------------------------------------------ ladder

# sip_ladder TITLE LABEL=NAME...: the SIP ladder of the SIPp runs, merged by
# time (each message's start line, CSeq and SDP c=/m=/o=/direction) to
# $IT_OUT/ladder.txt (appended, under TITLE); the SDP-carrying messages are
# also printed as INFO lines. For the proxy's side, see sip_proxy_excerpt.
sip_ladder() {
	local title=$1 spec specs=()
	shift
	for spec in "$@"; do specs+=("${spec%%=*}=$IT_OUT/${spec#*=}.msg.log"); done
	{
		echo "===== $title"
		"$NT_PY" "$SIP_TRACE" ladder "${specs[@]}"
		echo
	} >>"$IT_OUT/ladder.txt" 2>&1
	"$NT_PY" "$SIP_TRACE" ladder --sdp-only "${specs[@]}" 2>/dev/null | sed "s/^/$title: /; s/^/INFO: /" | cut -c1-200
}

# sip_proxy_excerpt NAME [CALLID]: the lines of sipproxy NAME's debug log
# that look like SIP start lines, SDP c=/m= lines or natd requests (bind,
# release), optionally only those mentioning... everything (the proxy's log
# format is its own) -- to $IT_OUT/NAME.excerpt.
sip_proxy_excerpt() {
	grep -E 'SIP/2\.0 [1-6][0-9][0-9]|^[^ ]* *(INVITE|ACK|BYE|CANCEL|REGISTER|PRACK|UPDATE|OPTIONS) sip|(INVITE|ACK|BYE|CANCEL|REGISTER) sip:|c=IN IP4|m=audio|[Bb][Ii][Nn][Dd]|[Rr]elease' \
		"$IT_OUT/$1.log" >"$IT_OUT/$1.excerpt" 2>/dev/null
	return 0
}

# ------------------------------------------------------------ whole calls (tests/demo)

# sip_basic_call UAC UAC_NS UAC_IP UAC_RTP UAS UAS_NS UAS_IP UAS_RTP PROXY RURI:
# one basic call with media (uas.xml, uac.xml): SIPp UAS started (and
# listening), SIPp UAC through PROXY (HOST:PORT) to RURI, both waited for
# (bounded), then the RTP probes' results (bounded; only for the probes
# the scenarios started). SIP_CALLID is the call's Call-ID (from the
# UAC's log). SIPp's own timeout is SIP_CALL_TIMEOUT seconds (default 30).
# SIP_UAC_XML (default uac.xml) is the caller's scenario, SIP_UAC_OPTS and
# SIP_UAS_OPTS (arrays) more sip_sipp options for each side (e.g.
# SIP_UAC_XML=uac-auth.xml SIP_UAC_OPTS=(--auth phoneb --key domain
# edge.test): the caller authenticates).
# Returns 0 when both SIPp ended with status 0, 1 when not, 2 when the UAS
# did not start.
sip_basic_call() {
	local uac=$1 uac_ns=$2 uac_ip=$3 uac_rtp=$4 uas=$5 uas_ns=$6 uas_ip=$7 uas_rtp=$8 proxy=$9 ruri=${10}
	local tmo=${SIP_CALL_TIMEOUT:-30} rc=0
	SIP_CALLID=
	sip_uas "$uas" "$uas_ns" "$uas_ip" uas.xml --rtp-port "$uas_rtp" --timeout "$tmo" \
		"${SIP_UAS_OPTS[@]}" || return 2
	sip_uac "$uac" "$uac_ns" "$uac_ip" "${SIP_UAC_XML:-uac.xml}" --rtp-port "$uac_rtp" --timeout "$tmo" \
		--proxy "$proxy" --ruri "$ruri" "${SIP_UAC_OPTS[@]}"
	sip_wait "$uac" $((tmo + 10)) || rc=1
	sip_wait "$uas" 15 || rc=1
	# a probe the scenario never started (no pidfile, no result) has nothing to wait for
	local n
	for n in "$uac" "$uas"; do
		[[ -e $IT_OUT/$n.rtp.pid || -e $IT_OUT/$n.rtp ]] && sip_wait_probe "$n" 8
	done
	# shellcheck disable=SC2034 # read by the caller
	SIP_CALLID=$(sip_callid "$uac")
	return "$rc"
}

# sip_verdict CHECKS_FILE: "OK" when the file (the PASS/FAIL lines of
# it_pass/it_fail) has passes and no FAIL line; otherwise "FAILED: " and
# the first failures. Status 0 for OK, 1 otherwise.
sip_verdict() {
	local f=$1 fails
	fails=$(grep '^FAIL: ' "$f" 2>/dev/null | sed 's/^FAIL: //' | head -n 3 | cut -c1-220)
	if [[ -z $fails ]] && grep -q '^PASS: ' "$f" 2>/dev/null; then
		echo OK
		return 0
	fi
	[[ -n $fails ]] || fails="no check ran"
	echo "FAILED: $(paste -sd';' <<<"$fails" | sed 's/;/; /g')"
	return 1
}

# ------------------------------------------------------------ restarts (sip-restart.sh)

# sip_proxy_signal NAME SIG [WAIT_S]: send SIG (TERM, KILL...) to sipproxy
# NAME by the PID sip_proxy_start recorded, wait (bounded, default 10 s)
# for it to be gone and reap it. Returns 0 when it is gone, 1 if it is
# still running, 2 if NAME has no recorded PID.
sip_proxy_signal() {
	local name=$1 sig=$2 wait=${3:-10} pid
	pid=$(sip_proxy_pid "$name")
	[[ -n $pid ]] || return 2
	if nt_pid_alive "$pid"; then
		it_log "kill -$sig sipproxy $name (pid $pid)"
		kill "-$sig" "$pid" 2>/dev/null
	fi
	nt_poll "$wait" nt_pid_gone "$pid" || return 1
	wait "$pid" 2>/dev/null
	return 0
}

# sip_proxy_status CONF OUT: the status view (sipproxy -S) of the proxy
# whose configuration (status_socket) is CONF, into OUT (bounded).
sip_proxy_status() {
	timeout 5 "$SIP_PROXY" -S -c "$1" >"$2" 2>&1
}

# sip_proxy_counter CONF KEY: the value of KEY (e.g. refreshes, calls,
# bindings) on the status view's "media" line; empty if none.
sip_proxy_counter() {
	local out=$IT_OUT/status-counter.out
	sip_proxy_status "$1" "$out" || return 1
	grep -m1 '^media ' "$out" | grep -o "\(^\| \)$2=[0-9]*" | head -n 1 | cut -d= -f2
}

# sip_counter_at_least CONF KEY N: the status counter KEY is at least N.
sip_counter_at_least() {
	local v
	v=$(sip_proxy_counter "$1" "$2") || return 1
	[[ $v =~ ^[0-9]+$ ]] && ((v >= $3))
}

# sip_binding_ids NATD CALLID: the ids of natd's bindings labelled
# call:CALLID, sorted, one line ("" when none).
sip_binding_ids() {
	sip_bindings_of "$1" "$2" | grep -o '"id":[0-9]*' | cut -d: -f2 | sort -n -u | paste -sd' ' -
}

# sip_binding_lifetime NATD CALLID: the longest lease left (seconds) among
# natd's bindings labelled call:CALLID ("" when none).
sip_binding_lifetime() {
	sip_bindings_of "$1" "$2" | grep -o '"lifetime":[0-9]*' | cut -d: -f2 | sort -n | tail -n 1
}

# sip_has_binding NATD CALLID: natd holds a binding labelled call:CALLID.
sip_has_binding() { local b; b=$(sip_bindings_of "$1" "$2") || return 1; [[ -n $b ]]; }

# sip_has_callid NAME: SIPp NAME has logged its Call-ID (a UAC: the 200 came).
sip_has_callid() { [[ -n $(sip_callid "$1" 2>/dev/null) ]]; }
