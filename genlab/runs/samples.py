"""Sample snapshots for the live view, encoded once in the worker (never on each redraw)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from genlab.data import Dataset
from genlab.data.text import decode
from genlab.figures.png import image_grid_png
from genlab.methods import Method

N_SAMPLES = {"points": 1000, "images": 64, "sequences": 16, "text": 30}


def sample_labels_grid(method: Method, n: int) -> torch.Tensor | None:
    """Conditional image grids show one class per row: label k repeated along row k."""
    if not method.conditional:
        return None
    k = method.spec.n_classes
    if method.spec.kind == "images":
        per = max(1, n // k)
        return torch.arange(k, device=method.device).repeat_interleave(per)
    return method.sample_labels(n)


def take_samples(method: Method, data: Dataset, seed: int, n: int | None = None) -> Any:
    """A fixed-noise sample batch (same `seed` every time, so the view shows the model change)."""
    kind = data.spec.kind
    n = n or N_SAMPLES[kind]
    g = torch.Generator(device=method.device).manual_seed(seed)
    y = sample_labels_grid(method, n)
    if y is not None:
        n = len(y)
    with torch.no_grad():
        s = method.sample(n, y, generator=g, preview=True)  # a live snapshot, not a metric
    if kind == "images":
        nrow = n // method.spec.n_classes if method.conditional else None
        return image_grid_png(s, nrow=nrow)
    if kind == "text":
        return [decode(row[1:], data.spec.vocab) for row in s.cpu()]
    out = s.detach().float().cpu().numpy().astype(np.float32)
    if kind == "points" and y is not None:
        out = np.concatenate([out, y.cpu().numpy()[:, None].astype(np.float32)], 1)  # (n, 3)
    return out
