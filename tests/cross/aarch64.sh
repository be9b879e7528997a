#!/bin/sh
# Cross-builds libq8, its kernels and the core tests for aarch64 and runs
# the 'core' suite under qemu-user twice: as a Cortex-A72 (baseline NEON,
# the Raspberry Pi 4) and as QEMU's "max" CPU (dotprod and i8mm).  With
# Q8_ISA unset every test walks all the paths the emulated CPU has.
#
#   tests/cross/aarch64.sh [BUILDDIR]      (default: build-aarch64)
#
# Needs gcc-aarch64-linux-gnu and qemu-user; takes a few minutes.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-$src/build-aarch64}
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$src" --cross-file "$src/tests/cross/aarch64-linux-gnu.ini" \
    -Dgst=disabled -Dsanitize_tests=false
fi
meson compile -C "$dir"
for cpu in cortex-a72 max; do
  echo "== qemu-aarch64 -cpu $cpu"
  QEMU_CPU=$cpu meson test -C "$dir" --suite core --print-errorlogs \
    --logbase "testlog-$cpu"
done
