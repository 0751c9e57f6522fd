#!/bin/sh
# Compile-time type checks of the public API (issue 12): each misuse file
# must be REFUSED by the compiler with -Werror, with a diagnostic about the
# type, while its control file compiles with the very same command line.
# usage: check_compile_fail.sh CC INCLUDE_DIR SRC_DIR
set -u
cc=$1; inc=$2; dir=$3
tmp=${TMPDIR:-/tmp}/mt_compile_fail.$$
trap 'rm -f "$tmp".*' EXIT
flags="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -fsyntax-only -I$inc"
rc=0
for pair in "value_ok.c value_misuse.c"; do
  set -- $pair
  if ! $cc $flags "$dir/$1" 2> "$tmp.ok"; then
    echo "FAIL: control $1 does not compile:"; cat "$tmp.ok"; rc=1; continue
  fi
  if $cc $flags "$dir/$2" 2> "$tmp.bad"; then
    echo "FAIL: $2 compiled; the compiler must refuse it"; rc=1; continue
  fi
  if ! grep -q "incompatible pointer type" "$tmp.bad"; then
    echo "FAIL: $2 refused, but not for the pointer type:"; cat "$tmp.bad"; rc=1; continue
  fi
  echo "ok: $2 refused: $(grep -m1 'incompatible pointer type' "$tmp.bad")"
done
exit $rc
