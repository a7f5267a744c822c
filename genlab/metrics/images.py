"""Image metrics.

Labelled sets, in the feature space of the dataset classifier (genlab.metrics.classifier):
  eval/fd        Fréchet distance of the 128-d penultimate features: "FD (dataset classifier)".
                 Not FID: no Inception net; values are only comparable within one dataset and n.
  eval/score     classifier score, the Inception-score formula exp(E_x KL(p(y|x) ‖ p(y))), 1..K.
  eval/density, eval/coverage   Naeem et al. 2020, k = 5, on the same features.
  eval/cond_acc  conditional models: classifier accuracy against the requested labels.
Every set, in pixel space (so unlabelled uploads, which have no classifier, still get metrics):
  eval/nn_dist   mean L2 distance of each sample to its nearest training image (images larger than
                 32x32 area-averaged to 32x32 first); a copy of the training set scores 0 here while
                 it scores perfectly on everything else. Floor: validation images to training.
  eval/mmd       unbiased MMD² on images area-averaged to 8x8, RBF bandwidths 0.25, 0.5, 1, 2 × the
                 median pairwise distance of the real reference set.
Each comes with `floor/<name>`: the same figure for a second real set of the same size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from genlab.metrics import classifier as clf
from genlab.metrics.common import (
    LRU,
    data_key,
    density_coverage_from,
    frechet_from,
    knn_radii,
    mean_cov,
    mmd2_from,
    mmd2_self_term,
    real_sets,
    sq_dists,
)

DEFAULT_N = 1000  # samples per eval (capped by the data: see common.max_budget)
K_NN = 5
MMD_SIDE = 8
NN_SIDE = 32
PIXEL_BANDWIDTHS = (0.25, 0.5, 1.0, 2.0)  # × the median real pairwise distance
MAX_NN_TRAIN = 20_000


def pixels(x: torch.Tensor, side: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, C*side*side), area-averaged when larger than side x side."""
    x = x.float()
    if x.shape[-1] > side or x.shape[-2] > side:
        x = F.adaptive_avg_pool2d(x, side)  # (N, C, side, side)
    return x.flatten(1)


def nn_distance(x: torch.Tensor, train: torch.Tensor, chunk: int = 2000) -> float:
    """Mean over the rows of x of the L2 distance to the nearest row of `train` (flat pixels).
    The search uses the fast matmul form; the distance to the row it finds is then recomputed
    directly, so an exact copy of a training image scores exactly 0."""
    best = torch.full((len(x),), float("inf"), device=x.device)
    arg = torch.zeros(len(x), dtype=torch.long, device=x.device)
    for i in range(0, len(train), chunk):
        d, j = sq_dists(x, train[i : i + chunk]).min(1)
        better = d < best
        best, arg = torch.where(better, d, best), torch.where(better, j + i, arg)
    return float((x - train[arg]).norm(dim=1).mean())


def classifier_score(logits: torch.Tensor) -> float:
    """exp(E_x KL(p(y|x) ‖ p(y))) (Salimans et al. 2016), p(y) the mean prediction of the set."""
    logp = logits.detach().cpu().double().log_softmax(1)  # (N, K)
    logpy = logp.exp().mean(0).log()  # (K,)
    return float((logp.exp() * (logp - logpy)).sum(1).mean().exp())


@dataclass
class _Ref:
    pix: torch.Tensor  # (n, D) reference images at MMD_SIDE
    pix_xx: float  # the MMD self term of the reference set
    bandwidths: tuple[float, ...]
    train_nn: torch.Tensor  # (N, D') training images at NN_SIDE
    floors: dict[str, float] = field(default_factory=dict)
    feats: torch.Tensor | None = None  # (n, 128) classifier features of the reference set
    mu: torch.Tensor | None = None
    cov: torch.Tensor | None = None
    radii: torch.Tensor | None = None


_REFS = LRU(8)


@torch.no_grad()
def _reference(data, n: int, device: torch.device) -> _Ref:
    key = (data_key(data), n, str(device))
    if key in _REFS:
        return _REFS[key]
    rs = real_sets(data, n)
    pix = pixels(rs.ref, MMD_SIDE).to(device)
    dxx = sq_dists(pix, pix)
    pos = dxx[dxx > 0].cpu()
    med = float(pos.median().sqrt()) if len(pos) else 1.0
    bws = tuple(b * med for b in PIXEL_BANDWIDTHS)
    train_nn = pixels(data.x_train[:MAX_NN_TRAIN], NN_SIDE).to(device)
    ref = _Ref(pix, mmd2_self_term(dxx, bws), bws, train_nn)
    other_pix = pixels(rs.other, MMD_SIDE).to(device)
    ref.floors["floor/mmd"] = mmd2_from(
        ref.pix_xx, sq_dists(other_pix, other_pix), sq_dists(pix, other_pix), bws
    )
    ref.floors["floor/nn_dist"] = nn_distance(pixels(data.x_val[:n], NN_SIDE).to(device), train_nn)
    if data.spec.labelled and data.y_train is not None:
        net, info = clf.get_classifier(data, device)
        feats = clf.predict_in_batches(net.features, rs.ref, device)
        ref.feats, (ref.mu, ref.cov) = feats, mean_cov(feats)
        ref.radii = knn_radii(sq_dists(feats, feats).sqrt(), K_NN)
        f_other = clf.predict_in_batches(net.features, rs.other, device)
        ref.floors.update(_classifier_metrics(ref, f_other, net.head(f_other), prefix="floor"))
        ref.floors["floor/cond_acc"] = info["val_acc"]
    return _REFS.put(key, ref)


def _classifier_metrics(ref: _Ref, feats: torch.Tensor, logits: torch.Tensor, prefix: str):
    mu, cov = mean_cov(feats)
    density, coverage = density_coverage_from(ref.radii, sq_dists(ref.feats, feats).sqrt(), K_NN)
    return {
        f"{prefix}/fd": frechet_from(ref.mu, ref.cov, mu, cov),
        f"{prefix}/score": classifier_score(logits),
        f"{prefix}/density": density,
        f"{prefix}/coverage": coverage,
    }


@torch.no_grad()
def image_metrics(
    fake: torch.Tensor, data, y: torch.Tensor | None = None, device=None
) -> dict[str, float]:
    """All image metrics of `fake` (n, C, H, W) in [0, 1] against `data`, with their floors.
    `y`: the labels a conditional model was asked for (gives eval/cond_acc)."""
    device = torch.device(device or fake.device)
    fake = fake.to(device).float()
    ref = _reference(data, len(fake), device)
    pix = pixels(fake, MMD_SIDE)
    out = {
        "eval/mmd": mmd2_from(
            ref.pix_xx, sq_dists(pix, pix), sq_dists(ref.pix, pix), ref.bandwidths
        ),
        "eval/nn_dist": nn_distance(pixels(fake, NN_SIDE), ref.train_nn),
    }
    if ref.feats is not None:
        net, _ = clf.get_classifier(data, device)
        feats = clf.predict_in_batches(net.features, fake, device)
        logits = net.head(feats)
        out.update(_classifier_metrics(ref, feats, logits, prefix="eval"))
        if y is not None:
            out["eval/cond_acc"] = float((logits.argmax(1) == y.to(device)).float().mean())
    out.update(ref.floors)
    return out
