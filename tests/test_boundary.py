"""The library runs headless: streamlit stays out of genlab.runs and genlab.methods."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_library_does_not_import_streamlit():
    code = (
        "import sys, genlab.runs, genlab.methods, genlab.data, genlab.metrics, genlab.cli, "
        "genlab.viz; print('streamlit' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_only_genlab_ui_imports_streamlit_in_source():
    offenders = []
    for path in (ROOT / "genlab").rglob("*.py"):
        if "ui" in path.relative_to(ROOT / "genlab").parts[:1]:
            continue
        text = path.read_text()
        if "import streamlit" in text or "from streamlit" in text:
            offenders.append(str(path))
    assert offenders == []


def test_no_pickle_loading_anywhere():
    """Checkpoints are safetensors + JSON: no torch.load / pickle.load in the code."""
    bad = []
    for path in list((ROOT / "genlab").rglob("*.py")) + list((ROOT / "pages").rglob("*.py")):
        text = path.read_text()
        for needle in ("torch.load(", "pickle.load", "allow_pickle=True"):
            if needle in text:
                bad.append(f"{path.name}: {needle}")
    assert bad == []
