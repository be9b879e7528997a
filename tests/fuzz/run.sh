#!/bin/sh
# Builds the libFuzzer targets with clang, ASan and UBSan and runs each for
# SECONDS (default 60) from the committed seeds plus the project's own
# fixtures.  A crash leaves its input in the working directory and fails
# the script; turn it into a regression test (tests/fuzz/regressions/
# TARGET/ inputs are replayed by every run).
#
#   tests/fuzz/run.sh [SECONDS] [BUILDDIR]     (default: 60 build-fuzz)
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
dir=${2:-$src/build-fuzz}
if [ ! -f "$dir/build.ninja" ]; then
  CC=clang meson setup "$dir" "$src" -Dfuzz=true -Dgst=disabled \
    -Dsanitize_tests=false -Db_sanitize=address,undefined -Db_lundef=false \
    --buildtype=debugoptimized
fi
meson compile -C "$dir"
dir=$(cd "$dir" && pwd)   # the fuzzers run from a scratch directory
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
seeds() { # target: its seed directories
  case $1 in
    fuzz_loader) echo "$src/tests/fuzz/seeds/loader" ;;
    fuzz_onnx) echo "$src/tests/convert/fixtures" ;;
    fuzz_npy) echo "$src/tests/fuzz/seeds/npy" ;;
  esac
}
status=0
for t in fuzz_loader fuzz_onnx fuzz_npy; do
  [ -x "$dir/tests/fuzz/$t" ] || continue
  echo "== $t, ${secs} s"
  mkdir -p "$work/$t"
  reg="$src/tests/fuzz/regressions/$t"
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
    "$dir/tests/fuzz/$t" "$reg"/* || status=1
  fi
  # -rss_limit_mb bounds what one hostile input may allocate; -timeout
  # catches hangs.
  (cd "$work" && "$dir/tests/fuzz/$t" -max_total_time="$secs" -timeout=20 \
    -rss_limit_mb=2048 -max_len=262144 -print_final_stats=1 \
    "$work/$t" $(seeds $t)) || { status=1; cp "$work"/crash-* "$work"/timeout-* "$work"/oom-* "$src/tests/fuzz/" 2>/dev/null || true; }
done
exit $status
