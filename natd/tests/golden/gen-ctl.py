#!/usr/bin/env python3
"""gen-ctl.py: write the control-channel transcripts of this folder
(ctl-*.hex, played by natd/tests/test_ctl_golden).

The client's side of each transcript is defined below (FILES). natd's side
is recorded from the real server: the script writes the files with empty
@recv blocks, runs test_ctl_golden with CTL_GOLDEN_DUMP=1 (which prints
every message natd sends), annotates each with libcontrol's golden_dump,
puts the masks in (natd's epoch, the version in HELLO_R, the seconds left
in LIST_ITEM/EVENT) and writes the files again. @recv blocks given here
as explicit patterns (what the protocol requires where natd does not do
it yet) are kept as they are.

    make -C libcontrol tests/golden_dump && make -C natd tests/test_ctl_golden
    natd/tests/golden/gen-ctl.py            # from the top of the tree
    git diff natd/tests/golden/              # review what changed

Standard library only.
"""

import os
import re
import socket
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
DUMP = os.path.join(TOP, "libcontrol", "tests", "golden_dump")
TEST = os.path.join(TOP, "natd", "tests", "test_ctl_golden")
OUTDIR = HERE

# ---------------------------------------------------------------- encoding


T = dict(NAME=0x0001, REASON=0x0002, LABEL=0x0003, OWNER=0x0004, COUNTERS=0x0005,
         STATUS=0x8001, EPOCH=0x8002, AUTH_NONCE=0x8003, AUTH_MAC=0x8004,
         BINDING_ID=0x8010, KIND=0x8011, DIRECTION=0x8012, PROTO=0x8013, IN_REALM=0x8014,
         EXT_REALM=0x8015, ENDPOINT=0x8016, ALLOC=0x8017, WANT_ADDR=0x8018, WANT_RANGE=0x8019,
         WANT_PORT=0x801A, RTP_PAIR=0x801B, PREFER_FAILURE=0x801C, LIFETIME=0x801D,
         TRANSIT=0x801E, PEER=0x801F, FILTER=0x8020, TARGET=0x8021, DROP_DEFAULT=0x8022,
         MINE=0x8023, COUNT=0x8024, STAT=0x8025, EVENT_MASK=0x802C, LATCH=0x802D)
M = dict(HELLO=1, AUTH=2, CAPS=3, BIND=4, REFRESH=5, RELEASE=6, LIST=7, STATS=8, WATCH=9)
EPOCH_MARK = b"\xee\xee\xee\xee\xee\xee\xee\xee"  # replaced by the word "epoch"

def text(s): return s.encode() + b"\0"
def u8(v): return struct.pack(">B", v)
def u16(v): return struct.pack(">H", v)
def u32(v): return struct.pack(">I", v)
def u64(v): return struct.pack(">Q", v)
def ep(a, port): return struct.pack(">BBH", 1, 0, port) + socket.inet_aton(a)
def match(a, plen, lo=0, hi=65535): return struct.pack(">BBHH", 1, plen, lo, hi) + socket.inet_aton(a)

def msg(mtype, reqid, tlvs=(), version=1, flags=0, sort=True, length=None):
    if isinstance(mtype, str):
        mtype = M[mtype]
    tl = [(T[k] if isinstance(k, str) else k, v) for k, v in tlvs]
    if sort:
        tl.sort(key=lambda x: x[0])
    body = b"".join(struct.pack(">HH", t, len(v)) + v for t, v in tl)
    n = 16 + len(body) if length is None else length
    return b"NC" + struct.pack(">BBHHII", version, flags, mtype, 0, n, reqid) + body

def bind(reqid, e, port, dir=1, proto=17, inr="inside", ext="outside", **kw):
    t = [("DIRECTION", u8(dir)), ("PROTO", u8(proto)), ("IN_REALM", text(inr)),
         ("EXT_REALM", text(ext)), ("ENDPOINT", ep(e, port))]
    if "label" in kw: t.append(("LABEL", text(kw["label"])))
    if "lifetime" in kw: t.append(("LIFETIME", u32(kw["lifetime"])))
    if kw.get("rtp"): t.append(("RTP_PAIR", b""))
    if "transit" in kw: t.append(("TRANSIT", text(kw["transit"])))
    for f in kw.get("filters", []): t.append(("FILTER", match(*f)))
    if kw.get("drop_default"): t.append(("DROP_DEFAULT", b""))
    if "latch" in kw: t.append(("LATCH", u32(kw["latch"])))
    t += kw.get("extra", [])
    return msg("BIND", reqid, t)

def refresh(reqid, bid, lifetime=None, epoch=EPOCH_MARK):
    t = [("EPOCH", epoch), ("BINDING_ID", u32(bid))]
    if lifetime: t.append(("LIFETIME", u32(lifetime)))
    return msg("REFRESH", reqid, t)

def release(reqid, bid, epoch=EPOCH_MARK):
    return msg("RELEASE", reqid, [("EPOCH", epoch), ("BINDING_ID", u32(bid))])

# ---------------------------------------------------------------- rendering


def annotate(b):
    r = subprocess.run([DUMP, "-"], input=b.hex() + "\n", capture_output=True, text=True, check=True)
    lines = r.stdout.rstrip("\n").split("\n")
    return lines

def mask_epoch(lines, only_marker=False):
    out = []
    for l in lines:
        m = re.match(r"^(  8002 0008) ((?:[0-9a-f]{2} ){7}[0-9a-f]{2})(\s+)# EPOCH.*$", l)
        if m and (not only_marker or m.group(2) == "ee ee ee ee ee ee ee ee"):
            pad = " " * (len(m.group(2)) - len("epoch"))
            l = "%s epoch%s%s# EPOCH (natd's, random per start)" % (m.group(1), pad, m.group(3))
        out.append(l)
    return out

def raw(b, note):
    return ["  " + " ".join("%02x" % x for x in b[i:i + 16]) + ("   # " + note if i == 0 else "")
            for i in range(0, len(b), 16)]

def mask_reply(hexs, lines):
    b = bytes.fromhex(hexs)
    mtype = b[4] << 8 | b[5]
    lines = mask_epoch(lines)
    out = []
    for i, l in enumerate(lines):
        if i == 0 and mtype == 0x8001:
            # HELLO_R: natd's NAME carries its version: mask the lengths
            l = re.sub(r"^(4e43 01 00 8001 0000) ([0-9a-f]{8})", r"\1 ........", l)
            l = l.replace("length %d" % len(b), "length any")
        if mtype == 0x8001 and l.startswith("  0001 "):
            l = "  0001 ....  6e 61 74 64 20 *                                # NAME \"natd \" and its version"
        if mtype in (0x4007, 0x4009) and l.startswith("  801d 0004 "):
            l = re.sub(r"^(  801d 0004) ((?:[0-9a-f]{2} ){3}[0-9a-f]{2})(\s+)# LIFETIME.*$",
                       lambda m: "%s .. .. .. ..%s# LIFETIME (seconds left: may tick)" % (m.group(1), m.group(3)), l)
        out.append(l)
    return out

def render(steps, recvs, lines_out=None):
    """steps: list of (op, arg, note). recvs: list of hex replies (None in pass 1);
    a recv step whose arg is a list of lines uses them as its pattern."""
    out, k = [], 0
    for st in steps:
        op = st[0]
        if op == "text":
            if out and out[-1] != "":
                out.append("")
            out.append(st[1])
            continue
        note = st[2] if len(st) > 2 else ""
        if op == "connect":
            out.append("@connect" + (" " + st[1] if st[1] else "") + (("   # " + note) if note else ""))
        elif op in ("eof", "closed", "quiet"):
            out.append("@" + op + (("   # " + note) if note else ""))
        elif op == "send":
            out.append("@send" + (("   # " + note) if note else ""))
            if isinstance(st[1], tuple) and st[1][0] == "raw":
                out += raw(st[1][1], st[1][2])
            else:
                for m in (st[1] if isinstance(st[1], list) else [st[1]]):
                    out += mask_epoch(annotate(m), only_marker=True)
        elif op == "recv":
            out.append("@recv" + (("   # " + note) if note else ""))
            if lines_out is not None:
                lines_out.append(sum(x.count("\n") + 1 for x in out))
            if isinstance(st[1], list):
                out += st[1]
            elif recvs is not None:
                h = recvs[k]
                out += mask_reply(h, annotate(bytes.fromhex(h)))
            k += 1
        out.append("") if op in ("recv", "send") else None
    return "\n".join(out).rstrip("\n") + "\n"

# ---------------------------------------------------------------- the transcripts

HDR = """# {title}
#
# A transcript for natd/tests/test_ctl_golden.c, played against natd's real
# control server and address manager (realms inside 10.1.0.0/24 and outside,
# outside's pool 198.51.100.1/32 ports 1024-65535 and its transit pool
# "carrier" 198.51.100.129/32 ports 40000-40999; control.clients lists
# "nobody" with realm outside, prefixes 10.1.0.0/25, quota 2).
#
# Format (the header comment of test_ctl_golden.c has it all): "@connect",
# "@send" (client bytes), "@eof", "@recv" (one message natd must send),
# "@closed", "@quiet"; '#' comments; in @recv ".." is any byte and "*" any
# run of bytes; "epoch" is natd's 8-byte epoch. Messages are annotated as in
# libcontrol/tests/golden/ (libcontrol/tests/golden_dump -).
"""

def hdr(title, extra=""):
    return [("text", HDR.format(title=title) + extra)]

session = hdr("A normal session as root: HELLO, CAPS, three BINDs (a terminating one\n# with a remote filter and a 10 s latch window, an RTP/RTCP pair, one forced into the transit pool)\n# and one refused, LIST, WATCH with its events, REFRESH (and a stale\n# epoch), RELEASE (and an unknown id), STATS, LIST of one binding.") + [
    ("connect", "", "root (uid 0): an administrator"),
    ("send", msg("HELLO", 1, [("NAME", text("golden-test/1"))])),
    ("recv", None, "natd's name, its epoch; no AUTH_NONCE on the Unix socket"),
    ("send", msg("CAPS", 2)),
    ("recv", None, "what natd handles, its realms and transit networks"),
    ("send", bind(3, "10.1.0.10", 6000, dir=1, lifetime=120, label="call-1",
                  filters=[("203.0.113.0", 24)], latch=10)),
    ("recv", None, "granted: binding 1, M = 198.51.100.1:6000 (port preserved)"),
    ("send", bind(4, "10.1.0.10", 6002, dir=3, rtp=True)),
    ("recv", None, "granted: binding 2, M even; the RTCP partner (binding 3) is M+1; default lifetime 300"),
    ("send", bind(5, "10.1.0.11", 40002, dir=1, transit="carrier")),
    ("recv", None, "granted from the transit pool: 198.51.100.129:40002, binding 4"),
    ("send", bind(6, "10.1.0.12", 5000, dir=1, ext="dmz")),
    ("recv", None, "refused: no realm dmz"),
    ("send", msg("LIST", 7)),
    ("recv", None, "binding 1"), ("recv", None, "binding 2"), ("recv", None, "binding 3, the RTCP partner"),
    ("recv", None, "binding 4"), ("recv", None, "LIST_R: 4 items"),
    ("send", msg("WATCH", 8)),
    ("recv", None, "watching every event"),
    ("send", refresh(9, 1, lifetime=600)),
    ("recv", None, "the watcher's EVENT (refreshed) comes first"),
    ("recv", None, "REFRESH_R: 600 s granted"),
    ("send", refresh(10, 1, epoch=u64(1))),
    ("recv", None, "an epoch that is not natd's: STALE_EPOCH"),
    ("send", release(11, 2)),
    ("recv", None, "EVENT released"),
    ("recv", None, "RELEASE_R OK"),
    ("send", release(12, 99)),
    ("recv", None, "no binding 99: NOT_FOUND"),
    ("send", msg("STATS", 13)),
    ("recv", None, "every counter natd has"),
    ("send", msg("LIST", 14, [("BINDING_ID", u32(4))])),
    ("recv", None, "binding 4 only"), ("recv", None, "LIST_R: 1 item"),
]

bad_order = msg("BIND", 3, [("PROTO", u8(17)), ("DIRECTION", u8(1)), ("IN_REALM", text("inside")),
                            ("EXT_REALM", text("outside")), ("ENDPOINT", ep("10.1.0.10", 5000))], sort=False)
crit = msg("BIND", 4, [("DIRECTION", u8(1)), ("PROTO", u8(17)), ("IN_REALM", text("inside")),
                       ("EXT_REALM", text("outside")), ("ENDPOINT", ep("10.1.0.10", 5000)),
                       (0xBEEF, b"\x01\x02")])
incons = msg("BIND", 5, [("DIRECTION", u8(1)), ("PROTO", u8(17)), ("IN_REALM", text("inside")),
                         ("EXT_REALM", text("outside")), ("ENDPOINT", ep("10.1.0.10", 5000)),
                         ("DROP_DEFAULT", b"")])
unlatched = msg("BIND", 8, [("DIRECTION", u8(1)), ("PROTO", u8(17)), ("IN_REALM", text("inside")),
                             ("EXT_REALM", text("outside")), ("ENDPOINT", ep("10.1.0.10", 5000)),
                             ("LATCH", u32(10))])
missing = msg("BIND", 6, [("DIRECTION", u8(1)), ("PROTO", u8(17)), ("IN_REALM", text("inside")),
                          ("EXT_REALM", text("outside"))])
overrun = msg("BIND", 7, [("DIRECTION", u8(1))])
overrun = overrun[:16] + b"\x80\x12\xff\xff" + overrun[20:]
bind_r = msg(0x8004, 9, [("STATUS", u16(0)), ("EPOCH", u64(0x1122334455667788)),
                         ("BINDING_ID", u32(42)), ("ALLOC", ep("198.51.100.1", 6000)),
                         ("LIFETIME", u32(120))])
reqid0 = msg("BIND", 0, [("DIRECTION", u8(1)), ("PROTO", u8(17)), ("IN_REALM", text("inside")),
                         ("EXT_REALM", text("outside")), ("ENDPOINT", ep("10.1.0.10", 5000))])
caps = msg("CAPS", 20)
hello = msg("HELLO", 1)

hostile = hdr("Hostile and malformed input, one connection per kind of trouble. A\n# request that frames but does not decode gets its own reply type with\n# BAD_REQUEST or UNSUPPORTED and the connection stays; what cannot be\n# attributed to a request type gets ERROR (0x8000) with the offending\n# request id; a stream that cannot be framed gets ERROR with request id 0\n# and is closed (libcontrol/proto.h, section 5).") + [
    ("text", "# 1. Requests before HELLO are refused; HELLO then works."),
    ("connect", ""),
    ("send", msg("CAPS", 1)),
    ("recv", None, "NOT_AUTHORIZED, say HELLO first"),
    ("send", bind(2, "10.1.0.10", 5000)),
    ("recv", None, "NOT_AUTHORIZED"),
    ("send", msg("HELLO", 3)),
    ("recv", None, "now OK"),
    ("send", msg("CAPS", 4)),
    ("recv", None, "and served"),
    ("text", "# 2. Undecodable and inconsistent BINDs after HELLO: each refused with\n#    BIND_R and the reason; the connection stays."),
    ("connect", ""),
    ("send", hello),
    ("recv", None),
    ("send", bad_order, "PROTO before DIRECTION: TLVs out of order"),
    ("recv", None, "BAD_REQUEST"),
    ("send", crit, "an unknown critical TLV 0xbeef"),
    ("recv", None, "UNSUPPORTED"),
    ("send", incons, "DROP_DEFAULT without TARGET"),
    ("recv", None, "BAD_REQUEST"),
    ("send", unlatched, "LATCH without FILTER"),
    ("recv", None, "BAD_REQUEST"),
    ("send", missing, "no ENDPOINT"),
    ("recv", None, "BAD_REQUEST"),
    ("send", ("raw", overrun, "BIND, length 24, request id 7: DIRECTION claims 65535 bytes"), "a TLV running past the end"),
    ("recv", None, "BAD_REQUEST"),
    ("send", caps),
    ("recv", None, "still served"),
    ("text", "# 3. Unknown type, reply types, request id 0: ERROR\n#    (or, for request id 0, ERROR with id 0); the connection stays."),
    ("send", msg(0x00ff, 21)),
    ("recv", None, "unknown type: ERROR UNSUPPORTED, request id 21"),
    ("send", bind_r),
    ("recv", None, "a BIND_R from the client: ERROR, request id 9"),
    ("send", msg(0x4007, 23)),
    ("recv", None, "an empty LIST_ITEM from the client: ERROR, request id 23"),
    ("send", reqid0),
    ("recv", None, "request id 0: ERROR with id 0"),
    ("send", msg("AUTH", 24, [("AUTH_NONCE", bytes(range(32))), ("AUTH_MAC", bytes(32))])),
    ("recv", None, "no AUTH on the Unix socket: UNSUPPORTED"),
    ("send", msg("WATCH", 25)), ("recv", None),
    ("send", msg("WATCH", 26)),
    ("recv", None, "a second WATCH: CONFLICT"),
    ("send", caps),
    ("recv", None, "still served"),
    ("text", "# 4. Three requests in one write, and one request split in two writes."),
    ("connect", ""),
    ("send", [msg("HELLO", 1), msg("CAPS", 2), msg("LIST", 3, [("KIND", u8(1))])]),
    ("recv", None), ("recv", None), ("recv", None, "no dynamic bindings: LIST_R 0"),
    ("send", ("raw", caps[:10], "CAPS, first 10 bytes"), "half a CAPS"),
    ("quiet", "", "nothing until the rest arrives"),
    ("send", ("raw", caps[10:], "the other 6"), "the rest"),
    ("recv", None),
    ("text", "# 5. A truncated message, then EOF: natd closes without an answer."),
    ("connect", ""),
    ("send", hello), ("recv", None),
    ("send", ("raw", msg("CAPS", 2, length=40) + b"\x00\x01\x00\x00", "CAPS, length 40, request id 2; 20 bytes sent"), "20 of 40 bytes"),
    ("quiet", "", "waiting for the rest"),
    ("eof", "", "which never comes"),
    ("closed", ""),
    ("text", "# 6. Unframeable garbage: ERROR with request id 0, then closed."),
    ("connect", ""),
    ("send", ("raw", b"GET / HTTP/1.1\r\nHost: natd\r\n\r\n", "\"GET / HTTP/1.1\" ...: bad magic"), "an HTTP request"),
    ("recv", None, "ERROR BAD_REQUEST, request id 0"),
    ("closed", ""),
    ("connect", ""),
    ("send", hello), ("recv", None),
    ("send", ("raw", b"NC\x01\x00\x00\x03\x00\x00\x00\x10\x00\x01", "CAPS, length 1 MiB + 1 (no more bytes)"), "a length over 64 KiB"),
    ("recv", None, "ERROR BAD_REQUEST, request id 0"),
    ("closed", ""),
    ("connect", ""),
    ("send", ("raw", b"NC\x01\x00\x00\x03\x00\x00\x00\x00\x00\x08", "length 8: shorter than the header"), "a length under 16"),
    ("recv", None, "ERROR BAD_REQUEST, request id 0"),
    ("closed", ""),
    ("text", "# 7. After all that, a new connection is served."),
    ("connect", ""),
    ("send", [hello, caps]), ("recv", None), ("recv", None),
    ("text", "# 8. A second HELLO is refused (HELLO_R BAD_REQUEST) and changes nothing:\n#    the connection keeps its identity and is still served."),
    ("connect", ""),
    ("send", hello), ("recv", None),
    ("send", msg("HELLO", 2, [("NAME", text("someone-else"))])),
    ("recv", None, "BAD_REQUEST: HELLO was said already"),
    ("send", caps),
    ("recv", None, "still served"),
    ("text", "# 9. A connection that never says HELLO is closed after\n#    control.handshake_timeout (1 s here), without an answer."),
    ("connect", ""),
    ("quiet", "", "nothing for a while"),
    ("closed", "", "then closed"),
]

policy = hdr("Who may do what. root is an administrator; \"nobody\" is listed with\n# realm outside, prefixes 10.1.0.0/25 and a quota of 2 bindings; anyone\n# else is refused at HELLO.") + [
    ("text", "# An unlisted user (uid 4242): HELLO refused, connection closed."),
    ("connect", "uid=4242"),
    ("send", hello),
    ("recv", None, "NOT_AUTHORIZED, with the reason"),
    ("closed", ""),
    ("text", "# root takes a binding first."),
    ("connect", ""),
    ("send", hello), ("recv", None),
    ("send", bind(2, "10.1.0.20", 7000)),
    ("recv", None, "binding 1, root's"),
    ("text", "# The listed user."),
    ("connect", "user=nobody"),
    ("send", hello), ("recv", None),
    ("send", msg("CAPS", 2)),
    ("recv", None, "QUOTA 2 announced"),
    ("send", bind(3, "10.1.0.10", 6000)),
    ("recv", None, "granted: binding 2"),
    ("send", bind(4, "10.1.0.200", 6000)),
    ("recv", None, "10.1.0.200 is outside 10.1.0.0/25: NOT_AUTHORIZED"),
    ("send", bind(5, "10.1.0.10", 6002, rtp=True)),
    ("recv", None, "a pair needs 2 more: QUOTA_EXCEEDED"),
    ("send", bind(6, "10.1.0.10", 6004)),
    ("recv", None, "granted: binding 3 (2 of 2)"),
    ("send", bind(7, "10.1.0.10", 6006)),
    ("recv", None, "a third: QUOTA_EXCEEDED"),
    ("send", release(8, 1)),
    ("recv", None, "root's binding: NOT_FOUND"),
    ("send", refresh(9, 1)),
    ("recv", None, "root's binding: NOT_FOUND"),
    ("send", bind(10, "10.1.0.20", 7000)),
    ("recv", None, "root's endpoint: CONFLICT"),
    ("text", "# A new connection of the same user: its bindings and quota are kept."),
    ("connect", "user=nobody"),
    ("send", hello), ("recv", None),
    ("send", bind(2, "10.1.0.10", 6008)),
    ("recv", None, "still 2 of 2: QUOTA_EXCEEDED"),
    ("send", release(3, 2)),
    ("recv", None, "its own: released"),
    ("send", bind(4, "10.1.0.10", 6008)),
    ("recv", None, "room again: binding 4"),
    ("text", "# root may release anyone's."),
    ("connect", ""),
    ("send", hello), ("recv", None),
    ("send", release(2, 3)),
    ("recv", None, "nobody's binding 3, released by root"),
]

list_item = msg(0x4007, 31, [("BINDING_ID", u32(1)), ("KIND", u8(3)), ("DIRECTION", u8(1)),
                             ("PROTO", u8(17)), ("IN_REALM", text("inside")), ("EXT_REALM", text("outside")),
                             ("ENDPOINT", ep("10.1.0.10", 5000)), ("ALLOC", ep("198.51.100.1", 5000))])

def error_pattern(reqid, note):
    return ["4e43 01 00 8000 0000 ........ %08x                      # NC v1 ERROR, any length, request id %d" % (reqid, reqid),
            "  *                                                             # REASON (natd's words), if any",
            "  8001 0002 00 ..                                               # STATUS: not OK (" + note + ")",
            "  8002 0008 epoch                                               # EPOCH (natd's, random per start)"]

unattributable = hdr("Messages natd cannot attribute to a request type: a reply or part type\n# sent by a client, and an unknown protocol version. libcontrol/proto.h, section\n# 5: \"A request the server cannot attribute to a known type (unknown type,\n# unknown version, a reply type sent by a client) is answered by\n# NC_MSG_ERROR (0x8000) with the request id of the offending header and a\n# non-OK status\" -- before HELLO as after it.") + [
    ("text", "# 1. A (well-formed) BIND_R before HELLO: ERROR, not a BIND_R."),
    ("connect", ""),
    ("send", bind_r),
    ("recv", error_pattern(9, "NOT_AUTHORIZED or BAD_REQUEST"), "ERROR, request id 9"),
    ("send", hello),
    ("recv", None, "the connection is still usable"),
    ("text", "# 2. A (well-formed) LIST_ITEM before HELLO: ERROR (there is no reply type\n#    0xc007 to answer with)."),
    ("connect", ""),
    ("send", list_item),
    ("recv", error_pattern(31, "NOT_AUTHORIZED or BAD_REQUEST"), "ERROR, request id 31"),
    ("text", "# 3. Version 2 of a CAPS, after HELLO: ERROR UNSUPPORTED, not a v1 CAPS_R."),
    ("connect", ""),
    ("send", hello), ("recv", None),
    ("send", msg("CAPS", 22, version=2)),
    ("recv", error_pattern(22, "UNSUPPORTED"), "ERROR UNSUPPORTED, request id 22"),
]

FILES = {"ctl-unattributable.hex": unattributable, "ctl-session.hex": session, "ctl-hostile.hex": hostile, "ctl-policy.hex": policy}

# ---------------------------------------------------------------- main

def main():
    for p in (DUMP, TEST):
        if not os.access(p, os.X_OK):
            sys.exit("gen-ctl.py: %s is not built" % p)
    for name, steps in FILES.items():
        with open(os.path.join(OUTDIR, name), "w") as f:
            f.write(render(steps, None))
    env = dict(os.environ, CTL_GOLDEN_DUMP="1")
    r = subprocess.run([TEST], env=env, capture_output=True, text=True, timeout=120)
    got = {}
    for l in r.stdout.splitlines():
        m = re.match(r"^recv (ctl-[a-z]+\.hex):(\d+) ([0-9a-f]+)$", l.strip())
        if m:
            got[(m.group(1), int(m.group(2)))] = m.group(3)
        elif l.startswith("recv "):
            print("note:", l.strip())
    bad = 0
    for name, steps in FILES.items():
        lines = []
        render(steps, None, lines)
        rsteps = [s for s in steps if s[0] == "recv"]
        recvs = []
        for s, ln in zip(rsteps, lines):
            if isinstance(s[1], list):
                recvs.append("")
            elif (name, ln) in got:
                recvs.append(got[(name, ln)])
            else:
                print("%s:%d: natd sent nothing here" % (name, ln))
                recvs.append(None)
        if None in recvs:
            bad += 1
            continue
        with open(os.path.join(OUTDIR, name), "w") as f:
            f.write(render(steps, recvs))
        print("wrote", name)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
