"""The live page's panels that follow the run's data: the loss curves, the evaluations' quality
metrics as small multiples, and the samples with a slider over every kept snapshot; and the
replay's views of an ended run (its snapshot at a step, the loss curves, the real items).

Each is a fragment polled while the run can change (`every`, from genlab.ui.live). Curves are
built once per run version and shared by every viewer (genlab.ui.refresh), drawn in place by
genlab.ui.livechart; a snapshot is drawn the kind's way (`view_of(kind).live`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from genlab.data import DATASETS
from genlab.figures import curves
from genlab.kinds import kind_of
from genlab.runs import AnyRun
from genlab.ui import explain, inside_points, refresh, replay
from genlab.ui.kinds import VIEWS, real_of, view_of
from genlab.ui.livechart import live_chart

CHARTS_EVERY_S = 0.5  # curves and samples (redrawn only when something new arrived)
CURVES_BUILD_S = 0.5  # the curve figures of a run, for every viewer: at most twice a second
CURVES_KEY = "genlab.curves"  # this session's curve figures and the version they were built for


# ----- curves ----------------------------------------------------------------------------------
def build_curve_figures(run: AnyRun, smoothing: float, log_y: bool) -> list[tuple[str, Any]]:
    return curves.run_curve_figures(
        run.history,
        run.snapshot().live_changes,
        run.id,
        smoothing=smoothing,
        log_y=log_y,
        height=explain.chart_height(260),  # taller in teaching mode
        quality_height=explain.chart_height(220),
        row_height=explain.chart_height(150),
        cols=QUALITY_COLS,
    )


QUALITY_COLS = 4  # small multiples a row, under the first screen
QUALITY_EVERY_S = 2.0  # they change at evaluations only

GROUP_TITLES = {
    "loss": "Losses",
    "d": "Discriminator outputs",
    "eval": "Quality (evaluations)",
    "kl": "KL",
}


def curves_panel(run: AnyRun, every: float | None) -> None:
    refresh.fragment(_curves_body, None if every is None else CHARTS_EVERY_S)(run, every)


def _curves_body(run: AnyRun, every: float | None) -> None:
    c = st.columns([3, 1], vertical_alignment="bottom")
    smoothing = c[0].slider(
        "Smoothing (EMA)",
        0.0,
        0.99,
        value=0.6,  # not seeded in session state: see live_controls.controls()
        step=0.01,
        key="live.smoothing",
        help="Exponential moving average of the logged values; the raw values stay faint behind.",
    )
    log_y = c[1].toggle("Log scale", value=False, key="live.log")
    figs = _curve_figures(run, smoothing, log_y)
    refresh.ended_since_page_run(every, run.snapshot().status)
    train = [(g, f) for g, f in figs if g != "eval"]
    if not train:
        st.info("Waiting for the first logged values…", icon=":material/hourglass_empty:")
        return
    for group, fig in train:
        st.caption(GROUP_TITLES.get(group, group))
        live_chart(fig, key=f"curves.{group}")


def _curve_figures(run: AnyRun, smoothing: float, log_y: bool) -> list[tuple[str, Any]]:
    """Every metric group's figure for the run's history, shared by every viewer with the same
    settings and rebuilt at most every CURVES_BUILD_S (refresh.shared_recent); kept in this
    session until the version or a setting changes."""
    snap = run.snapshot()
    version = (run.history.version, len(snap.live_changes))
    settings = (run.id, smoothing, log_y, explain.teaching())
    cached = st.session_state.get(CURVES_KEY)
    if cached is None or cached[0] != (version, settings):
        figs = refresh.shared_recent(
            ("curves", type(run).__name__, *settings),
            (*settings, *version),
            lambda: build_curve_figures(run, smoothing, log_y),
            every=CURVES_BUILD_S,
            force=snap.status != "running",  # a paused or ended run: its last curves
        )
        cached = ((version, settings), figs)
        st.session_state[CURVES_KEY] = cached
    return cached[1]


def quality_panel(run: AnyRun, every: float | None) -> None:
    refresh.fragment(_quality_body, None if every is None else QUALITY_EVERY_S)(run, every)


def _quality_body(run: AnyRun, every: float | None) -> None:
    """The evaluations' metrics as small multiples sharing the step axis, with the smoothing and
    scale set above the loss curves."""
    smoothing = float(st.session_state.get("live.smoothing", 0.6))
    log_y = bool(st.session_state.get("live.log", False))
    figs = dict(_curve_figures(run, smoothing, log_y))
    refresh.ended_since_page_run(every, run.snapshot().status)
    if "eval" in figs:
        st.caption(GROUP_TITLES["eval"])
        live_chart(figs["eval"], key="curves.eval")


# ----- samples ---------------------------------------------------------------------------------
def samples_panel(run: AnyRun, every: float | None) -> None:
    refresh.fragment(_samples_body, None if every is None else CHARTS_EVERY_S)(run, every)


def _snapshot_choice(run: AnyRun, steps: list[int], live: bool) -> int:
    """A slider over every kept snapshot. While the run is live a "Follow newest" toggle (on by
    default) pins it to the newest snapshot; turn it off to look back. (Pinning is done by the
    toggle, not by guessing from the slider's value: a slider whose options grow every second
    can echo a stale value back.)"""
    key = f"live.snap.{run.id}"
    if len(steps) < 2:
        return steps[-1]
    follow_key = f"live.follow.{run.id}"
    c = st.columns([1, 2], vertical_alignment="bottom")  # one row: the first screen is short
    if live:
        follow = c[0].toggle("Follow newest", value=True, key=follow_key)
    else:
        # a run that ended while followed: show its last snapshot once, then leave the slider free
        follow = False
        if st.session_state.pop(follow_key, False):
            st.session_state[key] = steps[-1]
    if follow or st.session_state.get(key) not in steps:
        st.session_state[key] = steps[-1]
    return c[1].select_slider(
        "Snapshot at step",
        options=steps,
        key=key,
        disabled=follow,
        format_func=lambda s: f"{s:,}",
        help="Every snapshot is kept: turn off Follow newest and move back to see how the "
        "samples evolved.",
    )


def _samples_body(run: AnyRun, every: float | None) -> None:
    snaps = {s.step: s for s in list(run.snapshots)}
    refresh.ended_since_page_run(every, run.snapshot().status)
    st.caption("Samples")
    if not snaps:
        st.info("Waiting for the first samples…", icon=":material/hourglass_empty:")
        return
    steps = sorted(snaps)
    step = _snapshot_choice(run, steps, live=every is not None)
    snap = snaps[step]
    kind = snap.kind or (DATASETS[run.dataset_name].kind if run.dataset_name in DATASETS else "")
    draw_snapshot(run, kind, snap.payload, step, key=f"samples.{kind}")


def draw_snapshot(run: AnyRun, kind: str, payload: Any, step: int, key: str) -> None:
    """One sample snapshot as the live page and the replay show it, the kind's way."""
    if kind in VIEWS:
        view_of(kind).live(run, payload, step, key)
    else:  # a run whose kind is unknown here (its dataset is gone): what it holds
        st.write(payload)


def _replay_snapshot(run: AnyRun, step: int) -> None:
    """The samples at `step`; for a run that kept its weights (2D points), the whole canvas as
    it was then: the discriminator's field, the generator's manifold and the samples."""
    snap = next(s for s in run.snapshots if s.step == step)
    if kind_of(snap.kind).keeps_view_weights and inside_points.replay_canvas(
        run, step, key="replay.samples"
    ):
        return
    draw_snapshot(run, snap.kind, snap.payload, step, key="replay.samples")


def _loss_figure(run: AnyRun):
    smoothing = float(st.session_state.get("live.smoothing", 0.6))
    log_y = bool(st.session_state.get("live.log", False))
    return dict(_curve_figures(run, smoothing, log_y)).get("loss")


def _real_items(run: AnyRun) -> np.ndarray | None:
    return kind_of(run.kind).reference(real_of(run))


REPLAY_VIEWS = replay.Views(_replay_snapshot, _loss_figure, _real_items)
