"""Run sinks: what a run writes besides its own folder (TensorBoard, MLflow, the model card).

The run loop calls one object, a `Tracking`, at the points where it already flushes metric rows,
saves a sample snapshot, applies a live knob change and ends. `Tracking` only puts the event on a
queue: a thread of its own hands it to every `RunSink`, so rendering a scatter plot or a slow or
unreachable tracking server never holds up a training step. A sink that raises is dropped for the
rest of the run; its message is printed once and kept in run.json (`tracking`), and the run
trains on. The run folder stays the source of truth: `export_tensorboard` replays a saved run
through the same TensorBoard sink.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import struct
import sys
import threading
import time
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from genlab.data import load_dataset
from genlab.kinds import kind_of
from genlab.runs.card import CARD_STATES, write_model_card
from genlab.runs.store import RunDir, genlab_home

TENSORBOARD_HINT = "pip install tensorboard"
MLFLOW_HINT = "pip install -r requirements-mlflow.txt"
END_WAIT_S = 20.0  # at the end, how long the run waits for the sinks to finish writing
EVENTS_GLOB = "events.out.tfevents.*"


class RunSink(Protocol):
    """One destination of a run's events. Every method runs in the tracking thread."""

    name: str

    def on_start(self, info: dict[str, Any]) -> None: ...

    def on_metrics(self, rows: list[dict[str, Any]]) -> None: ...

    def on_snapshot(self, step: int, kind: str, payload: Any) -> None: ...

    def on_live_change(self, step: int, changes: dict[str, Any]) -> None: ...

    def on_end(self, info: dict[str, Any]) -> None: ...

    def describe(self) -> dict[str, Any]: ...


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def hparam_values(info: dict[str, Any]) -> dict[str, Any]:
    """The run's settings as flat name -> scalar (method and training config, method, dataset)."""
    out: dict[str, Any] = {"method": info["method"], "dataset": info["dataset"]}
    for key in ("train_config", "method_config"):
        for k, v in (info.get(key) or {}).items():
            out[k] = v if isinstance(v, (int, float, str, bool)) else str(v)
    return out


def metric_rows(rows: list[dict[str, Any]]):
    """(step, t, key, value) of every metric value in metrics.jsonl-style rows."""
    for r in rows:
        for k, v in r.items():
            if k not in ("step", "t") and isinstance(v, (int, float)):
                yield int(r["step"]), float(r.get("t", 0.0)), k, float(v)


def reference_data(kind: str, data: Any) -> np.ndarray | None:
    """Real items the snapshots are drawn over (the live page's grey layer), or None."""
    return kind_of(kind).reference(data)


# ----- TensorBoard --------------------------------------------------------------------------
def _png_image_summary(tag: str, png: bytes):
    """An image summary that carries the PNG bytes as they are (no decode and re-encode)."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    # IHDR: width and height at bytes 16-24, colour type at byte 25 (0 grey, 2 RGB, 6 RGBA)
    width, height = struct.unpack(">II", png[16:24])
    colorspace = {0: 1, 2: 3, 4: 2, 6: 4}.get(png[25], 3)
    image = Summary.Image(
        height=height, width=width, colorspace=colorspace, encoded_image_string=png
    )
    return Summary(value=[Summary.Value(tag=tag, image=image)])


class TensorBoardSink:
    """Event files in `logdir` (the run folder): every metric key as a scalar at its step, the
    sample snapshots as images (text as text), the live knob changes as text, and the settings
    with the final metrics as TensorBoard's hparams summaries at the end."""

    name = "tensorboard"

    def __init__(
        self,
        logdir: Path,
        real: np.ndarray | None = None,
        purge_step: int | None = None,
        t0: float | None = None,
    ):
        self.logdir, self.real, self.purge_step = Path(logdir), real, purge_step
        self.t0 = t0  # replaying a saved run: wall time = created + the row's t
        self.writer = None
        self.last_value: dict[str, float] = {}  # key -> its newest value (the final metrics)

    def on_start(self, info: dict[str, Any]) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # purge_step: a resumed run drops what an earlier session logged past its checkpoint
        self.writer = SummaryWriter(str(self.logdir), purge_step=self.purge_step, flush_secs=10)

    def _walltime(self, t: float) -> float | None:
        return None if self.t0 is None else self.t0 + t

    def on_metrics(self, rows: list[dict[str, Any]]) -> None:
        for step, t, key, value in metric_rows(rows):
            self.writer.add_scalar(key, value, step, walltime=self._walltime(t))
            self.last_value[key] = value

    def on_snapshot(self, step: int, kind: str, payload: Any) -> None:
        lines = kind_of(kind).lines(payload)
        if lines is not None:
            # indented lines: a Markdown code block, so TensorBoard keeps one sample per line
            shown = "\n".join("    " + (s or "(empty)") for s in lines)
            self.writer.add_text("samples", shown, step)
            return
        summary = _png_image_summary("samples", kind_of(kind).png(payload, self.real))
        self.writer.file_writer.add_summary(summary, step)

    def on_live_change(self, step: int, changes: dict[str, Any]) -> None:
        text = ", ".join(f"{k} = {v}" for k, v in changes.items())
        self.writer.add_text("live_changes", text, step)

    def on_end(self, info: dict[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams

        step = int(info.get("step", 0))
        # What SummaryWriter.add_hparams writes, in this run's own event file rather than a
        # sub-folder: TensorBoard's HParams tab then shows one row per run folder, with the final
        # value of each metric read from the scalars already logged (add_hparams would log a
        # second copy of each at the last step).
        for summary in hparams(hparam_values(info), dict(self.last_value)):
            self.writer.file_writer.add_summary(summary, step)
        self.writer.close()

    def describe(self) -> dict[str, Any]:
        return {"logdir": str(self.logdir)}


# ----- MLflow -------------------------------------------------------------------------------
_MLFLOW_LOCK = threading.Lock()  # creating the SQLite store (migrations) once at a time
MLFLOW_STATUS = {"done": "FINISHED", "failed": "FAILED"}  # stopped, interrupted: KILLED


def mlflow_uri(home: Path | None = None) -> str:
    """MLFLOW_TRACKING_URI, else a SQLite store in $GENLAB_HOME/.mlflow (hidden from the run
    list: the store skips folders that start with a dot)."""
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    if uri:
        return uri
    root = (home or genlab_home()) / ".mlflow"
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{root / 'mlflow.db'}"


class MlflowSink:
    """Params, metrics at their steps and the sample images of one run, through `MlflowClient`
    with an explicit run id (mlflow's fluent API keeps one active run per process and is not
    safe with runs training in threads)."""

    name = "mlflow"

    def __init__(self, home: Path, real: np.ndarray | None = None):
        self.home, self.real = home, real
        self.uri = mlflow_uri(home)
        self.client = None
        self.run_id: str | None = None
        self.experiment_id: str | None = None

    def on_start(self, info: dict[str, Any]) -> None:
        from mlflow import MlflowClient
        from mlflow.entities import Param

        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "").strip() or "genlab"
        with _MLFLOW_LOCK:
            self.client = MlflowClient(tracking_uri=self.uri)
            exp = self.client.get_experiment_by_name(name)
            if exp is not None:
                self.experiment_id = exp.experiment_id
            else:
                # the default SQLite store keeps its artifacts beside it, not in ./mlruns
                local = self.uri.startswith("sqlite:") and "MLFLOW_TRACKING_URI" not in os.environ
                where = (self.home / ".mlflow" / "artifacts").as_uri() if local else None
                self.experiment_id = self.client.create_experiment(name, artifact_location=where)
        run = self.client.create_run(
            self.experiment_id,
            run_name=info["id"],
            tags={
                "genlab.run_id": info["id"],
                "genlab.run_dir": str(info.get("dir", "")),
                "genlab.method": info["method"],
                "genlab.dataset": info["dataset"],
            },
        )
        self.run_id = run.info.run_id
        params = [Param(k, str(v)) for k, v in hparam_values(info).items()]
        self.client.log_batch(self.run_id, params=params)

    def on_metrics(self, rows: list[dict[str, Any]]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(k, v, now, step) for step, _, k, v in metric_rows(rows)]
        for i in range(0, len(metrics), 1000):  # log_batch takes at most 1000 metrics
            self.client.log_batch(self.run_id, metrics=metrics[i : i + 1000])

    def on_snapshot(self, step: int, kind: str, payload: Any) -> None:
        import io

        from PIL import Image

        stem = f"samples/step_{step:08d}"
        lines = kind_of(kind).lines(payload)
        if lines is not None:
            self.client.log_text(self.run_id, "\n".join(lines) + "\n", f"{stem}.txt")
            return
        image = Image.open(io.BytesIO(kind_of(kind).png(payload, self.real)))
        self.client.log_image(self.run_id, image, artifact_file=f"{stem}.png")

    def on_live_change(self, step: int, changes: dict[str, Any]) -> None:
        text = "".join(f"{k} = {v}\n" for k, v in changes.items())
        self.client.log_text(self.run_id, text, f"live_changes/step_{step:08d}.txt")

    def on_end(self, info: dict[str, Any]) -> None:
        card = Path(info.get("dir", "")) / "README.md"
        if card.is_file():
            self.client.log_artifact(self.run_id, str(card))
        status = MLFLOW_STATUS.get(info.get("status", ""), "KILLED")
        self.client.set_terminated(self.run_id, status=status)

    def describe(self) -> dict[str, Any]:
        return {"uri": self.uri, "experiment_id": self.experiment_id, "run_id": self.run_id}


# ----- the model card -----------------------------------------------------------------------
class ModelCardSink:
    """README.md (Hugging Face model-card style) in the run folder when the run ends."""

    name = "card"

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.path: Path | None = None

    def on_start(self, info: dict[str, Any]) -> None:
        pass

    def on_metrics(self, rows: list[dict[str, Any]]) -> None:
        pass

    def on_snapshot(self, step: int, kind: str, payload: Any) -> None:
        pass

    def on_live_change(self, step: int, changes: dict[str, Any]) -> None:
        pass

    def on_end(self, info: dict[str, Any]) -> None:
        # imported when a run ends: the card reads the metric catalogue, which the loop's
        # import of genlab.runs does not need

        if info.get("status") in CARD_STATES:
            self.path = write_model_card(self.run_dir, info)

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path) if self.path else None}


# ----- the dispatcher -----------------------------------------------------------------------
class Tracking:
    """The run loop's one handle on its sinks: every call queues the event and returns."""

    def __init__(self, sinks: list[RunSink], notes: dict[str, Any] | None = None):
        self.sinks = list(sinks)
        self.notes: dict[str, Any] = dict(notes or {})  # sinks left out, and why
        self.errors: dict[str, str] = {}
        self.failed: list[RunSink] = []  # dropped after an error (still described in status)
        self._queue: queue.Queue = queue.Queue()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, info: dict[str, Any]) -> Tracking:
        if not self.sinks:
            self._done.set()
            return self
        self._queue.put(("on_start", (info,)))
        self._thread = threading.Thread(target=self._drain, name="genlab-tracking", daemon=True)
        self._thread.start()
        return self

    # the RunSink calls, from the worker
    def on_metrics(self, rows: list[dict[str, Any]]) -> None:
        if self.sinks and rows:
            self._queue.put(("on_metrics", (list(rows),)))

    def on_snapshot(self, step: int, kind: str, payload: Any) -> None:
        if self.sinks:
            self._queue.put(("on_snapshot", (step, kind, payload)))

    def on_live_change(self, step: int, changes: dict[str, Any]) -> None:
        if self.sinks and changes:
            self._queue.put(("on_live_change", (step, dict(changes))))

    def on_end(self, info: dict[str, Any], wait: float = END_WAIT_S) -> None:
        """Queue the end and wait (at most `wait` seconds) for the sinks to finish."""
        if self._thread is None:
            return
        self._queue.put(("on_end", (info,)))
        self._queue.put(None)
        if not self._done.wait(wait):
            busy = ", ".join(s.name for s in self.sinks)
            self._fail_once("tracking", f"still writing after {wait:.0f}s at the end ({busy})")

    def _drain(self) -> None:
        try:
            while (item := self._queue.get()) is not None:
                name, args = item
                for sink in list(self.sinks):
                    try:
                        getattr(sink, name)(*args)
                    except Exception as e:  # a tracking failure must never fail the run
                        self.sinks.remove(sink)
                        self.failed.append(sink)
                        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                        self._fail_once(sink.name, f"{type(e).__name__}: {first}"[:500])
        finally:
            self._done.set()

    def _fail_once(self, name: str, message: str) -> None:
        if name not in self.errors:
            self.errors[name] = message
            print(f"genlab: {name} logging failed, the run trains on: {message}", file=sys.stderr)

    def status(self) -> dict[str, Any]:
        """For run.json: where each sink writes, the sinks left out, and the failures."""
        out: dict[str, Any] = dict(self.notes)
        for s in self.sinks + self.failed:
            out[s.name] = s.describe()
        for name, message in self.errors.items():
            out[name] = {**(out.get(name) or {}), "error": message}
        return out


NULL = Tracking([])  # before a run trains (and for runs that never do)


def open_tracking(run: Any) -> Tracking:
    """The sinks that a run's training settings ask for, started with its info; called by the
    worker when training starts (a resumed run purges TensorBoard events after its step)."""
    train, kind = run.train, run.data.spec.kind
    real = reference_data(kind, run.data)
    sinks: list[RunSink] = []
    notes: dict[str, Any] = {}
    if train.tensorboard == "on":
        if installed("tensorboard"):
            # a resumed run continues after its checkpoint's step: what an earlier session
            # logged past it (a run killed between checkpoints) is dropped from the view
            start = run.snapshot().step
            sinks.append(
                TensorBoardSink(run.dir.path, real, purge_step=start + 1 if start else None)
            )
        else:
            notes["tensorboard"] = {"skipped": f"tensorboard is not installed: {TENSORBOARD_HINT}"}
    sinks.append(ModelCardSink(run.dir.path))
    if train.tracking == "mlflow":
        sinks.append(MlflowSink(run.store.home, real))
    return Tracking(sinks, notes).start({**run.info(), "dir": str(run.dir.path)})


# ----- export -------------------------------------------------------------------------------
def export_tensorboard(run_dir: Path | str, out: Path | str | None = None, force=False) -> Path:
    """Write the TensorBoard event files of a saved run (one trained with tensorboard=off, or
    in another tool's folder): into the run folder by default, else into OUT/<run id>. Returns
    the folder written. Refuses a folder that already has event files unless `force`."""
    if not installed("tensorboard"):
        raise ValueError(f"--tensorboard needs the tensorboard package: {TENSORBOARD_HINT}")
    d = RunDir(run_dir)
    info = d.read_info()
    logdir = d.path if out is None else Path(out) / info["id"]
    old = sorted(logdir.glob(EVENTS_GLOB)) if logdir.exists() else []
    if old and not force:
        raise ValueError(f"{logdir} already has TensorBoard event files (--force rewrites them)")
    for p in old:
        p.unlink()
    kind = (info.get("spec") or {}).get("kind", "")
    try:
        data = load_dataset(info["dataset"], info.get("data_file"), info.get("data_options"))
    except (ValueError, OSError):  # a deleted upload: the snapshots are drawn alone
        data = None
    sink = TensorBoardSink(logdir, reference_data(kind, data), t0=float(info.get("created", 0)))
    sink.on_start(info)
    sink.on_metrics(d.read_metrics())
    for step, path in d.list_samples():
        sink.on_snapshot(step, kind, RunDir.load_sample(path))
    by_step: dict[int, dict[str, Any]] = {}
    for c in info.get("live_changes", []):
        by_step.setdefault(int(c["step"]), {})[c["key"]] = c["value"]
    for step, changes in sorted(by_step.items()):
        sink.on_live_change(step, changes)
    sink.on_end(info)
    return logdir
