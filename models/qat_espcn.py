#!/usr/bin/python3
"""Quantization-aware fine-tuning of a trained ESPCN (train_espcn.py) with
fake quantization that follows q8's scheme (core/ARITHMETIC.md), exported
as ONNX with QuantizeLinear/DequantizeLinear pairs that `q8 convert`
imports with their scales.

  qat_espcn.py --scale 3 --pt models/espcn_x3.pt -o models/espcn_x3_qat.onnx

The scheme: weights int8 symmetric per output channel in [-127, 127];
every activation int8 asymmetric per tensor, its range an exponential
moving average of batch min/max (as TFLite's QAT does); the network input
and output on the 8-bit pixel grid (scale 1/255, zero point -128), which
is what q8 feeds and reads.  Rounding in the fake quantizer is PyTorch's
(half to even) where q8 rounds half up; the difference is a tie on a
measure-zero set of real values.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sr_data  # noqa: E402
from train_espcn import ESPCN, batch, pairs  # noqa: E402

PIXEL_SCALE, PIXEL_ZP = 1.0 / 255.0, -128


class ActFQ(nn.Module):
    """Per-tensor asymmetric int8 fake quantization with an EMA range; or
    a fixed grid (scale, zp) when given."""

    def __init__(self, fixed=None, momentum=0.01):
        super().__init__()
        self.fixed = fixed
        self.momentum = momentum
        self.register_buffer("lo", torch.tensor(0.0))
        self.register_buffer("hi", torch.tensor(0.0))
        self.register_buffer("seen", torch.tensor(0))

    def grid(self):
        if self.fixed is not None:
            return self.fixed
        lo, hi = min(float(self.lo), 0.0), max(float(self.hi), 0.0)
        scale = max(hi - lo, 1e-8) / 255.0
        zp = int(round(-128 - lo / scale))
        return scale, max(-128, min(127, zp))

    def forward(self, x):
        if self.training and self.fixed is None:
            lo, hi = x.detach().min(), x.detach().max()
            if int(self.seen) == 0:
                self.lo.copy_(lo)
                self.hi.copy_(hi)
            else:
                self.lo.mul_(1 - self.momentum).add_(self.momentum * lo)
                self.hi.mul_(1 - self.momentum).add_(self.momentum * hi)
            self.seen.add_(1)
        scale, zp = self.grid()
        return torch.fake_quantize_per_tensor_affine(x, scale, zp, -128, 127)


def weight_scale(w):
    amax = w.detach().abs().flatten(1).max(dim=1).values.clamp(min=1e-12)
    return (amax / 127.0).float()


def weight_fq(w, scale=None):
    """Per-output-channel symmetric int8 in [-127, 127]; scale (a constant
    for export) or computed from w."""
    if scale is None:
        scale = weight_scale(w)
    zp = torch.zeros(w.shape[0], dtype=torch.int32)
    # With scale = max|w| / 127 every rounded value is in [-127, 127]; the
    # range says -128 because ONNX export accepts only the full int8 one.
    return torch.fake_quantize_per_channel_affine(w, scale, zp, 0, -128, 127)


class QConv(nn.Module):
    def __init__(self, conv):
        super().__init__()
        self.conv = conv
        self.frozen = None  # constant weight scales for export

    def forward(self, x):
        c = self.conv
        return nn.functional.conv2d(x, weight_fq(c.weight, self.frozen),
                                    c.bias, c.stride, c.padding)


class QESPCN(nn.Module):
    """ESPCN with --skip (the shipped architecture, any --width/--mid),
    every tensor fake-quantized where q8 quantizes it.  q8 fuses ReLU into
    the convolution's clamp, so a ReLU network has one grid per layer; tanh
    is a lookup table between two grids."""

    def __init__(self, fp32):
        super().__init__()
        b = fp32.body
        self.r = fp32.r
        self.relu = isinstance(b[1], nn.ReLU)
        convs = [m for m in b if isinstance(m, nn.Conv2d)]
        self.convs = nn.ModuleList(QConv(c) for c in convs)
        self.shuffle = b[len(b) - 1]
        self.q_in = ActFQ(fixed=(PIXEL_SCALE, PIXEL_ZP))
        n = len(convs) - 1  # hidden layers
        self.q_c = nn.ModuleList(ActFQ() for _ in range(n + 1))
        self.q_t = nn.ModuleList(ActFQ() for _ in range(n))
        self.q_up = ActFQ()
        self.q_out = ActFQ(fixed=(PIXEL_SCALE, PIXEL_ZP))

    def forward(self, x):
        x = self.q_in(x)
        t = x
        for i, c in enumerate(self.convs[:-1]):
            if self.relu:
                t = self.q_t[i](torch.relu(c(t)))
            else:
                t = self.q_t[i](torch.tanh(self.q_c[i](c(t))))
        y = self.shuffle(self.q_c[-1](self.convs[-1](t)))
        up = self.q_up(nn.functional.interpolate(
            x, scale_factor=self.r, mode="bilinear", align_corners=False))
        return self.q_out(y + up)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=int, required=True, choices=(2, 3, 4))
    ap.add_argument("--pt", required=True, help="FP32 state (--skip)")
    ap.add_argument("--act", default="relu", choices=("tanh", "relu"))
    ap.add_argument("--width", default="64,32")
    ap.add_argument("--mid", type=int, default=0)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--patch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    r = args.scale
    t0 = time.time()
    data = pairs(sr_data.train_images(), r)
    val = sr_data.val_images()

    fp32 = ESPCN(r, args.act, False, True,
                 tuple(int(v) for v in args.width.split(",")), args.mid)
    fp32.load_state_dict(torch.load(args.pt))
    model = QESPCN(fp32)
    # Ranges first: a few batches with frozen weights.
    model.train()
    with torch.no_grad():
        for _ in range(50):
            model(batch(rng, data, r, args.batch, args.patch)[0])

    def val_psnr():
        model.eval()
        out = []
        with torch.no_grad():
            for _, y in val:
                hr, lr = sr_data.degrade(y, r)
                o = model(torch.from_numpy(lr)[None, None])[0, 0].numpy()
                out.append(sr_data.psnr_y(o, hr, r))
        model.train()
        return float(np.mean(out))

    print("fake-quant before fine-tuning: val PSNR %.3f dB" % val_psnr(),
          flush=True)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    for step in range(1, args.steps + 1):
        x, y = batch(rng, data, r, args.batch, args.patch)
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0 or step == args.steps:
            print("step %5d  loss %.6f  val PSNR %.3f dB  %.0f s" % (
                step, loss.item(), val_psnr(), time.time() - t0), flush=True)

    model.eval()
    for q in model.convs:
        q.frozen = weight_scale(q.conv.weight)
    torch.onnx.export(
        model, torch.zeros(1, 1, 64, 64), args.output, opset_version=13,
        input_names=["y"], output_names=["sr"],
        dynamic_axes={"y": {2: "h", 3: "w"}, "sr": {2: "rh", 3: "rw"}})
    print("wrote %s (%d bytes); %.0f s" % (
        args.output, os.path.getsize(args.output), time.time() - t0))


if __name__ == "__main__":
    main()
