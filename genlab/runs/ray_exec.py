"""The `ray` executor: a run trained on a Ray cluster, driven and watched from this process.

An ordinary genlab `Run` trains inside a Ray actor (a `runs.remote.RunHost`), in a Ray worker
process: the same loop, the same run folder (the run store must be a path that the cluster's
workers share, such as a local Ray instance on this machine or a network file system on a
cluster). In this process a `RayRun` (a `runs.remote.RemoteRun`) stands in for it.

Ray is optional (requirements-ray.txt) and imported only here, lazily.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import genlab
from genlab import params
from genlab.runs.registry import REGISTRY
from genlab.runs.remote import RemoteRun, RunHost

INSTALL_HINT = "pip install -r requirements-ray.txt"

_init_lock = threading.Lock()
_host_cls: Any = None


def ray_available() -> bool:
    """Whether the optional Ray dependency is installed (without importing it)."""
    return importlib.util.find_spec("ray") is not None


def ray_address() -> str:
    """GENLAB_RAY_ADDRESS: a cluster address (`ray://head:10001`, `auto`), or `local` (default)."""
    return os.environ.get("GENLAB_RAY_ADDRESS", "").strip() or "local"


def ensure_ray(num_cpus: int | None = None) -> Any:
    """Connect to the cluster of GENLAB_RAY_ADDRESS once per process (or start a local Ray
    instance with this machine's CPUs) and return the `ray` module."""
    if not ray_available():
        raise ValueError(f"executor 'ray' needs Ray: {INSTALL_HINT}")
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


def _remote_host() -> Any:
    global _host_cls
    if _host_cls is None:
        import ray

        _host_cls = ray.remote(RunHost)
    return _host_cls


class RayRun(RemoteRun):
    """A run that trains in a Ray actor (a `RemoteRun` whose transport is Ray).

    The registry lists Ray runs but does not count them against its local cap: the cluster's
    resources (one CPU, and one GPU where the cluster has them, per run) decide how many train
    at once, and the rest wait in Ray's queue, shown as `queued`."""

    executor = "ray"
    takes_slot = False  # the cluster's resources decide when it trains
    lost_message = "the Ray worker was lost"

    def __init__(self, *args: Any, **kwargs: Any):
        ensure_ray()  # fail here, with a clear message, when the cluster cannot be reached
        super().__init__(*args, **kwargs)

    def _open_host(self, info: dict[str, Any]) -> None:
        opts = dict(trial_resources(self.train), max_concurrency=4)
        self._host = _remote_host().options(**opts).remote(str(self.store.home), info, "ray")

    def _send(self, name: str, *args: Any, **kwargs: Any) -> Any:
        return getattr(self._host, name).remote(*args, **kwargs)

    def _ready(self, ref: Any, timeout: float) -> bool:
        import ray

        ready, _ = ray.wait([ref], timeout=timeout)
        return bool(ready)

    def _result(self, ref: Any, timeout: float | None) -> Any:
        import ray

        return ray.get(ref, timeout=timeout)

    def _close_host(self) -> None:
        import ray

        ray.kill(self._host)
