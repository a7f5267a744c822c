"""Every run as a `RunRow`, whether it is live in this process or only on disk: the list the Runs
and Compare pages start from.

A run is either live in this process (`genlab.runs.REGISTRY`: status, history and samples come from
memory) or only on disk (`RunStore`: run.json, metrics.jsonl, samples/). `collect_runs` merges the
two into one list of `RunRow`, memory first where both know a run, so a reader never has to care
where a run lives. A row's `hparams` is the short summary of the settings that differ from the
method's defaults for its data (`hparam_summary`). What the pages do with the rows (tables,
differences, series, actions, downloads) is in `genlab.runs.catalogue`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from genlab import params
from genlab.methods import METHODS
from genlab.runs.build import data_defaults
from genlab.runs.protocol import ENDED
from genlab.runs.registry import REGISTRY
from genlab.runs.run import Run
from genlab.runs.store import LIVE_STATES, RunDir, RunStore

# train-config fields that say how a run was trained (the cadences and device are bookkeeping)
KEY_TRAIN = ("batch_size", "seed")


@dataclass
class RunRow:
    """One run as the pages show it, whether it is live in memory or only on disk."""

    id: str
    method: str
    dataset: str
    kind: str
    status: str
    step: int
    steps: int
    elapsed_s: float
    created: float
    hparams: str
    last: dict[str, float]
    error: str | None
    dir: Path
    live: bool = False
    has_checkpoint: bool = False
    info: dict[str, Any] = field(default_factory=dict, repr=False)
    name: str = ""  # the user's name for the run ('' = none)

    @property
    def corrupt(self) -> bool:
        return self.status == "corrupt"

    @property
    def resumable(self) -> bool:
        return not self.live and self.status in ENDED and self.has_checkpoint

    @property
    def label(self) -> str:
        """A short name that never changes while the run trains: widgets (selectbox,
        multiselect) match the chosen option by its label, so a label with the live step in it
        would lose the user's choice at the next refresh."""
        if self.corrupt:
            return f"{self.id} (corrupt)"
        if self.name:
            return f"{self.name} · {self.id[-4:]}"
        when = time.strftime("%m-%d %H:%M", time.localtime(self.created)) if self.created else ""
        return f"{self.method} · {self.dataset} · {when} · {self.id[-4:]}"


# ----- hyperparameter summary ---------------------------------------------------------------
def fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def hparam_summary(
    method: str,
    method_config: dict[str, Any] | None,
    train_config: dict[str, Any] | None = None,
    spec: Any = None,
) -> str:
    """`key=value` for every method setting (and batch size / seed) that differs from its default,
    e.g. `loss=hinge, lr_d=0.0004, batch_size=64`; `defaults` when nothing differs. With the
    run's DataSpec (or its saved dict), the defaults are the method's for that data."""
    from types import SimpleNamespace

    cls = METHODS.get(method)
    if cls is None:
        return ""
    if isinstance(spec, dict):  # run.json's copy: the fields defaults_for reads
        spec = SimpleNamespace(**{"kind": "", "modes": (), **spec})
    m_def, t_def = data_defaults(method, spec)
    parts = []
    for p in params.describe(cls.Config):
        default = m_def.get(p.name, p.default)
        v = (method_config or {}).get(p.name, default)
        if v != default:
            parts.append(f"{p.name}={fmt_value(v)}")
    base = params.build(params.TrainConfig, {**cls.train_defaults, **t_def})
    for name in KEY_TRAIN:
        v = (train_config or {}).get(name, getattr(base, name))
        if v != getattr(base, name):
            parts.append(f"{name}={fmt_value(v)}")
    return ", ".join(parts) or "defaults"


# ----- rows ---------------------------------------------------------------------------------
def _row_from_run(run: Run) -> RunRow:
    snap = run.snapshot()
    cfg, train = params.to_dict(run.cfg), params.to_dict(run.train)
    live = snap.status in LIVE_STATES
    return RunRow(
        id=run.id,
        method=run.method_name,
        dataset=run.dataset_name,
        kind=run.data.spec.kind,
        status=snap.status,
        step=snap.step,
        steps=snap.steps,
        elapsed_s=snap.elapsed_s,
        created=run.created,
        hparams=hparam_summary(run.method_name, cfg, train, run.data.spec),
        last=dict(snap.last),
        error=snap.error,
        dir=run.dir.path,
        live=live,
        has_checkpoint=run.dir.has_checkpoint(),
        name=run.name,
        info={
            "method_config": cfg,
            "train_config": train,
            "spec": run.data.spec.to_dict(),
            "data_file": run.data_file,
            "data_options": run.data_options,
        },
    )


def _row_from_info(info: dict[str, Any]) -> RunRow:
    d = RunDir(info["dir"])
    status = info.get("status", "?")
    if status in LIVE_STATES:
        # disk says live but no thread of this process trains it: the server was killed
        status = "interrupted"
    spec = info.get("spec") or {}
    return RunRow(
        id=info["id"],
        method=info.get("method", "?"),
        dataset=info.get("dataset", "?"),
        kind=spec.get("kind", "?"),
        status=status,
        step=int(info.get("step", 0) or 0),
        steps=int(info.get("steps", 0) or 0),
        elapsed_s=float(info.get("elapsed_s", 0) or 0),
        created=float(info.get("created", 0) or 0),
        hparams=""
        if status == "corrupt"
        else hparam_summary(
            info.get("method", ""), info.get("method_config"), info.get("train_config"), spec
        ),
        last=dict(info.get("last") or {}),
        error=info.get("error"),
        dir=d.path,
        has_checkpoint=status != "corrupt" and d.has_checkpoint(),
        info=info,
        name=str(info.get("name") or ""),
    )


def collect_runs(store: RunStore | None = None) -> list[RunRow]:
    """Every run of `store`: the registry's (this process) and the disk's, newest first."""
    store = store or RunStore()
    rows: dict[str, RunRow] = {}
    for run in REGISTRY.runs():
        if run.dir.path.parent == store.home and run.dir.path.exists():
            rows[run.id] = _row_from_run(run)
    for info in store.list():
        if info["id"] not in rows:
            rows[info["id"]] = _row_from_info(info)
    return sorted(rows.values(), key=lambda r: r.created, reverse=True)


def row_of(run: Run | Path | str) -> RunRow:
    """One run as a row: a Run object (live or ended in this process) or a run folder."""
    if not isinstance(run, (str, Path)):  # a run object, not a folder
        return _row_from_run(run)
    d = RunDir(run)
    return _row_from_info({**d.read_info(), "dir": str(d.path)})


def find(rows: list[RunRow], run_id: str | None) -> RunRow | None:
    return next((r for r in rows if r.id == run_id), None)
