"""The Runs page: every run (this process's and the disk's) in one table, and for the selected run:
open its live view, resume it with more steps, delete it, download its checkpoint, metrics and
latest samples. Streamlit only here; the rows and the downloads come from `genlab.runs.catalogue`.
"""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from genlab.runs import catalogue, listing
from genlab.runs.store import NAME_MAX, RunStore
from genlab.ui import common
from genlab.ui.compare import live_link, show_sample

LIVE_REFRESH_S = 3.0
FLASH_S = 8.0


def _table(rows: list[catalogue.RunRow]) -> None:
    df = pd.DataFrame(catalogue.table_rows(rows))
    cfg = {
        "open": st.column_config.LinkColumn(
            "open", display_text="live view", width="small", help="Open the run's live page"
        ),
        "progress": st.column_config.ProgressColumn(
            "progress", min_value=0.0, max_value=1.0, format="percent", width="small"
        ),
        "hyperparameters": st.column_config.TextColumn(
            "hyperparameters",
            help="Settings that differ from the method's defaults",
            width="medium",
        ),
        "last metrics": st.column_config.TextColumn("last metrics", width="large"),
        "id": st.column_config.TextColumn("id", width="small"),
        "name": st.column_config.TextColumn("name", help="Your name for the run (rename below)"),
    }
    st.dataframe(
        df,
        hide_index=True,
        column_config=cfg,
        key="runs_table",
        on_select=_picked,
        selection_mode="single-row",
        column_order=[
            "name",
            "status",
            "method",
            "dataset",
            "hyperparameters",
            "steps",
            "progress",
            "time",
            "last metrics",
            "created",
            "open",
            "id",
        ],
    )


def _picked() -> None:
    """Table selection -> the run picker below (so the two always agree)."""
    sel = st.session_state.runs_table.selection.rows
    ids = st.session_state.get("runs_ids", [])
    if sel and sel[0] < len(ids):
        st.session_state.runs_pick = ids[sel[0]]


def _flash(kind: str, text: str) -> None:
    """A message that outlives the panel's own refreshes for a few seconds."""
    st.session_state.runs_flash = (kind, text, time.time() + FLASH_S)


def _ask_delete(run_id: str) -> None:
    if common.require_control("deleting"):
        st.session_state.runs_confirm = run_id


def _cancel_delete() -> None:
    st.session_state.pop("runs_confirm", None)


def _do_delete(row: catalogue.RunRow) -> None:
    st.session_state.pop("runs_confirm", None)
    if not common.require_control("deleting"):  # a forged click must not delete
        return
    try:
        catalogue.delete_run(row, RunStore())
    except (ValueError, OSError) as e:
        _flash("error", common.public_text(str(e)))
        return
    st.session_state.pop("runs_pick", None)
    _flash("success", f"Deleted {row.id}.")


def _do_resume(row: catalogue.RunRow, steps_key: str, lr_key: str | None = None) -> None:
    """Resume (callback); with `lr_key`, every learning rate times the factor under that key."""
    if not common.require_control("resuming"):
        return
    steps = int(st.session_state[steps_key])
    try:
        if lr_key is None:
            catalogue.resume_run(row, steps)
        else:
            if row.live:
                raise ValueError(f"run {row.id} is already {row.status}")
            scale = float(st.session_state[lr_key])
            common.resume_run(row.id, steps, lr_scale=scale)
    except ValueError as e:
        _flash("error", common.public_text(str(e)))
        return
    lower = f" with every learning rate times {scale:g}" if lr_key else ""
    _flash("success", f"Resumed {row.id}: training up to step {steps}{lower}.")


# Button actions are callbacks: they run before the panel redraws, so it shows their outcome.
def _do_rename(row: catalogue.RunRow, key: str) -> None:
    if not common.require_control("renaming"):
        return
    try:
        name = catalogue.rename_run(row, st.session_state[key])
    except (ValueError, OSError) as e:
        _flash("error", common.public_text(str(e)))
        return
    _flash("success", f"Named the run “{name}”." if name else "Removed the run's name.")


def _rename(row: catalogue.RunRow) -> None:
    key = f"runs_name_{row.id}"
    if key not in st.session_state:
        st.session_state[key] = row.name
    locked = not common.can_control()
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    c1.text_input(
        "Name",
        key=key,
        max_chars=NAME_MAX,
        placeholder="e.g. hinge loss, slower D",
        disabled=locked,
        help="Your name for the run, shown wherever runs are listed (kept in its run.json)",
    )
    c2.button(
        "Rename",
        key="runs_rename",
        icon=":material/edit:",
        on_click=_do_rename,
        args=(row, key),
        disabled=locked,
        width="stretch",
    )


def _delete(row: catalogue.RunRow) -> None:
    if not common.can_control():
        st.button("Delete…", disabled=True, key="runs_delete", icon=":material/delete:")
        common.readonly_note("Deleting")
        return
    if row.live:
        st.button(
            "Delete",
            disabled=True,
            key="runs_delete",
            icon=":material/delete:",
            help="Stop the run before deleting it",
        )
        return
    if st.session_state.get("runs_confirm") != row.id:
        st.button(
            "Delete…",
            key="runs_delete",
            icon=":material/delete:",
            on_click=_ask_delete,
            args=(row.id,),
        )
        return
    st.warning(
        f"Delete run `{row.id}` and all its files (checkpoint, metrics, samples)? "
        "This cannot be undone."
    )
    c1, c2 = st.columns(2)
    c1.button(
        "Yes, delete", type="primary", key="runs_delete_yes", on_click=_do_delete, args=(row,)
    )
    c2.button("Cancel", key="runs_delete_no", on_click=_cancel_delete)


def _resume(row: catalogue.RunRow) -> None:
    if not row.resumable:
        why = (
            "it is live"
            if row.live
            else "it has no checkpoint"
            if not row.has_checkpoint
            else f"it is {row.status}"
        )
        st.caption(f"Resume: not available ({why}).")
        return
    locked = not common.can_control()
    diverged = row.status == "failed" and "diverged" in (row.error or "")
    c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
    key = f"runs_resume_steps_{row.id}"
    c1.number_input(
        "Train up to step",
        min_value=row.step + 1,
        max_value=10_000_000,
        value=max(row.step + 1, catalogue.default_resume_steps(row)),
        step=max(1, row.steps // 10),
        key=key,
        help="The new total: training continues from the last checkpoint "
        f"(step {row.step}) in the same folder.",
        disabled=locked,
    )
    c2.button(
        "Resume",
        key="runs_resume",
        icon=":material/play_arrow:",
        type="secondary" if diverged else "primary",
        on_click=_do_resume,
        args=(row, key),
        disabled=locked,
        width="stretch",
    )
    # after a divergence above all: the same checkpoint, every learning rate scaled down
    c1, c2 = st.columns([1, 1], vertical_alignment="bottom")
    lr_key = f"runs_resume_lr_{row.id}"
    c1.number_input(
        "Learning-rate factor",
        min_value=0.001,
        max_value=1.0,
        value=0.5,
        step=0.1,
        format="%.3f",
        key=lr_key,
        help="Every learning rate (lr, lr_g, lr_d) is multiplied by this; the change is recorded "
        "in the run's history of live changes.",
        disabled=locked,
    )
    c2.button(
        "Resume with lower lr",
        key="runs_resume_lower",
        icon=":material/trending_down:",
        type="primary" if diverged else "secondary",
        on_click=_do_resume,
        args=(row, key, lr_key),
        disabled=locked,
        width="stretch",
    )
    if locked:
        common.readonly_note("Resuming")


def _downloads(row: catalogue.RunRow) -> None:
    st.caption("Download")
    c1 = c2 = c3 = st.container(horizontal=True)
    if row.has_checkpoint:
        c1.download_button(
            "Checkpoint .zip",
            lambda: catalogue.checkpoint_zip(row.dir),
            file_name=f"{row.id}.zip",
            mime="application/zip",
            on_click="ignore",
            key="runs_dl_ckpt",
            icon=":material/download:",
            help="run.json + the checkpoint (ckpt/last.json + its tensors): unzip into a "
            "runs folder "
            "to resume or sample it",
        )
    else:
        c1.button(
            "Checkpoint .zip", disabled=True, key="runs_dl_ckpt_off", help="No checkpoint yet"
        )
    c2.download_button(
        "Metrics .csv",
        lambda: catalogue.metrics_csv(row.dir),
        file_name=f"{row.id}-metrics.csv",
        mime="text/csv",
        on_click="ignore",
        key="runs_dl_metrics",
        icon=":material/download:",
    )
    sample = catalogue.latest_sample(row)
    if sample is not None:
        data, name, mime = catalogue.sample_download(sample, row.id)
        c3.download_button(
            f"Samples .{name.rsplit('.', 1)[1]}",
            data,
            file_name=name,
            mime=mime,
            on_click="ignore",
            key="runs_dl_samples",
            icon=":material/download:",
        )
    else:
        c3.button("Samples", disabled=True, key="runs_dl_samples_off", help="No samples yet")


def _details(row: catalogue.RunRow) -> None:
    with st.container(border=True):
        if row.corrupt:
            st.error(f"**{row.id}** cannot be read: {common.public_text(row.error or '')}")
            st.caption("Its folder is kept until you delete it.")
            _delete(row)
            return
        named = f"**{row.name}** · " if row.name else ""
        st.markdown(
            f"{named}**{row.method}** on **{row.dataset}** · `{row.id}`  \n"
            f"{row.status} · step {row.step} of "
            f"{row.steps} · {catalogue.fmt_seconds(row.elapsed_s)} · {row.hparams}"
        )
        if row.error:
            error = common.public_text(row.error)
            st.error(error.splitlines()[0] if row.status != "failed" else error)
        left, right = st.columns([3, 2])
        with left:
            live_link(row.id)
            _rename(row)
            _resume(row)
            _downloads(row)
            _delete(row)
        with right:
            show_sample(catalogue.latest_sample(row), row, height=260, max_text=12)


def _body() -> None:
    rows = listing.collect_runs(RunStore())
    if any(r.live for r in rows) != st.session_state.get("runs_ticking", False):
        # a run started (resume) or ended since the page was drawn: redraw it all, so that
        # the panel refreshes itself exactly while something is live
        st.rerun()
    flash = st.session_state.get("runs_flash")
    if flash and time.time() < flash[2]:
        (st.success if flash[0] == "success" else st.error)(flash[1])
    else:
        st.session_state.pop("runs_flash", None)
    if not rows:
        st.info("No runs yet. Start one on the Train page (or several at once on Compare).")
        return
    n_live = sum(r.live for r in rows)
    st.caption(f"{len(rows)} runs · {n_live} live")
    st.session_state.runs_ids = [r.id for r in rows]
    _table(rows)
    ids = [r.id for r in rows]
    if st.session_state.get("runs_pick") not in ids:
        wanted = st.query_params.get("run")
        st.session_state.runs_pick = wanted if wanted in ids else ids[0]
    labels = {r.id: r.label for r in rows}
    pick = st.selectbox(
        "Run",
        ids,
        key="runs_pick",
        format_func=lambda i: labels[i],
        help="Or click a row of the table",
    )
    _details(listing.find(rows, pick))


def render() -> None:
    st.title("Runs")
    live = any(r.live for r in listing.collect_runs(RunStore()))
    # a live run's status, step and metrics change: only then does the panel refresh itself
    st.session_state.runs_ticking = live
    st.fragment(run_every=LIVE_REFRESH_S if live else None)(_body)()
