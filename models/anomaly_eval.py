#!/usr/bin/python3
"""Evaluates the anomaly feature network on the synthetic-defect benchmark
(anomaly_bench.py), FP32 and int8 side by side.

  /usr/bin/python3 models/anomaly_eval.py --bench /tmp/anomaly_bench \\
      --pt models/anomaly_features.pt --q8 models/anomaly_features.q8 \\
      --q8-tool build/cli/q8 [--json out.json] [--picture out.png]

For every surface of the benchmark, both paths are taught on the surface's
`teach` frames and score its `test` frames:
- FP32: the PyTorch network (the state the ONNX file was exported from)
  and a NumPy/PyTorch transcription of core/anomaly.c (q8.h gives the
  formulas): with --method knn (the default) the memory bank, each cell's
  squared distance to the nearest teaching feature within 1 cell; with
  gaussian the per-cell mean and shrunk variance; then the 3x3-smoothed
  map, its maximum, the leave-one-out threshold;
- int8: what ships — `q8 teach` and `q8 score` on the .q8 (with --method
  if given, else the .q8's own anomaly.method).
Metrics: image AUROC (frame score vs label), pixel AUROC (the cell map
upsampled bilinearly to the frame vs the defect mask, over all test
frames) and F1 of "score > threshold" at the threshold each path stored.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# core/anomaly.c's defaults (q8_teach_params_init).
RADIUS = 1
SHRINK = 8
QUANTILE = 1.0
MARGIN = 1.25


def load_luma(path):
    """BT.601 full-range luma / 255, as GStreamer's videoconvert gives
    q8 teach and q8 score."""
    a = np.asarray(Image.open(path).convert("RGB"), np.float64)
    y = 0.299 * a[..., 0] + 0.587 * a[..., 1] + 0.114 * a[..., 2]
    return (np.floor(y + 0.5) / 255.0).astype(np.float32)


def smooth_max(d):
    """3x3 box mean over the cells inside the grid, and its maximum."""
    gh, gw = d.shape
    p = np.pad(d, 1)
    ones = np.pad(np.ones_like(d), 1)
    s = sum(p[i:i + gh, j:j + gw] for i in range(3) for j in range(3))
    n = sum(ones[i:i + gh, j:j + gw] for i in range(3) for j in range(3))
    m = s / n
    return m, float(m.max())


def teach(feats, shrink=SHRINK, quantile=QUANTILE, margin=MARGIN,
          floor=1e-12):
    """feats (n, gh, gw, C) float64 -> (mean, var, threshold)."""
    n = feats.shape[0]
    s1, s2 = feats.sum(0), (feats ** 2).sum(0)
    mean = s1 / n
    var = np.maximum(0, s2 / n - mean ** 2)
    mch = mean.mean(axis=(0, 1))
    vch = (var + (mean - mch) ** 2).mean(axis=(0, 1))
    shrunk = (n * var + shrink * vch) / (n + shrink) + floor
    loo = []
    for i in range(n):
        f = feats[i]
        mo = (s1 - f) / (n - 1)
        vo = np.maximum(0, (s2 - f * f) / (n - 1) - mo ** 2)
        vo = ((n - 1) * vo + shrink * vch) / (n - 1 + shrink) + floor
        d = ((f - mo) ** 2 / vo).mean(-1)
        loo.append(smooth_max(d)[1])
    loo = np.sort(loo)
    rank = max(int(np.ceil(quantile * n)), 1) - 1
    return mean, shrunk, float(loo[min(rank, n - 1)] * margin)


def score(mean, var, f):
    d = ((f - mean) ** 2 / var).mean(-1)
    return smooth_max(d)


def auroc(pos, neg):
    """Mann-Whitney AUROC with ties counted half."""
    s = np.concatenate([pos, neg])
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), np.float64)
    sorted_s = s[order]
    # Average ranks over ties.
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    r_pos = ranks[:len(pos)].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2)
                 / (len(pos) * len(neg)))


def pixel_auroc(maps, masks, size):
    """maps: list of (gh, gw) cell maps; masks: (size, size) bool."""
    vals, labs = [], []
    for m, k in zip(maps, masks):
        up = np.asarray(Image.fromarray(m.astype(np.float32), "F").resize(
            (size, size), Image.BILINEAR))
        vals.append(up.ravel())
        labs.append(k.ravel())
    v, lab = np.concatenate(vals), np.concatenate(labs)
    # Subsample normal pixels evenly (every 4th) to bound memory; all
    # defective pixels are kept.
    neg = v[~lab][::4]
    return auroc(v[lab], neg)


def by_type(scores, tests):
    """Image AUROC of each defect type's frames against all normal ones."""
    lab = np.array([t["label"] == 1 for t in tests])
    neg = scores[~lab]
    types = sorted({t["type"] for t in tests if t["label"] == 1})
    return {ty: auroc(scores[[i for i, t in enumerate(tests)
                              if t["label"] == 1 and t["type"] == ty]], neg)
            for ty in types}


def f1(scores, labels, thr):
    pred = scores > thr
    tp = np.sum(pred & labels)
    fp = np.sum(pred & ~labels)
    fn = np.sum(~pred & labels)
    return float(2 * tp / max(2 * tp + fp + fn, 1))


class Fp32:
    def __init__(self, pt):
        import torch
        import train_anomaly
        torch.set_num_threads(1)
        state = torch.load(pt)
        m = train_anomaly.Trainer(len(__import__("anomaly_data")
                                      .surfaces("train")),
                                  taps=16 + state["features.tap2.weight"]
                                  .shape[0]
                                  if "features.tap2.weight" in state else 0)
        if "features.coarse.0.weight" not in state:  # --fine-only
            m.features.drop_coarse()
        # Only the features are needed; heads added later may be absent.
        m.load_state_dict(state, strict=False)
        self.net = m.features.eval()
        self.torch = torch

    def features(self, paths):
        out = []
        with self.torch.no_grad():
            for i in range(0, len(paths), 16):
                x = np.stack([load_luma(p) for p in paths[i:i + 16]])[:, None]
                f = self.net(self.torch.from_numpy(x)).numpy()
                out.append(f.transpose(0, 2, 3, 1).astype(np.float64))
        return np.concatenate(out)


def q8_output_scale(tool, q8):
    """The scale of the .q8's output 0 (q8 info)."""
    import re
    out = subprocess.run([tool, "info", q8], check=True, capture_output=True,
                         text=True).stdout
    return float(re.search(r"^\s*0\s+'[^']*'\s+s8\s+\d+ channels\s+scale "
                           r"([0-9.eE+-]+)", out, re.M).group(1))


def link_dir(paths, d):
    """A directory of symlinks to paths, in order (q8 reads a directory
    in name order)."""
    os.makedirs(d, exist_ok=True)
    for i, p in enumerate(paths):
        os.symlink(os.path.abspath(p), os.path.join(d, f"{i:06d}.png"))
    return d


def knn_fp32(tf, xf, radius=RADIUS):
    """core/anomaly.c's memory bank on FP32 features: tf (n, gh, gw, C)
    teaching, xf (m, ...) test -> (test scores, test maps, threshold)."""
    import anomaly_tune
    c = tf.shape[-1]
    loo = anomaly_tune.knn_min(tf, tf, radius, self_index=True) / c
    d = anomaly_tune.knn_min(tf, xf, radius) / c
    thr = MARGIN * max(smooth_max(x)[1] for x in loo)
    maps, sc = zip(*(smooth_max(x) for x in d))
    return np.array(sc), list(maps), thr


def run_int8(tool, q8, teach_paths, test_paths, tmp, method=None):
    scene = os.path.join(tmp, "scene.q8")
    subprocess.run([tool, "teach", q8, "--data",
                    link_dir(teach_paths, os.path.join(tmp, "teach")),
                    "-o", scene, "--threads", "1"]
                   + (["--method", method] if method else []), check=True,
                   stdout=subprocess.DEVNULL)
    maps = os.path.join(tmp, "maps")
    os.makedirs(maps)
    out = subprocess.run([tool, "score", scene, "--json", "--maps", maps,
                          "--threads", "1", "--data",
                          link_dir(test_paths, os.path.join(tmp, "test"))],
                         check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    scores = np.array([r["score"] for r in rows])
    thr = rows[0]["threshold"]
    cell_maps = [np.load(os.path.join(maps, f"{i:06d}.npy"))
                 for i in range(len(rows))]
    return scores, cell_maps, thr


def heat_picture(rows, out, size):
    """rows: (image path, cell map, mask, threshold); each row is the frame,
    the frame with the int8 heat map blended in (red where the map is at
    or above the threshold, fading below it), and the true mask outline."""
    tiles = []
    for path, m, mask, thr in rows:
        img = np.asarray(Image.open(path).convert("RGB"), np.float32)
        up = np.asarray(Image.fromarray(m.astype(np.float32), "F").resize(
            (size, size), Image.BILINEAR))
        a = np.clip(up / max(thr, 1e-6), 0, 1)[..., None] ** 2 * 0.7
        heat = img * (1 - a) + np.array([255, 0, 0], np.float32) * a
        k = mask
        inner = k[1:-1, 1:-1] & k[:-2, 1:-1] & k[2:, 1:-1] & k[1:-1, :-2] \
            & k[1:-1, 2:]
        edge = k.copy()
        edge[1:-1, 1:-1] &= ~inner
        outl = img.copy()
        outl[edge] = [255, 255, 0]
        tiles.append(np.concatenate([img, heat, outl], axis=1))
    pic = np.concatenate(tiles, axis=0).astype(np.uint8)
    Image.fromarray(pic).save(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", required=True)
    ap.add_argument("--pt", help="FP32 state (train_anomaly.py --pt)")
    ap.add_argument("--q8", help="the int8 .q8 feature model")
    ap.add_argument("--q8-tool", default="build/cli/q8")
    ap.add_argument("--method", choices=("knn", "gaussian"),
                    help="teaching method (default: the .q8's; FP32: knn)")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--picture", help="PNG: defects of three surfaces, "
                    "each beside its int8 heat map and its true outline")
    args = ap.parse_args()

    index = json.load(open(os.path.join(args.bench, "index.json")))
    fp32 = Fp32(args.pt) if args.pt else None
    # The FP32 path uses the variance floor of core/anomaly.c, the
    # variance of rounding to the int8 feature grid (a channel that is
    # constant on a surface would otherwise score any change as ~1e12).
    floor = (q8_output_scale(args.q8_tool, args.q8) ** 2 / 12 if args.q8
             else 1e-12)
    results = {}
    picture_rows = []
    by_surface = {}
    for t in index["test"]:
        by_surface.setdefault(t["surface"], []).append(t)
    for surf, tests in by_surface.items():
        teach_paths = [os.path.join(args.bench, p)
                       for p in index["teach"][surf]]
        test_paths = [os.path.join(args.bench, t["path"]) for t in tests]
        labels = np.array([t["label"] == 1 for t in tests])
        size = Image.open(test_paths[0]).size[0]
        masks = []
        for t in tests:
            if t["label"] == 1:
                k = np.asarray(Image.open(os.path.join(
                    args.bench, t["mask"])).convert("L")) > 127
            else:
                k = np.zeros((size, size), bool)
            masks.append(k)
        r = {}
        if fp32 is not None and args.method != "gaussian":
            sc, maps, thr = knn_fp32(fp32.features(teach_paths),
                                     fp32.features(test_paths))
        elif fp32 is not None:
            tf = fp32.features(teach_paths)
            mean, var, thr = teach(tf, floor=floor)
            sc, maps = [], []
            for f in fp32.features(test_paths):
                m, s = score(mean, var, f)
                sc.append(s)
                maps.append(m)
            sc = np.array(sc)
        if fp32 is not None:
            r["fp32"] = {"image_auroc": auroc(sc[labels], sc[~labels]),
                         "pixel_auroc": pixel_auroc(maps, masks, size),
                         "f1": f1(sc, labels, thr), "threshold": thr,
                         "by_type": by_type(sc, tests)}
        if args.q8:
            with tempfile.TemporaryDirectory() as tmp:
                sc, maps, thr = run_int8(args.q8_tool, args.q8, teach_paths,
                                         test_paths, tmp, args.method)
            if args.picture and len(picture_rows) < 3:
                # The first defect of the surface whose score is highest
                # relative to the threshold among the first ten.
                cand = [i for i in range(len(tests)) if labels[i]][:10]
                i = max(cand, key=lambda j: sc[j])
                picture_rows.append((test_paths[i], maps[i], masks[i], thr))
            r["int8"] = {"image_auroc": auroc(sc[labels], sc[~labels]),
                         "pixel_auroc": pixel_auroc(maps, masks, size),
                         "f1": f1(sc, labels, thr), "threshold": thr,
                         "by_type": by_type(sc, tests)}
        results[surf] = r
        print(surf, " ".join(f"{k}: img {v['image_auroc']:.3f} px "
                             f"{v['pixel_auroc']:.3f} F1 {v['f1']:.3f} "
                             f"thr {v['threshold']:.3g}"
                             for k, v in r.items()), flush=True)
    mean = {}
    for k in ("fp32", "int8"):
        rs = [r[k] for r in results.values() if k in r]
        if rs:
            mean[k] = {m: float(np.mean([x[m] for x in rs]))
                       for m in ("image_auroc", "pixel_auroc", "f1")}
            print(f"mean {k}: image AUROC {mean[k]['image_auroc']:.4f}, "
                  f"pixel AUROC {mean[k]['pixel_auroc']:.4f}, "
                  f"F1 {mean[k]['f1']:.4f}")
            types = rs[0]["by_type"].keys()
            mean[k]["by_type"] = {ty: float(np.mean([x["by_type"][ty]
                                                     for x in rs]))
                                  for ty in types}
            print(f"mean {k} by type: " + ", ".join(
                f"{ty} {v:.3f}" for ty, v in mean[k]["by_type"].items()))
    if args.picture and picture_rows:
        heat_picture(picture_rows, args.picture, size)
    if args.json:
        json.dump({"surfaces": results, "mean": mean}, open(args.json, "w"),
                  indent=1)


if __name__ == "__main__":
    main()
