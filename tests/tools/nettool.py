#!/usr/bin/env python3
"""nettool: a small, bounded test-traffic tool for natedge's namespace tests.

Standard library only. Every subcommand is bounded in time (--timeout) and
count, and prints machine-readable "key=value" lines on stdout. Diagnostics
go to stderr. Exit status: 0 success, 1 timeout / nothing received,
2 usage error, 3 an ICMP error or connection refusal was reported.

Subcommands
  udp-echo      reply to datagrams with "echo:<peer ip>:<peer port>:<payload>"
  udp-send      send a datagram, wait for the reply, parse the echo
  tcp-echo      accept connections, reply with "echo:<peer ip>:<peer port>:<data>"
  tcp-connect   connect, send, read the echo
  ping          ICMP echo over a raw socket
  icmp-listen   capture ICMP messages (raw socket), decode quoted headers
  frag-send     send one UDP datagram as hand-made IPv4 fragments (raw socket)
  malformed     send a stream of crafted hostile packets (valid IP header)
  raw-send      send packets given as hex, one per line, from a file
  icmp-error    send one ICMP error quoting a UDP datagram (raw socket, any source)

Only use it towards loopback or hosts inside test network namespaces.
"""

import argparse
import errno
import os
import random
import select
import socket
import struct
import sys
import time

IP_RECVERR = 11
SO_EE_ORIGIN_ICMP = 2
ICMP_ERROR_TYPES = (3, 4, 5, 11, 12)


# ---------------------------------------------------------------- helpers

def out(*pairs, **kw):
    """Print one line of key=value pairs (flush at once: callers poll)."""
    parts = list(pairs)
    parts += ["%s=%s" % (k, v) for k, v in kw.items()]
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


def err(msg):
    sys.stderr.write("nettool: %s\n" % msg)
    sys.stderr.flush()


def hostport(s, default_host="0.0.0.0"):
    """'1.2.3.4:80' -> ('1.2.3.4', 80); ':80' or '80' -> (default, 80)."""
    if ":" in s:
        h, p = s.rsplit(":", 1)
    else:
        h, p = "", s
    if not h:
        h = default_host
    socket.inet_aton(h)  # validates
    port = int(p)
    if not 0 <= port <= 65535:
        raise ValueError("bad port in %r" % s)
    return h, port


def addr(s):
    socket.inet_aton(s)
    return s


def fmt(a):
    return "%s:%d" % (a[0], a[1])


def write_ready(path):
    if path:
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(tmp, path)


def remaining(deadline):
    return max(0.0, deadline - time.monotonic())


def printable(b, n=48):
    s = b[:n].decode("latin-1")
    return "".join(c if 33 <= ord(c) < 127 and c not in "=" else "." for c in s)


def make_payload(size, text=None):
    if text is not None:
        return text.encode()
    # printable, position-dependent pattern so corruption is visible
    pat = b"natedge-0123456789-abcdefghijklmnopqrstuvwxyz-"
    return (pat * (size // len(pat) + 1))[:size]


def parse_echo(data):
    """b'echo:IP:PORT:payload' -> ('IP:PORT', payload) or (None, None)."""
    parts = data.split(b":", 3)
    if len(parts) == 4 and parts[0] == b"echo":
        try:
            ip = parts[1].decode()
            port = int(parts[2])
            socket.inet_aton(ip)
            return "%s:%d" % (ip, port), parts[3]
        except (ValueError, OSError, UnicodeDecodeError):
            pass
    return None, None


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def l4_csum(src, dst, proto, seg):
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto, len(seg))
    c = csum(ph + seg)
    if proto == socket.IPPROTO_UDP and c == 0:
        c = 0xFFFF
    return c


def ip_header(src, dst, proto, payload_len, ident=None, flags_frag=0, ttl=64,
              options=b"", tos=0, total_len=None):
    """A valid IPv4 header (checksum computed; the kernel recomputes it anyway)."""
    if len(options) % 4:
        options += b"\0" * (4 - len(options) % 4)
    ihl = 5 + len(options) // 4
    if ident is None:
        ident = random.randint(1, 0xFFFF)
    total = ihl * 4 + payload_len if total_len is None else total_len
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, total, ident, flags_frag, ttl,
                      proto, 0, socket.inet_aton(src), socket.inet_aton(dst)) + options
    c = csum(hdr)
    return hdr[:10] + struct.pack("!H", c) + hdr[12:]


def udp_segment(src, dst, sport, dport, payload, length=None, check=None):
    ln = 8 + len(payload) if length is None else length
    seg = struct.pack("!HHHH", sport, dport, ln, 0) + payload
    if check is None:
        check = l4_csum(src, dst, socket.IPPROTO_UDP, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)
    return seg[:6] + struct.pack("!H", check) + seg[8:]


def tcp_segment(src, dst, sport, dport, flags=0x02, doff=5, payload=b"", seq=None,
                options=b"", fix_csum=True):
    if seq is None:
        seq = random.randint(0, 0xFFFFFFFF)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (doff & 0xF) << 4, flags & 0xFF,
                      65535, 0, 0) + options
    seg = hdr + payload
    if fix_csum:
        c = l4_csum(src, dst, socket.IPPROTO_TCP, seg)
        seg = seg[:16] + struct.pack("!H", c) + seg[18:]
    return seg


def icmp_msg(typ, code, rest=b"\0\0\0\0", body=b""):
    m = struct.pack("!BBH", typ, code, 0) + rest + body
    c = csum(m)
    return m[:2] + struct.pack("!H", c) + m[4:]


def route_source(dst):
    """The source address the kernel would pick towards dst."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((dst, 9))
        return s.getsockname()[0]
    finally:
        s.close()


def raw_socket():
    # IPPROTO_RAW implies IP_HDRINCL: we supply the whole IPv4 header.
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.SOL_IP, socket.IP_HDRINCL, 1)
    return s


def raw_send(s, pkt):
    dst = socket.inet_ntoa(pkt[16:20])
    try:
        s.sendto(pkt, (dst, 0))
        return True
    except OSError as e:
        err("raw send to %s (%d bytes): %s" % (dst, len(pkt), e))
        return False


def read_errqueue(sock):
    """Drain one entry of a socket's error queue: dict or None."""
    try:
        data, anc, flags, _ = sock.recvmsg(65535, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
    except (BlockingIOError, InterruptedError):
        return None
    except OSError:
        return None
    for level, typ, cdata in anc:
        if level == socket.SOL_IP and typ == IP_RECVERR and len(cdata) >= 16:
            ee_errno, origin, itype, icode, _pad, info, edata = struct.unpack("=IBBBBII", cdata[:16])
            res = {"errno": errno.errorcode.get(ee_errno, str(ee_errno))}
            if origin == SO_EE_ORIGIN_ICMP:
                res["icmp_type"] = itype
                res["icmp_code"] = icode
                if itype == 3 and icode == 4:
                    res["mtu"] = info
            if len(cdata) >= 16 + 8:
                fam, port = struct.unpack("=HH", cdata[16:20])
                if fam == socket.AF_INET:
                    res["icmp_from"] = socket.inet_ntoa(cdata[20:24])
            return res
    return None


# ---------------------------------------------------------------- udp

def cmd_udp_echo(a):
    h, p = hostport(a.bind)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((h, p))
    out("listening=%s" % fmt(s.getsockname()))
    write_ready(a.ready)
    deadline = time.monotonic() + a.timeout
    n = 0
    while a.count == 0 or n < a.count:
        r, _, _ = select.select([s], [], [], remaining(deadline))
        if not r:
            break
        try:
            data, peer = s.recvfrom(65535)
        except OSError as e:
            err("recv: %s" % e)
            continue
        n += 1
        out(peer=fmt(peer), len=len(data), payload=printable(data))
        if not a.no_reply:
            reply = ("echo:%s:%d:" % peer).encode()
            if not a.short_reply:
                reply += data
            try:
                s.sendto(reply, peer)
            except OSError as e:
                err("reply to %s: %s" % (fmt(peer), e))
    out(received=n)
    if a.count and n < a.count:
        out("timeout")
        return 1
    return 0


def cmd_udp_send(a):
    to = hostport(a.to)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
    if a.bind:
        s.bind(hostport(a.bind))
    if a.ttl:
        s.setsockopt(socket.SOL_IP, socket.IP_TTL, a.ttl)
    if a.df:
        s.setsockopt(socket.SOL_IP, 10, 2)  # IP_MTU_DISCOVER, IP_PMTUDISC_DO
    if a.connect:
        s.connect(to)
    payload = make_payload(a.size, a.payload)
    rc = 0
    got = 0
    for i in range(a.count):
        tries = 0
        answered = False
        while tries < a.tries and not answered:
            tries += 1
            try:
                if a.connect:
                    s.send(payload)
                else:
                    s.sendto(payload, to)
            except OSError as e:
                e2 = read_errqueue(s) or {}
                out("error=%s" % errno.errorcode.get(e.errno, str(e.errno)),
                    **{k: v for k, v in e2.items() if k != "errno"})
                return 3
            if i == 0 and tries == 1:
                out(local=fmt(s.getsockname()))
            deadline = time.monotonic() + a.timeout
            while True:
                r, _, x = select.select([s], [], [s], remaining(deadline))
                if not r and not x:
                    break
                try:
                    data, peer = s.recvfrom(65535)
                except OSError as e:
                    e2 = read_errqueue(s) or {}
                    out("error=%s" % errno.errorcode.get(e.errno, str(e.errno)),
                        **{k: v for k, v in e2.items() if k != "errno"})
                    return 3
                seen, echoed = parse_echo(data)
                fields = {"reply_from": fmt(peer), "len": len(data)}
                if seen:
                    fields["seen_as"] = seen
                    fields["payload_ok"] = 1 if echoed == payload or a.short_reply_ok and echoed == b"" else 0
                out(**fields)
                answered = True
                got += 1
                break
        if not answered:
            out("timeout", seq=i)
            rc = 1
        if a.interval and i + 1 < a.count:
            time.sleep(a.interval)
    if a.count > 1:
        out(sent=a.count, received=got)
    return rc


# ---------------------------------------------------------------- tcp

def cmd_tcp_echo(a):
    h, p = hostport(a.bind)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((h, p))
    s.listen(16)
    out("listening=%s" % fmt(s.getsockname()))
    write_ready(a.ready)
    deadline = time.monotonic() + a.timeout
    n = 0
    while a.count == 0 or n < a.count:
        r, _, _ = select.select([s], [], [], remaining(deadline))
        if not r:
            break
        c, peer = s.accept()
        n += 1
        c.settimeout(max(0.1, min(a.timeout, remaining(deadline) or 0.1)))
        data = b""
        try:
            data = c.recv(65535)
        except OSError as e:
            err("recv from %s: %s" % (fmt(peer), e))
        out(peer=fmt(peer), len=len(data), payload=printable(data))
        try:
            c.sendall(("echo:%s:%d:" % peer).encode() + data)
            c.shutdown(socket.SHUT_WR)
            # wait (bounded) for the client to close so we are not the one in TIME_WAIT
            c.settimeout(1.0)
            try:
                while c.recv(4096):
                    pass
            except OSError:
                pass
        except OSError as e:
            err("reply to %s: %s" % (fmt(peer), e))
        c.close()
    out(accepted=n)
    if a.count and n < a.count:
        out("timeout")
        return 1
    return 0


def cmd_tcp_connect(a):
    to = hostport(a.to)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.bind:
        s.bind(hostport(a.bind))
    s.settimeout(a.timeout)
    deadline = time.monotonic() + a.timeout
    try:
        s.connect(to)
    except socket.timeout:
        out("error=timeout")
        return 1
    except OSError as e:
        out("error=%s" % errno.errorcode.get(e.errno, str(e.errno)))
        return 3
    out(local=fmt(s.getsockname()), connected=fmt(s.getpeername()))
    payload = make_payload(a.size, a.payload)
    data = b""
    try:
        s.sendall(payload)
        while remaining(deadline) > 0:
            s.settimeout(max(0.05, remaining(deadline)))
            chunk = s.recv(65535)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    except OSError as e:
        out("error=%s" % errno.errorcode.get(e.errno, str(e.errno)))
        return 3
    s.close()
    if not data:
        out("timeout")
        return 1
    seen, echoed = parse_echo(data)
    fields = {"reply_from": fmt(to), "len": len(data)}
    if seen:
        fields["seen_as"] = seen
        fields["payload_ok"] = 1 if echoed == payload else 0
    out(**fields)
    return 0


# ---------------------------------------------------------------- icmp

def decode_icmp(pkt):
    """Decode an IPv4 packet carrying ICMP (as a raw socket returns it)."""
    ihl = (pkt[0] & 0xF) * 4
    d = {"src": socket.inet_ntoa(pkt[12:16]), "dst": socket.inet_ntoa(pkt[16:20])}
    icmp = pkt[ihl:]
    if len(icmp) < 8:
        d["short"] = 1
        return d
    d["type"], d["code"] = icmp[0], icmp[1]
    if d["type"] in (0, 8, 13, 14):
        d["id"], d["seq"] = struct.unpack("!HH", icmp[4:8])
    elif d["type"] in ICMP_ERROR_TYPES:
        if d["type"] == 3 and d["code"] == 4:
            d["mtu"] = struct.unpack("!H", icmp[6:8])[0]
        q = icmp[8:]
        if len(q) >= 20 and q[0] >> 4 == 4:
            qihl = (q[0] & 0xF) * 4
            d["quoted_proto"] = q[9]
            qs, qd = socket.inet_ntoa(q[12:16]), socket.inet_ntoa(q[16:20])
            ql4 = q[qihl:]
            if q[9] in (6, 17) and len(ql4) >= 4:
                sp, dp = struct.unpack("!HH", ql4[:4])
                d["quoted_src"] = "%s:%d" % (qs, sp)
                d["quoted_dst"] = "%s:%d" % (qd, dp)
                if q[9] == 17 and len(ql4) >= 8:
                    # verify the quoted UDP checksum when the whole datagram is quoted
                    ulen = struct.unpack("!H", ql4[4:6])[0]
                    if ulen == len(ql4) and struct.unpack("!H", ql4[6:8])[0] != 0:
                        d["quoted_l4_csum_ok"] = 1 if l4_csum(qs, qd, 17, ql4[:6] + b"\0\0" + ql4[8:]) == struct.unpack("!H", ql4[6:8])[0] else 0
            elif q[9] == 1 and len(ql4) >= 8:
                d["quoted_src"], d["quoted_dst"] = qs, qd
                d["quoted_type"] = ql4[0]
                d["quoted_id"] = struct.unpack("!H", ql4[4:6])[0]
            else:
                d["quoted_src"], d["quoted_dst"] = qs, qd
            d["quoted_ip_csum_ok"] = 1 if csum(q[:qihl]) == 0 else 0
        else:
            d["quoted"] = "unparsable"
    d["icmp_csum_ok"] = 1 if csum(icmp) == 0 else 0
    return d


def cmd_icmp_listen(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    write_ready(a.ready)
    out("listening=icmp")
    deadline = time.monotonic() + a.timeout
    n = 0
    while a.count == 0 or n < a.count:
        r, _, _ = select.select([s], [], [], remaining(deadline))
        if not r:
            break
        pkt, _ = s.recvfrom(65535)
        d = decode_icmp(pkt)
        if a.type is not None and d.get("type") != a.type:
            continue
        if a.code is not None and d.get("code") != a.code:
            continue
        if a.src and d["src"] != a.src:
            continue
        n += 1
        out("icmp", **d)
    out(captured=n)
    if a.count and n < a.count:
        out("timeout")
        return 1
    return 0


def cmd_ping(a):
    dst = addr(a.to)
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = a.id if a.id is not None else random.randint(1, 0xFFFF)
    body = make_payload(a.size)
    got = 0
    for seq in range(1, a.count + 1):
        msg = icmp_msg(8, 0, struct.pack("!HH", ident, seq), body)
        t0 = time.monotonic()
        try:
            s.sendto(msg, (dst, 0))
        except OSError as e:
            out("error=%s" % errno.errorcode.get(e.errno, str(e.errno)), seq=seq)
            return 3
        deadline = t0 + a.timeout
        answered = False
        while not answered:
            r, _, _ = select.select([s], [], [], remaining(deadline))
            if not r:
                break
            pkt, _ = s.recvfrom(65535)
            d = decode_icmp(pkt)
            if d.get("type") == 0 and d.get("id") == ident and d.get("seq") == seq and d["src"] == dst:
                ihl = (pkt[0] & 0xF) * 4
                ok = 1 if pkt[ihl + 8:] == body else 0
                out(reply_from=d["src"], id=ident, seq=seq,
                    rtt_ms="%.3f" % ((time.monotonic() - t0) * 1000), payload_ok=ok,
                    icmp_csum_ok=d.get("icmp_csum_ok"))
                answered = True
                got += 1
            elif d.get("type") in ICMP_ERROR_TYPES and d.get("quoted_type") == 8 and d.get("quoted_id") == ident:
                out("unreachable", **d)
                return 3
        if not answered:
            out("timeout", seq=seq)
        if seq < a.count and a.interval:
            time.sleep(a.interval)
    out(sent=a.count, received=got)
    return 0 if got == a.count else 1


# ---------------------------------------------------------------- fragments

def fragments(src, dst, proto, datagram, frag_size, ident):
    """Split an L4 datagram into IPv4 fragments (list of packets, in order)."""
    frag_size -= frag_size % 8
    if frag_size < 8:
        raise ValueError("fragment payload must be at least 8 bytes")
    frags = []
    off = 0
    while off < len(datagram):
        piece = datagram[off:off + frag_size]
        mf = 0x2000 if off + len(piece) < len(datagram) else 0
        frags.append(ip_header(src, dst, proto, len(piece), ident=ident,
                               flags_frag=mf | (off // 8)) + piece)
        off += len(piece)
    return frags


def cmd_frag_send(a):
    dh, dp = hostport(a.to)
    src = a.src or route_source(dh)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
    bh, bp = hostport(a.bind, src) if a.bind else (src, 0)
    u.bind((bh, bp))
    sport = u.getsockname()[1]
    payload = make_payload(a.size)
    seg = udp_segment(bh, dh, sport, dp, payload)
    ident = a.id if a.id is not None else random.randint(1, 0xFFFF)
    frags = fragments(bh, dh, socket.IPPROTO_UDP, seg, a.frag_size, ident)
    order = list(range(len(frags)))
    if a.reverse:
        order.reverse()
    elif a.last_first:
        order = [order[-1]] + order[:-1]
    raw = raw_socket()
    out(local="%s:%d" % (bh, sport), fragments=len(frags), ip_id=ident,
        order=",".join(str(i) for i in order), udp_len=len(seg))
    for i in order:
        if not raw_send(raw, frags[i]):
            return 3
        if a.gap:
            time.sleep(a.gap)
    if a.no_wait:
        return 0
    deadline = time.monotonic() + a.timeout
    while True:
        r, _, _ = select.select([u], [], [], remaining(deadline))
        if not r:
            out("timeout")
            return 1
        try:
            data, peer = u.recvfrom(65535)
        except OSError as e:
            e2 = read_errqueue(u) or {}
            out("error=%s" % errno.errorcode.get(e.errno, str(e.errno)),
                **{k: v for k, v in e2.items() if k != "errno"})
            return 3
        seen, echoed = parse_echo(data)
        fields = {"reply_from": fmt(peer), "len": len(data)}
        if seen:
            fields["seen_as"] = seen
            fields["payload_ok"] = 1 if echoed == payload else 0
        out(**fields)
        return 0


# ---------------------------------------------------------------- malformed

def malformed_kinds():
    """name -> builder(src, dst, rnd) returning one IPv4 packet.

    Each packet has a well-formed IPv4 header (the kernel drops packets with
    bad IP checksums or IHL before forwarding them) and a hostile payload.
    """
    U, T, I = socket.IPPROTO_UDP, socket.IPPROTO_TCP, socket.IPPROTO_ICMP

    def rport(r):
        fixed = getattr(r, "fixed_port", None)
        return fixed if fixed is not None else r.randint(20000, 29999)

    def pkt(src, dst, proto, payload, **kw):
        return ip_header(src, dst, proto, len(payload), **kw) + payload

    def quoted_udp(qsrc, qdst, r, ln=None):
        s = udp_segment(qsrc, qdst, rport(r), rport(r), b"q" * 8)
        return ip_header(qsrc, qdst, U, len(s), total_len=ln) + s

    k = {}
    # --- UDP
    k["udp_len_big"] = lambda s, d, r: pkt(s, d, U, udp_segment(s, d, rport(r), rport(r), b"x" * 16, length=200))
    k["udp_len_small"] = lambda s, d, r: pkt(s, d, U, udp_segment(s, d, rport(r), rport(r), b"x" * 16, length=r.choice([1, 4, 7])))
    k["udp_len_zero"] = lambda s, d, r: pkt(s, d, U, udp_segment(s, d, rport(r), rport(r), b"x" * 8, length=0))
    k["udp_empty"] = lambda s, d, r: pkt(s, d, U, udp_segment(s, d, rport(r), rport(r), b""))
    k["udp_header_cut"] = lambda s, d, r: pkt(s, d, U, struct.pack("!HH", rport(r), rport(r)))
    k["udp_no_l4"] = lambda s, d, r: pkt(s, d, U, b"")
    k["udp_bad_csum"] = lambda s, d, r: pkt(s, d, U, udp_segment(s, d, rport(r), rport(r), b"y" * 12, check=0x1234))
    k["udp_port_zero"] = lambda s, d, r: pkt(s, d, U, udp_segment(s, d, 0, 0, b"z" * 8))
    # --- TCP
    k["tcp_header_cut"] = lambda s, d, r: pkt(s, d, T, tcp_segment(s, d, rport(r), rport(r))[:r.choice([2, 8, 13, 19])])
    k["tcp_doff_beyond"] = lambda s, d, r: pkt(s, d, T, tcp_segment(s, d, rport(r), rport(r), doff=r.choice([6, 10, 15])))
    k["tcp_doff_small"] = lambda s, d, r: pkt(s, d, T, tcp_segment(s, d, rport(r), rport(r), doff=r.choice([0, 1, 4]), payload=b"p" * 8))
    k["tcp_flags_all"] = lambda s, d, r: pkt(s, d, T, tcp_segment(s, d, rport(r), rport(r), flags=r.choice([0xFF, 0x3F, 0x07, 0x00, 0x29])))
    k["tcp_bad_options"] = lambda s, d, r: pkt(s, d, T, tcp_segment(s, d, rport(r), rport(r), doff=7, options=b"\x02\x00\x05\xb4\x03\xff\x01\x00"))
    k["tcp_no_l4"] = lambda s, d, r: pkt(s, d, T, b"")
    # --- ICMP
    k["icmp_cut"] = lambda s, d, r: pkt(s, d, I, bytes([8, 0, 0xf7, 0xff])[:r.choice([1, 2, 4, 7])])
    k["icmp_unknown_type"] = lambda s, d, r: pkt(s, d, I, icmp_msg(r.choice([1, 2, 7, 42, 99, 200, 255]), r.randint(0, 255), body=b"u" * 8))
    k["icmp_echo_cut"] = lambda s, d, r: pkt(s, d, I, icmp_msg(8, 0)[:6])
    k["icmp_err_no_quote"] = lambda s, d, r: pkt(s, d, I, icmp_msg(3, 3))
    k["icmp_err_quote_cut"] = lambda s, d, r: pkt(s, d, I, icmp_msg(3, r.choice([1, 3, 4]), body=quoted_udp(d, s, r)[:r.choice([4, 10, 19])]))
    k["icmp_err_quote_garbage"] = lambda s, d, r: pkt(s, d, I, icmp_msg(r.choice([3, 11, 12]), 0, body=bytes(r.randint(0, 255) for _ in range(28))))
    k["icmp_err_quote_v6"] = lambda s, d, r: pkt(s, d, I, icmp_msg(3, 3, body=b"\x60" + bytes(27)))
    k["icmp_err_quote_ihl_small"] = lambda s, d, r: pkt(s, d, I, icmp_msg(3, 3, body=bytes([0x42]) + quoted_udp(d, s, r)[1:]))
    k["icmp_err_quote_ihl_beyond"] = lambda s, d, r: pkt(s, d, I, icmp_msg(3, 3, body=bytes([0x4F]) + quoted_udp(d, s, r)[1:24]))
    k["icmp_err_quote_no_l4"] = lambda s, d, r: pkt(s, d, I, icmp_msg(3, 3, body=quoted_udp(d, s, r)[:20]))
    k["icmp_err_quote_l4_cut"] = lambda s, d, r: pkt(s, d, I, icmp_msg(11, 0, body=quoted_udp(d, s, r)[:22]))
    k["icmp_err_quote_totlen"] = lambda s, d, r: pkt(s, d, I, icmp_msg(3, 3, body=quoted_udp(d, s, r, ln=r.choice([0, 3, 19, 65535]))))
    k["icmp_err_quote_tcp_cut"] = lambda s, d, r: pkt(s, d, I, icmp_msg(3, 1, body=(ip_header(d, s, T, 20) + tcp_segment(d, s, rport(r), rport(r)))[:r.choice([21, 23, 26])]))
    k["icmp_err_quote_err"] = lambda s, d, r: pkt(s, d, I, icmp_msg(3, 3, body=ip_header(d, s, I, 36) + icmp_msg(3, 3, body=quoted_udp(s, d, r))[:16]))
    k["icmp_err_quote_frag"] = lambda s, d, r: pkt(s, d, I, icmp_msg(3, 3, body=ip_header(d, s, U, 16, flags_frag=0x0010) + b"f" * 16))
    k["icmp_err_quote_unknown_proto"] = lambda s, d, r: pkt(s, d, I, icmp_msg(3, 2, body=ip_header(d, s, 253, 8) + b"g" * 8))
    # --- fragments
    k["frag_orphan"] = lambda s, d, r: pkt(s, d, U, b"o" * 64, flags_frag=r.choice([0x0010, 0x2020, 0x00FF]))
    k["frag_tiny_udp"] = lambda s, d, r: pkt(s, d, U, udp_segment(s, d, rport(r), rport(r), b"t" * 32)[:r.choice([1, 4])], flags_frag=0x2000)
    k["frag_tiny_tcp"] = lambda s, d, r: pkt(s, d, T, tcp_segment(s, d, rport(r), rport(r))[:8], flags_frag=0x2000)
    k["frag_tiny_icmp"] = lambda s, d, r: pkt(s, d, I, icmp_msg(8, 0, body=b"e" * 32)[:4], flags_frag=0x2000)
    k["frag_overlap"] = lambda s, d, r: pkt(s, d, U, b"v" * 24, flags_frag=0x2001, ident=0x4242)
    k["frag_first_only"] = lambda s, d, r: pkt(s, d, U, udp_segment(s, d, rport(r), rport(r), b"w" * 40, length=200)[:48], flags_frag=0x2000)
    # --- IP options, unknown protocols
    k["ip_options_nop"] = lambda s, d, r: pkt(s, d, U, udp_segment(s, d, rport(r), rport(r), b"n" * 8), options=b"\x01" * r.choice([4, 8, 40]))
    k["ip_options_rr"] = lambda s, d, r: pkt(s, d, U, udp_segment(s, d, rport(r), rport(r), b"n" * 8), options=b"\x07\x0b\x04" + b"\0" * 8 + b"\x00")
    k["ip_options_tcp_cut"] = lambda s, d, r: pkt(s, d, T, tcp_segment(s, d, rport(r), rport(r))[:10], options=b"\x01\x01\x01\x00")
    k["unknown_proto"] = lambda s, d, r: pkt(s, d, r.choice([0, 2, 41, 47, 50, 132, 143, 253, 254, 255]), b"?" * r.choice([0, 1, 8, 40]))
    return k


def cmd_malformed(a):
    dsts = [addr(x) for x in a.to.split(",") if x]
    kinds = malformed_kinds()
    names = sorted(kinds)
    if a.kinds:
        want = a.kinds.split(",")
        bad = [w for w in want if w not in kinds]
        if bad:
            err("unknown kinds: %s (known: %s)" % (",".join(bad), ",".join(names)))
            return 2
        names = want
    if a.list:
        for n in names:
            print(n)
        return 0
    rnd = random.Random(a.seed)
    rnd.fixed_port = a.port
    raw = raw_socket()
    srcs = {d: (a.src or route_source(d)) for d in dsts}
    deadline = time.monotonic() + a.timeout
    interval = 1.0 / a.pps if a.pps > 0 else 0
    sent, failed = 0, 0
    per = {}
    t_next = time.monotonic()
    for i in range(a.count):
        if time.monotonic() > deadline:
            out("deadline_reached")
            break
        name = names[i % len(names)]
        d = dsts[(i // len(names)) % len(dsts)]
        try:
            p = kinds[name](srcs[d], d, rnd)
        except (struct.error, ValueError) as e:
            err("building %s: %s" % (name, e))
            failed += 1
            continue
        if raw_send(raw, p):
            sent += 1
            per[name] = per.get(name, 0) + 1
        else:
            failed += 1
        if interval:
            t_next += interval
            delay = t_next - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    out(sent=sent, failed=failed, kinds=len(per), targets=",".join(dsts))
    if a.verbose:
        for n in sorted(per):
            out(kind=n, sent=per[n])
    return 0 if sent else 1


def cmd_raw_send(a):
    raw = raw_socket()
    sent = 0
    with open(a.file) as f:
        for line in f:
            line = line.split("#", 1)[0].strip().replace(" ", "")
            if not line:
                continue
            if raw_send(raw, bytes.fromhex(line)):
                sent += 1
    out(sent=sent)
    return 0 if sent else 1


def cmd_icmp_error(a):
    """An ICMP error from --src (spoofable: raw socket) to --to, quoting a
    UDP datagram QSRC:QPORT -> QDST:QPORT as it would have left the NAT."""
    qsh, qsp = hostport(a.quote_src)
    qdh, qdp = hostport(a.quote_dst)
    seg = udp_segment(qsh, qdh, qsp, qdp, b"q" * 8)
    quote = ip_header(qsh, qdh, socket.IPPROTO_UDP, len(seg)) + seg
    rest = struct.pack("!HH", 0, a.mtu) if a.type == 3 and a.code == 4 else b"\0\0\0\0"
    to = addr(a.to)
    src = a.src or route_source(to)
    msg = icmp_msg(a.type, a.code, rest, quote)
    raw = raw_socket()
    sent = 0
    for _ in range(a.count):
        if raw_send(raw, ip_header(src, to, socket.IPPROTO_ICMP, len(msg)) + msg):
            sent += 1
    out(sent=sent, src=src, to=to, type=a.type, code=a.code)
    return 0 if sent else 1


# ---------------------------------------------------------------- main

def main(argv=None):
    p = argparse.ArgumentParser(prog="nettool", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    q = sub.add_parser("udp-echo", help="UDP echo server")
    q.add_argument("--bind", required=True, metavar="ADDR:PORT")
    q.add_argument("--count", type=int, default=1, help="datagrams to answer (0: until timeout)")
    q.add_argument("--timeout", type=float, default=5.0, help="overall deadline, seconds")
    q.add_argument("--ready", metavar="FILE", help="write FILE once bound")
    q.add_argument("--no-reply", action="store_true")
    q.add_argument("--short-reply", action="store_true", help="reply without echoing the payload")
    q.set_defaults(fn=cmd_udp_echo)

    q = sub.add_parser("udp-send", help="send a datagram and wait for the echo")
    q.add_argument("--to", required=True, metavar="ADDR:PORT")
    q.add_argument("--bind", metavar="ADDR:PORT")
    q.add_argument("--payload")
    q.add_argument("--size", type=int, default=32, help="payload size when --payload is not given")
    q.add_argument("--count", type=int, default=1)
    q.add_argument("--tries", type=int, default=1, help="sends per datagram until a reply arrives")
    q.add_argument("--interval", type=float, default=0.0)
    q.add_argument("--timeout", type=float, default=3.0, help="wait per try, seconds")
    q.add_argument("--connect", action="store_true", help="use a connected socket")
    q.add_argument("--ttl", type=int, help="IP TTL of the datagrams")
    q.add_argument("--df", action="store_true", help="set DF (IP_PMTUDISC_DO): report ICMP fragmentation needed")
    q.add_argument("--short-reply-ok", action="store_true", help=argparse.SUPPRESS)
    q.set_defaults(fn=cmd_udp_send)

    q = sub.add_parser("tcp-echo", help="TCP echo server")
    q.add_argument("--bind", required=True, metavar="ADDR:PORT")
    q.add_argument("--count", type=int, default=1, help="connections to serve (0: until timeout)")
    q.add_argument("--timeout", type=float, default=5.0)
    q.add_argument("--ready", metavar="FILE")
    q.set_defaults(fn=cmd_tcp_echo)

    q = sub.add_parser("tcp-connect", help="connect, send, read the echo")
    q.add_argument("--to", required=True, metavar="ADDR:PORT")
    q.add_argument("--bind", metavar="ADDR:PORT")
    q.add_argument("--payload")
    q.add_argument("--size", type=int, default=32)
    q.add_argument("--timeout", type=float, default=3.0)
    q.set_defaults(fn=cmd_tcp_connect)

    q = sub.add_parser("ping", help="ICMP echo (raw socket)")
    q.add_argument("--to", required=True, metavar="ADDR")
    q.add_argument("--count", type=int, default=1)
    q.add_argument("--timeout", type=float, default=2.0, help="wait per echo, seconds")
    q.add_argument("--interval", type=float, default=0.2)
    q.add_argument("--id", type=int)
    q.add_argument("--size", type=int, default=56)
    q.set_defaults(fn=cmd_ping)

    q = sub.add_parser("icmp-listen", help="capture ICMP messages")
    q.add_argument("--type", type=int)
    q.add_argument("--code", type=int)
    q.add_argument("--src", metavar="ADDR", help="only from this source")
    q.add_argument("--count", type=int, default=1, help="(0: until timeout)")
    q.add_argument("--timeout", type=float, default=5.0)
    q.add_argument("--ready", metavar="FILE")
    q.set_defaults(fn=cmd_icmp_listen)

    q = sub.add_parser("frag-send", help="send one UDP datagram as IPv4 fragments")
    q.add_argument("--to", required=True, metavar="ADDR:PORT")
    q.add_argument("--bind", metavar="ADDR:PORT", help="source address:port (default: route source, any port)")
    q.add_argument("--src", metavar="ADDR", help=argparse.SUPPRESS)
    q.add_argument("--size", type=int, default=3000, help="UDP payload bytes")
    q.add_argument("--frag-size", type=int, default=1200, help="bytes of L4 data per fragment (multiple of 8)")
    q.add_argument("--reverse", action="store_true", help="send fragments in reverse order (last first)")
    q.add_argument("--last-first", action="store_true", help="send the last fragment first, then the rest in order")
    q.add_argument("--gap", type=float, default=0.0, help="seconds between fragments")
    q.add_argument("--id", type=int, help="IP identification")
    q.add_argument("--timeout", type=float, default=3.0, help="wait for the reply")
    q.add_argument("--no-wait", action="store_true", help="do not wait for a reply")
    q.set_defaults(fn=cmd_frag_send)

    q = sub.add_parser("malformed", help="send crafted hostile packets")
    q.add_argument("--to", default="", metavar="ADDR[,ADDR...]")
    q.add_argument("--count", type=int, default=300)
    q.add_argument("--src", metavar="ADDR", help="source address (default: route source)")
    q.add_argument("--pps", type=float, default=2000.0, help="packets per second (0: no pacing)")
    q.add_argument("--seed", type=int, default=1)
    q.add_argument("--kinds", help="comma-separated subset")
    q.add_argument("--port", type=int, help="use this port for every L4 port (default: random 20000-29999)")
    q.add_argument("--list", action="store_true", help="list the kinds and exit")
    q.add_argument("--timeout", type=float, default=10.0, help="overall deadline")
    q.add_argument("--verbose", "-v", action="store_true")
    q.set_defaults(fn=cmd_malformed)

    q = sub.add_parser("icmp-error", help="send an ICMP error quoting a UDP datagram")
    q.add_argument("--to", required=True, metavar="ADDR")
    q.add_argument("--src", metavar="ADDR", help="outer source (default: route source)")
    q.add_argument("--type", type=int, default=3)
    q.add_argument("--code", type=int, default=3)
    q.add_argument("--mtu", type=int, default=576, help="next-hop MTU of a fragmentation needed")
    q.add_argument("--quote-src", required=True, metavar="ADDR:PORT")
    q.add_argument("--quote-dst", required=True, metavar="ADDR:PORT")
    q.add_argument("--count", type=int, default=1)
    q.set_defaults(fn=cmd_icmp_error)

    q = sub.add_parser("raw-send", help="send hex packets from a file (one per line)")
    q.add_argument("--file", required=True)
    q.set_defaults(fn=cmd_raw_send)

    a = p.parse_args(argv)
    try:
        return a.fn(a)
    except (ValueError, OSError) as e:
        err("%s: %s" % (a.cmd, e))
        out("error=%s" % (errno.errorcode.get(getattr(e, "errno", None) or 0, "EINVAL")))
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
