"""Inside the model for text, headless: the probability the model gives each character after its
prefix (a heat strip), and samples split into "in the training data" and "new". No streamlit
here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from genlab.data import Dataset
from genlab.data.text import decode
from genlab.methods import Method
from genlab.runs import sampling

END_MARK = "⏎"  # the end token in a heat strip: p(end | the whole string)


@torch.no_grad()
def char_heat(m: Method, strings: list[str]) -> list[list[tuple[str, float]]]:
    """Each string as [(char, p(char | prefix)), ..., (END_MARK, p(end | string))]: the
    model's probability of every actual next character. ValueError for a method that does not
    score text, or for characters outside the vocabulary (the method's message)."""
    if not strings:
        return []
    p = m.char_probs(list(strings))
    if p is None:
        raise ValueError(f"method {m.name!r} does not score text")
    out = []
    for s, row in zip(strings, p.float().cpu().numpy()):
        chars = [*s, END_MARK]
        out.append([(c, float(row[i])) for i, c in enumerate(chars)])
    return out


def nats_per_char(row: list[tuple[str, float]]) -> float:
    """Mean −log p over a heat row (end included): the model's NLL of that one string."""
    return float(np.mean([-math.log(max(p, 1e-12)) for _, p in row]))


def heat_color(p: float) -> str:
    """Red (unlikely) -> yellow -> green (likely), as a CSS colour."""
    from plotly.colors import sample_colorscale

    return sample_colorscale("RdYlGn", [min(1.0, max(0.0, p))])[0]


def heat_html(rows: list[list[tuple[str, float]]], font_px: int = 20) -> str:
    """The heat strips as HTML: one line per string, each character on its colour, p on hover."""
    import html

    lines = []
    for row in rows:
        spans = "".join(
            f'<span title="p={p:.3f}" style="background:{heat_color(p)};padding:2px 3px;'
            f'margin:0 1px;border-radius:3px;color:#111">{html.escape(c)}</span>'
            for c, p in row
        )
        lines.append(
            f'<div style="font-family:monospace;font-size:{font_px}px;line-height:1.9">'
            f'{spans}<span style="color:#888;font-size:{int(font_px * 0.6)}px;margin-left:8px">'
            f"{nats_per_char(row):.2f} nats/char</span></div>"
        )
    return "".join(lines)


@torch.no_grad()
def generated_strings(m: Method, n: int, seed: int, **opts: Any) -> list[str]:
    tokens = sampling.sample(m, n, seed, **opts)
    return [decode(row[1:], m.spec.vocab) for row in tokens.cpu()]


def training_strings(data: Dataset) -> frozenset[str]:
    return frozenset(decode(row[1:], data.spec.vocab) for row in data.x_train.tolist())


def split_novel(items: list[str], seen: frozenset[str] | set[str]) -> tuple[list[str], list[str]]:
    """(items found in the training data, new items), each in the order given."""
    return [s for s in items if s in seen], [s for s in items if s not in seen]
