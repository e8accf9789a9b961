#!/bin/bash
# control-tls: natd's TCP control channel inside mutual TLS.
# natd listens on 10.1.0.1:7070 with control.tls_cert/tls_key/tls_ca and
# tls_client_names = ["proxyA"]; phB (10.1.0.10) runs natctl with a client
# certificate signed by the test CA and the HMAC secret inside the session.
# It binds, lists and releases; the binding carries packets. Refused, each
# while the good client keeps working: a certificate of another CA, a
# certificate of the right CA with a name not allowed, no certificate, a
# plain-TCP client on the TLS port, natd's certificate checked against the
# wrong name, and a handshake that stalls (cut off after
# control.handshake_timeout). A capture of the control port must show the
# TLS ClientHello's server name (the capture sees payload) but never the
# binding's label that went inside the session. sipproxy's control client
# (libcontrol's async API) reaches natd over TLS with nats[].tls. A reload
# keeps serving. Certificates are made at test time by tests/lib/mkcerts.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

it_require_root_net
it_require_natd
[[ -x $NT_NATCTL ]] || { it_skip control_tls "natctl is not built ($NT_NATCTL)"; it_done; }
command -v openssl >/dev/null || { it_skip control_tls "no openssl command (certificates)"; it_done; }
command -v tcpdump >/dev/null || it_info "no tcpdump: the wire check is skipped"

pki=$IT_OUT/pki
rm -rf "$pki"
mk() { "$NT_ROOT/tests/lib/mkcerts.sh" "$@" 2>>"$IT_OUT/mkcerts.log"; }
if ! mk "$pki" natd natd.test 10.1.0.1 || ! mk "$pki" proxyA proxyA || ! mk "$pki" intruder intruder ||
	! mk -c otherca "$pki" rogue proxyA; then
	it_fail certificates "mkcerts.sh failed: $(cat "$IT_OUT/mkcerts.log")"
	it_done
fi
secret=$IT_OUT/proxyA.secret
(umask 077 && printf 's3cret-for-proxyA\n' >"$secret")

# control.handshake_timeout: short, so the stall check is quick; a natd
# under valgrind needs longer for a real TLS handshake, HELLO and AUTH
hs=3
[[ ${NT_NATD_WRAPPER:-} == *valgrind* ]] && hs=15
conf=$IT_OUT/natd-tls.conf
cat "$NT_ROOT/conf/natd-edge-test.conf" - >"$conf" <<EOC

control: {
  handshake_timeout = $hs;
  tcp_listen = "10.1.0.1:7070";
  tcp_allow = [ "10.1.0.0/24" ];
  tls_cert = "$pki/natd.crt";
  tls_key = "$pki/natd.key";
  tls_ca = "$pki/ca.crt";
  tls_client_names = [ "proxyA" ];
  tcp_clients = (
    { name = "proxyA"; secret_file = "$secret"; realms = [ "outside" ];
      prefixes = [ "10.1.0.0/24" ]; quota = 8; }
  );
};
EOC
if ! "$NT_NATD" -n -c "$conf" >"$IT_OUT/check.out" 2>&1; then
	it_fail config_check "natd -n refused the TLS configuration: $(cat "$IT_OUT/check.out")"
	it_done
fi
it_topo_up edge "$conf"

# The control port on the wire, whole packets (the topology's capture cuts them).
wire=$IT_OUT/control-tls.pcap
wire_pid=
if command -v tcpdump >/dev/null; then
	ip netns exec "$(it_ns edge)" tcpdump -i any -nn -U -s 0 -w "$wire" tcp port 7070 \
		</dev/null >"$IT_OUT/wire.log" 2>&1 &
	wire_pid=$!
	IT_PIDS+=("$wire_pid")
	nt_poll 5 grep -q 'listening on' "$IT_OUT/wire.log" || it_log "tcpdump did not start"
fi

# tlsctl OUTNAME CERT -- NATCTL-ARGS: natctl from phB over TLS; CERT is a
# certificate name in $pki ("" for none). TLS_NAME overrides --tls-name.
tlsctl() {
	local out=$1 cert=$2 rc
	local args=(-t 10.1.0.1:7070 -k "$secret" -n proxyA --tls-ca "$pki/ca.crt"
		--tls-name "${TLS_NAME:-natd.test}")
	shift 2
	[[ $1 == -- ]] && shift
	[[ -n $cert ]] && args+=(--tls-cert "$pki/$cert.crt" --tls-key "$pki/$cert.key")
	it_log "[phB] natctl ${args[*]} $*"
	timeout 20 ip netns exec "$(it_ns phB)" "$NT_NATCTL" "${args[@]}" "$@" \
		>"$IT_OUT/$out.out" 2>"$IT_OUT/$out.err"
	rc=$?
	sed "s/^/    $out: /" "$IT_OUT/$out.out" "$IT_OUT/$out.err" >&2
	return $rc
}

# ctl_stat NAME: a ctl_* counter of natd, read over the local socket.
ctl_stat() {
	it_natctl stats -- --json stats >/dev/null 2>&1 || return 1
	json_get "$IT_OUT/stats.out" "stats.$1"
}

label=tls-secret-label-$$

# 1. the good client: bind (packets flow through the binding), list, release
if tlsctl bind proxyA -- --json bind --dir term --in-realm inside --ext-realm outside \
	--endpoint 10.1.0.10:6200 --label "$label"; then
	alloc=$(json_get "$IT_OUT/bind.out" alloc)
	id=$(json_get "$IT_OUT/bind.out" id)
	it_pass tls_bind
	it_check_term_binding tls_binding_carries_packets "$alloc"
	if tlsctl list proxyA -- --json list && grep -q "$label" "$IT_OUT/list.out" &&
		grep -q '"tcp:proxyA"' "$IT_OUT/list.out"; then
		it_pass tls_list
	else
		it_fail tls_list "list over TLS does not show the binding (label $label, owner tcp:proxyA)"
	fi
	if tlsctl release proxyA -- release "$id" && tlsctl list2 proxyA -- --json list &&
		! grep -q "$label" "$IT_OUT/list2.out"; then
		it_pass tls_release
	else
		it_fail tls_release "release of binding $id over TLS failed or it is still listed"
	fi
else
	it_fail tls_bind "natctl bind over TLS failed: $(cat "$IT_OUT/bind.err")"
fi

# 2. refusals, each counted, each followed by the good client still working
# expect_refused CHECK OUTNAME CERT COUNTER ERR-PATTERN -- NATCTL-ARGS
expect_refused() {
	local check=$1 out=$2 cert=$3 counter=$4 pattern=$5 before after
	shift 5
	before=$(ctl_stat "$counter")
	if tlsctl "$out" "$cert" "$@"; then
		it_fail "$check" "natctl succeeded"
		return
	fi
	after=$(ctl_stat "$counter")
	if ! grep -qE "$pattern" "$IT_OUT/$out.err"; then
		it_fail "$check" "natctl's error does not say /$pattern/: $(cat "$IT_OUT/$out.err")"
	elif [[ -n $counter && ! (${after:-0} -gt ${before:-0}) ]]; then
		it_fail "$check" "$counter did not grow ($before -> $after)"
	elif ! tlsctl "$out-then-good" proxyA -- caps; then
		it_fail "$check" "the good client failed right after: $(cat "$IT_OUT/$out-then-good.err")"
	else
		it_pass "$check"
	fi
}
expect_refused tls_other_ca_refused rogue rogue ctl_tls_handshake_failed 'refused our client certificate' -- caps
expect_refused tls_name_not_allowed_refused intruder intruder ctl_tls_handshake_failed \
	'refused our client certificate' -- caps
expect_refused tls_no_cert_refused nocert "" ctl_tls_handshake_failed 'refused our client certificate' -- caps
it_check tls_refusal_logged "natd did not log the refused certificates" \
	grep -q 'control: TLS .* from 10.1.0.10' "$IT_NATD_LOG"

# a plain-TCP client on the TLS port: natd sees no ClientHello
before=$(ctl_stat ctl_tls_handshake_failed)
if timeout 20 ip netns exec "$(it_ns phB)" "$NT_NATCTL" -t 10.1.0.1:7070 -k "$secret" -n proxyA caps \
	>"$IT_OUT/plain.out" 2>"$IT_OUT/plain.err"; then
	it_fail tls_plain_client_refused "a plain-TCP natctl got an answer on the TLS port"
elif (($(ctl_stat ctl_tls_handshake_failed) > before)); then
	it_pass tls_plain_client_refused
else
	it_fail tls_plain_client_refused "ctl_tls_handshake_failed did not grow: $(cat "$IT_OUT/plain.err")"
fi

# natd's certificate checked against a name it does not carry: natctl refuses natd
if TLS_NAME=not-natd.test tlsctl wrongname proxyA -- caps; then
	it_fail tls_server_name_checked "natctl accepted natd's certificate for not-natd.test"
else
	it_check tls_server_name_checked "natctl's error is not about natd's certificate" \
		grep -q "certificate did not verify" "$IT_OUT/wrongname.err"
fi

# 3. a stalled handshake (connect, say nothing) is cut off after
# control.handshake_timeout ($hs s) and counted
before=$(ctl_stat ctl_handshake_timeouts)
stall=$(timeout 40 ip netns exec "$(it_ns phB)" "$NT_PY" - <<'PY' 2>&1
import socket, time
s = socket.create_connection(("10.1.0.1", 7070), timeout=5)
s.sendall(b"\x16\x03\x01")  # the first bytes of a TLS record, then silence
t0 = time.monotonic()
s.settimeout(30)
try:
    data = s.recv(100)
    print("closed after %.1f s (%d bytes)" % (time.monotonic() - t0, len(data)))
except socket.timeout:
    print("still open after 30 s")
except ConnectionResetError:
    print("closed after %.1f s (reset)" % (time.monotonic() - t0))
PY
)
it_log "stalled handshake: $stall"
if [[ $stall =~ ^closed\ after\ ([0-9]+)\. ]] && ((BASH_REMATCH[1] >= hs - 1 && BASH_REMATCH[1] <= hs + 3)) &&
	(($(ctl_stat ctl_handshake_timeouts) > before)); then
	it_pass tls_stalled_handshake_cut
else
	it_fail tls_stalled_handshake_cut "natd did not cut the stalled handshake after about $hs s: $stall"
fi

# 3b. clients that hang up abruptly (a reset) in and right after the
# handshake, without a certificate: natd writes its alert and close_notify
# to dead sockets, and must live on (a SIGPIPE would kill it)
abrupt=$(timeout 60 ip netns exec "$(it_ns phB)" "$NT_PY" - "$pki" <<'PY' 2>&1
import socket, ssl, struct, sys, time
pki = sys.argv[1]
n = 0
for i in range(10):
    s = socket.create_connection(("10.1.0.1", 7070), timeout=5)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if i % 2:  # a good certificate: then requests before HELLO, each refused
        ctx.load_cert_chain(pki + "/proxyA.crt", pki + "/proxyA.key")
    t = ctx.wrap_socket(s, do_handshake_on_connect=False)
    try:
        t.do_handshake()
        t.sendall(b"".join(b"NC\x01\x00\x00\x08\x00\x00\x00\x00\x00\x10" + struct.pack(">I", k + 1)
                           for k in range(2000)))
        time.sleep(0.01)
    except (OSError, ssl.SSLError):
        pass
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # a reset while natd answers
    n += 1
print("reset %d connections" % n)
PY
)
it_log "abrupt clients: $abrupt"
if it_natd_alive && tlsctl after-abrupt proxyA -- caps; then
	it_pass tls_abrupt_clients_survived
else
	it_fail tls_abrupt_clients_survived "natd died or stopped answering after abrupt TLS clients ($abrupt)"
fi

# 4. on the wire: the ClientHello's server name is there (the capture sees
# payload), the label that went inside the session is not
if [[ -n $wire_pid ]]; then
	nt_stop_pid "$wire_pid" tcpdump 3 >/dev/null 2>&1 || true
	if ! grep -aq 'natd.test' "$wire"; then
		it_fail tls_wire_encrypted "the capture does not even show the ClientHello (natd.test)"
	elif grep -aq "$label" "$wire"; then
		it_fail tls_wire_encrypted "the binding's label $label is readable on the wire"
	elif grep -aq 's3cret-for-proxyA\|proxyA.*10.1.0.10' "$wire"; then
		it_fail tls_wire_encrypted "control payload readable on the wire"
	else
		it_pass tls_wire_encrypted
	fi
else
	it_skip tls_wire_encrypted "no tcpdump"
fi

# 5. sipproxy's control client (the async API) over TLS: it connects, and a
# sipproxy with the wrong CA for natd does not
if [[ -x $SIP_PROXY ]]; then
	[[ -n ${NT_SIPPROXY_WRAPPER:-} ]] && SIP_PROXY_READY_TIMEOUT=40 # valgrind starts slowly
	before=$(ctl_stat ctl_tls_handshakes)
	spconf=$IT_OUT/sipproxy-tls.conf
	sip_conf_edge "$spconf"
	sed -i "s|^nats = .*|nats = ( { name = \"edge\"; host = \"10.1.0.1\"; port = 7070; secret_file = \"$secret\"; client_name = \"proxyA\"; tls = true; tls_cert = \"$pki/proxyA.crt\"; tls_key = \"$pki/proxyA.key\"; tls_ca = \"$pki/ca.crt\"; tls_name = \"natd.test\"; } );|" "$spconf"
	if ! "$SIP_PROXY" -n -c "$spconf" >"$IT_OUT/sp-check.out" 2>&1; then
		it_fail sipproxy_tls_config "sipproxy -n refused nats[].tls: $(cat "$IT_OUT/sp-check.out")"
	elif sip_proxy_start proxy edge "$spconf" &&
		nt_poll 20 grep -q 'natd edge: connected' "$IT_OUT/proxy.log"; then
		it_check sipproxy_tls_to_natd "natd counted no TLS handshake for sipproxy" \
			test "$(ctl_stat ctl_tls_handshakes)" -gt "${before:-0}"
	else
		it_fail sipproxy_tls_to_natd "sipproxy did not connect to natd over TLS: $(grep -m3 'natd edge' "$IT_OUT/proxy.log")"
	fi
	[[ -n $(sip_proxy_pid proxy) ]] && nt_stop_pid "$(sip_proxy_pid proxy)" sipproxy 5 >/dev/null 2>&1
	sed -i "s|tls_ca = \"$pki/ca.crt\"|tls_ca = \"$pki/otherca.crt\"|" "$spconf"
	if sip_proxy_start proxy2 edge "$spconf" &&
		nt_poll 20 grep -q 'natd edge: connection failed: natd.s certificate did not verify' "$IT_OUT/proxy2.log"; then
		it_pass sipproxy_tls_wrong_ca_refused
	else
		it_fail sipproxy_tls_wrong_ca_refused "no 'certificate did not verify' from sipproxy: $(grep -m3 'natd edge' "$IT_OUT/proxy2.log")"
	fi
	[[ -n $(sip_proxy_pid proxy2) ]] && nt_stop_pid "$(sip_proxy_pid proxy2)" sipproxy 5 >/dev/null 2>&1
else
	it_skip sipproxy_tls_to_natd "sipproxy is not built ($SIP_PROXY)"
fi

# 6. natd is up, and a reload (new context for new connections) keeps serving
if ! it_natd_alive; then
	it_fail natd_serves_after_reload "natd (pid ${IT_NATD_PID:-?}) is not running"
elif ! kill -HUP "$IT_NATD_PID" || ! nt_poll 20 grep -q "configuration reloaded" "$IT_NATD_LOG"; then
	it_fail natd_serves_after_reload "no 'configuration reloaded' within 20 s of SIGHUP: $(grep -m2 'reload' "$IT_NATD_LOG")"
elif ! tlsctl after-reload proxyA -- stats; then
	it_fail natd_serves_after_reload "natctl over TLS failed after the reload: $(cat "$IT_OUT/after-reload.err")"
else
	it_pass natd_serves_after_reload
fi
it_done
