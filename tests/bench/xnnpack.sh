#!/bin/sh
# xnnpack.sh - q8 against XNNPACK on the shipped ESPCN x3 at 640x360, 1 and
# 2 threads, in one run (tests/bench/bench_xnnpack.c says what is compared).
#
#   tests/bench/xnnpack.sh [BUILD_DIR] [RUNS]
#
# Needs libxnnpack-dev and libpthreadpool-dev (apt-get install them; meson
# builds bench_xnnpack only when they are found).  Not run by meson test or
# CI: a whole-network benchmark takes seconds and needs a quiet machine.
set -eu
build=${1:-build}
runs=${2:-11}
src=$(cd "$(dirname "$0")/../.." && pwd)
if [ ! -x "$build/tests/bench/bench_xnnpack" ]; then
  meson setup --reconfigure "$build" "$src" >/dev/null
  meson compile -C "$build" tests/bench/bench_xnnpack >/dev/null || {
    echo "xnnpack.sh: bench_xnnpack not built (apt-get install" \
         "libxnnpack-dev libpthreadpool-dev)" >&2
    exit 1
  }
fi
for t in 1 2; do
  "$build/tests/bench/bench_xnnpack" "$src/models/espcn_x3.q8" -s 640x360 \
    -t "$t" -r "$runs"
done
