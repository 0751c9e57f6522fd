#!/bin/sh
# Installs the Debian packages multitask needs, and nothing when all are present.
# Usage: scripts/deps.sh [build|check|bench]   (build < bench < check: each
# includes the one before it).  check includes bench: make check runs make bench QUICK=1, which links the
# benchmarks' peers (GLib, libuv, Concurrency Kit, oneTBB, ZeroMQ, nng, Boost.Fiber; gevent as a Python reference).
# Non-interactive: CI runs it with no terminal and no stdin.
set -eu
group=${1:-check}

pkgs="gcc g++ make cmake pkg-config bc"  # bc: the subprocess example talks to it
case "$group" in
  build) ;;
  check|bench)
    # the benchmarks and their peers (docs/benchmarks.md)
    pkgs="$pkgs libcmocka-dev librsvg2-bin libglib2.0-dev libuv1-dev libboost-context-dev python3 python3-greenlet"
    pkgs="$pkgs libck-dev libtbb-dev libzmq3-dev libnng-dev libboost-fiber-dev python3-gevent"
    if [ "$group" = check ]; then pkgs="$pkgs clang libclang-rt-14-dev"; fi ;;
  *) echo "deps.sh: unknown group '$group' (build|check|bench)" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq </dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing </dev/null
