"""Stress in real browsers: several Chromium tabs (each its own browser context, so its own
Streamlit session) start, pause, resume, stop and delete runs on one `streamlit run` server for a
bounded time (GENLAB_STRESS_S, 60 s by default, after a set-up in which each tab starts a run).
Afterwards the server still answers and no tab ever showed a Python exception; then the server is
shut down (SIGTERM stops the runs still live), and no run is lost: every started run is either
deleted, with its folder gone, or has a consistent folder (run.json with an ended status, metrics
rows in step order, a loadable checkpoint). The figures are printed (run with -s to see them).

    pytest -m browser tests/test_browser_stress.py -s
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import time
from pathlib import Path

import pytest
from appserver import CHROMIUM, CHROMIUM_ARGS, app_server, healthy  # tests/appserver.py

pytestmark = pytest.mark.browser

ARGS = CHROMIUM_ARGS
TABS = 4
DURATION_S = float(os.environ.get("GENLAB_STRESS_S", "60"))
MAX_STARTED = 8  # bounds the load: the machine trains at most this many tiny runs in all
# tiny runs that outlast the test (one trains at a time, the rest wait as queued), with frequent
# logs and checkpoints to catch half-written files
SETUP = (
    "method=gan&data=ring8&hidden=16&steps=100000&log_every=10&sample_every=100&eval_every=0"
    "&checkpoint_every=50"
)
ENDED = ("done", "stopped", "failed", "interrupted")
WAIT_MS = 30_000  # one page action in the window
SETUP_WAIT_MS = 90_000  # the first loads of each page (the server imports and builds a lot)
LIVE_URL = re.compile(r".*/live\?run=.+")

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


def run_folders(home: Path) -> list[Path]:
    """The run folders in the store, oldest first."""
    if not home.exists():
        return []
    found = [p for p in home.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(found, key=lambda p: p.stat().st_mtime)


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS (kB) and Threads of a process, from /proc."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "Threads"):
            out[key] = int(value.split()[0])
    return out


@pytest.fixture
def server(tmp_path):
    """(base URL, server process, run home) of a fresh `streamlit run app.py`."""
    home = tmp_path / "runs"
    # one run trains at a time, the rest wait as queued (pause/stop of queued runs included): a
    # training thread competes with the server's event loop for the GIL, and a 2-core machine
    # shared with other work answers the tabs too slowly with more
    env = {"GENLAB_READONLY": None, "GENLAB_MAX_RUNS": "1"}
    with app_server(home, tmp_path / "server.log", env) as (base, proc):
        yield base, proc, home


class Tab:
    """One browser tab (its own context, so its own session) and the run it is looking after."""

    def __init__(self, browser, base: str, name: str):
        self.page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
        self.base, self.name = base, name
        self.run_id: str | None = None
        self.page.set_default_timeout(WAIT_MS)

    def status(self) -> str:
        badge = self.page.locator(".stMarkdownBadge").first
        try:
            return badge.inner_text().split()[-1]
        except Exception:  # redrawn between lookup and read: an unknown status this time
            return ""

    def exceptions(self) -> list[str]:
        boxes = self.page.locator('[data-testid="stException"]')
        return [boxes.nth(i).inner_text() for i in range(boxes.count())]

    def open_live(self, run_id: str) -> None:
        self.page.goto(f"{self.base}/live?run={run_id}")
        self.page.get_by_text("Steps/s").first.wait_for()

    def wait_status(self, wanted: tuple[str, ...], timeout: float = 15.0) -> None:
        """Give the page a moment to show the effect of a click (no failure: the next operation
        reads whatever status the page shows)."""
        t0 = time.time()
        while time.time() - t0 < timeout and self.status() not in wanted:
            self.page.wait_for_timeout(300)

    def click(self, name: str, prefix: bool = False) -> None:
        # a button's accessible name may start with its icon's ligature ("pause Pause"); Start
        # names what it starts ("Start training: GAN on ...")
        label = re.compile(rf"(^|\s){re.escape(name)}{'' if prefix else '$'}")
        self.page.get_by_role("button", name=label).first.click()


def once_more(tab: Tab, action, missing: str, home: Path) -> None:
    """`action`, and what a person does with a page that never finished drawing: reload it once;
    a second miss fails with what the page showed and what the server last logged."""
    try:
        action()
    except sync_api.TimeoutError:
        tab.page.reload()
        try:
            action()
        except sync_api.TimeoutError:
            shown = tab.page.locator("body").inner_text(timeout=5_000)[:800]
            log = (home.parent / "server.log").read_text()[-1500:]
            message = f"{tab.name}: {missing} after a reload; it showed {shown!r}"
            raise AssertionError(f"{message}; the server's log ends {log!r}") from None


def start(tab: Tab, started: list[str], home: Path) -> str:
    tab.page.goto(f"{tab.base}/?{SETUP}")
    once_more(tab, lambda: tab.click("Start training", prefix=True), "no Start button", home)
    try:
        tab.page.wait_for_url(LIVE_URL, timeout=SETUP_WAIT_MS // 2)
    except sync_api.TimeoutError:
        # a slow rerun on a busy machine: if the run was created, open its live page (as the
        # Runs page does); if not, the click was lost and a person clicks Start again
        new = [p.name for p in run_folders(home) if p.name not in started]
        if new:
            tab.page.goto(f"{tab.base}/live?run={new[-1]}")
        else:
            tab.click("Start training", prefix=True)
            tab.page.wait_for_url(LIVE_URL)
    run_id = re.search(r"run=([^&]+)", tab.page.url).group(1)
    started.append(run_id)
    tab.run_id = run_id
    status_shown = lambda: tab.page.get_by_text("Steps/s").first.wait_for()  # noqa: E731
    once_more(tab, status_shown, f"no live status for {run_id}", home)
    return "start"


def delete(tab: Tab, run_id: str, deleted: list[str]) -> str:
    tab.page.goto(f"{tab.base}/runs?run={run_id}")
    tab.page.get_by_text(run_id).first.wait_for()
    tab.click("Delete…")
    tab.click("Yes, delete")
    tab.page.get_by_text(f"Deleted {run_id}").first.wait_for()
    deleted.append(run_id)
    if tab.run_id == run_id:
        tab.run_id = None
    return "delete"


def act(tab: Tab, rng: random.Random, started: list[str], deleted: list[str], home: Path) -> str:
    """One operation, chosen from what the tab sees."""
    if tab.run_id is None:
        if len(started) < MAX_STARTED:
            return start(tab, started, home)
        others = [r for r in started if r not in deleted]
        if not others:
            return "idle"
        tab.run_id = rng.choice(others)  # watch (and act on) another tab's run
        tab.open_live(tab.run_id)
        return "watch"
    if f"run={tab.run_id}" not in tab.page.url:
        tab.open_live(tab.run_id)
    status = tab.status()
    if status == "running" or status == "queued":
        op = rng.choices(["Pause", "Stop"], weights=[2, 1])[0]
    elif status == "paused":
        op = rng.choices(["Resume", "Stop"], weights=[2, 1])[0]
    elif status in ENDED:
        return delete(tab, tab.run_id, deleted) if rng.random() < 0.7 else start(tab, started, home)
    else:
        return "idle"
    tab.click(op)
    tab.wait_status({"Pause": ("paused",), "Resume": ("running", "queued")}.get(op, ENDED))
    return op.lower()


def check_run_folder(path: Path) -> dict:
    """A started run's folder must be complete and consistent."""
    from genlab.runs import RunDir

    info = json.loads((path / "run.json").read_text())
    assert info["status"] in ENDED, (path.name, info["status"])
    steps = []
    metrics = path / "metrics.jsonl"
    if metrics.exists():
        for line in metrics.read_text().splitlines():
            steps.append(json.loads(line)["step"])  # every row whole
    assert steps == sorted(steps), f"{path.name}: metrics rows out of step order"
    d = RunDir(path)
    if d.has_checkpoint():
        tensors, meta = d.load_checkpoint()
        assert tensors and meta["step"] <= info["step"] + 1, (meta["step"], info["step"])
    return info


def test_tabs_start_pause_resume_stop_delete(server):
    base, proc, home = server
    rng = random.Random(0)
    started: list[str] = []
    deleted: list[str] = []
    ops: dict[str, int] = {}
    timeouts = 0
    op_seconds: list[float] = []
    seen_exceptions: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            tabs = [Tab(browser, base, f"tab{i}") for i in range(TABS)]
            before = proc_status(proc.pid)
            peak_rss = before["VmRSS"]
            # set-up, before the timed window: each tab starts a run (a page load of the Train
            # page each, slow on a busy machine); then the window is spent on the controls
            t_setup = time.time()
            for tab in tabs:
                tab.page.set_default_timeout(SETUP_WAIT_MS)
                start(tab, started, home)
                ops["start"] = ops.get("start", 0) + 1
                tab.page.set_default_timeout(WAIT_MS)
            setup_s = time.time() - t_setup
            t0 = time.time()
            while time.time() - t0 < DURATION_S:
                for tab in tabs:
                    if time.time() - t0 >= DURATION_S:
                        break
                    t_op = time.time()
                    try:
                        op = act(tab, rng, started, deleted, home)
                    except sync_api.TimeoutError:
                        timeouts += 1  # a slow page on a busy machine; the checks below decide
                        op = "timeout"
                    ops[op] = ops.get(op, 0) + 1
                    op_seconds.append(time.time() - t_op)
                    seen_exceptions += tab.exceptions()
                    peak_rss = max(peak_rss, proc_status(proc.pid)["VmRSS"])
            for tab in tabs:
                seen_exceptions += tab.exceptions()
        finally:
            browser.close()
    assert healthy(base, timeout=10) and proc.poll() is None, "the server stopped answering"
    after = proc_status(proc.pid)
    # the runs still live end the way a server shutdown ends them: SIGTERM checkpoints and stops
    # each one (then every folder must be complete)
    proc.terminate()
    proc.wait(60)
    remaining = [r for r in started if r not in deleted]
    infos = [check_run_folder(home / r) for r in remaining]
    for run_id in deleted:
        assert not (home / run_id).exists(), f"{run_id} was deleted but its folder is still there"
    on_disk = {p.name for p in run_folders(home)}
    assert on_disk == set(remaining), on_disk ^ set(remaining)
    total = sum(ops.values()) - ops.get("timeout", 0) - ops.get("idle", 0)
    print(
        f"\nbrowser stress: {TABS} tabs, set-up {setup_s:.0f} s + {DURATION_S:.0f} s window "
        f"(median operation {statistics.median(op_seconds or [0]):.1f} s): {total} operations "
        f"({', '.join(f'{k} {v}' for k, v in sorted(ops.items()))}); runs started {len(started)}, "
        f"deleted {len(deleted)}, kept {len(infos)} "
        f"({', '.join(sorted(i['status'] for i in infos))}); server threads "
        f"{before['Threads']} -> {after['Threads']}; server RSS {before['VmRSS'] / 1024:.0f} MB "
        f"-> {after['VmRSS'] / 1024:.0f} MB (peak {peak_rss / 1024:.0f} MB); "
        f"page timeouts {timeouts}"
    )
    assert not seen_exceptions, seen_exceptions[:3]
    assert len(started) >= TABS and total >= TABS + 2
    assert {"pause", "resume", "stop"} & set(ops)
