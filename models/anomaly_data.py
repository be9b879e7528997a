"""Texture library for the anomaly-detection recipe: surfaces from Debian
packages, a fixed split by surface, and training patches.

Packages (apt-get install --no-install-recommends ...) and where:
  gimp-data          .pat patterns, /usr/share/gimp/2.0/patterns/<Cat>/*.pat
  gimp-data-extras   more .pat patterns, /usr/share/gimp/2.0/patterns/*.pat
                     (rust, worn metal, dried mud, floor tiles, ...)
  fotoxx-common      JPEG/GIF patterns, /usr/share/fotoxx/data/patterns
  colobot-common-textures
                     terrain, wall textures: /usr/share/games/colobot/textures
  mate-backgrounds   one photo (a leaf), /usr/share/backgrounds/mate/nature

Conventions
-----------
* A *surface* is one texture file (optionally one crop box of it); its name is
  ``<source>_<stem>``, source one of ``gimp`` (gimp-data), ``gimpx``
  (gimp-data-extras), ``fotoxx``, ``colobot``, ``photo``.
* ``load_surface(name)`` returns RGB uint8, shape (H, W, 3), with
  H, W >= 512 (``min_size``).  Sources smaller than that are tiled:
  periodically for pattern files (they are made to tile); crops of atlases
  and photos are mirrored instead unless their opposite edges match, so
  there is no seam.  Photos larger than ``max_side`` are downscaled (PIL
  bicubic, antialiased).  At these scales surface features are a few to
  ~30 px in a 256x256 frame.
* Luma is BT.601 on 8-bit values: Y = 0.299 R + 0.587 G + 0.114 B, rounded
  and clipped to uint8 [0, 255] (``luma_u8``) or kept as float in [0, 255]
  (``luma_f``).  Training patches are uint8 luma 0..255.
* Grey (1- or 2-byte) .pat patterns are expanded to RGB (R = G = B).

Split (by surface, fixed; see SPLIT_VAL / SPLIT_EVAL below)
----------------------------------------------------------
* ``eval`` (8): fotoxx_burlap (fabric), gimp_leather (leather),
  gimp_granite1 (stone), gimp_walnut (wood), gimp_corkboard (cork),
  gimpx_rust (rusty metal), gimpx_floor_tile (regular tiles),
  colobot_dirty02 (grimy plaster).  Never used for training or tuning.
* ``val`` (4): fotoxx_canvas2, gimp_slate, gimp_wood5, colobot_dirty06.
  For tuning hyperparameters only.
* ``train``: every other entry of CATALOG, minus HELD_OUT_SIBLINGS (near
  duplicates of eval materials: gimp_burlap, gimpx_granite2,
  fotoxx_imitation_leather) and minus surfaces whose luma standard
  deviation is below FLAT_STD (nearly flat).  The rule is deterministic, so
  ``surfaces('train')`` is reproducible (sorted by name).

The catalogue below lists only real surfaces or surface-like textures;
clip-art, icons, sky, game maps, text sheets and strongly synthetic
patterns of the packages are left out by hand.
"""
import functools
import os
import struct

import numpy as np
from PIL import Image

GIMP = "/usr/share/gimp/2.0/patterns"
FOTOXX = "/usr/share/fotoxx/data/patterns"
COLOBOT = "/usr/share/games/colobot/textures"
MATE = "/usr/share/backgrounds/mate/nature"

# name -> (path, crop box (left, top, right, bottom) or None, max_side)
# max_side: the larger side after downscaling (None = native scale).
CATALOG = {}


def _add(source, path, crop=None, max_side=None, stem=None):
    if stem is None:
        stem = os.path.splitext(os.path.basename(path))[0]
    CATALOG[f"{source}_{stem}".replace("-", "_")] = (path, crop, max_side)


for _p in ("Animal/leather", "Animal/leopard", "Fabric/burlap",
           "Food/choc_swirl", "Food/java", "Legacy/3dgreen",
           "Legacy/blueweb", "Legacy/fibers", "Legacy/nops",
           "Legacy/recessed", "Paper/crinklepaper", "Paper/paper",
           "Plant/leaves", "Stone/Craters", "Stone/amethyst", "Stone/brick",
           "Stone/cracked", "Stone/granite1", "Stone/ground1",
           "Stone/marble1", "Stone/marble2", "Stone/marble3",
           "Stone/pink_marble", "Stone/rock", "Stone/slate",
           "Stone/stone33", "Stone/terra", "Water/ice", "Water/pool",
           "Wood/bark", "Wood/burlwood", "Wood/corkboard", "Wood/parque1",
           "Wood/parque2", "Wood/parque3", "Wood/pine", "Wood/walnut",
           "Wood/wood1", "Wood/wood2", "Wood/wood3", "Wood/wood4",
           "Wood/wood5"):
    _add("gimp", f"{GIMP}/{_p}.pat", stem=_p.split("/")[1].lower())

for _p in ("blackwhitefloor", "blob1", "blob2", "cashew", "circuit",
           "clovers", "coins", "colored_rock", "crash1", "crystals",
           "curvedledge", "dirt", "drymud", "dunes", "eggcarton",
           "floor_tile", "funnymess", "funnymess2", "goldcloth", "granite2",
           "green_curtains", "greyweave", "greyweave2", "krinkle", "leaves3",
           "leaves4", "leaves6", "metallica", "metalpaths", "mhuerock",
           "pebbles", "purple", "rust", "swirl", "swirl2", "wax",
           "woodblind", "worn_metal_chex"):
    _add("gimpx", f"{GIMP}/{_p}.pat")

for _p in ("bathroom.jpg", "blocks.jpg", "brick_wall.jpg", "bulging.jpg",
           "burlap.jpg", "canvas2.jpg", "canvas_blue.jpg", "fluffy.jpg",
           "fuzzy-blue.jpg", "fuzzy-darkgrey.jpg", "gregre.gif",
           "imitation_leather.jpg", "lawn-artificial.jpg", "lawn.jpg",
           "lightblue-wet.jpg", "linen-fine.jpg", "marble.jpg",
           "pattern.jpg", "pattern_117.jpg", "pebble-light.jpg",
           "purple.jpg", "sand.jpg", "soft-structure_grey.jpg", "stone.jpg",
           "structure_darkgreen.gif", "wall-grey.jpg", "wet-turquoise.jpg",
           "wood.jpg"):
    _add("fotoxx", f"{FOTOXX}/{_p}")

for _p in ("desert4", "desert5", "dirty01", "dirty02", "dirty03",
           "dirty04", "dirty06", "dirty08", "lava04", "lava05",
           "mars103", "mix01", "moon103", "terra002", "water12", "water16"):
    _add("colobot", f"{COLOBOT}/{_p}.png")
# Atlas textures: only the part that is one surface.
_add("colobot", f"{COLOBOT}/objects/cellar01.png", crop=(0, 0, 512, 256),
     stem="cellar01_concrete")
_add("colobot", f"{COLOBOT}/objects/wood01.png", crop=(0, 0, 256, 256),
     stem="wood01_planks")
# A photo: leaf veins, downscaled so the veins are 10-30 px apart.
_add("photo", f"{MATE}/Blinds.jpg", max_side=768, stem="leaf")

SPLIT_EVAL = ["fotoxx_burlap", "gimp_leather", "gimp_granite1",
              "gimp_walnut", "gimp_corkboard", "gimpx_rust",
              "gimpx_floor_tile", "colobot_dirty02"]
SPLIT_VAL = ["fotoxx_canvas2", "gimp_slate", "gimp_wood5", "colobot_dirty06"]
HELD_OUT_SIBLINGS = ["gimp_burlap", "gimpx_granite2",
                     "fotoxx_imitation_leather"]
FLAT_STD = 6.0  # luma std (0..255) below which a surface counts as flat

MIN_SIZE = 512


def read_pat(path):
    """Parse a GIMP .pat file.  Returns (name, pixels) with pixels uint8
    (height, width, bytes).

    Format (all integers 32-bit big-endian): header_size, version (1),
    width, height, bytes per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA),
    magic 'GPAT', then the UTF-8 name, NUL-terminated, up to header_size;
    then width*height*bytes pixel bytes, row-major."""
    with open(path, "rb") as f:
        data = f.read()
    header_size, version, width, height, nbytes = struct.unpack(
        ">5I", data[:20])
    if data[20:24] != b"GPAT" or version != 1 or not 1 <= nbytes <= 4:
        raise ValueError(f"{path}: not a GIMP pattern (v1)")
    name = data[24:header_size].split(b"\0")[0].decode("utf-8", "replace")
    n = width * height * nbytes
    if len(data) < header_size + n:
        raise ValueError(f"{path}: truncated")
    pix = np.frombuffer(data, np.uint8, n, header_size)
    return name, pix.reshape(height, width, nbytes).copy()


def _to_rgb(a):
    """(H, W, C) uint8 with C in 1..4 -> RGB; alpha composited on black."""
    if a.ndim == 2:
        a = a[..., None]
    c = a.shape[2]
    if c in (2, 4):
        alpha = a[..., -1:].astype(np.float32) / 255.0
        a = np.round(a[..., :-1] * alpha).astype(np.uint8)
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return np.ascontiguousarray(a)


def luma_f(rgb):
    """BT.601 luma of an RGB array (any dtype, 0..255) as float32 [0, 255]."""
    rgb = np.asarray(rgb, dtype=np.float32)
    return (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1]
            + 0.114 * rgb[..., 2]).astype(np.float32)


def luma_u8(rgb):
    """BT.601 luma rounded and clipped to uint8 [0, 255]."""
    return np.clip(np.round(luma_f(rgb)), 0, 255).astype(np.uint8)


def _seamless(a):
    """True if the image's opposite edges continue each other (tileable):
    the jump across the wrap-around is not much larger than an ordinary
    step between neighbouring rows/columns."""
    y = luma_f(a)
    inner_x = np.abs(np.diff(y, axis=1)).mean()
    inner_y = np.abs(np.diff(y, axis=0)).mean()
    wrap_x = np.abs(y[:, 0] - y[:, -1]).mean()
    wrap_y = np.abs(y[0, :] - y[-1, :]).mean()
    return wrap_x <= 1.6 * inner_x + 1 and wrap_y <= 1.6 * inner_y + 1


def _tile(a, min_size, periodic):
    h, w = a.shape[:2]
    if h >= min_size and w >= min_size:
        return a
    if not periodic and not _seamless(a):  # mirror: copies meet seamlessly
        a = np.concatenate([a, a[:, ::-1]], axis=1)
        a = np.concatenate([a, a[::-1]], axis=0)
        h, w = a.shape[:2]
    ry = -(-min_size // h)
    rx = -(-min_size // w)
    return np.tile(a, (ry, rx, 1))


@functools.lru_cache(maxsize=None)
def _load_cached(name, min_size):
    path, crop, max_side = CATALOG[name]
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} missing: apt-get install --no-install-recommends "
            "gimp-data gimp-data-extras fotoxx-common "
            "colobot-common-textures mate-backgrounds")
    if path.endswith(".pat"):
        a = _to_rgb(read_pat(path)[1])
        img = None
    else:
        img = Image.open(path)
        img = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P")
                          and "transparency" in img.info else "RGB")
        a = None
    if img is not None:
        if crop is not None:
            img = img.crop(crop)
        if max_side is not None and max(img.size) > max_side:
            s = max_side / max(img.size)
            img = img.resize((round(img.size[0] * s), round(img.size[1] * s)),
                             Image.BICUBIC)
        a = _to_rgb(np.asarray(img))
    # Pattern files are made to tile; crops and photos are not (mirror them
    # unless their edges happen to match).
    a = _tile(a, min_size, periodic=crop is None and max_side is None)
    a.setflags(write=False)
    return a


def load_surface(name, min_size=MIN_SIZE):
    """RGB uint8 array (H, W, 3), H and W >= min_size, of surface `name`
    (read-only; copy before modifying)."""
    return _load_cached(name, int(min_size))


def surface_std(name):
    """Luma standard deviation (0..255) of the surface's source image."""
    return float(luma_f(load_surface(name, 1)).std())


@functools.lru_cache(maxsize=None)
def _train_list():
    held = set(SPLIT_EVAL) | set(SPLIT_VAL) | set(HELD_OUT_SIBLINGS)
    names = []
    for n in sorted(CATALOG):
        if n in held or not os.path.exists(CATALOG[n][0]):
            continue
        if surface_std(n) < FLAT_STD:
            continue
        names.append(n)
    return tuple(names)


def surfaces(split):
    """Names of the surfaces of split 'train', 'val' or 'eval' (a list;
    eval and val in the documented order, train sorted)."""
    if split == "eval":
        return list(SPLIT_EVAL)
    if split == "val":
        return list(SPLIT_VAL)
    if split == "train":
        return list(_train_list())
    raise ValueError(f"unknown split {split!r}")


def random_patches(split, n, size, rng, augment=True):
    """n random luma patches from the surfaces of `split`.

    Returns (patches, labels): patches uint8 (n, size, size), BT.601 luma
    0..255; labels int64 (n,), the index of the patch's surface in
    surfaces(split).  Surfaces are drawn uniformly, positions uniformly.
    Augmentation (if `augment`): random horizontal flip, random rotation by
    a multiple of 90 degrees, contrast x[0.9, 1.1] about the patch mean and
    brightness x[0.9, 1.1], then rounding and clipping to [0, 255].
    `rng` is a numpy Generator (np.random.default_rng(seed))."""
    names = surfaces(split)
    labels = rng.integers(0, len(names), size=n)
    out = np.empty((n, size, size), np.uint8)
    min_size = max(MIN_SIZE, 2 * size)
    for k, name in enumerate(names):
        idx = np.nonzero(labels == k)[0]
        if idx.size == 0:
            continue
        y = luma_f(load_surface(name, min_size))
        h, w = y.shape
        ys = rng.integers(0, h - size + 1, size=idx.size)
        xs = rng.integers(0, w - size + 1, size=idx.size)
        for i, y0, x0 in zip(idx, ys, xs):
            p = y[y0:y0 + size, x0:x0 + size]
            if augment:
                if rng.random() < 0.5:
                    p = p[:, ::-1]
                p = np.rot90(p, int(rng.integers(0, 4)))
                c = rng.uniform(0.9, 1.1)
                b = rng.uniform(0.9, 1.1)
                m = p.mean()
                p = ((p - m) * c + m) * b
            out[i] = np.clip(np.round(p), 0, 255)
    return out, labels.astype(np.int64)


def _main():
    import argparse
    ap = argparse.ArgumentParser(description="list the texture split")
    ap.add_argument("--sheet", help="write a contact sheet PNG of a split")
    ap.add_argument("--split", default="eval")
    args = ap.parse_args()
    for s in ("train", "val", "eval"):
        names = surfaces(s)
        print(f"{s} ({len(names)}): {' '.join(names)}")
    flat = [n for n in sorted(CATALOG) if os.path.exists(CATALOG[n][0])
            and surface_std(n) < FLAT_STD]
    print("skipped as flat:", " ".join(flat) or "none")
    if args.sheet:
        from PIL import ImageDraw
        names = surfaces(args.split)
        t, cols = 256, 6
        rows = -(-len(names) // cols)
        sheet = Image.new("RGB", (cols * t, rows * t))
        for i, n in enumerate(names):
            im = Image.fromarray(load_surface(n)[:t, :t].copy())
            ImageDraw.Draw(im).text((2, 2), n, fill=(255, 255, 0))
            sheet.paste(im, ((i % cols) * t, (i // cols) * t))
        sheet.save(args.sheet)


if __name__ == "__main__":
    _main()
