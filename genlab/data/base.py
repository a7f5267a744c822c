"""DataSpec, Dataset and the dataset registry.

Every dataset lives in memory as tensors; a batch is drawn by indexing with the run's own generator,
so there is no per-item DataLoader overhead. A dataset describes itself with a `DataSpec`: the sizes
that the data decides (shape, classes, vocabulary) come from here, never from a widget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from genlab import params

KINDS = ("points", "images", "sequences", "text")
VAL_SEED = 1234  # the validation split is fixed for every dataset, whatever the run's seed
END = "."  # text: token 0 marks both the start and the end of an item (makemore's convention)


@dataclass(frozen=True)
class DataSpec:
    name: str
    kind: str  # one of KINDS
    shape: tuple[int, ...]  # one item: (2,), (C, H, W), (T, C), or (T,) token ids for text
    n_train: int
    n_val: int
    n_classes: int = 0  # 0 = unlabelled
    class_names: tuple[str, ...] = ()
    vocab: tuple[str, ...] = ()  # text: vocab[0] == END
    loc: float = 0.0  # data = loc + scale * model-space value (methods train in model space)
    scale: float = 1.0
    modes: tuple[tuple[float, float], ...] = ()  # 2D mixtures: mode centres, for the metrics
    mode_std: float = 0.0
    near_binary: bool = False  # images: >= 85% of pixels within 0.1 of 0 or 1 (Bernoulli data)
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    @property
    def labelled(self) -> bool:
        return self.n_classes > 0


@dataclass
class Dataset:
    spec: DataSpec
    x_train: torch.Tensor
    x_val: torch.Tensor
    y_train: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to(self, device: torch.device | str) -> Dataset:
        def mv(t):
            return None if t is None else t.to(device)

        tensors = (self.x_train, self.x_val, self.y_train, self.y_val)
        x_tr, x_va, y_tr, y_va = (mv(t) for t in tensors)
        return Dataset(self.spec, x_tr, x_va, y_tr, y_va, self.extra)

    def batch(
        self, n: int, generator: torch.Generator, split: str = "train"
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """`n` examples drawn uniformly with replacement, by indexing (no DataLoader)."""
        x, y = (self.x_train, self.y_train) if split == "train" else (self.x_val, self.y_val)
        idx = torch.randint(len(x), (n,), generator=generator, device=generator.device)
        idx = idx.to(x.device)
        return x[idx], (None if y is None else y[idx])


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    kind: str
    label: str
    loader: Callable[..., Dataset]
    upload: bool = False  # needs the user's file (`data_file`)
    Config: type | None = None  # options of this dataset (image size for uploads, ...)
    file_types: tuple[str, ...] = ()


DATASETS: dict[str, DatasetInfo] = {}


def register(
    name: str,
    kind: str,
    label: str,
    *,
    upload: bool = False,
    Config: type | None = None,
    file_types: tuple[str, ...] = (),
):
    """Decorator: register a loader `fn(data_file, cfg) -> Dataset` under `name`."""
    assert kind in KINDS, kind

    def deco(fn):
        DATASETS[name] = DatasetInfo(name, kind, label, fn, upload, Config, file_types)
        return fn

    return deco


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r} (available: {', '.join(DATASETS)})")
    return DATASETS[name]


_CACHE: dict[tuple, Dataset] = {}


def load_dataset(name: str, data_file: str | None = None, options: dict | None = None) -> Dataset:
    """Load (and cache) a dataset by name; uploads need `data_file`."""
    info = dataset_info(name)
    cfg = params.build(info.Config, options or {}) if info.Config else None
    if info.upload and not data_file:
        raise ValueError(f"dataset {name!r} is built from your own file: give --data-file PATH")
    if options and not info.Config:
        raise ValueError(f"dataset {name!r} takes no options (got {', '.join(options)})")
    key = (name, str(data_file), repr(cfg))
    if key not in _CACHE:
        ds = info.loader(data_file, cfg) if (info.upload or info.Config) else info.loader()
        _CACHE[key] = ds
        if len(_CACHE) > 16:  # user uploads could pile up in a long-lived server
            _CACHE.pop(next(iter(_CACHE)))
    return _CACHE[key]


def split(
    x: torch.Tensor, y: torch.Tensor | None, val_frac: float = 0.1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """A fixed-seed train/validation split (at least one validation example)."""
    g = torch.Generator().manual_seed(VAL_SEED)
    perm = torch.randperm(len(x), generator=g)
    n_val = max(1, int(round(len(x) * val_frac)))
    if len(x) - n_val < 1:
        raise ValueError(f"need at least 2 examples, got {len(x)}")
    val, train = perm[:n_val], perm[n_val:]
    ys = (None, None) if y is None else (y[train], y[val])
    return x[train], x[val], ys[0], ys[1]


NEAR, NEAR_BINARY_SHARE = 0.1, 0.85  # mnist: 91% of pixels near 0 or 1; digits: 65%


def make_dataset(
    name: str,
    kind: str,
    x: torch.Tensor,
    y: torch.Tensor | None = None,
    *,
    class_names: tuple[str, ...] = (),
    description: str = "",
    val_frac: float = 0.1,
    **spec_kw: Any,
) -> Dataset:
    x_train, x_val, y_train, y_val = split(x, y, val_frac)
    n_classes = len(class_names) if y is not None else 0
    if kind == "images" and "near_binary" not in spec_kw:
        near = ((x_train < NEAR) | (x_train > 1 - NEAR)).float().mean()
        spec_kw["near_binary"] = bool(near >= NEAR_BINARY_SHARE)
    spec = DataSpec(
        name=name,
        kind=kind,
        shape=tuple(x.shape[1:]),
        n_train=len(x_train),
        n_val=len(x_val),
        n_classes=n_classes,
        class_names=class_names if y is not None else (),
        description=description,
        **spec_kw,
    )
    return Dataset(spec, x_train, x_val, y_train, y_val)
