"""Replay of an ended run, like a video: one timeline (a step slider over the kept snapshots,
Play/Pause, a speed) drives the sample snapshot at that step and a cursor on the loss curves; the
replay exports as an animated GIF (genlab.figures.replay) for slides; a 2D run's frames show D's
field under the points, from the weights the run kept (as the replay's canvas).

While it plays, a fragment advances the timeline one snapshot per tick (its interval is the
speed); Play and Pause act in callbacks outside the fragment, so the page reruns and the
fragment's interval follows. The live view passes in how it draws a snapshot, its loss figure
and the real points (`Views`): the replay shows them as the live page does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from genlab.figures import replay
from genlab.kinds import kind_of
from genlab.ui.livechart import live_chart
from genlab.views.model import kept_weights_models
from genlab.views.points import critic_map

SPEEDS = (1, 2, 4, 8)  # snapshots per second
MAX_FRAMES = 120  # a longer run's GIF takes every k-th snapshot (the last one always)
FIELD_GRID = 48  # D's field under a 2D frame: cells per side (smoothed to the frame's size)


@dataclass(frozen=True)
class Views:
    snapshot: Callable[[Any, int], None]  # (run, step): draw the samples kept at that step
    loss_figure: Callable[[Any], Any]  # run -> its (shared, never mutated) loss figure or None
    real_items: Callable[[Any], np.ndarray | None]  # run -> the real items a GIF frame shows


def panel(run: Any, views: Views) -> None:
    snaps = list(run.snapshots)
    if len(snaps) < 2:
        return
    steps = [s.step for s in snaps]
    play_key, step_key = f"replay.play.{run.id}", f"replay.step.{run.id}"
    playing = bool(st.session_state.get(play_key, False))
    kind = snaps[-1].kind
    with st.container(border=True):
        c = st.columns([1, 1.3, 1.3], vertical_alignment="bottom")
        c[0].button(
            "Pause" if playing else "Play",
            icon=":material/pause:" if playing else ":material/play_arrow:",
            key=f"replay.toggle.{run.id}",
            width="stretch",
            on_click=_toggle,
            args=(play_key, step_key, steps),
            help="Play the run back, one kept snapshot after another.",
        )
        speed = c[1].selectbox(
            "Speed",
            SPEEDS,
            index=1,
            key=f"replay.speed.{run.id}",
            format_func=lambda v: f"{v} snapshots/s",
        )
        if kind_of(kind).replays:
            gif_key = f"replay.gif.{run.id}"
            if c[2].button("Make a GIF", key=f"replay.makegif.{run.id}", width="stretch"):
                st.session_state[gif_key] = make_gif(run, int(1000 / speed), views)
            if gif_key in st.session_state:
                c[2].download_button(
                    "Download the GIF",
                    data=st.session_state[gif_key],
                    file_name=f"{run.id}.gif",
                    mime="image/gif",
                    key=f"replay.download.{run.id}",
                    width="stretch",
                )
        every = 1.0 / speed if playing else None
        st.fragment(_timeline, run_every=every)(run, steps, play_key, views)


def _toggle(play_key: str, step_key: str, steps: list[int]) -> None:
    playing = not st.session_state.get(play_key, False)
    st.session_state[play_key] = playing
    if playing and st.session_state.get(step_key) in (None, steps[-1]):
        st.session_state[step_key] = steps[0]  # from the start, as a player does at the end


def _timeline(run: Any, steps: list[int], play_key: str, views: Views) -> None:
    key = f"replay.step.{run.id}"
    if st.session_state.get(key) not in steps:
        st.session_state[key] = steps[-1]
    if st.session_state.get(play_key):
        i = steps.index(st.session_state[key])
        if i + 1 < len(steps):
            st.session_state[key] = steps[i + 1]
        else:  # the end: stop, and redraw the page so the fragment stops ticking
            st.session_state[play_key] = False
            st.rerun()
    step = st.select_slider(
        "Replay at step", options=steps, key=key, format_func=lambda s: f"{s:,}"
    )
    left, right = st.columns([3, 2], gap="medium")
    with left:
        views.snapshot(run, step)
    with right:
        fig = views.loss_figure(run)
        if fig is not None:
            live_chart(_with_cursor(fig, step), key="replay.loss")


def _with_cursor(fig, step: int):
    """A copy of a shared figure (never mutated) with a vertical line at `step`."""
    import plotly.graph_objects as go

    out = go.Figure(fig)
    out.add_vline(x=step, line=dict(color="rgba(30, 30, 30, 0.8)", width=2))
    return out


def make_gif(run: Any, ms_per_frame: int, views: Views) -> bytes:
    snaps = list(run.snapshots)
    k = max(1, -(-len(snaps) // MAX_FRAMES))
    picked = snaps[::k] if snaps[::k][-1] is snaps[-1] else [*snaps[::k], snaps[-1]]
    kind = kind_of(snaps[-1].kind)
    real = views.real_items(run) if kind.reference_n else None
    fields = _fields(run, picked, real) if kind.keeps_view_weights else {}
    frames = [
        replay.captioned(kind.frame(s.payload, real, fields.get(s.step)), s.step) for s in picked
    ]
    return replay.gif(frames, ms_per_frame)


def _fields(run: Any, picked: list, real: np.ndarray | None) -> dict[int, Any]:
    """D's field under each frame, as the replay's canvas draws it, from the weights the run
    kept (step -> underlay); empty for a method without D or a run that kept no weights."""
    box = replay.frame_box(picked[-1].payload, real)
    out = {}
    for step, m in kept_weights_models(run.dir.path, [s.step for s in picked]):
        c = critic_map(m, box, n=FIELD_GRID)
        if c is None:
            return {}
        out[step] = replay.field_image(c.z, c.mid, c.label == "P(real)")
    return out
