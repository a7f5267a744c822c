"""Runs: the loop in a worker thread, the process-wide registry, the on-disk store."""

from genlab.runs.build import build_method, resolve_device
from genlab.runs.registry import REGISTRY, RunRegistry
from genlab.runs.run import ENDED, STATES, Run, RunSnapshot
from genlab.runs.store import RunDir, RunStore, genlab_home

__all__ = [
    "ENDED",
    "REGISTRY",
    "STATES",
    "Run",
    "RunDir",
    "RunRegistry",
    "RunSnapshot",
    "RunStore",
    "build_method",
    "genlab_home",
    "resolve_device",
]
