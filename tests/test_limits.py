"""Server limits from the environment: refused with a message naming the setting."""

from __future__ import annotations

import pytest

from genlab.limits import Limits
from genlab.runs import Run, RunStore


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


def test_defaults_are_safe(monkeypatch):
    for k in ("GENLAB_MAX_STEPS", "GENLAB_READONLY", "GENLAB_ADMIN_PASSWORD"):
        monkeypatch.delenv(k, raising=False)
    lim = Limits.from_env()
    assert lim.max_steps == 200_000 and not lim.readonly and lim.admin_password is None


@pytest.mark.parametrize(
    "env,values,message",
    [
        ("GENLAB_MAX_STEPS", ({}, {"steps": 500}), "GENLAB_MAX_STEPS"),
        ("GENLAB_MAX_BATCH", ({}, {"batch_size": 500}), "GENLAB_MAX_BATCH"),
        ("GENLAB_MAX_WIDTH", ({"hidden": 500}, {}), "GENLAB_MAX_WIDTH"),
    ],
)
def test_limits_refuse_a_run(monkeypatch, store, env, values, message):
    monkeypatch.setenv(env, "100")
    with pytest.raises(ValueError, match=message):
        Run("gan", "ring8", values[0], values[1], store=store)


def test_disk_limit_refuses_new_runs_and_deletes_nothing(monkeypatch, store):
    store.home.mkdir(parents=True)
    (store.home / "old").mkdir()
    (store.home / "old" / "blob").write_bytes(b"x" * 300_000)
    monkeypatch.setenv("GENLAB_MAX_DISK_MB", "0.1")
    with pytest.raises(ValueError, match="GENLAB_MAX_DISK_MB"):
        Run("gan", "ring8", {}, {}, store=store)
    assert (store.home / "old" / "blob").exists()


def test_bad_setting_is_named(monkeypatch):
    monkeypatch.setenv("GENLAB_MAX_STEPS", "lots")
    with pytest.raises(ValueError, match="GENLAB_MAX_STEPS='lots'"):
        Limits.from_env()


def test_the_width_limit_follows_the_declaration_not_the_name(monkeypatch):
    """Any parameter declared `width=True` is a width, whatever its name; a count is not."""
    import dataclasses

    from genlab import params

    @dataclasses.dataclass(frozen=True)
    class Config:
        trunk: int = params.param(64, low=1, high=10_000, width=True)
        hidden_layers: int = params.param(64, low=1, high=10_000)

    monkeypatch.setenv("GENLAB_MAX_WIDTH", "32")
    train = params.build(params.TrainConfig, {})
    problems = Limits.from_env().problems(Config(), train)
    assert problems == ["trunk=64 is over this server's limit of 32 (GENLAB_MAX_WIDTH)"]
    with pytest.raises(TypeError, match="a width is an int"):
        params.param(0.5, width=True)
    with pytest.raises(TypeError, match="a learning rate is a float"):
        params.param(1, optimizer="*")
