"""The Generate page: load any saved run (ended or live) on the CPU and sample from it: seeded
grids, class-by-class grids, latent interpolation, 2D latent maps, text with temperature / top-k /
prefix, and a download of whatever was generated. The logic is in `genlab.runs.sampling` (headless).
"""

from __future__ import annotations

import numpy as np
import streamlit as st
import torch

from genlab.runs import listing, sampling
from genlab.runs.store import RunStore
from genlab.ui import common
from genlab.ui.kinds import view_of


@st.cache_resource(max_entries=4, show_spinner="Loading the model from its checkpoint…")
def load(run_dir: str, stamp: int) -> sampling.Loaded:
    """One rebuilt model per (run folder, checkpoint time): a new checkpoint loads afresh."""
    return sampling.load_run(run_dir)


# ----- tabs ---------------------------------------------------------------------------------
def _samples_tab(lo: sampling.Loaded, rid: str) -> None:
    m, view = lo.method, view_of(lo.spec.kind)
    opts = [o for o in sampling.sample_options(m) if o in view.sample_options]
    c = st.columns(4)
    default_n, max_n = view.generate_n
    n = c[0].number_input("How many", 1, max_n, default_n, key="gen_n")
    seed = c[1].number_input("Seed", 0, 2**31 - 1, 0, key="gen_seed")
    kw = {}
    if "temperature" in opts:
        default_t = float(getattr(m.cfg, "temperature", 1.0))
        kw["temperature"] = c[2].number_input(
            "Temperature",
            0.0,
            5.0,
            default_t,
            step=0.1,
            key="gen_temp",
            help="0 = greedy; >1 = wilder",
        )
    if "top_k" in opts:
        kw["top_k"] = c[3].number_input(
            "Top-k",
            0,
            len(lo.spec.vocab),
            int(getattr(m.cfg, "top_k", 0)),
            key="gen_topk",
            help="Sample among the k likeliest characters (0 = all)",
        )
    if "prefix" in opts:
        kw["prefix"] = st.text_input(
            "Prefix",
            "",
            key="gen_prefix",
            max_chars=20,
            help="Every sample starts with these characters",
        )
    y = None
    if m.conditional:
        names = lo.spec.class_names or tuple(str(i) for i in range(lo.spec.n_classes))
        choice = st.selectbox(
            "Class",
            ["all"] + list(range(lo.spec.n_classes)),
            key="gen_cls",
            format_func=lambda k: "all classes (balanced)" if k == "all" else names[k],
        )
        if choice != "all":
            y = torch.full((int(n),), int(choice), dtype=torch.long)
    try:
        x = sampling.sample(m, int(n), int(seed), y, **kw)
    except ValueError as e:  # e.g. a prefix character outside the vocabulary
        st.error(common.public_text(str(e)))
        return
    labels = y if y is not None else (m.sample_labels(int(n)) if m.conditional else None)
    view.generated(lo, x, f"{rid}-samples-seed{seed}", "gen_dl_samples", labels=labels)


def _class_tab(lo: sampling.Loaded, rid: str) -> None:
    c1, c2 = st.columns(2)
    per = c1.number_input("Per class", 1, 32, 10, key="gen_per")
    seed = c2.number_input("Seed", 0, 2**31 - 1, 0, key="gen_cseed")
    x, nrow = sampling.class_grid(lo.method, int(per), int(seed))
    names = lo.spec.class_names or tuple(str(i) for i in range(lo.spec.n_classes))
    st.caption("One row per class, top to bottom: " + ", ".join(names))
    view_of(lo.spec.kind).generated(lo, x, f"{rid}-classes-seed{seed}", "gen_dl_classes", nrow=nrow)


def _interp_tab(lo: sampling.Loaded, rid: str) -> None:
    m = lo.method
    c = st.columns(4)
    a = c[0].number_input("Seed A", 0, 2**31 - 1, 0, key="gen_ia")
    b = c[1].number_input("Seed B", 0, 2**31 - 1, 1, key="gen_ib")
    k = c[2].number_input("Steps", 2, 32, 10, key="gen_ik")
    path = c[3].selectbox(
        "Path",
        ["spherical", "linear"],
        key="gen_ipath",
        help="spherical keeps z at the typical norm of N(0, I) all along",
    )
    y = None
    if m.conditional:
        names = lo.spec.class_names or tuple(str(i) for i in range(lo.spec.n_classes))
        y = st.selectbox(
            "Class", list(range(lo.spec.n_classes)), key="gen_icls", format_func=lambda i: names[i]
        )
    x = sampling.interpolate(m, int(a), int(b), int(k), y=y, path=path)
    st.caption(f"z(seed {a}) → z(seed {b}) in {k} steps, decoded by the model")
    name = f"{rid}-interp-{a}-{b}"
    # a grid row per interpolation for images, points coloured by t along the path
    t = np.linspace(0, 1, int(k))
    view_of(lo.spec.kind).generated(
        lo, x, name, "gen_dl_interp", nrow=int(k), color=t, color_title="t"
    )


def _map_tab(lo: sampling.Loaded, rid: str) -> None:
    m = lo.method
    c1, c2, c3 = st.columns(3)
    n = c1.number_input("Grid side", 3, 30, 15, key="gen_mn")
    lim = c2.number_input("Extent (±)", 0.5, 6.0, 3.0, step=0.5, key="gen_mlim")
    y = None
    if m.conditional:
        names = lo.spec.class_names or tuple(str(i) for i in range(lo.spec.n_classes))
        y = c3.selectbox(
            "Class", list(range(lo.spec.n_classes)), key="gen_mcls", format_func=lambda i: names[i]
        )
    z, x = sampling.latent_map(m, int(n), float(lim), y=y)
    view = view_of(lo.spec.kind)
    if view.map_caption:
        st.caption(view.map_caption.format(n=n, lim=lim))
    view.generated(
        lo,
        x,
        f"{rid}-latent-map",
        "gen_dl_map",
        nrow=int(n),
        color=z[:, 0].cpu().numpy(),
        color_title="z₁",
    )


# ----- the page -----------------------------------------------------------------------------
def render() -> None:
    st.title("Generate")
    rows = [r for r in listing.collect_runs(RunStore()) if r.has_checkpoint]
    if not rows:
        st.info(
            "No saved run with a checkpoint yet. Train one on the Train page; a checkpoint "
            "is written every checkpoint_every steps and at the end."
        )
        return
    ids = [r.id for r in rows]
    labels = {r.id: r.label for r in rows}
    if st.session_state.get("gen_run") not in ids:  # first visit: ?run=<id> picks the run
        wanted = st.query_params.get("run")
        st.session_state.gen_run = wanted if wanted in ids else ids[0]
    rid = st.selectbox(
        "Run",
        ids,
        key="gen_run",
        format_func=lambda i: labels[i],
        help="Any saved run with a checkpoint, ended or live",
    )
    st.query_params["run"] = rid  # the URL names the run: shareable, and kept on reload
    row = listing.find(rows, rid)
    try:
        lo = load(str(row.dir), sampling.checkpoint_stamp(row.dir))
    except (ValueError, OSError) as e:
        st.error(f"Cannot load {rid}: {common.public_text(str(e))}")
        return
    m = lo.method
    live = " (live: its latest checkpoint; rerun to pick up a newer one)" if row.live else ""
    st.caption(
        f"{m.label} on {lo.spec.name} ({lo.spec.kind}) · checkpoint at step {lo.step} · "
        f"sampling on CPU{live}"
    )
    tabs = ["Samples"]
    if m.conditional and view_of(lo.spec.kind).class_rows:
        tabs.append("Class by class")
    dim = sampling.latent_dim(m)
    if dim is not None:
        tabs.append("Interpolate")
    if dim == 2:
        tabs.append("Latent map")
    fns = {
        "Samples": _samples_tab,
        "Class by class": _class_tab,
        "Interpolate": _interp_tab,
        "Latent map": _map_tab,
    }
    for tab, name in zip(st.tabs(tabs), tabs):
        with tab:
            fns[name](lo, rid)
