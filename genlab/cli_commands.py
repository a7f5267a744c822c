"""The commands of `python -m genlab` (`genlab.cli` parses the command line and calls them): list,
train, resume, sample, export and sweep, and what they share (splitting `--set` pairs by where
each parameter is declared, following a run with a progress bar, printing its result).

Bad input raises CliError (or ValueError) with one line naming the value and what is allowed;
`genlab.cli.main` turns it into exit status 2.

Each command imports what it needs inside its function: `--help` answers without importing
torch, and `list` imports no run machinery and loads no dataset. With `genlab.cli`, this is the
one place in genlab with in-function imports of its own modules (for start-up time, not to break
a cycle).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from genlab import params


class CliError(Exception):
    pass


def _catalogue(sizes: bool = True) -> dict[str, Any]:
    """Methods and datasets; with `sizes`, every built-in dataset is loaded to count it (the slow
    part of `list`: MNIST, digits and the name lists take seconds each)."""
    from genlab.data import DATASETS, load_dataset
    from genlab.methods import METHODS

    methods = [
        {"name": c.name, "label": c.label, "kinds": list(c.supports), "conditional": c.conditional}
        for c in METHODS.values()
    ]
    datasets = []
    for info in DATASETS.values():
        row: dict[str, Any] = {
            "name": info.name,
            "kind": info.kind,
            "label": info.label,
            "upload": info.upload,
        }
        if sizes and not info.upload:
            spec = load_dataset(info.name).spec
            row.update(
                size=spec.n_train + spec.n_val, classes=spec.n_classes, shape=list(spec.shape)
            )
        datasets.append(row)
    return {"methods": methods, "datasets": datasets}


def cmd_list(args: argparse.Namespace) -> int:
    cat = _catalogue(sizes=args.json or args.sizes)
    if args.json:
        print(json.dumps(cat, indent=1))
        return 0
    print("methods:")
    for m in cat["methods"]:
        cond = ", conditional" if m["conditional"] else ""
        print(f"  {m['name']:<8} {m['label']:<28} data: {', '.join(m['kinds'])}{cond}")
    print("datasets:")
    for d in cat["datasets"]:
        size = (
            "your file (--data-file)"
            if d["upload"]
            else (f"{d['size']} items, {d['classes']} classes, shape {tuple(d['shape'])}")
            if "size" in d
            else d["label"]
        )
        print(f"  {d['name']:<13} {d['kind']:<10} {size}")
    return 0


def _parse_sets(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        if "=" not in item:
            raise CliError(f"--set {item!r} must look like key=value")
        k, v = item.split("=", 1)
        out[k.strip()] = v
    return out


def _route(method: str, dataset: str, pairs: dict[str, str]) -> tuple[dict, dict, dict]:
    """Split `--set` pairs into method, training and dataset values by where each is declared."""
    from genlab.data import dataset_info
    from genlab.methods import method_class

    cls = method_class(method)
    info = dataset_info(dataset)
    classes = [cls.Config, params.TrainConfig] + ([info.Config] if info.Config else [])
    found, unknown = params.split_overrides(pairs, *classes)
    if unknown:
        known = sorted({p.name for c in classes for p in params.describe(c)})
        raise CliError(
            f"unknown parameter {unknown[0]!r} for {method} on {dataset} "
            f"(known: {', '.join(known)})"
        )
    return found[0], found[1], (found[2] if info.Config else {})


def _progress(run, as_json: bool) -> None:
    """Follow a running run in the foreground with a progress bar (tqdm, on stderr)."""
    from tqdm import tqdm

    bar = tqdm(
        total=run.train.steps,
        initial=run.snapshot().step,
        unit="step",
        disable=None,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    try:
        while not run.join(0.2):
            snap = run.snapshot()
            bar.n = snap.step
            shown = {k.split("/", 1)[-1]: f"{v:.3g}" for k, v in list(snap.last.items())[:4]}
            bar.set_postfix(shown, refresh=False)
            bar.refresh()
    except KeyboardInterrupt:
        run.stop()
        run.join()
    finally:
        bar.n = run.snapshot().step
        bar.close()
    run.join()


def _result(run, seconds: float) -> dict[str, Any]:
    snap = run.snapshot()
    return {
        "run_id": run.id,
        "run_dir": str(run.dir.path),
        "status": snap.status,
        "steps": snap.step,
        "seconds": round(seconds, 2),
        "metrics": snap.last,
        "error": snap.error,
    }


def _finish(run, args: argparse.Namespace, t0: float) -> int:
    _progress(run, args.json)
    res = _result(run, time.time() - t0)
    if args.json:
        print(json.dumps(res))
    else:
        print(f"{res['status']}: {res['steps']} steps in {res['seconds']:.1f}s -> {res['run_dir']}")
        for k, v in sorted(res["metrics"].items()):
            print(f"  {k:<18} {v:.4g}")
        if res["error"]:
            print(f"error: {res['error'].splitlines()[0]}", file=sys.stderr)
    return 0 if res["status"] in ("done", "stopped") else 1


def cmd_train(args: argparse.Namespace) -> int:
    from genlab.runs import RunStore

    pairs = _parse_sets(args.set or [])
    if args.steps is not None:
        pairs["steps"] = str(args.steps)
    if args.seed is not None:
        pairs["seed"] = str(args.seed)
    m_vals, t_vals, d_vals = _route(args.method, args.dataset, pairs)
    store = RunStore(args.runs_dir) if args.runs_dir else RunStore()
    t0 = time.time()
    run = _run_class(args.executor)(
        args.method,
        args.dataset,
        m_vals,
        t_vals,
        data_file=args.data_file,
        data_options=d_vals,
        store=store,
    )
    run.start()
    return _finish(run, args, t0)


def _run_class(executor: str):
    """Run (a thread here), ProcessRun (a child process) or RayRun (a Ray actor)."""
    from genlab.runs.executors import run_class

    return run_class(executor)


def cmd_resume(args: argparse.Namespace) -> int:
    from genlab.runs import RunDir

    t0 = time.time()
    path = _run_dir(args.run_dir)
    info = RunDir(path).read_info()
    step, target = int(info.get("step", 0)), args.steps or int(info.get("steps", 0))
    if target <= step:  # Run.from_dir would end at once and report "done"
        raise CliError(
            f"nothing to train: the run is already at step {step} and --steps "
            f"{target} is the total to reach, not a number to add (give more than {step})"
        )
    overrides = None
    if args.lr_scale is not None:  # e.g. after a divergence: every lr* hyperparameter times F
        from genlab.runs.setup import scaled_lrs

        overrides = scaled_lrs(info["method"], info["method_config"], args.lr_scale)
    run = _run_class(args.executor).from_dir(path, steps=args.steps, method_overrides=overrides)
    run.start()
    return _finish(run, args, t0)


def _run_dir(path: str) -> Path:
    p = Path(path)
    if not (p / "run.json").exists():
        raise CliError(f"{path} is not a run folder (no run.json)")
    return p


def cmd_sample(args: argparse.Namespace) -> int:
    from genlab.data import load_dataset
    from genlab.kinds import kind_of
    from genlab.runs import RunDir
    from genlab.runs.build import build_method, train_config

    if not 1 <= args.n <= 10_000:
        raise CliError(f"--n {args.n} is outside 1..10000")
    d = RunDir(_run_dir(args.run_dir))
    info = d.read_info()
    kind = kind_of((info.get("spec") or {}).get("kind", "points"))
    ext = kind.export_suffix
    out = Path(args.out or d.path / f"sample{ext}")
    if out.suffix.lower() != ext:  # before anything is loaded: one line, nothing written
        raise CliError(
            f"--out {out.name}: a {kind.name} run samples to a {ext} file, "
            f"not {out.suffix or 'a name without extension'}"
        )
    tensors, meta = d.load_checkpoint()
    data = load_dataset(info["dataset"], info.get("data_file"), info.get("data_options"))
    train = train_config(info["method"], dict(info["train_config"], device="cpu"))
    m = build_method(info["method"], info["method_config"], train, data.spec)
    m.restore(tensors, meta)
    m.eval()
    # the same file a download of a snapshot gives (a grid with one class per row for a
    # conditional image model, CSV with a header row, one text item per line)
    out.write_bytes(kind.export(kind.take(m, args.seed, args.n, preview=False)))
    print(str(out))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from genlab.runs.tracking import export_tensorboard

    if args.tensorboard is None:
        raise CliError("say what to export: --tensorboard [DIR]")
    out = export_tensorboard(_run_dir(args.run_dir), args.tensorboard or None, force=args.force)
    print(str(out))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from genlab.methods import METHODS
    from genlab.runs import RunStore
    from genlab.runs.sweep import Sweep
    from genlab.runs.sweep_spec import SweepSpec, parse_axis

    if args.method not in METHODS:
        raise CliError(f"--method {args.method!r} is not one of {', '.join(METHODS)}")
    axes = tuple(parse_axis(text, args.method) for text in args.param)
    try:
        seeds = tuple(int(s) for s in args.seeds.split(",") if s.strip())
    except ValueError:
        raise CliError(f"--seeds {args.seeds!r} must be comma-separated integers") from None
    pairs = _parse_sets(args.set or [])
    if args.steps is not None:
        pairs["steps"] = str(args.steps)
    m_vals, t_vals, d_vals = _route(args.method, args.data, pairs)
    spec = SweepSpec(
        args.method,
        args.data,
        axes,
        seeds=seeds,
        metric=args.metric,
        mode=args.mode,
        search=args.search,
        samples=args.samples,
        executor=args.executor,
        early_stop=args.early_stop,
        parallel=args.parallel,
        method_values=m_vals,
        train_values=t_vals,
        data_options=d_vals,
    )
    sweep = Sweep(spec, RunStore(args.runs_dir) if args.runs_dir else RunStore())
    n = len(sweep.trials)
    print(f"sweep {sweep.id}: {n} trials on {args.executor}", file=sys.stderr)

    def progress(results) -> None:
        ended = sum(r.status in ("done", "stopped", "failed", "interrupted") for r in results)
        print(f"  {ended}/{n} trials ended", file=sys.stderr)

    results = sweep.run(progress=progress, every_s=10.0)
    rows = [dict(rank=i + 1, **r.__dict__) for i, r in enumerate(results)]
    if args.json:
        print(
            json.dumps(
                {
                    "sweep_id": sweep.id,
                    "executor": args.executor,
                    "wall_s": round(sweep.wall_s, 2),
                    "metric": spec.metric,
                    "mode": spec.mode,
                    "trials": rows,
                }
            )
        )
    else:
        print(sweep_table(rows, [a.name for a in axes], spec.metric))
        print(f"{n} trials in {sweep.wall_s:.1f}s; best first by {spec.metric} ({spec.mode})")
    return 0 if all(r.status in ("done", "stopped") for r in results) else 1


def sweep_table(rows: list[dict[str, Any]], names: list[str], metric: str) -> str:
    head = ["#", *names, "seed", "status", "steps", metric, "early stop", "run"]
    body = []
    for r in rows:
        v = r["value"]
        stop = (
            f"stopped at {r['early_stopped_at']}"
            if r["early_stopped_at"] is not None
            else "completed"
            if r["status"] == "done"
            else "-"
        )
        body.append(
            [
                str(r["rank"]),
                *(
                    f"{r['params'][k]:.4g}"
                    if isinstance(r["params"][k], float)
                    else str(r["params"][k])
                    for k in names
                ),
                str(r["seed"]),
                r["status"],
                f"{r['step']}/{r['steps']}",
                "-" if v is None else f"{v:.4g}",
                stop,
                r["run_id"],
            ]
        )
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(line, widths)) for line in [head, *body])
