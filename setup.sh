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
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good libv4l-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev
  clang libclang-rt-14-dev valgrind gcc-aarch64-linux-gnu libc6-dev-arm64-cross
  gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
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
    # The main job: a video stream through qsuperres on its built-in
    # default model (int8 ESPCN x2), then the model itself with q8.
    GST_PLUGIN_PATH="$PWD/$BUILD/gst-plugin" gst-launch-1.0 \
      videotestsrc num-buffers=30 ! video/x-raw,width=640,height=360 \
      ! qsuperres ! fakesink
    # Anomaly detection on its built-in feature model: it learns the scene
    # from the first 50 frames, then scores the rest (-m shows the bus
    # messages; the last few are printed).
    GST_PLUGIN_PATH="$PWD/$BUILD/gst-plugin" gst-launch-1.0 -m \
      videotestsrc num-buffers=60 ! video/x-raw,width=320,height=240 \
      ! qanomaly ! fakesink | grep -E 'qanomaly' | tail -n 4
    "$BUILD/cli/q8" info builtin:espcn_x2
    "$BUILD/cli/q8" bench builtin:espcn_x2 --size 640x360 \
      --threads 0
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
