"""2D points: scatter plots over the real data, classes coloured."""

from __future__ import annotations

import numpy as np
import streamlit as st

from genlab.figures import plots
from genlab.kinds import kind_of, points_csv
from genlab.runs import sampling
from genlab.ui import explain, livechart
from genlab.ui.kinds.base import FigureView, download, register


@register
class PointsView(FigureView):
    name = "points"
    generate_n = (1000, 10_000)
    map_caption = (
        "Where the decoder puts each z of a {n}×{n} grid over [-{lim:g}, {lim:g}]², coloured by z₁."
    )
    canvas = True
    drawable = True

    def summary(self, spec):
        return "2D points"

    def preview(self, ds, data_file, options):
        x = ds.x_train[:2000].numpy()
        y = None if ds.y_train is None else ds.y_train[:2000].numpy()
        fig = plots.live_points_figure(
            None, x, ds.spec.class_names, real_labels=y, uirevision=f"preview-{ds.spec.name}",
            height=340,
        )  # fmt: skip
        # drawn in place like the live charts: st.plotly_chart's own 4.7 MB Plotly bundle
        # held back the whole first paint of the Train page (Start at 2.5 s instead of 1.8 s)
        livechart.live_chart(fig, key="preview.points", config={"displaylogo": False})

    def live_figure(self, run, payload, real):
        return plots.live_points_figure(
            payload,
            kind_of(self.name).reference(real),
            real.spec.class_names if real is not None else (),
            uirevision=f"{run.id}-points",
            height=explain.chart_height(420),
        )

    def latest(self, sample, real, *, height, max_text, key):
        arr = np.asarray(sample.payload)
        data = real()
        labels = arr[:, 2].astype(int) if arr.ndim == 2 and arr.shape[1] == 3 else None
        fig = plots.points_vs_real_figure(
            arr[:, :2],
            kind_of(self.name).reference(data),
            labels,
            data.spec.class_names if data is not None else (),
            height=height,
        )
        st.plotly_chart(fig, key=key)
        st.caption(f"step {sample.step}")

    def generated(self, lo, x, name, key, *, nrow=None, labels=None, color=None, color_title=""):
        arr = x.detach().float().cpu().numpy()
        show_real = st.toggle("Show real data", value=True, key=f"{key}_real")
        real = sampling.real_points(lo.data) if show_real else None
        lab = None if labels is None else labels.cpu().numpy()
        fig = plots.points_vs_real_figure(
            arr, real, lab, lo.spec.class_names, color=color, color_title=color_title
        )
        st.plotly_chart(fig, key=f"{key}_fig")
        download("CSV", points_csv(arr, lab), f"{name}.csv", "text/csv", key)
