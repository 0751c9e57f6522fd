#!/bin/sh
# Runs every benchmark of a Release build and writes OUT/results.jsonl (one
# JSON object per comparison, fields in docs/benchmarks.md), OUT/results.md
# (a readable table) and OUT/ratios.svg (every ratio on a log scale).
# Usage: scripts/bench.sh BUILD_DIR OUT_DIR [FILTER]
# MT_BENCH_QUICK=1 (make bench QUICK=1): one repetition at 1/100 of the
# sizes, and a failure for any row that lacks the harness fields.
set -u
build=$1; out=$2; filter=${3:-}
mkdir -p "$out"
out=$(cd "$out" && pwd)
: > "$out/results.jsonl"
export MT_BENCH_OUT="$out/results.jsonl"
export MT_BENCH_PYDIR="$(pwd)/bench/python"
failed=0
while read -r prog; do
  [ -n "$prog" ] || continue
  case "$prog" in "#skip "*) echo "*** SKIPPED ${prog#\#skip }" >&2; continue ;; esac
  case "$prog" in *"$filter"*) ;; *) continue ;; esac
  echo "=== $(basename "$prog")"
  t0=$(date +%s)
  "$prog" || { echo "*** $prog failed" >&2; failed=1; }
  echo "=== $(basename "$prog"): $(( $(date +%s) - t0 )) s"  # each should stay <= 90 s
done < "$build/bench.list"
/usr/bin/python3 scripts/bench_report.py "$out/results.jsonl" "$out/results.md" \
  "$out/ratios.svg" ${MT_BENCH_QUICK:+--strict} || failed=1
exit $failed
