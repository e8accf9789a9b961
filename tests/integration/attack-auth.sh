#!/bin/bash
# attack-auth: SIP digest authentication against an attacker outside, on the
# "edge" topology (proxy at 203.0.113.1 | 10.1.0.1, users file with phoneb,
# alice and 1001; max_failures 5). The real phone phB (10.1.0.10)
# registers phoneb with its password (SIPp register-auth.xml) and, at the
# end, still receives a call from phA through the registrar. alice, a user
# of ours on phC, calls it answering the 407 (SIPp uac-auth.xml); an
# INVITE from outside forging alice's From is challenged. Attackers on
# phA's link, each from its own address (203.0.113.20-26):
#   a  REGISTER phoneb with the attacker's Contact: without credentials,
#      then with a wrong password: 401 both times, no registration made
#   b  "Contact: *" Expires 0 for phoneb from another Call-ID: without and
#      with wrong credentials 401; alice (a real user, right password)
#      unregistering phoneb: 403; phoneb's registration is still there
#   c  the phone's captured Authorization replayed, from the attacker's
#      address and from the phone's own: refused (401 stale), no change
#   d  brute force: one source, 8 guesses: 401 for the first 5, then 403
#      (even with the right password); guesses at phoneb's password lock
#      the user: its right password from a new address gets 403 while
#      phB (from its address) still registers; each lockout logged once
#   e  enumeration: a known user and an unknown one with a wrong password,
#      and with none, get the same status, the same headers and the same
#      challenge (a fresh nonce each)
#   sipvicious (Debian package): svmap sees the proxy; svwar finds no
#      extension (with and without --force); svcrack (from phC inside, as
#      it cannot pick its source address) does not find 1001's password
#      and trips the lockout of its source
# Then phA calls phoneb@edge.test: the call reaches phB (its registered
# contact), and no registration names an attacker's address. Last, SIGHUP
# reloads the users file (a user added can register), and a file that is
# world-readable or malformed is refused with the running users kept.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

it_require_root_net
it_require_natd
sip_require

PHA=203.0.113.10
PHB=10.1.0.10
PROXY_OUT=203.0.113.1:5060
PROXY_IN=10.1.0.1:5060
PB_PW=pb-Secret-7
SIPAUTH="$NT_ROOT/tests/tools/sipauth.py"

# chk NAME CONDITION: PASS if the shell condition holds, else FAIL naming it.
chk() { if eval "$2"; then it_pass "$1"; else it_fail "$1" "not true: $2"; fi; }

sip_topo_up edge

# ------------------------------------------------ users file and proxy
USERS=$IT_OUT/sip-users
: >"$USERS"
chmod 600 "$USERS"
for up in "phoneb:$PB_PW" "alice:alice-Pw-3" "1001:NotANumber-1001"; do
	printf '%s\n' "${up#*:}" | "$SIP_PROXY" -H "${up%%:*}" edge.test >>"$USERS" ||
		{ it_fail users_file "sipproxy -H ${up%%:*} failed"; exit 1; }
done
chk users_file_has_no_password "! grep -q -e '$PB_PW' -e alice-Pw-3 '$USERS'"
# SIPp 3.6 and sipvicious only answer the first challenge, in MD5: MD5 first
SIP_CONF_EXTRA="status_socket = \"$IT_OUT/proxy.status\";
auth: { users_file = \"$USERS\"; algorithms = [ \"MD5\", \"SHA-256\" ];
        max_failures = 5; lockout = 120; nonce_lifetime = 60; };"
SIP_TRUSTED_PEERS="" sip_conf_edge "$IT_OUT/proxy.conf"   # no trusted peers: the relay policy as shipped
sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || exit 1

# attackers: more addresses on phA's link
for i in 20 21 22 24 25 26; do
	ip -n "$(it_ns phA)" addr add "203.0.113.$i/24" dev eth0
done

# sipauth NAME NS BIND ARGS...: run tests/tools/sipauth.py (bounded) from
# BIND in namespace NS; its key=value lines in $IT_OUT/NAME.out.
sipauth() {
	local name=$1 ns=$2 bind=$3
	shift 3
	it_log "[$ns] sipauth $name: --bind $bind $*"
	timeout 60 ip netns exec "$(it_ns "$ns")" "$NT_PY" "$SIPAUTH" --bind "$bind" \
		--domain edge.test "$@" --out "$IT_OUT/$name.out" >"$IT_OUT/$name.stderr" 2>&1
}

# field NAME KEY [ATTEMPT]: KEY's value on attempt line ATTEMPT (default 1)
# of sipauth NAME's output, or the value of a KEY= line.
field() {
	local f=$IT_OUT/$1.out
	if [[ $2 == challenge_text || $2 == headers ]]; then
		grep "^$2=" "$f" | sed -n "${3:-1}p" | cut -d= -f2-
	else
		grep "^attempt=${3:-1} " "$f" | grep -o "\(^\| \)$2=[^ ]*" | cut -d= -f2-
	fi
}

# expect CHECK NAME KEY VALUE [ATTEMPT]
expect() {
	local v
	v=$(field "$2" "$3" "${5:-1}")
	if [[ $v == "$4" ]]; then
		it_pass "$1"
	else
		it_fail "$1" "$3=$v (expected $4; $(head -c 300 "$IT_OUT/$2.out" 2>/dev/null | tr '\n' ' '))"
	fi
}

status_view() { sip_proxy_status "$IT_OUT/proxy.conf" "$IT_OUT/status.out" && cat "$IT_OUT/status.out"; }

# registered_contacts: the "via=" of phoneb's registrations
registered_contacts() { status_view | grep '^registration phoneb@edge.test ' | grep -o 'via=[^ ]*' | sort; }

# auth_counter KEY: a counter of the status view's "auth" line
auth_counter() { status_view | grep -m1 '^auth ' | grep -o "\(^\| \)$1=[0-9]*" | cut -d= -f2; }

phone_registered() { [[ $(registered_contacts) == "via=udp/$PHB:5060" ]]; }

# assert_phone_registration CHECK: phoneb has exactly the phone's contact
assert_phone_registration() {
	local r
	r=$(registered_contacts)
	if [[ $r == "via=udp/$PHB:5060" ]]; then
		it_pass "$1"
	else
		it_fail "$1" "phoneb's registrations: '$(paste -sd' ' <<<"$r")' (expected via=udp/$PHB:5060 only)"
	fi
}

# ------------------------------------------------ the real phone registers
sip_uac reg1 phB $PHB register-auth.xml --service phoneb --key domain edge.test \
	--proxy $PROXY_IN -- -ap "$PB_PW"
sip_wait reg1 20
sip_assert_call phone_registers_with_password reg1
sip_assert_event phone_challenged_first reg1 challenged 401
sip_assert_event phone_registered reg1 registered 200
assert_phone_registration phone_registration_listed
AUTHZ=$(grep -m1 '^Authorization: Digest' "$IT_OUT/reg1.msg.log" | tr -d '\r')
chk phone_authorization_captured "[[ -n \"\$AUTHZ\" ]]"

# over TCP too: alice registers from phC (the challenge goes back on the connection)
sip_uac reg-tcp phC 10.1.0.11 register-auth.xml --service alice --key domain edge.test \
	--proxy $PROXY_IN --transport t1 -- -ap alice-Pw-3
sip_wait reg-tcp 20
sip_assert_call tcp_register_with_password reg-tcp
sip_assert_event tcp_registered reg-tcp registered 200

# ------------------------------------------------ a call from a user of ours (uac-auth.xml)
# alice on phC (inside) calls phoneb: 407, then Proxy-Authorization; the
# callee gets the INVITE without alice's credentials
if sip_uas auth-phB phB $PHB uas.xml --service phoneb --rtp-port 20020; then
	sip_uac auth-phC phC 10.1.0.11 uac-auth.xml --rtp-port 21020 --service phoneb \
		--proxy $PROXY_IN --ruri edge.test --key caller alice --key domain edge.test \
		-- -au alice -ap alice-Pw-3
	sip_wait auth-phC 40; sip_wait auth-phB 15
	sip_assert_call user_call_authenticated auth-phC auth-phB
	sip_assert_event user_call_challenged_407 auth-phC challenged 407
	chk user_call_credentials_not_forwarded "! grep -qi '^Proxy-Authorization' '$IT_OUT/auth-phB.msg.log'"
else
	it_fail user_call_uas_ready "SIPp UAS did not start: $(tail -n 3 "$IT_OUT/auth-phB.stdout" | tr '\n' ' ')"
fi
# a forged From alice@edge.test from outside, without credentials: 407
sipauth a-forged phA 203.0.113.20 --proxy $PROXY_OUT --method INVITE --user alice --to-user phoneb
expect forged_from_our_user_challenged a-forged final 407

# ------------------------------------------------ a: REGISTER phoneb, attacker's Contact
sipauth a-none phA 203.0.113.20 --proxy $PROXY_OUT --user phoneb
expect a_no_credentials_401 a-none final 401
sipauth a-wrong phA 203.0.113.20 --proxy $PROXY_OUT --user phoneb --password guess1
expect a_wrong_password_401 a-wrong final 401
expect a_wrong_password_not_stale a-wrong stale 0
assert_phone_registration a_registration_unchanged

# ------------------------------------------------ b: Contact: * Expires 0
sipauth b-none phA 203.0.113.20 --proxy $PROXY_OUT --user phoneb --star --expires 0
expect b_unregister_no_credentials_401 b-none final 401
sipauth b-wrong phA 203.0.113.20 --proxy $PROXY_OUT --user phoneb --star --expires 0 --password guess2
expect b_unregister_wrong_password_401 b-wrong final 401
sipauth b-alice phA 203.0.113.20 --proxy $PROXY_OUT --user alice --to-user phoneb --from-user alice \
	--star --expires 0 --password alice-Pw-3
expect b_other_user_unregister_403 b-alice final 403
assert_phone_registration b_registration_unchanged

# ------------------------------------------------ c: replay of the captured Authorization
sipauth c-replay-out phA 203.0.113.20 --proxy $PROXY_OUT --user phoneb --header "$AUTHZ"
expect c_replay_from_attacker_refused c-replay-out final 401
sipauth c-replay-in phB $PHB --port 5070 --proxy $PROXY_IN --user phoneb --header "$AUTHZ" \
	--contact "sip:phoneb@$PHB:5070"
expect c_replay_from_phone_address_refused c-replay-in final 401
expect c_replay_answered_stale c-replay-in stale 1
assert_phone_registration c_registration_unchanged

# ------------------------------------------------ e: enumeration (before d: its own source)
sipauth e-known phA 203.0.113.21 --proxy $PROXY_OUT --user phoneb --password nope
sipauth e-unknown phA 203.0.113.21 --proxy $PROXY_OUT --user nosuchuser --password nope
sipauth e-known0 phA 203.0.113.21 --proxy $PROXY_OUT --user 1001
sipauth e-unknown0 phA 203.0.113.21 --proxy $PROXY_OUT --user 1002
for k in first final stale reason challenge; do
	a=$(field e-known "$k") b=$(field e-unknown "$k")
	if [[ -n $a && $a == "$b" ]]; then
		it_pass "e_same_${k}_known_unknown"
	else
		it_fail "e_same_${k}_known_unknown" "known user: '$a', unknown user: '$b'"
	fi
	a=$(field e-known0 "$k") b=$(field e-unknown0 "$k")
	if [[ -n $a && $a == "$b" ]]; then
		it_pass "e_same_${k}_without_credentials"
	else
		it_fail "e_same_${k}_without_credentials" "1001: '$a', 1002: '$b'"
	fi
done
a=$(field e-known headers) b=$(field e-unknown headers)
chk e_same_header_names "[[ -n '$a' && '$a' == '$b' ]]"
expect e_known_wrong_is_401 e-known final 401

# ------------------------------------------------ d: brute force, lockout
# d1: one source guesses (an unknown user, so only the source's count
# matters): 5 failures lock it; then 403 before any credentials
sipauth d-brute phA 203.0.113.22 --proxy $PROXY_OUT --user guessme --password wrong --count 8
for i in 1 2 3 4 5; do expect "d_attempt_${i}_401" d-brute final 401 $i; done
for i in 6 7 8; do expect "d_attempt_${i}_locked_403" d-brute first 403 $i; done
n=$(grep -c 'auth: source 203.0.113.22 locked out' "$IT_OUT/proxy.log")
chk d_source_lockout_logged_once "[[ $n == 1 ]]"
sipauth d-right phA 203.0.113.22 --proxy $PROXY_OUT --user phoneb --password "$PB_PW"
expect d_locked_source_refused_even_right_password d-right first 403
# d2: phoneb's password guessed from another source: phoneb had 3
# failures (a, b, e), so the 2nd guess locks the user
sipauth d-user phA 203.0.113.25 --proxy $PROXY_OUT --user phoneb --password wrong --count 4
for i in 1 2; do expect "d_user_guess_${i}_401" d-user final 401 $i; done
for i in 3 4; do expect "d_user_guess_${i}_locked_403" d-user final 403 $i; done
n=$(grep -c 'auth: user "phoneb" locked out' "$IT_OUT/proxy.log")
chk d_user_lockout_logged_once "[[ $n == 1 ]]"
sipauth d-newaddr phA 203.0.113.26 --proxy $PROXY_OUT --user phoneb --password "$PB_PW"
expect d_locked_user_refused_from_new_address d-newaddr final 403
# the real phone, from its own address, still registers
sip_uac reg2 phB $PHB register-auth.xml --service phoneb --key domain edge.test \
	--proxy $PROXY_IN -- -ap "$PB_PW"
sip_wait reg2 20
sip_assert_call d_phone_still_registers reg2
sip_assert_event d_phone_registered_200 reg2 registered 200
assert_phone_registration d_registration_is_the_phone

# ------------------------------------------------ sipvicious
if command -v svwar >/dev/null && command -v svmap >/dev/null && command -v svcrack >/dev/null; then
	sv() {
		local name=$1 ns=$2 tmo=$3
		shift 3
		it_log "[$ns] $*"
		timeout "$tmo" ip netns exec "$(it_ns "$ns")" "$@" >"$IT_OUT/$name.out" 2>&1
		echo "exit=$?" >>"$IT_OUT/$name.out"
	}
	sv svmap phA 30 svmap 203.0.113.1
	chk svmap_sees_proxy "grep -q '203.0.113.1:5060' '$IT_OUT/svmap.out'"
	sv svwar phA 60 svwar -b 203.0.113.24 -e1000-1010 203.0.113.1
	sv svwar-force phA 60 svwar --force -b 203.0.113.24 -e1000-1010 203.0.113.1
	for f in svwar svwar-force; do
		if grep -q 'found nothing' "$IT_OUT/$f.out" && ! grep -qE '^\| *1[0-9]{3} ' "$IT_OUT/$f.out"; then
			it_pass "${f//-/_}_finds_no_extension"
		else
			it_fail "${f//-/_}_finds_no_extension" "$(tail -n 5 "$IT_OUT/$f.out" | tr '\n' ' ')"
		fi
	done
	before=$(auth_counter lockouts)
	# svcrack 0.3.3 ignores -b: it runs from phC (10.1.0.11, an inside
	# attacker) against the inside address, for 15 s at most
	sv svcrack phC 15 svcrack -u 1001 -r 1-20 10.1.0.1
	if grep -q 'NotANumber' "$IT_OUT/svcrack.out" || grep -qE '^\| *1001 ' "$IT_OUT/svcrack.out"; then
		it_fail svcrack_finds_no_password "$(tail -n 5 "$IT_OUT/svcrack.out" | tr '\n' ' ')"
	else
		it_pass svcrack_finds_no_password
	fi
	n=$(grep -c 'auth: source 10.1.0.11 locked out' "$IT_OUT/proxy.log")
	chk svcrack_trips_lockout "[[ $n == 1 ]]"
	after=$(auth_counter lockouts)
	chk svcrack_lockout_counted "[[ -n '$before' && -n '$after' ]] && ((after > before))"
else
	it_skip sipvicious "SIPVICIOUS NOT INSTALLED (Debian package sipvicious; ./quickstart installs it): svmap/svwar/svcrack not run"
fi

# ------------------------------------------------ the real phone still gets its call
sip_assert_proxy_alive proxy_alive proxy
if sip_uas call-phB phB $PHB uas.xml --service phoneb --rtp-port 20010; then
	sip_uac call-phA phA $PHA uac.xml --rtp-port 30010 --service phoneb \
		--proxy $PROXY_OUT --ruri edge.test
	sip_wait call-phA 40; sip_wait call-phB 15
	sip_assert_call phone_receives_call call-phA call-phB
	sip_assert_media phone_call_media call-phB INVITE
else
	it_fail phone_uas_ready "SIPp UAS did not start: $(tail -n 3 "$IT_OUT/call-phB.stdout" | tr '\n' ' ')"
fi
if status_view | grep '^registration ' | grep -q '203\.0\.113\.'; then
	it_fail no_attacker_registration "$(grep '^registration ' "$IT_OUT/status.out" | tr '\n' ' ')"
else
	it_pass no_attacker_registration
fi

# ------------------------------------------------ users file reload (SIGHUP)
# hup PATTERN: SIGHUP to the proxy, wait (bounded) for a new log line matching PATTERN
hup() {
	local before
	before=$(grep -c -- "$1" "$IT_OUT/proxy.log")
	kill -HUP "$(sip_proxy_pid proxy)"
	nt_poll 5 bash -c '(( $(grep -c -- "$1" "$2") > $3 ))' _ "$1" "$IT_OUT/proxy.log" "$before"
}
sipauth r-before phA 203.0.113.20 --proxy $PROXY_OUT --user carol --password carol-Pw-9
printf 'carol-Pw-9\n' | "$SIP_PROXY" -H carol edge.test >>"$USERS"
chk r_reloaded "hup 'configuration reloaded'"
sipauth r-after phA 203.0.113.20 --proxy $PROXY_OUT --user carol --password carol-Pw-9
expect r_new_user_refused_before_reload r-before final 401
expect r_new_user_registers_after_reload r-after final 200
# a users file that became readable by others: reload refused, users kept
chmod 644 "$USERS"
chk r_world_readable_file_refused "hup 'reload refused: auth.users_file'"
chk r_refusal_names_the_mode "grep -q 'users_file .*mode 0644' '$IT_OUT/proxy.log'"
sipauth r-kept phA 203.0.113.20 --proxy $PROXY_OUT --user carol --password carol-Pw-9
expect r_running_users_kept r-kept final 200
chmod 600 "$USERS"
# and a malformed line: refused too
echo 'dave:edge.test:plaintext-password' >>"$USERS"
chk r_malformed_file_refused "hup 'reload refused: auth.users_file'"
sip_assert_proxy_alive proxy_alive_after_reloads proxy

it_info "auth counters: $(status_view | grep -m1 '^auth ')"
it_done
