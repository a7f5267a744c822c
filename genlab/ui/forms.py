"""Widgets generated from declared hyperparameters, the dataset picker and the Train page's parts.

Nothing here is written per method: every widget comes from a `genlab.params.Param` (int/float ->
number_input with bounds, log-scale floats -> scientific format, str choices -> selectbox, bool ->
toggle). The same declarations parse URL query parameters, so `/?method=vae&data=moons&beta=2.5`
presets a form and the page keeps the URL in sync: a link reproduces a setup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from genlab import params
from genlab.data import DATASETS, Dataset
from genlab.data.base import DataSpec
from genlab.methods import METHODS
from genlab.runs import Run
from genlab.runs.build import default_choices, method_config, train_config
from genlab.runs.ray_exec import EXECUTORS, INSTALL_HINT, RayRun, ray_address, ray_available
from genlab.runs.store import NAME_MAX, clean_name
from genlab.ui import common, explain, own_data
from genlab.ui.kinds import view_of

VALUES = "genlab.form.values"  # widget key -> last value, survives pages that do not draw it
QP_LAST = "genlab.form.qp"  # the query string this page last wrote (or applied)
DEFAULT_DATA, DEFAULT_METHOD = "ring8", "gan"
RESERVED = ("method", "data", explain.QUERY, own_data.LINK_QUERY)


# ----- one widget per Param --------------------------------------------------------------------
def wkey(scope: str, name: str) -> str:
    return f"w.{scope}.{name}"


def method_scope(method: str) -> str:
    return f"m.{method}"


def train_scope(method: str) -> str:
    return f"t.{method}"  # each method has its own training defaults (steps, batch size)


def data_scope(dataset: str) -> str:
    return f"d.{dataset}"


def coerce(p: params.Param, value: Any) -> Any:
    """The value in the exact type its widget needs (number_input refuses int/float mixes)."""
    if p.type is bool:
        return bool(value)
    if p.type is int and not isinstance(value, bool):
        return int(value)
    if p.type is float:
        return float(value)
    return value


def help_text(p: params.Param) -> str:
    parts = [p.help.strip()] if p.help else []
    if p.choices:
        parts.append(f"Choices: {', '.join(p.choices)}.")
    elif p.low is not None or p.high is not None:
        lo = "−∞" if p.low is None else f"{p.low:g}"
        hi = "∞" if p.high is None else f"{p.high:g}"
        parts.append(f"Range {lo} … {hi}" + (", log scale." if p.log else "."))
    parts.append(
        f"Default {p.default!r}."
        if isinstance(p.default, str)
        else f"Default {p.default:g}."
        if not isinstance(p.default, bool)
        else f"Default {'on' if p.default else 'off'}."
    )
    if p.live:
        parts.append("Can be changed while the run trains.")
    parts.append(f"URL / CLI name: `{p.name}`.")
    return "  \n".join(parts)


def _float_step(p: params.Param) -> float:
    """A +/- step that moves the default by about a tenth of its magnitude."""
    ref = abs(float(p.default)) if p.default else 0.0
    if ref == 0.0 and p.low is not None and p.high is not None:
        ref = (float(p.high) - float(p.low)) / 10
    step = 10.0 ** math.floor(math.log10(ref)) / 10 if ref > 0 else 0.01
    if p.low is not None and p.high is not None and p.high > p.low:
        step = min(step, float(p.high) - float(p.low))
    return float(step)


def _seed_state(key: str, p: params.Param, default: Any) -> None:
    """Put the remembered (or default) value into the widget's state before it is drawn, so the
    widget is created without `value=` (no double-source warning) and survives page switches."""
    if key in st.session_state:
        return
    remembered = st.session_state.setdefault(VALUES, {})
    value = remembered.get(key, default)
    if p.choices and value not in p.choices:
        value = default
    st.session_state[key] = coerce(p, value)


def param_widget(
    p: params.Param,
    scope: str,
    default: Any | None = None,
    *,
    disabled: bool = False,
    label: str | None = None,
) -> Any:
    """The widget of one declared hyperparameter; returns its value."""
    key = wkey(scope, p.name)
    _seed_state(key, p, p.default if default is None else default)
    label = label or p.title
    kw: dict[str, Any] = dict(key=key, help=help_text(p), disabled=disabled)
    if p.type is bool:
        value = st.toggle(label, **kw)
    elif p.choices:
        value = st.selectbox(label, p.choices, **kw)
    elif p.type is int:
        # No min_value/max_value: a bounded number_input keeps its last valid value when an
        # out-of-range one is typed, without telling the server; unbounded, the typed value
        # arrives and `setup_problems` / `params.build` refuse it with a message naming it.
        value = st.number_input(label, step=1, **kw)
    elif p.type is float:
        value = st.number_input(label, step=_float_step(p), format="%.2e" if p.log else "%g", **kw)
    else:
        value = st.text_input(label, **kw)
    st.session_state[VALUES][key] = value
    return value


Entry = tuple[params.Param, str, Any]  # (param, scope, default)


def grouped_widgets(entries: list[Entry], expanded: tuple[str, ...] = ()) -> dict[str, dict]:
    """Widgets in one expander per Param.group (declaration order), advanced ones together in an
    "Advanced" expander at the end. Returns {scope: {name: value}}."""
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        groups.setdefault("Advanced" if e[0].advanced else e[0].group, []).append(e)
    order = [g for g in groups if g != "Advanced"] + (["Advanced"] if "Advanced" in groups else [])
    out: dict[str, dict[str, Any]] = {}
    if explain.teaching() and "Advanced" in groups:  # presenter mode: no advanced widgets,
        remembered = st.session_state.setdefault(VALUES, {})  # their last values still apply
        for p, scope, default in groups["Advanced"]:
            value = remembered.get(wkey(scope, p.name), p.default if default is None else default)
            out.setdefault(scope, {})[p.name] = value
        order.remove("Advanced")
    for g in order:
        with st.expander(g, expanded=g in expanded):
            cols = st.columns(2)
            for i, (p, scope, default) in enumerate(groups[g]):
                with cols[i % 2]:
                    out.setdefault(scope, {})[p.name] = param_widget(p, scope, default)
    return out


# ----- URL query parameters --------------------------------------------------------------------
def _remember(key: str, value: Any) -> None:
    st.session_state.setdefault(VALUES, {})[key] = value
    st.session_state[key] = value


def _classes(method: str, data: str) -> list[tuple[type, str]]:
    out: list[tuple[type, str]] = [
        (METHODS[method].Config, method_scope(method)),
        (params.TrainConfig, train_scope(method)),
    ]
    if DATASETS[data].Config is not None:
        out.append((DATASETS[data].Config, data_scope(data)))
    return out


def apply_query_params(qp: dict[str, str]) -> list[str]:
    """Preset the form from `qp` (declared names); returns warnings for values that are bad
    (those fall back to the default) or unknown."""
    warnings: list[str] = []
    remembered = st.session_state.setdefault(VALUES, {})
    data = remembered.get("w.data", DEFAULT_DATA)
    method = remembered.get("w.method", DEFAULT_METHOD)
    if "data" in qp:
        if qp["data"] in DATASETS:
            data = qp["data"]
            _remember("w.data", data)
        else:
            warnings.append(
                f"data={qp['data']!r} is not a dataset (available: "
                f"{', '.join(DATASETS)}); showing {data}"
            )
    if "method" in qp:
        if qp["method"] in METHODS:
            method = qp["method"]
            _remember("w.method", method)
        else:
            warnings.append(
                f"method={qp['method']!r} is not a method (available: "
                f"{', '.join(METHODS)}); showing {method}"
            )
    known = {}
    for cls, scope in _classes(method, data):
        for p in params.describe(cls):
            known[p.name] = (cls, scope, p)
    if own_data.LINK_QUERY in qp:
        try:
            own_data.apply_link(qp[own_data.LINK_QUERY])
        except ValueError as e:
            warnings.append(f"{e}: ignored")
    # steps=auto is stop=auto; a number of steps without a stop is exactly that many (the CLI's
    # reading, params.expand_steps)
    qp = params.expand_steps(qp) if "steps" in known else dict(qp)
    for name, text in qp.items():
        if name in RESERVED:
            continue
        if name not in known:
            warnings.append(f"unknown parameter {name!r} in the link, ignored")
            continue
        cls, scope, p = known[name]
        try:
            value = params.parse_value(p, text)
            params.build(cls, {name: value})  # bounds and choices, one value at a time
        except ValueError as e:
            warnings.append(f"{e}: using the default {p.default!r}")
            _remember(wkey(scope, name), coerce(p, p.default))
            continue
        _remember(wkey(scope, name), coerce(p, value))
        st.session_state.get(DEFAULTS_SHOWN, {}).pop(wkey(scope, name), None)  # the link's choice
    return warnings


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def setup_query(setup: Setup) -> dict[str, str]:
    """The query string of a setup: method, data, and every value that differs from its default
    (declared defaults, the method's training defaults)."""
    qp = {"method": setup.method, "data": setup.data}
    if explain.teaching():
        qp[explain.QUERY] = "on"
    drawn = own_data.link_points() if setup.data_file else None
    if drawn:
        qp[own_data.LINK_QUERY] = drawn
    spec = setup.dataset.spec if setup.dataset is not None else None
    base_train = params.to_dict(train_config(setup.method, spec=spec))
    base_method = params.to_dict(method_config(setup.method, spec=spec))
    for cls, values, defaults in (
        (METHODS[setup.method].Config, setup.method_values, base_method),
        (params.TrainConfig, setup.train_values, base_train),
        (DATASETS[setup.data].Config, setup.data_options, None),
    ):
        if cls is None:
            continue
        for p in params.describe(cls):
            if p.name not in values:
                continue
            default = defaults[p.name] if defaults else p.default
            if values[p.name] != default:
                qp[p.name] = format_value(values[p.name])
    if "steps" in qp and "stop" not in qp and "stop" in setup.train_values:
        qp["stop"] = format_value(setup.train_values["stop"])  # a bare number means stop=steps
    return qp


def read_query_params() -> list[str]:
    """Apply the URL's parameters when they are new to this session (a pasted link, a switch
    from another page with a setup); not the ones this page wrote itself."""
    qp = {k: st.query_params[k] for k in st.query_params}
    if qp and qp != st.session_state.get(QP_LAST):
        st.session_state[QP_LAST] = qp
        return apply_query_params(qp)
    return []


def write_query_params(qp: dict[str, str]) -> None:
    if {k: st.query_params[k] for k in st.query_params} != qp:
        st.query_params.from_dict(qp)
    st.session_state[QP_LAST] = qp


def share_link(qp: dict[str, str]) -> None:
    base = (st.context.url or "").rstrip("/") or ""
    st.caption("Link to this setup (paste it to reproduce the form):")
    st.code(f"{base}/?{urlencode(qp)}", language=None, wrap_lines=True)
    note = own_data.link_note()
    if note:
        st.caption(f":material/info: {note}")


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
    if info.upload and info.kind == "points" and own_data.drawing_chosen():
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


DEFAULTS_SHOWN = "genlab.form.defaults"  # widget key -> the data-aware default it was seeded with


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
                _remember(key, coerce(p, default))
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


def executor_select() -> str:
    """Where the run trains: here (local threads) or on Ray (GENLAB_RAY_ADDRESS); Ray is offered
    only when it is installed."""

    ok = ray_available()
    if not ok:
        st.session_state[EXECUTOR_KEY] = "local"
    choice = st.selectbox(
        "Executor",
        EXECUTORS,
        key=EXECUTOR_KEY,
        disabled=not ok,
        format_func=lambda e: "local (this server)" if e == "local" else f"ray ({ray_address()})",
        help="ray: the run trains on the Ray cluster of GENLAB_RAY_ADDRESS (a local Ray "
        "instance when unset) and is shown here like any other.",
    )
    if not ok:
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
            st.switch_page(common.PAGE_FILES["live"], query_params={"run": run.id})


RUN_NAME_KEY = "genlab.run_name"


def start_run(setup: Setup, name: str = "") -> Run:
    """Validate and launch (ValueError with every problem when the setup is not valid, or when
    this session may not start runs: the read-only check is made here, on the server)."""
    if not common.can_control():
        raise ValueError(f"{common.READONLY_NOTE} Starting runs is locked.")
    name = clean_name(name)
    cls = Run
    if st.session_state.get(EXECUTOR_KEY, "local") == "ray":
        cls = RayRun
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
