"""Your own data, the easy way (issue #6): draw a 2D distribution on a Plotly canvas.

A faint grid of clickable dots covers the plane: a click on one drops a small Gaussian blob of
points there; the box or lasso tool fills the selected area with uniform points (as dense as a
click's blob). Undo and Clear edit the drawing. Once it has enough points it is saved like an
uploaded CSV (x,y[,label] rows, `save_upload`) and the `csv2d` dataset reads it, so the
preview, the run folder's copy of the data and resuming all work as for an upload.

The blob and selection helpers are plain functions of numpy arrays (tested headless); only
`drawing_chosen` and `draw` call streamlit.
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import re
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from genlab.ui import explain

UPLOAD_DIR = "genlab-uploads"  # under the system temp folder (never the repo)

LIM = 4.0  # the canvas spans [-LIM, LIM]^2
GRID_N = 33  # clickable dots per side (spacing 0.25)
MIN_POINTS = 20  # fewer cannot make a train/validation split worth training on
MAX_POINTS = 20_000
MAX_BLOB = 2_000
CLASSES = ("A", "B", "C", "D")
UNDO_MAX = 50

POINTS = "genlab.draw.points"  # (n, 3) float array: x, y, class index
UNDO = "genlab.draw.undo"  # stack of the drawings before each change (arrays never mutated)
CANVAS = "genlab.draw.canvas"  # counter: a new chart key after each addition clears its selection
MODE = "genlab.draw.mode"
DRAW = "Draw them"

# A small drawing travels in the share link: ?points=<base64url(zlib(x, y as int16 hundredths,
# then the class bytes))>. Past LINK_MAX_CHARS (a few hundred points) the link says it cannot.
LINK_QUERY = "points"
LINK_SCALE = 100  # 0.01 resolution on the [-4, 4] canvas
LINK_MAX_CHARS = 4000


# ----- blobs (headless) -------------------------------------------------------------------------
def blob_at(x: float, y: float, n: int, spread: float, rng: np.random.Generator) -> np.ndarray:
    """n points ~ N((x, y), spread² I), clipped to the canvas: (n, 2)."""
    pts = rng.normal((x, y), spread, size=(n, 2))
    return np.clip(pts, -LIM, LIM)


def blob_in_box(xs: list[float], ys: list[float], n: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniform in the box spanned by the corners xs, ys (in any order): (n, 2)."""
    x0, x1 = sorted((float(min(xs)), float(max(xs))))
    y0, y1 = sorted((float(min(ys)), float(max(ys))))
    return np.stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)], 1)


def inside_polygon(px: np.ndarray, py: np.ndarray, xs: list[float], ys: list[float]) -> np.ndarray:
    """Even-odd rule (ray casting) for many points against one polygon: bool (m,)."""
    inside = np.zeros(len(px), dtype=bool)
    vx, vy = np.asarray(xs, float), np.asarray(ys, float)
    j = len(vx) - 1
    for i in range(len(vx)):
        crosses = (vy[i] > py) != (vy[j] > py)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = (vx[j] - vx[i]) * (py - vy[i]) / (vy[j] - vy[i]) + vx[i]
        inside ^= crosses & (px < x_at)
        j = i
    return inside


def blob_in_lasso(xs: list[float], ys: list[float], n: int, rng: np.random.Generator) -> np.ndarray:
    """n points uniform inside the lasso polygon (rejection sampling in its bounding box)."""
    out: list[np.ndarray] = []
    got = 0
    for _ in range(50):  # a thin polygon may need several rounds
        cand = blob_in_box(xs, ys, max(4 * n, 64), rng)
        keep = cand[inside_polygon(cand[:, 0], cand[:, 1], xs, ys)]
        out.append(keep)
        got += len(keep)
        if got >= n:
            break
    pts = np.concatenate(out) if out else np.zeros((0, 2))
    return pts[:n]


def _area_count(area: float, n: int, spread: float) -> int:
    """As many points as a click blob puts in its 2σ disk, per unit of area."""
    density = n / (math.pi * (2 * spread) ** 2)
    return int(min(MAX_BLOB, max(n, round(area * density))))


def polygon_area(xs: list[float], ys: list[float]) -> float:
    x, y = np.asarray(xs, float), np.asarray(ys, float)
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def points_from_selection(
    selection: dict[str, Any], n: int, spread: float, label: int, rng: np.random.Generator
) -> np.ndarray:
    """New points (k, 3) for one Plotly selection event: a box or lasso fills its area; else
    each clicked dot gets a blob. (A box also lists the dots inside it as points: those are
    ignored, the box itself is the gesture.)"""
    new: list[np.ndarray] = []
    for box in selection.get("box") or []:
        xs, ys = list(box.get("x", [])), list(box.get("y", []))
        if len(xs) >= 2 and len(ys) >= 2:
            area = (max(xs) - min(xs)) * (max(ys) - min(ys))
            new.append(blob_in_box(xs, ys, _area_count(area, n, spread), rng))
    for lasso in selection.get("lasso") or []:
        xs, ys = list(lasso.get("x", [])), list(lasso.get("y", []))
        if len(xs) >= 3:
            count = _area_count(polygon_area(xs, ys), n, spread)
            new.append(blob_in_lasso(xs, ys, count, rng))
    if not new:
        for p in selection.get("points") or []:
            if "x" in p and "y" in p:
                new.append(blob_at(float(p["x"]), float(p["y"]), n, spread, rng))
    if not new:
        return np.zeros((0, 3), dtype=np.float32)
    xy = np.clip(np.concatenate(new), -LIM, LIM)
    return np.concatenate([xy, np.full((len(xy), 1), label)], 1).astype(np.float32)


def to_csv(points: np.ndarray) -> bytes:
    """x,y rows (x,y,label with the class letters when the drawing has two or more classes),
    the format `csv2d` reads."""
    labels = np.unique(points[:, 2]).astype(int) if len(points) else []
    labelled = len(labels) >= 2
    buf = io.StringIO()
    buf.write("x,y,label\n" if labelled else "x,y\n")
    for x, y, k in points:
        buf.write(f"{x:.4f},{y:.4f}" + (f",{CLASSES[int(k)]}\n" if labelled else "\n"))
    return buf.getvalue().encode()


def encode_points(points: np.ndarray) -> str:
    """A drawing (n, 3) as URL-safe text: coordinates to 0.01, classes exact."""
    xy = np.round(np.clip(points[:, :2], -LIM, LIM) * LINK_SCALE).astype("<i2")  # (n, 2)
    raw = xy.tobytes() + points[:, 2].astype(np.uint8).tobytes()
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")


def decode_points(text: str) -> np.ndarray:
    """The inverse of `encode_points`; ValueError on anything that is not a drawing."""
    try:
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        raw = zlib.decompressobj().decompress(packed, 5 * MAX_POINTS + 1)  # bounded: no bomb
    except (ValueError, zlib.error):
        raise ValueError("points= in the link is not a drawing") from None
    n = len(raw) // 5
    if len(raw) != 5 * n or not MIN_POINTS <= n <= MAX_POINTS:
        raise ValueError(f"points= in the link holds {len(raw) / 5:g} points, not a drawing")
    xy = np.frombuffer(raw[: 4 * n], dtype="<i2").reshape(n, 2) / LINK_SCALE
    k = np.frombuffer(raw[4 * n :], dtype=np.uint8)
    if np.abs(xy).max() > LIM or k.max() >= len(CLASSES):
        raise ValueError("points= in the link lies outside the canvas")
    return np.concatenate([xy, k[:, None]], 1).astype(np.float32)


def apply_link(text: str) -> None:
    """A drawing from a share link becomes the current drawing (ValueError when it is not one)."""
    st.session_state[POINTS] = decode_points(text)
    st.session_state[MODE] = DRAW


def link_points() -> str | None:
    """The current drawing as the link's text, when the drawing is chosen and small enough."""
    if st.session_state.get(MODE) != DRAW or len(_points()) < MIN_POINTS:
        return None
    text = encode_points(_points())
    return text if len(text) <= LINK_MAX_CHARS else None


def link_note() -> str | None:
    """Why the share link lacks the drawing, when it does."""
    if st.session_state.get(MODE) != DRAW or len(_points()) < MIN_POINTS or link_points():
        return None
    return (
        f"The drawing ({len(_points()):,} points) is too big to travel in the link: it "
        "reproduces the settings only. Download the drawing as CSV to share it."
    )


def canvas_figure(points: np.ndarray, height: int = 460):
    """The drawing canvas: trace 0 is the faint grid of clickable dots, then one trace of drawn
    points per class."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    g = np.linspace(-LIM, LIM, GRID_N)
    gx, gy = np.meshgrid(g, g)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=gx.ravel(),
            y=gy.ravel(),
            mode="markers",
            name="click a dot",
            marker=dict(size=7, color="rgba(150,150,150,0.18)"),
            hovertemplate="add a blob at (%{x:.2f}, %{y:.2f})<extra></extra>",
            showlegend=False,
        )
    )
    for k, name in enumerate(CLASSES):
        pick = points[:, 2] == k if len(points) else np.zeros(0, bool)
        if pick.any():
            fig.add_trace(
                go.Scatter(
                    x=points[pick, 0],
                    y=points[pick, 1],
                    mode="markers",
                    name=f"class {name}",
                    marker=dict(size=4, color=qualitative.Plotly[k]),
                    hoverinfo="skip",
                )
            )
    fig.update_xaxes(range=[-LIM - 0.2, LIM + 0.2], zeroline=False)
    fig.update_yaxes(range=[-LIM - 0.2, LIM + 0.2], zeroline=False, scaleanchor="x")
    # No dragmode here: Streamlit then starts in pan mode, where a click selects the dot under
    # it (in box/lasso mode it turns click-selection off); the toolbar switches to box or lasso.
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
        uirevision="draw",  # keep zoom and tool between reruns
    )
    return fig


# ----- the widgets ------------------------------------------------------------------------------
def _points() -> np.ndarray:
    return st.session_state.setdefault(POINTS, np.zeros((0, 3), dtype=np.float32))


def _add(new: np.ndarray) -> None:
    pts = _points()
    room = MAX_POINTS - len(pts)
    if room <= 0:
        st.toast(f"The drawing is full ({MAX_POINTS:,} points).")
        return
    stack = st.session_state.setdefault(UNDO, [])
    stack.append(pts)
    del stack[:-UNDO_MAX]  # bounded memory: the last UNDO_MAX drawings
    st.session_state[POINTS] = np.concatenate([pts, new[:room]])


def _undo() -> None:
    stack = st.session_state.get(UNDO) or []
    if stack:
        st.session_state[POINTS] = stack.pop()


def _clear() -> None:
    if len(_points()):
        st.session_state.setdefault(UNDO, []).append(_points())
    st.session_state[POINTS] = np.zeros((0, 3), dtype=np.float32)


def drawing_chosen() -> bool:
    """The choice between uploading a CSV and drawing (for the 2D points upload dataset)."""
    choice = st.radio("Your points", ("Upload a CSV", DRAW), key=MODE, horizontal=True)
    return choice == DRAW


def draw() -> str | None:
    """The canvas and its tools; returns the saved CSV's path once the drawing has at least
    MIN_POINTS points, else None."""

    explain.note("data.draw")
    c = st.columns([1, 1, 1])
    n = c[0].slider("Points per click", 5, 200, 40, step=5, key="draw.n")
    spread = c[1].slider("Blob spread", 0.05, 1.0, 0.25, step=0.05, key="draw.spread")
    label = c[2].selectbox(
        "Class", range(len(CLASSES)), key="draw.class", format_func=lambda k: CLASSES[k]
    )
    counter = st.session_state.setdefault(CANVAS, 0)
    key = f"draw.canvas.{counter}"
    event = st.session_state.get(key)
    selection = event.get("selection") if event else None
    if selection and (selection.get("points") or selection.get("box") or selection.get("lasso")):
        rng = np.random.default_rng(1000 + len(_points()) + counter)
        new = points_from_selection(selection, int(n), float(spread), int(label), rng)
        if len(new):
            _add(new)
        st.session_state[CANVAS] = counter = counter + 1  # a fresh chart: no stale selection
        key = f"draw.canvas.{counter}"
    pts = _points()
    st.plotly_chart(
        canvas_figure(pts, explain.chart_height(460)),
        key=key,
        on_select="rerun",
        selection_mode=("points", "box", "lasso"),
        config={"displaylogo": False, "modeBarButtonsToRemove": ["toImage"]},
    )
    row = st.container(horizontal=True, vertical_alignment="center")
    row.button(
        "Undo",
        icon=":material/undo:",
        key="draw.undo",
        on_click=_undo,
        disabled=not st.session_state.get(UNDO),
    )
    row.button(
        "Clear", icon=":material/delete:", key="draw.clear", on_click=_clear, disabled=not len(pts)
    )
    classes = len(np.unique(pts[:, 2])) if len(pts) else 0
    row.caption(f"**{len(pts):,}** points drawn" + (f", {classes} classes" if classes >= 2 else ""))
    if len(pts) < MIN_POINTS:
        st.info(
            f"Click the grey dots to add points (at least {MIN_POINTS}), or pick the box or "
            "lasso tool in the chart's toolbar and drag; the preview and the Start button "
            "follow.",
            icon=":material/draw:",
        )
        return None
    data = to_csv(pts)
    st.download_button(
        "Download as CSV",
        data,
        "drawn.csv",
        "text/csv",
        key="draw.download",
        icon=":material/download:",
    )
    return save_upload("drawn.csv", data)


def file_caption(data_file: str | None) -> str:
    """'file.csv · 12.4 kB' for an uploaded file or folder (the preview's first line)."""
    if not data_file:
        return ""
    p = Path(data_file)
    try:
        size = (
            sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            if p.is_dir()
            else p.stat().st_size
        )
    except OSError:
        return ""
    name = p.name.split("-", 1)[-1] if p.parent.name == "genlab-uploads" else p.name
    return f"Your file `{name}` · {size / 1024:,.1f} kB"


def save_upload(name: str, data: bytes) -> str:
    """The uploaded bytes as a file under the system temp folder (never the repo); the name
    carries a hash of the content, so a re-upload reuses the same file."""
    folder = Path(tempfile.gettempdir()) / UPLOAD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-80:] or "upload"
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}-{safe}"
    if not path.exists():
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return str(path)
