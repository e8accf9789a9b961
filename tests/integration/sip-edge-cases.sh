#!/bin/bash
# sip-edge-cases: sipproxy's edge cases on the "edge" topology (see
# sip-scenario1.sh for the layout; the main proxy is at 203.0.113.1 |
# 10.1.0.1 port 5060, the variants below on other ports of the same
# addresses).
#
#   e1 natd unreachable, media.on_natd_failure = "reject": a proxy whose nat
#      socket does not exist (5071), one whose "natd" accepts the connection
#      and never answers (5073), one whose natd answers HELLO but never a
#      BIND (5075, a relay that swallows BINDs): an INVITE from phB (its SDP
#      needs a binding) gets 503 within timeout_ms + 1.5 s, the proxy lives
#      on; with "pass" (5072): the call completes and phA gets phB's SDP
#      byte for byte
#   e2 malformed datagrams to the main proxy's UDP port: Content-Length
#      larger than the body and not a number (400, RFC 3261 §18.3), no
#      Call-ID (400 or silence: a response cannot name the call), Max-
#      Forwards: 0 (483), an unknown URI scheme (416), random bytes
#      (silence), datagrams over sip.max_message (8192 here) and at the UDP
#      maximum (silence or 513); the proxy lives on and a call works after
#   e3 forking: phB and phC register the same AoR; phA's INVITE reaches
#      both; phC sends a 183 with SDP (bound), phB answers 200 a second
#      later; phC gets CANCEL and answers 487; phC's binding is released
#      when the 200 passes (natctl list during the call), media flows with
#      phB, nothing is left after BYE
#   e4 re-INVITE from phB moving its media to another port: the old
#      binding goes, a new one comes (natctl list between the steps), phA's
#      re-INVITE SDP names the new M, media flows on the new ports
#   e5 a new offer in UPDATE: phB's UPDATE SDP (phB calls phA) and phB's
#      200-to-UPDATE SDP (phA calls phB) are rewritten to new bindings
#   e6 remote filter with media.remote_filter = true (proxy on port 5074), phA
#      calling phB (e6a) and phB calling phA (e6b): phB's binding carries a
#      filter naming only phA's SDP address; 20 packets to M from phA's
#      second address 203.0.113.11 are dropped (natd counts
#      dropped_filtered, none reaches phB's eth0), phA's media passes
#   e7 ICE with media.ice = "strip": phB offers a=candidate / a=ice-* lines;
#      the INVITE phA receives has none of them and no inside address
#   e8 a 200 OK that cannot be rewritten (proxy-blackhole): phA gets 500,
#      phB's retransmissions of the 200 are absorbed (absorbed_2xx) and the
#      proxy is left holding no call
# No phone is a trusted peer (issue 11): phB's calls out (From
# phoneb@edge.test, SIPp or sipsend.py --auth) answer the proxy's 407, and
# phA's calls in go to an AoR phB registered (with its password) at that
# proxy on the port its UAS listens on (alice, bob, phonec, service).
# Logs: $IT_OUT (see tests/sipp/README.md for the SIPp files; e*-NAME.out
# are the hand-made datagrams' results, PROXY.log each proxy's log).
: "${SIP_CALL_MS:=1500}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

it_require_root_net
it_require_natd
sip_require

POOL=198.51.100.0/28
PHA=203.0.113.10
PHA2=203.0.113.11
PHB=10.1.0.10
PHC=10.1.0.11
NAT_TIMEOUT_MS=500

sip_topo_up edge
sip_watch_start natd

# ------------------------------------------------------------ helpers

# The hand-made SIP sender (python3, stdlib only).
SIPSEND=$IT_OUT/sipsend.py
cat >"$SIPSEND" <<'PY'
#!/usr/bin/python3
"""sipsend: one hand-made SIP datagram to a proxy; report what comes back.
    sipsend.py --bind IP:PORT --to IP:PORT --kind KIND [--wait S] [--ruri URI]
               [--sdp-ip IP] [--sdp-port N] [--size N]
KIND: invite (well-formed INVITE with SDP), clen-large, clen-bad, no-callid,
maxfwd0, scheme, garbage, oversize (--size bytes).
--auth USER:PASSWORD@DOMAIN: the INVITE is from sip:USER@DOMAIN and answers
a 407 (MD5, qop=auth, RFC 2617/3261 22): the 407 is ACKed and the INVITE
sent again (CSeq 2, new branch, Proxy-Authorization); "auth resent" is
printed and the times (ms=) count from the second INVITE.
Prints: "sent=N kind=K callid=C", one "rx status=NNN ms=T from=.. reason=.."
per response, then "final=NNN|none first=NNN|none elapsed_ms=T responses=N".
Waits for a final response (a non-2xx one to an INVITE is ACKed) or --wait s.
"""
import argparse, hashlib, random, re, socket, time

def hostport(s):
    h, _, p = s.rpartition(":")
    return (h, int(p))

def build(a):
    lip, lport = a.bind
    if a.kind == "garbage":
        rnd = random.Random(7)
        return bytes(rnd.getrandbits(8) for _ in range(a.size or 300)), "-"
    tag = "%08x" % random.getrandbits(32)
    branch = "z9hG4bK-edge-%08x" % random.getrandbits(32)
    cid = "edge-%s-%08x@%s" % (a.kind, random.getrandbits(32), lip)
    sdp = ("v=0\r\no=edge 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
           "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n") % (
               a.sdp_ip, a.sdp_ip, a.sdp_port)
    hdr = ["INVITE %s SIP/2.0" % a.ruri,
           "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (lip, lport, branch),
           "From: <sip:%s>;tag=%s" % (a.from_aor or "edgetest@" + lip, tag),
           "To: <%s>" % (a.ruri if a.ruri.startswith("sip:") else "sip:nobody@example.invalid"),
           "Call-ID: %s" % cid,
           "CSeq: 1 INVITE",
           "Contact: <sip:edgetest@%s:%d>" % (lip, lport),
           "Max-Forwards: 70",
           "Content-Type: application/sdp"]
    body, clen = sdp, str(len(sdp))
    if a.kind == "clen-large":
        clen = str(len(body) + 300)
    elif a.kind == "clen-bad":
        clen = "abc"
    elif a.kind == "no-callid":
        hdr = [h for h in hdr if not h.startswith("Call-ID")]
    elif a.kind == "maxfwd0":
        hdr[7] = "Max-Forwards: 0"
    elif a.kind == "oversize":
        hdr.append("X-Padding: ")
    elif a.kind not in ("invite", "scheme"):
        raise SystemExit("unknown kind " + a.kind)
    data = ("\r\n".join(hdr) + "\r\nContent-Length: " + clen + "\r\n\r\n" + body).encode()
    if a.kind == "oversize" and len(data) < a.size:
        data = data.replace(b"X-Padding: ", b"X-Padding: " + b"x" * (a.size - len(data)), 1)
    return data, cid

def ack_for(s, a, req, resp):
    """ACK a non-2xx final to our INVITE (RFC 3261 17.1.1.3)."""
    rq = req.decode(errors="replace").split("\r\n")
    rs = resp.decode(errors="replace").split("\r\n")
    def hget(lines, name):
        return next((l for l in lines if l.lower().startswith(name.lower() + ":")), None)
    start = rq[0].split(" ")
    to, cid = hget(rs, "To"), hget(rq, "Call-ID")
    if start[0] != "INVITE" or not to or not cid:
        return
    hdr = ["ACK %s SIP/2.0" % start[1], hget(rq, "Via"), hget(rq, "From"), to, cid,
           "CSeq: %s ACK" % (hget(rq, "CSeq") or "CSeq: 1").split()[1], "Max-Forwards: 70", "Content-Length: 0"]
    try:
        s.sendto(("\r\n".join(hdr) + "\r\n\r\n").encode(), a.to)
    except OSError:
        pass

def md5(s):
    return hashlib.md5(s.encode()).hexdigest()

def authorized(req, resp, user, pw):
    """REQ sent again with CSeq 2, a new branch and a Proxy-Authorization
    answering the MD5 challenge of RESP (None if there is none)."""
    rs = resp.decode(errors="replace").split("\r\n")
    ch = [l.split(":", 1)[1] for l in rs if l.lower().startswith("proxy-authenticate:")]
    ch = [c for c in ch if re.search(r"algorithm=\"?MD5\"?(,|$|\s)", c, re.I) or "algorithm" not in c.lower()]
    if not ch:
        return None
    p = dict((k.lower(), v1 or v2) for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', ch[0]))
    head, _, body = req.decode().partition("\r\n\r\n")
    lines = head.split("\r\n")
    uri = lines[0].split(" ")[1]
    cnonce, nc = "%08x" % random.getrandbits(32), "00000001"
    ha1, ha2 = md5("%s:%s:%s" % (user, p["realm"], pw)), md5("INVITE:" + uri)
    if "auth" in p.get("qop", "").split(","):
        rsp = md5("%s:%s:%s:%s:auth:%s" % (ha1, p["nonce"], nc, cnonce, ha2))
        extra = ', qop=auth, nc=%s, cnonce="%s"' % (nc, cnonce)
    else:
        rsp, extra = md5("%s:%s:%s" % (ha1, p["nonce"], ha2)), ""
    auth = ('Proxy-Authorization: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
            'response="%s", algorithm=MD5%s%s') % (user, p["realm"], p["nonce"], uri, rsp,
            extra, ', opaque="%s"' % p["opaque"] if "opaque" in p else "")
    out = []
    for l in lines:
        if l.startswith("Via:"):
            l = re.sub(r"branch=[^;]*", "branch=z9hG4bK-edge-%08x" % random.getrandbits(32), l)
        elif l.startswith("CSeq:"):
            l = "CSeq: 2 INVITE"
        out.append(l)
        if l.startswith("CSeq:"):
            out.append(auth)
    return ("\r\n".join(out) + "\r\n\r\n" + body).encode()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", type=hostport, required=True)
    ap.add_argument("--to", type=hostport, required=True)
    ap.add_argument("--kind", required=True)
    ap.add_argument("--wait", type=float, default=2.0)
    ap.add_argument("--ruri", default="sip:nobody@203.0.113.10:5099")
    ap.add_argument("--sdp-ip", default="10.1.0.10")
    ap.add_argument("--sdp-port", type=int, default=24000)
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--auth", default="")
    a = ap.parse_args()
    a.from_aor = a.auth.split(":", 1)[0] + "@" + a.auth.rsplit("@", 1)[1] if a.auth else ""
    data, cid = build(a)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(a.bind)
    t0 = time.monotonic()
    try:
        s.sendto(data, a.to)
    except OSError as e:
        print("send_error=%s" % e.strerror.replace(" ", "_"))
    print("sent=%d kind=%s callid=%s" % (len(data), a.kind, cid), flush=True)
    first = final = None
    n = 0
    deadline = t0 + a.wait
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            buf, peer = s.recvfrom(65535)
        except socket.timeout:
            break
        except OSError as e:
            print("recv_error=%s" % e.strerror.replace(" ", "_"))
            break
        n += 1
        ms = int((time.monotonic() - t0) * 1000)
        line = buf.split(b"\r\n", 1)[0].decode(errors="replace")
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[0] == "SIP/2.0" and parts[1].isdigit():
            st = int(parts[1])
            print("rx status=%d ms=%d from=%s:%d reason=%s" % (
                st, ms, peer[0], peer[1], (parts[2] if len(parts) > 2 else "").replace(" ", "_")))
            first = first or st
            if st == 407 and a.auth and b"CSeq: 1 " in buf:
                ack_for(s, a, data, buf)
                again = authorized(data, buf, a.auth.split(":", 1)[0],
                                   a.auth.split(":", 1)[1].rsplit("@", 1)[0])
                if again:
                    data, t0 = again, time.monotonic()
                    deadline = t0 + a.wait
                    s.sendto(data, a.to)
                    print("auth resent", flush=True)
                    continue
            if st >= 200:
                final = st
                if st >= 300:
                    ack_for(s, a, data, buf)
                break
        else:
            print("rx nonresponse ms=%d line=%s" % (ms, line[:60].replace(" ", "_")))
    print("final=%s first=%s elapsed_ms=%d responses=%d" % (
        final or "none", first or "none", int((time.monotonic() - t0) * 1000), n))

main()
PY

# sipsend NS NAME ARGS...: run sipsend.py in NS (bounded), output NAME.out.
sipsend() {
	local ns=$1 name=$2
	shift 2
	it_log "[$ns] sipsend $*"
	timeout 20 ip netns exec "$IT_PREFIX$ns" "$NT_PY" "$SIPSEND" "$@" >"$IT_OUT/$name.out" 2>&1
	sed "s/^/    $name: /" "$IT_OUT/$name.out" >&2
}

# edge_conf OUT PORT SOCKET POLICY [REMOTE_FILTER]: sip_conf_edge with the
# listen entries on PORT, the nat's socket SOCKET, on_natd_failure POLICY.
edge_conf() {
	local out=$1 port=$2 sock=$3 policy=$4 filt=${5:-false}
	sip_conf_edge "$out"
	sed -i -e "s|realm = \"inside\"; }|realm = \"inside\"; port = $port; }|" \
		-e "s|realm = \"outside\"; }|realm = \"outside\"; port = $port; }|" \
		-e "s|socket = \"[^\"]*\"|socket = \"$sock\"|" \
		-e "s|timeout_ms = [0-9]*|timeout_ms = $NAT_TIMEOUT_MS|" \
		-e "s|on_natd_failure = \"[a-z]*\"|on_natd_failure = \"$policy\"|" \
		-e "s|remote_filter = [a-z]*|remote_filter = $filt|" "$out"
}

# uas_or_fail NAME ARGS...: start a UAS or report why not.
uas_or_fail() {
	local name=$1
	if sip_uas "$@"; then return 0; fi
	it_fail "${name}_uas_ready" "SIPp UAS did not start: $(tail -n 3 "$IT_OUT/$name.stdout" | tr '\n' ' ')"
	return 1
}

# call_bindings CALLID [OUT]: natd's bindings of the call, one line each:
# "ENDPOINT ALLOC filters=F1,F2" (JSON lines of natctl list in OUT.json).
call_bindings() {
	local cid=$1 out=${2:-$IT_OUT/call-bindings}
	timeout 10 "$NT_NATCTL" -s "$(it_ctl_socket)" --json list >"$out.json" 2>"$out.err" || return 3
	"$NT_PY" - "$out.json" "call:$cid" <<'PY'
import json, sys
want = sys.argv[2]
for line in open(sys.argv[1]):
    try:
        b = json.loads(line)
    except ValueError:
        continue
    if b.get("label") in (want, want.split("@")[0]):
        print("%s %s filters=%s" % (b.get("endpoint"), b.get("alloc"), ",".join(b.get("filters", []))))
PY
}
# binding_of CALLID ENDPOINT: the ALLOC of the call's binding for ENDPOINT.
binding_of() { call_bindings "$1" | awk -v e="$2" '$1 == e {print $2; exit}'; }
# has_binding_only CALLID PRESENT ABSENT: a binding for PRESENT and none for
# ABSENT (an endpoint, or an address prefix like "10.1.0.11:").
has_binding_only() {
	local l
	l=$(call_bindings "$1") || return 1
	grep -q "^$2 " <<<"$l" && ! grep -q "^$3" <<<"$l"
}

# watch_binding CALLID ENDPOINT EVENT: the alloc of a binding of the call
# for ENDPOINT that had EVENT (created, released) in the watch log.
watch_binding() {
	"$NT_PY" - "$IT_OUT/watch-natd.out" "call:$1" "$2" "$3" <<'PY'
import json, sys
want, ep, ev = sys.argv[2], sys.argv[3], sys.argv[4]
for line in open(sys.argv[1], errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("label") in (want, want.split("@")[0]) and e.get("endpoint") == ep and \
            (e.get("event") == ev or (ev == "ended" and e.get("event") in ("released", "expired"))):
        print(e.get("alloc"))
        break
PY
}

# sdp_body NAME DIR START: the first SDP body SIPp NAME sent (->) or
# received (<-) in a message whose start line begins with START.
sdp_body() {
	"$NT_PY" - "$SIP_TRACE" "$IT_OUT/$1.msg.log" "$2" "$3" <<'PY'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("siptrace", sys.argv[1])
st = importlib.util.module_from_spec(spec)
sys.argv, args = [sys.argv[0]], sys.argv[2:]
spec.loader.exec_module(st)
for t, d, tr, lines in st.messages(args[0]):
    start, hdrs, body = st.split(lines)
    if d == args[1] and start.startswith(args[2]) and body:
        print("\n".join(body))
        break
PY
}

# probe_check CHECK RTPFILE WANT: an RTP probe result: sent all, received
# at least SIP_RTP_MIN, only from WANT (address:port).
probe_check() {
	local check=$1 f=$2 want=$3 sent rcvd src
	if ! nt_poll 8 grep -q '^done=' "$f" 2>/dev/null; then
		it_fail "$check" "no RTP probe result $f"
		return 1
	fi
	sent=$(kv "$f" sent); rcvd=$(kv "$f" received); src=$(kv "$f" sources)
	if [[ $sent == "$SIP_RTP_COUNT" ]] && ((${rcvd:-0} >= SIP_RTP_MIN)) && [[ $src == "$want" ]]; then
		it_pass "$check"
		it_info "$check: sent $sent, received $rcvd RTP packets from $src"
	else
		it_fail "$check" "$(basename "$f"): sent=$sent received=$rcvd (min $SIP_RTP_MIN) sources='$src', expected only from $want"
	fi
}
probe_cmd() { echo "$NT_PY $SIP_PROBE --bind $1 --count $SIP_RTP_COUNT --timeout 10 --label $2 --out $IT_OUT/$2.rtp --pidfile $IT_OUT/$2.rtp.pid"; }

# expect_status CHECK NAME WANT...: NAME.out's final status is one of WANT
# ("none": no answer at all).
expect_status() {
	local check=$1 name=$2 got
	shift 2
	got=$(kv "$IT_OUT/$name.out" final)
	local w
	for w in "$@"; do
		if [[ $got == "$w" ]]; then
			it_pass "$check"
			it_info "$check: final=$got ($(grep -m1 '^rx status=[2-6]' "$IT_OUT/$name.out" | cut -d' ' -f2-))"
			return 0
		fi
	done
	it_fail "$check" "expected $(IFS='|'; echo "$*"), got final=$got: $(grep '^rx' "$IT_OUT/$name.out" | tr '\n' ' ')"
}

# proxy_excerpt_for NAME TEXT: up to 3 non-debug lines of the proxy log with TEXT.
proxy_excerpt_for() { grep -F -- "$2" "$IT_OUT/$1.log" 2>/dev/null | grep -v ' debug: ' | head -n 3 | tr '\n' ' ' | cut -c1-300; }

# ------------------------------------------------------------ the proxies

SIP_CONF_EXTRA='sip: { max_message = 8192; };' sip_conf_edge "$IT_OUT/proxy.conf"
sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || exit 1

NOSOCK=$IT_OUT/no-such-natd.ctl
SILENT=$IT_OUT/silent-natd.ctl
BLACKHOLE=$IT_OUT/blackhole-natd.ctl
rm -f "$NOSOCK" "$SILENT" "$BLACKHOLE"
# A "natd" that accepts control connections and never says a word.
timeout 120 "$NT_PY" - "$SILENT" <<'PY' >"$IT_OUT/silent-natd.out" 2>&1 &
import os, select, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(16)
conns = [s]
while True:
    r, _, _ = select.select(conns, [], [], 1.0)
    for c in r:
        if c is s:
            conns.append(s.accept()[0]); print("accepted", flush=True)
        elif not c.recv(65536):
            conns.remove(c); c.close()
PY
IT_PIDS+=("$!")
nt_poll 5 test -S "$SILENT"
# A relay to the real natd that swallows BIND requests (libcontrol's framing:
# a 16-byte header, type at offset 4, length at offset 8): HELLO and the
# rest are answered, a BIND never is, so the proxy's timeout_ms must fire.
timeout 120 "$NT_PY" - "$BLACKHOLE" "$(it_ctl_socket)" <<'PY' >"$IT_OUT/blackhole-natd.out" 2>&1 &
import select, socket, struct, sys
ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ls.bind(sys.argv[1]); ls.listen(16)
peer, buf = {}, {}
while True:
    r, _, _ = select.select([ls] + list(peer), [], [], 1.0)
    for c in r:
        if c is ls:
            a = ls.accept()[0]
            up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            up.connect(sys.argv[2])
            peer[a], peer[up], buf[a] = up, a, b""
            print("accepted", flush=True)
            continue
        d = c.recv(65536)
        if not d:
            o = peer.pop(c); peer.pop(o, None); buf.pop(c, None); buf.pop(o, None)
            c.close(); o.close()
            continue
        if c not in buf:          # from natd: pass through
            peer[c].sendall(d)
            continue
        buf[c] += d               # from the client: cut messages, drop BINDs
        while len(buf[c]) >= 16:
            mtype, = struct.unpack("!H", buf[c][4:6])
            mlen, = struct.unpack("!I", buf[c][8:12])
            if mlen < 16 or len(buf[c]) < mlen:
                break
            msg, buf[c] = buf[c][:mlen], buf[c][mlen:]
            if mtype == 0x0004:
                print("swallowed BIND", flush=True)
            else:
                peer[c].sendall(msg)
PY
IT_PIDS+=("$!")
nt_poll 5 test -S "$BLACKHOLE"

edge_conf "$IT_OUT/proxy-nonatd.conf" 5071 "$NOSOCK" reject
edge_conf "$IT_OUT/proxy-pass.conf" 5072 "$NOSOCK" pass
edge_conf "$IT_OUT/proxy-silent.conf" 5073 "$SILENT" reject
edge_conf "$IT_OUT/proxy-filter.conf" 5074 "$(it_ctl_socket)" reject true
edge_conf "$IT_OUT/proxy-blackhole.conf" 5075 "$BLACKHOLE" reject
echo "status_socket = \"$IT_OUT/proxy-blackhole.status\";" >>"$IT_OUT/proxy-blackhole.conf" # e8
for v in nonatd pass silent filter blackhole; do
	sip_proxy_start "proxy-$v" edge "$IT_OUT/proxy-$v.conf"
done

# ------------------------------------------------ e1: natd unreachable
limit=$((NAT_TIMEOUT_MS + 1500))
declare -A E1_PORT=([nonatd]=5071 [silent]=5073 [blackhole]=5075)
declare -A E1_WHAT=([nonatd]="the nat socket does not exist" [silent]="natd accepts the connection, never answers HELLO"
	[blackhole]="natd answers HELLO, never a BIND")
for v in nonatd silent blackhole; do
	port=${E1_PORT[$v]}
	sipsend phB "e1-$v-invite" --bind $PHB:5090 --to 10.1.0.1:$port --kind invite \
		--ruri "sip:nobody@$PHA:5099" --sdp-ip $PHB --sdp-port 24000 --wait 5 \
		--auth "phoneb:$SIP_PASSWORD@edge.test"
	got=$(kv "$IT_OUT/e1-$v-invite.out" final)
	ms=$(grep -m1 "^rx status=$got " "$IT_OUT/e1-$v-invite.out" | grep -o 'ms=[0-9]*' | cut -d= -f2)
	reason=$(grep -m1 "^rx status=$got " "$IT_OUT/e1-$v-invite.out" | sed 's/.*reason=//')
	if [[ $got == 503 ]] && ((${ms:-99999} <= limit)); then
		it_pass "e1_${v}_reject_503"
		it_info "e1_${v}_reject_503: 503 after ${ms} ms"
	else
		it_fail "e1_${v}_reject_503" "INVITE with SDP $PHB:24000 via proxy-$v (${E1_WHAT[$v]}, timeout_ms=$NAT_TIMEOUT_MS, on_natd_failure=reject): expected 503 within ${limit} ms, got final=$got after ${ms:-?} ms reason '$reason'; proxy log: $(proxy_excerpt_for "proxy-$v" edge-invite)"
	fi
	sip_assert_proxy_alive "e1_${v}_proxy_alive" "proxy-$v"
	# phB is no trusted peer: its INVITE was challenged and answered the 407
	it_check "e1_${v}_invite_authenticated" "no 'auth resent' in e1-$v-invite.out: $(grep '^rx' "$IT_OUT/e1-$v-invite.out" | tr '\n' ' ')" \
		grep -q '^auth resent' "$IT_OUT/e1-$v-invite.out"
done

if uas_or_fail e1-pass-phA phA $PHA uas.xml; then
	sip_uac e1-pass-phB phB $PHB uac.xml --auth phoneb --proxy 10.1.0.1:5072 --ruri $PHA:5060 --duration 200
	sip_wait e1-pass-phB 20; sip_wait e1-pass-phA 10
	sip_assert_call e1_pass_call_completed e1-pass-phB e1-pass-phA
	sip_assert_event e1_pass_invite_challenged e1-pass-phB challenged 407
	sent=$(sdp_body e1-pass-phB '->' INVITE) got=$(sdp_body e1-pass-phA '<-' INVITE)
	if [[ -n $sent && $sent == "$got" ]]; then
		it_pass e1_pass_sdp_unchanged
	else
		it_fail e1_pass_sdp_unchanged "phA got c=$(sip_sdp e1-pass-phA INVITE c) m=$(sip_sdp e1-pass-phA INVITE m), the SDP phB sent: $(grep -E '^[cm]=' <<<"$sent" | tr '\n' ' ')/ received: $(grep -E '^[cm]=' <<<"$got" | tr '\n' ' ')"
	fi
	sip_assert_proxy_alive e1_pass_proxy_alive proxy-pass
	sip_ladder e1-pass phB=e1-pass-phB phA=e1-pass-phA >/dev/null
fi

# ------------------------------------------------ e2: malformed datagrams
declare -A E2_WANT=(
	[clen-large]="400" [clen-bad]="400" [no-callid]="400 none" [maxfwd0]="483"
	[scheme]="416" [garbage]="none" [oversize]="none 513" [udpmax]="none 513"
)
declare -A E2_PORT=()
e2_pids=()
p=5101
for k in clen-large clen-bad no-callid maxfwd0 scheme garbage oversize udpmax; do
	args=(--bind "$PHA:$p" --to 203.0.113.1:5060 --wait 2 --sdp-ip "$PHA" --ruri "sip:nobody@$PHB:5099")
	case $k in
	scheme) args+=(--kind scheme --ruri "foo:nobody@$PHB") ;;
	oversize) args+=(--kind oversize --size 9000) ;;
	udpmax) args+=(--kind oversize --size 65507) ;;
	*) args+=(--kind "$k") ;;
	esac
	timeout 20 ip netns exec "$IT_PREFIX"phA "$NT_PY" "$SIPSEND" "${args[@]}" >"$IT_OUT/e2-$k.out" 2>&1 &
	e2_pids+=("$!"); IT_PIDS+=("$!")
	E2_PORT[$k]=$p
	p=$((p + 1))
done
for pid in "${e2_pids[@]}"; do nt_poll 10 nt_pid_gone "$pid"; wait "$pid" 2>/dev/null; done
for k in clen-large clen-bad no-callid maxfwd0 scheme garbage oversize udpmax; do
	sed "s/^/    e2-$k: /" "$IT_OUT/e2-$k.out" >&2
	# shellcheck disable=SC2086
	expect_status "e2_${k//-/_}_answer" "e2-$k" ${E2_WANT[$k]}
	if [[ $(kv "$IT_OUT/e2-$k.out" final) != "${E2_WANT[$k]%% *}" && ${E2_WANT[$k]%% *} != none ]]; then
		it_info "e2_${k//-/_}: proxy log: $(grep -F "from $PHA:${E2_PORT[$k]}:" "$IT_OUT/proxy.log" | head -n 2 | tr '\n' ' ')"
	fi
done
sip_assert_proxy_alive e2_proxy_alive_after_malformed proxy
sip_uac e2-reg phB $PHB register-auth.xml --port 5062 --service alice --auth alice --key domain edge.test --proxy 10.1.0.1:5060
sip_wait e2-reg 15
sip_assert_call e2_phB_registered e2-reg
if uas_or_fail e2-phB phB $PHB uas.xml --port 5062 --service alice --rtp-port 20020; then
	sip_uac e2-phA phA $PHA uac.xml --port 5062 --rtp-port 30020 --service alice --proxy 203.0.113.1:5060 --ruri edge.test
	sip_wait e2-phA 30; sip_wait e2-phB 10
	sip_assert_call e2_call_after_malformed e2-phA e2-phB
	sip_assert_media e2_phA_media_after_malformed e2-phA 200/INVITE
	sip_assert_no_binding e2_no_binding_after_bye "$(sip_callid e2-phA)" natd
fi

# ------------------------------------------------ e3: forking
sip_uac e3-reg-phB phB $PHB register-auth.xml --port 5063 --service forkme --auth forkme --key domain edge.test --proxy 10.1.0.1:5060
sip_uac e3-reg-phC phC $PHC register-auth.xml --port 5063 --service forkme --auth forkme --key domain edge.test --proxy 10.1.0.1:5060
sip_wait e3-reg-phB 15; sip_wait e3-reg-phC 15
sip_assert_call e3_two_contacts_registered e3-reg-phB e3-reg-phC
if uas_or_fail e3-phB phB $PHB uas-fork-answer.xml --port 5063 --service forkme --rtp-port 20030 &&
	uas_or_fail e3-phC phC $PHC uas-fork-183-cancel.xml --port 5063 --service forkme --rtp-port 20031; then
	sip_uac e3-phA phA $PHA uac.xml --port 5063 --service forkme --rtp-port 30030 --proxy 203.0.113.1:5060 \
		--ruri edge.test --duration 2000
	during=
	if nt_poll 10 grep -q 'sdp_rx msg=200/INVITE' "$IT_OUT/e3-phA.events"; then
		cid=$(sip_callid e3-phA)
		# the 200 has passed: phC's binding must be gone, phB's there
		if nt_poll 1.5 has_binding_only "$cid" "$PHB:20030" "$PHC:"; then during=ok; fi
		call_bindings "$cid" >"$IT_OUT/e3-bindings-during.txt"
	fi
	sip_wait e3-phA 30; sip_wait e3-phB 10; sip_wait e3-phC 10
	cid=$(sip_callid e3-phA)
	sip_assert_call e3_call_completed e3-phA e3-phB
	sip_assert_call e3_loser_flow_completed e3-phC
	if [[ -n $(sip_sdp e3-phB INVITE c) && -n $(sip_sdp e3-phC INVITE c) ]]; then
		it_pass e3_forked_to_both
	else
		it_fail e3_forked_to_both "INVITE reached phB: '$(sip_sdp e3-phB INVITE c)', phC: '$(sip_sdp e3-phC INVITE c)'"
	fi
	if [[ $(sip_event e3-phC cancelled) == 1 && $(sip_event e3-phC final) == 487 ]]; then
		it_pass e3_loser_got_cancel_answered_487
	else
		it_fail e3_loser_got_cancel_answered_487 "phC logged cancelled='$(sip_event e3-phC cancelled)' final='$(sip_event e3-phC final)'"
	fi
	a183=$("$NT_PY" "$SIP_TRACE" sdp-addrs "$IT_OUT/e3-phA.msg.log" | grep 'line=c msg=SIP/2.0_183' | head -n 1 | sed 's/^addr=\([^ ]*\).*/\1/')
	m183=$(watch_binding "$cid" "$PHC:20031" created)
	if [[ -n $a183 ]] && sip_in_cidr "$a183" "$POOL" && [[ -n $m183 ]]; then
		it_pass e3_loser_183_rewritten_and_bound
		it_info "e3_loser_183_rewritten_and_bound: phA got c=$a183 in phC's 183; natd bound $PHC:20031 -> $m183"
	else
		it_fail e3_loser_183_rewritten_and_bound "phA's 183 c='$a183' (want $POOL), natd binding for $PHC:20031: '$m183'"
	fi
	if [[ $during == ok ]]; then
		it_pass e3_loser_binding_released_at_answer
	else
		it_fail e3_loser_binding_released_at_answer "1.5 s after phA got the 200, natd list for call:$cid: $(tr '\n' ';' <"$IT_OUT/e3-bindings-during.txt" 2>/dev/null) (want $PHB:20030 only)"
	fi
	sip_assert_media e3_phA_media_from_winner e3-phA 200/INVITE
	sip_assert_media e3_winner_media_from_phA e3-phB INVITE
	sip_assert_no_binding e3_no_binding_after_bye "$cid" natd
	sip_assert_bindings e3_all_bindings_ended natd "$cid" 2
	sip_ladder e3 phA=e3-phA phB=e3-phB phC=e3-phC >/dev/null
fi

# ------------------------------------------------ e4: re-INVITE to a new port
if uas_or_fail e4-phA phA $PHA uas-reinvite-port.xml --port 5064 --rtp-port 30040 \
	--key rtp_port2 30042 --key rtp_cmd2 "$(probe_cmd $PHA:30042 e4-phA-2)"; then
	sip_uac e4-phB phB $PHB uac-reinvite-port.xml --port 5064 --rtp-port 20040 --auth phoneb --proxy 10.1.0.1:5060 --ruri $PHA:5064 \
		--duration 2000 --key rtp_port2 20042 --key rtp_cmd2 "$(probe_cmd $PHB:20042 e4-phB-2)"
	m1='' m2='' old_gone=''
	if nt_poll 10 grep -q 'sdp_rx msg=200/INVITE' "$IT_OUT/e4-phB.events"; then
		cid=$(sip_callid e4-phB)
		nt_poll 1 has_binding_only "$cid" "$PHB:20040" "$PHB:20042 "
		m1=$(binding_of "$cid" "$PHB:20040")
		call_bindings "$cid" >"$IT_OUT/e4-bindings-1.txt"
		if nt_poll 10 grep -q 'sdp_rx msg=200/reINVITE-port' "$IT_OUT/e4-phB.events"; then
			nt_poll 1.5 has_binding_only "$cid" "$PHB:20042" "$PHB:20040 " && old_gone=1
			m2=$(binding_of "$cid" "$PHB:20042")
			call_bindings "$cid" >"$IT_OUT/e4-bindings-2.txt"
		fi
	fi
	sip_wait e4-phB 30; sip_wait e4-phA 10
	cid=$(sip_callid e4-phB)
	sip_assert_call e4_reinvite_flow e4-phB e4-phA
	sip_assert_event e4_invite_challenged e4-phB challenged 407
	c1=$(sip_sdp e4-phA INVITE c):$(sip_sdp e4-phA INVITE m)
	c2=$(sip_sdp e4-phA reINVITE-port c):$(sip_sdp e4-phA reINVITE-port m)
	if [[ -n $m1 && $m1 == "$c1" ]]; then
		it_pass e4_first_binding
		it_info "e4_first_binding: $PHB:20040 -> $m1"
	else
		it_fail e4_first_binding "natd binding for $PHB:20040: '$m1', phA's INVITE SDP named $c1"
	fi
	if [[ -n $m2 && $m2 == "$c2" ]] && in_pool "$m2"; then
		it_pass e4_new_binding_for_new_port
		it_info "e4_new_binding_for_new_port: $PHB:20042 -> $m2 (phA's re-INVITE SDP: $c2)"
	else
		it_fail e4_new_binding_for_new_port "natd binding for $PHB:20042: '$m2', phA's re-INVITE SDP named $c2; list: $(tr '\n' ';' <"$IT_OUT/e4-bindings-2.txt" 2>/dev/null)"
	fi
	if [[ -n $old_gone ]]; then
		it_pass e4_old_binding_released
	else
		it_fail e4_old_binding_released "after the re-INVITE's 200, natd list for call:$cid: $(tr '\n' ';' <"$IT_OUT/e4-bindings-2.txt" 2>/dev/null) (the binding of $PHB:20040 should be gone)"
	fi
	sip_assert_media e4_phB_media_before e4-phB 200/INVITE
	probe_check e4_phA_media_on_new_port "$IT_OUT/e4-phA-2.rtp" "$c2"
	probe_check e4_phB_media_on_new_port "$IT_OUT/e4-phB-2.rtp" \
		"$(sip_sdp e4-phB 200/reINVITE-port c):$(sip_sdp e4-phB 200/reINVITE-port m)"
	sip_assert_no_binding e4_no_binding_after_bye "$cid" natd
	sip_ladder e4 phB=e4-phB phA=e4-phA >/dev/null
fi

# ------------------------------------------------ e5: a new offer in UPDATE
# e5a: phB calls phA and sends the UPDATE (its offer must be rewritten);
# e5b: phA calls phB and sends the UPDATE (phB's answer must be rewritten).
if uas_or_fail e5a-phA phA $PHA uas-update.xml --port 5065 --rtp-port 30050 --key rtp_port2 30052; then
	sip_uac e5a-phB phB $PHB uac-update.xml --port 5065 --rtp-port 20050 --key rtp_port2 20052 --auth phoneb \
		--proxy 10.1.0.1:5060 --ruri $PHA:5065 --duration 500
	sip_wait e5a-phB 30; sip_wait e5a-phA 10
	cid=$(sip_callid e5a-phB)
	sip_assert_call e5a_update_flow e5a-phB e5a-phA
	sip_assert_event e5a_invite_challenged e5a-phB challenged 407
	got=$(sip_sdp e5a-phA UPDATE c):$(sip_sdp e5a-phA UPDATE m)
	mb=$(watch_binding "$cid" "$PHB:20052" created)
	if in_pool "$got" && [[ $got == "$mb" ]]; then
		it_pass e5a_update_offer_rewritten
		it_info "e5a_update_offer_rewritten: phA got $got in the UPDATE ($PHB:20052 bound to $mb)"
	else
		it_fail e5a_update_offer_rewritten "phA got c:m=$got in the UPDATE, natd binding for $PHB:20052: '$mb'; phA's UPDATE SDP: $(sdp_body e5a-phA '<-' UPDATE | grep -E '^[cmo]=' | tr '\n' ' ')"
	fi
	sip_assert_sdp_realm e5a_phA_sdp_only_pool e5a-phA "$POOL"
	sip_assert_no_binding e5a_no_binding_after_bye "$cid" natd
	sip_ladder e5a phB=e5a-phB phA=e5a-phA >/dev/null
fi
sip_uac e5b-reg phB $PHB register-auth.xml --port 5066 --service bob --auth bob --key domain edge.test --proxy 10.1.0.1:5060
sip_wait e5b-reg 15
sip_assert_call e5b_phB_registered e5b-reg
if uas_or_fail e5b-phB phB $PHB uas-update.xml --port 5066 --service bob --rtp-port 20055 --key rtp_port2 20057; then
	sip_uac e5b-phA phA $PHA uac-update.xml --port 5066 --service bob --rtp-port 30055 --key rtp_port2 30057 \
		--proxy 203.0.113.1:5060 --ruri edge.test --duration 500
	sip_wait e5b-phA 30; sip_wait e5b-phB 10
	cid=$(sip_callid e5b-phA)
	sip_assert_call e5b_update_flow e5b-phA e5b-phB
	got=$(sip_sdp e5b-phA 200/UPDATE c):$(sip_sdp e5b-phA 200/UPDATE m)
	mb=$(watch_binding "$cid" "$PHB:20057" created)
	if in_pool "$got" && [[ $got == "$mb" ]]; then
		it_pass e5b_update_answer_rewritten
		it_info "e5b_update_answer_rewritten: phA got $got in the 200 to UPDATE ($PHB:20057 bound to $mb)"
	else
		it_fail e5b_update_answer_rewritten "phA got c:m=$got in the 200 to UPDATE, natd binding for $PHB:20057: '$mb'; SDP: $(sdp_body e5b-phA '<-' 'SIP/2.0 200' | grep -E '^[cmo]=' | tr '\n' ' ')"
	fi
	sip_assert_sdp_realm e5b_phA_sdp_only_pool e5b-phA "$POOL"
	sip_assert_no_binding e5b_no_binding_after_bye "$cid" natd
	sip_ladder e5b phA=e5b-phA phB=e5b-phB >/dev/null
fi

# ------------------------------------------------ e6: remote filter
# e6_case TAG DIR SIPPORT PHB_RTP PHA_RTP: one call through proxy-filter.
# DIR "in": phA calls phB (phA's offer is known before phB's binding is
# made); "out": phB calls phA (phB's binding is made first, the filter can
# only come with phA's answer: the binding is asked for again).
e6_case() {
	local tag=$1 dir=$2 sport=$3 brtp=$4 artp=$5 uac nb na m='' filt='' cid f0 f1 seen bad got
	if [[ $dir == in ]]; then
		nb=$tag-phB na=$tag-phA uac=$na
		# phB registers phonec at proxy-filter on the UAS's port; phA calls that AoR
		sip_uac "$tag-reg" phB $PHB register-auth.xml --port "$sport" --service phonec --auth phonec \
			--key domain edge.test --proxy 10.1.0.1:5074
		sip_wait "$tag-reg" 15
		sip_assert_call "${tag}_phB_registered" "$tag-reg"
		uas_or_fail "$nb" phB $PHB uas.xml --port "$sport" --service phonec --rtp-port "$brtp" || return 1
		sip_uac "$na" phA $PHA uac.xml --port "$sport" --rtp-port "$artp" --proxy 203.0.113.1:5074 \
			--service phonec --ruri edge.test --duration 2500
	else
		nb=$tag-phB na=$tag-phA uac=$nb
		uas_or_fail "$na" phA $PHA uas.xml --port "$sport" --rtp-port "$artp" || return 1
		sip_uac "$nb" phB $PHB uac.xml --port "$sport" --rtp-port "$brtp" --auth phoneb --proxy 10.1.0.1:5074 \
			--ruri "$PHA:$sport" --duration 2500
	fi
	: >"$IT_OUT/$tag-bindings.txt"
	sip_capture_start "$tag-phB-cap" phB eth0 udp and src host $PHA2 || it_log "no capture in phB"
	if nt_poll 10 grep -q 'sdp_rx msg=200/INVITE' "$IT_OUT/$uac.events"; then
		cid=$(sip_callid "$uac")
		# the filter may come a moment after the 200 (a re-BIND)
		nt_poll 1.5 e6_filtered "$cid" "$PHB:$brtp"
		call_bindings "$cid" >"$IT_OUT/$tag-bindings.txt"
		m=$(awk -v e="$PHB:$brtp" '$1 == e {print $2; exit}' "$IT_OUT/$tag-bindings.txt")
		filt=$(awk -v e="$PHB:$brtp" '$1 == e {sub("filters=", "", $3); print $3; exit}' "$IT_OUT/$tag-bindings.txt")
		it_natctl "$tag-stats0" -- --json stats >/dev/null 2>&1
		# 20 packets to M from phA's second address, 10 ms apart, while phB's probe runs
		if [[ -n $m ]]; then
			timeout 10 ip netns exec "${IT_PREFIX}phA" "$NT_PY" - "$PHA2" "$artp" "${m%:*}" "${m##*:}" <<'PY' >"$IT_OUT/$tag-spoof.out" 2>&1
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
for i in range(20):
    s.sendto(struct.pack("!BBHII", 0x80, 0, 60000 + i, i * 160, 0x5eed) + b"\x00" * 160, (sys.argv[3], int(sys.argv[4])))
    time.sleep(0.01)
print("spoof_sent=20 from=%s:%s to=%s:%s" % tuple(sys.argv[1:5]))
PY
		fi
		# bounded: the 20 are counted as dropped at once, else give them 1 s to arrive
		nt_poll 1 e6_dropped "$tag" "$(json_get "$IT_OUT/$tag-stats0.out" stats.dropped_filtered)"
	fi
	sip_capture_stop "$tag-phB-cap"
	sip_wait "$uac" 30; sip_wait "$nb" 10; sip_wait "$na" 10
	cid=$(sip_callid "$uac")
	sip_assert_call "${tag}_call_completed" "$na" "$nb"
	[[ $dir == out ]] && sip_assert_event "${tag}_invite_challenged" "$nb" challenged 407
	bad=$(tr ',' '\n' <<<"$filt" | grep -v "^$PHA\(/32\)\?\(:[0-9]*\)\?$")
	if [[ -n $filt && -z $bad ]]; then
		it_pass "${tag}_filter_names_only_phA"
		it_info "${tag}_filter_names_only_phA: $PHB:$brtp -> $m filters=$filt"
	else
		it_fail "${tag}_filter_names_only_phA" "natd binding of call:$cid for $PHB:$brtp: M='$m' filters='$filt' (want filters naming only $PHA); list: $(tr '\n' ';' <"$IT_OUT/$tag-bindings.txt")"
	fi
	f0=$(json_get "$IT_OUT/$tag-stats0.out" stats.dropped_filtered) f1=$(json_get "$IT_OUT/$tag-stats1.out" stats.dropped_filtered)
	sip_wait_probe "$nb" 8
	seen=$(kv "$IT_OUT/$nb.rtp" sources)
	# tcpdump's own count at exit ("N packets received by filter"), else the pcap's
	nt_poll 3 grep -q 'received by filter' "$IT_OUT/$tag-phB-cap.tcpdump.log"
	got=$(sed -n 's/^\([0-9]*\) packets\? received by filter.*/\1/p' "$IT_OUT/$tag-phB-cap.tcpdump.log")
	[[ -n $got ]] || got=$(sip_capture_count "$tag-phB-cap" udp and src host $PHA2)
	if [[ -n $m && -n $f0 && -n $f1 && $got == 0 ]] && ((f1 - f0 >= 20)) && [[ $seen != *"$PHA2"* ]]; then
		it_pass "${tag}_other_address_dropped"
		it_info "${tag}_other_address_dropped: dropped_filtered $f0 -> $f1, none reached phB, phB's probe saw only $seen"
	else
		it_fail "${tag}_other_address_dropped" "20 packets from $PHA2:$artp to M='$m': ${got:-?} reached phB (tcpdump on phB's eth0), natd dropped_filtered '$f0' -> '$f1' (want +20), phB's probe sources '$seen'"
	fi
	if [[ $dir == in ]]; then
		sip_assert_media "${tag}_phB_media_only_from_phA" "$nb" INVITE
		sip_assert_media "${tag}_phA_media_from_nat_address" "$na" 200/INVITE
	else
		sip_assert_media "${tag}_phB_media_only_from_phA" "$nb" 200/INVITE
		sip_assert_media "${tag}_phA_media_from_nat_address" "$na" INVITE
	fi
	sip_assert_no_binding "${tag}_no_binding_after_bye" "$cid" natd
	sip_ladder "$tag" phA="$na" phB="$nb" >/dev/null
}
e6_dropped() {
	it_natctl "$1-stats1" -- --json stats >/dev/null 2>&1
	local f1
	f1=$(json_get "$IT_OUT/$1-stats1.out" stats.dropped_filtered)
	[[ -n $f1 && -n $2 ]] && ((f1 - $2 >= 20))
}
e6_filtered() { call_bindings "$1" | awk -v e="$2" '$1 == e && $3 != "filters=" {f = 1} END {exit !f}'; }

ip -n "${IT_PREFIX}phA" addr add $PHA2/24 dev eth0 2>>"$IT_OUT/topo.log"
e6_case e6a in 5067 20060 30060
e6_case e6b out 5069 20065 30065

# ------------------------------------------------ e7: ICE stripped
if uas_or_fail e7-phA phA $PHA uas.xml --port 5068; then
	sip_uac e7-phB phB $PHB uac-ice.xml --port 5068 --auth phoneb --proxy 10.1.0.1:5060 --ruri $PHA:5068 --duration 200
	sip_wait e7-phB 30; sip_wait e7-phA 10
	sip_assert_call e7_ice_call_completed e7-phB e7-phA
	sip_assert_event e7_invite_challenged e7-phB challenged 407
	sent=$(sdp_body e7-phB '->' INVITE) got=$(sdp_body e7-phA '<-' INVITE)
	ice_sent=$(grep -cE '^a=(candidate|ice-)' <<<"$sent")
	ice_left=$(grep -E '^a=(candidate|ice-|remote-candidates|end-of-candidates)' <<<"$got")
	if ((ice_sent >= 5)) && [[ -n $got && -z $ice_left ]]; then
		it_pass e7_ice_attributes_stripped
	else
		it_fail e7_ice_attributes_stripped "phB sent $ice_sent ICE lines; phA received: $(tr '\n' ' ' <<<"${ice_left:-${got:-no SDP}}" | cut -c1-300)"
	fi
	sip_assert_sdp e7_phA_invite_names_pool_address e7-phA INVITE "$POOL"
	sip_assert_sdp_realm e7_phA_sdp_only_pool e7-phA "$POOL"
	sip_assert_no_binding e7_no_binding_after_bye "$(sip_callid e7-phB)" natd
	sip_ladder e7 phB=e7-phB phA=e7-phA >/dev/null
fi

# ------------------------------------------------ e8: a 2xx that cannot be rewritten
# phA calls phB through proxy-blackhole (natd never answers a BIND): phB's
# 200 OK cannot be rewritten, phA gets 500; phB, never ACKed, retransmits
# its 200, and each copy is absorbed (not sent through the media step
# again, which would bring the call back once natd answers, with nobody to
# end it): the absorbed_2xx counter rises and the proxy holds no call.
sip_uac e8-reg phB $PHB register-auth.xml --port 5086 --service service --auth service --key domain edge.test --proxy 10.1.0.1:5075
sip_wait e8-reg 15
sip_assert_call e8_phB_registered e8-reg
if uas_or_fail e8-phB phB $PHB uas.xml --port 5086 --rtp-port 26000 --timeout 12; then
	sipsend phA e8-invite --bind $PHA:5091 --to 203.0.113.1:5075 --kind invite \
		--ruri "sip:service@edge.test" --sdp-ip $PHA --sdp-port 34000 --wait 5
	got=$(kv "$IT_OUT/e8-invite.out" final)
	if [[ $got == 500 || $got == 503 ]]; then it_pass "e8_2xx_unrewritable_answered_$got"
	else it_fail e8_2xx_unrewritable_answered_500 "phA got final '$got' (expected 500: the 200 OK could not be rewritten)"; fi
	absorbed() {
		sip_proxy_status "$IT_OUT/proxy-blackhole.conf" "$IT_OUT/e8-status.out" &&
			grep -o 'absorbed_2xx=[1-9][0-9]*' "$IT_OUT/e8-status.out"
	}
	it_check e8_retransmitted_2xx_absorbed "no absorbed_2xx in proxy-blackhole's status: $(head -c 400 "$IT_OUT/e8-status.out" 2>/dev/null)" \
		nt_poll 5 absorbed
	sip_wait e8-phB 20
	no_calls() { [[ $(sip_proxy_counter "$IT_OUT/proxy-blackhole.conf" calls) == 0 ]]; }
	it_check e8_no_call_left "proxy-blackhole still holds a call: $(grep '^media ' "$IT_OUT/status-counter.out" 2>/dev/null)" \
		nt_poll 5 no_calls
fi

for v in proxy proxy-nonatd proxy-pass proxy-silent proxy-filter proxy-blackhole; do
	sip_assert_proxy_alive "${v//-/_}_alive_at_end" "$v"
	sip_proxy_excerpt "$v"
done
it_done
