"""An 8-trial sweep (gan on ring8: 4 learning rates x 2 seeds) on the local executor, then the same
sweep on Ray Tune (a local Ray instance on this machine), both with the same number of trials at
once. Prints each trial and each sweep's wall time; Ray's start-up is timed apart.

    python bench/sweep.py [--steps 1200] [--hidden 64] [--parallel 2]

Last line: `sweep: local=..s ray=..s` (ray: the sweep itself, after `ray.init`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genlab.runs import RunStore  # noqa: E402
from genlab.runs.ray_exec import ensure_ray  # noqa: E402
from genlab.runs.sweep import Sweep  # noqa: E402
from genlab.runs.sweep_spec import Axis, SweepSpec  # noqa: E402


def run_sweep(executor: str, home: Path, args: argparse.Namespace) -> tuple[float, list]:
    spec = SweepSpec(
        "gan",
        "ring8",
        (Axis("lr_g", values=(2e-4, 5e-4, 1e-3, 2e-3)),),
        seeds=(0, 1),
        metric="eval/hq",
        mode="max",
        executor=executor,
        parallel=args.parallel,
        method_values={"hidden": args.hidden},
        train_values={
            "steps": args.steps,
            "eval_every": args.steps // 3,
            "sample_every": 500,
            "checkpoint_every": 0,
            "device": "cpu",
        },
    )
    sweep = Sweep(spec, RunStore(home / executor))
    t0 = time.perf_counter()
    results = sweep.run()
    return time.perf_counter() - t0, results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--parallel", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)  # as each Ray worker does (OMP_NUM_THREADS=1 for a 1-CPU actor)
    print(
        f"torch {torch.__version__}, {os.cpu_count()} cpus, 8 trials, {args.parallel} at once, "
        f"{args.steps} steps, hidden {args.hidden}"
    )
    walls = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        for executor in ("local", "ray"):
            if executor == "ray":
                t0 = time.perf_counter()
                ensure_ray(num_cpus=os.cpu_count())
                print(f"ray.init: {time.perf_counter() - t0:.1f}s")
            wall, results = run_sweep(executor, home, args)
            walls[executor] = wall
            for r in sorted(results, key=lambda r: r.trial):
                print(
                    f"  {executor:<5} trial {r.trial}  lr_g={r.params['lr_g']:<7g} seed "
                    f"{r.seed}  {r.status:<8} {r.seconds:6.1f}s trained  eval/hq={r.value}"
                )
            print(f"{executor}: {wall:.1f}s wall")
    print(f"sweep: local={walls['local']:.1f}s ray={walls['ray']:.1f}s")


if __name__ == "__main__":
    main()
