#!/usr/bin/env python3
"""mkpcap.py: write the RTP stream the soak's SIPp phones play (play_pcap_audio).

    mkpcap.py OUT.pcap SECONDS [PTIME_MS]

One G.711 A-law (payload type 8) RTP stream: a packet every PTIME_MS (20)
milliseconds for SECONDS seconds, 160-byte payload of A-law silence (0xd5)
at 20 ms, sequence numbers and timestamps counting up. Ethernet/IPv4/UDP
framing as SIPp's pcap player reads it; SIPp keeps only the UDP payload and
the packets' relative times (the addresses and ports it sends with are the
call's: -mi, [auto_media_port], and the SDP it received).
"""
import struct
import sys


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write(__doc__)
        return 2
    out, secs = sys.argv[1], float(sys.argv[2])
    ptime = int(sys.argv[3]) if len(sys.argv) == 4 else 20
    if not (0 < secs <= 3600 and 10 <= ptime <= 100):
        sys.stderr.write("mkpcap: SECONDS in (0, 3600], PTIME_MS in [10, 100]\n")
        return 2
    n = max(1, int(secs * 1000 / ptime))
    samples = 8 * ptime                      # 8 kHz, one byte per sample
    payload = b"\xd5" * samples
    ssrc = 0x50AC0001
    with open(out, "wb") as f:
        # pcap global header: LINKTYPE_ETHERNET, microsecond timestamps
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            rtp = struct.pack("!BBHII", 0x80, 8 | (0x80 if i == 0 else 0),
                              i & 0xFFFF, (i * samples) & 0xFFFFFFFF, ssrc) + payload
            udp = struct.pack("!HHHH", 4000, 4000, 8 + len(rtp), 0) + rtp
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                             bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2]))
            eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
            frame = eth + ip + udp
            t_us = i * ptime * 1000
            f.write(struct.pack("<IIII", t_us // 1000000, t_us % 1000000, len(frame), len(frame)))
            f.write(frame)
    return 0


if __name__ == "__main__":
    sys.exit(main())
