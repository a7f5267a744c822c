"""Evaluations beside training: each one runs on a copy of the weights in a thread of its own, so
the run (and the live view's step counter) never stands still while the metrics are computed.

The worker hands over a copy of the weights at an evaluation step (one state_dict clone, between
two steps: never a torn state) and trains on; the evaluator rebuilds the method from the copy,
runs `genlab.metrics.evaluate` on it and reports the values with their step and how long they
took. Evaluations run one at a time, in step order. The run waits for them before it ends, so the
final evaluation's rows are written before it reports done, and a non-finite value still fails
the run.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

import torch

from genlab.metrics import evaluate
from genlab.runs.build import build_method

# (step, training seconds at that step, the values, seconds the evaluation took)
Report = Callable[[int, float, dict[str, float], float], None]


class Evaluator:
    def __init__(
        self,
        method: str,
        train: Any,
        data: Any,
        device: torch.device,
        report: Report,
        threads: int = 1,
        stopper: Any = None,
    ):
        self.method, self.train, self.data, self.device = method, train, data, device
        self.report, self.threads = report, threads
        self.stopper = stopper  # genlab.runs.stopping.Stopper of a stop=auto run, else None
        self._cond = threading.Condition()
        # (step, training seconds, config, weights, a stop=auto check?)
        self._queue: deque[tuple[int, float, Any, dict[str, torch.Tensor], bool]] = deque()
        self._busy = False
        self._failure: str | None = None
        self._seconds: list[float] = []  # how long each evaluation took
        self._thread: threading.Thread | None = None
        self._closed = False

    # ----- the worker's side -------------------------------------------------------------------
    def submit(self, m: Any, step: int, t: float, checking: bool = False) -> None:
        """Queue an evaluation of `m`'s weights as they are now (copied here, in the worker);
        `checking`: one of a stop=auto run's checks (`evaluate(..., checking=True)`)."""
        tensors = {k: v.detach().clone() for k, v in m.state_dict().items()}
        with self._cond:
            if self._closed:
                return
            self._queue.append((step, t, m.cfg, tensors, checking))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="genlab-eval", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def failure(self) -> str | None:
        """The first evaluation that failed (non-finite values, or an error), as a message."""
        with self._cond:
            return self._failure

    def wait(self) -> None:
        """Until every queued evaluation has reported."""
        with self._cond:
            self._cond.wait_for(lambda: not self._queue and not self._busy)

    def close(self) -> None:
        """End the thread: what is queued is dropped, the evaluation under way finishes first
        (so its rows are written before the run reports its end)."""
        with self._cond:
            self._queue.clear()
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    def drop_queued(self) -> None:
        """Forget the evaluations not started yet (a stopped run); the one running finishes."""
        with self._cond:
            self._queue.clear()
            self._cond.notify_all()

    # ----- for the ETA -------------------------------------------------------------------------
    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + int(self._busy)

    def seconds_each(self) -> float | None:
        """The mean duration of the last three evaluations, None before the first."""
        with self._cond:
            last = self._seconds[-3:]
        return sum(last) / len(last) if last else None

    # ----- the evaluation thread ---------------------------------------------------------------
    def _loop(self) -> None:

        if self.device.type == "cpu":
            torch.set_num_threads(self.threads)  # this thread's count, as the worker's
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._closed)
                if not self._queue:  # closed
                    return
                step, t, cfg, tensors, checking = self._queue.popleft()
                self._busy = True
            t0 = time.perf_counter()
            failure = None
            try:
                m = build_method(self.method, cfg, self.train, self.data.spec, self.device)
                m.load_state_dict(tensors, strict=True)
                m.step = step
                values = evaluate(m.eval(), self.data, checking=checking)
            except Exception as e:  # reported as the run's failure by the worker
                values = {}
                failure = f"{type(e).__name__} in the evaluation at step {step}: {e}\n"
                failure += traceback.format_exc(limit=3)
            seconds = time.perf_counter() - t0
            bad = [k for k, v in values.items() if not math.isfinite(v)]
            if bad:
                failure = (
                    f"diverged: non-finite evaluation at step {step}: "
                    + ", ".join(f"{k}={values[k]}" for k in bad)
                    + ". The last good checkpoint is kept; resume it with a lower learning rate."
                )
            if values:
                self.report(step, t, values, seconds)
                if self.stopper is not None and failure is None:
                    self.stopper.update(step, values, tensors)  # before the evaluation counts
            with self._cond:
                self._seconds.append(seconds)
                self._busy = False
                if failure and self._failure is None:
                    self._failure = failure
                self._cond.notify_all()
