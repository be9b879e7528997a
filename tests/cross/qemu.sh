#!/bin/sh
# Cross-builds libq8, its kernels and the core tests for an ARM target and
# runs the 'core' suite under qemu-user once per emulated CPU.  With Q8_ISA
# unset every test walks all the paths the emulated CPU has.
#
#   tests/cross/qemu.sh aarch64 [BUILDDIR]   (default: build-aarch64)
#       as a Cortex-A72 (baseline NEON, the Raspberry Pi 4) and as QEMU's
#       "max" CPU (dotprod and i8mm)
#   tests/cross/qemu.sh armhf [BUILDDIR]     (default: build-armhf)
#       32-bit ARMv7 (Raspberry Pi OS 32-bit) as a Cortex-A7: the scalar
#       kernels, and every size computation with a 32-bit size_t
#
# Needs gcc-aarch64-linux-gnu / gcc-arm-linux-gnueabihf and qemu-user;
# takes a few minutes per target.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
arch=${1:?usage: tests/cross/qemu.sh aarch64|armhf [BUILDDIR]}
case "$arch" in
  aarch64) cross=aarch64-linux-gnu.ini; cpus="cortex-a72 max" ;;
  armhf) cross=arm-linux-gnueabihf.ini; cpus="cortex-a7" ;;
  *) echo "qemu.sh: unknown target '$arch' (aarch64, armhf)" >&2; exit 2 ;;
esac
dir=${2:-$src/build-$arch}
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$src" --cross-file "$src/tests/cross/$cross" \
    -Dgst=disabled -Dsanitize_tests=false
fi
meson compile -C "$dir"
for cpu in $cpus; do
  echo "== $arch -cpu $cpu"
  QEMU_CPU=$cpu meson test -C "$dir" --suite core --print-errorlogs \
    --logbase "testlog-$cpu"
done
