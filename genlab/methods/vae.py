"""Variational autoencoder (Kingma & Welling 2013), with the β-VAE weight on the KL term (Higgins
et al. 2017).

Objective per example (Kingma & Welling eq. 10; Higgins eq. 4 for β):
    L = −E_q(z|x)[log p(x|z)] + β · KL(q(z|x) ‖ p(z)),
    q(z|x) = N(mu, diag exp(logvar)),  p(z) = N(0, I).
β = 1 is the plain negative ELBO. The expectation is estimated with one reparameterised sample
z = mu + exp(logvar/2) · ε (eq. 4 & 7) and the KL term in closed form (Appendix B).

Likelihoods:
- bernoulli (images in [0, 1]): the decoder gives a logit per pixel; training inputs and targets
  are dynamically binarised (a fresh Bernoulli draw per pixel each step) or the grey levels (see
  `binarize`); held-out figures are on binarised images (x > 0.5), since grey-level
  cross-entropy is not a likelihood.
- gaussian (points, sequences, or images by choice): N(x | mean(z), diag σ²) in the model's
  standardised space with a LEARNED per-dimension decoder variance σ² (one free vector, not a
  function of z), initialised at σ = 0.1 and kept in [e^-9, e^4]. Reported nats are in data
  space (the Jacobian of the standardisation, D·log(scale), is added), so they compare across
  methods.

All reported losses are nats per example: summed over dimensions, averaged over the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from genlab.data.base import DataSpec
from genlab.data.mixture import Mixture, fit_mixture
from genlab.methods import knobs
from genlab.methods.base import Method, register
from genlab.methods.nets import mlp
from genlab.params import TrainConfig, param

LOGVAR_MIN, LOGVAR_MAX = -9.0, 4.0  # gaussian decoder variance bounds (in model space)


@dataclass(frozen=True)
class VAEConfig:
    latent_dim: int = param(
        20,
        label="Latent size",
        low=1,
        high=512,
        help="Size of the latent code z.",
        width=True,
    )
    hidden: int = param(
        400,
        label="Layer width",
        low=8,
        high=4096,
        help="Width of each hidden layer.",
        width=True,
    )
    layers: int = param(
        1,
        label="Hidden layers",
        low=1,
        high=6,
        help="Hidden layers in the encoder and the decoder.",
    )
    arch: str = param(
        "mlp", label="Network type", choices=("mlp",), help="Network type (items are flattened)."
    )
    likelihood: str = param(
        "auto",
        label="Decoder likelihood",
        choices=("auto", "bernoulli", "gaussian"),
        help="p(x|z): bernoulli for images in [0, 1], gaussian (learned variance) otherwise; "
        "auto picks bernoulli for images and gaussian for everything else.",
    )
    binarize: str = param(
        "dynamic",
        label="Binarise images",
        choices=("dynamic", "none"),
        help="Bernoulli training inputs and targets: a fresh Bernoulli draw of each pixel every "
        "step (dynamic binarisation: held-out −ELBO 95.9 vs 99.2 nats on mnist after 6,000 "
        "steps) or the grey levels themselves (none).",
        advanced=True,
    )
    beta: float = param(
        1.0,
        label="KL weight β",
        low=0.0,
        high=100.0,
        live=True,
        help="Weight of the KL term: 1 = plain ELBO, >1 = β-VAE.",
    )
    kl_warmup: int = param(
        0,
        label="KL warm-up steps",
        low=0,
        high=1_000_000,
        group="Optimiser",
        help="Steps over which the KL weight ramps linearly from 0 to β.",
    )
    lr: float = knobs.lr(1e-3, label="Learning rate", help="Adam learning rate.", optimizer="*")
    sampler: str = param(
        "gmm",
        label="Sampler",
        choices=("gmm", "prior"),
        live=True,
        group="Sampling",
        help="Where samples draw z: gmm = a Gaussian mixture fitted to the posterior means of "
        "recent training items (ex-post density estimation, Ghosh et al. 2020: mnist FD 79 -> "
        "30 after 10,000 steps); prior = N(0, I).",
    )
    gmm_components: int = param(
        20,
        label="Mixture components",
        low=1,
        high=100,
        live=True,
        group="Sampling",
        advanced=True,
        help="sampler=gmm: mixture components (FD on digits / mnist: 10 -> 19.7 / 36.2, "
        "20 -> 11.8 / 29.6, 30 -> 12.0 / 24.0).",
    )


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag e^logvar) ‖ N(0, I)) per example, summed over the latent dims
    (Kingma & Welling 2013, Appendix B: −½ Σ (1 + logvar − mu² − e^logvar))."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)  # (B,)


@register
class VAE(Method):
    name = "vae"
    label = "VAE"
    supports = ("points", "images", "sequences")
    Config = VAEConfig
    train_defaults = {"batch_size": 128, "steps": 10000}
    description = "Encoder q(z|x) and decoder p(x|z) trained on the evidence lower bound."
    BANK = 2048  # posterior means of the latest training items, for sampler=gmm
    MIN_FIT = 256  # fewer banked means than this: sample from the prior
    PREVIEW_ITERS = 5  # EM iterations per live preview, continuing from the last fit
    legacy_values = {"sampler": "prior"}  # runs saved before the mixture sampler
    added_state = ("mu_bank", "mu_seen")  # ... load with an empty bank (prior until refilled)

    @classmethod
    def defaults_for(cls, spec: DataSpec) -> dict[str, Any]:
        # The Bernoulli likelihood models binary pixels. On grey-level images (digits: 65% of
        # pixels within 0.1 of 0 or 1; mnist 91%) its decoder mean is a blur whose
        # reconstructions score FD 26.7 on digits against the Gaussian's 10.8 (bench/RESULTS.md).
        if spec.kind == "images" and not getattr(spec, "near_binary", True):
            return {"likelihood": "gaussian"}
        return {}

    def __init__(self, cfg: VAEConfig, spec: DataSpec):
        super().__init__(cfg, spec)
        self.lik = self.resolve_likelihood(cfg, spec)
        self.dim = math.prod(spec.shape)  # items are flattened: D
        widths = [cfg.hidden] * cfg.layers
        self.enc = mlp([self.dim, *widths, 2 * cfg.latent_dim], act=nn.ReLU)  # -> (mu, logvar)
        self.dec = mlp([cfg.latent_dim, *widths, self.dim], act=nn.ReLU)  # -> logits or mean
        if self.lik == "gaussian":
            # learned σ² per dimension, starting small (σ = 0.1): from σ = 1 the decoder explains
            # standardised data as noise and q(z|x) collapses onto the prior (KL 0.05 nats and
            # samples shrunk to a blob on ring8, measured); from 0.1 it must use z first.
            self.dec_logvar = nn.Parameter(torch.full((self.dim,), math.log(0.01)))
        self.register_buffer("mu_bank", torch.zeros(self.BANK, cfg.latent_dim))  # (K, latent)
        self.register_buffer("mu_seen", torch.zeros((), dtype=torch.long))
        self._mixture: tuple[tuple[int, int], Mixture] | None = None  # ((seen, K), fit)
        self._preview: tuple[tuple[int, int], Mixture] | None = None  # the same, for previews
        self.optimizers = {"model": torch.optim.Adam(self.parameters(), lr=cfg.lr)}

    @staticmethod
    def resolve_likelihood(cfg: VAEConfig, spec: DataSpec) -> str:
        if cfg.likelihood == "auto":
            return "bernoulli" if spec.kind == "images" else "gaussian"
        return cfg.likelihood

    @classmethod
    def problems(cls, cfg: VAEConfig, train: TrainConfig, spec: DataSpec) -> list[str]:
        out = []
        if cls.resolve_likelihood(cfg, spec) == "bernoulli" and spec.kind != "images":
            out.append(
                f"likelihood='bernoulli' needs images in [0, 1]; {spec.name!r} holds "
                f"{spec.kind} (use gaussian or auto)"
            )
        return out

    # ----- the model -------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Data-space items (B, *shape) -> q(z|x) parameters mu, logvar, each (B, latent_dim)."""
        h = self.enc(self.to_model(x).reshape(len(x), -1))  # (B, 2·latent)
        mu, logvar = h.chunk(2, dim=1)  # (B, latent) each
        return mu, logvar

    def encode_mean(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior means E[z | x] = mu (N, latent) of data-space items x (the 2D view)."""
        return self.encode(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latent codes (B, latent_dim) -> the decoder's mean in data space (B, *shape):
        pixel probabilities for bernoulli, means for gaussian (images clamped to [0, 1])."""
        out = self.dec(z)  # (B, D): logits or model-space means
        x = torch.sigmoid(out) if self.lik == "bernoulli" else self.to_data(out)
        x = x.reshape(len(z), *self.spec.shape)  # (B, *shape)
        return x.clamp(0.0, 1.0) if self.spec.kind == "images" else x

    def latent_size(self) -> int:
        return self.cfg.latent_dim

    def decode_latent(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decode(z)

    def kl_weight(self) -> float:
        """β, ramped linearly from 0 over the first `kl_warmup` steps (Bowman et al. 2016's
        KL annealing; Sønderby et al. 2016's warm-up)."""
        if self.cfg.kl_warmup <= 0:
            return self.cfg.beta
        return self.cfg.beta * min(1.0, self.step / self.cfg.kl_warmup)

    def recon_nll(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """−log p(x|z) per example in nats, summed over dims. `out` is the decoder output (B, D);
        `target` is (B, D): pixel values in [0, 1] for bernoulli, data-space values for gaussian."""
        if self.lik == "bernoulli":
            return F.binary_cross_entropy_with_logits(out, target, reduction="none").sum(1)
        logvar = self.dec_logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)  # (D,)
        x = self.to_model(target)
        nll = 0.5 * (math.log(2 * math.pi) + logvar + (x - out).pow(2) * torch.exp(-logvar))
        # change of variables model -> data space: p_data(x) = p_model(x_model) / scale^D
        return nll.sum(1) + self.dim * math.log(self.spec.scale)  # (B,)

    def terms(
        self, x: torch.Tensor, target: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-example (recon, kl), each (B,), with one reparameterised sample of z, and the
        posterior means mu (B, latent)."""
        mu, logvar = self.encode(x)  # (B, latent)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device)  # (B, latent)
        z = mu + torch.exp(0.5 * logvar) * eps  # reparameterisation trick (K&W eq. 4)
        out = self.dec(z)  # (B, D)
        return self.recon_nll(out, target.reshape(len(x), -1)), gaussian_kl(mu, logvar), mu

    # ----- one step --------------------------------------------------------------------------
    def train_step(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        target = x
        if self.lik == "bernoulli" and self.cfg.binarize == "dynamic":
            u = torch.rand(x.shape, generator=self.generator, device=x.device)
            target = (u < x).to(x.dtype)  # a fresh binary image each step
            x = target
        recon, kl, mu = self.terms(x, target, self.generator)
        self._bank(mu.detach())
        recon, kl = recon.mean(), kl.mean()
        w = self.kl_weight()
        loss = recon + w * kl  # −E_q[log p(x|z)] + β·KL  (Higgins 2017 eq. 4)
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {
            "loss/total": loss.detach(),
            "loss/recon": recon.detach(),
            "loss/kl": kl.detach(),
            "loss/elbo": (recon + kl).detach(),  # the β = 1 negative ELBO
            "kl/weight": torch.tensor(w),
        }

    # ----- held-out figures ------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self, data: Any) -> dict[str, float]:
        """Negative ELBO (β = 1, one sample of z, fixed noise) on the validation split, nats per
        example. Bernoulli: on binarised images (x > 0.5)."""
        x_all = data.x_val.to(self.device)
        if self.lik == "bernoulli":
            x_all = (x_all > 0.5).to(torch.float32)
        g = torch.Generator(device=self.device).manual_seed(0)  # leaves the run's stream alone
        was_training = self.training
        self.eval()
        recon_sum = kl_sum = 0.0
        for i in range(0, len(x_all), 1000):
            x = x_all[i : i + 1000]
            recon, kl, _ = self.terms(x, x, g)
            recon_sum += float(recon.sum())
            kl_sum += float(kl.sum())
        self.train(was_training)
        n = len(x_all)
        return {
            "eval/nelbo": (recon_sum + kl_sum) / n,
            "eval/recon": recon_sum / n,
            "eval/kl": kl_sum / n,
        }

    # ----- looking inside -------------------------------------------------------------------
    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """decode(mu(x)): the decoder's mean at the posterior mean, (n, *shape) in data space."""
        mu, _ = self.encode(x)  # (n, latent)
        return self.decode(mu)

    # ----- ex-post density of the latent codes (sampler=gmm) ---------------------------------
    @torch.no_grad()
    def _bank(self, mu: torch.Tensor) -> None:
        """Keep the posterior means of the latest BANK training items (a ring buffer)."""
        mu = mu[-self.BANK :]
        idx = (self.mu_seen + torch.arange(len(mu), device=mu.device)) % self.BANK
        self.mu_bank.index_copy_(0, idx, mu.to(self.mu_bank.dtype))
        self.mu_seen += len(mu)

    def latent_mixture(self, preview: bool = False) -> Mixture | None:
        """The Gaussian mixture fitted to the banked posterior means, or None while fewer than
        MIN_FIT are banked. A full fit (EM from k-means, to convergence; ~0.3 s for 20
        components on one thread) is cached until the bank changes. `preview=True` (the live
        sample snapshots) instead runs PREVIEW_ITERS EM iterations from the previous fit, so EM
        follows the drifting codes across snapshots at a tenth of the cost."""
        seen = int(self.mu_seen)
        if seen < self.MIN_FIT:
            return None
        key = (seen, self.cfg.gmm_components)
        for cached in (self._mixture, self._preview if preview else None):
            if cached is not None and cached[0] == key:
                return cached[1]
        bank = self.mu_bank[: min(seen, self.BANK)]
        if preview:
            last = self._preview[1] if self._preview is not None else None
            fit = fit_mixture(bank, key[1], init=last, iters=self.PREVIEW_ITERS)
            self._preview = (key, fit)
            return fit
        self._mixture = self._preview = (key, fit_mixture(bank, key[1]))
        return self._mixture[1]

    def restore(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        super().restore(tensors, meta)
        self._mixture = self._preview = None

    @torch.no_grad()
    def latent_importance(self, x: torch.Tensor) -> torch.Tensor:
        """Mean KL(q(z_j|x) ‖ N(0, 1)) per latent dimension j over x, (latent,): a dimension the
        encoder does not use sits at the prior, KL ≈ 0 ("inactive units", Burda et al. 2016)."""
        mu, logvar = self.encode(x)  # (n, latent) each
        return (0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)).mean(0)  # (latent,)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        y: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        mode: str = "decode-mean",
        preview: bool = False,
        **opts: Any,
    ) -> torch.Tensor:
        """Decode z from `sampler` (the fitted mixture, or N(0, I)). decode-mean: the decoder's
        mean (pixel probabilities for bernoulli); decode-sample: a draw from p(x|z). `y` is
        ignored (unconditional). `preview`: see latent_mixture."""
        g = generator or self.generator
        mix = self.latent_mixture(preview) if self.cfg.sampler == "gmm" else None
        if mix is None:
            z = self.noise(n, self.cfg.latent_dim, generator=g)  # (n, latent)
        else:
            z = mix.sample(n, generator=g)  # (n, latent)
        if mode == "decode-mean":
            return self.decode(z)
        if mode != "decode-sample":
            raise ValueError(f"mode={mode!r} is not one of decode-mean, decode-sample")
        out = self.dec(z)  # (n, D)
        if self.lik == "bernoulli":
            u = torch.rand(out.shape, generator=g, device=out.device)
            x = (u < torch.sigmoid(out)).to(out.dtype)  # (n, D)
        else:
            std = torch.exp(0.5 * self.dec_logvar.clamp(LOGVAR_MIN, LOGVAR_MAX))  # (D,)
            x = self.to_data(out + std * self.noise(*out.shape, generator=g))  # (n, D)
        x = x.reshape(n, *self.spec.shape)  # (n, *shape)
        return x.clamp(0.0, 1.0) if self.spec.kind == "images" else x
