"""The Compare page: several runs' curves overlaid, their metrics side by side, their latest
samples side by side, and one action that starts the same setup for several methods.

Also the sample viewer the Runs page reuses (`show_sample`). Streamlit only here; the data comes
from `genlab.runs.catalogue` (headless).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from genlab.data import DATASETS, load_dataset
from genlab.figures import plots
from genlab.methods import METHODS
from genlab.metrics import metric_info
from genlab.runs import catalogue, listing
from genlab.runs.protocol import SampleSnapshot
from genlab.runs.store import RunStore
from genlab.ui import common
from genlab.ui import sweep as sweep_ui
from genlab.ui.kinds import view_of

LIVE_REFRESH_S = 2.0
MAX_COLUMNS = 4  # samples side by side: more runs wrap onto further rows


# ----- shared pieces (Runs and Compare pages) -----------------------------------------------
def live_link(run_id: str, label: str = "Open live view", key: str | None = None) -> None:
    """A link to the Live run page for `run_id`; a plain URL link when the page is not registered
    (a page script run on its own, as in AppTest)."""
    try:
        st.page_link(
            "pages/live.py", label=label, icon=":material/monitoring:", query_params={"run": run_id}
        )
    except st.errors.StreamlitAPIException:
        st.markdown(f"[{label}](./live?run={run_id})")


def real_data(row: catalogue.RunRow):
    """The run's dataset (for the grey real-data overlay), or None when it cannot be loaded."""

    try:
        info = row.info
        return load_dataset(row.dataset, info.get("data_file"), info.get("data_options") or None)
    except Exception:  # a removed upload must not break the page: just no overlay
        return None


def show_sample(
    sample: SampleSnapshot | None, row: catalogue.RunRow, *, height: int = 300, max_text: int = 30
) -> None:
    """The latest sample snapshot of a run, whatever its kind."""
    if sample is None:
        st.caption("no samples yet")
        return
    view_of(sample.kind).latest(
        sample,
        lambda: real_data(row),
        height=height,
        max_text=max_text,
        key=f"sample-{row.id}-{sample.step}",
    )


# ----- starting several methods at once -----------------------------------------------------
def _builtin_datasets() -> list[str]:

    return [n for n, info in DATASETS.items() if not info.upload]


def _start_all() -> None:
    """Button callback (runs before the page script, so the selection below can take the runs)."""
    if not common.require_control("starting runs"):
        return
    s = st.session_state
    runs, errors = catalogue.start_many(
        s.cmp_start_dataset,
        list(s.cmp_start_methods),
        int(s.cmp_start_steps),
        int(s.cmp_start_seed),
    )
    s.cmp_start_result = ([r.id for r in runs], errors)
    if runs:
        s.cmp_sel = [r.id for r in runs]


def start_panel(expanded: bool) -> None:

    box = st.expander(
        "Start several methods on one dataset",
        expanded=expanded,
        icon=":material/play_arrow:",
        key="cmp_start_open",
        on_change="rerun",  # tracks .open: nothing inside is built (nor loaded) while closed
    )
    if not box.open:
        return
    with box:
        st.caption(
            "The same dataset, steps and seed for each method, each with its own default "
            "hyperparameters; they train side by side (runs beyond the concurrency cap "
            "wait as queued) and appear in the comparison below."
        )
        names = _builtin_datasets()
        c1, c2 = st.columns([1, 2])
        ds = c1.selectbox(
            "Dataset",
            names,
            key="cmp_start_dataset",
            index=names.index("mnist") if "mnist" in names else 0,
            format_func=lambda n: f"{n} ({DATASETS[n].kind})",
        )
        with st.spinner(f"Loading {ds}…"):
            methods = catalogue.compatible_methods(ds)
        fresh = "cmp_start_methods" not in st.session_state
        if fresh or st.session_state.get("cmp_start_for") != ds:  # new dataset: all its methods
            st.session_state.cmp_start_for = ds
            st.session_state.cmp_start_methods = methods
        c2.multiselect(
            "Methods", methods, key="cmp_start_methods", format_func=lambda m: METHODS[m].label
        )
        c3, c4, c5 = st.columns([1, 1, 1], vertical_alignment="bottom")
        c3.number_input("Steps", 1, 1_000_000, 1000, step=100, key="cmp_start_steps")
        c4.number_input("Seed", 0, 2**31 - 1, 0, key="cmp_start_seed")
        n = len(st.session_state.cmp_start_methods)
        allowed = common.can_control()
        c5.button(
            f"Start {n} run{'s' * (n != 1)}",
            type="primary",
            on_click=_start_all,
            disabled=n == 0 or not allowed,
            key="cmp_start",
            width="stretch",
        )
        if not allowed:
            common.readonly_note("Starting runs")
        result = st.session_state.pop("cmp_start_result", None)
        if result:
            ids, errors = result
            if ids:
                st.success(f"Started {len(ids)} run{'s' * (len(ids) != 1)}.")
            for m, err in errors.items():
                st.error(f"{METHODS[m].label}: {common.public_text(err)}")


# ----- the comparison -----------------------------------------------------------------------
def _curves(
    rows: list[catalogue.RunRow], labels: dict[str, str], key: str, by_time: bool, log_y: bool
) -> None:
    curves = []
    for r in rows:
        steps, ts, vs = catalogue.series(r, key)
        if vs:
            curves.append((labels[r.id], ts if by_time else steps, vs))
    if not curves:
        st.info(f"None of the selected runs has logged `{key}` yet.")
        return
    fig = plots.compare_curves_figure(
        curves, key, "wall-clock seconds" if by_time else "step", log_y=log_y
    )
    st.plotly_chart(fig, key="cmp_chart")


def _cell(v) -> str:
    """A metric's table cell: 4 significant digits, a dash where the run has no value."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return catalogue.MISSING
    return f"{v:.4g}"


def _metrics_table(rows: list[catalogue.RunRow], labels: dict[str, str]) -> None:
    table = pd.DataFrame(catalogue.metrics_table(rows, labels))
    for c in table.columns:
        if "/" in c:  # metric columns (as text: a missing value shows as a dash, not "None")
            table[c] = [_cell(v) for v in table[c]]
    st.dataframe(table, hide_index=True, key="cmp_table")
    helps = [h for h in (metric_help(k) for k in table.columns if k.startswith("eval/")) if h]
    if helps:
        with st.expander("What the metrics mean"):
            st.markdown("\n\n".join(helps))


def metric_help(key: str) -> str | None:
    """One line on a quality metric, from `genlab.metrics.metric_info` when it knows the key."""
    try:
        label, better, help_ = metric_info(key)
    except Exception:  # metric unknown to the catalogue: the key alone is shown
        return None
    return f"**{key}**: {label} ({better} is better). {help_}"


def config_diff_view(rows: list[catalogue.RunRow], labels: dict[str, str]) -> None:
    """The settings that differ between the selected runs, one row per setting."""
    diff = catalogue.config_diff(rows)
    with st.expander(f"Settings that differ ({len(diff)})", icon=":material/difference:"):
        if len(rows) < 2:
            st.caption("Pick two or more runs to see what differs between them.")
        elif not diff:
            st.caption("The selected runs have the same settings.")
        else:
            table = pd.DataFrame(
                {
                    labels[r.id]: [catalogue.fmt_value(v[i]) for v in diff.values()]
                    for i, r in enumerate(rows)
                },
                index=list(diff),
            )
            st.dataframe(table, key="cmp_diff")


def _samples(rows: list[catalogue.RunRow], labels: dict[str, str]) -> None:
    for i in range(0, len(rows), MAX_COLUMNS):
        chunk = rows[i : i + MAX_COLUMNS]
        cols = st.columns(min(len(rows), MAX_COLUMNS))
        for col, r in zip(cols, chunk):
            with col:
                st.markdown(
                    f"**{labels[r.id]}**  \n<small>{r.method} · {r.dataset} · {r.status}</small>",
                    unsafe_allow_html=True,
                )
                show_sample(catalogue.latest_sample(r), r, height=260, max_text=15)


def _comparison(ids: list[str]) -> None:
    """Everything that changes while the runs train: the metric picker (keys appear as runs log
    them), the curves, the table and the samples."""
    rows_all = listing.collect_runs(RunStore())
    rows = [r for r in (listing.find(rows_all, i) for i in ids) if r is not None]
    live = any(r.live for r in rows)
    if live != st.session_state.get("cmp_ticking", False):
        st.rerun()  # the last live run ended (or one started): redraw, refreshing only if live
    keys = catalogue.metric_keys(rows)
    if not keys:
        st.info(
            "The selected runs have not logged any metric yet"
            + (": waiting for the first log interval…" if live else ".")
        )
        return
    if st.session_state.get("cmp_key") not in keys:
        st.session_state.cmp_key = catalogue.default_metric(rows, keys)
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    key = c1.selectbox("Metric", keys, key="cmp_key")
    x = c2.segmented_control(
        "x axis",
        ["step", "time"],
        default="step",
        key="cmp_x",
        format_func=lambda v: {"step": "step", "time": "wall-clock"}[v],
    )
    log_y = c3.toggle("log y", key="cmp_log")
    labels = catalogue.diff_labels(rows)  # each run by what differs between the selected ones
    config_diff_view(rows, labels)
    _curves(rows, labels, key, x == "time", log_y)
    st.subheader("Metrics")
    _metrics_table(rows, labels)
    st.subheader("Latest samples")
    _samples(rows, labels)


def render() -> None:
    st.title("Compare runs")
    rows = [r for r in listing.collect_runs(RunStore()) if not r.corrupt]
    start_panel(expanded=not rows)

    sweep_ui.section()
    rows = [r for r in listing.collect_runs(RunStore()) if not r.corrupt]
    if not rows:
        st.info("No runs yet: start some above, or on the Train page.")
        return
    ids = [r.id for r in rows]
    labels = {r.id: r.label for r in rows}
    if "cmp_sel" not in st.session_state:
        st.session_state.cmp_sel = catalogue.default_selection(rows)
    st.session_state.cmp_sel = [i for i in st.session_state.cmp_sel if i in ids]
    sel = st.multiselect(
        "Runs",
        ids,
        key="cmp_sel",
        format_func=lambda i: labels[i],
        placeholder="Pick runs to compare",
    )
    chosen = [listing.find(rows, i) for i in sel]
    if not chosen:
        st.info("Pick one or more runs to catalogue.")
        return
    datasets = {r.dataset for r in chosen}
    if len(datasets) > 1:
        st.warning(
            f"These runs use different datasets ({', '.join(sorted(datasets))}): their "
            "losses and quality figures are not on the same scale."
        )
    live = any(r.live for r in chosen)
    # only a live selection refreshes itself; ended runs draw once
    st.session_state.cmp_ticking = live
    st.fragment(run_every=LIVE_REFRESH_S if live else None)(_comparison)(sel)
