#!/usr/bin/env python3
"""Generate the test images of detect/ (PIL encodes them; PIL's decoding of each is the reference).

images/ holds one of each kind the extractor must read: an RGB JPEG with EXIF orientation 6, a grayscale
JPEG, a CMYK JPEG (Adobe, inverted as Photoshop writes it), a PNG with alpha, an image already named as
COCO's are, and a corrupt JPEG. images_expected.npz holds PIL's RGB pixels of each readable one (after
EXIF transposition), keyed by file name.

Run: python3 detect/testdata/make_test_images.py   (needs numpy and PIL)
"""
import os

import numpy as np
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "images")
os.makedirs(OUT, exist_ok=True)
rng = np.random.RandomState(7)


def picture(h, w, seed):
    r = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx * 7 + seed * 13) % 256, (yy * 9) % 256, ((xx * yy) // 3) % 256], -1)
    y0, x0 = r.randint(0, h // 2), r.randint(0, w // 2)
    img[y0:y0 + h // 3, x0:x0 + w // 3] = r.randint(0, 256, 3)
    return img.astype(np.uint8)


expected = {}
# RGB JPEG stored sideways, EXIF orientation 6 (rotate 90 degrees clockwise to view)
im = Image.fromarray(picture(30, 44, 1))
exif = Image.Exif()
exif[0x0112] = 6
im.save(os.path.join(OUT, "sideways.jpg"), quality=95, subsampling=0, exif=exif.tobytes())
Image.fromarray(picture(28, 40, 2)).convert("L").save(os.path.join(OUT, "gray.jpg"), quality=95)
Image.fromarray(picture(34, 26, 3)).convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"), quality=95)
rgba = np.concatenate([picture(27, 39, 4), rng.randint(0, 256, (27, 39, 1)).astype(np.uint8)], -1)
Image.fromarray(rgba, "RGBA").save(os.path.join(OUT, "alpha.png"))
Image.fromarray(picture(31, 37, 5)).save(os.path.join(OUT, "COCO_val2014_000000000042.jpg"), quality=95)
with open(os.path.join(OUT, "COCO_val2014_000000000042.jpg"), "rb") as f:
    good = f.read()
with open(os.path.join(OUT, "corrupt.jpg"), "wb") as f:
    f.write(good[:200] + bytes(rng.randint(0, 256, 300).astype(np.uint8)))

for name in sorted(os.listdir(OUT)):
    if name == "corrupt.jpg":
        continue
    im = ImageOps.exif_transpose(Image.open(os.path.join(OUT, name)))
    expected[name] = np.asarray(im.convert("RGB"))
np.savez_compressed(os.path.join(HERE, "images_expected.npz"), **expected)
print({k: v.shape for k, v in expected.items()})
