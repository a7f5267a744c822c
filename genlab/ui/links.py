"""A Train page setup as a link: the same declarations that make the widgets parse URL query
parameters, so `/?method=vae&data=moons&beta=2.5` presets the form, and the page keeps the URL
in sync (method, data and every value that differs from its default): a link reproduces a setup.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from genlab import params
from genlab.data import DATASETS
from genlab.methods import METHODS
from genlab.runs.build import method_config, train_config
from genlab.ui import explain, own_data
from genlab.ui.forms import DEFAULT_DATA, DEFAULT_METHOD, Setup
from genlab.ui.widgets import (
    DEFAULTS_SHOWN,
    VALUES,
    coerce,
    data_scope,
    format_value,
    method_scope,
    remember,
    train_scope,
    wkey,
)

QP_LAST = "genlab.form.qp"  # the query string this page last wrote (or applied)
RESERVED = ("method", "data", explain.QUERY, own_data.LINK_QUERY)


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
    chosen = {"data": DEFAULT_DATA, "method": DEFAULT_METHOD}
    for key, known_names, noun in (("data", DATASETS, "dataset"), ("method", METHODS, "method")):
        chosen[key] = remembered.get(f"w.{key}", chosen[key])
        if key not in qp:
            continue
        if qp[key] in known_names:
            chosen[key] = qp[key]
            remember(f"w.{key}", chosen[key])
        else:
            warnings.append(
                f"{key}={qp[key]!r} is not a {noun} (available: "
                f"{', '.join(known_names)}); showing {chosen[key]}"
            )
    data, method = chosen["data"], chosen["method"]
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
            remember(wkey(scope, name), coerce(p, p.default))
            continue
        remember(wkey(scope, name), coerce(p, value))
        st.session_state.get(DEFAULTS_SHOWN, {}).pop(wkey(scope, name), None)  # the link's choice
    return warnings


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
    url = f"{base}/?{urlencode(qp)}"
    st.caption("Link to this setup (copy it to share or to reproduce the form):")
    # a link, not st.code: st.code's 1.5 MB syntax highlighter held back the Train page's first
    # paint (Start 0.15-0.7 s later on this 2-core machine)
    st.markdown(f"[`{url}`]({url})")
    note = own_data.link_note()
    if note:
        st.caption(f":material/info: {note}")
