#!/bin/bash
# attack-control: hostile clients on natd's control channel fail, while a
# legitimate client beside them keeps working ("edge" topology: natd with
# TCP control on 0.0.0.0:7070 for 10.1.0.0/24, and its Unix socket).
#
#   1 double HELLO: proxyA authenticates, then says HELLO as proxyB (after
#     AUTH, and while AUTH is awaited): refused (BAD_REQUEST), the
#     connection stays proxyA (it cannot release proxyB's binding; what it
#     binds is proxyA's) and proxyB's binding lives on;
#   2 a client that pipelines requests and never reads its replies is cut
#     off past control.max_output (64 KiB here) while root's natctl BINDs
#     beside it are answered;
#   3 a connection that never says HELLO (TCP and Unix) is closed after
#     control.handshake_timeout (3 s here);
#   4 a stranger in tcp_allow opens TCP connections from three addresses:
#     at most 2 per source (max_tcp_clients_per_source) and 4 in all
#     (max_tcp_clients) are kept, and a local client still gets in on the
#     Unix socket (its own limit, max_clients = 8, fewer than the stranger
#     tried); proxyA gets in again once the stranger is gone;
#   5 names: a TCP client name that does not fit the owner key whole is
#     refused by natd -n; a HELLO whose name is a configured 59-character
#     name plus more is refused (no nonce, closed) rather than cut to it;
#     the 59-character client itself binds, owner shown whole.
# Then the ctl_* counters in natctl stats show each refusal, and natd is
# still up and serving.
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd
[[ -x $NT_NATCTL ]] || { it_fail natctl_built "no executable $NT_NATCTL; run ./quickstart build"; exit 1; }
CTLWIRE=$NT_ROOT/tests/tools/ctlwire.py

LONG=$(printf 'L%.0s' {1..59})                 # 59 bytes: fits "tcp:" + name in 64
for n in A B L; do
	(umask 077 && printf 'secret-of-%s\n' "$n" >"$IT_OUT/$n.secret")
done
conf=$IT_OUT/natd-attack.conf
cat "$NT_ROOT/conf/natd-edge-test.conf" - >"$conf" <<EOC

control: {
  max_clients = 8;
  max_tcp_clients = 4;
  max_tcp_clients_per_source = 2;
  handshake_timeout = 3;
  max_output = 65536;
  tcp_listen = "0.0.0.0:7070";
  insecure_plain_tcp = true;   # plain TCP on purpose (control-tls.sh covers TLS)
  tcp_allow = [ "10.1.0.0/24" ];
  tcp_clients = (
    { name = "proxyA"; secret_file = "$IT_OUT/A.secret"; realms = [ "outside" ]; prefixes = [ "10.1.0.0/24" ]; },
    { name = "proxyB"; secret_file = "$IT_OUT/B.secret"; realms = [ "outside" ]; prefixes = [ "10.1.0.0/24" ]; },
    { name = "$LONG"; secret_file = "$IT_OUT/L.secret"; realms = [ "outside" ]; prefixes = [ "10.1.0.0/24" ]; }
  );
};
EOC
it_topo_up edge "$conf"
SOCK=$(it_ctl_socket)
TCP=10.1.0.1:7070

# wire OUT NS ARGS...: ctlwire.py in namespace NS (host: "-"), bounded.
wire() {
	local out=$1 ns=$2 pre=(timeout 40)
	shift 2
	[[ $ns != - ]] && pre+=(ip netns exec "$(it_ns "$ns")")
	it_log "${ns/#-/host} ctlwire $*"
	"${pre[@]}" "$NT_PY" "$CTLWIRE" "$@" >"$IT_OUT/$out.out" 2>"$IT_OUT/$out.err"
	local rc=$?
	sed "s/^/    $out: /" "$IT_OUT/$out.out" "$IT_OUT/$out.err" >&2
	return $rc
}
val() { sed -n "s/^$2=//p" "$IT_OUT/$1.out" | head -n 1; }
ctlstat() { sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" "$IT_OUT/$2.out" | head -n 1; }

# ---------------------------------------------------------------- 1. double HELLO
wire victim phB bind --tcp $TCP --name proxyB --secret-file "$IT_OUT/B.secret" --endpoint 10.1.0.10:6300
VB=$(val victim id)
if [[ $(val victim bind_status) != 0 || -z $VB || $(val victim owner) != tcp:proxyB ]]; then
	it_fail legit_tcp_bind "proxyB could not bind: $(tr '\n' ' ' <"$IT_OUT/victim.out")"
fi
wire dh phC double-hello --tcp $TCP --name proxyA --secret-file "$IT_OUT/A.secret" \
	--victim proxyB --victim-binding "${VB:-0}" --endpoint 10.1.0.10:6302
if [[ $(val dh auth) == ok && $(val dh hello2_status) == 1 && $(val dh await_hello2_status) == 1 ]]; then
	it_pass attack_double_hello_refused
else
	it_fail attack_double_hello_refused "$(tr '\n' ' ' <"$IT_OUT/dh.out")"
fi
it_natctl list-after-dh -- --json list
if [[ $(val dh release_status) == 7 && $(val dh bind_status) == 0 && $(val dh bind_owner) == tcp:proxyA ]] &&
	grep -q "\"id\": *$VB,.*\"owner\": *\"tcp:proxyB\"\|\"owner\": *\"tcp:proxyB\".*\"id\": *$VB[,}]" "$IT_OUT/list-after-dh.out"; then
	it_pass attack_double_hello_identity_kept
else
	it_fail attack_double_hello_identity_kept "release of proxyB's binding: $(val dh release_status) (want 7 NOT_FOUND), proxyA's bind owner $(val dh bind_owner); list: $(grep -c . "$IT_OUT/list-after-dh.out") lines"
fi

# ---------------------------------------------------------------- 2. a client that does not read
wire noread - no-read --unix "$SOCK" --count 40000 --max-time 15 --wait 5 &
noread_pid=$!
IT_PIDS+=("$noread_pid")
ok=0
for i in 1 2 3 4 5; do
	it_natctl "beside-$i" -- bind --dir term --in-realm inside --ext-realm outside \
		--endpoint "10.1.0.10:$((6400 + 2 * i))" && ok=$((ok + 1))
done
wait "$noread_pid"
if [[ $(val noread closed) == 1 ]] && grep -q 'does not read its replies' "$IT_NATD_LOG"; then
	it_pass attack_no_read_client_dropped
else
	it_fail attack_no_read_client_dropped "sent $(val noread sent), closed=$(val noread closed), log: $(grep -c 'does not read' "$IT_NATD_LOG") lines"
fi
it_check legit_binds_beside_non_reader "only $ok of 5 natctl BINDs beside the non-reading client succeeded" test "$ok" = 5

# ---------------------------------------------------------------- 3. silent connections
wire silent-tcp phC silent --tcp $TCP --wait 8 &
st_pid=$!
IT_PIDS+=("$st_pid")
wire silent-unix - silent --unix "$SOCK" --wait 8
wait "$st_pid"
ok=1
for k in silent-tcp silent-unix; do
	ms=$(val $k after_ms)
	[[ $(val $k closed) == 1 && ${ms:-0} -ge 2500 && ${ms:-0} -le 6000 ]] || ok=0
done
if ((ok)); then
	it_pass attack_silent_connection_closed_after_handshake_timeout
else
	it_fail attack_silent_connection_closed_after_handshake_timeout "tcp: $(tr '\n' ' ' <"$IT_OUT/silent-tcp.out") unix: $(tr '\n' ' ' <"$IT_OUT/silent-unix.out")"
fi
if it_natctl caps-after-silent -- caps; then it_pass legit_served_after_silent; else it_fail legit_served_after_silent "natctl caps failed"; fi

# ---------------------------------------------------------------- 4. slots
ip -n "$(it_ns phC)" addr add 10.1.0.12/24 dev eth0
ip -n "$(it_ns phC)" addr add 10.1.0.13/24 dev eth0
timeout 40 ip netns exec "$(it_ns phC)" "$NT_PY" "$CTLWIRE" hold --tcp $TCP --bind 10.1.0.11 \
	--bind 10.1.0.12 --bind 10.1.0.13 --count 3 --settle 0.3 --hold 20 \
	>"$IT_OUT/hold.out" 2>"$IT_OUT/hold.err" &
hold_pid=$!
IT_PIDS+=("$hold_pid")
nt_poll 10 grep -q '^holding=1' "$IT_OUT/hold.out"
unix_ok=0
it_natctl caps-while-held -- caps && unix_ok=1
sed 's/^/    hold: /' "$IT_OUT/hold.out" "$IT_OUT/hold.err" >&2
per_source_ok=1
for a in 10.1.0.11 10.1.0.12 10.1.0.13; do
	(($(val hold "kept_$a") <= 2)) || per_source_ok=0
done
if [[ $(val hold opened) == 9 && $(val hold kept) == 4 && $per_source_ok == 1 ]]; then
	it_pass attack_tcp_slots_capped_per_source_and_total
else
	it_fail attack_tcp_slots_capped_per_source_and_total "$(tr '\n' ' ' <"$IT_OUT/hold.out")"
fi
it_check attack_tcp_slots_unix_client_still_served "natctl on the Unix socket failed while the stranger held the TCP slots" \
	test "$unix_ok" = 1
kill -TERM "$hold_pid" 2>/dev/null
wait "$hold_pid" 2>/dev/null
again() { wire again phB bind --tcp $TCP --name proxyA --secret-file "$IT_OUT/A.secret" --endpoint 10.1.0.10:6304 && [[ $(val again bind_status) == 0 ]]; }
if nt_poll 5 again; then it_pass legit_tcp_client_after_stranger_left; else it_fail legit_tcp_client_after_stranger_left "$(tr '\n' ' ' <"$IT_OUT/again.out")"; fi

# ---------------------------------------------------------------- 5. names
bad=$IT_OUT/natd-longname.conf
sed "s/name = \"$LONG\"/name = \"${LONG}X\"/" "$conf" >"$bad"
if ! timeout 10 "$NT_NATD" -n -c "$bad" >"$IT_OUT/longname-n.out" 2>&1 &&
	grep -q 'tcp_clients.*is not a client name' "$IT_OUT/longname-n.out"; then
	it_pass attack_long_name_refused_in_config
else
	it_fail attack_long_name_refused_in_config "natd -n accepted a 60-byte TCP client name: $(head -n 2 "$IT_OUT/longname-n.out" | tr '\n' ' ')"
fi
wire longhello phC hello-name --tcp $TCP --hello-name "${LONG}XXXXXXXXXX"
if [[ $(val longhello status) == 1 && $(val longhello nonce) == 0 && $(val longhello closed) == 1 ]]; then
	it_pass attack_long_hello_name_refused_not_truncated
else
	it_fail attack_long_hello_name_refused_not_truncated "$(tr '\n' ' ' <"$IT_OUT/longhello.out")"
fi
wire long59 phB bind --tcp $TCP --name "$LONG" --secret-file "$IT_OUT/L.secret" --endpoint 10.1.0.10:6306
if [[ $(val long59 bind_status) == 0 && $(val long59 owner) == "tcp:$LONG" ]]; then
	it_pass legit_59_byte_name_owner_whole
else
	it_fail legit_59_byte_name_owner_whole "$(tr '\n' ' ' <"$IT_OUT/long59.out")"
fi

# ---------------------------------------------------------------- counters, liveness
if it_natctl stats-end -- --json stats; then
	want="ctl_hello_refused:2 ctl_name_refused:1 ctl_output_dropped:1 ctl_handshake_timeouts:2 ctl_refused_tcp_source:1 ctl_refused_tcp_full:1"
	miss=
	for w in $want; do
		v=$(ctlstat "${w%%:*}" stats-end)
		((${v:-0} >= ${w#*:})) || miss+="${w%%:*}=${v:-absent} "
	done
	if [[ -z $miss ]]; then it_pass control_counters; else it_fail control_counters "$miss"; fi
else
	it_fail control_counters "natctl stats failed"
fi
if it_natd_alive && it_natctl caps-end -- caps; then
	it_pass natd_alive_and_serving
else
	it_fail natd_alive_and_serving "natd down or not answering"
fi
it_done
