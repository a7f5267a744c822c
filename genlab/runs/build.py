"""From names and values to a validated, seeded method on its device."""

from __future__ import annotations

import dataclasses
import functools
import threading
from typing import Any

import torch

from genlab import params
from genlab.data.base import DataSpec
from genlab.methods import Method, method_class
from genlab.methods.base import Because
from genlab.runs.registry import REGISTRY
from genlab.runs.stopping import STOP_MEASURES

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
    busy = [0] * n
    for run in REGISTRY.live():
        dev = getattr(run, "device", None)
        if isinstance(dev, torch.device) and dev.type == "cuda":
            busy[dev.index or 0] += 1
    free = [torch.cuda.mem_get_info(i)[0] for i in range(n)]
    best = min(range(n), key=lambda i: (busy[i], -free[i]))
    return torch.device("cuda", best)


def _suggested(method: str, spec: DataSpec | None) -> dict[str, Any]:
    """`Method.defaults_for(spec)` as it was written: values, some wrapped in `because`.

    Computed once per method and data (a DataSpec is frozen and a method's data-aware defaults
    read only the spec), however many readers a render of the Train page or a run's set-up has:
    the configs, the choices shown with their reasons, the page's query string."""
    if spec is None:
        return {}
    try:
        return dict(_suggested_once(method, spec))
    except TypeError:  # not hashable: run.json's copy in a namespace, a list where a tuple goes
        return method_class(method).defaults_for(spec)


@functools.lru_cache(maxsize=256)
def _suggested_once(method: str, spec: DataSpec) -> tuple[tuple[str, Any], ...]:
    return tuple(method_class(method).defaults_for(spec).items())


def data_defaults(method: str, spec: DataSpec | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(method values, training values) that `method` suggests for the data of `spec`
    (`Method.defaults_for`), split by the config that declares each key."""
    if spec is None:
        return {}, {}
    own = {p.name for p in params.describe(method_class(method).Config)}
    raw = _suggested(method, spec)
    sugg = {k: v.value if isinstance(v, Because) else v for k, v in raw.items()}
    return (
        {k: v for k, v in sugg.items() if k in own},
        {k: v for k, v in sugg.items() if k not in own},
    )


# stop=auto without an explicit eval_every: about this many evaluations over the step cap, so
# that `patience` evaluations are a small part of it (within these bounds, in steps)
AUTO_EVALS, AUTO_EVAL_MIN, AUTO_EVAL_MAX = 20, 100, 1000


def auto_eval_every(steps: int) -> int:
    """Steps between evaluations for stop=auto: steps / 20 rounded to a multiple of 50, within
    100..1,000 (ring8's 5,000-step cap: 250; a text list's 600: 100; 20,000: 1,000)."""
    each = int(round(steps / AUTO_EVALS / 50.0)) * 50
    return max(AUTO_EVAL_MIN, min(AUTO_EVAL_MAX, each))


def train_config(
    method: str, values: dict[str, Any] | None = None, spec: DataSpec | None = None
) -> params.TrainConfig:
    """The shared training config: the method's own defaults, then those it suggests for the
    data of `spec` (when given), then `values` (`steps=auto` and a bare number of steps as
    `params.expand_steps` reads them). With stop=auto and no eval_every given, the evaluations
    follow the step cap (`auto_eval_every`)."""
    cls = method_class(method)
    values = params.expand_steps(values or {})
    suggested = {**cls.train_defaults, **data_defaults(method, spec)[1]}
    base = params.build(params.TrainConfig, suggested)
    cfg = params.build(params.TrainConfig, values, base=base)
    if cfg.stop == params.AUTO and "eval_every" not in values and "eval_every" not in suggested:
        cfg = dataclasses.replace(cfg, eval_every=auto_eval_every(cfg.steps))
    return cfg


def default_choices(method: str, spec: DataSpec | None) -> list[tuple[str, Any, str]]:
    """(key, value, why) of every default chosen for this data with a reason, then how a default
    run stops: what the Train page shows before Start."""
    out = [
        (k, v.value, v.why) for k, v in _suggested(method, spec).items() if isinstance(v, Because)
    ]
    if spec is not None:
        cfg = train_config(method, spec=spec)
        measure = (STOP_MEASURES.get(spec.kind) or ("its quality measure",))[0]
        out.append(
            (
                "stop",
                cfg.stop,
                f"stops when {measure} has not improved for {cfg.patience} evaluations "
                f"(one every {cfg.eval_every:,} steps), after {cfg.time_budget:g} s or at "
                f"{cfg.steps:,} steps",
            )
        )
    return out


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
    """Build the nets with the run's seed, on `device`. Raw `values` (a dict: from run.json, the
    CLI, a sweep's trial) are validated here; a config object was validated when it was made
    (a Run checks its configs once, before any thread starts; set_live checks each change), so
    the worker, the evaluator's and the views' rebuilds do not check it again."""
    cls = method_class(method)
    if not isinstance(values, cls.Config):
        values = params.build(cls.Config, values)
        cls.check(values, train, spec)
    cfg = values
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
