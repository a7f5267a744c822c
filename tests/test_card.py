"""The model card: README.md in every finished run folder, Hugging Face style."""

from __future__ import annotations

import re
import shlex
import time

import pytest
import yaml
from PIL import Image

from genlab.cli import main
from genlab.data import DATASETS
from genlab.data.base import USER_DATA
from genlab.runs import Run, RunStore
from genlab.runs.card import SAMPLE_PNG, write_model_card
from genlab.runs.tracking import ModelCardSink

TRAIN = {"steps": 60, "batch_size": 32, "log_every": 10, "sample_every": 20, "eval_every": 30}


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "runs"))
    return RunStore(tmp_path / "runs")


def card_parts(text: str) -> tuple[dict, str]:
    m = re.fullmatch(r"---\n(.*?)\n---\n(.*)", text, re.S)
    assert m, text[:200]
    return yaml.safe_load(m.group(1)), m.group(2)


def test_every_dataset_declares_its_licence():
    for info in DATASETS.values():
        assert len(info.licence) > 10, info.name
        assert (info.licence == USER_DATA) == info.upload, info.name
    assert DATASETS["digits"].licence.startswith("CC BY 4.0")
    assert DATASETS["mnist"].licence.startswith("CC BY-SA 3.0")
    assert DATASETS["names"].licence.startswith("MIT")


def test_a_finished_run_has_a_card_with_config_metrics_floors_sample_and_licence(store, tmp_path):
    run = Run("gan", "ring8", {"loss": "hinge"}, TRAIN, store=store).start()
    assert run.join(120) and run.status == "done"
    front, body = card_parts((run.dir.path / "README.md").read_text())
    assert front["library_name"] == "genlab" and front["datasets"] == ["ring8"]
    assert front["dataset_license"] == DATASETS["ring8"].licence
    assert front["genlab"] == {"run_id": run.id, "status": "done", "step": 60}
    last = run.history.last()
    assert front["metrics"]["eval/hq"] == pytest.approx(last["eval/hq"], abs=1e-6)
    # each quality metric beside its real-vs-real floor
    hq = next(line for line in body.splitlines() if "`eval/hq`" in line)
    assert f"{last['eval/hq']:.4g}" in hq and f"{last['floor/hq']:.4g}" in hq
    assert '"loss": "hinge"' in body and '"steps": 60' in body  # the full config
    assert DATASETS["ring8"].licence in body and "- torch: " in body
    assert f"![samples at step 60]({SAMPLE_PNG})" in body
    assert Image.open(run.dir.path / SAMPLE_PNG).size == (320, 320)
    # the card's sampling command works as written
    cmd = next(line for line in body.splitlines() if line.startswith("python -m genlab sample"))
    argv = shlex.split(cmd)[3:]
    out = tmp_path / "s.csv"
    assert main([*argv[: argv.index("--out")], "--out", str(out)]) == 0
    lines = out.read_text().splitlines()  # a header row, then one point per row
    assert lines[0] == "x,y" and len(lines) == 1 + 64


def test_cards_follow_how_the_run_ended(store, tmp_path):
    stopped = Run("gan", "ring8", {}, {**TRAIN, "steps": 100_000}, store=store)
    stopped.step_n(15)
    stopped.start()
    deadline = time.time() + 120
    while stopped.snapshot().status != "paused" and time.time() < deadline:
        time.sleep(0.05)
    stopped.stop()
    assert stopped.join(120) and stopped.status == "stopped"
    front, _ = card_parts((stopped.dir.path / "README.md").read_text())
    assert front["genlab"]["status"] == "stopped" and front["genlab"]["step"] == 15
    # a failed run gets none: its last weights are not the point
    sink = ModelCardSink(stopped.dir.path)
    (stopped.dir.path / "README.md").unlink()
    sink.on_end({**stopped.info(), "status": "failed"})
    assert not (stopped.dir.path / "README.md").exists()


def test_the_card_of_a_text_run_shows_its_samples_and_rebuilds_from_the_folder(store):
    run = Run("lstm", "names", {}, {**TRAIN, "steps": 20, "eval_every": 0}, store=store).start()
    assert run.join(120) and run.status == "done"
    path = run.dir.path / "README.md"
    path.unlink()
    write_model_card(run.dir.path)  # a pure function of the folder
    front, body = card_parts(path.read_text())
    assert front["dataset_license"].startswith("MIT")
    assert run.snapshots[-1].payload[0] in body and "--out samples.txt" in body
