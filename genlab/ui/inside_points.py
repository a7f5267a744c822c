"""The live view's 2D canvas (issue #6): D's heatmap, G's manifold, the gradient arrows and a
VAE's latent plane, as layers the user toggles, redrawn as the run trains.

Thread safety: the worker trains the live module; this page never touches it. A live run hands
out a copy of its weights (`Run.view_state`, taken by the worker between steps, at each pause
and at the end); a run read from disk, or one that ended without a copy, is rebuilt from its last
checkpoint. The views of one copy are computed once per process (`refresh.shared`, keyed on the
copy's version) and the canvas is redrawn only when a new copy arrived or a toggle changed.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from genlab.figures import inside as viz_inside
from genlab.methods import METHODS
from genlab.ui import explain, refresh
from genlab.ui.livechart import live_chart
from genlab.views import model
from genlab.views import points as ip

VIEW_EVERY_S = 1.0
FIRST_VIEW_WAIT_S = 0.25  # a new run hands out its weights once its model is built
N_REAL = 1000
DEFAULT_OFF = {"arrows"}  # busy on a fresh run; one click away
# teaching-mode explanations (genlab.ui.explain) of each layer
NOTES = {
    "critic": "points.heatmap",
    "manifold": "points.manifold",
    "arrows": "points.arrows",
    "posterior": "points.vae_posterior",
}
LEGEND = {
    "critic": "background: D's verdict (green = real, purple = generated, white = cannot tell)",
    "manifold": "grid: noise space mapped through G",
    "arrows": "orange arrows: where G's loss pushes each generated point",
    "posterior": "right: the encoder's mean codes of the data",
}


def panel(run: Any, every: float | None) -> None:
    """The canvas and its toggles, below the curves and samples of `live.live_view`."""
    st.markdown("#### Inside the model")
    refresh.fragment(_body, None if every is None else VIEW_EVERY_S)(run, every)


def compute_view(run: Any, cls: int | None, wait: bool = True) -> tuple[tuple, ip.PlaneView] | None:
    """(its key, the PlaneView of the run's latest weights), computed once per process per
    version of the weights and class; without `wait`, in the background (`refresh.shared_latest`):
    the newest finished view comes back at once, possibly of older weights."""
    src = model.weights_source(run, wait=FIRST_VIEW_WAIT_S)
    real = run.real_data()
    if src is None or real is None:
        return None
    key, build = src

    def make() -> ip.PlaneView:
        m, step = build()
        y = real.y_val[:N_REAL] if real.y_val is not None else None
        return ip.plane_view(m, real.x_val[:N_REAL], y, step=step, cls=cls)

    key = ("inside-points", *key, cls)
    return refresh.shared_latest(("inside-points", run.id, cls), key, make, wait=wait)


def _layer_toggles(run_id: str, available: list[str], labels: dict[str, str]) -> list[str]:
    cols = st.columns(len(available))
    chosen = []
    for col, layer in zip(cols, available):
        key = f"inside.layer.{layer}.{run_id}"
        # the default as value=, not seeded in session state (see genlab.ui.live_controls.controls)
        if col.toggle(labels[layer], value=layer not in DEFAULT_OFF, key=key):
            chosen.append(layer)
    return chosen


def _body(run: Any, every: float | None) -> None:
    real = run.real_data()
    if real is None:
        st.info("The run's data cannot be read, so there is nothing to draw on.")
        return
    spec = real.spec
    cls = None
    if spec.labelled and _conditional(run):
        key = f"inside.cls.{run.id}"
        cls = st.columns([1, 2])[0].selectbox(
            "Class",
            list(range(spec.n_classes)),
            index=0,
            key=key,
            format_func=lambda k: spec.class_names[k] if k < len(spec.class_names) else str(k),
            help="A conditional GAN has one discriminator verdict and one generator per class.",
        )
    # a page that will not poll, or a paused run (a step button was just pressed: show its
    # result now), computes a new view here; a training run's page gets it in the background
    wait = every is None or run.snapshot().status == "paused"
    computed = compute_view(run, cls, wait=wait)
    refresh.ended_since_page_run(every, run.snapshot().status)
    if computed is None:
        st.info("Waiting for the first weights…", icon=":material/hourglass_empty:")
        return
    view_key, view = computed
    labels = viz_inside.layer_labels(view)
    chosen = _layer_toggles(run.id, viz_inside.available_layers(view), labels)
    real_x = real.x_val[:N_REAL].numpy()
    real_y = real.y_val[:N_REAL].numpy() if real.y_val is not None else None
    fig_key = (view_key, tuple(chosen), explain.teaching())

    def build() -> list:
        height = explain.chart_height(400)  # with the controls, inside one 900 px screen
        figs = [
            viz_inside.plane_figure(
                view, real_x, real_y, chosen, height=height, uirevision=f"{run.id}-plane"
            )
        ]
        if view.posterior is not None:
            figs.append(
                viz_inside.latent_figure(
                    view, spec.class_names, chosen, height=height, uirevision=f"{run.id}-latent"
                )
            )
        return figs

    # built once for every viewer of this view with these layers (it was once per browser
    # session: 16 viewers built each new canvas 16 times, in threads that share the GIL with
    # the training loop)
    figs = refresh.shared(("inside-plane", run.id, *fig_key), build)
    # one canvas: the whole width of the live view's main column, its legend under it
    cols = st.columns([1] if len(figs) == 1 else [1, 1], gap="medium")
    with cols[0]:
        live_chart(figs[0], key="inside.plane")
    if len(figs) > 1:
        with cols[1]:
            live_chart(figs[1], key="inside.latent")
    where = "data space" if len(figs) == 1 else "data space (left), latent space (right)"
    legend = [LEGEND[k] for k in LEGEND if k in chosen]
    if view.posterior is not None and "manifold" in chosen:
        legend[legend.index(LEGEND["manifold"])] = "grid: the latent grid (right) decoded (left)"
    with st.container():
        st.caption(f"Weights at step {view.step:,}; {where}. " + "; ".join(legend) + ".")
        for layer, key in NOTES.items():
            if layer in chosen:
                if layer == "manifold" and view.posterior is not None:
                    key = "points.vae_decoder_map"
                explain.note(key)


def _conditional(run: Any) -> bool:

    cls = METHODS.get(run.method_name)
    return bool(cls and cls.conditional)


def replay_canvas(run: Any, step: int, key: str) -> bool:
    """The 2D canvas as it was at `step` (the replay's timeline): the field, manifold and points
    of the newest weights the run kept at or before it, with the layers chosen on the live
    canvas. False when the run kept none that early (a run from before they were kept)."""
    kept = [s for s in run.dir.view_weight_steps() if s <= step]
    real = run.real_data()
    if not kept or real is None:
        return False
    real_x = real.x_val[:N_REAL].numpy()
    real_y = real.y_val[:N_REAL].numpy() if real.y_val is not None else None

    def make() -> ip.PlaneView:
        _, m = next(model.kept_weights_models(run.dir.path, [kept[-1]]))
        y = real.y_val[:N_REAL] if real.y_val is not None else None
        return ip.plane_view(m, real.x_val[:N_REAL], y, step=kept[-1], cls=None)

    view = refresh.shared(("replay-plane-view", run.id, kept[-1]), make)
    chosen = [
        layer
        for layer in viz_inside.available_layers(view)
        if st.session_state.get(f"inside.layer.{layer}.{run.id}", layer not in DEFAULT_OFF)
    ]
    fig = refresh.shared(
        ("replay-plane", run.id, kept[-1], tuple(chosen), explain.teaching()),
        lambda: viz_inside.plane_figure(
            view, real_x, real_y, chosen, height=explain.chart_height(400),
            uirevision=f"{run.id}-replay-plane",
        ),
    )  # fmt: skip
    live_chart(fig, key=key)
    st.caption(f"Inside the model at step {kept[-1]:,} (the weights kept nearest before it)")
    return True
