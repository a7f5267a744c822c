"""Discriminator Rejection Sampling (Azadi et al. 2019): the GAN's `sampler="drs"`."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


@torch.no_grad()
def drs(
    draw: Callable[[int, torch.Tensor | None], torch.Tensor],
    critic: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor],
    n: int,
    c: torch.Tensor | None,
    pack: int,
    tries: int,
    percentile: float,
    generator: torch.Generator | None,
    device: torch.device,
) -> torch.Tensor:
    """Discriminator Rejection Sampling (Azadi et al. 2019, Algorithm 1), in model space.

    An optimal D's logit is log p_data(x) / p_G(x) (Goodfellow et al. 2014, prop. 1), so
    accepting G's sample x with probability exp(D(x) - M) (M = the largest logit seen)
    samples p_data where G's support covers it: the thin bridges a continuous G must draw
    between separated modes get low logits and are dropped. Azadi et al. (eq. 8) accept with
    sigmoid(F), F = D - M - log(1 - exp(D - M - eps)) - gamma, gamma the `drs_percentile`-th
    percentile of F (their dynamic shift, so the acceptance rate stays workable). As in their
    Algorithm 1, M and gamma come from a burn-in (here the first round of candidates) and M
    is raised when a larger logit appears. Each output slot draws candidates in rounds until
    one is accepted, at most `drs_tries` (a slot none passes keeps its highest-F candidate),
    so only the rejected slots cost another round. With packing D scores `pack` samples at
    once; its logit is then the log ratio of the pack's product density (the samples are
    independent), so whole packs are accepted together and each member still follows
    p_data. Conditional slots keep their label y. With the hinge, wgan-gp and lsgan losses
    D's score is not that logit; DRS then ranks by it all the same (a heuristic: Azadi et
    al. first recalibrate such a D with the logistic loss).

    `draw(m, c)` gives m of G's samples in model space (labels c or None), `critic(x, c)` D's
    raw output per pack of `pack` samples; `tries` is `drs_tries`, `percentile`
    `drs_percentile`."""
    k = pack
    m = -(-n // k) * k  # n rounded up to whole packs
    if c is not None:
        c = c[torch.arange(m, device=c.device) % len(c)]  # (m,) labels of the padded slots
    eps = 1e-6
    packs = torch.arange(m // k, device=device)  # (P,) the packs still open
    offs = torch.arange(k, device=device)
    best_f = torch.full((m // k,), -math.inf, dtype=torch.float64, device=device)
    out: torch.Tensor | None = None  # (P, k, *shape) the kept candidate of each pack
    d_max = gamma = None
    for _ in range(tries):
        slots = (packs[:, None] * k + offs).flatten()  # (len(packs) * k,)
        cs = None if c is None else c[slots]
        x = draw(len(slots), cs)  # (S, *shape)
        d = critic(x, cs).double()  # (len(packs),) D's logit per pack
        d_max = d.max() if d_max is None else torch.maximum(d_max, d.max())
        delta = d - d_max
        f = delta - torch.log1p(-torch.exp(delta - eps))  # eq. 8 without gamma
        if gamma is None:
            gamma = torch.quantile(f, percentile / 100)  # from the burn-in round
        f = f - gamma
        u = torch.rand(f.shape, generator=generator, device=f.device)
        accept = u < torch.sigmoid(f)  # (len(packs),)
        x = x.reshape(len(packs), k, *x.shape[1:])  # (len(packs), k, *shape)
        if out is None:
            out = x.clone()
        keep = accept | (f > best_f[packs])  # accepted, or the best candidate so far
        out[packs[keep]] = x[keep]
        best_f[packs] = torch.where(accept, math.inf, torch.maximum(best_f[packs], f))
        packs = packs[~accept]
        if len(packs) == 0:
            break
    return out.reshape(m, *out.shape[2:])[:n]  # (n, *shape)
