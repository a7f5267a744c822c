"""A run: method + dataset + configs + seed, trained in a background thread.

The worker thread owns the method and never calls streamlit. It publishes what readers need (status,
step, speed, metric history, the latest samples already encoded) under a lock, and writes the run
folder. Controls (pause, resume, step N, stop, live knob changes) may come from any thread.
"""

from __future__ import annotations

import math
import platform
import secrets
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import genlab
from genlab import params
from genlab.data import Dataset, load_dataset
from genlab.kinds import kind_of
from genlab.limits import Limits, cpu_threads
from genlab.methods import Method, method_class
from genlab.metrics import evaluate
from genlab.runs import loop
from genlab.runs.build import build_method, method_config, resolve_device, train_config
from genlab.runs.evaluator import Evaluator
from genlab.runs.history import MetricHistory
from genlab.runs.protocol import RunSnapshot, SampleSnapshot, ViewState
from genlab.runs.registry import REGISTRY, RunRegistry
from genlab.runs.saved import read_back
from genlab.runs.stopping import BEST_STEP, Stopper
from genlab.runs.store import RunDir, RunStore, clean_name, read_json
from genlab.runs.tracking import NULL, Tracking, open_tracking

DELAYS_S = (0.0, 0.01, 0.05, 0.2)  # the live view's "slow motion" choices (seconds per step)


def scaled_lrs(method: str, method_config: dict[str, Any], factor: float) -> dict[str, float]:
    """Every learning-rate hyperparameter of `method` (declared with `optimizer=`: lr, lr_g,
    lr_d) from `method_config`, times `factor`: the overrides for a gentler resume."""
    if (
        isinstance(factor, bool)
        or not isinstance(factor, (int, float))
        or not (math.isfinite(factor) and factor > 0)
    ):
        raise ValueError(f"learning-rate factor must be a positive number, got {factor!r}")
    cls = method_class(method)
    keys = [p.name for p in params.describe(cls.Config) if p.is_lr]
    if not keys:
        raise ValueError(f"method {method!r} has no learning-rate hyperparameter")
    return {k: float(method_config[k]) * factor for k in keys}


def new_run_id(method: str, dataset: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{method}-{dataset}-{secrets.token_hex(3)}"


def versions() -> dict[str, str]:
    return {
        "genlab": genlab.__version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


class Run:
    """Create with validated settings (errors raise ValueError here, before any thread starts)."""

    executor = "local"  # what trains it (genlab.runs.ray_exec.RayRun says "ray"), in run.json
    takes_slot = True  # trains in this process: counts against the registry's cap

    def __init__(
        self,
        method: str,
        dataset: str,
        method_values: dict[str, Any] | None = None,
        train_values: dict[str, Any] | None = None,
        *,
        data_file: str | None = None,
        data_options: dict[str, Any] | None = None,
        store: RunStore | None = None,
        run_id: str | None = None,
        _resume: dict[str, Any] | None = None,
    ):
        self.store = store or RunStore()
        cls = method_class(method)
        # the data first: the method may suggest defaults for it (Method.defaults_for)
        self.data: Dataset = load_dataset(dataset, data_file, data_options)
        self.train = train_config(method, train_values, self.data.spec)
        self.cfg = method_config(method, method_values, self.data.spec)
        self.device = resolve_device(self.train.device)
        cls.check(self.cfg, self.train, self.data.spec)
        limits = Limits.from_env()
        problems = limits.problems(self.cfg, self.train)
        if _resume is None:
            disk = limits.disk_problem(self.store.disk_bytes())
            problems += [disk] if disk else []
        if problems:
            raise ValueError("; ".join(problems))
        self.method_name, self.dataset_name = method, dataset
        self.id = run_id or new_run_id(method, dataset)
        self.dir: RunDir = self.store.run_dir(self.id)
        self.data_options = data_options or {}

        self._lock = threading.Lock()
        self._resume_cond = threading.Condition(self._lock)
        self.history = MetricHistory()
        self.snapshots: list[SampleSnapshot] = []
        self.live_changes: list[dict[str, Any]] = []
        self._status = "queued"
        self._step = 0
        self._steps_per_s = 0.0
        self._error: str | None = None
        self._stop = False
        self._paused = False
        self._pause_at: int | None = None
        self._pending_live: dict[str, Any] = {}
        self._phases: tuple[str, ...] | None = None  # step_n(phases=...): only these phases
        self._delay = 0.0  # seconds of sleep after each step (slow motion)
        self._view: ViewState | None = None
        self._view_wanted = False
        self._evals: Evaluator | None = None  # evaluations beside training (see _train)
        self._registry: RunRegistry = REGISTRY  # the one start() queued it in
        self._rows_lock = threading.Lock()  # the worker and the evaluator both append rows
        self._t0 = time.time()
        self._elapsed_before = 0.0  # training seconds of earlier sessions (resume)
        self._train_started: float | None = None
        self._banked = 0.0  # seconds trained in this session before the last pause
        self.thread: threading.Thread | None = None
        self._ended = threading.Event()  # set once the run has ended, whether it trained or not
        self.method: Method | None = None
        self.created = time.time()
        self._tracking: Tracking = NULL  # the run's sinks (TensorBoard, MLflow, model card)
        self._stopper: Stopper | None = None  # stop=auto (see _train)
        self.stop_info: dict[str, Any] | None = None  # once a stop=auto run has ended

        if _resume is None:
            for _ in range(100):  # a generated id may repeat within one second: draw another
                try:
                    self.dir.path.mkdir(parents=True, exist_ok=False)
                    break
                except FileExistsError:
                    if run_id is not None:
                        raise
                    self.id = new_run_id(method, dataset)
                    self.dir = self.store.run_dir(self.id)
            self.data_file = self._keep_upload(data_file)
        else:
            self.data_file = data_file
            self.created = _resume.get("created", self.created)
            self._elapsed_before = float(_resume.get("elapsed_s", 0.0))
            self.live_changes = list(_resume.get("live_changes", []))
            # show where it will continue from at once, not step 0 until the worker has restored
            # (a folder attached before its first checkpoint, e.g. by a Ray worker, starts at 0)
            if self.dir.has_checkpoint():
                self._step = int(read_json(self.dir.ckpt_dir / "last.json").get("step", 0))
        self._resume_info = _resume
        # the sweep it belongs to (None outside a sweep): kept in run.json so the Compare page
        # can gather a sweep's trials
        self.sweep: dict[str, Any] | None = (_resume or {}).get("sweep")
        self.name: str = (_resume or {}).get("name") or ""  # the user's name for it ('' = none)
        self._write_info()

    # ----- creation helpers --------------------------------------------------------------------
    def _keep_upload(self, data_file: str | None) -> str | None:
        """Copy the user's file into the run folder, so the run is self-contained and resumable."""
        if not data_file:
            return None
        src = Path(data_file)
        dst_dir = self.dir.path / "data"
        dst_dir.mkdir(parents=True, exist_ok=True)
        dst = dst_dir / ("upload" + "".join(src.suffixes[-1:]) if src.is_file() else "upload")
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)
        return str(dst)

    @classmethod
    def from_dir(
        cls,
        path: str | Path,
        steps: int | None = None,
        store: RunStore | None = None,
        method_overrides: dict[str, Any] | None = None,
    ) -> Run:
        """A run that continues a saved one from its last checkpoint (same folder).

        `method_overrides` changes live hyperparameters (e.g. a lower learning rate after a
        divergence, see `scaled_lrs`); they are validated with the rest of the config, recorded
        in the run's live_changes at the checkpoint's step, and the learning rates are pushed into
        the restored optimisers (whose saved state would bring back the old ones)."""
        d = RunDir(path)
        info = d.read_info()
        if not d.has_checkpoint():
            raise ValueError(f"run {info['id']} has no checkpoint to resume from")
        store = store or RunStore(d.path.parent)
        train_values = dict(info["train_config"])
        if steps is not None:  # a number of steps: exactly that many (as `params.expand_steps`)
            train_values["steps"] = steps
            train_values["stop"] = "steps"
        values = dict(info["method_config"])
        if method_overrides:
            live = {p.name for p in params.describe(method_class(info["method"]).Config) if p.live}
            bad = sorted(set(method_overrides) - live)
            if bad:
                raise ValueError(
                    f"{', '.join(bad)} cannot change on resume (live hyperparameters "
                    f"can: {', '.join(sorted(live))})"
                )
            changes = {k: v for k, v in method_overrides.items() if values.get(k) != v}
            values.update(changes)
            step = int(read_json(d.ckpt_dir / "last.json").get("step", 0))
            info = {
                **info,
                "live_changes": [
                    *info.get("live_changes", []),
                    *({"step": step, "key": k, "value": v} for k, v in changes.items()),
                ],
            }
        return cls(
            info["method"],
            info["dataset"],
            values,
            train_values,
            data_file=info.get("data_file"),
            data_options=info.get("data_options"),
            store=store,
            run_id=info["id"],
            _resume=info,
        )

    # ----- the info file -----------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        with self._lock:
            status, step, err = self._status, self._step, self._error
        return {
            "id": self.id,
            "method": self.method_name,
            "dataset": self.dataset_name,
            "data_file": self.data_file,
            "data_options": self.data_options,
            "method_config": params.to_dict(self.cfg),
            "train_config": params.to_dict(self.train),
            "seed": self.train.seed,
            "spec": self.data.spec.to_dict(),
            "status": status,
            "step": step,
            "steps": self.train.steps,
            "created": self.created,
            "updated": time.time(),
            "elapsed_s": self.elapsed_s(),
            "error": err,
            "last": self.history.last(),
            "live_changes": list(self.live_changes),
            "device": str(self.device),
            "versions": versions(),
            "executor": self.executor,
            "sweep": self.sweep,
            "tracking": self._tracking.status(),
            "name": self.name,
            "stop": self.stop_state(),
        }

    def stop_state(self) -> dict[str, Any] | None:
        """stop=auto: the measure, its best value and step, the plateau drops and (once ended)
        why the run stopped and whose weights it kept; None for stop=steps."""
        if self.stop_info is not None:
            return dict(self.stop_info)
        stopper = self._stopper
        return stopper.state() if stopper is not None else None

    def _write_info(self) -> None:
        self.dir.write_info(self.info())

    def tag_sweep(self, tag: dict[str, Any]) -> None:
        """Mark it as a trial of a sweep (kept in run.json, so Compare can gather the trials)."""
        self.sweep = dict(tag)
        self._write_info()

    def rename(self, name: str) -> None:
        """Give the run a name of the user's (kept in run.json; '' removes it)."""
        self.name = clean_name(name)
        self._write_info()

    # ----- controls (any thread) ---------------------------------------------------------------
    def start(self, registry: RunRegistry | None = None) -> Run:
        """Queue the run in `registry` (default: the process's REGISTRY), which launches it when
        one of its slots is free."""
        self._registry = registry or REGISTRY
        self._registry.submit(self)
        return self

    def launch(self, on_end: Callable[[Run], None] | None = None) -> None:
        """Start the worker thread (the registry calls this when a slot is free); `on_end(self)`
        is called once the run has ended, on every path out."""
        self._on_end = on_end or (lambda run: None)
        self.thread = threading.Thread(target=self._work, name=f"genlab-{self.id}", daemon=True)
        self.thread.start()

    def pause(self) -> None:
        with self._lock:
            if self._status in ("running", "queued"):
                self._paused = True
                self._resume_cond.notify_all()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._pause_at = None
            self._phases = None
            self._resume_cond.notify_all()

    def step_n(self, n: int, phases: tuple[str, ...] | None = None) -> None:
        """Train `n` more steps, then pause. `phases` (a subset of the method's `phases`, e.g.
        ("d",)) trains only those phases in these steps: "Train D only" is step_n(1, ("d",))."""
        if phases is not None:
            allowed = method_class(self.method_name).phases
            bad = [p for p in phases if p not in allowed]
            if bad or not phases:
                raise ValueError(
                    f"phases {tuple(phases)!r} not trainable separately for "
                    f"{self.method_name!r} (its phases: {', '.join(allowed) or 'none'})"
                )
            phases = tuple(phases)
        with self._lock:
            self._pause_at = self._step + max(1, int(n))
            self._phases = phases
            self._paused = False
            self._resume_cond.notify_all()

    def set_delay(self, seconds: float) -> None:
        """Slow motion: sleep `seconds` (0 to 5) after every step, so a person can follow it."""
        seconds = float(seconds)
        if not 0.0 <= seconds <= 5.0:
            raise ValueError(f"delay must be between 0 and 5 seconds per step, not {seconds}")
        with self._lock:
            self._delay = seconds
            self._resume_cond.notify_all()  # a long sleep in progress ends now

    @property
    def delay(self) -> float:
        with self._lock:
            return self._delay

    def view_state(self, wait: float = 0.0) -> ViewState | None:
        """The latest copy of the weights for views computed outside the worker (the live view's
        2D canvas), or None before the first one (waiting up to `wait` seconds for it while the
        run trains). Asking also requests a fresh copy, which the worker takes after its current
        step: a copy costs one state_dict clone only when someone looks (and at every pause and
        at the end), and readers never touch the live module."""
        with self._lock:
            self._view_wanted = True
            if self._view is None and wait > 0 and self._status == "running":
                self._resume_cond.wait_for(lambda: self._view is not None, timeout=wait)
            return self._view

    def stop(self) -> None:
        with self._lock:
            self._stop = True
            self._resume_cond.notify_all()
        if self._registry.cancel_queued(self):
            self._set_status("stopped")
            self._ended.set()

    def set_live(self, **changes: Any) -> None:
        """Change live hyperparameters; validated now, applied by the worker between steps."""
        cls = method_class(self.method_name)
        live = [p.name for p in params.describe(cls.Config) if p.live]
        bad = [k for k in changes if k not in live]
        if bad:
            raise ValueError(
                f"{', '.join(bad)} cannot change while a run is live (live: {', '.join(live)})"
            )
        new = params.build(cls.Config, changes, base=self.cfg)
        cls.check(new, self.train, self.data.spec)
        with self._lock:
            self._pending_live.update(changes)
            self.cfg = new

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the run has ended (a queued run waits for its turn too); True if it has."""
        if not self._ended.wait(timeout):
            return False
        if self.thread is not None:
            self.thread.join(timeout)
        return True

    # ----- readers (runs.protocol.AnyRun) ------------------------------------------------------
    in_process = True  # this process drives it: its controls work

    @property
    def kind(self) -> str:
        return self.data.spec.kind

    def real_data(self) -> Dataset:
        return self.data

    @property
    def stepping(self) -> bool:
        """True while a step_n is under way (it pauses by itself at its end)."""
        with self._lock:
            return self._pause_at is not None

    @property
    def status(self) -> str:
        with self._lock:
            return self._status

    def elapsed_s(self) -> float:
        t = self._train_started
        return (
            self._elapsed_before
            + (time.time() - t if t is not None and self._status == "running" else 0.0)
            + self._banked
        )

    def snapshot(self) -> RunSnapshot:
        with self._lock:
            sps = self._steps_per_s
            remaining = self.train.steps - self._step
            eta = (
                remaining / sps + self._eval_eta()
                if sps > 0 and self._status == "running"
                else None
            )
            return RunSnapshot(
                id=self.id,
                method=self.method_name,
                dataset=self.dataset_name,
                status=self._status,
                step=self._step,
                steps=self.train.steps,
                steps_per_s=sps,
                eta_s=eta,
                elapsed_s=self.elapsed_s(),
                last=self.history.last(),
                history_version=self.history.version,
                n_snapshots=len(self.snapshots),
                latest=self.snapshots[-1] if self.snapshots else None,
                error=self._error,
                live_changes=list(self.live_changes),
                device=str(self.device),
                stop=self.stop_state(),
            )

    def _eval_eta(self) -> float:
        """Seconds the evaluations add to the ETA: the run waits for the ones still queued and
        for the final one at its end (those beside training only share the cores: they are in
        the measured steps/s)."""
        each = self._evals.seconds_each() if self._evals is not None else None
        if each is None:
            return 0.0
        return each * (self._evals.pending() + (self._step < self.train.steps))

    # ----- the worker --------------------------------------------------------------------------
    def _set_status(self, status: str, error: str | None = None) -> None:
        with self._lock:
            if self._status == "running" and self._train_started is not None:
                self._banked += time.time() - self._train_started
                self._train_started = None
            if status == "running":
                self._train_started = time.time()
            self._status = status
            if error is not None:
                self._error = error
        self._write_info()

    def proceed(self) -> bool:
        """Block while paused; return False when the run must stop."""
        with self._lock:
            if self._pause_at is not None and self._step >= self._pause_at:
                self._pause_at = None
                self._paused = True
            if not self._paused or self._stop:
                return not self._stop
            self._phases = None
        if self.method is not None:
            self._publish_view(self.method)  # the view shows the state it paused in
        self._set_status("paused")
        with self._lock:
            while self._paused and not self._stop:
                self._resume_cond.wait(timeout=0.5)
            stop = self._stop
        if not stop:
            self._set_status("running")
        return not stop

    def _work(self) -> None:
        try:
            if self.device.type == "cpu":
                torch.set_num_threads(cpu_threads())  # this thread's count only
            self._train()
        except torch.OutOfMemoryError:
            self._fail(
                "out of memory: try a smaller batch_size or a smaller model "
                "(hidden, layers, latent_dim)"
            )
        except MemoryError:
            self._fail("out of host memory: try a smaller batch_size or a smaller model")
        except Exception as e:  # one run's failure must not take down the app or other runs
            tb = traceback.format_exc(limit=3)
            self._fail(f"{type(e).__name__}: {e}\n{tb}")
        finally:
            if self._evals is not None:  # on every path out, failures included
                self._evals.close()
            self._tracking.on_end({**self.info(), "dir": str(self.dir.path)})
            self._write_info()  # with where the sinks wrote and what failed
            self._ended.set()
            self._on_end(self)

    def _fail(self, message: str) -> None:
        self._set_status("failed", error=message)

    def _build(self) -> Method:
        m = build_method(self.method_name, self.cfg, self.train, self.data.spec, self.device)
        if self._resume_info is not None and self.dir.has_checkpoint():
            tensors, meta = self.dir.load_checkpoint()
            m.restore(tensors, meta)
            # the optimisers' saved param groups hold the checkpoint's learning rates; the config
            # may name newer ones (a resume with a lower lr, a live change after the checkpoint)
            m.push_learning_rates()
            self.dir.truncate_metrics(m.step)
            self.snapshots.extend(read_back(self.dir, self.data.spec.kind, self.history, m.step))
            with self._lock:
                self._step = m.step
        return m

    def _train(self) -> None:
        with self._lock:
            stop_early = self._stop
        if stop_early:
            self._set_status("stopped")
            return
        self._set_status("running")
        data = self.data.to(self.device)
        m = self.method = self._build()
        self._tracking = open_tracking(self)
        tr = self.train
        stopper = self._stopper = self._new_stopper()
        evals = self._evals = Evaluator(
            self.method_name, tr, data, self.device, self._log_eval, cpu_threads(), stopper
        )
        try:
            self._rate = (time.perf_counter(), self._step)  # (when, at which step) steps/s was
            end = loop.train(self, m, data, tr, self._step)
        except loop.Diverged as e:
            self._fail(str(e))
            return
        if end.failure:
            self._fail(end.failure)
            return
        step, auto_end = end.step, end.auto
        if auto_end:
            evals.drop_queued()
            if stopper.best() is None:  # nothing evaluated yet (a short time budget)
                evals.submit(m, step, round(self.elapsed_s(), 3), checking=True)
        elif step < tr.steps:
            evals.drop_queued()  # stopped: the evaluation under way still logs its rows
        evals.wait()  # the final evaluation's rows are in before the run reports its end
        if evals.failure():
            self._fail(evals.failure())
            return
        if stopper is not None and (auto_end or step == tr.steps):
            self._keep_best(m, step, auto_end or f"step cap reached ({tr.steps:,} steps)")
        self._publish_view(m)
        if auto_end:
            self.save_checkpoint(m)
            self._set_status("done")
        elif step < tr.steps:
            self.save_checkpoint(m)
            self._set_status("stopped")
        else:
            self._set_status("done")

    # ----- stop=auto ---------------------------------------------------------------------------
    def _new_stopper(self) -> Stopper | None:
        """The stop=auto state, replayed from the metrics of earlier sessions (a resume)."""
        if self.train.stop != params.AUTO:
            return None
        stopper = Stopper(self.data.spec.kind, self.train.patience, self.train.lr_schedule)
        stopper.replay(self.dir.read_metrics(self._step))
        return stopper

    def _over_budget(self) -> str | None:
        budget = self.train.time_budget
        if budget and self.elapsed_s() >= budget:
            return f"time budget reached ({budget:g} s)"
        return None

    def _keep_best(self, m: Method, step: int, reason: str) -> None:
        """End of a stop=auto run: the weights of the best evaluation replace the last ones (when
        this session evaluated them; a resumed run keeps its last weights if the best was from
        before), the kept evaluation is repeated at this step and the samples redrawn. Where the
        checks sampled coarser than the method's sampler (Method.checking_opts), the kept
        weights are evaluated again with the full one."""
        best = self._stopper.best()
        kept = None
        ours = best is not None and best.tensors is not None  # evaluated in this session
        if ours and best.step != step:
            m.load_state_dict(best.tensors, strict=True)
            kept = best.step
        if ours and (kept is not None or m.checking_opts()):
            t0 = time.perf_counter()
            if m.checking_opts():
                values = evaluate(m.eval(), self.data)
                m.train()
                values["time/eval_s"] = round(time.perf_counter() - t0, 3)
            else:
                values = {k: v for k, v in best.values.items() if k.startswith(("eval/", "floor/"))}
            values[BEST_STEP] = best.step
            t = round(self.elapsed_s(), 3)
            self.history.append(step, t, values)
            self._flush([{"step": step, "t": t, **values}])
            if kept is not None:
                self.snapshot_samples(m, step)
        state = self._stopper.state()
        self.stop_info = {**state, "reason": reason, "kept_step": kept or step}

    # ----- what the loop calls between steps (genlab.runs.loop.Host) ---------------------------
    def auto_end(self) -> str | None:
        if self._stopper is None:
            return None
        return self._stopper.reason() or self._over_budget()

    def plateau_lr_factor(self) -> float:
        return self._stopper.lr_factor() if self._stopper is not None else 1.0

    def step_options(self) -> tuple[tuple[str, ...] | None, float]:
        with self._lock:
            return self._phases, self._delay

    def stepped(self, m: Method, step: int, delay: float) -> None:
        with self._lock:
            self._step = step
            wanted = self._view_wanted
        if wanted:
            self._publish_view(m)
        if delay > 0:
            with self._lock:  # wakes early on pause, stop or a new delay
                self._resume_cond.wait(timeout=delay)

    def log(self, step: int, values: dict[str, float], steps: int) -> None:
        now = time.perf_counter()
        t_last, step_last = self._rate
        with self._lock:
            inst = (step - step_last) / max(now - t_last, 1e-9)
            sps = self._steps_per_s
            self._steps_per_s = inst if sps == 0 else 0.7 * sps + 0.3 * inst
        self._rate = (now, step)
        row = {"step": step, "t": round(self.elapsed_s(), 3), **values}
        self.history.append(step, row["t"], values)
        self._flush([row])

    def queue_evaluation(self, m: Method, step: int) -> None:
        # beside training; a stop=auto run's are checks (see Method.checking_opts)
        self._evals.submit(m, step, round(self.elapsed_s(), 3), checking=self._stopper is not None)

    def failure(self) -> str | None:
        return self._evals.failure()

    def _publish_view(self, m: Method) -> None:
        """Copy the weights for readers (between steps, in the worker: never a torn state)."""
        tensors = {k: v.detach().to("cpu", copy=True) for k, v in m.state_dict().items()}
        with self._lock:
            version = self._view.version + 1 if self._view is not None else 1
            self._view = ViewState(version, m.step, m.cfg, tensors)
            self._view_wanted = False
            self._resume_cond.notify_all()  # wakes a view_state(wait=...); the worker rechecks

    def _flush(self, rows: list[dict[str, Any]]) -> None:
        with self._rows_lock:  # the evaluator thread flushes its rows too
            self.dir.append_metrics(rows)
            self._tracking.on_metrics(rows)
        rows.clear()

    def push_live(self, m: Method, step: int) -> None:
        with self._lock:
            changes, self._pending_live = self._pending_live, {}
        if changes:
            m.change_live(**changes)
            for k, v in changes.items():
                self.live_changes.append({"step": step, "key": k, "value": v})
            self._tracking.on_live_change(step, changes)
            self._write_info()

    def snapshot_samples(self, m: Method, step: int) -> None:
        kind = self.data.spec.kind
        m.eval()
        payload = kind_of(kind).take(m, seed=self.train.seed + 1)
        m.train()
        self.dir.save_sample(step, kind, payload)
        self._tracking.on_snapshot(step, kind, payload)
        with self._lock:
            if self.snapshots and self.snapshots[-1].step == step:  # redrawn (stop=auto's best)
                self.snapshots.pop()
            self.snapshots.append(SampleSnapshot(step, kind, payload))

    def _log_eval(self, step: int, t: float, values: dict[str, float], seconds: float) -> None:
        """An evaluation's values at the step it evaluated, with the seconds it took (in the
        evaluator's thread); `t` is the training time at that step."""
        values = {**values, "time/eval_s": round(seconds, 3)}
        self.history.append(step, t, values)
        self._flush([{"step": step, "t": t, **values}])

    def save_checkpoint(self, m: Method) -> None:
        tensors, meta = m.checkpoint()
        if not all(torch.isfinite(t).all() for t in tensors.values() if t.is_floating_point()):
            return  # never overwrite the last good checkpoint with diverged weights
        meta["run_step"] = m.step
        self.dir.save_checkpoint(tensors, meta)
        self._write_info()
