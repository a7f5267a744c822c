"""How the live panels redraw: fragments that poll, and what their bodies compute once per process
for every viewer of a run (`shared`: built once per key; `shared_latest`: the newest value of a
view, rebuilt in the background so a slow view never holds up the other panels)."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any

import streamlit as st
import torch
from streamlit.runtime.scriptrunner import get_script_run_ctx

from genlab.limits import cpu_threads
from genlab.runs import ENDED


def fragment(body, every: float | None, most: float | None = None):
    """`body` as a fragment that reruns every `every` seconds (None: drawn once), slower when
    many viewers share the server (`pace`, as decided when the page ran), but at most every
    `most` seconds when given."""
    if every is None:
        return st.fragment(body, run_every=None)
    paced = every * st.session_state.get(PACE_KEY, 1.0)
    return st.fragment(body, run_every=min(paced, max(every, most)) if most else paced)


# ----- pacing: every viewer's refreshes cost the server's CPU --------------------------------
# Each viewer's panels rerun their scripts a few times a second (about 30 ms of the server's CPU
# each on a 2-core machine). With the run training in a process of its own, 16 viewers at full
# rate took 0.8 of a core and slowed it to 0.74 of its headless speed: the server and the run
# share the machine. Beyond a few viewers the panels of a page loaded then poll slower, the
# status at least once a second (bench/live_overhead.py).
PACES = ((4, 1.0), (8, 1.5))  # up to N live viewers in this server: intervals times this
MOST_PACE = 2.4  # more viewers (the status panel keeps 1 Hz: live.STATUS_MOST_S)
VIEWER_TTL_S = 5.0  # a viewer counts while it drew a live panel this recently
PACE_KEY = "genlab.pace"
_VIEWERS: dict[str, float] = {}  # session id -> when it last drew a live panel
_VIEWERS_LOCK = threading.Lock()


def pace() -> float:
    """How much slower than their own rates the live panels poll, for the viewers now."""
    now = time.monotonic()
    with _VIEWERS_LOCK:
        for sid in [s for s, t in _VIEWERS.items() if now - t > VIEWER_TTL_S]:
            del _VIEWERS[sid]
        n = len(_VIEWERS)
    return next((p for most, p in PACES if n <= most), MOST_PACE)


def note_viewer() -> None:
    """This session draws a live panel: it counts as a viewer for VIEWER_TTL_S seconds. (A
    viewer's pace stays the one fixed when its page ran: a redraw of the page from a fragment to
    change it left the bench's wire clients polling fragments the redraw had replaced, so a
    viewer's pace changes at its next page load.)"""
    ctx = get_script_run_ctx()
    if ctx is not None:
        with _VIEWERS_LOCK:
            _VIEWERS[ctx.session_id] = time.monotonic()


def page_pace() -> None:
    """At the live page's run: count this viewer and fix the pace its fragments poll at."""
    note_viewer()
    st.session_state[PACE_KEY] = pace()


def ended_since_page_run(every: float | None, status: str) -> None:
    """The page polls (every is set) but the run has ended: redraw the whole page once, which
    decides run_every=None, so polling stops."""
    if every is not None and status in ENDED:
        st.rerun()


# ----- views and figures shared by every viewer of a run ------------------------------------
_SHARED: OrderedDict[tuple, Any] = OrderedDict()
_SHARED_LOCK = threading.Lock()
_SHARED_MAX = 64
VIEW_EVERY_S = 0.5  # the inside views' newest weights: at most twice a second


def shared(key: tuple, build):
    """A figure built once per process for `key` (run id, history version, view settings...), so
    several tabs watching the same run do not each rebuild it. Figures are never mutated after
    they are built: every viewer reads the same object (livechart caches its JSON by identity)."""
    with _SHARED_LOCK:
        if key in _SHARED:
            _SHARED.move_to_end(key)
            return _SHARED[key]
    value = build()
    with _SHARED_LOCK:
        _SHARED[key] = value
        while len(_SHARED) > _SHARED_MAX:
            _SHARED.popitem(last=False)
    return value


_LATEST: OrderedDict[tuple, tuple[tuple, Any]] = OrderedDict()  # slot -> (key, value)
_BUILDING: dict[tuple, float] = {}  # slot -> when its build started
_LAST_BUILD_S: dict[tuple, tuple[float, float]] = {}  # slot -> (when it ended, how long it took)


def shared_recent(slot: tuple, key: tuple, build, every: float, force: bool = False) -> Any:
    """The newest value built for `slot` (one figure of one run, with one viewer's settings),
    rebuilt for `key` at most once every `every` seconds (or three times the last build's
    duration) whatever the number of viewers, and always with `force` (a page that will not
    poll again). A run logs several history versions a second, so keyed by version alone every
    viewer's refresh found a new one and built it: 16 viewers built the curves 16 times a
    second, in Python threads that share the GIL with the training loop."""
    with _SHARED_LOCK:
        have = _LATEST.get(slot)
        if have is not None and not force:
            done, took = _LAST_BUILD_S.get(slot, (0.0, 0.0))
            wait = max(every, 3 * took)  # a build slowed by many viewers: fewer builds
            if have[0] == key or slot in _BUILDING or time.monotonic() - done < wait:
                return have[1]
            _BUILDING[slot] = time.monotonic()
    return _build_timed(slot, key, build)


def shared_latest(slot: tuple, key: tuple, build, wait: bool = False) -> tuple[tuple, Any]:
    """(key, value) of the newest value built for `slot` (one view of one run), building `key`
    in a background thread when it is not that one: a view that takes a second to compute (the
    2D canvas of a GAN) never holds up the page's other fragments (the step counter stood still
    while it was computed in the page's own thread), and every viewer shares the one build.
    The first value, and any with `wait` (a page that will not poll again), is built here. A new
    build starts only when the last one ended at least three times its own duration (and
    VIEW_EVERY_S) ago, so the views take at most about a quarter of a core from training."""
    with _SHARED_LOCK:
        have = _LATEST.get(slot)
        if have is not None and have[0] == key:
            return have
        done, took = _LAST_BUILD_S.get(slot, (0.0, 0.0))
        if have is not None and not wait:
            if slot in _BUILDING or time.monotonic() - done < max(3 * took, VIEW_EVERY_S):
                return have
            _BUILDING[slot] = time.monotonic()
    if have is None or wait:
        value = shared(key, build)
        _keep_latest(slot, key, value)
        return key, value

    def job() -> None:
        torch.set_num_threads(cpu_threads())  # this thread's count, as the run's worker
        try:
            _build_timed(slot, key, build)
        except Exception:  # the next refresh tries again; the page keeps the last view
            logging.getLogger(__name__).exception("building %s failed", key)

    threading.Thread(target=job, name="genlab-view", daemon=True).start()
    return have


def _build_timed(slot: tuple, key: tuple, build) -> Any:
    """shared(key, build) as `slot`'s newest value; the slot is no longer building, and how
    long it took paces the next build."""
    t0 = time.monotonic()
    try:
        value = shared(key, build)
    finally:
        with _SHARED_LOCK:
            _BUILDING.pop(slot, None)
            _LAST_BUILD_S[slot] = (time.monotonic(), time.monotonic() - t0)
    _keep_latest(slot, key, value)
    return value


def _keep_latest(slot: tuple, key: tuple, value: Any) -> None:
    with _SHARED_LOCK:
        _LATEST[slot] = (key, value)
        _LATEST.move_to_end(slot)
        while len(_LATEST) > _SHARED_MAX:
            _LATEST.popitem(last=False)
