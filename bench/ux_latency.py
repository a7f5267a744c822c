"""How live does the live view feel? The app in a real server, driven by a real headless Chromium.

Figures (each printed with the machine's load, os.getloadavg()[0]):
  cold       Train page usable (its Start button visible and enabled) after the health check,
             in a browser started beforehand (a cold server: first page run, first imports)
  warm       the same after a reload of that tab
  start      Start click -> the first drawn chart with data on the live page, per method
  live       over `--seconds` (30) of a GAN on ring8: step-counter changes per second, the
             number of blank frames (a chart that had data is empty or gone in a probe) and
             WebGL contexts created and lost in the page
  reload     a reload of a live page -> its charts drawn again
  freeze     a VAE on mnist with evaluations: the longest time the step counter stood still
             while the run was running, and the first ETA at a quarter of the run vs the truth

    python bench/ux_latency.py [--only cold,start,live,reload,freeze] [--seconds 30]

A probe reads the page's DOM (plotly's _fullData, images) about 4 times a second; a chart is
named by its Streamlit key (the element's st-key-* class) or, without one, by its position.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from appserver import CHROMIUM, CHROMIUM_ARGS, app_server  # noqa: E402

CASES = {  # the methods of the issue and a setup that keeps training past the measurement
    "gan ring8": "method=gan&data=ring8&steps=20000",
    "vae mnist": "method=vae&data=mnist&steps=20000",
    "cgan digits": "method=cgan&data=digits&steps=20000",
    "rgan sines": "method=rgan&data=sines&steps=20000",
    "lstm names": "method=lstm&data=names&steps=20000",
}
FREEZE_SETUP = "method=vae&data=mnist&steps=3000&eval_every=1000"
VIEWPORT = {"width": 1280, "height": 900}

# counts the WebGL contexts the page creates and loses (browsers cap live contexts, ~16)
INIT_JS = """
(() => {
  window.__gl = {created: 0, lost: 0};
  const orig = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
    const had = this.__glctx;
    const ctx = orig.call(this, type, ...rest);
    if (ctx && !had && /webgl/.test(type)) {
      this.__glctx = true;
      window.__gl.created += 1;
      this.addEventListener('webglcontextlost', () => { window.__gl.lost += 1; });
    }
    return ctx;
  };
})();
"""

# one probe: the step counter, the status badge, and how much each chart holds
PROBE_JS = """
() => {
  const charts = {};
  const name = (el, fallback) => {
    const c = el.closest('[data-testid="stElementContainer"]');
    const k = c && [...c.classList].find(s => s.startsWith('st-key-'));
    return k || fallback;
  };
  window.__draws = window.__draws || {};  // per chart: redraws and distinct plot elements
  document.querySelectorAll('[data-testid="stPlotlyChart"]').forEach((c, i) => {
    const el = c.querySelector('.js-plotly-plot');
    const key = name(c, 'plot' + i);
    const d = (window.__draws[key] = window.__draws[key] || {draws: 0, mounts: 0});
    if (el && el.on && !el.__genlabHooked) {
      el.__genlabHooked = true;
      d.mounts += 1;
      el.on('plotly_afterplot', () => { d.draws += 1; });
    }
    let n = 0;
    for (const tr of (el && el._fullData) || []) {
      n += (tr.x ? tr.x.length : 0) + (tr.z ? tr.z.length : 0);
    }
    charts[key] = n;
  });
  document.querySelectorAll('[data-testid="stImage"] img').forEach((im, i) => {
    charts[name(im, 'img' + i)] = im.complete && im.naturalWidth > 0 ? 1 : 0;
  });
  document.querySelectorAll('[data-testid="stCustomComponentV1"], .genlab-live').forEach(
    (el, i) => { charts[name(el, 'comp' + i)] = Number(el.dataset.points || 0); });
  let step = null;
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    const label = m.querySelector('[data-testid="stMetricLabel"]');
    if (label && label.innerText.trim() === 'Step') {  // not "Steps/s"
      const v = m.querySelector('[data-testid="stMetricValue"]');
      if (v) step = parseInt(v.innerText.split('/')[0].replace(/[^0-9]/g, ''));
    }
  }
  const badge = document.querySelector('.stMarkdownBadge');
  const status = badge ? badge.innerText.trim().split(/\\s+/).pop() : '';
  let eta = null;
  for (const m of document.querySelectorAll('[data-testid="stMetric"]')) {
    if (m.innerText.startsWith('Elapsed')) {
      const v = m.querySelector('[data-testid="stMetricValue"]');
      if (v) eta = v.innerText.split('·').pop().trim();
    }
  }
  const gl = window.__gl || {created: 0, lost: 0};
  return {step, status, eta, charts, draws: window.__draws, gl};
}
"""


def load() -> str:
    return f"[load {os.getloadavg()[0]:.2f}]"


def say(text: str) -> None:
    print(f"{text}  {load()}", flush=True)


def probe(page) -> dict:
    try:
        return page.evaluate(PROBE_JS)
    except Exception:  # a navigation in progress
        return {"step": None, "status": "", "eta": None, "charts": {}, "gl": {}}


def start_usable(page, timeout: float = 120.0) -> float:
    """Seconds until the Start button is visible and enabled."""
    t0 = time.perf_counter()
    button = page.get_by_role("button", name="Start training")
    button.wait_for(timeout=timeout * 1000)
    while not button.is_enabled():
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError("Start never became enabled")
        time.sleep(0.02)
    return time.perf_counter() - t0


def first_chart(page, timeout: float = 120.0) -> float:
    """Seconds until a chart (plotly with points, or an image) with data is drawn."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if any(n > 0 for n in probe(page)["charts"].values()):
            return time.perf_counter() - t0
        time.sleep(0.05)
    raise RuntimeError("no chart with data appeared")


def start_run(page, base: str, setup: str) -> tuple[float, str]:
    page.goto(f"{base}/?{setup}")
    start_usable(page)
    page.get_by_role("button", name="Start training").click()
    t0 = time.perf_counter()
    page.wait_for_url(re.compile(r".*/live\?run=.+"), timeout=120_000)
    return t0, re.search(r"run=([^&]+)", page.url).group(1)


def stop_run(page) -> None:
    try:
        page.get_by_role("button", name="Stop").click(timeout=30_000)
        page.wait_for_function(
            "() => !document.querySelector('.stMarkdownBadge') || "
            "/stopped|done|failed/.test(document.querySelector('.stMarkdownBadge').innerText)",
            timeout=60_000,
        )
    except Exception as e:  # the figure is already taken; say so and go on
        print(f"  (could not stop the run: {e})")


def watch(page, seconds: float, every: float = 0.25) -> dict:
    """Probe for `seconds`: step changes per second, blank frames, freezes of the counter."""
    seen_data: set[str] = set()
    blanks: list[tuple[float, str]] = []
    changes, last_step, t_change, longest = 0, None, time.perf_counter(), 0.0
    t0 = time.perf_counter()
    p = {}
    n = 0
    while time.perf_counter() - t0 < seconds:
        p = probe(page)
        n += 1
        now = time.perf_counter()
        for key in seen_data:
            if p["charts"].get(key, 0) == 0:
                blanks.append((now - t0, key))
        seen_data |= {k for k, v in p["charts"].items() if v > 0}
        if p["step"] is not None and p["step"] != last_step:
            if last_step is not None:
                changes += 1
            last_step, t_change = p["step"], now
        if p["status"] == "running":
            longest = max(longest, now - t_change)
        time.sleep(max(0.0, every - (time.perf_counter() - now)))
    return {
        "rate": changes / seconds,
        "probes": n,
        "blanks": blanks,
        "charts": sorted(seen_data),
        "longest_still": longest,
        "gl": p.get("gl", {}),
        "draws": p.get("draws", {}),
    }


def freeze(page, base: str) -> None:
    t_click, run_id = start_run(page, base, FREEZE_SETUP)
    steps = int(re.search(r"steps=(\d+)", FREEZE_SETUP).group(1))
    last_step, t_change, stills = None, time.perf_counter(), []
    quarter_eta, t_quarter = None, None
    while True:
        p = probe(page)
        now = time.perf_counter()
        if p["step"] is not None and p["step"] != last_step:
            if p["status"] == "running" and last_step is not None:
                stills.append((now - t_change, last_step))
            last_step, t_change = p["step"], now
        if quarter_eta is None and p["step"] and p["step"] >= steps // 4 and p["eta"]:
            quarter_eta, t_quarter = p["eta"], now
        if p["status"] in ("done", "failed", "stopped"):
            break
        if now - t_click > 900:
            raise RuntimeError("the freeze run did not end in 15 minutes")
        time.sleep(0.1)
    total = time.perf_counter() - t_click
    top = sorted(stills, reverse=True)[:3]
    say(
        f"freeze: vae mnist ({FREEZE_SETUP}): longest still step counter "
        + ", ".join(f"{s:.1f} s at step {at:,}" for s, at in top)
        + f"; run took {total:.0f} s, status {p['status']}"
    )
    if quarter_eta is not None:
        actual = time.perf_counter() - t_quarter
        est = _seconds(quarter_eta)
        err = f"{100 * (est - actual) / actual:+.0f}%" if est is not None else "?"
        say(f"eta: at 1/4 of the run the ETA said {quarter_eta}, it took {actual:.0f} s ({err})")


def _seconds(text: str) -> float | None:
    parts = text.strip().split(":")
    try:
        vals = [float(x) for x in parts]
    except ValueError:
        return None
    s = 0.0
    for v in vals:
        s = 60 * s + v
    return s


def live_and_reload(page, base: str, only: set[str], seconds: float) -> None:
    start_run(page, base, CASES["gan ring8"])
    first_chart(page)
    time.sleep(2)  # the page settles: every panel has drawn once
    if "live" in only:
        w = watch(page, seconds)
        blanked = ", ".join(sorted({k for _, k in w["blanks"]})) or "none"
        say(
            f"live: gan ring8 over {seconds:.0f} s: {w['rate']:.2f} step updates/s, "
            f"{len(w['blanks'])} blank frames in {w['probes']} probes ({blanked}), "
            f"longest still counter {w['longest_still']:.1f} s, WebGL contexts created "
            f"{w['gl'].get('created')}, lost {w['gl'].get('lost')}, charts {len(w['charts'])}"
        )
        draws = ", ".join(
            f"{k.removeprefix('st-key-')} {d['draws']}/{d['mounts']}" for k, d in w["draws"].items()
        )
        say(f"live: redraws/mounts per chart over the window: {draws}")
    if "reload" in only:
        page.reload()
        t0 = time.perf_counter()
        first_chart(page)
        say(f"reload: live page charts drawn {time.perf_counter() - t0:.2f} s after reload")
    stop_run(page)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="cold,start,live,reload,freeze")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--cases", default=",".join(CASES), help="start-to-chart cases")
    args = ap.parse_args()
    only = set(args.only.split(","))
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="genlab-ux-") as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT)
        context.add_init_script(INIT_JS)
        page = context.new_page()
        threads = os.environ.get("GENLAB_CPU_THREADS", "1")
        say(f"machine: {os.cpu_count()} cpus; GENLAB_CPU_THREADS={threads}")
        with app_server(Path(tmp) / "runs", Path(tmp) / "server.log") as (base, _proc):
            page.goto(f"{base}/?{CASES['gan ring8']}")  # right after the health check
            say(f"cold: Train page usable {start_usable(page):.2f} s after the health check")
            if "cold" in only:
                for i in range(2):
                    page.reload()
                    say(f"warm: Train page usable {start_usable(page):.2f} s after reload {i + 1}")
            if "start" in only:
                for case in args.cases.split(","):
                    t_click, _ = start_run(page, base, CASES[case])
                    first_chart(page)
                    say(f"start: {case}: first drawn chart {time.perf_counter() - t_click:.2f} s")
                    stop_run(page)
            if "live" in only or "reload" in only:
                live_and_reload(page, base, only, args.seconds)
            if "freeze" in only:
                freeze(page, base)
        browser.close()


if __name__ == "__main__":
    main()
