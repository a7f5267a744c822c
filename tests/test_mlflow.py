"""MLflow tracking against a real local SQLite store, and a tracking server that is down."""

from __future__ import annotations

import json
import socket

import pytest
from mlflow import MlflowClient

from genlab.runs import Run, RunDir, RunStore, tracking
from genlab.runs.listing import collect_runs

TRAIN = {
    "steps": 60,
    "batch_size": 32,
    "log_every": 10,
    "sample_every": 20,
    "eval_every": 30,
    "tracking": "mlflow",
}


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "runs"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    return RunStore(tmp_path / "runs")


def test_params_metrics_and_samples_land_in_the_default_sqlite_store(store):
    runs = [Run("gan", "ring8", {"lr_d": 3e-4}, {**TRAIN, "seed": s}, store=store) for s in (0, 1)]
    for run in runs:  # two runs in threads at once: each logs through its own run id
        run.start()
    for run in runs:
        assert run.join(180) and run.status == "done", run.snapshot().error
    ids = set()
    for run in runs:
        info = json.loads((run.dir.path / "run.json").read_text())["tracking"]["mlflow"]
        assert "error" not in info
        assert info["uri"] == f"sqlite:///{store.home / '.mlflow' / 'mlflow.db'}"
        client = MlflowClient(info["uri"])
        mr = client.get_run(info["run_id"])
        ids.add(mr.info.run_id)
        assert mr.info.status == "FINISHED" and mr.info.run_name == run.id
        assert mr.data.tags["genlab.run_id"] == run.id
        assert mr.data.params["lr_d"] == "0.0003" and mr.data.params["seed"] == str(run.train.seed)
        assert mr.data.params["method"] == "gan" and mr.data.params["dataset"] == "ring8"
        rows = RunDir(run.dir.path).read_metrics()
        for key in ("loss/d", "eval/hq", "floor/hq"):
            logged = [(m.step, m.value) for m in client.get_metric_history(mr.info.run_id, key)]
            expected = [(r["step"], r[key]) for r in rows if key in r]
            assert [s for s, _ in sorted(logged)] == [s for s, _ in sorted(expected)]
            assert [v for _, v in sorted(logged)] == pytest.approx([v for _, v in sorted(expected)])
        names = [a.path for a in client.list_artifacts(mr.info.run_id, "samples")]
        snaps = [s for s, _ in RunDir(run.dir.path).list_samples()]
        assert names == [f"samples/step_{s:08d}.png" for s in snaps]
        top = [a.path for a in client.list_artifacts(mr.info.run_id)]
        assert "README.md" in top  # the model card
    assert len(ids) == 2
    # the store's own folder is not a run on the Runs page
    assert sorted(r.id for r in collect_runs(store)) == sorted(r.id for r in runs)


def test_a_tracking_server_that_is_down_fails_the_logging_once_not_the_run(
    store, monkeypatch, capfd
):
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    run = Run("gan", "ring8", {}, TRAIN, store=store).start()
    assert run.join(180) and run.status == "done", run.snapshot().error
    err = capfd.readouterr().err
    assert err.count("mlflow logging failed, the run trains on") == 1
    info = json.loads((run.dir.path / "run.json").read_text())["tracking"]
    assert info["mlflow"]["uri"] == f"http://127.0.0.1:{port}"
    assert "Connection refused" in info["mlflow"]["error"]
    assert info["tensorboard"]["logdir"] and (run.dir.path / "README.md").exists()
    assert len(RunDir(run.dir.path).read_metrics()) == 1 + 6 + 2  # step 1, 6 logs, 2 evaluations


def test_tracking_thread_is_waited_for_at_most_a_while(store):
    class Slow:
        name = "slow"

        def __getattr__(self, _):
            return lambda *a: __import__("time").sleep(5)

        def describe(self):
            return {}

    t = tracking.Tracking([Slow()]).start({})
    t.on_end({}, wait=0.2)
    assert "still writing" in t.status()["tracking"]["error"]
