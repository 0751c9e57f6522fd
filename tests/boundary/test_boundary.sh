#!/bin/sh
# scripts/check-boundary.sh on a fixture: it must fail and name exactly the
# two real calls (not the comment, the string, the struct member, the
# mt__sys_ function or anything under platform/).
set -u
root=$1
out=$("$root/scripts/check-boundary.sh" tests/boundary/fixture 2>&1)
rc=$?
expected='tests/boundary/fixture/uses.c:7:   return fork();
tests/boundary/fixture/uses.c:11:   return pthread_join (0, 0);'
got=$(printf '%s\n' "$out" | grep '^tests/')
if [ "$rc" -ne 1 ] || [ "$got" != "$expected" ]; then
  printf 'check-boundary.sh on the fixture: rc=%s, output:\n%s\n' "$rc" "$out"
  exit 1
fi
echo "boundary: the fixture's two calls found, nothing else"
