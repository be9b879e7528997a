#!/bin/sh
# camera-anomaly.sh - camera -> qanomaly overlay=true -> window, with the
# element's messages logged (one line per analysed frame).
#
#   pipelines/camera-anomaly.sh [--model parts.q8 | --scene line3.q8]
#                               [--teach-frames N] [--device /dev/videoN | --test]
#                               [--threshold T] [--interval N] [--seconds N]
#
# Without --model, qanomaly's built-in feature model learns the normal scene
# from the first --teach-frames frames (default 50) and then marks what
# differs; --scene saves what it learned and reuses it next time.  Without
# a camera (or with --test) it analyses videotestsrc; without a display it
# runs into fakesink.
set -eu
. "$(dirname "$0")/common.sh"

device= ; props= ; seconds=
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --test) device=test; shift ;;
    --model) props="$props model=$2"; shift 2 ;;
    --scene) props="$props scene=$2"; shift 2 ;;
    --teach-frames) props="$props teach-frames=$2"; shift 2 ;;
    --threshold) props="$props threshold=$2"; shift 2 ;;
    --interval) props="$props interval=$2"; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "usage: $0 [--model FILE] [--scene FILE] [--teach-frames N] [--device DEV | --test] [--threshold T] [--interval N] [--seconds N]" >&2; exit 2 ;;
  esac
done

q8_find_plugin
q8_camera_source "$device"
q8_display_sink
# -m prints every bus message; keep the qanomaly ones.
# shellcheck disable=SC2086
q8_launch "$seconds" -e -m $SRC ! videoconvert ! qanomaly overlay=true $props ! $SINK \
  | grep --line-buffered -E 'qanomaly,|qanomaly-taught|ERROR|WARNING'
