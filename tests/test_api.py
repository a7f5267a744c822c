"""The notebook API: genlab.train/start/load/compare, lazily imported, in the same run store."""

from __future__ import annotations

import subprocess
import sys

import pytest

import genlab
from genlab.figures import curves
from genlab.runs import RunDir, RunStore, listing

TRAIN = dict(steps=60, batch_size=32, log_every=10, sample_every=20, eval_every=30)


def test_import_genlab_stays_light_and_the_api_loads_on_first_use():
    code = (
        "import sys, genlab; assert 'torch' not in sys.modules and 'genlab.api' not in sys.modules;"
        "genlab.train; assert 'genlab.api' in sys.modules; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
    with pytest.raises(AttributeError, match="nope"):
        genlab.nope  # noqa: B018


def test_train_routes_values_and_gives_metrics_plots_samples(home):
    with pytest.raises(ValueError, match=r"unknown parameter 'nope' .*lr_g"):
        genlab.train("gan", "ring8", nope=1)
    with pytest.raises(ValueError, match="lr_g"):
        genlab.train("gan", "ring8", lr_g=-1.0)
    run = genlab.train("gan", "ring8", lr_g=1e-3, seed=2, progress=False, **TRAIN)
    assert run.status == "done" and run.dir.parent == RunStore().home
    info = run.info
    assert info["method_config"]["lr_g"] == 1e-3 and info["train_config"]["seed"] == 2
    df = run.metrics()
    rows = RunDir(run.dir).read_metrics()
    assert sorted(set(df["step"])) == sorted({r["step"] for r in rows})
    for r in rows:
        line = df[df["step"] == r["step"]].iloc[0]
        assert all(line[k] == pytest.approx(v) for k, v in r.items() if k != "t")
    figs = run.plot()
    app = curves.run_curve_figures(run.run.history, [], run.id, height=320)  # the live page's
    assert list(figs) == [g for g, _ in app] and "eval" in figs
    assert [t.name for t in figs["loss"].data] == [t.name for t in dict(app)["loss"].data]
    x = run.samples(16, seed=1)
    assert x.shape == (16, 2)
    assert (x == run.samples(16, seed=1)).all()  # seeded
    assert run.show().size == (320, 320)


def test_start_load_and_compare(home):
    a = genlab.start("gan", "ring8", **TRAIN).wait(progress=False)
    b = genlab.start("vae", "ring8", **TRAIN).wait(progress=False)
    loaded = genlab.load(b.dir)
    assert loaded.run is None and loaded.status == "done" and loaded.samples(8).shape == (8, 2)
    assert list(loaded.plot()) == list(b.plot())
    table, figure, metric = genlab.compare([a, loaded])
    assert list(table["method"]) == ["gan", "vae"]
    assert metric.startswith("eval/") and "floor/" + metric.split("/")[1] in table.columns
    assert [t.name for t in figure.data] == [
        listing.row_of(a.run).label,
        listing.row_of(b.dir).label,
    ]
    assert genlab.compare([a.dir, b.dir], "loss/d").metric == "loss/d"
    with pytest.raises(ValueError, match="not a run folder"):
        genlab.load(home / "nothing")
