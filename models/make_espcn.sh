#!/bin/sh
# Reproduces the shipped ESPCN models (models/README.md): trains x2, x3, x4
# in FP32 (1 thread each, fixed seeds; x2 and x4 from a 3-layer base grown
# by one 32->32 layer at a time, twice; x3 from scratch with both; then
# each fine-tuned on L2 loss), exports ONNX, converts to int8 with q8
# convert, fine-tunes with quantization-aware training, and prints the
# PSNR tables.  Then trains the four small ESPCN variants (tanh/ReLU,
# with and without BatchNorm) that check q8 convert.  Not run by CI.
# Training on the shared 2-core machine, two at a time: base x3 || x2
# about 20 min, base x4 about 10 min, first growth x2 || x4 (14 min),
# then x3 (26 min) || second growth x2 then x4 (10 min each), L2
# fine-tunes x2 || x3 then x4 (5-7 min each), so about 85 min; QAT and
# the converter variants take another hour or so.
#
#   models/make_espcn.sh [BUILDDIR]        (default: build)
#
# Needs: apt-get install python3-torch python3-onnx python3-numpy
#        python3-pil python3-skimage scratch mate-backgrounds lxqt-themes
#        lomiri-wallpapers-16.04 lomiri-wallpapers-20.04
#        plasma-workspace-wallpapers
#        opencv-doc; and a q8 build with the converter.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
q8=$build/cli/q8
py=/usr/bin/python3
out=$src/models
tmp=${TMPDIR:-/tmp}/q8-espcn
mkdir -p "$tmp"

train() { # scale steps output [extra args]
  r=$1; steps=$2; o=$3; shift 3
  nice -n 15 $py "$src/models/train_espcn.py" --scale "$r" --skip \
    --act relu --steps "$steps" -o "$o" "$@" \
    > "${o%.onnx}.log" 2>&1
}
# 1. The 3-layer base: x3 and x2 from scratch, two at a time; x4 starts
#    from x3's first two layers.  (These are the models shipped before
#    2026-12-06; trained on the wallpapers and scratch's backdrops.)
old="--data wallpapers,scratch"
train 3 12000 "$tmp/base_x3.onnx" $old &
train 2 10000 "$tmp/base_x2.onnx" $old & wait
train 4 6000 "$tmp/base_x4.onnx" $old --init "$tmp/base_x3.pt"
# 2. x2 and x4 grown: an extra 3x3 32->32 layer that starts as the
#    identity (so each starts where its base ended), trained further with
#    L1 loss.  (With x3 grown likewise, the models shipped on 2026-12-06.)
grow="--loss l1 --lr 5e-4"
train 2 5000 "$tmp/mid1_x2.onnx" $old $grow --mid 1 --init "$tmp/base_x2.pt" &
train 4 5000 "$tmp/mid1_x4.onnx" $old $grow --mid 1 --init "$tmp/base_x4.pt" &
wait
# 3. On the wallpapers and the photographs (sr_data.DEFAULT_TRAIN_SETS, no
#    scratch backdrops): x3 from scratch with two 32->32 layers, in
#    parallel with x2 then x4 grown by a second 32->32 layer.
train 3 20000 "$tmp/l1_x3.onnx" --mid 2 --loss l1 --lr 1e-3 \
  --eval-every 2000 &
{ train 2 6000 "$tmp/l1_x2.onnx" $grow --mid 2 --eval-every 1000 \
    --init "$tmp/mid1_x2.pt"
  train 4 6000 "$tmp/l1_x4.onnx" $grow --mid 2 --eval-every 1000 \
    --init "$tmp/mid1_x4.pt"; } &
wait
# 4. A short L2 fine-tune of each (the metric is PSNR, i.e. L2), at a low
#    learning rate: 4000 steps, about 5 min each.
l2() { # scale
  train $1 4000 "$out/espcn_x$1.onnx" --mid 2 --loss l2 --lr 2e-4 \
    --eval-every 1000 --init "$tmp/l1_x$1.pt"
}
l2 2 & l2 3 & wait
l2 4
mv "$out"/espcn_x?.log "$tmp"/

for r in 2 3 4; do
  $py "$src/models/sr_eval.py" calib --scale $r -n 200 -o "$tmp/calib_x$r"
  $py "$src/models/sr_eval.py" heldout --scale $r -n 50 -o "$tmp/held_x$r"
  "$q8" convert "$out/espcn_x$r.onnx" -o "$out/espcn_x$r.q8" \
    --calib "$tmp/calib_x$r" --name "espcn-x$r" | tee "$tmp/convert_x$r.txt"
  "$q8" compare "$out/espcn_x$r.onnx" "$out/espcn_x$r.q8" \
    --data "$tmp/held_x$r" | tee "$tmp/compare_x$r.txt"
  nice -n 15 $py "$src/models/qat_espcn.py" --scale $r --act relu --mid 2 \
    --pt "$out/espcn_x$r.pt" -o "$tmp/espcn_x${r}_qat.onnx" \
    > "$tmp/qat_x$r.log" 2>&1
  "$q8" convert "$tmp/espcn_x${r}_qat.onnx" -o "$tmp/espcn_x${r}_qat.q8" \
    --calib "$tmp/calib_x$r" --name "espcn-x$r-qat" -q
  $py "$src/models/sr_eval.py" psnr --scale $r --skip --act relu --mid 2 \
    --pt "$out/espcn_x$r.pt" --q8 "ptq=$out/espcn_x$r.q8" \
    --q8 "qat=$tmp/espcn_x${r}_qat.q8" --q8-tool "$q8" \
    | tee "$tmp/psnr_x$r.txt"
done

# espcn_x3_deep, fourteen 32->32 layers: grown from the built-in x3 via
# five (identity starts), L1 then L2, a second L1 cycle and a last L2
# fine-tune on 48x48 patches (23 + 57 + 17 + 52 + 17 min, measured
# 2026-12-07 with both cores busy).
train 3 8000 "$tmp/g_d5.onnx" --width 64,32 --mid 5 --loss l1 --lr 5e-4 \
  --eval-every 1000 --init "$out/espcn_x3.onnx"
train 3 8000 "$tmp/g_d14.onnx" --width 64,32 --mid 14 --loss l1 --lr 5e-4 \
  --eval-every 1000 --init "$tmp/g_d5.pt"
train 3 2500 "$tmp/l2_d14.onnx" --width 64,32 --mid 14 --loss l2 \
  --lr 2e-4 --eval-every 500 --init "$tmp/g_d14.pt"
train 3 8000 "$tmp/c_d14.onnx" --width 64,32 --mid 14 --loss l1 --lr 3e-4 \
  --seed 2 --eval-every 1000 --init "$tmp/l2_d14.pt"
train 3 2500 "$out/espcn_x3_deep.onnx" --width 64,32 --mid 14 --loss l2 \
  --lr 2e-4 --patch 48 --batch 16 --eval-every 500 --init "$tmp/c_d14.pt"
mv "$out/espcn_x3_deep.log" "$tmp/"
# minmax calibration: with fourteen layers it beats mse (models/README.md).
"$q8" convert "$out/espcn_x3_deep.onnx" -o "$out/espcn_x3_deep.q8" \
  --method minmax --calib "$tmp/calib_x3" --name espcn-x3-deep \
  | tee "$tmp/convert_deep.txt"
$py "$src/models/sr_eval.py" psnr --scale 3 --skip --act relu --width 64,32 \
  --mid 14 --pt "$out/espcn_x3_deep.pt" --q8 "ptq=$out/espcn_x3_deep.q8" \
  --q8-tool "$q8" | tee "$tmp/psnr_deep.txt"

# The converter's acceptance models: plain ESPCN x2 (no residual), tanh and
# ReLU, with and without BatchNorm (exported unfolded, as many exporters
# leave it).
for v in "tanh" "relu" "tanh --bn" "relu --bn"; do
  n=$(echo "$v" | tr -d ' -')
  nice -n 15 $py "$src/models/train_espcn.py" --scale 2 --act $v \
    --steps 2500 --seed 3 -o "$tmp/var_$n.onnx" > "$tmp/var_$n.log" 2>&1
  "$q8" convert "$tmp/var_$n.onnx" -o "$tmp/var_$n.q8" \
    --calib "$tmp/calib_x2" --name "espcn-x2-$n" | tee "$tmp/var_$n.txt"
  "$q8" compare "$tmp/var_$n.onnx" "$tmp/var_$n.q8" --data "$tmp/held_x2" \
    | tail -n 1
done
