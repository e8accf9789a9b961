#!/usr/bin/python3
"""sipauth -- a small SIP client for the authentication tests (python3, stdlib only).

Sends a REGISTER (or an INVITE without body) over UDP from --bind to
--proxy, reads the answer and, when it is a 401/407 challenge and a
password is given, sends the request again (CSeq + 1, same Call-ID and
From tag) with credentials for the first challenge whose algorithm it
knows (SHA-256 or MD5, qop=auth). Every attempt is bounded (--timeout per
answer, one retransmission).

    sipauth.py --bind IP --proxy IP:PORT --user USER --domain DOMAIN
               [--method REGISTER|INVITE] [--from-user USER] [--to-user USER]
               [--contact URI | --star] [--expires N] [--password PW]
               [--algorithm MD5|SHA-256] [--header 'Name: value'] [--count N]
               [--timeout S] [--out FILE]

--header adds a raw header line to the first request (a captured
Authorization to replay, for instance). --count repeats the whole exchange
(a new Call-ID each time). Prints key=value lines, one per attempt:

    attempt=1 first=401 final=401 stale=0 reason=Unauthorized challenge=<digest of the challenge headers, nonces removed>
    challenge_text=<the challenge header lines, nonces replaced by N, ' | ' separated>
    headers=<the header names of the final answer, sorted, comma separated>

and a last line "done=1". Exit status 0 when every exchange got an answer,
1 when one did not, 2 on usage errors.
"""
import argparse
import hashlib
import os
import random
import re
import socket
import sys


def parse_resp(data):
    text = data.decode("utf-8", "replace")
    head = text.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")
    m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
    if not m:
        return None
    hdrs = []
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            hdrs.append((k.strip(), v.strip()))
    return int(m.group(1)), m.group(2), hdrs


def param(v, name):
    m = re.search(r'(?:^|[ ,])%s="?([^",]*)"?' % re.escape(name), v)
    return m.group(1) if m else None


def h(alg, s):
    return (hashlib.sha256 if alg == "SHA-256" else hashlib.md5)(s.encode()).hexdigest()


class Client:
    def __init__(self, a):
        self.a = a
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((a.bind, a.port))
        self.lport = self.sock.getsockname()[1]
        host, _, port = a.proxy.partition(":")
        self.dst = (host, int(port or 5060))

    def request(self, call_id, ftag, cseq, extra):
        a = self.a
        branch = "z9hG4bK%016x" % random.getrandbits(64)
        to_user = a.to_user or a.user
        from_user = a.from_user or a.user
        if a.method == "REGISTER":
            ruri = "sip:%s" % a.domain
        else:
            ruri = "sip:%s@%s" % (to_user, a.domain)
        lines = [
            "%s %s SIP/2.0" % (a.method, ruri),
            "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (a.bind, self.lport, branch),
            "Max-Forwards: 70",
            "From: <sip:%s@%s>;tag=%s" % (from_user, a.domain, ftag),
            "To: <sip:%s@%s>" % (to_user, a.domain),
            "Call-ID: %s" % call_id,
            "CSeq: %d %s" % (cseq, a.method),
        ]
        if a.star:
            lines.append("Contact: *")
        else:
            lines.append("Contact: <%s>" % (a.contact or "sip:%s@%s:%d" % (from_user, a.bind, self.lport)))
        if a.method == "REGISTER":
            lines.append("Expires: %d" % a.expires)
        lines += extra
        lines.append("User-Agent: natedge-sipauth")
        lines.append("Content-Length: 0")
        return ruri, ("\r\n".join(lines) + "\r\n\r\n").encode()

    def exchange(self, msg, cseq):
        """Send msg, return the first final answer (or None), bounded."""
        for _ in range(2):
            self.sock.sendto(msg, self.dst)
            self.sock.settimeout(self.a.timeout)
            try:
                while True:
                    data, _ = self.sock.recvfrom(65535)
                    r = parse_resp(data)
                    if not r or r[0] < 200:
                        continue
                    cs = dict((k.lower(), v) for k, v in r[2]).get("cseq", "")
                    if not cs.startswith("%d " % cseq):
                        continue
                    return r
            except socket.timeout:
                continue
        return None

    def ack(self, call_id, ftag, cseq, resp, ruri, branch_msg):
        # ACK for a non-2xx final to an INVITE: same branch, To with its tag
        a = self.a
        via = re.search(rb"Via: ([^\r]*)", branch_msg).group(1).decode()
        to = dict((k.lower(), v) for k, v in resp[2]).get("to", "")
        lines = ["ACK %s SIP/2.0" % ruri, "Via: %s" % via, "Max-Forwards: 70",
                 "From: <sip:%s@%s>;tag=%s" % (a.from_user or a.user, a.domain, ftag),
                 "To: %s" % to, "Call-ID: %s" % call_id, "CSeq: %d ACK" % cseq,
                 "Content-Length: 0"]
        self.sock.sendto(("\r\n".join(lines) + "\r\n\r\n").encode(), self.dst)

    def credentials(self, resp, ruri):
        a = self.a
        hname = "WWW-Authenticate" if resp[0] == 401 else "Proxy-Authenticate"
        chal = [v for k, v in resp[2] if k.lower() == hname.lower()]
        for v in chal:
            alg = param(v, "algorithm") or "MD5"
            if a.algorithm and alg != a.algorithm:
                continue
            if alg not in ("MD5", "SHA-256"):
                continue
            realm, nonce = param(v, "realm"), param(v, "nonce")
            cnonce = "%08x" % random.getrandbits(32)
            nc = "00000001"
            ha1 = h(alg, "%s:%s:%s" % (a.user, realm, a.password))
            ha2 = h(alg, "%s:%s" % (a.method, ruri))
            resp_ = h(alg, "%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
            name = "Authorization" if resp[0] == 401 else "Proxy-Authorization"
            return ('%s: Digest username="%s", realm="%s", nonce="%s", uri="%s", '
                    'response="%s", algorithm=%s, cnonce="%s", qop=auth, nc=%s'
                    % (name, a.user, realm, nonce, ruri, resp_, alg, cnonce, nc))
        return None


def summary(resp):
    if not resp:
        return "none", "", "", 0
    chal = [v for k, v in resp[2] if k.lower() in ("www-authenticate", "proxy-authenticate")]
    norm = [re.sub(r'nonce="[^"]*"', 'nonce="N"', v) for v in chal]
    stale = int(any("stale=true" in v.lower() for v in chal))
    names = ",".join(sorted(set(k.lower() for k, _ in resp[2])))
    return " | ".join(norm), hashlib.sha1(" | ".join(norm).encode()).hexdigest()[:16], names, stale


def main():
    p = argparse.ArgumentParser(description="sipauth: REGISTER/INVITE with digest answers")
    p.add_argument("--bind", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--proxy", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--from-user")
    p.add_argument("--to-user")
    p.add_argument("--domain", required=True)
    p.add_argument("--method", default="REGISTER", choices=["REGISTER", "INVITE"])
    p.add_argument("--contact")
    p.add_argument("--star", action="store_true")
    p.add_argument("--expires", type=int, default=300)
    p.add_argument("--password")
    p.add_argument("--algorithm", choices=["MD5", "SHA-256"])
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--out")
    a = p.parse_args()
    if a.count < 1 or a.count > 1000:
        p.error("--count 1..1000")
    c = Client(a)
    out, rc = [], 0
    for i in range(1, a.count + 1):
        call_id = "%016x@%s" % (random.getrandbits(64), a.bind)
        ftag = "%08x" % random.getrandbits(32)
        ruri, msg = c.request(call_id, ftag, 1, a.header)
        first = c.exchange(msg, 1)
        final = first
        if first and a.method == "INVITE":
            c.ack(call_id, ftag, 1, first, ruri, msg)
        if first and first[0] in (401, 407) and a.password is not None:
            cred = c.credentials(first, ruri)
            if cred:
                ruri, msg2 = c.request(call_id, ftag, 2, [cred])
                final = c.exchange(msg2, 2)
                if final and a.method == "INVITE" and final[0] >= 300:
                    c.ack(call_id, ftag, 2, final, ruri, msg2)
        if not final:
            rc = 1
        text, digest, names, stale = summary(final)
        out.append("attempt=%d first=%s final=%s stale=%d reason=%s challenge=%s"
                   % (i, first[0] if first else "none", final[0] if final else "none", stale,
                      (final[1] if final else "").replace(" ", "_"), digest or "-"))
        out.append("challenge_text=%s" % text)
        out.append("headers=%s" % names)
    out.append("done=1")
    text = "\n".join(out) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return rc


if __name__ == "__main__":
    sys.exit(main())
