"""The live run view: status and controls, loss curves, samples.

Each panel is an `st.fragment(run_every=...)` that reads the run's lock-protected snapshot; the
interval is decided when the page runs, from the run's status, so an ended run is drawn once and not
polled. A panel that sees the run end calls `st.rerun()` once, and the page redraws without polling.
Charts are rebuilt only when the run's history version (or a view setting) changed; the figures are
kept in session state between refreshes.

This module lays the page out and draws its status; the controls are in `live_controls`, the
curves, quality and samples panels (and the replay's views) in `live_panels`.
"""

from __future__ import annotations

import streamlit as st

from genlab.data import DATASETS
from genlab.methods import METHODS
from genlab.runs import ENDED, REGISTRY, AnyRun, RunSnapshot
from genlab.ui import common, explain, inside, live_controls, live_panels, refresh, replay
from genlab.ui.kinds import view_of

STATUS_EVERY_S = 0.4  # status, step, speed, progress: 2.5 Hz (0.5 s drifted to 1.93 updates/s)
STATUS_MOST_S = 0.8  # however many viewers: each sees the step counter change at 1 Hz or more
PAUSED_EVERY_S = 1.0  # as the charts: a page drawn while paused keeps its interval after Resume
ERROR_LINES = 8
STATUS_BADGE = {
    "queued": ("blue", ":material/hourglass_empty:"),
    "running": ("green", ":material/play_arrow:"),
    "paused": ("orange", ":material/pause:"),
    "done": ("green", ":material/check:"),
    "stopped": ("gray", ":material/stop:"),
    "failed": ("red", ":material/error:"),
    "interrupted": ("orange", ":material/warning:"),
}


# ----- picking a run ---------------------------------------------------------------------------
def run_picker() -> None:
    st.title("Live run")
    runs = sorted(REGISTRY.runs(), key=lambda r: r.created, reverse=True)
    if not runs:
        st.info(
            "No run is training in this server. Start one on the Train page, or open a saved "
            "run from the Runs page."
        )
        st.page_link(common.PAGE_FILES["train"], label="Train a model", icon=":material/add:")
        return
    st.caption("Runs started in this server, newest first:")
    for run in runs:
        snap = run.snapshot()
        st.page_link(
            common.PAGE_FILES["live"],
            query_params={"run": run.id},
            label=(f"{run.name} · " if run.name else "")
            + f"{snap.method} on {snap.dataset} · {snap.status} · step "
            f"{snap.step:,}/{snap.steps:,} · {run.id}",
            icon=STATUS_BADGE.get(snap.status, ("gray", None))[1],
        )


# ----- the view --------------------------------------------------------------------------------
def poll_interval(run: AnyRun, status: str) -> float | None:
    """Poll while the run can still change; None (no polling) once it has ended."""
    if not run.in_process or status in ENDED:
        return None
    return PAUSED_EVERY_S if status == "paused" else STATUS_EVERY_S


def live_view(run_id: str) -> None:
    run = common.find_run(run_id)
    if run is None:
        st.title("Live run")
        st.error(f"No run {run_id!r} here: not live in this server and not in its run store.")
        st.page_link(common.PAGE_FILES["train"], label="Train a model", icon=":material/add:")
        return
    snap = run.snapshot()
    every = poll_interval(run, snap.status)
    if every is not None:
        refresh.page_pace()
    header(run, snap)
    status_panel(run, every, snap.status)
    live = run.in_process and snap.status not in ENDED
    if live:
        live_controls.controls(run, snap)
    if not live:
        live_controls.resume_panel(run, snap)
        replay.panel(run, live_panels.REPLAY_VIEWS)  # play the run back: samples, a cursor
    # the first screen (1280x900): the run's main visual beside its loss curves; the quality
    # metrics as small multiples below. For a kind drawn on a canvas (2D points) the main visual
    # is the canvas (real and generated points, D's field, G's manifold), and the samples with
    # their slider follow. On a phone the columns stack in this same order.
    canvas = view_of(run.kind).canvas
    main_col, curves_col = st.columns([3, 2], gap="medium")
    with main_col:
        if canvas:
            inside.panel(run, every)
        else:
            live_panels.samples_panel(run, every)
    with curves_col:
        live_panels.curves_panel(run, every)
    if live and common.can_control():
        live_controls.step_controls(run)  # under the canvas they act on, like a player's buttons
    if live:
        if not explain.teaching():  # teaching mode hides the advanced knobs
            live_controls.live_knobs(run)
    live_panels.quality_panel(run, every)
    if canvas:
        live_panels.samples_panel(run, every)
    else:
        inside.panel(run, every)


def header(run: AnyRun, snap: RunSnapshot) -> None:
    method = METHODS[snap.method].label if snap.method in METHODS else snap.method
    data = DATASETS[snap.dataset].label if snap.dataset in DATASETS else snap.dataset
    st.subheader(f"{run.name} · {method} on {data}" if run.name else f"{method} on {data}")
    where = "live in this server" if run.in_process else "read from disk (read-only)"
    st.caption(f"Run `{snap.id}` · {where} · device {snap.device}")


def status_panel(run: AnyRun, every: float | None, page_status: str) -> None:
    refresh.fragment(_status_body, every, STATUS_MOST_S)(run, every, page_status)


def _status_body(run: AnyRun, every: float | None, page_status: str) -> None:
    snap = run.snapshot()
    if every is not None and snap.status != page_status:
        # paused, resumed or ended since the page was drawn: redraw the page once, so the
        # controls (outside this fragment) and the polling interval follow the new status
        st.rerun()
    if every is not None:
        refresh.note_viewer()  # still watching: it counts for the pace
    c = st.columns([1.2, 1.5, 1, 1.4])
    color, icon = STATUS_BADGE.get(snap.status, ("gray", None))
    with c[0]:
        st.caption("Status")
        st.badge(snap.status, color=color, icon=icon)
    c[1].metric("Step", f"{snap.step:,} / {snap.steps:,}")
    c[2].metric("Steps/s", f"{snap.steps_per_s:,.0f}" if snap.steps_per_s else "–")
    c[3].metric(
        "Elapsed · ETA",
        f"{common.fmt_duration(snap.elapsed_s)} · {common.fmt_duration(snap.eta_s)}",
    )
    frac = min(1.0, snap.step / snap.steps) if snap.steps else 0.0
    st.progress(frac)  # its ETA is in the metric beside the step: one line less on screen
    if snap.stop:
        st.caption(stop_line(snap.stop))
    if snap.error:
        lines = common.public_text(snap.error).strip().splitlines()
        more = "\n\n(…)" if len(lines) > ERROR_LINES else ""
        st.error("Run failed: " + "\n".join(lines[:ERROR_LINES]) + more, icon=":material/error:")


def stop_line(stop: dict) -> str:
    """stop=auto in one line: why it stopped and what it kept, or where it stands."""
    key, best, at = stop.get("measure"), stop.get("best"), stop.get("best_step")
    best_text = f"best {key} {best:.4g} at step {at:,}" if key and best is not None else ""
    drops = "".join(
        f" · lr ×{d['factor']:g} at step {d['step']:,} (plateau)" for d in stop.get("drops", [])
    )
    if stop.get("reason"):
        kept = stop.get("kept_step")
        kept_text = f"; kept the weights of step {kept:,}" if kept is not None else ""
        return f"Stopped: {stop['reason']}{kept_text}" + (f" ({best_text})" if best_text else "")
    if not key:
        return "Auto stop: waiting for the first evaluation"
    return (
        f"Auto stop on {key}: {best_text}, {stop.get('since', 0)} of "
        f"{stop.get('patience', 0)} evaluations without gain{drops}"
    )
