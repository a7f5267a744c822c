"""Inside the model for images, sequences and text (issue #6): the headless views with known
answers, the thread-safe view copy, and the live page's "Inside the model" section under AppTest
for tiny runs of every method on a cheap dataset of each kind."""

from __future__ import annotations

import io
import json
import math
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see genlab/ui/__init__.py

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from charts import charts  # tests/charts.py  # noqa: E402
from PIL import Image  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from genlab.data import load_dataset  # noqa: E402
from genlab.runs import (  # noqa: E402
    Run,
    RunStore,
    read_saved_run,
    sampling,
)
from genlab.runs.build import build_method, train_config  # noqa: E402
from genlab.ui.inside_kinds import available_views  # noqa: E402
from genlab.views import images as image_views  # noqa: E402
from genlab.views import model as view_model  # noqa: E402
from genlab.views import sequences as series_views  # noqa: E402
from genlab.views import text as text_views  # noqa: E402

APP = os.path.join(os.path.dirname(__file__), "..", "app.py")
TINY = {
    "vae": {"hidden": 32, "latent_dim": 4},
    "gan": {"hidden": 32, "layers": 1, "latent_dim": 4},
    "cgan": {"hidden": 32, "layers": 1, "latent_dim": 4},
    "rgan": {"hidden": 16},
    "lstm": {"hidden": 32, "emb_dim": 8},
}
QUICK = {"log_every": 5, "sample_every": 10, "eval_every": 0, "checkpoint_every": 0}


def tiny(method: str, dataset: str):
    data = load_dataset(dataset)
    return build_method(method, TINY[method], train_config(method), data.spec), data


# ----- images -----------------------------------------------------------------------------------
def test_vae_traversal_reconstruction_and_grid():
    m, data = tiny("vae", "digits")
    assert view_model.capabilities(m, data) == {"latent", "reconstruct"}
    dims, imp = image_views.traversal_dims(m, data, 3)
    assert len(dims) == 3 and imp.shape == (4,)
    assert list(imp[dims]) == sorted(imp[dims], reverse=True)  # most used dimension first
    x, values = image_views.traversal(m, seed=0, dims=dims, k=5)
    assert x.shape == (15, 1, 8, 8) and np.allclose(values, [-3, -1.5, 0, 1.5, 3])
    assert 0 <= x.min() and x.max() <= 1
    # within a row only the traversed dimension moves: the middle column decodes the same code
    # in every row (value 0 replaces a different coordinate), so rows differ, columns are smooth
    z0 = sampling.latent_noise(m, 0)[0]
    z = z0.clone()
    z[dims[1]] = 1.5
    assert torch.allclose(x[5 + 3], sampling.decode_latent(m, z[None])[0], atol=1e-6)
    orig, rec = view_model.reconstructions(m, data, 6)
    assert orig.shape == rec.shape == (6, 1, 8, 8)
    png = image_views.captioned_grid_png(
        torch.cat([orig, rec]),
        6,
        [f"c{i}" for i in range(12)],
        row_titles=["original", "recon"],
        cell=40,
    )
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.width > 6 * 40 and im.height >= 2 * 40


def test_gan_critic_scores_and_captions():
    m, data = tiny("gan", "digits")
    caps = view_model.capabilities(m, data)
    assert {"latent", "critic"} <= caps and "reconstruct" not in caps
    x = data.x_val[:5]
    s = image_views.critic_scores(m, x)
    assert s.shape == (5,) and np.isfinite(s).all()
    ref = image_views.real_reference(m, data)
    text, colors = image_views.score_captions(m, s, ref)
    verdicts = (image_views.REAL_LIKE, image_views.FAKE_LIKE)
    assert len(text) == 5 and all(c in verdicts for c in colors)
    assert colors == [image_views.REAL_LIKE if v >= ref else image_views.FAKE_LIKE for v in s]
    assert image_views.score_captions(m, None, ref) == (None, None)


def test_cgan_class_rows():
    m, data = tiny("cgan", "digits")
    assert "classes" in view_model.capabilities(m, data)
    x, per = sampling.class_grid(m, 3, seed=0)
    assert x.shape == (30, 1, 8, 8) and per == 3
    y = torch.arange(10).repeat_interleave(3)
    assert image_views.critic_scores(m, x, y).shape == (30,)


# ----- sequences --------------------------------------------------------------------------------
def test_series_band_known_answers():
    const = torch.full((5, 7, 1), 2.0)
    b = series_views.series_band(const)
    for k in ("mean", "q10", "q90"):
        assert np.allclose(b[k], 2.0) and b[k].shape == (7, 1)
    assert np.allclose(b["std"], 0.0)
    data = load_dataset("sines")
    b = series_views.series_band(data.x_val)
    assert (b["q10"] <= b["mean"] + 1e-6).all() and (b["mean"] <= b["q90"] + 1e-6).all()
    x = data.x_val.numpy()
    assert np.allclose(b["mean"], x.mean(0), atol=1e-5)
    assert np.allclose(b["std"], x.std(0), atol=1e-5)


def test_rgan_per_step_critic_and_figure():
    m, data = tiny("rgan", "sines")
    assert "critic" in view_model.capabilities(m, data)
    v = series_views.series_view(m, data, n=4, seed=0)
    T = data.spec.shape[0]
    assert v.fake.shape == v.real.shape == (4, T, 1)
    assert v.critic_real.shape == v.critic_fake.shape == (4, T)
    assert np.isfinite(v.critic_fake).all() and m.critic_scale() == ("score", 0.0)  # lsgan
    fig = series_views.series_figure(v)
    names = {t.name for t in fig.data}
    assert {"real 10–90%", "real mean", "generated", "D on real", "D on generated"} <= names


def test_vae_on_sequences_reconstructs_series():
    m, data = tiny("vae", "sines")
    assert view_model.capabilities(m, data) == {"latent", "reconstruct"}
    x, r = view_model.reconstructions(m, data, 3)
    assert x.shape == r.shape == (3, *data.spec.shape)
    assert list(available_views("sequences", view_model.capabilities(m, data))) == [
        "band",
        "recon_series",
    ]


def test_lstm_on_sequences_has_no_critic():
    m, data = tiny("lstm", "sines")
    v = series_views.series_view(m, data, n=3, seed=0)
    assert v.critic_fake is None and v.fake.shape == (3, data.spec.shape[0], 1)
    assert view_model.capabilities(m, data) == set()
    fig = series_views.series_figure(v, quantiles=False)
    assert "real mean ± std" in {t.name for t in fig.data}


# ----- text -------------------------------------------------------------------------------------
def test_char_heat_matches_the_lstm_nll():
    torch.manual_seed(0)
    m, data = tiny("lstm", "names")
    m.eval()
    words = ["anna", "zoe", ""]
    rows = text_views.char_heat(m, words)
    assert [len(r) for r in rows] == [5, 4, 1]  # one entry per character plus the end
    assert rows[0][-1][0] == text_views.END_MARK and [c for c, _ in rows[0][:-1]] == list("anna")
    for word, row in zip(words, rows):
        assert all(0 < p <= 1 for _, p in row)
        tokens = m._as_tokens([word])  # (1, L)
        with torch.no_grad():
            nll = float(m._losses(tokens)["loss/nll"])  # the training loss of that one item
        assert math.isclose(text_views.nats_per_char(row), nll, rel_tol=1e-5)
    probs = m.next_char_probs(["anna"])  # every next-character distribution sums to 1
    assert torch.allclose(probs.sum(-1), torch.ones(1, 5), atol=1e-5)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        text_views.char_heat(m, ["ANNA!"])
    html = text_views.heat_html(rows)
    assert html.count("<span title=") == 10 and "nats/char" in html


def test_split_novel_and_generated_strings():
    m, data = tiny("lstm", "names")
    seen = text_views.training_strings(data)
    assert len(seen) == data.spec.n_train
    first = next(iter(sorted(seen)))
    copied, new = text_views.split_novel([first, "qqqzzzxx", first], seen)
    assert copied == [first, first] and new == ["qqqzzzxx"]
    items = text_views.generated_strings(m, 5, seed=3)
    assert len(items) == 5 and items == text_views.generated_strings(m, 5, seed=3)  # fixed seed


def test_views_offered_by_capability():
    assert list(available_views("images", {"latent", "reconstruct"})) == [
        "interp",
        "traverse",
        "recon",
    ]
    assert "verdict" in available_views("images", {"latent", "critic"})
    assert "classes" in available_views("images", {"latent", "critic", "classes"})
    assert list(available_views("sequences", set())) == ["band"]
    assert list(available_views("text", {"text"})) == ["heat", "novel"]
    assert available_views("text", set()) == {}


# ----- the view copy ----------------------------------------------------------------------------
def _run(runs_to_stop, method, dataset, steps=30) -> Run:
    run = Run(method, dataset, TINY[method], {**QUICK, "steps": steps}).start()
    runs_to_stop.append(run)
    return run


def _stopped(runs_to_stop, method, dataset) -> Run:
    """A run stopped after a few steps: ended like a finished one, without the final
    evaluation (which trains a classifier for images)."""
    run = _run(runs_to_stop, method, dataset, steps=100_000)
    assert _wait(lambda: run.snapshot().step >= 10)
    run.stop()
    assert run.join(60) and run.status == "stopped"
    return run


def _wait(pred, timeout=60.0) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(0.05)
    return False


def test_view_copy_is_separate_and_follows_the_run(home, runs_to_stop):
    run = _run(runs_to_stop, "vae", "digits", steps=100_000)
    views = view_model.ViewModels(min_interval=0.0)
    assert _wait(lambda: views.get(run) is not None)  # the worker publishes a copy on request
    vm = views.get(run)
    assert vm.method is not run.method and vm.method.device.type == "cpu"
    live_ptrs = {p.data_ptr() for p in run.method.parameters()}
    assert not live_ptrs & {p.data_ptr() for p in vm.method.parameters()}
    first = vm.version
    assert _wait(lambda: views.get(run).version > first)  # a newer copy after more steps
    assert views.get(run).step >= vm.step
    slow = view_model.ViewModels(min_interval=60.0)
    a = slow.get(run) or (time.sleep(0.5) or slow.get(run))
    assert a is not None and slow.get(run).version == a.version  # not refreshed within 60 s
    run.stop()
    run.join(30)
    disk = read_saved_run(RunStore(), run.id)  # a saved run: its last checkpoint
    vm_disk = view_model.ViewModels().get(disk)
    assert vm_disk is not None and vm_disk.stamp and vm_disk.step == run.snapshot().step


# ----- the live page ----------------------------------------------------------------------------
def _inside_page(run_id: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/live.py")
    at.query_params["run"] = run_id
    at.session_state["inside.kinds.open"] = True  # open the expander
    return at.run()


def _show_every_view(at: AppTest, kind: str) -> list[str]:
    radio = at.radio(key=f"inside.view.{kind}")
    shown = []
    for label in radio.options:
        at.radio(key=f"inside.view.{kind}").set_value(label).run()
        assert not at.exception, (label, at.exception)
        assert not at.error, (label, [e.value for e in at.error])
        shown.append(label)
    return shown


@pytest.mark.parametrize(
    "method,dataset,views",
    [
        ("vae", "digits", ["Interpolation", "Traversal", "Reconstructions"]),
        ("gan", "digits", ["Interpolation", "Traversal", "D's verdict"]),
        ("cgan", "digits", ["Interpolation", "Traversal", "One row per class", "D's verdict"]),
    ],
)
def test_live_page_image_views(home, runs_to_stop, method, dataset, views):
    run = _stopped(runs_to_stop, method, dataset)
    at = _inside_page(run.id)
    assert not at.exception, at.exception
    assert _show_every_view(at, "images") == views
    assert len(at.get("image")) >= 2  # the samples grid and the view's strip
    assert any(f"Model at step {run.snapshot().step}" in c.value for c in at.caption)


def test_live_page_rgan_series_view_while_training(home, runs_to_stop):
    run = _run(runs_to_stop, "rgan", "sines", steps=100_000)
    assert _wait(lambda: run.snapshot().step >= 5 and run.snapshots)
    at = _inside_page(run.id)
    if any("Waiting for the first copy" in i.value for i in at.info):
        time.sleep(0.5)  # the worker answered the request after its step
        at.run()
    assert not at.exception, at.exception
    assert _show_every_view(at, "sequences") == ["Generated vs real"]
    fig = charts(at)[-1].spec
    assert "D on generated" in fig and "real 10" in fig
    # held while the band setting changes: a status change between the page's runs redraws the
    # page (st.rerun), which on a loaded machine could land between setting and reading
    run.pause()
    assert _wait(lambda: run.status == "paused")
    at.run()
    at.radio(key="inside.band.kind").set_value("mean ± std").run()
    assert not at.exception
    # trace names read from the parsed figure: plotly escapes "±" as \u00b1 unless orjson is there
    spec = json.loads(charts(at)[-1].spec)
    assert "real mean ± std" in {t.get("name") for t in spec["data"]}


def test_live_page_lstm_text_views(home, runs_to_stop):
    run = _stopped(runs_to_stop, "lstm", "names")
    at = _inside_page(run.id)
    assert _show_every_view(at, "text") == ["Character probabilities", "New or copied"]
    assert any(m.value.startswith("**New:") for m in at.markdown)
    at.radio(key="inside.view.text").set_value("Character probabilities").run()
    at.text_input(key="inside.heat.typed").input("emma").run()
    assert not at.exception
    bodies = [h.proto.body for h in at.get("html")]
    assert any(b.count("<span title=") == 5 and "nats/char" in b for b in bodies)  # e m m a ⏎
    at.text_input(key="inside.heat.typed").input("EMMA!").run()
    assert any("not in the vocabulary" in e.value for e in at.error)


def test_teaching_mode_shows_explanations(home, runs_to_stop):
    run = _stopped(runs_to_stop, "vae", "digits")
    at = _inside_page(run.id)
    assert not any("Walking between two codes" in i.value for i in at.info)
    at.session_state["genlab.teaching"] = True  # the sidebar switch (see below)
    at.run()
    assert not at.exception
    assert any("Walking between two codes" in i.value for i in at.info)


def test_teaching_switch_hides_advanced_settings(home):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["method"] = "vae"
    at.query_params["data"] = "digits"
    at.run()
    assert "Advanced" in [e.label for e in at.expander]
    assert "w.m.vae.binarize" in {s.key for s in at.selectbox}
    at.sidebar.toggle(key="genlab.teaching.switch").set_value(True).run()
    assert not at.exception
    assert "Advanced" not in [e.label for e in at.expander]
    assert "w.m.vae.binarize" not in {s.key for s in at.selectbox}
    assert at.button(key="start") and not at.button(key="start").disabled
