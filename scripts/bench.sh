#!/bin/sh
# Runs every benchmark of a Release build and writes OUT/results.jsonl (one
# JSON object per comparison) and OUT/results.md (a readable table).
# Usage: scripts/bench.sh BUILD_DIR OUT_DIR [FILTER]
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
  case "$prog" in *"$filter"*) ;; *) continue ;; esac
  echo "=== $(basename "$prog")"
  "$prog" || { echo "*** $prog failed" >&2; failed=1; }
done < "$build/bench.list"
/usr/bin/python3 - "$out/results.jsonl" "$out/results.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
with open(sys.argv[2], "w") as f:
    f.write("| bench | unit | ours | baseline | theirs | ratio |\n|---|---|---:|---|---:|---:|\n")
    for r in rows:
        f.write("| %s | %s | %.4g | %s | %.4g | %.2f |\n" % (
            r["bench"], r["unit"], r["ours"], r["baseline"], r["theirs"], r["ratio"]))
print("wrote %d results to %s" % (len(rows), sys.argv[2]))
PY
exit $failed
