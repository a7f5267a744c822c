"""Text metrics (items are token rows [0, c1..cn, 0, PAD...], decoded with genlab.data.text.decode).

  floor/nll_bigram  the baseline the method's own eval/nll (nats per character, end token included)
                    must beat: +1-smoothed bigram counts of the training split, NLL on the
                    validation split (also as floor/nll, the line on the eval/nll chart).
                    floor/nll_uniform = log V.
  eval/novelty      share of samples that are not in the training list.
  eval/uniqueness   share of distinct strings among the samples.
  eval/length_tv    total variation distance between the length histograms of the samples and
                    of the training items, in [0, 1].
Floors for novelty, uniqueness and length_tv: the validation items (up to n) in place of samples.
"""

from __future__ import annotations

import math
from collections import Counter

import torch

from genlab.data.text import PAD, decode
from genlab.metrics.common import LRU, data_key

DEFAULT_N = 1000


def strings(x: torch.Tensor, vocab: tuple[str, ...]) -> list[str]:
    """Token rows -> strings. Rows in the data layout start with the start token 0, which is
    skipped (a model's sample() returns that layout too); decode stops at the end token or PAD."""
    x = x.detach().cpu()
    if x.shape[1] > 0 and bool((x[:, 0] == 0).all()):
        x = x[:, 1:]
    return [decode(row.tolist(), vocab) for row in x]


def bigram_nll(train: torch.Tensor, val: torch.Tensor, vocab_size: int) -> float:
    """Nats per predicted token (end token included, PAD ignored) on `val` of a bigram model with
    +1-smoothed counts from `train` (makemore's baseline). Uniform would be log V."""

    def pairs(x):
        a, b = x[:, :-1].reshape(-1), x[:, 1:].reshape(-1)
        keep = (a != PAD) & (b != PAD)
        return a[keep], b[keep]

    a, b = pairs(train.cpu())
    counts = torch.ones(vocab_size, vocab_size, dtype=torch.float64)
    counts.index_put_((a, b), torch.ones(len(a), dtype=torch.float64), accumulate=True)
    logp = (counts / counts.sum(1, keepdim=True)).log()  # (V, V) log p(next | previous)
    a, b = pairs(val.cpu())
    return float(-logp[a, b].mean())


def novelty(samples: list[str], train: set[str]) -> float:
    return sum(s not in train for s in samples) / max(1, len(samples))


def uniqueness(samples: list[str]) -> float:
    return len(set(samples)) / max(1, len(samples))


def length_tv(samples: list[str], reference: list[str]) -> float:
    """Total variation 0.5 Σ_L |p(L) - q(L)| between the two length histograms."""
    p, q = Counter(map(len, samples)), Counter(map(len, reference))
    n, m = max(1, len(samples)), max(1, len(reference))
    return 0.5 * sum(abs(p[k] / n - q[k] / m) for k in set(p) | set(q))


_REFS = LRU(8)


def _reference(data, n: int) -> tuple[set[str], list[str], dict[str, float]]:
    key = (data_key(data), n)
    if key in _REFS:
        return _REFS[key]
    spec = data.spec
    train = strings(data.x_train, spec.vocab)
    train_set = set(train)
    val = strings(data.x_val[:n], spec.vocab)
    V = len(spec.vocab)
    nll_bigram = bigram_nll(data.x_train, data.x_val, V)
    floors = {
        "floor/nll_bigram": nll_bigram,
        "floor/nll": nll_bigram,  # the same baseline, drawn on the eval/nll chart
        "floor/nll_uniform": math.log(V),
        "floor/novelty": novelty(val, train_set),
        "floor/uniqueness": uniqueness(val),
        "floor/length_tv": length_tv(val, train),
    }
    return _REFS.put(key, (train_set, train, floors))


def text_metrics(fake: torch.Tensor, data, y: torch.Tensor | None = None) -> dict[str, float]:
    """Metrics of sampled token rows `fake` (n, L) against `data`, with the floors."""
    train_set, train, floors = _reference(data, len(fake))
    s = strings(fake, data.spec.vocab)
    return {
        "eval/novelty": novelty(s, train_set),
        "eval/uniqueness": uniqueness(s),
        "eval/length_tv": length_tv(s, train),
        **floors,
    }
