"""What diffusion (`ddpm`) and flow matching (`flow`) share: a time-conditioned net that maps
(x_t, t[, class]) to a vector of x's shape, the EMA copy used for sampling, classifier-free
guidance, the training step around a per-example loss, and the inside views' plumbing.

A subclass defines `losses(x, y) -> (loss per example (B,), noise level per example (B,))`, the
sampler `integrate(x, y, generator, record)` from noise to data, `network_evaluations`, `field`
and `noised`. The noise level t in [0, 1] (0 = data, 1 = pure noise) is the common time axis of
the views and of the per-level losses `loss/t0-0.25` ... (see `Method.trajectory`).

Nets, by data kind: a residual MLP on flattened items for points and sequences (`TimeMLP`), a
small U-Net for images (`UNet`); both in nets.py.

Classifier-free guidance (Ho & Salimans 2022): with `cond=class` one net learns both p(x | c) and
p(x) (the label is replaced by a "no label" index with probability `label_drop`), and sampling
mixes the two predictions, their eq. 6:  ẽ(x, c) = (1 + w)·e(x, c) − w·e(x, ∅),  w = `guidance`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from genlab.data.base import DataSpec
from genlab.methods import knobs
from genlab.methods.base import Method, steps_by_clusters
from genlab.methods.nets import TimeMLP, UNet, update_ema
from genlab.params import TrainConfig, param

TIME_BINS = 4  # loss/t0-0.25, loss/t0.25-0.5, ... (noise level quarters)
PREVIEW_STEPS = 100  # sampling steps of a live preview at most
CHECK_STEPS = 100  # sampling steps of the evaluations that decide a stop=auto run's end, at most


@dataclass(frozen=True)
class DenoiserConfig:
    hidden: int = param(
        128,
        label="MLP width",
        low=8,
        high=2048,
        help="Points and sequences: width of the MLP.",
        width=True,
    )
    layers: int = param(
        3, label="MLP blocks", low=1, high=8, help="Points and sequences: residual MLP blocks."
    )
    channels: int = param(
        32,
        low=8,
        high=256,
        help="Images: U-Net channels at full resolution (doubled per level).",
        label="U-Net channels",
        width=True,
    )
    cond: str = param(
        "none",
        label="Conditioning",
        choices=("none", "class"),
        help="class = condition on the labels of labelled data, with classifier-free guidance "
        "(Ho & Salimans 2022); none = unconditional.",
    )
    label_drop: float = param(
        0.1,
        label="Label dropout",
        low=0.0,
        high=1.0,
        advanced=True,
        help="cond=class: share of training labels replaced by 'no label', so that the same "
        "net also learns the unconditional model guidance needs.",
    )
    lr: float = knobs.lr(1e-3)
    grad_clip: float = knobs.grad_clip()
    ema: float = param(
        0.999,
        label="Weight EMA decay",
        low=0.0,
        high=0.9999,
        group="Optimiser",
        help="Decay of the weight average that samples are drawn with (0 = the raw weights).",
    )
    guidance: float = param(
        1.0,
        label="Guidance weight",
        low=0.0,
        high=20.0,
        live=True,
        group="Sampling",
        help="cond=class: guidance weight w; 0 = the plain conditional model, larger = samples "
        "more typical of their class (and less varied). Doubles the network evaluations.",
    )


class Denoiser(Method):
    """Base of `ddpm` and `flow` (not registered itself)."""

    supports = ("points", "images", "sequences")
    inside = ("process",)
    train_defaults = {"batch_size": 256, "steps": 8000}
    loss_key = "loss/mse"  # the subclass's name for its regression loss

    @classmethod
    def defaults_for(cls, spec: DataSpec) -> dict[str, Any]:
        # by kind and size only (never a dataset's name or its known modes)
        if spec.kind == "images":
            # a U-Net step costs ~50x an MLP step on the CPU: fewer, smaller batches
            return {"batch_size": 64, "steps": 4000, "lr": 5e-4}
        if spec.kind == "sequences" or math.prod(spec.shape) > 16:
            return {"hidden": 256}
        if spec.kind == "points":
            # a 16-mode mixture of tight and wide modes (bench/generalise.py mix0): ddpm HQ 0.81
            # after 8,000 steps, 0.98 after 20,000 (bench/RESULTS.md)
            return steps_by_clusters(spec.clusters, few=8000)
        return {}

    def checking_opts(self) -> dict[str, Any]:
        # 1,000 ancestral steps make an evaluation cost ~1,800 training steps of a 2D MLP; the
        # checks of a stop=auto run sample on a coarser grid of the same sampler
        if self.cfg.sample_steps > CHECK_STEPS:
            return {"steps": CHECK_STEPS}
        return {}

    @classmethod
    def problems(cls, cfg: Any, train: TrainConfig, spec: DataSpec) -> list[str]:
        if cfg.cond == "class" and not spec.labelled:
            return [f"cond='class' needs a dataset with labels; {spec.name!r} has none"]
        return []

    def __init__(self, cfg: Any, spec: DataSpec):
        super().__init__(cfg, spec)
        self.n_classes = spec.n_classes if cfg.cond == "class" else 0
        # This model takes labels (the evaluation then asks for balanced classes and scores
        # them); the class attribute stays False: unlabelled data is fine for the method.
        self.conditional = self.n_classes > 0
        if spec.kind == "images":
            self.net = UNet(spec.shape[0], cfg.channels, n_classes=self.n_classes)
        else:
            dim = math.prod(spec.shape)
            self.net = TimeMLP(dim, cfg.hidden, cfg.layers, n_classes=self.n_classes)
        # The averaged net is a submodule, so it is in state_dict and survives checkpoints.
        self.net_ema = copy.deepcopy(self.net).requires_grad_(False)
        self.optimizers = {"model": torch.optim.Adam(self.net.parameters(), lr=cfg.lr)}

    # ----- what a subclass defines ---------------------------------------------------------
    def losses(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Model-space data x (B, *shape) -> (loss per example (B,), noise level per example)."""
        raise NotImplementedError

    def integrate(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None,
        generator: torch.Generator,
        record: list | None = None,
        steps: int | None = None,
    ) -> torch.Tensor:
        """Noise x (n, *shape) -> model-space samples in `steps` steps (None: sample_steps);
        appends (noise level, x) to `record` after every step."""
        raise NotImplementedError

    # ----- shared pieces -------------------------------------------------------------------
    def stratified_u(self, B: int) -> torch.Tensor:
        """(B,) in [0, 1): one uniform draw in each of B equal strata (the low-discrepancy
        sampler of Kingma et al. 2021, appendix I): a lower-variance loss, and every quarter of
        the noise levels is in every batch of 4 or more."""
        u = torch.rand(B, generator=self.generator, device=self.device)
        return (torch.arange(B, device=self.device) + u) / B

    def predict(self, x, t, y=None, net: nn.Module | None = None) -> torch.Tensor:
        """The net's output at (x, t) (t (B,) in the subclass's own time), guided when labelled
        (Ho & Salimans 2022, eq. 6): (1 + w)·f(x, t, c) − w·f(x, t, ∅)."""
        net = net or self.net_ema
        w = self.cfg.guidance
        if not self.n_classes:
            return net(x, t)
        null = torch.full((len(x),), self.n_classes, dtype=torch.long, device=x.device)
        if y is None:  # no label asked for: the unconditional model
            return net(x, t, null)
        if w == 0:
            return net(x, t, y)
        both = net(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, null]))  # (2n, *shape)
        cond, uncond = both.chunk(2)
        return (1 + w) * cond - w * uncond

    def guided_evals(self, y_given: bool = True) -> int:
        """Net evaluations per prediction: 2 with guidance (conditional + unconditional)."""
        return 2 if (self.n_classes and y_given and self.cfg.guidance > 0) else 1

    def train_step(self, x, y=None):
        x0 = self.to_model(x)  # (B, *shape) standardised data
        if self.n_classes:
            # classifier-free guidance training: drop the label with probability label_drop
            drop = torch.rand(len(y), generator=self.generator, device=self.device)
            y = torch.where(drop < self.cfg.label_drop, torch.full_like(y, self.n_classes), y)
        else:
            y = None
        loss_each, level = self.losses(x0, y)  # (B,), (B,)
        loss = loss_each.mean()
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        clip = self.cfg.grad_clip if self.cfg.grad_clip > 0 else float("inf")
        norm = nn.utils.clip_grad_norm_(self.net.parameters(), clip)
        opt.step()
        update_ema(self.net_ema, self.net, self.cfg.ema, self.step)
        out = {self.loss_key: loss.detach(), "grad/norm": norm.detach()}
        if len(x0) >= TIME_BINS:  # stratified levels: every bin has members
            out.update(binned_losses(loss_each.detach(), level))
        return out

    def _labels(self, n: int, y: torch.Tensor | None) -> torch.Tensor | None:
        if not self.n_classes:
            return None
        return self.sample_labels(n) if y is None else y.to(self.device)

    def _finish(self, x: torch.Tensor) -> torch.Tensor:
        x = self.to_data(x)
        return x.clamp(0.0, 1.0) if self.spec.kind == "images" else x

    @torch.no_grad()
    def sample(self, n, y=None, generator=None, preview=False, **opts):
        g = generator or self.generator
        x = self.noise(n, *self.spec.shape, generator=g)  # (n, *shape) ~ N(0, I)
        # a live preview caps the steps, and a stop=auto check may ask for fewer (`steps`): the
        # same sampler on a coarser grid
        steps = min(self.cfg.sample_steps, PREVIEW_STEPS) if preview else opts.get("steps")
        return self._finish(self.integrate(x, self._labels(n, y), g, steps=steps))

    @torch.no_grad()
    def trajectory(self, n, y=None, generator=None):
        g = generator or self.generator
        record: list[tuple[float, torch.Tensor]] = []
        x = self.noise(n, *self.spec.shape, generator=g)
        self.integrate(x, self._labels(n, y), g, record)
        levels = torch.tensor([t for t, _ in record])  # (S+1,)
        return levels, torch.stack([self._finish(s) for _, s in record])  # (S+1, n, *shape)


def binned_losses(loss_each: torch.Tensor, level: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean loss per quarter of noise levels: {"loss/t0-0.25": ..., ..., "loss/t0.75-1": ...}."""
    idx = (level * TIME_BINS).long().clamp(0, TIME_BINS - 1)  # (B,)
    sums = torch.zeros(TIME_BINS, device=loss_each.device).index_add_(0, idx, loss_each)
    counts = torch.bincount(idx, minlength=TIME_BINS).clamp_min(1)
    means = sums / counts  # (bins,)
    edges = [f"{k / TIME_BINS:g}" for k in range(TIME_BINS + 1)]
    return {f"loss/t{edges[k]}-{edges[k + 1]}": means[k] for k in range(TIME_BINS)}
