#!/bin/sh
# png-superres.sh - upscale one PNG image.
#
#   pipelines/png-superres.sh IN.png OUT.png [--scale N] [--model FILE]
set -eu
. "$(dirname "$0")/common.sh"

[ $# -ge 2 ] || { echo "usage: $0 IN.png OUT.png [--scale N] [--model FILE]" >&2; exit 2; }
in=$1; out=$2; shift 2; props=
while [ $# -gt 0 ]; do
  case $1 in
    --scale) props="$props scale=$2"; shift 2 ;;
    --model) props="$props model=$2"; shift 2 ;;
    *) echo "usage: $0 IN.png OUT.png [--scale N] [--model FILE]" >&2; exit 2 ;;
  esac
done
q8_find_plugin
# imagefreeze is not needed: pngdec gives one frame and EOS.
# shellcheck disable=SC2086
exec gst-launch-1.0 -q filesrc location="$in" ! pngdec ! videoconvert ! \
  qsuperres fallback=wait $props ! videoconvert ! pngenc ! filesink location="$out"
