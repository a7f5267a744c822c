"""What the Runs and Compare pages do with the rows of `genlab.runs.listing` (headless): the Runs
table, what differs between runs, the actions (rename, delete, resume, start several), the metric
series and tables, the latest samples, and the downloads.

Series and samples come from memory for a run live in this process and from its folder
otherwise. The download builders (checkpoint zip, metrics CSV, latest samples) are pure
functions of a run folder, so they are unit-tested without streamlit.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from pathlib import Path
from typing import Any

from genlab.data import load_dataset
from genlab.kinds import kind_of
from genlab.methods import METHODS
from genlab.runs.listing import RunRow, fmt_value
from genlab.runs.protocol import SampleSnapshot
from genlab.runs.registry import REGISTRY
from genlab.runs.run import Run
from genlab.runs.store import LIVE_STATES, RunDir, RunStore


# ----- what differs between runs ------------------------------------------------------------
def run_config(row: RunRow) -> dict[str, Any]:
    """Every setting of a run in one flat dict: method, dataset, its hyperparameters, training
    settings and dataset options, under their declared names."""
    info = row.info
    return {
        "method": row.method,
        "dataset": row.dataset,
        **(info.get("method_config") or {}),
        **(info.get("train_config") or {}),
        **(info.get("data_options") or {}),
    }


MISSING = "–"  # a setting one run has and another does not (different methods)


def config_diff(rows: list[RunRow]) -> dict[str, list[Any]]:
    """The settings whose values are not the same in all `rows`: {name: [value per row]}, in
    the order method, dataset, then as declared; MISSING where a run has no such setting."""
    configs = [run_config(r) for r in rows]
    keys: list[str] = []
    for c in configs:
        keys += [k for k in c if k not in keys]
    out = {}
    for k in keys:
        values = [c.get(k, MISSING) for c in configs]
        if any(v != values[0] for v in values[1:]):
            out[k] = values
    return out


def diff_labels(rows: list[RunRow], max_keys: int = 3) -> dict[str, str]:
    """A label per run made of what differs between `rows` ("lr_g=0.0001, loss=hinge"), after
    the user's name when it has one; runs that differ in nothing keep their own labels."""
    diff = config_diff(rows) if len(rows) > 1 else {}
    # settings only some of the runs have (another method's) are in the table, not the labels
    shared = {k: v for k, v in diff.items() if MISSING not in v}
    out = {}
    for i, r in enumerate(rows):
        parts = [f"{k}={fmt_value(v[i])}" for k, v in shared.items()][:max_keys]
        more = len(shared) - max_keys
        text = ", ".join(parts) + (f" (+{more} more)" if more > 0 else "")
        if r.name:
            text = f"{r.name} · {text}" if text else r.name
        out[r.id] = text or r.label
    seen: dict[str, int] = {}
    for v in out.values():
        seen[v] = seen.get(v, 0) + 1
    return {k: (f"{v} · {k[-4:]}" if seen[v] > 1 else v) for k, v in out.items()}


# ----- the Runs table -----------------------------------------------------------------------
def fmt_seconds(s: float) -> str:
    s = int(round(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def headline_metrics(last: dict[str, float], n_loss: int = 3, n_eval: int = 3) -> dict[str, float]:
    """A few of the latest values for a table cell: losses first, then quality (eval/*)."""
    losses = [k for k in last if k.startswith("loss/")][:n_loss]
    evals = sorted(k for k in last if k.startswith("eval/"))[:n_eval]
    return {k: last[k] for k in losses + evals}


def fmt_metrics(values: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in values.items())


def table_rows(rows: list[RunRow]) -> list[dict[str, Any]]:
    """The Runs page table: one plain dict per run."""
    out = []
    for r in rows:
        out.append(
            {
                "open": f"./live?run={r.id}" if not r.corrupt else None,
                "name": r.name,
                "status": r.status,
                "method": r.method,
                "dataset": r.dataset,
                "hyperparameters": r.hparams if not r.corrupt else (r.error or "")[:200],
                "steps": f"{r.step}/{r.steps}",
                "progress": min(1.0, r.step / r.steps) if r.steps else 0.0,
                "time": fmt_seconds(r.elapsed_s),
                "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created))
                if r.created
                else "",
                "last metrics": fmt_metrics(headline_metrics(r.last)),
                "id": r.id,
            }
        )
    return out


# ----- actions ------------------------------------------------------------------------------
def rename_run(row: RunRow, name: str) -> str:
    """Name a run: through the live Run when this process trains it (its next run.json write
    keeps the name), else in its folder's run.json. Returns the name kept."""
    run = REGISTRY.get(row.id)
    if run is not None and run.dir.path == row.dir:
        run.rename(name)
        return run.name
    return RunDir(row.dir).rename(name)


def delete_run(row: RunRow, store: RunStore | None = None) -> None:
    """Delete a run folder; a live run must be stopped first."""
    run = REGISTRY.get(row.id)
    if row.live or (run is not None and run.status in LIVE_STATES):
        raise ValueError(f"run {row.id} is {row.status}: stop it before deleting it")
    store = store or RunStore(row.dir.parent)
    if row.dir.parent != store.home:
        raise ValueError(f"run folder {row.dir} is not in the store {store.home}")
    store.delete(row.dir.name)  # the folder's own name: run.json may be corrupt or copied
    REGISTRY.forget(row.id)


def default_resume_steps(row: RunRow) -> int:
    """Continue to the planned total if the run ended early, else double it."""
    return row.steps if row.step < row.steps else max(row.steps, row.step) * 2


def resume_run(row: RunRow, steps: int | None = None) -> Run:
    """Continue an ended run from its last checkpoint, in the same folder, up to `steps` in all."""
    if row.live:
        raise ValueError(f"run {row.id} is already {row.status}")
    if not row.resumable:
        raise ValueError(f"run {row.id} has no checkpoint to resume from")
    if steps is not None and steps <= row.step:
        raise ValueError(f"steps={steps} must be more than the {row.step} steps already trained")
    return Run.from_dir(row.dir, steps=steps, store=RunStore(row.dir.parent)).start()


def compatible_methods(dataset: str) -> list[str]:

    spec = load_dataset(dataset).spec
    return [name for name, cls in METHODS.items() if cls.supports_data(spec)]


def start_many(
    dataset: str, methods: list[str], steps: int, seed: int, store: RunStore | None = None
) -> tuple[list[Run], dict[str, str]]:
    """The same setup (dataset, steps, seed) for several methods with their defaults: one run each.
    Returns the started runs and, per method that could not start, its error message."""
    runs, errors = [], {}
    for m in methods:
        try:
            runs.append(Run(m, dataset, {}, {"steps": steps, "seed": seed}, store=store).start())
        except (ValueError, FileNotFoundError, RuntimeError) as e:
            errors[m] = str(e)
    return runs, errors


def default_selection(rows: list[RunRow], k: int = 4) -> list[str]:
    """The latest few runs on the same dataset as the newest run."""
    ok = [r for r in rows if not r.corrupt]
    if not ok:
        return []
    ds = ok[0].dataset
    return [r.id for r in ok if r.dataset == ds][:k]


# ----- metrics ------------------------------------------------------------------------------
_METRICS_CACHE: dict[Path, tuple[tuple[int, int], list[dict[str, Any]]]] = {}


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """metrics.jsonl rows, re-read only when the file changed."""
    d = RunDir(run_dir)
    try:
        st = d.metrics_path.stat()
    except FileNotFoundError:
        return []
    stamp = (st.st_mtime_ns, st.st_size)
    hit = _METRICS_CACHE.get(d.path)
    if hit is None or hit[0] != stamp:
        hit = (stamp, d.read_metrics())
        _METRICS_CACHE[d.path] = hit
        if len(_METRICS_CACHE) > 64:
            _METRICS_CACHE.pop(next(iter(_METRICS_CACHE)))
    return hit[1]


def metric_keys(rows: list[RunRow]) -> list[str]:
    """The union of the metric keys of `rows`, quality first (eval/*), then losses, then others."""
    keys: set[str] = set()
    for r in rows:
        run = REGISTRY.get(r.id)
        keys |= set(run.history.keys()) if run is not None and r.live else set(r.last)
    return sorted(keys, key=_key_order)


def default_metric(rows: list[RunRow], keys: list[str], min_points: int = 3) -> str | None:
    """The metric to show first: the quality figure (eval/*) that most of `rows` report, once
    it has a curve (`min_points` evaluations in some run; short runs evaluate only at the end),
    else the most common loss, else the first key."""
    if not keys:
        return None
    count = {k: sum(k in r.last for r in rows) for k in keys}
    evals = [k for k in keys if k.startswith("eval/")]
    if evals:
        best = max(evals, key=lambda k: count[k])  # ties: the first in `keys` order
        if min_points <= 0 or max(len(series(r, best)[0]) for r in rows) >= min_points:
            return best
    losses = [k for k in keys if k.startswith("loss/")]
    if losses:
        return max(losses, key=lambda k: count[k])
    return evals[0] if evals else keys[0]


def _key_order(k: str) -> tuple[int, str]:
    prefix = k.split("/", 1)[0]
    return ({"eval": 0, "floor": 1, "loss": 2}.get(prefix, 3), k)


def series(row: RunRow, key: str) -> tuple[list[int], list[float], list[float]]:
    """(steps, wall seconds, values) of one metric of one run, from memory or disk."""
    run = REGISTRY.get(row.id)
    if run is not None and run.dir.path == row.dir and key in run.history.keys():
        return run.history.series(key)
    steps, ts, vs = [], [], []
    for r in read_metrics(row.dir):
        if key in r and r[key] is not None:
            steps.append(int(r["step"]))
            ts.append(float(r.get("t", 0.0)))
            vs.append(float(r[key]))
    return steps, ts, vs


def metrics_table(rows: list[RunRow], labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One row per run: its last value of every metric (None where it has none); `floor/X` (the
    real-vs-real reference) sits next to `eval/X` when a run has it. `labels` names the runs
    (default: their own labels)."""
    keys = metric_keys(rows)
    evals = [k for k in keys if k.startswith("eval/")]
    floors = [k for k in keys if k.startswith("floor/")]
    ordered = []
    for k in evals:
        ordered.append(k)
        f = "floor/" + k.split("/", 1)[1]
        if f in floors:
            ordered.append(f)
    ordered += [k for k in keys if k not in ordered]
    out = []
    for r in rows:
        row: dict[str, Any] = {
            "run": (labels or {}).get(r.id, r.label),
            "status": r.status,
            "method": r.method,
            "dataset": r.dataset,
            "step": r.step,
            "time": fmt_seconds(r.elapsed_s),
        }
        for k in ordered:
            row[k] = r.last.get(k)
        out.append(row)
    return out


# ----- samples ------------------------------------------------------------------------------
def latest_sample(row: RunRow) -> SampleSnapshot | None:
    """The newest sample snapshot of a run: from memory for a live run, else from its folder."""
    run = REGISTRY.get(row.id)
    if run is not None and run.dir.path == row.dir:
        snap = run.snapshot().latest
        if snap is not None:
            return snap
    found = RunDir(row.dir).list_samples()
    if not found:
        return None
    step, path = found[-1]
    try:
        return SampleSnapshot(step, row.kind, RunDir.load_sample(path))
    except (OSError, ValueError):
        return None


# ----- downloads ----------------------------------------------------------------------------
def checkpoint_zip(run_dir: Path | str) -> bytes:
    """run.json + ckpt/last.json + the tensors it names in one zip, under a folder named after the
    run, so that unzipping gives a run folder `python -m genlab sample` and resume accept."""
    d = RunDir(run_dir)
    if not d.has_checkpoint():
        raise ValueError(f"run {d.path.name} has no checkpoint")
    meta_path, tensors_path = d.checkpoint_files()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.write(d.run_json, f"{d.path.name}/run.json", zipfile.ZIP_DEFLATED)
        z.write(meta_path, f"{d.path.name}/ckpt/last.json", zipfile.ZIP_DEFLATED)
        # float weights barely compress: store them as they are
        z.write(tensors_path, f"{d.path.name}/ckpt/{tensors_path.name}", zipfile.ZIP_STORED)
    return buf.getvalue()


def merged_metrics(run_dir: Path | str) -> tuple[list[dict[str, Any]], list[str]]:
    """metrics.jsonl with the loss row and the eval row of each step merged: (rows by step,
    the metric keys in the order `metric_keys` uses)."""
    merged: dict[int, dict[str, Any]] = {}
    for r in RunDir(run_dir).read_metrics():
        row = merged.setdefault(int(r["step"]), {"step": int(r["step"]), "t": r.get("t")})
        row.update({k: v for k, v in r.items() if k not in ("step", "t")})
    keys = sorted({k for r in merged.values() for k in r} - {"step", "t"}, key=_key_order)
    return [merged[s] for s in sorted(merged)], keys


def metrics_csv(run_dir: Path | str) -> str:
    """metrics.jsonl as CSV: one line per logged step, columns step, t, then every key."""
    rows, keys = merged_metrics(run_dir)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["step", "t", *keys])
    for r in rows:
        w.writerow(
            [r["step"], r.get("t", "")] + ["" if r.get(k) is None else f"{r[k]:.6g}" for k in keys]
        )
    return buf.getvalue()


def sample_download(sample: SampleSnapshot, run_id: str) -> tuple[bytes, str, str]:
    """(data, file name, mime) of one sample snapshot, as its kind exports it: the PNG grid for
    images, CSV for points and sequences, one item per line for text."""
    k = kind_of(sample.kind)
    return k.export(sample.payload), f"{run_id}-step{sample.step}{k.export_suffix}", k.export_mime
