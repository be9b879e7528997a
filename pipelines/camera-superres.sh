#!/bin/sh
# camera-superres.sh - camera -> qsuperres -> window.
#
#   pipelines/camera-superres.sh [--device /dev/videoN | --test] [--scale 2|3|4]
#                                [--model file.q8] [--seconds N]
#
# Without a camera (or with --test) it upscales videotestsrc; without a
# display it runs into fakesink.  Late frames are upscaled bilinearly
# (qsuperres' default fallback), and the element's "qsuperres" messages
# are printed.
set -eu
. "$(dirname "$0")/common.sh"

device= ; props= ; seconds=
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --test) device=test; shift ;;
    --scale) props="$props scale=$2"; shift 2 ;;
    --model) props="$props model=$2"; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) echo "usage: $0 [--device DEV | --test] [--scale N] [--model FILE] [--seconds N]" >&2; exit 2 ;;
  esac
done

q8_find_plugin
q8_camera_source "$device"
q8_display_sink
# shellcheck disable=SC2086
q8_launch "$seconds" -e -m $SRC ! qsuperres $props ! $SINK
