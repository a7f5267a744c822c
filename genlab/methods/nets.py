"""Building blocks shared by more than one method."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


def mlp(
    sizes: list[int],
    act: type[nn.Module] = nn.LeakyReLU,
    out_act: nn.Module | None = None,
    *,
    norm: str = "none",
    sn: bool = False,
) -> nn.Sequential:
    """Linear layers sizes[0] -> ... -> sizes[-1]; `norm` in none|batch|layer between hidden layers;
    `sn` wraps every linear layer in spectral normalisation (Miyato et al. 2018)."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.Linear(a, b)
        layers.append(spectral_norm(lin) if sn else lin)
        if i < len(sizes) - 2:
            if norm == "batch":
                layers.append(nn.BatchNorm1d(b))
            elif norm == "layer":
                layers.append(nn.LayerNorm(b))
            layers.append(act(0.2) if act is nn.LeakyReLU else act())
    if out_act is not None:
        layers.append(out_act)
    return nn.Sequential(*layers)


# ----- GAN blocks (gan, cgan) ------------------------------------------------------------------
def pack(x, k: int):
    """PacGAN (Lin et al. 2018, sec. 3): k consecutive samples side by side, (B, C, ...) ->
    (B/k, k*C, ...): k points become one 2k-vector, k images one image of k*C channels."""
    return x if k == 1 else x.reshape(x.shape[0] // k, k * x.shape[1], *x.shape[2:])


def conv_plan(size: int) -> tuple[int, int]:
    """(start, n_up): a start grid of 4..8 doubled n_up times reaches >= size (then cropped), so
    8 -> 4x4 doubled once, 28 -> 7x7 twice, 100 -> 7x7 four times = 112, cropped to 100."""
    n_up = 0
    while size >= 4 * 2 ** (n_up + 1):
        n_up += 1
    return -(-size // 2**n_up), n_up


class Generator(nn.Module):
    """z (+ a label embedding, conditional GAN) -> a data-shaped tensor in model space.

    `arch="mlp"`: an MLP (points, or flattened images with a tanh output). `arch="conv"` (DCGAN,
    Radford et al. 2015): a linear projection to a small grid, then ConvTranspose doublings (no
    batch norm, so a sample never depends on the rest of its batch), cropped to the exact size."""

    def __init__(
        self,
        latent_dim: int,
        shape: tuple[int, ...],
        *,
        arch: str = "mlp",
        hidden: int = 128,
        layers: int = 2,
        channels: int = 64,
        n_classes: int = 0,
        emb_dim: int = 0,
    ):
        super().__init__()
        self.shape = tuple(shape)
        self.emb = nn.Embedding(n_classes, emb_dim) if n_classes else None
        n_in = latent_dim + (emb_dim if n_classes else 0)
        n_out = 1
        for s in self.shape:
            n_out *= s
        out_act = nn.Tanh() if len(self.shape) == 3 else None  # images live in [-1, 1]
        if arch == "mlp":
            # ReLU (as DCGAN's G): units that switch fully off let G map whole regions of z to
            # one tight mode; LeakyReLU's slope keeps a spread that costs precision on 2D mixtures.
            self.net = mlp([n_in] + [hidden] * layers + [n_out], act=nn.ReLU, out_act=out_act)
            return
        c, size = self.shape[0], self.shape[-1]
        start, n_up = conv_plan(size)
        width = [channels * 2 ** min(n_up - i, 3) for i in range(n_up + 1)]  # top ... bottom
        body: list[nn.Module] = [
            nn.Linear(n_in, width[0] * start * start),
            nn.Unflatten(1, (width[0], start, start)),
            nn.ReLU(),
        ]
        for a, b in zip(width[:-1], width[1:]):
            body += [nn.ConvTranspose2d(a, b, 4, 2, 1), nn.ReLU()]  # doubles H, W
        body += [nn.Conv2d(width[-1], c, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*body)

    def forward(self, z, y=None):
        h = z if self.emb is None else torch.cat([z, self.emb(y)], 1)  # (B, latent + emb)
        x = self.net(h)
        if x.dim() == 2:
            return x.reshape(len(x), *self.shape)  # (B, *shape)
        size = self.shape[-1]
        return x[..., :size, :size]  # crop the excess of a non-power-of-two size


class Discriminator(nn.Module):
    """x (packed: `pack` samples side by side) -> one raw score per pack.

    D(x, c) = head(phi(x)) + <embed(c), phi(x)> with the second term only for a conditional GAN:
    the projection discriminator (Miyato & Koyama 2018, eq. 3); `c` is the one-hot labels of the
    pack, concatenated. `n_aux` > 0 adds AC-GAN's class logits aux(phi(x)) for each sample of
    the pack. `norm`: none | spectral (Miyato et al. 2018) | layer."""

    def __init__(
        self,
        shape: tuple[int, ...],
        *,
        arch: str = "mlp",
        hidden: int = 128,
        layers: int = 2,
        channels: int = 64,
        pack: int = 1,
        norm: str = "none",
        n_cond: int = 0,
        n_aux: int = 0,
    ):
        super().__init__()
        sn = norm == "spectral"

        def lin(a: int, b: int, bias: bool = True) -> nn.Module:
            m = nn.Linear(a, b, bias=bias)
            return spectral_norm(m) if sn else m

        n_in = pack
        for s in shape:
            n_in *= s
        if arch == "mlp":
            self.phi = nn.Sequential(
                nn.Flatten(),
                mlp(
                    [n_in] + [hidden] * layers,
                    out_act=nn.LeakyReLU(0.2),
                    sn=sn,
                    norm="layer" if norm == "layer" else "none",
                ),
            )
            n_feat = hidden
        else:
            c, size = shape[0], shape[-1]
            _, n_down = conv_plan(size)
            width = [channels * 2 ** min(i, 3) for i in range(n_down + 1)]
            convs = [(pack * c, width[0], 3, 1, 1)]  # keeps the size, so 4x4 images get one conv
            convs += [(a, b, 4, 2, 1) for a, b in zip(width[:-1], width[1:])]  # halves H, W
            body: list[nn.Module] = []
            for a, b, k, s, p in convs:
                conv = nn.Conv2d(a, b, k, s, p)
                body.append(spectral_norm(conv) if sn else conv)
                if norm == "layer":
                    body.append(nn.GroupNorm(1, b))  # layer norm over (C, H, W)
                body.append(nn.LeakyReLU(0.2))
                size = (size + 2 * p - k) // s + 1
            self.phi = nn.Sequential(*body, nn.Flatten())
            n_feat = width[-1] * size * size
        self.head = lin(n_feat, 1)
        self.embed = lin(n_cond, n_feat, bias=False) if n_cond else None
        # AC-GAN's auxiliary classifier (Odena et al. 2017): n_aux = pack * classes logits
        self.aux = lin(n_feat, n_aux) if n_aux else None

    def forward(self, x, c=None, with_aux: bool = False):
        """Scores (B/pack,); with_aux: also the auxiliary class logits (B/pack, n_aux)."""
        h = self.phi(x)  # (B/pack, F)
        out = self.head(h).squeeze(1)  # (B/pack,)
        if self.embed is not None:
            out = out + (self.embed(c) * h).sum(1)
        if with_aux:
            return out, self.aux(h)
        return out
