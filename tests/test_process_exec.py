"""The `process` executor (the app's default): a run trains in a child process forked from a
forkserver, its live state arrives through the proxy, the controls work, a child killed mid-run
leaves an `interrupted` run that resumes from its checkpoint, and the server's shutdown stops
and checkpoints it."""

import os
import signal
import time

import pytest
from runwait import ckpt_step, wait_for  # tests/runwait.py

from genlab.runs import REGISTRY, AnyRun, Run
from genlab.runs.executors import EXECUTORS, check_executor, run_class
from genlab.runs.process_exec import ProcessRun
from genlab.runs.registry import RunRegistry
from genlab.runs.state import RunState

TINY = {"hidden": 16, "latent_dim": 4}


def test_process_run_trains_in_a_child_and_obeys_the_controls(store):
    run = ProcessRun(
        "gan",
        "ring8",
        TINY,
        {"steps": 100_000, "log_every": 10, "sample_every": 30, "eval_every": 0},
        store=store,
    )
    assert isinstance(run, RunState) and isinstance(run, AnyRun) and not isinstance(run, Run)
    run.start()
    wait_for(lambda: run.snapshot().step > 20 and run.snapshots)
    assert run._host.process.pid != os.getpid() and run._host.process.is_alive()
    assert run.snapshot().status == "running" and run.history.last()["loss/d"] > 0
    assert run.view_state(wait=5.0) is not None  # the weights for the live view, pickled over
    # pause, then step exactly 15 more: each read shows the state the child has now
    run.pause()
    wait_for(lambda: run.snapshot().status == "paused")
    at = run.snapshot().step
    run.step_n(15)
    wait_for(lambda: run.snapshot().status == "paused" and run.snapshot().step == at + 15)
    assert not run.stepping
    run.set_live(lr_g=5e-4)
    run.resume()
    wait_for(lambda: run.snapshot().step > at + 25)
    run.stop()
    assert run.join(60)
    assert run.status == "stopped" and run.dir.read_info()["status"] == "stopped"
    assert run.dir.read_info()["executor"] == "process"
    assert any(c["key"] == "lr_g" for c in run.snapshot().live_changes)
    assert ckpt_step(run) == run.snapshot().step  # stopped runs checkpoint where they got to
    wait_for(lambda: not run._host.process.is_alive(), timeout=15)  # the child has exited


def test_a_killed_child_leaves_an_interrupted_run_that_resumes(store):
    run = ProcessRun(
        "gan",
        "ring8",
        TINY,
        {"steps": 100_000, "log_every": 10, "eval_every": 0, "checkpoint_every": 50},
        store=store,
    ).start()
    wait_for(lambda: ckpt_step(run) >= 50)
    # Ctrl-C in a terminal reaches the child too: it trains on (the server stops it, cleanly)
    os.kill(run._host.process.pid, signal.SIGINT)
    at = run.snapshot().step
    wait_for(lambda: run.snapshot().step > at + 20)
    assert run._host.process.is_alive() and run.status == "running"
    run._host.kill()
    assert run.join(60)
    assert run.status == "interrupted"
    info = run.dir.read_info()
    assert info["status"] == "interrupted" and "process" in info["error"]
    ckpt = ckpt_step(run)
    again = ProcessRun.from_dir(run.dir.path, steps=ckpt + 20, store=store).start()
    assert again.join(120) and again.status == "done", again.snapshot().error
    assert again.snapshot().step == ckpt + 20


def test_shutdown_stops_and_checkpoints_process_runs_and_queues_beyond_the_cap(store):
    registry = RunRegistry(max_concurrent=1)
    values = {"steps": 100_000, "log_every": 10, "eval_every": 0}
    first = ProcessRun("gan", "ring8", TINY, values, store=store).start(registry)
    second = ProcessRun("gan", "ring8", TINY, values, store=store).start(registry)
    wait_for(lambda: first.snapshot().step > 10)
    assert second.status == "queued"  # it trains on this machine: it takes a slot
    registry.shutdown(timeout=60)
    assert first.status == "stopped" and ckpt_step(first) == first.snapshot().step
    assert second.status == "stopped" and ckpt_step(second) == -1


@pytest.mark.parametrize("cls", [Run, ProcessRun], ids=["local", "process"])
def test_controls_set_while_queued_apply_when_the_run_starts(store, cls):
    registry = RunRegistry(max_concurrent=1)
    values = {"steps": 100_000, "log_every": 10, "eval_every": 0}
    first = cls("gan", "ring8", TINY, values, store=store).start(registry)
    second = cls("gan", "ring8", TINY, values, store=store).start(registry)
    third = cls("gan", "ring8", TINY, values, store=store).start(registry)
    # Pause shows at once on a queued run, and Resume puts it back in the queue
    second.pause()
    assert second.status == "paused" and second.dir.read_info()["status"] == "paused"
    third.pause()
    third.resume()
    assert third.status == "queued"
    third.pause()
    third.step_n(5)  # Step N: it waits for its turn again, to train 5 steps then pause
    assert third.status == "queued"
    third.resume()
    third.set_delay(0.01)
    first.stop()
    # its turn comes: it pauses before its first step (its slot held, as any paused run's)
    assert first.join(60)
    wait_for(lambda: second.thread is not None)
    time.sleep(1.0)
    assert second.status == "paused" and second.snapshot().step == 0
    second.step_n(7)
    wait_for(lambda: second.snapshot().step == 7 and second.status == "paused")
    second.stop()
    assert second.join(60)
    wait_for(lambda: third.snapshot().step > 0)  # slow motion, not paused
    assert third.status == "running" and third.delay == 0.01
    third.stop()
    assert third.join(60)


def test_the_stop_state_and_eval_eta_come_from_the_child(store):
    run = ProcessRun(
        "gan",
        "ring8",
        TINY,
        {"steps": 300, "stop": "auto", "eval_every": 100, "log_every": 10},
        store=store,
    ).start()
    assert run.join(180) and run.status == "done", run.snapshot().error
    stop = run.snapshot().stop
    assert stop is not None and stop["measure"] and stop["best_step"] > 0


def test_executors_by_name():
    assert EXECUTORS == ("local", "process", "ray")
    assert run_class("process") is ProcessRun and run_class("local") is Run
    with pytest.raises(ValueError, match="not one of local, process, ray"):
        check_executor("thread")


def test_train_page_starts_runs_in_their_own_process_by_default(store):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from genlab.ui import forms

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    for k, v in {"method": "gan", "data": "ring8", "steps": "60", "hidden": "16"}.items():
        at.query_params[k] = v
    at.run()
    box = at.selectbox(key=forms.EXECUTOR_KEY)
    assert box.value == "process" and box.options[:2] == [
        "local: a thread of the server",
        "process: its own (default)",
    ]
    at.button(key="start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    run_id = at.query_params["run"]
    run = REGISTRY.get(run_id[0] if isinstance(run_id, list) else run_id)
    assert isinstance(run, ProcessRun)
    assert run.join(120) and run.status == "done", run.snapshot().error
    at.run()  # the live view of the finished run, its weights fetched from the child
    assert not at.exception, [e.value for e in at.exception]
    assert run.view_state() is not None


def test_a_sweep_trains_its_trials_in_processes_of_their_own(store):
    from genlab.runs.sweep import Sweep
    from genlab.runs.sweep_spec import Axis, SweepSpec

    spec = SweepSpec(
        "gan",
        "ring8",
        (Axis("lr_g", values=(1e-4, 1e-3)),),
        executor="process",
        parallel=2,
        method_values=TINY,
        train_values={"steps": 40, "eval_every": 20, "log_every": 10},
    )
    results = Sweep(spec, store).run()
    assert [r.status for r in results] == ["done", "done"]
    assert all(r.value is not None for r in results)  # ranked by eval/hq, from the children
    infos = [store.run_dir(r.run_id).read_info() for r in results]
    assert {i["executor"] for i in infos} == {"process"} and all(i["sweep"] for i in infos)


def test_the_cli_trains_on_the_process_executor(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-m", "genlab", "train", "gan", "ring8", "--steps", "60"]
        + ["--set", "hidden=16", "--executor", "process", "--runs-dir", str(tmp_path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    (info,) = [json.loads(p.read_text()) for p in tmp_path.glob("*/run.json")]
    assert (info["status"], info["executor"], info["step"]) == ("done", "process", 60)


def test_start_waits_for_the_first_samples_but_not_for_a_queued_run(store):
    registry = RunRegistry(max_concurrent=1)
    values = {"steps": 100_000, "log_every": 10, "eval_every": 0}
    first = ProcessRun("gan", "ring8", TINY, values, store=store).start(registry)
    assert first.wait_first_samples(30) and first.snapshots  # here, without another read
    second = ProcessRun("gan", "ring8", TINY, values, store=store).start(registry)
    t0 = time.monotonic()
    assert not second.wait_first_samples(30) and time.monotonic() - t0 < 1
    local = Run("gan", "ring8", TINY, values, store=store).start()
    assert local.wait_first_samples(30) and local.snapshots
    for run in (first, second, local):
        run.stop()
    registry.shutdown(timeout=30)
    assert local.join(30)
