"""Plotly figures of what the nets do on 2D points (the live view's "Inside the model" canvas).

One canvas in data space with layers (`LAYERS`): the discriminator's heatmap underneath, the
generator's manifold as a warped grid, the real and generated points, and arrows of the
generator's gradient; for a VAE a second canvas in latent space with the posterior means and the
same grid before decoding. Colours follow GAN Lab: green = real (and where D says "real"),
purple = generated (where D says "fake"). No streamlit here.

Everything is SVG, points included: the canvas is replaced every second while a run trains, and
WebGL without a GPU (software GL, the usual case for a headless or remote browser) redraws a
few thousand points slower than SVG does; in a starved browser the WebGL canvas was caught blank
between redraws.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from genlab.views.points import PlaneView

LAYERS = {
    "real": "Real points",
    "generated": "Generated points",
    "critic": "D heatmap",
    "manifold": "G manifold",
    "arrows": "G gradient arrows",
    "posterior": "Posterior means",
}
REAL = "rgba(27, 158, 119, 0.55)"  # green
FAKE = "rgba(117, 80, 180, 0.75)"  # purple
FADED = "rgba(150, 150, 150, 0.18)"
GRID_LINE = "rgba(60, 60, 60, 0.45)"
ARROW = "rgba(230, 120, 20, 0.95)"  # orange: reads on green, white and purple
# purple (D says fake) -> white (cannot tell) -> green (D says real)
CRITIC_SCALE = [[0.0, "rgb(117, 80, 180)"], [0.5, "rgb(247, 247, 247)"], [1.0, "rgb(27, 158, 119)"]]
ARROW_FRACTION = 0.07  # the longest arrow (95th percentile) is this fraction of the canvas width


def available_layers(view: PlaneView, has_real: bool = True) -> list[str]:
    """The layers `view` can draw, in drawing order (a method without D has no heatmap...)."""
    have = {
        "real": has_real,
        "generated": view.generated is not None,
        "critic": view.critic is not None,
        "manifold": view.manifold is not None,
        "arrows": view.arrows is not None,
        "posterior": view.posterior is not None,
    }
    return [k for k in LAYERS if have[k]]


def layer_labels(view: PlaneView) -> dict[str, str]:
    """Layer names for the toggles: a VAE's manifold is its decoder's map."""
    labels = dict(LAYERS)
    if view.posterior is not None:
        labels["manifold"] = "Decoder map"
    return labels


def _grid_lines(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols, 2) -> x, y of every row and column polyline, NaN-separated (one trace)."""
    parts = []
    nan = np.full((1, 2), np.nan, dtype=np.float32)
    for i in range(grid.shape[0]):
        parts += [grid[i], nan]
    if grid.shape[1] > 1:
        for j in range(grid.shape[1]):
            parts += [grid[:, j], nan]
    xy = np.concatenate(parts, 0)
    return xy[:, 0], xy[:, 1]


def arrow_segments(
    start: np.ndarray, direction: np.ndarray, length: float
) -> tuple[np.ndarray, np.ndarray]:
    """Arrows (shaft and a two-stroke head) as NaN-separated polylines. The 95th-percentile
    arrow gets `length` (data units); the others keep their length relative to it (clipped), so
    where D pushes hardest stays visible."""
    norms = np.linalg.norm(direction, axis=1)
    ref = float(np.percentile(norms, 95)) if len(norms) else 0.0
    if ref <= 0 or not np.isfinite(ref):
        return np.array([], dtype=np.float32), np.array([], dtype=np.float32)
    scaled = direction * (length / ref) * np.minimum(1.0, ref / np.maximum(norms, 1e-12))[:, None]
    end = start + scaled
    # head: two strokes back from the tip at +-25 degrees, a third of the shaft long
    back = -scaled / 3.0
    c, s = np.cos(np.radians(25)), np.sin(np.radians(25))
    left = np.stack([c * back[:, 0] - s * back[:, 1], s * back[:, 0] + c * back[:, 1]], 1)
    right = np.stack([c * back[:, 0] + s * back[:, 1], -s * back[:, 0] + c * back[:, 1]], 1)
    nan = np.full_like(start, np.nan)
    pts = np.stack([start, end, nan, end + left, end, end + right, nan], 1)  # (n, 7, 2)
    pts = pts.reshape(-1, 2)
    return pts[:, 0], pts[:, 1]


def plane_figure(
    view: PlaneView,
    real: np.ndarray | None,
    real_labels: np.ndarray | None = None,
    layers: Iterable[str] = tuple(LAYERS),
    *,
    uirevision: str = "plane",
    height: int = 520,
):
    """The data-space canvas with the chosen `layers` (keys of LAYERS). For a conditional
    method (`view.cls` set), real and generated points of the other classes are drawn faint."""
    import plotly.graph_objects as go

    layers = set(layers)
    labels = layer_labels(view)
    fig = go.Figure()
    x0, x1, y0, y1 = view.bounds
    if "critic" in layers and view.critic is not None:
        c = view.critic
        span = max(abs(float(np.nanmax(c.z)) - c.mid), abs(float(np.nanmin(c.z)) - c.mid), 1e-6)
        fig.add_trace(
            go.Heatmap(
                x=c.xs,
                y=c.ys,
                z=c.z,
                colorscale=CRITIC_SCALE,
                zmid=c.mid,
                zmin=0.0 if c.label == "P(real)" else c.mid - span,
                zmax=1.0 if c.label == "P(real)" else c.mid + span,
                zsmooth="best",
                opacity=0.85,
                name=f"D: {c.label}",
                colorbar=dict(title=dict(text=f"D {c.label}", side="right"), thickness=12, len=0.8),
                hovertemplate=f"x=%{{x:.2f}} y=%{{y:.2f}}<br>D {c.label}=%{{z:.3f}}<extra></extra>",
            )
        )
    if "manifold" in layers and view.manifold is not None:
        gx, gy = _grid_lines(view.manifold.x)
        fig.add_trace(
            go.Scatter(
                x=gx,
                y=gy,
                mode="lines",
                name=labels["manifold"],
                line=dict(color=GRID_LINE, width=1),
                hoverinfo="skip",
            )
        )
    if "real" in layers and real is not None and len(real):
        _points(fig, real, real_labels, view.cls, REAL, "real", size=4)
    if "generated" in layers and view.generated is not None:
        _points(fig, view.generated, view.generated_labels, view.cls, FAKE, "generated", size=4)
    if "arrows" in layers and view.arrows is not None:
        ax, ay = arrow_segments(*view.arrows, ARROW_FRACTION * (x1 - x0))
        fig.add_trace(
            go.Scatter(
                x=ax,
                y=ay,
                mode="lines",
                name=labels["arrows"],
                line=dict(color=ARROW, width=1.4),
                hoverinfo="skip",
            )
        )
    fig.update_xaxes(range=[x0, x1], showgrid=False, zeroline=False)
    fig.update_yaxes(range=[y0, y1], showgrid=False, zeroline=False, scaleanchor="x", scaleratio=1)
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        uirevision=uirevision,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
        plot_bgcolor="white",
    )
    return fig


def _points(
    fig, x: np.ndarray, labels: np.ndarray | None, cls: int | None, color: str, name: str, size: int
) -> None:
    """Points in one colour; with a class picked, that class in colour and the others faint."""
    import plotly.graph_objects as go

    if cls is not None and labels is not None:
        pick = labels == cls
        fig.add_trace(
            go.Scatter(
                x=x[~pick, 0],
                y=x[~pick, 1],
                mode="markers",
                name=f"{name}, other classes",
                marker=dict(size=size - 1, color=FADED),
            )
        )
        x = x[pick]
        name = f"{name}, class {cls}"
    fig.add_trace(
        go.Scatter(
            x=x[:, 0], y=x[:, 1], mode="markers", name=name, marker=dict(size=size, color=color)
        )
    )


def latent_figure(
    view: PlaneView,
    class_names: tuple[str, ...] = (),
    layers: Iterable[str] = tuple(LAYERS),
    *,
    uirevision: str = "latent",
    height: int = 520,
):
    """A VAE's latent plane (z1, z2): the posterior means of the data coloured by class, the
    prior's 1 and 2 sigma circles, and the grid that the data canvas shows decoded."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    layers = set(layers)
    fig = go.Figure()
    t = np.linspace(0, 2 * np.pi, 97)
    for r in (1.0, 2.0):
        fig.add_trace(
            go.Scatter(
                x=r * np.cos(t),
                y=r * np.sin(t),
                mode="lines",
                name="prior 1σ, 2σ",
                legendgroup="prior",
                showlegend=r == 1.0,
                line=dict(color="rgba(0,0,0,0.35)", width=1, dash="dot"),
                hoverinfo="skip",
            )
        )
    if "manifold" in layers and view.manifold is not None:
        gx, gy = _grid_lines(view.manifold.z)
        fig.add_trace(
            go.Scatter(
                x=gx,
                y=gy,
                mode="lines",
                name="latent grid",
                line=dict(color=GRID_LINE, width=1),
                hoverinfo="skip",
            )
        )
    if "posterior" in layers and view.posterior is not None:
        mu, lab = view.posterior, view.posterior_labels
        if lab is None:
            fig.add_trace(
                go.Scatter(
                    x=mu[:, 0],
                    y=mu[:, 1],
                    mode="markers",
                    name="posterior means",
                    marker=dict(size=4, color=REAL),
                )
            )
        else:
            for k in np.unique(lab):
                pick = lab == k
                name = class_names[int(k)] if int(k) < len(class_names) else f"class {int(k)}"
                fig.add_trace(
                    go.Scatter(
                        x=mu[pick, 0],
                        y=mu[pick, 1],
                        mode="markers",
                        name=name,
                        marker=dict(size=4, color=qualitative.Plotly[int(k) % 10]),
                    )
                )
    lim = 3.2
    if view.posterior is not None and len(view.posterior):
        lim = max(lim, float(np.nanmax(np.abs(view.posterior))) * 1.1)
    fig.update_xaxes(range=[-lim, lim], title_text="z1", zeroline=False)
    fig.update_yaxes(
        range=[-lim, lim], title_text="z2", zeroline=False, scaleanchor="x", scaleratio=1
    )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        uirevision=uirevision,
        showlegend=len(fig.data) <= 12,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
    )
    return fig
