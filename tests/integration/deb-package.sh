#!/bin/bash
# deb-package: the Debian packages of debian/, built, linted, unpacked,
# installed in a throw-away root and run from there.
#
#   deb_version        debian/changelog's version is configure.ac's
#   deb_build          `dpkg-buildpackage -us -uc -b` (nocheck, -j2) of a
#                      clean copy of the tree (the files git tracks, plus
#                      untracked ones not ignored) builds natedge,
#                      libcontrol0 and libcontrol-dev
#   deb_lintian        lintian on the .changes: no E: line (W: shown)
#   deb_files_*        each package holds what it must (binaries, units,
#                      sysusers.d and tmpfiles.d files, manuals, examples,
#                      headers, .pc, the soname link); /etc/natedge/*.conf
#                      are conffiles; the units run the packaged paths
#   deb_run_extracted  the unpacked natd -V, natd -n and sipproxy -n on the
#                      packaged configurations, natctl on the packaged
#                      libcontrol.so.0
#   deb_scripts_syntax the maintainer scripts pass `sh -n`
#   deb_install_*      in a private mount and network namespace where /etc,
#                      /usr and /var are overlays (upper layers on a tmpfs)
#                      and /run a tmpfs, with the users natedge and sipproxy
#                      removed from the overlay's /etc: `dpkg -i` of the
#                      three packages; the postinst made the system users
#                      (sipproxy in group natedge) and the state and run
#                      directories with their owners and modes, and the
#                      empty SIP users file sipproxy.conf names; no unit was
#                      enabled or started; natd and sipproxy started from
#                      the package, as the units start them (/etc/natedge's
#                      configurations, veth interfaces for br-in and the
#                      listen addresses), become ready (pidfiles), run as
#                      natedge and sipproxy, sipproxy reaches natd's socket
#                      through the group; a program compiled against
#                      libcontrol-dev (pkg-config) talks to that natd; both
#                      stop on SIGTERM; `dpkg --purge` removes the users,
#                      the directories and /etc/natedge
#   deb_host_untouched the machine's dpkg database, /etc/passwd, /etc/group
#                      and the packaged paths are as they were
#
# SKIP (loudly) without dpkg-buildpackage or debhelper, without lintian
# (that check only), without root, unshare or overlayfs (the install).
# About 3 minutes, most of it the build (-j2).

# ---------------------------------------------------------------- inside
# `deb-package.sh --inside TMP DEBDIR`: run by the script itself inside
# `unshare -m -n`; prints KEY=VALUE lines for the checks. Nothing it does
# reaches the machine: every write lands in an overlay or a tmpfs.
if [[ ${1:-} == --inside ]]; then
	set -u
	T=$2 D=$3
	natd_pid='' sp_pid=''
	# the daemons started here go with this script, whatever ends it
	trap 'for p in $sp_pid $natd_pid; do kill -TERM "$p" 2>/dev/null; done' EXIT
	trap 'exit 1' INT TERM
	say() { echo "$1=$2"; }
	mount -t tmpfs -o mode=0755 deb-upper "$T/ov" || exit 9
	for d in etc usr var lib; do
		[[ -d /$d && ! -L /$d ]] || continue
		mkdir -p "$T/ov/$d/up" "$T/ov/$d/work"
		mount -t overlay overlay -o "lowerdir=/$d,upperdir=$T/ov/$d/up,workdir=$T/ov/$d/work" "/$d" || exit 9
	done
	mount -t tmpfs -o mode=0755 deb-run /run || exit 9
	mkdir -p /run/lock
	# the postinst must make the users itself, even where this machine
	# has them (an earlier `make install`)
	for f in passwd group shadow gshadow; do
		[[ -f /etc/$f ]] && sed -i -e '/^natedge:/d' -e '/^sipproxy:/d' -e 's/\(:[^:]*\),sipproxy$/\1/' \
			-e 's/:sipproxy$/:/' "/etc/$f"
	done
	say users_before "$(getent passwd natedge sipproxy | cut -d: -f1 | tr '\n' ,)"
	# no man-db rebuild for the trigger (seconds, and nothing to check)
	rm -f /var/lib/man-db/auto-update
	ip link set lo up

	DEBIAN_FRONTEND=noninteractive dpkg -i "$D"/libcontrol0_*.deb "$D"/libcontrol-dev_*.deb \
		"$D"/natedge_*.deb >"$T/dpkg-install.out" 2>&1
	say install_rc $?
	for p in natedge libcontrol0 libcontrol-dev; do
		say "status.$p" "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null | tr ' ' _)"
	done
	say conffiles "$(dpkg-query -W -f='${Conffiles}' natedge | awk 'NF {print $1}' | tr '\n' ,)"
	for u in natedge sipproxy; do
		IFS=: read -r _ _ uid _ _ _ shell < <(getent passwd "$u")
		say "$u.uid" "${uid:-none}"
		say "$u.shell" "${shell:-none}"
	done
	say sipproxy.groups "$(id -nG sipproxy 2>/dev/null | tr ' ' ,)"
	for d in /var/lib/natd /var/lib/sipproxy /run/natd /run/sipproxy /etc/natedge/sip-users; do
		say "dir.$d" "$(stat -c '%U:%G:%a' "$d" 2>/dev/null || echo none)"
	done
	en=
	for u in natd sipproxy; do
		[[ -e /etc/systemd/system/multi-user.target.wants/$u.service ]] && en+="$u,"
	done
	say enabled "$en"

	# natd and sipproxy as the units run them, on dummy interfaces
	# (veth pairs with both ends here: not every kernel has the dummy type)
	for l in br-in:10.1.0.1/24 out0:203.0.113.1/24; do
		ip link add "${l%%:*}" type veth peer name "${l%%:*}-p" && ip addr add "${l#*:}" dev "${l%%:*}" &&
			ip link set "${l%%:*}-p" up && ip link set "${l%%:*}" up
	done
	/usr/sbin/natd -n -c /etc/natedge/natd.conf >"$T/natd-n.out" 2>&1
	say natd_check $?
	/usr/sbin/natd -f -c /etc/natedge/natd.conf -p /run/natd/natd.pid -s /run/natd/ctl.sock \
		>"$T/natd.log" 2>&1 &
	natd_pid=$!
	for _ in $(seq 100); do [[ -s /run/natd/natd.pid ]] && break; sleep 0.1; done
	say natd_ready "$([[ -s /run/natd/natd.pid ]] && echo yes || echo no)"
	say natd_user "$(ps -o user= -p "$natd_pid" 2>/dev/null | tr -d ' ')"
	say natd_socket "$(stat -c '%U:%G:%a' /run/natd/ctl.sock 2>/dev/null || echo none)"
	say natd_rule "$(ip rule show | grep -c 'iif br-in')"
	/usr/sbin/sipproxy -n -c /etc/natedge/sipproxy.conf >"$T/sipproxy-n.out" 2>&1
	say sipproxy_check $?
	/usr/sbin/sipproxy -f -c /etc/natedge/sipproxy.conf -p /run/sipproxy/sipproxy.pid \
		>"$T/sipproxy.log" 2>&1 &
	sp_pid=$!
	for _ in $(seq 100); do [[ -s /run/sipproxy/sipproxy.pid ]] && break; sleep 0.1; done
	say sipproxy_ready "$([[ -s /run/sipproxy/sipproxy.pid ]] && echo yes || echo no)"
	say sipproxy_user "$(ps -o user= -p "$sp_pid" 2>/dev/null | tr -d ' ')"
	# its control connection, through group natedge's socket
	for _ in $(seq 50); do grep -q 'natd edge: connected' "$T/sipproxy.log" && break; sleep 0.1; done
	say sipproxy_natd "$(grep -c 'natd edge: connected' "$T/sipproxy.log")"
	/usr/bin/natctl -s /run/natd/ctl.sock stats >"$T/natctl-stats.out" 2>&1
	say natctl_rc $?
	say natctl_lib "$(ldd /usr/bin/natctl | awk '$1 == "libcontrol.so.0" {print $3}')"

	# a client built against the installed libcontrol-dev
	cat >"$T/client.c" <<'EOF'
#include <stdio.h>
#include <libcontrol/client.h>
int main(int argc, char **argv)
{
	static struct nc_caps_r caps;
	struct nc_client *cl;
	int rc = nc_client_open_unix(argc > 1 ? argv[1] : NULL, "deb-package", &cl);
	if (rc < 0) {
		fprintf(stderr, "open: %s\n", nc_strerror(rc));
		return 1;
	}
	rc = nc_client_caps(cl, &caps, 5000);
	if (rc < 0 || caps.st.code != NC_ST_OK) {
		fprintf(stderr, "caps: %s\n", rc < 0 ? nc_strerror(rc) : caps.st.reason);
		nc_client_close(cl);
		return 1;
	}
	printf("server=%s messages=%u\n", nc_client_server(cl), caps.nmsgs);
	nc_client_close(cl);
	return 0;
}
EOF
	say pc_version "$(pkg-config --modversion libcontrol 2>&1)"
	# shellcheck disable=SC2046  # pkg-config's flags are words
	if cc -Wall -Werror -o "$T/client" "$T/client.c" $(pkg-config --cflags --libs libcontrol) \
		>"$T/client-cc.out" 2>&1; then
		"$T/client" /run/natd/ctl.sock >"$T/client.out" 2>&1
		say client_rc $?
	else
		say client_rc cc-failed
	fi

	kill -TERM "$sp_pid" "$natd_pid" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$sp_pid" 2>/dev/null || kill -0 "$natd_pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$sp_pid"; sp_rc=$?
	wait "$natd_pid"; natd_rc=$?
	say stop_rc "$natd_rc,$sp_rc"
	say natd_state "$([[ -f /var/lib/natd/state ]] && echo yes || echo no)"

	DEBIAN_FRONTEND=noninteractive dpkg --purge natedge libcontrol-dev libcontrol0 \
		>"$T/dpkg-purge.out" 2>&1
	say purge_rc $?
	say status_after "$(dpkg-query -W -f='${db:Status-Abbrev}' natedge 2>/dev/null | tr -d ' ')"
	say users_after "$(getent passwd natedge sipproxy | cut -d: -f1 | tr '\n' ,)"
	say groups_after "$(getent group natedge sipproxy | cut -d: -f1 | tr '\n' ,)"
	left=
	for p in /var/lib/natd /var/lib/sipproxy /run/natd /run/sipproxy /etc/natedge \
		/usr/sbin/natd /lib/systemd/system/natd.service /usr/include/libcontrol; do
		[[ -e $p ]] && left+="$p,"
	done
	say left_after "$left"
	exit 0
fi

. "$(dirname "$0")/lib.sh"

DEB_TMP=
trap '[[ -n $DEB_TMP && -d $DEB_TMP ]] && rm -rf "$DEB_TMP"' EXIT
trap it_on_signal INT TERM

missing=
for t in dpkg-buildpackage dpkg-deb dh git; do
	command -v "$t" >/dev/null || missing+=" $t"
done
[[ -z $missing ]] || it_skip_all "not installed:$missing (Debian packages dpkg-dev, debhelper, git; ./quickstart installs them)"
[[ -d $NT_ROOT/debian && -d $NT_ROOT/.git || -f $NT_ROOT/.git ]] ||
	it_skip_all "$NT_ROOT is not a git checkout with debian/"

# the machine's state the test must not change: its dpkg database, its
# users, and the paths the packages would occupy
host_sum() {
	ls -ld /usr/sbin/natd /usr/sbin/sipproxy /usr/bin/natctl /lib/systemd/system/natd.service \
		/etc/natedge /usr/include/libcontrol /var/lib/natd /var/lib/sipproxy 2>&1 |
		cat - /etc/passwd /etc/group | sha256sum | cut -d' ' -f1
}
dpkg_sum() { sha256sum </var/lib/dpkg/status | cut -d' ' -f1; }
host_before=$(host_sum)
dpkg_before=$(dpkg_sum)

# deb_version: one version, configure.ac's
ac_version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$NT_ROOT/configure.ac")
deb_version=$(cd "$NT_ROOT" && dpkg-parsechangelog -S Version 2>/dev/null)
if [[ -n $ac_version && ${deb_version%%-*} == "$ac_version" ]]; then
	it_pass deb_version
else
	it_fail deb_version "debian/changelog says '$deb_version', configure.ac '$ac_version'"
fi

# deb_build: a clean copy, then dpkg-buildpackage
DEB_TMP=$(mktemp -d /tmp/natedge-deb.XXXXXX)
chmod 755 "$DEB_TMP"
mkdir -p "$DEB_TMP/src" "$DEB_TMP/ov"
(cd "$NT_ROOT" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -xf - -C "$DEB_TMP/src" ||
	{ it_fail deb_build "cannot copy the tree"; it_done; }
t0=$SECONDS
(cd "$DEB_TMP/src" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=2" \
	timeout 240 dpkg-buildpackage -us -uc -b) >"$IT_OUT/build.log" 2>&1
rc=$?
it_info "dpkg-buildpackage: exit $rc after $((SECONDS - t0)) s (log: build.log)"
debs=()
for p in natedge libcontrol0 libcontrol-dev; do
	for f in "$DEB_TMP"/"${p}"_*.deb; do [[ -f $f ]] && debs+=("$f"); done
done
if ((rc == 0 && ${#debs[@]} == 3)); then
	it_pass deb_build
else
	cp "$IT_OUT/build.log" "$IT_OUT/build-failed.log"
	it_fail deb_build "exit $rc, ${#debs[@]} of 3 packages; $(grep -m3 -E 'error|Error|unsatisfied' "$IT_OUT/build.log" | tr '\n' ' ')"
	it_done
fi

# deb_lintian: no errors
if command -v lintian >/dev/null; then
	timeout 120 lintian --tag-display-limit 0 "$DEB_TMP"/natedge_*.changes >"$IT_OUT/lintian.out" 2>&1
	rc=$?
	grep -E '^[EW]: ' "$IT_OUT/lintian.out" | while read -r l; do it_info "lintian: $l"; done
	if grep -q '^E: ' "$IT_OUT/lintian.out"; then
		it_fail deb_lintian "$(grep -c '^E: ' "$IT_OUT/lintian.out") errors: $(grep -m3 '^E: ' "$IT_OUT/lintian.out" | tr '\n' ' ')"
	elif ((rc == 0)); then
		it_pass deb_lintian
	else
		it_fail deb_lintian "lintian exited $rc: $(tail -n 3 "$IT_OUT/lintian.out" | tr '\n' ' ')"
	fi
else
	it_skip deb_lintian "lintian not installed (Debian package lintian; ./quickstart installs it)"
fi

# deb_files_*: what each package holds
X=$DEB_TMP/x
mkdir -p "$X"
for f in "${debs[@]}"; do dpkg-deb -x "$f" "$X"; done
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
contents() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's|^\./|/|'; }
expect_files() { # NAME DEB PATH...: every PATH is in DEB
	local name=$1 deb=$2 miss=
	shift 2
	local list
	list=$(contents "$deb")
	for p in "$@"; do grep -qxF "$p" <<<"$list" || miss+=" $p"; done
	if [[ -z $miss ]]; then it_pass "$name"; else it_fail "$name" "missing:$miss"; fi
}
expect_files deb_files_natedge "${debs[0]}" /usr/sbin/natd /usr/sbin/sipproxy /usr/bin/natctl \
	/lib/systemd/system/natd.service /lib/systemd/system/sipproxy.service \
	/usr/lib/sysusers.d/natedge.conf /usr/lib/tmpfiles.d/natedge.conf \
	/etc/natedge/natd.conf /etc/natedge/sipproxy.conf \
	/usr/share/man/man8/natd.8.gz /usr/share/man/man8/sipproxy.8.gz /usr/share/man/man1/natctl.1.gz \
	/usr/share/man/man5/natd.conf.5.gz /usr/share/man/man5/sipproxy.conf.5.gz \
	/usr/share/doc/natedge/copyright /usr/share/doc/natedge/examples/natd-minimal.conf \
	/usr/share/doc/natedge/examples/sipproxy-minimal.conf \
	/usr/share/doc/natedge/examples/scenario1-2/natd.conf /usr/share/doc/natedge/examples/scenario3/natd-a.conf \
	/usr/share/doc/natedge/examples/ha/natd-a.conf /usr/share/doc/natedge/examples/ha/natd-b.conf \
	/usr/share/doc/natedge/examples/ha/sipproxy-a.conf /usr/share/doc/natedge/examples/ha/sipproxy-b.conf \
	/usr/share/doc/natedge/examples/ha/keepalived-a.conf /usr/share/doc/natedge/examples/ha/keepalived-b.conf \
	/usr/share/doc/natedge/examples/ha/natedge-ha-notify
# the HA pair's notify hook: executable, and it names the packaged configuration
hook=$X/usr/share/doc/natedge/examples/ha/natedge-ha-notify
if [[ -x $hook ]] && grep -q '^SIPPROXY_CONF=/etc/natedge/sipproxy.conf$' "$hook" &&
	! grep -rq /usr/local/etc "$X/usr/share/doc/natedge/examples/ha"; then
	it_pass deb_files_ha_examples
else
	it_fail deb_files_ha_examples "$(ls -l "$hook" 2>&1); /usr/local/etc named in: $(grep -rl /usr/local/etc "$X/usr/share/doc/natedge/examples/ha" | tr '\n' ' ')"
fi
expect_files deb_files_libcontrol0 "${debs[1]}" "/usr/lib/$MA/libcontrol.so.0" "/usr/lib/$MA/libcontrol.so.0.1.0"
expect_files deb_files_libcontrol_dev "${debs[2]}" "/usr/lib/$MA/libcontrol.so" "/usr/lib/$MA/pkgconfig/libcontrol.pc" \
	/usr/include/libcontrol/client.h /usr/include/libcontrol/msg.h /usr/include/libcontrol/proto.h \
	/usr/include/libcontrol/auth.h /usr/include/libcontrol/secret.h /usr/share/man/man3/libcontrol.3.gz
soname=$(objdump -p "$X/usr/lib/$MA/libcontrol.so.0.1.0" 2>/dev/null | awk '$1 == "SONAME" {print $2}')
if [[ $soname == libcontrol.so.0 ]]; then
	it_pass deb_files_soname
else
	it_fail deb_files_soname "libcontrol's soname is '${soname:-?}', its package libcontrol0"
fi
mkdir -p "$DEB_TMP/ctl"
dpkg-deb -e "${debs[0]}" "$DEB_TMP/ctl"
conffiles=$(sort "$DEB_TMP/ctl/conffiles" 2>/dev/null | tr '\n' ' ')
units_ok=1
grep -q '^ExecStart=/usr/sbin/natd .*-c /etc/natedge/natd.conf' "$X/lib/systemd/system/natd.service" || units_ok=0
grep -q '^ExecStart=/usr/sbin/sipproxy .*-c /etc/natedge/sipproxy.conf' "$X/lib/systemd/system/sipproxy.service" || units_ok=0
if [[ $conffiles == "/etc/natedge/natd.conf /etc/natedge/sipproxy.conf " ]] && ((units_ok)) &&
	! grep -rq /usr/local "$X/etc/natedge" "$X/lib/systemd/system"; then
	it_pass deb_files_paths
else
	it_fail deb_files_paths "conffiles: '$conffiles', units with packaged paths: $units_ok, /usr/local named: $(grep -rl /usr/local "$X/etc" "$X/lib" | tr '\n' ' ')"
fi

# deb_run_extracted: the unpacked programs on the unpacked libraries and configurations
export LD_LIBRARY_PATH=$X/usr/lib/$MA
out=$IT_OUT/extracted.out
{
	"$X/usr/sbin/natd" -V && "$X/usr/sbin/sipproxy" -V &&
		"$X/usr/sbin/natd" -n -c "$X/etc/natedge/natd.conf" &&
		"$X/usr/sbin/sipproxy" -n -c "$X/etc/natedge/sipproxy.conf" &&
		"$X/usr/sbin/natd" -n -c "$X/usr/share/doc/natedge/examples/natd-minimal.conf" &&
		"$X/usr/sbin/sipproxy" -n -c "$X/usr/share/doc/natedge/examples/sipproxy-minimal.conf" &&
		"$X/usr/bin/natctl" --help >/dev/null && ldd "$X/usr/bin/natctl"
} >"$out" 2>&1
rc=$?
unset LD_LIBRARY_PATH
if ((rc == 0)) && grep -q "^natd $ac_version" "$out" && grep -q "libcontrol.so.0 => $X/" "$out"; then
	it_pass deb_run_extracted
else
	it_fail deb_run_extracted "exit $rc: $(grep -v '=>' "$out" | tail -n 3 | tr '\n' ' ')"
fi

# deb_scripts_syntax
bad=
n=0
for s in "$DEB_TMP"/ctl/{preinst,postinst,prerm,postrm}; do
	[[ -f $s ]] || continue
	n=$((n + 1))
	sh -n "$s" 2>>"$IT_OUT/scripts.out" || bad+=" ${s##*/}"
done
if [[ -z $bad ]] && ((n >= 2)); then
	it_pass deb_scripts_syntax
else
	it_fail deb_scripts_syntax "bad:${bad:- none}, $n scripts"
fi

# deb_install_*: dpkg -i in a throw-away root
if [[ $(id -u) != 0 ]] || ! command -v unshare >/dev/null || ! grep -qw overlay /proc/filesystems; then
	it_skip deb_install "needs root, unshare and overlayfs for a private root to install into"
else
	mkdir -p "$DEB_TMP/debs" && cp "${debs[@]}" "$DEB_TMP/debs/"
	timeout 150 unshare -m -n --propagation private bash "$0" --inside "$DEB_TMP" "$DEB_TMP/debs" \
		>"$IT_OUT/install.out" 2>"$IT_OUT/install.err"
	rc=$?
	for f in dpkg-install.out natd.log sipproxy.log natctl-stats.out client.out client-cc.out \
		dpkg-purge.out natd-n.out sipproxy-n.out; do
		[[ -f $DEB_TMP/$f ]] && cp "$DEB_TMP/$f" "$IT_OUT/"
	done
	sed 's/^/    ns: /' "$IT_OUT/install.out" "$IT_OUT/install.err" >&2
	v() { sed -n "s|^$1=||p" "$IT_OUT/install.out" | head -n 1; }
	if ((rc != 0)) || [[ -z $(v install_rc) ]]; then
		it_fail deb_install "the namespace script failed (exit $rc): $(tail -n 3 "$IT_OUT/install.err" | tr '\n' ' ')"
	else
		st=install_ok_installed
		if [[ $(v install_rc) == 0 && $(v status.natedge) == "$st" && $(v status.libcontrol0) == "$st" &&
			$(v status.libcontrol-dev) == "$st" ]]; then
			it_pass deb_install_dpkg
		else
			it_fail deb_install_dpkg "dpkg -i exit $(v install_rc); $(grep -m3 -iE 'error|depend' "$IT_OUT/dpkg-install.out" | tr '\n' ' ')"
		fi
		ok=1 why="users before: '$(v users_before)'; "
		[[ -z $(v users_before) ]] || ok=0
		for u in natedge sipproxy; do
			uid=$(v "$u.uid")
			if [[ ! $uid =~ ^[0-9]+$ ]] || ((uid == 0 || uid >= 1000)); then ok=0; fi
			[[ $(v "$u.shell") == */nologin || $(v "$u.shell") == /bin/false ]] || ok=0
			why+="$u uid=$uid shell=$(v "$u.shell"); "
		done
		[[ ,$(v sipproxy.groups), == *,natedge,* ]] || ok=0
		why+="sipproxy groups: $(v sipproxy.groups)"
		if ((ok)); then it_pass deb_install_users; else it_fail deb_install_users "$why"; fi
		dirs="$(v dir./var/lib/natd) $(v dir./var/lib/sipproxy) $(v dir./run/natd) $(v dir./run/sipproxy) $(v dir./etc/natedge/sip-users)"
		if [[ $dirs == "natedge:natedge:750 sipproxy:sipproxy:700 root:root:755 sipproxy:sipproxy:755 sipproxy:sipproxy:600" ]]; then
			it_pass deb_install_dirs
		else
			it_fail deb_install_dirs "/var/lib/natd /var/lib/sipproxy /run/natd /run/sipproxy /etc/natedge/sip-users: $dirs"
		fi
		if [[ $(v conffiles) == "/etc/natedge/natd.conf,/etc/natedge/sipproxy.conf," && -z $(v enabled) ]]; then
			it_pass deb_install_conffiles_not_enabled
		else
			it_fail deb_install_conffiles_not_enabled "conffiles: $(v conffiles); enabled: $(v enabled)"
		fi
		if [[ $(v natd_check) == 0 && $(v natd_ready) == yes && $(v natd_user) == natedge &&
			$(v natd_socket) == root:natedge:660 && $(v natd_rule) -ge 1 ]]; then
			it_pass deb_install_natd_runs
		else
			it_fail deb_install_natd_runs "-n: $(v natd_check), ready: $(v natd_ready), user: $(v natd_user), socket: $(v natd_socket), rules: $(v natd_rule); $(tail -n 2 "$IT_OUT/natd.log" 2>/dev/null | tr '\n' ' ')"
		fi
		if [[ $(v sipproxy_check) == 0 && $(v sipproxy_ready) == yes && $(v sipproxy_user) == sipproxy &&
			$(v sipproxy_natd) -ge 1 ]]; then
			it_pass deb_install_sipproxy_runs
		else
			it_fail deb_install_sipproxy_runs "-n: $(v sipproxy_check), ready: $(v sipproxy_ready), user: $(v sipproxy_user), natd connected: $(v sipproxy_natd); $(tail -n 2 "$IT_OUT/sipproxy.log" 2>/dev/null | tr '\n' ' ')"
		fi
		if [[ $(v natctl_rc) == 0 && $(v natctl_lib) == /*/libcontrol.so.0 && $(v natctl_lib) != "$DEB_TMP"* &&
			$(v pc_version) == "$ac_version" && $(v client_rc) == 0 ]] && grep -q '^server=' "$IT_OUT/client.out"; then
			it_pass deb_install_libcontrol
		else
			it_fail deb_install_libcontrol "natctl stats: $(v natctl_rc) on $(v natctl_lib); pkg-config: $(v pc_version); client: $(v client_rc) $(cat "$IT_OUT/client.out" "$IT_OUT/client-cc.out" 2>/dev/null | head -n 2 | tr '\n' ' ')"
		fi
		if [[ $(v stop_rc) == 0,0 ]]; then
			it_pass deb_install_stop
		else
			it_fail deb_install_stop "natd,sipproxy exit: $(v stop_rc)"
		fi
		if [[ $(v purge_rc) == 0 && ( -z $(v status_after) || $(v status_after) == pn ) &&
			-z $(v users_after) && -z $(v groups_after) && -z $(v left_after) ]]; then
			it_pass deb_install_purge
		else
			it_fail deb_install_purge "dpkg --purge exit $(v purge_rc), status '$(v status_after)', users '$(v users_after)', groups '$(v groups_after)', left: $(v left_after)"
		fi
	fi
fi

# deb_host_untouched
ours=$(dpkg-query -W -f='${db:Status-Abbrev}${Package}\n' natedge libcontrol0 libcontrol-dev 2>/dev/null | grep -c '^i')
if [[ $(host_sum) != "$host_before" ]]; then
	it_fail deb_host_untouched "the machine's /etc/passwd, /etc/group or a packaged path changed"
elif [[ $(dpkg_sum) == "$dpkg_before" ]]; then
	it_pass deb_host_untouched
elif ((ours == 0)); then
	# something else (apt-get on this machine) changed the database meanwhile
	it_info "the dpkg database changed during the test, but holds none of natedge's packages"
	it_pass deb_host_untouched
else
	it_fail deb_host_untouched "the machine's dpkg database changed and lists natedge's packages"
fi

it_done
