"""Every method trained for a fixed number of steps on each device this machine has (the CPU,
and CUDA or MPS when present), with bf16 autocast and torch.compile off and on: steps/s.

    python bench/gpu.py [--steps 200] [--method gan --method ddpm] [--device cuda] [--quick]

Each case builds the method with its defaults for the data (as a run does), moves the data to the
device, warms up for 10 steps, then times `--steps` training steps (a synchronised loss every
step, as the run loop's logging does at its interval). The first step is timed on its own: it is
where torch.compile compiles. `--quick` times only fp32 with compile off (the baseline on every
device). On the CPU the worker's thread count is used (GENLAB_CPU_THREADS, default 1).

Last line: `gpu: <method> cuda/cpu=<ratio> ...` (fp32, compile off) when a GPU was there,
otherwise `gpu: no CUDA or MPS device; CPU only`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genlab.data import load_dataset  # noqa: E402
from genlab.limits import cpu_threads  # noqa: E402
from genlab.runs.build import build_method, train_config  # noqa: E402

# one dataset per method, the one its tests and benchmarks use
CASES = {
    "gan": "ring8",
    "vae": "mnist",
    "cgan": "digits",
    "rgan": "sines",
    "lstm": "names",
    "ddpm": "ring8",
    "flow": "ring8",
    "transformer": "names",
}
WARMUP = 10


def devices(wanted: list[str] | None) -> list[str]:
    have = ["cpu"]
    if torch.cuda.is_available():
        have.append("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        have.append("mps")
    return [d for d in have if not wanted or d in wanted]


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


def time_case(
    method: str, dataset: str, device: str, precision: str, comp: str, steps: int
) -> tuple[float, float]:
    """(steps per second after the warm-up, seconds of the first step)."""
    train = train_config(
        method, {"precision": precision, "compile": comp, "device": device, "seed": 0}
    )
    data = load_dataset(dataset)
    m = build_method(method, {}, train, data.spec, device)
    data = data.to(device)
    g = torch.Generator(device=device).manual_seed(0)
    first, t0 = 0.0, 0.0
    for step in range(WARMUP + steps):
        if step == WARMUP:
            sync(device)
            t0 = time.perf_counter()
        t_step = time.perf_counter()
        x, y = data.batch(train.batch_size, g)
        m.step = step
        with torch.autocast(device, torch.bfloat16, enabled=precision == "bf16"):
            out = m.train_step(x, y)
        float(next(iter(out.values())))  # wait for the step, as logging does
        if step == 0:
            first = time.perf_counter() - t_step
    sync(device)
    return steps / (time.perf_counter() - t0), first


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--method", action="append", choices=sorted(CASES), help="only these")
    ap.add_argument("--device", action="append", help="only these devices (cpu, cuda, mps)")
    ap.add_argument("--quick", action="store_true", help="fp32 with compile off only")
    args = ap.parse_args()
    torch.set_num_threads(cpu_threads())
    devs = devices(args.device)
    gpu_name = torch.cuda.get_device_name(0) if "cuda" in devs else None
    print(
        f"torch {torch.__version__}; devices {', '.join(devs)}"
        + (f" ({gpu_name})" if gpu_name else "")
        + f"; CPU {torch.get_num_threads()} thread(s) of {os.cpu_count()}; {args.steps} steps "
        f"after {WARMUP} warm-up; batch = each method's default; load {os.getloadavg()[0]:.1f}"
    )
    options = (
        [("fp32", "off")]
        if args.quick
        else [(p, c) for p in ("fp32", "bf16") for c in ("off", "on")]
    )
    base: dict[tuple[str, str], float] = {}
    for method in args.method or list(CASES):
        dataset = CASES[method]
        for device in devs:
            for precision, comp in options:
                try:
                    rate, first = time_case(method, dataset, device, precision, comp, args.steps)
                except Exception as e:  # an option a device or torch build lacks: say so, go on
                    why = str(e).splitlines()[0][:120] if str(e) else ""
                    print(
                        f"{method:>11} on {dataset:<6} {device:<4} precision={precision} "
                        f"compile={comp:<3} failed: {type(e).__name__}: {why}"
                    )
                    continue
                if (precision, comp) == ("fp32", "off"):
                    base[(method, device)] = rate
                print(
                    f"{method:>11} on {dataset:<6} {device:<4} precision={precision} "
                    f"compile={comp:<3} {rate:8.1f} steps/s   first step {first:6.2f}s   "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
    gpus = [d for d in devs if d != "cpu"]
    if not gpus:
        print("gpu: no CUDA or MPS device; CPU only")
        return
    ratios = [
        f"{m} {d}/cpu={base[(m, d)] / base[(m, 'cpu')]:.2f}"
        for m in args.method or list(CASES)
        for d in gpus
        if (m, d) in base and (m, "cpu") in base
    ]
    print("gpu: " + " ".join(ratios))


if __name__ == "__main__":
    main()
