"""Runs: the loop in a worker thread, the process-wide registry, the on-disk store."""

from genlab.runs.build import build_method, resolve_device
from genlab.runs.protocol import ENDED, STATES, AnyRun, RunSnapshot
from genlab.runs.registry import REGISTRY, RunRegistry
from genlab.runs.run import Run
from genlab.runs.saved import SavedRun, read_saved_run
from genlab.runs.store import RunDir, RunStore, genlab_home

__all__ = [
    "AnyRun",
    "ENDED",
    "REGISTRY",
    "STATES",
    "Run",
    "RunDir",
    "RunRegistry",
    "RunSnapshot",
    "RunStore",
    "SavedRun",
    "build_method",
    "genlab_home",
    "read_saved_run",
    "resolve_device",
]
