"""What a sweep is and whether it can run: the spec (one method on one dataset, one or two swept
hyperparameters, several seeds), the parsing of its axes, the points they plan, and the check of
the whole sweep before any trial starts (`validate`, one ValueError listing every problem).

Axes (`--param` on the CLI, one string each):
    name=v1,v2,...        grid over these values (any declared type; choices too)
    name=low:high:n       grid of n points, log-spaced for log-scale parameters (learning rates)
    name=low:high         random search: uniform draws, log-uniform for log-scale parameters
    name                  grid: every choice; random: the declared bounds or choices
Grid search runs the cross product of the axes; random search draws `samples` points. Each point
runs once per seed. `genlab.runs.sweep` runs the trials.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from genlab import params
from genlab.data import DATASETS, load_dataset
from genlab.methods import METHODS, method_class
from genlab.metrics import evaluate
from genlab.runs.build import build_method, method_config, train_config
from genlab.runs.executors import check_executor

SEARCHES = ("grid", "random")
MODES = ("max", "min")
EARLY_STOPS = ("none", "asha")
MAX_AXES = 2
MAX_TRIALS = 256


@dataclass(frozen=True)
class Axis:
    """One swept hyperparameter: explicit `values`, or a range `low..high` (`n` grid points)."""

    name: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    n: int | None = None


@dataclass(frozen=True)
class SweepSpec:
    method: str
    dataset: str
    axes: tuple[Axis, ...]
    seeds: tuple[int, ...] = (0,)
    metric: str = "eval/hq"
    mode: str = "max"
    search: str = "grid"
    samples: int = 8  # random search: points drawn (each runs once per seed)
    executor: str = "local"
    early_stop: str = "none"
    parallel: int | None = None  # trials at once (None: local = the registry's cap, ray = cluster)
    method_values: dict[str, Any] = field(default_factory=dict)
    train_values: dict[str, Any] = field(default_factory=dict)
    data_options: dict[str, Any] = field(default_factory=dict)
    sample_seed: int = 0  # random search draws

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SweepSpec:
        d = dict(d)
        d["axes"] = tuple(
            Axis(**{**a, "values": tuple(a["values"]) if a.get("values") is not None else None})
            for a in d["axes"]
        )
        d["seeds"] = tuple(d["seeds"])
        return cls(**d)


# ----- parsing and validation ------------------------------------------------------------------
def declared(method: str) -> dict[str, tuple[params.Param, str]]:
    """Every sweepable parameter of `method`: name -> (declaration, "method" or "train")."""

    out = {p.name: (p, "method") for p in params.describe(method_class(method).Config)}
    out.update(
        {
            p.name: (p, "train")
            for p in params.describe(params.TrainConfig)
            if p.name not in ("seed", "device")
        }
    )
    return out


def parse_axis(text: str, method: str) -> Axis:
    """`name=v1,v2`, `name=low:high[:n]` or `name` (see the module doc); ValueError if bad."""
    name, _, rest = text.partition("=")
    name, rest = name.strip(), rest.strip()
    decl = declared(method)
    if name not in decl:
        raise ValueError(
            f"--param {name!r}: not a hyperparameter of {method} "
            f"(sweepable: {', '.join(sorted(decl))})"
        )
    p = decl[name][0]
    if not rest:
        return Axis(name)
    if ":" in rest and p.choices is None and p.type is not bool:
        parts = [s.strip() for s in rest.split(":")]
        if len(parts) not in (2, 3):
            raise ValueError(f"--param {text!r}: a range is low:high or low:high:n")
        try:
            low, high = float(parts[0]), float(parts[1])
            n = int(parts[2]) if len(parts) == 3 else None
        except ValueError:
            raise ValueError(
                f"--param {text!r}: low, high must be numbers and n an integer"
            ) from None
        return Axis(name, low=low, high=high, n=n)
    values = tuple(params.parse_value(p, v) for v in rest.split(",") if v.strip())
    if not values:
        raise ValueError(f"--param {text!r}: no values")
    return Axis(name, values=values)


def axis_problems(axis: Axis, p: params.Param, search: str) -> list[str]:
    out = []
    if axis.values is not None:
        return out  # each value is checked when its trial's configs are built
    if axis.low is None:
        if search == "grid" and p.choices is None and p.type is not bool:
            out.append(
                f"{axis.name}: a grid needs values (name=v1,v2) or a range (name=low:high:n)"
            )
        if search == "random" and p.choices is None and (p.low is None or p.high is None):
            out.append(f"{axis.name}: has no declared bounds; give name=low:high")
        return out
    lo, hi = axis.low, axis.high
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        out.append(f"{axis.name}: range {lo:g}:{hi:g} must have low < high")
    if p.log and lo <= 0:
        out.append(f"{axis.name}: a log-scale range needs low > 0, not {lo:g}")
    if p.low is not None and lo < p.low or p.high is not None and hi > p.high:
        out.append(f"{axis.name}: range {lo:g}:{hi:g} is outside the allowed {p.low:g}..{p.high:g}")
    if search == "grid" and (axis.n is None or axis.n < 2):
        out.append(f"{axis.name}: a grid range needs n >= 2 points (low:high:n)")
    if search == "random" and axis.n is not None:
        out.append(f"{axis.name}: random search draws `samples` points; drop :n")
    return out


def _grid_values(axis: Axis, p: params.Param) -> list[Any]:
    if axis.values is not None:
        return list(axis.values)
    if axis.low is None:
        return list(p.choices) if p.choices is not None else [False, True]
    lo, hi, n = axis.low, axis.high, int(axis.n or 2)
    if p.log:
        vals = [
            math.exp(math.log(lo) + i * (math.log(hi) - math.log(lo)) / (n - 1)) for i in range(n)
        ]
    else:
        vals = [lo + i * (hi - lo) / (n - 1) for i in range(n)]
    if p.type is int:
        vals = sorted({round(v) for v in vals})
    return [float(f"{v:.4g}") if isinstance(v, float) else v for v in vals]


def _draw(axis: Axis, p: params.Param, rng: random.Random) -> Any:
    if axis.values is not None:
        return rng.choice(axis.values)
    if axis.low is None and p.choices is not None:
        return rng.choice(p.choices)
    if axis.low is None and p.type is bool:
        return rng.choice((False, True))
    lo = axis.low if axis.low is not None else p.low
    hi = axis.high if axis.high is not None else p.high
    if p.log:  # learning-rate-like: log-uniform, so every decade is drawn equally often
        v = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    else:
        v = rng.uniform(lo, hi)
    return round(v) if p.type is int else float(f"{v:.4g}")


def plan_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The hyperparameter points (without seeds), in a fixed order."""
    decl = declared(spec.method)
    ps = [decl[a.name][0] for a in spec.axes]
    if spec.search == "grid":
        grids = [_grid_values(a, p) for a, p in zip(spec.axes, ps)]
        return [
            dict(zip([a.name for a in spec.axes], combo)) for combo in itertools.product(*grids)
        ]
    rng = random.Random(spec.sample_seed)
    return [{a.name: _draw(a, p, rng) for a, p in zip(spec.axes, ps)} for _ in range(spec.samples)]


def validate(spec: SweepSpec) -> list[dict[str, Any]]:
    """Check the whole sweep before anything starts; return the trials (one dict each: params,
    seed, method_values, train_values). One ValueError lists every problem."""

    problems: list[str] = []
    if spec.method not in METHODS:
        raise ValueError(f"method {spec.method!r} is not one of {', '.join(METHODS)}")
    if spec.dataset not in DATASETS:
        raise ValueError(f"dataset {spec.dataset!r} is not one of {', '.join(DATASETS)}")
    if DATASETS[spec.dataset].upload:
        raise ValueError(
            f"dataset {spec.dataset!r} needs an uploaded file; sweeps use the built-in datasets"
        )
    for name, allowed, v in (
        ("search", SEARCHES, spec.search),
        ("mode", MODES, spec.mode),
        ("early_stop", EARLY_STOPS, spec.early_stop),
    ):
        if v not in allowed:
            problems.append(f"{name}={v!r} is not one of {', '.join(allowed)}")
    try:
        check_executor(spec.executor)
    except ValueError as e:
        problems.append(str(e))
    if spec.early_stop == "asha" and spec.executor != "ray":
        problems.append("early_stop=asha needs executor=ray (Ray Tune schedules the trials)")
    if spec.early_stop == "asha" and spec.train_values.get("eval_every", 1) == 0:
        # ASHA judges trials at every evaluation; with eval_every=0 there is only the last one
        problems.append("early_stop=asha needs eval_every > 0 (ASHA judges at each evaluation)")
    if not 1 <= len(spec.axes) <= MAX_AXES:
        problems.append(f"sweep 1 or {MAX_AXES} hyperparameters, not {len(spec.axes)}")
    names = [a.name for a in spec.axes]
    if len(set(names)) != len(names):
        problems.append(f"a hyperparameter is swept twice: {', '.join(names)}")
    if not spec.seeds:
        problems.append("give at least one seed")
    if any(s < 0 for s in spec.seeds) or len(set(spec.seeds)) != len(spec.seeds):
        problems.append(f"seeds {list(spec.seeds)} must be distinct and >= 0")
    if spec.search == "random" and not 1 <= spec.samples <= MAX_TRIALS:
        problems.append(f"samples={spec.samples} is outside 1..{MAX_TRIALS}")
    if spec.parallel is not None and spec.parallel < 1:
        problems.append(f"parallel={spec.parallel} must be >= 1")
    decl = declared(spec.method)
    for a in spec.axes:
        if a.name not in decl:
            problems.append(f"{a.name!r} is not a hyperparameter of {spec.method}")
        elif a.name in spec.method_values or a.name in spec.train_values:
            problems.append(f"{a.name} is both swept and set to a fixed value")
        else:
            problems += axis_problems(a, decl[a.name][0], spec.search)
    if problems:
        raise ValueError("; ".join(problems))

    points = plan_points(spec)
    n = len(points) * len(spec.seeds)
    if n > MAX_TRIALS:
        raise ValueError(f"{n} trials is more than {MAX_TRIALS}: fewer values or seeds")
    trials, seen = [], set()
    cls = method_class(spec.method)
    data = load_dataset(spec.dataset, None, spec.data_options or None)
    for point in points:
        m_vals = dict(spec.method_values)
        t_vals = dict(spec.train_values)
        for k, v in point.items():
            (m_vals if decl[k][1] == "method" else t_vals)[k] = v
        try:
            cfg = method_config(spec.method, m_vals)
            train = train_config(spec.method, t_vals)
            cls.check(cfg, train, data.spec)
        except ValueError as e:
            msg = f"{_fmt_point(point)}: {e}"
            if msg not in seen:
                seen.add(msg)
                problems.append(msg)
            continue
        for seed in spec.seeds:
            trials.append(
                {
                    "params": point,
                    "seed": seed,
                    "method_values": m_vals,
                    "train_values": dict(t_vals, seed=seed),
                }
            )
    if not problems:
        problems += _metric_problems(spec, trials[0])
    if problems:
        raise ValueError("; ".join(problems))
    return trials


def _fmt_point(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.items())


def _metric_problems(spec: SweepSpec, trial: dict[str, Any]) -> list[str]:
    """The metric must be one the runs log: probed with one step and one small evaluation."""
    import torch

    train = train_config(
        spec.method,
        dict(
            trial["train_values"],
            device="cpu",
            compile="off",
            batch_size=min(16, trial["train_values"].get("batch_size", 16)),
        ),
    )
    data = load_dataset(spec.dataset, None, spec.data_options or None)
    m = build_method(spec.method, trial["method_values"], train, data.spec)
    x, y = data.batch(train.batch_size, torch.Generator().manual_seed(0))
    keys = set(m.train_step(x, y))
    if spec.metric not in keys and not spec.metric.startswith(("loss/",)):
        m.eval()
        keys |= set(evaluate(m, data, n=64))
    if spec.metric not in keys:
        return [
            f"metric {spec.metric!r} is not logged by {spec.method} on {spec.dataset} "
            f"(logged: {', '.join(sorted(keys))})"
        ]
    return []
