#!/usr/bin/env python3
"""gaps.py: the media gap of every RTP flow of a capture across a failover.

    gaps.py CAPTURE.pcap KILL_UNIX_NS [PORT_LO PORT_HI]

Reads a libpcap capture (Ethernet or Linux cooked, tcpdump -w) of one
phone's interface, keeps the IPv4 UDP packets whose destination port is in
PORT_LO..PORT_HI (default 21000..40999, the SIPp media ports of the
benchmarks) and groups them by flow (source and destination address:port).
For each flow that carried packets before the kill (KILL_UNIX_NS, ns since
the epoch): the gap is the time from its last packet before the kill to
its first packet after it; a flow with no packet after the kill did not
resume. Prints key=value lines:

    flows=N resumed=N not_resumed=N
    gap_p50_ms=.. gap_p99_ms=.. gap_max_ms=..   (over the resumed flows)
    sources_changed=N   (flows whose packets after the kill came from another
                         source address:port than before: none expected)
"""
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return
        magic = struct.unpack("<I", hdr[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            e = "<"
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            e = ">"
        else:
            raise SystemExit("gaps.py: %s is not a pcap file" % path)
        nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
        linktype = struct.unpack(e + "I", hdr[20:24])[0]
        off = {1: 14, 113: 16, 101: 0}.get(linktype)
        if off is None:
            raise SystemExit("gaps.py: link type %d not handled" % linktype)
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                return
            sec, frac, incl, _ = struct.unpack(e + "IIII", rh)
            data = f.read(incl)
            if len(data) < incl:
                return
            t = sec + frac / (1e9 if nano else 1e6)
            if linktype == 1 and data[12:14] != b"\x08\x00":
                continue
            if linktype == 113 and data[14:16] != b"\x08\x00":
                continue
            ip = data[off:]
            if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            ihl = (ip[0] & 15) * 4
            if len(ip) < ihl + 8:
                continue
            sport, dport = struct.unpack(">HH", ip[ihl:ihl + 4])
            yield t, ip[12:16], sport, ip[16:20], dport


def main():
    if len(sys.argv) not in (3, 5):
        sys.stderr.write(__doc__)
        return 2
    kill = int(sys.argv[2]) / 1e9
    lo, hi = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) == 5 else (21000, 40999)
    # per destination (the phone's media port): last before, first after, sources
    flows = {}
    for t, src, sport, dst, dport in packets(sys.argv[1]):
        if not lo <= dport <= hi:
            continue
        k = (dst, dport)
        f = flows.setdefault(k, {"before": None, "after": None, "src_b": set(), "src_a": set()})
        s = (src, sport)
        if t < kill:
            if f["before"] is None or t > f["before"]:
                f["before"] = t
            f["src_b"].add(s)
        else:
            if f["after"] is None or t < f["after"]:
                f["after"] = t
            f["src_a"].add(s)
    gaps, not_resumed, changed, n = [], 0, 0, 0
    for f in flows.values():
        if f["before"] is None:
            continue
        n += 1
        if f["after"] is None:
            not_resumed += 1
            continue
        gaps.append((f["after"] - f["before"]) * 1000)
        if f["src_a"] - f["src_b"]:
            changed += 1
    gaps.sort()

    def pct(p):
        if not gaps:
            return -1
        return gaps[min(len(gaps) - 1, int(round(p / 100.0 * (len(gaps) - 1))))]
    print("flows=%d resumed=%d not_resumed=%d" % (n, len(gaps), not_resumed))
    print("gap_p50_ms=%.0f gap_p99_ms=%.0f gap_max_ms=%.0f" % (pct(50), pct(99), gaps[-1] if gaps else -1))
    print("sources_changed=%d" % changed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
