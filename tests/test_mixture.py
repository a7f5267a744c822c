"""The Gaussian mixture fitted by EM (genlab/data/mixture.py): known answers."""

from __future__ import annotations

import math

import torch
from torch.distributions import MultivariateNormal

from genlab.data.mixture import Mixture, _em, fit_mixture, kmeans


def _two_blobs(n: int = 3000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """30% from N((-4, 0), diag(1, 0.25)), 70% from N((4, 2), [[1, 0.8], [0.8, 1]]); (x, labels)."""
    g = torch.Generator().manual_seed(seed)
    n1 = int(0.3 * n)
    a = torch.randn(n1, 2, generator=g) * torch.tensor([1.0, 0.5]) + torch.tensor([-4.0, 0.0])
    chol = torch.linalg.cholesky(torch.tensor([[1.0, 0.8], [0.8, 1.0]]))
    b = torch.randn(n - n1, 2, generator=g) @ chol.T + torch.tensor([4.0, 2.0])
    return torch.cat([a, b]), torch.cat([torch.zeros(n1), torch.ones(n - n1)]).long()


def test_em_recovers_weights_means_and_covariances():
    x, _ = _two_blobs()
    mix = fit_mixture(x, 2)
    order = mix.means[:, 0].argsort()  # the left blob first
    w, m = mix.weights[order], mix.means[order]
    cov = (mix.chols @ mix.chols.transpose(1, 2))[order]
    assert torch.allclose(w, torch.tensor([0.3, 0.7], dtype=w.dtype), atol=0.02)
    assert torch.allclose(m, torch.tensor([[-4.0, 0.0], [4.0, 2.0]], dtype=m.dtype), atol=0.1)
    want = torch.tensor([[[1.0, 0.0], [0.0, 0.25]], [[1.0, 0.8], [0.8, 1.0]]], dtype=cov.dtype)
    assert torch.allclose(cov, want, atol=0.1)


def test_log_prob_matches_torch_distributions():
    g = torch.Generator().manual_seed(1)
    means = torch.randn(3, 4, generator=g, dtype=torch.float64)
    a = torch.randn(3, 4, 4, generator=g, dtype=torch.float64)
    covs = a @ a.transpose(1, 2) + 0.5 * torch.eye(4, dtype=torch.float64)
    weights = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    mix = Mixture(weights, means, torch.linalg.cholesky(covs))
    x = torch.randn(10, 4, generator=g, dtype=torch.float64)
    comps = torch.stack([MultivariateNormal(means[k], covs[k]).log_prob(x) for k in range(3)])
    want = torch.logsumexp(comps + weights.log()[:, None], 0)
    assert torch.allclose(mix.log_prob(x), want, atol=1e-9)


def test_samples_follow_the_mixture():
    x, _ = _two_blobs()
    mix = fit_mixture(x, 2)
    z = mix.sample(20_000, generator=torch.Generator().manual_seed(2))
    assert z.shape == (20_000, 2) and z.dtype == torch.float32
    assert torch.allclose(z.mean(0), x.mean(0), atol=0.1)
    assert torch.allclose(torch.cov(z.T), torch.cov(x.T), atol=0.2)
    # the same generator state gives the same draws
    assert torch.equal(
        mix.sample(7, generator=torch.Generator().manual_seed(3)),
        mix.sample(7, generator=torch.Generator().manual_seed(3)),
    )


def test_kmeans_separates_the_blobs_and_em_beats_one_gaussian():
    x, labels = _two_blobs()
    centres = kmeans(x.double(), 2, torch.Generator().manual_seed(0))
    assign = torch.cdist(x.double(), centres).argmin(1)
    agree = (assign == labels).float().mean()
    assert max(float(agree), 1 - float(agree)) > 0.99
    two, one = fit_mixture(x, 2), fit_mixture(x, 1)
    assert float(two.log_prob(x).mean()) > float(one.log_prob(x).mean()) + 0.5


def test_degenerate_inputs_still_fit():
    # fewer rows than components, repeated rows, and a high dimension (diagonal covariances)
    mix = fit_mixture(torch.ones(3, 2), 10)
    assert len(mix.weights) == 3 and bool(torch.isfinite(mix.chols).all())
    wide = fit_mixture(torch.randn(50, 80, generator=torch.Generator().manual_seed(0)), 3)
    off_diag = wide.chols - torch.diag_embed(wide.chols.diagonal(dim1=1, dim2=2))
    assert float(off_diag.abs().max()) == 0.0
    assert math.isfinite(float(wide.log_prob(torch.zeros(1, 80))[0]))


def test_a_warm_start_continues_em_from_the_given_mixture():
    x, _ = _two_blobs()
    cold = fit_mixture(x, 2)
    ll = float(cold.log_prob(x).mean())
    # EM never lowers the likelihood: one iteration from the converged fit stays there
    again = fit_mixture(x, 2, init=cold, iters=1)
    assert float(again.log_prob(x).mean()) >= ll - 1e-4
    assert torch.allclose(again.means, cold.means, atol=1e-2)
    # on shifted data a few warm iterations follow the shift (k-means is not re-run)
    moved = x + torch.tensor([1.0, -1.0])
    warm = fit_mixture(moved, 2, init=cold, iters=5)
    assert torch.allclose(warm.means, cold.means + torch.tensor([1.0, -1.0]).double(), atol=0.1)
    # an init of another shape is ignored (a cold fit)
    assert fit_mixture(x, 3, init=cold).means.shape == (3, 2)


def test_the_fit_does_not_depend_on_the_data_s_offset_or_scale():
    # data far from the origin and small in scale, where float32 sums would lose the spread
    x, _ = _two_blobs(n=1000)
    x = x.double() * 1e-3 + 1e3
    fit = fit_mixture(x, 2)
    assert fit.means.dtype == torch.float64
    scale = x.var(0).mean().sqrt()
    z = (x - x.mean(0)) / scale
    ref = fit_mixture(z, 2)  # already standardised: the returned units are z's
    assert torch.allclose((fit.means - x.mean(0)) / scale, ref.means, atol=1e-4)
    jacobian = 2 * float(scale.log())  # log p(x) = log p(z) - d log(scale), d = 2
    assert abs(float(fit.log_prob(x).mean()) - (float(ref.log_prob(z).mean()) - jacobian)) < 1e-3


def test_float32_em_reaches_the_float64_likelihood():
    x, _ = _two_blobs(n=2000)
    z = (x - x.mean(0)) / x.var(0).mean().sqrt()
    fits = [_em(z.to(dt), 4, 0, 100, 1e-5, 1e-3, None) for dt in (torch.float32, torch.float64)]
    lls = [float(f.log_prob(z.double()).mean()) for f in fits]
    assert abs(lls[0] - lls[1]) < 1e-4
