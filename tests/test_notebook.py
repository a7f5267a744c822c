"""The example notebook runs top to bottom in a real kernel, and its runs land in the run store."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from genlab.runs import RunStore, listing

ROOT = Path(__file__).resolve().parents[1]


def test_the_example_notebook_runs_and_its_runs_show_on_the_runs_page(tmp_path, monkeypatch):
    home = tmp_path / "runs"
    monkeypatch.setenv("GENLAB_HOME", str(home))  # the kernel inherits the environment
    monkeypatch.setenv("GENLAB_CPU_THREADS", "1")
    nb = nbformat.read(ROOT / "examples" / "notebook.ipynb", as_version=4)
    # the kernel starts in examples/, as Jupyter starts it for a notebook opened there
    NotebookClient(
        nb, timeout=300, resources={"metadata": {"path": str(ROOT / "examples")}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    bundles = [
        o.get("data", {}) for o in outputs if o.output_type in ("execute_result", "display_data")
    ]
    assert sum("application/vnd.plotly.v1+json" in b or "text/html" in b for b in bundles) >= 2
    assert any("image/png" in b for b in bundles)  # run.show()
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "(64, 2)" in text and "library_name" in text
    assert "250/250" in text  # genlab.train's progress bar
    rows = listing.collect_runs(RunStore(home))  # what the Runs page lists
    assert sorted((r.method, r.dataset, r.status) for r in rows) == [
        ("gan", "ring8", "done"),
        ("vae", "ring8", "done"),
    ]
    for r in rows:
        assert (r.dir / "README.md").is_file()
        assert json.loads((r.dir / "run.json").read_text())["tracking"]["tensorboard"]
