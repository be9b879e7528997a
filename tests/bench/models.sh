#!/bin/sh
# models.sh - the README's speed table: `q8 bench` on every built-in model,
# on every kernel path this CPU has, 1 and 2 threads, one Markdown row
# each: median ms per frame (minimum), GMAC/s and the percentage of the
# path's int8 peak (measured by q8 bench on x86, assumed elsewhere; none
# for the scalar reference, whose assumed 1 MAC per cycle at the nominal
# clock says little).
# ESPCN at 640x360 and 1280x720, the anomaly features at 256x256 and
# 512x512; the scalar reference only at the smaller size on 1 thread (it
# takes seconds per frame).
#
#   tests/bench/models.sh [BUILD_DIR] [RUNS]       (default: build 21)
#
# Not run by meson test or CI: timings need a quiet machine.
set -eu
build=${1:-build}
runs=${2:-21}
q8=$build/cli/q8
echo "| model | input | kernels | threads | ms / frame, median (min) | GMAC/s | % of peak |"
echo "|---|---|---|---:|---:|---:|---:|"
for model in espcn_x2 espcn_x3 espcn_x4 anomaly_features; do
  case $model in
    anomaly_*) sizes="256x256 512x512" ;;
    *) sizes="640x360 1280x720" ;;
  esac
  for isa in scalar neon neondot neoni8mm avx2 avxvnni avx512vnni; do
    for size in $sizes; do
      for t in 1 2; do
        n=$runs
        if [ "$isa" = scalar ]; then
          case $size in 640x360|256x256) ;; *) continue ;; esac
          [ "$t" = 1 ] || continue
          n=3
        fi
        "$q8" bench "builtin:$model" --size "$size" --threads "$t" \
          --isa "$isa" --runs "$n" --json 2>/dev/null >"${TMPDIR:-/tmp}/q8-bench.json" \
          || continue
        /usr/bin/python3 - "$model" "$size" "$isa" "$t" \
          "${TMPDIR:-/tmp}/q8-bench.json" <<'PY'
import json, sys
model, size, isa, t, path = sys.argv[1:]
r = json.load(open(path))
if r["isa"] != isa:  # q8 bench fell back to another path
    sys.exit(0)
pk = r["peak_percent"] if isa != "scalar" else None
print("| `%s` | %s | %s | %s | %.2f (%.2f) | %.1f | %s |" % (
    model, size, isa, t, r["ms"]["median"], r["ms"]["min"], r["gmacs_per_s"],
    "%.0f %%" % pk if pk is not None else "-"))
PY
      done
    done
  done
done
