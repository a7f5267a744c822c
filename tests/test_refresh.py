"""The live page's figures are built once for every viewer of a run, at a bounded rate."""

from __future__ import annotations

import time

from genlab.ui import refresh


def test_viewers_share_one_build_per_interval_whatever_the_versions():
    """A run logs several history versions a second; 16 viewers asking for the newest one each
    got their own build before. Now the slot is rebuilt at most once per `every`."""
    builds = []

    def build(version):
        builds.append(version)
        return f"figure {version}"

    slot = ("curves", "test-run-a")
    shown = [refresh.shared_recent(slot, (v,), lambda v=v: build(v), every=60.0) for v in range(16)]
    assert builds == [0] and shown == ["figure 0"] * 16  # the first value, for every viewer
    # a page that will not poll again (the run ended) gets the newest at once
    assert refresh.shared_recent(slot, (99,), lambda: build(99), every=60.0, force=True) == (
        "figure 99"
    )
    assert builds == [0, 99]


def test_a_slot_is_rebuilt_once_its_interval_has_passed():
    builds = []
    slot = ("curves", "test-run-b")
    refresh.shared_recent(slot, (1,), lambda: builds.append(1) or 1, every=0.2)
    assert refresh.shared_recent(slot, (2,), lambda: builds.append(2) or 2, every=0.2) == 1
    time.sleep(0.25)
    assert refresh.shared_recent(slot, (3,), lambda: builds.append(3) or 3, every=0.2) == 3
    assert refresh.shared_recent(slot, (3,), lambda: builds.append(4) or 4, every=0.2) == 3
    assert builds == [1, 3]
