"""The "Inside the model" section of the live view (issue #6): what the nets do, drawn live.

Dispatch by data kind: 2D points go to `inside_points` (discriminator heatmap, generator manifold,
gradient arrows, VAE posterior), the other kinds to `inside_kinds` (traversals, reconstructions,
per-step and per-character scores).
"""

from __future__ import annotations

from genlab.ui.common import DiskRun


def panel(run, every: float | None) -> None:
    """Called by genlab.ui.live.live_view below the curves and samples."""
    kind = run.data.spec.kind if not isinstance(run, DiskRun) else run.info["spec"]["kind"]
    from genlab.methods import METHODS
    from genlab.ui import inside_flows  # its views join inside_kinds' choice

    if kind == "points" and "process" in METHODS[run.method_name].inside:
        inside_flows.panel_points(run, every)
    elif kind == "points":
        from genlab.ui import inside_points

        inside_points.panel(run, every)
    else:
        from genlab.ui import inside_kinds

        inside_kinds.panel(run, every)
