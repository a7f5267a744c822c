"""Train: pick a dataset and a method, set its hyperparameters (widgets generated from the declared
params, preset from the URL), and start a background run."""

import streamlit as st

from genlab.ui import common, forms

st.title("Train a generative model")
for warning in forms.read_query_params():
    st.warning(warning, icon=":material/link_off:")

data_col, method_col = st.columns([5, 7], gap="large")
with data_col:
    st.subheader("Data")
    data, data_file, data_options, dataset = forms.dataset_section()
with method_col:
    st.subheader("Method")
    method = forms.method_section(data, dataset)
    if method is None:
        st.stop()
    spec = dataset.spec if dataset is not None else None
    method_values, train_values = forms.hyperparameter_section(method, spec)

setup = forms.Setup(method, data, data_file, method_values, train_values, data_options, dataset)
query = forms.setup_query(setup)
forms.write_query_params(query)

with method_col:
    if st.button(
        "Start training",
        type="primary",
        icon=":material/play_arrow:",
        disabled=dataset is None or not common.can_control(),
        key="start",
    ):
        try:
            run = forms.start_run(setup)
        except ValueError as e:
            st.error(f"Cannot start: {e}")
        else:
            st.switch_page(common.PAGE_FILES["live"], query_params={"run": run.id})
    if not common.can_control():
        common.readonly_note("Starting runs")
    forms.share_link(query)
