"""genlab: an interactive lab for training generative models (library part, no streamlit).

From a notebook: `genlab.train(...)`, `genlab.start(...)`, `genlab.load(path)` and
`genlab.compare([a, b])` (genlab/api.py). They are imported on first use, so `import genlab`
stays as light as this file.
"""

import importlib

__version__ = "0.1.0"

_API = ("train", "start", "load", "compare")


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module("genlab.api"), name)
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
