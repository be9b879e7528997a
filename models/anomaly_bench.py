#!/usr/bin/python3
"""Synthetic-defect benchmark for the anomaly detector (issue 5).

    /usr/bin/python3 models/anomaly_bench.py -o DIR [--split eval|val]
        [--size 256] [--n-teach 100] [--n-normal 100] [--n-defect 100]
        [--seed 1] [--preview FILE.png]

For every surface of the split (models/anomaly_data.py: 8 eval or 4 val
surfaces, never used for training) it writes

    DIR/<surface>/teach/NNNN.png            normal frames to teach from
    DIR/<surface>/test/normal_NNNN.png      normal test frames
    DIR/<surface>/test/defect_NNNN.png      defective test frames
    DIR/<surface>/test/defect_NNNN_mask.png 8-bit mask, 255 = defect pixel
    DIR/index.json                          everything below, per image

Frames.  A fixed camera looks at a stationary surface (a web of material or
a product passing under it): each frame is a size x size window at a random
position of the surface (tiled to >= max(512, 2*size) px), then the camera:
one illumination gain per frame, uniform in [0.97, 1.03], and Gaussian noise
of sigma NOISE_DN = 1.5 (0..255 scale) per RGB channel, rounded and clipped
to uint8.  Teach frames, normal test frames and defect frames use separate
random streams, so they are different frames of the same surface.  Images
are RGB PNG, 8 bits per channel.

Defects are drawn on the clean frame before the camera model.  Five types,
balanced (each 1/5 of the defect images, each at every size of SIZES and
every contrast level of LEVELS, in a fixed cyclic assignment):
  scratch  thin (0.7-1.8 px) straight or curved line, lighter or darker,
           fading at its ends; size = length.
  spot     soft-edged irregular blob: a darker or lighter spot (dirt, wear)
           or a dent (shading of a depression lit from one side); size =
           diameter.
  crack    branching jagged dark line (random walk with branches); size =
           extent of the main branch.
  missing  a patch of material gone: a dark hole, a flat (texture-less)
           substrate, or a foreign texture (a patch of a training surface);
           size = diameter.
  stain    soft, mottled region blended with a colour (rust, oil, coffee,
           verdigris, water mark) whose luma is set so the stain changes
           luma too (the detector sees luma only); size = diameter.
Sizes: SIZES = 8, 12, 16, 24, 36, 48, 64 px.  Contrast levels scale with
the surface's own luma standard deviation s (clipped to [8, 40] DN): low
1.2-1.6 s, medium 2.0-2.6 s, high 3.0-4.0 s (target luma change inside the
defect; x1.3 at the core of the thin scratches and cracks).  index.json
records the measured luma contrast.

Mask: pixels inside the drawn shape whose BT.601 luma (Y = 0.299 R +
0.587 G + 0.114 B, 0..255) changed by at least MASK_DY = 2 between the
clean frame and the clean frame with the defect (i.e. before noise and
illumination gain).  Changes below MASK_DY are undone, so the mask is
exact: the frames differ from their clean version only inside it.  Masks
may have pinholes where the texture was already at the defect's value
(e.g. black grout under a dark spot).  A defect whose mask would be
smaller than MIN_AREA px is redrawn.

index.json: {"seed", "split", "size", "noise_dn", "mask_dy", "luma",
"surfaces": [{"name", "luma_mean", "luma_std"}], "teach": {surface: [paths]},
"test": [{"path", "mask" (null for normal), "surface", "label" (0 normal,
1 defect), "type" (null or a type above), "variant", "size_px" (nominal
size), "area_px" (mask pixels), "contrast" (mean |dY| over the mask, 0..255),
"contrast_rel" (contrast / surface luma std), "contrast_level"}]}.
Paths are relative to DIR.  Everything is deterministic: the same seed
gives the same bytes.
"""
import argparse
import json
import os
import sys
import time
import zlib

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import anomaly_data  # noqa: E402

TYPES = ("scratch", "spot", "crack", "missing", "stain")
SIZES = (8, 12, 16, 24, 36, 48, 64)
LEVELS = ("low", "medium", "high")
LEVEL_RANGE = {"low": (1.2, 1.6), "medium": (2.0, 2.6), "high": (3.0, 4.0)}
# thin line defects (partial pixel coverage) get a stronger peak
LINE_BOOST = 1.3
STD_CLIP = (8.0, 40.0)
NOISE_DN = 1.5
GAIN = 0.03
MASK_DY = 2.0
JITTER = 6
MIN_AREA = 4
# Foreign textures for "missing material" (training surfaces).
FOREIGN = ("gimp_rock", "gimpx_dirt", "fotoxx_sand", "gimp_paper",
           "colobot_desert4", "gimpx_pebbles", "fotoxx_stone",
           "gimp_crinklepaper")
STAINS = {  # name -> RGB hue (its brightness is set per stain)
    "rust": (150, 70, 25), "oil": (40, 36, 30), "coffee": (110, 70, 40),
    "verdigris": (60, 140, 110), "water": None,  # water: same hue, darker
}

_KIND = {"teach": 1, "normal": 2, "defect": 3}


def _rng(seed, surface, kind, i):
    return np.random.default_rng(
        [seed, zlib.crc32(surface.encode()), _KIND[kind], i])


# ---------------------------------------------------------------- frames

def _crop(surf, rng, size):
    h, w = surf.shape[:2]
    y0 = int(rng.integers(0, h - size + 1))
    x0 = int(rng.integers(0, w - size + 1))
    return surf[y0:y0 + size, x0:x0 + size].astype(np.float32)


def _view(surf, rng, size, base):
    """A frame of the fixed camera: the window at base (y, x) moved by up
    to JITTER px each way (placement tolerance of the product or of the
    camera mount); base None: a window anywhere (a moving web)."""
    if base is None:
        return _crop(surf, rng, size)
    h, w = surf.shape[:2]
    y0 = int(np.clip(base[0] + rng.integers(-JITTER, JITTER + 1), 0,
                     h - size))
    x0 = int(np.clip(base[1] + rng.integers(-JITTER, JITTER + 1), 0,
                     w - size))
    return surf[y0:y0 + size, x0:x0 + size].astype(np.float32)


def _camera(img, rng):
    g = rng.uniform(1 - GAIN, 1 + GAIN)
    noise = rng.standard_normal(img.shape, dtype=np.float32) * NOISE_DN
    return np.clip(np.round(img * g + noise), 0, 255).astype(np.uint8)


# -------------------------------------------------------------- geometry

def _box(cy, cx, rad, size):
    """Integer bounding box (y0, y1, x0, x1) of a disc, clipped."""
    y0 = max(0, int(np.floor(cy - rad)))
    y1 = min(size, int(np.ceil(cy + rad)) + 1)
    x0 = max(0, int(np.floor(cx - rad)))
    x1 = min(size, int(np.ceil(cx + rad)) + 1)
    return y0, y1, x0, x1


def _polyline(pts, width, inten, size):
    """Anti-aliased polyline.  pts (K, 2) float (y, x); width, inten (K,)
    per vertex.  Returns a (size, size) alpha map: max over segments of
    coverage * intensity."""
    alpha = np.zeros((size, size), np.float32)
    pad = float(width.max()) + 2
    y0 = max(0, int(pts[:, 0].min() - pad))
    y1 = min(size, int(pts[:, 0].max() + pad) + 1)
    x0 = max(0, int(pts[:, 1].min() - pad))
    x1 = min(size, int(pts[:, 1].max() + pad) + 1)
    if y1 <= y0 or x1 <= x0:
        return alpha
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    p = np.stack([yy.ravel(), xx.ravel()], 1)[:, None, :]  # (M, 1, 2)
    a = pts[:-1][None].astype(np.float32)                  # (1, S, 2)
    ab = (pts[1:] - pts[:-1])[None].astype(np.float32)
    ll = np.maximum((ab ** 2).sum(-1), 1e-6)
    t = np.clip(((p - a) * ab).sum(-1) / ll, 0, 1)         # (M, S)
    d = np.sqrt(((p - a - t[..., None] * ab) ** 2).sum(-1))
    w = width[:-1][None] + t * (width[1:] - width[:-1])[None]
    it = inten[:-1][None] + t * (inten[1:] - inten[:-1])[None]
    cov = np.clip(w / 2 + 0.5 - d, 0, 1) * it
    alpha[y0:y1, x0:x1] = cov.max(1).reshape(yy.shape)
    return alpha


def _blob(rng, cy, cx, r, size, soft, wobble=0.12, aspect=(0.6, 1.0)):
    """Irregular soft-edged blob of mean radius r: alpha (size, size) in
    [0, 1], smooth edge of width ~soft px."""
    asp = rng.uniform(*aspect)
    rot = rng.uniform(0, np.pi)
    ks = np.arange(2, 6)
    amp = rng.uniform(0, wobble, ks.size) / ks * 2
    ph = rng.uniform(0, 2 * np.pi, ks.size)
    y0, y1, x0, x1 = _box(cy, cx, r * 1.6 + soft + 2, size)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(rot) + dy * np.sin(rot)
    v = (-dx * np.sin(rot) + dy * np.cos(rot)) / asp
    th = np.arctan2(v, u)
    rr = np.sqrt(u ** 2 + v ** 2)
    rad = r * (1 + (amp[:, None, None]
                    * np.cos(ks[:, None, None] * th + ph[:, None, None])
                    ).sum(0))
    a = np.clip((rad - rr) / max(soft, 0.5) + 0.5, 0, 1)
    a = a * a * (3 - 2 * a)  # smoothstep
    out = np.zeros((size, size), np.float32)
    out[y0:y1, x0:x1] = a
    return out


def _smooth_noise(rng, size, cell):
    """Low-frequency noise in [0, 1]: bilinear upsampling of a random grid
    with `cell` px spacing."""
    n = size // max(cell, 1) + 2
    g = rng.random((n, n)).astype(np.float32)
    img = Image.fromarray(g, mode="F").resize(
        (int(n * cell), int(n * cell)), Image.BILINEAR)
    return np.asarray(img, np.float32)[:size, :size]


# --------------------------------------------------------------- defects

def _center(rng, size, ext):
    m = min(ext / 2 + 3, size / 2 - 1)
    return rng.uniform(m, size - m), rng.uniform(m, size - m)


def _shift_sign(ymean, c, rng, p_light=0.5):
    """+1 (lighter) or -1 (darker), keeping the change inside 0..255."""
    s = 1 if rng.random() < p_light else -1
    if s > 0 and ymean + c > 250:
        s = -1
    elif s < 0 and ymean - c < 5:
        s = 1
    return s


def _local(img, cy, cx, rad):
    y0, y1, x0, x1 = _box(cy, cx, max(rad, 4), img.shape[0])
    reg = img[y0:y1, x0:x1].reshape(-1, 3)
    rgb = reg.mean(0)
    y = anomaly_data.luma_f(reg)
    return rgb, float(y.mean()), float(y.std())


def d_scratch(img, rng, L, c):
    size = img.shape[0]
    cy, cx = _center(rng, size, L)
    th = rng.uniform(0, np.pi)
    dvec = np.array([np.sin(th), np.cos(th)]) * L / 2
    nvec = np.array([np.cos(th), -np.sin(th)])
    p0 = np.array([cy, cx]) - dvec
    p2 = np.array([cy, cx]) + dvec
    p1 = np.array([cy, cx]) + nvec * L * rng.uniform(-0.25, 0.25)
    k = max(4, int(L / 2))
    t = np.linspace(0, 1, k)[:, None]
    pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2
    width = np.full(k, rng.uniform(1.0, 2.5), np.float32)
    tt = t[:, 0]
    inten = np.clip(np.sin(np.pi * tt) * 2.5, 0, 1) * rng.uniform(0.75, 1, k)
    a = _polyline(pts, width, inten.astype(np.float32), size)
    _, ym, _ = _local(img, cy, cx, L / 2)
    c = c * LINE_BOOST
    s = _shift_sign(ym, c, rng, p_light=0.6)
    out = img + (s * c * a)[..., None]
    return out, a, ("light" if s > 0 else "dark")


def d_spot(img, rng, D, c):
    size = img.shape[0]
    r = D / 2
    cy, cx = _center(rng, size, D)
    variant = ("dark", "light", "dent")[int(rng.integers(0, 3))]
    soft = r * rng.uniform(0.2, 0.45) + 0.7
    a = _blob(rng, cy, cx, r, size, soft)
    _, ym, _ = _local(img, cy, cx, r)
    if variant == "dent":
        # depression: height -a; Lambertian-like shading from light dir
        ang = rng.uniform(0, 2 * np.pi)
        hb = _blur(a, max(1.0, r / 5))
        gy, gx = np.gradient(hb)
        sh = -(gy * np.sin(ang) + gx * np.cos(ang))
        m = np.abs(sh).max()
        sh = sh / m if m > 0 else sh
        delta = c * 1.6 * sh - 0.3 * c * hb
        out = img + delta[..., None]
        return out, hb, variant
    s = 1 if variant == "light" else -1
    if s > 0 and ym + c > 250:
        s, variant = -1, "dark"
    elif s < 0 and ym - c < 5:
        s, variant = 1, "light"
    if s < 0:  # multiplicative darkening keeps the texture
        g = 1 - np.clip(c / max(ym, 1), 0, 0.95) * a
        out = img * g[..., None]
    else:
        f = np.clip(c / max(255 - ym, 1), 0, 0.95) * a
        out = img + (255 - img) * f[..., None]
    return out, a, variant


def _blur(a, sigma):
    """Separable Gaussian blur (numpy, edges padded by replication)."""
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2).astype(np.float32)
    k /= k.sum()
    p = np.pad(a.astype(np.float32), r, mode="edge")
    p = sum(k[i] * p[i:i + a.shape[0]] for i in range(2 * r + 1))
    return sum(k[i] * p[:, i:i + a.shape[1]] for i in range(2 * r + 1))


def d_crack(img, rng, L, c):
    size = img.shape[0]
    cy, cx = _center(rng, size, L)
    th0 = rng.uniform(0, 2 * np.pi)
    step = 1.5
    w0 = rng.uniform(1.0, 2.2) if L >= 24 else rng.uniform(0.8, 1.4)
    branches = []

    def walk(p, th, length, w, depth):
        n = max(3, int(length / step))
        pts = [p]
        ths = th
        for i in range(n):
            ths = th + 0.7 * (ths - th) + rng.normal(0, 0.45)
            p = p + step * np.array([np.sin(ths), np.cos(ths)])
            pts.append(p)
            if depth < 2 and i > 2 and rng.random() < 0.06 * (3 - depth):
                bt = ths + rng.choice([-1, 1]) * rng.uniform(0.5, 1.1)
                walk(p, bt, (n - i) * step * rng.uniform(0.3, 0.6),
                     w * 0.7, depth + 1)
        pts = np.array(pts)
        k = len(pts)
        width = (w * (1 - 0.6 * np.linspace(0, 1, k))).astype(np.float32)
        branches.append((pts, np.maximum(width, 0.6)))

    start = np.array([cy, cx]) - L / 2 * np.array([np.sin(th0), np.cos(th0)])
    walk(start, th0, L, w0, 0)
    a = np.zeros((size, size), np.float32)
    for pts, width in branches:
        inten = np.ones(len(pts), np.float32)
        a = np.maximum(a, _polyline(pts, width, inten, size))
    _, ym, _ = _local(img, cy, cx, L / 2)
    g = 1 - np.clip(c * LINE_BOOST / max(ym, 1), 0.05, 0.92) * a
    return img * g[..., None], a, "dark"


_FOREIGN_CACHE = {}


def _foreign(rng, size):
    name = FOREIGN[int(rng.integers(0, len(FOREIGN)))]
    if name not in _FOREIGN_CACHE:
        _FOREIGN_CACHE[name] = anomaly_data.load_surface(
            name, max(512, size)).astype(np.float32)
    return name, _crop(_FOREIGN_CACHE[name], rng, size)


def d_missing(img, rng, D, c):
    size = img.shape[0]
    r = D / 2
    cy, cx = _center(rng, size, D)
    variant = ("hole", "flat", "foreign")[int(rng.integers(0, 3))]
    a = _blob(rng, cy, cx, r, size, rng.uniform(0.6, 1.5), wobble=0.25,
              aspect=(0.5, 1.0))
    rgb, ym, ys = _local(img, cy, cx, r * 1.5)
    if variant == "hole":
        # dark cavity: luma ym - c (at least 0.4 of the way to black),
        # shaded darker towards one side, with the surface's hue
        yt = max(3.0, min(ym - c, 0.6 * ym))
        ang = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        grad = ((yy - cy) * np.sin(ang) + (xx - cx) * np.cos(ang)) / max(r, 1)
        tex = anomaly_data.luma_f(img) / max(ym, 1)  # a dim trace of it
        fy = np.clip(yt * (1 + 0.3 * grad) * (0.75 + 0.25 * tex), 1, 255)
        fill = (rgb / max(ym, 1))[None, None] * fy[..., None]
        variant = "hole"
    elif variant == "flat":
        s = _shift_sign(ym, c, rng)
        ft = ym + s * c
        fill = np.broadcast_to(rgb * (ft / max(ym, 1)), img.shape)
        fill = fill + rng.standard_normal(img.shape[:2])[..., None] * 0.7
    else:
        name, f = _foreign(rng, size)
        fm = f.reshape(-1, 3).mean(0)
        fs = anomaly_data.luma_f(f).std()
        scale = max(ys, 4) / max(fs, 1) * rng.uniform(0.7, 1.4)
        s = _shift_sign(ym, c, rng)
        fill = (f - fm) * scale + rgb * ((ym + s * 0.5 * c) / max(ym, 1))
        variant = "foreign:" + name
    out = img * (1 - a[..., None]) + np.clip(fill, 0, 255) * a[..., None]
    return out, a, variant


def d_stain(img, rng, D, c):
    size = img.shape[0]
    r = D / 2
    cy, cx = _center(rng, size, D)
    name = list(STAINS)[int(rng.integers(0, len(STAINS)))]
    soft = r * rng.uniform(0.35, 0.7) + 1
    a = _blob(rng, cy, cx, r, size, soft, wobble=0.2)
    a = a * (0.65 + 0.35 * _smooth_noise(rng, size, max(3, int(r / 2))))
    rgb, ym, _ = _local(img, cy, cx, r)
    beta = rng.uniform(0.45, 0.8)
    hue = np.array(STAINS[name] if STAINS[name] is not None
                   else np.maximum(rgb, 1) ** 1.3, np.float32)
    yh = float(anomaly_data.luma_f(hue))
    # the stain's own direction: oil and water darker, the others towards
    # their colour's luma; clamped (not flipped) when there is no headroom
    s = -1 if name in ("oil", "water") or yh <= ym else 1
    yt = float(np.clip(ym + s * c / beta, max(3.0, 0.2 * ym), 250))
    stain = np.clip(hue * (yt / max(yh, 1)), 0, 255)
    tex = anomaly_data.luma_f(img) / max(ym, 1)  # keep the texture
    target = np.clip(stain[None, None] * tex[..., None], 0, 255)
    w = (beta * a)[..., None]
    return img * (1 - w) + target * w, a, name


DEFECTS = {"scratch": d_scratch, "spot": d_spot, "crack": d_crack,
           "missing": d_missing, "stain": d_stain}


def plan(n):
    """The fixed (type, size, level) of defect image i: types cycle fastest,
    then sizes, then levels, so any n is as balanced as possible."""
    out = []
    for i in range(n):
        t = TYPES[i % len(TYPES)]
        j = i // len(TYPES)
        s = SIZES[j % len(SIZES)]
        lv = LEVELS[(j // len(SIZES)) % len(LEVELS)]
        out.append((t, s, lv))
    return out


def make_defect(clean, rng, dtype, size_px, level, std):
    """Returns (defective float image, mask bool, info dict)."""
    se = float(np.clip(std, *STD_CLIP))
    y_clean = anomaly_data.luma_f(clean)
    for attempt in range(30):
        c = se * rng.uniform(*LEVEL_RANGE[level])
        out, support, variant = DEFECTS[dtype](clean, rng, size_px, c)
        out = np.clip(out, 0, 255)
        dy = anomaly_data.luma_f(out) - y_clean
        mask = (support > 0.01) & (np.abs(dy) >= MASK_DY)
        if mask.sum() >= MIN_AREA:
            break
    # pixels outside the mask are restored exactly to the clean frame
    out = np.where(mask[..., None], out, clean)
    info = {"type": dtype, "variant": variant, "size_px": int(size_px),
            "area_px": int(mask.sum()),
            "contrast": round(float(np.abs(dy[mask]).mean()), 2),
            "contrast_rel": round(float(np.abs(dy[mask]).mean()) / std, 3),
            "contrast_level": level}
    return out, mask, info


# ------------------------------------------------------------------ main

def surface_frames(name, seed, size, n_teach, n_normal, n_defect,
                   which=None, view="fixed"):
    """Yields (kind, i, rgb uint8, mask uint8 or None, info) for a surface.
    `which` optionally restricts to a dict kind -> set of indices.  view
    "fixed": every frame shows the same place of the surface, within
    JITTER px; "random": anywhere on it."""
    surf = anomaly_data.load_surface(name, max(512, 2 * size))
    surf_f = surf.astype(np.float32)
    std = float(anomaly_data.luma_f(surf).std())
    base = None
    if view == "fixed":
        r = _rng(seed, name, "teach", 1 << 30)
        base = (int(r.integers(JITTER, surf.shape[0] - size - JITTER + 1)),
                int(r.integers(JITTER, surf.shape[1] - size - JITTER + 1)))
    for kind, n in (("teach", n_teach), ("normal", n_normal)):
        for i in range(n):
            if which is not None and i not in which.get(kind, ()):
                continue
            rng = _rng(seed, name, kind, i)
            img = _camera(_view(surf_f, rng, size, base), rng)
            yield kind, i, img, None, None
    for i, (dtype, s, lv) in enumerate(plan(n_defect)):
        if which is not None and i not in which.get("defect", ()):
            continue
        rng = _rng(seed, name, "defect", i)
        clean = _view(surf_f, rng, size, base)
        out, mask, info = make_defect(clean, rng, dtype, s, lv, std)
        img = _camera(out, rng)
        yield "defect", i, img, (mask * 255).astype(np.uint8), info


def _save(path, arr):
    # fast: noisy frames barely compress at higher levels
    Image.fromarray(arr).save(path, compress_level=1)


def generate(out_dir, split, size, n_teach, n_normal, n_defect, seed,
             view="fixed"):
    names = anomaly_data.surfaces(split)
    index = {"seed": seed, "split": split, "size": size, "view": view,
             "jitter_px": JITTER if view == "fixed" else None,
             "noise_dn": NOISE_DN, "illumination": [1 - GAIN, 1 + GAIN],
             "mask_dy": MASK_DY,
             "luma": "BT.601: Y = 0.299 R + 0.587 G + 0.114 B, 0..255",
             "surfaces": [], "teach": {}, "test": []}
    for name in names:
        surf = anomaly_data.load_surface(name, max(512, 2 * size))
        y = anomaly_data.luma_f(surf)
        index["surfaces"].append({"name": name,
                                  "luma_mean": round(float(y.mean()), 2),
                                  "luma_std": round(float(y.std()), 2)})
        os.makedirs(os.path.join(out_dir, name, "teach"), exist_ok=True)
        os.makedirs(os.path.join(out_dir, name, "test"), exist_ok=True)
        teach = []
        for kind, i, img, mask, info in surface_frames(
                name, seed, size, n_teach, n_normal, n_defect, view=view):
            if kind == "teach":
                rel = f"{name}/teach/{i:04d}.png"
                teach.append(rel)
            elif kind == "normal":
                rel = f"{name}/test/normal_{i:04d}.png"
                index["test"].append({
                    "path": rel, "mask": None, "surface": name, "label": 0,
                    "type": None, "variant": None, "size_px": 0,
                    "area_px": 0, "contrast": 0.0, "contrast_rel": 0.0,
                    "contrast_level": None})
            else:
                rel = f"{name}/test/defect_{i:04d}.png"
                mrel = f"{name}/test/defect_{i:04d}_mask.png"
                _save(os.path.join(out_dir, mrel), mask)
                index["test"].append(dict(
                    {"path": rel, "mask": mrel, "surface": name, "label": 1},
                    **info))
            _save(os.path.join(out_dir, rel), img)
        index["teach"][name] = teach
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    return index


def _dilate(m, r):
    out = m.copy()
    for _ in range(r):
        o = out.copy()
        o[1:] |= out[:-1]
        o[:-1] |= out[1:]
        o[:, 1:] |= out[:, :-1]
        o[:, :-1] |= out[:, 1:]
        out = o
    return out


def preview(path, split, size, n_defect, seed, n_norm=2, n_def=6):
    """Contact sheet: per surface a row of n_norm normal test frames and
    n_def defect frames (one of each type first), the mask outlined in
    yellow just outside the defect."""
    names = anomaly_data.surfaces(split)
    pl = plan(n_defect)
    cols = n_norm + n_def
    sheet = Image.new("RGB", (cols * size, len(names) * (size + 14)),
                      (40, 40, 40))
    for row, name in enumerate(names):
        # pick defect indices: a spread of types, sizes and levels
        picks = []
        for t in range(n_def):
            want = TYPES[t % len(TYPES)]
            cands = [i for i, p in enumerate(pl) if p[0] == want]
            picks.append(cands[(row * 3 + t * 7) % len(cands)])
        which = {"normal": set(range(n_norm)), "defect": set(picks)}
        got = {}
        for kind, i, img, mask, info in surface_frames(
                name, seed, size, 0, n_norm, n_defect, which):
            got[(kind, i)] = (img, mask, info)
        tiles = [("normal", i) for i in range(n_norm)] + \
                [("defect", i) for i in picks]
        for col, key in enumerate(tiles):
            img, mask, info = got[key]
            img = img.copy()
            label = f"{name} normal" if mask is None else (
                f"{info['type']}/{info['variant'][:10]} {info['size_px']}px "
                f"{info['contrast_level']} dY={info['contrast']:.0f}")
            if mask is not None:
                m = mask > 0
                ring = _dilate(m, 3) & ~_dilate(m, 2)
                img[ring] = (255, 255, 0)
            x, y = col * size, row * (size + 14)
            sheet.paste(Image.fromarray(img), (x, y + 14))
            ImageDraw.Draw(sheet).text((x + 2, y + 1), label,
                                       fill=(255, 255, 255))
    sheet.save(path)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="synthetic-defect benchmark (see module docstring)")
    ap.add_argument("-o", "--out", help="output directory")
    ap.add_argument("--split", default="eval", choices=("eval", "val"))
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--n-teach", type=int, default=100)
    ap.add_argument("--n-normal", type=int, default=100)
    ap.add_argument("--n-defect", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--preview", help="write a contact sheet PNG")
    ap.add_argument("--view", default="fixed", choices=("fixed", "random"),
                    help="fixed: a camera on the same place of the surface "
                    "(within JITTER px); random: windows anywhere on it")
    args = ap.parse_args(argv)
    if not args.out and not args.preview:
        ap.error("need -o DIR and/or --preview FILE.png")
    t0 = time.time()
    if args.out:
        idx = generate(args.out, args.split, args.size, args.n_teach,
                       args.n_normal, args.n_defect, args.seed, args.view)
        n_def = sum(t["label"] for t in idx["test"])
        print(f"{args.out}: {len(idx['surfaces'])} surfaces, "
              f"{sum(map(len, idx['teach'].values()))} teach, "
              f"{len(idx['test']) - n_def} normal, {n_def} defect images "
              f"in {time.time() - t0:.1f} s")
    if args.preview:
        preview(args.preview, args.split, args.size, args.n_defect,
                args.seed)
        print(f"{args.preview} written")


if __name__ == "__main__":
    main()
