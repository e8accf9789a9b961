#!/bin/bash
# natd-reload: natd's SIGHUP reload (systemd's ExecReload) on the "edge"
# topology, with live bindings that must survive it.
#
#   phA 203.0.113.10 -- [edge: natd, pool 198.51.100.0/28] -- phB 10.1.0.10
#                                                          \-- phC 10.1.0.11
#
# Before any reload: a dynamic UDP mapping (phB 10.1.0.10:6300 -> phA) and
# a managed binding (natctl bind, TERM, 10.1.0.10:6301).
#   reload_applied        a file with a shorter timeouts.udp and one more
#                         forward (198.51.100.2:5070 -> phC 10.1.0.11:5070):
#                         "configuration reloaded" is logged
#   reload_*_kept         both bindings are still listed with the same ids
#                         and still carry traffic (their counters grow)
#   reload_forward_added  the new forward reaches phC
#   reload_client_added   the user the new file lists as a control client
#                         may bind (refused before the reload)
#   reload_timeout_applied a binding refreshed after the reload has a
#                         lifetime within the new timeouts.udp
#   reload_invalid_kept   a file with a syntax error: refused, the error is
#                         logged as "reload: FILE:LINE: ...", the forward of
#                         the running configuration still works
#   reload_restart_refused a file with another realm pool: refused ("needs
#                         a restart"); forward and bindings still work
#   reload_forward_removed back to the first file: the added forward is gone
#                         (nothing reaches phC through it), the rest works
#   reload_same_pid       natd never restarted (same pid, one "natd ready")
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd
if [[ ! -x $NT_NATCTL ]]; then
	it_fail natctl_built "no executable $NT_NATCTL; run ./quickstart build"
	exit 1
fi

command -v setpriv >/dev/null || it_skip_all "setpriv (util-linux) not installed"
LISTED=nobody   # a control client from the "more" file on
getent passwd "$LISTED" >/dev/null || it_skip_all "needs the local user $LISTED"
BASE=$NT_ROOT/conf/natd-edge-test.conf
CONF=$IT_OUT/natd-reload.conf   # the file natd runs with, rewritten between reloads
NEW_UDP_TIMEOUT=90
FWD_LINE='  { proto = "udp"; external = "198.51.100.2:5070"; realm = "outside"; internal = "10.1.0.11:5070"; internal_realm = "inside"; },'

# gen_conf OUT VARIANT: the base file plus a control block, then
#   base     as is
#   more     timeouts.udp shorter, one more forward, the local user
#            $LISTED a control client
#   broken   "more" with a syntax error in it
#   pool     "more" with another pool for realm outside
gen_conf() {
	local out=$1 variant=$2
	{
		case $variant in
		base | rate) cat "$BASE" ;;
		more | broken | pool)
			# one setting per line in the base file
			awk -v fwd="$FWD_LINE" -v udp="$NEW_UDP_TIMEOUT" -v variant="$variant" '
				/^ *udp *= *[0-9]+;/ { sub(/[0-9]+;/, udp ";") }
				variant == "pool" && /"198\.51\.100\.0\/28"/ { sub(/198\.51\.100\.0\/28/, "198.51.100.0/27") }
				{ print }
				/^forwards *= *\(/ { print fwd }
				variant == "broken" && /^stats_interval/ { print "table_typo = ;" }
			' "$BASE"
			;;
		esac
		local clients= rate=
		[[ $variant == rate ]] && rate="max_request_rate = 50;"
		[[ $variant == base || $variant == rate ]] ||
			clients="clients = ( { user = \"$LISTED\"; realms = [ \"outside\" ]; prefixes = [ \"10.1.0.0/25\" ]; quota = 2; } );"
		cat <<EOF

control: {
  socket_mode = "0666";
  default_lifetime = 600;
  max_lifetime = 3600;
  $rate
  $clients
};
EOF
	} >"$out"
}

gen_conf "$CONF" base
for v in more pool; do
	gen_conf "$IT_OUT/natd-reload-$v.conf" "$v"
	if ! "$NT_NATD" -n -c "$IT_OUT/natd-reload-$v.conf" >"$IT_OUT/conf-check-$v.out" 2>&1; then
		it_fail "reload_config_$v" "natd -n rejects the '$v' variant: $(tr '\n' ' ' <"$IT_OUT/conf-check-$v.out")"
		exit 1
	fi
done
if ! grep -q '198.51.100.2:5070' "$IT_OUT/natd-reload-more.conf" ||
	! grep -q "udp = $NEW_UDP_TIMEOUT;" "$IT_OUT/natd-reload-more.conf"; then
	it_fail reload_config_more "could not derive the variant from $BASE"
	exit 1
fi

it_topo_up edge "$CONF"
CTL=$(it_ctl_socket)
nt_poll 5 test -S "$CTL" || { it_fail reload_control_socket "no socket at $CTL"; exit 1; }
PID0=$IT_NATD_PID

# ---------------------------------------------------------------- helpers

# exchange NAME SRV_NS SRV_BIND CLI_NS CLI_BIND TO: a UDP echo server in
# SRV_NS, one datagram (and its echo) from CLI_NS. Sets X_PEER (the source
# the server saw) and X_REPLY (where the echo came from).
exchange() {
	local name=$1 sns=$2 sbind=$3 cns=$4 cbind=$5 to=$6
	X_PEER='' X_REPLY=''
	it_server "$sns" "s-$name" udp-echo --bind "$sbind" --count 1 --timeout 4 || return 1
	it_nt "$cns" "c-$name" udp-send --to "$to" --bind "$cbind" --timeout 2 --payload "$name"
	it_wait "s-$name" 5
	X_PEER=$(kv "$IT_OUT/s-$name.out" peer)
	X_REPLY=$(kv "$IT_OUT/c-$name.out" reply_from)
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

# item NAME ENDPOINT KIND: list (as root) and print "id pkts_in pkts_out
# lifetime alloc" of the KIND binding whose E is ENDPOINT; empty if none.
item() {
	it_natctl "$1" -- --json list --kind "$3" >/dev/null 2>&1 || return 1
	"$NT_PY" - "$IT_OUT/$1.out" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        it = json.loads(line)
    except ValueError:
        continue
    if it.get("endpoint") == sys.argv[2]:
        c = it.get("counters", {})
        print(it["id"], c.get("pkts_in", 0), c.get("pkts_out", 0), it.get("lifetime", 0),
              it.get("alloc", ""))
        break
PY
}

# hup NAME PATTERN: SIGHUP natd, wait (bounded) for a new log line matching
# PATTERN (grep -E); 0 when it came.
hup() {
	local name=$1 pat=$2 before
	before=$(grep -cE "$pat" "$IT_NATD_LOG")
	it_log "SIGHUP ($name)"
	kill -HUP "$IT_NATD_PID" 2>/dev/null || return 1
	nt_poll 5 hup_newer "$pat" "$before"
}
hup_newer() { (($(grep -cE "$1" "$IT_NATD_LOG") > $2)); }

# the 198.51.100.2:5070 forward to phC (added by the "more" file)
forward_works() {
	exchange "$1" phC 10.1.0.11:5070 phA 203.0.113.10:7070 198.51.100.2:5070
	[[ $X_PEER == 203.0.113.10:7070 && $X_REPLY == 198.51.100.2:5070 ]]
}

# the managed binding: phA reaches phB's server through its M; pkts_in grows
managed_works() {
	local name=$1 before after
	before=$(item "$name-l0" 10.1.0.10:6301 managed | awk '{print $2}')
	exchange "$name" phB 10.1.0.10:6301 phA 203.0.113.10:7301 "$MAN_M"
	after=$(item "$name-l1" 10.1.0.10:6301 managed)
	[[ $X_PEER == 203.0.113.10:7301 && $X_REPLY == "$MAN_M" && ${after%% *} == "$MAN_ID" ]] &&
		(($(awk '{print $2}' <<<"$after") > ${before:-0}))
}

# the dynamic mapping: phB's flow leaves from the same M, through the same
# binding (same id, pkts_out grows)
dynamic_works() {
	local name=$1 before after
	before=$(item "$name-l0" 10.1.0.10:6300 dynamic | awk '{print $3}')
	exchange "$name" phA 203.0.113.10:7300 phB 10.1.0.10:6300 203.0.113.10:7300
	after=$(item "$name-l1" 10.1.0.10:6300 dynamic)
	DYN_AFTER=$after
	[[ $X_PEER == "$DYN_M" && ${after%% *} == "$DYN_ID" ]] &&
		(($(awk '{print $3}' <<<"$after") > ${before:-0}))
}

# ---------------------------------------------------------------- before

exchange dyn0 phA 203.0.113.10:7300 phB 10.1.0.10:6300 203.0.113.10:7300
DYN_M=$X_PEER
read -r DYN_ID _ _ DYN_LT0 _ <<<"$(item dyn0-list 10.1.0.10:6300 dynamic)"
if [[ -n $DYN_ID && ${DYN_M%:*} =~ $IT_POOL_RE ]]; then
	it_pass reload_setup_dynamic
else
	it_fail reload_setup_dynamic "phA saw '$DYN_M'; list: $(cat "$IT_OUT/dyn0-list.out")"
fi

it_natctl man0 -- --json bind --dir term --in-realm inside --ext-realm outside \
	--endpoint 10.1.0.10:6301 --label before-reload
MAN_ID=$(json_get "$IT_OUT/man0.out" id)
MAN_M=$(json_get "$IT_OUT/man0.out" alloc)
if [[ -n $MAN_ID && -n $MAN_M ]] && managed_works man0x; then
	it_pass reload_setup_managed
else
	it_fail reload_setup_managed "binding '$MAN_ID' M '$MAN_M'; phB saw '$X_PEER', reply from '$X_REPLY'"
fi

if silent fwd0 phC 10.1.0.11:5070 phA 203.0.113.10:7070 198.51.100.2:5070; then
	it_pass reload_setup_no_forward_yet
else
	it_fail reload_setup_no_forward_yet "198.51.100.2:5070 reached phC before the reload"
fi

it_natctl nb0 --as "$LISTED" -- --json bind --in-realm inside --ext-realm outside --endpoint 10.1.0.10:6310
NB0_RC=$?

# ---------------------------------------------------------------- reload 1: applied

cp "$IT_OUT/natd-reload-more.conf" "$CONF"
if hup more 'configuration reloaded' && ! grep -q 'reload refused\|reload: ' "$IT_NATD_LOG"; then
	it_pass reload_applied
else
	it_fail reload_applied "log: $(grep -E 'reload|SIGHUP' "$IT_NATD_LOG" | tail -n 3 | tr '\n' ' ')"
fi

if [[ $(item l1-dyn 10.1.0.10:6300 dynamic | awk '{print $1}') == "$DYN_ID" &&
	$(item l1-man 10.1.0.10:6301 managed | awk '{print $1}') == "$MAN_ID" ]]; then
	it_pass reload_bindings_listed
else
	it_fail reload_bindings_listed "dynamic $DYN_ID / managed $MAN_ID not both listed: $(cat "$IT_OUT/l1-dyn.out" "$IT_OUT/l1-man.out" | tr '\n' ' ')"
fi
if dynamic_works dyn1; then
	it_pass reload_dynamic_kept
else
	it_fail reload_dynamic_kept "phA saw '$X_PEER' (M was $DYN_M); binding now: '$DYN_AFTER' (id was $DYN_ID)"
fi
if managed_works man1; then
	it_pass reload_managed_kept
else
	it_fail reload_managed_kept "phB saw '$X_PEER', reply from '$X_REPLY' (M $MAN_M, id $MAN_ID)"
fi
if forward_works fwd1; then
	it_pass reload_forward_added
else
	it_fail reload_forward_added "phC saw '$X_PEER', phA got the reply from '$X_REPLY'"
fi
it_natctl nb1 --as "$LISTED" -- --json bind --in-realm inside --ext-realm outside --endpoint 10.1.0.10:6311
NB1_RC=$?
if [[ $NB0_RC != 0 && $NB1_RC == 0 && -n $(json_get "$IT_OUT/nb1.out" id) ]]; then
	it_pass reload_client_added
else
	it_fail reload_client_added "$LISTED's bind: exit $NB0_RC before the reload (want refused), $NB1_RC after: $(tr '\n' ' ' <"$IT_OUT/nb1.err")"
fi
# the dynamic binding was just refreshed: its deadline follows the new timeout
LT1=$(awk '{print $4}' <<<"$DYN_AFTER")
if [[ -n $LT1 ]] && ((LT1 > 0 && LT1 <= NEW_UDP_TIMEOUT)) && ((DYN_LT0 > NEW_UDP_TIMEOUT)); then
	it_pass reload_timeout_applied
else
	it_fail reload_timeout_applied "lifetime before ${DYN_LT0:-?} s, after the reload and a packet ${LT1:-?} s (timeouts.udp = $NEW_UDP_TIMEOUT)"
fi

# ---------------------------------------------------------------- reload 2: invalid file

gen_conf "$CONF" broken
BROKEN_LINE=$(grep -n '^table_typo' "$CONF" | cut -d: -f1)
if hup broken 'has errors; keeping the running configuration' &&
	grep -qE "reload: $CONF:$BROKEN_LINE: " "$IT_NATD_LOG" && forward_works fwd2; then
	it_pass reload_invalid_kept
else
	it_fail reload_invalid_kept "log: $(grep 'reload' "$IT_NATD_LOG" | tail -n 2 | tr '\n' ' '); forward: phC saw '$X_PEER' (want the error at $CONF:$BROKEN_LINE)"
fi

# ---------------------------------------------------------------- reload 3: needs a restart

cp "$IT_OUT/natd-reload-pool.conf" "$CONF"
if hup pool 'reload refused' &&
	grep -q "reload refused: 'realms.\[1\].pool' changed, which needs a restart" "$IT_NATD_LOG"; then
	it_pass reload_restart_refused
else
	it_fail reload_restart_refused "log: $(grep 'reload' "$IT_NATD_LOG" | tail -n 1)"
fi
if forward_works fwd3 && managed_works man3 && dynamic_works dyn3; then
	it_pass reload_refused_all_works
else
	it_fail reload_refused_all_works "after the refused reload: phB/phC saw '$X_PEER', reply from '$X_REPLY'"
fi

# ---------------------------------------------------------------- reload 4: forward removed

gen_conf "$CONF" base
if hup base 'configuration reloaded' &&
	silent fwd4 phC 10.1.0.11:5070 phA 203.0.113.10:7071 198.51.100.2:5070 &&
	managed_works man4 && dynamic_works dyn4; then
	it_pass reload_forward_removed
else
	it_fail reload_forward_removed "log: $(grep -E 'reload|forward' "$IT_NATD_LOG" | tail -n 2 | tr '\n' ' '); phB saw '$X_PEER'"
fi

# ---------------------------------------------------------------- reload 5: control request rate

# control.max_request_rate = 50: one connection pipelining requests gets
# TRY_AGAIN beyond its rate, while another connection is served as before
gen_conf "$CONF" rate
CTLBENCH=$NT_ROOT/tests/bench/ctlbench
if [[ ! -x $CTLBENCH ]]; then
	it_fail reload_control_rate "no $CTLBENCH (built by make)"
elif hup rate 'configuration reloaded'; then
	timeout 20 "$CTLBENCH" pipe --socket "$CTL" --count 2000 --inflight 16 --max-time 5 \
		>"$IT_OUT/rate-pipe.out" 2>&1
	it_natctl rate-stats -- stats
	rate_err=$(grep -o 'errors=[0-9]*' "$IT_OUT/rate-pipe.out" | cut -d= -f2)
	if [[ ${rate_err:-0} -gt 0 ]] && grep -q 'first_error=.*rate.limit' "$IT_OUT/rate-pipe.out" &&
		grep -q 'bindings' "$IT_OUT/rate-stats.out"; then
		it_pass reload_control_rate
	else
		it_fail reload_control_rate "pipelined client: $(tr '\n' ' ' <"$IT_OUT/rate-pipe.out"); natctl stats: $(head -c 200 "$IT_OUT/rate-stats.out")"
	fi
	gen_conf "$CONF" base
	hup base2 'configuration reloaded' >/dev/null
else
	it_fail reload_control_rate "the reload with control.max_request_rate was not applied"
fi

# ---------------------------------------------------------------- same process

if it_natd_alive && [[ $IT_NATD_PID == "$PID0" ]] && (($(grep -c 'natd ready on' "$IT_NATD_LOG") == 1)); then
	it_pass reload_same_pid
else
	it_fail reload_same_pid "natd $PID0 alive: $(it_natd_alive && echo yes || echo no); 'natd ready' lines: $(grep -c 'natd ready on' "$IT_NATD_LOG")"
fi

it_done
