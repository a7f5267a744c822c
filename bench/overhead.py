"""genlab's run loop against a bare PyTorch loop of the identical model, data, batch and optimiser.

For each case the same method object type is built twice with the same seed: once trained by a bare
`for` loop (index a batch, call train_step, nothing else), once by genlab's Run (background thread,
pause/stop checks, metric accumulation, logging, sample snapshots, periodic checkpoints). Both time
the same span of steps (after a warm-up), alternating A/B several times to share the machine's
noise. The bare loop runs with the intra-op thread count genlab's worker uses on CPU
(`GENLAB_CPU_THREADS`, default 1), so the ratio is the loop's own cost; a second bare figure, in
the main thread with every core, shows what the worker's thread count gives up (on the 2-core
test machine a worker thread with 2 threads was slower than with 1, see genlab/limits.py).

    python bench/overhead.py [--steps 600] [--repeats 3] [--case gan-ring8] [--set tensorboard=off]

Last line: `overhead: ratio=R`, R = the worst (genlab time per step / bare time per step).
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

from genlab.data import load_dataset  # noqa: E402
from genlab.limits import cpu_threads  # noqa: E402
from genlab.runs import Run, RunStore  # noqa: E402
from genlab.runs.build import build_method, method_config, train_config  # noqa: E402

CASES = [("gan", "ring8", {}), ("gan", "mnist", {}), ("vae", "mnist", {})]
WARMUP = 50


def bare(method: str, dataset: str, values: dict, steps: int, threads: int) -> float:
    torch.set_num_threads(threads)
    data = load_dataset(dataset)
    # the config Run builds: the method's defaults for this data (Method.defaults_for), then values
    train = train_config(method, {"seed": 0, "device": "cpu"}, data.spec)
    m = build_method(method, method_config(method, values, data.spec), train, data.spec)
    g = torch.Generator().manual_seed(0)
    t0 = 0.0
    for step in range(WARMUP + steps):
        if step == WARMUP:
            t0 = time.perf_counter()
        x, y = data.batch(train.batch_size, g)
        m.step = step
        m.train_step(x, y)
    return (time.perf_counter() - t0) / steps


def genlab_loop(
    method: str, dataset: str, values: dict, steps: int, store: RunStore, extra: dict
) -> float:
    train = {"steps": WARMUP + steps, "seed": 0, "device": "cpu", "eval_every": 0, **extra}
    run = Run(method, dataset, values, train, store=store).start()
    run.join()
    assert run.status == "done", run.snapshot().error
    # genlab's own clock: wall seconds at each logged step (taken before the end-of-run
    # evaluation and checkpoint, which the bare loop does not do either)
    steps_logged, t, _ = run.history.series(
        next(k for k in run.history.keys() if k.startswith("loss/"))
    )
    first = next(i for i, s in enumerate(steps_logged) if s >= WARMUP)
    return (t[-1] - t[first]) / (steps_logged[-1] - steps_logged[first])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--case", action="append", help="only these cases, e.g. gan-ring8")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a training setting of genlab's runs, e.g. tensorboard=off (strings)",
    )
    args = ap.parse_args()
    extra = dict(item.split("=", 1) for item in args.set)
    every = int(os.environ.get("GENLAB_BENCH_THREADS", torch.get_num_threads()))
    worker = cpu_threads()
    print(
        f"torch {torch.__version__}, {os.cpu_count()} cpus; genlab's worker and the bare loop "
        f"{worker} thread(s), bare main thread with all cores {every}; genlab's settings "
        f"{extra or 'defaults'}; load {os.getloadavg()[0]:.1f}"
    )
    ratios = []
    with tempfile.TemporaryDirectory() as home:
        store = RunStore(home)
        for method, dataset, values in CASES:
            if args.case and f"{method}-{dataset}" not in args.case:
                continue
            b, g, a = [], [], []
            for _ in range(args.repeats):
                b.append(bare(method, dataset, values, args.steps, worker))
                g.append(genlab_loop(method, dataset, values, args.steps, store, extra))
                a.append(bare(method, dataset, values, args.steps, every))
            # least-contended values: the minimum of each is the least noisy estimate
            r = min(g) / min(b)
            ratios.append(r)
            print(
                f"{method:>4} on {dataset:<6} bare {min(b) * 1e3:7.2f} ms/step   "
                f"genlab {min(g) * 1e3:7.2f} ms/step   ratio {r:.3f}   "
                f"(bare, {every} threads: {min(a) * 1e3:.2f} ms/step)   "
                f"load {os.getloadavg()[0]:.1f}"
            )
    print(f"overhead: ratio={max(ratios):.3f}")


if __name__ == "__main__":
    main()
