"""Defaults that learn: each case trains a method with its DEFAULT hyperparameters on a standard
small data set over a fixed seed list, and prints the quality figures against their targets.

    python bench/quality.py                 # every case
    python bench/quality.py gan-ring8 lstm-namestxt   # some of them
    python bench/quality.py --list

Each case prints one line per seed and a summary line `<case>: <metric>=<mean> ... target ...`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genlab.runs import Run, RunStore  # noqa: E402

NAMES_TXT = ROOT.parent / "shared" / "data" / "names.txt"

# case -> (method, dataset, data_file, method values, train values, seeds, {metric: (op, target)})
CASES: dict[str, tuple] = {
    "gan-ring8": ("gan", "ring8", None, {}, {}, [0, 1, 2, 3, 4],
                  {"eval/modes": (">=", 8), "eval/hq": (">=", 0.90), "eval/rkl": ("<=", 0.05)}),
    "gan-grid25": ("gan", "grid25", None, {}, {}, [0, 1, 2, 3, 4],
                   {"eval/modes": (">=", 24.5), "eval/hq": (">=", 0.90),
                    "eval/rkl": ("<=", 0.05)}),
    "vae-mnist": ("vae", "mnist", None, {}, {}, [0], {"eval/nelbo": ("<=", 110.0),
                                                     "eval/fd": ("<=", 150.0)}),
    "vae-digits": ("vae", "digits", None, {}, {}, [0], {"eval/fd": ("<=", 150.0)}),
    "gan-mnist": ("gan", "mnist", None, {}, {}, [0], {"eval/fd": ("<=", 150.0)}),
    "gan-digits": ("gan", "digits", None, {}, {}, [0], {"eval/fd": ("<=", 150.0)}),
    "cgan-digits": ("cgan", "digits", None, {}, {}, [0], {"eval/cond_acc": (">=", 0.95)}),
    "cgan-mnist": ("cgan", "mnist", None, {}, {}, [0], {"eval/cond_acc": (">=", 0.95)}),
    "lstm-names": ("lstm", "names", None, {}, {}, [0], {"eval/nll": ("<", "floor/nll_bigram"),
                                                        "eval/novelty": (">=", 0.5)}),
    "lstm-namestxt": ("lstm", "textfile", str(NAMES_TXT), {}, {}, [0],
                      {"eval/nll": ("<", 2.0), "eval/novelty": (">=", 0.5)}),
    "rgan-sines": ("rgan", "sines", None, {}, {}, [0], {"eval/disc": ("<=", 0.65)}),
}


def run_case(name: str, store: RunStore) -> bool:
    method, dataset, data_file, values, train, seeds, targets = CASES[name]
    finals = []
    for seed in seeds:
        t0 = time.time()
        run = Run(method, dataset, values, dict(train, seed=seed, eval_every=0), store=store,
                  data_file=data_file).start()
        run.join()
        snap = run.snapshot()
        if snap.status != "done":
            print(f"{name} seed {seed}: {snap.status} {snap.error}")
            return False
        last = snap.last
        finals.append(last)
        shown = "  ".join(f"{k}={last.get(k, float('nan')):.4g}" for k in targets)
        floors = "  ".join(f"{k}={v:.4g}" for k, v in last.items() if k.startswith("floor/"))
        print(f"{name} seed {seed}: {snap.step} steps in {time.time() - t0:.0f}s  {shown}  "
              f"[{floors}]", flush=True)
    ok = True
    parts = []
    for key, (op, target) in targets.items():
        mean = statistics.fmean(f[key] for f in finals)
        t = statistics.fmean(f[target] for f in finals) if isinstance(target, str) else target
        met = {">=": mean >= t, "<=": mean <= t, "<": mean < t}[op]
        ok &= met
        parts.append(f"{key}={mean:.4g} (target {op} {t:.4g}: {'met' if met else 'NOT met'})")
    print(f"{name}: mean of {len(seeds)} seed(s): " + ", ".join(parts), flush=True)
    return ok


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", nargs="*")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        print("\n".join(CASES))
        return
    names = args.cases or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        sys.exit(f"unknown case {unknown[0]!r} (known: {', '.join(CASES)})")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    results = {}
    with tempfile.TemporaryDirectory() as home:
        store = RunStore(home)
        for n in names:
            results[n] = run_case(n, store)
    print(f"quality: {sum(results.values())}/{len(results)} cases met their targets")


if __name__ == "__main__":
    main()
