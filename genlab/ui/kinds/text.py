"""Text: generated strings in monospace, copies of training items marked."""

from __future__ import annotations

import streamlit as st

from genlab.data import load_dataset
from genlab.data.text import decode
from genlab.runs import AnyRun, sampling
from genlab.ui.common import monospace
from genlab.ui.kinds.base import KindView, download, real_of, register


@st.cache_resource(show_spinner=False, max_entries=8)
def _training_strings(dataset: str, data_file: str | None, n: int) -> frozenset[str]:
    ds = load_dataset(dataset, data_file)
    return frozenset(decode(row[1:], ds.spec.vocab) for row in ds.x_train.tolist())


def show_text_samples(run: AnyRun, items: list[str], step: int) -> None:
    """Generated strings, one per line in two monospace columns; `*` marks a string that is
    already in the training set (a copy, not a new sample)."""
    real = real_of(run)
    seen: frozenset[str] = frozenset()
    if real is not None:
        seen = _training_strings(run.dataset_name, run.data_file, real.spec.n_train)
    lines = [(s or "(empty)") + (" *" if s in seen else "") for s in items]
    half = -(-len(lines) // 2)
    cols = st.columns(2)
    for col, chunk in zip(cols, (lines[:half], lines[half:])):
        if chunk:
            with col:
                monospace("\n".join(chunk))
    if real is not None:
        novel = sum(1 for s in items if s not in seen)
        st.caption(f"Step {step:,}: {novel} of {len(items)} are new; * = in the training set.")


@register
class TextView(KindView):
    name = "text"
    generate_n = (20, 200)
    sample_options = ("temperature", "top_k", "prefix")
    inside_views = (
        ("heat", "Character probabilities", ("text",)),
        ("novel", "New or copied", ("text",)),
        ("attention", "Attention", ("text", "attention")),
    )

    def summary(self, spec):
        return f"{len(spec.vocab) - 1} characters, up to {spec.shape[0] - 2} per item"

    def preview(self, ds, data_file, options):
        lines = [decode(row[1:], ds.spec.vocab) for row in ds.x_train[:12]]
        st.text("\n".join(lines))  # not st.code: its 1.5 MB highlighter delays the Train page

    def live(self, run, payload, step, key):
        show_text_samples(run, payload, step)

    def latest(self, sample, real, *, height, max_text, key):
        lines = list(sample.payload)[:max_text]
        monospace("\n".join(lines) or "(empty)", height=height)
        st.caption(f"step {sample.step}")

    def generated(self, lo, x, name, key, *, nrow=None, labels=None, color=None, color_title=""):
        lines = sampling.to_text(lo.method, x)
        st.code("\n".join(lines) or "(nothing)", language=None)
        download("TXT", "\n".join(lines) + "\n", f"{name}.txt", "text/plain", key)
