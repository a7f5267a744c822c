"""Where a run trains, by name:

- `local`: a thread of this process (`runs.run.Run`); the CLI's default.
- `process`: a child process of this one (`runs.process_exec.ProcessRun`); the app's default, so
  that the viewers' page scripts in the server do not take the Python interpreter lock from the
  training loop.
- `ray`: a Ray actor, on this machine or a cluster (`runs.ray_exec.RayRun`; optional).

All three take the same constructor and controls and are read the same way.
"""

from __future__ import annotations

import importlib.util
from typing import Any

EXECUTORS = ("local", "process", "ray")
APP_DEFAULT = "process"
INSTALL_HINT = "pip install -r requirements-ray.txt"


def ray_available() -> bool:
    """Whether the optional Ray dependency is installed (without importing it)."""
    return importlib.util.find_spec("ray") is not None


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
    if name == "process":
        from genlab.runs.process_exec import ProcessRun

        return ProcessRun
    if name == "ray":
        from genlab.runs.ray_exec import RayRun

        return RayRun
    from genlab.runs.run import Run

    return Run
