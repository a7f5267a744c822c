"""stop=auto: a run ends when its held-out measure stops improving (or at its time budget or step
cap), keeps the weights of its best evaluation, records the budget it chose and continues from
the same state on resume; data-aware defaults read only what any dataset of the kind has."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from genlab import params
from genlab.data import DATASETS, load_dataset
from genlab.data.facts import count_clusters
from genlab.methods import METHODS
from genlab.runs import Run
from genlab.runs.build import auto_eval_every, data_defaults, default_choices, train_config
from genlab.runs.stopping import BEST_STEP, Stopper
from genlab.runs.store import RunDir, RunStore


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


def blob_csv(tmp_path, n: int = 2000) -> str:
    """One Gaussian blob: a few hundred steps fit it."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 2, generator=g) * 0.5 + 1.0
    path = tmp_path / "blob.csv"
    path.write_text("\n".join(f"{a:.5f},{b:.5f}" for a, b in x.tolist()))
    return str(path)


# ----- the rule ----------------------------------------------------------------------------------
def feed(stopper: Stopper, values: list[float], every: int = 100) -> None:
    for i, v in enumerate(values, 1):
        stopper.update(i * every, {"eval/mmd": v, "floor/mmd": 0.01})


def test_stopper_stops_after_patience_evaluations_without_a_gain_and_keeps_the_best():
    s = Stopper("points", patience=3)
    feed(s, [0.5, 0.3, 0.2, 0.2005, 0.199, 0.21])  # the last three gain < 2% (or lose)
    assert s.reason() == "no gain on eval/mmd for 3 evaluations"
    best = s.best()
    assert best.step == 500 and best.values["eval/mmd"] == 0.199  # the lowest value, kept


def test_stopper_keeps_going_while_the_measure_improves():
    s = Stopper("points", patience=2)
    feed(s, [1.0 * 0.9**i for i in range(30)])  # 10% better each time
    assert s.reason() is None
    assert s.state()["since"] == 0 and s.best().step == 3000


def test_gains_within_the_floors_noise_do_not_count():
    # unbiased MMD² near 0 wanders by less than 20% of the real-vs-real floor (0.01 here)
    s = Stopper("points", patience=3)
    feed(s, [0.05, 0.001, 0.0005, -0.0003, -0.001])
    assert s.reason() is not None
    assert s.best().values["eval/mmd"] == -0.001  # still the lowest seen


def test_the_step_schedule_drops_the_rate_on_each_plateau_before_stopping():
    s = Stopper("points", patience=2, schedule="step")
    assert s.lr_factor() == 1.0
    feed(s, [0.5, 0.5, 0.5])
    assert s.lr_factor() == 0.2 and s.reason() is None
    feed(s, [0.5, 0.5])
    assert s.lr_factor() == 0.05 and s.reason() is None
    feed(s, [0.5, 0.5])
    assert s.reason() is not None
    assert [d["factor"] for d in s.state()["drops"]] == [0.2, 0.05]


def test_a_higher_is_better_or_missing_measure():
    s = Stopper("text", patience=1)
    s.update(100, {"eval/novelty": 0.9})  # neither text measure: nothing to stop on
    assert s.key is None and s.reason() is None
    s.update(200, {"eval/nll": 2.0})
    s.update(300, {"eval/nll": 2.5})
    assert s.key == "eval/nll" and s.reason() is not None and s.best().step == 200


def test_replay_rebuilds_the_state_from_metric_rows():
    rows = [{"step": 100 * i, "t": float(i), "eval/mmd": v} for i, v in enumerate([0.5, 0.3, 0.3])]
    rows.insert(1, {"step": 50, "loss/d": 1.0})  # training rows are skipped
    live, replayed = Stopper("points", 3, "step"), Stopper("points", 3, "step")
    for r in rows:
        if "eval/mmd" in r:
            live.update(r["step"], r)
    replayed.replay([*rows, {"step": 300, "eval/mmd": 0.1, BEST_STEP: 100}])
    assert replayed.state() == live.state()


# ----- the settings ------------------------------------------------------------------------------
def test_steps_auto_and_a_number_of_steps_read_as_before():
    assert params.expand_steps({"steps": "auto"}) == {"stop": "auto"}
    assert params.expand_steps({"steps": 500}) == {"steps": 500, "stop": "steps"}
    assert params.expand_steps({"steps": 500, "stop": "auto"})["stop"] == "auto"
    spec = load_dataset("ring8").spec
    assert train_config("gan", spec=spec).stop == "auto"  # the default
    assert train_config("gan", {"steps": 700}, spec).stop == "steps"  # as the CLI's --steps 700
    auto = train_config("gan", {"steps": "auto"}, spec)
    assert auto.stop == "auto" and auto.steps == 5000 and auto.eval_every == auto_eval_every(5000)
    (parsed,), _ = params.split_overrides({"steps": "auto"}, params.TrainConfig)
    assert parsed == {"stop": "auto"}


def test_old_run_folders_trained_a_fixed_number_of_steps(store):
    r = Run("gan", "ring8", train_values={"steps": 20, "eval_every": 0}, store=store).start()
    assert r.join(120)
    info = json.loads(r.dir.run_json.read_text())
    del info["train_config"]["stop"]  # as written before stop=auto existed
    r.dir.run_json.write_text(json.dumps(info))
    assert RunDir(r.dir.path).read_info()["train_config"]["stop"] == "steps"


def test_a_text_nll_keeps_training_on_gains_under_two_percent():
    # the validation NLL is exact: 0.01 nats/char each evaluation is the model, not noise
    s = Stopper("text", patience=3)
    for i in range(12):
        s.update(100 * (i + 1), {"eval/nll": 2.4 - 0.01 * i})
    assert s.reason() is None and s.best().step == 1200
    for i in range(3):
        s.update(1300 + 100 * i, {"eval/nll": 2.29 - 0.001 * i})  # 0.05%: converged
    assert s.reason() == "no gain on eval/nll for 3 evaluations"


def test_a_short_text_list_gets_a_smaller_model_and_closer_evaluations(tmp_path):
    names = load_dataset("names")
    words = ["".join(names.spec.vocab[int(t)] for t in row if int(t) > 0) for row in names.x_train]
    choices = {}
    for n in (300, 1500):
        path = tmp_path / f"names{n}.txt"
        path.write_text("\n".join(words[:n]))
        spec = load_dataset("textfile", data_file=str(path)).spec
        assert 0 < spec.train_chars < (5_000 if n == 300 else 20_000)
        choices[n] = {k: (v, why) for k, v, why in default_choices("lstm", spec)}
    tiny, small = choices[300], choices[1500]
    assert tiny["hidden"][0] == 64 and tiny["dropout"][0] == 0.5
    assert "training characters" in tiny["hidden"][1]
    assert "hidden" not in small and small["dropout"][0] == 0.5
    assert tiny["eval_every"][0] == 10 and small["eval_every"][0] == 20
    assert train_config("lstm", {"eval_every": 50}, spec).eval_every == 50  # the user's wins
    big = {k for k, _, _ in default_choices("lstm", names.spec)}
    assert not big & {"hidden", "dropout", "emb_dim"}  # 32,552 characters: the defaults


def test_defaults_never_read_a_datasets_name_or_its_known_modes():
    for name, info in DATASETS.items():
        if info.upload:
            continue
        spec = load_dataset(name).spec
        renamed = dataclasses.replace(spec, name="my-upload", modes=(), mode_std=0.0)
        for method, cls in METHODS.items():
            if spec.kind not in cls.supports or (cls.conditional and not spec.labelled):
                continue
            assert data_defaults(method, renamed) == data_defaults(method, spec), (name, method)
            assert train_config(method, spec=renamed) == train_config(method, spec=spec)


def test_clusters_are_measured_on_the_data():
    assert load_dataset("ring8").spec.clusters == 8
    g = torch.Generator().manual_seed(3)
    centres = torch.rand(12, 2, generator=g) * 10
    x = centres[torch.randint(12, (6000,), generator=g)] + 0.05 * torch.randn(6000, 2, generator=g)
    assert 10 <= count_clusters(x) <= 14  # a dozen tight modes, as an upload would have them
    assert load_dataset("mnist").spec.clusters == 0  # only 2D points


def test_the_train_page_reasons_name_the_measured_facts():
    choices = {k: (v, why) for k, v, why in default_choices("gan", load_dataset("grid25").spec)}
    value, why = choices["steps"]
    assert value == 20000 and "clusters found" in why
    assert choices["stop"][0] == "auto" and "eval/mmd" in choices["stop"][1]


def test_denoisers_budget_follows_the_clusters_found():
    many, few = load_dataset("grid25").spec, load_dataset("ring8").spec
    for method in ("ddpm", "flow"):
        assert train_config(method, spec=many).steps == 20000
        assert train_config(method, spec=few).steps == 8000


# ----- runs --------------------------------------------------------------------------------------
def test_auto_stops_a_converged_run_well_before_its_cap_and_keeps_its_best_weights(store, tmp_path):
    r = Run(
        "flow",
        "csv2d",
        train_values={"steps": 20000, "stop": "auto", "eval_every": 50, "seed": 0},
        data_file=blob_csv(tmp_path),
        store=store,
    ).start()
    assert r.join(300)
    info = json.loads(r.dir.run_json.read_text())
    assert info["status"] == "done" and info["step"] < 2000  # the cap is 20,000
    stop = info["stop"]
    assert stop["reason"] == "no gain on eval/mmd for 3 evaluations"
    assert stop["measure"] == "eval/mmd" and stop["kept_step"] == stop["best_step"]
    # the budget it chose is in run.json
    assert {k: info["train_config"][k] for k in ("stop", "steps", "patience", "time_budget")} == {
        "stop": "auto",
        "steps": 20000,
        "patience": 3,
        "time_budget": 300.0,
    }
    rows = r.dir.read_metrics()
    last = rows[-1]
    assert last[BEST_STEP] == stop["best_step"] and last["step"] == info["step"]
    best_row = next(x for x in rows if x["step"] == stop["best_step"] and "eval/mmd" in x)
    assert last["eval/mmd"] == best_row["eval/mmd"] == stop["best"]
    # the saved weights are the best evaluation's: evaluating them gives its value again
    from genlab.metrics import evaluate
    from genlab.runs.build import build_method

    tensors, meta = r.dir.load_checkpoint()
    m = build_method("flow", r.cfg, r.train, r.data.spec)
    m.restore(tensors, meta)
    assert evaluate(m.eval(), r.data)["eval/mmd"] == pytest.approx(stop["best"], abs=1e-6)


def test_auto_checks_sample_coarser_and_the_kept_weights_are_scored_with_the_full_sampler(store):
    """ddpm's 1,000 ancestral steps cost ~1,800 training steps an evaluation: a stop=auto run's
    checks sample 100 of them; its last row scores the kept weights with all 1,000."""
    r = Run(
        "ddpm", "ring8", train_values={"steps": 300, "stop": "auto", "eval_every": 100}, store=store
    ).start()
    assert r.join(300)
    rows = [x for x in r.dir.read_metrics() if "eval/nfe" in x]
    checks, final = rows[:-1], rows[-1]
    assert [x["step"] for x in checks] == [100, 200, 300]
    assert {x["eval/nfe"] for x in checks} == {100}
    assert final["eval/nfe"] == 1000 and final[BEST_STEP] == r.stop_state()["kept_step"]
    from genlab.metrics import evaluate
    from genlab.runs.build import build_method

    tensors, meta = r.dir.load_checkpoint()
    m = build_method("ddpm", r.cfg, r.train, r.data.spec)
    m.restore(tensors, meta)
    assert evaluate(m.eval(), r.data)["eval/mmd"] == pytest.approx(final["eval/mmd"], abs=1e-6)


def test_auto_keeps_training_a_run_that_still_improves(store):
    r = Run(
        "flow", "ring8", train_values={"steps": 400, "stop": "auto", "eval_every": 50}, store=store
    ).start()
    assert r.join(300)
    assert r.status == "done" and r.info()["step"] == 400
    assert r.stop_state()["reason"] == "step cap reached (400 steps)"


def test_the_time_budget_ends_an_auto_run(store):
    r = Run(
        "gan",
        "ring8",
        train_values={"steps": 100_000, "stop": "auto", "time_budget": 1.0, "eval_every": 0},
        store=store,
    ).start()
    assert r.join(120)
    info = r.info()
    assert info["status"] == "done" and info["step"] < 100_000
    assert info["stop"]["reason"] == "time budget reached (1 s)"
    assert "eval/mmd" in info["last"]  # evaluated at the end (none was due before)


def test_a_resumed_auto_run_continues_from_the_same_state(store, tmp_path):
    values = {"steps": 20000, "stop": "auto", "eval_every": 50, "patience": 50}
    r = Run("vae", "ring8", train_values=values, store=store)
    r.step_n(300)
    r.start()
    for _ in range(600):
        if r.status == "paused" and r.info()["step"] >= 300:
            break
        r.join(0.1)
    r._evals.wait()  # every evaluation up to the pause has reported
    before = r.stop_state()
    r.stop()
    assert r.join(60)
    again = Run.from_dir(r.dir.path, store=store)
    assert again.train == r.train  # the budget it chose, read back
    assert again._new_stopper().state() == before
