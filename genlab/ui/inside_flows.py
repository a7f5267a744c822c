"""The "Inside the model" views of diffusion / flow models (a method whose `inside` lists
"process") and of attention models ("attention"), computed by genlab.views.flows on the CPU
copy of the model that genlab.views.model.VIEWS keeps (never the training thread's module).

2D points get their own canvas (`panel_points`, in place of the GAN canvas); the image and text
views join the view choice of genlab.ui.inside_kinds (registered in its VIEW_FUNCS below).
"""

from __future__ import annotations

from typing import Any

import streamlit as st
import torch

from genlab.data import Dataset
from genlab.figures import flows as viz_flows
from genlab.ui import explain, inside_kinds
from genlab.ui.livechart import live_chart
from genlab.views import flows as inspect_flows
from genlab.views import text as text_views
from genlab.views.model import VIEWS

SLOW_EVERY_S = 5.0  # a view costs a full sampling run: refresh it slower than the curves
N_REAL = 600
STEP_CHOICES = (1, 2, 5, 10, 20, 50, 100, 250, 1000)


def panel_points(run: Any, every: float | None) -> None:
    """The 2D process canvas, below the curves and samples of the live view."""
    st.markdown("#### Inside the model")
    st.fragment(_points_body, run_every=None if every is None else SLOW_EVERY_S)(run, every)


def _points_body(run: Any, every: float | None) -> None:
    vm = VIEWS.get(run)
    data = run.real_data()
    if vm is None or data is None:
        st.info("Waiting for the first copy of the model…", icon=":material/hourglass_empty:")
        return
    m = vm.method
    cols = st.columns(len(viz_flows.LAYERS) + 1)
    layers = [
        k
        for col, (k, label) in zip(cols, viz_flows.LAYERS.items())
        if col.toggle(label, value=True, key=f"inside.flows.{k}.{run.id}")
    ]
    with cols[-1]:
        cls = inside_kinds._class_choice(m, f"inside.flows.cls.{run.id}")
    y = None if cls is None else torch.full((400,), int(cls), dtype=torch.long)
    version = (run.id, vm.version, vm.stamp)
    height = explain.chart_height(540)

    def build():
        view = inspect_flows.process_frames(m, data.x_val[:N_REAL], y=y, step=vm.step)
        return view, viz_flows.process_figure(view, layers, height, uirevision=f"{run.id}-flow")

    view, fig = inside_kinds._cached((*version, "flows", tuple(layers), cls, height), build)
    live_chart(fig, key="inside.flows.fig")
    st.caption(
        f"Weights at step {vm.step:,}; the sampler's path in {len(view.levels) - 1} shown steps "
        f"of {view.nfe} network evaluations per sample. Move the slider over the noise level t "
        "(1 = pure noise, 0 = data) or press play."
    )
    for key in ("flows.process", "flows.field", "flows.noising", "flows.loss_levels"):
        explain.note(key)


# ----- images: the reverse process and the cost of sampling steps -------------------------------
def view_process(m, data: Dataset, version: tuple, caps: set[str]) -> None:
    explain.note("images.reverse")
    k = st.slider("Noise levels shown", 4, 12, 8, key="inside.process.k")
    cell = inside_kinds._cell()
    st.caption("Reverse process: from noise (left) to samples (right), one sample per row.")
    st.image(
        inside_kinds._cached(
            (*version, "reverse", k, cell), lambda: inspect_flows.reverse_strip(m, k=k, cell=cell)
        )
    )
    st.caption("Forward process: validation images carried to the same noise levels.")
    st.image(
        inside_kinds._cached(
            (*version, "forward", k, cell),
            lambda: inspect_flows.forward_strip(m, data.x_val[:4], k=k, cell=cell),
        )
    )
    explain.note("images.steps")
    steps = st.select_slider(
        "Sampling steps (this view only; the run's own setting is a live knob)",
        options=STEP_CHOICES,
        value=min(STEP_CHOICES, key=lambda s: abs(s - m.cfg.sample_steps)),
        key="inside.process.steps",
    )
    cost = inside_kinds._cached(
        (*version, "steps", steps, cell), lambda: inspect_flows.step_cost(m, steps, cell=cell)
    )
    st.image(cost.png)
    st.caption(
        f"{cost.steps} steps: {cost.nfe} network evaluations and {cost.ms_per_sample:.1f} ms per "
        "sample on this server's CPU (the same noise at every setting)."
    )


# ----- text: attention maps beside the per-character probabilities ------------------------------
def view_attention(m, data: Dataset, version: tuple, caps: set[str]) -> None:
    explain.note("text.attention")
    c = st.columns([2, 1])
    typed = (
        c[0].text_input("Type a string", key="inside.att.typed", placeholder="e.g. your name")
    ).strip()
    seed = c[1].number_input("Seed of a generated one", 0, 10_000, 1, key="inside.att.seed")
    text = typed or text_views.generated_strings(m, 1, int(seed))[0]
    try:
        att = inside_kinds._cached(
            (*version, "att", text), lambda: inspect_flows.attention_maps(m, text)
        )
        heat = inside_kinds._cached(
            (*version, "heat.typed", text), lambda: text_views.char_heat(m, [text])
        )
    except ValueError as e:
        st.error(str(e))
        return
    st.caption(f"Reading {text!r}" + ("" if typed else " (generated)") + ":")
    st.html(text_views.heat_html(heat, 26 if explain.teaching() else 20))
    fig = viz_flows.attention_figure(*att, height=explain.chart_height(140 * att[0].shape[0]))
    live_chart(fig, key="inside.att.fig")
    st.caption("Row: the character being read; column: the earlier character it looks at.")


inside_kinds.VIEW_FUNCS.update(process=view_process, attention=view_attention)
