#!/bin/bash
# conf-sets: the configuration files shipped in conf/ are valid, and each
# scenario's natd and sipproxy configurations fit together. No root, no
# namespaces.
#
#  1. Every conf/*.conf and conf/*/*.conf is checked with -n by the program
#     its name says: natd*.conf with natd, sipproxy*.conf with sipproxy
#     (a file named otherwise is a failure: nobody would check it).
#  2. For each scenario pair (PAIRS below; every file of a conf/scenario*/
#     directory must be in one):
#       - every nats[].socket of the sipproxy file equals the natd file's
#         control.socket (default /run/natd/ctl.sock), and there is one;
#       - the sipproxy file's user (default "sipproxy") is listed in the natd
#         file's control.clients (root would not need to be, but a shipped
#         scenario must not run the proxy as root);
#       - they agree with the systemd units: natd.service's -s path is that
#         socket (it overrides control.socket), sipproxy.service's User= is
#         the sipproxy user, and natd's control.socket_group is one of
#         sipproxy.service's groups (else the proxy cannot connect);
#       - they agree with the system users `make install` creates
#         (systemd/natedge.sysusers.conf, systemd/natedge-users): natd's
#         user (default "natedge") and sipproxy's are created there, neither
#         is root or nobody, and sipproxy's user is a member of natd's
#         control.socket_group.
#     The shipped reference pair (conf/natd.conf, conf/sipproxy.conf, what
#     `make install` puts in /etc/natedge) is checked like a scenario.
. "$(dirname "$0")/lib.sh"

: "${NT_SIPPROXY:=$NT_ROOT/sipproxy/sipproxy}"

it_require_natd
if [[ ! -x $NT_SIPPROXY ]]; then
	it_fail sipproxy_built "no executable $NT_SIPPROXY; run ./quickstart build"
	exit 1
fi
command -v "$NT_PY" >/dev/null || [[ -x $NT_PY ]] || it_skip_all "python3 not installed"

# CONF_SETS_DIR: check another tree of configurations (the test's own tests)
CONF=${CONF_SETS_DIR:-$NT_ROOT/conf}

# natd file, sipproxy file (relative to conf/)
PAIRS=(
	"natd.conf sipproxy.conf"
	"scenario1-2/natd.conf scenario1-2/sipproxy.conf"
	"scenario3/natd-a.conf scenario3/sipproxy-ingress.conf"
	"scenario3/natd-b.conf scenario3/sipproxy-egress.conf"
)

# check_name REL: a PASS/FAIL name from a path relative to conf/.
check_name() { tr -c 'A-Za-z0-9\n' '_' <<<"${1%.conf}"; }

# ------------------------------------------------------------ 1. -n on every file

shopt -s nullglob
files=()
for f in "$CONF"/*.conf "$CONF"/*/*.conf; do files+=("${f#"$CONF"/}"); done
shopt -u nullglob
if ((${#files[@]} == 0)); then
	it_fail conf_files "no *.conf under $CONF"
fi

for rel in "${files[@]}"; do
	name=check_$(check_name "$rel")
	case ${rel##*/} in
	natd*.conf) prog=$NT_NATD ;;
	sipproxy*.conf) prog=$NT_SIPPROXY ;;
	keepalived*.conf) continue ;; # keepalived's own syntax: tests/integration/ha-conf.sh, ha-failover.sh (keepalived -t)
	*)
		it_fail "$name" "conf/$rel is named neither natd*.conf nor sipproxy*.conf"
		continue
		;;
	esac
	out=$IT_OUT/$name.out
	timeout 10 "$prog" -n -c "$CONF/$rel" >"$out" 2>&1
	rc=$?
	if [[ $rc == 0 ]]; then
		it_pass "$name"
	else
		it_fail "$name" "${prog##*/} -n -c conf/$rel exited $rc: $(head -n 3 "$out" | tr '\n' ' ')"
	fi
done

# ------------------------------------------------------------ 2. pairs

# flatten FILE: every scalar setting of a libconfig file as one line
# "path=value" (lists and arrays indexed: control.clients[0].user=...).
# Strings unquoted (adjacent strings joined, escapes decoded).
flatten() {
	timeout 10 "$NT_PY" - "$1" <<'PY'
import re, sys

text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
tok_re = re.compile(r'''
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*|//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)L{0,2})
  | (?P<name>[A-Za-z*][-A-Za-z0-9_*]*)
  | (?P<punct>[{}()\[\]=:;,])
''', re.X | re.S)
toks = []
pos = 0
while pos < len(text):
    m = tok_re.match(text, pos)
    if not m:
        sys.exit("%s: cannot read at offset %d" % (sys.argv[1], pos))
    pos = m.end()
    kind = m.lastgroup
    if kind in ("ws", "comment"):
        continue
    toks.append((kind, m.group()))
toks.append(("eof", ""))
i = 0

def peek():
    return toks[i]

def take(want=None):
    global i
    t = toks[i]
    if want is not None and t[1] != want:
        sys.exit("%s: expected %r, got %r" % (sys.argv[1], want, t[1]))
    i += 1
    return t

def unescape(s):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), s[1:-1])

def value():
    kind, v = peek()
    if v == "{":
        take("{")
        d = settings("}")
        take("}")
        return d
    if v in ("(", "["):
        close = ")" if v == "(" else "]"
        take(v)
        out = []
        while peek()[1] != close:
            out.append(value())
            if peek()[1] == ",":
                take(",")
        take(close)
        return out
    if kind == "str":
        s = ""
        while peek()[0] == "str":
            s += unescape(take()[1])
        return s
    take()
    return v

def settings(end):
    d = []
    while peek()[1] != end and peek()[0] != "eof":
        kind, name = take()
        if kind != "name":
            sys.exit("%s: expected a setting name, got %r" % (sys.argv[1], name))
        if peek()[1] in ("=", ":"):
            take()
        d.append((name, value()))
        if peek()[1] in (";", ","):
            take()
    return d

def emit(prefix, v):
    if isinstance(v, list) and v and isinstance(v[0], tuple):
        for k, x in v:
            emit(prefix + ("." if prefix else "") + k, x)
    elif isinstance(v, list):
        for n, x in enumerate(v):
            emit("%s[%d]" % (prefix, n), x)
    else:
        print("%s=%s" % (prefix, v))

emit("", settings(""))
PY
}

# get FLAT PATH [DEFAULT]: the value of PATH in a flattened file, DEFAULT
# when it is not set.
get() {
	awk -v k="$2=" -v d="${3:-}" '
		index($0, k) == 1 { print substr($0, length(k) + 1); found = 1; exit }
		END { if (!found) print d }' <<<"$1"
}

# every FLAT REGEX: the values of every path matching ^REGEX=.
every() { grep -E "^$2=" <<<"$1" | cut -d= -f2-; }

# the units, as installed (the sources: paths are not rendered)
NATD_UNIT=$NT_ROOT/systemd/natd.service.in
SP_UNIT=$NT_ROOT/systemd/sipproxy.service.in
unit_socket=$(sed -n 's/^ExecStart=.* -s \([^ ]*\).*/\1/p' "$NATD_UNIT" 2>/dev/null | head -n 1)
unit_user=$(sed -n 's/^User=//p' "$SP_UNIT" 2>/dev/null | head -n 1)
SYSUSERS=$NT_ROOT/systemd/natedge.sysusers.conf
sys_users=" $(awk '$1 == "u" { print $2 }' "$SYSUSERS" 2>/dev/null | tr '\n' ' ') "
sys_members=" $(awk '$1 == "m" { print $2 ":" $3 }' "$SYSUSERS" 2>/dev/null | tr '\n' ' ') "
unit_groups=" $(sed -n 's/^\(Group\|SupplementaryGroups\)=//p' "$SP_UNIT" 2>/dev/null | tr '\n' ' ') "

paired=" "
for pair in "${PAIRS[@]}"; do
	read -r natd_rel sp_rel <<<"$pair"
	paired+="$natd_rel $sp_rel "
	pn=$(check_name "${sp_rel%/*}")_$(check_name "${sp_rel##*/}")
	if [[ ! -f $CONF/$natd_rel || ! -f $CONF/$sp_rel ]]; then
		it_fail "${pn}_pair" "missing conf/$natd_rel or conf/$sp_rel"
		continue
	fi
	if ! natd_flat=$(flatten "$CONF/$natd_rel" 2>&1); then
		it_fail "${pn}_pair" "cannot read conf/$natd_rel: $natd_flat"
		continue
	fi
	if ! sp_flat=$(flatten "$CONF/$sp_rel" 2>&1); then
		it_fail "${pn}_pair" "cannot read conf/$sp_rel: $sp_flat"
		continue
	fi

	ctl_socket=$(get "$natd_flat" control.socket /run/natd/ctl.sock)
	sp_user=$(get "$sp_flat" user sipproxy)
	nat_sockets=$(every "$sp_flat" 'nats\[[0-9]+\]\.socket')
	clients=$(every "$natd_flat" 'control\.clients\[[0-9]+\]\.user')
	group=$(get "$natd_flat" control.socket_group "")
	natd_user=$(get "$natd_flat" user natedge)

	# the users are the dedicated ones make install creates
	for u in "natd:$natd_user" "sipproxy:$sp_user"; do
		if [[ ${u#*:} == root || ${u#*:} == nobody ]]; then
			it_fail "${pn}_${u%%:*}_user_dedicated" "${u%%:*} runs as ${u#*:}, not a dedicated user"
		elif [[ $sys_users == *" ${u#*:} "* ]]; then
			it_pass "${pn}_${u%%:*}_user_dedicated"
		else
			it_fail "${pn}_${u%%:*}_user_dedicated" "user ${u#*:} (${u%%:*}) is not created by systemd/natedge.sysusers.conf (users:$sys_users)"
		fi
	done
	if [[ -n $group && $sys_members == *" $sp_user:$group "* ]]; then
		it_pass "${pn}_sysusers_group"
	else
		it_fail "${pn}_sysusers_group" "systemd/natedge.sysusers.conf does not put $sp_user in group ${group:-(none)} (members:$sys_members)"
	fi

	# sipproxy's nats socket(s) = natd's control.socket
	if [[ -z $nat_sockets ]]; then
		it_fail "${pn}_nats_socket" "conf/$sp_rel has no nats[].socket"
	elif bad=$(grep -vxF -- "$ctl_socket" <<<"$nat_sockets"); then
		it_fail "${pn}_nats_socket" "conf/$sp_rel: nats socket $(tr '\n' ' ' <<<"$bad")is not conf/$natd_rel's control.socket $ctl_socket"
	else
		it_pass "${pn}_nats_socket"
	fi

	# sipproxy's user is a control client of natd
	if [[ $sp_user == root ]]; then
		it_fail "${pn}_user_is_client" "conf/$sp_rel runs sipproxy as root"
	elif grep -qxF -- "$sp_user" <<<"$clients"; then
		it_pass "${pn}_user_is_client"
	else
		it_fail "${pn}_user_is_client" "conf/$sp_rel: user \"$sp_user\" is not in conf/$natd_rel's control.clients ($(tr '\n' ' ' <<<"$clients"))"
	fi

	# ... and the units
	if [[ -z $unit_socket ]]; then
		it_skip "${pn}_unit_socket" "no -s in $NATD_UNIT's ExecStart"
	elif [[ $unit_socket == "$ctl_socket" ]]; then
		it_pass "${pn}_unit_socket"
	else
		it_fail "${pn}_unit_socket" "natd.service passes -s $unit_socket, conf/$natd_rel says control.socket $ctl_socket"
	fi
	if [[ -z $unit_user ]]; then
		it_skip "${pn}_unit_user" "no User= in $SP_UNIT"
	elif [[ $unit_user == "$sp_user" ]]; then
		it_pass "${pn}_unit_user"
	else
		it_fail "${pn}_unit_user" "sipproxy.service runs as $unit_user, conf/$sp_rel says user \"$sp_user\""
	fi
	if [[ -z $group ]]; then
		it_fail "${pn}_unit_group" "conf/$natd_rel has no control.socket_group: the socket stays root's, sipproxy.service (groups$unit_groups) cannot connect"
	elif [[ $unit_groups == *" $group "* ]]; then
		it_pass "${pn}_unit_group"
	else
		it_fail "${pn}_unit_group" "conf/$natd_rel's control.socket_group $group is not one of sipproxy.service's groups:$unit_groups"
	fi
done

# every file of a scenario directory is in a pair
unpaired=()
for rel in "${files[@]}"; do
	[[ $rel == scenario*/* ]] || continue
	[[ $paired == *" $rel "* ]] || unpaired+=("conf/$rel")
done
if ((${#unpaired[@]} == 0)); then
	it_pass scenario_files_paired
else
	it_fail scenario_files_paired "not in conf-sets.sh's PAIRS: ${unpaired[*]}"
fi

it_done
