"""What every run held in this process has: its validated settings, its folder and run.json, the
control state under a lock (pause, step N, slow motion, live knob changes, stop) and the readers
the pages use (`runs.protocol.AnyRun`).

Two kinds of run build on it: `runs/run.py: Run` trains in a worker thread here and obeys that
state; `runs/ray_exec.py: RayRun` forwards the controls to a Ray actor and pulls the state back.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Self

from genlab import params
from genlab.data import Dataset, load_dataset
from genlab.limits import Limits
from genlab.methods import method_class
from genlab.runs.build import method_config, resolve_device, train_config
from genlab.runs.history import MetricHistory
from genlab.runs.protocol import RunSnapshot, SampleSnapshot
from genlab.runs.registry import REGISTRY, RunRegistry
from genlab.runs.setup import keep_upload, make_folder, resume_args, versions
from genlab.runs.stopping import Stopper
from genlab.runs.store import RunStore, clean_name, read_json
from genlab.runs.tracking import NULL, Tracking

DELAYS_S = (0.0, 0.01, 0.05, 0.2)  # the live view's "slow motion" choices (seconds per step)


class RunState:
    """Create with validated settings (errors raise ValueError here, before any thread starts).
    Subclasses say how it trains: `launch(on_end)` and `view_state(wait)`."""

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
        self._registry: RunRegistry = REGISTRY  # the one start() queued it in
        self._elapsed_before = 0.0  # training seconds of earlier sessions (resume)
        self._train_started: float | None = None
        self._banked = 0.0  # seconds trained in this session before the last pause
        self.thread: threading.Thread | None = None
        self._ended = threading.Event()  # set once the run has ended, whether it trained or not
        self.created = time.time()
        self._tracking: Tracking = NULL  # the run's sinks (TensorBoard, MLflow, model card)
        self._stopper: Stopper | None = None  # stop=auto, while it trains
        self.stop_info: dict[str, Any] | None = None  # once a stop=auto run has ended

        if _resume is None:
            self.id, self.dir = make_folder(self.store, method, dataset, run_id)
            self.data_file = keep_upload(self.dir, data_file)
        else:
            self.id = run_id or _resume["id"]
            self.dir = self.store.run_dir(self.id)
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

    @classmethod
    def from_dir(
        cls,
        path: str | Path,
        steps: int | None = None,
        store: RunStore | None = None,
        method_overrides: dict[str, Any] | None = None,
    ) -> Self:
        """A run that continues a saved one from its last checkpoint (same folder).

        `method_overrides` changes live hyperparameters (e.g. a lower learning rate after a
        divergence, see `runs.setup.scaled_lrs`); they are validated with the rest of the
        config, recorded in the run's live_changes at the checkpoint's step, and the learning
        rates are pushed into the restored optimisers (whose saved state would bring back the
        old ones)."""
        args = resume_args(path, steps, store, method_overrides)
        return cls(args.pop("method"), args.pop("dataset"), **args)

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
    def start(self, registry: RunRegistry | None = None) -> Self:
        """Queue the run in `registry` (default: the process's REGISTRY), which launches it when
        one of its slots is free."""
        self._registry = registry or REGISTRY
        self._registry.submit(self)
        return self

    def launch(self, on_end: Any = None) -> None:
        """Start training (the registry calls this when a slot is free); `on_end(self)` is called
        once the run has ended, on every path out."""
        raise NotImplementedError

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the run has ended (a queued run waits for its turn too); True if it has."""
        if not self._ended.wait(timeout):
            return False
        if self.thread is not None:
            self.thread.join(timeout)
        return True

    def wait_first_samples(self, timeout: float) -> bool:
        """Wait until the run has its first sample snapshot (True), or has ended, or `timeout`
        seconds have passed: the app shows the live page once there is something to draw."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.thread is None:  # queued behind other runs: nothing comes soon
                return False
            self._refresh_now()
            if self.snapshots:
                return True
            if self._ended.is_set():
                return False
            time.sleep(0.02)
        return False

    def _refresh_now(self) -> None:
        """Bring the readers up to date now (a remote run asks its host; a run here is)."""

    def pause(self) -> None:
        """Pause after the current step. A queued run shows as paused at once; it keeps its
        place in the queue and pauses before its first step."""
        with self._lock:
            if self._status not in ("running", "queued"):
                return
            self._paused = True
            self._resume_cond.notify_all()
        self._mark_waiting("queued", "paused")

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._pause_at = None
            self._phases = None
            self._resume_cond.notify_all()
        self._mark_waiting("paused", "queued")

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
        self._mark_waiting("paused", "queued")

    def _mark_waiting(self, was: str, now: str) -> None:
        """A run not launched yet shows Pause at once (queued -> paused), and Resume or Step N
        put it back to waiting for its turn (paused -> queued). Checked and set in one hold of
        the lock: a launch in between keeps the status its worker sets."""
        with self._lock:
            changed = self._status == was and self.thread is None
            if changed:
                self._status = now
        if changed:
            self._write_info()

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
        # read before the lock: a remote run's readers refresh, which takes it
        history, snapshots = self.history, self.snapshots
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
                last=history.last(),
                history_version=history.version,
                n_snapshots=len(snapshots),
                latest=snapshots[-1] if snapshots else None,
                error=self._error,
                live_changes=list(self.live_changes),
                device=str(self.device),
                stop=self.stop_state(),
            )

    def _eval_eta(self) -> float:
        """Seconds the evaluations still to come add to the ETA (none known here)."""
        return 0.0

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
