"""The app in a real server for the browser tests: `streamlit run app.py` on 127.0.0.1 with its
own run home, and the flags Debian's Chromium needs here."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# no sandbox (root in a container), no GPU, and none of Chromium's calls home (refused here)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Every plotly plot on the page as a JS array (the live charts of genlab.ui.livechart draw in
# the page too, in their .genlab-live divs).
PLOTS_EXPR = "[...document.querySelectorAll('.js-plotly-plot')]"
LIVE_CHART = ".genlab-live.js-plotly-plot"  # a live chart that Plotly.js has drawn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(base: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def app_server(
    home: Path, log_path: Path, env: dict[str, str] | None = None, start_timeout: float = 120.0
) -> Iterator[tuple[str, subprocess.Popen]]:
    """(base URL, server process); the server is stopped (SIGTERM, then SIGKILL) on exit.
    `env` adds to (or, with value None, removes from) this process's environment."""
    full_env = {**os.environ, "GENLAB_HOME": str(home), "PYTHONPATH": str(ROOT)}
    for k, v in (env or {}).items():
        if v is None:
            full_env.pop(k, None)
        else:
            full_env[k] = v
    port = free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
        "--server.port", str(port), "--server.headless", "true",
    ]  # fmt: skip
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            t0 = time.time()
            while not healthy(base):
                if proc.poll() is not None or time.time() - t0 > start_timeout:
                    raise RuntimeError("streamlit did not start: " + log_path.read_text()[-2000:])
                time.sleep(0.5)
            yield base, proc
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
