"""A run that trains in another process and is driven and watched from this one.

An ordinary genlab `Run` trains inside a host (`RunHost`) in another process: the same loop, the
same run folder (the run store must be a path that both processes share). In this process a
`RemoteRun` stands in for it: it is a `RunState` (the Train, Live, Runs and Compare pages take it
as one), whose controls go to the host and whose readers pull what is new from the host (history
rows after the steps already seen, sample snapshots after the ones already held) only when
something reads, at most every `poll_every_s` seconds, waiting at most `answer_wait_s` for it.

Two transports carry the calls: `runs/process_exec.py` (a child process of this one, through a
pipe) and `runs/ray_exec.py` (a Ray actor, on this machine or a cluster). A host that dies
mid-run (killed, node lost) leaves its run `interrupted` (in run.json too): it resumes from its
last checkpoint like any other, on any executor.
"""

from __future__ import annotations

import bisect
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import torch

from genlab.runs.protocol import SampleSnapshot, ViewState
from genlab.runs.run import Run
from genlab.runs.state import RunState
from genlab.runs.store import RunStore

POLL_EVERY_S = 0.5  # a reader pulls new rows and samples (and weights) at most this often
CALL_TIMEOUT_S = 10.0
LAST_WRITE_S = 1.0  # how long a killed host may still write its run folder


class RunHost:
    """Hosts one ordinary genlab Run in the process that trains it."""

    def __init__(self, home: str, info: dict[str, Any], executor: str):
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
        self.run.executor = executor

    def start(self, controls: dict[str, Any]) -> str:
        """Launch the run with the controls set while it waited (`RemoteRun._controls`). Only
        what was set: a host answers several calls at once, so a control sent just after this
        one may have been carried out already."""
        if controls["live"]:  # changes made before launch (resume with a lower lr)
            self.run.set_live(**controls["live"])
        if controls["delay"]:
            self.run.set_delay(controls["delay"])
        if controls["paused"]:
            self.run.pause()
        if controls["steps"] is not None:
            self.run.step_n(controls["steps"], controls["phases"])
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
            "eval_eta_s": self.run._eval_eta(),
            "stepping": self.run.stepping,
            "stop": snap.stop,
            "error": snap.error,
            "device": snap.device,
            "live_changes": snap.live_changes,
            "rows": rows,
            "snapshots": [(s.step, s.kind, s.payload) for s in self.run.snapshots[n_snapshots:]],
            "sweep": self.run.sweep,
        }


class RemoteRun(RunState):
    """A run that trains in a `RunHost` elsewhere: the same settings, control state and readers
    as a `Run` (both are a `RunState`); its controls are forwarded to the host and its readers
    pull what is new from it.

    Validation (and the run folder, with run.json) happen here, before anything reaches the host.
    A transport says how to reach the host: `_open_host(info)`, `_send(name, *args) -> ref`,
    `_ready(ref, timeout)`, `_result(ref, timeout)` and `_close_host()`."""

    lost_message = "the run's process was lost"
    answer_wait_s = 0.0  # how long a reader may wait for the host's answer to a fresh poll
    poll_every_s = POLL_EVERY_S  # rows and samples (the weights: POLL_EVERY_S)

    def __init__(self, *args: Any, **kwargs: Any):
        self._host: Any = None
        self._since: dict[str, int] = {}
        self._polled = 0.0
        self._pending: Any = None  # the poll in flight
        self._poll_lock = threading.Lock()
        self._view_lock = threading.Lock()
        self._view_cache: tuple[float, ViewState | None] = (0.0, None)
        self._elapsed_remote = 0.0
        self._eval_eta_remote = 0.0
        super().__init__(*args, **kwargs)
        self._elapsed_remote = self._elapsed_before

    # ----- the transport -----------------------------------------------------------------------
    def _open_host(self, info: dict[str, Any]) -> None:
        raise NotImplementedError

    def _send(self, name: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def _ready(self, ref: Any, timeout: float) -> bool:
        raise NotImplementedError

    def _result(self, ref: Any, timeout: float) -> Any:
        raise NotImplementedError

    def _close_host(self) -> None:
        raise NotImplementedError

    # ----- launch and watch --------------------------------------------------------------------
    def launch(self, on_end: Callable[[RunState], None] | None = None) -> None:
        self._on_end = on_end or (lambda run: None)
        with self._lock:
            stop_early = self._stop
        if stop_early:
            self._end_unstarted()
            return
        info = self.info()
        info["status"] = "queued"
        self._open_host(info)
        self._send("start", self._controls())
        self.thread = threading.Thread(
            target=self._watch, name=f"genlab-{self.executor}-{self.id}", daemon=True
        )
        self.thread.start()

    def _controls(self) -> dict[str, Any]:
        """What was set while the run was queued (paused, Step N, slow motion, live changes):
        the host applies it before its first step."""
        with self._lock:
            live, self._pending_live = self._pending_live, {}
            steps = None if self._pause_at is None else max(1, self._pause_at - self._step)
            return {
                "live": live,
                "delay": self._delay,
                "paused": self._paused,
                "steps": steps,
                "phases": self._phases,
            }

    def _end_unstarted(self) -> None:
        self._set_status("stopped")
        self._ended.set()
        self._on_end(self)

    def _watch(self) -> None:
        """Wait for the host's run to end; a dead host means the run was interrupted."""
        try:
            while not self._result(self._send("wait", 2.0), None):
                pass
            self._refresh(force=True)
            # the weights as they ended, for the live view's model panels once the host is gone
            try:
                view = self._result(self._send("view_state"), CALL_TIMEOUT_S)
                self._view_cache = (time.monotonic(), view)
            except Exception:  # the run has ended well; only the model panels lose their copy
                pass
            self._close_host()  # frees its CPU (and GPU) at once
        except Exception as e:  # the host died, or the connection to it went away
            self._interrupted(
                f"{self.lost_message}: {type(e).__name__}: "
                f"{str(e).splitlines()[0] if str(e) else ''}"
            )
            try:  # a host that is still there (a call failed, not the host) must not linger
                self._close_host()
            except Exception:
                pass
        finally:
            self._ended.set()
            self._on_end(self)

    def _interrupted(self, message: str) -> None:
        with self._lock:
            self._status = "interrupted"
            self._error = message
            self._steps_per_s = 0.0
        # a host that is being killed may still write run.json as it goes (a Ray actor's process
        # outlives the moment Ray reports it dead): the state is written again if it did
        for _ in range(2):
            try:
                info = self.dir.read_info()  # what the host last wrote (step, last metrics)
            except ValueError:
                info = self.info()
            if info.get("status") == "interrupted":
                break
            info.update(status="interrupted", error=message, executor=self.executor)
            self.dir.write_info(info)
            time.sleep(LAST_WRITE_S)

    # ----- pulling state from the host ---------------------------------------------------------
    def _refresh(self, force: bool = False) -> None:
        """Apply the host's answer to the last poll and send the next one. A reader waits for the
        host at most `answer_wait_s` (none for Ray: an actor still queued for resources answers
        late, and then the reader sees the state of the previous poll, at most `poll_every_s`
        plus one round trip old). `force` waits."""
        if self._host is None or (self._ended.is_set() and not force):
            return
        # one reader refreshes at a time; the others (other viewers' scripts) go on with the
        # state as it is rather than queue behind it
        if not self._poll_lock.acquire(blocking=force):
            return
        try:
            now = time.monotonic()
            if not force and now - self._polled < self.poll_every_s:
                return
            self._polled = now
            try:
                wait = CALL_TIMEOUT_S if force else self.answer_wait_s
                if self._pending is not None:  # the last poll: applied once answered
                    if not self._ready(self._pending, CALL_TIMEOUT_S if force else 0.0):
                        return
                    ref, self._pending = self._pending, None
                    self._apply(self._result(ref, 0.0))
                # the next poll: answered by the next read, or (forced, or where the host
                # answers at once) now
                self._pending = self._send("poll", dict(self._since), len(self._snapshots))
                if wait > 0 and self._ready(self._pending, wait):
                    ref, self._pending = self._pending, None
                    self._apply(self._result(ref, 0.0))
            except Exception:  # a dead host is the watcher's to report
                self._pending = None
        finally:
            self._poll_lock.release()

    def _refresh_now(self) -> None:
        self._refresh(force=True)

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
            self._eval_eta_remote = d["eval_eta_s"]
            if not d["stepping"]:
                self._pause_at = None
            self.stop_info = d["stop"]
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

    def _eval_eta(self) -> float:
        return self._eval_eta_remote

    def snapshot(self) -> Any:
        self._refresh()
        return super().snapshot()

    def view_state(self, wait: float = 0.0) -> ViewState | None:
        """The host's latest copy of the weights (fetched at most every POLL_EVERY_S)."""
        if self._host is None or self._ended.is_set():
            return self._view_cache[1]
        t, cached = self._view_cache
        # one reader fetches at a time; the others take the copy held (as the history's readers)
        if time.monotonic() - t < POLL_EVERY_S or not self._view_lock.acquire(blocking=False):
            return cached
        try:
            view = self._result(self._send("view_state", wait), CALL_TIMEOUT_S + wait)
        except Exception:
            view = cached
        finally:
            self._view_lock.release()
        self._view_cache = (time.monotonic(), view)
        return view

    # ----- controls: validated here, carried out by the host -----------------------------------
    def _call(self, name: str, *args: Any, **kwargs: Any) -> None:
        if self._host is None or self._ended.is_set():
            return
        try:
            self._send("control", name, *args, **kwargs)
        except Exception:  # the host is gone: the watcher marks the run interrupted
            return
        self._polled = 0.0  # the next read shows the effect

    # each control is also recorded here: a queued run (no host yet) passes it on at launch
    def pause(self) -> None:
        super().pause()
        self._call("pause")

    def resume(self) -> None:
        super().resume()
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
        if self._host is None:
            super().stop()  # not launched yet: launch sees the flag (a queued run ends now)
            return
        with self._lock:
            self._stop = True
        self._call("stop")
