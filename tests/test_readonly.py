"""Read-only demo mode (GENLAB_READONLY=1) under AppTest: visitors watch and sample, the controls
are disabled, a forged click on a disabled control does nothing (the callbacks check too), the
admin password unlocks control for that session only, a wrong one is refused, Lock re-locks."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads (see genlab/ui)

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from genlab.runs import REGISTRY, Run, RunStore  # noqa: E402
from genlab.ui import forms  # noqa: E402
from genlab.ui.common import ADMIN_KEY  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "app.py")
PASSWORD = "correct horse"
QUICK = {"log_every": 5, "sample_every": 10, "eval_every": 0, "checkpoint_every": 5}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "runs"))
    monkeypatch.setenv("GENLAB_READONLY", "1")
    monkeypatch.setenv("GENLAB_ADMIN_PASSWORD", PASSWORD)
    return tmp_path / "runs"


@pytest.fixture
def paused_run(home):
    """A live run paused at step 5 (it stays live for the whole test)."""
    run = Run("gan", "ring8", {"hidden": 16}, {"steps": 10_000, **QUICK}, store=RunStore(home))
    run.step_n(5)
    run.start()
    t0 = time.time()
    while run.status != "paused":
        assert time.time() - t0 < 60, run.status
        time.sleep(0.05)
    yield run
    run.stop()
    run.join(30)


@pytest.fixture
def done_run(home):
    run = Run("gan", "ring8", {"hidden": 16}, {"steps": 10, **QUICK}, store=RunStore(home))
    run.start()
    assert run.join(60) and run.status == "done"
    return run


def session(password: str | None = None) -> AppTest:
    """A browser session on the Train page; with `password`, typed into the sidebar's unlock
    form and submitted. (AppTest keeps the sidebar of an st.navigation app only in the first
    run's tree, so the sidebar is read and used here, before any rerun.)"""
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    if password is not None:
        at.text_input(key="genlab.password").set_value(password)
        next(b for b in at.button if b.label == "Unlock").click()
        at.run()
        assert not at.exception
    return at


def goto(at: AppTest, name: str, **query: str) -> AppTest:
    """The same browser session (its session state) on another page."""
    at.switch_page(f"pages/{name}.py")
    at.query_params.clear()
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def button(at: AppTest, key: str):
    return at.button(key=key)


def forge_click(at: AppTest, key: str) -> AppTest:
    """A click on a disabled button, as a hand-made client event would send it (AppTest, like a
    browser, refuses to click a disabled widget, so its `disabled` flag is lifted first)."""
    b = at.button(key=key)
    assert b.disabled, f"{key} should be disabled"
    b.proto.disabled = False
    b.click()
    return at.run()


def captions(at: AppTest) -> str:
    return "\n".join(str(c.value) for c in at.caption)


def test_train_page_is_locked_until_the_admin_password(home):
    at = session()
    assert button(at, "start").disabled
    assert "Read-only demo: ask the presenter." in captions(at)
    assert any("Read-only demo" in str(i.value) for i in at.sidebar.info)
    assert at.text_input(key="genlab.password").proto.type == 1  # TextInput.PASSWORD

    at = session("wrong password")
    assert ADMIN_KEY not in at.session_state
    assert button(at, "start").disabled

    at = session(PASSWORD)
    assert at.session_state[ADMIN_KEY] is True
    assert not button(at, "start").disabled


def test_wrong_password_message_and_lock_button(home):
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["genlab.unlock_error"] = "Wrong password: control stays locked."
    at.run()
    assert any("Wrong password" in str(e.value) for e in at.sidebar.error)

    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[ADMIN_KEY] = True  # what a right password leaves
    at.run()
    assert any("unlocked" in str(s.value) for s in at.sidebar.success)
    assert not button(at, "start").disabled
    at.button(key="genlab.lock").click()
    at.run()
    assert ADMIN_KEY not in at.session_state
    assert button(at, "start").disabled


def test_no_password_set_means_no_unlock_field(home, monkeypatch):
    monkeypatch.delenv("GENLAB_ADMIN_PASSWORD")
    at = session()
    assert not at.get("text_input") and button(at, "start").disabled
    at.session_state[ADMIN_KEY] = True  # without a password set, nothing unlocks
    at.run()
    assert button(at, "start").disabled


def test_start_is_refused_on_the_server_even_if_clicked(home):
    at = session()
    n_before = len(REGISTRY.runs())
    at = forge_click(at, "start")
    assert not at.exception
    assert len(REGISTRY.runs()) == n_before
    # the library-facing start used by the page checks too, whatever the widget said
    setup = forms.Setup("gan", "ring8", train_values={"steps": 5})
    with pytest.raises(ValueError, match="Read-only demo"):
        forms.start_run(setup)
    assert len(REGISTRY.runs()) == n_before


def lock(at: AppTest) -> None:
    """The session loses control between drawing a page and a click on it (another tab pressed
    Lock): the button was drawn enabled, so only the callback's own check can refuse."""
    del at.session_state[ADMIN_KEY]


def test_live_page_controls_locked_and_forged_clicks_refused(home, paused_run):
    at = goto(session(), "live", run=paused_run.id)
    assert not at.exception
    for key in ("ctl.resume", "ctl.step", "ctl.stop"):
        assert button(at, key).disabled, key
    assert at.number_input(key="ctl.n").disabled
    assert "Run controls: locked" in captions(at)

    at = forge_click(at, "ctl.stop")  # a forged event: the callback must refuse it
    at = forge_click(at, "ctl.resume")
    at = forge_click(at, "ctl.step")
    assert not at.exception
    assert paused_run.status == "paused" and paused_run.snapshot().step == 5

    at = goto(session(PASSWORD), "live", run=paused_run.id)
    for key in ("ctl.resume", "ctl.step", "ctl.stop"):
        assert not button(at, key).disabled, key
    lock(at)
    button(at, "ctl.stop").click()
    at.run()
    assert not at.exception and paused_run.status == "paused"
    assert any("locked" in str(t.value) for t in at.toast)

    at = goto(session(PASSWORD), "live", run=paused_run.id)
    button(at, "ctl.stop").click()
    at.run()
    assert paused_run.join(30) and paused_run.status == "stopped"


def shown(at: AppTest) -> str:
    """Every text a visitor sees on the page."""
    parts = [
        e.value
        for kind in ("markdown", "caption", "error", "info", "warning", "success")
        for e in getattr(at, kind)
    ]
    parts += [str(d.value.to_dict()) for d in at.dataframe]
    return "\n".join(str(p) for p in parts)


def test_no_server_path_reaches_a_visitor(home, done_run):
    at = goto(session(), "runs")
    assert not at.exception
    text = shown(at)
    assert done_run.id in text and str(home) not in text and "/tmp" not in text
    at = goto(session(), "live", run="no-such-run")
    assert any("no-such-run" in e.value for e in at.error)
    assert str(home) not in shown(at) and "/tmp" not in shown(at)


def test_runs_page_locked(home, done_run):
    at = goto(session(), "runs")
    assert not at.exception
    assert button(at, "runs_delete").disabled
    assert button(at, "runs_resume").disabled and button(at, "runs_resume_lower").disabled
    at = forge_click(at, "runs_delete")  # no confirmation, nothing deleted
    at = forge_click(at, "runs_resume")
    assert not at.exception
    assert "runs_delete_yes" not in [b.key for b in at.button]
    assert done_run.dir.path.exists()
    assert done_run.dir.read_info()["status"] == "done"  # the forged Resume did not start it
    assert REGISTRY.get(done_run.id) is done_run  # no new Run object took its id
    # downloads stay available to visitors
    assert any(b.key == "runs_dl_metrics" for b in at.get("download_button"))

    at = goto(session(PASSWORD), "runs")
    assert not button(at, "runs_delete").disabled
    button(at, "runs_delete").click()
    at.run()
    lock(at)
    button(at, "runs_delete_yes").click()  # drawn while unlocked, clicked after Lock
    at.run()
    assert not at.exception and done_run.dir.path.exists()

    at = goto(session(PASSWORD), "runs")
    button(at, "runs_delete").click()
    at.run()
    button(at, "runs_delete_yes").click()
    at.run()
    assert not at.exception
    assert not done_run.dir.path.exists()


def test_compare_start_locked(home, done_run):
    at = goto(session(), "compare")
    assert not at.exception
    at.session_state["cmp_start_open"] = True  # open the panel (skipping mnist, the default)
    at.session_state["cmp_start_dataset"] = "ring8"
    at.run()
    assert not at.exception
    start = at.button(key="cmp_start")
    assert start.disabled
    assert "Starting runs: locked" in captions(at)
    n_before = len(REGISTRY.runs())
    at = forge_click(at, "cmp_start")
    assert not at.exception
    assert len(REGISTRY.runs()) == n_before

    at = goto(session(PASSWORD), "compare")
    at.session_state["cmp_start_open"] = True
    at.session_state["cmp_start_dataset"] = "ring8"
    at.run()
    assert not at.button(key="cmp_start").disabled
    lock(at)
    at.button(key="cmp_start").click()
    at.run()
    assert not at.exception
    assert len(REGISTRY.runs()) == n_before


def test_not_readonly_by_default(home, monkeypatch):
    monkeypatch.delenv("GENLAB_READONLY")
    at = session()
    assert not button(at, "start").disabled
    assert not [b for b in at.button if b.label == "Unlock"]
