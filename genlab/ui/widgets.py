"""Widgets generated from declared hyperparameters, one per `genlab.params.Param`.

Nothing here is written per method: int/float -> number_input, log-scale floats -> scientific
format, str choices -> selectbox, bool -> toggle. A widget's value is remembered per scope
(method, training settings, dataset options, a live run) across pages that do not draw it. The
Train page's form is genlab.ui.forms; its link, genlab.ui.links.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from genlab import params
from genlab.ui import explain

VALUES = "genlab.form.values"  # widget key -> last value, survives pages that do not draw it
DEFAULTS_SHOWN = "genlab.form.defaults"  # widget key -> the data-aware default it was seeded with


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


def remember(key: str, value: Any) -> None:
    """Set a widget's value before it is drawn, and remember it for the pages that do not."""
    st.session_state.setdefault(VALUES, {})[key] = value
    st.session_state[key] = value


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)
