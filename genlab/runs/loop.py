"""The training loop of a run, in the worker thread: one screen, like pytorch/examples' loops.

Everything that is not "draw a batch, take a step" is the run's (genlab.runs.run.Run): pausing,
live changes, logging, snapshots, evaluations and checkpoints are calls on `host`, so this file
reads as what happens at each step and in which order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch

from genlab import params
from genlab.data import Dataset
from genlab.methods import Method


class Host(Protocol):
    """What the loop asks of its run (genlab.runs.run.Run is one), between steps."""

    def proceed(self) -> bool:
        """Wait while paused; False when the run must stop."""

    def auto_end(self) -> str | None:
        """stop=auto: why the run ends now (no more gain, time budget), else None."""

    def plateau_lr_factor(self) -> float:
        """stop=auto: the learning-rate factor its plateaus have dropped to (1.0 otherwise)."""

    def push_live(self, m: Method, step: int) -> None:
        """Push the knob changes made since the last step into the method."""

    def step_options(self) -> tuple[tuple[str, ...] | None, float]:
        """(the phases to train, None for all; the slow-motion delay in seconds)."""

    def stepped(self, m: Method, step: int, delay: float) -> None:
        """A step ended: publish the step count (and the weights when a view asked)."""

    def log(self, step: int, values: dict[str, float], steps: int) -> None:
        """The interval's mean losses over its last `steps` steps."""

    def snapshot_samples(self, m: Method, step: int) -> None: ...

    def queue_evaluation(self, m: Method, step: int) -> None:
        """Queue an evaluation of the weights at `step` (it runs beside training)."""

    def failure(self) -> str | None:
        """Why an evaluation failed, if one did."""

    def save_checkpoint(self, m: Method) -> None: ...


class Diverged(Exception):
    """A logged mean loss was not finite."""


@dataclass
class Ended:
    step: int  # the last step trained
    auto: str | None = None  # stop=auto: why it ended before its cap
    failure: str | None = None  # an evaluation's failure


class LossMeter:
    """Sums of the step outputs on the device; one host sync per logging interval."""

    def __init__(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.counts: dict[str, int] = {}
        self.steps = 0

    def add(self, out: dict[str, torch.Tensor]) -> None:
        for k, v in out.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v.detach().clone()
            self.counts[k] = self.counts.get(k, 0) + 1  # a D-only step has no loss/g
        self.steps += 1

    def take(self, step: int) -> tuple[dict[str, float], int]:
        """The means since the last take and over how many steps; Diverged if one is not finite."""
        values = {k: float(v) / self.counts[k] for k, v in self.sums.items()}
        steps = self.steps
        self.sums, self.counts, self.steps = {}, {}, 0
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        if bad:
            shown = ", ".join(f"{k}={v}" for k, v in bad.items())
            raise Diverged(
                f"diverged: non-finite loss at step {step} (mean over steps "
                f"{step - steps + 1}-{step}): {shown}. The last good checkpoint "
                "is kept; resume it with a lower learning rate."
            )
        return values, steps


def train(host: Host, m: Method, data: Dataset, tr: params.TrainConfig, start: int) -> Ended:
    """Train `m` (on its device, as `data` is) from step `start` to `tr.steps` or until the host
    says stop."""
    batches = torch.Generator(device=m.device).manual_seed(tr.seed + 7919 * (start + 1))
    meter = LossMeter()
    lr_factor: float | None = None  # the schedule's factor last pushed into the optimisers
    step = start
    while step < tr.steps:
        if not host.proceed():
            return Ended(step)
        if why := host.auto_end():
            return Ended(step, auto=why)
        host.push_live(m, step)
        if tr.lr_schedule != "constant":  # a stop=auto plateau drops the step schedule early
            factor = min(params.lr_factor(tr.lr_schedule, step, tr.steps), host.plateau_lr_factor())
            if factor != lr_factor:  # "step" changes it twice a run: skip the other steps
                m.schedule_lr(factor)
                lr_factor = factor
        x, y = data.batch(tr.batch_size, batches)
        phases, delay = host.step_options()
        m.step = step
        # bf16 autocast covers the whole step (forward, loss, backward): bf16 keeps fp32's
        # exponent range, so no GradScaler is needed; ops that need fp32 get it from autocast
        with torch.autocast(m.device.type, torch.bfloat16, enabled=tr.precision == "bf16"):
            out = m.train_step(x, y) if phases is None else m.train_step(x, y, phases=phases)
        meter.add(out)
        step += 1
        m.step = step
        host.stepped(m, step, delay)
        last = step == tr.steps
        # a new run logs its first step too, so the live page's curves have a point at once
        if step % tr.log_every == 0 or last or step == 1:
            host.log(step, *meter.take(step))
        if step % tr.sample_every == 0 or last or step == start + 1:
            host.snapshot_samples(m, step)
        if (tr.eval_every and step % tr.eval_every == 0) or last:
            host.queue_evaluation(m, step)
        if failure := host.failure():
            return Ended(step, failure=failure)
        if (tr.checkpoint_every and step % tr.checkpoint_every == 0) or last:
            host.save_checkpoint(m)
    return Ended(step)
