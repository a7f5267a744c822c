"""Waiting on a background run in tests: a condition polled until a deadline, and the step of a
run's last checkpoint."""

import time

from genlab.runs.store import read_json


def wait_for(pred, timeout=120.0, every=0.05):
    """Poll `pred` until it is true; AssertionError after `timeout` seconds."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(every)
    raise AssertionError("condition not met in time")


def ckpt_step(run):
    """The step of the run's last checkpoint (its JSON half is written last, atomically)."""
    path = run.dir.ckpt_dir / "last.json"
    return read_json(path)["run_step"] if path.exists() else -1
