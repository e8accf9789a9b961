#!/usr/bin/python3
"""rtpprobe -- a bounded RTP endpoint for the SIP tests (python3, stdlib only).

Binds the address:port a phone put in its SDP, sends COUNT RTP packets
(version 2, payload type 0 = PCMU, 160 bytes of payload, 20 ms apart) to the
address:port the other side's SDP gave it, and at the same time counts what
arrives and from which source address:port.

    rtpprobe.py --bind IP:PORT --to IP:PORT [--count N] [--interval-ms 20]
                [--linger S] [--timeout S] [--out FILE] [--pidfile FILE]
                [--ready FILE] [--label TEXT] [--ssrc N] [--delay S]

Ends when it has sent COUNT packets and then either received COUNT packets or
heard nothing for LINGER seconds (default 1.5), and in any case after TIMEOUT
seconds (default 10). Prints key=value lines (to --out FILE if given, written
at the end in one go, else stdout):

    label=phA bind=203.0.113.10:20000 to=198.51.100.1:20002
    sent=50 send_errors=0 received=50 rtp_ok=50 bad=0
    sources=198.51.100.1:20002          (every source seen, comma separated)
    source_counts=198.51.100.1:20002/50
    first_rx_ms=35 last_rx_ms=1012 duration_ms=2540 max_gap_ms=21
                                          (max_gap_ms: the longest silence
                                          between two packets received)
    seq_min=.. seq_max=.. lost=..         (about the main source's stream)
    t0_unix=1765100000.123 bin_ms=100 tx_bins=5,5,.. rx_bins=0,4,5,..
                                          (packets sent and received per
                                          100 ms since t0_unix, wall clock:
                                          the media plot of demo-report.py;
                                          at most TIMEOUT/100 ms bins)
    done=1

Exit status: 0 when it sent COUNT packets and received at least one, 1 when
nothing arrived, 2 on usage or bind errors.
"""
import argparse
import os
import random
import select
import socket
import struct
import sys
import time

BIN_MS = 100  # width of the tx_bins / rx_bins counters
MAX_BINS = int(120.0 * 1000 / BIN_MS) + 1  # the longest --timeout, in bins


def hostport(s):
    host, _, port = s.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("expected IPv4:PORT, got %r" % s)
    socket.inet_aton(host)
    return (host, int(port))


def main():
    ap = argparse.ArgumentParser(description="bounded RTP probe")
    ap.add_argument("--bind", type=hostport, required=True)
    ap.add_argument("--to", type=hostport, required=True)
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--interval-ms", type=int, default=20)
    ap.add_argument("--linger", type=float, default=1.5)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--out")
    ap.add_argument("--pidfile")
    ap.add_argument("--ready")
    ap.add_argument("--label", default="")
    ap.add_argument("--ssrc", type=int)
    ap.add_argument("--delay", type=float, default=0.0,
                    help="seconds between binding (receiving starts) and the first send")
    a = ap.parse_args()
    a.count = max(0, min(a.count, 10000))
    a.interval_ms = max(1, min(a.interval_ms, 1000))
    a.timeout = max(0.1, min(a.timeout, 120.0))
    a.delay = max(0.0, min(a.delay, a.timeout))

    lines = []

    def finish(rc):
        text = "\n".join(lines) + "\n"
        if a.out:
            tmp = a.out + ".tmp"
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, a.out)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
        if a.pidfile:
            try:
                os.unlink(a.pidfile)
            except OSError:
                pass
        return rc

    if a.pidfile:
        with open(a.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    lines.append("label=%s bind=%s:%d to=%s:%d" % (a.label or "-", a.bind[0], a.bind[1], a.to[0], a.to[1]))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(a.bind)
    except OSError as e:
        lines.append("error=bind errno=%d msg=%s" % (e.errno, e.strerror.replace(" ", "_")))
        lines.append("sent=0 received=0 sources=")
        lines.append("done=0")
        return finish(2)
    s.setblocking(False)
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")

    ssrc = a.ssrc if a.ssrc is not None else random.getrandbits(32)
    seq = random.getrandbits(16)
    ts = random.getrandbits(32)
    payload = b"\xff" * 160  # PCMU silence
    interval = a.interval_ms / 1000.0

    t0 = time.monotonic()
    t0_unix = time.time()
    bin_s = BIN_MS / 1000.0
    tx_bins, rx_bins = [], []  # packets per BIN_MS since t0, bounded by the timeout

    def count(bins, t):
        n = int((t - t0) / bin_s)
        if n < MAX_BINS:
            bins.extend([0] * (n + 1 - len(bins)))
            bins[n] += 1

    deadline = t0 + a.timeout
    next_send = t0 + a.delay
    sent = send_errors = received = rtp_ok = bad = 0
    sources = {}
    seqs = {}
    first_rx = last_rx = None
    max_gap = 0.0  # longest silence between two packets received
    last_activity = t0

    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        if sent >= a.count:
            if received >= a.count:
                break
            quiet_since = max(last_activity, next_send - interval)
            if now - quiet_since >= a.linger:
                break
        wait = deadline - now
        if sent < a.count:
            wait = min(wait, max(0.0, next_send - now))
        else:
            wait = min(wait, 0.05)
        r, _, _ = select.select([s], [], [], wait)
        if r:
            for _ in range(64):
                try:
                    data, src = s.recvfrom(2048)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    # e.g. ECONNREFUSED reported by an ICMP error: not data
                    break
                t = time.monotonic()
                received += 1
                count(rx_bins, t)
                key = "%s:%d" % src
                sources[key] = sources.get(key, 0) + 1
                if first_rx is None:
                    first_rx = t
                elif t - last_rx > max_gap:
                    max_gap = t - last_rx
                last_rx = last_activity = t
                if len(data) >= 12 and (data[0] >> 6) == 2:
                    rtp_ok += 1
                    seqs.setdefault(key, []).append(struct.unpack("!H", data[2:4])[0])
                else:
                    bad += 1
        now = time.monotonic()
        while sent < a.count and now >= next_send:
            marker = 0x80 if sent == 0 else 0
            hdr = struct.pack("!BBHII", 0x80, marker | 0, seq, ts, ssrc)
            try:
                s.sendto(hdr + payload, a.to)
            except OSError:
                send_errors += 1
            sent += 1
            count(tx_bins, now)
            seq = (seq + 1) & 0xFFFF
            ts = (ts + 160) & 0xFFFFFFFF
            next_send += interval
            if now - next_send > 10 * interval:  # fell far behind: do not burst
                next_send = now + interval
    t_end = time.monotonic()
    s.close()

    ms = lambda t: "" if t is None else str(int((t - t0) * 1000))
    lines.append("sent=%d send_errors=%d received=%d rtp_ok=%d bad=%d" % (sent, send_errors, received, rtp_ok, bad))
    lines.append("sources=%s" % ",".join(sorted(sources, key=lambda k: -sources[k])))
    lines.append("source_counts=%s" % ",".join("%s/%d" % (k, v) for k, v in sorted(sources.items(), key=lambda kv: -kv[1])))
    lines.append("first_rx_ms=%s last_rx_ms=%s duration_ms=%d max_gap_ms=%d" % (ms(first_rx), ms(last_rx), int((t_end - t0) * 1000), int(max_gap * 1000)))
    if seqs:
        main_src = max(seqs, key=lambda k: len(seqs[k]))
        sq = seqs[main_src]
        # unwrap 16-bit sequence numbers relative to the first one
        base = sq[0]
        rel = [(x - base) & 0xFFFF for x in sq]
        span = max(rel) + 1
        lines.append("seq_first=%d seq_span=%d lost=%d" % (base, span, max(0, span - len(set(rel)))))
    nbins = min(MAX_BINS, int((t_end - t0) / bin_s) + 1)
    pad = lambda b: ",".join(map(str, b + [0] * (nbins - len(b))))
    lines.append("t0_unix=%.3f bin_ms=%d tx_bins=%s rx_bins=%s" % (t0_unix, BIN_MS, pad(tx_bins), pad(rx_bins)))
    lines.append("done=1")
    return finish(0 if received > 0 and sent == a.count else 1)


if __name__ == "__main__":
    sys.exit(main())
