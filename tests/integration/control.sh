#!/bin/bash
# control: natd's address manager driven over its control socket with
# natctl, checked with real packets through natd on the "edge" topology.
#
#   phA 203.0.113.10 (+ .20) -- [edge: natd, pool 198.51.100.0/28] -- phB 10.1.0.10
#                                                                 \-- phC 10.1.0.11
#
# The patent's four interchanges (docs/glossary.md#section-iii):
#   1 server allocation and discovery: a TERM binding for phB's UDP server;
#     phA reaches it through M and gets the replies from M;
#   2 client (originating) allocation: an ORIG binding; phA sees exactly M;
#   3 a requester on behalf of a server on another host, and
#   4 a requester negotiating for a client on another host: as 1 and 2, but
#     asked by a listed non-root user (nobody) from phC's namespace;
# then a remote filter, alternative targets by source (docs/glossary.md),
# an RTP/RTCP pair, a binding forced into a named transit pool, lease
# expiry seen by "natctl watch", refresh and release, the client policy
# (an unlisted user is refused; a listed user's prefixes and quota, and it
# cannot release root's binding), and hostile bytes on the socket.
#
# natd runs with conf/natd-edge-test.conf plus a control block (socket
# mode 0666, "nobody" listed with realm outside, prefixes 10.1.0.0/25,
# quota 2) and the transit pool "carrier" (198.51.100.128/28, ports
# 40000-40999) in realm outside (inserted if the base file lacks it).
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd
if [[ ! -x $NT_NATCTL ]]; then
	it_fail natctl_built "no executable $NT_NATCTL; run ./quickstart build"
	exit 1
fi
command -v setpriv >/dev/null || it_skip_all "setpriv (util-linux) not installed"

LISTED=nobody       # in control.clients
UNLISTED=daemon     # a local user that is not
if ! getent passwd "$LISTED" >/dev/null || ! getent passwd "$UNLISTED" >/dev/null; then
	it_skip_all "needs the local users $LISTED and $UNLISTED"
fi
LISTED_UID=$(id -u "$LISTED")
TRANSIT_RE='^198\.51\.100\.(12[89]|13[0-9]|14[0-3]):(4[0-9]{4})$' # carrier: .128/28, 40000-40999
TRANSIT_LINE='    transit_pools = ( { name = "carrier"; addresses = [ "198.51.100.128/28" ]; ports = "40000-40999"; } );'

# ---------------------------------------------------------------- config

# gen_conf OUT WITH_TRANSIT(0/1): the base file plus the control block;
# with 1 the transit pool "carrier" is there (inserted if the base lacks
# it), with 0 any transit_pools list of the base is left out.
gen_conf() {
	local out=$1 transit=$2 base=$NT_ROOT/conf/natd-edge-test.conf
	{
		if ((transit)) && ! grep -q 'name = "carrier"' "$base"; then
			# one setting per line in the base file: insert after the realm's name
			awk -v line="$TRANSIT_LINE" '{ print } /name = "outside";/ { print line }' "$base"
		elif ((transit)); then
			cat "$base"
		else
			awk '/transit_pools *= *\(/ { skip = 1 } !skip { print } skip && /\);/ { skip = 0 }' "$base"
		fi
		cat <<EOF

control: {
  socket_mode = "0666";
  default_lifetime = 300;
  max_lifetime = 3600;
  clients = (
    { user = "$LISTED"; realms = [ "outside" ]; prefixes = [ "10.1.0.0/25" ]; quota = 2; }
  );
};
EOF
	} >"$out"
}

conf=$IT_OUT/natd-control.conf
TRANSIT_SKIP=
gen_conf "$conf" 1
if ! grep -q 'name = "carrier"' "$conf"; then
	TRANSIT_SKIP="could not insert transit_pools into $conf"
	gen_conf "$conf" 0
elif ! "$NT_NATD" -n -c "$conf" >"$IT_OUT/conf-check.out" 2>&1; then
	TRANSIT_SKIP="natd -n rejects transit_pools: $(grep -m1 -v '^$' "$IT_OUT/conf-check.out")"
	gen_conf "$conf" 0
fi
if ! "$NT_NATD" -n -c "$conf" >"$IT_OUT/conf-check.out" 2>&1; then
	it_fail control_config "natd -n rejects $conf: $(tr '\n' ' ' <"$IT_OUT/conf-check.out")"
	exit 1
fi
it_topo_up edge "$conf"
CTL=$(it_ctl_socket)
if nt_poll 5 test -S "$CTL"; then
	it_pass control_socket_exists
else
	it_fail control_socket_exists "no socket at $CTL"
	exit 1
fi

# ---------------------------------------------------------------- helpers

# exchange NAME SRV_NS SRV_BIND CLI_NS CLI_BIND TO: a UDP echo server in
# SRV_NS, one datagram (and its echo) from CLI_NS. Sets X_PEER (the source
# the server saw), X_REPLY (where the echo came from), X_SEEN (the source
# the server reported in the echo), X_PAYLOAD (what the server got).
exchange() {
	local name=$1 sns=$2 sbind=$3 cns=$4 cbind=$5 to=$6
	X_PEER='' X_REPLY='' X_SEEN='' X_PAYLOAD=''
	it_server "$sns" "s-$name" udp-echo --bind "$sbind" --count 1 --timeout 5 || return 1
	it_nt "$cns" "c-$name" udp-send --to "$to" --bind "$cbind" --timeout 2 --payload "$name"
	it_wait "s-$name" 5
	X_PEER=$(kv "$IT_OUT/s-$name.out" peer)
	X_PAYLOAD=$(kv "$IT_OUT/s-$name.out" payload)
	X_REPLY=$(kv "$IT_OUT/c-$name.out" reply_from)
	X_SEEN=$(kv "$IT_OUT/c-$name.out" seen_as)
}

# silent NAME SRV_NS SRV_BIND CLI_NS CLI_BIND TO: 0 when one datagram from
# CLI_NS to TO does NOT reach a listener on SRV_BIND within ~1.2 s.
silent() {
	local name=$1 sns=$2 sbind=$3 cns=$4 cbind=$5 to=$6
	it_server "$sns" "s-$name" udp-echo --bind "$sbind" --count 1 --timeout 1.2 --no-reply || return 2
	it_nt "$cns" "c-$name" udp-send --to "$to" --bind "$cbind" --timeout 0.2 --payload "$name"
	it_wait "s-$name" 4
	[[ $(kv "$IT_OUT/s-$name.out" received) == 0 ]]
}

# ctl_bind NAME [--as USER] [--ns NS] -- BIND-OPTIONS...: natctl --json bind.
# Sets B_ID, B_ALLOC (empty when refused); returns natctl's status.
ctl_bind() {
	local name=$1 opts=() rc
	shift
	while (($#)) && [[ $1 != -- ]]; do opts+=("$1"); shift; done
	shift
	it_natctl "$name" "${opts[@]}" -- --json bind "$@"
	rc=$?
	B_ID=$(json_get "$IT_OUT/$name.out" id)
	B_ALLOC=$(json_get "$IT_OUT/$name.out" alloc)
	((rc == 0)) && [[ -n $B_ID && -n $B_ALLOC ]] && it_info "$name: binding $B_ID, M = $B_ALLOC"
	return $rc
}

# expect_bound CHECK NAME: PASS when bind NAME granted an M in the pool.
expect_bound() {
	if [[ -n $B_ID && -n $B_ALLOC ]] && in_pool "$B_ALLOC"; then
		it_pass "$1"
		return 0
	fi
	it_fail "$1" "natctl bind: $(tr '\n' ' ' <"$IT_OUT/$2.out") $(tr '\n' ' ' <"$IT_OUT/$2.err")"
	return 1
}

# expect_refused CHECK NAME STATUS: natctl exited 1 and natd said STATUS.
expect_refused() {
	local check=$1 name=$2 want=$3 rc=$4
	if [[ $rc == 1 && $(json_get "$IT_OUT/$name.out" status) == "$want" ]] &&
		grep -q "$want" "$IT_OUT/$name.err"; then
		it_pass "$check"
	else
		it_fail "$check" "expected exit 1 and $want, got exit $rc: $(tr '\n' ' ' <"$IT_OUT/$name.out") $(tr '\n' ' ' <"$IT_OUT/$name.err")"
	fi
}

# listed NAME ID: the JSON lines of "natctl list --id ID" (as root).
listed() {
	it_natctl "$1" -- --json list --id "$2" >/dev/null 2>&1 || return 2
	[[ -s $IT_OUT/$1.out ]]
}

# ctl_stat KEY: one of natd's counters from "natctl stats".
ctl_stat() {
	it_natctl stats -- --json stats >/dev/null 2>&1
	json_get "$IT_OUT/stats.out" "stats.$1"
}

port_of() { echo "${1##*:}"; }
addr_of() { echo "${1%:*}"; }

# ---------------------------------------------------------------- interchange 1

check_interchange1() {
	ctl_bind ic1-bind -- --dir term --in-realm inside --ext-realm outside \
		--endpoint 10.1.0.10:6000 --label interchange-1
	expect_bound ic1_server_binding_allocated ic1-bind || return
	IC1_ID=$B_ID IC1_M=$B_ALLOC
	exchange ic1 phB 10.1.0.10:6000 phA 203.0.113.10:7000 "$IC1_M"
	if [[ $X_PEER == 203.0.113.10:7000 && $X_PAYLOAD == ic1 ]]; then
		it_pass ic1_remote_reaches_server_through_M
	else
		it_fail ic1_remote_reaches_server_through_M "phB's server saw peer '$X_PEER' payload '$X_PAYLOAD'"
	fi
	if [[ $X_REPLY == "$IC1_M" ]]; then
		it_pass ic1_reply_from_M
	else
		it_fail ic1_reply_from_M "phA got the reply from '$X_REPLY', M is $IC1_M"
	fi
}

# ---------------------------------------------------------------- interchange 2

check_interchange2() {
	ctl_bind ic2-bind -- --dir orig --in-realm inside --ext-realm outside \
		--endpoint 10.1.0.10:6001 --label interchange-2
	expect_bound ic2_client_binding_allocated ic2-bind || return
	local id=$B_ID m=$B_ALLOC
	exchange ic2 phA 203.0.113.10:7001 phB 10.1.0.10:6001 203.0.113.10:7001
	if [[ $X_PEER == "$m" && $X_SEEN == "$m" ]]; then
		it_pass ic2_remote_sees_exactly_M
	else
		it_fail ic2_remote_sees_exactly_M "phA saw the source '$X_PEER' (echo says '$X_SEEN'), M is $m"
	fi
	if listed ic2-list "$id" && (($(json_get "$IT_OUT/ic2-list.out" counters.pkts_out) >= 1)); then
		it_pass ic2_carried_by_the_binding
	else
		it_fail ic2_carried_by_the_binding "binding $id: $(cat "$IT_OUT/ic2-list.out")"
	fi
}

# ---------------------------------------------------------------- interchanges 3 and 4

# The requester is another host (phC's namespace) and another user (the
# listed "nobody"), naming phB's endpoint.
check_interchange3() {
	ctl_bind ic3-bind --as "$LISTED" --ns phC -- --dir term --in-realm inside --ext-realm outside \
		--endpoint 10.1.0.10:6002 --label on-behalf-of-phB
	expect_bound ic3_binding_for_another_host ic3-bind || return
	local id=$B_ID m=$B_ALLOC
	if listed ic3-list "$id" && [[ $(json_get "$IT_OUT/ic3-list.out" owner) == "uid:$LISTED_UID" &&
		$(json_get "$IT_OUT/ic3-list.out" endpoint) == 10.1.0.10:6002 ]]; then
		it_pass ic3_owned_by_the_requester
	else
		it_fail ic3_owned_by_the_requester "list: $(cat "$IT_OUT/ic3-list.out")"
	fi
	exchange ic3 phB 10.1.0.10:6002 phA 203.0.113.10:7002 "$m"
	if [[ $X_PEER == 203.0.113.10:7002 && $X_REPLY == "$m" ]]; then
		it_pass ic3_remote_reaches_server_through_M
	else
		it_fail ic3_remote_reaches_server_through_M "phB saw '$X_PEER', phA got the reply from '$X_REPLY', M is $m"
	fi
	it_natctl ic3-release --as "$LISTED" --ns phC -- release "$id" ||
		it_fail ic3_release "the requester could not release binding $id"
}

check_interchange4() {
	ctl_bind ic4-bind --as "$LISTED" --ns phC -- --dir orig --in-realm inside --ext-realm outside \
		--endpoint 10.1.0.10:6003 --label on-behalf-of-phB
	expect_bound ic4_binding_for_another_client ic4-bind || return
	local id=$B_ID m=$B_ALLOC
	exchange ic4 phA 203.0.113.10:7003 phB 10.1.0.10:6003 203.0.113.10:7003
	if [[ $X_PEER == "$m" && $X_SEEN == "$m" ]]; then
		it_pass ic4_remote_sees_exactly_M
	else
		it_fail ic4_remote_sees_exactly_M "phA saw the source '$X_PEER', M is $m"
	fi
	it_natctl ic4-release --as "$LISTED" --ns phC -- release "$id" ||
		it_fail ic4_release "the requester could not release binding $id"
}

# ------------------------------------ remote filter, alternative targets

check_claim7() {
	ctl_bind c7-bind -- --dir term --in-realm inside --ext-realm outside \
		--endpoint 10.1.0.10:6010 --filter 203.0.113.10/32
	expect_bound claim7_filtered_binding c7-bind || return
	local m=$B_ALLOC f0 f1
	f0=$(ctl_stat dropped_filtered)
	it_server phB s-c7 udp-echo --bind 10.1.0.10:6010 --count 1 --timeout 4 --no-reply
	# .20 first: if it got through, the server would stop with it
	it_nt phA c7-from20 udp-send --to "$m" --bind 203.0.113.20:7010 --timeout 0.3 --payload from-20
	it_nt phA c7-from10 udp-send --to "$m" --bind 203.0.113.10:7010 --timeout 0.3 --payload from-10
	it_wait s-c7 5
	if [[ $(kv "$IT_OUT/s-c7.out" peer) == 203.0.113.10:7010 &&
		$(kv "$IT_OUT/s-c7.out" payload) == from-10 ]]; then
		it_pass claim7_only_the_named_remote_arrives
	else
		it_fail claim7_only_the_named_remote_arrives "phB got: $(tr '\n' ' ' <"$IT_OUT/s-c7.out")"
	fi
	f1=$(ctl_stat dropped_filtered)
	if [[ -n $f0 && -n $f1 ]] && ((f1 > f0)); then
		it_pass claim7_dropped_filtered_counted
	else
		it_fail claim7_dropped_filtered_counted "dropped_filtered '$f0' -> '$f1'"
	fi
}

check_claim8() {
	ctl_bind c8-bind -- --dir term --in-realm inside --ext-realm outside \
		--endpoint 10.1.0.10:6100 --target 203.0.113.20/32=10.1.0.11:6100
	expect_bound claim8_target_binding c8-bind || return
	local m=$B_ALLOC
	exchange c8-20 phC 10.1.0.11:6100 phA 203.0.113.20:7020 "$m"
	if [[ $X_PEER == 203.0.113.20:7020 ]]; then
		it_pass claim8_listed_source_goes_to_target
	else
		it_fail claim8_listed_source_goes_to_target "phC's server saw '$X_PEER'"
	fi
	if [[ $X_REPLY == "$m" && $X_SEEN == 203.0.113.20:7020 ]]; then
		it_pass claim8_target_reply_from_M
	else
		it_fail claim8_target_reply_from_M "203.0.113.20 got phC's reply from '$X_REPLY', M is $m"
	fi
	exchange c8-10 phB 10.1.0.10:6100 phA 203.0.113.10:7021 "$m"
	if [[ $X_PEER == 203.0.113.10:7021 && $X_REPLY == "$m" ]]; then
		it_pass claim8_other_source_goes_to_default
	else
		it_fail claim8_other_source_goes_to_default "phB saw '$X_PEER', phA got the reply from '$X_REPLY', M is $m"
	fi
}

# ---------------------------------------------------------------- RTP pair

check_rtp_pair() {
	ctl_bind rtp-bind -- --in-realm inside --ext-realm outside --endpoint 10.1.0.10:6200 --rtp-pair
	expect_bound rtp_pair_binding rtp-bind || return
	local m=$B_ALLOC port rtcp
	port=$(port_of "$m")
	if ((port % 2 == 0)); then
		it_pass rtp_pair_even_port
	else
		it_fail rtp_pair_even_port "M is $m"
	fi
	rtcp=$(addr_of "$m"):$((port + 1))
	exchange rtcp phB 10.1.0.10:6201 phA 203.0.113.10:7030 "$rtcp"
	if [[ $X_PEER == 203.0.113.10:7030 && $X_REPLY == "$rtcp" ]]; then
		it_pass rtp_pair_rtcp_reaches_port_plus_1
	else
		it_fail rtp_pair_rtcp_reaches_port_plus_1 "to $rtcp: phB:6201 saw '$X_PEER', phA got the reply from '$X_REPLY'"
	fi
}

# ---------------------------------------------------------------- transit

check_transit() {
	if [[ -n $TRANSIT_SKIP ]]; then
		it_skip transit_forced_binding "$TRANSIT_SKIP"
		return
	fi
	ctl_bind tr-bind -- --dir term --in-realm inside --ext-realm outside --transit carrier \
		--endpoint 10.1.0.10:6300 --label forced-through-carrier
	if [[ -z $B_ALLOC ]]; then
		it_fail transit_forced_binding "natctl bind --transit carrier: $(tr '\n' ' ' <"$IT_OUT/tr-bind.err")"
		return
	fi
	local m=$B_ALLOC
	if [[ $m =~ $TRANSIT_RE ]] && (($(port_of "$m") <= 40999)); then
		it_pass transit_M_in_the_carrier_pool
	else
		it_fail transit_M_in_the_carrier_pool "M is $m, not in 198.51.100.128/28 ports 40000-40999"
	fi
	exchange tr phB 10.1.0.10:6300 phA 203.0.113.10:7040 "$m"
	if [[ $X_PEER == 203.0.113.10:7040 && $X_REPLY == "$m" ]]; then
		it_pass transit_remote_reaches_E_through_it
	else
		it_fail transit_remote_reaches_E_through_it "phB saw '$X_PEER', phA got the reply from '$X_REPLY', M is $m"
	fi
}

# ---------------------------------------------------------------- leases

SENTINEL_ID=
watch_ready() {
	it_natctl w-poke -- refresh "$SENTINEL_ID" --lifetime 600 >/dev/null 2>&1
	grep -q "\"event\":\"refreshed\",\"id\":$SENTINEL_ID," "$IT_OUT/watch.out" 2>/dev/null
}
gone() { listed "lease-poll" "$1"; [[ $? == 1 ]]; }

check_leases() {
	local a ma b mb watch_pid
	# a watcher, ready once it reports a refresh of a sentinel binding
	ctl_bind sentinel -- --dir term --in-realm inside --ext-realm outside --endpoint 10.1.0.10:6499 --lifetime 600
	SENTINEL_ID=$B_ID
	it_log "natctl --json watch --events refreshed,expired --timeout 25 &"
	timeout 30 "$NT_NATCTL" -s "$CTL" --json watch --events refreshed,expired --timeout 25 \
		>"$IT_OUT/watch.out" 2>"$IT_OUT/watch.err" &
	watch_pid=$!
	IT_PIDS+=("$watch_pid")
	if [[ -z $SENTINEL_ID ]] || ! nt_poll 5 watch_ready; then
		it_fail lease_watch_started "natctl watch reported no event: $(cat "$IT_OUT/watch.out" "$IT_OUT/watch.err")"
	fi

	ctl_bind lease-a -- --dir term --in-realm inside --ext-realm outside --endpoint 10.1.0.10:6400 --lifetime 3
	a=$B_ID ma=$B_ALLOC
	ctl_bind lease-b -- --dir term --in-realm inside --ext-realm outside --endpoint 10.1.0.10:6401 --lifetime 3
	b=$B_ID mb=$B_ALLOC
	if [[ -z $a || -z $b ]]; then
		it_fail lease_bindings "bind --lifetime 3 refused"
		return
	fi
	if [[ $(json_get "$IT_OUT/lease-a.out" lifetime) == 3 ]]; then
		it_pass lease_lifetime_granted
	else
		it_fail lease_lifetime_granted "asked 3 s, granted '$(json_get "$IT_OUT/lease-a.out" lifetime)'"
	fi
	# B is refreshed at once, beyond A's (and its own first) lifetime
	if it_natctl lease-refresh -- --json refresh "$b" --lifetime 10 &&
		[[ $(json_get "$IT_OUT/lease-refresh.out" lifetime) == 10 ]]; then
		it_pass lease_refresh_answered
	else
		it_fail lease_refresh_answered "$(cat "$IT_OUT/lease-refresh.out" "$IT_OUT/lease-refresh.err")"
	fi
	exchange lease-a phB 10.1.0.10:6400 phA 203.0.113.10:7050 "$ma"
	if [[ $X_PEER == 203.0.113.10:7050 && $X_REPLY == "$ma" ]]; then
		it_pass lease_binding_works_before_expiry
	else
		it_fail lease_binding_works_before_expiry "phB saw '$X_PEER', reply from '$X_REPLY', M is $ma"
	fi

	# A expires (3 s lease, 1 s expiry tick): bounded poll
	if nt_poll 8 gone "$a"; then
		it_pass lease_expired_binding_gone_from_list
	else
		it_fail lease_expired_binding_gone_from_list "binding $a still listed 8 s after a 3 s lease: $(cat "$IT_OUT/lease-poll.out")"
	fi
	if nt_poll 3 grep -q "\"event\":\"expired\",\"id\":$a," "$IT_OUT/watch.out"; then
		it_pass lease_watch_saw_expired
	else
		it_fail lease_watch_saw_expired "watch output: $(tr '\n' ' ' <"$IT_OUT/watch.out" | tail -c 400)"
	fi
	nt_stop_pid "$watch_pid" natctl 3 >/dev/null 2>&1

	# B outlived its first lifetime
	if listed lease-b-list "$b"; then
		it_pass lease_refreshed_binding_outlives_first_lifetime
	else
		it_fail lease_refreshed_binding_outlives_first_lifetime "binding $b gone after its refresh"
	fi
	exchange lease-b phB 10.1.0.10:6401 phA 203.0.113.10:7051 "$mb"
	if [[ $X_PEER == 203.0.113.10:7051 && $X_REPLY == "$mb" ]]; then
		it_pass lease_refreshed_binding_still_works
	else
		it_fail lease_refreshed_binding_still_works "phB saw '$X_PEER', reply from '$X_REPLY', M is $mb"
	fi

	if silent lease-a-after phB 10.1.0.10:6400 phA 203.0.113.10:7050 "$ma"; then
		it_pass lease_expired_M_not_delivered
	else
		it_fail lease_expired_M_not_delivered "phA -> $ma still reached 10.1.0.10:6400"
	fi

	# release: gone at once, traffic stops
	if it_natctl lease-release -- release "$b" && ! listed lease-b-list2 "$b"; then
		it_pass release_removes_at_once
	else
		it_fail release_removes_at_once "$(cat "$IT_OUT/lease-release.out" "$IT_OUT/lease-release.err" "$IT_OUT/lease-b-list2.out")"
	fi
	if silent lease-b-after phB 10.1.0.10:6401 phA 203.0.113.10:7051 "$mb"; then
		it_pass release_M_not_delivered
	else
		it_fail release_M_not_delivered "phA -> $mb still reached 10.1.0.10:6401 after the release"
	fi
}

# ---------------------------------------------------------------- policy

check_policy() {
	local rc b1 n
	# an unlisted local user: refused at HELLO
	it_natctl unlisted --as "$UNLISTED" -- caps
	rc=$?
	if [[ $rc == 1 ]] && grep -q NOT_AUTHORIZED "$IT_OUT/unlisted.err"; then
		it_pass unlisted_user_refused
	else
		it_fail unlisted_user_refused "expected exit 1 and NOT_AUTHORIZED, got exit $rc: $(tr '\n' ' ' <"$IT_OUT/unlisted.err")"
	fi
	# the same on the wire: HELLO_R carries NOT_AUTHORIZED
	it_log "(as $UNLISTED) raw HELLO"
	setpriv "--reuid=$UNLISTED" "--regid=$(id -gn "$UNLISTED")" --clear-groups \
		timeout 10 "$NT_PY" - "$CTL" >"$IT_OUT/unlisted-raw.out" 2>&1 <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(3)
s.connect(sys.argv[1])
s.sendall(b"NC\x01\x00" + struct.pack(">HHII", 1, 0, 16, 7))
buf = b""
while True:
    d = s.recv(4096)
    if not d:
        break
    buf += d
mtype, length, reqid = struct.unpack(">H2xII", buf[4:16])
status = None
off = 16
while off + 4 <= len(buf):
    t, l = struct.unpack(">HH", buf[off:off + 4])
    if t == 0x8001:
        status = struct.unpack(">H", buf[off + 4:off + 6])[0]
    off += 4 + l
print("type=0x%04x reqid=%d status=%s closed=1" % (mtype, reqid, status))
PY
	sed 's/^/    unlisted-raw: /' "$IT_OUT/unlisted-raw.out" >&2
	if grep -q 'type=0x8001 reqid=7 status=3 closed=1' "$IT_OUT/unlisted-raw.out"; then
		it_pass unlisted_user_hello_refused_on_the_wire
	else
		it_fail unlisted_user_hello_refused_on_the_wire "$(cat "$IT_OUT/unlisted-raw.out")"
	fi

	# a listed user: prefixes 10.1.0.0/25, quota 2
	ctl_bind pol-1 --as "$LISTED" -- --dir term --in-realm inside --ext-realm outside --endpoint 10.1.0.10:6500
	expect_bound listed_user_gets_binding pol-1
	b1=$B_ID
	ctl_bind pol-outside --as "$LISTED" -- --dir term --in-realm inside --ext-realm outside --endpoint 10.1.0.200:6501
	expect_refused listed_user_refused_outside_its_prefixes pol-outside NOT_AUTHORIZED $?
	ctl_bind pol-2 --as "$LISTED" -- --dir term --in-realm inside --ext-realm outside --endpoint 10.1.0.10:6502
	expect_bound listed_user_second_binding pol-2
	ctl_bind pol-3 --as "$LISTED" -- --dir term --in-realm inside --ext-realm outside --endpoint 10.1.0.10:6503
	expect_refused listed_user_third_binding_over_quota pol-3 QUOTA_EXCEEDED $?
	it_natctl pol-steal --as "$LISTED" -- --json release "${IC1_ID:-1}"
	expect_refused listed_user_cannot_release_roots_binding pol-steal NOT_FOUND $?
	if [[ -n ${IC1_ID:-} ]] && listed pol-ic1 "$IC1_ID"; then
		it_pass roots_binding_survives
	else
		it_fail roots_binding_survives "binding '${IC1_ID:-}' is gone"
	fi
	# it sees only its own bindings
	it_natctl pol-list --as "$LISTED" -- --json list
	n=$(grep -c . "$IT_OUT/pol-list.out")
	if ((n == 2)) && ! grep -v "\"owner\":\"uid:$LISTED_UID\"" "$IT_OUT/pol-list.out" | grep -q .; then
		it_pass listed_user_lists_only_its_own
	else
		it_fail listed_user_lists_only_its_own "$n items: $(tr '\n' ' ' <"$IT_OUT/pol-list.out" | head -c 300)"
	fi
	[[ -n $b1 ]] && it_natctl pol-rel --as "$LISTED" -- release "$b1"
}

# ---------------------------------------------------------------- hostile input

check_hostile() {
	it_log "hostile bytes on $CTL"
	timeout 30 "$NT_PY" - "$CTL" >"$IT_OUT/hostile.out" 2>&1 <<'PY'
import random, socket, struct, sys, time

path = sys.argv[1]

def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(path)
    return s

def hdr(mtype, length, reqid):
    return b"NC\x01\x00" + struct.pack(">HHII", mtype, 0, length, reqid)

def read_msgs(s, want=1, wait=2.0):
    """Messages until `want` arrived, EOF, or the wait ran out."""
    buf, msgs, closed = b"", [], False
    end = time.monotonic() + wait
    while len(msgs) < want:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not d:
            closed = True
            break
        buf += d
        while len(buf) >= 16:
            length = struct.unpack(">I", buf[8:12])[0]
            if len(buf) < length:
                break
            msgs.append(buf[:length])
            buf = buf[length:]
    return msgs, buf, closed

def is_closed(s, wait=2.0):
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True

def desc(m):
    if m[:2] != b"NC":
        return "magic=%r" % m[:2]
    mtype, reqid = struct.unpack(">H", m[4:6])[0], struct.unpack(">I", m[12:16])[0]
    status, off = None, 16
    while off + 4 <= len(m):
        t, l = struct.unpack(">HH", m[off:off + 4])
        if t == 0x8001 and l == 2:
            status = struct.unpack(">H", m[off + 4:off + 6])[0]
        off += 4 + l
    return "type=0x%04x reqid=%d status=%s" % (mtype, reqid, status)

def out(case, msgs, closed):
    print("case=%s replies=%d first=%s closed=%d" %
          (case, len(msgs), desc(msgs[0]).replace(" ", ",") if msgs else "-", int(closed)))

hello = hdr(1, 16, 1)

# 1. an HTTP request: cannot be framed -> ERROR (request id 0) and close
s = conn(); s.sendall(b"GET / HTTP/1.1\r\nHost: natd\r\n\r\n")
m, _, c = read_msgs(s); c = c or is_closed(s); out("http", m, c)
# 2. random bytes (seeded), 4 KiB
random.seed(7)
s = conn(); s.sendall(bytes(random.getrandbits(8) for _ in range(4096)))
m, _, c = read_msgs(s); c = c or is_closed(s); out("random", m, c)
# 3. a length of 1 MiB: refused when the length arrives
s = conn(); s.sendall(b"NC\x01\x00\x00\x03\x00\x00\x00\x10\x00\x01")
m, _, c = read_msgs(s); c = c or is_closed(s); out("huge_length", m, c)
# 4. truncated: the header promises 40 bytes, 20 arrive, then EOF
s = conn(); s.sendall(hello); read_msgs(s)
s.sendall(hdr(3, 40, 2) + b"\x00\x01\x00\x00"); s.shutdown(socket.SHUT_WR)
m, _, c = read_msgs(s); c = c or is_closed(s); out("truncated_eof", m, c)
# 5. truncated and left hanging: nothing may come back; then a valid CAPS
#    on another connection still gets its answer (natd is not stuck)
s5 = conn(); s5.sendall(hello); read_msgs(s5)
s5.sendall(hdr(3, 40, 2) + b"\x00\x01\x00\x00")
m, _, c = read_msgs(s5, wait=0.5); out("truncated_hanging", m, c)
s = conn(); s.sendall(hello + hdr(3, 16, 2))
m, _, c = read_msgs(s, want=2); out("caps_meanwhile", m[1:], c)
s5.close()
# 6. a BIND whose TLV runs past the end: BIND_R BAD_REQUEST, stays open
s = conn(); s.sendall(hello); read_msgs(s)
s.sendall(hdr(4, 24, 3) + b"\x80\x12\xff\xff\x03\x00\x00\x00")
m, _, c = read_msgs(s); out("bad_tlv", m, c)
s.sendall(hdr(3, 16, 4)); m, _, c = read_msgs(s); out("after_bad_tlv", m, c)
# 7. an unknown type and a reply type sent by a client: ERROR, stays open
s.sendall(hdr(0xff, 16, 5)); m, _, c = read_msgs(s); out("unknown_type", m, c)
s.sendall(hdr(0x8004, 16, 6)); m, _, c = read_msgs(s); out("reply_type", m, c)
# 8. a request before HELLO
s = conn(); s.sendall(hdr(8, 16, 9)); m, _, c = read_msgs(s); out("before_hello", m, c)
# 9. 100 connections at once (max_clients is 64), all dropped
many = []
for i in range(100):
    try:
        many.append(conn())
    except OSError as e:
        print("connect_error=%s" % e.errno)
        break
for x in many:
    try:
        x.sendall(b"NC\x01")
    except OSError:
        pass
    x.close()
print("many=%d" % len(many))
PY
	sed 's/^/    hostile: /' "$IT_OUT/hostile.out" >&2
	local h=$IT_OUT/hostile.out
	hcase() { grep "^case=$1 " "$h"; }
	if hcase http | grep -q 'first=type=0x8000,reqid=0,status=1 closed=1' &&
		hcase random | grep -q 'closed=1' && hcase random | grep -Eq 'first=(-|type=0x8000)' &&
		hcase huge_length | grep -q 'first=type=0x8000,reqid=0,status=1 closed=1'; then
		it_pass hostile_unframeable_answered_error_and_closed
	else
		it_fail hostile_unframeable_answered_error_and_closed "$(grep -E '^case=(http|random|huge_length) ' "$h" | tr '\n' ' ')"
	fi
	if hcase truncated_eof | grep -Eq 'closed=1' && hcase truncated_hanging | grep -q 'replies=0' &&
		hcase caps_meanwhile | grep -q 'first=type=0x8003,reqid=2,status=0'; then
		it_pass hostile_truncated_message_not_served_others_are
	else
		it_fail hostile_truncated_message_not_served_others_are "$(grep -E '^case=(truncated|caps)' "$h" | tr '\n' ' ')"
	fi
	if hcase bad_tlv | grep -q 'first=type=0x8004,reqid=3,status=1 closed=0' &&
		hcase after_bad_tlv | grep -q 'first=type=0x8003,reqid=4,status=0 closed=0'; then
		it_pass hostile_undecodable_bind_refused_connection_kept
	else
		it_fail hostile_undecodable_bind_refused_connection_kept "$(grep -E '^case=(bad_tlv|after)' "$h" | tr '\n' ' ')"
	fi
	if hcase unknown_type | grep -q 'first=type=0x8000,reqid=5,status=2' &&
		hcase reply_type | grep -Eq 'first=type=0x8000,reqid=6,status=[12] '; then
		it_pass hostile_unattributable_answered_error
	else
		it_fail hostile_unattributable_answered_error "$(grep -E '^case=(unknown_type|reply_type)' "$h" | tr '\n' ' ')"
	fi
	if hcase before_hello | grep -q 'first=type=0x8008,reqid=9,status=3'; then
		it_pass hostile_request_before_hello_refused
	else
		it_fail hostile_request_before_hello_refused "$(hcase before_hello)"
	fi
	if it_natd_alive && it_natctl after-hostile -- --json caps &&
		[[ -n $(json_get "$IT_OUT/after-hostile.out" epoch) ]]; then
		it_pass hostile_natd_alive_and_serving
	else
		it_fail hostile_natd_alive_and_serving "natd alive: $(it_natd_alive && echo yes || echo no); $(cat "$IT_OUT/after-hostile.err")"
	fi
}

# ---------------------------------------------------------------- run

ip -n "$(it_ns phA)" addr add 203.0.113.20/24 dev eth0

check_interchange1
check_interchange2
check_interchange3
check_interchange4
check_claim7
check_claim8
check_rtp_pair
check_transit
check_leases
check_policy
check_hostile

if it_natd_alive && it_stats; then
	it_pass natd_alive
	it_info "natd: $(stats_nonzero)"
else
	it_fail natd_alive "natd is gone or gave no stats"
fi
if grep -Eq ' (error|crit|alert|emerg): ' "$IT_NATD_LOG"; then
	it_info "natd logged errors: $(grep -E ' (error|crit|alert|emerg): ' "$IT_NATD_LOG" | head -n 3 | tr '\n' ' ')"
fi
it_done
