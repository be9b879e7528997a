#!/bin/sh
# file-superres.sh - video file -> qsuperres -> encoded file.
#
#   pipelines/file-superres.sh [INPUT] OUTPUT.webm [--scale N] [--model F]
#
# Decodes any file GStreamer can read, upscales it and encodes VP8 in WebM
# (in Debian's plugins-good; x264enc is used for .mp4/.mkv when installed).
# Without INPUT it upscales 5 seconds of videotestsrc.  The network runs on
# every frame (fallback=wait): a file has no deadline.
set -eu
. "$(dirname "$0")/common.sh"

input= ; output= ; props=
while [ $# -gt 0 ]; do
  case $1 in
    --scale) props="$props scale=$2"; shift 2 ;;
    --model) props="$props model=$2"; shift 2 ;;
    -*) echo "usage: $0 [INPUT] OUTPUT [--scale N] [--model FILE]" >&2; exit 2 ;;
    *) if [ -z "$output" ]; then output=$1; else input=$output; output=$1; fi; shift ;;
  esac
done
[ -n "$output" ] || { echo "usage: $0 [INPUT] OUTPUT [--scale N] [--model FILE]" >&2; exit 2; }

q8_find_plugin
if [ -n "$input" ]; then
  SRC="filesrc location=$input ! decodebin ! videoconvert"
else
  SRC="videotestsrc num-buffers=125 ! video/x-raw,width=320,height=240,framerate=25/1"
  echo "$0: no input given: using 5 s of videotestsrc" >&2
fi
case $output in
  *.mp4|*.mkv)
    if gst-inspect-1.0 x264enc >/dev/null 2>&1; then
      ENC="videoconvert ! x264enc ! h264parse ! $( [ "${output##*.}" = mp4 ] && echo mp4mux || echo matroskamux )"
    else
      echo "$0: x264enc is not installed; write a .webm instead" >&2; exit 1
    fi ;;
  *) ENC="videoconvert ! vp8enc deadline=1 ! webmmux" ;;
esac
# shellcheck disable=SC2086
exec gst-launch-1.0 -e $SRC ! qsuperres fallback=wait $props ! $ENC ! filesink location="$output"
