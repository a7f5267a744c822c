"""Kernels shared by every data kind: MMD, Fréchet distance, density/coverage, sliced Wasserstein,
k-NN labels, plus the fixed real reference sets and the seeded construction of small helper nets.

All functions are pure: tensors in, floats (or tensors) out, no global RNG.
"""

from __future__ import annotations

import hashlib
import math
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

EVAL_SEED = 0  # the sample generator and every reference split: evals across steps are comparable
REF_SEED = 4321  # which training items form the real reference set


# ----- kernels ---------------------------------------------------------------------------------
def sq_dists(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances (n, m), clamped at 0 (the matmul form can dip below)."""
    x, y = x.flatten(1).float(), y.flatten(1).float()
    d = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T  # (n, m)
    return d.clamp_min_(0)


def rbf_sum(d: torch.Tensor, bandwidths: Sequence[float]) -> torch.Tensor:
    """Σ_s exp(-d / (2 s²)) for squared distances d: a mixture of RBF kernels."""
    k = torch.zeros_like(d)
    for s in bandwidths:
        k += torch.exp(d * (-0.5 / (s * s)))
    return k


def mmd2_self_term(dxx: torch.Tensor, bandwidths: Sequence[float]) -> float:
    """E k(x, x') over pairs i != j of one set (cacheable for a fixed reference set)."""
    n = dxx.shape[0]
    k = rbf_sum(dxx, bandwidths)
    return float((k.sum() - k.diagonal().sum()) / (n * (n - 1)))


def mmd2_from(
    xx: float, dyy: torch.Tensor, dxy: torch.Tensor, bandwidths: Sequence[float]
) -> float:
    """Unbiased MMD² (Gretton et al. 2012, eq. 3) with the sum of RBF kernels
    k(a, b) = Σ_s exp(-|a-b|² / (2 s²)), from the reference set's self term `xx`
    (mmd2_self_term) and the squared distances fake-fake (m, m) and reference-fake (n, m).
    Two samples of one distribution give ≈ 0 (it can dip below 0)."""
    return float(xx + mmd2_self_term(dyy, bandwidths) - 2 * rbf_sum(dxy, bandwidths).mean())


def mmd2(x: torch.Tensor, y: torch.Tensor, bandwidths: Sequence[float]) -> float:
    """Unbiased MMD² between the rows of x and y (a sum of RBF bandwidths, in the units of x)."""
    xx = mmd2_self_term(sq_dists(x, x), bandwidths)
    return mmd2_from(xx, sq_dists(y, y), sq_dists(x, y), bandwidths)


def frechet_distance(f1: torch.Tensor, f2: torch.Tensor) -> float:
    """|mu1 - mu2|² + tr(S1 + S2 - 2 (S1 S2)^½) between Gaussians fitted to two feature sets
    (Heusel et al. 2017, eq. 6), in float64; tr (S1 S2)^½ = Σ sqrt(eig(S1^½ S2 S1^½))."""
    m1, s1 = mean_cov(f1)
    m2, s2 = mean_cov(f2)
    return frechet_from(m1, s1, m2, s2)


def mean_cov(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    f = f.detach().cpu().double()  # (MPS has no float64)
    return f.mean(0), torch.cov(f.T)


def frechet_from(m1, s1, m2, s2) -> float:
    w, v = torch.linalg.eigh(s1)
    r1 = (v * w.clamp_min(0).sqrt()) @ v.T  # S1^½, symmetric
    tr_sqrt = torch.linalg.eigvalsh(r1 @ s2 @ r1).clamp_min(0).sqrt().sum()
    return float(((m1 - m2) ** 2).sum() + s1.trace() + s2.trace() - 2 * tr_sqrt)


def knn_radii(d_rr: torch.Tensor, k: int = 5) -> torch.Tensor:
    """Distance of each real point to its k-th nearest other real point, from the (n, n) distance
    matrix (the point itself is at distance 0, hence the (k+1)-th smallest)."""
    k = max(1, min(k, d_rr.shape[1] - 1))  # tiny sets (a few uploaded images)
    return d_rr.kthvalue(k + 1, dim=1).values


def density_coverage_from(
    radii: torch.Tensor, d_rf: torch.Tensor, k: int = 5
) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020, eqs. 3-4) from the real k-NN radii (n,) and the
    real-to-fake distances (n, m). Two samples of one distribution: density ≈ 1, coverage ≈ 0.97."""
    k = max(1, min(k, len(radii) - 1))  # as in knn_radii
    inside = d_rf < radii[:, None]  # (n, m): fake j lies in the k-NN ball of real i
    density = inside.sum().item() / (k * d_rf.shape[1])
    coverage = inside.any(1).float().mean().item()
    return density, coverage


def density_coverage(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> tuple[float, float]:
    radii = knn_radii(sq_dists(real, real).sqrt(), k)
    return density_coverage_from(radii, sq_dists(real, fake).sqrt(), k)


def sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, n_proj: int = 64, seed: int = 0) -> float:
    """Mean W1 distance between 1D projections on `n_proj` fixed random directions (Rabin et al.
    2011); the larger set is cut to the smaller one's size (sorted projections are matched)."""
    n = min(len(x), len(y))
    x, y = x[:n].flatten(1).float().cpu(), y[:n].flatten(1).float().cpu()
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(x.shape[1], n_proj, generator=g)
    w = w / w.norm(dim=0, keepdim=True)  # (D, P) unit directions
    px, py = (x @ w).sort(0).values, (y @ w).sort(0).values  # (n, P)
    return float((px - py).abs().mean())


def knn_predict(feats: torch.Tensor, labels: torch.Tensor, query: torch.Tensor, k: int = 5):
    """Majority label among the k nearest `feats` rows of each query row."""
    k = min(k, len(feats))
    idx = sq_dists(query, feats).topk(k, dim=1, largest=False).indices  # (m, k)
    votes = labels[idx]  # (m, k)
    n_cls = int(labels.max()) + 1
    counts = torch.zeros(len(query), n_cls).scatter_add_(
        1, votes, torch.ones_like(votes, dtype=torch.float)
    )
    return counts.argmax(1)


# ----- the fixed real reference sets -----------------------------------------------------------
_KEYS: dict[int, tuple[weakref.ref, str]] = {}


def data_key(data) -> str:
    """A content hash of a dataset's training split (cached per tensor object)."""
    x = data.x_train
    hit = _KEYS.get(id(x))
    if hit is not None and hit[0]() is x:
        return hit[1]
    h = hashlib.sha1()
    h.update(f"{data.spec.name}|{data.spec.kind}|{tuple(x.shape)}|{data.spec.vocab}".encode())
    for t in (data.x_train, data.y_train):
        if t is not None:
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    key = h.hexdigest()[:16]
    try:
        _KEYS[id(x)] = (weakref.ref(x), key)
    except TypeError:  # pragma: no cover - tensors support weak references
        pass
    return key


def max_budget(data) -> int:
    """The largest n for which a reference set of n training items and a second, disjoint real
    set of n items (validation first, then the remaining training items) both exist."""
    return min(len(data.x_train), (len(data.x_train) + len(data.x_val)) // 2)


@dataclass
class RealSets:
    ref: torch.Tensor  # n training items: what samples are compared with
    other: torch.Tensor  # n real items disjoint from `ref`: the real-vs-real floor
    y_ref: torch.Tensor | None
    y_other: torch.Tensor | None


def real_sets(data, n: int) -> RealSets:
    """`ref`: n training items picked by a fixed permutation; `other`: the validation split
    followed by the training items not in `ref`, cut to n (so both sets have the same size)."""
    n = min(n, max_budget(data))
    perm = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(REF_SEED))
    perm = perm.to(data.x_train.device)
    ref_idx, rest_idx = perm[:n], perm[n:]
    other = torch.cat([data.x_val, data.x_train[rest_idx]])[:n]
    y_ref = y_other = None
    if data.y_train is not None and data.y_val is not None:
        y_ref = data.y_train[ref_idx]
        y_other = torch.cat([data.y_val, data.y_train[rest_idx]])[:n]
    return RealSets(data.x_train[ref_idx], other, y_ref, y_other)


class LRU(dict):
    """A small dict that forgets its oldest entries (per-dataset reference caches)."""

    def __init__(self, size: int = 8):
        super().__init__()
        self.size = size
        self._lock = threading.Lock()  # several runs may evaluate at once

    def put(self, key, value):
        with self._lock:
            self[key] = value
            while len(self) > self.size:
                self.pop(next(iter(self)), None)
        return value


# ----- seeded helper nets ----------------------------------------------------------------------
def seeded_net(factory: Callable[[], nn.Module], seed: int, device) -> nn.Module:
    """Build a net without touching torch's global RNG (runs are seeded through it while built in
    other threads): construct on the meta device, then draw PyTorch's default init
    (kaiming-uniform a=√5, bias U(±1/√fan_in)) from an own generator."""
    with torch.device("meta"):
        net = factory()
    net = net.to_empty(device="cpu")
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        w = getattr(m, "weight", None)
        if isinstance(w, torch.Tensor) and w.dim() >= 2:
            nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=g)
            b = getattr(m, "bias", None)
            if isinstance(b, torch.Tensor):
                bound = 1 / math.sqrt(w[0].numel())
                nn.init.uniform_(b, -bound, bound, generator=g)
        elif isinstance(w, torch.Tensor):  # norms: weight 1, bias 0
            nn.init.ones_(w)
            if isinstance(getattr(m, "bias", None), torch.Tensor):
                nn.init.zeros_(m.bias)
    return net.to(device)
