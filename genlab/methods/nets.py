"""Building blocks shared by more than one method."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
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


@torch.no_grad()
def update_ema(avg: nn.Module, net: nn.Module, decay: float, step: int) -> None:
    """avg <- decay·avg + (1 − decay)·net, an exponential moving average of the weights (Karras et
    al. 2018, sec. 4; Yazici et al. 2019; Ho et al. 2020 sample with one). The decay ramps up as
    (1 + step) / (10 + step) so that early samples are not just the initialisation; buffers are
    copied as they are."""
    decay = min(decay, (1 + step) / (10 + step))
    for p_avg, p in zip(avg.parameters(), net.parameters()):
        p_avg.lerp_(p, 1 - decay)
    for b_avg, b in zip(avg.buffers(), net.buffers()):
        b_avg.copy_(b)


# ----- time-conditioned nets (ddpm, flow) ------------------------------------------------------
# Hand-written rather than diffusers' UNet2DModel: no extra dependency, and the nets genlab needs
# on a CPU are small (a 3x128 MLP for 2D points, a two-level U-Net for 8x8 / 28x28 digits).
def sinusoidal(v: torch.Tensor, dim: int, scale: float, max_period: float = 10_000.0):
    """Sinusoidal features of a scalar per item v (B,) (Vaswani et al. 2017, sec. 3.5):
    [cos(scale·v·ω_k), sin(scale·v·ω_k)], ω_k = P^(-k/(dim/2)), (B, dim)."""
    half = dim // 2
    k = torch.arange(half, device=v.device)
    freqs = torch.exp(-math.log(max_period) * k / half)  # (dim/2,)
    angles = scale * v.float()[:, None] * freqs[None]  # (B, dim/2)
    return torch.cat([angles.cos(), angles.sin()], dim=1)  # (B, dim)


def time_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """The noise level's embedding (Ho et al. 2020, appendix B) for t in [0, 1]: sinusoidal
    features of 1000·t, so that the fastest one resolves one step of a 1000-step schedule."""
    return sinusoidal(t, dim, 1000.0)


class TimeMLP(nn.Module):
    """(x, t[, class]) -> a vector of x's size: x and the time (and class) embeddings are
    concatenated and read by `layers` residual GELU blocks of width `hidden` (tiny-diffusion's
    3x128 class of net for 2D points). Flattened items; class index `n_classes` means "no label"
    (the unconditional model of classifier-free guidance)."""

    X_FEATURES, X_SCALE = 8, 25.0  # low-dim items: sinusoidal features of each coordinate

    def __init__(self, dim: int, hidden: int = 128, layers: int = 3, n_classes: int = 0):
        super().__init__()
        self.emb_dim = 32
        self.label = nn.Embedding(n_classes + 1, self.emb_dim) if n_classes else None
        # On 2D points the field must bend sharply at tight modes; sinusoidal features of each
        # coordinate (tiny-diffusion's input embedding, scale 25) let a small MLP do that.
        self.x_emb = self.emb_dim if dim <= self.X_FEATURES else 0
        n_in = dim * (1 + self.x_emb) + self.emb_dim * (2 if n_classes else 1)
        self.inp = nn.Linear(n_in, hidden)
        self.blocks = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers))
        self.out = nn.Linear(hidden, dim)

    def forward(self, x, t, y=None):
        shape = x.shape
        x = x.flatten(1)  # (B, D)
        h = [x, time_embedding(t, self.emb_dim)]  # (B, D), (B, E)
        if self.x_emb:
            h += [sinusoidal(x[:, i], self.x_emb, self.X_SCALE) for i in range(x.shape[1])]
        if self.label is not None:
            h.append(self.label(y))  # (B, E)
        h = self.inp(torch.cat(h, 1))  # (B, hidden)
        for lin in self.blocks:
            h = h + F.gelu(lin(h))  # residual block
        return self.out(F.gelu(h)).reshape(shape)


def _gn(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(8, c), c)  # up to 8 groups that divide c


class _ResBlock(nn.Module):
    """GroupNorm -> SiLU -> conv, plus the (time + class) embedding, twice, with a skip (Ho et
    al. 2020, appendix B; the Wide ResNet block of their U-Net, without dropout)."""

    def __init__(self, c_in: int, c_out: int, emb: int):
        super().__init__()
        self.n1, self.c1 = _gn(c_in), nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.e = nn.Linear(emb, c_out)
        self.n2, self.c2 = _gn(c_out), nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x)))  # (B, c_out, H, W)
        h = h + self.e(e)[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return self.skip(x) + h


class UNet(nn.Module):
    """A small U-Net (Ronneberger et al. 2015, as the noise predictor of Ho et al. 2020) for
    (C, H, W) images: one residual block per level, `levels` stride-2 downsamplings with channels
    c, 2c, ..., skip connections into the matching upsampling. Odd sizes (7x7 after two halvings
    of 28) are matched by resizing the upsampled map to its skip's size."""

    def __init__(self, c: int, channels: int = 32, levels: int = 2, n_classes: int = 0):
        super().__init__()
        E = 4 * channels
        self.emb_dim = channels
        self.t_mlp = nn.Sequential(nn.Linear(channels, E), nn.SiLU(), nn.Linear(E, E))
        self.label = nn.Embedding(n_classes + 1, E) if n_classes else None
        widths = [channels * 2**i for i in range(levels + 1)]  # top ... bottom
        self.inp = nn.Conv2d(c, channels, 3, 1, 1)
        self.down = nn.ModuleList(_ResBlock(a, a, E) for a in widths[:-1])
        self.pool = nn.ModuleList(nn.Conv2d(a, b, 3, 2, 1) for a, b in zip(widths, widths[1:]))
        self.mid = _ResBlock(widths[-1], widths[-1], E)
        self.up_conv = nn.ModuleList(nn.Conv2d(b, a, 3, 1, 1) for a, b in zip(widths, widths[1:]))
        self.up = nn.ModuleList(_ResBlock(2 * a, a, E) for a in widths[:-1])
        self.out = nn.Sequential(_gn(channels), nn.SiLU())
        self.out_conv = nn.Conv2d(channels, c, 3, 1, 1)

    def forward(self, x, t, y=None):
        e = self.t_mlp(time_embedding(t, self.emb_dim))  # (B, E)
        if self.label is not None:
            e = e + self.label(y)
        h = self.inp(x)  # (B, c, H, W)
        skips = []
        for block, pool in zip(self.down, self.pool):
            h = block(h, e)
            skips.append(h)
            h = pool(h)  # (B, 2c, H/2, W/2)
        h = self.mid(h, e)
        for i in reversed(range(len(self.up))):
            s = skips[i]
            h = F.interpolate(h, size=s.shape[-2:], mode="nearest")  # (B, ., H_s, W_s)
            h = self.up[i](torch.cat([s, self.up_conv[i](h)], 1), e)
        return self.out_conv(self.out(h))  # (B, C, H, W)
