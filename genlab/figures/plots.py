"""Samples against the real data (plotly, no streamlit): points, series and the Compare page's
overlaid curves; the live page's points and series figures."""

from __future__ import annotations

import numpy as np

from genlab.figures.curves import single_x_range
from genlab.figures.png import padded_range

# ----- Compare and Generate pages: overlaid curves, points and series (plotly) --------------
REAL_COLOR = "rgba(140, 140, 140, 0.35)"  # real data drawn behind samples, readable on light/dark


def _real_points_trace(real: np.ndarray):
    """The real 2D points (n, 2) as one grey marker trace, under the generated ones."""
    import plotly.graph_objects as go

    return go.Scattergl(
        x=real[:, 0],
        y=real[:, 1],
        mode="markers",
        name="real",
        marker=dict(size=4, color=REAL_COLOR),
    )


GENERATED_COLOR = "#EF553B"  # generated points: red against the grey real ones (live view too)


def _generated_trace(s: np.ndarray):
    """The generated 2D points (n, 2) as one red marker trace, over the grey real ones."""
    import plotly.graph_objects as go

    return go.Scattergl(
        x=s[:, 0],
        y=s[:, 1],
        mode="markers",
        name="generated",
        marker=dict(size=4, color=GENERATED_COLOR, opacity=0.7),
    )


def compare_curves_figure(
    curves: list[tuple[str, list[float], list[float]]],
    key: str,
    x_title: str = "step",
    log_y: bool = False,
):
    """Several runs' series of one metric on shared axes: `curves` = [(run label, xs, ys)]."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, xs, ys in curves:
        # a sparse series (quality metrics every eval_every steps) needs its points drawn
        mode = "lines+markers" if len(xs) <= 30 else "lines"
        fig.add_trace(go.Scatter(x=xs, y=ys, mode=mode, name=name))
    single = single_x_range([x for _, xs, _ in curves for x in xs])
    if single is not None:
        fig.update_xaxes(range=single)
    fig.update_layout(
        height=380,
        margin=dict(l=10, r=10, t=30, b=10),
        hovermode="x unified",
        uirevision=key,  # live redraws keep the user's zoom
        showlegend=True,  # name the run even when only one is drawn
        xaxis_title=x_title,
        yaxis_title=key,
        yaxis_type="log" if log_y else "linear",
        legend=dict(orientation="h", yanchor="top", y=-0.18, x=0),
    )
    return fig


def points_vs_real_figure(
    samples: np.ndarray,
    real: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    class_names: tuple[str, ...] = (),
    height: int = 420,
    color: np.ndarray | None = None,
    color_title: str = "",
):
    """2D samples over the real data (grey). `labels` colours samples by class; `color` by a
    continuous value (e.g. a latent coordinate)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if real is not None and len(real):
        fig.add_trace(_real_points_trace(real))
    s = np.asarray(samples)
    if labels is not None:
        for k in np.unique(labels):
            pick = labels == k
            name = class_names[int(k)] if int(k) < len(class_names) else f"class {int(k)}"
            fig.add_trace(
                go.Scattergl(
                    x=s[pick, 0], y=s[pick, 1], mode="markers", name=name, marker=dict(size=4)
                )
            )
    elif color is not None:
        fig.add_trace(
            go.Scattergl(
                x=s[:, 0],
                y=s[:, 1],
                mode="markers",
                name="decoded",
                marker=dict(
                    size=6,
                    color=color,
                    colorscale="Viridis",
                    showscale=True,
                    colorbar=dict(title=color_title, thickness=12),
                ),
            )
        )
    else:
        fig.add_trace(_generated_trace(s))
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)  # equal axes: a circle stays a circle
    return fig


def series_overlay_figure(samples: np.ndarray, real: np.ndarray | None = None, height: int = 360):
    """Sequences (n, T, C) overlaid, channel 0 (and the others dashed); real ones in grey."""
    import plotly.graph_objects as go

    fig = go.Figure()
    s = np.asarray(samples)
    s = s[:, :, None] if s.ndim == 2 else s  # (n, T, C)
    if real is not None and len(real):
        r = np.asarray(real)
        r = r[:, :, None] if r.ndim == 2 else r
        for i in range(len(r)):
            fig.add_trace(
                go.Scatter(
                    y=r[i, :, 0],
                    mode="lines",
                    name="real",
                    line=dict(color=REAL_COLOR, width=2),
                    legendgroup="real",
                    showlegend=i == 0,
                )
            )
    for i in range(len(s)):
        for c in range(s.shape[2]):
            fig.add_trace(
                go.Scatter(
                    y=s[i, :, c],
                    mode="lines",
                    name=f"sample {i}",
                    line=dict(width=1.5, dash="solid" if c == 0 else "dot"),
                    legendgroup=f"s{i}",
                    showlegend=False,
                )
            )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis_title="t",
        showlegend=real is not None,
    )
    return fig


def live_points_figure(
    samples: np.ndarray | None,
    real: np.ndarray | None,
    class_names: tuple[str, ...] = (),
    real_labels: np.ndarray | None = None,
    uirevision: str = "points",
    height: int = 420,
):
    """Generated 2D points over the real ones, with axes fixed by the real data (the view does not
    jump as the generator moves). Samples of shape (n, 3) carry a class label in column 2."""
    import plotly.graph_objects as go

    fig = go.Figure()
    if real is not None and len(real):
        if real_labels is not None and samples is None:  # preview: colour the classes
            for k in np.unique(real_labels):
                pick = real_labels == k
                name = class_names[int(k)] if int(k) < len(class_names) else f"class {int(k)}"
                fig.add_trace(
                    go.Scattergl(
                        x=real[pick, 0],
                        y=real[pick, 1],
                        mode="markers",
                        name=name,
                        marker=dict(size=3),
                    )
                )
        else:
            fig.add_trace(_real_points_trace(real))
    if samples is not None and len(samples):
        s = np.asarray(samples, dtype=np.float32)
        if s.shape[1] >= 3:
            labels = s[:, 2].astype(int)
            for k in np.unique(labels):
                pick = labels == k
                name = class_names[k] if k < len(class_names) else f"class {k}"
                fig.add_trace(
                    go.Scattergl(
                        x=s[pick, 0],
                        y=s[pick, 1],
                        mode="markers",
                        name=f"generated: {name}",
                        marker=dict(size=4),
                    )
                )
        else:
            fig.add_trace(_generated_trace(s))
    ref = real if real is not None and len(real) else samples
    if ref is not None and len(ref):
        fig.update_xaxes(range=padded_range(ref[:, 0]))
        fig.update_yaxes(range=padded_range(ref[:, 1]))
    fig.update_yaxes(scaleanchor="x", scaleratio=1)  # a circle stays a circle
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        uirevision=uirevision,
        showlegend=len(fig.data) <= 6,  # many classes: the colours say enough
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
    )
    return fig


def live_series_figure(
    samples: np.ndarray | None,
    real: np.ndarray | None,
    n_show: int = 6,
    uirevision: str = "series",
    height: int = 360,
):
    """A few generated series (colours) over a few real ones (grey), one panel per channel
    (at most 3): (n, T, C) arrays. Short lines: SVG (see curves_figure)."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    arrays = [a for a in (samples, real) if a is not None and len(a)]
    if not arrays:
        return go.Figure()
    n_ch = min(3, arrays[0].shape[2] if arrays[0].ndim == 3 else 1)
    fig = (
        make_subplots(rows=n_ch, cols=1, shared_xaxes=True, vertical_spacing=0.06)
        if n_ch > 1
        else go.Figure()
    )
    for name, arr in (("real", real), ("generated", samples)):
        if arr is None or not len(arr):
            continue
        a = np.asarray(arr, dtype=np.float32)
        a = a[:, :, None] if a.ndim == 2 else a  # (n, T, C)
        for i in range(min(n_show, len(a))):
            for c in range(n_ch):
                grey = name == "real" and samples is not None  # alone (a preview): colours
                color = REAL_COLOR if grey else qualitative.Plotly[i % 10]
                pos = dict(row=c + 1, col=1) if n_ch > 1 else {}
                fig.add_trace(
                    go.Scatter(
                        y=a[i, :, c],
                        mode="lines",
                        name=name,
                        legendgroup=name,
                        showlegend=(i == 0 and c == 0),
                        line=dict(color=color, width=2.5 if grey else 1.8),
                    ),
                    **pos,
                )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        uirevision=uirevision,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
    )
    return fig
