#!/usr/bin/python3
"""Calibration and evaluation data for the ESPCN recipes, and the PSNR
table: FP32 (PyTorch), int8 (`q8 run` on the .q8) and bicubic, on the
validation photos (models/README.md).

  sr_eval.py calib --scale 3 -o DIR     LR crops of the training photos
                                        as .npy, for q8 convert --calib
  sr_eval.py heldout --scale 3 -o DIR   LR crops of the validation photos
                                        as .npy, for q8 compare --data
  sr_eval.py picture --scale 3 --q8 M.q8 -o OUT.png   bicubic | int8 |
                                        original, a crop of a validation photo
  sr_eval.py psnr --scale 3 --pt M.pt [--act/--bn/--skip/--width/--mid
             as trained]
             --q8 LABEL=M.q8 [--q8 ...] [--q8-tool build/cli/q8]
             [--prescale F]   diagnostic, not the metric: each validation
                              photo first shrunk by F, as the training
                              photos are
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sr_data  # noqa: E402
from train_espcn import ESPCN  # noqa: E402

CROP = 96  # LR crop side for calibration and held-out tensors


def crops(images, r, n, seed):
    rng = np.random.default_rng(seed)
    lrs = [sr_data.degrade(y, r)[1] for _, y in images]
    lrs = [lr for lr in lrs if min(lr.shape) >= CROP]
    out = []
    for i in range(n):
        lr = lrs[i % len(lrs)]
        y0 = rng.integers(0, lr.shape[0] - CROP + 1)
        x0 = rng.integers(0, lr.shape[1] - CROP + 1)
        out.append(lr[y0:y0 + CROP, x0:x0 + CROP])
    return out


def write_npys(arrays, d):
    os.makedirs(d, exist_ok=True)
    for i, a in enumerate(arrays):
        np.save(os.path.join(d, "%04d.npy" % i),
                a[None, None].astype(np.float32))


def load_pt(path, r, act, bn, skip, width=(64, 32), mid=0):
    model = ESPCN(r, act=act, bn=bn, skip=skip, width=width, mid=mid)
    model.load_state_dict(torch.load(path))
    model.eval()
    return model


def q8_run(tool, model, lr, tmp):
    i, o = os.path.join(tmp, "in.npy"), os.path.join(tmp, "out.npy")
    np.save(i, lr[None, None].astype(np.float32))
    subprocess.run([tool, "run", model, i, o], check=True)
    return np.load(o)[0, 0]


def picture(args):
    """Bicubic, int8 ESPCN (q8 run) and the original side by side, each
    crop shown at 2x with nearest neighbour so pixels stay visible."""
    from PIL import Image
    r = args.scale
    y = dict(sr_data.val_images())[args.image]
    hr, lr = sr_data.degrade(y, r)
    path = args.q8[0].split("=", 1)[-1]  # LABEL=MODEL.q8 or MODEL.q8
    with tempfile.TemporaryDirectory() as tmp:
        net = q8_run(args.q8_tool, path, lr, tmp)
    x0, y0, side = (int(v) for v in args.crop.split(","))
    tiles = [sr_data.bicubic_up(lr, r), net, hr]
    gap = 4
    zoom = 2
    out = np.ones((side * zoom, 3 * side * zoom + 2 * gap), np.float32)
    for i, t in enumerate(tiles):
        c = np.clip(t[y0:y0 + side, x0:x0 + side], 0, 1)
        c = np.kron(c, np.ones((zoom, zoom), np.float32))
        out[:, i * (side * zoom + gap):i * (side * zoom + gap) + side * zoom] = c
    Image.fromarray((out * 255 + 0.5).astype(np.uint8)).save(args.output)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=("calib", "heldout", "psnr", "picture"))
    ap.add_argument("--image", default="astronaut.png")
    ap.add_argument("--crop", default="170,40,150",
                    help="x,y,side of the HR crop")
    ap.add_argument("--scale", type=int, required=True)
    ap.add_argument("-o", "--output")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--pt", help="FP32 PyTorch state (train_espcn.py)")
    ap.add_argument("--act", default="tanh", choices=("tanh", "relu"))
    ap.add_argument("--bn", action="store_true")
    ap.add_argument("--skip", action="store_true")
    ap.add_argument("--width", default="64,32")
    ap.add_argument("--mid", type=int, default=0)
    ap.add_argument("--q8", action="append", default=[],
                    help="LABEL=MODEL.q8 (repeatable)")
    ap.add_argument("--q8-tool", default="build/cli/q8")
    ap.add_argument("--prescale", type=float, default=1.0)
    args = ap.parse_args()
    r = args.scale

    if args.what == "calib":
        write_npys(crops(sr_data.train_images(), r, args.n, 1), args.output)
        return
    if args.what == "heldout":
        write_npys(crops(sr_data.val_images(), r, args.n, 2), args.output)
        return

    if args.what == "picture":
        picture(args)
        return
    width = tuple(int(v) for v in args.width.split(","))
    model = (load_pt(args.pt, r, args.act, args.bn, args.skip, width,
                     args.mid) if args.pt else None)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, y in sr_data.val_images():
            if args.prescale != 1.0:
                y = sr_data.shrink(y, args.prescale)
            hr, lr = sr_data.degrade(y, r)
            row = {"image": name,
                   "bicubic": sr_data.psnr_y(sr_data.bicubic_up(lr, r), hr, r)}
            if model is not None:
                with torch.no_grad():
                    out = model(torch.from_numpy(lr)[None, None])[0, 0]
                row["fp32"] = sr_data.psnr_y(out.numpy(), hr, r)
            for spec in args.q8:
                label, path = spec.split("=", 1)
                row[label] = sr_data.psnr_y(q8_run(args.q8_tool, path, lr,
                                                   tmp), hr, r)
            rows.append(row)
    keys = [k for k in rows[0] if k != "image"]
    print("%-22s" % "image" + "".join("%12s" % k for k in keys))
    for row in rows:
        print("%-22s" % row["image"]
              + "".join("%12.3f" % row[k] for k in keys))
    print("%-22s" % "mean" + "".join(
        "%12.3f" % np.mean([row[k] for row in rows]) for k in keys))


if __name__ == "__main__":
    main()
