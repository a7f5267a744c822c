"""Hyperparameters, declared once.

Every method has one frozen dataclass whose fields are declared with `param(...)`: default, bounds
or choices, help text and a group. From that single declaration come validation (`build`), the saved
JSON (`to_dict`), the CLI's `--set key=value` parsing (`parse_value`) and the Streamlit widgets
(`genlab.ui.widgets`). Sizes that the data decides (vocab, classes, image shape) are never
parameters.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Param",
    "TrainConfig",
    "build",
    "describe",
    "expand_steps",
    "param",
    "parse_value",
    "split_overrides",
    "to_dict",
]


@dataclass(frozen=True)
class Param:
    """What a field declares about itself, read back by `describe`."""

    name: str
    type: type
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    help: str = ""
    group: str = "Model"
    log: bool = False  # a log-scale quantity (learning rates): widgets step multiplicatively
    live: bool = False  # may be changed while a run is live, without a restart
    advanced: bool = False  # hidden in the app's teaching mode
    label: str = ""  # the widget's human name ("Generator learning rate"); links and CLI use `name`
    # a learning rate: the key in `Method.optimizers` of the optimiser it drives ("*" = all of
    # them); live changes, a resume's new rates and a gentler resume's factor follow this
    optimizer: str = ""
    width: bool = False  # a layer's width: the server's GENLAB_MAX_WIDTH applies to it

    @property
    def is_lr(self) -> bool:
        return bool(self.optimizer)

    @property
    def title(self) -> str:
        """The widget label: the human name with the declared name beside it."""
        return f"{self.label} · {self.name}" if self.label else self.name


def param(
    default: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    choices: tuple[str, ...] | list[str] | None = None,
    help: str = "",
    group: str = "Model",
    log: bool = False,
    live: bool = False,
    advanced: bool = False,
    label: str = "",
    optimizer: str = "",
    width: bool = False,
) -> Any:
    """Declare one hyperparameter field of a config dataclass; `label` is its human name in the
    app (the declared field name stays the name in links, JSON and the CLI). `optimizer` marks a
    learning rate (the optimiser it drives, "*" for all); `width` marks a layer width."""
    if optimizer and not isinstance(default, float):
        raise TypeError(f"a learning rate is a float, got {default!r}")
    if width and (isinstance(default, bool) or not isinstance(default, int)):
        raise TypeError(f"a width is an int, got {default!r}")
    meta = {
        "label": label,
        "low": low,
        "high": high,
        "choices": tuple(choices) if choices is not None else None,
        "help": help,
        "group": group,
        "log": log,
        "live": live,
        "advanced": advanced,
        "optimizer": optimizer,
        "width": width,
    }
    return dataclasses.field(default=default, metadata={"genlab": meta})


def describe(cls: type) -> list[Param]:
    """The declared parameters of a config class, in declaration order."""
    hints = _type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("genlab", {})
        out.append(Param(name=f.name, type=hints[f.name], default=f.default, **meta))
    return out


def _type_hints(cls: type) -> dict[str, type]:
    names = {"int": int, "float": float, "str": str, "bool": bool}
    hints = {}
    for f in dataclasses.fields(cls):
        t = f.type
        hints[f.name] = names.get(t, t) if isinstance(t, str) else t
    return hints


def _check_value(p: Param, value: Any) -> tuple[Any, str | None]:
    """Coerce `value` to the declared type; return (value, problem or None)."""
    # bool before int: bool is a subclass of int, so True must not pass as 1.
    if p.type is bool:
        if not isinstance(value, bool):
            return value, f"{p.name}={value!r} must be true or false"
        return value, None
    if isinstance(value, bool):
        return value, f"{p.name}={value!r} must be a {p.type.__name__}, not a boolean"
    if p.type is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            return value, f"{p.name}={value!r} must be an integer"
    elif p.type is float:
        if not isinstance(value, int | float):
            return value, f"{p.name}={value!r} must be a number"
        value = float(value)
        if not math.isfinite(value):
            return value, f"{p.name}={value!r} must be finite"
    elif p.type is str:
        if not isinstance(value, str):
            return value, f"{p.name}={value!r} must be a string"
    if p.choices is not None and value not in p.choices:
        return value, f"{p.name}={value!r} is not one of {', '.join(p.choices)}"
    if p.low is not None and value < p.low:
        return value, f"{p.name}={value!r} is below the minimum {p.low:g} (allowed {_range(p)})"
    if p.high is not None and value > p.high:
        return value, f"{p.name}={value!r} is above the maximum {p.high:g} (allowed {_range(p)})"
    return value, None


def _range(p: Param) -> str:
    lo = "-inf" if p.low is None else f"{p.low:g}"
    hi = "inf" if p.high is None else f"{p.high:g}"
    return f"{lo}..{hi}"


def build(cls: type, values: dict[str, Any] | None = None, *, base: Any = None) -> Any:
    """A validated config instance; every problem is reported in one `ValueError`.

    `values` override `base` (an instance) or the declared defaults. Unknown keys are rejected.
    A config class may define `problems(self) -> list[str]` for cross-field rules.
    """
    values = dict(values or {})
    params = {p.name: p for p in describe(cls)}
    problems = [
        f"unknown parameter {k!r} (known: {', '.join(params)})" for k in values if k not in params
    ]
    kwargs = {}
    for name, p in params.items():
        if name in values:
            v, problem = _check_value(p, values[name])
            if problem:
                problems.append(problem)
            kwargs[name] = v
        else:
            kwargs[name] = getattr(base, name) if base is not None else p.default
    if problems:
        raise ValueError("; ".join(problems))
    cfg = cls(**kwargs)
    extra = cfg.problems() if hasattr(cfg, "problems") else []
    if extra:
        raise ValueError("; ".join(extra))
    return cfg


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def parse_value(p: Param, text: str) -> Any:
    """Parse a CLI or URL string into the declared type (validation happens in `build`)."""
    text = text.strip()
    if p.type is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{p.name}={text!r} must be true or false")
    if p.type is int:
        try:
            return int(text)
        except ValueError:
            try:
                f = float(text)
            except ValueError:
                raise ValueError(f"{p.name}={text!r} must be an integer") from None
            if not f.is_integer():
                raise ValueError(f"{p.name}={text!r} must be an integer") from None
            return int(f)
    if p.type is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{p.name}={text!r} must be a number") from None
    return text


AUTO = "auto"


def expand_steps(values: dict[str, Any]) -> dict[str, Any]:
    """`steps=auto` means stop=auto (with the default cap); a number of steps given without a
    `stop` means exactly that many (as before stop=auto existed). Works on parsed values and on
    the strings of links and the CLI."""
    out = dict(values)
    if "steps" not in out:
        return out
    if isinstance(out["steps"], str) and out["steps"].strip().lower() == AUTO:
        del out["steps"]
        out.setdefault("stop", AUTO)
    else:
        out.setdefault("stop", "steps")
    return out


def split_overrides(
    pairs: dict[str, str], *classes: type
) -> tuple[list[dict[str, Any]], list[str]]:
    """Route `key=value` strings to the config class that declares each key.

    Returns one dict of parsed values per class, and the keys that no class declares.
    """
    if TrainConfig in classes:
        pairs = expand_steps(pairs)
    out: list[dict[str, Any]] = [{} for _ in classes]
    unknown = []
    problems = []
    for key, text in pairs.items():
        for i, cls in enumerate(classes):
            found = {p.name: p for p in describe(cls)}.get(key)
            if found is not None:
                try:
                    out[i][key] = parse_value(found, text)
                except ValueError as e:
                    problems.append(str(e))
                break
        else:
            unknown.append(key)
    if problems:
        raise ValueError("; ".join(problems))
    return out, unknown


def lr_factor(schedule: str, step: int, steps: int) -> float:
    """The multiplier of the configured learning rate at `step` of `steps`."""
    frac = min(1.0, step / max(1, steps))
    if schedule == "cosine":
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac))
    if schedule == "step":
        return 1.0 if frac < 0.6 else (0.2 if frac < 0.8 else 0.05)
    return 1.0


@dataclass(frozen=True)
class TrainConfig:
    """The training settings every method shares; the runner owns the loop."""

    steps: int = param(
        3000,
        label="Training steps",
        low=1,
        high=1_000_000,
        help="Optimiser steps to train (stop=steps), or the most it may train (stop=auto). "
        "In links and on the CLI, steps=auto means stop=auto with the default cap and a "
        "number means stop=steps.",
        group="Run",
    )
    stop: str = param(
        "auto",
        label="When to stop",
        choices=("auto", "steps"),
        help="auto = when the held-out quality measure of the data's kind (points: eval/mmd, "
        "images: eval/fd, sequences: eval/disc, text: eval/nll) has not improved for "
        "`patience` evaluations (with the step schedule: after its learning-rate drops), "
        "at `time_budget` or at `steps`, whichever comes first; the best evaluated weights "
        "are the ones kept. steps = exactly `steps` steps.",
        group="Run",
    )
    batch_size: int = param(
        128, label="Batch size", low=1, high=4096, help="Examples per step.", group="Run"
    )
    seed: int = param(
        0,
        label="Random seed",
        low=0,
        high=2**31 - 1,
        help="Seed for weights, noise and batches.",
        group="Run",
    )
    device: str = param(
        "auto",
        label="Device",
        choices=("auto", "cpu", "cuda", "mps"),
        help="auto = CUDA if present, else MPS, else CPU.",
        group="Run",
        advanced=True,
    )
    lr_schedule: str = param(
        "constant",
        label="Learning-rate schedule",
        choices=("constant", "cosine", "step"),
        help="Learning-rate schedule over the run: cosine decays to 5% of "
        "the set rate; step divides it by 5 at 60% and by 20 at 80%.",
        group="Run",
        advanced=True,
    )
    patience: int = param(
        3,
        label="Patience (evaluations)",
        low=1,
        high=1000,
        help="stop=auto: evaluations without a gain of 2% on the measure (0.2% on a text "
        "validation NLL, computed exactly) before the run stops (or, with the step "
        "schedule, before the learning rate drops).",
        group="Run",
        advanced=True,
    )
    time_budget: float = param(
        300.0,
        label="Time budget (s)",
        low=0.0,
        high=1e7,
        help="stop=auto: training seconds after which the run stops (0 = no limit).",
        group="Run",
        advanced=True,
    )
    log_every: int = param(
        25,
        label="Log losses every (steps)",
        low=1,
        high=100_000,
        help="Steps between logged losses.",
        group="Run",
        advanced=True,
    )
    sample_every: int = param(
        200,
        label="Keep samples every (steps)",
        low=1,
        high=100_000,
        help="Steps between kept sample snapshots.",
        group="Run",
        advanced=True,
    )
    eval_every: int = param(
        1000,
        label="Evaluate every (steps)",
        low=0,
        high=1_000_000,
        help="Steps between quality evaluations (0 = only at the end).",
        group="Run",
        advanced=True,
    )
    checkpoint_every: int = param(
        1000,
        label="Checkpoint every (steps)",
        low=0,
        high=1_000_000,
        help="Steps between checkpoints (0 = only at the end).",
        group="Run",
        advanced=True,
    )
    precision: str = param(
        "fp32",
        label="Numeric precision",
        choices=("fp32", "bf16"),
        help="bf16 = bfloat16 autocast around each training step: faster on "
        "recent CUDA GPUs, slower on most CPUs (see bench/RESULTS.md).",
        group="Run",
        advanced=True,
    )
    compile: str = param(
        "off",
        label="Compile the nets",
        choices=("off", "on"),
        help="on = torch.compile the nets (slow first steps while it compiles; "
        "pays off on long GPU runs).",
        group="Run",
        advanced=True,
    )
    tensorboard: str = param(
        "on",
        label="TensorBoard event files",
        choices=("on", "off"),
        help="on = TensorBoard event files in the run folder as it trains (when the "
        "tensorboard package is installed): tensorboard --logdir $GENLAB_HOME.",
        group="Run",
        advanced=True,
    )
    tracking: str = param(
        "none",
        label="Experiment tracking",
        choices=("none", "mlflow"),
        help="mlflow = also log params, metrics and samples to MLflow at MLFLOW_TRACKING_URI "
        "(default: a SQLite store in $GENLAB_HOME/.mlflow); pip install -r "
        "requirements-mlflow.txt.",
        group="Run",
        advanced=True,
    )

    def problems(self) -> list[str]:
        # an explicit request for an optional package fails before the run starts, in one line
        if self.tracking == "mlflow" and importlib.util.find_spec("mlflow") is None:
            return ["tracking=mlflow needs MLflow: pip install -r requirements-mlflow.txt"]
        return []
