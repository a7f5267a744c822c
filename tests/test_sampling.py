"""genlab.runs.sampling: saved runs back into methods, and the duck-typed latent tools."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
import torch

from genlab.data import load_dataset
from genlab.methods.base import Method
from genlab.params import TrainConfig, param
from genlab.runs import Run, RunDir, RunStore, sampling
from genlab.runs.build import build_method

TRAIN = {"steps": 20, "batch_size": 32, "device": "cpu", "log_every": 5, "sample_every": 10}


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    """A real tiny finished GAN run on the ring."""
    run = Run(
        "gan",
        "ring8",
        # direct sampling: these tests compare sample(seed) with G(z of that seed); drs would
        # pick other z (the rejection sampler), which is not what the latent tools show
        {"hidden": 32, "latent_dim": 8, "sampler": "direct"},
        TRAIN,
        store=RunStore(tmp_path_factory.mktemp("runs")),
    ).start()
    run.join(120)
    assert run.status == "done", run.snapshot().error
    return run


def saved_run(store: RunStore, method: str, dataset: str, cfg: dict) -> tuple:
    """A run folder with an untrained model's checkpoint: enough for shapes and contracts."""
    run = Run(method, dataset, cfg, {"steps": 1, "device": "cpu"}, store=store)
    m = build_method(method, run.cfg, run.train, run.data.spec)
    tensors, meta = m.checkpoint()
    run.dir.save_checkpoint(tensors, dict(meta, run_step=0))
    return run.dir.path, m


def test_load_run_gives_the_trained_model(gan_run):
    lo = sampling.load_run(gan_run.dir.path)
    assert lo.step == 20 and lo.spec.name == "ring8" and not lo.method.training
    trained = gan_run.method.eval()
    assert torch.equal(sampling.sample(lo.method, 64, 5), sampling.sample(trained, 64, 5))
    assert not torch.equal(sampling.sample(lo.method, 64, 5), sampling.sample(lo.method, 64, 6))


def test_load_run_without_checkpoint_is_a_clear_error(tmp_path):
    run = Run("gan", "ring8", {}, {"steps": 1}, store=RunStore(tmp_path))
    with pytest.raises(ValueError, match="no checkpoint"):
        sampling.load_run(run.dir.path)
    assert sampling.checkpoint_stamp(run.dir.path) == 0


def test_checkpoint_stamp_changes_with_a_new_checkpoint(tmp_path):
    path, m = saved_run(RunStore(tmp_path), "gan", "ring8", {"hidden": 16})
    before = sampling.checkpoint_stamp(path)
    time.sleep(0.05)
    tensors, meta = m.checkpoint()
    RunDir(path).save_checkpoint(tensors, meta)  # a new file (atomic rename): a new mtime
    assert sampling.checkpoint_stamp(path) > before


def test_decode_latent_matches_sample_for_gan_vae_and_cgan(gan_run, tmp_path):
    store = RunStore(tmp_path)
    models = [
        sampling.load_run(gan_run.dir.path).method,
        sampling.load_run(saved_run(store, "vae", "digits", {"hidden": 32})[0]).method,
        sampling.load_run(
            saved_run(store, "cgan", "ring8", {"hidden": 32, "sampler": "direct"})[0]
        ).method,
    ]
    for m in models:
        z = sampling.latent_noise(m, seed=11, n=6)  # (6, latent_dim)
        assert z.shape == (6, sampling.latent_dim(m))
        y = m.sample_labels(6) if m.conditional else None
        # the method's own sampler draws the same z from the same seed: same samples
        want = m.sample(6, y, generator=sampling.generator(11))
        assert torch.allclose(sampling.decode_latent(m, z, y), want, atol=1e-6), m.name


def test_only_methods_that_declare_a_latent_space_have_one():
    """Declared by the method (latent_size, decode_latent), never found by probing: the recurrent
    GAN's noise is per time step, the LSTM and the denoisers have no code to decode."""
    from genlab.methods import METHODS

    declared = {n for n, c in METHODS.items() if c.latent_size is not Method.latent_size}
    assert declared == {"gan", "cgan", "vae"}
    train = TrainConfig(device="cpu")
    m = build_method("lstm", {"hidden": 16, "emb_dim": 8}, train, load_dataset("names").spec)
    assert sampling.latent_dim(m) is None
    with pytest.raises(ValueError, match="no latent space"):
        sampling.decode_latent(m, torch.zeros(1, 4))


def test_interpolation_ends_at_the_two_seeds(gan_run):
    m = sampling.load_run(gan_run.dir.path).method
    for path in ("spherical", "linear"):
        x = sampling.interpolate(m, 3, 4, k=7, path=path)
        assert x.shape == (7, 2)
        ends = sampling.decode_latent(
            m, torch.cat([sampling.latent_noise(m, 3), sampling.latent_noise(m, 4)])
        )
        assert torch.allclose(x[[0, -1]], ends, atol=1e-5)
    with pytest.raises(ValueError, match="at least 2"):
        sampling.interpolate(m, 0, 1, k=1)
    with pytest.raises(ValueError, match="path"):
        sampling.interpolate(m, 0, 1, path="zigzag")


def test_slerp_keeps_the_norm_that_linear_loses():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(64, generator=g), torch.randn(64, generator=g)
    t = torch.linspace(0, 1, 9)
    z = sampling.slerp(a, b, t)
    assert torch.allclose(z[0], a, atol=1e-5) and torch.allclose(z[-1], b, atol=1e-5)
    mid_lin = (0.5 * a + 0.5 * b).norm()
    assert z[4].norm() > 0.95 * min(a.norm(), b.norm()) > mid_lin  # linear's middle shrinks


def test_latent_map_grid_reads_like_a_plot(tmp_path):
    store = RunStore(tmp_path)
    m = sampling.load_run(
        saved_run(store, "vae", "digits", {"hidden": 32, "latent_dim": 2})[0]
    ).method
    z, x = sampling.latent_map(m, n=5, lim=2.0)
    assert z.shape == (25, 2) and x.shape == (25, 1, 8, 8)
    assert z[0].tolist() == [-2.0, 2.0] and z[4].tolist() == [2.0, 2.0]  # top row: z2 = +2
    assert z[-1].tolist() == [2.0, -2.0]
    assert torch.allclose(x, sampling.decode_latent(m, z)) and 0 <= x.min() and x.max() <= 1
    m16 = sampling.load_run(saved_run(store, "vae", "ring8", {"hidden": 16})[0]).method
    with pytest.raises(ValueError, match="latent_dim = 2"):
        sampling.latent_map(m16)


def test_class_grid_has_one_row_per_class(tmp_path):
    m = sampling.load_run(saved_run(RunStore(tmp_path), "cgan", "digits", {"hidden": 32})[0]).method
    x, nrow = sampling.class_grid(m, per_class=3, seed=0)
    assert nrow == 3 and x.shape == (10 * 3, 1, 8, 8)
    # same noise row by row, different label: the label changes the images
    assert not torch.allclose(x[0:3], x[3:6])


def test_text_model_has_options_but_no_latent(tmp_path):
    m = sampling.load_run(saved_run(RunStore(tmp_path), "lstm", "names", {"hidden": 16})[0]).method
    assert sampling.latent_dim(m) is None
    assert sampling.sample_options(m) == ["temperature", "top_k", "prefix"]
    with pytest.raises(ValueError, match="no latent space"):
        sampling.interpolate(m, 0, 1)
    lines = sampling.to_text(m, sampling.sample(m, 5, 0, prefix="ma", top_k=3))
    assert len(lines) == 5 and all(s.startswith("ma") for s in lines)
    greedy = sampling.to_text(m, sampling.sample(m, 3, 0, temperature=0.0))
    assert len(set(greedy)) == 1  # temperature 0 is deterministic: argmax at every step


@dataclass(frozen=True)
class _DecCfg:
    latent_dim: int = param(3, low=1, high=8)


class _Decoder(Method):
    """Any method that declares a latent space gets the latent tools: nothing branches on method
    names or probes attributes."""

    name, label, supports, Config = "toy-decoder", "Toy", ("points",), _DecCfg

    def __init__(self, cfg, spec):
        super().__init__(cfg, spec)
        self.w = torch.nn.Parameter(torch.ones(3, 2))

    def latent_size(self):
        return self.cfg.latent_dim

    def decode_latent(self, z, y=None):
        return z @ self.w  # (n, 2)


def test_latent_tools_work_for_any_method_that_declares_a_latent_space():
    m = _Decoder(_DecCfg(), load_dataset("ring8").spec)
    assert sampling.latent_dim(m) == 3
    z = sampling.latent_noise(m, 0, 2)
    assert torch.allclose(sampling.decode_latent(m, z), z.sum(1, keepdim=True).expand(2, 2))
    assert sampling.interpolate(m, 0, 1, k=4).shape == (4, 2)
