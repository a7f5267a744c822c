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


def test_readme_quick_start_order_and_the_ci_command():
    """A venv first, the CPU torch before the command that would pull the CUDA build, and the
    README's test command is the one .ci/run runs."""
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    venv = quick.index("python3 -m venv")
    cpu_torch = quick.index("download.pytorch.org/whl/cpu")
    app = quick.index("pip install -r requirements.txt && streamlit run app.py")
    tests = quick.index("pip install -r requirements-dev.txt && python -m pytest -q")
    assert venv < cpu_torch < app < tests
    ci = (ROOT / ".ci" / "run").read_text()  # pip's -q / python -m pip: the same command
    assert "-r requirements-dev.txt && python -m pytest -q" in ci
    assert "GENLAB_HOME" in quick and "--server.address 127.0.0.1" in quick
