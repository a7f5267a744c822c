"""The loss and metric curves of a run (plotly, no streamlit): thinned, smoothed, grouped as small
multiples with a shared x; the live page, replay and the notebook API draw them."""

from __future__ import annotations

import math

import numpy as np

from genlab.metrics import metric_info


def single_x_range(xs) -> list[float] | None:
    """An x range for a series with one distinct x (a single evaluation): from 0 to a little past
    it, where plotly's own would span x ± 1 and label the step 1,000.5."""
    vals = np.unique(np.asarray(xs, dtype=float))
    if len(vals) != 1:
        return None
    x = float(vals[0])
    return [min(0.0, x), max(x, 1.0) * 1.05] if x >= 0 else [x * 1.05, 0.0]


# ----- live training views (the Train and Live pages) ---------------------------------------------
# Curves go to the browser as float32 arrays (plotly sends numpy arrays as typed arrays), thinned to
# about 2,000 points per trace, and every figure carries a fixed `uirevision` so a user's zoom
# survives the once-a-second redraws.

CURVE_POINTS = 2000


def thin_minmax(x, y, max_points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most about `max_points` points of the polyline (x, y), as float32 arrays.

    The points are cut into max_points/2 buckets of consecutive indices and each bucket keeps its
    minimum and its maximum (in x order), so a spike survives thinning where plain striding would
    drop it. The first and the last point are always kept."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D and the same length, got {x.shape} and {y.shape}")
    n = len(y)
    if n <= max_points:
        return x.astype(np.float32), y.astype(np.float32)
    n_buckets = max(1, (max_points - 2) // 2)
    bucket = (np.arange(n) * n_buckets) // n  # (n,) bucket of each index, non-decreasing
    key = np.where(np.isnan(y), np.inf, y)  # NaN sorts as the largest value
    order = np.lexsort((key, bucket))  # by bucket, then by value
    starts = np.searchsorted(bucket[order], np.arange(n_buckets), side="left")
    ends = np.searchsorted(bucket[order], np.arange(n_buckets), side="right") - 1
    keep = np.unique(np.concatenate([[0, n - 1], order[starts], order[ends]]))
    return x[keep].astype(np.float32), y[keep].astype(np.float32)


def ema(y, smoothing: float) -> np.ndarray:
    """Exponential moving average with TensorBoard's debiasing (the first values are not pulled
    towards 0): s_t = a s_{t-1} + (1 - a) y_t, shown as s_t / (1 - a^t)."""
    y = np.asarray(y, dtype=np.float64)
    if smoothing <= 0 or len(y) == 0:
        return y
    a = float(min(smoothing, 0.999))
    out = np.empty(len(y))
    s = 0.0
    for i, v in enumerate(y.tolist()):  # a plain loop: ~1 ms for the 4,000 rows history keeps
        s = a * s + (1 - a) * v
        out[i] = s
    return out / (1 - a ** np.arange(1, len(y) + 1))


def metric_group(key: str) -> str:
    """The chart a metric key belongs to: the prefix before '/' (loss/d -> loss)."""
    return key.split("/", 1)[0] if "/" in key else "other"


def group_metric_keys(keys) -> dict[str, list[str]]:
    """Keys by chart, in a stable order: loss first, eval last, reference `floor/` keys dropped
    (they are drawn as dashed lines on the matching eval chart)."""
    first, last = ["loss", "d", "kl"], ["eval"]
    groups: dict[str, list[str]] = {}
    for k in sorted(keys):
        g = metric_group(k)
        if g != "floor":
            groups.setdefault(g, []).append(k)
    rank = {g: (first.index(g) if g in first else len(first) + (g in last)) for g in groups}
    return {g: groups[g] for g in sorted(groups, key=lambda g: (rank[g], g))}


def curves_figure(
    series: dict[str, tuple],
    *,
    smoothing: float = 0.0,
    log_y: bool = False,
    floors: dict[str, float] | None = None,
    labels: dict[str, str] | None = None,
    subplots: bool = False,
    uirevision: str = "curves",
    height: int = 300,
    max_points: int = CURVE_POINTS,
    webgl: bool = False,
    marks: list[tuple[float, str]] | None = None,
    cols: int = 2,
    row_height: int = 190,
):
    """One metric group: `series` = {key: (steps, values)}. With `smoothing` > 0 the raw curve is
    drawn faint behind its EMA. `subplots` gives each key its own y axis (quality metrics have
    different scales); `floors` (key -> real-vs-real value) are dashed reference lines; `marks`
    (x, label) are dotted vertical lines, e.g. the live knob changes (step, "lr_d=0.0004").
    Subplots are small multiples, `cols` a row, `row_height` px each, sharing the x axis (steps).

    Lines are drawn as SVG by default: at <= 2,000 points per trace SVG is cheap, while WebGL
    costs a browser without a GPU (software GL) about 3x more CPU per redraw (measured: 4 tabs x
    2 charts x 4 traces of 2,000 points redrawn every second took 1.77 cores as Scattergl, 0.55 as
    Scatter). Point clouds are the opposite case and stay WebGL (live_points_figure)."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    from plotly.subplots import make_subplots

    Trace = go.Scattergl if webgl else go.Scatter
    keys = list(series)
    labels = labels or {}
    floors = floors or {}
    if subplots and len(keys) > 1:
        rows = math.ceil(len(keys) / cols)
        fig = make_subplots(
            rows=rows,
            cols=cols,
            shared_xaxes="all",
            vertical_spacing=min(0.14, 0.5 / rows),
            horizontal_spacing=0.3 / cols,
            subplot_titles=[labels.get(k, k) for k in keys],
        )
        height = max(height, row_height * rows)
    else:
        fig = go.Figure()
    palette = qualitative.Plotly
    all_xs: list[float] = []
    for i, key in enumerate(keys):
        steps, values = series[key]
        color = palette[i % len(palette)]
        pos = dict(row=i // cols + 1, col=i % cols + 1) if subplots and len(keys) > 1 else {}
        name = labels.get(key, key)
        if smoothing > 0 and len(values) > 1:
            xs, ys = thin_minmax(steps, values, max_points)
            fig.add_trace(
                Trace(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=name,
                    legendgroup=key,
                    showlegend=False,
                    hoverinfo="skip",
                    opacity=0.25,
                    line=dict(color=color, width=1),
                ),
                **pos,
            )
            xs, ys = thin_minmax(steps, ema(values, smoothing), max_points)
        else:
            xs, ys = thin_minmax(steps, values, max_points)
        mode = "lines" if len(xs) > 1 else "markers"
        fig.add_trace(
            Trace(
                x=xs,
                y=ys,
                mode=mode,
                name=name,
                legendgroup=key,
                line=dict(color=color, width=2),
                marker=dict(color=color),
            ),
            **pos,
        )
        single = single_x_range(xs)
        if single is not None and pos:  # its own subplot: its own axis
            fig.update_xaxes(range=single, **pos)
        all_xs.extend(xs)
        floor_key = "floor/" + key.split("/", 1)[-1]
        if floor_key in floors and len(xs):
            fig.add_trace(
                Trace(
                    x=[float(xs[0]), float(xs[-1])],
                    y=[floors[floor_key]] * 2,
                    mode="lines",
                    name=f"{name} (real vs real)",
                    showlegend=False,
                    line=dict(color=color, width=1, dash="dash"),
                ),
                **pos,
            )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30 if subplots else 10, b=10),
        uirevision=uirevision,
        hovermode="x unified",
        showlegend=not (subplots and len(keys) > 1),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
    )
    fig.update_yaxes(type="log" if log_y else "linear")
    fig.update_xaxes(title_text=None)
    single = single_x_range(all_xs)
    if single is not None and not (subplots and len(keys) > 1):
        fig.update_xaxes(range=single)
    for x, text in marks or []:
        where = dict(row="all", col="all") if subplots and len(keys) > 1 else {}
        fig.add_vline(
            x=x,
            line=dict(color="rgba(90, 90, 90, 0.7)", width=1, dash="dot"),
            annotation=dict(text=text, font=dict(size=10), textangle=-90),
            annotation_position="top left",
            **where,
        )
    return fig


def metric_labels(keys) -> dict[str, str]:
    """Readable names from genlab.metrics.metric_info, with the better direction as an arrow."""

    arrows = {"lower": " ↓", "higher": " ↑"}
    return {
        k: f"{metric_info[k][0]}{arrows.get(metric_info[k][1], '')}"
        for k in keys
        if k in metric_info
    }


# in the history and metrics.jsonl, not worth a chart (stop/best_step: stop=auto names the step
# whose evaluation its last row repeats, genlab.runs.stopping)
HIDDEN_CURVES = ("time/eval_s", "stop/best_step")


def run_curve_figures(
    history,
    live_changes: list[dict],
    run_id: str,
    smoothing: float = 0.0,
    log_y: bool = False,
    height: int = 260,
    quality_height: int = 220,
    row_height: int = 150,
    cols: int = 4,
) -> list[tuple[str, object]]:
    """The live page's charts of one run's MetricHistory: (group, figure) per metric group,
    the real-vs-real floors dashed on the quality charts (small multiples, `cols` a row, sharing
    x), the live knob changes as dotted lines on the others."""
    marks = knob_marks(live_changes)
    keys = history.keys()
    floors = {}
    for k in keys:
        if k.startswith("floor/"):
            _, _, vals = history.series(k)
            if vals:
                floors[k] = vals[-1]
    labels = metric_labels(keys)
    figs = []
    for group, gkeys in group_metric_keys([k for k in keys if k not in HIDDEN_CURVES]).items():
        series = {}
        for k in gkeys:
            steps, _, values = history.series(k)
            series[k] = (steps, values)
        quality = group == "eval"
        fig = curves_figure(
            series,
            smoothing=smoothing,
            log_y=log_y,
            floors=floors,
            labels=labels,
            subplots=quality,
            uirevision=f"{run_id}-{group}",
            height=quality_height if quality else height,
            marks=None if quality else marks,
            cols=cols,
            row_height=row_height,
        )
        figs.append((group, fig))
    return figs


def knob_marks(live_changes: list[dict]) -> list[tuple[float, str]]:
    """Live knob changes [{"step", "key", "value"}] -> (step, "key=value, ...") marks, one per
    step (several knobs changed together share a line)."""
    by_step: dict[float, list[str]] = {}
    for c in live_changes:
        v = c["value"]
        shown = f"{v:.3g}" if isinstance(v, float) else str(v)
        by_step.setdefault(float(c["step"]), []).append(f"{c['key']}={shown}")
    return [(step, ", ".join(parts)) for step, parts in sorted(by_step.items())]
