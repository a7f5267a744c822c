"""Sequence metrics.

  eval/mmd   unbiased MMD² between per-series summary statistics (per channel: mean, std,
             autocorrelation at lags 1 and 2, dominant frequency = the argmax of |rfft| over
             frequencies >= 1 cycle per window), standardised by the real reference set's mean and
             std; RBF bandwidths 0.1, 0.5, 1, 2 × sqrt(d) (d = number of statistics, the typical
             norm of a standardised vector).
  eval/disc  discriminative score (as in TimeGAN, Yoon et al. 2019, but reported as the plain
             held-out accuracy, not |acc - 0.5|): a small MLP on [standardised statistics, the raw
             series in model units] trained to tell real from generated on 70% of the pooled
             sets, accuracy on the other 30%. 0.5 = indistinguishable, 1 = always told apart.
  eval/cond_acc  conditional models: share of samples whose 5-NN label (on the standardised
             statistics of training series) is the requested label.
Each comes with `floor/<name>`: the same figure for a second real set of the same size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from genlab.metrics.common import (
    LRU,
    data_key,
    knn_predict,
    mmd2_from,
    mmd2_self_term,
    real_sets,
    seeded_net,
    sq_dists,
)

DEFAULT_N = 500
BANDWIDTHS = (0.1, 0.5, 1.0, 2.0)  # × sqrt(d)
K_NN = 5
DISC_HIDDEN = 64
DISC_STEPS = 300
DISC_LR = 3e-3
DISC_SEED = 0
N_KNN_TRAIN = 5000


def series_stats(x: torch.Tensor) -> torch.Tensor:
    """(N, T, C) -> (N, 5 C): mean, std, lag-1 and lag-2 autocorrelation, dominant frequency."""
    x = x.detach().float().cpu()
    T = x.shape[1]
    mu = x.mean(1)  # (N, C)
    xc = x - mu[:, None]
    var = (xc * xc).mean(1)  # (N, C)
    std = var.sqrt()

    def acf(lag: int) -> torch.Tensor:
        if lag >= T:
            return torch.zeros_like(mu)
        return (xc[:, lag:] * xc[:, :-lag]).mean(1) / var.clamp_min(1e-8)  # (N, C)

    spec = torch.fft.rfft(xc, dim=1).abs()  # (N, T//2+1, C)
    freq = (spec[:, 1:].argmax(1) + 1).float() if spec.shape[1] > 1 else torch.zeros_like(mu)
    return torch.cat([mu, std, acf(1), acf(2), freq], 1)  # (N, 5C)


def _disc_net(d: int) -> nn.Module:
    return nn.Sequential(nn.Linear(d, DISC_HIDDEN), nn.ReLU(), nn.Linear(DISC_HIDDEN, 1))


def discriminative_score(real: torch.Tensor, fake: torch.Tensor, seed: int = DISC_SEED) -> float:
    """Held-out accuracy of an MLP trained to tell the rows of `real` from those of `fake`
    (feature matrices, standardised by the caller). Fixed seed, own generator, full batches."""
    n = min(len(real), len(fake))
    x = torch.cat([real[:n], fake[:n]]).float()  # (2n, D)
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(2 * n, generator=g)
    n_tr = int(0.7 * 2 * n)
    tr, te = perm[:n_tr], perm[n_tr:]
    net = seeded_net(lambda: _disc_net(x.shape[1]), seed, "cpu")
    opt = torch.optim.Adam(net.parameters(), lr=DISC_LR, weight_decay=1e-4)
    with torch.enable_grad():
        for _ in range(DISC_STEPS):
            loss = F.binary_cross_entropy_with_logits(net(x[tr]).squeeze(1), y[tr])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    with torch.no_grad():
        pred = (net(x[te]).squeeze(1) > 0).float()
    return float((pred == y[te]).float().mean())


@dataclass
class _Ref:
    mu: torch.Tensor  # statistics' mean and std over the reference set
    sd: torch.Tensor
    s: torch.Tensor  # (n, d) standardised statistics of the reference set
    xx: float  # the MMD self term of the reference set
    feats: torch.Tensor  # (n, d + T*C) the discriminator's input for the reference set
    bandwidths: tuple[float, ...]
    knn: tuple[torch.Tensor, torch.Tensor] | None
    floors: dict[str, float] = field(default_factory=dict)


_REFS = LRU(16)


def _features(x: torch.Tensor, ref_mu, ref_sd, spec) -> tuple[torch.Tensor, torch.Tensor]:
    s = (series_stats(x) - ref_mu) / ref_sd  # (N, d)
    raw = ((x.detach().float().cpu() - spec.loc) / spec.scale).flatten(1)  # (N, T*C)
    return s, torch.cat([s, raw], 1)


def _reference(data, n: int) -> _Ref:
    key = (data_key(data), n)
    if key in _REFS:
        return _REFS[key]
    rs = real_sets(data, n)
    st = series_stats(rs.ref)
    mu, sd = st.mean(0), st.std(0)
    sd = torch.where(sd > 1e-6, sd, torch.ones_like(sd))  # a constant statistic stays unscaled
    s, feats = _features(rs.ref, mu, sd, data.spec)
    bws = tuple(b * math.sqrt(s.shape[1]) for b in BANDWIDTHS)
    knn = None
    if data.y_train is not None:
        kx = (series_stats(data.x_train[:N_KNN_TRAIN]) - mu) / sd
        knn = (kx, data.y_train[:N_KNN_TRAIN].cpu())
    ref = _Ref(mu, sd, s, mmd2_self_term(sq_dists(s, s), bws), feats, bws, knn)
    floors = _compare(ref, rs.other, data.spec)
    if knn is not None:
        sv = (series_stats(data.x_val[:n]) - mu) / sd
        floors["eval/cond_acc"] = float(
            (knn_predict(*knn, sv, K_NN) == data.y_val[:n].cpu()).float().mean()
        )
    ref.floors = {k.replace("eval/", "floor/"): v for k, v in floors.items()}
    return _REFS.put(key, ref)


def _compare(ref: _Ref, x: torch.Tensor, spec) -> dict[str, float]:
    s, feats = _features(x, ref.mu, ref.sd, spec)
    return {
        "eval/mmd": mmd2_from(ref.xx, sq_dists(s, s), sq_dists(ref.s, s), ref.bandwidths),
        "eval/disc": discriminative_score(ref.feats, feats),
    }


@torch.no_grad()
def sequence_metrics(fake: torch.Tensor, data, y: torch.Tensor | None = None) -> dict[str, float]:
    """All sequence metrics of `fake` (n, T, C) against `data`, with their floors."""
    ref = _reference(data, len(fake))
    out = _compare(ref, fake, data.spec)
    if y is not None and ref.knn is not None:
        s = (series_stats(fake) - ref.mu) / ref.sd
        out["eval/cond_acc"] = float((knn_predict(*ref.knn, s, K_NN) == y.cpu()).float().mean())
    out.update(ref.floors)
    return out
