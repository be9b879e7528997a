#!/usr/bin/python3
"""Trains the anomaly feature network in FP32 and exports it to ONNX.

  /usr/bin/python3 models/train_anomaly.py -o models/anomaly_features.onnx

The network turns a 256x256 luma frame into a 64x64 grid of 64 local
features (one cell per 4x4 pixels) at two scales: 32 fine features
(receptive field 17 px) and 32 coarse ones (41 px, computed at 32x32 and
repeated 2x2).  Both halves are trained; the shipped export keeps only the
fine half (--fine-only: the coarse features blur thin lines, see
models/README.md).  qanomaly and `q8 teach` then keep the features of
the normal frames of a scene and score later frames by their distance to
the nearest kept feature (core/anomaly.c).  No anomaly is ever shown to
the network: it is
trained to describe surfaces well, on the `train` surfaces of
anomaly_data.py, with two objectives:
- texture identity: a linear classifier on the features averaged over the
  patch names the patch's surface (features that separate materials), and
  optionally (--dense) a 1x1 classifier does so at every cell (features
  that describe the surface locally);
- reconstruction: a small decoder rebuilds the patch from the features
  (features that keep local detail, so a scratch changes them).
The decoder and classifier are dropped at export.

  conv 3x3    1->16, ReLU          256x256
  conv 3x3 s2 16->32, ReLU         128x128
  conv 3x3 s2 32->48, ReLU  = h     64x64
  conv 3x3    48->32 (linear)       64x64   fine features
  h -> conv 3x3 s2 48->64, ReLU     32x32
       conv 3x3    64->64, ReLU     32x32
       conv 1x1    64->32 (linear)  32x32 -> nearest x2: coarse features
  concat (fine, coarse)             64x64x64

TAPS (--taps; shipped with the per-cell Gaussian, not with the memory bank
they lower, see models/README.md): the stem's
first two layers, which see 3x3 and 7x7 px, are also kept in the output:
  first layer (ReLU)  -> max pool 4x4 -> conv 1x1 16->16   64x64
  second layer (ReLU) -> max pool 2x2 -> conv 1x1 32->25   64x64
The maximum over a cell keeps a 1-2 px line that an average (or the
deeper layers' 17 px view) dilutes.  The taps are not trained: they are
added after training, each 1x1 convolution a per-channel scale and
offset that gives its channel zero mean and unit spread over training
crops (channels of the second layer that never fire are dropped: 7 of
the shipped network's 32).  Output then (1, 64 + 16 + 25 = 105, 64, 64).

About 266 M multiply-accumulates per frame, 198 M for the fine half
alone (taps: +3.4 M).  Input (1, 1, 256, 256) luma in [0, 1] (BT.601 Y /
255), output (1, 64, 64, 64), (1, 32, 64, 64) with --fine-only, or 105
channels with the taps.  Deterministic for a given seed and thread
count.
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anomaly_data  # noqa: E402

INPUT = 256
FEATURES = 64


class Features(nn.Module):
    def __init__(self, taps=0):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 48, 3, stride=2, padding=1), nn.ReLU())
        self.fine = nn.Conv2d(48, FEATURES // 2, 3, padding=1)
        self.coarse = nn.Sequential(
            nn.Conv2d(48, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
            nn.Conv2d(64, FEATURES // 2, 1))
        self.taps = taps
        # At export (--fine-only): the fine features alone, see
        # models/README.md.  Training always needs both halves.
        self.fine_only = False
        if taps:
            # Early taps (see TAPS): the 4x4-cell maximum of the first
            # layer and the 2x2-cell maximum of the second, each scaled and
            # centred per channel by a 1x1 convolution (set by equalize()).
            self.tap1 = nn.Conv2d(16, 16, 1)
            self.tap2 = nn.Conv2d(32, taps - 16, 1)

    def drop_coarse(self):
        """The fine features alone from now on (--fine-only)."""
        self.fine_only = True
        del self.coarse

    def forward(self, x):
        if self.fine_only:
            return self.fine(self.stem(x))
        if not self.taps:
            h = self.stem(x)
        else:
            l1 = self.stem[1](self.stem[0](x))
            l2 = self.stem[3](self.stem[2](l1))
            h = self.stem[5](self.stem[4](l2))
        c = F.interpolate(self.coarse(h), scale_factor=2, mode="nearest")
        out = [self.fine(h), c]
        if self.taps:
            out += [self.tap1(F.max_pool2d(l1, 4)),
                    self.tap2(F.max_pool2d(l2, 2))]
        return torch.cat(out, dim=1)


class Trainer(nn.Module):
    """Features plus the two training heads."""

    def __init__(self, n_classes, taps=0):
        super().__init__()
        self.features = Features(taps)
        self.classify = nn.Linear(FEATURES, n_classes)
        # The same question at every cell: which surface is this?
        self.classify_cell = nn.Conv2d(FEATURES, n_classes, 1)
        # 4x upsampling back to the patch: two PixelShuffle(2) stages.
        self.decode = nn.Sequential(
            nn.Conv2d(FEATURES, 64, 3, padding=1), nn.ReLU(),
            nn.PixelShuffle(2),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.PixelShuffle(2),
            nn.Conv2d(4, 1, 3, padding=1))

    def forward(self, x):
        f = self.features(x)
        return (f, self.classify(f.mean(dim=(2, 3))), self.decode(f),
                self.classify_cell(f))


def equalize(features, rng, n=48):
    """Scales each output channel to unit standard deviation over n
    training crops of INPUT x INPUT, by dividing the weights and bias of
    the convolution that makes it.  A channel's scale does not change the
    standardized distances the scores are made of, but int8 has one scale
    for the whole feature tensor: equal spreads give every channel the
    same share of its 256 levels."""
    p, _ = anomaly_data.random_patches("train", n, INPUT, rng, augment=False)
    x = torch.from_numpy(p.astype(np.float32) / 255.0)[:, None]
    with torch.no_grad():
        std = features(x).std(dim=(0, 2, 3)).clamp_min(1e-6)
        half = FEATURES // 2
        for conv, s in ((features.fine, std[:half]),
                        (features.coarse[-1], std[half:])):
            conv.weight /= s[:, None, None, None]
            conv.bias /= s
    return std


def equalize_taps(features, rng, n=48):
    """Sets the taps' 1x1 convolutions: each tap channel gets zero mean and
    unit standard deviation over n training crops, as equalize() does for
    the trained channels; channels of the second layer that never fire on
    them (spread below 1e-3 of the largest) are left out."""
    p, _ = anomaly_data.random_patches("train", n, INPUT, rng, augment=False)
    x = torch.from_numpy(p.astype(np.float32) / 255.0)[:, None]
    with torch.no_grad():
        features.tap1 = nn.Conv2d(16, 16, 1)
        features.tap2 = nn.Conv2d(32, 32, 1)
        for conv in (features.tap1, features.tap2):
            conv.weight.zero_()
            conv.bias.zero_()
            conv.weight[:, :, 0, 0] = torch.eye(conv.weight.shape[0])
        f = features(x)[:, FEATURES:]
        mean = f.mean(dim=(0, 2, 3))
        std = f.std(dim=(0, 2, 3))
        w1 = torch.diag(1 / std[:16])
        live = torch.nonzero(std[16:] > 1e-3 * std[16:].max())[:, 0]
        w2 = torch.diag(1 / std[16:])[live]
        features.tap1.weight[:, :, 0, 0] = w1
        features.tap1.bias.copy_(-mean[:16] / std[:16])
        features.tap2 = nn.Conv2d(32, live.numel(), 1)
        features.tap2.weight.copy_(w2[:, :, None, None])
        features.tap2.bias.copy_(-(mean[16:] / std[16:])[live])
    return 16 + live.numel()


def add_taps(model, args, state=None):
    """With --taps: the trained stem's early taps join the features (kept
    from state if it has them, else equalized anew)."""
    if not args.taps:
        return
    f = model.features
    f.taps = 48
    if state is not None and "features.tap2.weight" in state:
        f.taps = 16 + state["features.tap2.weight"].shape[0]
        f.tap1 = nn.Conv2d(16, 16, 1)
        f.tap2 = nn.Conv2d(32, f.taps - 16, 1)
        model.load_state_dict(state, strict=False)
    else:
        f.taps = equalize_taps(f, np.random.default_rng(args.seed + 2))


def export(model, path, fine_only=False):
    """model: Features; fine_only drops the coarse branch."""
    model.eval()
    if fine_only:
        model.drop_coarse()
    torch.onnx.export(
        model, torch.zeros(1, 1, INPUT, INPUT), path, opset_version=13,
        input_names=["y"], output_names=["features"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--patch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--recon", type=float, default=4.0,
                    help="weight of the reconstruction loss")
    ap.add_argument("--dense", type=float, default=0.0,
                    help="weight of the per-cell surface classification")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--pt", help="save the state as exported here")
    ap.add_argument("--no-equalize", dest="equalize", action="store_false",
                    help="keep the channels' spreads as trained (see "
                    "equalize())")
    ap.add_argument("--export-only", metavar="PT",
                    help="skip training: export this state")
    ap.add_argument("--taps", action="store_true",
                    help="add the early taps (TAPS in the docstring) at "
                    "export: 112 output channels")
    ap.add_argument("--fine-only", action="store_true",
                    help="export only the 32 fine features (the shipped "
                    "network; see models/README.md)")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    if args.fine_only and args.taps:
        ap.error("--fine-only and --taps do not go together")

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    names = anomaly_data.surfaces("train")
    model = Trainer(len(names))
    if args.export_only:
        state = torch.load(args.export_only)
        model.load_state_dict(state, strict=False)
        if args.equalize:
            equalize(model.features, np.random.default_rng(args.seed + 1))
        add_taps(model, args, state)
        export(model.features, args.output, args.fine_only)
        if args.pt:  # as exported (--fine-only drops the coarse branch)
            torch.save(model.state_dict(), args.pt)
        return

    rng = np.random.default_rng(args.seed)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    # Patches come in blocks drawn at once (loading a surface is the slow
    # part), reshuffled into batches.
    block = 64 * args.batch
    pool_x = pool_y = None
    t0 = time.time()
    for step in range(args.steps):
        k = step % (block // args.batch)
        if k == 0:
            p, lab = anomaly_data.random_patches("train", block, args.patch,
                                                 rng)
            pool_x = torch.from_numpy(p.astype(np.float32) / 255.0)[:, None]
            pool_y = torch.from_numpy(lab)
        x = pool_x[k * args.batch:(k + 1) * args.batch]
        y = pool_y[k * args.batch:(k + 1) * args.batch]
        _, logits, rec, cell_logits = model(x)
        ce = F.cross_entropy(logits, y)
        mse = F.mse_loss(rec, x)
        loss = ce + args.recon * mse / x.var().clamp_min(1e-4)
        if args.dense > 0:
            yc = y[:, None, None].expand(-1, *cell_logits.shape[2:])
            loss = loss + args.dense * F.cross_entropy(cell_logits, yc)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0 or step == args.steps - 1:
            acc = (logits.argmax(1) == y).float().mean().item()
            print(f"step {step}: ce {ce.item():.3f} acc {acc:.2f} "
                  f"mse {mse.item():.5f}  {time.time() - t0:.0f} s",
                  flush=True)
    if args.equalize:
        equalize(model.features, np.random.default_rng(args.seed + 1))
    add_taps(model, args)
    export(model.features, args.output, args.fine_only)
    if args.pt:  # as exported (--fine-only drops the coarse branch)
        torch.save(model.state_dict(), args.pt)
    print(f"trained {args.steps} steps in {time.time() - t0:.0f} s -> "
          f"{args.output}")


if __name__ == "__main__":
    main()
