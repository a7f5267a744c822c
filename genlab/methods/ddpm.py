"""Denoising diffusion (DDPM, Ho et al. 2020) with ε-prediction, and the DDIM sampler (Song et al.
2021).

Forward process (Ho eq. 4): q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I),  ᾱ_t = Π_{s≤t} (1 − β_s),
t = 1..T, so x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε with ε ~ N(0, I). The schedule β_t is `linear` (Ho
sec. 4: 1e-4 .. 0.02 at T = 1000, scaled by 1000 / T as in Nichol & Dhariwal's code so that ᾱ_T
stays ≈ 0) or `cosine` (Nichol & Dhariwal 2021, eq. 17). ᾱ_T ≈ 0 is what lets sampling start
from N(0, I) (ᾱ_T = 4e-5 linear and 0 cosine at T = 1000; see `alpha_bar_T`).

Training, the simple loss (Ho eq. 14):  L = E_{t, x_0, ε} ‖ε − ε_θ(√ᾱ_t x_0 + √(1 − ᾱ_t) ε, t)‖².

Sampling on a subsequence τ_S > ... > τ_1 of 1..T (`sample_steps` of them; τ_0 = 0, ᾱ_0 = 1),
Song et al. eq. 12 with σ of their eq. 16:
    x̂_0 = (x_t − √(1 − ᾱ_t) ε_θ(x_t, t)) / √ᾱ_t
    σ_t = η √((1 − ᾱ_prev) / (1 − ᾱ_t)) √(1 − ᾱ_t / ᾱ_prev)
    x_prev = √ᾱ_prev x̂_0 + √(1 − ᾱ_prev − σ_t²) ε_θ(x_t, t) + σ_t z,   z ~ N(0, I)
η = 1 (`ancestral`) is the DDPM sampler (Ho Algorithm 2 with the posterior variance β̃_t of their
eq. 7; on a subsequence, the respaced DDPM of Nichol & Dhariwal sec. 4); η = 0 (`ddim`) is the
deterministic DDIM. `dpm2m` is DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Algorithm 2),
a second-order multistep solver of the same ODE as DDIM, in λ_t = log(√ᾱ_t / √(1 − ᾱ_t)) with
h = λ_prev − λ_t and the previous step's x̂_0 (r = h_last / h):
    D = (1 + 1/(2r)) x̂_0 − 1/(2r) x̂_0,last   (D = x̂_0 at the first step)
    x_prev = (√(1 − ᾱ_prev) / √(1 − ᾱ_t)) x_t − √ᾱ_prev (e^(−h) − 1) D
and x_0 = x̂_0 at the last step; few steps lose much less than DDIM's first order (on ring8 at 20
steps, spaced evenly, DDIM kept 72 % of the full sampler's high-quality share). With few steps the
ancestral sampler on quadratically spaced steps (`steps_used`) keeps the most on tight 2D modes.
The sampler and its steps are sampling settings: they change on a trained model. Images clip x̂_0
to the data range [-1, 1] (as Ho et al.'s code does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from genlab.data.base import DataSpec
from genlab.methods import knobs
from genlab.methods.base import register
from genlab.methods.denoise import Denoiser, DenoiserConfig
from genlab.params import TrainConfig, param

BETA_MAX = 0.999  # Nichol & Dhariwal: clip β_t to avoid a singularity at the end of the cosine


def beta_schedule(kind: str, T: int) -> torch.Tensor:
    """β_1..β_T, (T,) float64."""
    if kind == "linear":
        scale = 1000.0 / T
        return torch.linspace(scale * 1e-4, min(scale * 0.02, BETA_MAX), T, dtype=torch.float64)
    if kind == "cosine":
        # Nichol & Dhariwal 2021, eq. 17: ᾱ_t = f(t) / f(0), f(t) = cos²(((t/T + s) / (1 + s))·π/2)
        s = 0.008
        t = torch.arange(T + 1, dtype=torch.float64)
        f = torch.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
        alpha_bar = f / f[0]  # (T+1,)
        return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=BETA_MAX)
    raise ValueError(f"unknown noise schedule {kind!r} (allowed: linear, cosine)")


@dataclass(frozen=True)
class DDPMConfig(DenoiserConfig):
    schedule: str = param(
        "linear",
        label="Noise schedule",
        choices=("linear", "cosine"),
        help="Noise schedule β_t: linear (Ho et al. 2020) or cosine (Nichol & Dhariwal 2021, "
        "adds noise more slowly at the start).",
    )
    timesteps: int = param(
        1000,
        label="Diffusion steps",
        low=2,
        high=4000,
        help="Diffusion steps T of training (1000 in Ho et al.); sampling may use fewer.",
    )
    sampler: str = param(
        "ancestral",
        label="Sampler",
        choices=("ancestral", "ddim", "dpm2m"),
        live=True,
        group="Sampling",
        help="ancestral = DDPM (adds fresh noise every step; on tight 2D modes the best also "
        "with 20 steps); ddim = deterministic DDIM (Song et al. 2021); dpm2m = DPM-Solver++(2M) "
        "(Lu et al. 2022), second order: better than DDIM with few steps.",
    )
    sample_steps: int = knobs.sample_steps(
        1000,
        "Sampling steps (network evaluations per sample, twice that with guidance), a "
        "subsequence of the T training steps (at most T).",
    )


def log_snr_half(alpha_bar: torch.Tensor) -> torch.Tensor:
    """λ = log(√ᾱ / √(1 − ᾱ)), half the log signal-to-noise ratio (DPM-Solver's time variable)."""
    return 0.5 * (alpha_bar.log() - (1 - alpha_bar).log())


@register
class DDPM(Denoiser):
    name = "ddpm"
    label = "Diffusion (DDPM)"
    Config = DDPMConfig
    description = "Predicts the noise added to the data; samples by removing it step by step."
    loss_key = "loss/eps"

    @classmethod
    def defaults_for(cls, spec: DataSpec) -> dict[str, Any]:
        out = super().defaults_for(spec)
        if spec.kind == "images":
            # a U-Net evaluation per step: 50 DDIM steps instead of 1,000 ancestral ones
            out.update(sampler="ddim", sample_steps=50)
        return out

    @classmethod
    def problems(cls, cfg: Any, train: TrainConfig, spec: DataSpec) -> list[str]:
        out = super().problems(cfg, train, spec)
        if cfg.sample_steps > cfg.timesteps:
            out.append(f"sample_steps={cfg.sample_steps} is more than timesteps={cfg.timesteps}")
        return out

    def __init__(self, cfg: DDPMConfig, spec: DataSpec):
        super().__init__(cfg, spec)
        T = cfg.timesteps
        alpha_bar = torch.cumprod(1 - beta_schedule(cfg.schedule, T), 0)  # (T,)
        alpha_bar = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bar])  # (T+1,): ᾱ_0 = 1
        # not persistent: the schedule follows from the config, checkpoints need not carry it
        self.register_buffer("alpha_bar", alpha_bar.float(), persistent=False)

    @property
    def alpha_bar_T(self) -> float:
        return float(self.alpha_bar[-1])

    def losses(self, x0, y):
        T = self.cfg.timesteps
        u = self.stratified_u(len(x0))  # (B,)
        t = (u * T).long().clamp(max=T - 1) + 1  # (B,) uniform on 1..T
        eps = torch.randn(x0.shape, generator=self.generator, device=self.device)  # (B, *shape)
        a = self.alpha_bar[t].view(-1, *[1] * (x0.dim() - 1))  # (B, 1, ...)
        x_t = a.sqrt() * x0 + (1 - a).sqrt() * eps  # Ho eq. 4
        eps_hat = self.net(x_t, t.float() / T, y)
        loss = (eps - eps_hat).pow(2).flatten(1).mean(1)  # Ho eq. 14, per example (B,)
        return loss, u

    def steps_used(self, steps: int | None = None) -> torch.Tensor:
        """τ_S > ... > τ_1: S = `sample_steps` of the T timesteps, (S,) long.

        ancestral and ddim: quadratic in the step index (Song et al. 2021, appendix D.2, their
        CIFAR10 choice), τ_i = i + (T − S)·((i − 1) / (S − 1))² for i = 1..S: every τ distinct,
        τ_S = T, and S = T is every step. The steps crowd near t = 0, where samples settle into
        the data's fine structure: ring8's modes (std 0.01) with 20 ancestral steps, 0.725 of the
        samples high-quality spaced evenly, 0.944 quadratic, 0.976 with all 1,000 (bench/RESULTS.md,
        session 13). dpm2m: evenly in λ = log(√ᾱ/√(1 − ᾱ)) instead (Lu et al.'s logSNR spacing:
        evenly in t, its multistep extrapolation overshot the data's spread by 12-39 % at 10-20
        steps with a perfect noise predictor; evenly in λ, 2-4 %)."""
        T = self.cfg.timesteps
        S = min(steps or self.cfg.sample_steps, T)
        if self.cfg.sampler != "dpm2m":
            if S == 1:
                return torch.tensor([T])
            u = torch.linspace(1.0, 0.0, S, dtype=torch.float64)  # (S,) (i − 1)/(S − 1), falling
            return torch.arange(S, 0, -1) + ((T - S) * u**2).round().long()
        lam = log_snr_half(self.alpha_bar[1 : T + 1].double())  # (T,) timesteps 1..T, falling
        targets = torch.linspace(float(lam[-1]), float(lam[0]), S, dtype=torch.float64)  # (S,)
        nearest = (lam[None, :] - targets[:, None]).abs().argmin(1) + 1  # (S,) timesteps
        return nearest.unique().flip(0)

    def network_evaluations(self, steps: int | None = None) -> int:
        return len(self.steps_used(steps)) * self.guided_evals()

    def integrate(self, x, y, generator, record=None, steps=None):
        if self.cfg.sampler == "dpm2m":
            return self._dpm_solver_2m(x, y, record, steps)
        eta = 1.0 if self.cfg.sampler == "ancestral" else 0.0
        T = self.cfg.timesteps
        taus = self.steps_used(steps).tolist()
        clip = self.spec.kind == "images"
        if record is not None:
            record.append((1.0, x))
        for i, t in enumerate(taus):
            prev = taus[i + 1] if i + 1 < len(taus) else 0
            a_t, a_prev = self.alpha_bar[t], self.alpha_bar[prev]
            tt = torch.full((len(x),), t / T, device=x.device)  # (n,)
            eps = self.predict(x, tt, y)  # ε_θ(x_t, t), guided
            x0_hat = (x - (1 - a_t).sqrt() * eps) / a_t.sqrt()  # Song eq. 12, "predicted x_0"
            if clip:
                x0_hat = x0_hat.clamp(-1.0, 1.0)
                eps = (x - a_t.sqrt() * x0_hat) / (1 - a_t).sqrt()  # consistent with the clip
            sigma = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).sqrt()  # Song eq. 16
            x = a_prev.sqrt() * x0_hat + (1 - a_prev - sigma**2).clamp_min(0).sqrt() * eps
            if prev > 0 and eta > 0:
                x = x + sigma * torch.randn(x.shape, generator=generator, device=x.device)
            if record is not None:
                record.append((prev / T, x))
        return x

    def _dpm_solver_2m(self, x, y, record, steps):
        """DPM-Solver++(2M) on τ_S > ... > τ_1 > 0 (the module's text; Lu et al. Algorithm 2)."""
        T = self.cfg.timesteps
        taus = self.steps_used(steps).tolist()
        clip = self.spec.kind == "images"
        x0_last, h_last = None, None
        if record is not None:
            record.append((1.0, x))
        for i, t in enumerate(taus):
            prev = taus[i + 1] if i + 1 < len(taus) else 0
            a_t = self.alpha_bar[t]
            tt = torch.full((len(x),), t / T, device=x.device)  # (n,)
            eps = self.predict(x, tt, y)  # ε_θ(x_t, t), guided
            x0_hat = (x - (1 - a_t).sqrt() * eps) / a_t.sqrt()
            if clip:
                x0_hat = x0_hat.clamp(-1.0, 1.0)
            if prev == 0:  # σ_0 = 0: the last step lands on x̂_0 (first order, as Lu et al.)
                x = x0_hat
            else:
                a_p = self.alpha_bar[prev]
                h = log_snr_half(a_p) - log_snr_half(a_t)
                if x0_last is None:
                    d = x0_hat
                else:
                    r = h_last / h
                    d = (1 + 1 / (2 * r)) * x0_hat - (1 / (2 * r)) * x0_last
                x = ((1 - a_p) / (1 - a_t)).sqrt() * x - a_p.sqrt() * torch.expm1(-h) * d
                x0_last, h_last = x0_hat, h
            if record is not None:
                record.append((prev / T, x))
        return x

    # ----- inside views (noise level t in [0, 1] = timestep t·T) ---------------------------
    def _timestep(self, t: float) -> int:
        return int(round(min(max(t, 0.0), 1.0) * self.cfg.timesteps))

    @torch.no_grad()
    def noised(self, x, t, generator=None):
        a = self.alpha_bar[self._timestep(t)]
        x0 = self.to_model(x.to(self.device))
        eps = self.noise(*x0.shape, generator=generator)
        return self.to_data(a.sqrt() * x0 + (1 - a).sqrt() * eps)  # Ho eq. 4

    @torch.no_grad()
    def field(self, x, t, y=None):
        """The score ∇_x log p_t(x) ≈ −ε_θ(x_t, t) / √(1 − ᾱ_t) (Ho et al. 2020, sec. 3.2:
        ε-prediction is denoising score matching), in data space (÷ scale)."""
        k = max(1, self._timestep(t))
        a = self.alpha_bar[k]
        z = self.to_model(x.to(self.device))
        tt = torch.full((len(z),), k / self.cfg.timesteps, device=self.device)
        eps = self.predict(z, tt, y)
        return -eps / (1 - a).sqrt() / self.spec.scale
