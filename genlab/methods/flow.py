"""Flow matching / rectified flow (Lipman et al. 2023; Liu et al. 2023) on the straight path.

x_0 ~ N(0, I) (noise), x_1 = data, and for t ~ U[0, 1] the straight line between them
(Liu et al. eq. 1; Lipman et al. eq. 22 with σ_min = 0):
    x_t = (1 − t)·x_0 + t·x_1,   whose velocity is  dx_t/dt = x_1 − x_0.
Training regresses the velocity (Liu et al. eq. 1; Lipman et al. eq. 23, the conditional flow
matching loss):  L = E_{t, x_0, x_1} ‖(x_1 − x_0) − v_θ(x_t, t)‖².

Coupling of x_0 and x_1 within a batch: `independent` (random pairs), or `ot`, a minibatch
optimal-transport plan (Tong et al. 2024, OT-CFM, their Algorithm 1 with the exact plan): the
pairing that minimises Σ ‖x_0 − x_1‖², found by the Hungarian algorithm (scipy's
linear_sum_assignment; one host round-trip per step). Straighter paths, fewer sampling steps.

Sampling solves dx/dt = v_θ(x, t) from t = 0 to 1 with `sample_steps` steps of h = 1/N:
    euler:     x ← x + h·v(x, t)                                             (1 evaluation)
    midpoint:  x ← x + h·v(x + h/2·v(x, t), t + h/2)                          (2 evaluations)
    heun:      x̃ = x + h·v(x, t);  x ← x + h/2·(v(x, t) + v(x̃, t + h))        (2 evaluations)
The views' noise level is 1 − t. The solver and its steps change on a trained model.
Hand-written rather than torchcfm / torchdiffeq: no extra dependency, and these are a few lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from scipy.optimize import linear_sum_assignment

from genlab.data.base import DataSpec
from genlab.methods import knobs
from genlab.methods.base import because, register
from genlab.methods.denoise import Denoiser, DenoiserConfig
from genlab.params import param

EVALS = {"euler": 1, "midpoint": 2, "heun": 2}  # network evaluations per step


@dataclass(frozen=True)
class FlowConfig(DenoiserConfig):
    coupling: str = param(
        "independent",
        label="Noise-data coupling",
        choices=("independent", "ot"),
        help="Pairs of noise and data in a batch: independent (random), or ot = minibatch "
        "optimal transport (Tong et al. 2024): straighter paths, a little more per step.",
    )
    solver: str = param(
        "euler",
        label="ODE solver",
        choices=tuple(EVALS),
        live=True,
        group="Sampling",
        help="ODE solver from noise to data: euler (1 evaluation per step), midpoint or heun "
        "(2 per step, more accurate per step).",
    )
    sample_steps: int = knobs.sample_steps(
        100,
        "Solver steps from t = 0 to 1 (network evaluations: steps × evaluations per step, "
        "twice that with guidance).",
    )


def ot_pairing(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """The permutation p minimising Σ_i ‖x0_i − x1_p(i)‖² (an exact minibatch OT plan between
    two equal-size uniform batches is a permutation), (B,) long on x1's device."""
    cost = torch.cdist(x0.flatten(1), x1.flatten(1)).pow(2)  # (B, B)
    _, cols = linear_sum_assignment(cost.detach().cpu().double().numpy())
    return torch.as_tensor(cols, dtype=torch.long, device=x1.device)


@register
class Flow(Denoiser):
    name = "flow"
    label = "Flow matching"
    Config = FlowConfig
    description = "Learns the velocity of straight paths from noise to data; samples with an ODE."
    loss_key = "loss/v"

    @classmethod
    def defaults_for(cls, spec: DataSpec) -> dict[str, Any]:
        out = super().defaults_for(spec)
        if spec.kind == "images":
            # a U-Net evaluation per solver stage: on digits (one model, FD on the dataset
            # classifier) Euler 100 steps 4.03, midpoint 10 steps (20 evaluations) 3.94, Euler 20
            # 5.41 (bench/RESULTS.md, session 13); on mnist Euler 100 took 15 min per evaluation
            why = "images: a U-Net per evaluation; as good as 100 Euler steps on digits"
            out.update(solver=because("midpoint", why), sample_steps=because(10, why))
        return out

    def losses(self, x1, y):
        x0 = torch.randn(x1.shape, generator=self.generator, device=self.device)  # noise
        if self.cfg.coupling == "ot":
            p = ot_pairing(x0, x1)
            x1 = x1[p]
            y = None if y is None else y[p]
        t = self.stratified_u(len(x1))  # (B,)
        tb = t.view(-1, *[1] * (x1.dim() - 1))  # (B, 1, ...)
        x_t = (1 - tb) * x0 + tb * x1  # Liu et al. eq. 1
        v = self.net(x_t, t, y)
        loss = ((x1 - x0) - v).pow(2).flatten(1).mean(1)  # Lipman et al. eq. 23, per example
        return loss, 1 - t  # noise level 1 − t

    def network_evaluations(self, steps: int | None = None) -> int:
        return (steps or self.cfg.sample_steps) * EVALS[self.cfg.solver] * self.guided_evals()

    def integrate(self, x, y, generator, record=None, steps=None):
        N = steps or self.cfg.sample_steps
        h = 1.0 / N
        n = len(x)

        def v(x, t):
            return self.predict(x, torch.full((n,), t, device=x.device), y)

        if record is not None:
            record.append((1.0, x))
        for i in range(N):
            t = i * h
            if self.cfg.solver == "euler":
                x = x + h * v(x, t)
            elif self.cfg.solver == "midpoint":
                x = x + h * v(x + h / 2 * v(x, t), t + h / 2)
            else:  # heun
                k1 = v(x, t)
                k2 = v(x + h * k1, t + h)
                x = x + h / 2 * (k1 + k2)
            if record is not None:
                record.append((1.0 - (i + 1) * h, x))
        return x

    # ----- inside views (noise level = 1 − t) ----------------------------------------------
    @torch.no_grad()
    def noised(self, x, t, generator=None):
        x1 = self.to_model(x.to(self.device))
        x0 = self.noise(*x1.shape, generator=generator)
        s = 1.0 - t  # the flow's time
        return self.to_data((1 - s) * x0 + s * x1)

    @torch.no_grad()
    def field(self, x, t, y=None):
        """The learned velocity v_θ(x, 1 − t) in data space (× scale): where a point at noise
        level t moves per unit of flow time."""
        z = self.to_model(x.to(self.device))
        tt = torch.full((len(z),), 1.0 - t, device=self.device)
        return self.predict(z, tt, y) * self.spec.scale
