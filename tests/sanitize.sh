#!/bin/sh
# Builds libq8 and its tests with ASan+UBSan in a sub-build directory and
# runs the 'core' suite there.  Called by `meson test` (suite 'sanitize').
set -eu
src=$1
dir=$2
if [ ! -f "$dir/build.ninja" ]; then
  meson setup "$dir" "$src" -Dsubbuild=true -Dgst=disabled \
    -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debugoptimized
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
meson compile -C "$dir"
meson test -C "$dir" --suite core --print-errorlogs
