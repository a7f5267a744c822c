"""A character-level decoder-only transformer (GPT, Radford et al. 2018/2019; the nanoGPT and
makemore layout) on text.

Tokens and positions are embedded and summed (learned positions, GPT-2), then `layers` pre-LN
blocks (GPT-2, Radford et al. 2019, sec. 2.3; Xiong et al. 2020):
    h ← h + Attn(LN(h))        h ← h + MLP(LN(h)),   MLP(u) = W_2 GELU(W_1 u)  (4× width)
and a final LayerNorm and linear head to next-character logits. Attention with `heads` heads of
size d = hidden / heads (Vaswani et al. 2017, eq. 1, with the causal mask of a decoder):
    Attn(Q, K, V) = softmax(Q Kᵀ / √d + M) V,   M_ij = 0 for j ≤ i and −∞ for j > i,
so position i sees only characters up to i. Written out (not F.scaled_dot_product_attention) so
that the attention weights can be shown (`attention`); at this size the cost is the same.
Hand-written rather than a library model: no extra dependency, and it is a page.

The text layout, the loss (nats/char, end token included), the held-out NLL and the sampling loop
(temperature, top-k, prefix) are the LSTM's (`CharLM`).
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
from genlab.params import TrainConfig, param


@dataclass(frozen=True)
class TransformerConfig:
    layers: int = param(4, label="Transformer blocks", low=1, high=12, help="Transformer blocks.")
    heads: int = param(
        4,
        label="Attention heads",
        low=1,
        high=16,
        help="Attention heads per block (must divide hidden).",
    )
    hidden: int = param(
        64,
        label="Residual width",
        low=8,
        high=1024,
        help="Width of the residual stream (embedding size).",
        width=True,
    )
    dropout: float = knobs.dropout(0.1, "the attention weights and the residual branches")
    lr: float = knobs.lr(3e-3, help="AdamW learning rate.")
    weight_decay: float = param(
        0.01,
        label="Weight decay",
        low=0.0,
        high=1.0,
        group="Optimiser",
        advanced=True,
        help="AdamW weight decay (makemore uses 0.01).",
    )
    grad_clip: float = knobs.grad_clip()
    temperature: float = knobs.temperature(
        "Divides the logits; under 0.001 = greedy (always the likeliest character)."
    )
    top_k: int = knobs.top_k("Sample among the k likeliest characters (0 = off).")


class Block(nn.Module):
    """One pre-LN block: causal multi-head self-attention, then a GELU MLP, each residual."""

    def __init__(self, hidden: int, heads: int, drop):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)  # W_Q; W_K; W_V of every head
        self.proj = nn.Linear(hidden, hidden)  # W_O
        self.fc, self.fc_out = nn.Linear(hidden, 4 * hidden), nn.Linear(4 * hidden, hidden)
        self.drop = drop  # the owner's generator-driven dropout
        self.last_att: torch.Tensor | None = None  # kept when `keep` is set (the inside view)
        self.keep = False

    def attend(self, u):
        B, T, C = u.shape
        q, k, v = self.qkv(u).split(C, dim=2)  # (B, T, C) each
        q, k, v = (z.view(B, T, self.heads, C // self.heads).transpose(1, 2) for z in (q, k, v))
        att = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, heads, T, T): Q Kᵀ / √d
        future = torch.ones(T, T, dtype=torch.bool, device=u.device).triu(1)  # j > i
        att = att.masked_fill(future, float("-inf")).softmax(-1)  # the causal mask M
        if self.keep:
            self.last_att = att.detach()
        h = self.drop(att) @ v  # (B, heads, T, d)
        return self.proj(h.transpose(1, 2).reshape(B, T, C))  # (B, T, C)

    def forward(self, h):
        h = h + self.drop(self.attend(self.ln1(h)))
        return h + self.drop(self.fc_out(F.gelu(self.fc(self.ln2(h)))))


@register
class Transformer(CharLM, Method):
    name = "transformer"
    label = "Transformer (character)"
    supports = ("text",)
    inside = ("attention",)
    Config = TransformerConfig
    # names.txt (bench/RESULTS.md, session 13): lr 2e-3 constant 1.983 at the 3,000-step cap;
    # cosine 1.975; lr 3e-3 cosine 1.960; the same over 4,000 steps 1.946 (stopped at 3,822)
    train_defaults = {"batch_size": 128, "steps": 4000, "lr_schedule": "cosine"}
    description = "Decoder-only transformer: causal self-attention predicts the next character."
    TEXT_EPOCHS, MIN_STEPS = 18, 600  # text: default length, in passes over the training list
    # shorter lists, stop=auto (seed 0, best held-out nats/char; bench/RESULTS.md, session 12):
    # 300 names 2.233 at dropout 0.1, 2.217 at 0.3; 1,500 names 2.134, 2.124 at 0.3, 2.115 at 0.2
    SMALL_TEXT = ((5_000, {"dropout": 0.3}), (20_000, {"dropout": 0.2}))

    @classmethod
    def defaults_for(cls, spec: Any) -> dict[str, Any]:
        return cls.text_defaults(spec)

    @classmethod
    def problems(cls, cfg, train: TrainConfig, spec) -> list[str]:
        out = []
        if cfg.hidden % cfg.heads:
            out.append(f"hidden={cfg.hidden} is not divisible by heads={cfg.heads}")
        if len(spec.vocab) < 2:
            out.append("text data needs a vocabulary")
        return out

    def __init__(self, cfg: TransformerConfig, spec):
        super().__init__(cfg, spec)
        self.text = True
        V = len(spec.vocab)
        # context: the longest item (shape[0] - 1 tokens read); sampling crops to it
        self.block = spec.shape[0] - 1
        self.tok = nn.Embedding(V, cfg.hidden)
        self.pos = nn.Embedding(self.block, cfg.hidden)  # learned positions
        self.blocks = nn.ModuleList(
            Block(cfg.hidden, cfg.heads, self._drop) for _ in range(cfg.layers)
        )
        self.ln_f = nn.LayerNorm(cfg.hidden)
        self.head = nn.Linear(cfg.hidden, V)
        self.optimizers["model"] = torch.optim.AdamW(
            self.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.99)
        )
        self.eval()  # dropout only inside train_step

    def _drop(self, x):
        """Dropout with a mask from the run's generator (F.dropout would use the global RNG);
        only while training."""
        p = self.cfg.dropout
        if p == 0 or not self.training:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= p  # like x
        return x * keep / (1 - p)

    def logits(self, idx: torch.Tensor) -> torch.Tensor:
        """Tokens (B, T) with T <= block -> next-token logits (B, T, V)."""
        T = idx.shape[1]
        pos = torch.arange(T, device=idx.device)
        h = self._drop(self.tok(idx.clamp_min(0)) + self.pos(pos))  # (B, T, C); PAD read as 0
        for block in self.blocks:
            h = block(h)
        return self.head(self.ln_f(h))  # (B, T, V)

    def _run(self, inp, state=None):
        """CharLM's step: the context so far is the state. Each new position reads at most the
        last `block` tokens (nanoGPT's crop): one pass while the context fits, then a sliding
        window per position."""
        ctx = inp if state is None else torch.cat([state, inp], 1)  # (B, t)
        L, start = ctx.shape[1], ctx.shape[1] - inp.shape[1]
        if L <= self.block:
            return self.logits(ctx)[:, start:], ctx
        parts = []
        if start < self.block:
            parts.append(self.logits(ctx[:, : self.block])[:, start:])
        for p in range(max(start, self.block), L):
            parts.append(self.logits(ctx[:, p - self.block + 1 : p + 1])[:, -1:])
        return torch.cat(parts, 1), ctx  # (B, T, V)

    def _losses(self, x):
        x = trim_pad(x)
        logits = self.logits(x[:, :-1])  # (B, L-1, V)
        nll = F.cross_entropy(logits.flatten(0, 1), x[:, 1:].flatten(), ignore_index=PAD)
        return {"loss/nll": nll}

    def train_step(self, x, y=None):
        self.train()
        loss = self._losses(x)["loss/nll"]
        self.eval()  # sampling and evaluation between steps run without dropout
        opt = self.optimizers["model"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        clip = self.cfg.grad_clip if self.cfg.grad_clip > 0 else float("inf")
        norm = nn.utils.clip_grad_norm_(self.parameters(), clip)
        opt.step()
        return {"loss/nll": loss.detach(), "grad/norm": norm.detach()}

    @torch.no_grad()
    def sample(self, n, y=None, generator=None, temperature=None, top_k=None, prefix="", **opts):
        self.eval()
        temp = self.cfg.temperature if temperature is None else float(temperature)
        k = self.cfg.top_k if top_k is None else int(top_k)
        return self._sample_text(n, generator or self.generator, temp, k, prefix)

    @torch.no_grad()
    def attention(self, tokens):
        """(layers, heads, L-1, L-1): the attention weights while reading one string or token row
        (its start token and characters, the end token excluded)."""
        x = self._as_tokens(tokens)[:1]
        x = x[:, :-1][:, : self.block]  # (1, T)
        self.eval()
        for block in self.blocks:
            block.keep = True
        try:
            self.logits(x)
            return torch.stack([block.last_att[0] for block in self.blocks])
        finally:
            for block in self.blocks:
                block.keep, block.last_att = False, None
