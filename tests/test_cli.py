"""The CLI contract that scripts and benchmarks rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from genlab.cli import main

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd=ROOT, env_home=None):
    env = None
    if env_home is not None:
        import os

        env = dict(os.environ, GENLAB_HOME=str(env_home))
    return subprocess.run(
        [sys.executable, "-m", "genlab", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_list_json():
    out = cli("list", "--json")
    assert out.returncode == 0, out.stderr
    cat = json.loads(out.stdout)
    assert {m["name"] for m in cat["methods"]} >= {"gan", "cgan", "vae", "rgan", "lstm"}
    ring = next(d for d in cat["datasets"] if d["name"] == "ring8")
    assert ring["kind"] == "points" and ring["classes"] == 8 and ring["size"] == 20_000


def test_list_loads_no_dataset(monkeypatch, capsys):
    """Plain `list` only reads the registries; sizes need --sizes (or --json)."""
    import genlab.data

    def refuse(*a, **k):
        raise AssertionError("list loaded a dataset")

    monkeypatch.setattr(genlab.data, "load_dataset", refuse)
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "ring8" in out and "mnist" in out and "gan" in out
    with pytest.raises(AssertionError, match="loaded a dataset"):
        main(["list", "--sizes"])


def test_every_option_has_help():
    from genlab.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "cmd")
    for name in ("sample", "resume", "list"):
        for action in sub.choices[name]._actions:
            assert action.help, (name, action.dest)


def test_train_json_sample_and_resume(tmp_path, capsys):
    runs = tmp_path / "runs"
    code = main(
        [
            "train",
            "gan",
            "ring8",
            "--steps",
            "60",
            "--seed",
            "3",
            "--set",
            "hidden=32",
            "--set",
            "eval_every=0",
            "--runs-dir",
            str(runs),
            "--json",
        ]
    )
    assert code == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["status"] == "done" and res["steps"] == 60
    assert {"run_id", "run_dir", "seconds", "metrics"} <= set(res)
    assert "loss/d" in res["metrics"]
    run_dir = Path(res["run_dir"])
    info = json.loads((run_dir / "run.json").read_text())
    assert info["seed"] == 3 and info["method_config"]["hidden"] == 32

    out_csv = tmp_path / "s.csv"
    assert main(["sample", str(run_dir), "--n", "10", "--out", str(out_csv)]) == 0
    rows = out_csv.read_text().strip().splitlines()
    # the file a download of a snapshot gives: a header, one point per row; it uploads as csv2d
    assert rows[0] == "x,y" and len(rows) == 11 and len(rows[1].split(",")) == 2
    from genlab.data.points import parse_points_csv

    uploaded = parse_points_csv(out_csv.read_bytes())
    assert len(uploaded.x_train) + len(uploaded.x_val) == 10

    # the format follows the run's data, and a mismatched --out is refused, nothing written
    for wrong in ("grid.png", "s.txt", "noext"):
        assert main(["sample", str(run_dir), "--out", str(tmp_path / wrong)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and wrong in err[0] and ".csv" in err[0], err
        assert not (tmp_path / wrong).exists()

    assert main(["resume", str(run_dir), "--steps", "80", "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["steps"] == 80 and res["run_id"] == info["id"]

    # at or below the current step nothing is trained, and the message says why
    for steps in ("80", "50"):
        assert main(["resume", str(run_dir), "--steps", steps]) == 2
        err = capsys.readouterr().err
        assert "nothing to train" in err and "step 80" in err, err
    assert main(["resume", str(run_dir)]) == 2  # its planned total (80) is reached
    assert json.loads((run_dir / "run.json").read_text())["step"] == 80


def test_sample_text_and_images(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert (
        main(
            [
                "train",
                "lstm",
                "names",
                "--steps",
                "5",
                "--set",
                "eval_every=0",
                "--runs-dir",
                str(runs),
                "--json",
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    out = tmp_path / "names.txt"
    assert main(["sample", res["run_dir"], "--n", "7", "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 7
    assert (
        main(
            [
                "train",
                "cgan",
                "digits",
                "--steps",
                "3",
                "--set",
                "eval_every=0",
                "--runs-dir",
                str(runs),
                "--json",
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    png = tmp_path / "g.png"
    assert main(["sample", res["run_dir"], "--out", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_train_on_uploaded_file(tmp_path, capsys):
    f = tmp_path / "words.txt"
    f.write_text("\n".join(["alpha", "beta", "gamma", "delta", "epsilon", "zeta"]))
    assert (
        main(
            [
                "train",
                "lstm",
                "textfile",
                "--data-file",
                str(f),
                "--steps",
                "4",
                "--set",
                "eval_every=0",
                "--runs-dir",
                str(tmp_path / "r"),
                "--json",
            ]
        )
        == 0
    )
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["status"] == "done"
    # the upload is copied into the run folder so the run is self-contained
    assert (Path(res["run_dir"]) / "data").is_dir()


@pytest.mark.parametrize(
    "args,message",
    [
        (["train", "gam", "ring8"], "unknown method 'gam'"),
        (["train", "gan", "ring9"], "unknown dataset 'ring9'"),
        (["train", "gan", "ring8", "--set", "wat=1"], "unknown parameter 'wat'"),
        (["train", "gan", "ring8", "--set", "lr_g=-1"], "below the minimum"),
        (["train", "gan", "ring8", "--set", "loss=magic"], "not one of"),
        (["train", "gan", "ring8", "--set", "hidden"], "key=value"),
        (["train", "gan", "names"], "does not support text"),
        (["train", "cgan", "swissroll"], "needs a dataset with labels"),
        (["train", "lstm", "textfile", "--data-file", "/nonexistent.txt"], "file not found"),
        (["train", "lstm", "textfile"], "--data-file"),
        (["sample", "/tmp"], "not a run folder"),
        (["resume", "/tmp"], "not a run folder"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(tmp_path, args, message):
    out = cli(*args, env_home=tmp_path)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
