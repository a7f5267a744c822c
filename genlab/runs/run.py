"""A run trained in this process, in a background thread.

The worker thread owns the method and never calls streamlit. It publishes what readers need
(status, step, speed, metric history, the latest samples already encoded) under the lock of its
`RunState`, and writes the run folder; the controls (pause, resume, step N, stop, live knob
changes) set that state from any thread and the worker obeys them between steps. The loop
itself is `runs/loop.py`; this file is the loop's `Host`: what it calls between steps.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import torch

from genlab import params
from genlab.kinds import kind_of
from genlab.limits import cpu_threads
from genlab.methods import Method
from genlab.metrics import evaluate
from genlab.runs import loop
from genlab.runs.build import build_method
from genlab.runs.evaluator import Evaluator
from genlab.runs.protocol import SampleSnapshot, ViewState
from genlab.runs.saved import read_back
from genlab.runs.state import RunState
from genlab.runs.stopping import BEST_STEP, Stopper
from genlab.runs.tracking import open_tracking


class Run(RunState):
    """A run that trains here: create with validated settings (errors raise ValueError before
    any thread starts), then `start()` queues it in the registry."""

    def __init__(self, *args: Any, **kwargs: Any):
        self._view: ViewState | None = None
        self._view_wanted = False
        self._evals: Evaluator | None = None  # evaluations beside training (see _train)
        self._rows_lock = threading.Lock()  # the worker and the evaluator both append rows
        self.method: Method | None = None
        super().__init__(*args, **kwargs)

    def launch(self, on_end: Callable[[Run], None] | None = None) -> None:
        """Start the worker thread (the registry calls this when a slot is free); `on_end(self)`
        is called once the run has ended, on every path out."""
        self._on_end = on_end or (lambda run: None)
        self.thread = threading.Thread(target=self._work, name=f"genlab-{self.id}", daemon=True)
        self.thread.start()

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

    def _eval_eta(self) -> float:
        """Seconds the evaluations add to the ETA: the run waits for the ones still queued and
        for the final one at its end (those beside training only share the cores: they are in
        the measured steps/s)."""
        each = self._evals.seconds_each() if self._evals is not None else None
        if each is None:
            return 0.0
        return each * (self._evals.pending() + (self._step < self.train.steps))

    # ----- the worker --------------------------------------------------------------------------
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
        self._publish_view(m)  # the live page's views draw the untrained model at once
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
        tensors = _cpu_copy(m)
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
        if kind_of(kind).keeps_view_weights:  # what the replay redraws the inside views from
            self.dir.save_view_weights(step, _cpu_copy(m))
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


def _cpu_copy(m: Method) -> dict[str, torch.Tensor]:
    """The weights as CPU tensors of their own (never sharing storage with the training ones)."""
    return {k: v.detach().to("cpu", copy=True) for k, v in m.state_dict().items()}
