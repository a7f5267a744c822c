"""`evaluate(method, data)`: draw a fixed-seed sample budget, compute the metrics of the data's
kind with their real-vs-real floors, and merge the method's own held-out figures and the sampling
cost (ms per sample of this draw; network evaluations per sample where the method counts them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from genlab.metrics import images, points, sequences, text
from genlab.metrics.common import EVAL_SEED, max_budget


@dataclass(frozen=True)
class KindMetrics:
    """How samples of one data kind are scored: how many an evaluation draws, whether that count
    is capped at common.max_budget(data) (so that a disjoint real set of the same size exists
    for the floors; digits: 898 images), and the function that scores them against the data."""

    default_n: int
    capped: bool
    score: Callable[[torch.Tensor, Any, torch.Tensor | None, torch.device], dict[str, float]]


# one entry per data kind (the kinds of data.DataSpec), as the methods have their registry
BY_KIND = {
    "points": KindMetrics(
        points.DEFAULT_N, True, lambda x, d, y, dev: points.point_metrics(x, d, y)
    ),
    "images": KindMetrics(images.DEFAULT_N, True, images.image_metrics),
    "sequences": KindMetrics(
        sequences.DEFAULT_N, True, lambda x, d, y, dev: sequences.sequence_metrics(x, d, y)
    ),
    "text": KindMetrics(text.DEFAULT_N, False, lambda x, d, y, dev: text.text_metrics(x, d)),
}
CHUNK = 1000  # samples per sample() call


def budget(data, n: int | None = None) -> int:
    scoring = BY_KIND[data.spec.kind]
    n = int(n or scoring.default_n)
    return max(2, min(n, max_budget(data))) if scoring.capped else n


@torch.no_grad()
def draw(method, n: int, generator: torch.Generator, **opts):
    """n samples (and the balanced labels a conditional method was given), in chunks; `opts`
    go to `method.sample`."""
    y = method.sample_labels(n, generator=generator) if method.conditional else None
    parts = []
    for i in range(0, n, CHUNK):
        yb = None if y is None else y[i : i + CHUNK]
        parts.append(method.sample(min(CHUNK, n - i), yb, generator=generator, **opts))
    if parts and parts[0].dim() == 2 and parts[0].dtype == torch.long and len(parts) > 1:
        # text rows of different chunks may differ in length: pad with PAD (-1)
        L = max(p.shape[1] for p in parts)
        parts = [torch.nn.functional.pad(p, (0, L - p.shape[1]), value=text.PAD) for p in parts]
    return torch.cat(parts), y


def evaluate(
    method,
    data,
    n: int | None = None,
    generator: torch.Generator | None = None,
    checking: bool = False,
) -> dict[str, float]:
    """Sample-based metrics (`eval/...`) and their real-vs-real floors (`floor/...`) for the data's
    kind, plus `method.evaluate(data)`. The default generator is seeded with EVAL_SEED on every
    call, so evaluations at different steps see the same noise and are comparable. `checking`:
    a stop=auto run's check, sampled with `method.checking_opts()` (eval/nfe says what it cost)."""
    n = budget(data, n)
    device = method.device
    g = generator or torch.Generator(device=device).manual_seed(EVAL_SEED)
    t0 = time.perf_counter()
    opts = method.checking_opts() if checking else {}
    x, y = draw(method, n, g, **opts)
    cost = {"eval/ms_per_sample": 1000 * (time.perf_counter() - t0) / max(1, n)}
    nfe = method.network_evaluations(**opts)
    if nfe is not None:  # report the sampler's cost with its quality (diffusion, flows)
        cost["eval/nfe"] = nfe
    out = BY_KIND[data.spec.kind].score(x, data, y, device)
    if "eval/cond_acc" not in out:
        out.pop("floor/cond_acc", None)
    out.update(method.evaluate(data))
    out.update(cost)
    return {k: float(v) for k, v in out.items()}
