#!/usr/bin/env python3
"""ctrl.py -- one command to a baresip ctrl_tcp socket (netstring-framed JSON).

Usage: ctrl.py --port P [--host 127.0.0.1] [--timeout S] [--events FILE] COMMAND [PARAMS...]

Sends {"command": COMMAND, "params": "PARAMS", "token": T} framed as a
netstring ("LEN:JSON,"), reads netstrings until the response carrying the
same token arrives, prints the response's "data" on stdout. Events baresip
pushes on the connection meanwhile ({"event": true, ...}) are appended, one
JSON object per line, to --events FILE (if given).

Exit status: 0 response with ok=true, 1 ok=false, 2 usage, 3 no connection,
4 no response within the timeout (every wait is bounded).

The commands are the long names of baresip's menu module (v1.0.0: dial,
hangup, accept, listcalls, callstat, reginfo, quit, uanew, ...; "help" lists
them). ctrl_tcp keeps one client at a time: a new connection replaces the
previous one, so callers serialise (baresip-phone holds a lock).
"""

import json
import os
import socket
import sys
import time


def usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


def main(argv):
    host, port, timeout, events = "127.0.0.1", None, 3.0, None
    i = 0
    while i < len(argv) and argv[i].startswith("--"):
        opt = argv[i]
        if i + 1 >= len(argv):
            usage()
        val = argv[i + 1]
        if opt == "--port":
            port = int(val)
        elif opt == "--host":
            host = val
        elif opt == "--timeout":
            timeout = float(val)
        elif opt == "--events":
            events = val
        else:
            usage()
        i += 2
    rest = argv[i:]
    if port is None or not rest:
        usage()
    token = "bp%d_%d" % (os.getpid(), int(time.time() * 1000) % 1000000)
    msg = json.dumps({"command": rest[0], "params": " ".join(rest[1:]), "token": token}).encode()
    deadline = time.monotonic() + timeout
    try:
        s = socket.create_connection((host, port), timeout=timeout)
    except OSError as e:
        print("error=connect %s" % e, file=sys.stderr)
        return 3
    s.sendall(b"%d:%s," % (len(msg), msg))
    buf = b""
    evf = open(events, "a") if events else None
    try:
        while True:
            # parse every complete netstring in buf
            while True:
                colon = buf.find(b":")
                if colon < 0:
                    break
                head = buf[:colon]
                if not head.isdigit() or len(head) > 7:
                    print("error=bad netstring header %r" % head[:20], file=sys.stderr)
                    return 4
                n = int(head)
                if len(buf) < colon + 1 + n + 1:
                    break
                body = buf[colon + 1:colon + 1 + n]
                buf = buf[colon + 1 + n + 1:]
                try:
                    obj = json.loads(body.decode("utf-8", "replace"))
                except ValueError:
                    continue
                if obj.get("event"):
                    if evf:
                        obj["_t"] = round(time.time(), 3)
                        evf.write(json.dumps(obj) + "\n")
                        evf.flush()
                    continue
                if obj.get("response") and obj.get("token") in (token, None):
                    sys.stdout.write(obj.get("data") or "")
                    return 0 if obj.get("ok") else 1
            left = deadline - time.monotonic()
            if left <= 0:
                print("error=no response within %.1fs" % timeout, file=sys.stderr)
                return 4
            s.settimeout(left)
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            except OSError as e:
                print("error=recv %s" % e, file=sys.stderr)
                return 4
            if not d:
                print("error=connection closed before the response", file=sys.stderr)
                return 4
            buf += d
    finally:
        s.close()
        if evf:
            evf.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
