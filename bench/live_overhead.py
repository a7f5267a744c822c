"""How much does watching a run live slow its training?

The same run (gan on ring8, 3,000 steps by default) is trained three ways:
  headless   the library only (genlab.runs.Run in a fresh process, no server),
  1 client   in a Streamlit server (`streamlit run app.py`), started from the Train page in a real
             headless Chromium tab, watched by one viewer of its live page (?run=<id>),
  4 clients  the same with four viewers.
A viewer is, by default, a browser-equivalent `wire` client (bench/wire_client.py): it speaks the
Streamlit protocol as a browser tab does (loads the page, runs each fragment's auto-rerun timer,
fetches the sample images), so the server does all the work it does for a browser; it does not
render. In a live demo the browsers run on the viewers' machines, not on the training host. With
`--client chromium` the viewers are real Chromium tabs on this machine instead, whose rendering
competes with training for the same cores.
Speed is read from the run's own metrics.jsonl (rows carry the step and the training seconds):
steps/s over the rows logged once every viewer is attached (headless: after a 200-step warm-up).
Modes are interleaved over `--repeats` rounds to share the machine's noise; the median is kept.
The CPU seconds of the server and of the browsers during the window are printed as well.

    python bench/live_overhead.py [--steps 3000] [--repeats 1] [--clients 1,4,16] [--client wire]
                                  [--executor process|local|ray]

Per viewer it prints the step-counter updates/s each wire client received and the server's CPU
seconds per viewer. Last line: `live_overhead: ratio=R`, R = (steps/s with the largest client
count, 16 by default) / (steps/s headless).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wire_client import WireClient  # bench/wire_client.py

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
# the browser's path and flags, a free port and the health check: the browser tests' own
from appserver import CHROMIUM, CHROMIUM_ARGS, LIVE_CHART, free_port, healthy  # noqa: E402

ENDED = ("done", "stopped", "failed", "interrupted")
WARMUP_STEPS = 200


def train_values(steps: int) -> dict[str, int]:
    # evaluations and checkpoints only at the end: the window measures the loop and the viewers
    return {"steps": steps, "eval_every": 0, "checkpoint_every": 0}


# ----- measuring -------------------------------------------------------------------------------
def read_rows(run_dir: Path) -> list[dict]:
    path = run_dir / "metrics.jsonl"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "step" in r and "t" in r and any(k.startswith("loss/") for k in r):
            rows.append(r)
    return rows


def rate(rows: list[dict], from_step: int) -> float:
    """Steps per training second over the logged rows at or after `from_step`."""
    win = [r for r in rows if r["step"] >= from_step]
    if len(win) < 2 or win[-1]["t"] <= win[0]["t"]:
        raise RuntimeError(f"too few logged rows after step {from_step} to measure a speed")
    return (win[-1]["step"] - win[0]["step"]) / (win[-1]["t"] - win[0]["t"])


def cpu_seconds(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    return total


def descendants(root: int, names: tuple[str, ...]) -> list[int]:
    """Processes under `root` whose command name starts with one of `names`."""
    parent, comm = {}, {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            text = (p / "stat").read_text()
        except OSError:
            continue
        comm[int(p.name)] = text[text.index("(") + 1 : text.rindex(")")]
        parent[int(p.name)] = int(text.rsplit(")", 1)[1].split()[1])
    out = []
    for pid in parent:
        q = pid
        while q in parent and q not in (0, 1):
            q = parent[q]
            if q == root:
                if comm[pid].startswith(names):
                    out.append(pid)
                break
    return out


# ----- the three ways --------------------------------------------------------------------------
def headless(method: str, data: str, steps: int, home: Path) -> dict:
    code = (
        "import sys; from genlab.runs import Run, RunStore\n"
        f"r = Run({method!r}, {data!r}, {{}}, {train_values(steps)!r}, store=RunStore(sys.argv[1]))"
        "\nr.start(); r.join(); print(r.id)\n"
    )
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code, str(home)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        env=child_env(home),
    )
    run_id = out.stdout.strip().splitlines()[-1]
    rows = read_rows(home / run_id)
    return {"steps_per_s": rate(rows, WARMUP_STEPS), "wall_s": time.time() - t0}


def child_env(home: Path) -> dict[str, str]:
    # the app sets OMP_WAIT_POLICY=PASSIVE (genlab/ui/__init__.py); the headless run gets the
    # same, so the comparison is of the viewers, not of OpenMP's waiting policy
    return {
        **os.environ,
        "GENLAB_HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
    }


def start_server(home: Path, port: int) -> subprocess.Popen:
    env = child_env(home)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    t0 = time.time()
    while time.time() - t0 < 120:
        if healthy(f"http://127.0.0.1:{port}"):
            return proc
        if proc.poll() is not None:
            raise RuntimeError("the streamlit server exited at start")
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("the streamlit server did not answer within 120 s")


def with_clients(
    method: str,
    data: str,
    steps: int,
    clients: int,
    home: Path,
    kind: str,
    executor: str = "process",
) -> dict:
    """Train in a server with `clients` viewers of the live page: `wire` clients (the Streamlit
    protocol a browser tab speaks, fragment timers included, without rendering; the browsers of
    a live demo run on the viewers' machines, not on the training host) or `chromium` tabs (real
    browsers on this same machine, so their rendering competes with training for its cores)."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = start_server(home, port)
    base = f"http://127.0.0.1:{port}"
    query = "&".join(
        f"{k}={v}" for k, v in {"method": method, "data": data, **train_values(steps)}.items()
    )
    wires: list[WireClient] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            first = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            first.goto(f"{base}/?{query}")
            # the Train page's Executor choice, as a presenter makes it
            box = first.locator('[data-testid="stSelectbox"]').filter(has_text="Executor")
            box.click(timeout=120_000)
            first.get_by_role("option", name=re.compile(f"^{executor}")).click()
            first.get_by_role("button", name="Start training").click(timeout=120_000)
            first.wait_for_url("**/live?run=*", timeout=120_000)
            run_id = first.url.split("run=", 1)[1].split("&", 1)[0]
            run_dir = home / run_id
            # the first live chart drawn (genlab.ui.livechart)
            first.locator(LIVE_CHART).first.wait_for(timeout=120_000)
            if kind == "chromium":
                # hold the run while the other tabs attach (a page load is slow on a busy
                # machine); paused time does not count in the run's training seconds
                first.get_by_role("button", name="Pause").click(timeout=120_000)
                first.get_by_role("button", name="Resume").wait_for(timeout=120_000)
                for _ in range(clients - 1):
                    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
                    page.goto(f"{base}/live?run={run_id}")
                # every tab attached and drawing: each shows the run's status and its curves
                for page in [c.pages[0] for c in browser.contexts]:
                    page.get_by_text("Steps/s").first.wait_for(timeout=120_000)
                    page.locator(LIVE_CHART).first.wait_for(timeout=120_000)
                first.get_by_role("button", name="Resume").click()
            else:
                # the wire clients attach to the running run (a wire client that attached while
                # it was paused missed the page's redraw at the resume and polled a stale
                # fragment: 0 step updates, where real tabs followed); the window starts once
                # each has drawn the page
                browser.close()  # the tab that started the run leaves; the wire clients watch
                wires = [WireClient(base, "live", f"run={run_id}").start() for _ in range(clients)]
                t_wait = time.time()
                while min(w.deltas for w in wires) < 10:  # each has drawn the page
                    if time.time() - t_wait > 120:
                        raise RuntimeError("the wire clients did not receive the live page")
                    time.sleep(0.2)
            rows = read_rows(run_dir)
            from_step = max(rows[-1]["step"] + 1 if rows else 0, WARMUP_STEPS)
            cpu_pids = [server.pid] + descendants(os.getpid(), ("chrom", "headless"))
            cpu0, t0 = cpu_seconds(cpu_pids), time.time()
            server_cpu0 = cpu_seconds([server.pid])
            wire_cpu0 = time.process_time()  # this process: the wire clients' threads
            while json.loads((run_dir / "run.json").read_text())["status"] not in ENDED:
                time.sleep(0.5)
                if time.time() - t0 > 1800:
                    raise RuntimeError("the run did not end within 30 minutes")
            wall = time.time() - t0
            rates = sorted(w.updates_per_s(t0, t0 + wall) for w in wires)
            cpu_pids = [server.pid] + descendants(os.getpid(), ("chrom", "headless"))
            server_cpu = cpu_seconds([server.pid]) - server_cpu0
            browser_cpu = cpu_seconds(cpu_pids) - cpu0 - server_cpu
            wire_cpu = time.process_time() - wire_cpu0
            if kind == "chromium":
                browser.close()
        for w in wires:
            w.close()
            if w.error is not None:
                raise RuntimeError(f"a wire client failed: {w.error!r}")
        rows = read_rows(run_dir)
        return {
            "steps_per_s": rate(rows, from_step),
            "from_step": from_step,
            "wall_s": wall,
            "server_cpu_s": server_cpu,
            "browser_cpu_s": browser_cpu,
            "wire_cpu_s": wire_cpu,
            "reruns": sum(w.reruns for w in wires),
            "viewer_rates": rates,
            "messages": sum(w.messages for w in wires),
            "trains_in_server": executor == "local",
        }
    finally:
        for w in wires:
            w.close()
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()


def viewers_line(res: dict, clients: int) -> str:
    """Per-viewer step-counter updates/s (wire clients only) and the server's CPU per viewer:
    the server's CPU seconds (less the training thread's, one busy core with
    GENLAB_CPU_THREADS=1, when the run trains in the server's process), per viewer and per second
    of the window."""
    rates = res.get("viewer_rates") or []
    line = ""
    if rates:
        line += (
            f"\n    per-viewer updates/s: min {rates[0]:.2f}, median "
            f"{statistics.median(rates):.2f}, max {rates[-1]:.2f}"
        )
    training = res["wall_s"] if res["trains_in_server"] else 0.0
    per_viewer = max(0.0, res["server_cpu_s"] - training) / clients / res["wall_s"]
    line += (
        f"\n    server CPU {res['server_cpu_s'] / res['wall_s']:.2f} s/s in all; beyond training "
        f"{per_viewer:.3f} s/s per viewer"
    )
    return line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", default="gan")
    ap.add_argument("--data", default="ring8")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument(
        "--client",
        choices=("wire", "chromium"),
        default="wire",
        help="viewers: Streamlit-protocol clients (default) or real Chromium tabs on this machine",
    )
    ap.add_argument(
        "--executor",
        choices=("process", "local", "ray"),
        default="process",
        help="where the watched run trains (the Train page's Executor): a child process of the "
        "server (the app's default), a thread of the server's process (local), or a Ray worker "
        "process",
    )
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: this benchmark drives a real browser")
    modes = [0] + [int(c) for c in args.clients.split(",")]
    results: dict[int, list[dict]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory(prefix="genlab-live-bench-") as tmp:
        for r in range(args.repeats):
            for m in modes:
                home = Path(tmp) / f"r{r}-c{m}"
                res = (
                    headless(args.method, args.data, args.steps, home)
                    if m == 0
                    else with_clients(
                        args.method, args.data, args.steps, m, home, args.client, args.executor
                    )
                )
                results[m].append(res)
                extra = (
                    ""
                    if m == 0
                    else (
                        f"  (from step {res['from_step']}, server CPU {res['server_cpu_s']:.1f} s, "
                        f"browsers CPU {res['browser_cpu_s']:.1f} s, wire clients CPU "
                        f"{res['wire_cpu_s']:.1f} s over {res['wall_s']:.0f} s, "
                        f"{res['reruns']} reruns asked, {res['messages']} messages)"
                        + viewers_line(res, m)
                    )
                )
                label = "headless" if m == 0 else f"{m} client{'s' if m > 1 else ''}"
                load = os.getloadavg()[0]
                print(
                    f"round {r + 1}: {label:<10} {res['steps_per_s']:7.1f} steps/s{extra}"
                    f"  [load {load:.1f}]",
                    flush=True,
                )
    med = {m: statistics.median(x["steps_per_s"] for x in v) for m, v in results.items()}
    print(
        f"{args.method} on {args.data}, {args.steps} steps, {args.client} clients, "
        f"executor {args.executor}, "
        f"median of {args.repeats}:"
    )
    for m in modes:
        label = "headless" if m == 0 else f"{m} client{'s' if m > 1 else ''}"
        print(f"  {label:<10} {med[m]:7.1f} steps/s  ({med[m] / med[0]:.2f} of headless)")
    top = max(modes)
    print(f"live_overhead: ratio={med[top] / med[0]:.3f}")


if __name__ == "__main__":
    main()
