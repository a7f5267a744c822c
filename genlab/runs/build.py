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
            return torch.device("cuda")
        return torch.device("mps") if has_mps else torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no CUDA GPU is available (use auto or cpu)")
    if name == "mps" and not has_mps:
        raise ValueError("device='mps' but Apple MPS is not available (use auto or cpu)")
    return torch.device(name)


def train_config(method: str, values: dict[str, Any] | None = None) -> params.TrainConfig:
    """The shared training config, starting from the method's own defaults."""
    cls = method_class(method)
    base = params.build(params.TrainConfig, cls.train_defaults)
    return params.build(params.TrainConfig, values or {}, base=base)


def method_config(method: str, values: dict[str, Any] | None = None) -> Any:
    return params.build(method_class(method).Config, values or {})


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
    return m
