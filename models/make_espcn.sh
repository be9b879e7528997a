#!/bin/sh
# Reproduces the shipped ESPCN models: trains x2, x3, x4 in FP32 (1 thread
# each, fixed seeds), exports ONNX, converts to int8 with q8 convert, and
# prints the PSNR table (models/README.md).  Not run by CI.
#
#   models/make_espcn.sh [BUILDDIR]        (default: build)
#
# Needs: apt-get install python3-torch python3-onnx python3-numpy
#        python3-pil python3-skimage scratch mate-backgrounds lxqt-themes
#        opencv-doc; and a q8 build with the converter.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
q8=$build/cli/q8
py=/usr/bin/python3
out=$src/models
tmp=${TMPDIR:-/tmp}/q8-espcn
mkdir -p "$tmp"

# FP32 training: x3 and x2 from scratch, x4 starting from x3's first two
# layers.  Run two at a time on a 2-core machine.
train() { # scale steps [extra args]
  r=$1; steps=$2; shift 2
  nice -n 15 $py "$src/models/train_espcn.py" --scale "$r" --skip \
    --steps "$steps" -o "$out/espcn_x$r.onnx" "$@" \
    > "$tmp/train_x$r.log" 2>&1
}
train 3 15000 & train 2 12000 & wait
train 4 12000 --init "$out/espcn_x3.pt"

for r in 2 3 4; do
  $py "$src/models/sr_eval.py" calib --scale $r -n 200 -o "$tmp/calib_x$r"
  $py "$src/models/sr_eval.py" heldout --scale $r -n 50 -o "$tmp/held_x$r"
  "$q8" convert "$out/espcn_x$r.onnx" -o "$out/espcn_x$r.q8" \
    --calib "$tmp/calib_x$r" --name "espcn-x$r" \
    --report "$out/espcn_x$r.report.json" | tee "$tmp/convert_x$r.txt"
  "$q8" compare "$out/espcn_x$r.onnx" "$out/espcn_x$r.q8" \
    --data "$tmp/held_x$r" | tee "$tmp/compare_x$r.txt"
  $py "$src/models/sr_eval.py" psnr --scale $r --skip \
    --pt "$out/espcn_x$r.pt" --q8 "int8=$out/espcn_x$r.q8" --q8-tool "$q8" \
    | tee "$tmp/psnr_x$r.txt"
done
