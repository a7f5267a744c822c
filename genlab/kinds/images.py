"""Images: a snapshot is one PNG grid, encoded once in the worker (one class per row for a
conditional method)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from genlab.figures.png import image_grid_png
from genlab.figures.replay import png_frame
from genlab.kinds.base import Kind, register
from genlab.methods import Method


@register
class Images(Kind):
    name = "images"
    replays = True
    snapshot_n = 64
    stored_suffix = ".png"
    export_suffix = ".png"
    export_mime = "image/png"
    value_range = (0.0, 1.0)  # pixel intensities

    def snapshot_labels(self, method: Method, n: int) -> torch.Tensor | None:
        """Class k repeated along row k of the grid."""
        if not method.conditional:
            return None
        k = method.spec.n_classes
        return torch.arange(k, device=method.device).repeat_interleave(max(1, n // k))

    def encode(self, method: Method, x: torch.Tensor, y: torch.Tensor | None) -> bytes:
        nrow = len(x) // method.spec.n_classes if y is not None else None
        return image_grid_png(x, nrow=nrow)

    def to_bytes(self, payload: Any) -> bytes:
        return bytes(payload)

    def from_bytes(self, blob: bytes) -> bytes:
        return blob

    def png(self, payload: Any, real: np.ndarray | None = None) -> bytes:
        return bytes(payload)

    def frame(self, payload: Any, real: np.ndarray | None = None, underlay: Any = None):
        return png_frame(payload)

    def export(self, payload: Any) -> bytes:
        return bytes(payload)
