"""Run sinks: TensorBoard event files read back, export, failures that leave the run training."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from genlab import params
from genlab.cli import main
from genlab.figures.png import image_grid_png
from genlab.runs import Run, RunDir, RunStore, tracking

TRAIN = {"steps": 60, "batch_size": 32, "log_every": 10, "sample_every": 20, "eval_every": 30}


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "runs"))
    return RunStore(tmp_path / "runs")


def events(logdir) -> EventAccumulator:
    ea = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    ea.Reload()
    return ea


def assert_matches_run_folder(logdir, run_dir) -> None:
    """Every metric row of metrics.jsonl is a scalar at its step, every snapshot an image."""
    ea = events(logdir)
    d = RunDir(run_dir)
    rows = d.read_metrics()
    assert rows
    expected = {(s, k): v for s, _, k, v in tracking.metric_rows(rows)}
    found = {(e.step, k): e.value for k in ea.Tags()["scalars"] for e in ea.Scalars(k)}
    assert set(found) == set(expected)
    for key, v in expected.items():
        assert found[key] == pytest.approx(v, rel=1e-6, abs=1e-7), key
    assert any(k.startswith("eval/") for _, k in expected)
    assert any(k.startswith("floor/") for _, k in expected)
    snaps = [s for s, _ in d.list_samples()]
    assert [e.step for e in ea.Images("samples")] == snaps
    for e in ea.Images("samples"):
        im = Image.open(io.BytesIO(e.encoded_image_string))
        assert (im.width, im.height) == (e.width, e.height) and im.width > 16


def test_a_run_writes_event_files_with_every_row_snapshot_change_and_hparams(store):
    run = Run("gan", "ring8", {}, {**TRAIN, "seed": 3}, store=store)
    run.set_live(lr_d=4e-4)  # applied at the first step, recorded as a live change
    run.start()
    assert run.join(120) and run.status == "done", run.snapshot().error
    assert_matches_run_folder(run.dir.path, run.dir.path)
    ea = events(run.dir.path)
    changes = ea.Tensors("live_changes/text_summary")
    assert [e.step for e in changes] == [0]
    assert b"lr_d = 0.0004" in changes[0].tensor_proto.string_val[0]
    # the hparams summaries: the settings, and the metrics the HParams tab shows
    hp = ea.PluginTagToContent("hparams")
    assert set(hp) >= {"_hparams_/experiment", "_hparams_/session_start_info"}
    start = hp["_hparams_/session_start_info"]
    assert b"lr_d" in start and b"ring8" in start
    assert b"eval/hq" in hp["_hparams_/experiment"]
    info = json.loads((run.dir.path / "run.json").read_text())
    assert info["tracking"]["tensorboard"]["logdir"] == str(run.dir.path)
    assert "error" not in json.dumps(info["tracking"])


def test_tensorboard_off_writes_none_and_export_writes_the_same(store, tmp_path, capsys):
    run = Run("gan", "ring8", {}, {**TRAIN, "tensorboard": "off"}, store=store).start()
    assert run.join(120) and run.status == "done", run.snapshot().error
    assert not list(run.dir.path.glob(tracking.EVENTS_GLOB))
    assert main(["export", str(run.dir.path), "--tensorboard"]) == 0
    assert_matches_run_folder(run.dir.path, run.dir.path)
    # a second export is refused unless --force; into another folder it lands in DIR/<run id>
    assert main(["export", str(run.dir.path), "--tensorboard"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["export", str(run.dir.path), "--tensorboard", "--force"]) == 0
    assert len(list(run.dir.path.glob(tracking.EVENTS_GLOB))) == 1
    out = tmp_path / "tb"
    assert main(["export", str(run.dir.path), "--tensorboard", str(out)]) == 0
    assert_matches_run_folder(out / run.id, run.dir.path)


def test_a_resumed_run_continues_its_event_files(store):
    first = Run("gan", "ring8", {}, {**TRAIN, "steps": 40}, store=store).start()
    assert first.join(120) and first.status == "done"
    # a run killed between checkpoints logged past its last one: resuming drops that part
    sink = tracking.TensorBoardSink(first.dir.path)
    sink.on_start({})
    sink.on_metrics([{"step": 45, "t": 1.0, "loss/d": 99.0}])
    sink.writer.close()
    again = Run.from_dir(first.dir.path, steps=60, store=store).start()
    assert again.join(120) and again.status == "done"
    assert len(list(first.dir.path.glob(tracking.EVENTS_GLOB))) == 3
    assert_matches_run_folder(first.dir.path, first.dir.path)  # 40 and 60 in, 45 purged


@pytest.mark.parametrize("kind", ["images", "points", "sequences", "text"])
def test_every_kind_of_snapshot_is_written(tmp_path, kind):
    rng = np.random.default_rng(0)
    payload = {
        "images": image_grid_png(rng.random((4, 1, 8, 8))),
        "points": rng.normal(size=(200, 2)).astype(np.float32),
        "sequences": rng.normal(size=(6, 24, 2)).astype(np.float32),
        "text": ["anna", "bob", ""],
    }[kind]
    real = rng.normal(size=(50, 2)) if kind == "points" else None
    sink = tracking.TensorBoardSink(tmp_path, real)
    sink.on_start({})
    sink.on_snapshot(5, kind, payload)
    sink.on_end({"method": "gan", "dataset": "x", "step": 5})
    ea = events(tmp_path)
    if kind == "text":
        (e,) = ea.Tensors("samples/text_summary")
        assert e.step == 5 and b"    anna\n    bob\n    (empty)" in e.tensor_proto.string_val[0]
    else:
        (e,) = ea.Images("samples")
        assert e.step == 5
        im = Image.open(io.BytesIO(e.encoded_image_string))
        assert np.asarray(im).std() > 0  # something was drawn
        if kind == "images":
            assert e.encoded_image_string == payload  # the grid as it is, not re-encoded


class Broken:
    """A sink whose destination is gone: it fails at its first metrics."""

    name = "broken"
    calls = 0

    def on_start(self, info):
        pass

    def on_metrics(self, rows):
        Broken.calls += 1
        raise ConnectionError("server at http://127.0.0.1:9 refused the connection")

    def on_snapshot(self, step, kind, payload):
        pass

    def on_live_change(self, step, changes):
        pass

    def on_end(self, info):
        pass

    def describe(self):
        return {}


def test_a_failing_sink_fails_its_logging_once_not_the_run(store, monkeypatch, capfd):
    real_open = tracking.open_tracking

    def with_broken(run):
        t = real_open(run)
        t.sinks.append(Broken())
        return t

    monkeypatch.setattr("genlab.runs.run.open_tracking", with_broken)
    Broken.calls = 0
    run = Run("gan", "ring8", {}, TRAIN, store=store).start()
    assert run.join(120) and run.status == "done", run.snapshot().error
    assert Broken.calls == 1  # dropped after its first failure
    err = capfd.readouterr().err
    assert err.count("broken logging failed, the run trains on") == 1
    info = json.loads((run.dir.path / "run.json").read_text())
    assert "refused the connection" in info["tracking"]["broken"]["error"]
    assert_matches_run_folder(run.dir.path, run.dir.path)  # the other sinks went on


def test_missing_optional_packages_say_what_to_install(store, monkeypatch, capsys):
    monkeypatch.setattr(tracking, "installed", lambda module: False)
    run = Run("gan", "ring8", {}, {**TRAIN, "steps": 10}, store=store).start()
    assert run.join(120) and run.status == "done"
    info = json.loads((run.dir.path / "run.json").read_text())
    assert "pip install tensorboard" in info["tracking"]["tensorboard"]["skipped"]
    assert main(["export", str(run.dir.path), "--tensorboard"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install tensorboard" in err
    monkeypatch.setattr(params.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"pip install -r requirements-mlflow.txt"):
        params.build(params.TrainConfig, {"tracking": "mlflow"})
    assert main(["train", "gan", "ring8", "--steps", "5", "--set", "tracking=mlflow"]) == 2
    assert capsys.readouterr().err == (
        "genlab: error: tracking=mlflow needs MLflow: pip install -r requirements-mlflow.txt\n"
    )
