"""Figures and image grids, with no streamlit: plotly figures for the app, PNG grids everywhere."""

from __future__ import annotations

import io
import math

import numpy as np
import torch
from PIL import Image


def image_grid(
    images: torch.Tensor | np.ndarray, nrow: int | None = None, pad: int = 1, min_cell: int = 32
) -> Image.Image:
    """(N, C, H, W) in [0, 1] -> one PIL image; small images are upscaled (nearest) to `min_cell`
    pixels."""
    x = torch.as_tensor(images).detach().float().cpu().clamp(0, 1)
    n, c, h, w = x.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    ncol = math.ceil(n / nrow)
    grid = torch.ones(c, ncol * (h + pad) + pad, nrow * (w + pad) + pad)  # (C, H', W') white gaps
    for i in range(n):
        r, q = divmod(i, nrow)
        top, left = pad + r * (h + pad), pad + q * (w + pad)
        grid[:, top : top + h, left : left + w] = x[i]
    arr = (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)  # (H', W', C)
    im = Image.fromarray(arr[:, :, 0] if c == 1 else arr, mode="L" if c == 1 else "RGB")
    factor = max(1, math.ceil(min_cell / max(h, w)))
    if factor > 1:
        im = im.resize((im.width * factor, im.height * factor), Image.NEAREST)
    return im


def png_bytes(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def image_grid_png(images: torch.Tensor | np.ndarray, nrow: int | None = None) -> bytes:
    return png_bytes(image_grid(images, nrow))


# ----- snapshots as PNG, without plotly or matplotlib (TensorBoard, MLflow, model cards) -------
PALETTE = ((239, 85, 59), (99, 110, 250), (0, 204, 150), (171, 99, 250), (255, 161, 90))
GREY = (185, 185, 185)


def _to_pixels(v: np.ndarray, lo: float, hi: float, size: int, flip: bool = False) -> np.ndarray:
    """Data coordinates -> integer pixel positions in [0, size - 1] (y grows downwards)."""
    u = (v - lo) / ((hi - lo) or 1.0)
    u = 1 - u if flip else u
    return np.clip(np.round(u * (size - 1)), 0, size - 1).astype(int)


def points_png(samples: np.ndarray, real: np.ndarray | None = None, size: int = 320) -> bytes:
    """Generated 2D points (n, 2), or (n, 3) with a class label in column 2, drawn over the real
    ones (grey) on axes fixed by the real data, as the live page draws them: 2x2-pixel dots."""
    s = np.asarray(samples, dtype=np.float32)
    ref = np.asarray(real, dtype=np.float32) if real is not None and len(real) else s
    (x0, x1), (y0, y1) = padded_range(ref[:, 0]), padded_range(ref[:, 1])
    half = max(x1 - x0, y1 - y0) / 2  # equal axes: a circle stays a circle
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    canvas = np.full((size, size, 3), 255, dtype=np.uint8)  # (H, W, RGB)
    layers = [(real, None)] if real is not None and len(real) else []
    layers.append((s, s[:, 2].astype(int) if s.shape[1] >= 3 else None))
    for i, (arr, labels) in enumerate(layers):
        a = np.asarray(arr, dtype=np.float32)
        ok = np.isfinite(a[:, :2]).all(1)
        px = _to_pixels(a[ok, 0], cx - half, cx + half, size)
        py = _to_pixels(a[ok, 1], cy - half, cy + half, size, flip=True)
        if i == 0 and len(layers) == 2:
            color = np.array([GREY] * len(px), dtype=np.uint8)
        elif labels is not None:
            color = np.array(PALETTE, dtype=np.uint8)[labels[ok] % len(PALETTE)]
        else:
            color = np.array([PALETTE[0]] * len(px), dtype=np.uint8)
        for dy in (0, 1):
            for dx in (0, 1):
                canvas[np.minimum(py + dy, size - 1), np.minimum(px + dx, size - 1)] = color
    return png_bytes(Image.fromarray(canvas, mode="RGB"))


def series_png(
    samples: np.ndarray, real: np.ndarray | None = None, n_show: int = 6, size=(480, 240)
) -> bytes:
    """A few generated series (colours) over a few real ones (grey), channel 0: (n, T, C) or
    (n, T) arrays, on one y range."""
    from PIL import ImageDraw

    def first_channel(a):
        a = np.asarray(a, dtype=np.float32)
        return (a[:, :, 0] if a.ndim == 3 else a)[:n_show]  # (n, T)

    s = first_channel(samples)
    r = first_channel(real) if real is not None and len(real) else s[:0]
    both = np.concatenate([s.ravel(), r.ravel()])
    both = both[np.isfinite(both)]
    lo, hi = padded_range(both, 0.05) if len(both) else (-1.0, 1.0)
    w, h = size
    im = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(im)
    for arr, grey in ((r, True), (s, False)):
        for i, row in enumerate(arr):
            xs = _to_pixels(np.arange(len(row), dtype=np.float32), 0, max(1, len(row) - 1), w)
            ys = _to_pixels(np.nan_to_num(row, nan=lo), lo, hi, h, flip=True)
            color = GREY if grey else PALETTE[i % len(PALETTE)]
            draw.line(list(zip(xs.tolist(), ys.tolist())), fill=color, width=3 if grey else 2)
    return png_bytes(im)


def text_png(lines: list[str], max_lines: int = 30) -> bytes:
    """Text samples, one per line, in PIL's built-in font (no font file needed)."""
    from PIL import ImageDraw

    shown = [s or "(empty)" for s in lines[:max_lines]]
    line_h = 14
    width = 12 + 7 * max((len(s) for s in shown), default=8)
    im = Image.new("RGB", (max(120, width), 10 + line_h * max(1, len(shown))), "white")
    draw = ImageDraw.Draw(im)
    for i, s in enumerate(shown):
        draw.text((6, 5 + i * line_h), s, fill=(20, 20, 20))
    return png_bytes(im)


def snapshot_png(kind: str, payload, real: np.ndarray | None = None) -> bytes:
    """One sample snapshot as a PNG: the image grid as it is, points and series drawn over the
    real data, text as lines."""
    if kind == "images":
        return bytes(payload)
    if kind == "points":
        return points_png(payload, real)
    if kind == "sequences":
        return series_png(payload, real)
    return text_png(list(payload))


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


def single_x_range(xs) -> list[float] | None:
    """An x range for a series with one distinct x (a single evaluation): from 0 to a little past
    it, where plotly's own would span x ± 1 and label the step 1,000.5."""
    vals = np.unique(np.asarray(xs, dtype=float))
    if len(vals) != 1:
        return None
    x = float(vals[0])
    return [min(0.0, x), max(x, 1.0) * 1.05] if x >= 0 else [x * 1.05, 0.0]


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
        fig.add_trace(
            go.Scattergl(
                x=s[:, 0],
                y=s[:, 1],
                mode="markers",
                name="generated",
                marker=dict(size=4, color=GENERATED_COLOR, opacity=0.7),
            )
        )
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
    from genlab.metrics import metric_info

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


def padded_range(a: np.ndarray, pad: float = 0.15) -> list[float]:
    lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
    span = (hi - lo) or 1.0
    return [lo - pad * span, hi + pad * span]


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
            fig.add_trace(
                go.Scattergl(
                    x=s[:, 0],
                    y=s[:, 1],
                    mode="markers",
                    name="generated",
                    marker=dict(size=4, color=GENERATED_COLOR, opacity=0.7),
                )
            )
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
