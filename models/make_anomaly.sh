#!/bin/sh
# Reproduces the shipped anomaly feature model (models/README.md): trains
# it in FP32 on the `train` textures (fixed seed), exports ONNX, converts
# to int8 with q8 convert (calibrated on crops of the training textures),
# generates the synthetic-defect benchmark on the held-out `eval`
# textures, and evaluates FP32 and int8 side by side.  Not run by CI;
# about 25 minutes on a 2-core machine.
#
#   models/make_anomaly.sh [BUILDDIR]        (default: build)
#
# Needs: apt-get install python3-torch python3-onnx python3-numpy
#        python3-pil colobot-common-textures fotoxx-common gimp-data
#        gimp-data-extras mate-backgrounds; and a q8 build with the
#        converter.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
q8=$build/cli/q8
py=/usr/bin/python3
out=$src/models
tmp=${TMPDIR:-/tmp}/q8-anomaly
mkdir -p "$tmp"

$py "$out/train_anomaly.py" --steps 4000 --batch 32 --threads 2 --fine-only \
  --pt "$tmp/anomaly_features.pt" -o "$out/anomaly_features.onnx" \
  | tee "$tmp/train.log"

# Calibration: 100 unaugmented 256x256 crops of the training textures.
rm -rf "$tmp/calib"
mkdir -p "$tmp/calib"
$py - "$tmp/calib" <<'EOF'
import sys
import numpy as np
sys.path.insert(0, "models")
import anomaly_data
p, _ = anomaly_data.random_patches("train", 100, 256,
                                   np.random.default_rng(5), augment=False)
for i, a in enumerate(p):
    np.save(f"{sys.argv[1]}/{i:03d}.npy", a)
EOF
"$q8" convert "$out/anomaly_features.onnx" -o "$out/anomaly_features.q8" \
  --calib "$tmp/calib" --task anomaly --name anomaly-features \
  --meta anomaly.method=knn --meta input.width=256 \
  --meta input.height=256 | tee "$tmp/convert.txt"

rm -rf "$tmp/bench"
$py "$out/anomaly_bench.py" -o "$tmp/bench" --split eval --seed 1
$py "$out/anomaly_eval.py" --bench "$tmp/bench" \
  --pt "$tmp/anomaly_features.pt" --q8 "$out/anomaly_features.q8" \
  --q8-tool "$q8" --json "$tmp/eval.json" \
  --picture "$out/anomaly_heatmap.png" | tee "$tmp/eval.txt"
