"""Live run: `?run=<id>` follows one run (live in this server, or read back from disk); without it,
pick a run."""

import streamlit as st

from genlab.ui import live

run_id = st.query_params.get("run")
if run_id:
    live.live_view(run_id)
else:
    live.run_picker()
