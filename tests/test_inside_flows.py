"""Inside diffusion, flow and attention models: the headless views (frames, strips, step cost,
attention maps) and the live page's views under AppTest for tiny stopped runs."""

from __future__ import annotations

import io
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see genlab/ui/__init__.py

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from charts import charts  # tests/charts.py  # noqa: E402
from PIL import Image  # noqa: E402

from genlab.data import load_dataset  # noqa: E402
from genlab.figures import flows as viz_flows  # noqa: E402
from genlab.runs import Run  # noqa: E402
from genlab.runs.build import build_method, train_config  # noqa: E402
from genlab.ui.inside_kinds import available_views  # noqa: E402
from genlab.views import flows as inspect_flows  # noqa: E402
from genlab.views import model as view_model  # noqa: E402
from tests.test_inside_kinds import QUICK, TINY, _inside_page, _show_every_view, _wait  # noqa: E402

SMALL = {
    "ddpm": {"hidden": 32, "channels": 8, "sample_steps": 10},
    "flow": {"hidden": 32, "channels": 8, "sample_steps": 10},
    "transformer": {"hidden": 16, "layers": 2, "heads": 2},
}


def tiny(method, dataset):
    data = load_dataset(dataset)
    return build_method(method, SMALL[method], train_config(method), data.spec).eval(), data


@pytest.mark.parametrize("method", ["ddpm", "flow"])
def test_process_frames_run_from_noise_to_data(method):
    m, data = tiny(method, "ring8")
    view = inspect_flows.process_frames(m, data.x_val[:50], n=30, frames=6, grid=5)
    assert view.levels[0] == 1.0 and view.levels[-1] == 0.0 and len(view.levels) == 6
    assert np.all(np.diff(view.levels) < 0)
    assert view.generated.shape == (6, 30, 2) and view.noised.shape == (6, 50, 2)
    assert view.field.shape == (6, 25, 2) and view.nfe == 10
    assert np.allclose(view.noised[-1], data.x_val[:50].numpy(), atol=1e-5)  # t = 0: the data
    fig = viz_flows.process_figure(view, list(viz_flows.LAYERS))
    assert len(fig.frames) == 6 and len(fig.frames[0].data) == 3
    assert fig.layout.sliders[0].steps[0].label == "1.00"


def test_image_strips_and_step_cost():
    m, data = tiny("ddpm", "digits")
    rev = Image.open(io.BytesIO(inspect_flows.reverse_strip(m, n=2, k=4, cell=16)))
    fwd = Image.open(io.BytesIO(inspect_flows.forward_strip(m, data.x_val[:3], k=4, cell=16)))
    assert rev.size[0] == fwd.size[0] and fwd.size[1] > rev.size[1]  # 4 columns; 3 rows vs 2
    cost = inspect_flows.step_cost(m, 5, n=4)
    assert cost.nfe == 5 and cost.ms_per_sample > 0
    assert m.cfg.sample_steps == 10  # the shared copy keeps its own setting


def test_attention_maps_and_views_offered():
    m, data = tiny("transformer", "names")
    att, chars = inspect_flows.attention_maps(m, "ann")
    assert att.shape == (2, 2, 4, 4) and chars == ["·", "a", "n", "n"]
    assert view_model.capabilities(m, data) >= {"text", "attention"}
    assert "attention" in available_views("text", view_model.capabilities(m, data))
    lstm = build_method("lstm", TINY["lstm"], train_config("lstm"), data.spec)
    assert inspect_flows.attention_maps(lstm, "ann") is None
    assert "attention" not in available_views("text", view_model.capabilities(lstm, data))
    fig = viz_flows.attention_figure(att, chars)
    assert len(fig.data) == 4


def _stopped(runs_to_stop, method, dataset):
    """Stopped after a few steps: ended, without the final evaluation (a classifier on images)."""
    run = Run(method, dataset, SMALL[method], {**QUICK, "steps": 100_000}).start()
    runs_to_stop.append(run)
    assert _wait(lambda: run.snapshot().step >= 10)
    run.stop()
    assert run.join(60) and run.status == "stopped"
    return run


def _process_chart(at) -> dict:
    specs = [c.figure for c in charts(at)]
    return next(s for s in specs if s.get("frames"))


def test_live_page_points_process_canvas(home, runs_to_stop):
    run = _stopped(runs_to_stop, "flow", "ring8")
    at = _inside_page(run.id)
    assert not at.exception, at.exception
    spec = _process_chart(at)
    assert len(spec["frames"]) >= 2 and spec["layout"]["sliders"]
    at.toggle(key=f"inside.flows.field.{run.id}").set_value(False).run()
    assert not at.exception
    spec = _process_chart(at)
    assert len(spec["data"]) == 2  # the arrows are gone


def test_live_page_image_process_and_text_attention(home, runs_to_stop):
    run = _stopped(runs_to_stop, "ddpm", "digits")
    at = _inside_page(run.id)
    assert "Reverse process" in _show_every_view(at, "images")
    at.radio(key="inside.view.images").set_value("Reverse process").run()
    assert any("network evaluations" in c.value for c in at.caption)
    run = _stopped(runs_to_stop, "transformer", "names")
    at = _inside_page(run.id)
    assert "Attention" in _show_every_view(at, "text")
    at.radio(key="inside.view.text").set_value("Attention").run()
    at.text_input(key="inside.att.typed").input("emma").run()
    assert not at.exception and not at.error
    assert any("Reading 'emma'" in c.value for c in at.caption)
