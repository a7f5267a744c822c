"""LSTM sequence model: next character on text, next value on real-valued sequences.

Text (makemore's convention): an item is [0, c1, ..., cn, 0, PAD...]; the model reads tokens[:-1]
and predicts tokens[1:] with a softmax over the vocabulary. The loss is cross-entropy in nats per
character, the end token included, PAD (-1) ignored. Sequences: read x_{<=t}, predict x_{t+1} as a
Gaussian in model space (a learned std per step, or a fixed std and the mean squared error); a
sample starts from a first value drawn from the training data's first step and adds the noise at
every step.

The cell (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000):
    i = σ(W_i x + U_i h + b_i)   f = σ(W_f x + U_f h + b_f)   g = tanh(W_g x + U_g h + b_g)
    o = σ(W_o x + U_o h + b_o)   c' = f ⊙ c + i ⊙ g           h' = o ⊙ tanh(c')
`cell=explicit` runs these lines in Python; `cell=fused` is torch.nn.LSTM (same maths, C++/cuDNN,
several times faster). Both hold the same parameters under the same names and layout
(weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, gates stacked i, f, g, o), so a
checkpoint of one loads into the other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from genlab.methods import knobs
from genlab.methods.base import Method, register
from genlab.methods.charlm import PAD, CharLM, trim_pad
from genlab.params import param

NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # torch.nn.LSTM's, per layer k: _l{k}


def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step of the gate equations above; x (B, I), h and c (B, H) -> (h', c')."""
    gates = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # (B, 4H): W x + U h + b for all four gates
    i, f, g, o = gates.chunk(4, dim=1)  # torch.nn.LSTM's gate order
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    h = o * torch.tanh(c)
    return h, c


class ExplicitLSTM(nn.Module):
    """A drop-in for `nn.LSTM(batch_first=True)` (no dropout, one direction) built on `lstm_cell`,
    with torch.nn.LSTM's parameter names, shapes and initialisation U(-1/√H, 1/√H)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1):
        super().__init__()
        self.hidden_size, self.num_layers = hidden_size, num_layers
        H = hidden_size
        for k in range(num_layers):
            i = input_size if k == 0 else H
            setattr(self, f"weight_ih_l{k}", nn.Parameter(torch.empty(4 * H, i)))  # W_i;W_f;W_g;W_o
            setattr(self, f"weight_hh_l{k}", nn.Parameter(torch.empty(4 * H, H)))  # U_i;U_f;U_g;U_o
            setattr(self, f"bias_ih_l{k}", nn.Parameter(torch.empty(4 * H)))
            setattr(self, f"bias_hh_l{k}", nn.Parameter(torch.empty(4 * H)))  # b = b_ih + b_hh
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x, state=None):
        B, T, _ = x.shape
        if state is None:
            zeros = x.new_zeros(self.num_layers, B, self.hidden_size)  # (layers, B, H)
            state = (zeros, zeros)
        hs, cs = [], []
        for k in range(self.num_layers):
            w = [getattr(self, f"{n}_l{k}") for n in NAMES]
            h, c = state[0][k], state[1][k]
            outs = []
            for t in range(T):
                h, c = lstm_cell(x[:, t], h, c, *w)
                outs.append(h)
            x = torch.stack(outs, dim=1)  # (B, T, H): the next layer's input
            hs.append(h)
            cs.append(c)
        return x, (torch.stack(hs), torch.stack(cs))  # (B, T, H), ((layers, B, H), (layers, B, H))


@dataclass(frozen=True)
class LSTMConfig:
    # Defaults measured on the 2-core CPU (hidden 256, emb 64, dropout 0.2, Adam 3e-3, batch 128):
    # held-out nats/char on `names` 1.875 after 500 steps (bigram 2.358; this small set overfits
    # later: 1.918 at 1,000), on makemore's names.txt 1.982 / 1.943 / 1.938 after 1,000 / 2,000 /
    # 2,500 steps (bigram 2.458; published MLP 2.17, WaveNet 1.99).
    # fused is the default: same maths and parameters, 1.5-7x faster per step than explicit here.
    cell: str = param(
        "fused",
        label="LSTM cell",
        choices=("fused", "explicit"),
        help="fused = torch.nn.LSTM (fast); explicit = the gate equations in Python "
        "(the teaching view, same parameters, several times slower).",
    )
    hidden: int = param(
        256, label="State width", low=8, high=2048, help="Width of h and c.", width=True
    )
    layers: int = param(1, label="LSTM layers", low=1, high=4, help="Stacked LSTM layers.")
    emb_dim: int = param(
        64,
        label="Character embedding size",
        low=2,
        high=1024,
        help="Text: size of each character's embedding.",
        width=True,
    )
    dropout: float = knobs.dropout(0.2, "the LSTM's input and output")
    noise: str = param(
        "learned",
        label="Input noise",
        choices=("learned", "fixed"),
        help="Sequences: learned = Gaussian NLL with a predicted std per step; "
        "fixed = mean squared error, samples add noise_std.",
    )
    noise_std: float = param(
        0.05,
        label="Input noise std",
        low=0.0,
        high=10.0,
        live=True,
        help="Sequences, noise=fixed: sampling noise std (model space).",
    )
    lr: float = knobs.lr(3e-3)
    grad_clip: float = knobs.grad_clip()
    temperature: float = knobs.temperature(
        "Divides the logits (text) or scales the noise (sequences); under 0.001 = greedy."
    )
    top_k: int = knobs.top_k()


@register
class LSTM(CharLM, Method):
    name = "lstm"
    label = "LSTM sequence model"
    supports = ("text", "sequences")
    Config = LSTMConfig
    train_defaults = {"batch_size": 128, "steps": 2000}
    description = "Autoregressive LSTM: next character (cross-entropy) or next value (Gaussian)."
    BANK = 512  # sequences: first-step values kept to draw sample starts from
    # A short list is memorised long before 2,000 steps. `names` (4,647 training names), seed 0:
    # held-out nats/char 1.875 / 1.925 / 2.044 and novel samples 72% / 47% / 30% after 500 /
    # 1,000 / 2,000 steps. So text trains about 12 epochs, within 500-2,000 steps (makemore's
    # names.txt, 28,830 names: 2,000 steps, 1.947 nats, 69% novel).
    TEXT_EPOCHS, MIN_STEPS = 12, 500
    # Shorter lists, stop=auto (seed 0, best held-out nats/char; bench/RESULTS.md, session 12):
    # 300 names (2,000 characters) 2.164 at the defaults, 2.113 with width 64, embedding 32 and
    # dropout 0.5; 1,500 names 2.067, 2.056 with dropout 0.5
    SMALL_TEXT = (
        (5_000, {"hidden": 64, "emb_dim": 32, "dropout": 0.5}),
        (20_000, {"dropout": 0.5}),
    )

    @classmethod
    def defaults_for(cls, spec: Any) -> dict[str, Any]:
        return cls.text_defaults(spec)

    def __init__(self, cfg: LSTMConfig, spec):
        super().__init__(cfg, spec)
        self.text = spec.kind == "text"
        fused = cfg.cell == "fused"
        rnn, kw = (nn.LSTM, {"batch_first": True}) if fused else (ExplicitLSTM, {})
        if self.text:
            V = len(spec.vocab)
            self.emb = nn.Embedding(V, cfg.emb_dim)
            self.rnn = rnn(cfg.emb_dim, cfg.hidden, cfg.layers, **kw)
            self.head = nn.Linear(cfg.hidden, V)
        else:
            C = spec.shape[1]
            self.rnn = rnn(C, cfg.hidden, cfg.layers, **kw)
            self.head = nn.Linear(cfg.hidden, C * (2 if cfg.noise == "learned" else 1))
            self.register_buffer("x0_bank", torch.zeros(self.BANK, C))  # (K, C) model space
            self.register_buffer("x0_seen", torch.zeros((), dtype=torch.long))
        self.optimizers["model"] = torch.optim.Adam(self.parameters(), lr=cfg.lr)

    @classmethod
    def problems(cls, cfg, train, spec):
        if spec.kind == "text" and len(spec.vocab) < 2:
            return ["text data needs a vocabulary"]
        if spec.kind == "sequences" and spec.shape[0] < 2:
            return [f"sequences need at least 2 steps to predict the next one, got {spec.shape[0]}"]
        return []

    # ----- forward passes ----------------------------------------------------------------------
    def _drop(self, x):
        """Dropout with a mask from the run's generator (F.dropout would use the global RNG)."""
        p = self.cfg.dropout
        if p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= p  # like x
        return x * keep / (1 - p)

    def _run(self, inp, state=None, drop=False):
        """inp: tokens (B, T) long or values (B, T, C) -> head outputs (B, T, D), new state."""
        x = self.emb(inp.clamp_min(0)) if self.text else inp  # (B, T, E|C); PAD read as 0, masked
        if drop:
            x = self._drop(x)
        h, state = self.rnn(x, state)  # (B, T, H)
        if drop:
            h = self._drop(h)
        return self.head(h), state

    def _gauss(self, out):
        """Head output -> (mu, log sigma) in model space; the fixed std when noise=fixed."""
        if self.cfg.noise == "learned":
            mu, log_sigma = out.chunk(2, dim=-1)  # (B, T, C) each
            return mu, log_sigma.clamp(-7.0, 3.0)
        return out, torch.full_like(out, math.log(max(self.cfg.noise_std, 1e-6)))

    def _losses(self, x, drop=False):
        """Per-batch mean losses; text: nats/char over real next tokens (end token included)."""
        if self.text:
            x = trim_pad(x)
            logits, _ = self._run(x[:, :-1], drop=drop)  # (B, L-1, V)
            nll = F.cross_entropy(logits.flatten(0, 1), x[:, 1:].flatten(), ignore_index=PAD)
            return {"loss/nll": nll}
        z = self.to_model(x)  # (B, T, C)
        mu, log_sigma = self._gauss(self._run(z[:, :-1], drop=drop)[0])  # (B, T-1, C)
        mse = F.mse_loss(mu, z[:, 1:])
        if self.cfg.noise == "fixed":
            return {"loss/mse": mse}
        # Gaussian negative log-likelihood per value (Nix & Weigend 1994):
        # -log N(z | mu, s^2) = 0.5((z - mu)/s)^2 + log s + 0.5 log 2π
        nll = (0.5 * ((z[:, 1:] - mu) / log_sigma.exp()) ** 2 + log_sigma).mean()
        return {"loss/nll": nll + 0.5 * math.log(2 * math.pi), "loss/mse": mse}

    # ----- training ----------------------------------------------------------------------------
    def train_step(self, x, y=None):
        losses = self._losses(x, drop=True)
        loss = losses["loss/nll" if "loss/nll" in losses else "loss/mse"]
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        clip = self.cfg.grad_clip if self.cfg.grad_clip > 0 else float("inf")
        norm = nn.utils.clip_grad_norm_(self.parameters(), clip)
        opt.step()
        if not self.text:  # keep the latest first values, a ring buffer written on the device
            x0 = self.to_model(x[-self.BANK :, 0]).detach()  # (b, C)
            idx = (self.x0_seen + torch.arange(len(x0), device=x0.device)) % self.BANK
            self.x0_bank.index_copy_(0, idx, x0)
            self.x0_seen += len(x0)
        return {**{k: v.detach() for k, v in losses.items()}, "grad/norm": norm.detach()}

    # ----- sampling ----------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n, y=None, generator=None, temperature=None, top_k=None, prefix="", **opts):
        g = generator or self.generator
        temp = self.cfg.temperature if temperature is None else float(temperature)
        if self.text:
            k = self.cfg.top_k if top_k is None else int(top_k)
            return self._sample_text(n, g, temp, k, prefix)
        return self._sample_series(n, g, temp)

    def _sample_series(self, n, g, temp):
        T, C = self.spec.shape
        filled = min(int(self.x0_seen), self.BANK)
        if filled:  # x_1 from the training data's first step (the values seen most recently)
            idx = torch.randint(filled, (n,), generator=g, device=g.device).to(self.device)
            z = self.x0_bank[idx]  # (n, C)
        else:  # nothing seen yet: a standard normal start in model space
            z = self.noise(n, C, generator=g)
        zs, state = [z], None
        for _ in range(T - 1):
            out, state = self._run(zs[-1][:, None], state)  # (n, 1, D)
            mu, log_sigma = self._gauss(out[:, 0])  # (n, C)
            zs.append(mu + temp * log_sigma.exp() * self.noise(n, C, generator=g))
        return self.to_data(torch.stack(zs, dim=1))  # (n, T, C)
