"""ddpm and flow: the schedules end at noise, every sampler returns the right distribution from a
perfect network (Gaussian data, closed-form noise predictor / velocity), guidance mixes as its
equation, the per-level losses and the sampling cost, and learning tests on ring8."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from genlab import params
from genlab.data import load_dataset
from genlab.data.base import DataSpec
from genlab.methods.ddpm import beta_schedule
from genlab.methods.denoise import binned_losses
from genlab.methods.flow import ot_pairing
from genlab.metrics import evaluate
from genlab.runs.build import build_method, method_config, train_config

MU, S = torch.tensor([1.5, -0.5]), torch.tensor([0.5, 1.0])  # Gaussian data, per dimension
GAUSS = DataSpec(name="gauss", kind="points", shape=(2,), n_train=100, n_val=10)


def _build(method, values=None, spec=GAUSS, seed=0):
    train = params.build(params.TrainConfig, {"batch_size": 64, "seed": seed, "device": "cpu"})
    return build_method(method, {"hidden": 32, **(values or {})}, train, spec)


class PerfectEps(nn.Module):
    """E[ε | x_t] for x_0 ~ N(MU, S²): √(1−ᾱ)(x − √ᾱ MU) / (ᾱ S² + 1 − ᾱ)."""

    def __init__(self, alpha_bar, T):
        super().__init__()
        self.alpha_bar, self.T = alpha_bar, T

    def forward(self, x, t, y=None):
        a = self.alpha_bar[(t * self.T).round().long()][:, None]  # (B, 1)
        return (1 - a).sqrt() * (x - a.sqrt() * MU) / (a * S**2 + 1 - a)


class PerfectVelocity(nn.Module):
    """E[x_1 − x_0 | x_t] for x_0 ~ N(0, I), x_1 ~ N(MU, S²) independent, x_t = (1−t)x_0 + t x_1:
    MU + (t S² − (1 − t)) / ((1 − t)² + t² S²) · (x − t MU)."""

    def forward(self, x, t, y=None):
        t = t[:, None]
        return MU + (t * S**2 - (1 - t)) / ((1 - t) ** 2 + t**2 * S**2) * (x - t * MU)


def _moments(m, n=20_000):
    x = m.sample(n, generator=torch.Generator().manual_seed(0))
    return x.mean(0), x.std(0)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("T", [1000, 100])
def test_forward_process_ends_at_noise(schedule, T):
    alpha_bar_T = float(torch.prod(1 - beta_schedule(schedule, T)))
    assert alpha_bar_T < 1e-3, alpha_bar_T  # sampling from N(0, I) starts where training ended


@pytest.mark.parametrize("sampler", ["ancestral", "ddim", "dpm2m"])
def test_ddpm_samplers_with_a_perfect_noise_predictor_return_the_data_distribution(sampler):
    m = _build("ddpm", {"sampler": sampler, "sample_steps": 1000})
    m.net_ema = PerfectEps(m.alpha_bar, m.cfg.timesteps)
    mean, std = _moments(m)
    assert torch.allclose(mean, MU, atol=0.03), mean
    assert torch.allclose(std, S, rtol=0.02), std


def ddim_std(alpha_bar, taus):
    """Closed form of DDIM with the perfect predictor on N(MU, S²) data: each step is linear,
    x_prev − √ᾱ_p MU = c (x_t − √ᾱ MU) with c = (√(ᾱ_p ᾱ) S² + √((1 − ᾱ_p)(1 − ᾱ))) / v_t,
    v_t = ᾱ S² + 1 − ᾱ; from x_T ~ N(0, I) the final std is the product of the c's."""
    std = torch.ones(2, dtype=torch.float64)
    ab = alpha_bar.double()
    for t, prev in zip(taus, [*taus[1:], 0]):
        a, ap = ab[t], ab[prev]
        v = a * S.double() ** 2 + 1 - a
        std = std * ((ap * a).sqrt() * S.double() ** 2 + ((1 - ap) * (1 - a)).sqrt()) / v
    return std.float()


@pytest.mark.parametrize("steps", [50, 10])
def test_few_step_ddim_matches_its_closed_form(steps):
    # with few steps DDIM shrinks the spread a little (3-5% at 50 steps here): exactly as much
    # as its linear update predicts, so the sampler's arithmetic is right, step by step
    m = _build("ddpm", {"sampler": "ddim", "sample_steps": steps})
    m.net_ema = PerfectEps(m.alpha_bar, m.cfg.timesteps)
    mean, std = _moments(m)
    expected = ddim_std(m.alpha_bar, m.steps_used().tolist())
    assert float((expected - S).abs().max()) > 0.01  # the test sees a real discretisation error
    assert torch.allclose(mean, MU, atol=0.03), mean
    assert torch.allclose(std, expected, rtol=0.015), (std, expected)


@pytest.mark.parametrize("steps", [1, 2, 20, 50, 999, 1000])
def test_ancestral_and_ddim_steps_crowd_near_the_data_and_are_all_taken_at_t(steps):
    m = _build("ddpm", {"sampler": "ancestral", "sample_steps": steps})
    T = m.cfg.timesteps
    taus = m.steps_used()
    assert len(taus) == steps and int(taus[0]) == T
    assert bool((taus[:-1] > taus[1:]).all())  # distinct, from T down
    if steps > 1:
        assert int(taus[-1]) == 1
    if steps == T:
        assert taus.tolist() == list(range(T, 0, -1))  # the full sampler: every step
    if 2 < steps < T // 2:
        gaps = taus[:-1] - taus[1:]  # quadratic: wide steps near noise, narrow near the data
        assert bool((gaps[:-1] >= gaps[1:] - 1).all())  # falling, but for rounding
        assert int(gaps[0]) > 5 * int(gaps[-1])


def test_second_order_dpm_solver_beats_ddim_at_few_steps():
    """DPM-Solver++(2M) at 10 network evaluations lands within 5 % of the data's std, where
    DDIM's first order is off by about a quarter (its closed form above), from the same perfect
    predictor."""
    errors = {}
    for sampler in ("ddim", "dpm2m"):
        m = _build("ddpm", {"sampler": sampler, "sample_steps": 10})
        m.net_ema = PerfectEps(m.alpha_bar, m.cfg.timesteps)
        mean, std = _moments(m)
        assert torch.allclose(mean, MU, atol=0.03), (sampler, mean)
        errors[sampler] = float(((std - S) / S).abs().max())
        assert m.network_evaluations() == 10
    assert errors["dpm2m"] < 0.05 and errors["dpm2m"] < errors["ddim"] / 3, errors


@pytest.mark.parametrize("solver,steps", [("euler", 200), ("midpoint", 20), ("heun", 20)])
def test_flow_solvers_with_the_true_velocity_return_the_data_distribution(solver, steps):
    m = _build("flow", {"solver": solver, "sample_steps": steps})
    m.net_ema = PerfectVelocity()
    mean, std = _moments(m)
    assert torch.allclose(mean, MU, atol=0.03), mean
    assert torch.allclose(std, S, rtol=0.02), std


def test_few_euler_steps_are_measurably_worse_than_heun():
    # the known-answer tests above can fail: 3 Euler steps miss the std that 3 Heun steps get
    # much closer to
    errs = {}
    for solver in ("euler", "heun"):
        m = _build("flow", {"solver": solver, "sample_steps": 3})
        m.net_ema = PerfectVelocity()
        errs[solver] = float((_moments(m)[1] - S).abs().max())
    assert errs["heun"] < errs["euler"] / 2, errs


def test_sampling_cost_counts_network_evaluations():
    assert _build("ddpm", {"sample_steps": 1000}).network_evaluations() == 1000
    assert _build("ddpm", {"sampler": "ddim", "sample_steps": 20}).network_evaluations() == 20
    assert _build("flow", {"solver": "heun", "sample_steps": 20}).network_evaluations() == 40
    spec = load_dataset("ring8").spec  # labelled: guidance evaluates the net twice per step
    guided = _build("flow", {"cond": "class", "sample_steps": 10}, spec=spec)
    assert guided.network_evaluations() == 20
    guided.change_live(guidance=0.0)
    assert guided.network_evaluations() == 10


def test_guidance_mixes_conditional_and_unconditional_predictions():
    spec = load_dataset("ring8").spec
    m = _build("flow", {"cond": "class", "guidance": 2.0}, spec=spec)

    class ByLabel(nn.Module):  # predicts its label index everywhere; "no label" is index 8
        def forward(self, x, t, y):
            return y[:, None].float().expand_as(x)

    y = torch.tensor([3, 5])
    out = m.predict(torch.zeros(2, 2), torch.zeros(2), y, net=ByLabel())
    # Ho & Salimans eq. 6: (1 + w)·c − w·∅ = 3·y − 2·8
    assert torch.equal(out, (3 * y - 16)[:, None].float().expand(2, 2))


def test_cond_class_needs_labels():
    with pytest.raises(ValueError, match="needs a dataset with labels"):
        _build("ddpm", {"cond": "class"}, spec=load_dataset("swissroll").spec)


def test_ot_pairing_undoes_a_permutation():
    x0 = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    perm = torch.randperm(64, generator=torch.Generator().manual_seed(1))
    x1 = x0[perm] + 1e-3  # the cheapest pairing sends each x0 to its own shifted copy
    p = ot_pairing(x0, x1)
    assert torch.equal(perm[p], torch.arange(64))


def test_binned_losses_average_each_quarter():
    loss = torch.tensor([1.0, 3.0, 10.0, 20.0, 7.0])
    level = torch.tensor([0.1, 0.2, 0.3, 0.6, 0.99])
    out = binned_losses(loss, level)
    assert list(out) == ["loss/t0-0.25", "loss/t0.25-0.5", "loss/t0.5-0.75", "loss/t0.75-1"]
    assert [float(v) for v in out.values()] == [2.0, 10.0, 20.0, 7.0]


@pytest.mark.parametrize("method", ["ddpm", "flow"])
def test_train_step_logs_loss_per_noise_level(method):
    m = _build(method)
    ds = load_dataset("ring8")
    x, y = ds.batch(64, m.generator)
    out = m.train_step(x, y)
    bins = [k for k in out if k.startswith("loss/t")]
    assert len(bins) == 4 and all(math.isfinite(float(out[k])) for k in bins)


@pytest.mark.parametrize("method", ["ddpm", "flow"])
def test_inside_views_shapes(method):
    m = _build(method, {"sample_steps": 10})
    levels, states = m.trajectory(5, generator=torch.Generator().manual_seed(0))
    assert levels[0] == 1.0 and levels[-1] == 0.0 and len(levels) == len(states) == 11
    assert states.shape == (11, 5, 2)
    x = torch.randn(7, 2)
    assert m.field(x, 0.5).shape == (7, 2)
    # the forward process at level 0 is the data itself, at level 1 pure noise
    assert torch.allclose(m.noised(x, 0.0), x, atol=1e-5)
    far = m.noised(torch.full((4000, 2), 5.0), 1.0, generator=torch.Generator().manual_seed(0))
    assert float(far.mean().abs()) < 0.1 and abs(float(far.std()) - 1) < 0.05


def _train_ring8(method, values, steps):
    ds = load_dataset("ring8")
    cfg = method_config(method, values, ds.spec)
    tr = train_config(method, {"device": "cpu", "seed": 0, "batch_size": 128}, ds.spec)
    m = build_method(method, cfg, tr, ds.spec)
    for step in range(steps):
        m.step = step
        x, y = ds.batch(tr.batch_size, m.generator)
        m.train_step(x, y)
    return m, ds


@pytest.mark.slow
@pytest.mark.parametrize(
    "method,values", [("ddpm", {"sampler": "ddim", "sample_steps": 50}), ("flow", {})]
)
def test_learns_all_eight_ring_modes(method, values):
    m, ds = _train_ring8(method, values, 1500)
    out = evaluate(m, ds, n=1000)
    assert out["eval/modes"] == 8, out
    assert out["eval/hq"] > 0.5, out  # most samples on a mode already (full defaults: > 0.9)


@pytest.mark.slow
def test_class_guidance_puts_samples_on_their_mode():
    m, ds = _train_ring8("flow", {"cond": "class", "sample_steps": 20}, 1500)
    y = torch.arange(800) % 8
    x = m.sample(800, y, generator=torch.Generator().manual_seed(0))
    modes = torch.tensor(ds.spec.modes)  # (8, 2)
    nearest = torch.cdist(x, modes).argmin(1)
    assert float((nearest == y).float().mean()) > 0.95


def test_flow_on_images_defaults_to_a_cheaper_solver_that_the_user_can_override():
    # each network evaluation is a U-Net: 10 midpoint steps (20 evaluations) instead of 100 Euler
    spec = load_dataset("digits").spec
    cfg = method_config("flow", {}, spec)
    assert (cfg.solver, cfg.sample_steps) == ("midpoint", 10)
    assert method_config("flow", {"solver": "euler"}, spec).solver == "euler"
    points = method_config("flow", {}, load_dataset("ring8").spec)
    assert (points.solver, points.sample_steps) == ("euler", 100)
