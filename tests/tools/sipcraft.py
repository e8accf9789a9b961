#!/usr/bin/python3
"""sipcraft -- hand-made SIP requests for the hostile-actor tests (python3,
stdlib only). Everything goes to one proxy address given with --to; the
sender binds the address given with --bind (an attacker's own address).

    sipcraft.py dialog MESSAGE_LOG
        From a SIPp UAC's -trace_msg log: the dialog of its call, as
        key=value lines: callid, ftag (its own tag), ttag (the callee's tag,
        from the 200 OK), contact (the callee's Contact URI), branch (the
        INVITE's Via branch), cseq (the INVITE's CSeq number).
    sipcraft.py send --bind IP:PORT --to IP:PORT --method M --ruri URI
                     --callid C --ftag T [--ttag T] [--branch B] [--cseq N]
                     [--route URI] [--sdp IP:PORT] [--via IP:PORT] [--wait S]
                     [--count N]
        Send one request (or --count N of them, each with its own branch and
        Call-ID suffix when N > 1) and print one "rx status=NNN reason=..."
        per response heard within --wait seconds (default 2), then
        "sent=N responses=N final=NNN|none". ACK and --wait 0 wait for
        nothing. --via forges the top Via's sent-by (a victim's address, as
        a CANCEL copied from its INVITE would carry); responses then go to
        the datagram's source all the same (RFC 3581 received/rport).
    sipcraft.py ring --bind IP:PORT --to IP:PORT --ruri URI --go FILE
                     --state FILE [--wait S]
        A caller that gives up: INVITE (with SDP), waits for 180, writes
        the transaction (callid, ftag, branch, cseq) to --state, waits (at
        most --wait s, default 10) for the file --go to appear, then sends
        its CANCEL; prints "ringing=1", "cancel_status=NNN",
        "invite_final=NNN" (487 when the callee got the CANCEL) and ACKs a
        non-2xx final.

Exit status 0; 2 on usage errors.
"""
import argparse
import os
import random
import re
import socket
import sys
import time


def hostport(s):
    h, _, p = s.rpartition(":")
    return (h, int(p))


def header(lines, name):
    for line in lines:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return ""


def tag_of(v):
    m = re.search(r";\s*tag=([^;>\s]+)", v)
    return m.group(1) if m else ""


def cmd_dialog(path):
    text = open(path, errors="replace").read()
    msgs = re.split(r"^-{20,} .*$", text, flags=re.M)
    out = {}
    for m in msgs:
        lines = [l.rstrip("\r") for l in m.splitlines()]
        while lines and not re.match(r"^(SIP/2\.0 \d{3}|[A-Z]+ \S+ SIP/2\.0)", lines[0]):
            lines = lines[1:]
        if not lines:
            continue
        start, hdrs = lines[0], []
        for l in lines[1:]:
            if not l.strip():
                break
            hdrs.append(l)
        cseq = header(hdrs, "CSeq")
        if start.startswith("INVITE ") and "branch" not in out:
            out["callid"] = header(hdrs, "Call-ID")
            out["ftag"] = tag_of(header(hdrs, "From"))
            b = re.search(r"branch=([^;\s]+)", header(hdrs, "Via"))
            out["branch"] = b.group(1) if b else ""
            out["cseq"] = cseq.split()[0] if cseq else "1"
        elif start.startswith("SIP/2.0 200") and cseq.endswith("INVITE") and "ttag" not in out:
            out["ttag"] = tag_of(header(hdrs, "To"))
            c = re.search(r"<([^>]+)>", header(hdrs, "Contact"))
            out["contact"] = c.group(1) if c else ""
    for k in ("callid", "ftag", "ttag", "contact", "branch", "cseq"):
        print("%s=%s" % (k, out.get(k, "")))


def build(method, ruri, via_host, via_port, branch, callid, ftag, ttag, cseq, route=None,
          sdp=None, cseq_method=None):
    body = ""
    if sdp:
        ip, port = hostport(sdp)
        body = ("v=0\r\no=x 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" % (ip, ip, port))
    h = ["%s %s SIP/2.0" % (method, ruri),
         "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (via_host, via_port, branch),
         "Max-Forwards: 70",
         "From: <sip:caller@%s>;tag=%s" % (via_host, ftag),
         "To: <%s>%s" % (ruri, ";tag=" + ttag if ttag else ""),
         "Call-ID: %s" % callid,
         "CSeq: %s %s" % (cseq, cseq_method or method),
         "Contact: <sip:caller@%s:%d>" % (via_host, via_port),
         "User-Agent: natedge-sipcraft"]
    if route:
        h.append("Route: <%s>" % route)
    if body:
        h.append("Content-Type: application/sdp")
    h.append("Content-Length: %d" % len(body))
    return ("\r\n".join(h) + "\r\n\r\n" + body).encode()


def responses(sock, deadline, want_final=True):
    """Yield (status, reason, lines) until deadline (or a final when want_final)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        sock.settimeout(left)
        try:
            data, _ = sock.recvfrom(65535)
        except socket.timeout:
            return
        lines = data.decode(errors="replace").split("\r\n")
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
        if not m:
            continue
        st = int(m.group(1))
        yield st, m.group(2), lines
        if want_final and st >= 200:
            return


def cmd_send(a):
    bind = hostport(a.bind)
    to = hostport(a.to)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(bind)
    n = max(1, a.count)
    sent = got = 0
    final = "none"
    for i in range(n):
        br = a.branch if (a.branch and n == 1) else "z9hG4bK-craft-%d-%d" % (random.getrandbits(32), i)
        cid = a.callid if n == 1 else "%s-%d" % (a.callid, i)
        vh, vp = hostport(a.via) if a.via else bind
        s.sendto(build(a.method, a.ruri, vh, vp, br, cid, a.ftag, a.ttag, a.cseq,
                       a.route, a.sdp), to)
        sent += 1
    if a.method != "ACK" and a.wait > 0:
        deadline = time.monotonic() + a.wait
        for st, reason, _ in responses(s, deadline, want_final=(n == 1)):
            got += 1
            print("rx status=%d reason=%s" % (st, reason))
            if st >= 200:
                final = str(st)
    print("sent=%d responses=%d final=%s" % (sent, got, final))


def cmd_ring(a):
    bind = hostport(a.bind)
    to = hostport(a.to)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(bind)
    cid = "ring-%d@%s" % (random.getrandbits(32), bind[0])
    ftag = "rt%d" % random.getrandbits(24)
    br = "z9hG4bK-ring-%d" % random.getrandbits(32)
    inv = build("INVITE", a.ruri, bind[0], bind[1], br, cid, ftag, "", 1, sdp="%s:%d" % (bind[0], 30090))
    s.sendto(inv, to)
    deadline = time.monotonic() + a.wait
    ringing = False
    final = "none"
    last_tx = time.monotonic()
    while not ringing and time.monotonic() < deadline:
        for st, _, _ in responses(s, min(deadline, time.monotonic() + 0.5), want_final=False):
            if st == 180:
                ringing = True
                break
            if st >= 200:
                final = str(st)
                deadline = 0
                break
        if not ringing and time.monotonic() - last_tx > 0.5 and deadline:
            s.sendto(inv, to)
            last_tx = time.monotonic()
    print("ringing=%d" % ringing)
    if not ringing:
        print("invite_final=%s" % final)
        return
    with open(a.state + ".tmp", "w") as f:
        f.write("callid=%s\nftag=%s\nbranch=%s\ncseq=1\n" % (cid, ftag, br))
    os.rename(a.state + ".tmp", a.state)
    while not os.path.exists(a.go) and time.monotonic() < deadline:
        time.sleep(0.05)
    s.sendto(build("CANCEL", a.ruri, bind[0], bind[1], br, cid, ftag, "", 1), to)
    cancel = "none"
    deadline = time.monotonic() + 5
    ttag = ""
    for st, _, lines in responses(s, deadline, want_final=False):
        cs = header(lines[1:], "CSeq")
        if cs.endswith("CANCEL"):
            cancel = str(st)
        elif st >= 200:
            final = str(st)
            ttag = tag_of(header(lines[1:], "To"))
            if st >= 300:
                s.sendto(build("ACK", a.ruri, bind[0], bind[1], br, cid, ftag, ttag, 1), to)
            break
    print("cancel_status=%s" % cancel)
    print("invite_final=%s" % final)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd")
    d = sub.add_parser("dialog")
    d.add_argument("log")
    s = sub.add_parser("send")
    for k in ("--bind", "--to", "--method", "--ruri", "--callid", "--ftag"):
        s.add_argument(k, required=True)
    s.add_argument("--ttag", default="")
    s.add_argument("--branch", default="")
    s.add_argument("--cseq", default="20")
    s.add_argument("--route", default=None)
    s.add_argument("--sdp", default=None)
    s.add_argument("--via", default=None)
    s.add_argument("--wait", type=float, default=2.0)
    s.add_argument("--count", type=int, default=1)
    r = sub.add_parser("ring")
    for k in ("--bind", "--to", "--ruri", "--go", "--state"):
        r.add_argument(k, required=True)
    r.add_argument("--wait", type=float, default=10.0)
    a = p.parse_args()
    if a.cmd == "dialog":
        cmd_dialog(a.log)
    elif a.cmd == "send":
        a.count = min(max(a.count, 1), 1000)  # bounded
        cmd_send(a)
    elif a.cmd == "ring":
        cmd_ring(a)
    else:
        p.print_usage(sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
