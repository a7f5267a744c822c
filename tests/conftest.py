"""Shared test settings and fixtures."""

import pytest
import torch

from genlab.runs import Run, RunStore

# One intra-op thread: the tests start background runs beside the main thread, and OpenMP's
# spinning threads then fight over the 2 cores (measured here: a classifier that trains in 15 s on
# one thread took 220 s on two under load). Timing never matters in tests; benchmarks set their own.
torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def _no_runs_in_the_checkout(tmp_path_factory):
    """A test without its own GENLAB_HOME writes to a temporary one, not to ./runs of the
    checkout (the dataset classifiers' cache was written there)."""
    import os

    before = os.environ.get("GENLAB_HOME")
    if before is None:
        os.environ["GENLAB_HOME"] = str(tmp_path_factory.mktemp("genlab-home"))
    yield
    if before is None:
        os.environ.pop("GENLAB_HOME", None)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh run store for the test (GENLAB_HOME); a test file may define its own."""
    monkeypatch.setenv("GENLAB_HOME", str(tmp_path / "runs"))
    return tmp_path / "runs"


@pytest.fixture
def store(home):
    """The test's run store (GENLAB_HOME, as `home`); a test file may define its own."""
    return RunStore(home)


@pytest.fixture
def runs_to_stop():
    """Runs a test starts go in this list; they are stopped and joined after the test."""
    started: list[Run] = []
    yield started
    for run in started:
        run.stop()
    for run in started:
        run.join(30)
