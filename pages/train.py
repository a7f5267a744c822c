"""Train: pick a dataset and a method, set its hyperparameters (widgets generated from the declared
params, preset from the URL), and start a background run."""

import streamlit as st

from genlab.ui import forms, links

st.title("Train a generative model")
for warning in links.read_query_params():
    st.warning(warning, icon=":material/link_off:")
# Start sits above the settings: on a phone the form is several screens long
start_bar = st.container(border=True)

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
query = links.setup_query(setup)
links.write_query_params(query)

with start_bar:
    forms.start_section(setup)
with method_col:
    links.share_link(query)
