"""Hyperparameter sweeps: one method on one dataset, one or two hyperparameters, several seeds.

Every trial is an ordinary run in the run store, tagged in its run.json with the sweep's id
(`"sweep": {"id", "trial", "params", "seed"}`), so the Runs and Compare pages show it like any
other. The sweep itself is recorded in `<run store>/.sweeps/<id>.json` (the spec, the planned
trials with their run ids, and the outcome of each).

Axes (`--param` on the CLI, one string each):
    name=v1,v2,...        grid over these values (any declared type; choices too)
    name=low:high:n       grid of n points, log-spaced for log-scale parameters (learning rates)
    name=low:high         random search: uniform draws, log-uniform for log-scale parameters
    name                  grid: every choice; random: the declared bounds or choices
Grid search runs the cross product of the axes; random search draws `samples` points. Each point
runs once per seed.

Executors: `local` starts the trials as background runs (the registry's cap, `parallel`, decides
how many train at once); `ray` hands them to Ray Tune, whose scheduler places them on the cluster
and, with `early_stop="asha"`, stops the poor ones early (ASHA, Li et al. 2020), judging them on
`metric` at every `eval_every` steps. The step at which each trial was stopped is recorded.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import random
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genlab import params
from genlab.data import DATASETS, load_dataset
from genlab.methods import METHODS, method_class
from genlab.metrics import evaluate
from genlab.runs.build import build_method, method_config, train_config
from genlab.runs.protocol import ENDED
from genlab.runs.ray_exec import check_executor, ensure_ray, trial_resources
from genlab.runs.registry import REGISTRY
from genlab.runs.run import Run, new_run_id
from genlab.runs.store import RunStore, read_json, write_json

SEARCHES = ("grid", "random")
MODES = ("max", "min")
EARLY_STOPS = ("none", "asha")
MAX_AXES = 2
MAX_TRIALS = 256
SWEEPS_DIR = ".sweeps"  # a dot folder: RunStore.list() skips it


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
def _declared(method: str) -> dict[str, tuple[params.Param, str]]:
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
    decl = _declared(method)
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
    decl = _declared(spec.method)
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
    decl = _declared(spec.method)
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


# ----- results -----------------------------------------------------------------------------------
@dataclass
class TrialResult:
    trial: int
    run_id: str
    params: dict[str, Any]
    seed: int
    status: str = "queued"
    step: int = 0
    steps: int = 0
    value: float | None = None
    early_stopped_at: int | None = None  # ASHA stopped it at this step; None = ran to its end
    seconds: float = 0.0
    last: dict[str, float] = field(default_factory=dict)


def rank(results: list[TrialResult], mode: str) -> list[TrialResult]:
    """Best first by `value` (max or min); trials without a value come last."""

    def key(r: TrialResult) -> tuple[int, float]:
        if r.value is None or not math.isfinite(r.value):
            return (1, 0.0)
        return (0, -r.value if mode == "max" else r.value)

    return sorted(results, key=key)


def trial_from_disk(store: RunStore, entry: dict[str, Any], metric: str) -> TrialResult:
    r = TrialResult(entry["trial"], entry["run_id"], entry["params"], entry["seed"])
    d = store.run_dir(entry["run_id"])
    if not d.run_json.exists():
        return r
    try:
        info = d.read_info()
    except ValueError:
        r.status = "corrupt"
        return r
    last = info.get("last") or {}
    tag = info.get("sweep") or {}
    r.status, r.step, r.steps = info["status"], int(info.get("step", 0)), int(info.get("steps", 0))
    r.value = last.get(metric)
    r.early_stopped_at = tag.get("early_stopped_at")
    r.seconds = float(info.get("elapsed_s", 0.0))
    r.last = last
    return r


# ----- the sweep -------------------------------------------------------------------------------
class Sweep:
    """Validated on creation (ValueError with every problem); `run()` blocks until every trial
    has ended; `start()` runs it in a background thread (the app)."""

    def __init__(self, spec: SweepSpec, store: RunStore | None = None):
        self.spec = spec
        self.store = store or RunStore()
        self.trials = validate(spec)
        self.id = (
            f"{time.strftime('%Y%m%d-%H%M%S')}-sweep-{spec.method}-{spec.dataset}-"
            f"{secrets.token_hex(2)}"
        )
        for i, t in enumerate(self.trials):
            t["trial"] = i
            t["run_id"] = f"{new_run_id(spec.method, spec.dataset)}-t{i:03d}"
        self.created = time.time()
        self.status = "planned"
        self.error: str | None = None
        self.wall_s = 0.0
        self.thread: threading.Thread | None = None
        self._write()

    @property
    def path(self) -> Path:
        return self.store.home / SWEEPS_DIR / f"{self.id}.json"

    def _write(self) -> None:
        write_json(
            self.path,
            {
                "id": self.id,
                "spec": self.spec.to_dict(),
                "status": self.status,
                "error": self.error,
                "created": self.created,
                "wall_s": round(self.wall_s, 2),
                "trials": [
                    {k: t[k] for k in ("trial", "run_id", "params", "seed")} for t in self.trials
                ],
            },
        )

    def tag(self, t: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.id,
            "trial": t["trial"],
            "params": t["params"],
            "seed": t["seed"],
            "metric": self.spec.metric,
        }

    def results(self) -> list[TrialResult]:
        """Every trial as it stands on disk, ranked best first."""
        return rank(
            [trial_from_disk(self.store, t, self.spec.metric) for t in self.trials], self.spec.mode
        )

    def start(self) -> Sweep:
        self.thread = threading.Thread(target=self._run_safe, name=f"genlab-{self.id}", daemon=True)
        self.thread.start()
        return self

    def _run_safe(self) -> None:
        try:
            self.run()
        except Exception as e:  # recorded in the sweep file for the page to show
            self.status, self.error = "failed", f"{type(e).__name__}: {e}"
            self._write()

    def run(
        self, progress: Callable[[list[TrialResult]], None] | None = None, every_s: float = 2.0
    ) -> list[TrialResult]:
        self.status = "running"
        self._write()
        t0 = time.time()
        failure: list[BaseException] = []

        def execute() -> None:  # in a thread, so that this one can report progress
            try:
                if self.spec.executor == "local":
                    self._run_local()
                else:
                    self._run_ray()
            except BaseException as e:  # re-raised below, in the calling thread
                failure.append(e)

        worker = threading.Thread(target=execute, name=f"genlab-{self.id}-exec", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(every_s)
            if progress is not None:
                progress(self.results())
        self.wall_s = time.time() - t0
        if failure:
            self.status, self.error = "failed", f"{type(failure[0]).__name__}: {failure[0]}"
            self._write()
            raise failure[0]
        self.status = "done"
        self._write()
        return self.results()

    # ----- executors ----------------------------------------------------------------------------
    def _run_local(self) -> None:

        cap = REGISTRY.max_concurrent
        if self.spec.parallel:
            # process-wide while the sweep lasts: in the app, other queued runs start sooner too
            REGISTRY.max_concurrent = self.spec.parallel
        try:
            self._start_local_trials()
        finally:
            REGISTRY.max_concurrent = cap

    def _start_local_trials(self) -> None:
        runs = []
        for t in self.trials:
            run = Run(
                self.spec.method,
                self.spec.dataset,
                t["method_values"],
                t["train_values"],
                data_options=self.spec.data_options or None,
                store=self.store,
                run_id=t["run_id"],
            )
            run.tag_sweep(self.tag(t))  # tagged on disk already while it waits for a slot
            runs.append(run.start())
        for run in runs:
            run.join()

    def _run_ray(self) -> None:
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

        ensure_ray()
        spec = self.spec
        train = train_config(spec.method, self.trials[0]["train_values"])
        every = train.eval_every or train.log_every
        intervals = max(1, math.ceil(train.steps / every))
        res = trial_resources(train)
        plan = [dict(t, tag=self.tag(t)) for t in self.trials]
        trainable = tune.with_resources(
            tune.with_parameters(
                _TuneTrial.make(),
                plan=plan,
                spec=spec.to_dict(),
                home=str(self.store.home),
                every=every,
            ),
            {"cpu": res["num_cpus"], "gpu": res["num_gpus"]},
        )
        if spec.early_stop == "asha":
            # judged on `metric` after every eval interval; a quarter of the run is always granted
            scheduler: Any = ASHAScheduler(
                time_attr="training_iteration",
                max_t=intervals,
                grace_period=max(1, intervals // 4),
                reduction_factor=2,
            )
        else:
            scheduler = FIFOScheduler()
        tuner = tune.Tuner(
            trainable,
            param_space={"trial": tune.grid_search(list(range(len(plan))))},
            tune_config=tune.TuneConfig(
                metric="score",
                mode=spec.mode,
                scheduler=scheduler,
                max_concurrent_trials=spec.parallel,
                reuse_actors=True,
            ),
            run_config=tune.RunConfig(
                name=self.id, verbose=0, storage_path=str(self.store.home / SWEEPS_DIR / "tune")
            ),
        )
        # Tune prints its tables on stdout; the CLI's stdout is for the result (--json)
        with contextlib.redirect_stdout(sys.stderr):
            grid = tuner.fit()
        errors = [str(r.error).splitlines()[0] for r in grid if r.error is not None]
        if errors and len(errors) == len(plan):
            raise RuntimeError(f"every trial failed in Ray Tune: {errors[0]}")


class _TuneTrial:
    """A Ray Tune trainable (class API) around an ordinary genlab Run: each Tune iteration
    trains `every` steps (one evaluation interval) and reports `metric` as `score`. When the
    scheduler stops a trial, `cleanup` stops its run cleanly (checkpoint, status `stopped`) and
    records the step in run.json's sweep tag."""

    _cls: Any = None

    @classmethod
    def make(cls) -> Any:
        if cls._cls is None:
            from ray import tune

            class GenlabTrial(tune.Trainable):
                def setup(
                    self,
                    config: dict[str, Any],
                    plan: Any = None,
                    spec: Any = None,
                    home: str = "",
                    every: int = 1,
                ) -> None:
                    self.setting = (plan, spec, home, every)
                    _setup(self, config, *self.setting)

                def reset_config(self, new_config: dict[str, Any]) -> bool:
                    # lets Tune reuse this actor (a warm worker process) for the next trial
                    _cleanup(self)
                    _setup(self, new_config, *self.setting)
                    return True

                def step(self) -> dict[str, Any]:
                    return _step(self)

                def cleanup(self) -> None:
                    _cleanup(self)

                # Tune saves a trial when it pauses or ends it; the run keeps its own
                # checkpoints in the run store, so Tune's is just the run's id
                def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
                    return {"run_id": self.run.id}

                def load_checkpoint(self, checkpoint: Any) -> None:
                    return None

            cls._cls = GenlabTrial
        return cls._cls


def _setup(
    self: Any,
    config: dict[str, Any],
    plan: list[dict[str, Any]],
    spec: dict[str, Any],
    home: str,
    every: int,
) -> None:
    import torch

    torch.set_num_threads(1)
    t = plan[config["trial"]]
    self.metric, self.mode, self.every = spec["metric"], spec["mode"], every
    self.run = Run(
        spec["method"],
        spec["dataset"],
        t["method_values"],
        t["train_values"],
        data_options=spec["data_options"] or None,
        store=RunStore(home),
        run_id=t["run_id"],
    )
    self.run.executor = "ray"
    self.run.sweep = dict(t["tag"])
    self.reported = False
    self.run.step_n(every)
    self.run.launch()


def _step(self: Any) -> dict[str, Any]:
    run = self.run
    if self.reported:  # the first interval was asked for in setup
        run.step_n(self.every)
    self.reported = True
    while True:  # until the run pauses at the end of this interval (or ends)
        snap = run.snapshot()
        if snap.status in ENDED or (snap.status == "paused" and not run.stepping):
            break
        time.sleep(0.05)
    if snap.status in ("failed", "interrupted"):
        raise RuntimeError(f"trial run {run.id} {snap.status}: {snap.error}")
    value = snap.last.get(self.metric)
    if value is None or not math.isfinite(value):
        value = -math.inf if self.mode == "max" else math.inf
    return {"score": value, "genlab_step": snap.step, "done": snap.status in ENDED}


def _cleanup(self: Any) -> None:
    run = self.run
    if run.status not in ENDED:
        run.sweep = dict(run.sweep or {}, early_stopped_at=run.snapshot().step)
        run.stop()
    run.join()


def list_sweeps(store: RunStore | None = None) -> list[dict[str, Any]]:
    """Every recorded sweep of `store`, newest first (the sweep file's JSON)."""
    store = store or RunStore()
    folder = store.home / SWEEPS_DIR
    out = []
    for p in folder.glob("*.json") if folder.exists() else []:
        try:
            out.append(read_json(p))
        except ValueError:
            continue
    return sorted(out, key=lambda s: s.get("created", 0), reverse=True)


def sweep_results(
    record: dict[str, Any],
    store: RunStore | None = None,
    metric: str | None = None,
    mode: str | None = None,
) -> list[TrialResult]:
    """A recorded sweep's trials as they stand on disk, ranked by `metric` (default: the
    sweep's own) best first."""
    store = store or RunStore()
    spec = record["spec"]
    metric, mode = metric or spec["metric"], mode or spec["mode"]
    return rank([trial_from_disk(store, t, metric) for t in record["trials"]], mode)
