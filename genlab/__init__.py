"""genlab: an interactive lab for training generative models (library part, no streamlit)."""

__version__ = "0.1.0"
