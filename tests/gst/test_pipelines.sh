#!/bin/sh
# test_pipelines.sh - runs every pipelines/ script the way a user on a
# machine without a camera and without a display would (--test, no
# DISPLAY), and checks the status and what each one writes:
#
#   camera-superres.sh --test --seconds 2   status 0 (EOS after the interrupt),
#                                           also when gst-launch starts slowly
#   camera-anomaly.sh --test --seconds 3    qanomaly-taught and qanomaly lines
#   file-superres.sh OUT.webm               a 640x480 VP8 file from 320x240
#   png-superres.sh IN.png OUT.png          a 74x46 PNG from 37x23
#
# Usage: test_pipelines.sh SOURCE_DIR BUILD_DIR (meson test gst-pipelines).
set -eu
src=$1
export Q8_BUILD_DIR=$2
unset DISPLAY WAYLAND_DISPLAY
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p=$src/pipelines

fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.err; do
    [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }
  done
  exit 1
}

# Width and height of a PNG: big-endian words at bytes 16 and 20 (IHDR).
png_size() {
  od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%dx%d", \
      (($1 * 256 + $2) * 256 + $3) * 256 + $4, \
      (($5 * 256 + $6) * 256 + $7) * 256 + $8 }'
}

sh "$p/camera-superres.sh" --test --seconds 2 >"$tmp/cs.out" 2>"$tmp/cs.err" \
  || fail "camera-superres.sh: status $?"
grep -q "using videotestsrc" "$tmp/cs.err" || fail "camera-superres.sh: no test pattern"
grep -q "output goes to fakesink" "$tmp/cs.err" || fail "camera-superres.sh: no fakesink"
echo "ok camera-superres.sh"

# A slow start (a cold plugin registry, a loaded machine) must not turn
# --seconds into a kill: a gst-launch-1.0 that takes 2 s to start still
# ends with EOS and status 0 (an interrupt before it catches SIGINT gave 130).
mkdir "$tmp/slow"
printf '#!/bin/sh\nsleep 2\nexec %s "$@"\n' "$(command -v gst-launch-1.0)" \
  >"$tmp/slow/gst-launch-1.0"
chmod +x "$tmp/slow/gst-launch-1.0"
PATH="$tmp/slow:$PATH" sh "$p/camera-superres.sh" --test --seconds 1 \
  >"$tmp/css.out" 2>"$tmp/css.err" || fail "camera-superres.sh, slow start: status $?"
grep -q "Got EOS from element" "$tmp/css.out" \
  || fail "camera-superres.sh, slow start: no EOS"
echo "ok camera-superres.sh, slow start"

sh "$p/camera-anomaly.sh" --test --seconds 3 --teach-frames 5 >"$tmp/ca.out" \
  2>"$tmp/ca.err" || fail "camera-anomaly.sh: status $?"
grep -q "qanomaly-taught, frames=(uint)5" "$tmp/ca.out" \
  || fail "camera-anomaly.sh: no qanomaly-taught message"
grep -q "qanomaly, score=(double)" "$tmp/ca.out" \
  || fail "camera-anomaly.sh: no qanomaly message"
echo "ok camera-anomaly.sh"

if gst-inspect-1.0 vp8enc >/dev/null 2>&1 && gst-inspect-1.0 vp8dec >/dev/null 2>&1; then
  sh "$p/file-superres.sh" "$tmp/out.webm" >"$tmp/fs.out" 2>"$tmp/fs.err" \
    || fail "file-superres.sh: status $?"
  gst-launch-1.0 -v filesrc location="$tmp/out.webm" ! matroskademux ! vp8dec \
    ! fakesink >"$tmp/fsd.out" 2>"$tmp/fsd.err" || fail "out.webm does not decode"
  grep -q "width=(int)640, height=(int)480" "$tmp/fsd.out" \
    || fail "out.webm is not 640x480"
  echo "ok file-superres.sh"
else
  echo "skip file-superres.sh: vp8enc or vp8dec not installed"
fi

gst-launch-1.0 -q videotestsrc num-buffers=1 ! video/x-raw,width=37,height=23 \
  ! pngenc ! filesink location="$tmp/in.png" || fail "cannot write in.png"
sh "$p/png-superres.sh" "$tmp/in.png" "$tmp/out.png" >"$tmp/ps.out" 2>"$tmp/ps.err" \
  || fail "png-superres.sh: status $?"
[ "$(png_size "$tmp/out.png")" = 74x46 ] \
  || fail "png-superres.sh: out.png is $(png_size "$tmp/out.png"), not 74x46"
echo "ok png-superres.sh"
