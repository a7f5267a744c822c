"""VAE: the KL formula, the β weighting and warm-up, the likelihoods, and a learning test."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

import genlab.methods.vae as vae_module
from genlab import params
from genlab.data import load_dataset
from genlab.data.base import Dataset
from genlab.methods.vae import gaussian_kl
from genlab.runs.build import build_method


def _vae(dataset: str, seed: int = 0, **values):
    train = params.build(params.TrainConfig, {"batch_size": 32, "seed": seed, "device": "cpu"})
    ds = load_dataset(dataset)
    return build_method("vae", values, train, ds.spec), ds


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu = 2 * torch.randn(7, 5, generator=g)
    logvar = 3 * torch.randn(7, 5, generator=g)
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    expected = kl_divergence(q, p).sum(1)
    assert torch.allclose(gaussian_kl(mu, logvar), expected, rtol=1e-5, atol=1e-5)
    assert torch.allclose(gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3))


def test_beta_weights_the_kl_term_in_the_loss():
    x, _ = load_dataset("digits").batch(32, torch.Generator().manual_seed(1))
    outs = {}
    for beta in (0.0, 1.0, 4.0):
        m, _ = _vae("digits", hidden=32, beta=beta)
        outs[beta] = m.train_step(x)
        o = outs[beta]
        assert torch.allclose(o["loss/total"], o["loss/recon"] + beta * o["loss/kl"], atol=1e-4)
        assert torch.allclose(o["loss/elbo"], o["loss/recon"] + o["loss/kl"], atol=1e-4)
    # same seed, same batch, same noise: the terms before the update agree across β
    assert torch.allclose(outs[0.0]["loss/kl"], outs[4.0]["loss/kl"])
    # β is live: the next step uses the new weight
    m, _ = _vae("digits", hidden=32, beta=1.0)
    m.change_live(beta=2.5)
    o = m.train_step(x)
    assert float(o["kl/weight"]) == 2.5
    assert torch.allclose(o["loss/total"], o["loss/recon"] + 2.5 * o["loss/kl"], atol=1e-4)


def test_beta_scales_the_kl_gradient_of_train_step():
    """train_step's gradient is g_recon + β·g_kl (same init, batch and noise for every β), so
    g(3) − g(1) = 2·(g(1) − g(0))."""
    x, _ = load_dataset("digits").batch(16, torch.Generator().manual_seed(2))
    grads = {}
    for beta in (0.0, 1.0, 3.0):
        m, _ = _vae("digits", hidden=32, beta=beta)
        m.optimizers["model"] = torch.optim.SGD(m.parameters(), lr=0.0)  # keep the gradient only
        m.train_step(x)
        grads[beta] = torch.cat([p.grad.flatten() for p in m.enc.parameters()])
    g_kl = grads[1.0] - grads[0.0]
    assert g_kl.abs().max() > 1e-4
    assert torch.allclose(grads[3.0] - grads[1.0], 2 * g_kl, atol=1e-4)


def test_kl_warmup_ramps_from_zero_to_beta():
    m, ds = _vae("digits", hidden=32, beta=2.0, kl_warmup=100)
    for step, expected in [(0, 0.0), (25, 0.5), (50, 1.0), (100, 2.0), (500, 2.0)]:
        m.step = step
        assert m.kl_weight() == pytest.approx(expected)
    m.step = 0
    x, _ = ds.batch(32, m.generator)
    o = m.train_step(x)
    assert float(o["kl/weight"]) == 0.0
    assert torch.allclose(o["loss/total"], o["loss/recon"])
    m2, _ = _vae("digits", hidden=32, beta=2.0)  # kl_warmup = 0: β from the start
    assert m2.kl_weight() == 2.0


def test_gaussian_likelihood_is_in_data_space_nats():
    m, ds = _vae("ring8", hidden=32)
    assert m.lik == "gaussian"
    with torch.no_grad():
        m.dec_logvar.fill_(math.log(0.3))
    g = torch.Generator().manual_seed(0)
    out = torch.randn(10, 2, generator=g)  # decoder means in model space
    x = torch.randn(10, 2, generator=g)  # data-space targets
    std = m.spec.scale * math.sqrt(0.3)
    expected = -Normal(m.to_data(out), std).log_prob(x).sum(1)
    assert torch.allclose(m.recon_nll(out, x), expected, atol=1e-5)


def test_bernoulli_needs_images_and_auto_picks_it():
    m, _ = _vae("digits", hidden=32)
    assert m.lik == "bernoulli"
    spec = load_dataset("moons").spec
    from genlab.methods.vae import VAE

    with pytest.raises(ValueError, match="bernoulli"):
        VAE.check(params.build(VAE.Config, {"likelihood": "bernoulli"}), params.TrainConfig(), spec)


def test_encode_decode_sample_shapes_and_ranges():
    m, ds = _vae("digits", hidden=32, latent_dim=3)
    with torch.no_grad():
        mu, logvar = m.encode(ds.x_val[:5])
        x = m.decode(mu)
    assert mu.shape == (5, 3) and logvar.shape == (5, 3)
    assert x.shape == (5, 1, 8, 8) and float(x.min()) >= 0 and float(x.max()) <= 1
    s = m.sample(4, mode="decode-sample")
    assert set(s.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="mode"):
        m.sample(2, mode="nonsense")


def test_evaluate_uses_binarised_images_and_leaves_the_run_rng_alone():
    m, ds = _vae("digits", hidden=32)
    state = m.generator.get_state()
    a = m.evaluate(ds)
    assert torch.equal(state, m.generator.get_state())
    binary = Dataset(ds.spec, ds.x_train, (ds.x_val > 0.5).float())
    b = m.evaluate(binary)
    assert a == b  # grey levels are binarised at x > 0.5 before the bound is computed
    assert a["eval/nelbo"] == pytest.approx(a["eval/recon"] + a["eval/kl"])


def test_vae_learns_digits():
    """Seed 0, 200 steps of batch 128 with the defaults (~6 s on 2 cores). Measured: held-out
    −ELBO 45.7 nats untrained -> 22.0 after 200 steps (19.6 after 1,000). A model that ignores z
    (per-pixel marginals of the training set) scores 24.6 nats, so < 23 needs a working encoder."""
    torch.manual_seed(0)
    train = params.build(params.TrainConfig, {"batch_size": 128, "seed": 0, "device": "cpu"})
    ds = load_dataset("digits")
    m = build_method("vae", {}, train, ds.spec)
    before = m.evaluate(ds)["eval/nelbo"]
    for step in range(200):
        m.step = step
        x, _ = ds.batch(train.batch_size, m.generator)
        m.train_step(x)
    after = m.evaluate(ds)
    assert before > 40
    assert after["eval/nelbo"] < 23.0, after
    assert after["eval/kl"] > 1.5, after  # the latent code carries information


def test_grey_level_images_default_to_the_gaussian_likelihood():
    from genlab.methods.vae import VAE

    digits, mnist = load_dataset("digits").spec, load_dataset("mnist").spec
    assert not digits.near_binary and mnist.near_binary
    assert VAE.defaults_for(digits) == {"likelihood": "gaussian"}
    assert VAE.defaults_for(mnist) == {} and VAE.defaults_for(load_dataset("moons").spec) == {}


def _trained_gmm_vae(steps: int = 40):
    m, ds = _vae("digits", hidden=32, latent_dim=3, gmm_components=4)
    for step in range(steps):
        m.step = step
        m.train_step(ds.batch(32, m.generator)[0])
    return m, ds


def test_gmm_sampler_fits_the_banked_posterior_means():
    m, _ = _vae("digits", hidden=32, latent_dim=3, gmm_components=4)
    assert m.latent_mixture() is None  # nothing banked: samples come from the prior
    m, _ = _trained_gmm_vae(steps=40)  # 40 x 32 = 1,280 means banked
    assert int(m.mu_seen) == 1280
    mix = m.latent_mixture()
    assert mix is not None and mix.means.shape == (4, 3)
    assert m.latent_mixture() is mix  # cached until the bank changes
    # the mixture is a density of the posterior means: it rates them above prior draws
    banked = m.mu_bank[: int(m.mu_seen)]
    prior = torch.randn(1000, 3, generator=torch.Generator().manual_seed(0)) * banked.std(0) * 3
    assert float(mix.log_prob(banked).mean()) > float(mix.log_prob(prior).mean())
    # the samples decode z drawn from the mixture
    g = torch.Generator().manual_seed(5)
    z = mix.sample(6, generator=torch.Generator().manual_seed(5))
    assert torch.allclose(m.sample(6, generator=g), m.decode(z))


def test_previews_continue_em_and_leave_the_full_fit_alone(monkeypatch):
    m, ds = _trained_gmm_vae(steps=40)
    first = m.latent_mixture(preview=True)  # no earlier fit: k-means, then PREVIEW_ITERS of EM
    assert first is not None and m._mixture is None
    assert m.latent_mixture(preview=True) is first  # cached until the bank changes
    full = m.latent_mixture()  # metrics and the Generate page: EM to convergence, cached apart
    assert full is not first and m.latent_mixture() is full
    assert m.latent_mixture(preview=True) is full  # a full fit of this bank serves previews too
    banked = m.mu_bank[: int(m.mu_seen)]
    assert float(full.log_prob(banked).mean()) >= float(first.log_prob(banked).mean()) - 1e-4
    # after more training a preview starts from the last fit, not from k-means
    m.step = 40
    m.train_step(ds.batch(32, m.generator)[0])
    calls = []
    real = vae_module.fit_mixture

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(vae_module, "fit_mixture", spy)
    m.latent_mixture(preview=True)
    assert calls == [{"init": full, "iters": m.PREVIEW_ITERS}]
    # the live view's samples go through the preview path
    g1, g2 = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    z = m.latent_mixture(preview=True).sample(4, generator=g2)
    assert torch.allclose(m.sample(4, generator=g1, preview=True), m.decode(z))


def test_bank_is_a_ring_buffer_and_survives_a_checkpoint():
    m, _ = _trained_gmm_vae(steps=70)  # 2,240 means: the ring has wrapped
    assert int(m.mu_seen) == 70 * 32 and m.mu_bank.shape == (m.BANK, 3)
    tensors, meta = m.checkpoint()
    fresh, _ = _vae("digits", hidden=32, latent_dim=3, gmm_components=4)
    fresh.restore(tensors, meta)
    assert torch.equal(fresh.mu_bank, m.mu_bank) and int(fresh.mu_seen) == int(m.mu_seen)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.allclose(fresh.sample(8, generator=g1), m.sample(8, generator=g2))
    # a checkpoint written before the bank existed loads, and samples from the prior
    old = {k: v for k, v in tensors.items() if "mu_bank" not in k and "mu_seen" not in k}
    older, _ = _vae("digits", hidden=32, latent_dim=3, gmm_components=4)
    older.restore(old, meta)
    assert int(older.mu_seen) == 0 and older.latent_mixture() is None
    assert older.sample(3).shape == (3, 1, 8, 8)


def test_prior_sampler_ignores_the_bank():
    m, _ = _trained_gmm_vae(steps=10)
    m.change_live(sampler="prior")
    g = torch.Generator().manual_seed(4)
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(4))
    assert torch.allclose(m.sample(5, generator=g), m.decode(z))
