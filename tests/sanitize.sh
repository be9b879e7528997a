#!/bin/sh
# Builds q8 and its tests with ASan+UBSan in a sub-build directory and runs
# them there.  Called by `meson test` (suite 'sanitize') as
#
#   tests/sanitize.sh SRC DIR
#
# Q8_SANITIZE selects what:
#   core (default)  libq8 and the 'core' suite only, in DIR (quick: what
#                   every `meson test` runs)
#   all             everything, the GStreamer plugin and its element tests
#                   included, in DIR-all: the whole Check suite (what CI
#                   runs: Q8_SANITIZE=all ./setup.sh test)
set -eu
src=$1
dir=$2
mode=${Q8_SANITIZE:-core}
case $mode in
  core)
    opts="-Dsubbuild=true -Dgst=disabled"
    ;;
  all)
    dir=$dir-all
    opts="-Dsanitize_tests=false"
    ;;
  *)
    echo "sanitize.sh: Q8_SANITIZE must be core or all, not '$mode'" >&2
    exit 2
    ;;
esac
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$src" $opts \
    -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debugoptimized
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export LSAN_OPTIONS=suppressions=$src/tests/lsan.supp:print_suppressions=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
meson compile -C "$dir"
if [ "$mode" = core ]; then
  meson test -C "$dir" --suite core --print-errorlogs --num-processes 2
  exit
fi
meson test -C "$dir" --no-suite gst --print-errorlogs --num-processes 2
# The element tests.  GStreamer scans plugins in a helper process
# (gst-plugin-scanner) that is not built with ASan and cannot load the
# sanitized plugin: scan in-process.  GLib and GStreamer have no frame
# pointers, so only the slow unwinder sees through them to the frames the
# LSan suppressions (tests/lsan.supp, documented there) name; it is too
# slow for the kernel tests, which need no suppressions.
export GST_REGISTRY_FORK=no
export ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_malloc=0
meson test -C "$dir" --suite gst --print-errorlogs --num-processes 2
