"""Sweeps: axis parsing and planning, validation up front, ranking, a small sweep on the local
executor and on Ray Tune (with ASHA early stopping), and the CLI's bad-input exits."""

import json
import math

import pytest
import ray

from genlab import cli
from genlab.runs import RunStore
from genlab.runs.ray_exec import ensure_ray
from genlab.runs.sweep import Sweep, TrialResult, list_sweeps, rank, sweep_results
from genlab.runs.sweep_spec import Axis, SweepSpec, parse_axis, plan_points, validate

TINY = {"hidden": 16, "latent_dim": 4}
QUICK = {"steps": 40, "log_every": 10, "sample_every": 40, "eval_every": 0, "checkpoint_every": 0}


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path))
    return RunStore(tmp_path)


def test_parse_axis_forms():
    assert parse_axis("lr_g=1e-4,1e-3", "gan") == Axis("lr_g", values=(1e-4, 1e-3))
    assert parse_axis("batch_size=64,256", "gan").values == (64, 256)
    assert parse_axis("loss=hinge,wgan-gp", "gan").values == ("hinge", "wgan-gp")
    assert parse_axis("lr_g=1e-4:1e-2:3", "gan") == Axis("lr_g", low=1e-4, high=1e-2, n=3)
    assert parse_axis("lr_g=1e-4:1e-2", "gan") == Axis("lr_g", low=1e-4, high=1e-2)
    assert parse_axis("loss", "gan") == Axis("loss")
    with pytest.raises(ValueError, match="not a hyperparameter of gan"):
        parse_axis("lr=1", "gan")
    with pytest.raises(ValueError, match="batch_size='x' must be an integer"):
        parse_axis("batch_size=x", "gan")


def test_grid_is_the_cross_product_and_log_ranges_are_log_spaced():
    spec = SweepSpec(
        "gan",
        "ring8",
        (Axis("lr_g", low=1e-4, high=1e-2, n=3), Axis("batch_size", values=(64, 256))),
    )
    points = plan_points(spec)
    assert [p["lr_g"] for p in points] == [1e-4, 1e-4, 1e-3, 1e-3, 1e-2, 1e-2]
    assert [p["batch_size"] for p in points] == [64, 256] * 3


def test_random_search_is_log_uniform_within_bounds_and_reproducible():
    spec = SweepSpec(
        "gan",
        "ring8",
        (Axis("lr_g", low=1e-5, high=1e-1), Axis("hidden")),
        search="random",
        samples=200,
    )
    points = plan_points(spec)
    assert points == plan_points(spec)
    lrs = [p["lr_g"] for p in points]
    assert all(1e-5 <= v <= 1e-1 for v in lrs)
    # log-uniform: about a quarter of the draws in each of the four decades
    decades = [sum(10 ** (-5 + i) <= v < 10 ** (-4 + i) for v in lrs) for i in range(4)]
    assert min(decades) > 25, decades
    assert all(isinstance(p["hidden"], int) and 8 <= p["hidden"] <= 2048 for p in points)


def test_validation_reports_every_problem_at_once(store):
    spec = SweepSpec(
        "gan",
        "ring8",
        (Axis("lr_g", low=1.0, high=2.0, n=3), Axis("hidden", values=(16,))),
        seeds=(0, 0),
        mode="up",
        early_stop="asha",
        executor="local",
    )
    with pytest.raises(ValueError) as e:
        validate(spec)
    msg = str(e.value)
    for part in ("mode='up'", "asha needs executor=ray", "seeds [0, 0]", "lr_g: range 1:2"):
        assert part in msg
    bad_metric = SweepSpec("gan", "ring8", (Axis("lr_g", values=(1e-3,)),), metric="eval/nope")
    with pytest.raises(ValueError, match="metric 'eval/nope' is not logged.*eval/hq"):
        validate(bad_metric)


def test_rank_best_first_missing_values_last():
    rs = [
        TrialResult(i, f"r{i}", {}, 0, value=v)
        for i, v in enumerate([0.2, None, 0.9, math.nan, 0.5])
    ]
    assert [r.trial for r in rank(rs, "max")] == [2, 4, 0, 1, 3]
    assert [r.trial for r in rank(rs, "min")] == [0, 4, 2, 1, 3]


def _check_ranked(results, mode, store, sweep_id):
    values = [r.value for r in results]
    assert all(v is not None for v in values)
    assert values == sorted(values, reverse=mode == "max")
    for r in results:
        info = store.run_dir(r.run_id).read_info()
        assert info["sweep"]["id"] == sweep_id
        assert info["sweep"]["params"] == r.params and info["seed"] == r.seed
        assert r.value == info["last"][info["sweep"]["metric"]]


def test_local_sweep_runs_every_trial_and_ranks_them(store):
    spec = SweepSpec(
        "gan",
        "ring8",
        (Axis("lr_g", values=(1e-4, 1e-3)),),
        seeds=(0, 1),
        metric="eval/mmd",
        mode="min",
        parallel=2,
        method_values=TINY,
        train_values=QUICK,
    )
    sweep = Sweep(spec, store)
    results = sweep.run()
    assert len(results) == 4 and all(r.status == "done" and r.step == 40 for r in results)
    assert {(r.params["lr_g"], r.seed) for r in results} == {
        (a, s) for a in (1e-4, 1e-3) for s in (0, 1)
    }
    _check_ranked(results, "min", store, sweep.id)
    record = list_sweeps(store)[0]
    assert record["id"] == sweep.id and record["status"] == "done"
    assert [r.run_id for r in sweep_results(record, store)] == [r.run_id for r in results]
    # re-ranked by another metric on demand (the Compare page's choice)
    by_hq = sweep_results(record, store, metric="eval/hq", mode="max")
    assert [r.value for r in by_hq] == sorted((r.value for r in by_hq), reverse=True)


def test_ray_tune_sweep_with_asha_records_early_stops(store):
    ensure_ray(num_cpus=2)
    try:
        # one trial at a time, the good learning rate first: ASHA then has the good trials'
        # scores when the poor ones (a generator that barely moves) reach the first rung
        spec = SweepSpec(
            "gan",
            "ring8",
            (Axis("lr_g", values=(1e-3, 1e-6)),),
            seeds=(0, 1),
            metric="eval/mmd",
            mode="min",
            executor="ray",
            early_stop="asha",
            parallel=1,
            method_values=TINY,
            train_values=dict(QUICK, steps=160, eval_every=40),
        )
        sweep = Sweep(spec, store)
        results = sweep.run()
    finally:
        ray.shutdown()
    assert len(results) == 4
    _check_ranked(results, "min", store, sweep.id)
    for r in results:
        if r.early_stopped_at is None:
            assert r.status == "done" and r.step == 160
        else:
            assert r.status == "stopped" and r.step == r.early_stopped_at < 160
    assert any(r.early_stopped_at is not None for r in results)
    assert results[0].params["lr_g"] == 1e-3


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["--param", "lr=1e-4,1e-3"], "not a hyperparameter of gan"),
        (["--param", "lr_g=1e-4,1e-3", "--param", "lr_d=1e-4", "--param", "hidden=8"], "1 or 2"),
        (["--param", "lr_g=1e-4,1e-3", "--seeds", "0,x"], "--seeds"),
        (["--param", "lr_g=1e-4,1e-3", "--early-stop", "asha"], "needs executor=ray"),
        (["--param", "lr_g=1e-4,1e-3", "--executor", "spark"], "executor 'spark'"),
        (["--param", "lr_g=1e-4,1e-3", "--metric", "eval/nope"], "eval/nope"),
        (["--param", "hidden=1:2:3"], "outside the allowed"),
    ],
)
def test_cli_sweep_bad_input_exits_2(argv, msg, capsys, store):
    assert cli.main(["sweep", "--method", "gan", "--data", "ring8", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("genlab: error:") and msg in err and len(err.splitlines()) == 1


def test_cli_sweep_json(capsys, store):
    argv = [
        "sweep",
        "--method",
        "gan",
        "--data",
        "ring8",
        "--param",
        "lr_g=1e-4,1e-3",
        "--metric",
        "loss/d",
        "--mode",
        "min",
        "--json",
        "--set",
        "hidden=16",
        *[x for k, v in QUICK.items() for x in ("--set", f"{k}={v}")],
    ]
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert [t["rank"] for t in out["trials"]] == [1, 2]
    assert out["trials"][0]["value"] <= out["trials"][1]["value"]
    assert out["metric"] == "loss/d" and out["executor"] == "local"


def test_compare_page_shows_a_sweep_ranked_with_parallel_coordinates(store):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    spec = SweepSpec(
        "gan",
        "ring8",
        (Axis("lr_g", values=(1e-4, 1e-3)),),
        seeds=(0,),
        metric="loss/d",
        mode="min",
        method_values=TINY,
        train_values=QUICK,
    )
    sweep = Sweep(spec, store)
    results = sweep.run()
    root = Path(__file__).resolve().parent.parent
    at = AppTest.from_file(str(root / "pages" / "compare.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="sweep_sel").value == sweep.id
    df = next(d.value for d in at.dataframe if "early stop" in d.value.columns)
    assert list(df["lr_g"]) == [r.params["lr_g"] for r in results]
    assert list(df["loss/d"]) == pytest.approx([r.value for r in results])
    assert (df["early stop"] == "completed").all()
    charts = [c for c in at.get("plotly_chart") if "parcoords" in c.proto.spec]
    assert charts
