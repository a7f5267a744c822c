"""The same GAN fed two ways: a torchvision-style per-item pipeline against genlab's in-memory
batches.

The model is PyTorch-GAN's `implementations/gan/gan.py` (Linder-Norén): G = z(100) -> 128 ->
256 -> 512 -> 1024 -> 784 with BatchNorm1d(eps 0.8) and LeakyReLU(0.2) after every hidden layer
but the first, tanh out; D = 784 -> 512 -> 256 -> 1 with LeakyReLU(0.2) and a sigmoid, BCE loss,
Adam(2e-4, betas 0.5/0.999), batch 64, its loop order (G step, then D step on the detached fakes).

- peer: what that script does for MNIST, written out without torchvision: a map-style Dataset
  that holds uint8 images and, per item, makes a PIL image, converts it (ToTensor: /255, (1, H, W))
  and normalises it (Normalize(0.5, 0.5)); `DataLoader(shuffle=True, batch_size=64,
  num_workers=0)` collates the items.
- genlab: the same images as one float tensor in memory; a batch is one random index into it
  (`genlab.data.Dataset.batch`), scaled to [-1, 1] as a whole batch.

Both train the identical model (same seed, same initial weights) on genlab's `mnist` (5,000
images); each timed span follows a warm-up, and the two alternate `--repeats` times to share the
machine's noise; the fastest span of each is kept.

    python bench/peers.py [--steps 150] [--repeats 3]

Last line: `peers: ratio=R`, R = genlab steps/s / peer steps/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genlab.data import load_dataset  # noqa: E402

LATENT = 100
BATCH = 64
WARMUP = 20


# ----- PyTorch-GAN's gan.py models --------------------------------------------------------------
class Generator(nn.Module):
    def __init__(self, n_out: int):
        super().__init__()

        def block(a: int, b: int, normalize: bool = True) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Linear(a, b)]
            if normalize:
                layers.append(nn.BatchNorm1d(b, 0.8))  # gan.py passes 0.8 as eps
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            return layers

        self.model = nn.Sequential(
            *block(LATENT, 128, normalize=False),
            *block(128, 256),
            *block(256, 512),
            *block(512, 1024),
            nn.Linear(1024, n_out),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z)  # (B, 784)


class Discriminator(nn.Module):
    def __init__(self, n_in: int):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(n_in, 512),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(512, 256),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(256, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.flatten(1))  # (B, 1)


class GANStep:
    """gan.py's per-batch update, identical for both pipelines."""

    def __init__(self, n_pix: int, seed: int = 0):
        torch.manual_seed(seed)
        self.G, self.D = Generator(n_pix), Discriminator(n_pix)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.bce = nn.BCELoss()
        self.g = torch.Generator().manual_seed(seed)

    def __call__(self, imgs: torch.Tensor) -> None:
        n = len(imgs)
        valid, fake = torch.ones(n, 1), torch.zeros(n, 1)
        # G: minimise BCE(D(G(z)), 1), the non-saturating loss (Goodfellow et al. 2014, sec. 3)
        z = torch.randn(n, LATENT, generator=self.g)  # (B, 100)
        gen = self.G(z)
        loss_g = self.bce(self.D(gen), valid)
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        # D: minimise (BCE(D(x), 1) + BCE(D(G(z)), 0)) / 2 on the same fakes, detached
        loss_d = (self.bce(self.D(imgs), valid) + self.bce(self.D(gen.detach()), fake)) / 2
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()


# ----- the peer pipeline: per-item PIL -> tensor -> normalise, DataLoader collation ------------
class ItemMNIST(torch.utils.data.Dataset):
    """torchvision.datasets.MNIST's way: uint8 images in memory, one PIL image per item."""

    def __init__(self, images_u8: torch.Tensor, labels: torch.Tensor):
        self.data, self.targets = images_u8, labels  # (N, H, W) uint8, (N,)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img = Image.fromarray(self.data[i].numpy())  # mode "L" (uint8 2-D)
        return normalize(to_tensor(img)), int(self.targets[i])


def to_tensor(img: Image.Image) -> torch.Tensor:
    """transforms.ToTensor for a grey PIL image: (H, W) uint8 -> (1, H, W) float in [0, 1]."""
    arr = torch.from_numpy(np.array(img, np.uint8, copy=True))
    return arr.view(1, img.size[1], img.size[0]).float().div(255)


def normalize(x: torch.Tensor, mean: float = 0.5, std: float = 0.5) -> torch.Tensor:
    """transforms.Normalize([0.5], [0.5]) on one item."""
    return (x - mean) / std


def peer_batches(images_u8: torch.Tensor, labels: torch.Tensor) -> Iterator[torch.Tensor]:
    loader = torch.utils.data.DataLoader(
        ItemMNIST(images_u8, labels), batch_size=BATCH, shuffle=True, num_workers=0
    )
    while True:  # epochs back to back, as the script's outer loop
        for imgs, _ in loader:
            yield imgs


def genlab_batches(data) -> Iterator[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    while True:
        x, _ = data.batch(BATCH, g)  # (64, 1, 28, 28) in [0, 1]
        yield x * 2 - 1  # the same Normalize(0.5, 0.5), on the whole batch


def timed(batches: Iterator[torch.Tensor], n_pix: int, steps: int) -> float:
    """Steps per second of the identical model over `steps` steps after WARMUP steps."""
    step = GANStep(n_pix)
    t0 = 0.0
    for i in range(WARMUP + steps):
        if i == WARMUP:
            t0 = time.perf_counter()
        step(next(batches))
    return steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("GENLAB_BENCH_THREADS", torch.get_num_threads())))
    data = load_dataset("mnist")
    images_u8 = (data.x_train[:, 0] * 255).round().to(torch.uint8)  # (N, 28, 28) as on disk
    n_pix = data.x_train[0].numel()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cpus, "
        f"mnist {len(images_u8)} images, batch {BATCH}, {args.steps} timed steps"
    )
    peer, ours = [], []
    for _ in range(args.repeats):
        peer.append(timed(peer_batches(images_u8, data.y_train), n_pix, args.steps))
        ours.append(timed(genlab_batches(data), n_pix, args.steps))
    p, o = max(peer), max(ours)  # least-contended spans
    print(f"peer (per-item Dataset + DataLoader)  {p:7.1f} steps/s  ({1e3 / p:.2f} ms/step)")
    print(f"genlab (in-memory batches)            {o:7.1f} steps/s  ({1e3 / o:.2f} ms/step)")
    print(f"peers: ratio={o / p:.3f}")


if __name__ == "__main__":
    main()
