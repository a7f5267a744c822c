"""Sequences: series overlaid on one set of axes, the real ones in grey."""

from __future__ import annotations

import numpy as np
import streamlit as st

from genlab.figures import plots
from genlab.kinds import kind_of, sequences_csv
from genlab.runs import sampling
from genlab.ui import explain, livechart
from genlab.ui.kinds.base import FigureView, download, register


@register
class SequencesView(FigureView):
    name = "sequences"
    generate_n = (8, 64)
    inside_views = (
        ("band", "Generated vs real", ()),
        ("recon_series", "Reconstructions", ("reconstruct",)),
    )

    def summary(self, spec):
        return f"length {spec.shape[0]}, {spec.shape[-1]} channel(s)"

    def preview(self, ds, data_file, options):
        fig = plots.live_series_figure(
            None, ds.x_train[:8].numpy(), n_show=8, uirevision=f"preview-{ds.spec.name}",
            height=300,
        )  # fmt: skip
        # drawn in place like the live charts: st.plotly_chart's own 4.7 MB Plotly bundle
        # held back the whole first paint of the Train page (Start at 2.5 s instead of 1.8 s)
        livechart.live_chart(fig, key="preview.series", config={"displaylogo": False})

    def live_figure(self, run, payload, real):
        return plots.live_series_figure(
            payload[:6],
            kind_of(self.name).reference(real),
            uirevision=f"{run.id}-series",
            height=explain.chart_height(360),
        )

    def latest(self, sample, real, *, height, max_text, key):
        data = real()
        shown = None if data is None else data.x_val[:4].numpy()
        fig = plots.series_overlay_figure(np.asarray(sample.payload)[:8], shown, height=height)
        st.plotly_chart(fig, key=key)
        st.caption(f"step {sample.step}")

    def generated(self, lo, x, name, key, *, nrow=None, labels=None, color=None, color_title=""):
        arr = x.detach().float().cpu().numpy()
        show_real = st.toggle("Show real series", value=False, key=f"{key}_real")
        real = sampling.real_sequences(lo.data, 4) if show_real else None
        st.plotly_chart(plots.series_overlay_figure(arr, real), key=f"{key}_fig")
        download("CSV", sequences_csv(arr), f"{name}.csv", "text/csv", key)
