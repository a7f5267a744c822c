"""The Runs, Compare and Generate pages, launched with streamlit's AppTest over a run store that
holds real tiny finished runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from genlab.runs import REGISTRY, Run, RunStore, catalogue, listing
from genlab.runs.build import build_method

TRAIN = {"steps": 20, "batch_size": 32, "device": "cpu", "log_every": 5, "sample_every": 10}
TIMEOUT = 120
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """GAN (16-d latent) and VAE (2D latent) on the ring, an LSTM on names: trained, finished,
    on disk."""
    root = tmp_path_factory.mktemp("genlab_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENLAB_HOME", str(root))
        runs = [
            # latent_dim set: on 2D points a GAN's default latent is 2-d (GAN.defaults_for)
            Run("gan", "ring8", {"hidden": 32, "latent_dim": 16}, TRAIN).start(),
            Run("vae", "ring8", {"hidden": 32, "latent_dim": 2}, TRAIN).start(),
            Run("lstm", "names", {"hidden": 32}, TRAIN).start(),
        ]
        for r in runs:
            r.join(TIMEOUT)
            assert r.status == "done", r.snapshot().error
        yield root


def ids_by_method(home) -> dict[str, str]:
    return {r.method: r.id for r in listing.collect_runs(RunStore(home)) if not r.corrupt}


def saved_untrained(home, method: str, dataset: str, cfg: dict) -> str:
    """A run folder whose server was killed before training (disk: queued, with a checkpoint)."""
    run = Run(method, dataset, cfg, {"steps": 4, "device": "cpu", "log_every": 2})
    m = build_method(method, run.cfg, run.train, run.data.spec)
    tensors, meta = m.checkpoint()
    run.dir.save_checkpoint(tensors, dict(meta, run_step=0))
    return run.id


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=TIMEOUT)


def no_exception(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


# ----- Runs ---------------------------------------------------------------------------------
def test_runs_page_lists_every_run(home):
    at = no_exception(page("runs").run())
    assert at.title[0].value == "Runs"
    df = at.dataframe[0].value
    assert len(df) == 3 and set(df["method"]) == {"gan", "vae", "lstm"}
    assert set(df["steps"]) == {"20/20"} and df["status"].str.contains("done").all()
    assert df["open"].str.startswith("./live?run=").all()
    assert any("loss/d" in s for s in df["last metrics"])
    assert len(at.selectbox(key="runs_pick").options) == 3
    labels = [b.label for b in at.button]
    assert "Resume" in labels and "Delete…" in labels


def test_runs_page_delete_asks_first(home):
    rid = saved_untrained(home, "gan", "ring8", {"hidden": 16})
    at = page("runs").run()
    at.selectbox(key="runs_pick").set_value(rid).run()
    no_exception(at.button(key="runs_delete").click().run())
    assert (RunStore(home).home / rid).exists()  # nothing deleted before the confirmation
    no_exception(at.button(key="runs_delete_no").click().run())
    assert "runs_delete_yes" not in [b.key for b in at.button]
    at.button(key="runs_delete").click().run()
    no_exception(at.button(key="runs_delete_yes").click().run())
    assert not (RunStore(home).home / rid).exists()
    assert rid not in at.selectbox(key="runs_pick").options
    assert any("Deleted" in s.value for s in at.success)


def test_runs_page_resumes_an_interrupted_run(home):
    rid = saved_untrained(home, "gan", "ring8", {"hidden": 16})
    at = page("runs").run()
    at.selectbox(key="runs_pick").set_value(rid).run()
    assert "interrupted" in at.dataframe[0].value.set_index("id").loc[rid, "status"]
    at.number_input(key=f"runs_resume_steps_{rid}").set_value(6).run()
    no_exception(at.button(key="runs_resume").click().run())
    run = REGISTRY.get(rid)
    assert run is not None
    run.join(TIMEOUT)
    assert run.status == "done" and run.snapshot().step == 6
    at.run()
    assert at.dataframe[0].value.set_index("id").loc[rid, "steps"] == "6/6"
    catalogue.delete_run(listing.find(listing.collect_runs(RunStore(home)), rid), RunStore(home))


def test_runs_page_shows_corrupt_runs_and_deletes_them(home):
    bad = RunStore(home).home / "zz-broken"
    bad.mkdir()
    (bad / "run.json").write_text('{"id": "zz-broken"')
    at = no_exception(page("runs").run())
    df = at.dataframe[0].value.set_index("id")
    assert "corrupt" in df.loc["zz-broken", "status"]
    assert "corrupt" in df.loc["zz-broken", "hyperparameters"]  # the error, in place of settings
    at.selectbox(key="runs_pick").set_value("zz-broken").run()
    assert any("cannot be read" in e.value for e in at.error)
    at.button(key="runs_delete").click().run()
    no_exception(at.button(key="runs_delete_yes").click().run())
    assert not bad.exists()


def test_runs_page_will_not_delete_a_live_run(home):
    run = Run("gan", "ring8", {"hidden": 16}, {"steps": 100_000, "device": "cpu"}).start()
    try:
        at = no_exception(page("runs").run())
        at.selectbox(key="runs_pick").set_value(run.id).run()
        assert at.button(key="runs_delete").disabled
        assert "runs_resume" not in [b.key for b in at.button]
    finally:
        run.stop()
        run.join(TIMEOUT)
    catalogue.delete_run(listing.find(listing.collect_runs(RunStore(home)), run.id), RunStore(home))


# ----- Compare ------------------------------------------------------------------------------
def test_compare_page_overlays_the_selected_runs(home):
    ids = ids_by_method(home)
    at = no_exception(page("compare").run())
    assert at.title[0].value == "Compare runs"
    assert at.multiselect(key="cmp_sel").value == [ids["lstm"]]  # the newest run's dataset
    at.multiselect(key="cmp_sel").set_value([ids["gan"], ids["vae"]])
    no_exception(at.run())
    keys = at.selectbox(key="cmp_key").options
    assert {"loss/d", "loss/total"} <= set(keys)
    at.selectbox(key="cmp_key").set_value("loss/d")
    no_exception(at.run())
    assert at.get("plotly_chart")  # the curves (and the points samples)
    table = next(d.value for d in at.dataframe if "run" in d.value.columns)
    assert len(table) == 2 and (table["loss/d"] == "–").sum() == 1  # the VAE has no loss/d
    assert not table.isin(["None", None]).any().any()
    # each run is labelled by what differs between the two, and a table lists only that
    gan_label, vae_label = table["run"]
    assert gan_label.startswith("method=gan, latent_dim=16"), gan_label
    assert vae_label.startswith("method=vae, latent_dim=2"), vae_label
    diff = next(d.value for d in at.dataframe if "run" not in d.value.columns)
    assert list(diff.columns) == list(table["run"])
    assert "method" in diff.index and "latent_dim" in diff.index and "hidden" not in diff.index
    assert "Settings that differ" in " ".join(e.label for e in at.expander)


def test_compare_page_starts_several_methods_at_once(home):
    at = no_exception(page("compare").run())
    assert "cmp_start" not in [b.key for b in at.button]  # the panel is closed: nothing built
    at.session_state["cmp_start_open"] = True  # open it (skipping mnist, the default dataset)
    at.session_state["cmp_start_dataset"] = "ring8"
    no_exception(at.run())
    offered = at.multiselect(key="cmp_start_methods").options  # labels of compatible methods
    assert {"GAN", "VAE", "Conditional GAN"} <= set(offered)
    assert not any("LSTM" in o for o in offered)
    at.multiselect(key="cmp_start_methods").set_value(["gan", "vae"])
    at.number_input(key="cmp_start_steps").set_value(3)
    at.number_input(key="cmp_start_seed").set_value(7)
    no_exception(at.button(key="cmp_start").click().run())
    assert any("Started 2 runs" in s.value for s in at.success)
    started = at.multiselect(key="cmp_sel").value
    assert len(started) == 2
    for rid in started:
        run = REGISTRY.get(rid)
        run.join(TIMEOUT)
        assert run.status == "done" and run.train.seed == 7 and run.train.steps == 3
    for rid in started:
        catalogue.delete_run(listing.find(listing.collect_runs(RunStore(home)), rid))


# ----- Generate -----------------------------------------------------------------------------
def test_generate_page_samples_points_with_a_latent_map(home):
    ids = ids_by_method(home)
    at = page("generate").run()
    at.selectbox(key="gen_run").set_value(ids["vae"])
    no_exception(at.run())
    assert [t.label for t in at.tabs] == ["Samples", "Interpolate", "Latent map"]
    assert len(at.get("plotly_chart")) == 3
    at.selectbox(key="gen_run").set_value(ids["gan"])
    no_exception(at.run())
    assert [t.label for t in at.tabs] == ["Samples", "Interpolate"]  # a 16-d latent: no map


def test_generate_page_text_options(home):
    ids = ids_by_method(home)
    at = page("generate")
    at.query_params["run"] = ids["lstm"]  # a link to /generate?run=<id> opens that run
    no_exception(at.run())
    assert at.selectbox(key="gen_run").value == ids["lstm"]
    assert [t.label for t in at.tabs] == ["Samples"]
    at.text_input(key="gen_prefix").set_value("ma")
    at.number_input(key="gen_n").set_value(5)
    no_exception(at.run())
    lines = at.code[0].value.splitlines()
    assert len(lines) == 5 and all(s.startswith("ma") for s in lines)
    at.text_input(key="gen_prefix").set_value("m%")
    no_exception(at.run())
    assert any("not in the vocabulary" in e.value for e in at.error)


def test_generate_page_class_grid_for_a_conditional_image_model(home):
    rid = saved_untrained(home, "cgan", "digits", {"hidden": 16})
    try:
        at = page("generate").run()
        at.selectbox(key="gen_run").set_value(rid)
        no_exception(at.run())
        assert [t.label for t in at.tabs] == ["Samples", "Class by class", "Interpolate"]
        assert len(at.get("image")) == 3  # samples grid, class grid, interpolation row
        assert len(at.get("download_button")) == 3
    finally:
        catalogue.delete_run(listing.find(listing.collect_runs(RunStore(home)), rid))
