"""Plotly figures of diffusion / flow processes on 2D points and of attention maps. No streamlit.

The 2D figure is one canvas with plotly frames, one per noise level: a slider over t and a play
button that runs the sampler's path from noise (t = 1) to data (t = 0), in the browser, without
a round trip to the server. Colours as on the GAN canvas: green = real, purple = generated,
orange = the learned field.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from genlab.figures.inside import ARROW, FAKE, REAL, arrow_segments
from genlab.views.flows import ProcessFrames

LAYERS = {
    "generated": "Sampling trajectories",
    "field": "Learned field",
    "noised": "Forward noising of the data",
}


def _traces(view: ProcessFrames, i: int, layers: list[str]) -> list[go.Scatter]:
    width = view.bounds[1] - view.bounds[0]
    out = []
    if "noised" in layers:
        x = view.noised[i]
        out.append(
            go.Scatter(
                x=x[:, 0], y=x[:, 1], mode="markers", name="real, noised to t",
                marker={"size": 4, "color": REAL},
            )
        )  # fmt: skip
    if "generated" in layers:
        x = view.generated[i]
        out.append(
            go.Scatter(
                x=x[:, 0], y=x[:, 1], mode="markers", name="generated, at t",
                marker={"size": 4, "color": FAKE},
            )
        )  # fmt: skip
    if "field" in layers:
        ax, ay = arrow_segments(view.grid, view.field[i], 0.045 * width)
        out.append(
            go.Scatter(
                x=ax, y=ay, mode="lines", name="field", hoverinfo="skip",
                line={"width": 1.3, "color": ARROW},
            )
        )  # fmt: skip
    return out


def process_figure(
    view: ProcessFrames, layers: list[str], height: int = 520, uirevision: str = "process"
) -> go.Figure:
    """The canvas at every recorded level, a slider over t and a play button (noise -> data)."""
    n = len(view.levels)
    frames = [
        go.Frame(data=_traces(view, i, layers), name=f"{view.levels[i]:.3f}") for i in range(n)
    ]
    fig = go.Figure(data=_traces(view, 0, layers), frames=frames)
    steps = [
        {
            "label": f"{view.levels[i]:.2f}",
            "method": "animate",
            "args": [[f"{view.levels[i]:.3f}"], {"mode": "immediate", "frame": {"duration": 0}}],
        }
        for i in range(n)
    ]
    play = {"frame": {"duration": 250, "redraw": True}, "fromcurrent": True}
    fig.update_layout(
        height=height,
        uirevision=uirevision,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"range": view.bounds[:2], "constrain": "domain"},
        yaxis={"range": view.bounds[2:], "scaleanchor": "x"},
        legend={"orientation": "h", "y": 1.08},
        sliders=[{"steps": steps, "currentvalue": {"prefix": "noise level t = "}, "y": -0.02}],
        updatemenus=[
            {
                "type": "buttons",
                "showactive": False,
                "x": 0.0,
                "y": -0.12,
                "xanchor": "left",
                "buttons": [
                    {"label": "▶ Play", "method": "animate", "args": [None, play]},
                    {
                        "label": "❚❚",
                        "method": "animate",
                        "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}],
                    },
                ],
            }
        ],
    )
    return fig


def attention_figure(att: np.ndarray, chars: list[str], height: int = 560) -> go.Figure:
    """(layers, heads, L, L) weights as a grid of heatmaps: a row per layer, a column per head;
    in each, row i = the query character, column j = the character it attends to."""
    L, H = att.shape[:2]
    fig = make_subplots(
        rows=L,
        cols=H,
        subplot_titles=[f"layer {a + 1} · head {b + 1}" for a in range(L) for b in range(H)],
        horizontal_spacing=0.03,
        vertical_spacing=0.06,
    )
    ticks = [f"{i}:{c}" for i, c in enumerate(chars)]  # unique labels for repeated letters
    for a in range(L):
        for b in range(H):
            fig.add_trace(
                go.Heatmap(
                    z=att[a, b], x=ticks, y=ticks, zmin=0, zmax=1, colorscale="Blues",
                    showscale=a == 0 and b == H - 1,
                    hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.2f}<extra></extra>",
                ),
                row=a + 1, col=b + 1,
            )  # fmt: skip
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    for a in range(L):
        fig.update_yaxes(showticklabels=True, row=a + 1, col=1)
    for b in range(H):
        fig.update_xaxes(showticklabels=True, row=L, col=b + 1)
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig
