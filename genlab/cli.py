"""`python -m genlab ...`: the same runs as the app, without a browser.

    python -m genlab list [--json]
    python -m genlab train METHOD DATASET [--steps N|auto] [--seed S] [--set key=value ...]
                           [--data-file PATH] [--runs-dir DIR] [--json]
    python -m genlab sample RUN_DIR [--n N] [--seed S] [--out FILE]
    python -m genlab resume RUN_DIR [--steps N] [--lr-scale F] [--json]
    python -m genlab export RUN_DIR --tensorboard [DIR] [--force]
    python -m genlab sweep --method M --data D --param NAME=SPEC [--param ...] [--seeds 0,1]
                           [--metric eval/hq] [--mode max|min] [--search grid|random] ...
Every command that trains takes --executor local|process|ray (ray: GENLAB_RAY_ADDRESS; default
local).

This module holds the command line (the parser, with every option's help) and the entry points
(`main`, and `console` for the `genlab` command); the commands are in `genlab.cli_commands`.
Bad input exits with status 2 and one line naming the value and what is allowed; no traceback.
Importing it imports no torch: the commands import what they need inside their functions.
"""

from __future__ import annotations

import argparse
import sys

from genlab.cli_commands import (
    CliError,
    cmd_export,
    cmd_list,
    cmd_resume,
    cmd_sample,
    cmd_sweep,
    cmd_train,
)


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
            help="local (a thread of this process, default), process (a child process) or "
            "ray (GENLAB_RAY_ADDRESS; pip install -r requirements-ray.txt)",
        )
    return ap


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
