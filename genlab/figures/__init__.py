"""Figures, no streamlit: PNG pictures (png), run curves (curves), samples against the data
(plots), and the figures of the inside-the-model views (inside, flows) and of a replay (replay)."""
