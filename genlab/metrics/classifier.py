"""The dataset classifier behind the image metrics: a small LeNet-style net trained once per
labelled image set on its training split and cached on disk.

Cache: $GENLAB_HOME/.cache/classifiers/<dataset>-<hash>.safetensors (weights, never pickle) plus a
.json (accuracy, seconds, recipe); the hash covers the training data and the architecture/recipe,
so a changed dataset or net retrains. Files are written to a temp name, then os.replace'd.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from genlab.metrics.common import data_key, seeded_net

FEATURES = 128  # the penultimate layer: the Fréchet distance's feature space
MAX_SIDE = 32  # larger images are area-averaged down to 32x32 inside the net (CPU cost)
SEED = 0
BATCH = 64
LR = 1e-3
# the recipe, hashed into the cache name: change anything here and old files are not reused
RECIPE = f"lenet-v1|16-32|f{FEATURES}|side{MAX_SIDE}|b{BATCH}|lr{LR}|adam|seed{SEED}"
TRAIN_COUNT = 0  # how many classifiers this process trained (tests check that the cache works)

_LOCK = threading.Lock()  # one training at a time; a second caller then finds the cache
_MEMORY: dict[str, tuple[nn.Module, dict]] = {}


class Classifier(nn.Module):
    """conv3x3(16)-ReLU-[pool] -> conv3x3(32)-ReLU-[pool] -> adaptive avg 4x4 -> 512 -> 128 -> K.
    A max-pool is applied only while the side is >= 8, so 4x4 to 128x128 inputs all work."""

    def __init__(self, channels: int, side: int, n_classes: int):
        super().__init__()
        self.side = min(side, MAX_SIDE)
        s, pools = self.side, []
        for _ in range(2):
            pools.append(s >= 8)
            s = s // 2 if s >= 8 else s
        self.conv1 = nn.Conv2d(channels, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pools = pools
        self.fc = nn.Linear(32 * 16, FEATURES)
        self.head = nn.Linear(FEATURES, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] (B, C, H, W) -> penultimate activations (B, 128)."""
        x = x.float() * 2 - 1
        if x.shape[-1] > self.side or x.shape[-2] > self.side:
            x = F.adaptive_avg_pool2d(x, self.side)  # (B, C, 32, 32)
        for conv, pool in ((self.conv1, self.pools[0]), (self.conv2, self.pools[1])):
            x = F.relu(conv(x))
            x = F.max_pool2d(x, 2) if pool else x
        x = F.adaptive_avg_pool2d(x, 4).flatten(1)  # (B, 512)
        return F.relu(self.fc(x))  # (B, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def epochs_for(n_train: int) -> int:
    """About 40k image passes (95-96% on the 5k MNIST subset), at least 4 and at most 30 epochs."""
    return max(4, min(30, 40_000 // max(1, n_train)))


def cache_dir() -> Path:
    return Path(os.environ.get("GENLAB_HOME", "./runs")) / ".cache" / "classifiers"


def cache_path(data) -> Path:
    """<dataset>-<hash of the training data and the recipe>.safetensors"""
    h = hashlib.sha1(f"{data_key(data)}|{RECIPE}|{tuple(data.spec.shape)}".encode()).hexdigest()
    return cache_dir() / f"{data.spec.name}-{h[:16]}.safetensors"


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the cache is as readable as the runs
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _new(spec) -> nn.Module:
    c, h, w = spec.shape
    return Classifier(c, max(h, w), spec.n_classes)


@torch.no_grad()
def predict_in_batches(fn, x: torch.Tensor, device, batch: int = 500) -> torch.Tensor:
    return torch.cat([fn(x[i : i + batch].to(device)) for i in range(0, len(x), batch)])


@torch.enable_grad()  # evaluate() runs under no_grad
def train_classifier(data, device="cpu") -> tuple[nn.Module, dict]:
    """Train on the training split with a fixed seed and its own generator; report val accuracy."""
    global TRAIN_COUNT
    spec = data.spec
    if not spec.labelled or data.y_train is None:
        raise ValueError(f"dataset {spec.name!r} has no labels: no classifier can be trained")
    t0, c0 = time.perf_counter(), time.process_time()
    device = torch.device(device)
    net = seeded_net(lambda: _new(spec), SEED, device)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    g = torch.Generator().manual_seed(SEED)
    x, y = data.x_train, data.y_train
    epochs = epochs_for(len(x))
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), BATCH):
            idx = perm[i : i + BATCH].to(x.device)
            xb, yb = x[idx].to(device), y[idx].to(device)  # (B, C, H, W), (B,)
            loss = F.cross_entropy(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    net.eval()
    pred = predict_in_batches(lambda b: net(b).argmax(1), data.x_val, device)
    val_acc = float((pred.cpu() == data.y_val.cpu()).float().mean())
    TRAIN_COUNT += 1
    info = {
        "dataset": spec.name,
        "recipe": RECIPE,
        "shape": list(spec.shape),
        "classes": spec.n_classes,
        "n_train": len(x),
        "n_val": len(data.x_val),
        "epochs": epochs,
        "val_acc": val_acc,
        "train_seconds": round(time.perf_counter() - t0, 2),
        "train_cpu_seconds": round(time.process_time() - c0, 2),  # process-wide CPU time
        "device": str(device),
        "torch": torch.__version__,
    }
    return net, info


def get_classifier(data, device="cpu") -> tuple[nn.Module, dict]:
    """The cached classifier of this dataset: from memory, else from disk, else trained (once)."""
    device = torch.device(device)
    path = cache_path(data)
    key = f"{path}|{device}"
    if key in _MEMORY:
        return _MEMORY[key]
    with _LOCK:
        if key in _MEMORY:
            return _MEMORY[key]
        meta = path.with_suffix(".json")
        if path.exists() and meta.exists():  # the .json is written last: it marks a complete pair
            info = json.loads(meta.read_text())
            net = seeded_net(lambda: _new(data.spec), SEED, "cpu")
            net.load_state_dict(load_file(str(path)))
            net = net.to(device).eval()
        else:
            net, info = train_classifier(data, device)
            tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
            _atomic_write(path, lambda tmp: save_file(tensors, tmp))
            _atomic_write(meta, lambda tmp: Path(tmp).write_text(json.dumps(info, indent=1)))
        for p in net.parameters():
            p.requires_grad_(False)
        _MEMORY[key] = (net, info)
        return net, info


def clear_memory() -> None:
    """Forget the in-process copies (the disk cache stays)."""
    _MEMORY.clear()
