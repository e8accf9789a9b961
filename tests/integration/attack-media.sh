#!/bin/bash
# attack-media: which media an outsider can get bound (issue 11, "Which
# media may be bound"), on the edge topology with the proxy's secure
# defaults (sip_conf_edge: media.remote_filter on, default media rule).
# The attacker is 203.0.113.12 and a far end behind its own NAT shows up
# from 203.0.113.11, both extra addresses of phA's namespace (outside);
# phA itself (203.0.113.10) and phB/phC (inside) are the real phones.
#
#   a  RTP Bleed: during a call phA -> phB with media both ways (SIPp and
#      RTP probes), the attacker sends 20 RTP packets to phB's M: none
#      reaches phB (tcpdump on its eth0), natd counts them dropped_filtered,
#      and both phones' media goes on
#   a2 RTP Bleed while it rings: phB calls phA, whose answer comes 5 s
#      later; during the ringing the attacker sends 20 RTP packets to the
#      M that phA was offered: phB's RTP port gets none (a binding made
#      before the other party's SDP admits nobody); after the answer phA's
#      own media reaches it
#   c  the issue's attack INVITE (Request-URI its own numeric address,
#      c=10.1.0.10, m=audio 7777 RTP/AVP, m=application 2222 TCP/MSRP):
#      488 with a Warning, no natd binding for 10.1.0.10, and spraying the
#      pool at ports 7777/udp and 2222/tcp reaches no listener in phB;
#      sent while call (a) is up, which carries on
#   d  TCP media: phB offers audio + m=message 2222 TCP/MSRP; with the
#      default rule phA gets m=message 0, natd holds no TCP binding and
#      phA's connection attempts reach nothing; through a proxy whose rule
#      has tcp_media = true (5077), the stream is bound and phA's TCP
#      connection to M reaches phB's listener
#   b  latch (proxy on 5076, media.latch = 5): phA signals 203.0.113.10 but
#      its media comes from 203.0.113.11 (behind a NAT): latched, it
#      reaches phB; the attacker's later RTP to the same M is dropped
#   e  media.max_bindings_per_user = 2 (proxy on 5078): phB's call with two
#      streams holds 2 bindings; phB's next INVITE gets 403 (no binding),
#      phC's call beside it completes, and after phB's BYE phB calls again
#   f  a 2xx nobody ACKs (proxy on 5078, sip.t1_ms = 100): phB's INVITE is
#      answered, phB neither ACKs nor BYEs; its bindings go within 64*T1
#      (6.4 s) + 2 s, before any lease or call limit would end them
# Logs: $IT_OUT (NAME.out: sipcall results, PROXY.log each proxy's log).
: "${SIP_CALL_MS:=1500}"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/siplib.sh"

it_require_root_net
it_require_natd
sip_require

PHA=203.0.113.10
FAR=203.0.113.11 # phA's media as seen from behind its own NAT
ATK=203.0.113.12 # the attacker
PHB=10.1.0.10
PHC=10.1.0.11
POOL_HOSTS=$(seq 1 14 | sed 's/^/198.51.100./')
SIPCALL=$NT_ROOT/tests/tools/sipcall.py
# No phone is a trusted peer: phB (phoneb) and phC (phonec) answer the
# proxies' 407 when they call out (sipcall.py --auth), and phA calls the
# AoRs phB registered (alice, bob) with its password. Only (c) trusts a
# sender, the attacker itself, on purpose (see below).
PH_AUTH="phoneb:$SIP_PASSWORD@edge.test"
PC_AUTH="phonec:$SIP_PASSWORD@edge.test"

sip_topo_up edge
sip_watch_start natd
for a in $FAR $ATK; do
	ip -n "${IT_PREFIX}phA" addr add $a/24 dev eth0 2>>"$IT_OUT/topo.log" ||
		{ it_fail setup "cannot add $a to phA"; exit 1; }
done

# ------------------------------------------------------------ helpers

# sc NS NAME ARGS...: sipcall.py in NS (bounded), result in NAME.out.
sc() {
	local ns=$1 name=$2
	shift 2
	it_log "[$ns] sipcall $*"
	timeout 60 ip netns exec "$IT_PREFIX$ns" "$NT_PY" "$SIPCALL" "$@" --out "$IT_OUT/$name.out" \
		>"$IT_OUT/$name.err" 2>&1
	sed "s/^/    $name: /" "$IT_OUT/$name.out" >&2 2>/dev/null
}
# sc_bg NS NAME ARGS...: the same in the background (PID in SC_PID, and IT_PIDS).
sc_bg() {
	local ns=$1 name=$2
	shift 2
	it_log "[$ns] sipcall (background) $*"
	rm -f "$IT_OUT/$name.out" "$IT_OUT/$name.ready"
	timeout 60 ip netns exec "$IT_PREFIX$ns" "$NT_PY" "$SIPCALL" "$@" --out "$IT_OUT/$name.out" \
		</dev/null >"$IT_OUT/$name.err" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	SC_PID=$!
	IT_PIDS+=("$SC_PID")
}
# uas_bg NS NAME IP:PORT SDP_PORT [ARGS...]: a sipcall answerer, waited for.
uas_bg() {
	local ns=$1 name=$2 bind=$3 port=$4
	shift 4
	sc_bg "$ns" "$name" uas --bind "$bind" --sdp-ip "${bind%:*}" --sdp-port "$port" \
		--ready "$IT_OUT/$name.ready" --timeout 40 "$@"
	nt_poll 5 test -e "$IT_OUT/$name.ready"
}
sc_wait() { nt_poll "${2:-30}" nt_pid_gone "$1"; wait "$1" 2>/dev/null; }

# listener NAME NS IP UDPPORT TCPPORT SECONDS: count datagrams and accepted
# TCP connections on IP (bounded), "udp=N tcp=N" in NAME.out at the end.
listener() {
	local name=$1 ns=$2
	shift 2
	rm -f "$IT_OUT/$name.out" "$IT_OUT/$name.ready"
	timeout 100 ip netns exec "$IT_PREFIX$ns" "$NT_PY" - "$@" "$IT_OUT/$name.out" "$IT_OUT/$name.ready" \
		</dev/null >"$IT_OUT/$name.err" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- <<'PY' &
import select, socket, sys, time
ip, up, tp, secs, out, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((ip, up))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind((ip, tp)); t.listen(16)
nu = nt = 0
open(out + ".tmp", "w").write("udp=0 tcp=0\n")
open(ready, "w").write("ready\n")
end = time.monotonic() + secs
while time.monotonic() < end:
    r, _, _ = select.select([u, t], [], [], max(0.01, end - time.monotonic()))
    if u in r:
        u.recvfrom(65535); nu += 1
    if t in r:
        c, _ = t.accept(); nt += 1; c.close()
    with open(out + ".tmp", "w") as f:
        f.write("udp=%d tcp=%d\n" % (nu, nt))
open(out, "w").write("udp=%d tcp=%d done=1\n" % (nu, nt))
PY
	IT_PIDS+=("$!")
	LISTENER_PID=$!
	nt_poll 5 test -e "$IT_OUT/$name.ready"
}
# live count of a running listener
listener_now() { kv "$IT_OUT/$1.out.tmp" "$2" 2>/dev/null || echo 0; }

# natd_has_endpoint EP [PROTO]: natd holds a binding (any owner) for EP.
natd_has_endpoint() {
	timeout 10 "$NT_NATCTL" -s "$(it_ctl_socket)" --json list >"$IT_OUT/list-all.json" 2>/dev/null || return 2
	grep -F "\"endpoint\":\"$1\"" "$IT_OUT/list-all.json" | grep -q "${2:+\"proto\":\"$2\"}"
}
# alloc_of CALLID EP: the M of the call's binding for EP.
alloc_of() {
	sip_bindings_of natd "$1" | "$NT_PY" -c '
import json, sys
for l in sys.stdin:
    b = json.loads(l)
    if b.get("endpoint") == sys.argv[1]:
        print(b.get("alloc")); break' "$2"
}
dropped_since() { local n; n=$(filtered_now poll); [[ -n $n ]] && ((n - $1 >= $2)); }
filtered_now() { it_natctl "st-$1" -- --json stats >/dev/null 2>&1; json_get "$IT_OUT/st-$1.out" stats.dropped_filtered; }

# spray NS NAME SRC PORT PROTO: one datagram (udp) or connection attempt
# (tcp, 1 s) from SRC to PORT of every pool address.
spray() {
	timeout 40 ip netns exec "$IT_PREFIX$1" "$NT_PY" - "$3" "$4" "$5" $POOL_HOSTS <<'PY' >"$IT_OUT/$2.out" 2>&1
import socket, sys
src, port, proto, hosts = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
ok = 0
for h in hosts:
    if proto == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((src, 0))
        s.sendto(b"\x80\x00" + b"\x00" * 170, (h, port))
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.bind((src, 0)); s.settimeout(1)
        try:
            s.connect((h, port)); ok += 1
        except OSError:
            pass
    s.close()
print("sprayed=%d proto=%s port=%d connected=%d" % (len(hosts), proto, port, ok))
PY
}

# conf_variant OUT PORT SED...: sip_conf_edge on PORT, then the sed edits.
conf_variant() {
	local out=$1 port=$2
	shift 2
	sip_conf_edge "$out"
	sed -i -e "s|realm = \"inside\"; }|realm = \"inside\"; port = $port; }|" \
		-e "s|realm = \"outside\"; }|realm = \"outside\"; port = $port; }|" "$@" "$out"
}

# ------------------------------------------------------------ the proxies

# The first proxy also lists the attacker as a trusted peer: (c) checks the
# media step itself, behind the relay policy (attack-relay.sh shows the same
# INVITE refused 403 by the policy when the sender is not trusted): even a
# request the policy admits cannot bind an address of another realm.
SIP_TRUSTED_PEERS="\"$ATK/32\"" sip_conf_edge "$IT_OUT/proxy.conf"
sip_proxy_start proxy edge "$IT_OUT/proxy.conf" || exit 1
conf_variant "$IT_OUT/proxy-latch.conf" 5076 -e 's|remote_filter = true;|remote_filter = true; latch = 5;|'
sip_proxy_start proxy-latch edge "$IT_OUT/proxy-latch.conf" || exit 1
conf_variant "$IT_OUT/proxy-tcp.conf" 5077 -e 's|nat = "edge"; } );|nat = "edge"; tcp_media = true; } );|'
sip_proxy_start proxy-tcp edge "$IT_OUT/proxy-tcp.conf" || exit 1
SIP_CONF_EXTRA='sip: { t1_ms = 100; };' conf_variant "$IT_OUT/proxy-cap.conf" 5078 \
	-e 's|remote_filter = true;|remote_filter = true; max_bindings_per_user = 2;|'
sip_proxy_start proxy-cap edge "$IT_OUT/proxy-cap.conf" || exit 1

# ------------------------------------------------ a + c: RTP Bleed, attack INVITE
listener lst-c phB $PHB 7777 2222 90
uas_ok=0
sip_uac a-reg phB $PHB register-auth.xml --port 5062 --service alice --auth alice --key domain edge.test --proxy 10.1.0.1:5060
sip_wait a-reg 20
sip_assert_call a_phB_registered a-reg
sip_uas a-phB phB $PHB uas.xml --port 5062 --service alice --rtp-port 20100 --duration 6000 && uas_ok=1
((uas_ok)) || it_fail a_uas_ready "SIPp UAS did not start: $(tail -n 3 "$IT_OUT/a-phB.stdout" | tr '\n' ' ')"
sip_uac a-phA phA $PHA uac.xml --port 5062 --rtp-port 30100 --proxy 203.0.113.1:5060 \
	--service alice --ruri edge.test --duration 4000
m=''
sip_capture_start a-phB-cap phB eth0 src host $ATK || it_log "no capture in phB"
if ((uas_ok)) && nt_poll 10 grep -q 'sdp_rx msg=200/INVITE' "$IT_OUT/a-phA.events"; then
	cid_a=$(sip_callid a-phA)
	# the filter is in place when the binding exists (phA's offer came first)
	nt_poll 2 test -n "$(alloc_of "$cid_a" "$PHB:20100")"
	m=$(alloc_of "$cid_a" "$PHB:20100")
	f0=$(filtered_now a0)
	# (a) the attacker's RTP to phB's M, while the phones talk
	if [[ -n $m ]]; then
		timeout 10 ip netns exec "${IT_PREFIX}phA" "$NT_PY" - "$ATK" 30100 "${m%:*}" "${m##*:}" <<'PY' >"$IT_OUT/a-bleed.out" 2>&1
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
for i in range(20):
    s.sendto(struct.pack("!BBHII", 0x80, 0, 60000 + i, i * 160, 0xbad) + b"\x00" * 160, (sys.argv[3], int(sys.argv[4])))
    time.sleep(0.01)
print("bleed_sent=20 from=%s:%s to=%s:%s" % tuple(sys.argv[1:5]))
PY
	fi
	nt_poll 1 dropped_since "${f0:-0}" 20
	f1=$(filtered_now a1)
	# (c) the issue's INVITE, while the call is up
	sc phA c-invite uac --bind $ATK:5099 --proxy 203.0.113.1:5060 --ruri "sip:x@$ATK:5199" \
		--sdp-ip $PHB --media "audio 7777 RTP/AVP 0" --media "application 2222 TCP/MSRP *" --wait 5
	spray phA c-spray-udp $ATK 7777 udp
	spray phA c-spray-tcp $ATK 2222 tcp
fi
sip_wait a-phA 30; sip_wait a-phB 15
sip_wait_probe a-phB 8; sip_wait_probe a-phA 8
sip_capture_stop a-phB-cap
nt_poll 3 grep -q 'received by filter' "$IT_OUT/a-phB-cap.tcpdump.log"
got=$(sed -n 's/^\([0-9]*\) packets\? received by filter.*/\1/p' "$IT_OUT/a-phB-cap.tcpdump.log")
[[ -n $got ]] || got=$(sip_capture_count a-phB-cap src host $ATK)
seen=$(kv "$IT_OUT/a-phB.rtp" sources)
sip_assert_call a_call_completed a-phA a-phB
if [[ -n $m && $got == 0 && -n $f0 && -n $f1 ]] && ((f1 - f0 >= 20)) && [[ $seen != *"$ATK"* ]]; then
	it_pass a_rtp_bleed_refused
	it_info "a_rtp_bleed_refused: 20 packets from $ATK to phB's M $m: 0 reached phB, dropped_filtered $f0 -> $f1"
else
	it_fail a_rtp_bleed_refused "20 packets from $ATK to M='$m': ${got:-?} reached phB's eth0, dropped_filtered '$f0' -> '$f1' (want +20), phB's probe sources '$seen'"
fi
sip_assert_media a_phB_media_from_phA a-phB INVITE
sip_assert_media a_phA_media_from_nat_address a-phA 200/INVITE
sip_assert_no_binding a_no_binding_after_bye "$(sip_callid a-phA)" natd

w=$(grep -m1 '^rx status=488' "$IT_OUT/c-invite.out" | sed 's/.*warning=//')
if [[ $(kv "$IT_OUT/c-invite.out" final) == 488 && $w == 305_* ]]; then
	it_pass c_inside_address_refused_488
	it_info "c_inside_address_refused_488: Warning: ${w//_/ }"
else
	it_fail c_inside_address_refused_488 "attack INVITE (c=$PHB, 7777/udp, 2222/TCP/MSRP): $(tr '\n' ' ' <"$IT_OUT/c-invite.out" 2>/dev/null)"
fi
if natd_has_endpoint "$PHB:7777" || natd_has_endpoint "$PHB:2222"; then
	it_fail c_no_binding "natd holds a binding for $PHB:7777 or :2222: $(grep -F "\"endpoint\":\"$PHB:" "$IT_OUT/list-all.json" | head -c 300)"
elif [[ $? == 2 ]]; then
	it_fail c_no_binding "natctl list failed"
else
	it_pass c_no_binding
fi
c_udp=$(listener_now lst-c udp) c_tcp=$(listener_now lst-c tcp)
if [[ -s $IT_OUT/c-spray-udp.out && -s $IT_OUT/c-spray-tcp.out && $c_udp == 0 && $c_tcp == 0 ]] &&
	grep -q 'connected=0' "$IT_OUT/c-spray-tcp.out"; then
	it_pass c_inside_listeners_untouched
	it_info "c_inside_listeners_untouched: pool sprayed at 7777/udp and 2222/tcp: phB's listeners got udp=$c_udp tcp=$c_tcp"
else
	it_fail c_inside_listeners_untouched "phB's listeners on $PHB:7777/udp and :2222/tcp got udp=$c_udp tcp=$c_tcp; $(cat "$IT_OUT"/c-spray-*.out 2>/dev/null | tr '\n' ' ')"
fi

# ------------------------------------------------ a2: RTP Bleed while ringing
listener lst-a2 phB $PHB 20500 20501 40
uas_bg phA a2-phA $PHA:5075 30500 --ring 5 --rtp-after-ack 30 || it_fail a2_uas_ready "sipcall uas did not start"
a2_uas=$SC_PID
sc_bg phB a2-phB uac --bind $PHB:5075 --auth "$PH_AUTH" --proxy 10.1.0.1:5060 --ruri "sip:a2@$PHA:5075" --sdp-ip $PHB \
	--media "audio 20500 RTP/AVP 0" --hold 1.5
a2_uac=$SC_PID
a2_m=''
if nt_poll 10 grep -q '^ringing ' "$IT_OUT/a2-phA.out"; then
	a2_m=$(sed -n 's/^invite .* c=\([0-9.]*\) m=audio:\([0-9]*\):.*/\1:\2/p' "$IT_OUT/a2-phA.out" | head -n 1)
	f0=$(filtered_now a2-0)
	if [[ -n $a2_m ]]; then
		timeout 10 ip netns exec "${IT_PREFIX}phA" "$NT_PY" - "$ATK" 30500 "${a2_m%:*}" "${a2_m##*:}" <<'PY' >"$IT_OUT/a2-bleed.out" 2>&1
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
for i in range(20):
    s.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, 0xbad) + b"\x00" * 160, (sys.argv[3], int(sys.argv[4])))
    time.sleep(0.01)
print("bleed_sent=20 from=%s:%s to=%s:%s" % tuple(sys.argv[1:5]))
PY
	fi
	nt_poll 1 dropped_since "${f0:-0}" 20
	f1=$(filtered_now a2-1)
	ringing_rx=$(listener_now lst-a2 udp)
	still_ringing=yes
	grep -q '^answered' "$IT_OUT/a2-phA.out" && still_ringing=no
fi
sc_wait "$a2_uac" 20; sc_wait "$a2_uas" 45
nt_poll 2 test "$(listener_now lst-a2 udp)" -ge 25
after_rx=$(listener_now lst-a2 udp)
if [[ -n $a2_m && $still_ringing == yes && $ringing_rx == 0 && -n $f0 && -n $f1 ]] && ((f1 - f0 >= 20)); then
	it_pass a2_rtp_bleed_while_ringing_refused
	it_info "a2_rtp_bleed_while_ringing_refused: 20 packets from $ATK to M $a2_m while ringing: phB's port got $ringing_rx, dropped_filtered $f0 -> $f1"
else
	it_fail a2_rtp_bleed_while_ringing_refused "M='$a2_m' still ringing: ${still_ringing:-?}; phB's 20500/udp got '${ringing_rx:-?}' (want 0), dropped_filtered '$f0' -> '$f1' (want +20)"
fi
if [[ $(kv "$IT_OUT/a2-phB.out" final) == 200 ]] && ((${after_rx:-0} >= 25)); then
	it_pass a2_media_after_answer
	it_info "a2_media_after_answer: phA's 30 packets after the answer: phB's port got $after_rx"
else
	it_fail a2_media_after_answer "final=$(kv "$IT_OUT/a2-phB.out" final), phB's 20500/udp got '$after_rx' after the answer (want >= 25 of phA's 30)"
fi

# ------------------------------------------------ d: TCP media
# d1: the default rule declines the TCP stream
uas_bg phA d1-phA $PHA:5064 30200 --tcp-connect || it_fail d1_uas_ready "sipcall uas did not start"
d1_uas=$SC_PID
sc phB d1-phB uac --bind $PHB:5064 --auth "$PH_AUTH" --proxy 10.1.0.1:5060 --ruri "sip:callee@$PHA:5064" --sdp-ip $PHB \
	--media "audio 20200 RTP/AVP 0" --media "message 2222 TCP/MSRP *" --hold 1 &
d1_uac=$!
IT_PIDS+=("$d1_uac")
nt_poll 10 grep -q '^invite ' "$IT_OUT/d1-phA.out"
nt_poll 10 natd_has_endpoint "$PHB:20200" udp
tcp_bound=no
natd_has_endpoint "$PHB:2222" tcp && tcp_bound=yes
sc_wait "$d1_uac" 30; sc_wait "$d1_uas" 45
offer=$(grep -m1 '^invite ' "$IT_OUT/d1-phA.out" 2>/dev/null)
d1_tcp_now=$(listener_now lst-c tcp)
if [[ $(kv "$IT_OUT/d1-phB.out" final) == 200 && $offer == *"message:0:TCP/MSRP"* && $offer == *audio:* &&
	$offer != *"audio:0:"* && $tcp_bound == no && $d1_tcp_now == 0 ]]; then
	it_pass d1_tcp_media_declined_by_default
	it_info "d1_tcp_media_declined_by_default: phA got ${offer#*m=}; no TCP binding; phB's 2222/tcp accepted $d1_tcp_now"
else
	it_fail d1_tcp_media_declined_by_default "final=$(kv "$IT_OUT/d1-phB.out" final), phA's offer '$offer', TCP binding for $PHB:2222: $tcp_bound, phB's listener accepted $d1_tcp_now"
fi
# d2: a rule with tcp_media = true binds it, and phA reaches phB's listener
uas_bg phA d2-phA $PHA:5065 30210 --tcp-connect || it_fail d2_uas_ready "sipcall uas did not start"
d2_uas=$SC_PID
sc phB d2-phB uac --bind $PHB:5065 --auth "$PH_AUTH" --proxy 10.1.0.1:5077 --ruri "sip:callee@$PHA:5065" --sdp-ip $PHB \
	--media "audio 20210 RTP/AVP 0" --media "message 2222 TCP/MSRP *" --hold 4
sc_wait "$d2_uas" 45
offer=$(grep -m1 '^invite ' "$IT_OUT/d2-phA.out" 2>/dev/null)
conn=$(kv "$IT_OUT/d2-phA.out" tcp_connect)
d2_tcp_now=$(listener_now lst-c tcp)
if [[ $(kv "$IT_OUT/d2-phB.out" final) == 200 && $conn == *:ok ]] && ((d2_tcp_now > d1_tcp_now)); then
	it_pass d2_tcp_media_bound_where_enabled
	it_info "d2_tcp_media_bound_where_enabled: phA got ${offer#*m=}, connected to $conn; phB's 2222/tcp accepted $d2_tcp_now"
else
	it_fail d2_tcp_media_bound_where_enabled "final=$(kv "$IT_OUT/d2-phB.out" final), phA's offer '$offer', tcp_connect '$conn', phB's listener accepted $d2_tcp_now (before $d1_tcp_now)"
fi

# ------------------------------------------------ b: latch
sip_uac b-reg phB $PHB register-auth.xml --port 5066 --service bob --auth bob --key domain edge.test --proxy 10.1.0.1:5076
sip_wait b-reg 20
sip_assert_call b_phB_registered b-reg
if sip_uas b-phB phB $PHB uas.xml --port 5066 --service bob --rtp-port 20400 --duration 6000; then
	f0=$(filtered_now b0)
	sc phA b-phA uac --bind $PHA:5066 --proxy 203.0.113.1:5076 --ruri "sip:bob@edge.test" --sdp-ip $PHA \
		--media "audio 30400 RTP/AVP 0" --rtp "$FAR:30400:40" --rtp "$ATK:30400:20" --hold 1
	f1=$(filtered_now b1)
	sip_wait b-phB 20
	sip_wait_probe b-phB 8
	counts=$(kv "$IT_OUT/b-phB.rtp" source_counts)
	far=$(tr ',' '\n' <<<"$counts" | sed -n "s|^$FAR:30400/||p")
	if [[ $(kv "$IT_OUT/b-phA.out" final) == 200 ]] && ((${far:-0} >= SIP_RTP_MIN)) &&
		[[ $counts != *"$ATK"* && -n $f0 && -n $f1 ]] && ((f1 - f0 >= 20)); then
		it_pass b_latch_far_end_behind_nat
		it_info "b_latch_far_end_behind_nat: phB's probe got $counts; the later third host's 20 dropped (dropped_filtered $f0 -> $f1)"
	else
		it_fail b_latch_far_end_behind_nat "final=$(kv "$IT_OUT/b-phA.out" final), phB's probe sources '$counts' (want >= $SIP_RTP_MIN from $FAR, none from $ATK), dropped_filtered '$f0' -> '$f1'"
	fi
	sip_assert_no_binding b_no_binding_after_bye "$(kv "$IT_OUT/b-phA.out" callid)" natd
else
	it_fail b_uas_ready "SIPp UAS did not start"
fi

# ------------------------------------------------ e: bindings per user
uas_bg phA e1-phA $PHA:5070 30300 || it_fail e1_uas_ready "sipcall uas did not start"
e1_uas=$SC_PID
sc_bg phB e1-phB uac --bind $PHB:5070 --auth "$PH_AUTH" --proxy 10.1.0.1:5078 --ruri "sip:e1@$PHA:5070" --sdp-ip $PHB \
	--media "audio 20300 RTP/AVP 0" --media "video 20302 RTP/AVP 96" --hold 6
e1_uac=$SC_PID
nt_poll 10 grep -q '^rx status=200' "$IT_OUT/e1-phB.out"
nt_poll 10 natd_has_endpoint "$PHB:20302" udp
# phB again while its first call holds 2 bindings: refused, nothing bound
sc phB e2-phB uac --bind $PHB:5071 --auth "$PH_AUTH" --proxy 10.1.0.1:5078 --ruri "sip:e2@$PHA:5071" --sdp-ip $PHB \
	--media "audio 20310 RTP/AVP 0" --wait 4
e2_bound=no
natd_has_endpoint "$PHB:20310" && e2_bound=yes
# phC beside it: another user, served
uas_bg phA e3-phA $PHA:5072 30320 || it_fail e3_uas_ready "sipcall uas did not start"
e3_uas=$SC_PID
sc phC e3-phC uac --bind $PHC:5072 --auth "$PC_AUTH" --proxy 10.1.0.1:5078 --ruri "sip:e3@$PHA:5072" --sdp-ip $PHC \
	--media "audio 20320 RTP/AVP 0"
sc_wait "$e1_uac" 30; sc_wait "$e1_uas" 45; sc_wait "$e3_uas" 45
if [[ $(kv "$IT_OUT/e1-phB.out" final) == 200 && $(kv "$IT_OUT/e2-phB.out" final) == 403 &&
	$e2_bound == no ]]; then
	it_pass e_cap_refuses_past_max
	it_info "e_cap_refuses_past_max: $(grep -m1 '^rx status=403' "$IT_OUT/e2-phB.out")"
else
	it_fail e_cap_refuses_past_max "first call final=$(kv "$IT_OUT/e1-phB.out" final) (want 200), second INVITE final=$(kv "$IT_OUT/e2-phB.out" final) (want 403), its endpoint bound: $e2_bound"
fi
if [[ $(kv "$IT_OUT/e3-phC.out" final) == 200 && $(kv "$IT_OUT/e3-phC.out" bye) == 200 ]]; then
	it_pass e_other_user_served
else
	it_fail e_other_user_served "phC's call beside: $(tail -n 1 "$IT_OUT/e3-phC.out" 2>/dev/null)"
fi
# phB's first call over (BYE): its bindings are gone, phB may call again
uas_bg phA e4-phA $PHA:5073 30330 || it_fail e4_uas_ready "sipcall uas did not start"
e4_uas=$SC_PID
sc phB e4-phB uac --bind $PHB:5073 --auth "$PH_AUTH" --proxy 10.1.0.1:5078 --ruri "sip:e4@$PHA:5073" --sdp-ip $PHB \
	--media "audio 20330 RTP/AVP 0"
sc_wait "$e4_uas" 45
if [[ $(kv "$IT_OUT/e1-phB.out" bye) == 200 && $(kv "$IT_OUT/e4-phB.out" final) == 200 ]]; then
	it_pass e_cap_freed_after_bye
else
	it_fail e_cap_freed_after_bye "first call's BYE: $(kv "$IT_OUT/e1-phB.out" bye), phB's later call: final=$(kv "$IT_OUT/e4-phB.out" final)"
fi
# ------------------------------------------------ f: a 2xx nobody ACKs
uas_bg phA f-phA $PHA:5074 30340 || it_fail f_uas_ready "sipcall uas did not start"
f_uas=$SC_PID
sc phB f-phB uac --bind $PHB:5074 --auth "$PH_AUTH" --proxy 10.1.0.1:5078 --ruri "sip:f@$PHA:5074" --sdp-ip $PHB \
	--media "audio 20340 RTP/AVP 0" --no-ack
f_cid=$(kv "$IT_OUT/f-phB.out" callid)
f_t0=$(date +%s)
f_bound=no
natd_has_endpoint "$PHB:20340" udp && f_bound=yes
if [[ $(kv "$IT_OUT/f-phB.out" final) == 200 && $f_bound == yes ]] && nt_poll 9 sip_no_bindings natd "$f_cid"; then
	it_pass f_unacked_2xx_leaves_no_binding
	it_info "f_unacked_2xx_leaves_no_binding: bound after the 200, gone $(( $(date +%s) - f_t0 )) s later without ACK or BYE"
else
	it_fail f_unacked_2xx_leaves_no_binding "final=$(kv "$IT_OUT/f-phB.out" final), bound after the 200: $f_bound, still bound: $(sip_bindings_of natd "$f_cid" | head -c 300)"
fi
kill -TERM "$f_uas" 2>/dev/null; sc_wait "$f_uas" 5

for c in a2-phB d1-phB d2-phB e1-phB e3-phC e4-phB; do
	sip_assert_no_binding "${c//-/_}_no_binding_after_bye" "$(kv "$IT_OUT/$c.out" callid)" natd
done

for p in proxy proxy-latch proxy-tcp proxy-cap; do
	sip_assert_proxy_alive "${p//-/_}_alive_at_end" "$p"
done
# every call from an inside phone went through the digest challenge (no
# phone is a trusted peer)
for n in a2-phB d1-phB d2-phB e1-phB e2-phB e3-phC e4-phB f-phB; do
	it_check "${n//-/_}_invite_authenticated" "no challenged=407 in $n.out: $(head -n 3 "$IT_OUT/$n.out" 2>/dev/null | tr '\n' ' ')" \
		grep -q '^challenged=407' "$IT_OUT/$n.out"
done
it_done
