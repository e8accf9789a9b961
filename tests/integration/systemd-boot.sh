#!/bin/bash
# systemd-boot: natd.service and sipproxy.service started by a real systemd.
#
# How: systemd-nspawn (Debian systemd-container) boots this machine's own
# root as a throw-away container: the root file system alone (`mount
# --bind /`, without the mounts under it) is the lower layer of
# --volatile=overlay, so every write lands in a tmpfs that goes with the
# container; --private-network gives it a network namespace with only
# loopback (no route out); /dev/net/tun is bound in. The tree is installed
# into it as an operator would: `make install DESTDIR=...` here, unpacked
# into the container's /, then systemd-sysusers, ldconfig and daemon-reload
# there; the shipped configurations ($sysconfdir/natedge) are used, with a
# status socket for sipproxy and its listen addresses on loopback.
#
# Ways that do not work here (recorded so that nobody tries them again):
#   systemd-nspawn -D / ...          "Spawning container on root directory
#                                    is not supported" (--volatile=overlay);
#                                    --volatile=yes leaves /etc empty
#   without --register=no --keep-unit  "Failed to open system bus": nspawn
#                                    asks the host's systemd/machined for a
#                                    scope, and systemd is not PID 1 here
#   machinectl / systemd-run -M      need machined on the host: the
#                                    container is driven with nsenter into
#                                    its PID 1's namespaces instead
#
#   boot_running          the container's systemd reaches running/degraded
#   no_route_out          the container has loopback only and no route
#   active_{natd,sipproxy}  `systemctl start` returns and the unit is active,
#                         Type=notify with the daemon's own STATUS= text
#   security_{natd,sipproxy}  `systemd-analyze security UNIT` in the booted
#                         system rates it OK or better (the score is printed)
#   tun_private_devices   natd opened /dev/net/tun under PrivateDevices=yes
#                         (its TUN exists; its /dev holds net/tun)
#   sysctls_tunables      under ProtectKernelTunables=yes natd's /proc/sys is
#                         read-only but /proc/sys/net/ipv4 is not: natd wrote
#                         ip_forward=1 and its TUN's accept_local=1/rp_filter=0
#   reload_natd           a forward added to natd.conf and `systemctl reload
#                         natd` shows in `natctl list --kind static`, same PID
#   reload_sipproxy       a user added to the users file and `systemctl reload
#                         sipproxy`: `sipproxy -S` counts it, same PID
#   stop_releases         a managed binding (natctl bind) is live; `systemctl
#                         stop natd`: inactive, no natd left, the TUN and its
#                         routes gone, /run/natd removed
#   restart_state         `systemctl start natd` again: the binding is back
#                         from /var/lib/natd (StateDirectory under
#                         ProtectSystem=strict) with the same id and address
#                         (active_natd_again: started through Type=notify)
#   state_saved           natd's journal has no state file error (snapshots
#                         written as root before the drop and as `user` after)
#
# SKIP (loudly, with nspawn's own words) where the container cannot boot.
# Takes about 10-30 s (make install, a 3-6 s boot, the checks, the halt).
. "$(dirname "$0")/lib.sh"

it_require_natd
SB_NAME="natedge-sb$$"
SB_TMP=
SB_NSPAWN=
SB_LEADER=
SB_MOUNTED=

sb_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $SB_LEADER ]]; then
		sb_ct journalctl --no-pager -b -u natd.service -u sipproxy.service \
			>"$IT_OUT/journal.txt" 2>&1
	fi
	# SIGTERM to nspawn: SIGRTMIN+3 to the container's systemd, a clean halt
	if [[ -n $SB_NSPAWN ]] && nt_pid_alive "$SB_NSPAWN"; then
		kill -TERM "$SB_NSPAWN" 2>/dev/null
		if ! nt_poll 20 nt_pid_gone "$SB_NSPAWN"; then
			it_log "container $SB_NAME did not halt within 20 s: SIGKILL to its PID 1 and nspawn"
			[[ -n $SB_LEADER ]] && kill -KILL "$SB_LEADER" 2>/dev/null
			kill -KILL "$SB_NSPAWN" 2>/dev/null
		fi
		wait "$SB_NSPAWN" 2>/dev/null
	fi
	[[ -n $SB_MOUNTED ]] && umount "$SB_TMP/root"
	# nspawn's own leftover: it will not remove a directory on a disk file
	# system (/run is not a tmpfs on every machine)
	rmdir "/run/systemd/nspawn/propagate/$SB_NAME" 2>/dev/null
	if [[ -n $SB_TMP && -d $SB_TMP ]] && ! mountpoint -q "$SB_TMP/root"; then
		rm -rf "$SB_TMP"
	fi
	it_log "done: $IT_NPASS passed, $IT_NFAIL failed, $IT_NSKIP skipped"
	if ((IT_NFAIL > 0)); then exit 1; fi
	exit "$rc"
}

# sb_ct CMD...: run CMD inside the booted container (all its namespaces)
sb_ct() { nsenter -t "$SB_LEADER" -a "$@"; }

[[ $(id -u) == 0 ]] || it_skip_all "needs root (systemd-nspawn)"
command -v systemd-nspawn >/dev/null ||
	it_skip_all "systemd-nspawn not installed (Debian systemd-container; ./quickstart installs it)"
command -v nsenter >/dev/null || it_skip_all "nsenter (util-linux) not installed"
[[ -c /dev/net/tun ]] || it_skip_all "no /dev/net/tun on this machine"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
	it_skip_all "no overlay file system (nspawn --volatile=overlay)"
trap sb_cleanup EXIT
trap it_on_signal INT TERM

SB_TMP=$(mktemp -d /tmp/natedge-sb.XXXXXX)
mkdir "$SB_TMP/root" "$SB_TMP/dest"

# the tree installed as an operator would (prefix and sysconfdir from
# configure), into a staging directory first
if ! make -C "$NT_ROOT" -s install DESTDIR="$SB_TMP/dest" >"$IT_OUT/install.log" 2>&1; then
	it_fail make_install "make install DESTDIR failed: $(tail -n 3 "$IT_OUT/install.log" | tr '\n' ' ')"
	it_done
fi
unit_dir=$(find "$SB_TMP/dest" -name natd.service -printf '%h\n' | head -n 1)
sbindir=$(sed -n 's|^ExecStart=\(.*\)/natd .*|\1|p' "$unit_dir/natd.service")
confdir=$(sed -n 's|^ExecStart=.* -c \(.*\)/natd.conf .*|\1|p' "$unit_dir/natd.service")
natctl=$(find "$SB_TMP/dest" -name natctl -type f -printf '/%P\n' | head -n 1)
if [[ -z $sbindir || -z $confdir || -z $natctl ]]; then
	it_fail make_install "no natd.service, natctl or ExecStart= in the installed tree (see install.log)"
	it_done
fi

# the machine's root file system alone, as the container's read-only lower layer
mount --bind / "$SB_TMP/root" || it_skip_all "cannot bind-mount / (needed for the container)"
SB_MOUNTED=1
mount -o remount,bind,ro "$SB_TMP/root" 2>/dev/null

t0=$SECONDS
systemd-nspawn --quiet -D "$SB_TMP/root" --volatile=overlay --boot \
	--register=no --keep-unit --link-journal=no --private-network \
	--machine="$SB_NAME" --bind=/dev/net/tun --console=pipe </dev/null \
	>"$IT_OUT/nspawn.log" 2>&1 &
SB_NSPAWN=$!

# the container's PID 1: nspawn's child running systemd
sb_leader() {
	local p
	nt_pid_alive "$SB_NSPAWN" || return 2
	for p in $(ps -o pid= --ppid "$SB_NSPAWN"); do
		if [[ $(readlink "/proc/$p/exe" 2>/dev/null) == */systemd ]]; then
			SB_LEADER=$p
			return 0
		fi
	done
	return 1
}
if ! nt_poll 20 sb_leader; then
	nt_poll 2 nt_pid_gone "$SB_NSPAWN"
	it_skip boot "systemd-nspawn could not boot this root here: $(tail -n 4 "$IT_OUT/nspawn.log" | tr '\n' ' ')"
	it_done
fi
# its manager's socket first (is-system-running --wait needs it), then booted
sb_manager_up() { nt_pid_alive "$SB_LEADER" && sb_ct test -S /run/systemd/private; }
nt_poll 30 sb_manager_up
state=$(timeout 60 nsenter -t "$SB_LEADER" -a systemctl is-system-running --wait 2>&1)
case $state in
running|degraded)
	it_pass boot_running
	it_info "container $SB_NAME booted in $((SECONDS - t0)) s ($state$(
		[[ $state == degraded ]] && printf ': failed %s' "$(sb_ct systemctl --failed --plain --no-legend | awk '{print $1}' | tr '\n' ' ')"))"
	;;
*)
	it_fail boot_running "the container's systemd is '$state' after 60 s (nspawn.log)"
	it_done
	;;
esac

# --private-network: loopback only, no route anywhere
links=$(sb_ct ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')
routes=$(sb_ct ip route show table all type unicast 2>&1 | grep -v ' dev lo ' | tr '\n' ' ')
if [[ $links == "lo " && -z $routes ]]; then
	it_pass no_route_out
else
	it_fail no_route_out "the container has links '$links', routes '$routes'"
fi

# ------------------------------------------------------------ install

# unpack into the container's /; keep its /lib -> usr/lib and friends
if ! tar -C "$SB_TMP/dest" -cf - . | sb_ct tar -C / --keep-directory-symlink -xf - 2>"$IT_OUT/unpack.log"; then
	it_fail install "unpacking the installed tree in the container: $(head -n 2 "$IT_OUT/unpack.log")"
	it_done
fi
sb_ct systemd-sysusers >"$IT_OUT/sysusers.log" 2>&1
sb_ct ldconfig
sb_ct systemctl daemon-reload
# the listen addresses of the shipped sipproxy.conf, and a status socket
sb_ct ip addr add 10.1.0.1/24 dev lo
sb_ct ip addr add 203.0.113.1/24 dev lo
sb_ct sed -i 's|^status_socket = "";|status_socket = "/run/sipproxy/status.sock";|' "$confdir/sipproxy.conf"
users=$(sb_ct sed -n 's|^ *users_file = "\(.*\)";.*|\1|p' "$confdir/sipproxy.conf")
sb_ct install -m 0600 -o sipproxy -g sipproxy /dev/null "$users"
sb_ct sh -c "printf 'pw-alice\n' | $sbindir/sipproxy -H alice edge.test >>$users"
if ! sb_ct id natedge >/dev/null 2>&1 || ! sb_ct id sipproxy >/dev/null 2>&1; then
	it_fail install "systemd-sysusers made no natedge/sipproxy user: $(head -n 2 "$IT_OUT/sysusers.log")"
fi

# ------------------------------------------------------------ start

# sb_start UNIT [CHECK]: Type=notify, so start returns once READY=1 came
sb_start() {
	local u=$1 check=${2:-active_$1} rc props
	timeout 60 nsenter -t "$SB_LEADER" -a systemctl start "$u.service" >"$IT_OUT/start-$u.out" 2>&1
	rc=$?
	props=$(sb_ct systemctl show -p ActiveState -p Type -p StatusText -p MainPID "$u.service")
	echo "$props" >"$IT_OUT/show-$u.out"
	if [[ $rc == 0 ]] && grep -qx ActiveState=active <<<"$props" && grep -qx Type=notify <<<"$props" &&
		grep -q '^StatusText=.' <<<"$props"; then
		it_pass "$check"
		it_info "$u.service: $(sed -n 's/^StatusText=//p' <<<"$props")"
	else
		it_fail "$check" "start exit $rc: $(tr '\n' ' ' <<<"$props") $(sb_ct journalctl --no-pager -u "$u.service" -n 5 2>&1 | tr '\n' ' ')"
		return 1
	fi
}
sb_start natd || it_done
sb_start sipproxy
natd_pid=$(sb_ct systemctl show -p MainPID --value natd.service)
tun=$(sb_ct sed -n 's|^ *name = "\([^"]*\)";.*|\1|p' "$confdir/natd.conf" | head -n 1)

# ------------------------------------------------------------ security

for u in natd sipproxy; do
	line=$(sb_ct systemd-analyze security --no-pager "$u.service" 2>&1 | grep 'Overall exposure level')
	score=$(sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p' <<<"$line")
	case ${score#* } in
	OK|SAFE|PERFECT) it_pass "security_$u"; it_info "$u.service: systemd-analyze security: $score" ;;
	*) it_fail "security_$u" "exposure '$score' is worse than OK (${line:-no score})" ;;
	esac
done

# ------------------------------------------------------------ sandbox

# PrivateDevices=yes + BindPaths=/dev/net/tun + DeviceAllow: natd's TUN is up
# and its private /dev holds the TUN clone device
if sb_ct ip link show "$tun" >/dev/null 2>&1 &&
	sb_ct nsenter -t "$natd_pid" -m test -c /dev/net/tun &&
	[[ $(sb_ct systemctl show -p PrivateDevices --value natd.service) == yes ]]; then
	it_pass tun_private_devices
else
	it_fail tun_private_devices "no TUN '$tun' or no /dev/net/tun in natd's namespace"
fi
# ProtectKernelTunables=yes + ReadWritePaths=/proc/sys/net/ipv4
ro_sys=$(sb_ct nsenter -t "$natd_pid" -m findmnt -no OPTIONS /proc/sys | cut -d, -f1)
rw_ipv4=$(sb_ct nsenter -t "$natd_pid" -m findmnt -no OPTIONS /proc/sys/net/ipv4 | cut -d, -f1)
vals=$(sb_ct sh -c "cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/$tun/accept_local \
	/proc/sys/net/ipv4/conf/$tun/rp_filter" 2>&1 | tr '\n' ' ')
if [[ $ro_sys == ro && $rw_ipv4 == rw && $vals == "1 1 0 " ]]; then
	it_pass sysctls_tunables
else
	it_fail sysctls_tunables "natd's /proc/sys '$ro_sys', /proc/sys/net/ipv4 '$rw_ipv4'; ip_forward, accept_local, rp_filter: $vals"
fi

# ------------------------------------------------------------ reload

sb_natctl() { sb_ct "$natctl" "$@"; }
fwd_listed() { sb_natctl list --kind static 2>/dev/null | grep -q '198\.51\.100\.2:5062'; }
if fwd_listed; then
	it_fail reload_natd "the forward is there before the reload"
else
	sb_ct sed -i 's|^forwards = (|forwards = (\n  { proto = "udp"; external = "198.51.100.2:5062"; realm = "outside"; internal = "10.1.0.12:5062"; internal_realm = "inside"; },|' \
		"$confdir/natd.conf"
	timeout 30 nsenter -t "$SB_LEADER" -a systemctl reload natd.service
	if nt_poll 10 fwd_listed && [[ $(sb_ct systemctl show -p MainPID --value natd.service) == "$natd_pid" ]]; then
		it_pass reload_natd
	else
		it_fail reload_natd "no forward 198.51.100.2:5062 in natctl list after the reload, or a new PID"
	fi
fi

sp_users() { sb_ct "$sbindir/sipproxy" -S -c "$confdir/sipproxy.conf" 2>&1 | sed -n 's/^auth users=\([0-9]*\).*/\1/p'; }
sp_pid=$(sb_ct systemctl show -p MainPID --value sipproxy.service)
before=$(sp_users)
sb_ct sh -c "printf 'pw-bob\n' | $sbindir/sipproxy -H bob edge.test >>$users"
timeout 30 nsenter -t "$SB_LEADER" -a systemctl reload sipproxy.service
sp_users_is() { [[ $(sp_users) == "$1" ]]; }
if [[ $before == 1 ]] && nt_poll 10 sp_users_is 2 &&
	[[ $(sb_ct systemctl show -p MainPID --value sipproxy.service) == "$sp_pid" ]]; then
	it_pass reload_sipproxy
else
	it_fail reload_sipproxy "users before the reload '$before' (want 1), after '$(sp_users)' (want 2), or a new PID"
fi

# ------------------------------------------------------------ stop

bind=$(sb_natctl bind --in-realm inside --ext-realm outside --endpoint 10.1.0.20:4000 --lifetime 600 2>&1)
echo "$bind" >"$IT_OUT/bind.out"
bid=$(sed -n 's/^id \([0-9]*\)$/\1/p' <<<"$bind")
mapped=$(sed -n 's/^alloc //p' <<<"$bind")
if [[ -z $bid || -z $mapped ]]; then
	it_fail stop_releases "natctl bind gave no id and alloc: $(tr '\n' ' ' <<<"$bind")"
else
	timeout 60 nsenter -t "$SB_LEADER" -a systemctl stop natd.service
	what=
	[[ $(sb_ct systemctl show -p ActiveState --value natd.service) == inactive ]] || what+=" still $(sb_ct systemctl show -p ActiveState --value natd.service);"
	sb_ct kill -0 "$natd_pid" 2>/dev/null && what+=" natd $natd_pid still runs;"
	sb_ct ip link show "$tun" >/dev/null 2>&1 && what+=" TUN $tun still there;"
	sb_ct ip route show dev "$tun" 2>/dev/null | grep -q . && what+=" routes via $tun;"
	sb_ct test -e /run/natd && what+=" /run/natd still there;"
	if [[ -z $what ]]; then it_pass stop_releases; else it_fail stop_releases "${what% ;}"; fi

	# bindings come back from the state file
	if sb_start natd active_natd_again; then
		if sb_natctl list --kind managed 2>&1 | awk -v id="$bid" -v m="$mapped" '$1 == id && index($0, m) { f = 1 } END { exit !f }'; then
			it_pass restart_state
		else
			it_fail restart_state "binding $bid $mapped not listed after the restart: $(sb_natctl list 2>&1 | head -n 3 | tr '\n' ' ')"
		fi
	fi
fi
# natd's state file was written all along, as `user` after the drop too
sb_ct journalctl --no-pager -b -u natd.service >"$IT_OUT/journal-natd.txt" 2>&1
if grep -q 'state file.*\(cannot\|denied\)' "$IT_OUT/journal-natd.txt"; then
	it_fail state_saved "$(grep -m1 'state file.*\(cannot\|denied\)' "$IT_OUT/journal-natd.txt")"
else
	it_pass state_saved
fi
it_done
