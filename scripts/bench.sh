#!/bin/sh
# Runs every benchmark of a Release build and writes OUT/results.jsonl (one
# JSON object per comparison, fields in docs/benchmarks.md), OUT/results.md
# (a readable table), OUT/ratios.svg (every ratio on a log scale) and
# OUT/times.tsv (each program's wall seconds and the load around it).
# Usage: scripts/bench.sh BUILD_DIR OUT_DIR [FILTER]
# MT_BENCH_QUICK=1 (make bench QUICK=1): one repetition at 1/100 of the
# sizes, and a failure for any row that lacks the harness fields.
#
# Time budget (issue 13: `make bench` < 15 min, each program <= 90 s at its
# default size).  A program that takes longer than MT_BENCH_BUDGET seconds
# (default 90; 0 = no check) prints "*** OVER BUDGET" and makes the run fail
# (exit 1) after every program has run.  In QUICK mode an over-budget
# program only warns: `make check` runs QUICK on a shared machine, and a
# time is not a defect of the benchmark's code.  The total is checked the same
# way against MT_BENCH_TOTAL_BUDGET (default 840 s: 15 min less about a
# minute for the build when nothing changed).
set -u
build=$1; out=$2; filter=${3:-}
mkdir -p "$out"
out=$(cd "$out" && pwd)
: > "$out/results.jsonl"
export MT_BENCH_OUT="$out/results.jsonl"
export MT_BENCH_PYDIR="$(pwd)/bench/python"
budget=${MT_BENCH_BUDGET:-90}
total_budget=${MT_BENCH_TOTAL_BUDGET:-840}
quick=${MT_BENCH_QUICK:-}
[ "$quick" = 0 ] && quick=
now() { date +%s.%N; }
load() { cut -d' ' -f1 /proc/loadavg; }
# over A B: true when A > B (seconds, decimals) and B > 0
over() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(b > 0 && a > b) }'; }
# CPU seconds (user+system, the program and its reaped children) beside the
# wall time: under foreign load the wall time grows, the CPU time much less.
# `times` line 2: the reaped children's user and system time, "0m1.230000s"
# (run in this shell, not in a $(...) subshell, which has no children).
child_cpu() {
  times > "$out/.times"
  awk 'NR == 2 { n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] }
       printf "%.2f", n }' "$out/.times"
}
printf 'program\tseconds\tcpu_seconds\tload_start\tload_end\tstatus\tbudget\n' > "$out/times.tsv"
failed=0; slow=0; t_all=$(now)
while read -r prog; do
  [ -n "$prog" ] || continue
  case "$prog" in "#skip "*) echo "*** SKIPPED ${prog#\#skip }" >&2; continue ;; esac
  case "$prog" in *"$filter"*) ;; *) continue ;; esac
  name=$(basename "$prog")
  echo "=== $name (load $(load))"
  t0=$(now); l0=$(load); child_cpu > "$out/.c0"; status=0
  # line-buffered, so a slow row shows which it is while it runs
  stdbuf -oL "$prog" || { status=$?; echo "*** $prog failed" >&2; failed=1; }
  secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  child_cpu > "$out/.c1"
  cpu=$(awk -v a="$(cat "$out/.c0")" -v b="$(cat "$out/.c1")" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$secs" "$cpu" "$l0" "$(load)" "$status" \
    "$budget" >> "$out/times.tsv"
  echo "=== $name: $secs s, CPU $cpu s (budget $budget s, load $l0 -> $(load))"
  if over "$secs" "$budget"; then
    echo "*** OVER BUDGET: $name took $secs s > $budget s${quick:+ (QUICK: warning only)}" >&2
    slow=1
  fi
done < "$build/bench.list"
rm -f "$out/.times" "$out/.c0" "$out/.c1"
total=$(awk -v a="$t_all" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')
echo "=== all programs: $total s (budget $total_budget s, load now $(load))"
if [ -z "$quick" ] && [ -z "$filter" ] && over "$total" "$total_budget"; then
  echo "*** OVER BUDGET: the programs took $total s > $total_budget s together" >&2
  slow=1
fi
[ "$slow" = 1 ] && [ -z "$quick" ] && failed=1
/usr/bin/python3 scripts/bench_report.py "$out/results.jsonl" "$out/results.md" \
  "$out/ratios.svg" ${quick:+--strict} --times "$out/times.tsv" || failed=1
exit $failed
