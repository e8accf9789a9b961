#!/bin/bash
# systemd-units: the units in systemd/ and the readiness protocol behind them.
#
#   verify_*      `systemd-analyze verify` accepts both rendered units without
#                 a warning (SKIP: no systemd-analyze)
#   security_*    `systemd-analyze security --offline=true` rates them no
#                 worse than the exposure recorded in README.md (natd 2.6,
#                 sipproxy 1.5; a little slack for other systemd versions)
#   notify_*      natd and sipproxy, started in a private network namespace
#                 with NOTIFY_SOCKET pointing at a listener of this script,
#                 send READY=1 only once the TUN exists, the control socket
#                 accepts and the pidfile is written, keep running on SIGHUP,
#                 and send STOPPING=1 on SIGTERM (SKIP: no root, TUN or
#                 namespaces)
#
# The units under a real systemd (booted in a container): systemd-boot.sh.
. "$(dirname "$0")/lib.sh"

it_require_natd
NT_SIPPROXY=${NT_SIPPROXY:-$NT_ROOT/sipproxy/sipproxy}
SD_ID="nt$$"
SD_TMP=
SD_NS=
SD_PIDS=()

sd_cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in "${SD_PIDS[@]}"; do
		nt_pid_alive "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${SD_PIDS[@]}"; do
		nt_poll 3 nt_pid_gone "$pid" || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[[ -n $SD_NS ]] && ip netns del "$SD_NS" 2>/dev/null
	[[ -n $SD_TMP && -d $SD_TMP ]] && rm -rf "$SD_TMP"
	it_log "done: $IT_NPASS passed, $IT_NFAIL failed, $IT_NSKIP skipped"
	if ((IT_NFAIL > 0)); then exit 1; fi
	exit "$rc"
}
trap sd_cleanup EXIT
trap it_on_signal INT TERM

SD_TMP=$(mktemp -d /tmp/natedge-sd.XXXXXX)
chmod 755 "$SD_TMP"   # natd sends READY=1 after dropping to "nobody"

# render: the units as systemd/Makefile.am renders them, with the built
# binaries (symbolic links in a private sbin) and the source tree's conf/
mkdir -p "$SD_TMP/sbin" "$SD_TMP/etc" "$SD_TMP/units"
ln -s "$NT_NATD" "$SD_TMP/sbin/natd"
ln -s "$NT_SIPPROXY" "$SD_TMP/sbin/sipproxy"
ln -s "$NT_ROOT/conf" "$SD_TMP/etc/natedge"
for u in natd sipproxy; do
	sed -e "s|@sbindir[@]|$SD_TMP/sbin|g" -e "s|@sysconfdir[@]|$SD_TMP/etc|g" \
		"$NT_ROOT/systemd/$u.service.in" >"$SD_TMP/units/$u.service"
done

# the test configuration: a TUN name of this run, no routes installed
cat >"$SD_TMP/natd.conf" <<EOF
tun: { name = "${SD_ID}t"; };
user = "nobody";
log: { level = "info"; };
realms = (
  { name = "inside";  prefixes = [ "10.1.0.0/24" ]; nat_to = [ "outside" ]; },
  { name = "outside"; prefixes = [ "0.0.0.0/0" ];
    pool = { addresses = [ "198.51.100.1/32" ]; ports = "1024-65535"; }; }
);
routes: { install = false; };
EOF

# ------------------------------------------------------------ verify

if ! command -v systemd-analyze >/dev/null; then
	it_skip verify_natd "systemd-analyze not installed"
	it_skip verify_sipproxy "systemd-analyze not installed"
	it_skip security_natd "systemd-analyze not installed"
	it_skip security_sipproxy "systemd-analyze not installed"
else
	for u in natd sipproxy; do
		# --man=no: the manuals may not be installed yet
		(cd "$SD_TMP/units" && timeout 60 systemd-analyze verify --man=no "./$u.service") \
			>"$IT_OUT/verify-$u.out" 2>&1
		rc=$?
		if [[ $rc == 0 && ! -s $IT_OUT/verify-$u.out ]]; then
			it_pass "verify_$u"
		else
			it_fail "verify_$u" "exit $rc: $(head -n 3 "$IT_OUT/verify-$u.out" | tr '\n' ' ')"
		fi
	done
	# exposure ceilings: README.md's scores plus slack for other versions
	declare -A ceiling=([natd]=3.0 [sipproxy]=1.9)
	for u in natd sipproxy; do
		out=$IT_OUT/security-$u.out
		(cd "$SD_TMP/units" && timeout 60 systemd-analyze security --offline=true --no-pager \
			"./$u.service") >"$out" 2>&1
		score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$out")
		if [[ -z $score ]]; then
			if grep -qi 'unrecognized option\|unknown option' "$out"; then
				it_skip "security_$u" "this systemd-analyze has no --offline"
			else
				it_fail "security_$u" "no score: $(head -n 2 "$out" | tr '\n' ' ')"
			fi
		elif awk -v s="$score" -v c="${ceiling[$u]}" 'BEGIN { exit !(s <= c) }'; then
			it_info "$u.service exposure $score"
			it_pass "security_$u"
		else
			it_fail "security_$u" "exposure $score > ${ceiling[$u]} (see $out)"
		fi
	done
fi

# ------------------------------------------------------------ notify

# A NOTIFY_SOCKET listener: logs each datagram ("|" for newlines) and, on
# READY=1, whether the set-up it announces is really done.
cat >"$SD_TMP/listen.py" <<'EOF'
import os, socket, sys, time
path, log, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
checks = sys.argv[4:]   # file:PATH (non-empty)  sock:PATH (accepts)  if:NAME (exists)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o777)
s.settimeout(0.2)
end = time.time() + timeout
with open(log, "w", buffering=1) as f:
    f.write("listening\n")
    while time.time() < end:
        try:
            d = s.recv(4096).decode(errors="replace")
        except socket.timeout:
            continue
        f.write("state " + d.replace("\n", "|") + "\n")
        if "READY=1" in d.split("\n"):
            for c in checks:
                kind, _, arg = c.partition(":")
                ok = False
                if kind == "file":
                    ok = os.path.exists(arg) and os.path.getsize(arg) > 0
                elif kind == "sock":
                    try:
                        c2 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                        c2.settimeout(1)
                        c2.connect(arg)
                        c2.close()
                        ok = True
                    except OSError:
                        ok = False
                elif kind == "if":
                    ok = os.path.exists("/sys/class/net/" + arg)
                f.write("check %s %s\n" % ("ok" if ok else "FAILED", c))
        if "STOPPING=1" in d.split("\n"):
            break
EOF

# notify_run NAME "CHECKS" CMD...: start the listener and CMD (both in
# $SD_NS), wait for READY=1, SIGHUP, SIGTERM, STOPPING=1 and the exit.
notify_run() {
	local name=$1 checks=$2 sock=$SD_TMP/$1.notify log=$IT_OUT/notify-$1.log lpid pid rc c
	shift 2
	# shellcheck disable=SC2086
	ip netns exec "$SD_NS" "$NT_PY" "$SD_TMP/listen.py" "$sock" "$log" 30 $checks \
		>"$IT_OUT/listen-$name.out" 2>&1 &
	lpid=$!
	SD_PIDS+=("$lpid")
	if ! nt_poll 10 grep -q '^listening' "$log"; then
		it_fail "notify_${name}_ready" "listener did not start: $(cat "$IT_OUT/listen-$name.out")"
		return
	fi
	ip netns exec "$SD_NS" env NOTIFY_SOCKET="$sock" "$@" >"$IT_OUT/$name.log" 2>&1 &
	pid=$!
	SD_PIDS+=("$pid")
	if ! nt_poll 15 grep -q '^state .*READY=1' "$log"; then
		it_fail "notify_${name}_ready" "no READY=1 within 15 s: $(tail -n 3 "$IT_OUT/$name.log" | tr '\n' ' ')"
		return
	fi
	it_pass "notify_${name}_ready"
	for c in $checks; do
		if grep -qx "check ok $c" "$log"; then
			it_pass "notify_${name}_ready_after_${c%%:*}"
		else
			it_fail "notify_${name}_ready_after_${c%%:*}" "not done when READY=1 came: $c"
		fi
	done
	if grep -q '^state READY=1|STATUS=.' "$log"; then
		it_pass "notify_${name}_status"
	else
		it_fail "notify_${name}_status" "READY=1 without STATUS=: $(grep -m1 '^state' "$log")"
	fi
	kill -HUP "$pid" 2>/dev/null
	sleep 0.3
	it_check "notify_${name}_sighup_keeps_running" "exited on SIGHUP" nt_pid_alive "$pid"
	kill -TERM "$pid" 2>/dev/null
	if nt_poll 10 grep -q '^state STOPPING=1' "$log"; then
		it_pass "notify_${name}_stopping"
	else
		it_fail "notify_${name}_stopping" "no STOPPING=1 after SIGTERM"
	fi
	nt_poll 10 nt_pid_gone "$pid"
	wait "$pid"
	rc=$?
	if [[ $rc == 0 ]]; then it_pass "notify_${name}_exit"; else it_fail "notify_${name}_exit" "exit $rc"; fi
}

notify_reason=
if [[ $(id -u) != 0 ]]; then
	notify_reason="needs root (TUN, network namespace)"
elif [[ ! -c /dev/net/tun ]]; then
	notify_reason="no /dev/net/tun"
elif ! command -v ip >/dev/null; then
	notify_reason="iproute2 (ip) not installed"
elif ! ip netns add "$SD_ID-sd" 2>/dev/null; then
	notify_reason="cannot create network namespaces here"
fi
if [[ -n $notify_reason ]]; then
	it_skip notify "$notify_reason"
else
	SD_NS=$SD_ID-sd
	# sipproxy's listen addresses (on lo: no dummy interfaces needed)
	ip -n "$SD_NS" link set lo up
	ip -n "$SD_NS" addr add 10.1.0.1/24 dev lo
	ip -n "$SD_NS" addr add 203.0.113.1/24 dev lo
	notify_run natd "if:${SD_ID}t sock:$SD_TMP/ctl.sock file:$SD_TMP/natd.pid" \
		"$NT_NATD" -f -c "$SD_TMP/natd.conf" -p "$SD_TMP/natd.pid" -s "$SD_TMP/ctl.sock"

	if [[ ! -x $NT_SIPPROXY ]]; then
		it_skip notify_sipproxy "sipproxy not built"
	else
		# root keeps root (sipproxy drops only to a user other than root)
		sed -e "s|/run/natd/ctl.sock|$SD_TMP/ctl2.sock|" "$NT_ROOT/conf/sipproxy-minimal.conf" \
			>"$SD_TMP/sipproxy.conf"
		printf 'user = "root";\n' >>"$SD_TMP/sipproxy.conf"
		notify_run sipproxy "file:$SD_TMP/sipproxy.pid" \
			"$NT_SIPPROXY" -f -c "$SD_TMP/sipproxy.conf" -p "$SD_TMP/sipproxy.pid"
	fi
fi

it_done
