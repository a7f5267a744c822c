"""The layers of genlab, read from the code's imports (every import statement, in functions and
under TYPE_CHECKING too): no import cycles, each module imports only its own layer and those
below it, streamlit only in genlab/ui/, and nothing below ui/ imports it. docs/architecture.md
draws the same layers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "genlab"

# lowest first: a module may import modules of its own layer and of the layers below
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("genlab", "genlab.params", "genlab.limits")),
    ("data", ("genlab.data",)),
    ("methods", ("genlab.methods",)),
    ("metrics", ("genlab.metrics",)),
    (
        "figures",
        (
            "genlab.figures",
            "genlab.figures.png",
            "genlab.figures.curves",
            "genlab.figures.plots",
            "genlab.figures.replay",
        ),
    ),  # fmt: skip
    ("kinds", ("genlab.kinds",)),
    ("runs", ("genlab.runs",)),
    ("views", ("genlab.views",)),
    ("view figures", ("genlab.figures.inside", "genlab.figures.flows")),
    ("entry points", ("genlab.api", "genlab.cli", "genlab.cli_commands", "genlab.__main__")),
    ("ui", ("genlab.ui",)),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The genlab modules `path` imports, and the top-level names of the others."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:  # `from genlab.runs import sampling` names a module
                sub = f"{node.module}.{a.name}"
                out.add(sub if sub in known else node.module)
    return out


def layer_of(module: str) -> int:
    best, found = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best:
                best, found = len(p), i
    assert found is not None, f"{module} is in no layer: add it to LAYERS"
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: {i for i in imports(p, known) if i in known} - {m} for m, p in known.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_each_module_imports_only_its_layer_and_those_below():
    g = graph()
    upward = [
        f"{m} ({LAYERS[layer_of(m)][0]}) imports {i} ({LAYERS[layer_of(i)][0]})"
        for m, deps in g.items()
        for i in sorted(deps)
        if layer_of(i) > layer_of(m)
    ]
    assert upward == []


def test_streamlit_only_in_ui():
    known = modules()
    users = sorted(m for m, p in known.items() if "streamlit" in imports(p, known))
    assert users and all(m.startswith("genlab.ui") for m in users), users


def test_importing_everything_below_ui_leaves_streamlit_out():
    below = [m for m in modules() if not m.startswith("genlab.ui") and m != "genlab.__main__"]
    code = f"import sys\nfor m in {below!r}: __import__(m)\nprint('streamlit' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
