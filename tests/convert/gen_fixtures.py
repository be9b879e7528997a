#!/usr/bin/python3
"""gen_fixtures.py - writes the ONNX fixtures of the converter tests.

Run from anywhere with Debian's python3-onnx and python3-numpy:

    /usr/bin/python3 tests/convert/gen_fixtures.py

For each model NAME it writes tests/convert/fixtures/NAME.onnx, an input
NAME.in.f32 and the float reference output NAME.out.f32 (raw little-endian
float32, NCHW, the shapes are the model's).  Models with several outputs
write NAME.out0.f32, NAME.out1.f32, ...  The reference outputs are computed
here with NumPy, independently of the converter's C float executor (ONNX
1.12 has no reference evaluator), so the C tests compare two separate
implementations.  The generated files are committed; CI needs no Python.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
rng = np.random.default_rng(20261125)


# ---------------------------------------------------------------- numpy ops

def conv(x, w, b=None, stride=1, pad=0, group=1, dil=1):
    n, c, h, wd = x.shape
    oc, icg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - dil * (kh - 1) - 1) // stride + 1
    ow = (wd + 2 * pad - dil * (kw - 1) - 1) // stride + 1
    y = np.zeros((n, oc, oh, ow), np.float64)
    ocg = oc // group
    for o in range(oc):
        g = o // ocg
        for ky in range(kh):
            for kx in range(kw):
                patch = xp[0, g * icg:(g + 1) * icg,
                           ky * dil: ky * dil + stride * (oh - 1) + 1: stride,
                           kx * dil: kx * dil + stride * (ow - 1) + 1: stride]
                y[0, o] += np.tensordot(w[o, :, ky, kx], patch, axes=(0, 0))
        if b is not None:
            y[0, o] += b[o]
    return y


def bn(x, g, b, m, v, eps):
    s = lambda a: a.reshape(1, -1, 1, 1)
    return (x - s(m)) / np.sqrt(s(v) + eps) * s(g) + s(b)


def d2s(x, r, mode):
    n, c, h, w = x.shape
    oc = c // (r * r)
    if mode == "CRD":
        t = x.reshape(n, oc, r, r, h, w).transpose(0, 1, 4, 2, 5, 3)
    else:
        t = x.reshape(n, r, r, oc, h, w).transpose(0, 3, 4, 1, 5, 2)
    return t.reshape(n, oc, h * r, w * r)


def pool(x, k, s, p, kind, count_include_pad=False):
    n, c, h, w = x.shape
    oh = (h + 2 * p - k) // s + 1
    ow = (w + 2 * p - k) // s + 1
    y = np.zeros((n, c, oh, ow))
    for oy in range(oh):
        for ox in range(ow):
            y0, x0 = oy * s - p, ox * s - p
            ys = slice(max(y0, 0), min(y0 + k, h))
            xs = slice(max(x0, 0), min(x0 + k, w))
            win = x[:, :, ys, xs]
            if kind == "max":
                y[:, :, oy, ox] = win.max(axis=(2, 3))
            else:
                cnt = k * k if count_include_pad else win.shape[2] * win.shape[3]
                y[:, :, oy, ox] = win.sum(axis=(2, 3)) / cnt
    return y


def pool2(x, k, s, pb, pe, kind, ceil=False, count_include_pad=False):
    """General pooling as ONNX Runtime computes it: ceil_mode drops a last
    window that would start in the end padding; count_include_pad counts
    the taps inside the padded input."""
    n, c, h, w = x.shape

    def size(i):
        span = i + pb + pe - k
        o = (-(-span // s) if ceil else span // s) + 1
        if ceil and (o - 1) * s >= i + pb:
            o -= 1
        return o

    oh, ow = size(h), size(w)
    y = np.zeros((n, c, oh, ow))
    for oy in range(oh):
        for ox in range(ow):
            y0, x0 = oy * s - pb, ox * s - pb
            ys = slice(max(y0, 0), min(y0 + k, h))
            xs = slice(max(x0, 0), min(x0 + k, w))
            win = x[:, :, ys, xs]
            if kind == "max":
                y[:, :, oy, ox] = win.max(axis=(2, 3))
            else:
                if count_include_pad:
                    cy = min(y0 + k, h + pe) - max(y0, -pb)
                    cx = min(x0 + k, w + pe) - max(x0, -pb)
                    cnt = cy * cx
                else:
                    cnt = win.shape[2] * win.shape[3]
                y[:, :, oy, ox] = win.sum(axis=(2, 3)) / cnt
    return y


def resize_linear_asymmetric(x, f):
    n, c, h, w = x.shape

    def axis(out, size):
        s = np.arange(out) / f
        i0 = np.minimum(np.floor(s).astype(int), size - 1)
        i1 = np.minimum(i0 + 1, size - 1)
        return i0, i1, s - i0

    y0, y1, wy = axis(h * f, h)
    x0, x1, wx = axis(w * f, w)
    a = x[:, :, y0][:, :, :, x0]
    b = x[:, :, y0][:, :, :, x1]
    cc = x[:, :, y1][:, :, :, x0]
    d = x[:, :, y1][:, :, :, x1]
    wy = wy.reshape(1, 1, -1, 1)
    wx = wx.reshape(1, 1, 1, -1)
    return (1 - wy) * ((1 - wx) * a + wx * b) + wy * ((1 - wx) * cc + wx * d)


def resize_nearest(x, f):
    return x.repeat(f, axis=2).repeat(f, axis=3)


def resize_linear_half_pixel(x, f):
    n, c, h, w = x.shape

    def axis(out, size):
        s = (np.arange(out) + 0.5) / f - 0.5
        s = np.maximum(s, 0)
        i0 = np.minimum(np.floor(s).astype(int), size - 1)
        i1 = np.minimum(i0 + 1, size - 1)
        return i0, i1, s - i0

    y0, y1, wy = axis(h * f, h)
    x0, x1, wx = axis(w * f, w)
    a = x[:, :, y0][:, :, :, x0]
    b = x[:, :, y0][:, :, :, x1]
    cc = x[:, :, y1][:, :, :, x0]
    d = x[:, :, y1][:, :, :, x1]
    wy = wy.reshape(1, 1, -1, 1)
    wx = wx.reshape(1, 1, 1, -1)
    return (1 - wy) * ((1 - wx) * a + wx * b) + wy * ((1 - wx) * cc + wx * d)


def fake_q(x, s, zp, qmin, qmax):
    q = np.clip(np.round(x / s) + zp, qmin, qmax)   # numpy rounds half to even
    return (q - zp) * s


sigmoid = lambda x: 1 / (1 + np.exp(-x))


# ------------------------------------------------------------- building

def init(name, a, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(a, dtype), name)


def rand_w(oc, ic, k, scale=None):
    scale = scale or 1.0 / np.sqrt(ic * k * k)
    return (rng.standard_normal((oc, ic, k, k)) * scale).astype(np.float32)


def save(name, nodes, inits, inputs, outputs, x, ys, opset=13,
         in_shape=None):
    in_shape = in_shape or list(x.shape)
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(inputs[0], TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, ys[i].shape)
         for i, o in enumerate(outputs)],
        inits)
    m = helper.make_model(g, producer_name="q8-gen-fixtures",
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, name + ".onnx"))
    x.astype("<f4").tofile(os.path.join(OUT, name + ".in.f32"))
    if len(ys) == 1:
        ys[0].astype("<f4").tofile(os.path.join(OUT, name + ".out.f32"))
    else:
        for i, y in enumerate(ys):
            y.astype("<f4").tofile(os.path.join(OUT, "%s.out%d.f32" % (name, i)))


def img(c=1, h=8, w=8):
    return rng.uniform(0, 1, (1, c, h, w)).astype(np.float32)


def f32(a):
    return np.asarray(a, np.float32).astype(np.float64)


def conv_relu():
    x = img()
    w, b = rand_w(4, 1, 3), rng.standard_normal(4).astype(np.float32) * 0.1
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv",
                              pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    y = np.maximum(conv(x, w, b, pad=1), 0)
    save("conv_relu", nodes, [init("w", w), init("b", b)], ["x"], ["y"], x, [y])


def conv_bn_relu():
    x = img(2)
    w = rand_w(6, 2, 3)
    g, be = rng.uniform(0.5, 2, 6), rng.standard_normal(6) * 0.3
    m, v = rng.standard_normal(6) * 0.2, rng.uniform(0.2, 2, 6)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv",
                              pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("BatchNormalization", ["c", "g", "be", "m", "v"],
                              ["bn"], name="bn", epsilon=1e-3),
             helper.make_node("Relu", ["bn"], ["y"], name="relu")]
    y = np.maximum(bn(conv(x, w, stride=2, pad=1), f32(g), f32(be), f32(m),
                      f32(v), 1e-3), 0)
    save("conv_bn_relu", nodes,
         [init("w", w), init("g", g), init("be", be), init("m", m),
          init("v", v)], ["x"], ["y"], x, [y])


def espcn(name, act, mode="CRD", use_bn=False, h=8, w=8):
    """ESPCN x2: 5x5 conv 1->16, 3x3 16->8, 3x3 8->4, DepthToSpace 2."""
    x = img(1, h, w)
    w1, b1 = rand_w(16, 1, 5), rng.standard_normal(16).astype(np.float32) * .1
    w2, b2 = rand_w(8, 16, 3), rng.standard_normal(8).astype(np.float32) * .1
    w3, b3 = rand_w(4, 8, 3), rng.standard_normal(4).astype(np.float32) * .1
    inits = [init("w1", w1), init("b1", b1), init("w2", w2), init("b2", b2),
             init("w3", w3), init("b3", b3)]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1",
                              pads=[2, 2, 2, 2])]
    a = conv(x, w1, b1, pad=2)
    prev = "c1"
    if use_bn:
        g, be = rng.uniform(0.5, 2, 16), rng.standard_normal(16) * 0.3
        m, v = rng.standard_normal(16) * 0.2, rng.uniform(0.2, 2, 16)
        inits += [init("g", g), init("be", be), init("m", m), init("v", v)]
        nodes.append(helper.make_node("BatchNormalization",
                                      ["c1", "g", "be", "m", "v"], ["n1"],
                                      name="bn1"))
        a = bn(a, f32(g), f32(be), f32(m), f32(v), 1e-5)
        prev = "n1"
    fa = np.tanh if act == "Tanh" else (lambda t: np.maximum(t, 0))
    nodes += [helper.make_node(act, [prev], ["a1"], name="act1"),
              helper.make_node("Conv", ["a1", "w2", "b2"], ["c2"],
                               name="conv2", pads=[1, 1, 1, 1]),
              helper.make_node(act, ["c2"], ["a2"], name="act2"),
              helper.make_node("Conv", ["a2", "w3", "b3"], ["c3"],
                               name="conv3", pads=[1, 1, 1, 1]),
              helper.make_node("DepthToSpace", ["c3"], ["y"], name="d2s",
                               blocksize=2, mode=mode)]
    a = fa(a)
    a = fa(conv(a, w2, b2, pad=1))
    y = d2s(conv(a, w3, b3, pad=1), 2, mode)
    save(name, nodes, inits, ["x"], ["y"], x, [y])


def pixelshuffle_pattern():
    """PixelShuffle as older exporters wrote it, the target shapes computed
    by a Shape -> Gather -> Unsqueeze -> Concat chain."""
    x = img(1, 6, 5)
    w = rand_w(8, 1, 3)
    i64 = lambda n, v: init(n, v, np.int64)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv",
                         pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["c"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "i2"], ["h"], name="gh", axis=0),
        helper.make_node("Gather", ["s", "i3"], ["wd"], name="gw", axis=0),
        helper.make_node("Unsqueeze", ["h", "ax0"], ["hu"], name="uh"),
        helper.make_node("Unsqueeze", ["wd", "ax0"], ["wu"], name="uw"),
        helper.make_node("Concat", ["pre", "hu", "wu"], ["shape6"],
                         name="cat1", axis=0),
        helper.make_node("Reshape", ["c", "shape6"], ["r6"], name="reshape1"),
        helper.make_node("Transpose", ["r6"], ["t6"], name="transpose",
                         perm=[0, 1, 4, 2, 5, 3]),
        helper.make_node("Mul", ["hu", "two"], ["h2"], name="mulh"),
        helper.make_node("Mul", ["wu", "two"], ["w2"], name="mulw"),
        helper.make_node("Concat", ["pre2", "h2", "w2"], ["shape4"],
                         name="cat2", axis=0),
        helper.make_node("Reshape", ["t6", "shape4"], ["y"], name="reshape2"),
    ]
    inits = [init("w", w), i64("i2", 2), i64("i3", 3), i64("ax0", [0]),
             i64("pre", [1, 2, 2, 2]), i64("two", [2]), i64("pre2", [1, 2])]
    y = d2s(conv(x, w, pad=1), 2, "CRD")
    save("pixelshuffle_pattern", nodes, inits, ["x"], ["y"], x, [y])


def activations():
    """Every elementwise op between convolutions; Clip after Sigmoid has no
    convolution to fuse into (a lookup table)."""
    x = img(2)
    inits, nodes, prev, a = [], [], "x", x.astype(np.float64)
    acts = [("LeakyRelu", dict(alpha=0.2), lambda t: np.where(t >= 0, t, .2 * t)),
            ("PRelu", {}, None),
            ("HardSwish", {}, lambda t: t * np.clip(t / 6 + .5, 0, 1)),
            ("HardSigmoid", dict(alpha=0.3, beta=0.4),
             lambda t: np.clip(.3 * t + .4, 0, 1)),
            ("Sigmoid", {}, sigmoid),
            ("Tanh", {}, np.tanh)]
    slope = rng.uniform(0.05, 0.5, 4).astype(np.float32)
    inits.append(init("slope", slope.reshape(4, 1, 1)))
    for i, (op, attrs, f) in enumerate(acts):
        ic = 2 if i == 0 else 4
        w = rand_w(4, ic, 3, 2.0 / np.sqrt(ic * 9))
        inits.append(init("w%d" % i, w))
        nodes.append(helper.make_node("Conv", [prev, "w%d" % i], ["c%d" % i],
                                      name="conv%d" % i, pads=[1, 1, 1, 1]))
        a = conv(a, w, pad=1)
        ins = ["c%d" % i] + (["slope"] if op == "PRelu" else [])
        nodes.append(helper.make_node(op, ins, ["a%d" % i], name=op.lower(),
                                      **attrs))
        if op == "PRelu":
            a = np.where(a >= 0, a, f32(slope).reshape(1, 4, 1, 1) * a)
        else:
            a = f(a)
        prev = "a%d" % i
    inits += [init("lo", -0.5), init("hi", 0.6)]
    nodes.append(helper.make_node("Clip", [prev, "lo", "hi"], ["y"],
                                  name="clip"))
    y = np.clip(a, -0.5, 0.6)
    save("activations", nodes, inits, ["x"], ["y"], x, [y], opset=14)


def add_concat_pool():
    x = img(2, 9, 9)
    wa, wb = rand_w(3, 2, 3), rand_w(3, 2, 1)
    nodes = [
        helper.make_node("Conv", ["x", "wa"], ["a"], name="conva",
                         pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["x", "wb"], ["b"], name="convb"),
        helper.make_node("Add", ["a", "b"], ["s"], name="add"),
        helper.make_node("Relu", ["s"], ["r"], name="relu"),
        helper.make_node("Concat", ["a", "r"], ["cat"], name="concat", axis=1),
        helper.make_node("MaxPool", ["cat"], ["mp"], name="maxpool",
                         kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("AveragePool", ["mp"], ["y0"], name="avgpool",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["r"], ["y1"], name="gap"),
    ]
    a = conv(x, wa, pad=1)
    r = np.maximum(a + conv(x, wb), 0)
    cat = np.concatenate([a, r], axis=1)
    mp = pool(cat, 2, 2, 0, "max")
    y0 = pool(mp, 3, 1, 1, "avg")
    y1 = r.mean(axis=(2, 3), keepdims=True)
    save("add_concat_pool", nodes, [init("wa", wa), init("wb", wb)], ["x"],
         ["y0", "y1"], x, [y0, y1])


def resize():
    x = img(2, 5, 4)
    w = rand_w(2, 2, 1)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Resize", ["c", "", "sc"], ["y0"], name="nearest",
                         mode="nearest",
                         coordinate_transformation_mode="asymmetric",
                         nearest_mode="floor"),
        helper.make_node("Resize", ["c", "", "sc3"], ["y1"], name="linear",
                         mode="linear",
                         coordinate_transformation_mode="half_pixel"),
    ]
    c = conv(x, w)
    save("resize", nodes, [init("w", w), init("sc", [1, 1, 2, 2]),
                            init("sc3", [1, 1, 3, 3])], ["x"], ["y0", "y1"],
         x, [resize_nearest(c, 2), resize_linear_half_pixel(c, 3)])


def const_arith():
    """x * 2 (into the input scale), conv, / per-channel (into the conv),
    - 0.1 (into the conv), tanh, * 3 + 1 (a lookup table)."""
    x = img(1)
    w = rand_w(3, 1, 3)
    d = rng.uniform(0.5, 2, 3).astype(np.float32)
    nodes = [
        helper.make_node("Mul", ["x", "two"], ["x2"], name="mul_in"),
        helper.make_node("Conv", ["x2", "w"], ["c"], name="conv",
                         pads=[1, 1, 1, 1]),
        helper.make_node("Div", ["c", "d"], ["cd"], name="div"),
        helper.make_node("Sub", ["cd", "tenth"], ["cs"], name="sub"),
        helper.make_node("Tanh", ["cs"], ["t"], name="tanh"),
        helper.make_node("Mul", ["three", "t"], ["t3"], name="mul3"),
        helper.make_node("Add", ["t3", "one"], ["y"], name="add1"),
    ]
    c = conv(x * 2.0, w, pad=1) / f32(d).reshape(1, 3, 1, 1) - f32(0.1)
    y = 3 * np.tanh(c) + 1
    save("const_arith", nodes,
         [init("two", 2.0), init("w", w), init("d", d.reshape(1, 3, 1, 1)),
          init("tenth", 0.1), init("three", 3.0), init("one", 1.0)],
         ["x"], ["y"], x, [y])


def qdq():
    """ONNX Runtime QDQ format: uint8 activations, int8 per-channel weights,
    int32 bias."""
    x = img(1)
    sx, zx = np.float32(1 / 255), np.uint8(0)
    wq = rng.integers(-127, 128, (4, 1, 3, 3)).astype(np.int8)
    ws = rng.uniform(0.002, 0.01, 4).astype(np.float32)
    bq = rng.integers(-500, 500, 4).astype(np.int32)
    bs = (sx * ws).astype(np.float32)
    sy, zy = np.float32(0.02), np.uint8(100)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"], name="qx"),
        helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"],
                         name="dqx"),
        helper.make_node("DequantizeLinear", ["wq", "ws"], ["wd"], name="dqw",
                         axis=0),
        helper.make_node("DequantizeLinear", ["bq", "bs"], ["bd"], name="dqb",
                         axis=0),
        helper.make_node("Conv", ["xd", "wd", "bd"], ["c"], name="conv",
                         pads=[1, 1, 1, 1]),
        helper.make_node("QuantizeLinear", ["c", "sy", "zy"], ["cq"], name="qy"),
        helper.make_node("DequantizeLinear", ["cq", "sy", "zy"], ["y"],
                         name="dqy"),
    ]
    inits = [init("sx", sx), init("zx", zx, np.uint8), init("wq", wq, np.int8),
             init("ws", ws), init("bq", bq, np.int32), init("bs", bs),
             init("sy", sy), init("zy", zy, np.uint8)]
    xd = fake_q(f32(x), f32(sx), 0, 0, 255)
    wd = f32(wq) * f32(ws).reshape(4, 1, 1, 1)
    bd = f32(bq) * f32(bs)
    y = fake_q(conv(xd, wd, bd, pad=1), f32(sy), 100, 0, 255)
    save("qdq", nodes, inits, ["x"], ["y"], x, [y])


def qdq_float_weights():
    """PyTorch's export of fake-quantized weights: float weights through
    QuantizeLinear (int8, per channel) and DequantizeLinear, int8
    activations."""
    x = img(1)
    sx, zx = np.float32(1 / 255), np.int8(-128)
    w = rng.normal(0, 0.3, (4, 1, 3, 3)).astype(np.float32)
    ws = (np.abs(w).reshape(4, -1).max(1) / 127).astype(np.float32)
    b = rng.normal(0, 0.1, 4).astype(np.float32)
    sy, zy = np.float32(0.02), np.int8(-10)
    zw = np.zeros(4, np.int8)
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "sx", "zx"], ["xq"], name="qx"),
        helper.make_node("DequantizeLinear", ["xq", "sx", "zx"], ["xd"],
                         name="dqx"),
        helper.make_node("QuantizeLinear", ["w", "ws", "zw"], ["wq"],
                         name="qw", axis=0),
        helper.make_node("DequantizeLinear", ["wq", "ws", "zw"], ["wd"],
                         name="dqw", axis=0),
        helper.make_node("Conv", ["xd", "wd", "b"], ["c"], name="conv",
                         pads=[1, 1, 1, 1]),
        helper.make_node("QuantizeLinear", ["c", "sy", "zy"], ["cq"], name="qy"),
        helper.make_node("DequantizeLinear", ["cq", "sy", "zy"], ["y"],
                         name="dqy"),
    ]
    inits = [init("sx", sx), init("zx", zx, np.int8), init("w", w),
             init("ws", ws), init("zw", zw, np.int8), init("b", b),
             init("sy", sy), init("zy", zy, np.int8)]
    xd = fake_q(f32(x), f32(sx), -128, -128, 127)
    wd = fake_q(w, ws.reshape(4, 1, 1, 1), 0, -128, 127)
    y = fake_q(conv(xd, wd, b, pad=1), f32(sy), -10, -128, 127)
    save("qdq_float_weights", nodes, inits, ["x"], ["y"], x, [y])


def dynamic():
    """Dynamic height and width: imports only with a size given."""
    x = img(1, 7, 6)
    w = rand_w(2, 1, 3)
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv",
                              pads=[1, 1, 1, 1])]
    save("dynamic", nodes, [init("w", w)], ["x"], ["y"], x,
         [conv(x, w, pad=1)], in_shape=["N", 1, "height", "width"])


def unsupported():
    x = img(2)
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("LRN", ["r"], ["y"], name="lrn_1", size=3)]
    save("unsupported", nodes, [], ["x"], ["y"], x, [x])
    w = rand_w(2, 2, 3)
    nodes = [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="up",
                              strides=[2, 2], pads=[1, 1, 1, 1],
                              output_padding=[1, 1])]
    save("convtranspose", nodes, [init("w", w)], ["x"], ["y"], x,
         [np.zeros((1, 2, 16, 16))])


def d2s_dcr():
    x = img(1, 5, 6)
    w = rand_w(12, 1, 3)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv",
                              pads=[1, 1, 1, 1]),
             helper.make_node("DepthToSpace", ["c"], ["y"], name="d2s",
                              blocksize=2, mode="DCR")]
    save("d2s_dcr", nodes, [init("w", w)], ["x"], ["y"], x,
         [d2s(conv(x, w, pad=1), 2, "DCR")])


def opset11():
    """Clip(0, 6) as inputs (fused as ReLU6), pools with ceil_mode and
    count_include_pad, Resize with roi and linear asymmetric, Identity and
    Dropout (dropped)."""
    x = img(2, 11, 10)
    w = rand_w(3, 2, 3, 1.5)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv",
                         pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["c", "zero", "six"], ["r6"], name="relu6"),
        helper.make_node("MaxPool", ["r6"], ["mp"], name="maxpool",
                         kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 1, 1, 1], ceil_mode=1),
        helper.make_node("AveragePool", ["mp"], ["ap"], name="avgpool",
                         kernel_shape=[2, 2], strides=[2, 2],
                         pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1),
        helper.make_node("Identity", ["ap"], ["id"], name="identity"),
        helper.make_node("Dropout", ["id"], ["dr"], name="dropout"),
        helper.make_node("Resize", ["dr", "roi", "sc"], ["y"], name="resize",
                         mode="linear",
                         coordinate_transformation_mode="asymmetric"),
    ]
    r6 = np.clip(conv(x, w, pad=1), 0, 6)
    mp = pool2(r6, 3, 2, 1, 1, "max", ceil=True)
    ap = pool2(mp, 2, 2, 1, 1, "avg", ceil=True, count_include_pad=True)
    y = resize_linear_asymmetric(ap, 2)
    save("opset11", nodes, [init("w", w), init("zero", 0.0), init("six", 6.0),
                            init("roi", []), init("sc", [1, 1, 2, 2])],
         ["x"], ["y"], x, [y], opset=11)


def opset9_upsample():
    x = img(1, 4, 5)
    w = rand_w(2, 1, 3)
    nodes = [helper.make_node("Upsample", ["x", "sc"], ["u"], name="up",
                              mode="nearest"),
             helper.make_node("Conv", ["u", "w"], ["y"], name="conv",
                              pads=[1, 1, 1, 1])]
    save("opset9_upsample", nodes, [init("sc", [1, 1, 2, 3]), init("w", w)],
         ["x"], ["y"], x,
         [conv(x.repeat(2, axis=2).repeat(3, axis=3), w, pad=1)], opset=9)


def convtranspose_k2s2():
    """ConvTranspose with kernel == stride: a 1x1 conv + DepthToSpace."""
    x = img(2, 5, 4)
    w = rand_w(2, 3, 2)            # [IC = 2, OC = 3, 2, 2]
    b = rng.standard_normal(3).astype(np.float32) * 0.1
    nodes = [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"],
                              name="up", strides=[2, 2],
                              kernel_shape=[2, 2])]
    y = np.zeros((1, 3, 10, 8))
    for a in range(2):
        for c in range(2):
            y[0, :, a::2, c::2] = np.einsum("ihw,io->ohw", x[0].astype(
                np.float64), f32(w[:, :, a, c])) + f32(b).reshape(3, 1, 1)
    save("convtranspose_k2s2", nodes, [init("w", w), init("b", b)], ["x"],
         ["y"], x, [y])


def main():
    os.makedirs(OUT, exist_ok=True)
    conv_relu()
    conv_bn_relu()
    espcn("espcn_tanh", "Tanh", "CRD")
    espcn("espcn_relu_bn", "Relu", "DCR", use_bn=True)
    pixelshuffle_pattern()
    activations()
    add_concat_pool()
    resize()
    const_arith()
    qdq()
    dynamic()
    unsupported()
    d2s_dcr()
    opset11()
    opset9_upsample()
    convtranspose_k2s2()
    qdq_float_weights()


if __name__ == "__main__":
    main()
