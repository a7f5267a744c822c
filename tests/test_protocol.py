"""One run protocol (genlab.runs.AnyRun): a run training here and a saved run read from its folder
answer the same members with the same values, a saved run's controls refuse, and no page or sweep
asks which kind of run it holds."""

import ast
from pathlib import Path

import pytest

from genlab.runs import AnyRun, Run, RunStore, SavedRun, read_saved_run

PKG = Path(__file__).resolve().parents[1] / "genlab"
RUN_TYPES = {"Run", "RayRun", "SavedRun", "DiskRun"}


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "runs"))
    return RunStore(tmp_path / "runs")


def test_a_training_run_and_its_saved_folder_answer_alike(store):
    run = Run(
        "vae",
        "ring8",
        {"hidden": 16, "latent_dim": 2},
        {"steps": 40, "sample_every": 20, "eval_every": 0},
        store=store,
    )
    run.rename("first")
    run.start()
    assert run.join(120) and run.status == "done"
    saved = read_saved_run(store, run.id)
    assert isinstance(run, AnyRun) and isinstance(saved, AnyRun)
    assert run.in_process and not saved.in_process
    for name in ("id", "name", "method_name", "dataset_name", "data_file", "kind", "status"):
        assert getattr(saved, name) == getattr(run, name), name
    assert saved.kind == "points" and saved.name == "first"
    a, b = run.snapshot(), saved.snapshot()
    assert (a.step, a.steps, a.status, a.n_snapshots) == (b.step, b.steps, b.status, b.n_snapshots)
    assert [s.step for s in saved.snapshots] == [s.step for s in run.snapshots]
    assert saved.history.keys() == run.history.keys() and len(saved.history) == len(run.history)
    assert saved.info()["method_config"] == run.info()["method_config"]
    assert saved.real_data().spec.kind == run.real_data().spec.kind == "points"
    assert saved.view_state() is None and run.view_state() is not None  # saved: its checkpoint


def test_a_saved_run_is_read_only(store):
    run = Run("vae", "ring8", {"hidden": 16}, {"steps": 5, "eval_every": 0}, store=store)
    run.start()
    assert run.join(120)
    saved = read_saved_run(store, run.id)
    for control in (
        saved.pause,
        saved.resume,
        saved.stop,
        lambda: saved.step_n(1),
        lambda: saved.set_live(lr=0.1),
        lambda: saved.set_delay(0.1),
        lambda: saved.rename("x"),
    ):
        with pytest.raises(ValueError, match="saved, not training here"):
            control()
    assert read_saved_run(store, "no-such-run") is None
    assert read_saved_run(store, "../escape") is None


def test_no_code_asks_which_kind_of_run_it_holds():
    """Pages, the catalogue and the sweeps call the protocol; an isinstance check on a run type
    would mean a member is missing from it."""
    found = []
    for path in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                names = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
                if names & RUN_TYPES:
                    found.append(f"{path.relative_to(PKG)}:{node.lineno}")
    assert not found, found
    assert SavedRun.in_process is False and Run.in_process is True
