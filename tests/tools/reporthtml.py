"""reporthtml -- the demo's report as one HTML page (python3, stdlib only).

Theory of operation: demo-report.py reads the logs of a call (SIPp message
logs, sipproxy's log, `natctl --json watch`, a capture, the RTP probes'
results) into a model, a plain dict (`call --json`); render() turns a list
of such models into a single page that needs nothing but a browser: inline
SVG and CSS, a few lines of inline script, and a Content-Security-Policy
that forbids every fetch, so it opens the same with no network.

Per call:
  * the ladder as an SVG sequence diagram. Lanes: the phones and proxies of
    the call, each proxy's natd right of it. One row per event in time
    order: a SIP message on one hop (class "arrow sip"; blue when it
    carries SDP, orange when a proxy changed that SDP on the way), a
    BIND/RELEASE between a proxy and its natd with natd's answer (class
    "arrow ctl"). Hovering an arrow shows its SDP note; an arrow with SDP
    links to the message's SDP block below.
  * per message with SDP, the body on every hop side by side, the lines a
    proxy changed highlighted (before/after each rewrite);
  * natd's bindings of the call;
  * a plot (SVG, class "media-plot") of the RTP packets per 100 ms each way:
    solid with points, as each phone received them; dashed, as the other
    phone sent them; dotted, as seen on a captured link between the NATs.
    A run of empty 100 ms slots between packets received is shaded red (a
    media gap), with the ACK and BYE marked on the time axis.
"""
import html

LANE = 170     # px between lifelines
LEFT = 100     # px left of the first lifeline (time labels)
ROW = 24       # px per event
TOP = 58       # px above the first event (lane headers)
TO_FIRST, TO_OTHER = "#1f5fa8", "#2a8a3e"  # media towards the first phone, towards the other one
SDP_COLOUR, REWRITE_COLOUR, CTL_COLOUR = "#1f5fa8", "#c2571a", "#7a4fa0"
GAP_MIN_BINS = 1  # empty slots between packets that make a gap

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1100px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:2px solid #ccd;padding-bottom:.2em;margin-top:2em}
h3{font-size:1.05em;margin-top:1.4em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccd;padding:.2em .5em;text-align:left;
vertical-align:top}th{background:#eef}
.ok{color:#176b2c;font-weight:600}.bad{color:#b00020;font-weight:600}
svg{display:block;margin:.5em 0;background:#fff}
svg text{font:12px system-ui,sans-serif}svg .mono{font:11px monospace}
.sdp td{font:12px monospace;white-space:pre;padding:.3em .6em}.sdp .chg{background:#ffe3b3}
.sdp th{font-weight:normal}
details{margin:.4em 0}summary{cursor:pointer}details:target{outline:2px solid #c2571a}
pre.text{font:12px monospace;background:#f6f6fa;padding:1em;overflow-x:auto}
.legend span{margin-right:1.5em;white-space:nowrap}
"""

SCRIPT = """
function openTarget(){var h=location.hash.slice(1),e=h&&document.getElementById(h);
if(e&&e.tagName==='DETAILS')e.open=true;}
window.addEventListener('hashchange',openTarget);openTarget();
"""

CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:; base-uri 'none'; form-action 'none'")


def esc(s):
    return html.escape("" if s is None else str(s), quote=True)


def fit(text, px):
    """text cut to about px pixels at 12 px sans-serif."""
    n = max(4, int(px / 6.6))
    return text if len(text) <= n else text[:n - 1] + "\u2026"


def secs(t):
    return "-" if t is None else "%.3f s" % t


# ------------------------------------------------------------------ ladder

def lanes_of(m):
    """[(label, sub, kind)] and {sip column: lane}, {sip column of a proxy: its natd's lane}."""
    lanes, lane_of, natd_lane = [], {}, {}
    for n, c in enumerate(m["cols"]):
        lane_of[n] = len(lanes)
        kind = "phone" if n in (0, len(m["cols"]) - 1) else "proxy"
        lanes.append((c["label"], c["sub"], kind))
        if c.get("natd"):
            natd_lane[n] = len(lanes)
            lanes.append((c["natd"], "TUN + control", "natd"))
    return lanes, lane_of, natd_lane


def events_of(m):
    """The ladder's rows: (t, from lane, to lane, label, class, title, link)."""
    lanes, lane_of, natd_lane = lanes_of(m)
    pid = m.get("id") or "call"
    ev = []
    for n, h in enumerate(m["hops"]):
        cls, link = "sip", None
        label = h["kind"]
        if h["sdp"]:
            link = "%s-m%d" % (pid, h["msg"])
            rewritten = "->" in h["note"]
            cls += " sdp" + (" rewritten" if rewritten else "")
            label += " (SDP rewritten)" if rewritten else " (SDP)"
        title = "%s  [%s]  seen by %s%s" % (h["kind"], h["cseq"], h["seen_by"],
                                           ("\n" + h["note"]) if h["note"] else "")
        ev.append((h["t"], (n,), lane_of[h["from"]], lane_of[h["to"]], label, cls, title, link))
    for k, b in enumerate(m["bindings"]):
        p, nl = lane_of[b["proxy"]], natd_lane.get(b["proxy"])
        if nl is None:
            continue
        if b["made"] is not None:
            ask = "BIND %s %s" % (b["proto"] or "", b["endpoint"])
            ev.append((b["made"], (-1, k, 0), p, nl, ask, "ctl", ask + " (%s)" % b["in_realm"], None))
            got = "%s #%s" % (b["alloc"], b["id"])
            ev.append((b["made"], (-1, k, 1), nl, p, got, "ctl reply",
                       "binding #%s: %s (%s) -> %s (%s)%s" % (
                           b["id"], b["endpoint"], b["in_realm"], b["alloc"], b["ext_realm"],
                           (" for the %s's SDP" % b["for"]) if b["for"] else ""), None))
        if b["released"] is not None:
            ask = "RELEASE #%s" % b["id"]
            ev.append((b["released"], (-1, k, 2), p, nl, ask, "ctl", ask, None))
            pk = "%s (%s in / %s out)" % (b["end"] or "released", b["pkts_in"], b["pkts_out"])
            ev.append((b["released"], (-1, k, 3), nl, p, pk, "ctl reply",
                       "binding #%s %s after carrying %s packets in / %s out" % (
                           b["id"], b["end"] or "released", b["pkts_in"], b["pkts_out"]), None))
    ev.sort(key=lambda e: (e[0], e[1]))
    return lanes, ev


def ladder_svg(m):
    lanes, ev = events_of(m)
    w = LEFT + LANE * (len(lanes) - 1) + 110
    h = TOP + ROW * (len(ev) + 1)
    x = lambda n: LEFT + LANE * n
    o = ['<svg class="ladder" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'role="img" aria-label="SIP ladder of call %s" data-arrows="%d">' % (w, h, w, h, esc(m["callid"]), len(ev))]
    o.append('<defs>')
    for name, col in (("sip", "#444"), ("sdp", SDP_COLOUR), ("rw", REWRITE_COLOUR), ("ctl", CTL_COLOUR)):
        o.append('<marker id="ah-%s-%s" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" '
                 'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="%s"/></marker>'
                 % (esc(m.get("id") or "call"), name, col))
    o.append('</defs>')
    for n, (label, sub, kind) in enumerate(lanes):
        fill = {"phone": "#e8f0fb", "proxy": "#fdf0e3", "natd": "#f1e9f7"}[kind]
        o.append('<g class="lane %s"><rect x="%d" y="4" width="%d" height="38" rx="5" fill="%s" stroke="#889"/>'
                 '<text x="%d" y="20" text-anchor="middle" font-weight="600">%s</text>'
                 '<text x="%d" y="36" text-anchor="middle" fill="#555">%s</text>'
                 '<line x1="%d" y1="42" x2="%d" y2="%d" stroke="#99a" stroke-dasharray="4 3"/></g>'
                 % (kind, x(n) - 70, 140, fill, x(n), esc(fit(label, 136)), x(n), esc(fit(sub, 136)),
                    x(n), x(n), h - 4))
    pid = esc(m.get("id") or "call")
    for r, (t, _n, a, b, label, cls, title, link) in enumerate(ev):
        y = TOP + ROW * r + 10
        if "rewritten" in cls:
            col, mk, sw = REWRITE_COLOUR, "rw", 2.2
        elif "sdp" in cls:
            col, mk, sw = SDP_COLOUR, "sdp", 2
        elif "ctl" in cls:
            col, mk, sw = CTL_COLOUR, "ctl", 1.3
        else:
            col, mk, sw = "#444", "sip", 1.3
        x1, x2 = x(a), x(b)
        dash = ' stroke-dasharray="5 3"' if "reply" in cls else ""
        span = abs(x2 - x1) - 8
        g = ['<g class="arrow %s" data-t="%.6f"><title>%s</title>' % (cls, t, esc(title))]
        g.append('<text x="6" y="%d" fill="#666" class="mono">%s</text>' % (y + 4, "%.3fs" % t))
        g.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%s"%s marker-end="url(#ah-%s-%s)"/>'
                 % (x1, y, x2 + (-2 if x2 > x1 else 2), y, col, sw, dash, pid, mk))
        g.append('<text x="%d" y="%d" text-anchor="middle" fill="%s">%s</text>'
                 % ((x1 + x2) // 2, y - 4, col, esc(fit(label, span))))
        g.append('</g>')
        if link:
            g = ['<a href="#%s">' % esc(link)] + g + ['</a>']
        o.append("".join(g))
    o.append('</svg>')
    return "\n".join(o)


# ------------------------------------------------------------------ SDP

def sdp_blocks(m):
    pid = m.get("id") or "call"
    names = [c["name"] for c in m["cols"]]
    msgs = {}
    for h in m["hops"]:
        if h["sdp"]:
            msgs.setdefault(h["msg"], []).append(h)
    o = []
    for msg, hs in sorted(msgs.items(), key=lambda kv: kv[1][0]["t"]):
        path = [names[hs[0]["from"]]] + [names[h["to"]] for h in hs]
        changed = any(h["sdp"] != hs[0]["sdp"] for h in hs)
        o.append('<details id="%s-m%d" class="sdp-msg"%s><summary><b>%s</b> [%s]: %s &mdash; %s</summary>'
                 % (esc(pid), msg, " open" if changed else "", esc(hs[0]["kind"]), esc(hs[0]["cseq"]),
                    " &rarr; ".join(esc(p) for p in path),
                    "SDP rewritten on the way" if changed else "SDP unchanged"))
        o.append('<table class="sdp"><tr>')
        for h in hs:
            o.append('<th>%s &rarr; %s at %.3f s</th>' % (esc(names[h["from"]]), esc(names[h["to"]]), h["t"]))
        o.append('</tr><tr>')
        prev = None
        for h in hs:
            lines = []
            for n, line in enumerate(h["sdp"]):
                chg = prev is not None and (n >= len(prev) or prev[n] != line)
                lines.append('<span class="chg">%s</span>' % esc(line) if chg else esc(line))
            o.append('<td>%s</td>' % "\n".join(lines))
            prev = h["sdp"]
        o.append('</tr></table>')
        notes = [h["note"] for h in hs if "->" in h["note"]]
        for note in notes:
            o.append('<div>rewrite: %s</div>' % esc(note))
        o.append('</details>')
    return "\n".join(o)


# ------------------------------------------------------------------ media

def gaps_of(bins):
    """[(first, last)] runs of empty slots between two non-empty ones."""
    nz = [i for i, v in enumerate(bins) if v]
    out = []
    for a, b in zip(nz, nz[1:]):
        if b - a - 1 >= GAP_MIN_BINS:
            out.append((a + 1, b - 1))
    return out


def media_svg(m):
    series = [s for s in m["media"] if s["bins"]]
    if not series:
        return '<p>(no per-100 ms media counts for this call)</p>'
    names = [c["name"] for c in m["cols"]]
    W, H, L, R, T, B = 900, 250, 54, 16, 16, 44
    ends = [s["start"] + len(s["bins"]) * s["bin_ms"] / 1000.0 for s in series]
    marks = []
    for kind in ("ACK", "BYE"):
        ts = [h["t"] for h in m["hops"] if h["kind"] == kind]
        if ts:
            marks.append((kind, min(ts)))
    t_lo = min(0.0, min(s["start"] for s in series))
    t_hi = max(ends + [t for _k, t in marks]) + 0.1
    y_hi = max(6, max(max(s["bins"]) for s in series) + 1)
    px = lambda t: L + (t - t_lo) / (t_hi - t_lo) * (W - L - R)
    py = lambda v: T + (1 - v / y_hi) * (H - T - B)
    npts = sum(len(s["bins"]) for s in series if s["where"] == "received")
    o = ['<svg class="media-plot" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'role="img" aria-label="media packets per 100 ms" data-points="%d">' % (W, H, W, H, npts)]
    # axes and grid
    o.append('<rect x="%d" y="%d" width="%d" height="%d" fill="#fafafe" stroke="#99a"/>'
             % (L, T, W - L - R, H - T - B))
    step = 1 if y_hi <= 12 else 2 if y_hi <= 24 else 5
    for v in range(0, int(y_hi) + 1, step):
        o.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e2e2ea"/>'
                 '<text x="%d" y="%.1f" text-anchor="end" fill="#555">%d</text>' % (L, W - R, py(v), py(v), L - 6, py(v) + 4, v))
    tstep = 0.5 if t_hi - t_lo <= 6 else 1 if t_hi - t_lo <= 15 else 5
    t = 0.0 if t_lo >= 0 else -tstep * int(-t_lo / tstep)
    while t <= t_hi:
        o.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#e2e2ea"/>'
                 '<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%g</text>'
                 % (px(t), px(t), T, H - B, px(t), H - B + 16, t))
        t += tstep
    o.append('<text x="%d" y="%d" text-anchor="middle" fill="#333">seconds since the call\'s first SIP message'
             '</text>' % ((L + W - R) // 2, H - 6))
    o.append('<text transform="translate(14 %d) rotate(-90)" text-anchor="middle" fill="#333">packets / 100 ms</text>'
             % ((T + H - B) // 2))
    for kind, tm in marks:
        o.append('<g class="mark"><line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#888" stroke-dasharray="2 3"/>'
                 '<text x="%.1f" y="%d" fill="#666">%s</text></g>' % (px(tm), px(tm), T, H - B, px(tm) + 3, T + 12, kind))
    legend = []
    for s in series:
        col = "#555" if s["to"] is None else TO_FIRST if s["to"] == 0 else TO_OTHER
        w = s["bin_ms"] / 1000.0
        pts = [(px(s["start"] + (i + 0.5) * w), py(v)) for i, v in enumerate(s["bins"])]
        way = "%s \u2192 %s" % (names[s["from"]] if s["from"] is not None else "?",
                                names[s["to"]] if s["to"] is not None else "?")
        where = s["where"] + ((" (%s)" % s["flow"]) if s.get("flow") else "")
        style = {"received": 'stroke-width="2"', "sent": 'stroke-width="1.2" stroke-dasharray="6 4"'}.get(
            s["where"], 'stroke-width="1.6" stroke-dasharray="1.5 3"')
        cls = "received" if s["where"] == "received" else "sent" if s["where"] == "sent" else "link"
        g = ['<g class="series %s" data-way="%s" data-n="%d" data-total="%d"><title>%s, %s: %d packets</title>'
             % (cls, esc(way), len(pts), sum(s["bins"]), esc(way), esc(where), sum(s["bins"]))]
        if cls == "received":
            for a, b in gaps_of(s["bins"]):
                x0, x1 = px(s["start"] + a * w), px(s["start"] + (b + 1) * w)
                g.append('<rect class="gap" x="%.1f" y="%d" width="%.1f" height="%d" fill="#e0303080">'
                         '<title>%s: nothing received for %d ms from %.1f s</title></rect>'
                         % (x0, T, max(1.0, x1 - x0), H - T - B, esc(way), (b - a + 1) * s["bin_ms"],
                            s["start"] + a * w))
        g.append('<polyline fill="none" stroke="%s" %s points="%s"/>'
                 % (col, style, " ".join("%.1f,%.1f" % p for p in pts)))
        if cls == "received":
            g.extend('<circle class="pt" cx="%.1f" cy="%.1f" r="2.4" fill="%s"/>' % (a, b, col) for a, b in pts)
        g.append('</g>')
        o.append("".join(g))
        legend.append('<span style="color:%s">%s %s, %s (%d packets)</span>'
                      % (col, {"received": "\u2501\u25cf", "sent": "\u2504"}.get(cls, "\u2508"),
                         esc(way), esc(where), sum(s["bins"])))
    o.append('</svg>')
    return "\n".join(o) + '\n<div class="legend">%s</div>' % " ".join(legend)


# ------------------------------------------------------------------ tables

def bindings_table(m):
    if not m["bindings"]:
        return "<p>(no natd binding seen for this call)</p>"
    o = ['<table class="bindings"><tr><th>natd</th><th>#</th><th>inside endpoint</th><th>allocated</th>'
         '<th>made</th><th>for</th><th>ended</th><th>packets in / out</th></tr>']
    for b in m["bindings"]:
        o.append('<tr><td>%s</td><td>%s</td><td>%s %s (%s)</td><td>%s (%s)</td><td>%s</td><td>%s</td>'
                 '<td>%s</td><td>%s / %s</td></tr>' % tuple(esc(v) for v in (
                     b["natd"], b["id"], b["proto"], b["endpoint"], b["in_realm"], b["alloc"], b["ext_realm"],
                     secs(b["made"]), b["for"] or "-",
                     ("%s at %s" % (b["end"], secs(b["released"]))) if b["end"] else "NOT released",
                     b["pkts_in"], b["pkts_out"])))
    o.append('</table>')
    return "\n".join(o)


def rtp_table(m):
    if not m["rtp"]:
        return ""
    names = [c["name"] for c in m["cols"]]
    o = ['<table class="rtp"><tr><th>phone</th><th>RTP socket</th><th>sent</th><th>to (its SDP\'s address)</th>'
         '<th>received</th><th>from</th><th>longest silence</th></tr>']
    for r in m["rtp"]:
        good = r["received"] not in ("", "0") and r["sources"] == r["to"]
        o.append('<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class="%s">%s</td><td>%s ms</td></tr>'
                 % (esc(names[r["col"]]), esc(r["bind"]), esc(r["sent"]), esc(r["to"]), esc(r["received"]),
                    "ok" if good else "bad", esc(r["sources"] or "nothing"), esc(r["max_gap_ms"] or "?")))
    o.append('</table>')
    return "\n".join(o)


# ------------------------------------------------------------------ page

def verdict_html(v):
    return '<span class="%s">%s</span>' % ("ok" if v == "OK" else "bad", esc(v))


def render(title, models, verdicts, text):
    """The page: title, verdicts {id: (label, text)}, one section per model, the text report."""
    o = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
         '<meta http-equiv="Content-Security-Policy" content="%s">' % CSP,
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         '<title>%s</title><style>%s</style></head><body>' % (esc(title), CSS),
         '<h1>%s</h1>' % esc(title)]
    if verdicts:
        ids = {m.get("id") for m in models}
        o.append('<table class="summary"><tr><th>part</th><th>verdict</th></tr>')
        for k, (label, v) in verdicts.items():
            name = '<a href="#%s">%s</a>' % (esc(k), esc(label)) if k in ids else esc(label)
            o.append('<tr><td>%s</td><td>%s</td></tr>' % (name, verdict_html(v)))
        o.append('</table>')
    for m in models:
        pid = m.get("id") or "call"
        o.append('<section class="call" id="%s"><h2>%s</h2>' % (esc(pid), esc(m.get("title") or m["callid"])))
        if pid in verdicts:
            o.append('<p>Verdict: %s</p>' % verdict_html(verdicts[pid][1]))
        o.append('<p>Call-ID <code>%s</code>. Hover an arrow for its SDP; click one with SDP for the '
                 'message\'s SDP on every hop.</p>' % esc(m["callid"]))
        o.append('<h3>SIP ladder</h3>')
        o.append(ladder_svg(m))
        o.append('<h3>SDP before and after each rewrite</h3>')
        o.append(sdp_blocks(m) or "<p>(no SDP)</p>")
        o.append('<h3>natd bindings</h3>')
        o.append(bindings_table(m))
        o.append('<h3>Media: RTP packets per 100 ms, each way</h3>')
        o.append(media_svg(m))
        o.append(rtp_table(m))
        o.append('</section>')
    if text:
        o.append('<h2>The text report</h2><details><summary>report.txt</summary><pre class="text">%s</pre></details>'
                 % esc(text))
    o.append('<script>%s</script></body></html>' % SCRIPT)
    return "\n".join(o) + "\n"
