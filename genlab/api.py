"""The notebook API: the app's runs from Python, in the same run store (they show up on the Runs
page).

    run = genlab.train("gan", "ring8", steps=2000, lr_g=1e-3)   # blocks, with a progress bar
    run = genlab.start("vae", "digits", beta=2.0)                # trains in the background
    run.samples(64); run.metrics(); run.plot()
    run = genlab.load("runs/<run-id>")
    table, figure = genlab.compare([run_a, run_b])

Keyword arguments are hyperparameters by their declared names (method, training and dataset
settings alike, as `--set` on the CLI), validated before anything trains.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NamedTuple

from genlab import params
from genlab.data import dataset_info
from genlab.figures import curves, plots
from genlab.kinds import kind_of
from genlab.methods import method_class
from genlab.runs import Run, RunDir, RunStore, catalogue, listing, sampling
from genlab.runs.history import MetricHistory


def route(method: str, dataset: str, values: dict[str, Any]) -> tuple[dict, dict, dict]:
    """Split keyword values into (method, training, dataset) values by the config that declares
    each name; an unknown name is a ValueError that lists the known ones."""
    classes = [method_class(method).Config, params.TrainConfig]
    data_cfg = dataset_info(dataset).Config
    classes += [data_cfg] if data_cfg else []
    out: list[dict[str, Any]] = [{} for _ in classes]
    for key, value in values.items():
        for i, cls in enumerate(classes):
            if key in {p.name for p in params.describe(cls)}:
                out[i][key] = value
                break
        else:
            known = sorted({p.name for c in classes for p in params.describe(c)})
            raise ValueError(
                f"unknown parameter {key!r} for {method} on {dataset} (known: {', '.join(known)})"
            )
    return out[0], out[1], (out[2] if data_cfg else {})


class NotebookRun:
    """A run started here (`train`, `start`) or read from its folder (`load`)."""

    def __init__(self, run: Run | None = None, path: Path | str | None = None):
        self.run = run  # the live Run object, None for a run loaded from disk
        self.dir = run.dir.path if run is not None else RunDir(path).path
        self._loaded: tuple[int, sampling.Loaded] | None = None

    # ----- what it is -----------------------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        return self.run.info() if self.run is not None else RunDir(self.dir).read_info()

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def status(self) -> str:
        return self.run.status if self.run is not None else self.info["status"]

    def __repr__(self) -> str:
        i = self.info
        where = f"{i['method']} on {i['dataset']}, {i['status']} at step {i['step']}"
        return f"<genlab run {i['id']}: {where}>"

    # ----- controls -------------------------------------------------------------------------
    def wait(self, progress: bool = True) -> NotebookRun:
        """Block until the run ends (a tqdm bar while it trains; interrupting stops the run)."""
        if self.run is None:
            return self
        if not progress:
            self.run.join()
            return self
        from tqdm.std import tqdm

        run = self.run
        # disable=False: a notebook's stderr is not a terminal, which would hide tqdm's bar
        with tqdm(total=run.train.steps, unit="step", file=sys.stderr, disable=False) as bar:
            try:
                while not run.join(0.25):
                    snap = run.snapshot()
                    bar.update(snap.step - bar.n)
                    bar.set_postfix({k: f"{v:.3g}" for k, v in list(snap.last.items())[:3]})
            except KeyboardInterrupt:  # the notebook's stop button stops the run
                run.stop()
                run.join()
            bar.update(run.snapshot().step - bar.n)
        return self

    def stop(self) -> NotebookRun:
        if self.run is not None:
            self.run.stop()
            self.run.join()
        return self

    # ----- results --------------------------------------------------------------------------
    def _method(self) -> sampling.Loaded:
        """The last checkpoint rebuilt on the CPU (never the module a live run is training)."""
        stamp = sampling.checkpoint_stamp(self.dir)
        if stamp == 0:
            raise ValueError(f"run {self.id} has no checkpoint yet")
        if self._loaded is None or self._loaded[0] != stamp:
            self._loaded = (stamp, sampling.load_run(self.dir))
        return self._loaded[1]

    def samples(self, n: int = 64, seed: int = 0, **opts: Any):
        """`n` samples from the last checkpoint, in data space: a float array (images
        (n, C, H, W) in [0, 1], points (n, 2), series (n, T, C)), or a list of strings for text.
        `opts` are the method's sampling options (e.g. temperature=0.8 for text)."""
        loaded = self._method()
        x = sampling.sample(loaded.method, n, seed, **opts)
        return kind_of(loaded.spec.kind).values(loaded.method, x)

    def show(self, n: int | None = None, seed: int = 0):
        """The samples as one PIL image, drawn as the run's snapshots are (a grid, points over
        the real data, series, text lines)."""
        import io

        from PIL import Image

        loaded = self._method()
        kind = kind_of(loaded.spec.kind)
        payload = kind.take(loaded.method, seed, n or kind.snapshot_n, preview=False)
        return Image.open(io.BytesIO(kind.png(payload, kind.reference(loaded.data))))

    def metrics(self):
        """metrics.jsonl as a pandas DataFrame: one row per logged step (losses and
        evaluations of a step merged), columns step, t and every metric key."""
        import pandas as pd

        rows, keys = catalogue.merged_metrics(self.dir)
        return pd.DataFrame(rows, columns=["step", "t", *keys])

    def plot(self, smoothing: float = 0.0, log_y: bool = False) -> dict[str, Any]:
        """The live page's charts (plotly figures), by metric group: "loss", "eval", ..."""
        if self.run is not None:
            history, changes = self.run.history, self.run.snapshot().live_changes
        else:
            history, changes = MetricHistory(), self.info.get("live_changes", [])
            for r in RunDir(self.dir).read_metrics():
                history.append(
                    r["step"], r.get("t", 0.0), {k: r[k] for k in r if k not in ("step", "t")}
                )
        figs = curves.run_curve_figures(history, changes, self.id, smoothing, log_y, height=320)
        return dict(figs)


def _new(method: str, dataset: str, data_file, home, values) -> Run:
    m_vals, t_vals, d_vals = route(method, dataset, values)
    store = RunStore(home) if home is not None else RunStore()
    return Run(
        method, dataset, m_vals, t_vals, data_file=data_file, data_options=d_vals, store=store
    )


def start(
    method: str,
    dataset: str,
    *,
    data_file: str | None = None,
    home: str | Path | None = None,
    **values: Any,
) -> NotebookRun:
    """Start a run in the background and return it at once. `values`: any hyperparameter by its
    declared name (steps=, seed=, lr_g=, ...); `home`: the run store (default $GENLAB_HOME)."""
    return NotebookRun(_new(method, dataset, data_file, home, values).start())


def train(
    method: str,
    dataset: str,
    *,
    data_file: str | None = None,
    home: str | Path | None = None,
    progress: bool = True,
    **values: Any,
) -> NotebookRun:
    """Train a run to its end (a progress bar while it trains) and return it."""
    return start(method, dataset, data_file=data_file, home=home, **values).wait(progress)


def load(path: str | Path) -> NotebookRun:
    """A saved run from its folder (read-only: sample, metrics, plot, compare)."""
    if not (Path(path) / "run.json").exists():
        raise ValueError(f"{path} is not a run folder (no run.json)")
    return NotebookRun(path=path)


class Comparison(NamedTuple):
    table: Any  # pandas DataFrame: one row per run, each quality metric beside its floor
    figure: Any  # plotly figure: the runs' curves of one metric on shared axes
    metric: str | None


def compare(runs: list[NotebookRun | Run | str | Path], key: str | None = None) -> Comparison:
    """The Compare page's table and chart for `runs`: their last metrics side by side with the
    real-vs-real floors, and their curves of `key` (default: the page's default metric)."""
    import pandas as pd

    rows = []
    for r in runs:
        target = r.run or r.dir if isinstance(r, NotebookRun) else r
        rows.append(listing.row_of(target))
    table = pd.DataFrame(catalogue.metrics_table(rows))
    key = key or catalogue.default_metric(rows, catalogue.metric_keys(rows), min_points=0)
    curves = []
    for row in rows:
        steps, _, vs = catalogue.series(row, key) if key else ([], [], [])
        if vs:
            curves.append((row.label, steps, vs))
    return Comparison(table, plots.compare_curves_figure(curves, key or ""), key)
