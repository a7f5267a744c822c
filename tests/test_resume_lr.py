"""Resume a diverged run from its last good checkpoint with a lower learning rate (library + CLI).

The divergence is a real one: a VAE trains 20 steps (a checkpoint every 10), then its learning rate
is pushed to 1.0 live, and Adam blows the loss up to nan within a few steps.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from genlab.cli import main
from genlab.runs import Run, RunStore
from genlab.runs.setup import scaled_lrs

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TRAIN = {"steps": 60, "log_every": 5, "checkpoint_every": 10, "eval_every": 0, "sample_every": 50}
SAFE_STEP = 20


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "runs"))
    return RunStore(tmp_path / "runs")


def diverged_run(store: RunStore) -> Run:
    run = Run("vae", "ring8", {"hidden": 128, "latent_dim": 8}, TRAIN, store=store)
    run.step_n(SAFE_STEP)  # train 20 steps (checkpoints at 10 and 20), then pause
    run.start()
    t0 = time.time()
    while run.status != "paused":
        assert time.time() - t0 < 120, f"the run did not pause (status {run.status})"
        time.sleep(0.05)
    run.set_live(lr=1.0)
    run.resume()
    assert run.join(120)
    snap = run.snapshot()
    assert snap.status == "failed" and "diverged" in snap.error, snap.error
    assert run.dir.has_checkpoint()
    return run


def test_scaled_lrs_takes_every_lr_key():
    assert scaled_lrs("gan", {"lr_g": 1e-3, "lr_d": 2e-3, "hidden": 64}, 0.5) == {
        "lr_g": 5e-4,
        "lr_d": 1e-3,
    }
    assert scaled_lrs("vae", {"lr": 1e-2}, 0.1) == pytest.approx({"lr": 1e-3})
    for bad in (0, -1.0, float("nan"), True):
        with pytest.raises(ValueError, match="positive number"):
            scaled_lrs("gan", {"lr_g": 1e-3, "lr_d": 1e-3}, bad)


def test_diverged_run_resumes_with_lower_lr_and_trains_on(store):
    run = diverged_run(store)
    failed_at = run.snapshot().step
    info = run.dir.read_info()
    assert info["method_config"]["lr"] == 1.0

    lrs = scaled_lrs("vae", info["method_config"], 1e-3)
    again = Run.from_dir(run.dir.path, store=store, method_overrides=lrs).start()
    assert again.join(120)
    snap = again.snapshot()
    assert snap.status == "done", snap.error
    assert snap.step == TRAIN["steps"] > failed_at
    assert again.method is not None
    for opt in again.method.optimizers.values():  # the restored optimiser got the new rate
        assert all(g["lr"] == pytest.approx(1e-3) for g in opt.param_groups)

    info = again.dir.read_info()
    assert info["status"] == "done" and info["method_config"]["lr"] == pytest.approx(1e-3)
    change = info["live_changes"][-1]
    assert change["key"] == "lr" and change["value"] == pytest.approx(1e-3)
    assert SAFE_STEP <= change["step"] < failed_at  # recorded where the resume started
    lines = (again.dir.path / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    steps = [r["step"] for r in rows]
    assert steps == sorted(steps) and steps[-1] == TRAIN["steps"]
    assert all(math.isfinite(v) for r in rows for k, v in r.items() if k.startswith("loss/"))


def test_resume_overrides_are_validated(store):
    run = diverged_run(store)
    with pytest.raises(ValueError, match="lr"):
        Run.from_dir(run.dir.path, store=store, method_overrides={"lr": 1e-9})  # under the bound
    with pytest.raises(ValueError, match="cannot change on resume"):
        Run.from_dir(run.dir.path, store=store, method_overrides={"hidden": 64})


def test_cli_resume_with_lr_scale(store, capsys):
    run = diverged_run(store)
    path = str(run.dir.path)
    assert main(["resume", path, "--lr-scale", "-2"]) == 2
    assert "positive number" in capsys.readouterr().err

    assert main(["resume", path, "--lr-scale", "0.001", "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["status"] == "done" and res["steps"] == TRAIN["steps"]
    info = json.loads((run.dir.path / "run.json").read_text())
    assert info["method_config"]["lr"] == pytest.approx(1e-3)
    assert [(c["key"], c["value"]) for c in info["live_changes"]][-1] == ("lr", pytest.approx(1e-3))


def test_live_page_offers_resume_with_lower_lr(store):
    from streamlit.testing.v1 import AppTest

    from genlab.runs import REGISTRY

    run = diverged_run(store)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/live.py")
    at.query_params["run"] = run.id
    at.run()
    assert not at.exception
    assert any("diverged" in str(c.value) for c in at.caption)
    lower = at.button(key="resume.lower")
    assert lower.proto.type == "primary"  # after a divergence it is the suggested action
    at.number_input(key=f"resume.lr.{run.id}").set_value(0.001)
    lower.click()
    at.run()
    assert not at.exception
    again = REGISTRY.get(run.id)
    assert again is not run and again.join(120)
    assert again.status == "done" and again.snapshot().step == TRAIN["steps"]
    info = again.dir.read_info()
    assert info["live_changes"][-1]["key"] == "lr"
    assert info["live_changes"][-1]["value"] == pytest.approx(1e-3)


def test_runs_page_offers_resume_with_lower_lr(store):
    from streamlit.testing.v1 import AppTest

    from genlab.runs import REGISTRY

    run = diverged_run(store)
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/runs.py")
    at.query_params["run"] = run.id
    at.run()
    assert not at.exception
    assert at.button(key="runs_resume_lower").proto.type == "primary"
    at.number_input(key=f"runs_resume_lr_{run.id}").set_value(0.001)
    at.button(key="runs_resume_lower").click()
    at.run()
    assert not at.exception
    assert any("every learning rate times 0.001" in str(s.value) for s in at.success)
    again = REGISTRY.get(run.id)
    assert again is not run and again.join(120) and again.status == "done"
    assert again.dir.read_info()["method_config"]["lr"] == pytest.approx(1e-3)
