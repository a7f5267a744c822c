"""2D points: (n, 2) arrays, with a third column holding the class of a conditional snapshot."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import torch

from genlab.figures.png import points_png
from genlab.figures.replay import points_frame
from genlab.kinds.base import Kind, register
from genlab.methods import Method


def points_csv(arr: np.ndarray, labels: np.ndarray | None = None) -> str:
    """(n, 2) points (a third column = class label, as conditional snapshots keep it) -> CSV
    with a header row x,y[,label]: the format the csv2d upload reads."""
    arr = np.asarray(arr, dtype=np.float64)
    if labels is None and arr.ndim == 2 and arr.shape[1] == 3:
        arr, labels = arr[:, :2], arr[:, 2]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["x", "y"] + (["label"] if labels is not None else []))
    for i, (x, y) in enumerate(arr[:, :2]):
        w.writerow([f"{x:.6g}", f"{y:.6g}"] + ([int(labels[i])] if labels is not None else []))
    return buf.getvalue()


@register
class Points(Kind):
    name = "points"
    replays = True
    keeps_view_weights = True  # small nets (2D): a copy every snapshot, thinned to VIEW_WEIGHTS_MAX
    snapshot_n = 1000
    reference_n = 1000

    def encode(self, method: Method, x: torch.Tensor, y: torch.Tensor | None) -> np.ndarray:
        out = super().encode(method, x, y)  # (n, 2)
        if y is not None:  # the class of each point, for the per-class colours
            out = np.concatenate([out, y.cpu().numpy()[:, None].astype(np.float32)], 1)  # (n, 3)
        return out

    def png(self, payload: Any, real: np.ndarray | None = None) -> bytes:
        return points_png(payload, real)

    def frame(self, payload: Any, real: np.ndarray | None = None, underlay: Any = None):
        return points_frame(payload, real, underlay)

    def export(self, payload: Any) -> bytes:
        return points_csv(payload).encode()
