"""Inside the model for images, sequences and text (issue #6), headless: pure functions of a method
and a dataset, plus a thread-safe CPU copy of a live run's model to compute them on.

- images: latent interpolation and per-dimension traversal strips (VAE, GAN), one row per class
  (conditional GAN), the discriminator's score under each shown item, reconstructions beside
  their originals (VAE);
- sequences: generated series over the band of the real data's spread, and a recurrent
  discriminator's score at every step;
- text: the probability the model gives each character after its prefix (a heat strip), and
  samples split into "in the training data" and "new".

Which parts a method has comes from its hooks (`critic`, `reconstruct`, `latent_importance`,
`char_probs`, and genlab.runs.sampling's latent contract), never from its name. No streamlit here.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from genlab.data import Dataset
from genlab.data.text import decode
from genlab.figures.png import png_bytes
from genlab.methods import Method
from genlab.runs import sampling
from genlab.runs.build import build_method

END_MARK = "⏎"  # the end token in a heat strip: p(end | the whole string)


# ----- a CPU copy of a run's model ----------------------------------------------------------
@dataclass
class ViewModel:
    method: Method  # on the CPU, eval mode; never the training thread's module
    step: int
    taken: float  # time.monotonic() when it was refreshed
    version: int = 0  # the run's ViewState version (live), 0 for a checkpoint
    stamp: int = 0  # the checkpoint file's stamp (runs read from disk)


class ViewModels:
    """One CPU copy of each run's model for the views, shared by every session of the process.

    The worker thread keeps training its own module; the views never call it. A live run
    publishes copies of its weights between steps when asked (`Run.view_state`); here they are
    loaded into a model built once per run, asking for a fresh copy at most every
    `min_interval` seconds. Runs without a live module (read from disk, ended in an earlier
    server) load their last checkpoint."""

    def __init__(self, min_interval: float = 3.0, max_runs: int = 8, wait_s: float = 1.0):
        self.min_interval = min_interval
        self.wait_s = wait_s
        self.max_runs = max_runs
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, ViewModel] = OrderedDict()

    def get(self, run: Any) -> ViewModel | None:
        """The view copy of `run` (a genlab Run, or anything with `id` and `dir`: a saved run),
        or None when there is nothing to show yet (no copy published, no checkpoint)."""
        with self._lock:  # one rebuild at a time: sessions watching the same run share it
            vm = self._cache.get(run.id)
            if vm is not None and vm.version and time.monotonic() - vm.taken < self.min_interval:
                return vm
            state = self._fresh_state(run, vm)
            vm = self._live(run, state, vm) if state is not None else self._disk(run, vm)
            if vm is not None:
                self._cache[run.id] = vm
                self._cache.move_to_end(run.id)
                while len(self._cache) > self.max_runs:
                    self._cache.popitem(last=False)
            return vm

    def _fresh_state(self, run: Any, vm: ViewModel | None) -> Any:
        """The run's published weights. Asking makes the worker copy them after its current step;
        while it trains, wait that long (at most `wait_s`) so the view shows the current step
        rather than the copy asked for one refresh ago."""
        view_state = getattr(run, "view_state", None)
        if not callable(view_state):
            return None
        state = view_state()
        if run.snapshot().status != "running":
            return state
        have = state.version if state is not None else (vm.version if vm else 0)
        deadline = time.monotonic() + self.wait_s
        while time.monotonic() < deadline:
            time.sleep(0.05)
            newer = view_state()  # (asks again: at most one copy per step while we wait)
            if newer is not None and newer.version > have:
                return newer
            state = newer if newer is not None else state
        return state

    def _live(self, run: Any, state: Any, vm: ViewModel | None) -> ViewModel:
        now = time.monotonic()
        if vm is not None and vm.version == state.version:
            vm.taken = now
            return vm
        if vm is None or not vm.version:
            train = dataclasses.replace(run.train, device="cpu")
            m = build_method(run.method_name, state.cfg, train, run.data.spec, "cpu")
            vm = ViewModel(m.eval(), state.step, now)
        vm.method.load_state_dict(state.tensors)  # copies into the view model's own tensors
        vm.method.cfg = state.cfg  # live knobs (e.g. the loss) change how scores read
        vm.method.step = vm.step = int(state.step)
        vm.version, vm.taken = state.version, now
        return vm

    def _disk(self, run: Any, vm: ViewModel | None) -> ViewModel | None:
        stamp = sampling.checkpoint_stamp(run.dir.path)
        if not stamp:
            return None
        if vm is not None and vm.stamp == stamp:
            return vm
        loaded = sampling.load_run(run.dir.path, device="cpu")
        return ViewModel(loaded.method, loaded.step, time.monotonic(), 0, stamp)


VIEWS = ViewModels()


# ----- images -------------------------------------------------------------------------------
@torch.no_grad()
def critic_scores(m: Method, x: torch.Tensor, y: torch.Tensor | None = None) -> np.ndarray | None:
    """D's score of each item, (n,) (a per-step critic is averaged over the steps); None for a
    method without a discriminator."""
    if m.conditional and y is None:
        y = m.sample_labels(len(x))
    s = m.critic(x.to(m.device), y)
    if s is None:
        return None
    s = s.float().reshape(len(x), -1).mean(1)  # (n,)
    return s.cpu().numpy()


def traversal_dims(m: Method, data: Dataset, n_dims: int) -> tuple[list[int], np.ndarray | None]:
    """Which latent dimensions to traverse: the most used ones first when the method can tell
    (a VAE's KL per dimension on validation items), else the first `n_dims`. Returns the dims
    and their importance (or None)."""
    d = sampling.latent_dim(m)
    if d is None:
        return [], None
    imp = m.latent_importance(data.x_val[:500].to(m.device))
    if imp is None:
        return list(range(min(n_dims, d))), None
    imp_np = imp.float().cpu().numpy()
    order = np.argsort(-imp_np, kind="stable")[:n_dims]
    return [int(i) for i in order], imp_np


@torch.no_grad()
def traversal(
    m: Method, seed: int, dims: list[int], k: int = 7, lim: float = 3.0, y: int | None = None
) -> tuple[torch.Tensor, np.ndarray]:
    """Per-dimension traversal: from z(seed), move one dimension at a time over [-lim, lim]
    (the others held), decode. Returns items (len(dims) * k, *shape), row-major (one row per
    dimension), and the k values."""
    if sampling.latent_dim(m) is None:
        raise ValueError(f"method {m.name!r} has no latent space to traverse")
    if k < 2 or not dims:
        raise ValueError(f"need k >= 2 steps and at least one dimension (k={k}, dims={dims})")
    z0 = sampling.latent_noise(m, seed)[0]  # (d,)
    v = torch.linspace(-lim, lim, k, device=m.device)  # (k,)
    z = z0.repeat(len(dims) * k, 1)  # (R*k, d)
    for r, j in enumerate(dims):
        z[r * k : (r + 1) * k, j] = v
    labels = None
    if m.conditional:
        labels = torch.full((len(z),), int(y or 0), dtype=torch.long, device=m.device)
    return sampling.decode_latent(m, z, labels), v.cpu().numpy()


@torch.no_grad()
def reconstructions(m: Method, data: Dataset, n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """n validation items and their reconstructions, each (n, *shape); ValueError for a method
    without an encoder."""
    x = data.x_val[:n].to(m.device)
    r = m.reconstruct(x)
    if r is None:
        raise ValueError(f"method {m.name!r} has no encoder to reconstruct with")
    if m.spec.kind == "images":
        r = r.clamp(0, 1)
    return x, r


@torch.no_grad()
def real_and_fake(
    m: Method, data: Dataset, n: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """n validation items (with labels) and n samples (with the labels they were asked for)."""
    x_real = data.x_val[:n].to(m.device)
    y_real = None if data.y_val is None else data.y_val[:n].to(m.device)
    y_fake = m.sample_labels(n) if m.conditional else None
    x_fake = sampling.sample(m, n, seed, y_fake)
    return x_real, x_fake, y_real, y_fake


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: a fixed bitmap font
        return ImageFont.load_default()


def captioned_grid_png(
    items: torch.Tensor,
    ncol: int,
    captions: list[str] | None = None,
    colors: list[str] | None = None,
    row_titles: list[str] | None = None,
    cell: int = 56,
) -> bytes:
    """Images (n, C, H, W) in [0, 1] in rows of `ncol`, each upscaled (nearest) to about `cell`
    pixels, with an optional caption under each (in `colors`) and a title left of each row."""
    x = items.detach().float().cpu().clamp(0, 1)
    n, c, h, w = x.shape
    scale = max(1, round(cell / max(h, w)))
    ch, cw = h * scale, w * scale
    cap_h = 16 if captions else 0
    title_w = 0
    font = _font(12)
    if row_titles:
        title_w = 8 + max(int(font.getlength(t)) for t in row_titles)
    nrows = math.ceil(n / ncol)
    pad = 4
    W = title_w + ncol * (cw + pad) + pad
    H = nrows * (ch + cap_h + pad) + pad
    canvas = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(canvas)
    for i in range(n):
        r, q = divmod(i, ncol)
        left, top = title_w + pad + q * (cw + pad), pad + r * (ch + cap_h + pad)
        arr = (x[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)  # (H, W, C)
        im = Image.fromarray(arr[:, :, 0] if c == 1 else arr).convert("RGB")
        canvas.paste(im.resize((cw, ch), Image.NEAREST), (left, top))
        if captions:
            color = colors[i] if colors else "#333333"
            text = captions[i]
            tw = font.getlength(text)
            draw.text((left + (cw - tw) / 2, top + ch + 1), text, fill=color, font=font)
    for r, t in enumerate(row_titles or []):
        draw.text((4, pad + r * (ch + cap_h + pad) + ch / 2 - 7), t, fill="#333333", font=font)
    return png_bytes(canvas)


REAL_LIKE, FAKE_LIKE = "#1a7f37", "#cf222e"  # green: scored like real data; red: below it


def score_captions(
    m: Method, scores: np.ndarray | None, reference: float | None
) -> tuple[list[str] | None, list[str] | None]:
    """D's verdict under each item ("P 0.73" for a probability of real, "D +1.20" for a raw
    score), green when D scores it at least as high as the median real item (`reference`), red
    below: a reading that does not depend on the loss's scale."""
    if scores is None:
        return None, None
    prob = m.critic_scale()[0] == "P(real)"
    caps = [f"P {s:.2f}" if prob else f"D {s:+.2f}" for s in scores]
    if reference is None:
        return caps, None
    return caps, [REAL_LIKE if s >= reference else FAKE_LIKE for s in scores]


def real_reference(m: Method, data: Dataset, n: int = 64) -> float | None:
    """The median of D's scores on n validation items: "as real as typical real data"."""
    y = None if data.y_val is None else data.y_val[:n]
    s = critic_scores(m, data.x_val[:n], y)
    return None if s is None else float(np.median(s))


def capabilities(m: Method, data: Dataset) -> set[str]:
    """What this method can show, probed through its hooks on one validation item:
    "latent" (decodable latent space), "classes" (conditional), "critic", "reconstruct",
    "text" (per-character probabilities)."""
    out = set()
    x1 = data.x_val[:1].to(m.device)
    y1 = None if data.y_val is None else data.y_val[:1].to(m.device)
    if sampling.latent_dim(m) is not None:
        out.add("latent")
    if m.conditional:
        out.add("classes")
    out.update(m.inside)  # declared by the method: "process", "attention"
    with torch.no_grad():
        if m.spec.kind != "text" and m.critic(x1, y1) is not None:
            out.add("critic")
        if m.spec.kind != "text" and m.reconstruct(x1) is not None:
            out.add("reconstruct")
        if m.spec.kind == "text" and m.char_probs([""]) is not None:
            out.add("text")
    return out


# ----- sequences ----------------------------------------------------------------------------
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


# ----- text ---------------------------------------------------------------------------------
@torch.no_grad()
def char_heat(m: Method, strings: list[str]) -> list[list[tuple[str, float]]]:
    """Each string as [(char, p(char | prefix)), ..., (END_MARK, p(end | string))]: the
    model's probability of every actual next character. ValueError for a method that does not
    score text, or for characters outside the vocabulary (the method's message)."""
    if not strings:
        return []
    p = m.char_probs(list(strings))
    if p is None:
        raise ValueError(f"method {m.name!r} does not score text")
    out = []
    for s, row in zip(strings, p.float().cpu().numpy()):
        chars = [*s, END_MARK]
        out.append([(c, float(row[i])) for i, c in enumerate(chars)])
    return out


def nats_per_char(row: list[tuple[str, float]]) -> float:
    """Mean −log p over a heat row (end included): the model's NLL of that one string."""
    return float(np.mean([-math.log(max(p, 1e-12)) for _, p in row]))


def heat_color(p: float) -> str:
    """Red (unlikely) -> yellow -> green (likely), as a CSS colour."""
    from plotly.colors import sample_colorscale

    return sample_colorscale("RdYlGn", [min(1.0, max(0.0, p))])[0]


def heat_html(rows: list[list[tuple[str, float]]], font_px: int = 20) -> str:
    """The heat strips as HTML: one line per string, each character on its colour, p on hover."""
    import html

    lines = []
    for row in rows:
        spans = "".join(
            f'<span title="p={p:.3f}" style="background:{heat_color(p)};padding:2px 3px;'
            f'margin:0 1px;border-radius:3px;color:#111">{html.escape(c)}</span>'
            for c, p in row
        )
        lines.append(
            f'<div style="font-family:monospace;font-size:{font_px}px;line-height:1.9">'
            f'{spans}<span style="color:#888;font-size:{int(font_px * 0.6)}px;margin-left:8px">'
            f"{nats_per_char(row):.2f} nats/char</span></div>"
        )
    return "".join(lines)


@torch.no_grad()
def generated_strings(m: Method, n: int, seed: int, **opts: Any) -> list[str]:
    tokens = sampling.sample(m, n, seed, **opts)
    return [decode(row[1:], m.spec.vocab) for row in tokens.cpu()]


def training_strings(data: Dataset) -> frozenset[str]:
    return frozenset(decode(row[1:], data.spec.vocab) for row in data.x_train.tolist())


def split_novel(items: list[str], seen: frozenset[str] | set[str]) -> tuple[list[str], list[str]]:
    """(items found in the training data, new items), each in the order given."""
    return [s for s in items if s in seen], [s for s in items if s not in seen]
