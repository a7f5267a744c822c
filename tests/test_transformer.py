"""The character transformer: the causal mask hides the future, attention weights are a causal
distribution per query, the LSTM's sampling options, and a learning test against the bigram
baseline."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from genlab import params
from genlab.data import load_dataset
from genlab.methods.charlm import trim_pad
from genlab.metrics.text import bigram_nll
from genlab.runs.build import build_method

PAD = -1


def _build(values=None, seed=0, batch=32):
    ds = load_dataset("names")
    train = params.build(params.TrainConfig, {"batch_size": batch, "seed": seed, "device": "cpu"})
    small = {"hidden": 32, "layers": 2, "heads": 4, **(values or {})}
    return build_method("transformer", small, train, ds.spec), ds


def test_causal_mask_hides_the_future():
    m, ds = _build()
    x = ds.x_val[:8].clone()
    x[x == PAD] = 0
    x = x[:, :-1]  # (8, L-1) the tokens a step reads
    j = 5
    changed = x.clone()
    changed[:, j:] = (changed[:, j:] + 3) % len(ds.spec.vocab)  # other characters from j on
    a, b = m.logits(x), m.logits(changed)
    assert torch.allclose(a[:, :j], b[:, :j], atol=1e-6)  # positions before j cannot see them
    assert not torch.allclose(a[:, j:], b[:, j:])  # ... and the later ones do


def test_attention_is_a_causal_distribution_per_query():
    m, _ = _build({"layers": 3, "heads": 2})
    att = m.attention("emma")  # reads ".emma": 5 positions
    assert att.shape == (3, 2, 5, 5)
    assert torch.allclose(att.sum(-1), torch.ones(3, 2, 5), atol=1e-5)
    assert float(att.triu(1).abs().max()) == 0.0  # no weight on later characters
    assert float(att[..., 0, 0].min()) == pytest.approx(1.0)  # the first reads only itself


def test_hidden_must_split_into_heads():
    with pytest.raises(ValueError, match="not divisible by heads"):
        _build({"hidden": 30, "heads": 4})


def test_sampling_options_prefix_and_greedy():
    m, ds = _build()
    s = m.sample(6, prefix="em", generator=torch.Generator().manual_seed(0))
    e, mi = ds.spec.vocab.index("e"), ds.spec.vocab.index("m")
    assert (s[:, 0] == 0).all() and (s[:, 1] == e).all() and (s[:, 2] == mi).all()
    g1 = m.sample(4, temperature=0.0, generator=torch.Generator().manual_seed(1))
    g2 = m.sample(4, top_k=1, generator=torch.Generator().manual_seed(2))
    assert torch.equal(g1, g2) and (g1 == g1[0]).all()  # greedy: one deterministic name
    p = m.char_probs(["emma", "ann"])
    assert p.shape == (2, 5) and torch.isnan(p[1, 4]) and (p[0] > 0).all()


def test_dropout_is_off_outside_training_steps():
    m, ds = _build({"dropout": 0.5})
    assert m.evaluate(ds) == m.evaluate(ds)  # no random masks in held-out figures
    x, _ = ds.batch(32, m.generator)
    m.train_step(x)
    assert not m.training and m.evaluate(ds) == m.evaluate(ds)


@pytest.mark.slow
def test_validation_nll_falls_below_the_bigram_baseline():
    m, ds = _build({"hidden": 64, "layers": 2}, batch=64)
    bigram = bigram_nll(ds.x_train, ds.x_val, len(ds.spec.vocab))
    for step in range(400):
        m.step = step
        x, _ = ds.batch(64, m.generator)
        m.train_step(x)
    nll = m.evaluate(ds)["eval/nll"]
    assert nll < bigram - 0.05, (nll, bigram)


def test_strings_longer_than_the_context_are_scored_with_a_sliding_window():
    m, ds = _build()
    long = "abcdefghijklmnopqrstuvwxyz"  # longer than any name: beyond the learned positions
    p = m.char_probs([long, "ann"])
    assert p.shape == (2, len(long) + 1) and torch.isfinite(p[0]).all()
    # the last window: the same probabilities as reading the last `block` tokens on their own
    x = m._as_tokens([long])[:, :-1]  # (1, 27)
    tail = m.logits(x[:, -m.block :])[:, -1].softmax(-1)
    assert torch.allclose(m.next_char_probs([long])[0, -1], tail[0], atol=1e-6)


@pytest.mark.parametrize("method", ["transformer", "lstm"])
def test_a_batch_is_trimmed_to_its_longest_item_without_changing_the_loss(method):
    ds = load_dataset("names")
    train = params.build(params.TrainConfig, {"seed": 0, "device": "cpu"})
    m = build_method(method, {"hidden": 32}, train, ds.spec)
    lengths = (ds.x_val != PAD).sum(1)  # (N,) tokens per item
    short = ds.x_val[lengths <= 6][:16]  # (16, L): items of at most 4 characters, padded to L
    assert (short[:, 6:] == PAD).all() and short.shape[1] > 7
    assert trim_pad(short).shape[1] == 6
    padded = torch.cat([short, torch.full((16, 5), PAD)], 1)  # more padding than the list's
    logits, _ = m._run(short[:, :-1])  # untrimmed: every column of the list's width
    whole = F.cross_entropy(logits.flatten(0, 1), short[:, 1:].flatten(), ignore_index=PAD)
    assert torch.allclose(m._losses(short)["loss/nll"], whole, atol=1e-6)
    assert torch.allclose(m._losses(padded)["loss/nll"], whole, atol=1e-6)
