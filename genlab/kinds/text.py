"""Text: a snapshot is a list of generated strings (token ids decoded with the data's vocab)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from genlab.data.text import decode
from genlab.figures.png import text_png
from genlab.kinds.base import Kind, register
from genlab.methods import Method


@register
class Text(Kind):
    name = "text"
    snapshot_n = 30
    stored_suffix = ".txt"
    export_suffix = ".txt"
    export_mime = "text/plain"

    def encode(self, method: Method, x: torch.Tensor, y: torch.Tensor | None) -> list[str]:
        return self.values(method, x)

    def values(self, method: Method, x: torch.Tensor) -> list[str]:
        return [decode(row[1:], method.spec.vocab) for row in x.cpu()]  # row[0] is the start

    def to_bytes(self, payload: Any) -> bytes:
        return ("\n".join(payload) + "\n").encode()

    def from_bytes(self, blob: bytes) -> list[str]:
        return blob.decode().splitlines()

    def png(self, payload: Any, real: np.ndarray | None = None) -> bytes:
        return text_png(list(payload))

    def export(self, payload: Any) -> bytes:
        return self.to_bytes(payload)

    def lines(self, payload: Any) -> list[str]:
        return list(payload)
