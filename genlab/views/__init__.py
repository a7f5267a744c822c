"""What the inside-the-model views compute, no streamlit: on a CPU copy of a run's weights (model),
the 2D plane views (points), the views of images, sequences and text (images, sequences, text),
and the sampling process of diffusion and flow models and a transformer's attention (flows)."""
