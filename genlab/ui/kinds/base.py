"""How each data kind is drawn in the app: the streamlit side of `genlab.kinds`, one file per
kind. A kind's view answers for the Train page's preview of the data, the live page's (and the
replay's) snapshot, a run's latest samples on Compare and Runs, and what Generate made; pages ask
`view_of(kind)` and never branch on the kind's name for these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import streamlit as st
import torch

from genlab.data import Dataset, DataSpec
from genlab.runs import AnyRun, sampling
from genlab.runs.protocol import SampleSnapshot
from genlab.ui import explain, refresh
from genlab.ui.livechart import live_chart

VIEWS: dict[str, KindView] = {}
IMAGE_WIDTH = 400  # px: the live sample grid with its caption fits the first 1280x900 screen


def register(cls: type[KindView]) -> type[KindView]:
    VIEWS[cls.name] = cls()
    return cls


def view_of(kind: str) -> KindView:
    try:
        return VIEWS[kind]
    except KeyError:
        raise ValueError(f"no view for data kind {kind!r} (known: {', '.join(VIEWS)})") from None


def real_of(run: AnyRun) -> Dataset | None:
    """The run's real data, loaded once per session and run (None for a removed upload)."""
    key = f"genlab.real.{run.id}"
    if key not in st.session_state:
        st.session_state[key] = run.real_data()
    return st.session_state[key]


def download(label: str, data: bytes | str, name: str, mime: str, key: str) -> None:
    st.download_button(
        label, data, file_name=name, mime=mime, on_click="ignore", key=key,
        icon=":material/download:",
    )  # fmt: skip


Needs = tuple[str, ...]  # the capabilities a view needs (genlab.views.model.capabilities)


class KindView:
    name: ClassVar[str]
    generate_n: ClassVar[tuple[int, int]]  # Generate's (default, most) items per draw
    # which of a method's sampling options (genlab.runs.sampling.SAMPLE_OPTIONS) Generate offers
    sample_options: ClassVar[tuple[str, ...]] = ("temperature",)
    class_rows: ClassVar[bool] = False  # Generate's "Class by class" tab: a grid row per class
    map_caption: ClassVar[str] = ""  # under Generate's latent map; .format(n=grid side, lim=±)
    # the inside views draw the model on the data's own plane (inside_points, inside_flows): that
    # canvas is the live page's main visual, with the samples below it
    canvas: ClassVar[bool] = False
    drawable: ClassVar[bool] = False  # its upload can be drawn by hand instead (own_data.draw)
    # "Inside the model" (ui/inside_kinds): (view id, label, what the method must be able to show)
    inside_views: ClassVar[tuple[tuple[str, str, Needs], ...]] = ()

    def summary(self, spec: DataSpec) -> str:
        """What one item is, in a few words ("2D points", "8×8 grey")."""
        raise NotImplementedError

    def preview(self, ds: Dataset, data_file: str | None, options: dict[str, Any]) -> None:
        """A look at real items of the data on the Train page."""
        raise NotImplementedError

    def live(self, run: AnyRun, payload: Any, step: int, key: str) -> None:
        """One snapshot as the live page and the replay show it."""
        raise NotImplementedError

    def latest(
        self,
        sample: SampleSnapshot,
        real: Callable[[], Dataset | None],
        *,
        height: int,
        max_text: int,
        key: str,
    ) -> None:
        """A run's latest snapshot on Compare and Runs; `real` loads the real data if needed."""
        raise NotImplementedError

    def generated(
        self,
        lo: sampling.Loaded,
        x: torch.Tensor,
        name: str,
        key: str,
        *,
        nrow: int | None = None,
        labels: torch.Tensor | None = None,
        color: Any = None,
        color_title: str = "",
    ) -> None:
        """What Generate drew from a saved model, with its download; `nrow` (a grid's row
        length), `labels` and `color` (one value per item) where the kind can show them."""
        raise NotImplementedError


class FigureView(KindView):
    """A kind whose live snapshot is a plotly figure: built once per run, step and mode and
    shared by every viewer of the run (`refresh.shared`), drawn by the live chart."""

    def live_figure(self, run: AnyRun, payload: np.ndarray, real: Dataset | None) -> Any:
        raise NotImplementedError

    def live(self, run: AnyRun, payload: Any, step: int, key: str) -> None:
        def build() -> Any:
            snaps = {s.step: s for s in list(run.snapshots)}
            at = np.asarray(snaps[step].payload, dtype=np.float32)
            return self.live_figure(run, at, real_of(run))

        shared = ("samples", type(run).__name__, run.id, step, self.name, explain.teaching())
        live_chart(refresh.shared(shared, build), key=key)
