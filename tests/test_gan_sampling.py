"""GAN sampling options (Discriminator Rejection Sampling) and data-aware defaults."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from genlab import params
from genlab.data import load_dataset
from genlab.data.base import DataSpec
from genlab.methods import method_class
from genlab.runs.build import build_method, data_defaults, method_config, train_config


def _build(method: str, dataset: str, seed: int = 0, batch_size: int = 64, **cfg):
    ds = load_dataset(dataset)
    train = params.build(
        params.TrainConfig, {"batch_size": batch_size, "seed": seed, "device": "cpu"}
    )
    return build_method(method, cfg, train, ds.spec), ds, train


def _hq(x: torch.Tensor, spec) -> float:
    """VEEGAN's high-quality share: within 3 std of the nearest mode."""
    d = torch.cdist(x.double(), torch.tensor(spec.modes).double()).min(1).values
    return float((d <= 3 * spec.mode_std).double().mean())


class ModeD(nn.Module):
    """A known 'discriminator': logit high near the ring's modes, low between them (packed
    input: the sum over the pack's points, as the log ratio of a product density)."""

    def __init__(self, spec, pack: int):
        super().__init__()
        self.modes = torch.tensor(spec.modes)
        self.spec, self.pack = spec, pack

    def forward(self, x, c=None):
        pts = x.reshape(len(x) * self.pack, 2) * self.spec.scale + self.spec.loc  # (B, 2) data
        d = torch.cdist(pts, self.modes).min(1).values  # (B,)
        logit = -((d / 0.02) ** 2)  # (B,)
        return logit.reshape(len(x), self.pack).sum(1)  # (B/pack,)


def test_drs_shapes_determinism_and_conditional_labels():
    m, ds, _ = _build("gan", "ring8", sampler="drs", pack=2)
    m.eval()
    for n in (1, 7, 300):  # odd n: padded to whole packs, then cut
        x = m.sample(n, generator=torch.Generator().manual_seed(3))
        assert x.shape == (n, 2) and torch.isfinite(x).all()
    a = m.sample(64, generator=torch.Generator().manual_seed(5))
    b = m.sample(64, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    # conditional: each slot keeps its requested label (the ring's modes are its classes)
    c, _, _ = _build("cgan", "ring8", sampler="drs", pack=2)
    c.eval()
    y = torch.tensor([3, 1, 4])
    gen = torch.Generator().manual_seed(0)
    assert c.sample(3, y, generator=gen).shape == (3, 2)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        picked = c._drs(c.G, 3, y, gen)  # (3, 2) model space
    assert torch.equal(
        c.sample(3, y, generator=torch.Generator().manual_seed(0)), c.to_data(picked)
    )


class RingG(nn.Module):
    """A known 'generator': points on the unit circle at uniform angles, so most of them lie
    between the ring's modes (direct HQ = 8 * 6 std / (2 pi) ~ 8%)."""

    def __init__(self, spec):
        super().__init__()
        self.spec = spec

    def forward(self, z, c=None):
        theta = 2 * torch.pi * torch.special.ndtr(z[:, 0])  # (B,) uniform angles
        x = torch.stack([theta.cos(), theta.sin()], 1)  # (B, 2) data units
        return (x - self.spec.loc) / self.spec.scale  # model space


def test_drs_keeps_the_samples_a_known_discriminator_prefers():
    m, ds, _ = _build("gan", "ring8", pack=1, latent_dim=2, drs_tries=64)
    m.eval()
    m.G, m.D = RingG(ds.spec), ModeD(ds.spec, pack=1)
    direct = _hq(m.sample(1000, generator=torch.Generator().manual_seed(0)), ds.spec)
    m.cfg = dataclasses.replace(m.cfg, sampler="drs")
    drs = _hq(m.sample(1000, generator=torch.Generator().manual_seed(0)), ds.spec)
    assert direct < 0.15 and drs > 0.8, (direct, drs)


class HalfG(nn.Module):
    """A fixed 'generator': half its draws on the ring's modes (the data's own law), half in a
    blob at the centre where the data has no mass (direct HQ ~ 0.5)."""

    def __init__(self, spec):
        super().__init__()
        self.spec, self.modes = spec, torch.tensor(spec.modes)

    def forward(self, z, c=None):
        k = (torch.special.ndtr(z[:, 0]) * 8).long().clamp(max=7)  # (B,) a mode per draw
        on = self.modes[k] + self.spec.mode_std * z[:, 1:3]  # (B, 2)
        off = 0.1 * z[:, 1:3]  # (B, 2) the centre blob
        x = torch.where((z[:, 3] > 0)[:, None], on, off)  # (B, 2) data units
        return (x - self.spec.loc) / self.spec.scale  # model space


def test_drs_with_a_trained_discriminator_raises_hq():
    # a tiny run: D trained by the GAN's own train_step (packing 2: D scores pairs) against a
    # fixed generator with half its mass off the data; DRS must drop that half
    m, ds, train = _build("gan", "ring8", batch_size=128, latent_dim=4, hidden=64)
    m.G = HalfG(ds.spec)
    for s in range(200):
        m.step = s
        x, _ = ds.batch(train.batch_size, m.generator)
        m.train_step(x)
    m.eval()
    direct = _hq(m.sample(1000, generator=torch.Generator().manual_seed(0)), ds.spec)
    m.cfg = dataclasses.replace(m.cfg, sampler="drs")
    drs = _hq(m.sample(1000, generator=torch.Generator().manual_seed(0)), ds.spec)
    assert 0.4 < direct < 0.6 and drs > 0.9, (direct, drs)


@pytest.mark.parametrize("loss", ["hinge", "wgan-gp", "lsgan"])
def test_drs_ranks_by_the_raw_score_of_other_losses(loss):
    m, _, _ = _build("gan", "ring8", sampler="drs", loss=loss)
    m.eval()
    x = m.sample(50, generator=torch.Generator().manual_seed(0))
    assert x.shape == (50, 2) and torch.isfinite(x).all()


def test_data_aware_defaults_apply_only_where_unset():
    ring = load_dataset("ring8").spec
    images = DataSpec(name="tiny", kind="images", shape=(1, 8, 8), n_train=10, n_val=2)
    sugg_m, sugg_t = data_defaults("gan", ring)
    assert sugg_m and set(sugg_m) <= {p.name for p in params.describe(method_class("gan").Config)}
    cfg = method_config("gan", {}, ring)
    for k, v in sugg_m.items():
        assert getattr(cfg, k) == v
    assert method_config("gan", {}, images) == method_config("gan", {})  # images: the declared
    assert method_config("gan", {"latent_dim": 9}, ring).latent_dim == 9  # the user's value wins
    for k, v in sugg_t.items():
        assert getattr(train_config("gan", {}, ring), k) == v
    assert data_defaults("gan", None) == ({}, {})


def test_data_aware_defaults_are_computed_once_per_method_and_data(monkeypatch):
    """A render of the Train page reads them for the configs, the reasons shown and the query
    string; a run's set-up for both configs: one defaults_for call for all of them."""
    from genlab.runs import build

    spec = dataclasses.replace(load_dataset("ring8").spec, description="a copy not seen before")
    cls, calls = method_class("gan"), []
    real = cls.defaults_for.__func__
    counted = classmethod(lambda c, s: calls.append(s) or real(c, s))
    monkeypatch.setattr(cls, "defaults_for", counted)
    build._suggested_once.cache_clear()
    first = (method_config("gan", {}, spec), train_config("gan", {}, spec))
    build.default_choices("gan", spec)
    data_defaults("gan", spec)
    assert len(calls) == 1 and calls[0] is spec
    assert (method_config("gan", {}, spec), train_config("gan", {}, spec)) == first
    other = dataclasses.replace(spec, clusters=25)  # other data: its own defaults
    assert train_config("gan", {}, other).steps == 20000 != first[1].steps and len(calls) == 2
    build._suggested_once.cache_clear()


def test_gan_on_points_gets_a_2d_latent_drs_and_more_steps_for_more_modes(tmp_path):
    from genlab.runs import Run, RunStore

    ring, grid = load_dataset("ring8").spec, load_dataset("grid25").spec
    # the step cap follows the clusters measured on the data (ring8: 8, the 5,000-step default)
    assert data_defaults("gan", ring) == ({"latent_dim": 2, "sampler": "drs"}, {"steps": 5000})
    assert train_config("gan", {}, grid).steps == 20000
    assert train_config("gan", {}, ring).steps == train_config("gan", {}).steps
    assert train_config("gan", {"steps": 300}, grid).steps == 300
    # Run applies them where the caller set nothing, and saves the full config it used
    run = Run("gan", "ring8", {"hidden": 32}, {"steps": 10}, store=RunStore(tmp_path))
    assert (run.cfg.latent_dim, run.cfg.sampler, run.cfg.hidden) == (2, "drs", 32)
    assert run.info()["method_config"]["latent_dim"] == 2
    again = Run(
        "gan",
        "ring8",
        run.info()["method_config"] | {"latent_dim": 5},
        {"steps": 10},
        store=RunStore(tmp_path),
    )
    assert again.cfg.latent_dim == 5


def test_train_page_widgets_follow_the_data_defaults_unless_set(tmp_path, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from genlab.ui import widgets

    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "runs"))
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=120)
    at.query_params["method"], at.query_params["data"] = "gan", "ring8"
    at.run()
    latent = widgets.wkey(widgets.method_scope("gan"), "latent_dim")
    sampler = widgets.wkey(widgets.method_scope("gan"), "sampler")
    assert not at.exception
    assert at.number_input(key=latent).value == 2 and at.selectbox(key=sampler).value == "drs"
    at.selectbox(key="w.data").set_value("digits").run()  # images: the declared defaults
    assert at.number_input(key=latent).value == 16 and at.selectbox(key=sampler).value == "direct"
    at.selectbox(key="w.data").set_value("moons").run()  # points again
    assert at.number_input(key=latent).value == 2
    at.number_input(key=latent).set_value(5).run()  # the user's choice survives a data switch
    at.selectbox(key="w.data").set_value("ring8").run()
    assert at.number_input(key=latent).value == 5 and at.selectbox(key=sampler).value == "drs"
    assert at.query_params["latent_dim"] in (["5"], "5")  # differs from the data's default
    assert "sampler" not in at.query_params  # equal to it
