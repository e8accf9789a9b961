#!/bin/bash
# ha-conf: the shipped edge-pair set (conf/ha/) holds together. No
# namespaces needed.
#   - natd -n and sipproxy -n accept each node's file (SKIP for a daemon
#     that has no "ha" section yet); the two nodes' files differ only in
#     ha.node (natd, sipproxy) or router_id and priority (keepalived);
#   - keepalived's files: BACKUP + nopreempt, vrrp_version 3 for
#     advert_int 0.1, both virtual addresses, the notify hook on every
#     transition and as the fencing check (keepalived -t runs in the
#     namespace tests, where the interfaces exist: ha-failover.sh);
#   - natedge-ha-notify: sh -n (and shellcheck when installed); with a
#     stand-in natctl and sipproxy: "master" promotes natd before sipproxy,
#     "backup"/"fault"/"stop" demote sipproxy before natd, each logged with
#     its exit status; concurrent runs (keepalived starts them so) act on
#     the latest state recorded; "check" fails only when the node is VRRP MASTER
#     (for more than 3 s) while its natd is standby, and recovers; a bad
#     state word is a usage error.
. "$(dirname "$0")/lib.sh"
: "${SIP_PROXY:=$NT_ROOT/sipproxy/sipproxy}"
HA=$NT_ROOT/conf/ha
NOTIFY=$HA/natedge-ha-notify

it_require_natd

# ---------------------------------------------------------------- the daemons' files
check_conf() { # check_conf NAME PROGRAM FILE
	local name=$1 prog=$2 f=$3 rc
	timeout 10 "$prog" -n -c "$f" >"$IT_OUT/$name.out" 2>&1
	rc=$?
	if ((rc == 0)); then
		it_pass "$name"
	elif grep -q 'ha: unknown setting\|ha\.[a-z_]*: unknown' "$IT_OUT/$name.out"; then
		it_skip "$name" "$(basename "$prog") has no ha section yet: $(head -n 1 "$IT_OUT/$name.out")"
	else
		it_fail "$name" "$(basename "$prog") -n -c $f exited $rc: $(head -n 3 "$IT_OUT/$name.out" | tr '\n' ' ')"
	fi
}
for n in a b; do
	check_conf "natd_${n}_conf_ok" "$NT_NATD" "$HA/natd-$n.conf"
	check_conf "sipproxy_${n}_conf_ok" "$SIP_PROXY" "$HA/sipproxy-$n.conf"
done
# only_differs A B REGEX: every line that differs between A and B matches REGEX
only_differs() {
	local d
	d=$(diff <(grep -v '^#' "$1") <(grep -v '^#' "$2") | grep '^[<>]' | grep -v -E "$3")
	[[ -z $d ]] || { echo "$d" | head -n 3; return 1; }
}
it_check natd_pair_differs_only_in_node "other differences" only_differs "$HA/natd-a.conf" "$HA/natd-b.conf" 'node = "edge-[ab]"'
it_check sipproxy_pair_differs_only_in_node "other differences" only_differs "$HA/sipproxy-a.conf" "$HA/sipproxy-b.conf" 'node = "edge-[ab]"'
it_check keepalived_pair_differs_only_in_id_priority "other differences" \
	only_differs "$HA/keepalived-a.conf" "$HA/keepalived-b.conf" 'router_id natedge-[ab]|priority 1[01]0'
it_check sipproxy_pair_has_status_socket "no status_socket: the notify hook cannot reach the proxy" \
	grep -q '^status_socket = "/' "$HA/sipproxy-a.conf"

# ---------------------------------------------------------------- keepalived's files
ka_has() { grep -q -E "^\s*$2\s*$" "$1"; }
for n in a b; do
	f=$HA/keepalived-$n.conf bad=()
	for want in 'state BACKUP' 'nopreempt' 'vrrp_version 3' 'advert_int 0\.1' 'enable_script_security' \
		'203\.0\.113\.1/24 dev eth0' '10\.1\.0\.1/24 dev eth1' \
		'notify_master "/etc/keepalived/natedge-ha-notify master"' \
		'notify_backup "/etc/keepalived/natedge-ha-notify backup"' \
		'notify_fault "/etc/keepalived/natedge-ha-notify fault"' \
		'notify_stop "/etc/keepalived/natedge-ha-notify stop"' \
		'script "/etc/keepalived/natedge-ha-notify check"' 'natedge_fenced'; do
		ka_has "$f" "$want" || bad+=("$want")
	done
	if ((${#bad[@]} == 0)); then it_pass "keepalived_${n}_settings"
	else it_fail "keepalived_${n}_settings" "missing: ${bad[*]}"; fi
done

# ---------------------------------------------------------------- the notify hook
it_check notify_sh_syntax "sh -n fails" sh -n "$NOTIFY"
if command -v shellcheck >/dev/null; then
	it_check notify_shellcheck "shellcheck: $(shellcheck -s sh "$NOTIFY" 2>&1 | head -n 3 | tr '\n' ' ')" \
		shellcheck -s sh "$NOTIFY"
else
	it_skip notify_shellcheck "shellcheck not installed"
fi

# stand-ins: each records its arguments in CALLS; natctl's ha_active is ACTIVE's content
D=$IT_OUT/notify
rm -rf "$D"
mkdir -p "$D/state"
cat >"$D/natctl" <<EOS
#!/bin/sh
echo "natctl \$*" >>"$D/calls"
[ -e "$D/slow" ] && sleep 1
case "\$*" in *"ha status"*) echo "ha_active \$(cat "$D/active")"; echo "ha_epoch 7" ;; esac
exit 0
EOS
cat >"$D/sipproxy" <<EOS
#!/bin/sh
echo "sipproxy \$*" >>"$D/calls"
exit 0
EOS
chmod +x "$D/natctl" "$D/sipproxy"
run() { "$NOTIFY" -s "$D/ctl.sock" -c "$D/sp.conf" -l "$D/log" -d "$D/state" -N "$D/natctl" -P "$D/sipproxy" "$@"; }

: >"$D/calls"
run master
rc=$?
want="natctl -s $D/ctl.sock ha promote
sipproxy -S -c $D/sp.conf ha promote"
if ((rc == 0)) && [[ $(cat "$D/calls") == "$want" ]] && [[ $(cat "$D/state/vrrp-state") == master ]]; then
	it_pass notify_master_promotes_natd_then_proxy
else
	it_fail notify_master_promotes_natd_then_proxy "exit $rc, calls: $(tr '\n' ';' <"$D/calls")"
fi
it_check notify_logs_each_step "log: $(tr '\n' ';' <"$D/log")" \
	grep -q 'master: natctl ha promote: exit 0' "$D/log"
for s in backup fault stop; do
	: >"$D/calls"
	run "$s"
	rc=$?
	want="sipproxy -S -c $D/sp.conf ha demote
natctl -s $D/ctl.sock ha demote"
	if ((rc == 0)) && [[ $(cat "$D/calls") == "$want" ]] && [[ $(cat "$D/state/vrrp-state") == "$s" ]]; then
		it_pass "notify_${s}_demotes_proxy_then_natd"
	else
		it_fail "notify_${s}_demotes_proxy_then_natd" "exit $rc, calls: $(tr '\n' ';' <"$D/calls")"
	fi
done

# check: MASTER + natd standby (for more than 3 s) = fenced
echo 1 >"$D/active"
run master >/dev/null
echo 0 >"$D/active"
run check
it_check "notify_check_grace_after_promote" "check failed within 3 s of the promotion" test $? = 0
touch -d '10 seconds ago' "$D/state/vrrp-state"
run check
it_check notify_check_fails_when_fenced "check passed while MASTER with natd standby" test $? = 1
it_check notify_check_logs_fenced_once "no 'fenced' log line" grep -q 'fenced by a newer epoch' "$D/log"
echo 1 >"$D/active"
run check
it_check notify_check_ok_when_active "check failed while MASTER with natd active" test $? = 0
echo 0 >"$D/active"
run backup >/dev/null
touch -d '10 seconds ago' "$D/state/vrrp-state"
run check
it_check notify_check_ok_when_backup "check failed while BACKUP with natd standby" test $? = 0
# keepalived runs notify scripts concurrently: a slow "backup" still running
# when "master" comes must not have the last word
rm -f "$D/state/vrrp-state"
: >"$D/calls"
touch "$D/slow"
run backup &
bg=$!
nt_poll 5 grep -qx backup "$D/state/vrrp-state"
run master
wait "$bg"
rm -f "$D/slow"
if [[ $(grep natctl "$D/calls" | tail -n 1) == *"ha promote" && $(grep sipproxy "$D/calls" | tail -n 1) == *"ha promote" ]]; then
	it_pass notify_concurrent_runs_latest_state_wins
else
	it_fail notify_concurrent_runs_latest_state_wins "calls: $(tr '\n' ';' <"$D/calls")"
fi
run bogus 2>"$D/usage.err"
it_check notify_bad_state_is_usage "exit $? on a bad state word" test $? = 2
it_done
