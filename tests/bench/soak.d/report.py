#!/usr/bin/env python3
"""report.py: the table and the verdict of one scenario of tests/bench/soak.

    report.py DIR

DIR is the scenario's output directory: meta.txt (key=value words, written by
the script), samples.tsv (one row per sample: t, phase, then per sipproxy
rss_kb calls bindings txns and per natd rss_kb bindings managed dynamic
tx_packets), natd-stats-before.txt / natd-stats-after.txt (natctl stats),
watch-NATD.jsonl (natctl --json watch). Prints the report; exit 0 PASS,
1 FAIL, 2 when the inputs are unusable.

The rules (tests/bench/README.md, "Soak"):
  calls     every call of the UAC succeeded (attempted = succeeded = the
            calls asked for, 0 failed), the UAS failed none, SIPp exited 0,
            the daemons are still running;
  media     every natd translated packets, and every call binding natd
            released had carried packets in both directions;
  bindings  after the settle, every natd holds as many bindings as before
            the first call, and no sipproxy holds a call;
  RSS       judged when the calls last at least 2 x (hold + 40) s: steady1
            is the highest VmRSS in the first half of the calls, steady2 in
            the second half (to the last BYE); both steady2 - steady1 and
            after - steady1 must stay within max(rss_tol % of steady1,
            rss_slack kB).
"""
import collections
import json
import os
import re
import sys


def read_meta(path):
    meta = {}
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("title="):
            meta["title"] = line[6:]
            continue
        for word in line.split():
            if "=" in word:
                k, v = word.split("=", 1)
                meta[k] = v
    return meta


def num(v, default=None):
    try:
        return int(v)
    except (TypeError, ValueError):
        try:
            return float(v)
        except (TypeError, ValueError):
            return default


def read_samples(path):
    rows = []
    with open(path, errors="replace") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            cells = line.rstrip("\n").split("\t")
            if len(cells) != len(header):
                continue
            rows.append(dict(zip(header, cells)))
    return header, rows


def read_stats(path):
    """{natd: {counter: value}} from the natd-stats-*.txt files."""
    out, cur = {}, None
    try:
        for line in open(path, errors="replace"):
            w = line.split()
            if len(w) == 2 and w[0] == "==":
                cur = out.setdefault(w[1], {})
            elif len(w) == 2 and cur is not None and w[1].isdigit():
                cur[w[0]] = int(w[1])
    except OSError:
        pass
    return out


def read_watch(path):
    """Call bindings (label call:...) and dynamic bindings seen by natctl watch."""
    created, ended, noboth, dyn, pkts, lines = set(), set(), 0, set(), 0, 0
    try:
        f = open(path, errors="replace")
    except OSError:
        return None
    for line in f:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        lines += 1
        ev, bid, kind = e.get("event"), e.get("id"), e.get("kind")
        if kind == "dynamic" and ev == "created":
            dyn.add(bid)
        if not str(e.get("label", "")).startswith("call:"):
            continue
        if ev == "created":
            created.add(bid)
        elif ev in ("released", "expired"):
            ended.add(bid)
            c = e.get("counters", {})
            pin, pout = c.get("pkts_in", 0), c.get("pkts_out", 0)
            pkts += pin + pout
            if pin == 0 or pout == 0:
                noboth += 1
    return {"created": len(created), "ended": len(ended), "open": len(created - ended),
            "noboth": noboth, "dynamic": len(dyn), "pkts": pkts, "events": lines}


def stat_csv(path):
    """The last row of a SIPp -trace_stat file as {column: value}."""
    try:
        lines = [l.rstrip("\n") for l in open(path, errors="replace") if l.strip()]
    except OSError:
        return {}
    if len(lines) < 2:
        return {}
    return dict(zip(lines[0].split(";"), lines[-1].split(";")))


def nonzero_failures(st):
    out = []
    for k, v in st.items():
        if k.startswith("Failed") and k.endswith("(C)") and k != "FailedCall(C)" and num(v, 0):
            out.append("%s=%s" % (k[6:-3], num(v)))
    return out


TSTAMP = re.compile(r"\d{4}-\d\d-\d\d\t\d\d:\d\d:\d\d\.\d+\t\d+\.\d+: ")


def sipp_errors(path, callid_re):
    """(reason -> count, reason by Call-ID) from a SIPp -trace_err file."""
    try:
        text = open(path, errors="replace").read()
    except OSError:
        return collections.Counter(), {}
    reasons, by_call = collections.Counter(), {}
    for ev in TSTAMP.split(text)[1:]:
        ev = ev.strip()
        m = callid_re.search(ev)
        if not m:
            continue
        why = callid_re.sub("<call>", ev)
        why = re.sub(r"branch=[^;\s]+", "branch=...", why)
        why = re.sub(r"\s+", " ", why)[:160]
        reasons[why] += 1
        by_call.setdefault(m.group(0), why)
    return reasons, by_call


def failures(d, meta, out):
    """Why calls failed: SIPp's reasons, its watchdog, the proxies' warnings,
    and for the first failed calls their SIP ladder and the daemons' lines."""
    sys.dont_write_bytecode = True  # nothing written into the source tree
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
    import siptrace  # tests/tools/siptrace.py: SIPp message-log reader

    uac, uas = meta.get("uac_name", ""), meta.get("uas_name", "")
    ip = re.escape(meta.get("uac_ip", ""))
    callid_re = re.compile(r"\d+-\d+@" + ip + r"(?![0-9])" if ip else r"\d+-\d+@[0-9.]+")
    failed = collections.OrderedDict()
    for who, name in (("UAC", uac), ("UAS", uas)):
        st = stat_csv(os.path.join(d, name + ".stat.csv"))
        out.append("  %s: failure counters %s; dead-call messages %s; watchdog (SIPp's own loop late) minor %s,"
                   " major %s" % (who, ", ".join(nonzero_failures(st)) or "none", st.get("DeadCallMsgs(C)", "-"),
                                  st.get("WatchdogMinor(C)", "-"), st.get("WatchdogMajor(C)", "-")))
        reasons, by_call = sipp_errors(os.path.join(d, name + ".err.log"), callid_re)
        for why, cnt in reasons.most_common(5):
            out.append("    %s x%d: %s" % (who, cnt, why))
        for cid, why in by_call.items():
            failed.setdefault(cid, "%s: %s" % (who, why))
    logs = [x for x in meta.get("proxies", "").split(",") if x] + [x for x in meta.get("natds", "").split(",") if x]
    for name in logs:
        try:
            lines = open(os.path.join(d, name + ".log"), errors="replace").read().splitlines()
        except OSError:
            continue
        warn = collections.Counter()
        for l in lines:
            if " warning: " in l or " error: " in l or " err: " in l:
                warn[callid_re.sub("<call>", l.split(": ", 1)[-1])[:160]] += 1
        for why, cnt in warn.most_common(5):
            out.append("  %s.log x%d: %s" % (name, cnt, why))
    if not failed:
        return
    out.append("  failed calls with a Call-ID in the SIPp error logs: %d; the first ones:" % len(failed))
    want = list(failed)[:3]
    msgs = {cid: [] for cid in want}
    for label, name in ((meta.get("uac_ns", "uac"), uac), (meta.get("uas_ns", "uas"), uas)):
        path = os.path.join(d, name + ".msg.log")
        if not os.path.exists(path):
            continue
        for t, direction, transport, lines in siptrace.messages(path):
            start, hdrs, body = siptrace.split(lines)
            cid = siptrace.header(hdrs, "Call-ID", "i")
            if cid in msgs:
                msgs[cid].append((t, "%s %-4s %s %-50s [%s]" % (t, label, direction or "??", start[:50],
                                                                siptrace.header(hdrs, "CSeq"))))
    for cid in want:
        out.append("  call %s: %s" % (cid, failed[cid]))
        for _, line in sorted(msgs[cid]):
            out.append("      " + line)
        for name in logs:
            try:
                for l in open(os.path.join(d, name + ".log"), errors="replace"):
                    if cid in l:
                        out.append("      %s.log: %s" % (name, l.rstrip()[:200]))
            except OSError:
                pass


def leftover(path, word, n=2):
    """The first n lines of a status or list dump that mention word."""
    try:
        lines = [" ".join(l.split()) for l in open(path, errors="replace") if word in l]
    except OSError:
        return []
    return [l[:110] for l in lines[:n]]


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.1f" % v
    return "{:,}".format(v) if isinstance(v, int) else str(v)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    d = sys.argv[1]
    try:
        meta = read_meta(os.path.join(d, "meta.txt"))
        header, rows = read_samples(os.path.join(d, "samples.tsv"))
    except OSError as e:
        print("report: %s" % e)
        return 2
    if not rows:
        print("report: no samples")
        return 2
    n = meta.get("scenario", "?")
    rate, dur, hold = num(meta.get("rate"), 0), num(meta.get("duration"), 0), num(meta.get("hold"), 0)
    calls = num(meta.get("calls"), 0)
    media_pkts = num(meta.get("media_pkts"), 0)
    tol, slack = num(meta.get("rss_tol"), 5), num(meta.get("rss_slack"), 512)
    proxies = [x for x in meta.get("proxies", "").split(",") if x]
    natds = [x for x in meta.get("natds", "").split(",") if x]
    problems = []

    print("scenario %s: %s" % (n, meta.get("title", "")))
    settle = meta.get("settle_s", "-")
    settle = "%s s after the last call" % settle if settle != "-" else "not reached within %s s" % meta.get("settle_max")
    print("  %s calls/s for %s s, hold %s s (%s RTP packets each way per call); settle %s"
          % (rate, dur, hold, media_pkts, settle))

    # ---- calls
    att, ok, failed = num(meta.get("uac_created")), num(meta.get("uac_successful")), num(meta.get("uac_failed"))
    uas_failed = num(meta.get("uas_failed"))
    print("  calls: attempted %s, succeeded %s, failed %s (UAS: succeeded %s, failed %s);"
          " retransmissions %s (UAC) %s (UAS), unexpected messages %s / %s"
          % (fmt(att), fmt(ok), fmt(failed), fmt(num(meta.get("uas_successful"))), fmt(uas_failed),
             meta.get("uac_retrans", "-"), meta.get("uas_retrans", "-"),
             meta.get("uac_unexpected", "-"), meta.get("uas_unexpected", "-")))
    if failed is None or ok is None:
        problems.append("no SIPp counters")
    else:
        if failed:
            problems.append("%d failed calls" % failed)
        if ok != calls:
            problems.append("%d of %d calls succeeded" % (ok, calls))
    if uas_failed:
        problems.append("the UAS failed %d calls" % uas_failed)
    for who in ("uac", "uas"):
        wd = meta.get(who + "_watchdog", "0/0")
        if wd not in ("0/0", "-", ""):
            print("  note: SIPp's %s loop ran late (watchdog minor/major %s): the load generator itself was"
                  " starved of CPU" % (who.upper(), wd))
    if meta.get("uac_rc") != "0":
        problems.append("the UAC's SIPp exited %s" % meta.get("uac_rc"))
    if meta.get("alive") != "1":
        problems.append("a daemon is gone")

    # ---- media
    before = read_stats(os.path.join(d, "natd-stats-before.txt"))
    after = read_stats(os.path.join(d, "natd-stats-after.txt"))
    parts = []
    for nd in natds:
        b, a = before.get(nd, {}), after.get(nd, {})
        if not a:
            parts.append("%s: no counters" % nd)
            problems.append("no counters from %s" % nd)
            continue
        d_ = {k: a.get(k, 0) - b.get(k, 0) for k in ("rx_packets", "tx_packets", "translated_in",
                                                        "translated_out", "dropped")}
        parts.append("%s %s packets (read %s; translated %s in, %s out; dropped %s)"
                     % (nd, fmt(d_["tx_packets"]), fmt(d_["rx_packets"]), fmt(d_["translated_in"]),
                        fmt(d_["translated_out"]), fmt(d_["dropped"])))
        if d_["tx_packets"] == 0:
            problems.append("%s carried no media" % nd)
    print("  media natd carried: " + "; ".join(parts))
    exp = ok * media_pkts if ok else 0
    rx = []
    for key, who in (("rx_uac", "caller"), ("rx_uas", "callee")):
        v = num(meta.get(key))
        if v is None:
            rx.append("%s -" % who)
        else:
            rx.append("%s %s (%.2f %%)" % (who, fmt(v), 100.0 * v / exp if exp else 0.0))
    print("  RTP received by the phones, of %s sent each way: %s" % (fmt(exp), ", ".join(rx)))
    drops = [x.split(":") for x in meta.get("udp_drops", "").split(",") if ":" in x]
    if drops:
        print("  UDP datagrams the kernel dropped (socket buffer full), per namespace: "
              + ", ".join("%s %s" % (ns, v) for ns, v in drops))
    for nd in natds:
        w = read_watch(os.path.join(d, "watch-%s.jsonl" % nd))
        if w is None:
            print("  %s call bindings: no watch log" % nd)
            continue
        print("  %s call bindings: %s made, %s ended, %s without packets both ways; %s dynamic bindings made"
              % (nd, fmt(w["created"]), fmt(w["ended"]), fmt(w["noboth"]), fmt(w["dynamic"])))
        if w["noboth"]:
            problems.append("%s: %d call bindings carried no packets one way" % (nd, w["noboth"]))
        if w["created"] == 0:
            problems.append("%s: no call binding seen" % nd)

    # ---- samples
    def series(col, phases=None, tmin=None, tmax=None):
        out = []
        for r in rows:
            if phases and r["phase"] not in phases:
                continue
            t = num(r["t"], 0.0)
            if tmin is not None and t <= tmin:
                continue
            if tmax is not None and t > tmax:
                continue
            v = num(r.get(col))
            if v is not None:
                out.append(v)
        return out

    def first(col, phase):
        s = series(col, (phase,))
        return s[0] if s else None

    def last(col):
        s = series(col)
        return s[-1] if s else None

    judged = dur >= 2 * (hold + 40)
    half = dur / 2.0
    print("  %-26s %9s %9s %9s %9s %9s %9s %s" % ("", "start", "peak", "after", "steady1", "steady2", "growth", ""))
    for who in proxies + natds:
        col = who + ".rss_kb"
        start, peak, aft = first(col, "idle"), max(series(col) or [0]), last(col)
        s1 = series(col, ("calls",), None, half)
        s2 = series(col, ("calls",), half, dur + hold + 5)
        st1, st2 = (max(s1) if s1 else None), (max(s2) if s2 else None)
        growth = (st2 - st1) if (st1 is not None and st2 is not None) else None
        note = ""
        if judged and st1 is not None and st2 is not None and aft is not None:
            allow = max(st1 * tol / 100.0, slack)
            over = []
            if st2 - st1 > allow:
                over.append("grew %d kB in the second half" % (st2 - st1))
            if aft - st1 > allow:
                over.append("after is %d kB above steady1" % (aft - st1))
            note = "ok (allowance %d kB)" % allow if not over else "TOO MUCH: " + ", ".join(over)
            if over:
                problems.append("%s RSS: %s" % (who, "; ".join(over)))
        elif not judged:
            note = "(not judged: calls < %d s)" % (2 * (hold + 40))
        g = "-" if growth is None else "%+d" % growth
        print("  %-26s %9s %9s %9s %9s %9s %9s %s" % (who + " VmRSS kB", fmt(start), fmt(peak), fmt(aft),
                                                   fmt(st1), fmt(st2), g, note))
    for who in proxies:
        for what, label in (("calls", "calls"), ("bindings", "bindings"), ("txns", "transactions")):
            col = "%s.%s" % (who, what)
            start, aft = first(col, "idle"), last(col)
            peak = max(series(col) or [0])
            note = ""
            if what in ("calls", "bindings"):
                if aft != 0:
                    note = "NOT 0 after"
                    problems.append("%s holds %s %s after the settle" % (who, aft, label))
                    if what == "calls":
                        left = leftover(os.path.join(d, who + ".status-after.txt"), "call ")
                        if left:
                            note += "; e.g. " + " | ".join(left)
            else:
                note = "(server transactions stay 32 s after they end)"
            print("  %-26s %9s %9s %9s %s" % ("%s %s" % (who, label), fmt(start), fmt(peak), fmt(aft), note))
    for nd in natds:
        for what, label in (("bindings", "bindings"), ("managed", "bindings managed"), ("dynamic", "bindings dynamic")):
            col = "%s.%s" % (nd, what)
            start, aft = first(col, "idle"), last(col)
            peak = max(series(col) or [0])
            note = ""
            if what == "bindings":
                if start is None or aft != start:
                    note = "NOT back to the start"
                    problems.append("%s holds %s bindings after the settle, %s before the calls" % (nd, aft, start))
                else:
                    note = "back to the start"
            elif what in ("managed", "dynamic") and aft and aft != start:
                left = leftover(os.path.join(d, nd + ".list-after.txt"), what)
                if left:
                    note = "e.g. " + " | ".join(left)
            print("  %-26s %9s %9s %9s %s" % ("%s %s" % (nd, label), fmt(start), fmt(peak), fmt(aft), note))

    if problems:
        if (failed or 0) > 0 or (uas_failed or 0) > 0 or (ok or 0) < calls:
            out = []
            try:
                failures(d, meta, out)
            except Exception as e:  # the analysis must not hide the verdict
                out.append("  (failure analysis stopped: %s)" % e)
            with open(os.path.join(d, "failures.txt"), "w") as f:
                f.write("\n".join(out) + "\n")
            print("  why calls failed (all of it in failures.txt):")
            for l in out[:40]:
                print("  " + l)
        print("  verdict: FAIL: " + "; ".join(problems))
        return 1
    print("  verdict: PASS (0 failed calls; media both ways in every call binding; bindings back to the start%s)"
          % ("; RSS flat within the allowance" if judged else "; RSS not judged, soak too short"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
