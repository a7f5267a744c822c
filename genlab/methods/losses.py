"""The adversarial losses the GAN methods share (gan, cgan, rgan), each from D's raw output (a
logit for `minimax` / `nonsaturating`, a score for the others), written as their papers'
equations, and the gradient norm behind R1 and the gradient penalty."""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("nonsaturating", "minimax", "hinge", "wgan-gp", "lsgan")


def d_loss(kind: str, r: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """D's loss from its raw outputs on real (`r`) and generated (`f`) samples."""
    if kind in ("minimax", "nonsaturating"):
        # Goodfellow et al. 2014, eq. 1: max_D E log D(x) + E log(1 - D(G(z))), D = sigmoid(logit);
        # -log sigmoid(r) = softplus(-r) and -log(1 - sigmoid(f)) = softplus(f), stable forms.
        return F.softplus(-r).mean() + F.softplus(f).mean()
    if kind == "hinge":
        # Lim & Ye 2017 (Geometric GAN), eq. 9; Miyato et al. 2018, eq. 16:
        # E max(0, 1 - D(x)) + E max(0, 1 + D(G(z))).
        return F.relu(1 - r).mean() + F.relu(1 + f).mean()
    if kind == "wgan-gp":
        # Gulrajani et al. 2017, eq. 3 (without its gradient penalty, added by the caller):
        # E D(G(z)) - E D(x), the negated Wasserstein-1 estimate of a 1-Lipschitz critic.
        return f.mean() - r.mean()
    if kind == "lsgan":
        # Mao et al. 2017, eq. 2 with a = 0 (fake), b = 1 (real):
        # 1/2 E (D(x) - 1)^2 + 1/2 E D(G(z))^2.
        return 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f**2).mean()
    raise ValueError(f"unknown GAN loss {kind!r} (allowed: {', '.join(LOSSES)})")


def g_loss(kind: str, f: torch.Tensor) -> torch.Tensor:
    """G's loss from D's raw output on generated samples."""
    if kind == "minimax":
        # Goodfellow et al. 2014, eq. 1: min_G E log(1 - D(G(z))) = -softplus(f); saturates when D
        # confidently rejects the fakes (the reason for the non-saturating form).
        return -F.softplus(f).mean()
    if kind == "nonsaturating":
        # Goodfellow et al. 2014, sec. 3: max_G E log D(G(z)), i.e. minimise softplus(-f).
        return F.softplus(-f).mean()
    if kind in ("hinge", "wgan-gp"):
        # Miyato et al. 2018, eq. 17 / Gulrajani et al. 2017, Algorithm 1: -E D(G(z)).
        return -f.mean()
    if kind == "lsgan":
        # Mao et al. 2017, eq. 2 with c = 1: 1/2 E (D(G(z)) - 1)^2.
        return 0.5 * ((f - 1) ** 2).mean()
    raise ValueError(f"unknown GAN loss {kind!r} (allowed: {', '.join(LOSSES)})")


def grad_sq_norm(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """||d sum(out) / dx||^2 per example of x, kept in the graph (R1 and the gradient penalty)."""
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return g.pow(2).flatten(1).sum(1)  # (B,)
