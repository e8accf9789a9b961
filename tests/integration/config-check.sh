#!/bin/bash
# config-check: `natd -n -c FILE` accepts good configurations (exit 0) and
# rejects bad ones (exit != 0) with messages "file:line: setting: problem".
# No namespaces needed.
. "$(dirname "$0")/lib.sh"

it_require_natd

# good: the shipped configurations
for f in conf/natd-edge-test.conf conf/natd.conf conf/natd-minimal.conf; do
	[[ -f $NT_ROOT/$f ]] || continue
	name=good_$(basename "$f" .conf | tr -c 'A-Za-z0-9\n' '_')
	timeout 10 "$NT_NATD" -n -c "$NT_ROOT/$f" >"$IT_OUT/$name.out" 2>&1
	rc=$?
	if [[ $rc == 0 ]]; then
		it_pass "$name"
	else
		it_fail "$name" "natd -n -c $f exited $rc: $(head -n 3 "$IT_OUT/$name.out" | tr '\n' ' ')"
	fi
done

# bad: each file has one problem on a known line.
# bad_case NAME LINE REGEX TEXT: "natd -n" must fail and print
# "FILE:LINE: setting: problem" where "setting: problem" matches REGEX.
base_realms='realms = (
  { name = "inside"; prefixes = [ "10.1.0.0/24" ]; nat_to = [ "outside" ]; },
  { name = "outside"; prefixes = [ "0.0.0.0/0" ];
    pool = { addresses = [ "198.51.100.1/32" ]; ports = "1024-65535"; }; }
);'

bad_case() {
	local name=$1 line=$2 setting_re=$3 text=$4
	local f=$IT_OUT/bad-$name.conf out=$IT_OUT/bad-$name.out rc
	printf '%s\n' "$text" >"$f"
	timeout 10 "$NT_NATD" -n -c "$f" >"$out" 2>&1
	rc=$?
	if [[ $rc == 0 ]]; then
		it_fail "bad_$name" "natd -n accepted $f"
		return
	fi
	if [[ $rc -ge 124 ]]; then
		it_fail "bad_$name" "natd -n exited $rc (timeout or signal)"
		return
	fi
	# "file:line: setting: problem", and the message names the setting
	local l rest found=0
	while IFS= read -r l; do
		[[ $l == "$f:$line: "* ]] || continue
		rest=${l#"$f:$line: "}
		if [[ $rest =~ ^[^\ :][^:]*:\ .+ ]] && [[ $rest =~ $setting_re ]]; then
			found=1
			break
		fi
	done <"$out"
	if ((found)); then
		it_pass "bad_$name"
	else
		it_fail "bad_$name" "expected '$f:$line: setting: problem' mentioning /$setting_re/, got: $(head -n 3 "$out" | tr '\n' ' ')"
	fi
}

bad_case unknown_setting 3 'colour' "tun: { name = \"natd0\"; };
user = \"nobody\";
colour = \"blue\";
$base_realms"

# the ha group (common/hastore.c): an address natd would have to resolve,
# and enabled without a node name
bad_case ha_redis_hostname 6 'ha\.redis' "$base_realms
ha: { redis = \"redis.example:6379\"; };"
bad_case ha_enabled_without_node 6 'ha\.node' "$base_realms
ha: { enabled = true; redis = \"192.0.2.50:6379\"; };"

bad_case unknown_group_member 1 'tun\.nmae' "tun: { nmae = \"natd0\"; };
$base_realms"

bad_case out_of_range 2 'tun\.mtu' "tun: { name = \"natd0\";
  mtu = 100; };
$base_realms"

bad_case wrong_type 3 'timeouts\.udp' "tun: { name = \"natd0\"; };
timeouts: {
  udp = \"five minutes\";
};
$base_realms"

bad_case bad_prefix 3 'prefixes' "tun: { name = \"natd0\"; };
realms = (
  { name = \"inside\"; prefixes = [ \"10.1.0.0/33\" ]; nat_to = [ \"outside\" ]; },
  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];
    pool = { addresses = [ \"198.51.100.1/32\" ]; ports = \"1024-65535\"; }; }
);"

bad_case bad_port_range 5 'ports' "tun: { name = \"natd0\"; };
realms = (
  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outside\" ]; },
  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];
    pool = { addresses = [ \"198.51.100.1/32\" ]; ports = \"9000-80\"; }; }
);"

bad_case forward_unknown_realm 3 'realm' "tun: { name = \"natd0\"; };
forwards = (
  { proto = \"udp\"; external = \"198.51.100.1:5060\"; realm = \"nowhere\";
    internal = \"10.1.0.10:5060\"; internal_realm = \"inside\"; }
);
$base_realms"

bad_case nat_to_unknown_realm 2 'nat_to' "realms = (
  { name = \"inside\"; prefixes = [ \"10.1.0.0/24\" ]; nat_to = [ \"outsyde\" ]; },
  { name = \"outside\"; prefixes = [ \"0.0.0.0/0\" ];
    pool = { addresses = [ \"198.51.100.1/32\" ]; ports = \"1024-65535\"; }; }
);"

# a libconfig syntax error: "file:line: <something>: problem" (the "setting"
# part may name the parser)
bad_case syntax_error 3 '.' "tun: { name = \"natd0\"; };
user = \"nobody\";
table: { capacity = 10 ;; hairpinning = ; };
$base_realms"

# missing file
timeout 10 "$NT_NATD" -n -c "$IT_OUT/does-not-exist.conf" >"$IT_OUT/missing.out" 2>&1
rc=$?
if [[ $rc != 0 && $rc -lt 124 ]] && grep -q 'does-not-exist.conf' "$IT_OUT/missing.out"; then
	it_pass bad_missing_file
else
	it_fail bad_missing_file "exit $rc: $(head -n 2 "$IT_OUT/missing.out" | tr '\n' ' ')"
fi
it_done
