"""The `process` executor: a run trained in a child process of this one, driven and watched here.

Why: in the app, every viewer of a live page runs a page script in a thread of the server, and
Python threads take turns on one interpreter lock. With the run training in the server too, 16
viewers left it 0.32 of its headless speed (py-spy: the script threads held the lock 11 times as
often as the training loop; bench/RESULTS.md, "Session 10"). In a process of its own the loop has
its own interpreter.

The child is forked from a forkserver that has already imported torch and genlab (`warm()`, which
the app calls when it starts), so a run starts in tens of milliseconds, not the seconds an import
of torch takes. It hosts an ordinary `Run` (`runs.remote.RunHost`) in the same run folder and
answers calls from a pipe; `ProcessRun` (a `runs.remote.RemoteRun`) stands in for it here. Calls
and answers are pickled by value (tensors too: no shared memory to leak). A child that dies leaves
its run `interrupted`; one whose parent dies (the pipe closes) stops its run, which checkpoints.
"""

from __future__ import annotations

import itertools
import multiprocessing
import pickle
import signal
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.connection import Connection
from typing import Any

from genlab.data.base import keep_loaded
from genlab.runs.remote import RemoteRun, RunHost

# imported once by the forkserver, so that every child starts with them in memory. "__main__": the
# main script (streamlit's, pytest's, the CLI's) is imported there once, not again in each child
# (a script that starts runs on this executor needs the `if __name__ == "__main__":` guard, as
# for any multiprocessing start method but fork). torch._dynamo: the first optimiser of a
# process imports it, 1-4 s (see ui.common.warm_torch).
PRELOAD = [
    "__main__",
    "torch",
    "torch._dynamo",
    "genlab.runs.process_exec",
    "genlab.methods",
    "genlab.metrics",
]
CALLS_AT_ONCE = 4  # a host answers this many calls at once (the watcher's `wait` blocks one)
CLOSE_TIMEOUT_S = 10.0

_context_lock = threading.Lock()
_context: Any = None


def context() -> Any:
    """The multiprocessing context for run processes: a forkserver with torch and genlab
    preloaded where the platform has one (Linux, macOS), else spawn (Windows)."""
    global _context
    with _context_lock:
        if _context is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(PRELOAD)
            else:
                ctx = multiprocessing.get_context("spawn")
            _context = ctx
        return _context


def warm() -> None:
    """Start the forkserver now and wait until it is ready (it imports torch and genlab once,
    2-4 s on a small CPU), so that the first Start does not wait for it."""
    ctx = context()
    if ctx.get_start_method() == "forkserver":
        probe = ctx.Process(target=_ready, name="genlab-warm")
        probe.start()
        probe.join()


def _ready() -> None:
    """A child that does nothing: forking it shows that the forkserver has loaded PRELOAD."""


def _send(conn: Connection, lock: threading.Lock, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    with lock:
        conn.send_bytes(data)


def _serve(conn: Connection, home: str, info: dict[str, Any], data: bytes | None) -> None:
    """The child: host the run and answer calls `(id, name, args, kwargs)` with
    `(id, ok, value)` until the parent sends None or goes away. `data`: the pickled dataset
    the parent has loaded (None: load it here)."""
    # Ctrl-C in the terminal reaches the whole process group: the server decides, and stops
    # this run through the pipe (it checkpoints), rather than the child dying mid-step
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lock = threading.Lock()
    try:
        if data is not None:
            dataset = pickle.loads(data)
            keep_loaded(dataset, info["dataset"], info["data_file"], info["data_options"])
        host = RunHost(home, info, "process")
    except Exception as e:  # e.g. the data no longer loads: the parent reports it
        _send(conn, lock, (0, False, f"{type(e).__name__}: {e}"))
        return
    pool = ThreadPoolExecutor(CALLS_AT_ONCE, thread_name_prefix="genlab-host")

    def answer(call_id: int, name: str, args: tuple, kwargs: dict) -> None:
        try:
            ok, value = True, getattr(host, name)(*args, **kwargs)
        except Exception as e:
            ok, value = False, f"{type(e).__name__}: {e}"
        try:
            _send(conn, lock, (call_id, ok, value))
        except OSError:  # the parent has gone
            pass

    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            break
        if message is None:
            break
        pool.submit(answer, *message)
    host.run.stop()  # a no-op once it has ended; otherwise it checkpoints where it got to
    host.run.join(CLOSE_TIMEOUT_S)
    pool.shutdown(wait=False, cancel_futures=True)


class _Child:
    """This side of one run process: calls return Futures, a reader thread settles them."""

    def __init__(self, home: str, info: dict[str, Any], data: bytes | None = None):
        ctx = context()
        here, there = ctx.Pipe()
        self.process = ctx.Process(
            target=_serve,
            args=(there, home, info, data),
            name=f"genlab-run-{info['id']}",
            daemon=True,
        )
        self.process.start()
        there.close()
        self.conn = here
        self._ids = itertools.count(1)
        self._futures: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._lost: str | None = None
        threading.Thread(target=self._read, name=f"genlab-pipe-{info['id']}", daemon=True).start()

    def call(self, name: str, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        with self._lock:
            if self._lost is not None:
                future.set_exception(RuntimeError(self._lost))
                return future
            call_id = next(self._ids)
            self._futures[call_id] = future
        try:
            _send(self.conn, self._send_lock, (call_id, name, args, kwargs))
        except OSError as e:
            with self._lock:
                self._futures.pop(call_id, None)
            future.set_exception(RuntimeError(f"the run's process is gone ({e})"))
        return future

    def _read(self) -> None:
        first_error = None
        while True:
            try:
                call_id, ok, value = pickle.loads(self.conn.recv_bytes())
            except (EOFError, OSError):
                break
            if call_id == 0:  # the host could not be made
                first_error = value
                continue
            with self._lock:
                future = self._futures.pop(call_id, None)
            if future is not None:
                future.set_result(value) if ok else future.set_exception(RuntimeError(value))
        self.process.join(1.0)
        why = first_error or f"it ended with exit code {self.process.exitcode}"
        with self._lock:
            self._lost = f"the run's process ended: {why}"
            pending, self._futures = list(self._futures.values()), {}
        for future in pending:
            future.set_exception(RuntimeError(self._lost))

    def close(self) -> None:
        """Ask the child to exit (it stops its run first), then make sure it has."""
        try:
            _send(self.conn, self._send_lock, None)
        except OSError:
            pass
        self.process.join(CLOSE_TIMEOUT_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)
        self.conn.close()

    def kill(self) -> None:
        """End the child at once (tests: a run whose process dies mid-run)."""
        self.process.kill()


class ProcessRun(RemoteRun):
    """A run that trains in a child process of this one (a `RemoteRun` whose transport is a
    pipe). It trains on this machine, so it counts against the registry's cap like a `Run`."""

    executor = "process"
    takes_slot = True
    answer_wait_s = 0.1  # a pipe round trip takes about a millisecond: readers see fresh state
    poll_every_s = 0.2  # so the live page's step counter (every 0.4 s) changes at each redraw

    def _open_host(self, info: dict[str, Any]) -> None:
        # the data loaded here goes along (an image set loads in seconds, unpickles in tens of
        # milliseconds): Start to the first chart is not held up by a second load
        try:
            data = pickle.dumps(self.data, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # something in it does not pickle: the child loads it again
            data = None
        self._host = _Child(str(self.store.home), info, data)

    def _send(self, name: str, *args: Any, **kwargs: Any) -> Future:
        return self._host.call(name, *args, **kwargs)

    def _ready(self, ref: Future, timeout: float) -> bool:
        if timeout <= 0:
            return ref.done()
        try:
            ref.exception(timeout)
        except FutureTimeout:
            return False
        return True

    def _result(self, ref: Future, timeout: float | None) -> Any:
        return ref.result(timeout)

    def _close_host(self) -> None:
        self._host.close()
