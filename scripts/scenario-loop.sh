#!/bin/sh
# Runs the notes' scenario examples (tests/scenarios) RUNS times each and
# prints, per example, how many runs matched the notes' output pattern.
# Usage: scripts/scenario-loop.sh [BUILD] [RUNS] [example...]
#   BUILD  the build directory (default build; built if needed)
#   RUNS   runs per example (default 20)
# MT_EXAMPLE_SCALE (a multiplier of the examples' waits) is passed through.
# Exit status 0 only when every run of every example matched.
set -eu
build=${1:-build}
runs=${2:-20}
[ $# -ge 2 ] && shift 2 || shift $#
cd "$(dirname "$0")/.."
if [ ! -x "$build/tests/scenarios/test_scenarios" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j 2 --target test_scenarios
fi
echo "scenario loop: $runs runs each, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
exec "$build/tests/scenarios/test_scenarios" --loop "$runs" "$@"
