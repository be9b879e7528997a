#!/bin/sh
# setup.sh - the one entry point on a fresh Debian 12 machine.
#
#   ./setup.sh demo   install what q8 needs, build, run the main job on the
#                     built-in default model
#   ./setup.sh test   install, build, run every test (meson test)
#   ./setup.sh deps   only install the Debian packages
#   ./setup.sh build  install and build
#
# Packages come from Debian with apt-get (run as root, or with sudo).
set -eu
cd "$(dirname "$0")"

PACKAGES="meson ninja-build pkg-config gcc libc6-dev check
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good libv4l-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev
  clang libclang-rt-14-dev valgrind gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  qemu-user"

BUILD=${Q8_BUILD_DIR:-build}

deps() {
  missing=""
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
      || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "setup.sh: installing$missing"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
}

build() {
  deps
  [ -f "$BUILD/build.ninja" ] || meson setup "$BUILD"
  meson compile -C "$BUILD"
}

case "${1:-}" in
  deps) deps ;;
  build) build ;;
  demo)
    build
    if [ -x "$BUILD/cli/q8" ]; then
      model=tests/fixtures/espcn_tiny_x2.q8
      "$BUILD/cli/q8" info "$model"
      "$BUILD/cli/q8" bench "$model" --size 640x360 --threads 0
    else
      # Until the model loader lands (issue 3) the runnable job is the
      # convolution benchmark: the three ESPCN x3 layers at 640x360 on
      # every kernel path this CPU has.
      "$BUILD/tests/bench/bench_conv2d" -s 360x640 -r 11
    fi
    ;;
  test)
    build
    meson test -C "$BUILD" --print-errorlogs --num-processes 2
    ;;
  *)
    echo "usage: $0 demo|test|deps|build" >&2
    exit 2
    ;;
esac
