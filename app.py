"""genlab: train generative models in the browser. Run with `streamlit run app.py`.

The entry point only configures the page, the shared sidebar and the navigation; each page is a
thin script in pages/ and the logic lives in genlab.ui (widgets, live panels) and genlab (training).
"""

import streamlit as st

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
        st.Page("pages/live.py", title="Live run", icon=":material/monitoring:", url_path="live"),
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
