"""A CPU copy of a run's model for the "inside the model" views, shared by every session, and
what every kind's views ask of it: what its hooks can show (`capabilities`), real items beside
samples, reconstructions. The views of images, sequences and text (views/images.py,
sequences.py, text.py) and of diffusion and flows (views/flows.py) compute on this copy, never on
the training thread's module. No streamlit here.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import torch

from genlab.data import Dataset
from genlab.kinds import kind_of
from genlab.methods import Method
from genlab.runs import sampling
from genlab.runs.build import build_method
from genlab.runs.store import RunDir


# ----- a CPU copy of a run's model ----------------------------------------------------------
def cpu_copy(
    name: str, cfg: Any, train: Any, spec: Any, tensors: dict[str, torch.Tensor], step: int = 0
) -> Method:
    """A CPU copy of a method from copied weights (`Run.view_state().tensors`), in eval mode:
    the one way the views build a model from a training run's weights."""
    m = build_method(name, cfg, dataclasses.replace(train, device="cpu"), spec, "cpu")
    m.load_state_dict(tensors, strict=True)
    m.step = int(step)
    return m.eval()


def weights_source(run: Any, wait: float = 0.0) -> tuple[tuple, Any] | None:
    """(a key that changes whenever the run's weights do, a builder of a fresh CPU copy and its
    step), or None while there are no weights to show yet (a queued run). For views computed in
    the background (a copy each, never one that another session reloads under them); the
    shared copy of `ViewModels` serves the views computed in the page's script."""
    state = run.view_state(wait=wait)  # None for a saved run: its checkpoint
    if state is not None:

        def build() -> tuple[Method, int]:
            m = cpu_copy(run.method_name, state.cfg, run.train, run.data.spec, state.tensors)
            return m, state.step

        return ("live", run.id, state.version), build
    d = run.dir
    if d.has_checkpoint():

        def load() -> tuple[Method, int]:
            loaded = sampling.load_run(d.path, device="cpu")
            return loaded.method, loaded.step

        return ("disk", run.id, sampling.checkpoint_stamp(d.path)), load
    return None


def kept_weights_models(run_dir: Any, steps: list[int]) -> Any:
    """(step, model) for each of `steps`: one CPU copy of the model (eval mode), loaded in turn
    with the weights the run kept last at or before each step (the first kept ones before that;
    kinds with Kind.keeps_view_weights keep a thinned history of them); nothing when the run
    kept none. For the replay's canvas and GIF frames; the model is the same object each time."""
    d = RunDir(run_dir)
    kept = d.view_weight_steps()
    if not kept:
        return
    m, _ = sampling.rebuild_method(d.read_info(), "cpu")
    m.eval()
    loaded = None
    for step in steps:
        at = max((k for k in kept if k <= step), default=kept[0])
        if at != loaded:
            m.load_state_dict(d.load_view_weights(at), strict=True)
            m.step, loaded = int(at), at
        yield step, m


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
            m = cpu_copy(run.method_name, state.cfg, run.train, run.data.spec, state.tensors)
            vm = ViewModel(m, state.step, now)
        else:
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


# ----- what a method can show ----------------------------------------------------------------
def capabilities(m: Method, data: Dataset) -> set[str]:
    """What this method can show, probed through its hooks on one validation item:
    "latent" (decodable latent space), "classes" (conditional), "critic", "reconstruct",
    "text" (per-character probabilities). Every hook answers None where it does not apply
    (a text model has no critic, an image model scores no characters), so each is asked on
    every kind; which views a kind draws from these is its KindView's `inside_views`."""
    out = set()
    x1 = data.x_val[:1].to(m.device)
    y1 = None if data.y_val is None else data.y_val[:1].to(m.device)
    if sampling.latent_dim(m) is not None:
        out.add("latent")
    if m.conditional:
        out.add("classes")
    out.update(m.inside)  # declared by the method: "process", "attention"
    with torch.no_grad():
        if m.critic(x1, y1) is not None:
            out.add("critic")
        if m.reconstruct(x1) is not None:
            out.add("reconstruct")
        if m.char_probs([""]) is not None:
            out.add("text")
    return out


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


@torch.no_grad()
def reconstructions(m: Method, data: Dataset, n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """n validation items and their reconstructions, each (n, *shape); ValueError for a method
    without an encoder."""
    x = data.x_val[:n].to(m.device)
    r = m.reconstruct(x)
    if r is None:
        raise ValueError(f"method {m.name!r} has no encoder to reconstruct with")
    bounds = kind_of(m.spec.kind).value_range
    if bounds is not None:  # a decoder's mean can stray outside the data's range
        r = r.clamp(*bounds)
    return x, r
