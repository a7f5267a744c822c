"""Figures and image grids, with no streamlit: plotly figures for the app, PNG grids everywhere."""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image


def image_grid(images: torch.Tensor | np.ndarray, nrow: int | None = None, pad: int = 1,
               min_cell: int = 32) -> Image.Image:
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
