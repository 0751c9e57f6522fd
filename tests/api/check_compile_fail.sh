#!/bin/sh
# Compile-time type checks of the public API (issue 12): each misuse file
# must be REFUSED by the compiler with -Werror, with a diagnostic about the
# type, while its control file compiles with the very same command line.
# Control: value_ok.c (the right types, the same flags); misuses: *_misuse.c.
# usage: check_compile_fail.sh CC INCLUDE_DIR SRC_DIR
set -u
cc=$1; inc=$2; dir=$3
tmp=${TMPDIR:-/tmp}/mt_compile_fail.$$
trap 'rm -f "$tmp".*' EXIT
flags="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -I$inc"
rc=0
if ! $cc $flags "$dir/value_ok.c" 2> "$tmp.ok"; then
  echo "FAIL: control value_ok.c does not compile:"; cat "$tmp.ok"; exit 1
fi
for f in "$dir"/*_misuse.c; do
  b=$(basename "$f")
  if $cc $flags "$f" 2> "$tmp.bad"; then
    echo "FAIL: $b compiled; the compiler must refuse it"; rc=1; continue
  fi
  if ! grep -qE 'incompatible (function )?pointer type' "$tmp.bad"; then
    echo "FAIL: $b refused, but not for the pointer type:"; cat "$tmp.bad"; rc=1; continue
  fi
  echo "ok: $b refused: $(grep -m1 -E 'incompatible (function )?pointer type' "$tmp.bad")"
done
exit $rc
