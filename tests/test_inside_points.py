"""The live view's 2D views (issue #6): headless computations with known answers, the run's
phases / slow motion / weight copies, the knob marks, the page under AppTest, and a real browser
that toggles a layer and changes a live knob.
"""

from __future__ import annotations

import os

# before torch loads (see genlab/ui/__init__.py): AppTest runs scripts in exited threads too
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import time  # noqa: E402
from pathlib import Path

import numpy as np
import pytest
import torch
from appserver import CHROMIUM, CHROMIUM_ARGS, PLOTS_EXPR, app_server  # tests/appserver.py
from charts import charts as all_charts  # tests/charts.py
from streamlit.testing.v1 import AppTest
from torch import nn

from genlab import params
from genlab.data import load_dataset
from genlab.figures import curves
from genlab.figures import inside as viz_inside
from genlab.methods import METHODS
from genlab.runs import REGISTRY, Run
from genlab.runs.build import build_method, train_config
from genlab.runs.sampling import decode_latent
from genlab.ui import explain
from genlab.views import model as view_model
from genlab.views import points as ip

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TINY = {"hidden": 16, "layers": 1}
QUICK = {
    "log_every": 5,
    "sample_every": 10,
    "eval_every": 0,
    "checkpoint_every": 0,
    "batch_size": 32,
}


def wait_for(pred, timeout: float = 60.0, every: float = 0.05) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(every)
    return False


@pytest.fixture(scope="module")
def ring8():
    return load_dataset("ring8")


def method(name: str, spec, **values):
    train = train_config(name, {"batch_size": 32})
    return build_method(name, {**TINY, **values}, train, spec).eval()


class HandD(nn.Module):
    """A discriminator with a known output: w . (the pack's points, side by side) in model
    space, the same for a conditional D (labels ignored)."""

    def __init__(self, w: list[float]):
        super().__init__()
        self.w = torch.tensor(w)

    def forward(self, x, c=None):
        return x.flatten(1) @ self.w  # (B,)


class BowlD(nn.Module):
    """D(x) = -|x|^2 summed over the pack (model space): highest at the data's centre."""

    def forward(self, x, c=None):
        return -(x.flatten(1) ** 2).sum(1)  # (B,)


class SliceG(nn.Module):
    """G(z) = the first two noise dimensions (model space): the manifold is the noise grid."""

    def forward(self, z, c=None):
        return z[:, :2]


# ----- headless: known answers -----------------------------------------------------------------
def test_critic_map_of_a_known_discriminator(ring8):
    spec = ring8.spec
    for pack in (1, 2):
        m = method("gan", spec, loss="hinge", pack=pack)
        m.D = HandD([1.0, 0.0] * pack)  # D = sum over the pack of the x coordinate
        bounds = (-2.0, 2.0, -1.0, 1.0)
        cmap = ip.critic_map(m, bounds, n=7)
        assert cmap.z.shape == (7, 7) and cmap.label == "score" and cmap.mid == 0.0
        want = pack * (cmap.xs - spec.loc) / spec.scale  # a point fills its whole pack
        np.testing.assert_allclose(cmap.z, np.broadcast_to(want, (7, 7)), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(cmap.xs[[0, -1]], [-2, 2])
        np.testing.assert_allclose(cmap.ys[[0, -1]], [-1, 1])


def test_critic_is_a_probability_for_logit_losses(ring8):
    m = method("gan", ring8.spec, loss="nonsaturating", pack=1)
    m.D = HandD([1.0, 0.0])
    cmap = ip.critic_map(m, (-3.0, 3.0, -3.0, 3.0), n=5)
    assert cmap.label == "P(real)" and cmap.mid == 0.5
    want = torch.sigmoid(torch.from_numpy((cmap.xs - ring8.spec.loc) / ring8.spec.scale))
    np.testing.assert_allclose(cmap.z[2], want.numpy(), rtol=1e-5)


def test_conditional_critic_per_class(ring8):
    m = method("cgan", ring8.spec)
    bounds = ip.plane_bounds(ring8.x_val.numpy())
    maps = [ip.critic_map(m, bounds, n=9, cls=k) for k in (0, 5)]
    assert all(c.z.shape == (9, 9) for c in maps)
    assert not np.allclose(maps[0].z, maps[1].z)  # the projection D sees the class
    with pytest.raises(ValueError, match="labels"):
        m.critic(torch.zeros(3, 2))  # a conditional D needs the class
    with pytest.raises(ValueError, match="class 8"):
        ip.plane_view(m, ring8.x_val, ring8.y_val, cls=8)


def test_gradient_arrows_point_uphill_on_d(ring8):
    spec = ring8.spec
    for loss in ("nonsaturating", "hinge", "lsgan"):
        m = method("gan", spec, loss=loss, pack=2)
        m.D = BowlD()  # D rises toward the data's centre (model-space origin = data loc)
        x, push = ip.generator_arrows(m, n=64, seed=1)
        assert x.shape == push.shape == (64, 2)
        toward_centre = spec.loc - x  # (64, 2)
        cos = (push * toward_centre).sum(1) / (
            np.linalg.norm(push, axis=1) * np.linalg.norm(toward_centre, axis=1)
        )
        np.testing.assert_allclose(cos, 1.0, atol=1e-4)  # straight at the centre
    # the per-point push does not shrink as more points are drawn (scaled by the packs)
    small = np.linalg.norm(ip.generator_arrows(m, n=16, seed=1)[1], axis=1).mean()
    large = np.linalg.norm(ip.generator_arrows(m, n=256, seed=1)[1], axis=1).mean()
    assert 0.5 < small / large < 2.0


def test_manifold_is_the_noise_grid_through_g(ring8):
    spec = ring8.spec
    m = method("gan", spec, latent_dim=4)
    m.G = SliceG()
    man = ip.manifold(m, n=5, lim=2.0, seed=3)
    assert man.z.shape == man.x.shape == (5, 5, 2) and man.latent_dim == 4
    np.testing.assert_allclose(man.z[[0, -1], 0, 0], [-2.0, 2.0])
    np.testing.assert_allclose(man.x, man.z * spec.scale + spec.loc, rtol=1e-5, atol=1e-6)
    # the other dims are one seeded draw: the same for a seed, another for another seed
    assert man.fixed.shape == (2,)
    np.testing.assert_array_equal(man.fixed, ip.manifold(m, n=5, seed=3).fixed)
    assert not np.allclose(man.fixed, ip.manifold(m, n=5, seed=4).fixed)
    # a 2D latent: the whole grid, nothing fixed; 1D: one line
    m2 = method("gan", spec, latent_dim=2)
    man2 = ip.manifold(m2, n=4)
    z = torch.from_numpy(man2.z.reshape(-1, 2))
    np.testing.assert_allclose(man2.x.reshape(-1, 2), decode_latent(m2, z).numpy(), atol=1e-6)
    assert man2.fixed.shape == (0,)
    assert ip.manifold(method("gan", spec, latent_dim=1), n=6).x.shape == (6, 1, 2)


def test_vae_posterior_and_decoder_map(ring8):
    m = method("vae", ring8.spec, latent_dim=3)
    x = ring8.x_val[:50]
    post = ip.posterior_means(m, x)
    np.testing.assert_allclose(post, m.encode(x)[0][:, :2].detach().numpy(), atol=1e-6)
    one = ip.posterior_means(method("vae", ring8.spec, latent_dim=1), x)
    assert one.shape == (50, 2) and np.all(one[:, 1] == 0)
    view = ip.plane_view(m, ring8.x_val, ring8.y_val, step=7)
    assert view.critic is None and view.arrows is None  # a VAE has no discriminator
    assert view.posterior.shape == (ip.N_POSTERIOR, 2)
    assert view.posterior_labels.shape == (ip.N_POSTERIOR,)
    assert view.manifold.x.shape == (ip.MANIFOLD_GRID, ip.MANIFOLD_GRID, 2)
    assert viz_inside.layer_labels(view)["manifold"] == "Decoder map"
    assert viz_inside.available_layers(view) == ["real", "generated", "manifold", "posterior"]


@pytest.mark.parametrize("name", ["gan", "cgan"])
def test_plane_view_of_adversarial_methods(ring8, name):
    m = method(name, ring8.spec)
    view = ip.plane_view(m, ring8.x_val, ring8.y_val, cls=2 if name == "cgan" else None)
    assert view.critic.z.shape == (ip.GRID, ip.GRID)
    assert view.arrows[0].shape == (ip.N_ARROWS, 2) and view.posterior is None
    assert view.generated.shape == (1000, 2)
    assert viz_inside.available_layers(view) == [
        "real",
        "generated",
        "critic",
        "manifold",
        "arrows",
    ]
    if name == "cgan":
        assert view.cls == 2 and set(view.generated_labels) == set(range(8))
    fig = viz_inside.plane_figure(view, ring8.x_val.numpy(), ring8.y_val.numpy())
    kinds = [type(t).__name__ for t in fig.data]
    assert kinds[0] == "Heatmap" and "Scatter" in kinds
    assert len(viz_inside.plane_figure(view, None, layers=["critic"]).data) == 1


def test_plane_view_rejects_non_2d_points(ring8):
    with pytest.raises(ValueError, match="2D points"):
        ip.plane_view(method("gan", ring8.spec), torch.zeros(5, 3))


def test_a_cpu_copy_of_the_weights_is_independent(ring8):
    m = method("gan", ring8.spec)
    tensors = {k: v.detach().clone() for k, v in m.state_dict().items()}
    copy = view_model.cpu_copy(
        "gan", m.cfg, train_config("gan", {"batch_size": 32}), ring8.spec, tensors
    )
    pts = ring8.x_val[:20]
    np.testing.assert_array_equal(copy.critic(pts).detach(), m.critic(pts).detach())
    with torch.no_grad():
        for p in m.parameters():
            p.add_(1.0)
    assert not torch.equal(copy.critic(pts), m.critic(pts))


def test_arrow_segments_known_geometry():
    ax, ay = viz_inside.arrow_segments(np.zeros((2, 2)), np.array([[2.0, 0.0], [1.0, 0.0]]), 1.0)
    pts = np.stack([ax, ay], 1).reshape(2, 7, 2)
    # the 95th percentile of |d| is ~1.95: the long arrow is clipped to 1, the short one ~0.51
    np.testing.assert_allclose(pts[0, 1], [1.0, 0.0])
    np.testing.assert_allclose(pts[1, 1], [1.0 / 1.95, 0.0], rtol=1e-6)
    assert np.isnan(pts[:, 2]).all()  # segments are separated
    assert viz_inside.arrow_segments(np.zeros((3, 2)), np.zeros((3, 2)), 1.0)[0].size == 0


# ----- the GAN's phases ------------------------------------------------------------------------
@pytest.mark.parametrize("name, data", [("gan", "ring8"), ("cgan", "ring8"), ("rgan", "sines")])
def test_adversarial_train_step_phases(name, data):
    assert METHODS[name].phases == ("d", "g") and METHODS["vae"].phases == ()
    ds = load_dataset(data)
    m = method(name, ds.spec).train()
    x, y = ds.batch(32, torch.Generator().manual_seed(0))

    def snap(net):
        return [p.detach().clone() for p in net.parameters()]

    for phases, changed, keys in (
        (("d",), "D", {"loss/d", "d/real", "d/fake"}),
        (("g",), "G", {"loss/g"}),
    ):
        g0, d0 = snap(m.G), snap(m.D)
        out = m.train_step(x, y, phases=phases)
        aux = {"d": "loss/aux_d", "g": "loss/aux_g"}[phases[0]] if name == "cgan" else None
        assert set(out) == keys | ({aux} if aux else set())  # cgan: AC-GAN's class terms
        g_same = all(torch.equal(a, b) for a, b in zip(g0, snap(m.G)))
        d_same = all(torch.equal(a, b) for a, b in zip(d0, snap(m.D)))
        assert (g_same, d_same) == ((True, False) if changed == "D" else (False, True))


# ----- the run: weight copies, phases, slow motion, live knobs ---------------------------------
def test_run_view_state_phase_steps_and_delay(home, runs_to_stop):
    run = Run("gan", "ring8", TINY, {**QUICK, "steps": 100_000}).start()
    runs_to_stop.append(run)
    first = run.view_state(wait=30)
    assert first is not None and first.step >= 0  # published once the model is built
    assert wait_for(lambda: run.view_state().version > first.version)  # fresh copies on request
    run.pause()
    assert wait_for(lambda: run.status == "paused")
    paused = run.view_state()
    assert paused.step == run.snapshot().step  # published when it paused
    live = dict(run.method.state_dict())
    assert all(paused.tensors[k].data_ptr() != v.data_ptr() for k, v in live.items())

    def one(phases):
        before = run.view_state()
        run.step_n(1, phases)
        assert wait_for(lambda: run.status == "paused" and run.view_state().step == before.step + 1)
        after = run.view_state()
        changed = {
            k.split(".")[0]
            for k in before.tensors
            if not torch.equal(before.tensors[k], after.tensors[k])
        }
        return changed

    assert one(("d",)) == {"D"}
    assert one(("g",)) == {"G"}
    assert one(None) == {"D", "G"}
    with pytest.raises(ValueError, match="phases"):
        run.step_n(1, ("x",))
    with pytest.raises(ValueError, match="between 0 and 5"):
        run.set_delay(-1)

    run.set_delay(0.2)
    assert run.delay == 0.2
    step0, t0 = run.snapshot().step, time.time()
    run.step_n(4)
    assert wait_for(lambda: run.status == "paused" and run.snapshot().step == step0 + 4, 30)
    assert time.time() - t0 >= 4 * 0.2 * 0.9  # it slept after every step
    run.set_delay(0)


def test_vae_has_no_phases(home):
    run = Run("vae", "ring8", TINY, {**QUICK, "steps": 100_000})  # never started
    with pytest.raises(ValueError, match="phases"):
        run.step_n(1, ("d",))


def test_live_loss_change_is_safe_mid_run(home, runs_to_stop):
    run = Run("gan", "ring8", TINY, {**QUICK, "steps": 100_000}).start()
    runs_to_stop.append(run)
    assert wait_for(lambda: run.snapshot().step >= 3)
    # (DRS sampling reads D as a logit: a wgan-gp critic needs direct sampling)
    knobs = dict(loss="wgan-gp", sampler="direct", n_critic=2, gp_lambda=5.0, r1_gamma=1.0)
    run.set_live(**knobs, lr_d=5e-4, lr_g=5e-4)
    assert wait_for(lambda: len(run.live_changes) == len(knobs) + 2)
    at = run.live_changes[0]["step"]
    assert wait_for(lambda: run.history.version and run.snapshot().step >= at + 12, 60)
    assert run.status == "running", run.snapshot().error
    assert {"loss/gp", "loss/r1"} <= set(run.history.keys())  # the new loss is in force
    assert run.method.optimizers["d"].param_groups[0]["base_lr"] == 5e-4
    marks = curves.knob_marks(run.snapshot().live_changes)
    assert len(marks) == 1 and marks[0][0] == at and "loss=wgan-gp" in marks[0][1]


def test_every_knob_the_issue_names_is_live():
    live = {
        name: {p.name for p in params.describe(cls.Config) if p.live}
        for name, cls in METHODS.items()
    }
    assert {"lr_g", "lr_d", "loss", "n_critic", "gp_lambda", "r1_gamma"} <= live["gan"]
    assert live["cgan"] == live["gan"] | {"aux_weight"}
    assert {"lr_g", "lr_d", "loss", "n_critic"} <= live["rgan"]
    assert {"beta", "lr"} <= live["vae"] and "lr" in live["lstm"]


def test_knob_marks_on_the_curves():
    changes = [
        {"step": 10, "key": "lr_d", "value": 0.0004},
        {"step": 10, "key": "loss", "value": "hinge"},
        {"step": 30, "key": "beta", "value": 2.0},
    ]
    marks = curves.knob_marks(changes)
    assert marks == [(10.0, "lr_d=0.0004, loss=hinge"), (30.0, "beta=2")]
    series = {"loss/d": ([5, 10, 20, 40], [1.0, 0.9, 0.8, 0.7])}
    fig = curves.curves_figure(series, marks=marks)
    assert [s.x0 for s in fig.layout.shapes] == [10.0, 30.0]
    assert [a.text for a in fig.layout.annotations] == [m[1] for m in marks]
    assert len(curves.curves_figure(series).layout.shapes) == 0


# ----- the page (AppTest) ----------------------------------------------------------------------
def live_page(run_id: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/live.py")
    at.query_params.clear()
    at.query_params["run"] = run_id
    return at.run()


def charts(at: AppTest) -> dict[str, object]:
    return {c.key: c for c in all_charts(at) if c.key}


def traces(chart) -> list[str]:
    return [t.get("name", "") for t in chart.figure["data"]]


def test_live_page_gan_canvas_toggles_and_step_buttons(home, runs_to_stop):
    run = Run("gan", "ring8", TINY, {**QUICK, "steps": 100_000}).start()
    runs_to_stop.append(run)
    assert wait_for(lambda: run.snapshot().step >= 3)
    run.pause()
    assert wait_for(lambda: run.status == "paused")
    at = live_page(run.id)
    assert not at.exception, at.exception
    assert "Inside the model" in [m.value for m in at.markdown][-8:] or any(
        "Inside the model" in m.value for m in at.markdown
    )
    plane = charts(at)["inside.plane"]
    names = traces(plane)
    assert names[0] == "D: P(real)" and "G manifold" in names and "generated" in names
    assert "G gradient arrows" not in names  # off by default
    toggle = at.toggle(key=f"inside.layer.arrows.{run.id}")
    toggle.set_value(True).run()
    assert not at.exception
    assert "G gradient arrows" in traces(charts(at)["inside.plane"])
    at.toggle(key=f"inside.layer.critic.{run.id}").set_value(False).run()
    assert "D: P(real)" not in traces(charts(at)["inside.plane"])

    step = run.snapshot().step
    at.button(key="ctl.phase.d").click().run()
    assert not at.exception
    assert wait_for(lambda: run.status == "paused" and run.snapshot().step == step + 1, 30)
    assert wait_for(lambda: run.view_state().step == step + 1, 30)
    at.run()  # the view follows the new weights
    assert any(f"Weights at step {step + 1:,}" in c.value for c in at.caption)
    at.selectbox(key=f"ctl.delay.{run.id}").set_value(0.05).run()
    assert run.delay == 0.05
    at.session_state["genlab.teaching"] = True  # teaching mode: each layer explained
    at.run()
    assert not at.exception
    infos = " ".join(i.value for i in at.info)
    assert (
        explain.TEXTS["points.manifold"] in infos and explain.TEXTS["points.step_buttons"] in infos
    )


def test_architecture_change_offers_a_restart(home, runs_to_stop):
    run = Run("gan", "ring8", TINY, {**QUICK, "steps": 100_000}).start()
    runs_to_stop.append(run)
    assert wait_for(lambda: run.snapshot().step >= 2)
    at = live_page(run.id)
    assert not at.exception, at.exception
    assert not any(b.key == "live.restart" for b in at.button)  # nothing changed yet
    at.number_input(key=f"w.arch.{run.id}.hidden").set_value(24).run()
    assert any("hidden cannot change" in w.value for w in at.warning)
    clicked = time.time()
    at.button(key="live.restart").click().run()
    assert not at.exception, at.exception
    assert wait_for(lambda: run.status == "stopped", 30)
    new = [r for r in REGISTRY.runs() if r.created >= clicked]
    runs_to_stop.extend(new)
    assert len(new) == 1 and new[0].cfg.hidden == 24 and new[0].train.steps == run.train.steps


def test_live_page_vae_latent_canvas(home, runs_to_stop):
    run = Run("vae", "ring8", {**TINY, "latent_dim": 2}, {**QUICK, "steps": 100_000}).start()
    runs_to_stop.append(run)
    assert wait_for(lambda: run.snapshot().step >= 3)
    at = live_page(run.id)
    assert not at.exception, at.exception
    got = charts(at)
    assert {"inside.plane", "inside.latent"} <= set(got)
    assert "Decoder map" in traces(got["inside.plane"])
    assert "latent grid" in traces(got["inside.latent"])
    assert not any(b.key and b.key.startswith("ctl.phase") for b in at.button)  # no phases
    at.toggle(key=f"inside.layer.posterior.{run.id}").set_value(False).run()
    assert not at.exception
    assert "latent grid" in traces(charts(at)["inside.latent"])


def test_live_page_cgan_class_and_disk_run(home, runs_to_stop):
    run = Run("cgan", "ring8", TINY, {**QUICK, "steps": 12, "checkpoint_every": 0}).start()
    runs_to_stop.append(run)
    assert run.join(120) and run.status == "done", run.snapshot().error
    at = live_page(run.id)
    assert not at.exception, at.exception
    at.selectbox(key=f"inside.cls.{run.id}").set_value(3).run()
    assert not at.exception
    assert "generated, class 3" in traces(charts(at)["inside.plane"])
    REGISTRY.forget(run.id)  # as after a restart: drawn from the last checkpoint on disk
    at = live_page(run.id)
    assert not at.exception, at.exception
    assert "inside.plane" in charts(at)
    assert any("Weights at step 12" in c.value for c in at.caption)


# ----- a real browser --------------------------------------------------------------------------
ARGS = CHROMIUM_ARGS
SETUP = (
    "method=gan&data=ring8&steps=100000&hidden=16&layers=1&batch_size=32&log_every=5"
    "&sample_every=25&eval_every=0&checkpoint_every=0"
)


@pytest.fixture
def server(tmp_path):
    """`streamlit run app.py` on a free port with its own run home (tests/appserver.py)."""
    with app_server(tmp_path / "runs", tmp_path / "server.log") as (base, _proc):
        yield base


PLOTS_JS = """() => Array.from(${PLOTS}).map(el => ({
    names: (el._fullData || []).map(t => t.name || ''),
    marks: ((el.layout && el.layout.annotations) || []).map(a => a.text || ''),
}))""".replace("${PLOTS}", PLOTS_EXPR)


# scroll chart i (negative: from the end) to the middle of the view, for the screenshots (by
# script: a locator's element is replaced each time the fragment redraws)
SCROLL_JS = """(i) => {
    const els = Array.from(${PLOTS})
        .filter(el => el.getBoundingClientRect().height > 0);  // not a redraw's hidden copy
    const el = els[i < 0 ? els.length + i : i];
    if (el) el.scrollIntoView({block: 'center'});
}""".replace("${PLOTS}", PLOTS_EXPR)


@pytest.mark.browser
def test_browser_toggle_layer_and_live_knob(server, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is needed for the browser tests (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("GENLAB_SHOTS", tmp_path / "shots"))
    shots.mkdir(parents=True, exist_ok=True)

    def plots(page):
        return page.evaluate(PLOTS_JS)

    def has(page, present, absent) -> bool:
        names = plane(page)
        return names is not None and set(present) <= set(names) and not set(absent) & set(names)

    def set_toggle(page, label: str, on: bool) -> None:
        """Click a toggle until it reads `on` (a click that lands while the fragment redraws
        can be lost on a starved machine; re-reading the state never double-toggles)."""
        box = page.locator('[data-testid="stCheckbox"]').filter(has_text=label).locator("input")
        for _ in range(4):  # the locator resolves afresh on every call
            if box.is_checked() == on:
                return
            page.get_by_text(label, exact=True).click()
            wait_for(lambda: box.is_checked() == on, 20, 0.5)
        assert box.is_checked() == on, f"toggle {label!r} did not turn {on}"

    def plane(page):
        for p in plots(page):
            if "G manifold" in p["names"] or "D: P(real)" in p["names"]:
                return p["names"]
        return None

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1800})
            page.set_default_timeout(120_000)  # a loaded CI machine starves the renderer
            page.goto(f"{server}/?{SETUP}")
            start = page.get_by_role("button", name="Start training")
            start.wait_for(timeout=120_000)
            start.click()
            page.get_by_text("Inside the model").wait_for(timeout=120_000)
            assert wait_for(lambda: has(page, ["D: P(real)", "G manifold", "generated"], []), 120)
            page.evaluate(SCROLL_JS, -1)  # the canvas is the last chart
            time.sleep(2)  # let the redraw settle: the picture is for a person to look at
            page.screenshot(path=shots / "inside-gan.png")

            # a layer toggle: the heatmap goes, the rest stays
            set_toggle(page, "D heatmap", False)
            assert wait_for(lambda: has(page, ["G manifold"], ["D: P(real)"]), 90, 0.5)
            set_toggle(page, "G gradient arrows", True)
            assert wait_for(lambda: has(page, ["G manifold", "G gradient arrows"], []), 90, 0.5)
            page.evaluate(SCROLL_JS, -1)
            time.sleep(2)  # let the redraw settle: the picture is for a person to look at
            page.screenshot(path=shots / "inside-gan-toggled.png")

            # a live knob: n_critic 1 -> 2, applied, marked on the loss chart
            page.get_by_text("Change hyperparameters while it trains").click()
            box = page.get_by_role("spinbutton", name="n_critic")
            box.fill("2")
            box.press("Enter")
            page.get_by_role("button", name="Apply").click()
            assert wait_for(
                lambda: any("n_critic=2" in m for p in plots(page) for m in p["marks"]), 120, 0.5
            ), plots(page)
            page.evaluate(SCROLL_JS, 0)  # the loss chart
            time.sleep(2)  # let the redraw settle: the picture is for a person to look at
            page.screenshot(path=shots / "inside-gan-knob.png")
            page.get_by_role("button", name="Stop").click()
        finally:
            browser.close()
