#!/usr/bin/python3
"""Trains ESPCN (Shi et al. 2016) on luma in FP32 and exports it to ONNX.

  /usr/bin/python3 models/train_espcn.py --scale 3 -o models/espcn_x3.onnx

conv 5x5 1->64, act, conv 3x3 64->32, act, conv 3x3 32->r^2, PixelShuffle
(exported as ONNX DepthToSpace, CRD).  Input (1, 1, H, W) luma in [0, 1],
output (1, 1, rH, rW).  Deterministic for a given seed and thread count
(torch.use_deterministic_algorithms on CPU).
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


class ESPCN(nn.Module):
    """width = (f1, f2) channels of the first two convolutions; mid extra
    3x3 f2->f2 convolutions (each with its activation) before the last."""

    def __init__(self, r, act="tanh", bn=False, skip=False, width=(64, 32),
                 mid=0, sep=0):
        super().__init__()
        self.r = r
        self.skip = skip
        f1, f2 = width

        def a():
            return nn.Tanh() if act == "tanh" else nn.ReLU()

        if sep:
            # Separable variant: sep blocks of depthwise 3x3 then 1x1
            # f1->f1 (a wide, deep body at ESPCN's cost).
            layers = [nn.Conv2d(1, f1, 5, padding=2), a()]
            for _ in range(sep):
                layers += [nn.Conv2d(f1, f1, 3, padding=1, groups=f1),
                           nn.Conv2d(f1, f1, 1), a()]
            layers += [nn.Conv2d(f1, r * r, 3, padding=1), nn.PixelShuffle(r)]
            self.body = nn.Sequential(*layers)
            return
        layers = [nn.Conv2d(1, f1, 5, padding=2)]
        if bn:
            layers.append(nn.BatchNorm2d(f1))
        layers += [a(), nn.Conv2d(f1, f2, 3, padding=1)]
        if bn:
            layers.append(nn.BatchNorm2d(f2))
        layers.append(a())
        for _ in range(mid):
            layers += [nn.Conv2d(f2, f2, 3, padding=1), a()]
        layers += [nn.Conv2d(f2, r * r, 3, padding=1), nn.PixelShuffle(r)]
        self.body = nn.Sequential(*layers)

    def macs(self):
        """Convolution MACs per low-resolution pixel."""
        return sum(m.weight.numel() for m in self.body
                   if isinstance(m, nn.Conv2d))

    def forward(self, x):
        y = self.body(x)
        if self.skip:
            # Global residual: the network learns the detail a bilinear
            # upscale misses (ONNX Resize linear + Add).
            y = y + nn.functional.interpolate(
                x, scale_factor=self.r, mode="bilinear", align_corners=False)
        return y


def load_state(path):
    """A trained state: a .pt of train_espcn.py or the initializers of an
    ONNX file it exported (same names)."""
    if not path.endswith(".onnx"):
        return torch.load(path)
    import onnx
    from onnx import numpy_helper
    return {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
            for i in onnx.load(path).graph.initializer}


def state_convs(state):
    """Indices into body of a trained state's convolutions, in order."""
    return sorted({int(k.split(".")[1]) for k in state
                   if k.startswith("body.") and k.endswith(".weight")
                   and state[k].dim() == 4})


def model_from_state(state, r, act, skip):
    """The ESPCN a trained state holds, its widths and depth read from the
    weight shapes (a distillation teacher of any size)."""
    ws = [state["body.%d.weight" % i] for i in state_convs(state)]
    if len(ws) < 3 or ws[-1].shape[0] != r * r:
        raise SystemExit("the teacher is not an x%d ESPCN" % r)
    model = ESPCN(r, act, False, skip, (ws[0].shape[0], ws[1].shape[0]),
                  len(ws) - 3)
    model.load_state_dict(state)
    return model.eval()


def embed(dst, src):
    """Copies src into the leading channels of dst when it fits (same
    kernel, no more channels), zeroing the block from dst's extra input
    channels to src's output channels; False when it does not fit."""
    if dst.dim() != src.dim() or dst.shape[2:] != src.shape[2:] or any(
            a < b for a, b in zip(dst.shape[:2], src.shape[:2])):
        return False
    if dst.dim() == 1:
        dst[:src.shape[0]] = src
        return True
    o, i = src.shape[:2]
    dst[:o, :i] = src
    dst[:o, i:] = 0
    return True


def grow(model, state):
    """Starts model from a trained state: the first two convolutions, the
    extra ones the state has, and the last one when its shape matches (the
    same scale; another scale's last layer is left random).  Extra
    convolutions the state lacks start as the identity, which is exact
    after a ReLU (its input is >= 0): a deepened network starts where the
    trained one ended.  A wider model takes a narrower state's weights
    into its first channels, with the weights from the new input channels
    to the old output channels zero, so it too starts where the trained
    one ended; the new channels start random and learn."""
    convs = [i for i, m in enumerate(model.body) if isinstance(m, nn.Conv2d)]
    src = state_convs(state)
    pairs_ = list(zip(convs[:len(src) - 1], src[:-1]))
    pairs_.append((convs[-1], src[-1]))
    own = model.state_dict()
    done = set()
    for d, s in pairs_:
        for p in ("weight", "bias"):
            a, b = "body.%d.%s" % (d, p), "body.%d.%s" % (s, p)
            if b not in state or (d == convs[-1] and  # another scale's
                                  own[a].shape[0] != state[b].shape[0]):
                continue
            if embed(own[a], state[b]):
                done.add(d)
    for d in convs[2:-1]:
        if d not in done:
            w = own["body.%d.weight" % d]
            w.zero_()
            for c in range(w.shape[0]):
                w[c, c, w.shape[2] // 2, w.shape[3] // 2] = 1.0
            own["body.%d.bias" % d].zero_()
    model.load_state_dict(own)
    print("init: convolutions %s from the state, %s identity" % (
        sorted(done), [d for d in convs[2:-1] if d not in done]), flush=True)


def pairs(images, r):
    """(hr, lr) of every training photo under the degradation model."""
    return [sr_data.degrade(y, r) for _, y in images]


def batch(rng, data, r, n, lr_size):
    xs = np.empty((n, 1, lr_size, lr_size), np.float32)
    ys = np.empty((n, 1, lr_size * r, lr_size * r), np.float32)
    # Photos weighted by area, so big wallpapers are not undersampled.
    areas = np.array([lr.size for _, lr in data], np.float64)
    pick = rng.choice(len(data), size=n, p=areas / areas.sum())
    for i, k in enumerate(pick):
        hr, lr = data[k]
        y0 = rng.integers(0, lr.shape[0] - lr_size + 1)
        x0 = rng.integers(0, lr.shape[1] - lr_size + 1)
        a = lr[y0:y0 + lr_size, x0:x0 + lr_size]
        b = hr[y0 * r:(y0 + lr_size) * r, x0 * r:(x0 + lr_size) * r]
        t = rng.integers(0, 8)  # the 8 flips/rotations
        if t & 1:
            a, b = a[:, ::-1], b[:, ::-1]
        if t & 2:
            a, b = a[::-1], b[::-1]
        if t & 4:
            a, b = a.T, b.T
        xs[i, 0], ys[i, 0] = a, b
    return torch.from_numpy(xs), torch.from_numpy(ys)


@torch.no_grad()
def evaluate(model, r, images):
    model.eval()
    net, bic = [], []
    for _, y in images:
        hr, lr = sr_data.degrade(y, r)
        out = model(torch.from_numpy(lr)[None, None])[0, 0].numpy()
        net.append(sr_data.psnr_y(out, hr, r))
        bic.append(sr_data.psnr_y(sr_data.bicubic_up(lr, r), hr, r))
    model.train()
    return float(np.mean(net)), float(np.mean(bic))


def export(model, path, keep_bn):
    """ONNX opset 13, dynamic H and W.  PyTorch folds BatchNorm into the
    convolutions when it exports in eval mode; keep_bn exports the graph
    as it is (BatchNormalization nodes with the running statistics, as
    many exporters leave them), which q8 convert must fold itself."""
    model.eval()
    mode = (torch.onnx.TrainingMode.PRESERVE if keep_bn
            else torch.onnx.TrainingMode.EVAL)
    torch.onnx.export(
        model, torch.zeros(1, 1, 64, 64), path, opset_version=13,
        input_names=["y"], output_names=["sr"], training=mode,
        dynamic_axes={"y": {2: "h", 3: "w"}, "sr": {2: "rh", 3: "rw"}})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=int, default=3, choices=(2, 3, 4))
    ap.add_argument("--act", default="tanh", choices=("tanh", "relu"))
    ap.add_argument("--bn", action="store_true", help="BatchNorm after the "
                    "first two convolutions (q8 convert folds it)")
    ap.add_argument("--skip", action="store_true", help="add a bilinear "
                    "upscale of the input to the output (global residual)")
    ap.add_argument("--width", default="64,32", help="channels of the "
                    "first two convolutions, F1,F2")
    ap.add_argument("--mid", type=int, default=0, help="extra 3x3 F2->F2 "
                    "convolutions before the last one")
    ap.add_argument("--sep", type=int, default=0, help="separable body: "
                    "this many depthwise 3x3 + 1x1 blocks (no F2)")
    ap.add_argument("--loss", default="l2", choices=("l2", "l1"))
    ap.add_argument("--data", default=",".join(sr_data.DEFAULT_TRAIN_SETS),
                    help="training photo sets, comma-separated (%s)" %
                    ", ".join(sorted(sr_data.TRAIN_SETS)))
    ap.add_argument("--short-side", type=int,
                    default=sr_data.WALLPAPER_SHORT_SIDE,
                    help="downscale larger photos to this short side")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--patch", type=int, default=32, help="LR patch side")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--init", help="a .pt state (or exported .onnx) to start "
                    "from: another scale's first layers, or this scale's "
                    "smaller network (see grow())")
    ap.add_argument("--teacher", help="a bigger trained x-r ESPCN (.pt or "
                    ".onnx, same --act and --skip) to distil: the loss adds "
                    "--distil times the distance to its output")
    ap.add_argument("--distil", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--export-only", metavar="PT", help="skip training: "
                    "export this state (with the same --scale/--act/--bn/"
                    "--skip) to ONNX")
    ap.add_argument("-o", "--output", required=True, help="ONNX file")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)
    r = args.scale

    width = tuple(int(v) for v in args.width.split(","))
    if args.sep and (args.bn or args.mid or args.init):
        ap.error("--sep is a body of its own: no --bn, --mid or --init")
    t0 = time.time()
    if args.export_only:
        model = ESPCN(r, args.act, args.bn, args.skip, width, args.mid,
                      args.sep)
        model.load_state_dict(torch.load(args.export_only))
        export(model, args.output, args.bn)
        return
    data = pairs(sr_data.train_images(args.data.split(","),
                                      args.short_side), r)
    val = sr_data.val_images()
    print("data: %d photos, %.1f Mpx HR, %.1f s" % (
        len(data), sum(h.size for h, _ in data) / 1e6, time.time() - t0),
        flush=True)

    model = ESPCN(r, args.act, args.bn, args.skip, width, args.mid, args.sep)
    print("%d MACs per input pixel" % model.macs(), flush=True)
    if args.init:
        grow(model, load_state(args.init))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.05)
    loss_fn = nn.MSELoss() if args.loss == "l2" else nn.L1Loss()
    teacher = None
    if args.teacher:
        teacher = model_from_state(load_state(args.teacher), r, args.act,
                                   args.skip)
        print("teacher: %d MACs per input pixel" % teacher.macs(), flush=True)
    run = 0.0
    for step in range(1, args.steps + 1):
        x, y = batch(rng, data, r, args.batch, args.patch)
        out = model(x)
        loss = loss_fn(out, y)
        if teacher is not None:
            with torch.no_grad():
                t = teacher(x)
            loss = loss + args.distil * loss_fn(out, t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run = 0.98 * run + 0.02 * loss.item() if step > 1 else loss.item()
        if step % args.eval_every == 0 or step == args.steps:
            p, b = evaluate(model, r, val)
            print("step %5d  loss %.6f  val PSNR %.3f dB (bicubic %.3f, "
                  "%+.3f)  %.0f s" % (step, run, p, b, p - b,
                                      time.time() - t0), flush=True)

    base = os.path.splitext(args.output)[0]
    torch.save(model.state_dict(), base + ".pt")
    export(model, args.output, args.bn)
    print("wrote %s (%d bytes) and %s.pt; %.0f s" % (
        args.output, os.path.getsize(args.output), base, time.time() - t0))


if __name__ == "__main__":
    main()
