# shellcheck shell=sh disable=SC2034
# common.sh - shared by the pipeline scripts: finding the plugin, a camera
# and a display, each with a fallback that works on a bare machine.
# Sourced, not run.

# Run from a build tree without `meson devenv`: point GStreamer at the
# uninstalled plugin.
q8_find_plugin() {
  here=$(cd "$(dirname "$0")" && pwd)
  for d in "${Q8_BUILD_DIR:-}" "$here/../build"; do
    if [ -n "$d" ] && [ -f "$d/gst-plugin/libgstq8.so" ]; then
      export GST_PLUGIN_PATH="$d/gst-plugin${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
      break
    fi
  done
  if ! gst-inspect-1.0 qsuperres >/dev/null 2>&1; then
    echo "$0: the q8 GStreamer plugin is not found." >&2
    echo "  Build it (meson setup build && meson compile -C build) and run" >&2
    echo "  this script inside 'meson devenv -C build', or 'meson install'." >&2
    exit 1
  fi
}

# Sets SRC to a camera source, or to videotestsrc when there is none.
# $1: a device path, empty for the first /dev/video* that exists, or
# "test" for videotestsrc even when a camera is attached (--test).
q8_camera_source() {
  dev=${1:-}
  if [ "$dev" = test ]; then
    SRC="videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1"
    echo "$0: --test: using videotestsrc" >&2
    return
  fi
  if [ -z "$dev" ]; then
    for d in /dev/video*; do
      [ -c "$d" ] && dev=$d && break
    done
  fi
  if [ -n "$dev" ] && [ -c "$dev" ]; then
    SRC="v4l2src device=$dev"
    echo "$0: camera $dev" >&2
  else
    q8_camera_source test 2>/dev/null
    echo "$0: no camera found (no /dev/video*): using videotestsrc instead" >&2
  fi
}

# Sets LIMIT to stop gst-launch-1.0 -e after $1 seconds (if set) with an
# interrupt: it then ends the stream with EOS, and the script's status is
# gst-launch's (0), not timeout's 124.
q8_time_limit() {
  LIMIT=
  [ -z "${1:-}" ] || LIMIT="timeout --preserve-status -s INT $1"
}

# Sets SINK to a window, or to fakesink when there is no display.
q8_display_sink() {
  if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    SINK="videoconvert ! autovideosink"
  else
    SINK="fakesink sync=true"
    echo "$0: no display (DISPLAY and WAYLAND_DISPLAY unset): output goes to fakesink" >&2
  fi
}
