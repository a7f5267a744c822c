"""The Train and Live pages under streamlit.testing.v1.AppTest, and the curve thinning they use.

Every page run must finish without an exception; the widgets come from the declared parameters
(checked for every registered method), a link presets the form, a bad link value warns instead of
failing, Start creates a run, and the live page renders a run in each state.
"""

from __future__ import annotations

import io
import os

# before torch loads (see genlab/ui/__init__.py): AppTest runs scripts in exited threads too
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import subprocess  # noqa: E402
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import pytest
from charts import charts  # tests/charts.py
from streamlit.testing.v1 import AppTest

from genlab import params
from genlab.data import DATASETS, load_dataset
from genlab.figures import curves, plots
from genlab.methods import METHODS
from genlab.runs import REGISTRY, Run, RunStore
from genlab.runs.build import method_config, train_config
from genlab.ui import forms, own_data
from genlab.ui.widgets import method_scope, train_scope, wkey

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 30
# cheap datasets first: a method is tested on the first one it can train on
CHEAP_DATA = ("ring8", "sines", "names", "digits")
QUICK = {"log_every": 5, "sample_every": 10, "eval_every": 0, "checkpoint_every": 0}


def wait_for(pred, timeout=60.0, every=0.05) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(every)
    return False


@pytest.fixture
def metrics_available(monkeypatch):
    """The runner evaluates at the last step through genlab.metrics.evaluate; while that module
    is being written, stand in an empty evaluation so a run can end `done`."""
    try:
        from genlab.metrics import evaluate  # noqa: F401
    except ImportError:
        stub = types.ModuleType("genlab.metrics")
        stub.evaluate = lambda method, data: {}
        monkeypatch.setitem(sys.modules, "genlab.metrics", stub)


def app(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    return at


def live_page(run_id: str | None) -> AppTest:
    at = app()
    at.run()
    at.switch_page("pages/live.py")
    at.query_params.clear()
    if run_id:
        at.query_params["run"] = run_id
    return at.run()


def widgets(at: AppTest) -> dict[str, object]:
    """Every input widget on the page, by key."""
    out = {}
    for kind in ("number_input", "selectbox", "toggle", "text_input", "select_slider", "slider"):
        for w in getattr(at, kind):
            if w.key:
                out[w.key] = w
    return out


def share_link(at: AppTest) -> str:
    """The Train page's link to its setup (a markdown link under its caption)."""
    return next(m.value for m in at.markdown if "?method=" in m.value)


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def first_dataset(method: str) -> str:
    cls = METHODS[method]
    for name in CHEAP_DATA + tuple(DATASETS):
        info = DATASETS[name]
        if info.upload or info.kind not in cls.supports:
            continue
        if cls.supports_data(load_dataset(name).spec):
            return name
    raise AssertionError(f"no built-in dataset for {method}")


# ----- thin_minmax -----------------------------------------------------------------------------
def test_thin_minmax_keeps_spikes_and_bounds_size():
    x = np.arange(100_000)
    y = np.sin(x / 500.0)
    y[31_337] = 40.0  # a single-step spike that striding would drop
    y[77_001] = -25.0
    xs, ys = curves.thin_minmax(x, y, 2000)
    assert xs.dtype == np.float32 and ys.dtype == np.float32
    assert len(xs) <= 2000 and len(xs) >= 1900
    assert ys.max() == 40.0 and xs[ys.argmax()] == 31_337
    assert ys.min() == -25.0 and xs[ys.argmin()] == 77_001
    assert xs[0] == 0 and xs[-1] == 99_999  # the ends are kept
    assert np.all(np.diff(xs) > 0)  # still a polyline in x order
    # the envelope per bucket is exact: each thinned max is the true max of its stretch
    assert np.isclose(ys.max(), y.max()) and np.isclose(ys.min(), y.min())


def test_thin_minmax_short_series_unchanged():
    xs, ys = curves.thin_minmax([1, 2, 3], [0.5, 0.25, 0.125], 2000)
    assert xs.tolist() == [1, 2, 3] and ys.tolist() == [0.5, 0.25, 0.125]
    with pytest.raises(ValueError):
        curves.thin_minmax([1, 2], [1.0], 10)


def test_a_single_evaluation_gets_an_axis_from_zero():
    """One point at step 1000: plotly's own axis would span 999 .. 1001 (ticks at 1,000.5)."""
    fig = curves.curves_figure(
        {"eval/hq": ([1000], [0.5]), "eval/modes": ([1000], [7])}, subplots=True
    )
    assert fig.layout.xaxis.range == (0.0, 1050.0) and fig.layout.xaxis2.range == (0.0, 1050.0)
    assert curves.curves_figure({"loss/d": ([1000], [0.5])}).layout.xaxis.range == (0.0, 1050.0)
    assert curves.curves_figure({"loss/d": ([10, 20], [0.5, 1.0])}).layout.xaxis.range is None
    one = plots.compare_curves_figure([("a", [1000], [1.0]), ("b", [1000], [2.0])], "eval/hq")
    assert one.layout.xaxis.range == (0.0, 1050.0)


def test_generated_points_are_not_the_real_points_colour():
    pts = np.zeros((5, 2))
    fig = plots.points_vs_real_figure(pts, pts)
    real, generated = fig.data
    assert real.name == "real" and generated.name == "generated"
    assert real.marker.color == plots.REAL_COLOR and generated.marker.color == plots.GENERATED_COLOR


def test_ema_debiased():
    assert np.allclose(curves.ema([3.0] * 50, 0.9), 3.0)  # no pull towards 0 at the start
    y = np.r_[np.zeros(50), np.ones(50)]
    s = curves.ema(y, 0.9)
    assert 0 < s[55] < 1 and s[-1] > 0.99


def test_metric_groups():
    keys = ["eval/fd", "loss/g", "d/real", "loss/d", "floor/fd", "kl/total", "lr"]
    groups = curves.group_metric_keys(keys)
    assert list(groups) == ["loss", "d", "kl", "other", "eval"]
    assert groups["loss"] == ["loss/d", "loss/g"] and "floor/fd" not in sum(groups.values(), [])


# ----- Train page ------------------------------------------------------------------------------
def test_train_page_renders(home):
    at = app().run()
    assert not at.exception
    assert at.selectbox(key="w.data").value == forms.DEFAULT_DATA
    assert at.selectbox(key="w.method").value == forms.DEFAULT_METHOD
    w = widgets(at)
    assert wkey(train_scope("gan"), "steps") in w
    assert any(b.key == "start" for b in at.button)
    assert at.query_params["method"] == ["gan"] or at.query_params["method"] == "gan"
    assert "?method=gan&data=ring8" in share_link(at)


@pytest.mark.parametrize("data", ["ring8", "mnist", "sines", "names"])
def test_the_train_page_holds_no_element_that_delays_its_first_paint(home, data):
    """st.plotly_chart (a 4.7 MB Plotly bundle) and st.code (a 1.5 MB highlighter) held back the
    whole Train page in the browser until they had loaded: Start showed 0.7 s later on a cold
    server. Its previews are live charts and text, its share link a markdown link."""
    at = app(data=data).run()
    assert not at.exception
    assert not at.get("plotly_chart") and not at.code
    assert f"data={data}" in share_link(at)


def test_app_py_is_also_the_server_that_warms_up_before_it_answers():
    """`streamlit run app.py` imports app.py as a module first and finds `app`, an st.App whose
    lifespan imports the pages' modules and builds torch's first optimiser, and which serves
    Plotly.js from its own route; each browser session then runs the file as its script."""
    code = (
        "import importlib.util, sys, streamlit as st\n"
        f"spec = importlib.util.spec_from_file_location('app', {APP!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "assert isinstance(mod.app, st.App), type(mod.app)\n"
        "assert 'genlab.ui.forms' not in sys.modules  # imported by the lifespan, not before\n"
        "from genlab.ui import livechart\n"
        "assert livechart._assets().startswith(livechart.ASSET_ROUTE)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.parametrize("method", sorted(METHODS))
def test_widget_for_every_param(home, method):
    data = first_dataset(method)
    at = app(method=method, data=data).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="w.method").value == method
    w = widgets(at)
    spec = load_dataset(data).spec  # the widgets show the method's defaults for this data
    base_train = params.to_dict(train_config(method, spec=spec))
    base_method = params.to_dict(method_config(method, spec=spec))
    for cls, scope, defaults in (
        (METHODS[method].Config, method_scope(method), base_method),
        (params.TrainConfig, train_scope(method), base_train),
    ):
        for p in params.describe(cls):
            key = wkey(scope, p.name)
            assert key in w, f"no widget for {method}.{p.name}"
            widget = w[key]
            expected = (
                "toggle"
                if p.type is bool
                else "selectbox"
                if p.choices
                else "number_input"
                if p.type in (int, float)
                else "text_input"
            )
            assert type(widget).__name__.lower().replace("_", "") == expected.replace("_", ""), (
                p.name,
                type(widget).__name__,
            )
            default = defaults[p.name] if defaults else p.default
            assert widget.value == default, (p.name, widget.value, default)


def test_query_params_preset_the_form(home):
    at = app(method="vae", data="moons", beta="2.5", steps="1234").run()
    assert not at.exception
    assert at.selectbox(key="w.data").value == "moons"
    assert at.selectbox(key="w.method").value == "vae"
    assert at.number_input(key=wkey("m.vae", "beta")).value == 2.5
    assert at.number_input(key=wkey("t.vae", "steps")).value == 1234
    assert not at.warning
    # the URL stays in sync with the form, and a change is reflected in the link
    at.number_input(key=wkey("m.vae", "beta")).set_value(4.0).run()
    assert at.query_params["beta"] in (["4.0"], "4.0")
    assert "beta=4.0" in share_link(at)


def test_bad_query_values_warn_and_fall_back(home):
    at = app(method="vae", data="moons", beta="abc", lr="5", bogus="1").run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "beta" in warnings and "lr" in warnings and "bogus" in warnings
    assert (
        at.number_input(key=wkey("m.vae", "beta")).value
        == {p.name: p for p in params.describe(METHODS["vae"].Config)}["beta"].default
    )
    assert at.number_input(key=wkey("m.vae", "lr")).value <= 1e-1
    at = app(method="nope", data="ring8").run()
    assert not at.exception and at.warning
    assert at.selectbox(key="w.method").value == forms.DEFAULT_METHOD


def test_start_creates_a_run_and_opens_it(home, runs_to_stop):
    at = app(method="gan", data="ring8", steps="40", **{k: str(v) for k, v in QUICK.items()})
    at.run()
    assert not at.exception
    at.button(key="start").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    run_id = at.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    run = REGISTRY.get(run_id)
    assert run is not None
    runs_to_stop.append(run)
    assert (home / run_id / "run.json").exists()
    assert run.train.steps == 40 and run.method_name == "gan"
    assert "Step" in texts(at)  # we are on the live view of the new run


def test_start_with_invalid_setup_shows_the_error(home):
    at = app(method="gan", data="ring8", arch="conv").run()
    at.button(key="start").click().run()
    assert not at.exception
    assert any("conv" in e.value for e in at.error)
    assert not home.exists() or not any(home.iterdir())  # nothing was created


@pytest.mark.parametrize(
    "scope,name,typed,message",
    [
        ("t.gan", "steps", 0, "steps=0 is below the minimum 1"),
        ("m.gan", "hidden", 100000, "hidden=100000 is above the maximum 2048"),
        ("m.gan", "lr_d", -5.0, "lr_d=-5.0 is below the minimum 1e-06"),
    ],
)
def test_a_typed_invalid_value_refuses_start_and_is_named(home, scope, name, typed, message):
    """The widget sends what was typed (no client-side clamping to the last valid value), and
    Start is refused with the CLI's message naming it; nothing is created."""
    at = app(method="gan", data="ring8").run()
    at.number_input(key=wkey(scope, name)).set_value(typed).run()
    assert not at.exception
    assert at.number_input(key=wkey(scope, name)).value == typed
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key="start").disabled
    assert not home.exists() or not any(home.iterdir())
    # a valid value again: Start is offered, and the value typed is the one the setup uses
    valid = {"steps": 3, "hidden": 64, "lr_d": 2e-4}[name]
    at.number_input(key=wkey(scope, name)).set_value(valid).run()
    assert not at.error and not at.button(key="start").disabled


def test_widgets_show_the_human_label_with_the_declared_name(home):
    at = app(method="gan", data="ring8").run()
    labels = {w.key: w.label for w in at.number_input}
    assert labels[wkey("m.gan", "lr_g")] == "Generator learning rate · lr_g"
    assert labels[wkey("t.gan", "steps")] == "Training steps · steps"
    assert at.selectbox(key=wkey("m.gan", "d_norm")).label.endswith(" · d_norm")
    at.number_input(key=wkey("m.gan", "lr_g")).set_value(2e-4).run()
    assert at.query_params["lr_g"] in (["0.0002"], "0.0002")  # links keep the declared name


def test_teaching_mode_travels_in_the_link_and_survives_a_reload(home, runs_to_stop):
    at = app(method="gan", data="ring8").run()
    at.sidebar.toggle(key="genlab.teaching.switch").set_value(True).run()
    assert not at.exception
    assert "teaching=on" in share_link(at)
    assert at.query_params["teaching"] in (["on"], "on")
    # a reload is a new session with the same URL: teaching mode is still on
    again = app(method="gan", data="ring8", teaching="on").run()
    assert again.sidebar.toggle(key="genlab.teaching.switch").value is True
    assert "Advanced" not in [e.label for e in again.expander]
    # Start in teaching mode: the live page has no live-knob panel
    again.button(key="start").click().run()
    assert not again.exception and not again.error
    run_id = again.query_params["run"]
    run = REGISTRY.get(run_id[0] if isinstance(run_id, list) else run_id)
    runs_to_stop.append(run)
    labels = [e.label for e in again.expander]
    assert "Change hyperparameters while it trains" not in labels, labels
    # (that the live page keeps ?teaching=on in its URL through a reload is checked in the
    # browser: AppTest's switch_page runs the page without app.py's sidebar)
    again.session_state["genlab.teaching"] = False
    again.run()
    assert "Change hyperparameters while it trains" in [e.label for e in again.expander]


def test_a_drawing_travels_in_the_link(home):
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal(0, 1, (60, 2)), np.repeat([[0], [1]], 30, 0)], 1)
    at = app(data="csv2d", points=own_data.encode_points(pts.astype(np.float32))).run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert at.radio(key=own_data.MODE).value == own_data.DRAW
    assert "60" in texts(at)  # the drawing's points, previewed like an upload
    link = share_link(at)
    assert "points=" in link and not at.button(key="start").disabled
    # too big for a link: the link says so instead of silently dropping it
    big = np.concatenate([rng.uniform(-3, 3, (3000, 2)), np.zeros((3000, 1))], 1)
    at.session_state[own_data.POINTS] = big.astype(np.float32)
    at.run()
    link = share_link(at)
    assert "points=" not in link
    assert any("too big to travel in the link" in c.value for c in at.caption)


def test_upload_dataset_preview_and_error(home):
    at = app(data="csv2d").run()
    assert not at.exception
    assert at.file_uploader and any("Upload a file" in i.value for i in at.info)
    rows = "\n".join(f"{np.cos(t):.3f},{np.sin(t):.3f}" for t in np.linspace(0, 6, 300))
    at.file_uploader[0].upload("pts.csv", rows.encode(), "text/csv").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "300" in texts(at)  # the preview counts what was parsed
    assert [c.key for c in charts(at)] == ["preview.points"]
    saved = list((Path(tempfile.gettempdir()) / own_data.UPLOAD_DIR).glob("*-pts.csv"))
    assert saved and saved[0].read_bytes() == rows.encode()  # under the temp folder, not the repo
    at.file_uploader[0].set_value(("bad.csv", b"x,y\nfoo,bar\n", "text/csv")).run()
    assert not at.exception
    assert any("Cannot use this data" in e.value for e in at.error)
    assert at.button(key="start").disabled
    # the user's own file name, never the saved copy's (hash-prefixed, in the server's temp)
    at.file_uploader[0].set_value(("empty.csv", b"", "text/csv")).run()
    errors = " ".join(e.value for e in at.error)
    assert "empty.csv" in errors, errors
    assert tempfile.gettempdir() not in errors and "e3b0c44298fc1c14" not in errors


# ----- Live page -------------------------------------------------------------------------------
def _start(runs_to_stop, method="gan", data="ring8", **train) -> Run:
    run = Run(method, data, {}, {**QUICK, **train}).start()
    runs_to_stop.append(run)
    return run


def _assert_live_page(at: AppTest, status: str) -> None:
    assert not at.exception, at.exception
    body = texts(at)
    assert status in body, body
    assert "Step" in body


def test_live_page_running(home, runs_to_stop):
    run = _start(runs_to_stop, steps=100_000)
    assert wait_for(lambda: run.snapshot().step >= 10 and run.snapshots)
    at = live_page(run.id)
    _assert_live_page(at, "running")
    assert {b.key for b in at.button} >= {"ctl.pause", "ctl.step", "ctl.stop"}
    assert len(charts(at)) >= 2  # loss curves + the samples scatter
    at.button(key="ctl.pause").click().run()
    assert wait_for(lambda: run.status == "paused", 30)


def test_applying_a_live_knob_is_confirmed(home, runs_to_stop):
    run = _start(runs_to_stop, steps=100_000)
    assert wait_for(lambda: run.snapshot().step >= 5)
    at = live_page(run.id)
    at.number_input(key=wkey(f"live.{run.id}", "lr_d")).set_value(4e-4).run()
    assert not at.button(key="live.apply").disabled
    at.button(key="live.apply").click().run()
    assert not at.exception, at.exception
    assert any("Applied at step" in s.value and "lr_d=0.0004" in s.value for s in at.success)
    assert at.button(key="live.apply").disabled  # nothing left to apply
    assert run.cfg.lr_d == 4e-4
    # a typed value out of range is refused with its name, not applied
    at.number_input(key=wkey(f"live.{run.id}", "lr_d")).set_value(-5.0).run()
    at.button(key="live.apply").click().run()
    assert any("lr_d=-5.0 is below the minimum" in e.value for e in at.error)
    assert run.cfg.lr_d == 4e-4


def test_live_page_paused_then_step_and_stop(home, runs_to_stop):
    run = _start(runs_to_stop, steps=100_000)
    assert wait_for(lambda: run.snapshot().step >= 5)
    run.pause()
    assert wait_for(lambda: run.status == "paused")
    at = live_page(run.id)
    _assert_live_page(at, "paused")
    step = run.snapshot().step
    at.number_input(key="ctl.n").set_value(7)
    at.button(key="ctl.step").click().run()
    assert not at.exception
    assert wait_for(lambda: run.status == "paused" and run.snapshot().step == step + 7, 30)
    at.button(key="ctl.stop").click().run()
    assert wait_for(lambda: run.status == "stopped", 30)
    at.run()
    _assert_live_page(at, "stopped")


def test_live_page_done(home, runs_to_stop, metrics_available):
    run = _start(runs_to_stop, steps=30)
    run.join(60)
    assert run.status == "done", run.snapshot().error
    at = live_page(run.id)
    _assert_live_page(at, "done")
    assert not any(b.key == "ctl.pause" and not b.disabled for b in at.button)
    assert any(b.key == "resume" for b in at.button)  # train further from the checkpoint
    assert len(charts(at)) >= 2
    # every kept snapshot can be shown: the slider lists them and moving it redraws
    slider = at.select_slider(key=f"live.snap.{run.id}")
    kept = [s.step for s in run.snapshots]
    assert list(slider.options) == [f"{s:,}" for s in kept] and slider.value == kept[-1]
    slider.set_value(kept[0]).run()
    assert not at.exception and at.select_slider(key=f"live.snap.{run.id}").value == kept[0]


def test_a_followed_run_that_ends_shows_its_last_snapshot(home, runs_to_stop):
    """Seen in the browser: the slider stayed on the snapshot before the run's final one."""
    run = _start(runs_to_stop, steps=100_000, sample_every=5)
    assert wait_for(lambda: len(run.snapshots) >= 3)
    at = live_page(run.id)  # following the newest snapshot while the run trains
    assert at.toggle(key=f"live.follow.{run.id}").value
    shown = at.select_slider(key=f"live.snap.{run.id}").value
    assert wait_for(lambda: run.snapshots[-1].step > shown)  # newer snapshots than the page's
    run.stop()
    assert wait_for(lambda: run.status == "stopped", 30)
    at.run()
    final = [s.step for s in run.snapshots][-1]
    assert at.select_slider(key=f"live.snap.{run.id}").value == final
    at.select_slider(key=f"live.snap.{run.id}").set_value(run.snapshots[0].step).run()
    assert at.select_slider(key=f"live.snap.{run.id}").value == run.snapshots[0].step  # free


def test_live_page_failed(home, runs_to_stop, monkeypatch):
    def boom(self, x, y=None):
        raise RuntimeError("boom: the method exploded")

    monkeypatch.setattr(METHODS["gan"], "train_step", boom)
    run = _start(runs_to_stop, steps=50)
    run.join(60)
    assert run.status == "failed"
    at = live_page(run.id)
    _assert_live_page(at, "failed")
    assert any("boom: the method exploded" in e.value for e in at.error)


def test_live_page_from_disk_and_resume(home, runs_to_stop, metrics_available):
    run = _start(runs_to_stop, steps=20)
    run.join(60)
    REGISTRY.forget(run.id)  # as after a server restart: only the folder is left
    assert REGISTRY.get(run.id) is None
    at = live_page(run.id)
    _assert_live_page(at, "done")
    assert "read from disk" in texts(at)
    assert len(charts(at)) >= 2  # curves from metrics.jsonl, samples from samples/
    at.number_input(key=f"resume.{run.id}").set_value(30)
    at.button(key="resume").click().run()
    assert not at.exception
    resumed = REGISTRY.get(run.id)
    assert resumed is not None
    runs_to_stop.append(resumed)
    resumed.join(60)
    assert resumed.snapshot().step == 30


def test_live_page_text_samples(home, runs_to_stop):
    run = _start(runs_to_stop, method="lstm", data="names", steps=100_000)
    assert wait_for(lambda: run.snapshots)
    at = live_page(run.id)
    _assert_live_page(at, "running")
    assert not at.code  # monospace blocks, not st.code's 1.5 MB highlighter
    shown = "\n".join(h.proto.body for h in at.get("html"))
    assert sum(s in shown for s in run.snapshots[-1].payload if s) >= 5  # the generated strings
    assert any("are new" in c.value for c in at.caption)


def test_live_page_without_run_and_unknown_run(home):
    at = live_page(None)
    assert not at.exception
    at = live_page("no-such-run")
    assert not at.exception and at.error


def test_sidebar_and_interrupted_runs(home):
    # a folder that a killed server left "running" shows as interrupted
    store = RunStore()
    d = store.run_dir("20200101-000000-gan-ring8-dead")
    d.path.mkdir(parents=True)
    d.write_info(
        {
            "id": d.path.name,
            "method": "gan",
            "dataset": "ring8",
            "method_config": {},
            "train_config": {},
            "status": "running",
            "step": 3,
            "steps": 10,
        }
    )
    at = app().run()
    assert not at.exception
    assert store.run_dir(d.path.name).read_info()["status"] == "interrupted"
    assert any("Device" in c.value for c in at.sidebar.caption)


def test_replay_of_a_done_run_plays_snapshots_and_exports_a_gif(home, runs_to_stop):
    """Issue 12: a finished run plays back like a video: Play moves one timeline through the
    kept snapshots (from the start when it was at the end), and the replay exports as a GIF."""
    from PIL import Image

    run = _start(runs_to_stop, steps=40, sample_every=10)
    assert run.join(60) and run.status == "done", run.snapshot().error
    steps = [s.step for s in run.snapshots]
    at = live_page(run.id)
    assert not at.exception, at.exception
    timeline = at.select_slider(key=f"replay.step.{run.id}")
    assert timeline.value == steps[-1]
    assert "replay.loss" in [c.key for c in charts(at)]  # the curves, with a cursor
    at.button(key=f"replay.toggle.{run.id}").click().run()  # Play: from the start, one tick
    assert not at.exception, at.exception
    assert at.select_slider(key=f"replay.step.{run.id}").value == steps[1]
    at.run()  # the next tick
    assert at.select_slider(key=f"replay.step.{run.id}").value == steps[2]
    at.button(key=f"replay.makegif.{run.id}").click().run()
    assert not at.exception, at.exception
    gif = at.session_state[f"replay.gif.{run.id}"]
    im = Image.open(io.BytesIO(gif))
    assert im.format == "GIF" and im.n_frames == len(steps)
    # each frame shows D's field under the points, as it was at that step (the kept weights):
    # no frame has a white background, and the field of the first is not the field of the last
    backgrounds = []
    for i in (0, im.n_frames - 1):
        im.seek(i)
        frame = np.asarray(im.convert("RGB"), dtype=np.int16)[18:]  # below the step caption
        assert (frame == 255).all(axis=2).mean() < 0.01  # the field: no plain white background
        backgrounds.append(frame[5:40, 5:40])  # a corner the points do not reach
    assert np.abs(backgrounds[0] - backgrounds[1]).max() > 10


def test_the_replay_redraws_the_2d_canvas_as_it_was_at_each_step(home, runs_to_stop):
    """Issue 12: the replay shows the inside-the-model view as it was: a 2D run keeps a copy of
    its weights at every snapshot, and the timeline draws the discriminator's field, the
    generator's manifold and its samples from the copy kept at that step, not from the end."""
    run = _start(runs_to_stop, steps=40, sample_every=10)
    assert run.join(60) and run.status == "done", run.snapshot().error
    steps = [s.step for s in run.snapshots]
    assert run.dir.view_weight_steps() == steps  # one copy per snapshot (few: none thinned)
    at = live_page(run.id)
    assert not at.exception, at.exception
    at.select_slider(key=f"replay.step.{run.id}").set_value(steps[0]).run()
    assert not at.exception, at.exception
    first = next(c.figure for c in charts(at) if c.key == "replay.samples")
    assert any(f"at step {steps[0]:,}" in c.value for c in at.caption)
    names = {t.get("name") for t in first["data"]}
    assert {"real", "generated"} <= names and any(t["type"] == "heatmap" for t in first["data"])
    at.select_slider(key=f"replay.step.{run.id}").set_value(steps[-1]).run()
    last = next(c.figure for c in charts(at) if c.key == "replay.samples")
    assert any(f"at step {steps[-1]:,}" in c.value for c in at.caption)
    z = [t["z"] for t in first["data"] if t["type"] == "heatmap"]
    z2 = [t["z"] for t in last["data"] if t["type"] == "heatmap"]
    assert z != z2  # D's field at step 1 is not the field at the end
