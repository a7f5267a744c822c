"""Where a run trains, by name:

- `local`: a thread of this process (`runs.run.Run`); the CLI's default.
- `process`: a child process of this one (`runs.process_exec.ProcessRun`); the app's default, so
  that the viewers' page scripts in the server do not take the Python interpreter lock from the
  training loop.
- `ray`: a Ray actor, on this machine or a cluster (`runs.ray_exec.RayRun`; optional).

All three take the same constructor and controls and are read the same way.
"""

from __future__ import annotations

from typing import Any

from genlab.runs.process_exec import ProcessRun
from genlab.runs.ray_exec import INSTALL_HINT, RayRun, ray_available
from genlab.runs.run import Run

__all__ = ["APP_DEFAULT", "EXECUTORS", "INSTALL_HINT", "available", "check_executor", "run_class"]

EXECUTORS = ("local", "process", "ray")
APP_DEFAULT = "process"
_CLASSES = {"local": Run, "process": ProcessRun, "ray": RayRun}


def available() -> tuple[str, ...]:
    """The executors that can be used here (ray only when it is installed)."""
    return tuple(e for e in EXECUTORS if e != "ray" or ray_available())


def check_executor(name: str) -> None:
    """ValueError unless `name` is an executor that can be used here."""
    if name not in EXECUTORS:
        raise ValueError(f"executor {name!r} is not one of {', '.join(EXECUTORS)}")
    if name == "ray" and not ray_available():
        raise ValueError(f"executor 'ray' needs Ray: {INSTALL_HINT}")


def run_class(name: str) -> Any:
    """The run class of executor `name`: the same constructor, controls and readers."""
    check_executor(name)
    return _CLASSES[name]
