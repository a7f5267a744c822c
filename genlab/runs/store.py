"""The run store on disk, under `GENLAB_HOME` (default `./runs`).

One folder per run:
    run.json            method, dataset, configs, seed, versions, status, timestamps
    metrics.jsonl       append-only, one JSON object per logged step (flushed every log interval)
    ckpt/last.json      the checkpoint's JSON meta (never pickle); it names its tensor file,
    ckpt/last-<hash>.safetensors   written before the JSON, so a crash between the two leaves the
                        previous pair whole (the JSON still names the previous tensors)
    samples/            one snapshot per `sample_every`: step_000200.png (images), .npy (points,
                        sequences; plain float arrays, loaded with allow_pickle=False), .txt (text)
    views/              2D runs: the weights at each snapshot (step_000200.safetensors), thinned
                        to VIEW_WEIGHTS_MAX, for the replay of the inside-the-model views
Every whole-file write is atomic (temp file in the same folder, fsync, rename), so a crash leaves
either the old file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from genlab.kinds import KINDS, kind_of
from genlab.methods import METHODS

VIEW_WEIGHTS_MAX = 48  # weight copies a run keeps for the replay of its inside views
CKPT_NAME = re.compile(r"last(-[0-9a-f]{16})?\.safetensors")  # no paths: a name only

STATES = ("queued", "running", "paused", "done", "stopped", "failed", "interrupted")
ENDED = ("done", "stopped", "failed", "interrupted")
LIVE_STATES = tuple(s for s in STATES if s not in ENDED)  # a run in one of these can still change
_BY_SUFFIX = {k.stored_suffix: k for k in reversed(list(KINDS.values()))}  # a snapshot's reader
SYNC_EVERY_S = 1.0  # metrics.jsonl is fsynced at most this often
RUN_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def genlab_home() -> Path:
    return Path(os.environ.get("GENLAB_HOME", "runs")).resolve()


def atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


NAME_MAX = 60


def clean_name(name: str) -> str:
    """A run's user-given name: one line of at most NAME_MAX characters ('' = no name)."""
    name = " ".join(str(name).split())  # newlines, tabs and runs of spaces -> one space
    if len(name) > NAME_MAX:
        raise ValueError(f"a run name has at most {NAME_MAX} characters ({len(name)} given)")
    return name


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=1, default=_json_default).encode())


def _json_default(o: Any) -> Any:
    if isinstance(o, tuple):
        return list(o)
    if isinstance(o, Path):
        return str(o)
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def read_json(path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path.name} is missing in {path.parent}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is corrupt: {e}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path} is corrupt: not a JSON object")
    return obj


class RunDir:
    """One run's folder."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._last_sync = 0.0

    @property
    def run_json(self) -> Path:
        return self.path / "run.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def ckpt_dir(self) -> Path:
        return self.path / "ckpt"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    # ----- run.json ------------------------------------------------------------------------
    def read_info(self) -> dict[str, Any]:
        info = read_json(self.run_json)
        missing = [
            k
            for k in ("id", "method", "dataset", "method_config", "train_config", "status")
            if k not in info
        ]
        if missing:
            raise ValueError(f"{self.run_json} is missing {', '.join(missing)}")

        cls = METHODS.get(info["method"])
        if cls is not None and cls.legacy_values and isinstance(info["method_config"], dict):
            # a run saved before these keys existed trained with these values
            info["method_config"] = {**cls.legacy_values, **info["method_config"]}
        if isinstance(info["train_config"], dict) and "stop" not in info["train_config"]:
            # saved before stop=auto existed: it trained exactly its steps
            info["train_config"] = {**info["train_config"], "stop": "steps"}
        return info

    def write_info(self, info: dict[str, Any]) -> None:
        write_json(self.run_json, info)

    def rename(self, name: str) -> str:
        """Name (or, with '', unname) a saved run in its run.json; returns the name kept."""
        info = read_json(self.run_json)
        info["name"] = clean_name(name)
        write_json(self.run_json, info)
        return info["name"]

    # ----- metrics.jsonl ---------------------------------------------------------------------
    def append_metrics(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.metrics_path, "a") as f:
            f.write("".join(json.dumps(r) + "\n" for r in rows))
            f.flush()
            # appended every log interval, forced to disk at most once a second: an fsync costs
            # milliseconds, which at 25-step intervals of an 8 ms step would be a 1-5% slowdown
            now = time.monotonic()
            if now - self._last_sync >= SYNC_EVERY_S:
                os.fsync(f.fileno())
                self._last_sync = now

    def read_metrics(self, max_step: int | None = None) -> list[dict[str, Any]]:
        """All complete rows; a torn last line (killed mid-append) is skipped."""
        if not self.metrics_path.exists():
            return []
        rows = []
        for line in self.metrics_path.read_text().splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(r, dict) and "step" in r and (max_step is None or r["step"] <= max_step):
                rows.append(r)
        return rows

    def truncate_metrics(self, max_step: int) -> None:
        """Keep only rows up to `max_step` (resuming from a checkpoint older than the log)."""
        rows = self.read_metrics(max_step)
        atomic_write(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows).encode())

    # ----- checkpoints -----------------------------------------------------------------------
    def save_checkpoint(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        blob = st_save(tensors)
        digest = hashlib.sha256(blob).hexdigest()
        name = f"last-{digest[:16]}.safetensors"
        meta = dict(meta, sha256=digest, bytes=len(blob), tensors=name)
        # New tensors under a new name first, then the JSON that names them (one atomic rename),
        # then the old tensors go: a kill at any point leaves a JSON naming whole tensors.
        atomic_write(self.ckpt_dir / name, blob)
        write_json(self.ckpt_dir / "last.json", meta)
        for old in self.ckpt_dir.glob("last*.safetensors"):
            if old.name != name:
                old.unlink(missing_ok=True)

    def has_checkpoint(self) -> bool:
        return (self.ckpt_dir / "last.json").exists()

    def checkpoint_files(self) -> tuple[Path, Path]:
        """(last.json, the tensor file it names). Folders written before the tensors got
        hashed names hold `last.safetensors`."""
        meta = read_json(self.ckpt_dir / "last.json")
        name = meta.get("tensors", "last.safetensors")
        if not isinstance(name, str) or not CKPT_NAME.fullmatch(name):
            raise ValueError(f"checkpoint meta in {self.ckpt_dir} names a bad file: {name!r}")
        return self.ckpt_dir / "last.json", self.ckpt_dir / name

    def load_checkpoint(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        meta = read_json(self.ckpt_dir / "last.json")
        _, path = self.checkpoint_files()
        if not path.exists():
            raise ValueError(f"checkpoint tensors are missing in {self.ckpt_dir}")
        blob = path.read_bytes()
        if hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
            raise ValueError(
                f"checkpoint in {self.ckpt_dir} is corrupt or does not match its "
                "last.json (hash differs)"
            )
        try:
            tensors = st_load(blob)
        except Exception as e:
            raise ValueError(f"checkpoint in {self.ckpt_dir} is unreadable: {e}") from None
        return tensors, meta

    # ----- the weights the replay's inside views are drawn from --------------------------------
    @property
    def views_dir(self) -> Path:
        return self.path / "views"

    def save_view_weights(self, step: int, tensors: dict[str, torch.Tensor]) -> None:
        """A copy of the model's weights at `step` (kinds that keep them: Kind.keeps_view_weights),
        thinned to at most VIEW_WEIGHTS_MAX: past that, every other one of the older half goes,
        so the history stays spread over the whole run and the newest steps stay dense."""
        atomic_write(self.views_dir / f"step_{step:08d}.safetensors", st_save(tensors))
        kept = self.view_weight_steps()
        if len(kept) > VIEW_WEIGHTS_MAX:
            older = kept[1 : len(kept) // 2]  # the first one stays: the replay's start
            for s in older[::2]:
                (self.views_dir / f"step_{s:08d}.safetensors").unlink(missing_ok=True)

    def view_weight_steps(self) -> list[int]:
        if not self.views_dir.exists():
            return []
        out = []
        for p in self.views_dir.iterdir():
            m = re.fullmatch(r"step_(\d+)\.safetensors", p.name)
            if m:
                out.append(int(m.group(1)))
        return sorted(out)

    def load_view_weights(self, step: int) -> dict[str, torch.Tensor]:
        """The weights kept at `step` (one of view_weight_steps())."""
        return st_load((self.views_dir / f"step_{int(step):08d}.safetensors").read_bytes())

    # ----- samples ---------------------------------------------------------------------------
    def save_sample(self, step: int, kind: str, payload: Any) -> None:
        k = kind_of(kind)
        atomic_write(self.samples_dir / f"step_{step:08d}{k.stored_suffix}", k.to_bytes(payload))

    def list_samples(self) -> list[tuple[int, Path]]:
        if not self.samples_dir.exists():
            return []
        out = []
        for p in self.samples_dir.iterdir():
            m = re.fullmatch(r"step_(\d+)(\.\w+)", p.name)
            if m and m.group(2) in _BY_SUFFIX:
                out.append((int(m.group(1)), p))
        return sorted(out)

    @staticmethod
    def load_sample(path: Path) -> Any:
        """A stored snapshot, read back by the kind that wrote its suffix (points and
        sequences share .npy and its reader)."""
        return _BY_SUFFIX[path.suffix].from_bytes(path.read_bytes())


class RunStore:
    """All run folders under one home."""

    def __init__(self, home: Path | str | None = None):
        self.home = Path(home).resolve() if home is not None else genlab_home()

    def run_dir(self, run_id: str) -> RunDir:
        if not RUN_ID.match(run_id) or run_id in (".", ".."):
            raise ValueError(f"invalid run id {run_id!r}")
        return RunDir(self.home / run_id)

    def list(self) -> list[dict[str, Any]]:
        """run.json of every run folder, newest first; unreadable folders are reported, not
        hidden, as entries with status 'corrupt'."""
        if not self.home.exists():
            return []
        out = []
        for p in self.home.iterdir():
            if not p.is_dir() or p.name.startswith("."):
                continue
            try:
                info = RunDir(p).read_info()
            except ValueError as e:
                info = {
                    "id": p.name,
                    "status": "corrupt",
                    "error": str(e),
                    "method": "?",
                    "dataset": "?",
                    "created": 0,
                }
            info["dir"] = str(p)
            out.append(info)
        return sorted(out, key=lambda i: i.get("created", 0), reverse=True)

    def delete(self, run_id: str) -> None:
        d = self.run_dir(run_id)
        if d.path.exists():
            shutil.rmtree(d.path)

    def disk_bytes(self) -> int:
        if not self.home.exists():
            return 0
        total = 0
        # os.walk tolerates folders that vanish while it walks (runs deleted, temp files renamed)
        for root, _, files in os.walk(self.home):
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except FileNotFoundError:
                    pass
        return total
