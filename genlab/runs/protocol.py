"""What every run is to its readers: a run training in this process (`runs.run.Run`), one trained
on Ray and watched from here (`runs.ray_exec.RayRun`), and a saved run read from its folder
(`runs.saved.SavedRun`) all satisfy `AnyRun`, so the pages and the sweeps call the same public
members and never ask which one they hold. The controls of a saved run raise ValueError (it is
read-only); `in_process` says beforehand whether they work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch

from genlab.data import Dataset
from genlab.runs.history import MetricHistory
from genlab.runs.store import ENDED, LIVE_STATES, STATES, RunDir

__all__ = ["ENDED", "LIVE_STATES", "STATES", "AnyRun", "RunSnapshot", "SampleSnapshot", "ViewState"]


@dataclass
class SampleSnapshot:
    step: int
    kind: str
    payload: Any  # PNG bytes (images), float array (points, sequences), list[str] (text)


@dataclass
class RunSnapshot:
    """A consistent copy of what a reader may show; cheap to take."""

    id: str
    method: str
    dataset: str
    status: str
    step: int
    steps: int
    steps_per_s: float
    eta_s: float | None
    elapsed_s: float
    last: dict[str, float]
    history_version: int
    n_snapshots: int
    latest: SampleSnapshot | None
    error: str | None
    live_changes: list[dict[str, Any]] = field(default_factory=list)
    device: str = "cpu"
    stop: dict[str, Any] | None = None  # stop=auto: Run.stop_state()


@dataclass(frozen=True)
class ViewState:
    """A copy of the model's weights (CPU tensors, never shared with the live ones) that readers
    can rebuild a method from; published by the worker between steps (see `Run.view_state`)."""

    version: int
    step: int
    cfg: Any  # the method config in force when it was taken (live knobs change it)
    tensors: dict[str, torch.Tensor]


@runtime_checkable
class AnyRun(Protocol):
    """A run as the pages, the catalogue and the sweeps see it."""

    id: str
    name: str  # the user's name for it ('' = none)
    method_name: str
    dataset_name: str
    data_file: str | None  # the upload it trains on (a copy in its folder), None for built-ins
    dir: RunDir
    history: MetricHistory
    snapshots: list[SampleSnapshot]

    @property
    def in_process(self) -> bool:
        """True when this process drives it (its controls work), False for a saved run."""

    @property
    def kind(self) -> str:
        """The data kind it trains on: points, images, sequences or text."""

    @property
    def status(self) -> str: ...

    def info(self) -> dict[str, Any]:
        """Its run.json: settings, status, step, the last metrics."""

    def snapshot(self) -> RunSnapshot: ...

    def real_data(self) -> Dataset | None:
        """The data it trains on (None when a saved run's upload is gone)."""

    def view_state(self, wait: float = 0.0) -> ViewState | None:
        """The latest copy of the weights published by a training run (None for a saved run:
        its weights are in its checkpoint)."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def step_n(self, n: int, phases: tuple[str, ...] | None = None) -> None: ...

    def stop(self) -> None: ...

    def set_live(self, **changes: Any) -> None: ...

    def set_delay(self, seconds: float) -> None: ...

    def rename(self, name: str) -> None: ...
