#!/bin/sh
# Cross-builds the coroutine switch for aarch64 and runs it under qemu-user
# (outside make check; docs/coroutines.md).  Needs gcc-aarch64-linux-gnu and
# qemu-user-static.  Runs: the raw switch test (tests/coro/switch_smoke.c),
# then the greenlet and generator examples built with the library's
# coroutine sources, and checks their output.
# usage: scripts/coro-aarch64.sh [OUTDIR]   (default /tmp/mt-coro-aarch64)
set -eu
cd "$(dirname "$0")/.."
out=${1:-/tmp/mt-coro-aarch64}
mkdir -p "$out"
cc="aarch64-linux-gnu-gcc -std=c11 -O2 -Wall -Wextra -Werror -static -D_GNU_SOURCE -Isrc -Iinclude"
asm="src/platform/switch_aarch64.S src/platform/switch_asm.c"
lib="src/coro/greenlet.c src/coro/generator.c src/coro/stack.c src/platform/stack_linux.c src/core/mem.c"
$cc tests/coro/switch_smoke.c $asm -o "$out/switch_smoke" -lm
$cc examples/coro/greenlet_switch.c $lib $asm -o "$out/greenlet_switch" -lpthread
$cc examples/coro/generator_producer.c $lib $asm -o "$out/generator_producer" -lpthread
qemu-aarch64-static "$out/switch_smoke"
got=$(qemu-aarch64-static "$out/greenlet_switch" | head -4 | tr '\n' ' ')
[ "$got" = "12 56 34 78 " ] || { echo "greenlet_switch printed: $got" >&2; exit 1; }
echo "greenlet_switch: $got"
n=$(qemu-aarch64-static "$out/generator_producer" | grep -c "Consumer return: 200 OK")
[ "$n" -eq 5 ] || { echo "generator_producer: $n x 200 OK, expected 5" >&2; exit 1; }
echo "generator_producer: 5 x 200 OK"
echo "coro-aarch64: passed under qemu-aarch64-static"
