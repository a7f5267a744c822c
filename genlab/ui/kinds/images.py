"""Images: grids (upscaled on Generate), class rows for a conditional model."""

from __future__ import annotations

from typing import Any

import streamlit as st

from genlab.figures import png
from genlab.runs import sampling
from genlab.ui import common
from genlab.ui.kinds.base import IMAGE_WIDTH, KindView, download, register

DISPLAY_CELL = 48  # small images (8x8 digits, 28x28 MNIST) are upscaled to at least this many px


@st.cache_data(max_entries=32, show_spinner=False)
def _preview_grid(name: str, data_file: str | None, options: tuple) -> bytes:
    ds = common.load_data(name, data_file, dict(options))
    return png.image_grid_png(ds.x_train[:48], nrow=12)


@register
class ImagesView(KindView):
    name = "images"
    generate_n = (64, 256)
    class_rows = True
    map_caption = "Decoded z over [-{lim:g}, {lim:g}]²: z₁ grows left to right, z₂ bottom to top."
    inside_views = (
        ("interp", "Interpolation", ("latent",)),
        ("traverse", "Traversal", ("latent",)),
        ("classes", "One row per class", ("classes",)),
        ("verdict", "D's verdict", ("critic",)),
        ("recon", "Reconstructions", ("reconstruct",)),
        ("process", "Reverse process", ("process",)),
    )

    def summary(self, spec):
        return "×".join(map(str, spec.shape[-2:])) + (" grey" if spec.shape[0] == 1 else " RGB")

    def preview(self, ds, data_file, options):
        grid = _preview_grid(ds.spec.name, data_file, tuple(sorted(options.items())))
        st.image(grid, caption="training images")

    def live(self, run, payload, step, key):
        st.image(payload, caption=f"generated, step {step:,}", width=IMAGE_WIDTH)

    def latest(self, sample, real, *, height, max_text, key):
        st.image(sample.payload, caption=f"step {sample.step}")

    def generated(self, lo, x, name, key, *, nrow=None, labels=None, color=None, color_title=""):
        show_grid(x, nrow or sampling.grid_rows(len(x)), name, key)


def show_grid(x: Any, nrow: int, name: str, key: str) -> None:
    """Images (n, C, H, W) as one upscaled grid of rows of `nrow`, with its PNG download."""
    grid = png.png_bytes(png.image_grid(x, nrow=nrow, min_cell=DISPLAY_CELL))
    st.image(grid)
    download("PNG", grid, f"{name}.png", "image/png", key)
