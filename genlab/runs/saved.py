"""A saved run, read back from its folder: what the pages show of a run that no process drives.

`SavedRun` satisfies `runs.protocol.AnyRun` like a training run does; its controls raise
ValueError (a saved run is read-only: resume it to train it again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genlab.data import Dataset, load_dataset
from genlab.runs.history import MetricHistory
from genlab.runs.protocol import RunSnapshot, SampleSnapshot, ViewState
from genlab.runs.store import RunDir, RunStore


@dataclass
class SavedRun:
    """Metrics from metrics.jsonl, samples from samples/, settings and status from run.json."""

    id: str
    saved: dict[str, Any]  # run.json
    dir: RunDir
    history: MetricHistory
    snapshots: list[SampleSnapshot]

    in_process = False

    @property
    def name(self) -> str:
        return self.saved.get("name") or ""

    @property
    def method_name(self) -> str:
        return self.saved["method"]

    @property
    def dataset_name(self) -> str:
        return self.saved["dataset"]

    @property
    def data_file(self) -> str | None:
        return self.saved.get("data_file")

    @property
    def kind(self) -> str:
        return self.saved["spec"]["kind"]

    @property
    def status(self) -> str:
        return self.saved["status"]

    def info(self) -> dict[str, Any]:
        return dict(self.saved)

    def snapshot(self) -> RunSnapshot:
        i = self.saved
        return RunSnapshot(
            id=self.id,
            method=i["method"],
            dataset=i["dataset"],
            status=i["status"],
            step=int(i.get("step", 0)),
            steps=int(i.get("steps", 0)),
            steps_per_s=0.0,
            eta_s=None,
            elapsed_s=float(i.get("elapsed_s", 0.0)),
            last=i.get("last") or {},
            history_version=self.history.version,
            n_snapshots=len(self.snapshots),
            latest=self.snapshots[-1] if self.snapshots else None,
            error=i.get("error"),
            live_changes=i.get("live_changes", []),
            device=i.get("device", "cpu"),
            stop=i.get("stop"),
        )

    def real_data(self) -> Dataset | None:
        try:
            return load_dataset(
                self.saved["dataset"], self.data_file, self.saved.get("data_options") or None
            )
        except Exception:  # a deleted upload must not break the view of the run
            return None

    def view_state(self, wait: float = 0.0) -> ViewState | None:
        return None  # its weights are in its checkpoint (RunDir.has_checkpoint)

    # ----- controls: read-only ------------------------------------------------------------------
    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise ValueError(f"run {self.id} is saved, not training here: resume it to change it")

    pause = resume = step_n = stop = set_live = set_delay = rename = _read_only


def read_saved_run(store: RunStore, run_id: str) -> SavedRun | None:
    """The run folder `run_id` as a read-only SavedRun, or None when there is no such run."""
    try:
        d = store.run_dir(run_id)
    except ValueError:
        return None
    if not d.run_json.exists():
        return None
    info = d.read_info()
    history = MetricHistory()
    snaps = read_back(d, (info.get("spec") or {}).get("kind", ""), history)
    return SavedRun(run_id, info, d, history, snaps)


def read_back(
    d: RunDir, kind: str, history: MetricHistory, upto: int | None = None
) -> list[SampleSnapshot]:
    """A run folder's metrics rows into `history` and its sample snapshots, up to step `upto`:
    what a saved run shows and what a resumed run starts from."""
    for row in d.read_metrics():
        if upto is None or row["step"] <= upto:
            metrics = {k: v for k, v in row.items() if k not in ("step", "t")}
            history.append(row["step"], row.get("t", 0.0), metrics)
    return [
        SampleSnapshot(step, kind, RunDir.load_sample(path))
        for step, path in d.list_samples()
        if upto is None or step <= upto
    ]
