#!/usr/bin/python3
"""siptrace -- read SIPp's logs for the SIP tests (python3, stdlib only).

    siptrace.py ladder [--sdp-only] LABEL=MESSAGE_LOG...
        One line per SIP message in SIPp -trace_msg logs (-message_file), all
        files merged by time: time, the phone (LABEL), direction (-> sent,
        <- received), transport, the start line, CSeq, and the SDP's
        c= / m= / o= / direction when there is a body.
    siptrace.py sdp-addrs [--sent] MESSAGE_LOG
        Every IPv4 address named in the SDP bodies this SIPp RECEIVED (--sent:
        sent), one line each: "addr=IP line=c|o|a-rtcp|... msg=START-LINE".
    siptrace.py counters SCREEN_FILE
        SIPp's final counters from -trace_screen (-screen_file):
        "successful=N failed=N created=N retrans=N unexpected=N".

Exit status 0; 2 on usage errors or unreadable files.
"""
import re
import sys

SEP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+)\s*$")
HEAD = re.compile(r"^(UDP|TCP|TLS|SCTP) message (sent|received)")
IPV4 = re.compile(r"\b(\d{1,3}(?:\.\d{1,3}){3})\b")


def messages(path):
    """Yield (time, direction, transport, lines) for each message of a SIPp message log."""
    try:
        text = open(path, errors="replace").read()
    except OSError as e:
        sys.stderr.write("siptrace: %s: %s\n" % (path, e.strerror))
        sys.exit(2)
    cur = None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        m = SEP.match(line)
        if m:
            if cur and cur[3]:
                yield cur
            cur = [m.group(2), None, None, []]
            continue
        if cur is None:
            continue
        if cur[1] is None:
            h = HEAD.match(line)
            if h:
                cur[1] = "->" if h.group(2) == "sent" else "<-"
                cur[2] = h.group(1)
            continue
        cur[3].append(line)
    if cur and cur[3]:
        yield cur


def split(lines):
    """start line, headers (list), body lines."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    if not lines:
        return "", [], []
    start = lines[0]
    hdrs, body, in_body = [], [], False
    for l in lines[1:]:
        if not in_body:
            if not l.strip():
                in_body = True
                continue
            hdrs.append(l)
        else:
            body.append(l)
    while body and not body[-1].strip():
        body.pop()
    return start, hdrs, body


def header(hdrs, name, short=None):
    for h in hdrs:
        k, _, v = h.partition(":")
        if k.strip().lower() in (name.lower(), (short or "").lower()):
            return v.strip()
    return ""


def sdp_summary(body):
    c = m = o = d = ""
    for l in body:
        if l.startswith("c=") and not c:
            c = l.split()[-1]
        elif l.startswith("m=audio") and not m:
            m = l.split()[1]
        elif l.startswith("o=") and not o:
            o = l.split()[-1]
        elif l in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
            d = l[2:]
    return c, m, o, d


def ladder(args):
    sdp_only = False
    if args and args[0] == "--sdp-only":
        sdp_only = True
        args = args[1:]
    rows = []
    for spec in args:
        label, _, path = spec.partition("=")
        if not path:
            label, path = path or spec, spec
        for t, direction, transport, lines in messages(path):
            start, hdrs, body = split(lines)
            if not start:
                continue
            cseq = header(hdrs, "CSeq")
            s = "%s %-6s %s %-4s %-58s [%s]" % (t, label, direction or "??", transport or "", start[:58], cseq)
            if body and header(hdrs, "Content-Type", "c").startswith("application/sdp"):
                c, m, o, d = sdp_summary(body)
                s += "  sdp c=%s m=%s o=%s%s" % (c, m, o, (" " + d) if d else "")
            elif sdp_only:
                continue
            rows.append((t, s))
    rows.sort(key=lambda r: r[0])
    for _, s in rows:
        print(s)


def sdp_addrs(args):
    want = "<-"
    if args and args[0] == "--sent":
        want = "->"
        args = args[1:]
    if len(args) != 1:
        usage()
    for t, direction, transport, lines in messages(args[0]):
        if direction != want:
            continue
        start, hdrs, body = split(lines)
        if not body or not header(hdrs, "Content-Type", "c").startswith("application/sdp"):
            continue
        for l in body:
            kind = l[:1]
            if l.startswith("a="):
                kind = "a-" + l[2:].split(":")[0]
            for a in IPV4.findall(l[2:] if len(l) > 2 else ""):
                print("addr=%s line=%s msg=%s" % (a, kind, start.replace(" ", "_")))


def counters(args):
    if len(args) != 1:
        usage()
    try:
        text = open(args[0], errors="replace").read()
    except OSError as e:
        sys.stderr.write("siptrace: %s: %s\n" % (args[0], e.strerror))
        sys.exit(2)
    # the last statistics screen wins
    out = {}
    for key, name in (("successful", "Successful call"), ("failed", "Failed call"),
                      ("created", "Total Calls created")):
        vals = re.findall(r"^\s*%s\s*\|[^|]*\|\s*(\d+)" % re.escape(name), text, re.M)
        out[key] = vals[-1] if vals else ""
    # the scenario screen: sum of Retrans and Unexpected columns
    retrans = unexpected = 0
    for l in text.splitlines():
        m = re.match(r"^\s+\S.*?(?:---->|<----)\s+(?:E-RTD\d\s+|B-RTD\d\s+)?(\d+)\s+(\d+)\s+(\d+)(?:\s+(\d+))?\s*$", l)
        if m:
            retrans += int(m.group(2))
            if m.group(4):
                unexpected += int(m.group(4))
    out["retrans"] = str(retrans)
    out["unexpected"] = str(unexpected)
    print(" ".join("%s=%s" % kv for kv in out.items()))


def usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


def main():
    if len(sys.argv) < 2:
        usage()
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "ladder":
        ladder(args)
    elif cmd == "sdp-addrs":
        sdp_addrs(args)
    elif cmd == "counters":
        counters(args)
    else:
        usage()


if __name__ == "__main__":
    main()
