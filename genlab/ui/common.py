"""Shared Streamlit helpers: start-up, the sidebar, run lookup, the catalogue, session state.

Pages call these; nothing here trains. The worker threads never call `st.*`: they publish to a
lock-protected run state that the live fragments read.
"""

from __future__ import annotations

import hmac
import html
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

import streamlit as st

from genlab.data import DATASETS, Dataset, load_dataset
from genlab.limits import Limits
from genlab.methods import METHODS
from genlab.runs import (
    REGISTRY,
    AnyRun,
    Run,
    RunStore,
    genlab_home,
    read_saved_run,
    resolve_device,
)
from genlab.runs.registry import mark_interrupted
from genlab.runs.setup import scaled_lrs
from genlab.ui import explain, livechart

# The pages, by the url_path that st.navigation gives them (app.py declares them).
PAGE_FILES = {
    "train": "pages/train.py",
    "live": "pages/live.py",
    "runs": "pages/runs.py",
    "compare": "pages/compare.py",
    "generate": "pages/generate.py",
}


# ----- start-up --------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _mark_interrupted_once(home: str) -> list[str]:

    return mark_interrupted(RunStore(home))


@st.cache_resource(show_spinner=False)
def _warm_torch_once() -> threading.Thread | None:
    if "torch._dynamo" in sys.modules:  # the server's lifespan did it
        return None
    thread = threading.Thread(target=warm_torch, name="genlab-warm", daemon=True)
    thread.start()
    return thread


def warm_torch() -> None:
    """The first optimiser a process builds imports torch._dynamo (torch.optim wraps its methods
    in torch._disable_dynamo): 1.1-4.7 s on this 2-core machine, paid in the first run's worker
    between Start and step 1. Paid at server start instead (app.py's lifespan), or, where the
    script runs without it (AppTest, Streamlit before st.App), in the background while the user
    reads the Train page. The same for the forkserver that the `process` executor's runs are
    forked from (it imports torch and genlab once)."""
    import torch

    from genlab.runs import process_exec

    process_exec.warm()
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def startup() -> None:
    """Once per process (and run home): runs that a killed server left `running` on disk are
    marked `interrupted`, so they show as resumable instead of forever live; and torch's first
    optimiser is built, if the server's lifespan has not (see warm_torch)."""
    _mark_interrupted_once(str(genlab_home()))
    _warm_torch_once()


@st.cache_resource(show_spinner=False)
def device_label() -> str:
    import torch

    dev = resolve_device("auto")
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    if dev.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(dev)


def sidebar() -> None:
    """Shared sidebar: the device in use, the read-only lock (when the server is a demo) and the
    live runs; and, unseen, Plotly.js loading for the live charts."""
    with st.sidebar:
        livechart.preload()
        explain.switch()
        st.caption(f"Device: **{device_label()}**")
        if Limits.from_env().readonly:
            control_lock()
        _live_runs()


# ----- read-only demo mode ---------------------------------------------------------------------
# GENLAB_READONLY=1: visitors watch and sample; starting, pausing, stopping, deleting, live knobs
# and uploads need control. GENLAB_ADMIN_PASSWORD, entered in the sidebar, grants control to that
# browser session only. The flag lives under a key no widget has, so no client event can set it.
ADMIN_KEY = "genlab.admin"
READONLY_NOTE = "Read-only demo: ask the presenter."
WRONG_PASSWORD_DELAY_S = 1.0  # slows guessing; blocks only this session's script thread


def can_control() -> bool:
    """Whether this browser session may act on runs (start, pause, resume, step, stop, delete,
    change live knobs, upload). Always True unless GENLAB_READONLY is set."""
    limits = Limits.from_env()
    if not limits.readonly:
        return True
    return limits.admin_password is not None and st.session_state.get(ADMIN_KEY) is True


def require_control(action: str) -> bool:
    """The server-side gate for callbacks that act: False (and a toast) when this session may not
    control runs. Disabled widgets are only a courtesy; a forged widget event still reaches the
    callback, which must ask this first."""
    if can_control():
        return True
    st.toast(f"{READONLY_NOTE} ({action} is locked)", icon=":material/lock:")
    return False


def readonly_note(what: str = "Controls") -> None:
    """The short explanation shown where locked controls are."""
    unlock = (
        " Unlock in the sidebar with the admin password."
        if Limits.from_env().admin_password
        else ""
    )
    st.caption(f":material/lock: {what}: locked. {READONLY_NOTE}{unlock}")


def _unlock() -> None:
    entered = st.session_state.get("genlab.password") or ""
    wanted = Limits.from_env().admin_password
    ok = wanted is not None and hmac.compare_digest(entered.encode(), wanted.encode())
    if ok:
        st.session_state[ADMIN_KEY] = True
        st.session_state.pop("genlab.unlock_error", None)
    else:
        time.sleep(WRONG_PASSWORD_DELAY_S)
        st.session_state["genlab.unlock_error"] = "Wrong password: control stays locked."


def _lock() -> None:
    st.session_state.pop(ADMIN_KEY, None)


def control_lock() -> None:
    """Sidebar: the lock state; the admin password field (when one is set) or the Lock button."""
    if can_control():
        st.success("Control unlocked for this browser session.", icon=":material/lock_open:")
        st.button("Lock", icon=":material/lock:", key="genlab.lock", on_click=_lock)
        return
    st.info(READONLY_NOTE, icon=":material/lock:")
    if not Limits.from_env().admin_password:
        return
    with st.form("genlab.unlock_form", clear_on_submit=True, border=False):
        st.text_input("Admin password", type="password", key="genlab.password")
        st.form_submit_button("Unlock", icon=":material/lock_open:", on_click=_unlock)
    error = st.session_state.pop("genlab.unlock_error", None)
    if error:
        st.error(error)


def _live_runs() -> None:
    """The live runs, drawn with each run of the page's script. Not a polling fragment: its
    timer could fire while Start held the Train page's script (it waits up to 1.5 s for the
    first samples), and that fragment run then reached the browser after st.switch_page had
    emptied the page: "Bad delta path index 2 (should be between [0, 0])" and a blank page for
    good (4 of 6 starts here; 0 of 8 without the timer). The live page, the Runs page and
    Compare poll their own panels."""
    live = REGISTRY.live()
    st.caption(f"Live runs: **{len(live)}**")
    for run in live[:5]:
        snap = run.snapshot()
        st.page_link(
            PAGE_FILES["live"],
            label=f"{run.name or f'{snap.method} · {snap.dataset}'} · {snap.status}",
            query_params={"run": run.id},
            icon=":material/monitoring:",
        )


# ----- what a visitor may see ------------------------------------------------------------------
# An absolute path (two components or more) inside a message; uploads are saved as
# "<16 hex digits of the content's hash>-<the user's file name>" (own_data.save_upload).
_PATH = re.compile(r"(?<![\w.~])(?:/[^\s/'\"`:,;()\[\]]+){2,}")
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{16}-(.+)$")
_UPLOAD_PREFIX = re.compile(r"\b[0-9a-f]{16}-(?=\S)")


def public_name(path: str) -> str:
    """The name a visitor knows a file or run folder by: the last part of its path, without the
    content hash that saved uploads carry."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    m = _UPLOAD_NAME.match(name)
    return m.group(1) if m else name


def public_text(text: str) -> str:
    """A message with every server path replaced by the file's or run's own name: the run store,
    the upload folder and the code's location are the server's business, not a visitor's."""
    text = _PATH.sub(lambda m: public_name(m.group(0)), text)
    return _UPLOAD_PREFIX.sub("", text)  # "<hash>-empty.txt is empty" -> "empty.txt is empty"


# ----- catalogue -------------------------------------------------------------------------------
def dataset_label(name: str) -> str:
    info = DATASETS[name]
    return f"{info.label} · {info.kind}"


def method_label(name: str) -> str:
    return METHODS[name].label


def load_data(
    name: str, data_file: str | None = None, options: dict[str, Any] | None = None
) -> Dataset:
    """A dataset, loaded once per process (genlab.data caches it); errors are ValueErrors."""
    with st.spinner(f"Loading {DATASETS[name].label}..."):
        return load_dataset(name, data_file, options or None)


def compatible_methods(kind: str, spec=None) -> list[str]:
    """Methods that can train on this data: by kind, and by labels once the data is known."""
    out = []
    for name, cls in METHODS.items():
        ok = cls.supports_data(spec) if spec is not None else kind in cls.supports
        if ok:
            out.append(name)
    return out


# ----- runs: live in this process, or read back from disk --------------------------------------
def find_run(run_id: str) -> AnyRun | None:
    """The live Run object when this process trains (or trained) it, else the saved run."""
    run = REGISTRY.get(run_id)
    if run is not None:
        return run
    try:
        return read_saved_run(RunStore(), run_id)
    except ValueError as e:
        st.error(f"Run {run_id} cannot be read: {public_text(str(e))}")
        return None


def resume_run(run_id: str, steps: int | None = None, lr_scale: float | None = None) -> Run:
    """Continue a saved run from its last checkpoint, in the same folder (ValueError if it
    cannot); with `lr_scale`, every learning rate (lr, lr_g, lr_d) times that factor. The run id
    is one the server listed; RunStore.run_dir refuses anything that is not a plain run name."""

    store = RunStore()
    d = store.run_dir(run_id)
    overrides = None
    if lr_scale is not None:
        info = d.read_info()
        overrides = scaled_lrs(info["method"], info["method_config"], lr_scale)
    return Run.from_dir(Path(d.path), steps=steps, store=store, method_overrides=overrides).start()


# ----- session state ---------------------------------------------------------------------------
def state(key: str, default: Any) -> Any:
    """st.session_state[key], set to `default` the first time."""
    if key not in st.session_state:
        st.session_state[key] = default
    return st.session_state[key]


def monospace(text: str, height: int | None = None) -> None:
    """Lines of text in a monospace block (scrolling past `height` pixels). Not st.code: its
    1.5 MB syntax highlighter, fetched and parsed the first time a page shows one, held back the
    first chart of a text run's live page (it came 0.2 s after the highlighter, 3.6 s after
    Start, on a loaded machine). st.html fetches 31 kB (DOMPurify); st.markdown's raw HTML, 188
    kB."""
    style = (
        "font-family: var(--st-code-font, monospace); font-size: 0.85rem; margin: 0; "
        "padding: 0.75rem 1rem; border-radius: 0.5rem; white-space: pre-wrap; "
        "background: var(--st-code-background-color, rgba(128, 128, 128, 0.1));"
    )
    if height:
        style += f" max-height: {height}px; overflow-y: auto;"
    st.html(f'<pre style="{style}">{html.escape(text)}</pre>')


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
