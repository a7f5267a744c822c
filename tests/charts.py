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
    for c in at.get("bidi_component"):  # a components-v2 element
        if c.proto.component_name.endswith(LIVE_COMPONENT):
            data = json.loads(c.proto.json)
            if "spec" in data:  # not livechart.preload's element
                out.append(Chart(c.key, data["spec"]))
    return out
