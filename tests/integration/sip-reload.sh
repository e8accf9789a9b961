#!/bin/bash
# sip-reload: sipproxy's SIGHUP reload, in a private network namespace with
# only loopback (no natd needed: no media rule).
#
#   reload_route_added   OPTIONS to a domain with no route: 404; after a
#                        reload that adds a static route to a responder, the
#                        responder answers through the proxy (200)
#   reload_invalid_kept  a file with an error: the reload is refused, the
#                        error is logged with its line, the route still works
#   reload_listen_kept   a file that moves the listen address: refused
#                        ("needs a restart"), the old address still answers
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
write_conf() { # write_conf LISTEN_PORT ROUTE(0/1) BROKEN(0/1)
	cat >"$CONF" <<-EOF
	user = "root";
	log: { level = "info"; };
	realms = ( { name = "lo"; prefixes = [ "127.0.0.0/8" ]; } );
	listen = ( { address = "127.0.0.1"; port = $1; realm = "lo"; transports = [ "udp" ]; } );
	domains = [ "reload.test" ];
	status_socket = "$IT_OUT/status.sock";
	EOF
	if [[ $2 == 1 ]]; then
		echo 'routes = ( { domain = "far.test"; next_hop = "127.0.0.1:5081"; } );' >>"$CONF"
	fi
	if [[ $3 == 1 ]]; then
		echo 'sip: { t1_ms = "fast"; };' >>"$CONF"
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
       "Max-Forwards: 70\r\nFrom: <sip:t@reload.test>;tag=1\r\nTo: <sip:u@%s>\r\n"
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
if [[ $r0 == *" 404 "* && $r1 == "SIP/2.0 200 OK" ]]; then
	it_pass reload_route_added
else
	it_fail reload_route_added "before the reload: '$r0' (want 404), after: '$r1' (want 200 from the responder)"
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
