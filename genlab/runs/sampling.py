"""Sampling from saved runs, headless: load a run folder into a method on the CPU, sample with a
seed, class-by-class grids, latent interpolation and 2D latent maps, and the exports.

The latent tools work for any method that declares a latent space (`Method.latent_size` and
`Method.decode_latent`: the VAE's decoder, a GAN's generator), never through its name or by
probing its attributes; `decode_latent` maps codes z (n, latent_dim) to data space.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.data import Dataset, DataSpec, load_dataset
from genlab.data.text import decode as decode_tokens
from genlab.methods import Method
from genlab.runs.build import build_method, train_config
from genlab.runs.store import RunDir

# keyword options of `sample` the Generate page knows how to offer, when a method accepts them
SAMPLE_OPTIONS = ("temperature", "top_k", "prefix")


@dataclass
class Loaded:
    """A saved run rebuilt as a method in eval mode, with its data (for the real-data overlay)."""

    method: Method
    info: dict[str, Any]
    data: Dataset
    step: int
    dir: Path

    @property
    def spec(self) -> DataSpec:
        return self.data.spec


def checkpoint_stamp(run_dir: Path | str) -> int:
    """Changes whenever the run writes a new checkpoint (a cache key for loaded models)."""
    p = RunDir(run_dir).ckpt_dir / "last.json"
    try:
        return p.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def load_run(run_dir: Path | str, device: str = "cpu") -> Loaded:
    """Rebuild the method of a saved run from run.json and its last checkpoint (the pattern of
    `python -m genlab sample`). Works for ended and live runs alike: the checkpoint is read from
    disk, never from the training thread's model."""
    d = RunDir(run_dir)
    info = d.read_info()
    if not d.has_checkpoint():
        raise ValueError(
            f"run {info['id']} has no checkpoint yet (one is written every "
            f"checkpoint_every steps and at the end)"
        )
    tensors, meta = d.load_checkpoint()
    m, data = rebuild_method(info, device)
    m.restore(tensors, meta)
    m.eval()
    return Loaded(m, info, data, int(meta.get("run_step", meta.get("step", 0))), d.path)


def rebuild_method(info: dict[str, Any], device: str = "cpu") -> tuple[Method, Dataset]:
    """A fresh method of a saved run (its run.json `info`) on `device`, and the run's data,
    before any weights are loaded into it."""
    data = load_dataset(info["dataset"], info.get("data_file"), info.get("data_options"))
    train = train_config(info["method"], dict(info["train_config"], device=device))
    return build_method(info["method"], info["method_config"], train, data.spec, device), data


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    return torch.Generator(device=device).manual_seed(int(seed))


# ----- sampling -----------------------------------------------------------------------------
def sample_options(m: Method) -> list[str]:
    """Which of SAMPLE_OPTIONS this method's `sample` accepts (read from its signature)."""
    names = inspect.signature(m.sample).parameters
    return [o for o in SAMPLE_OPTIONS if o in names]


@torch.no_grad()
def sample(
    m: Method, n: int, seed: int, y: torch.Tensor | None = None, **opts: Any
) -> torch.Tensor:
    """`n` samples with a fixed seed; balanced labels for a conditional method when y is None."""
    if m.conditional and y is None:
        y = m.sample_labels(n)
    return m.sample(n, y, generator=generator(seed, m.device), **opts)


@torch.no_grad()
def class_grid(m: Method, per_class: int, seed: int) -> tuple[torch.Tensor, int]:
    """One row per class: (K * per_class, *shape) samples and the row length `per_class`."""
    k = max(1, m.spec.n_classes)
    y = torch.arange(k, device=m.device).repeat_interleave(per_class)  # (K * per_class,)
    return m.sample(len(y), y, generator=generator(seed, m.device)), per_class


# ----- the latent space a method declares (Method.latent_size, Method.decode_latent) --------
def latent_dim(m: Method) -> int | None:
    """The size of z when the method has a decodable latent space, else None."""
    return m.latent_size()


@torch.no_grad()
def decode_latent(m: Method, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """Latent codes z (n, latent_dim) [and labels y (n,) for a conditional method] -> data-space
    samples (n, *shape) (images in [0, 1]: Method.decode_latent returns data space)."""
    if m.conditional and y is None:
        raise ValueError("a conditional model needs labels y to decode z")
    return m.decode_latent(z, y if m.conditional else None)


def latent_noise(m: Method, seed: int, n: int = 1) -> torch.Tensor:
    """z ~ N(0, I) of shape (n, latent_dim), from its own seed."""
    d = m.latent_size()
    return torch.randn(n, d, generator=generator(seed), device="cpu").to(m.device)  # (n, d)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White 2016 for GAN latents): a Gaussian z lives
    near a sphere, and the straight line between two codes passes through the low-norm middle
    that the model rarely saw. a, b (d,), t (k,) -> (k, d)."""
    an, bn = a / a.norm(), b / b.norm()
    omega = torch.acos((an * bn).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    if so.abs() < 1e-6:  # (anti)parallel: the straight line is as good
        return (1 - t)[:, None] * a + t[:, None] * b
    return (torch.sin((1 - t) * omega) / so)[:, None] * a + (torch.sin(t * omega) / so)[:, None] * b


@torch.no_grad()
def interpolate(
    m: Method, seed_a: int, seed_b: int, k: int = 8, y: int | None = None, path: str = "spherical"
) -> torch.Tensor:
    """k samples along the path from z(seed_a) to z(seed_b), endpoints included: (k, *shape).
    `y` fixes the class of a conditional model for the whole row."""
    if latent_dim(m) is None:
        raise ValueError(f"method {m.name!r} has no latent space to interpolate in")
    if k < 2:
        raise ValueError(f"k={k} must be at least 2 (the two endpoints)")
    za, zb = latent_noise(m, seed_a)[0], latent_noise(m, seed_b)[0]  # (d,) each
    t = torch.linspace(0, 1, k, device=m.device)  # (k,)
    if path == "spherical":
        z = slerp(za, zb, t)
    elif path == "linear":
        z = (1 - t)[:, None] * za + t[:, None] * zb  # (k, d)
    else:
        raise ValueError(f"path={path!r} is not one of spherical, linear")
    labels = None
    if m.conditional:
        labels = torch.full((k,), int(y or 0), dtype=torch.long, device=m.device)  # (k,)
    return decode_latent(m, z, labels)


@torch.no_grad()
def latent_map(
    m: Method, n: int = 12, lim: float = 3.0, y: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a regular n x n grid of z over [-lim, lim]^2 (2D latent spaces only).

    Returns z (n*n, 2) and the decoded items (n*n, *shape), row-major with z2 DEcreasing down
    the rows and z1 increasing along them, so an image grid reads like a plot."""
    if latent_dim(m) != 2:
        raise ValueError(f"a latent map needs latent_dim = 2 (this run has {latent_dim(m)})")
    v = torch.linspace(-lim, lim, n, device=m.device)  # (n,)
    z2, z1 = torch.meshgrid(v.flip(0), v, indexing="ij")  # (n, n) each
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], 1)  # (n*n, 2)
    labels = None
    if m.conditional:
        labels = torch.full((n * n,), int(y or 0), dtype=torch.long, device=m.device)
    return z, decode_latent(m, z, labels)


# ----- conversions for display and download -------------------------------------------------
def to_text(m: Method, tokens: torch.Tensor) -> list[str]:
    """Token rows [0, c1 .. cn, 0, PAD ...] -> strings."""
    return [decode_tokens(row[1:], m.spec.vocab) for row in tokens.cpu()]


def real_points(data: Dataset, n: int = 1000) -> np.ndarray:
    x = data.x_val if len(data.x_val) >= n else data.x_train
    return x[:n].float().cpu().numpy()


def real_sequences(data: Dataset, n: int = 8) -> np.ndarray:
    return data.x_val[:n].float().cpu().numpy()


def grid_rows(n: int) -> int:
    """Items per row of a square-ish grid of n images."""
    return max(1, math.ceil(math.sqrt(n)))
