#!/bin/sh
# usage: check_install.sh BUILD_DIR THIS_DIR SCRATCH
set -eu
build=$1; here=$2; scratch=$3
rm -rf "$scratch"; mkdir -p "$scratch/src"
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
libdir=$(ls -d "$scratch"/prefix/lib*/pkgconfig | head -1 | xargs dirname)

# 1. pkg-config
PKG_CONFIG_PATH="$libdir/pkgconfig" cc -o "$scratch/pc_consumer" "$here/consumer.c" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs multitask)
LD_LIBRARY_PATH="$libdir" "$scratch/pc_consumer"

# 2. find_package
cp "$here/consumer.c" "$scratch/src/"
cp "$here/consumer_CMakeLists.txt" "$scratch/src/CMakeLists.txt"
cmake -S "$scratch/src" -B "$scratch/cm" -DCMAKE_PREFIX_PATH="$scratch/prefix" >/dev/null
cmake --build "$scratch/cm" >/dev/null
LD_LIBRARY_PATH="$libdir" "$scratch/cm/consumer"
echo "install check: pkg-config and find_package consumers both work"
