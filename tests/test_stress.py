"""Stress: many sessions start, pause, resume, step, stop and delete runs at once, for a bounded
time. Afterwards no thread is leaked, no run is lost, and every run folder is consistent."""

from __future__ import annotations

import random
import resource
import threading
import time

from genlab.runs import REGISTRY, Run, RunStore
from genlab.runs.catalogue import delete_run
from genlab.runs.listing import collect_runs
from genlab.runs.store import RunDir

DURATION_S = 12.0
SESSIONS = 6


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        line = next(ln for ln in f if ln.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_concurrent_sessions(tmp_path):
    rss_before = rss_mb()
    store = RunStore(tmp_path / "runs")
    threads_before = {t.ident for t in threading.enumerate()}
    started: list[Run] = []
    deleted: set[str] = set()
    errors: list[str] = []
    ops = {"start": 0, "pause": 0, "resume": 0, "step": 0, "stop": 0, "delete": 0}
    lock = threading.Lock()
    deadline = time.time() + DURATION_S

    def session(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[Run] = []
        while time.time() < deadline:
            op = rng.choice(["start", "start", "pause", "resume", "step", "stop", "delete"])
            try:
                if op == "start" or not mine:
                    method, data = rng.choice(
                        [("gan", "ring8"), ("vae", "moons"), ("lstm", "names")]
                    )
                    run = Run(
                        method,
                        data,
                        {"hidden": 16},
                        {
                            "steps": rng.randint(20, 400),
                            "batch_size": 16,
                            "eval_every": 0,
                            "checkpoint_every": 50,
                            "seed": rng.randint(0, 99),
                        },
                        store=store,
                    ).start()
                    mine.append(run)
                    with lock:
                        started.append(run)
                        ops["start"] += 1
                    continue
                run = rng.choice(mine)
                if op == "pause":
                    run.pause()
                elif op == "resume":
                    run.resume()
                elif op == "step":
                    run.step_n(rng.randint(1, 20))
                elif op == "stop":
                    run.stop()
                elif op == "delete":
                    try:
                        row = next(r for r in collect_runs(store) if r.id == run.id)
                        delete_run(row, store)
                    except ValueError:
                        continue  # live runs are refused: stop first
                    mine.remove(run)
                    with lock:
                        deleted.add(run.id)
                with lock:
                    ops[op] += 1
            except Exception as e:  # any exception here is a bug
                errors.append(f"{op}: {type(e).__name__}: {e}")
            time.sleep(rng.uniform(0, 0.05))

    workers = [threading.Thread(target=session, args=(i,)) for i in range(SESSIONS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    # wind down: stop whatever is still live and wait for every run
    for run in started:
        run.stop()
    for run in started:
        assert run.join(60), f"{run.id} did not end"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    time.sleep(0.2)
    leaked = [
        t.name
        for t in threading.enumerate()
        if t.ident not in threads_before and t.name.startswith("genlab-")
    ]
    print(
        f"\nstress: {sum(ops.values())} operations {ops}, runs started {len(started)}, "
        f"deleted {len(deleted)}, threads before {len(threads_before)} after "
        f"{threading.active_count()}, RSS before {rss_before:.0f} MB after {rss_mb():.0f} MB, "
        f"peak {peak_mb:.0f} MB"
    )
    assert errors == []
    assert leaked == []
    assert ops["start"] >= SESSIONS
    # no run lost: every run not deleted is on disk, ended, and its folder is whole
    on_disk = {i["id"]: i for i in store.list()}
    for run in started:
        if run.id in deleted:
            assert run.id not in on_disk
            continue
        info = on_disk[run.id]
        assert info["status"] in ("done", "stopped"), (run.id, info["status"], info.get("error"))
        d = RunDir(info["dir"])
        d.read_metrics()
        if d.has_checkpoint():
            d.load_checkpoint()
    assert not REGISTRY.live()
    import gc

    ids = [r.id for r in started]
    started.clear()
    gc.collect()
    kept = sum(REGISTRY.get(i) is not None for i in ids)
    print(f"stress: after release: runs kept in memory {kept}, RSS {rss_mb():.0f} MB")
    assert kept <= 32
