"""Recurrent GAN for real-valued sequences: C-RNN-GAN (Mogren 2016) / RGAN and RCGAN (Esteban et
al. 2017).

G is an LSTM that reads a noise sequence and emits one value per step through a linear head:
(B, T, n_z) -> (B, T, C), in the model's standardised space. Its noise (`noise`) is one N(0, I)
vector per series, fed at every step and mapped to the LSTM's initial state (the default: a sine's
frequency, phase and amplitude are fixed for the whole series, and fresh noise at every step shows
through as jagged samples), or Esteban's fresh vector per step, or both concatenated.

D reads a series and gives a logit at EVERY step (Esteban et al. 2017, sec. 2.1: "the
discriminator ... produces a classification at each time step"); the GAN loss is averaged over
batch and steps. Esteban's D is a forwards LSTM, so the logit at step t sees steps 1..t only and
the early steps are judged on almost nothing; the default `d_arch=bilstm` is a bidirectional LSTM
(as C-RNN-GAN's D), whose per-step logits each see the whole series. With `condition=label`
(RCGAN, Esteban sec. 2.2) a learned label embedding is concatenated to every step's input of both
G and D.

The losses are the GAN method's (`genlab.methods.losses.d_loss` / `g_loss`), applied to the (B, T)
per-step outputs; the default is least squares (LSGAN, Mao et al. 2017), whose G gradient does
not vanish where D is sure. One `train_step` is `n_critic` D updates (fresh z, the same real
batch) then one G update.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from genlab.data.base import DataSpec
from genlab.methods import knobs
from genlab.methods.base import Method, register
from genlab.methods.losses import d_loss, g_loss
from genlab.params import TrainConfig, param

EMB_DIM = 8  # label embedding size (RCGAN)
LOSSES = ("nonsaturating", "minimax", "lsgan", "hinge")  # per-step losses (no gradient penalty)


class SeqNet(nn.Module):
    """An LSTM over the steps, a linear head per step; `n_classes` > 0 adds a label embedding
    concatenated to every step's input. `bidirectional` runs a second LSTM backwards in time, so
    each step's output sees the whole series."""

    def __init__(
        self,
        n_in: int,
        hidden: int,
        layers: int,
        n_out: int,
        n_classes: int = 0,
        bidirectional: bool = False,
        n_init: int = 0,
    ):
        super().__init__()
        # n_init > 0: the LSTM's initial state (h_0, c_0) is a linear map of an (B, n_init) input
        # instead of zeros, so the first steps need no warm-up from a blank state
        self.init = nn.Linear(n_init, 2 * layers * hidden) if n_init else None
        self.emb = nn.Embedding(n_classes, EMB_DIM) if n_classes else None
        n_in += EMB_DIM if n_classes else 0
        self.rnn = nn.LSTM(n_in, hidden, layers, batch_first=True, bidirectional=bidirectional)
        self.head = nn.Linear(hidden * (2 if bidirectional else 1), n_out)

    def forward(
        self, x: torch.Tensor, y: torch.Tensor | None = None, s: torch.Tensor | None = None
    ) -> torch.Tensor:
        if self.emb is not None:
            e = self.emb(y)[:, None, :].expand(-1, x.shape[1], -1)  # (B, T, E)
            x = torch.cat([x, e], dim=2)  # (B, T, n_in + E)
        state = None
        if self.init is not None and s is not None:
            hc = self.init(s).view(len(s), 2, self.rnn.num_layers, -1)  # (B, 2, layers, H)
            h0, c0 = hc.transpose(0, 2).unbind(1)  # each (layers, B, H)
            state = (torch.tanh(h0).contiguous(), c0.contiguous())  # h lives in (-1, 1)
        h, _ = self.rnn(x, state)  # (B, T, H)
        return self.head(h)  # (B, T, n_out)


@dataclass(frozen=True)
class RGANConfig:
    latent_dim: int = param(
        8,
        label="Noise size",
        low=1,
        high=256,
        help="Size of G's noise vector(s).",
        width=True,
    )
    hidden: int = param(
        64, label="LSTM width", low=8, high=1024, help="LSTM width of G and D.", width=True
    )
    layers: int = param(
        1, label="LSTM layers", low=1, high=4, help="Stacked LSTM layers in G and D."
    )
    noise: str = param(
        "series",
        label="Noise input",
        choices=("step", "series", "series+step"),
        help="G's noise: series = one vector per series, fed at every step and setting G's "
        "initial state; step = a fresh vector at every step (Esteban 2017); series+step = both.",
    )
    d_arch: str = param(
        "bilstm",
        label="Discriminator LSTM",
        choices=("lstm", "bilstm"),
        help="D's LSTM: lstm = forwards only, step t's logit sees steps 1..t (Esteban 2017); "
        "bilstm = bidirectional, every step's logit sees the whole series.",
    )
    condition: str = param(
        "none",
        label="Conditioning",
        choices=("none", "label"),
        help="label = RCGAN: G and D also see the series' class (needs a labelled dataset).",
    )
    loss: str = param(
        "lsgan",
        label="GAN loss",
        choices=LOSSES,
        live=True,
        group="Loss",
        help="GAN objective, applied to D's output at every step (lsgan = least squares, "
        "Mao 2017).",
    )
    n_critic: int = param(
        2,
        label="D steps per G step",
        low=1,
        high=10,
        live=True,
        group="Loss",
        help="D updates per G update.",
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


@register
class RGAN(Method):
    name = "rgan"
    label = "Recurrent GAN"
    supports = ("sequences",)
    Config = RGANConfig
    # the step schedule (lr / 5 at 60%, / 20 at 80%) settles the last oscillations of the game;
    # discriminative score on sines (lsgan, 3 seeds): 0.642 after 3,000 steps, 0.613 after 5,000
    train_defaults = {"batch_size": 64, "steps": 5000, "lr_schedule": "step"}
    description = (
        "LSTM generator against a bidirectional LSTM discriminator that judges every step."
    )
    phases = ("d", "g")
    legacy_values = {"noise": "step", "d_arch": "lstm"}  # runs saved before these existed

    def __init__(self, cfg: RGANConfig, spec: DataSpec):
        super().__init__(cfg, spec)
        self.T, C = spec.shape  # (T, C)
        k = spec.n_classes if cfg.condition == "label" else 0
        n_z = cfg.latent_dim * (2 if cfg.noise == "series+step" else 1)
        n_s = cfg.latent_dim if cfg.noise != "step" else 0  # the series vector also sets h_0, c_0
        self.G = SeqNet(n_z, cfg.hidden, cfg.layers, C, n_classes=k, n_init=n_s)
        self.D = SeqNet(C, cfg.hidden, cfg.layers, 1, k, bidirectional=cfg.d_arch == "bilstm")
        betas = (0.5, 0.999)  # DCGAN's Adam momentum, usual for GANs
        self.optimizers = {
            "g": torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=betas),
            "d": torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=betas),
        }

    @classmethod
    def problems(cls, cfg: RGANConfig, train: TrainConfig, spec: DataSpec) -> list[str]:
        if cfg.condition == "label" and not spec.labelled:
            return [
                f"condition='label' needs a dataset with labels; {spec.name!r} has none "
                "(use condition='none')"
            ]
        return []

    def _labels(self, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
        if self.cfg.condition != "label":
            return None
        return self.sample_labels(n) if y is None else y.to(self.device)

    def _generate(self, n: int, y: torch.Tensor | None, generator=None) -> torch.Tensor:
        cfg, parts, s = self.cfg, [], None
        if cfg.noise != "step":  # one vector per series: G's initial state, and fed at every step
            s = self.noise(n, cfg.latent_dim, generator=generator)  # (n, latent)
            parts.append(s[:, None, :].expand(-1, self.T, -1))  # (n, T, latent)
        if cfg.noise != "series":
            parts.append(self.noise(n, self.T, cfg.latent_dim, generator=generator))
        z = torch.cat(parts, 2)  # (n, T, latent or 2 latent)
        return self.G(z, y, s)  # (n, T, C), model space

    # ----- one step --------------------------------------------------------------------------
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
        x_real = self.to_model(x)  # (B, T, C)
        n = len(x_real)
        c = self._labels(y, n)  # generated series take the real batch's labels (RCGAN)
        out: dict[str, torch.Tensor] = {}
        for _ in range(cfg.n_critic if run_d else 0):
            # ===== D phase: minimise d_loss over every step's logit (Esteban 2017 eq. 1:  =====
            # ===== −Σ_t [log D(x)_t + log(1 − D(G(z))_t)] for nonsaturating/minimax)       =====
            with torch.no_grad():
                x_fake = self._generate(n, c)  # (B, T, C)
            r = self.D(x_real, c).squeeze(2)  # (B, T) per-step logits
            f = self.D(x_fake, c).squeeze(2)  # (B, T)
            loss_d = d_loss(cfg.loss, r, f)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        if run_d:
            prob = cfg.loss in ("minimax", "nonsaturating")  # D's probability, else its score
            out["loss/d"] = loss_d.detach()
            out["d/real"] = (torch.sigmoid(r) if prob else r).mean().detach()
            out["d/fake"] = (torch.sigmoid(f) if prob else f).mean().detach()

        if run_g:
            # ===== G phase: minimise g_loss(D(G(z))) over the steps (Esteban 2017 eq. 2) =====
            f_g = self.D(self._generate(n, c), c).squeeze(2)  # (B, T)
            loss_g = g_loss(cfg.loss, f_g)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            out["loss/g"] = loss_g.detach()
        return out

    @torch.no_grad()
    def critic(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """D's judgement at EVERY step of data-space series x (n, T, C): (n, T), as
        `critic_scale` names it. With condition=label, `y` (n,) are the series' classes."""
        out = self.D(self.to_model(x), self._labels(y, len(x))).squeeze(2)  # (n, T) logits
        return torch.sigmoid(out) if self.critic_scale()[0] == "P(real)" else out

    def critic_scale(self) -> tuple[str, float]:
        if self.cfg.loss in ("minimax", "nonsaturating"):
            return ("P(real)", 0.5)  # D's output is a logit
        return ("score", 0.0)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        y: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        **opts: Any,
    ) -> torch.Tensor:
        """`n` series (n, T, C) in data space; with condition=label, `y` (n,) picks the classes
        (balanced 0, 1, ..., K-1 when omitted)."""
        return self.to_data(self._generate(n, self._labels(y, n), generator))  # (n, T, C)
