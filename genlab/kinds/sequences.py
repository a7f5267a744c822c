"""Sequences: (n, T, C) series of floats."""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np

from genlab.figures.png import series_png
from genlab.figures.replay import series_frame
from genlab.kinds.base import Kind, register


def sequences_csv(arr: np.ndarray) -> str:
    """(n, T, C) series -> long CSV: series, t, c0 .. c{C-1}."""
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[:, :, None]  # (n, T, 1)
    n, T, C = arr.shape
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["series", "t"] + [f"c{c}" for c in range(C)])
    for i in range(n):
        for t in range(T):
            w.writerow([i, t] + [f"{v:.6g}" for v in arr[i, t]])
    return buf.getvalue()


@register
class Sequences(Kind):
    name = "sequences"
    replays = True
    snapshot_n = 16
    reference_n = 6

    def png(self, payload: Any, real: np.ndarray | None = None) -> bytes:
        return series_png(payload, real)

    def frame(self, payload: Any, real: np.ndarray | None = None, underlay: Any = None):
        return series_frame(payload)

    def export(self, payload: Any) -> bytes:
        return sequences_csv(payload).encode()
