#!/bin/bash
# control-tcp: the control channel over TCP, for requesters on other hosts.
# natd listens on 0.0.0.0:7070 but only accepts sources in 10.1.0.0/24; the
# client "proxyA" proves a shared secret (HELLO nonce + AUTH HMAC), then its
# binding carries real packets. A wrong secret, an unknown name and a source
# outside tcp_allow are refused, and natd keeps serving.
. "$(dirname "$0")/lib.sh"

it_require_root_net
it_require_natd
[[ -x $NT_NATCTL ]] || { it_skip control_tcp "natctl is not built ($NT_NATCTL)"; it_done; }

secret=$IT_OUT/proxyA.secret
wrong=$IT_OUT/wrong.secret
(umask 077 && printf 's3cret-for-proxyA\n' >"$secret" && printf 'not-the-secret\n' >"$wrong")
conf=$IT_OUT/natd-tcp.conf
cat "$NT_ROOT/conf/natd-edge-test.conf" - >"$conf" <<EOC

control: {
  tcp_listen = "0.0.0.0:7070";
  insecure_plain_tcp = true;   # plain TCP on purpose (control-tls.sh covers TLS)
  tcp_allow = [ "10.1.0.0/24" ];
  tcp_clients = (
    { name = "proxyA"; secret_file = "$secret"; realms = [ "outside" ];
      prefixes = [ "10.1.0.0/24" ]; quota = 4; }
  );
};
EOC
it_topo_up edge "$conf"

# natctl over TCP from a namespace: tcpctl OUTNAME NS SECRET NAME -- ARGS
tcpctl() {
	local out=$1 ns=$2 sec=$3 name=$4 host=${TCP_HOST:-10.1.0.1:7070} rc
	shift 4
	timeout 20 ip netns exec "$(it_ns "$ns")" "$NT_NATCTL" -t "$host" -k "$sec" -n "$name" "$@" \
		>"$IT_OUT/$out.out" 2>"$IT_OUT/$out.err"
	rc=$?
	sed "s/^/    $out: /" "$IT_OUT/$out.out" "$IT_OUT/$out.err" >&2
	return $rc
}

# 1. authenticated client: caps, then a binding that carries packets
if tcpctl caps phB "$secret" proxyA --json caps; then
	it_pass tcp_auth_ok
else
	it_fail tcp_auth_ok "natctl caps over TCP failed (exit $?): $(cat "$IT_OUT/caps.err")"
fi
if tcpctl bind phB "$secret" proxyA --json bind --dir term --in-realm inside --ext-realm outside \
	--endpoint 10.1.0.10:6200; then
	alloc=$(json_get "$IT_OUT/bind.out" alloc)
	owner_ok=0
	tcpctl list phB "$secret" proxyA --json list && grep -q '"tcp:proxyA"' "$IT_OUT/list.out" && owner_ok=1
	it_check tcp_binding_owner "list does not show owner tcp:proxyA" test "$owner_ok" = 1
	it_check_term_binding tcp_binding_carries_packets "$alloc"
else
	it_fail tcp_binding_carries_packets "bind over TCP failed: $(cat "$IT_OUT/bind.err")"
fi

# 2. the policy of the TCP client holds: quota = 4 bindings (one held)
for p in 6202 6204 6206; do
	tcpctl q$p phB "$secret" proxyA bind --in-realm inside --ext-realm outside --endpoint 10.1.0.10:$p
done
if tcpctl bind-bad phB "$secret" proxyA bind --in-realm inside --ext-realm outside \
	--endpoint 10.1.0.10:6208; then
	it_fail tcp_policy_enforced "a fifth binding was granted over a quota of 4"
else
	it_check tcp_policy_enforced "no QUOTA_EXCEEDED in natctl's answer" \
		grep -q 'QUOTA_EXCEEDED' "$IT_OUT/bind-bad.err" "$IT_OUT/bind-bad.out"
fi

# 3. a wrong secret, and an unknown client name, are refused
if tcpctl wrong phB "$wrong" proxyA caps; then
	it_fail tcp_wrong_secret_refused "natctl with the wrong secret succeeded"
else
	it_pass tcp_wrong_secret_refused
fi
if tcpctl unknown phB "$secret" nobody-knows-me caps; then
	it_fail tcp_unknown_client_refused "an unknown client name was accepted"
else
	it_pass tcp_unknown_client_refused
fi
it_check tcp_auth_failure_logged "natd did not log the failed authentication" \
	grep -q 'failed to authenticate' "$IT_NATD_LOG"
it_check tcp_plain_warned "natd did not warn that it listens in plain TCP" \
	grep -q 'warning: control over plain TCP on 0.0.0.0:7070' "$IT_NATD_LOG"

# 4. a source outside tcp_allow (phA, on the outside) is refused at accept
if TCP_HOST=203.0.113.1:7070 tcpctl outside phA "$secret" proxyA caps; then
	it_fail tcp_source_prefix_refused "phA (203.0.113.10) got in although tcp_allow is 10.1.0.0/24"
else
	it_check tcp_source_prefix_refused "natd did not log the refused source" \
		grep -q 'refused (control.tcp_allow)' "$IT_NATD_LOG"
fi

# 5. natd is still up and still serves the authenticated client
if it_natd_alive && tcpctl after phB "$secret" proxyA stats; then
	it_pass natd_serves_after_refusals
else
	it_fail natd_serves_after_refusals "natd down or not answering after the refusals"
fi
it_done
