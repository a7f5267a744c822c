"""Hyperparameter sweeps: one method on one dataset, one or two hyperparameters, several seeds.

Every trial is an ordinary run in the run store, tagged in its run.json with the sweep's id
(`"sweep": {"id", "trial", "params", "seed"}`), so the Runs and Compare pages show it like any
other. The sweep itself is recorded in `<run store>/.sweeps/<id>.json` (the spec, the planned
trials with their run ids, and the outcome of each). What a sweep is, its axes and its check
before anything starts are in `genlab.runs.sweep_spec`.

Executors: `local` and `process` start the trials as background runs, in threads of this
process or in child processes (the registry's cap, `parallel`, decides how many train at once);
`ray` hands them to Ray Tune (`genlab.runs.sweep_tune`), which with
`early_stop="asha"` stops the poor ones early. The step at which each trial was stopped is
recorded.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlab.runs.executors import run_class
from genlab.runs.registry import REGISTRY
from genlab.runs.setup import new_run_id
from genlab.runs.store import RunStore, read_json, write_json
from genlab.runs.sweep_spec import SweepSpec, validate
from genlab.runs.sweep_tune import run_on_tune

SWEEPS_DIR = ".sweeps"  # a dot folder: RunStore.list() skips it


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
                if self.spec.executor in ("local", "process"):
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
            run = run_class(self.spec.executor)(
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
        plan = [dict(t, tag=self.tag(t)) for t in self.trials]
        home = self.store.home
        run_on_tune(self.id, self.spec, plan, home, home / SWEEPS_DIR / "tune")


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
