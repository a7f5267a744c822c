"""The `ray` executor against a local Ray instance (2 CPUs, started once for this module): a run
trains in a Ray actor, its live state arrives through the proxy, the controls work, and a worker
killed mid-run leaves an `interrupted` run that resumes from its checkpoint.

Ray is a test dependency (requirements-dev.txt includes requirements-ray.txt), not skipped."""

import pytest
import ray
from charts import charts  # tests/charts.py
from runwait import ckpt_step, wait_for  # tests/runwait.py

from genlab.runs import REGISTRY, AnyRun, Run
from genlab.runs.ray_exec import RayRun, ensure_ray
from genlab.runs.state import RunState

TINY = {"hidden": 16, "latent_dim": 4}


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ensure_ray(num_cpus=2)
    yield
    ray.shutdown()


def test_ray_run_completes_with_live_snapshots_and_lands_in_the_store(store):
    run = RayRun(
        "gan",
        "ring8",
        TINY,
        {"steps": 300, "log_every": 10, "sample_every": 30, "eval_every": 0, "checkpoint_every": 0},
        store=store,
    )
    assert isinstance(run, RunState) and not isinstance(run, Run) and run.executor == "ray"
    run.start()
    # slow motion (10 ms a step): at least 3 s of training, so the proxy pulls several times
    # while it trains however fast or loaded the machine is
    run.set_delay(0.01)
    assert REGISTRY.get(run.id) is run
    seen = []  # (step, n_snapshots, history rows) read while it trains
    while not run.join(0.1):
        snap = run.snapshot()
        if snap.status == "running":
            seen.append((snap.step, snap.n_snapshots, len(run.history)))
    snap = run.snapshot()
    assert snap.status == "done" and snap.step == 300
    live = [s for s in seen if 0 < s[0] < 300]
    assert len({s[0] for s in live}) >= 2, seen  # the step moved while we watched
    assert any(n > 0 for _, n, _ in live) and any(h > 0 for _, _, h in live)
    # what the proxy pulled equals what the worker wrote
    info = run.dir.read_info()
    assert info["status"] == "done" and info["executor"] == "ray" and info["step"] == 300
    rows = run.dir.read_metrics()
    steps, _, values = run.history.series("loss/d")
    assert steps == [r["step"] for r in rows if "loss/d" in r]
    assert values == pytest.approx([r["loss/d"] for r in rows if "loss/d" in r])
    assert "eval/hq" in snap.last  # evaluated at the end
    assert [s.step for s in run.snapshots] == [s for s, _ in run.dir.list_samples()]
    assert run.dir.has_checkpoint()


def test_ray_controls_stop_resume_and_a_killed_worker(store):
    run = RayRun(
        "gan",
        "ring8",
        TINY,
        {
            "steps": 100_000,
            "log_every": 10,
            "sample_every": 500,
            "eval_every": 0,
            "checkpoint_every": 20,
        },
        store=store,
    )
    run.start()
    wait_for(lambda: run.snapshot().step > 20)
    # pause, then step exactly 15 more
    run.pause()
    wait_for(lambda: run.snapshot().status == "paused")
    at = run.snapshot().step
    run.step_n(15)
    wait_for(lambda: run.snapshot().status == "paused" and run.snapshot().step == at + 15)
    run.set_live(lr_g=5e-4)
    run.resume()
    wait_for(lambda: run.snapshot().step > at + 25)
    run.stop()
    assert run.join(60)
    assert run.status == "stopped" and run.dir.read_info()["status"] == "stopped"
    assert any(c["key"] == "lr_g" for c in run.snapshot().live_changes)
    stopped_at = run.snapshot().step
    assert ckpt_step(run) == stopped_at

    # resume on Ray; then the worker is killed mid-run
    again = RayRun.from_dir(run.dir.path, steps=100_000, store=store).start()
    wait_for(lambda: again.snapshot().step > stopped_at + 25 and ckpt_step(again) > stopped_at)
    ray.kill(again._host)
    assert again.join(60)
    assert again.status == "interrupted"
    info = again.dir.read_info()
    assert info["status"] == "interrupted" and "Ray worker" in info["error"]
    ckpt = ckpt_step(again)
    assert ckpt > stopped_at

    # and it resumes from its last checkpoint, here on the local executor
    last = Run.from_dir(again.dir.path, steps=ckpt + 20, store=store).start()
    assert last.join(120)
    assert last.status == "done" and last.snapshot().step == ckpt + 20
    assert last.dir.read_info()["executor"] == "local"


def test_train_page_executor_select_starts_a_ray_run_shown_live(store):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from genlab.ui import forms

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=120)
    for k, v in {
        "method": "gan",
        "data": "ring8",
        "steps": "60",
        "hidden": "16",
        "eval_every": "0",
        "log_every": "10",
    }.items():
        at.query_params[k] = v
    at.run()
    box = at.selectbox(key=forms.EXECUTOR_KEY)
    assert box.options == [
        "local: a thread of the server",
        "process: its own (default)",
        "ray (local)",
    ]
    box.set_value("ray").run()
    at.button(key="start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    run_id = at.query_params["run"]
    run = REGISTRY.get(run_id[0] if isinstance(run_id, list) else run_id)
    assert isinstance(run, RayRun) and isinstance(run, AnyRun)  # the pages' one protocol
    assert run.join(120) and run.status == "done"
    at.run()  # the live view of the finished Ray run
    assert not at.exception, [e.value for e in at.exception]
    assert charts(at)


# ----- GPU placement and options (no GPU here: CUDA is faked, bf16 runs on the CPU) ----------
def test_auto_device_picks_the_least_busy_gpu_and_ray_asks_for_one(monkeypatch):
    import torch

    from genlab import params
    from genlab.runs import build, ray_exec

    class Live:
        device = torch.device("cuda", 0)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 3)
    free = {0: 9e9, 1: 1e9, 2: 5e9}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda i: (free[i], 1e10))
    monkeypatch.setattr(REGISTRY, "live", lambda: [Live()])
    # GPU 0 has a run; of the idle ones, GPU 2 has the most free memory
    assert build.resolve_device("auto") == torch.device("cuda", 2)
    monkeypatch.setattr(REGISTRY, "live", lambda: [])
    assert build.resolve_device("auto") == torch.device("cuda", 0)

    train = params.build(params.TrainConfig)
    monkeypatch.setattr(ray_exec, "cluster_gpus", lambda: 4.0)
    assert ray_exec.trial_resources(train) == {"num_cpus": 1, "num_gpus": 1}
    cpu_only = params.build(params.TrainConfig, {"device": "cpu"})
    assert ray_exec.trial_resources(cpu_only)["num_gpus"] == 0
    monkeypatch.setattr(ray_exec, "cluster_gpus", lambda: 0.0)
    assert ray_exec.trial_resources(train)["num_gpus"] == 0


def test_bf16_precision_trains_and_is_recorded(store):
    run = Run(
        "gan",
        "ring8",
        TINY,
        {"steps": 30, "precision": "bf16", "log_every": 10, "eval_every": 0, "device": "cpu"},
        store=store,
    ).start()
    assert run.join(120) and run.status == "done", run.snapshot().error
    info = run.dir.read_info()
    assert info["train_config"]["precision"] == "bf16"
    assert all(abs(v) < 1e6 for k, v in info["last"].items() if k.startswith("loss/"))
    with pytest.raises(ValueError, match="precision='fp16' is not one of fp32, bf16"):
        Run("gan", "ring8", TINY, {"precision": "fp16"}, store=store)


def test_ray_is_started_from_a_thread_that_outlives_a_script_run():
    """A local Ray instance's processes end with the thread that started them: started from a
    Streamlit script run, every Ray run from the app failed about 5 s after Start ("the Ray
    worker was lost"). ray.init now runs in a thread that lives as long as the process."""
    import threading

    from genlab.runs.ray_exec import _in_a_lasting_thread

    ran_in: list[threading.Thread] = []
    script = threading.Thread(target=lambda: _in_a_lasting_thread(
        lambda: ran_in.append(threading.current_thread())
    ))  # fmt: skip
    script.start()
    script.join(10)
    assert not script.is_alive() and ran_in  # the script run ended, its call returned
    assert ran_in[0] is not script and ran_in[0].is_alive()  # Ray's starter lives on
    # from the main thread (the CLI, a notebook) it runs in place
    _in_a_lasting_thread(lambda: ran_in.append(threading.current_thread()))
    assert ran_in[-1] is threading.main_thread()
    # a failure in the lasting thread reaches the caller (here a short-lived thread)
    caught: list[BaseException] = []

    def fail() -> None:
        raise ValueError("no cluster")

    def script_run() -> None:
        try:
            _in_a_lasting_thread(fail)
        except ValueError as e:
            caught.append(e)

    t = threading.Thread(target=script_run)
    t.start()
    t.join(10)
    assert [str(e) for e in caught] == ["no cluster"]
