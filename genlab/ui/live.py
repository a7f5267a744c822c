"""The live run view: status and controls, loss curves, samples.

Each panel is an `st.fragment(run_every=...)` that reads the run's lock-protected snapshot; the
interval is decided when the page runs, from the run's status, so an ended run is drawn once and not
polled. A panel that sees the run end calls `st.rerun()` once, and the page redraws without polling.
Charts are rebuilt only when the run's history version (or a view setting) changed; the figures are
kept in session state between refreshes.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import streamlit as st

from genlab import params
from genlab.data import DATASETS
from genlab.figures import curves
from genlab.kinds import kind_of
from genlab.methods import METHODS
from genlab.runs import ENDED, REGISTRY, AnyRun, Run, RunSnapshot
from genlab.runs.run import DELAYS_S
from genlab.ui import common, explain, forms, inside, refresh, replay
from genlab.ui.kinds import VIEWS, real_of, view_of
from genlab.ui.livechart import live_chart

STATUS_EVERY_S = 0.5  # status, step, speed, progress: 2 Hz
CHARTS_EVERY_S = 1.0  # curves and samples (redrawn only when something new arrived)
PAUSED_EVERY_S = 1.0  # the same: a page drawn while paused keeps its interval after Resume
ERROR_LINES = 8
APPLIED_KEY = "genlab.live.applied"  # the last Apply: run id, "lr_d=0.0004", step, time
APPLIED_SHOWN_S = 8.0
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
    header(run, snap)
    status_panel(run, every, snap.status)
    live = run.in_process and snap.status not in ENDED
    if live:
        controls(run, snap)
    if not live:
        resume_panel(run, snap)
        replay.panel(run, REPLAY_VIEWS)  # play the run back: samples, a cursor on the curves
    # the first screen (1280x900): the run's main visual beside its loss curves; the quality
    # metrics as small multiples below. For 2D points the main visual is the canvas (real and
    # generated points, D's field, G's manifold), and the samples with their slider follow.
    # On a phone the columns stack in this same order.
    points = run.kind == "points"
    main_col, curves_col = st.columns([3, 2], gap="medium")
    with main_col:
        if points:
            inside.panel(run, every)
        else:
            samples_panel(run, every)
    with curves_col:
        curves_panel(run, every)
    if live and common.can_control():
        step_controls(run)  # under the canvas they act on, like a player's buttons
    if live:
        if not explain.teaching():  # teaching mode hides the advanced knobs
            live_knobs(run)
    quality_panel(run, every)
    if points:
        samples_panel(run, every)
    else:
        inside.panel(run, every)


def header(run: AnyRun, snap: RunSnapshot) -> None:
    method = METHODS[snap.method].label if snap.method in METHODS else snap.method
    data = DATASETS[snap.dataset].label if snap.dataset in DATASETS else snap.dataset
    st.subheader(f"{run.name} · {method} on {data}" if run.name else f"{method} on {data}")
    where = "live in this server" if run.in_process else "read from disk (read-only)"
    st.caption(f"Run `{snap.id}` · {where} · device {snap.device}")


def status_panel(run: AnyRun, every: float | None, page_status: str) -> None:
    refresh.fragment(_status_body, every)(run, every, page_status)


def _status_body(run: AnyRun, every: float | None, page_status: str) -> None:
    snap = run.snapshot()
    if every is not None and snap.status != page_status:
        # paused, resumed or ended since the page was drawn: redraw the page once, so the
        # controls (outside this fragment) and the polling interval follow the new status
        st.rerun()
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


def _control(act, what: str) -> None:
    """Button callback: act on the run only when this session may control it (checked here, on
    the server: a disabled button is only a courtesy)."""
    if common.require_control(what):
        act()


def _step_n(run: Run) -> None:
    if common.require_control("stepping"):
        run.step_n(int(st.session_state["ctl.n"]))


def controls(run: Run, snap: RunSnapshot) -> None:
    """Pause/Resume, Step N (train N steps, then pause), Stop. They live outside the polling
    fragment (a click is never lost to a refresh) and act in callbacks, before the page reruns;
    the status fragment redraws the page when the status changes."""
    locked = not common.can_control()  # read-only demo: shown, disabled, and refused server-side
    c = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    if snap.status == "paused":
        c[0].button(
            "Resume",
            icon=":material/play_arrow:",
            key="ctl.resume",
            width="stretch",
            on_click=_control,
            args=(run.resume, "resuming"),
            disabled=locked,
        )
    else:
        c[0].button(
            "Pause",
            icon=":material/pause:",
            key="ctl.pause",
            width="stretch",
            on_click=_control,
            args=(run.pause, "pausing"),
            disabled=locked,
        )
    # Defaults go in `value=`, not into session state before the widget: a value seeded that way
    # reaches the browser only with the run that set it, and a page run cut short by a rerun
    # (the fragments redraw the page when the status changes) left it showing the minimum.
    n = c[1].number_input(
        "Steps",
        value=100,
        min_value=1,
        max_value=1_000_000,
        step=50,
        key="ctl.n",
        help="Train this many steps, then pause.",
        disabled=locked,
    )
    c[2].button(
        f"Step {n:,}",
        icon=":material/skip_next:",
        key="ctl.step",
        width="stretch",
        on_click=_step_n,
        args=(run,),
        disabled=locked,
    )
    c[3].button(
        "Stop",
        icon=":material/stop:",
        key="ctl.stop",
        width="stretch",
        on_click=_control,
        args=(run.stop, "stopping"),
        help="Stop for good (a checkpoint is saved; you can resume).",
        disabled=locked,
    )
    if locked:
        # the phase steps and slow motion (under the main visual) act on the run too: hidden
        common.readonly_note("Run controls")


def _step_phases(run: Run, phases: tuple[str, ...] | None) -> None:
    if common.require_control("stepping"):
        run.step_n(1, phases)


def _set_delay(run: Run, key: str) -> None:
    if common.require_control("slow motion"):
        run.set_delay(float(st.session_state[key]))


def step_controls(run: Run) -> None:
    """One step of chosen phases ("Train D only", "Train G only", "Train both", for a method
    that declares `phases`), then pause; and slow motion: a sleep after every step. The views
    refresh after each step (the worker hands them its weights when it pauses)."""

    phases = METHODS[run.method_name].phases
    c = st.columns([1, 1, 1, 1], vertical_alignment="bottom")
    for i, phase in enumerate(phases[:2]):
        c[i].button(
            f"Train {phase.upper()} only",
            key=f"ctl.phase.{phase}",
            width="stretch",
            on_click=_step_phases,
            args=(run, (phase,)),
            help=f"One step that updates only {phase.upper()}, then pause.",
        )
    if phases:
        c[2].button(
            "Train both" if len(phases) == 2 else "Train all",
            key="ctl.phase.all",
            width="stretch",
            on_click=_step_phases,
            args=(run, None),
            help="One full step, then pause.",
        )
    key = f"ctl.delay.{run.id}"
    nearest = min(DELAYS_S, key=lambda d: abs(d - run.delay))
    c[3].selectbox(
        "Slow motion",
        DELAYS_S,
        index=DELAYS_S.index(nearest),  # a default in index=, not seeded state (see above)
        key=key,
        format_func=lambda d: f"{d * 1000:.0f} ms per step" if d else "off (full speed)",
        on_change=_set_delay,
        args=(run, key),
        help="Sleep after every step, so you can follow the views as the run learns.",
    )
    if phases:
        explain.note("points.step_buttons")


def resume_panel(run: AnyRun, snap: RunSnapshot) -> None:
    """Continue an ended (or saved) run from its last checkpoint, in the same folder; or, after a
    divergence above all, from that checkpoint with every learning rate scaled down."""
    d = run.dir
    if not d.has_checkpoint():
        return
    locked = not common.can_control()
    diverged = snap.status == "failed" and "diverged" in (snap.error or "")
    with st.container(border=True):
        target = max(snap.steps, snap.step + 1)
        if snap.step >= snap.steps:  # finished: offer to train further
            target = snap.steps + max(1, snap.steps // 2)
        if diverged:
            st.caption(
                ":material/trending_down: The run diverged: resume from its last good "
                "checkpoint with a lower learning rate."
            )
        c = st.columns([2, 1], vertical_alignment="bottom")
        key = f"resume.{snap.id}"
        common.state(key, int(target))
        steps = c[0].number_input(
            "Train until step",
            min_value=snap.step + 1,
            max_value=10_000_000,
            step=500,
            key=key,
            disabled=locked,
        )
        plain = c[1].button(
            "Resume",
            icon=":material/play_arrow:",
            key="resume",
            type="secondary" if diverged else "primary",
            width="stretch",
            disabled=locked,
        )
        c = st.columns([2, 1], vertical_alignment="bottom")
        lr_key = f"resume.lr.{snap.id}"
        common.state(lr_key, 0.5)
        scale = c[0].number_input(
            "Learning-rate factor",
            min_value=0.001,
            max_value=1.0,
            step=0.1,
            format="%.3f",
            key=lr_key,
            disabled=locked,
            help="Every learning rate (lr, lr_g, lr_d) is multiplied by this; the change is "
            "recorded in the run's history of live changes.",
        )
        lower = c[1].button(
            "Resume with lower lr",
            icon=":material/trending_down:",
            key="resume.lower",
            type="primary" if diverged else "secondary",
            width="stretch",
            disabled=locked,
        )
        if locked:
            common.readonly_note("Resuming")
        if (plain or lower) and common.require_control("resuming"):
            try:
                common.resume_run(snap.id, int(steps), lr_scale=float(scale) if lower else None)
            except ValueError as e:
                st.error(f"Cannot resume: {common.public_text(str(e))}")
            else:
                st.session_state.pop("genlab.curves", None)
                st.rerun()


def live_knobs(run: Run) -> None:
    """The hyperparameters declared live=True, changeable while the run trains."""
    knobs = [p for p in params.describe(METHODS[run.method_name].Config) if p.live]
    if not knobs:
        return
    with st.expander("Change hyperparameters while it trains"):
        current = params.to_dict(run.cfg)
        scope = f"live.{run.id}"
        cols = st.columns(min(3, len(knobs)))
        values = {}
        for i, p in enumerate(knobs):
            with cols[i % len(cols)]:
                values[p.name] = forms.param_widget(p, scope, current[p.name])
        changes = {k: v for k, v in values.items() if v != current[k]}
        locked = not common.can_control()
        if locked:
            common.readonly_note("Live changes")
        if st.button("Apply", key="live.apply", disabled=not changes or locked) and (
            common.require_control("changing hyperparameters")
        ):
            try:
                run.set_live(**changes)
            except ValueError as e:
                st.error(str(e))
            else:
                text = ", ".join(f"{k}={forms.format_value(v)}" for k, v in changes.items())
                # shown by the redraw (which also greys Apply out): a toast sent in this run
                # was lost to the polling panels' reruns (seen in the browser)
                step = run.snapshot().step
                st.session_state[APPLIED_KEY] = dict(
                    run=run.id, text=text, step=step, t=time.time()
                )
                st.rerun()
        applied = st.session_state.get(APPLIED_KEY) or {}
        if applied.get("run") == run.id and time.time() - applied["t"] < APPLIED_SHOWN_S:
            msg = f"Applied at step {applied['step']:,}: {applied['text']}"
            st.success(msg, icon=":material/check:")
            if not applied.get("toasted"):  # the toast once, the message for a few seconds
                st.toast(msg, icon=":material/tune:")
                applied["toasted"] = True
        if run.live_changes:
            st.caption(
                "Changed so far: "
                + "; ".join(
                    f"step {c['step']:,}: {c['key']}={c['value']}" for c in run.live_changes[-8:]
                )
            )
        restart_offer(run)


def restart_offer(run: Run) -> None:
    """The architecture knobs (not live) cannot change in a training run: pick new values and
    restart, i.e. start a new run with the same data, training settings and current live values,
    and stop this one (its checkpoint stays, resumable)."""
    config = METHODS[run.method_name].Config
    fixed = [p for p in params.describe(config) if not p.live and not p.advanced]
    if not fixed:
        return
    st.caption("Architecture: these need a restart")
    current = params.to_dict(run.cfg)
    cols = st.columns(min(4, len(fixed)))
    values = {}
    for i, p in enumerate(fixed):
        with cols[i % len(cols)]:
            values[p.name] = forms.param_widget(p, f"arch.{run.id}", current[p.name])
    changes = {k: v for k, v in values.items() if v != current[k]}
    if not changes:
        return
    st.warning(
        f"{', '.join(changes)} cannot change while the run trains: restart it with the new "
        "setup? (a new run from scratch; this one stops)",
        icon=":material/restart_alt:",
    )
    if st.button(
        "Restart with these settings", key="live.restart", disabled=not common.can_control()
    ) and common.require_control("restarting"):
        try:
            new = Run(
                run.method_name,
                run.dataset_name,
                {**current, **changes},
                params.to_dict(run.train),
                data_file=run.data_file,
                data_options=run.data_options,
            ).start()
        except ValueError as e:
            st.error(f"Cannot restart: {common.public_text(str(e))}")
            return
        run.stop()
        st.switch_page(common.PAGE_FILES["live"], query_params={"run": new.id})


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
        value=0.6,  # not seeded in session state: see controls()
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
    """Every metric group's figure for the run's history version, built once per process
    (`shared`) and kept in this session until the version or a setting changes."""
    cache_key = (
        run.id,
        run.history.version,
        smoothing,
        log_y,
        len(run.snapshot().live_changes),
        explain.teaching(),
    )
    cached = st.session_state.get("genlab.curves")
    if cached is None or cached[0] != cache_key:
        figs = refresh.shared(
            ("curves", type(run).__name__, *cache_key),
            lambda: build_curve_figures(run, smoothing, log_y),
        )
        cached = (cache_key, figs)
        st.session_state["genlab.curves"] = cached
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
    snap = next(s for s in run.snapshots if s.step == step)
    draw_snapshot(run, snap.kind, snap.payload, step, key="replay.samples")


def _loss_figure(run: AnyRun):
    smoothing = float(st.session_state.get("live.smoothing", 0.6))
    log_y = bool(st.session_state.get("live.log", False))
    return dict(_curve_figures(run, smoothing, log_y)).get("loss")


def _real_items(run: AnyRun) -> np.ndarray | None:
    return kind_of(run.kind).reference(real_of(run))


REPLAY_VIEWS = replay.Views(_replay_snapshot, _loss_figure, _real_items)
