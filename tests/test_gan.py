"""GAN and conditional GAN: loss equations, packing, regularisers, EMA, conv sizes, learning."""

from __future__ import annotations

import math

import pytest
import torch

from genlab import params
from genlab.data import load_dataset
from genlab.methods.losses import LOSSES, d_loss, g_loss
from genlab.methods.nets import Discriminator, Generator, conv_plan, pack
from genlab.runs.build import build_method


def _build(method: str, dataset: str, seed: int = 0, batch_size: int = 16, **cfg):
    train = params.build(
        params.TrainConfig, {"batch_size": batch_size, "seed": seed, "device": "cpu"}
    )
    ds = load_dataset(dataset)
    return build_method(method, cfg, train, ds.spec), ds, train


def _train(m, ds, train, steps: int) -> None:
    for s in range(steps):
        m.step = s
        x, y = ds.batch(train.batch_size, m.generator)
        m.train_step(x, y)


def _nearest_modes(x: torch.Tensor, spec) -> tuple[torch.Tensor, torch.Tensor]:
    """(nearest mode index, is high-quality: within 3 std of it), VEEGAN's definitions."""
    d = torch.cdist(x, torch.tensor(spec.modes))  # (n, K)
    dmin, k = d.min(1)
    return k, dmin <= 3 * spec.mode_std


# ----- the losses on known D outputs ------------------------------------------------------------
R = torch.tensor([2.0, -1.0, 0.5])  # D's raw outputs on real samples
F = torch.tensor([-3.0, 0.0, 1.5])  # ... and on generated ones


def _sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def _mean(vals) -> float:
    vals = list(vals)
    return sum(vals) / len(vals)


@pytest.mark.parametrize("kind", LOSSES)
def test_losses_match_their_equations(kind):
    r, f = R.tolist(), F.tolist()
    if kind in ("minimax", "nonsaturating"):
        want_d = _mean(-math.log(_sig(a)) for a in r) + _mean(-math.log(1 - _sig(b)) for b in f)
        want_g = (
            _mean(math.log(1 - _sig(b)) for b in f)
            if kind == "minimax"
            else _mean(-math.log(_sig(b)) for b in f)
        )
    elif kind == "hinge":
        want_d = _mean(max(0, 1 - a) for a in r) + _mean(max(0, 1 + b) for b in f)  # 2/3 + 7/6
        want_g = -_mean(f)
    elif kind == "wgan-gp":
        want_d, want_g = _mean(f) - _mean(r), -_mean(f)
    else:  # lsgan
        want_d = 0.5 * _mean((a - 1) ** 2 for a in r) + 0.5 * _mean(b**2 for b in f)
        want_g = 0.5 * _mean((b - 1) ** 2 for b in f)
    assert float(d_loss(kind, R, F)) == pytest.approx(want_d, rel=1e-5)
    assert float(g_loss(kind, F)) == pytest.approx(want_g, rel=1e-5)


def test_hinge_known_value():
    assert float(d_loss("hinge", R, F)) == pytest.approx((0 + 2 + 0.5) / 3 + (0 + 1 + 2.5) / 3)


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown GAN loss"):
        d_loss("nope", R, F)


@pytest.mark.parametrize("kind", LOSSES)
def test_every_loss_trains_with_finite_metrics(kind):
    m, ds, train = _build("gan", "ring8", loss=kind, hidden=32)
    x, _ = ds.batch(train.batch_size, m.generator)
    out = m.train_step(x)
    assert {"loss/d", "loss/g", "d/real", "d/fake"} <= set(out)
    assert all(math.isfinite(float(v)) for v in out.values()), out
    if kind == "wgan-gp":
        assert float(out["loss/gp"]) >= 0
    if kind in ("minimax", "nonsaturating"):  # reported as D's probability
        assert 0 <= float(out["d/real"]) <= 1 and 0 <= float(out["d/fake"]) <= 1


def test_r1_and_gp_are_non_negative_and_reported():
    m, ds, train = _build("gan", "ring8", loss="wgan-gp", r1_gamma=1.0, n_critic=2, hidden=32)
    for _ in range(3):
        x, _ = ds.batch(train.batch_size, m.generator)
        out = m.train_step(x)
        assert float(out["loss/r1"]) >= 0 and float(out["loss/gp"]) >= 0
    m, *_ = _build("gan", "ring8", hidden=32)
    out = m.train_step(ds.batch(16, m.generator)[0])
    assert "loss/r1" not in out and "loss/gp" not in out  # only when used


# ----- packing ----------------------------------------------------------------------------------
def test_pack_puts_consecutive_samples_side_by_side():
    x = torch.arange(16.0).reshape(8, 2)  # (8, 2)
    p = pack(x, 2)
    assert p.shape == (4, 4)
    assert torch.equal(p[1], torch.cat([x[2], x[3]]))
    img = torch.randn(8, 3, 5, 5)
    assert pack(img, 4).shape == (2, 12, 5, 5)
    assert torch.equal(pack(img, 4)[1, 3:6], img[5])
    assert pack(x, 1) is x


@pytest.mark.parametrize("arch,shape", [("mlp", (2,)), ("mlp", (1, 8, 8)), ("conv", (3, 12, 12))])
def test_discriminator_scores_one_value_per_pack(arch, shape):
    D = Discriminator(shape, arch=arch, hidden=16, channels=8, pack=4)
    assert D(pack(torch.randn(8, *shape), 4)).shape == (2,)


def test_batch_must_be_a_multiple_of_pack():
    with pytest.raises(ValueError, match="multiple of pack=3"):
        _build("gan", "ring8", pack=3, batch_size=16)


def test_conv_needs_images():
    with pytest.raises(ValueError, match="arch='conv' needs images"):
        _build("gan", "ring8", arch="conv")


# ----- conv nets for any image size -------------------------------------------------------------
@pytest.mark.parametrize("size", [4, 5, 7, 8, 12, 28, 31, 64, 100, 128])
@pytest.mark.parametrize("c", [1, 3])
def test_conv_nets_fit_any_image_size(size, c):
    start, n_up = conv_plan(size)
    assert 4 <= start <= 8 and size <= start * 2**n_up < 2 * size
    G = Generator(8, (c, size, size), arch="conv", channels=8)
    with torch.no_grad():
        x = G(torch.randn(2, 8))
    assert x.shape == (2, c, size, size) and float(x.abs().max()) <= 1
    D = Discriminator((c, size, size), arch="conv", channels=8, pack=2, norm="spectral")
    assert D(pack(x, 2)).shape == (1,)


def test_conv_gan_trains_on_digits():
    m, ds, train = _build("gan", "digits", arch="conv", channels=8, d_norm="spectral")
    x, _ = ds.batch(train.batch_size, m.generator)
    out = m.train_step(x)
    assert all(math.isfinite(float(v)) for v in out.values())
    assert m.sample(3).shape == (3, 1, 8, 8)


# ----- EMA and live knobs -----------------------------------------------------------------------
def test_ema_generator_differs_from_g_and_is_used_for_sampling():
    m, ds, train = _build("gan", "ring8", ema=0.9, hidden=32)
    _train(m, ds, train, 20)
    diff = [
        float((a - b.detach()).abs().max()) for a, b in zip(m.G_ema.parameters(), m.G.parameters())
    ]
    assert max(diff) > 1e-4, "the EMA copy should lag behind G"
    assert any(k.startswith("G_ema.") for k in m.state_dict())  # checkpointed
    z = torch.randn(5, m.cfg.latent_dim, generator=torch.Generator().manual_seed(3))
    s = m.sample(5, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(s, m.to_data(m.G_ema(z)))
    assert not torch.allclose(s, m.to_data(m.G(z)))


def test_no_ema_copy_when_off():
    m, *_ = _build("gan", "ring8", ema=0.0, hidden=32)
    assert m.G_ema is None and not any(k.startswith("G_ema.") for k in m.state_dict())


def test_live_knobs_reach_the_optimisers_and_the_step():
    m, ds, train = _build("gan", "ring8", hidden=32)
    assert {"lr_g", "lr_d", "loss", "n_critic", "r1_gamma", "gp_lambda"} <= set(m.live_params())
    m.change_live(lr_g=1e-4, lr_d=3e-4, loss="hinge", r1_gamma=0.5)
    assert m.optimizers["g"].param_groups[0]["lr"] == 1e-4
    assert m.optimizers["d"].param_groups[0]["lr"] == 3e-4
    out = m.train_step(ds.batch(16, m.generator)[0])
    assert "loss/r1" in out
    with pytest.raises(ValueError, match="not changeable"):
        m.change_live(pack=4)


# ----- learning ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_gan_covers_all_ring8_modes():
    m, ds, train = _build("gan", "ring8", batch_size=256)
    _train(m, ds, train, 1500)
    k, hq = _nearest_modes(m.sample(2500, generator=torch.Generator().manual_seed(0)), ds.spec)
    covered = set(k[hq].tolist())
    assert covered == set(range(8)), f"modes covered {sorted(covered)}, HQ {hq.float().mean():.2f}"


@pytest.mark.slow
def test_cgan_samples_land_on_the_requested_ring8_mode():
    m, ds, train = _build("cgan", "ring8", batch_size=256)
    _train(m, ds, train, 1000)
    y = m.sample_labels(800)
    k, _ = _nearest_modes(m.sample(800, y, generator=torch.Generator().manual_seed(0)), ds.spec)
    acc = float((k == y).float().mean())
    assert acc >= 0.9, f"only {acc:.2f} of samples nearest the requested mode"


def test_cgan_needs_labels_and_samples_balanced_classes():
    m, ds, train = _build("cgan", "digits", hidden=32)
    with pytest.raises(ValueError, match="needs the labels"):
        m.train_step(ds.batch(16, m.generator)[0])
    assert m.sample(20).shape == (20, 1, 8, 8)


def _aux_logits(m, x):
    """The auxiliary classifier's logits (n, K) for items x, one per sample of each pack."""
    k = m.cfg.pack
    h = m.D.phi(pack(m.to_model(x), k))
    return m.D.aux(h).reshape(len(x), m.spec.n_classes)


def test_cgan_aux_classifier_loss_is_the_cross_entropy_of_each_packed_sample():
    m, ds, _ = _build("cgan", "digits", hidden=32, pack=2)
    x, y = ds.x_train[:8], torch.arange(8)  # labels differ within every pack
    scores, loss = m._aux_loss(m.to_model(x), y)
    assert scores.shape == (4,)
    want = torch.nn.functional.cross_entropy(_aux_logits(m, x), y)
    assert torch.allclose(loss, want)
    # each sample is scored against its own label: swapping the labels within packs changes it
    y_swapped = y.reshape(4, 2).flip(1).reshape(8)
    assert not torch.allclose(m._aux_loss(m.to_model(x), y_swapped)[1], loss)


def test_cgan_aux_weight_adds_the_terms_and_zero_turns_them_off():
    m, ds, train = _build("cgan", "digits", hidden=32)
    x, y = ds.batch(16, m.generator)
    out = m.train_step(x, y)
    assert {"loss/aux_d", "loss/aux_g"} <= set(out)
    m.change_live(aux_weight=0.0)
    before = m.D.aux.weight.detach().clone()
    out = m.train_step(x, y)
    assert not {"loss/aux_d", "loss/aux_g"} & set(out)
    assert torch.equal(before, m.D.aux.weight)  # no gradient reaches the head


def test_cgan_aux_classifier_learns_the_real_classes():
    """300 steps on digits (batch 64, width 64, aux_weight 1): D's auxiliary head classifies
    held-out real digits (measured 0.856; 0.783 at the default weight 0.3; chance 0.10)."""
    m, ds, train = _build("cgan", "digits", batch_size=64, hidden=64, aux_weight=1.0)
    _train(m, ds, train, 300)
    with torch.no_grad():
        acc = float((_aux_logits(m, ds.x_val).argmax(1) == ds.y_val).float().mean())
    assert acc > 0.8, acc


def test_cgan_checkpoint_from_before_the_aux_head_resumes():
    m, ds, train = _build("cgan", "digits", hidden=32)
    _train(m, ds, train, 3)
    tensors, meta = m.checkpoint()
    n_old = len(list(m.D.parameters())) - 2  # the head's weight and bias came last
    head = ("model/D.aux.", f"opt/d/{n_old}/", f"opt/d/{n_old + 1}/")
    old = {k: v for k, v in tensors.items() if not k.startswith(head)}
    meta["optimizers"]["d"]["param_groups"][0]["params"] = list(range(n_old))
    meta["optimizers"]["d"]["state"] = {
        i: s for i, s in meta["optimizers"]["d"]["state"].items() if int(i) < n_old
    }
    fresh, _, _ = _build("cgan", "digits", hidden=32)
    fresh.restore(old, meta)
    g_old, g_new = m.G.state_dict(), fresh.G.state_dict()
    assert all(torch.equal(g_old[k], g_new[k]) for k in g_old)
    x, y = ds.batch(16, fresh.generator)
    out = fresh.train_step(x, y)  # the optimiser takes the head's parameters too
    assert math.isfinite(float(out["loss/aux_d"]))
    # only the declared added state may be missing: without a weight of D's body it fails
    body = next(k for k in tensors if k.startswith("model/D.") and ".aux." not in k)
    broken = {k: v for k, v in tensors.items() if k != body}
    with pytest.raises(ValueError, match="does not fit this model"):
        _build("cgan", "digits", hidden=32)[0].restore(broken, meta)


def test_gans_train_10000_steps_on_images_and_use_a_2d_latent_and_drs_on_points():
    from genlab.methods.cgan import CGAN
    from genlab.methods.gan import GAN
    from genlab.runs.build import data_defaults

    for cls in (GAN, CGAN):
        assert cls.defaults_for(load_dataset("digits").spec) == {"steps": 10000}
        # the step cap follows the clusters measured on the data (8 on ring8, more on grid25)
        assert data_defaults(cls.name, load_dataset("ring8").spec) == (
            {"latent_dim": 2, "sampler": "drs"},
            {"steps": 5000},
        )
        assert data_defaults(cls.name, load_dataset("grid25").spec)[1] == {"steps": 20000}
