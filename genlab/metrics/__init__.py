"""Quality metrics: pure functions with known-answer tests, one file per data kind.

`evaluate(method, data)` is what the runner calls every `eval_every` steps; `metric_info` names
each key for the UI (label, which direction is better, a line of help).
"""

from genlab.metrics.common import density_coverage, frechet_distance, mmd2, sliced_wasserstein
from genlab.metrics.evaluation import evaluate
from genlab.metrics.info import metric_info

__all__ = [
    "density_coverage",
    "evaluate",
    "frechet_distance",
    "metric_info",
    "mmd2",
    "sliced_wasserstein",
]
