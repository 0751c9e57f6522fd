#!/bin/sh
# usage: no_leftovers.sh BUILD_DIR
# After the suite: no /dev/shm entry of our tests is left, and no process of
# this build's process/shm tests outlived its test (orphans, stuck daemons).
# Scoped to this build: other builds of the project (other checkouts,
# build-gcc-release/ vs build/) may be running their tests right now.
# Entries are mttest_<pid>: one whose process is still alive belongs to a run
# in progress elsewhere; one whose process is gone was left behind.
set -u
bin=$1
rc=0
for f in $(ls /dev/shm | grep '^mttest_'); do
  pid=${f#mttest_}
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "left behind: /dev/shm/$f"
    rc=1
  fi
done
if pgrep -af "^$bin/tests/(process|shm)/test_(process|shm)_"; then
  echo "processes of this build's process/shm tests still running (above)"
  rc=1
fi
exit $rc
