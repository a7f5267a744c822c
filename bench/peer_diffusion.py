"""genlab's `ddpm` against tiny-diffusion's setup on the same 2D data, side by side in one run.

The peer is the setup of tiny-diffusion's ddpm.py (Tanel Pärnamaa), written here from its
description, not copied: 50 timesteps with linear betas 1e-4 to 0.02; an MLP that reads
sinusoidal embeddings (128 each) of both coordinates (scaled by 25) and of t, concatenated, then
Linear(384, 128) and GELU, 3 residual blocks x + GELU(Linear(x)) of width 128, and Linear(128, 2);
ε-prediction with the mean squared error, AdamW(1e-3), gradient clipping at 1, batch 32; ancestral
sampling with the posterior variance β_t (1 - ᾱ_{t-1}) / (1 - ᾱ_t).

genlab's `ddpm` runs at its defaults for the data (batch 256, 1,000 timesteps, its samplers,
EMA weights). Both train the same number of steps (`--steps`) on genlab's dataset (standardised
the way genlab's methods see it), then the peer goes on to the same number of examples (8x the
steps at its batch of 32), one after the other, with 1 torch thread. Printed for each:
steps/s, examples/s, wall time, and genlab's point metrics on 2,500 samples (eval/mmd against
its floor; on mixtures eval/modes, eval/hq and eval/rkl), with the network evaluations per sample.

    python bench/peer_diffusion.py [--data ring8] [--steps 3000]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genlab.data import load_dataset  # noqa: E402
from genlab.metrics.evaluation import draw  # noqa: E402
from genlab.metrics.points import point_metrics  # noqa: E402
from genlab.runs import Run, RunStore  # noqa: E402

N_EVAL = 2500
SHOWN = ("eval/mmd", "floor/mmd", "eval/modes", "eval/hq", "eval/rkl")


# ----- the peer ----------------------------------------------------------------------------------
def sinusoidal(x: torch.Tensor, size: int = 128, scale: float = 1.0) -> torch.Tensor:
    """(n,) -> (n, size): sin and cos of x·scale at `size / 2` geometric frequencies."""
    half = size // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half) / (half - 1))
    arg = (x * scale)[:, None] * freqs[None]
    return torch.cat([arg.sin(), arg.cos()], dim=1)


class PeerMLP(nn.Module):
    def __init__(self, width: int = 128, blocks: int = 3):
        super().__init__()
        self.inp = nn.Linear(3 * 128, width)
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(blocks))
        self.out = nn.Linear(width, 2)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        emb = [sinusoidal(x[:, 0], scale=25.0), sinusoidal(x[:, 1], scale=25.0)]
        h = F.gelu(self.inp(torch.cat([*emb, sinusoidal(t.float())], dim=1)))
        for block in self.blocks:
            h = h + F.gelu(block(h))
        return self.out(h)


class Peer:
    T = 50

    def __init__(self, seed: int = 0):
        torch.manual_seed(seed)
        self.net = PeerMLP()
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=1e-3)
        self.betas = torch.linspace(1e-4, 0.02, self.T)
        self.abar = torch.cumprod(1 - self.betas, dim=0)

    def step(self, x0: torch.Tensor) -> float:
        t = torch.randint(0, self.T, (len(x0),))
        eps = torch.randn_like(x0)
        ab = self.abar[t][:, None]
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
        loss = F.mse_loss(self.net(xt, t), eps)
        self.opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
        self.opt.step()
        return loss.item()

    @torch.no_grad()
    def sample(self, n: int) -> torch.Tensor:
        x = torch.randn(n, 2)
        for t in reversed(range(self.T)):
            tt = torch.full((n,), t)
            eps = self.net(x, tt)
            b, ab = self.betas[t], self.abar[t]
            x = (x - b / (1 - ab).sqrt() * eps) / (1 - b).sqrt()
            if t > 0:
                var = b * (1 - self.abar[t - 1]) / (1 - ab)
                x = x + var.clamp_min(1e-20).sqrt() * torch.randn_like(x)
        return x


# ----- the two, one after the other --------------------------------------------------------------
def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def line(name: str, steps: int, batch: int, seconds: float, m: dict, nfe: int) -> str:
    shown = "  ".join(f"{k}={m[k]:.4g}" for k in SHOWN if k in m)
    return (
        f"{name:<14} {steps} steps of {batch}: {steps / seconds:7.1f} steps/s "
        f"{steps * batch / seconds:9.0f} examples/s  {seconds:6.1f} s (load {load()})  "
        f"{shown}  nfe={nfe}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default="ring8")
    ap.add_argument("--steps", type=int, default=3000)
    args = ap.parse_args()
    os.environ.setdefault("GENLAB_CPU_THREADS", "1")
    torch.set_num_threads(1)
    data = load_dataset(args.data)
    spec = data.spec
    x = (data.x_train - spec.loc) / spec.scale  # the units genlab's methods train in

    # the peer at the same steps, then on to as many examples as genlab's batch of 256 sees
    peer = Peer()
    g = torch.Generator().manual_seed(0)
    peer_s, done = 0.0, 0
    for target in (args.steps, args.steps * 256 // 32):
        t0 = time.perf_counter()
        for _ in range(target - done):
            peer.step(x[torch.randint(len(x), (32,), generator=g)])
        peer_s, done = peer_s + time.perf_counter() - t0, target
        fake = peer.sample(N_EVAL) * spec.scale + spec.loc
        print(line("tiny-diffusion", done, 32, peer_s, point_metrics(fake, data), Peer.T))

    with tempfile.TemporaryDirectory() as tmp:
        run = Run(
            "ddpm",
            args.data,
            train_values={"steps": args.steps, "stop": "steps", "eval_every": 0},
            store=RunStore(tmp),
        ).start()
        run.join()
        m = run.method.eval()
        # the training time to the last logged step (the final evaluation excluded, as the peer's)
        losses = [rows for key, rows in run.history.copy().items() if key.startswith("loss/")]
        step, t = max(rows[-1][:2] for rows in losses)
        seconds = t * args.steps / max(step, 1)
        fake, _ = draw(m, N_EVAL, torch.Generator().manual_seed(0))
        nfe = int(run.history.last().get("eval/nfe", 0))
        batch = run.train.batch_size
        print(line("genlab ddpm", args.steps, batch, seconds, point_metrics(fake.cpu(), data), nfe))


if __name__ == "__main__":
    main()
