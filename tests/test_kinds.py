"""genlab.kinds: each data kind takes, stores, reads back, draws and exports its own snapshots,
and nothing outside the package branches on a kind's name for those."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data import DATASETS, load_dataset
from genlab.kinds import KINDS, kind_of
from genlab.methods import METHODS
from genlab.params import TrainConfig
from genlab.runs import RunDir
from genlab.runs.build import build_method

ROOT = Path(__file__).resolve().parents[1]
ONE_DATASET = {"points": "ring8", "images": "digits", "sequences": "sines", "text": "names"}
ONE_METHOD = {"points": "cgan", "images": "cgan", "sequences": "rgan", "text": "lstm"}


def test_every_kind_a_dataset_has_is_registered_with_its_view():
    from genlab.ui.kinds import VIEWS

    assert set(KINDS) == {info.kind for info in DATASETS.values()} == set(VIEWS)
    with pytest.raises(ValueError, match="unknown data kind 'voxels'"):
        kind_of("voxels")


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_snapshot_round_trips_through_the_run_folder_and_draws(name, tmp_path):
    kind = kind_of(name)
    data = load_dataset(ONE_DATASET[name])
    assert data.spec.kind == name
    small = {"hidden": 16} if name != "text" else {"hidden": 16, "emb_dim": 8}
    method = ONE_METHOD[name]
    assert METHODS[method].supports_data(data.spec)
    m = build_method(method, small, TrainConfig(device="cpu"), data.spec)
    payload = kind.take(m, seed=5, n=20)
    again = kind.take(m, seed=5, n=20)  # fixed noise: the same snapshot from the same seed
    if isinstance(payload, np.ndarray):
        assert np.array_equal(payload, again)
    else:
        assert payload == again
    d = RunDir(tmp_path / "r")
    d.save_sample(100, name, payload)
    [(step, path)] = d.list_samples()
    assert step == 100 and path.suffix == kind.stored_suffix
    back = RunDir.load_sample(path)
    assert kind.to_bytes(back) == kind.to_bytes(payload)
    assert Image.open(io.BytesIO(kind.png(back, kind.reference(data)))).format == "PNG"
    assert kind.export(back)  # a file's bytes, never empty
    assert (kind.frame(back, kind.reference(data)) is not None) == kind.replays
    assert (kind.lines(back) is not None) == (name == "text")


def test_conditional_snapshots_keep_their_classes():
    """Points keep each point's class as a third column; an image grid has one class per row."""
    pts = load_dataset("ring8")
    m = build_method("cgan", {"hidden": 16}, TrainConfig(device="cpu"), pts.spec)
    payload = kind_of("points").take(m, seed=0, n=40)
    assert payload.shape == (40, 3) and set(np.unique(payload[:, 2])) <= set(range(8))
    img = load_dataset("digits")
    m = build_method("cgan", {"hidden": 16}, TrainConfig(device="cpu"), img.spec)
    y = kind_of("images").snapshot_labels(m, 64)
    assert torch.equal(y, torch.arange(10).repeat_interleave(6))


def _kind_branches(path: Path) -> list[int]:
    """Lines comparing something named `kind` with a kind's name."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Compare):
            names = [
                n
                for n in [node.left, *node.comparators]
                if isinstance(n, (ast.Name, ast.Attribute))
            ]
            named_kind = any(getattr(n, "id", getattr(n, "attr", "")) == "kind" for n in names)
            consts = [c.value for c in ast.walk(node) if isinstance(c, ast.Constant)]
            if named_kind and set(consts) & set(KINDS):
                out.append(node.lineno)
    return out


@pytest.mark.parametrize(
    "module",
    [
        "genlab/runs/store.py",
        "genlab/runs/card.py",
        "genlab/runs/tracking.py",
        "genlab/runs/catalogue.py",
        "genlab/runs/run.py",
        "genlab/figures/png.py",
        "genlab/figures/replay.py",
        "genlab/cli_commands.py",
        "genlab/ui/replay.py",
        "genlab/ui/compare.py",
        "genlab/ui/kinds/base.py",
    ],
)
def test_snapshot_handling_never_branches_on_a_kind_name(module):
    assert _kind_branches(ROOT / module) == [], module


REASON = "# kind:"  # a branch on a kind's name that has to stay says why, on its line
APP_AND_VIEWS = sorted(p for d in ("ui", "views") for p in (ROOT / "genlab" / d).rglob("*.py"))


def _unexplained_kind_branches(path: Path) -> list[int]:
    lines = path.read_text().splitlines()
    return [n for n in _kind_branches(path) if REASON not in lines[n - 1]]


def test_the_app_and_the_views_ask_the_kind_instead_of_branching_on_its_name():
    """ui/ and views/ ask `view_of(kind)` (ui/kinds/) and `kind_of(kind)` (kinds/); a branch on a
    kind's name stays only with a `# kind: <reason>` comment on its line."""
    found = {
        str(p.relative_to(ROOT)): lines
        for p in APP_AND_VIEWS
        if (lines := _unexplained_kind_branches(p))
    }
    assert found == {}


def test_the_branch_check_sees_a_kind_name_and_accepts_a_reason(tmp_path):
    src = tmp_path / "m.py"
    src.write_text(
        'if spec.kind == "text":\n    pass\n'
        'if run.kind in ("points", "images"):  # kind: a reason\n    pass\n'
        "if kind in VIEWS:\n    pass\n"
    )
    assert _kind_branches(src) == [1, 3]
    assert _unexplained_kind_branches(src) == [1]
