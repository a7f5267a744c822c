"""What every data kind answers: how a live snapshot of samples is taken and encoded, stored in a
run folder and read back, drawn as a picture (a PNG, a replay frame), exported as a file, and
which real items are drawn beside it. One subclass per kind, one file each (points.py, images.py,
sequences.py, text.py), registered by name; callers ask `kind_of(spec.kind)` and never branch on
the kind's name.
"""

from __future__ import annotations

import io
from typing import Any, ClassVar

import numpy as np
import torch
from PIL import Image

from genlab.data import Dataset
from genlab.methods import Method

KINDS: dict[str, Kind] = {}


def register(cls: type[Kind]) -> type[Kind]:
    KINDS[cls.name] = cls()
    return cls


def kind_of(name: str) -> Kind:
    """The kind registered as `name` ("points", "images", "sequences", "text")."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown data kind {name!r} (known: {', '.join(KINDS)})") from None


class Kind:
    name: ClassVar[str]
    snapshot_n: ClassVar[int]  # items in one live snapshot
    stored_suffix: ClassVar[str] = ".npy"  # a snapshot's file in the run folder's samples/
    export_suffix: ClassVar[str] = ".csv"  # the file a download or `genlab sample` writes
    export_mime: ClassVar[str] = "text/csv"
    reference_n: ClassVar[int] = 0  # real items drawn under a snapshot (0 = none)
    replays: ClassVar[bool] = False  # its snapshots have replay frames (an animated GIF)
    # the run keeps a thinned history of its weights (views/ in the run folder), so a replay can
    # redraw the inside-the-model views as they were at each step (the 2D canvas)
    keeps_view_weights: ClassVar[bool] = False
    value_range: ClassVar[tuple[float, float] | None] = None  # where its values lie (None: open)

    # ----- taking a snapshot ------------------------------------------------------------------
    def snapshot_labels(self, method: Method, n: int) -> torch.Tensor | None:
        """The labels (n,) a conditional method samples a snapshot for, or None."""
        return method.sample_labels(n) if method.conditional else None

    def take(self, method: Method, seed: int, n: int | None = None, preview: bool = True) -> Any:
        """A fixed-noise snapshot (the same `seed` every time, so the view shows the model
        change), encoded once for the views and the run folder. `preview` asks the method for its
        live-view sampler (a cheaper one where a method has it), not the metrics' one."""
        n = n or self.snapshot_n
        y = self.snapshot_labels(method, n)
        n = len(y) if y is not None else n
        g = torch.Generator(device=method.device).manual_seed(seed)
        with torch.no_grad():
            x = method.sample(n, y, generator=g, **({"preview": True} if preview else {}))
        return self.encode(method, x, y)

    def encode(self, method: Method, x: torch.Tensor, y: torch.Tensor | None) -> Any:
        """Samples as `method.sample` returns them -> the snapshot payload: a float32 array."""
        return x.detach().float().cpu().numpy().astype(np.float32)

    def values(self, method: Method, x: torch.Tensor) -> Any:
        """Samples as a user's code gets them (the notebook API's `samples`): a float array."""
        return x.detach().float().cpu().numpy()

    # ----- the run folder ---------------------------------------------------------------------
    def to_bytes(self, payload: Any) -> bytes:
        buf = io.BytesIO()
        np.save(buf, np.asarray(payload, dtype=np.float32), allow_pickle=False)
        return buf.getvalue()

    def from_bytes(self, blob: bytes) -> Any:
        return np.load(io.BytesIO(blob), allow_pickle=False)

    # ----- drawing and exporting ----------------------------------------------------------------
    def reference(self, data: Dataset | None) -> np.ndarray | None:
        """The real items a snapshot is drawn over (the grey layer), or None."""
        if data is None or not self.reference_n:
            return None
        x = data.x_val if len(data.x_val) >= self.reference_n else data.x_train
        return x[: self.reference_n].float().cpu().numpy()

    def png(self, payload: Any, real: np.ndarray | None = None) -> bytes:
        """The snapshot as one PNG (model cards, TensorBoard, MLflow, `Run.show`)."""
        raise NotImplementedError

    def frame(
        self, payload: Any, real: np.ndarray | None = None, underlay: Image.Image | None = None
    ) -> Image.Image | None:
        """The snapshot as one frame of a replay GIF, or None for a kind without a picture;
        `underlay`: a picture of the model at that step to draw under it, where the kind has
        one (2D points: D's field over `figures.replay.frame_box`)."""
        return None

    def export(self, payload: Any) -> bytes:
        """The snapshot as the file a person downloads (`export_suffix`)."""
        raise NotImplementedError

    def lines(self, payload: Any) -> list[str] | None:
        """The snapshot as lines of text where that is its own form (text), else None: trackers
        log those as text and model cards quote them, beside the picture."""
        return None
