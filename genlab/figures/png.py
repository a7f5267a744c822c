"""PNG pictures with Pillow (no plotly, no streamlit): image grids, and the sample snapshots of
every kind that run folders, TensorBoard and model cards keep."""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image


def image_grid(
    images: torch.Tensor | np.ndarray, nrow: int | None = None, pad: int = 1, min_cell: int = 32
) -> Image.Image:
    """(N, C, H, W) in [0, 1] -> one PIL image; small images are upscaled (nearest) to `min_cell`
    pixels."""
    x = torch.as_tensor(images).detach().float().cpu().clamp(0, 1)
    n, c, h, w = x.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    ncol = math.ceil(n / nrow)
    grid = torch.ones(c, ncol * (h + pad) + pad, nrow * (w + pad) + pad)  # (C, H', W') white gaps
    for i in range(n):
        r, q = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        grid[:, top : top + h, left : left + w] = x[i]
    arr = (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)  # (H', W', C)
    im = Image.fromarray(arr[:, :, 0] if c == 1 else arr, mode="L" if c == 1 else "RGB")
    factor = max(1, math.ceil(min_cell / max(h, w)))
    if factor > 1:
        im = im.resize((im.width * factor, im.height * factor), Image.NEAREST)
    return im


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def image_grid_png(images: torch.Tensor | np.ndarray, nrow: int | None = None) -> bytes:
    return png_bytes(image_grid(images, nrow))


# ----- snapshots as PNG, without plotly or matplotlib (TensorBoard, MLflow, model cards) -------
PALETTE = ((239, 85, 59), (99, 110, 250), (0, 204, 150), (171, 99, 250), (255, 161, 90))
GREY = (185, 185, 185)


def padded_range(a: np.ndarray, pad: float = 0.15) -> list[float]:
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    span = (hi - lo) or 1.0
    return [lo - pad * span, hi + pad * span]


def _to_pixels(v: np.ndarray, lo: float, hi: float, size: int, flip: bool = False) -> np.ndarray:
    """Data coordinates -> integer pixel positions in [0, size - 1] (y grows downwards)."""
    u = (v - lo) / ((hi - lo) or 1.0)
    u = 1 - u if flip else u
    return np.clip(np.round(u * (size - 1)), 0, size - 1).astype(int)


def points_png(samples: np.ndarray, real: np.ndarray | None = None, size: int = 320) -> bytes:
    """Generated 2D points (n, 2), or (n, 3) with a class label in column 2, drawn over the real
    ones (grey) on axes fixed by the real data, as the live page draws them: 2x2-pixel dots."""
    s = np.asarray(samples, dtype=np.float32)
    ref = np.asarray(real, dtype=np.float32) if real is not None and len(real) else s
    (x0, x1), (y0, y1) = padded_range(ref[:, 0]), padded_range(ref[:, 1])
    half = max(x1 - x0, y1 - y0) / 2  # equal axes: a circle stays a circle
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    canvas = np.full((size, size, 3), 255, dtype=np.uint8)  # (H, W, RGB)
    layers = [(real, None)] if real is not None and len(real) else []
    layers.append((s, s[:, 2].astype(int) if s.shape[1] >= 3 else None))
    for i, (arr, labels) in enumerate(layers):
        a = np.asarray(arr, dtype=np.float32)
        ok = np.isfinite(a[:, :2]).all(1)
        px = _to_pixels(a[ok, 0], cx - half, cx + half, size)
        py = _to_pixels(a[ok, 1], cy - half, cy + half, size, flip=True)
        if i == 0 and len(layers) == 2:
            color = np.array([GREY] * len(px), dtype=np.uint8)
        elif labels is not None:
            color = np.array(PALETTE, dtype=np.uint8)[labels[ok] % len(PALETTE)]
        else:
            color = np.array([PALETTE[0]] * len(px), dtype=np.uint8)
        for dy in (0, 1):
            for dx in (0, 1):
                canvas[np.minimum(py + dy, size - 1), np.minimum(px + dx, size - 1)] = color
    return png_bytes(Image.fromarray(canvas, mode="RGB"))


def series_png(
    samples: np.ndarray, real: np.ndarray | None = None, n_show: int = 6, size=(480, 240)
) -> bytes:
    """A few generated series (colours) over a few real ones (grey), channel 0: (n, T, C) or
    (n, T) arrays, on one y range."""
    from PIL import ImageDraw

    def first_channel(a):
        a = np.asarray(a, dtype=np.float32)
        return (a[:, :, 0] if a.ndim == 3 else a)[:n_show]  # (n, T)

    s = first_channel(samples)
    r = first_channel(real) if real is not None and len(real) else s[:0]
    both = np.concatenate([s.ravel(), r.ravel()])
    both = both[np.isfinite(both)]
    lo, hi = padded_range(both, 0.05) if len(both) else (-1.0, 1.0)
    w, h = size
    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    for arr, grey in ((r, True), (s, False)):
        for i, row in enumerate(arr):
            xs = _to_pixels(np.arange(len(row), dtype=np.float32), 0, max(1, len(row) - 1), w)
            ys = _to_pixels(np.nan_to_num(row, nan=lo), lo, hi, h, flip=True)
            color = GREY if grey else PALETTE[i % len(PALETTE)]
            draw.line(list(zip(xs.tolist(), ys.tolist())), fill=color, width=3 if grey else 2)
    return png_bytes(im)


def text_png(lines: list[str], max_lines: int = 30) -> bytes:
    """Text samples, one per line, in PIL's built-in font (no font file needed)."""
    from PIL import ImageDraw

    shown = [s or "(empty)" for s in lines[:max_lines]]
    line_h = 14
    width = 12 + 7 * max((len(s) for s in shown), default=8)
    im = Image.new("RGB", (max(120, width), 10 + line_h * max(1, len(shown))), "white")
    draw = ImageDraw.Draw(im)
    for i, s in enumerate(shown):
        draw.text((6, 5 + i * line_h), s, fill=(20, 20, 20))
    return png_bytes(im)
