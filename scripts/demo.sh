#!/bin/sh
# Runs every example listed in BUILD/demo.list with a header line each;
# exits non-zero if any example fails.  Usage: scripts/demo.sh BUILD [FILTER]
set -u
build=${1:-build}
filter=${2:-}
list="$build/demo.list"
[ -f "$list" ] || { echo "demo.sh: $list missing (build first)" >&2; exit 2; }
mkdir -p "$build/demo"
failed=0; ran=0
tab=$(printf '\t')
while IFS="$tab" read -r name title cmd; do
  [ -n "$name" ] || continue
  case "$name" in *"$filter"*) ;; *) continue ;; esac
  printf '\n=== %s: %s ===\n' "$name" "$title"
  ran=$((ran + 1))
  if ! (cd "$build/demo" && eval "$cmd" </dev/null); then
    echo "*** example $name FAILED" >&2
    failed=$((failed + 1))
  fi
done < "$list"
printf '\ndemo: %d examples run, %d failed\n' "$ran" "$failed"
[ "$failed" -eq 0 ]
