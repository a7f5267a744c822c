"""What a run is made of before it trains: its id, the versions run.json records, its folder
with the copy of the user's upload, and the settings that continue a saved run
(`RunState.from_dir`), including a gentler resume's learning rates (`scaled_lrs`)."""

from __future__ import annotations

import math
import platform
import secrets
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

import genlab
from genlab import params
from genlab.methods import method_class
from genlab.runs.store import RunDir, RunStore, read_json


def scaled_lrs(method: str, method_config: dict[str, Any], factor: float) -> dict[str, float]:
    """Every learning-rate hyperparameter of `method` (declared with `optimizer=`: lr, lr_g,
    lr_d) from `method_config`, times `factor`: the overrides for a gentler resume."""
    if (
        isinstance(factor, bool)
        or not isinstance(factor, (int, float))
        or not (math.isfinite(factor) and factor > 0)
    ):
        raise ValueError(f"learning-rate factor must be a positive number, got {factor!r}")
    cls = method_class(method)
    keys = [p.name for p in params.describe(cls.Config) if p.is_lr]
    if not keys:
        raise ValueError(f"method {method!r} has no learning-rate hyperparameter")
    return {k: float(method_config[k]) * factor for k in keys}


def new_run_id(method: str, dataset: str) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{method}-{dataset}-{secrets.token_hex(3)}"


def versions() -> dict[str, str]:
    return {
        "genlab": genlab.__version__,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def make_folder(
    store: RunStore, method: str, dataset: str, run_id: str | None
) -> tuple[str, RunDir]:
    """A new run's id and folder, created empty. A generated id may repeat within one second:
    another is drawn; an id the caller chose is never silently replaced (FileExistsError)."""
    rid = run_id or new_run_id(method, dataset)
    for _ in range(100):
        d = store.run_dir(rid)
        try:
            d.path.mkdir(parents=True, exist_ok=False)
            return rid, d
        except FileExistsError:
            if run_id is not None:
                raise
            rid = new_run_id(method, dataset)
    raise FileExistsError(f"could not draw a free run id in {store.home}")


def keep_upload(run_dir: RunDir, data_file: str | None) -> str | None:
    """Copy the user's file into the run folder, so the run is self-contained and resumable."""
    if not data_file:
        return None
    src = Path(data_file)
    dst_dir = run_dir.path / "data"
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / ("upload" + "".join(src.suffixes[-1:]) if src.is_file() else "upload")
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copyfile(src, dst)
    return str(dst)


def resume_args(
    path: str | Path,
    steps: int | None = None,
    store: RunStore | None = None,
    method_overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The constructor arguments of a run that continues the saved one in `path` from its last
    checkpoint (same folder). `steps` trains exactly that many (as `params.expand_steps`);
    `method_overrides` changes live hyperparameters (validated with the rest of the config later)
    and is recorded in the run's live_changes at the checkpoint's step."""
    d = RunDir(path)
    info = d.read_info()
    if not d.has_checkpoint():
        raise ValueError(f"run {info['id']} has no checkpoint to resume from")
    train_values = dict(info["train_config"])
    if steps is not None:
        train_values["steps"] = steps
        train_values["stop"] = "steps"
    values = dict(info["method_config"])
    if method_overrides:
        live = {p.name for p in params.describe(method_class(info["method"]).Config) if p.live}
        bad = sorted(set(method_overrides) - live)
        if bad:
            raise ValueError(
                f"{', '.join(bad)} cannot change on resume (live hyperparameters "
                f"can: {', '.join(sorted(live))})"
            )
        changes = {k: v for k, v in method_overrides.items() if values.get(k) != v}
        values.update(changes)
        step = int(read_json(d.ckpt_dir / "last.json").get("step", 0))
        info = {
            **info,
            "live_changes": [
                *info.get("live_changes", []),
                *({"step": step, "key": k, "value": v} for k, v in changes.items()),
            ],
        }
    return {
        "method": info["method"],
        "dataset": info["dataset"],
        "method_values": values,
        "train_values": train_values,
        "data_file": info.get("data_file"),
        "data_options": info.get("data_options"),
        "store": store or RunStore(d.path.parent),
        "run_id": info["id"],
        "_resume": info,
    }
