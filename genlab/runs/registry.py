"""The process-wide registry of live runs, with a cap on how many train at once.

Runs beyond the cap wait as `queued` and start, first come first served, when a slot frees up.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable
from typing import Protocol

from genlab.runs.store import LIVE_STATES


class Run(Protocol):
    """What the registry needs of a run (genlab.runs.Run and the Ray proxy are both one)."""

    id: str
    takes_slot: bool  # trains in this process, so it counts against the cap

    @property
    def status(self) -> str: ...

    def launch(self, on_end: Callable[[Run], None]) -> None:
        """Start training; call `on_end(self)` once it has ended, however it ended."""

    def stop(self) -> None: ...

    def join(self, timeout: float | None = None) -> bool: ...


KEEP_ENDED = 32  # ended runs kept in memory; older ones are read from disk


def default_max_concurrent() -> int:
    return max(1, int(os.environ.get("GENLAB_MAX_RUNS", "2")))


class RunRegistry:
    def __init__(self, max_concurrent: int | None = None):
        self.max_concurrent = max_concurrent or default_max_concurrent()
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self._queue: list[Run] = []
        self._active: set[str] = set()
        self._ended: list[str] = []

    def submit(self, run: Run) -> None:
        with self._lock:
            if run.id in self._runs and run.id in self._active:
                raise ValueError(f"run {run.id} is already live")
            self._runs[run.id] = run
            # a run that does not train here (Ray) is registered (found, listed, stopped at
            # exit) but not capped: the cluster's resources decide when it trains
            if run.takes_slot:
                self._queue.append(run)
        if not run.takes_slot:
            run.launch(self.finished)
        self._admit()

    def _admit(self) -> None:
        to_start = []
        with self._lock:
            while self._queue and len(self._active) < self.max_concurrent:
                run = self._queue.pop(0)
                self._active.add(run.id)
                to_start.append(run)
        for run in to_start:
            run.launch(self.finished)

    def finished(self, run: Run) -> None:
        """A run has ended (its `on_end` callback): its slot goes to the next in the queue."""
        with self._lock:
            self._active.discard(run.id)
            self._retire(run.id)
        self._admit()

    def _retire(self, run_id: str) -> None:
        """Ended runs stay in memory for quick viewing, but only the latest few: they are all on
        disk, and a server that runs for weeks must not keep every model it ever trained."""
        self._ended.append(run_id)
        while len(self._ended) > KEEP_ENDED:
            old = self._ended.pop(0)
            if old not in self._active and not any(r.id == old for r in self._queue):
                self._runs.pop(old, None)

    def cancel_queued(self, run: Run) -> bool:
        """Take a queued run out of the queue (it ends as stopped without training)."""
        with self._lock:
            if run in self._queue:
                self._queue.remove(run)
                self._retire(run.id)
                return True
        return False

    def get(self, run_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def live(self) -> list[Run]:
        return [r for r in self.runs() if r.status in LIVE_STATES]

    def forget(self, run_id: str) -> None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is not None and run.id not in self._active and run not in self._queue:
                del self._runs[run_id]

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every live run (each checkpoints where it got to) and wait for them, up to
        `timeout` seconds in all. Runs at interpreter exit, so SIGTERM to the server or the CLI
        (which exit through atexit) leaves resumable runs, not torn ones."""
        runs = self.live()
        for run in runs:
            run.stop()
        deadline = time.time() + timeout
        for run in runs:
            run.join(max(0.0, deadline - time.time()))


def mark_interrupted(store) -> list[str]:
    """Runs that disk says are live but no thread of this process trains were cut short (the
    server was killed): mark them `interrupted` so they can be resumed. Returns their ids."""
    out = []
    for info in store.list():
        live = info.get("status") in LIVE_STATES
        if live and REGISTRY.get(info["id"]) is None:
            d = store.run_dir(info["id"])
            info = dict(info)
            info.pop("dir", None)
            info["status"] = "interrupted"
            d.write_info(info)
            out.append(info["id"])
    return out


REGISTRY = RunRegistry()
atexit.register(REGISTRY.shutdown)
