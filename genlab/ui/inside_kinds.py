"""The "Inside the model" section for images, sequences and text (issue #6).

Everything is computed by genlab.views (model, images, sequences, text) on a CPU copy of the
run's model (never the training thread's module): the copy is refreshed in a slow fragment while
the run trains, and a view is recomputed only when a new copy (a new step) or a view setting
arrived. Which views a kind offers is its KindView's `inside_views`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import streamlit as st
import torch

from genlab.data import Dataset
from genlab.figures import plots
from genlab.runs import sampling
from genlab.ui import common, explain
from genlab.ui.kinds import view_of
from genlab.ui.livechart import live_chart
from genlab.views import images as image_views
from genlab.views import model as view_model
from genlab.views import sequences as series_views
from genlab.views import text as text_views
from genlab.views.model import VIEWS

SLOW_EVERY_S = 5.0  # the views cost a few forward passes: refresh them slower than the curves
CACHE_KEY = "genlab.inside.cache"
CACHE_MAX = 12
SEED_A, SEED_B = 1, 2  # fixed noise: the same codes are shown as the model learns


def panel(run: Any, every: float | None) -> None:
    """Called by genlab.ui.inside.panel for every kind but 2D points."""
    box = st.expander(
        "Inside the model",
        expanded=explain.teaching(),
        icon=":material/visibility:",
        key="inside.kinds.open",
        on_change="rerun",  # tracks .open: nothing inside is computed while it is closed
    )
    if not box.open:
        return
    with box:
        st.fragment(_body, run_every=None if every is None else SLOW_EVERY_S)(run, every)


def _body(run: Any, every: float | None) -> None:
    vm = VIEWS.get(run)
    if vm is None:
        st.info(
            "Waiting for the first copy of the model (taken between training steps, or from "
            "the first checkpoint)…",
            icon=":material/hourglass_empty:",
        )
        return
    data = run.real_data()
    if data is None:
        st.warning("The run's data cannot be loaded (a deleted upload?): nothing to compare to.")
        return
    m = vm.method
    caps = _cached((run.id, "caps", vm.version, vm.stamp), lambda: view_model.capabilities(m, data))
    views = available_views(m.spec.kind, caps)
    if not views:
        st.caption("This method has no inside view for this kind of data.")
        return
    key = f"inside.view.{m.spec.kind}"
    if st.session_state.get(key) not in views:
        st.session_state[key] = next(iter(views))
    choice = st.radio("View", list(views), key=key, horizontal=True, format_func=lambda v: views[v])
    refresh = "refreshed every few seconds while it trains" if every is not None else "final"
    st.caption(f"Model at step {vm.step:,} ({refresh}).")
    version = (run.id, vm.version, vm.stamp)
    VIEW_FUNCS[choice](m, data, version, caps)


def available_views(kind: str, caps: set[str]) -> dict[str, str]:
    """{view id: label} for this data kind (its KindView's `inside_views`, in their order) and
    what the method can show."""
    return {v: label for v, label, needs in view_of(kind).inside_views if caps.issuperset(needs)}


# ----- a small per-session cache of computed views ----------------------------------------------
def _cached(key: tuple, build):
    cache: OrderedDict = st.session_state.setdefault(CACHE_KEY, OrderedDict())
    if key not in cache:
        cache[key] = build()
        while len(cache) > CACHE_MAX:
            cache.popitem(last=False)
    cache.move_to_end(key)
    return cache[key]


def _cell() -> int:
    return explain.chart_height(56)


def _critic_captions(m, data: Dataset, x: torch.Tensor, y, version: tuple, caps: set[str]):
    if "critic" not in caps:
        return None, None
    ref = _cached((*version, "ref"), lambda: image_views.real_reference(m, data))
    return image_views.score_captions(m, image_views.critic_scores(m, x, y), ref)


def _class_choice(m, key: str) -> int | None:
    if not m.conditional:
        return None
    names = m.spec.class_names or tuple(str(k) for k in range(m.spec.n_classes))
    return st.selectbox("Class", range(len(names)), key=key, format_func=lambda k: names[k])


# ----- images -----------------------------------------------------------------------------------
def view_interp(m, data: Dataset, version: tuple, caps: set[str]) -> None:
    explain.note("images.interpolation")
    c = st.columns(4)
    a = c[0].number_input("Seed A", 0, 10_000, SEED_A, key="inside.interp.a")
    b = c[1].number_input("Seed B", 0, 10_000, SEED_B, key="inside.interp.b")
    k = c[2].slider("Steps", 3, 12, 8, key="inside.interp.k")
    with c[3]:
        y = _class_choice(m, "inside.interp.y")

    def build():
        x = sampling.interpolate(m, int(a), int(b), int(k), y)
        labels = None if y is None else torch.full((len(x),), int(y), dtype=torch.long)
        cap, col = _critic_captions(m, data, x, labels, version, caps)
        return image_views.captioned_grid_png(x, int(k), cap, col, cell=_cell())

    st.image(_cached((*version, "interp", a, b, k, y, _cell()), build))
    st.caption(f"From z(seed {a}) to z(seed {b}) along the great circle, {k} steps.")
    if "critic" in caps:
        explain.note("images.critic")


def view_traverse(m, data: Dataset, version: tuple, caps: set[str]) -> None:
    explain.note("images.traversal")
    d = sampling.latent_dim(m) or 1
    c = st.columns(4)
    n_dims = c[0].slider("Dimensions", 1, min(10, d), min(5, d), key="inside.trav.n")
    seed = c[1].number_input("Seed", 0, 10_000, SEED_A, key="inside.trav.seed")
    k = c[2].slider("Steps", 3, 11, 7, step=2, key="inside.trav.k")
    with c[3]:
        y = _class_choice(m, "inside.trav.y")

    def build():
        dims, imp = image_views.traversal_dims(m, data, int(n_dims))
        x, values = image_views.traversal(m, int(seed), dims, int(k), y=y)
        labels = None if y is None else torch.full((len(x),), int(y), dtype=torch.long)
        cap, col = _critic_captions(m, data, x, labels, version, caps)
        titles = [f"z{j}" + ("" if imp is None else f" KL {imp[j]:.2f}") for j in dims]
        png = image_views.captioned_grid_png(x, int(k), cap, col, titles, cell=_cell())
        return png, values

    png, values = _cached((*version, "trav", n_dims, seed, k, y, _cell()), build)
    st.image(png)
    st.caption(
        f"Each row moves one dimension of z(seed {seed}) through "
        + ", ".join(f"{v:+.1f}" for v in values)
        + "; the other dimensions stay fixed."
    )


def view_classes(m, data: Dataset, version: tuple, caps: set[str]) -> None:
    explain.note("images.classes")
    per = st.slider("Per class", 4, 12, 8, key="inside.classes.n")

    def build():
        x, per_row = sampling.class_grid(m, int(per), SEED_A)
        y = torch.arange(max(1, m.spec.n_classes)).repeat_interleave(per_row)
        cap, col = _critic_captions(m, data, x, y, version, caps)
        names = list(m.spec.class_names) or [str(k) for k in range(m.spec.n_classes)]
        return image_views.captioned_grid_png(x, per_row, cap, col, names, cell=_cell())

    st.image(_cached((*version, "classes", per, _cell()), build))
    st.caption("The same noise in each column, a different class in each row.")


def view_verdict(m, data: Dataset, version: tuple, caps: set[str]) -> None:
    explain.note("images.critic")
    n = 8

    def build():
        x_real, x_fake, y_real, y_fake = view_model.real_and_fake(m, data, n, SEED_A)
        cap_r, col_r = _critic_captions(m, data, x_real, y_real, version, caps)
        cap_f, col_f = _critic_captions(m, data, x_fake, y_fake, version, caps)
        return image_views.captioned_grid_png(
            torch.cat([x_real, x_fake]),
            n,
            (cap_r or []) + (cap_f or []),
            (col_r or []) + (col_f or []) if col_r else None,
            ["real", "generated"],
            cell=_cell(),
        )

    st.image(_cached((*version, "verdict", _cell()), build))
    what = m.critic_scale()[0]
    st.caption(
        f"D's output ({what}) for each image on its own; green = at least as real to D as the "
        "median real image, red = less."
    )


def view_recon(m, data: Dataset, version: tuple, caps: set[str]) -> None:
    explain.note("images.reconstruction")
    n = 10

    def build():
        x, r = view_model.reconstructions(m, data, n)
        return image_views.captioned_grid_png(
            torch.cat([x, r]), n, row_titles=["original", "reconstructed"], cell=_cell()
        )

    st.image(_cached((*version, "recon", _cell()), build))
    st.caption("Validation images (not trained on) and decode(encode(x)).")


# ----- sequences --------------------------------------------------------------------------------
def view_band(m, data: Dataset, version: tuple, caps: set[str]) -> None:
    explain.note("sequences.band")
    c = st.columns([1, 1, 2])
    n = c[0].slider("Generated", 1, 16, 6, key="inside.band.n")
    seed = c[1].number_input("Seed", 0, 10_000, SEED_A, key="inside.band.seed")
    band = c[2].radio(
        "Band", ("10–90% quantiles", "mean ± std"), horizontal=True, key="inside.band.kind"
    )
    height = explain.chart_height(440 if "critic" in caps else 340)

    def build():
        view = series_views.series_view(m, data, int(n), int(seed))
        label = m.critic_scale()[0] if "critic" in caps else "D"
        return series_views.series_figure(view, band.startswith("10"), height, label)

    fig = _cached((*version, "band", n, seed, band, height), build)
    live_chart(fig, key="inside.band.fig")
    if "critic" in caps:
        explain.note("sequences.critic")


def view_recon_series(m, data: Dataset, version: tuple, caps: set[str]) -> None:
    explain.note("sequences.reconstruction")
    height = explain.chart_height(320)

    def build():
        x, r = view_model.reconstructions(m, data, 4)
        return plots.live_series_figure(
            r.cpu().numpy(), x.cpu().numpy(), n_show=4, uirevision="inside-recon", height=height
        )

    live_chart(_cached((*version, "recon_series", height), build), key="inside.recon.fig")
    st.caption("Grey: validation series; colours: their reconstructions decode(encode(x)).")


# ----- text -------------------------------------------------------------------------------------
def view_heat(m, data: Dataset, version: tuple, caps: set[str]) -> None:
    explain.note("text.heat")
    c = st.columns([2, 1, 1])
    typed = (
        c[0]
        .text_input("Type a string to score", key="inside.heat.typed", placeholder="e.g. your name")
        .strip()
    )
    n = c[1].slider("Generated", 1, 16, 6, key="inside.heat.n")
    seed = c[2].number_input("Seed", 0, 10_000, SEED_A, key="inside.heat.seed")
    font = 26 if explain.teaching() else 20
    if typed:
        try:
            rows = _cached(
                (*version, "heat.typed", typed), lambda: text_views.char_heat(m, [typed])
            )
        except ValueError as e:
            st.error(common.public_text(str(e)))
        else:
            st.caption("Your string:")
            st.html(text_views.heat_html(rows, font))

    def build():
        items = text_views.generated_strings(m, int(n), int(seed))
        return text_views.char_heat(m, items)

    rows = _cached((*version, "heat.gen", n, seed), build)
    st.caption("Generated (fixed seed):")
    st.html(text_views.heat_html(rows, font))


def view_novel(m, data: Dataset, version: tuple, caps: set[str]) -> None:
    explain.note("text.novel")
    n = st.slider("Samples", 10, 200, 60, step=10, key="inside.novel.n")

    def build():
        items = text_views.generated_strings(m, int(n), SEED_A)
        seen = _cached(
            ("train-strings", data.spec.name, data.spec.n_train),
            lambda: text_views.training_strings(data),
        )
        return text_views.split_novel(items, seen)

    copied, new = _cached((*version, "novel", n), build)
    c = st.columns(2)
    for col, title, items in ((c[0], "New", new), (c[1], "In the training data", copied)):
        with col:
            st.markdown(f"**{title}: {len(items)} of {len(copied) + len(new)}**")
            if items:
                common.monospace("\n".join(s or "(empty)" for s in items), height=320)
    share = len(new) / max(1, len(copied) + len(new))
    st.caption(f"{100 * share:.0f}% of the samples are new strings.")


VIEW_FUNCS = {
    "interp": view_interp,
    "traverse": view_traverse,
    "classes": view_classes,
    "verdict": view_verdict,
    "recon": view_recon,
    "band": view_band,
    "recon_series": view_recon_series,
    "heat": view_heat,
    "novel": view_novel,
}
