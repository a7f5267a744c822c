"""Soak: one run trained for a long time in a Streamlit server with a browser tab watching it.

One run (gan on ring8 by default, with the app's default cadences except a logged row every step,
so that even a slow machine crosses the metric history's 4,000-row cap several times, and enough
steps to outlast the soak) is started from the Train page in a real headless Chromium tab, which
then stays on the live page for `--minutes` (30 by default), polling as a visitor's tab does.
Every `--every` seconds (30) the server's resident memory is read from /proc/<pid>/status (VmRSS)
and one line is printed:

    minute  RSS MB  step  metrics rows  history pts  page pts  snapshots  tab JS heap MB  status

  metrics rows  rows in the run's metrics.jsonl (grows with the run, on disk)
  history pts   the longest series of the run's in-memory metric history, rebuilt here from the
                same rows through genlab.runs.history.MetricHistory (the server's copy receives
                exactly these appends), so its bound can be checked without reaching into the server
  page pts      the longest loss trace the tab's plotly charts hold (what travels to the browser)
  snapshots     sample snapshots written so far (samples/ in the run folder)

The last line is `soak: rss_start=.. MB rss_end=.. MB growth=.. MB`, with rss_start read once the
tab shows the run's first curves.

    python bench/soak.py [--minutes 30] [--every 30] [--method gan] [--data ring8] [--log-every 1]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appserver import PLOTS_EXPR  # noqa: E402
from live_overhead import CHROMIUM, CHROMIUM_ARGS, ENDED, free_port, start_server  # noqa: E402

from genlab.runs.history import MetricHistory  # noqa: E402

MAX_STEPS = 1_000_000  # the TrainConfig bound; the server's own limit is raised to match


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"no VmRSS for pid {pid}")


class MetricsTail:
    """Reads metrics.jsonl incrementally and feeds each new row to a MetricHistory, as the
    server's run does with the same rows."""

    def __init__(self, path: Path):
        self.path, self.offset, self.rows, self.step = path, 0, 0, 0
        self.history = MetricHistory()

    def poll(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        end = chunk.rfind(b"\n") + 1  # a row being written is read next time
        self.offset += end
        for line in chunk[:end].splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            self.rows += 1
            self.step = max(self.step, int(row["step"]))
            values = {k: v for k, v in row.items() if k not in ("step", "t")}
            self.history.append(row["step"], row.get("t", 0.0), values)


def page_points(page) -> int:
    """The longest loss trace held by the tab's plotly charts (_fullData holds the decoded
    arrays; `data` keeps the typed-array encoding that came over the wire)."""
    try:
        return int(
            page.evaluate(
                """() => {
            let n = 0;
            for (const el of ${PLOTS}) {
                for (const tr of (el._fullData || [])) {
                    if (tr.name && tr.name.startsWith('loss/') && tr.y) {
                        n = Math.max(n, tr.y.length);
                    }
                }
            }
            return n;
        }""".replace("${PLOTS}", PLOTS_EXPR)
            )
        )
    except Exception:  # the page was redrawing: report 0 for this sample, not a crash
        return 0


def js_heap_mb(page) -> float:
    try:
        return page.evaluate("() => performance.memory.usedJSHeapSize") / 2**20
    except Exception:
        return float("nan")


def run_status(run_dir: Path) -> str:
    try:
        return json.loads((run_dir / "run.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return "?"


def soak(
    minutes: float, every: float, method: str, data: str, log_every: int, home: Path
) -> list[dict]:
    from playwright.sync_api import sync_playwright

    # the run must outlast the soak: allow the TrainConfig bound; one torch thread, as the tests
    # use, so the soak does not crowd a shared machine
    os.environ["GENLAB_MAX_STEPS"] = str(MAX_STEPS)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    port = free_port()
    server = start_server(home, port)
    base = f"http://127.0.0.1:{port}"
    curve: list[dict] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            page.goto(
                f"{base}/?method={method}&data={data}&steps={MAX_STEPS}&log_every={log_every}"
            )
            page.get_by_role("button", name="Start training").click(timeout=180_000)
            page.wait_for_url("**/live?run=*", timeout=180_000)
            run_id = page.url.split("run=", 1)[1].split("&", 1)[0]
            run_dir = home / run_id
            page.get_by_text("Losses").first.wait_for(timeout=180_000)
            tail = MetricsTail(run_dir / "metrics.jsonl")
            print(
                f"soak: run {run_id}, server pid {server.pid}, {minutes:g} min, "
                f"a sample every {every:g} s",
                flush=True,
            )
            print(
                f"{'min':>5} {'RSS MB':>7} {'step':>8} {'rows':>7} {'hist':>6} {'page':>6} "
                f"{'snaps':>6} {'JS MB':>6}  status",
                flush=True,
            )
            t0 = time.time()
            while True:
                elapsed = time.time() - t0
                tail.poll()
                samples_dir = run_dir / "samples"
                point = {
                    "minute": elapsed / 60,
                    "rss_mb": rss_mb(server.pid),
                    "step": tail.step,
                    "rows": tail.rows,
                    "history": len(tail.history),
                    "page": page_points(page),
                    "snapshots": len(list(samples_dir.iterdir())) if samples_dir.exists() else 0,
                    "js_mb": js_heap_mb(page),
                    "status": run_status(run_dir),
                }
                curve.append(point)
                print(
                    f"{point['minute']:5.1f} {point['rss_mb']:7.1f} {point['step']:8d} "
                    f"{point['rows']:7d} {point['history']:6d} {point['page']:6d} "
                    f"{point['snapshots']:6d} {point['js_mb']:6.1f}  {point['status']}",
                    flush=True,
                )
                if server.poll() is not None:
                    raise RuntimeError("the streamlit server exited during the soak")
                if elapsed >= minutes * 60:
                    break
                if point["status"] in ENDED:
                    print(
                        f"soak: the run ended ({point['status']}) before the soak did; "
                        "the tab keeps watching it",
                        flush=True,
                    )
                # sleep in small pieces, so the tab's event loop keeps turning (Playwright's
                # sync API runs it only while we call into it)
                until = t0 + min(minutes * 60, (len(curve)) * every)
                while time.time() < until:
                    page.wait_for_timeout(1000)
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(15)
        except Exception:
            server.kill()
    return curve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--every", type=float, default=30.0, help="seconds between samples")
    ap.add_argument("--method", default="gan")
    ap.add_argument("--data", default="ring8")
    ap.add_argument("--log-every", type=int, default=1, help="steps between logged rows")
    args = ap.parse_args()
    # `kill` (SIGTERM) ends the soak through SystemExit, so the finally blocks stop the server
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: this benchmark drives a real browser")
    with tempfile.TemporaryDirectory(prefix="genlab-soak-") as tmp:
        curve = soak(args.minutes, args.every, args.method, args.data, args.log_every, Path(tmp))
    start, end = curve[0]["rss_mb"], curve[-1]["rss_mb"]
    mid = curve[len(curve) // 2]["rss_mb"]
    print(
        f"soak: second half growth {end - mid:+.1f} MB; history points at most "
        f"{max(c['history'] for c in curve)} per series (rows on disk {curve[-1]['rows']})"
    )
    print(f"soak: rss_start={start:.1f} MB rss_end={end:.1f} MB growth={end - start:+.1f} MB")


if __name__ == "__main__":
    main()
