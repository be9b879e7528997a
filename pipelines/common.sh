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

# Runs gst-launch-1.0 "$@". With a time limit $1 (seconds; empty for
# none) it then interrupts it as Ctrl-C would: with -e gst-launch ends the
# stream with EOS and exits 0.  gst-launch catches SIGINT only once it has
# parsed the pipeline, which can take seconds on a loaded machine, and an
# interrupt before that kills it (status 130); so the clock starts when
# /proc shows the handler installed.
q8_launch() {
  secs=$1; shift
  if [ -z "$secs" ]; then
    gst-launch-1.0 "$@"
    return
  fi
  # While gst-launch runs, Ctrl-C is its to handle; the shell waits for it.
  trap '' INT
  gst-launch-1.0 "$@" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && ! q8_catches_sigint "$pid"; do
    sleep 0.1
  done
  (sleep "$secs"; kill -INT "$pid" 2>/dev/null) </dev/null >/dev/null 2>&1 &
  timer=$!
  status=0
  wait "$pid" || status=$?
  kill "$timer" 2>/dev/null || true
  trap - INT
  return "$status"
}

# Whether process $1 has a SIGINT handler (bit 2 of SigCgt in
# /proc/PID/status).  Without /proc it answers yes: nothing to wait for.
q8_catches_sigint() {
  [ -r "/proc/$1/status" ] || return 0
  mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
  [ -n "$mask" ] || return 1
  # The last two hex digits hold signals 1-8; SIGINT is 2.
  [ $(( 0x${mask#"${mask%??}"} & 2 )) -ne 0 ]
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
