#!/bin/bash
# demo-report: the demo's HTML report (tests/tools/demo-report.py html,
# reporthtml.py) from a recorded call, rendered by a real browser. No root,
# no namespaces; about 10 s.
#
# The fixture (tests/integration/demo-report/) is scenario 3 of one
# `./quickstart demo` run, as the demo keeps it: both phones' SIPp message
# logs, both proxies' logs, both natds' `natctl --json watch`, the capture of
# the transit LAN and both RTP probes' results (with their packets per 100 ms).
#  1. `demo-report.py call` reads it into the text ladder and the model
#     (--json): every hop, the four bindings, the media series each way.
#  2. `demo-report.py html` writes one page from that model and from a copy
#     whose phB probe lost 300 ms of media (3 empty 100 ms slots written into
#     its rx_bins): self-contained (a CSP that forbids every fetch, no src=,
#     no link out).
#  3. Headless Chromium (Debian `chromium`) loads it: the DOM it dumps has one
#     ladder per call with one arrow per SIP hop, four control arrows per
#     binding and an orange arrow for each hop whose SDP a proxy rewrote; one
#     media plot per call with a point per 100 ms the phones received, the
#     polylines as long as the series; no gap in the recorded call, one
#     300 ms gap in the edited one; the page's script opened the SDP block the
#     URL's #fragment names. Its screenshot is not blank and shows the ladder's
#     blue (SDP) and orange (rewritten SDP) arrows.
# SKIP without chromium (./quickstart installs it).
. "$(dirname "$0")/lib.sh"

FIX=$NT_ROOT/tests/integration/demo-report
REPORT_PY=$NT_ROOT/tests/tools/demo-report.py
CHROMIUM=${CHROMIUM:-chromium}

# replay FILE NAME: the PASS/FAIL/INFO lines a checker wrote to FILE, counted;
# a checker that wrote none (it crashed) fails as NAME with its last lines.
replay() {
	local line detail n=0
	while IFS= read -r line; do
		case $line in
		'PASS: '*) it_pass "${line#PASS: }"; n=$((n + 1)) ;;
		'FAIL: '*)
			line=${line#FAIL: } detail=${line#* (}
			it_fail "${line%% (*}" "${detail%)}"
			n=$((n + 1))
			;;
		'INFO: '*) it_info "${line#INFO: }" ;;
		esac
	done <"$1"
	((n)) || it_fail "$2" "the checker reported nothing: $(tail -n 3 "$1" | tr '\n' ' ')"
}

# ------------------------------------------------------------ 1. the model

call_args=(--callid 1-26604@203.0.113.10
	--col "phA:phA (caller):203.0.113.10" --col "ingress:ingress:natA"
	--col "egress:egress:natB" --col "phB:phB (callee):192.0.2.10"
	--phone "phA=$FIX/s3-phA.msg.txt" --phone "phB=$FIX/s3-phB.msg.txt"
	--proxy "ingress=$FIX/ingress.log.txt" --proxy "egress=$FIX/egress.log.txt"
	--nat "ingress=natdA=$FIX/watch-natdA.out" --nat "egress=natdB=$FIX/watch-natdB.out"
	--pcap "$FIX/transit1.pcap" --pcap-label "transit LAN" --addr ingress=10.20.0.1 --addr egress=10.20.0.2)
if "$NT_PY" "$REPORT_PY" call "${call_args[@]}" --rtp "phA=$FIX/s3-phA.rtp" --rtp "phB=$FIX/s3-phB.rtp" \
	--json "$IT_OUT/s3.call.json" --id s3 --title "Scenario 3 (recorded)" >"$IT_OUT/s3.txt" 2>"$IT_OUT/s3.err" &&
	grep -q '200 OK' "$IT_OUT/s3.txt" && grep -q 'natdA binding' "$IT_OUT/s3.txt"; then
	it_pass text_ladder
else
	it_fail text_ladder "demo-report.py call: $(head -c 300 "$IT_OUT/s3.err")"
fi

# the same call, phB's probe missing 300 ms (slots 3-5) of what it received
sed 's/\(rx_bins=[0-9]*,[0-9]*,[0-9]*,\)[0-9]*,[0-9]*,[0-9]*,/\10,0,0,/' "$FIX/s3-phB.rtp" >"$IT_OUT/gap-phB.rtp"
"$NT_PY" "$REPORT_PY" call "${call_args[@]}" --rtp "phA=$FIX/s3-phA.rtp" --rtp "phB=$IT_OUT/gap-phB.rtp" \
	--json "$IT_OUT/gap.call.json" --id gap --title "The same call, 300 ms of phB's media cut out" \
	>/dev/null 2>>"$IT_OUT/s3.err"

"$NT_PY" - "$IT_OUT/s3.call.json" <<'EOF' >"$IT_OUT/model.out" 2>&1
import json, sys
m = json.load(open(sys.argv[1]))
where = sorted(s["where"] for s in m["media"])
problems = []
if len(m["bindings"]) != 4 or any(b["made"] is None or b["released"] is None for b in m["bindings"]):
    problems.append("bindings %r" % [(b["natd"], b["id"], b["made"], b["released"]) for b in m["bindings"]])
if where != ["on the transit LAN"] * 2 + ["received"] * 2 + ["sent"] * 2:
    problems.append("media series %r" % where)
if sum(1 for h in m["hops"] if "->" in h["note"]) != 4:
    problems.append("%d rewritten hops, expected 4" % sum(1 for h in m["hops"] if "->" in h["note"]))
if any(s["where"] == "received" and sum(s["bins"]) != 50 for s in m["media"]):
    problems.append("a phone's bins do not add up to the 50 packets it received")
print("; ".join(problems) or "ok")
EOF
if [[ $(cat "$IT_OUT/model.out") == ok ]]; then
	it_pass model
else
	it_fail model "$(head -c 400 "$IT_OUT/model.out")"
fi

# ------------------------------------------------------------ 2. the page

HTML=$IT_OUT/report.html
if "$NT_PY" "$REPORT_PY" html --out "$HTML" --title "demo-report test" --verdict "s3=Scenario 3=OK" \
	"$IT_OUT/s3.call.json" "$IT_OUT/gap.call.json" 2>>"$IT_OUT/s3.err" && [[ -s $HTML ]]; then
	it_pass html_written
else
	it_fail html_written "demo-report.py html: $(tail -c 300 "$IT_OUT/s3.err")"
fi
outside=$(grep -o -i -E '(src|href)="[a-z]+:[^"]*"|https?://[^" ]*' "$HTML" | grep -v -x 'http://www.w3.org/2000/svg' | sort -u)
if grep -q "http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'" "$HTML" && [[ -z $outside ]]; then
	it_pass html_self_contained
else
	it_fail html_self_contained "CSP missing or links out: $(echo "$outside" | head -n 3 | tr '\n' ' ')"
fi

# ------------------------------------------------------------ 3. a browser

if ! command -v "$CHROMIUM" >/dev/null; then
	it_skip chromium "CHROMIUM NOT INSTALLED (Debian package chromium; ./quickstart installs it): the page was not rendered"
	it_done
fi
chrome() { # ARGS...: headless chromium, a profile of its own, bounded
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
		--hide-scrollbars --user-data-dir="$IT_OUT/chromium-profile" "$@" 2>>"$IT_OUT/chromium.err"
}
chrome --dump-dom "file://$HTML#s3-m0" >"$IT_OUT/dom.html"
chrome --window-size=1200,1600 --screenshot="$IT_OUT/screenshot.png" "file://$HTML" >/dev/null
if [[ ! -s $IT_OUT/dom.html ]]; then
	it_fail chromium_dom "chromium dumped no DOM: $(grep -v -i dbus "$IT_OUT/chromium.err" | tail -n 3 | tr '\n' ' ')"
	it_done
fi

"$NT_PY" - "$IT_OUT/dom.html" "$IT_OUT/s3.call.json" "$IT_OUT/gap.call.json" <<'EOF' >"$IT_OUT/dom.checks" 2>&1
import html.parser, json, sys

class Dom(html.parser.HTMLParser):
    """The elements, each (tag, attributes, set of its ancestors' numbers, its number)."""
    def __init__(self):
        super().__init__()
        self.stack, self.els = [], []
    def handle_starttag(self, tag, attrs):
        self.els.append((tag, dict(attrs), frozenset(self.stack), len(self.els)))
        if tag not in ("meta", "br", "line", "rect", "circle", "path", "polyline", "input", "link"):
            self.stack.append(len(self.els) - 1)
    def handle_startendtag(self, tag, attrs):
        self.els.append((tag, dict(attrs), frozenset(self.stack), len(self.els)))
    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.els[self.stack[i]][0] == tag:
                del self.stack[i:]
                break

def cls(el):
    return el[1].get("class", "").split()

def check(name, ok, detail):
    print("PASS: %s" % name if ok else "FAIL: %s (%s)" % (name, detail))

d = Dom()
d.feed(open(sys.argv[1], errors="replace").read())
models = [json.load(open(p)) for p in sys.argv[2:]]

ladders = [e for e in d.els if e[0] == "svg" and "ladder" in cls(e)]
plots = [e for e in d.els if e[0] == "svg" and "media-plot" in cls(e)]
problems = []
if len(ladders) != len(models):
    problems.append("%d ladders for %d calls" % (len(ladders), len(models)))
for lad, m in zip(ladders, models):
    arrows = [e for e in d.els if e[0] == "g" and "arrow" in cls(e) and lad[3] in e[2]]
    sip = [e for e in arrows if "sip" in cls(e)]
    ctl = [e for e in arrows if "ctl" in cls(e)]
    rw = [e for e in arrows if "rewritten" in cls(e)]
    ids = {a[3] for a in arrows}
    lines = [e for e in d.els if e[0] == "line" and e[2] & ids]
    want_rw = sum(1 for h in m["hops"] if "->" in h["note"])
    if (len(sip), len(ctl), len(rw), len(lines)) != (len(m["hops"]), 4 * len(m["bindings"]), want_rw, len(arrows)):
        problems.append("%s: %d SIP arrows (want %d), %d control (want %d), %d rewritten (want %d), %d lines"
                        % (m["id"], len(sip), len(m["hops"]), len(ctl), 4 * len(m["bindings"]), len(rw),
                           want_rw, len(lines)))
    linked = [e for e in d.els if e[0] == "a" and lad[3] in e[2] and e[1].get("href", "").startswith("#")]
    if len(linked) != sum(1 for h in m["hops"] if h["sdp"]):
        problems.append("%s: %d arrows link to their SDP, %d hops carry SDP"
                        % (m["id"], len(linked), sum(1 for h in m["hops"] if h["sdp"])))
check("chromium_dom_ladders", not problems, "; ".join(problems))

problems = []
if len(plots) != len(models):
    problems.append("%d media plots for %d calls" % (len(plots), len(models)))
gaps = {}
for plot, m in zip(plots, models):
    series = [e for e in d.els if e[0] == "g" and "series" in cls(e) and plot[3] in e[2]]
    want = [s for s in m["media"] if s["bins"]]
    if len(series) != len(want):
        problems.append("%s: %d series, want %d" % (m["id"], len(series), len(want)))
    for s, w in zip(series, want):
        pl = [e for e in d.els if e[0] == "polyline" and s[3] in e[2]]
        pts = pl[0][1].get("points", "").split() if pl else []
        if len(pts) != len(w["bins"]):
            problems.append("%s: a polyline of %d points for %d bins" % (m["id"], len(pts), len(w["bins"])))
    dots = [e for e in d.els if e[0] == "circle" and "pt" in cls(e) and plot[3] in e[2]]
    want_dots = sum(len(s["bins"]) for s in want if s["where"] == "received")
    if len(dots) != want_dots:
        problems.append("%s: %d points, want %d" % (m["id"], len(dots), want_dots))
    gaps[m["id"]] = [e for e in d.els if e[0] == "rect" and "gap" in cls(e) and plot[3] in e[2]]
check("chromium_dom_media_plots", not problems, "; ".join(problems))

g0, g1 = gaps.get("s3", []), gaps.get("gap", [])
check("media_gap_shown", not g0 and len(g1) == 1 and "300 ms" in open(sys.argv[1]).read(),
      "%d gap(s) in the recorded call (want 0), %d in the edited one (want 1)" % (len(g0), len(g1)))

opened = [e for e in d.els if e[0] == "details" and e[1].get("id") == "s3-m0"]
check("chromium_script_opens_target", opened and "open" in opened[0][1],
      "the SDP block #s3-m0 %s" % ("is missing" if not opened else "stayed closed"))
EOF

replay "$IT_OUT/dom.checks" chromium_dom

"$NT_PY" - "$IT_OUT/screenshot.png" <<'EOF' >"$IT_OUT/screenshot.checks" 2>&1
import struct, sys, zlib

def png(path):
    """width, height, rows of (r, g, b) of an 8-bit RGB/RGBA non-interlaced PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    off, idat = 8, b""
    while off < len(data):
        n, kind = struct.unpack("!I4s", data[off:off + 8])
        body = data[off + 8:off + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _c, _f, inter = struct.unpack("!IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or inter:
                raise ValueError("PNG type %d depth %d interlace %d not read here" % (ctype, depth, inter))
        elif kind == b"IDAT":
            idat += body
        off += 12 + n
    bpp = 3 if ctype == 2 else 4
    raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows

try:
    w, h, bpp, rows = png(sys.argv[1])
except (OSError, ValueError, zlib.error) as e:
    print("FAIL: chromium_screenshot (%s)" % e)
    sys.exit(0)
inked = blue = orange = 0
for line in rows:
    for i in range(0, len(line), bpp):
        r, g, b = line[i], line[i + 1], line[i + 2]
        if r + g + b < 700:
            inked += 1
        if abs(r - 0x1f) < 40 and abs(g - 0x5f) < 40 and abs(b - 0xa8) < 40:
            blue += 1
        if abs(r - 0xc2) < 40 and abs(g - 0x57) < 40 and abs(b - 0x1a) < 40:
            orange += 1
frac = inked / float(w * h)
if frac > 0.02 and blue > 200 and orange > 100:
    print("PASS: chromium_screenshot")
else:
    print("FAIL: chromium_screenshot (%dx%d: %.1f%% not white, %d blue and %d orange pixels; want > 2%%, 200, 100)"
          % (w, h, 100 * frac, blue, orange))
print("INFO: screenshot %dx%d, %.1f%% not white, %d pixels of the SDP arrows' blue, %d of the rewritten ones' orange"
      % (w, h, 100 * frac, blue, orange))
EOF
replay "$IT_OUT/screenshot.checks" chromium_screenshot
it_done
