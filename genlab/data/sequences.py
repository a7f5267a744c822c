"""Real-valued sequences: `sines`, and the user's CSV with one series per row.

Series are float tensors of shape (N, T, C) with C = 1 channel.
"""

from __future__ import annotations

import csv
import io
import math

import torch

from genlab.data.base import USER_DATA, Dataset, make_dataset, register
from genlab.data.files import decode_text, read_upload

MAX_SERIES = 50_000
MAX_LENGTH = 1024


@register("sines", "sequences", "Sine waves")
def sines() -> Dataset:
    n, T = 3000, 32
    g = torch.Generator().manual_seed(11)
    y = torch.randint(3, (n,), generator=g)  # frequency band: low, mid, high
    # cycles per window: 1-2.5, 2.5-4, 4-5.5
    freq = 1.0 + 1.5 * y + 1.5 * torch.rand(n, generator=g)
    phase = 2 * math.pi * torch.rand(n, generator=g)
    amp = 0.3 + 0.6 * torch.rand(n, generator=g)
    t = torch.arange(T) / T
    x = amp[:, None] * torch.sin(2 * math.pi * freq[:, None] * t + phase[:, None])  # (N, T)
    return make_dataset(
        "sines",
        "sequences",
        x[:, :, None],
        y,
        class_names=("low", "mid", "high"),
        loc=0.0,
        scale=0.6,
        description="3,000 sine waves of length 32: random frequency (3 bands, "
        "the classes), phase and amplitude 0.3-0.9",
    )


def parse_series_csv(data: bytes, name: str = "seriescsv") -> Dataset:
    """One series per row, all rows the same length; an optional last column `label:<name>`."""
    text = decode_text(data)
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if rows and not _numeric(rows[0][0]):
        rows = rows[1:]
    if len(rows) < 2:
        raise ValueError("the CSV needs at least 2 rows, one series per row")
    if len(rows) > MAX_SERIES:
        raise ValueError(f"{len(rows)} series is over the limit of {MAX_SERIES}")
    length = len(rows[0])
    values = []
    for i, r in enumerate(rows, 1):
        if len(r) != length:
            raise ValueError(
                f"row {i} has {len(r)} values but row 1 has {length}: "
                "every series must have the same length"
            )
        try:
            v = [float(c) for c in r]
        except ValueError:
            bad = next(c for c in r if not _numeric(c))
            raise ValueError(f"row {i}: {bad!r} is not a number") from None
        if not all(math.isfinite(a) for a in v):
            raise ValueError(f"row {i}: values must be finite (no nan or inf)")
        values.append(v)
    if length < 4 or length > MAX_LENGTH:
        raise ValueError(f"series length {length} is outside 4..{MAX_LENGTH}")
    x = torch.tensor(values, dtype=torch.float32)[:, :, None]  # (N, T, 1)
    loc, scale = float(x.mean()), float(x.std()) or 1.0
    return make_dataset(
        name,
        "sequences",
        x,
        None,
        loc=loc,
        scale=scale,
        description=f"your {len(x)} series of length {length}",
    )


@register(
    "seriescsv",
    "sequences",
    "Your series (CSV, one per row)",
    upload=True,
    file_types=("csv", "txt"),
    licence=USER_DATA,
)
def seriescsv(data_file: str, cfg=None) -> Dataset:
    return parse_series_csv(read_upload(data_file))


def _numeric(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False
