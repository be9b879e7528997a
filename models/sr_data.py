"""Super-resolution data for the ESPCN recipes: training photos and
validation photos from Debian packages, the degradation model and the
metric (models/README.md).

Everything works on luma Y (BT.601) in [0, 1] as float32 NumPy arrays.
"""
import glob
import os

import numpy as np
from PIL import Image

# Training photos, in named sets (train_espcn.py --data SET,SET...): each
# set is (the Debian packages that ship it, its paths and globs).  Large
# photos are downscaled so their short side is 720 pixels: that
# averages away their JPEG artifacts and sensor noise, so the network
# learns detail rather than noise.
TRAIN_SETS = {
    "wallpapers": ("mate-backgrounds lxqt-themes", [
        "/usr/share/backgrounds/mate/nature/*.jpg",
        "/usr/share/backgrounds/mate/abstract/Elephants.jpg",
        "/usr/share/lxqt/wallpapers/after-the-rain.jpg",
        "/usr/share/lxqt/wallpapers/appleflower.png",
        "/usr/share/lxqt/wallpapers/Butterfly-Kenneth-Wimer.jpg",
        "/usr/share/lxqt/wallpapers/butterfly.png",
        "/usr/share/lxqt/wallpapers/cloud.png",
        "/usr/share/lxqt/wallpapers/drop.png",
        "/usr/share/lxqt/wallpapers/flowers.png",
        "/usr/share/lxqt/wallpapers/fog.jpg",
        "/usr/share/lxqt/wallpapers/Valendas.png",
    ]),
    # 480x360 backdrops kept at full size, for variety (mild JPEG
    # artifacts, some drawings).
    "scratch": ("scratch", [
        "/usr/share/scratch/Media/Backgrounds/Indoors/*.jpg",
        "/usr/share/scratch/Media/Backgrounds/Nature/*.jpg",
        "/usr/share/scratch/Media/Backgrounds/Outdoors/*.jpg",
        "/usr/share/scratch/Media/Backgrounds/Sports/*.jpg",
    ]),
    # 7 photos (animals, people, a painting).
    "darknet": ("darknet", ["/usr/share/darknet/data/*.jpg"]),
    # The wallpapers that are photographs (1365-6028 px wide), not
    # renderings.
    "photos": ("lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 "
               "plasma-workspace-wallpapers",
               ["/usr/share/backgrounds/%s.jpg" % n for n in (
        "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly",
        "Picture_0B_by_freespace", "Picture_1A_by_freespace",
        "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi",
        "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi",
        "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi",
        "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi",
        "Kleiber_by_Lukas_Baubkus")] + [
        "/usr/share/wallpapers/%s/contents/images/2560x1600.jpg" % n
        for n in ("Autumn", "BytheWater", "ColdRipple", "ColorfulCups",
                  "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
                  "Kite", "OneStandsOut", "Path", "summer_1am")]),
}
DEFAULT_TRAIN_SETS = ("wallpapers", "photos")
WALLPAPER_SHORT_SIDE = 720

# Validation photos, never trained on (apt-get install python3-skimage
# opencv-doc): the classic test images.
VAL_FILES = [
    "/usr/lib/python3/dist-packages/skimage/data/astronaut.png",
    "/usr/lib/python3/dist-packages/skimage/data/camera.png",
    "/usr/lib/python3/dist-packages/skimage/data/chelsea.png",
    "/usr/lib/python3/dist-packages/skimage/data/coffee.png",
    "/usr/lib/python3/dist-packages/skimage/data/motorcycle_left.png",
    "/usr/share/doc/opencv-doc/examples/data/baboon.jpg",
    "/usr/share/doc/opencv-doc/examples/data/butterfly.jpg",
    "/usr/share/doc/opencv-doc/examples/data/fruits.jpg",
    "/usr/share/doc/opencv-doc/examples/data/home.jpg",
    "/usr/share/doc/opencv-doc/examples/data/messi5.jpg",
    "/usr/share/doc/opencv-doc/examples/data/orange.jpg",
]


def luma(img):
    """BT.601 luma of a PIL image as float32 in [0, 1]."""
    if img.mode in ("L", "I;16", "I", "F"):
        y = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
        return y
    rgb = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    return (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1]
            + 0.114 * rgb[..., 2]).astype(np.float32)


def resize_y(y, size):
    """Bicubic resize of a luma plane (PIL, antialiased when shrinking),
    size = (width, height)."""
    img = Image.fromarray(y.astype(np.float32), mode="F")
    return np.asarray(img.resize(size, Image.BICUBIC), dtype=np.float32)


def shrink(y, f):
    """The luma plane scaled by f < 1 (PIL bicubic, antialiased), in
    [0, 1]."""
    h, w = y.shape
    return np.clip(resize_y(y, (round(w * f), round(h * f))), 0, 1)


def load_y(path):
    return luma(Image.open(path))


def train_paths(sets=DEFAULT_TRAIN_SETS):
    paths = set()
    for name in sets:
        if name not in TRAIN_SETS:
            raise SystemExit("unknown training photo set %r (known: %s)"
                             % (name, ", ".join(sorted(TRAIN_SETS))))
        packages, globs = TRAIN_SETS[name]
        found = set()
        for g in globs:
            hits = glob.glob(g)
            if not hits and "*" not in g:
                raise SystemExit("missing training photo %s: apt-get install "
                                 "%s" % (g, packages))
            found.update(hits)
        if not found:
            raise SystemExit("no %s training photos: apt-get install %s"
                             % (name, packages))
        paths |= found
    return sorted(paths)


def train_images(sets=DEFAULT_TRAIN_SETS, short_side=WALLPAPER_SHORT_SIDE):
    paths = train_paths(sets)
    out = []
    for p in paths:
        y = load_y(p)
        if min(y.shape) > short_side:
            y = shrink(y, short_side / min(y.shape))
        out.append((os.path.basename(p), np.clip(y, 0, 1)))
    return out


def val_images():
    missing = [p for p in VAL_FILES if not os.path.exists(p)]
    if missing:
        raise SystemExit("missing validation photos %s: apt-get install "
                         "python3-skimage opencv-doc" % missing)
    return [(os.path.basename(p), load_y(p)) for p in VAL_FILES]


def degrade(hr, r):
    """The standard SR protocol: crop to a multiple of r, then bicubic
    downscaling with antialiasing.  Returns (hr_cropped, lr)."""
    h, w = hr.shape
    h, w = h - h % r, w - w % r
    hr = hr[:h, :w]
    lr = np.clip(resize_y(hr, (w // r, h // r)), 0, 1)
    return hr, lr


def bicubic_up(lr, r):
    h, w = lr.shape
    return np.clip(resize_y(lr, (w * r, h * r)), 0, 1)


def psnr_y(a, b, r):
    """PSNR on [0, 1] luma with a border of r pixels cropped."""
    a = np.clip(a, 0, 1)[r:-r, r:-r].astype(np.float64)
    b = np.clip(b, 0, 1)[r:-r, r:-r].astype(np.float64)
    mse = np.mean((a - b) ** 2)
    return 10 * np.log10(1.0 / mse)
