"""From names and values to a validated, seeded method on its device."""

from __future__ import annotations

import threading
from typing import Any

import torch

from genlab import params
from genlab.data.base import DataSpec
from genlab.methods import Method, method_class

_INIT_LOCK = threading.Lock()  # weight init uses torch's global RNG: one build at a time


def resolve_device(name: str) -> torch.device:
    """auto = CUDA if present, else MPS, else CPU; an explicit device that is absent is an error."""
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return least_busy_cuda()
        return torch.device("mps") if has_mps else torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no CUDA GPU is available (use auto or cpu)")
    if name == "mps" and not has_mps:
        raise ValueError("device='mps' but Apple MPS is not available (use auto or cpu)")
    return torch.device(name)


def least_busy_cuda() -> torch.device:
    """One run per GPU by default: the CUDA device with the fewest live runs of this process,
    then the most free memory. A Ray worker sees only the GPU Ray gave it, so it gets that one."""
    n = torch.cuda.device_count()
    if n <= 1:
        return torch.device("cuda")
    from genlab.runs.registry import REGISTRY

    busy = [0] * n
    for run in REGISTRY.live():
        dev = getattr(run, "device", None)
        if isinstance(dev, torch.device) and dev.type == "cuda":
            busy[dev.index or 0] += 1
    free = [torch.cuda.mem_get_info(i)[0] for i in range(n)]
    best = min(range(n), key=lambda i: (busy[i], -free[i]))
    return torch.device("cuda", best)


def data_defaults(method: str, spec: DataSpec | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(method values, training values) that `method` suggests for the data of `spec`
    (`Method.defaults_for`), split by the config that declares each key."""
    if spec is None:
        return {}, {}
    cls = method_class(method)
    own = {p.name for p in params.describe(cls.Config)}
    sugg = cls.defaults_for(spec)
    return (
        {k: v for k, v in sugg.items() if k in own},
        {k: v for k, v in sugg.items() if k not in own},
    )


def train_config(
    method: str, values: dict[str, Any] | None = None, spec: DataSpec | None = None
) -> params.TrainConfig:
    """The shared training config: the method's own defaults, then those it suggests for the
    data of `spec` (when given), then `values`."""
    cls = method_class(method)
    base = params.build(
        params.TrainConfig, {**cls.train_defaults, **data_defaults(method, spec)[1]}
    )
    return params.build(params.TrainConfig, values or {}, base=base)


def method_config(
    method: str, values: dict[str, Any] | None = None, spec: DataSpec | None = None
) -> Any:
    """The method's config: declared defaults, then those it suggests for `spec`, then `values`."""
    cls = method_class(method)
    base = params.build(cls.Config, data_defaults(method, spec)[0])
    return params.build(cls.Config, values or {}, base=base)


def build_method(
    method: str,
    values: dict[str, Any] | Any,
    train: params.TrainConfig,
    spec: DataSpec,
    device: torch.device | str = "cpu",
) -> Method:
    """Validate everything, then build the nets with the run's seed, on `device`."""
    cls = method_class(method)
    cfg = values if isinstance(values, cls.Config) else params.build(cls.Config, values)
    cls.check(cfg, train, spec)
    device = torch.device(device)
    with _INIT_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(train.seed)
        m = cls(cfg, spec)
    m.to(device)
    m.generator = torch.Generator(device=device).manual_seed(train.seed)
    if train.compile == "on":
        # in place (nn.Module.compile), so parameter names and checkpoints stay the same; only
        # the nets' forward passes are compiled: train_step itself is plain Python around them
        for net in m.children():
            net.compile()
    return m
