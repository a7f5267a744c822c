"""Drawing your own 2D data (issue #6): the blob and selection helpers with known answers, and the
Train page's canvas under AppTest (a Plotly selection event is simulated through the chart's
session state, as the browser would send it), through to a run trained on the drawing."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see genlab/ui/__init__.py

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from charts import charts  # noqa: E402  (tests/charts.py)
from streamlit.testing.v1 import AppTest  # noqa: E402

from genlab.data.points import parse_points_csv  # noqa: E402
from genlab.runs import REGISTRY  # noqa: E402
from genlab.ui import own_data as od  # noqa: E402

APP = os.path.join(os.path.dirname(__file__), "..", "app.py")


def rng():
    return np.random.default_rng(0)


# ----- headless ---------------------------------------------------------------------------------
def test_blob_at_centre_and_spread():
    pts = od.blob_at(1.0, -2.0, 4000, 0.3, rng())
    assert pts.shape == (4000, 2)
    assert np.allclose(pts.mean(0), [1.0, -2.0], atol=0.03)
    assert np.allclose(pts.std(0), 0.3, atol=0.02)
    edge = od.blob_at(od.LIM, od.LIM, 500, 1.0, rng())  # clipped to the canvas
    assert edge.max() <= od.LIM


def test_blob_in_box_and_lasso_stay_inside():
    box = od.blob_in_box([2.0, -1.0], [0.5, 1.5], 1000, rng())  # corners in any order
    assert box.shape == (1000, 2)
    assert box[:, 0].min() >= -1 and box[:, 0].max() <= 2
    assert box[:, 1].min() >= 0.5 and box[:, 1].max() <= 1.5
    tri_x, tri_y = [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]
    pts = od.blob_in_lasso(tri_x, tri_y, 500, rng())
    assert pts.shape == (500, 2)
    assert (pts[:, 0] >= 0).all() and (pts[:, 1] >= 0).all() and (pts.sum(1) <= 2 + 1e-9).all()


def test_inside_polygon_known_answers():
    sq_x, sq_y = [0, 1, 1, 0], [0, 0, 1, 1]
    px = np.array([0.5, 1.5, -0.1, 0.99])
    py = np.array([0.5, 0.5, 0.5, 0.01])
    assert od.inside_polygon(px, py, sq_x, sq_y).tolist() == [True, False, False, True]
    assert od.polygon_area(sq_x, sq_y) == pytest.approx(1.0)
    assert od.polygon_area([0, 2, 0], [0, 0, 2]) == pytest.approx(2.0)


def test_points_from_selection():
    click = {"points": [{"x": 1.0, "y": 1.0}, {"x": -1.0, "y": 0.0}], "box": [], "lasso": []}
    new = od.points_from_selection(click, 30, 0.2, 2, rng())
    assert new.shape == (60, 3) and (new[:, 2] == 2).all()  # a blob per clicked dot
    box = {"points": [{"x": 0.0, "y": 0.0}] * 9, "box": [{"x": [0, 2], "y": [0, 1]}], "lasso": []}
    new = od.points_from_selection(box, 30, 0.2, 0, rng())
    # the box alone, as dense as a click's 2σ disk: 30 / (π 0.4²) per unit² × 2 units²
    assert len(new) == round(2 * 30 / (np.pi * 0.4**2))
    assert (new[:, 0] >= 0).all() and (new[:, 0] <= 2).all() and (new[:, 1] <= 1).all()
    lasso = {"points": [], "box": [], "lasso": [{"x": [0, 1, 0], "y": [0, 0, 1]}]}
    new = od.points_from_selection(lasso, 50, 0.5, 1, rng())
    assert len(new) == 50 and (new[:, :2].sum(1) <= 1 + 1e-6).all()  # min count: one blob
    empty = od.points_from_selection({"points": [], "box": [], "lasso": []}, 30, 0.2, 0, rng())
    assert empty.shape == (0, 3)


def test_csv_round_trip_with_and_without_classes():
    a = np.concatenate([od.blob_at(1, 1, 20, 0.1, rng()), np.zeros((20, 1))], 1)
    one = parse_points_csv(od.to_csv(a))
    assert od.to_csv(a).startswith(b"x,y\n") and one.spec.n_classes == 0
    assert one.spec.n_train + one.spec.n_val == 20
    b = np.concatenate([od.blob_at(-1, -1, 10, 0.1, rng()), np.full((10, 1), 3)], 1)
    two = parse_points_csv(od.to_csv(np.concatenate([a, b])))
    assert two.spec.class_names == ("A", "D") and two.spec.n_train + two.spec.n_val == 30


def test_a_drawing_round_trips_through_its_link_text():
    rng = np.random.default_rng(1)
    pts = np.concatenate([rng.uniform(-4, 4, (150, 2)), rng.integers(0, 4, (150, 1))], 1)
    text = od.encode_points(pts.astype(np.float32))
    assert text.replace("-", "").replace("_", "").isalnum()  # URL-safe as it is
    back = od.decode_points(text)
    assert back.shape == (150, 3) and np.abs(back[:, :2] - pts[:, :2]).max() <= 0.005 + 1e-6
    assert (back[:, 2] == pts[:, 2]).all()
    for bad in ("", "not a drawing", od.encode_points(pts[:5].astype(np.float32))):
        with pytest.raises(ValueError, match="points="):
            od.decode_points(bad)


def test_canvas_figure_has_a_clickable_grid_first():
    pts = np.array([[0.0, 0.0, 0], [1.0, 1.0, 1]], dtype=np.float32)
    fig = od.canvas_figure(pts)
    assert len(fig.data[0].x) == od.GRID_N**2  # trace 0: the dots to click
    assert [t.name for t in fig.data[1:]] == ["class A", "class B"]
    assert fig.layout.dragmode is None  # pan: Streamlit's click-to-select only works there


# ----- the Train page ---------------------------------------------------------------------------
def _select(at: AppTest, selection: dict) -> AppTest:
    """What the browser sends after a click or a box on the canvas (on_select="rerun")."""
    key = f"draw.canvas.{at.session_state[od.CANVAS]}"
    at.session_state[key] = {"selection": {"points": [], "box": [], "lasso": [], **selection}}
    return at.run()


def _captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_draw_preview_undo_clear_and_train(home):
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["data"] = "csv2d"
    at.run()
    assert at.file_uploader  # uploading a CSV stays the default
    at.radio(key=od.MODE).set_value("Draw them").run()
    assert not at.exception and not at.file_uploader
    assert len(at.get("plotly_chart")) == 1 and at.button(key="start").disabled
    _select(at, {"points": [{"x": 1.0, "y": 1.0, "curve_number": 0}]})
    assert not at.exception
    assert "**40** points drawn" in _captions(at)
    assert "your 40 points" in _captions(at)  # the preview: parsed like an uploaded CSV
    assert len(at.get("plotly_chart")) == 1  # the canvas
    assert [c.key for c in charts(at)] == ["draw.canvas.1", "preview.points"]  # and the preview
    at.selectbox(key="draw.class").set_value(1).run()
    _select(at, {"box": [{"x": [-2.0, -1.0], "y": [-2.0, -1.0]}]})
    n_box = round(1.0 * 40 / (np.pi * 0.5**2))
    assert f"**{40 + n_box}** points drawn, 2 classes" in _captions(at)
    assert "2 classes (A, B)" in "\n".join(m.value for m in at.markdown)
    at.button(key="draw.undo").click().run()
    assert "**40** points drawn" in _captions(at)
    at.button(key="draw.clear").click().run()
    assert "**0** points drawn" in _captions(at) and at.button(key="start").disabled
    at.button(key="draw.undo").click().run()  # the clear can be undone too
    assert "**40** points drawn" in _captions(at)
    assert not at.button(key="start").disabled
    at.button(key="start").click().run()
    assert not at.exception
    run_id = at.query_params["run"]
    run_id = run_id[0] if isinstance(run_id, list) else run_id
    run = REGISTRY.get(run_id)
    try:
        assert run.dataset_name == "csv2d" and run.data.spec.n_train + run.data.spec.n_val == 40
        assert open(run.data_file, "rb").read().startswith(b"x,y\n")  # copied into the run
    finally:
        run.stop()
        run.join(30)
