"""What the live view shows inside diffusion and flow models (methods whose `inside` lists
"process") and attention models ("attention"): computed on a CPU copy of the model, no streamlit.

The common time axis is the noise level t in [0, 1] (0 = data, 1 = pure noise), whatever the
method's own convention (see `Method.trajectory`).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import torch

from genlab.methods import Method
from genlab.views.images import captioned_grid_png
from genlab.views.points import plane_bounds


@dataclass
class ProcessFrames:
    """A 2D model's sampling process at a few noise levels, largest first."""

    levels: np.ndarray  # (F,) noise levels from 1 to 0
    generated: np.ndarray  # (F, n, 2) the sampler's points at each level
    noised: np.ndarray  # (F, m, 2) real points carried to each level by the forward process
    grid: np.ndarray  # (G*G, 2) where the field is drawn
    field: np.ndarray  # (F, G*G, 2) the learned field at each level
    bounds: tuple[float, float, float, float]
    nfe: int  # network evaluations per sample of the full sampler
    step: int = 0


def pick(levels: torch.Tensor, k: int) -> list[int]:
    """k indices spread evenly over a recorded path (its ends included)."""
    k = max(2, min(k, len(levels)))
    return sorted({int(round(i)) for i in np.linspace(0, len(levels) - 1, k)})


@torch.no_grad()
def process_frames(
    m: Method,
    x_real: torch.Tensor,
    n: int = 400,
    frames: int = 21,
    grid: int = 15,
    seed: int = 1,
    y: torch.Tensor | None = None,
    step: int = 0,
) -> ProcessFrames:
    """Trajectories of `n` samples, the forward noising of `x_real` (m, 2) and the field on a
    grid x grid lattice over the data's box, at `frames` levels of the sampler's own path."""
    g = torch.Generator().manual_seed(seed)
    levels, states = m.trajectory(n, y, generator=g)  # (S+1,), (S+1, n, 2)
    idx = pick(levels, frames)
    bounds = plane_bounds(x_real.numpy())
    gx = np.linspace(bounds[0], bounds[1], grid, dtype=np.float32)
    gy = np.linspace(bounds[2], bounds[3], grid, dtype=np.float32)
    lattice = torch.from_numpy(np.stack(np.meshgrid(gx, gy), -1).reshape(-1, 2))  # (G*G, 2)
    noised, field = [], []
    for i in idx:
        t = float(levels[i])
        noise_g = torch.Generator().manual_seed(seed + 1)  # the same ε at every level
        noised.append(m.noised(x_real, t, generator=noise_g).numpy())
        field.append(m.field(lattice, t).numpy())
    return ProcessFrames(
        levels=levels[idx].numpy(),
        generated=states[idx].numpy(),
        noised=np.stack(noised),
        grid=lattice.numpy(),
        field=np.stack(field),
        bounds=bounds,
        nfe=int(m.network_evaluations() or 0),
        step=step,
    )


@torch.no_grad()
def reverse_strip(m: Method, n: int = 6, k: int = 8, seed: int = 1, cell: int = 56) -> bytes:
    """PNG: `n` samples (rows) at `k` noise levels of the reverse process (columns, noise on
    the left, the final sample on the right)."""
    levels, states = m.trajectory(n, generator=torch.Generator().manual_seed(seed))
    idx = pick(levels, k)
    x = states[idx].transpose(0, 1).flatten(0, 1)  # (n*k, C, H, W), row = one sample
    caps = [f"t={float(levels[i]):.2f}" for i in idx] * n
    return captioned_grid_png(x, len(idx), caps, cell=cell)


@torch.no_grad()
def forward_strip(m: Method, x_real: torch.Tensor, k: int = 8, seed: int = 1, cell: int = 56):
    """PNG: real images (rows) carried by the forward process to k levels from 0 to 1."""
    levels = np.linspace(0.0, 1.0, k)
    g = torch.Generator().manual_seed(seed)
    x = torch.stack([m.noised(x_real, float(t), generator=g).clamp(0, 1) for t in levels], 1)
    caps = [f"t={t:.2f}" for t in levels] * len(x_real)
    return captioned_grid_png(x.flatten(0, 1), k, caps, cell=cell)


@dataclass
class StepCost:
    steps: int
    nfe: int
    ms_per_sample: float
    png: bytes


@torch.no_grad()
def with_steps(m: Method, steps: int) -> Method:
    """A shallow copy of `m` sampling with `steps` (the shared view copy is never changed)."""
    m2 = copy.copy(m)
    m2.cfg = dataclasses.replace(m.cfg, sample_steps=int(steps))
    return m2


@torch.no_grad()
def step_cost(m: Method, steps: int, n: int = 16, seed: int = 1, cell: int = 56) -> StepCost:
    """Samples with `steps` sampling steps, their network evaluations and ms per sample."""
    m2 = with_steps(m, steps)
    t0 = time.perf_counter()
    x = m2.sample(n, generator=torch.Generator().manual_seed(seed))
    ms = 1000 * (time.perf_counter() - t0) / n
    return StepCost(
        steps, int(m2.network_evaluations() or 0), ms, captioned_grid_png(x, 8, cell=cell)
    )


@torch.no_grad()
def attention_maps(m: Method, text: str) -> tuple[np.ndarray, list[str]] | None:
    """(layers, heads, L, L) attention weights while reading `text`, and the L characters read
    (the start token shown as "·"); None for a method without attention."""
    att = m.attention(text)
    if att is None:
        return None
    chars = ["·", *text][: att.shape[-1]]
    return att.cpu().numpy(), chars
