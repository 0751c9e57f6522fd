#!/bin/sh
# The shared library exports exactly the functions the public headers
# declare: every dynamic symbol it defines must be declared in
# include/multitask*.h, and every function declared there must be exported
# (a missing definition, or a header without the visibility pragma, fails).
# usage: check_symbols.sh LIBMULTITASK_SO INCLUDE_DIR CC
set -eu
lib=$1; inc=$2; cc=$3
tmp=${TMPDIR:-/tmp}/mt_symbols.$$
trap 'rm -f "$tmp".*' EXIT

nm -D --defined-only --format=posix "$lib" | awk '{print $1}' | sort -u > "$tmp.exported"
# Function declarations after preprocessing (comments and macro bodies gone):
# a public name followed by '('.
echo '#include <multitask.h>' | "$cc" -D_GNU_SOURCE -I"$inc" -E -P -x c - |
  grep -oE '(^|[^A-Za-z0-9_])mt_[A-Za-z0-9_]*[[:space:]]*\(' |
  sed -E 's/^[^m]*//; s/[[:space:]]*\($//' | sort -u > "$tmp.declared"

rc=0
extra=$(comm -23 "$tmp.exported" "$tmp.declared")
missing=$(comm -13 "$tmp.exported" "$tmp.declared")
if [ -n "$extra" ]; then
  echo "exported by $(basename "$lib") but declared in no public header:"
  echo "$extra" | sed 's/^/  /'
  rc=1
fi
if [ -n "$missing" ]; then
  echo "declared in a public header but not exported:"
  echo "$missing" | sed 's/^/  /'
  rc=1
fi
[ "$rc" -eq 0 ] && echo "symbols: $(wc -l < "$tmp.exported") exported, all declared in public headers, none missing"
exit $rc
