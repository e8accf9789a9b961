#!/bin/bash
# install-users: `make install` creates natedge's dedicated system users
# (systemd/natedge-users, run by systemd/Makefile.am's install-exec-hook,
# reading systemd/natedge.sysusers.conf) instead of relying on "nobody".
#
#  1. With DESTDIR set the hook creates nobody and says why (a staged
#     install); as a non-root user likewise. The machine's users do not
#     change.
#  2. As root, in a private mount namespace whose /etc is a scratch copy
#     (the machine's own /etc is never written): the hook creates system
#     users natedge and sipproxy (uid below 1000, no login shell), puts
#     sipproxy in group natedge. A second run changes nothing. The real /etc/passwd is
#     byte for byte what it was.
. "$(dirname "$0")/lib.sh"


SYSUSERS=$NT_ROOT/systemd/natedge.sysusers.conf
SCRIPT=$NT_ROOT/systemd/natedge-users
[[ -x $SCRIPT && -f $SYSUSERS ]] || { it_fail install_users_files "no $SCRIPT or $SYSUSERS"; it_done; }
[[ -f $NT_ROOT/systemd/Makefile ]] || it_skip_all "the tree is not configured (systemd/Makefile)"

TMP=$(mktemp -d /tmp/natedge-users.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
passwd_sum() { sha256sum /etc/passwd /etc/group | sha256sum | cut -d' ' -f1; }
before=$(passwd_sum)

# 1. DESTDIR: the hook itself, through make
out=$IT_OUT/destdir.out
if timeout 60 make -s -C "$NT_ROOT/systemd" install-exec-hook DESTDIR="$TMP/stage" >"$out" 2>&1 &&
	grep -q 'DESTDIR is set: not creating' "$out" && [[ $(passwd_sum) == "$before" ]]; then
	it_pass install_users_destdir_skipped
else
	it_fail install_users_destdir_skipped "$(tr '\n' ' ' <"$out")"
fi

# 1b. not root
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
	out=$IT_OUT/notroot.out
	if timeout 30 setpriv --reuid=nobody --regid=nogroup --clear-groups sh "$SCRIPT" "$SYSUSERS" \
		>"$out" 2>&1 && grep -q 'not root: not creating' "$out" && [[ $(passwd_sum) == "$before" ]]; then
		it_pass install_users_not_root_skipped
	else
		it_fail install_users_not_root_skipped "$(tr '\n' ' ' <"$out")"
	fi
else
	it_skip install_users_not_root_skipped "needs root and setpriv to become another user"
fi

# 2. root, in a mount namespace with a scratch /etc
if [[ $(id -u) != 0 ]] || ! command -v unshare >/dev/null || ! command -v useradd >/dev/null; then
	it_skip install_users_created "needs root, unshare and useradd"
	it_done
fi
cp -a /etc "$TMP/etc" || { it_fail install_users_created "cannot copy /etc"; it_done; }
# the scratch /etc starts without our users even where this machine has
# them already (an earlier `make install`): the hook must create them
for f in passwd group shadow gshadow; do
	[[ -f $TMP/etc/$f ]] && sed -i -e '/^natedge:/d' -e '/^sipproxy:/d' "$TMP/etc/$f"
done
# inside the namespace: the hook twice, then what it made, one KEY=VALUE a line
timeout 120 unshare -m --propagation private bash -c '
	mount --bind "$1/etc" /etc || exit 9
	make -s -C "$2/systemd" install-exec-hook >"$3/run1.out" 2>&1; echo "run1=$?"
	make -s -C "$2/systemd" install-exec-hook >"$3/run2.out" 2>&1; echo "run2=$?"
	for u in natedge sipproxy; do
		IFS=: read -r _ _ uid gid _ _ shell < <(getent passwd "$u")
		echo "$u.uid=${uid:-none}"
		echo "$u.shell=${shell:-none}"
		echo "$u.group=$(getent group "$gid" | cut -d: -f1)"
	done
	echo "sipproxy.groups=$(id -nG sipproxy 2>/dev/null | tr " " ,)"
' _ "$TMP" "$NT_ROOT" "$IT_OUT" >"$IT_OUT/ns.out" 2>"$IT_OUT/ns.err"
sed 's/^/    ns: /' "$IT_OUT/ns.out" "$IT_OUT/run1.out" "$IT_OUT/run2.out" "$IT_OUT/ns.err" >&2
v() { sed -n "s/^$1=//p" "$IT_OUT/ns.out" | head -n 1; }

ok=1 why=
for u in natedge sipproxy; do
	uid=$(v "$u.uid")
	if [[ ! $uid =~ ^[0-9]+$ ]] || ((uid == 0 || uid >= 1000)); then ok=0 why+="$u uid=$uid; "; fi
	[[ $(v "$u.shell") == */nologin || $(v "$u.shell") == /bin/false ]] || { ok=0; why+="$u shell=$(v "$u.shell"); "; }
	[[ $(v "$u.group") == "$u" ]] || { ok=0; why+="$u group=$(v "$u.group"); "; }
done
if [[ $(v run1) == 0 && $ok == 1 ]] && grep -q 'created system user natedge' "$IT_OUT/run1.out"; then
	it_pass install_users_created
else
	it_fail install_users_created "run1=$(v run1) $why$(tr '\n' ' ' <"$IT_OUT/run1.out")"
fi
if [[ ,$(v sipproxy.groups), == *,natedge,* ]]; then
	it_pass install_users_sipproxy_in_group_natedge
else
	it_fail install_users_sipproxy_in_group_natedge "groups of sipproxy: $(v sipproxy.groups)"
fi
if [[ $(v run2) == 0 ]] && ! grep -q 'created\|added' "$IT_OUT/run2.out" &&
	grep -q 'user natedge exists' "$IT_OUT/run2.out"; then
	it_pass install_users_second_run_changes_nothing
else
	it_fail install_users_second_run_changes_nothing "run2=$(v run2): $(tr '\n' ' ' <"$IT_OUT/run2.out")"
fi
it_check install_users_host_untouched "the machine's /etc/passwd or /etc/group changed" \
	test "$(passwd_sum)" = "$before"
it_done
