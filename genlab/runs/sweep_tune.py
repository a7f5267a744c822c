"""The `ray` executor of a sweep: its trials on Ray Tune, whose scheduler places them on the
cluster and, with `early_stop="asha"`, stops the poor ones early (ASHA, Li et al. 2020), judging
them on `metric` at every `eval_every` steps. Each Tune trial is an ordinary genlab Run, driven
through its public controls (`step_n`, `snapshot`, `stop`); the step at which the scheduler
stopped a trial is recorded in its run.json's sweep tag. Ray is imported here, where it is used.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from pathlib import Path
from typing import Any

from genlab.runs.build import train_config
from genlab.runs.protocol import ENDED
from genlab.runs.ray_exec import ensure_ray, trial_resources
from genlab.runs.run import Run
from genlab.runs.store import RunStore
from genlab.runs.sweep_spec import SweepSpec


def run_on_tune(
    name: str, spec: SweepSpec, plan: list[dict[str, Any]], home: Path, storage: Path
) -> None:
    """Train the trials of `plan` (validated trials, each with its run.json sweep `tag`) on Ray
    Tune as the experiment `name`, kept under `storage`; their runs go to the run store at
    `home`. RuntimeError when every trial failed."""
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    ensure_ray()
    train = train_config(spec.method, plan[0]["train_values"])
    every = train.eval_every or train.log_every
    intervals = max(1, math.ceil(train.steps / every))
    res = trial_resources(train)
    trainable = tune.with_resources(
        tune.with_parameters(
            _TuneTrial.make(),
            plan=plan,
            spec=spec.to_dict(),
            home=str(home),
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
        run_config=tune.RunConfig(name=name, verbose=0, storage_path=str(storage)),
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
