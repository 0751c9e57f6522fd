#!/usr/bin/python3
"""Reads results.jsonl (written by bench/common/harness.c), writes a Markdown
report (the goals of issue 13 with ours/theirs/ratio/CPU and met or not, every
row, latency percentiles, memory) and an SVG chart of every ratio on a log
scale with the 1.0 line.  --strict (QUICK mode) fails when a row lacks a
harness field or was not validated.  Standard library only.
--times times.tsv (written by scripts/bench.sh) adds each program's wall
seconds, the load average around it and the budget to results.md.
Usage: bench_report.py results.jsonl results.md ratios.svg [--strict] [--times times.tsv]"""
import json
import math
import os
import sys

FIELDS = ["bench", "unit", "ours", "baseline", "theirs", "ratio", "cpu_ours", "cpu_theirs",
          "cpu_ratio", "spread", "samples", "first", "validated"]
LATENCY = ["p50", "p99", "p999", "max"]

# The goals (issue 13): (row, baseline substring, minimum ratio, note).  Set
# against the best C peer; Python rows are references, never goals.  Reported,
# not asserted: a benchmark's figure depends on the machine and its load.
GOALS = [
    ("futures submit->result one at a time", "our spin policy", 1.0, ""),
    ("condition_pingpong 500k rounds", "our spin policy", 1.0, ""),
    ("queue MPMC 4x4 8B cap 1024", "oneTBB", 1.0, ""),
    ("queue MPMC 4x4 1KiB cap 1024", "oneTBB", 1.0, ""),
    ("queue MPMC 4x4 8B cap 1024", "ck_ring", 0.8, ""),
    ("queue MPMC 4x4 1KiB cap 1024", "ck_ring", 0.8, ""),
    ("mpqueue 64B process->process cap 1024", "ZeroMQ", 1.5, ""),
    ("mpqueue 64B process->process cap 1024", "nng", 1.5, ""),
    ("pipe 64 B process->process", "raw pipe write/read", 0.9, ""),
    ("timers 100k scheduled+cancelled", "libuv", 1.0, ""),
    ("lock_uncontended", "pthread_mutex", 1.0, "median of >= 11 alternating runs"),
    ("thread start+join", "pthread_create", 0.95, ""),
    ("process start+join", "raw fork", 0.95, ""),
    ("future burst freed and trimmed: RSS after", "RSS before", 0.5,
     "10^6 futures at full size; RSS after mt_future_trim() within 2x of before"),
    ("coro spawn+run+join, 10 alive", "boost fiber (pooled stack)", 1.0, "10^6 tiny tasks"),
    ("coro queue ping-pong, 2 tasks", "boost buffered_channel", 1.0, ""),
]
FLOOR_NS = 70.0  # two spinning threads ping-ponging a cache line here (the audit)


def check(rows):
    bad = []
    for i, r in enumerate(rows, 1):
        missing = [f for f in FIELDS if f not in r]
        if missing:
            bad.append("row %d (%s / %s): missing %s" % (i, r.get("bench"), r.get("baseline"),
                                                        ", ".join(missing)))
        elif r.get("reference"):
            continue  # Python rows: a reference, their own median, no CPU
        elif r.get("measure") == "memory":
            if r["validated"] is not True or not r["samples"]:
                bad.append("row %d (%s / %s): memory row not validated" % (i, r["bench"],
                                                                           r["baseline"]))
        elif any(k in r for k in LATENCY) and not all(
                isinstance(r.get(k), dict) and "ours" in r[k] for k in LATENCY):
            bad.append("row %d (%s / %s): latency fields incomplete" % (i, r["bench"],
                                                                       r["baseline"]))
        elif r["validated"] is not True or r["cpu_ours"] is None or not r["samples"]:
            bad.append("row %d (%s / %s): not validated or empty" % (i, r["bench"],
                                                                     r["baseline"]))
    return bad


def fmt(v):
    return "-" if v is None else "%.4g" % v


def goals(rows, f):
    f.write("## Goals (vs the best C peer; reported, not asserted)\n\n"
            "| row | baseline | goal | ratio | met | ours | theirs | unit | CPU ns/op ours "
            "| theirs | cpu_ratio | IQR ours | IQR theirs | note |\n"
            "|---|---|---:|---:|---|---:|---:|---|---:|---:|---:|---|---|---|\n")
    for bench, base, goal, note in GOALS:
        hits = [r for r in rows if r["bench"] == bench and base in r["baseline"]
                and not r.get("reference")]
        if not hits:
            f.write("| %s | %s | >= %g | - | not run | | | | | | | | | %s |\n" % (
                bench, base, goal, note))
            continue
        for r in hits:
            sp = r.get("spread") or {}
            iqr = lambda s: "%.4g-%.4g" % (s[1], s[2]) if s else "-"
            extra = note
            if bench.startswith("futures submit->result") and r["ours"]:
                ns = 1e9 / r["ours"]
                extra = "%.0f ns per call = %.1fx the %g ns floor (goal <= 3x)" % (
                    ns, ns / FLOOR_NS, FLOOR_NS)
            f.write("| %s | %s | >= %g | %.2f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n"
                    % (bench, r["baseline"], goal, r["ratio"],
                       "yes" if r["ratio"] >= goal else "**no**", fmt(r["ours"]),
                       fmt(r["theirs"]), r["unit"], fmt(r.get("cpu_ours")),
                       fmt(r.get("cpu_theirs")), fmt(r.get("cpu_ratio")), iqr(sp.get("ours")),
                       iqr(sp.get("theirs")), extra))
    f.write("\n")


def latency(rows, f):
    lat = [r for r in rows if "p50" in r]
    if not lat:
        return
    f.write("## Latency (ns; median over runs of each run's percentile)\n\n"
            "| bench | baseline | p50 ours | theirs | p99 ours | theirs | p99.9 ours | theirs "
            "| max ours | theirs |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for r in lat:
        f.write("| %s | %s | %s |\n" % (r["bench"], r["baseline"], " | ".join(
            "%s | %s" % (fmt(r[k]["ours"]), fmt(r[k]["theirs"])) for k in LATENCY)))
    f.write("\n")


def times(path, f):
    """Program wall times from scripts/bench.sh (tab-separated, header line)."""
    lines = [l.rstrip("\n").split("\t") for l in open(path)][1:]
    if not lines:
        return
    f.write("## Program wall times (budget per program; CPU = user+system s of the "
            "program and its children; load = 1-min load average at start -> end)\n\n"
            "| program | seconds | CPU s | budget | load | status |\n"
            "|---|---:|---:|---:|---|---|\n")
    total = cpu = 0.0
    for name, secs, c, l0, l1, status, budget in lines:
        total += float(secs)
        cpu += float(c)
        flag = " **over budget**" if float(budget) > 0 and float(secs) > float(budget) else ""
        f.write("| %s | %s%s | %s | %s | %s -> %s | %s |\n" % (
            name, secs, flag, c, budget, l0, l1, "ok" if status == "0" else "exit " + status))
    f.write("| all | %.0f | %.0f | | | |\n\n" % (total, cpu))


def table(rows, path, note="", times_path=None):
    with open(path, "w") as f:
        f.write("# Benchmark results\n\n%s" % (note + "\n\n" if note else ""))
        goals(rows, f)
        latency(rows, f)
        if times_path:
            times(times_path, f)
        f.write("## Every row (ratio > 1 = ours better; memory rows: bytes, lower is better)\n\n")
        f.write("| bench | unit | ours | baseline | theirs | ratio | CPU ns/op ours | theirs "
                "| cpu_ratio | IQR ours | IQR theirs | reps |\n"
                "|---|---|---:|---|---:|---:|---:|---:|---:|---|---|---:|\n")
        for r in rows:
            sp = r.get("spread") or {}
            iqr = lambda s: "%.4g-%.4g" % (s[1], s[2]) if s else "-"
            f.write("| %s | %s | %s | %s%s | %s | %.2f | %s | %s | %s | %s | %s | %s |\n" % (
                r["bench"], r["unit"], fmt(r["ours"]), r["baseline"],
                " (reference)" if r.get("reference") else "", fmt(r["theirs"]), r["ratio"],
                fmt(r.get("cpu_ours")), fmt(r.get("cpu_theirs")), fmt(r.get("cpu_ratio")),
                iqr(sp.get("ours")), iqr(sp.get("theirs")),
                "%s%s" % (r.get("reps", "-"), " (budget)" if r.get("budget_cut") else "")))


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chart(rows, path):
    """One line per row: a bar from 1.0 to the wall ratio (a dot for the CPU
    ratio), x = log10(ratio), clamped to [1/100, 100]."""
    lo, hi = -2.0, 2.0
    left, width, rowh, top = 520, 560, 16, 40
    h = top + rowh * len(rows) + 40
    x = lambda v: left + (min(max(math.log10(v), lo), hi) - lo) / (hi - lo) * width
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (left + width + 70, h),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="18" font-size="13">ratio, log scale (&gt; 1 = ours better); '
           'bar = wall time, dot = CPU time; grey = Python reference; '
           'bars clamped to 0.01..100, numbers exact</text>']
    for d in range(int(lo), int(hi) + 1):
        v = 10.0 ** d
        out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>' % (
            x(v), top - 5, x(v), h - 30, "black" if d == 0 else "#ddd"))
        out.append('<text x="%.1f" y="%d" text-anchor="middle">%g</text>' % (x(v), h - 15, v))
    for i, r in enumerate(rows):
        y = top + i * rowh
        ref = r.get("reference")
        label = "%s vs %s%s" % (r["bench"], r["baseline"],
                                " (memory)" if r.get("measure") == "memory" else "")
        out.append('<text x="%d" y="%d" text-anchor="end" fill="%s">%s</text>' % (
            left - 6, y + 11, "#888" if ref else "black", esc(label[:80])))
        ratio = r["ratio"]
        if ratio and ratio > 0:
            x0, x1 = sorted((x(1.0), x(ratio)))
            colour = "#bbb" if ref else ("#2a7" if ratio >= 1 else "#c44")
            out.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>' % (
                x0, y + 3, max(x1 - x0, 1), rowh - 6, colour))
            out.append('<text x="%.1f" y="%d" fill="#444">%.2f</text>' % (
                x(ratio) + 4 if ratio >= 1 else max(x(ratio) - 34, left + 2), y + 11, ratio))
        c = r.get("cpu_ratio")
        if c and c > 0:
            out.append('<circle cx="%.1f" cy="%d" r="3" fill="#236"/>' % (x(c), y + rowh // 2))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    argv = sys.argv[1:]
    times_path = None
    if "--times" in argv:
        i = argv.index("--times")
        times_path = argv[i + 1]
        del argv[i:i + 2]
    args = [a for a in argv if a != "--strict"]
    strict = "--strict" in argv
    rows = [json.loads(l) for l in open(args[0]) if l.strip()]
    table(rows, args[1], os.environ.get("MT_BENCH_NOTE", ""), times_path)
    chart(rows, args[2])
    print("wrote %d results to %s and %s" % (len(rows), args[1], args[2]))
    if strict:
        bad = check(rows)
        for b in bad:
            print("*** " + b, file=sys.stderr)
        if bad or not rows:
            print("*** QUICK: %d of %d rows lack the harness fields" % (len(bad), len(rows)),
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
