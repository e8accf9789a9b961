#!/usr/bin/python3
"""sipcall -- a bounded, hand-driven SIP caller and answerer for the hostile
media tests (python3, stdlib only). Unlike SIPp it lets a test choose every
SDP line and send RTP from any source address, which is what an attacker
(or a far end behind its own NAT) does.

    sipcall.py uac --bind IP:PORT --proxy IP:PORT --ruri URI --sdp-ip IP
                   --media "MEDIA PORT PROTO FMT..." [--media ...]
                   [--rtp SRC_IP:SRC_PORT:COUNT]... [--hold S] [--no-bye] [--no-ack]
                   [--wait S] [--out FILE] [--auth USER:PASSWORD@DOMAIN]
        INVITE through the proxy with that SDP (c= --sdp-ip), ACK the
        final (with --auth, From is USER@DOMAIN and a 407 is ACKed and
        answered once: the INVITE again with CSeq 2 and a Proxy-Authorization,
        MD5, qop=auth, RFC 2617 / RFC 3261 22.3); on a 2xx: send each --rtp burst (COUNT RTP packets, 10 ms
        apart, from SRC) to the answer's first m= port, stay --hold
        seconds, then BYE (unless --no-bye; --no-ack: neither ACK nor BYE
        the 2xx, as a caller that vanished).
    sipcall.py uas --bind IP:PORT --sdp-ip IP --sdp-port N [--calls N]
                   [--timeout S] [--tcp-connect] [--ring S] [--rtp-after-ack N]
                   [--out FILE] [--ready FILE]
        Answer every INVITE 200 (SDP: one audio stream at --sdp-ip:--sdp-port;
        with --ring, 180 at once and the 200 S seconds later), every BYE 200;
        after the ACK: with --tcp-connect, try a TCP connection to each TCP
        m= line of the offer (2 s, up to 3 tries); with --rtp-after-ack, send
        N RTP packets (10 ms apart) from --sdp-port to the offer's first
        stream. Ends after --calls BYEs or --timeout seconds.

Prints key=value lines (to --out FILE as they come, else stdout):
    uac: "rx status=N reason=R warning=W" per response, then
         "final=N answer_c=IP answer_m=media:port:proto,... rtp_sent=N bye=N|none"
    uas: "invite callid=C c=IP m=media:port:proto,..." per INVITE,
         "tcp_connect=IP:PORT:ok|refused|timeout", then "byes=N done=1".
Every wait is bounded; nothing here loops without a deadline.
"""
import argparse
import hashlib
import random
import re
import socket
import struct
import sys
import time

T1 = 0.5


def hostport(s):
    h, _, p = s.rpartition(":")
    return (h, int(p))


def hget(lines, name, all_=False):
    out = []
    for l in lines:
        k, _, v = l.partition(":")
        if k.strip().lower() == name.lower():
            out.append(v.strip())
    return out if all_ else (out[0] if out else None)


def split(data):
    text = data.decode(errors="replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    return lines[0], lines[1:], body


def sdp_of(body):
    c, ms = None, []
    for l in body.splitlines():
        if l.startswith("c=") and c is None:
            c = l.split()[-1]
        elif l.startswith("m="):
            f = l[2:].split()
            if len(f) >= 3:
                ms.append("%s:%s:%s" % (f[0], f[1], f[2]))
    return c, ms


def uri_of(v):
    """The URI inside a name-addr (<...>) or the value itself."""
    if v and "<" in v:
        return v[v.index("<") + 1:v.index(">")]
    return v.split(";")[0] if v else v


class Out:
    """key=value lines, to stdout or (written as they come) to a file."""
    def __init__(self, path):
        self.f = open(path, "w") if path else sys.stdout

    def __call__(self, s):
        self.f.write(s + "\n")
        self.f.flush()

    def close(self):
        if self.f is not sys.stdout:
            self.f.close()


def rtp(seq):
    return struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, 0x5eed) + b"\x00" * 160


def transact(s, data, dest, want_final, deadline, out, method):
    """Send data (retransmitted at T1 doubling), gather responses for
    method until a final one (or deadline). Returns the final (status,
    lines, body, raw) or None."""
    nxt, iv = time.monotonic(), T1
    got_any = False
    while time.monotonic() < deadline:
        now = time.monotonic()
        if not got_any and now >= nxt:
            s.sendto(data, dest)
            nxt, iv = now + iv, min(iv * 2, 4.0)
        s.settimeout(max(0.01, min(nxt if not got_any else deadline, deadline) - now))
        try:
            buf, _ = s.recvfrom(65535)
        except socket.timeout:
            continue
        start, lines, body = split(buf)
        p = start.split(" ", 2)
        if p[0] != "SIP/2.0" or len(p) < 2 or not p[1].isdigit():
            continue
        cseq = hget(lines, "CSeq") or ""
        if not cseq.endswith(method):
            continue
        st = int(p[1])
        got_any = True
        out("rx status=%d reason=%s warning=%s" % (st, (p[2] if len(p) > 2 else "").replace(" ", "_"),
                                                   (hget(lines, "Warning") or "").replace(" ", "_")))
        if st >= 200 or not want_final:
            return st, lines, body, buf
    return None


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def digest(lines, method, uri, user, pw):
    """The Proxy-Authorization answering the MD5 challenge among lines'
    Proxy-Authenticate headers, or None."""
    for ch in hget(lines, "Proxy-Authenticate", True):
        p = dict((k.lower(), v1 or v2) for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', ch))
        if p.get("algorithm", "MD5").upper() != "MD5" or "nonce" not in p:
            continue
        ha1, ha2 = md5("%s:%s:%s" % (user, p.get("realm", ""), pw)), md5("%s:%s" % (method, uri))
        cnonce, nc, extra = "%08x" % random.getrandbits(32), "00000001", ""
        if "auth" in p.get("qop", "").split(","):
            resp = md5("%s:%s:%s:%s:auth:%s" % (ha1, p["nonce"], nc, cnonce, ha2))
            extra = ', qop=auth, nc=%s, cnonce="%s"' % (nc, cnonce)
        else:
            resp = md5("%s:%s:%s" % (ha1, p["nonce"], ha2))
        if "opaque" in p:
            extra += ', opaque="%s"' % p["opaque"]
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", '
                'algorithm=MD5%s') % (user, p.get("realm", ""), p["nonce"], uri, resp, extra)
    return None


def uac(a):
    out = Out(a.out)
    user = pw = None
    if a.auth:
        user, rest = a.auth.split(":", 1)
        pw, domain = rest.rsplit("@", 1)
    lip, lport = a.bind
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(a.bind)
    tag = "%08x" % random.getrandbits(32)
    cid = "sipcall-%08x@%s" % (random.getrandbits(32), lip)
    sdp = "v=0\r\no=atk 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n" % (a.sdp_ip, a.sdp_ip)
    for m in a.media:
        sdp += "m=%s\r\n" % m
    from_aor = "%s@%s" % (user, domain) if user else "caller@%s" % lip
    def req(method, ruri, cseq, to, routes=(), body="", extra=()):
        br = "z9hG4bK-sc-%08x" % random.getrandbits(32)
        h = ["%s %s SIP/2.0" % (method, ruri),
             "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (lip, lport, br),
             "From: <sip:%s>;tag=%s" % (from_aor, tag), "To: %s" % to, "Call-ID: %s" % cid,
             "CSeq: %d %s" % (cseq, method), "Contact: <sip:caller@%s:%d>" % (lip, lport),
             "Max-Forwards: 70"] + ["Route: %s" % r for r in routes] + list(extra)
        if body:
            h.append("Content-Type: application/sdp")
        h.append("Content-Length: %d" % len(body))
        return ("\r\n".join(h) + "\r\n\r\n" + body).encode()
    out("callid=%s" % cid)
    icseq = 1
    inv = req("INVITE", a.ruri, icseq, "<%s>" % a.ruri, body=sdp)
    r = transact(s, inv, a.proxy, True, time.monotonic() + a.wait, out, "INVITE")
    def ack_non2xx(inv, to):
        # hop-by-hop ACK of a non-2xx (RFC 3261 17.1.1.3): the INVITE's Via
        ih = inv.decode().split("\r\n")
        ack = ["ACK %s SIP/2.0" % a.ruri, hget(ih[1:], "Via") and "Via: " + hget(ih[1:], "Via"),
               "From: " + hget(ih[1:], "From"), "To: " + to, "Call-ID: " + cid, "CSeq: %d ACK" % icseq,
               "Max-Forwards: 70", "Content-Length: 0"]
        s.sendto(("\r\n".join(ack) + "\r\n\r\n").encode(), a.proxy)
    if r and r[0] == 407 and user:
        auth = digest(r[1], "INVITE", a.ruri, user, pw)
        if auth:
            ack_non2xx(inv, hget(r[1], "To"))
            out("challenged=407")
            icseq = 2
            inv = req("INVITE", a.ruri, icseq, "<%s>" % a.ruri, body=sdp,
                      extra=("Proxy-Authorization: " + auth,))
            r = transact(s, inv, a.proxy, True, time.monotonic() + a.wait, out, "INVITE")
    final, ans_c, ans_m, sent, bye = "none", "", [], 0, "none"
    if r:
        st, lines, body, raw = r
        final = st
        to = hget(lines, "To")
        if st >= 300:
            ack_non2xx(inv, to)
        else:
            ans_c, ans_m = sdp_of(body)
            routes = list(reversed(hget(lines, "Record-Route", True)))
            # a Record-Route header may hold several entries
            routes = [x.strip() for r_ in routes for x in reversed(r_.split(","))] if routes else []
            target = uri_of(hget(lines, "Contact")) or a.ruri
            if not a.no_ack:
                s.sendto(req("ACK", target, icseq, to, routes), a.proxy)
            if ans_c and ans_m and a.rtp:
                time.sleep(0.5)  # the callee's media starts with the ACK
                dst = (ans_c, int(ans_m[0].split(":")[1]))
                for spec in a.rtp:
                    sip_, sport, count = spec.rsplit(":", 2)
                    r_s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    r_s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    r_s.bind((sip_, int(sport)))
                    for i in range(min(int(count), 500)):
                        r_s.sendto(rtp(i), dst)
                        sent += 1
                        time.sleep(0.01)
                    r_s.close()
                    out("rtp_burst from=%s:%s to=%s:%d count=%s" % (sip_, sport, dst[0], dst[1], count))
            time.sleep(min(a.hold, 60))
            if not a.no_bye and not a.no_ack:
                rb = transact(s, req("BYE", target, icseq + 1, to, routes), a.proxy, True,
                              time.monotonic() + 8, out, "BYE")
                bye = rb[0] if rb else "none"
    out("final=%s answer_c=%s answer_m=%s rtp_sent=%d bye=%s" % (final, ans_c or "", ",".join(ans_m),
                                                                sent, bye))
    out.close()


def uas(a):
    out = Out(a.out)
    lip, lport = a.bind
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(a.bind)
    if a.ready:
        open(a.ready, "w").write("ready\n")
    deadline = time.monotonic() + a.timeout
    answered, offers, byes = {}, {}, 0
    rung, acked = set(), set()
    ringing = {}  # callid -> (due time, reply function)
    while time.monotonic() < deadline and byes < a.calls:
        now = time.monotonic()
        for k in [k for k, v in ringing.items() if v[0] <= now]:
            due, data, dest = ringing.pop(k)
            s.sendto(data, dest)
            out("answered callid=%s" % k)
        wake = min([v[0] for v in ringing.values()] + [deadline])
        s.settimeout(max(0.01, wake - time.monotonic()))
        try:
            buf, peer = s.recvfrom(65535)
        except socket.timeout:
            continue
        start, lines, body = split(buf)
        method = start.split(" ", 1)[0]
        cid = hget(lines, "Call-ID") or ""
        def response(status, reason, to, sdp=""):
            h = ["SIP/2.0 %d %s" % (status, reason)] + ["Via: %s" % v for v in hget(lines, "Via", True)]
            h += ["Record-Route: %s" % v for v in hget(lines, "Record-Route", True)]
            h += ["From: %s" % hget(lines, "From"), "To: %s" % to, "Call-ID: %s" % cid,
                  "CSeq: %s" % hget(lines, "CSeq"), "Contact: <sip:callee@%s:%d>" % (lip, lport)]
            if sdp:
                h.append("Content-Type: application/sdp")
            h.append("Content-Length: %d" % len(sdp))
            return ("\r\n".join(h) + "\r\n\r\n" + sdp).encode()
        def reply(status, reason, to, sdp=""):
            s.sendto(response(status, reason, to, sdp), peer)
        to = hget(lines, "To") or ""
        if method == "INVITE":
            if cid not in answered:
                c, ms = sdp_of(body)
                offers[cid] = (c, ms)
                out("invite callid=%s c=%s m=%s" % (cid, c, ",".join(ms)))
                answered[cid] = to if ";tag=" in to else to + ";tag=%08x" % random.getrandbits(32)
            sdp = ("v=0\r\no=uas 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                   "m=audio %d RTP/AVP 0\r\n") % (a.sdp_ip, a.sdp_ip, a.sdp_port)
            if a.ring and not ringing.get(cid) and cid not in rung:
                rung.add(cid)
                reply(180, "Ringing", answered[cid])
                out("ringing callid=%s" % cid)
                ringing[cid] = (time.monotonic() + a.ring, response(200, "OK", answered[cid], sdp), peer)
            elif not ringing.get(cid):
                reply(200, "OK", answered[cid], sdp=sdp)
        elif method == "ACK" and cid not in acked:
            acked.add(cid)
            if a.rtp_after_ack and cid in offers and offers[cid][0] and offers[cid][1]:
                c, ms = offers[cid]
                r_s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                r_s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                r_s.bind((a.sdp_ip, a.sdp_port))
                for i in range(min(a.rtp_after_ack, 500)):
                    r_s.sendto(rtp(i), (c, int(ms[0].split(":")[1])))
                    time.sleep(0.01)
                r_s.close()
                out("rtp_sent=%d to=%s:%s" % (min(a.rtp_after_ack, 500), c, ms[0].split(":")[1]))
            if a.tcp_connect and cid in offers:
                c, ms = offers[cid]
                for m in ms:
                    media, port, proto = m.split(":", 2)
                    if not proto.upper().startswith("TCP") or port == "0":
                        continue
                    res = "timeout"
                    for _ in range(3):
                        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                        t.settimeout(2)
                        try:
                            t.connect((c, int(port)))
                            res = "ok"
                        except ConnectionRefusedError:
                            res = "refused"
                        except OSError:
                            res = "timeout"
                        t.close()
                        if res == "ok":
                            break
                        time.sleep(0.5)
                    out("tcp_connect=%s:%s:%s" % (c, port, res))
        elif method == "BYE":
            reply(200, "OK", to)
            byes += 1
        elif method not in ("CANCEL", "ACK"):
            reply(200, "OK", to)
    out("byes=%d done=1" % byes)
    out.close()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    u = sub.add_parser("uac")
    u.add_argument("--bind", type=hostport, required=True)
    u.add_argument("--proxy", type=hostport, required=True)
    u.add_argument("--ruri", required=True)
    u.add_argument("--sdp-ip", required=True)
    u.add_argument("--media", action="append", required=True)
    u.add_argument("--rtp", action="append", default=[])
    u.add_argument("--hold", type=float, default=0)
    u.add_argument("--no-bye", action="store_true")
    u.add_argument("--no-ack", action="store_true")
    u.add_argument("--wait", type=float, default=8)
    u.add_argument("--out")
    u.add_argument("--auth", default="")
    v = sub.add_parser("uas")
    v.add_argument("--bind", type=hostport, required=True)
    v.add_argument("--sdp-ip", required=True)
    v.add_argument("--sdp-port", type=int, required=True)
    v.add_argument("--calls", type=int, default=1)
    v.add_argument("--timeout", type=float, default=30)
    v.add_argument("--tcp-connect", action="store_true")
    v.add_argument("--ring", type=float, default=0)
    v.add_argument("--rtp-after-ack", type=int, default=0)
    v.add_argument("--out")
    v.add_argument("--ready")
    a = ap.parse_args()
    (uac if a.cmd == "uac" else uas)(a)


main()
