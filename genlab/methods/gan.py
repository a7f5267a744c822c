"""GAN (Goodfellow et al. 2014) with a choice of losses, regularisers, packing and generator EMA.

G maps noise z ~ N(0, I) to model space; D scores real against generated samples. One
`train_step` is `n_critic` D updates then one G update, as in WGAN's Algorithm 1 (Arjovsky et al.
2017) and the DCGAN loop of pytorch/examples. The losses below take D's raw output (a logit for
`minimax` / `nonsaturating`, a score for the others), so the cgan subclass shares every line.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch

from genlab.data.base import DataSpec
from genlab.methods import knobs, rejection
from genlab.methods.base import Method, because, register, steps_by_clusters
from genlab.methods.losses import LOSSES, d_loss, g_loss, grad_sq_norm
from genlab.methods.nets import Discriminator, Generator, pack, update_ema
from genlab.params import TrainConfig, param

SAMPLERS = ("direct", "drs")


@dataclass(frozen=True)
class GANConfig:
    arch: str = param(
        "mlp",
        label="Network type",
        choices=("mlp", "conv"),
        help="mlp for points and images; conv (DCGAN) for images only.",
    )
    latent_dim: int = param(
        16,
        label="Noise size",
        low=1,
        high=512,
        help="Size of the noise vector z.",
        width=True,
    )
    hidden: int = param(
        256, label="Layer width", low=8, high=2048, help="Width of the MLP layers.", width=True
    )
    layers: int = param(2, label="Hidden layers", low=1, high=8, help="Hidden layers of each MLP.")
    channels: int = param(
        64,
        label="Conv channels",
        low=8,
        high=512,
        help="Conv nets: channels of the widest-grid layer.",
        advanced=True,
        width=True,
    )
    loss: str = param(
        "nonsaturating",
        label="GAN loss",
        choices=LOSSES,
        live=True,
        group="Loss",
        help="GAN objective; wgan-gp adds the gradient penalty gp_lambda.",
    )
    n_critic: int = param(
        1,
        label="D steps per G step",
        low=1,
        high=10,
        live=True,
        group="Loss",
        help="D updates per G update (5 is usual for wgan-gp).",
    )
    gp_lambda: float = param(
        10.0,
        label="Gradient penalty weight",
        low=0.0,
        high=100.0,
        live=True,
        group="Loss",
        help="WGAN-GP gradient penalty weight (Gulrajani et al. 2017).",
    )
    r1_gamma: float = param(
        0.0,
        label="R1 penalty weight",
        low=0.0,
        high=100.0,
        live=True,
        group="Loss",
        help="R1 penalty on D's gradient at real data (0 = off).",
    )
    d_norm: str = param(
        "none",
        label="Discriminator normalisation",
        choices=("none", "spectral", "layer"),
        group="Loss",
        help="Normalisation of D's layers; spectral = Miyato et al. 2018.",
    )
    pack: int = param(
        2,
        label="Samples judged together (PacGAN)",
        low=1,
        high=8,
        group="Loss",
        help="PacGAN: D judges this many samples at once (fights mode collapse).",
    )
    lr_g: float = knobs.lr(
        1e-3,
        label="Generator learning rate",
        help="Adam learning rate of G.",
        optimizer="g",
        high=1e-1,
    )
    lr_d: float = knobs.lr(
        1e-3,
        label="Discriminator learning rate",
        help="Adam learning rate of D.",
        optimizer="d",
        high=1e-1,
    )
    beta1: float = param(
        0.5,
        label="Adam β1",
        low=0.0,
        high=0.999,
        group="Optimiser",
        advanced=True,
        help="Adam beta1 (0.5 as in DCGAN).",
    )
    beta2: float = param(
        0.999,
        label="Adam β2",
        low=0.0,
        high=0.9999,
        group="Optimiser",
        advanced=True,
        help="Adam beta2.",
    )
    ema: float = param(
        0.0,
        label="Generator average (EMA) decay",
        low=0.0,
        high=0.9999,
        group="Optimiser",
        help="Decay of an average copy of G used for sampling (0 = off).",
    )
    sampler: str = param(
        "direct",
        label="Sampler",
        choices=SAMPLERS,
        live=True,
        group="Sampling",
        help="direct = G(z); drs = Discriminator Rejection Sampling (Azadi et al. 2019): keep "
        "G's samples with a probability that rises with D's score (drops the mass between modes).",
    )
    drs_percentile: float = param(
        95.0,
        label="Rejection strictness (percentile)",
        low=0.0,
        high=100.0,
        live=True,
        group="Sampling",
        advanced=True,
        help="DRS gamma: the percentile of F(x) that gets acceptance 1/2 (higher = stricter).",
    )
    drs_tries: int = param(
        16,
        label="Rejection tries per sample",
        low=1,
        high=256,
        live=True,
        group="Sampling",
        advanced=True,
        help="DRS candidates per sample; a slot none of them passes keeps its best candidate.",
    )


@register
class GAN(Method):
    name = "gan"
    label = "GAN"
    supports = ("points", "images")
    Config = GANConfig
    # The step schedule (lr x0.2 at 60%, x0.05 at 80%) is what buys precision: at a constant lr G
    # keeps jittering around the modes (ring8 HQ 0.40-0.66); lowered late, HQ reached ~0.8.
    train_defaults = {"batch_size": 256, "steps": 5000, "lr_schedule": "step"}
    description = "Generator against discriminator; choose the loss, regularisers and packing."
    phases = ("d", "g")

    def __init__(self, cfg: GANConfig, spec: DataSpec):
        super().__init__(cfg, spec)
        k = spec.n_classes if self.conditional else 0
        nets = {
            "arch": cfg.arch,
            "hidden": cfg.hidden,
            "layers": cfg.layers,
            "channels": cfg.channels,
        }
        self.G = Generator(
            cfg.latent_dim, spec.shape, n_classes=k, emb_dim=self._label_embedding(), **nets
        )
        self.D = Discriminator(
            spec.shape,
            pack=cfg.pack,
            norm=cfg.d_norm,
            n_cond=cfg.pack * k,
            n_aux=cfg.pack * k if self.conditional else 0,
            **nets,
        )
        # The averaged G is a submodule, so it is in state_dict and survives checkpoints.
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False) if cfg.ema > 0 else None
        betas = (cfg.beta1, cfg.beta2)
        self.optimizers = {
            "g": torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=betas),
            "d": torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=betas),
        }

    @classmethod
    def defaults_for(cls, spec: DataSpec) -> dict[str, Any]:
        if spec.kind == "points":
            # A 2-d z for 2-d data: G then folds a plane onto the modes instead of squeezing a
            # 16-d cloud through them; DRS drops the bridges a continuous G draws between modes
            # (ring8 HQ 0.75 -> 0.95 over 5 seeds, bench/RESULTS.md).
            out: dict[str, Any] = {
                "latent_dim": because(2, "2-D points: a 2-d latent, G folds a plane onto them"),
                "sampler": "drs",
            }
            # More clusters need more steps: with 5,000 steps grid25 left G blurred (HQ 0.16)
            # and a 12-mode upload lost a mode; 20,000 steps covered both (bench/RESULTS.md).
            # The count is measured on the data (spec.clusters, BIC), never known modes.
            out.update(steps_by_clusters(spec.clusters, few=5000))
            return out
        if spec.kind == "images":
            # 10,000 steps rather than 5,000 (seed 0): digits FD 14.75 -> 9.50 (the per-class
            # PCA-Gaussian baseline scores 14.48); the cgan: mnist class accuracy 0.949 -> 0.953,
            # digits FD 9.7 -> 4.4 (bench/RESULTS.md)
            return {"steps": 10000}
        return {}

    @classmethod
    def problems(cls, cfg: GANConfig, train: TrainConfig, spec: DataSpec) -> list[str]:
        out = []
        if cfg.arch == "conv" and spec.kind != "images":
            out.append(f"arch='conv' needs images; {spec.name!r} is {spec.kind} data (use mlp)")
        if train.batch_size % cfg.pack:
            out.append(f"batch_size={train.batch_size} must be a multiple of pack={cfg.pack}")
        return out

    # ----- conditioning hooks (the cgan subclass overrides these) ------------------------------
    def _label_embedding(self) -> int:
        """Size of the label embedding G concatenates to z: none without labels (cgan.py)."""
        return 0

    def _aux_weight(self) -> float:
        """Weight of the auxiliary classifier's loss in both phases: none here (cgan.py)."""
        return 0.0

    def _cond(self, y: torch.Tensor | None) -> torch.Tensor | None:
        """What G receives besides z: nothing for an unconditional GAN."""
        return None

    def _d(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        """D's raw score per pack of `pack` consecutive samples."""
        return self.D(pack(x, self.cfg.pack), None)  # (B/pack,)

    def _aux_loss(self, x: torch.Tensor, c: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        """(D's scores (B/pack,), the auxiliary classifier's loss on x or None): only a
        conditional GAN with an auxiliary classifier has the second (cgan.py)."""
        return self._d(x, c), None

    # ----- one step ----------------------------------------------------------------------------
    def train_step(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None = None,
        phases: tuple[str, ...] | None = None,
    ) -> dict[str, torch.Tensor]:
        """One update: the D phase then the G phase, or only the `phases` named ("d", "g")."""
        cfg = self.cfg
        run_d, run_g = phases is None or "d" in phases, phases is None or "g" in phases
        opt_g, opt_d = self.optimizers["g"], self.optimizers["d"]
        x_real = self.to_model(x)
        c = self._cond(y)  # generated samples take the real batch's labels (cgan)
        n = len(x_real)
        out: dict[str, torch.Tensor] = {}
        for _ in range(cfg.n_critic if run_d else 0):
            # ===== D phase: minimise d_loss(D(x_real), D(G(z))) (+ R1 / gradient penalty) =====
            # With n_critic > 1 every D update reuses this step's real batch with fresh z.
            with torch.no_grad():
                x_fake = self.G(self.noise(n, cfg.latent_dim), c)  # (B, *shape)
            if cfg.r1_gamma > 0:
                x_real.requires_grad_(True)
            (r, aux_real), f = self._aux_loss(x_real, c), self._d(x_fake, c)
            loss_d = d_loss(cfg.loss, r, f)
            if aux_real is not None:  # AC-GAN: D also learns the real images' classes
                out["loss/aux_d"] = aux_real
                loss_d = loss_d + self._aux_weight() * aux_real
            if cfg.r1_gamma > 0:
                # R1 (Mescheder et al. 2018, eq. 9): gamma/2 E ||grad_x D(x)||^2 on real data.
                out["loss/r1"] = grad_sq_norm(r, x_real).mean()
                loss_d = loss_d + 0.5 * cfg.r1_gamma * out["loss/r1"]
                x_real = x_real.detach()
            if cfg.loss == "wgan-gp":
                # Gulrajani et al. 2017, eq. 3: lambda E (||grad D(x_hat)||_2 - 1)^2 on random
                # interpolates x_hat = eps x + (1 - eps) x_fake (one eps per sample).
                eps = torch.rand(
                    n, *[1] * (x_real.dim() - 1), generator=self.generator, device=x_real.device
                )  # (B, 1, ...)
                x_hat = (eps * x_real + (1 - eps) * x_fake).requires_grad_(True)
                norms = (grad_sq_norm(self._d(x_hat, c), x_hat) + 1e-12).sqrt()
                out["loss/gp"] = ((norms - 1) ** 2).mean()
                loss_d = loss_d + cfg.gp_lambda * out["loss/gp"]
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        if run_d:
            prob = cfg.loss in ("minimax", "nonsaturating")  # D's probability, else its score
            out["loss/d"] = loss_d
            out["d/real"] = torch.sigmoid(r).mean() if prob else r.mean()
            out["d/fake"] = torch.sigmoid(f).mean() if prob else f.mean()

        if run_g:
            # ===== G phase: minimise g_loss(D(G(z))) =====
            x_fake = self.G(self.noise(n, cfg.latent_dim), c)  # (B, *shape)
            f_g, aux_fake = self._aux_loss(x_fake, c)
            loss_g = g_loss(cfg.loss, f_g)
            if aux_fake is not None:  # AC-GAN: G's samples should be classified as asked
                out["loss/aux_g"] = aux_fake
                loss_g = loss_g + self._aux_weight() * aux_fake
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            if self.G_ema is not None:
                self._update_ema()
            out["loss/g"] = loss_g
        return {k: v.detach() for k, v in out.items()}

    # ----- looking inside (genlab.views.points) ---------------------------------------------
    def critic(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """D on single items: each one fills a whole pack (`pack` copies of it side by side), so
        with packing the value reads "D's verdict on a pack made only of this point"."""
        k = self.cfg.pack
        x_model = self.to_model(x).repeat_interleave(k, dim=0)  # (N*k, *shape)
        c = self._cond(y).repeat_interleave(k) if self.conditional else None  # (N*k,)
        out = self._d(x_model, c)  # (N,)
        return torch.sigmoid(out) if self.critic_scale()[0] == "P(real)" else out

    def critic_scale(self) -> tuple[str, float]:
        if self.cfg.loss in ("minimax", "nonsaturating"):
            return ("P(real)", 0.5)  # D's output is a logit
        return ("score", 0.0)

    def generator_push(
        self, n: int, y: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The G phase's gradient, on G's own outputs (not the EMA copy): -dL_G/dx_fake in data
        space, scaled by the number of packs so that it does not shrink with n."""
        k = self.cfg.pack
        n = max(k, n - n % k)
        if self.conditional and y is None:
            y = self.sample_labels(n, generator)
        c = self._cond(y) if self.conditional else None
        with torch.no_grad():
            z = self.noise(n, self.cfg.latent_dim, generator=generator)  # (n, latent)
            x_fake = self.to_data(self.G(z, c)).requires_grad_(True)  # (n, *shape), data space
        with torch.enable_grad():
            loss_g = g_loss(self.cfg.loss, self._d(self.to_model(x_fake), c))
            (grad,) = torch.autograd.grad(loss_g, x_fake)  # (n, *shape)
        return x_fake.detach(), -grad * (n // k)

    def _update_ema(self) -> None:
        update_ema(self.G_ema, self.G, self.cfg.ema, self.step)

    def latent_size(self) -> int:
        return self.cfg.latent_dim

    @torch.no_grad()
    def decode_latent(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """G(z, y) in data space, the averaged G when there is one (as `sample` without DRS)."""
        G = self.G_ema if self.G_ema is not None else self.G
        x = self.to_data(G(z, self._cond(y)))  # (n, *shape)
        return x.clamp(0, 1) if self.spec.kind == "images" else x

    @torch.no_grad()
    def sample(
        self,
        n: int,
        y: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        **opts: Any,
    ) -> torch.Tensor:
        G = self.G_ema if self.G_ema is not None else self.G
        c = self._cond(y)
        if self.cfg.sampler == "drs":
            x = self._drs(G, n, c, generator)  # (n, *shape)
        else:
            x = G(self.noise(n, self.cfg.latent_dim, generator=generator), c)  # (n, *shape)
        x = self.to_data(x)
        return x.clamp(0, 1) if self.spec.kind == "images" else x

    def _drs(
        self,
        G: torch.nn.Module,
        n: int,
        c: torch.Tensor | None,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """n samples of G by Discriminator Rejection Sampling (see methods/rejection.py)."""
        cfg = self.cfg
        return rejection.drs(
            lambda m, cs: G(self.noise(m, cfg.latent_dim, generator=generator), cs),
            self._d,
            n,
            c,
            pack=cfg.pack,
            tries=cfg.drs_tries,
            percentile=cfg.drs_percentile,
            generator=generator or self.generator,
            device=self.device,
        )
