"""2D point metrics.

Mixtures with known modes (ring8, grid25: spec.modes, spec.mode_std), VEEGAN/PacGAN definitions:
  eval/hq     share of samples within 3 std of their nearest mode (perfect generator: 1 - e^-4.5
              = 98.9%, the mass of a 2D Gaussian within 3 std).
  eval/modes  modes that are the nearest mode of at least one HQ sample.
  eval/rkl    KL(q ‖ uniform) of the HQ samples' mode histogram q, in nats; 0 = balanced, log K =
              everything on one mode (also the value when there is no HQ sample).
Every point set, in standardised units (x - spec.loc) / spec.scale:
  eval/mmd    unbiased MMD² with RBF bandwidths 0.1, 0.5, 1, 2 in standardised units (that is,
              × spec.scale, the data's std, in data units).
  eval/swd    sliced Wasserstein-1 distance (64 fixed directions).
  eval/grid_kl, eval/grid_js   GAN Lab's divergences (Kahng et al. 2018): histograms of real and
              generated points on a 50x50 grid over the real set's bounding box (10% margin; points
              outside count in the border cells), eps = 1e-4 added to each cell's density, in bits;
              KL(real ‖ generated) and JS in [0, 1].
  eval/density, eval/coverage   Naeem et al. 2020, k = 5.
  (MMD and density/coverage use the first 1,000 points of the 2,500: their cost is pairwise.)
  eval/cond_acc  conditional models: share of samples whose 5-NN label among training points is
              the requested label.
Each comes with `floor/<name>`: the same figure for a second real set of the same size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from genlab.metrics.common import (
    LRU,
    data_key,
    density_coverage_from,
    knn_predict,
    knn_radii,
    mmd2_from,
    mmd2_self_term,
    real_sets,
    sliced_wasserstein,
    sq_dists,
)

DEFAULT_N = 2500  # VEEGAN/PacGAN's sample count
BANDWIDTHS = (0.1, 0.5, 1.0, 2.0)  # standardised units
GRID = 50
GRID_EPS = 1e-4  # GAN Lab's smoothing
K_NN = 5
N_KNN_TRAIN = 5000  # training points the cond_acc k-NN labeller uses
PAIR_N = 1000  # MMD and density/coverage use the first 1,000 points of each set (pairwise cost)


def mode_stats(x: torch.Tensor, modes: torch.Tensor, std: float) -> dict[str, float]:
    """HQ share, modes covered and reverse KL for samples x (n, 2), mode centres (K, 2)."""
    d = torch.cdist(x.detach().cpu().double(), modes.double())  # (n, K)
    dist, nearest = d.min(1)
    hq = dist <= 3 * std
    K = len(modes)
    counts = torch.bincount(nearest[hq], minlength=K).double()
    if counts.sum() == 0:
        rkl = math.log(K)
    else:
        q = counts / counts.sum()
        nz = q > 0
        rkl = float((q[nz] * (q[nz] * K).log()).sum())  # KL(q ‖ uniform(K))
    return {
        "eval/modes": float((counts > 0).sum()),
        "eval/hq": float(hq.double().mean()),
        "eval/rkl": rkl,
    }


def grid_box(real: torch.Tensor, margin: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    lo, hi = real.min(0).values, real.max(0).values
    pad = (hi - lo).clamp_min(1e-6) * margin
    return lo - pad, hi + pad


def grid_hist(x: torch.Tensor, box, bins: int = GRID) -> torch.Tensor:
    """Share of points per cell of a bins x bins grid over `box`, outside points in border cells."""
    lo, hi = box
    ij = ((x - lo) / (hi - lo) * bins).floor().long().clamp(0, bins - 1)  # (n, 2)
    h = torch.bincount(ij[:, 0] * bins + ij[:, 1], minlength=bins * bins).double()
    return h / h.sum()


def grid_divergences(
    p: torch.Tensor, q: torch.Tensor, eps: float = GRID_EPS
) -> tuple[float, float]:
    """GAN Lab's KL(p ‖ q) and JS(p, q) in bits between cell densities, eps added to each."""
    kl = ((p + eps) * ((p + eps) / (q + eps)).log2()).sum()
    m = 0.5 * (p + q)
    js = 0.5 * (
        ((p + eps) * ((p + eps) / (m + eps)).log2()).sum()
        + ((q + eps) * ((q + eps) / (m + eps)).log2()).sum()
    )
    return float(kl), float(js)


def grid_kl_js(real: torch.Tensor, fake: torch.Tensor, bins: int = GRID) -> tuple[float, float]:
    box = grid_box(real)
    return grid_divergences(grid_hist(real, box, bins), grid_hist(fake, box, bins))


@dataclass
class _Ref:
    z: torch.Tensor  # (n, 2) standardised reference points
    xx: float  # MMD self term of the first PAIR_N reference points
    radii: torch.Tensor  # k-NN radii of the first PAIR_N reference points
    box: tuple[torch.Tensor, torch.Tensor]
    hist: torch.Tensor
    knn: tuple[torch.Tensor, torch.Tensor] | None  # (features, labels) for cond_acc
    floors: dict[str, float] = field(default_factory=dict)


_REFS = LRU(16)


def _standardise(x: torch.Tensor, spec) -> torch.Tensor:
    return (x.detach().float().cpu() - spec.loc) / spec.scale


def _reference(data, n: int) -> _Ref:
    key = (data_key(data), n)
    if key in _REFS:
        return _REFS[key]
    spec = data.spec
    rs = real_sets(data, n)
    z = _standardise(rs.ref, spec)
    dxx = sq_dists(z[:PAIR_N], z[:PAIR_N])
    box = grid_box(z)
    knn = None
    if data.y_train is not None:
        zt = _standardise(data.x_train[:N_KNN_TRAIN], spec)
        knn = (zt, data.y_train[:N_KNN_TRAIN].cpu())
    ref = _Ref(
        z, mmd2_self_term(dxx, BANDWIDTHS), knn_radii(dxx.sqrt(), K_NN), box, grid_hist(z, box), knn
    )
    floors = _compare(ref, _standardise(rs.other, spec), spec)
    if knn is not None:
        zv = _standardise(data.x_val[:n], spec)
        floors["eval/cond_acc"] = float(
            (knn_predict(*knn, zv, K_NN) == data.y_val[:n].cpu()).float().mean()
        )
    ref.floors = {k.replace("eval/", "floor/"): v for k, v in floors.items()}
    return _REFS.put(key, ref)


def _compare(ref: _Ref, z: torch.Tensor, spec) -> dict[str, float]:
    zp = z[:PAIR_N]
    dyy, dxy = sq_dists(zp, zp), sq_dists(ref.z[:PAIR_N], zp)  # (m, m), (n, m)
    kl, js = grid_divergences(ref.hist, grid_hist(z, ref.box))
    density, coverage = density_coverage_from(ref.radii, dxy.sqrt(), K_NN)
    out = {
        "eval/mmd": mmd2_from(ref.xx, dyy, dxy, BANDWIDTHS),
        "eval/swd": sliced_wasserstein(ref.z, z),
        "eval/grid_kl": kl,
        "eval/grid_js": js,
        "eval/density": density,
        "eval/coverage": coverage,
    }
    if spec.modes:
        x = z * spec.scale + spec.loc  # back to data units, where the modes live
        out.update(mode_stats(x, torch.tensor(spec.modes), spec.mode_std))
    return out


@torch.no_grad()
def point_metrics(fake: torch.Tensor, data, y: torch.Tensor | None = None) -> dict[str, float]:
    """All point metrics of `fake` (n, 2) in data units against `data`, with their floors.
    `y`: the labels a conditional model was asked for (gives eval/cond_acc)."""
    ref = _reference(data, len(fake))
    z = _standardise(fake, data.spec)
    out = _compare(ref, z, data.spec)
    if y is not None and ref.knn is not None:
        out["eval/cond_acc"] = float((knn_predict(*ref.knn, z, K_NN) == y.cpu()).float().mean())
    out.update(ref.floors)
    return out
