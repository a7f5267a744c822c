"""What the nets do on 2D points, computed headless for the live view's canvas (issue #6).

Every function takes a Method (a CPU copy, never the one a worker is training: see
`Run.view_state` and `views.model.cpu_copy`) and returns numpy arrays in data space:

- `critic_map`: the discriminator's output over a grid of the plane (per class for a conditional
  GAN), through the `Method.critic` hook;
- `manifold`: a grid in noise space mapped through the generator (or a VAE's decoder): the
  whole grid for a 2D latent, a 2D slice through the first two dimensions otherwise, the other
  dimensions fixed at a seeded draw;
- `generator_arrows`: -dL_G/dx_fake on generated points (`Method.generator_push`), where the
  generator's loss pushes them;
- `posterior_means`: a VAE's E[z | x] of the data (`Method.encode_mean`), first two dimensions.

`plane_view` computes everything a method offers at once; a field is None when the method has
no such part (a VAE has no critic, a GAN no encoder). Everything is cheap on a CPU: a 60 x 60
grid through D and a 21 x 21 grid through G take milliseconds for the default MLPs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genlab.methods import Method
from genlab.runs.sampling import decode_latent, latent_dim

GRID = 60  # heatmap cells per side
MANIFOLD_GRID = 21  # noise-grid lines per side
MANIFOLD_LIM = 2.5  # the noise grid spans [-2.5, 2.5] standard deviations: 99% of N(0, 1)
N_ARROWS = 200
N_POSTERIOR = 1000


@dataclass
class CriticMap:
    xs: np.ndarray  # (n,) cell centres along x
    ys: np.ndarray  # (n,) along y
    z: np.ndarray  # (n, n): z[i, j] = D at (xs[j], ys[i])
    label: str  # "P(real)" or "score"
    mid: float  # D's "cannot tell" value (0.5 for a probability, 0 for a score)


@dataclass
class Manifold:
    z: np.ndarray  # (rows, cols, 2) the noise-grid coordinates (first two latent dims)
    x: np.ndarray  # (rows, cols, 2) where the generator maps them, data space
    latent_dim: int
    fixed: np.ndarray  # (latent_dim - 2,) the other dims' values (empty for a 2D latent)


@dataclass
class PlaneView:
    """Everything a method shows on the plane, in data space; None where it has no such part."""

    step: int
    bounds: tuple[float, float, float, float]  # x0, x1, y0, y1 of the canvas
    generated: np.ndarray | None  # (n, 2)
    generated_labels: np.ndarray | None  # (n,) classes of a conditional method's samples
    critic: CriticMap | None
    manifold: Manifold | None
    arrows: tuple[np.ndarray, np.ndarray] | None  # start points (n, 2), directions (n, 2)
    posterior: np.ndarray | None  # (N, 2) posterior means of the real points
    posterior_labels: np.ndarray | None  # (N,)
    cls: int | None  # the class the conditional parts show


def plane_bounds(real: np.ndarray, pad: float = 0.25) -> tuple[float, float, float, float]:
    """The canvas: the real data's box, padded by `pad` of its larger side on each side, so the
    heatmap shows D a little beyond the data."""
    lo, hi = real.min(0), real.max(0)
    side = float(max(hi - lo)) or 1.0
    return (
        float(lo[0]) - pad * side,
        float(hi[0]) + pad * side,
        float(lo[1]) - pad * side,
        float(hi[1]) + pad * side,
    )


def _labels(m: Method, n: int, cls: int | None) -> torch.Tensor | None:
    if not m.conditional:
        return None
    return torch.full((n,), int(cls or 0), dtype=torch.long)  # (n,)


@torch.no_grad()
def critic_map(
    m: Method, bounds: tuple[float, float, float, float], n: int = GRID, cls: int | None = None
) -> CriticMap | None:
    """D's output at the centres of an n x n grid over `bounds` (for class `cls` of a
    conditional method); None when the method has no discriminator."""
    x0, x1, y0, y1 = bounds
    xs = np.linspace(x0, x1, n, dtype=np.float32)
    ys = np.linspace(y0, y1, n, dtype=np.float32)
    gy, gx = np.meshgrid(ys, xs, indexing="ij")  # (n, n) each: row i is y = ys[i]
    pts = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1))  # (n*n, 2)
    out = m.critic(pts, _labels(m, len(pts), cls))
    if out is None:
        return None
    label, mid = m.critic_scale()
    return CriticMap(xs, ys, out.float().reshape(n, n).numpy(), label, mid)


@torch.no_grad()
def manifold(
    m: Method,
    n: int = MANIFOLD_GRID,
    lim: float = MANIFOLD_LIM,
    seed: int = 0,
    cls: int | None = None,
) -> Manifold | None:
    """A grid in noise space mapped through the generator (decoder). For latent_dim > 2 it is
    the slice through the first two dimensions with the others fixed at one N(0, I) draw from
    `seed`; for latent_dim = 1 a single line. None when the method has no latent space."""
    d = latent_dim(m)
    if d is None:
        return None
    v = torch.linspace(-lim, lim, n)  # (n,)
    cols = n if d >= 2 else 1
    z1, z2 = torch.meshgrid(v, v if d >= 2 else torch.zeros(1), indexing="ij")  # (n, cols)
    fixed = torch.randn(max(0, d - 2), generator=torch.Generator().manual_seed(seed))  # (d-2,)
    z = torch.zeros(n * cols, d)  # (rows*cols, d)
    z[:, 0] = z1.reshape(-1)
    if d >= 2:
        z[:, 1] = z2.reshape(-1)
        z[:, 2:] = fixed
    x = decode_latent(m, z, _labels(m, len(z), cls))  # (rows*cols, 2)
    grid = torch.stack([z1, z2], -1)  # (rows, cols, 2)
    return Manifold(grid.numpy(), x.float().reshape(n, cols, -1).numpy(), d, fixed.numpy())


def generator_arrows(
    m: Method, n: int = N_ARROWS, seed: int = 0, cls: int | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Generated points and -dL_G/dx at each (data space): the way the generator's loss pushes
    them; None for a method without an adversarial generator."""
    g = torch.Generator().manual_seed(seed)
    out = m.generator_push(n, _labels(m, n, cls), generator=g)
    if out is None:
        return None
    x, push = out
    return x.float().numpy(), push.float().numpy()


@torch.no_grad()
def posterior_means(m: Method, x: torch.Tensor) -> np.ndarray | None:
    """E[z | x] of data-space points x (N, 2), its first two dimensions (N, 2) (a 1D latent
    gets a zero second column); None for a method without an encoder."""
    mu = m.encode_mean(x)
    if mu is None:
        return None
    mu = mu.float()
    if mu.shape[1] == 1:
        mu = torch.cat([mu, torch.zeros_like(mu)], 1)  # (N, 2)
    return mu[:, :2].numpy()


@torch.no_grad()
def generated_points(
    m: Method, n: int = 1000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """Samples (n, 2) with a fixed seed (the view shows the model change, not the noise), and
    their classes (balanced) for a conditional method."""
    y = m.sample_labels(n) if m.conditional else None
    x = m.sample(n, y, generator=torch.Generator().manual_seed(seed))
    return x.float().numpy(), None if y is None else y.numpy()


def plane_view(
    m: Method,
    real_x: torch.Tensor,
    real_y: torch.Tensor | None = None,
    *,
    step: int = 0,
    cls: int | None = None,
    seed: int = 0,
    grid: int = GRID,
) -> PlaneView:
    """All the layers `m` offers on the plane of `real_x` (N, 2); `cls` picks the class of a
    conditional method's heatmap, manifold and arrows."""
    if real_x.ndim != 2 or real_x.shape[1] != 2:
        raise ValueError(f"the plane view needs 2D points (N, 2), got {tuple(real_x.shape)}")
    if m.conditional and cls is not None and not 0 <= cls < m.spec.n_classes:
        raise ValueError(f"class {cls} is not in 0..{m.spec.n_classes - 1}")
    cls = (cls or 0) if m.conditional else None
    real_x = real_x.float().cpu()
    bounds = plane_bounds(real_x.numpy())
    gen, gen_labels = generated_points(m, seed=seed)
    sub = real_x[:N_POSTERIOR]
    post = posterior_means(m, sub)
    return PlaneView(
        step=step,
        bounds=bounds,
        generated=gen,
        generated_labels=gen_labels,
        critic=critic_map(m, bounds, grid, cls),
        manifold=manifold(m, seed=seed, cls=cls),
        arrows=generator_arrows(m, seed=seed, cls=cls),
        posterior=post,
        posterior_labels=None if post is None or real_y is None else real_y[:N_POSTERIOR].numpy(),
        cls=cls,
    )
