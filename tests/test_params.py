"""Hyperparameters declared once: validation, parsing and routing."""

from __future__ import annotations

import pytest

from genlab import params
from genlab.methods import METHODS
from genlab.params import TrainConfig


def test_defaults_build():
    for cls in [TrainConfig] + [m.Config for m in METHODS.values()]:
        cfg = params.build(cls)
        assert params.to_dict(cfg) == {p.name: p.default for p in params.describe(cls)}


def test_every_param_declares_help_and_range_or_choices():
    for cls in [TrainConfig] + [m.Config for m in METHODS.values()]:
        for p in params.describe(cls):
            assert p.help, f"{cls.__name__}.{p.name} has no help text"
            if p.type is str:
                assert p.choices and p.default in p.choices, f"{cls.__name__}.{p.name}"
            if p.type in (int, float):
                assert p.low is not None and p.high is not None, f"{cls.__name__}.{p.name}"
                assert p.low <= p.default <= p.high, f"{cls.__name__}.{p.name}"


def test_every_param_has_a_human_label_beside_its_declared_name():
    from genlab.data import DATASETS

    configs = [TrainConfig] + [m.Config for m in METHODS.values()]
    configs += [d.Config for d in DATASETS.values() if d.Config is not None]
    for cls in configs:
        for p in params.describe(cls):
            assert p.label and p.label != p.name, f"{cls.__name__}.{p.name} has no label"
            assert p.title == f"{p.label} · {p.name}"
    lr_g = {p.name: p for p in params.describe(METHODS["gan"].Config)}["lr_g"]
    assert lr_g.title == "Generator learning rate · lr_g"
    assert params.Param("x", int, 0).title == "x"  # undeclared: the name alone


def test_all_problems_in_one_error():
    with pytest.raises(ValueError) as e:
        params.build(TrainConfig, {"steps": 0, "batch_size": "big", "nope": 1, "device": "tpu"})
    msg = str(e.value)
    for part in (
        "steps=0 is below the minimum 1",
        "batch_size='big' must be an integer",
        "unknown parameter 'nope'",
        "device='tpu' is not one of auto, cpu, cuda, mps",
    ):
        assert part in msg


def test_bool_is_not_an_int():
    with pytest.raises(ValueError, match="not a boolean"):
        params.build(TrainConfig, {"steps": True})


def test_non_finite_floats_are_refused():
    gan = METHODS["gan"].Config
    with pytest.raises(ValueError, match="must be finite"):
        params.build(gan, {"lr_g": float("nan")})


def test_parse_value_types():
    ps = {p.name: p for p in params.describe(TrainConfig)}
    assert params.parse_value(ps["steps"], "1e3") == 1000
    assert params.parse_value(ps["device"], "cpu") == "cpu"
    with pytest.raises(ValueError, match="must be an integer"):
        params.parse_value(ps["steps"], "1.5")


def test_split_overrides_routes_by_declaration():
    gan = METHODS["gan"].Config
    found, unknown = params.split_overrides(
        {"lr_g": "0.001", "steps": "10", "zzz": "1"}, gan, TrainConfig
    )
    assert found == [{"lr_g": 0.001}, {"steps": 10, "stop": "steps"}]  # a number: exactly 10
    assert unknown == ["zzz"]


def test_shared_names_are_used_consistently():
    """The issue's shared names: a method that has a learning rate calls it lr or lr_g/lr_d."""
    for cls in METHODS.values():
        names = {p.name for p in params.describe(cls.Config)}
        assert not names & {"learning_rate", "z_dim", "nz", "hidden_size", "num_layers"}, cls.name
