#!/bin/bash
# sip-reload: sipproxy's SIGHUP reload, in a private network namespace with
# only loopback (no natd needed: no media rule).
#
#   reload_route_added   OPTIONS to a domain with no route: 403 (the relay
#                        policy: the client is no user of ours, and no route
#                        admits it); after a reload that adds a static route
#                        to a responder whose allow_from admits the loopback
#                        realm, the responder answers through the proxy (200)
#   reload_invalid_kept  a file with an error: the reload is refused, the
#                        error is logged with its line, the route still works
#   reload_listen_kept   a file that moves the listen address: refused
#                        ("needs a restart"), the old address still answers
#   rate_limit_per_source  with sip.rate_limit = 20 (set by a reload), 200
#                        OPTIONS at once from one source get about 20 answers
#                        and 503 + Retry-After for the rest, while another
#                        source is served in full
#   status_command       `sipproxy -S` prints the status view from status_socket
#   reload_alive         sipproxy still runs, pid unchanged
. "$(dirname "$0")/lib.sh"

it_require_root_net
NT_SIPPROXY=${NT_SIPPROXY:-$NT_ROOT/sipproxy/sipproxy}
[[ -x $NT_SIPPROXY ]] || { it_fail sipproxy_built "$NT_SIPPROXY missing: run ./quickstart build"; it_done; }
NS="${IT_PREFIX}rl"
SP_PID=
RSP_PID=

rl_cleanup() {
	trap - EXIT INT TERM
	[[ -n $SP_PID ]] && nt_stop_pid "$SP_PID" sipproxy 5 >/dev/null 2>&1
	[[ -n $RSP_PID ]] && nt_stop_pid "$RSP_PID" python3 3 >/dev/null 2>&1
	ip netns del "$NS" 2>/dev/null
	it_done
}
trap rl_cleanup EXIT
trap it_on_signal INT TERM
ip netns add "$NS" || { it_fail reload_namespace "cannot create $NS"; exit 1; }
ip -n "$NS" link set lo up

CONF=$IT_OUT/sipproxy.conf
write_conf() { # write_conf LISTEN_PORT ROUTE(0/1) BROKEN(0/1) [RATE]
	cat >"$CONF" <<-EOF
	user = "root";
	log: { level = "info"; };
	realms = ( { name = "lo"; prefixes = [ "127.0.0.0/8" ]; } );
	listen = ( { address = "127.0.0.1"; port = $1; realm = "lo"; transports = [ "udp" ]; } );
	domains = [ "reload.test" ];
	status_socket = "$IT_OUT/status.sock";
	EOF
	if [[ $2 == 1 ]]; then
		echo 'routes = ( { domain = "far.test"; next_hop = "127.0.0.1:5081"; allow_from = [ "lo" ]; } );' >>"$CONF"
	fi
	if [[ $3 == 1 ]]; then
		echo 'sip: { t1_ms = "fast"; };' >>"$CONF"
	elif [[ -n ${4:-} ]]; then
		echo "sip: { rate_limit = $4; };" >>"$CONF"
	fi
}

# A UDP SIP client (sends one OPTIONS, prints the status line) and a
# responder (answers 200 to anything), both bounded.
cat >"$IT_OUT/sipc.py" <<'EOF'
import socket, sys, random
dom, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); s.settimeout(2.0)
me = s.getsockname()[1]
b = "z9hG4bK%08x" % random.getrandbits(32)
msg = ("OPTIONS sip:u@%s SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n"
       "Max-Forwards: 70\r\nFrom: <sip:t@client.test>;tag=1\r\nTo: <sip:u@%s>\r\n"
       "Call-ID: %s@rl\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (dom, me, b, dom, b)
s.sendto(msg.encode(), ("127.0.0.1", port))
try:
    while True:
        d = s.recv(65535).decode(errors="replace").split("\r\n")[0]
        if " 100 " not in d:
            print(d); break
except socket.timeout:
    print("timeout")
EOF
# A flood from one source: N OPTIONS at once, then the answers counted.
cat >"$IT_OUT/sipflood.py" <<'EOF'
import socket, sys, time, random
src, dom, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
s.bind((src, 0)); me = s.getsockname()[1]
for i in range(n):
    b = "z9hG4bK%08x" % random.getrandbits(32)
    m = ("OPTIONS sip:u@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=%s\r\nMax-Forwards: 70\r\n"
         "From: <sip:f@client.test>;tag=%d\r\nTo: <sip:u@%s>\r\nCall-ID: %s@fl\r\n"
         "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n") % (dom, src, me, b, i, dom, b)
    s.sendto(m.encode(), ("127.0.0.1", port))
ok = busy = retry = 0
s.settimeout(0.2); end = time.time() + 1.5
while time.time() < end:
    try:
        d = s.recv(65535).decode(errors="replace")
    except socket.timeout:
        continue
    first = d.split("\r\n")[0]
    if " 200 " in first:
        ok += 1
    elif " 503 " in first:
        busy += 1
        retry += "\r\nRetry-After: 1" in d
print("ok=%d busy=%d retry_after=%d" % (ok, busy, retry))
EOF
cat >"$IT_OUT/sipr.py" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 5081)); s.settimeout(1.0)
open(sys.argv[1], "w").write("ready\n")
end = time.time() + 60
while time.time() < end:
    try:
        d, a = s.recvfrom(65535)
    except socket.timeout:
        continue
    lines = d.decode(errors="replace").split("\r\n")
    keep = [l for l in lines[1:] if l.split(":")[0].lower() in ("via", "from", "to", "call-id", "cseq")]
    r = "SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n"
    s.sendto(r.encode(), a)
EOF
ip netns exec "$NS" "$NT_PY" "$IT_OUT/sipr.py" "$IT_OUT/responder.ready" </dev/null >"$IT_OUT/responder.log" 2>&1 &
RSP_PID=$!
nt_poll 5 test -s "$IT_OUT/responder.ready" || it_fail reload_responder "responder did not start"

write_conf 5070 0 0
ip netns exec "$NS" "$NT_SIPPROXY" -c "$CONF" -f -p "$IT_OUT/sipproxy.pid" </dev/null \
	>"$IT_OUT/sipproxy.log" 2>&1 &
SP_PID=$!
if ! nt_poll 10 test -s "$IT_OUT/sipproxy.pid"; then
	it_fail reload_started "sipproxy did not start: $(tail -3 "$IT_OUT/sipproxy.log")"
	exit 1
fi
ask() { ip netns exec "$NS" timeout 5 "$NT_PY" "$IT_OUT/sipc.py" "$1" "$2" 2>&1; }
hup() { # hup PATTERN: SIGHUP, wait (bounded) for a new log line matching PATTERN
	local before
	before=$(grep -c -- "$1" "$IT_OUT/sipproxy.log")
	kill -HUP "$SP_PID"
	nt_poll 5 bash -c '(( $(grep -c -- "$1" "$2") > $3 ))' _ "$1" "$IT_OUT/sipproxy.log" "$before"
}

r0=$(ask far.test 5070)
write_conf 5070 1 0
hup 'configuration reloaded'
r1=$(ask far.test 5070)
if [[ $r0 == *" 403 "* && $r1 == "SIP/2.0 200 OK" ]]; then
	it_pass reload_route_added
else
	it_fail reload_route_added "before the reload: '$r0' (want 403), after: '$r1' (want 200 from the responder)"
fi

write_conf 5070 1 1
hup 'has errors'
r2=$(ask far.test 5070)
if grep -q 'reload: .*sip.t1_ms' "$IT_OUT/sipproxy.log" && [[ $r2 == "SIP/2.0 200 OK" ]]; then
	it_pass reload_invalid_kept
else
	it_fail reload_invalid_kept "log: $(grep 'reload' "$IT_OUT/sipproxy.log" | tail -2 | tr '\n' ' '); route answers '$r2'"
fi

write_conf 5071 1 0
hup 'reload refused'
r3=$(ask far.test 5070)
if grep -q "reload refused: 'listen' changed" "$IT_OUT/sipproxy.log" && [[ $r3 == "SIP/2.0 200 OK" ]]; then
	it_pass reload_listen_kept
else
	it_fail reload_listen_kept "log: $(grep 'reload' "$IT_OUT/sipproxy.log" | tail -1); old address answers '$r3'"
fi

# sip.rate_limit: one source floods, another is still served
write_conf 5070 1 0 20
hup 'configuration reloaded'
flood=$(ip netns exec "$NS" timeout 10 "$NT_PY" "$IT_OUT/sipflood.py" 127.0.0.2 far.test 5070 200 2>&1)
other=$(ip netns exec "$NS" timeout 10 "$NT_PY" "$IT_OUT/sipflood.py" 127.0.0.3 far.test 5070 5 2>&1)
it_info "flood from 127.0.0.2: $flood; another source: $other"
fok=$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' <<<"$flood")
fbusy=$(sed -n 's/.*busy=\([0-9]*\).*/\1/p' <<<"$flood")
fretry=$(sed -n 's/.*retry_after=\([0-9]*\).*/\1/p' <<<"$flood")
ook=$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' <<<"$other")
if [[ -n $fok && $fok -le 25 && ${fbusy:-0} -ge 100 && $fretry == "$fbusy" && $ook == 5 ]]; then
	it_pass rate_limit_per_source
else
	it_fail rate_limit_per_source "flood: '$flood' (want ok<=25, busy>=100, all with Retry-After); other source: '$other' (want ok=5)"
fi

# the status view from the command line (sipproxy -S): counters after the
# OPTIONS above, the registrar line
"$NT_SIPPROXY" -S -c "$CONF" >"$IT_OUT/status.out" 2>&1
if grep -q '^stats requests=[1-9]' "$IT_OUT/status.out" && grep -q '^registrar aors=0' "$IT_OUT/status.out"; then
	it_pass status_command
else
	it_fail status_command "sipproxy -S printed: $(head -c 300 "$IT_OUT/status.out")"
fi

if kill -0 "$SP_PID" 2>/dev/null && [[ $(cat "$IT_OUT/sipproxy.pid") == "$SP_PID" ]]; then
	it_pass reload_alive
else
	it_fail reload_alive "sipproxy is gone: $(tail -3 "$IT_OUT/sipproxy.log")"
fi
