"""genlab: train generative models in the browser. Run with `streamlit run app.py`.

The entry point only configures the page, the shared sidebar and the navigation; each page is a
thin script in pages/ and the logic lives in genlab.ui (widgets, live panels) and genlab (training).

This file has two roles. `streamlit run app.py`, with a Streamlit that has st.App, first imports
it as a module to find its server, `app`: an st.App whose lifespan imports what the pages need
and warms torch up before the server answers, so the first visitor does not wait for it. Then
each browser session runs it as the page script, under the name "__main__" (as every Streamlit
runs it).
"""

import streamlit as st

if __name__ != "__main__":  # imported by `streamlit run` (or uvicorn): the server
    import contextlib

    @contextlib.asynccontextmanager
    async def _lifespan(_app):
        """Before the server answers its health check: without this the first visitor's Train
        page paid for the pages' imports (torch, scipy, streamlit's elements: 2.1 s on a 2-core
        machine) and torch's first optimiser (1.1 s) in a thread that fought the page's script
        for the GIL: 8-9.5 s to show Start on a cold server, 3.3 s with it. (Imported here,
        after the runtime started, so their st.cache_data use the runtime's storage.)
        At shutdown (SIGTERM, Ctrl-C): the live runs stop and checkpoint. This server ends by
        re-raising the signal, so the registry's atexit hook would not run: paused runs stayed
        `paused` on disk."""
        from genlab.runs import REGISTRY
        from genlab.ui import common, compare, forms, generate, links, live, runs_page  # noqa: F401

        common.warm_torch()
        yield
        REGISTRY.shutdown()

    from genlab.ui import livechart  # no st.cache_data in it: safe before the runtime starts

    app = st.App(__file__, lifespan=_lifespan, routes=livechart.asset_routes())
else:
    from genlab.ui import common

    st.set_page_config(page_title="genlab", page_icon=":material/science:", layout="wide")
    common.startup()

    page = st.navigation(
        [
            st.Page(
                "pages/train.py",
                title="Train",
                icon=":material/model_training:",
                url_path="train",
                default=True,
            ),
            st.Page(
                "pages/live.py", title="Live run", icon=":material/monitoring:", url_path="live"
            ),
            st.Page("pages/runs.py", title="Runs", icon=":material/folder_open:", url_path="runs"),
            st.Page(
                "pages/compare.py",
                title="Compare",
                icon=":material/compare_arrows:",
                url_path="compare",
            ),
            st.Page(
                "pages/generate.py",
                title="Generate",
                icon=":material/auto_awesome:",
                url_path="generate",
            ),
        ]
    )
    common.sidebar()
    page.run()
