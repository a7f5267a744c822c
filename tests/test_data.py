"""Datasets: built-in specs and the user's own files (good and bad)."""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from genlab.data import DATASETS, load_dataset
from genlab.data.text import decode

BUILTIN = [n for n, i in DATASETS.items() if not i.upload]


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_datasets_describe_themselves(name):
    ds = load_dataset(name)
    s = ds.spec
    assert s.kind == DATASETS[name].kind
    assert tuple(ds.x_train.shape[1:]) == s.shape and len(ds.x_train) == s.n_train
    assert len(ds.x_val) == s.n_val >= 1
    if s.n_classes:
        assert int(ds.y_train.max()) < s.n_classes and len(s.class_names) == s.n_classes
    if s.kind == "images":
        assert float(ds.x_train.min()) >= 0 and float(ds.x_train.max()) <= 1
    if s.kind == "text":
        assert s.vocab[0] == "." and ds.x_train.dtype == torch.long


def test_ring8_and_grid25_are_the_benchmark_settings():
    ring = load_dataset("ring8").spec
    assert len(ring.modes) == 8 and ring.mode_std == 0.01
    angles = sorted(math.atan2(b, a) % (2 * math.pi) for a, b in ring.modes)
    assert np.allclose(np.diff(angles), 2 * math.pi / 8)
    assert np.allclose([math.hypot(a, b) for a, b in ring.modes], 1.0)
    grid = load_dataset("grid25").spec
    assert len(grid.modes) == 25 and grid.mode_std == 0.05
    assert sorted({a for a, _ in grid.modes}) == [-4, -2, 0, 2, 4]
    x = load_dataset("ring8").x_train
    nearest = torch.cdist(x, torch.tensor(ring.modes)).min(1).values
    assert float(nearest.std()) < 0.02


def test_validation_split_is_fixed():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert torch.equal(a.x_val, b.x_val)


def test_batches_are_drawn_by_index_with_the_runs_generator():
    ds = load_dataset("moons")
    x1, y1 = ds.batch(32, torch.Generator().manual_seed(5))
    x2, y2 = ds.batch(32, torch.Generator().manual_seed(5))
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and x1.shape == (32, 2)


def test_names_round_trip():
    ds = load_dataset("names")
    words = [decode(r[1:], ds.spec.vocab) for r in ds.x_train[:20]]
    assert all(w.isalpha() and w == w.lower() for w in words)


# ----- uploads ---------------------------------------------------------------------------------
def _write(tmp_path, name, data: bytes):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def test_csv2d_with_header_and_labels(tmp_path):
    rows = "x,y,label\n" + "".join(f"{i},{i * 2},{'ab'[i % 2]}\n" for i in range(20))
    ds = load_dataset("csv2d", _write(tmp_path, "p.csv", rows.encode()))
    assert ds.spec.n_classes == 2 and ds.spec.n_train + ds.spec.n_val == 20


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "empty"),
        (b"1,2\n3,abc\n", "must be numbers"),
        (b"1,2\n3\n", "expected x,y"),
        (b"1,2\n3,nan\n", "finite"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
        (b"1,2,a\n3,4\n5,6\n", "every row has a label"),
    ],
)
def test_csv2d_bad_files_get_clear_messages(tmp_path, content, message):
    with pytest.raises(ValueError, match=message):
        load_dataset("csv2d", _write(tmp_path, "bad.csv", content))


def test_upload_size_limit(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_MAX_UPLOAD_MB", "0.001")
    with pytest.raises(ValueError, match="over the upload limit"):
        load_dataset("textfile", _write(tmp_path, "big.txt", b"abc\n" * 1000))


def test_upload_needs_a_file():
    with pytest.raises(ValueError, match="--data-file"):
        load_dataset("textfile")


def test_seriescsv(tmp_path):
    rows = "".join(",".join(str(math.sin(i + t / 3)) for t in range(16)) + "\n" for i in range(30))
    ds = load_dataset("seriescsv", _write(tmp_path, "s.csv", rows.encode()))
    assert ds.spec.shape == (16, 1)
    with pytest.raises(ValueError, match="same length"):
        load_dataset("seriescsv", _write(tmp_path, "b.csv", b"1,2,3,4,5\n1,2,3,4\n"))


def test_textfile(tmp_path):
    ds = load_dataset("textfile", _write(tmp_path, "t.txt", b"anna\nbob\n\ncarl\ndora\n"))
    assert ds.spec.n_train + ds.spec.n_val == 4 and ds.spec.vocab[0] == "."
    with pytest.raises(ValueError, match="longer than"):
        load_dataset("textfile", _write(tmp_path, "l.txt", b"a\n" + b"x" * 500 + b"\n"))


def _png(color, size=(10, 12), mode="RGB"):
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG")
    return buf.getvalue()


def test_imagezip_classes_from_folders_mixed_sizes_and_modes(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(6):
            z.writestr(f"cats/{i}.png", _png((200, 10, 10), (10 + i, 12)))
            z.writestr(f"dogs/{i}.png", _png(128, (20, 20), "L"))
        z.writestr("readme.txt", "not an image")
    path = _write(tmp_path, "imgs.zip", buf.getvalue())
    ds = load_dataset("imagezip", path, {"image_size": 16, "color": "rgb"})
    assert ds.spec.shape == (3, 16, 16) and ds.spec.class_names == ("cats", "dogs")
    grey = load_dataset("imagezip", path, {"image_size": 8})
    assert grey.spec.shape == (1, 8, 8)


def test_imagezip_refuses_traversal_bombs_and_junk(tmp_path, monkeypatch):
    import genlab.data.images as images

    monkeypatch.setattr(images, "MAX_UNZIPPED", 2**20)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../evil.png", _png((0, 0, 0)))
    with pytest.raises(ValueError, match="unsafe path"):
        load_dataset("imagezip", _write(tmp_path, "t.zip", buf.getvalue()))
    assert not (tmp_path.parent / "evil.png").exists()

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.png", b"\0" * (3 * 2**20))
    with pytest.raises(ValueError, match="decompression bomb"):
        load_dataset("imagezip", _write(tmp_path, "bomb.zip", buf.getvalue()))

    with pytest.raises(ValueError, match="not a valid zip"):
        load_dataset("imagezip", _write(tmp_path, "x.zip", b"PK not really"))

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.png", b"garbage")
    with pytest.raises(ValueError, match="not a readable image"):
        load_dataset("imagezip", _write(tmp_path, "g.zip", buf.getvalue()))


def test_imagezip_options_are_validated(tmp_path):
    with pytest.raises(ValueError, match="image_size=2 is below the minimum"):
        load_dataset("imagezip", _write(tmp_path, "a.zip", b""), {"image_size": 2})
