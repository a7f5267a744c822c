"""The runner: background thread, controls, failure, resume, registry and store."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import pytest
import torch

from genlab.methods.base import METHODS, Method
from genlab.params import param
from genlab.runs import REGISTRY, Run, RunStore
from genlab.runs.registry import RunRegistry, mark_interrupted


def wait_for(pred, timeout=60.0, every=0.02):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(every)
    return False


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "runs"))
    return RunStore(tmp_path / "runs")


@dataclass(frozen=True)
class ToyConfig:
    lr: float = param(0.05, low=0.0, high=1e6, live=True, optimizer="*", help="step size")
    blow_up_at: int = param(-1, low=-1, high=10**6, help="step at which the loss becomes nan")
    raise_at: int = param(-1, low=-1, high=10**6, help="step at which train_step raises")
    delay: float = param(0.0, low=0.0, high=1.0, help="seconds to sleep per step")


class Toy(Method):
    """Fits a 2D mean to points: tiny, fast, and able to fail on request."""

    name = "toy"
    label = "Toy"
    supports = ("points",)
    Config = ToyConfig

    def __init__(self, cfg, spec):
        super().__init__(cfg, spec)
        self.mu = torch.nn.Parameter(torch.zeros(2))
        self.optimizers = {"model": torch.optim.SGD([self.mu], lr=cfg.lr)}

    def train_step(self, x, y=None):
        if self.step == self.cfg.raise_at:
            raise RuntimeError("boom inside the method")
        if self.cfg.delay:
            time.sleep(self.cfg.delay)
        loss = ((self.to_model(x) - self.mu) ** 2).mean()
        if self.step == self.cfg.blow_up_at:
            loss = loss * float("nan")
        opt = self.optimizers["model"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss/mse": loss.detach()}

    @torch.no_grad()
    def sample(self, n, y=None, generator=None, **opts):
        z = self.noise(n, 2, generator=generator)
        return self.to_data(self.mu + 0.1 * z)


@pytest.fixture(autouse=True)
def toy_method():
    METHODS["toy"] = Toy
    yield
    METHODS.pop("toy", None)


def toy_run(store, steps=200, **cfg):
    train = {
        "steps": steps,
        "batch_size": 8,
        "log_every": 10,
        "sample_every": 50,
        "eval_every": 0,
        "checkpoint_every": 50,
        "device": "cpu",
    }
    return Run("toy", "ring8", cfg, train, store=store)


def test_run_trains_to_done_and_writes_its_folder(store):
    run = toy_run(store).start()
    run.join(60)
    snap = run.snapshot()
    assert snap.status == "done" and snap.step == 200
    assert snap.last["loss/mse"] < 1.5
    d = run.dir
    info = json.loads(d.run_json.read_text())
    assert info["status"] == "done" and info["seed"] == 0
    assert {"genlab", "torch", "python"} <= set(info["versions"])
    rows = d.read_metrics()
    assert [r["step"] for r in rows if "loss/mse" in r][:3] == [1, 10, 20]  # step 1: the first row
    assert d.has_checkpoint() and len(d.list_samples()) >= 4
    assert not list(d.path.rglob("*.tmp"))  # atomic writes leave no temp files


def test_same_seed_same_curve(store):
    a = toy_run(store, steps=60).start()
    a.join(30)
    b = toy_run(store, steps=60).start()
    b.join(30)
    assert a.history.series("loss/mse")[2] == b.history.series("loss/mse")[2]


def test_pause_resume_step_and_stop(store):
    run = toy_run(store, steps=100_000, delay=0.001).start()
    assert wait_for(lambda: run.snapshot().step > 5)
    run.pause()
    assert wait_for(lambda: run.status == "paused")
    s1 = run.snapshot().step
    time.sleep(0.3)
    assert run.snapshot().step == s1  # paused means no steps
    run.step_n(7)
    assert wait_for(lambda: run.status == "paused" and run.snapshot().step == s1 + 7)
    run.resume()
    assert wait_for(lambda: run.snapshot().step > s1 + 20)
    run.stop()
    run.join(30)
    assert run.status == "stopped"
    assert run.dir.has_checkpoint()  # stopping keeps a checkpoint of where it got to


def test_nan_fails_the_run_and_keeps_last_good_checkpoint(store):
    run = toy_run(store, steps=500, blow_up_at=123).start()
    run.join(60)
    snap = run.snapshot()
    assert snap.status == "failed"
    assert "non-finite" in snap.error and "step 130" in snap.error and "loss/mse=nan" in snap.error
    tensors, meta = run.dir.load_checkpoint()
    assert meta["step"] == 100
    assert torch.isfinite(tensors["model/mu"]).all()


def test_exception_fails_only_that_run(store):
    bad = toy_run(store, steps=100, raise_at=5).start()
    good = toy_run(store, steps=100).start()
    bad.join(30)
    good.join(30)
    assert bad.status == "failed" and "boom inside the method" in bad.snapshot().error
    assert good.status == "done"


def test_resume_from_checkpoint_continues(store):
    run = toy_run(store, steps=100).start()
    run.join(30)
    again = Run.from_dir(run.dir.path, steps=180, store=store).start()
    again.join(30)
    snap = again.snapshot()
    assert snap.status == "done" and snap.step == 180
    steps = [r["step"] for r in again.dir.read_metrics() if "loss/mse" in r]
    assert steps == sorted(set(steps)) and steps[-1] == 180  # no duplicated rows


def test_validation_happens_before_any_thread(store):
    with pytest.raises(ValueError, match="lr=-1.0 is below the minimum"):
        Run("toy", "ring8", {"lr": -1.0}, {}, store=store)
    with pytest.raises(ValueError, match="does not support images"):
        Run("toy", "digits", {}, {}, store=store)
    with pytest.raises(ValueError, match="unknown parameter 'nope'"):
        Run("toy", "ring8", {"nope": 1}, {}, store=store)
    with pytest.raises(ValueError, match="unknown dataset"):
        Run("toy", "ring9", {}, {}, store=store)


def test_a_repeated_generated_id_draws_another(store, monkeypatch):
    """Two runs started in the same second may draw the same id: the second draws again."""
    import genlab.runs.setup as run_mod

    ids = iter(["same-id", "same-id", "other-id"])
    monkeypatch.setattr(run_mod, "new_run_id", lambda method, dataset: next(ids))
    first = Run("toy", "ring8", {}, {"steps": 1}, store=store)
    second = Run("toy", "ring8", {}, {"steps": 1}, store=store)
    assert (first.id, second.id) == ("same-id", "other-id")
    assert second.dir.path.name == "other-id" and second.dir.path.is_dir()
    with pytest.raises(FileExistsError):  # an id the caller chose is never silently replaced
        Run("toy", "ring8", {}, {"steps": 1}, store=store, run_id="same-id")


def test_live_knob_change_is_recorded(store):
    run = toy_run(store, steps=100_000, delay=0.001).start()
    assert wait_for(lambda: run.snapshot().step > 5)
    run.set_live(lr=0.01)
    assert wait_for(lambda: run.live_changes)
    with pytest.raises(ValueError, match="cannot change while a run is live"):
        run.set_live(blow_up_at=3)
    run.stop()
    run.join(30)
    change = run.live_changes[0]
    assert change["key"] == "lr" and change["value"] == 0.01 and change["step"] > 5
    assert run.method.optimizers["model"].param_groups[0]["lr"] == 0.01
    assert json.loads(run.dir.run_json.read_text())["live_changes"][0]["key"] == "lr"


def test_registry_caps_concurrent_runs(store):
    reg = RunRegistry(max_concurrent=1)
    a, b = toy_run(store, steps=100_000, delay=0.001), toy_run(store, steps=50)
    a.start(registry=reg)
    b.start(registry=reg)
    assert wait_for(lambda: a.status == "running")
    time.sleep(0.3)
    assert b.status == "queued"
    a.stop()
    b.join(0)
    assert wait_for(lambda: b.status == "done", timeout=60)
    assert reg.get(a.id) is a and reg.get(b.id) is b


def test_stopping_a_queued_run(store):
    reg = RunRegistry(max_concurrent=1)
    a, b = toy_run(store, steps=100_000, delay=0.001), toy_run(store, steps=50)
    a.start(registry=reg)
    b.start(registry=reg)
    b.stop()
    assert b.status == "stopped"
    a.stop()
    assert a.join(30)


def test_history_is_bounded_and_thinned_by_age(store):
    from genlab.runs.history import MetricHistory

    h = MetricHistory(cap=100)
    for i in range(10_000):
        h.append(i, float(i), {"a": float(i)})
    steps, _, _ = h.series("a")
    assert len(steps) <= 100
    assert steps[0] == 0 and steps[-1] == 9999
    assert steps == sorted(steps)
    assert steps[-1] - steps[-2] < steps[1] - steps[0]  # recent past kept finer than the distant


def test_interrupted_runs_are_marked_and_resumable(store):
    run = toy_run(store, steps=100).start()
    run.join(30)
    info = run.dir.read_info()
    info["status"] = "running"  # what a killed server leaves behind
    run.dir.write_info(info)
    REGISTRY.forget(run.id)
    assert mark_interrupted(store) == [run.id]
    assert run.dir.read_info()["status"] == "interrupted"
    again = Run.from_dir(run.dir.path, steps=120, store=store).start()
    again.join(30)
    assert again.status == "done"


def test_concurrent_runs_from_many_threads(store):
    runs = []
    lock = threading.Lock()

    def start():
        r = toy_run(store, steps=60).start()
        with lock:
            runs.append(r)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in runs:
        r.join(60)
    assert [r.status for r in runs] == ["done"] * 6
    assert len({r.id for r in runs}) == 6


def test_lr_schedule_scales_from_the_configured_rate(store):
    from genlab.params import lr_factor

    assert lr_factor("step", 0, 100) == 1.0 and lr_factor("step", 70, 100) == 0.2
    assert lr_factor("step", 90, 100) == 0.05 and lr_factor("constant", 99, 100) == 1.0
    assert abs(lr_factor("cosine", 100, 100) - 0.05) < 1e-9
    train = {"steps": 100, "batch_size": 8, "eval_every": 0, "lr_schedule": "step", "device": "cpu"}
    run = Run("toy", "ring8", {"lr": 0.1}, train, store=store).start()
    run.join(30)
    group = run.method.optimizers["model"].param_groups[0]
    assert group["lr"] == pytest.approx(0.1 * 0.05) and group["base_lr"] == 0.1
    run.method.change_live(lr=0.2)  # a live change moves the configured rate, the schedule stays
    assert group["lr"] == pytest.approx(0.2 * 0.05)


@pytest.mark.parametrize(
    "method, data, values, legacy",
    [
        ("rgan", "sines", {"hidden": 8, "noise": "step", "d_arch": "lstm", "n_critic": 1},
         {"noise": "step", "d_arch": "lstm"}),
        ("cgan", "digits", {"hidden": 16, "aux_weight": 0.0}, {"aux_weight": 0.0}),
        ("vae", "moons", {"hidden": 16, "sampler": "prior"}, {"sampler": "prior"}),
    ],
)  # fmt: skip
def test_a_run_saved_before_a_new_hyperparameter_resumes_as_it_trained(
    store, method, data, values, legacy
):
    """run.json of an older genlab lacks the keys added since: they read as the values those
    runs trained with (`Method.legacy_values`), not the new defaults, so the nets still fit."""
    run = Run(method, data, values, {"steps": 4, "batch_size": 16, "device": "cpu"}, store=store)
    run.start().join(120)
    assert run.status == "done", run.snapshot().error
    info = json.loads(run.dir.run_json.read_text())
    for key in legacy:
        del info["method_config"][key]
    run.dir.run_json.write_text(json.dumps(info))
    assert {k: run.dir.read_info()["method_config"][k] for k in legacy} == legacy
    again = Run.from_dir(run.dir.path, steps=6, store=store)
    again.start().join(120)
    assert again.status == "done", again.snapshot().error
    assert again.snapshot().step == 6


def test_cpu_runs_train_with_GENLAB_CPU_THREADS_in_their_own_thread_only(store, monkeypatch):
    seen = []
    step = Toy.train_step

    def spy(self, x, y=None):
        seen.append(torch.get_num_threads())
        return step(self, x, y)

    monkeypatch.setattr(Toy, "train_step", spy)
    monkeypatch.setenv("GENLAB_CPU_THREADS", "2")
    before = torch.get_num_threads()
    run = toy_run(store, steps=3).start()
    assert run.join(60) and run.status == "done"
    assert set(seen) == {2}
    assert torch.get_num_threads() == before  # the caller's thread keeps its own count


def test_a_non_finite_evaluation_fails_the_run_as_diverged(store):
    """Found by the random-config test: a VAE at lr 1.0 trained two finite steps, then its
    held-out KL was inf; the run ended `done` with NaN metrics."""
    run = Run(
        "vae",
        "digits",
        {"layers": 1, "lr": 1.0},
        {"steps": 2, "batch_size": 24, "eval_every": 0, "checkpoint_every": 0, "device": "cpu"},
        store=store,
    ).start()
    assert run.join(120)
    snap = run.snapshot()
    assert snap.status == "failed"
    assert "diverged: non-finite evaluation at step 2" in snap.error and "eval/kl=inf" in snap.error


def test_evaluations_run_beside_training_and_log_at_their_step(store, monkeypatch):
    """Issue 12: an evaluation stopped the step counter for 16 s. Now each runs on a copy of the
    weights beside training: an evaluation that waits until the run has trained 100 steps past
    its own step could never finish if it stopped training (it would time out here)."""
    import genlab.runs.evaluator

    finished_at: dict[int, int] = {}

    def slow_evaluate(method, data, **opts):
        t0 = time.time()
        while run.snapshot().step < min(method.step + 100, run.train.steps):
            assert time.time() - t0 < 60, "training stood still during an evaluation"
            time.sleep(0.005)
        finished_at[method.step] = run.snapshot().step
        return {"eval/toy": float(method.step)}

    monkeypatch.setattr(genlab.runs.evaluator, "evaluate", slow_evaluate)
    train = {"steps": 300, "batch_size": 8, "log_every": 10, "eval_every": 50, "device": "cpu"}
    run = Run("toy", "ring8", {}, train, store=store).start()
    assert run.join(120) and run.status == "done", run.snapshot().error
    assert sorted(finished_at) == [50, 100, 150, 200, 250, 300]
    assert all(finished_at[s] >= s + 100 for s in (50, 100, 150, 200))
    # logged at the step they evaluated, in order, with the seconds each took
    steps, _, values = run.history.series("eval/toy")
    assert steps == [50, 100, 150, 200, 250, 300] and values == [float(s) for s in steps]
    rows = [r for r in run.dir.read_metrics() if "eval/toy" in r]
    assert [r["step"] for r in rows] == steps and all(r["time/eval_s"] >= 0 for r in rows)
    assert run.snapshot().last["eval/toy"] == 300.0  # the final one is in before `done`


def test_view_weights_are_thinned_over_the_whole_run(store, monkeypatch):
    """A 2D run keeps its weights at every snapshot for the replay's inside views, at most
    VIEW_WEIGHTS_MAX of them: past that, every other one of the older half goes, so the first
    stays, the history spans the run and the newest are dense."""
    import genlab.runs.store as store_module
    from genlab.runs.store import RunDir

    monkeypatch.setattr(store_module, "VIEW_WEIGHTS_MAX", 8)
    d = RunDir(store.home / "thin")
    w = {"a": torch.arange(3.0)}
    for step in range(0, 200, 10):
        d.save_view_weights(step, {"a": w["a"] + step})
        assert len(d.view_weight_steps()) <= 8
    kept = d.view_weight_steps()
    assert kept[0] == 0 and kept[-1] == 190 and kept[-2] == 180
    assert torch.equal(d.load_view_weights(kept[-1])["a"], w["a"] + 190)
    gaps = [b - a for a, b in zip(kept, kept[1:])]
    assert gaps[-1] < gaps[0]  # thinned more in the past


def test_only_kinds_that_declare_it_keep_view_weights(store):
    from genlab.kinds import kind_of

    run = Run("toy", "ring8", {}, {"steps": 20, "sample_every": 10, "device": "cpu"}, store=store)
    assert run.start().join(60) and run.status == "done"
    assert kind_of("points").keeps_view_weights and run.dir.view_weight_steps()
    assert not kind_of("images").keeps_view_weights and not kind_of("text").keeps_view_weights
