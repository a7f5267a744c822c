"""Limits for a shared server, from environment variables with safe defaults.

    GENLAB_MAX_RUNS        runs training at once (more wait as queued)         default 2
    GENLAB_MAX_STEPS       steps per run                                       default 200000
    GENLAB_MAX_BATCH       batch size                                          default 1024
    GENLAB_MAX_WIDTH       any declared layer width (param(width=True))       default 2048
    GENLAB_MAX_UPLOAD_MB   one uploaded file                                   default 50
    GENLAB_MAX_DISK_MB     disk used by the run store; no new run past it      default 5000
    GENLAB_READONLY        1 = visitors watch and sample; no start/stop/delete default 0
    GENLAB_ADMIN_PASSWORD  unlocks control in read-only mode                   default unset
    GENLAB_CPU_THREADS     torch intra-op threads of each run training on CPU  default 1
Nothing is ever deleted to make room: past the disk limit a new run is refused with a message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from genlab.params import TrainConfig, describe


def _num(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"environment variable {name}={raw!r} must be a number") from None


def cpu_threads() -> int:
    """Intra-op threads for a run's worker thread on CPU. One by default: OpenMP sets the count
    per calling thread, and on the 2-core test machine a worker thread with 2 ran 1.6-2x slower
    per step than the main thread while one thread ran at the main thread's speed (ring8 GAN
    12.2 -> 6.7 ms, mnist VAE 16.5 -> 10.4 ms; bench/RESULTS.md, "Run-loop overhead")."""
    return max(1, int(_num("GENLAB_CPU_THREADS", 1)))


@dataclass(frozen=True)
class Limits:
    max_steps: int
    max_batch: int
    max_width: int
    max_disk_mb: float
    readonly: bool
    admin_password: str | None

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_steps=int(_num("GENLAB_MAX_STEPS", 200_000)),
            max_batch=int(_num("GENLAB_MAX_BATCH", 1024)),
            max_width=int(_num("GENLAB_MAX_WIDTH", 2048)),
            max_disk_mb=_num("GENLAB_MAX_DISK_MB", 5000),
            readonly=os.environ.get("GENLAB_READONLY", "0").strip().lower() in ("1", "true", "yes"),
            admin_password=os.environ.get("GENLAB_ADMIN_PASSWORD") or None,
        )

    def problems(self, method_cfg: Any, train_cfg: TrainConfig) -> list[str]:
        """What a run's configs ask beyond this server's limits; the widths are the method's
        parameters declared with `width=True`, whatever their names."""
        out = []
        if train_cfg.steps > self.max_steps:
            out.append(
                f"steps={train_cfg.steps} is over this server's limit of "
                f"{self.max_steps} (GENLAB_MAX_STEPS)"
            )
        if train_cfg.batch_size > self.max_batch:
            out.append(
                f"batch_size={train_cfg.batch_size} is over this server's limit of "
                f"{self.max_batch} (GENLAB_MAX_BATCH)"
            )
        for p in describe(type(method_cfg)):
            v = getattr(method_cfg, p.name)
            if p.width and v > self.max_width:
                out.append(
                    f"{p.name}={v} is over this server's limit of {self.max_width} "
                    "(GENLAB_MAX_WIDTH)"
                )
        return out

    def disk_problem(self, used_bytes: int) -> str | None:
        if used_bytes > self.max_disk_mb * 2**20:
            return (
                f"the run store uses {used_bytes / 2**20:.0f} MB, over this server's limit of "
                f"{self.max_disk_mb:.0f} MB (GENLAB_MAX_DISK_MB): delete old runs on the Runs "
                "page (nothing is deleted for you)"
            )
        return None
