"""2D toy distributions, and the user's own CSV of x,y[,label] rows.

`ring8` and `grid25` follow the exact settings of the VEEGAN / PacGAN benchmarks (ring: 8
Gaussians at angles 2*pi*k/8 on a radius-1 circle, std 0.01; grid: means {-4,-2,0,2,4}^2, std 0.05);
their mode centres and std travel in the DataSpec so that the metrics use the same definitions.
"""

from __future__ import annotations

import csv
import io
import math

import torch

from genlab.data.base import USER_DATA, Dataset, make_dataset, register
from genlab.data.files import decode_text, read_upload

N_POINTS = 20_000
SEED = 7  # the toy sets are sampled once, identically for every run


def _gen() -> torch.Generator:
    return torch.Generator().manual_seed(SEED)


def _scaled(name: str, x: torch.Tensor, y: torch.Tensor | None, **kw) -> Dataset:
    loc = float(x.mean())
    scale = float(x.std()) or 1.0
    return make_dataset(name, "points", x.float(), y, loc=loc, scale=scale, **kw)


def _mixture(name: str, centres: torch.Tensor, std: float, description: str) -> Dataset:
    g = _gen()
    y = torch.randint(len(centres), (N_POINTS,), generator=g)
    x = centres[y] + std * torch.randn(N_POINTS, 2, generator=g)  # (N, 2)
    modes = tuple((float(a), float(b)) for a, b in centres)
    names = tuple(f"mode {k}" for k in range(len(centres)))
    return _scaled(
        name, x, y, class_names=names, modes=modes, mode_std=std, description=description
    )


@register("ring8", "points", "Ring of 8 Gaussians")
def ring8() -> Dataset:
    # Angles 2*pi*k/8: linspace(0, 2*pi, 8) would put modes 0 and 7 on top of each other.
    angles = 2 * math.pi * torch.arange(8) / 8
    centres = torch.stack([angles.cos(), angles.sin()], 1)  # (8, 2)
    return _mixture("ring8", centres, 0.01, "8 Gaussians on a radius-1 circle, std 0.01")


@register("grid25", "points", "Grid of 25 Gaussians")
def grid25() -> Dataset:
    v = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    centres = torch.cartesian_prod(v, v)  # (25, 2)
    return _mixture("grid25", centres, 0.05, "25 Gaussians at {-4,-2,0,2,4}^2, std 0.05")


@register("swissroll", "points", "Swiss roll")
def swissroll() -> Dataset:
    g = _gen()
    t = 1.5 * math.pi * (1 + 2 * torch.rand(N_POINTS, generator=g))
    x = torch.stack([t * t.cos(), t * t.sin()], 1) / 10 + 0.05 * torch.randn(
        N_POINTS, 2, generator=g
    )
    return _scaled("swissroll", x, None, description="2D swiss roll, noise 0.05")


@register("moons", "points", "Two moons")
def moons() -> Dataset:
    g = _gen()
    y = torch.randint(2, (N_POINTS,), generator=g)
    t = math.pi * torch.rand(N_POINTS, generator=g)
    upper = torch.stack([t.cos(), t.sin()], 1)
    lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], 1)
    x = torch.where(y[:, None] == 0, upper, lower) + 0.05 * torch.randn(N_POINTS, 2, generator=g)
    return _scaled(
        "moons",
        x,
        y,
        class_names=("upper", "lower"),
        description="two interleaving half circles, noise 0.05",
    )


@register("circles", "points", "Two circles")
def circles() -> Dataset:
    g = _gen()
    y = torch.randint(2, (N_POINTS,), generator=g)
    t = 2 * math.pi * torch.rand(N_POINTS, generator=g)
    r = torch.where(y == 0, 1.0, 0.5)
    x = torch.stack([r * t.cos(), r * t.sin()], 1) + 0.03 * torch.randn(N_POINTS, 2, generator=g)
    return _scaled(
        "circles",
        x,
        y,
        class_names=("outer", "inner"),
        description="concentric circles of radius 1 and 0.5, noise 0.03",
    )


@register("spiral", "points", "Two-arm spiral")
def spiral() -> Dataset:
    g = _gen()
    y = torch.randint(2, (N_POINTS,), generator=g)
    t = 3 * math.pi * torch.rand(N_POINTS, generator=g).sqrt()
    arm = torch.stack([t * t.cos(), t * t.sin()], 1) / (3 * math.pi)
    x = torch.where(y[:, None] == 0, arm, -arm) + 0.02 * torch.randn(N_POINTS, 2, generator=g)
    return _scaled(
        "spiral",
        x,
        y,
        class_names=("arm A", "arm B"),
        description="two interleaved spiral arms, noise 0.02",
    )


@register("checkerboard", "points", "Checkerboard")
def checkerboard() -> Dataset:
    g = _gen()
    ij = torch.tensor([(i, j) for i in range(4) for j in range(4) if (i + j) % 2 == 0])  # (8, 2)
    cell = ij[torch.randint(len(ij), (N_POINTS,), generator=g)]
    x = (cell - 2).float() + torch.rand(N_POINTS, 2, generator=g)  # (N, 2)
    return _scaled(
        "checkerboard", x, None, description="uniform on the dark squares of a 4x4 checkerboard"
    )


def parse_points_csv(data: bytes, name: str = "csv2d") -> Dataset:
    """x,y[,label] rows; a header row is allowed; labels may be any strings."""
    text = decode_text(data)
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if rows and not _is_number(rows[0][0]):
        rows = rows[1:]  # header
    if len(rows) < 2:
        raise ValueError("the CSV needs at least 2 rows of x,y[,label]")
    xs, labels = [], []
    for i, r in enumerate(rows, 1):
        if len(r) not in (2, 3):
            raise ValueError(f"row {i}: expected x,y or x,y,label, got {len(r)} columns")
        try:
            a, b = float(r[0]), float(r[1])
        except ValueError:
            raise ValueError(f"row {i}: x and y must be numbers, got {r[0]!r}, {r[1]!r}") from None
        if not (math.isfinite(a) and math.isfinite(b)):
            raise ValueError(f"row {i}: x and y must be finite, got {r[0]!r}, {r[1]!r}")
        xs.append((a, b))
        labels.append(r[2].strip() if len(r) == 3 else None)
    x = torch.tensor(xs, dtype=torch.float32)
    y, class_names = None, ()
    if all(lab is not None and lab != "" for lab in labels):
        class_names = tuple(sorted(set(labels)))
        y = torch.tensor([class_names.index(lab) for lab in labels])
    elif any(lab for lab in labels):
        raise ValueError("either every row has a label or none does")
    return _scaled(
        name,
        x,
        y,
        class_names=class_names,
        description=f"your {len(x)} points"
        + (f", {len(class_names)} classes" if class_names else ""),
    )


@register(
    "csv2d",
    "points",
    "Your 2D points (CSV)",
    upload=True,
    file_types=("csv", "txt"),
    licence=USER_DATA,
)
def csv2d(data_file: str, cfg=None) -> Dataset:
    return parse_points_csv(read_upload(data_file))


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False
