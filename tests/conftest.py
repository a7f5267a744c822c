"""Shared test settings."""

import torch

# One intra-op thread: the tests start background runs beside the main thread, and OpenMP's
# spinning threads then fight over the 2 cores (measured here: a classifier that trains in 15 s on
# one thread took 220 s on two under load). Timing never matters in tests; benchmarks set their own.
torch.set_num_threads(1)
