"""Shared Streamlit helpers: start-up, the sidebar, run lookup, the catalogue, session state.

Pages call these; nothing here trains. The worker threads never call `st.*`: they publish to a
lock-protected run state that the live fragments read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from genlab import params
from genlab.data import DATASETS, Dataset, load_dataset
from genlab.methods import METHODS
from genlab.runs import ENDED, REGISTRY, Run, RunDir, RunSnapshot, RunStore, genlab_home
from genlab.runs.history import MetricHistory
from genlab.runs.run import SampleSnapshot

# The pages, by the url_path that st.navigation gives them (app.py declares them).
PAGE_FILES = {
    "train": "pages/train.py",
    "live": "pages/live.py",
    "runs": "pages/runs.py",
    "compare": "pages/compare.py",
    "generate": "pages/generate.py",
}
SIDEBAR_EVERY_S = 2.0


# ----- start-up --------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _mark_interrupted_once(home: str) -> list[str]:
    from genlab.runs.registry import mark_interrupted

    return mark_interrupted(RunStore(home))


def startup() -> None:
    """Once per process (and run home): runs that a killed server left `running` on disk are
    marked `interrupted`, so they show as resumable instead of forever live."""
    _mark_interrupted_once(str(genlab_home()))


@st.cache_resource(show_spinner=False)
def device_label() -> str:
    import torch

    from genlab.runs import resolve_device

    dev = resolve_device("auto")
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    if dev.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(dev)


def sidebar() -> None:
    """Shared sidebar: the device in use and the live runs (a small polling fragment)."""
    with st.sidebar:
        st.caption(f"Device: **{device_label()}**")
        _live_runs()


@st.fragment(run_every=SIDEBAR_EVERY_S)
def _live_runs() -> None:
    live = REGISTRY.live()
    st.caption(f"Live runs: **{len(live)}**")
    for run in live[:5]:
        snap = run.snapshot()
        st.page_link(
            PAGE_FILES["live"],
            label=f"{snap.method} · {snap.dataset} · {snap.status}",
            query_params={"run": run.id},
            icon=":material/monitoring:",
        )


# ----- catalogue -------------------------------------------------------------------------------
def dataset_label(name: str) -> str:
    info = DATASETS[name]
    return f"{info.label} · {info.kind}"


def method_label(name: str) -> str:
    return METHODS[name].label


def load_data(
    name: str, data_file: str | None = None, options: dict[str, Any] | None = None
) -> Dataset:
    """A dataset, loaded once per process (genlab.data caches it); errors are ValueErrors."""
    with st.spinner(f"Loading {DATASETS[name].label}..."):
        return load_dataset(name, data_file, options or None)


def compatible_methods(kind: str, spec=None) -> list[str]:
    """Methods that can train on this data: by kind, and by labels once the data is known."""
    out = []
    for name, cls in METHODS.items():
        ok = cls.supports_data(spec) if spec is not None else kind in cls.supports
        if ok:
            out.append(name)
    return out


def param_index() -> dict[str, params.Param]:
    return {p.name: p for p in params.describe(params.TrainConfig)}


# ----- runs: live in this process, or read back from disk --------------------------------------
@dataclass
class DiskRun:
    """A saved run shown read-only: metrics from metrics.jsonl, samples from samples/."""

    id: str
    info: dict[str, Any]
    dir: RunDir
    history: MetricHistory
    snapshots: list[SampleSnapshot]

    @property
    def method_name(self) -> str:
        return self.info["method"]

    @property
    def dataset_name(self) -> str:
        return self.info["dataset"]

    @property
    def live(self) -> bool:
        return False

    def snapshot(self) -> RunSnapshot:
        i = self.info
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
        )

    def real_data(self) -> Dataset | None:
        try:
            return load_dataset(
                self.info["dataset"],
                self.info.get("data_file"),
                self.info.get("data_options") or None,
            )
        except Exception:  # a deleted upload must not break the view of the run
            return None


def read_disk_run(store: RunStore, run_id: str) -> DiskRun | None:
    """The run folder `run_id` as a read-only DiskRun, or None when there is no such run."""
    try:
        d = store.run_dir(run_id)
    except ValueError:
        return None
    if not d.run_json.exists():
        return None
    info = d.read_info()
    history = MetricHistory()
    for row in d.read_metrics():
        history.append(
            row["step"], row.get("t", 0.0), {k: v for k, v in row.items() if k not in ("step", "t")}
        )
    kind = (info.get("spec") or {}).get("kind", "")
    snaps = [
        SampleSnapshot(step, kind, RunDir.load_sample(path)) for step, path in d.list_samples()
    ]
    return DiskRun(run_id, info, d, history, snaps)


def find_run(run_id: str) -> Run | DiskRun | None:
    """The live Run object when this process trains (or trained) it, else the saved run."""
    run = REGISTRY.get(run_id)
    if run is not None:
        return run
    try:
        return read_disk_run(RunStore(), run_id)
    except ValueError as e:
        st.error(f"Run {run_id} cannot be read: {e}")
        return None


def real_data(run: Run | DiskRun) -> Dataset | None:
    return run.data if isinstance(run, Run) else run.real_data()


def is_live(status: str) -> bool:
    return status not in ENDED


def resume_run(run_id: str, steps: int | None = None) -> Run:
    """Continue a saved run from its last checkpoint, in the same folder (ValueError if it
    cannot)."""
    store = RunStore()
    path = Path(store.run_dir(run_id).path)
    return Run.from_dir(path, steps=steps, store=store).start()


# ----- session state ---------------------------------------------------------------------------
def state(key: str, default: Any) -> Any:
    """st.session_state[key], set to `default` the first time."""
    if key not in st.session_state:
        st.session_state[key] = default
    return st.session_state[key]


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
