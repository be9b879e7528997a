#!/usr/bin/python3
"""Quantization-aware fine-tuning of the anomaly feature network by
distillation: a copy of the FP32 network, fake-quantized as q8 runs it,
learns to reproduce the FP32 network's features; exported as ONNX with
QuantizeLinear/DequantizeLinear pairs that `q8 convert` imports.

  q8 convert models/anomaly_features.onnx ... --report /tmp/ptq.json
  qat_anomaly.py --onnx models/anomaly_features.onnx --grids /tmp/ptq.json \
      -o /tmp/af_qat.onnx

There are no labels here: the FP32 network is the reference the int8
one is measured against, so the int8 network is taught to agree with it
on training crops (the same `train` textures it was trained on).  The
quantization scheme is qat_espcn.py's (core/ARITHMETIC.md): int8
per-output-channel weights, per-tensor activations, the input on the
8-bit pixel grid.  With --grids the activation grids
are fixed to those `q8 convert` calibrated for the FP32 network (its
--report JSON); without, they follow the batches' ranges (an EMA, as
qat_espcn.py), which clips the rarer extremes of whole frames that PTQ's
calibration keeps.  The features' fine and coarse halves share the
features' grid, as the concatenation needs.

Measured (models/README.md): on the shipped fine-only network, 1000
steps (about 2.5 minutes here) raise the features' SQNR on val normal
frames from 34.6 to 38.1 dB and bring int8 F1 to 0.14 points of FP32
(PTQ: 0.43).  On the 64-feature network the feature error halved but
the val scores did not move.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anomaly_data  # noqa: E402
from anomaly_tune import torch_from_onnx  # noqa: E402
from qat_espcn import PIXEL_SCALE, PIXEL_ZP, ActFQ, QConv, weight_scale  # noqa: E402,E501
from train_anomaly import INPUT  # noqa: E402


class QFeatures(nn.Module):
    """train_anomaly.Features (without taps) with every tensor
    fake-quantized where q8 quantizes it; ReLU is fused into each
    convolution's clamp, so each hidden layer has one grid."""

    def __init__(self, f, grids):
        """grids: tensor name -> (scale, zero point), or {} for EMA
        ranges."""
        super().__init__()

        def act(name):
            return ActFQ(fixed=grids[name]) if grids else ActFQ()

        st = f.stem
        self.fine_only = f.fine_only
        self.stem = nn.ModuleList(QConv(st[i]) for i in (0, 2, 4))
        self.fine = QConv(f.fine)
        self.q_in = ActFQ(fixed=(PIXEL_SCALE, PIXEL_ZP))
        self.q_stem = nn.ModuleList(
            act(f"/stem/stem.{i}/Relu_output_0")
            for i in (1, 3, 5))
        self.q_out = act("features")
        if not self.fine_only:
            co = f.coarse
            self.coarse = nn.ModuleList(QConv(co[i]) for i in (0, 2, 4))
            self.q_coarse = nn.ModuleList(
                act(f"/coarse/coarse.{i}/Relu_output_0")
                for i in (1, 3))

    def forward(self, x):
        h = self.q_in(x)
        for c, q in zip(self.stem, self.q_stem):
            h = q(torch.relu(c(h)))
        fine = self.fine(h)
        if self.fine_only:
            return self.q_out(fine)
        c = h
        for conv, q in zip(self.coarse[:2], self.q_coarse):
            c = q(torch.relu(conv(c)))
        c = self.coarse[2](c)
        if self.training and self.q_out.fixed is None:
            # One EMA observation over both halves: quantizing the
            # concatenation equals concatenating the quantized halves.
            up = F.interpolate(c, scale_factor=2, mode="nearest")
            return self.q_out(torch.cat([fine, up], dim=1))
        fine, c = self.q_out(fine), self.q_out(c)
        up = F.interpolate(c, scale_factor=2, mode="nearest")
        return torch.cat([fine, up], dim=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--onnx", required=True, help="the FP32 export")
    ap.add_argument("--grids", metavar="REPORT.json",
                    help="q8 convert --report of the FP32 export: keep "
                    "its activation grids (default: EMA ranges)")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=128)
    ap.add_argument("--pool", type=int, default=1024,
                    help="training crops drawn once (augmented)")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    fp32 = torch_from_onnx(args.onnx)
    if fp32.taps:
        raise SystemExit("the network has taps: not supported here")
    for p in fp32.parameters():
        p.requires_grad_(False)
    grids = {}
    if args.grids:
        with open(args.grids) as f:
            grids = {la["tensor"]: (la["scale"], la["zero_point"])
                     for la in json.load(f)["layers"]}
    model = QFeatures(torch_from_onnx(args.onnx), grids)

    pool, _ = anomaly_data.random_patches("train", args.pool, args.patch, rng)
    pool = torch.from_numpy(pool.astype(np.float32) / 255.0)[:, None]
    held, _ = anomaly_data.random_patches(
        "train", 32, INPUT, np.random.default_rng(args.seed + 1),
        augment=False)
    held = torch.from_numpy(held.astype(np.float32) / 255.0)[:, None]
    with torch.no_grad():
        held_ref = torch.cat([fp32(held[i:i + 8]) for i in range(0, 32, 8)])

    def batch():
        return pool[rng.integers(0, len(pool), size=args.batch)]

    def held_sqnr():
        """The features' SQNR (dB) on held-out full-size crops, as
        q8 compare reports it."""
        model.eval()
        with torch.no_grad():
            out = torch.cat([model(held[i:i + 8]) for i in range(0, 32, 8)])
        model.train()
        err = (out - held_ref).pow(2).mean()
        return float(10 * torch.log10(held_ref.pow(2).mean() / err))

    model.train()
    if not grids:  # ranges first, with the weights as they are
        with torch.no_grad():
            for _ in range(50):
                model(batch())
    print("fake-quant before fine-tuning: features SQNR %.2f dB"
          % held_sqnr(), flush=True)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    for step in range(1, args.steps + 1):
        x = batch()
        with torch.no_grad():
            ref = fp32(x)
        loss = F.mse_loss(model(x), ref)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 250 == 0 or step == args.steps:
            print("step %5d  loss %.5f  features SQNR %.2f dB  %.0f s" % (
                step, loss.item(), held_sqnr(), time.time() - t0),
                flush=True)

    model.eval()
    for q in list(model.stem) + [model.fine] + (
            [] if model.fine_only else list(model.coarse)):
        q.frozen = weight_scale(q.conv.weight)
    torch.onnx.export(
        model, torch.zeros(1, 1, INPUT, INPUT), args.output,
        opset_version=13, input_names=["y"], output_names=["features"])
    print("wrote %s (%d bytes); %.0f s" % (
        args.output, os.path.getsize(args.output), time.time() - t0))


if __name__ == "__main__":
    main()
