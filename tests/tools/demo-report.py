#!/usr/bin/python3
"""demo-report -- the readable part of tests/demo (python3, stdlib only).

    demo-report.py call --callid CALL-ID --col NAME:LINE1:LINE2 ... [sources]
                        [--json FILE [--id ID] [--title TEXT]]
    demo-report.py html --out FILE [--title TEXT] [--text REPORT_TXT]
                        [--verdict ID=LABEL=TEXT]... CALL_JSON...

Prints, for one SIP call, the ladder (one line per SIP message hop between
the columns, left to right as given; the first and last columns are the
phones, the others proxies), with each SDP's connection address:port and
every rewrite (before -> after, and the natd binding that made it), then
the natd bindings of the call and the media each phone sent and received.

Sources (all optional but the phones' message logs):
    --phone COL=MSG_LOG     SIPp -trace_msg log of the phone in column COL
    --proxy COL=LOG         sipproxy's log (binding/release lines, their times)
    --nat COL=NATD=WATCH    the natd the proxy in COL drives, and its
                            `natctl --json watch` output
    --pcap FILE             a capture of a link between proxies (SIP hops
                            and media there); --addr COL=IP names the hosts,
                            --pcap-label TEXT the link
    --addr COL=IP
    --rtp COL=RTP_RESULT    tests/tools/rtpprobe.py's result for that phone
    --json FILE             also write the call's model (the hops with their
                            SDP bodies, natd's BIND/RELEASE, the bindings, the
                            media per 100 ms) for `html`; --id and --title
                            name the part of the demo it belongs to

`html` writes one self-contained HTML page (inline SVG and CSS, no network)
from the models of `call --json` (reporthtml.py): per call the ladder as a
sequence diagram, the SDP before and after each rewrite, the bindings and a
plot of the media packets per 100 ms each way; the verdicts and the text
report (--text) with it.

Exit status 0; 2 on usage errors.
"""
import calendar
import json
import os
import re
import struct
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import siptrace  # noqa: E402  (split, header, sdp_summary)
import reporthtml  # noqa: E402  (render)

SEP = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)\s*$")
HEAD = re.compile(r"^(UDP|TCP|TLS|SCTP) message (sent|received)")


def fail(msg):
    sys.stderr.write("demo-report: %s\n" % msg)
    sys.exit(2)


# ------------------------------------------------------------------ inputs

def sipp_messages(path):
    """(epoch, 'sent'|'received', lines) per message of a SIPp message log."""
    try:
        text = open(path, errors="replace").read()
    except OSError:
        return
    cur = None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        m = SEP.match(line)
        if m:
            if cur and cur[2]:
                yield cur
            t = time.mktime(time.strptime(m.group(1) + " " + m.group(2), "%Y-%m-%d %H:%M:%S"))
            cur = [t + float(m.group(3)), None, []]
            continue
        if cur is None:
            continue
        if cur[1] is None:
            h = HEAD.match(line)
            if h:
                cur[1] = h.group(2)
            continue
        cur[2].append(line)
    if cur and cur[2]:
        yield cur


def pcap_udp(path):
    """(epoch, src_ip, sport, dst_ip, dport, payload) per unfragmented UDP/IPv4 packet."""
    try:
        data = open(path, "rb").read()
    except OSError:
        return
    if len(data) < 24:
        return
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return  # pcapng or garbage: not read here
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        pkt = data[off:off + incl]
        off += incl
        ts = sec + frac / (1e9 if nano else 1e6)
        if linktype == 1:  # Ethernet
            if len(pkt) < 14:
                continue
            et, p = struct.unpack("!H", pkt[12:14])[0], 14
            while et in (0x8100, 0x88A8) and len(pkt) >= p + 4:
                et, p = struct.unpack("!H", pkt[p + 2:p + 4])[0], p + 4
        elif linktype == 113:  # Linux SLL
            if len(pkt) < 16:
                continue
            et, p = struct.unpack("!H", pkt[14:16])[0], 16
        elif linktype == 276:  # Linux SLL2
            if len(pkt) < 20:
                continue
            et, p = struct.unpack("!H", pkt[0:2])[0], 20
        elif linktype in (12, 101, 228):  # raw IPv4
            et, p = 0x0800, 0
        else:
            return
        if et != 0x0800 or len(pkt) < p + 20:
            continue
        ip = pkt[p:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[0] >> 4 != 4 or ihl < 20 or len(ip) < ihl + 8 or ip[9] != 17:
            continue
        if struct.unpack("!H", ip[6:8])[0] & 0x3FFF:
            continue  # a fragment
        tot = struct.unpack("!H", ip[2:4])[0]
        src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
        sport, dport, ulen = struct.unpack("!HHH", ip[ihl:ihl + 6])
        payload = ip[ihl + 8:min(len(ip), tot, ihl + ulen)]
        yield ts, src, sport, dst, dport, payload


def kv_file(path):
    out = {}
    try:
        for line in open(path, errors="replace"):
            for tok in line.split():
                k, eq, v = tok.partition("=")
                if eq and k not in out:
                    out[k] = v
    except OSError:
        pass
    return out


def watch_events(path, labels):
    evs = []
    try:
        for line in open(path, errors="replace"):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("label") in labels:
                evs.append(e)
    except OSError:
        pass
    return evs


PROXY_T = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)Z ")
PROXY_BIND = re.compile(r"call (\S+): binding (\d+) for (\S+) -> (\S+)")
PROXY_REL = re.compile(r"call (\S+): releasing binding (\d+)")


def proxy_lines(path, callid):
    """[(epoch, line)] of sipproxy's log lines about the call."""
    out = []
    try:
        for line in open(path, errors="replace"):
            if callid not in line:
                continue
            m = PROXY_T.match(line)
            if not m:
                continue
            t = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) + float(m.group(2))
            out.append((t, line.rstrip("\n")))
    except OSError:
        pass
    return out


# ------------------------------------------------------------------ model

def msg_info(lines):
    """(kind, cseq, callid, (c, m) or None, SDP body lines) of one SIP message's lines."""
    start, hdrs, body = siptrace.split(list(lines))
    if not start:
        return None
    if start.startswith("SIP/2.0 "):
        parts = start.split(" ", 2)
        kind = parts[1] + (" " + parts[2] if len(parts) > 2 else "")
    else:
        kind = start.split(" ", 1)[0]
    cseq = " ".join(siptrace.header(hdrs, "CSeq").split())
    callid = siptrace.header(hdrs, "Call-ID", "i")
    sdp = None
    if body and siptrace.header(hdrs, "Content-Type", "c").startswith("application/sdp"):
        c, m, _o, _d = siptrace.sdp_summary(body)
        sdp = (c, m)
    else:
        body = []
    return kind, cseq, callid, sdp, body


class Hop:
    def __init__(self, t, frm, to, info, src):
        self.t, self.frm, self.to, self.src = t, frm, to, src
        self.kind, self.cseq, _callid, self.sdp, self.body = info
        self.tadj = t
        self.note = ""
        self.group = None


def ep(sdp):
    return "%s:%s" % sdp if sdp else ""


# ------------------------------------------------------------------ call

def cmd_call(argv):
    callid = None
    cols, labels1, labels2 = [], {}, {}
    phones, proxies, nats, rtps, addrs = {}, {}, {}, {}, {}
    pcap = None
    pcap_label = "captured link"
    json_out, part_id, part_title = None, "", ""
    i = 0
    while i < len(argv):
        a = argv[i]
        v = argv[i + 1] if i + 1 < len(argv) else fail("%s needs a value" % a)
        i += 2
        if a == "--callid":
            callid = v
        elif a == "--col":
            name, _, rest = v.partition(":")
            l1, _, l2 = rest.partition(":")
            cols.append(name)
            labels1[name], labels2[name] = l1 or name, l2
        elif a in ("--phone", "--proxy", "--rtp", "--addr"):
            k, _, p = v.partition("=")
            {"--phone": phones, "--proxy": proxies, "--rtp": rtps, "--addr": addrs}[a][k] = p
        elif a == "--nat":
            k, _, rest = v.partition("=")
            natd, _, path = rest.partition("=")
            nats[k] = (natd, path)
        elif a == "--pcap":
            pcap = v
        elif a == "--pcap-label":
            pcap_label = v
        elif a == "--json":
            json_out = v
        elif a == "--id":
            part_id = v
        elif a == "--title":
            part_title = v
        else:
            fail("unknown option %s" % a)
    if not callid or len(cols) < 3:
        fail("call needs --callid and at least three --col")
    idx = {c: n for n, c in enumerate(cols)}
    last = len(cols) - 1
    ip2col = {ip: c for c, ip in addrs.items()}

    # ---- hops
    hops = []
    for col, path in phones.items():
        n = idx[col]
        nb = 1 if n == 0 else n - 1
        for t, d, lines in sipp_messages(path):
            info = msg_info(lines)
            if not info or info[2] != callid:
                continue
            if d == "sent":
                hops.append(Hop(t, n, nb, info, "sipp"))
            else:
                hops.append(Hop(t, nb, n, info, "sipp"))
    media_pcap = []
    if pcap:
        for ts, src, sport, dst, dport, payload in pcap_udp(pcap):
            if 5060 in (sport, dport):
                if src not in ip2col or dst not in ip2col:
                    continue
                lines = payload.decode("utf-8", "replace").split("\n")
                info = msg_info([l.rstrip("\r") for l in lines])
                if not info or info[2] != callid:
                    continue
                hops.append(Hop(ts, idx[ip2col[src]], idx[ip2col[dst]], info, "pcap"))
            else:
                media_pcap.append(("%s:%d" % (src, sport), "%s:%d" % (dst, dport), ts))

    # group the hops of one message: same kind and CSeq, n-th occurrence on
    # its hop; a 100 Trying is hop-by-hop, never forwarded
    groups, seen = {}, {}
    for h in sorted(hops, key=lambda h: h.t):
        k = (h.kind, h.cseq, h.frm, h.to)
        occ = seen.get(k, 0)
        seen[k] = occ + 1
        gk = (h.kind, h.cseq, occ) + ((h.frm, h.to) if h.kind.startswith("100 ") else ())
        groups.setdefault(gk, []).append(h)
        h.group = gk
    for g in groups.values():
        right = g[0].to > g[0].frm
        g.sort(key=lambda h: h.frm if right else -h.frm)
    def chain():
        for g in groups.values():
            for a, b in zip(g, g[1:]):
                b.tadj = max(b.tadj, a.tadj + 1e-6)

    chain()
    # a response on a hop comes after the request it answers on that hop
    # (SIPp logs a message a little after it went out; a capture does not)
    req = {}
    for h in hops:
        if not h.kind[0].isdigit():
            req.setdefault((h.cseq, h.frm, h.to), h)
    for h in hops:
        r = req.get((h.cseq, h.to, h.frm)) if h.kind[0].isdigit() else None
        if r is not None:
            h.tadj = max(h.tadj, r.tadj + 1e-6)
    chain()

    # ---- natd bindings (watch) and the proxies' lines about them
    labs = ("call:" + callid, "call:" + callid.split("@")[0])
    bindings = {}  # col -> {id: dict}
    for col, (natd, path) in nats.items():
        bs = {}
        for e in watch_events(path, labs):
            b = bs.setdefault(e.get("id"), {"id": e.get("id")})
            if e.get("event") == "created":
                b["created"] = e
            elif e.get("event") in ("released", "expired"):
                b["ended"] = e
        bindings[col] = bs
    ptimes = {}  # (col, id) -> [t_made, t_released]
    for col, path in proxies.items():
        for t, line in proxy_lines(path, callid):
            m = PROXY_BIND.search(line)
            if m:
                ptimes.setdefault((col, int(m.group(2))), [None, None])[0] = t
                b = bindings.setdefault(col, {}).setdefault(int(m.group(2)), {"id": int(m.group(2))})
                b.setdefault("proxy", (m.group(3), m.group(4)))
            m = PROXY_REL.search(line)
            if m:
                ptimes.setdefault((col, int(m.group(2))), [None, None])[1] = t

    def find_binding(col, before, after=None):
        for bid, b in sorted(bindings.get(col, {}).items(), key=lambda x: x[0] or 0):
            c = b.get("created")
            e, mm = (c.get("endpoint"), c.get("alloc")) if c else b.get("proxy", (None, None))
            if e == before and (after is None or mm == after):
                return bid, mm
        return None, None

    # ---- rewrites along each message's path
    used = {}  # (col, id) -> message kind
    usedby = {}  # (col, id) -> the first hop that carries the rewritten SDP
    for g in groups.values():
        prev = None
        for h in g:
            if h.sdp is None:
                continue
            if prev is None:
                h.note = "sdp %s" % ep(h.sdp)
            elif prev.sdp == h.sdp:
                h.note = "sdp %s (unchanged)" % ep(h.sdp)
            else:
                # every proxy between the last hop seen and this one may rewrite
                step = 1 if h.to > h.frm else -1
                cur, chain, ok = ep(prev.sdp), [ep(prev.sdp)], True
                for pc in range(prev.to, h.frm + step, step):
                    col = cols[pc]
                    if col not in nats and col not in proxies:
                        continue
                    bid, m = find_binding(col, cur)
                    if bid is None:
                        continue
                    used[(col, bid)] = h.kind.split(" ")[0] if not h.kind[0].isdigit() else h.kind
                    usedby.setdefault((col, bid), h)
                    who = nats[col][0] if col in nats else col
                    chain.append("%s (%s binding %s)" % (m, who, bid))
                    cur = m
                if cur != ep(h.sdp):
                    ok = False
                    chain.append(ep(h.sdp) + " (NO natd binding found for this rewrite!)")
                h.note = "sdp " + " -> ".join(chain) if ok else "sdp " + " -> ".join(chain)
            prev = h

    # ---- ladder
    allh = sorted(hops, key=lambda h: (h.tadj, h.t))
    t0 = allh[0].tadj if allh else 0.0
    gap = 18 if len(cols) > 3 else 24
    left = 10
    width = left + gap * last + 3

    def centre(n):
        return left + gap * n

    def blank():
        row = [" "] * width
        for n in range(len(cols)):
            row[centre(n)] = "|"
        return row

    def header_row(texts):
        row = [" "] * (width + 20)
        for n, s in enumerate(texts):
            st = max(0, centre(n) - len(s) // 2)
            if n == last:
                st = min(st, centre(n) - 1)
            row[st:st + len(s)] = list(s)
        return "".join(row).rstrip()

    print(header_row([labels1[c] for c in cols]))
    if any(labels2.values()):
        print(header_row([labels2[c] for c in cols]))
    print("".join(blank()).rstrip())
    for h in allh:
        row = blank()
        a, b = centre(h.frm), centre(h.to)
        lo, hi = min(a, b), max(a, b)
        for x in range(lo + 1, hi):
            row[x] = "-"
        if b > a:
            row[hi - 1] = ">"
        else:
            row[lo + 1] = "<"
        label = " %s " % short_kind(h.kind)
        st = lo + 3 if b > a else hi - 2 - len(label)
        st = max(lo + 2, min(st, hi - 1 - len(label)))
        row[st:st + len(label)] = list(label)
        ts = "%7.3fs " % (h.tadj - t0)
        line = (ts + "".join(row)[len(ts):]).rstrip()
        if h.note:
            line = line.ljust(width) + " " + h.note
        print(line)
    print("".join(blank()).rstrip())
    if not hops:
        print("  (no SIP message of call %s found in the logs)" % callid)

    # ---- each SDP from the phone that wrote it to the phone that got it
    firsts = []
    for g in groups.values():
        withsdp = [h for h in g if h.sdp]
        if withsdp:
            firsts.append((withsdp[0].tadj, withsdp))
    if firsts:
        print()
        print("SDP connection address:port, from the phone that wrote it to the phone that got it:")
        for _t, hs in sorted(firsts, key=lambda x: x[0]):
            a, z = hs[0], hs[-1]
            parts = [ep(a.sdp)]
            for h in hs[1:]:
                if "->" in h.note:
                    parts.extend(x.strip() for x in h.note[4:].split("->")[1:])
            path = " -> ".join(parts) if len(parts) > 1 else ep(a.sdp) + " (not rewritten)"
            print("  %-12s %s -> %s: %s" % (short_kind(a.kind), cols[hs[0].frm], cols[z.to], path))

    # ---- bindings
    print()
    if nats:
        print("Bindings (natd events from `natctl --json watch`, times from sipproxy's log):")
        nb = 0
        for col in cols:
            if col not in nats:
                continue
            natd = nats[col][0]
            for bid, b in sorted(bindings.get(col, {}).items(), key=lambda x: x[0] or 0):
                c, e = b.get("created"), b.get("ended")
                if not c and not e:
                    continue
                nb += 1
                base = c or e
                tm, tr = ptimes.get((col, bid), [None, None])
                what = used.get((col, bid))
                s = "  %-6s #%-3s %s %s (%s) -> %s (%s)" % (
                    natd, bid, base.get("proto", "?"), base.get("endpoint"), base.get("in_realm"),
                    base.get("alloc"), base.get("ext_realm"))
                print(s)
                made = "created" if c else "creation not seen"
                if tm is not None:
                    made += " at %.3fs" % max(0.0, tm - t0)
                if what:
                    made += " for the %s's SDP" % what
                if e:
                    cn = e.get("counters", {})
                    end = "%s%s, after carrying %d packets in / %d out" % (
                        e.get("event"), (" at %.3fs" % max(0.0, tr - t0)) if tr is not None else "",
                        cn.get("pkts_in", 0), cn.get("pkts_out", 0))
                else:
                    end = "NOT released"
                print("  %-6s      %s; %s" % ("", made, end))
        if nb == 0:
            print("  (none seen for call %s)" % callid)

    # ---- media
    if rtps:
        print()
        print("Media (an RTP probe on each phone, sending to the address:port of the SDP it received):")
        print("  %-5s %-21s %5s  %-21s %8s  %-21s %s" % ("phone", "RTP socket", "sent", "to (SDP's address)",
                                                     "received", "from", "check"))
        for col in cols:
            if col not in rtps:
                continue
            r = kv_file(rtps[col])
            if not r:
                print("  %-5s no RTP result (%s)" % (col, rtps[col]))
                continue
            src = r.get("sources", "")
            if r.get("received", "0") in ("", "0"):
                verdict = "NOTHING RECEIVED"
            elif src == r.get("to"):
                verdict = "OK, only from the address its SDP named"
            else:
                verdict = "WRONG SOURCE (its SDP named %s)" % r.get("to")
            print("  %-5s %-21s %5s  %-21s %8s  %-21s %s" % (
                col, r.get("bind", "?"), r.get("sent", "?"), r.get("to", "?"), r.get("received", "?"),
                src or "-", verdict))
        if pcap and media_pcap:
            flows = {}
            for s, d, _ts in media_pcap:
                flows[(s, d)] = flows.get((s, d), 0) + 1
            head = "  on the %s (capture):" % pcap_label
            for (s, d), n in sorted(flows.items(), key=lambda x: -x[1])[:4]:
                print("%s %d packets %s -> %s" % (head, n, s, d))
                head = " " * len(head)

    if json_out:
        model = {
            "id": part_id, "title": part_title, "callid": callid,
            "cols": [{"name": c, "label": labels1[c], "sub": labels2[c], "natd": nats[c][0] if c in nats else ""}
                     for c in cols],
            "hops": [], "natd": [], "bindings": [], "media": [], "rtp": [],
        }
        hopno = {}
        gno = {}
        for n, h in enumerate(allh):
            hopno[id(h)] = n
            model["hops"].append({
                "t": round(h.tadj - t0, 6), "from": h.frm, "to": h.to, "kind": h.kind, "cseq": h.cseq,
                "msg": gno.setdefault(h.group, len(gno)), "sdp": h.body, "note": h.note, "seen_by": h.src})
        for col in cols:
            if col not in nats:
                continue
            for bid, b in sorted(bindings.get(col, {}).items(), key=lambda x: x[0] or 0):
                c, e = b.get("created"), b.get("ended")
                if not c and not e:
                    continue
                base = c or e
                tm, tr = ptimes.get((col, bid), [None, None])
                user = usedby.get((col, bid))
                if tm is not None and user is not None:
                    tm = min(tm, user.tadj - 1e-4)  # the proxy logs the reply; the BIND went before
                # a release answers the BYE or CANCEL that reached the proxy
                # (SIPp logs a message a little after it went out)
                ends = [h.tadj for h in allh if h.to == idx[col] and h.kind in ("BYE", "CANCEL")
                        and tr is not None and tr - 0.05 <= h.tadj <= tr + 0.05]
                if ends:
                    tr = max(tr, min(ends) + 1e-4)
                model["bindings"].append({
                    "proxy": idx[col], "natd": nats[col][0], "id": bid, "proto": base.get("proto"),
                    "endpoint": base.get("endpoint"), "alloc": base.get("alloc"),
                    "in_realm": base.get("in_realm"), "ext_realm": base.get("ext_realm"),
                    "made": None if tm is None else round(tm - t0, 6),
                    "released": None if tr is None else round(tr - t0, 6),
                    "end": e.get("event") if e else "", "for": used.get((col, bid), ""),
                    "hop": hopno.get(id(user)) if user is not None else None,
                    "pkts_in": (e or {}).get("counters", {}).get("pkts_in"),
                    "pkts_out": (e or {}).get("counters", {}).get("pkts_out")})
        phones_idx = [n for n, c in enumerate(cols) if c in rtps]
        for col in cols:
            if col not in rtps:
                continue
            r = kv_file(rtps[col])
            model["rtp"].append({k: r.get(k, "") for k in ("bind", "sent", "to", "received", "sources", "max_gap_ms")}
                                 | {"col": idx[col]})
            if "t0_unix" not in r:
                continue
            other = [n for n in phones_idx if n != idx[col]]
            start = round(float(r["t0_unix"]) - t0, 6)
            bms = int(r.get("bin_ms", "100"))
            for where, key, frm, to in (("sent", "tx_bins", idx[col], other[0] if other else None),
                                        ("received", "rx_bins", other[0] if other else None, idx[col])):
                bins = [int(x) for x in r.get(key, "").split(",") if x.isdigit()]
                model["media"].append({"where": where, "from": frm, "to": to, "start": start,
                                       "bin_ms": bms, "bins": bins})
        if media_pcap:
            # the two biggest flows on the captured link, each towards the phone
            # whose SDP (as seen on that link) named its destination
            owner = {}
            for h in allh:
                if h.sdp and h.src == "pcap":
                    first = groups[h.group][0]
                    owner.setdefault(ep(h.sdp), first.frm)
            flows = {}
            for s_, d, ts in media_pcap:
                flows.setdefault((s_, d), []).append(ts)
            for (s_, d), tss in sorted(flows.items(), key=lambda x: -len(x[1]))[:2]:
                to = owner.get(d)
                frm = ([n for n in phones_idx if n != to] or [None])[0] if to is not None else None
                start = min(tss) - t0
                bins = [0] * (int((max(tss) - min(tss)) / 0.1) + 1)
                for ts in tss:
                    bins[int((ts - min(tss)) / 0.1)] += 1
                model["media"].append({"where": "on the " + pcap_label, "flow": "%s -> %s" % (s_, d),
                                       "from": frm, "to": to, "start": round(start, 6), "bin_ms": 100,
                                       "bins": bins})
        with open(json_out, "w") as f:
            json.dump(model, f, indent=1)


def short_kind(kind):
    return kind


def cmd_html(argv):
    out, title, text, verdicts, models = None, "natedge demo", None, {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("--"):
            try:
                with open(a) as f:
                    models.append(json.load(f))
            except (OSError, ValueError) as e:
                fail("%s: %s" % (a, e))
            i += 1
            continue
        v = argv[i + 1] if i + 1 < len(argv) else fail("%s needs a value" % a)
        i += 2
        if a == "--out":
            out = v
        elif a == "--title":
            title = v
        elif a == "--text":
            try:
                text = open(v, errors="replace").read()
            except OSError as e:
                fail("%s: %s" % (v, e.strerror))
        elif a == "--verdict":
            k, _, rest = v.partition("=")
            label, _, t = rest.partition("=")
            verdicts[k] = (label, t)
        else:
            fail("unknown option %s" % a)
    if not out:
        fail("html needs --out")
    page = reporthtml.render(title, models, verdicts, text)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write(page)
    os.replace(tmp, out)


def main():
    if len(sys.argv) < 2:
        fail(__doc__)
    if sys.argv[1] == "call":
        cmd_call(sys.argv[2:])
    elif sys.argv[1] == "html":
        cmd_html(sys.argv[2:])
    else:
        fail(__doc__)


if __name__ == "__main__":
    main()
