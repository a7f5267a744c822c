"""End to end in a real browser: Debian's Chromium driven by Playwright against `streamlit run`.

Train page (preset by URL) -> Start -> live page: the step count rises, the loss chart and the
samples appear and change, a reload finds the same run, Stop stops it.
Run with `pytest -m browser tests/test_browser.py`; screenshots go to pytest's tmp_path.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from appserver import CHROMIUM, CHROMIUM_ARGS, PLOTS_EXPR, app_server  # tests/appserver.py

pytestmark = pytest.mark.browser

ARGS = CHROMIUM_ARGS
# a setup that keeps running well past the test (~20,000 steps of a tiny GAN) and logs often
SETUP = (
    "method=gan&data=ring8&steps=20000&log_every=10&sample_every=25&eval_every=0&checkpoint_every=0"
)
LIVE_STATES = ("queued", "running", "paused")

if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def server(tmp_path):
    with app_server(tmp_path / "runs", tmp_path / "server.log") as (base, _proc):
        yield base


@pytest.fixture
def page(tmp_path):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 1400})
        finally:
            browser.close()


def current_step(page) -> int:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Step").first
    text = metric.locator('[data-testid="stMetricValue"]').inner_text()
    return int(re.sub(r"[^\d]", "", text.split("/")[0]))


def status_text(page) -> str:
    """The run's status badge (its text is the icon's ligature name, then the status)."""
    badge = page.locator(".stMarkdownBadge").first
    try:
        return badge.inner_text(timeout=5_000).split()[-1]
    except Exception:  # redrawn between lookup and read: the caller polls again
        return ""


def generated_points(page) -> list[float]:
    """The first coordinates of the 'generated' trace of the samples chart, read from plotly
    (_fullData holds the decoded arrays)."""
    return page.evaluate(
        """() => {
        for (const el of ${PLOTS}) {
            for (const tr of (el._fullData || [])) {
                if (tr.name === 'generated' && tr.x) return Array.from(tr.x).slice(0, 20);
            }
        }
        return [];
    }""".replace("${PLOTS}", PLOTS_EXPR)
    )


def curve_dtypes(page) -> set[str]:
    """How the loss curves' y values came over the wire (plotly typed arrays: 'f4' = float32)."""
    return set(
        page.evaluate(
            """() => {
        const out = [];
        for (const el of ${PLOTS}) {
            for (const tr of (el.data || [])) {
                if (tr.name && tr.name.startsWith('loss/')) out.push(tr.y && tr.y.dtype || 'list');
            }
        }
        return out;
    }""".replace("${PLOTS}", PLOTS_EXPR)
        )
    )


def wait_until(pred, timeout: float, every: float = 0.5) -> bool:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(every)
    return False


def test_train_start_live_reload_stop(server, page, tmp_path):
    shots = tmp_path / "shots"
    shots.mkdir()
    page.goto(f"{server}/?{SETUP}")
    start = page.get_by_role("button", name="Start training")
    start.wait_for(timeout=120_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)  # the data preview
    page.screenshot(path=shots / "train.png")
    start.click()

    page.wait_for_url(re.compile(r".*/live\?run=.+"), timeout=60_000)
    run_id = re.search(r"run=([^&]+)", page.url).group(1)
    assert "gan-ring8" in run_id
    page.get_by_text("Steps/s").first.wait_for(timeout=60_000)

    # the step count rises (the status fragment polls the run)
    assert wait_until(lambda: current_step(page) > 0, 60)
    first = current_step(page)
    assert wait_until(lambda: current_step(page) > first, 30), "the step count did not rise"
    assert status_text(page) == "running"

    # the loss chart and the samples appear, and the samples change as the model trains
    page.get_by_text("Losses").first.wait_for(timeout=60_000)
    # 2 curves + samples (+ the 2D view inside the model, which may draw first)
    assert wait_until(lambda: page.evaluate(f"() => {PLOTS_EXPR}.length") >= 3, 60)
    # the loss curves are drawn, and their values travel as float32 arrays (read until a
    # drawn chart is found: a chart caught mid-redraw has no traces)
    seen: list[set[str]] = []
    assert wait_until(lambda: seen.append(curve_dtypes(page)) or seen[-1] == {"f4"}, 60), seen[-5:]
    assert wait_until(lambda: len(generated_points(page)) > 0, 60)
    before = generated_points(page)
    assert wait_until(lambda: generated_points(page) not in ([], before), 60), (
        "the samples did not change"
    )
    page.screenshot(path=shots / "live.png")

    # a reload re-attaches to the same run, still live
    step_before = current_step(page)
    page.reload()
    page.get_by_text("Steps/s").first.wait_for(timeout=60_000)
    assert f"run={run_id}" in page.url
    assert wait_until(lambda: current_step(page) >= step_before, 30)
    assert status_text(page) in LIVE_STATES + ("done",)

    # Stop: the run ends as stopped and the page says so
    page.get_by_role("button", name="Stop").click()
    assert wait_until(lambda: status_text(page) == "stopped", 60), status_text(page)
    page.screenshot(path=shots / "stopped.png")
    assert sorted(p.name for p in shots.iterdir()) == ["live.png", "stopped.png", "train.png"]


# how much each chart of the live page holds, by its Streamlit key (st-key-* class)
CHARTS_JS = """() => {
    const out = {};
    document.querySelectorAll('[data-testid="stPlotlyChart"], [data-testid="stImage"]').forEach(
        (c, i) => {
            const box = c.closest('[data-testid="stElementContainer"]');
            const key = (box && [...box.classList].find(s => s.startsWith('st-key-'))) || 'n' + i;
            const el = c.querySelector('.js-plotly-plot');
            let n = 0;
            for (const tr of (el && el._fullData) || []) {
                n += (tr.x ? tr.x.length : 0) + (tr.z ? tr.z.length : 0);
            }
            const img = c.querySelector('img');
            out[key] = img ? (img.naturalWidth > 0 ? 1 : 0) : n;
        });
    // the live charts (genlab.ui.livechart): the points drawn, written on the plot's div
    document.querySelectorAll('.genlab-live').forEach((f, i) => {
        const box = f.closest('[data-testid="stElementContainer"]');
        const key = (box && [...box.classList].find(s => s.startsWith('st-key-'))) || 'f' + i;
        out[key] = Number(f.dataset.points || 0);
    });
    return out;
}"""


def test_live_charts_never_blank_while_a_run_trains(server, page):
    """Issue 12: a chart that had data showed as an empty box in some frames. Sample the live page
    20 times while a GAN trains: every chart that once had data still has it in every later
    sample, and the page kept moving (the step counter rose)."""
    page.goto(f"{server}/?{SETUP}")
    page.get_by_role("button", name="Start training").click(timeout=120_000)
    page.wait_for_url(re.compile(r".*/live\?run=.+"), timeout=60_000)
    assert wait_until(lambda: len(page.evaluate(CHARTS_JS)) >= 3, 90)
    had: set[str] = set()
    blanks: list[tuple[int, str]] = []
    steps = []
    for i in range(20):
        charts = page.evaluate(CHARTS_JS)
        blanks += [(i, k) for k in sorted(had) if charts.get(k, 0) == 0]
        had |= {k for k, n in charts.items() if n > 0}
        steps.append(current_step(page))
        time.sleep(0.5)
    assert {"st-key-curves-loss", "st-key-inside-plane"} <= had, had
    assert not blanks, f"charts that had data were empty: {blanks}"
    assert steps[-1] > steps[0], steps
    page.get_by_role("button", name="Stop").click()


def test_the_server_serves_plotly_once_per_browser(server, page):
    """app.py's server (an st.App) serves Plotly.js for the live charts from its own route with a
    year's caching: a reload takes it from the browser's cache instead of 1.5 MB again. Unknown
    names under the route are refused."""
    page.goto(f"{server}/?{SETUP}")
    page.locator(".genlab-live.js-plotly-plot").first.wait_for(timeout=120_000)  # the preview
    loads = page.evaluate(
        "() => performance.getEntriesByType('resource').filter(e => e.name.endsWith"
        "('plotly.min.js')).map(e => e.name)"
    )
    assert loads and "/genlab/assets/" in loads[0], loads
    with urllib.request.urlopen(loads[0], timeout=30) as r:
        assert "immutable" in r.headers["Cache-Control"] and "max-age" in r.headers["Cache-Control"]
    page.reload()
    page.locator(".genlab-live.js-plotly-plot").first.wait_for(timeout=120_000)
    sizes = page.evaluate(
        "() => performance.getEntriesByType('resource').filter(e => e.name.endsWith"
        "('plotly.min.js')).map(e => e.transferSize)"
    )
    assert sizes == [0], sizes  # from the cache
    bad = loads[0].rsplit("/", 1)[0] + "/server.log"
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(bad, timeout=30)
    assert err.value.code == 404


def test_a_server_shutdown_stops_and_checkpoints_a_paused_run(tmp_path, page):
    """SIGTERM to `streamlit run app.py`: its server (app.py's st.App) ends by re-raising the
    signal, so the registry's atexit hook never ran and a paused run stayed `paused` on disk.
    The server's lifespan now stops the live runs: the run is `stopped`, with its checkpoint."""
    import json

    from genlab.runs import RunDir

    home = tmp_path / "runs"
    with app_server(home, tmp_path / "server.log") as (base, proc):
        page.goto(f"{base}/?{SETUP}")
        page.get_by_role("button", name="Start training").click(timeout=120_000)
        page.wait_for_url(re.compile(r".*/live\?run=.+"), timeout=60_000)
        page.get_by_role("button", name="Pause").click(timeout=60_000)
        page.get_by_role("button", name="Resume").wait_for(timeout=60_000)
        run_id = re.search(r"run=([^&]+)", page.url).group(1)
        proc.terminate()
        proc.wait(60)
    assert json.loads((home / run_id / "run.json").read_text())["status"] == "stopped"
    assert RunDir(home / run_id).has_checkpoint()
