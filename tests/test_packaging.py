"""genlab is an installable package whose dependencies are requirements.txt's."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _requirements(path: Path) -> list[str]:
    out = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            out.append(re.sub(r"\s+", "", line))
    return out


def test_project_dependencies_are_requirements_txt():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == _requirements(ROOT / "requirements.txt")
    assert project["optional-dependencies"]["ray"] == _requirements(ROOT / "requirements-ray.txt")


def test_console_script_is_the_cli():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    module, func = project["scripts"]["genlab"].split(":")
    import importlib

    assert callable(getattr(importlib.import_module(module), func))
