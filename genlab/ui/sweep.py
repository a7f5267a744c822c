"""The Compare page's Sweep section: launch a sweep (one method and dataset, one or two
hyperparameters, several seeds) on the local executor or Ray, and view a sweep as a table ranked by
a chosen metric (best first) and a parallel-coordinates plot. The sweep logic is
`genlab.runs.sweep`.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from genlab import params
from genlab.data import DATASETS
from genlab.methods import METHODS
from genlab.runs import sweep, sweep_spec
from genlab.runs.executors import INSTALL_HINT, available, ray_available
from genlab.runs.store import RunStore
from genlab.ui import common

REFRESH_S = 2.0
PLACEHOLDER = {
    "grid": "1e-4,1e-3  or  1e-4:1e-2:3",
    "random": "1e-4:1e-2  (blank: declared bounds)",
}


def section() -> None:
    st.subheader("Sweeps")
    _launch_panel()
    records = sweep.list_sweeps(RunStore())
    if not records:
        st.caption("No sweeps yet: start one above, or with `python -m genlab sweep`.")
        return
    ids = [r["id"] for r in records]
    by_id = {r["id"]: r for r in records}
    started = st.session_state.pop("sweep_started", None)
    if started in ids:
        st.session_state.sweep_sel = started
    sel = st.selectbox("Sweep", ids, key="sweep_sel", format_func=lambda i: _label(by_id[i]))
    live = by_id[sel].get("status") in ("planned", "running")
    st.fragment(run_every=REFRESH_S if live else None)(_view)(sel, live)


def _label(record: dict[str, Any]) -> str:
    spec = record["spec"]
    names = " × ".join(a["name"] for a in spec["axes"])
    return (
        f"{spec['method']} · {spec['dataset']} · {names} · {len(record['trials'])} trials · "
        f"{spec['executor']} · {time.strftime('%m-%d %H:%M', time.localtime(record['created']))}"
    )


# ----- launching -------------------------------------------------------------------------------
def _launch_panel() -> None:

    box = st.expander("Start a sweep", icon=":material/tune:", key="sweep_open", on_change="rerun")
    if not box.open:
        return
    with box:
        st.caption(
            "Every trial is a normal run (Runs page), tagged with the sweep. Grid: "
            "values `a,b,c` or a range `low:high:n` (log-spaced for learning rates). "
            "Random: bounds `low:high` (log-uniform for learning rates)."
        )
        c1, c2, c3 = st.columns(3)
        method = c1.selectbox(
            "Method", list(METHODS), key="sweep_method", format_func=lambda m: METHODS[m].label
        )
        data_names = [
            n for n, i in DATASETS.items() if not i.upload and i.kind in METHODS[method].supports
        ]
        data = c2.selectbox(
            "Dataset",
            data_names,
            key="sweep_data",
            index=data_names.index("ring8") if "ring8" in data_names else 0,
        )
        search = c3.radio("Search", sweep_spec.SEARCHES, key="sweep_search", horizontal=True)
        names = sorted(sweep_spec.declared(method))
        axes = []
        for i in (1, 2):
            a, b = st.columns([1, 2])
            opts = ([] if i == 1 else ["(none)"]) + names
            name = a.selectbox(
                f"Hyperparameter {i}",
                opts,
                key=f"sweep_p{i}",
                index=opts.index("lr_g") if i == 1 and "lr_g" in opts else 0,
            )
            text = b.text_input(f"Values {i}", key=f"sweep_v{i}", placeholder=PLACEHOLDER[search])
            if name != "(none)":
                axes.append(f"{name}={text}" if text.strip() else name)
        c1, c2, c3, c4 = st.columns(4)
        seeds = c1.text_input("Seeds", "0,1", key="sweep_seeds")
        steps = c2.number_input("Steps per trial", 1, 1_000_000, 1000, step=100, key="sweep_steps")
        samples = c3.number_input(
            "Samples (random)",
            1,
            sweep_spec.MAX_TRIALS,
            8,
            key="sweep_samples",
            disabled=search != "random",
        )
        parallel = c4.number_input("At once (0 = default)", 0, 64, 0, key="sweep_parallel")
        c1, c2, c3, c4 = st.columns(4)
        metric = c1.text_input("Rank by metric", "eval/hq", key="sweep_metric")
        mode = c2.radio("Best is", sweep_spec.MODES, key="sweep_mode", horizontal=True)
        ok = ray_available()
        executor = c3.selectbox("Executor", available(), key="sweep_exec")
        early = c4.selectbox(
            "Early stop",
            sweep_spec.EARLY_STOPS,
            key="sweep_early",
            disabled=executor != "ray",
            help="asha: Ray Tune stops poor trials at evaluation points.",
        )
        if not ok:
            st.caption(f"Ray executor: `{INSTALL_HINT}`")
        allowed = common.can_control()
        if st.button("Start sweep", type="primary", key="sweep_start", disabled=not allowed):
            try:
                s = _start(
                    method,
                    data,
                    axes,
                    seeds,
                    int(steps),
                    search,
                    int(samples),
                    int(parallel) or None,
                    metric.strip(),
                    mode,
                    executor,
                    early if executor == "ray" else "none",
                )
            except ValueError as e:
                st.error(f"Cannot start: {common.public_text(str(e))}")
            else:
                st.session_state.sweep_started = s.id
                st.success(f"Started sweep {s.id} with {len(s.trials)} trials.")
        if not allowed:
            common.readonly_note("Starting sweeps")


def _start(
    method: str,
    data: str,
    axes: list[str],
    seeds: str,
    steps: int,
    search: str,
    samples: int,
    parallel: int | None,
    metric: str,
    mode: str,
    executor: str,
    early: str,
) -> sweep.Sweep:
    try:
        seed_list = tuple(int(s) for s in seeds.split(",") if s.strip())
    except ValueError:
        raise ValueError(f"seeds {seeds!r} must be comma-separated integers") from None
    spec = sweep.SweepSpec(
        method,
        data,
        tuple(sweep_spec.parse_axis(a, method) for a in axes),
        seeds=seed_list,
        metric=metric,
        mode=mode,
        search=search,
        samples=samples,
        executor=executor,
        early_stop=early,
        parallel=parallel,
        train_values={"steps": steps},
    )
    return sweep.Sweep(spec, RunStore()).start()


# ----- viewing ---------------------------------------------------------------------------------
def _view(sweep_id: str, was_live: bool = False) -> None:
    record = next((r for r in sweep.list_sweeps(RunStore()) if r["id"] == sweep_id), None)
    if record is None:
        st.warning(f"Sweep {sweep_id} is gone.")
        return
    spec = record["spec"]
    if was_live and record.get("status") not in ("planned", "running"):
        st.rerun(scope="app")  # it has just ended: redraw the page once (labels, no more polling)
    if record.get("error"):
        st.error(f"Sweep failed: {common.public_text(str(record['error']))}")
    first = sweep.sweep_results(record, RunStore())
    keys = sorted({k for r in first for k in r.last})
    c1, c2 = st.columns([2, 1])
    options = keys or [spec["metric"]]
    metric = c1.selectbox(
        "Rank by",
        options,
        key=f"sweep_metric_{sweep_id}",
        index=options.index(spec["metric"]) if spec["metric"] in options else 0,
    )
    default_mode = spec["mode"] if metric == spec["metric"] else _guess_mode(metric)
    mode = c2.radio(
        "Best is",
        sweep_spec.MODES,
        key=f"sweep_mode_{sweep_id}_{metric}",
        index=sweep_spec.MODES.index(default_mode),
        horizontal=True,
    )
    results = sweep.sweep_results(record, RunStore(), metric, mode)
    names = [a["name"] for a in spec["axes"]]
    ended = sum(r.status not in ("queued", "running", "paused") for r in results)
    wall = f", {record['wall_s']:.0f} s" if record.get("wall_s") else ""
    st.caption(
        f"Sweep {record.get('status', '?')} · {ended}/{len(results)} trials ended · "
        f"{spec['executor']} executor"
        f"{' · ASHA early stopping' if spec['early_stop'] == 'asha' else ''}{wall}"
    )
    df = table(results, names, metric)
    st.dataframe(
        df,
        hide_index=True,
        key=f"sweep_table_{sweep_id}",
        column_config={"run": st.column_config.LinkColumn("run", display_text=r"run=(.*)$")},
    )
    fig = parallel_coordinates(results, names, metric, spec["method"])
    if fig is not None:
        st.plotly_chart(fig, key=f"sweep_pc_{sweep_id}")


def _guess_mode(metric: str) -> str:
    """Losses and distances: lower is better; coverage, modes, hq, accuracy: higher."""
    higher = ("hq", "modes", "coverage", "density", "acc", "d/real")
    return "max" if any(h in metric for h in higher) else "min"


def table(results: list[sweep.TrialResult], names: list[str], metric: str) -> pd.DataFrame:
    rows = []
    for i, r in enumerate(results, 1):
        stop = (
            "completed"
            if r.early_stopped_at is None and r.status == "done"
            else f"stopped at {r.early_stopped_at}"
            if r.early_stopped_at is not None
            else "–"
        )
        rows.append(
            {
                "#": i,
                **{n: r.params.get(n) for n in names},
                "seed": r.seed,
                metric: r.value,
                "status": r.status,
                "step": f"{r.step}/{r.steps}",
                "early stop": stop,
                "run": f"./live?run={r.run_id}",
            }
        )
    return pd.DataFrame(rows)


def parallel_coordinates(
    results: list[sweep.TrialResult], names: list[str], metric: str, method: str
) -> go.Figure | None:
    """One line per trial through its hyperparameters, seed and metric, coloured by the metric.
    Log-scale parameters are drawn as log10; choices as their index."""
    scored = [r for r in results if r.value is not None and math.isfinite(r.value)]
    if not scored:
        return None
    decl = {n: p for n, (p, _) in sweep_spec.declared(method).items()}
    dims = []
    for n in names:
        p: params.Param = decl[n]
        vals = [r.params[n] for r in scored]
        if isinstance(vals[0], str | bool):
            cats = sorted({str(v) for v in vals})
            dims.append(
                dict(
                    label=n,
                    values=[cats.index(str(v)) for v in vals],
                    tickvals=list(range(len(cats))),
                    ticktext=cats,
                )
            )
        elif p.log:
            dims.append(dict(label=f"log10 {n}", values=[math.log10(v) for v in vals]))
        else:
            dims.append(dict(label=n, values=vals))
    dims.append(dict(label="seed", values=[r.seed for r in scored]))
    dims.append(dict(label=metric, values=[r.value for r in scored]))
    fig = go.Figure(
        go.Parcoords(
            line=dict(color=[r.value for r in scored], colorscale="Viridis", showscale=True),
            dimensions=dims,
        )
    )
    fig.update_layout(height=360, margin=dict(l=60, r=40, t=50, b=30))
    return fig
