#!/usr/bin/env python3
"""ctlwire: natd's control protocol spoken by hand, for hostile-client tests.

Standard library only. natctl plays the polite client; this tool plays the
one that says HELLO twice, never reads, never speaks, or sends names natd
must not cut. Each subcommand runs one scenario and prints its findings as
key=value lines on stdout (diagnostics on stderr). Exit status: 0 the
scenario ran (its findings say what natd did), 1 it could not run (no
connection, an unexpected answer before the interesting part), 2 usage.

Endpoints: --tcp ADDR:PORT or --unix PATH. A TCP client authenticates with
--name and --secret-file (HMAC-SHA256 challenge, libcontrol/proto.h section 6).

Subcommands
  double-hello  authenticate as --name, then say HELLO as --victim (after
                AUTH, and on a second connection while AUTH is awaited);
                then try to RELEASE --victim-binding and BIND --endpoint.
                Keys: auth, hello2_status, release_status, bind_status,
                bind_owner, await_hello2_status.
  no-read       HELLO, then pipeline --count STATS requests without reading
                a byte; then see whether natd closed the connection.
                Keys: sent, closed (1/0), send_error.
  silent        connect and say nothing; how long until natd closes.
                Keys: closed (1/0), after_ms.
  hold          open --count connections (from --bind ADDR...) and say
                nothing; after --settle seconds count how many natd kept.
                Keys: opened, kept, kept_<addr>.
  hello-name    (TCP) HELLO with --hello-name; the answer. Keys: status,
                nonce (1/0), closed.
  bind          authenticate, BIND --endpoint, LIST the binding.
                Keys: auth, bind_status, id, owner.

Only use it towards natd inside test network namespaces or on loopback.
"""

import argparse
import hashlib
import hmac
import os
import select
import socket
import struct
import sys
import time

T_NAME, T_REASON, T_OWNER = 0x0001, 0x0002, 0x0004
T_STATUS, T_EPOCH, T_NONCE, T_MAC = 0x8001, 0x8002, 0x8003, 0x8004
T_ID, T_DIR, T_PROTO, T_IN, T_EXT, T_EP, T_ALLOC = 0x8010, 0x8012, 0x8013, 0x8014, 0x8015, 0x8016, 0x8017
M_HELLO, M_AUTH, M_CAPS, M_BIND, M_RELEASE, M_LIST, M_STATS = 1, 2, 3, 4, 6, 7, 8
REPLY = 0x8000
LIST_ITEM = 0x4007
LABEL = b"natedge-auth-v1"


def log(*a):
    print("ctlwire:", *a, file=sys.stderr)


def text(s):
    return s.encode() + b"\0"


def msg(mtype, reqid, tlvs=()):
    body = b"".join(struct.pack(">HH", t, len(v)) + v for t, v in sorted(tlvs, key=lambda x: x[0]))
    return b"NC" + struct.pack(">BBHHII", 1, 0, mtype, 0, 16 + len(body), reqid) + body


def ep(addr, port):
    return struct.pack(">BBH", 1, 0, port) + socket.inet_aton(addr)


class Conn:
    def __init__(self, a, bind=None, timeout=5.0):
        self.buf = b""
        self.closed = False
        self.reqid = 0
        self.epoch = b""
        if a.unix:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.settimeout(timeout)
            self.s.connect(a.unix)
        else:
            host, port = a.tcp.rsplit(":", 1)
            self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if bind:
                self.s.bind((bind, 0))
            self.s.settimeout(timeout)
            self.s.connect((host, int(port)))

    def send(self, mtype, tlvs=()):
        self.reqid += 1
        self.s.sendall(msg(mtype, self.reqid, tlvs))
        return self.reqid

    def recv_msg(self, timeout=5.0):
        """One message as (type, reqid, {tlv: [values]}), or None (closed/timeout)."""
        end = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 16:
                n = struct.unpack(">I", self.buf[8:12])[0]
                if len(self.buf) >= n:
                    m, self.buf = self.buf[:n], self.buf[n:]
                    mtype, reqid = struct.unpack(">H", m[4:6])[0], struct.unpack(">I", m[12:16])[0]
                    tl, off = {}, 16
                    while off + 4 <= n:
                        t, ln = struct.unpack(">HH", m[off:off + 4])
                        tl.setdefault(t, []).append(m[off + 4:off + 4 + ln])
                        off += 4 + ln
                    if T_EPOCH in tl:
                        self.epoch = tl[T_EPOCH][0]
                    return mtype, reqid, tl
            left = end - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.s.settimeout(left)
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                d = b""
            if not d:
                self.closed = True
            self.buf += d

    def request(self, mtype, tlvs=(), timeout=5.0):
        rid = self.send(mtype, tlvs)
        items = []
        while True:
            r = self.recv_msg(timeout)
            if r is None:
                return None, items
            if r[0] == LIST_ITEM and r[1] == rid:
                items.append(r[2])
                continue
            if r[1] == rid:
                return r[2], items

    def wait_closed(self, timeout):
        """True if natd closes the connection within timeout (data is discarded)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.s.settimeout(max(0.01, end - time.monotonic()))
            try:
                d = self.s.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return True
            if not d:
                return True
        return False


def status(tl):
    if tl is None:
        return "none"
    return str(struct.unpack(">H", tl[T_STATUS][0])[0]) if T_STATUS in tl else "?"


def owner(tl):
    return tl[T_OWNER][0].rstrip(b"\0").decode() if tl and T_OWNER in tl else ""


def handshake(c, name, secret_file):
    """HELLO (+ AUTH over TCP). Returns 'ok' or what went wrong."""
    tl, _ = c.request(M_HELLO, [(T_NAME, text(name))] if name else [])
    if tl is None or status(tl) != "0":
        return "hello_status_%s" % status(tl)
    if T_NONCE not in tl:
        return "ok"
    ns = tl[T_NONCE][0]
    secret = open(secret_file, "rb").read()
    if secret.endswith(b"\n"):
        secret = secret[:-1]
    nc = os.urandom(32)
    mac = hmac.new(secret, LABEL + b"C" + ns + nc, hashlib.sha256).digest()
    tl, _ = c.request(M_AUTH, [(T_NONCE, nc), (T_MAC, mac)])
    return "ok" if status(tl) == "0" else "auth_status_%s" % status(tl)


def bind_tlvs(endpoint):
    addr, port = endpoint.rsplit(":", 1)
    return [(T_DIR, b"\x01"), (T_PROTO, b"\x11"), (T_IN, text("inside")), (T_EXT, text("outside")),
            (T_EP, ep(addr, int(port)))]


def list_owner(c, bid):
    _, items = c.request(M_LIST, [(T_ID, struct.pack(">I", bid))])
    return owner(items[0]) if items else ""


def out(**kw):
    for k, v in kw.items():
        print("%s=%s" % (k, v))
    sys.stdout.flush()


def cmd_double_hello(a):
    c = Conn(a)
    auth = handshake(c, a.name, a.secret_file)
    out(auth=auth)
    if auth != "ok":
        return 1
    tl, _ = c.request(M_HELLO, [(T_NAME, text(a.victim))])
    out(hello2_status=status(tl))
    if a.victim_binding:
        tl, _ = c.request(M_RELEASE, [(T_EPOCH, c.epoch), (T_ID, struct.pack(">I", a.victim_binding))])
        out(release_status=status(tl))
    if a.endpoint:
        tl, _ = c.request(M_BIND, bind_tlvs(a.endpoint))
        out(bind_status=status(tl))
        if tl and T_ID in tl:
            out(bind_owner=list_owner(c, struct.unpack(">I", tl[T_ID][0])[0]))
    # a second HELLO while AUTH is awaited
    c2 = Conn(a)
    tl, _ = c2.request(M_HELLO, [(T_NAME, text(a.name))])
    tl2, _ = c2.request(M_HELLO, [(T_NAME, text(a.victim))])
    out(await_hello2_status=status(tl2), await_nonce=int(bool(tl and T_NONCE in tl)))
    return 0


def cmd_no_read(a):
    c = Conn(a)
    auth = handshake(c, a.name, a.secret_file)
    if auth != "ok":
        out(auth=auth)
        return 1
    c.s.setblocking(False)
    sent, err, stats = 0, "", msg(M_STATS, 7)
    end = time.monotonic() + a.max_time
    while sent < a.count and time.monotonic() < end:
        try:
            c.s.send(stats)  # 16 bytes: all or nothing
            sent += 1
        except BlockingIOError:
            select.select([], [c.s], [], 0.05)
        except OSError as e:
            err = e.strerror
            break
    out(sent=sent, send_error=err or "-")
    c.s.setblocking(True)
    out(closed=int(c.wait_closed(a.wait)))
    return 0


def cmd_silent(a):
    c = Conn(a)
    t0 = time.monotonic()
    closed = c.wait_closed(a.wait)
    out(closed=int(closed), after_ms=int((time.monotonic() - t0) * 1000))
    return 0


def cmd_hold(a):
    conns = []
    for b in a.bind or [None]:
        for _ in range(a.count):
            try:
                conns.append((b, Conn(a, bind=b)))
            except OSError as e:
                log("connect from %s: %s" % (b, e))
    time.sleep(a.settle)  # bounded: natd closes refused ones at accept
    kept = {}
    for b, c in conns:
        c.s.setblocking(False)
        alive = True
        try:
            if c.s.recv(1) == b"":
                alive = False
        except BlockingIOError:
            pass
        except OSError:
            alive = False
        if alive:
            kept[b] = kept.get(b, 0) + 1
    out(opened=len(conns), kept=sum(kept.values()))
    for b in a.bind or []:
        out(**{"kept_" + b: kept.get(b, 0)})
    # hold them while the caller checks (it kills us when done)
    if a.hold:
        print("holding=1")
        sys.stdout.flush()
        time.sleep(a.hold)
    return 0


def cmd_hello_name(a):
    c = Conn(a)
    tl, _ = c.request(M_HELLO, [(T_NAME, text(a.hello_name))])
    out(status=status(tl), nonce=int(bool(tl and T_NONCE in tl)), closed=int(c.wait_closed(1.0)))
    return 0


def cmd_bind(a):
    c = Conn(a)
    auth = handshake(c, a.name, a.secret_file)
    out(auth=auth)
    if auth != "ok":
        return 1
    tl, _ = c.request(M_BIND, bind_tlvs(a.endpoint))
    out(bind_status=status(tl))
    if tl and T_ID in tl:
        bid = struct.unpack(">I", tl[T_ID][0])[0]
        out(id=bid, owner=list_owner(c, bid))
    return 0


def main():
    ap = argparse.ArgumentParser(description="natd control channel, hostile client")
    ap.add_argument("cmd", choices=["double-hello", "no-read", "silent", "hold", "hello-name", "bind"])
    ap.add_argument("--tcp")
    ap.add_argument("--unix")
    ap.add_argument("--name", default="")
    ap.add_argument("--secret-file")
    ap.add_argument("--victim", default="")
    ap.add_argument("--victim-binding", type=int, default=0)
    ap.add_argument("--endpoint")
    ap.add_argument("--hello-name", default="")
    ap.add_argument("--bind", action="append")
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--settle", type=float, default=0.5)
    ap.add_argument("--hold", type=float, default=0)
    ap.add_argument("--wait", type=float, default=5.0)
    ap.add_argument("--max-time", type=float, default=10.0)
    a = ap.parse_args()
    if bool(a.tcp) == bool(a.unix):
        ap.error("one of --tcp or --unix")
    fn = {"double-hello": cmd_double_hello, "no-read": cmd_no_read, "silent": cmd_silent,
          "hold": cmd_hold, "hello-name": cmd_hello_name, "bind": cmd_bind}[a.cmd]
    try:
        return fn(a)
    except OSError as e:
        log("%s: %s" % (a.cmd, e))
        out(error=str(e).replace(" ", "_"))
        return 1


if __name__ == "__main__":
    sys.exit(main())
