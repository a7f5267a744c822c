"""A finished run played back: one frame per kept sample snapshot, as an animated GIF for slides.

Frames are drawn with Pillow only (no browser, no plotly): image snapshots are their PNG grids;
2D points are drawn over the real data on fixed axes (the real data's box), so the generator's
points move on a still background; series are drawn as polylines. Text snapshots have no picture.
Which picture a snapshot gets is its data kind's choice (`genlab.kinds`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

SIZE = 360  # px, the side of a points or series frame
REAL_RGB = (190, 190, 190)
SAMPLE_RGB = (239, 85, 59)  # plotly's red, as on the live page


def captioned(im: Image.Image, step: int | None) -> Image.Image:
    """A frame with its step written above it (as it is, without a step)."""
    if step is None:
        return im
    out = Image.new("RGB", (im.width, im.height + 18), "white")
    out.paste(im, (0, 18))
    ImageDraw.Draw(out).text((4, 3), f"step {step:,}", fill=(40, 40, 40))
    return out


def png_frame(png: bytes) -> Image.Image:
    """An image snapshot's frame: its PNG grid as it is."""
    return Image.open(io.BytesIO(png)).convert("RGB")


def gif(frames: Sequence[Image.Image], ms_per_frame: int = 250) -> bytes:
    """An animated GIF that loops, each frame shown `ms_per_frame` ms, the last one 4x longer."""
    if not frames:
        raise ValueError("no frames to animate")
    w = max(f.width for f in frames)
    h = max(f.height for f in frames)
    padded = []
    for f in frames:  # GIF frames share one size
        canvas = Image.new("RGB", (w, h), "white")
        canvas.paste(f, (0, 0))
        padded.append(canvas.convert("P", palette=Image.ADAPTIVE))
    durations = [ms_per_frame] * (len(padded) - 1) + [4 * ms_per_frame]
    buf = io.BytesIO()
    padded[0].save(
        buf, format="GIF", save_all=True, append_images=padded[1:], duration=durations, loop=0
    )
    return buf.getvalue()


def _box(ref: np.ndarray, pad: float = 0.15) -> tuple[float, float, float, float]:
    lo, hi = ref.min(0), ref.max(0)
    side = float(max(hi - lo)) or 1.0
    cx, cy = (lo + hi) / 2
    half = side * (0.5 + pad)
    return float(cx - half), float(cx + half), float(cy - half), float(cy + half)


def frame_box(samples: np.ndarray, real: np.ndarray | None) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1): the data box a points frame shows (the real data's, padded)."""
    samples = np.asarray(samples, dtype=np.float32)[:, :2]
    return _box(real if real is not None and len(real) else samples)


# D's colours on the live canvas (figures/inside.CRITIC_SCALE): "fake", "cannot tell", "real"
FIELD_RGB = np.array([[117, 80, 180], [247, 247, 247], [27, 158, 119]], dtype=np.float32)


def field_image(z: np.ndarray, mid: float, probability: bool) -> Image.Image:
    """A discriminator's values on a grid over a frame's box (z[i, j] at the i-th y from the
    bottom and the j-th x), as a SIZE x SIZE underlay in the live canvas's colours: purple where
    D says fake, white where it cannot tell (`mid`), green where it says real. A probability
    spans 0..1; a score spans mid +- its largest distance from mid in this frame."""
    z = np.asarray(z, dtype=np.float32)
    span = 0.5 if probability else max(float(np.nanmax(np.abs(z - mid))), 1e-6)
    t = np.clip((z - mid) / span, -1.0, 1.0)[..., None]  # -1 fake .. 1 real
    low, white, high = FIELD_RGB
    rgb = np.where(t < 0, white + (low - white) * -t, white + (high - white) * t)
    rgb = 255 - 0.85 * (255 - rgb)  # the live canvas draws it at 85 % opacity on white
    im = Image.fromarray(np.flipud(rgb).astype(np.uint8), "RGB")  # row 0 at the top: y up
    return im.resize((SIZE, SIZE), Image.BILINEAR)


def points_frame(
    samples: np.ndarray, real: np.ndarray | None, underlay: Image.Image | None = None
) -> Image.Image:
    """2D points (n, 2+) in red over the real ones in grey, on the real data's box
    (`frame_box`), over `underlay` (a SIZE x SIZE picture of that box, e.g. D's field)."""
    samples = np.asarray(samples, dtype=np.float32)[:, :2]
    x0, x1, y0, y1 = frame_box(samples, real)
    im = underlay.copy() if underlay is not None else Image.new("RGB", (SIZE, SIZE), "white")
    draw = ImageDraw.Draw(im)

    def px(p: np.ndarray) -> np.ndarray:  # data -> pixel coordinates, y up
        u = (p[:, 0] - x0) / (x1 - x0) * (SIZE - 1)
        v = (1 - (p[:, 1] - y0) / (y1 - y0)) * (SIZE - 1)
        return np.stack([u, v], 1)

    for pts, rgb, r in ((real, REAL_RGB, 1.5), (samples, SAMPLE_RGB, 2.0)):
        if pts is None or not len(pts):
            continue
        for u, v in px(np.asarray(pts, dtype=np.float32)[:, :2]):
            draw.ellipse((u - r, v - r, u + r, v + r), fill=rgb)
    return im


def series_frame(samples: np.ndarray) -> Image.Image:
    """The first channel of up to 6 series (n, T, C), overlaid on one set of axes."""
    ys = np.asarray(samples, dtype=np.float32)[:6, :, 0]  # (n, T)
    lo, hi = float(ys.min()), float(ys.max())
    span = (hi - lo) or 1.0
    im = Image.new("RGB", (SIZE, SIZE // 2), "white")
    draw = ImageDraw.Draw(im)
    t = np.linspace(4, SIZE - 5, ys.shape[1])
    for y in ys:
        v = 4 + (1 - (y - lo) / span) * (SIZE // 2 - 9)
        draw.line(list(zip(t.tolist(), v.tolist())), fill=SAMPLE_RGB, width=2)
    return im
