"""The `ray` executor: a run trained on a Ray cluster, driven and watched from this process.

An ordinary genlab `Run` trains inside a Ray actor (`RunHost`), in a Ray worker process: the same
loop, the same run folder (the run store must be a path that the cluster's workers share, such as
a local Ray instance on this machine or a network file system on a cluster). In this process a
`RayRun` stands in for it: it is a `Run` (the Train, Live, Runs and Compare pages take it as one),
whose controls go to the actor and whose readers pull what is new from the actor (history rows
after the steps already seen, sample snapshots after the ones already held) at most every
`POLL_EVERY_S` seconds, only when something reads.

A worker that dies mid-run (killed, node lost) leaves its run `interrupted` (in run.json too): it
resumes from its last checkpoint like any other, on either executor.

Ray is optional (requirements-ray.txt) and imported only here, lazily.
"""

from __future__ import annotations

import atexit
import bisect
import importlib.util
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import genlab
from genlab import params
from genlab.runs.protocol import SampleSnapshot, ViewState
from genlab.runs.registry import REGISTRY
from genlab.runs.run import Run
from genlab.runs.state import RunState
from genlab.runs.store import RunStore

EXECUTORS = ("local", "ray")
POLL_EVERY_S = 0.5  # a reader pulls new rows and samples from the actor at most this often
CALL_TIMEOUT_S = 10.0
INSTALL_HINT = "pip install -r requirements-ray.txt"

_init_lock = threading.Lock()
_host_cls: Any = None


def ray_available() -> bool:
    """Whether the optional Ray dependency is installed (without importing it)."""
    return importlib.util.find_spec("ray") is not None


def check_executor(name: str) -> None:
    """ValueError unless `name` is an executor that can be used here."""
    if name not in EXECUTORS:
        raise ValueError(f"executor {name!r} is not one of {', '.join(EXECUTORS)}")
    if name == "ray" and not ray_available():
        raise ValueError(f"executor 'ray' needs Ray: {INSTALL_HINT}")


def ray_address() -> str:
    """GENLAB_RAY_ADDRESS: a cluster address (`ray://head:10001`, `auto`), or `local` (default)."""
    return os.environ.get("GENLAB_RAY_ADDRESS", "").strip() or "local"


def ensure_ray(num_cpus: int | None = None) -> Any:
    """Connect to the cluster of GENLAB_RAY_ADDRESS once per process (or start a local Ray
    instance with this machine's CPUs) and return the `ray` module."""
    check_executor("ray")
    import ray

    with _init_lock:
        if not ray.is_initialized():
            _in_a_lasting_thread(lambda: _init(ray, num_cpus))
            # registered after Ray's own exit hook, so it runs first: live Ray runs stop and
            # checkpoint while the cluster connection still exists
            atexit.register(stop_ray_runs)
    return ray


def _in_a_lasting_thread(fn: Callable[[], None]) -> None:
    """Run `fn` in a thread that lives as long as the process. A local Ray instance's processes
    (raylet, GCS) end when the thread that started them ends: started from a Streamlit script
    run (a short-lived thread), every Ray run from the app failed about 5 s after Start with
    "the Ray worker was lost" (the raylet's log: "the parent is dead"). The main thread (the
    CLI, a notebook) lasts already."""
    if threading.current_thread() is threading.main_thread():
        fn()
        return
    done, failed = threading.Event(), []

    def body() -> None:
        try:
            fn()
        except BaseException as e:  # raised again in the caller
            failed.append(e)
        finally:
            done.set()
        if not failed:
            threading.Event().wait()  # keeps this thread, and so Ray's processes, alive

    threading.Thread(target=body, name="genlab-ray-init", daemon=True).start()
    done.wait()
    if failed:
        raise failed[0]


def _init(ray: Any, num_cpus: int | None) -> None:
    """ray.init for GENLAB_RAY_ADDRESS: a local instance, or a remote cluster."""
    root = str(Path(genlab.__file__).resolve().parent.parent)
    address = ray_address()
    if address == "local":
        # the workers share this filesystem: they import genlab from this checkout
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        ray.init(
            num_cpus=num_cpus or os.cpu_count(),
            include_dashboard=False,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": path}},
        )
    else:
        # a remote cluster gets this genlab package shipped with the job; torch and the
        # rest of requirements.txt must be installed on its nodes
        ray.init(
            address=address,
            log_to_driver=False,
            runtime_env={"py_modules": [str(Path(genlab.__file__).parent)]},
        )


def cluster_gpus() -> float:
    import ray

    return float(ray.cluster_resources().get("GPU", 0.0))


def trial_resources(train: params.TrainConfig) -> dict[str, float]:
    """One CPU per run, and one GPU per run when the cluster has GPUs and the run may use one."""
    gpu = train.device in ("auto", "cuda") and cluster_gpus() > 0
    return {"num_cpus": 1, "num_gpus": 1 if gpu else 0}


def stop_ray_runs(timeout: float = 10.0) -> None:
    runs = [r for r in REGISTRY.live() if r.executor == "ray"]
    for r in runs:
        r.stop()
    deadline = time.time() + timeout
    for r in runs:
        r.join(max(0.0, deadline - time.time()))


class RunHost:
    """The Ray actor: hosts one ordinary genlab Run in a Ray worker process."""

    def __init__(self, home: str, info: dict[str, Any]):
        torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1") or 1)))
        # attach to the folder the driver created (run.json is there, maybe a checkpoint too)
        self.run = Run(
            info["method"],
            info["dataset"],
            info["method_config"],
            info["train_config"],
            data_file=info.get("data_file"),
            data_options=info.get("data_options"),
            store=RunStore(home),
            run_id=info["id"],
            _resume=info,
        )
        self.run.executor = "ray"

    def start(self, pause_at: int | None = None, live: dict[str, Any] | None = None) -> str:
        if live:  # changes made before launch (resume with a lower lr): after the restore
            self.run.set_live(**live)
        if pause_at is not None:
            self.run.step_n(pause_at)
        self.run.launch()
        return str(self.run.device)

    def wait(self, timeout: float) -> bool:
        return self.run.join(timeout)

    def control(self, name: str, *args: Any, **kwargs: Any) -> None:
        getattr(self.run, name)(*args, **kwargs)

    def view_state(self, wait: float = 0.0) -> ViewState | None:
        return self.run.view_state(wait=wait)

    def poll(self, since: dict[str, int], n_snapshots: int) -> dict[str, Any]:
        """What is new: history rows after step `since[key]` per key, snapshots after the first
        `n_snapshots`, and the current status figures."""
        rows = {}
        for key, rs in self.run.history.copy().items():
            i = bisect.bisect_right(rs, since.get(key, -1), key=lambda r: r[0])
            if i < len(rs):
                rows[key] = rs[i:]
        snap = self.run.snapshot()
        return {
            "status": snap.status,
            "step": snap.step,
            "steps_per_s": snap.steps_per_s,
            "elapsed_s": snap.elapsed_s,
            "error": snap.error,
            "device": snap.device,
            "live_changes": snap.live_changes,
            "rows": rows,
            "snapshots": [(s.step, s.kind, s.payload) for s in self.run.snapshots[n_snapshots:]],
            "sweep": self.run.sweep,
        }


def _remote_host() -> Any:
    global _host_cls
    if _host_cls is None:
        import ray

        _host_cls = ray.remote(RunHost)
    return _host_cls


class RayRun(RunState):
    """A run that trains in a Ray actor: the same settings, control state and readers as a
    `Run` (both are a `RunState`); its controls are forwarded to the actor and its readers pull
    what is new from it.

    Validation (and the run folder, with run.json) happen here, before anything reaches the
    cluster. The registry lists Ray runs but does not count them against its local cap: the
    cluster's resources (one CPU, and one GPU where the cluster has them, per run) decide how many
    train at once, and the rest wait in Ray's queue, shown as `queued`."""

    executor = "ray"
    takes_slot = False  # the cluster's resources decide when it trains

    def __init__(self, *args: Any, **kwargs: Any):
        ensure_ray()  # fail here, with a clear message, when the cluster cannot be reached
        self._actor: Any = None
        self._since: dict[str, int] = {}
        self._polled = 0.0
        self._pending: Any = None  # the poll in flight (a Ray ObjectRef)
        self._poll_lock = threading.Lock()
        self._view_cache: tuple[float, ViewState | None] = (0.0, None)
        self._elapsed_remote = 0.0
        super().__init__(*args, **kwargs)
        self._elapsed_remote = self._elapsed_before
        self.pause_at: int | None = None  # start paused after this many steps (sweeps)

    # ----- launch and watch --------------------------------------------------------------------
    def launch(self, on_end: Callable[[RunState], None] | None = None) -> None:
        self._on_end = on_end or (lambda run: None)
        with self._lock:
            stop_early = self._stop
        if stop_early:
            self._end_unstarted()
            return
        opts = dict(trial_resources(self.train), max_concurrency=4)
        info = self.info()
        info["status"] = "queued"
        self._actor = _remote_host().options(**opts).remote(str(self.store.home), info)
        with self._lock:
            live, self._pending_live = self._pending_live, {}
        self._actor.start.remote(self.pause_at, live)
        self.thread = threading.Thread(
            target=self._watch, name=f"genlab-ray-{self.id}", daemon=True
        )
        self.thread.start()

    def _end_unstarted(self) -> None:
        self._set_status("stopped")
        self._ended.set()
        self._on_end(self)

    def _watch(self) -> None:
        """Wait for the actor's run to end; a dead actor means the run was interrupted."""
        import ray

        try:
            while not ray.get(self._actor.wait.remote(2.0)):
                pass
            self._refresh(force=True)
            # the weights as they ended, for the live view's model panels once the actor is gone
            try:
                view = ray.get(self._actor.view_state.remote(), timeout=CALL_TIMEOUT_S)
                self._view_cache = (time.monotonic(), view)
            except Exception:  # the run has ended well; only the model panels lose their copy
                pass
            ray.kill(self._actor)  # frees its CPU (and GPU) at once
        except Exception as e:  # RayActorError, or the cluster connection going away
            self._interrupted(
                f"the Ray worker was lost: {type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}"
            )
        finally:
            self._ended.set()
            self._on_end(self)

    def _interrupted(self, message: str) -> None:
        with self._lock:
            self._status = "interrupted"
            self._error = message
            self._steps_per_s = 0.0
        try:
            info = self.dir.read_info()  # what the worker last wrote (step, last metrics)
        except ValueError:
            info = self.info()
        info.update(status="interrupted", error=message, executor="ray")
        self.dir.write_info(info)

    # ----- pulling state from the actor --------------------------------------------------------
    def _refresh(self, force: bool = False) -> None:
        """Apply the actor's answer to the last poll and send the next one. A reader never waits
        on the cluster (an actor still queued for resources answers late): it sees the state of
        the previous poll, at most POLL_EVERY_S plus one round trip old. `force` waits."""
        actor = getattr(self, "_actor", None)
        if actor is None or (self._ended.is_set() and not force):
            return
        import ray

        with self._poll_lock:
            now = time.monotonic()
            if not force and now - self._polled < POLL_EVERY_S:
                return
            self._polled = now
            try:
                rounds = 2 if force else 1  # forced: finish the pending poll, then a fresh one
                for _ in range(rounds):
                    if self._pending is None:
                        self._pending = actor.poll.remote(dict(self._since), len(self._snapshots))
                    ready, _ = ray.wait([self._pending], timeout=CALL_TIMEOUT_S if force else 0)
                    if not ready:
                        return
                    ref, self._pending = self._pending, None
                    self._apply(ray.get(ref))
            except Exception:  # a dead actor is the watcher's to report
                self._pending = None

    def _apply(self, d: dict[str, Any]) -> None:
        grouped: dict[tuple[int, float], dict[str, float]] = {}
        for key, rows in d["rows"].items():
            for step, t, v in rows:
                grouped.setdefault((step, t), {})[key] = v
            self._since[key] = rows[-1][0]
        for (step, t), values in sorted(grouped.items()):
            self._history.append(step, t, values)
        new = [SampleSnapshot(s, k, p) for s, k, p in d["snapshots"]]
        with self._lock:
            self._snapshots.extend(new)
            if self._status != "interrupted":
                self._status = d["status"]
                self._error = d["error"]
            self._step = d["step"]
            self._steps_per_s = d["steps_per_s"]
            self._elapsed_remote = d["elapsed_s"]
            self.live_changes = list(d["live_changes"])
            self.device = torch.device(d["device"])

    # the readers the pages use refresh first (rate-limited); base __init__ assigns these too
    @property
    def history(self) -> Any:
        self._refresh()
        return self._history

    @history.setter
    def history(self, value: Any) -> None:
        self._history = value

    @property
    def snapshots(self) -> list[SampleSnapshot]:
        self._refresh()
        return self._snapshots

    @snapshots.setter
    def snapshots(self, value: list[SampleSnapshot]) -> None:
        self._snapshots = value

    @property
    def status(self) -> str:
        self._refresh()
        with self._lock:
            return self._status

    def elapsed_s(self) -> float:
        return getattr(self, "_elapsed_remote", 0.0)

    def snapshot(self) -> Any:
        self._refresh()
        return super().snapshot()

    def view_state(self, wait: float = 0.0) -> ViewState | None:
        """The worker's latest copy of the weights (fetched at most every POLL_EVERY_S)."""
        if self._actor is None or self._ended.is_set():
            return self._view_cache[1]
        t, cached = self._view_cache
        if time.monotonic() - t < POLL_EVERY_S:
            return cached
        import ray

        try:
            view = ray.get(self._actor.view_state.remote(wait), timeout=CALL_TIMEOUT_S + wait)
        except Exception:
            view = cached
        self._view_cache = (time.monotonic(), view)
        return view

    # ----- controls: validated here, carried out by the actor ----------------------------------
    def _call(self, name: str, *args: Any, **kwargs: Any) -> None:
        if self._actor is None or self._ended.is_set():
            return
        try:
            self._actor.control.remote(name, *args, **kwargs)
        except Exception:  # the cluster is gone: the watcher marks the run interrupted
            return
        self._polled = 0.0  # the next read shows the effect

    def pause(self) -> None:
        self._call("pause")

    def resume(self) -> None:
        self._call("resume")

    def step_n(self, n: int, phases: tuple[str, ...] | None = None) -> None:
        super().step_n(n, phases)  # validates the phases here
        self._call("step_n", n, phases)

    def set_delay(self, seconds: float) -> None:
        super().set_delay(seconds)
        self._call("set_delay", seconds)

    def set_live(self, **changes: Any) -> None:
        super().set_live(**changes)
        self._call("set_live", **changes)

    def stop(self) -> None:
        with self._lock:
            self._stop = True
        if self._actor is None:
            return  # not launched yet: launch sees the flag
        self._call("stop")
