"""Inside the model for sequences, headless: generated series over the band of the real data's
spread, and a recurrent discriminator's score at every step (real vs generated). No streamlit
here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genlab.data import Dataset
from genlab.methods import Method
from genlab.views.model import real_and_fake


def series_band(x: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
    """Per-step spread of real series (N, T, C): mean, std, and the 10% / 90% quantiles, each
    (T, C)."""
    a = torch.as_tensor(x).float()
    if a.dim() == 2:
        a = a[:, :, None]  # (N, T, 1)
    q = torch.quantile(a, torch.tensor([0.1, 0.9]), dim=0)  # (2, T, C)
    return {
        "mean": a.mean(0).numpy(),
        "std": a.std(0, unbiased=False).numpy(),
        "q10": q[0].numpy(),
        "q90": q[1].numpy(),
    }


@dataclass
class SeriesView:
    real: np.ndarray  # (n, T, C) a few real series
    fake: np.ndarray  # (n, T, C) generated
    band: dict[str, np.ndarray]  # of all validation series (see series_band)
    critic_real: np.ndarray | None  # (n, T) D's score per step, or None
    critic_fake: np.ndarray | None


@torch.no_grad()
def series_view(m: Method, data: Dataset, n: int = 8, seed: int = 0) -> SeriesView:
    x_real, x_fake, y_real, y_fake = real_and_fake(m, data, n, seed)
    cr = m.critic(x_real, y_real)  # (n, T) for a per-step critic, None without one
    cf = m.critic(x_fake, y_fake) if cr is not None else None

    def per_step(s):
        return None if s is None else s.float().reshape(len(s), -1).cpu().numpy()

    return SeriesView(
        real=x_real.float().cpu().numpy(),
        fake=x_fake.float().cpu().numpy(),
        band=series_band(data.x_val.cpu()),
        critic_real=per_step(cr),
        critic_fake=per_step(cf),
    )


def series_figure(
    view: SeriesView, quantiles: bool = True, height: int = 420, critic_label: str = "D"
):
    """Generated series (colours) over the band of the real data's spread (grey) and its mean;
    with a critic, a second panel of D's score at every step (real vs generated)."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    two = view.critic_fake is not None
    fig = make_subplots(
        rows=2 if two else 1,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.65, 0.35] if two else None,
        vertical_spacing=0.08,
        subplot_titles=("", "D's output at each step") if two else None,
    )
    t = np.arange(view.band["mean"].shape[0])
    lo, hi = (
        (view.band["q10"][:, 0], view.band["q90"][:, 0])
        if quantiles
        else (
            view.band["mean"][:, 0] - view.band["std"][:, 0],
            view.band["mean"][:, 0] + view.band["std"][:, 0],
        )
    )
    band_name = "real 10–90%" if quantiles else "real mean ± std"
    fig.add_trace(
        go.Scatter(x=t, y=hi, mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=lo,
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor="rgba(140,140,140,0.3)",
            name=band_name,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=view.band["mean"][:, 0],
            mode="lines",
            name="real mean",
            line=dict(color="rgba(90,90,90,0.9)", dash="dash", width=2),
        ),
        row=1,
        col=1,
    )
    for i, s in enumerate(view.fake):
        fig.add_trace(
            go.Scatter(
                x=t,
                y=s[:, 0],
                mode="lines",
                name="generated",
                legendgroup="generated",
                showlegend=i == 0,
                line=dict(color=qualitative.Plotly[i % 10], width=1.6),
            ),
            row=1,
            col=1,
        )
    if two:
        for name, sc, color in (
            ("D on real", view.critic_real, "rgba(90,90,90,0.9)"),
            ("D on generated", view.critic_fake, "#EF553B"),
        ):
            for s in sc:
                fig.add_trace(
                    go.Scatter(
                        x=t,
                        y=s,
                        mode="lines",
                        name=name,
                        legendgroup=name,
                        showlegend=False,
                        opacity=0.25,
                        line=dict(color=color, width=1),
                    ),
                    row=2,
                    col=1,
                )
            fig.add_trace(
                go.Scatter(
                    x=t, y=sc.mean(0), mode="lines", name=name, line=dict(color=color, width=3)
                ),
                row=2,
                col=1,
            )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30 if two else 10, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    fig.update_xaxes(title_text="step t", row=2 if two else 1, col=1)
    if two:
        fig.update_yaxes(title_text=critic_label, row=2, col=1)
    return fig
