#!/bin/sh
# usage: check_install.sh BUILD_DIR THIS_DIR SCRATCH
set -eu
build=$1; here=$2; scratch=$3
rm -rf "$scratch"; mkdir -p "$scratch/src"
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
libdir=$(ls -d "$scratch"/prefix/lib*/pkgconfig | head -1 | xargs dirname)

# 1. pkg-config (the public headers compile cleanly with a user's warnings)
PKG_CONFIG_PATH="$libdir/pkgconfig" cc -std=c11 -Wall -Wextra -Werror -o "$scratch/pc_consumer" \
  "$here/consumer.c" $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs multitask)
# against the shared library (the one whose exports are limited)
LD_LIBRARY_PATH="$libdir" ldd "$scratch/pc_consumer" | grep -q "libmultitask\.so" ||
  { echo "pc_consumer is not linked against libmultitask.so" >&2; exit 1; }
LD_LIBRARY_PATH="$libdir" "$scratch/pc_consumer"

# 2. find_package
cp "$here/consumer.c" "$scratch/src/"
cp "$here/consumer_CMakeLists.txt" "$scratch/src/CMakeLists.txt"
cmake -S "$scratch/src" -B "$scratch/cm" -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/cm" >/dev/null
LD_LIBRARY_PATH="$libdir" "$scratch/cm/consumer"
echo "install check: pkg-config and find_package consumers both work"
