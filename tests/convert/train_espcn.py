#!/usr/bin/python3
"""train_espcn.py - trains two small ESPCN x2 models in NumPy (tanh, and
ReLU with BatchNorm) on synthetic images and exports them to ONNX, for the
converter's end-to-end tests (a trained model quantizes differently from
random weights: smoother filters, activations that use their range).

    /usr/bin/python3 tests/convert/train_espcn.py

Writes tests/convert/fixtures/espcn_trained_{tanh,relu_bn}.onnx, and
espcn_trained.calib.f32 / espcn_trained.test.f32: 16 calibration and 8
held-out low-resolution frames (1 x 1 x 32 x 32 each, raw float32) with the
float outputs of each model on the held-out frames
(espcn_trained_<act>.test_out.f32).  Deterministic (seeded).
"""
import os

import numpy as np
import onnx
from numpy.lib.stride_tricks import sliding_window_view
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
rng = np.random.default_rng(7)
F = np.float32


# ------------------------------------------------------------------ data

def synth_image(n=64):
    """Gradients, sharp-edged shapes, blobs and stripes in [0, 1]."""
    yy, xx = np.mgrid[0:n, 0:n].astype(F) / n
    img = rng.uniform(0.2, 0.8) + rng.uniform(-.3, .3) * xx \
        + rng.uniform(-.3, .3) * yy
    for _ in range(rng.integers(2, 6)):
        cy, cx, ry, rx = rng.uniform(0, 1, 4) * [1, 1, .4, .4] + [0, 0, .05, .05]
        v = rng.uniform(-.5, .5)
        if rng.random() < .5:
            img += v * (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1)
        else:
            img += v * ((abs(yy - cy) < ry) & (abs(xx - cx) < rx))
    if rng.random() < .5:
        f, a = rng.uniform(4, 20), rng.uniform(0, np.pi)
        img += .15 * np.sin(f * (np.cos(a) * xx + np.sin(a) * yy) * 2 * np.pi)
    return np.clip(img, 0, 1).astype(F)


def lowres(hr):
    return hr.reshape(hr.shape[0] // 2, 2, hr.shape[1] // 2, 2).mean((1, 3))


# ------------------------------------------------------------ autograd

def conv_f(x, w, b, pad):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    kh, kw = w.shape[2:]
    p = sliding_window_view(xp, (kh, kw), axis=(2, 3))
    return np.einsum("bchwij,ocij->bohw", p, w, optimize=True) \
        + b.reshape(1, -1, 1, 1), p


def conv_b(dy, p, w, pad, xshape):
    dw = np.einsum("bchwij,bohw->ocij", p, dy, optimize=True)
    db = dy.sum((0, 2, 3))
    kh, kw = w.shape[2:]
    B, C, H, W = xshape
    dxp = np.zeros((B, C, H + 2 * pad, W + 2 * pad), F)
    for i in range(kh):
        for j in range(kw):
            dxp[:, :, i:i + H, j:j + W] += np.einsum("bohw,oc->bchw", dy,
                                                    w[:, :, i, j],
                                                    optimize=True)
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db


def d2s(x, r=2):
    b, c, h, w = x.shape
    return x.reshape(b, c // (r * r), r, r, h, w).transpose(
        0, 1, 4, 2, 5, 3).reshape(b, c // (r * r), h * r, w * r)


def d2s_b(dy, r=2):
    b, c, h, w = dy.shape
    return dy.reshape(b, c, h // r, r, w // r, r).transpose(
        0, 1, 3, 5, 2, 4).reshape(b, c * r * r, h // r, w // r)


def init(oc, ic, k):
    return (rng.standard_normal((oc, ic, k, k)) * np.sqrt(1 / (ic * k * k))).astype(F)


def train(act, steps=1500, batch=8):
    P = {"w1": init(16, 1, 5), "b1": np.zeros(16, F),
         "w2": init(8, 16, 3), "b2": np.zeros(8, F),
         "w3": init(4, 8, 3) * .1, "b3": np.full(4, .5, F)}
    if act == "relu":
        P["w1"] *= 2
    M = {k: np.zeros_like(v) for k, v in P.items()}
    V = {k: np.zeros_like(v) for k, v in P.items()}
    fa = np.tanh if act == "tanh" else (lambda t: np.maximum(t, 0))
    da = (lambda a, c: 1 - a * a) if act == "tanh" else (lambda a, c: (c > 0).astype(F))
    for step in range(steps):
        hr = np.stack([synth_image(32) for _ in range(batch)])[:, None]
        lr = np.stack([lowres(h[0]) for h in hr])[:, None]
        c1, p1 = conv_f(lr, P["w1"], P["b1"], 2)
        a1 = fa(c1)
        c2, p2 = conv_f(a1, P["w2"], P["b2"], 1)
        a2 = fa(c2)
        c3, p3 = conv_f(a2, P["w3"], P["b3"], 1)
        y = d2s(c3)
        err = y - hr
        loss = float((err ** 2).mean())
        dy = (2 * err / err.size).astype(F)
        dc3 = d2s_b(dy)
        da2, g3, gb3 = conv_b(dc3, p3, P["w3"], 1, a2.shape)
        dc2 = da2 * da(a2, c2)
        da1, g2, gb2 = conv_b(dc2, p2, P["w2"], 1, a1.shape)
        dc1 = da1 * da(a1, c1)
        _, g1, gb1 = conv_b(dc1, p1, P["w1"], 2, lr.shape)
        G = {"w1": g1, "b1": gb1, "w2": g2, "b2": gb2, "w3": g3, "b3": gb3}
        lr_rate = 3e-3 if step < steps * .7 else 1e-3
        for k in P:   # Adam
            M[k] = .9 * M[k] + .1 * G[k]
            V[k] = .999 * V[k] + .001 * G[k] ** 2
            mh = M[k] / (1 - .9 ** (step + 1))
            vh = V[k] / (1 - .999 ** (step + 1))
            P[k] = (P[k] - lr_rate * mh / (np.sqrt(vh) + 1e-8)).astype(F)
        if step % 300 == 0 or step == steps - 1:
            print("%s step %d: loss %.5f (PSNR %.2f dB)" %
                  (act, step, loss, 10 * np.log10(1 / loss)))
    return P


def forward(P, act, lr, bn=None):
    fa = np.tanh if act == "tanh" else (lambda t: np.maximum(t, 0))
    c1 = conv_f(lr, P["w1"], P["b1"], 2)[0]
    a1 = fa(c1)
    a2 = fa(conv_f(a1, P["w2"], P["b2"], 1)[0])
    return d2s(conv_f(a2, P["w3"], P["b3"], 1)[0])


def export(P, act, name):
    """ONNX as PyTorch 1.13 would write it; the ReLU model also gets a
    BatchNorm after conv1 whose statistics undo a rescaling of conv1 (so
    the function is unchanged and the converter must fold it)."""
    nodes, inits = [], []
    t = lambda n, a: inits.append(numpy_helper.from_array(np.asarray(a, F), n))
    if act == "relu":
        g = rng.uniform(.5, 2, 16).astype(F)
        mean = rng.standard_normal(16).astype(F) * .1
        var = rng.uniform(.5, 2, 16).astype(F)
        beta = rng.standard_normal(16).astype(F) * .1
        s = g / np.sqrt(var + 1e-5)
        # conv1' = (conv1 - beta) / s + mean makes BN(conv1') == conv1.
        w1 = P["w1"] / s.reshape(-1, 1, 1, 1)
        b1 = (P["b1"] - beta) / s + mean
        t("w1", w1), t("b1", b1), t("bn_g", g), t("bn_b", beta)
        t("bn_m", mean), t("bn_v", var)
        nodes.append(helper.make_node("Conv", ["x", "w1", "b1"], ["c1"],
                                      name="Conv_0", pads=[2, 2, 2, 2],
                                      kernel_shape=[5, 5]))
        nodes.append(helper.make_node("BatchNormalization",
                                      ["c1", "bn_g", "bn_b", "bn_m", "bn_v"],
                                      ["n1"], name="BatchNormalization_1",
                                      epsilon=1e-5))
        prev = "n1"
    else:
        t("w1", P["w1"]), t("b1", P["b1"])
        nodes.append(helper.make_node("Conv", ["x", "w1", "b1"], ["c1"],
                                      name="Conv_0", pads=[2, 2, 2, 2],
                                      kernel_shape=[5, 5]))
        prev = "c1"
    A = "Tanh" if act == "tanh" else "Relu"
    t("w2", P["w2"]), t("b2", P["b2"]), t("w3", P["w3"]), t("b3", P["b3"])
    nodes += [helper.make_node(A, [prev], ["a1"], name=A + "_2"),
              helper.make_node("Conv", ["a1", "w2", "b2"], ["c2"],
                               name="Conv_3", pads=[1, 1, 1, 1],
                               kernel_shape=[3, 3]),
              helper.make_node(A, ["c2"], ["a2"], name=A + "_4"),
              helper.make_node("Conv", ["a2", "w3", "b3"], ["c3"],
                               name="Conv_5", pads=[1, 1, 1, 1],
                               kernel_shape=[3, 3]),
              helper.make_node("DepthToSpace", ["c3"], ["y"],
                               name="DepthToSpace_6", blocksize=2,
                               mode="CRD")]
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                       [1, 1, "height", "width"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT,
                                       [1, 1, "height2", "width2"])],
        inits)
    m = helper.make_model(g, producer_name="q8-train-espcn",
                          opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name + ".onnx"))


def main():
    os.makedirs(OUT, exist_ok=True)
    calib = np.stack([lowres(synth_image(64)) for _ in range(16)])[:, None]
    test = np.stack([lowres(synth_image(64)) for _ in range(8)])[:, None]
    calib.astype("<f4").tofile(os.path.join(OUT, "espcn_trained.calib.f32"))
    test.astype("<f4").tofile(os.path.join(OUT, "espcn_trained.test.f32"))
    for act, name in (("tanh", "espcn_trained_tanh"),
                      ("relu", "espcn_trained_relu_bn")):
        P = train(act)
        export(P, act, name)
        y = forward(P, act, test)
        y.astype("<f4").tofile(os.path.join(OUT, name + ".test_out.f32"))


if __name__ == "__main__":
    main()
