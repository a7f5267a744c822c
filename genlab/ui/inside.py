"""The "Inside the model" section of the live view (issue #6): what the nets do, drawn live.

A kind whose views draw on the data's own plane (`KindView.canvas`: 2D points) goes to
`inside_points` (discriminator heatmap, generator manifold, gradient arrows, VAE posterior), or to
`inside_flows` for methods that declare the "process" view (diffusion, flows); the other kinds to
`inside_kinds` (traversals, reconstructions, per-step and per-character scores), which
`inside_flows` joins with its own views.
"""

from __future__ import annotations

from genlab.methods import METHODS
from genlab.runs import AnyRun
from genlab.ui import inside_flows, inside_kinds, inside_points
from genlab.ui.kinds import view_of


def panel(run: AnyRun, every: float | None) -> None:
    """Called by genlab.ui.live.live_view below the curves and samples."""
    if not view_of(run.kind).canvas:
        inside_kinds.panel(run, every)
    elif "process" in METHODS[run.method_name].inside:
        inside_flows.panel_points(run, every)
    else:
        inside_points.panel(run, every)
