#!/usr/bin/python3
"""siptls -- a bounded SIP-over-TLS phone for the TLS tests (python3, stdlib
only). SIPp of Debian 12 is built without TLS; this speaks just enough SIP
over one TLS connection (RFC 3261 sections 18 and 26) to register, answer
and make a call through the proxy, and to misbehave at the TLS layer.

    siptls.py answer --bind IP --proxy IP:PORT --ca FILE --name NAME
                     --user U --password PW --domain D [--timeout S]
        Connect (certificate verified against --ca for NAME), REGISTER
        U@D (answering the 401, MD5), keep the connection, answer the
        first INVITE with 180 then 200 (SDP c=--bind), wait for its ACK
        and BYE (200), then exit.
    siptls.py call --bind IP --proxy IP:PORT --ca FILE --name NAME
                   --ruri URI [--cert FILE --key FILE] [--timeout S]
        INVITE URI over TLS, ACK the 2xx along its Record-Route (loose
        routing: Route = the Record-Route reversed), BYE the same way.
    siptls.py silent|garbage --bind IP --proxy IP:PORT [--timeout S]
        A TCP connection that never starts a handshake (until the proxy
        closes it or --timeout), or that sends a SIP request in clear.

Prints key=value lines to --out FILE (or stdout) as they come:
    "connected=1 version=TLSv1.3 peer_cn=..." or "connect_error=REASON",
    "rx status=N cseq=METHOD" per response, "rx request=METHOD" per request,
    "via=..." and "record_route=..." of the messages received,
    "registered=1", "answered=1", "acked=1", "bye=200", "closed_by_peer=1
    after_s=S", "done=1". Exit status 0 when the mode's goal was reached.
Every wait is bounded by --timeout; nothing here loops without a deadline.
"""
import argparse
import hashlib
import random
import re
import socket
import ssl
import sys
import time


class Out:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1) if path else sys.stdout

    def __call__(self, s):
        self.f.write(s + "\n")
        self.f.flush()


def hostport(s):
    h, _, p = s.rpartition(":")
    return (h, int(p))


def tag():
    return "%08x" % random.getrandbits(32)


class Conn:
    """One TLS connection and the stream framer (Content-Length)."""

    def __init__(self, a, out):
        self.out, self.buf, self.deadline = out, b"", time.monotonic() + a.timeout
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_verify_locations(a.ca)
        if a.cert:
            ctx.load_cert_chain(a.cert, a.key)
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.bind((a.bind, 0))
        raw.settimeout(a.timeout)
        raw.connect(hostport(a.proxy))
        self.local = raw.getsockname()
        self.s = ctx.wrap_socket(raw, server_hostname=a.name)
        cn = dict(x[0] for x in self.s.getpeercert()["subject"]).get("commonName", "-")
        out("connected=1 version=%s peer_cn=%s" % (self.s.version(), cn))

    def send(self, text):
        self.s.sendall(text.encode())

    def recv(self):
        """The next message (start line, header lines, body), or None at EOF/deadline."""
        while True:
            m = re.search(rb"\r\n\r\n", self.buf)
            if m:
                head = self.buf[: m.start()].decode(errors="replace")
                cl = re.search(r"(?im)^(content-length|l)\s*:\s*(\d+)", head)
                n = m.end() + (int(cl.group(2)) if cl else 0)
                if len(self.buf) >= n:
                    msg, self.buf = self.buf[:n].decode(errors="replace"), self.buf[n:]
                    head, _, body = msg.partition("\r\n\r\n")
                    lines = head.split("\r\n")
                    return lines[0], lines[1:], body
            left = self.deadline - time.monotonic()
            if left <= 0:
                return None
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except (socket.timeout, ssl.SSLError, OSError):
                return None
            if not d:
                return None
            self.buf += d


def hget(lines, name, all_=False):
    out = [l.partition(":")[2].strip() for l in lines if l.partition(":")[0].strip().lower() == name.lower()]
    return out if all_ else (out[0] if out else None)


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def digest(lines, method, uri, user, pw):
    ch = hget(lines, "WWW-Authenticate") or hget(lines, "Proxy-Authenticate")
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', ch))
    cnonce, nc = "%016x" % random.getrandbits(64), "00000001"
    ha1, ha2 = md5("%s:%s:%s" % (user, p["realm"], pw)), md5("%s:%s" % (method, uri))
    resp = md5("%s:%s:%s:%s:auth:%s" % (ha1, p["nonce"], nc, cnonce, ha2))
    v = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=MD5, '
         'qop=auth, nc=%s, cnonce="%s"' % (user, p["realm"], p["nonce"], uri, resp, nc, cnonce))
    if "opaque" in p:
        v += ', opaque="%s"' % p["opaque"]
    return v


def request(c, method, ruri, cseq, frm, to, callid, routes=(), body="", extra=()):
    br = "z9hG4bK" + tag()
    hs = ["%s %s SIP/2.0" % (method, ruri),
          "Via: SIP/2.0/TLS %s:%d;branch=%s;alias" % (c.local[0], c.local[1], br),
          "Max-Forwards: 70", "From: %s" % frm, "To: %s" % to, "Call-ID: %s" % callid,
          "CSeq: %d %s" % (cseq, method), "Contact: <sip:%s:%d;transport=tls>" % c.local]
    hs += ["Route: %s" % r for r in routes] + list(extra)
    if body:
        hs.append("Content-Type: application/sdp")
    hs.append("Content-Length: %d" % len(body.encode()))
    c.send("\r\n".join(hs) + "\r\n\r\n" + body)
    return br


def sdp(ip, port):
    return ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" % (ip, ip, port))


def final(c, out, method):
    """Responses to the last request until a final one: (status, lines, body) or None."""
    while True:
        m = c.recv()
        if m is None:
            return None
        start, lines, body = m
        if not start.startswith("SIP/2.0 "):
            out("rx request=%s" % start.split()[0])
            continue
        st = int(start.split()[1])
        out("rx status=%d cseq=%s" % (st, (hget(lines, "CSeq") or "").split()[-1]))
        for rr in hget(lines, "Record-Route", True):
            out("record_route=%s" % rr)
        if st >= 200 and (hget(lines, "CSeq") or "").endswith(method):
            return st, lines, body


def answer(a, out):
    c = Conn(a, out)
    aor = "sip:%s@%s" % (a.user, a.domain)
    frm, cid = "<%s>;tag=%s" % (aor, tag()), "reg-%s" % tag()
    request(c, "REGISTER", "sip:" + a.domain, 1, frm, "<%s>" % aor, cid, extra=["Expires: 300"])
    r = final(c, out, "REGISTER")
    if r and r[0] == 401:
        request(c, "REGISTER", "sip:" + a.domain, 2, frm, "<%s>" % aor, cid,
                extra=["Expires: 300", "Authorization: " + digest(r[1], "REGISTER", "sip:" + a.domain, a.user, a.password)])
        r = final(c, out, "REGISTER")
    if not r or r[0] != 200:
        out("registered=0")
        return 1
    out("registered=1")
    to_tag, got_ack = tag(), False
    while True:
        m = c.recv()
        if m is None:
            out("done=0")
            return 1
        start, lines, body = m
        if start.startswith("SIP/2.0"):
            continue
        method = start.split()[0]
        out("rx request=%s" % method)
        for v in hget(lines, "Via", True):
            out("via=%s" % v)
        for rr in hget(lines, "Record-Route", True):
            out("record_route=%s" % rr)
        keep = [l for l in lines if l.partition(":")[0].strip().lower() in
                ("via", "from", "call-id", "cseq", "record-route")]
        to = hget(lines, "To")

        def reply(status, reason, body=""):
            t = to if ";tag=" in to else "%s;tag=%s" % (to, to_tag)
            hs = ["SIP/2.0 %d %s" % (status, reason)] + keep + ["To: " + t]
            if body:
                hs += ["Contact: <sip:%s:%d;transport=tls>" % c.local, "Content-Type: application/sdp"]
            hs.append("Content-Length: %d" % len(body.encode()))
            c.send("\r\n".join(hs) + "\r\n\r\n" + body)

        if method == "INVITE":
            reply(180, "Ringing")
            reply(200, "OK", sdp(a.bind, 40010))
            out("answered=1")
        elif method == "ACK":
            got_ack = True
            out("acked=1")
        elif method == "BYE":
            reply(200, "OK")
            out("bye=200")
            out("done=%d" % (1 if got_ack else 0))
            return 0 if got_ack else 1
        elif method != "ACK":
            reply(200, "OK")


def call(a, out):
    c = Conn(a, out)
    frm, cid = "<sip:caller@%s>;tag=%s" % (a.bind, tag()), "call-%s" % tag()
    request(c, "INVITE", a.ruri, 1, frm, "<%s>" % a.ruri, cid, body=sdp(a.bind, 40020))
    r = final(c, out, "INVITE")
    if not r:
        out("final=none")
        return 1
    st, lines, _ = r
    to = hget(lines, "To")
    if st >= 300:
        request(c, "ACK", a.ruri, 1, frm, to, cid)  # hop-by-hop ACK of a failure
        out("final=%d" % st)
        return 1
    contact = re.search(r"<([^>]+)>", hget(lines, "Contact") or "<%s>" % a.ruri).group(1)
    routes = list(reversed(hget(lines, "Record-Route", True)))
    request(c, "ACK", contact, 1, frm, to, cid, routes)
    out("final=200")
    request(c, "BYE", contact, 2, frm, to, cid, routes)
    r = final(c, out, "BYE")
    out("bye=%s" % (r[0] if r else "none"))
    out("done=%d" % (1 if r and r[0] == 200 else 0))
    return 0 if r and r[0] == 200 else 1


def misbehave(a, out):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((a.bind, 0))
    s.settimeout(a.timeout)
    s.connect(hostport(a.proxy))
    t0 = time.monotonic()
    if a.mode == "garbage":
        s.sendall(b"OPTIONS sip:edge.test SIP/2.0\r\nVia: SIP/2.0/TCP %s:1;branch=z9hG4bKx\r\n"
                  b"Content-Length: 0\r\n\r\n" % a.bind.encode())
    try:
        while s.recv(4096):
            pass
        out("closed_by_peer=1 after_s=%.1f" % (time.monotonic() - t0))
        return 0
    except ConnectionResetError:  # closed with unread bytes: a reset
        out("closed_by_peer=1 reset=1 after_s=%.1f" % (time.monotonic() - t0))
        return 0
    except (socket.timeout, OSError) as e:
        out("closed_by_peer=0 error=%s after_s=%.1f" % (type(e).__name__, time.monotonic() - t0))
        return 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["answer", "call", "silent", "garbage"])
    p.add_argument("--bind", required=True)
    p.add_argument("--proxy", required=True)
    p.add_argument("--ca")
    p.add_argument("--name")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--domain")
    p.add_argument("--ruri")
    p.add_argument("--timeout", type=float, default=20)
    p.add_argument("--out")
    a = p.parse_args()
    out = Out(a.out)
    try:
        if a.mode in ("silent", "garbage"):
            return misbehave(a, out)
        return (answer if a.mode == "answer" else call)(a, out)
    except (ssl.SSLError, OSError) as e:
        out("connect_error=%s" % str(e).replace(" ", "_")[:200])
        return 1


if __name__ == "__main__":
    sys.exit(main())
