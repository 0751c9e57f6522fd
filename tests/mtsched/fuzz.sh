#!/bin/sh
# Runs the libFuzzer target on the parser+simulator: ~10 s by default (the
# ctest run); MTSCHED_FUZZ_RUNS=1000000 runs that many inputs instead.
# Usage: fuzz.sh FUZZER SEED_DIR WORK_DIR
set -eu
fuzzer=$1; seeds=$2; work=$3
mkdir -p "$work/corpus"
cp "$seeds"/*.txt "$work/corpus/" 2>/dev/null || true
if [ -n "${MTSCHED_FUZZ_RUNS:-}" ]; then
  limit="-runs=$MTSCHED_FUZZ_RUNS"
else
  limit="-max_total_time=${MTSCHED_FUZZ_SECONDS:-10}"
fi
exec "$fuzzer" $limit -seed=1 -max_len=4096 -rss_limit_mb=1024 -print_final_stats=1 \
  -artifact_prefix="$work/" "$work/corpus"
