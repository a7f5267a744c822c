"""Inside the model for images, headless: latent interpolation and per-dimension traversal
strips (VAE, GAN), one row per class (conditional GAN), the discriminator's score under each
shown item, all drawn as captioned PNG grids (reconstructions: views/model.py).

Which parts a method has comes from its hooks (`critic`, `reconstruct`, `latent_importance`, and
genlab.runs.sampling's latent contract), never from its name. No streamlit here.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from genlab.data import Dataset
from genlab.figures.png import png_bytes
from genlab.methods import Method
from genlab.runs import sampling


@torch.no_grad()
def critic_scores(m: Method, x: torch.Tensor, y: torch.Tensor | None = None) -> np.ndarray | None:
    """D's score of each item, (n,) (a per-step critic is averaged over the steps); None for a
    method without a discriminator."""
    if m.conditional and y is None:
        y = m.sample_labels(len(x))
    s = m.critic(x.to(m.device), y)
    if s is None:
        return None
    s = s.float().reshape(len(x), -1).mean(1)  # (n,)
    return s.cpu().numpy()


def traversal_dims(m: Method, data: Dataset, n_dims: int) -> tuple[list[int], np.ndarray | None]:
    """Which latent dimensions to traverse: the most used ones first when the method can tell
    (a VAE's KL per dimension on validation items), else the first `n_dims`. Returns the dims
    and their importance (or None)."""
    d = sampling.latent_dim(m)
    if d is None:
        return [], None
    imp = m.latent_importance(data.x_val[:500].to(m.device))
    if imp is None:
        return list(range(min(n_dims, d))), None
    imp_np = imp.float().cpu().numpy()
    order = np.argsort(-imp_np, kind="stable")[:n_dims]
    return [int(i) for i in order], imp_np


@torch.no_grad()
def traversal(
    m: Method, seed: int, dims: list[int], k: int = 7, lim: float = 3.0, y: int | None = None
) -> tuple[torch.Tensor, np.ndarray]:
    """Per-dimension traversal: from z(seed), move one dimension at a time over [-lim, lim]
    (the others held), decode. Returns items (len(dims) * k, *shape), row-major (one row per
    dimension), and the k values."""
    if sampling.latent_dim(m) is None:
        raise ValueError(f"method {m.name!r} has no latent space to traverse")
    if k < 2 or not dims:
        raise ValueError(f"need k >= 2 steps and at least one dimension (k={k}, dims={dims})")
    z0 = sampling.latent_noise(m, seed)[0]  # (d,)
    v = torch.linspace(-lim, lim, k, device=m.device)  # (k,)
    z = z0.repeat(len(dims) * k, 1)  # (R*k, d)
    for r, j in enumerate(dims):
        z[r * k : (r + 1) * k, j] = v
    labels = None
    if m.conditional:
        labels = torch.full((len(z),), int(y or 0), dtype=torch.long, device=m.device)
    return sampling.decode_latent(m, z, labels), v.cpu().numpy()


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: a fixed bitmap font
        return ImageFont.load_default()


def captioned_grid_png(
    items: torch.Tensor,
    ncol: int,
    captions: list[str] | None = None,
    colors: list[str] | None = None,
    row_titles: list[str] | None = None,
    cell: int = 56,
) -> bytes:
    """Images (n, C, H, W) in [0, 1] in rows of `ncol`, each upscaled (nearest) to about `cell`
    pixels, with an optional caption under each (in `colors`) and a title left of each row."""
    x = items.detach().float().cpu().clamp(0, 1)
    n, c, h, w = x.shape
    scale = max(1, round(cell / max(h, w)))
    ch, cw = h * scale, w * scale
    cap_h = 16 if captions else 0
    title_w = 0
    font = _font(12)
    if row_titles:
        title_w = 8 + max(int(font.getlength(t)) for t in row_titles)
    nrows = math.ceil(n / ncol)
    pad = 4
    W = title_w + ncol * (cw + pad) + pad
    H = nrows * (ch + cap_h + pad) + pad
    canvas = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(canvas)
    for i in range(n):
        r, q = divmod(i, ncol)
        left, top = title_w + pad + q * (cw + pad), pad + r * (ch + cap_h + pad)
        arr = (x[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)  # (H, W, C)
        im = Image.fromarray(arr[:, :, 0] if c == 1 else arr).convert("RGB")
        canvas.paste(im.resize((cw, ch), Image.NEAREST), (left, top))
        if captions:
            color = colors[i] if colors else "#333333"
            text = captions[i]
            tw = font.getlength(text)
            draw.text((left + (cw - tw) / 2, top + ch + 1), text, fill=color, font=font)
    for r, t in enumerate(row_titles or []):
        draw.text((4, pad + r * (ch + cap_h + pad) + ch / 2 - 7), t, fill="#333333", font=font)
    return png_bytes(canvas)


REAL_LIKE, FAKE_LIKE = "#1a7f37", "#cf222e"  # green: scored like real data; red: below it


def score_captions(
    m: Method, scores: np.ndarray | None, reference: float | None
) -> tuple[list[str] | None, list[str] | None]:
    """D's verdict under each item ("P 0.73" for a probability of real, "D +1.20" for a raw
    score), green when D scores it at least as high as the median real item (`reference`), red
    below: a reading that does not depend on the loss's scale."""
    if scores is None:
        return None, None
    prob = m.critic_scale()[0] == "P(real)"
    caps = [f"P {s:.2f}" if prob else f"D {s:+.2f}" for s in scores]
    if reference is None:
        return caps, None
    return caps, [REAL_LIKE if s >= reference else FAKE_LIKE for s in scores]


def real_reference(m: Method, data: Dataset, n: int = 64) -> float | None:
    """The median of D's scores on n validation items: "as real as typical real data"."""
    y = None if data.y_val is None else data.y_val[:n]
    s = critic_scores(m, data.x_val[:n], y)
    return None if s is None else float(np.median(s))
