"""Conditional GAN (Mirza & Osindero 2014): G(z, y) and D(x, y) both see the class label.

Everything but the conditioning is the GAN of gan.py (losses, n_critic, R1 / GP, packing, EMA).
G gets a learned label embedding concatenated to z (Mirza & Osindero, sec. 4.1). D is a
projection discriminator (Miyato & Koyama 2018, eq. 3): D(x, y) = psi(phi(x)) + <embed(y), phi(x)>.
Why projection rather than concatenating y to D's input: the label enters at D's last layer as an
inner product with D's features, so D cannot ignore it, and it was shown to condition markedly more
strongly (class accuracy of samples) than input concatenation; it also needs no label-shaped input
channels for conv nets. With packing, D sees the pack's one-hot labels concatenated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from genlab.methods.base import register
from genlab.methods.gan import GAN, GANConfig
from genlab.methods.nets import pack
from genlab.params import param


@dataclass(frozen=True)
class CGANConfig(GANConfig):
    emb_dim: int = param(16, low=1, high=256, help="Size of the label embedding G receives.")


@register
class CGAN(GAN):
    name = "cgan"
    label = "Conditional GAN"
    conditional = True
    Config = CGANConfig
    description = "A GAN whose G and D both see the class label: ask it for a given class."

    def _cond(self, y: torch.Tensor | None) -> torch.Tensor:
        if y is None:
            raise ValueError("a conditional GAN needs the labels y of the batch")
        return y.to(self.device)

    def _d(self, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        onehot = F.one_hot(c, self.spec.n_classes).to(x.dtype)  # (B, K)
        k = self.cfg.pack
        return self.D(pack(x, k), pack(onehot, k))  # (B/pack,)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        y: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        **opts: Any,
    ) -> torch.Tensor:
        """`n` samples of classes `y` (n,), balanced over the classes when y is None."""
        if y is None:
            y = self.sample_labels(n, generator)
        return super().sample(n, y, generator, **opts)
