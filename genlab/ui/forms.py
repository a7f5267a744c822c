"""The Train page's form: the dataset picker (with uploads, drawings and a preview), the method
picker, the hyperparameters with the defaults chosen for the data, and the Start button.

Every widget comes from the declared parameters (genlab.ui.widgets); the page's link, from
genlab.ui.links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from genlab import params
from genlab.data import DATASETS, Dataset
from genlab.data.base import DataSpec
from genlab.methods import METHODS
from genlab.runs.build import default_choices, method_config, train_config
from genlab.runs.executors import APP_DEFAULT, INSTALL_HINT, available, ray_available, run_class
from genlab.runs.ray_exec import ray_address
from genlab.runs.state import RunState
from genlab.runs.store import NAME_MAX, clean_name
from genlab.ui import common, own_data
from genlab.ui.kinds import view_of
from genlab.ui.widgets import (
    DEFAULTS_SHOWN,
    VALUES,
    Entry,
    coerce,
    data_scope,
    format_value,
    grouped_widgets,
    method_scope,
    param_widget,
    remember,
    train_scope,
    wkey,
)

DEFAULT_DATA, DEFAULT_METHOD = "ring8", "gan"


# ----- datasets --------------------------------------------------------------------------------


def dataset_summary(ds: Dataset) -> str:
    s = ds.spec
    parts = [f"**{s.n_train + s.n_val:,}** items ({s.n_train:,} train, {s.n_val:,} validation)"]
    shape = view_of(s.kind).summary(s)
    parts.append(shape)
    if s.n_classes:
        names = ", ".join(s.class_names[:8]) + ("…" if s.n_classes > 8 else "")
        parts.append(f"{s.n_classes} classes ({names})")
    return " · ".join(p for p in parts if p)


def dataset_preview(ds: Dataset, data_file: str | None, options: dict[str, Any]) -> None:
    """A look at real samples of the data: image grid, scatter, series or first lines."""
    s = ds.spec
    st.markdown(dataset_summary(ds))
    if data_file:  # an upload or a drawing: what was read
        st.caption(own_data.file_caption(data_file))
    if s.description:
        st.caption(s.description)
    view_of(s.kind).preview(ds, data_file, options)


# ----- the Train page's parts ------------------------------------------------------------------
@dataclass
class Setup:
    method: str
    data: str
    data_file: str | None = None
    method_values: dict[str, Any] = field(default_factory=dict)
    train_values: dict[str, Any] = field(default_factory=dict)
    data_options: dict[str, Any] = field(default_factory=dict)
    dataset: Dataset | None = None


def _seed_choice(key: str, options: list[str], default: str) -> None:
    remembered = st.session_state.setdefault(VALUES, {})
    current = st.session_state.get(key, remembered.get(key, default))
    if current not in options:
        current = default if default in options else options[0]
    st.session_state[key] = current


def dataset_section() -> tuple[str, str | None, dict[str, Any], Dataset | None]:
    """Dataset picker, upload, options and preview. Returns (name, data_file, options, dataset or
    None when it cannot be loaded yet)."""
    names = list(DATASETS)
    _seed_choice("w.data", names, DEFAULT_DATA)
    name = st.selectbox(
        "Dataset",
        names,
        key="w.data",
        format_func=common.dataset_label,
        help="URL / CLI name: `data`.",
    )
    st.session_state[VALUES]["w.data"] = name
    info = DATASETS[name]
    data_file = None
    options: dict[str, Any] = {}
    if info.Config is not None:
        entries = [(p, data_scope(name), p.default) for p in params.describe(info.Config)]
        with st.container(border=True):
            st.caption("Dataset options")
            cols = st.columns(2)
            for i, (p, scope, default) in enumerate(entries):
                with cols[i % 2]:
                    options[p.name] = param_widget(p, scope, default)
    if info.upload and not common.can_control():
        # read-only demo: nothing a visitor sends is written (uploads and drawings alike)
        common.readonly_note("Uploads")
        return name, None, options, None
    if info.upload and view_of(info.kind).drawable and own_data.drawing_chosen():
        data_file = own_data.draw()  # the drawing, saved like an uploaded CSV
        if data_file is None:
            return name, None, options, None
    elif info.upload:
        kinds = ", ".join(f".{t}" for t in info.file_types) or "any file"
        up = st.file_uploader(
            f"Your file ({kinds})", type=list(info.file_types) or None, key=f"upload.{name}"
        )
        if up is None:
            st.info("Upload a file to preview it and train on it.")
            return name, None, options, None
        data_file = own_data.save_upload(up.name, up.getvalue())
    try:
        ds = common.load_data(name, data_file, options)
    except ValueError as e:
        st.error(f"Cannot use this data: {common.public_text(str(e))}")
        return name, data_file, options, None
    dataset_preview(ds, data_file, options)
    return name, data_file, options, ds


def method_section(data: str, ds: Dataset | None) -> str | None:
    kind = DATASETS[data].kind
    names = common.compatible_methods(kind, ds.spec if ds is not None else None)
    if not names:
        st.warning(f"No method can train on {common.dataset_label(data)} yet.")
        return None
    remembered = st.session_state.setdefault(VALUES, {})
    wanted = st.session_state.get("w.method", remembered.get("w.method", DEFAULT_METHOD))
    fallback = DEFAULT_METHOD if DEFAULT_METHOD in names else names[0]
    if wanted not in names and wanted in METHODS:
        st.warning(
            f"{METHODS[wanted].label} cannot train on this data "
            f"({common.dataset_label(data)}); showing {METHODS[fallback].label}."
        )
    _seed_choice("w.method", names, fallback)
    method = st.selectbox(
        "Method",
        names,
        key="w.method",
        format_func=common.method_label,
        help="Only the methods that support this kind of data. URL / CLI name: `method`.",
    )
    remembered["w.method"] = method
    desc = getattr(METHODS[method], "description", "")
    if desc:
        st.caption(desc)
    return method


def _follow_defaults(entries: list[Entry]) -> None:
    """A value the user left at its default follows the default when the data changes it
    (Method.defaults_for: a GAN on 2D points gets a 2-d latent, on images 16)."""
    shown = st.session_state.setdefault(DEFAULTS_SHOWN, {})
    remembered = st.session_state.setdefault(VALUES, {})
    for p, scope, default in entries:
        key = wkey(scope, p.name)
        if key in shown:  # seen before: follow a changed default unless the user moved it
            old = shown[key]
            current = st.session_state.get(key, remembered.get(key, old))
            if old != default and current == old:
                remember(key, coerce(p, default))
        shown[key] = default


def hyperparameter_section(
    method: str, spec: DataSpec | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The method's hyperparameters and the training settings, grouped; the defaults shown are
    the ones the method suggests for the data of `spec`."""
    cls = METHODS[method]
    base_train = params.to_dict(train_config(method, spec=spec))
    base_method = params.to_dict(method_config(method, spec=spec))
    entries: list[Entry] = [
        (p, method_scope(method), base_method[p.name]) for p in params.describe(cls.Config)
    ]
    entries += [
        (p, train_scope(method), base_train[p.name]) for p in params.describe(params.TrainConfig)
    ]
    _follow_defaults(entries)
    chosen_for_data(method, spec)
    groups = tuple({p.group for p, _, _ in entries if not p.advanced})
    out = grouped_widgets(entries, expanded=groups)  # every group open but "Advanced"
    return out.get(method_scope(method), {}), out.get(train_scope(method), {})


def chosen_for_data(method: str, spec: DataSpec | None) -> None:
    """What the defaults chose for this data and why (Method.defaults_for, stop=auto), before
    the widgets that override each choice."""
    choices = default_choices(method, spec)
    if not choices:
        return
    lines = [f"- `{k}={format_value(v)}`: {why}" for k, v, why in choices]
    st.markdown(
        "**Chosen for this data** (change any below)\n" + "\n".join(lines),
        help="Data-aware defaults read only what any dataset of this kind has: its size, shape "
        "and what is measured on it when it loads (for 2D points, the clusters a Gaussian "
        "mixture fit with BIC finds), never its name.",
    )


EXECUTOR_KEY = "genlab.executor"


EXECUTOR_LABELS = {
    "process": "process: its own (default)",
    "local": "local: a thread of the server",
}


def executor_select() -> str:
    """Where the run trains: in a process of its own (the default: viewers of the live page do
    not slow it), in a thread of the server, or on Ray (GENLAB_RAY_ADDRESS; offered when Ray is
    installed)."""
    choices = available()
    if st.session_state.get(EXECUTOR_KEY) not in choices:
        st.session_state[EXECUTOR_KEY] = APP_DEFAULT
    choice = st.selectbox(
        "Executor",
        choices,
        key=EXECUTOR_KEY,
        format_func=lambda e: EXECUTOR_LABELS.get(e) or f"ray ({ray_address()})",
        help="process: the run trains in a child process of the server, so the page scripts "
        "of its viewers do not take turns with it on the Python interpreter (16 viewers cost "
        "a run in the server's own thread two thirds of its speed). ray: the Ray cluster of "
        "GENLAB_RAY_ADDRESS (a local Ray instance when unset).",
    )
    if not ray_available():
        st.caption(f"Ray is not installed: `{INSTALL_HINT}`")
    return choice


def setup_problems(setup: Setup) -> list[str]:
    """Every value of the form that its declaration refuses, one message each naming the value
    and the allowed range (as the CLI reports them); empty when the setup can start."""
    out = []
    for cls, values in (
        (METHODS[setup.method].Config, setup.method_values),
        (params.TrainConfig, setup.train_values),
        (DATASETS[setup.data].Config, setup.data_options),
    ):
        if cls is None or not values:
            continue
        try:
            params.build(cls, values)
        except ValueError as e:
            out += str(e).split("; ")
    return out


def start_section(setup: Setup) -> None:
    """The Start button with the executor beside it, and why Start is refused when it is: a
    value the user typed is either the one trained with, or named here."""
    problems = setup_problems(setup)
    allowed = common.can_control()
    what = f"{common.method_label(setup.method)} on {common.dataset_label(setup.data)}"
    left, right = st.columns([1, 1], vertical_alignment="bottom")
    with right:
        executor_select()
    if allowed:  # read-only visitors cannot start runs, so there is nothing to name
        with left:
            st.text_input(
                "Run name (optional)",
                key=RUN_NAME_KEY,
                max_chars=NAME_MAX,
                placeholder=what,
                help="Your name for the run, shown wherever runs are listed; rename it later "
                "on the Runs page.",
            )
    clicked = st.button(
        f"Start training: {what}",
        type="primary",
        icon=":material/play_arrow:",
        disabled=setup.dataset is None or not allowed or bool(problems),
        key="start",
        width="stretch",
    )
    if problems:
        st.error("Cannot start: " + "; ".join(problems), icon=":material/error:")
    if not allowed:
        common.readonly_note("Starting runs")
    if clicked:
        try:
            run = start_run(setup, st.session_state.get(RUN_NAME_KEY, ""))
        except ValueError as e:
            st.error(f"Cannot start: {common.public_text(str(e))}")
        else:
            # the live page opens with its first samples drawn (about 0.3 s for a run in a
            # process of its own), not with empty charts that the next refresh fills
            run.wait_first_samples(FIRST_SAMPLES_WAIT_S)
            st.switch_page(common.PAGE_FILES["live"], query_params={"run": run.id})


RUN_NAME_KEY = "genlab.run_name"
FIRST_SAMPLES_WAIT_S = 1.5  # Start waits at most this long for the run's first samples


def start_run(setup: Setup, name: str = "") -> RunState:
    """Validate and launch (ValueError with every problem when the setup is not valid, or when
    this session may not start runs: the read-only check is made here, on the server)."""
    if not common.can_control():
        raise ValueError(f"{common.READONLY_NOTE} Starting runs is locked.")
    name = clean_name(name)
    cls = run_class(st.session_state.get(EXECUTOR_KEY, APP_DEFAULT))
    run = cls(
        setup.method,
        setup.data,
        setup.method_values,
        setup.train_values,
        data_file=setup.data_file,
        data_options=setup.data_options or None,
    )
    if name:
        run.rename(name)
    return run.start()
