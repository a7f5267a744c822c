"""Every (method, compatible dataset) pair, through the registries (pythae's templated tests)."""

from __future__ import annotations

import math

import pytest
import torch

from genlab import params
from genlab.data import DATASETS, load_dataset
from genlab.methods import METHODS
from genlab.runs.build import build_method

BUILTIN = [n for n, info in DATASETS.items() if not info.upload]


def _pairs():
    out = []
    for m, cls in METHODS.items():
        for d in BUILTIN:
            if cls.supports_data(load_dataset(d).spec):
                out.append(pytest.param(m, d, id=f"{m}-{d}"))
    return out


PAIRS = _pairs()


def _small(method: str, dataset: str, seed: int = 0):
    cls = METHODS[method]
    # the smallest sizes each config allows keep these tests quick on CPU
    small = {}
    for p in params.describe(cls.Config):
        if p.width or (p.name == "sample_steps" and p.type is int):
            small[p.name] = max(int(p.low or 1), min(p.default, 32))
    train = params.build(params.TrainConfig, {"batch_size": 16, "seed": seed, "device": "cpu"})
    ds = load_dataset(dataset)
    return build_method(method, small, train, ds.spec), ds, train


def _first_pair_of_each_method():
    seen, out = set(), []
    for pair in PAIRS:
        if pair.values[0] not in seen:
            seen.add(pair.values[0])
            out.append(pair)
    return out


@pytest.mark.parametrize("method,dataset", _first_pair_of_each_method())
def test_every_optimiser_is_driven_by_a_declared_learning_rate(method, dataset):
    """The rates declare the optimiser they drive (`param(optimizer=)`), not a naming rule: each
    optimiser a method builds has one, each declared target exists, and a live change of a rate
    moves only its own optimiser."""
    m, _, _ = _small(method, dataset)
    rates = [p for p in params.describe(type(m.cfg)) if p.is_lr]
    assert rates, f"{method} declares no learning rate"
    for name in m.optimizers:
        assert any(p.optimizer in ("*", name) for p in rates), f"{method}: {name} has no rate"
    m.push_learning_rates()  # every declared target exists
    for p in rates:
        new = getattr(m.cfg, p.name) / 3
        m.change_live(**{p.name: new})
        for name, opt in m.optimizers.items():
            moved = all(math.isclose(g["lr"], new) for g in opt.param_groups)
            assert moved == (p.optimizer in ("*", name)), (method, p.name, name)
        m.change_live(**{p.name: new * 3})


def test_a_rate_for_an_optimiser_the_method_lacks_is_refused():
    m, _, _ = _small("gan", "ring8")
    del m.optimizers["d"]
    with pytest.raises(ValueError, match="lr_d drives optimiser 'd'"):
        m.push_learning_rates()


def test_registry_is_populated():
    assert {"gan", "cgan", "vae", "rgan", "lstm", "ddpm", "flow", "transformer"} <= set(METHODS)
    for cls in METHODS.values():
        assert cls.label and cls.supports and cls.Config


@pytest.mark.parametrize("method,dataset", PAIRS)
def test_one_step_is_finite_and_changes_weights(method, dataset):
    m, ds, train = _small(method, dataset)
    before = {k: v.clone() for k, v in m.state_dict().items() if v.is_floating_point()}
    x, y = ds.batch(train.batch_size, m.generator)
    out = m.train_step(x, y)
    assert out, "train_step returned no metrics"
    for k, v in out.items():
        assert math.isfinite(float(v)), (k, v)
    after = m.state_dict()
    changed = [k for k in before if not torch.equal(after[k], before[k])]
    assert changed, "no weight changed after one step"


@pytest.mark.parametrize("method,dataset", PAIRS)
def test_sample_shape(method, dataset):
    m, ds, _ = _small(method, dataset)
    y = m.sample_labels(6) if m.conditional else None
    s = m.sample(6, y)
    if ds.spec.kind == "text":
        assert s.dtype == torch.long and s.shape[0] == 6
        assert int(s.max()) < len(ds.spec.vocab)
    else:
        assert tuple(s.shape) == (6, *ds.spec.shape)
        assert torch.isfinite(s).all()
    if ds.spec.kind == "images":
        assert float(s.min()) >= 0.0 and float(s.max()) <= 1.0


@pytest.mark.parametrize("method,dataset", PAIRS)
def test_checkpoint_restore_gives_identical_samples(method, dataset):
    m, ds, train = _small(method, dataset)
    for _ in range(2):
        x, y = ds.batch(train.batch_size, m.generator)
        m.train_step(x, y)
    tensors, meta = m.checkpoint()
    m2, _, _ = _small(method, dataset, seed=1)  # different init: restore must overwrite it all
    m2.restore(tensors, meta)
    y = m.sample_labels(5) if m.conditional else None
    a = m.sample(5, y, generator=torch.Generator().manual_seed(3))
    b = m2.sample(5, y, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    # training continues identically too (optimiser state and RNG restored)
    x, yb = ds.batch(train.batch_size, torch.Generator().manual_seed(4))
    la, lb = m.train_step(x, yb), m2.train_step(x, yb)
    for k in la:
        assert torch.allclose(la[k], lb[k], atol=1e-5), k


def test_conditional_methods_refuse_unlabelled_data():
    spec = load_dataset("swissroll").spec
    for cls in METHODS.values():
        if cls.conditional and "points" in cls.supports:
            with pytest.raises(ValueError, match="needs a dataset with labels"):
                cls.check(params.build(cls.Config), params.TrainConfig(), spec)
