"""The live page's controls of a run: Pause/Resume, Step N and Stop; one step of chosen phases and
slow motion; resuming an ended run (with a lower learning rate after a divergence); the
hyperparameters changeable while it trains, and a restart for those that are not.

Every control acts in a callback or a button's branch, outside the polling fragments (a click is
never lost to a refresh), and is checked on the server for a session that may not control runs.
"""

from __future__ import annotations

import time

import streamlit as st

from genlab import params
from genlab.methods import METHODS
from genlab.runs import AnyRun, Run, RunSnapshot
from genlab.runs.state import DELAYS_S
from genlab.ui import common, explain
from genlab.ui.live_panels import CURVES_KEY
from genlab.ui.widgets import format_value, param_widget

APPLIED_KEY = "genlab.live.applied"  # the last Apply: run id, "lr_d=0.0004", step, time
APPLIED_SHOWN_S = 8.0


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
        label, icon, action, note = "Resume", ":material/play_arrow:", run.resume, "resuming"
    else:
        label, icon, action, note = "Pause", ":material/pause:", run.pause, "pausing"
    c[0].button(
        label,
        icon=icon,
        key=f"ctl.{label.lower()}",
        width="stretch",
        on_click=_control,
        args=(action, note),
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
                st.session_state.pop(CURVES_KEY, None)
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
                values[p.name] = param_widget(p, scope, current[p.name])
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
                text = ", ".join(f"{k}={format_value(v)}" for k, v in changes.items())
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
            values[p.name] = param_widget(p, f"arch.{run.id}", current[p.name])
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
