#!/usr/bin/python3
"""Reads results.jsonl (written by bench/common/harness.c), writes a Markdown
table and an SVG chart of every ratio on a log scale with the 1.0 line.
--strict (QUICK mode) fails when a row lacks a harness field or was not
validated.  Standard library only.
Usage: bench_report.py results.jsonl results.md ratios.svg [--strict]"""
import json
import math
import sys

FIELDS = ["bench", "unit", "ours", "baseline", "theirs", "ratio", "cpu_ours", "cpu_theirs",
          "cpu_ratio", "spread", "samples", "first", "validated"]


def check(rows):
    bad = []
    for i, r in enumerate(rows, 1):
        missing = [f for f in FIELDS if f not in r]
        if missing:
            bad.append("row %d (%s / %s): missing %s" % (i, r.get("bench"), r.get("baseline"),
                                                        ", ".join(missing)))
        elif r.get("reference"):
            continue  # Python rows: a reference, their own median, no CPU
        elif r["validated"] is not True or r["cpu_ours"] is None or not r["samples"]:
            bad.append("row %d (%s / %s): not validated or empty" % (i, r["bench"],
                                                                     r["baseline"]))
    return bad


def fmt(v):
    return "-" if v is None else "%.4g" % v


def table(rows, path):
    with open(path, "w") as f:
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
                iqr(sp.get("ours")), iqr(sp.get("theirs")), r.get("reps", "-")))


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
        label = "%s vs %s" % (r["bench"], r["baseline"])
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
    args = [a for a in sys.argv[1:] if a != "--strict"]
    strict = "--strict" in sys.argv
    rows = [json.loads(l) for l in open(args[0]) if l.strip()]
    table(rows, args[1])
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
