"""The charts an AppTest page holds, whichever way they are drawn: `st.plotly_chart` (static
pages) or the live page's in-place charts (genlab.ui.livechart, a Streamlit component)."""

from __future__ import annotations

import json
from dataclasses import dataclass

LIVE_COMPONENT = "genlab_livechart"


@dataclass(frozen=True)
class Chart:
    key: str | None
    spec: str  # the figure as JSON (what st.plotly_chart's proto.spec holds)

    @property
    def figure(self) -> dict:
        return json.loads(self.spec)


def charts(at) -> list[Chart]:
    out = [Chart(c.key, c.proto.spec) for c in at.get("plotly_chart")]
    for c in at.get("component_instance"):
        if c.proto.component_name.endswith(LIVE_COMPONENT):
            out.append(Chart(c.key, json.loads(c.proto.json_args)["spec"]))
    return out
