#!/usr/bin/python3
"""Fast iteration on the anomaly scoring rules, on cached features.

  # once: FP32 (PyTorch, weights read from the ONNX file) and int8
  # (`q8 run` on the .q8) features of every frame of a benchmark
  /usr/bin/python3 models/anomaly_tune.py cache --bench /tmp/bench_val \\
      --onnx models/anomaly_features.onnx --q8 models/anomaly_features.q8 \\
      -o /tmp/feat_val
  # then: the table of scoring variants (image AUROC, pixel AUROC, F1)
  /usr/bin/python3 models/anomaly_tune.py table --feats /tmp/feat_val \\
      --bench /tmp/bench_val [--variants base,corr,...]

The variants are NumPy versions of candidate scoring rules for
core/anomaly.c; `base` is anomaly_eval.py's transcription of the shipped
one.  The int8 features are the dequantized output of the int8 network
itself (q8 run), so int8 numbers here are what q8 teach/score would give
up to float rounding.
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
import anomaly_eval as ev  # noqa: E402


# ---------------------------------------------------------------- caching

def torch_from_onnx(path):
    """train_anomaly.Features with the weights of an exported ONNX file
    (the equalized state that was converted)."""
    import onnx
    import onnx.numpy_helper
    import torch
    import train_anomaly
    torch.set_num_threads(1)
    init = {i.name: onnx.numpy_helper.to_array(i)
            for i in onnx.load(path).graph.initializer}
    net = train_anomaly.Features(
        taps=16 + init["tap2.weight"].shape[0] if "tap2.weight" in init
        else 0)
    if "coarse.0.weight" not in init:  # a --fine-only export
        net.drop_coarse()
    sd = net.state_dict()
    missing = [k for k in sd if k not in init]
    if missing:
        raise SystemExit(f"ONNX initializers lack {missing}")
    net.load_state_dict({k: torch.from_numpy(init[k].copy()) for k in sd})
    return net.eval()


def state(args):
    """The ONNX file's weights as a train_anomaly.py state (.pt), for
    train_anomaly.py --export-only."""
    import torch
    net = torch_from_onnx(args.onnx)
    torch.save({"features." + k: v for k, v in net.state_dict().items()},
               args.output)


# Candidate extra features from the stem of a 64-feature network (raw,
# not equalized; the statistics standardize them anyway): m = max pool,
# a = average pool, 1 / 2 = the first / second layer (ReLU), h = the
# stem's output (48 channels at 64x64), mh = its 3x3 max.
TAPS = ("m1", "m2", "a1", "a2", "h", "mh")


def stem_taps(net, x):
    import torch.nn.functional as F
    s = net.stem
    l1 = s[1](s[0](x))
    l2 = s[3](s[2](l1))
    h = s[5](s[4](l2))
    return {"m1": F.max_pool2d(l1, 4), "m2": F.max_pool2d(l2, 2),
            "a1": F.avg_pool2d(l1, 4), "a2": F.avg_pool2d(l2, 2), "h": h,
            "mh": F.max_pool2d(h, 3, 1, 1)}


def frame_lists(bench):
    index = json.load(open(os.path.join(bench, "index.json")))
    by = {}
    for t in index["test"]:
        by.setdefault(t["surface"], []).append(t)
    return index, by


def cache(args):
    import torch
    index, by = frame_lists(args.bench)
    net = torch_from_onnx(args.onnx) if args.onnx else None
    os.makedirs(args.output, exist_ok=True)
    for surf, tests in by.items():
        paths = ([os.path.join(args.bench, p) for p in index["teach"][surf]]
                 + [os.path.join(args.bench, t["path"]) for t in tests])
        if net is not None:
            out = []
            taps = {k: [] for k in TAPS}
            with torch.no_grad():
                for i in range(0, len(paths), 16):
                    x = torch.from_numpy(np.stack([
                        ev.load_luma(p) for p in paths[i:i + 16]])[:, None])
                    out.append(net(x).numpy().transpose(0, 2, 3, 1))
                    if args.taps:
                        for k, v in stem_taps(net, x).items():
                            taps[k].append(v.numpy().transpose(0, 2, 3, 1))
            np.save(os.path.join(args.output, f"{surf}_fp32.npy"),
                    np.concatenate(out).astype(np.float32))
            for k, v in taps.items():
                if v:
                    np.save(os.path.join(args.output, f"{surf}_{k}.npy"),
                            np.concatenate(v).astype(np.float32))
        if args.q8:
            out = []
            with tempfile.TemporaryDirectory() as tmp:
                src, dst = os.path.join(tmp, "in.npy"), \
                    os.path.join(tmp, "out.npy")
                for p in paths:
                    np.save(src, ev.load_luma(p))
                    subprocess.run([args.q8_tool, "run", args.q8, src, dst,
                                    "--threads", "1"], check=True,
                                   stdout=subprocess.DEVNULL)
                    out.append(np.load(dst)[0].transpose(1, 2, 0))
            np.save(os.path.join(args.output, f"{surf}_int8.npy"),
                    np.stack(out).astype(np.float32))
        print(surf, len(paths), "frames", flush=True)


# ---------------------------------------------------------------- scoring

def box(d, r):
    """(2r+1)^2 box mean over the cells inside the grid; d (..., gh, gw)."""
    if r == 0:
        return d
    gh, gw = d.shape[-2:]
    pad = [(0, 0)] * (d.ndim - 2) + [(r, r), (r, r)]
    p = np.pad(d, pad)
    o = np.pad(np.ones((gh, gw)), r)
    s = sum(p[..., i:i + gh, j:j + gw] for i in range(2 * r + 1)
            for j in range(2 * r + 1))
    n = sum(o[i:i + gh, j:j + gw] for i in range(2 * r + 1)
            for j in range(2 * r + 1))
    return s / n


LINES = {  # offsets of the 4 orientations of a line of 2r+1 cells
    "h": lambda r: [(0, k) for k in range(-r, r + 1)],
    "v": lambda r: [(k, 0) for k in range(-r, r + 1)],
    "d": lambda r: [(k, k) for k in range(-r, r + 1)],
    "a": lambda r: [(k, -k) for k in range(-r, r + 1)],
}


def line_max(d, r):
    """max over 4 orientations of the mean over a line of 2r+1 cells
    (cells inside the grid)."""
    gh, gw = d.shape[-2:]
    pad = [(0, 0)] * (d.ndim - 2) + [(r, r), (r, r)]
    p = np.pad(d, pad)
    o = np.pad(np.ones((gh, gw)), r)
    best = None
    for off in LINES.values():
        offs = off(r)
        s = sum(p[..., r + dy:r + dy + gh, r + dx:r + dx + gw]
                for dy, dx in offs)
        n = sum(o[r + dy:r + dy + gh, r + dx:r + dx + gw] for dy, dx in offs)
        m = s / n
        best = m if best is None else np.maximum(best, m)
    return best


def smooth(d, how):
    if how == "box1":
        return box(d, 1)
    if how == "none":
        return d
    if how.startswith("line"):
        return line_max(d, int(how[4:]))
    if how.startswith("box"):
        return box(d, int(how[3:]))
    if how.startswith("mix"):  # max(box1, line r)
        return np.maximum(box(d, 1), line_max(d, int(how[3:])))
    raise ValueError(how)


class Stats:
    """Per-cell moments of the teaching features, with exact leave-one-out
    versions (as core/anomaly.c)."""

    def __init__(self, t, shrink, floor):
        n = t.shape[0]
        self.n, self.k, self.floor = n, shrink, floor
        self.s1 = t.sum(0, dtype=np.float64)
        self.s2 = (t.astype(np.float64) ** 2).sum(0)
        self.mean = self.s1 / n
        var = np.maximum(0, self.s2 / n - self.mean ** 2)
        mch = self.mean.mean(axis=(0, 1))
        self.vch = (var + (self.mean - mch) ** 2).mean(axis=(0, 1))
        self.var = self.shrunk(var, n)

    def shrunk(self, v, n):
        return (n * v + self.k * self.vch) / (n + self.k) + self.floor

    def loo(self, f):
        m1 = self.n - 1
        mo = (self.s1 - f) / m1
        vo = np.maximum(0, (self.s2 - f * f) / m1 - mo ** 2)
        return mo, self.shrunk(vo, m1)


def whitener(z, ridge):
    """P = (Sigma + ridge I)^-1/2 of standardized residuals z (N, C), with
    Sigma their second moment (they have mean ~0)."""
    c = z.shape[-1]
    s = np.einsum("nc,nd->cd", z, z) / z.shape[0]
    s = s + ridge * np.trace(s) / c * np.eye(c)
    w, v = np.linalg.eigh(s)
    return (v / np.sqrt(w)) @ v.T


def cell_dist(z, rule):
    """z (..., C) standardized (and maybe whitened) residual -> per-cell d."""
    z2 = z * z
    if rule == "mean":
        return z2.mean(-1)
    if rule.startswith("top"):  # mean of the k largest of C
        k = int(rule[3:])
        return np.sort(z2, axis=-1)[..., -k:].mean(-1)
    raise ValueError(rule)


def knn_min(bank, query, r, self_index=False):
    """Per cell of query (m, gh, gw, C): the least squared distance to
    bank (n, gh, gw, C) features within +-r cells; with self_index
    (query is bank) a frame's own cells are excluded (leave-one-out)."""
    import torch
    torch.set_num_threads(2)
    b = torch.from_numpy(np.ascontiguousarray(bank, np.float32))
    q = torch.from_numpy(np.ascontiguousarray(query, np.float32))
    n, gh, gw, c = b.shape
    m = q.shape[0]
    # the bank padded by r cells: zero features of infinite norm
    bp = torch.zeros((n, gh + 2 * r, gw + 2 * r, c))
    bp[:, r:r + gh, r:r + gw] = b
    bbp = torch.full((n, gh + 2 * r, gw + 2 * r), float("inf"))
    bbp[:, r:r + gh, r:r + gw] = (b * b).sum(-1)
    qc = q.reshape(m, gh * gw, c).permute(1, 0, 2).contiguous()  # (cells, m, C)
    qq = (q * q).sum(-1).reshape(m, gh * gw).T.contiguous()      # (cells, m)
    best = torch.full((gh * gw, m), float("inf"))
    step = 512
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            bs = bp[:, r + dy:r + dy + gh, r + dx:r + dx + gw]
            bc = bs.reshape(n, gh * gw, c).permute(1, 2, 0).contiguous()
            bb = bbp[:, r + dy:r + dy + gh, r + dx:r + dx + gw].reshape(
                n, gh * gw).T.contiguous()                       # (cells, n)
            for i in range(0, gh * gw, step):
                d = torch.baddbmm(bb[i:i + step, None, :],
                                  qc[i:i + step], bc[i:i + step], alpha=-2)
                d += qq[i:i + step, :, None]
                if self_index:
                    d.diagonal(dim1=1, dim2=2).fill_(float("inf"))
                torch.minimum(best[i:i + step], d.min(-1).values,
                              out=best[i:i + step])
    return best.clamp_min(0).T.reshape(m, gh, gw).numpy().astype(np.float64)


def run_knn(teach, test, v):
    """Memory bank: per cell, the least squared distance (features scaled
    per channel by their spread over the teaching frames) to any teaching
    frame's feature within +-knn cells."""
    r = v["knn"]
    if "ch" in v:  # a channel range "a-b"
        a, b = (int(x) for x in str(v["ch"]).split("-"))
        teach, test = teach[..., a:b], test[..., a:b]
    if "w" in v:  # weight the channels from index a on: "a/w"
        a, w = str(v["w"]).split("/")
        wt = np.ones(teach.shape[-1], np.float32)
        wt[int(a):] = float(w)
        teach, test = teach * wt, test * wt
    t = teach.astype(np.float64)
    if v.get("std", 1):
        sd = np.sqrt(t.reshape(-1, t.shape[-1]).var(0) + 1e-6)
    else:
        sd = np.ones(t.shape[-1])
    keep = v.get("bank", teach.shape[0])
    tb = (teach / sd).astype(np.float32)
    qs = (test / sd).astype(np.float32)
    c = teach.shape[-1]
    bank = tb[:keep]
    dl = knn_min(bank, tb, r, self_index=True) / c
    if keep < teach.shape[0]:  # frames beyond the bank: not self
        dl[keep:] = knn_min(bank, tb[keep:], r) / c
    dt = knn_min(bank, qs, r) / c
    how = v.get("smooth", "box1")
    ml, mt = smooth(dl, how), smooth(dt, how)
    n = teach.shape[0]
    return ml.reshape(n, -1).max(1), mt.reshape(len(test), -1).max(1), mt


def run_variant(teach, test, v, floor):
    """teach (n, gh, gw, C), test (m, gh, gw, C) -> (teach LOO scores,
    test scores, test maps)."""
    if "knn" in v:
        return run_knn(teach, test, v)
    if v.get("q"):  # emulate the int8 output grid of step q
        q = v["q"]
        teach = np.round(teach / q) * q
        test = np.round(test / q) * q
        floor = max(floor, q * q / 12)
    floor = max(floor, v.get("floor", 0))
    st = Stats(teach, v.get("shrink", 8), floor)
    n = teach.shape[0]
    zs = []
    for i in range(n):
        mo, vo = st.loo(teach[i].astype(np.float64))
        zs.append(((teach[i] - mo) / np.sqrt(vo)).astype(np.float32))
    zl = np.stack(zs)
    zt = ((test - st.mean) / np.sqrt(st.var)).astype(np.float32)
    if v.get("white"):
        c = teach.shape[-1]
        sub = zl.reshape(-1, c)[::v.get("sub", 1)]
        p = whitener(sub.astype(np.float64), v.get("ridge", 0.0)).astype(
            np.float32)
        zl = zl @ p
        zt = zt @ p
    rule = v.get("cell", "mean")
    how = v.get("smooth", "box1")
    ml = smooth(cell_dist(zl, rule), how)
    mt = smooth(cell_dist(zt, rule), how)
    return ml.reshape(n, -1).max(1), mt.reshape(len(test), -1).max(1), mt


VARIANTS = {
    "base": {},
    "none": {"smooth": "none"},
    "line1": {"smooth": "line1"},
    "line2": {"smooth": "line2"},
    "mix2": {"smooth": "mix2"},
    "k2": {"shrink": 2},
    "k32": {"shrink": 32},
    "k100": {"shrink": 100},
    "top16": {"cell": "top16"},
    "top8": {"cell": "top8"},
    "white": {"white": 1, "sub": 4},
    "white_r01": {"white": 1, "sub": 4, "ridge": 0.01},
    "white_none": {"white": 1, "sub": 4, "smooth": "none"},
    "white_line1": {"white": 1, "sub": 4, "smooth": "line1"},
    "white_line2": {"white": 1, "sub": 4, "smooth": "line2"},
    "white_top16": {"white": 1, "sub": 4, "cell": "top16"},
}


def parse_variant(s):
    """'name' of VARIANTS or 'key=value,key=value' (white=1 sub=4
    smooth=line1 cell=top16 shrink=8 ridge=0.01 margin=1.25)."""
    if s in VARIANTS:
        return dict(VARIANTS[s])
    v = {}
    for kv in s.split(":"):
        k, val = kv.split("=")
        try:
            v[k] = float(val) if "." in val else int(val)
        except ValueError:
            v[k] = val
    return v


def table(args):
    index, by = frame_lists(args.bench)
    size = index["size"]
    masks = {}
    for surf, tests in by.items():
        ms = []
        for t in tests:
            if t["label"] == 1:
                ms.append(np.asarray(Image.open(os.path.join(
                    args.bench, t["mask"])).convert("L")) > 127)
            else:
                ms.append(np.zeros((size, size), bool))
        masks[surf] = ms
    res = {}
    for prec in args.prec.split(","):
        for surf, tests in by.items():
            parts = [np.load(os.path.join(args.feats, f"{surf}_{p}.npy"))
                     for p in prec.split("+")]
            f = np.concatenate(parts, -1) if len(parts) > 1 else parts[0]
            nt = len(index["teach"][surf])
            teach, test = f[:nt], f[nt:]
            # The rounding floor of core/anomaly.c: the int8 step.
            if prec == "int8":
                u = np.unique(np.abs(np.diff(np.unique(teach[0]))))
                floor = float(u[u > 1e-9].min()) ** 2 / 12
            else:
                floor = 1e-6
            lab = np.array([t["label"] == 1 for t in tests])
            for name in args.variants.split(","):
                v = parse_variant(name)
                ls, ts, maps = run_variant(teach, test, v, floor)
                thr = float(ls.max() * v.get("margin", 1.25))
                r = res.setdefault((prec, name), {"rows": [], "types": {}})
                r["rows"].append((ev.auroc(ts[lab], ts[~lab]),
                                  ev.pixel_auroc(list(maps), masks[surf],
                                                 size)
                                  if not args.no_pixel else float("nan"),
                                  ev.f1(ts, lab, thr)))
                for ty, a in ev.by_type(ts, tests).items():
                    r["types"].setdefault(ty, []).append(a)
            del f, teach, test, parts
    for (prec, name), r in res.items():
        rows, types = r["rows"], r["types"]
        m = np.mean(rows, 0)
        print(f"{prec:10s} {name:28s} img {m[0]:.4f} px {m[1]:.4f} "
              f"F1 {m[2]:.4f} | " + " ".join(
                  f"{ty[:5]} {np.mean(a):.3f}"
                  for ty, a in types.items()) + " | per surface img "
              + " ".join(f"{x[0]:.3f}" for x in rows), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cache")
    c.add_argument("--bench", required=True)
    c.add_argument("--onnx")
    c.add_argument("--q8")
    c.add_argument("--q8-tool", default="build/cli/q8")
    c.add_argument("--taps", action="store_true",
                   help="also cache the candidate stem taps (TAPS)")
    c.add_argument("-o", "--output", required=True)
    c = sub.add_parser("state")
    c.add_argument("--onnx", required=True)
    c.add_argument("-o", "--output", required=True)
    t = sub.add_parser("table")
    t.add_argument("--bench", required=True)
    t.add_argument("--feats", required=True)
    t.add_argument("--prec", default="fp32")
    t.add_argument("--variants", default="base")
    t.add_argument("--no-pixel", action="store_true")
    args = ap.parse_args()
    {"cache": cache, "table": table, "state": state}[args.cmd](args)


if __name__ == "__main__":
    main()
