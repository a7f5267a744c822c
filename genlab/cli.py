"""`python -m genlab ...`: the same runs as the app, without a browser.

    python -m genlab list [--json]
    python -m genlab train METHOD DATASET [--steps N|auto] [--seed S] [--set key=value ...]
                           [--data-file PATH] [--runs-dir DIR] [--json]
    python -m genlab sample RUN_DIR [--n N] [--seed S] [--out FILE]
    python -m genlab resume RUN_DIR [--steps N] [--lr-scale F] [--json]
    python -m genlab export RUN_DIR --tensorboard [DIR] [--force]
    python -m genlab sweep --method M --data D --param NAME=SPEC [--param ...] [--seeds 0,1]
                           [--metric eval/hq] [--mode max|min] [--search grid|random] ...
Every command that trains takes --executor local|ray (ray: GENLAB_RAY_ADDRESS, default local).

Bad input exits with status 2 and one line naming the value and what is allowed; no traceback.

Each command imports what it needs inside its function: `--help` answers without importing
torch, and `list` imports no run machinery and loads no dataset. This is the one place in genlab
with in-function imports of its own modules (for start-up time, not to break a cycle).
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
    """Run (local threads) or RayRun (a Ray actor): the same constructor and controls."""
    from genlab.runs import Run

    if executor == "local":
        return Run
    from genlab.runs.ray_exec import RayRun, check_executor

    check_executor(executor)
    return RayRun


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
        from genlab.runs.run import scaled_lrs

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


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m genlab", description="Train and sample generative models headless."
    )
    sub = ap.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("list", help="methods and datasets")
    p.add_argument(
        "--json", action="store_true", help="one JSON object, with every dataset's size and shape"
    )
    p.add_argument(
        "--sizes", action="store_true", help="load every dataset to show its size (slower)"
    )
    p.set_defaults(fn=cmd_list)

    p = sub.add_parser("train", help="train a method on a dataset in the foreground")
    p.add_argument("method")
    p.add_argument("dataset")
    p.add_argument(
        "--steps",
        help="N: train exactly N steps; auto (the default): stop when the held-out measure "
        "stops improving, at time_budget or at the method's step cap (--set steps=N "
        "--set stop=auto sets the cap)",
    )
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="any hyperparameter by its declared name (repeatable)",
    )
    p.add_argument("--data-file", help="your own file for csv2d, imagezip, seriescsv, textfile")
    p.add_argument("--runs-dir", help="run store folder (default $GENLAB_HOME or ./runs)")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.set_defaults(fn=cmd_train)

    p = sub.add_parser("sample", help="sample from a saved run")
    p.add_argument("run_dir", help="a run folder (with run.json and a checkpoint)")
    p.add_argument("--n", type=int, default=64, help="how many samples, 1..10000 (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p.add_argument(
        "--out",
        help="the file to write; its extension must fit the data: .png (images), .csv (points, "
        "sequences), .txt (text). Default: sample.<ext> in the run folder",
    )
    p.set_defaults(fn=cmd_sample)

    p = sub.add_parser("resume", help="continue a saved run from its last checkpoint")
    p.add_argument("run_dir", help="a run folder (with run.json and a checkpoint)")
    p.add_argument(
        "--steps",
        type=int,
        help="the new total step count, more than the run's current step (default: its "
        "planned total); at or below it nothing is trained and the exit status is 2",
    )
    p.add_argument(
        "--lr-scale",
        type=float,
        metavar="F",
        help="multiply every learning rate (lr, lr_g, lr_d) by F, e.g. 0.5 after a divergence",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.set_defaults(fn=cmd_resume)

    p = sub.add_parser(
        "sweep",
        help="sweep one or two hyperparameters over seeds",
        description="Each trial is a normal run in the run store, tagged with "
        "the sweep id. --param NAME=v1,v2 (grid values), NAME=low:high:n (grid "
        "range, log-spaced for learning rates), NAME=low:high (random search "
        "bounds), or NAME alone (every choice, or the declared bounds).",
    )
    p.add_argument("--method", required=True)
    p.add_argument("--data", required=True, help="a built-in dataset")
    p.add_argument(
        "--param",
        action="append",
        required=True,
        metavar="NAME=SPEC",
        help="a swept hyperparameter (once or twice)",
    )
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    p.add_argument("--metric", default="eval/hq", help="what ranks the trials (default eval/hq)")
    p.add_argument("--mode", default="max", help="max or min (default max)")
    p.add_argument("--search", default="grid", help="grid or random (default grid)")
    p.add_argument("--samples", type=int, default=8, help="random search: points drawn")
    p.add_argument("--steps", type=int, help="steps per trial")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="a fixed hyperparameter for every trial (repeatable)",
    )
    p.add_argument("--early-stop", default="none", help="none or asha (needs --executor ray)")
    p.add_argument(
        "--parallel",
        type=int,
        help="trials at once (default: local = GENLAB_MAX_RUNS, ray = as many as the cluster fits)",
    )
    p.add_argument("--runs-dir", help="run store folder (default $GENLAB_HOME or ./runs)")
    p.add_argument("--json", action="store_true", help="print one JSON object at the end")
    p.set_defaults(fn=cmd_sweep)

    p = sub.add_parser(
        "export",
        help="write a saved run in another tool's format",
        description="--tensorboard writes the run's TensorBoard event files (metrics, samples, "
        "live changes, hparams) into the run folder, or into DIR/<run id>.",
    )
    p.add_argument("run_dir")
    p.add_argument("--tensorboard", nargs="?", const="", metavar="DIR", help="event files")
    p.add_argument("--force", action="store_true", help="rewrite existing event files")
    p.set_defaults(fn=cmd_export)

    for name in ("train", "resume", "sweep"):
        sub.choices[name].add_argument(
            "--executor",
            default="local",
            help="local (background threads, default) or ray (GENLAB_RAY_ADDRESS; "
            "pip install -r requirements-ray.txt)",
        )
    return ap


def cmd_sweep(args: argparse.Namespace) -> int:
    from genlab.methods import METHODS
    from genlab.runs import RunStore
    from genlab.runs.sweep import Sweep, SweepSpec, parse_axis

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


def exit_on_sigterm() -> None:
    """SIGTERM exits through SystemExit, so atexit stops and checkpoints the live runs."""
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except (CliError, ValueError, FileNotFoundError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        print(f"genlab: error: {msg}", file=sys.stderr)
        return 2


def console() -> None:
    """The `genlab` command that `pip install .` puts on PATH (the same as `python -m genlab`)."""
    exit_on_sigterm()
    sys.exit(main())
