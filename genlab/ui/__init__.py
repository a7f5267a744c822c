"""Streamlit helpers: the only part of genlab that imports streamlit.

common  start-up, shared sidebar, run lookup (live or on disk), catalogue, session state
forms   widgets generated from declared hyperparameters; the Train page's parts; URL presets
live    the live run view: status and controls, curves, samples (st.fragment(run_every=...))
"""

import os

# Streamlit runs every script and fragment rerun in a fresh, short-lived thread. When such a thread
# has run a parallel torch op (loading a dataset, drawing a sample grid) and exits, GNU OpenMP's
# default busy-waiting makes the training thread's parallel regions crawl: measured here, a GAN on
# ring8 fell from ~25 to ~1 step/s after one dataset load in an exited thread. Passive waiting
# removes that (and was no slower headless). It must be set before torch loads libgomp, which the
# app does right after importing this package; a value already in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
