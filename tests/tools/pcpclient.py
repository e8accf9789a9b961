#!/usr/bin/env python3
"""pcpclient: a small PCP (RFC 6887) client for natedge's namespace tests.

Standard library only. Sends one request (retransmitted until a reply comes
or the tries run out), prints the reply as one line of key=value pairs on
stdout; diagnostics go to stderr. Exit status: 0 a reply came (whatever its
result code), 1 no reply, 2 usage error.

Subcommands
  map       MAP (opcode 1): --proto, --internal-port, [--suggest ADDR:PORT],
            [--lifetime S], [--nonce HEX], [--filter ADDR/PLEN[:PORT]]...,
            [--prefer-failure], [--third-party ADDR]
  peer      PEER (opcode 2): as map, plus --peer ADDR:PORT
  announce  ANNOUNCE (opcode 0)
Common: --server ADDR[:PORT] (port 5351), --bind ADDR (the source address;
it also fills the PCP client address field unless --client-ip says
otherwise), --version N (to provoke UNSUPP_VERSION), --timeout S (per try),
--tries N, --raw-out FILE (the reply's bytes in hex).

Output keys: result (name), result_code, lifetime, epoch, opcode, and for
MAP/PEER: external (addr:port), nonce_ok (1 when the reply echoes the nonce),
internal_port, protocol, peer, filters (count of FILTER options echoed),
prefer_failure, third_party.

FILTER: ADDR/PLEN uses the IPv4 prefix length (0..32, turned into 96+PLEN on
the wire); PORT 0 or absent means every port; "none" sends prefix length 0
("remove every filter").

Only use it towards hosts inside test network namespaces.
"""

import argparse
import os
import socket
import struct
import sys
import time

RESULTS = [
    "SUCCESS", "UNSUPP_VERSION", "NOT_AUTHORIZED", "MALFORMED_REQUEST",
    "UNSUPP_OPCODE", "UNSUPP_OPTION", "MALFORMED_OPTION", "NETWORK_FAILURE",
    "NO_RESOURCES", "UNSUPP_PROTOCOL", "USER_EX_QUOTA",
    "CANNOT_PROVIDE_EXTERNAL", "ADDRESS_MISMATCH", "EXCESSIVE_REMOTE_PEERS",
]
PROTOS = {"udp": 17, "tcp": 6, "all": 0}
OPT_THIRD_PARTY, OPT_PREFER_FAILURE, OPT_FILTER = 1, 2, 3


def err(msg):
    sys.stderr.write("pcpclient: %s\n" % msg)
    sys.stderr.flush()


def v4mapped(addr):
    return b"\0" * 10 + b"\xff\xff" + socket.inet_aton(addr)


def from_v4mapped(b):
    if b[:12] == b"\0" * 10 + b"\xff\xff":
        return socket.inet_ntoa(b[12:16])
    return socket.inet_ntop(socket.AF_INET6, b)


def hostport(s, default_port=None):
    if ":" in s:
        h, p = s.rsplit(":", 1)
        port = int(p)
    elif default_port is not None:
        h, port = s, default_port
    else:
        raise ValueError("%r: expected ADDR:PORT" % s)
    socket.inet_aton(h)
    if not 0 <= port <= 65535:
        raise ValueError("bad port in %r" % s)
    return h, port


def option(code, data):
    pad = (-len(data)) % 4
    return struct.pack("!BBH", code, 0, len(data)) + data + b"\0" * pad


def filter_option(spec):
    if spec == "none":
        return option(OPT_FILTER, struct.pack("!BBH", 0, 0, 0) + b"\0" * 16)
    port = 0
    if ":" in spec:
        spec, p = spec.rsplit(":", 1)
        port = int(p)
    addr, plen = (spec.split("/", 1) + ["32"])[:2]
    plen = int(plen)
    if not 0 <= plen <= 32:
        raise ValueError("bad prefix length in %r" % spec)
    return option(OPT_FILTER, struct.pack("!BBH", 0, 96 + plen, port) + v4mapped(addr))


def build(a):
    opcode = {"announce": 0, "map": 1, "peer": 2}[a.cmd]
    client = a.client_ip or a.bind
    lifetime = a.lifetime if hasattr(a, "lifetime") else 0
    msg = struct.pack("!BBHI", a.version, opcode, 0, lifetime) + v4mapped(client)
    if opcode:
        nonce = bytes.fromhex(a.nonce)
        if len(nonce) != 12:
            raise ValueError("--nonce needs 24 hex digits")
        saddr, sport = hostport(a.suggest) if a.suggest else ("0.0.0.0", 0)
        msg += nonce + struct.pack("!B3xHH", PROTOS[a.proto], a.internal_port, sport)
        msg += v4mapped(saddr)
        if opcode == 2:
            paddr, pport = hostport(a.peer)
            msg += struct.pack("!HH", pport, 0) + v4mapped(paddr)
        if a.third_party:
            msg += option(OPT_THIRD_PARTY, v4mapped(a.third_party))
        if opcode == 1:
            if a.prefer_failure:
                msg += option(OPT_PREFER_FAILURE, b"")
            for f in a.filter or []:
                msg += filter_option(f)
    return msg, opcode


def parse(reply, opcode, nonce):
    out = {}
    if len(reply) < 24 or reply[0] != 2 or not reply[1] & 0x80:
        return {"result": "not_a_pcp_response", "length": len(reply)}
    code = reply[3]
    out["result"] = RESULTS[code] if code < len(RESULTS) else "unknown"
    out["result_code"] = code
    out["opcode"] = reply[1] & 0x7F
    out["lifetime"] = struct.unpack("!I", reply[4:8])[0]
    out["epoch"] = struct.unpack("!I", reply[8:12])[0]
    out["length"] = len(reply)
    off = 24
    if opcode in (1, 2) and len(reply) >= off + 36:
        body = reply[off:off + 36]
        out["nonce_ok"] = int(body[:12] == nonce)
        out["protocol"] = body[12]
        out["internal_port"] = struct.unpack("!H", body[16:18])[0]
        ext_port = struct.unpack("!H", body[18:20])[0]
        out["external"] = "%s:%d" % (from_v4mapped(body[20:36]), ext_port)
        off += 36
        if opcode == 2 and len(reply) >= off + 20:
            pport = struct.unpack("!H", reply[off:off + 2])[0]
            out["peer"] = "%s:%d" % (from_v4mapped(reply[off + 4:off + 20]), pport)
            off += 20
    nf = 0
    while off + 4 <= len(reply):
        ocode, _, olen = struct.unpack("!BBH", reply[off:off + 4])
        data = reply[off + 4:off + 4 + olen]
        if ocode == OPT_FILTER:
            nf += 1
        elif ocode == OPT_PREFER_FAILURE:
            out["prefer_failure"] = 1
        elif ocode == OPT_THIRD_PARTY and len(data) == 16:
            out["third_party"] = from_v4mapped(data)
        off += 4 + olen + ((-olen) % 4)
    out["filters"] = nf
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("map", "peer", "announce"):
        q = sub.add_parser(name)
        q.add_argument("--server", required=True, metavar="ADDR[:PORT]")
        q.add_argument("--bind", required=True, metavar="ADDR")
        q.add_argument("--client-ip", metavar="ADDR")
        q.add_argument("--version", type=int, default=2)
        q.add_argument("--timeout", type=float, default=1.0)
        q.add_argument("--tries", type=int, default=4)
        q.add_argument("--raw-out", metavar="FILE")
        if name == "announce":
            continue
        q.add_argument("--proto", choices=sorted(PROTOS), default="udp")
        q.add_argument("--internal-port", type=int, required=True)
        q.add_argument("--suggest", metavar="ADDR:PORT")
        q.add_argument("--lifetime", type=int, default=120)
        q.add_argument("--nonce", default=os.urandom(12).hex())
        q.add_argument("--third-party", metavar="ADDR")
        if name == "peer":
            q.add_argument("--peer", required=True, metavar="ADDR:PORT")
        else:
            q.add_argument("--filter", action="append", metavar="ADDR/PLEN[:PORT]")
            q.add_argument("--prefer-failure", action="store_true")
    a = ap.parse_args()
    try:
        server = hostport(a.server, 5351)
        socket.inet_aton(a.bind)
        msg, opcode = build(a)
    except (ValueError, OSError) as e:
        err(str(e))
        return 2
    nonce = msg[24:36] if opcode else b""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((a.bind, 0))
    reply = None
    for _ in range(max(1, a.tries)):
        s.sendto(msg, server)
        deadline = time.monotonic() + a.timeout
        while reply is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                data, frm = s.recvfrom(2048)
            except socket.timeout:
                break
            if frm == server:
                reply = data
        if reply is not None:
            break
    if reply is None:
        print("result=none")
        err("no reply from %s:%d" % server)
        return 1
    if a.raw_out:
        with open(a.raw_out, "w") as f:
            f.write(reply.hex() + "\n")
    out = parse(reply, opcode, nonce)
    out["nonce"] = nonce.hex() if opcode else ""
    print(" ".join("%s=%s" % kv for kv in out.items()))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
