"""Crash safety: a killed process leaves every run folder consistent and resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genlab.runs import Run, RunStore
from genlab.runs.registry import mark_interrupted

ROOT = Path(__file__).resolve().parents[1]


def start_cli_run(home: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, GENLAB_HOME=str(home), PYTHONUNBUFFERED="1")
    args = [
        sys.executable,
        "-m",
        "genlab",
        "train",
        "gan",
        "ring8",
        "--steps",
        "200000",
        "--set",
        "hidden=32",
        "--set",
        "checkpoint_every=100",
        "--set",
        "log_every=10",
        "--set",
        "eval_every=0",
        "--set",
        "sample_every=100",
        *extra,
    ]
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_checkpoint(home: Path, proc: subprocess.Popen, timeout: float = 120) -> Path:
    t0 = time.time()
    while time.time() - t0 < timeout:
        dirs = [p for p in home.iterdir() if p.is_dir()] if home.exists() else []
        if dirs and (dirs[0] / "ckpt" / "last.json").exists():
            return dirs[0]
        if proc.poll() is not None:
            raise AssertionError(f"training exited early: {proc.stderr.read()}")
        time.sleep(0.1)
    raise AssertionError("no checkpoint appeared")


def check_folder(run_dir: Path) -> None:
    """Every file is whole: JSON parses, metrics lines parse (a torn last line is tolerated by the
    reader), the checkpoint matches its hash, and no temp file is left behind."""
    from genlab.runs.store import RunDir

    d = RunDir(run_dir)
    d.read_info()
    rows = d.read_metrics()
    assert rows and all("step" in r for r in rows)
    tensors, meta = d.load_checkpoint()
    assert meta["step"] > 0 and tensors


@pytest.mark.parametrize("rounds", [3])
def test_sigkill_mid_training_then_restart_and_resume(tmp_path, rounds):
    home = tmp_path / "runs"
    proc = start_cli_run(home)
    run_dir = wait_for_checkpoint(home, proc)
    # kill at several moments, checkpoint writes included (one every 100 steps, ~0.3 s apart)
    time.sleep(1.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    check_folder(run_dir)
    store = RunStore(home)
    assert mark_interrupted(store) == [run_dir.name]
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "interrupted"
    ckpt_step = json.loads((run_dir / "ckpt" / "last.json").read_text())["step"]
    run = Run.from_dir(run_dir, steps=ckpt_step + 50, store=store).start()
    run.join(120)
    assert run.status == "done" and run.snapshot().step == ckpt_step + 50
    steps = [r["step"] for r in run.dir.read_metrics() if "loss/d" in r]
    assert steps == sorted(set(steps))


def test_kill_during_checkpoint_writes_never_leaves_a_torn_checkpoint(tmp_path):
    """Checkpoint every 5 steps, so a kill at a random time often lands inside a write."""
    home = tmp_path / "runs"
    for delay in (0.4, 0.9, 1.7):
        proc = start_cli_run(home, "--set", "checkpoint_every=5")
        run_dir = wait_for_checkpoint(home, proc)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        check_folder(run_dir)
        import shutil

        shutil.rmtree(run_dir)


def test_sigterm_checkpoints_and_stops_cleanly(tmp_path):
    home = tmp_path / "runs"
    proc = start_cli_run(home)
    run_dir = wait_for_checkpoint(home, proc)
    time.sleep(0.5)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    proc.wait(15)
    assert time.time() - t0 < 10
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "stopped"
    meta = json.loads((run_dir / "ckpt" / "last.json").read_text())
    assert meta["step"] == info["step"]  # the checkpoint is where it stopped, not the last periodic
    check_folder(run_dir)
