"""genlab.runs.catalogue: runs from memory and disk as rows, series, tables; actions; downloads."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile

import numpy as np
import pytest
import torch

from genlab.kinds import sequences_csv
from genlab.runs import REGISTRY, Run, RunStore, catalogue, listing, sampling
from genlab.runs.protocol import SampleSnapshot
from genlab.runs.store import RunDir

TRAIN = {"steps": 20, "batch_size": 32, "device": "cpu", "log_every": 5, "sample_every": 10}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A run store with two real tiny finished runs (points GAN, text LSTM)."""
    root = tmp_path_factory.mktemp("genlab_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENLAB_HOME", str(root))
        runs = [
            Run("gan", "ring8", {"hidden": 32, "loss": "hinge"}, TRAIN).start(),
            Run("lstm", "names", {"hidden": 32}, TRAIN).start(),
        ]
        for r in runs:
            r.join(120)
            assert r.status == "done", r.snapshot().error
        yield root


def test_hparam_summary_lists_only_what_differs():
    assert listing.hparam_summary("gan", {}, {}) == "defaults"
    s = listing.hparam_summary(
        "gan", {"loss": "hinge", "lr_d": 4e-4, "hidden": 256}, {"batch_size": 64, "steps": 10}
    )
    assert s == "loss=hinge, lr_d=0.0004, batch_size=64"  # hidden=256 is the default
    assert listing.hparam_summary("no-such-method", {}, {}) == ""


def test_collect_runs_merges_memory_and_disk(home):
    rows = listing.collect_runs(RunStore(home))
    assert [r.method for r in rows] == ["lstm", "gan"]  # newest first
    gan = rows[1]
    assert (gan.status, gan.step, gan.steps, gan.kind) == ("done", 20, 20, "points")
    assert gan.hparams == "hidden=32, loss=hinge, batch_size=32"
    assert not gan.live and gan.resumable
    assert "loss/d" in gan.last and gan.elapsed_s > 0
    # the same runs seen from disk only (another process, or after a restart)
    for r in rows:
        REGISTRY.forget(r.id)
    again = listing.collect_runs(RunStore(home))
    assert [(r.id, r.status, r.step, r.hparams) for r in again] == [
        (r.id, r.status, r.step, r.hparams) for r in rows
    ]
    table = catalogue.table_rows(again)
    assert table[1]["open"] == f"./live?run={gan.id}" and table[1]["steps"] == "20/20"
    assert "loss/d" in table[1]["last metrics"]


def test_corrupt_run_is_listed_and_deletable(home, tmp_path):
    store = RunStore(tmp_path)
    bad = tmp_path / "broken-run"
    bad.mkdir()
    (bad / "run.json").write_text("{not json")
    rows = listing.collect_runs(store)
    assert len(rows) == 1 and rows[0].status == "corrupt" and "corrupt" in rows[0].error
    assert not rows[0].resumable
    catalogue.delete_run(rows[0], store)
    assert not bad.exists() and listing.collect_runs(store) == []


def test_delete_refuses_a_live_run(home):
    row = listing.collect_runs(RunStore(home))[0]
    row.live, row.status = True, "running"
    with pytest.raises(ValueError, match="stop it"):
        catalogue.delete_run(row, RunStore(home))
    assert row.dir.exists()


def test_delete_and_resume(home, tmp_path):
    src = next(r for r in listing.collect_runs(RunStore(home)) if r.method == "gan")
    store = RunStore(tmp_path)
    shutil.copytree(src.dir, tmp_path / src.id)
    row = listing.collect_runs(store)[0]
    assert catalogue.default_resume_steps(row) == 40  # done: double it
    with pytest.raises(ValueError, match="more than"):
        catalogue.resume_run(row, 20)
    run = catalogue.resume_run(row, 30)
    run.join(120)
    assert run.status == "done" and run.snapshot().step == 30
    steps = [r["step"] for r in catalogue.read_metrics(row.dir) if "loss/d" in r]
    assert steps == [1, 5, 10, 15, 20, 25, 30]  # one history, continued (step 1: a new run's)
    row = listing.collect_runs(store)[0]
    assert (row.step, row.steps) == (30, 30)
    catalogue.delete_run(row, store)
    assert not (tmp_path / src.id).exists() and REGISTRY.get(row.id) is None


def test_metrics_csv_merges_rows_of_a_step(home):
    row = next(r for r in listing.collect_runs(RunStore(home)) if r.method == "gan")
    raw = [json.loads(x) for x in (row.dir / "metrics.jsonl").read_text().splitlines()]
    got = list(csv.DictReader(io.StringIO(catalogue.metrics_csv(row.dir))))
    assert [int(r["step"]) for r in got] == sorted({r["step"] for r in raw})
    last = {k: v for r in raw if r["step"] == 20 for k, v in r.items()}
    for k, v in last.items():
        if k not in ("step", "t"):
            assert float(got[-1][k]) == pytest.approx(v, rel=1e-5), k
    assert got[0]["loss/d"] and float(got[0]["loss/d"]) == pytest.approx(raw[0]["loss/d"], 1e-5)


def test_checkpoint_zip_round_trips_into_a_loadable_run(home, tmp_path):
    row = next(r for r in listing.collect_runs(RunStore(home)) if r.method == "gan")
    blob = catalogue.checkpoint_zip(row.dir)
    _, tensors = RunDir(row.dir).checkpoint_files()  # the tensor file last.json names
    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        names = sorted(z.namelist())
        assert names == sorted(
            f"{row.id}/{p}" for p in ("run.json", "ckpt/last.json", f"ckpt/{tensors.name}")
        )
        assert z.read(f"{row.id}/ckpt/{tensors.name}") == tensors.read_bytes()
        z.extractall(tmp_path)
    a = sampling.load_run(row.dir).method
    b = sampling.load_run(tmp_path / row.id).method
    assert torch.equal(sampling.sample(a, 16, 3), sampling.sample(b, 16, 3))
    with pytest.raises(ValueError, match="no checkpoint"):
        catalogue.checkpoint_zip(tmp_path)


def test_sample_downloads_by_kind():
    pts = np.array([[0.5, -1.0, 2.0], [1.5, 2.0, 0.0]], dtype=np.float32)
    data, name, mime = catalogue.sample_download(SampleSnapshot(7, "points", pts), "r")
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert (name, mime) == ("r-step7.csv", "text/csv")
    assert rows == [["x", "y", "label"], ["0.5", "-1", "2"], ["1.5", "2", "0"]]
    seq = np.arange(12, dtype=np.float32).reshape(2, 3, 2)  # (n, T, C)
    rows = list(csv.reader(io.StringIO(sequences_csv(seq))))
    assert rows[0] == ["series", "t", "c0", "c1"] and len(rows) == 1 + 6
    assert rows[4] == ["1", "0", "6", "7"]
    data, name, _ = catalogue.sample_download(SampleSnapshot(3, "text", ["ann", "bob"]), "r")
    assert data == b"ann\nbob\n" and name == "r-step3.txt"
    data, name, mime = catalogue.sample_download(SampleSnapshot(3, "images", b"\x89PNG"), "r")
    assert data == b"\x89PNG" and mime == "image/png"


def test_series_from_memory_and_disk_agree(home):
    row = next(r for r in listing.collect_runs(RunStore(home)) if r.method == "lstm")
    steps, ts, vs = catalogue.series(row, "loss/nll")
    assert steps == [1, 5, 10, 15, 20] and len(vs) == 5 and all(np.isfinite(vs))
    assert ts == sorted(ts)


def _row(rid, dataset, created, last, status="done"):
    return listing.RunRow(
        id=rid,
        method="gan",
        dataset=dataset,
        kind="points",
        status=status,
        step=1,
        steps=1,
        elapsed_s=1.0,
        created=created,
        hparams="",
        last=last,
        error=None,
        dir=catalogue.Path("/nonexistent") / rid,
    )


def test_default_selection_and_metrics_table():
    rows = [
        _row("a", "mnist", 5, {"eval/fd": 3.0, "floor/fd": 0.5, "loss/d": 1.0}),
        _row("b", "ring8", 4, {"loss/d": 2.0}),
        _row("c", "mnist", 3, {"eval/fd": 4.0, "eval/acc": 0.9}),
        _row("x", "?", 9, {}, status="corrupt"),
    ]
    assert catalogue.default_selection(rows, k=4) == ["a", "c"]
    table = catalogue.metrics_table(rows[:3])
    cols = list(table[0])
    assert cols[6:] == ["eval/acc", "eval/fd", "floor/fd", "loss/d"]  # floor next to its eval
    assert table[1]["eval/fd"] is None and table[2]["eval/fd"] == 4.0
    keys = catalogue.metric_keys(rows[:3])
    # the quality figure most runs report, once it is a curve (these rows have no logged series)
    assert catalogue.default_metric(rows[:3], keys, min_points=0) == "eval/fd"
    assert catalogue.default_metric(rows[:3], keys) == "loss/d"
    assert catalogue.default_metric(rows[1:2], catalogue.metric_keys(rows[1:2])) == "loss/d"
    assert catalogue.default_metric([], []) is None


def _configured(rid, method="gan", name="", **cfg):
    row = _row(rid, "ring8", 1, {})
    row.method, row.name = method, name
    row.info = {"method_config": {"hidden": 32, "lr_g": 1e-3, **cfg}, "train_config": {"seed": 0}}
    return row


def test_runs_are_labelled_by_what_differs_between_them():
    a, b = _configured("run-aaaa", lr_g=1e-4), _configured("run-bbbb", lr_g=1e-3)
    assert catalogue.config_diff([a, b]) == {"lr_g": [1e-4, 1e-3]}
    assert catalogue.diff_labels([a, b]) == {"run-aaaa": "lr_g=0.0001", "run-bbbb": "lr_g=0.001"}
    # the user's name comes first; identical setups stay apart by their ids
    c = _configured("run-cccc", name="baseline", lr_g=1e-3)
    assert catalogue.diff_labels([b, c])["run-cccc"] == "baseline"
    d = _configured("run-dddd", lr_g=1e-3)
    assert catalogue.diff_labels([b, d]) == {"run-bbbb": b.label, "run-dddd": d.label}
    twin = _configured("run-bbbb-2", name="baseline")
    assert catalogue.diff_labels([c, twin]) == {
        "run-cccc": "baseline · cccc",
        "run-bbbb-2": "baseline · bb-2",
    }
    # another method: its own settings are in the diff table (a dash where a run lacks one),
    # the label keeps to the settings both have
    v = _configured("run-vvvv", method="vae", beta=2.0)
    diff = catalogue.config_diff([a, v])
    assert diff["method"] == ["gan", "vae"] and diff["beta"] == [catalogue.MISSING, 2.0]
    labels = catalogue.diff_labels([a, v])
    assert labels["run-vvvv"] == "method=vae, lr_g=0.001"  # no beta: the GAN has none
    assert labels["run-aaaa"] == "method=gan, lr_g=0.0001"


def test_a_run_is_renamed_live_and_on_disk(tmp_path):
    run = Run("gan", "ring8", {"hidden": 16}, {**TRAIN, "steps": 4}, store=RunStore(tmp_path))
    run.rename("  my   first\nGAN ")
    assert run.name == "my first GAN"
    run.start().join(120)
    info = json.loads((run.dir.path / "run.json").read_text())
    assert info["name"] == "my first GAN"  # kept through the run's own writes
    row = listing.find(listing.collect_runs(RunStore(tmp_path)), run.id)
    assert row.name == "my first GAN" and row.label.startswith("my first GAN · ")
    REGISTRY.forget(run.id)  # now only on disk
    row = listing.find(listing.collect_runs(RunStore(tmp_path)), run.id)
    assert catalogue.rename_run(row, "renamed") == "renamed"
    assert listing.find(listing.collect_runs(RunStore(tmp_path)), run.id).name == "renamed"
    with pytest.raises(ValueError, match="at most 60"):
        catalogue.rename_run(row, "x" * 61)


def test_start_many_reports_errors_per_method(tmp_path):
    runs, errors = catalogue.start_many(
        "ring8", ["gan", "lstm", "nope"], steps=3, seed=1, store=RunStore(tmp_path)
    )
    assert [r.method_name for r in runs] == ["gan"] and set(errors) == {"lstm", "nope"}
    assert "does not support points" in errors["lstm"] and "unknown method" in errors["nope"]
    runs[0].join(120)
    assert runs[0].status == "done" and runs[0].train.seed == 1 and runs[0].train.steps == 3
    assert "gan" in catalogue.compatible_methods("ring8")
    assert "lstm" not in catalogue.compatible_methods("ring8")
